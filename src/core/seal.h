/*
 * Secrets sealed at rest (a tenant's provider keys, issue #18 item 8):
 * AES-256-GCM with the host's 32-byte key (billing_ctx_options
 * .secrets_key), a random 12-byte nonce per seal, and as associated data
 * the tenant id and what the secret is ("api_key", "webhook_secret"), so a
 * sealed value copied into another tenant's row, or into another column,
 * does not open. Sealed text: "v1." and standard base64 of
 * nonce (12) || ciphertext || tag (16).
 */
#ifndef BILLING_CORE_SEAL_H
#define BILLING_CORE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define BILLING__SEAL_KEY_SIZE 32
#define BILLING__SEAL_MAX_PLAIN 1024

/* Seals plain (at most BILLING__SEAL_MAX_PLAIN bytes) into *out (new,
 * billing__free). BILLING_OK; BILLING_EINVALID (too long); BILLING_ERROR
 * when OpenSSL fails; BILLING_ENOMEM. */
int billing__seal(char **out, const uint8_t key[BILLING__SEAL_KEY_SIZE], const char *tenant_id,
	const char *what, const char *plain);

/* Opens sealed with key, then with old_key when it is not NULL (a key
 * being rotated out). *out: the plain text (new; wipe and free it with
 * billing__seal_free). BILLING_EINVALID reason "secret_unreadable" when
 * neither key opens it (another key, another tenant or column, a changed
 * byte, not sealed text); the message never holds any of it. */
int billing__unseal(char **out, const uint8_t key[BILLING__SEAL_KEY_SIZE],
	const uint8_t *old_key, const char *tenant_id, const char *what, const char *sealed);

/* Wipes and frees a plain text of billing__unseal (NULL is fine). */
void billing__seal_free(char *plain);

#endif
