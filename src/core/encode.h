/*
 * Encodings and digests: base64url (RFC 4648 section 5, no padding),
 * standard base64, lower-case hex, SHA-256 and HMAC-SHA256 (OpenSSL).
 */
#ifndef BILLING_CORE_ENCODE_H
#define BILLING_CORE_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the base64url text for n bytes (without padding), excluding NUL. */
size_t billing__b64url_len(size_t n);

/* Encodes n bytes into out (billing__b64url_len(n) + 1 bytes); NUL-terminated. */
void billing__b64url_encode(char *out, const uint8_t *in, size_t n);

/* Decodes base64url without padding. Returns the number of bytes written, or
 * -1 for a character outside the alphabet, an impossible length, non-zero
 * trailing bits, or output that does not fit in cap. */
long billing__b64url_decode(uint8_t *out, size_t cap, const char *in, size_t len);

/* Standard base64 with padding (RFC 4648 section 4). out needs
 * 4 * ((n + 2) / 3) + 1 bytes. */
void billing__b64_encode(char *out, const uint8_t *in, size_t n);

/* Decodes strict standard base64: padding required, '=' only at the end,
 * no white space. The number of bytes written, or -1 for anything else,
 * non-zero trailing bits, or output that does not fit in cap. */
long billing__b64_decode(uint8_t *out, size_t cap, const char *in, size_t len);

/* Lower-case hex; out needs 2n + 1 bytes. */
void billing__hex_encode(char *out, const uint8_t *in, size_t n);

/* SHA-256 of data; out 32 bytes. Returns 0 or -1. */
int billing__sha256(uint8_t out[32], const void *data, size_t n);

/* HMAC-SHA256; out 32 bytes. Returns 0 or -1. */
int billing__hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
	const void *data, size_t n);

/* A key made ready for many HMAC-SHA256 computations: the keyed state is
 * built once, and each computation copies it. Safe to use from several
 * threads at once. */
typedef struct billing__hmac_key billing__hmac_key;

billing__hmac_key *billing__hmac_key_new(const void *key, size_t keylen);
void billing__hmac_key_free(billing__hmac_key *k);
/* out 32 bytes; 0 or -1. */
int billing__hmac_sha256_keyed(uint8_t out[32], const billing__hmac_key *k,
	const void *data, size_t n);

/* Constant-time comparison of n bytes; true when equal. */
bool billing__ct_equal(const void *a, const void *b, size_t n);

#endif
