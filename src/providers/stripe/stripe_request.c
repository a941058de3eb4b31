/*
 * Stripe requests: form bodies, one HTTP exchange through the provider's
 * transport, and the retry rules (same idempotency key on every try, full
 * jitter backoff, Stripe-Should-Retry obeyed). Also the small text helpers
 * the other Stripe files share. Split out of stripe.c; see stripe.c for the
 * provider as a whole.
 */
#include "providers/stripe/stripe_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "core/alloc.h"
#include "core/errors.h"

/* ------------------------------------------------------------ small helpers */

void billing__stripe_copy_text(char *out, size_t size, const char *s)
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
bool billing__stripe_token_ok(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++, n++)
		if (*s <= ' ' || *s >= 0x7f || n >= max)
			return false;
	return true;
}

/* ------------------------------------------------------------ form bodies */

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
void billing__stripe_form_add(form *f, const char *key, const char *value)
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

void billing__stripe_form_add_int(form *f, const char *key, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	billing__stripe_form_add(f, key, num);
}

/* ------------------------------------------------------------ one HTTP exchange */

void billing__stripe_exchange_reset(stripe_provider *sp, exchange *x)
{
	if (x->sent)
		sp->transport->release(sp->transport, &x->res);
	memset(x, 0, sizeof(*x));
	x->should_retry = -1;
}

/* The exchange ended with a whole HTTP answer. */
bool billing__stripe_answered(const exchange *x)
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
	billing_header h[7];
	size_t nh = 0, i;
	int rc;

	h[nh].name = "Authorization";
	h[nh++].value = sp->auth_value;
	h[nh].name = "Stripe-Version";
	h[nh++].value = sp->stripe_version;
	h[nh].name = "Accept";
	h[nh++].value = "application/json";
	if (sp->account) {
		/* A connected account's tenant: every request acts on it. */
		h[nh].name = "Stripe-Account";
		h[nh++].value = sp->account;
	}
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
	billing__stripe_exchange_reset(sp, x);
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

bool billing__stripe_status_retryable(long status)
{
	return status == 409 || status == 429 || status >= 500;
}

static bool should_retry(const exchange *x)
{
	if (!billing__stripe_answered(x))
		return true;   /* may have arrived or not: the same key makes it safe */
	if (x->should_retry >= 0)
		return x->should_retry == 1;
	return billing__stripe_status_retryable(x->res.status);
}

/*
 * Sends the request, retrying as the rules above say with the same
 * idempotency key. On return x holds the last exchange. *retries_exhausted
 * is set when the last exchange asked for a retry that the budget forbade.
 */
int billing__stripe_send_request(stripe_provider *sp, const char *url, const char *post,
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

char *billing__stripe_url_for(stripe_provider *sp, const char *path)
{
	size_t n = strlen(sp->api_base) + strlen(path) + 1;
	char *url = billing__malloc(n);

	if (url)
		snprintf(url, n, "%s%s", sp->api_base, path);
	return url;
}

/* Sends a form to path and reads the answer with read. */
int billing__stripe_post_form(stripe_provider *sp, const char *path, form *f, const char *key,
	object_reader read, billing_provider_result *out)
{
	exchange x = { 0 };
	bool exhausted;
	char *url;
	int rc;

	if (f->failed)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	url = billing__stripe_url_for(sp, path);
	if (url == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, "Stripe: no memory for a request");
	rc = billing__stripe_send_request(sp, url, f->buf ? f->buf : "", key, &x, &exhausted);
	if (rc == BILLING_OK)
		rc = billing__stripe_outcome(sp, &x, exhausted, read, out);
	billing__stripe_exchange_reset(sp, &x);
	billing__free(url);
	return rc;
}
