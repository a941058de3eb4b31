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
 * URL; curl_global_init runs once.
 */
#include "billing/providers.h"
#include "billing/sys/provider.h"
#include "billing/sys/transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "billing/version.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "providers/stripe/stripe_webhook.h"

#define DEFAULT_API_BASE "https://api.stripe.com"
/* The API version this file is written against: the shapes it reads (the
 * error object, PaymentIntent and Refund statuses) are those of this one. */
#define DEFAULT_STRIPE_VERSION "2024-06-20"
#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_RETRIES 3u
#define DEFAULT_RETRY_BASE_MS 500L
#define MAX_RETRY_DELAY_MS 60000L
#define MAX_RESPONSE (1024 * 1024)
#define MAX_HEADER_VALUE 255
/* cJSON reads numbers as doubles: integers are taken within +-2^53 only. */
#define JSON_INT_MAX 9007199254740992.0

typedef struct {
	billing_provider base;         /* first: the core sees a billing_provider */
	char *api_key;
	char *auth_value;              /* "Bearer <key>" */
	char *stripe_version;          /* the Stripe-Version header */
	billing_transport *transport;  /* borrowed */
	char *api_base;                /* no trailing slash */
	bool loopback_http;            /* http:// to this machine: tests only */
	char **secrets;
	size_t nsecrets;
	long connect_timeout_ms;
	long timeout_ms;
	unsigned int max_retries;
	long retry_base_ms;
	long tolerance;
} stripe_provider;

/* ------------------------------------------------------------ small helpers */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		billing__free(s);
	}
}

static void copy_text(char *out, size_t size, const char *s)
{
	size_t n;

	if (s == NULL) {
		out[0] = '\0';
		return;
	}
	n = strlen(s);
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;          /* cut at a UTF-8 character */
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

/* Printable ASCII, no space: safe inside a header line or a URL. */
static bool token_ok(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++, n++)
		if (*s <= ' ' || *s >= 0x7f || n >= max)
			return false;
	return true;
}

static const cJSON *member(const cJSON *obj, const char *name)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

static const char *member_str(const cJSON *obj, const char *name)
{
	const cJSON *v = member(obj, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t member_amount(const cJSON *obj, const char *name)
{
	const cJSON *v = member(obj, name);
	double d;

	if (!cJSON_IsNumber(v))
		return 0;
	d = v->valuedouble;
	if (d < 0 || d > JSON_INT_MAX || d != (double)(int64_t)d)
		return 0;
	return (int64_t)d;
}

static void currency_upper(char out[4], const char *s)
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

/* ------------------------------------------------------------ form bodies */

typedef struct {
	CURL *curl;
	char *buf;
	size_t len, cap;
	bool failed;
} form;

static void form_raw(form *f, const char *s, size_t n)
{
	if (f->failed)
		return;
	if (f->len + n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 256;
		char *p;
		while (cap < f->len + n + 1)
			cap *= 2;
		p = billing__realloc(f->buf, cap);
		if (p == NULL) {
			f->failed = true;
			return;
		}
		f->buf = p;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len] = '\0';
}

/* Appends key=value; keys are this file's literals, values are escaped.
 * A NULL value is left out. */
static void form_add(form *f, const char *key, const char *value)
{
	char *esc;

	if (value == NULL || f->failed)
		return;
	esc = curl_easy_escape(f->curl, value, 0);
	if (esc == NULL) {
		f->failed = true;
		return;
	}
	if (f->len > 0)
		form_raw(f, "&", 1);
	form_raw(f, key, strlen(key));
	form_raw(f, "=", 1);
	form_raw(f, esc, strlen(esc));
	curl_free(esc);
}

static void form_add_int(form *f, const char *key, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	form_add(f, key, num);
}

/* ------------------------------------------------------------ one HTTP exchange */

typedef struct {
	billing_transport_response res;
	bool sent;                     /* res holds an answer to release */
	int should_retry;              /* Stripe-Should-Retry: -1 absent, 0, 1 */
} exchange;

static void exchange_reset(stripe_provider *sp, exchange *x)
{
	if (x->sent)
		sp->transport->release(sp->transport, &x->res);
	memset(x, 0, sizeof(*x));
	x->should_retry = -1;
}

/* The exchange ended with a whole HTTP answer. */
static bool answered(const exchange *x)
{
	return x->res.error == BILLING_TRANSPORT_OK;
}

/*
 * One request through the provider's transport. The headers point at the
 * provider's own strings, so the key is not copied here.
 */
static int perform(stripe_provider *sp, const char *url, const char *post,
	const char *idempotency_key, exchange *x)
{
	static const char *const want[] = { "Stripe-Should-Retry" };
	billing_transport_request req;
	billing_header h[6];
	size_t nh = 0, i;
	int rc;

	h[nh].name = "Authorization";
	h[nh++].value = sp->auth_value;
	h[nh].name = "Stripe-Version";
	h[nh++].value = sp->stripe_version;
	h[nh].name = "Accept";
	h[nh++].value = "application/json";
	if (post) {
		h[nh].name = "Content-Type";
		h[nh++].value = "application/x-www-form-urlencoded";
		if (idempotency_key) {
			h[nh].name = "Idempotency-Key";
			h[nh++].value = idempotency_key;
		}
	}
	memset(&req, 0, sizeof(req));
	req.method = post ? "POST" : "GET";
	req.url = url;
	req.headers = h;
	req.nheaders = nh;
	req.body = post;
	req.body_len = post ? strlen(post) : 0;
	req.connect_timeout_ms = sp->connect_timeout_ms;
	req.timeout_ms = sp->timeout_ms;
	req.max_response = MAX_RESPONSE;
	/* http:// only to this machine (tests), never through a proxy */
	req.flags = sp->loopback_http ? BILLING_TRANSPORT_ALLOW_HTTP | BILLING_TRANSPORT_NO_PROXY
		: 0;
	req.want_headers = want;
	req.nwant_headers = 1;
	exchange_reset(sp, x);
	if ((rc = sp->transport->send(sp->transport, &req, &x->res)) < 0) {
		memset(&x->res, 0, sizeof(x->res));
		return rc;
	}
	x->sent = true;
	for (i = 0; i < x->res.nheaders; i++) {
		const billing_header *r = &x->res.headers[i];
		if (!r->name || !r->value || strcasecmp(r->name, want[0]) != 0)
			continue;
		if (strcasecmp(r->value, "true") == 0)
			x->should_retry = 1;
		else if (strcasecmp(r->value, "false") == 0)
			x->should_retry = 0;
	}
	return BILLING_OK;
}

/* ------------------------------------------------------------ retries */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Full jitter: uniform in [0, base * 2^(attempt - 1)], capped. */
static long backoff_ms(const stripe_provider *sp, unsigned int attempt)
{
	long cap = sp->retry_base_ms;
	uint64_t r = 0;
	unsigned int i;

	for (i = 1; i < attempt && cap < MAX_RETRY_DELAY_MS; i++)
		cap *= 2;
	if (cap > MAX_RETRY_DELAY_MS)
		cap = MAX_RETRY_DELAY_MS;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return cap / 2;
	return (long)(r % ((uint64_t)cap + 1));
}

static bool status_retryable(long status)
{
	return status == 409 || status == 429 || status >= 500;
}

static bool should_retry(const exchange *x)
{
	if (!answered(x))
		return true;   /* may have arrived or not: the same key makes it safe */
	if (x->should_retry >= 0)
		return x->should_retry == 1;
	return status_retryable(x->res.status);
}

/*
 * Sends the request, retrying as the rules above say with the same
 * idempotency key. On return x holds the last exchange. *retries_exhausted
 * is set when the last exchange asked for a retry that the budget forbade.
 */
static int send_request(stripe_provider *sp, const char *url, const char *post,
	const char *idempotency_key, exchange *x, bool *retries_exhausted)
{
	unsigned int attempt = 0;
	int rc;

	*retries_exhausted = false;
	for (;;) {
		rc = perform(sp, url, post, idempotency_key, x);
		if (rc < 0 || !should_retry(x))
			break;
		if (attempt == sp->max_retries) {
			*retries_exhausted = true;
			break;
		}
		attempt++;
		sleep_ms(backoff_ms(sp, attempt));
	}
	return rc;
}

/* ------------------------------------------------------------ answers */

/* The error object of a non-2xx answer (NULL when the body is not one). */
static const cJSON *error_object(const cJSON *root)
{
	const cJSON *e = member(root, "error");
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
static const char *error_code(const cJSON *err, long status)
{
	const char *c = member_str(err, "decline_code");

	if (c == NULL || c[0] == '\0')
		c = member_str(err, "code");
	if (c == NULL || c[0] == '\0')
		c = member_str(err, "type");
	if (c == NULL || c[0] == '\0')
		c = default_type(status);
	return c;
}

/* The code of a refused request. Key errors get a fixed code: Stripe
 * sends them with type invalid_request_error, which would hide them. */
static const char *refusal_code(const cJSON *err, long status)
{
	const char *c = member_str(err, "code");

	if (status == 401)
		return "authentication_error";
	if (status == 403)
		return c && c[0] ? c : "permission_error";
	return error_code(err, status);
}

/* Stripe's message, unless it could hold key material. */
static void set_message(stripe_provider *sp, billing_provider_result *out, long status,
	const char *msg)
{
	if (status == 401 || status == 403)
		msg = status == 401 ? "Stripe refused the API key"
			: "the API key is not allowed to do this";
	else if (msg && (strstr(msg, sp->api_key) || strstr(msg, "sk_live") ||
		 strstr(msg, "sk_test") || strstr(msg, "rk_live") || strstr(msg, "rk_test")))
		msg = "Stripe refused the request";
	copy_text(out->failure_message, sizeof(out->failure_message), msg);
}

static void result_unknown(billing_provider_result *out, const char *code, const char *msg)
{
	out->status = BILLING_PAYMENT_UNKNOWN;
	copy_text(out->failure_code, sizeof(out->failure_code), code);
	copy_text(out->failure_message, sizeof(out->failure_message), msg);
}

/* The outcome of an exchange that did not end with an answer about the
 * object: a transport failure or a retryable status. */
static void unknown_from(const exchange *x, const cJSON *root, billing_provider_result *out)
{
	char msg[BILLING_PROVIDER_MESSAGE_MAX];

	if (x->res.error == BILLING_TRANSPORT_TIMEOUT) {
		result_unknown(out, "timeout", "Stripe did not answer in time");
	} else if (!answered(x)) {
		snprintf(msg, sizeof(msg), "no answer from Stripe (%s)",
			billing_transport_error_name(x->res.error));
		result_unknown(out, x->res.error == BILLING_TRANSPORT_TOO_LARGE ? "bad_response" :
			"network_error", msg);
	} else {
		snprintf(msg, sizeof(msg), "Stripe answered HTTP %ld; the outcome is not known",
			x->res.status);
		result_unknown(out, error_code(error_object(root), x->res.status), msg);
	}
}

static void payment_intent_result(const cJSON *pi, billing_provider_result *out)
{
	const char *status = member_str(pi, "status");
	const cJSON *err = member(pi, "last_payment_error");

	copy_text(out->ref, sizeof(out->ref), member_str(pi, "id"));
	out->amount = member_amount(pi, "amount");
	currency_upper(out->currency, member_str(pi, "currency"));
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
		if (err)
			code = error_code(err, 402);
		else if (strcmp(status, "canceled") == 0)
			code = member_str(pi, "cancellation_reason");
		if (code == NULL)
			code = status;
		copy_text(out->failure_code, sizeof(out->failure_code), code);
		copy_text(out->failure_message, sizeof(out->failure_message),
			member_str(err, "message"));
	} else {
		/* processing, requires_capture, or a status newer than this
		 * file: Stripe holds it and retrieve() will tell. */
		out->status = BILLING_PAYMENT_PENDING;
	}
}

static void refund_result(const cJSON *re, billing_provider_result *out)
{
	const char *status = member_str(re, "status");

	copy_text(out->ref, sizeof(out->ref), member_str(re, "id"));
	out->amount = member_amount(re, "amount");
	currency_upper(out->currency, member_str(re, "currency"));
	if (status == NULL)
		status = "";
	if (strcmp(status, "succeeded") == 0) {
		out->status = BILLING_PAYMENT_SUCCEEDED;
	} else if (strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0) {
		const char *code = member_str(re, "failure_reason");
		out->status = BILLING_PAYMENT_FAILED;
		copy_text(out->failure_code, sizeof(out->failure_code), code ? code : status);
	} else {
		out->status = BILLING_PAYMENT_PENDING;   /* pending, requires_action */
	}
}

typedef void (*object_reader)(const cJSON *obj, billing_provider_result *out);

/*
 * Turns the last exchange of a money-moving call into a result. Returns
 * BILLING_OK always: every branch is an outcome (see provider.h).
 */
static int outcome(stripe_provider *sp, const exchange *x, bool exhausted,
	object_reader read, billing_provider_result *out)
{
	cJSON *root = NULL;
	const cJSON *err;

	if (answered(x) && x->res.body)
		root = cJSON_ParseWithLength(x->res.body, x->res.body_len);
	err = error_object(root);
	if (!answered(x) || exhausted || status_retryable(x->res.status) ||
	    x->res.status < 200 || (x->res.status >= 300 && x->res.status < 400)) {
		unknown_from(x, root, out);
	} else if (x->res.status < 300) {
		if (cJSON_IsObject(root) && member_str(root, "id"))
			read(root, out);
		else
			result_unknown(out, "bad_response",
				"Stripe's answer could not be read; the outcome is not known");
	} else if (x->res.status == 400 && strcmp(error_code(err, 400), "idempotency_error") == 0) {
		/* The key was used before with other parameters: what that
		 * request did is not known from here. */
		result_unknown(out, "idempotency_error",
			"the idempotency key was used with other parameters");
	} else {
		/* 400, 401, 402, 403, 404...: an answer about this request. A
		 * decline carries the PaymentIntent it left behind. */
		const cJSON *pi = member(err, "payment_intent");
		if (cJSON_IsObject(pi) && read == payment_intent_result) {
			copy_text(out->ref, sizeof(out->ref), member_str(pi, "id"));
			out->amount = member_amount(pi, "amount");
			currency_upper(out->currency, member_str(pi, "currency"));
		}
		out->status = BILLING_PAYMENT_FAILED;
		copy_text(out->failure_code, sizeof(out->failure_code),
			refusal_code(err, x->res.status));
		set_message(sp, out, x->res.status, member_str(err, "message"));
	}
	cJSON_Delete(root);
	return BILLING_OK;
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

static char *url_for(stripe_provider *sp, const char *path)
{
	size_t n = strlen(sp->api_base) + strlen(path) + 1;
	char *url = billing__malloc(n);

	if (url)
		snprintf(url, n, "%s%s", sp->api_base, path);
	return url;
}

/* Sends a form to path and reads the answer with read. */
static int post_form(stripe_provider *sp, const char *path, form *f, const char *key,
	object_reader read, billing_provider_result *out)
{
	exchange x = { 0 };
	bool exhausted;
	char *url;
	int rc;

	if (f->failed)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	url = url_for(sp, path);
	if (url == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	rc = send_request(sp, url, f->buf ? f->buf : "", key, &x, &exhausted);
	if (rc == BILLING_OK)
		rc = outcome(sp, &x, exhausted, read, out);
	exchange_reset(sp, &x);
	billing__free(url);
	return rc;
}

static int stripe_charge(billing_provider *p, const billing_provider_charge *req, int64_t now,
	billing_provider_result *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	billing__checks c = BILLING__CHECKS_INIT;
	form f = { 0 };
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
	if (!token_ok(req->payment_method, MAX_HEADER_VALUE))
		billing__check_fail(&c, "paymentMethod", "is required");
	if (!token_ok(req->idempotency_key, MAX_HEADER_VALUE))
		billing__check_fail(&c, "idempotencyKey",
			"is required (printable, no spaces, at most 255 bytes)");
	rc = billing__checks_finish(&c, "Stripe charge");
	if (rc < 0)
		return rc;

	pthread_once(&curl_once, curl_init);
	f.curl = curl_easy_init();
	if (f.curl == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	lower3(cur, req->currency);
	form_add_int(&f, "amount", req->amount);
	form_add(&f, "currency", cur);
	if (req->customer_ref && req->customer_ref[0])
		form_add(&f, "customer", req->customer_ref);
	form_add(&f, "payment_method", req->payment_method);
	form_add(&f, "confirm", "true");
	if (req->off_session)
		form_add(&f, "off_session", "true");
	form_add(&f, "description", req->description);
	form_add(&f, "metadata[tenant_id]", req->tenant_id);
	form_add(&f, "metadata[payment_id]", req->payment_id);
	form_add(&f, "metadata[invoice_id]", req->invoice_id);
	form_add(&f, "metadata[customer_id]", req->customer_id);
	curl_easy_cleanup(f.curl);
	rc = post_form(sp, "/v1/payment_intents", &f, req->idempotency_key,
		payment_intent_result, out);
	billing__free(f.buf);
	return rc;
}

static int stripe_refund(billing_provider *p, const billing_provider_refund *req, int64_t now,
	billing_provider_result *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	billing__checks c = BILLING__CHECKS_INIT;
	form f = { 0 };
	int rc;

	(void)now;
	if (out == NULL || req == NULL)
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"Stripe refund: request and result are required");
	memset(out, 0, sizeof(*out));
	if (req->amount <= 0)
		billing__check_fail(&c, "amount", "must be positive");
	if (!token_ok(req->payment_ref, BILLING_PROVIDER_REF_MAX - 1))
		billing__check_fail(&c, "paymentRef", "is required");
	if (!token_ok(req->idempotency_key, MAX_HEADER_VALUE))
		billing__check_fail(&c, "idempotencyKey",
			"is required (printable, no spaces, at most 255 bytes)");
	rc = billing__checks_finish(&c, "Stripe refund");
	if (rc < 0)
		return rc;

	pthread_once(&curl_once, curl_init);
	f.curl = curl_easy_init();
	if (f.curl == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	form_add(&f, "payment_intent", req->payment_ref);
	form_add_int(&f, "amount", req->amount);
	form_add(&f, "metadata[refund_id]", req->refund_id);
	form_add(&f, "metadata[payment_id]", req->payment_id);
	form_add(&f, "metadata[tenant_id]", req->tenant_id);
	curl_easy_cleanup(f.curl);
	rc = post_form(sp, "/v1/refunds", &f, req->idempotency_key, refund_result, out);
	billing__free(f.buf);
	return rc;
}

static int stripe_retrieve(billing_provider *p, const char *ref, int64_t now,
	billing_provider_result *out)
{
	stripe_provider *sp = (stripe_provider *)p;
	exchange x = { 0 };
	cJSON *root = NULL;
	const cJSON *err;
	bool exhausted;
	char path[sizeof("/v1/payment_intents/") + BILLING_PROVIDER_REF_MAX];
	char *url;
	int rc;

	(void)now;
	if (out == NULL)
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"Stripe retrieve: the result is required");
	memset(out, 0, sizeof(*out));
	if (!token_ok(ref, BILLING_PROVIDER_REF_MAX - 1) || strpbrk(ref, "/?#%&") != NULL)
		return billing__error_field(BILLING_EINVALID, "invalid", "ref",
			"Stripe retrieve: not a PaymentIntent id");
	snprintf(path, sizeof(path), "/v1/payment_intents/%s", ref);
	url = url_for(sp, path);
	if (url == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	rc = send_request(sp, url, NULL, NULL, &x, &exhausted);
	billing__free(url);
	if (rc < 0)
		goto done;
	if (answered(&x) && x.res.body)
		root = cJSON_ParseWithLength(x.res.body, x.res.body_len);
	err = error_object(root);
	if (!answered(&x) || exhausted || status_retryable(x.res.status) || x.res.status < 200 ||
	    (x.res.status >= 300 && x.res.status < 400)) {
		/* retrieving moves no money: no answer is an error, not an outcome */
		billing_provider_result tmp;
		memset(&tmp, 0, sizeof(tmp));
		unknown_from(&x, root, &tmp);
		rc = billing__error_set(BILLING_EUNKNOWN_OUTCOME, NULL, "Stripe: %s",
			tmp.failure_message);
		billing__error_provider_code(tmp.failure_code);
	} else if (x.res.status < 300) {
		if (cJSON_IsObject(root) && member_str(root, "id")) {
			payment_intent_result(root, out);
			rc = BILLING_OK;
		} else {
			rc = billing__error_set(BILLING_EUNKNOWN_OUTCOME, "bad_response",
				"Stripe's answer could not be read");
		}
	} else {
		/* an answer: the request was refused */
		billing_provider_result tmp;
		memset(&tmp, 0, sizeof(tmp));
		set_message(sp, &tmp, x.res.status, member_str(err, "message"));
		rc = billing__error_set(x.res.status == 404 ? BILLING_ENOTFOUND : BILLING_ERROR,
			x.res.status == 404 ? "resource_missing" : "provider_error",
			"Stripe: %s", tmp.failure_message[0] ? tmp.failure_message : "refused");
		billing__error_provider_code(refusal_code(err, x.res.status));
	}
done:
	cJSON_Delete(root);
	exchange_reset(sp, &x);
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
	if (!token_ok(base, 1024)) {
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
	else if (!token_ok(opts->api_key, 512))
		billing__check_fail(&c, "apiKey", "must be printable ASCII without spaces");
	else if (strncmp(opts->api_key, "pk_", 3) == 0)
		billing__check_fail(&c, "apiKey",
			"is a publishable key; use a secret (sk_) or restricted (rk_) key");
	base = opts->api_base ? opts->api_base : DEFAULT_API_BASE;
	rc = check_base(&c, base, &loopback_http);
	if (rc < 0)
		return rc;
	version = opts->stripe_version ? opts->stripe_version : DEFAULT_STRIPE_VERSION;
	if (!token_ok(version, 64))
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

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
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
