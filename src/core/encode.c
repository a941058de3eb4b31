/*
 * Encodings and digests for tokens, webhook signatures and idempotency keys.
 * The base64 and hex codecs are written out here rather than taken from
 * OpenSSL because its EVP_EncodeBlock has no URL-safe alphabet and its
 * decoder accepts padding and white space that a strict token check must
 * refuse. Digests go to OpenSSL: hashing is not something to hand-roll.
 */

/* SHA256_Init/Update/Final are marked deprecated in OpenSSL 3 (in favour of
 * EVP) but remain supported; the keyed HMAC below needs their copyable
 * state. Defined before any OpenSSL header. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "core/encode.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t billing__b64url_len(size_t n)
{
	static const size_t tail[3] = { 0, 2, 3 };
	return n / 3 * 4 + tail[n % 3];
}

/*
 * Shared by both alphabets: writes the full groups and the 2 or 3 characters
 * of a trailing partial group, and returns how many characters it wrote.
 */
static size_t encode_groups(char *out, const char *alphabet, const uint8_t *in, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
	}
	return o;
}

void billing__b64url_encode(char *out, const uint8_t *in, size_t n)
{
	out[encode_groups(out, b64url_alphabet, in, n)] = '\0';
}

void billing__b64_encode(char *out, const uint8_t *in, size_t n)
{
	size_t o = encode_groups(out, b64_alphabet, in, n);

	while (o % 4 != 0)
		out[o++] = '=';
	out[o] = '\0';
}

/* 0 to 63 for a character of the alphabet whose last two characters are
 * c62 and c63 ('-' '_' for base64url, '+' '/' for standard), or -1. */
static int b64_value(unsigned char c, char c62, char c63)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (unsigned char)c62)
		return 62;
	if (c == (unsigned char)c63)
		return 63;
	return -1;
}

/* Shared by both alphabets: len characters without padding into out. */
static long decode_groups(uint8_t *out, size_t cap, const char *in, size_t len, char c62,
	char c63)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t rem = len % 4, full = len - rem, outlen, i, o = 0;
	uint32_t v = 0;

	/* One character carries only 6 bits: no byte ends there. */
	if (rem == 1)
		return -1;
	outlen = full / 4 * 3 + (rem ? rem - 1 : 0);
	if (outlen > cap || outlen > LONG_MAX)
		return -1;

	for (i = 0; i < len; i++) {
		int d = b64_value(p[i], c62, c63);
		if (d < 0)
			return -1;
		v = v << 6 | (uint32_t)d;
		if (i % 4 == 3) {
			out[o++] = (uint8_t)(v >> 16);
			out[o++] = (uint8_t)(v >> 8);
			out[o++] = (uint8_t)v;
			v = 0;
		}
	}
	/*
	 * The bits past the last whole byte must be zero; otherwise several
	 * texts would decode to the same bytes, and a token compared as text
	 * could be altered without changing what it means.
	 */
	if (rem == 2) {
		if (v & 0xF)
			return -1;
		out[o++] = (uint8_t)(v >> 4);
	} else if (rem == 3) {
		if (v & 0x3)
			return -1;
		out[o++] = (uint8_t)(v >> 10);
		out[o++] = (uint8_t)(v >> 2);
	}
	return (long)o;
}

long billing__b64url_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
	return decode_groups(out, cap, in, len, '-', '_');
}

long billing__b64_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
	size_t pad = 0;

	/* Padded to whole groups; '=' only as the last one or two characters
	 * (anywhere else it is outside the alphabet). */
	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	return decode_groups(out, cap, in, len - pad, '+', '/');
}

void billing__hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xF];
	}
	out[2 * n] = '\0';
}

int billing__sha256(uint8_t out[32], const void *data, size_t n)
{
	unsigned int len = 0;

	if (!EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) || len != 32)
		return -1;
	return 0;
}

int billing__hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
	const void *data, size_t n)
{
	/* HMAC_Init_ex reads a NULL key as "keep the previous key"; the
	 * one-shot HMAC() copes today, but an empty key is a valid HMAC key
	 * and is passed as a real pointer rather than relying on that. */
	static const unsigned char empty = 0;
	unsigned int len = 0;

	if (keylen > INT_MAX)
		return -1;
	if (key == NULL) {
		if (keylen != 0)
			return -1;
		key = &empty;
	}
	if (HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len) == NULL || len != 32)
		return -1;
	return 0;
}

/*
 * Keyed HMAC for hot paths (list cursors: two per page). The inner and
 * outer SHA-256 states after the padded key are computed once; each MAC
 * copies them (plain structs: no allocation, safe from many threads) and
 * hashes only the message. This is RFC 2104's HMAC on OpenSSL's SHA-256
 * block functions; the EVP MAC interface costs three context copies with
 * allocations per call, which was 15 % of a page. Checked against RFC 4231
 * and the one-shot HMAC() in tests/unit/encode.c.
 */
struct billing__hmac_key {
	SHA256_CTX inner;
	SHA256_CTX outer;
};

billing__hmac_key *billing__hmac_key_new(const void *key, size_t keylen)
{
	unsigned char block[SHA256_CBLOCK], pad[SHA256_CBLOCK];
	billing__hmac_key *k;
	size_t i;

	if ((k = malloc(sizeof(*k))) == NULL)
		return NULL;
	memset(block, 0, sizeof(block));
	if (keylen > sizeof(block))
		SHA256(key, keylen, block); /* a long key is replaced by its hash */
	else if (keylen)
		memcpy(block, key, keylen);
	for (i = 0; i < sizeof(block); i++)
		pad[i] = block[i] ^ 0x36;
	SHA256_Init(&k->inner);
	SHA256_Update(&k->inner, pad, sizeof(pad));
	for (i = 0; i < sizeof(block); i++)
		pad[i] = block[i] ^ 0x5c;
	SHA256_Init(&k->outer);
	SHA256_Update(&k->outer, pad, sizeof(pad));
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(pad, sizeof(pad));
	return k;
}

void billing__hmac_key_free(billing__hmac_key *k)
{
	if (!k)
		return;
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

int billing__hmac_sha256_keyed(uint8_t out[32], const billing__hmac_key *k,
	const void *data, size_t n)
{
	unsigned char inner[SHA256_DIGEST_LENGTH];
	SHA256_CTX c = k->inner;
	SHA256_Update(&c, data, n);
	SHA256_Final(inner, &c);
	c = k->outer;
	SHA256_Update(&c, inner, sizeof(inner));
	SHA256_Final(out, &c);
	return 0;
}

bool billing__ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
