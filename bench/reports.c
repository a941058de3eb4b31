/*
 * bench_reports: the revenue reports (billing/report.h; docs/reports.md) over
 * N customers against raw SQL doing the same work on the same database in
 * the same run (bench/README.md, "bench_reports").
 *
 * Setup, untimed, through the public API with an injected clock, on tmpfs
 * when there is one (only reads are timed, so fsync does not matter): a
 * tenant, a monthly plan of 19.99 and a PREMIUM one of 49.00 (EUR), N
 * customers without a payment method at T0 = 2026-01-01, subscription i at
 * T0 + 1 + i (its first invoice stays pending: charge_automatically, no
 * card); on February 10 every third subscription is canceled, on February
 * 12 every fifth moves to PREMIUM (no proration). No billing run: the
 * January invoices are all there is to collect. Asked on February 20:
 *
 *   MRR          billing_report_mrr(EUR, now)
 *   movements    billing_report_mrr_movements(EUR, 2026-02, 2026-03)
 *   ageing       billing_report_receivables_aging(EUR, now)
 *
 * The raw side runs, with sqlite3_* on its own connection, one SQL statement
 * per report that reads what the library reads (the latest event of every
 * subscription, plan or invoice at the time, with the same window function
 * as the storage's events_latest) and does the arithmetic in SQL. It is
 * written for this workload (one per-unit item per subscription, no
 * discounts, month and year plans), which is less than the library handles;
 * both sides' figures must agree, or the program fails.
 *
 * Rounds alternate which side goes first; each side's rate is its runs
 * over its total time; ratio = library/s over raw/s.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "billing/billing.h"
#include "billing/report.h"
#include "support.h"

#define T0 INT64_C(1767225600)         /* 2026-01-01T00:00:00Z */
#define DAY INT64_C(86400)
#define FEB1 INT64_C(1769904000)       /* 2026-02-01T00:00:00Z */
#define MAR1 INT64_C(1772323200)       /* 2026-03-01T00:00:00Z */
#define ROUNDS 5
#define ID_LEN 64

static const char *prog = "bench_reports";
static int64_t clock_now = T0;
static char dir[512];
static char tenant_id[ID_LEN];

static int64_t bench_clock(void *payload)
{
	(void)payload;
	return clock_now;
}

static void remove_dir(void)
{
	char path[600];
	static const char *const files[] = { "bench.db", "bench.db-wal", "bench.db-shm" };
	size_t i;
	if (!dir[0] || getenv("BENCH_KEEP"))
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

/* ------------------------------------------------------------ setup */

static const billing_principal platform = { NULL, "bench", BILLING_ROLE_PLATFORM };

static char *plan_new(billing_ctx *ctx, const billing_principal *who, const char *product_id,
	const char *code, int64_t amount)
{
	billing_plan_params lp = BILLING_PLAN_PARAMS_INIT;
	billing_plan *plan = NULL;
	char *id;
	lp.product_id = product_id;
	lp.code = code;
	lp.name = code;
	lp.amount = amount;
	lp.interval = BILLING_MONTH;
	if (billing_plan_create(&plan, ctx, who, &lp, NULL) < 0)
		bench_die_lib("billing_plan_create");
	id = strdup(billing_plan_id(plan));
	billing_plan_free(plan);
	if (!id)
		bench_die("strdup", "out of memory");
	return id;
}

static void setup(billing_ctx *ctx, size_t n)
{
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_product_params pp = BILLING_PRODUCT_PARAMS_INIT;
	billing_tenant *tenant = NULL;
	billing_product *product = NULL;
	billing_principal who;
	char *monthly, *premium, (*subs)[ID_LEN], name[64], email[64];
	size_t i;

	clock_now = T0;
	tp.name = "bench";
	if (billing_tenant_create(&tenant, ctx, &platform, &tp, NULL) < 0)
		bench_die_lib("billing_tenant_create");
	snprintf(tenant_id, sizeof(tenant_id), "%s", billing_tenant_id(tenant));
	billing_tenant_free(tenant);
	who.tenant_id = tenant_id;
	who.user_id = "bench";
	who.role = BILLING_ROLE_ADMIN;
	pp.name = "Bench service";
	pp.sku = "BENCH-1";
	pp.price_cents = 1999;
	pp.currency = "EUR";
	if (billing_product_create(&product, ctx, &who, &pp, NULL) < 0)
		bench_die_lib("billing_product_create");
	monthly = plan_new(ctx, &who, billing_product_id(product), "MONTHLY", 1999);
	premium = plan_new(ctx, &who, billing_product_id(product), "PREMIUM", 4900);
	billing_product_free(product);

	if ((subs = calloc(n, ID_LEN)) == NULL)
		bench_die("calloc", "out of memory");
	for (i = 0; i < n; i++) {
		billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
		billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
		billing_customer *c = NULL;
		billing_subscription *s = NULL;
		clock_now = T0 + 1 + (int64_t)i;
		snprintf(name, sizeof(name), "Bench Customer %zu", i);
		snprintf(email, sizeof(email), "customer%zu@bench.example", i);
		cp.name = name;
		cp.email = email;
		if (billing_customer_create(&c, ctx, &who, &cp, NULL) < 0)
			bench_die_lib("billing_customer_create");
		sp.customer_id = billing_customer_id(c);
		sp.plan_id = monthly;
		if (billing_subscription_create(&s, ctx, &who, &sp, NULL) < 0)
			bench_die_lib("billing_subscription_create");
		snprintf(subs[i], ID_LEN, "%s", billing_subscription_id(s));
		billing_subscription_free(s);
		billing_customer_free(c);
	}
	for (i = 0; i < n; i += 3) {
		billing_subscription *s = NULL;
		clock_now = T0 + 40 * DAY + (int64_t)i;
		if (billing_subscription_cancel(&s, ctx, &who, subs[i], 0, NULL) < 0)
			bench_die_lib("billing_subscription_cancel");
		billing_subscription_free(s);
	}
	for (i = 1; i < n; i += 5) {
		billing_subscription_change_params cp = BILLING_SUBSCRIPTION_CHANGE_INIT;
		billing_subscription *s = NULL;
		if (i % 3 == 0)
			continue;       /* canceled */
		clock_now = T0 + 42 * DAY + (int64_t)i;
		cp.plan_id = premium;
		cp.proration = BILLING_PRORATE_NONE;
		if (billing_subscription_change_plan(&s, ctx, &who, subs[i], &cp, NULL) < 0)
			bench_die_lib("billing_subscription_change_plan");
		billing_subscription_free(s);
	}
	clock_now = T0 + 50 * DAY;
	free(subs);
	free(monthly);
	free(premium);
}

/* ------------------------------------------------------------ raw side */

/* The latest event of each resource of a type at ?2, as storage's
 * events_latest reads it (src/storage/sql/records.c). */
#define LATEST(name, type) \
	name " AS (SELECT resource_id, data FROM (SELECT resource_id, data, ROW_NUMBER() " \
	"OVER (PARTITION BY resource_id ORDER BY created_at DESC, id DESC) AS rn FROM events " \
	"WHERE tenant_id = ?1 AND resource_type = '" type "' AND created_at <= ?2) WHERE rn = 1)"

/* Each customer's MRR at ?2 in ?3: the month share of each active or
 * past_due subscription (one per-unit item), rounded half away from zero. */
#define CUSTOMER_MRR(name) \
	name " AS (SELECT cu, SUM(m) AS mrr FROM (SELECT json_extract(s.data, '$.customerId') " \
	"AS cu, (2 * CAST(json_extract(p.data, '$.amount') AS INTEGER) * " \
	"json_extract(s.data, '$.items[0].quantity') * CASE r.billing_interval WHEN 1 THEN 365 " \
	"WHEN 2 THEN 52 WHEN 3 THEN 12 ELSE 1 END + 12 * r.interval_count) / " \
	"(24 * r.interval_count) AS m FROM subs s JOIN plans r ON r.tenant_id = ?1 AND " \
	"r.id = json_extract(s.data, '$.items[0].planId') JOIN pls p ON p.resource_id = r.id " \
	"WHERE json_extract(s.data, '$.status') IN ('active', 'past_due') AND " \
	"json_extract(s.data, '$.currency') = ?3) GROUP BY cu)"

static const char *const sql_mrr =
	"WITH " LATEST("subs", "subscription") ", " LATEST("pls", "plan") ", "
	CUSTOMER_MRR("c") " SELECT COALESCE(SUM(mrr), 0), COUNT(*) FROM c";

/* ?2 the month's end, ?4 its start: each customer's MRR at both, compared;
 * new or reactivated by the customer's first active event before ?2. */
static const char *const sql_movements =
	"WITH " LATEST("subs", "subscription") ", " LATEST("pls", "plan") ", "
	CUSTOMER_MRR("e") ", "
	"subs0 AS (SELECT resource_id, data FROM (SELECT resource_id, data, ROW_NUMBER() "
	"OVER (PARTITION BY resource_id ORDER BY created_at DESC, id DESC) AS rn FROM events "
	"WHERE tenant_id = ?1 AND resource_type = 'subscription' AND created_at <= ?4) "
	"WHERE rn = 1), "
	"pls0 AS (SELECT resource_id, data FROM (SELECT resource_id, data, ROW_NUMBER() "
	"OVER (PARTITION BY resource_id ORDER BY created_at DESC, id DESC) AS rn FROM events "
	"WHERE tenant_id = ?1 AND resource_type = 'plan' AND created_at <= ?4) WHERE rn = 1), "
	"s AS (SELECT json_extract(s.data, '$.customerId') AS cu, (2 * CAST(json_extract(p.data, "
	"'$.amount') AS INTEGER) * json_extract(s.data, '$.items[0].quantity') * CASE "
	"r.billing_interval WHEN 1 THEN 365 WHEN 2 THEN 52 WHEN 3 THEN 12 ELSE 1 END + 12 * "
	"r.interval_count) / (24 * r.interval_count) AS m FROM subs0 s JOIN plans r ON "
	"r.tenant_id = ?1 AND r.id = json_extract(s.data, '$.items[0].planId') JOIN pls0 p ON "
	"p.resource_id = r.id WHERE json_extract(s.data, '$.status') IN ('active', 'past_due') "
	"AND json_extract(s.data, '$.currency') = ?3), "
	"b AS (SELECT cu, SUM(m) AS mrr FROM s GROUP BY cu), "
	"f AS (SELECT json_extract(data, '$.customerId') AS cu, MIN(created_at) AS first FROM "
	"events WHERE tenant_id = ?1 AND resource_type = 'subscription' AND created_at < ?2 AND "
	"json_extract(data, '$.status') IN ('active', 'past_due') AND "
	"json_extract(data, '$.currency') = ?3 GROUP BY 1), "
	"ab AS (SELECT COALESCE(b.cu, e.cu) AS cu, COALESCE(b.mrr, 0) AS a, COALESCE(e.mrr, 0) "
	"AS z FROM b FULL JOIN e ON b.cu = e.cu) "
	"SELECT SUM(a), SUM(z), "
	"SUM(CASE WHEN a = 0 AND z > 0 AND (f.first IS NULL OR f.first >= ?4) THEN z ELSE 0 END), "
	"SUM(CASE WHEN a > 0 AND z > a THEN z - a ELSE 0 END), "
	"SUM(CASE WHEN z > 0 AND z < a THEN z - a ELSE 0 END), "
	"SUM(CASE WHEN a > 0 AND z = 0 THEN -a ELSE 0 END), "
	"SUM(CASE WHEN a = 0 AND z > 0 AND f.first < ?4 THEN z ELSE 0 END) "
	"FROM ab LEFT JOIN f ON f.cu = ab.cu";

/* The amountDue of the invoices pending or failed at ?2, by whole days past
 * due (dueDate, or finalizedAt for charge_automatically). */
static const char *const sql_aging =
	"WITH " LATEST("inv", "invoice") ", "
	"o AS (SELECT CAST(json_extract(data, '$.amountDue') AS INTEGER) AS amt, CASE WHEN ?2 >= "
	"d THEN (?2 - d) / 86400 ELSE -1 END AS days FROM (SELECT data, CAST(strftime('%s', "
	"COALESCE(json_extract(data, '$.dueDate'), json_extract(data, '$.finalizedAt'))) AS "
	"INTEGER) AS d FROM inv WHERE json_extract(data, '$.status') IN ('pending', 'failed') "
	"AND json_extract(data, '$.currency') = ?3)) "
	"SELECT COALESCE(SUM(CASE WHEN days < 1 THEN amt END), 0), "
	"COALESCE(SUM(CASE WHEN days BETWEEN 1 AND 30 THEN amt END), 0), "
	"COALESCE(SUM(CASE WHEN days BETWEEN 31 AND 60 THEN amt END), 0), "
	"COALESCE(SUM(CASE WHEN days BETWEEN 61 AND 90 THEN amt END), 0), "
	"COALESCE(SUM(CASE WHEN days > 90 THEN amt END), 0), COALESCE(SUM(amt), 0), COUNT(*) "
	"FROM o";

static sqlite3 *raw_db;

/* Runs sql with the tenant, at, EUR and (movements) the month's start;
 * the row's first ncol integers into out. */
static void raw_run(const char *sql, int64_t at, int64_t start, int64_t *out, int ncol)
{
	sqlite3_stmt *st = NULL;
	int i;
	if (sqlite3_prepare_v2(raw_db, sql, -1, &st, NULL) != SQLITE_OK)
		bench_die("raw prepare", sqlite3_errmsg(raw_db));
	sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, "EUR", -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 4)
		sqlite3_bind_int64(st, 4, start);
	if (sqlite3_exec(raw_db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		bench_die("raw step", sqlite3_errmsg(raw_db));
	for (i = 0; i < ncol; i++)
		out[i] = sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	if (sqlite3_exec(raw_db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		bench_die("raw commit", sqlite3_errmsg(raw_db));
}

/* ------------------------------------------------------------ the reports */

enum { R_MRR, R_MOVEMENTS, R_AGING, R_COUNT };
static const char *const names[R_COUNT] = { "MRR (now)", "MRR movements (February)",
	"receivables ageing (now)" };

static billing_ctx *lib_ctx;
static billing_principal who;
static billing_mrr_movements movements;

/* One library run of report r; its figures into out. */
static void lib_run(int r, int64_t out[7])
{
	memset(out, 0, 7 * sizeof(out[0]));
	if (r == R_MRR) {
		billing_mrr m;
		if (billing_report_mrr(&m, lib_ctx, &who, "EUR", 0) < 0)
			bench_die_lib("billing_report_mrr");
		out[0] = m.mrr;
		out[1] = m.customers;
	} else if (r == R_MOVEMENTS) {
		const billing_mrr_month *m = &movements.months[0];
		if (billing_report_mrr_movements(&movements, lib_ctx, &who, "EUR", FEB1, MAR1) < 0)
			bench_die_lib("billing_report_mrr_movements");
		out[0] = m->start_mrr;
		out[1] = m->end_mrr;
		out[2] = m->new_mrr;
		out[3] = m->expansion;
		out[4] = m->contraction;
		out[5] = m->churned;
		out[6] = m->reactivated;
	} else {
		billing_receivables_aging a;
		if (billing_report_receivables_aging(&a, lib_ctx, &who, "EUR", 0) < 0)
			bench_die_lib("billing_report_receivables_aging");
		out[0] = a.current;
		out[1] = a.days_1_30;
		out[2] = a.days_31_60;
		out[3] = a.days_61_90;
		out[4] = a.days_over_90;
		out[5] = a.total;
		out[6] = a.invoices;
	}
}

static void raw_report(int r, int64_t out[7])
{
	memset(out, 0, 7 * sizeof(out[0]));
	if (r == R_MRR)
		raw_run(sql_mrr, clock_now, 0, out, 2);
	else if (r == R_MOVEMENTS)
		raw_run(sql_movements, clock_now, FEB1, out, 7);
	else
		raw_run(sql_aging, clock_now, 0, out, 7);
}

int main(int argc, char **argv)
{
	billing_ctx_options opts = BILLING_CTX_OPTIONS_INIT;
	char url[600];
	const char *base = getenv("TMPDIR");
	struct statfs fs;
	size_t n = 10000;
	double setup_s, t[2][R_COUNT] = { { 0 } };
	int r, k;

	if (argc > 1 && ((n = strtoul(argv[1], NULL, 10)) < 10 || n > 200000)) {
		fprintf(stderr, "usage: %s [N customers, 10..200000, default 10000]\n", argv[0]);
		return 2;
	}
	if (statfs("/dev/shm", &fs) == 0 && fs.f_type == 0x01021994)
		base = "/dev/shm";
	else if (!base || !*base)
		base = "/tmp";
	snprintf(dir, sizeof(dir), "%s/bench_reports.XXXXXX", base);
	if (!mkdtemp(dir))
		bench_die("mkdtemp", dir);
	atexit(remove_dir);
	snprintf(url, sizeof(url), "sqlite:%s/bench.db", dir);
	opts.clock = bench_clock;
	if (billing_ctx_open_url(&lib_ctx, url, &opts) < 0)
		bench_die_lib("billing_ctx_open_url");
	if (billing_migrate(lib_ctx) < 0)
		bench_die_lib("billing_migrate");
	printf("%s: SQLite %s, database in %s; setting up %zu customers...\n", prog,
		sqlite3_libversion(), dir, n);
	fflush(stdout);
	setup_s = bench_now_s();
	setup(lib_ctx, n);
	setup_s = bench_now_s() - setup_s;
	who.tenant_id = tenant_id;
	who.user_id = "bench";
	who.role = BILLING_ROLE_USER;
	snprintf(url, sizeof(url), "%s/bench.db", dir);
	if (sqlite3_open_v2(url, &raw_db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		bench_die("sqlite3_open_v2", url);
	printf("setup through the API: %.0f s (%zu subscriptions on January 1, a third "
		"canceled on February 10, a fifth of the rest upgraded on February 12); asked "
		"on February 20\n\n", setup_s, n);

	/* One untimed run each, and the check: both sides say the same. */
	for (r = 0; r < R_COUNT; r++) {
		int64_t a[7], b[7];
		lib_run(r, a);
		raw_report(r, b);
		if (memcmp(a, b, sizeof(a)) != 0) {
			fprintf(stderr, "%s: %s: library %lld %lld %lld %lld %lld %lld %lld, raw "
				"%lld %lld %lld %lld %lld %lld %lld\n", prog, names[r],
				(long long)a[0], (long long)a[1], (long long)a[2], (long long)a[3],
				(long long)a[4], (long long)a[5], (long long)a[6], (long long)b[0],
				(long long)b[1], (long long)b[2], (long long)b[3], (long long)b[4],
				(long long)b[5], (long long)b[6]);
			bench_die("check", "the two sides disagree");
		}
		printf("check %-26s library = raw: %lld, %lld, %lld, %lld, %lld, %lld, %lld\n",
			names[r], (long long)a[0], (long long)a[1], (long long)a[2],
			(long long)a[3], (long long)a[4], (long long)a[5], (long long)a[6]);
	}

	for (k = 0; k < ROUNDS; k++) {
		for (r = 0; r < R_COUNT; r++) {
			int64_t x[7];
			int side;
			for (side = 0; side < 2; side++) {
				int lib = (side + k) % 2 == 0;
				double t0 = bench_now_s();
				if (lib)
					lib_run(r, x);
				else
					raw_report(r, x);
				t[lib ? 0 : 1][r] += bench_now_s() - t0;
			}
		}
	}
	printf("\n%-28s %12s %12s %8s\n", "report", "library/s", "raw/s", "ratio");
	for (r = 0; r < R_COUNT; r++)
		printf("%-28s %12.2f %12.2f %8.3f\n", names[r], ROUNDS / t[0][r], ROUNDS / t[1][r],
			t[1][r] / t[0][r]);
	printf("(%d interleaved rounds; ratio = library/s over raw/s; one run of the library "
		"takes %.0f / %.0f / %.0f ms)\n", ROUNDS, 1000 * t[0][0] / ROUNDS,
		1000 * t[0][1] / ROUNDS, 1000 * t[0][2] / ROUNDS);
	sqlite3_close(raw_db);
	billing_ctx_close(lib_ctx);
	return 0;
}
