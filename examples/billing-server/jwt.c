/*
 * JWT on OpenSSL primitives. Everything about the token is checked strictly
 * (base64url alphabet and padding bits, JSON objects, claim types) because
 * a lenient parser is where signature bypasses hide.
 */
#include "jwt.h"

#include <cJSON.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_exact.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_encode(char *out, const unsigned char *in, size_t len)
{
	size_t i, o = 0;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int b64val(char ch)
{
	if (ch >= 'A' && ch <= 'Z') return ch - 'A';
	if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9') return ch - '0' + 52;
	if (ch == '-') return 62;
	if (ch == '_') return 63;
	return -1;
}

/* out must hold len * 3 / 4 + 1 bytes. Rejects padding, other alphabets
 * and non-zero trailing bits (one encoding per value). */
int b64url_decode(unsigned char *out, size_t *out_len, const char *in, size_t len)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		int v = b64val(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	*out_len = o;
	return 0;
}

static cJSON *decode_json_part(const char *s, size_t len)
{
	unsigned char *buf = malloc(len * 3 / 4 + 2);
	size_t n;
	cJSON *j = NULL;

	if (!buf)
		return NULL;
	/* Strict (json_exact.c): a claim given twice ({"tenantId":"a",
	 * "tenantId":"b"}) is no token, whichever copy a reader would take. */
	if (b64url_decode(buf, &n, s, len) == 0) {
		j = billing__jx_parse((const char *)buf, n, NULL);
		if (j && !cJSON_IsObject(j)) {
			cJSON_Delete(j);
			j = NULL;
		}
	}
	free(buf);
	return j;
}

static int hs256(unsigned char mac[32], const config *c, const char *data, size_t len)
{
	unsigned int mlen = 0;
	if (!c->jwt_secret)
		return -1;
	if (!HMAC(EVP_sha256(), c->jwt_secret, (int)c->jwt_secret_len, (const unsigned char *)data,
		len, mac, &mlen) || mlen != 32)
		return -1;
	return 0;
}

/* ES256 signatures are r||s (32 bytes each); OpenSSL verifies DER. */
static unsigned char *es256_der(const unsigned char *sig, size_t len, size_t *der_len)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	int n;

	if (len != 64)
		return NULL;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return NULL;
	}
	n = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return NULL;
	*der_len = (size_t)n;
	return der;
}

static int pkey_verify(EVP_PKEY *key, jwt_alg alg, const char *data, size_t len,
	const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	size_t der_len = 0;
	int ok = 0;

	if (alg == JWT_ES256) {
		if ((der = es256_der(sig, sig_len, &der_len)) == NULL) {
			EVP_MD_CTX_free(md);
			return 0;
		}
		sig = der;
		sig_len = der_len;
	}
	if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)data, len) == 1)
		ok = 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

static int claim_time(const cJSON *claims, const char *name, int64_t *out, int *present)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
	*present = v != NULL;
	if (!v)
		return 0;
	/* NumericDate: a JSON number; fractions are allowed and truncated. */
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 253402300799.0)
		return -1;
	*out = (int64_t)v->valuedouble;
	return 0;
}

/* The library's tenant id form: "ten_" then 26 characters of lower-case
 * Crockford base32, the first at most '7' (26 characters hold 130 bits;
 * ids carry 128). A token whose tenantId is anything else cannot name a
 * tenant, so it is not a valid principal: 401, never the library's 400. */
int jwt_tenant_id_ok(const char *id)
{
	return jwt_id_ok(id, "ten_");
}

int jwt_id_ok(const char *id, const char *prefix)
{
	static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
	size_t i, n = strlen(prefix);
	if (!id || strncmp(id, prefix, n) != 0)
		return 0;
	id += n;
	for (i = 0; i < 26; i++)
		if (!id[i] || !strchr(alphabet, id[i]))
			return 0;
	return id[0] <= '7' && id[26] == '\0';
}

static int claim_string(char *out, size_t size, const cJSON *claims, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
	size_t n;
	if (!cJSON_IsString(v) || (n = strlen(v->valuestring)) == 0 || n >= size)
		return -1;
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

jwt_result jwt_verify(jwt_claims *out, const config *c, const char *token, int64_t now)
{
	const char *dot1, *dot2, *alg_name;
	size_t tlen, signed_len, sig_len = 0, i;
	unsigned char sig[600];
	cJSON *header = NULL, *claims = NULL;
	jwt_alg alg;
	jwt_result res = JWT_MALFORMED;
	int verified = 0, present;
	int64_t exp = 0, nbf = 0, iat = 0;
	char role[16];

	memset(out, 0, sizeof(*out));
	if (!token || (tlen = strlen(token)) == 0 || tlen > JWT_MAX_LEN)
		return JWT_MALFORMED;
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
		return JWT_MALFORMED;
	signed_len = (size_t)(dot2 - token);
	if ((header = decode_json_part(token, (size_t)(dot1 - token))) == NULL ||
	    (claims = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL)
		goto done;
	if (strlen(dot2 + 1) > 4 * sizeof(sig) / 3 ||
	    b64url_decode(sig, &sig_len, dot2 + 1, strlen(dot2 + 1)) < 0)
		goto done;

	res = JWT_BAD_ALG;
	alg_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(header, "alg"));
	if (!alg_name)
		goto done;
	if (strcmp(alg_name, "HS256") == 0)
		alg = JWT_HS256;
	else if (strcmp(alg_name, "RS256") == 0)
		alg = JWT_RS256;
	else if (strcmp(alg_name, "ES256") == 0)
		alg = JWT_ES256;
	else
		goto done;      /* "none" and everything else */
	/* Extensions we do not implement must not be ignored (RFC 7515 4.1.11). */
	if (cJSON_GetObjectItemCaseSensitive(header, "crit"))
		goto done;

	if (alg == JWT_HS256) {
		unsigned char mac[32];
		if (!c->jwt_secret)
			goto done;
		res = JWT_BAD_SIGNATURE;
		if (hs256(mac, c, token, signed_len) < 0)
			goto done;
		verified = sig_len == sizeof(mac) && CRYPTO_memcmp(mac, sig, sizeof(mac)) == 0;
	} else {
		int have_key = 0;
		for (i = 0; i < c->key_count && !verified; i++) {
			if (c->keys[i].alg != alg)
				continue;
			have_key = 1;
			verified = pkey_verify(c->keys[i].key, alg, token, signed_len, sig, sig_len);
		}
		if (!have_key)
			goto done;
		res = JWT_BAD_SIGNATURE;
	}
	if (!verified)
		goto done;

	res = JWT_BAD_CLAIMS;
	if (claim_time(claims, "exp", &exp, &present) < 0 || !present)
		goto done;
	if (claim_time(claims, "nbf", &nbf, &present) < 0)
		goto done;
	if (present && nbf > now + JWT_LEEWAY_S) {
		res = JWT_NOT_YET_VALID;
		goto done;
	}
	if (claim_time(claims, "iat", &iat, &present) < 0)
		goto done;
	if (present && iat > now + JWT_LEEWAY_S) {
		res = JWT_NOT_YET_VALID;
		goto done;
	}
	if (exp + JWT_LEEWAY_S <= now) {
		res = JWT_EXPIRED;
		goto done;
	}
	if (claim_string(out->sub, sizeof(out->sub), claims, "sub") < 0 ||
	    claim_string(out->tenant_id, sizeof(out->tenant_id), claims, "tenantId") < 0 ||
	    claim_string(role, sizeof(role), claims, "role") < 0 ||
	    !jwt_tenant_id_ok(out->tenant_id))
		goto done;
	if (strcmp(role, "ADMIN") == 0)
		out->role = BILLING_ROLE_ADMIN;
	else if (strcmp(role, "USER") == 0)
		out->role = BILLING_ROLE_USER;
	else
		goto done;  /* PLATFORM is never granted by a token */
	res = JWT_OK;
done:
	cJSON_Delete(header);
	cJSON_Delete(claims);
	if (res != JWT_OK)
		memset(out, 0, sizeof(*out));
	return res;
}

const char *jwt_result_message(jwt_result r)
{
	switch (r) {
	case JWT_OK: return "ok";
	case JWT_MALFORMED: return "the bearer token is malformed";
	case JWT_BAD_ALG: return "the token's algorithm is not accepted by this server";
	case JWT_BAD_SIGNATURE: return "the token's signature is invalid";
	case JWT_EXPIRED: return "the token has expired";
	case JWT_NOT_YET_VALID: return "the token is not valid yet";
	case JWT_BAD_CLAIMS: return "the token lacks exp, sub, a well-formed tenantId or a role of "
		"ADMIN or USER";
	}
	return "invalid token";
}

char *jwt_sign_hs256(const config *c, const char *sub, const char *tenant_id, const char *role,
	int64_t iat, int64_t exp)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	cJSON *claims = cJSON_CreateObject();
	char *payload, *tok = NULL;
	unsigned char mac[32];
	size_t plen, n;

	cJSON_AddStringToObject(claims, "sub", sub);
	cJSON_AddStringToObject(claims, "tenantId", tenant_id);
	cJSON_AddStringToObject(claims, "role", role);
	cJSON_AddNumberToObject(claims, "iat", (double)iat);
	cJSON_AddNumberToObject(claims, "exp", (double)exp);
	payload = cJSON_PrintUnformatted(claims);
	cJSON_Delete(claims);
	if (!payload || !c->jwt_secret)
		goto out;
	plen = strlen(payload);
	tok = malloc((sizeof(header) + plen + 32) * 4 / 3 + 16);
	if (!tok)
		goto out;
	n = b64url_encode(tok, (const unsigned char *)header, sizeof(header) - 1);
	tok[n++] = '.';
	n += b64url_encode(tok + n, (const unsigned char *)payload, plen);
	if (hs256(mac, c, tok, n) < 0) {
		free(tok);
		tok = NULL;
		goto out;
	}
	tok[n++] = '.';
	b64url_encode(tok + n, mac, sizeof(mac));
out:
	cJSON_free(payload);
	return tok;
}
