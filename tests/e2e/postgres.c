/*
 * What only PostgreSQL has: row-level security as a second wall, the
 * runtime role's limits, many processes on one database, the pool under
 * load, and a connection lost in the middle of a transaction.
 * Registered for the postgres backend only.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tb.h"
#include "core/resources.h"

/* A raw libpq connection to the world's database as user. */
static PGconn *raw_connect(tb_world *w, const char *user)
{
	char conninfo[600];
	PGconn *pg;
	tb_pg_conninfo(conninfo, sizeof(conninfo), w->url, user);
	pg = PQconnectdb(conninfo);
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	return pg;
}

static int64_t raw_number(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	int64_t n;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n;
}

static void raw_ok(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	PQclear(r);
}

static void rls__a_query_without_its_tenant_filter_sees_only_its_tenant(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A"), *b = tb_tenant(w, "B");
	billing_customer *c;
	PGconn *pg;
	char sql[256];
	PGresult *r;
	(void)state;

	billing_customer_free(tb_customer(w, a, NULL));
	billing_customer_free(tb_customer(w, a, NULL));
	c = tb_customer(w, b, NULL);

	pg = raw_connect(w, "billing_app");
	/* No tenant set: nothing at all. */
	assert_int_equal(raw_number(pg, "SELECT count(*) FROM customers"), 0);
	/* Tenant A set, and a query that forgot WHERE tenant_id: A's rows only. */
	raw_ok(pg, "BEGIN");
	snprintf(sql, sizeof(sql), "SELECT set_config('billing.tenant_id', '%s', true)", a);
	raw_ok(pg, sql);
	assert_int_equal(raw_number(pg, "SELECT count(*) FROM customers"), 2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM customers WHERE id = '%s'",
		billing_customer_id(c));
	assert_int_equal(raw_number(pg, sql), 0);
	/* Nor can it write a row into B, or move one there. */
	snprintf(sql, sizeof(sql), "INSERT INTO customers (tenant_id, id, name, email, email_key, "
		"metadata, created_at, updated_at, version) VALUES ('%s', 'cus_x', 'X', 'x@x.io', "
		"'x@x.io', '{}', 0, 0, 1)", b);
	r = PQexec(pg, sql);
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
	PQclear(r);
	raw_ok(pg, "ROLLBACK");
	PQfinish(pg);
	billing_customer_free(c);
	tb_world_free(w);
}

/* A statement that must fail with insufficient_privilege (42501). */
static void raw_refused(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
	PQclear(r);
}

/* Rows an UPDATE changed. */
static int64_t raw_updated(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	int64_t n;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

/* Schema step 33: a tenant changes its own renewal draft delay (PUT
 * /v1/invoice-settings) and nothing else of its row, and no other
 * tenant's row; the library's call does it through the same policy. */
static void rls__a_tenant_updates_only_its_own_renewal_draft_delay(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A"), *b = tb_tenant(w, "B");
	billing_principal admin = tb_admin(a);
	int64_t delay = -1;
	PGconn *pg;
	char sql[256];
	(void)state;

	tb_assert_rc(billing_invoice_settings_set(w->ctx, &admin, 3600), BILLING_OK);
	tb_assert_rc(billing_invoice_settings_get(&delay, w->ctx, &admin), BILLING_OK);
	assert_int_equal(delay, 3600);

	pg = raw_connect(w, "billing_app");
	raw_ok(pg, "BEGIN");
	snprintf(sql, sizeof(sql), "SELECT set_config('billing.tenant_id', '%s', true)", a);
	raw_ok(pg, sql);
	snprintf(sql, sizeof(sql), "UPDATE tenants SET renewal_draft_delay = 60, updated_at = 1 "
		"WHERE tenant_id = '%s'", a);
	assert_int_equal(raw_updated(pg, sql), 1);
	/* Another tenant's row is not even seen. */
	snprintf(sql, sizeof(sql), "UPDATE tenants SET renewal_draft_delay = 60 "
		"WHERE tenant_id = '%s'", b);
	assert_int_equal(raw_updated(pg, sql), 0);
	raw_ok(pg, "SAVEPOINT s");
	/* Nor moved into another tenant. */
	snprintf(sql, sizeof(sql), "UPDATE tenants SET tenant_id = '%s' WHERE tenant_id = '%s'",
		b, a);
	raw_refused(pg, sql);
	raw_ok(pg, "ROLLBACK TO SAVEPOINT s");
	/* Any other column of its own row: refused. */
	snprintf(sql, sizeof(sql), "UPDATE tenants SET name = 'Mine' WHERE tenant_id = '%s'", a);
	raw_refused(pg, sql);
	raw_ok(pg, "ROLLBACK TO SAVEPOINT s");
	snprintf(sql, sizeof(sql), "UPDATE tenants SET invoice_prefix = 'X-' "
		"WHERE tenant_id = '%s'", a);
	raw_refused(pg, sql);
	raw_ok(pg, "ROLLBACK TO SAVEPOINT s");
	/* Inserts stay the platform's. */
	raw_refused(pg, "INSERT INTO tenants (tenant_id, name, invoice_prefix, created_at, "
		"updated_at, version) VALUES ('ten_x', 'X', 'INV-', 0, 0, 1)");
	raw_ok(pg, "ROLLBACK");
	PQfinish(pg);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM tenants WHERE tenant_id = '%s' AND "
		"renewal_draft_delay = 3600", a);
	assert_int_equal(tb_raw_count(w->url, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM tenants WHERE tenant_id = '%s' AND "
		"renewal_draft_delay = 0", b);
	assert_int_equal(tb_raw_count(w->url, sql), 1);
	tb_world_free(w);
}

static void runtime_role__owns_nothing_and_cannot_change_the_schema(void **state)
{
	tb_world *w = tb_world_new();
	PGconn *pg = raw_connect(w, "billing_app");
	PGresult *r;
	(void)state;

	assert_int_equal(raw_number(pg, "SELECT count(*) FROM pg_tables "
		"WHERE schemaname = current_schema() AND tableowner = current_user"), 0);
	assert_int_equal(raw_number(pg, "SELECT (rolsuper OR rolbypassrls)::int FROM pg_roles "
		"WHERE rolname = current_user"), 0);
	r = PQexec(pg, "DROP TABLE customers");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	r = PQexec(pg, "DELETE FROM billing_migrations");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	PQfinish(pg);
	tb_world_free(w);
}

/* Two processes create the same e-mail at the same moment. */
static void processes__same_email_at_once_one_wins(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	int round, status;
	(void)state;

	for (round = 0; round < 10; round++) {
		int fds[2], ok = 0, exists = 0, i;
		char email[64];
		pid_t pids[2];
		snprintf(email, sizeof(email), "race%d@example.com", round);
		assert_int_equal(pipe(fds), 0);
		for (i = 0; i < 2; i++) {
			if ((pids[i] = fork()) == 0) {
				billing_ctx *ctx = NULL;
				billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
				billing_principal who = tb_admin(a);
				billing_customer *c = NULL;
				char go;
				int rc;
				close(fds[1]);
				if (billing_ctx_open_url(&ctx, w->url, NULL) < 0)
					_exit(100);
				if (read(fds[0], &go, 1) != 0) /* both start when the pipe closes */
					_exit(101);
				p.name = "Racer";
				p.email = email;
				rc = billing_customer_create(&c, ctx, &who, &p, NULL);
				billing_customer_free(c);
				billing_ctx_close(ctx);
				_exit(rc == BILLING_OK ? 0 : rc == BILLING_EEXISTS ? 1 : 102);
			}
			assert_true(pids[i] > 0);
		}
		close(fds[0]);
		close(fds[1]);
		for (i = 0; i < 2; i++) {
			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			assert_true(WIFEXITED(status));
			if (WEXITSTATUS(status) == 0)
				ok++;
			else if (WEXITSTATUS(status) == 1)
				exists++;
			else
				fail_msg("child exited %d", WEXITSTATUS(status));
		}
		assert_int_equal(ok, 1);
		assert_int_equal(exists, 1);
	}
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM customers"), 10);
	tb_world_free(w);
}

/* Four processes issue invoices at once (each subscription's first
 * invoice): the numbers are exactly 1..N, no gap, no duplicate. */
static void processes__concurrent_finalizations_number_without_gaps(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	billing_plan *plan = tb_plan(w, a, NULL);
	billing_customer *c = tb_customer(w, a, NULL);
	enum { PROCS = 4, EACH = 10 };
	pid_t pids[PROCS];
	int fds[2], i, status;
	char sql[256];
	(void)state;

	assert_int_equal(pipe(fds), 0);
	for (i = 0; i < PROCS; i++) {
		if ((pids[i] = fork()) == 0) {
			billing_ctx *ctx = NULL;
			billing_principal who = tb_admin(a);
			char go;
			int k;
			close(fds[1]);
			if (billing_ctx_open_url(&ctx, w->url, NULL) < 0)
				_exit(100);
			if (read(fds[0], &go, 1) != 0)
				_exit(101);
			for (k = 0; k < EACH; k++) {
				billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
				billing_subscription *s = NULL;
				p.customer_id = billing_customer_id(c);
				p.plan_id = billing_plan_id(plan);
				if (billing_subscription_create(&s, ctx, &who, &p, NULL) != BILLING_OK)
					_exit(102);
				billing_subscription_free(s);
			}
			billing_ctx_close(ctx);
			_exit(0);
		}
		assert_true(pids[i] > 0);
	}
	close(fds[0]);
	close(fds[1]);
	for (i = 0; i < PROCS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	snprintf(sql, sizeof(sql), "SELECT count(DISTINCT number) FROM invoices WHERE tenant_id = '%s'", a);
	assert_int_equal(tb_raw_count(w->url, sql), PROCS * EACH);
	snprintf(sql, sizeof(sql), "SELECT max(CAST(substr(number, 5) AS INTEGER)) FROM invoices "
		"WHERE tenant_id = '%s'", a);
	assert_int_equal(tb_raw_count(w->url, sql), PROCS * EACH);
	snprintf(sql, sizeof(sql), "SELECT min(CAST(substr(number, 5) AS INTEGER)) FROM invoices "
		"WHERE tenant_id = '%s'", a);
	assert_int_equal(tb_raw_count(w->url, sql), 1);
	billing_plan_free(plan);
	billing_customer_free(c);
	tb_world_free(w);
}

struct load {
	tb_world *w;
	const char *tenant;
	int thread;
	int failures;
};

static void *load_thread(void *arg)
{
	struct load *l = arg;
	billing_principal who = tb_admin(l->tenant);
	int i;
	for (i = 0; i < 1000; i++) {
		billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
		billing_customer *c = NULL, *again = NULL;
		char email[64];
		snprintf(email, sizeof(email), "t%d-%d@example.com", l->thread, i);
		p.name = "Load";
		p.email = email;
		if (i % 2 == 0) {
			if (billing_customer_create(&c, l->w->ctx, &who, &p, NULL) != BILLING_OK ||
			    billing_customer_get(&again, l->w->ctx, &who, billing_customer_id(c)) != BILLING_OK)
				l->failures++;
		} else {
			billing_page *page = NULL;
			if (billing_customer_list(&page, l->w->ctx, &who, NULL) != BILLING_OK)
				l->failures++;
			billing_page_free(page);
		}
		billing_customer_free(c);
		billing_customer_free(again);
	}
	return NULL;
}

/* 8 threads x 1000 operations on one context: every call succeeds, and the
 * pool never holds more connections than its size. */
static void pool__eight_threads_thousand_operations_each(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	struct load loads[8];
	pthread_t threads[8];
	PGconn *pg;
	int i;
	(void)state;

	for (i = 0; i < 8; i++) {
		loads[i] = (struct load){ w, a, i, 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, load_thread, &loads[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(loads[i].failures, 0);
	}
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM customers"), 4000);
	pg = raw_connect(w, "billing_admin");
	{
		char sql[200];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity "
			"WHERE usename = 'billing_app' AND application_name = 'bt%ld'", (long)getpid());
		assert_true(raw_number(pg, sql) <= 8);
	}
	PQfinish(pg);
	tb_world_free(w);
}

/* The server ends the connection in the middle of a write: the call fails
 * with a storage error, nothing of it is kept, and the next call works on
 * a fresh connection. */
static void connection_lost__mid_transaction_leaves_nothing(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	billing_storage *st = tb_storage_open(w->url, 0);
	billing_customer_record r;
	billing_txn *tx = NULL;
	PGconn *admin;
	billing_customer *c;
	(void)state;

	memset(&r, 0, sizeof(r));
	r.tenant_id = a;
	r.id = "cus_lost";
	r.name = "Lost";
	r.email = r.email_key = "lost@example.com";
	r.metadata_json = "{}";
	r.tax_ids_json = "[]";
	r.version = 1;
	tb_assert_rc(st->begin(st, &tx, a, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(st->record_insert(tx, &billing__res_customer, &r), BILLING_OK);
	admin = raw_connect(w, "billing_admin");
	{
		/* Only this process's sessions: other suites run beside it. */
		char kill_sql[300], wait_sql[300];
		snprintf(kill_sql, sizeof(kill_sql), "SELECT count(pg_terminate_backend(pid)) FROM "
			"pg_stat_activity WHERE usename = 'billing_app' AND application_name = 'bt%ld' "
			"AND state LIKE 'idle in transaction%%'", (long)getpid());
		snprintf(wait_sql, sizeof(wait_sql), "SELECT count(*) FROM pg_stat_activity "
			"WHERE usename = 'billing_app' AND application_name = 'bt%ld' "
			"AND state LIKE 'idle in transaction%%'", (long)getpid());
		raw_number(admin, kill_sql);
		/* Termination is asynchronous: wait (bounded) until the backend is gone. */
		for (int i = 0; i < 100 && raw_number(admin, wait_sql) > 0; i++)
			usleep(50 * 1000);
	}
	PQfinish(admin);
	assert_int_equal(st->commit(tx), BILLING_ESTORAGE);
	assert_string_equal(billing_error_last()->reason, "connection_lost");
	assert_int_equal(tb_raw_count(w->url,
		"SELECT count(*) FROM customers WHERE id = 'cus_lost'"), 0);
	st->free(st);

	c = tb_customer(w, a, NULL); /* the world's own pool is fine */
	billing_customer_free(c);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rls__a_query_without_its_tenant_filter_sees_only_its_tenant),
		cmocka_unit_test(rls__a_tenant_updates_only_its_own_renewal_draft_delay),
		cmocka_unit_test(runtime_role__owns_nothing_and_cannot_change_the_schema),
		cmocka_unit_test(processes__same_email_at_once_one_wins),
		cmocka_unit_test(processes__concurrent_finalizations_number_without_gaps),
		cmocka_unit_test(pool__eight_threads_thousand_operations_each),
		cmocka_unit_test(connection_lost__mid_transaction_leaves_nothing),
	};
	if (strcmp(tb_backend(), "postgres") != 0) {
		print_error("e2e_postgres runs on BILLING_TEST_BACKEND=postgres only\n");
		return 1;
	}
	return cmocka_run_group_tests_name("postgres", tests, NULL, NULL);
}
