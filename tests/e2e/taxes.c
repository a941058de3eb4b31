/*
 * Taxes on invoices (issue #22 item 4, docs/billing.md "Taxes on
 * invoices"), both backends, simulated clock, through the JSON operations
 * the HTTP server and the bindings use:
 * - an EU B2B customer with a valid VAT id and reverse charge: no tax, the
 *   invoice carries customerTaxExempt "reverse" and the reverse-charge
 *   note, at creation and at renewal;
 * - a B2C customer on an inclusive 20 % rate: the total stays the price,
 *   net + tax = gross on the line and in totalTaxAmounts;
 * - a US customer who is exempt: no tax, no note;
 * - a subscription's defaultTaxRates replace its plan's;
 * - two rates on one line (inclusive 19 % + exclusive 5 %);
 * - rounding per line against per invoice per rate on a hand-computed
 *   example where they differ by a cent (three 5-cent lines at 10 %);
 * - a product's taxRate without rates keeps taxing as before, and shows in
 *   totalTaxAmounts with taxRateId null;
 * - bad defaultTaxRates (unknown, archived, another tenant's, two
 *   inclusive, six) are 400 naming the field, and nothing is written;
 * - an invoice item's taxRates replace the plan's and the subscription's
 *   defaults on its line (the renewal's and a draft's), a PATCH of them on
 *   a draft retaxes it, and bad ones are 400 "taxRates";
 * - one batch of the billing run renews customers taxed, exempt, reverse
 *   and made exempt since, and a subscription with its own rates, each as
 *   its own; the tenant's rounding is read again by the next run;
 * - a draft's defaultTaxRates tax its lines without rates of their own;
 *   PATCH changes them and retaxes it; bad ones are 400 and change nothing;
 * - finalization computes the taxes again as things then are: a customer
 *   who became exempt while the draft waited pays none (a draft by hand,
 *   and a renewal's draft waiting renewalDraftDelay), a rate archived
 *   since the draft named it still applies;
 * billing_check finds nothing in what was written.
 */
#include <stdarg.h>
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
	char product[64];
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	billing_product *p;
	assert_non_null(f);
	f->w = tb_world_new();
	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	f->t = tb_tenant(f->w, "Steuerberater");
	f->admin = tb_admin(f->t);
	p = tb_product(f->w, f->t, NULL);
	snprintf(f->product, sizeof(f->product), "%s", billing_product_id(p));
	billing_product_free(p);
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

/* op with the JSON input in (formatted); the answer parsed (caller
 * deletes), or NULL with *rc set when the call failed. */
static cJSON *vcall(int *rc, fx *f, const char *op, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static cJSON *vcall(int *rc, fx *f, const char *op, const char *fmt, va_list ap)
{
	char in[4096], *out = NULL;
	cJSON *v = NULL;
	vsnprintf(in, sizeof(in), fmt, ap);
	*rc = billing_call_json(&out, f->w->ctx, &f->admin, op, in, strlen(in), NULL);
	if (*rc == BILLING_OK) {
		v = cJSON_Parse(out);
		assert_non_null(v);
	}
	billing_free(out);
	return v;
}

static cJSON *try_call(int *rc, fx *f, const char *op, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static cJSON *try_call(int *rc, fx *f, const char *op, const char *fmt, ...)
{
	cJSON *v;
	va_list ap;
	va_start(ap, fmt);
	v = vcall(rc, f, op, fmt, ap);
	va_end(ap);
	return v;
}

/* The same, asserting success. */
static cJSON *call(fx *f, const char *op, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static cJSON *call(fx *f, const char *op, const char *fmt, ...)
{
	cJSON *v;
	va_list ap;
	int rc;
	va_start(ap, fmt);
	v = vcall(&rc, f, op, fmt, ap);
	va_end(ap);
	if (rc != BILLING_OK)
		fail_msg("%s: %s (%s)", op, billing_error_name(rc), billing_error_last()->message);
	return v;
}

static int64_t num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	assert_true(cJSON_IsNumber(v));
	return (int64_t)v->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	assert_non_null(v);
	return v;
}

/* A new tax rate's id (into out). */
static void rate(fx *f, char out[64], const char *name, const char *pct, int inclusive)
{
	cJSON *r = call(f, "tax_rates.create", "{\"displayName\":\"%s\",\"percentage\":\"%s\","
		"\"inclusive\":%s}", name, pct, inclusive ? "true" : "false");
	snprintf(out, 64, "%s", str(r, "id"));
	cJSON_Delete(r);
}

/* A monthly EUR plan of amount with defaultTaxRates rates_json (or none). */
static void plan(fx *f, char out[64], int64_t amount, const char *rates_json)
{
	static int seq;
	char extra[512] = "";
	cJSON *p;
	if (rates_json)
		snprintf(extra, sizeof(extra), ",\"defaultTaxRates\":%s", rates_json);
	seq++;
	p = call(f, "plans.create", "{\"productId\":\"%s\",\"code\":\"TAX-%d\",\"name\":\"Plan %d\","
		"\"amount\":%lld,\"currency\":\"EUR\",\"interval\":\"MONTH\"%s}", f->product, seq,
		seq, (long long)amount, extra);
	snprintf(out, 64, "%s", str(p, "id"));
	cJSON_Delete(p);
}

static void customer(fx *f, char out[64], const char *tax_json)
{
	static int seq;
	cJSON *c;
	seq++;
	c = call(f, "customers.create", "{\"name\":\"Customer %d\",\"email\":"
		"\"c%d@tax.example\"%s%s}", seq, seq, tax_json ? "," : "", tax_json ? tax_json : "");
	snprintf(out, 64, "%s", str(c, "id"));
	cJSON_Delete(c);
}

/* The latest invoice of a new subscription of body (JSON members). */
static cJSON *subscribe(fx *f, char sub[64], const char *body)
{
	cJSON *s = call(f, "subscriptions.create", "{%s}", body), *inv;
	snprintf(sub, 64, "%s", str(s, "id"));
	inv = call(f, "invoices.get", "{\"id\":\"%s\"}", str(s, "latestInvoiceId"));
	cJSON_Delete(s);
	return inv;
}

static cJSON *latest(fx *f, const char *sub)
{
	cJSON *s = call(f, "subscriptions.get", "{\"id\":\"%s\"}", sub), *inv;
	inv = call(f, "invoices.get", "{\"id\":\"%s\"}", str(s, "latestInvoiceId"));
	cJSON_Delete(s);
	return inv;
}

static void assert_check_clean(fx *f)
{
	int64_t problems = -1;
	tb_assert_rc(billing_check(f->w->ctx, NULL, NULL, &problems), BILLING_OK);
	assert_int_equal(problems, 0);
}

/* The invoice's sums hold: subtotal = the lines' nets, tax = their taxes
 * = the breakdown's amounts, total = subtotal + tax. */
static void assert_sums(const cJSON *inv)
{
	const cJSON *l, *t;
	int64_t net = 0, tax = 0, bd = 0;
	cJSON_ArrayForEach(l, get(inv, "lines")) {
		net += num(l, "amountExcludingTax");
		tax += num(l, "taxAmount");
	}
	cJSON_ArrayForEach(t, get(inv, "totalTaxAmounts"))
		bd += num(t, "amount");
	assert_int_equal(num(inv, "subtotal"), net);
	assert_int_equal(num(inv, "tax"), tax);
	assert_int_equal(num(inv, "tax"), bd);
	assert_int_equal(num(inv, "total"), num(inv, "subtotal") + num(inv, "tax"));
}

static void taxes__eu_b2b_reverse_charge_no_tax_and_the_note(void **state)
{
	fx *f = *state;
	char vat[64], p[64], c[64], sub[64], body[512];
	cJSON *inv;

	rate(f, vat, "MwSt", "19", 0);
	snprintf(body, sizeof(body), "[\"%s\"]", vat);
	plan(f, p, 10000, body);
	customer(f, c, "\"taxExempt\":\"reverse\",\"taxIds\":[{\"type\":\"eu_vat\","
		"\"value\":\"DE123456789\"}]");
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", c, p);
	inv = subscribe(f, sub, body);
	assert_int_equal(num(inv, "subtotal"), 10000);
	assert_int_equal(num(inv, "tax"), 0);
	assert_int_equal(num(inv, "total"), 10000);
	assert_string_equal(str(inv, "customerTaxExempt"), "reverse");
	assert_non_null(str(inv, "taxNote"));
	assert_non_null(strstr(str(inv, "taxNote"), "Reverse charge"));
	assert_int_equal(cJSON_GetArraySize(get(inv, "totalTaxAmounts")), 0);
	assert_int_equal(num(cJSON_GetArrayItem(get(inv, "lines"), 0), "taxAmount"), 0);
	assert_sums(inv);
	cJSON_Delete(inv);

	/* The renewal a month later: the same. */
	f->w->now = tbb_ts(2026, 2, 1, 0, 0, 0);
	tbb_run(f->w);
	inv = latest(f, sub);
	assert_string_equal(str(inv, "periodStart"), "2026-02-01T00:00:00Z");
	assert_int_equal(num(inv, "total"), 10000);
	assert_string_equal(str(inv, "customerTaxExempt"), "reverse");
	assert_non_null(str(inv, "taxNote"));
	cJSON_Delete(inv);
	assert_check_clean(f);
}

static void taxes__b2c_inclusive_20_gross_stays_the_price(void **state)
{
	fx *f = *state;
	char incl[64], p[64], c[64], sub[64], body[512];
	const cJSON *line, *t;
	cJSON *inv;

	rate(f, incl, "VAT", "20", 1);
	snprintf(body, sizeof(body), "[\"%s\"]", incl);
	plan(f, p, 1200, body);
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", c, p);
	inv = subscribe(f, sub, body);
	line = cJSON_GetArrayItem(get(inv, "lines"), 0);
	assert_int_equal(num(line, "amount"), 1200);            /* the price */
	assert_int_equal(num(line, "amountExcludingTax"), 1000); /* net */
	assert_int_equal(num(line, "taxAmount"), 200);           /* net + tax = gross */
	t = cJSON_GetArrayItem(get(line, "taxAmounts"), 0);
	assert_string_equal(str(t, "taxRateId"), incl);
	assert_int_equal(num(t, "amount"), 200);
	assert_true(cJSON_IsTrue(get(t, "inclusive")));
	assert_int_equal(num(inv, "subtotal"), 1000);
	assert_int_equal(num(inv, "tax"), 200);
	assert_int_equal(num(inv, "total"), 1200);               /* what the customer pays */
	t = cJSON_GetArrayItem(get(inv, "totalTaxAmounts"), 0);
	assert_string_equal(str(t, "taxRateId"), incl);
	assert_int_equal(num(t, "amount"), 200);
	assert_int_equal(num(t, "taxableAmount"), 1000);
	assert_string_equal(str(inv, "customerTaxExempt"), "none");
	assert_null(str(inv, "taxNote"));
	assert_sums(inv);
	cJSON_Delete(inv);

	f->w->now = tbb_ts(2026, 2, 1, 0, 0, 0);
	tbb_run(f->w);
	inv = latest(f, sub);
	assert_int_equal(num(inv, "total"), 1200);
	assert_int_equal(num(inv, "tax"), 200);
	assert_sums(inv);
	cJSON_Delete(inv);
	assert_check_clean(f);
}

static void taxes__us_exempt_customer_pays_no_tax(void **state)
{
	fx *f = *state;
	char ny[64], p[64], c[64], sub[64], body[512];
	cJSON *inv;

	rate(f, ny, "Sales tax NY", "8.875", 0);
	snprintf(body, sizeof(body), "[\"%s\"]", ny);
	plan(f, p, 5000, body);
	customer(f, c, "\"taxExempt\":\"exempt\",\"taxIds\":[{\"type\":\"us_ein\","
		"\"value\":\"12-3456789\"}]");
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", c, p);
	inv = subscribe(f, sub, body);
	assert_int_equal(num(inv, "tax"), 0);
	assert_int_equal(num(inv, "total"), 5000);
	assert_string_equal(str(inv, "customerTaxExempt"), "exempt");
	assert_null(str(inv, "taxNote"));
	assert_sums(inv);
	cJSON_Delete(inv);

	/* Another customer on the same plan is taxed: 5000 x 8.875 % =
	 * 443.75 -> 444. */
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", c, p);
	inv = subscribe(f, sub, body);
	assert_int_equal(num(inv, "tax"), 444);
	assert_int_equal(num(inv, "total"), 5444);
	assert_sums(inv);
	cJSON_Delete(inv);
	assert_check_clean(f);
}

static void taxes__the_subscription_rates_replace_the_plans(void **state)
{
	fx *f = *state;
	char r19[64], r7[64], p[64], c[64], sub[64], body[512];
	const cJSON *t;
	cJSON *inv, *s;

	rate(f, r19, "VAT 19", "19", 0);
	rate(f, r7, "VAT 7", "7", 0);
	snprintf(body, sizeof(body), "[\"%s\"]", r19);
	plan(f, p, 1000, body);
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"defaultTaxRates\":[\"%s\"]", c, p, r7);
	inv = subscribe(f, sub, body);
	assert_int_equal(num(inv, "tax"), 70);
	t = cJSON_GetArrayItem(get(inv, "totalTaxAmounts"), 0);
	assert_string_equal(str(t, "taxRateId"), r7);
	assert_int_equal(cJSON_GetArraySize(get(inv, "totalTaxAmounts")), 1);
	cJSON_Delete(inv);
	s = call(f, "subscriptions.get", "{\"id\":\"%s\"}", sub);
	assert_string_equal(cJSON_GetArrayItem(get(s, "defaultTaxRates"), 0)->valuestring, r7);
	cJSON_Delete(s);
	assert_check_clean(f);
}

static void taxes__two_rates_on_one_line(void **state)
{
	fx *f = *state;
	char incl[64], excl[64], p[64], c[64], sub[64], body[512];
	const cJSON *line;
	cJSON *inv;

	rate(f, incl, "VAT 19 incl", "19", 1);
	rate(f, excl, "Levy 5", "5", 0);
	snprintf(body, sizeof(body), "[\"%s\",\"%s\"]", incl, excl);
	plan(f, p, 1190, body);
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", c, p);
	inv = subscribe(f, sub, body);
	/* 1190 holds 19 %: net 1000, 190; 5 % of the net on top: 50. */
	line = cJSON_GetArrayItem(get(inv, "lines"), 0);
	assert_int_equal(num(line, "amountExcludingTax"), 1000);
	assert_int_equal(num(line, "taxAmount"), 240);
	assert_int_equal(num(cJSON_GetArrayItem(get(line, "taxAmounts"), 0), "amount"), 190);
	assert_int_equal(num(cJSON_GetArrayItem(get(line, "taxAmounts"), 1), "amount"), 50);
	assert_int_equal(num(inv, "subtotal"), 1000);
	assert_int_equal(num(inv, "tax"), 240);
	assert_int_equal(num(inv, "total"), 1240);
	assert_int_equal(cJSON_GetArraySize(get(inv, "totalTaxAmounts")), 2);
	assert_sums(inv);
	cJSON_Delete(inv);
	assert_check_clean(f);
}

/* Three plans of 5 cents, 10 % exclusive, on one subscription: per line
 * 0.5 -> 1 each, tax 3, total 18; per invoice 1.5 -> 2, shared 1, 1, 0,
 * total 17 (docs/billing.md's example). */
static int64_t three_fives(fx *f, const char *r10)
{
	char p[3][64], c[64], sub[64], body[1024], rates[128];
	int64_t tax;
	cJSON *inv;
	int i;

	snprintf(rates, sizeof(rates), "[\"%s\"]", r10);
	for (i = 0; i < 3; i++)
		plan(f, p[i], 5, rates);
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"items\":[{\"planId\":\"%s\"},"
		"{\"planId\":\"%s\"},{\"planId\":\"%s\"}]", c, p[0], p[1], p[2]);
	inv = subscribe(f, sub, body);
	assert_int_equal(cJSON_GetArraySize(get(inv, "lines")), 3);
	assert_int_equal(num(inv, "subtotal"), 15);
	assert_sums(inv);
	tax = num(inv, "tax");
	assert_int_equal(num(cJSON_GetArrayItem(get(inv, "totalTaxAmounts"), 0), "taxableAmount"),
		15);
	cJSON_Delete(inv);
	return tax;
}

static void taxes__rounding_per_line_or_per_invoice(void **state)
{
	fx *f = *state;
	char r10[64];
	cJSON *s;
	int rc_;

	rate(f, r10, "Ten", "10", 0);
	s = call(f, "tax_settings.get", "{}");
	assert_string_equal(str(s, "taxRounding"), "line");
	cJSON_Delete(s);
	assert_int_equal(three_fives(f, r10), 3);
	s = call(f, "tax_settings.set", "{\"taxRounding\":\"invoice\"}");
	assert_string_equal(str(s, "taxRounding"), "invoice");
	cJSON_Delete(s);
	assert_int_equal(three_fives(f, r10), 2);
	s = call(f, "tax_settings.get", "{}");
	assert_string_equal(str(s, "taxRounding"), "invoice");
	cJSON_Delete(s);
	try_call(&rc_, f, "tax_settings.set", "{\"taxRounding\":\"cent\"}");
	assert_int_equal(rc_, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "taxRounding");
	assert_check_clean(f);
}

static void taxes__a_products_tax_rate_without_rates_is_as_before(void **state)
{
	fx *f = *state;
	char p[64], c[64], sub[64], body[512];
	billing_product *prod = tb_product(f->w, f->t, &(tb_product_spec){ .tax_rate_bp = 1900 });
	billing_plan *pl = tb_plan(f->w, f->t, &(tb_plan_spec){
		.product_id = billing_product_id(prod), .amount = 999 });
	const cJSON *t;
	cJSON *inv;

	snprintf(p, sizeof(p), "%s", billing_plan_id(pl));
	billing_plan_free(pl);
	billing_product_free(prod);
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", c, p);
	inv = subscribe(f, sub, body);
	/* 999 x 19 % = 189.81 -> 190, as invoices always did. */
	assert_int_equal(num(inv, "tax"), 190);
	assert_int_equal(num(inv, "total"), 1189);
	t = cJSON_GetArrayItem(get(inv, "totalTaxAmounts"), 0);
	assert_true(cJSON_IsNull(get(t, "taxRateId")));
	assert_int_equal(num(t, "amount"), 190);
	assert_int_equal(num(t, "taxableAmount"), 999);
	assert_sums(inv);
	cJSON_Delete(inv);
	assert_check_clean(f);
}

static void taxes__bad_default_tax_rates_write_nothing(void **state)
{
	fx *f = *state;
	char a[64], b[64], archived[64], p[64], c[64], body[512];
	const char *other;
	billing_principal them;
	char *out = NULL, theirs[64];
	cJSON *r, *list;
	char bad[4][256];
	int rc_;
	size_t i;

	rate(f, a, "A", "10", 1);
	rate(f, b, "B", "20", 1);
	rate(f, archived, "Old", "16", 0);
	r = call(f, "tax_rates.update", "{\"id\":\"%s\",\"active\":false}", archived);
	cJSON_Delete(r);
	plan(f, p, 1000, NULL);
	customer(f, c, NULL);
	snprintf(bad[0], sizeof(bad[0]), "[\"txr_00000000000000000000000000\"]"); /* nothing */
	snprintf(bad[1], sizeof(bad[1]), "[\"%s\"]", archived);
	snprintf(bad[2], sizeof(bad[2]), "[\"%s\",\"%s\"]", a, b);         /* two inclusive */
	snprintf(bad[3], sizeof(bad[3]), "[1]");
	for (i = 0; i < 4; i++) {
		const char *rates = bad[i];
		snprintf(body, sizeof(body), "{\"productId\":\"%s\",\"code\":\"BAD-%zu\","
			"\"name\":\"Bad\",\"amount\":100,\"currency\":\"EUR\",\"interval\":\"MONTH\","
			"\"defaultTaxRates\":%s}", f->product, i, rates);
		assert_null(try_call(&rc_, f, "plans.create", "%s", body));
		assert_int_equal(rc_, BILLING_EINVALID);
		assert_string_equal(billing_error_last()->field, "defaultTaxRates");
		if (i < 2)
			assert_string_equal(billing_error_last()->reason, "resource_missing");
		snprintf(body, sizeof(body), "{\"customerId\":\"%s\",\"planId\":\"%s\","
			"\"defaultTaxRates\":%s}", c, p, rates);
		assert_null(try_call(&rc_, f, "subscriptions.create", "%s", body));
		assert_int_equal(rc_, BILLING_EINVALID);
	}
	/* Six ids. */
	assert_null(try_call(&rc_, f, "subscriptions.create", "{\"customerId\":\"%s\",\"planId\":"
		"\"%s\",\"defaultTaxRates\":[\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]}", c, p, a, a,
		a, a, a, a));
	assert_int_equal(rc_, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "defaultTaxRates");
	/* Another tenant's rate names nothing here. */
	other = tb_tenant(f->w, "Elsewhere");
	them = tb_admin(other);
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &them, "tax_rates.create",
		"{\"displayName\":\"T\",\"percentage\":\"5\",\"inclusive\":false}",
		strlen("{\"displayName\":\"T\",\"percentage\":\"5\",\"inclusive\":false}"), NULL),
		BILLING_OK);
	r = cJSON_Parse(out);
	billing_free(out);
	snprintf(theirs, sizeof(theirs), "%s", str(r, "id"));
	cJSON_Delete(r);
	assert_null(try_call(&rc_, f, "subscriptions.create", "{\"customerId\":\"%s\",\"planId\":"
		"\"%s\",\"defaultTaxRates\":[\"%s\"]}", c, p, theirs));
	assert_int_equal(rc_, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->reason, "resource_missing");
	/* Nothing was written: no subscription, one plan. */
	list = call(f, "subscriptions.list", "{}");
	assert_int_equal(cJSON_GetArraySize(get(list, "data")), 0);
	cJSON_Delete(list);
	list = call(f, "plans.list", "{}");
	assert_int_equal(cJSON_GetArraySize(get(list, "data")), 1);
	cJSON_Delete(list);
	assert_check_clean(f);
}

/* An item in EUR (JSON members body) as created; its id into id. */
static void item(fx *f, char id[64], const char *body)
{
	cJSON *it = call(f, "invoice_items.create", "{\"currency\":\"EUR\",%s}", body);
	snprintf(id, 64, "%s", str(it, "id"));
	cJSON_Delete(it);
}

/* The line of inv whose description is desc. */
static const cJSON *line_named(const cJSON *inv, const char *desc)
{
	const cJSON *l;
	cJSON_ArrayForEach(l, get(inv, "lines"))
		if (str(l, "description") && strcmp(str(l, "description"), desc) == 0)
			return l;
	fail_msg("no line %s", desc);
	return NULL;
}

static void taxes__an_items_tax_rates_replace_the_defaults(void **state)
{
	fx *f = *state;
	char r19[64], r7[64], p[64], c[64], sub[64], ii[64], body[512];
	const cJSON *l, *t;
	cJSON *inv, *it;

	rate(f, r19, "VAT 19", "19", 0);
	rate(f, r7, "VAT 7", "7", 0);
	snprintf(body, sizeof(body), "[\"%s\"]", r19);
	plan(f, p, 1000, body);
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", c, p);
	cJSON_Delete(subscribe(f, sub, body));
	/* A book at the reduced rate, on the subscription's next invoice. */
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"subscriptionId\":\"%s\","
		"\"description\":\"Book\",\"amount\":2000,\"taxRates\":[\"%s\"]", c, sub, r7);
	item(f, ii, body);
	it = call(f, "invoice_items.get", "{\"id\":\"%s\"}", ii);
	assert_string_equal(cJSON_GetArrayItem(get(it, "taxRates"), 0)->valuestring, r7);
	cJSON_Delete(it);

	f->w->now = tbb_ts(2026, 2, 1, 0, 0, 0);
	tbb_run(f->w);
	inv = latest(f, sub);
	/* Plan line: 1000 x 19 % = 190; the book: 2000 x 7 % = 140. */
	l = line_named(inv, "Book");
	assert_int_equal(num(l, "taxAmount"), 140);
	t = cJSON_GetArrayItem(get(l, "taxAmounts"), 0);
	assert_string_equal(str(t, "taxRateId"), r7);
	assert_int_equal(cJSON_GetArraySize(get(l, "taxAmounts")), 1);
	assert_int_equal(num(inv, "tax"), 330);
	assert_int_equal(num(inv, "total"), 3330);
	assert_int_equal(cJSON_GetArraySize(get(inv, "totalTaxAmounts")), 2);
	assert_sums(inv);
	cJSON_Delete(inv);
	assert_check_clean(f);
}

static void taxes__an_items_tax_rates_on_a_draft_and_changed(void **state)
{
	fx *f = *state;
	char r20[64], c[64], a[64], b[64], body[512], draft[64];
	const cJSON *l;
	cJSON *inv, *it;
	int rc_;

	rate(f, r20, "VAT 20", "20", 1);
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"description\":\"Setup\","
		"\"amount\":1200,\"taxRates\":[\"%s\"]", c, r20);
	item(f, a, body);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"description\":\"Travel\","
		"\"amount\":500", c);
	item(f, b, body);
	inv = call(f, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"}", c);
	snprintf(draft, sizeof(draft), "%s", str(inv, "id"));
	/* Inclusive 20 % of 1200: net 1000, tax 200; Travel has no rates and
	 * no product: untaxed. */
	l = line_named(inv, "Setup");
	assert_int_equal(num(l, "amountExcludingTax"), 1000);
	assert_int_equal(num(l, "taxAmount"), 200);
	assert_int_equal(num(line_named(inv, "Travel"), "taxAmount"), 0);
	assert_int_equal(num(inv, "subtotal"), 1500);
	assert_int_equal(num(inv, "tax"), 200);
	assert_int_equal(num(inv, "total"), 1700);
	assert_sums(inv);
	cJSON_Delete(inv);

	/* Travel gets the rate too: the draft follows at once. */
	it = call(f, "invoice_items.update", "{\"id\":\"%s\",\"taxRates\":[\"%s\"]}", b, r20);
	cJSON_Delete(it);
	inv = call(f, "invoices.get", "{\"id\":\"%s\"}", draft);
	/* 500 inclusive of 20 %: tax 500 x 20 / 120 = 83.33 -> 83, net 417. */
	assert_int_equal(num(line_named(inv, "Travel"), "taxAmount"), 83);
	assert_int_equal(num(inv, "tax"), 283);
	assert_int_equal(num(inv, "total"), 1700);
	assert_sums(inv);
	cJSON_Delete(inv);
	/* [] takes them away again. */
	it = call(f, "invoice_items.update", "{\"id\":\"%s\",\"taxRates\":[]}", b);
	assert_true(cJSON_IsNull(get(it, "taxRates")) || cJSON_GetArraySize(get(it, "taxRates")) == 0);
	cJSON_Delete(it);
	inv = call(f, "invoices.get", "{\"id\":\"%s\"}", draft);
	assert_int_equal(num(inv, "tax"), 200);
	cJSON_Delete(inv);

	/* Bad rates: 400 taxRates, the item and the draft unchanged. */
	assert_null(try_call(&rc_, f, "invoice_items.update", "{\"id\":\"%s\",\"taxRates\":"
		"[\"txr_00000000000000000000000000\"]}", b));
	assert_int_equal(rc_, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "taxRates");
	assert_string_equal(billing_error_last()->reason, "resource_missing");
	snprintf(body, sizeof(body), "{\"customerId\":\"%s\",\"currency\":\"EUR\","
		"\"description\":\"X\",\"amount\":1,\"taxRates\":[\"%s\",\"%s\"]}", c, r20, r20);
	assert_null(try_call(&rc_, f, "invoice_items.create", "%s", body));
	assert_int_equal(rc_, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "taxRates");
	inv = call(f, "invoices.get", "{\"id\":\"%s\"}", draft);
	assert_int_equal(num(inv, "tax"), 200);
	cJSON_Delete(inv);
	it = call(f, "invoice_items.list", "{\"customerId\":\"%s\"}", c);
	assert_int_equal(cJSON_GetArraySize(get(it, "data")), 2);
	cJSON_Delete(it);
	assert_check_clean(f);
}

/* The C API's taxRates (billing_invoice_item_params version 2): given by a
 * count, cleared by the bit with a count of 0; refused by version 1. */
static void taxes__item_tax_rates_through_the_c_api(void **state)
{
	fx *f = *state;
	char r7[64], c[64];
	const char *ids[1];
	billing_invoice_item_params p = BILLING_INVOICE_ITEM_PARAMS_INIT;
	billing_invoice_item *it = NULL, *up = NULL;
	char want[128];

	rate(f, r7, "VAT 7", "7", 0);
	customer(f, c, NULL);
	ids[0] = r7;
	p.customer_id = c;
	p.currency = "EUR";
	p.description = "Book";
	p.amount = 2000;
	p.tax_rates = ids;
	p.tax_rate_count = 1;
	tb_assert_rc(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	snprintf(want, sizeof(want), "[\"%s\"]", r7);
	assert_string_equal(billing_invoice_item_tax_rates(it), want);

	memset(&p, 0, sizeof(p));
	p.version = 1;
	p.fields = BILLING_INVOICE_ITEM_TAX_RATES;
	assert_int_equal(billing_invoice_item_update(&up, f->w->ctx, &f->admin,
		billing_invoice_item_id(it), &p, NULL), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "fields");
	p.version = BILLING_INVOICE_ITEM_PARAMS_VERSION;
	tb_assert_rc(billing_invoice_item_update(&up, f->w->ctx, &f->admin,
		billing_invoice_item_id(it), &p, NULL), BILLING_OK);
	assert_null(billing_invoice_item_tax_rates(up));
	billing_invoice_item_free(up);
	billing_invoice_item_free(it);
}

/* The billing run renews a tenant's subscriptions in batches, which read
 * the tenant's exempt customers and tax settings once and take each
 * subscription's defaultTaxRates from the renewal (issue #19): in one
 * batch, a customer taxed as usual, one exempt, one reverse, one made
 * exempt after subscribing, and a subscription with rates of its own are
 * each taxed as their own; the tenant's rounding, absent at the first
 * renewal, is read again by the next run once it is set. */
static void taxes__one_batch_renews_each_customer_with_its_own_taxes(void **state)
{
	fx *f = *state;
	char vat[64], seven[64], r10[64], p[64], c[5][64], sub[6][64], body[512], rates[128];
	char five[3][64], c5[64];
	const char *exempt[5] = { NULL, "\"taxExempt\":\"exempt\"",
		"\"taxExempt\":\"reverse\"", NULL, NULL };
	static const int64_t want_tax[5] = { 1900, 0, 0, 0, 700 };
	billing_run_report rep;
	cJSON *inv, *o;
	int i;

	rate(f, vat, "MwSt", "19", 0);
	rate(f, seven, "Reduced", "7", 0);
	rate(f, r10, "Ten", "10", 0);
	snprintf(rates, sizeof(rates), "[\"%s\"]", vat);
	plan(f, p, 10000, rates);
	for (i = 0; i < 5; i++) {
		customer(f, c[i], exempt[i]);
		if (i == 4)
			snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\","
				"\"defaultTaxRates\":[\"%s\"]", c[i], p, seven);
		else
			snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"",
				c[i], p);
		cJSON_Delete(subscribe(f, sub[i], body));
	}
	/* Three 5-cent lines at 10 %: 3 rounded per line, 2 per invoice. */
	snprintf(rates, sizeof(rates), "[\"%s\"]", r10);
	for (i = 0; i < 3; i++)
		plan(f, five[i], 5, rates);
	customer(f, c5, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"items\":[{\"planId\":\"%s\"},"
		"{\"planId\":\"%s\"},{\"planId\":\"%s\"}]", c5, five[0], five[1], five[2]);
	cJSON_Delete(subscribe(f, sub[5], body));
	/* The fourth customer becomes exempt after subscribing. */
	o = call(f, "customers.update", "{\"id\":\"%s\",\"taxExempt\":\"exempt\"}", c[3]);
	cJSON_Delete(o);

	f->w->now = tbb_ts(2026, 2, 1, 0, 0, 0);
	rep = tbb_run(f->w);
	assert_int_equal(rep.invoiced, 6);
	assert_int_equal(f->w->batch_fallbacks, 0);
	for (i = 0; i < 5; i++) {
		inv = latest(f, sub[i]);
		assert_string_equal(str(inv, "periodStart"), "2026-02-01T00:00:00Z");
		assert_int_equal(num(inv, "tax"), want_tax[i]);
		assert_int_equal(num(inv, "total"), 10000 + want_tax[i]);
		assert_string_equal(str(inv, "customerTaxExempt"),
			i == 1 || i == 3 ? "exempt" : i == 2 ? "reverse" : "none");
		assert_sums(inv);
		cJSON_Delete(inv);
	}
	inv = latest(f, sub[5]);
	assert_int_equal(num(inv, "tax"), 3);
	cJSON_Delete(inv);

	/* Rounding per invoice from here: the next run's batch reads it. */
	cJSON_Delete(call(f, "tax_settings.set", "{\"taxRounding\":\"invoice\"}"));
	f->w->now = tbb_ts(2026, 3, 1, 0, 0, 0);
	rep = tbb_run(f->w);
	assert_int_equal(rep.invoiced, 6);
	assert_int_equal(f->w->batch_fallbacks, 0);
	inv = latest(f, sub[5]);
	assert_string_equal(str(inv, "periodStart"), "2026-03-01T00:00:00Z");
	assert_int_equal(num(inv, "tax"), 2);
	assert_sums(inv);
	cJSON_Delete(inv);
	assert_check_clean(f);
}

/* A draft of customer c in EUR (extra: JSON members, or ""). */
static cJSON *draft_of(fx *f, const char *c, const char *extra)
{
	return call(f, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"%s%s}", c,
		extra[0] ? "," : "", extra);
}

static void taxes__a_drafts_default_tax_rates(void **state)
{
	fx *f = *state;
	char r19[64], r7[64], old[64], c[64], a[64], b[64], body[512], d[64];
	cJSON *inv;
	int rc_;

	rate(f, r19, "VAT 19", "19", 0);
	rate(f, r7, "VAT 7", "7", 0);
	rate(f, old, "Old", "16", 0);
	cJSON_Delete(call(f, "tax_rates.update", "{\"id\":\"%s\",\"active\":false}", old));
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"description\":\"Consulting\","
		"\"amount\":1000", c);
	item(f, a, body);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"description\":\"Book\","
		"\"amount\":1000,\"taxRates\":[\"%s\"]", c, r7);
	item(f, b, body);
	snprintf(body, sizeof(body), "\"defaultTaxRates\":[\"%s\"]", r19);
	inv = draft_of(f, c, body);
	snprintf(d, sizeof(d), "%s", str(inv, "id"));
	/* Consulting takes the draft's 19 % (190), the book keeps its 7 % (70). */
	assert_string_equal(cJSON_GetArrayItem(get(inv, "defaultTaxRates"), 0)->valuestring, r19);
	assert_int_equal(num(line_named(inv, "Consulting"), "taxAmount"), 190);
	assert_int_equal(num(line_named(inv, "Book"), "taxAmount"), 70);
	assert_int_equal(num(inv, "tax"), 260);
	assert_int_equal(num(inv, "total"), 2260);
	assert_sums(inv);
	cJSON_Delete(inv);

	/* Removed: Consulting untaxed; set again: taxed again. */
	inv = call(f, "invoices.update", "{\"id\":\"%s\",\"defaultTaxRates\":[]}", d);
	assert_int_equal(cJSON_GetArraySize(get(inv, "defaultTaxRates")), 0);
	assert_int_equal(num(line_named(inv, "Consulting"), "taxAmount"), 0);
	assert_int_equal(num(inv, "tax"), 70);
	cJSON_Delete(inv);
	inv = call(f, "invoices.update", "{\"id\":\"%s\",\"defaultTaxRates\":[\"%s\"],"
		"\"memo\":\"Thanks\"}", d, r19);
	assert_int_equal(num(inv, "tax"), 260);
	assert_string_equal(str(inv, "memo"), "Thanks");
	assert_sums(inv);
	cJSON_Delete(inv);

	/* Bad rates: 400 defaultTaxRates, the draft unchanged. */
	assert_null(try_call(&rc_, f, "invoices.update", "{\"id\":\"%s\",\"defaultTaxRates\":"
		"[\"%s\"]}", d, old));
	assert_int_equal(rc_, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "defaultTaxRates");
	assert_string_equal(billing_error_last()->reason, "resource_missing");
	assert_null(try_call(&rc_, f, "invoices.create", "{\"customerId\":\"%s\",\"currency\":"
		"\"EUR\",\"defaultTaxRates\":[\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]}", c, r19,
		r19, r19, r19, r19, r19));
	assert_int_equal(rc_, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "defaultTaxRates");
	inv = call(f, "invoices.get", "{\"id\":\"%s\"}", d);
	assert_int_equal(num(inv, "tax"), 260);
	assert_string_equal(cJSON_GetArrayItem(get(inv, "defaultTaxRates"), 0)->valuestring, r19);
	cJSON_Delete(inv);

	/* Finalized, the rates are fixed. */
	cJSON_Delete(call(f, "invoices.finalize", "{\"id\":\"%s\"}", d));
	assert_null(try_call(&rc_, f, "invoices.update", "{\"id\":\"%s\",\"defaultTaxRates\":[]}",
		d));
	assert_int_equal(rc_, BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "invoice_not_draft");
	assert_check_clean(f);
}

static void taxes__finalization_taxes_as_things_are_then(void **state)
{
	fx *f = *state;
	char r19[64], r20[64], c[64], c2[64], body[512], d[64], d2[64];
	cJSON *inv;

	rate(f, r19, "VAT 19", "19", 0);
	rate(f, r20, "VAT 20", "20", 0);
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"description\":\"Audit\","
		"\"amount\":1000", c);
	item(f, d, body);
	snprintf(body, sizeof(body), "\"defaultTaxRates\":[\"%s\"]", r19);
	inv = draft_of(f, c, body);
	snprintf(d, sizeof(d), "%s", str(inv, "id"));
	assert_int_equal(num(inv, "tax"), 190);
	cJSON_Delete(inv);
	/* The customer becomes exempt while the draft waits: no tax. */
	cJSON_Delete(call(f, "customers.update", "{\"id\":\"%s\",\"taxExempt\":\"exempt\"}", c));
	inv = call(f, "invoices.finalize", "{\"id\":\"%s\"}", d);
	assert_int_equal(num(inv, "tax"), 0);
	assert_int_equal(num(inv, "total"), 1000);
	assert_int_equal(num(inv, "amountDue"), 1000);
	assert_string_equal(str(inv, "customerTaxExempt"), "exempt");
	assert_int_equal(num(line_named(inv, "Audit"), "taxAmount"), 0);
	cJSON_Delete(inv);

	/* A rate archived after the draft named it still applies. */
	customer(f, c2, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"description\":\"Audit\","
		"\"amount\":1000", c2);
	item(f, d2, body);
	snprintf(body, sizeof(body), "\"defaultTaxRates\":[\"%s\"]", r20);
	inv = draft_of(f, c2, body);
	snprintf(d2, sizeof(d2), "%s", str(inv, "id"));
	cJSON_Delete(inv);
	cJSON_Delete(call(f, "tax_rates.update", "{\"id\":\"%s\",\"active\":false}", r20));
	inv = call(f, "invoices.finalize", "{\"id\":\"%s\"}", d2);
	assert_int_equal(num(inv, "tax"), 200);
	assert_int_equal(num(inv, "total"), 1200);
	assert_string_equal(str(cJSON_GetArrayItem(get(inv, "totalTaxAmounts"), 0), "taxRateId"),
		r20);
	assert_sums(inv);
	cJSON_Delete(inv);
	assert_check_clean(f);
}

/* A renewal's draft waits a day (renewalDraftDelay); the customer becomes
 * reverse-charge meanwhile: the renewal finalized by the run has no tax
 * and carries the note. */
static void taxes__a_waiting_renewal_draft_taxed_at_finalization(void **state)
{
	fx *f = *state;
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_principal op = tb_platform();
	billing_tenant *t = NULL;
	billing_product *prod;
	char r19[64], p[64], c[64], sub[64], body[512];
	cJSON *inv;

	tp.name = "Wartezeit";
	tp.renewal_draft_delay = 86400;
	tb_assert_rc(billing_tenant_create(&t, f->w->ctx, &op, &tp, NULL), BILLING_OK);
	f->t = f->w->strings[f->w->nstrings++] = strdup(billing_tenant_id(t));
	billing_tenant_free(t);
	f->admin = tb_admin(f->t);
	prod = tb_product(f->w, f->t, NULL);
	snprintf(f->product, sizeof(f->product), "%s", billing_product_id(prod));
	billing_product_free(prod);

	rate(f, r19, "MwSt", "19", 0);
	snprintf(body, sizeof(body), "[\"%s\"]", r19);
	plan(f, p, 10000, body);
	customer(f, c, NULL);
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", c, p);
	inv = subscribe(f, sub, body);
	assert_int_equal(num(inv, "tax"), 1900);
	cJSON_Delete(inv);

	f->w->now = tbb_ts(2026, 2, 1, 0, 0, 0);
	tbb_run(f->w);
	inv = latest(f, sub);
	assert_string_equal(str(inv, "status"), "draft");
	assert_int_equal(num(inv, "tax"), 1900);
	cJSON_Delete(inv);
	cJSON_Delete(call(f, "customers.update", "{\"id\":\"%s\",\"taxExempt\":\"reverse\","
		"\"taxIds\":[{\"type\":\"eu_vat\",\"value\":\"DE123456789\"}]}", c));

	f->w->now = tbb_ts(2026, 2, 2, 0, 0, 0);
	tbb_run(f->w);
	inv = latest(f, sub);
	assert_string_not_equal(str(inv, "status"), "draft");
	assert_int_equal(num(inv, "tax"), 0);
	assert_int_equal(num(inv, "total"), 10000);
	assert_string_equal(str(inv, "customerTaxExempt"), "reverse");
	assert_non_null(str(inv, "taxNote"));
	cJSON_Delete(inv);
	assert_check_clean(f);
}

/* ------------------------------------------------- issue #22, Done when */

/* What one invoice of the scenario must show: its one line's amount,
 * discount, net and tax; the invoice's subtotal, tax, total; the rate of
 * its one totalTaxAmounts entry (NULL: none); taxExempt and the note. */
typedef struct {
	int64_t amount, discount, net, tax, subtotal, total;
	const char *rate;
	const char *exempt;
	bool note;
} expected;

/* The invoice of period start ps, checked against e to the minor unit:
 * lines, discountAmounts (the discount's id when one), totalDiscountAmounts,
 * taxAmounts and totalTaxAmounts, subtotal, tax, total, amountDue. */
static void assert_invoice(const cJSON *inv, const char *ps, const expected *e,
	const char *discount_id)
{
	const cJSON *lines = get(inv, "lines"), *l, *d, *t;
	const cJSON *lists[2];
	int i;

	assert_string_equal(str(inv, "periodStart"), ps);
	assert_string_not_equal(str(inv, "status"), "draft");
	assert_int_equal(cJSON_GetArraySize(lines), 1);
	l = cJSON_GetArrayItem(lines, 0);
	assert_int_equal(num(l, "amount"), e->amount);
	assert_int_equal(num(l, "amountExcludingTax"), e->net);
	assert_int_equal(num(l, "taxAmount"), e->tax);
	lists[0] = get(l, "discountAmounts");
	lists[1] = get(inv, "totalDiscountAmounts");
	for (i = 0; i < 2; i++) {
		assert_int_equal(cJSON_GetArraySize(lists[i]), e->discount ? 1 : 0);
		if (!e->discount)
			continue;
		d = cJSON_GetArrayItem(lists[i], 0);
		assert_string_equal(str(d, "discountId"), discount_id);
		assert_int_equal(num(d, "amount"), e->discount);
	}
	lists[0] = get(l, "taxAmounts");
	lists[1] = get(inv, "totalTaxAmounts");
	for (i = 0; i < 2; i++) {
		assert_int_equal(cJSON_GetArraySize(lists[i]), e->rate ? 1 : 0);
		if (!e->rate)
			continue;
		t = cJSON_GetArrayItem(lists[i], 0);
		assert_string_equal(str(t, "taxRateId"), e->rate);
		assert_int_equal(num(t, "amount"), e->tax);
		assert_int_equal(num(t, "taxableAmount"), e->net);
	}
	assert_int_equal(num(inv, "subtotal"), e->subtotal);
	assert_int_equal(num(inv, "tax"), e->tax);
	assert_int_equal(num(inv, "total"), e->total);
	assert_int_equal(num(inv, "total"), e->subtotal - e->discount + e->tax);
	assert_int_equal(num(inv, "amountDue"), e->total);
	assert_string_equal(str(inv, "customerTaxExempt"), e->exempt);
	if (e->note)
		assert_non_null(strstr(str(inv, "taxNote"), "Reverse charge"));
	else
		assert_null(str(inv, "taxNote"));
}

/*
 * Issue #22's Done-when as one history (docs/billing.md "Discounts and
 * taxes: the three customers"), from 2026-01-01 through the renewals of
 * February, March and April, on a simulated clock:
 *
 * A, EU B2B: a German company with a valid VAT id (DE123456789) and
 *   taxExempt reverse, on a 100.00 EUR monthly plan taxed MwSt 19 %
 *   exclusive. Each invoice: 100.00, no tax, no totalTaxAmounts, the
 *   reverse-charge note, total and amount due 100.00. (An invalid VAT id,
 *   DE12, is refused naming taxIds[0].value.)
 * B, B2C: a consumer on a 29.99 EUR monthly plan whose price includes
 *   VAT 20 %, with the promotion code SPRING25 (a 25 % coupon, repeating,
 *   durationInPeriods 3), so the discount ends 2026-04-01.
 *   January to March: discount 25 % of 29.99 = 7.4975 -> 7.50; the
 *   customer pays 29.99 - 7.50 = 22.49, which holds the tax: net
 *   22.49 / 1.20 = 18.7417 -> 18.74, tax 22.49 - 18.74 = 3.75;
 *   subtotal (before the discount, without the included tax) 18.74 +
 *   7.50 = 26.24; total 26.24 - 7.50 + 3.75 = 22.49.
 *   April (period start = the discount's end): no discount; net 29.99 /
 *   1.20 = 24.9917 -> 24.99, tax 5.00, subtotal 24.99, total 29.99.
 * C, US: a company with an EIN and taxExempt exempt, on a 50.00 USD
 *   monthly plan taxed NY sales tax 8.875 % exclusive: each invoice 50.00,
 *   no tax, no note.
 * billing_check finds nothing after each month.
 */
static void done_when__eu_reverse_b2c_inclusive_promo_us_exempt(void **state)
{
	fx *f = *state;
	char mwst[64], vat[64], ny[64], pa[64], pb[64], pc[64], usd[64];
	char ca[64], cb[64], cc[64], sa[64], sb[64], sc[64], body[512], di[64];
	static const char *const starts[4] = { "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z",
		"2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z" };
	expected ea = { 10000, 0, 10000, 0, 10000, 10000, NULL, "reverse", true };
	expected eb = { 2999, 750, 1874, 375, 2624, 2249, vat, "none", false };
	expected eb4 = { 2999, 0, 2499, 500, 2499, 2999, vat, "none", false };
	expected ec = { 5000, 0, 5000, 0, 5000, 5000, NULL, "exempt", false };
	cJSON *o, *inv;
	int rc, m;

	rate(f, mwst, "MwSt", "19", 0);
	rate(f, vat, "VAT", "20", 1);
	rate(f, ny, "Sales tax NY", "8.875", 0);
	snprintf(body, sizeof(body), "[\"%s\"]", mwst);
	plan(f, pa, 10000, body);
	snprintf(body, sizeof(body), "[\"%s\"]", vat);
	plan(f, pb, 2999, body);
	o = call(f, "products.create", "{\"name\":\"US\",\"sku\":\"US-1\",\"currency\":\"USD\"}");
	snprintf(usd, sizeof(usd), "%s", str(o, "id"));
	cJSON_Delete(o);
	o = call(f, "plans.create", "{\"productId\":\"%s\",\"code\":\"US-M\",\"name\":\"US\","
		"\"amount\":5000,\"currency\":\"USD\",\"interval\":\"MONTH\","
		"\"defaultTaxRates\":[\"%s\"]}", usd, ny);
	snprintf(pc, sizeof(pc), "%s", str(o, "id"));
	cJSON_Delete(o);

	/* A: an invalid VAT id first, refused naming it. */
	o = try_call(&rc, f, "customers.create", "{\"name\":\"GmbH\",\"email\":"
		"\"vat@gmbh.example\",\"taxExempt\":\"reverse\","
		"\"taxIds\":[{\"type\":\"eu_vat\",\"value\":\"DE12\"}]}");
	assert_null(o);
	assert_int_equal(rc, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "taxIds[0].value");
	customer(f, ca, "\"taxExempt\":\"reverse\",\"taxIds\":[{\"type\":\"eu_vat\","
		"\"value\":\"DE123456789\"}]");
	customer(f, cb, NULL);
	customer(f, cc, "\"taxExempt\":\"exempt\",\"taxIds\":[{\"type\":\"us_ein\","
		"\"value\":\"12-3456789\"}]");
	o = call(f, "coupons.create", "{\"percentOff\":25,\"duration\":\"repeating\","
		"\"durationInPeriods\":3}");
	cJSON_Delete(call(f, "promotion_codes.create", "{\"code\":\"SPRING25\",\"couponId\":\"%s\"}",
		str(o, "id")));
	cJSON_Delete(o);

	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", ca, pa);
	cJSON_Delete(subscribe(f, sa, body));
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"promotionCode\":\"spring25\"", cb, pb);
	cJSON_Delete(subscribe(f, sb, body));
	snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"planId\":\"%s\"", cc, pc);
	cJSON_Delete(subscribe(f, sc, body));
	o = call(f, "subscriptions.get", "{\"id\":\"%s\"}", sb);
	snprintf(di, sizeof(di), "%s", str(get(o, "discount"), "id"));
	assert_string_equal(str(get(o, "discount"), "end"), "2026-04-01T00:00:00Z");
	cJSON_Delete(o);

	for (m = 0; m < 4; m++) {
		if (m) {
			f->w->now = tbb_ts(2026, 1 + m, 1, 0, 0, 0);
			tbb_run(f->w);
		}
		inv = latest(f, sa);
		assert_invoice(inv, starts[m], &ea, NULL);
		cJSON_Delete(inv);
		inv = latest(f, sb);
		assert_invoice(inv, starts[m], m < 3 ? &eb : &eb4, di);
		cJSON_Delete(inv);
		inv = latest(f, sc);
		assert_string_equal(str(inv, "currency"), "USD");
		assert_invoice(inv, starts[m], &ec, NULL);
		cJSON_Delete(inv);
		assert_check_clean(f);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* The tax of rate id in a totalTaxAmounts array (0 if absent). */
static int64_t tax_of(const cJSON *amounts, const char *id)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, amounts)
		if (str(t, "taxRateId") && strcmp(str(t, "taxRateId"), id) == 0)
			return num(t, "amount");
	return 0;
}

/* Twelve items of 5 cents, six at 10 % and six at 19 %, rounded per invoice:
 * 30 at 10 % = 3, 30 at 19 % = 5.7 -> 6 (per line it would be 6 + 6 = 12);
 * total 69. A note of ten lines (the docs allow 16; the library took 8)
 * and a note of the other two between them credit exactly the invoice's
 * tax per rate, and its total. */
static void taxes__credit_notes_of_many_lines_under_invoice_rounding(void **state)
{
	fx *f = *state;
	char r10[64], r19[64], c[64], body[512], d[64], lines[2][2048];
	const cJSON *l;
	cJSON *inv, *n[2];
	size_t used[2] = { 0, 0 };
	int i, k = 0;

	rate(f, r10, "Ten", "10", 0);
	rate(f, r19, "VAT 19", "19", 0);
	cJSON_Delete(call(f, "tax_settings.set", "{\"taxRounding\":\"invoice\"}"));
	customer(f, c, NULL);
	for (i = 0; i < 12; i++) {
		char ii[64];
		snprintf(body, sizeof(body), "\"customerId\":\"%s\",\"description\":\"Item %d\","
			"\"amount\":5,\"taxRates\":[\"%s\"]", c, i, i % 2 ? r19 : r10);
		item(f, ii, body);
	}
	inv = draft_of(f, c, "");
	snprintf(d, sizeof(d), "%s", str(inv, "id"));
	cJSON_Delete(inv);
	inv = call(f, "invoices.finalize", "{\"id\":\"%s\"}", d);
	assert_int_equal(cJSON_GetArraySize(get(inv, "lines")), 12);
	assert_int_equal(num(inv, "subtotal"), 60);
	assert_int_equal(tax_of(get(inv, "totalTaxAmounts"), r10), 3);
	assert_int_equal(tax_of(get(inv, "totalTaxAmounts"), r19), 6);
	assert_int_equal(num(inv, "total"), 69);

	cJSON_ArrayForEach(l, get(inv, "lines")) {
		int w = k++ < 10 ? 0 : 1;
		used[w] += (size_t)snprintf(lines[w] + used[w], sizeof(lines[w]) - used[w],
			"%s{\"invoiceLineId\":\"%s\",\"amount\":5}", used[w] ? "," : "", str(l, "id"));
	}
	for (i = 0; i < 2; i++) {
		n[i] = call(f, "credit_notes.create", "{\"invoiceId\":\"%s\",\"reason\":"
			"\"order_change\",\"lines\":[%s]}", d, lines[i]);
		assert_int_equal(num(n[i], "subtotal"), i ? 10 : 50);
	}
	assert_int_equal(tax_of(get(n[0], "totalTaxAmounts"), r10) +
		tax_of(get(n[1], "totalTaxAmounts"), r10), 3);
	assert_int_equal(tax_of(get(n[0], "totalTaxAmounts"), r19) +
		tax_of(get(n[1], "totalTaxAmounts"), r19), 6);
	assert_int_equal(num(n[0], "total") + num(n[1], "total"), 69);
	for (i = 0; i < 2; i++)
		cJSON_Delete(n[i]);
	cJSON_Delete(inv);
	assert_check_clean(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(taxes__eu_b2b_reverse_charge_no_tax_and_the_note),
		T(taxes__b2c_inclusive_20_gross_stays_the_price),
		T(taxes__us_exempt_customer_pays_no_tax),
		T(taxes__the_subscription_rates_replace_the_plans),
		T(taxes__two_rates_on_one_line),
		T(taxes__rounding_per_line_or_per_invoice),
		T(taxes__a_products_tax_rate_without_rates_is_as_before),
		T(taxes__bad_default_tax_rates_write_nothing),
		T(taxes__an_items_tax_rates_replace_the_defaults),
		T(taxes__an_items_tax_rates_on_a_draft_and_changed),
		T(taxes__item_tax_rates_through_the_c_api),
		T(taxes__one_batch_renews_each_customer_with_its_own_taxes),
		T(taxes__a_drafts_default_tax_rates),
		T(taxes__finalization_taxes_as_things_are_then),
		T(taxes__a_waiting_renewal_draft_taxed_at_finalization),
		T(taxes__credit_notes_of_many_lines_under_invoice_rounding),
		T(done_when__eu_reverse_b2c_inclusive_promo_us_exempt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
