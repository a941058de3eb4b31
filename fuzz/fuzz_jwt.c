/*
 * The example server's JWT verifier (examples/billing-server/jwt.c,
 * compiled into this target), configured as a server with all three
 * algorithms: an HS256 secret, an RSA key (RS256) and a P-256 key (ES256).
 *
 *   byte 0   mode — 0: the rest is the token;
 *            1: the rest is the claims, under {"alg":"HS256","typ":"JWT"},
 *               signed with the secret (reaches the claim checks);
 *            2: the rest is "<header JSON>\n<claims JSON>", signed HS256;
 *            3: the same, signed ES256 with the P-256 key
 *
 * Properties: an unsigned token (mode 0) is never accepted; a token whose
 * header names another algorithm than the one that signed it is never
 * accepted (no algorithm confusion, "none" included); an accepted token
 * has a tenant id of the right form, a subject, and the role ADMIN or USER.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((int64_t)1700000000)

static config cfg;
static EVP_PKEY *ec_key;
static unsigned char secret[] = "fuzz-secret-fuzz-secret-fuzz-secret!";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *rsa_key;

	(void)argc;
	(void)argv;
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (ec_key == NULL || rsa_key == NULL)
		abort();
	cfg.jwt_secret = secret;
	cfg.jwt_secret_len = sizeof(secret) - 1;
	cfg.keys[0] = (config_public_key){ rsa_key, JWT_RS256 };
	cfg.keys[1] = (config_public_key){ ec_key, JWT_ES256 };
	cfg.key_count = 2;
	return 0;
}

/* base64url(header) "." base64url(claims), with room for a signature. */
static char *signing_input(const char *header, size_t hlen, const char *claims, size_t clen,
	size_t *len)
{
	char *tok = malloc((hlen + clen) * 4 / 3 + 200);
	size_t n;

	if (tok == NULL)
		abort();
	n = b64url_encode(tok, (const unsigned char *)header, hlen);
	tok[n++] = '.';
	n += b64url_encode(tok + n, (const unsigned char *)claims, clen);
	*len = n;
	return tok;
}

static void sign_hs256(char *tok, size_t n)
{
	unsigned char mac[32];
	unsigned int mlen = 0;

	if (!HMAC(EVP_sha256(), secret, (int)sizeof(secret) - 1, (const unsigned char *)tok, n,
		mac, &mlen))
		abort();
	tok[n++] = '.';
	b64url_encode(tok + n, mac, sizeof(mac));
}

/* ES256 as JWS wants it: r || s, 32 bytes each, not DER. */
static void sign_es256(char *tok, size_t n)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128], raw[64];
	const unsigned char *p = der;
	size_t der_len = sizeof(der);
	ECDSA_SIG *sig;

	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ec_key) != 1 ||
	    EVP_DigestSign(md, der, &der_len, (const unsigned char *)tok, n) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		abort();
	if (BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) != 32)
		abort();
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	tok[n++] = '.';
	b64url_encode(tok + n, raw, sizeof(raw));
}

/* 1 when the header is a JSON object whose "alg" is alg. */
static int header_alg_is(const char *header, size_t len, const char *alg)
{
	cJSON *h = cJSON_ParseWithLength(header, len);
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "alg"));
	int same = v != NULL && strcmp(v, alg) == 0;

	cJSON_Delete(h);
	return same;
}

static void check_claims(const jwt_claims *c)
{
	if (!jwt_tenant_id_ok(c->tenant_id) || c->sub[0] == '\0' ||
	    (c->role != BILLING_ROLE_ADMIN && c->role != BILLING_ROLE_USER)) {
		fprintf(stderr, "an accepted token has bad claims\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hs_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const char *rest, *header, *claims, *nl;
	size_t rest_len, hlen, clen, n;
	jwt_claims out;
	jwt_result r;
	char *tok;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	rest = (const char *)data + 1;
	rest_len = size - 1;

	if (mode == 0) {
		tok = strndup(rest, rest_len);
		if (tok == NULL)
			abort();
		r = jwt_verify(&out, &cfg, tok, NOW);
		if (getenv("FUZZ_VERBOSE"))
			fprintf(stderr, "mode 0 -> %s\n", jwt_result_message(r));
		if (r == JWT_OK) {
			fprintf(stderr, "an unsigned token was accepted: %s\n", tok);
			abort();
		}
		free(tok);
		return 0;
	}

	if (mode == 1) {
		header = hs_header;
		hlen = sizeof(hs_header) - 1;
		claims = rest;
		clen = rest_len;
	} else {
		nl = memchr(rest, '\n', rest_len);
		if (nl == NULL)
			return 0;
		header = rest;
		hlen = (size_t)(nl - rest);
		claims = nl + 1;
		clen = rest_len - hlen - 1;
	}
	tok = signing_input(header, hlen, claims, clen, &n);
	if (mode == 3)
		sign_es256(tok, n);
	else
		sign_hs256(tok, n);

	r = jwt_verify(&out, &cfg, tok, NOW);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "mode %d -> %s\n", mode, jwt_result_message(r));
	if (r == JWT_OK) {
		check_claims(&out);
		if (mode >= 2 && !header_alg_is(header, hlen, mode == 3 ? "ES256" : "HS256")) {
			fprintf(stderr, "a token signed %s was accepted under another algorithm\n",
				mode == 3 ? "ES256" : "HS256");
			abort();
		}
	}
	free(tok);
	return 0;
}
