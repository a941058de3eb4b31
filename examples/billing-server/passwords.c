/*
 * argon2id hashing. The parameters are the RFC 9106 second recommended
 * option scaled to a server with a few workers (64 MiB each).
 */
#include "passwords.h"

#include <argon2.h>
#include <openssl/rand.h>
#include <stdlib.h>

#define T_COST 3
#define M_COST (64u * 1024u) /* KiB */
#define PARALLELISM 1
#define SALT_LEN 16
#define HASH_LEN 32

static char *dummy;

char *password_hash(const char *password, size_t len)
{
	unsigned char salt[SALT_LEN];
	size_t enc_len = argon2_encodedlen(T_COST, M_COST, PARALLELISM, SALT_LEN, HASH_LEN,
		Argon2_id);
	char *enc;

	if (RAND_bytes(salt, sizeof(salt)) != 1 || (enc = malloc(enc_len)) == NULL)
		return NULL;
	if (argon2id_hash_encoded(T_COST, M_COST, PARALLELISM, password, len, salt, SALT_LEN,
		HASH_LEN, enc, enc_len) != ARGON2_OK) {
		free(enc);
		return NULL;
	}
	return enc;
}

int password_verify(const char *encoded, const char *password, size_t len)
{
	return argon2id_verify(encoded, password, len) == ARGON2_OK;
}

int password_init_dummy(void)
{
	unsigned char raw[24];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	dummy = password_hash((const char *)raw, sizeof(raw));
	return dummy ? 0 : -1;
}

void password_verify_dummy(const char *password, size_t len)
{
	if (dummy)
		(void)password_verify(dummy, password, len);
}

void password_free_dummy(void)
{
	free(dummy);
	dummy = NULL;
}
