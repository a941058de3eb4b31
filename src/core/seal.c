/*
 * AES-256-GCM sealing of secrets at rest (seal.h), with OpenSSL's EVP
 * interface: the library links libcrypto already (docs/dependencies.md),
 * and an authenticated cipher from it is what keeps home-made crypto out.
 */
#include "core/seal.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "billing/errors.h"
#include "core/alloc.h"
#include "core/encode.h"
#include "core/errors.h"

#define NONCE 12
#define TAG 16
#define PREFIX "v1."

/* The associated data: tenant id, a NUL, what the secret is. */
static int add_aad(EVP_CIPHER_CTX *c, const char *tenant_id, const char *what)
{
	int n;

	return EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)tenant_id,
		(int)strlen(tenant_id) + 1) == 1 &&
		EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)what, (int)strlen(what)) == 1;
}

int billing__seal(char **out, const uint8_t key[BILLING__SEAL_KEY_SIZE], const char *tenant_id,
	const char *what, const char *plain)
{
	size_t len = strlen(plain), total = NONCE + len + TAG;
	unsigned char *buf;
	EVP_CIPHER_CTX *c;
	int n = 0, fin = 0, ok;

	*out = NULL;
	if (len > BILLING__SEAL_MAX_PLAIN)
		return billing__error_set(BILLING_EINVALID, "too_long",
			"a secret is at most %d bytes", BILLING__SEAL_MAX_PLAIN);
	if ((buf = billing__malloc(total)) == NULL ||
	    (*out = billing__malloc(sizeof(PREFIX) + 4 * ((total + 2) / 3))) == NULL) {
		billing__free(buf);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	c = EVP_CIPHER_CTX_new();
	ok = c && RAND_bytes(buf, NONCE) == 1 &&
		EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
		EVP_EncryptInit_ex(c, NULL, NULL, key, buf) == 1 &&
		add_aad(c, tenant_id, what) &&
		EVP_EncryptUpdate(c, buf + NONCE, &n, (const unsigned char *)plain, (int)len) == 1 &&
		EVP_EncryptFinal_ex(c, buf + NONCE + n, &fin) == 1 &&
		(size_t)n + (size_t)fin == len &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, buf + NONCE + len) == 1;
	EVP_CIPHER_CTX_free(c);
	if (ok) {
		memcpy(*out, PREFIX, sizeof(PREFIX) - 1);
		billing__b64_encode(*out + sizeof(PREFIX) - 1, buf, total);
	}
	OPENSSL_cleanse(buf, total);
	billing__free(buf);
	if (!ok) {
		billing__free(*out);
		*out = NULL;
		return billing__error_set(BILLING_ERROR, "crypto", "a secret could not be sealed");
	}
	return BILLING_OK;
}

/* One try with one key: 1 opened, 0 not. */
static int open_with(unsigned char *plain, const uint8_t *key, const unsigned char *buf,
	size_t len, const char *tenant_id, const char *what)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0, ok;

	ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
		EVP_DecryptInit_ex(c, NULL, NULL, key, buf) == 1 &&
		add_aad(c, tenant_id, what) &&
		EVP_DecryptUpdate(c, plain, &n, buf + NONCE, (int)(len - NONCE - TAG)) == 1 &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG,
			(void *)(buf + len - TAG)) == 1 &&
		EVP_DecryptFinal_ex(c, plain + n, &fin) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

int billing__unseal(char **out, const uint8_t key[BILLING__SEAL_KEY_SIZE],
	const uint8_t *old_key, const char *tenant_id, const char *what, const char *sealed)
{
	size_t slen = sealed ? strlen(sealed) : 0, cap;
	unsigned char *buf = NULL, *plain = NULL;
	int len = -1, ok = 0;

	*out = NULL;
	if (slen > sizeof(PREFIX) - 1 && strncmp(sealed, PREFIX, sizeof(PREFIX) - 1) == 0 &&
	    (slen - (sizeof(PREFIX) - 1)) % 4 == 0) {
		cap = (slen - (sizeof(PREFIX) - 1)) / 4 * 3;
		if ((buf = billing__malloc(cap + 1)) == NULL ||
		    (plain = billing__malloc(cap + 1)) == NULL) {
			billing__free(buf);
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		}
		len = EVP_DecodeBlock(buf, (const unsigned char *)sealed + sizeof(PREFIX) - 1,
			(int)(slen - (sizeof(PREFIX) - 1)));
		/* EVP_DecodeBlock counts the padding as zero bytes */
		if (len > 0 && sealed[slen - 1] == '=')
			len -= sealed[slen - 2] == '=' ? 2 : 1;
	}
	if (len >= NONCE + TAG) {
		ok = (key && open_with(plain, key, buf, (size_t)len, tenant_id, what)) ||
			(old_key && open_with(plain, old_key, buf, (size_t)len, tenant_id, what));
	}
	billing__free(buf);
	if (!ok) {
		if (plain)
			OPENSSL_cleanse(plain, cap);
		billing__free(plain);
		return billing__error_set(BILLING_EINVALID, "secret_unreadable",
			"a stored %s cannot be opened with the configured secrets key", what);
	}
	plain[len - NONCE - TAG] = '\0';
	*out = (char *)plain;
	return BILLING_OK;
}

void billing__seal_free(char *plain)
{
	if (plain) {
		OPENSSL_cleanse(plain, strlen(plain));
		billing__free(plain);
	}
}
