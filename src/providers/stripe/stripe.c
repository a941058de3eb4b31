/*
 * The Stripe provider: PaymentIntents and Refunds through a transport
 * (billing/sys/transport.h: libcurl unless the host gives its own), answers
 * read with cJSON, webhooks through stripe_webhook.c.
 *
 * Money moves only through requests that carry the caller's idempotency
 * key, and every try of one call sends the same key, so Stripe replays the
 * first processed answer instead of charging again. That is what makes
 * retrying safe, and it decides how an exhausted retry ends: a network
 * error, a timeout, a 409, a 429 or a 5xx says nothing about what an
 * earlier request with the same key did (it may be this call's first try,
 * or a call the core made before the process crashed), so the outcome is
 * UNKNOWN, never FAILED. FAILED comes only from an answer about this
 * request: a decline (402), a refused request (400, 401, 403, 404).
 *
 * The API key is copied in, sent only in the Authorization header, wiped
 * on free, and never formatted into a message: Stripe's own messages for
 * key errors echo part of the key, so those are replaced by ours.
 *
 * libcurl is also used here to escape form values and to parse the base
 * URL; curl_global_init runs once, in curl_transport.c (billing__curl_init),
 * before any easy handle is made: the constructor calls it.
 */
#include "providers/stripe/stripe_internal.h"

#include "billing/providers.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "billing/version.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "providers/stripe/stripe_webhook.h"
#include "transport/curl_transport.h"

#define DEFAULT_API_BASE "https://api.stripe.com"
/* The API version this file is written against: the shapes it reads (the
 * error object, PaymentIntent and Refund statuses) are those of this one. */
#define DEFAULT_STRIPE_VERSION "2024-06-20"
#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_RETRIES 3u
#define DEFAULT_RETRY_BASE_MS 500L

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		billing__free(s);
	}
}

/* ------------------------------------------------------------ the vtable */

static bool currency_ok(const char *c)
{
	int i;

	if (c == NULL || strlen(c) != 3)
		return false;
	for (i = 0; i < 3; i++)
		if (!((c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= 'a' && c[i] <= 'z')))
			return false;
	return true;
}

static void lower3(char out[4], const char *c)
{
	int i;

	for (i = 0; i < 3; i++)
		out[i] = (c[i] >= 'A' && c[i] <= 'Z') ? (char)(c[i] - 'A' + 'a') : c[i];
	out[3] = '\0';
}

static int stripe_charge(billing_provider *p, const billing_provider_charge *req, int64_t now,
	billing_provider_result *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	billing__checks c = BILLING__CHECKS_INIT;
	form f = { 0 };
	int64_t amount = 0;
	char cur[4];
	int rc;

	(void)now;
	if (out == NULL || req == NULL)
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"Stripe charge: request and result are required");
	memset(out, 0, sizeof(*out));
	if (req->amount <= 0)
		billing__check_fail(&c, "amount", "must be positive");
	if (!currency_ok(req->currency))
		billing__check_fail(&c, "currency", "must be three letters");
	if (!billing__stripe_token_ok(req->payment_method, MAX_HEADER_VALUE))
		billing__check_fail(&c, "paymentMethod", "is required");
	if (!billing__stripe_token_ok(req->idempotency_key, MAX_HEADER_VALUE))
		billing__check_fail(&c, "idempotencyKey",
			"is required (printable, no spaces, at most 255 bytes)");
	rc = billing__checks_finish(&c, "Stripe charge");
	if (rc < 0)
		return rc;
	if ((rc = billing__stripe_amount_out(&amount, req->currency, req->amount)) < 0) {
		const billing_error *e = billing_error_last();
		if (!e->reason || strcmp(e->reason, "currency_unsupported") != 0)
			return rc;
		/* A currency Stripe takes no charge in: no retry of this card
		 * can succeed, so it is a configuration error of the merchant
		 * (issue #18 items 2 and 9), not a decline that feeds dunning. */
		out->status = BILLING_PAYMENT_FAILED;
		out->failure_class = BILLING_PROVIDER_FAILURE_CONFIG;
		billing__stripe_copy_text(out->failure_code, sizeof(out->failure_code),
			"currency_unsupported");
		billing__stripe_copy_text(out->failure_message, sizeof(out->failure_message),
			e->message);
		billing_error_clear();
		return BILLING_OK;
	}

	f.curl = curl_easy_init();
	if (f.curl == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	lower3(cur, req->currency);
	billing__stripe_form_add_int(&f, "amount", amount);
	billing__stripe_form_add(&f, "currency", cur);
	if (req->customer_ref && req->customer_ref[0])
		billing__stripe_form_add(&f, "customer", req->customer_ref);
	billing__stripe_form_add(&f, "payment_method", req->payment_method);
	billing__stripe_form_add(&f, "confirm", "true");
	if (req->off_session)
		billing__stripe_form_add(&f, "off_session", "true");
	billing__stripe_form_add(&f, "description", req->description);
	billing__stripe_form_add(&f, "metadata[tenant_id]", req->tenant_id);
	billing__stripe_form_add(&f, "metadata[payment_id]", req->payment_id);
	billing__stripe_form_add(&f, "metadata[invoice_id]", req->invoice_id);
	billing__stripe_form_add(&f, "metadata[customer_id]", req->customer_id);
	curl_easy_cleanup(f.curl);
	rc = billing__stripe_post_form(sp, "/v1/payment_intents", &f, req->idempotency_key,
		billing__stripe_payment_intent_result, out);
	billing__free(f.buf);
	return rc;
}

static int stripe_refund(billing_provider *p, const billing_provider_refund *req, int64_t now,
	billing_provider_result *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	billing__checks c = BILLING__CHECKS_INIT;
	form f = { 0 };
	int64_t amount;
	int rc;

	(void)now;
	if (out == NULL || req == NULL)
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"Stripe refund: request and result are required");
	memset(out, 0, sizeof(*out));
	if (req->amount <= 0)
		billing__check_fail(&c, "amount", "must be positive");
	if (!billing__stripe_token_ok(req->payment_ref, BILLING_PROVIDER_REF_MAX - 1))
		billing__check_fail(&c, "paymentRef", "is required");
	if (!billing__stripe_token_ok(req->idempotency_key, MAX_HEADER_VALUE))
		billing__check_fail(&c, "idempotencyKey",
			"is required (printable, no spaces, at most 255 bytes)");
	rc = billing__checks_finish(&c, "Stripe refund");
	amount = req->amount;
	if (rc < 0 || (req->currency && (rc = billing__stripe_amount_out(&amount, req->currency,
		req->amount)) < 0))
		return rc;

	f.curl = curl_easy_init();
	if (f.curl == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	billing__stripe_form_add(&f, "payment_intent", req->payment_ref);
	billing__stripe_form_add_int(&f, "amount", amount);
	billing__stripe_form_add(&f, "metadata[refund_id]", req->refund_id);
	billing__stripe_form_add(&f, "metadata[payment_id]", req->payment_id);
	billing__stripe_form_add(&f, "metadata[tenant_id]", req->tenant_id);
	curl_easy_cleanup(f.curl);
	rc = billing__stripe_post_form(sp, "/v1/refunds", &f, req->idempotency_key,
		billing__stripe_refund_result, out);
	billing__free(f.buf);
	return rc;
}

/* A PaymentIntent answer. */
static int read_payment_intent(const cJSON *root, const char *want, billing_provider_result *out)
{
	(void)want;
	if (!cJSON_IsObject(root) || !billing__stripe_member_str(root, "id"))
		return billing__error_set(BILLING_EUNKNOWN_OUTCOME, "bad_response",
			"Stripe's answer could not be read");
	billing__stripe_payment_intent_result(root, out);
	return BILLING_OK;
}

static int stripe_retrieve(billing_provider *p, const char *ref, int64_t now,
	billing_provider_result *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	char path[sizeof("/v1/payment_intents/") + BILLING_PROVIDER_REF_MAX];

	(void)now;
	if (out == NULL)
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"Stripe retrieve: the result is required");
	memset(out, 0, sizeof(*out));
	if (!billing__stripe_token_ok(ref, BILLING_PROVIDER_REF_MAX - 1) ||
	    strpbrk(ref, "/?#%&") != NULL)
		return billing__error_field(BILLING_EINVALID, "invalid", "ref",
			"Stripe retrieve: not a PaymentIntent id");
	snprintf(path, sizeof(path), "/v1/payment_intents/%s", ref);
	return billing__stripe_get(sp, path, read_payment_intent, NULL, out);
}

/* A search result: the PaymentIntent whose metadata[payment_id] is want
 * (the newest, should there be several), else BILLING_ENOTFOUND. */
static int read_search(const cJSON *root, const char *want, billing_provider_result *out)
{
	const cJSON *data = billing__stripe_member(root, "data"), *pi, *found = NULL;
	int64_t newest = -1;

	if (!cJSON_IsArray(data))
		return billing__error_set(BILLING_EUNKNOWN_OUTCOME, "bad_response",
			"Stripe's search answer could not be read");
	cJSON_ArrayForEach(pi, data) {
		const char *id = billing__stripe_member_str(
			billing__stripe_member(pi, "metadata"), "payment_id");
		int64_t created = billing__stripe_member_amount(pi, "created");
		if (id && strcmp(id, want) == 0 && billing__stripe_member_str(pi, "id") &&
		    created > newest) {
			found = pi;
			newest = created;
		}
	}
	if (!found)
		return billing__error_set(BILLING_ENOTFOUND, "resource_missing",
			"Stripe holds no PaymentIntent for %s", want);
	billing__stripe_payment_intent_result(found, out);
	return BILLING_OK;
}

/*
 * Issue #18 item 1: the PaymentIntent made for our attempt, found by the
 * metadata every charge carries, with Stripe's search API
 * (GET /v1/payment_intents/search?query=metadata['payment_id']:'pay_...').
 * The core asks only long after the charge (20 h), well past the search
 * index's delay (under a minute, up to an hour in outages).
 */
static int stripe_find(billing_provider *p, const billing_provider_charge *req, int64_t now,
	billing_provider_result *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	char query[160], path[512];
	char *esc;
	CURL *curl;
	int rc;

	(void)now;
	if (out == NULL || req == NULL)
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"Stripe find: request and result are required");
	memset(out, 0, sizeof(*out));
	if (!billing__stripe_token_ok(req->payment_id, 64) || strpbrk(req->payment_id, "'\\") != NULL)
		return billing__error_field(BILLING_EINVALID, "invalid", "paymentId",
			"Stripe find: not one of our payment ids");
	snprintf(query, sizeof(query), "metadata['payment_id']:'%s'", req->payment_id);
	if ((curl = curl_easy_init()) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	esc = curl_easy_escape(curl, query, 0);
	curl_easy_cleanup(curl);
	if (esc == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	snprintf(path, sizeof(path), "/v1/payment_intents/search?query=%s&limit=10", esc);
	curl_free(esc);
	rc = billing__stripe_get(sp, path, read_search, req->payment_id, out);
	return rc;
}

static int stripe_webhook_parse(billing_provider *p, const billing_header *headers,
	size_t nheaders, const char *body, size_t len, int64_t now, billing_provider_event *out)
{
	stripe_provider *sp = (stripe_provider *)p;

	return billing__stripe_webhook_parse((const char *const *)sp->secrets, sp->nsecrets,
		sp->tolerance, headers, nheaders, body, len, now, out);
}

static void stripe_free(billing_provider *p)
{
	stripe_provider *sp = (stripe_provider *)p;
	size_t i;

	if (sp == NULL)
		return;
	wipe_free(sp->api_key);
	wipe_free(sp->auth_value);
	billing__free(sp->stripe_version);
	billing__free(sp->api_base);
	billing__free(sp->account);
	for (i = 0; i < sp->nsecrets; i++)
		wipe_free(sp->secrets[i]);
	billing__free(sp->secrets);
	OPENSSL_cleanse(sp, sizeof(*sp));
	billing__free(sp);
}

/* ------------------------------------------------------------ construction */

static bool is_loopback(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
		strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

/* https://host[:port][/path], or http:// to a loopback host. */
static int check_base(billing__checks *c, const char *base, bool *loopback_http)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL, *frag = NULL;

	*loopback_http = false;
	if (!billing__stripe_token_ok(base, 1024)) {
		billing__check_fail(c, "apiBase", "must be an https:// URL");
		return 0;
	}
	u = curl_url();
	if (u == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_USER, &user, 0);
		curl_url_get(u, CURLUPART_QUERY, &query, 0);
		curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
		if (user || query || frag) {
			billing__check_fail(c, "apiBase",
				"must not carry credentials, a query or a fragment");
		} else if (strcasecmp(scheme, "http") == 0 && is_loopback(host)) {
			*loopback_http = true;
		} else if (strcasecmp(scheme, "https") != 0) {
			billing__check_fail(c, "apiBase",
				"must be https:// (http:// only to 127.0.0.1, ::1 or localhost)");
		}
	} else {
		billing__check_fail(c, "apiBase", "must be an https:// URL");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return 0;
}

static char *concat(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *s = billing__malloc(n);

	if (s)
		snprintf(s, n, "%s%s", a, b);
	return s;
}

int billing_stripe_provider_new(billing_provider **out, const billing_stripe_options *opts)
{
	billing__checks c = BILLING__CHECKS_INIT;
	stripe_provider *sp;
	const char *base, *version;
	bool loopback_http = false;
	billing_transport *transport;
	size_t i, n;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	BILLING__ASSERT_ARG(opts, "opts");
	if (opts->version == 0 || opts->version > BILLING_STRIPE_OPTIONS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid", "version",
			"billing_stripe_options.version %u is not one this library knows",
			opts->version);

	if (opts->api_key == NULL || opts->api_key[0] == '\0')
		billing__check_fail(&c, "apiKey", "is required");
	else if (!billing__stripe_token_ok(opts->api_key, 512))
		billing__check_fail(&c, "apiKey", "must be printable ASCII without spaces");
	else if (strncmp(opts->api_key, "pk_", 3) == 0)
		billing__check_fail(&c, "apiKey",
			"is a publishable key; use a secret (sk_) or restricted (rk_) key");
	base = opts->api_base ? opts->api_base : DEFAULT_API_BASE;
	rc = check_base(&c, base, &loopback_http);
	if (rc < 0)
		return rc;
	version = opts->stripe_version ? opts->stripe_version : DEFAULT_STRIPE_VERSION;
	if (!billing__stripe_token_ok(version, 64))
		billing__check_fail(&c, "stripeVersion", "must be a version such as 2024-06-20");
	if (opts->connect_timeout_ms < 0)
		billing__check_fail(&c, "connectTimeoutMs", "must not be negative");
	if (opts->timeout_ms < 0)
		billing__check_fail(&c, "timeoutMs", "must not be negative");
	if (opts->retry_base_ms < 0)
		billing__check_fail(&c, "retryBaseMs", "must not be negative");
	if (opts->webhook_tolerance < 0)
		billing__check_fail(&c, "webhookTolerance", "must not be negative");
	transport = opts->version >= 2 && opts->transport ? opts->transport
		: billing_transport_default();
	if (transport->version == 0 || transport->version > BILLING_TRANSPORT_VERSION ||
	    !transport->send || !transport->release)
		billing__check_fail(&c, "transport",
			"a transport vtable version this library does not know, or no methods");
	if (opts->webhook_secret_count > 0 && opts->webhook_secrets == NULL)
		billing__check_fail(&c, "webhookSecrets", "is NULL with a count");
	for (i = 0; opts->webhook_secrets && i < opts->webhook_secret_count; i++)
		if (opts->webhook_secrets[i] == NULL || opts->webhook_secrets[i][0] == '\0') {
			billing__check_fail(&c, "webhookSecrets", "must not hold an empty secret");
			break;
		}
	rc = billing__checks_finish(&c, "Stripe options");
	if (rc < 0)
		return rc;

	if (billing__curl_init() < 0)
		return billing__error_set(BILLING_ERROR, NULL, "Stripe: libcurl failed to initialize");

	sp = billing__calloc(1, sizeof(*sp));
	if (sp == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	sp->base.version = BILLING_PROVIDER_VERSION;
	sp->base.name = "stripe";
	sp->base.free = stripe_free;
	sp->base.charge = stripe_charge;
	sp->base.retrieve = stripe_retrieve;
	sp->base.refund = stripe_refund;
	sp->base.webhook_parse = stripe_webhook_parse;
	sp->base.find = stripe_find;
	sp->base.with_account = billing__stripe_with_account;
	sp->base.cancel = billing__stripe_cancel;
	sp->base.customer_create = billing__stripe_customer_create;
	sp->base.setup_intent_create = billing__stripe_setup_intent_create;
	sp->base.payment_method_attach = billing__stripe_payment_method_attach;
	sp->base.payment_method_detach = billing__stripe_payment_method_detach;
	sp->loopback_http = loopback_http;
	sp->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms
		: DEFAULT_CONNECT_TIMEOUT_MS;
	sp->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	sp->max_retries = opts->max_retries ? opts->max_retries : DEFAULT_MAX_RETRIES;
	sp->retry_base_ms = opts->retry_base_ms ? opts->retry_base_ms : DEFAULT_RETRY_BASE_MS;
	sp->tolerance = opts->webhook_tolerance;

	sp->api_key = billing__strdup(opts->api_key);
	sp->auth_value = concat("Bearer ", opts->api_key);
	sp->stripe_version = billing__strdup(version);
	sp->transport = transport;
	sp->api_base = billing__strdup(base);
	n = opts->webhook_secrets ? opts->webhook_secret_count : 0;
	if (n > 0)
		sp->secrets = billing__calloc(n, sizeof(char *));
	if (!sp->api_key || !sp->auth_value || !sp->stripe_version || !sp->api_base ||
	    (n > 0 && !sp->secrets))
		goto oom;
	for (i = 0; i < n; i++) {
		sp->secrets[i] = billing__strdup(opts->webhook_secrets[i]);
		if (sp->secrets[i] == NULL)
			goto oom;
		sp->nsecrets = i + 1;
	}
	n = strlen(sp->api_base);
	while (n > 0 && sp->api_base[n - 1] == '/')
		sp->api_base[--n] = '\0';
	*out = &sp->base;
	return BILLING_OK;
oom:
	stripe_free(&sp->base);
	return billing__error_set(BILLING_ENOMEM, NULL, NULL);
}
