/*
 * Revenue reports (billing/report.h; issue #25; docs/reports.md): MRR at
 * any past time, rebuilt from the history the schema keeps.
 *
 * Sources, chosen for being exact at any time:
 *  - a subscription at `at`: the data of its latest event at or before
 *    `at` (every change of a subscription writes one, holding the
 *    subscription after the change: status, currency, items and
 *    quantities), read for all subscriptions at once by storage's
 *    events_latest (one set-based statement);
 *  - a plan's amount at `at`: likewise from the plans' events (amount is
 *    the one price field a plan update may change; the price model,
 *    interval, currency, product and usage type are fixed at creation and
 *    read from the plan rows);
 *  - the discount in effect at `at`: the discounts rows, which keep start,
 *    end and removal (deleted_at), with their coupons (terms are fixed).
 * Invoice lines are not a source: a change with create_prorations or a
 * cancellation leaves no invoice at the time it takes effect.
 *
 * Arithmetic: integers only. An item's month share is a fraction with
 * denominator 12 x intervalCount; a subscription's shares are added over
 * their least common denominator and the sum rounded once, half away from
 * zero. Every product and sum is checked for overflow.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "billing/report.h"
#include "core/core.h"
#include "core/coupon.h"
#include "core/discount.h"
#include "core/json_exact.h"
#include "core/price.h"

/* ------------------------------------------------------------ rows in hand */

typedef struct {
	char *id;
	char *product_id;
	char currency[4];
	int interval;
	int32_t interval_count;
	int metered;
	int known_at;                /* the plan had an event at or before at */
	billing__price_model model;  /* unit_amount: the amount at at */
} plan_row;

typedef struct {
	char *subscription_id;       /* NULL: the customer's */
	char *customer_id;
	char *coupon_id;
	int64_t start_at, end_at, deleted_at;
} discount_row;

typedef struct {
	char *id;
	int64_t percent_off, amount_off;
	char currency[4];
	int duration;
	char **products;
	size_t product_count;
} coupon_row;

typedef struct {
	plan_row *plans;
	size_t plan_n, plan_cap;
	discount_row *discounts;
	size_t discount_n, discount_cap;
	coupon_row *coupons;
	size_t coupon_n, coupon_cap;
	char **customers;            /* of the subscriptions counted */
	size_t customer_n, customer_cap;
	int64_t at;
	const char *currency;
	int64_t mrr;
	int64_t subscriptions;
} report;

static int nomem(void)
{
	return billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

static int corrupt(const char *what)
{
	return billing__error_set(BILLING_ESTORAGE, "corrupt", "%s", what);
}

/* Grows *v (of *cap elements of size) to hold one more. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c;
	if (n < *cap)
		return BILLING_OK;
	c = *cap ? *cap * 2 : 64;
	if ((p = billing__realloc(*v, c * size)) == NULL)
		return nomem();
	*v = p;
	*cap = c;
	return BILLING_OK;
}

static void report_free(report *r)
{
	size_t i, j;
	for (i = 0; i < r->plan_n; i++) {
		billing__free(r->plans[i].id);
		billing__free(r->plans[i].product_id);
	}
	for (i = 0; i < r->discount_n; i++) {
		billing__free(r->discounts[i].subscription_id);
		billing__free(r->discounts[i].customer_id);
		billing__free(r->discounts[i].coupon_id);
	}
	for (i = 0; i < r->coupon_n; i++) {
		for (j = 0; j < r->coupons[i].product_count; j++)
			billing__free(r->coupons[i].products[j]);
		billing__free(r->coupons[i].products);
		billing__free(r->coupons[i].id);
	}
	for (i = 0; i < r->customer_n; i++)
		billing__free(r->customers[i]);
	billing__free(r->plans);
	billing__free(r->discounts);
	billing__free(r->coupons);
	billing__free(r->customers);
}

/* ------------------------------------------------------------ reads */

static int plan_in(void *payload, const void *record)
{
	report *r = payload;
	const billing_plan_record *p = record;
	billing__checks ck = BILLING__CHECKS_INIT;
	plan_row *row;
	int rc;

	if ((rc = grow((void **)&r->plans, &r->plan_cap, r->plan_n, sizeof(*r->plans))) < 0)
		return rc;
	row = &r->plans[r->plan_n];
	memset(row, 0, sizeof(*row));
	snprintf(row->currency, sizeof(row->currency), "%s", p->currency ? p->currency : "");
	row->interval = p->interval;
	row->interval_count = p->interval_count > 0 ? p->interval_count : 1;
	row->metered = p->usage_type == BILLING__USAGE_METERED;
	billing__price_model_parse(&row->model, &ck, p->billing_scheme, p->tiers_mode, p->amount,
		p->tiers, p->transform_quantity);
	if (ck.count)
		return corrupt("a plan's stored price model does not parse");
	row->id = billing__strdup(p->id);
	row->product_id = billing__strdup(p->product_id ? p->product_id : "");
	if (!row->id || !row->product_id) {
		billing__free(row->id);
		billing__free(row->product_id);
		return nomem();
	}
	r->plan_n++;
	return BILLING_OK;
}

static int plan_cmp(const void *a, const void *b)
{
	return strcmp(((const plan_row *)a)->id, ((const plan_row *)b)->id);
}

static plan_row *plan_find(report *r, const char *id)
{
	plan_row key;
	memset(&key, 0, sizeof(key));
	key.id = (char *)id;
	if (!id || !r->plan_n)
		return NULL;
	return bsearch(&key, r->plans, r->plan_n, sizeof(*r->plans), plan_cmp);
}

/* A plan's event at or before at: its amount then. */
static int plan_state_in(void *payload, const void *record)
{
	report *r = payload;
	const billing_event_state_record *e = record;
	plan_row *p = plan_find(r, e->resource_id);
	cJSON *root;
	int64_t amount = 0;

	if (!p)
		return BILLING_OK;      /* a plan no row holds any more: none do */
	if (!e->data || (root = billing__jx_parse(e->data, strlen(e->data), NULL)) == NULL)
		return corrupt("a plan event's data is not JSON");
	if (p->model.scheme == BILLING__SCHEME_PER_UNIT &&
	    billing__jx_int(cJSON_GetObjectItemCaseSensitive(root, "amount"), &amount) ==
	    BILLING__JX_INT_OK)
		p->model.unit_amount = amount;
	cJSON_Delete(root);
	p->known_at = 1;
	return BILLING_OK;
}

static char *dup_or_null(const char *s)
{
	return s ? billing__strdup(s) : NULL;
}

static int discount_in(void *payload, const void *record)
{
	report *r = payload;
	const struct billing__discount_rec *d = record;
	discount_row *row;
	int rc;

	/* Only what could be in effect at at. */
	if (d->start_at > r->at || (d->deleted_at && d->deleted_at <= r->at) ||
	    (d->end_at && d->end_at <= r->at))
		return BILLING_OK;
	if ((rc = grow((void **)&r->discounts, &r->discount_cap, r->discount_n,
		sizeof(*r->discounts))) < 0)
		return rc;
	row = &r->discounts[r->discount_n];
	memset(row, 0, sizeof(*row));
	row->start_at = d->start_at;
	row->end_at = d->end_at;
	row->deleted_at = d->deleted_at;
	row->subscription_id = dup_or_null(d->subscription_id);
	row->customer_id = dup_or_null(d->customer_id);
	row->coupon_id = dup_or_null(d->coupon_id);
	if ((d->subscription_id && !row->subscription_id) || !row->customer_id ||
	    !row->coupon_id) {
		billing__free(row->subscription_id);
		billing__free(row->customer_id);
		billing__free(row->coupon_id);
		return nomem();
	}
	r->discount_n++;
	return BILLING_OK;
}

static int coupon_products(coupon_row *c, const char *applies_to)
{
	cJSON *root, *e, *ids;
	int rc = BILLING_OK;

	if ((root = cJSON_Parse(applies_to ? applies_to : "{}")) == NULL)
		return corrupt("a coupon's appliesTo is not JSON");
	ids = cJSON_GetObjectItemCaseSensitive(root, "productIds");
	if (cJSON_IsArray(ids) && cJSON_GetArraySize(ids) > 0) {
		if ((c->products = billing__calloc((size_t)cJSON_GetArraySize(ids),
			sizeof(*c->products))) == NULL)
			rc = nomem();
		cJSON_ArrayForEach(e, ids) {
			if (rc < 0 || !cJSON_IsString(e))
				continue;
			if ((c->products[c->product_count] = billing__strdup(e->valuestring)) == NULL)
				rc = nomem();
			else
				c->product_count++;
		}
	}
	cJSON_Delete(root);
	return rc;
}

static int coupon_in(void *payload, const void *record)
{
	report *r = payload;
	const struct billing__coupon *c = record;
	coupon_row *row;
	int rc;

	if ((rc = grow((void **)&r->coupons, &r->coupon_cap, r->coupon_n, sizeof(*r->coupons))) < 0)
		return rc;
	row = &r->coupons[r->coupon_n];
	memset(row, 0, sizeof(*row));
	row->percent_off = c->percent_off;
	row->amount_off = c->amount_off;
	snprintf(row->currency, sizeof(row->currency), "%s", c->currency ? c->currency : "");
	row->duration = c->duration;
	if ((row->id = billing__strdup(c->id)) == NULL)
		return nomem();
	r->coupon_n++;            /* from here report_free releases it */
	return coupon_products(row, c->applies_to_json);
}

static int coupon_cmp(const void *a, const void *b)
{
	return strcmp(((const coupon_row *)a)->id, ((const coupon_row *)b)->id);
}

static const coupon_row *coupon_find(const report *r, const char *id)
{
	coupon_row key;
	memset(&key, 0, sizeof(key));
	key.id = (char *)id;
	if (!r->coupon_n)
		return NULL;
	return bsearch(&key, r->coupons, r->coupon_n, sizeof(*r->coupons), coupon_cmp);
}

/* The coupon of the discount at the level (subscription_id NULL: the
 * customer's) in effect at at, or NULL. A once coupon is no recurring
 * revenue: it never counts. */
static const coupon_row *level_coupon(const report *r, const char *customer_id,
	const char *subscription_id)
{
	size_t i;
	for (i = 0; i < r->discount_n; i++) {
		const discount_row *d = &r->discounts[i];
		const coupon_row *c;
		if (subscription_id ? !d->subscription_id ||
		    strcmp(d->subscription_id, subscription_id) != 0 :
		    d->subscription_id != NULL || strcmp(d->customer_id, customer_id) != 0)
			continue;
		c = coupon_find(r, d->coupon_id);
		if (c && c->duration != BILLING__COUPON_ONCE)
			return c;
	}
	return NULL;
}

/* ------------------------------------------------------------ arithmetic */

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a < 0 ? -a : a;
}

static int overflow(void)
{
	return billing__error_set(BILLING_EOVERFLOW, "overflow", "the MRR does not fit an amount");
}

/* *num / *den += n / d (den, d > 0), kept in lowest terms. */
static int frac_add(int64_t *num, int64_t *den, int64_t n, int64_t d)
{
	int64_t g = gcd64(*den, d), l, a, b;
	if (__builtin_mul_overflow(*den / g, d, &l) ||
	    __builtin_mul_overflow(*num, l / *den, &a) ||
	    __builtin_mul_overflow(n, l / d, &b) || __builtin_add_overflow(a, b, num))
		return overflow();
	*den = l;
	g = gcd64(*num, *den);
	if (g > 1) {
		*num /= g;
		*den /= g;
	}
	return BILLING_OK;
}

/* n / d rounded half away from zero (d > 0). */
static int64_t round_half_away(int64_t n, int64_t d)
{
	int64_t q = n / d, rem = n % d;
	if (rem < 0)
		rem = -rem;
	if (rem >= d - rem)
		q += n < 0 ? -1 : 1;
	return q;
}

/* An item's month share of amount a: a x k / (12 x count). */
static int month_share(int64_t *n, int64_t *d, int64_t a, int interval, int32_t count)
{
	int64_t k;
	switch (interval) {
	case BILLING_DAY: k = 365; break;
	case BILLING_WEEK: k = 52; break;
	case BILLING_MONTH: k = 12; break;
	case BILLING_YEAR: k = 1; break;
	default: return corrupt("a plan has no interval");
	}
	if (__builtin_mul_overflow(a, k, n))
		return overflow();
	*d = 12 * (int64_t)count;
	return BILLING_OK;
}

/* ------------------------------------------------------------ subscriptions */

#define ITEMS_MAX 64

typedef struct {
	const plan_row *plan;
	int64_t quantity;
} item;

/* The items of a subscription's JSON: items[], or (events written before
 * subscription items) planId and quantity. */
static int items_of(item *it, size_t *n, report *r, const cJSON *sub)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(sub, "items"), *e;
	int64_t q;

	*n = 0;
	if (cJSON_IsArray(items) && cJSON_GetArraySize(items) > 0) {
		cJSON_ArrayForEach(e, items) {
			const cJSON *pid = cJSON_GetObjectItemCaseSensitive(e, "planId");
			if (*n == ITEMS_MAX || !cJSON_IsString(pid))
				return corrupt("a subscription event's items are malformed");
			/* A metered item has no quantity. */
			if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(e, "quantity"), &q) !=
			    BILLING__JX_INT_OK)
				q = 0;
			it[*n].plan = plan_find(r, pid->valuestring);
			it[*n].quantity = q;
			(*n)++;
		}
		return BILLING_OK;
	}
	{
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(sub, "planId");
		if (!cJSON_IsString(pid) || billing__jx_int(cJSON_GetObjectItemCaseSensitive(sub,
			"quantity"), &q) != BILLING__JX_INT_OK)
			return corrupt("a subscription event has no plan");
		it[0].plan = plan_find(r, pid->valuestring);
		it[0].quantity = q;
		*n = 1;
	}
	return BILLING_OK;
}

static int customer_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int count_customer(report *r, const char *customer_id)
{
	int rc;
	if ((rc = grow((void **)&r->customers, &r->customer_cap, r->customer_n,
		sizeof(*r->customers))) < 0)
		return rc;
	if ((r->customers[r->customer_n] = billing__strdup(customer_id)) == NULL)
		return nomem();
	r->customer_n++;
	return BILLING_OK;
}

/* One subscription's MRR from its state at at (the JSON root). */
static int subscription_mrr(int64_t *mrr, report *r, const char *sub_id, const cJSON *root)
{
	item it[ITEMS_MAX];
	int64_t amounts[ITEMS_MAX], off[ITEMS_MAX], num = 0, den = 1;
	billing__discount_line lines[ITEMS_MAX];
	const char *customer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root,
		"customerId"));
	const coupon_row *c;
	size_t n, i;
	int rc;

	*mrr = 0;
	if (!customer)
		return corrupt("a subscription event has no customer");
	if ((rc = items_of(it, &n, r, root)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		billing__price_result pr;
		if (!it[i].plan || !it[i].plan->known_at)
			return corrupt("a subscription names a plan with no history");
		amounts[i] = 0;
		if (!it[i].plan->metered) {
			if ((rc = billing__price_apply(&pr, &it[i].plan->model, it[i].quantity)) < 0)
				return rc;
			amounts[i] = pr.amount;
		}
		lines[i].amount = amounts[i];
		lines[i].product_id = it[i].plan->product_id;
		off[i] = 0;
	}
	c = level_coupon(r, customer, sub_id);
	if (!c)
		c = level_coupon(r, customer, NULL);
	if (c) {
		billing__discount_terms t;
		memset(&t, 0, sizeof(t));
		t.percent_off = c->percent_off;
		t.amount_off = c->amount_off;
		t.currency = c->currency;
		t.product_ids = (const char *const *)c->products;
		t.product_count = c->product_count;
		if ((rc = billing__discount_apply(off, lines, n, r->currency, &t)) < 0)
			return rc;
	}
	for (i = 0; i < n; i++) {
		int64_t sn, sd;
		if (it[i].plan->metered)
			continue;
		if ((rc = month_share(&sn, &sd, amounts[i] - off[i], it[i].plan->interval,
			it[i].plan->interval_count)) < 0 || (rc = frac_add(&num, &den, sn, sd)) < 0)
			return rc;
	}
	*mrr = round_half_away(num, den);
	return count_customer(r, customer);
}

static int subscription_state_in(void *payload, const void *record)
{
	report *r = payload;
	const billing_event_state_record *e = record;
	const char *status, *currency;
	cJSON *root;
	int64_t mrr = 0;
	int rc = BILLING_OK;

	if (!e->data || (root = billing__jx_parse(e->data, strlen(e->data), NULL)) == NULL)
		return corrupt("a subscription event's data is not JSON");
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
	currency = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "currency"));
	if (status && currency && strcmp(currency, r->currency) == 0 &&
	    (strcmp(status, "active") == 0 || strcmp(status, "past_due") == 0)) {
		if ((rc = subscription_mrr(&mrr, r, e->resource_id, root)) == BILLING_OK) {
			if (__builtin_add_overflow(r->mrr, mrr, &r->mrr))
				rc = overflow();
			r->subscriptions++;
		}
	}
	cJSON_Delete(root);
	return rc;
}

/* Every row of res in the tenant, soft-deleted ones too. */
static int read_all(billing_ctx *ctx, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, billing_row_cb cb, void *payload)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	q.limit = UINT_MAX;
	q.with_deleted = 1;
	return billing__list_records(ctx->st, tx, res, tenant_id, &q, cb, payload);
}

static int mrr_read(report *r, billing_ctx *ctx, billing_txn *tx, const char *tenant_id)
{
	size_t i, distinct = 0;
	int rc;

	if ((rc = read_all(ctx, tx, &billing__res_plan, tenant_id, plan_in, r)) < 0)
		return rc;
	/* (qsort and bsearch take no NULL array, even of no element) */
	if (r->plan_n)
		qsort(r->plans, r->plan_n, sizeof(*r->plans), plan_cmp);
	if ((rc = ctx->st->events_latest(tx, tenant_id, "plan", r->at, plan_state_in, r)) < 0 ||
	    (rc = read_all(ctx, tx, &billing__res_coupon, tenant_id, coupon_in, r)) < 0 ||
	    (rc = read_all(ctx, tx, &billing__res_discount, tenant_id, discount_in, r)) < 0)
		return rc;
	if (r->coupon_n)
		qsort(r->coupons, r->coupon_n, sizeof(*r->coupons), coupon_cmp);
	if ((rc = ctx->st->events_latest(tx, tenant_id, "subscription", r->at,
		subscription_state_in, r)) < 0)
		return rc;
	if (r->customer_n)
		qsort(r->customers, r->customer_n, sizeof(*r->customers), customer_cmp);
	for (i = 0; i < r->customer_n; i++)
		if (i == 0 || strcmp(r->customers[i], r->customers[i - 1]) != 0)
			distinct++;
	return (int)distinct;
}

int billing_report_mrr(billing_mrr *out, billing_ctx *ctx, const billing_principal *who,
	const char *currency, int64_t at)
{
	const char *code;
	int64_t now;
	billing_txn *tx;
	report r;
	int rc, distinct;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_REPORTS_MRR)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	memset(out, 0, sizeof(*out));
	if (!currency || (code = billing__currency_code(currency)) == NULL)
		return billing__error_field(BILLING_EINVALID, "invalid", "currency",
			"must be an ISO 4217 currency code");
	now = billing__now(ctx);
	if (at == 0)
		at = now;
	if (at < 0 || at > now)
		return billing__error_field(BILLING_EINVALID, "invalid", "at",
			"must be a time not after now");
	if (ctx->st->version < 14 || !ctx->st->events_latest)
		return billing__error_set(BILLING_EINVALID, "not_supported",
			"this storage keeps no history for reports (storage version 14)");
	out->at = at;
	snprintf(out->currency, sizeof(out->currency), "%s", code);

	memset(&r, 0, sizeof(r));
	r.at = at;
	r.currency = code;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_SNAPSHOT)) < 0)
		return rc;
	distinct = mrr_read(&r, ctx, tx, who->tenant_id);
	rc = billing__end(ctx, tx, distinct);
	if (rc >= 0) {
		out->mrr = r.mrr;
		out->subscriptions = r.subscriptions;
		out->customers = distinct;
		if (__builtin_mul_overflow(r.mrr, 12, &out->arr))
			rc = overflow();
		else
			rc = BILLING_OK;
	}
	report_free(&r);
	return rc;
}
