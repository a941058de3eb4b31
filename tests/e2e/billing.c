/*
 * The billing run end to end, on a simulated clock, through the public C
 * API: the calendar (month-end clamping, leap years, weeks, days), trials,
 * tax and its rounding, cancellation at period end and its undo, fixed
 * terms, a host that was down, concurrent runs and finalizations (gapless
 * numbers), the delete rules, voiding, preview, tenant isolation, a clock
 * that goes backwards and a period past the year 9999.
 *
 * Every invoice is checked to the cent: period, number, its line (amount,
 * quantity, unit amount, tax rate and tax) and its totals. Threads only
 * record what they got; every assertion runs on the main thread.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/customer_balance.h"
#include "tb.h"
#include "tb_billing.h"

typedef struct {
	tb_world *w;
	const char *t;                /* the tenant, made by begin() */
	billing_principal admin;
	billing_customer *cus;
	const char *cus_id;
	billing_plan *plans[16];      /* freed by teardown */
	size_t nplans;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->w = tb_world_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	size_t i;
	for (i = 0; i < f->nplans; i++)
		billing_plan_free(f->plans[i]);
	billing_customer_free(f->cus);
	tb_world_free(f->w);
	free(f);
	return 0;
}

/* Sets the clock to now, then makes the tenant and a customer (without a
 * payment method: invoices stay pending). */
static void begin(fx *f, int64_t now)
{
	f->w->now = now;
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	f->cus = tb_customer(f->w, f->t, NULL);
	f->cus_id = billing_customer_id(f->cus);
}

static billing_plan *plan(fx *f, tb_plan_spec spec)
{
	billing_plan *p = tb_plan(f->w, f->t, &spec);
	assert_true(f->nplans < sizeof(f->plans) / sizeof(f->plans[0]));
	f->plans[f->nplans++] = p;
	return p;
}

/* A plan of a new product with tax rate bp. */
static billing_plan *taxed_plan(fx *f, int64_t amount, int32_t bp)
{
	billing_product *prod = tb_product(f->w, f->t, &(tb_product_spec){ .tax_rate_bp = bp });
	billing_plan *p = plan(f, (tb_plan_spec){ .product_id = billing_product_id(prod),
		.amount = amount });
	billing_product_free(prod);
	return p;
}

/* Events of type about resource_id. */
static int64_t events_of(fx *f, const char *type, const char *resource_id)
{
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE type = '%s' "
		"AND resource_id = '%s'", type, resource_id);
	return tb_raw_count(f->w->url, sql);
}

static int64_t invoice_rows(fx *f)
{
	return tb_raw_count(f->w->url, "SELECT count(*) FROM invoices");
}

static int64_t event_rows(fx *f)
{
	return tb_raw_count(f->w->url, "SELECT count(*) FROM events");
}

/* The only invoice of sub (asserted to be the only one). */
static void only_invoice(fx *f, const billing_subscription *s, tbb_invoice *one)
{
	tbb_invoice *all = NULL;
	size_t n = tbb_invoices(f->w, f->t, billing_subscription_id(s), &all);
	assert_int_equal(n, 1);
	*one = all[0];
	one->line.description = one->line_desc;
	one->line.plan_id = one->line_plan;
	free(all);
}

static billing_subscription *cancel(fx *f, const billing_subscription *s, int at_period_end)
{
	billing_subscription *out = NULL;
	tb_assert_rc(billing_subscription_cancel(&out, f->w->ctx, &f->admin,
		billing_subscription_id(s), at_period_end, NULL), BILLING_OK);
	assert_non_null(out);
	return out;
}

/* ------------------------------------------------------------ calendar */

static void monthly_plan_from_jan_31__each_clamped_period_invoiced_once_over_two_leap_years(
	void **state)
{
	static const int dates[][3] = {
		{ 2024, 1, 31 }, { 2024, 2, 29 }, { 2024, 3, 31 }, { 2024, 4, 30 }, { 2024, 5, 31 },
		{ 2024, 6, 30 }, { 2024, 7, 31 }, { 2024, 8, 31 }, { 2024, 9, 30 }, { 2024, 10, 31 },
		{ 2024, 11, 30 }, { 2024, 12, 31 }, { 2025, 1, 31 }, { 2025, 2, 28 }, { 2025, 3, 31 },
		{ 2025, 4, 30 }, { 2025, 5, 31 }, { 2025, 6, 30 }, { 2025, 7, 31 }, { 2025, 8, 31 },
		{ 2025, 9, 30 }, { 2025, 10, 31 }, { 2025, 11, 30 }, { 2025, 12, 31 }, { 2026, 1, 31 },
		{ 2026, 2, 28 } };
	fx *f = *state;
	int64_t at[26];
	billing_subscription *s, *got;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t i, n;

	for (i = 0; i < 26; i++) {
		at[i] = tbb_ts(dates[i][0], dates[i][1], dates[i][2], 9, 30, 15);
		tbb_assert_time(tbb_period_start(at[0], BILLING_MONTH, 1, (int64_t)i), at[i]);
	}
	begin(f, at[0]);
	p = plan(f, (tb_plan_spec){ .amount = 2900, .interval = BILLING_MONTH });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	assert_int_equal(billing_subscription_status_of(s), BILLING_SUB_ACTIVE);
	tbb_assert_time(billing_subscription_anchor(s), at[0]);
	tbb_assert_time(billing_subscription_current_period_start(s), at[0]);
	tbb_assert_time(billing_subscription_current_period_end(s), at[1]);
	assert_int_equal(billing_subscription_trial_end(s), 0);
	assert_non_null(billing_subscription_latest_invoice_id(s));

	for (i = 1; i <= 24; i++) {
		/* one second early: nothing is due yet */
		f->w->now = at[i] - 1;
		rep = tbb_run(f->w);
		tbb_assert_report(rep, 0, 0, 0, 0);
		f->w->now = at[i];
		rep = tbb_run(f->w);
		tbb_assert_report(rep, 1, 1, 0, 0);
		/* again at the same time: done already */
		rep = tbb_run(f->w);
		tbb_assert_report(rep, 0, 0, 0, 0);
		got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
		assert_int_equal(billing_subscription_status_of(got), BILLING_SUB_ACTIVE);
		tbb_assert_time(billing_subscription_anchor(got), at[0]);
		tbb_assert_time(billing_subscription_current_period_start(got), at[i]);
		tbb_assert_time(billing_subscription_current_period_end(got), at[i + 1]);
		billing_subscription_free(got);
	}

	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 25);
	tbb_assert_numbers_gapless(inv, n);
	assert_string_equal(inv[0].number, "INV-000001");
	assert_string_equal(inv[24].number, "INV-000025");
	for (i = 0; i < n; i++) {
		tbb_assert_plan_invoice(&inv[i], billing_plan_id(p), at[i], at[i + 1], 1, 2900, 0);
		assert_string_equal(inv[i].subscription_id, billing_subscription_id(s));
		assert_string_equal(inv[i].customer_id, f->cus_id);
		assert_string_equal(inv[i].currency, "EUR");
		/* each was finalized when its period began */
		tbb_assert_time(inv[i].finalized_at, at[i]);
	}
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_string_equal(billing_subscription_latest_invoice_id(got), inv[24].id);
	billing_subscription_free(got);
	free(inv);
	billing_subscription_free(s);
}

static void yearly_plan_from_feb_29__feb_28_in_common_years_feb_29_in_leap_years(void **state)
{
	static const int dates[][3] = { { 2024, 2, 29 }, { 2025, 2, 28 }, { 2026, 2, 28 },
		{ 2027, 2, 28 }, { 2028, 2, 29 }, { 2029, 2, 28 }, { 2030, 2, 28 } };
	fx *f = *state;
	int64_t at[7];
	billing_subscription *s, *got;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t i, n;

	for (i = 0; i < 7; i++)
		at[i] = tbb_ts(dates[i][0], dates[i][1], dates[i][2], 0, 0, 0);
	begin(f, at[0]);
	p = plan(f, (tb_plan_spec){ .amount = 99000, .interval = BILLING_YEAR });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	tbb_assert_time(billing_subscription_current_period_end(s), at[1]);
	for (i = 1; i <= 5; i++) {
		/* the run comes three hours late: the period is still the scheduled one */
		f->w->now = at[i] + 3 * 3600;
		rep = tbb_run(f->w);
		tbb_assert_report(rep, 1, 1, 0, 0);
		got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
		tbb_assert_time(billing_subscription_current_period_start(got), at[i]);
		tbb_assert_time(billing_subscription_current_period_end(got), at[i + 1]);
		billing_subscription_free(got);
	}
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 6);
	tbb_assert_numbers_gapless(inv, n);
	for (i = 0; i < n; i++) {
		tbb_assert_plan_invoice(&inv[i], billing_plan_id(p), at[i], at[i + 1], 1, 99000, 0);
		/* finalized at the run that found it due */
		tbb_assert_time(inv[i].finalized_at, i == 0 ? at[0] : at[i] + 3 * 3600);
	}
	free(inv);
	billing_subscription_free(s);
}

static void weekly_and_daily_plans__tile_time_keeping_the_time_of_day(void **state)
{
	fx *f = *state;
	int64_t start = tbb_ts(2024, 2, 27, 23, 59, 59);
	billing_plan *daily, *weekly, *biweekly;
	billing_subscription *d, *wk, *bw;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	size_t i, n;
	int k;

	begin(f, start);
	daily = plan(f, (tb_plan_spec){ .amount = 100, .interval = BILLING_DAY });
	weekly = plan(f, (tb_plan_spec){ .amount = 700, .interval = BILLING_WEEK });
	biweekly = plan(f, (tb_plan_spec){ .amount = 1400, .interval = BILLING_WEEK,
		.interval_count = 2 });
	d = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(daily), 1);
	wk = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(weekly), 1);
	bw = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(biweekly), 1);
	tbb_assert_time(billing_subscription_current_period_end(d), tbb_ts(2024, 2, 28, 23, 59, 59));
	tbb_assert_time(billing_subscription_current_period_end(wk), tbb_ts(2024, 3, 5, 23, 59, 59));
	tbb_assert_time(billing_subscription_current_period_end(bw), tbb_ts(2024, 3, 12, 23, 59, 59));

	for (k = 1; k <= 21; k++) {
		int want = 1 + (k % 7 == 0) + (k % 14 == 0);
		f->w->now = start + k * TBB_DAY;
		rep = tbb_run(f->w);
		tbb_assert_report(rep, want, want, 0, 0);
	}

	n = tbb_invoices(f->w, f->t, billing_subscription_id(d), &inv);
	assert_int_equal(n, 22);
	for (i = 0; i < n; i++)
		tbb_assert_plan_invoice(&inv[i], billing_plan_id(daily), start + (int64_t)i * TBB_DAY,
			start + (int64_t)(i + 1) * TBB_DAY, 1, 100, 0);
	/* across the leap day */
	tbb_assert_time(inv[1].period_start, tbb_ts(2024, 2, 28, 23, 59, 59));
	tbb_assert_time(inv[2].period_start, tbb_ts(2024, 2, 29, 23, 59, 59));
	tbb_assert_time(inv[3].period_start, tbb_ts(2024, 3, 1, 23, 59, 59));
	free(inv);

	n = tbb_invoices(f->w, f->t, billing_subscription_id(wk), &inv);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		tbb_assert_plan_invoice(&inv[i], billing_plan_id(weekly),
			start + (int64_t)i * 7 * TBB_DAY, start + (int64_t)(i + 1) * 7 * TBB_DAY, 1, 700, 0);
	free(inv);

	n = tbb_invoices(f->w, f->t, billing_subscription_id(bw), &inv);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		tbb_assert_plan_invoice(&inv[i], billing_plan_id(biweekly),
			start + (int64_t)i * 14 * TBB_DAY, start + (int64_t)(i + 1) * 14 * TBB_DAY, 1,
			1400, 0);
	tbb_assert_time(inv[1].period_end, tbb_ts(2024, 3, 26, 23, 59, 59));
	free(inv);

	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 28);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	billing_subscription_free(d);
	billing_subscription_free(wk);
	billing_subscription_free(bw);
}

static void backdated_start__first_period_at_creation_the_missed_ones_at_the_next_run(
	void **state)
{
	fx *f = *state;
	int64_t start = tbb_ts(2025, 1, 5, 8, 0, 0);
	billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL, *got;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t n;

	begin(f, tbb_ts(2025, 3, 10, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	sp.customer_id = f->cus_id;
	sp.plan_id = billing_plan_id(p);
	sp.start_at = start;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &sp, NULL), BILLING_OK);
	tbb_assert_time(billing_subscription_anchor(s), start);
	tbb_assert_time(billing_subscription_current_period_start(s), start);
	tbb_assert_time(billing_subscription_current_period_end(s), tbb_ts(2025, 2, 5, 8, 0, 0));
	assert_int_equal(invoice_rows(f), 1);

	rep = tbb_run(f->w);
	tbb_assert_report(rep, 2, 2, 0, 0);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 3);
	tbb_assert_numbers_gapless(inv, n);
	tbb_assert_plan_invoice(&inv[0], billing_plan_id(p), start, tbb_ts(2025, 2, 5, 8, 0, 0),
		1, 2900, 0);
	tbb_assert_plan_invoice(&inv[1], billing_plan_id(p), tbb_ts(2025, 2, 5, 8, 0, 0),
		tbb_ts(2025, 3, 5, 8, 0, 0), 1, 2900, 0);
	tbb_assert_plan_invoice(&inv[2], billing_plan_id(p), tbb_ts(2025, 3, 5, 8, 0, 0),
		tbb_ts(2025, 4, 5, 8, 0, 0), 1, 2900, 0);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	tbb_assert_time(billing_subscription_current_period_start(got), tbb_ts(2025, 3, 5, 8, 0, 0));
	tbb_assert_time(billing_subscription_current_period_end(got), tbb_ts(2025, 4, 5, 8, 0, 0));
	billing_subscription_free(got);
	free(inv);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ trial */

static void trial__zero_invoice_paid_and_numbered_then_first_charge_at_trial_end(void **state)
{
	fx *f = *state;
	int64_t start = tbb_ts(2024, 3, 10, 12, 0, 0);
	int64_t trial_end = start + 14 * TBB_DAY;
	billing_subscription *s, *got;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t n;

	begin(f, start);
	p = plan(f, (tb_plan_spec){ .amount = 2900, .trial_days = 14 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	assert_int_equal(billing_subscription_status_of(s), BILLING_SUB_TRIALING);
	tbb_assert_time(billing_subscription_trial_end(s), trial_end);
	tbb_assert_time(billing_subscription_anchor(s), trial_end);
	tbb_assert_time(billing_subscription_current_period_start(s), start);
	tbb_assert_time(billing_subscription_current_period_end(s), trial_end);

	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 1);
	assert_string_equal(inv[0].number, "INV-000001");
	assert_string_equal(billing_subscription_latest_invoice_id(s), inv[0].id);
	assert_int_equal(inv[0].status, BILLING_INVOICE_PAID);
	tbb_assert_time(inv[0].period_start, start);
	tbb_assert_time(inv[0].period_end, trial_end);
	assert_int_equal(inv[0].subtotal, 0);
	assert_int_equal(inv[0].tax, 0);
	assert_int_equal(inv[0].total, 0);
	assert_int_equal(inv[0].amount_paid, 0);
	assert_int_equal(inv[0].amount_due, 0);
	tbb_assert_time(inv[0].finalized_at, start);
	tbb_assert_time(inv[0].paid_at, start);
	assert_int_equal(inv[0].line_count, 1);
	assert_int_equal(inv[0].line.amount, 0);
	assert_int_equal(inv[0].line.unit_amount, 0);
	assert_int_equal(inv[0].line.quantity, 1);
	assert_int_equal(inv[0].line.tax_amount, 0);
	tbb_assert_time(inv[0].line.period_start, start);
	tbb_assert_time(inv[0].line.period_end, trial_end);
	assert_int_equal(events_of(f, "invoice.paid", inv[0].id), 1);
	free(inv);

	f->w->now = trial_end - 1;
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 0, 0, 0, 0);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_int_equal(billing_subscription_status_of(got), BILLING_SUB_TRIALING);
	billing_subscription_free(got);

	f->w->now = trial_end + 7200;
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 1, 0, 0);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_int_equal(billing_subscription_status_of(got), BILLING_SUB_ACTIVE);
	tbb_assert_time(billing_subscription_trial_end(got), trial_end);
	tbb_assert_time(billing_subscription_anchor(got), trial_end);
	tbb_assert_time(billing_subscription_current_period_start(got), trial_end);
	tbb_assert_time(billing_subscription_current_period_end(got), tbb_ts(2024, 4, 24, 12, 0, 0));
	billing_subscription_free(got);

	f->w->now = tbb_ts(2024, 4, 24, 12, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 1, 0, 0);

	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 3);
	tbb_assert_numbers_gapless(inv, n);
	tbb_assert_plan_invoice(&inv[1], billing_plan_id(p), trial_end,
		tbb_ts(2024, 4, 24, 12, 0, 0), 1, 2900, 0);
	tbb_assert_time(inv[1].finalized_at, trial_end + 7200);
	tbb_assert_plan_invoice(&inv[2], billing_plan_id(p), tbb_ts(2024, 4, 24, 12, 0, 0),
		tbb_ts(2024, 5, 24, 12, 0, 0), 1, 2900, 0);
	free(inv);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ tax */

static void tax__per_line_rounded_half_away_from_zero_with_quantity(void **state)
{
	struct {
		int64_t amount;
		int32_t bp;
		int32_t quantity;
		int64_t line, tax, total;
	} cases[] = {
		{ 2900, 2000, 1, 2900, 580, 3480 },     /* 0.2 of 2900 */
		{ 2900, 2000, 3, 8700, 1740, 10440 },   /* quantity 3 */
		{ 5, 1000, 1, 5, 1, 6 },                /* 0.5 rounds up (half-even: 0) */
		{ 5, 1000, 3, 15, 2, 17 },              /* 1.5 -> 2 */
		{ 5, 1000, 5, 25, 3, 28 },              /* 2.5 -> 3 (half-even: 2) */
		{ 2900, 825, 1, 2900, 239, 3139 },      /* 239.25 -> 239 */
		{ 1, 4999, 1, 1, 0, 1 },                /* 0.4999 -> 0 */
		{ 1, 5000, 1, 1, 1, 2 },                /* 0.5 -> 1 */
	};
	fx *f = *state;
	billing_subscription *subs[8];
	billing_plan *plans[8];
	billing_run_report rep;
	tbb_invoice inv;
	size_t i;

	begin(f, tbb_ts(2025, 6, 1, 0, 0, 0));
	for (i = 0; i < 8; i++) {
		plans[i] = i > 0 && cases[i].amount == cases[i - 1].amount &&
			cases[i].bp == cases[i - 1].bp ? plans[i - 1] :
			taxed_plan(f, cases[i].amount, cases[i].bp);
		subs[i] = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(plans[i]),
			cases[i].quantity);
		only_invoice(f, subs[i], &inv);
		tbb_assert_plan_invoice(&inv, billing_plan_id(plans[i]), tbb_ts(2025, 6, 1, 0, 0, 0),
			tbb_ts(2025, 7, 1, 0, 0, 0), cases[i].quantity, cases[i].amount, cases[i].bp);
		/* and against the hand-computed figures */
		assert_int_equal(inv.line.amount, cases[i].line);
		assert_int_equal(inv.line.tax_amount, cases[i].tax);
		assert_int_equal(inv.tax, cases[i].tax);
		assert_int_equal(inv.total, cases[i].total);
		assert_int_equal(inv.amount_due, cases[i].total);
	}
	/* renewals are taxed the same way */
	f->w->now = tbb_ts(2025, 7, 1, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 8, 8, 0, 0);
	for (i = 0; i < 8; i++) {
		tbb_invoice *all = NULL;
		size_t n = tbb_invoices(f->w, f->t, billing_subscription_id(subs[i]), &all);
		assert_int_equal(n, 2);
		tbb_assert_plan_invoice(&all[1], billing_plan_id(plans[i]), tbb_ts(2025, 7, 1, 0, 0, 0),
			tbb_ts(2025, 8, 1, 0, 0, 0), cases[i].quantity, cases[i].amount, cases[i].bp);
		assert_int_equal(all[1].total, cases[i].total);
		assert_int_equal(all[1].tax, all[1].lines_tax);
		assert_int_equal(all[1].subtotal, all[1].lines_amount);
		free(all);
		billing_subscription_free(subs[i]);
	}
}

/* ------------------------------------------------------------ cancellation */

static void cancel_at_period_end_then_undo__keeps_renewing(void **state)
{
	fx *f = *state;
	int64_t start = tbb_ts(2025, 1, 15, 0, 0, 0);
	billing_subscription_update_params up = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_subscription *s, *c, *u = NULL, *got;
	billing_invoice *pv = NULL;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t n;

	begin(f, start);
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	f->w->now = tbb_ts(2025, 1, 20, 0, 0, 0);
	c = cancel(f, s, 1);
	assert_int_equal(billing_subscription_status_of(c), BILLING_SUB_ACTIVE);
	assert_int_equal(billing_subscription_cancel_at_period_end(c), 1);
	tbb_assert_time(billing_subscription_canceled_at(c), tbb_ts(2025, 1, 20, 0, 0, 0));
	assert_int_equal(billing_subscription_ended_at(c), 0);
	tb_assert_rc(billing_invoice_preview(&pv, f->w->ctx, &f->admin, billing_subscription_id(s)),
		BILLING_ECONFLICT);
	assert_null(pv);

	up.fields = BILLING_SUBSCRIPTION_CANCEL_AT_PERIOD_END;
	up.cancel_at_period_end = 0;
	tb_assert_rc(billing_subscription_update(&u, f->w->ctx, &f->admin,
		billing_subscription_id(s), &up, NULL), BILLING_OK);
	assert_int_equal(billing_subscription_status_of(u), BILLING_SUB_ACTIVE);
	assert_int_equal(billing_subscription_cancel_at_period_end(u), 0);
	assert_int_equal(billing_subscription_canceled_at(u), 0);

	f->w->now = tbb_ts(2025, 2, 15, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 1, 0, 0);
	f->w->now = tbb_ts(2025, 3, 15, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 1, 0, 0);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_int_equal(billing_subscription_status_of(got), BILLING_SUB_ACTIVE);
	assert_int_equal(billing_subscription_ended_at(got), 0);
	tbb_assert_time(billing_subscription_current_period_end(got), tbb_ts(2025, 4, 15, 0, 0, 0));

	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 3);
	tbb_assert_numbers_gapless(inv, n);
	tbb_assert_plan_invoice(&inv[1], billing_plan_id(p), tbb_ts(2025, 2, 15, 0, 0, 0),
		tbb_ts(2025, 3, 15, 0, 0, 0), 1, 2900, 0);
	tbb_assert_plan_invoice(&inv[2], billing_plan_id(p), tbb_ts(2025, 3, 15, 0, 0, 0),
		tbb_ts(2025, 4, 15, 0, 0, 0), 1, 2900, 0);
	free(inv);
	billing_subscription_free(got);
	billing_subscription_free(u);
	billing_subscription_free(c);
	billing_subscription_free(s);
}

static void cancel_at_period_end__ends_at_the_period_end_not_the_run_time_and_bills_no_more(
	void **state)
{
	fx *f = *state;
	billing_subscription *s, *c, *got;
	billing_run_report rep;
	billing_plan *p;
	int64_t events;

	begin(f, tbb_ts(2025, 1, 15, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	f->w->now = tbb_ts(2025, 1, 20, 0, 0, 0);
	c = cancel(f, s, 1);
	billing_subscription_free(c);

	/* the host runs five days after the period ended */
	f->w->now = tbb_ts(2025, 2, 20, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 0, 0, 0);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_int_equal(billing_subscription_status_of(got), BILLING_SUB_CANCELED);
	tbb_assert_time(billing_subscription_ended_at(got), tbb_ts(2025, 2, 15, 0, 0, 0));
	tbb_assert_time(billing_subscription_canceled_at(got), tbb_ts(2025, 1, 20, 0, 0, 0));
	assert_int_equal(invoice_rows(f), 1);
	assert_int_equal(events_of(f, "subscription.canceled", billing_subscription_id(s)), 1);
	billing_subscription_free(got);

	events = event_rows(f);
	f->w->now = tbb_ts(2025, 3, 15, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 0, 0, 0, 0);
	f->w->now = tbb_ts(2025, 6, 15, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 0, 0, 0, 0);
	assert_int_equal(invoice_rows(f), 1);
	assert_int_equal(event_rows(f), events);
	billing_subscription_free(s);
}

static void cancel_now__ends_now_without_an_invoice(void **state)
{
	fx *f = *state;
	billing_subscription *s, *c, *got;
	billing_run_report rep;
	billing_plan *p;

	begin(f, tbb_ts(2025, 1, 15, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	f->w->now = tbb_ts(2025, 1, 20, 6, 30, 0);
	c = cancel(f, s, 0);
	assert_int_equal(billing_subscription_status_of(c), BILLING_SUB_CANCELED);
	tbb_assert_time(billing_subscription_ended_at(c), tbb_ts(2025, 1, 20, 6, 30, 0));
	tbb_assert_time(billing_subscription_canceled_at(c), tbb_ts(2025, 1, 20, 6, 30, 0));
	assert_int_equal(billing_subscription_cancel_at_period_end(c), 0);
	assert_int_equal(invoice_rows(f), 1);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_int_equal(billing_subscription_status_of(got), BILLING_SUB_CANCELED);
	tbb_assert_time(billing_subscription_ended_at(got), tbb_ts(2025, 1, 20, 6, 30, 0));
	billing_subscription_free(got);

	f->w->now = tbb_ts(2025, 5, 15, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 0, 0, 0, 0);
	assert_int_equal(invoice_rows(f), 1);
	billing_subscription_free(c);
	billing_subscription_free(s);
}

static void cancel_at_period_end_during_a_trial__ends_at_trial_end_without_a_charge(
	void **state)
{
	fx *f = *state;
	int64_t start = tbb_ts(2025, 5, 1, 0, 0, 0), trial_end = start + 14 * TBB_DAY;
	billing_subscription *s, *c, *got;
	billing_run_report rep;
	billing_plan *p;

	begin(f, start);
	p = plan(f, (tb_plan_spec){ .amount = 2900, .trial_days = 14 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	f->w->now = start + TBB_DAY;
	c = cancel(f, s, 1);
	assert_int_equal(billing_subscription_status_of(c), BILLING_SUB_TRIALING);
	billing_subscription_free(c);
	f->w->now = trial_end + 3600;
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 0, 0, 0);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_int_equal(billing_subscription_status_of(got), BILLING_SUB_CANCELED);
	tbb_assert_time(billing_subscription_ended_at(got), trial_end);
	tbb_assert_time(billing_subscription_canceled_at(got), start + TBB_DAY);
	billing_subscription_free(got);
	assert_int_equal(invoice_rows(f), 1);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ fixed term */

static void fixed_term__three_invoices_then_expired_at_the_end_of_period_3(void **state)
{
	fx *f = *state;
	int64_t at[5];
	billing_subscription *s, *got;
	billing_invoice *pv = NULL;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t i, n;

	for (i = 0; i < 5; i++)
		at[i] = tbb_ts(2025, 1 + (int)i, 1, 0, 0, 0);
	begin(f, at[0]);
	p = plan(f, (tb_plan_spec){ .amount = 1500, .term_count = 3 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 2);
	for (i = 1; i <= 2; i++) {
		f->w->now = at[i];
		rep = tbb_run(f->w);
		tbb_assert_report(rep, 1, 1, 0, 0);
	}
	/* in the last period there is no next invoice */
	tb_assert_rc(billing_invoice_preview(&pv, f->w->ctx, &f->admin, billing_subscription_id(s)),
		BILLING_ECONFLICT);
	f->w->now = at[3] + 60;
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 0, 0, 0);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_int_equal(billing_subscription_status_of(got), BILLING_SUB_EXPIRED);
	tbb_assert_time(billing_subscription_ended_at(got), at[3]);
	billing_subscription_free(got);

	f->w->now = at[4];
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 0, 0, 0, 0);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 3);
	tbb_assert_numbers_gapless(inv, n);
	for (i = 0; i < n; i++)
		tbb_assert_plan_invoice(&inv[i], billing_plan_id(p), at[i], at[i + 1], 2, 1500, 0);
	free(inv);
	/* an expired subscription no longer holds the plan */
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, billing_plan_id(p), 0), BILLING_OK);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ catching up */

static void host_down_90_days__one_run_invoices_each_missed_period_once_in_order(void **state)
{
	fx *f = *state;
	int64_t start = tbb_ts(2025, 1, 1, 0, 0, 0);
	billing_subscription *m, *wk, *got;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *monthly, *weekly;
	size_t i, n;

	begin(f, start);
	monthly = plan(f, (tb_plan_spec){ .amount = 2900 });
	weekly = plan(f, (tb_plan_spec){ .amount = 700, .interval = BILLING_WEEK });
	m = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(monthly), 1);
	wk = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(weekly), 1);

	/* 90 days and 12 hours later: 3 monthly and 12 weekly periods began */
	f->w->now = start + 90 * TBB_DAY + 12 * 3600;
	tbb_assert_time(start + 90 * TBB_DAY, tbb_ts(2025, 4, 1, 0, 0, 0));
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 15, 15, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 0, 0, 0, 0);

	n = tbb_invoices(f->w, f->t, billing_subscription_id(m), &inv);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++) {
		tbb_assert_plan_invoice(&inv[i], billing_plan_id(monthly),
			tbb_ts(2025, 1 + (int)i, 1, 0, 0, 0), tbb_ts(2025, 2 + (int)i, 1, 0, 0, 0), 1,
			2900, 0);
		if (i > 0)    /* in order: a later period has a later number */
			assert_true(strcmp(inv[i - 1].number, inv[i].number) < 0);
	}
	free(inv);
	n = tbb_invoices(f->w, f->t, billing_subscription_id(wk), &inv);
	assert_int_equal(n, 13);
	for (i = 0; i < n; i++)
		tbb_assert_plan_invoice(&inv[i], billing_plan_id(weekly),
			start + (int64_t)i * 7 * TBB_DAY, start + (int64_t)(i + 1) * 7 * TBB_DAY, 1, 700, 0);
	free(inv);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 17);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(m));
	tbb_assert_time(billing_subscription_current_period_start(got), tbb_ts(2025, 4, 1, 0, 0, 0));
	tbb_assert_time(billing_subscription_current_period_end(got), tbb_ts(2025, 5, 1, 0, 0, 0));
	billing_subscription_free(got);
	billing_subscription_free(m);
	billing_subscription_free(wk);
}

/* run.h: an item is one period of a subscription; remaining counts the
 * work items still due, a subscription once however far behind it is. */
static void run_with_max_items__does_that_many_periods_and_reports_what_is_left(
	void **state)
{
	fx *f = *state;
	int64_t start = tbb_ts(2025, 1, 1, 0, 0, 0);
	billing_run_limits lim = BILLING_RUN_LIMITS_INIT;
	billing_subscription *m, *wk;
	billing_run_report rep;
	billing_plan *monthly, *weekly;

	begin(f, start);
	monthly = plan(f, (tb_plan_spec){ .amount = 2900 });
	weekly = plan(f, (tb_plan_spec){ .amount = 700, .interval = BILLING_WEEK });
	m = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(monthly), 1);
	wk = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(weekly), 1);
	billing_subscription_free(m);
	billing_subscription_free(wk);
	f->w->now = start + 90 * TBB_DAY + 12 * 3600;   /* 3 + 12 periods due */
	lim.max_items = 5;
	memset(&rep, 0, sizeof(rep));
	tb_assert_rc(billing_run_due(f->w->ctx, 0, &lim, &rep), BILLING_OK);
	assert_int_equal(rep.processed, 5);
	assert_int_equal(rep.invoiced, 5);
	assert_int_equal(invoice_rows(f), 2 + 5);
	/* 5 of 15 periods done: the weekly one (12 due) is still behind, and the
	 * monthly one too unless all 5 went to it (they go earliest first). */
	assert_true(rep.remaining >= 1 && rep.remaining <= 2);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 10, 10, 0, 0);
	assert_int_equal(invoice_rows(f), 2 + 15);
}

/* ------------------------------------------------------------ concurrency */

typedef struct {
	billing_ctx *ctx;
	pthread_barrier_t *go;
	int rc;
	billing_run_report rep;
	char msg[256];
} runner;

static void *run_thread(void *arg)
{
	runner *r = arg;
	memset(&r->rep, 0, sizeof(r->rep));
	pthread_barrier_wait(r->go);
	r->rc = billing_run_due(r->ctx, 0, NULL, &r->rep);
	snprintf(r->msg, sizeof(r->msg), "%s", billing_error_last()->message ?
		billing_error_last()->message : "");
	return NULL;
}

static void two_concurrent_runs__make_each_invoice_once_numbered_without_gap(void **state)
{
	enum { SUBS = 50, ROUNDS = 3 };
	fx *f = *state;
	int64_t start = tbb_ts(2025, 1, 1, 0, 0, 0);
	billing_subscription *subs[SUBS];
	pthread_barrier_t go;
	tbb_invoice *inv = NULL;
	runner r[2];
	billing_plan *p;
	char sql[256];
	size_t i, n;
	int round, k;

	begin(f, start);
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	for (i = 0; i < SUBS; i++)
		subs[i] = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	for (k = 0; k < 2; k++) {
		r[k].ctx = tb_world_open_again(f->w);
		r[k].go = &go;
	}
	for (round = 1; round <= ROUNDS; round++) {
		pthread_t th[2];
		f->w->now = tbb_period_start(start, BILLING_MONTH, 1, round);
		for (k = 0; k < 2; k++)
			assert_int_equal(pthread_create(&th[k], NULL, run_thread, &r[k]), 0);
		for (k = 0; k < 2; k++)
			pthread_join(th[k], NULL);
		for (k = 0; k < 2; k++) {
			if (r[k].rc != BILLING_OK)
				fail_msg("run %d of round %d: %s: %s", k, round,
					billing_error_name(r[k].rc), r[k].msg);
			assert_int_equal(r[k].rep.failed, 0);
			assert_int_equal(r[k].rep.processed, r[k].rep.invoiced);
		}
		assert_int_equal(r[0].rep.processed + r[1].rep.processed, SUBS);
		assert_int_equal(r[0].rep.invoiced + r[1].rep.invoiced, SUBS);
		assert_int_equal(invoice_rows(f), SUBS * (round + 1));
		assert_int_equal(tb_raw_count(f->w->url, "SELECT count(DISTINCT number) FROM invoices"),
			SUBS * (round + 1));
		assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM (SELECT subscription_id, "
			"period_start FROM invoices GROUP BY subscription_id, period_start "
			"HAVING count(*) > 1) d"), 0);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT subscription_id FROM invoices "
			"GROUP BY subscription_id HAVING count(*) = %d) d", round + 1);
		assert_int_equal(tb_raw_count(f->w->url, sql), SUBS);
	}
	for (k = 0; k < 2; k++)
		billing_ctx_close(r[k].ctx);
	pthread_barrier_destroy(&go);

	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, SUBS * (ROUNDS + 1));
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	for (i = 0; i < SUBS; i++) {
		size_t j;
		n = tbb_invoices(f->w, f->t, billing_subscription_id(subs[i]), &inv);
		assert_int_equal(n, ROUNDS + 1);
		for (j = 0; j < n; j++)
			tbb_assert_plan_invoice(&inv[j], billing_plan_id(p),
				tbb_period_start(start, BILLING_MONTH, 1, (int64_t)j),
				tbb_period_start(start, BILLING_MONTH, 1, (int64_t)j + 1), 1, 2900, 0);
		free(inv);
		billing_subscription_free(subs[i]);
	}
}

/* One call with four worker threads, on more renewals than one batch holds:
 * every subscription renewed once per period, numbers without a gap. */
static void run_workers__four_threads_of_one_call_renew_each_period_once(void **state)
{
	enum { SUBS = 230, ROUNDS = 2 };
	fx *f = *state;
	int64_t start = tbb_ts(2025, 1, 1, 0, 0, 0);
	billing_run_limits lim = BILLING_RUN_LIMITS_INIT;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t i, n;
	int round;

	begin(f, start);
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	for (i = 0; i < SUBS; i++)
		billing_subscription_free(tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1));
	lim.workers = 4;
	lim.max_items = 10000;
	for (round = 1; round <= ROUNDS; round++) {
		f->w->now = tbb_period_start(start, BILLING_MONTH, 1, round);
		memset(&rep, 0, sizeof(rep));
		tb_assert_rc(billing_run_due(f->w->ctx, 0, &lim, &rep), BILLING_OK);
		assert_int_equal(rep.failed, 0);
		assert_int_equal(rep.processed, SUBS);
		assert_int_equal(rep.invoiced, SUBS);
		assert_int_equal(rep.remaining, 0);
		assert_int_equal(invoice_rows(f), SUBS * (round + 1));
		assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM (SELECT subscription_id, "
			"period_start FROM invoices GROUP BY subscription_id, period_start "
			"HAVING count(*) > 1) d"), 0);
	}
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, SUBS * (ROUNDS + 1));
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	/* Three events per renewal, as one at a time: invoice.created,
	 * invoice.finalized, subscription.updated. */
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM events WHERE type = "
		"'subscription.updated'"), SUBS * ROUNDS);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM events WHERE type = "
		"'invoice.finalized'"), SUBS * (ROUNDS + 1));
	/* Too many workers is refused before anything is done. */
	lim.workers = 65;
	assert_int_equal(billing_run_due(f->w->ctx, 0, &lim, &rep), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "workers");
}

/* The insert of one renewal's invoice fails (a trigger rejects it): in a
 * batch the invoices are written together at its end (one statement per
 * table), so the whole batch fails there and is rolled back; its renewals
 * are then done one by one, the failing one set aside, every other renewed
 * exactly once with its events, numbers without a gap. Once the fault is
 * gone, the next run renews the one set aside, once. */
static void run_batch__a_renewal_whose_insert_fails_is_set_aside_and_the_rest_renewed_once(void **state)
{
	enum { SUBS = 12, BAD = 7 };
	fx *f = *state;
	int64_t start = tbb_ts(2025, 1, 1, 0, 0, 0);
	billing_subscription *subs[SUBS];
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	char sql[512];
	size_t i, n;
	bool pg = strcmp(tb_backend(), "sqlite") != 0;

	begin(f, start);
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	for (i = 0; i < SUBS; i++)
		subs[i] = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	if (pg)
		snprintf(sql, sizeof(sql), "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql "
			"AS $$ BEGIN IF NEW.subscription_id = '%s' THEN RAISE EXCEPTION 'injected'; "
			"END IF; RETURN NEW; END $$; CREATE TRIGGER boom BEFORE INSERT ON invoices "
			"FOR EACH ROW EXECUTE FUNCTION boom()", billing_subscription_id(subs[BAD]));
	else
		snprintf(sql, sizeof(sql), "CREATE TRIGGER boom BEFORE INSERT ON invoices "
			"WHEN NEW.subscription_id = '%s' BEGIN SELECT RAISE(ABORT, 'injected'); END",
			billing_subscription_id(subs[BAD]));
	tb_raw_exec(f->w->url, sql);
	f->w->now = tbb_period_start(start, BILLING_MONTH, 1, 1);
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 1);
	assert_int_equal(rep.processed, SUBS - 1);
	assert_int_equal(rep.invoiced, SUBS - 1);
	for (i = 0; i < SUBS; i++) {
		n = tbb_invoices(f->w, f->t, billing_subscription_id(subs[i]), &inv);
		assert_int_equal(n, i == BAD ? 1 : 2);
		free(inv);
	}
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 2 * SUBS - 1);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM events WHERE type = "
		"'subscription.updated'"), SUBS - 1);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM events WHERE type = "
		"'invoice.created'"), 2 * SUBS - 1);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM invoice_lines"),
		2 * SUBS - 1);

	tb_raw_exec(f->w->url, pg ? "DROP TRIGGER boom ON invoices; DROP FUNCTION boom()" :
		"DROP TRIGGER boom");
	f->w->now += 61;
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 0);
	assert_int_equal(rep.invoiced, 1);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 2 * SUBS);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM (SELECT subscription_id, "
		"period_start FROM invoices GROUP BY subscription_id, period_start "
		"HAVING count(*) > 1) d"), 0);
	for (i = 0; i < SUBS; i++)
		billing_subscription_free(subs[i]);
}

/* A batch of renewals where some subscriptions have lines waiting for
 * their next invoice (prorations of a mid-period change) and the others
 * none: each renewal invoice carries exactly its own subscription's
 * waiting lines, which are then gone; the others have the plan's line
 * alone. (The batch reads the tenant's waiting lines once and skips the
 * per-renewal read for the subscriptions that have none.) */
static void run_batch__renewals_take_their_own_pending_lines_and_no_others(void **state)
{
	enum { SUBS = 9 };
	fx *f = *state;
	billing_subscription_change_params ch = BILLING_SUBSCRIPTION_CHANGE_INIT;
	billing_subscription *subs[SUBS], *u;
	tbb_invoice *inv = NULL;
	billing_run_report rep;
	billing_plan *basic, *pro;
	size_t i, n;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	basic = plan(f, (tb_plan_spec){ .amount = 2800 });
	pro = plan(f, (tb_plan_spec){ .amount = 5600 });
	for (i = 0; i < SUBS; i++)
		subs[i] = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(basic), 1);
	f->w->now = tbb_ts(2025, 1, 16, 0, 0, 12);
	ch.plan_id = billing_plan_id(pro);
	ch.proration = BILLING_PRORATE_CREATE;
	for (i = 1; i < SUBS; i += 3) {
		u = NULL;
		tb_assert_rc(billing_subscription_change_plan(&u, f->w->ctx, &f->admin,
			billing_subscription_id(subs[i]), &ch, NULL), BILLING_OK);
		billing_subscription_free(u);
	}
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM pending_lines"), 2 * 3);
	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 30);
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 0);
	assert_int_equal(rep.invoiced, SUBS);
	for (i = 0; i < SUBS; i++) {
		n = tbb_invoices(f->w, f->t, billing_subscription_id(subs[i]), &inv);
		assert_int_equal(n, 2);
		if (i % 3 == 1) {
			/* pro's February, then -basic +pro for January's second half */
			assert_int_equal(inv[1].line_count, 3);
			assert_string_equal(inv[1].line.plan_id, billing_plan_id(pro));
		} else {
			assert_int_equal(inv[1].line_count, 1);
			assert_string_equal(inv[1].line.plan_id, billing_plan_id(basic));
			assert_int_equal(inv[1].total, 2800);
		}
		free(inv);
	}
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM pending_lines"), 0);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM invoice_lines"),
		SUBS * 2 + 2 * 3);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	for (i = 0; i < SUBS; i++)
		billing_subscription_free(subs[i]);
}

/* A batch of renewals where some customers have a credit balance: each
 * renewal invoice of theirs takes the credit (amountDue lower, a balance
 * transaction pointing at the invoice), the others are charged in full;
 * nothing fails or is done twice (the batch writes the invoices it has so
 * far before a balance transaction that refers to one). */
static void run_batch__customers_with_a_balance_are_renewed_with_it(void **state)
{
	enum { SUBS = 6 };
	fx *f = *state;
	billing_customer *cus[SUBS];
	billing_subscription *subs[SUBS];
	billing_balance_transaction *t;
	tbb_invoice *inv = NULL;
	billing_run_report rep;
	billing_plan *p;
	size_t i, n;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	for (i = 0; i < SUBS; i++) {
		cus[i] = tb_customer(f->w, f->t, NULL);
		subs[i] = tbb_subscribe(f->w, f->t, billing_customer_id(cus[i]), billing_plan_id(p), 1);
	}
	for (i = 1; i < SUBS; i += 3) {
		billing_balance_adjustment_params a = BILLING_BALANCE_ADJUSTMENT_PARAMS_INIT;
		a.customer_id = billing_customer_id(cus[i]);
		a.amount = -1000;
		a.currency = "EUR";
		a.description = "Goodwill";
		t = NULL;
		tb_assert_rc(billing_customer_balance_adjust(&t, f->w->ctx, &f->admin, &a, NULL),
			BILLING_OK);
		billing_balance_transaction_free(t);
	}
	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 30);
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 0);
	assert_int_equal(rep.invoiced, SUBS);
	for (i = 0; i < SUBS; i++) {
		n = tbb_invoices(f->w, f->t, billing_subscription_id(subs[i]), &inv);
		assert_int_equal(n, 2);
		assert_int_equal(inv[1].total, 2900);
		assert_int_equal(inv[1].amount_due, i % 3 == 1 ? 1900 : 2900);
		free(inv);
	}
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM "
		"customer_balance_transactions WHERE invoice_id IS NOT NULL"), 2);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 2 * SUBS);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	for (i = 0; i < SUBS; i++) {
		billing_subscription_free(subs[i]);
		billing_customer_free(cus[i]);
	}
}

/* A setup fee (an invoice item of the subscription, #20 item 2) added
 * after the first invoice waits for the subscription's next one: in a
 * batch of the billing run, each renewal invoice carries its own
 * subscription's items after the plan's line and no other's, the items
 * then name that invoice, and nothing fails or is renewed twice (the
 * batch writes the invoices it has so far before an item that refers to
 * one, as for a balance transaction). A second run adds nothing. */
static void run_batch__invoice_items_land_on_their_subscriptions_renewal(void **state)
{
	enum { SUBS = 9 };
	fx *f = *state;
	billing_subscription *subs[SUBS];
	tbb_invoice *inv = NULL;
	billing_run_report rep;
	billing_plan *p;
	char in[512], *out;
	size_t i, n;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	for (i = 0; i < SUBS; i++)
		subs[i] = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	f->w->now = tbb_ts(2025, 1, 10, 0, 0, 0);
	for (i = 1; i < SUBS; i += 3) {
		/* two items on each third subscription */
		snprintf(in, sizeof(in), "{\"customerId\":\"%s\",\"subscriptionId\":\"%s\","
			"\"currency\":\"EUR\",\"description\":\"Setup fee\",\"amount\":%zu}",
			f->cus_id, billing_subscription_id(subs[i]), 1000 + i);
		out = NULL;
		tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "invoice_items.create", in,
			strlen(in), NULL), BILLING_OK);
		billing_free(out);
		snprintf(in, sizeof(in), "{\"customerId\":\"%s\",\"subscriptionId\":\"%s\","
			"\"currency\":\"EUR\",\"description\":\"Onboarding\",\"unitAmount\":250,"
			"\"quantity\":2}", f->cus_id, billing_subscription_id(subs[i]));
		out = NULL;
		tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "invoice_items.create", in,
			strlen(in), NULL), BILLING_OK);
		billing_free(out);
	}
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM invoice_items "
		"WHERE invoice_id IS NULL"), 2 * 3);
	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 30);
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 0);
	assert_int_equal(rep.invoiced, SUBS);
	/* renewed in the batch, not one by one after it failed */
	assert_int_equal(f->w->batch_fallbacks, 0);
	for (i = 0; i < SUBS; i++) {
		n = tbb_invoices(f->w, f->t, billing_subscription_id(subs[i]), &inv);
		assert_int_equal(n, 2);
		assert_string_equal(inv[1].line.plan_id, billing_plan_id(p));
		if (i % 3 == 1) {
			assert_int_equal(inv[1].line_count, 3);
			assert_int_equal(inv[1].total, 2900 + (int64_t)(1000 + i) + 500);
			snprintf(in, sizeof(in), "SELECT count(*) FROM invoice_items WHERE "
				"invoice_id = '%s' AND subscription_id = '%s'", inv[1].id,
				billing_subscription_id(subs[i]));
			assert_int_equal(tb_raw_count(f->w->url, in), 2);
		} else {
			assert_int_equal(inv[1].line_count, 1);
			assert_int_equal(inv[1].total, 2900);
		}
		free(inv);
	}
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM invoice_items "
		"WHERE invoice_id IS NULL"), 0);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM events WHERE type = "
		"'invoice_item.updated'"), 2 * 3);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 2 * SUBS);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	f->w->now += 60;
	rep = tbb_run(f->w);
	assert_int_equal(rep.invoiced, 0);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM invoice_lines"),
		SUBS * 2 + 2 * 3);
	for (i = 0; i < SUBS; i++)
		billing_subscription_free(subs[i]);
}

/* A renewal that fails inside a batch (its next period would run past the
 * year 9999) rolls the batch back; the others are then renewed once each
 * and the bad one alone is set aside for a minute. */
static void run_batch__a_failing_renewal_is_set_aside_and_the_rest_renewed_once(void **state)
{
	enum { SUBS = 12, BAD = 5 };
	fx *f = *state;
	int64_t start = tbb_ts(2025, 1, 1, 0, 0, 0);
	billing_subscription *subs[SUBS];
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	char sql[256];
	size_t i, n;

	begin(f, start);
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	for (i = 0; i < SUBS; i++)
		subs[i] = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	snprintf(sql, sizeof(sql), "UPDATE subscriptions SET anchor = %lld WHERE id = '%s'",
		(long long)tbb_ts(9999, 12, 1, 0, 0, 0), billing_subscription_id(subs[BAD]));
	tb_raw_exec(f->w->url, sql);
	f->w->now = tbb_period_start(start, BILLING_MONTH, 1, 1);
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 1);
	assert_int_equal(rep.processed, SUBS - 1);
	assert_int_equal(rep.invoiced, SUBS - 1);
	for (i = 0; i < SUBS; i++) {
		n = tbb_invoices(f->w, f->t, billing_subscription_id(subs[i]), &inv);
		assert_int_equal(n, i == BAD ? 1 : 2);
		free(inv);
	}
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 2 * SUBS - 1);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM due_work WHERE resource_id = '%s' AND "
		"due_at = %lld", billing_subscription_id(subs[BAD]), (long long)(f->w->now + 60));
	assert_int_equal(tb_raw_count(f->w->url, sql), 1);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM events WHERE type = "
		"'subscription.updated'"), SUBS - 1);
	for (i = 0; i < SUBS; i++)
		billing_subscription_free(subs[i]);
}

typedef struct {
	billing_ctx *ctx;
	pthread_barrier_t *go;
	const char *tenant, *customer_id, *plan_id;
	int ok, failed;
	char msg[256];
} creator;

static void *create_thread(void *arg)
{
	creator *c = arg;
	billing_principal who = tb_admin(c->tenant);
	int i;
	pthread_barrier_wait(c->go);
	for (i = 0; i < 10; i++) {
		billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
		billing_subscription *s = NULL;
		int rc;
		p.customer_id = c->customer_id;
		p.plan_id = c->plan_id;
		rc = billing_subscription_create(&s, c->ctx, &who, &p, NULL);
		if (rc == BILLING_OK) {
			c->ok++;
		} else {
			c->failed++;
			snprintf(c->msg, sizeof(c->msg), "%s: %s", billing_error_name(rc),
				billing_error_last()->message);
		}
		billing_subscription_free(s);
	}
	return NULL;
}

static void concurrent_finalizations__four_threads_get_numbers_1_to_n(void **state)
{
	fx *f = *state;
	pthread_barrier_t go;
	pthread_t th[4];
	creator c[4];
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t n;
	int k;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	assert_int_equal(pthread_barrier_init(&go, NULL, 4), 0);
	for (k = 0; k < 4; k++) {
		memset(&c[k], 0, sizeof(c[k]));
		c[k].ctx = tb_world_open_again(f->w);
		c[k].go = &go;
		c[k].tenant = f->t;
		c[k].customer_id = f->cus_id;
		c[k].plan_id = billing_plan_id(p);
		assert_int_equal(pthread_create(&th[k], NULL, create_thread, &c[k]), 0);
	}
	for (k = 0; k < 4; k++)
		pthread_join(th[k], NULL);
	for (k = 0; k < 4; k++) {
		billing_ctx_close(c[k].ctx);
		if (c[k].failed)
			fail_msg("thread %d: %d creates failed, last %s", k, c[k].failed, c[k].msg);
		assert_int_equal(c[k].ok, 10);
	}
	pthread_barrier_destroy(&go);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 40);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(DISTINCT number) FROM invoices"), 40);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM subscriptions"), 40);
}

/* ------------------------------------------------------------ delete rules */

static void plan_delete__refused_while_a_live_subscription_uses_it(void **state)
{
	fx *f = *state;
	billing_subscription *s, *c;
	billing_plan *p, *got = NULL;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, billing_plan_id(p), 0),
		BILLING_ECONFLICT);
	tbb_assert_reason("referenced");
	/* still live while it waits for its period end */
	c = cancel(f, s, 1);
	billing_subscription_free(c);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, billing_plan_id(p), 0),
		BILLING_ECONFLICT);
	tbb_assert_reason("referenced");
	tb_assert_rc(billing_plan_get(&got, f->w->ctx, &f->admin, billing_plan_id(p)), BILLING_OK);
	billing_plan_free(got);
	got = NULL;

	c = cancel(f, s, 0);
	billing_subscription_free(c);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, billing_plan_id(p), 0), BILLING_OK);
	tb_assert_rc(billing_plan_get(&got, f->w->ctx, &f->admin, billing_plan_id(p)),
		BILLING_ENOTFOUND);
	billing_subscription_free(s);
}

static void customer_delete__refused_once_it_has_a_subscription(void **state)
{
	fx *f = *state;
	billing_subscription *s, *c;
	billing_customer *got = NULL;
	billing_plan *p;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->admin, f->cus_id, 0), BILLING_ECONFLICT);
	tbb_assert_reason("referenced");
	c = cancel(f, s, 0);
	billing_subscription_free(c);
	/* its invoices still reference it */
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->admin, f->cus_id, 0), BILLING_ECONFLICT);
	tbb_assert_reason("referenced");
	tb_assert_rc(billing_customer_get(&got, f->w->ctx, &f->admin, f->cus_id), BILLING_OK);
	billing_customer_free(got);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ void */

static void invoice_void__pending_once_never_paid(void **state)
{
	fx *f = *state;
	billing_subscription *s, *trial;
	billing_invoice *v = NULL, *again = NULL, *got = NULL;
	billing_plan *p, *tp;
	tbb_invoice pending, paid;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	tp = plan(f, (tb_plan_spec){ .amount = 2900, .trial_days = 7 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	trial = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(tp), 1);
	only_invoice(f, s, &pending);
	only_invoice(f, trial, &paid);
	assert_int_equal(pending.status, BILLING_INVOICE_PENDING);
	assert_int_equal(paid.status, BILLING_INVOICE_PAID);

	f->w->now = tbb_ts(2025, 1, 2, 0, 0, 0);
	tb_assert_rc(billing_invoice_void(&v, f->w->ctx, &f->admin, pending.id, NULL), BILLING_OK);
	assert_int_equal(billing_invoice_status_of(v), BILLING_INVOICE_VOID);
	tbb_assert_time(billing_invoice_voided_at(v), tbb_ts(2025, 1, 2, 0, 0, 0));
	assert_string_equal(billing_invoice_number(v), pending.number);
	assert_int_equal(billing_invoice_total(v), 2900);
	assert_int_equal(events_of(f, "invoice.voided", pending.id), 1);
	tb_assert_rc(billing_invoice_get(&got, f->w->ctx, &f->admin, pending.id), BILLING_OK);
	assert_int_equal(billing_invoice_status_of(got), BILLING_INVOICE_VOID);
	billing_invoice_free(got);

	tb_assert_rc(billing_invoice_void(&again, f->w->ctx, &f->admin, pending.id, NULL),
		BILLING_ECONFLICT);
	tbb_assert_reason("invalid_transition");
	assert_null(again);
	assert_int_equal(events_of(f, "invoice.voided", pending.id), 1);

	tb_assert_rc(billing_invoice_void(&again, f->w->ctx, &f->admin, paid.id, NULL),
		BILLING_ECONFLICT);
	tbb_assert_reason("invalid_transition");
	assert_null(again);
	tb_assert_rc(billing_invoice_get(&got, f->w->ctx, &f->admin, paid.id), BILLING_OK);
	assert_int_equal(billing_invoice_status_of(got), BILLING_INVOICE_PAID);
	assert_int_equal(billing_invoice_voided_at(got), 0);
	billing_invoice_free(got);
	assert_int_equal(events_of(f, "invoice.voided", paid.id), 0);

	tb_assert_rc(billing_invoice_void(&again, f->w->ctx, &f->admin, "in_nosuchinvoice", NULL),
		BILLING_ENOTFOUND);
	billing_invoice_free(v);
	billing_subscription_free(s);
	billing_subscription_free(trial);
}

/* ------------------------------------------------------------ preview */

/* A downgrade at the period end: nothing is prorated, the plan stays until
 * the end (a plan that is about to be used cannot be deleted), the renewal
 * bills the new plan, and going back to the current plan drops it. */
static void change_plan_at_period_end__renews_on_the_new_plan(void **state)
{
	fx *f = *state;
	billing_subscription_change_params ch = BILLING_SUBSCRIPTION_CHANGE_INIT;
	billing_subscription *s, *u = NULL;
	billing_invoice *pv = NULL;
	billing_plan *pro, *basic;
	tbb_invoice *inv = NULL;
	size_t n;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	pro = plan(f, (tb_plan_spec){ .amount = 6200 });
	basic = plan(f, (tb_plan_spec){ .amount = 3100 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(pro), 1);
	f->w->now = tbb_ts(2025, 1, 11, 0, 0, 0);
	ch.plan_id = billing_plan_id(basic);
	ch.at_period_end = 1;
	tb_assert_rc(billing_subscription_change_plan(&u, f->w->ctx, &f->admin,
		billing_subscription_id(s), &ch, NULL), BILLING_OK);
	assert_string_equal(billing_subscription_plan_id(u), billing_plan_id(pro));
	assert_string_equal(billing_subscription_pending_plan_id(u), billing_plan_id(basic));
	billing_subscription_free(u);
	u = NULL;
	assert_int_equal(invoice_rows(f), 1);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, billing_plan_id(basic), 0),
		BILLING_ECONFLICT);
	tb_assert_rc(billing_invoice_preview(&pv, f->w->ctx, &f->admin, billing_subscription_id(s)),
		BILLING_OK);
	assert_int_equal(billing_invoice_total(pv), 3100);
	billing_invoice_free(pv);

	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 0);
	tbb_run(f->w);
	n = tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv);
	assert_int_equal(n, 2);
	assert_int_equal(inv[1].total, 3100);
	tbb_assert_time(inv[1].period_start, tbb_ts(2025, 2, 1, 0, 0, 0));
	tbb_assert_time(inv[1].period_end, tbb_ts(2025, 3, 1, 0, 0, 0));
	free(inv);
	u = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_string_equal(billing_subscription_plan_id(u), billing_plan_id(basic));
	assert_null(billing_subscription_pending_plan_id(u));
	billing_subscription_free(u);
	u = NULL;

	/* Schedule a move back to pro, then drop it by asking for basic now. */
	ch.plan_id = billing_plan_id(pro);
	tb_assert_rc(billing_subscription_change_plan(&u, f->w->ctx, &f->admin,
		billing_subscription_id(s), &ch, NULL), BILLING_OK);
	billing_subscription_free(u);
	u = NULL;
	ch.plan_id = billing_plan_id(basic);
	ch.at_period_end = 0;
	tb_assert_rc(billing_subscription_change_plan(&u, f->w->ctx, &f->admin,
		billing_subscription_id(s), &ch, NULL), BILLING_OK);
	assert_null(billing_subscription_pending_plan_id(u));
	assert_string_equal(billing_subscription_plan_id(u), billing_plan_id(basic));
	billing_subscription_free(u);
	billing_subscription_free(s); /* the fixture frees the plans */
}

/* A tenant's prefix with {YYYY}: the finalization year in every number;
 * the counter itself runs on across years. */
static void invoice_number__prefix_with_the_year(void **state)
{
	fx *f = *state;
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_principal op = tb_platform(), admin;
	billing_tenant *t = NULL;
	billing_customer *c;
	billing_plan *p;
	billing_subscription *s;
	tbb_invoice *inv = NULL;
	size_t n;

	f->w->now = tbb_ts(2026, 12, 1, 0, 0, 0);
	tp.name = "Yearly numbers";
	tp.invoice_prefix = "INV-{YYYY}-";
	tb_assert_rc(billing_tenant_create(&t, f->w->ctx, &op, &tp, NULL), BILLING_OK);
	admin = tb_admin(billing_tenant_id(t));
	c = tb_customer(f->w, billing_tenant_id(t), NULL);
	p = tb_plan(f->w, billing_tenant_id(t), &(tb_plan_spec){ .amount = 1000 });
	s = tbb_subscribe(f->w, billing_tenant_id(t), billing_customer_id(c), billing_plan_id(p), 1);
	f->w->now = tbb_ts(2027, 1, 1, 0, 0, 0);
	tbb_run(f->w);
	n = tbb_invoices(f->w, billing_tenant_id(t), billing_subscription_id(s), &inv);
	assert_int_equal(n, 2);
	assert_string_equal(inv[0].number, "INV-2026-000001");
	assert_string_equal(inv[1].number, "INV-2027-000002");
	(void)admin;
	free(inv);
	billing_subscription_free(s);
	billing_plan_free(p);
	billing_customer_free(c);
	billing_tenant_free(t);
}

/* Cancel now with a prorated credit: an invoice of its own crediting the
 * unused rest of the period; without the flag, none (API-HTTP.md). */
static void cancel_now_with_prorate__credits_the_unused_time(void **state)
{
	fx *f = *state;
	billing_subscription *s, *c = NULL;
	billing_plan *p;
	tbb_invoice *inv = NULL;
	size_t n;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 3100 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	f->w->now = tbb_ts(2025, 1, 11, 0, 0, 0);          /* 21 of 31 days unused */
	tb_assert_rc(billing_subscription_cancel(&c, f->w->ctx, &f->admin,
		billing_subscription_id(s), BILLING_CANCEL_AT_PERIOD_END | BILLING_CANCEL_PRORATE,
		NULL), BILLING_EINVALID);
	tb_assert_rc(billing_subscription_cancel(&c, f->w->ctx, &f->admin,
		billing_subscription_id(s), BILLING_CANCEL_PRORATE, NULL), BILLING_OK);
	assert_int_equal(billing_subscription_status_of(c), BILLING_SUB_CANCELED);
	tbb_assert_time(billing_subscription_ended_at(c), f->w->now);
	n = tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv);
	assert_int_equal(n, 2);
	/* Never "paid negative": the credit goes to the customer's balance
	 * (e2e_customer_balance follows it onto the next invoice). */
	assert_int_equal(inv[1].total, -2100);
	assert_int_equal(inv[1].amount_due, 0);
	assert_int_equal(inv[1].status, BILLING_INVOICE_PAID);
	tbb_assert_time(inv[1].period_start, tbb_ts(2025, 1, 11, 0, 0, 0));
	tbb_assert_time(inv[1].period_end, tbb_ts(2025, 2, 1, 0, 0, 0));
	assert_string_equal(billing_subscription_latest_invoice_id(c), inv[1].id);
	free(inv);
	billing_subscription_free(c);
	billing_subscription_free(s);
}

/* A renewal due before the call, with no billing run since (the server was
 * down): the call acts on the subscription as it stands now, so the period
 * that began at the renewal is billed first — the customer had it. */
static void cancel_now_while_a_renewal_is_due__bills_that_period_first(void **state)
{
	fx *f = *state;
	billing_subscription *s, *c;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t n;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 3100 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	f->w->now = tbb_ts(2025, 2, 11, 0, 0, 0);          /* renewal due Feb 1, not run */
	c = cancel(f, s, 0);
	assert_int_equal(billing_subscription_status_of(c), BILLING_SUB_CANCELED);
	tbb_assert_time(billing_subscription_ended_at(c), tbb_ts(2025, 2, 11, 0, 0, 0));
	tbb_assert_time(billing_subscription_current_period_start(c), tbb_ts(2025, 2, 1, 0, 0, 0));
	n = tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv);
	assert_int_equal(n, 2);
	assert_int_equal(inv[1].total, 3100);
	tbb_assert_time(inv[1].period_start, tbb_ts(2025, 2, 1, 0, 0, 0));
	tbb_assert_time(inv[1].period_end, tbb_ts(2025, 3, 1, 0, 0, 0));
	free(inv);
	inv = NULL;

	/* Nothing is left for the run, then or later. */
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 0, 0, 0, 0);
	f->w->now = tbb_ts(2025, 6, 1, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 0, 0, 0, 0);
	assert_int_equal(tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv), 2);
	free(inv);
	billing_subscription_free(c);
	billing_subscription_free(s);
}

static void cancel_now_with_prorate_while_renewals_are_due__bills_them_then_credits(
	void **state)
{
	fx *f = *state;
	billing_subscription *s, *c = NULL;
	tbb_invoice *inv = NULL;
	billing_plan *p;
	size_t n;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2800 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	f->w->now = tbb_ts(2025, 3, 8, 0, 0, 0);          /* Feb 1 and Mar 1 due, not run */
	tb_assert_rc(billing_subscription_cancel(&c, f->w->ctx, &f->admin,
		billing_subscription_id(s), BILLING_CANCEL_PRORATE, NULL), BILLING_OK);
	tbb_assert_time(billing_subscription_ended_at(c), tbb_ts(2025, 3, 8, 0, 0, 0));
	n = tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv);
	assert_int_equal(n, 4);
	tbb_assert_time(inv[1].period_start, tbb_ts(2025, 2, 1, 0, 0, 0));
	assert_int_equal(inv[1].total, 2800);
	tbb_assert_time(inv[2].period_start, tbb_ts(2025, 3, 1, 0, 0, 0));
	assert_int_equal(inv[2].total, 2800);
	/* 24 of March's 31 days unused: 2800 * 24 / 31 = 2167.74 */
	tbb_assert_time(inv[3].period_start, tbb_ts(2025, 3, 8, 0, 0, 0));
	tbb_assert_time(inv[3].period_end, tbb_ts(2025, 4, 1, 0, 0, 0));
	assert_int_equal(inv[3].total, -2168);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	billing_subscription_free(c);
	billing_subscription_free(s);
}

/* The same for a change of plan: the due renewal first, on the old plan,
 * then the proration within the period the customer is in. */
static void change_plan_while_a_renewal_is_due__renews_then_prorates_that_period(
	void **state)
{
	fx *f = *state;
	billing_subscription_change_params ch = BILLING_SUBSCRIPTION_CHANGE_INIT;
	billing_subscription *s, *u = NULL;
	tbb_invoice *inv = NULL;
	billing_plan *basic, *pro;
	size_t n;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	basic = plan(f, (tb_plan_spec){ .amount = 2800 });
	pro = plan(f, (tb_plan_spec){ .amount = 5600 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(basic), 1);
	f->w->now = tbb_ts(2025, 2, 15, 0, 0, 0);         /* Feb 1 due, not run */
	ch.plan_id = billing_plan_id(pro);
	ch.proration = BILLING_PRORATE_ALWAYS_INVOICE;
	tb_assert_rc(billing_subscription_change_plan(&u, f->w->ctx, &f->admin,
		billing_subscription_id(s), &ch, NULL), BILLING_OK);
	assert_string_equal(billing_subscription_plan_id(u), billing_plan_id(pro));
	tbb_assert_time(billing_subscription_current_period_start(u), tbb_ts(2025, 2, 1, 0, 0, 0));
	tbb_assert_time(billing_subscription_current_period_end(u), tbb_ts(2025, 3, 1, 0, 0, 0));
	n = tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv);
	assert_int_equal(n, 3);
	tbb_assert_time(inv[1].period_start, tbb_ts(2025, 2, 1, 0, 0, 0));
	assert_int_equal(inv[1].total, 2800);
	/* 14 of February's 28 days: -1400 on basic, +2800 on pro. */
	assert_int_equal(inv[2].total, 1400);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	billing_subscription_free(u);
	billing_subscription_free(s);
}

static void preview__shows_the_next_period_and_writes_nothing(void **state)
{
	fx *f = *state;
	billing_subscription_update_params up = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_subscription *s, *u = NULL, *c, *trial;
	billing_invoice *pv = NULL;
	const billing_invoice_line *l;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	billing_plan *p, *tp;
	int64_t events, invoices;
	char tenant_sql[256];
	size_t n;

	begin(f, tbb_ts(2025, 1, 15, 10, 0, 0));
	p = taxed_plan(f, 2900, 2000);
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 2);
	snprintf(tenant_sql, sizeof(tenant_sql), "SELECT last_number FROM invoice_numbers "
		"WHERE tenant_id = '%s'", f->t);
	events = event_rows(f);
	invoices = invoice_rows(f);
	assert_int_equal(tb_raw_count(f->w->url, tenant_sql), 1);

	tb_assert_rc(billing_invoice_preview(&pv, f->w->ctx, &f->admin, billing_subscription_id(s)),
		BILLING_OK);
	assert_int_equal(billing_invoice_status_of(pv), BILLING_INVOICE_DRAFT);
	assert_null(billing_invoice_id(pv));
	assert_null(billing_invoice_number(pv));
	assert_string_equal(billing_invoice_subscription_id(pv), billing_subscription_id(s));
	assert_string_equal(billing_invoice_customer_id(pv), f->cus_id);
	tbb_assert_time(billing_invoice_period_start(pv), tbb_ts(2025, 2, 15, 10, 0, 0));
	tbb_assert_time(billing_invoice_period_end(pv), tbb_ts(2025, 3, 15, 10, 0, 0));
	assert_int_equal(billing_invoice_line_count(pv), 1);
	l = billing_invoice_line_at(pv, 0);
	assert_int_equal(l->quantity, 2);
	assert_int_equal(l->unit_amount, 2900);
	assert_int_equal(l->amount, 5800);
	assert_int_equal(l->tax_rate_bp, 2000);
	assert_int_equal(l->tax_amount, 1160);
	assert_int_equal(billing_invoice_subtotal(pv), 5800);
	assert_int_equal(billing_invoice_tax(pv), 1160);
	assert_int_equal(billing_invoice_total(pv), 6960);
	billing_invoice_free(pv);
	pv = NULL;
	assert_int_equal(event_rows(f), events);
	assert_int_equal(invoice_rows(f), invoices);
	assert_int_equal(tb_raw_count(f->w->url, tenant_sql), 1);

	/* a new quantity shows from the next period on */
	up.fields = BILLING_SUBSCRIPTION_QUANTITY;
	up.quantity = 3;
	tb_assert_rc(billing_subscription_update(&u, f->w->ctx, &f->admin,
		billing_subscription_id(s), &up, NULL), BILLING_OK);
	billing_subscription_free(u);
	tb_assert_rc(billing_invoice_preview(&pv, f->w->ctx, &f->admin, billing_subscription_id(s)),
		BILLING_OK);
	assert_int_equal(billing_invoice_line_at(pv, 0)->amount, 8700);
	assert_int_equal(billing_invoice_total(pv), 10440);
	billing_invoice_free(pv);
	pv = NULL;

	/* the run issues what the preview showed */
	f->w->now = tbb_ts(2025, 2, 15, 10, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 1, 0, 0);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 2);
	tbb_assert_plan_invoice(&inv[0], billing_plan_id(p), tbb_ts(2025, 1, 15, 10, 0, 0),
		tbb_ts(2025, 2, 15, 10, 0, 0), 2, 2900, 2000);
	tbb_assert_plan_invoice(&inv[1], billing_plan_id(p), tbb_ts(2025, 2, 15, 10, 0, 0),
		tbb_ts(2025, 3, 15, 10, 0, 0), 3, 2900, 2000);
	assert_int_equal(inv[1].total, 10440);
	free(inv);

	/* ending at the period end: no next invoice */
	c = cancel(f, s, 1);
	billing_subscription_free(c);
	events = event_rows(f);
	tb_assert_rc(billing_invoice_preview(&pv, f->w->ctx, &f->admin, billing_subscription_id(s)),
		BILLING_ECONFLICT);
	assert_null(pv);
	assert_int_equal(event_rows(f), events);

	/* during a trial: the first charged period */
	tp = plan(f, (tb_plan_spec){ .amount = 1200, .trial_days = 10 });
	trial = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(tp), 1);
	tb_assert_rc(billing_invoice_preview(&pv, f->w->ctx, &f->admin,
		billing_subscription_id(trial)), BILLING_OK);
	tbb_assert_time(billing_invoice_period_start(pv), tbb_ts(2025, 2, 25, 10, 0, 0));
	tbb_assert_time(billing_invoice_period_end(pv), tbb_ts(2025, 3, 25, 10, 0, 0));
	assert_int_equal(billing_invoice_total(pv), 1200);
	billing_invoice_free(pv);
	billing_subscription_free(trial);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ tenants */

static void tenant_isolation__another_tenant_cannot_see_or_touch_and_the_run_serves_both(
	void **state)
{
	fx *f = *state;
	const char *tb;
	billing_principal admin_b;
	billing_customer *cus_b;
	billing_plan *pa, *pb;
	billing_subscription *sa, *sb, *out = NULL;
	billing_subscription_list_params slp = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_subscription_update_params up = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_invoice_list_params ilp = BILLING_INVOICE_LIST_PARAMS_INIT;
	billing_invoice *inv = NULL;
	billing_page *page = NULL;
	billing_run_report rep;
	tbb_invoice ia, *all = NULL;
	size_t n;

	begin(f, tbb_ts(2025, 1, 1, 0, 0, 0));
	tb = tb_tenant(f->w, "Bolt");
	admin_b = tb_admin(tb);
	cus_b = tb_customer(f->w, tb, NULL);
	pa = plan(f, (tb_plan_spec){ .amount = 2900 });
	{
		billing_plan *q = tb_plan(f->w, tb, &(tb_plan_spec){ .amount = 4900 });
		f->plans[f->nplans++] = q;
		pb = q;
	}
	sa = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(pa), 1);
	sb = tbb_subscribe(f->w, tb, billing_customer_id(cus_b), billing_plan_id(pb), 1);
	only_invoice(f, sa, &ia);

	tb_assert_rc(billing_subscription_get(&out, f->w->ctx, &admin_b, billing_subscription_id(sa)),
		BILLING_ENOTFOUND);
	assert_null(out);
	tb_assert_rc(billing_subscription_cancel(&out, f->w->ctx, &admin_b,
		billing_subscription_id(sa), 0, NULL), BILLING_ENOTFOUND);
	tb_assert_rc(billing_subscription_cancel(&out, f->w->ctx, &admin_b,
		billing_subscription_id(sa), 1, NULL), BILLING_ENOTFOUND);
	up.fields = BILLING_SUBSCRIPTION_QUANTITY;
	up.quantity = 5;
	tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &admin_b,
		billing_subscription_id(sa), &up, NULL), BILLING_ENOTFOUND);
	assert_null(out);
	tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &admin_b, &slp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_subscription_id(billing_page_subscription(page, 0)),
		billing_subscription_id(sb));
	billing_page_free(page);
	page = NULL;
	/* A's ids in B's filters name nothing in B (API-HTTP.md: resource_missing) */
	slp.customer_id = f->cus_id;
	tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &admin_b, &slp), BILLING_EINVALID);
	tbb_assert_reason("resource_missing");
	tb_assert_field("customerId");
	assert_null(page);

	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &admin_b, ia.id), BILLING_ENOTFOUND);
	assert_null(inv);
	tb_assert_rc(billing_invoice_void(&inv, f->w->ctx, &admin_b, ia.id, NULL), BILLING_ENOTFOUND);
	tb_assert_rc(billing_invoice_preview(&inv, f->w->ctx, &admin_b, billing_subscription_id(sa)),
		BILLING_EINVALID);
	tbb_assert_reason("resource_missing");
	tb_assert_field("subscriptionId");
	assert_null(inv);
	tb_assert_rc(billing_invoice_list(&page, f->w->ctx, &admin_b, &ilp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_invoice_subscription_id(billing_page_invoice(page, 0)),
		billing_subscription_id(sb));
	billing_page_free(page);
	page = NULL;
	ilp.subscription_id = billing_subscription_id(sa);
	tb_assert_rc(billing_invoice_list(&page, f->w->ctx, &admin_b, &ilp), BILLING_EINVALID);
	tbb_assert_reason("resource_missing");
	tb_assert_field("subscriptionId");
	assert_null(page);
	ilp.subscription_id = NULL;
	ilp.customer_id = f->cus_id;
	tb_assert_rc(billing_invoice_list(&page, f->w->ctx, &admin_b, &ilp), BILLING_EINVALID);
	tbb_assert_reason("resource_missing");
	tb_assert_field("customerId");
	assert_null(page);

	/* A's subscription is untouched */
	out = tbb_sub_get(f->w, f->t, billing_subscription_id(sa));
	assert_int_equal(billing_subscription_status_of(out), BILLING_SUB_ACTIVE);
	assert_int_equal(billing_subscription_quantity(out), 1);
	assert_int_equal(billing_subscription_cancel_at_period_end(out), 0);
	billing_subscription_free(out);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, ia.id), BILLING_OK);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PENDING);
	billing_invoice_free(inv);

	/* one run renews both tenants, each numbering its own invoices */
	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 2, 2, 0, 0);
	n = tbb_invoices(f->w, f->t, NULL, &all);
	assert_int_equal(n, 2);
	tbb_assert_numbers_gapless(all, n);
	tbb_assert_plan_invoice(&all[1], billing_plan_id(pa), tbb_ts(2025, 2, 1, 0, 0, 0),
		tbb_ts(2025, 3, 1, 0, 0, 0), 1, 2900, 0);
	free(all);
	n = tbb_invoices(f->w, tb, NULL, &all);
	assert_int_equal(n, 2);
	tbb_assert_numbers_gapless(all, n);
	tbb_assert_plan_invoice(&all[1], billing_plan_id(pb), tbb_ts(2025, 2, 1, 0, 0, 0),
		tbb_ts(2025, 3, 1, 0, 0, 0), 1, 4900, 0);
	assert_string_equal(all[1].customer_id, billing_customer_id(cus_b));
	free(all);
	billing_customer_free(cus_b);
	billing_subscription_free(sa);
	billing_subscription_free(sb);
}

/* ------------------------------------------------------------ bad clocks */

static void run__clock_going_backwards_is_refused_and_changes_nothing(void **state)
{
	fx *f = *state;
	int64_t t = tbb_ts(2025, 2, 24, 0, 0, 0);
	billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL, *got;
	billing_run_report rep;
	billing_ctx *other;
	billing_plan *p;
	char sql[256];
	int64_t events;

	begin(f, t);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 0, 0, 0, 0);
	/* work that falls due before t, created after the run at t */
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	sp.customer_id = f->cus_id;
	sp.plan_id = billing_plan_id(p);
	sp.start_at = tbb_ts(2025, 1, 21, 0, 0, 0);
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &sp, NULL), BILLING_OK);
	events = event_rows(f);

	memset(&rep, 0x5a, sizeof(rep));
	tb_assert_rc(billing_run_due(f->w->ctx, t - 86400, NULL, &rep), BILLING_EINVALID);
	tbb_assert_reason("clock_backwards");
	tb_assert_field("now");
	other = tb_world_open_again(f->w);
	tb_assert_rc(billing_run_due(other, t - 1, NULL, NULL), BILLING_EINVALID);
	tbb_assert_reason("clock_backwards");
	billing_ctx_close(other);
	tb_assert_rc(billing_run_due(f->w->ctx, -1, NULL, NULL), BILLING_EINVALID);

	assert_int_equal(invoice_rows(f), 1);
	assert_int_equal(event_rows(f), events);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	tbb_assert_time(billing_subscription_current_period_end(got), tbb_ts(2025, 2, 21, 0, 0, 0));
	assert_int_equal(billing_subscription_version(got), billing_subscription_version(s));
	billing_subscription_free(got);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM billing_meta WHERE meta_key = "
		"'last_run_at' AND meta_value = '%lld'", (long long)t);
	assert_int_equal(tb_raw_count(f->w->url, sql), 1);

	/* the same time again is fine, and the work is done then */
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 1, 0, 0);
	billing_subscription_free(s);
}

static void run__period_past_year_9999_fails_the_item_and_writes_nothing(void **state)
{
	fx *f = *state;
	billing_subscription *s, *got, *s2;
	billing_run_report rep;
	billing_plan *p;
	tbb_invoice *inv = NULL;
	int64_t events;
	char sql[256];
	size_t n;

	begin(f, tbb_ts(9999, 11, 15, 0, 0, 0));
	p = plan(f, (tb_plan_spec){ .amount = 2900 });
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	tbb_assert_time(billing_subscription_current_period_end(s), tbb_ts(9999, 12, 15, 0, 0, 0));
	events = event_rows(f);

	/* its next period would end in January 10000 */
	f->w->now = tbb_ts(9999, 12, 15, 0, 0, 0);
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 1);
	assert_int_equal(rep.processed, 0);
	assert_int_equal(rep.invoiced, 0);
	got = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_int_equal(billing_subscription_status_of(got), BILLING_SUB_ACTIVE);
	assert_int_equal(billing_subscription_version(got), billing_subscription_version(s));
	tbb_assert_time(billing_subscription_current_period_start(got), tbb_ts(9999, 11, 15, 0, 0, 0));
	tbb_assert_time(billing_subscription_current_period_end(got), tbb_ts(9999, 12, 15, 0, 0, 0));
	assert_string_equal(billing_subscription_latest_invoice_id(got),
		billing_subscription_latest_invoice_id(s));
	billing_subscription_free(got);
	assert_int_equal(invoice_rows(f), 1);
	assert_int_equal(event_rows(f), events);
	snprintf(sql, sizeof(sql), "SELECT last_number FROM invoice_numbers WHERE tenant_id = '%s'",
		f->t);
	assert_int_equal(tb_raw_count(f->w->url, sql), 1);

	/* retried by a later run, failing the same way */
	f->w->now = tbb_ts(9999, 12, 16, 0, 0, 0);
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 1);
	assert_int_equal(rep.processed, 0);
	assert_int_equal(invoice_rows(f), 1);

	/* the number the failed item took was given back */
	p = plan(f, (tb_plan_spec){ .amount = 100, .interval = BILLING_DAY });
	s2 = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(p), 1);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 2);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	billing_subscription_free(s2);
	billing_subscription_free(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(monthly_plan_from_jan_31__each_clamped_period_invoiced_once_over_two_leap_years),
		T(yearly_plan_from_feb_29__feb_28_in_common_years_feb_29_in_leap_years),
		T(weekly_and_daily_plans__tile_time_keeping_the_time_of_day),
		T(backdated_start__first_period_at_creation_the_missed_ones_at_the_next_run),
		T(trial__zero_invoice_paid_and_numbered_then_first_charge_at_trial_end),
		T(tax__per_line_rounded_half_away_from_zero_with_quantity),
		T(cancel_at_period_end_then_undo__keeps_renewing),
		T(cancel_at_period_end__ends_at_the_period_end_not_the_run_time_and_bills_no_more),
		T(cancel_now__ends_now_without_an_invoice),
		T(cancel_at_period_end_during_a_trial__ends_at_trial_end_without_a_charge),
		T(fixed_term__three_invoices_then_expired_at_the_end_of_period_3),
		T(host_down_90_days__one_run_invoices_each_missed_period_once_in_order),
		T(run_with_max_items__does_that_many_periods_and_reports_what_is_left),
		T(two_concurrent_runs__make_each_invoice_once_numbered_without_gap),
		T(run_workers__four_threads_of_one_call_renew_each_period_once),
		T(run_batch__a_failing_renewal_is_set_aside_and_the_rest_renewed_once),
		T(run_batch__a_renewal_whose_insert_fails_is_set_aside_and_the_rest_renewed_once),
		T(run_batch__renewals_take_their_own_pending_lines_and_no_others),
		T(run_batch__customers_with_a_balance_are_renewed_with_it),
		T(run_batch__invoice_items_land_on_their_subscriptions_renewal),
		T(concurrent_finalizations__four_threads_get_numbers_1_to_n),
		T(plan_delete__refused_while_a_live_subscription_uses_it),
		T(customer_delete__refused_once_it_has_a_subscription),
		T(invoice_void__pending_once_never_paid),
		T(preview__shows_the_next_period_and_writes_nothing),
		T(change_plan_at_period_end__renews_on_the_new_plan),
		T(invoice_number__prefix_with_the_year),
		T(cancel_now_with_prorate__credits_the_unused_time),
		T(cancel_now_while_a_renewal_is_due__bills_that_period_first),
		T(cancel_now_with_prorate_while_renewals_are_due__bills_them_then_credits),
		T(change_plan_while_a_renewal_is_due__renews_then_prorates_that_period),
		T(tenant_isolation__another_tenant_cannot_see_or_touch_and_the_run_serves_both),
		T(run__clock_going_backwards_is_refused_and_changes_nothing),
		T(run__period_past_year_9999_fails_the_item_and_writes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
