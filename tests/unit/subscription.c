/*
 * Unit tests for subscription.c: bad input on create (exact code, field and
 * reason, nothing written), idempotent replays, list filters and keyset
 * pages, the transition table (every change not in it is refused with a
 * conflict), update validation, and roles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"

typedef struct {
	tb_world *w;
	const char *tenant;
	billing_principal admin;
	billing_customer *cus;
	billing_plan *plan;          /* monthly, 2900 */
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->w = tb_world_new();
	f->tenant = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->tenant);
	f->cus = tb_customer(f->w, f->tenant, NULL);
	f->plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .amount = 2900 });
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	billing_customer_free(f->cus);
	billing_plan_free(f->plan);
	tb_world_free(f->w);
	free(f);
	return 0;
}

static int64_t rows(fx *f, const char *table)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return tb_raw_count(f->w->url, sql);
}

static billing_subscription_params valid_params(fx *f)
{
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	p.customer_id = billing_customer_id(f->cus);
	p.plan_id = billing_plan_id(f->plan);
	return p;
}

static billing_subscription *create_ok(fx *f, const billing_subscription_params *p)
{
	billing_subscription *s = NULL;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, p, NULL), BILLING_OK);
	assert_non_null(s);
	return s;
}

/* Asserts create fails with want (field and reason when given) and writes
 * no subscription, invoice or event. */
static void create_refused(fx *f, const billing_subscription_params *p, int want,
	const char *field, const char *reason)
{
	billing_subscription *s = NULL;
	int64_t subs = rows(f, "subscriptions"), invs = rows(f, "invoices"),
		evs = rows(f, "events"), due = rows(f, "due_work");
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, p, NULL), want);
	if (field)
		tb_assert_field(field);
	if (reason)
		tbb_assert_reason(reason);
	assert_null(s);
	assert_int_equal(rows(f, "subscriptions"), subs);
	assert_int_equal(rows(f, "invoices"), invs);
	assert_int_equal(rows(f, "events"), evs);
	assert_int_equal(rows(f, "due_work"), due);
}

static billing_subscription *get(fx *f, const char *id)
{
	return tbb_sub_get(f->w, f->tenant, id);
}

/* ------------------------------------------------------------ create: bad input */

static void subscription_create__rejects_null_arguments_and_version_0(void **state)
{
	fx *f = *state;
	billing_subscription_params p = valid_params(f);
	billing_subscription *s = NULL;
	tb_assert_rc(billing_subscription_create(NULL, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("out");
	tb_assert_rc(billing_subscription_create(&s, NULL, &f->admin, &p, NULL), BILLING_EINVALID);
	tb_assert_field("ctx");
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, NULL, &p, NULL), BILLING_EINVALID);
	tb_assert_field("principal");
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, NULL, NULL),
		BILLING_EINVALID);
	tb_assert_field("params");
	assert_null(s);
	p.version = 0;
	create_refused(f, &p, BILLING_EINVALID, "version", NULL);
	p.version = BILLING_SUBSCRIPTION_PARAMS_VERSION + 1;
	create_refused(f, &p, BILLING_EINVALID, "version", NULL);
	p = valid_params(f);
	p.customer_id = NULL;
	create_refused(f, &p, BILLING_EINVALID, "customerId", NULL);
	p = valid_params(f);
	p.plan_id = NULL;
	create_refused(f, &p, BILLING_EINVALID, "planId", NULL);
	assert_int_equal(rows(f, "subscriptions"), 0);
}

static void subscription_create__quantity_between_1_and_10000_0_meaning_1(void **state)
{
	fx *f = *state;
	billing_subscription_params p = valid_params(f);
	billing_subscription *s;
	tbb_invoice *inv = NULL;
	size_t n;

	p.quantity = -1;
	create_refused(f, &p, BILLING_EINVALID, "quantity", NULL);
	p.quantity = 10001;
	create_refused(f, &p, BILLING_EINVALID, "quantity", NULL);
	p.quantity = INT32_MIN;
	create_refused(f, &p, BILLING_EINVALID, "quantity", NULL);
	/* subscription.h: 0 means 1 */
	p.quantity = 0;
	s = create_ok(f, &p);
	assert_int_equal(billing_subscription_quantity(s), 1);
	billing_subscription_free(s);
	p.quantity = 10000;
	s = create_ok(f, &p);
	assert_int_equal(billing_subscription_quantity(s), 10000);
	n = tbb_invoices(f->w, f->tenant, billing_subscription_id(s), &inv);
	assert_int_equal(n, 1);
	assert_int_equal(inv[0].line.quantity, 10000);
	assert_int_equal(inv[0].total, 29000000);
	free(inv);
	billing_subscription_free(s);
}

static void subscription_create__trial_days_0_to_730_override_the_plans(void **state)
{
	fx *f = *state;
	billing_plan *trial = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .trial_days = 14 });
	billing_subscription_params p = valid_params(f);
	billing_subscription *s;
	int64_t now = f->w->now;

	p.has_trial_days = 1;
	p.trial_days = 731;
	create_refused(f, &p, BILLING_EINVALID, "trialDays", NULL);
	p.trial_days = -1;
	create_refused(f, &p, BILLING_EINVALID, "trialDays", NULL);
	p.trial_days = 730;
	s = create_ok(f, &p);
	assert_int_equal(billing_subscription_status_of(s), BILLING_SUB_TRIALING);
	tbb_assert_time(billing_subscription_trial_end(s), now + 730 * TBB_DAY);
	billing_subscription_free(s);

	/* explicit 0 on a plan with a trial: none */
	p.plan_id = billing_plan_id(trial);
	p.trial_days = 0;
	s = create_ok(f, &p);
	assert_int_equal(billing_subscription_status_of(s), BILLING_SUB_ACTIVE);
	assert_int_equal(billing_subscription_trial_end(s), 0);
	billing_subscription_free(s);
	/* explicit 3 wins over the plan's 14 */
	p.trial_days = 3;
	s = create_ok(f, &p);
	tbb_assert_time(billing_subscription_trial_end(s), now + 3 * TBB_DAY);
	tbb_assert_time(billing_subscription_current_period_end(s), now + 3 * TBB_DAY);
	billing_subscription_free(s);
	/* unset: the plan's */
	p.has_trial_days = 0;
	p.trial_days = 3;
	s = create_ok(f, &p);
	tbb_assert_time(billing_subscription_trial_end(s), now + 14 * TBB_DAY);
	billing_subscription_free(s);
	billing_plan_free(trial);
}

static void subscription_create__start_at_must_not_be_in_the_future(void **state)
{
	fx *f = *state;
	billing_subscription_params p = valid_params(f);
	billing_subscription *s;
	p.start_at = f->w->now + 1;
	create_refused(f, &p, BILLING_EINVALID, "startAt", NULL);
	p.start_at = -5;
	create_refused(f, &p, BILLING_EINVALID, "startAt", NULL);
	p.start_at = f->w->now;
	s = create_ok(f, &p);
	tbb_assert_time(billing_subscription_current_period_start(s), f->w->now);
	billing_subscription_free(s);
}

static void subscription_create__customer_or_plan_of_another_tenant_is_missing(void **state)
{
	fx *f = *state;
	const char *other = tb_tenant(f->w, "Bolt");
	billing_customer *their_cus = tb_customer(f->w, other, NULL);
	billing_plan *their_plan = tb_plan(f->w, other, NULL);
	billing_subscription_params p = valid_params(f);

	p.customer_id = billing_customer_id(their_cus);
	create_refused(f, &p, BILLING_EINVALID, "customerId", "resource_missing");
	p = valid_params(f);
	p.plan_id = billing_plan_id(their_plan);
	create_refused(f, &p, BILLING_EINVALID, "planId", "resource_missing");
	/* well-formed ids that name nothing, and malformed ones */
	p = valid_params(f);
	p.customer_id = "cus_00000000000000000000000000";
	create_refused(f, &p, BILLING_EINVALID, "customerId", "resource_missing");
	p.customer_id = "not an id";
	create_refused(f, &p, BILLING_EINVALID, "customerId", "resource_missing");
	p = valid_params(f);
	p.plan_id = billing_customer_id(f->cus);   /* an id of another kind */
	create_refused(f, &p, BILLING_EINVALID, "planId", "resource_missing");
	billing_customer_free(their_cus);
	billing_plan_free(their_plan);
}

static void subscription_create__deleted_or_inactive_plan_refused(void **state)
{
	fx *f = *state;
	billing_plan *gone = tb_plan(f->w, f->tenant, NULL);
	billing_plan *off = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .active = BILLING_FALSE });
	billing_subscription_params p = valid_params(f);

	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, billing_plan_id(gone), 0), BILLING_OK);
	p.plan_id = billing_plan_id(gone);
	create_refused(f, &p, BILLING_EINVALID, "planId", "resource_missing");
	p.plan_id = billing_plan_id(off);
	create_refused(f, &p, BILLING_EINVALID, "planId", "plan_inactive");
	billing_plan_free(gone);
	billing_plan_free(off);
}

static void subscription_create__period_past_year_9999_is_overflow_nothing_written(
	void **state)
{
	fx *f = *state;
	billing_plan *yearly = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .interval = BILLING_YEAR });
	billing_subscription_params p = valid_params(f);
	billing_subscription *s;

	f->w->now = tbb_ts(9999, 12, 20, 0, 0, 0);
	create_refused(f, &p, BILLING_EOVERFLOW, NULL, NULL);
	p.plan_id = billing_plan_id(yearly);
	create_refused(f, &p, BILLING_EOVERFLOW, NULL, NULL);
	/* a trial that would end after 9999 */
	p.has_trial_days = 1;
	p.trial_days = 30;
	create_refused(f, &p, BILLING_EOVERFLOW, NULL, NULL);
	/* a month whose end is still in 9999 is fine */
	f->w->now = tbb_ts(9999, 11, 30, 0, 0, 0);
	p = valid_params(f);
	s = create_ok(f, &p);
	tbb_assert_time(billing_subscription_current_period_end(s), tbb_ts(9999, 12, 30, 0, 0, 0));
	billing_subscription_free(s);
	billing_plan_free(yearly);
}

/* ------------------------------------------------------------ create: replay */

static void subscription_create__idempotent_replay_returns_the_same_and_bills_once(
	void **state)
{
	fx *f = *state;
	billing_subscription_params p = valid_params(f);
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_subscription *a = NULL, *b = NULL, *c = NULL;
	int replayed = -1;

	o.idempotency_key = "create-sub-1";
	o.replayed = &replayed;
	p.quantity = 2;
	tb_assert_rc(billing_subscription_create(&a, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	assert_int_equal(replayed, 0);
	f->w->now += 60;
	tb_assert_rc(billing_subscription_create(&b, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	assert_int_equal(replayed, 1);
	assert_string_equal(billing_subscription_id(a), billing_subscription_id(b));
	assert_string_equal(billing_subscription_latest_invoice_id(a),
		billing_subscription_latest_invoice_id(b));
	assert_int_equal(billing_subscription_current_period_start(b),
		billing_subscription_current_period_start(a));
	assert_int_equal(rows(f, "subscriptions"), 1);
	assert_int_equal(rows(f, "invoices"), 1);
	assert_int_equal(tb_raw_count(f->w->url,
		"SELECT count(*) FROM events WHERE type = 'subscription.created'"), 1);

	/* the same key with other input */
	p.quantity = 3;
	tb_assert_rc(billing_subscription_create(&c, f->w->ctx, &f->admin, &p, &o),
		BILLING_ECONFLICT);
	tbb_assert_reason("idempotency_mismatch");
	assert_null(c);
	assert_int_equal(rows(f, "subscriptions"), 1);
	assert_int_equal(rows(f, "invoices"), 1);

	/* another key: a second subscription */
	o.idempotency_key = "create-sub-2";
	tb_assert_rc(billing_subscription_create(&c, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	assert_int_equal(replayed, 0);
	assert_string_not_equal(billing_subscription_id(c), billing_subscription_id(a));
	assert_int_equal(rows(f, "invoices"), 2);
	billing_subscription_free(a);
	billing_subscription_free(b);
	billing_subscription_free(c);
}

/* ------------------------------------------------------------ list */

/* The ids of one list call, in order, across every page (limit per page). */
static size_t list_ids(fx *f, billing_subscription_list_params lp, unsigned int limit,
	char ids[][64], size_t max, int64_t *period_ends)
{
	size_t n = 0, i;
	char *cursor = NULL;
	lp.list.limit = limit;
	for (;;) {
		billing_page *page = NULL;
		tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
		assert_true(billing_page_count(page) <= limit);
		for (i = 0; i < billing_page_count(page); i++) {
			const billing_subscription *s = billing_page_subscription(page, i);
			assert_true(n < max);
			snprintf(ids[n], 64, "%s", billing_subscription_id(s));
			if (period_ends)
				period_ends[n] = billing_subscription_current_period_end(s);
			n++;
		}
		free(cursor);
		cursor = NULL;
		if (!billing_page_has_more(page)) {
			billing_page_free(page);
			break;
		}
		assert_int_equal(billing_page_count(page), limit);
		cursor = strdup(billing_page_next_cursor(page));
		billing_page_free(page);
		lp.list.starting_after = cursor;
	}
	return n;
}

static int has_id(char ids[][64], size_t n, const char *id)
{
	size_t i;
	int found = 0;
	for (i = 0; i < n; i++)
		found += strcmp(ids[i], id) == 0;
	return found;
}

static void subscription_list__filters_by_customer_plan_and_status(void **state)
{
	fx *f = *state;
	billing_customer *c2 = tb_customer(f->w, f->tenant, NULL);
	billing_plan *p2 = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .trial_days = 7 });
	billing_subscription_list_params lp = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_subscription_params p = valid_params(f);
	billing_subscription *s[4], *c;
	char ids[16][64];
	size_t n, i;

	/* s0: cus/plan, s1: cus/p2 (trialing), s2: c2/plan (canceled), s3: c2/p2 (trialing) */
	s[0] = create_ok(f, &p);
	p.plan_id = billing_plan_id(p2);
	s[1] = create_ok(f, &p);
	p.customer_id = billing_customer_id(c2);
	p.plan_id = billing_plan_id(f->plan);
	s[2] = create_ok(f, &p);
	p.plan_id = billing_plan_id(p2);
	s[3] = create_ok(f, &p);
	tb_assert_rc(billing_subscription_cancel(&c, f->w->ctx, &f->admin,
		billing_subscription_id(s[2]), 0, NULL), BILLING_OK);
	billing_subscription_free(c);

	n = list_ids(f, lp, 100, ids, 16, NULL);
	assert_int_equal(n, 4);

	lp.customer_id = billing_customer_id(f->cus);
	n = list_ids(f, lp, 100, ids, 16, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(has_id(ids, n, billing_subscription_id(s[0])), 1);
	assert_int_equal(has_id(ids, n, billing_subscription_id(s[1])), 1);

	lp.customer_id = NULL;
	lp.plan_id = billing_plan_id(p2);
	n = list_ids(f, lp, 100, ids, 16, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(has_id(ids, n, billing_subscription_id(s[1])), 1);
	assert_int_equal(has_id(ids, n, billing_subscription_id(s[3])), 1);

	lp.plan_id = NULL;
	lp.status = BILLING_SUB_CANCELED;
	n = list_ids(f, lp, 100, ids, 16, NULL);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], billing_subscription_id(s[2]));
	lp.status = BILLING_SUB_TRIALING;
	n = list_ids(f, lp, 100, ids, 16, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(has_id(ids, n, billing_subscription_id(s[1])), 1);
	assert_int_equal(has_id(ids, n, billing_subscription_id(s[3])), 1);
	lp.status = BILLING_SUB_ACTIVE;
	n = list_ids(f, lp, 100, ids, 16, NULL);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], billing_subscription_id(s[0]));
	lp.status = BILLING_SUB_EXPIRED;
	n = list_ids(f, lp, 100, ids, 16, NULL);
	assert_int_equal(n, 0);

	/* all three at once */
	lp.status = BILLING_SUB_TRIALING;
	lp.customer_id = billing_customer_id(c2);
	lp.plan_id = billing_plan_id(p2);
	n = list_ids(f, lp, 100, ids, 16, NULL);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], billing_subscription_id(s[3]));

	/* bad filters */
	{
		billing_subscription_list_params bad = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
		const char *other = tb_tenant(f->w, "Bolt");
		billing_customer *their = tb_customer(f->w, other, NULL);
		billing_page *page = NULL;
		bad.customer_id = billing_customer_id(their);
		tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &f->admin, &bad),
			BILLING_EINVALID);
		tbb_assert_reason("resource_missing");
		tb_assert_field("customerId");
		billing_customer_free(their);
		bad.customer_id = NULL;
		bad.plan_id = "plan_00000000000000000000000000";
		tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &f->admin, &bad),
			BILLING_EINVALID);
		tbb_assert_reason("resource_missing");
		tb_assert_field("planId");
		bad.plan_id = NULL;
		bad.status = (billing_subscription_status)99;
		tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &f->admin, &bad),
			BILLING_EINVALID);
		tb_assert_field("status");
		bad.status = 0;
		bad.version = 0;
		tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &f->admin, &bad),
			BILLING_EINVALID);
		tb_assert_field("version");
		assert_null(page);
	}
	for (i = 0; i < 4; i++)
		billing_subscription_free(s[i]);
	billing_customer_free(c2);
	billing_plan_free(p2);
}

static void subscription_list__keyset_pages_visit_each_once_in_order(void **state)
{
	fx *f = *state;
	billing_subscription_list_params lp = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_subscription_params p = valid_params(f);
	billing_interval ivs[] = { BILLING_YEAR, BILLING_DAY, BILLING_MONTH, BILLING_WEEK };
	billing_subscription *s[9];
	billing_plan *plans[4];
	char ids[16][64];
	int64_t ends[16];
	size_t n, i;

	for (i = 0; i < 4; i++)
		plans[i] = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .interval = ivs[i] });
	/* 9 subscriptions, several created in the same second (ties on createdAt
	 * and on currentPeriodEnd) */
	for (i = 0; i < 9; i++) {
		if (i % 3 == 0)
			f->w->now += 1;
		p.plan_id = billing_plan_id(plans[i % 4]);
		s[i] = create_ok(f, &p);
	}
	n = list_ids(f, lp, 2, ids, 16, NULL);
	assert_int_equal(n, 9);
	for (i = 0; i < 9; i++)
		assert_int_equal(has_id(ids, n, billing_subscription_id(s[i])), 1);

	lp.list.sort_by = "currentPeriodEnd";
	n = list_ids(f, lp, 2, ids, 16, ends);
	assert_int_equal(n, 9);
	for (i = 0; i < 9; i++)
		assert_int_equal(has_id(ids, n, billing_subscription_id(s[i])), 1);
	for (i = 1; i < n; i++)
		assert_true(ends[i - 1] <= ends[i]);
	lp.list.order = BILLING_ORDER_DESC;
	n = list_ids(f, lp, 4, ids, 16, ends);
	assert_int_equal(n, 9);
	for (i = 1; i < n; i++)
		assert_true(ends[i - 1] >= ends[i]);

	/* a cursor is bound to its query */
	{
		billing_subscription_list_params a = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
		billing_page *page = NULL, *other = NULL;
		a.list.limit = 2;
		tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &f->admin, &a), BILLING_OK);
		a.list.starting_after = billing_page_next_cursor(page);
		a.customer_id = billing_customer_id(f->cus);
		tb_assert_rc(billing_subscription_list(&other, f->w->ctx, &f->admin, &a),
			BILLING_EINVALID);
		tb_assert_field("startingAfter");
		billing_page_free(page);
	}
	for (i = 0; i < 9; i++)
		billing_subscription_free(s[i]);
	for (i = 0; i < 4; i++)
		billing_plan_free(plans[i]);
}

/* ------------------------------------------------------------ transitions */

static int allowed(billing_subscription_status from, billing_subscription_status to)
{
	size_t n, i;
	const billing_subscription_transition *t = billing_subscription_transitions(&n);
	for (i = 0; i < n; i++)
		if (t[i].from == from && t[i].to == to)
			return 1;
	return 0;
}

static void subscription_transitions__table_is_well_formed(void **state)
{
	size_t n, i, j;
	const billing_subscription_transition *t = billing_subscription_transitions(&n);
	(void)state;
	assert_non_null(t);
	assert_true(n > 0);
	assert_ptr_equal(billing_subscription_transitions(NULL), t);
	for (i = 0; i < n; i++) {
		assert_non_null(billing_subscription_status_name(t[i].from));
		assert_non_null(billing_subscription_status_name(t[i].to));
		assert_non_null(t[i].why);
		assert_true(t[i].why[0] != '\0');
		/* ended is ended */
		assert_true(t[i].from != BILLING_SUB_CANCELED && t[i].from != BILLING_SUB_EXPIRED &&
			t[i].from != BILLING_SUB_INCOMPLETE_EXPIRED);
		for (j = i + 1; j < n; j++)
			assert_false(t[i].from == t[j].from && t[i].to == t[j].to);
	}
	/* what the calendar and the calls rely on */
	assert_true(allowed(BILLING_SUB_TRIALING, BILLING_SUB_ACTIVE));
	assert_true(allowed(BILLING_SUB_TRIALING, BILLING_SUB_CANCELED));
	assert_true(allowed(BILLING_SUB_ACTIVE, BILLING_SUB_ACTIVE));
	assert_true(allowed(BILLING_SUB_ACTIVE, BILLING_SUB_CANCELED));
	assert_true(allowed(BILLING_SUB_ACTIVE, BILLING_SUB_EXPIRED));
	assert_false(allowed(BILLING_SUB_TRIALING, BILLING_SUB_EXPIRED));
	assert_false(allowed(BILLING_SUB_CANCELED, BILLING_SUB_ACTIVE));
	assert_false(allowed(BILLING_SUB_EXPIRED, BILLING_SUB_ACTIVE));
	assert_true(allowed(BILLING_SUB_PAST_DUE, BILLING_SUB_UNPAID));
	assert_true(allowed(BILLING_SUB_UNPAID, BILLING_SUB_ACTIVE));
	assert_false(allowed(BILLING_SUB_ACTIVE, BILLING_SUB_UNPAID));
	assert_string_equal(billing_subscription_status_name(BILLING_SUB_PAST_DUE), "past_due");
	assert_string_equal(billing_subscription_status_name(BILLING_SUB_UNPAID), "unpaid");
	/* incomplete (#18 item 5): active once paid, else it expires; never
	 * past_due, paused or renewed while incomplete */
	assert_true(allowed(BILLING_SUB_INCOMPLETE, BILLING_SUB_ACTIVE));
	assert_true(allowed(BILLING_SUB_INCOMPLETE, BILLING_SUB_INCOMPLETE_EXPIRED));
	assert_true(allowed(BILLING_SUB_INCOMPLETE, BILLING_SUB_CANCELED));
	assert_false(allowed(BILLING_SUB_INCOMPLETE, BILLING_SUB_PAST_DUE));
	assert_false(allowed(BILLING_SUB_INCOMPLETE, BILLING_SUB_PAUSED));
	assert_false(allowed(BILLING_SUB_ACTIVE, BILLING_SUB_INCOMPLETE));
	assert_false(allowed(BILLING_SUB_ACTIVE, BILLING_SUB_INCOMPLETE_EXPIRED));
	assert_string_equal(billing_subscription_status_name(BILLING_SUB_INCOMPLETE), "incomplete");
	assert_string_equal(billing_subscription_status_name(BILLING_SUB_INCOMPLETE_EXPIRED),
		"incomplete_expired");
	assert_null(billing_subscription_status_name((billing_subscription_status)0));
	assert_null(billing_subscription_status_name((billing_subscription_status)10));
}

/* A subscription in each status the public calls can reach. */
static billing_subscription *in_status(fx *f, billing_subscription_status st)
{
	billing_subscription_params p = valid_params(f);
	billing_subscription *s, *c = NULL, *got;
	billing_plan *plan = NULL;
	if (st == BILLING_SUB_TRIALING) {
		p.has_trial_days = 1;
		p.trial_days = 10;
	}
	if (st == BILLING_SUB_EXPIRED) {
		plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .term_count = 1,
			.interval = BILLING_DAY });
		p.plan_id = billing_plan_id(plan);
	}
	if (st == BILLING_SUB_INCOMPLETE || st == BILLING_SUB_INCOMPLETE_EXPIRED)
		p.payment_behavior = BILLING_PAYMENT_BEHAVIOR_DEFAULT_INCOMPLETE;
	s = create_ok(f, &p);
	if (st == BILLING_SUB_INCOMPLETE_EXPIRED) {
		f->w->now += 23 * 3600;       /* not paid within its window */
		tbb_run(f->w);
	}
	if (st == BILLING_SUB_CANCELED) {
		tb_assert_rc(billing_subscription_cancel(&c, f->w->ctx, &f->admin,
			billing_subscription_id(s), 0, NULL), BILLING_OK);
		billing_subscription_free(c);
	}
	if (st == BILLING_SUB_EXPIRED) {
		f->w->now += TBB_DAY;
		tbb_run(f->w);
	}
	billing_plan_free(plan);
	got = get(f, billing_subscription_id(s));
	billing_subscription_free(s);
	assert_int_equal(billing_subscription_status_of(got), st);
	return got;
}

static void assert_unchanged(fx *f, const billing_subscription *before)
{
	billing_subscription *now = get(f, billing_subscription_id(before));
	assert_int_equal(billing_subscription_version(now), billing_subscription_version(before));
	assert_int_equal(billing_subscription_status_of(now), billing_subscription_status_of(before));
	assert_int_equal(billing_subscription_cancel_at_period_end(now),
		billing_subscription_cancel_at_period_end(before));
	assert_int_equal(billing_subscription_ended_at(now), billing_subscription_ended_at(before));
	billing_subscription_free(now);
}

static void subscription_calls__every_change_not_in_the_table_is_a_conflict(void **state)
{
	static const billing_subscription_status reachable[] = { BILLING_SUB_TRIALING,
		BILLING_SUB_ACTIVE, BILLING_SUB_CANCELED, BILLING_SUB_EXPIRED,
		BILLING_SUB_INCOMPLETE, BILLING_SUB_INCOMPLETE_EXPIRED };
	fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(reachable) / sizeof(reachable[0]); i++) {
		billing_subscription_status st = reachable[i];
		int ended = st == BILLING_SUB_CANCELED || st == BILLING_SUB_EXPIRED ||
			st == BILLING_SUB_INCOMPLETE_EXPIRED;
		billing_subscription_update_params up = BILLING_SUBSCRIPTION_UPDATE_INIT;
		billing_subscription *s, *out = NULL;
		int64_t events;
		int rc;

		/* cancel now: st -> canceled, as the table says */
		s = in_status(f, st);
		events = rows(f, "events");
		rc = billing_subscription_cancel(&out, f->w->ctx, &f->admin,
			billing_subscription_id(s), 0, NULL);
		if (allowed(st, BILLING_SUB_CANCELED)) {
			tb_assert_rc(rc, BILLING_OK);
			assert_int_equal(billing_subscription_status_of(out), BILLING_SUB_CANCELED);
			billing_subscription_free(out);
			out = NULL;
		} else {
			tb_assert_rc(rc, BILLING_ECONFLICT);
			tbb_assert_reason("invalid_transition");
			assert_null(out);
			assert_unchanged(f, s);
			assert_int_equal(rows(f, "events"), events);
		}
		billing_subscription_free(s);

		/* cancel at period end changes no status now, but an ended one is
		 * refused, and so is asking twice */
		s = in_status(f, st);
		events = rows(f, "events");
		rc = billing_subscription_cancel(&out, f->w->ctx, &f->admin,
			billing_subscription_id(s), 1, NULL);
		if (ended) {
			tb_assert_rc(rc, BILLING_ECONFLICT);
			tbb_assert_reason("invalid_transition");
			assert_null(out);
			assert_unchanged(f, s);
			assert_int_equal(rows(f, "events"), events);
		} else {
			tb_assert_rc(rc, BILLING_OK);
			assert_int_equal(billing_subscription_status_of(out), st);
			assert_int_equal(billing_subscription_cancel_at_period_end(out), 1);
			billing_subscription_free(s);
			s = out;
			out = NULL;
			tb_assert_rc(billing_subscription_cancel(&out, f->w->ctx, &f->admin,
				billing_subscription_id(s), 1, NULL), BILLING_ECONFLICT);
			tbb_assert_reason("invalid_transition");
			assert_null(out);
			assert_unchanged(f, s);
		}
		billing_subscription_free(s);

		/* update: refused once ended */
		s = in_status(f, st);
		up.fields = BILLING_SUBSCRIPTION_QUANTITY;
		up.quantity = 4;
		rc = billing_subscription_update(&out, f->w->ctx, &f->admin,
			billing_subscription_id(s), &up, NULL);
		if (ended) {
			tb_assert_rc(rc, BILLING_ECONFLICT);
			tbb_assert_reason("invalid_transition");
			assert_null(out);
			assert_unchanged(f, s);
			up.fields = BILLING_SUBSCRIPTION_CANCEL_AT_PERIOD_END;
			up.cancel_at_period_end = 0;
			tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &f->admin,
				billing_subscription_id(s), &up, NULL), BILLING_ECONFLICT);
			assert_unchanged(f, s);
		} else {
			tb_assert_rc(rc, BILLING_OK);
			assert_int_equal(billing_subscription_quantity(out), 4);
			assert_int_equal(billing_subscription_status_of(out), st);
			billing_subscription_free(out);
			out = NULL;
		}
		billing_subscription_free(s);
	}
}

static void invoice_void__follows_the_invoice_transition_table(void **state)
{
	fx *f = *state;
	size_t n, i;
	const billing_invoice_transition *t = billing_invoice_transitions(&n);
	billing_subscription_params p = valid_params(f);
	billing_subscription *pending_sub, *trial_sub;
	billing_invoice *out = NULL;
	int void_from_pending = 0, void_from_paid = 0, void_from_void = 0, void_from_draft = 0;
	int draft_finalized = 0, written_off = 0, written_off_paid = 0, draft_written_off = 0;

	for (i = 0; i < n; i++) {
		assert_non_null(billing_invoice_status_name(t[i].from));
		assert_non_null(billing_invoice_status_name(t[i].to));
		assert_true(t[i].from != BILLING_INVOICE_VOID);   /* void is final */
		assert_false(t[i].from == BILLING_INVOICE_PAID && t[i].to != BILLING_INVOICE_PAID);
		void_from_pending |= t[i].from == BILLING_INVOICE_PENDING && t[i].to == BILLING_INVOICE_VOID;
		void_from_paid |= t[i].from == BILLING_INVOICE_PAID && t[i].to == BILLING_INVOICE_VOID;
		void_from_void |= t[i].from == BILLING_INVOICE_VOID && t[i].to == BILLING_INVOICE_VOID;
		void_from_draft |= t[i].from == BILLING_INVOICE_DRAFT && t[i].to == BILLING_INVOICE_VOID;
		draft_finalized |= t[i].from == BILLING_INVOICE_DRAFT &&
			t[i].to == BILLING_INVOICE_PENDING;
		written_off |= t[i].from == BILLING_INVOICE_PENDING &&
			t[i].to == BILLING_INVOICE_UNCOLLECTIBLE;
		written_off_paid |= t[i].from == BILLING_INVOICE_UNCOLLECTIBLE &&
			t[i].to == BILLING_INVOICE_PAID;
		draft_written_off |= t[i].from == BILLING_INVOICE_DRAFT &&
			t[i].to == BILLING_INVOICE_UNCOLLECTIBLE;
	}
	assert_true(void_from_pending);
	assert_false(void_from_paid);
	assert_false(void_from_void);
	/* Drafts (#20 item 2): finalized or deleted, never voided nor written
	 * off; an uncollectible invoice may still be paid. */
	assert_false(void_from_draft);
	assert_true(draft_finalized);
	assert_false(draft_written_off);
	assert_true(written_off);
	assert_true(written_off_paid);
	assert_string_equal(billing_invoice_status_name(BILLING_INVOICE_UNCOLLECTIBLE),
		"uncollectible");

	pending_sub = create_ok(f, &p);
	p.has_trial_days = 1;
	p.trial_days = 5;
	trial_sub = create_ok(f, &p);
	tb_assert_rc(billing_invoice_void(&out, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(trial_sub), NULL), BILLING_ECONFLICT);
	tbb_assert_reason("invalid_transition");
	assert_null(out);
	tb_assert_rc(billing_invoice_void(&out, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(pending_sub), NULL), BILLING_OK);
	billing_invoice_free(out);
	out = NULL;
	tb_assert_rc(billing_invoice_void(&out, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(pending_sub), NULL), BILLING_ECONFLICT);
	tbb_assert_reason("invalid_transition");
	billing_subscription_free(pending_sub);
	billing_subscription_free(trial_sub);
}

static size_t invoice_count(fx *f, billing_invoice_list_params lp)
{
	billing_page *page = NULL;
	size_t n;
	lp.list.limit = 100;
	tb_assert_rc(billing_invoice_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	n = billing_page_count(page);
	billing_page_free(page);
	return n;
}

static void invoice_list__filters_by_customer_subscription_and_status(void **state)
{
	fx *f = *state;
	billing_customer *c2 = tb_customer(f->w, f->tenant, NULL);
	billing_subscription_params p = valid_params(f);
	billing_invoice_list_params lp = BILLING_INVOICE_LIST_PARAMS_INIT;
	billing_subscription *a, *b, *t;
	billing_invoice *v = NULL;
	billing_page *page = NULL;

	a = create_ok(f, &p);                       /* pending, voided below */
	p.has_trial_days = 1;
	p.trial_days = 3;
	t = create_ok(f, &p);                       /* paid (trial) */
	p.has_trial_days = 0;
	p.customer_id = billing_customer_id(c2);
	b = create_ok(f, &p);                       /* pending, c2 */
	f->w->now += 3 * TBB_DAY;
	tbb_run(f->w);                              /* t's first charge: pending */
	tb_assert_rc(billing_invoice_void(&v, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(a), NULL), BILLING_OK);
	billing_invoice_free(v);

	assert_int_equal(invoice_count(f, lp), 4);
	lp.customer_id = billing_customer_id(f->cus);
	assert_int_equal(invoice_count(f, lp), 3);
	lp.customer_id = billing_customer_id(c2);
	assert_int_equal(invoice_count(f, lp), 1);
	lp.customer_id = NULL;
	lp.subscription_id = billing_subscription_id(t);
	assert_int_equal(invoice_count(f, lp), 2);
	lp.subscription_id = NULL;
	lp.status = BILLING_INVOICE_VOID;
	assert_int_equal(invoice_count(f, lp), 1);
	lp.status = BILLING_INVOICE_PAID;
	assert_int_equal(invoice_count(f, lp), 1);
	lp.status = BILLING_INVOICE_PENDING;
	assert_int_equal(invoice_count(f, lp), 2);
	lp.subscription_id = billing_subscription_id(t);
	assert_int_equal(invoice_count(f, lp), 1);
	lp.customer_id = billing_customer_id(c2);
	assert_int_equal(invoice_count(f, lp), 0);
	lp.customer_id = NULL;
	lp.subscription_id = NULL;
	lp.status = (billing_invoice_status)9;
	tb_assert_rc(billing_invoice_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("status");
	assert_null(page);
	billing_subscription_free(a);
	billing_subscription_free(b);
	billing_subscription_free(t);
	billing_customer_free(c2);
}

/* ------------------------------------------------------------ update */

static void subscription_update__validates_fields_quantity_and_version(void **state)
{
	fx *f = *state;
	billing_subscription_params p = valid_params(f);
	billing_subscription_update_params up = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_subscription *s = create_ok(f, &p), *out = NULL;
	const char *id = billing_subscription_id(s);

	tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &f->admin, id, &up, NULL),
		BILLING_EINVALID);
	tb_assert_field("fields");
	up.fields = 1u << 10;
	tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &f->admin, id, &up, NULL),
		BILLING_EINVALID);
	tb_assert_field("fields");
	up.fields = BILLING_SUBSCRIPTION_QUANTITY;
	up.quantity = 0;
	tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &f->admin, id, &up, NULL),
		BILLING_EINVALID);
	tb_assert_field("quantity");
	up.quantity = 10001;
	tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &f->admin, id, &up, NULL),
		BILLING_EINVALID);
	tb_assert_field("quantity");
	up.quantity = 2;
	up.expected_version = billing_subscription_version(s) + 5;
	tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &f->admin, id, &up, NULL),
		BILLING_ESTALE);
	assert_unchanged(f, s);
	tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &f->admin,
		"sub_00000000000000000000000000", &up, NULL), BILLING_ENOTFOUND);
	assert_null(out);

	up.expected_version = billing_subscription_version(s);
	tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &f->admin, id, &up, NULL),
		BILLING_OK);
	assert_int_equal(billing_subscription_quantity(out), 2);
	assert_int_equal(billing_subscription_version(out), billing_subscription_version(s) + 1);
	/* only the named field changed */
	assert_int_equal(billing_subscription_cancel_at_period_end(out), 0);
	tbb_assert_time(billing_subscription_current_period_end(out),
		billing_subscription_current_period_end(s));
	/* the running period's invoice keeps its quantity */
	{
		tbb_invoice *inv = NULL;
		size_t n = tbb_invoices(f->w, f->tenant, id, &inv);
		assert_int_equal(n, 1);
		assert_int_equal(inv[0].line.quantity, 1);
		assert_int_equal(inv[0].total, 2900);
		free(inv);
	}
	billing_subscription_free(out);
	billing_subscription_free(s);
}

static void subscription_calls__unknown_ids_are_not_found_or_missing(void **state)
{
	fx *f = *state;
	billing_subscription *out = NULL;
	billing_invoice *inv = NULL;
	tb_assert_rc(billing_subscription_get(&out, f->w->ctx, &f->admin,
		"sub_00000000000000000000000000"), BILLING_ENOTFOUND);
	tb_assert_rc(billing_subscription_get(&out, f->w->ctx, &f->admin, "garbage"),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_subscription_get(&out, f->w->ctx, &f->admin, NULL), BILLING_ENOTFOUND);
	tb_assert_rc(billing_subscription_cancel(&out, f->w->ctx, &f->admin,
		"sub_00000000000000000000000000", 0, NULL), BILLING_ENOTFOUND);
	/* preview takes the id as a query's: naming nothing is resource_missing */
	tb_assert_rc(billing_invoice_preview(&inv, f->w->ctx, &f->admin,
		"sub_00000000000000000000000000"), BILLING_EINVALID);
	tbb_assert_reason("resource_missing");
	tb_assert_field("subscriptionId");
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, "in_000000000000000000000000"),
		BILLING_ENOTFOUND);
	assert_null(out);
	assert_null(inv);
}

/* ------------------------------------------------------------ roles */

static void subscription_writes__forbidden_to_the_user_role(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant);
	billing_subscription_params p = valid_params(f);
	billing_subscription_update_params up = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_subscription_list_params lp = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_subscription *s = create_ok(f, &p), *out = NULL;
	const char *id = billing_subscription_id(s);
	billing_invoice *inv = NULL;
	billing_page *page = NULL;
	int64_t subs = rows(f, "subscriptions"), invs = rows(f, "invoices");

	tb_assert_rc(billing_subscription_create(&out, f->w->ctx, &user, &p, NULL),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_subscription_cancel(&out, f->w->ctx, &user, id, 0, NULL),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_subscription_cancel(&out, f->w->ctx, &user, id, 1, NULL),
		BILLING_EFORBIDDEN);
	up.fields = BILLING_SUBSCRIPTION_QUANTITY;
	up.quantity = 7;
	tb_assert_rc(billing_subscription_update(&out, f->w->ctx, &user, id, &up, NULL),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_invoice_void(&inv, f->w->ctx, &user,
		billing_subscription_latest_invoice_id(s), NULL), BILLING_EFORBIDDEN);
	assert_null(out);
	assert_null(inv);
	assert_unchanged(f, s);
	assert_int_equal(rows(f, "subscriptions"), subs);
	assert_int_equal(rows(f, "invoices"), invs);

	/* reads are allowed */
	tb_assert_rc(billing_subscription_get(&out, f->w->ctx, &user, id), BILLING_OK);
	billing_subscription_free(out);
	tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &user, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &user,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	billing_invoice_free(inv);
	inv = NULL;
	tb_assert_rc(billing_invoice_preview(&inv, f->w->ctx, &user, id), BILLING_OK);
	billing_invoice_free(inv);
	billing_subscription_free(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(subscription_create__rejects_null_arguments_and_version_0),
		T(subscription_create__quantity_between_1_and_10000_0_meaning_1),
		T(subscription_create__trial_days_0_to_730_override_the_plans),
		T(subscription_create__start_at_must_not_be_in_the_future),
		T(subscription_create__customer_or_plan_of_another_tenant_is_missing),
		T(subscription_create__deleted_or_inactive_plan_refused),
		T(subscription_create__period_past_year_9999_is_overflow_nothing_written),
		T(subscription_create__idempotent_replay_returns_the_same_and_bills_once),
		T(subscription_list__filters_by_customer_plan_and_status),
		T(subscription_list__keyset_pages_visit_each_once_in_order),
		T(subscription_transitions__table_is_well_formed),
		T(subscription_calls__every_change_not_in_the_table_is_a_conflict),
		T(invoice_void__follows_the_invoice_transition_table),
		T(invoice_list__filters_by_customer_subscription_and_status),
		T(subscription_update__validates_fields_quantity_and_version),
		T(subscription_calls__unknown_ids_are_not_found_or_missing),
		T(subscription_writes__forbidden_to_the_user_role),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
