/*
 * Standard Webhooks signatures (billing/webhook.h): the signer the
 * deliveries use, and the verifier a receiver uses. The signature is
 * base64(HMAC-SHA256(key, "<msg_id>.<timestamp>.<body>")), the key the
 * standard base64 after "whsec_".
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/core.h"
#include "core/encode.h"

#define KEY_MIN 24                 /* bytes, as the specification asks */
#define KEY_MAX 64
#define KEY_TEXT_MAX (4 * (KEY_MAX + 2) / 3)   /* base64 of KEY_MAX, padded */
#define MAC_LEN 32
#define MAC_TEXT 44                /* base64 of MAC_LEN, padded */
#define MSG_ID_MAX 255
#define TIMESTAMP_DIGITS 18        /* fits int64_t */

/* The key of a secret into key[KEY_TEXT_MAX]; its length, or an error. */
static int secret_key(uint8_t *key, size_t *keylen, const char *secret)
{
	const char *k;
	size_t len;
	long n;

	if (secret == NULL)
		return billing__error_field(BILLING_EINVALID, NULL, "secret",
			"the webhook secret is missing");
	k = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
	len = strnlen(k, KEY_TEXT_MAX + 1);
	n = len > KEY_TEXT_MAX ? -1 : billing__b64_decode(key, KEY_TEXT_MAX, k, len);
	if (n < KEY_MIN || n > KEY_MAX) {
		OPENSSL_cleanse(key, KEY_TEXT_MAX);
		return billing__error_field(BILLING_EINVALID, NULL, "secret",
			"the webhook secret is not base64 of %d to %d bytes", KEY_MIN, KEY_MAX);
	}
	*keylen = (size_t)n;
	return BILLING_OK;
}

static int mac_compute(uint8_t mac[MAC_LEN], const uint8_t *key, size_t keylen,
	const char *msg_id, const char *timestamp, const void *body, size_t body_len)
{
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *mc = NULL;
	OSSL_PARAM params[2];
	size_t maclen = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = (m = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL &&
		(mc = EVP_MAC_CTX_new(m)) != NULL &&
		EVP_MAC_init(mc, key, keylen, params) == 1 &&
		EVP_MAC_update(mc, (const unsigned char *)msg_id, strlen(msg_id)) == 1 &&
		EVP_MAC_update(mc, (const unsigned char *)".", 1) == 1 &&
		EVP_MAC_update(mc, (const unsigned char *)timestamp, strlen(timestamp)) == 1 &&
		EVP_MAC_update(mc, (const unsigned char *)".", 1) == 1 &&
		(body_len == 0 || EVP_MAC_update(mc, body, body_len) == 1) &&
		EVP_MAC_final(mc, mac, &maclen, MAC_LEN) == 1;
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	if (!ok || maclen != MAC_LEN)
		return billing__error_set(BILLING_ERROR, NULL, "webhook signature: HMAC-SHA256 failed");
	return BILLING_OK;
}

static int msg_id_ok(const char *msg_id, const char *field)
{
	if (msg_id == NULL || msg_id[0] == '\0' || strnlen(msg_id, MSG_ID_MAX + 1) > MSG_ID_MAX)
		return billing__error_field(BILLING_EINVALID, NULL, field,
			"the message id must be 1 to %d bytes", MSG_ID_MAX);
	return BILLING_OK;
}

int billing_webhook_sign(char *out, size_t size, const char *secret, const char *msg_id,
	int64_t timestamp, const void *body, size_t body_len)
{
	uint8_t key[KEY_TEXT_MAX], mac[MAC_LEN];
	char ts[TIMESTAMP_DIGITS + 2];
	size_t keylen = 0;
	int rc;

	if (out == NULL || size < BILLING_WEBHOOK_SIGNATURE_SIZE)
		return billing__error_field(BILLING_EINVALID, NULL, "size",
			"the signature needs %d bytes", BILLING_WEBHOOK_SIGNATURE_SIZE);
	out[0] = '\0';
	if (body == NULL && body_len > 0)
		return billing__error_field(BILLING_EINVALID, NULL, "body", "the body is missing");
	if (timestamp < 0)
		return billing__error_field(BILLING_EINVALID, NULL, "timestamp",
			"the timestamp must not be negative");
	if ((rc = msg_id_ok(msg_id, "msgId")) < 0 || (rc = secret_key(key, &keylen, secret)) < 0)
		return rc;
	snprintf(ts, sizeof(ts), "%lld", (long long)timestamp);
	rc = mac_compute(mac, key, keylen, msg_id, ts, body, body_len);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc == BILLING_OK) {
		memcpy(out, "v1,", 3);
		billing__b64_encode(out + 3, mac, MAC_LEN);
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* Decimal seconds, digits only. */
static int parse_timestamp(int64_t *out, const char *s)
{
	size_t i, n = s ? strnlen(s, TIMESTAMP_DIGITS + 1) : 0;
	int64_t v = 0;

	if (n == 0 || n > TIMESTAMP_DIGITS)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int billing_webhook_verify(const char *secret, const char *msg_id, const char *timestamp,
	const char *signature, const void *body, size_t body_len, int64_t now,
	int64_t tolerance_s)
{
	uint8_t key[KEY_TEXT_MAX], mac[MAC_LEN];
	char want[MAC_TEXT + 1];
	size_t keylen = 0, len;
	const char *p;
	int64_t t, diff;
	int rc, matched = 0;

	if (body == NULL && body_len > 0)
		return billing__error_field(BILLING_EINVALID, "signature", "body",
			"the body is missing");
	if (parse_timestamp(&t, timestamp) < 0)
		return billing__error_field(BILLING_EINVALID, "signature", "webhook-timestamp",
			"webhook-timestamp is not decimal seconds");
	if (tolerance_s < 0 || __builtin_sub_overflow(now, t, &diff) || diff > tolerance_s ||
	    diff < -tolerance_s)
		return billing__error_field(BILLING_EINVALID, "signature", "webhook-timestamp",
			"webhook-timestamp is more than %lld s from now", (long long)tolerance_s);
	if ((rc = msg_id_ok(msg_id, "webhook-id")) < 0 ||
	    (rc = secret_key(key, &keylen, secret)) < 0)
		return rc;
	rc = mac_compute(mac, key, keylen, msg_id, timestamp, body, body_len);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0)
		return rc;
	billing__b64_encode(want, mac, MAC_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	/* "v1,<base64> v1,<base64> ...": every candidate is compared as text
	 * (the one canonical encoding), with no early exit; tokens of other
	 * versions or of another length are skipped. */
	for (p = signature ? signature : ""; *p; p += len) {
		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len == 3 + MAC_TEXT && strncmp(p, "v1,", 3) == 0)
			matched |= CRYPTO_memcmp(p + 3, want, MAC_TEXT) == 0;
	}
	OPENSSL_cleanse(want, sizeof(want));
	if (!matched)
		return billing__error_field(BILLING_EINVALID, "signature", "webhook-signature",
			"no signature matches the webhook secret");
	return BILLING_OK;
}
