/*
 * Password hashing for the server's users: argon2id from libargon2
 * (t=3, m=64 MiB, p=1, 16-byte random salt, 32-byte hash), stored in the
 * PHC string encoding, so parameters can be raised later without breaking
 * the hashes already stored.
 */
#ifndef BS_PASSWORDS_H
#define BS_PASSWORDS_H

#include <stddef.h>

#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024

/* A new encoded hash (free()), or NULL. */
char *password_hash(const char *password, size_t len);

/* 1 when password matches encoded, else 0 (also for a malformed hash). */
int password_verify(const char *encoded, const char *password, size_t len);

/* Prepares the dummy hash verified for unknown users, so that an unknown
 * e-mail costs as much time as a wrong password. Returns 0 or -1. */
int password_init_dummy(void);
void password_verify_dummy(const char *password, size_t len);
void password_free_dummy(void);

#endif
