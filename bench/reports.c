/*
 * bench_reports: the revenue reports (billing/report.h; docs/reports.md) over
 * N customers against raw SQL doing the same work on the same database in
 * the same run (bench/README.md, "bench_reports").
 *
 *   bench_reports [sqlite] [N]
 *   scripts/with-postgres.sh ./build/release/bench/bench_reports postgres [N]
 *
 * Setup, untimed, through the public API with an injected clock (SQLite: on
 * tmpfs when there is one; PostgreSQL: a schema of its own, migrated as
 * billing_owner, the library and the raw side as billing_app with RLS on):
 * a tenant, a monthly plan of 19.99 and a PREMIUM one of 49.00 (EUR), N
 * customers without a payment method at T0 = 2026-01-01, subscription i at
 * T0 + 1 + i (its first invoice stays pending: charge_automatically, no
 * card), every seventh (i % 7 == 6) with a 45-day trial instead; of the
 * others, the first invoice of every eleventh (i % 11 == 10) is marked paid
 * out of band on January 11 and every thirteenth (i % 13 == 12, not paid)
 * is voided on January 21; on February 10 every third subscription is
 * canceled (the trialing ones among them during their trial), on February
 * 12 every fifth moves to PREMIUM (no proration). No billing run. Asked on
 * February 20:
 *
 *   MRR          billing_report_mrr(EUR, now)
 *   movements    billing_report_mrr_movements(EUR, 2026-02, 2026-03)
 *   ageing       billing_report_receivables_aging(EUR, now)
 *   ARPA         billing_report_arpa(EUR, now)
 *   churn        billing_report_churn(EUR, February 1, now)
 *   trials       billing_report_trial_conversion(January 1, now)
 *   revenue      billing_report_revenue(EUR, 2026-01, 2026-03)
 *   recovery     billing_report_payment_recovery(EUR, January 1, now)
 *
 * The raw side runs, on its own connection (sqlite3_*, or libpq), one SQL
 * statement per report that reads what the library reads (the latest event
 * of every subscription, plan or invoice at the time, with the same window
 * function as the storage's events_latest) and does the arithmetic in SQL.
 * It is written for this workload (one per-unit item per subscription, no
 * discounts, month and year plans), which is less than the library handles;
 * both sides' figures must agree, or the program fails. No payment fails
 * in this workload (a declined payment needs a payment provider, which it
 * does not set up), so payment recovery's figures are zeros on both sides:
 * its check proves little, its times are the reads such an answer costs.
 *
 * BENCH_SETUP_ONLY=1 (SQLite): the setup alone, its database kept and
 * named with the tenant on the last lines, nothing measured (the data of
 * bench/console/first_page.py); its clock shifted so that February 20 is
 * the time it runs, for a server on the real clock.
 *
 * Rounds alternate which side goes first; each side's rate is its runs
 * over its total time; ratio = library/s over raw/s.
 */
#include <libpq-fe.h>
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
#define ROUNDS 5                       /* BENCH_ROUNDS: 1 to 100 */
#define ID_LEN 64

static const char *prog = "bench_reports";
static int64_t clock_now = T0;
static int rounds = ROUNDS;
static int64_t clock_shift;   /* BENCH_SETUP_ONLY: moves "February 20" to now */
static char dir[512];
static char tenant_id[ID_LEN];

static int64_t bench_clock(void *payload)
{
	(void)payload;
	return clock_now + clock_shift;
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
	char *monthly, *premium, (*subs)[ID_LEN], (*invs)[ID_LEN], name[64], email[64];
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

	if (n == 0)
		bench_die("setup", "no customers");
	if ((subs = calloc(n, ID_LEN)) == NULL || (invs = calloc(n, ID_LEN)) == NULL)
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
		if (i % 7 == 6) {
			sp.has_trial_days = 1;
			sp.trial_days = 45;
		}
		if (billing_subscription_create(&s, ctx, &who, &sp, NULL) < 0)
			bench_die_lib("billing_subscription_create");
		snprintf(subs[i], ID_LEN, "%s", billing_subscription_id(s));
		snprintf(invs[i], ID_LEN, "%s", billing_subscription_latest_invoice_id(s) ?
			billing_subscription_latest_invoice_id(s) : "");
		billing_subscription_free(s);
		billing_customer_free(c);
	}
	for (i = 10; i < n; i += 11) {
		billing_invoice *inv = NULL;
		if (i % 7 == 6)
			continue;       /* trialing */
		clock_now = T0 + 10 * DAY + (int64_t)i;
		if (billing_invoice_pay_out_of_band(&inv, ctx, &who, invs[i], NULL) < 0)
			bench_die_lib("billing_invoice_pay_out_of_band");
		billing_invoice_free(inv);
	}
	for (i = 12; i < n; i += 13) {
		billing_invoice *inv = NULL;
		if (i % 7 == 6 || i % 11 == 10)
			continue;       /* trialing, or paid */
		clock_now = T0 + 20 * DAY + (int64_t)i;
		if (billing_invoice_void(&inv, ctx, &who, invs[i], NULL) < 0)
			bench_die_lib("billing_invoice_void");
		billing_invoice_free(inv);
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
	free(invs);
	free(monthly);
	free(premium);
}

/* ------------------------------------------------------------ raw side */

/* Each statement is written once for both backends; D is the dialect, SQ
 * (SQLite: json_extract on the TEXT column) or PG (PostgreSQL: the column
 * cast to jsonb once per row read, then ->>). Numbers out of JSON are cast
 * to BIGINT on both. Parameters are ?N; the PostgreSQL side turns them into
 * $N: ?1 the tenant, ?2 the time asked (or a range's end), ?3 the currency,
 * ?4 a month's or a range's start. */
#define SQ_JD(c) c
#define PG_JD(c) "CAST(" c " AS jsonb)"
#define SQ_J(c, k) "json_extract(" c ", '$." k "')"
#define PG_J(c, k) "(" c " ->> '" k "')"
#define SQ_JI0(c, k) "json_extract(" c ", '$.items[0]." k "')"
#define PG_JI0(c, k) "(" c " -> 'items' -> 0 ->> '" k "')"
#define SQ_EPOCH(x) "CAST(strftime('%s', " x ") AS INTEGER)"
#define PG_EPOCH(x) "CAST(EXTRACT(EPOCH FROM CAST(" x " AS timestamptz)) AS BIGINT)"

/* The latest event of each resource of a type at or before at, as
 * storage's events_latest reads it (src/storage/sql/records.c). */
#define LATEST(D, name, type, at) \
	name " AS (SELECT resource_id, data FROM (SELECT resource_id, " D##_JD("data") \
	" AS data, ROW_NUMBER() OVER (PARTITION BY resource_id ORDER BY created_at DESC, id " \
	"DESC) AS rn FROM events WHERE tenant_id = ?1 AND resource_type = '" type "' AND " \
	"created_at <= " at ") AS l WHERE rn = 1)"

/* Each customer's MRR (of subs and pls, the subscriptions and plans at a
 * time) in ?3: the month share of each active or past_due subscription
 * (one per-unit item), rounded half away from zero. */
#define CUSTOMER_MRR(D, name, subs, pls) \
	name " AS (SELECT cu, SUM(m) AS mrr FROM (SELECT " D##_J("s.data", "customerId") \
	" AS cu, (2 * CAST(" D##_J("p.data", "amount") " AS BIGINT) * CAST(" \
	D##_JI0("s.data", "quantity") " AS BIGINT) * CASE r.billing_interval WHEN 1 THEN 365 " \
	"WHEN 2 THEN 52 WHEN 3 THEN 12 ELSE 1 END + 12 * r.interval_count) / " \
	"(24 * r.interval_count) AS m FROM " subs " s JOIN plans r ON r.tenant_id = ?1 AND " \
	"r.id = " D##_JI0("s.data", "planId") " JOIN " pls " p ON p.resource_id = r.id " \
	"WHERE " D##_J("s.data", "status") " IN ('active', 'past_due') AND " \
	D##_J("s.data", "currency") " = ?3) AS x GROUP BY cu)"

#define SQL_MRR(D) \
	"WITH " LATEST(D, "subs", "subscription", "?2") ", " LATEST(D, "pls", "plan", "?2") \
	", " CUSTOMER_MRR(D, "c", "subs", "pls") " SELECT COALESCE(SUM(mrr), 0), COUNT(*) FROM c"

/* ?2 the month's end, ?4 its start: each customer's MRR at both, compared;
 * new or reactivated by the customer's first active event before ?2. */
#define SQL_MOVEMENTS(D) \
	"WITH " LATEST(D, "subs", "subscription", "?2") ", " LATEST(D, "pls", "plan", "?2") \
	", " CUSTOMER_MRR(D, "e", "subs", "pls") ", " \
	LATEST(D, "subs0", "subscription", "?4") ", " LATEST(D, "pls0", "plan", "?4") ", " \
	CUSTOMER_MRR(D, "b", "subs0", "pls0") ", " \
	"se AS (SELECT created_at, " D##_JD("data") " AS data FROM events WHERE tenant_id = ?1 " \
	"AND resource_type = 'subscription' AND created_at < ?2), " \
	"f AS (SELECT " D##_J("data", "customerId") " AS cu, MIN(created_at) AS first FROM se " \
	"WHERE " D##_J("data", "status") " IN ('active', 'past_due') AND " \
	D##_J("data", "currency") " = ?3 GROUP BY 1), " \
	"ab AS (SELECT COALESCE(b.cu, e.cu) AS cu, COALESCE(b.mrr, 0) AS a, COALESCE(e.mrr, 0) " \
	"AS z FROM b FULL JOIN e ON b.cu = e.cu) " \
	"SELECT SUM(a), SUM(z), " \
	"SUM(CASE WHEN a = 0 AND z > 0 AND (f.first IS NULL OR f.first >= ?4) THEN z ELSE 0 END), " \
	"SUM(CASE WHEN a > 0 AND z > a THEN z - a ELSE 0 END), " \
	"SUM(CASE WHEN z > 0 AND z < a THEN z - a ELSE 0 END), " \
	"SUM(CASE WHEN a > 0 AND z = 0 THEN -a ELSE 0 END), " \
	"SUM(CASE WHEN a = 0 AND z > 0 AND f.first < ?4 THEN z ELSE 0 END) " \
	"FROM ab LEFT JOIN f ON f.cu = ab.cu"

/* The amountDue of the invoices pending or failed at ?2, by whole days past
 * due (dueDate, or finalizedAt for charge_automatically). */
#define SQL_AGING(D) \
	"WITH " LATEST(D, "inv", "invoice", "?2") ", " \
	"o AS (SELECT CAST(" D##_J("data", "amountDue") " AS BIGINT) AS amt, CASE WHEN ?2 >= " \
	"d THEN (?2 - d) / 86400 ELSE -1 END AS days FROM (SELECT data, " \
	D##_EPOCH("COALESCE(" D##_J("data", "dueDate") ", " D##_J("data", "finalizedAt") ")") \
	" AS d FROM inv WHERE " D##_J("data", "status") " IN ('pending', 'failed') " \
	"AND " D##_J("data", "currency") " = ?3) AS x) " \
	"SELECT COALESCE(SUM(CASE WHEN days < 1 THEN amt END), 0), " \
	"COALESCE(SUM(CASE WHEN days BETWEEN 1 AND 30 THEN amt END), 0), " \
	"COALESCE(SUM(CASE WHEN days BETWEEN 31 AND 60 THEN amt END), 0), " \
	"COALESCE(SUM(CASE WHEN days BETWEEN 61 AND 90 THEN amt END), 0), " \
	"COALESCE(SUM(CASE WHEN days > 90 THEN amt END), 0), COALESCE(SUM(amt), 0), COUNT(*) " \
	"FROM o"

/* ARPA at ?2: the MRR over the customers whose MRR is above 0, rounded
 * half away from zero (both are >= 0 here). */
#define SQL_ARPA(D) \
	"WITH " LATEST(D, "subs", "subscription", "?2") ", " LATEST(D, "pls", "plan", "?2") \
	", " CUSTOMER_MRR(D, "c", "subs", "pls") ", " \
	"t AS (SELECT COALESCE(SUM(mrr), 0) AS mrr, COALESCE(SUM(CASE WHEN mrr > 0 THEN 1 " \
	"ELSE 0 END), 0) AS n FROM c) " \
	"SELECT mrr, n, CASE WHEN n = 0 THEN 0 ELSE (2 * mrr + n) / (2 * n) END FROM t"

/* Churn of [?4, ?2): the customers with a subscription active or past_due
 * (any currency) at ?4 and those of them with none at ?2; each customer's
 * MRR in ?3 at both. The customer churn rate in hundredths of a percent,
 * rounded half away from zero. */
#define SQL_CHURN(D) \
	"WITH " LATEST(D, "subs", "subscription", "?2") ", " LATEST(D, "pls", "plan", "?2") \
	", " CUSTOMER_MRR(D, "e", "subs", "pls") ", " \
	LATEST(D, "subs0", "subscription", "?4") ", " LATEST(D, "pls0", "plan", "?4") ", " \
	CUSTOMER_MRR(D, "b", "subs0", "pls0") ", " \
	"c0 AS (SELECT DISTINCT " D##_J("data", "customerId") " AS cu FROM subs0 WHERE " \
	D##_J("data", "status") " IN ('active', 'past_due')), " \
	"c1 AS (SELECT DISTINCT " D##_J("data", "customerId") " AS cu FROM subs WHERE " \
	D##_J("data", "status") " IN ('active', 'past_due')), " \
	"lc AS (SELECT COUNT(*) AS n, SUM(CASE WHEN c1.cu IS NULL THEN 1 ELSE 0 END) AS gone " \
	"FROM c0 LEFT JOIN c1 ON c1.cu = c0.cu), " \
	"rv AS (SELECT COALESCE(SUM(b.mrr), 0) AS a, " \
	"COALESCE(SUM(CASE WHEN b.mrr > 0 AND COALESCE(e.mrr, 0) = 0 THEN -b.mrr END), 0) AS ch, " \
	"COALESCE(SUM(CASE WHEN b.mrr > 0 AND e.mrr > 0 AND e.mrr < b.mrr THEN e.mrr - b.mrr " \
	"END), 0) AS co, " \
	"COALESCE(SUM(CASE WHEN b.mrr > 0 AND e.mrr > b.mrr THEN e.mrr - b.mrr END), 0) AS ex " \
	"FROM b LEFT JOIN e ON e.cu = b.cu) " \
	"SELECT lc.n, COALESCE(lc.gone, 0), CASE WHEN lc.n = 0 THEN 0 ELSE (20000 * lc.gone + " \
	"lc.n) / (2 * lc.n) END, rv.a, rv.ch, rv.co, rv.ex FROM lc, rv"

/* Trial conversion of [?4, ?2): the trial_ended events of the range
 * (converted when their latestInvoiceId was paid in the range) and the
 * cancellations of a subscription whose trialEnd is after its canceledAt
 * (both ISO 8601 UTC, compared as text). */
#define SQL_TRIALS(D) \
	"WITH te AS (SELECT type, " D##_JD("data") " AS data FROM events WHERE tenant_id = ?1 " \
	"AND resource_type = 'subscription' AND type IN ('subscription.trial_ended', " \
	"'subscription.canceled') AND created_at >= ?4 AND created_at < ?2), " \
	"pd AS (SELECT DISTINCT resource_id FROM events WHERE tenant_id = ?1 AND type = " \
	"'invoice.paid' AND created_at >= ?4 AND created_at < ?2), " \
	"k AS (SELECT CASE WHEN te.type = 'subscription.trial_ended' THEN CASE WHEN " \
	"pd.resource_id IS NULL THEN 3 ELSE 1 END WHEN " D##_J("te.data", "trialEnd") " > " \
	D##_J("te.data", "canceledAt") " THEN 2 ELSE 0 END AS kind FROM te LEFT JOIN pd ON " \
	"te.type = 'subscription.trial_ended' AND pd.resource_id = " \
	D##_J("te.data", "latestInvoiceId") "), " \
	"t AS (SELECT SUM(CASE WHEN kind > 0 THEN 1 ELSE 0 END) AS n, " \
	"SUM(CASE WHEN kind = 1 THEN 1 ELSE 0 END) AS conv, " \
	"SUM(CASE WHEN kind = 2 THEN 1 ELSE 0 END) AS canc, " \
	"SUM(CASE WHEN kind = 3 THEN 1 ELSE 0 END) AS unpaid FROM k) " \
	"SELECT COALESCE(n, 0), COALESCE(conv, 0), COALESCE(canc, 0), COALESCE(unpaid, 0), " \
	"CASE WHEN COALESCE(n, 0) = 0 THEN 0 ELSE (20000 * conv + n) / (2 * n) END FROM t"

/* Invoiced against collected of January [?4, February 1) and February
 * [February 1, ?2]: the range's invoice events (finalized, voided, paid
 * out of band) and what each payment event moved against the payment's
 * previous event (LAG over all its events), and the open invoices' amount
 * due at each month's last second (January 31 23:59:59, and now). */
#define SQ_TRUE "1"
#define PG_TRUE "'true'"
#define FEB1_SQL "1769904000"
#define SQL_REVENUE(D) \
	"WITH ie AS (SELECT type, created_at, " D##_JD("data") " AS data FROM events WHERE " \
	"tenant_id = ?1 AND resource_type = 'invoice' AND type IN ('invoice.finalized', " \
	"'invoice.voided', 'invoice.paid') AND created_at >= ?4 AND created_at <= ?2), " \
	"iv AS (SELECT CASE WHEN created_at < " FEB1_SQL " THEN 0 ELSE 1 END AS mo, " \
	"CASE WHEN type = 'invoice.finalized' THEN CAST(" D##_J("data", "total") " AS BIGINT) " \
	"ELSE 0 END AS fin, CASE WHEN type = 'invoice.voided' THEN -CAST(" \
	D##_J("data", "total") " AS BIGINT) ELSE 0 END AS vd, CASE WHEN type = 'invoice.paid' " \
	"AND " D##_J("data", "paidOutOfBand") " = " D##_TRUE " THEN CAST(" \
	D##_J("data", "amountPaid") " AS BIGINT) ELSE 0 END AS pay, 0 AS rf FROM ie WHERE " \
	D##_J("data", "currency") " = ?3), " \
	"pe AS (SELECT resource_id, id, created_at, " D##_JD("data") " AS data FROM events " \
	"WHERE tenant_id = ?1 AND resource_type = 'payment' AND created_at <= ?2), " \
	"ps AS (SELECT resource_id, id, created_at, CASE WHEN " D##_J("data", "status") \
	" IN ('succeeded', 'partially_refunded', 'refunded') THEN CAST(" \
	D##_J("data", "amount") " AS BIGINT) ELSE 0 END AS paid, CAST(" \
	D##_J("data", "refundedAmount") " AS BIGINT) AS ref FROM pe WHERE " \
	D##_J("data", "currency") " = ?3), " \
	"pm AS (SELECT created_at, paid - COALESCE(LAG(paid) OVER w, 0) AS dp, " \
	"COALESCE(LAG(ref) OVER w, 0) - ref AS dr FROM ps WINDOW w AS (PARTITION BY " \
	"resource_id ORDER BY created_at, id)), " \
	"mv AS (SELECT mo, fin, vd, pay, rf FROM iv UNION ALL SELECT CASE WHEN created_at < " \
	FEB1_SQL " THEN 0 ELSE 1 END, 0, 0, dp, dr FROM pm WHERE created_at >= ?4), " \
	LATEST(D, "inv0", "invoice", "(" FEB1_SQL " - 1)") ", " \
	LATEST(D, "inv1", "invoice", "?2") ", " \
	"o0 AS (SELECT COALESCE(SUM(CAST(" D##_J("data", "amountDue") " AS BIGINT)), 0) AS t " \
	"FROM inv0 WHERE " D##_J("data", "status") " IN ('pending', 'failed') AND " \
	D##_J("data", "currency") " = ?3), " \
	"o1 AS (SELECT COALESCE(SUM(CAST(" D##_J("data", "amountDue") " AS BIGINT)), 0) AS t " \
	"FROM inv1 WHERE " D##_J("data", "status") " IN ('pending', 'failed') AND " \
	D##_J("data", "currency") " = ?3) " \
	"SELECT COALESCE(SUM(CASE WHEN mo = 0 THEN fin + vd ELSE 0 END), 0), " \
	"COALESCE(SUM(CASE WHEN mo = 0 THEN vd ELSE 0 END), 0), " \
	"COALESCE(SUM(CASE WHEN mo = 0 THEN pay + rf ELSE 0 END), 0), (SELECT t FROM o0), " \
	"COALESCE(SUM(CASE WHEN mo = 1 THEN fin + vd ELSE 0 END), 0), " \
	"COALESCE(SUM(CASE WHEN mo = 1 THEN vd ELSE 0 END), 0), " \
	"COALESCE(SUM(CASE WHEN mo = 1 THEN pay + rf ELSE 0 END), 0), (SELECT t FROM o1) FROM mv"

/* Payment recovery of [?4, ?2): each invoice's first invoice.payment_failed
 * event (ROW_NUMBER over its failures before ?2), kept when in the range and
 * in ?3; its state from its latest event before ?2. */
#define SQL_RECOVERY(D) \
	"WITH pf AS (SELECT resource_id, created_at, data FROM (SELECT resource_id, created_at, " \
	D##_JD("data") " AS data, ROW_NUMBER() OVER (PARTITION BY resource_id ORDER BY " \
	"created_at, id) AS rn FROM events WHERE tenant_id = ?1 AND type = " \
	"'invoice.payment_failed' AND created_at < ?2) AS x WHERE rn = 1 AND created_at >= ?4 " \
	"AND " D##_J("data", "currency") " = ?3), " \
	LATEST(D, "inv", "invoice", "(?2 - 1)") ", " \
	"k AS (SELECT CAST(" D##_J("pf.data", "amountDue") " AS BIGINT) AS due, " \
	D##_J("inv.data", "status") " AS st, CAST(" D##_J("inv.data", "amountPaid") \
	" AS BIGINT) AS paid FROM pf JOIN inv ON inv.resource_id = pf.resource_id), " \
	"t AS (SELECT COUNT(*) AS n, COALESCE(SUM(due), 0) AS due, " \
	"COALESCE(SUM(CASE WHEN st = 'paid' THEN 1 ELSE 0 END), 0) AS rec, " \
	"COALESCE(SUM(CASE WHEN st IN ('pending', 'failed') THEN 1 ELSE 0 END), 0) AS op, " \
	"COALESCE(SUM(CASE WHEN st = 'uncollectible' THEN 1 ELSE 0 END), 0) AS unc, " \
	"COALESCE(SUM(CASE WHEN st = 'void' THEN 1 ELSE 0 END), 0) AS vd FROM k) " \
	"SELECT n, due, rec, op, unc, vd, CASE WHEN n = 0 THEN 0 ELSE (20000 * rec + n) / " \
	"(2 * n) END FROM t"

enum { R_MRR, R_MOVEMENTS, R_AGING, R_ARPA, R_CHURN, R_TRIALS, R_REVENUE, R_RECOVERY,
	R_COUNT };
static const char *const names[R_COUNT] = { "MRR (now)", "MRR movements (February)",
	"receivables ageing (now)", "ARPA (now)", "churn (February 1 - now)",
	"trial conversion (Jan 1 - now)", "revenue (January, February)",
	"payment recovery (Jan 1 - now)" };
/* The names BENCH_REPORTS selects by (a comma-separated list; unset: all). */
static const char *const keys[R_COUNT] = { "mrr", "movements", "aging", "arpa", "churn",
	"trials", "revenue", "recovery" };
/* The raw statements. */
static const char *const raw_sqlite[R_COUNT] = { SQL_MRR(SQ), SQL_MOVEMENTS(SQ),
	SQL_AGING(SQ), SQL_ARPA(SQ), SQL_CHURN(SQ), SQL_TRIALS(SQ), SQL_REVENUE(SQ),
	SQL_RECOVERY(SQ) };
static const char *const raw_pg_sql[R_COUNT] = { SQL_MRR(PG), SQL_MOVEMENTS(PG),
	SQL_AGING(PG), SQL_ARPA(PG), SQL_CHURN(PG), SQL_TRIALS(PG), SQL_REVENUE(PG),
	SQL_RECOVERY(PG) };
/* How many of the figures each raw statement gives (the first ones). */
static const int raw_cols[R_COUNT] = { 2, 7, 7, 3, 7, 5, 8, 7 };

#define FIGS 8

static int is_pg;
static sqlite3 *raw_db;
static PGconn *raw_pg;
static char *pg_text[R_COUNT];         /* raw_pg_sql with $N for ?N */

/* Runs report r's statement with the tenant, at, EUR and start (a month's
 * or a range's start); the row's first ncol integers into out. */
static void raw_run(int r, int64_t at, int64_t start, int64_t *out)
{
	int i, ncol = raw_cols[r];
	if (!is_pg) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(raw_db, raw_sqlite[r], -1, &st, NULL) != SQLITE_OK)
			bench_die("raw prepare", sqlite3_errmsg(raw_db));
		sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, at);
		sqlite3_bind_text(st, 3, "EUR", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, start);
		if (sqlite3_exec(raw_db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW)
			bench_die("raw step", sqlite3_errmsg(raw_db));
		for (i = 0; i < ncol; i++)
			out[i] = sqlite3_column_int64(st, i);
		sqlite3_finalize(st);
		if (sqlite3_exec(raw_db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			bench_die("raw commit", sqlite3_errmsg(raw_db));
	} else {
		static const Oid types[4] = { 25, 20, 25, 20 };   /* text, int8, text, int8 */
		char ats[24], starts[24];
		const char *values[4];
		PGresult *res;
		snprintf(ats, sizeof(ats), "%lld", (long long)at);
		snprintf(starts, sizeof(starts), "%lld", (long long)start);
		values[0] = tenant_id;
		values[1] = ats;
		values[2] = "EUR";
		values[3] = starts;
		res = PQexec(raw_pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			bench_die("raw begin", PQerrorMessage(raw_pg));
		PQclear(res);
		res = PQexecParams(raw_pg, "SELECT set_config('billing.tenant_id', $1, true)", 1,
			NULL, values, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			bench_die("raw set_config", PQerrorMessage(raw_pg));
		PQclear(res);
		res = PQexecParams(raw_pg, pg_text[r], 4, types, values, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
			bench_die("raw query", PQerrorMessage(raw_pg));
		for (i = 0; i < ncol; i++)
			out[i] = strtoll(PQgetvalue(res, 0, i), NULL, 10);
		PQclear(res);
		res = PQexec(raw_pg, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			bench_die("raw commit", PQerrorMessage(raw_pg));
		PQclear(res);
	}
}

/* ------------------------------------------------------------ the reports */

static billing_ctx *lib_ctx;
static billing_principal who;
static billing_mrr_movements movements;
static billing_revenue revenue;

/* One library run of report r; its figures into out. */
static void lib_run(int r, int64_t out[FIGS])
{
	memset(out, 0, FIGS * sizeof(out[0]));
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
	} else if (r == R_AGING) {
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
	} else if (r == R_ARPA) {
		billing_arpa a;
		if (billing_report_arpa(&a, lib_ctx, &who, "EUR", 0) < 0)
			bench_die_lib("billing_report_arpa");
		out[0] = a.mrr;
		out[1] = a.paying_customers;
		out[2] = a.arpa;
	} else if (r == R_CHURN) {
		billing_churn c;
		if (billing_report_churn(&c, lib_ctx, &who, "EUR", FEB1, clock_now) < 0)
			bench_die_lib("billing_report_churn");
		out[0] = c.start_customers;
		out[1] = c.churned_customers;
		out[2] = c.customer_churn_bp;
		out[3] = c.start_mrr;
		out[4] = c.churned_mrr;
		out[5] = c.contraction_mrr;
		out[6] = c.expansion_mrr;
	} else if (r == R_TRIALS) {
		billing_trial_conversion t;
		if (billing_report_trial_conversion(&t, lib_ctx, &who, T0, clock_now) < 0)
			bench_die_lib("billing_report_trial_conversion");
		out[0] = t.trials_ended;
		out[1] = t.converted;
		out[2] = t.canceled_during_trial;
		out[3] = t.ended_unpaid;
		out[4] = t.conversion_bp;
	} else if (r == R_REVENUE) {
		size_t i;
		if (billing_report_revenue(&revenue, lib_ctx, &who, "EUR", T0, MAR1) < 0)
			bench_die_lib("billing_report_revenue");
		for (i = 0; i < 2 && i < revenue.month_count; i++) {
			out[4 * i] = revenue.months[i].invoiced;
			out[4 * i + 1] = revenue.months[i].voided;
			out[4 * i + 2] = revenue.months[i].collected;
			out[4 * i + 3] = revenue.months[i].outstanding;
		}
	} else {
		billing_payment_recovery p;
		if (billing_report_payment_recovery(&p, lib_ctx, &who, "EUR", T0, clock_now) < 0)
			bench_die_lib("billing_report_payment_recovery");
		out[0] = p.failed_invoices;
		out[1] = p.failed_amount;
		out[2] = p.recovered;
		out[3] = p.open;
		out[4] = p.uncollectible;
		out[5] = p.voided;
		out[6] = p.recovery_bp;
	}
}

static void raw_report(int r, int64_t out[FIGS])
{
	memset(out, 0, FIGS * sizeof(out[0]));
	if (r == R_MOVEMENTS || r == R_CHURN)
		raw_run(r, clock_now, FEB1, out);
	else if (r == R_TRIALS || r == R_REVENUE || r == R_RECOVERY)
		raw_run(r, clock_now, T0, out);
	else
		raw_run(r, clock_now, 0, out);
}

static void print_figs(FILE *f, const int64_t *v, int n)
{
	int i;
	for (i = 0; i < n; i++)
		fprintf(f, "%s%lld", i ? ", " : "", (long long)v[i]);
	fprintf(f, "\n");
}

/* ------------------------------------------------------------ backends */

static char pg_host[512], schema[64];
static int schema_made;

static void drop_schema(void)
{
	char sql[600];
	PGconn *pg;
	if (!schema_made || getenv("BENCH_KEEP"))
		return;
	snprintf(sql, sizeof(sql), "host=%s dbname=billing user=billing_owner", pg_host);
	pg = PQconnectdb(sql);
	PQclear(PQexec(pg, "SET client_min_messages TO warning"));
	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
	PQclear(PQexec(pg, sql));
	PQfinish(pg);
}

/* A schema of its own, migrated as billing_owner; the library context and
 * the raw connection as billing_app (RLS on), as bench_usage does. */
static void open_postgres(const billing_ctx_options *opts)
{
	char url[1200];
	billing_ctx *owner = NULL;
	PGconn *pg;
	PGresult *res;
	int r;

	snprintf(schema, sizeof(schema), "bench_reports_%ld", (long)getpid());
	snprintf(url, sizeof(url), "host=%s dbname=billing user=billing_owner", pg_host);
	pg = PQconnectdb(url);
	if (PQstatus(pg) != CONNECTION_OK)
		bench_die("connect as billing_owner", PQerrorMessage(pg));
	snprintf(url, sizeof(url), "CREATE SCHEMA %s", schema);
	res = PQexec(pg, url);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		bench_die("create schema", PQerrorMessage(pg));
	PQclear(res);
	PQfinish(pg);
	schema_made = 1;
	atexit(drop_schema);
	snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_owner "
		"options='-c search_path=%s'", pg_host, schema);
	if (billing_ctx_open_url(&owner, url, NULL) < 0 || billing_migrate(owner) < 0)
		bench_die_lib("migrate");
	billing_ctx_close(owner);
	snprintf(url, sizeof(url), "postgres:host=%s dbname=billing user=billing_app "
		"options='-c search_path=%s'", pg_host, schema);
	if (billing_ctx_open_url(&lib_ctx, url, opts) < 0)
		bench_die_lib("billing_ctx_open_url");
	snprintf(url, sizeof(url), "host=%s dbname=billing user=billing_app "
		"options='-c search_path=%s'", pg_host, schema);
	raw_pg = PQconnectdb(url);
	if (PQstatus(raw_pg) != CONNECTION_OK)
		bench_die("connect as billing_app", PQerrorMessage(raw_pg));
	for (r = 0; r < R_COUNT; r++) {
		char *p;
		if (!raw_pg_sql[r])
			continue;
		if ((pg_text[r] = strdup(raw_pg_sql[r])) == NULL)
			bench_die("strdup", "out of memory");
		for (p = pg_text[r]; *p; p++)
			if (*p == '?')
				*p = '$';
	}
}

/* Which reports BENCH_REPORTS asks for (each of its names a key). */
static void reports_wanted(int wanted[R_COUNT])
{
	const char *list = getenv("BENCH_REPORTS"), *p;
	int r, any = 0;

	for (r = 0; r < R_COUNT; r++) {
		size_t len = strlen(keys[r]);
		wanted[r] = !list || !*list;
		for (p = list; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
			if (strcspn(p, ",") == len && strncmp(p, keys[r], len) == 0)
				wanted[r] = 1;
		}
		any |= wanted[r];
	}
	if (!any)
		bench_die("BENCH_REPORTS", "names no report (mrr, movements, aging, arpa, churn, "
			"trials, revenue, recovery)");
}

/* A database kept by BENCH_DB: its one tenant and its subscriptions. */
static size_t reuse(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	size_t n = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT t.tenant_id, (SELECT COUNT(*) FROM subscriptions s "
		"WHERE s.tenant_id = t.tenant_id) FROM tenants t", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		bench_die("BENCH_DB", "not a database this benchmark set up");
	snprintf(tenant_id, sizeof(tenant_id), "%s", (const char *)sqlite3_column_text(s, 0));
	n = (size_t)sqlite3_column_int64(s, 1);
	if (sqlite3_step(s) != SQLITE_DONE)
		bench_die("BENCH_DB", "more than one tenant: not a database this benchmark set up");
	sqlite3_finalize(s);
	sqlite3_close(db);
	clock_now = T0 + 50 * DAY;      /* where setup leaves the clock */
	return n;
}

int main(int argc, char **argv)
{
	billing_ctx_options opts = BILLING_CTX_OPTIONS_INIT;
	char url[620], path[600], version[64] = "";
	const char *base = getenv("TMPDIR"), *arg_n = NULL, *kept = getenv("BENCH_DB");
	const char *env_rounds = getenv("BENCH_ROUNDS");
	struct statfs fs;
	size_t n = 10000, reused = 0;
	double setup_s, t[2][R_COUNT] = { { 0 } };
	int r, k, a = 1, wanted[R_COUNT];

	if (argc > a && (strcmp(argv[a], "sqlite") == 0 || strcmp(argv[a], "postgres") == 0))
		is_pg = strcmp(argv[a++], "postgres") == 0;
	if (argc > a)
		arg_n = argv[a++];
	if (argc > a || (arg_n && ((n = strtoul(arg_n, NULL, 10)) < 10 || n > 200000))) {
		fprintf(stderr, "usage: %s [sqlite|postgres] [N customers, 10..200000, default "
			"10000]\n", argv[0]);
		return 2;
	}
	opts.clock = bench_clock;
	reports_wanted(wanted);
	if (env_rounds) {
		char *end = NULL;
		long v = strtol(env_rounds, &end, 10);
		if (end == env_rounds || *end || v < 1 || v > 100) {
			fprintf(stderr, "%s: BENCH_ROUNDS is 1 to 100\n", prog);
			return 2;
		}
		rounds = (int)v;
	}
	if (is_pg && kept && *kept) {
		fprintf(stderr, "%s: BENCH_DB is for SQLite (PostgreSQL: BENCH_KEEP)\n", prog);
		return 2;
	}
	/* The data of a server that runs on the real clock: "February 20" is now. */
	if (!is_pg && getenv("BENCH_SETUP_ONLY"))
		clock_shift = (int64_t)time(NULL) - (T0 + 50 * DAY);
	if (is_pg) {
		const char *host = getenv("BILLING_TEST_PG_HOST");
		PGresult *res;
		if (!host || !*host) {
			fprintf(stderr, "%s: run it as scripts/with-postgres.sh %s postgres [N]\n", prog,
				argv[0]);
			return 2;
		}
		snprintf(pg_host, sizeof(pg_host), "%s", host);
		open_postgres(&opts);
		res = PQexec(raw_pg, "SELECT current_setting('server_version'), "
			"current_setting('fsync')");
		printf("%s: PostgreSQL %s (fsync=%s), schema %s; setting up %zu customers...\n",
			prog, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), schema, n);
		snprintf(version, sizeof(version), "PostgreSQL %s", PQgetvalue(res, 0, 0));
		PQclear(res);
	} else {
		if (kept && *kept) {
			/* BENCH_DB: set up there once and kept; reused when it exists. */
			snprintf(path, sizeof(path), "%s", kept);
			if (access(path, F_OK) == 0)
				n = reused = reuse(path);
		} else {
			if (statfs("/dev/shm", &fs) == 0 && fs.f_type == 0x01021994)
				base = "/dev/shm";
			else if (!base || !*base)
				base = "/tmp";
			snprintf(dir, sizeof(dir), "%s/bench_reports.XXXXXX", base);
			if (!mkdtemp(dir))
				bench_die("mkdtemp", dir);
			atexit(remove_dir);
			snprintf(path, sizeof(path), "%s/bench.db", dir);
		}
		snprintf(url, sizeof(url), "sqlite:%s", path);
		if (billing_ctx_open_url(&lib_ctx, url, &opts) < 0)
			bench_die_lib("billing_ctx_open_url");
		if (billing_migrate(lib_ctx) < 0)
			bench_die_lib("billing_migrate");
		if (reused)
			printf("%s: SQLite %s, database %s kept by BENCH_DB: %zu customers, not set "
				"up again\n", prog, sqlite3_libversion(), path, n);
		else
			printf("%s: SQLite %s, database %s; setting up %zu customers...\n", prog,
				sqlite3_libversion(), path, n);
	}
	fflush(stdout);
	setup_s = bench_now_s();
	if (!reused)
		setup(lib_ctx, n);
	setup_s = bench_now_s() - setup_s;
	who.tenant_id = tenant_id;
	who.user_id = "bench";
	who.role = BILLING_ROLE_USER;
	/* The data alone, kept, for another benchmark (bench/console/first_page.py):
	 * its tenant and database on the last two lines, nothing measured. */
	if (!is_pg && getenv("BENCH_SETUP_ONLY")) {
		billing_ctx_close(lib_ctx);
		printf("setup through the API: %.0f s\ntenant: %s\ndatabase: %s\n",
			setup_s, tenant_id, path);
		dir[0] = '\0';          /* kept: the caller removes it */
		return 0;
	}
	if (!is_pg && sqlite3_open_v2(path, &raw_db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK)
		bench_die("sqlite3_open_v2", path);
	if (reused)
		printf("setup: reused; asked on February 20\n\n");
	else
		printf("setup through the API: %.0f s (%zu subscriptions on January 1, every seventh "
		"with a 45-day trial; an eleventh of the first invoices paid out of band on "
		"January 11, a thirteenth voided on January 21; a third canceled on February 10, "
		"a fifth of the rest upgraded on February 12); asked on February 20\n\n", setup_s,
		n);

	/* One run each, and the check: both sides say the same (the times of
	 * this first run are printed, not counted). */
	for (r = 0; r < R_COUNT; r++) {
		int64_t x[FIGS], y[FIGS];
		double t0, t1, t2;
		if (!wanted[r])
			continue;
		t0 = bench_now_s();
		lib_run(r, x);
		t1 = bench_now_s();
		raw_report(r, y);
		t2 = bench_now_s();
		if (memcmp(x, y, sizeof(x)) != 0) {
			fprintf(stderr, "%s: %s: library ", prog, names[r]);
			print_figs(stderr, x, raw_cols[r]);
			fprintf(stderr, "raw ");
			print_figs(stderr, y, raw_cols[r]);
			bench_die("check", "the two sides disagree");
		}
		printf("check %-31s library = raw (%.0f / %.0f ms): ", names[r], 1000 * (t1 - t0),
			1000 * (t2 - t1));
		print_figs(stdout, x, raw_cols[r]);
		if (r == R_REVENUE) {
			/* February alone starts from the invoices open on January 31
			 * (one invoice snapshot), where the range above starts from
			 * none: the same February, and its time. */
			billing_revenue_month feb = revenue.months[1];
			t0 = bench_now_s();
			if (billing_report_revenue(&revenue, lib_ctx, &who, "EUR", FEB1, MAR1) < 0)
				bench_die_lib("billing_report_revenue");
			t1 = bench_now_s();
			if (revenue.month_count != 1 || memcmp(&revenue.months[0], &feb,
				sizeof(feb)) != 0)
				bench_die("check", "revenue: February alone is not the range's February");
			printf("check %-31s library = the range's February (%.0f ms)\n",
				"revenue (February alone)", 1000 * (t1 - t0));
		}
		fflush(stdout);
	}
	fflush(stdout);

	for (k = 0; k < rounds; k++) {
		for (r = 0; r < R_COUNT; r++) {
			int64_t x[FIGS];
			int side;
			if (!wanted[r])
				continue;
			for (side = 0; side < 2; side++) {
				int lib = (side + k) % 2 == 0;
				double t0;
				t0 = bench_now_s();
				if (lib)
					lib_run(r, x);
				else
					raw_report(r, x);
				t[lib ? 0 : 1][r] += bench_now_s() - t0;
			}
		}
	}
	printf("\n%s, N = %zu\n%-31s %10s %10s %8s %10s\n", is_pg ? version : "SQLite", n,
		"report", "library/s", "raw/s", "ratio", "lib ms/run");
	for (r = 0; r < R_COUNT; r++) {
		if (!wanted[r])
			continue;
		printf("%-31s %10.2f %10.2f %8.3f %10.0f\n", names[r], rounds / t[0][r],
			rounds / t[1][r], t[1][r] / t[0][r], 1000 * t[0][r] / rounds);
	}
	printf("(%d interleaved rounds; ratio = library/s over raw/s; no payment fails in "
		"this workload (no payment provider): payment recovery reads what it reads for "
		"an answer of zeros)\n", rounds);
	if (raw_db)
		sqlite3_close(raw_db);
	if (raw_pg)
		PQfinish(raw_pg);
	for (r = 0; r < R_COUNT; r++)
		free(pg_text[r]);
	billing_ctx_close(lib_ctx);
	return 0;
}
