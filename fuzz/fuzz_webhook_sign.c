/*
 * The outbound webhook signer round trip (billing_webhook_sign and
 * billing_webhook_verify, Standard Webhooks).
 *
 *   byte 0       the key's length, 24 + byte % 41 (24 to 64 bytes)
 *   byte 1       bits 0-6: the message id's length, 1 + bits % 64;
 *                bit 7: the secret without its "whsec_" prefix
 *   bytes 2-5    the timestamp (uint32, little-endian)
 *   byte 6       the age of the verification, (int8_t) seconds * 8
 *   then         the key, the message id (NUL bytes become 'x'), and the
 *                rest: the body
 * An input starting with '!' (or too short for its key and id) is, after
 * the '!', "<secret>\n<signature header>\n<timestamp>\n<body>" against the
 * verifier instead, which must not crash and may only accept a signature
 * the signer makes.
 *
 * Properties: a signature verifies exactly when its age is within the
 * window; changing one byte of the body, the id or the timestamp, or
 * signing with another key, makes it fail; errors never quote the secret.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "billing/billing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WINDOW 300
#define HEAD 7

static void fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, billing_error_last()->message);
	abort();
}

static int refused_signature(int rc, const char *field)
{
	const billing_error *e = billing_error_last();
	return rc == BILLING_EINVALID && e->field && strcmp(e->field, field) == 0;
}

/* Arbitrary text against the verifier. */
static void verify_any(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *parts[4] = { 0 }, *p, sig[BILLING_WEBHOOK_SIGNATURE_SIZE];
	size_t i, body_len;
	int rc;

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	p = text;
	for (i = 0; i < 3; i++) {
		parts[i] = p;
		p = strchr(p, '\n');
		if (p == NULL)
			goto out;
		*p++ = '\0';
	}
	parts[3] = p;
	body_len = size - (size_t)(p - text);
	rc = billing_webhook_verify(parts[0], "msg_fuzz", parts[2], parts[1], parts[3], body_len,
		1700000000, WINDOW);
	if (rc == BILLING_OK) {
		/* Accepted: the header holds the one signature the signer makes. */
		if (billing_webhook_sign(sig, sizeof(sig), parts[0], "msg_fuzz",
			strtoll(parts[2], NULL, 10), parts[3], body_len) != BILLING_OK ||
		    strstr(parts[1], sig) == NULL)
			fail("a signature the signer does not make was accepted");
	} else if (rc != BILLING_EINVALID) {
		fail("unexpected code");
	}
out:
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[64];
	char secret[6 + 88 + 1], ts[24], id[65], sig[BILLING_WEBHOOK_SIGNATURE_SIZE];
	char other[BILLING_WEBHOOK_SIGNATURE_SIZE];
	size_t keylen, idlen, body_len, i;
	uint8_t *body;
	int64_t t, age;
	int rc, in_window;

	if (size > 0 && data[0] == '!') {
		verify_any(data + 1, size - 1);
		return 0;
	}
	if (size < HEAD) {
		verify_any(data, size);
		return 0;
	}
	keylen = 24 + data[0] % 41;
	idlen = 1 + (data[1] & 0x7f) % 64;
	if (size < HEAD + keylen + idlen) {
		verify_any(data, size);
		return 0;
	}
	t = (int64_t)data[2] | (int64_t)data[3] << 8 | (int64_t)data[4] << 16 |
		(int64_t)data[5] << 24;
	age = (int64_t)(int8_t)data[6] * 8;
	memcpy(key, data + HEAD, keylen);
	strcpy(secret, data[1] & 0x80 ? "" : "whsec_");
	EVP_EncodeBlock((unsigned char *)secret + strlen(secret), key, (int)keylen);
	for (i = 0; i < idlen; i++)
		id[i] = data[HEAD + keylen + i] ? (char)data[HEAD + keylen + i] : 'x';
	id[idlen] = '\0';
	body_len = size - HEAD - keylen - idlen;
	/* An exact copy: ASan reports a read past the body's end. */
	body = malloc(body_len ? body_len : 1);
	if (body == NULL)
		abort();
	memcpy(body, data + HEAD + keylen + idlen, body_len);
	snprintf(ts, sizeof(ts), "%lld", (long long)t);

	if (billing_webhook_sign(sig, sizeof(sig), secret, id, t, body, body_len) != BILLING_OK)
		fail("sign");
	if (strlen(sig) != BILLING_WEBHOOK_SIGNATURE_SIZE - 1 || strncmp(sig, "v1,", 3) != 0)
		fail("the signature's shape");

	rc = billing_webhook_verify(secret, id, ts, sig, body, body_len, t + age, WINDOW);
	in_window = age <= WINDOW && age >= -WINDOW;
	if ((rc == BILLING_OK) != in_window)
		fail(in_window ? "refused in the window" : "accepted outside the window");
	if (!in_window && !refused_signature(rc, "webhook-timestamp"))
		fail("outside the window, not for its timestamp");

	/* One byte of the body changed. */
	if (body_len > 0) {
		body[data[6] % body_len] ^= (uint8_t)(1 + data[0] % 255);
		if (!refused_signature(billing_webhook_verify(secret, id, ts, sig, body, body_len,
			t, WINDOW), "webhook-signature"))
			fail("a changed body was accepted");
		body[data[6] % body_len] ^= (uint8_t)(1 + data[0] % 255);
	}
	/* Another id (one more byte), another timestamp (a second later). */
	if (idlen < 64) {
		id[idlen] = 'z';
		id[idlen + 1] = '\0';
		if (!refused_signature(billing_webhook_verify(secret, id, ts, sig, body, body_len,
			t, WINDOW), "webhook-signature"))
			fail("another id was accepted");
		id[idlen] = '\0';
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)t + 1);
	if (!refused_signature(billing_webhook_verify(secret, id, ts, sig, body, body_len, t,
		WINDOW), "webhook-signature"))
		fail("another timestamp was accepted");
	snprintf(ts, sizeof(ts), "%lld", (long long)t);
	/* Another key: the same bytes but one. */
	key[data[6] % keylen] ^= 0x5a;
	strcpy(secret, "whsec_");
	EVP_EncodeBlock((unsigned char *)secret + 6, key, (int)keylen);
	if (billing_webhook_sign(other, sizeof(other), secret, id, t, body, body_len) != BILLING_OK)
		fail("sign with another key");
	if (strcmp(other, sig) == 0 ||
	    !refused_signature(billing_webhook_verify(secret, id, ts, sig, body, body_len, t,
		WINDOW), "webhook-signature"))
		fail("another key was accepted");
	free(body);
	return 0;
}
