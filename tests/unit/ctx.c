/*
 * Opening contexts: options, URLs, and what errors may say; the core's
 * array growth (billing__grow).
 */
#include <stdint.h>
#include <string.h>

#include "tb.h"
#include "core/alloc.h"

static void open_url__unknown_scheme_is_invalid_and_not_echoed(void **state)
{
	billing_ctx *ctx = NULL;
	(void)state;
	tb_assert_rc(billing_ctx_open_url(&ctx, "mysql://root:hunter22@db/x", NULL), BILLING_EINVALID);
	tb_assert_field("url");
	assert_null(ctx);
	assert_null(strstr(billing_error_last()->message, "hunter22"));
}

static void open_url__postgres_password_never_reaches_the_error(void **state)
{
	billing_ctx *ctx = NULL;
	const char *urls[] = {
		"postgres://billing:s3cr3t-pw@/billing?host=/nonexistent-socket-dir&connect_timeout=2",
		"postgres:host=/nonexistent-socket-dir user=billing password=s3cr3t-pw connect_timeout=2",
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		tb_assert_rc(billing_ctx_open_url(&ctx, urls[i], NULL), BILLING_ESTORAGE);
		assert_string_equal(billing_error_last()->reason, "connection_failed");
		assert_null(strstr(billing_error_last()->message, "s3cr3t-pw"));
		assert_null(ctx);
	}
}

static void open__options_are_checked(void **state)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_ctx *ctx = NULL;
	billing_storage *st = NULL;
	(void)state;

	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_EINVALID);   /* no storage */
	tb_assert_field("storage");
	tb_assert_rc(billing_sqlite_storage_new(&st, ":memory:", NULL), BILLING_OK);
	o.storage = st;
	o.version = 0;
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_EINVALID);
	tb_assert_field("version");
	o.version = BILLING_CTX_OPTIONS_VERSION + 1;
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_EINVALID);
	o.version = BILLING_CTX_OPTIONS_VERSION;
	o.max_page_size = 101;
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_EINVALID);
	o.max_page_size = 0;
	/* Failed opens left the storage with the caller; this one takes it. */
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_OK);
	tb_assert_rc(billing_migrate(ctx), BILLING_OK);
	billing_ctx_close(ctx);
}

static int64_t fixed_clock(void *payload)
{
	return *(int64_t *)payload;
}

static void open__the_injected_clock_is_the_context_time(void **state)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	int64_t now = 4102444800; /* 2100-01-01 */
	billing_ctx *ctx = NULL;
	(void)state;
	o.clock = fixed_clock;
	o.clock_payload = &now;
	tb_assert_rc(billing_ctx_open_url(&ctx, "sqlite::memory:", &o), BILLING_OK);
	assert_int_equal(billing_ctx_now(ctx), now);
	billing_ctx_close(ctx);
}

static void version__library_matches_headers(void **state)
{
	(void)state;
	assert_int_equal(billing_version(), BILLING_VERSION_NUMBER);
	assert_string_equal(billing_version_string(), BILLING_VERSION_STRING);
}

static void errors__every_code_has_a_name_and_message(void **state)
{
	int code;
	(void)state;
	for (code = BILLING_OK; code >= BILLING_EOVERFLOW; code--) {
		assert_string_not_equal(billing_error_name(code), "BILLING_UNKNOWN");
		assert_true(strlen(billing_strerror(code)) > 0);
		assert_string_not_equal(billing_error_code_string(code), "unknown");
	}
	assert_string_equal(billing_error_name(BILLING_ENOTFOUND), "BILLING_ENOTFOUND");
	assert_string_equal(billing_error_name(-99), "BILLING_UNKNOWN");
	assert_string_equal(billing_error_name(1), "BILLING_UNKNOWN");
}

static void grow__doubles_from_16_to_hold_what_is_needed(void **state)
{
	int64_t *v = NULL;
	size_t cap = 0, i;
	(void)state;
	tb_assert_rc(billing__grow((void **)&v, &cap, 1, sizeof(*v)), BILLING_OK);
	assert_int_equal(cap, 16);
	for (i = 0; i < 16; i++)
		v[i] = (int64_t)i;
	tb_assert_rc(billing__grow((void **)&v, &cap, 16, sizeof(*v)), BILLING_OK);
	assert_int_equal(cap, 16);                  /* held already */
	tb_assert_rc(billing__grow((void **)&v, &cap, 17, sizeof(*v)), BILLING_OK);
	assert_int_equal(cap, 32);
	tb_assert_rc(billing__grow((void **)&v, &cap, 100, sizeof(*v)), BILLING_OK);
	assert_int_equal(cap, 128);
	for (i = 0; i < 16; i++)                     /* kept through each realloc */
		assert_int_equal(v[i], (int64_t)i);
	billing__free(v);
}

static void grow__refuses_a_size_that_would_wrap_and_keeps_the_array(void **state)
{
	int64_t *v = NULL, *was;
	size_t cap = 0;
	(void)state;
	tb_assert_rc(billing__grow((void **)&v, &cap, 16, sizeof(*v)), BILLING_OK);
	was = v;
	/* cap * size past SIZE_MAX, and a cap that cannot double to need */
	tb_assert_rc(billing__grow((void **)&v, &cap, SIZE_MAX / sizeof(*v) + 1, sizeof(*v)),
		BILLING_ENOMEM);
	tb_assert_rc(billing__grow((void **)&v, &cap, SIZE_MAX, 1), BILLING_ENOMEM);
	assert_ptr_equal(v, was);
	assert_int_equal(cap, 16);
	/* a failed allocation leaves it too */
	billing__alloc_fail_at(1);
	tb_assert_rc(billing__grow((void **)&v, &cap, 17, sizeof(*v)), BILLING_ENOMEM);
	billing__alloc_fail_at(0);
	assert_ptr_equal(v, was);
	assert_int_equal(cap, 16);
	billing__free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_url__unknown_scheme_is_invalid_and_not_echoed),
		cmocka_unit_test(open_url__postgres_password_never_reaches_the_error),
		cmocka_unit_test(open__options_are_checked),
		cmocka_unit_test(open__the_injected_clock_is_the_context_time),
		cmocka_unit_test(version__library_matches_headers),
		cmocka_unit_test(errors__every_code_has_a_name_and_message),
		cmocka_unit_test(grow__doubles_from_16_to_hold_what_is_needed),
		cmocka_unit_test(grow__refuses_a_size_that_would_wrap_and_keeps_the_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
