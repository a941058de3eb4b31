/*
 * SQLite's query plans for the lists that filter on one customer. With no
 * ANALYZE statistics SQLite prefers an index that gives the ORDER BY
 * (tenant_id, created_at, id) over one that narrows the rows
 * (tenant_id, customer_id), and so read every subscription of the tenant
 * to find one customer's: usage ingestion, which lists each customer's live
 * subscriptions, fell from 5,739 events/s at 500 subscriptions to 96/s at
 * 10,000 (bench_usage_close, session 14). The customer indexes now end with
 * (created_at, id), so one index both narrows and orders. The statements
 * are those the SQL builder makes for a list filtered by customer in
 * creation order (src/storage/sql/builder.c), first page and keyset page.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "billing/sqlite.h"

typedef struct {
	char dir[256];
	char path[300];
	sqlite3 *db;
} plan_db;

static void plan_open(plan_db *d)
{
	const char *tmp = getenv("TMPDIR");
	billing_storage *st = NULL;
	int applied = 0;

	snprintf(d->dir, sizeof(d->dir), "%s/billing-plans-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/test.db", d->dir);
	tb_assert_rc(billing_sqlite_storage_new(&st, d->path, NULL), BILLING_OK);
	tb_assert_rc(st->migrate(st, &applied, 1767225600), BILLING_OK);
	billing_storage_free(st);
	assert_int_equal(sqlite3_open_v2(d->path, &d->db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

static void plan_close(plan_db *d)
{
	sqlite3_close(d->db);
	tb_remove_dir(d->dir);
}

/* The plan of sql as one text, its rows' details joined by "; ". */
static void plan_of(plan_db *d, const char *sql, char *out, size_t size)
{
	char explain[1024];
	sqlite3_stmt *st = NULL;
	size_t len = 0;

	snprintf(explain, sizeof(explain), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(d->db, explain, -1, &st, NULL), SQLITE_OK);
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);
		len += (size_t)snprintf(out + len, size - len, "%s; ", detail ? detail : "");
		assert_true(len < size);
	}
	sqlite3_finalize(st);
}

/* The first page, a keyset page, and the newest first. */
#define SHAPE_FIRST "SELECT * FROM %s WHERE tenant_id = ?1 AND customer_id = ?2" \
	" ORDER BY created_at ASC, id ASC LIMIT ?3"
#define SHAPE_AFTER "SELECT * FROM %s WHERE tenant_id = ?1 AND customer_id = ?2" \
	" AND (created_at, id) > (?3, ?4) ORDER BY created_at ASC, id ASC LIMIT ?5"
#define SHAPE_NEWEST "SELECT * FROM %s WHERE tenant_id = ?1 AND customer_id = ?2" \
	" ORDER BY created_at DESC, id DESC LIMIT ?3"

static void assert_plan(plan_db *d, const char *sql, const char *index)
{
	char plan[1024], want[128];

	snprintf(want, sizeof(want), "USING INDEX %s (tenant_id=? AND customer_id=?", index);
	plan_of(d, sql, plan, sizeof(plan));
	if (!strstr(plan, want) || strstr(plan, "TEMP B-TREE"))
		fail_msg("%s: plan \"%s\", wanted %s without a sort", sql, plan, want);
}

static void assert_uses(plan_db *d, const char *table, const char *index)
{
	char sql[512];

	snprintf(sql, sizeof(sql), SHAPE_FIRST, table);
	assert_plan(d, sql, index);
	snprintf(sql, sizeof(sql), SHAPE_AFTER, table);
	assert_plan(d, sql, index);
	snprintf(sql, sizeof(sql), SHAPE_NEWEST, table);
	assert_plan(d, sql, index);
}

static void a_customers_subscriptions_are_found_by_its_index_in_order(void **state)
{
	plan_db d;
	(void)state;
	plan_open(&d);
	assert_uses(&d, "subscriptions", "subscriptions_customer");
	plan_close(&d);
}

static void a_customers_invoices_are_found_by_its_index_in_order(void **state)
{
	plan_db d;
	(void)state;
	plan_open(&d);
	assert_uses(&d, "invoices", "invoices_customer");
	plan_close(&d);
}

/* A customer's events (GET /v1/events?customerId=, the console's customer
 * page), schema step 40's index: the events table is the largest. */
static void a_customers_events_are_found_by_its_index_in_order(void **state)
{
	plan_db d;
	(void)state;
	plan_open(&d);
	assert_uses(&d, "events", "events_customer");
	plan_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_customers_subscriptions_are_found_by_its_index_in_order),
		cmocka_unit_test(a_customers_invoices_are_found_by_its_index_in_order),
		cmocka_unit_test(a_customers_events_are_found_by_its_index_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
