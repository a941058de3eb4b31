/*
 * Unit tests for src/core/seal.c: secrets sealed at rest with AES-256-GCM
 * (a tenant's provider keys). A round trip opens; another key, another
 * tenant or column (the associated data), a changed byte or text that was
 * never sealed do not, and say so without showing anything; every seal
 * uses a new nonce; a key being rotated out still opens what it sealed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "billing/errors.h"
#include "core/alloc.h"
#include "core/seal.h"

static const uint8_t KEY[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t OTHER[32] = { 9 };
#define SECRET "sk_test_tenant_secret_0123456789"

static char *sealed_of(const uint8_t *key, const char *tenant, const char *what,
	const char *plain)
{
	char *s = NULL;

	assert_int_equal(billing__seal(&s, key, tenant, what, plain), BILLING_OK);
	assert_non_null(s);
	if (plain[0])
		assert_null(strstr(s, plain));
	assert_memory_equal(s, "v1.", 3);
	return s;
}

static void assert_unreadable(int rc)
{
	assert_int_equal(rc, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->reason, "secret_unreadable");
	assert_null(strstr(billing_error_last()->message, SECRET));
}

static void round_trip(void **state)
{
	char *s = sealed_of(KEY, "ten_1", "api_key", SECRET), *p = NULL;

	(void)state;
	assert_int_equal(billing__unseal(&p, KEY, NULL, "ten_1", "api_key", s), BILLING_OK);
	assert_string_equal(p, SECRET);
	billing__seal_free(p);
	billing__free(s);
	/* the empty secret too */
	s = sealed_of(KEY, "ten_1", "api_key", "");
	assert_int_equal(billing__unseal(&p, KEY, NULL, "ten_1", "api_key", s), BILLING_OK);
	assert_string_equal(p, "");
	billing__seal_free(p);
	billing__free(s);
}

static void wrong_key_does_not_open(void **state)
{
	char *s = sealed_of(KEY, "ten_1", "api_key", SECRET), *p = (char *)"x";

	(void)state;
	assert_unreadable(billing__unseal(&p, OTHER, NULL, "ten_1", "api_key", s));
	assert_null(p);
	billing__free(s);
}

static void another_tenant_or_column_does_not_open(void **state)
{
	char *s = sealed_of(KEY, "ten_1", "api_key", SECRET), *p = NULL;

	(void)state;
	/* a row copied to another tenant, or into the webhook secret's column */
	assert_unreadable(billing__unseal(&p, KEY, NULL, "ten_2", "api_key", s));
	assert_unreadable(billing__unseal(&p, KEY, NULL, "ten_1", "webhook_secret", s));
	/* the boundary between the two parts is kept */
	assert_unreadable(billing__unseal(&p, KEY, NULL, "ten_1a", "pi_key", s));
	billing__free(s);
}

static void a_changed_byte_does_not_open(void **state)
{
	char *s = sealed_of(KEY, "ten_1", "api_key", SECRET), *p = NULL;
	size_t i, n = strlen(s);

	(void)state;
	for (i = 3; i < n; i++) {
		char was = s[i];
		if (was == '=')
			continue;
		s[i] = was == 'A' ? 'B' : 'A';
		assert_unreadable(billing__unseal(&p, KEY, NULL, "ten_1", "api_key", s));
		s[i] = was;
	}
	s[n - 5] = '\0';  /* cut short */
	assert_unreadable(billing__unseal(&p, KEY, NULL, "ten_1", "api_key", s));
	assert_unreadable(billing__unseal(&p, KEY, NULL, "ten_1", "api_key", SECRET));
	assert_unreadable(billing__unseal(&p, KEY, NULL, "ten_1", "api_key", "v1."));
	assert_unreadable(billing__unseal(&p, KEY, NULL, "ten_1", "api_key", NULL));
	billing__free(s);
}

static void every_seal_has_its_own_nonce(void **state)
{
	char *a = sealed_of(KEY, "ten_1", "api_key", SECRET);
	char *b = sealed_of(KEY, "ten_1", "api_key", SECRET);
	char *c = sealed_of(KEY, "ten_1", "api_key", SECRET);

	(void)state;
	/* the first 12 bytes (16 base64 characters) are the nonce */
	assert_int_not_equal(memcmp(a + 3, b + 3, 16), 0);
	assert_int_not_equal(memcmp(a + 3, c + 3, 16), 0);
	assert_int_not_equal(memcmp(b + 3, c + 3, 16), 0);
	billing__free(a);
	billing__free(b);
	billing__free(c);
}

static void the_old_key_still_opens_while_rotating(void **state)
{
	char *s = sealed_of(OTHER, "ten_1", "api_key", SECRET), *p = NULL;

	(void)state;
	assert_unreadable(billing__unseal(&p, KEY, NULL, "ten_1", "api_key", s));
	assert_int_equal(billing__unseal(&p, KEY, OTHER, "ten_1", "api_key", s), BILLING_OK);
	assert_string_equal(p, SECRET);
	billing__seal_free(p);
	billing__free(s);
}

static void too_long_is_refused(void **state)
{
	char big[BILLING__SEAL_MAX_PLAIN + 2];
	char *s = NULL;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(billing__seal(&s, KEY, "ten_1", "api_key", big), BILLING_EINVALID);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(wrong_key_does_not_open),
		cmocka_unit_test(another_tenant_or_column_does_not_open),
		cmocka_unit_test(a_changed_byte_does_not_open),
		cmocka_unit_test(every_seal_has_its_own_nonce),
		cmocka_unit_test(the_old_key_still_opens_while_rotating),
		cmocka_unit_test(too_long_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
