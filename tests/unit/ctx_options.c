/*
 * Context options beyond ctx.c's first checks: every bad option is named
 * by its field and leaves the storage with the caller (a later open with
 * the same storage succeeds and owns it); the page sizes the options set
 * are the lists' default and bound; billing_ctx_open_url refuses options
 * it cannot honour and reads sqlite:PATH and sqlite://PATH as the same
 * file. SQLite only: nothing here depends on the backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb.h"

static int64_t clock_2026(void *payload)
{
	(void)payload;
	return INT64_C(1767225600);
}

static void refused(billing_ctx_options *o, const char *field)
{
	billing_ctx *ctx = NULL;
	tb_assert_rc(billing_ctx_open(&ctx, o), BILLING_EINVALID);
	tb_assert_field(field);
	assert_null(ctx);
}

static void open__each_bad_option_is_named_and_the_storage_stays_the_callers(void **state)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_storage *st = NULL;
	billing_ctx *ctx = NULL;
	unsigned int v;
	(void)state;

	tb_assert_rc(billing_sqlite_storage_new(&st, ":memory:", NULL), BILLING_OK);
	o.storage = st;

	/* a storage vtable of a version this library does not know */
	v = st->version;
	st->version = 0;
	refused(&o, "storage");
	st->version = BILLING_STORAGE_VERSION + 1;
	refused(&o, "storage");
	/* one before the narrow vtable of version 8: its layout differs */
	st->version = 7;
	refused(&o, "storage");
	assert_non_null(strstr(billing_error_last()->message, "version 7 is older than 8"));
	st->version = v;

	o.default_page_size = 101;
	refused(&o, "maxPageSize");
	o.default_page_size = 30;
	o.max_page_size = 10;              /* default above max */
	refused(&o, "maxPageSize");
	o.default_page_size = o.max_page_size = 0;

	o.log_level = (billing_log_level)(BILLING_LOG_DEBUG + 1);
	refused(&o, "logLevel");
	o.log_level = 0;

	o.webhook_timeout_ms = -1;
	refused(&o, "webhookTimeoutMs");
	o.webhook_timeout_ms = 0;
	o.event_retention = -1;
	refused(&o, "eventRetention");
	o.event_retention = 0;

	/* Nothing above took the storage: this open does (a storage freed by a
	 * failed open would be used after free here). */
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_OK);
	tb_assert_rc(billing_migrate(ctx), BILLING_OK);
	billing_ctx_close(ctx);
}

static void open__page_sizes_are_the_lists_default_and_bound(void **state)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_principal platform = tb_platform(), admin;
	billing_tenant *t = NULL;
	billing_page *page = NULL;
	billing_ctx *ctx = NULL;
	billing_storage *st = NULL;
	int i;
	(void)state;

	tb_assert_rc(billing_sqlite_storage_new(&st, ":memory:", NULL), BILLING_OK);
	o.storage = st;
	o.clock = clock_2026;
	o.max_page_size = 5;               /* default: min(20, max) */
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_OK);
	tb_assert_rc(billing_migrate(ctx), BILLING_OK);
	tp.name = "Acme";
	tb_assert_rc(billing_tenant_create(&t, ctx, &platform, &tp, NULL), BILLING_OK);
	admin = tb_admin(billing_tenant_id(t));
	for (i = 0; i < 7; i++) {
		billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
		billing_customer *c = NULL;
		char email[64];
		snprintf(email, sizeof(email), "c%d@example.com", i);
		cp.name = "Customer";
		cp.email = email;
		tb_assert_rc(billing_customer_create(&c, ctx, &admin, &cp, NULL), BILLING_OK);
		billing_customer_free(c);
	}
	tb_assert_rc(billing_customer_list(&page, ctx, &admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 5);
	assert_true(billing_page_has_more(page));
	billing_page_free(page);
	page = NULL;
	lp.limit = 6;
	tb_assert_rc(billing_customer_list(&page, ctx, &admin, &lp), BILLING_EINVALID);
	tb_assert_field("limit");
	assert_null(page);
	lp.limit = 5;
	tb_assert_rc(billing_customer_list(&page, ctx, &admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 5);
	billing_page_free(page);
	billing_tenant_free(t);
	billing_ctx_close(ctx);
}

static void open_url__refuses_options_it_cannot_honour(void **state)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_storage *st = NULL;
	billing_ctx *ctx = NULL;
	(void)state;

	o.version = 0;
	tb_assert_rc(billing_ctx_open_url(&ctx, "sqlite::memory:", &o), BILLING_EINVALID);
	tb_assert_field("version");
	o.version = BILLING_CTX_OPTIONS_VERSION + 1;
	tb_assert_rc(billing_ctx_open_url(&ctx, "sqlite::memory:", &o), BILLING_EINVALID);
	tb_assert_field("version");
	o.version = BILLING_CTX_OPTIONS_VERSION;
	/* it makes its own storage */
	tb_assert_rc(billing_sqlite_storage_new(&st, ":memory:", NULL), BILLING_OK);
	o.storage = st;
	tb_assert_rc(billing_ctx_open_url(&ctx, "sqlite::memory:", &o), BILLING_EINVALID);
	tb_assert_field("storage");
	assert_null(ctx);
	billing_storage_free(st);      /* still ours */
	/* a bad option of the context itself, through the URL */
	o.storage = NULL;
	o.log_level = (billing_log_level)99;
	tb_assert_rc(billing_ctx_open_url(&ctx, "sqlite::memory:", &o), BILLING_EINVALID);
	tb_assert_field("logLevel");
	assert_null(ctx);
}

static void open_url__sqlite_colon_and_double_slash_name_the_same_file(void **state)
{
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_principal platform = tb_platform();
	billing_tenant *t = NULL, *again = NULL;
	billing_ctx *ctx = NULL;
	char dir[] = "/tmp/billing-ctx-url-XXXXXX", url[256], path[200];
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db.sqlite", dir);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	tb_assert_rc(billing_ctx_open_url(&ctx, url, NULL), BILLING_OK);
	tb_assert_rc(billing_migrate(ctx), BILLING_OK);
	tp.name = "Acme";
	tb_assert_rc(billing_tenant_create(&t, ctx, &platform, &tp, NULL), BILLING_OK);
	billing_ctx_close(ctx);
	ctx = NULL;

	snprintf(url, sizeof(url), "sqlite:%s", path);
	tb_assert_rc(billing_ctx_open_url(&ctx, url, NULL), BILLING_OK);
	tb_assert_rc(billing_tenant_get(&again, ctx, &platform, billing_tenant_id(t)), BILLING_OK);
	assert_string_equal(billing_tenant_name(again), "Acme");
	billing_tenant_free(again);
	billing_tenant_free(t);
	billing_ctx_close(ctx);
	unlink(path);
	{
		char side[256];
		snprintf(side, sizeof(side), "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", path);
		unlink(side);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open__each_bad_option_is_named_and_the_storage_stays_the_callers),
		cmocka_unit_test(open__page_sizes_are_the_lists_default_and_bound),
		cmocka_unit_test(open_url__refuses_options_it_cannot_honour),
		cmocka_unit_test(open_url__sqlite_colon_and_double_slash_name_the_same_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
