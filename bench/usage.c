/*
 * bench_usage: usage events ingested through the C API in batches of 1,000
 * (billing_usage_ingest) against raw SQL inserting the same rows into the
 * same table of the same database, in one run (issue #23).
 *
 *   bench_usage sqlite [N]
 *   BILLING_PG_FSYNC=on scripts/with-postgres.sh ./build/release/bench/bench_usage postgres [N]
 *
 * N (default 200000) events of one tenant, spread over 100 customers with
 * no subscription, one sum meter on them (so the library checks every
 * event's value property as it would in production). Both sides write
 * batches of 1,000 events, each batch one transaction:
 *
 *   library  billing_usage_ingest (checks, customers, meters, the bulk
 *            usage_insert, one usage.ingested event and one audit row)
 *   raw      SQLite: one prepared single-row INSERT stepped 1,000 times;
 *            PostgreSQL: the same rows as the library writes since schema
 *            step 42 (usage_events partitioned by month, the dedupe key in
 *            usage_event_keys): one INSERT ... VALUES of 1,000 keys (3,000
 *            parameters) and one of 1,000 events (8,000 parameters),
 *            PQexecParams: the fastest plain SQL of each
 *
 * with transaction ids of their own ("l-..." and "r-..."), so both insert
 * N new rows. The sides alternate by block of 10 batches (library first,
 * then raw) to average out a drifting machine. It prints events/s of each
 * and the ratio library / raw (the target is >= 0.8), and the peak
 * resident memory of the library side (VmHWM, reset before it by
 * /proc/self/clear_refs): run it with N = 100000 and N = 1000000, the peak
 * must not grow with N (a batch is held at a time).
 *
 * SQLite: the database is TMPDIR/bench_usage.db (WAL, synchronous=FULL on
 * both sides). PostgreSQL: a schema of its own, migrated by the library as
 * billing_owner, both sides as billing_app (RLS on); fsync as the server
 * was started (BILLING_PG_FSYNC=on for durable numbers).
 *
 * The program reports; it exits 0 whatever the ratio is.
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "billing/billing.h"
#include "support.h"

#define BATCH 1000
#define CUSTOMERS 100
#define BLOCK 10                       /* batches per side before switching */

static const char *prog = "bench_usage";

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	size_t n = strlen(key);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static void reset_peak(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

/* ------------------------------------------------------------ the world */

static char tenant_id[64];
static char customers[CUSTOMERS][64];
static int64_t t_base;

static void setup(billing_ctx *ctx)
{
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	billing_principal admin;
	billing_tenant *t = NULL;
	int i;
	char *out = NULL;
	const char *meter = "{\"eventName\":\"api.call\",\"aggregation\":\"sum\","
		"\"valueProperty\":\"n\"}";

	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	tp.name = "Bench";
	if (billing_tenant_create(&t, ctx, &platform, &tp, NULL) < 0)
		bench_die_lib("billing_tenant_create");
	snprintf(tenant_id, sizeof(tenant_id), "%s", billing_tenant_id(t));
	billing_tenant_free(t);
	admin.tenant_id = tenant_id;
	admin.user_id = "usr_bench";
	admin.role = BILLING_ROLE_ADMIN;
	for (i = 0; i < CUSTOMERS; i++) {
		billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
		billing_customer *c = NULL;
		char email[64];
		snprintf(email, sizeof(email), "c%d@bench.test", i);
		p.name = "Bench";
		p.email = email;
		if (billing_customer_create(&c, ctx, &admin, &p, NULL) < 0)
			bench_die_lib("billing_customer_create");
		snprintf(customers[i], sizeof(customers[i]), "%s", billing_customer_id(c));
		billing_customer_free(c);
	}
	if (billing_call_json(&out, ctx, &admin, "meters.create", meter, strlen(meter), NULL) < 0)
		bench_die_lib("meters.create");
	billing_free(out);
}

/* Event i of a side: its transaction id, customer, time and properties. */
static void event_of(char side, size_t i, char tid[32], const char **cus, int64_t *ts,
	char props[48])
{
	snprintf(tid, 32, "%c-%zu", side, i);
	*cus = customers[i % CUSTOMERS];
	*ts = t_base + (int64_t)(i % 86400);
	snprintf(props, 48, "{\"n\":%zu,\"region\":\"eu\"}", i % 1000);
}

/* ------------------------------------------------------------ library */

static double lib_batch(billing_ctx *ctx, size_t first)
{
	static billing_usage_event evs[BATCH];
	static char tids[BATCH][32], props[BATCH][48];
	billing_principal admin = { tenant_id, "usr_bench", BILLING_ROLE_ADMIN };
	billing_usage_result *r = NULL;
	double t0;
	size_t i;

	for (i = 0; i < BATCH; i++) {
		billing_usage_event e = BILLING_USAGE_EVENT_INIT;
		event_of('l', first + i, tids[i], &e.customer_id, &e.timestamp, props[i]);
		e.transaction_id = tids[i];
		e.event_name = "api.call";
		e.properties_json = props[i];
		evs[i] = e;
	}
	t0 = bench_now_s();
	if (billing_usage_ingest(&r, ctx, &admin, evs, BATCH) < 0)
		bench_die_lib("billing_usage_ingest");
	t0 = bench_now_s() - t0;
	if (billing_usage_result_tally(r, BILLING_USAGE_ACCEPTED) != BATCH)
		bench_die("billing_usage_ingest", "not every event was accepted");
	billing_usage_result_free(r);
	return t0;
}

/* ------------------------------------------------------------ raw SQLite */

static void sq_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		bench_die(sql, err);
}

static double raw_sqlite_batch(sqlite3 *db, sqlite3_stmt *ins, size_t first, int64_t now)
{
	char tid[32], props[48];
	const char *cus;
	int64_t ts;
	double t0 = bench_now_s();
	size_t i;

	sq_exec(db, "BEGIN IMMEDIATE");
	for (i = 0; i < BATCH; i++) {
		event_of('r', first + i, tid, &cus, &ts, props);
		sqlite3_bind_text(ins, 1, tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, tid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 3, "api.call", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, cus, -1, SQLITE_STATIC);
		sqlite3_bind_null(ins, 5);
		sqlite3_bind_int64(ins, 6, ts);
		sqlite3_bind_text(ins, 7, props, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 8, now);
		if (sqlite3_step(ins) != SQLITE_DONE)
			bench_die("raw insert", sqlite3_errmsg(db));
		sqlite3_reset(ins);
	}
	sq_exec(db, "COMMIT");
	return bench_now_s() - t0;
}

/* ------------------------------------------------------------ raw PostgreSQL */

static double raw_pg_batch(PGconn *pg, const char *keys_sql, const char *sql, size_t first,
	int64_t now)
{
	static char tids[BATCH][32], props[BATCH][48], tss[BATCH][24], nows[24];
	static const char *values[BATCH * 8], *keys[BATCH * 3];
	const char *cus;
	int64_t ts;
	double t0;
	size_t i;
	PGresult *r;

	snprintf(nows, sizeof(nows), "%lld", (long long)now);
	for (i = 0; i < BATCH; i++) {
		event_of('r', first + i, tids[i], &cus, &ts, props[i]);
		snprintf(tss[i], sizeof(tss[i]), "%lld", (long long)ts);
		values[i * 8] = tenant_id;
		values[i * 8 + 1] = tids[i];
		values[i * 8 + 2] = "api.call";
		values[i * 8 + 3] = cus;
		values[i * 8 + 4] = NULL;
		values[i * 8 + 5] = tss[i];
		values[i * 8 + 6] = props[i];
		values[i * 8 + 7] = nows;
		keys[i * 3] = tenant_id;
		keys[i * 3 + 1] = tids[i];
		keys[i * 3 + 2] = tss[i];
	}
	t0 = bench_now_s();
	r = PQexec(pg, "BEGIN");
	PQclear(r);
	r = PQexecParams(pg, "SELECT set_config('billing.tenant_id', $1, true)", 1, NULL,
		(const char *const *)values, NULL, NULL, 0);
	PQclear(r);
	r = PQexecParams(pg, keys_sql, BATCH * 3, NULL, keys, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		bench_die("raw insert of the keys", PQerrorMessage(pg));
	PQclear(r);
	r = PQexecParams(pg, sql, BATCH * 8, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		bench_die("raw insert", PQerrorMessage(pg));
	PQclear(r);
	r = PQexec(pg, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		bench_die("raw commit", PQerrorMessage(pg));
	PQclear(r);
	return bench_now_s() - t0;
}

static char *pg_values_insert(void)
{
	size_t cap = 256 + (size_t)BATCH * 80, len, i;
	char *s = malloc(cap);
	if (!s) {
		bench_die("malloc", NULL);
		return NULL;
	}
	len = (size_t)snprintf(s, cap, "INSERT INTO usage_events (tenant_id, transaction_id, "
		"event_name, customer_id, subscription_id, occurred_at, properties, received_at, "
		"version) VALUES ");
	for (i = 0; i < BATCH; i++) {
		size_t b = i * 8;
		len += (size_t)snprintf(s + len, cap - len, "%s($%zu, $%zu, $%zu, $%zu, $%zu, "
			"$%zu::bigint, $%zu, $%zu::bigint, 1)", i ? ", " : "", b + 1, b + 2, b + 3,
			b + 4, b + 5, b + 6, b + 7, b + 8);
	}
	return s;
}

static char *pg_keys_insert(void)
{
	size_t cap = 128 + (size_t)BATCH * 40, len, i;
	char *s = malloc(cap);
	if (!s) {
		bench_die("malloc", NULL);
		return NULL;
	}
	len = (size_t)snprintf(s, cap, "INSERT INTO usage_event_keys (tenant_id, transaction_id, "
		"occurred_at) VALUES ");
	for (i = 0; i < BATCH; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s($%zu, $%zu, $%zu::bigint)",
			i ? ", " : "", i * 3 + 1, i * 3 + 2, i * 3 + 3);
	return s;
}

/* ------------------------------------------------------------ main */

static int64_t clock_now;

static int64_t bench_clock(void *payload)
{
	(void)payload;
	return clock_now;
}

int main(int argc, char **argv)
{
	billing_ctx_options opts = BILLING_CTX_OPTIONS_INIT;
	const char *backend = argc > 1 ? argv[1] : "sqlite";
	size_t n = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 200000, done = 0;
	double lib = 0, raw = 0;
	char url[1024], path[512], schema[64] = "";
	billing_ctx *ctx = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL;
	PGconn *pg = NULL;
	char *pg_sql = NULL, *pg_keys_sql = NULL;
	long peak = 0, rss0;
	int is_pg = strcmp(backend, "postgres") == 0;

	n = (n + BATCH * BLOCK - 1) / (BATCH * BLOCK) * (BATCH * BLOCK);
	clock_now = (int64_t)time(NULL);
	t_base = clock_now - 86400;
	opts.clock = bench_clock;
	if (!is_pg) {
		const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		snprintf(path, sizeof(path), "%s/bench_usage_%ld.db", dir, (long)getpid());
		snprintf(url, sizeof(url), "sqlite:%s", path);
		if (billing_ctx_open_url(&ctx, url, &opts) < 0 || billing_migrate(ctx) < 0)
			bench_die_lib("open / migrate");
	} else {
		const char *host = getenv("BILLING_TEST_PG_HOST");
		billing_ctx *owner = NULL;
		PGresult *r;
		if (!host || !*host) {
			fprintf(stderr, "%s: run it as scripts/with-postgres.sh %s postgres [N]\n", prog,
				argv[0]);
			return 2;
		}
		snprintf(schema, sizeof(schema), "bench_usage_%ld", (long)getpid());
		snprintf(url, sizeof(url), "host=%s dbname=billing user=billing_owner", host);
		pg = PQconnectdb(url);
		if (PQstatus(pg) != CONNECTION_OK)
			bench_die("connect as billing_owner", PQerrorMessage(pg));
		snprintf(path, sizeof(path), "CREATE SCHEMA %s", schema);
		PQclear(PQexec(pg, path));
		PQfinish(pg);
		snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_owner "
			"options='-c search_path=%s'", host, schema);
		if (billing_ctx_open_url(&owner, url, NULL) < 0 || billing_migrate(owner) < 0)
			bench_die_lib("migrate");
		billing_ctx_close(owner);
		snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_app "
			"options='-c search_path=%s'", host, schema);
		if (billing_ctx_open_url(&ctx, url, &opts) < 0)
			bench_die_lib("open");
		snprintf(url, sizeof(url), "host=%s dbname=billing user=billing_app "
			"options='-c search_path=%s'", host, schema);
		pg = PQconnectdb(url);
		if (PQstatus(pg) != CONNECTION_OK)
			bench_die("connect as billing_app", PQerrorMessage(pg));
		r = PQexec(pg, "SHOW fsync");
		printf("%s: PostgreSQL, fsync=%s, schema %s\n", prog, PQgetvalue(r, 0, 0), schema);
		PQclear(r);
		pg_sql = pg_values_insert();
		pg_keys_sql = pg_keys_insert();
	}
	setup(ctx);
	if (!is_pg) {
		if (sqlite3_open(path, &db) != SQLITE_OK)
			bench_die(path, sqlite3_errmsg(db));
		sqlite3_busy_timeout(db, 10000);
		sq_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL");
		if (sqlite3_prepare_v2(db, "INSERT INTO usage_events (tenant_id, transaction_id, "
			"event_name, customer_id, subscription_id, occurred_at, properties, received_at, "
			"version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)", -1, &ins, NULL) != SQLITE_OK)
			bench_die("prepare", sqlite3_errmsg(db));
		printf("%s: SQLite %s, %s (WAL, synchronous=FULL)\n", prog, sqlite3_libversion(), path);
	}
	printf("%zu events a side in batches of %d, %d customers, one sum meter\n", n, BATCH,
		CUSTOMERS);
	rss0 = status_kb("VmRSS");
	reset_peak();
	while (done < n) {
		size_t b;
		for (b = 0; b < BLOCK; b++)
			lib += lib_batch(ctx, done + b * BATCH);
		{
			long hwm = status_kb("VmHWM");
			if (hwm > peak)
				peak = hwm;
		}
		for (b = 0; b < BLOCK; b++)
			raw += is_pg ? raw_pg_batch(pg, pg_keys_sql, pg_sql, done + b * BATCH, clock_now) :
				raw_sqlite_batch(db, ins, done + b * BATCH, clock_now);
		done += (size_t)BLOCK * BATCH;
		clock_now++;
	}
	printf("library  %9.0f events/s (%.2f s)\n", (double)n / lib, lib);
	printf("raw SQL  %9.0f events/s (%.2f s)\n", (double)n / raw, raw);
	printf("ratio library/raw: %.2f (target >= 0.8)\n", raw / lib);
	printf("memory: RSS %ld kB before, peak %ld kB during the library's batches\n", rss0, peak);

	sqlite3_finalize(ins);
	sqlite3_close(db);
	billing_ctx_close(ctx);
	if (is_pg) {
		char sql[128];
		PGresult *r;
		PQfinish(pg);
		snprintf(url, sizeof(url), "host=%s dbname=billing user=billing_owner",
			getenv("BILLING_TEST_PG_HOST"));
		pg = PQconnectdb(url);
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
		r = PQexec(pg, sql);
		PQclear(r);
		PQfinish(pg);
		free(pg_sql);
		free(pg_keys_sql);
	} else {
		char wal[600];
		unlink(path);
		snprintf(wal, sizeof(wal), "%s-wal", path);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", path);
		unlink(wal);
	}
	return 0;
}
