/*
 * Price models on invoices (issue #21 part 1), both backends, simulated
 * clock: a tiered graduated plan's first invoice and its renewal carry the
 * model's amount with the tiers the quantity used (Stripe's example: 25
 * fonts cost 5 x 7.00 + 5 x 6.50 + 15 x 6.00); a volume plan bills every
 * unit at the tier reached; a package plan rounds the quantity up to whole
 * packages; a trial on a tiered plan is a zero line without tiers, and the
 * first paid period after it is priced by the tiers; a price that does not
 * fit an amount refuses the subscription and writes nothing;
 * billing_check finds nothing in what was written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "tb.h"
#include "tb_billing.h"

#define STRIPE_TIERS "\"tiers\":[{\"upTo\":5,\"unitAmount\":700},{\"upTo\":10," \
	"\"unitAmount\":650},{\"upTo\":null,\"unitAmount\":600}]"

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char product[64], customer[64];
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	billing_product *p;
	billing_customer *c;
	assert_non_null(f);
	f->w = tb_world_new();
	f->t = tb_tenant(f->w, "Typographic");
	f->admin = tb_admin(f->t);
	p = tb_product(f->w, f->t, NULL);
	c = tb_customer(f->w, f->t, NULL);
	snprintf(f->product, sizeof(f->product), "%s", billing_product_id(p));
	snprintf(f->customer, sizeof(f->customer), "%s", billing_customer_id(c));
	billing_product_free(p);
	billing_customer_free(c);
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

static char *plan_of(fx *f, const char *price_json, int64_t amount, int32_t trial_days)
{
	billing_plan *p = tb_plan(f->w, f->t, &(tb_plan_spec){ .product_id = f->product,
		.price_json = price_json, .amount = amount, .trial_days = trial_days });
	char *id = strdup(billing_plan_id(p));
	billing_plan_free(p);
	return id;
}

/* The subscription's latest invoice, owned. */
static billing_invoice *latest(fx *f, const char *sub_id)
{
	billing_subscription *s = tbb_sub_get(f->w, f->t, sub_id);
	billing_invoice *inv = NULL;
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	billing_subscription_free(s);
	return inv;
}

/* Asserts the line's tiers: n of them, quantities q[] and amounts a[]. */
static void assert_tiers(const billing_invoice_line *l, size_t n, const int64_t *q,
	const int64_t *a)
{
	cJSON *t = cJSON_Parse(l->tiers);
	size_t i;
	assert_non_null(t);
	assert_int_equal(cJSON_GetArraySize(t), n);
	for (i = 0; i < n; i++) {
		const cJSON *e = cJSON_GetArrayItem(t, (int)i);
		assert_int_equal(cJSON_GetObjectItem(e, "quantity")->valuedouble, q[i]);
		assert_int_equal(cJSON_GetObjectItem(e, "amount")->valuedouble, a[i]);
	}
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(t, (int)n - 1), "upTo")) ==
		(n == 3));
	cJSON_Delete(t);
}

static void assert_check_clean(fx *f)
{
	int64_t problems = -1;
	tb_assert_rc(billing_check(f->w->ctx, NULL, NULL, &problems), BILLING_OK);
	assert_int_equal(problems, 0);
}

static void pricing__a_graduated_plan_renews_with_its_tiers(void **state)
{
	static const int64_t q[] = { 5, 5, 15 }, a[] = { 3500, 3250, 9000 };
	fx *f = *state;
	char *plan = plan_of(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\","
		STRIPE_TIERS, 0, 0);
	billing_subscription *s = tbb_subscribe(f->w, f->t, f->customer, plan, 25);
	billing_invoice *inv = latest(f, billing_subscription_id(s));
	const billing_invoice_line *l;
	char first[64], *out = NULL, in[128];
	int round;

	for (round = 0; round < 2; round++) {
		assert_int_equal(billing_invoice_line_count(inv), 1);
		l = billing_invoice_line_at(inv, 0);
		assert_int_equal(l->quantity, 25);
		assert_int_equal(l->amount, 15750);
		assert_int_equal(l->unit_amount, 0);
		assert_false(l->proration);
		assert_int_equal(billing_invoice_subtotal(inv), 15750);
		assert_tiers(l, 3, q, a);
		if (round == 0) {
			snprintf(first, sizeof(first), "%s", billing_invoice_id(inv));
			billing_invoice_free(inv);
			/* the renewal, a month on */
			f->w->now += 32 * TBB_DAY;
			tbb_run(f->w);
			inv = latest(f, billing_subscription_id(s));
			assert_string_not_equal(billing_invoice_id(inv), first);
		}
	}
	/* The invoice's JSON shows the tiers on the line. */
	snprintf(in, sizeof(in), "{\"id\":\"%s\"}", billing_invoice_id(inv));
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "invoices.get", in, strlen(in),
		NULL), BILLING_OK);
	assert_non_null(strstr(out, "\"tiers\":[{\"upTo\":5,\"quantity\":5,\"unitAmount\":700,"
		"\"flatAmount\":0,\"amount\":3500}"));
	billing_free(out);
	assert_check_clean(f);
	billing_invoice_free(inv);
	billing_subscription_free(s);
	free(plan);
}

static void pricing__volume_and_package_plans(void **state)
{
	static const int64_t q[] = { 6 }, a[] = { 3900 };
	fx *f = *state;
	char *vol = plan_of(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\","
		STRIPE_TIERS, 0, 0);
	char *pkg = plan_of(f, "\"transformQuantity\":{\"divideBy\":1000,\"round\":\"up\"}", 500, 0);
	billing_subscription *s1 = tbb_subscribe(f->w, f->t, f->customer, vol, 6);
	billing_subscription *s2 = tbb_subscribe(f->w, f->t, f->customer, pkg, 1001);
	billing_invoice *inv = latest(f, billing_subscription_id(s1));
	const billing_invoice_line *l = billing_invoice_line_at(inv, 0);

	assert_int_equal(l->amount, 3900);
	assert_tiers(l, 1, q, a);
	billing_invoice_free(inv);
	inv = latest(f, billing_subscription_id(s2));
	l = billing_invoice_line_at(inv, 0);
	/* 1,001 units are two packages of 1,000 at 5.00 */
	assert_int_equal(l->quantity, 1001);
	assert_int_equal(l->unit_amount, 500);
	assert_int_equal(l->amount, 1000);
	assert_null(l->tiers);
	billing_invoice_free(inv);
	f->w->now += 32 * TBB_DAY;
	tbb_run(f->w);
	inv = latest(f, billing_subscription_id(s2));
	assert_int_equal(billing_invoice_line_at(inv, 0)->amount, 1000);
	billing_invoice_free(inv);
	assert_check_clean(f);
	billing_subscription_free(s1);
	billing_subscription_free(s2);
	free(vol);
	free(pkg);
}

static void pricing__a_trial_of_a_tiered_plan_is_free_then_tiered(void **state)
{
	static const int64_t q[] = { 5, 1 }, a[] = { 3500, 650 };
	fx *f = *state;
	char *plan = plan_of(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\","
		STRIPE_TIERS, 0, 7);
	billing_subscription *s = tbb_subscribe(f->w, f->t, f->customer, plan, 6);
	billing_invoice *inv = latest(f, billing_subscription_id(s));
	const billing_invoice_line *l = billing_invoice_line_at(inv, 0);

	assert_int_equal(l->amount, 0);
	assert_null(l->tiers);
	billing_invoice_free(inv);
	f->w->now += 8 * TBB_DAY;
	tbb_run(f->w);
	inv = latest(f, billing_subscription_id(s));
	l = billing_invoice_line_at(inv, 0);
	assert_int_equal(l->amount, 4150);
	assert_tiers(l, 2, q, a);
	billing_invoice_free(inv);
	assert_check_clean(f);
	billing_subscription_free(s);
	free(plan);
}

static void pricing__a_price_beyond_an_amount_writes_nothing(void **state)
{
	fx *f = *state;
	char *plan = plan_of(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\","
		"\"tiers\":[{\"upTo\":null,\"unitAmount\":999999999999999}]", 0, 0);
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription_list_params lp = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_subscription *s = NULL;
	billing_page *page = NULL;

	p.customer_id = f->customer;
	p.plan_id = plan;
	p.quantity = 2;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EOVERFLOW);
	assert_non_null(strstr(billing_error_last()->message, "does not fit an amount"));
	assert_null(s);
	tb_assert_rc(billing_subscription_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	free(plan);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(pricing__a_graduated_plan_renews_with_its_tiers),
		T(pricing__volume_and_package_plans),
		T(pricing__a_trial_of_a_tiered_plan_is_free_then_tiered),
		T(pricing__a_price_beyond_an_amount_writes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
