/*
 * PostgreSQL round trips (issue #19 item 2): BEGIN and the tenant's
 * set_config travel with a transaction's first statement, in one pipeline,
 * so a call waits for the server once per statement plus its COMMIT, and
 * a transaction that runs nothing costs nothing. Counted by the backend
 * (billing__pg_round_trips), after a warm-up call has prepared the
 * statements; PostgreSQL only.
 */
#include <stdio.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"
#include "core/ctx.h"
#include "core/resources.h"
#include "storage/postgres/pg_storage.h"
#include "storage/sql/sql.h"

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

/* A create: its INSERT (with BEGIN, the tenant and the tenant's endpoints
 * version), then its event and audit row with the COMMIT. The outbox
 * lookup of the tenant's endpoints is served by the cache. */
static void round_trips__a_create_is_two(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_customer *c;
	uint64_t before;
	(void)state;

	billing_customer_free(tb_customer(w, t, NULL));
	before = trips(w);
	c = tb_customer(w, t, NULL);
	assert_int_equal(trips(w) - before, 2);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM events "
		"WHERE type = 'customer.created'"), 2);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM audit_log"), 2);
	billing_customer_free(c);
	tb_world_free(w);
}

/* A customer made with an idempotency key, through billing_customer_create. */
static int keyed_customer(billing_customer **out, tb_world *w, const char *tenant,
	const char *key, const char *email, int *replayed)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_principal who = tb_admin(tenant);
	p.name = "Ada";
	p.email = email;
	o.idempotency_key = key;
	o.replayed = replayed;
	*out = NULL;
	return billing_customer_create(out, w->ctx, &who, &p, &o);
}

/* A create with a new idempotency key costs what a create without one
 * does: the key's row is written with the resource, its insert going with
 * the COMMIT; a used key is looked up only when the call fails. The
 * semantics stay: a retry replays (the same customer, nothing written,
 * even though the e-mail now exists), another input under the key is 409
 * idempotency_mismatch, and a failure of the call's own keeps its error. */
static void round_trips__a_keyed_create_is_two(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_customer *c = NULL, *again = NULL, *other = NULL;
	int replayed = -1;
	uint64_t before;
	(void)state;

	tb_assert_rc(keyed_customer(&c, w, t, "warm-up", "warm@example.com", NULL), BILLING_OK);
	billing_customer_free(c);
	before = trips(w);
	tb_assert_rc(keyed_customer(&c, w, t, "k-1", "ada@example.com", &replayed), BILLING_OK);
	assert_int_equal(trips(w) - before, 2);
	assert_int_equal(replayed, 0);

	tb_assert_rc(keyed_customer(&again, w, t, "k-1", "ada@example.com", &replayed),
		BILLING_OK);
	assert_int_equal(replayed, 1);
	assert_string_equal(billing_customer_id(again), billing_customer_id(c));
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM customers"), 2);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM events "
		"WHERE type = 'customer.created'"), 2);

	tb_assert_rc(keyed_customer(&other, w, t, "k-1", "bob@example.com", NULL),
		BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "idempotency_mismatch");
	assert_null(other);
	/* A new key and a taken e-mail: the call's own error, nothing kept. */
	tb_assert_rc(keyed_customer(&other, w, t, "k-2", "ada@example.com", NULL),
		BILLING_EEXISTS);
	assert_string_equal(billing_error_last()->field, "email");
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM idempotency_keys"), 2);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM customers"), 2);
	billing_customer_free(again);
	billing_customer_free(c);
	tb_world_free(w);
}

static void audit_row(billing_audit_record *r, const char *tenant, const char *id)
{
	memset(r, 0, sizeof(*r));
	r->tenant_id = tenant;
	r->id = id;
	r->at = 1767225600;
	r->role = BILLING_ROLE_ADMIN;
	r->operation = "customers.create";
	r->resource_id = "cus_x";
}

/* A write whose answer only reports errors goes with the next statement or
 * the COMMIT; when it fails, the commit fails with the error the write
 * would have had (a duplicate: BILLING_EEXISTS), and nothing stays. */
static void round_trips__a_deferred_write_that_fails_fails_the_commit(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_storage *st = w->ctx->st;
	billing_txn *tx = NULL;
	billing_audit_record r;
	uint64_t before;
	(void)state;

	audit_row(&r, t, "aud_one");
	tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->record_insert(tx, &billing__res_audit, &r), BILLING_OK);
	tb_assert_rc(st->commit(tx), BILLING_OK);

	before = trips(w);
	audit_row(&r, t, "aud_two");
	tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->record_insert(tx, &billing__res_audit, &r), BILLING_OK);
	audit_row(&r, t, "aud_one");
	tb_assert_rc(st->record_insert(tx, &billing__res_audit, &r), BILLING_OK);
	assert_int_equal(trips(w) - before, 0);
	tb_assert_rc(st->commit(tx), BILLING_EEXISTS);
	assert_int_equal(trips(w) - before, 2); /* the pipeline, the ROLLBACK */
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM audit_log"), 1);

	/* The connection is clean for the next call. */
	audit_row(&r, t, "aud_three");
	tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->record_insert(tx, &billing__res_audit, &r), BILLING_OK);
	tb_assert_rc(st->commit(tx), BILLING_OK);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM audit_log"), 2);

	/* A rolled-back transaction's queued writes never reach the server. */
	before = trips(w);
	audit_row(&r, t, "aud_four");
	tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->record_insert(tx, &billing__res_audit, &r), BILLING_OK);
	st->rollback(tx);
	assert_int_equal(trips(w) - before, 0);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM audit_log"), 2);
	tb_world_free(w);
}

/* A transaction's invoice numbers after its first: the counter row is the
 * transaction's since its first upsert, so the next number is known and
 * the upsert that moves the row goes with the next statement (a batch of
 * the billing run numbers a tenant's renewals one after the other). The
 * numbers stay gapless, and a rollback gives them all back. */
static void round_trips__numbers_after_the_first_cost_nothing(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_storage *st = w->ctx->st;
	billing_txn *tx = NULL;
	int64_t a = 0, b = 0, c = 0;
	uint64_t before;
	(void)state;

	tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->invoice_number_next(tx, t, &a), BILLING_OK);
	before = trips(w);
	tb_assert_rc(st->invoice_number_next(tx, t, &b), BILLING_OK);
	tb_assert_rc(st->invoice_number_next(tx, t, &c), BILLING_OK);
	assert_int_equal(trips(w) - before, 0);
	tb_assert_rc(st->commit(tx), BILLING_OK);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(c, 3);
	assert_int_equal(tb_raw_count(w->url, "SELECT last_number FROM invoice_numbers"), 3);

	/* Rolled back: the counter is where it was, and the next transaction
	 * asks the server again. */
	tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->invoice_number_next(tx, t, &a), BILLING_OK);
	tb_assert_rc(st->invoice_number_next(tx, t, &b), BILLING_OK);
	st->rollback(tx);
	assert_int_equal(b, 5);
	tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->invoice_number_next(tx, t, &a), BILLING_OK);
	tb_assert_rc(st->commit(tx), BILLING_OK);
	assert_int_equal(a, 4);
	assert_int_equal(tb_raw_count(w->url, "SELECT last_number FROM invoice_numbers"), 4);
	tb_world_free(w);
}

/* A due row's upsert waits for no answer: it goes with the COMMIT. */
static void round_trips__a_due_upsert_goes_with_the_commit(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_storage *st = w->ctx->st;
	billing_txn *tx = NULL;
	billing_due_record d;
	uint64_t before;
	(void)state;

	memset(&d, 0, sizeof(d));
	d.tenant_id = t;
	d.kind = "subscription";
	d.resource_id = "sub_x";
	d.due_at = 1767225600;
	/* Once, so its statement is prepared on the connection. */
	tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->due_set(tx, &d), BILLING_OK);
	tb_assert_rc(st->commit(tx), BILLING_OK);
	d.due_at += 60;
	before = trips(w);
	tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->due_set(tx, &d), BILLING_OK);
	assert_int_equal(trips(w) - before, 0);
	tb_assert_rc(st->commit(tx), BILLING_OK);
	assert_int_equal(trips(w) - before, 1);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM due_work "
		"WHERE resource_id = 'sub_x' AND due_at = 1767225660"), 1);
	tb_world_free(w);
}

/* The tenant's set_config and the endpoints version read are prepared once
 * per connection (parsed and planned once, not per transaction). */
static void round_trips__the_fixed_statements_are_prepared_once(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_storage *st = w->ctx->st;
	billing_txn *tx = NULL;
	sql_stmt *s = NULL;
	int64_t n[2];
	int i;
	(void)state;

	billing_customer_free(tb_customer(w, t, NULL));
	for (i = 0; i < 2; i++) {
		tb_assert_rc(st->begin(st, &tx, t, BILLING_TXN_WRITE), BILLING_OK);
		tb_assert_rc(tx->drv->prepare(tx, "SELECT count(*) FROM pg_prepared_statements "
			"WHERE (statement LIKE '%set_config(''billing.tenant_id''%' OR "
			"statement LIKE '%FROM webhook_endpoint_versions%') AND "
			"statement NOT LIKE '%pg_prepared_statements%'", true, &s), BILLING_OK);
		assert_int_equal(tx->drv->step(s, 0), 1);
		n[i] = tx->drv->col_int(s, 0);
		tx->drv->reset(s);
		tb_assert_rc(st->commit(tx), BILLING_OK);
	}
	/* At least the BEGIN's set_config and the version read (the
	 * set_config of set_tenant too once used), and no more for more
	 * transactions. */
	assert_true(n[0] >= 2);
	assert_int_equal(n[1], n[0]);
	tb_world_free(w);
}

/* A renewal in a batch of the billing run: what it waits for the server
 * for, beyond what the batch reads once (the claim, the plan, the tenant,
 * the waiting lines and items, the customers with discounts, the first
 * number, the exempt customers, the tax settings): at most 3 round trips
 * (below); not an unlocked read of the
 * subscription before its locked read (whether it is incomplete): the
 * locked read tells. Counted as the
 * difference between a batch of 20 and a batch of 10 of the same
 * subscriptions, so the batch's own reads cancel out. */
static void round_trips__a_renewal_in_a_batch_reads_its_subscription_once(void **state)
{
	billing_run_limits lim = BILLING_RUN_LIMITS_INIT;
	billing_run_report rep;
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_plan *plan = tb_plan(w, t, NULL);
	uint64_t before, ten, twenty;
	int i;
	(void)state;

	for (i = 0; i < 30; i++) {
		billing_customer *c = tb_customer(w, t, NULL);
		billing_subscription_free(tbb_subscribe(w, t, billing_customer_id(c),
			billing_plan_id(plan), 1));
		billing_customer_free(c);
	}
	w->now += 40 * 86400;
	lim.max_items = 10;
	before = trips(w);
	tb_assert_rc(billing_run_due(w->ctx, 0, &lim, &rep), BILLING_OK);
	ten = trips(w) - before;
	assert_int_equal(rep.invoiced, 10);
	lim.max_items = 20;
	before = trips(w);
	tb_assert_rc(billing_run_due(w->ctx, 0, &lim, &rep), BILLING_OK);
	twenty = trips(w) - before;
	assert_int_equal(rep.invoiced, 20);
	assert_int_equal(w->batch_fallbacks, 0);
	/* 28 when this bound was set (W, issue #19); 38 when the subscription
	 * was read twice. The discount and tax passes made it 82: the
	 * customer's discounts, its taxExempt, the subscription's
	 * defaultTaxRates and the tenant's tax settings, read per renewal.
	 * Now the batch reads the tenant's discounts and exempt customers
	 * once, remembers that the tenant has no tax settings, and the renewal
	 * hands its subscription to the tax pass: 25. */
	assert_true(twenty - ten <= 10 * 3);
	billing_plan_free(plan);
	tb_world_free(w);
}

/* n events of customer from ts, step seconds apart, ids "<prefix>-<i>". */
static void usage_batch(tb_world *w, const char *tenant, const char *customer,
	const char *prefix, size_t n, int64_t ts, int64_t step)
{
	static billing_usage_event e[1000];
	static char tid[1000][32];
	billing_principal who = tb_admin(tenant);
	billing_usage_result *r = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		billing_usage_event one = BILLING_USAGE_EVENT_INIT;
		snprintf(tid[i], sizeof(tid[i]), "%s-%zu", prefix, i);
		one.transaction_id = tid[i];
		one.event_name = "api.call";
		one.customer_id = customer;
		one.timestamp = ts + (int64_t)i * step;
		e[i] = one;
	}
	tb_assert_rc(billing_usage_ingest(&r, w->ctx, &who, e, n), BILLING_OK);
	assert_int_equal(billing_usage_result_tally(r, BILLING_USAGE_ACCEPTED), n);
	billing_usage_result_free(r);
}

/* Usage ingestion on the partitioned usage_events (schema step 42): a
 * batch of 500 events whose months the storage knows writes its keys and
 * events in one statement, one round trip; the first batch of a month the
 * storage does not know asks for its partition once (one more round
 * trip), for all its new months at once, and never again. */
static void round_trips__a_usage_batch_writes_in_one(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_customer *c = tb_customer(w, t, NULL);
	const char *cus = billing_customer_id(c);
	uint64_t before, steady, first, two_months, big;
	(void)state;

	/* Warm-up: the statements prepared, December 2025 made. */
	usage_batch(w, t, cus, "w", 500, w->now - 20 * 86400, 1);
	before = trips(w);
	usage_batch(w, t, cus, "s", 500, w->now - 19 * 86400, 1);
	steady = trips(w) - before;
	print_message("steady-state usage batch: %llu round trips\n", (unsigned long long)steady);
	/* A month new to the storage (October 2025): one more. */
	before = trips(w);
	usage_batch(w, t, cus, "o", 500, w->now - 80 * 86400, 1);
	first = trips(w) - before;
	assert_int_equal(first, steady + 1);
	before = trips(w);
	usage_batch(w, t, cus, "o2", 500, w->now - 80 * 86400 + 600, 1);
	assert_int_equal(trips(w) - before, steady);
	/* Two new months in one batch (14 August to 24 September 2025, four
	 * hours apart): still one. */
	before = trips(w);
	usage_batch(w, t, cus, "a", 250, w->now - 140 * 86400, 4 * 3600);
	two_months = trips(w) - before;
	assert_int_equal(two_months, steady + 1);
	assert_int_equal(tb_raw_count(w->url, "SELECT COUNT(DISTINCT tableoid) FROM usage_events "
		"WHERE transaction_id LIKE 'a-%'"), 2);
	/* 1,000 events are two statements of 500: one round trip more. */
	before = trips(w);
	usage_batch(w, t, cus, "big", 1000, w->now - 18 * 86400, 1);
	big = trips(w) - before;
	assert_int_equal(big, steady + 1);
	/* The whole steady-state batch: its reads, the INSERT, the COMMIT;
	 * 7 before schema step 42 too. */
	assert_true(steady <= 7);
	assert_int_equal(tb_raw_count(w->url, "SELECT COUNT(*) FROM usage_events"), 3250);
	billing_customer_free(c);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trips__a_get_is_two),
		cmocka_unit_test(round_trips__an_empty_transaction_is_none),
		cmocka_unit_test(round_trips__the_pipelined_tenant_is_the_one_that_reads),
		cmocka_unit_test(round_trips__a_create_is_two),
		cmocka_unit_test(round_trips__a_keyed_create_is_two),
		cmocka_unit_test(round_trips__a_deferred_write_that_fails_fails_the_commit),
		cmocka_unit_test(round_trips__numbers_after_the_first_cost_nothing),
		cmocka_unit_test(round_trips__a_due_upsert_goes_with_the_commit),
		cmocka_unit_test(round_trips__the_fixed_statements_are_prepared_once),
		cmocka_unit_test(round_trips__a_renewal_in_a_batch_reads_its_subscription_once),
		cmocka_unit_test(round_trips__a_usage_batch_writes_in_one),
	};
	if (strcmp(tb_backend(), "postgres") != 0)
		return 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
