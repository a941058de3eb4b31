/*
 * Subscription items (billing/subscription_item.h, issue #21 item 2) on a
 * simulated clock: the "Done when" scenario (a base plan and two add-ons,
 * the seats changed five times in a month, the renewal has one line per
 * item and one proration line per change, to the minor unit), once with
 * a per-unit seat add-on and once exactly as #21 says it, a tiered base
 * plan made from the C params (version 3) whose seats change, every
 * amount computed by hand; a property
 * test (a random series of quantity changes in a period bills the
 * time-weighted quantity within one minor unit per change); a preview at a
 * prorationDate and the change applied at that date give the same
 * amounts; a change of plan moves the first item; bad input changes
 * nothing. billing_check finds nothing after each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "tb.h"
#include "tb_billing.h"

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char cus[64];
	char base[64], addon[64], seat[64];
	char other_currency[64], yearly[64];
} fx;

#define BASE 4900
#define ADDON 1500
#define SEAT 1000

static void plan_id(char out[64], fx *f, const char *currency, int64_t amount,
	billing_interval interval)
{
	billing_product *prod = tb_product(f->w, f->t, &(tb_product_spec){ .currency = currency });
	billing_plan *plan = tb_plan(f->w, f->t, &(tb_plan_spec){
		.product_id = billing_product_id(prod), .amount = amount, .interval = interval });
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
	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ 0 });
	snprintf(f->cus, sizeof(f->cus), "%s", billing_customer_id(c));
	billing_customer_free(c);
	plan_id(f->base, f, "EUR", BASE, BILLING_MONTH);
	plan_id(f->addon, f, "EUR", ADDON, BILLING_MONTH);
	plan_id(f->seat, f, "EUR", SEAT, BILLING_MONTH);
	plan_id(f->other_currency, f, "USD", SEAT, BILLING_MONTH);
	plan_id(f->yearly, f, "EUR", SEAT, BILLING_YEAR);
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

/* A subscription of items (plan, quantity) pairs; its id into out. */
static int subscribe(fx *f, char out[64], const billing_subscription_item_spec *items, size_t n)
{
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	int rc;
	p.customer_id = f->cus;
	p.items = items;
	p.item_count = n;
	rc = billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL);
	if (rc == BILLING_OK)
		snprintf(out, 64, "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	return rc;
}

/* The id of item i of subscription sub (in its items[]). */
static void item_id(fx *f, char out[64], const char *sub, int i)
{
	billing_subscription *s = tbb_sub_get(f->w, f->t, sub);
	cJSON *arr = cJSON_Parse(billing_subscription_items_json(s));
	cJSON *it = cJSON_GetArrayItem(arr, i);
	assert_non_null(it);
	snprintf(out, 64, "%s", cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring);
	cJSON_Delete(arr);
	billing_subscription_free(s);
}

static int set_quantity(fx *f, const char *item, int32_t q, billing_proration_behavior b,
	int64_t date)
{
	billing_subscription_item_params p = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	billing_subscription_item *it = NULL;
	int rc;
	p.fields = BILLING_SUBSCRIPTION_ITEM_QUANTITY;
	p.quantity = q;
	p.proration = b;
	p.proration_date = date;
	rc = billing_subscription_item_update(&it, f->w->ctx, &f->admin, item, &p, NULL);
	if (rc == BILLING_OK)
		assert_int_equal(billing_subscription_item_quantity(it), q);
	billing_subscription_item_free(it);
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

/* Half away from zero of num / den (den > 0). */
static int64_t rounded(int64_t num, int64_t den)
{
	return num >= 0 ? (num * 2 + den) / (den * 2) : -((-num * 2 + den) / (den * 2));
}

/* ------------------------------------------------------------ tests */

static void done_when__base_two_addons_five_seat_changes_renew_with_the_right_lines(
	void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = {
		{ f->base, 1 }, { f->addon, 2 }, { f->seat, 3 },
	};
	static const int32_t seats[] = { 5, 4, 10, 7, 8 };
	static const int days[] = { 3, 9, 14, 20, 27 };
	int64_t start = f->w->now, end = tbb_ts(2026, 2, 1, 0, 0, 0), whole = end - start;
	int64_t want_prorations = 0;
	char sub[64], seat_item[64], base_item[64];
	billing_invoice *inv;
	int32_t prev = 3;
	size_t i;

	tb_assert_rc(subscribe(f, sub, items, 3), BILLING_OK);
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 3);
	assert_int_equal(billing_invoice_subtotal(inv), BASE + 2 * ADDON + 3 * SEAT);
	item_id(f, base_item, sub, 0);
	item_id(f, seat_item, sub, 2);
	assert_string_equal(billing_invoice_line_at(inv, 0)->subscription_item_id, base_item);
	assert_string_equal(billing_invoice_line_at(inv, 2)->subscription_item_id, seat_item);
	billing_invoice_free(inv);

	for (i = 0; i < 5; i++) {
		int64_t t = start + (int64_t)days[i] * 86400 + 3600;
		f->w->now = t;
		tb_assert_rc(set_quantity(f, seat_item, seats[i], BILLING_PRORATE_CREATE, 0),
			BILLING_OK);
		want_prorations += rounded((int64_t)(seats[i] - prev) * SEAT * (end - t), whole);
		prev = seats[i];
	}
	f->w->now = end;
	tbb_run(f->w);

	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_period_start(inv), end);
	assert_int_equal(billing_invoice_line_count(inv), 3 + 5);
	/* One line per item for the new period, at the quantities of now. */
	assert_int_equal(billing_invoice_line_at(inv, 0)->amount, BASE);
	assert_int_equal(billing_invoice_line_at(inv, 1)->amount, 2 * ADDON);
	assert_int_equal(billing_invoice_line_at(inv, 2)->amount, 8 * SEAT);
	assert_int_equal(billing_invoice_line_at(inv, 2)->quantity, 8);
	/* Then one proration line per change, of the seats' item. */
	{
		int64_t got = 0;
		for (i = 3; i < 8; i++) {
			const billing_invoice_line *l = billing_invoice_line_at(inv, i);
			assert_true(l->proration);
			assert_string_equal(l->subscription_item_id, seat_item);
			got += l->amount;
		}
		assert_int_equal(got, want_prorations);
	}
	assert_int_equal(billing_invoice_subtotal(inv),
		BASE + 2 * ADDON + 8 * SEAT + want_prorations);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/*
 * #21's "Done when" exactly: a tiered (graduated) base plan, made from the
 * C params, and two add-ons; the seats (the base's quantity) changed five
 * times in a month; the renewal's lines computed by hand. The base's
 * tiers: 1-5 at 1000, 6-10 at 800, 11 and up at 600 plus a flat 500, so
 * 3, 7, 5, 12, 10, 11 seats cost 3000, 6600, 5000, 10700, 9000, 10100.
 * A change at Jan 1 + d days + 1 h is the two amounts' difference over
 * the rest of January's 31 days (2678400 s), half away from zero:
 *   3 -> 7  at d 3:   3600 x 2415600 / 2678400 =  3246.77 ->  3247
 *   7 -> 5  at d 9:  -1600 x 1897200 / 2678400 = -1133.33 -> -1133
 *   5 -> 12 at d 14:  5700 x 1465200 / 2678400 =  3118.15 ->  3118
 *  12 -> 10 at d 20: -1700 x  946800 / 2678400 =  -600.94 ->  -601
 *  10 -> 11 at d 27:  1100 x  342000 / 2678400 =   140.46 ->   140
 * (sum 4771). The renewal: the base at 11 seats by its tiers (10100, its
 * tiers on the line), the add-ons (1 x 1500, 2 x 1000), then the five
 * proration lines.
 */
static void done_when__tiered_base_two_addons_five_seat_changes_renew_by_hand(void **state)
{
	fx *f = *state;
	const billing_price_tier tiers[] = {
		{ 5, 1000, NULL, 0 }, { 10, 800, NULL, 0 }, { 0, 600, NULL, 500 },
	};
	static const int32_t seats[] = { 7, 5, 12, 10, 11 };
	static const int days[] = { 3, 9, 14, 20, 27 };
	static const int64_t prorations[] = { 3247, -1133, 3118, -601, 140 };
	billing_plan_params pp = BILLING_PLAN_PARAMS_INIT;
	billing_product *prod = tb_product(f->w, f->t, NULL);
	billing_plan *base = NULL;
	int64_t start = f->w->now, end = tbb_ts(2026, 2, 1, 0, 0, 0);
	char sub[64], base_item[64];
	billing_invoice *inv;
	cJSON *used;
	size_t i;

	pp.product_id = billing_product_id(prod);
	pp.code = "SEATS";
	pp.name = "Seats";
	pp.currency = "EUR";
	pp.interval = BILLING_MONTH;
	pp.billing_scheme = BILLING_SCHEME_TIERED;
	pp.tiers_mode = BILLING_TIERS_GRADUATED;
	pp.tiers = tiers;
	pp.tier_count = 3;
	tb_assert_rc(billing_plan_create(&base, f->w->ctx, &f->admin, &pp, NULL), BILLING_OK);
	{
		const billing_subscription_item_spec items[] = {
			{ billing_plan_id(base), 3 }, { f->addon, 1 }, { f->seat, 2 },
		};
		tb_assert_rc(subscribe(f, sub, items, 3), BILLING_OK);
	}
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 3);
	assert_int_equal(billing_invoice_line_at(inv, 0)->amount, 3000);
	assert_int_equal(billing_invoice_line_at(inv, 1)->amount, 1500);
	assert_int_equal(billing_invoice_line_at(inv, 2)->amount, 2000);
	assert_int_equal(billing_invoice_subtotal(inv), 6500);
	billing_invoice_free(inv);
	item_id(f, base_item, sub, 0);

	for (i = 0; i < 5; i++) {
		f->w->now = start + (int64_t)days[i] * 86400 + 3600;
		tb_assert_rc(set_quantity(f, base_item, seats[i], BILLING_PRORATE_CREATE, 0),
			BILLING_OK);
	}
	f->w->now = end;
	tbb_run(f->w);

	inv = latest_invoice(f, sub);
	tbb_assert_time(billing_invoice_period_start(inv), end);
	assert_int_equal(billing_invoice_line_count(inv), 3 + 5);
	/* The base by its tiers at 11 seats: 5 x 1000 + 5 x 800 + 1 x 600 + 500. */
	assert_int_equal(billing_invoice_line_at(inv, 0)->amount, 10100);
	assert_int_equal(billing_invoice_line_at(inv, 0)->quantity, 11);
	assert_string_equal(billing_invoice_line_at(inv, 0)->subscription_item_id, base_item);
	assert_non_null(billing_invoice_line_at(inv, 0)->tiers);
	assert_non_null(used = cJSON_Parse(billing_invoice_line_at(inv, 0)->tiers));
	assert_int_equal(cJSON_GetArraySize(used), 3);
	{
		static const int64_t want[3] = { 5000, 4000, 1100 };
		for (i = 0; i < 3; i++)
			assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(used,
				(int)i), "amount")->valuedouble, want[i]);
	}
	cJSON_Delete(used);
	assert_int_equal(billing_invoice_line_at(inv, 1)->amount, 1500);
	assert_int_equal(billing_invoice_line_at(inv, 2)->amount, 2000);
	for (i = 0; i < 5; i++) {
		const billing_invoice_line *l = billing_invoice_line_at(inv, 3 + i);
		assert_true(l->proration);
		assert_string_equal(l->subscription_item_id, base_item);
		assert_int_equal(l->amount, prorations[i]);
		tbb_assert_time(l->period_start, start + (int64_t)days[i] * 86400 + 3600);
		tbb_assert_time(l->period_end, end);
	}
	assert_int_equal(billing_invoice_subtotal(inv), 10100 + 1500 + 2000 + 4771);
	billing_invoice_free(inv);
	billing_plan_free(base);
	billing_product_free(prod);
	assert_int_equal(problems(f), 0);
}

static void property__quantity_changes_bill_the_time_weighted_quantity(void **state)
{
	fx *f = *state;
	unsigned int seed = 2126;
	int round;

	for (round = 0; round < 4; round++) {
		const billing_subscription_item_spec items[] = { { f->seat, 1 + round } };
		int64_t start = f->w->now, end, whole, t = start, exact_num, lines = 0;
		int32_t q = 1 + round, q0 = q;
		int changes = 3 + (int)(rand_r(&seed) % 6), i;
		char sub[64], item[64];
		billing_subscription *s;
		billing_invoice *inv;
		size_t k;

		tb_assert_rc(subscribe(f, sub, items, 1), BILLING_OK);
		item_id(f, item, sub, 0);
		s = tbb_sub_get(f->w, f->t, sub);
		end = billing_subscription_current_period_end(s);
		billing_subscription_free(s);
		whole = end - start;
		/* exact amount x whole: q0 for the period, each change's difference
		 * for the rest of it */
		exact_num = (int64_t)q0 * SEAT * whole;
		for (i = 0; i < changes; i++) {
			int32_t next;
			t += 1 + (int64_t)(rand_r(&seed) % (unsigned int)((end - t) / (changes - i + 1)));
			do
				next = 1 + (int32_t)(rand_r(&seed) % 40);
			while (next == q);
			f->w->now = t;
			tb_assert_rc(set_quantity(f, item, next, BILLING_PRORATE_CREATE, 0),
				BILLING_OK);
			exact_num += (int64_t)(next - q) * SEAT * (end - t);
			q = next;
		}
		f->w->now = end;
		tbb_run(f->w);
		inv = latest_invoice(f, sub);
		/* The first period's line (q0) is on the first invoice; here the
		 * new period's line then the prorations. */
		assert_int_equal(billing_invoice_line_count(inv), 1 + (size_t)changes);
		assert_int_equal(billing_invoice_line_at(inv, 0)->amount, (int64_t)q * SEAT);
		for (k = 1; k < billing_invoice_line_count(inv); k++)
			lines += billing_invoice_line_at(inv, k)->amount;
		billing_invoice_free(inv);
		lines += (int64_t)q0 * SEAT;
		{
			int64_t diff = lines * whole - exact_num;
			if (diff < 0)
				diff = -diff;
			/* within one minor unit per change */
			assert_true(diff <= (int64_t)changes * whole);
		}
	}
	assert_int_equal(problems(f), 0);
}

static void preview_at_a_proration_date__then_the_change_bills_exactly_that(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 }, { f->seat, 2 } };
	billing_subscription_item_params p = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	billing_subscription_item *added = NULL;
	billing_invoice *pre = NULL, *inv;
	char sub[64], seat_item[64];
	int64_t date;

	tb_assert_rc(subscribe(f, sub, items, 2), BILLING_OK);
	item_id(f, seat_item, sub, 1);
	date = f->w->now + 10 * 86400 + 17;
	f->w->now = date;
	p.subscription_id = sub;
	p.fields = BILLING_SUBSCRIPTION_ITEM_QUANTITY;
	p.quantity = 7;
	p.proration = BILLING_PRORATE_ALWAYS_INVOICE;
	p.proration_date = date;
	tb_assert_rc(billing_subscription_item_preview(&pre, f->w->ctx, &f->admin, seat_item, &p, 0),
		BILLING_OK);
	assert_int_equal(billing_invoice_line_count(pre), 1);
	assert_true(billing_invoice_total(pre) > 0);
	/* Later, with the previewed date: the same amounts. */
	f->w->now = date + 3600;
	tb_assert_rc(set_quantity(f, seat_item, 7, BILLING_PRORATE_ALWAYS_INVOICE, date),
		BILLING_OK);
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_int_equal(billing_invoice_line_at(inv, 0)->amount,
		billing_invoice_line_at(pre, 0)->amount);
	assert_int_equal(billing_invoice_total(inv), billing_invoice_total(pre));
	billing_invoice_free(inv);
	billing_invoice_free(pre);

	/* An add-on added then removed: a charge, then a credit (negative: owed). */
	p = (billing_subscription_item_params)BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	p.subscription_id = sub;
	p.plan_id = f->addon;
	p.proration = BILLING_PRORATE_ALWAYS_INVOICE;
	tb_assert_rc(billing_subscription_item_create(&added, f->w->ctx, &f->admin, &p, NULL),
		BILLING_OK);
	inv = latest_invoice(f, sub);
	assert_true(billing_invoice_total(inv) > 0);
	assert_string_equal(billing_invoice_line_at(inv, 0)->subscription_item_id,
		billing_subscription_item_id(added));
	billing_invoice_free(inv);
	f->w->now += 86400;
	p.subscription_id = NULL;
	tb_assert_rc(billing_subscription_item_delete(f->w->ctx, &f->admin,
		billing_subscription_item_id(added), &p, NULL), BILLING_OK);
	inv = latest_invoice(f, sub);
	assert_true(billing_invoice_total(inv) < 0);
	billing_invoice_free(inv);
	billing_subscription_item_free(added);
	assert_int_equal(problems(f), 0);
}

/* The customer's balance in EUR (0: none). */
static int64_t balance(fx *f)
{
	billing_customer *c = NULL;
	cJSON *obj, *v;
	int64_t n = 0;
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, f->cus), BILLING_OK);
	obj = cJSON_Parse(billing_customer_balances_json(c));
	assert_true(cJSON_IsObject(obj));
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "EUR")) != NULL)
		n = (int64_t)v->valuedouble;
	cJSON_Delete(obj);
	billing_customer_free(c);
	return n;
}

/* Cancel now with prorations: one credit line per item, each the item's
 * unused time (to the second, half away from zero), the total their sum. */
static void cancel_now_prorated__credits_every_item(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 }, { f->seat, 3 } };
	billing_subscription *s = NULL;
	billing_invoice *inv;
	char sub[64], base_item[64], seat_item[64];
	int64_t start = f->w->now, end = tbb_ts(2026, 2, 1, 0, 0, 0), now, base, seats;

	tb_assert_rc(subscribe(f, sub, items, 2), BILLING_OK);
	item_id(f, base_item, sub, 0);
	item_id(f, seat_item, sub, 1);
	now = start + 10 * 86400 + 17;
	f->w->now = now;
	tb_assert_rc(billing_subscription_cancel(&s, f->w->ctx, &f->admin, sub,
		BILLING_CANCEL_PRORATE, NULL), BILLING_OK);
	billing_subscription_free(s);
	base = -rounded(BASE * (end - now), end - start);
	seats = -rounded(3 * SEAT * (end - now), end - start);
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	assert_int_equal(billing_invoice_line_at(inv, 0)->amount, base);
	assert_string_equal(billing_invoice_line_at(inv, 0)->subscription_item_id, base_item);
	assert_int_equal(billing_invoice_line_at(inv, 1)->amount, seats);
	assert_string_equal(billing_invoice_line_at(inv, 1)->subscription_item_id, seat_item);
	assert_int_equal(billing_invoice_total(inv), base + seats);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/* Pause with prorations: every item's paid, unused time goes to the
 * balance (the first invoice paid out of band). */
static void pause_prorated__credits_every_item(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 }, { f->seat, 3 } };
	billing_subscription_pause_params pp = BILLING_SUBSCRIPTION_PAUSE_PARAMS_INIT;
	billing_subscription *s = NULL;
	billing_invoice *inv, *paid = NULL;
	char sub[64];
	int64_t start = f->w->now, end = tbb_ts(2026, 2, 1, 0, 0, 0), now;

	tb_assert_rc(subscribe(f, sub, items, 2), BILLING_OK);
	inv = latest_invoice(f, sub);
	tb_assert_rc(billing_invoice_pay_out_of_band(&paid, f->w->ctx, &f->admin,
		billing_invoice_id(inv), NULL), BILLING_OK);
	billing_invoice_free(paid);
	billing_invoice_free(inv);
	assert_int_equal(balance(f), 0);
	now = start + 10 * 86400 + 17;
	f->w->now = now;
	pp.proration = BILLING_PRORATE_CREATE;
	tb_assert_rc(billing_subscription_pause_ext(&s, f->w->ctx, &f->admin, sub, &pp, NULL),
		BILLING_OK);
	billing_subscription_free(s);
	assert_int_equal(balance(f), -rounded(BASE * (end - now), end - start) -
		rounded(3 * SEAT * (end - now), end - start));
	assert_int_equal(problems(f), 0);
}

static void change_of_plan__moves_the_first_item(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 }, { f->seat, 4 } };
	billing_subscription_change_params c = { BILLING_SUBSCRIPTION_CHANGE_VERSION, 0, 0, 0, 0 };
	billing_subscription *s = NULL;
	billing_subscription_item *it = NULL;
	char sub[64], first[64];

	tb_assert_rc(subscribe(f, sub, items, 2), BILLING_OK);
	item_id(f, first, sub, 0);
	c.plan_id = f->addon;
	c.proration = BILLING_PRORATE_NONE;
	tb_assert_rc(billing_subscription_change_plan(&s, f->w->ctx, &f->admin, sub, &c, NULL),
		BILLING_OK);
	billing_subscription_free(s);
	tb_assert_rc(billing_subscription_item_get(&it, f->w->ctx, &f->admin, first), BILLING_OK);
	assert_string_equal(billing_subscription_item_plan_id(it), f->addon);
	billing_subscription_item_free(it);
	/* A new interval for a subscription of two items: refused. */
	c.plan_id = f->yearly;
	tb_assert_rc(billing_subscription_change_plan(&s, f->w->ctx, &f->admin, sub, &c, NULL),
		BILLING_EINVALID);
	tb_assert_field("planId");
	/* The renewal bills both items. */
	s = tbb_sub_get(f->w, f->t, sub);
	f->w->now = billing_subscription_current_period_end(s);
	billing_subscription_free(s);
	tbb_run(f->w);
	{
		billing_invoice *inv = latest_invoice(f, sub);
		assert_int_equal(billing_invoice_line_count(inv), 2);
		assert_int_equal(billing_invoice_subtotal(inv), ADDON + 4 * SEAT);
		billing_invoice_free(inv);
	}
	assert_int_equal(problems(f), 0);
}

static void check__a_line_of_another_subscriptions_item_is_a_problem(void **state)
{
	fx *f = *state;
	const billing_subscription_item_spec items[] = { { f->base, 1 } };
	char a[64], b[64], item_b[64], sql[512];
	billing_invoice *inv;

	tb_assert_rc(subscribe(f, a, items, 1), BILLING_OK);
	tb_assert_rc(subscribe(f, b, items, 1), BILLING_OK);
	item_id(f, item_b, b, 0);
	assert_int_equal(problems(f), 0);
	inv = latest_invoice(f, a);
	snprintf(sql, sizeof(sql), "UPDATE invoice_lines SET subscription_item_id = '%s' "
		"WHERE invoice_id = '%s'", item_b, billing_invoice_id(inv));
	billing_invoice_free(inv);
	tb_raw_exec(f->w->owner_url, sql);
	assert_int_equal(problems(f), 1);
}

static size_t count_events(fx *f)
{
	billing_page *page = NULL;
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	size_t n;
	p.list.limit = 100;
	tb_assert_rc(billing_event_list(&page, f->w->ctx, &f->admin, &p), BILLING_OK);
	n = billing_page_count(page);
	billing_page_free(page);
	return n;
}

static void bad_input__refused_with_the_field_and_nothing_written(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec items[21];
	billing_subscription_item_params p = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	billing_subscription_item *it = NULL;
	char sub[64], only[64], unused[64];
	size_t before, i;

	items[0] = (billing_subscription_item_spec){ f->base, 1 };
	items[1] = (billing_subscription_item_spec){ f->other_currency, 1 };
	before = count_events(f);
	tb_assert_rc(subscribe(f, unused, items, 2), BILLING_EINVALID);
	tb_assert_field("items[1].planId");
	items[1] = (billing_subscription_item_spec){ f->yearly, 1 };
	tb_assert_rc(subscribe(f, unused, items, 2), BILLING_EINVALID);
	tb_assert_field("items[1].planId");
	items[1] = (billing_subscription_item_spec){ f->base, 2 };
	tb_assert_rc(subscribe(f, unused, items, 2), BILLING_EINVALID);
	tb_assert_field("items[1].planId");
	items[1] = (billing_subscription_item_spec){ f->seat, 0 };
	items[1].quantity = 10001;
	tb_assert_rc(subscribe(f, unused, items, 2), BILLING_EINVALID);
	tb_assert_field("items[1].quantity");
	for (i = 0; i < 21; i++)
		items[i] = (billing_subscription_item_spec){ f->base, 1 };
	tb_assert_rc(subscribe(f, unused, items, 21), BILLING_EINVALID);
	tb_assert_field("items");
	assert_int_equal(count_events(f), before);

	items[0] = (billing_subscription_item_spec){ f->base, 1 };
	tb_assert_rc(subscribe(f, sub, items, 1), BILLING_OK);
	item_id(f, only, sub, 0);
	before = count_events(f);
	/* The last item stays. */
	tb_assert_rc(billing_subscription_item_delete(f->w->ctx, &f->admin, only, NULL, NULL),
		BILLING_ECONFLICT);
	/* A plan twice, of another currency, of another interval. */
	p.subscription_id = sub;
	p.plan_id = f->base;
	tb_assert_rc(billing_subscription_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("planId");
	p.plan_id = f->other_currency;
	tb_assert_rc(billing_subscription_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("planId");
	p.plan_id = f->yearly;
	tb_assert_rc(billing_subscription_item_create(&it, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("planId");
	/* A proration date in the future, before the period; a quantity of 0. */
	tb_assert_rc(set_quantity(f, only, 3, BILLING_PRORATE_CREATE, f->w->now + 60),
		BILLING_EINVALID);
	tb_assert_field("prorationDate");
	tb_assert_rc(set_quantity(f, only, 3, BILLING_PRORATE_CREATE, f->w->now - 86400),
		BILLING_EINVALID);
	tb_assert_field("prorationDate");
	tb_assert_rc(set_quantity(f, only, 0, BILLING_PRORATE_CREATE, 0), BILLING_EINVALID);
	tb_assert_field("quantity");
	tb_assert_rc(set_quantity(f, only, 1, BILLING_PRORATE_CREATE, 0), BILLING_EINVALID);
	tb_assert_field("quantity");
	/* An id of no item. */
	tb_assert_rc(set_quantity(f, "si_00000000000000000000000000", 2, BILLING_PRORATE_CREATE, 0),
		BILLING_ENOTFOUND);
	assert_null(it);
	assert_int_equal(count_events(f), before);
	{
		billing_subscription *s = tbb_sub_get(f->w, f->t, sub);
		assert_int_equal(billing_subscription_quantity(s), 1);
		billing_subscription_free(s);
	}
	assert_int_equal(problems(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			done_when__base_two_addons_five_seat_changes_renew_with_the_right_lines, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			done_when__tiered_base_two_addons_five_seat_changes_renew_by_hand, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			property__quantity_changes_bill_the_time_weighted_quantity, setup, teardown),
		cmocka_unit_test_setup_teardown(
			preview_at_a_proration_date__then_the_change_bills_exactly_that, setup,
			teardown),
		cmocka_unit_test_setup_teardown(change_of_plan__moves_the_first_item, setup,
			teardown),
		cmocka_unit_test_setup_teardown(cancel_now_prorated__credits_every_item, setup,
			teardown),
		cmocka_unit_test_setup_teardown(pause_prorated__credits_every_item, setup,
			teardown),
		cmocka_unit_test_setup_teardown(bad_input__refused_with_the_field_and_nothing_written,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			check__a_line_of_another_subscriptions_item_is_a_problem, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
