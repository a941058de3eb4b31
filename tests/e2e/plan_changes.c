/*
 * Changes of plan beyond the proration arithmetic (which proration_props.c
 * checks): what billing_subscription_change_plan() refuses and that a
 * refused change leaves the subscription, its invoices and its events as
 * they were; and where the next cycle starts when the interval changes
 * without proration or at the period end, as the preview shows it and as
 * the billing run then invoices it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	billing_customer *cus;
	billing_plan *plans[8];       /* freed by teardown */
	size_t nplans;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->w = tb_world_new();
	f->w->now = tbb_ts(2025, 1, 15, 9, 0, 0);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	f->cus = tb_customer(f->w, f->t, NULL);
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

static const char *plan(fx *f, tb_plan_spec spec)
{
	billing_plan *p = tb_plan(f->w, f->t, &spec);
	assert_true(f->nplans < sizeof(f->plans) / sizeof(f->plans[0]));
	f->plans[f->nplans++] = p;
	return billing_plan_id(p);
}

static int64_t count(fx *f, const char *table)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return tb_raw_count(f->w->url, sql);
}

static int change(fx *f, const char *sub_id, const billing_subscription_change_params *ch,
	billing_subscription **out)
{
	billing_subscription *tmp = NULL;
	int rc = billing_subscription_change_plan(out ? out : &tmp, f->w->ctx, &f->admin, sub_id,
		ch, NULL);
	billing_subscription_free(tmp);
	return rc;
}

/* Asserts the subscription is still what `before` was (same plan, version,
 * period, no pending change), and that no invoice or event was written. */
static void assert_untouched(fx *f, const billing_subscription *before, int64_t invoices,
	int64_t events)
{
	billing_subscription *now = tbb_sub_get(f->w, f->t, billing_subscription_id(before));
	assert_string_equal(billing_subscription_plan_id(now), billing_subscription_plan_id(before));
	assert_int_equal(billing_subscription_version(now), billing_subscription_version(before));
	assert_int_equal(billing_subscription_quantity(now), billing_subscription_quantity(before));
	assert_int_equal(billing_subscription_anchor(now), billing_subscription_anchor(before));
	assert_int_equal(billing_subscription_current_period_end(now),
		billing_subscription_current_period_end(before));
	assert_null(billing_subscription_pending_plan_id(now));
	billing_subscription_free(now);
	assert_int_equal(count(f, "invoices"), invoices);
	assert_int_equal(count(f, "events"), events);
}

/* ------------------------------------------------------------ refusals */

static void change_plan__bad_params_name_their_field_and_change_nothing(void **state)
{
	fx *f = *state;
	billing_subscription_change_params ch = BILLING_SUBSCRIPTION_CHANGE_INIT;
	const char *basic = plan(f, (tb_plan_spec){ .amount = 1000 });
	const char *pro = plan(f, (tb_plan_spec){ .amount = 3000 });
	billing_subscription *s = tbb_subscribe(f->w, f->t, billing_customer_id(f->cus), basic, 1);
	const char *id = billing_subscription_id(s);
	billing_subscription *out = NULL;
	int64_t invoices = count(f, "invoices"), events = count(f, "events");

	ch.plan_id = pro;
	ch.version = 0;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("version");
	ch.version = BILLING_SUBSCRIPTION_CHANGE_VERSION + 1;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("version");
	ch.version = BILLING_SUBSCRIPTION_CHANGE_VERSION;

	ch.plan_id = NULL;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("planId");
	ch.plan_id = pro;

	ch.quantity = -1;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("quantity");
	ch.quantity = 10001;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("quantity");
	ch.quantity = 0;

	ch.proration = (billing_proration_behavior)7;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("prorationBehavior");
	ch.proration = BILLING_PRORATE_CREATE;

	/* A plan id that cannot name a plan is the input's fault; a subscription
	 * id that cannot name one is not found. */
	ch.plan_id = "cus_00000000000000000000000000";
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("planId");
	tbb_assert_reason("resource_missing");
	ch.plan_id = pro;
	tb_assert_rc(change(f, "plan_00000000000000000000000000", &ch, &out), BILLING_ENOTFOUND);
	assert_null(out);

	/* The plan it is on already, with nothing scheduled. */
	ch.plan_id = basic;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("planId");
	tbb_assert_reason("same_plan");

	assert_untouched(f, s, invoices, events);
	billing_subscription_free(s);
}

static void change_plan__inactive_plan_or_another_currency_refused(void **state)
{
	fx *f = *state;
	billing_subscription_change_params ch = BILLING_SUBSCRIPTION_CHANGE_INIT;
	const char *eur = plan(f, (tb_plan_spec){ .amount = 1000 });
	const char *retired = plan(f, (tb_plan_spec){ .amount = 2000, .active = BILLING_FALSE });
	const char *usd = plan(f, (tb_plan_spec){ .amount = 2000, .currency = "USD" });
	billing_subscription *s = tbb_subscribe(f->w, f->t, billing_customer_id(f->cus), eur, 1);
	const char *id = billing_subscription_id(s);
	int64_t invoices = count(f, "invoices"), events = count(f, "events");

	f->w->now += 5 * TBB_DAY;
	ch.plan_id = retired;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("planId");
	tbb_assert_reason("plan_inactive");
	/* Not at the period end either: the plan must be active when asked. */
	ch.at_period_end = 1;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tbb_assert_reason("plan_inactive");

	ch.plan_id = usd;
	ch.at_period_end = 0;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tb_assert_field("planId");
	tbb_assert_reason("currency_mismatch");
	ch.at_period_end = 1;
	tb_assert_rc(change(f, id, &ch, NULL), BILLING_EINVALID);
	tbb_assert_reason("currency_mismatch");

	assert_untouched(f, s, invoices, events);
	billing_subscription_free(s);
}

static void change_plan__another_tenants_plan_is_missing(void **state)
{
	fx *f = *state;
	billing_subscription_change_params ch = BILLING_SUBSCRIPTION_CHANGE_INIT;
	const char *mine = plan(f, (tb_plan_spec){ .amount = 1000 });
	const char *other_t = tb_tenant(f->w, "Other");
	billing_plan *theirs = tb_plan(f->w, other_t, &(tb_plan_spec){ .amount = 1000 });
	billing_subscription *s = tbb_subscribe(f->w, f->t, billing_customer_id(f->cus), mine, 1);
	int64_t invoices = count(f, "invoices"), events = count(f, "events");

	ch.plan_id = billing_plan_id(theirs);
	tb_assert_rc(change(f, billing_subscription_id(s), &ch, NULL), BILLING_EINVALID);
	tb_assert_field("planId");
	tbb_assert_reason("resource_missing");
	/* ... and their admin cannot reach our subscription at all. */
	{
		billing_principal them = tb_admin(other_t);
		billing_subscription *out = NULL;
		tb_assert_rc(billing_subscription_change_plan(&out, f->w->ctx, &them,
			billing_subscription_id(s), &ch, NULL), BILLING_ENOTFOUND);
		assert_null(out);
	}
	assert_untouched(f, s, invoices, events);
	billing_plan_free(theirs);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ new cycles */

/* Without proration a change of interval takes the new plan at once but
 * bills nothing now: its first period starts when the paid one ends. */
static void change_interval_without_proration__new_cycle_from_the_period_end(void **state)
{
	fx *f = *state;
	billing_subscription_change_params ch = BILLING_SUBSCRIPTION_CHANGE_INIT;
	const char *monthly = plan(f, (tb_plan_spec){ .amount = 1000 });
	const char *yearly = plan(f, (tb_plan_spec){ .amount = 9900, .interval = BILLING_YEAR });
	billing_subscription *s = tbb_subscribe(f->w, f->t, billing_customer_id(f->cus), monthly, 2);
	billing_subscription *u = NULL;
	billing_invoice *pv = NULL;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	size_t n;

	f->w->now = tbb_ts(2025, 1, 25, 0, 0, 0);
	ch.plan_id = yearly;
	ch.proration = BILLING_PRORATE_NONE;
	tb_assert_rc(change(f, billing_subscription_id(s), &ch, &u), BILLING_OK);
	assert_string_equal(billing_subscription_plan_id(u), yearly);
	assert_null(billing_subscription_pending_plan_id(u));
	/* the paid month runs on; the cycle is anchored at its end */
	tbb_assert_time(billing_subscription_current_period_start(u), tbb_ts(2025, 1, 15, 9, 0, 0));
	tbb_assert_time(billing_subscription_current_period_end(u), tbb_ts(2025, 2, 15, 9, 0, 0));
	tbb_assert_time(billing_subscription_anchor(u), tbb_ts(2025, 2, 15, 9, 0, 0));
	billing_subscription_free(u);
	assert_int_equal(count(f, "invoices"), 1);
	assert_int_equal(count(f, "pending_lines"), 0);

	tb_assert_rc(billing_invoice_preview(&pv, f->w->ctx, &f->admin, billing_subscription_id(s)),
		BILLING_OK);
	tbb_assert_time(billing_invoice_period_start(pv), tbb_ts(2025, 2, 15, 9, 0, 0));
	tbb_assert_time(billing_invoice_period_end(pv), tbb_ts(2026, 2, 15, 9, 0, 0));
	assert_int_equal(billing_invoice_total(pv), 2 * 9900);
	billing_invoice_free(pv);

	f->w->now = tbb_ts(2025, 2, 15, 9, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 1, 1, 0, 0);
	n = tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv);
	assert_int_equal(n, 2);
	tbb_assert_plan_invoice(&inv[1], yearly, tbb_ts(2025, 2, 15, 9, 0, 0),
		tbb_ts(2026, 2, 15, 9, 0, 0), 2, 9900, 0);
	free(inv);
	u = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	tbb_assert_time(billing_subscription_current_period_end(u), tbb_ts(2026, 2, 15, 9, 0, 0));
	billing_subscription_free(u);
	billing_subscription_free(s);
}

/* A change of interval scheduled for the period end starts the new plan's
 * cycle at that end, not at the old anchor: weekly periods from Feb 15,
 * not from Jan 15 plus whole weeks. */
static void change_interval_at_period_end__new_cycle_starts_at_the_period_end(void **state)
{
	fx *f = *state;
	billing_subscription_change_params ch = BILLING_SUBSCRIPTION_CHANGE_INIT;
	const char *monthly = plan(f, (tb_plan_spec){ .amount = 4000 });
	const char *weekly = plan(f, (tb_plan_spec){ .amount = 900, .interval = BILLING_WEEK });
	billing_subscription *s = tbb_subscribe(f->w, f->t, billing_customer_id(f->cus), monthly, 1);
	billing_subscription *u = NULL;
	billing_invoice *pv = NULL;
	billing_run_report rep;
	tbb_invoice *inv = NULL;
	size_t n;

	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 0);
	ch.plan_id = weekly;
	ch.at_period_end = 1;
	ch.proration = BILLING_PRORATE_ALWAYS_INVOICE; /* ignored at the period end */
	tb_assert_rc(change(f, billing_subscription_id(s), &ch, &u), BILLING_OK);
	assert_string_equal(billing_subscription_plan_id(u), monthly);
	assert_string_equal(billing_subscription_pending_plan_id(u), weekly);
	billing_subscription_free(u);
	assert_int_equal(count(f, "invoices"), 1);

	tb_assert_rc(billing_invoice_preview(&pv, f->w->ctx, &f->admin, billing_subscription_id(s)),
		BILLING_OK);
	tbb_assert_time(billing_invoice_period_start(pv), tbb_ts(2025, 2, 15, 9, 0, 0));
	tbb_assert_time(billing_invoice_period_end(pv), tbb_ts(2025, 2, 22, 9, 0, 0));
	assert_int_equal(billing_invoice_total(pv), 900);
	billing_invoice_free(pv);

	/* The run at Feb 23 does the first weekly period and the next one. */
	f->w->now = tbb_ts(2025, 2, 23, 0, 0, 0);
	rep = tbb_run(f->w);
	tbb_assert_report(rep, 2, 2, 0, 0);
	n = tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv);
	assert_int_equal(n, 3);
	tbb_assert_plan_invoice(&inv[1], weekly, tbb_ts(2025, 2, 15, 9, 0, 0),
		tbb_ts(2025, 2, 22, 9, 0, 0), 1, 900, 0);
	tbb_assert_plan_invoice(&inv[2], weekly, tbb_ts(2025, 2, 22, 9, 0, 0),
		tbb_ts(2025, 3, 1, 9, 0, 0), 1, 900, 0);
	free(inv);
	u = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	assert_string_equal(billing_subscription_plan_id(u), weekly);
	assert_null(billing_subscription_pending_plan_id(u));
	tbb_assert_time(billing_subscription_anchor(u), tbb_ts(2025, 2, 15, 9, 0, 0));
	billing_subscription_free(u);
	billing_subscription_free(s);
}

/* A paused subscription cannot change plan, now or at the period end; the
 * refusal changes nothing. */
static void change_plan__paused_is_a_conflict(void **state)
{
	fx *f = *state;
	billing_subscription_change_params ch = BILLING_SUBSCRIPTION_CHANGE_INIT;
	const char *basic = plan(f, (tb_plan_spec){ .amount = 1000 });
	const char *pro = plan(f, (tb_plan_spec){ .amount = 3000 });
	billing_subscription *s = tbb_subscribe(f->w, f->t, billing_customer_id(f->cus), basic, 1);
	billing_subscription *p = NULL;
	int64_t invoices, events;

	tb_assert_rc(billing_subscription_pause(&p, f->w->ctx, &f->admin,
		billing_subscription_id(s), NULL), BILLING_OK);
	invoices = count(f, "invoices");
	events = count(f, "events");
	ch.plan_id = pro;
	tb_assert_rc(change(f, billing_subscription_id(s), &ch, NULL), BILLING_ECONFLICT);
	tbb_assert_reason("invalid_transition");
	ch.at_period_end = 1;
	tb_assert_rc(change(f, billing_subscription_id(s), &ch, NULL), BILLING_ECONFLICT);
	{
		billing_subscription *now = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
		assert_int_equal(billing_subscription_status_of(now), BILLING_SUB_PAUSED);
		assert_string_equal(billing_subscription_plan_id(now), basic);
		assert_int_equal(billing_subscription_version(now), billing_subscription_version(p));
		billing_subscription_free(now);
	}
	assert_int_equal(count(f, "invoices"), invoices);
	assert_int_equal(count(f, "events"), events);
	billing_subscription_free(p);
	billing_subscription_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(change_plan__bad_params_name_their_field_and_change_nothing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(change_plan__inactive_plan_or_another_currency_refused,
			setup, teardown),
		cmocka_unit_test_setup_teardown(change_plan__another_tenants_plan_is_missing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			change_interval_without_proration__new_cycle_from_the_period_end, setup, teardown),
		cmocka_unit_test_setup_teardown(
			change_interval_at_period_end__new_cycle_starts_at_the_period_end, setup, teardown),
		cmocka_unit_test_setup_teardown(change_plan__paused_is_a_conflict,
			setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
