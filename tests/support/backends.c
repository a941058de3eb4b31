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
 *
 * Template databases. A world needs a migrated database, and running every
 * migration for each of a suite's hundreds of tests was most of the time
 * some suites took. tb_database_new_migrated() migrates once and copies:
 *   SQLite      the first call of a test process migrates a file in a
 *               scratch directory, closes it (SQLite then checkpoints its
 *               WAL into it and removes the WAL) and keeps its bytes; each
 *               database is those bytes written to a new file.
 *   PostgreSQL  a migrated database per server and schema version,
 *               billing_tpl_<hash of the migrations' checksums>, made by the
 *               first test process that needs it (under an advisory lock;
 *               built under another name, closed to connections, then
 *               renamed, so no process copies a half-made one) and left
 *               for the next processes; each world is a database of its own,
 *               CREATE DATABASE ... TEMPLATE it STRATEGY FILE_COPY, owned
 *               by billing_owner.
 * The template is migrated through the storage vtable, as billing_migrate()
 * would do it, with the worlds' clock; the cursor key is not in it (each
 * database makes its own at its first open). Tests about migrations
 * themselves use tb_database_new() and migrate for real.
 * BILLING_TEST_TEMPLATE=0 migrates every database instead of copying.
 */
#include <dirent.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "storage/migrations.h"

/* The time migrations are recorded at: the worlds' clock at start. */
#define TB_MIGRATED_AT 1767225600

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

void tb_pg_conninfo(char *out, size_t size, const char *url, const char *user)
{
	const char *opt = url ? strstr(url, "options=") : NULL;
	const char *db = url ? strstr(url, "dbname=") : NULL;
	int dblen = 7;

	if (db) {
		db += 7;
		dblen = (int)strcspn(db, " '");
	} else {
		db = "billing";
	}
	snprintf(out, size, "host=%s dbname=%.*s user=%s %s", pg_host(), dblen, db, user,
		opt ? opt : "");
}

/* A libpq connection as user, on the database and schema of url (if any). */
static PGconn *pg_connect(const char *url, const char *user)
{
	char conninfo[600];
	PGconn *pg;

	tb_pg_conninfo(conninfo, sizeof(conninfo), url, user);
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

/* "t_" and 16 random hex digits: a schema or database name no other test
 * process picks. */
static void random_name(char *out, size_t size)
{
	unsigned char rnd[8];
	FILE *f = fopen("/dev/urandom", "rb");
	assert_non_null(f);
	assert_int_equal(fread(rnd, 1, sizeof(rnd), f), sizeof(rnd));
	fclose(f);
	snprintf(out, size, "t_%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
		rnd[4], rnd[5], rnd[6], rnd[7]);
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
		char schema[40], sql[128];
		PGconn *pg;
		random_name(schema, sizeof(schema));
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

static bool template_wanted(void)
{
	const char *t = getenv("BILLING_TEST_TEMPLATE");
	return !t || strcmp(t, "0") != 0;
}

/* Migrates the database behind url through the storage vtable; 0 or the
 * library's error code (nothing asserted: callers may hold a lock). */
static int migrate_url(const char *url)
{
	billing_storage *st = NULL;
	int rc, applied = 0;

	if (strcmp(tb_backend(), "sqlite") == 0)
		rc = billing_sqlite_storage_new(&st, url + 7, NULL);
	else
		rc = billing_postgres_storage_new(&st, url + 9, NULL);
	if (rc == BILLING_OK)
		rc = st->migrate(st, &applied, TB_MIGRATED_AT);
	if (st)
		st->free(st); /* closes every connection to the database */
	return rc;
}

static pthread_mutex_t template_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *sqlite_template;  /* the migrated file's bytes */
static size_t sqlite_template_len;
static char pg_template[64];             /* the template database, once known */

/* Makes sqlite_template; 0, or -1 with err set. */
static int sqlite_template_make(char *err, size_t errsize)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[300], url[310], wal[310];
	unsigned char *bytes = NULL;
	long len = -1;
	FILE *f;
	int rc;

	snprintf(dir, sizeof(dir), "%s/billing-template-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		snprintf(err, errsize, "cannot make %s", dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/template.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if ((rc = migrate_url(url)) < 0) {
		snprintf(err, errsize, "migrating the template: %s", billing_error_last()->message);
	} else if (access(wal, F_OK) == 0) {
		/* The last connection's close should have folded the WAL in. */
		snprintf(err, errsize, "the template's WAL outlived its connections");
		rc = -1;
	} else if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errsize, "cannot read %s", path);
		rc = -1;
	} else {
		if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
		    (bytes = malloc((size_t)len)) != NULL &&
		    fread(bytes, 1, (size_t)len, f) != (size_t)len) {
			free(bytes);
			bytes = NULL;
		}
		fclose(f);
		if (!bytes) {
			snprintf(err, errsize, "cannot read %s", path);
			rc = -1;
		}
	}
	unlink(path);
	rmdir(dir);
	if (rc < 0)
		return -1;
	sqlite_template = bytes;
	sqlite_template_len = (size_t)len;
	return 0;
}

/* Drops the server's notices ("database ... does not exist, skipping"). */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* One statement on pg; 0, or -1 with err set. */
static int pg_try(PGconn *pg, const char *sql, char *err, size_t errsize)
{
	PGresult *r = PQexec(pg, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(err, errsize, "%s: %s", sql, PQerrorMessage(pg));
	PQclear(r);
	return ok ? 0 : -1;
}

/* Finds or makes the server's template database for this library's
 * migrations and names it in pg_template; 0, or -1 with err set. */
static int pg_template_make(char *err, size_t errsize)
{
	const billing__migration *m;
	char name[64], build[80], conninfo[300], sql[300], url[400];
	uint64_t h = 14695981039346656037ull; /* FNV-1a over the steps' checksums */
	size_t n, i, k;
	PGconn *pg;
	PGresult *r;
	int rc = 0, exists;

	m = billing__migrations(&n);
	for (i = 0; i < n; i++) {
		char sum[65];
		if (billing__migration_checksum(sum, &m[i]) < 0) {
			snprintf(err, errsize, "cannot checksum migration %d", m[i].version);
			return -1;
		}
		for (k = 0; sum[k]; k++) {
			h ^= (unsigned char)sum[k];
			h *= 1099511628211ull;
		}
	}
	snprintf(name, sizeof(name), "billing_tpl_%016llx", (unsigned long long)h);
	snprintf(conninfo, sizeof(conninfo), "host=%s dbname=billing user=billing_admin", pg_host());
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, errsize, "cannot reach the test PostgreSQL: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return -1;
	}
	PQsetNoticeProcessor(pg, quiet, NULL);
	/* One maker at a time; the lock ends with the session if we die. */
	if (pg_try(pg, "SELECT pg_advisory_lock(7201712017)", err, errsize) < 0) {
		PQfinish(pg);
		return -1;
	}
	snprintf(sql, sizeof(sql), "SELECT 1 FROM pg_database WHERE datname = '%s'", name);
	r = PQexec(pg, sql);
	exists = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;
	PQclear(r);
	if (exists < 0) {
		snprintf(err, errsize, "looking for %s: %s", name, PQerrorMessage(pg));
		rc = -1;
	} else if (exists == 0) {
		snprintf(build, sizeof(build), "%s_b%ld", name, (long)getpid());
		snprintf(url, sizeof(url), "postgres:host=%s dbname=%s user=billing_owner",
			pg_host(), build);
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", build);
		rc = pg_try(pg, sql, err, errsize);
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER billing_owner", build);
		if (rc == 0)
			rc = pg_try(pg, sql, err, errsize);
		if (rc == 0 && migrate_url(url) < 0) {
			snprintf(err, errsize, "migrating the template: %s",
				billing_error_last()->message);
			rc = -1;
		}
		/* Closed to connections: a copy fails while anyone is connected
		 * to its template. */
		snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS false", build);
		if (rc == 0)
			rc = pg_try(pg, sql, err, errsize);
		snprintf(sql, sizeof(sql), "ALTER DATABASE %s RENAME TO %s", build, name);
		if (rc == 0)
			rc = pg_try(pg, sql, err, errsize);
	}
	if (pg_try(pg, "SELECT pg_advisory_unlock(7201712017)", err, errsize) < 0)
		rc = -1;
	PQfinish(pg);
	if (rc == 0)
		snprintf(pg_template, sizeof(pg_template), "%s", name);
	return rc;
}

void tb_database_new_migrated(char *url, size_t size, char *dir, size_t dirsize)
{
	char err[1024] = "";
	int rc = 0;

	if (!template_wanted()) {
		tb_database_new(url, size, dir, dirsize);
		tb_assert_rc(migrate_url(url), BILLING_OK);
		return;
	}
	/* pg_host() fails the test (a longjmp) without a server: ask before
	 * taking the lock, or every later test of the process waits on it. */
	if (is_postgres())
		(void)pg_host();
	pthread_mutex_lock(&template_mu);
	if (strcmp(tb_backend(), "sqlite") == 0 && !sqlite_template)
		rc = sqlite_template_make(err, sizeof(err));
	else if (is_postgres() && !pg_template[0])
		rc = pg_template_make(err, sizeof(err));
	pthread_mutex_unlock(&template_mu);
	if (rc < 0)
		fail_msg("template database: %s", err);

	if (strcmp(tb_backend(), "sqlite") == 0) {
		FILE *f;
		tb_database_new(url, size, dir, dirsize);
		f = fopen(url + 7, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(sqlite_template, 1, sqlite_template_len, f),
			sqlite_template_len);
		assert_int_equal(fclose(f), 0);
		return;
	}
	if (is_postgres()) {
		char db[40], sql[256];
		PGconn *pg;
		random_name(db, sizeof(db));
		pg = pg_connect(NULL, "billing_admin");
		/* FILE_COPY copies the template's files (a checkpoint, cheap with
		 * the tests' fsync=off); the default WAL_LOG writes all of it,
		 * system catalogs included, through the WAL: measured twice as
		 * slow here, no faster than migrating a schema. */
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s OWNER billing_owner "
			"STRATEGY FILE_COPY", db, pg_template);
		pg_exec(pg, sql);
		PQfinish(pg);
		dir[0] = '\0';
		snprintf(url, size, "postgres:host=%s dbname=%s user=billing_owner "
			"application_name=bt%ld", pg_host(), db, (long)getpid());
		return;
	}
	print_error("unknown BILLING_TEST_BACKEND \"%s\"\n", tb_backend());
	fail();
}

void tb_remove_dir(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d;

	if (!dir || !dir[0] || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) != 0)
			fprintf(stderr, "could not remove %s\n", path);
	}
	closedir(d);
	if (rmdir(dir) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
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
	const char *db = strstr(url, "dbname=t_");
	if (is_postgres() && !path && db) {
		/* A copy of the template, a database of its own. FORCE: a
		 * context a test left open would otherwise make the drop fail. */
		char sql[128];
		PGconn *pg = pg_connect(NULL, "billing_admin");
		snprintf(sql, sizeof(sql), "DROP DATABASE %.*s WITH (FORCE)",
			(int)strcspn(db + 7, " '"), db + 7);
		pg_exec(pg, sql);
		PQfinish(pg);
		return;
	}
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

/* The schema of a PostgreSQL URL made by tb_database_new() ("" if none). */
static void pg_schema_of(char *out, size_t size, const char *url)
{
	const char *path = strstr(url, "search_path=");
	if (!path) {
		out[0] = '\0';
		return;
	}
	snprintf(out, size, "%.*s", (int)strcspn(path + 12, "' "), path + 12);
}

void tb_raw_copy_rows(const char *dst_url, const char *src_url)
{
	if (strcmp(tb_backend(), "sqlite") == 0) {
		sqlite3 *db = NULL;
		sqlite3_stmt *tables = NULL, *cols = NULL;
		char *sql, *err = NULL;
		assert_int_equal(sqlite3_open(dst_url + 7, &db), SQLITE_OK);
		sqlite3_busy_timeout(db, 5000);
		sql = sqlite3_mprintf("ATTACH DATABASE %Q AS src; BEGIN IMMEDIATE", src_url + 7);
		if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
			fail_msg("attaching the source failed: %s", err ? err : "?");
		sqlite3_free(sql);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM main.sqlite_master "
			"WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT IN "
			"('billing_migrations', 'billing_meta') ORDER BY name", -1, &tables, NULL),
			SQLITE_OK);
		/* The columns the destination has and the source still has. */
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat('\"' || d.name || '\"', "
			"', ') FROM pragma_table_info(?1, 'main') d JOIN pragma_table_info(?1, 'src') s "
			"ON s.name = d.name", -1, &cols, NULL), SQLITE_OK);
		while (sqlite3_step(tables) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(tables, 0);
			const char *c;
			sqlite3_bind_text(cols, 1, t, -1, SQLITE_TRANSIENT);
			assert_int_equal(sqlite3_step(cols), SQLITE_ROW);
			c = (const char *)sqlite3_column_text(cols, 0);
			if (c) {
				sql = sqlite3_mprintf("INSERT INTO main.\"%w\" (%s) SELECT %s FROM "
					"src.\"%w\"", t, c, c, t);
				if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
					fail_msg("copying %s failed: %s", t, err ? err : "?");
				sqlite3_free(sql);
			}
			sqlite3_reset(cols);
		}
		sqlite3_finalize(cols);
		sqlite3_finalize(tables);
		if (sqlite3_exec(db, "COMMIT; DETACH DATABASE src", NULL, NULL, &err) != SQLITE_OK)
			fail_msg("committing the copy failed: %s", err ? err : "?");
		sqlite3_close(db);
		return;
	}
	if (is_postgres()) {
		char dst[64], src[64], sql[1600];
		PGconn *pg;
		pg_schema_of(dst, sizeof(dst), dst_url);
		pg_schema_of(src, sizeof(src), src_url);
		assert_true(dst[0] && src[0]);
		/* One statement, so one transaction; as a replica, so foreign keys
		 * and triggers do not fire on rows copied in any order. */
		snprintf(sql, sizeof(sql),
			"DO $copy$ DECLARE t text; c text; BEGIN\n"
			"PERFORM set_config('session_replication_role', 'replica', true);\n"
			"FOR t IN SELECT table_name FROM information_schema.tables WHERE table_schema = "
			"'%s' AND table_type = 'BASE TABLE' AND table_name NOT IN ('billing_migrations', "
			"'billing_meta') ORDER BY table_name LOOP\n"
			"SELECT string_agg(quote_ident(d.column_name), ', ' ORDER BY d.ordinal_position) "
			"INTO c FROM information_schema.columns d JOIN information_schema.columns s ON "
			"s.table_schema = '%s' AND s.table_name = d.table_name AND s.column_name = "
			"d.column_name WHERE d.table_schema = '%s' AND d.table_name = t;\n"
			"IF c IS NOT NULL THEN EXECUTE format('INSERT INTO %%I.%%I (%%s) SELECT %%s FROM "
			"%%I.%%I', '%s', t, c, c, '%s', t); END IF;\n"
			"END LOOP; END $copy$", dst, src, dst, dst, src);
		pg = pg_connect(NULL, "billing_admin");
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
