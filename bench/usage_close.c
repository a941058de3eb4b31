/*
 * bench_usage_close: the close of a period of metered subscriptions in one
 * billing run (issue #23 item 5).
 *
 *   bench_usage_close sqlite [SUBS] [EVENTS]
 *   scripts/with-postgres.sh ./build/release/bench/bench_usage_close postgres [SUBS] [EVENTS]
 *
 * SUBS (default 10000) customers, each subscribed to one monthly metered
 * plan (graduated tiers on a sum meter, docs/billing.md's example), then
 * EVENTS (default 1000000; the figure is 10000000) usage events
 * spread evenly over them, ingested through billing_usage_ingest in
 * batches of 1,000 inside the first period. The clock then moves past
 * every period's end and the grace window, and billing_run_due closes
 * them: each renewal aggregates its period's events by storage (set-based
 * SQL), stores the aggregate and bills it in arrears. It prints the
 * ingestion rate, the run's time and renewals/s, the invoices made, and
 * the peak resident memory of the run (VmHWM, reset before it by
 * /proc/self/clear_refs): it must not grow with EVENTS. BENCH_WORKERS=n
 * runs the billing run with n workers (PostgreSQL).
 *
 * SQLite: TMPDIR/bench_usage_close_PID.db, removed at the end.
 * PostgreSQL: a schema of its own, dropped at the end.
 * The program reports; it exits 0 unless a call fails or a count is wrong.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "billing/billing.h"
#include "support.h"

#define BATCH 1000
#define ID_LEN 64
#define DAY 86400

static const char *prog = "bench_usage_close";
static int64_t clock_now;

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

static int64_t bench_clock(void *payload)
{
	(void)payload;
	return clock_now;
}

/* The id of a JSON answer: its first member. */
static void id_of(const char *json, char id[ID_LEN])
{
	const char *p = strstr(json, "\"id\":\"");
	if (!p)
		bench_die("no id in", json);
	snprintf(id, ID_LEN, "%.*s", (int)strcspn(p + 6, "\""), p + 6);
}

/* The graduated tiers of the plan for q units, by hand (as
 * docs/billing.md's example): 500 flat and 10 a unit to 100, 5 to 1,000,
 * 2 beyond. */
static int64_t by_hand(int64_t q)
{
	int64_t a = 0;
	if (q <= 0)
		return 0;
	a += 500 + 10 * (q < 100 ? q : 100);
	if (q > 100)
		a += 5 * ((q < 1000 ? q : 1000) - 100);
	if (q > 1000)
		a += 2 * (q - 1000);
	return a;
}

/* The sum of the totals of a customer's invoices (JSON list, one page). */
static int64_t billed(billing_ctx *ctx, const billing_principal *who, const char *customer)
{
	char in[160], *out = NULL;
	const char *p;
	int64_t sum = 0;
	snprintf(in, sizeof(in), "{\"customerId\":\"%s\",\"limit\":100}", customer);
	if (billing_call_json(&out, ctx, who, "invoices.list", in, strlen(in), NULL) < 0)
		bench_die_lib("invoices.list");
	/* Each invoice's own total (the list ends with a "total" count). */
	for (p = out; (p = strstr(p, "\"object\":\"invoice\"")) != NULL &&
	     (p = strstr(p, "\"total\":")) != NULL; p += 8)
		sum += strtoll(p + 8, NULL, 10);
	billing_free(out);
	return sum;
}

static void call(billing_ctx *ctx, const billing_principal *who, const char *op,
	const char *json, char id[ID_LEN])
{
	char *out = NULL;
	if (billing_call_json(&out, ctx, who, op, json, strlen(json), NULL) < 0)
		bench_die_lib(op);
	id_of(out, id);
	billing_free(out);
}

int main(int argc, char **argv)
{
	billing_ctx_options opts = BILLING_CTX_OPTIONS_INIT;
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	billing_principal who;
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_run_limits limits = BILLING_RUN_LIMITS_INIT;
	billing_run_report rep;
	const char *backend = argc > 1 ? argv[1] : "sqlite";
	size_t subs = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 10000;
	size_t events = argc > 3 ? (size_t)strtoull(argv[3], NULL, 10) : 1000000;
	const int64_t t0 = 1767225600;             /* 2026-01-01T00:00:00Z */
	static billing_usage_event evs[BATCH];
	static char tids[BATCH][32], props[BATCH][32];
	char url[1024], path[512], schema[64] = "", tenant_id[ID_LEN], meter[ID_LEN];
	char product[ID_LEN], plan[ID_LEN], json[1024];
	char (*customers)[ID_LEN];
	billing_ctx *ctx = NULL;
	billing_tenant *tenant = NULL;
	int64_t processed = 0, invoiced = 0, failed = 0;
	double t, ingest_s = 0, run_s;
	long rss0, peak;
	size_t i, done;
	int is_pg = strcmp(backend, "postgres") == 0;

	if (subs == 0 || events < subs)
		bench_die("arguments", "SUBS >= 1 and EVENTS >= SUBS");
	events = (events + BATCH - 1) / BATCH * BATCH;
	if (getenv("BENCH_WORKERS"))
		limits.workers = (unsigned int)strtoul(getenv("BENCH_WORKERS"), NULL, 10);
	clock_now = t0;
	opts.clock = bench_clock;
	if (!is_pg) {
		const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		snprintf(path, sizeof(path), "%s/bench_usage_close_%ld.db", dir, (long)getpid());
		snprintf(url, sizeof(url), "sqlite:%s", path);
		if (billing_ctx_open_url(&ctx, url, &opts) < 0 || billing_migrate(ctx) < 0)
			bench_die_lib("open / migrate");
		printf("%s: SQLite, %s\n", prog, path);
	} else {
		const char *host = getenv("BILLING_TEST_PG_HOST");
		billing_ctx *owner = NULL;
		PGconn *pg;
		if (!host || !*host) {
			fprintf(stderr, "%s: run it as scripts/with-postgres.sh %s postgres\n", prog,
				argv[0]);
			return 2;
		}
		snprintf(schema, sizeof(schema), "bench_usage_close_%ld", (long)getpid());
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
		printf("%s: PostgreSQL, schema %s, %u worker(s)\n", prog, schema,
			limits.workers ? limits.workers : 1);
	}

	/* The tenant, a sum meter and a graduated metered plan on it. */
	tp.name = "bench";
	if (billing_tenant_create(&tenant, ctx, &platform, &tp, NULL) < 0)
		bench_die_lib("billing_tenant_create");
	snprintf(tenant_id, sizeof(tenant_id), "%s", billing_tenant_id(tenant));
	billing_tenant_free(tenant);
	who.tenant_id = tenant_id;
	who.user_id = "bench";
	who.role = BILLING_ROLE_ADMIN;
	call(ctx, &who, "meters.create",
		"{\"eventName\":\"api.call\",\"aggregation\":\"sum\",\"valueProperty\":\"n\"}", meter);
	call(ctx, &who, "products.create", "{\"name\":\"API\",\"sku\":\"API-1\","
		"\"priceCents\":0}", product);
	snprintf(json, sizeof(json), "{\"productId\":\"%s\",\"code\":\"API\",\"name\":\"API\","
		"\"interval\":\"MONTH\",\"currency\":\"EUR\",\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\","
		"\"tiers\":[{\"upTo\":100,\"unitAmount\":10,\"flatAmount\":500},"
		"{\"upTo\":1000,\"unitAmount\":5},{\"upTo\":null,\"unitAmount\":2}],"
		"\"usageType\":\"metered\",\"meterId\":\"%s\"}", product, meter);
	call(ctx, &who, "plans.create", json, plan);

	if ((customers = calloc(subs, ID_LEN)) == NULL)
		bench_die("calloc", "out of memory");
	t = bench_now_s();
	for (i = 0; i < subs; i++) {
		billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
		billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
		billing_subscription_item_spec item = { NULL, 0 };
		billing_customer *c = NULL;
		billing_subscription *s = NULL;
		char email[64];
		snprintf(email, sizeof(email), "c%zu@bench.example", i);
		cp.name = "Bench";
		cp.email = email;
		clock_now = t0 + 1 + (int64_t)i;
		if (billing_customer_create(&c, ctx, &who, &cp, NULL) < 0)
			bench_die_lib("billing_customer_create");
		snprintf(customers[i], ID_LEN, "%s", billing_customer_id(c));
		billing_customer_free(c);
		item.plan_id = plan;
		sp.customer_id = customers[i];
		sp.items = &item;
		sp.item_count = 1;
		if (billing_subscription_create(&s, ctx, &who, &sp, NULL) < 0)
			bench_die_lib("billing_subscription_create");
		billing_subscription_free(s);
	}
	printf("setup: %zu customers and metered subscriptions in %.1f s\n", subs, bench_now_s() - t);

	/* The events, two days into the period, each customer's evenly. */
	clock_now = t0 + 2 * DAY;
	for (done = 0; done < events; done += BATCH) {
		billing_usage_result *r = NULL;
		for (i = 0; i < BATCH; i++) {
			billing_usage_event e = BILLING_USAGE_EVENT_INIT;
			size_t k = done + i;
			snprintf(tids[i], sizeof(tids[i]), "e-%zu", k);
			snprintf(props[i], sizeof(props[i]), "{\"n\":%zu}", k % 10 + 1);
			e.transaction_id = tids[i];
			e.event_name = "api.call";
			e.customer_id = customers[k % subs];
			e.timestamp = t0 + (int64_t)subs + 1 + (int64_t)(k % DAY);
			e.properties_json = props[i];
			evs[i] = e;
		}
		t = bench_now_s();
		if (billing_usage_ingest(&r, ctx, &who, evs, BATCH) < 0)
			bench_die_lib("billing_usage_ingest");
		ingest_s += bench_now_s() - t;
		if (billing_usage_result_tally(r, BILLING_USAGE_ACCEPTED) != BATCH)
			bench_die("billing_usage_ingest", "not every event was accepted");
		billing_usage_result_free(r);
	}
	printf("ingest: %zu events in batches of %d, %.0f events/s (%.1f s)\n", events, BATCH,
		(double)events / ingest_s, ingest_s);

	/* The close: past every period's end (a month from t0 + 1 + i) and the
	 * grace window, before the next. */
	clock_now = t0 + 40 * DAY;
	rss0 = status_kb("VmRSS");
	reset_peak();
	t = bench_now_s();
	do {
		memset(&rep, 0, sizeof(rep));
		if (billing_run_due(ctx, clock_now, &limits, &rep) < 0)
			bench_die_lib("billing_run_due");
		processed += rep.processed;
		invoiced += rep.invoiced;
		failed += rep.failed;
	} while (rep.remaining > 0 && rep.processed > 0);
	run_s = bench_now_s() - t;
	peak = status_kb("VmHWM");
	printf("close: %lld renewals, %lld invoices, %lld failed in %.1f s: %.0f renewals/s\n",
		(long long)processed, (long long)invoiced, (long long)failed, run_s,
		(double)processed / run_s);
	printf("memory: RSS %ld kB before the run, peak %ld kB during it\n", rss0, peak);
	if (failed || processed < (int64_t)subs)
		bench_die("close", "not every subscription renewed");
	/* The first customers' invoices against the tiers by hand. */
	for (i = 0; i < subs && i < 20; i++) {
		int64_t q = 0;
		for (done = i; done < events; done += subs)
			q += (int64_t)(done % 10 + 1);
		if (billed(ctx, &who, customers[i]) != by_hand(q))
			bench_die("close", "a customer's invoices differ from the tiers by hand");
	}
	printf("check: the first %zu customers' invoices equal the tiers by hand\n",
		subs < 20 ? subs : (size_t)20);

	billing_ctx_close(ctx);
	free(customers);
	if (is_pg) {
		PGconn *pg;
		char sql[128];
		snprintf(url, sizeof(url), "host=%s dbname=billing user=billing_owner",
			getenv("BILLING_TEST_PG_HOST"));
		pg = PQconnectdb(url);
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
		PQclear(PQexec(pg, sql));
		PQfinish(pg);
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
