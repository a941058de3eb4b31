/*
 * PostgreSQL round trips (issue #19 item 2): BEGIN and the tenant's
 * set_config travel with a transaction's first statement, in one pipeline,
 * so a call waits for the server once per statement plus its COMMIT, and
 * a transaction that runs nothing costs nothing. Counted by the backend
 * (billing__pg_round_trips), after a warm-up call has prepared the
 * statements; PostgreSQL only.
 */
#include <string.h>

#include "tb.h"
#include "core/ctx.h"
#include "storage/postgres/pg_storage.h"

static uint64_t trips(tb_world *w)
{
	return billing__pg_round_trips(w->ctx->st);
}

/* A get: its SELECT (with BEGIN and the tenant) and the COMMIT. */
static void round_trips__a_get_is_two(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_principal who = tb_admin(t);
	billing_customer *c = tb_customer(w, t, NULL), *got = NULL;
	uint64_t before;
	(void)state;

	tb_assert_rc(billing_customer_get(&got, w->ctx, &who, billing_customer_id(c)), BILLING_OK);
	billing_customer_free(got);
	before = trips(w);
	tb_assert_rc(billing_customer_get(&got, w->ctx, &who, billing_customer_id(c)), BILLING_OK);
	assert_int_equal(trips(w) - before, 2);
	assert_string_equal(billing_customer_id(got), billing_customer_id(c));
	billing_customer_free(got);
	billing_customer_free(c);
	tb_world_free(w);
}

/* A transaction that runs no statement never reaches the server. */
static void round_trips__an_empty_transaction_is_none(void **state)
{
	tb_world *w = tb_world_new();
	billing_storage *st = w->ctx->st;
	billing_txn *tx = NULL;
	uint64_t before = trips(w);
	(void)state;

	tb_assert_rc(st->begin(st, &tx, "ten_none", BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->commit(tx), BILLING_OK);
	tb_assert_rc(st->begin(st, &tx, NULL, BILLING_TXN_READ), BILLING_OK);
	st->rollback(tx);
	assert_int_equal(trips(w) - before, 0);
	tb_world_free(w);
}

/* The tenant set with the pipelined BEGIN binds the row-level security of
 * the transaction: another tenant's row stays invisible, and a failed
 * first statement fails the call cleanly. */
static void round_trips__the_pipelined_tenant_is_the_one_that_reads(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "Acme"), *b = tb_tenant(w, "Globex");
	billing_principal who_b = tb_admin(b);
	billing_customer *c = tb_customer(w, a, NULL), *got = NULL;
	(void)state;

	tb_assert_rc(billing_customer_get(&got, w->ctx, &who_b, billing_customer_id(c)),
		BILLING_ENOTFOUND);
	assert_null(got);
	billing_customer_free(c);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trips__a_get_is_two),
		cmocka_unit_test(round_trips__an_empty_transaction_is_none),
		cmocka_unit_test(round_trips__the_pipelined_tenant_is_the_one_that_reads),
	};
	if (strcmp(tb_backend(), "postgres") != 0)
		return 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
