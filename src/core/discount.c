/*
 * Redeeming a coupon or a promotion code (issue #22 item 3): the check
 * and the count that a discount's creation runs in its own transaction.
 *
 * Limits hold under concurrency because the count is taken under the
 * rows' locks: the promotion code (when one is given) and then its
 * coupon are read for update, checked and written back with their
 * timesRedeemed + 1 before the transaction commits, so a second
 * redemption of the last use waits for the first and then sees it (on
 * PostgreSQL the row lock, on SQLite the database's write lock). The
 * tables' CHECK (times_redeemed <= max_redemptions) backs it up, and
 * billing_check's "coupon_redemptions" (the end of this file) compares
 * each count with its limit and with the discounts made.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/coupon.h"
#include "core/discount.h"
#include "core/resource.h"
#include "core/resources.h"

/* ------------------------------------------------------------ the counts */

/* A coupon's or promotion code's row as the count sees it: no version
 * field, so writing it leaves the object's version alone (as customers'
 * balances, customer_balance.c). */
struct count_row {
	const char *tenant_id;
	const char *id;
	int64_t times_redeemed;
};

#define COUNT_FIELDS { \
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(struct count_row, tenant_id), \
	  BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL }, \
	{ "id", BILLING_FIELD_TEXT, offsetof(struct count_row, id), BILLING_FIELD_ID, "id", \
	  BILLING_JSON_STRING, 0, NULL, 0, NULL }, \
	{ "times_redeemed", BILLING_FIELD_INT64, offsetof(struct count_row, times_redeemed), \
	  0, "timesRedeemed", BILLING_JSON_INTEGER, 0, NULL, 0, NULL } }

static const billing_field coupon_count_fields[] = COUNT_FIELDS;
static const billing_field promo_count_fields[] = COUNT_FIELDS;

static const billing_resource coupon_count = {
	.name = "coupon_counts", .plural = "coupon_counts", .table = "coupons",
	.prefix = "coupon", .record_size = sizeof(struct count_row),
	.fields = coupon_count_fields, .field_count = 3,
};

static const billing_resource promo_count = {
	.name = "promotion_code_counts", .plural = "promotion_code_counts",
	.table = "promotion_codes", .prefix = "promo", .record_size = sizeof(struct count_row),
	.fields = promo_count_fields, .field_count = 3,
};

static int count_write(billing_ctx *ctx, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, int64_t times)
{
	struct count_row row = { tenant_id, id, times };
	return ctx->st->record_update(tx, res, &row, 0);
}

/* ------------------------------------------------------------ reads */

static int coupon_copy(void *payload, const void *record)
{
	struct billing__redemption *r = payload;
	const struct billing__coupon *c = record;
	snprintf(r->coupon_id, sizeof(r->coupon_id), "%s", c->id);
	snprintf(r->currency, sizeof(r->currency), "%s", c->currency ? c->currency : "");
	r->percent_off = c->percent_off;
	r->amount_off = c->amount_off;
	r->duration = c->duration;
	r->duration_in_periods = c->duration_in_periods;
	r->coupon_times_redeemed = c->times_redeemed;
	r->coupon_max_redemptions = c->max_redemptions;
	r->coupon_redeem_by = c->redeem_by;
	r->coupon_deleted = c->deleted_at != 0;
	return BILLING_OK;
}

/* What the redemption needs of a promotion code. */
struct promo {
	char id[BILLING_ID_MAX];
	char coupon_id[BILLING_ID_MAX];
	char customer_id[BILLING_ID_MAX];
	int64_t expires_at, max_redemptions, times_redeemed;
	int first_time;
	int64_t minimum_amount;
	char minimum_currency[4];
};

static int promo_copy(void *payload, const void *record)
{
	struct promo *p = payload;
	const struct billing__promotion_code *r = record;
	cJSON *o = cJSON_Parse(r->restrictions_json ? r->restrictions_json : "{}");
	const cJSON *v;

	snprintf(p->id, sizeof(p->id), "%s", r->id);
	snprintf(p->coupon_id, sizeof(p->coupon_id), "%s", r->coupon_id);
	snprintf(p->customer_id, sizeof(p->customer_id), "%s",
		r->customer_id ? r->customer_id : "");
	p->expires_at = r->expires_at;
	p->max_redemptions = r->max_redemptions;
	p->times_redeemed = r->times_redeemed;
	if (!o)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	p->first_time = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "firstTimeTransaction"));
	/* Checked at creation: an integer up to 2^53, a currency code. */
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(o, "minimumAmount")))
		p->minimum_amount = (int64_t)v->valuedouble;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(o, "minimumAmountCurrency")))
		snprintf(p->minimum_currency, sizeof(p->minimum_currency), "%s", v->valuestring);
	cJSON_Delete(o);
	return BILLING_OK;
}

/* The tenant's active code text names (any case), its row locked. */
static int promo_find(struct promo *p, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *code)
{
	char key[65];
	size_t i, n = strlen(code);
	billing_filter by[2];

	if (n < 1 || n >= sizeof(key))
		return billing__not_found("promotion code");
	for (i = 0; i <= n; i++)
		key[i] = code[i] >= 'a' && code[i] <= 'z' ? (char)(code[i] - 'a' + 'A') : code[i];
	memset(by, 0, sizeof(by));
	by[0].field = billing_resource_field(&billing__res_promotion_code, "code_key");
	by[0].op = BILLING_FILTER_EQ;
	by[0].text = key;
	by[1].field = billing_resource_field(&billing__res_promotion_code, "active");
	by[1].op = BILLING_FILTER_EQ;
	by[1].num = 1;
	return billing__find(ctx->st, tx, &billing__res_promotion_code, tenant_id, by, 2,
		BILLING_LOCK_UPDATE, promo_copy, p);
}

/* ------------------------------------------------------------ redeem */

static int refused(const char *field, const char *reason, const char *message)
{
	return billing__error_field(BILLING_EINVALID, reason, field, "%s", message);
}

/* The promotion code's own limits and restrictions. */
static int promo_check(const struct promo *p, const billing__redeem_params *in)
{
	if (p->expires_at && p->expires_at <= in->now)
		return refused("promotionCode", "promotion_code_expired",
			"the promotion code has expired");
	if (p->max_redemptions && p->times_redeemed >= p->max_redemptions)
		return refused("promotionCode", "promotion_code_exhausted",
			"the promotion code has been redeemed as often as it may be");
	if (p->customer_id[0] && (!in->customer_id || strcmp(p->customer_id, in->customer_id) != 0))
		return refused("promotionCode", "promotion_code_customer",
			"the promotion code is for another customer");
	if (p->first_time && !in->first_time)
		return refused("promotionCode", "promotion_code_first_time",
			"the promotion code is for a customer's first purchase only");
	if (p->minimum_amount && (!in->currency ||
	    strcmp(in->currency, p->minimum_currency) != 0 || in->amount < p->minimum_amount))
		return refused("promotionCode", "promotion_code_minimum",
			"the promotion code needs a larger first invoice in its currency");
	return BILLING_OK;
}

int billing__discount_redeem(struct billing__redemption *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const billing__redeem_params *in)
{
	const char *field = in->promotion_code ? "promotionCode" : "coupon";
	const char *coupon_id = in->coupon_id;
	struct promo p;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	if (!in->coupon_id == !in->promotion_code)
		return refused("coupon", "invalid", "give coupon or promotionCode, not both");
	/* Lock order: the code, then its coupon (every redemption takes both
	 * in this order). */
	if (in->promotion_code) {
		rc = promo_find(&p, ctx, tx, tenant_id, in->promotion_code);
		if (rc == BILLING_ENOTFOUND)
			return refused(field, "resource_missing", "no such active promotion code");
		if (rc < 0 || (rc = promo_check(&p, in)) < 0)
			return rc;
		coupon_id = p.coupon_id;
		snprintf(out->promotion_code_id, sizeof(out->promotion_code_id), "%s", p.id);
	}
	rc = billing__id_arg_ok(coupon_id, "coupon") ? ctx->st->record_read(tx,
		&billing__res_coupon, tenant_id, coupon_id, BILLING_LOCK_UPDATE, coupon_copy, out) :
		BILLING_ENOTFOUND;
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && out->coupon_deleted))
		return refused(field, "resource_missing", "no such coupon");
	if (rc < 0)
		return rc;
	if (out->coupon_redeem_by && out->coupon_redeem_by <= in->now)
		return refused(field, "coupon_expired", "the coupon can no longer be redeemed");
	if (out->coupon_max_redemptions && out->coupon_times_redeemed >= out->coupon_max_redemptions)
		return refused(field, "coupon_exhausted",
			"the coupon has been redeemed as often as it may be");
	if ((rc = count_write(ctx, tx, &coupon_count, tenant_id, out->coupon_id,
		out->coupon_times_redeemed + 1)) < 0)
		return rc;
	out->coupon_times_redeemed++;
	if (in->promotion_code)
		rc = count_write(ctx, tx, &promo_count, tenant_id, p.id, p.times_redeemed + 1);
	return rc;
}

/* ------------------------------------------------------------ check */

/* A coupon's or promotion code's stored count and limit, and the number of
 * discounts made from it. */
struct redeemed {
	char id[BILLING_ID_MAX];
	int64_t max_redemptions, times_redeemed, made;
};

struct redeemed_set {
	struct redeemed *v;
	size_t n, cap;
};

static int redeemed_add(struct redeemed_set *s, const char *id, int64_t max, int64_t times)
{
	struct redeemed *r;
	int rc;
	if ((rc = billing__grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v))) < 0)
		return rc;
	r = &s->v[s->n++];
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->max_redemptions = max;
	r->times_redeemed = times;
	r->made = 0;
	return BILLING_OK;
}

static int coupon_counted(void *payload, const void *record)
{
	const struct billing__coupon *c = record;
	return redeemed_add(payload, c->id, c->max_redemptions, c->times_redeemed);
}

static int promo_counted(void *payload, const void *record)
{
	const struct billing__promotion_code *p = record;
	return redeemed_add(payload, p->id, p->max_redemptions, p->times_redeemed);
}

static int cmp_redeemed(const void *a, const void *b)
{
	return strcmp(((const struct redeemed *)a)->id, ((const struct redeemed *)b)->id);
}

/* One more discount made from id, when s holds it (the discounts' foreign
 * keys name rows of the tenant; "dangling_reference" reports any other). */
static void made_from(struct redeemed_set *s, const char *id)
{
	struct redeemed key, *hit;
	if (!id || !s->n || strlen(id) >= sizeof(key.id))
		return;
	memset(&key, 0, sizeof(key));
	snprintf(key.id, sizeof(key.id), "%s", id);
	if ((hit = bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_redeemed)) != NULL)
		hit->made++;
}

struct redemption_check {
	struct redeemed_set coupons, promos;
	billing__discount_report_fn report;
	void *payload;
};

/* A discount, deleted or not: each is one redemption, counted for good. */
static int discount_made(void *payload, const void *record)
{
	struct redemption_check *rc = payload;
	const struct billing__discount_rec *d = record;
	made_from(&rc->coupons, d->coupon_id);
	made_from(&rc->promos, d->promotion_code_id);
	return BILLING_OK;
}

static void redeemed_report(struct redemption_check *c, const struct redeemed_set *s)
{
	char detail[200], max[48];
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct redeemed *r = &s->v[i];
		bool above = r->max_redemptions && r->times_redeemed > r->max_redemptions;
		if (!above && r->times_redeemed == r->made)
			continue;
		max[0] = '\0';
		if (above)
			snprintf(max, sizeof(max), ", above maxRedemptions %lld",
				(long long)r->max_redemptions);
		snprintf(detail, sizeof(detail), "timesRedeemed %lld%s; %lld discounts were made "
			"from it", (long long)r->times_redeemed, max, (long long)r->made);
		c->report(c->payload, "coupon_redemptions", r->id, detail);
	}
}

int billing__redemption_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__discount_report_fn report, void *payload)
{
	struct redemption_check c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.report = report;
	c.payload = payload;
	if ((rc = billing__list_all_with_deleted(ctx->st, tx, &billing__res_coupon, tenant_id,
		coupon_counted, &c.coupons)) < 0 ||
	    (rc = billing__list_all_with_deleted(ctx->st, tx, &billing__res_promotion_code,
		tenant_id, promo_counted, &c.promos)) < 0)
		goto out;
	if (c.coupons.n)
		qsort(c.coupons.v, c.coupons.n, sizeof(*c.coupons.v), cmp_redeemed);
	if (c.promos.n)
		qsort(c.promos.v, c.promos.n, sizeof(*c.promos.v), cmp_redeemed);
	if ((rc = billing__list_all_with_deleted(ctx->st, tx, &billing__res_discount, tenant_id,
		discount_made, &c)) < 0)
		goto out;
	redeemed_report(&c, &c.coupons);
	redeemed_report(&c, &c.promos);
out:
	billing__free(c.coupons.v);
	billing__free(c.promos.v);
	return rc;
}
