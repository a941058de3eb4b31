/*
 * bench_sqlite: the library's customer calls on SQLite against the same work
 * done with raw sqlite3 calls on an identical schema.
 *
 *   bench_sqlite [N]      N single-row creates per side (default 2000)
 *
 * Both sides run in one process on one fresh temporary directory (removed at
 * the end), each on its own database file:
 *
 *   library  billing_ctx_open_url("sqlite:DIR/lib.db") + billing_migrate
 *   raw      DIR/raw.db, opened like the library opens its connections
 *            (READWRITE|CREATE|NOMUTEX, extended result codes, busy timeout
 *            5000 ms, journal_mode=WAL, synchronous=FULL, foreign_keys=ON),
 *            the library's own migration SQL (billing__migrations()), and
 *            prepared statements reused for every call.
 *
 * Per call the raw side does what the library's SQLite backend does:
 *   create  BEGIN IMMEDIATE; INSERT INTO customers (same 10 columns); COMMIT
 *   get     BEGIN; SELECT the same columns WHERE tenant_id = ? AND id = ?; COMMIT
 *   page    BEGIN; SELECT ... WHERE tenant_id = ? [AND (created_at, id) > (?, ?)]
 *           ORDER BY created_at, id LIMIT n + 1; COMMIT
 * and reads every column of every row it returns (it does not copy them into
 * heap objects: that, like validation, ids, authorization, the connection
 * pool and signed cursors, is the library's overhead being measured).
 *
 * The two sides are interleaved so that both see the same machine (a shared
 * VM's speed drifts by tens of percent within seconds): creates call by call
 * (each call timed), gets in blocks of 500, pages walk by walk, with the
 * side that goes first alternating. Each side's rate is its total operations
 * over its total time.
 * The program reports; it exits 0 whatever the ratios are.
 */
#include <dirent.h>
#include <pthread.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "billing/ctx.h"
#include "billing/customer.h"
#include "billing/errors.h"
#include "billing/list.h"
#include "billing/principal.h"
#include "billing/tenant.h"
#include "storage/migrations.h"
#include "support.h"

#define DEFAULT_CREATES 2000
#define DEFAULT_GETS 20000
#define PAGE_SIZE 20
#define READ_ROUNDS 5          /* gets and pages: rounds, each interleaved */
#define GET_BLOCK 500          /* gets interleave in blocks of this many */
#define WARMUP_CREATES 16      /* per side, untimed: statement caches, file growth */
#define WARMUP_GETS 1000
#define MIN_PAGES 2000         /* pages per side per round: full walks repeated */
#define BATCH_SIZE 1000
#define DEFAULT_THREADS 16
#define TARGET_CONCURRENT 2.0
#define BUSY_TIMEOUT_MS 5000
#define ID_LEN 48

#define TARGET_WRITE 0.90
#define TARGET_READ 0.70

#define CUSTOMER_COLS "tenant_id, id, name, email, email_key, default_payment_method, " \
	"metadata, created_at, updated_at, version"

/* ------------------------------------------------------------ utilities */

static char tmp_dir[512];

static void remove_tmp_dir(void)
{
	DIR *d;
	struct dirent *e;
	char path[1024];

	if (!tmp_dir[0])
		return;
	if ((d = opendir(tmp_dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmp_dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(tmp_dir);
	tmp_dir[0] = '\0';
}

static void die_sql(sqlite3 *db, const char *what)
{
	bench_die(what, sqlite3_errmsg(db));
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

/* ------------------------------------------------------------ the raw side */

struct raw {
	sqlite3 *db;
	sqlite3_stmt *begin_immediate, *begin, *commit;
	sqlite3_stmt *insert, *get, *page_first, *page_after;
	char tenant_id[ID_LEN];
	uint64_t id_seq;
};

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		bench_die("raw sqlite3_exec", err);
}

static sqlite3_stmt *raw_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		die_sql(db, "raw prepare");
	return s;
}

static void raw_step_done(sqlite3 *db, sqlite3_stmt *s)
{
	if (sqlite3_step(s) != SQLITE_DONE)
		die_sql(db, "raw step");
	sqlite3_reset(s);
}

/* Opens path as the library opens a pooled connection and applies the
 * library's migration SQL plus one tenant row (customers reference it). */
static void raw_connect(struct raw *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	if (sqlite3_open_v2(path, &r->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		die_sql(r->db, "raw open");
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
	raw_exec(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
}

static void raw_prepare_all(struct raw *r, const char *tenant_id)
{
	snprintf(r->tenant_id, sizeof(r->tenant_id), "%s", tenant_id);
	r->begin_immediate = raw_prepare(r->db, "BEGIN IMMEDIATE");
	r->begin = raw_prepare(r->db, "BEGIN");
	r->commit = raw_prepare(r->db, "COMMIT");
	r->insert = raw_prepare(r->db, "INSERT INTO customers (" CUSTOMER_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
	r->get = raw_prepare(r->db, "SELECT " CUSTOMER_COLS " FROM customers "
		"WHERE tenant_id = ?1 AND id = ?2");
	r->page_first = raw_prepare(r->db, "SELECT " CUSTOMER_COLS " FROM customers "
		"WHERE tenant_id = ?1 ORDER BY created_at ASC, id ASC LIMIT ?2");
	r->page_after = raw_prepare(r->db, "SELECT " CUSTOMER_COLS " FROM customers "
		"WHERE tenant_id = ?1 AND (created_at, id) > (?2, ?3) "
		"ORDER BY created_at ASC, id ASC LIMIT ?4");
	r->id_seq = (uint64_t)time(NULL) << 20;
}

static void raw_open(struct raw *r, const char *path, const char *tenant_id)
{
	const billing__migration *m;
	size_t n, i;
	sqlite3_stmt *s;

	raw_connect(r, path);
	m = billing__migrations(&n);
	raw_exec(r->db, "BEGIN IMMEDIATE");
	for (i = 0; i < n; i++)
		raw_exec(r->db, m[i].sql);
	s = raw_prepare(r->db, "INSERT INTO tenants (tenant_id, name, invoice_prefix, "
		"created_at, updated_at, version) VALUES (?1, 'bench', 'INV-', ?2, ?2, 1)");
	sqlite3_bind_text(s, 1, tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
	raw_step_done(r->db, s);
	sqlite3_finalize(s);
	raw_exec(r->db, "COMMIT");
	raw_prepare_all(r, tenant_id);
}

static void raw_close(struct raw *r)
{
	sqlite3_finalize(r->begin_immediate);
	sqlite3_finalize(r->begin);
	sqlite3_finalize(r->commit);
	sqlite3_finalize(r->insert);
	sqlite3_finalize(r->get);
	sqlite3_finalize(r->page_first);
	sqlite3_finalize(r->page_after);
	if (sqlite3_close(r->db) != SQLITE_OK)
		die_sql(r->db, "raw close");
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
static void raw_insert_row(struct raw *r, uint64_t seq, char id_out[ID_LEN])
{
	char name[64], email[64], key[64];
	int64_t now = (int64_t)time(NULL);
	size_t i;

	snprintf(name, sizeof(name), "Bench Customer %" PRIu64, seq);
	snprintf(email, sizeof(email), "Customer%" PRIu64 "@Bench.example", seq);
	for (i = 0; email[i]; i++)
		key[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
	key[i] = '\0';
	raw_id(r, id_out);

	sqlite3_bind_text(r->insert, 1, r->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(r->insert, 2, id_out, -1, SQLITE_STATIC);
	sqlite3_bind_text(r->insert, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(r->insert, 4, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(r->insert, 5, key, -1, SQLITE_STATIC);
	sqlite3_bind_null(r->insert, 6);
	sqlite3_bind_text(r->insert, 7, "{}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(r->insert, 8, now);
	sqlite3_bind_int64(r->insert, 9, now);
	sqlite3_bind_int64(r->insert, 10, 1);
	raw_step_done(r->db, r->insert);
}

static void raw_create(struct raw *r, uint64_t seq, char id_out[ID_LEN])
{
	raw_step_done(r->db, r->begin_immediate);
	raw_insert_row(r, seq, id_out);
	raw_step_done(r->db, r->commit);
}

/* Reads every column of the current row. */
static uint64_t raw_read_row(sqlite3_stmt *s)
{
	uint64_t h = 0;
	int c;
	for (c = 0; c < 7; c++)
		h = fold_text(h, (const char *)sqlite3_column_text(s, c));
	for (c = 7; c < 10; c++)
		h += (uint64_t)sqlite3_column_int64(s, c);
	return h;
}

static void raw_get(struct raw *r, const char *id)
{
	int rc;
	raw_step_done(r->db, r->begin);
	sqlite3_bind_text(r->get, 1, r->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(r->get, 2, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(r->get)) != SQLITE_ROW)
		die_sql(r->db, "raw get: no row");
	sink += raw_read_row(r->get);
	sqlite3_reset(r->get);
	raw_step_done(r->db, r->commit);
}

/* Keyset position of the raw walk: the last row's (created_at, id). */
struct raw_cursor {
	int valid;
	int64_t created_at;
	char id[ID_LEN];
};

/* One page of PAGE_SIZE; returns its row count, sets *more. */
static size_t raw_page(struct raw *r, struct raw_cursor *cur, int *more)
{
	sqlite3_stmt *s = cur->valid ? r->page_after : r->page_first;
	size_t rows = 0;
	int rc;

	raw_step_done(r->db, r->begin);
	sqlite3_bind_text(s, 1, r->tenant_id, -1, SQLITE_STATIC);
	if (cur->valid) {
		sqlite3_bind_int64(s, 2, cur->created_at);
		sqlite3_bind_text(s, 3, cur->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 4, PAGE_SIZE + 1);
	} else {
		sqlite3_bind_int(s, 2, PAGE_SIZE + 1);
	}
	*more = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (rows == PAGE_SIZE) {
			*more = 1;
			rc = SQLITE_DONE;
			break;
		}
		sink += raw_read_row(s);
		rows++;
		cur->created_at = sqlite3_column_int64(s, 7);
		snprintf(cur->id, sizeof(cur->id), "%s", (const char *)sqlite3_column_text(s, 1));
	}
	if (rc != SQLITE_DONE)
		die_sql(r->db, "raw page");
	sqlite3_reset(s);
	raw_step_done(r->db, r->commit);
	cur->valid = 1;
	return rows;
}

/* ------------------------------------------------------------ the library side */

struct lib {
	billing_ctx *ctx;
	billing_principal who;
	char tenant_id[ID_LEN];
	uint64_t seq;
};

static void lib_create(struct lib *l, uint64_t seq, char id_out[ID_LEN])
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	char name[64], email[64];

	snprintf(name, sizeof(name), "Bench Customer %" PRIu64, seq);
	snprintf(email, sizeof(email), "Customer%" PRIu64 "@Bench.example", seq);
	p.name = name;
	p.email = email;
	if (billing_customer_create(&c, l->ctx, &l->who, &p, NULL) < 0)
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
 * alternates), each call timed on its own: durable writes are dominated by
 * fsync, whose latency drifts, and interleaving exposes both sides to the
 * same drift. Adds each side's seconds to secs[]. */
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

/* Checkpoints a WAL database and truncates its WAL, through a connection of
 * its own. Done on both databases before the reads: a long WAL makes every
 * page read search the WAL index, and how long each side's WAL happens to be
 * after the creates depends on when auto-checkpoints fell, which is noise. */
static void checkpoint(const char *path)
{
	sqlite3 *db = NULL;
	int rc;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		die_sql(db, "checkpoint open");
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (rc != SQLITE_OK)
		die_sql(db, "checkpoint");
	sqlite3_close(db);
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

/* m gets per side, interleaved in blocks of GET_BLOCK (which side goes
 * first alternates); adds each side's seconds to secs[]. */
static void run_gets(struct bench *b, size_t m, double secs[2])
{
	uint64_t rng[2] = { 0x9e3779b97f4a7c15ull, 0x9e3779b97f4a7c15ull };
	size_t done, k;
	for (done = 0, k = 0; done < m; done += GET_BLOCK, k++) {
		size_t len = m - done < GET_BLOCK ? m - done : GET_BLOCK;
		enum side first = k % 2 ? RAW : LIB, second = first == LIB ? RAW : LIB;
		secs[first] += gets_block(b, first, len, &rng[first]);
		secs[second] += gets_block(b, second, len, &rng[second]);
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
		struct raw_cursor cur = { 0, 0, "" };
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

/* Raw batched inserts into a database of their own (same schema and
 * pragmas), BATCH_SIZE rows per transaction; returns rows/s. */
static double run_raw_batched(const char *path, const char *tenant_id, size_t rows)
{
	struct raw r;
	char id[ID_LEN];
	size_t i;
	double t0;

	raw_open(&r, path, tenant_id);
	t0 = bench_now_s();
	for (i = 0; i < rows; i++) {
		if (i % BATCH_SIZE == 0)
			raw_step_done(r.db, r.begin_immediate);
		raw_insert_row(&r, i, id);
		if (i % BATCH_SIZE == BATCH_SIZE - 1 || i == rows - 1)
			raw_step_done(r.db, r.commit);
	}
	t0 = (double)rows / (bench_now_s() - t0);
	raw_close(&r);
	return t0;
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

/* ------------------------------------------------------------ concurrent creates */

/*
 * T threads at once on each side, one durable create per call: the library
 * side calls billing_customer_create on the one context (its writers take
 * turns and share COMMITs: group commit); the raw side gives every thread a
 * connection of its own doing BEGIN IMMEDIATE; INSERT; COMMIT per row, the
 * one-fsync-per-row limit (its writers queue in SQLite's busy handler).
 * The sides take turns in rounds (library, raw, raw, library), each round
 * n/4 creates split over the threads; rate = creates / wall time.
 */
#define CONC_ROUNDS 4

struct conc {
	enum side side;
	struct lib *lib;
	const char *raw_path;
	const char *tenant_id;
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
		raw_connect(&r, c->raw_path);
		raw_prepare_all(&r, c->tenant_id);
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

/* One round of n creates on side s by t threads; returns its seconds.
 * *seq numbers the creates (names and e-mails unique per side). */
static double conc_round(enum side s, struct lib *lib, const char *raw_path, size_t n,
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
		c[i] = (struct conc){ s, lib, raw_path, lib->tenant_id, i,
			n / t + (i < n % t ? 1 : 0), *seq, &start };
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

/* Customers of the tenant in the database at path, by a connection of its own. */
static int64_t count_customers(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s;
	int64_t n;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die_sql(db, "count open");
	s = raw_prepare(db, "SELECT count(*) FROM customers");
	if (sqlite3_step(s) != SQLITE_ROW)
		die_sql(db, "count");
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void run_concurrent(struct bench *b, size_t n, unsigned int t, double secs[2])
{
	static const enum side order[CONC_ROUNDS] = { LIB, RAW, RAW, LIB };
	char raw_path[600];
	size_t per = n / CONC_ROUNDS;
	int i;

	snprintf(raw_path, sizeof(raw_path), "%s/raw.db", tmp_dir);
	for (i = 0; i < CONC_ROUNDS; i++) {
		enum side s = order[i];
		double r = conc_round(s, &b->lib, raw_path, per, t, &b->seq[s]);
		secs[s] += r;
		b->conc[s] += per;
		if (verbose)
			fprintf(stderr, "  concurrent round %d: %s %.0f/s\n", i,
				s == LIB ? "library" : "raw", (double)per / r);
	}
}

static const char *fs_note(const char *dir)
{
	struct statfs sf;
	if (statfs(dir, &sf) != 0)
		return "unknown filesystem";
	if (sf.f_type == 0x01021994) /* TMPFS_MAGIC */
		return "tmpfs: fsync is a no-op, durable-write numbers are NOT durable";
	return "disk-backed";
}

int main(int argc, char **argv)
{
	billing_principal platform = { NULL, "bench", BILLING_ROLE_PLATFORM };
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *tenant = NULL;
	struct bench b;
	char path[600], url[640];
	const char *base = getenv("TMPDIR");
	size_t n = DEFAULT_CREATES, m = DEFAULT_GETS;
	unsigned int threads = DEFAULT_THREADS;
	double secs_t[2] = { 0, 0 };
	int64_t rows[2];
	double secs_c[2] = { 0, 0 }, secs_g[2] = { 0, 0 }, secs_p[2] = { 0, 0 }, warm[2] = { 0, 0 };
	double batched, t_start;
	size_t pages[2] = { 0, 0 }, pages_warm[2] = { 0, 0 };
	int round;

	if (argc > 3 || (argc >= 2 && ((n = strtoul(argv[1], NULL, 10)) < 1 ||
	    n > 10000000)) || (argc == 3 && ((threads = (unsigned int)strtoul(argv[2], NULL, 10)) < 1 ||
	    threads > 256))) {
		fprintf(stderr, "usage: %s [N [T]]   (N >= 1 creates per side, default %d; "
			"T threads for the concurrent creates, 1-256, default %d)\n",
			argv[0], DEFAULT_CREATES, DEFAULT_THREADS);
		return 2;
	}
	t_start = bench_now_s();
	verbose = getenv("BENCH_VERBOSE") != NULL;

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/bench_sqlite.XXXXXX",
		base && *base ? base : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		tmp_dir[0] = '\0';
		bench_die("mkdtemp", "cannot make the temporary directory");
	}
	atexit(remove_tmp_dir);

	/* The library side: a tenant made by the platform, then its admin. */
	memset(&b, 0, sizeof(b));
	snprintf(url, sizeof(url), "sqlite:%s/lib.db", tmp_dir);
	if (billing_ctx_open_url(&b.lib.ctx, url, NULL) < 0)
		bench_die_lib("billing_ctx_open_url");
	if (billing_migrate(b.lib.ctx) < 0)
		bench_die_lib("billing_migrate");
	tp.name = "bench";
	if (billing_tenant_create(&tenant, b.lib.ctx, &platform, &tp, NULL) < 0)
		bench_die_lib("billing_tenant_create");
	snprintf(b.lib.tenant_id, sizeof(b.lib.tenant_id), "%s", billing_tenant_id(tenant));
	billing_tenant_free(tenant);
	b.lib.who.tenant_id = b.lib.tenant_id;
	b.lib.who.user_id = "bench";
	b.lib.who.role = BILLING_ROLE_ADMIN;

	/* The raw side: same schema, same tenant id, its own file. */
	snprintf(path, sizeof(path), "%s/raw.db", tmp_dir);
	raw_open(&b.raw, path, b.lib.tenant_id);

	b.cap = n + WARMUP_CREATES;
	b.ids[LIB] = calloc(b.cap, ID_LEN);
	b.ids[RAW] = calloc(b.cap, ID_LEN);
	if (!b.ids[LIB] || !b.ids[RAW])
		bench_die("calloc", "out of memory");

	printf("bench_sqlite: SQLite %s, WAL + synchronous=FULL, dir %s (%s)\n",
		sqlite3_libversion(), tmp_dir, fs_note(tmp_dir));
	printf("per side: %zu creates (interleaved call by call); %d rounds of %zu gets (blocks\n"
		"of %d) and of >= %d pages of %d (walk by walk); rate = total ops / total time\n\n",
		n, READ_ROUNDS, m, GET_BLOCK, MIN_PAGES, PAGE_SIZE);
	fflush(stdout);

	/* 1. Durable single-row creates, interleaved call by call. */
	for (round = 0; round < WARMUP_CREATES; round++) {
		create_one(&b, LIB);
		create_one(&b, RAW);
	}
	run_creates(&b, n, secs_c);
	if (verbose)
		fprintf(stderr, "  create  library %.3f s, raw %.3f s for %zu each\n",
			secs_c[LIB], secs_c[RAW], n);

	/* 1b. The same creates from T threads at once on each side. */
	run_concurrent(&b, n, threads, secs_t);

	/* 2. Raw batched creates: a reference line, no library counterpart. */
	snprintf(path, sizeof(path), "%s/raw_batch.db", tmp_dir);
	batched = run_raw_batched(path, b.lib.tenant_id, n * 10 > 20000 ? n * 10 : 20000);

	/* 3. Point gets, on both databases checkpointed alike. */
	snprintf(path, sizeof(path), "%s/lib.db", tmp_dir);
	checkpoint(path);
	snprintf(path, sizeof(path), "%s/raw.db", tmp_dir);
	checkpoint(path);
	run_gets(&b, WARMUP_GETS, warm);
	for (round = 0; round < READ_ROUNDS; round++) {
		double r[2] = { 0, 0 };
		run_gets(&b, m, r);
		show_round("get", round, (double)m, r);
		secs_g[LIB] += r[LIB];
		secs_g[RAW] += r[RAW];
	}

	/* 4. Keyset pages through all customers, walk after walk. */
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
	report_row("create (1 row/txn, durable)", (double)n / secs_c[LIB], (double)n / secs_c[RAW],
		TARGET_WRITE);
	{
		char label[48];
		snprintf(label, sizeof(label), "create, %u threads (durable)", threads);
		report_row(label, (double)b.conc[LIB] / secs_t[LIB],
			(double)b.conc[RAW] / secs_t[RAW], TARGET_CONCURRENT);
	}
	printf("%-36s %12s %12.0f %7s   %-6s %s\n", "raw batched (1000 rows/txn)", "-", batched,
		"n/a", "-", "reference");
	report_row("get by id", (double)m * READ_ROUNDS / secs_g[LIB],
		(double)m * READ_ROUNDS / secs_g[RAW], TARGET_READ);
	report_row("keyset page of 20 (createdAt)", (double)pages[LIB] / secs_p[LIB],
		(double)pages[RAW] / secs_p[RAW], TARGET_READ);
	printf("\nratio = library ops/s / raw ops/s (1.00 = no overhead). The library has no\n"
		"batch-create API, so \"raw batched\" is a reference line only (no ratio): it shows\n"
		"what one fsync per %d rows buys over one fsync per row.\n"
		"%zu customers per side; one walk = %zu pages; total %.1f s.\n",
		BATCH_SIZE, b.count[LIB] + b.conc[LIB],
		(b.count[LIB] + b.conc[LIB] + PAGE_SIZE - 1) / PAGE_SIZE,
		bench_now_s() - t_start);

	snprintf(path, sizeof(path), "%s/lib.db", tmp_dir);
	rows[LIB] = count_customers(path);
	snprintf(path, sizeof(path), "%s/raw.db", tmp_dir);
	rows[RAW] = count_customers(path);
	printf("check: customers library %" PRId64 ", raw %" PRId64 " (expected %zu each): %s\n",
		rows[LIB], rows[RAW], b.count[LIB] + b.conc[LIB], rows[LIB] == rows[RAW] &&
		rows[LIB] == (int64_t)(b.count[LIB] + b.conc[LIB]) ? "SAME" : "DIFFER");

	billing_ctx_close(b.lib.ctx);
	raw_close(&b.raw);
	free(b.ids[LIB]);
	free(b.ids[RAW]);
	remove_tmp_dir();
	return 0;
}
