/*
 * Unit tests for coupon.c and promotion_code.c (issue #22 items 1 and 2),
 * through the JSON layer
 * (billing_call_json, the way HTTP and the bindings reach it): every rule
 * of a coupon's terms refused with its field and nothing stored, the
 * stored form (percentOff in hundredths of a percent, no double), fixed
 * terms, appliesTo checked against the tenant's products, the soft
 * delete, events and roles. Both backends.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cJSON.h>

#include "billing/json.h"
#include "core/core.h"
#include "core/discount.h"
#include "core/resource.h"
#include "tb.h"

typedef tb_fx fx;

/* ------------------------------------------------------------ helpers */

/* Runs op with the JSON text in as who; *out (when not NULL) the answer. */
static int call_as(fx *f, const billing_principal *who, const char *op, const char *in,
	cJSON **out)
{
	char *text = NULL;
	int rc = billing_call_json(&text, f->w->ctx, who, op, in, strlen(in), NULL);
	assert_non_null(text);
	if (out) {
		*out = cJSON_Parse(text);
		assert_non_null(*out);
	}
	billing_free(text);
	return rc;
}

static cJSON *ok(fx *f, const char *op, const char *in)
{
	cJSON *out = NULL;
	tb_assert_rc(call_as(f, &f->admin, op, in, &out), BILLING_OK);
	return out;
}

/* Rows of the tenant in table that meet cond ("1 = 1": all). */
static int64_t rows_where(fx *f, const char *table, const char *cond)
{
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE tenant_id = '%s' AND %s",
		table, f->tenant, cond);
	return tb_raw_count(f->w->url, sql);
}

static int64_t rows(fx *f, const char *table)
{
	return rows_where(f, table, "1 = 1");
}

/* The JSON text of o's member name, in buf. */
static const char *printed(const cJSON *o, const char *name, char *buf, size_t size)
{
	char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, name));
	assert_non_null(text);
	snprintf(buf, size, "%s", text);
	cJSON_free(text);
	return buf;
}

/* A create refused with want naming field, nothing stored. */
static void refused(fx *f, const char *in, int want, const char *field)
{
	int64_t before = rows(f, "coupons");
	cJSON *out = NULL;
	tb_assert_rc(call_as(f, &f->admin, "coupons.create", in, &out), want);
	if (field)
		tb_assert_field(field);
	cJSON_Delete(out);
	assert_int_equal(rows(f, "coupons"), before);
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	assert_true(cJSON_IsNumber(v));
	return (int64_t)v->valuedouble;
}

static bool is_null(const cJSON *o, const char *name)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, name));
}

static char *product_id(fx *f, char *out, size_t size)
{
	billing_product *p = tb_product(f->w, f->tenant, &(tb_product_spec){ .name = "Pro" });
	snprintf(out, size, "%s", billing_product_id(p));
	billing_product_free(p);
	return out;
}

/* ------------------------------------------------------------ create */

static void create__percent_kept_in_hundredths_and_defaults(void **state)
{
	fx *f = *state;
	cJSON *c = ok(f, "coupons.create", "{\"percentOff\": 25.5, \"metadata\": {\"k\": \"v\"}}");
	char sql[256], buf[32];

	assert_int_equal(strncmp(str(c, "id"), "coupon_", 7), 0);
	assert_string_equal(str(c, "object"), "coupon");
	/* Shown as the exact decimal it was given, stored as 2550. */
	assert_string_equal(printed(c, "percentOff", buf, sizeof(buf)), "25.5");
	assert_true(is_null(c, "amountOff"));
	assert_true(is_null(c, "currency"));
	assert_string_equal(str(c, "duration"), "once");
	assert_true(is_null(c, "durationInPeriods"));
	assert_true(is_null(c, "maxRedemptions"));
	assert_true(is_null(c, "redeemBy"));
	assert_int_equal(num(c, "timesRedeemed"), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "appliesTo")), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM coupons WHERE id = '%s' AND "
		"percent_off = 2550 AND amount_off IS NULL", str(c, "id"));
	assert_int_equal(tb_raw_count(f->w->url, sql), 1);
	cJSON_Delete(c);
}

static void create__amount_repeating_with_limits(void **state)
{
	fx *f = *state;
	char prod[64], in[512];
	cJSON *c, *ids;

	product_id(f, prod, sizeof(prod));
	snprintf(in, sizeof(in), "{\"amountOff\": 500, \"currency\": \"eur\", \"duration\": "
		"\"repeating\", \"durationInPeriods\": 3, \"maxRedemptions\": 2, \"redeemBy\": "
		"\"2100-01-01T00:00:00Z\", \"appliesTo\": {\"productIds\": [\"%s\"]}}", prod);
	c = ok(f, "coupons.create", in);
	assert_int_equal(num(c, "amountOff"), 500);
	assert_string_equal(str(c, "currency"), "EUR");
	assert_true(is_null(c, "percentOff"));
	assert_string_equal(str(c, "duration"), "repeating");
	assert_int_equal(num(c, "durationInPeriods"), 3);
	assert_int_equal(num(c, "maxRedemptions"), 2);
	assert_string_equal(str(c, "redeemBy"), "2100-01-01T00:00:00Z");
	ids = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "appliesTo"), "productIds");
	assert_int_equal(cJSON_GetArraySize(ids), 1);
	assert_string_equal(cJSON_GetArrayItem(ids, 0)->valuestring, prod);
	cJSON_Delete(c);
}

static void create__bad_terms_are_refused_by_field(void **state)
{
	fx *f = *state;
	char prod[64], in[256];

	refused(f, "{}", BILLING_EINVALID, "percentOff");
	refused(f, "{\"percentOff\": 10, \"amountOff\": 100, \"currency\": \"EUR\"}",
		BILLING_EINVALID, "percentOff");
	refused(f, "{\"percentOff\": 100.01}", BILLING_EINVALID, "percentOff");
	refused(f, "{\"percentOff\": 12.345}", BILLING_EINVALID, "percentOff");
	refused(f, "{\"percentOff\": 0}", BILLING_EINVALID, "percentOff");
	refused(f, "{\"percentOff\": -5}", BILLING_EINVALID, "percentOff");
	refused(f, "{\"amountOff\": 100}", BILLING_EINVALID, "currency");
	refused(f, "{\"amountOff\": -1, \"currency\": \"EUR\"}", BILLING_EINVALID, "amountOff");
	refused(f, "{\"amountOff\": 100, \"currency\": \"XYZ\"}", BILLING_EINVALID, "currency");
	refused(f, "{\"percentOff\": 10, \"currency\": \"EUR\"}", BILLING_EINVALID, "currency");
	refused(f, "{\"percentOff\": 10, \"duration\": \"repeating\"}", BILLING_EINVALID,
		"durationInPeriods");
	refused(f, "{\"percentOff\": 10, \"duration\": \"forever\", \"durationInPeriods\": 2}",
		BILLING_EINVALID, "durationInPeriods");
	refused(f, "{\"percentOff\": 10, \"duration\": \"weekly\"}", BILLING_EINVALID,
		"duration");
	refused(f, "{\"percentOff\": 10, \"maxRedemptions\": -1}", BILLING_EINVALID,
		"maxRedemptions");
	refused(f, "{\"percentOff\": 10, \"redeemBy\": \"2001-01-01T00:00:00Z\"}",
		BILLING_EINVALID, "redeemBy");
	refused(f, "{\"percentOff\": 10, \"timesRedeemed\": 3}", BILLING_EINVALID,
		"timesRedeemed");
	refused(f, "{\"percentOff\": 10, \"appliesTo\": {\"productIds\": []}}", BILLING_EINVALID,
		"appliesTo.productIds");
	refused(f, "{\"percentOff\": 10, \"appliesTo\": {\"plans\": [\"x\"]}}", BILLING_EINVALID,
		"appliesTo");
	refused(f, "{\"percentOff\": 10, \"appliesTo\": {\"productIds\": [\"prod_nope\"]}}",
		BILLING_EINVALID, "appliesTo.productIds");
	product_id(f, prod, sizeof(prod));
	snprintf(in, sizeof(in), "{\"percentOff\": 10, \"appliesTo\": {\"productIds\": "
		"[\"%s\", \"%s\"]}}", prod, prod);
	refused(f, in, BILLING_EINVALID, "appliesTo.productIds");
}

static void create__products_of_another_tenant_are_not_found(void **state)
{
	fx *f = *state;
	const char *other = tb_tenant(f->w, "Other");
	billing_product *p = tb_product(f->w, other, &(tb_product_spec){ .name = "Theirs" });
	char in[256];

	snprintf(in, sizeof(in), "{\"percentOff\": 10, \"appliesTo\": {\"productIds\": [\"%s\"]}}",
		billing_product_id(p));
	billing_product_free(p);
	refused(f, in, BILLING_EINVALID, "appliesTo.productIds");
}

/* ------------------------------------------------------------ update, delete */

static void update__terms_are_fixed_metadata_changes(void **state)
{
	fx *f = *state;
	cJSON *c = ok(f, "coupons.create", "{\"percentOff\": 10}"), *u, *out = NULL;
	char in[256], buf[32];

	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"percentOff\": 20}", str(c, "id"));
	tb_assert_rc(call_as(f, &f->admin, "coupons.update", in, &out), BILLING_EINVALID);
	tb_assert_field("percentOff");
	cJSON_Delete(out);
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"metadata\": {\"campaign\": \"spring\"}}",
		str(c, "id"));
	u = ok(f, "coupons.update", in);
	assert_string_equal(str(cJSON_GetObjectItem(u, "metadata"), "campaign"), "spring");
	assert_int_equal(num(u, "version"), 2);
	assert_string_equal(printed(u, "percentOff", buf, sizeof(buf)), "10");
	cJSON_Delete(u);
	cJSON_Delete(c);
}

static void delete__hides_it_but_keeps_the_row(void **state)
{
	fx *f = *state;
	cJSON *c = ok(f, "coupons.create", "{\"percentOff\": 10}"), *out = NULL;
	char in[128];

	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", str(c, "id"));
	tb_assert_rc(call_as(f, &f->admin, "coupons.delete", in, NULL), BILLING_OK);
	tb_assert_rc(call_as(f, &f->admin, "coupons.get", in, &out), BILLING_ENOTFOUND);
	cJSON_Delete(out);
	/* Kept for the discounts made from it. */
	assert_int_equal(rows_where(f, "coupons", "deleted_at IS NOT NULL"), 1);
	cJSON_Delete(c);
}

/* ------------------------------------------------------------ events, roles */

static void events__created_updated_deleted(void **state)
{
	fx *f = *state;
	cJSON *c = ok(f, "coupons.create", "{\"percentOff\": 10}"), *u;
	char in[256];

	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"metadata\": {\"a\": \"b\"}}", str(c, "id"));
	u = ok(f, "coupons.update", in);
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", str(c, "id"));
	tb_assert_rc(call_as(f, &f->admin, "coupons.delete", in, NULL), BILLING_OK);
	assert_int_equal(rows_where(f, "events", "type = 'coupon.created'"), 1);
	assert_int_equal(rows_where(f, "events", "type = 'coupon.updated'"), 1);
	assert_int_equal(rows_where(f, "events", "type = 'coupon.deleted'"), 1);
	assert_int_equal(rows_where(f, "audit_log",
		"resource_id IN (SELECT id FROM coupons)"), 3);
	cJSON_Delete(u);
	cJSON_Delete(c);
}

static void roles__user_reads_but_never_writes(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant);
	cJSON *c = ok(f, "coupons.create", "{\"percentOff\": 10}"), *out = NULL;
	char in[128];

	tb_assert_rc(call_as(f, &user, "coupons.create", "{\"percentOff\": 10}", NULL),
		BILLING_EFORBIDDEN);
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", str(c, "id"));
	tb_assert_rc(call_as(f, &user, "coupons.get", in, &out), BILLING_OK);
	assert_string_equal(str(out, "id"), str(c, "id"));
	cJSON_Delete(out);
	tb_assert_rc(call_as(f, &user, "coupons.delete", in, NULL), BILLING_EFORBIDDEN);
	assert_int_equal(rows(f, "coupons"), 1);
	cJSON_Delete(c);
}

/* ------------------------------------------------------------ promotion codes */

static cJSON *coupon_new(fx *f, char *id, size_t size)
{
	cJSON *c = ok(f, "coupons.create", "{\"percentOff\": 25, \"duration\": \"repeating\", "
		"\"durationInPeriods\": 3}");
	snprintf(id, size, "%s", str(c, "id"));
	return c;
}

static void promo_refused(fx *f, const char *in, int want, const char *field)
{
	int64_t before = rows(f, "promotion_codes");
	cJSON *out = NULL;
	tb_assert_rc(call_as(f, &f->admin, "promotion_codes.create", in, &out), want);
	if (field)
		tb_assert_field(field);
	cJSON_Delete(out);
	assert_int_equal(rows(f, "promotion_codes"), before);
}

static void promo__code_unique_among_active_codes_case_insensitive(void **state)
{
	fx *f = *state;
	char cid[64], in[256];
	cJSON *c = coupon_new(f, cid, sizeof(cid)), *p, *again;

	snprintf(in, sizeof(in), "{\"code\": \"Spring25\", \"couponId\": \"%s\"}", cid);
	p = ok(f, "promotion_codes.create", in);
	assert_int_equal(strncmp(str(p, "id"), "promo_", 6), 0);
	assert_string_equal(str(p, "code"), "Spring25");        /* shown as given */
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "active")));
	assert_int_equal(num(p, "timesRedeemed"), 0);
	assert_true(is_null(p, "customerId"));
	/* Another case of the same code is the same code. */
	snprintf(in, sizeof(in), "{\"code\": \"SPRING25\", \"couponId\": \"%s\"}", cid);
	promo_refused(f, in, BILLING_EEXISTS, "code");
	/* Archived, its text is free again; reactivating the old one is then
	 * refused the same way. */
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"active\": false}", str(p, "id"));
	cJSON_Delete(ok(f, "promotion_codes.update", in));
	snprintf(in, sizeof(in), "{\"code\": \"spring25\", \"couponId\": \"%s\"}", cid);
	again = ok(f, "promotion_codes.create", in);
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"active\": true}", str(p, "id"));
	tb_assert_rc(call_as(f, &f->admin, "promotion_codes.update", in, NULL), BILLING_EEXISTS);
	tb_assert_field("code");
	assert_int_equal(rows_where(f, "promotion_codes", "active = 1"), 1);
	cJSON_Delete(again);
	cJSON_Delete(p);
	cJSON_Delete(c);
}

static void promo__bad_input_is_refused_by_field(void **state)
{
	fx *f = *state;
	char cid[64], in[512];
	cJSON *c = coupon_new(f, cid, sizeof(cid));
	const char *other = tb_tenant(f->w, "Other");
	billing_customer *theirs = tb_customer(f->w, other, &(tb_customer_spec){ .name = "Bo" });

	promo_refused(f, "{\"code\": \"X1\", \"couponId\": \"coupon_nope\"}", BILLING_EINVALID,
		"couponId");
	snprintf(in, sizeof(in), "{\"code\": \"two words\", \"couponId\": \"%s\"}", cid);
	promo_refused(f, in, BILLING_EINVALID, "code");
	snprintf(in, sizeof(in), "{\"code\": \"X1\", \"couponId\": \"%s\", \"expiresAt\": "
		"\"2001-01-01T00:00:00Z\"}", cid);
	promo_refused(f, in, BILLING_EINVALID, "expiresAt");
	snprintf(in, sizeof(in), "{\"code\": \"X1\", \"couponId\": \"%s\", \"restrictions\": "
		"{\"minimumAmount\": 1000}}", cid);
	promo_refused(f, in, BILLING_EINVALID, "restrictions.minimumAmountCurrency");
	snprintf(in, sizeof(in), "{\"code\": \"X1\", \"couponId\": \"%s\", \"restrictions\": "
		"{\"minimumAmount\": 10.5, \"minimumAmountCurrency\": \"EUR\"}}", cid);
	promo_refused(f, in, BILLING_EINVALID, "restrictions.minimumAmount");
	snprintf(in, sizeof(in), "{\"code\": \"X1\", \"couponId\": \"%s\", \"restrictions\": "
		"{\"firstTime\": true}}", cid);
	promo_refused(f, in, BILLING_EINVALID, "restrictions");
	snprintf(in, sizeof(in), "{\"code\": \"X1\", \"couponId\": \"%s\", \"customerId\": "
		"\"%s\"}", cid, billing_customer_id(theirs));
	promo_refused(f, in, BILLING_EINVALID, "customerId");
	/* A deleted coupon takes no new code. */
	snprintf(in, sizeof(in), "{\"id\": \"%s\"}", cid);
	tb_assert_rc(call_as(f, &f->admin, "coupons.delete", in, NULL), BILLING_OK);
	snprintf(in, sizeof(in), "{\"code\": \"X1\", \"couponId\": \"%s\"}", cid);
	promo_refused(f, in, BILLING_EINVALID, "couponId");
	billing_customer_free(theirs);
	cJSON_Delete(c);
}

static void promo__restrictions_and_fixed_terms(void **state)
{
	fx *f = *state;
	char cid[64], in[512], buf[128];
	cJSON *c = coupon_new(f, cid, sizeof(cid)), *p, *out = NULL;
	billing_customer *ada = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .name = "Ada" });

	snprintf(in, sizeof(in), "{\"code\": \"ADA-1\", \"couponId\": \"%s\", \"customerId\": "
		"\"%s\", \"maxRedemptions\": 1, \"expiresAt\": \"2100-01-01T00:00:00Z\", "
		"\"restrictions\": {\"firstTimeTransaction\": true, \"minimumAmount\": 1000, "
		"\"minimumAmountCurrency\": \"eur\"}}", cid, billing_customer_id(ada));
	p = ok(f, "promotion_codes.create", in);
	assert_string_equal(str(p, "customerId"), billing_customer_id(ada));
	assert_int_equal(num(p, "maxRedemptions"), 1);
	assert_string_equal(printed(p, "restrictions", buf, sizeof(buf)),
		"{\"firstTimeTransaction\":true,\"minimumAmount\":1000,"
		"\"minimumAmountCurrency\":\"EUR\"}");
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"maxRedemptions\": 5}", str(p, "id"));
	tb_assert_rc(call_as(f, &f->admin, "promotion_codes.update", in, &out), BILLING_EINVALID);
	tb_assert_field("maxRedemptions");
	cJSON_Delete(out);
	assert_int_equal(rows_where(f, "events", "type = 'promotion_code.created'"), 1);
	billing_customer_free(ada);
	cJSON_Delete(p);
	cJSON_Delete(c);
}

/* ------------------------------------------------------------ the discount pass */

static void apply__percent_rounds_half_away_from_zero_per_line(void **state)
{
	/* 25.50 % of 999 = 254.745 -> 255; of 1 = 0.255 -> 0; of 2 = 0.51 -> 1;
	 * a proration credit of -500 -> -127.5 -> -128. */
	billing__discount_line lines[] = { { 999, "prod_a" }, { 1, NULL }, { 2, "prod_b" },
		{ -500, "prod_a" } };
	billing__discount_terms t = { 2550, 0, NULL, NULL, 0 };
	int64_t out[4];
	(void)state;

	tb_assert_rc(billing__discount_apply(out, lines, 4, "EUR", &t), BILLING_OK);
	assert_int_equal(out[0], 255);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 1);
	assert_int_equal(out[3], -128);
	/* 100 % takes every line off entirely. */
	t.percent_off = 10000;
	tb_assert_rc(billing__discount_apply(out, lines, 4, "EUR", &t), BILLING_OK);
	assert_int_equal(out[0], 999);
	assert_int_equal(out[3], -500);
}

static void apply__amount_spread_in_proportion_sums_exactly(void **state)
{
	/* 1000 off 3 x 1000 + a credit: 334 / 333 / 333 (the residue to the
	 * first), the credit untouched. */
	billing__discount_line lines[] = { { 1000, "p" }, { 1000, "p" }, { 1000, "p" },
		{ -300, "p" } };
	billing__discount_terms t = { 0, 1000, "EUR", NULL, 0 };
	int64_t out[4];
	(void)state;

	tb_assert_rc(billing__discount_apply(out, lines, 4, "EUR", &t), BILLING_OK);
	assert_int_equal(out[0], 334);
	assert_int_equal(out[1], 333);
	assert_int_equal(out[2], 333);
	assert_int_equal(out[3], 0);
	/* More off than there is: every line to zero, never below. */
	t.amount_off = 5000;
	tb_assert_rc(billing__discount_apply(out, lines, 4, "EUR", &t), BILLING_OK);
	assert_int_equal(out[0] + out[1] + out[2], 3000);
	assert_int_equal(out[0], 1000);
	assert_int_equal(out[3], 0);
	/* Another currency: nothing. */
	tb_assert_rc(billing__discount_apply(out, lines, 4, "USD", &t), BILLING_OK);
	assert_int_equal(out[0] + out[1] + out[2] + out[3], 0);
}

static void apply__applies_to_limits_the_lines(void **state)
{
	billing__discount_line lines[] = { { 3000, "prod_a" }, { 1000, "prod_b" },
		{ 500, NULL } };
	const char *only[] = { "prod_b" };
	billing__discount_terms pct = { 5000, 0, NULL, only, 1 };
	billing__discount_terms amt = { 0, 2500, "EUR", only, 1 };
	int64_t out[3];
	(void)state;

	tb_assert_rc(billing__discount_apply(out, lines, 3, "EUR", &pct), BILLING_OK);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 500);
	assert_int_equal(out[2], 0);
	/* The amount is capped at the eligible lines' sum. */
	tb_assert_rc(billing__discount_apply(out, lines, 3, "EUR", &amt), BILLING_OK);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1000);
	assert_int_equal(out[2], 0);
}

static void apply__weighted_spread_never_exceeds_a_line(void **state)
{
	/* Parts proportional to 1 / 2 / 997 of 999 off 1000: each part at most
	 * its line, the parts summing to 999. */
	billing__discount_line lines[] = { { 1, "p" }, { 2, "p" }, { 997, "p" } };
	billing__discount_terms t = { 0, 999, "JPY", NULL, 0 };
	int64_t out[3];
	size_t i;
	(void)state;

	tb_assert_rc(billing__discount_apply(out, lines, 3, "JPY", &t), BILLING_OK);
	assert_int_equal(out[0] + out[1] + out[2], 999);
	for (i = 0; i < 3; i++)
		assert_true(out[i] >= 0 && out[i] <= lines[i].amount);
}

/* ------------------------------------------------------------ tenant-chosen ids */

static void id__the_tenant_may_choose_it(void **state)
{
	fx *f = *state;
	const char *other = tb_tenant(f->w, "Other");
	billing_principal them = tb_admin(other);
	cJSON *c = ok(f, "coupons.create", "{\"id\": \"coupon_SPRING-25\", \"percentOff\": 25}");
	cJSON *got, *out = NULL;
	char long_id[64], in[128];

	assert_string_equal(str(c, "id"), "coupon_SPRING-25");
	got = ok(f, "coupons.get", "{\"id\": \"coupon_SPRING-25\"}");
	assert_int_equal(num(got, "version"), 1);
	cJSON_Delete(got);
	got = ok(f, "promotion_codes.create", "{\"code\": \"S25\", \"couponId\": "
		"\"coupon_SPRING-25\"}");
	cJSON_Delete(got);
	/* Unique in the tenant; another tenant has its own. */
	refused(f, "{\"id\": \"coupon_SPRING-25\", \"percentOff\": 10}", BILLING_EEXISTS, "id");
	tb_assert_rc(call_as(f, &them, "coupons.create",
		"{\"id\": \"coupon_SPRING-25\", \"percentOff\": 10}", &out), BILLING_OK);
	cJSON_Delete(out);
	/* Its form: the prefix, then 1 to 40 letters, digits, - or _. */
	refused(f, "{\"id\": \"SPRING25\", \"percentOff\": 10}", BILLING_EINVALID, "id");
	refused(f, "{\"id\": \"coupon_\", \"percentOff\": 10}", BILLING_EINVALID, "id");
	refused(f, "{\"id\": \"coupon_a b\", \"percentOff\": 10}", BILLING_EINVALID, "id");
	refused(f, "{\"id\": \"txr_abc\", \"percentOff\": 10}", BILLING_EINVALID, "id");
	memset(long_id, 'x', sizeof(long_id));
	memcpy(long_id, "coupon_", 7);
	long_id[48] = '\0';                       /* 48 characters: one too many */
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"percentOff\": 10}", long_id);
	refused(f, in, BILLING_EINVALID, "id");
	long_id[47] = '\0';
	snprintf(in, sizeof(in), "{\"id\": \"%s\", \"percentOff\": 10}", long_id);
	cJSON_Delete(ok(f, "coupons.create", in));
	/* One answer names the id and the other bad fields together. */
	tb_assert_rc(call_as(f, &f->admin, "coupons.create", "{\"id\": \"bad id\", "
		"\"amountOff\": 5}", &out), BILLING_EINVALID);
	assert_int_equal(billing_error_last()->field_error_count, 2);
	cJSON_Delete(out);
	/* A delete and an update by it. */
	cJSON_Delete(ok(f, "coupons.update", "{\"id\": \"coupon_SPRING-25\", \"metadata\": "
		"{\"a\": \"b\"}}"));
	tb_assert_rc(call_as(f, &f->admin, "coupons.delete", "{\"id\": \"coupon_SPRING-25\"}",
		NULL), BILLING_OK);
	assert_int_equal(rows_where(f, "coupons", "deleted_at IS NOT NULL"), 1);
	cJSON_Delete(c);
}

static void id__chosen_only_where_the_descriptor_takes_it(void **state)
{
	size_t n, i;
	const billing__rules *const *all = billing__rules_all(&n);
	(void)state;

	for (i = 0; i < n; i++) {
		const billing_resource *res = all[i]->res;
		const billing_field *idf = billing__field_with(res, BILLING_FIELD_ID);
		char id[64];
		snprintf(id, sizeof(id), "%s_Mine-1", res->prefix);
		assert_int_equal(billing__id_chosen(id, res->prefix),
			(idf->api & BILLING_API_CREATE) != 0);
	}
	assert_true(billing__id_chosen("coupon_Mine-1", "coupon"));
	assert_false(billing__id_chosen("cus_Mine-1", "cus"));
}

/* ------------------------------------------------------------ redemption */

/* One redemption in a transaction of its own on ctx, run again after a
 * serialization failure as the library's writes are; *reason the
 * refusal's reason ("" when it succeeded). */
static int redeem_on(billing_ctx *ctx, const char *tenant, const billing__redeem_params *in,
	char *reason, size_t size)
{
	struct billing__redemption out;
	int rc = BILLING_OK, n;

	for (n = 0; n < BILLING__RETRIES; n++) {
		billing_txn *tx;
		if ((rc = billing__begin(&tx, ctx, tenant, BILLING_TXN_WRITE)) < 0)
			break;
		rc = billing__end(ctx, tx, billing__discount_redeem(&out, ctx, tx, tenant, in));
		if (!billing__retryable(rc))
			break;
	}
	snprintf(reason, size, "%s", rc < 0 && billing_error_last()->reason ?
		billing_error_last()->reason : "");
	return rc;
}

struct racer {
	billing_ctx *ctx;
	const char *tenant;
	billing__redeem_params in;
	pthread_barrier_t *go;
	int rc;
	char reason[64];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	pthread_barrier_wait(r->go);
	r->rc = redeem_on(r->ctx, r->tenant, &r->in, r->reason, sizeof(r->reason));
	return NULL;
}

/* Two "processes" (contexts of their own) redeem at once: how many won. */
static int two_at_once(fx *f, const billing__redeem_params *in, const char *loser_reason)
{
	pthread_barrier_t go;
	struct racer r[2];
	pthread_t th[2];
	int k, won = 0;

	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	for (k = 0; k < 2; k++) {
		memset(&r[k], 0, sizeof(r[k]));
		r[k].ctx = tb_world_open_again(f->w);
		r[k].tenant = f->tenant;
		r[k].in = *in;
		r[k].go = &go;
	}
	for (k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&th[k], NULL, race, &r[k]), 0);
	for (k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	for (k = 0; k < 2; k++) {
		if (r[k].rc == BILLING_OK)
			won++;
		else if (r[k].rc != BILLING_EINVALID || strcmp(r[k].reason, loser_reason) != 0)
			fail_msg("racer %d: %s (%s)", k, billing_error_name(r[k].rc), r[k].reason);
		billing_ctx_close(r[k].ctx);
	}
	pthread_barrier_destroy(&go);
	return won;
}

static void redeem__the_last_use_goes_to_exactly_one(void **state)
{
	fx *f = *state;
	billing__redeem_params in = { 0 };
	cJSON *c = ok(f, "coupons.create", "{\"id\": \"coupon_LAST\", \"percentOff\": 10, "
		"\"maxRedemptions\": 2}");
	cJSON *p;
	char reason[64];

	/* The code's last use. */
	p = ok(f, "promotion_codes.create", "{\"code\": \"ONCE\", \"couponId\": \"coupon_LAST\", "
		"\"maxRedemptions\": 1}");
	in.promotion_code = "once";
	in.now = f->w->now;
	assert_int_equal(two_at_once(f, &in, "promotion_code_exhausted"), 1);
	assert_int_equal(rows_where(f, "promotion_codes", "times_redeemed = 1"), 1);
	assert_int_equal(rows_where(f, "coupons", "times_redeemed = 1"), 1);
	/* The coupon's last use. */
	in.promotion_code = NULL;
	in.coupon_id = "coupon_LAST";
	assert_int_equal(two_at_once(f, &in, "coupon_exhausted"), 1);
	assert_int_equal(rows_where(f, "coupons", "times_redeemed = 2"), 1);
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)),
		BILLING_EINVALID);
	tb_assert_field("coupon");
	assert_string_equal(reason, "coupon_exhausted");
	/* The version of neither moved: counting is not a change of its terms. */
	assert_int_equal(rows_where(f, "coupons", "version = 1"), 1);
	cJSON_Delete(p);
	cJSON_Delete(c);
}

static void redeem__refusals_name_their_reason_and_count_nothing(void **state)
{
	fx *f = *state;
	billing_customer *ada = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .name = "Ada" });
	billing__redeem_params in = { 0 };
	char in_json[512], reason[64];
	cJSON *c = ok(f, "coupons.create", "{\"id\": \"coupon_R\", \"percentOff\": 10, "
		"\"redeemBy\": \"2026-02-01T00:00:00Z\"}"), *p;

	snprintf(in_json, sizeof(in_json), "{\"code\": \"ADA\", \"couponId\": \"coupon_R\", "
		"\"customerId\": \"%s\", \"expiresAt\": \"2026-01-15T00:00:00Z\", "
		"\"restrictions\": {\"firstTimeTransaction\": true, \"minimumAmount\": 1000, "
		"\"minimumAmountCurrency\": \"EUR\"}}", billing_customer_id(ada));
	p = ok(f, "promotion_codes.create", in_json);
	in.now = f->w->now;
	in.promotion_code = "ada";
	in.customer_id = "cus_someoneelse";
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)),
		BILLING_EINVALID);
	tb_assert_field("promotionCode");
	assert_string_equal(reason, "promotion_code_customer");
	in.customer_id = billing_customer_id(ada);
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)),
		BILLING_EINVALID);
	assert_string_equal(reason, "promotion_code_first_time");
	in.first_time = 1;
	in.amount = 999;
	in.currency = "EUR";
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)),
		BILLING_EINVALID);
	assert_string_equal(reason, "promotion_code_minimum");
	in.now = f->w->now + 20 * 86400;                 /* after expiresAt */
	in.amount = 1000;
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)),
		BILLING_EINVALID);
	assert_string_equal(reason, "promotion_code_expired");
	in.now = f->w->now;
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)), BILLING_OK);
	assert_int_equal(rows_where(f, "promotion_codes", "times_redeemed = 1"), 1);
	/* By the coupon: past redeemBy, then deleted; an unknown code. */
	in.promotion_code = NULL;
	in.coupon_id = "coupon_R";
	in.now = f->w->now + 40 * 86400;
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)),
		BILLING_EINVALID);
	assert_string_equal(reason, "coupon_expired");
	in.now = f->w->now;
	tb_assert_rc(call_as(f, &f->admin, "coupons.delete", "{\"id\": \"coupon_R\"}", NULL),
		BILLING_OK);
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)),
		BILLING_EINVALID);
	assert_string_equal(reason, "resource_missing");
	in.coupon_id = NULL;
	in.promotion_code = "NOPE";
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)),
		BILLING_EINVALID);
	tb_assert_field("promotionCode");
	assert_string_equal(reason, "resource_missing");
	in.coupon_id = "coupon_R";
	tb_assert_rc(redeem_on(f->w->ctx, f->tenant, &in, reason, sizeof(reason)),
		BILLING_EINVALID);
	tb_assert_field("coupon");
	assert_int_equal(rows_where(f, "coupons", "times_redeemed = 1"), 1);
	billing_customer_free(ada);
	cJSON_Delete(p);
	cJSON_Delete(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(apply__percent_rounds_half_away_from_zero_per_line),
		cmocka_unit_test(apply__amount_spread_in_proportion_sums_exactly),
		cmocka_unit_test(apply__applies_to_limits_the_lines),
		cmocka_unit_test(apply__weighted_spread_never_exceeds_a_line),
		cmocka_unit_test_setup_teardown(create__percent_kept_in_hundredths_and_defaults,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(create__amount_repeating_with_limits,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(create__bad_terms_are_refused_by_field,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(create__products_of_another_tenant_are_not_found,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(update__terms_are_fixed_metadata_changes,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(delete__hides_it_but_keeps_the_row,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(events__created_updated_deleted,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(roles__user_reads_but_never_writes,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(promo__code_unique_among_active_codes_case_insensitive,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(promo__bad_input_is_refused_by_field,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(promo__restrictions_and_fixed_terms,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(id__the_tenant_may_choose_it,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test(id__chosen_only_where_the_descriptor_takes_it),
		cmocka_unit_test_setup_teardown(redeem__the_last_use_goes_to_exactly_one,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(redeem__refusals_name_their_reason_and_count_nothing,
			tb_fx_setup, tb_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
