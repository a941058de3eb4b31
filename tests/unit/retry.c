/*
 * Writes aborted for a serialization failure or a deadlock run again, a
 * bounded number of times; other failures are returned at once.
 */
#include <string.h>

#include "tb.h"

/* A storage that delegates to a real one, failing customer inserts first. */
struct flaky {
	billing_storage base;
	billing_storage *inner;
	int failures_left;
	const char *reason;
	int inserts;
};

/* Row methods get only the transaction: the test's one flaky storage. */
static struct flaky *current;

static int flaky_insert(billing_txn *tx, const billing_resource *res, const void *rec)
{
	struct flaky *f = current;
	if (strcmp(res->name, "customer") != 0)
		return f->inner->record_insert(tx, res, rec);
	f->inserts++;
	if (f->failures_left > 0) {
		f->failures_left--;
		return billing_storage_error(BILLING_EBUSY, f->reason, "injected");
	}
	return f->inner->record_insert(tx, res, rec);
}

/* Methods that take the storage itself go to the real one. */
static int flaky_begin(billing_storage *st, billing_txn **out, const char *tenant,
	unsigned int kind)
{
	struct flaky *f = (struct flaky *)st;
	return f->inner->begin(f->inner, out, tenant, kind);
}

static int flaky_schema_status(billing_storage *st, int *pending)
{
	struct flaky *f = (struct flaky *)st;
	return f->inner->schema_status(f->inner, pending);
}

static int flaky_migrate(billing_storage *st, int *applied, int64_t now)
{
	struct flaky *f = (struct flaky *)st;
	return f->inner->migrate(f->inner, applied, now);
}

static void flaky_free(billing_storage *st)
{
	struct flaky *f = (struct flaky *)st;
	f->inner->free(f->inner);
}

static billing_ctx *open_flaky(struct flaky *f, tb_world *w)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_ctx *ctx = NULL;
	f->inner = tb_storage_open(w->url, 0);
	memcpy(&f->base, f->inner, sizeof(f->base));
	f->base.record_insert = flaky_insert;
	f->base.free = flaky_free;
	f->base.begin = flaky_begin;
	f->base.schema_status = flaky_schema_status;
	f->base.migrate = flaky_migrate;
	current = f;
	o.storage = &f->base;
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_OK);
	return ctx;
}

static int create(billing_ctx *ctx, const char *tenant, billing_customer **out)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_principal who = tb_admin(tenant);
	p.name = "Ada";
	p.email = "ada@example.com";
	return billing_customer_create(out, ctx, &who, &p, NULL);
}

static void write__retried_after_a_serialization_failure(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	struct flaky f = { .failures_left = 2, .reason = "serialization_failure" };
	billing_ctx *ctx = open_flaky(&f, w);
	billing_customer *c = NULL;
	(void)state;

	tb_assert_rc(create(ctx, a, &c), BILLING_OK);
	assert_int_equal(f.inserts, 3);
	assert_int_equal(tb_raw_count(w->owner_url, "SELECT count(*) FROM customers"), 1);
	billing_customer_free(c);
	billing_ctx_close(ctx);
	tb_world_free(w);
}

static void write__gives_up_after_three_attempts(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	struct flaky f = { .failures_left = 5, .reason = "deadlock" };
	billing_ctx *ctx = open_flaky(&f, w);
	billing_customer *c = NULL;
	(void)state;

	tb_assert_rc(create(ctx, a, &c), BILLING_EBUSY);
	assert_null(c);
	assert_int_equal(f.inserts, 3);
	assert_int_equal(tb_raw_count(w->owner_url, "SELECT count(*) FROM customers"), 0);
	billing_ctx_close(ctx);
	tb_world_free(w);
}

static void write__plain_busy_is_not_retried(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	struct flaky f = { .failures_left = 1, .reason = "busy" };
	billing_ctx *ctx = open_flaky(&f, w);
	billing_customer *c = NULL;
	(void)state;

	tb_assert_rc(create(ctx, a, &c), BILLING_EBUSY);
	assert_int_equal(f.inserts, 1);
	billing_ctx_close(ctx);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(write__retried_after_a_serialization_failure),
		cmocka_unit_test(write__gives_up_after_three_attempts),
		cmocka_unit_test(write__plain_busy_is_not_retried),
	};
	return cmocka_run_group_tests_name(tb_backend(), tests, NULL, NULL);
}
