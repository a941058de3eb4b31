/*
 * Property test of the billing calendar and the run, over random schedules
 * that live side by side in one database on one clock:
 *
 *   each schedule: a tenant (shared with two others), a plan of a random interval (DAY, WEEK,
 *   MONTH, YEAR) x count 1..3, a random amount, quantity and tax rate, a
 *   random anchor in 2024-2030 (month ends favoured), sometimes created late
 *   with the anchor as a backdated start, and a random span after which it
 *   is canceled; billing runs happen at random moments in between.
 *
 *   when a schedule ends: its invoices' periods tile time from the anchor
 *   with no gap and no overlap, each is exactly the calendar's period (an
 *   independent implementation, tb_billing.h), there is one per period
 *   begun by then, each total = amount x quantity + tax (half away from
 *   zero), and the tenant's invoice numbers are 1..N.
 *
 * 2000 schedules on SQLite, 100 on PostgreSQL; BILLING_TEST_SCHEDULES=<n>
 * runs more (a soak). BILLING_TEST_SEED=<n> replays a failing seed (the
 * seed is printed first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int64_t between(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

/* ------------------------------------------------------------ schedules */

/* A tenant and its customer, shared by a few schedules (fewer setup
 * transactions: SQLite syncs each one). */
typedef struct {
	char id[64], customer_id[64];
} prop_tenant;

#define PER_TENANT 3

static void make_tenant(tb_world *w, prop_tenant *t)
{
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_principal op = tb_platform();
	billing_tenant *bt = NULL;
	billing_customer *cus;
	/* made here, not with tb_tenant: more tenants than a world keeps */
	tp.name = "Prop";
	tb_assert_rc(billing_tenant_create(&bt, w->ctx, &op, &tp, NULL), BILLING_OK);
	snprintf(t->id, sizeof(t->id), "%s", billing_tenant_id(bt));
	billing_tenant_free(bt);
	cus = tb_customer(w, t->id, NULL);
	snprintf(t->customer_id, sizeof(t->customer_id), "%s", billing_customer_id(cus));
	billing_customer_free(cus);
}

typedef struct {
	const char *tenant;
	char customer_id[64], plan_id[64], sub_id[64];
	billing_interval interval;
	int32_t count, quantity, tax_bp;
	int64_t amount;
	int64_t anchor;      /* the subscription's start */
	int64_t created;     /* when it is created (>= anchor: backdated) */
	int64_t end;         /* when it is checked and canceled */
} schedule;

typedef enum { EV_CREATE = 0, EV_RUN = 1, EV_END = 2 } ev_kind;

typedef struct {
	int64_t at;
	ev_kind kind;
	size_t schedule;
} event;

static int by_time(const void *a, const void *b)
{
	const event *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	return x->schedule < y->schedule ? -1 : x->schedule > y->schedule;
}

static int64_t rough_period(billing_interval iv, int32_t count)
{
	switch (iv) {
	case BILLING_DAY: return count * TBB_DAY;
	case BILLING_WEEK: return count * 7 * TBB_DAY;
	case BILLING_MONTH: return count * 31 * TBB_DAY;
	default: return count * 366 * TBB_DAY;
	}
}

static void make_schedule(tb_world *w, schedule *s, const prop_tenant *tenant)
{
	static const billing_interval ivs[] = { BILLING_DAY, BILLING_WEEK, BILLING_MONTH,
		BILLING_YEAR };
	billing_product *prod;
	billing_plan *plan;
	int y = (int)between(2024, 2030), m = (int)between(1, 12), dim = tbb_days_in_month(y, m);
	int d = rnd() % 3 == 0 ? (int)between(28, dim) : (int)between(1, dim);
	int64_t len;

	s->interval = ivs[rnd() % 4];
	s->count = (int32_t)between(1, 3);
	s->amount = rnd() % 4 == 0 ? between(1, 99) : between(100, 500000);
	s->quantity = rnd() % 2 ? 1 : (int32_t)between(2, 25);
	switch (rnd() % 6) {
	case 0: s->tax_bp = 0; break;
	case 1: s->tax_bp = 5000; break;     /* odd amount x quantity: a tie */
	case 2: s->tax_bp = 2500; break;     /* ties when it is 2 mod 4 */
	default: s->tax_bp = (int32_t)between(1, 9999); break;
	}
	s->anchor = tbb_ts(y, m, d, 0, 0, 0) + between(0, TBB_DAY - 1);
	len = rough_period(s->interval, s->count);
	s->created = rnd() % 4 == 0 ? s->anchor + between(0, 2 * len) : s->anchor;
	s->end = s->created + between(0, between(0, 8) * len);

	s->tenant = tenant->id;
	snprintf(s->customer_id, sizeof(s->customer_id), "%s", tenant->customer_id);
	prod = tb_product(w, s->tenant, &(tb_product_spec){ .tax_rate_bp = s->tax_bp });
	plan = tb_plan(w, s->tenant, &(tb_plan_spec){ .product_id = billing_product_id(prod),
		.amount = s->amount, .interval = s->interval, .interval_count = s->count });
	snprintf(s->plan_id, sizeof(s->plan_id), "%s", billing_plan_id(plan));
	billing_product_free(prod);
	billing_plan_free(plan);
}

static void describe(const schedule *s, size_t i)
{
	char a[48], c[48], e[48];
	print_message("schedule %zu: %s x %d, amount %lld x %d, tax %d bp, anchor %s, created %s, "
		"end %s\n", i, billing_interval_name(s->interval), s->count, (long long)s->amount,
		s->quantity, s->tax_bp, tbb_fmt(a, s->anchor), tbb_fmt(c, s->created),
		tbb_fmt(e, s->end));
}

static void create(tb_world *w, schedule *s)
{
	billing_principal who = tb_admin(s->tenant);
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *sub = NULL;
	p.customer_id = s->customer_id;
	p.plan_id = s->plan_id;
	p.quantity = s->quantity;
	p.start_at = s->anchor;
	tb_assert_rc(billing_subscription_create(&sub, w->ctx, &who, &p, NULL), BILLING_OK);
	tbb_assert_time(billing_subscription_anchor(sub), s->anchor);
	snprintf(s->sub_id, sizeof(s->sub_id), "%s", billing_subscription_id(sub));
	billing_subscription_free(sub);
}

/* After the run at s->end: the invoices so far, then the cancellation. */
static void check_and_end(tb_world *w, const schedule *s)
{
	billing_principal who = tb_admin(s->tenant);
	billing_subscription *sub, *c = NULL;
	tbb_invoice *inv = NULL;
	int64_t want = 0, line = s->amount * s->quantity, tax = tbb_tax(line, s->tax_bp);
	size_t n, k;

	/* one invoice per period begun by the end */
	while (tbb_period_start(s->anchor, s->interval, s->count, want) <= s->end)
		want++;
	n = tbb_invoices(w, s->tenant, NULL, &inv);
	tbb_assert_numbers_gapless(inv, n);
	free(inv);
	n = tbb_invoices(w, s->tenant, s->sub_id, &inv);
	assert_int_equal(n, want);
	for (k = 0; k < n; k++) {
		int64_t start = tbb_period_start(s->anchor, s->interval, s->count, (int64_t)k);
		int64_t end = tbb_period_start(s->anchor, s->interval, s->count, (int64_t)k + 1);
		assert_string_equal(inv[k].subscription_id, s->sub_id);
		/* tiling: starts at the anchor, each begins where the last ended */
		if (k == 0)
			tbb_assert_time(inv[k].period_start, s->anchor);
		else
			tbb_assert_time(inv[k].period_start, inv[k - 1].period_end);
		assert_true(inv[k].period_end > inv[k].period_start);
		tbb_assert_plan_invoice(&inv[k], s->plan_id, start, end, s->quantity, s->amount,
			s->tax_bp);
		assert_int_equal(inv[k].total, line + tax);
		assert_int_equal(inv[k].subtotal, inv[k].lines_amount);
		assert_int_equal(inv[k].tax, inv[k].lines_tax);
	}
	/* the last one is the period running at the end */
	assert_true(inv[n - 1].period_start <= s->end && s->end < inv[n - 1].period_end);
	sub = tbb_sub_get(w, s->tenant, s->sub_id);
	tbb_assert_time(billing_subscription_current_period_start(sub), inv[n - 1].period_start);
	tbb_assert_time(billing_subscription_current_period_end(sub), inv[n - 1].period_end);
	assert_string_equal(billing_subscription_latest_invoice_id(sub), inv[n - 1].id);
	billing_subscription_free(sub);
	free(inv);

	tb_assert_rc(billing_subscription_cancel(&c, w->ctx, &who, s->sub_id, 0, NULL), BILLING_OK);
	tbb_assert_time(billing_subscription_ended_at(c), s->end);
	billing_subscription_free(c);
}

static void billing_schedules__periods_tile_totals_add_up_numbers_are_1_to_n(void **state)
{
	const char *seed_env = getenv("BILLING_TEST_SEED");
	const char *count_env = getenv("BILLING_TEST_SCHEDULES");
	int pg = strcmp(tb_backend(), "postgres") == 0;
	size_t count = count_env ? strtoul(count_env, NULL, 10) : pg ? 100 : 2000;
	size_t runs = count / 2, nev = 0, i;
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : UINT64_C(20240229);
	tb_world *w = tb_world_new();
	schedule *sch = calloc(count, sizeof(*sch));
	prop_tenant *tenants = calloc(count / PER_TENANT + 1, sizeof(*tenants));
	event *ev = calloc(count * 2 + runs, sizeof(*ev));
	int64_t last = 0, total_invoiced = 0, invoices_made;
	billing_run_report rep;
	(void)state;

	assert_non_null(sch);
	assert_non_null(ev);
	print_message("seed %llu, %zu schedules\n", (unsigned long long)seed, count);
	rng_state = seed;
	/* everything is set up before the first anchor */
	w->now = tbb_ts(2023, 12, 1, 0, 0, 0);
	assert_non_null(tenants);
	for (i = 0; i < count; i++) {
		if (i % PER_TENANT == 0)
			make_tenant(w, &tenants[i / PER_TENANT]);
		make_schedule(w, &sch[i], &tenants[i / PER_TENANT]);
		ev[nev++] = (event){ sch[i].created, EV_CREATE, i };
		ev[nev++] = (event){ sch[i].end, EV_END, i };
		if (sch[i].end > last)
			last = sch[i].end;
	}
	for (i = 0; i < runs; i++)
		ev[nev++] = (event){ between(tbb_ts(2024, 1, 1, 0, 0, 0), last), EV_RUN, 0 };
	qsort(ev, nev, sizeof(*ev), by_time);

	for (i = 0; i < nev; i++) {
		schedule *s = &sch[ev[i].schedule];
		assert_true(ev[i].at >= w->now);
		w->now = ev[i].at;
		if (ev[i].kind == EV_CREATE) {
			create(w, s);
			total_invoiced++;
			continue;
		}
		rep = tbb_run(w);
		assert_int_equal(rep.failed, 0);
		assert_int_equal(rep.remaining, 0);
		assert_int_equal(rep.processed, rep.invoiced);
		total_invoiced += rep.invoiced;
		if (ev[i].kind == EV_END) {
			describe(s, ev[i].schedule);
			check_and_end(w, s);
		}
	}
	/* everything has ended: nothing is left to do, ever */
	w->now = last + 40 * 366 * TBB_DAY;
	rep = tbb_run(w);
	tbb_assert_report(rep, 0, 0, 0, 0);
	invoices_made = tb_raw_count(w->url, "SELECT count(*) FROM invoices");
	assert_int_equal(invoices_made, total_invoiced);
	print_message("%lld invoices\n", (long long)invoices_made);
	free(ev);
	free(sch);
	free(tenants);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(billing_schedules__periods_tile_totals_add_up_numbers_are_1_to_n),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
