/*
 * Stripe's webhook signatures and events (see stripe_webhook.h).
 *
 * Verification comes first and parsing only after it: nothing in an
 * unverified body is read. The Stripe-Signature header is parsed strictly
 * (every item "key=value", one t of digits, v1 values of 64 hex digits;
 * other schemes such as v0 are skipped), the HMAC of "<t>.<body>" is
 * computed once per configured secret, and every v1 candidate is compared
 * with every MAC in constant time, so rotation works both ways: a new
 * secret configured here before Stripe signs with it, and Stripe signing
 * with two secrets while the old one is still the only one here.
 *
 * Messages name what was wrong, never a secret or a signature.
 */
#include "providers/stripe/stripe_internal.h"
#include "providers/stripe/stripe_webhook.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/encode.h"
#include "core/errors.h"

#define DEFAULT_TOLERANCE 300
#define MAX_CANDIDATES 16      /* more v1 values than any real rotation sends */
#define MAX_T_DIGITS 18        /* fits int64_t */
#define MAC_LEN 32
/* cJSON reads numbers as doubles: integers are taken only within +-2^53,
 * where a double holds them exactly (as the JSON layer does). */
#define JSON_INT_MAX 9007199254740992.0

static int sig_error(const char *msg)
{
	return billing__error_set(BILLING_EINVALID, "signature", "%s", msg);
}

static int malformed(const char *msg)
{
	return billing__error_set(BILLING_EINVALID, "malformed", "webhook event: %s", msg);
}

/* name is one of this file's literals, never data from the request. */
static int malformed_field(const char *name, const char *what)
{
	return billing__error_set(BILLING_EINVALID, "malformed", "webhook event: %s %s",
		name, what);
}

/* ------------------------------------------------------------ signatures */

/* HMAC-SHA256(secret, "<t>." || body), fed in pieces so the body is not
 * copied. */
static int mac_compute(uint8_t out[MAC_LEN], const char *secret, const char *prefix,
	size_t prefix_len, const char *body, size_t len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[2];
	size_t outlen = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx != NULL &&
		EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) &&
		EVP_MAC_update(ctx, (const unsigned char *)prefix, prefix_len) &&
		(len == 0 || EVP_MAC_update(ctx, (const unsigned char *)body, len)) &&
		EVP_MAC_final(ctx, out, &outlen, MAC_LEN) && outlen == MAC_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex_decode32(uint8_t out[MAC_LEN], const char *s, size_t len)
{
	size_t i;

	if (len != 2 * MAC_LEN)
		return false;
	for (i = 0; i < MAC_LEN; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

typedef struct {
	int64_t t;
	const char *t_text;             /* the digits as sent: what was signed */
	size_t t_len;
	size_t ncand;
	uint8_t cand[MAX_CANDIDATES][MAC_LEN];
} sig_header;

/* Parses "t=...,v1=...,v1=..." strictly. 0 or -1 (malformed). */
static int header_parse(sig_header *h, const char *value)
{
	const char *p = value;
	bool have_t = false;

	memset(h, 0, sizeof(*h));
	for (;;) {
		const char *item, *end, *eq, *val;
		size_t klen, vlen;

		while (is_space(*p))
			p++;
		item = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > item && is_space(end[-1]))
			end--;
		eq = memchr(item, '=', (size_t)(end - item));
		if (eq == NULL || eq == item || eq + 1 == end)
			return -1;
		klen = (size_t)(eq - item);
		val = eq + 1;
		vlen = (size_t)(end - val);
		if (klen == 1 && item[0] == 't') {
			size_t i;
			int64_t t = 0;
			if (have_t || vlen > MAX_T_DIGITS)
				return -1;
			for (i = 0; i < vlen; i++) {
				if (val[i] < '0' || val[i] > '9')
					return -1;
				t = t * 10 + (val[i] - '0');
			}
			h->t = t;
			h->t_text = val;
			h->t_len = vlen;
			have_t = true;
		} else if (klen == 2 && item[0] == 'v' && item[1] == '1') {
			if (h->ncand == MAX_CANDIDATES || !hex_decode32(h->cand[h->ncand], val, vlen))
				return -1;
			h->ncand++;
		}
		/* other schemes (v0, ...) are not ours to check */
		if (*p == '\0')
			break;
		p++;
	}
	return have_t ? 0 : -1;
}

static const char *header_find(const billing_header *headers, size_t n, int *count)
{
	const char *found = NULL;
	size_t i;

	*count = 0;
	for (i = 0; headers && i < n; i++)
		if (headers[i].name && strcasecmp(headers[i].name, "Stripe-Signature") == 0) {
			if (!found)
				found = headers[i].value;
			(*count)++;
		}
	return found;
}

static int verify(const char *const *secrets, size_t nsecrets, long tolerance,
	const billing_header *headers, size_t nheaders, const char *body, size_t len,
	int64_t now)
{
	sig_header h;
	const char *value;
	char prefix[MAX_T_DIGITS + 2];
	uint8_t mac[MAC_LEN];
	int count, matched = 0, usable = 0;
	size_t i, j;
	int64_t diff;

	value = header_find(headers, nheaders, &count);
	if (count == 0 || value == NULL)
		return sig_error("the Stripe-Signature header is missing");
	if (count > 1)
		return sig_error("more than one Stripe-Signature header");
	if (header_parse(&h, value) < 0)
		return sig_error("the Stripe-Signature header is malformed");
	if (h.ncand == 0)
		return sig_error("the Stripe-Signature header has no v1 signature");

	memcpy(prefix, h.t_text, h.t_len);
	prefix[h.t_len] = '.';
	for (i = 0; secrets && i < nsecrets; i++) {
		if (secrets[i] == NULL || secrets[i][0] == '\0')
			continue;
		usable++;
		if (mac_compute(mac, secrets[i], prefix, h.t_len + 1, body, len) < 0) {
			OPENSSL_cleanse(mac, sizeof(mac));
			return billing__error_set(BILLING_ERROR, NULL,
				"webhook signature: HMAC-SHA256 failed");
		}
		/* Every candidate against every secret, no early exit. */
		for (j = 0; j < h.ncand; j++)
			matched |= CRYPTO_memcmp(mac, h.cand[j], MAC_LEN) == 0;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	if (usable == 0)
		return sig_error("no webhook signing secret is configured");
	if (!matched)
		return sig_error("no signature matches the webhook signing secrets");

	if (tolerance <= 0)
		tolerance = DEFAULT_TOLERANCE;
	if (__builtin_sub_overflow(now, h.t, &diff) || diff > tolerance || diff < -tolerance)
		return billing__error_set(BILLING_EINVALID, "signature",
			"the signature's timestamp is more than %ld s from now", tolerance);
	return BILLING_OK;
}

/* ------------------------------------------------------------ events */

static const cJSON *member(const cJSON *obj, const char *name)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

static const char *member_str(const cJSON *obj, const char *name)
{
	const cJSON *v = member(obj, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An id-like string: absent is fine (""), too long for its buffer is not
 * (a truncated id would name something else). */
static int copy_id(char *out, size_t size, const cJSON *obj, const char *name, bool required)
{
	const cJSON *v = member(obj, name);

	out[0] = '\0';
	if (v == NULL || cJSON_IsNull(v)) {
		return required ? malformed_field(name, "is missing") : 0;
	}
	if (!cJSON_IsString(v))
		return malformed_field(name, "is not a string");
	if (strlen(v->valuestring) >= size)
		return malformed_field(name, "is too long");
	if (required && v->valuestring[0] == '\0')
		return malformed_field(name, "is empty");
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* Text for humans or a code: truncated to fit, at a UTF-8 boundary. */
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
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

static int get_int(int64_t *out, const cJSON *obj, const char *name, bool required)
{
	const cJSON *v = member(obj, name);
	double d;

	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return required ? malformed_field(name, "is missing") : 0;
	if (!cJSON_IsNumber(v))
		return malformed_field(name, "is not a number");
	d = v->valuedouble;
	if (d > JSON_INT_MAX || d < -JSON_INT_MAX || d != (double)(int64_t)d)
		return malformed_field(name, "is not an integer within +-2^53");
	*out = (int64_t)d;
	return 0;
}

static int get_amount(int64_t *out, const cJSON *obj, const char *name)
{
	if (get_int(out, obj, name, true) < 0)
		return -1;
	if (*out < 0)
		return malformed_field(name, "is negative");
	return 0;
}

static int get_currency(char out[4], const cJSON *obj)
{
	const char *s = member_str(obj, "currency");
	int i;

	if (s == NULL || strlen(s) != 3)
		return malformed("currency must be three letters");
	for (i = 0; i < 3; i++) {
		char c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return malformed("currency must be three letters");
		out[i] = c;
	}
	out[3] = '\0';
	return 0;
}

static int get_metadata(billing_provider_event *ev, const cJSON *obj)
{
	const cJSON *md = member(obj, "metadata");

	if (md == NULL || cJSON_IsNull(md))
		return 0;
	if (!cJSON_IsObject(md))
		return malformed("metadata is not an object");
	if (copy_id(ev->tenant_id, sizeof(ev->tenant_id), md, "tenant_id", false) < 0 ||
	    copy_id(ev->payment_id, sizeof(ev->payment_id), md, "payment_id", false) < 0 ||
	    copy_id(ev->invoice_id, sizeof(ev->invoice_id), md, "invoice_id", false) < 0)
		return -1;
	return 0;
}

/* A reference that Stripe sends as an id or, when expanded, as an object
 * with an id. */
static int get_ref(char *out, size_t size, const cJSON *obj, const char *name)
{
	const cJSON *v = member(obj, name);

	if (cJSON_IsObject(v))
		return copy_id(out, size, v, "id", true);
	return copy_id(out, size, obj, name, false);
}

static void set_failure(billing_provider_event *ev, const cJSON *pi)
{
	const cJSON *err = member(pi, "last_payment_error");
	const char *code = member_str(err, "decline_code");

	if (code == NULL || code[0] == '\0')
		code = member_str(err, "code");
	if (code == NULL && ev->type == BILLING_PROVIDER_EVENT_PAYMENT_CANCELED)
		code = member_str(pi, "cancellation_reason");
	copy_text(ev->failure_code, sizeof(ev->failure_code), code);
	copy_text(ev->failure_message, sizeof(ev->failure_message), member_str(err, "message"));
}

static const struct {
	const char *name;
	billing_provider_event_type type;
} pi_types[] = {
	{ "payment_intent.succeeded", BILLING_PROVIDER_EVENT_PAYMENT_SUCCEEDED },
	{ "payment_intent.payment_failed", BILLING_PROVIDER_EVENT_PAYMENT_FAILED },
	{ "payment_intent.processing", BILLING_PROVIDER_EVENT_PAYMENT_PROCESSING },
	{ "payment_intent.requires_action", BILLING_PROVIDER_EVENT_PAYMENT_REQUIRES_ACTION },
	{ "payment_intent.canceled", BILLING_PROVIDER_EVENT_PAYMENT_CANCELED },
};

static int parse_payment_intent(billing_provider_event *ev, const cJSON *pi)
{
	if (copy_id(ev->ref, sizeof(ev->ref), pi, "id", true) < 0 ||
	    get_amount(&ev->amount, pi, "amount") < 0 ||
	    get_currency(ev->currency, pi) < 0 ||
	    get_metadata(ev, pi) < 0)
		return -1;
	if (ev->type == BILLING_PROVIDER_EVENT_PAYMENT_FAILED ||
	    ev->type == BILLING_PROVIDER_EVENT_PAYMENT_CANCELED)
		set_failure(ev, pi);
	return 0;
}

/* A refund or a dispute on a charge that no PaymentIntent made is not one
 * of ours (the library only creates PaymentIntents): it is ignored rather
 * than refused, so Stripe does not retry it for days. */
static void ignore_foreign(billing_provider_event *ev)
{
	char id[sizeof(ev->id)], type_name[sizeof(ev->type_name)];
	int64_t created = ev->created;

	memcpy(id, ev->id, sizeof(id));
	memcpy(type_name, ev->type_name, sizeof(type_name));
	memset(ev, 0, sizeof(*ev));
	memcpy(ev->id, id, sizeof(id));
	memcpy(ev->type_name, type_name, sizeof(type_name));
	ev->created = created;
	ev->type = BILLING_PROVIDER_EVENT_IGNORED;
}

static int parse_charge_refunded(billing_provider_event *ev, const cJSON *ch)
{
	if (!cJSON_IsString(member(ch, "id")))
		return malformed("the charge has no id");
	if (get_ref(ev->ref, sizeof(ev->ref), ch, "payment_intent") < 0)
		return -1;
	if (ev->ref[0] == '\0') {
		ignore_foreign(ev);
		return 0;
	}
	if (get_amount(&ev->amount, ch, "amount") < 0 ||
	    get_amount(&ev->amount_refunded, ch, "amount_refunded") < 0 ||
	    get_currency(ev->currency, ch) < 0 ||
	    get_metadata(ev, ch) < 0)
		return -1;
	if (ev->amount_refunded > ev->amount)
		return malformed("amount_refunded exceeds the amount");
	return 0;
}

static int parse_dispute(billing_provider_event *ev, const cJSON *dp)
{
	if (copy_id(ev->dispute_id, sizeof(ev->dispute_id), dp, "id", true) < 0 ||
	    get_ref(ev->ref, sizeof(ev->ref), dp, "payment_intent") < 0)
		return -1;
	if (ev->ref[0] == '\0') {
		ignore_foreign(ev);
		return 0;
	}
	if (get_amount(&ev->dispute_amount, dp, "amount") < 0 ||
	    get_currency(ev->currency, dp) < 0 ||
	    get_metadata(ev, dp) < 0)
		return -1;
	copy_text(ev->dispute_reason, sizeof(ev->dispute_reason), member_str(dp, "reason"));
	copy_text(ev->dispute_status, sizeof(ev->dispute_status), member_str(dp, "status"));
	if (get_int(&ev->dispute_evidence_due_by, member(dp, "evidence_details"), "due_by",
		false) < 0)
		return -1;
	return 0;
}

static int parse_event(billing_provider_event *ev, const cJSON *root)
{
	const cJSON *type = member(root, "type"), *object;
	size_t i;

	if (!cJSON_IsObject(root))
		return malformed("the body is not a JSON object");
	if (copy_id(ev->id, sizeof(ev->id), root, "id", true) < 0)
		return -1;
	if (!cJSON_IsString(type) || type->valuestring[0] == '\0')
		return malformed("type is missing");
	if (strlen(type->valuestring) >= sizeof(ev->type_name))
		return malformed("type is too long");
	memcpy(ev->type_name, type->valuestring, strlen(type->valuestring) + 1);
	if (get_int(&ev->created, root, "created", true) < 0 ||
	    copy_id(ev->account, sizeof(ev->account), root, "account", false) < 0)
		return -1;

	ev->type = BILLING_PROVIDER_EVENT_IGNORED;
	for (i = 0; i < sizeof(pi_types) / sizeof(pi_types[0]); i++)
		if (strcmp(ev->type_name, pi_types[i].name) == 0)
			ev->type = pi_types[i].type;
	if (strcmp(ev->type_name, "charge.refunded") == 0)
		ev->type = BILLING_PROVIDER_EVENT_CHARGE_REFUNDED;
	else if (strcmp(ev->type_name, "charge.dispute.created") == 0)
		ev->type = BILLING_PROVIDER_EVENT_DISPUTE_CREATED;
	else if (strcmp(ev->type_name, "charge.dispute.updated") == 0)
		ev->type = BILLING_PROVIDER_EVENT_DISPUTE_UPDATED;
	else if (strcmp(ev->type_name, "charge.dispute.closed") == 0)
		ev->type = BILLING_PROVIDER_EVENT_DISPUTE_CLOSED;
	if (ev->type == BILLING_PROVIDER_EVENT_IGNORED)
		return 0;

	object = member(member(root, "data"), "object");
	if (!cJSON_IsObject(object))
		return malformed("data.object is missing");
	switch (ev->type) {
	case BILLING_PROVIDER_EVENT_CHARGE_REFUNDED:
		return parse_charge_refunded(ev, object);
	case BILLING_PROVIDER_EVENT_DISPUTE_CREATED:
	case BILLING_PROVIDER_EVENT_DISPUTE_UPDATED:
	case BILLING_PROVIDER_EVENT_DISPUTE_CLOSED:
		return parse_dispute(ev, object);
	default:
		return parse_payment_intent(ev, object);
	}
}

int billing__stripe_webhook_parse(const char *const *secrets, size_t nsecrets, long tolerance,
	const billing_header *headers, size_t nheaders, const char *body, size_t len, int64_t now,
	billing_provider_event *out)
{
	cJSON *root;
	int rc;

	if (out == NULL)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "out",
			"out must not be NULL");
	memset(out, 0, sizeof(*out));
	if (body == NULL && len > 0)
		return malformed("no body");
	rc = verify(secrets, nsecrets, tolerance, headers, nheaders, body ? body : "", len, now);
	if (rc < 0)
		return rc;

	root = cJSON_ParseWithLength(body ? body : "", len);
	if (root == NULL)
		return malformed("the body is not JSON");
	rc = parse_event(out, root) < 0 ? BILLING_EINVALID : BILLING_OK;
	if (rc == BILLING_OK && out->currency[0]) {
		/* Stripe's units to the library's (ISK, MGA: stripe_currency.c) */
		out->amount = billing__stripe_amount_in(out->currency, out->amount);
		out->amount_refunded = billing__stripe_amount_in(out->currency,
			out->amount_refunded);
		out->dispute_amount = billing__stripe_amount_in(out->currency,
			out->dispute_amount);
		/* -1: no whole number of the currency's units (ISK 2901) */
		if (out->amount < 0 || out->amount_refunded < 0 || out->dispute_amount < 0)
			rc = malformed("an amount that is no whole number of the currency's units");
	}
	cJSON_Delete(root);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int billing__stripe_webhook_sign(char *out, size_t size, const char *secret, int64_t t,
	const char *body, size_t len)
{
	char prefix[32];
	char hex[2 * MAC_LEN + 1];
	uint8_t mac[MAC_LEN];
	int n;

	if (out == NULL || secret == NULL || t < 0 || (body == NULL && len > 0))
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"webhook signature: bad arguments");
	n = snprintf(prefix, sizeof(prefix), "%" PRId64 ".", t);
	if (mac_compute(mac, secret, prefix, (size_t)n, body ? body : "", len) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "webhook signature: HMAC-SHA256 failed");
	billing__hex_encode(hex, mac, MAC_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	n = snprintf(out, size, "t=%" PRId64 ",v1=%s", t, hex);
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			out[0] = '\0';
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"webhook signature: the output buffer is too small");
	}
	return BILLING_OK;
}
