/*
 * The backends a suite can run on. BILLING_TEST_BACKEND picks one
 * ("sqlite" by default, or "postgres"); a backend that cannot be reached
 * fails the suite (it never skips).
 *
 * PostgreSQL: scripts/with-postgres.sh starts a throwaway server and sets
 * BILLING_TEST_PG_HOST to its socket directory. Each test database is a
 * schema of its own in the database "billing", owned by billing_owner (who
 * migrates); worlds then run as billing_app, a member of billing_runtime,
 * which owns nothing: the two-role setup of docs/postgres.md.
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

const char *tb_backend(void)
{
	const char *b = getenv("BILLING_TEST_BACKEND");
	return b && *b ? b : "sqlite";
}

static bool is_postgres(void)
{
	return strcmp(tb_backend(), "postgres") == 0;
}

static const char *pg_host(void)
{
	const char *host = getenv("BILLING_TEST_PG_HOST");
	if (!host || !*host) {
		print_error("BILLING_TEST_BACKEND=postgres needs a server: run the tests through "
			"scripts/with-postgres.sh (it sets BILLING_TEST_PG_HOST)\n");
		fail();
	}
	return host;
}

/* A libpq connection as user, on the schema named in url (if any). */
static PGconn *pg_connect(const char *url, const char *user)
{
	const char *opt = url ? strstr(url, "options=") : NULL;
	char conninfo[512];
	PGconn *pg;

	snprintf(conninfo, sizeof(conninfo), "host=%s dbname=billing user=%s %s", pg_host(), user,
		opt ? opt : "");
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		print_error("cannot reach the test PostgreSQL: %s\n", PQerrorMessage(pg));
		PQfinish(pg);
		fail();
	}
	return pg;
}

static void pg_exec(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		print_error("raw sql failed: %s\n", PQerrorMessage(pg));
		PQclear(r);
		PQfinish(pg);
		fail();
	}
	PQclear(r);
}

void tb_database_new(char *url, size_t size, char *dir, size_t dirsize)
{
	const char *tmp = getenv("TMPDIR");
	const char *backend = tb_backend();

	if (strcmp(backend, "sqlite") == 0) {
		snprintf(dir, dirsize, "%s/billing-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		assert_non_null(mkdtemp(dir));
		snprintf(url, size, "sqlite:%s/test.db", dir);
		return;
	}
	if (is_postgres()) {
		unsigned char rnd[8];
		char schema[40], sql[128];
		PGconn *pg;
		FILE *f = fopen("/dev/urandom", "rb");
		assert_non_null(f);
		assert_int_equal(fread(rnd, 1, sizeof(rnd), f), sizeof(rnd));
		fclose(f);
		snprintf(schema, sizeof(schema), "t_%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
			rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		pg = pg_connect(NULL, "billing_owner");
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
		pg_exec(pg, sql);
		PQfinish(pg);
		dir[0] = '\0';
		/* application_name: this test process's sessions, so checks on
		 * pg_stat_activity see only their own when suites run in parallel. */
		snprintf(url, size, "postgres:host=%s dbname=billing user=billing_owner "
			"application_name=bt%ld options='-c search_path=%s'", pg_host(),
			(long)getpid(), schema);
		return;
	}
	print_error("unknown BILLING_TEST_BACKEND \"%s\"\n", backend);
	fail();
}

void tb_runtime_url(char *out, size_t size, const char *owner_url)
{
	const char *user = strstr(owner_url, "user=billing_owner");
	if (!is_postgres() || !user) {
		snprintf(out, size, "%s", owner_url);
		return;
	}
	snprintf(out, size, "%.*suser=billing_app%s", (int)(user - owner_url), owner_url,
		user + strlen("user=billing_owner"));
}

void tb_database_drop(const char *url)
{
	const char *path = strstr(url, "search_path=");
	if (is_postgres() && path) {
		char schema[64], sql[128];
		PGconn *pg;
		snprintf(schema, sizeof(schema), "%.*s", (int)strcspn(path + 12, "' "), path + 12);
		pg = pg_connect(NULL, "billing_owner");
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
		pg_exec(pg, sql);
		PQfinish(pg);
	}
}

billing_storage *tb_storage_open(const char *url, unsigned int busy_ms)
{
	billing_storage *st = NULL;

	if (strcmp(tb_backend(), "sqlite") == 0) {
		billing_sqlite_options o = BILLING_SQLITE_OPTIONS_INIT;
		o.busy_timeout_ms = busy_ms;
		assert_int_equal(strncmp(url, "sqlite:", 7), 0);
		tb_assert_rc(billing_sqlite_storage_new(&st, url + 7, &o), BILLING_OK);
		return st;
	}
	if (is_postgres()) {
		billing_postgres_options o = BILLING_POSTGRES_OPTIONS_INIT;
		o.statement_timeout_ms = busy_ms; /* a lock wait ends as a timeout */
		assert_int_equal(strncmp(url, "postgres:", 9), 0);
		tb_assert_rc(billing_postgres_storage_new(&st, url + 9, &o), BILLING_OK);
		return st;
	}
	fail_msg("no storage factory for backend \"%s\"", tb_backend());
	return NULL;
}

/* Behind the library's back: on PostgreSQL as the superuser, so row-level
 * security does not hide rows from the test's own checks. */
void tb_raw_exec(const char *url, const char *sql)
{
	if (strcmp(tb_backend(), "sqlite") == 0) {
		sqlite3 *db = NULL;
		char *err = NULL;
		assert_int_equal(sqlite3_open(url + 7, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
			fail_msg("raw sql failed: %s", err ? err : "?");
		sqlite3_close(db);
		return;
	}
	if (is_postgres()) {
		PGconn *pg = pg_connect(url, "billing_admin");
		pg_exec(pg, sql);
		PQfinish(pg);
		return;
	}
	fail_msg("no raw access for backend \"%s\"", tb_backend());
}

int64_t tb_raw_count(const char *url, const char *sql)
{
	int64_t n = -1;
	if (strcmp(tb_backend(), "sqlite") == 0) {
		sqlite3 *db = NULL;
		sqlite3_stmt *s = NULL;
		assert_int_equal(sqlite3_open_v2(url + 7, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		sqlite3_close(db);
		return n;
	}
	if (is_postgres()) {
		PGconn *pg = pg_connect(url, "billing_admin");
		PGresult *r = PQexec(pg, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
			print_error("raw count failed: %s\n", PQerrorMessage(pg));
			PQclear(r);
			PQfinish(pg);
			fail();
		}
		n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		PQfinish(pg);
		return n;
	}
	fail_msg("no raw access for backend \"%s\"", tb_backend());
	return n;
}
