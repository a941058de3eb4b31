/*
 * bench_postgres: the library's customer calls on PostgreSQL against the same
 * work done with raw libpq calls on an identical schema, in one run.
 *
 *   BILLING_PG_FSYNC=on scripts/with-postgres.sh ./build/release/bench/bench_postgres [N [M]]
 *
 * N single-row creates per side (default 2000), M point gets per side
 * (default 20000). The server is the one scripts/with-postgres.sh starts: it
 * exports BILLING_TEST_PG_HOST (the socket directory) and makes the roles
 * billing_owner (owns database "billing") and billing_app (member of
 * billing_runtime).
 *
 * As billing_owner the program makes two fresh schemas (dropped at the end,
 * also when it fails): the library's, migrated by billing_migrate, and the
 * raw side's, made by running the library's own migration SQL
 * (billing__migrations(), the "/\*COLLATE_C*\/" marker made COLLATE "C", and
 * each step's postgres_sql), exactly as the library's migration does, so
 * row-level security and the grants apply to both. Both sides then run as
 * billing_app, the runtime role.
 *
 * Per call the raw side does what the library's PostgreSQL backend does:
 *   create  one round trip "BEGIN; SELECT set_config('billing.tenant_id', <t>,
 *           true), set_config('billing.platform', 'off', true)" (RLS needs
 *           the tenant setting); the prepared INSERT INTO customers (same 10
 *           columns, text parameters); COMMIT
 *   get     the same BEGIN + set_config; the prepared SELECT of the same
 *           columns WHERE tenant_id = $1 AND id = $2; COMMIT
 *   page    the same BEGIN + set_config; the prepared keyset SELECT ...
 *           WHERE tenant_id = $1 [AND (created_at, id) > ($2, $3)]
 *           ORDER BY created_at ASC, id ASC LIMIT 21; COMMIT
 * and reads every column of every row it gets back (it does not copy them
 * into heap objects: that, like validation, ids, authorization, the
 * connection pool, the statement cache and signed cursors, is the library's
 * overhead being measured).
 *
 * BENCH_KEYED=1: every create carries an idempotency key (a new one per
 * call, as a client that retries safely sends), and the raw side writes the
 * key's row too (its prepared INSERT INTO idempotency_keys before the
 * COMMIT: 4 round trips).
 *
 * The two sides are interleaved so that both see the same machine and the
 * same server: creates call by call (each call timed), gets in blocks of
 * 500, pages walk by walk, with the side that goes first alternating. Each
 * side's rate is its total operations over its total time.
 * The program reports; it exits 0 whatever the ratios are.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "billing/ctx.h"
#include "billing/customer.h"
#include "billing/errors.h"
#include "billing/list.h"
#include "billing/postgres.h"
#include "billing/principal.h"
#include "billing/tenant.h"
#include "storage/migrations.h"
#include "support.h"

#define DEFAULT_CREATES 2000
#define IDEM_SQL "INSERT INTO idempotency_keys (tenant_id, idem_key, operation, " \
	"request_hash, resource_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)"

#define DEFAULT_GETS 20000
#define PAGE_SIZE 20
#define READ_ROUNDS 4          /* gets and pages: reported rounds, each interleaved */
#define GET_BLOCK 100          /* gets interleave in blocks of this many */
#define WARMUP_CREATES 16      /* per side, untimed: statement caches, pool */
#define WARMUP_GETS 1000
#define MIN_PAGES 500          /* pages per side per round: full walks repeated */
#define ID_LEN 48

#define TARGET_WRITE 0.90
#define TARGET_READ 0.70
#define TARGET_GET_OVERHEAD_US 10.0
#define DEFAULT_THREADS 16
#define TARGET_CONCURRENT 1.2

#define CUSTOMER_COLS "tenant_id, id, name, email, email_key, default_payment_method, " \
	"metadata, created_at, updated_at, version"

/* The library's migration bookkeeping table (src/storage/sql/records.c);
 * step 1's grants name it, so the raw schema needs it too. */
#define MIGRATIONS_TABLE "CREATE TABLE IF NOT EXISTS billing_migrations (" \
	" version INTEGER PRIMARY KEY, name TEXT NOT NULL," \
	" checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)"

/* ------------------------------------------------------------ utilities */

static char pg_host[512];
static char schema_lib[64], schema_raw[64];
static PGconn *owner;          /* billing_owner: schemas, SHOW fsync, cleanup */

static PGconn *connect_as(const char *user, const char *schema);

/* Drops the two schemas (atexit, so also after bench_die()). */
static void drop_schemas(void)
{
	char sql[256];
	PGresult *r;

	if (!schema_lib[0] && !schema_raw[0])
		return; /* not made yet, or dropped already */
	if (!owner || PQstatus(owner) != CONNECTION_OK) {
		PQfinish(owner);
		owner = pg_host[0] ? connect_as("billing_owner", NULL) : NULL;
		if (!owner)
			return;
	}
	if (PQtransactionStatus(owner) != PQTRANS_IDLE)
		PQclear(PQexec(owner, "ROLLBACK"));
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS %s CASCADE",
		schema_lib[0] ? schema_lib : "bench_none_l", schema_raw[0] ? schema_raw : "bench_none_r");
	r = PQexec(owner, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fprintf(stderr, "bench_postgres: cannot drop the bench schemas: %s",
			PQerrorMessage(owner));
	PQclear(r);
	PQfinish(owner);
	owner = NULL;
	schema_lib[0] = schema_raw[0] = '\0';
}

static void die_pg(PGconn *pg, const char *what)
{
	bench_die(what, PQerrorMessage(pg));
}

/* xorshift64*, one state per side: both sides draw the same sequence of
 * positions in their id arrays. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 2685821657736338717ull;
}

/* Keeps the compiler from dropping the reads the benchmark makes. */
static volatile uint64_t sink;

static uint64_t fold_text(uint64_t h, const char *s)
{
	/* Touches the string the way a caller copying it would: its length
	 * and first byte, not a full hash (that would tax the cheaper side). */
	if (s)
		h += strlen(s) * 31u + (unsigned char)s[0];
	return h;
}

/* A libpq key=value conninfo for user on the test server, with search_path
 * set to schema when it is not NULL. */
static void conninfo(char *out, size_t size, const char *user, const char *schema)
{
	if (schema)
		snprintf(out, size, "host=%s dbname=billing user=%s options='-c search_path=%s'",
			pg_host, user, schema);
	else
		snprintf(out, size, "host=%s dbname=billing user=%s", pg_host, user);
}

/* Drops the server's notices ("drop cascades to ...", "does not exist"). */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *connect_as(const char *user, const char *schema)
{
	char ci[800];
	PGconn *pg;

	conninfo(ci, sizeof(ci), user, schema);
	pg = PQconnectdb(ci);
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "bench_postgres: cannot connect as %s: %s", user,
			pg ? PQerrorMessage(pg) : "out of memory\n");
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, quiet, NULL);
	return pg;
}

/* Runs sql (one or more statements) and dies unless it succeeds. */
static void exec_ok(PGconn *pg, const char *sql, const char *what)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char msg[1024];
		PQclear(r);
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(pg));
		/* A transaction left open here would hold its locks while atexit
		 * drops the schemas from another connection: that drop would wait
		 * for ever. */
		if (PQtransactionStatus(pg) != PQTRANS_IDLE)
			PQclear(PQexec(pg, "ROLLBACK"));
		bench_die(what, msg);
	}
	PQclear(r);
}

/* Runs a migration script as the library does: the COLLATE_C marker
 * becomes COLLATE "C". */
static void exec_script(PGconn *pg, const char *sql)
{
	static const char marker[] = "/*COLLATE_C*/";
	size_t len = strlen(sql), j = 0;
	const char *p;
	char *text;

	/* A step with no shared part (5) has "" there; billing__sql_migrate
	 * skips it, and PQexec("") is PGRES_EMPTY_QUERY, not success. */
	if (!sql[0])
		return;
	if ((text = malloc(len * 2 + 1)) == NULL)
		bench_die("malloc", "out of memory");
	for (p = sql; *p;) {
		if (strncmp(p, marker, sizeof(marker) - 1) == 0) {
			memcpy(text + j, "COLLATE \"C\"", 11);
			j += 11;
			p += sizeof(marker) - 1;
		} else {
			text[j++] = *p++;
		}
	}
	text[j] = '\0';
	exec_ok(pg, text, "raw migration");
	free(text);
}

/* ------------------------------------------------------------ the raw side */

struct raw {
	PGconn *pg;
	char begin_sql[256];   /* BEGIN; SELECT set_config(...) for the tenant */
	char tenant_id[ID_LEN];
	uint64_t id_seq;
};

static void raw_prepare(PGconn *pg, const char *name, const char *sql, int nparams)
{
	PGresult *r = PQprepare(pg, name, sql, nparams, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		die_pg(pg, "raw prepare");
	}
	PQclear(r);
}

/* Makes the raw schema as billing_owner from the library's migration SQL,
 * inserts the tenant row, then connects as billing_app and prepares the
 * statements. */
static void raw_open(struct raw *r, const char *tenant_id)
{
	const billing__migration *m;
	size_t n, i;
	char sql[512];
	char *lit;
	PGconn *own;

	memset(r, 0, sizeof(*r));
	snprintf(r->tenant_id, sizeof(r->tenant_id), "%s", tenant_id);

	/* Schema, as the owner, in one transaction like billing_migrate. */
	if ((own = connect_as("billing_owner", schema_raw)) == NULL)
		bench_die("raw", "cannot connect as billing_owner");
	m = billing__migrations(&n);
	exec_ok(own, "BEGIN", "raw migration");
	exec_script(own, MIGRATIONS_TABLE);
	for (i = 0; i < n; i++) {
		exec_script(own, m[i].sql);
		if (m[i].postgres_sql)
			exec_script(own, m[i].postgres_sql);
	}
	exec_ok(own, "COMMIT", "raw migration");
	PQfinish(own);

	if ((r->pg = connect_as("billing_app", schema_raw)) == NULL)
		bench_die("raw", "cannot connect as billing_app");

	/* The tenant row, as platform work (the tenants policy requires it). */
	if ((lit = PQescapeLiteral(r->pg, tenant_id, strlen(tenant_id))) == NULL)
		die_pg(r->pg, "escape");
	snprintf(sql, sizeof(sql), "BEGIN; SELECT set_config('billing.tenant_id', '', true), "
		"set_config('billing.platform', 'on', true); "
		"INSERT INTO tenants (tenant_id, name, invoice_prefix, created_at, updated_at, version) "
		"VALUES (%s, 'bench', 'INV-', %lld, %lld, 1); COMMIT",
		lit, (long long)time(NULL), (long long)time(NULL));
	exec_ok(r->pg, sql, "raw tenant");
	snprintf(r->begin_sql, sizeof(r->begin_sql),
		"BEGIN; SELECT set_config('billing.tenant_id', %s, true), "
		"set_config('billing.platform', 'off', true)", lit);
	PQfreemem(lit);

	raw_prepare(r->pg, "insert", "INSERT INTO customers (" CUSTOMER_COLS ") "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10);
	raw_prepare(r->pg, "idem", IDEM_SQL, 6);
	raw_prepare(r->pg, "get", "SELECT " CUSTOMER_COLS " FROM customers "
		"WHERE tenant_id = $1 AND id = $2", 2);
	raw_prepare(r->pg, "page_first", "SELECT " CUSTOMER_COLS " FROM customers "
		"WHERE tenant_id = $1 ORDER BY created_at ASC, id ASC LIMIT $2", 2);
	raw_prepare(r->pg, "page_after", "SELECT " CUSTOMER_COLS " FROM customers "
		"WHERE tenant_id = $1 AND (created_at, id) > ($2, $3) "
		"ORDER BY created_at ASC, id ASC LIMIT $4", 4);
	r->id_seq = (uint64_t)time(NULL) << 20;
}

static void raw_close(struct raw *r)
{
	PQfinish(r->pg);
	r->pg = NULL;
}

static void raw_begin(struct raw *r)
{
	PGresult *res = PQexec(r->pg, r->begin_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		die_pg(r->pg, "raw begin");
	}
	PQclear(res);
}

static void raw_commit(struct raw *r)
{
	PGresult *res = PQexec(r->pg, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		die_pg(r->pg, "raw commit");
	}
	PQclear(res);
}

/* An id shaped like the library's ("cus_" and 26 base32 characters, rising),
 * so both sides' B-trees hold keys of the same size and order. */
static void raw_id(struct raw *r, char out[ID_LEN])
{
	static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
	uint64_t hi = r->id_seq++, lo = hi * 0x9e3779b97f4a7c15ull;
	char *p = out + 4;
	int i;

	memcpy(out, "cus_", 4);
	for (i = 12; i >= 0; i--, hi >>= 5)
		p[i] = alphabet[hi & 31];
	for (i = 25; i >= 13; i--, lo >>= 5)
		p[i] = alphabet[lo & 31];
	p[26] = '\0';
}

/* One durable single-row create. Name and e-mail come from seq; the e-mail
 * key is lower-cased as the library does. */
static int keyed;   /* BENCH_KEYED: creates with an idempotency key */

static void raw_key(struct raw *r, uint64_t seq, const char *id, const char *now_s_)
{
	char key[48];
	const char *values[6] = { r->tenant_id, key, "customers.create",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", id, now_s_ };
	PGresult *res;
	snprintf(key, sizeof(key), "bench-%" PRIu64, seq);
	res = PQexecPrepared(r->pg, "idem", 6, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		die_pg(r->pg, "raw idempotency insert");
	}
	PQclear(res);
}

static void raw_create(struct raw *r, uint64_t seq, char id_out[ID_LEN])
{
	char name[64], email[64], key[64], now_s_[24];
	const char *values[10];
	PGresult *res;
	size_t i;

	snprintf(name, sizeof(name), "Bench Customer %" PRIu64, seq);
	snprintf(email, sizeof(email), "Customer%" PRIu64 "@Bench.example", seq);
	for (i = 0; email[i]; i++)
		key[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
	key[i] = '\0';
	snprintf(now_s_, sizeof(now_s_), "%lld", (long long)time(NULL));
	raw_id(r, id_out);

	values[0] = r->tenant_id;
	values[1] = id_out;
	values[2] = name;
	values[3] = email;
	values[4] = key;
	values[5] = NULL;
	values[6] = "{}";
	values[7] = now_s_;
	values[8] = now_s_;
	values[9] = "1";

	raw_begin(r);
	res = PQexecPrepared(r->pg, "insert", 10, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		die_pg(r->pg, "raw insert");
	}
	PQclear(res);
	if (keyed)
		raw_key(r, seq, id_out, now_s_);
	raw_commit(r);
}

/* Reads every column of row i. */
static uint64_t raw_read_row(const PGresult *res, int row)
{
	uint64_t h = 0;
	int c;
	for (c = 0; c < 7; c++)
		h = fold_text(h, PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c));
	for (c = 7; c < 10; c++)
		h += (uint64_t)strtoll(PQgetvalue(res, row, c), NULL, 10);
	return h;
}

static void raw_get(struct raw *r, const char *id)
{
	const char *values[2] = { r->tenant_id, id };
	PGresult *res;

	raw_begin(r);
	res = PQexecPrepared(r->pg, "get", 2, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		die_pg(r->pg, "raw get: no row");
	}
	sink += raw_read_row(res, 0);
	PQclear(res);
	raw_commit(r);
}

/* Keyset position of the raw walk: the last row's (created_at, id). */
struct raw_cursor {
	int valid;
	char created_at[24];
	char id[ID_LEN];
};

/* One page of PAGE_SIZE; returns its row count, sets *more. */
static size_t raw_page(struct raw *r, struct raw_cursor *cur, int *more)
{
	static const char limit[] = "21"; /* PAGE_SIZE + 1 */
	const char *values[4];
	PGresult *res;
	int rows, i;

	raw_begin(r);
	values[0] = r->tenant_id;
	if (cur->valid) {
		values[1] = cur->created_at;
		values[2] = cur->id;
		values[3] = limit;
		res = PQexecPrepared(r->pg, "page_after", 4, values, NULL, NULL, 0);
	} else {
		values[1] = limit;
		res = PQexecPrepared(r->pg, "page_first", 2, values, NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		die_pg(r->pg, "raw page");
	}
	rows = PQntuples(res);
	*more = rows > PAGE_SIZE;
	if (rows > PAGE_SIZE)
		rows = PAGE_SIZE;
	for (i = 0; i < rows; i++)
		sink += raw_read_row(res, i);
	if (rows > 0) {
		snprintf(cur->created_at, sizeof(cur->created_at), "%s", PQgetvalue(res, rows - 1, 7));
		snprintf(cur->id, sizeof(cur->id), "%s", PQgetvalue(res, rows - 1, 1));
	}
	PQclear(res);
	raw_commit(r);
	cur->valid = 1;
	return (size_t)rows;
}

/* ------------------------------------------------------------ the library side */

struct lib {
	billing_ctx *ctx;
	billing_principal who;
	char tenant_id[ID_LEN];
};

static void lib_create(struct lib *l, uint64_t seq, char id_out[ID_LEN])
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_customer *c = NULL;
	char name[64], email[64], key[48];

	snprintf(name, sizeof(name), "Bench Customer %" PRIu64, seq);
	snprintf(email, sizeof(email), "Customer%" PRIu64 "@Bench.example", seq);
	snprintf(key, sizeof(key), "bench-%" PRIu64, seq);
	p.name = name;
	p.email = email;
	o.idempotency_key = key;
	if (billing_customer_create(&c, l->ctx, &l->who, &p, keyed ? &o : NULL) < 0)
		bench_die_lib("billing_customer_create");
	snprintf(id_out, ID_LEN, "%s", billing_customer_id(c));
	billing_customer_free(c);
}

static uint64_t lib_read_customer(const billing_customer *c)
{
	uint64_t h = 0;
	h = fold_text(h, billing_customer_tenant_id(c));
	h = fold_text(h, billing_customer_id(c));
	h = fold_text(h, billing_customer_name(c));
	h = fold_text(h, billing_customer_email(c));
	h = fold_text(h, billing_customer_default_payment_method(c));
	h += billing_customer_metadata_count(c);
	h += (uint64_t)billing_customer_created_at(c) + (uint64_t)billing_customer_updated_at(c) +
		(uint64_t)billing_customer_version(c);
	return h;
}

static void lib_get(struct lib *l, const char *id)
{
	billing_customer *c = NULL;
	if (billing_customer_get(&c, l->ctx, &l->who, id) < 0)
		bench_die_lib("billing_customer_get");
	sink += lib_read_customer(c);
	billing_customer_free(c);
}

/* One page after *prev (NULL: the first); returns the new page (the caller
 * frees the previous one after this call, since its cursor is borrowed). */
static billing_page *lib_page(struct lib *l, const billing_page *prev, size_t *rows)
{
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	size_t i, n;

	p.limit = PAGE_SIZE;
	p.starting_after = prev ? billing_page_next_cursor(prev) : NULL;
	if (billing_customer_list(&page, l->ctx, &l->who, &p) < 0)
		bench_die_lib("billing_customer_list");
	n = billing_page_count(page);
	for (i = 0; i < n; i++)
		sink += lib_read_customer(billing_page_customer(page, i));
	*rows = n;
	return page;
}

/* ------------------------------------------------------------ measurements */

enum side { LIB = 0, RAW = 1 };

struct bench {
	struct lib lib;
	struct raw raw;
	char (*ids[2])[ID_LEN];   /* created ids per side */
	size_t count[2];
	size_t conc[2];             /* made by the concurrent creates (ids not kept) */
	size_t cap;
	uint64_t seq[2];
};

static void create_one(struct bench *b, enum side s)
{
	char *id = b->ids[s][b->count[s]];
	if (s == LIB)
		lib_create(&b->lib, b->seq[s]++, id);
	else
		raw_create(&b->raw, b->seq[s]++, id);
	b->count[s]++;
}

/* n creates per side, interleaved one by one (which side goes first
 * alternates), each call timed on its own; adds each side's seconds to
 * secs[]. */
static void run_creates(struct bench *b, size_t n, double secs[2])
{
	size_t i;
	for (i = 0; i < n; i++) {
		enum side first = i % 2 ? RAW : LIB, second = first == LIB ? RAW : LIB;
		double t0 = bench_now_s(), t1, t2;
		create_one(b, first);
		t1 = bench_now_s();
		create_one(b, second);
		t2 = bench_now_s();
		secs[first] += t1 - t0;
		secs[second] += t2 - t1;
	}
}

/* m gets on one side, of ids drawn from *rng; returns seconds. */
static double gets_block(struct bench *b, enum side s, size_t m, uint64_t *rng)
{
	size_t i, n = b->count[s];
	double t0 = bench_now_s();
	for (i = 0; i < m; i++) {
		const char *id = b->ids[s][rng_next(rng) % n];
		if (s == LIB)
			lib_get(&b->lib, id);
		else
			raw_get(&b->raw, id);
	}
	return bench_now_s() - t0;
}

/* Per-call differences (library - raw, in us) of paired get blocks: their
 * median is a second, drift-resistant estimate of the per-call overhead. */
static double *block_diffs;
static size_t block_count, block_cap;

static void add_block_diff(double us)
{
	if (block_count == block_cap) {
		size_t cap = block_cap ? block_cap * 2 : 256;
		double *d = realloc(block_diffs, cap * sizeof(*d));
		if (!d)
			bench_die("realloc", "out of memory");
		block_diffs = d;
		block_cap = cap;
	}
	block_diffs[block_count++] = us;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_block_diff(void)
{
	if (!block_count)
		return 0;
	qsort(block_diffs, block_count, sizeof(*block_diffs), cmp_double);
	return block_count % 2 ? block_diffs[block_count / 2] :
		(block_diffs[block_count / 2 - 1] + block_diffs[block_count / 2]) / 2;
}

/* m gets per side, interleaved in blocks of GET_BLOCK (which side goes
 * first alternates); adds each side's seconds to secs[] and, when record is
 * set, each block pair's per-call difference to block_diffs. */
static void run_gets(struct bench *b, size_t m, double secs[2], uint64_t rng[2], int record)
{
	size_t done, k;
	for (done = 0, k = 0; done < m; done += GET_BLOCK, k++) {
		size_t len = m - done < GET_BLOCK ? m - done : GET_BLOCK;
		enum side first = k % 2 ? RAW : LIB, second = first == LIB ? RAW : LIB;
		double t[2];
		t[first] = gets_block(b, first, len, &rng[first]);
		t[second] = gets_block(b, second, len, &rng[second]);
		secs[LIB] += t[LIB];
		secs[RAW] += t[RAW];
		if (record)
			add_block_diff((t[LIB] - t[RAW]) * 1e6 / (double)len);
	}
}

/* One full keyset walk over all customers on one side; returns seconds and
 * sets *pages and *rows. */
static double walk(struct bench *b, enum side s, size_t *pages, size_t *rows)
{
	double t0 = bench_now_s();
	size_t n;

	*pages = *rows = 0;
	if (s == LIB) {
		billing_page *prev = NULL, *page;
		for (;;) {
			page = lib_page(&b->lib, prev, &n);
			billing_page_free(prev);
			++*pages;
			*rows += n;
			if (!billing_page_has_more(page))
				break;
			prev = page;
		}
		billing_page_free(page);
	} else {
		struct raw_cursor cur = { 0, "", "" };
		int more = 1;
		while (more) {
			*rows += raw_page(&b->raw, &cur, &more);
			++*pages;
		}
	}
	return bench_now_s() - t0;
}

/* Full walks per side, interleaved walk by walk (which side goes first
 * alternates), until each side has at least min_pages pages; adds seconds
 * and pages to secs[] and pages[]. Dies if a walk misses a row. */
static void run_pages(struct bench *b, size_t min_pages, double secs[2], size_t pages[2])
{
	size_t start = pages[LIB] < pages[RAW] ? pages[LIB] : pages[RAW], k;
	for (k = 0; (pages[LIB] < pages[RAW] ? pages[LIB] : pages[RAW]) - start < min_pages; k++) {
		enum side order[2];
		int j;
		order[0] = k % 2 ? RAW : LIB;
		order[1] = order[0] == LIB ? RAW : LIB;
		for (j = 0; j < 2; j++) {
			size_t p, rows;
			secs[order[j]] += walk(b, order[j], &p, &rows);
			pages[order[j]] += p;
			if (rows != b->count[order[j]] + b->conc[order[j]])
				bench_die("pages", "a walk did not see every customer");
		}
	}
}

static void report_row(const char *op, double lib, double raw, double target)
{
	double ratio = lib / raw;
	printf("%-36s %12.0f %12.0f %7.3f   >=%.2f  %s\n", op, lib, raw, ratio, target,
		ratio >= target ? "PASS" : "BELOW");
}

static int verbose;

/* With BENCH_VERBOSE set in the environment, prints one round's numbers. */
static void show_round(const char *what, int round, double ops, const double secs[2])
{
	if (verbose)
		fprintf(stderr, "  %-6s round %d: library %10.0f/s  raw %10.0f/s  ratio %.3f\n",
			what, round, ops / secs[LIB], ops / secs[RAW], secs[RAW] / secs[LIB]);
}

/* One text value from a one-row query on the owner's connection. */
/* ------------------------------------------------------------ concurrent creates */

/*
 * T threads at once on each side, one durable create per call. The library
 * side calls billing_customer_create on a context whose pool holds T
 * connections (billing_postgres_storage_new, max_connections = T); the raw
 * side gives every thread a billing_app connection of its own doing the
 * three round trips per row of raw_create. The sides take turns in rounds
 * (library, raw, raw, library), each round n/4 creates split over the
 * threads; rate = creates / wall time.
 */
#define CONC_ROUNDS 4

struct conc {
	enum side side;
	struct lib *lib;
	const struct raw *raw0;       /* the main raw connection: tenant, BEGIN text */
	unsigned int index;
	size_t count;
	uint64_t seq0;
	pthread_barrier_t *start;
};

static void *conc_worker(void *arg)
{
	struct conc *c = arg;
	struct raw r;
	char id[ID_LEN];
	size_t i;

	if (c->side == RAW) {
		r = *c->raw0;
		if ((r.pg = connect_as("billing_app", schema_raw)) == NULL)
			bench_die("raw", "cannot connect as billing_app");
		raw_prepare(r.pg, "insert", "INSERT INTO customers (" CUSTOMER_COLS ") "
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10);
		raw_prepare(r.pg, "idem", IDEM_SQL, 6);
		r.id_seq += ((uint64_t)1 << 36) + c->seq0;  /* unique: seq0 is */
	}
	pthread_barrier_wait(c->start);
	for (i = 0; i < c->count; i++) {
		if (c->side == LIB)
			lib_create(c->lib, c->seq0 + i, id);
		else
			raw_create(&r, c->seq0 + i, id);
	}
	if (c->side == RAW)
		raw_close(&r);
	return NULL;
}

static double conc_round(enum side s, struct lib *lib, const struct raw *raw0, size_t n,
	unsigned int t, uint64_t *seq)
{
	pthread_t th[256];
	struct conc c[256];
	pthread_barrier_t start;
	unsigned int i;
	double t0;

	if (pthread_barrier_init(&start, NULL, t + 1) != 0)
		bench_die("pthread_barrier_init", "failed");
	for (i = 0; i < t; i++) {
		c[i] = (struct conc){ s, lib, raw0, i, n / t + (i < n % t ? 1 : 0), *seq, &start };
		*seq += c[i].count;
		if (pthread_create(&th[i], NULL, conc_worker, &c[i]) != 0)
			bench_die("pthread_create", "failed");
	}
	pthread_barrier_wait(&start);
	t0 = bench_now_s();
	for (i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	t0 = bench_now_s() - t0;
	pthread_barrier_destroy(&start);
	return t0;
}

/* The tenant's customers in schema, counted by the owner as the tenant
 * (row-level security is forced on the table, for its owner too). */
static long long count_customers(const char *schema, const char *tenant_id)
{
	char sql[512], *lit;
	PGresult *r;
	long long n;

	if ((lit = PQescapeLiteral(owner, tenant_id, strlen(tenant_id))) == NULL)
		die_pg(owner, "escape");
	snprintf(sql, sizeof(sql), "BEGIN; SELECT set_config('billing.tenant_id', %s, true), "
		"set_config('billing.platform', 'off', true); SELECT count(*) FROM %s.customers",
		lit, schema);
	PQfreemem(lit);
	r = PQexec(owner, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		die_pg(owner, "count customers");
	}
	n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	exec_ok(owner, "COMMIT", "count customers");
	return n;
}

/* Runs the rounds; adds each side's seconds to secs[] and creates to done[]. */
static void run_concurrent(struct lib *lib, const struct raw *raw0, size_t n, unsigned int t,
	uint64_t seq[2], double secs[2], size_t done[2])
{
	static const enum side order[CONC_ROUNDS] = { LIB, RAW, RAW, LIB };
	size_t per = n / CONC_ROUNDS;
	int i;

	for (i = 0; i < CONC_ROUNDS; i++) {
		enum side s = order[i];
		double r = conc_round(s, lib, raw0, per, t, &seq[s]);
		secs[s] += r;
		done[s] += per;
		if (verbose)
			fprintf(stderr, "  concurrent round %d: %s %.0f/s\n", i,
				s == LIB ? "library" : "raw", (double)per / r);
	}
}

static void show(const char *sql, char *out, size_t size)
{
	PGresult *r = PQexec(owner, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
		PQclear(r);
		die_pg(owner, sql);
	}
	snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

int main(int argc, char **argv)
{
	billing_principal platform = { NULL, "bench", BILLING_ROLE_PLATFORM };
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *tenant = NULL;
	billing_ctx *own_ctx = NULL;
	struct bench b;
	char url[900], sql[256], fsync_[32], version[64], sync_commit[32];
	const char *host = getenv("BILLING_TEST_PG_HOST");
	size_t n = DEFAULT_CREATES, m = DEFAULT_GETS;
	double secs_c[2] = { 0, 0 }, secs_g[2] = { 0, 0 }, secs_p[2] = { 0, 0 }, warm[2] = { 0, 0 };
	double t_start, get_lib_us, get_raw_us;
	size_t pages[2] = { 0, 0 }, pages_warm[2] = { 0, 0 }, per_round;
	uint64_t rng[2] = { 0x9e3779b97f4a7c15ull, 0x9e3779b97f4a7c15ull };
	int round;
	unsigned int threads = DEFAULT_THREADS;
	double secs_t[2] = { 0, 0 };
	size_t done_t[2] = { 0, 0 };
	long long rows[2];
	struct lib conc_lib;

	if (argc > 4 || (argc >= 2 && ((n = strtoul(argv[1], NULL, 10)) < 1 || n > 10000000)) ||
	    (argc >= 3 && ((m = strtoul(argv[2], NULL, 10)) < READ_ROUNDS || m > 100000000)) ||
	    (argc == 4 && ((threads = (unsigned int)strtoul(argv[3], NULL, 10)) < 1 ||
	    threads > 256))) {
		fprintf(stderr, "usage: %s [N [M [T]]]   (N >= 1 creates per side, default %d;\n"
			"       M >= %d gets per side, default %d; T threads for the\n"
			"       concurrent creates, 1-256, default %d)\n"
			"run under scripts/with-postgres.sh (BILLING_TEST_PG_HOST)\n",
			argv[0], DEFAULT_CREATES, READ_ROUNDS, DEFAULT_GETS, DEFAULT_THREADS);
		return 2;
	}
	if (!host || !*host) {
		fprintf(stderr, "bench_postgres: BILLING_TEST_PG_HOST is not set; run it as\n"
			"  BILLING_PG_FSYNC=on scripts/with-postgres.sh %s [N]\n", argv[0]);
		return 2;
	}
	snprintf(pg_host, sizeof(pg_host), "%s", host);
	t_start = bench_now_s();
	verbose = getenv("BENCH_VERBOSE") != NULL;
	keyed = getenv("BENCH_KEYED") != NULL && strcmp(getenv("BENCH_KEYED"), "0") != 0;

	/* Two fresh schemas, as the owner; dropped at exit whatever happens. */
	if ((owner = connect_as("billing_owner", NULL)) == NULL)
		return 1;
	snprintf(schema_lib, sizeof(schema_lib), "bench_lib_%ld", (long)getpid());
	snprintf(schema_raw, sizeof(schema_raw), "bench_raw_%ld", (long)getpid());
	atexit(drop_schemas);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s; CREATE SCHEMA %s", schema_lib, schema_raw);
	exec_ok(owner, sql, "create schemas");
	show("SHOW fsync", fsync_, sizeof(fsync_));
	show("SHOW synchronous_commit", sync_commit, sizeof(sync_commit));
	show("SHOW server_version", version, sizeof(version));

	/* The library side: migrated as the owner, then run as billing_app. */
	memset(&b, 0, sizeof(b));
	snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_owner "
		"options='-c search_path=%s'", pg_host, schema_lib);
	if (billing_ctx_open_url(&own_ctx, url, NULL) < 0)
		bench_die_lib("billing_ctx_open_url (owner)");
	if (billing_migrate(own_ctx) < 0)
		bench_die_lib("billing_migrate");
	billing_ctx_close(own_ctx);
	snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_app "
		"options='-c search_path=%s'", pg_host, schema_lib);
	if (billing_ctx_open_url(&b.lib.ctx, url, NULL) < 0)
		bench_die_lib("billing_ctx_open_url (billing_app)");
	tp.name = "bench";
	if (billing_tenant_create(&tenant, b.lib.ctx, &platform, &tp, NULL) < 0)
		bench_die_lib("billing_tenant_create");
	snprintf(b.lib.tenant_id, sizeof(b.lib.tenant_id), "%s", billing_tenant_id(tenant));
	billing_tenant_free(tenant);
	b.lib.who.tenant_id = b.lib.tenant_id;
	b.lib.who.user_id = "bench";
	b.lib.who.role = BILLING_ROLE_ADMIN;

	/* The raw side: same schema SQL, same tenant id, its own schema. */
	raw_open(&b.raw, b.lib.tenant_id);

	b.cap = n + WARMUP_CREATES;
	b.ids[LIB] = calloc(b.cap, ID_LEN);
	b.ids[RAW] = calloc(b.cap, ID_LEN);
	if (!b.ids[LIB] || !b.ids[RAW])
		bench_die("calloc", "out of memory");

	printf("bench_postgres: PostgreSQL %s (libpq %d) on socket %s, fsync=%s, "
		"synchronous_commit=%s\n", version, PQlibVersion(), pg_host, fsync_, sync_commit);
	printf("both sides as billing_app (RLS on); schemas %s (library), %s (raw)\n",
		schema_lib, schema_raw);
	if (strcmp(fsync_, "on") != 0)
		printf("WARNING: fsync is %s on this server: commits are NOT durable and the\n"
			"         create numbers mean nothing. Run with BILLING_PG_FSYNC=on.\n", fsync_);
	per_round = (m + READ_ROUNDS - 1) / READ_ROUNDS;
	printf("per side: %zu creates (interleaved call by call); %d rounds of %zu gets (blocks\n"
		"of %d) and of >= %d pages of %d (walk by walk); rate = total ops / total time\n\n",
		n, READ_ROUNDS, per_round, GET_BLOCK, MIN_PAGES, PAGE_SIZE);
	fflush(stdout);

	/* 1. Single-row creates, one transaction each, interleaved call by call. */
	for (round = 0; round < WARMUP_CREATES; round++) {
		create_one(&b, LIB);
		create_one(&b, RAW);
	}
	run_creates(&b, n, secs_c);
	if (verbose)
		fprintf(stderr, "  create  library %.3f s, raw %.3f s for %zu each\n",
			secs_c[LIB], secs_c[RAW], n);

	/* 1b. The same creates from T threads at once on each side: the
	 * library through a context whose pool holds T connections. */
	{
		billing_postgres_options po = BILLING_POSTGRES_OPTIONS_INIT;
		billing_ctx_options co = BILLING_CTX_OPTIONS_INIT;
		char conninfo[900];
		snprintf(conninfo, sizeof(conninfo), "host=%s dbname=billing user=billing_app "
			"options='-c search_path=%s'", pg_host, schema_lib);
		po.max_connections = threads;
		if (billing_postgres_storage_new(&co.storage, conninfo, &po) < 0)
			bench_die_lib("billing_postgres_storage_new (concurrent)");
		conc_lib = b.lib;
		if (billing_ctx_open(&conc_lib.ctx, &co) < 0)
			bench_die_lib("billing_ctx_open (concurrent)");
		for (round = 0; round < WARMUP_CREATES; round++) {
			char id[ID_LEN];
			lib_create(&conc_lib, b.seq[LIB]++, id);
			raw_create(&b.raw, b.seq[RAW]++, id);  /* the same rows on both sides */
		}
		run_concurrent(&conc_lib, &b.raw, n, threads, b.seq, secs_t, done_t);
		billing_ctx_close(conc_lib.ctx);
		b.conc[LIB] = done_t[LIB] + WARMUP_CREATES;
		b.conc[RAW] = done_t[RAW] + WARMUP_CREATES;
	}

	/* Both tables analyzed alike, so both get the same plans. */
	snprintf(sql, sizeof(sql), "ANALYZE %s.customers; ANALYZE %s.customers",
		schema_lib, schema_raw);
	exec_ok(owner, sql, "analyze");

	/* 2. Point gets. */
	run_gets(&b, WARMUP_GETS, warm, rng, 0);
	for (round = 0; round < READ_ROUNDS; round++) {
		double r[2] = { 0, 0 };
		size_t k = m - (size_t)round * per_round < per_round ?
			m - (size_t)round * per_round : per_round;
		run_gets(&b, k, r, rng, 1);
		show_round("get", round, (double)k, r);
		secs_g[LIB] += r[LIB];
		secs_g[RAW] += r[RAW];
	}

	/* 3. Keyset pages through all customers, walk after walk. */
	run_pages(&b, 1, warm, pages_warm);
	for (round = 0; round < READ_ROUNDS; round++) {
		double r[2] = { 0, 0 };
		size_t p[2] = { 0, 0 };
		run_pages(&b, MIN_PAGES, r, p);
		show_round("page", round, (double)p[LIB], r);
		secs_p[LIB] += r[LIB];
		secs_p[RAW] += r[RAW];
		pages[LIB] += p[LIB];
		pages[RAW] += p[RAW];
	}

	printf("%-36s %12s %12s %7s   %-6s %s\n", "operation", "library/s", "raw/s",
		"ratio", "target", "verdict");
	printf("%-36s %12s %12s %7s   %-6s %s\n", "------------------------------------",
		"------------", "------------", "-------", "------", "-------");
	report_row(strcmp(fsync_, "on") == 0 ? "create (1 row/txn, durable)" :
		"create (1 row/txn, fsync OFF)", (double)n / secs_c[LIB],
		(double)n / secs_c[RAW], TARGET_WRITE);
	{
		char label[48];
		snprintf(label, sizeof(label), "create, %u threads/connections", threads);
		report_row(label, (double)done_t[LIB] / secs_t[LIB], (double)done_t[RAW] / secs_t[RAW],
			TARGET_CONCURRENT);
	}
	report_row("get by id", (double)m / secs_g[LIB], (double)m / secs_g[RAW], TARGET_READ);
	report_row("keyset page of 20 (createdAt)", (double)pages[LIB] / secs_p[LIB],
		(double)pages[RAW] / secs_p[RAW], TARGET_READ);
	get_lib_us = secs_g[LIB] * 1e6 / (double)m;
	get_raw_us = secs_g[RAW] * 1e6 / (double)m;
	printf("\nget overhead per call: library %.1f us - raw %.1f us = %.1f us   "
		"target <=%.0f us  %s\n", get_lib_us, get_raw_us, get_lib_us - get_raw_us,
		TARGET_GET_OVERHEAD_US,
		get_lib_us - get_raw_us <= TARGET_GET_OVERHEAD_US ? "PASS" : "ABOVE");
	printf("  (median over %zu paired blocks of %d: %.1f us)\n", block_count, GET_BLOCK,
		median_block_diff());
	rows[LIB] = count_customers(schema_lib, b.lib.tenant_id);
	rows[RAW] = count_customers(schema_raw, b.lib.tenant_id);
	printf("\ncheck: customers library %lld, raw %lld (expected %zu each): %s\n",
		rows[LIB], rows[RAW], b.count[LIB] + b.conc[LIB],
		rows[LIB] == rows[RAW] && rows[LIB] == (long long)(b.count[LIB] + b.conc[LIB]) ?
		"SAME" : "DIFFER");
	printf("\nratio = library ops/s / raw ops/s (1.00 = no overhead). Every raw call is\n"
		"3 round trips: BEGIN+set_config, the statement, COMMIT; the library's create\n"
		"also writes its event and audit rows (the raw side writes the customer only).\n"
		"%s"
		"%zu customers per side; one walk = %zu pages; total %.1f s.\n",
		keyed ? "BENCH_KEYED: every create has an idempotency key; the raw create writes "
		"the key's row too (4 round trips).\n" : "",
		b.count[LIB] + b.conc[LIB], (b.count[LIB] + b.conc[LIB] + PAGE_SIZE - 1) / PAGE_SIZE,
		bench_now_s() - t_start);
	if (strcmp(fsync_, "on") != 0)
		printf("WARNING: fsync=%s: the create line is not a durable-write number.\n", fsync_);

	billing_ctx_close(b.lib.ctx);
	raw_close(&b.raw);
	free(b.ids[LIB]);
	free(b.ids[RAW]);
	free(block_diffs);
	drop_schemas();
	return 0;
}
