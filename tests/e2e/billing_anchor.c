/*
 * A billing-cycle anchor set at creation (issue #21 item 4,
 * billing_subscription_params version 5), both backends, simulated clock,
 * amounts computed by hand: the partial first period [start, anchor) is
 * charged per item, prorated to the second over the period that ends at the
 * anchor (Jan 10 -> Feb 1 is 22 of Jan's 31 days: 4900 -> 3477, 2 x 1500 ->
 * 2129), or free with prorationBehavior none; renewals then fall on the
 * anchor's day, clamped at month ends (Jan 31 -> Feb 28 -> Mar 31); after a
 * trial the partial period runs from the trial's end; a seat change inside
 * the partial period is prorated over the same whole period as its charge;
 * an anchor in the past, before the trial's end or more than one interval
 * ahead, and always_invoice, are refused with the field and write nothing.
 * billing_check finds nothing after each.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char cus[64];
	char base[64], addon[64], seat[64];
} fx;

#define BASE 4900
#define ADDON 1500
#define SEAT 1000
#define DAY 86400

static void plan_id(char out[64], fx *f, int64_t amount)
{
	billing_product *prod = tb_product(f->w, f->t, NULL);
	billing_plan *plan = tb_plan(f->w, f->t, &(tb_plan_spec){
		.product_id = billing_product_id(prod), .amount = amount, .interval = BILLING_MONTH });
	snprintf(out, 64, "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	billing_product_free(prod);
}

static int setup(void **state)
{
	billing_customer *c;
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->w = tb_world_new();
	f->w->now = tbb_ts(2026, 1, 10, 0, 0, 0);
	f->t = tb_tenant(f->w, "Anchored");
	f->admin = tb_admin(f->t);
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ 0 });
	snprintf(f->cus, sizeof(f->cus), "%s", billing_customer_id(c));
	billing_customer_free(c);
	plan_id(f->base, f, BASE);
	plan_id(f->addon, f, ADDON);
	plan_id(f->seat, f, SEAT);
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

static void print_problem(void *payload, const billing_check_problem *p)
{
	(void)payload;
	fprintf(stderr, "billing_check: %s %s: %s\n", p->kind, p->resource_id ? p->resource_id : "-",
		p->detail);
}

static int64_t problems(fx *f)
{
	int64_t n = -1;
	tb_assert_rc(billing_check(f->w->ctx, print_problem, NULL, &n), BILLING_OK);
	return n;
}

/* A subscription of items anchored at anchor with proration b (trial_days
 * < 0: the plan's); its id into out. */
static int subscribe(fx *f, char out[64], const billing_subscription_item_spec *items, size_t n,
	int64_t anchor, billing_proration_behavior b, int32_t trial_days)
{
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	int rc;
	p.customer_id = f->cus;
	p.items = items;
	p.item_count = n;
	p.billing_cycle_anchor = anchor;
	p.anchor_proration = b;
	if (trial_days >= 0) {
		p.has_trial_days = 1;
		p.trial_days = trial_days;
	}
	rc = billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL);
	if (rc == BILLING_OK)
		snprintf(out, 64, "%s", billing_subscription_id(s));
	else
		assert_null(s);
	billing_subscription_free(s);
	return rc;
}

static billing_invoice *latest_invoice(fx *f, const char *sub)
{
	billing_subscription *s = tbb_sub_get(f->w, f->t, sub);
	billing_invoice *inv = NULL;
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	billing_subscription_free(s);
	return inv;
}

static void assert_period(fx *f, const char *sub, int64_t start, int64_t end)
{
	billing_subscription *s = tbb_sub_get(f->w, f->t, sub);
	tbb_assert_time(billing_subscription_current_period_start(s), start);
	tbb_assert_time(billing_subscription_current_period_end(s), end);
	billing_subscription_free(s);
}

static void assert_line(const billing_invoice *inv, size_t i, int64_t amount, bool proration,
	int64_t start, int64_t end)
{
	const billing_invoice_line *l = billing_invoice_line_at(inv, i);
	assert_non_null(l);
	assert_int_equal(l->amount, amount);
	assert_int_equal(l->proration != 0, proration);
	tbb_assert_time(l->period_start, start);
	tbb_assert_time(l->period_end, end);
}

static size_t count_subscriptions(fx *f)
{
	billing_subscription_list_params p = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	size_t n;
	p.list.limit = 100;
	tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &f->admin, &p), BILLING_OK);
	n = billing_page_count(page);
	billing_page_free(page);
	return n;
}

/* ------------------------------------------------------------ tests */

static void anchor__partial_first_period_prorated_then_renewals_on_the_anchor(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 }, { f->addon, 2 } };
	int64_t start = f->w->now, feb1 = tbb_ts(2026, 2, 1, 0, 0, 0),
		mar1 = tbb_ts(2026, 3, 1, 0, 0, 0), apr1 = tbb_ts(2026, 4, 1, 0, 0, 0);
	billing_subscription *s;
	billing_invoice *inv;
	char sub[64];

	tb_assert_rc(subscribe(f, sub, items, 2, feb1, BILLING_PRORATE_CREATE, -1), BILLING_OK);
	s = tbb_sub_get(f->w, f->t, sub);
	tbb_assert_time(billing_subscription_anchor(s), feb1);
	assert_int_equal(billing_subscription_status_of(s), BILLING_SUB_ACTIVE);
	billing_subscription_free(s);
	assert_period(f, sub, start, feb1);
	/* 22 of the 31 days of the period that ends at the anchor
	 * [Jan 1, Feb 1): 4900 x 22/31 = 3477.42 -> 3477; 3000 x 22/31 =
	 * 2129.03 -> 2129. */
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	assert_line(inv, 0, 3477, true, start, feb1);
	assert_line(inv, 1, 2129, true, start, feb1);
	assert_int_equal(billing_invoice_line_at(inv, 1)->quantity, 2);
	assert_non_null(billing_invoice_line_at(inv, 0)->subscription_item_id);
	assert_int_equal(billing_invoice_subtotal(inv), 3477 + 2129);
	tbb_assert_time(billing_invoice_period_start(inv), start);
	tbb_assert_time(billing_invoice_period_end(inv), feb1);
	billing_invoice_free(inv);

	/* The preview is the first full period. */
	{
		billing_invoice *pre = NULL;
		tb_assert_rc(billing_invoice_preview(&pre, f->w->ctx, &f->admin, sub), BILLING_OK);
		tbb_assert_time(billing_invoice_period_start(pre), feb1);
		assert_int_equal(billing_invoice_subtotal(pre), BASE + 2 * ADDON);
		billing_invoice_free(pre);
	}

	/* Nothing due before the anchor. */
	f->w->now = feb1 - 1;
	tbb_run(f->w);
	assert_period(f, sub, start, feb1);

	f->w->now = feb1;
	tbb_run(f->w);
	assert_period(f, sub, feb1, mar1);
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	assert_line(inv, 0, BASE, false, feb1, mar1);
	assert_line(inv, 1, 2 * ADDON, false, feb1, mar1);
	billing_invoice_free(inv);

	f->w->now = mar1;
	tbb_run(f->w);
	assert_period(f, sub, mar1, apr1);
	assert_int_equal(problems(f), 0);
}

static void anchor__on_the_31st_renews_on_month_ends(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 } };
	int64_t start = tbb_ts(2026, 1, 20, 0, 0, 0), jan31 = tbb_ts(2026, 1, 31, 12, 0, 0),
		feb28 = tbb_ts(2026, 2, 28, 12, 0, 0), mar31 = tbb_ts(2026, 3, 31, 12, 0, 0),
		apr30 = tbb_ts(2026, 4, 30, 12, 0, 0);
	billing_invoice *inv;
	char sub[64];

	f->w->now = start;
	tb_assert_rc(subscribe(f, sub, items, 1, jan31, BILLING_PRORATE_CREATE, -1), BILLING_OK);
	/* 11.5 days of [Dec 31 12:00, Jan 31 12:00) (31 days): 4900 x 11.5/31
	 * = 1817.74 -> 1818. */
	inv = latest_invoice(f, sub);
	assert_line(inv, 0, 1818, true, start, jan31);
	billing_invoice_free(inv);
	f->w->now = jan31;
	tbb_run(f->w);
	assert_period(f, sub, jan31, feb28);
	f->w->now = feb28;
	tbb_run(f->w);
	assert_period(f, sub, feb28, mar31);
	f->w->now = mar31;
	tbb_run(f->w);
	assert_period(f, sub, mar31, apr30);
	inv = latest_invoice(f, sub);
	assert_line(inv, 0, BASE, false, mar31, apr30);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

static void anchor_with_proration_none__the_partial_period_is_free(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 }, { f->addon, 2 } };
	int64_t start = f->w->now, feb1 = tbb_ts(2026, 2, 1, 0, 0, 0),
		mar1 = tbb_ts(2026, 3, 1, 0, 0, 0);
	billing_invoice *inv;
	char sub[64];

	tb_assert_rc(subscribe(f, sub, items, 2, feb1, BILLING_PRORATE_NONE, -1), BILLING_OK);
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	assert_line(inv, 0, 0, false, start, feb1);
	assert_line(inv, 1, 0, false, start, feb1);
	assert_int_equal(billing_invoice_total(inv), 0);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	billing_invoice_free(inv);
	assert_int_equal(tbb_sub_status(f->w, f->t, sub), BILLING_SUB_ACTIVE);

	f->w->now = feb1;
	tbb_run(f->w);
	inv = latest_invoice(f, sub);
	assert_line(inv, 0, BASE, false, feb1, mar1);
	assert_line(inv, 1, 2 * ADDON, false, feb1, mar1);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

static void anchor_after_a_trial__the_partial_period_starts_at_the_trials_end(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 } };
	int64_t start = tbb_ts(2026, 1, 1, 0, 0, 0), jan8 = tbb_ts(2026, 1, 8, 0, 0, 0),
		feb1 = tbb_ts(2026, 2, 1, 0, 0, 0), mar1 = tbb_ts(2026, 3, 1, 0, 0, 0);
	billing_invoice *inv;
	char sub[64];

	f->w->now = start;
	tb_assert_rc(subscribe(f, sub, items, 1, feb1, BILLING_PRORATE_CREATE, 7), BILLING_OK);
	assert_int_equal(tbb_sub_status(f->w, f->t, sub), BILLING_SUB_TRIALING);
	assert_period(f, sub, start, jan8);
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_total(inv), 0);
	billing_invoice_free(inv);
	/* The next invoice is the partial period [Jan 8, Feb 1): 24 of 31
	 * days, 4900 x 24/31 = 3793.55 -> 3794. */
	{
		billing_invoice *pre = NULL;
		tb_assert_rc(billing_invoice_preview(&pre, f->w->ctx, &f->admin, sub), BILLING_OK);
		assert_int_equal(billing_invoice_subtotal(pre), 3794);
		billing_invoice_free(pre);
	}
	f->w->now = jan8;
	tbb_run(f->w);
	assert_int_equal(tbb_sub_status(f->w, f->t, sub), BILLING_SUB_ACTIVE);
	assert_period(f, sub, jan8, feb1);
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_line(inv, 0, 3794, true, jan8, feb1);
	billing_invoice_free(inv);
	f->w->now = feb1;
	tbb_run(f->w);
	assert_period(f, sub, feb1, mar1);
	inv = latest_invoice(f, sub);
	assert_line(inv, 0, BASE, false, feb1, mar1);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

static void seat_change_in_the_partial_period__prorated_over_the_anchors_period(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->seat, 1 } };
	int64_t feb1 = tbb_ts(2026, 2, 1, 0, 0, 0), jan20 = tbb_ts(2026, 1, 20, 0, 0, 0);
	billing_subscription_item_params p = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	billing_subscription_item *it = NULL;
	billing_subscription *s;
	billing_invoice *inv;
	char sub[64], item[64];

	tb_assert_rc(subscribe(f, sub, items, 1, feb1, BILLING_PRORATE_CREATE, -1), BILLING_OK);
	inv = latest_invoice(f, sub);
	assert_line(inv, 0, 710, true, f->w->now, feb1); /* 1000 x 22/31 = 709.68 */
	snprintf(item, sizeof(item), "%s", billing_invoice_line_at(inv, 0)->subscription_item_id);
	billing_invoice_free(inv);
	/* 1 -> 3 seats on Jan 20: 2000 x 12/31 = 774.19 -> 774 (not over the
	 * partial period's 22 days, which would give 1091). */
	f->w->now = jan20;
	p.fields = BILLING_SUBSCRIPTION_ITEM_QUANTITY;
	p.quantity = 3;
	tb_assert_rc(billing_subscription_item_update(&it, f->w->ctx, &f->admin, item, &p, NULL),
		BILLING_OK);
	billing_subscription_item_free(it);
	f->w->now = feb1;
	tbb_run(f->w);
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	assert_line(inv, 0, 3 * SEAT, false, feb1, tbb_ts(2026, 3, 1, 0, 0, 0));
	assert_line(inv, 1, 774, true, jan20, feb1);
	billing_invoice_free(inv);
	s = tbb_sub_get(f->w, f->t, sub);
	assert_int_equal(billing_subscription_quantity(s), 3);
	billing_subscription_free(s);
	assert_int_equal(problems(f), 0);
}

static void bad_anchor__refused_with_the_field_and_nothing_written(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 } };
	int64_t now = f->w->now;
	char sub[64];

	/* In the past. */
	tb_assert_rc(subscribe(f, sub, items, 1, now - 1, BILLING_PRORATE_CREATE, -1),
		BILLING_EINVALID);
	tb_assert_field("billingCycleAnchor");
	/* More than one interval ahead: Jan 10 -> Feb 10 is the limit. */
	tb_assert_rc(subscribe(f, sub, items, 1, tbb_ts(2026, 2, 10, 0, 0, 1),
		BILLING_PRORATE_CREATE, -1), BILLING_EINVALID);
	tb_assert_field("billingCycleAnchor");
	tbb_assert_reason("invalid_anchor");
	/* Before the trial's end (Jan 17), or "now" with a trial. */
	tb_assert_rc(subscribe(f, sub, items, 1, now + 3 * DAY, BILLING_PRORATE_CREATE, 7),
		BILLING_EINVALID);
	tb_assert_field("billingCycleAnchor");
	tb_assert_rc(subscribe(f, sub, items, 1, BILLING_ANCHOR_NOW, BILLING_PRORATE_CREATE, 7),
		BILLING_EINVALID);
	tb_assert_field("billingCycleAnchor");
	/* More than one interval after the trial's end. */
	tb_assert_rc(subscribe(f, sub, items, 1, tbb_ts(2026, 2, 17, 0, 0, 1),
		BILLING_PRORATE_CREATE, 7), BILLING_EINVALID);
	tb_assert_field("billingCycleAnchor");
	/* always_invoice is not a behavior of a creation; none not with a trial. */
	tb_assert_rc(subscribe(f, sub, items, 1, tbb_ts(2026, 2, 1, 0, 0, 0),
		BILLING_PRORATE_ALWAYS_INVOICE, -1), BILLING_EINVALID);
	tb_assert_field("prorationBehavior");
	tb_assert_rc(subscribe(f, sub, items, 1, tbb_ts(2026, 2, 1, 0, 0, 0),
		BILLING_PRORATE_NONE, 7), BILLING_EINVALID);
	tb_assert_field("prorationBehavior");
	assert_int_equal(count_subscriptions(f), 0);

	/* The limit itself, and "now", are accepted: "now" is a plain start. */
	tb_assert_rc(subscribe(f, sub, items, 1, tbb_ts(2026, 2, 10, 0, 0, 0),
		BILLING_PRORATE_CREATE, -1), BILLING_OK);
	{
		billing_invoice *inv = latest_invoice(f, sub);
		assert_line(inv, 0, BASE, true, now, tbb_ts(2026, 2, 10, 0, 0, 0));
		billing_invoice_free(inv);
	}
	tb_assert_rc(subscribe(f, sub, items, 1, BILLING_ANCHOR_NOW, BILLING_PRORATE_CREATE, -1),
		BILLING_OK);
	{
		billing_invoice *inv = latest_invoice(f, sub);
		assert_line(inv, 0, BASE, false, now, tbb_ts(2026, 2, 10, 0, 0, 0));
		billing_invoice_free(inv);
	}
	assert_int_equal(count_subscriptions(f), 2);
	assert_int_equal(problems(f), 0);
}

static void version_5_params__keep_todays_anchor(void **state)
{
	fx *f = *state;
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;

	p.version = 5;
	p.customer_id = f->cus;
	p.plan_id = f->base;
	/* Fields of version 6 are not read from a version 5 caller. */
	p.billing_cycle_anchor = tbb_ts(2026, 2, 1, 0, 0, 0);
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	tbb_assert_time(billing_subscription_anchor(s), f->w->now);
	tbb_assert_time(billing_subscription_current_period_end(s), tbb_ts(2026, 2, 10, 0, 0, 0));
	billing_subscription_free(s);
	assert_int_equal(problems(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			anchor__partial_first_period_prorated_then_renewals_on_the_anchor, setup,
			teardown),
		cmocka_unit_test_setup_teardown(anchor__on_the_31st_renews_on_month_ends, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			anchor_with_proration_none__the_partial_period_is_free, setup, teardown),
		cmocka_unit_test_setup_teardown(
			anchor_after_a_trial__the_partial_period_starts_at_the_trials_end, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			seat_change_in_the_partial_period__prorated_over_the_anchors_period, setup,
			teardown),
		cmocka_unit_test_setup_teardown(bad_anchor__refused_with_the_field_and_nothing_written,
			setup, teardown),
		cmocka_unit_test_setup_teardown(version_5_params__keep_todays_anchor, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
