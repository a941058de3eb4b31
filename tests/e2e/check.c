/*
 * billing_check() as check.h describes it: a database the library wrote
 * has no problem; each kind of damage made behind the library's back is
 * reported through the callback, once, with its kind, its tenant and the
 * resource it is about; the count matches what the callback saw; and a
 * tenant's damage is never reported against another tenant. (faults.c
 * runs the checker after injected failures; this suite checks the
 * checker.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "tb.h"
#include "tb_billing.h"

#define MAX_SEEN 32

typedef struct {
	char tenant[64], kind[64], resource[64];
} seen_problem;

typedef struct {
	seen_problem v[MAX_SEEN];
	size_t n;
} seen;

static void record(void *user_data, const billing_check_problem *p)
{
	seen *s = user_data;
	assert_non_null(p->tenant_id);
	assert_non_null(p->kind);
	assert_non_null(p->detail);
	assert_true(s->n < MAX_SEEN);
	snprintf(s->v[s->n].tenant, sizeof(s->v[s->n].tenant), "%s", p->tenant_id);
	snprintf(s->v[s->n].kind, sizeof(s->v[s->n].kind), "%s", p->kind);
	snprintf(s->v[s->n].resource, sizeof(s->v[s->n].resource), "%s",
		p->resource_id ? p->resource_id : "");
	s->n++;
}

/* Runs the check; asserts the count equals the callback's. */
static void check(tb_world *w, seen *s)
{
	int64_t problems = -1;
	memset(s, 0, sizeof(*s));
	tb_assert_rc(billing_check(w->ctx, record, s, &problems), BILLING_OK);
	assert_int_equal(problems, (int64_t)s->n);
}

/* Asserts exactly one problem of kind about resource ("" for none) in
 * tenant. */
static void assert_one(const seen *s, const char *tenant, const char *kind, const char *resource)
{
	size_t i, n = 0;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].kind, kind) == 0 && strcmp(s->v[i].resource, resource) == 0) {
			assert_string_equal(s->v[i].tenant, tenant);
			n++;
		}
	if (n != 1) {
		print_error("want one %s about \"%s\" in %s, found %zu among %zu problems\n", kind,
			resource, tenant, n, s->n);
		for (i = 0; i < s->n; i++)
			print_error("  %s %s %s\n", s->v[i].tenant, s->v[i].kind, s->v[i].resource);
		fail();
	}
}

typedef struct {
	const char *t;
	char customer[64], product[64], plan[64], sub[64], invoice[64], payment[64];
} shop;

/* A tenant whose customer pays by card: one subscription, its first
 * invoice paid by one captured payment. */
static void shop_new(tb_world *w, shop *s, const char *name)
{
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_principal admin;
	billing_product *prod;
	billing_plan *plan;
	billing_customer *c;
	billing_subscription *sub;
	billing_page *page = NULL;

	memset(s, 0, sizeof(*s));
	s->t = tb_tenant(w, name);
	admin = tb_admin(s->t);
	prod = tb_product(w, s->t, NULL);
	plan = tb_plan(w, s->t, &(tb_plan_spec){ .product_id = billing_product_id(prod) });
	c = tb_customer(w, s->t, &(tb_customer_spec){ .default_payment_method = "pm_card_visa" });
	sub = tbb_subscribe(w, s->t, billing_customer_id(c), billing_plan_id(plan), 1);
	snprintf(s->customer, sizeof(s->customer), "%s", billing_customer_id(c));
	snprintf(s->product, sizeof(s->product), "%s", billing_product_id(prod));
	snprintf(s->plan, sizeof(s->plan), "%s", billing_plan_id(plan));
	snprintf(s->sub, sizeof(s->sub), "%s", billing_subscription_id(sub));
	snprintf(s->invoice, sizeof(s->invoice), "%s", billing_subscription_latest_invoice_id(sub));
	lp.invoice_id = s->invoice;
	tb_assert_rc(billing_payment_list(&page, w->ctx, &admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_int_equal(billing_payment_status_of(billing_page_payment(page, 0)),
		BILLING_PAYMENT_SUCCEEDED);
	snprintf(s->payment, sizeof(s->payment), "%s", billing_payment_id(billing_page_payment(page, 0)));
	billing_page_free(page);
	billing_subscription_free(sub);
	billing_customer_free(c);
	billing_plan_free(plan);
	billing_product_free(prod);
}

static tb_world *world(void)
{
	billing_provider *p = NULL;
	tb_assert_rc(billing_test_provider_new(&p, NULL), BILLING_OK);
	return tb_world_new_with_provider(p);
}

/* SQL behind the library's back. */
#define EXEC(w, ...) do { \
	char sql_[512]; \
	snprintf(sql_, sizeof(sql_), __VA_ARGS__); \
	tb_raw_exec((w)->url, sql_); \
} while (0)

/* ------------------------------------------------------------ tests */

static void check__what_the_library_wrote_has_no_problem(void **state)
{
	tb_world *w = world();
	billing_principal admin;
	billing_payment *p = NULL;
	shop a, b;
	seen s;
	(void)state;

	check(w, &s);                 /* an empty database */
	assert_int_equal(s.n, 0);
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");
	admin = tb_admin(a.t);
	/* a refund, a renewal that stays pending, a void */
	tb_assert_rc(billing_payment_refund(&p, w->ctx, &admin, a.payment, 100, NULL), BILLING_OK);
	billing_payment_free(p);
	{
		billing_customer *c = tb_customer(w, a.t, NULL);
		billing_subscription *sub = tbb_subscribe(w, a.t, billing_customer_id(c), a.plan, 2);
		billing_invoice *inv = NULL;
		tb_assert_rc(billing_invoice_void(&inv, w->ctx, &admin,
			billing_subscription_latest_invoice_id(sub), NULL), BILLING_OK);
		billing_invoice_free(inv);
		billing_subscription_free(sub);
		billing_customer_free(c);
	}
	w->now += 40 * TBB_DAY;
	tbb_run(w);
	check(w, &s);
	assert_int_equal(s.n, 0);
	/* NULL callback and NULL count are allowed. */
	tb_assert_rc(billing_check(w->ctx, NULL, NULL, NULL), BILLING_OK);
	tb_world_free(w);
}

static void check__invoice_sums_and_number_gaps_are_reported_in_their_tenant(void **state)
{
	tb_world *w = world();
	shop a, b;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");

	/* its lines no longer sum to its subtotal (the invoice row's own sums
	 * are a CHECK constraint) */
	EXEC(w, "UPDATE invoice_lines SET amount = amount + 1 WHERE invoice_id = '%s'", a.invoice);
	/* Bolt's only number is no longer 1 */
	EXEC(w, "UPDATE invoices SET number = 'INV-000002' WHERE id = '%s'", b.invoice);
	check(w, &s);
	assert_int_equal(s.n, 3);
	assert_one(&s, a.t, "invoice_sums", a.invoice);
	/* and the plan's line no longer costs what the plan says */
	assert_one(&s, a.t, "plan_line_amount", a.invoice);
	assert_one(&s, b.t, "invoice_number_gap", "");
	tb_world_free(w);
}

/* A plan's full-period line must cost what the plan's price model says
 * of its quantity: per unit at the unit amount it recorded, tiered by the
 * plan's tiers (Stripe's graduated example: 6 fonts cost 5 x 7.00 +
 * 6.50). Prorations are not recomputed. */
static void check__a_plan_line_not_priced_by_its_plan_is_reported(void **state)
{
	tb_world *w = world();
	billing_plan *tiered;
	billing_subscription *sub;
	char invoice[64];
	shop a, b;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");
	tiered = tb_plan(w, b.t, &(tb_plan_spec){ .product_id = b.product, .price_json =
		"\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\",\"tiers\":["
		"{\"upTo\":5,\"unitAmount\":700},{\"upTo\":10,\"unitAmount\":650},"
		"{\"upTo\":null,\"unitAmount\":600}]" });
	sub = tbb_subscribe(w, b.t, b.customer, billing_plan_id(tiered), 6);
	snprintf(invoice, sizeof(invoice), "%s", billing_subscription_latest_invoice_id(sub));
	check(w, &s);
	assert_int_equal(s.n, 0);

	/* The sums still agree, the quantities do not: 2 x 29.00 is not 29.00,
	 * and 7 fonts are not 41.50. */
	EXEC(w, "UPDATE invoice_lines SET quantity = 2 WHERE invoice_id = '%s'", a.invoice);
	EXEC(w, "UPDATE invoice_lines SET quantity = 7 WHERE invoice_id = '%s'", invoice);
	check(w, &s);
	assert_int_equal(s.n, 2);
	assert_one(&s, a.t, "plan_line_amount", a.invoice);
	assert_one(&s, b.t, "plan_line_amount", invoice);
	/* A proration line is a part of the model's amount: not recomputed. */
	EXEC(w, "UPDATE invoice_lines SET proration = 1 WHERE invoice_id = '%s'", invoice);
	check(w, &s);
	assert_int_equal(s.n, 1);
	billing_subscription_free(sub);
	billing_plan_free(tiered);
	tb_world_free(w);
}

static void check__payments_and_invoices_that_disagree_are_reported(void **state)
{
	tb_world *w = world();
	shop a, b;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");

	/* Acme: the invoice says paid, its only payment failed */
	EXEC(w, "UPDATE payments SET status = %d WHERE id = '%s'", BILLING_PAYMENT_FAILED,
		a.payment);
	/* Bolt: the payment was captured, its invoice says pending */
	EXEC(w, "UPDATE invoices SET status = %d WHERE id = '%s'", BILLING_INVOICE_PENDING,
		b.invoice);
	check(w, &s);
	assert_int_equal(s.n, 2);
	assert_one(&s, a.t, "paid_without_payment", a.invoice);
	assert_one(&s, b.t, "payment_invoice_unpaid", b.payment);
	tb_world_free(w);
}

/* Issue #18 item 5: an incomplete subscription's first invoice is not
 * paid (it would be active), an incomplete_expired one's is void. */
static void check__incomplete_subscriptions_and_their_invoice_agree(void **state)
{
	tb_world *w = world();
	shop a, b;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");

	/* Acme: incomplete, but its invoice is paid */
	EXEC(w, "UPDATE subscriptions SET status = %d WHERE id = '%s'", BILLING_SUB_INCOMPLETE,
		a.sub);
	/* Bolt: incomplete_expired, but its invoice was never voided */
	EXEC(w, "UPDATE subscriptions SET status = %d WHERE id = '%s'",
		BILLING_SUB_INCOMPLETE_EXPIRED, b.sub);
	check(w, &s);
	assert_int_equal(s.n, 2);
	assert_one(&s, a.t, "incomplete_invoice_paid", a.sub);
	assert_one(&s, b.t, "incomplete_expired_invoice_not_void", b.sub);
	tb_world_free(w);
}

static void check__a_refunded_payment_still_counts_as_captured(void **state)
{
	tb_world *w = world();
	billing_principal admin;
	billing_payment *p = NULL;
	shop a;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	admin = tb_admin(a.t);
	tb_assert_rc(billing_payment_refund(&p, w->ctx, &admin, a.payment, 0, NULL), BILLING_OK);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_REFUNDED);
	billing_payment_free(p);
	check(w, &s);
	assert_int_equal(s.n, 0);
	tb_world_free(w);
}

static void check__every_resource_without_its_creation_event_is_reported(void **state)
{
	tb_world *w = world();
	shop a, b;
	seen s;
	const char *ids[6];
	size_t i;
	(void)state;
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");
	ids[0] = a.customer;
	ids[1] = a.product;
	ids[2] = a.plan;
	ids[3] = a.sub;
	ids[4] = a.invoice;
	ids[5] = a.payment;
	for (i = 0; i < 6; i++)
		EXEC(w, "DELETE FROM events WHERE resource_id = '%s'", ids[i]);
	check(w, &s);
	assert_int_equal(s.n, 6);
	for (i = 0; i < 6; i++)
		assert_one(&s, a.t, "missing_event", ids[i]);
	tb_world_free(w);
}

static void check__events_older_than_the_retention_may_be_gone(void **state)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_provider *p = NULL;
	tb_world *w;
	shop a;
	seen s;
	(void)state;
	tb_assert_rc(billing_test_provider_new(&p, NULL), BILLING_OK);
	o.provider = p;
	o.event_retention = 30 * TBB_DAY;
	w = tb_world_new_with(&o);
	shop_new(w, &a, "Acme");
	EXEC(w, "DELETE FROM events WHERE resource_id = '%s'", a.customer);
	check(w, &s);
	assert_int_equal(s.n, 1);
	assert_one(&s, a.t, "missing_event", a.customer);
	/* Past the retention, a pruned event is no problem. */
	w->now += 31 * TBB_DAY;
	EXEC(w, "DELETE FROM events WHERE resource_id = '%s'", a.product);
	check(w, &s);
	assert_int_equal(s.n, 0);
	tb_world_free(w);
}

/* A tax rate of the tenant, made through the library (its descriptor is
 * all billing_check knows of it). */
static void tax_rate_new(tb_world *w, const char *t, char id[64])
{
	billing_tax_rate_params p = BILLING_TAX_RATE_PARAMS_INIT;
	billing_principal admin = tb_admin(t);
	billing_tax_rate *r = NULL;
	p.display_name = "VAT";
	p.percentage = 190000;
	p.inclusive = BILLING_FALSE;
	p.country = "DE";
	tb_assert_rc(billing_tax_rate_create(&r, w->ctx, &admin, &p, NULL), BILLING_OK);
	snprintf(id, 64, "%s", billing_tax_rate_id(r));
	billing_tax_rate_free(r);
}

static void check__a_damaged_tax_rate_is_reported_from_its_descriptor(void **state)
{
	tb_world *w = world();
	char rate_a[64], rate_a2[64], rate_b[64];
	shop a, b;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");
	tax_rate_new(w, a.t, rate_a);
	tax_rate_new(w, a.t, rate_a2);
	tax_rate_new(w, b.t, rate_b);
	check(w, &s);
	assert_int_equal(s.n, 0);

	/* Acme's first: metadata that is not a JSON object of strings; its
	 * second: the event of its creation gone. Bolt's: metadata that is an
	 * object, but not of strings. */
	EXEC(w, "UPDATE tax_rates SET metadata = '[1, 2]' WHERE id = '%s'", rate_a);
	EXEC(w, "DELETE FROM events WHERE resource_id = '%s'", rate_a2);
	EXEC(w, "UPDATE tax_rates SET metadata = '{\"k\": 1}' WHERE id = '%s'", rate_b);
	check(w, &s);
	assert_int_equal(s.n, 3);
	assert_one(&s, a.t, "invalid_field", rate_a);
	assert_one(&s, a.t, "missing_event", rate_a2);
	assert_one(&s, b.t, "invalid_field", rate_b);
	tb_world_free(w);
}

static void check__ids_versions_and_references_are_checked_on_every_object(void **state)
{
	tb_world *w = world();
	shop a, b;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");

	/* Acme's subscription names an invoice that does not exist (no
	 * foreign key stops it); its customer's version is 0. Bolt stays
	 * clean. */
	EXEC(w, "UPDATE subscriptions SET latest_invoice_id = 'in_00000000000000000000000000' "
		"WHERE id = '%s'", a.sub);
	EXEC(w, "UPDATE customers SET version = 0 WHERE id = '%s'", a.customer);
	check(w, &s);
	assert_int_equal(s.n, 2);
	assert_one(&s, a.t, "dangling_reference", a.sub);
	assert_one(&s, a.t, "invalid_field", a.customer);
	tb_world_free(w);
}

/* A deleted endpoint's deliveries stay (no foreign key, by design): their
 * endpointId names nothing, and that is no problem. */
static void check__deliveries_of_a_deleted_endpoint_are_no_problem(void **state)
{
	billing_webhook_endpoint_params ep = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	billing_delivery_list_params dp = BILLING_DELIVERY_LIST_PARAMS_INIT;
	billing_webhook_endpoint *e = NULL;
	billing_principal admin;
	billing_page *page = NULL;
	char id[64];
	tb_world *w = world();
	shop a;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	admin = tb_admin(a.t);
	ep.url = "https://hooks.example.com/billing";
	tb_assert_rc(billing_webhook_endpoint_create(&e, w->ctx, &admin, &ep, NULL), BILLING_OK);
	snprintf(id, sizeof(id), "%s", billing_webhook_endpoint_id(e));
	billing_webhook_endpoint_free(e);
	billing_customer_free(tb_customer(w, a.t, NULL));    /* an event: a delivery */
	tb_assert_rc(billing_webhook_endpoint_delete(w->ctx, &admin, id, 0), BILLING_OK);
	dp.endpoint_id = id;
	tb_assert_rc(billing_webhook_delivery_list(&page, w->ctx, &admin, &dp), BILLING_OK);
	assert_true(billing_page_count(page) >= 1);
	billing_page_free(page);
	check(w, &s);
	assert_int_equal(s.n, 0);
	tb_world_free(w);
}

/* The discount a customer or subscription shows (its discount column,
 * issue #22) is its level's live discount in the discounts table
 * ("discount_shown"): a customer's shown discount erased, a subscription
 * shown another end than its discount's, and in another tenant a
 * subscription without a discount shown one, are each reported once in
 * their tenant; a discount removed by the library leaves nothing. */
static void check__a_shown_discount_not_the_live_one_is_reported(void **state)
{
	billing_discount_params dp = BILLING_DISCOUNT_PARAMS_INIT;
	billing_discount *d = NULL;
	billing_principal admin;
	const char *in = "{\"id\": \"coupon_TENOFF\", \"percentOff\": 10, \"duration\": \"forever\"}";
	char *out = NULL;
	tb_world *w = world();
	shop a, b;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");
	admin = tb_admin(a.t);
	tb_assert_rc(billing_call_json(&out, w->ctx, &admin, "coupons.create", in, strlen(in),
		NULL), BILLING_OK);
	billing_free(out);
	dp.customer_id = a.customer;
	dp.coupon = "coupon_TENOFF";
	tb_assert_rc(billing_discount_create(&d, w->ctx, &admin, &dp, NULL), BILLING_OK);
	billing_discount_free(d);
	dp.subscription_id = a.sub;
	tb_assert_rc(billing_discount_create(&d, w->ctx, &admin, &dp, NULL), BILLING_OK);
	billing_discount_free(d);
	check(w, &s);
	assert_int_equal(s.n, 0);

	EXEC(w, "UPDATE customers SET discount = NULL WHERE id = '%s'", a.customer);
	EXEC(w, "UPDATE subscriptions SET discount = replace(discount, '\"end\":null', "
		"'\"end\":\"2030-01-01T00:00:00Z\"') WHERE id = '%s'", a.sub);
	EXEC(w, "UPDATE subscriptions SET discount = '{\"id\":\"di_0000000000000000\","
		"\"couponId\":\"coupon_TENOFF\",\"promotionCodeId\":null,\"start\":"
		"\"2026-01-01T00:00:00Z\",\"end\":null}' WHERE id = '%s'", b.sub);
	check(w, &s);
	assert_int_equal(s.n, 3);
	assert_one(&s, a.t, "discount_shown", a.customer);
	assert_one(&s, a.t, "discount_shown", a.sub);
	assert_one(&s, b.t, "discount_shown", b.sub);

	/* Mended behind its back, then removed by the library: nothing. */
	EXEC(w, "UPDATE subscriptions SET discount = NULL WHERE id = '%s'", b.sub);
	tb_assert_rc(billing_discount_delete(w->ctx, &admin, NULL, a.sub), BILLING_OK);
	tb_assert_rc(billing_discount_delete(w->ctx, &admin, a.customer, NULL), BILLING_OK);
	check(w, &s);
	assert_int_equal(s.n, 0);
	tb_world_free(w);
}

/* The problems of kind about resource in tenant. */
static size_t count_in(const seen *s, const char *tenant, const char *kind, const char *resource)
{
	size_t i, n = 0;
	for (i = 0; i < s->n; i++)
		n += strcmp(s->v[i].tenant, tenant) == 0 && strcmp(s->v[i].kind, kind) == 0 &&
			strcmp(s->v[i].resource, resource) == 0;
	return n;
}

/* A JSON call of the tenant's ADMIN; the id of the object made into id. */
static void call_id(tb_world *w, const char *tenant, const char *op, const char *in,
	char id[64])
{
	billing_principal admin = tb_admin(tenant);
	char *out = NULL;
	cJSON *o;
	tb_assert_rc(billing_call_json(&out, w->ctx, &admin, op, in, strlen(in), NULL),
		BILLING_OK);
	assert_non_null(o = cJSON_Parse(out));
	snprintf(id, 64, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id")));
	cJSON_Delete(o);
	billing_free(out);
}

/* SQL behind the library's back past the tables' CHECK (times_redeemed <=
 * max_redemptions), as a database restored without its constraints would
 * hold: SQLite ignores CHECKs on the statement's connection, PostgreSQL's
 * constraints are dropped from this test's schema first. */
static void exec_unchecked(tb_world *w, const char *sql)
{
	char text[600];
	if (strcmp(tb_backend(), "postgres") == 0) {
		tb_raw_exec(w->url, "ALTER TABLE coupons DROP CONSTRAINT IF EXISTS coupons_max");
		tb_raw_exec(w->url, "ALTER TABLE promotion_codes DROP CONSTRAINT IF EXISTS "
			"promotion_codes_max");
		tb_raw_exec(w->url, sql);
		return;
	}
	snprintf(text, sizeof(text), "PRAGMA ignore_check_constraints = ON; %s", sql);
	tb_raw_exec(w->url, text);
}

/* A coupon's and a promotion code's timesRedeemed is at most its
 * maxRedemptions and is the number of discounts made from it, deleted ones
 * too ("coupon_redemptions", issue #22): the library's counts (a discount
 * replaced, one deleted, one by code; a coupon of the same id in another
 * tenant, never redeemed) are no problem; a coupon's count raised above
 * its maximum, a code's moved away from its discounts (within its
 * maximum) and the other tenant's coupon's count raised are each reported
 * once, in their tenant, with the coupon's or code's id. */
static void check__redemption_counts_not_the_discounts_made_are_reported(void **state)
{
	billing_discount_params dp = BILLING_DISCOUNT_PARAMS_INIT;
	billing_discount *d = NULL;
	billing_principal admin;
	const char *coupon = "{\"id\": \"coupon_TENOFF\", \"percentOff\": 10, "
		"\"duration\": \"forever\", \"maxRedemptions\": 3}";
	char id[64], promo[64], sql[200];
	tb_world *w = world();
	shop a, b;
	seen s;
	(void)state;
	shop_new(w, &a, "Acme");
	shop_new(w, &b, "Bolt");
	admin = tb_admin(a.t);
	call_id(w, a.t, "coupons.create", coupon, id);
	call_id(w, a.t, "promotion_codes.create", "{\"code\": \"TEN\", \"couponId\": "
		"\"coupon_TENOFF\", \"maxRedemptions\": 2}", promo);
	call_id(w, b.t, "coupons.create", "{\"id\": \"coupon_TENOFF\", \"percentOff\": 10}", id);
	/* The customer's discount twice (the first replaced: deleted), the
	 * subscription's by code, then deleted: the coupon 3 of 3, the code 1. */
	dp.customer_id = a.customer;
	dp.coupon = "coupon_TENOFF";
	tb_assert_rc(billing_discount_create(&d, w->ctx, &admin, &dp, NULL), BILLING_OK);
	billing_discount_free(d);
	tb_assert_rc(billing_discount_create(&d, w->ctx, &admin, &dp, NULL), BILLING_OK);
	billing_discount_free(d);
	dp.subscription_id = a.sub;
	dp.coupon = NULL;
	dp.promotion_code = "ten";
	tb_assert_rc(billing_discount_create(&d, w->ctx, &admin, &dp, NULL), BILLING_OK);
	billing_discount_free(d);
	tb_assert_rc(billing_discount_delete(w->ctx, &admin, NULL, a.sub), BILLING_OK);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM discounts WHERE "
		"deleted_at IS NOT NULL"), 2);
	check(w, &s);
	assert_int_equal(s.n, 0);

	EXEC(w, "UPDATE promotion_codes SET times_redeemed = 2 WHERE id = '%s'", promo);
	EXEC(w, "UPDATE coupons SET times_redeemed = 1 WHERE tenant_id = '%s'", b.t);
	snprintf(sql, sizeof(sql), "UPDATE coupons SET times_redeemed = 4 WHERE tenant_id = '%s'",
		a.t);
	exec_unchecked(w, sql);
	check(w, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(count_in(&s, a.t, "coupon_redemptions", "coupon_TENOFF"), 1);
	assert_int_equal(count_in(&s, a.t, "coupon_redemptions", promo), 1);
	assert_int_equal(count_in(&s, b.t, "coupon_redemptions", "coupon_TENOFF"), 1);

	/* A count below the discounts made (a use given back behind the
	 * library's back) is reported too; the others mended are not. */
	EXEC(w, "UPDATE promotion_codes SET times_redeemed = 1 WHERE id = '%s'", promo);
	EXEC(w, "UPDATE coupons SET times_redeemed = 0 WHERE tenant_id = '%s'", b.t);
	EXEC(w, "UPDATE coupons SET times_redeemed = 2 WHERE tenant_id = '%s'", a.t);
	check(w, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(count_in(&s, a.t, "coupon_redemptions", "coupon_TENOFF"), 1);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check__what_the_library_wrote_has_no_problem),
		cmocka_unit_test(check__invoice_sums_and_number_gaps_are_reported_in_their_tenant),
		cmocka_unit_test(check__a_plan_line_not_priced_by_its_plan_is_reported),
		cmocka_unit_test(check__payments_and_invoices_that_disagree_are_reported),
		cmocka_unit_test(check__incomplete_subscriptions_and_their_invoice_agree),
		cmocka_unit_test(check__a_refunded_payment_still_counts_as_captured),
		cmocka_unit_test(check__every_resource_without_its_creation_event_is_reported),
		cmocka_unit_test(check__events_older_than_the_retention_may_be_gone),
		cmocka_unit_test(check__a_damaged_tax_rate_is_reported_from_its_descriptor),
		cmocka_unit_test(check__ids_versions_and_references_are_checked_on_every_object),
		cmocka_unit_test(check__deliveries_of_a_deleted_endpoint_are_no_problem),
		cmocka_unit_test(check__a_shown_discount_not_the_live_one_is_reported),
		cmocka_unit_test(check__redemption_counts_not_the_discounts_made_are_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
