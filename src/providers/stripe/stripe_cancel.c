/*
 * Canceling a PaymentIntent that awaits the customer's action (issue #18
 * item 4): POST /v1/payment_intents/{id}/cancel. The core asks it when an
 * attempt is canceled by hand, superseded by a newer one, when its invoice
 * is voided, or when it expired.
 *
 * Stripe answers the canceled PaymentIntent; one that moved on (it
 * succeeded just before: the customer authenticated meanwhile) is refused
 * with 400 payment_intent_unexpected_state, and then the PaymentIntent is
 * retrieved so that the core records what Stripe holds. Anything else
 * (no answer, a refused request) is an error: nothing is known to have
 * changed, and the core records nothing.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "providers/stripe/stripe_internal.h"

/* A PaymentIntent answer; "canceled" is the cancel's outcome here (a
 * failure everywhere else). */
static void cancel_result(const cJSON *pi, billing_provider_result *out)
{
	const char *status = billing__stripe_member_str(pi, "status");
	billing__stripe_payment_intent_result(pi, out);
	if (status && strcmp(status, "canceled") == 0) {
		out->status = BILLING_PAYMENT_CANCELED;
		out->failure_code[0] = out->failure_message[0] = '\0';
	}
}

static int read_canceled(const cJSON *root, const char *want, billing_provider_result *out)
{
	(void)want;
	if (!cJSON_IsObject(root) || !billing__stripe_member_str(root, "id"))
		return billing__error_set(BILLING_EUNKNOWN_OUTCOME, "bad_response",
			"Stripe's answer could not be read");
	cancel_result(root, out);
	return BILLING_OK;
}

int billing__stripe_cancel(billing_provider *p, const char *ref, const char *key, int64_t now,
	billing_provider_result *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	char path[sizeof("/v1/payment_intents//cancel") + BILLING_PROVIDER_REF_MAX];
	form f = { 0 };
	int rc;

	(void)now;
	if (out == NULL)
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"Stripe cancel: the result is required");
	memset(out, 0, sizeof(*out));
	if (!billing__stripe_token_ok(ref, BILLING_PROVIDER_REF_MAX - 1) ||
	    strpbrk(ref, "/?#%&") != NULL)
		return billing__error_field(BILLING_EINVALID, "invalid", "ref",
			"Stripe cancel: not a PaymentIntent id");
	if (!billing__stripe_token_ok(key, MAX_HEADER_VALUE))
		return billing__error_field(BILLING_EINVALID, "invalid", "idempotencyKey",
			"Stripe cancel: a key is required");
	snprintf(path, sizeof(path), "/v1/payment_intents/%s/cancel", ref);
	f.curl = curl_easy_init();
	if (f.curl == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	billing__stripe_form_add(&f, "cancellation_reason", "abandoned");
	curl_easy_cleanup(f.curl);
	rc = billing__stripe_post_form(sp, path, &f, key, cancel_result, out);
	billing__free(f.buf);
	if (rc < 0)
		return rc;
	if (out->status == BILLING_PAYMENT_CANCELED)
		return BILLING_OK;
	if (out->status == BILLING_PAYMENT_FAILED &&
	    strcmp(out->failure_code, "payment_intent_unexpected_state") == 0) {
		/* It is no longer cancelable: what does Stripe hold? */
		snprintf(path, sizeof(path), "/v1/payment_intents/%s", ref);
		memset(out, 0, sizeof(*out));
		return billing__stripe_get(sp, path, read_canceled, NULL, out);
	}
	if (out->status == BILLING_PAYMENT_UNKNOWN)
		rc = billing__error_set(BILLING_EUNKNOWN_OUTCOME, "unknown_outcome",
			"Stripe's answer to the cancel was lost (%s)", out->failure_code);
	else
		rc = billing__error_set(BILLING_ERROR, "provider",
			"Stripe refused the cancel: %s", out->failure_code[0] ?
			out->failure_code : "refused");
	memset(out, 0, sizeof(*out));
	return rc;
}
