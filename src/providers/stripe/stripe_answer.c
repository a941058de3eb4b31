/*
 * Stripe answers: reading PaymentIntents, Refunds and error objects into a
 * billing_provider_result, and deciding what an exchange's outcome is (see
 * the rules at the top of stripe.c: FAILED only from an answer about this
 * request, UNKNOWN when the answer was lost or retries ran out). Split out
 * of stripe.c.
 */
#include "providers/stripe/stripe_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

/* ------------------------------------------------------------ JSON members */

const cJSON *billing__stripe_member(const cJSON *obj, const char *name)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

const char *billing__stripe_member_str(const cJSON *obj, const char *name)
{
	const cJSON *v = billing__stripe_member(obj, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t billing__stripe_member_amount(const cJSON *obj, const char *name)
{
	const cJSON *v = billing__stripe_member(obj, name);
	double d;

	if (!cJSON_IsNumber(v))
		return 0;
	d = v->valuedouble;
	if (d < 0 || d > JSON_INT_MAX || d != (double)(int64_t)d)
		return 0;
	return (int64_t)d;
}

void billing__stripe_currency_upper(char out[4], const char *s)
{
	int i;

	out[0] = '\0';
	if (s == NULL || strlen(s) != 3)
		return;
	for (i = 0; i < 3; i++) {
		char c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z') {
			out[0] = '\0';
			return;
		}
		out[i] = c;
	}
	out[3] = '\0';
}

/* ------------------------------------------------------------ answers */

void billing__stripe_metadata(const cJSON *obj, billing_provider_result *out)
{
	const cJSON *md = billing__stripe_member(obj, "metadata");

	billing__stripe_copy_text(out->payment_id, sizeof(out->payment_id),
		billing__stripe_member_str(md, "payment_id"));
	billing__stripe_copy_text(out->tenant_id, sizeof(out->tenant_id),
		billing__stripe_member_str(md, "tenant_id"));
}

/* The error object of a non-2xx answer (NULL when the body is not one). */
const cJSON *billing__stripe_error_object(const cJSON *root)
{
	const cJSON *e = billing__stripe_member(root, "error");
	return cJSON_IsObject(e) ? e : NULL;
}

static const char *default_type(long status)
{
	switch (status) {
	case 400: return "invalid_request_error";
	case 401: return "authentication_error";
	case 402: return "card_error";
	case 403: return "permission_error";
	case 404: return "resource_missing";
	case 409: return "idempotency_error";
	case 429: return "rate_limit_error";
	default: return "api_error";
	}
}

/* The code to report for an error answer: decline_code, code, then type. */
const char *billing__stripe_error_code(const cJSON *err, long status)
{
	const char *c = billing__stripe_member_str(err, "decline_code");

	if (c == NULL || c[0] == '\0')
		c = billing__stripe_member_str(err, "code");
	if (c == NULL || c[0] == '\0')
		c = billing__stripe_member_str(err, "type");
	if (c == NULL || c[0] == '\0')
		c = default_type(status);
	return c;
}

/* The code of a refused request. Key errors get a fixed code: Stripe
 * sends them with type invalid_request_error, which would hide them. */
const char *billing__stripe_refusal_code(const cJSON *err, long status)
{
	const char *c = billing__stripe_member_str(err, "code");

	if (status == 401)
		return "authentication_error";
	if (status == 403)
		return c && c[0] ? c : "permission_error";
	return billing__stripe_error_code(err, status);
}

/*
 * Issue #18 item 2: whose fault a refusal is. A card_error (402, or a 400
 * of type card_error) is the customer's: a decline. A refusal of the
 * customer's own payment method or customer (400 resource_missing naming
 * payment_method or customer: deleted, detached) is the customer's too.
 * Everything else the merchant must fix and no retry of the customer's
 * card can cure: 401 (a revoked or wrong key), 403 (a restricted key
 * without the permission), another 400 (a request Stripe will never
 * accept, currency_unsupported among them), 404 (our own resource or the
 * API base is wrong).
 */
billing_provider_failure billing__stripe_failure_class(const cJSON *err, long status)
{
	const char *type = billing__stripe_member_str(err, "type");
	const char *code = billing__stripe_member_str(err, "code");
	const char *param = billing__stripe_member_str(err, "param");

	if (status == 402 || (type && strcmp(type, "card_error") == 0))
		return BILLING_PROVIDER_FAILURE_DECLINE;
	if (status == 400 && code && strcmp(code, "resource_missing") == 0 && param &&
	    (strcmp(param, "payment_method") == 0 || strcmp(param, "customer") == 0))
		return BILLING_PROVIDER_FAILURE_DECLINE;
	if (status == 400 || status == 401 || status == 403 || status == 404)
		return BILLING_PROVIDER_FAILURE_CONFIG;
	return BILLING_PROVIDER_FAILURE_DECLINE;
}

/* Stripe's message, unless it could hold key material. */
void billing__stripe_set_message(stripe_provider *sp, billing_provider_result *out, long status,
	const char *msg)
{
	if (status == 401 || status == 403)
		msg = status == 401 ? "Stripe refused the API key"
			: "the API key is not allowed to do this";
	else if (msg && (strstr(msg, sp->api_key) || strstr(msg, "sk_live") ||
		 strstr(msg, "sk_test") || strstr(msg, "rk_live") || strstr(msg, "rk_test")))
		msg = "Stripe refused the request";
	billing__stripe_copy_text(out->failure_message, sizeof(out->failure_message), msg);
}

void billing__stripe_result_unknown(billing_provider_result *out, const char *code,
	const char *msg)
{
	out->status = BILLING_PAYMENT_UNKNOWN;
	billing__stripe_copy_text(out->failure_code, sizeof(out->failure_code), code);
	billing__stripe_copy_text(out->failure_message, sizeof(out->failure_message), msg);
}

/* The outcome of an exchange that did not end with an answer about the
 * object: a transport failure or a retryable status. */
void billing__stripe_unknown_from(const exchange *x, const cJSON *root,
	billing_provider_result *out)
{
	char msg[BILLING_PROVIDER_MESSAGE_MAX];

	if (x->res.error == BILLING_TRANSPORT_TIMEOUT) {
		billing__stripe_result_unknown(out, "timeout", "Stripe did not answer in time");
	} else if (!billing__stripe_answered(x)) {
		snprintf(msg, sizeof(msg), "no answer from Stripe (%s)",
			billing_transport_error_name(x->res.error));
		billing__stripe_result_unknown(out, x->res.error == BILLING_TRANSPORT_TOO_LARGE ? "bad_response" :
			"network_error", msg);
	} else {
		snprintf(msg, sizeof(msg), "Stripe answered HTTP %ld; the outcome is not known",
			x->res.status);
		billing__stripe_result_unknown(out, billing__stripe_error_code(
			billing__stripe_error_object(root), x->res.status), msg);
	}
}

void billing__stripe_payment_intent_result(const cJSON *pi, billing_provider_result *out)
{
	const char *status = billing__stripe_member_str(pi, "status");
	const cJSON *err = billing__stripe_member(pi, "last_payment_error");

	billing__stripe_copy_text(out->ref, sizeof(out->ref), billing__stripe_member_str(pi, "id"));
	out->amount = billing__stripe_member_amount(pi, "amount");
	billing__stripe_currency_upper(out->currency, billing__stripe_member_str(pi, "currency"));
	out->amount = billing__stripe_amount_in(out->currency, out->amount);
	billing__stripe_metadata(pi, out);
	if (status == NULL)
		status = "";
	if (strcmp(status, "succeeded") == 0) {
		out->status = BILLING_PAYMENT_SUCCEEDED;
	} else if (strcmp(status, "requires_action") == 0 ||
		   strcmp(status, "requires_confirmation") == 0) {
		out->status = BILLING_PAYMENT_REQUIRES_ACTION;
	} else if (strcmp(status, "requires_payment_method") == 0 ||
		   strcmp(status, "canceled") == 0) {
		const char *code = NULL;
		out->status = BILLING_PAYMENT_FAILED;
		out->failure_class = BILLING_PROVIDER_FAILURE_DECLINE;
		if (err)
			code = billing__stripe_error_code(err, 402);
		else if (strcmp(status, "canceled") == 0)
			code = billing__stripe_member_str(pi, "cancellation_reason");
		if (code == NULL)
			code = status;
		billing__stripe_copy_text(out->failure_code, sizeof(out->failure_code), code);
		billing__stripe_copy_text(out->failure_message, sizeof(out->failure_message),
			billing__stripe_member_str(err, "message"));
	} else {
		/* processing, requires_capture, or a status newer than this
		 * file: Stripe holds it and retrieve() will tell. */
		out->status = BILLING_PAYMENT_PENDING;
	}
	billing__stripe_next_action(pi, out);
}

void billing__stripe_refund_result(const cJSON *re, billing_provider_result *out)
{
	const char *status = billing__stripe_member_str(re, "status");

	billing__stripe_copy_text(out->ref, sizeof(out->ref), billing__stripe_member_str(re, "id"));
	out->amount = billing__stripe_member_amount(re, "amount");
	billing__stripe_currency_upper(out->currency, billing__stripe_member_str(re, "currency"));
	out->amount = billing__stripe_amount_in(out->currency, out->amount);
	if (status == NULL)
		status = "";
	if (strcmp(status, "succeeded") == 0) {
		out->status = BILLING_PAYMENT_SUCCEEDED;
	} else if (strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0) {
		const char *code = billing__stripe_member_str(re, "failure_reason");
		out->status = BILLING_PAYMENT_FAILED;
		billing__stripe_copy_text(out->failure_code, sizeof(out->failure_code), code ? code : status);
	} else {
		out->status = BILLING_PAYMENT_PENDING;   /* pending, requires_action */
	}
}

/*
 * Turns the last exchange of a money-moving call into a result. Returns
 * BILLING_OK always: every branch is an outcome (see provider.h).
 */
int billing__stripe_outcome(stripe_provider *sp, const exchange *x, bool exhausted,
	object_reader read, billing_provider_result *out)
{
	cJSON *root = NULL;
	const cJSON *err;

	if (billing__stripe_answered(x) && x->res.body)
		root = cJSON_ParseWithLength(x->res.body, x->res.body_len);
	err = billing__stripe_error_object(root);
	if (!billing__stripe_answered(x) || exhausted || billing__stripe_status_retryable(x->res.status) ||
	    x->res.status < 200 || (x->res.status >= 300 && x->res.status < 400)) {
		billing__stripe_unknown_from(x, root, out);
	} else if (x->res.status < 300) {
		if (cJSON_IsObject(root) && billing__stripe_member_str(root, "id"))
			read(root, out);
		else
			billing__stripe_result_unknown(out, "bad_response",
				"Stripe's answer could not be read; the outcome is not known");
	} else if (x->res.status == 400 &&
		   strcmp(billing__stripe_error_code(err, 400), "idempotency_error") == 0) {
		/* The key was used before with other parameters: what that
		 * request did is not known from here. */
		billing__stripe_result_unknown(out, "idempotency_error",
			"the idempotency key was used with other parameters");
	} else {
		/* 400, 401, 402, 403, 404...: an answer about this request. A
		 * decline carries the PaymentIntent it left behind. */
		const cJSON *pi = billing__stripe_member(err, "payment_intent");
		if (cJSON_IsObject(pi) && read == billing__stripe_payment_intent_result) {
			billing__stripe_copy_text(out->ref, sizeof(out->ref), billing__stripe_member_str(pi, "id"));
			out->amount = billing__stripe_member_amount(pi, "amount");
			billing__stripe_currency_upper(out->currency, billing__stripe_member_str(pi, "currency"));
			out->amount = billing__stripe_amount_in(out->currency, out->amount);
			billing__stripe_metadata(pi, out);
		}
		out->status = BILLING_PAYMENT_FAILED;
		out->failure_class = billing__stripe_failure_class(err, x->res.status);
		billing__stripe_copy_text(out->failure_code, sizeof(out->failure_code),
			billing__stripe_refusal_code(err, x->res.status));
		billing__stripe_set_message(sp, out, x->res.status, billing__stripe_member_str(err, "message"));
	}
	if (billing__stripe_answered(x))
		out->http_status = (int)x->res.status;
	cJSON_Delete(root);
	return BILLING_OK;
}

/*
 * GETs path and reads a 2xx answer with read. Reading moves no money: no
 * answer is an error (BILLING_EUNKNOWN_OUTCOME), not an outcome; a refusal
 * is BILLING_ENOTFOUND (404) or BILLING_ERROR, with Stripe's code.
 */
int billing__stripe_get(stripe_provider *sp, const char *path, answer_reader read,
	const char *want, billing_provider_result *out)
{
	exchange x = { 0 };
	cJSON *root = NULL;
	const cJSON *err;
	bool exhausted;
	char *url;
	int rc;

	url = billing__stripe_url_for(sp, path);
	if (url == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	rc = billing__stripe_send_request(sp, url, NULL, NULL, &x, &exhausted);
	billing__free(url);
	if (rc < 0)
		goto done;
	if (billing__stripe_answered(&x) && x.res.body)
		root = cJSON_ParseWithLength(x.res.body, x.res.body_len);
	err = billing__stripe_error_object(root);
	if (!billing__stripe_answered(&x) || exhausted ||
	    billing__stripe_status_retryable(x.res.status) || x.res.status < 200 ||
	    (x.res.status >= 300 && x.res.status < 400)) {
		billing_provider_result tmp;
		memset(&tmp, 0, sizeof(tmp));
		billing__stripe_unknown_from(&x, root, &tmp);
		rc = billing__error_set(BILLING_EUNKNOWN_OUTCOME, NULL, "Stripe: %s",
			tmp.failure_message);
		billing__error_provider_code(tmp.failure_code);
	} else if (x.res.status < 300) {
		rc = read(root, want, out);
	} else {
		/* an answer: the request was refused */
		billing_provider_result tmp;
		memset(&tmp, 0, sizeof(tmp));
		billing__stripe_set_message(sp, &tmp, x.res.status,
			billing__stripe_member_str(err, "message"));
		rc = billing__error_set(x.res.status == 404 ? BILLING_ENOTFOUND : BILLING_ERROR,
			x.res.status == 404 ? "resource_missing" : "provider_error",
			"Stripe: %s", tmp.failure_message[0] ? tmp.failure_message : "refused");
		billing__error_provider_code(billing__stripe_refusal_code(err, x.res.status));
	}
done:
	cJSON_Delete(root);
	billing__stripe_exchange_reset(sp, &x);
	return rc;
}
