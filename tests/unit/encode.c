/*
 * Unit tests for src/core/encode.c: RFC 4648 vectors, round trips of every
 * length up to 64, strict decoding, hex, SHA-256 (FIPS 180-2 vectors),
 * HMAC-SHA256 (RFC 4231) and constant-time comparison. OpenSSL's own
 * base64 encoder serves as an independent oracle for random data.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "core/encode.h"

/* xorshift64: deterministic "random" data, so a failure reproduces. */
static void fill(uint8_t *buf, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)(x >> 32);
	}
}

/* base64 text with '+' '/' mapped to '-' '_' and padding removed. */
static void to_url(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '=')
			continue;
		*w++ = *s == '+' ? '-' : *s == '/' ? '_' : *s;
	}
	*w = '\0';
}

static long decode_str(uint8_t *out, size_t cap, const char *in)
{
	return billing__b64url_decode(out, cap, in, strlen(in));
}

static const struct {
	const char *in, *b64, *b64url;
} rfc4648[] = {
	{ "",       "",         ""         },
	{ "f",      "Zg==",     "Zg"       },
	{ "fo",     "Zm8=",     "Zm8"      },
	{ "foo",    "Zm9v",     "Zm9v"     },
	{ "foob",   "Zm9vYg==", "Zm9vYg"   },
	{ "fooba",  "Zm9vYmE=", "Zm9vYmE"  },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

#define N_RFC4648 (sizeof(rfc4648) / sizeof(rfc4648[0]))

/* ---- base64 ---- */

static void b64_encode__matches_rfc4648_vectors(void **state)
{
	char out[16];
	size_t i;

	(void)state;
	for (i = 0; i < N_RFC4648; i++) {
		memset(out, 'X', sizeof(out));
		billing__b64_encode(out, (const uint8_t *)rfc4648[i].in, strlen(rfc4648[i].in));
		assert_string_equal(out, rfc4648[i].b64);
	}
}

static void b64_encode__uses_plus_and_slash(void **state)
{
	static const uint8_t in[] = { 0xfb, 0xff, 0xbf };
	char out[8];

	(void)state;
	billing__b64_encode(out, in, 2);
	assert_string_equal(out, "+/8=");
	billing__b64_encode(out, in, 3);
	assert_string_equal(out, "+/+/");
}

static void b64_encode__matches_openssl_for_every_length_up_to_64(void **state)
{
	uint8_t in[64];
	char ours[4 * 22 + 1 + 1], theirs[4 * 22 + 1];
	size_t n;

	(void)state;
	for (n = 0; n <= 64; n++) {
		size_t want = 4 * ((n + 2) / 3);
		fill(in, n, n);
		memset(ours, 'X', sizeof(ours));
		billing__b64_encode(ours, in, n);
		assert_int_equal(EVP_EncodeBlock((unsigned char *)theirs, in, (int)n), want);
		assert_string_equal(ours, theirs);
		assert_int_equal(ours[want + 1], 'X');        /* nothing past the NUL */
	}
}

static long b64_decode_str(uint8_t *out, size_t cap, const char *in)
{
	return billing__b64_decode(out, cap, in, strlen(in));
}

static void b64_decode__matches_rfc4648_vectors_and_round_trips(void **state)
{
	uint8_t out[16], in[64], back[64];
	char text[4 * 22 + 1];
	size_t i, n;

	(void)state;
	for (i = 0; i < N_RFC4648; i++) {
		size_t want = strlen(rfc4648[i].in);
		assert_int_equal(b64_decode_str(out, sizeof(out), rfc4648[i].b64), (long)want);
		assert_memory_equal(out, rfc4648[i].in, want);
	}
	for (n = 0; n <= 64; n++) {
		fill(in, n, n + 7);
		billing__b64_encode(text, in, n);
		assert_int_equal(b64_decode_str(back, n, text), (long)n);
		assert_memory_equal(back, in, n);
	}
	assert_int_equal(b64_decode_str(out, sizeof(out), "+/8="), 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
}

/* Strict: what a lenient decoder (OpenSSL's EVP_DecodeBlock among them)
 * takes, a logo or a webhook secret must not: no padding, padding inside,
 * three '=', the URL alphabet, white space, non-zero trailing bits, more
 * than cap. */
static void b64_decode__refuses_everything_but_canonical_padded_text(void **state)
{
	static const char *bad[] = {
		"Zg", "Zm8", "Zm9vYg", "Zg=", "Z===", "====", "Zg==Zg==", "Zm=v", "Zm9v-_8=",
		"Zm9v YmFy", "Zm9v\nYmE=", "Zh==", "Zm9=", " Zm9v",
	};
	uint8_t out[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(b64_decode_str(out, sizeof(out), bad[i]), -1);
	assert_int_equal(billing__b64_decode(out, sizeof(out), "Zm9v\0mFy", 8), -1);
	assert_int_equal(b64_decode_str(out, 5, "Zm9vYmFy"), -1);
	assert_int_equal(b64_decode_str(out, 6, "Zm9vYmFy"), 6);
	assert_int_equal(billing__b64_decode(NULL, 0, "", 0), 0);
}

/* ---- base64url ---- */

static void b64url_len__gives_unpadded_length(void **state)
{
	(void)state;
	assert_int_equal(billing__b64url_len(0), 0);
	assert_int_equal(billing__b64url_len(1), 2);
	assert_int_equal(billing__b64url_len(2), 3);
	assert_int_equal(billing__b64url_len(3), 4);
	assert_int_equal(billing__b64url_len(4), 6);
	assert_int_equal(billing__b64url_len(32), 43);
	assert_int_equal(billing__b64url_len(33), 44);
}

static void b64url_encode__matches_rfc4648_vectors_without_padding(void **state)
{
	char out[16];
	size_t i;

	(void)state;
	for (i = 0; i < N_RFC4648; i++) {
		size_t n = strlen(rfc4648[i].in);
		billing__b64url_encode(out, (const uint8_t *)rfc4648[i].in, n);
		assert_string_equal(out, rfc4648[i].b64url);
		assert_int_equal(strlen(out), billing__b64url_len(n));
	}
}

static void b64url_encode__uses_dash_and_underscore(void **state)
{
	static const uint8_t in[] = { 0xfb, 0xff, 0xbf };
	char out[8];

	(void)state;
	billing__b64url_encode(out, in, 2);
	assert_string_equal(out, "-_8");
	billing__b64url_encode(out, in, 3);
	assert_string_equal(out, "-_-_");
}

static void b64url_decode__matches_rfc4648_vectors(void **state)
{
	uint8_t out[16];
	size_t i;

	(void)state;
	for (i = 0; i < N_RFC4648; i++) {
		size_t n = strlen(rfc4648[i].in);
		assert_int_equal(decode_str(out, sizeof(out), rfc4648[i].b64url), (long)n);
		assert_memory_equal(out, rfc4648[i].in, n);
	}
}

static void b64url__round_trips_every_length_up_to_64(void **state)
{
	uint8_t in[64], back[64];
	char text[88], oracle[90];
	size_t n;

	(void)state;
	for (n = 0; n <= 64; n++) {
		size_t tlen = billing__b64url_len(n);
		fill(in, n, 1000 + n);
		billing__b64url_encode(text, in, n);
		assert_int_equal(strlen(text), tlen);

		EVP_EncodeBlock((unsigned char *)oracle, in, (int)n);
		to_url(oracle);
		assert_string_equal(text, oracle);

		memset(back, 0, sizeof(back));
		assert_int_equal(billing__b64url_decode(back, n, text, tlen), (long)n);
		assert_memory_equal(back, in, n);
	}
}

static void b64url__round_trips_all_byte_values(void **state)
{
	uint8_t in[256], back[256];
	char text[400];
	size_t i;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	billing__b64url_encode(text, in, sizeof(in));
	assert_null(strpbrk(text, "+/="));
	assert_int_equal(decode_str(back, sizeof(back), text), 256);
	assert_memory_equal(back, in, sizeof(in));
}

static void b64url_decode__rejects_characters_outside_the_alphabet(void **state)
{
	static const char *bad[] = {
		"Zm9v+mFy", "Zm9v/mFy", "Zm9vYg==", "Zm9vYg=", "Zm9 vYmFy", "Zm9v\nYmFy",
		"Zm9v.mFy", "Zm9v\xc3\xa9mF", "*m9v", "Zm9v!A",
	};
	uint8_t out[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decode_str(out, sizeof(out), bad[i]), -1);
	/* An embedded NUL inside len is a bad character, not an end. */
	assert_int_equal(billing__b64url_decode(out, sizeof(out), "Zm9v\0mFy", 8), -1);
}

static void b64url_decode__rejects_impossible_lengths(void **state)
{
	uint8_t out[16];

	(void)state;
	assert_int_equal(decode_str(out, sizeof(out), "Z"), -1);
	assert_int_equal(decode_str(out, sizeof(out), "Zm9vY"), -1);
	assert_int_equal(decode_str(out, sizeof(out), "Zm9vYmFyZ"), -1);
}

static void b64url_decode__rejects_non_zero_trailing_bits(void **state)
{
	uint8_t out[16];

	(void)state;
	/* "f" is Zg; Zh..Zv differ only in the 4 unused bits. */
	assert_int_equal(decode_str(out, sizeof(out), "Zg"), 1);
	assert_int_equal(decode_str(out, sizeof(out), "Zh"), -1);
	assert_int_equal(decode_str(out, sizeof(out), "Zv"), -1);
	/* "fo" is Zm8; Zm9 sets one of the 2 unused bits. */
	assert_int_equal(decode_str(out, sizeof(out), "Zm8"), 2);
	assert_int_equal(decode_str(out, sizeof(out), "Zm9"), -1);
	assert_int_equal(decode_str(out, sizeof(out), "Zm9vZm9"), -1);
	assert_int_equal(decode_str(out, sizeof(out), "Zm9vZh"), -1);
}

static void b64url_decode__refuses_output_larger_than_cap(void **state)
{
	uint8_t out[8];

	(void)state;
	memset(out, 0xEE, sizeof(out));
	assert_int_equal(decode_str(out, 5, "Zm9vYmFy"), -1);  /* needs 6 */
	assert_int_equal(out[5], 0xEE);
	assert_int_equal(decode_str(out, 6, "Zm9vYmFy"), 6);
	assert_int_equal(decode_str(out, 1, "Zm8"), -1);       /* needs 2 */
	assert_int_equal(decode_str(out, 2, "Zm8"), 2);
	assert_int_equal(decode_str(out, 0, "Zg"), -1);
	assert_int_equal(billing__b64url_decode(NULL, 0, "", 0), 0);
}

/* ---- hex ---- */

static void hex_encode__writes_lower_case_pairs(void **state)
{
	static const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	char out[2 * sizeof(in) + 1];

	(void)state;
	billing__hex_encode(out, in, sizeof(in));
	assert_string_equal(out, "00017f80abcdefff");
	billing__hex_encode(out, in, 0);
	assert_string_equal(out, "");
}

/* ---- digests ---- */

static void hex_of(char out[65], const uint8_t d[32])
{
	billing__hex_encode(out, d, 32);
}

static void sha256__matches_fips_180_vectors(void **state)
{
	static const char two_blocks[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t d[32];
	char hex[65];

	(void)state;
	assert_int_equal(billing__sha256(d, "abc", 3), 0);
	hex_of(hex, d);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	assert_int_equal(billing__sha256(d, "", 0), 0);
	hex_of(hex, d);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	assert_int_equal(billing__sha256(d, NULL, 0), 0);
	hex_of(hex, d);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	assert_int_equal(billing__sha256(d, two_blocks, sizeof(two_blocks) - 1), 0);
	hex_of(hex, d);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void hmac_sha256__matches_rfc4231_test_case_2(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	uint8_t mac[32];
	char hex[65];

	(void)state;
	assert_int_equal(billing__hmac_sha256(mac, "Jefe", 4, data, sizeof(data) - 1), 0);
	hex_of(hex, mac);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void hmac_sha256__matches_rfc4231_test_case_6_key_longer_than_block(void **state)
{
	static const char data[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key[131], mac[32];
	char hex[65];

	(void)state;
	memset(key, 0xaa, sizeof(key));
	assert_int_equal(billing__hmac_sha256(mac, key, sizeof(key), data, sizeof(data) - 1), 0);
	hex_of(hex, mac);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* The prepared key gives the one-shot HMAC's answer, for keys shorter than,
 * equal to and longer than the block, and messages of every length to 200. */
static void hmac_sha256_keyed__matches_the_one_shot_hmac(void **state)
{
	static const size_t keylens[] = { 0, 4, 32, 64, 65, 131 };
	uint8_t key[131], msg[200], want[32], got[32];
	size_t i, k, n;
	(void)state;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13 + 1);
	for (k = 0; k < sizeof(keylens) / sizeof(keylens[0]); k++) {
		billing__hmac_key *hk = billing__hmac_key_new(key, keylens[k]);
		assert_non_null(hk);
		for (n = 0; n <= sizeof(msg); n++) {
			assert_int_equal(billing__hmac_sha256(want, key, keylens[k], msg, n), 0);
			assert_int_equal(billing__hmac_sha256_keyed(got, hk, msg, n), 0);
			assert_memory_equal(got, want, sizeof(want));
		}
		billing__hmac_key_free(hk);
	}
}

static void hmac_sha256__accepts_an_empty_key_and_message(void **state)
{
	uint8_t mac[32];
	char hex[65];

	(void)state;
	assert_int_equal(billing__hmac_sha256(mac, "", 0, "", 0), 0);
	hex_of(hex, mac);
	assert_string_equal(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");

	assert_int_equal(billing__hmac_sha256(mac, NULL, 0, NULL, 0), 0);
	hex_of(hex, mac);
	assert_string_equal(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* ---- comparison ---- */

static void ct_equal__compares_all_n_bytes(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	fill(a, sizeof(a), 7);
	memcpy(b, a, sizeof(b));
	assert_true(billing__ct_equal(a, b, sizeof(a)));
	b[0] ^= 1;
	assert_false(billing__ct_equal(a, b, sizeof(a)));
	b[0] ^= 1;
	b[31] ^= 0x80;
	assert_false(billing__ct_equal(a, b, sizeof(a)));
	/* Only n bytes take part. */
	assert_true(billing__ct_equal(a, b, 31));
	assert_true(billing__ct_equal(a, b, 0));
	assert_true(billing__ct_equal("abc\0x", "abc\0y", 4));
	assert_false(billing__ct_equal("abc\0x", "abc\0y", 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64_encode__matches_rfc4648_vectors),
		cmocka_unit_test(b64_encode__uses_plus_and_slash),
		cmocka_unit_test(b64_encode__matches_openssl_for_every_length_up_to_64),
		cmocka_unit_test(b64_decode__matches_rfc4648_vectors_and_round_trips),
		cmocka_unit_test(b64_decode__refuses_everything_but_canonical_padded_text),
		cmocka_unit_test(b64url_len__gives_unpadded_length),
		cmocka_unit_test(b64url_encode__matches_rfc4648_vectors_without_padding),
		cmocka_unit_test(b64url_encode__uses_dash_and_underscore),
		cmocka_unit_test(b64url_decode__matches_rfc4648_vectors),
		cmocka_unit_test(b64url__round_trips_every_length_up_to_64),
		cmocka_unit_test(b64url__round_trips_all_byte_values),
		cmocka_unit_test(b64url_decode__rejects_characters_outside_the_alphabet),
		cmocka_unit_test(b64url_decode__rejects_impossible_lengths),
		cmocka_unit_test(b64url_decode__rejects_non_zero_trailing_bits),
		cmocka_unit_test(b64url_decode__refuses_output_larger_than_cap),
		cmocka_unit_test(hex_encode__writes_lower_case_pairs),
		cmocka_unit_test(sha256__matches_fips_180_vectors),
		cmocka_unit_test(hmac_sha256__matches_rfc4231_test_case_2),
		cmocka_unit_test(hmac_sha256__matches_rfc4231_test_case_6_key_longer_than_block),
		cmocka_unit_test(hmac_sha256__accepts_an_empty_key_and_message),
		cmocka_unit_test(hmac_sha256_keyed__matches_the_one_shot_hmac),
		cmocka_unit_test(ct_equal__compares_all_n_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
