/*
 * Stored payment methods at Stripe (provider vtable version 3): the
 * Customer a payment method belongs to, SetupIntents (usage off_session,
 * so renewals may charge the card without the customer), and attaching /
 * detaching PaymentMethods. None of these moves money; each POST carries
 * an idempotency key all the same, so a retry after a lost answer makes
 * no second customer or SetupIntent.
 *
 * Errors: a 404 is BILLING_ENOTFOUND (resource_missing), a 402 (a card
 * Stripe refuses) BILLING_EDECLINED, any other refusal BILLING_ERROR with
 * Stripe's code as the provider code; no answer (or 409, 429, 5xx after
 * the retries) is BILLING_EUNKNOWN_OUTCOME. The client secret of a
 * SetupIntent goes to the caller only, never to a message or a log.
 */
#include "providers/stripe/stripe_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

/* A Stripe id (cus_, seti_, pm_) safe to put in a path. */
static bool id_ok(const char *s)
{
	return billing__stripe_token_ok(s, BILLING_PROVIDER_REF_MAX - 1) &&
		strpbrk(s, "/?#%&") == NULL;
}

/*
 * One request (form NULL: a GET) whose 2xx answer's object goes to
 * *root (new); anything else is an error as the file comment says.
 */
static int call(stripe_provider *sp, const char *path, form *f, const char *key, cJSON **root)
{
	exchange x = { 0 };
	const cJSON *err;
	billing_provider_result tmp;
	bool exhausted;
	char *url;
	int rc;

	*root = NULL;
	if (f && f->failed)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	if ((url = billing__stripe_url_for(sp, path)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	rc = billing__stripe_send_request(sp, url, f ? (f->buf ? f->buf : "") : NULL, key, &x,
		&exhausted);
	billing__free(url);
	if (rc < 0)
		goto done;
	if (billing__stripe_answered(&x) && x.res.body)
		*root = cJSON_ParseWithLength(x.res.body, x.res.body_len);
	err = billing__stripe_error_object(*root);
	memset(&tmp, 0, sizeof(tmp));
	if (!billing__stripe_answered(&x) || exhausted ||
	    billing__stripe_status_retryable(x.res.status) || x.res.status < 200 ||
	    (x.res.status >= 300 && x.res.status < 400)) {
		billing__stripe_unknown_from(&x, *root, &tmp);
		rc = billing__error_set(BILLING_EUNKNOWN_OUTCOME, NULL, "Stripe: %s",
			tmp.failure_message);
		billing__error_provider_code(tmp.failure_code);
	} else if (x.res.status >= 300) {
		billing__stripe_set_message(sp, &tmp, x.res.status,
			billing__stripe_member_str(err, "message"));
		rc = billing__error_set(x.res.status == 404 ? BILLING_ENOTFOUND :
			x.res.status == 402 ? BILLING_EDECLINED : BILLING_ERROR,
			x.res.status == 404 ? "resource_missing" :
			x.res.status == 402 ? "card_declined" : "provider_error",
			"Stripe: %s", tmp.failure_message[0] ? tmp.failure_message : "refused");
		billing__error_provider_code(billing__stripe_refusal_code(err, x.res.status));
	} else if (!cJSON_IsObject(*root) || !billing__stripe_member_str(*root, "id")) {
		rc = billing__error_set(BILLING_EUNKNOWN_OUTCOME, "bad_response",
			"Stripe's answer could not be read");
	}
done:
	if (rc < 0) {
		cJSON_Delete(*root);
		*root = NULL;
	}
	billing__stripe_exchange_reset(sp, &x);
	return rc;
}

/* A form with our metadata on the object. */
static int form_begin(form *f, const billing_provider_customer *req)
{
	memset(f, 0, sizeof(*f));
	if ((f->curl = curl_easy_init()) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	billing__stripe_form_add(f, "metadata[tenant_id]", req->tenant_id);
	billing__stripe_form_add(f, "metadata[customer_id]", req->customer_id);
	return BILLING_OK;
}

static void form_end(form *f)
{
	if (f->curl)
		curl_easy_cleanup(f->curl);
	f->curl = NULL;
}

static int key_check(const billing_provider_customer *req)
{
	if (!req || !billing__stripe_token_ok(req->idempotency_key, MAX_HEADER_VALUE))
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "idempotencyKey",
			"is required (printable, no spaces, at most 255 bytes)");
	return BILLING_OK;
}

int billing__stripe_customer_create(billing_provider *p, const billing_provider_customer *req,
	int64_t now, char *ref)
{
	stripe_provider *sp = (stripe_provider *)p;
	cJSON *root = NULL;
	form f;
	int rc;

	(void)now;
	ref[0] = '\0';
	if ((rc = key_check(req)) < 0 || (rc = form_begin(&f, req)) < 0)
		return rc;
	if (req->email)
		billing__stripe_form_add(&f, "email", req->email);
	form_end(&f);
	rc = call(sp, "/v1/customers", &f, req->idempotency_key, &root);
	billing__free(f.buf);
	if (rc == BILLING_OK)
		billing__stripe_copy_text(ref, BILLING_PROVIDER_REF_MAX,
			billing__stripe_member_str(root, "id"));
	cJSON_Delete(root);
	return rc;
}

int billing__stripe_setup_intent_create(billing_provider *p,
	const billing_provider_customer *req, int64_t now, billing_provider_setup_intent *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	cJSON *root = NULL;
	form f;
	int rc;

	(void)now;
	memset(out, 0, sizeof(*out));
	if ((rc = key_check(req)) < 0)
		return rc;
	if (!id_ok(req->customer_ref))
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "customerRef",
			"a SetupIntent needs the Stripe customer");
	if ((rc = form_begin(&f, req)) < 0)
		return rc;
	billing__stripe_form_add(&f, "customer", req->customer_ref);
	billing__stripe_form_add(&f, "usage", "off_session");
	billing__stripe_form_add(&f, "payment_method_types[]", "card");
	form_end(&f);
	rc = call(sp, "/v1/setup_intents", &f, req->idempotency_key, &root);
	billing__free(f.buf);
	if (rc == BILLING_OK) {
		billing__stripe_copy_text(out->ref, sizeof(out->ref),
			billing__stripe_member_str(root, "id"));
		billing__stripe_copy_text(out->client_secret, sizeof(out->client_secret),
			billing__stripe_member_str(root, "client_secret"));
		billing__stripe_copy_text(out->status, sizeof(out->status),
			billing__stripe_member_str(root, "status"));
	}
	cJSON_Delete(root);
	return rc;
}

/* A PaymentMethod object into out. */
static void read_payment_method(const cJSON *pm, billing_provider_payment_method *out)
{
	const cJSON *card = billing__stripe_member(pm, "card");
	const cJSON *cus = billing__stripe_member(pm, "customer");

	memset(out, 0, sizeof(*out));
	billing__stripe_copy_text(out->ref, sizeof(out->ref), billing__stripe_member_str(pm, "id"));
	billing__stripe_copy_text(out->type, sizeof(out->type),
		billing__stripe_member_str(pm, "type"));
	billing__stripe_copy_text(out->brand, sizeof(out->brand),
		billing__stripe_member_str(card, "brand"));
	billing__stripe_copy_text(out->last4, sizeof(out->last4),
		billing__stripe_member_str(card, "last4"));
	out->exp_month = (int)billing__stripe_member_amount(card, "exp_month");
	out->exp_year = (int)billing__stripe_member_amount(card, "exp_year");
	/* "customer" is an id, or an expanded object */
	billing__stripe_copy_text(out->customer_ref, sizeof(out->customer_ref),
		cJSON_IsString(cus) ? cus->valuestring : billing__stripe_member_str(cus, "id"));
}

int billing__stripe_payment_method_attach(billing_provider *p,
	const billing_provider_customer *req, const char *ref, int64_t now,
	billing_provider_payment_method *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	char path[sizeof("/v1/payment_methods//attach") + BILLING_PROVIDER_REF_MAX];
	cJSON *root = NULL;
	form f;
	int rc;

	(void)now;
	memset(out, 0, sizeof(*out));
	if ((rc = key_check(req)) < 0)
		return rc;
	if (!id_ok(req->customer_ref) || !id_ok(ref))
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "ref",
			"attaching needs a PaymentMethod id and the Stripe customer");
	snprintf(path, sizeof(path), "/v1/payment_methods/%s", ref);
	if ((rc = call(sp, path, NULL, NULL, &root)) < 0)
		return rc;
	read_payment_method(root, out);
	cJSON_Delete(root);
	root = NULL;
	if (strcmp(out->customer_ref, req->customer_ref) == 0)
		return BILLING_OK;      /* a SetupIntent of the customer attached it */
	if (out->customer_ref[0])
		return billing__error_field(BILLING_ECONFLICT, "attached_elsewhere",
			"providerPaymentMethodId",
			"the payment method is attached to another customer at Stripe");
	memset(&f, 0, sizeof(f));
	if ((f.curl = curl_easy_init()) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	billing__stripe_form_add(&f, "customer", req->customer_ref);
	form_end(&f);
	snprintf(path, sizeof(path), "/v1/payment_methods/%s/attach", ref);
	rc = call(sp, path, &f, req->idempotency_key, &root);
	billing__free(f.buf);
	if (rc == BILLING_OK)
		read_payment_method(root, out);
	cJSON_Delete(root);
	return rc;
}

int billing__stripe_payment_method_detach(billing_provider *p,
	const billing_provider_customer *req, const char *ref, int64_t now)
{
	stripe_provider *sp = (stripe_provider *)p;
	char path[sizeof("/v1/payment_methods//detach") + BILLING_PROVIDER_REF_MAX];
	cJSON *root = NULL;
	form f;
	int rc;

	(void)now;
	if ((rc = key_check(req)) < 0)
		return rc;
	if (!id_ok(ref))
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "ref",
			"not a PaymentMethod id");
	memset(&f, 0, sizeof(f));
	snprintf(path, sizeof(path), "/v1/payment_methods/%s/detach", ref);
	rc = call(sp, path, &f, req->idempotency_key, &root);
	cJSON_Delete(root);
	/* Unknown, or attached to no customer (Stripe's 400
	 * payment_method_unexpected_state): detached is what was asked. */
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_ERROR &&
	    billing_error_last()->provider_code &&
	    strcmp(billing_error_last()->provider_code, "payment_method_unexpected_state") == 0)) {
		billing_error_clear();
		rc = BILLING_OK;
	}
	return rc;
}
