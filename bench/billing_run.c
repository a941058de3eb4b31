/*
 * bench_billing_run: billing_run_due() on N due subscriptions against the
 * same work done with raw SQL on an identical database, in one run.
 *
 *   bench_billing_run sqlite [N [WORKERS]]
 *   BILLING_PG_FSYNC=on scripts/with-postgres.sh ./build/release/bench/bench_billing_run postgres [N [WORKERS]]
 *
 * N (default 10000) subscriptions of one tenant to one monthly plan, all due
 * at once. Setup (untimed) goes through the public API: a tenant, a product
 * (20 % tax), a monthly plan, N customers and N subscriptions, each created
 * by billing_subscription_create() (which issues and finalizes its first
 * invoice and schedules its renewal), with an injected clock one second
 * apart. The setup runs once, into a seed database, which is then copied
 * into two identical databases, one per side:
 *
 *   SQLite    the seed is built on tmpfs (/dev/shm, where fsync is free, so
 *             setup takes seconds, not an hour of fsyncs), then copied with
 *             VACUUM INTO to TMPDIR/lib.db and TMPDIR/raw.db (on disk).
 *   Postgres  the seed schema is built by billing_app with
 *             synchronous_commit=off (the setup only), then its rows are
 *             copied (INSERT ... SELECT, as billing_owner) into two schemas
 *             each migrated by billing_migrate; VACUUM ANALYZE.
 *
 * Then the clock moves one month (and a little), so every subscription is
 * due for its second period, and the program times
 *
 *   library  billing_run_due(ctx, 0, {max_items = N + 1}, &report)
 *   raw      the same renewals with prepared statements, one transaction per
 *            due subscription (see raw_item() for the statement list)
 *
 * With WORKERS > 1 the library runs with billing_run_limits.workers =
 * WORKERS and the raw side with WORKERS threads, each on its own
 * connection, claiming with FOR UPDATE SKIP LOCKED (raw_concurrent()).
 *
 * and checks that both databases end up holding the same invoices, lines,
 * events (of the same total size), subscriptions and due work.
 *
 * It also reports the resident memory of the process during the library
 * run: /proc/self/clear_refs resets the peak (VmHWM) to the current RSS
 * before the run, VmHWM is read after it. Run it with N = 10000 and
 * N = 100000: the peak must not grow with N (the run holds one item at a
 * time).
 *
 * Durable settings on both sides: SQLite WAL + synchronous=FULL (the
 * library's; the raw connection sets the same); PostgreSQL needs
 * BILLING_PG_FSYNC=on (scripts/with-postgres.sh runs its server with
 * fsync=off by default; the program warns then).
 *
 * BENCH_BLOCKS=k splits the work into k interleaved blocks (library
 * billing_run_due with max_items = N/k, then raw N/k, the side going first
 * alternating) to average out a drifting machine; default 1: one
 * billing_run_due call for all N.
 *
 * The program reports; it exits 0 whatever the ratio is (non-zero only
 * when something fails).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "billing/ctx.h"
#include "billing/customer.h"
#include "billing/errors.h"
#include "billing/plan.h"
#include "billing/principal.h"
#include "billing/product.h"
#include "billing/run.h"
#include "billing/subscription.h"
#include "billing/tenant.h"
#include "core/ctx.h"
#include "storage/postgres/pg_storage.h"
#include "support.h"

#define DEFAULT_N 10000
#define MAX_N 1000000          /* one second of clock per subscription: < 12 days */
#define TARGET_RATIO 0.70
#define BUSY_TIMEOUT_MS 5000
#define ID_LEN 48
#define TEXT_MAX 256
#define JSON_MAX 4096
#define PARAMS_MAX 24

#define T0 INT64_C(1767225600)  /* 2026-01-01T00:00:00Z: setup starts here */
#define DAY INT64_C(86400)

#define PLAN_AMOUNT 1999
#define TAX_RATE_BP 2000

enum backend { SQLITE, POSTGRES };

/* ------------------------------------------------------------ utilities */

static const char *prog = "bench_billing_run";

/* The injected clock of every context of the program. */
static int64_t clock_now = T0;

static int64_t bench_clock(void *payload)
{
	(void)payload;
	return clock_now;
}

/* One value in kB from /proc/self/status ("VmRSS", "VmHWM"); -1 if absent. */
static long status_kb(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0). */
static int reset_peak(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	int ok;
	if (fd < 0)
		return -1;
	ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* User + system CPU seconds of the process so far. */
static double cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Before a measured side: the heap's free memory goes back to the system
 * (so growth during the side shows in RSS), and the peak is reset. */
static int start_memory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	return reset_peak();
}

static long maxrss_kb(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static int is_tmpfs(const char *dir)
{
	struct statfs sf;
	return statfs(dir, &sf) == 0 && sf.f_type == 0x01021994; /* TMPFS_MAGIC */
}

/* ------------------------------------------------------------ dates (raw side) */

/* Howard Hinnant's civil-date algorithms: what a hand-written billing run
 * would use (or timegm) to step a calendar month from the anchor. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

/* Start of period n from anchor: n intervals, months clamped to the last
 * day of the month (interval as in billing_interval: 1 day .. 4 year). */
static int64_t period_start(int64_t anchor, int interval, int count, int64_t n)
{
	int64_t y, mi;
	int m, d, last;

	if (interval == 1 || interval == 2)
		return anchor + n * count * (interval == 1 ? 1 : 7) * DAY;
	civil_from_days(anchor / DAY, &y, &m, &d);
	mi = y * 12 + (m - 1) + n * count * (interval == 4 ? 12 : 1);
	y = mi / 12;
	m = (int)(mi % 12) + 1;
	last = days_in_month(y, m);
	return days_from_civil(y, m, d < last ? d : last) * DAY + anchor % DAY;
}

/* RFC 3339 UTC, as the library's JSON writes times. */
static void fmt_time(char out[24], int64_t t)
{
	int64_t y;
	int m, d;
	int64_t s = t % DAY;
	civil_from_days(t / DAY, &y, &m, &d);
	snprintf(out, 24, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d, (int)(s / 3600),
		(int)(s / 60 % 60), (int)(s % 60));
}

/* ------------------------------------------------------------ JSON (raw side) */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n >= b->cap)
		bench_die("json", "event payload too long");
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		bench_die("json", "event payload too long");
	b->len += (size_t)n;
}

/* "name":"value" with the value escaped as JSON (a hand-written run must
 * escape user text such as plan names; ids need it too in general). */
static void put_str(struct buf *b, const char *name, const char *v)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)v;
	if (b->len + strlen(name) + 4 >= b->cap)
		bench_die("json", "event payload too long");
	b->len += (size_t)snprintf(b->p + b->len, b->cap - b->len, "\"%s\":\"", name);
	for (; *s; s++) {
		if (b->len + 7 >= b->cap)
			bench_die("json", "event payload too long");
		if (*s == '"' || *s == '\\') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = (char)*s;
		} else if (*s < 0x20) {
			b->p[b->len++] = '\\';
			b->p[b->len++] = 'u';
			b->p[b->len++] = '0';
			b->p[b->len++] = '0';
			b->p[b->len++] = hex[*s >> 4];
			b->p[b->len++] = hex[*s & 15];
		} else {
			b->p[b->len++] = (char)*s;
		}
	}
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

static void put_time(struct buf *b, const char *name, int64_t t)
{
	char ts[24];
	fmt_time(ts, t);
	putf(b, "\"%s\":\"%s\"", name, ts);
}

static void put_time_or_null(struct buf *b, const char *name, int64_t t)
{
	if (t)
		put_time(b, name, t);
	else
		putf(b, "\"%s\":null", name);
}

/* Basis points as a decimal fraction: 2000 -> 0.2 (billing_rate_format). */
static void fmt_rate(char out[16], int32_t bp)
{
	int len = 1, i;
	out[0] = '0';
	if (bp > 0) {
		out[len++] = '.';
		for (i = 1000; i > 0 && bp > 0; i /= 10) {
			out[len++] = (char)('0' + bp / i);
			bp %= i;
		}
	}
	out[len] = '\0';
}

/* ------------------------------------------------------------ raw driver */

/*
 * The raw side's statements: sqlite3_stmt on SQLite; on PostgreSQL a name
 * prepared once with PQprepare and run with PQexecPrepared, text parameters
 * and results (as the library's backend does). The SQL is written with ?N
 * and becomes $N for PostgreSQL.
 */
struct rdb {
	enum backend be;
	sqlite3 *db;
	PGconn *pg;
	int nstmts;
};

struct rst {
	struct rdb *d;
	sqlite3_stmt *s;
	char name[16];
	int nparams;
	const char *vals[PARAMS_MAX];
	char ints[PARAMS_MAX][24];
	PGresult *res;
	int row, nrows;
};

static void die_db(struct rdb *d, const char *what)
{
	bench_die(what, d->be == SQLITE ? sqlite3_errmsg(d->db) : PQerrorMessage(d->pg));
}

static void rst_prepare(struct rdb *d, struct rst *q, const char *sql)
{
	memset(q, 0, sizeof(*q));
	q->d = d;
	if (d->be == SQLITE) {
		if (sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->s, NULL) !=
		    SQLITE_OK)
			die_db(d, "raw prepare");
	} else {
		char text[4096];
		size_t j = 0;
		PGresult *r;
		for (; *sql && j + 1 < sizeof(text); sql++) {
			if (*sql == '?' && sql[1] >= '0' && sql[1] <= '9') {
				int n = atoi(sql + 1);
				if (n > q->nparams)
					q->nparams = n;
				text[j++] = '$';
			} else {
				text[j++] = *sql;
			}
		}
		text[j] = '\0';
		snprintf(q->name, sizeof(q->name), "r%d", ++d->nstmts);
		r = PQprepare(d->pg, q->name, text, q->nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			PQclear(r);
			die_db(d, "raw prepare");
		}
		PQclear(r);
	}
}

static void rst_text(struct rst *q, int i, const char *v)
{
	if (q->d->be == SQLITE) {
		if (v)
			sqlite3_bind_text(q->s, i, v, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q->s, i);
	} else {
		q->vals[i - 1] = v;
	}
}

static void rst_int(struct rst *q, int i, int64_t v)
{
	if (q->d->be == SQLITE) {
		sqlite3_bind_int64(q->s, i, v);
	} else {
		snprintf(q->ints[i - 1], sizeof(q->ints[i - 1]), "%" PRId64, v);
		q->vals[i - 1] = q->ints[i - 1];
	}
}

/* 1: a row is current; 0: no more rows. Dies on an error. */
static int rst_step(struct rst *q)
{
	if (q->d->be == SQLITE) {
		int rc = sqlite3_step(q->s);
		if (rc == SQLITE_ROW)
			return 1;
		if (rc != SQLITE_DONE)
			die_db(q->d, "raw step");
		return 0;
	}
	if (!q->res) {
		ExecStatusType st;
		q->res = PQexecPrepared(q->d->pg, q->name, q->nparams, q->vals, NULL, NULL, 0);
		st = PQresultStatus(q->res);
		if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
			die_db(q->d, "raw step");
		q->nrows = st == PGRES_TUPLES_OK ? PQntuples(q->res) : 0;
		q->row = -1;
	}
	return ++q->row < q->nrows;
}

static const char *rst_col_text(struct rst *q, int c)
{
	if (q->d->be == SQLITE)
		return (const char *)sqlite3_column_text(q->s, c);
	return PQgetisnull(q->res, q->row, c) ? NULL : PQgetvalue(q->res, q->row, c);
}

static int64_t rst_col_int(struct rst *q, int c)
{
	const char *v;
	if (q->d->be == SQLITE)
		return sqlite3_column_int64(q->s, c);
	v = rst_col_text(q, c);
	return v ? strtoll(v, NULL, 10) : 0;
}

/* Rows changed by the statement just stepped (before the reset). */
static int64_t rst_changes(struct rst *q)
{
	if (q->d->be == SQLITE)
		return sqlite3_changes(q->d->db);
	return q->res ? strtoll(PQcmdTuples(q->res), NULL, 10) : 0;
}

static void rst_reset(struct rst *q)
{
	if (q->d->be == SQLITE) {
		sqlite3_reset(q->s);
	} else {
		PQclear(q->res);
		q->res = NULL;
	}
}

static void rst_finalize(struct rst *q)
{
	if (q->d->be == SQLITE)
		sqlite3_finalize(q->s);
	else
		PQclear(q->res);
	memset(q, 0, sizeof(*q));
}

/* Runs a statement that returns no rows (or ignores them). */
static void rst_exec(struct rst *q)
{
	rst_step(q);
	rst_reset(q);
}

/* ------------------------------------------------------------ the raw billing run */

#define CLAIM_SQL "SELECT tenant_id, kind, resource_id, due_at FROM due_work " \
	"WHERE due_at <= ?1 ORDER BY due_at, tenant_id, kind, resource_id LIMIT 1"

#define INVOICE_COLS "tenant_id, id, customer_id, subscription_id, number, status, currency, " \
	"subtotal, tax, total, amount_paid, amount_due, period_start, period_end, created_at, " \
	"finalized_at, paid_at, voided_at, updated_at, version"

struct raw {
	struct rdb d;
	char begin_pg[160];            /* BEGIN + platform settings, one round trip */
	struct rst begin, commit;      /* SQLite */
	struct rst claim, set_tenant, sub, plan, pending, number, invoice, line, event;
	struct rst sub_update, due_move;
	uint64_t id_seq;
	char json_inv[JSON_MAX], json_sub[JSON_MAX];
};

static void raw_prepare_all(struct raw *r)
{
	struct rdb *d = &r->d;
	int pg = d->be == POSTGRES;

	if (!pg) {
		rst_prepare(d, &r->begin, "BEGIN IMMEDIATE");
		rst_prepare(d, &r->commit, "COMMIT");
	}
	snprintf(r->begin_pg, sizeof(r->begin_pg), "BEGIN; SELECT set_config('billing.tenant_id', "
		"'', true), set_config('billing.platform', 'on', true)");
	rst_prepare(d, &r->claim, pg ? CLAIM_SQL " FOR UPDATE SKIP LOCKED" : CLAIM_SQL);
	if (pg)
		rst_prepare(d, &r->set_tenant, "SELECT set_config('billing.tenant_id', ?1, true), "
			"set_config('billing.platform', 'off', true)");
	rst_prepare(d, &r->sub, pg ?
		"SELECT customer_id, plan_id, status, quantity, currency, anchor, period_index, "
		"current_period_end, trial_end, cancel_at_period_end, canceled_at, ended_at, "
		"metadata, created_at, version, pending_plan_id, items FROM subscriptions "
		"WHERE tenant_id = ?1 AND id = ?2 FOR UPDATE" :
		"SELECT customer_id, plan_id, status, quantity, currency, anchor, period_index, "
		"current_period_end, trial_end, cancel_at_period_end, canceled_at, ended_at, "
		"metadata, created_at, version, pending_plan_id, items FROM subscriptions "
		"WHERE tenant_id = ?1 AND id = ?2");
	rst_prepare(d, &r->plan, "SELECT p.name, p.amount, p.billing_interval, p.interval_count, "
		"p.term_count, pr.tax_rate_bp, t.invoice_prefix FROM plans p "
		"JOIN products pr ON pr.tenant_id = p.tenant_id AND pr.id = p.product_id "
		"JOIN tenants t ON t.tenant_id = p.tenant_id WHERE p.tenant_id = ?1 AND p.id = ?2");
	rst_prepare(d, &r->pending, "DELETE FROM pending_lines WHERE tenant_id = ?1 "
		"AND subscription_id = ?2 RETURNING line_no");
	rst_prepare(d, &r->number, "INSERT INTO invoice_numbers (tenant_id, last_number) "
		"VALUES (?1, 1) ON CONFLICT (tenant_id) DO UPDATE SET "
		"last_number = invoice_numbers.last_number + 1 RETURNING last_number");
	rst_prepare(d, &r->invoice, "INSERT INTO invoices (" INVOICE_COLS ") VALUES (?1, ?2, ?3, "
		"?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)");
	rst_prepare(d, &r->line, "INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, "
		"description, plan_id, period_start, period_end, quantity, unit_amount, amount, "
		"tax_rate_bp, tax_amount, proration) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
		"?10, ?11, ?12, ?13)");
	rst_prepare(d, &r->event, "INSERT INTO events (tenant_id, id, type, resource_type, "
		"resource_id, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	rst_prepare(d, &r->sub_update, "UPDATE subscriptions SET period_index = ?3, "
		"current_period_start = ?4, current_period_end = ?5, latest_invoice_id = ?6, "
		"updated_at = ?7, version = ?8 WHERE tenant_id = ?1 AND id = ?2 AND version = ?9");
	rst_prepare(d, &r->due_move, "UPDATE due_work SET due_at = ?4 WHERE tenant_id = ?1 "
		"AND kind = ?2 AND resource_id = ?3");
	r->id_seq = 0x5eed5eedull;
}

static void raw_close(struct raw *r)
{
	struct rst *all[] = { &r->begin, &r->commit, &r->claim, &r->set_tenant, &r->sub, &r->plan,
		&r->pending, &r->number, &r->invoice, &r->line, &r->event, &r->sub_update,
		&r->due_move };
	size_t i;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->d)
			rst_finalize(all[i]);
	if (r->d.be == SQLITE)
		sqlite3_close(r->d.db);
	else
		PQfinish(r->d.pg);
}

/* An id of the library's shape: prefix, '_', 10 base32 characters of the
 * millisecond time, 16 of a rising counter. */
static void raw_id(struct raw *r, char out[ID_LEN], const char *prefix, int64_t now)
{
	static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
	uint64_t ms = (uint64_t)now * 1000, seq = r->id_seq++;
	size_t plen = strlen(prefix);
	char *p = out + plen + 1;
	int i;

	memcpy(out, prefix, plen);
	out[plen] = '_';
	for (i = 9; i >= 0; i--, ms >>= 5)
		p[i] = alphabet[ms & 31];
	for (i = 25; i >= 10; i--, seq >>= 5)
		p[i] = alphabet[seq & 31];
	p[26] = '\0';
}

static void raw_begin(struct raw *r)
{
	if (r->d.be == SQLITE) {
		rst_exec(&r->begin);
	} else {
		PGresult *res = PQexec(r->d.pg, r->begin_pg);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			PQclear(res);
			die_db(&r->d, "raw begin");
		}
		PQclear(res);
	}
}

static void raw_commit(struct raw *r)
{
	if (r->d.be == SQLITE) {
		rst_exec(&r->commit);
	} else {
		PGresult *res = PQexec(r->d.pg, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(res), "COMMIT") != 0) {
			PQclear(res);
			die_db(&r->d, "raw commit");
		}
		PQclear(res);
	}
}

static void raw_event(struct raw *r, const char *tenant, const char *type, const char *rtype,
	const char *rid, const char *data, int64_t now)
{
	char id[ID_LEN];
	raw_id(r, id, "evt", now);
	rst_text(&r->event, 1, tenant);
	rst_text(&r->event, 2, id);
	rst_text(&r->event, 3, type);
	rst_text(&r->event, 4, rtype);
	rst_text(&r->event, 5, rid);
	rst_text(&r->event, 6, data);
	rst_int(&r->event, 7, now);
	rst_exec(&r->event);
}

static void copy_col(char *out, size_t size, struct rst *q, int c)
{
	const char *v = rst_col_text(q, c);
	if (!v || strlen(v) >= size)
		bench_die("raw", "unexpected NULL or over-long column");
	memcpy(out, v, strlen(v) + 1);
}

/*
 * One renewal, in its own transaction, the work billing_run_due does for a
 * due subscription that renews (see billing__subscription_advance and
 * billing__invoice_issue), with prepared statements:
 *
 *   BEGIN [IMMEDIATE]        PostgreSQL: + set_config(platform on), one round trip
 *   claim the due_work row   the library's query (+ FOR UPDATE SKIP LOCKED)
 *   set_config(tenant)       PostgreSQL only: RLS binds the rest to the tenant
 *   read the subscription    (+ FOR UPDATE)
 *   read plan, product tax rate and the tenant's invoice prefix, one join
 *   take the pending lines   DELETE ... RETURNING (none here)
 *   next invoice number      the library's upsert
 *   insert the invoice and its line
 *   insert invoice.created and invoice.finalized (the invoice's JSON)
 *   update the subscription  (version-checked)
 *   move the due_work row to the new period end
 *   insert subscription.updated (the subscription's JSON)
 *   COMMIT
 *
 * Returns 0 when nothing is due. Handles the renewal case only (the only
 * one in this benchmark): anything else dies.
 */
static int raw_item(struct raw *r, int64_t now)
{
	char tenant[ID_LEN], kind[32], sub_id[ID_LEN], customer[ID_LEN], plan_id[ID_LEN];
	char currency[8], metadata[TEXT_MAX], plan_name[TEXT_MAX], prefix[40], number[64];
	char inv_id[ID_LEN], rate[16], items[TEXT_MAX], item_id[ID_LEN] = "";
	const char *at;
	int64_t anchor, index, period_end, trial_end, canceled_at, ended_at, created_at, version;
	int64_t amount, unit, tax, total, seq, pstart, pend, term;
	int status, quantity, cancel_at_end, interval, count, pending;
	int32_t bp;
	struct buf b;

	raw_begin(r);
	rst_int(&r->claim, 1, now);
	if (!rst_step(&r->claim)) {
		rst_reset(&r->claim);
		raw_commit(r);
		return 0;
	}
	copy_col(tenant, sizeof(tenant), &r->claim, 0);
	copy_col(kind, sizeof(kind), &r->claim, 1);
	copy_col(sub_id, sizeof(sub_id), &r->claim, 2);
	rst_reset(&r->claim);
	if (strcmp(kind, "subscription") != 0)
		bench_die("raw", "unexpected due work kind");
	if (r->d.be == POSTGRES) {
		rst_text(&r->set_tenant, 1, tenant);
		rst_exec(&r->set_tenant);
	}

	rst_text(&r->sub, 1, tenant);
	rst_text(&r->sub, 2, sub_id);
	if (!rst_step(&r->sub))
		bench_die("raw", "due subscription not found");
	copy_col(customer, sizeof(customer), &r->sub, 0);
	copy_col(plan_id, sizeof(plan_id), &r->sub, 1);
	status = (int)rst_col_int(&r->sub, 2);
	quantity = (int)rst_col_int(&r->sub, 3);
	copy_col(currency, sizeof(currency), &r->sub, 4);
	anchor = rst_col_int(&r->sub, 5);
	index = rst_col_int(&r->sub, 6);
	period_end = rst_col_int(&r->sub, 7);
	trial_end = rst_col_int(&r->sub, 8);
	cancel_at_end = (int)rst_col_int(&r->sub, 9);
	canceled_at = rst_col_int(&r->sub, 10);
	ended_at = rst_col_int(&r->sub, 11);
	copy_col(metadata, sizeof(metadata), &r->sub, 12);
	created_at = rst_col_int(&r->sub, 13);
	version = rst_col_int(&r->sub, 14);
	/* A pending plan change would be applied at the renewal: not done here. */
	pending = rst_col_text(&r->sub, 15) != NULL;
	/* The subscription's items as its row keeps them: the one item's id
	 * goes on the invoice line. */
	if (rst_col_text(&r->sub, 16))
		copy_col(items, sizeof(items), &r->sub, 16);
	else
		snprintf(items, sizeof(items), "[]");
	rst_reset(&r->sub);
	if ((at = strstr(items, "\"id\":\"")) != NULL)
		sscanf(at + 6, "%47[^\"]", item_id);
	if (status != BILLING_SUB_ACTIVE || cancel_at_end || period_end > now || pending)
		bench_die("raw", "the benchmark's subscriptions renew; this one does not");

	rst_text(&r->plan, 1, tenant);
	rst_text(&r->plan, 2, plan_id);
	if (!rst_step(&r->plan))
		bench_die("raw", "plan not found");
	copy_col(plan_name, sizeof(plan_name), &r->plan, 0);
	unit = rst_col_int(&r->plan, 1);
	interval = (int)rst_col_int(&r->plan, 2);
	count = (int)rst_col_int(&r->plan, 3);
	term = rst_col_int(&r->plan, 4);
	bp = (int32_t)rst_col_int(&r->plan, 5);
	copy_col(prefix, sizeof(prefix), &r->plan, 6);
	rst_reset(&r->plan);
	if (term && index + 1 >= term)
		bench_die("raw", "the benchmark's plan has no fixed term");

	rst_text(&r->pending, 1, tenant);
	rst_text(&r->pending, 2, sub_id);
	if (rst_step(&r->pending))
		bench_die("raw", "pending lines are not part of this benchmark");
	rst_reset(&r->pending);

	/* Period n + 1, its line, tax half away from zero, the sums. */
	index++;
	pstart = period_start(anchor, interval, count, index);
	pend = period_start(anchor, interval, count, index + 1);
	amount = unit * quantity;
	tax = (amount * bp * 2 + (amount >= 0 ? 10000 : -10000)) / 20000;
	total = amount + tax;

	rst_text(&r->number, 1, tenant);
	if (!rst_step(&r->number))
		bench_die("raw", "the invoice counter returned nothing");
	seq = rst_col_int(&r->number, 0);
	rst_reset(&r->number);
	snprintf(number, sizeof(number), "%s%06" PRId64, prefix, seq);
	raw_id(r, inv_id, "in", now);

	rst_text(&r->invoice, 1, tenant);
	rst_text(&r->invoice, 2, inv_id);
	rst_text(&r->invoice, 3, customer);
	rst_text(&r->invoice, 4, sub_id);
	rst_text(&r->invoice, 5, number);
	rst_int(&r->invoice, 6, 2);             /* BILLING_INVOICE_PENDING */
	rst_text(&r->invoice, 7, currency);
	rst_int(&r->invoice, 8, amount);
	rst_int(&r->invoice, 9, tax);
	rst_int(&r->invoice, 10, total);
	rst_int(&r->invoice, 11, 0);
	rst_int(&r->invoice, 12, total);
	rst_int(&r->invoice, 13, pstart);
	rst_int(&r->invoice, 14, pend);
	rst_int(&r->invoice, 15, now);
	rst_int(&r->invoice, 16, now);
	rst_text(&r->invoice, 17, NULL);
	rst_text(&r->invoice, 18, NULL);
	rst_int(&r->invoice, 19, now);
	rst_int(&r->invoice, 20, 1);
	rst_exec(&r->invoice);

	rst_text(&r->line, 1, tenant);
	rst_text(&r->line, 2, inv_id);
	rst_int(&r->line, 3, 1);
	rst_text(&r->line, 4, plan_name);       /* quantity 1: the plan's name */
	rst_text(&r->line, 5, plan_id);
	rst_int(&r->line, 6, pstart);
	rst_int(&r->line, 7, pend);
	rst_int(&r->line, 8, quantity);
	rst_int(&r->line, 9, unit);
	rst_int(&r->line, 10, amount);
	rst_int(&r->line, 11, bp);
	rst_int(&r->line, 12, tax);
	rst_int(&r->line, 13, 0);
	rst_exec(&r->line);

	/* The invoice as the events carry it (created and finalized: the same
	 * state, since it is finalized when issued). */
	b.p = r->json_inv;
	b.cap = sizeof(r->json_inv);
	b.len = 0;
	put(&b, "{");
	put_str(&b, "id", inv_id);
	put(&b, ",\"object\":\"invoice\",");
	put_str(&b, "number", number);
	put(&b, ",\"status\":\"pending\",");
	put_str(&b, "customerId", customer);
	put(&b, ",");
	put_str(&b, "subscriptionId", sub_id);
	put(&b, ",");
	put_str(&b, "currency", currency);
	putf(&b, ",\"subtotal\":%" PRId64 ",\"totalDiscountAmounts\":[],\"tax\":%" PRId64
		",\"total\":%" PRId64
		",\"amountPaid\":0,\"amountDue\":%" PRId64 ",\"startingBalance\":0,"
		"\"endingBalance\":0,", amount, tax, total, total);
	put_time(&b, "periodStart", pstart);
	put(&b, ",");
	put_time(&b, "periodEnd", pend);
	put(&b, ",\"lines\":[{");
	put_str(&b, "description", plan_name);
	fmt_rate(rate, bp);
	putf(&b, ",\"amount\":%" PRId64 ",\"quantity\":%d,\"unitAmount\":%" PRId64 ",",
		amount, quantity, unit);
	put_time(&b, "periodStart", pstart);
	put(&b, ",");
	put_time(&b, "periodEnd", pend);
	putf(&b, ",\"taxRate\":%s,\"taxAmount\":%" PRId64 ",\"proration\":false,", rate, tax);
	put_str(&b, "planId", plan_id);
	put(&b, ",");
	put_str(&b, "subscriptionItemId", item_id);
	putf(&b, ",\"tiers\":null,\"discountAmounts\":[],\"amountExcludingTax\":%" PRId64
		",\"taxAmounts\":[],\"id\":\"il_%s_1\"", amount, inv_id + 3);
	put(&b, "}],\"attemptCount\":0,\"nextAttemptAt\":null,\"nextAction\":null,");
	put_time(&b, "createdAt", now);
	put(&b, ",");
	put_time(&b, "finalizedAt", now);
	put(&b, ",\"paidAt\":null,\"voidedAt\":null,\"version\":1,"
		"\"collectionMethod\":\"charge_automatically\",\"daysUntilDue\":null,"
		"\"dueDate\":null,\"memo\":null,\"footer\":null,\"paidOutOfBand\":false,"
		"\"preCreditNotesAmount\":0,\"postPaymentCreditNotesAmount\":0,");
	/* The product's tax rate, as the tax pass shows a rate no txr_ names;
	 * every customer of the benchmark is taxed as usual. */
	if (tax)
		putf(&b, "\"totalTaxAmounts\":[{\"taxRateId\":null,\"amount\":%" PRId64
			",\"inclusive\":false,\"taxableAmount\":%" PRId64 "}],", tax, amount);
	else
		put(&b, "\"totalTaxAmounts\":[],");
	put(&b, "\"customerTaxExempt\":\"none\",\"taxNote\":null,\"defaultTaxRates\":[]}");
	raw_event(r, tenant, "invoice.created", "invoice", inv_id, r->json_inv, now);
	raw_event(r, tenant, "invoice.finalized", "invoice", inv_id, r->json_inv, now);

	rst_text(&r->sub_update, 1, tenant);
	rst_text(&r->sub_update, 2, sub_id);
	rst_int(&r->sub_update, 3, index);
	rst_int(&r->sub_update, 4, pstart);
	rst_int(&r->sub_update, 5, pend);
	rst_text(&r->sub_update, 6, inv_id);
	rst_int(&r->sub_update, 7, now);
	rst_int(&r->sub_update, 8, version + 1);
	rst_int(&r->sub_update, 9, version);
	rst_step(&r->sub_update);
	if (rst_changes(&r->sub_update) != 1)
		bench_die("raw", "the subscription changed since it was read");
	rst_reset(&r->sub_update);

	rst_text(&r->due_move, 1, tenant);
	rst_text(&r->due_move, 2, kind);
	rst_text(&r->due_move, 3, sub_id);
	rst_int(&r->due_move, 4, pend);
	rst_exec(&r->due_move);

	b.p = r->json_sub;
	b.cap = sizeof(r->json_sub);
	b.len = 0;
	put(&b, "{");
	put_str(&b, "id", sub_id);
	put(&b, ",\"object\":\"subscription\",");
	put_str(&b, "customerId", customer);
	put(&b, ",");
	put_str(&b, "planId", plan_id);
	/* NULL (read as 0): a metered first item's, none (schema step 36). */
	if (quantity)
		putf(&b, ",\"status\":\"active\",\"quantity\":%d,", quantity);
	else
		put(&b, ",\"status\":\"active\",\"quantity\":null,");
	put_str(&b, "currency", currency);
	put(&b, ",");
	put_time(&b, "billingCycleAnchor", anchor);
	put(&b, ",");
	put_time(&b, "currentPeriodStart", pstart);
	put(&b, ",");
	put_time(&b, "currentPeriodEnd", pend);
	put(&b, ",");
	put_time_or_null(&b, "trialEnd", trial_end);
	put(&b, ",\"cancelAtPeriodEnd\":false,");
	put_time_or_null(&b, "canceledAt", canceled_at);
	put(&b, ",");
	put_time_or_null(&b, "endedAt", ended_at);
	put(&b, ",");
	put_str(&b, "latestInvoiceId", inv_id);
	/* Every field the library's JSON has, in its order (json_out.c). */
	put(&b, ",\"pendingPlanId\":null");
	putf(&b, ",\"metadata\":%s,\"items\":%s,\"defaultTaxRates\":[],\"discount\":null,",
		metadata, items);
	put_time(&b, "createdAt", created_at);
	putf(&b, ",\"version\":%" PRId64 "}", version + 1);
	raw_event(r, tenant, "subscription.updated", "subscription", sub_id, r->json_sub, now);

	raw_commit(r);
	return 1;
}

/* ------------------------------------------------------------ setup through the API */

static const billing_principal platform = { NULL, "bench", BILLING_ROLE_PLATFORM };

/* A tenant, a product, a monthly plan, n customers and n subscriptions,
 * created through the public API on ctx (whose clock is bench_clock): the
 * customers at T0, subscription i at T0 + i. Prints progress on stderr. */
static void setup(billing_ctx *ctx, size_t n, char tenant_id[ID_LEN], double secs[2])
{
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_product_params pp = BILLING_PRODUCT_PARAMS_INIT;
	billing_plan_params lp = BILLING_PLAN_PARAMS_INIT;
	billing_tenant *tenant = NULL;
	billing_product *product = NULL;
	billing_plan *plan = NULL;
	billing_principal who;
	char plan_id[ID_LEN], name[64], email[64];
	char (*customers)[ID_LEN];
	size_t i;
	double t0;

	clock_now = T0;
	tp.name = "bench";
	if (billing_tenant_create(&tenant, ctx, &platform, &tp, NULL) < 0)
		bench_die_lib("billing_tenant_create");
	snprintf(tenant_id, ID_LEN, "%s", billing_tenant_id(tenant));
	billing_tenant_free(tenant);
	who.tenant_id = tenant_id;
	who.user_id = "bench";
	who.role = BILLING_ROLE_ADMIN;

	pp.name = "Bench service";
	pp.sku = "BENCH-1";
	pp.price_cents = PLAN_AMOUNT;
	pp.currency = "EUR";
	pp.tax_rate_bp = TAX_RATE_BP;
	if (billing_product_create(&product, ctx, &who, &pp, NULL) < 0)
		bench_die_lib("billing_product_create");
	lp.product_id = billing_product_id(product);
	lp.code = "MONTHLY";
	lp.name = "Monthly";
	lp.amount = PLAN_AMOUNT;
	lp.interval = BILLING_MONTH;
	if (billing_plan_create(&plan, ctx, &who, &lp, NULL) < 0)
		bench_die_lib("billing_plan_create");
	snprintf(plan_id, sizeof(plan_id), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	billing_product_free(product);

	if ((customers = calloc(n, ID_LEN)) == NULL)
		bench_die("calloc", "out of memory");
	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
		billing_customer *c = NULL;
		snprintf(name, sizeof(name), "Bench Customer %zu", i);
		snprintf(email, sizeof(email), "customer%zu@bench.example", i);
		cp.name = name;
		cp.email = email;
		if (billing_customer_create(&c, ctx, &who, &cp, NULL) < 0)
			bench_die_lib("billing_customer_create");
		snprintf(customers[i], ID_LEN, "%s", billing_customer_id(c));
		billing_customer_free(c);
	}
	secs[0] = bench_now_s() - t0;
	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
		billing_subscription *s = NULL;
		clock_now = T0 + 1 + (int64_t)i;
		sp.customer_id = customers[i];
		sp.plan_id = plan_id;
		if (billing_subscription_create(&s, ctx, &who, &sp, NULL) < 0)
			bench_die_lib("billing_subscription_create");
		billing_subscription_free(s);
		if (n >= 20000 && (i + 1) % (n / 10) == 0) {
			fprintf(stderr, "  setup: %zu/%zu subscriptions (%.0f s)\n", i + 1, n,
				bench_now_s() - t0);
		}
	}
	secs[1] = bench_now_s() - t0;
	free(customers);
}

/* ------------------------------------------------------------ SQLite plumbing */

static char seed_dir[512], run_dir[512];

static void remove_dir(char *dir)
{
	DIR *d;
	struct dirent *e;
	char path[1024];

	if (!dir[0] || getenv("BENCH_KEEP"))
		return;
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
	dir[0] = '\0';
}

static void remove_dirs(void)
{
	remove_dir(seed_dir);
	remove_dir(run_dir);
}

static void make_dir(char *out, size_t size, const char *base)
{
	snprintf(out, size, "%s/bench_billing_run.XXXXXX", base);
	if (!mkdtemp(out)) {
		out[0] = '\0';
		bench_die("mkdtemp", base);
	}
}

static void sqlite_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		bench_die(sql, err);
}

static void fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Opens a raw connection as the library opens a pooled one. */
static void sqlite_raw_open(struct rdb *d, const char *path)
{
	memset(d, 0, sizeof(*d));
	d->be = SQLITE;
	if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		bench_die(path, sqlite3_errmsg(d->db));
	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
	sqlite_exec(d->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
		"PRAGMA foreign_keys=ON;");
}

/* ------------------------------------------------------------ PostgreSQL plumbing */

static char pg_host[512];
static char schema_seed[64], schema_lib[64], schema_raw[64];
static PGconn *owner;

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *pg_connect(const char *user, const char *schema, const char *extra)
{
	char ci[1024];
	PGconn *pg;
	snprintf(ci, sizeof(ci), "host=%s dbname=billing user=%s%s%s%s%s%s", pg_host, user,
		schema || extra ? " options='" : "", schema ? "-c search_path=" : "",
		schema ? schema : "", extra ? extra : "", schema || extra ? "'" : "");
	pg = PQconnectdb(ci);
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "%s: cannot connect as %s: %s", prog, user,
			pg ? PQerrorMessage(pg) : "out of memory\n");
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, quiet, NULL);
	return pg;
}

static void pg_exec(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		PQclear(r);
		bench_die(sql, PQerrorMessage(pg));
	}
	PQclear(r);
}

static void pg_show(const char *sql, char *out, size_t size)
{
	PGresult *r = PQexec(owner, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
		PQclear(r);
		bench_die(sql, PQerrorMessage(owner));
	}
	snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

static void drop_schemas(void)
{
	char sql[512];
	PGresult *r;
	if (!schema_seed[0] && !schema_lib[0] && !schema_raw[0])
		return;
	if (!owner || PQstatus(owner) != CONNECTION_OK) {
		PQfinish(owner);
		if ((owner = pg_connect("billing_owner", NULL, NULL)) == NULL)
			return;
	}
	if (PQtransactionStatus(owner) != PQTRANS_IDLE)
		PQclear(PQexec(owner, "ROLLBACK"));
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS %s "
		"CASCADE; DROP SCHEMA IF EXISTS %s CASCADE",
		schema_seed[0] ? schema_seed : "bench_none_s", schema_lib[0] ? schema_lib : "bench_none_l",
		schema_raw[0] ? schema_raw : "bench_none_r");
	r = PQexec(owner, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fprintf(stderr, "%s: cannot drop the bench schemas: %s", prog, PQerrorMessage(owner));
	PQclear(r);
	PQfinish(owner);
	owner = NULL;
	schema_seed[0] = schema_lib[0] = schema_raw[0] = '\0';
}

/* Migrates a schema with billing_migrate as billing_owner. */
static void pg_migrate(const char *schema)
{
	billing_ctx *ctx = NULL;
	char url[1024];
	snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_owner "
		"options='-c search_path=%s'", pg_host, schema);
	if (billing_ctx_open_url(&ctx, url, NULL) < 0)
		bench_die_lib("billing_ctx_open_url (owner)");
	if (billing_migrate(ctx) < 0)
		bench_die_lib("billing_migrate");
	billing_ctx_close(ctx);
}

/* The tables holding the seed's rows, parents first (foreign keys). */
/* Copies every row of the seed schema into dst, as the owner (RLS binds the
 * owner too: the transaction names the tenant and platform work). Every
 * table the migrations made, but the migration runner's own, in the order
 * they were made (pg_class oids grow): a table's foreign keys name tables
 * made before it, so parents are copied first, and a table a later
 * migration adds is copied without naming it here. */
static void pg_copy(const char *dst, const char *tenant_id)
{
	char sql[1024];
	char *lit = PQescapeLiteral(owner, tenant_id, strlen(tenant_id));
	PGresult *tables;
	int i;

	if (!lit)
		bench_die("escape", PQerrorMessage(owner));
	snprintf(sql, sizeof(sql), "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
		"ON n.oid = c.relnamespace WHERE n.nspname = '%s' AND c.relkind = 'r' AND "
		"c.relname NOT IN ('billing_migrations', 'billing_meta') ORDER BY c.oid", schema_seed);
	tables = PQexec(owner, sql);
	if (PQresultStatus(tables) != PGRES_TUPLES_OK || PQntuples(tables) < 1)
		bench_die("copy: list the seed's tables", PQerrorMessage(owner));
	snprintf(sql, sizeof(sql), "BEGIN; SELECT set_config('billing.tenant_id', %s, true), "
		"set_config('billing.platform', 'on', true)", lit);
	PQfreemem(lit);
	pg_exec(owner, sql);
	for (i = 0; i < PQntuples(tables); i++) {
		const char *t = PQgetvalue(tables, i, 0);
		snprintf(sql, sizeof(sql), "INSERT INTO %s.%s SELECT * FROM %s.%s", dst, t,
			schema_seed, t);
		pg_exec(owner, sql);
	}
	pg_exec(owner, "COMMIT");
	PQclear(tables);
}

static void pg_raw_open(struct rdb *d, const char *schema)
{
	memset(d, 0, sizeof(*d));
	d->be = POSTGRES;
	if ((d->pg = pg_connect("billing_app", schema, NULL)) == NULL)
		bench_die("raw", "cannot connect as billing_app");
}

/* ------------------------------------------------------------ the check */

#define CHECK_COLS 9

static const char *const check_names[CHECK_COLS] = {
	"invoices", "sum(total)", "max(number)", "invoice_lines", "events",
	"sum(length(events.data))", "sum(current_period_end)", "sum(version)", "due now"
};

/* Aggregates of what the run wrote, as text, read through d (for
 * PostgreSQL a connection that can see the tenant's rows). */
static void check_read(struct rdb *d, int64_t now, char out[CHECK_COLS][64])
{
	struct rst q;
	int c;
	rst_prepare(d, &q, "SELECT (SELECT count(*) FROM invoices), (SELECT sum(total) FROM "
		"invoices), (SELECT max(number) FROM invoices), (SELECT count(*) FROM invoice_lines), "
		"(SELECT count(*) FROM events), (SELECT sum(length(data)) FROM events), "
		"(SELECT sum(current_period_end) FROM subscriptions), (SELECT sum(version) FROM "
		"subscriptions), (SELECT count(*) FROM due_work WHERE due_at <= ?1)");
	rst_int(&q, 1, now);
	if (!rst_step(&q))
		bench_die("check", "no row");
	for (c = 0; c < CHECK_COLS; c++) {
		const char *v = rst_col_text(&q, c);
		snprintf(out[c], 64, "%s", v ? v : "NULL");
	}
	rst_reset(&q);
	rst_finalize(&q);
}

/* ------------------------------------------------------------ main */

struct side_result {
	double secs, cpu;
	int64_t items;
	uint64_t trips, stmts;            /* PostgreSQL, library side: the driver's counts */
	long rss_before_kb, peak_kb;      /* peak: max VmHWM over the side's blocks */
};

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s sqlite|postgres [N [WORKERS]]   (N subscriptions, default %d, "
		"max %d; WORKERS on each side, default 1, max 64)\n"
		"postgres: run under scripts/with-postgres.sh, with BILLING_PG_FSYNC=on\n",
		argv0, DEFAULT_N, MAX_N);
}

/* ------------------------------------------------------------ raw workers */

/* The concurrent raw side: workers threads, each on a connection of its
 * own, each doing raw_item until nothing is due; the claim skips the rows
 * the others hold (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: BEGIN
 * IMMEDIATE makes them take turns). The naive way: one transaction per
 * renewal, one statement at a time. */
struct raw_worker {
	struct raw r;
	int64_t now, items;
	pthread_t thread;
};

static void *raw_work(void *arg)
{
	struct raw_worker *w = arg;
	while (raw_item(&w->r, w->now))
		w->items++;
	return NULL;
}

static int64_t raw_concurrent(enum backend be, const char *path, unsigned int workers,
	int64_t now)
{
	struct raw_worker *w = calloc(workers, sizeof(*w));
	int64_t items = 0;
	unsigned int i;

	if (!w)
		bench_die("raw", "out of memory");
	for (i = 0; i < workers; i++) {
		if (be == SQLITE)
			sqlite_raw_open(&w[i].r.d, path);
		else
			pg_raw_open(&w[i].r.d, schema_raw);
		raw_prepare_all(&w[i].r);
		/* Ids of one millisecond stay distinct across the workers. */
		w[i].r.id_seq += (uint64_t)(i + 1) << 48;
		w[i].now = now;
	}
	for (i = 0; i < workers; i++)
		if (pthread_create(&w[i].thread, NULL, raw_work, &w[i]) != 0)
			bench_die("raw", "cannot start a worker thread");
	for (i = 0; i < workers; i++) {
		pthread_join(w[i].thread, NULL);
		items += w[i].items;
	}
	for (i = 0; i < workers; i++)
		raw_close(&w[i].r);
	free(w);
	return items;
}

int main(int argc, char **argv)
{
	billing_ctx_options opts = BILLING_CTX_OPTIONS_INIT;
	billing_ctx *ctx = NULL;
	struct raw raw;
	struct side_result lib = { 0, 0, 0, 0, 0, -1, -1 }, rw = { 0, 0, 0, 0, 0, -1, -1 };
	enum backend be;
	char tenant_id[ID_LEN], url[1024], path[1024], fsync_[32] = "on", version[64] = "";
	char checks[2][CHECK_COLS][64];
	const char *base = getenv("TMPDIR"), *blocks_env = getenv("BENCH_BLOCKS");
	size_t n = DEFAULT_N, blocks = 1, k;
	unsigned int workers = 1;
	double setup_secs[2], t_start = bench_now_s(), t_copy;
	int64_t t_run;
	long maxrss_before, maxrss_after;
	int peak_ok, c, same = 1;

	if (argc < 2 || argc > 4) {
		usage(argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "sqlite") == 0)
		be = SQLITE;
	else if (strcmp(argv[1], "postgres") == 0)
		be = POSTGRES;
	else {
		usage(argv[0]);
		return 2;
	}
	if (argc >= 3 && ((n = strtoul(argv[2], NULL, 10)) < 1 || n > MAX_N)) {
		usage(argv[0]);
		return 2;
	}
	if (argc == 4 && ((workers = (unsigned int)strtoul(argv[3], NULL, 10)) < 1 ||
	    workers > 64)) {
		usage(argv[0]);
		return 2;
	}
	if (blocks_env && *blocks_env) {
		blocks = strtoul(blocks_env, NULL, 10);
		if (blocks < 1 || blocks > n || workers > 1)
			blocks = 1;
	}
	opts.clock = bench_clock;
	memset(&raw, 0, sizeof(raw));
	if (!base || !*base)
		base = "/tmp";

	/* 1. The seed: setup through the API, untimed. */
	if (be == SQLITE) {
		atexit(remove_dirs);
		make_dir(seed_dir, sizeof(seed_dir), is_tmpfs("/dev/shm") ? "/dev/shm" : base);
		make_dir(run_dir, sizeof(run_dir), base);
		printf("%s: SQLite %s, WAL + synchronous=FULL; databases in %s (%s)\n", prog,
			sqlite3_libversion(), run_dir, is_tmpfs(run_dir) ?
			"tmpfs: fsync is a no-op, the numbers are NOT durable writes" : "disk-backed");
		snprintf(url, sizeof(url), "sqlite:%s/seed.db", seed_dir);
		if (billing_ctx_open_url(&ctx, url, &opts) < 0)
			bench_die_lib("billing_ctx_open_url (seed)");
		if (billing_migrate(ctx) < 0)
			bench_die_lib("billing_migrate");
	} else {
		const char *host = getenv("BILLING_TEST_PG_HOST");
		char sql[256], sync_commit[32];
		if (!host || !*host) {
			fprintf(stderr, "%s: BILLING_TEST_PG_HOST is not set; run it as\n"
				"  BILLING_PG_FSYNC=on scripts/with-postgres.sh %s postgres [N]\n", prog,
				argv[0]);
			return 2;
		}
		snprintf(pg_host, sizeof(pg_host), "%s", host);
		if ((owner = pg_connect("billing_owner", NULL, NULL)) == NULL)
			return 1;
		snprintf(schema_seed, sizeof(schema_seed), "bench_seed_%ld", (long)getpid());
		snprintf(schema_lib, sizeof(schema_lib), "bench_lib_%ld", (long)getpid());
		snprintf(schema_raw, sizeof(schema_raw), "bench_raw_%ld", (long)getpid());
		atexit(drop_schemas);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s; CREATE SCHEMA %s; CREATE SCHEMA %s",
			schema_seed, schema_lib, schema_raw);
		pg_exec(owner, sql);
		pg_show("SHOW fsync", fsync_, sizeof(fsync_));
		pg_show("SHOW synchronous_commit", sync_commit, sizeof(sync_commit));
		pg_show("SHOW server_version", version, sizeof(version));
		printf("%s: PostgreSQL %s (libpq %d) on socket %s, fsync=%s, synchronous_commit=%s;\n"
			"  both sides as billing_app (RLS on), schemas %s (library), %s (raw)\n", prog,
			version, PQlibVersion(), pg_host, fsync_, sync_commit, schema_lib, schema_raw);
		if (strcmp(fsync_, "on") != 0)
			printf("WARNING: fsync is %s on this server: commits are NOT durable and the\n"
				"         numbers mean little. Run with BILLING_PG_FSYNC=on.\n", fsync_);
		pg_migrate(schema_seed);
		pg_migrate(schema_lib);
		pg_migrate(schema_raw);
		snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_app "
			"options='-c search_path=%s -c synchronous_commit=off'", pg_host, schema_seed);
		if (billing_ctx_open_url(&ctx, url, &opts) < 0)
			bench_die_lib("billing_ctx_open_url (seed)");
	}
	fflush(stdout);
	setup(ctx, n, tenant_id, setup_secs);
	billing_ctx_close(ctx);
	ctx = NULL;
	printf("setup through the API (untimed): %zu customers %.1f s, %zu subscriptions %.1f s\n",
		n, setup_secs[0], n, setup_secs[1]);

	/* 2. Two identical copies of the seed. */
	t_copy = bench_now_s();
	if (be == SQLITE) {
		sqlite3 *db = NULL;
		char sql[1200];
		snprintf(path, sizeof(path), "%s/seed.db", seed_dir);
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
			bench_die(path, sqlite3_errmsg(db));
		snprintf(sql, sizeof(sql), "VACUUM INTO '%s/lib.db'", run_dir);
		sqlite_exec(db, sql);
		snprintf(sql, sizeof(sql), "VACUUM INTO '%s/raw.db'", run_dir);
		sqlite_exec(db, sql);
		sqlite3_close(db);
		remove_dir(seed_dir);
		snprintf(path, sizeof(path), "%s/lib.db", run_dir);
		fsync_path(path);
		snprintf(path, sizeof(path), "%s/raw.db", run_dir);
		fsync_path(path);
		fsync_path(run_dir);
		sync();
		snprintf(url, sizeof(url), "sqlite:%s/lib.db", run_dir);
		snprintf(path, sizeof(path), "%s/raw.db", run_dir);
		sqlite_raw_open(&raw.d, path);
	} else {
		char sql[256];
		PGconn *admin;
		pg_copy(schema_lib, tenant_id);
		pg_copy(schema_raw, tenant_id);
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema_seed);
		pg_exec(owner, sql);
		schema_seed[0] = '\0';
		pg_exec(owner, "VACUUM ANALYZE");
		/* A checkpoint, so neither side pays for the copy's dirty pages
		 * (needs the superuser of with-postgres.sh; skipped without it). */
		if ((admin = pg_connect("billing_admin", NULL, NULL)) != NULL) {
			PQclear(PQexec(admin, "CHECKPOINT"));
			PQfinish(admin);
		}
		snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_app "
			"options='-c search_path=%s'", pg_host, schema_lib);
		pg_raw_open(&raw.d, schema_raw);
	}
	printf("copied into two identical databases in %.1f s\n", bench_now_s() - t_copy);
	raw_prepare_all(&raw);

	/* 3. One month later: every subscription is due. */
	t_run = T0 + 31 * DAY + (int64_t)n + 3600;
	clock_now = t_run;
	if (billing_ctx_open_url(&ctx, url, &opts) < 0)
		bench_die_lib("billing_ctx_open_url (library side)");
	printf("clock moved to T0 + 31 days + %zu s: %zu subscriptions due; %zu block%s\n",
		n, n, blocks, blocks == 1 ? " (one billing_run_due call)" : "s, interleaved");
	printf("workers: %u on each side (library: billing_run_limits.workers; raw: %u thread%s, "
		"a connection each, one transaction per renewal)\n\n", workers, workers,
		workers == 1 ? "" : "s");
	fflush(stdout);

	maxrss_before = maxrss_kb();
	peak_ok = 1;
	for (k = 0; k < blocks; k++) {
		size_t len = n / blocks + (k < n % blocks ? 1 : 0);
		int order, j;
		order = (int)(k % 2);   /* 0: library first */
		for (j = 0; j < 2; j++) {
			int is_lib = (j == 0) == (order == 0);
			double t0, c0;
			if (is_lib) {
				billing_run_limits limits = BILLING_RUN_LIMITS_INIT;
				billing_run_report rep;
				uint64_t trips0, stmts0;
				long rss, hwm;
				/* The last block takes whatever is left, plus one
				 * (to see the queue empty). */
				limits.max_items = (unsigned int)(k == blocks - 1 ? n + 1 : len);
				limits.workers = workers;
				if (start_memory() < 0)
					peak_ok = 0;
				rss = status_kb("VmRSS");
				trips0 = be == POSTGRES ? billing__pg_round_trips(ctx->st) : 0;
				stmts0 = be == POSTGRES ? billing__pg_statements(ctx->st) : 0;
				c0 = cpu_s();
				t0 = bench_now_s();
				if (billing_run_due(ctx, 0, &limits, &rep) < 0)
					bench_die_lib("billing_run_due");
				lib.secs += bench_now_s() - t0;
				lib.cpu += cpu_s() - c0;
				if (be == POSTGRES) {
					lib.trips += billing__pg_round_trips(ctx->st) - trips0;
					lib.stmts += billing__pg_statements(ctx->st) - stmts0;
				}
				hwm = status_kb("VmHWM");
				if (lib.rss_before_kb < 0)
					lib.rss_before_kb = rss;
				if (hwm > lib.peak_kb)
					lib.peak_kb = hwm;
				lib.items += rep.invoiced;
				if (rep.failed)
					printf("WARNING: billing_run_due reported %" PRId64 " failed items\n",
						rep.failed);
				if (k == blocks - 1 && rep.remaining)
					printf("WARNING: %" PRId64 " items still due after the run\n",
						rep.remaining);
			} else {
				size_t i, want = k == blocks - 1 ? (size_t)-1 : len;
				long rss, hwm;
				if (start_memory() < 0)
					peak_ok = 0;
				rss = status_kb("VmRSS");
				c0 = cpu_s();
				t0 = bench_now_s();
				if (workers > 1)
					rw.items += raw_concurrent(be, path, workers, t_run);
				for (i = 0; workers == 1 && i < want && raw_item(&raw, t_run); i++)
					rw.items++;
				rw.secs += bench_now_s() - t0;
				rw.cpu += cpu_s() - c0;
				hwm = status_kb("VmHWM");
				if (rw.rss_before_kb < 0)
					rw.rss_before_kb = rss;
				if (hwm > rw.peak_kb)
					rw.peak_kb = hwm;
			}
		}
	}
	maxrss_after = maxrss_kb();

	/* 4. Both databases must hold the same result. */
	if (be == SQLITE) {
		struct rdb chk;
		snprintf(path, sizeof(path), "%s/lib.db", run_dir);
		sqlite_raw_open(&chk, path);
		check_read(&chk, t_run, checks[0]);
		sqlite3_close(chk.db);
		check_read(&raw.d, t_run, checks[1]);
	} else {
		struct rdb chk;
		char sql[256];
		char *lit = PQescapeLiteral(raw.d.pg, tenant_id, strlen(tenant_id));
		snprintf(sql, sizeof(sql), "BEGIN; SELECT set_config('billing.tenant_id', %s, true), "
			"set_config('billing.platform', 'on', true)", lit ? lit : "''");
		PQfreemem(lit);
		pg_raw_open(&chk, schema_lib);
		pg_exec(chk.pg, sql);
		check_read(&chk, t_run, checks[0]);
		pg_exec(chk.pg, "COMMIT");
		PQfinish(chk.pg);
		pg_exec(raw.d.pg, sql);
		check_read(&raw.d, t_run, checks[1]);
		pg_exec(raw.d.pg, "COMMIT");
	}
	for (c = 0; c < CHECK_COLS; c++)
		if (strcmp(checks[0][c], checks[1][c]) != 0)
			same = 0;

	/* 5. The report. */
	{
		double lib_rate = (double)lib.items / lib.secs, raw_rate = (double)rw.items / rw.secs;
		double ratio = lib_rate / raw_rate;
		printf("%-40s %10s %10s %12s\n", "side", "invoices", "seconds", "invoices/s");
		printf("%-40s %10s %10s %12s\n", "----------------------------------------", "----------",
			"----------", "------------");
		char side[2][64];
		snprintf(side[0], sizeof(side[0]), "library (billing_run_due, %u worker%s)", workers,
			workers == 1 ? "" : "s");
		snprintf(side[1], sizeof(side[1]), "raw SQL (prepared, %u worker%s)", workers,
			workers == 1 ? "" : "s");
		printf("%-40s %10" PRId64 " %10.2f %12.0f\n", side[0], lib.items, lib.secs, lib_rate);
		printf("%-40s %10" PRId64 " %10.2f %12.0f\n", side[1], rw.items, rw.secs, raw_rate);
		printf("\nratio library/raw %.3f   target >=%.2f  %s%s\n", ratio, TARGET_RATIO,
			ratio >= TARGET_RATIO ? "PASS" : "BELOW",
			be == POSTGRES && strcmp(fsync_, "on") != 0 ? "   (fsync OFF: not durable)" : "");
		printf("per invoice: library %.1f us, raw %.1f us, difference %.1f us\n",
			lib.secs * 1e6 / (double)lib.items, rw.secs * 1e6 / (double)rw.items,
			lib.secs * 1e6 / (double)lib.items - rw.secs * 1e6 / (double)rw.items);
		printf("CPU of this process per invoice (user+sys%s): library %.1f us, raw %.1f us\n",
			be == POSTGRES ? ", the server's not counted" : "",
			lib.cpu * 1e6 / (double)lib.items, rw.cpu * 1e6 / (double)rw.items);
		if (be == POSTGRES)
			printf("library: %.2f round trips and %.2f statements per invoice "
				"(%" PRIu64 " and %" PRIu64 " in all, counted by the driver)\n",
				(double)lib.trips / (double)lib.items, (double)lib.stmts / (double)lib.items,
				lib.trips, lib.stmts);
		if (peak_ok && lib.peak_kb >= 0)
			printf("\nmemory during the library run (N=%zu): RSS before %.1f MiB, peak %.1f MiB "
				"(VmHWM), growth %.1f MiB\n"
				"memory during the raw run:                 RSS before %.1f MiB, peak %.1f MiB, "
				"growth %.1f MiB\n",
				n, lib.rss_before_kb / 1024.0, lib.peak_kb / 1024.0,
				(lib.peak_kb - lib.rss_before_kb) / 1024.0, rw.rss_before_kb / 1024.0,
				rw.peak_kb / 1024.0, (rw.peak_kb - rw.rss_before_kb) / 1024.0);
		else
			printf("\nmemory: cannot reset the peak (/proc/self/clear_refs); process peak "
				"ru_maxrss %.1f MiB before the runs, %.1f MiB after (includes setup)\n",
				maxrss_before / 1024.0, maxrss_after / 1024.0);
		if (peak_ok)
			printf("process peak before the runs (ru_maxrss, the setup's): %.1f MiB\n",
				maxrss_before / 1024.0);
	}
	printf("\ncheck: %s\n", same ? "both databases hold the same invoices, lines, events "
		"(same total size), subscription periods and due work" : "the two databases DIFFER:");
	if (!same || getenv("BENCH_VERBOSE"))
		for (c = 0; c < CHECK_COLS; c++)
			printf("  %-26s library %-22s raw %s\n", check_names[c], checks[0][c],
				checks[1][c]);
	printf("total %.1f s\n", bench_now_s() - t_start);

	billing_ctx_close(ctx);
	raw_close(&raw);
	if (be == SQLITE)
		remove_dirs();
	else
		drop_schemas();
	return 0;
}
