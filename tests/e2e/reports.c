/*
 * Revenue reports (issue #25; docs/reports.md), on both backends: MRR as of
 * past times, rebuilt from the history, against numbers worked by hand.
 *
 * The history (tenant Acme, EUR; every customer pays by pm_card_visa except
 * F, whose card declines and whose tenant keeps it past_due; the billing
 * run runs at every step, so renewals happen as they would):
 *
 *   2026-01-01  A  M   monthly 29.00                       2900
 *               B  Y   yearly 300.06: 30006 / 12 = 2500.5  2501 (half away from zero)
 *               C  W   weekly 7.00 x 2: 1400 x 52 / 12
 *                      = 6066.67                            6067
 *               D  M   with a 25 % forever coupon: 2900 - 725  2175
 *               E  M + a metered item (left out)            2900
 *               F  Q   every 3 months 90.00, past_due: 9000 / 3  3000
 *               G  W + W100 (weekly 7.00 and 1.00): 3033.33 + 433.33
 *                      = 3466.67, rounded once             3467 (not 3033 + 433)
 *                                                  MRR    23010, 7 subscriptions
 *   2026-01-10  A  upgrade to M2 49.00: +2000               25010
 *   2026-01-15  C  downgrade to W1 5.00 x 2: 1000 x 52 / 12 = 4333.33 -> 4333:
 *                  -1734
 *   2026-01-20  B  canceled now: -2501                      20775 (6 subscriptions)
 *   2026-02-05  B  subscribes again to M (reactivation): +2900   23675 (7)
 *   2026-02-15  M's amount becomes 31.00: A is on M2; D 3100 - 775 = 2325
 *                  (+150), E 3100 (+200), B again 3100 (+200)   24225
 *
 * Asked after all of it, the report of each earlier time is that time's: the
 * upgrade, downgrade and cancellation are not seen before they happened, and
 * February 10 still prices M at 29.00.
 *
 * A second history (mrr__discounts_tiers_days_and_trials) covers the other
 * rules, all on 2026-01-01 unless said:
 *   a daily 1.00: 100 x 365 / 12 = 3041.67              3042
 *   a volume-tiered plan, 12 seats: all at 0.80         960
 *   monthly 29.00, the customer's 5.00-off forever coupon  2400
 *   monthly 29.00 with a 50 % once coupon (not recurring)  2900
 *   monthly 29.00, 10 % off another product only          2900
 *   monthly 29.00, 20 % off for one period                2320, 2900 after 2026-02-01
 *   monthly 29.00 trialing 14 days: not in MRR            0, 2900 after 2026-01-15
 *                                                   2026-01-01  14522 (6)
 *                                                   2026-02-15  18002 (7)
 *
 * MRR movements (movements__hand_worked_months), per customer, plans M
 * monthly 10.00 (1000), M3 monthly 30.00 (3000), Y yearly 120.00 (1000 a
 * month); asked on 2026-04-10 for [2025-12-01, 2026-05-01):
 *
 *   2025-12-15  A M, B M, D M3
 *   2026-01-05  C Y                   Jan  new +1000 (C)
 *   2026-01-10  A M -> M3                  expansion +2000 (A)
 *   2026-01-20  E M, canceled 01-25        nothing: E came and went in January
 *   2026-02-05  D M3 -> M             Feb  contraction -2000 (D)
 *   2026-02-10  B canceled                 churned -1000 (B)
 *   2026-02-10  F M, 14 days' trial        trialing: not in MRR
 *   2026-02-20  C adds a second sub M      expansion +1000 (C: per customer)
 *   2026-02-24  F's trial ends: active     new +1000 (F: never in MRR before)
 *   2026-03-03  E M again             Mar  reactivated +1000 (E was, in January)
 *   2026-03-10  B M again                  reactivated +1000 (B)
 *   2026-04-05  A canceled            Apr  churned -3000 (A); the month ends now, 04-10
 *
 *   month  start  new  exp  contr  churn  react  end   customers start -> end
 *   Dec        0  5000    0     0      0      0  5000   0 -> 3 (A, B, D new)
 *   Jan     5000  1000 2000     0      0      0  8000   3 -> 4
 *   Feb     8000  1000 1000 -2000  -1000      0  7000   4 -> 4
 *   Mar     7000     0    0     0      0   2000  9000   4 -> 6
 *   Apr     9000     0    0     0  -3000      0  6000   6 -> 5
 * Each month: start + the movements = end, and start and end are
 * billing_report_mrr's at those times. Another tenant's and a USD
 * subscription never move anything.
 *
 * Receivables ageing (aging__hand_worked_invoices), EUR, asked on
 * 2026-06-01; send_invoice invoices finalized at 00:00 with daysUntilDue:
 *
 *   I1  2026-01-01 +30 d, due 01-31   1000   paid out of band 05-05
 *   I8  2026-02-01 +30 d, due 03-03    500   marked uncollectible 03-15
 *   I2  2026-03-01 +30 d, due 03-31   2000   voided 05-15
 *   I3  2026-04-01 +14 d, due 04-15   4000
 *   I4  2026-05-01 +30 d, due 05-31   8000
 *   I5  2026-05-20 a subscription's charge_automatically invoice, the card
 *       declined: due when finalized, 05-20   16000
 *   (a draft of 300, a USD invoice of 700 and another tenant's of 900 never
 *   count)
 *
 *   at                   current  1-30   31-60  61-90  >90   total  open  past due
 *   03-10                   2000   500    1000      0     0   3500     3   2 (I8 7 d, I1 38 d)
 *   03-20 (I8 written off)  2000     0    1000      0     0   3000     2   1
 *   04-15 23:59:59          4000  2000       0   1000     0   7000     3   2 (I3 0 d: current)
 *   05-01                   8000  4000    2000   1000     0  15000     4   3 (I1 90 d)
 *   05-02                   8000  4000    2000      0  1000  15000     4   3 (I1 91 d)
 *   06-01 (now)                0 24000    4000      0     0  28000     3   3 (I3 47 d;
 *                                                                  I4 1 d, I5 12 d)
 *
 * Trial conversion (trials__hand_counted), plan M monthly 10.00, every
 * subscription created 2026-03-01 with a 14-day trial (trialEnd 03-15)
 * unless said; the billing run at each step; asked on 2026-04-10:
 *
 *   T1  pm_card_visa                    03-15 charged, paid       converted
 *   T2  pm_card_chargeDeclined          03-15 declined: past_due  unpaid, until
 *       (its trial_ended event says active all the same)     paid out of band 03-16
 *   T3  canceled now 03-05                                    canceled during the trial
 *   T4  cancel at period end asked 03-10: the run cancels it 03-15  canceled during it
 *   A   pm_card_visa, converted 03-15, canceled now 03-20     converted (canceledAt
 *       after trialEnd: no second end)
 *   U   USD, pm_card_visa                                     converted (any currency)
 *   T5  pm_card_visa, a 30-day trial: ends 03-31              converted
 *   N   no trial, canceled now 03-05                          no trial: not counted
 *   (another tenant's trial, converted 03-15, never counts)
 *
 *   range            trials  converted  canceled  unpaid  rate
 *   03-01 - 04-01       7        5          2        0    71.43 (5 / 7 = 71.428..)
 *   03-15 - 03-16       5        3          1        1    60.00 (T2 paid after to)
 *   03-01 - 03-15       1        0          1        0     0.00 (T3; T4 ends 03-15)
 *   03-16 - 04-10       1        1          0        0   100.00 (T5)
 *   02-01 - 03-01       0        0          0        0     null (0 in C)
 *
 * Invoiced vs collected and payment recovery
 * (revenue__hand_counted_months_and_recovery), plan Y yearly 120.00 (no
 * renewal inside the range), dunning retries 1 and 3 days after
 * finalization then keep_past_due; the billing run at each step; asked on
 * 2026-04-10:
 *
 *   01-15        A subscribes, charged              Jan  finalized 12000, paid 12000
 *   01-31 23:59:59  B subscribes, charged           Jan  finalized 12000, paid 12000
 *   02-01 00:00  C subscribes, charged              Feb  finalized 12000, paid 12000
 *   02-10        D declines (first failure);        Feb  finalized 12000
 *                02-11 the retry declines; 02-12 a good card; 02-13 the retry pays
 *                                                   Feb  paid 12000
 *   02-20        E declines                         Feb  finalized 12000
 *   03-01        T subscribes with a 14-day trial   Mar  its 0.00 invoice adds nothing
 *   03-05        E's invoice voided                 Mar  voided -12000
 *   03-10        3000 of A's payment refunded       Mar  refunded -3000
 *   03-15        T's trial ends, charged            Mar  finalized 12000, paid 12000
 *   03-20        G: a send_invoice invoice of 5000  Mar  finalized 5000
 *   03-25        K declines; 03-28 written off      Mar  finalized 12000
 *   04-02        G paid out of band                 Apr  paid 5000
 *   04-05        H declines (retries 04-06, 04-08 decline too)
 *                                                   Apr  finalized 12000
 *   (a USD subscription charged 01-20 and one declined 02-15, and another
 *   tenant's charged and declined ones, never count in EUR)
 *
 *   month  finalized  voided  invoiced  paid   refunded  collected  outstanding at end
 *   Jan        24000       0     24000  24000        0      24000      0
 *   Feb        36000       0     36000  24000        0      24000  12000 (E)
 *   Mar        29000  -12000     17000  12000    -3000       9000   5000 (G; K written off)
 *   Apr (to now) 12000     0     12000   5000        0       5000  12000 (H)
 *
 *   recovery (EUR)  failed (amount)  recovered  open  uncollectible  void  rate
 *   02-01 - 04-10   4 D E K H (48000)  1 D 12000  1 H      1 K         1 E  25.00
 *   02-01 - 02-13   1 D (12000)        0          1 D (paid at to)      0    0.00
 *   02-01 - 02-13 00:00:01  1 D        1 D 12000  0                        100.00
 *   02-11 - 04-10   3 E K H: D's first failure was before from, its retry's is not a
 *                   first one                     1 H      1 K         1 E   0.00
 *   01-01 - 02-01   0                                                       null
 *
 * Outstanding at month ends (revenue__outstanding_across_months): EUR,
 * send_invoice invoices, asked on 2026-04-20 for from 2026-01-01, to
 * 2026-05-01, then from February, March and April on:
 *
 *   01-10  I1 10000 finalized (P, a card)      Jan  finalized 10000
 *   01-20  I2  4000 finalized                  Jan  finalized 4000
 *   02-05  a credit note of 3000 on I1, unpaid: its amountDue 10000 -> 7000
 *   02-15  I3  2500 finalized, never paid      Feb  finalized 2500
 *   03-03  I2 voided                           Mar  voided -4000
 *   03-20  I1 paid by P's card: 7000           Mar  paid 7000
 *   04-05  2000 of that payment refunded       Apr  refunded -2000
 *
 *   month  finalized  voided  paid  refunded  outstanding at end
 *   Jan        14000       0     0         0  14000 (I1 10000, I2 4000)
 *   Feb         2500       0     0         0  13500 (I1 7000, I2 4000, I3 2500)
 *   Mar            0   -4000  7000         0   2500 (I3)
 *   Apr (to now)   0       0     0     -2000   2500 (I3; the refund reopens nothing)
 *
 * Each month's outstanding is receivables ageing's total at its last
 * second, whichever month the range starts with (February's starts from
 * I1 and I2 open on January 31).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include <cmocka.h>

#include "core/ctx.h"
#include "tb.h"
#include "tb_billing.h"

typedef struct {
	tb_world *w;
	const char *tenant;
	billing_principal admin;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_provider *p = NULL;
	assert_non_null(f);
	tb_assert_rc(billing_test_provider_new(&p, &o), BILLING_OK);
	f->w = tb_world_new_with_provider(p);
	f->tenant = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->tenant);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	tb_world_free(f->w);
	free(f);
	return 0;
}

/* An operation of the JSON layer as ADMIN of tenant; the answer's id into
 * id (when not NULL). */
static void call_as(fx *f, const char *tenant, const char *op, char *id, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void call_as(fx *f, const char *tenant, const char *op, char *id, const char *fmt, ...)
{
	billing_principal who = tb_admin(tenant);
	char json[2048], *out = NULL;
	va_list ap;
	cJSON *m;

	va_start(ap, fmt);
	vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &who, op, json, strlen(json), NULL),
		BILLING_OK);
	m = cJSON_Parse(out);
	assert_non_null(m);
	if (id)
		snprintf(id, 64, "%s", cJSON_GetObjectItemCaseSensitive(m, "id")->valuestring);
	cJSON_Delete(m);
	billing_free(out);
}

static void customer(fx *f, const char *tenant, char *id, const char *pm)
{
	billing_customer *c = tb_customer(f->w, tenant, &(tb_customer_spec){
		.default_payment_method = pm });
	snprintf(id, 64, "%s", billing_customer_id(c));
	billing_customer_free(c);
}

static void plan(fx *f, const char *tenant, char *id, const char *product, int64_t amount,
	billing_interval iv, int32_t count)
{
	billing_plan *p = tb_plan(f->w, tenant, &(tb_plan_spec){ .product_id = product,
		.amount = amount, .interval = iv, .interval_count = count });
	snprintf(id, 64, "%s", billing_plan_id(p));
	billing_plan_free(p);
}

static void product(fx *f, const char *tenant, char *id, const char *currency)
{
	billing_product *p = tb_product(f->w, tenant, &(tb_product_spec){ .currency = currency });
	snprintf(id, 64, "%s", billing_product_id(p));
	billing_product_free(p);
}

static void run_at(fx *f, int64_t t)
{
	f->w->now = t;
	(void)tbb_run(f->w);
}

static billing_mrr mrr_at(fx *f, const char *currency, int64_t at)
{
	billing_mrr m;
	memset(&m, 0x5a, sizeof(m));
	tb_assert_rc(billing_report_mrr(&m, f->w->ctx, &f->admin, currency, at), BILLING_OK);
	assert_int_equal(m.arr, 12 * m.mrr);
	return m;
}

/* when 0: now. */
#define assert_mrr(f, when, want_mrr, want_subs, want_customers) do { \
	billing_mrr m_ = mrr_at((f), "EUR", (when)); \
	assert_int_equal(m_.mrr, (want_mrr)); \
	assert_int_equal(m_.subscriptions, (want_subs)); \
	assert_int_equal(m_.customers, (want_customers)); \
	tbb_assert_time(m_.at, (when) ? (when) : (f)->w->now); \
	assert_string_equal(m_.currency, "EUR"); \
} while (0)

/* ARPA at when (0: now) in currency: MRR, paying customers, ARPA. */
#define assert_arpa(f, cur, when, want_mrr, want_paying, want_arpa) do { \
	billing_arpa a_; \
	memset(&a_, 0x5a, sizeof(a_)); \
	tb_assert_rc(billing_report_arpa(&a_, (f)->w->ctx, &(f)->admin, (cur), (when)), \
		BILLING_OK); \
	assert_int_equal(a_.mrr, (want_mrr)); \
	assert_int_equal(a_.paying_customers, (want_paying)); \
	assert_int_equal(a_.arpa, (want_arpa)); \
	tbb_assert_time(a_.at, (when) ? (when) : (f)->w->now); \
} while (0)

/* The history of the file's comment, then every report of it. */
static void mrr__hand_worked_history_at_past_times(void **state)
{
	fx *f = *state;
	const char *t = f->tenant;
	char prod[64], meter[64], m[64], m2[64], y[64], w[64], w1[64], w100[64], q[64], met[64];
	char ca[64], cb[64], cc[64], cd[64], ce[64], cf[64], cg[64], coupon[64];
	char sa[64], sb[64], sc[64], tmp[64];
	const int64_t jan1 = tbb_ts(2026, 1, 1, 0, 0, 0);

	f->w->now = jan1;
	call_as(f, t, "dunning.set", NULL, "{\"retryDays\":[1],\"finalAction\":\"keep_past_due\"}");
	product(f, t, prod, "EUR");
	plan(f, t, m, prod, 2900, BILLING_MONTH, 1);
	plan(f, t, m2, prod, 4900, BILLING_MONTH, 1);
	plan(f, t, y, prod, 30006, BILLING_YEAR, 1);
	plan(f, t, w, prod, 700, BILLING_WEEK, 1);
	plan(f, t, w1, prod, 500, BILLING_WEEK, 1);
	plan(f, t, w100, prod, 100, BILLING_WEEK, 1);
	plan(f, t, q, prod, 9000, BILLING_MONTH, 3);
	call_as(f, t, "meters.create", meter, "{\"eventName\":\"api.call\",\"aggregation\":\"sum\","
		"\"valueProperty\":\"n\"}");
	call_as(f, t, "plans.create", met, "{\"code\":\"METERED\",\"name\":\"Metered\","
		"\"productId\":\"%s\",\"interval\":\"MONTH\",\"amount\":10,\"usageType\":\"metered\","
		"\"meterId\":\"%s\"}", prod, meter);
	call_as(f, t, "coupons.create", coupon, "{\"percentOff\":25,\"duration\":\"forever\"}");
	customer(f, t, ca, "pm_card_visa");
	customer(f, t, cb, "pm_card_visa");
	customer(f, t, cc, "pm_card_visa");
	customer(f, t, cd, "pm_card_visa");
	customer(f, t, ce, "pm_card_visa");
	customer(f, t, cf, "pm_card_chargeDeclined");
	customer(f, t, cg, "pm_card_visa");

	call_as(f, t, "subscriptions.create", sa, "{\"customerId\":\"%s\",\"planId\":\"%s\"}",
		ca, m);
	call_as(f, t, "subscriptions.create", sb, "{\"customerId\":\"%s\",\"planId\":\"%s\"}",
		cb, y);
	call_as(f, t, "subscriptions.create", sc, "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"quantity\":2}", cc, w);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"coupon\":\"%s\"}", cd, m, coupon);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"items\":["
		"{\"planId\":\"%s\"},{\"planId\":\"%s\"}]}", ce, m, met);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\"}",
		cf, q);
	run_at(f, jan1);            /* collects F's first invoice: declined, past_due */
	assert_int_equal(tbb_sub_status(f->w, t, tmp), BILLING_SUB_PAST_DUE);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"items\":["
		"{\"planId\":\"%s\"},{\"planId\":\"%s\"}]}", cg, w, w100);
	assert_mrr(f, jan1, 23010, 7, 7);

	run_at(f, tbb_ts(2026, 1, 10, 0, 0, 0));
	call_as(f, t, "subscriptions.change_plan", NULL, "{\"id\":\"%s\",\"planId\":\"%s\","
		"\"prorationBehavior\":\"none\"}", sa, m2);
	run_at(f, tbb_ts(2026, 1, 15, 0, 0, 0));
	call_as(f, t, "subscriptions.change_plan", NULL, "{\"id\":\"%s\",\"planId\":\"%s\","
		"\"prorationBehavior\":\"none\"}", sc, w1);
	run_at(f, tbb_ts(2026, 1, 20, 0, 0, 0));
	call_as(f, t, "subscriptions.cancel", NULL, "{\"id\":\"%s\"}", sb);
	run_at(f, tbb_ts(2026, 2, 5, 0, 0, 0));
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\"}",
		cb, m);
	run_at(f, tbb_ts(2026, 2, 15, 0, 0, 0));
	call_as(f, t, "plans.update", NULL, "{\"id\":\"%s\",\"amount\":3100}", m);
	run_at(f, tbb_ts(2026, 2, 20, 0, 0, 0));

	/* Every report asked now, of its own time. */
	assert_mrr(f, tbb_ts(2025, 12, 31, 0, 0, 0), 0, 0, 0);
	assert_mrr(f, jan1, 23010, 7, 7);
	assert_mrr(f, tbb_ts(2026, 1, 9, 23, 59, 59), 23010, 7, 7);
	assert_mrr(f, tbb_ts(2026, 1, 10, 0, 0, 0), 25010, 7, 7);
	assert_mrr(f, tbb_ts(2026, 1, 15, 0, 0, 0), 23276, 7, 7);
	assert_mrr(f, tbb_ts(2026, 1, 31, 0, 0, 0), 20775, 6, 6);
	assert_mrr(f, tbb_ts(2026, 2, 10, 0, 0, 0), 23675, 7, 7);
	assert_mrr(f, tbb_ts(2026, 2, 20, 0, 0, 0), 24225, 7, 7);
	assert_mrr(f, 0, 24225, 7, 7);      /* 0: now */

	/* ARPA: the MRR over the paying customers, rounded half away from
	 * zero: 23010 / 7 = 3287.14; on January 31 20775 / 6 = 3462.5, 3463
	 * (banker's rounding would give 3462); 24225 / 7 = 3460.71. */
	assert_arpa(f, "EUR", jan1, 23010, 7, 3287);
	assert_arpa(f, "EUR", tbb_ts(2026, 1, 31, 0, 0, 0), 20775, 6, 3463);
	assert_arpa(f, "EUR", 0, 24225, 7, 3461);
	assert_arpa(f, "EUR", tbb_ts(2025, 12, 31, 0, 0, 0), 0, 0, 0);
}

/* Another tenant's subscriptions and another currency's never count; a
 * currency is reported on its own. */
static void mrr__tenant_and_currency_apart(void **state)
{
	fx *f = *state;
	const char *other = tb_tenant(f->w, "Other");
	char pe[64], pu[64], oe[64], ue[64], uu[64], oo[64], c1[64], c2[64], c3[64], sub[64];
	billing_mrr m;

	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	product(f, f->tenant, pe, "EUR");
	product(f, f->tenant, pu, "USD");
	plan(f, f->tenant, ue, pe, 1000, BILLING_MONTH, 1);
	plan(f, f->tenant, uu, pu, 1200, BILLING_YEAR, 1);
	customer(f, f->tenant, c1, "pm_card_visa");
	customer(f, f->tenant, c2, "pm_card_visa");
	call_as(f, f->tenant, "subscriptions.create", sub, "{\"customerId\":\"%s\",\"planId\":"
		"\"%s\"}", c1, ue);
	call_as(f, f->tenant, "subscriptions.create", sub, "{\"customerId\":\"%s\",\"planId\":"
		"\"%s\"}", c2, uu);
	product(f, other, oe, "EUR");
	plan(f, other, oo, oe, 5000, BILLING_MONTH, 1);
	customer(f, other, c3, "pm_card_visa");
	call_as(f, other, "subscriptions.create", sub, "{\"customerId\":\"%s\",\"planId\":\"%s\"}",
		c3, oo);

	m = mrr_at(f, "EUR", 0);
	assert_int_equal(m.mrr, 1000);
	assert_int_equal(m.subscriptions, 1);
	m = mrr_at(f, "usd", 0);            /* any case */
	assert_string_equal(m.currency, "USD");
	assert_int_equal(m.mrr, 100);
	assert_int_equal(m.arr, 1200);
	m = mrr_at(f, "JPY", 0);            /* a currency nobody pays in */
	assert_int_equal(m.mrr, 0);
	assert_int_equal(m.subscriptions, 0);
	/* ARPA likewise: the other tenant's 5000 and its customer never count */
	assert_arpa(f, "EUR", 0, 1000, 1, 1000);
	assert_arpa(f, "USD", 0, 100, 1, 100);
	assert_arpa(f, "JPY", 0, 0, 0, 0);
}

/* USER reads reports; bad input is refused naming the field, through C and
 * JSON. */
static void mrr__roles_and_bad_input(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant), platform = tb_platform();
	billing_mrr m;
	char *out = NULL;
	const char *bad_at = "{\"currency\":\"EUR\",\"at\":\"yesterday\"}";
	const char *ok = "{\"currency\":\"EUR\",\"at\":\"2026-01-01T00:00:00Z\"}";

	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	tb_assert_rc(billing_report_mrr(&m, f->w->ctx, &user, "EUR", 0), BILLING_OK);
	assert_int_equal(m.mrr, 0);
	tb_assert_rc(billing_report_mrr(&m, f->w->ctx, &platform, "EUR", 0), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_report_mrr(&m, f->w->ctx, &user, "EURO", 0), BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_mrr(&m, f->w->ctx, &user, NULL, 0), BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_mrr(&m, f->w->ctx, &user, "EUR", f->w->now + 1),
		BILLING_EINVALID);
	tb_assert_field("at");
	tb_assert_rc(billing_report_mrr(&m, f->w->ctx, &user, "EUR", -5), BILLING_EINVALID);
	tb_assert_field("at");
	tb_assert_rc(billing_report_mrr(NULL, f->w->ctx, &user, "EUR", 0), BILLING_EINVALID);

	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.mrr", bad_at,
		strlen(bad_at), NULL), BILLING_EINVALID);
	tb_assert_field("at");
	billing_free(out);
	out = NULL;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.mrr", ok, strlen(ok),
		NULL), BILLING_OK);
	assert_non_null(strstr(out, "\"object\":\"mrr_report\""));
	assert_non_null(strstr(out, "\"mrr\":0"));
	assert_non_null(strstr(out, "\"at\":\"2026-01-01T00:00:00Z\""));
	billing_free(out);
}

static void mrr__discounts_tiers_days_and_trials(void **state)
{
	fx *f = *state;
	const char *t = f->tenant;
	char prod[64], other[64], day[64], vol[64], m[64], c[7][64], off5[64], once[64];
	char restricted[64], rep[64], tmp[64];
	billing_plan *p;
	size_t i;
	const int64_t jan1 = tbb_ts(2026, 1, 1, 0, 0, 0);

	f->w->now = jan1;
	product(f, t, prod, "EUR");
	product(f, t, other, "EUR");
	plan(f, t, day, prod, 100, BILLING_DAY, 1);
	p = tb_plan(f->w, t, &(tb_plan_spec){ .product_id = prod, .price_json =
		"\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\",\"tiers\":["
		"{\"upTo\":10,\"unitAmount\":100},{\"upTo\":null,\"unitAmount\":80}]" });
	snprintf(vol, sizeof(vol), "%s", billing_plan_id(p));
	billing_plan_free(p);
	plan(f, t, m, prod, 2900, BILLING_MONTH, 1);
	call_as(f, t, "coupons.create", off5, "{\"amountOff\":500,\"currency\":\"EUR\","
		"\"duration\":\"forever\"}");
	call_as(f, t, "coupons.create", once, "{\"percentOff\":50,\"duration\":\"once\"}");
	call_as(f, t, "coupons.create", restricted, "{\"percentOff\":10,\"duration\":"
		"\"forever\",\"appliesTo\":{\"productIds\":[\"%s\"]}}", other);
	call_as(f, t, "coupons.create", rep, "{\"percentOff\":20,\"duration\":\"repeating\","
		"\"durationInPeriods\":1}");
	for (i = 0; i < 7; i++)
		customer(f, t, c[i], "pm_card_visa");

	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\"}",
		c[0], day);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"quantity\":12}", c[1], vol);
	call_as(f, t, "customers.update", NULL, "{\"id\":\"%s\",\"coupon\":\"%s\"}", c[2], off5);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\"}",
		c[2], m);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"coupon\":\"%s\"}", c[3], m, once);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"coupon\":\"%s\"}", c[4], m, restricted);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"coupon\":\"%s\"}", c[5], m, rep);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"trialDays\":14}", c[6], m);
	assert_mrr(f, jan1, 14522, 6, 6);

	run_at(f, tbb_ts(2026, 1, 15, 0, 0, 0));
	run_at(f, tbb_ts(2026, 2, 1, 0, 0, 0));
	run_at(f, tbb_ts(2026, 2, 15, 0, 0, 0));
	assert_mrr(f, jan1, 14522, 6, 6);
	assert_mrr(f, tbb_ts(2026, 2, 15, 0, 0, 0), 18002, 7, 7);

	/* A storage from before version 14 has no history to read. */
	f->w->ctx->st->version = 13;
	tb_assert_rc(billing_report_mrr(&(billing_mrr){ 0 }, f->w->ctx, &f->admin, "EUR", 0),
		BILLING_EINVALID);
	f->w->ctx->st->version = BILLING_STORAGE_VERSION;
}

/* A subscription of customer to plan as ADMIN of the fixture's tenant. */
static void subscribe(fx *f, char *id, const char *cus, const char *plan_id, const char *extra)
{
	call_as(f, f->tenant, "subscriptions.create", id, "{\"customerId\":\"%s\",\"planId\":"
		"\"%s\"%s}", cus, plan_id, extra);
}

static void change_plan(fx *f, const char *sub, const char *plan_id)
{
	call_as(f, f->tenant, "subscriptions.change_plan", NULL, "{\"id\":\"%s\",\"planId\":"
		"\"%s\",\"prorationBehavior\":\"none\"}", sub, plan_id);
}

static void cancel(fx *f, const char *sub)
{
	call_as(f, f->tenant, "subscriptions.cancel", NULL, "{\"id\":\"%s\"}", sub);
}

#define assert_month(mo, s_, start_mrr_, new_, exp_, con_, churn_, react_, end_mrr_, sc_, \
	ec_) do { \
	const billing_mrr_month *m_ = (mo); \
	tbb_assert_time(m_->start, (s_)); \
	assert_int_equal(m_->start_mrr, (start_mrr_)); \
	assert_int_equal(m_->new_mrr, (new_)); \
	assert_int_equal(m_->expansion, (exp_)); \
	assert_int_equal(m_->contraction, (con_)); \
	assert_int_equal(m_->churned, (churn_)); \
	assert_int_equal(m_->reactivated, (react_)); \
	assert_int_equal(m_->end_mrr, (end_mrr_)); \
	assert_int_equal(m_->start_customers, (sc_)); \
	assert_int_equal(m_->end_customers, (ec_)); \
} while (0)

#define assert_churn(f, cur, from_, to_, sc_, cc_, cbp_, smrr_, ch_, con_, exp_, gbp_, nbp_) \
	do { \
	billing_churn c_; \
	memset(&c_, 0x5a, sizeof(c_)); \
	tb_assert_rc(billing_report_churn(&c_, (f)->w->ctx, &(f)->admin, (cur), (from_), (to_)), \
		BILLING_OK); \
	tbb_assert_time(c_.from, (from_)); \
	tbb_assert_time(c_.to, (to_)); \
	assert_int_equal(c_.start_customers, (sc_)); \
	assert_int_equal(c_.churned_customers, (cc_)); \
	assert_int_equal(c_.customer_churn_bp, (cbp_)); \
	assert_int_equal(c_.start_mrr, (smrr_)); \
	assert_int_equal(c_.churned_mrr, (ch_)); \
	assert_int_equal(c_.contraction_mrr, (con_)); \
	assert_int_equal(c_.expansion_mrr, (exp_)); \
	assert_int_equal(c_.gross_revenue_churn_bp, (gbp_)); \
	assert_int_equal(c_.net_revenue_churn_bp, (nbp_)); \
} while (0)

/* Churn (docs/reports.md) of the movements' history, asked on 2026-04-10.
 * Customer churn counts customers in any currency (U's USD subscription
 * makes U one); revenue churn is EUR's; the cohort is the customers there
 * at from:
 *
 *   range            customers     EUR MRR at from -> to            gross  net
 *   Jan 1 - Apr 10   A B D U: A    A 1000 -> 0, B 1000 -> 1000,    60.00  60.00
 *                    25.00 %       D 3000 -> 1000 (C, E, F joined later)
 *   Feb 1 - Mar 1    A B C D U: B  A 3000, B 1000 -> 0, C 1000 ->   37.50  25.00
 *                    20.00 %       2000, D 3000 -> 1000 (8000)
 *   Jan 1 - Feb 1    none churned  A 1000 -> 3000 (5000)            0.00 -40.00
 *   Dec 1 - Dec 10   no customers yet: every rate's base is 0 (null)
 *   Apr 10 - Apr 20  G joins on 04-10 with 100 % off, which goes on 04-15:
 *                    G is a customer (7, none churned) but not in the
 *                    revenue cohort (MRR 0 at from): its 1000 is no expansion
 */
static void churn__of_the_movements_history(fx *f)
{
	const int64_t jan1 = tbb_ts(2026, 1, 1, 0, 0, 0), feb1 = tbb_ts(2026, 2, 1, 0, 0, 0);
	const int64_t apr10 = tbb_ts(2026, 4, 10, 0, 0, 0);
	const char *jan = "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\","
		"\"to\":\"2026-02-01T00:00:00Z\"}";
	const char *dec = "{\"currency\":\"EUR\",\"from\":\"2025-12-01T00:00:00Z\","
		"\"to\":\"2025-12-10T00:00:00Z\"}";
	char *out = NULL, free100[64], cg[64], sg[64], m[64], extra[128];
	billing_principal user = tb_user(f->tenant);
	billing_plan *p;

	assert_int_equal(f->w->now, apr10);
	assert_churn(f, "EUR", jan1, apr10, 4, 1, 2500, 5000, -1000, -2000, 0, 6000, 6000);
	assert_churn(f, "eur", feb1, tbb_ts(2026, 3, 1, 0, 0, 0), 5, 1, 2000, 8000, -1000, -2000,
		1000, 3750, 2500);
	assert_churn(f, "EUR", jan1, feb1, 4, 0, 0, 5000, 0, 0, 2000, 0, -4000);
	assert_churn(f, "USD", jan1, apr10, 4, 1, 2500, 5000, 0, 0, 0, 0, 0);
	assert_churn(f, "EUR", tbb_ts(2025, 12, 1, 0, 0, 0), tbb_ts(2025, 12, 10, 0, 0, 0), 0, 0,
		0, 0, 0, 0, 0, 0, 0);

	/* The JSON layer: percentages with two decimals, null for no base. */
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.churn", jan, strlen(jan),
		NULL), BILLING_OK);
	assert_non_null(strstr(out, "{\"object\":\"churn_report\",\"currency\":\"EUR\","
		"\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-02-01T00:00:00Z\","
		"\"startCustomers\":4,\"churnedCustomers\":0,\"customerChurnRate\":\"0.00\","
		"\"startMrr\":5000,\"churnedMrr\":0,\"contractionMrr\":0,\"expansionMrr\":2000,"
		"\"grossRevenueChurnRate\":\"0.00\",\"netRevenueChurnRate\":\"-40.00\"}"));
	billing_free(out);
	out = NULL;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.churn", dec, strlen(dec),
		NULL), BILLING_OK);
	assert_non_null(strstr(out, "\"customerChurnRate\":null"));
	assert_non_null(strstr(out, "\"grossRevenueChurnRate\":null,\"netRevenueChurnRate\":null"));
	billing_free(out);

	p = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .amount = 1000,
		.interval = BILLING_MONTH });
	snprintf(m, sizeof(m), "%s", billing_plan_id(p));
	billing_plan_free(p);
	customer(f, f->tenant, cg, "pm_card_visa");
	call_as(f, f->tenant, "coupons.create", free100, "{\"percentOff\":100,\"duration\":"
		"\"forever\"}");
	snprintf(extra, sizeof(extra), ",\"coupon\":\"%s\"", free100);
	subscribe(f, sg, cg, m, extra);
	run_at(f, tbb_ts(2026, 4, 15, 0, 0, 0));
	call_as(f, f->tenant, "subscriptions.delete_discount", NULL, "{\"id\":\"%s\"}", sg);
	run_at(f, tbb_ts(2026, 4, 20, 0, 0, 0));
	assert_int_equal(mrr_at(f, "EUR", 0).mrr, 7000);
	assert_churn(f, "EUR", apr10, f->w->now, 7, 0, 0, 6000, 0, 0, 0, 0, 0);
	/* ARPA: G with its 100 % coupon is a customer but not a paying one:
	 * 6000 / 5 on 04-10 (B C D E F; U pays in USD); 7000 / 6 = 1166.67
	 * once G pays. */
	assert_arpa(f, "EUR", apr10, 6000, 5, 1200);
	assert_arpa(f, "EUR", 0, 7000, 6, 1167);
	assert_arpa(f, "USD", 0, 5000, 1, 5000);
}

/* The history of the file's comment (movements), then its report. */
static void movements__hand_worked_months(void **state)
{
	fx *f = *state;
	const char *t = f->tenant, *other = tb_tenant(f->w, "Other");
	char pe[64], pu[64], m[64], m3[64], y[64], usd[64], om[64], op[64], oc[64];
	char ca[64], cb[64], cc[64], cd[64], ce[64], cf[64], cu[64];
	char sa[64], sb[64], sd[64], se[64], tmp[64];
	billing_mrr_movements mv;
	size_t i;

	f->w->now = tbb_ts(2025, 12, 15, 0, 0, 0);
	product(f, t, pe, "EUR");
	product(f, t, pu, "USD");
	plan(f, t, m, pe, 1000, BILLING_MONTH, 1);
	plan(f, t, m3, pe, 3000, BILLING_MONTH, 1);
	plan(f, t, y, pe, 12000, BILLING_YEAR, 1);
	plan(f, t, usd, pu, 5000, BILLING_MONTH, 1);
	customer(f, t, ca, "pm_card_visa");
	customer(f, t, cb, "pm_card_visa");
	customer(f, t, cc, "pm_card_visa");
	customer(f, t, cd, "pm_card_visa");
	customer(f, t, ce, "pm_card_visa");
	customer(f, t, cf, "pm_card_visa");
	customer(f, t, cu, "pm_card_visa");
	product(f, other, op, "EUR");
	plan(f, other, om, op, 7000, BILLING_MONTH, 1);
	customer(f, other, oc, "pm_card_visa");

	subscribe(f, sa, ca, m, "");
	subscribe(f, sb, cb, m, "");
	subscribe(f, sd, cd, m3, "");
	subscribe(f, tmp, cu, usd, "");                     /* USD: never in EUR */
	run_at(f, tbb_ts(2026, 1, 5, 0, 0, 0));
	subscribe(f, tmp, cc, y, "");
	call_as(f, other, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":"
		"\"%s\"}", oc, om);                         /* another tenant's */
	run_at(f, tbb_ts(2026, 1, 10, 0, 0, 0));
	change_plan(f, sa, m3);
	run_at(f, tbb_ts(2026, 1, 20, 0, 0, 0));
	subscribe(f, se, ce, m, "");
	run_at(f, tbb_ts(2026, 1, 25, 0, 0, 0));
	cancel(f, se);
	run_at(f, tbb_ts(2026, 2, 5, 0, 0, 0));
	change_plan(f, sd, m);
	run_at(f, tbb_ts(2026, 2, 10, 0, 0, 0));
	cancel(f, sb);
	subscribe(f, tmp, cf, m, ",\"trialDays\":14");
	run_at(f, tbb_ts(2026, 2, 20, 0, 0, 0));
	subscribe(f, tmp, cc, m, "");
	run_at(f, tbb_ts(2026, 2, 24, 0, 0, 0));            /* F's trial ends */
	run_at(f, tbb_ts(2026, 3, 3, 0, 0, 0));
	subscribe(f, tmp, ce, m, "");
	run_at(f, tbb_ts(2026, 3, 10, 0, 0, 0));
	subscribe(f, tmp, cb, m, "");
	run_at(f, tbb_ts(2026, 4, 5, 0, 0, 0));
	cancel(f, sa);
	run_at(f, tbb_ts(2026, 4, 10, 0, 0, 0));

	memset(&mv, 0x5a, sizeof(mv));
	tb_assert_rc(billing_report_mrr_movements(&mv, f->w->ctx, &f->admin, "eur",
		tbb_ts(2025, 12, 1, 0, 0, 0), tbb_ts(2026, 5, 1, 0, 0, 0)), BILLING_OK);
	assert_string_equal(mv.currency, "EUR");
	tbb_assert_time(mv.from, tbb_ts(2025, 12, 1, 0, 0, 0));
	tbb_assert_time(mv.to, tbb_ts(2026, 5, 1, 0, 0, 0));
	assert_int_equal(mv.month_count, 5);
	assert_month(&mv.months[0], tbb_ts(2025, 12, 1, 0, 0, 0), 0, 5000, 0, 0, 0, 0, 5000, 0, 3);
	assert_int_equal(mv.months[0].new_customers, 3);
	assert_month(&mv.months[1], tbb_ts(2026, 1, 1, 0, 0, 0), 5000, 1000, 2000, 0, 0, 0, 8000,
		3, 4);
	assert_int_equal(mv.months[1].new_customers, 1);
	assert_int_equal(mv.months[1].expansion_customers, 1);
	assert_month(&mv.months[2], tbb_ts(2026, 2, 1, 0, 0, 0), 8000, 1000, 1000, -2000, -1000,
		0, 7000, 4, 4);
	assert_int_equal(mv.months[2].contraction_customers, 1);
	assert_int_equal(mv.months[2].churned_customers, 1);
	assert_month(&mv.months[3], tbb_ts(2026, 3, 1, 0, 0, 0), 7000, 0, 0, 0, 0, 2000, 9000, 4, 6);
	assert_int_equal(mv.months[3].reactivated_customers, 2);
	assert_month(&mv.months[4], tbb_ts(2026, 4, 1, 0, 0, 0), 9000, 0, 0, 0, -3000, 0, 6000,
		6, 5);
	tbb_assert_time(mv.months[4].end, tbb_ts(2026, 4, 10, 0, 0, 0));    /* now */
	for (i = 0; i < mv.month_count; i++) {
		const billing_mrr_month *mo = &mv.months[i];
		assert_int_equal(mo->start_mrr + mo->new_mrr + mo->expansion + mo->contraction +
			mo->churned + mo->reactivated, mo->end_mrr);
		assert_int_equal(mrr_at(f, "EUR", mo->start).mrr, mo->start_mrr);
		assert_int_equal(mrr_at(f, "EUR", mo->end).mrr, mo->end_mrr);
		if (i)
			assert_int_equal(mo->start, mv.months[i - 1].end);
	}

	/* One month alone says the same of it; USD has its own. */
	tb_assert_rc(billing_report_mrr_movements(&mv, f->w->ctx, &f->admin, "EUR",
		tbb_ts(2026, 2, 1, 0, 0, 0), tbb_ts(2026, 3, 1, 0, 0, 0)), BILLING_OK);
	assert_int_equal(mv.month_count, 1);
	assert_month(&mv.months[0], tbb_ts(2026, 2, 1, 0, 0, 0), 8000, 1000, 1000, -2000, -1000,
		0, 7000, 4, 4);
	tb_assert_rc(billing_report_mrr_movements(&mv, f->w->ctx, &f->admin, "USD",
		tbb_ts(2025, 12, 1, 0, 0, 0), tbb_ts(2026, 1, 1, 0, 0, 0)), BILLING_OK);
	assert_month(&mv.months[0], tbb_ts(2025, 12, 1, 0, 0, 0), 0, 5000, 0, 0, 0, 0, 5000, 0, 1);

	churn__of_the_movements_history(f);
}

/* The range: month starts, in order, not in the future, at most 36 months;
 * roles; bad input named, through C and JSON. */
static void movements__range_roles_and_bad_input(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant), platform = tb_platform();
	billing_mrr_movements mv;
	const int64_t feb1 = tbb_ts(2026, 2, 1, 0, 0, 0), mar1 = tbb_ts(2026, 3, 1, 0, 0, 0);
	char *out = NULL;
	const char *ok = "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\","
		"\"to\":\"2026-03-01T00:00:00Z\"}";
	const char *bad_from = "{\"currency\":\"EUR\",\"from\":\"January\","
		"\"to\":\"2026-03-01T00:00:00Z\"}";
	const char *bad_to = "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\"}";
	static const struct { int64_t from, to; const char *field; } bad[] = {
		{ INT64_C(1770000000), INT64_C(1772323200), "from" },   /* not a month's start */
		{ INT64_C(1772323200), INT64_C(1775001600), "from" },   /* 2026-03-01: after now */
		{ INT64_C(1769904000), INT64_C(1769904000), "to" },     /* to = from */
		{ INT64_C(1769904000), INT64_C(1772323201), "to" },     /* not a month's start */
		{ INT64_C(1769904000), INT64_C(1775001600), "to" },     /* 2026-04-01: after March */
		{ -1, INT64_C(1772323200), "from" },
		{ INT64_C(1769904000), INT64_MAX, "to" },
	};
	size_t i;

	f->w->now = tbb_ts(2026, 2, 17, 10, 0, 0);
	assert_int_equal(feb1, INT64_C(1769904000));
	assert_int_equal(mar1, INT64_C(1772323200));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tb_assert_rc(billing_report_mrr_movements(&mv, f->w->ctx, &user, "EUR", bad[i].from,
			bad[i].to), BILLING_EINVALID);
		tb_assert_field(bad[i].field);
	}
	/* 36 months is the most: 2023-03-01 .. 2026-03-01, not from 2023-02-01. */
	tb_assert_rc(billing_report_mrr_movements(&mv, f->w->ctx, &user, "EUR",
		tbb_ts(2023, 3, 1, 0, 0, 0), mar1), BILLING_OK);
	assert_int_equal(mv.month_count, 36);
	tbb_assert_time(mv.months[35].end, f->w->now);      /* February ends now */
	tb_assert_rc(billing_report_mrr_movements(&mv, f->w->ctx, &user, "EUR",
		tbb_ts(2023, 2, 1, 0, 0, 0), mar1), BILLING_EINVALID);
	tb_assert_field("to");
	tb_assert_rc(billing_report_mrr_movements(&mv, f->w->ctx, &user, "EURO", feb1, mar1),
		BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_mrr_movements(&mv, f->w->ctx, &platform, "EUR", feb1, mar1),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_report_mrr_movements(NULL, f->w->ctx, &user, "EUR", feb1, mar1),
		BILLING_EINVALID);

	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.mrr_movements", bad_from,
		strlen(bad_from), NULL), BILLING_EINVALID);
	tb_assert_field("from");
	billing_free(out);
	out = NULL;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.mrr_movements", bad_to,
		strlen(bad_to), NULL), BILLING_EINVALID);
	tb_assert_field("to");
	billing_free(out);
	out = NULL;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.mrr_movements", ok,
		strlen(ok), NULL), BILLING_OK);
	assert_non_null(strstr(out, "\"object\":\"mrr_movements_report\""));
	assert_non_null(strstr(out, "\"start\":\"2026-02-01T00:00:00Z\",\"end\":"
		"\"2026-02-17T10:00:00Z\",\"startMrr\":0,\"new\":0"));
	billing_free(out);

	f->w->ctx->st->version = 13;
	tb_assert_rc(billing_report_mrr_movements(&mv, f->w->ctx, &user, "EUR", feb1, mar1),
		BILLING_EINVALID);
	f->w->ctx->st->version = BILLING_STORAGE_VERSION;
}

/* The range: from not negative, to after from and not after now; roles;
 * bad input named, through C and JSON. */
static void churn__range_roles_and_bad_input(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant), platform = tb_platform();
	billing_churn c;
	const int64_t jan1 = tbb_ts(2026, 1, 1, 0, 0, 0), now = tbb_ts(2026, 2, 17, 10, 0, 0);
	static const char *const bad_json[][2] = {
		{ "{\"currency\":\"EUR\",\"from\":\"January\",\"to\":\"2026-02-01T00:00:00Z\"}",
			"from" },
		{ "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\"}", "to" },
		{ "{\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-02-01T00:00:00Z\"}",
			"currency" },
	};
	char *out = NULL;
	size_t i;

	f->w->now = now;
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &user, "EUR", -1, jan1),
		BILLING_EINVALID);
	tb_assert_field("from");
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &user, "EUR", jan1, jan1),
		BILLING_EINVALID);
	tb_assert_field("to");
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &user, "EUR", jan1, now + 1),
		BILLING_EINVALID);
	tb_assert_field("to");
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &user, "EURO", jan1, now),
		BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &user, NULL, jan1, now),
		BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &platform, "EUR", jan1, now),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_report_churn(NULL, f->w->ctx, &user, "EUR", jan1, now),
		BILLING_EINVALID);
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &user, "EUR", 0, now), BILLING_OK);
	assert_int_equal(c.start_customers, 0);
	for (i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.churn", bad_json[i][0],
			strlen(bad_json[i][0]), NULL), BILLING_EINVALID);
		tb_assert_field(bad_json[i][1]);
		billing_free(out);
		out = NULL;
	}
	f->w->ctx->st->version = 13;
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &user, "EUR", jan1, now),
		BILLING_EINVALID);
	f->w->ctx->st->version = BILLING_STORAGE_VERSION;
}

/* rate_bp's overflow: a rate's numerator times 10,000 past int64. One
 * customer on the largest amount a plan may have (BILLING_AMOUNT_MAX a
 * month) cancels: its churned MRR, -999,999,999,999,999, is exact, but
 * the gross revenue churn rate's 10^19-odd hundredths of a percent is
 * BILLING_EOVERFLOW, and the report says so rather than a wrong rate. */
static void churn__rate_overflow(void **state)
{
	fx *f = *state;
	char prod[64], big[64], cus[64], sub[64];
	const int64_t t0 = tbb_ts(2026, 1, 1, 0, 0, 0);
	billing_churn c;

	f->w->now = t0;
	product(f, f->tenant, prod, "EUR");
	plan(f, f->tenant, big, prod, BILLING_AMOUNT_MAX, BILLING_MONTH, 1);
	customer(f, f->tenant, cus, "pm_card_visa");
	subscribe(f, sub, cus, big, "");
	assert_int_equal(mrr_at(f, "EUR", 0).mrr, BILLING_AMOUNT_MAX);
	f->w->now = t0 + 60;
	cancel(f, sub);
	f->w->now = t0 + 120;
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &f->admin, "EUR", t0, f->w->now),
		BILLING_EOVERFLOW);
	/* the customers' rate alone fits: in another currency it is reported */
	tb_assert_rc(billing_report_churn(&c, f->w->ctx, &f->admin, "USD", t0, f->w->now),
		BILLING_OK);
	assert_int_equal(c.customer_churn_bp, 10000);
}

/* ARPA: USER reads, PLATFORM does not; bad input named, through C and
 * JSON; null over JSON when nobody pays. */
static void arpa__roles_and_bad_input(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant), platform = tb_platform();
	billing_arpa a;
	char *out = NULL;
	static const char *const bad_json[][2] = {
		{ "{\"currency\":\"EUR\",\"at\":\"tomorrow\"}", "at" },
		{ "{\"currency\":\"EUR\",\"at\":\"1970-01-01T00:00:00Z\"}", "at" },
		{ "{\"currency\":\"EUR\",\"at\":\"2026-01-01T00:00:01Z\"}", "at" },
		{ "{\"currency\":\"EURO\"}", "currency" },
		{ "{}", "currency" },
	};
	const char *ok = "{\"currency\":\"eur\",\"at\":\"2026-01-01T00:00:00Z\"}";
	size_t i;

	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	tb_assert_rc(billing_report_arpa(&a, f->w->ctx, &user, "EUR", 0), BILLING_OK);
	assert_int_equal(a.paying_customers, 0);
	assert_int_equal(a.arpa, 0);
	tb_assert_rc(billing_report_arpa(&a, f->w->ctx, &platform, "EUR", 0), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_report_arpa(&a, f->w->ctx, &user, "EURO", 0), BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_arpa(&a, f->w->ctx, &user, NULL, 0), BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_arpa(&a, f->w->ctx, &user, "EUR", f->w->now + 1),
		BILLING_EINVALID);
	tb_assert_field("at");
	tb_assert_rc(billing_report_arpa(&a, f->w->ctx, &user, "EUR", -5), BILLING_EINVALID);
	tb_assert_field("at");
	tb_assert_rc(billing_report_arpa(NULL, f->w->ctx, &user, "EUR", 0), BILLING_EINVALID);
	for (i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.arpa", bad_json[i][0],
			strlen(bad_json[i][0]), NULL), BILLING_EINVALID);
		tb_assert_field(bad_json[i][1]);
		billing_free(out);
		out = NULL;
	}
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.arpa", ok, strlen(ok),
		NULL), BILLING_OK);
	assert_non_null(strstr(out, "{\"object\":\"arpa_report\",\"currency\":\"EUR\","
		"\"at\":\"2026-01-01T00:00:00Z\",\"mrr\":0,\"payingCustomers\":0,\"arpa\":null}"));
	billing_free(out);
	f->w->ctx->st->version = 13;
	tb_assert_rc(billing_report_arpa(&a, f->w->ctx, &user, "EUR", 0), BILLING_EINVALID);
	f->w->ctx->st->version = BILLING_STORAGE_VERSION;
}

#define assert_trials(f, from_, to_, ended_, conv_, canc_, unpaid_, bp_) do { \
	billing_trial_conversion t_; \
	memset(&t_, 0x5a, sizeof(t_)); \
	tb_assert_rc(billing_report_trial_conversion(&t_, (f)->w->ctx, &(f)->admin, (from_), \
		(to_)), BILLING_OK); \
	tbb_assert_time(t_.from, (from_)); \
	tbb_assert_time(t_.to, (to_)); \
	assert_int_equal(t_.trials_ended, (ended_)); \
	assert_int_equal(t_.converted, (conv_)); \
	assert_int_equal(t_.canceled_during_trial, (canc_)); \
	assert_int_equal(t_.ended_unpaid, (unpaid_)); \
	assert_int_equal(t_.conversion_bp, (bp_)); \
} while (0)

/* A string field of an operation's answer (as ADMIN of the fixture's
 * tenant) into val. */
static void field_of(fx *f, const char *op, const char *json, const char *name, char *val)
{
	char *out = NULL;
	cJSON *m;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, op, json, strlen(json), NULL),
		BILLING_OK);
	m = cJSON_Parse(out);
	assert_non_null(m);
	assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, name)));
	snprintf(val, 64, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, name)));
	cJSON_Delete(m);
	billing_free(out);
}

/* The trials of the file's comment (trial conversion), then reports of
 * five ranges asked on 2026-04-10. */
static void trials__hand_counted(void **state)
{
	fx *f = *state;
	const char *t = f->tenant, *other = tb_tenant(f->w, "Other");
	const char *trial = ",\"trialDays\":14";
	const int64_t mar1 = tbb_ts(2026, 3, 1, 0, 0, 0), mar15 = tbb_ts(2026, 3, 15, 0, 0, 0);
	char pe[64], pu[64], m[64], usd[64], op[64], om[64], oc[64], c[64], s2[64], s3[64];
	char s4[64], sa[64], sn[64], tmp[64], inv[64], json[256], *out = NULL;
	billing_principal user = tb_user(t);
	cJSON *list, *e;
	int seen = 0;

	f->w->now = mar1;
	product(f, t, pe, "EUR");
	product(f, t, pu, "USD");
	plan(f, t, m, pe, 1000, BILLING_MONTH, 1);
	plan(f, t, usd, pu, 1000, BILLING_MONTH, 1);
	product(f, other, op, "EUR");
	plan(f, other, om, op, 1000, BILLING_MONTH, 1);
	customer(f, other, oc, "pm_card_visa");
	call_as(f, other, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":"
		"\"%s\"%s}", oc, om, trial);
	customer(f, t, c, "pm_card_visa");
	subscribe(f, tmp, c, m, trial);                         /* T1 */
	customer(f, t, c, "pm_card_chargeDeclined");
	subscribe(f, s2, c, m, trial);                          /* T2 */
	customer(f, t, c, "pm_card_visa");
	subscribe(f, s3, c, m, trial);                          /* T3 */
	customer(f, t, c, "pm_card_visa");
	subscribe(f, s4, c, m, trial);                          /* T4 */
	customer(f, t, c, "pm_card_visa");
	subscribe(f, sa, c, m, trial);                          /* A */
	customer(f, t, c, "pm_card_visa");
	subscribe(f, tmp, c, usd, trial);                       /* U */
	customer(f, t, c, "pm_card_visa");
	subscribe(f, tmp, c, m, ",\"trialDays\":30");           /* T5 */
	customer(f, t, c, "pm_card_visa");
	subscribe(f, sn, c, m, "");                             /* N */
	run_at(f, tbb_ts(2026, 3, 5, 0, 0, 0));
	cancel(f, s3);
	cancel(f, sn);
	run_at(f, tbb_ts(2026, 3, 10, 0, 0, 0));
	call_as(f, t, "subscriptions.cancel", NULL, "{\"id\":\"%s\",\"atPeriodEnd\":true}", s4);
	run_at(f, mar15);
	/* T2's charge declined: past_due, its first invoice not paid; and yet
	 * its trial_ended event says active (written before the charge). */
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", s2);
	field_of(f, "subscriptions.get", json, "status", tmp);
	assert_string_equal(tmp, "past_due");
	field_of(f, "subscriptions.get", json, "latestInvoiceId", inv);
	snprintf(json, sizeof(json), "{\"type\":\"subscription.trial_ended\",\"limit\":100}");
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "events.list", json,
		strlen(json), NULL), BILLING_OK);
	assert_non_null(list = cJSON_Parse(out));
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(list, "data")) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "data");
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "id")), s2) != 0)
			continue;
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d,
			"status")), "active");
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d,
			"latestInvoiceId")), inv);
		seen++;
	}
	assert_int_equal(seen, 1);
	cJSON_Delete(list);
	billing_free(out);
	out = NULL;
	f->w->now = tbb_ts(2026, 3, 16, 12, 0, 0);
	call_as(f, t, "invoices.pay", NULL, "{\"id\":\"%s\",\"paidOutOfBand\":true}", inv);
	run_at(f, tbb_ts(2026, 3, 20, 0, 0, 0));
	cancel(f, sa);
	run_at(f, tbb_ts(2026, 3, 31, 0, 0, 0));                 /* T5's trial ends */
	run_at(f, tbb_ts(2026, 4, 10, 0, 0, 0));

	assert_trials(f, mar1, tbb_ts(2026, 4, 1, 0, 0, 0), 7, 5, 2, 0, 7143);
	assert_trials(f, mar15, tbb_ts(2026, 3, 16, 0, 0, 0), 5, 3, 1, 1, 6000);
	assert_trials(f, mar1, mar15, 1, 0, 1, 0, 0);
	assert_trials(f, tbb_ts(2026, 3, 16, 0, 0, 0), f->w->now, 1, 1, 0, 0, 10000);
	assert_trials(f, tbb_ts(2026, 2, 1, 0, 0, 0), mar1, 0, 0, 0, 0, 0);

	/* The JSON layer, read by a USER: the rate with two decimals, null
	 * when no trial ended. */
	snprintf(json, sizeof(json), "{\"from\":\"2026-03-01T00:00:00Z\","
		"\"to\":\"2026-04-01T00:00:00Z\"}");
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.trial_conversion", json,
		strlen(json), NULL), BILLING_OK);
	assert_non_null(strstr(out, "{\"object\":\"trial_conversion_report\","
		"\"from\":\"2026-03-01T00:00:00Z\",\"to\":\"2026-04-01T00:00:00Z\","
		"\"trialsEnded\":7,\"converted\":5,\"canceledDuringTrial\":2,\"endedUnpaid\":0,"
		"\"conversionRate\":\"71.43\"}"));
	billing_free(out);
	out = NULL;
	snprintf(json, sizeof(json), "{\"from\":\"2026-02-01T00:00:00Z\","
		"\"to\":\"2026-03-01T00:00:00Z\"}");
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.trial_conversion", json,
		strlen(json), NULL), BILLING_OK);
	assert_non_null(strstr(out, "\"trialsEnded\":0,\"converted\":0,"
		"\"canceledDuringTrial\":0,\"endedUnpaid\":0,\"conversionRate\":null}"));
	billing_free(out);
}

/* Trial conversion: USER reads, PLATFORM does not; bad input named,
 * through C and JSON. */
static void trials__roles_and_bad_input(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant), platform = tb_platform();
	billing_trial_conversion tc;
	const int64_t jan1 = tbb_ts(2026, 1, 1, 0, 0, 0), now = tbb_ts(2026, 2, 17, 10, 0, 0);
	static const char *const bad_json[][2] = {
		{ "{\"from\":\"January\",\"to\":\"2026-02-01T00:00:00Z\"}", "from" },
		{ "{\"to\":\"2026-02-01T00:00:00Z\"}", "from" },
		{ "{\"from\":\"2026-01-01T00:00:00Z\"}", "to" },
		{ "{\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-01-01T00:00:00Z\"}", "to" },
		{ "{\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-03-01T00:00:00Z\"}", "to" },
	};
	char *out = NULL;
	size_t i;

	f->w->now = now;
	tb_assert_rc(billing_report_trial_conversion(&tc, f->w->ctx, &user, jan1, now),
		BILLING_OK);
	assert_int_equal(tc.trials_ended, 0);
	tb_assert_rc(billing_report_trial_conversion(&tc, f->w->ctx, &user, -1, jan1),
		BILLING_EINVALID);
	tb_assert_field("from");
	tb_assert_rc(billing_report_trial_conversion(&tc, f->w->ctx, &user, jan1, jan1),
		BILLING_EINVALID);
	tb_assert_field("to");
	tb_assert_rc(billing_report_trial_conversion(&tc, f->w->ctx, &user, jan1, now + 1),
		BILLING_EINVALID);
	tb_assert_field("to");
	tb_assert_rc(billing_report_trial_conversion(&tc, f->w->ctx, &platform, jan1, now),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_report_trial_conversion(NULL, f->w->ctx, &user, jan1, now),
		BILLING_EINVALID);
	for (i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.trial_conversion",
			bad_json[i][0], strlen(bad_json[i][0]), NULL), BILLING_EINVALID);
		tb_assert_field(bad_json[i][1]);
		billing_free(out);
		out = NULL;
	}
}

/* A send_invoice invoice of amount, finalized at at, due days later. */
static void open_invoice(fx *f, const char *tenant, char *id, const char *cus,
	const char *currency, int64_t amount, int days, int64_t at, int finalize)
{
	char item[64];
	f->w->now = at;
	call_as(f, tenant, "invoices.create", id, "{\"customerId\":\"%s\",\"currency\":\"%s\","
		"\"collectionMethod\":\"send_invoice\",\"daysUntilDue\":%d}", cus, currency, days);
	call_as(f, tenant, "invoice_items.create", item, "{\"customerId\":\"%s\",\"invoiceId\":"
		"\"%s\",\"currency\":\"%s\",\"description\":\"Work\",\"unitAmount\":%lld,"
		"\"quantity\":1}", cus, id, currency, (long long)amount);
	if (finalize)
		call_as(f, tenant, "invoices.finalize", NULL, "{\"id\":\"%s\"}", id);
}

static billing_receivables_aging aging_at(fx *f, int64_t at)
{
	billing_receivables_aging a;
	memset(&a, 0x5a, sizeof(a));
	tb_assert_rc(billing_report_receivables_aging(&a, f->w->ctx, &f->admin, "EUR", at),
		BILLING_OK);
	assert_string_equal(a.currency, "EUR");
	tbb_assert_time(a.at, at ? at : f->w->now);
	assert_int_equal(a.total, a.current + a.days_1_30 + a.days_31_60 + a.days_61_90 +
		a.days_over_90);
	return a;
}

#define assert_aging(f, at_, cur, d30, d60, d90, over, total_, open_, past_) do { \
	billing_receivables_aging a_ = aging_at((f), (at_)); \
	assert_int_equal(a_.current, (cur)); \
	assert_int_equal(a_.days_1_30, (d30)); \
	assert_int_equal(a_.days_31_60, (d60)); \
	assert_int_equal(a_.days_61_90, (d90)); \
	assert_int_equal(a_.days_over_90, (over)); \
	assert_int_equal(a_.total, (total_)); \
	assert_int_equal(a_.invoices, (open_)); \
	assert_int_equal(a_.invoices_past_due, (past_)); \
} while (0)

/* The invoices of the file's comment (receivables ageing), then reports of
 * past times asked on 2026-06-01. */
static void aging__hand_worked_invoices(void **state)
{
	fx *f = *state;
	const char *t = f->tenant, *other = tb_tenant(f->w, "Other");
	char cus[64], bad[64], ocus[64], i1[64], i2[64], i3[64], i4[64], i8[64], tmp[64];
	char prod[64], m[64];

	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	customer(f, t, cus, "pm_card_visa");
	customer(f, t, bad, "pm_card_chargeDeclined");
	customer(f, other, ocus, "pm_card_visa");
	product(f, t, prod, "EUR");
	plan(f, t, m, prod, 16000, BILLING_MONTH, 1);
	open_invoice(f, t, i1, cus, "EUR", 1000, 30, tbb_ts(2026, 1, 1, 0, 0, 0), 1);
	open_invoice(f, t, i8, cus, "EUR", 500, 30, tbb_ts(2026, 2, 1, 0, 0, 0), 1);
	open_invoice(f, t, i2, cus, "EUR", 2000, 30, tbb_ts(2026, 3, 1, 0, 0, 0), 1);
	f->w->now = tbb_ts(2026, 3, 15, 0, 0, 0);
	call_as(f, t, "invoices.mark_uncollectible", NULL, "{\"id\":\"%s\"}", i8);
	open_invoice(f, t, i3, cus, "EUR", 4000, 14, tbb_ts(2026, 4, 1, 0, 0, 0), 1);
	open_invoice(f, t, i4, cus, "EUR", 8000, 30, tbb_ts(2026, 5, 1, 0, 0, 0), 1);
	open_invoice(f, t, tmp, cus, "USD", 700, 30, tbb_ts(2026, 5, 1, 0, 0, 0), 1);
	open_invoice(f, other, tmp, ocus, "EUR", 900, 30, tbb_ts(2026, 5, 1, 0, 0, 0), 1);
	f->w->now = tbb_ts(2026, 5, 5, 0, 0, 0);
	call_as(f, t, "invoices.pay", NULL, "{\"id\":\"%s\",\"paidOutOfBand\":true}", i1);
	f->w->now = tbb_ts(2026, 5, 15, 0, 0, 0);
	call_as(f, t, "invoices.void", NULL, "{\"id\":\"%s\"}", i2);
	f->w->now = tbb_ts(2026, 5, 20, 0, 0, 0);
	call_as(f, t, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":\"%s\"}",
		bad, m);
	run_at(f, tbb_ts(2026, 5, 20, 0, 0, 0));          /* the card declines */
	open_invoice(f, t, tmp, cus, "EUR", 300, 30, tbb_ts(2026, 5, 25, 0, 0, 0), 0);
	f->w->now = tbb_ts(2026, 6, 1, 0, 0, 0);

	assert_aging(f, tbb_ts(2026, 3, 10, 0, 0, 0), 2000, 500, 1000, 0, 0, 3500, 3, 2);
	assert_aging(f, tbb_ts(2026, 3, 20, 0, 0, 0), 2000, 0, 1000, 0, 0, 3000, 2, 1);
	assert_aging(f, tbb_ts(2026, 4, 15, 23, 59, 59), 4000, 2000, 0, 1000, 0, 7000, 3, 2);
	assert_aging(f, tbb_ts(2026, 5, 1, 0, 0, 0), 8000, 4000, 2000, 1000, 0, 15000, 4, 3);
	assert_aging(f, tbb_ts(2026, 5, 2, 0, 0, 0), 8000, 4000, 2000, 0, 1000, 15000, 4, 3);
	assert_aging(f, 0, 0, 24000, 4000, 0, 0, 28000, 3, 3);
	assert_aging(f, tbb_ts(2025, 12, 31, 0, 0, 0), 0, 0, 0, 0, 0, 0, 0, 0);
}

/* USER reads; bad input named, through C and JSON. */
static void aging__roles_and_bad_input(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant), platform = tb_platform();
	billing_receivables_aging a;
	char *out = NULL;
	const char *bad_at = "{\"currency\":\"EUR\",\"at\":\"soon\"}";
	const char *epoch = "{\"currency\":\"EUR\",\"at\":\"1970-01-01T00:00:00Z\"}";
	const char *ok = "{\"currency\":\"eur\"}";

	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	tb_assert_rc(billing_report_receivables_aging(&a, f->w->ctx, &user, "EUR", 0), BILLING_OK);
	assert_int_equal(a.total, 0);
	tb_assert_rc(billing_report_receivables_aging(&a, f->w->ctx, &platform, "EUR", 0),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_report_receivables_aging(&a, f->w->ctx, &user, "EURO", 0),
		BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_receivables_aging(&a, f->w->ctx, &user, "EUR", f->w->now + 1),
		BILLING_EINVALID);
	tb_assert_field("at");
	tb_assert_rc(billing_report_receivables_aging(NULL, f->w->ctx, &user, "EUR", 0),
		BILLING_EINVALID);
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.receivables_aging", bad_at,
		strlen(bad_at), NULL), BILLING_EINVALID);
	tb_assert_field("at");
	billing_free(out);
	out = NULL;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.receivables_aging", epoch,
		strlen(epoch), NULL), BILLING_EINVALID);
	tb_assert_field("at");
	billing_free(out);
	out = NULL;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.receivables_aging", ok,
		strlen(ok), NULL), BILLING_OK);
	assert_non_null(strstr(out, "\"object\":\"receivables_aging_report\",\"currency\":\"EUR\","
		"\"at\":\"2026-01-01T00:00:00Z\",\"current\":0"));
	billing_free(out);
	f->w->ctx->st->version = 13;
	tb_assert_rc(billing_report_receivables_aging(&a, f->w->ctx, &user, "EUR", 0),
		BILLING_EINVALID);
	f->w->ctx->st->version = BILLING_STORAGE_VERSION;
}

/* The latest invoice of a subscription, into inv. */
static void latest_invoice(fx *f, const char *sub, char *inv)
{
	char json[128];
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", sub);
	field_of(f, "subscriptions.get", json, "latestInvoiceId", inv);
}

/* The first payment of an invoice, into pay. */
static void first_payment(fx *f, const char *inv, char *pay)
{
	char json[128], *out = NULL;
	cJSON *m, *data;
	snprintf(json, sizeof(json), "{\"invoiceId\":\"%s\"}", inv);
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "payments.list", json,
		strlen(json), NULL), BILLING_OK);
	assert_non_null(m = cJSON_Parse(out));
	data = cJSON_GetObjectItemCaseSensitive(m, "data");
	assert_int_equal(cJSON_GetArraySize(data), 1);
	snprintf(pay, 64, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(data, 0), "id")));
	cJSON_Delete(m);
	billing_free(out);
}

#define assert_revenue_month(mo, s_, fin_, void_, paid_, ref_, out_) do { \
	const billing_revenue_month *m_ = (mo); \
	tbb_assert_time(m_->start, (s_)); \
	assert_int_equal(m_->finalized, (fin_)); \
	assert_int_equal(m_->voided, (void_)); \
	assert_int_equal(m_->invoiced, (fin_) + (void_)); \
	assert_int_equal(m_->paid, (paid_)); \
	assert_int_equal(m_->refunded, (ref_)); \
	assert_int_equal(m_->collected, (paid_) + (ref_)); \
	assert_int_equal(m_->outstanding, (out_)); \
} while (0)

#define assert_recovery(f, from_, to_, failed_, amount_, rec_, rec_amount_, open_, unc_, \
	void_, bp_) do { \
	billing_payment_recovery r_; \
	memset(&r_, 0x5a, sizeof(r_)); \
	tb_assert_rc(billing_report_payment_recovery(&r_, (f)->w->ctx, &(f)->admin, "EUR", \
		(from_), (to_)), BILLING_OK); \
	assert_string_equal(r_.currency, "EUR"); \
	tbb_assert_time(r_.from, (from_)); \
	tbb_assert_time(r_.to, (to_)); \
	assert_int_equal(r_.failed_invoices, (failed_)); \
	assert_int_equal(r_.failed_amount, (amount_)); \
	assert_int_equal(r_.recovered, (rec_)); \
	assert_int_equal(r_.recovered_amount, (rec_amount_)); \
	assert_int_equal(r_.open, (open_)); \
	assert_int_equal(r_.uncollectible, (unc_)); \
	assert_int_equal(r_.voided, (void_)); \
	assert_int_equal(r_.recovery_bp, (bp_)); \
} while (0)

/* The history of the file's comment (invoiced vs collected, payment
 * recovery), then both reports asked on 2026-04-10. */
static void revenue__hand_counted_months_and_recovery(void **state)
{
	fx *f = *state;
	const char *t = f->tenant, *other = tb_tenant(f->w, "Other");
	char pe[64], pu[64], y[64], yu[64], op[64], oy[64], c[64], cd[64], tmp[64];
	char sa[64], sd[64], se[64], sk[64], ia[64], ie[64], ik[64], ig[64], pay[64];
	char json[256], *out = NULL;
	billing_principal user = tb_user(t);
	billing_revenue r;

	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	call_as(f, t, "dunning.set", NULL, "{\"retryDays\":[1,3],\"finalAction\":"
		"\"keep_past_due\"}");
	product(f, t, pe, "EUR");
	product(f, t, pu, "USD");
	plan(f, t, y, pe, 12000, BILLING_YEAR, 1);
	plan(f, t, yu, pu, 12000, BILLING_YEAR, 1);
	product(f, other, op, "EUR");
	plan(f, other, oy, op, 12000, BILLING_YEAR, 1);

	f->w->now = tbb_ts(2026, 1, 15, 0, 0, 0);
	customer(f, t, c, "pm_card_visa");
	subscribe(f, sa, c, y, "");                             /* A */
	customer(f, other, c, "pm_card_visa");
	call_as(f, other, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":"
		"\"%s\"}", c, oy);
	run_at(f, tbb_ts(2026, 1, 20, 0, 0, 0));
	customer(f, t, c, "pm_card_visa");
	subscribe(f, tmp, c, yu, "");                           /* U, USD */
	run_at(f, tbb_ts(2026, 1, 31, 23, 59, 59));
	customer(f, t, c, "pm_card_visa");
	subscribe(f, tmp, c, y, "");                            /* B */
	run_at(f, tbb_ts(2026, 2, 1, 0, 0, 0));
	customer(f, t, c, "pm_card_visa");
	subscribe(f, tmp, c, y, "");                            /* C */
	run_at(f, tbb_ts(2026, 2, 10, 0, 0, 0));
	customer(f, t, cd, "pm_card_chargeDeclined");
	subscribe(f, sd, cd, y, "");                            /* D declines */
	run_at(f, tbb_ts(2026, 2, 10, 0, 0, 0));
	assert_int_equal(tbb_sub_status(f->w, t, sd), BILLING_SUB_PAST_DUE);
	run_at(f, tbb_ts(2026, 2, 11, 0, 0, 0));               /* the first retry declines */
	f->w->now = tbb_ts(2026, 2, 12, 0, 0, 0);
	call_as(f, t, "customers.update", NULL, "{\"id\":\"%s\",\"defaultPaymentMethod\":"
		"\"pm_card_visa\"}", cd);
	run_at(f, tbb_ts(2026, 2, 13, 0, 0, 0));               /* the second one pays */
	assert_int_equal(tbb_sub_status(f->w, t, sd), BILLING_SUB_ACTIVE);
	f->w->now = tbb_ts(2026, 2, 15, 0, 0, 0);
	customer(f, t, c, "pm_card_chargeDeclined");
	subscribe(f, tmp, c, yu, "");                           /* USD, declines */
	customer(f, other, c, "pm_card_chargeDeclined");
	call_as(f, other, "subscriptions.create", tmp, "{\"customerId\":\"%s\",\"planId\":"
		"\"%s\"}", c, oy);
	run_at(f, tbb_ts(2026, 2, 20, 0, 0, 0));
	customer(f, t, c, "pm_card_chargeDeclined");
	subscribe(f, se, c, y, "");                             /* E declines */
	run_at(f, tbb_ts(2026, 2, 20, 0, 0, 0));
	latest_invoice(f, se, ie);

	run_at(f, tbb_ts(2026, 3, 1, 0, 0, 0));
	customer(f, t, c, "pm_card_visa");
	subscribe(f, tmp, c, y, ",\"trialDays\":14");           /* T */
	f->w->now = tbb_ts(2026, 3, 5, 0, 0, 0);
	call_as(f, t, "invoices.void", NULL, "{\"id\":\"%s\"}", ie);
	f->w->now = tbb_ts(2026, 3, 10, 0, 0, 0);
	latest_invoice(f, sa, ia);
	first_payment(f, ia, pay);
	call_as(f, t, "payments.refund", NULL, "{\"id\":\"%s\",\"amount\":3000}", pay);
	run_at(f, tbb_ts(2026, 3, 15, 0, 0, 0));               /* T's trial ends: charged */
	customer(f, t, c, "pm_card_visa");
	open_invoice(f, t, ig, c, "EUR", 5000, 30, tbb_ts(2026, 3, 20, 0, 0, 0), 1);
	run_at(f, tbb_ts(2026, 3, 25, 0, 0, 0));
	customer(f, t, c, "pm_card_chargeDeclined");
	subscribe(f, sk, c, y, "");                             /* K declines */
	run_at(f, tbb_ts(2026, 3, 25, 0, 0, 0));
	latest_invoice(f, sk, ik);
	f->w->now = tbb_ts(2026, 3, 28, 0, 0, 0);
	call_as(f, t, "invoices.mark_uncollectible", NULL, "{\"id\":\"%s\"}", ik);
	f->w->now = tbb_ts(2026, 4, 2, 0, 0, 0);
	call_as(f, t, "invoices.pay", NULL, "{\"id\":\"%s\",\"paidOutOfBand\":true}", ig);
	run_at(f, tbb_ts(2026, 4, 5, 0, 0, 0));
	customer(f, t, c, "pm_card_chargeDeclined");
	subscribe(f, tmp, c, y, "");                            /* H declines */
	run_at(f, tbb_ts(2026, 4, 5, 0, 0, 0));
	run_at(f, tbb_ts(2026, 4, 8, 0, 0, 0));
	run_at(f, tbb_ts(2026, 4, 10, 0, 0, 0));

	memset(&r, 0x5a, sizeof(r));
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &f->admin, "eur",
		tbb_ts(2026, 1, 1, 0, 0, 0), tbb_ts(2026, 5, 1, 0, 0, 0)), BILLING_OK);
	assert_string_equal(r.currency, "EUR");
	assert_int_equal(r.month_count, 4);
	assert_revenue_month(&r.months[0], tbb_ts(2026, 1, 1, 0, 0, 0), 24000, 0, 24000, 0, 0);
	tbb_assert_time(r.months[0].end, tbb_ts(2026, 2, 1, 0, 0, 0));
	assert_revenue_month(&r.months[1], tbb_ts(2026, 2, 1, 0, 0, 0), 36000, 0, 24000, 0,
		12000);
	assert_revenue_month(&r.months[2], tbb_ts(2026, 3, 1, 0, 0, 0), 29000, -12000, 12000,
		-3000, 5000);
	assert_revenue_month(&r.months[3], tbb_ts(2026, 4, 1, 0, 0, 0), 12000, 0, 5000, 0,
		12000);
	tbb_assert_time(r.months[3].end, f->w->now);
	/* One month alone is the same month; February from its own start (the
	 * payments' states at from are where it starts). */
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &f->admin, "EUR",
		tbb_ts(2026, 2, 1, 0, 0, 0), tbb_ts(2026, 3, 1, 0, 0, 0)), BILLING_OK);
	assert_int_equal(r.month_count, 1);
	assert_revenue_month(&r.months[0], tbb_ts(2026, 2, 1, 0, 0, 0), 36000, 0, 24000, 0,
		12000);
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &f->admin, "EUR",
		tbb_ts(2026, 3, 1, 0, 0, 0), tbb_ts(2026, 4, 1, 0, 0, 0)), BILLING_OK);
	assert_revenue_month(&r.months[0], tbb_ts(2026, 3, 1, 0, 0, 0), 29000, -12000, 12000,
		-3000, 5000);
	/* Before anything: zeros. */
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &f->admin, "EUR",
		tbb_ts(2025, 12, 1, 0, 0, 0), tbb_ts(2026, 1, 1, 0, 0, 0)), BILLING_OK);
	assert_revenue_month(&r.months[0], tbb_ts(2025, 12, 1, 0, 0, 0), 0, 0, 0, 0, 0);
	/* USD: U's 12000 in January; its declined one in February, open. */
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &f->admin, "USD",
		tbb_ts(2026, 1, 1, 0, 0, 0), tbb_ts(2026, 3, 1, 0, 0, 0)), BILLING_OK);
	assert_revenue_month(&r.months[0], tbb_ts(2026, 1, 1, 0, 0, 0), 12000, 0, 12000, 0, 0);
	assert_revenue_month(&r.months[1], tbb_ts(2026, 2, 1, 0, 0, 0), 12000, 0, 0, 0, 12000);

	assert_recovery(f, tbb_ts(2026, 2, 1, 0, 0, 0), f->w->now, 4, 48000, 1, 12000, 1, 1, 1,
		2500);
	assert_recovery(f, tbb_ts(2026, 2, 1, 0, 0, 0), tbb_ts(2026, 2, 13, 0, 0, 0), 1, 12000,
		0, 0, 1, 0, 0, 0);
	assert_recovery(f, tbb_ts(2026, 2, 1, 0, 0, 0), tbb_ts(2026, 2, 13, 0, 0, 1), 1, 12000,
		1, 12000, 0, 0, 0, 10000);
	assert_recovery(f, tbb_ts(2026, 2, 11, 0, 0, 0), f->w->now, 3, 36000, 0, 0, 1, 1, 1, 0);
	assert_recovery(f, tbb_ts(2026, 1, 1, 0, 0, 0), tbb_ts(2026, 2, 1, 0, 0, 0), 0, 0, 0, 0,
		0, 0, 0, 0);

	/* The JSON layer, read by a USER. */
	snprintf(json, sizeof(json), "{\"currency\":\"EUR\",\"from\":\"2026-03-01T00:00:00Z\","
		"\"to\":\"2026-04-01T00:00:00Z\"}");
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.revenue", json,
		strlen(json), NULL), BILLING_OK);
	assert_non_null(strstr(out, "{\"object\":\"revenue_report\",\"currency\":\"EUR\","
		"\"from\":\"2026-03-01T00:00:00Z\",\"to\":\"2026-04-01T00:00:00Z\",\"months\":[{"
		"\"start\":\"2026-03-01T00:00:00Z\",\"end\":\"2026-04-01T00:00:00Z\","
		"\"finalized\":29000,\"voided\":-12000,\"invoiced\":17000,\"paid\":12000,"
		"\"refunded\":-3000,\"collected\":9000,\"outstanding\":5000}]}"));
	billing_free(out);
	out = NULL;
	snprintf(json, sizeof(json), "{\"currency\":\"EUR\",\"from\":\"2026-02-01T00:00:00Z\","
		"\"to\":\"2026-04-10T00:00:00Z\"}");
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.payment_recovery", json,
		strlen(json), NULL), BILLING_OK);
	assert_non_null(strstr(out, "{\"object\":\"payment_recovery_report\",\"currency\":"
		"\"EUR\",\"from\":\"2026-02-01T00:00:00Z\",\"to\":\"2026-04-10T00:00:00Z\","
		"\"failedInvoices\":4,\"failedAmount\":48000,\"recovered\":1,"
		"\"recoveredAmount\":12000,\"open\":1,\"uncollectible\":1,\"voided\":1,"
		"\"recoveryRate\":\"25.00\"}"));
	billing_free(out);
	out = NULL;
	snprintf(json, sizeof(json), "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\","
		"\"to\":\"2026-02-01T00:00:00Z\"}");
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.payment_recovery", json,
		strlen(json), NULL), BILLING_OK);
	assert_non_null(strstr(out, "\"failedInvoices\":0,\"failedAmount\":0,\"recovered\":0,"
		"\"recoveredAmount\":0,\"open\":0,\"uncollectible\":0,\"voided\":0,"
		"\"recoveryRate\":null}"));
	billing_free(out);
}

/* The outstanding of the file's comment: an invoice finalized in January,
 * credited in February, paid in March and partly refunded in April; one
 * voided in March; one left open. Every range from January to April on
 * gives the same months, each equal to receivables ageing at its end. */
static void revenue__outstanding_across_months(void **state)
{
	fx *f = *state;
	const char *t = f->tenant;
	char p[64], v[64], i1[64], i2[64], i3[64], pay[64];
	static const int64_t want[4][5] = {   /* finalized, voided, paid, refunded, outstanding */
		{ 14000, 0, 0, 0, 14000 },
		{ 2500, 0, 0, 0, 13500 },
		{ 0, -4000, 7000, 0, 2500 },
		{ 0, 0, 0, -2000, 2500 },
	};
	billing_revenue r;
	size_t first, i;

	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	customer(f, t, p, "pm_card_visa");
	customer(f, t, v, NULL);
	open_invoice(f, t, i1, p, "EUR", 10000, 30, tbb_ts(2026, 1, 10, 0, 0, 0), 1);
	open_invoice(f, t, i2, v, "EUR", 4000, 30, tbb_ts(2026, 1, 20, 0, 0, 0), 1);
	f->w->now = tbb_ts(2026, 2, 5, 0, 0, 0);
	call_as(f, t, "credit_notes.create", NULL, "{\"invoiceId\":\"%s\",\"amount\":3000}",
		i1);
	open_invoice(f, t, i3, v, "EUR", 2500, 30, tbb_ts(2026, 2, 15, 0, 0, 0), 1);
	f->w->now = tbb_ts(2026, 3, 3, 0, 0, 0);
	call_as(f, t, "invoices.void", NULL, "{\"id\":\"%s\"}", i2);
	f->w->now = tbb_ts(2026, 3, 20, 0, 0, 0);
	call_as(f, t, "invoices.pay", NULL, "{\"id\":\"%s\"}", i1);
	first_payment(f, i1, pay);
	f->w->now = tbb_ts(2026, 4, 5, 0, 0, 0);
	call_as(f, t, "payments.refund", NULL, "{\"id\":\"%s\",\"amount\":2000}", pay);
	f->w->now = tbb_ts(2026, 4, 20, 0, 0, 0);

	for (first = 0; first < 4; first++) {
		memset(&r, 0x5a, sizeof(r));
		tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &f->admin, "EUR",
			tbb_ts(2026, 1 + (int)first, 1, 0, 0, 0), tbb_ts(2026, 5, 1, 0, 0, 0)),
			BILLING_OK);
		assert_int_equal(r.month_count, 4 - first);
		for (i = first; i < 4; i++) {
			const billing_revenue_month *m = &r.months[i - first];
			assert_revenue_month(m, tbb_ts(2026, 1 + (int)i, 1, 0, 0, 0), want[i][0],
				want[i][1], want[i][2], want[i][3], want[i][4]);
			/* receivables ageing at the month's last second (April's: now) */
			assert_int_equal(aging_at(f, i < 3 ? m->end - 1 : 0).total, want[i][4]);
		}
	}
}

/* Both reports: USER reads, PLATFORM does not; bad input named, through C
 * and JSON; a storage without history. */
static void revenue__roles_and_bad_input(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant), platform = tb_platform();
	billing_revenue r;
	billing_payment_recovery pr;
	const int64_t jan1 = tbb_ts(2026, 1, 1, 0, 0, 0), feb1 = tbb_ts(2026, 2, 1, 0, 0, 0);
	const int64_t now = tbb_ts(2026, 2, 17, 10, 0, 0);
	static const char *const bad_revenue[][2] = {
		{ "{\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-02-01T00:00:00Z\"}",
			"currency" },
		{ "{\"currency\":\"EURO\",\"from\":\"2026-01-01T00:00:00Z\",\"to\":"
			"\"2026-02-01T00:00:00Z\"}", "currency" },
		{ "{\"currency\":\"EUR\",\"to\":\"2026-02-01T00:00:00Z\"}", "from" },
		{ "{\"currency\":\"EUR\",\"from\":\"2026-01-02T00:00:00Z\",\"to\":"
			"\"2026-02-01T00:00:00Z\"}", "from" },
		{ "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\"}", "to" },
		{ "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\",\"to\":"
			"\"2026-01-01T00:00:00Z\"}", "to" },
		{ "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\",\"to\":"
			"\"2026-04-01T00:00:00Z\"}", "to" },
		{ "{\"currency\":\"EUR\",\"from\":\"2022-01-01T00:00:00Z\",\"to\":"
			"\"2025-02-01T00:00:00Z\"}", "to" },
	};
	static const char *const bad_recovery[][2] = {
		{ "{\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-02-01T00:00:00Z\"}",
			"currency" },
		{ "{\"currency\":\"EUR\",\"from\":\"soon\",\"to\":\"2026-02-01T00:00:00Z\"}",
			"from" },
		{ "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\"}", "to" },
		{ "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\",\"to\":"
			"\"2026-01-01T00:00:00Z\"}", "to" },
		{ "{\"currency\":\"EUR\",\"from\":\"2026-01-01T00:00:00Z\",\"to\":"
			"\"2026-03-01T00:00:00Z\"}", "to" },
	};
	char *out = NULL;
	size_t i;

	f->w->now = now;
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &user, "EUR", jan1,
		tbb_ts(2026, 3, 1, 0, 0, 0)), BILLING_OK);
	assert_int_equal(r.month_count, 2);
	tbb_assert_time(r.months[1].end, now);
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &platform, "EUR", jan1, feb1),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &user, NULL, jan1, feb1),
		BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &user, "EUR", jan1 + 1, feb1),
		BILLING_EINVALID);
	tb_assert_field("from");
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &user, "EUR", jan1, feb1 - 1),
		BILLING_EINVALID);
	tb_assert_field("to");
	tb_assert_rc(billing_report_revenue(NULL, f->w->ctx, &user, "EUR", jan1, feb1),
		BILLING_EINVALID);
	tb_assert_rc(billing_report_payment_recovery(&pr, f->w->ctx, &user, "EUR", jan1, now),
		BILLING_OK);
	assert_int_equal(pr.failed_invoices, 0);
	tb_assert_rc(billing_report_payment_recovery(&pr, f->w->ctx, &platform, "EUR", jan1, now),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_report_payment_recovery(&pr, f->w->ctx, &user, "XX", jan1, now),
		BILLING_EINVALID);
	tb_assert_field("currency");
	tb_assert_rc(billing_report_payment_recovery(&pr, f->w->ctx, &user, "EUR", -1, now),
		BILLING_EINVALID);
	tb_assert_field("from");
	tb_assert_rc(billing_report_payment_recovery(&pr, f->w->ctx, &user, "EUR", jan1,
		now + 1), BILLING_EINVALID);
	tb_assert_field("to");
	tb_assert_rc(billing_report_payment_recovery(NULL, f->w->ctx, &user, "EUR", jan1, now),
		BILLING_EINVALID);
	for (i = 0; i < sizeof(bad_revenue) / sizeof(bad_revenue[0]); i++) {
		tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.revenue",
			bad_revenue[i][0], strlen(bad_revenue[i][0]), NULL), BILLING_EINVALID);
		tb_assert_field(bad_revenue[i][1]);
		billing_free(out);
		out = NULL;
	}
	for (i = 0; i < sizeof(bad_recovery) / sizeof(bad_recovery[0]); i++) {
		tb_assert_rc(billing_call_json(&out, f->w->ctx, &user, "reports.payment_recovery",
			bad_recovery[i][0], strlen(bad_recovery[i][0]), NULL), BILLING_EINVALID);
		tb_assert_field(bad_recovery[i][1]);
		billing_free(out);
		out = NULL;
	}
	f->w->ctx->st->version = 13;
	tb_assert_rc(billing_report_revenue(&r, f->w->ctx, &user, "EUR", jan1, feb1),
		BILLING_EINVALID);
	tb_assert_rc(billing_report_payment_recovery(&pr, f->w->ctx, &user, "EUR", jan1, now),
		BILLING_EINVALID);
	f->w->ctx->st->version = BILLING_STORAGE_VERSION;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(mrr__hand_worked_history_at_past_times, setup,
			teardown),
		cmocka_unit_test_setup_teardown(mrr__discounts_tiers_days_and_trials, setup,
			teardown),
		cmocka_unit_test_setup_teardown(mrr__tenant_and_currency_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(mrr__roles_and_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(movements__hand_worked_months, setup, teardown),
		cmocka_unit_test_setup_teardown(movements__range_roles_and_bad_input, setup,
			teardown),
		cmocka_unit_test_setup_teardown(churn__range_roles_and_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(churn__rate_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(arpa__roles_and_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(trials__hand_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(trials__roles_and_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(aging__hand_worked_invoices, setup, teardown),
		cmocka_unit_test_setup_teardown(aging__roles_and_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(revenue__hand_counted_months_and_recovery, setup,
			teardown),
		cmocka_unit_test_setup_teardown(revenue__outstanding_across_months, setup,
			teardown),
		cmocka_unit_test_setup_teardown(revenue__roles_and_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
