/*
 * Discounts on invoices (issue #22 item 3; billing/discount.h,
 * core/invoice_discount.c) on a simulated clock, with the worked examples
 * of docs/billing.md "Discounts" computed by hand: 25 % for 3 months on a
 * monthly plan (months 1-3 discounted, 4 not, the coupon deleted on the
 * way), an amount off once from a promotion code, the subscription's
 * discount before the customer's, a proration discounted by the same
 * percent, a coupon for another product. Each line's discount, the
 * invoice's totalDiscountAmounts, the tax on the discounted amount and
 * the total are checked to the minor unit, and billing_check finds
 * nothing after each.
 */
#include <stdbool.h>
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
	char cus[64], cus2[64];
	char prod_a[64], prod_b[64];
	char plan_a[64], plan_b[64];    /* monthly 100.00 EUR, 20 % tax; of A, of B */
} fx;

#define PRICE 10000
#define TAX_BP 2000

static void plan_of(char prod[64], char plan[64], fx *f)
{
	billing_product *p = tb_product(f->w, f->t, &(tb_product_spec){ .currency = "EUR",
		.tax_rate_bp = TAX_BP });
	billing_plan *pl = tb_plan(f->w, f->t, &(tb_plan_spec){
		.product_id = billing_product_id(p), .amount = PRICE, .interval = BILLING_MONTH });
	snprintf(prod, 64, "%s", billing_product_id(p));
	snprintf(plan, 64, "%s", billing_plan_id(pl));
	billing_plan_free(pl);
	billing_product_free(p);
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
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ 0 });
	snprintf(f->cus2, sizeof(f->cus2), "%s", billing_customer_id(c));
	billing_customer_free(c);
	plan_of(f->prod_a, f->plan_a, f);
	plan_of(f->prod_b, f->plan_b, f);
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

/* Runs op with the JSON text in; the answer's "id" into id (when given). */
static void call(fx *f, const char *op, const char *in, char id[64])
{
	char *text = NULL;
	cJSON *o;
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, op, in, strlen(in), NULL),
		BILLING_OK);
	o = cJSON_Parse(text);
	assert_non_null(o);
	if (id)
		snprintf(id, 64, "%s", cJSON_GetObjectItemCaseSensitive(o, "id")->valuestring);
	cJSON_Delete(o);
	billing_free(text);
}

static int subscribe_rc(fx *f, char out[64], const char *cus, const char *plan,
	const char *coupon, const char *code)
{
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	int rc;
	p.customer_id = cus;
	p.plan_id = plan;
	p.coupon = coupon;
	p.promotion_code = code;
	rc = billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL);
	if (rc == BILLING_OK)
		snprintf(out, 64, "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	return rc;
}

static void subscribe(fx *f, char out[64], const char *cus, const char *plan,
	const char *coupon, const char *code)
{
	tb_assert_rc(subscribe_rc(f, out, cus, plan, coupon, code), BILLING_OK);
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

/* The invoice's one line, checked: amount, discount, tax. */
static void assert_one_line(const billing_invoice *inv, int64_t amount, int64_t discount,
	int64_t tax)
{
	const billing_invoice_line *l;
	assert_int_equal(billing_invoice_line_count(inv), 1);
	l = billing_invoice_line_at(inv, 0);
	assert_int_equal(l->amount, amount);
	assert_int_equal(l->discount_amount, discount);
	assert_int_equal(l->tax_amount, tax);
	if (discount)
		assert_string_equal(l->discount_id, billing_invoice_discount_id(inv));
	else
		assert_null(l->discount_id);
}

static void assert_sums(const billing_invoice *inv, int64_t subtotal, int64_t discount,
	int64_t tax, int64_t total)
{
	assert_int_equal(billing_invoice_subtotal(inv), subtotal);
	assert_int_equal(billing_invoice_total_discount(inv), discount);
	assert_int_equal(billing_invoice_tax(inv), tax);
	assert_int_equal(billing_invoice_total(inv), total);
	if (!discount)
		assert_null(billing_invoice_discount_id(inv));
}

/* The clock to t and the billing run. */
static void run_at(fx *f, int64_t t)
{
	f->w->now = t;
	(void)tbb_run(f->w);
}

/* ------------------------------------------------------------ worked examples */

/* docs/billing.md, example 1: 25 % for 3 months on 100.00 a month with
 * 20 % tax. Months 1-3: discount 25.00, tax 20 % of 75.00 = 15.00, total
 * 90.00; month 4 (from April 1, the discount's end): 100.00 + 20.00. The
 * coupon deleted after month 1 keeps the discount working. */
static void discount__repeating_three_months(void **state)
{
	fx *f = *state;
	char coupon[64], sub[64];
	billing_discount *d = NULL;
	billing_invoice *inv;
	const int months[3] = { 2, 3, 4 };

	call(f, "coupons.create", "{\"percentOff\": 25, \"duration\": \"repeating\", "
		"\"durationInPeriods\": 3}", coupon);
	subscribe(f, sub, f->cus, f->plan_a, coupon, NULL);
	tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, f->cus, sub), BILLING_OK);
	assert_string_equal(billing_discount_coupon_id(d), coupon);
	assert_null(billing_discount_promotion_code_id(d));
	tbb_assert_time(billing_discount_start(d), tbb_ts(2026, 1, 1, 0, 0, 0));
	tbb_assert_time(billing_discount_end(d), tbb_ts(2026, 4, 1, 0, 0, 0));

	inv = latest_invoice(f, sub);
	assert_one_line(inv, 10000, 2500, 1500);
	assert_sums(inv, 10000, 2500, 1500, 9000);
	assert_string_equal(billing_invoice_discount_id(inv), billing_discount_id(d));
	assert_int_equal(billing_invoice_amount_due(inv), 9000);
	billing_invoice_free(inv);
	billing_discount_free(d);

	/* Deleting the coupon stops new redemptions, not this discount. */
	{
		char path[128], *text = NULL;
		snprintf(path, sizeof(path), "{\"id\": \"%s\"}", coupon);
		tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "coupons.delete", path,
			strlen(path), NULL), BILLING_OK);
		billing_free(text);
	}
	for (int i = 0; i < 3; i++) {
		run_at(f, tbb_ts(2026, months[i], 1, 0, 0, 0));
		inv = latest_invoice(f, sub);
		tbb_assert_time(billing_invoice_period_start(inv), tbb_ts(2026, months[i], 1, 0, 0, 0));
		if (months[i] < 4) {
			assert_one_line(inv, 10000, 2500, 1500);
			assert_sums(inv, 10000, 2500, 1500, 9000);
		} else {
			assert_one_line(inv, 10000, 0, 2000);
			assert_sums(inv, 10000, 0, 2000, 12000);
		}
		billing_invoice_free(inv);
	}
	assert_int_equal(problems(f), 0);
}

/* Example 2: 15.00 off once, from a promotion code given in another case.
 * The first invoice: 100.00 - 15.00 = 85.00, tax 17.00, total 102.00; the
 * second is not discounted and the discount has ended. */
static void discount__amount_off_once_by_code(void **state)
{
	fx *f = *state;
	char coupon[64], promo[64], sub[64], in[256];
	billing_discount *d = NULL;
	billing_invoice *inv;

	call(f, "coupons.create", "{\"amountOff\": 1500, \"currency\": \"EUR\"}", coupon);
	snprintf(in, sizeof(in), "{\"code\": \"WELCOME15\", \"couponId\": \"%s\"}", coupon);
	call(f, "promotion_codes.create", in, promo);
	subscribe(f, sub, f->cus, f->plan_a, NULL, "welcome15");
	inv = latest_invoice(f, sub);
	assert_one_line(inv, 10000, 1500, 1700);
	assert_sums(inv, 10000, 1500, 1700, 10200);
	billing_invoice_free(inv);
	tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, f->cus, sub), BILLING_OK);
	assert_string_equal(billing_discount_promotion_code_id(d), promo);
	tbb_assert_time(billing_discount_end(d), tbb_ts(2026, 1, 1, 0, 0, 0));
	billing_discount_free(d);

	run_at(f, tbb_ts(2026, 2, 1, 0, 0, 0));
	inv = latest_invoice(f, sub);
	assert_one_line(inv, 10000, 0, 2000);
	assert_sums(inv, 10000, 0, 2000, 12000);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/* Example 3: the customer has 10 % forever, one subscription 50 % forever.
 * That subscription's invoices take 50 % (50.00, tax 10.00, total 60.00),
 * the customer's other subscription 10 % (10.00, tax 18.00, total 108.00);
 * once the subscription's discount is deleted, its next invoice takes the
 * customer's 10 %. */
static void discount__subscription_before_customer(void **state)
{
	fx *f = *state;
	char ten[64], half[64], sub1[64], sub2[64];
	billing_discount_params p = BILLING_DISCOUNT_PARAMS_INIT;
	billing_discount *d = NULL;
	billing_invoice *inv;

	call(f, "coupons.create", "{\"percentOff\": 10, \"duration\": \"forever\"}", ten);
	call(f, "coupons.create", "{\"percentOff\": 50, \"duration\": \"forever\"}", half);
	p.customer_id = f->cus;
	p.coupon = ten;
	tb_assert_rc(billing_discount_create(&d, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_null(billing_discount_subscription_id(d));
	assert_int_equal(billing_discount_end(d), 0);
	billing_discount_free(d);
	subscribe(f, sub1, f->cus, f->plan_a, half, NULL);
	subscribe(f, sub2, f->cus, f->plan_b, NULL, NULL);

	inv = latest_invoice(f, sub1);
	assert_sums(inv, 10000, 5000, 1000, 6000);
	billing_invoice_free(inv);
	inv = latest_invoice(f, sub2);
	assert_sums(inv, 10000, 1000, 1800, 10800);
	billing_invoice_free(inv);

	tb_assert_rc(billing_discount_delete(f->w->ctx, &f->admin, f->cus, sub1), BILLING_OK);
	tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, f->cus, sub1),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_discount_delete(f->w->ctx, &f->admin, f->cus, sub1),
		BILLING_ENOTFOUND);
	run_at(f, tbb_ts(2026, 2, 1, 0, 0, 0));
	inv = latest_invoice(f, sub1);
	assert_sums(inv, 10000, 1000, 1800, 10800);
	billing_invoice_free(inv);
	/* The other customer has no discount at all. */
	subscribe(f, sub2, f->cus2, f->plan_a, NULL, NULL);
	inv = latest_invoice(f, sub2);
	assert_sums(inv, 10000, 0, 2000, 12000);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/* Example 4: 20 % forever on 100.00 a month. On January 17 (15 of
 * January's 31 days left) the quantity goes from 1 to 2, invoiced at once:
 * the proration line is 100.00 x 15/31 = 48.39 (48.387 rounded), its
 * discount 20 % = 9.68 (9.677), its tax 20 % of 38.71 = 7.74; total 46.45.
 * On January 25 (7 days left) back to 1: the credit -100.00 x 7/31 =
 * -22.58 is discounted the same way, -4.52 (-4.516): the credit gives back
 * what was paid for those days; tax 20 % of -18.06 = -3.61; total -21.67
 * (to the customer's balance). */
static void set_quantity(fx *f, const char *item, int32_t q, int64_t at)
{
	billing_subscription_item_params p = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	billing_subscription_item *it = NULL;
	f->w->now = at;
	p.fields = BILLING_SUBSCRIPTION_ITEM_QUANTITY;
	p.quantity = q;
	p.proration = BILLING_PRORATE_ALWAYS_INVOICE;
	tb_assert_rc(billing_subscription_item_update(&it, f->w->ctx, &f->admin, item, &p, NULL),
		BILLING_OK);
	billing_subscription_item_free(it);
}

static void discount__proration_same_percent(void **state)
{
	fx *f = *state;
	char coupon[64], sub[64], item[64];
	billing_subscription *s;
	billing_invoice *inv;
	const billing_invoice_line *l;
	cJSON *items;

	call(f, "coupons.create", "{\"percentOff\": 20, \"duration\": \"forever\"}", coupon);
	subscribe(f, sub, f->cus, f->plan_a, coupon, NULL);
	s = tbb_sub_get(f->w, f->t, sub);
	items = cJSON_Parse(billing_subscription_items_json(s));
	snprintf(item, sizeof(item), "%s",
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 0), "id")->valuestring);
	cJSON_Delete(items);
	billing_subscription_free(s);

	set_quantity(f, item, 2, tbb_ts(2026, 1, 17, 0, 0, 0));
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	l = billing_invoice_line_at(inv, 0);
	assert_true(l->proration);
	assert_one_line(inv, 4839, 968, 774);
	assert_sums(inv, 4839, 968, 774, 4645);
	billing_invoice_free(inv);

	set_quantity(f, item, 1, tbb_ts(2026, 1, 25, 0, 0, 0));
	inv = latest_invoice(f, sub);
	assert_one_line(inv, -2258, -452, -361);
	assert_sums(inv, -2258, -452, -361, -2167);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/* Example 5: a coupon for product B takes nothing off a plan of product
 * A; with a subscription of both (an item each), only B's line. */
static void discount__applies_to_other_product(void **state)
{
	fx *f = *state;
	char coupon[64], sub[64], in[256];
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription_item_spec items[2];
	billing_subscription *s = NULL;
	billing_invoice *inv;
	size_t i;

	snprintf(in, sizeof(in), "{\"percentOff\": 30, \"duration\": \"forever\", "
		"\"appliesTo\": {\"productIds\": [\"%s\"]}}", f->prod_b);
	call(f, "coupons.create", in, coupon);
	subscribe(f, sub, f->cus, f->plan_a, coupon, NULL);
	inv = latest_invoice(f, sub);
	assert_one_line(inv, 10000, 0, 2000);
	assert_sums(inv, 10000, 0, 2000, 12000);
	billing_invoice_free(inv);

	items[0].plan_id = f->plan_a;
	items[0].quantity = 1;
	items[1].plan_id = f->plan_b;
	items[1].quantity = 1;
	p.customer_id = f->cus2;
	p.items = items;
	p.item_count = 2;
	p.coupon = coupon;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	inv = latest_invoice(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	for (i = 0; i < 2; i++) {
		const billing_invoice_line *l = billing_invoice_line_at(inv, i);
		bool b = strcmp(l->plan_id, f->plan_b) == 0;
		assert_int_equal(l->discount_amount, b ? 3000 : 0);
		assert_int_equal(l->tax_amount, b ? 1400 : 2000);
	}
	assert_sums(inv, 20000, 3000, 3400, 20400);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ refusals */

/* A refused redemption changes nothing: no subscription, no count. */
static void discount__refusals_change_nothing(void **state)
{
	fx *f = *state;
	char coupon[64], sub[64];
	billing_discount_params p = BILLING_DISCOUNT_PARAMS_INIT;
	billing_discount *d = NULL;
	char *text = NULL;
	cJSON *o;
	char in[128];

	call(f, "coupons.create", "{\"percentOff\": 10, \"maxRedemptions\": 1}", coupon);
	tb_assert_rc(subscribe_rc(f, sub, f->cus, f->plan_a, "coupon_nope", NULL),
		BILLING_EINVALID);
	tb_assert_field("coupon");
	tbb_assert_reason("resource_missing");
	tb_assert_rc(subscribe_rc(f, sub, f->cus, f->plan_a, NULL, "NOPE"), BILLING_EINVALID);
	tb_assert_field("promotionCode");
	subscribe(f, sub, f->cus, f->plan_a, coupon, NULL);
	tb_assert_rc(subscribe_rc(f, sub, f->cus2, f->plan_a, coupon, NULL), BILLING_EINVALID);
	tbb_assert_reason("coupon_exhausted");
	p.customer_id = f->cus2;
	p.subscription_id = sub;          /* the other customer's */
	p.coupon = coupon;
	tb_assert_rc(billing_discount_create(&d, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("subscriptionId");
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", coupon);
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "coupons.get", in,
		strlen(in), NULL), BILLING_OK);
	o = cJSON_Parse(text);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "timesRedeemed")->valueint, 1);
	cJSON_Delete(o);
	billing_free(text);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ updates */

/* How many events of type there are. */
static int events_of(fx *f, const char *type)
{
	char in[128], *text = NULL;
	cJSON *o;
	int n;
	snprintf(in, sizeof(in), "{\"type\": \"%s\", \"limit\": 100}", type);
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "events.list", in,
		strlen(in), NULL), BILLING_OK);
	o = cJSON_Parse(text);
	assert_non_null(o);
	n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "data"));
	cJSON_Delete(o);
	billing_free(text);
	return n;
}

/* Runs op with in, expecting BILLING_EINVALID naming field with reason. */
static void refused_json(fx *f, const char *op, const char *in, const char *field,
	const char *reason)
{
	char *text = NULL;
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, op, in, strlen(in), NULL),
		BILLING_EINVALID);
	tb_assert_field(field);
	tbb_assert_reason(reason);
	billing_free(text);
}

/* The live discount's coupon of a level ("" when none). */
static void coupon_of(fx *f, char out[64], const char *cus, const char *sub)
{
	billing_discount *d = NULL;
	int rc = billing_discount_get(&d, f->w->ctx, &f->admin, cus, sub);
	assert_true(rc == BILLING_OK || rc == BILLING_ENOTFOUND);
	snprintf(out, 64, "%s", rc == BILLING_OK ? billing_discount_coupon_id(d) : "");
	billing_discount_free(d);
}

/* PATCH of a subscription with a coupon replaces its discount, from now:
 * 10 % forever at creation (January: 100.00 - 10.00 + 18.00 = 108.00),
 * 50 % forever by the C update on January 10 (February: 100.00 - 50.00 +
 * 10.00 = 60.00), then a promotion code of 20 % through the JSON
 * operation (March: 100.00 - 20.00 + 16.00 = 96.00). Each switch is one
 * event customer.discount.updated; the old discount is deleted. */
static void discount__update_subscription_replaces(void **state)
{
	fx *f = *state;
	char ten[64], half[64], fifth[64], promo[64], sub[64], in[256], got[64];
	billing_subscription_update_params u = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_subscription *s = NULL;
	billing_discount *d = NULL;
	billing_invoice *inv;
	int64_t version;

	call(f, "coupons.create", "{\"percentOff\": 10, \"duration\": \"forever\"}", ten);
	call(f, "coupons.create", "{\"percentOff\": 50, \"duration\": \"forever\"}", half);
	call(f, "coupons.create", "{\"percentOff\": 20, \"duration\": \"forever\"}", fifth);
	snprintf(in, sizeof(in), "{\"code\": \"FIFTH\", \"couponId\": \"%s\"}", fifth);
	call(f, "promotion_codes.create", in, promo);
	subscribe(f, sub, f->cus, f->plan_a, ten, NULL);
	inv = latest_invoice(f, sub);
	assert_sums(inv, 10000, 1000, 1800, 10800);
	billing_invoice_free(inv);
	assert_int_equal(events_of(f, "customer.discount.created"), 1);

	f->w->now = tbb_ts(2026, 1, 10, 0, 0, 0);
	u.fields = BILLING_SUBSCRIPTION_DISCOUNT;
	u.coupon = half;
	tb_assert_rc(billing_subscription_update(&s, f->w->ctx, &f->admin, sub, &u, NULL),
		BILLING_OK);
	version = billing_subscription_version(s);
	billing_subscription_free(s);
	tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, NULL, sub), BILLING_OK);
	assert_string_equal(billing_discount_coupon_id(d), half);
	tbb_assert_time(billing_discount_start(d), tbb_ts(2026, 1, 10, 0, 0, 0));
	assert_int_equal(billing_discount_end(d), 0);
	billing_discount_free(d);
	assert_int_equal(events_of(f, "customer.discount.updated"), 1);
	assert_int_equal(events_of(f, "customer.discount.created"), 1);
	assert_int_equal(events_of(f, "customer.discount.deleted"), 0);

	run_at(f, tbb_ts(2026, 2, 1, 0, 0, 0));
	inv = latest_invoice(f, sub);
	assert_one_line(inv, 10000, 5000, 1000);
	assert_sums(inv, 10000, 5000, 1000, 6000);
	billing_invoice_free(inv);

	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"promotionCode\": \"fifth\"}", sub);
	call(f, "subscriptions.update", in, NULL);
	coupon_of(f, got, NULL, sub);
	assert_string_equal(got, fifth);
	assert_int_equal(events_of(f, "customer.discount.updated"), 2);
	s = tbb_sub_get(f->w, f->t, sub);
	assert_int_equal(billing_subscription_version(s), version + 2);
	billing_subscription_free(s);
	run_at(f, tbb_ts(2026, 3, 1, 0, 0, 0));
	inv = latest_invoice(f, sub);
	assert_sums(inv, 10000, 2000, 1600, 9600);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/* PATCH of a customer with a coupon makes the customer's discount (all
 * its subscriptions without their own): 10 % repeating 2 months from
 * January 5; a subscription of January 5 pays 100.00 - 10.00 + 18.00 =
 * 108.00, its February 5 renewal the same, March 5 (the end) 120.00.
 * A promotion code then replaces it (customer.discount.updated); the
 * customer's fields and version move with the update. */
static void discount__update_customer_makes_and_replaces(void **state)
{
	fx *f = *state;
	char ten[64], quarter[64], promo[64], sub[64], in[256], got[64];
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	billing_discount *d = NULL;
	billing_invoice *inv;

	call(f, "coupons.create", "{\"percentOff\": 10, \"duration\": \"repeating\", "
		"\"durationInPeriods\": 2}", ten);
	call(f, "coupons.create", "{\"percentOff\": 25, \"duration\": \"forever\"}", quarter);
	snprintf(in, sizeof(in), "{\"code\": \"Quarter\", \"couponId\": \"%s\"}", quarter);
	call(f, "promotion_codes.create", in, promo);
	coupon_of(f, got, f->cus, NULL);
	assert_string_equal(got, "");

	f->w->now = tbb_ts(2026, 1, 5, 0, 0, 0);
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", f->cus, ten);
	call(f, "customers.update", in, NULL);
	tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, f->cus, NULL), BILLING_OK);
	assert_string_equal(billing_discount_coupon_id(d), ten);
	assert_null(billing_discount_subscription_id(d));
	tbb_assert_time(billing_discount_start(d), tbb_ts(2026, 1, 5, 0, 0, 0));
	tbb_assert_time(billing_discount_end(d), tbb_ts(2026, 3, 5, 0, 0, 0));
	billing_discount_free(d);
	assert_int_equal(events_of(f, "customer.discount.created"), 1);
	assert_int_equal(events_of(f, "customer.updated"), 1);

	subscribe(f, sub, f->cus, f->plan_a, NULL, NULL);
	inv = latest_invoice(f, sub);
	assert_sums(inv, 10000, 1000, 1800, 10800);
	billing_invoice_free(inv);
	run_at(f, tbb_ts(2026, 2, 5, 0, 0, 0));
	inv = latest_invoice(f, sub);
	assert_sums(inv, 10000, 1000, 1800, 10800);
	billing_invoice_free(inv);
	run_at(f, tbb_ts(2026, 3, 5, 0, 0, 0));
	inv = latest_invoice(f, sub);
	assert_sums(inv, 10000, 0, 2000, 12000);
	billing_invoice_free(inv);

	/* The C call: a promotion code and a new name in one update. */
	cp.fields = BILLING_CUSTOMER_NAME;
	cp.name = "Ada Quarter";
	cp.promotion_code = "QUARTER";
	tb_assert_rc(billing_customer_update(&c, f->w->ctx, &f->admin, f->cus, &cp, NULL),
		BILLING_OK);
	assert_string_equal(billing_customer_name(c), "Ada Quarter");
	assert_int_equal(billing_customer_version(c), 3);
	billing_customer_free(c);
	tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, f->cus, NULL), BILLING_OK);
	assert_string_equal(billing_discount_coupon_id(d), quarter);
	assert_string_equal(billing_discount_promotion_code_id(d), promo);
	billing_discount_free(d);
	assert_int_equal(events_of(f, "customer.discount.updated"), 1);
	run_at(f, tbb_ts(2026, 4, 5, 0, 0, 0));
	inv = latest_invoice(f, sub);
	assert_sums(inv, 10000, 2500, 1500, 9000);
	billing_invoice_free(inv);
	/* DELETE /v1/customers/{id}/discount's operation. */
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", f->cus);
	call(f, "customers.delete_discount", in, NULL);
	coupon_of(f, got, f->cus, NULL);
	assert_string_equal(got, "");
	assert_int_equal(events_of(f, "customer.discount.deleted"), 1);
	assert_int_equal(problems(f), 0);
}

/* An update's coupon or code is checked as at creation; a refusal changes
 * nothing: the discount, the counts and the object's version stay. */
static void discount__update_refusals_change_nothing(void **state)
{
	fx *f = *state;
	char ten[64], once[64], late[64], small[64], mine[64], sub[64], in[320], got[64];
	billing_subscription_update_params u = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
	billing_subscription *s = NULL;
	billing_customer *c = NULL;

	call(f, "coupons.create", "{\"percentOff\": 10, \"duration\": \"forever\"}", ten);
	call(f, "coupons.create", "{\"percentOff\": 30, \"maxRedemptions\": 1}", once);
	call(f, "coupons.create", "{\"percentOff\": 40, \"redeemBy\": \"2026-01-15T00:00:00Z\"}",
		late);
	snprintf(in, sizeof(in), "{\"code\": \"BIGONLY\", \"couponId\": \"%s\", \"restrictions\": "
		"{\"minimumAmount\": 5000, \"minimumAmountCurrency\": \"EUR\"}}", ten);
	call(f, "promotion_codes.create", in, small);
	snprintf(in, sizeof(in), "{\"code\": \"OTHERS\", \"couponId\": \"%s\", \"customerId\": "
		"\"%s\", \"expiresAt\": \"2026-03-01T00:00:00Z\"}", ten, f->cus2);
	call(f, "promotion_codes.create", in, mine);
	subscribe(f, sub, f->cus, f->plan_a, ten, NULL);
	subscribe(f, got, f->cus2, f->plan_a, once, NULL);     /* once is used up */
	f->w->now = tbb_ts(2026, 2, 1, 0, 0, 0);               /* late has expired */

	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", sub, once);
	refused_json(f, "subscriptions.update", in, "coupon", "coupon_exhausted");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", sub, late);
	refused_json(f, "subscriptions.update", in, "coupon", "coupon_expired");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"coupon_nope\"}", sub);
	refused_json(f, "subscriptions.update", in, "coupon", "resource_missing");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"promotionCode\": \"bigonly\"}", sub);
	refused_json(f, "subscriptions.update", in, "promotionCode", "promotion_code_minimum");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"promotionCode\": \"others\"}", sub);
	refused_json(f, "subscriptions.update", in, "promotionCode", "promotion_code_customer");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\", \"promotionCode\": "
		"\"others\"}", sub, ten);
	refused_json(f, "subscriptions.update", in, "coupon", "invalid");
	u.fields = BILLING_SUBSCRIPTION_DISCOUNT;          /* neither */
	tb_assert_rc(billing_subscription_update(&s, f->w->ctx, &f->admin, sub, &u, NULL),
		BILLING_EINVALID);
	tb_assert_field("coupon");
	u.version = 1;                                     /* the bit needs version 2 */
	u.coupon = once;
	tb_assert_rc(billing_subscription_update(&s, f->w->ctx, &f->admin, sub, &u, NULL),
		BILLING_EINVALID);
	tb_assert_field("coupon");

	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", f->cus, late);
	refused_json(f, "customers.update", in, "coupon", "coupon_expired");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"promotionCode\": \"others\"}", f->cus);
	refused_json(f, "customers.update", in, "promotionCode", "promotion_code_customer");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\", \"name\": \"Renamed\"}",
		f->cus, once);
	refused_json(f, "customers.update", in, "coupon", "coupon_exhausted");
	/* A customer's discount is made by an update, not at creation. */
	cp.name = "New";
	cp.email = "new@example.com";
	cp.coupon = ten;
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &cp, NULL),
		BILLING_EINVALID);
	tb_assert_field("coupon");
	tbb_assert_reason("update_only");

	/* Nothing moved: the subscription keeps 10 %, the customer has no
	 * discount and its first version and name, the counts are as before. */
	coupon_of(f, got, NULL, sub);
	assert_string_equal(got, ten);
	coupon_of(f, got, f->cus, NULL);
	assert_string_equal(got, "");
	s = tbb_sub_get(f->w, f->t, sub);
	assert_int_equal(billing_subscription_version(s), 2);
	billing_subscription_free(s);
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, f->cus), BILLING_OK);
	assert_int_equal(billing_customer_version(c), 1);
	assert_string_not_equal(billing_customer_name(c), "Renamed");
	billing_customer_free(c);
	assert_int_equal(events_of(f, "customer.discount.updated"), 0);
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", ten);
	{
		char *text = NULL;
		cJSON *o;
		tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "coupons.get", in,
			strlen(in), NULL), BILLING_OK);
		o = cJSON_Parse(text);
		assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "timesRedeemed")->valueint, 1);
		cJSON_Delete(o);
		billing_free(text);
	}
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ with tax rates */

/* op with in: the answer, parsed (the caller deletes it). */
static cJSON *call_json(fx *f, const char *op, const char *in)
{
	char *text = NULL;
	cJSON *o;
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, op, in, strlen(in), NULL),
		BILLING_OK);
	o = cJSON_Parse(text);
	assert_non_null(o);
	billing_free(text);
	return o;
}

static int64_t num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	assert_true(cJSON_IsNumber(v));
	return (int64_t)v->valuedouble;
}

/* The first invoice of a subscription of a new 29.99 EUR monthly plan of
 * a product without a taxRate, whose defaultTaxRates is the one rate,
 * with the coupon. */
static cJSON *first_invoice(fx *f, const char *rate, const char *coupon)
{
	static int seq;
	char in[512], prod[64], plan[64], sub[64];
	cJSON *s, *inv;

	snprintf(in, sizeof(in), "{\"name\": \"Untaxed %d\", \"sku\": \"untaxed-%d\", "
		"\"currency\": \"EUR\"}", seq, seq);
	call(f, "products.create", in, prod);
	snprintf(in, sizeof(in), "{\"productId\": \"%s\", \"code\": \"RATED-%d\", \"name\": "
		"\"Rated\", \"amount\": 2999, \"currency\": \"EUR\", \"interval\": \"MONTH\", "
		"\"defaultTaxRates\": [\"%s\"]}", prod, seq, rate);
	call(f, "plans.create", in, plan);
	seq++;
	subscribe(f, sub, f->cus, plan, coupon, NULL);
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", sub);
	s = call_json(f, "subscriptions.get", in);
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", cJSON_GetObjectItemCaseSensitive(s,
		"latestInvoiceId")->valuestring);
	cJSON_Delete(s);
	inv = call_json(f, "invoices.get", in);
	return inv;
}

/* The invoice's one line: its amount, discount, net and tax; the one
 * entry of its taxAmounts and of the invoice's totalTaxAmounts. */
static void assert_rated_line(const cJSON *inv, const char *rate, bool inclusive,
	int64_t discount, int64_t net, int64_t tax)
{
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(inv, "lines"), *l, *t, *d;
	const cJSON *lists[2];
	size_t i;

	assert_int_equal(cJSON_GetArraySize(lines), 1);
	l = cJSON_GetArrayItem(lines, 0);
	assert_int_equal(num(l, "amount"), 2999);
	d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "discountAmounts"), 0);
	assert_non_null(d);
	assert_int_equal(num(d, "amount"), discount);
	assert_int_equal(num(l, "amountExcludingTax"), net);
	assert_int_equal(num(l, "taxAmount"), tax);
	lists[0] = cJSON_GetObjectItemCaseSensitive(l, "taxAmounts");
	lists[1] = cJSON_GetObjectItemCaseSensitive(inv, "totalTaxAmounts");
	for (i = 0; i < 2; i++) {
		assert_int_equal(cJSON_GetArraySize(lists[i]), 1);
		t = cJSON_GetArrayItem(lists[i], 0);
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(t, "taxRateId")->valuestring,
			rate);
		assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "inclusive")),
			inclusive);
		assert_int_equal(num(t, "amount"), tax);
		assert_int_equal(num(t, "taxableAmount"), net);
	}
	d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(inv, "totalDiscountAmounts"), 0);
	assert_non_null(d);
	assert_int_equal(num(d, "amount"), discount);
}

/* A percent coupon and a tax rate (txr_) on the same line, by hand
 * (docs/billing.md "Discounts", example 7). 15 % off 29.99 is 4.4985 ->
 * 4.50 either way; the tax is on the 25.49 left.
 * Exclusive 19 %: tax 25.49 x 0.19 = 4.8431 -> 4.84, net 25.49;
 * subtotal 29.99 (before the discount), total 29.99 - 4.50 + 4.84 = 34.33.
 * Inclusive 20 %: 25.49 holds the tax: net 25.49 / 1.2 = 21.2417 -> 21.24,
 * tax 25.49 - 21.24 = 4.25; subtotal (before the discount, without the
 * inclusive tax) 21.24 + 4.50 = 25.74; total 25.74 - 4.50 + 4.25 = 25.49,
 * the discounted price. */
static void discount__and_tax_rate_on_one_line(void **state)
{
	fx *f = *state;
	char coupon[64], excl[64], incl[64];
	cJSON *r, *inv;

	call(f, "coupons.create", "{\"percentOff\": 15, \"duration\": \"forever\"}", coupon);
	r = call_json(f, "tax_rates.create", "{\"displayName\": \"MwSt\", \"percentage\": \"19\", "
		"\"inclusive\": false}");
	snprintf(excl, sizeof(excl), "%s", cJSON_GetObjectItemCaseSensitive(r, "id")->valuestring);
	cJSON_Delete(r);
	r = call_json(f, "tax_rates.create", "{\"displayName\": \"VAT\", \"percentage\": \"20\", "
		"\"inclusive\": true}");
	snprintf(incl, sizeof(incl), "%s", cJSON_GetObjectItemCaseSensitive(r, "id")->valuestring);
	cJSON_Delete(r);

	inv = first_invoice(f, excl, coupon);
	assert_rated_line(inv, excl, false, 450, 2549, 484);
	assert_int_equal(num(inv, "subtotal"), 2999);
	assert_int_equal(num(inv, "tax"), 484);
	assert_int_equal(num(inv, "total"), 3033);
	cJSON_Delete(inv);

	inv = first_invoice(f, incl, coupon);
	assert_rated_line(inv, incl, true, 450, 2124, 425);
	assert_int_equal(num(inv, "subtotal"), 2574);
	assert_int_equal(num(inv, "tax"), 425);
	assert_int_equal(num(inv, "total"), 2549);
	cJSON_Delete(inv);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ credit notes */

/* A credit note of amount on the invoice's first line, by JSON; its
 * answer parsed (rc: what the call must return; NULL when refused). */
static cJSON *note_on_line(fx *f, const cJSON *inv, int64_t amount, int rc)
{
	const char *id = cJSON_GetObjectItemCaseSensitive(inv, "id")->valuestring;
	char in[512], *text = NULL;
	cJSON *o = NULL;

	snprintf(in, sizeof(in), "{\"invoiceId\": \"%s\", \"reason\": \"order_change\", "
		"\"lines\": [{\"invoiceLineId\": \"il_%s_1\", \"amount\": %lld}]}", id, id + 3,
		(long long)amount);
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "credit_notes.create", in,
		strlen(in), NULL), rc);
	if (rc == BILLING_OK) {
		o = cJSON_Parse(text);
		assert_non_null(o);
	}
	billing_free(text);
	return o;
}

/* One entry of a list of tax amounts: the rate, the amount and the net. */
static void assert_tax_entry(const cJSON *list, const char *rate, bool inclusive,
	int64_t amount, int64_t taxable)
{
	const cJSON *t;
	assert_int_equal(cJSON_GetArraySize(list), 1);
	t = cJSON_GetArrayItem(list, 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(t, "taxRateId")->valuestring, rate);
	assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "inclusive")), inclusive);
	assert_int_equal(num(t, "amount"), amount);
	assert_int_equal(num(t, "taxableAmount"), taxable);
}

/* A note's one line and its sums: the amount asked (before the discount),
 * the discount credited, the net, the tax of the one rate, and the total. */
static void assert_note(const cJSON *n, const char *rate, bool inclusive, int64_t amount,
	int64_t discount, int64_t net, int64_t tax, int64_t total)
{
	const cJSON *l = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(n, "lines"), "data"), 0), *d;
	const char *di;

	assert_non_null(l);
	assert_int_equal(num(l, "amount"), amount);
	d = cJSON_GetObjectItemCaseSensitive(l, "discountAmounts");
	assert_int_equal(cJSON_GetArraySize(d), 1);
	assert_int_equal(num(cJSON_GetArrayItem(d, 0), "amount"), discount);
	di = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(d, 0), "discountId")->valuestring;
	assert_int_equal(strncmp(di, "di_", 3), 0);
	assert_int_equal(num(l, "amountExcludingTax"), net);
	assert_int_equal(num(l, "taxAmount"), tax);
	assert_tax_entry(cJSON_GetObjectItemCaseSensitive(l, "taxAmounts"), rate, inclusive, tax,
		net);
	assert_tax_entry(cJSON_GetObjectItemCaseSensitive(n, "totalTaxAmounts"), rate, inclusive,
		tax, net);
	d = cJSON_GetObjectItemCaseSensitive(n, "totalDiscountAmounts");
	assert_int_equal(cJSON_GetArraySize(d), 1);
	assert_int_equal(num(cJSON_GetArrayItem(d, 0), "amount"), discount);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(d, 0),
		"discountId")->valuestring, di);
	assert_int_equal(num(n, "subtotal"), net);
	assert_int_equal(num(n, "tax"), tax);
	assert_int_equal(num(n, "total"), total);
}

/* The third note on a line credited in full: refused, naming the line's
 * amount, and a lump amount of 1 too (nothing is left of the invoice). */
static void assert_nothing_left(fx *f, const cJSON *inv)
{
	const char *id = cJSON_GetObjectItemCaseSensitive(inv, "id")->valuestring;
	char in[256], *text = NULL;

	assert_null(note_on_line(f, inv, 1, BILLING_EINVALID));
	assert_string_equal(billing_error_last()->field, "lines[0].amount");
	snprintf(in, sizeof(in), "{\"invoiceId\": \"%s\", \"amount\": 1}", id);
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "credit_notes.create", in,
		strlen(in), NULL), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "amount");
	billing_free(text);
}

/* The invoice again: its amount due after the notes. */
static int64_t amount_due(fx *f, const cJSON *inv)
{
	char in[128];
	cJSON *o;
	int64_t v;
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}",
		cJSON_GetObjectItemCaseSensitive(inv, "id")->valuestring);
	o = call_json(f, "invoices.get", in);
	v = num(o, "amountDue");
	cJSON_Delete(o);
	return v;
}

/* Credit notes on a discounted line taxed by a txr_ rate (issue #20 item
 * 3, #22 item 5; docs/billing.md "Credit notes"): the discount and the
 * tax are credited in proportion, through the invoice's tax code.
 * The line: 29.99 with 10 % off: discount 2.999 -> 3.00, 26.99 left.
 * Exclusive 19 %: tax 26.99 x 0.19 = 5.1281 -> 5.13; total 32.12.
 *   A note of 12.34 of the line: discount 3.00 x 12.34 / 29.99 = 1.2344
 *   -> 1.23; net 11.11; tax 11.11 x 0.19 = 2.1109 -> 2.11; total 13.22.
 *   The rest, 17.65: the discount left 1.77, net 15.88, the tax left
 *   5.13 - 2.11 = 3.02 (15.88 x 0.19 = 3.0172 -> 3.02 too); total
 *   18.90. 13.22 + 18.90 = 32.12, the invoice's total.
 * Inclusive 20 %: net 26.99 / 1.2 = 22.4917 -> 22.49, tax 4.50; total 26.99.
 *   A note of 12.34: discount 1.23, 11.11 left holds the tax: net
 *   11.11 / 1.2 = 9.2583 -> 9.26, tax 1.85; total 11.11.
 *   The rest, 17.65: discount 1.77, 15.88 left; the tax left 4.50 - 1.85
 *   = 2.65, net 13.23 (15.88 / 1.2 = 13.2333 -> 13.23); total 15.88.
 *   11.11 + 15.88 = 26.99.
 * A third note finds nothing left. Before the fix the first note credited
 * 12.34 and no tax (the line's product rate, 0, was used) nor discount,
 * and the rest, 17.65 plus all the tax, was refused as more than the
 * invoice had left. */
static void credit_notes__credit_the_discount_and_the_tax_in_proportion(void **state)
{
	fx *f = *state;
	char coupon[64], excl[64], incl[64];
	cJSON *r, *inv, *n;

	call(f, "coupons.create", "{\"percentOff\": 10, \"duration\": \"forever\"}", coupon);
	r = call_json(f, "tax_rates.create", "{\"displayName\": \"MwSt\", \"percentage\": \"19\", "
		"\"inclusive\": false}");
	snprintf(excl, sizeof(excl), "%s", cJSON_GetObjectItemCaseSensitive(r, "id")->valuestring);
	cJSON_Delete(r);
	r = call_json(f, "tax_rates.create", "{\"displayName\": \"VAT\", \"percentage\": \"20\", "
		"\"inclusive\": true}");
	snprintf(incl, sizeof(incl), "%s", cJSON_GetObjectItemCaseSensitive(r, "id")->valuestring);
	cJSON_Delete(r);

	inv = first_invoice(f, excl, coupon);
	assert_rated_line(inv, excl, false, 300, 2699, 513);
	assert_int_equal(num(inv, "total"), 3212);
	n = note_on_line(f, inv, 1234, BILLING_OK);
	assert_note(n, excl, false, 1234, 123, 1111, 211, 1322);
	cJSON_Delete(n);
	n = note_on_line(f, inv, 1765, BILLING_OK);
	assert_note(n, excl, false, 1765, 177, 1588, 302, 1890);
	cJSON_Delete(n);
	assert_int_equal(amount_due(f, inv), 0);
	assert_nothing_left(f, inv);
	cJSON_Delete(inv);

	inv = first_invoice(f, incl, coupon);
	assert_rated_line(inv, incl, true, 300, 2249, 450);
	assert_int_equal(num(inv, "total"), 2699);
	n = note_on_line(f, inv, 1234, BILLING_OK);
	assert_note(n, incl, true, 1234, 123, 926, 185, 1111);
	cJSON_Delete(n);
	n = note_on_line(f, inv, 1765, BILLING_OK);
	assert_note(n, incl, true, 1765, 177, 1323, 265, 1588);
	cJSON_Delete(n);
	assert_int_equal(amount_due(f, inv), 0);
	assert_nothing_left(f, inv);
	cJSON_Delete(inv);

	/* A lump amount of half the exclusive invoice, 16.06 tax included:
	 * tax 16.06 x 5.13 / 32.12 = 2.565 -> 2.57, all of the one rate, whose
	 * net 26.99 in proportion is 13.495 -> 13.50; no discount shown. */
	inv = first_invoice(f, excl, coupon);
	{
		char in[256], *text = NULL;
		snprintf(in, sizeof(in), "{\"invoiceId\": \"%s\", \"amount\": 1606}",
			cJSON_GetObjectItemCaseSensitive(inv, "id")->valuestring);
		tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "credit_notes.create",
			in, strlen(in), NULL), BILLING_OK);
		n = cJSON_Parse(text);
		billing_free(text);
	}
	assert_int_equal(num(n, "tax"), 257);
	assert_int_equal(num(n, "subtotal"), 1349);
	assert_tax_entry(cJSON_GetObjectItemCaseSensitive(n, "totalTaxAmounts"), excl, false, 257,
		1350);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(n,
		"totalDiscountAmounts")), 0);
	cJSON_Delete(n);
	cJSON_Delete(inv);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ the discount shown */

/* The discount an object shows (billing_*_discount_json), checked field by
 * field; coupon NULL: none. end 0: null. */
static void assert_shown(const char *json, const char *coupon, const char *promo,
	const char *start, const char *end)
{
	cJSON *o, *v;
	if (!coupon) {
		assert_null(json);
		return;
	}
	assert_non_null(json);
	assert_non_null(o = cJSON_Parse(json));
	assert_true(strncmp(cJSON_GetObjectItemCaseSensitive(o, "id")->valuestring, "di_", 3) == 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "couponId")->valuestring, coupon);
	v = cJSON_GetObjectItemCaseSensitive(o, "promotionCodeId");
	if (promo)
		assert_string_equal(v->valuestring, promo);
	else
		assert_true(cJSON_IsNull(v));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "start")->valuestring, start);
	v = cJSON_GetObjectItemCaseSensitive(o, "end");
	if (end)
		assert_string_equal(v->valuestring, end);
	else
		assert_true(cJSON_IsNull(v));
	cJSON_Delete(o);
}

/* The discount a subscription shows, read again, and its id equal to the
 * live discount's (billing_discount_get). */
static void assert_sub_shows(fx *f, const char *sub, const char *coupon, const char *promo,
	const char *start, const char *end)
{
	billing_subscription *s = tbb_sub_get(f->w, f->t, sub);
	billing_discount *d = NULL;
	assert_shown(billing_subscription_discount_json(s), coupon, promo, start, end);
	if (coupon) {
		tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, NULL, sub), BILLING_OK);
		assert_non_null(strstr(billing_subscription_discount_json(s), billing_discount_id(d)));
		billing_discount_free(d);
	}
	billing_subscription_free(s);
}

static void assert_cus_shows(fx *f, const char *cus, const char *coupon, const char *start,
	const char *end)
{
	billing_customer *c = NULL;
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, cus), BILLING_OK);
	assert_shown(billing_customer_discount_json(c), coupon, NULL, start, end);
	billing_customer_free(c);
}

/* Every path that changes a discount leaves the object showing it, in the
 * answer and on a later read: a subscription created with a repeating
 * coupon (end known: April 1) and with a once code (ended by its first
 * invoice); an update's new once coupon, ended by the February renewal
 * that takes it; the customer's once discount by update, ended by the
 * renewal of its other subscription; the deletes (null). */
static void discount__shown_on_subscription_and_customer(void **state)
{
	fx *f = *state;
	char three[64], once[64], promo[64], sub[64], sub2[64], in[256];
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription_update_params u = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
	billing_subscription *s = NULL;
	billing_customer *c = NULL;
	billing_invoice *inv;

	call(f, "coupons.create", "{\"percentOff\": 25, \"duration\": \"repeating\", "
		"\"durationInPeriods\": 3}", three);
	call(f, "coupons.create", "{\"amountOff\": 1500, \"currency\": \"EUR\"}", once);
	snprintf(in, sizeof(in), "{\"code\": \"ONCE15\", \"couponId\": \"%s\"}", once);
	call(f, "promotion_codes.create", in, promo);

	p.customer_id = f->cus;
	p.plan_id = f->plan_a;
	p.coupon = three;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	assert_shown(billing_subscription_discount_json(s), three, NULL, "2026-01-01T00:00:00Z",
		"2026-04-01T00:00:00Z");
	billing_subscription_free(s);
	assert_sub_shows(f, sub, three, NULL, "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z");
	assert_cus_shows(f, f->cus, NULL, NULL, NULL);

	/* A once code: its first invoice, at creation, ends it. */
	p.customer_id = f->cus2;
	p.coupon = NULL;
	p.promotion_code = "once15";
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	snprintf(sub2, sizeof(sub2), "%s", billing_subscription_id(s));
	assert_shown(billing_subscription_discount_json(s), once, promo, "2026-01-01T00:00:00Z",
		"2026-01-01T00:00:00Z");
	billing_subscription_free(s);
	assert_sub_shows(f, sub2, once, promo, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z");

	/* An update's once coupon: shown without an end until the renewal
	 * takes it, then with the renewal's period start. */
	f->w->now = tbb_ts(2026, 1, 10, 0, 0, 0);
	u.fields = BILLING_SUBSCRIPTION_DISCOUNT;
	u.coupon = once;
	tb_assert_rc(billing_subscription_update(&s, f->w->ctx, &f->admin, sub, &u, NULL),
		BILLING_OK);
	assert_shown(billing_subscription_discount_json(s), once, NULL, "2026-01-10T00:00:00Z",
		NULL);
	billing_subscription_free(s);
	assert_sub_shows(f, sub, once, NULL, "2026-01-10T00:00:00Z", NULL);

	/* The customer's own once discount (its other subscription, sub2, has
	 * an ended one of its own: the renewal takes the customer's). */
	cp.fields = 0;
	cp.coupon = once;
	tb_assert_rc(billing_customer_update(&c, f->w->ctx, &f->admin, f->cus2, &cp, NULL),
		BILLING_OK);
	assert_shown(billing_customer_discount_json(c), once, NULL, "2026-01-10T00:00:00Z", NULL);
	billing_customer_free(c);
	assert_cus_shows(f, f->cus2, once, "2026-01-10T00:00:00Z", NULL);

	f->w->now = tbb_ts(2026, 2, 1, 0, 0, 0);
	assert_int_equal(tbb_run(f->w).failed, 0);
	inv = latest_invoice(f, sub);
	assert_sums(inv, 10000, 1500, 1700, 10200);
	billing_invoice_free(inv);
	inv = latest_invoice(f, sub2);
	assert_sums(inv, 10000, 1500, 1700, 10200);
	billing_invoice_free(inv);
	assert_sub_shows(f, sub, once, NULL, "2026-01-10T00:00:00Z", "2026-02-01T00:00:00Z");
	assert_cus_shows(f, f->cus2, once, "2026-01-10T00:00:00Z", "2026-02-01T00:00:00Z");

	/* The deletes: null again; the renewal after takes nothing. */
	tb_assert_rc(billing_discount_delete(f->w->ctx, &f->admin, NULL, sub), BILLING_OK);
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", f->cus2);
	call(f, "customers.delete_discount", in, NULL);
	assert_sub_shows(f, sub, NULL, NULL, NULL, NULL);
	assert_cus_shows(f, f->cus2, NULL, NULL, NULL);
	assert_sub_shows(f, sub2, once, promo, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
	assert_int_equal(problems(f), 0);
}

/* A draft that took the customer's once discount, finalized after that
 * discount was deleted: the finalization ends the discount (its end set)
 * but leaves it deleted; the customer still shows none and may be given a
 * new one. (It used to bring the deleted discount back to life.) The draft
 * keeps what it took: 50.00 - 15.00, tax 20 % of nothing (no product). */
static void discount__deleted_stays_deleted_after_a_draft_took_it(void **state)
{
	fx *f = *state;
	char once[64], draft[64], item[64], in[256], *text = NULL;
	billing_invoice *inv = NULL;
	billing_discount *d = NULL;

	call(f, "coupons.create", "{\"amountOff\": 1500, \"currency\": \"EUR\"}", once);
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", f->cus, once);
	call(f, "customers.update", in, NULL);
	snprintf(in, sizeof(in), "{\"customerId\": \"%s\", \"currency\": \"EUR\"}", f->cus);
	call(f, "invoices.create", in, draft);
	snprintf(in, sizeof(in), "{\"customerId\": \"%s\", \"invoiceId\": \"%s\", "
		"\"currency\": \"EUR\", \"description\": \"Setup\", \"amount\": 5000}", f->cus, draft);
	call(f, "invoice_items.create", in, item);
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", f->cus);
	call(f, "customers.delete_discount", in, NULL);

	tb_assert_rc(billing_invoice_finalize(&inv, f->w->ctx, &f->admin, draft, NULL),
		BILLING_OK);
	assert_sums(inv, 5000, 1500, 0, 3500);
	billing_invoice_free(inv);
	tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, f->cus, NULL),
		BILLING_ENOTFOUND);
	assert_cus_shows(f, f->cus, NULL, NULL, NULL);
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", f->cus, once);
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "customers.update", in,
		strlen(in), NULL), BILLING_OK);
	billing_free(text);
	assert_cus_shows(f, f->cus, once, "2026-01-01T00:00:00Z", NULL);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ drafts */

/* A draft invoice's JSON (invoices.get). */
static cJSON *invoice_json(fx *f, const char *id)
{
	char in[128];
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", id);
	return call_json(f, "invoices.get", in);
}

/* The invoice's discount taken (totalDiscountAmounts' one entry: its id
 * into id, its amount returned; 0 and "" when none) and its total. */
static int64_t taken(const cJSON *inv, char id[64], int64_t *total)
{
	const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(inv,
		"totalDiscountAmounts"), 0);
	*total = num(inv, "total");
	snprintf(id, 64, "%s", d ? cJSON_GetObjectItemCaseSensitive(d, "discountId")->valuestring :
		"");
	return d ? num(d, "amount") : 0;
}

static int64_t times_redeemed(fx *f, const char *op, const char *id)
{
	char in[128];
	cJSON *o;
	int64_t n;
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", id);
	o = call_json(f, op, in);
	n = num(o, "timesRedeemed");
	cJSON_Delete(o);
	return n;
}

/*
 * A draft invoice's own discount (brief D piece 2; docs/billing.md
 * "Discounts", draft invoices). The customer has 10 % forever; a draft of
 * one item of 100.00 (no tax) made with the coupon QUARTER (25 %, once)
 * takes 25.00, not 10.00: total 75.00; QUARTER counted once, through a
 * PATCH of the memo too. A PATCH with the promotion code TAKE15 (15.00
 * off, EUR) replaces it: 15.00, total 85.00, QUARTER still counted once.
 * DELETE of the draft's discount: the customer's 10 % again, 10.00, total
 * 90.00; a second DELETE is not found. QUARTER again, finalized: 75.00;
 * the once discount ends with the finalization, and the customer still
 * shows its own 10 % discount. billing_check finds nothing.
 */
static void draft__own_discount_replaces_the_customers(void **state)
{
	fx *f = *state;
	char ten[64], quarter[64], take15[64], promo[64], inv_id[64], in[320], di[64];
	char cus_di[64], own[64];
	billing_discount *d = NULL;
	int64_t total;
	cJSON *inv;

	call(f, "coupons.create", "{\"percentOff\": 10, \"duration\": \"forever\"}", ten);
	call(f, "coupons.create", "{\"id\": \"coupon_QUARTER\", \"percentOff\": 25}", quarter);
	call(f, "coupons.create", "{\"amountOff\": 1500, \"currency\": \"EUR\"}", take15);
	snprintf(in, sizeof(in), "{\"code\": \"TAKE15\", \"couponId\": \"%s\"}", take15);
	call(f, "promotion_codes.create", in, promo);
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", f->cus, ten);
	call(f, "customers.update", in, NULL);
	tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, f->cus, NULL), BILLING_OK);
	snprintf(cus_di, sizeof(cus_di), "%s", billing_discount_id(d));
	billing_discount_free(d);
	snprintf(in, sizeof(in), "{\"customerId\": \"%s\", \"amount\": 10000, \"currency\": "
		"\"EUR\", \"description\": \"Consulting\"}", f->cus);
	call(f, "invoice_items.create", in, NULL);

	snprintf(in, sizeof(in), "{\"customerId\": \"%s\", \"currency\": \"EUR\", \"coupon\": "
		"\"%s\"}", f->cus, quarter);
	call(f, "invoices.create", in, inv_id);
	inv = invoice_json(f, inv_id);
	assert_int_equal(taken(inv, own, &total), 2500);
	assert_int_equal(total, 7500);
	assert_string_not_equal(own, cus_di);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(inv, "status")->valuestring, "draft");
	cJSON_Delete(inv);
	assert_int_equal(times_redeemed(f, "coupons.get", quarter), 1);
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"memo\": \"Thanks\"}", inv_id);
	call(f, "invoices.update", in, NULL);
	inv = invoice_json(f, inv_id);
	assert_int_equal(taken(inv, di, &total), 2500);
	assert_string_equal(di, own);
	cJSON_Delete(inv);
	assert_int_equal(times_redeemed(f, "coupons.get", quarter), 1);

	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"promotionCode\": \"take15\"}", inv_id);
	call(f, "invoices.update", in, NULL);
	inv = invoice_json(f, inv_id);
	assert_int_equal(taken(inv, di, &total), 1500);
	assert_int_equal(total, 8500);
	assert_string_not_equal(di, own);
	cJSON_Delete(inv);
	assert_int_equal(times_redeemed(f, "coupons.get", quarter), 1);
	assert_int_equal(times_redeemed(f, "promotion_codes.get", promo), 1);

	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", inv_id);
	call(f, "invoices.delete_discount", in, NULL);
	inv = invoice_json(f, inv_id);
	assert_int_equal(taken(inv, di, &total), 1000);
	assert_int_equal(total, 9000);
	assert_string_equal(di, cus_di);
	cJSON_Delete(inv);
	{
		char *text = NULL;
		tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin,
			"invoices.delete_discount", in, strlen(in), NULL), BILLING_ENOTFOUND);
		billing_free(text);
	}

	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", inv_id, quarter);
	call(f, "invoices.update", in, NULL);
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", inv_id);
	call(f, "invoices.finalize", in, NULL);
	inv = invoice_json(f, inv_id);
	assert_int_equal(taken(inv, own, &total), 2500);
	assert_int_equal(total, 7500);
	assert_string_not_equal(cJSON_GetObjectItemCaseSensitive(inv, "status")->valuestring,
		"draft");
	cJSON_Delete(inv);
	assert_int_equal(times_redeemed(f, "coupons.get", quarter), 2);
	/* The customer still shows its own discount, the invoice's is no
	 * level's. */
	tb_assert_rc(billing_discount_get(&d, f->w->ctx, &f->admin, f->cus, NULL), BILLING_OK);
	assert_string_equal(billing_discount_id(d), cus_di);
	assert_int_equal(billing_discount_end(d), 0);
	billing_discount_free(d);
	/* Finalized: its discount stays (409 on a delete); an MRR report
	 * counts no invoice's discount. */
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", inv_id);
	{
		char *text = NULL;
		tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin,
			"invoices.delete_discount", in, strlen(in), NULL), BILLING_ECONFLICT);
		tbb_assert_reason("invoice_not_draft");
		billing_free(text);
	}
	cJSON_Delete(call_json(f, "reports.mrr", "{\"currency\": \"EUR\"}"));
	/* The C update: version 2 params know no discount bit. */
	{
		billing_invoice_params ip = BILLING_INVOICE_PARAMS_INIT;
		billing_invoice *x = NULL;
		ip.version = 2;
		ip.fields = BILLING_INVOICE_DISCOUNT;
		ip.coupon = quarter;
		tb_assert_rc(billing_invoice_update(&x, f->w->ctx, &f->admin, inv_id, &ip, NULL),
			BILLING_EINVALID);
		tb_assert_field("fields");
	}
	assert_int_equal(problems(f), 0);
}

/* Refusals on a draft change nothing: an amount off in USD on a EUR draft
 * (currency_mismatch), an expired coupon, one used up, a first-time code
 * for a customer invoiced before (a customer whose only invoice is this
 * draft is first-time), both coupon and code; the draft's version and
 * amounts and the coupons' counts stay. A finalized invoice's discount
 * cannot change (invoice_not_draft). A draft deleted deletes its own
 * discount: billing_check finds nothing. */
static void draft__refusals_change_nothing(void **state)
{
	fx *f = *state;
	char usd[64], late[64], one[64], first[64], promo[64], inv_id[64], other[64], sub[64];
	char in[320], di[64];
	int64_t total, version;
	cJSON *inv;

	call(f, "coupons.create", "{\"amountOff\": 500, \"currency\": \"USD\"}", usd);
	call(f, "coupons.create", "{\"percentOff\": 40, \"redeemBy\": \"2026-01-15T00:00:00Z\"}",
		late);
	call(f, "coupons.create", "{\"percentOff\": 30, \"maxRedemptions\": 1}", one);
	call(f, "coupons.create", "{\"percentOff\": 5, \"duration\": \"forever\"}", first);
	snprintf(in, sizeof(in), "{\"code\": \"NEWHERE\", \"couponId\": \"%s\", \"restrictions\": "
		"{\"firstTimeTransaction\": true}}", first);
	call(f, "promotion_codes.create", in, promo);
	subscribe(f, sub, f->cus2, f->plan_a, one, NULL);      /* one used up; cus2 invoiced */
	f->w->now = tbb_ts(2026, 2, 1, 0, 0, 0);               /* late expired */
	snprintf(in, sizeof(in), "{\"customerId\": \"%s\", \"amount\": 10000, \"currency\": "
		"\"EUR\", \"description\": \"Consulting\"}", f->cus);
	call(f, "invoice_items.create", in, NULL);
	snprintf(in, sizeof(in), "{\"customerId\": \"%s\", \"currency\": \"EUR\"}", f->cus);
	call(f, "invoices.create", in, inv_id);
	inv = invoice_json(f, inv_id);
	version = num(inv, "version");
	cJSON_Delete(inv);

	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", inv_id, usd);
	refused_json(f, "invoices.update", in, "coupon", "currency_mismatch");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", inv_id, late);
	refused_json(f, "invoices.update", in, "coupon", "coupon_expired");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", inv_id, one);
	refused_json(f, "invoices.update", in, "coupon", "coupon_exhausted");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\", \"promotionCode\": "
		"\"newhere\"}", inv_id, first);
	refused_json(f, "invoices.update", in, "coupon", "invalid");
	snprintf(in, sizeof(in), "{\"customerId\": \"%s\", \"currency\": \"EUR\", "
		"\"promotionCode\": \"newhere\"}", f->cus2);
	refused_json(f, "invoices.create", in, "promotionCode", "promotion_code_first_time");
	snprintf(in, sizeof(in), "{\"customerId\": \"%s\", \"currency\": \"EUR\", \"coupon\": "
		"\"%s\"}", f->cus, usd);
	refused_json(f, "invoices.create", in, "coupon", "currency_mismatch");
	inv = invoice_json(f, inv_id);
	assert_int_equal(num(inv, "version"), version);
	assert_int_equal(taken(inv, di, &total), 0);
	assert_int_equal(total, 10000);
	cJSON_Delete(inv);
	assert_int_equal(times_redeemed(f, "coupons.get", usd), 0);
	assert_int_equal(times_redeemed(f, "coupons.get", one), 1);
	assert_int_equal(times_redeemed(f, "promotion_codes.get", promo), 0);

	/* f->cus's only invoice is this draft: first-time. */
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"promotionCode\": \"newhere\"}", inv_id);
	call(f, "invoices.update", in, NULL);
	inv = invoice_json(f, inv_id);
	assert_int_equal(taken(inv, di, &total), 500);
	assert_int_equal(total, 9500);
	cJSON_Delete(inv);

	/* Another draft with a discount of its own, deleted with it. */
	snprintf(in, sizeof(in), "{\"customerId\": \"%s\", \"currency\": \"EUR\", \"coupon\": "
		"\"%s\"}", f->cus, first);
	call(f, "invoices.create", in, other);
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", other);
	call(f, "invoices.delete", in, NULL);
	assert_int_equal(problems(f), 0);

	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", inv_id);
	call(f, "invoices.finalize", in, NULL);
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"coupon\": \"%s\"}", inv_id, first);
	{
		char *text = NULL;
		tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "invoices.update", in,
			strlen(in), NULL), BILLING_ECONFLICT);
		tbb_assert_reason("invoice_not_draft");
		billing_free(text);
	}
	assert_int_equal(problems(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(discount__repeating_three_months, setup, teardown),
		cmocka_unit_test_setup_teardown(discount__amount_off_once_by_code, setup, teardown),
		cmocka_unit_test_setup_teardown(discount__subscription_before_customer, setup,
			teardown),
		cmocka_unit_test_setup_teardown(discount__proration_same_percent, setup, teardown),
		cmocka_unit_test_setup_teardown(discount__applies_to_other_product, setup, teardown),
		cmocka_unit_test_setup_teardown(discount__refusals_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(discount__update_subscription_replaces, setup,
			teardown),
		cmocka_unit_test_setup_teardown(discount__update_customer_makes_and_replaces, setup,
			teardown),
		cmocka_unit_test_setup_teardown(discount__update_refusals_change_nothing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(discount__and_tax_rate_on_one_line, setup, teardown),
		cmocka_unit_test_setup_teardown(
			credit_notes__credit_the_discount_and_the_tax_in_proportion, setup, teardown),
		cmocka_unit_test_setup_teardown(discount__shown_on_subscription_and_customer, setup,
			teardown),
		cmocka_unit_test_setup_teardown(discount__deleted_stays_deleted_after_a_draft_took_it,
			setup, teardown),
		cmocka_unit_test_setup_teardown(draft__own_discount_replaces_the_customers, setup,
			teardown),
		cmocka_unit_test_setup_teardown(draft__refusals_change_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
