/*
 * JSON Web Tokens: HS256 issue, and HS256/RS256/ES256 verification with
 * the algorithm pinned by configuration. The token's "alg" only selects
 * among the configured (algorithm, key) pairs; each key serves exactly one
 * algorithm, so an RSA public key is never used as an HMAC secret.
 */
#ifndef BS_JWT_H
#define BS_JWT_H

#include <billing/billing.h>
#include <stdint.h>

#include "config.h"

#define JWT_LEEWAY_S 60
#define JWT_MAX_LEN 8192

typedef struct {
	char sub[128];
	char tenant_id[128];
	billing_role role;   /* ADMIN or USER */
} jwt_claims;

typedef enum {
	JWT_OK = 0,
	JWT_MALFORMED,       /* not three strict base64url parts of JSON objects */
	JWT_BAD_ALG,         /* none, unknown, or not configured on this server */
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,   /* nbf or iat in the future, beyond the leeway */
	JWT_BAD_CLAIMS       /* exp missing, or sub/tenantId/role missing or mistyped, or
	                      * tenantId not of the form of a tenant id */
} jwt_result;

/* Verifies token against the configured keys at time now (real time). */
jwt_result jwt_verify(jwt_claims *out, const config *c, const char *token, int64_t now);
const char *jwt_result_message(jwt_result r);

/* 1 when id has the form of a libbilling tenant id ("ten_" + 26 base32). */
int jwt_tenant_id_ok(const char *id);

/* 1 when id has the form of a libbilling id with prefix ("usr_", ...). */
int jwt_id_ok(const char *id, const char *prefix);

/* A new HS256 token (free()); NULL without a secret or memory. */
char *jwt_sign_hs256(const config *c, const char *sub, const char *tenant_id, const char *role,
	int64_t iat, int64_t exp);

/* Strict base64url without padding; exposed for tests of the encoder. */
size_t b64url_encode(char *out, const unsigned char *in, size_t len);
int b64url_decode(unsigned char *out, size_t *out_len, const char *in, size_t len);

#endif
