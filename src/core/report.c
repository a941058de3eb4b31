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
#include "core/calendar.h"
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
	char *id;
	int64_t mrr;
} cust_mrr;

typedef struct {
	plan_row *plans;
	size_t plan_n, plan_cap;
	discount_row *discounts;
	size_t discount_n, discount_cap;
	coupon_row *coupons;
	size_t coupon_n, coupon_cap;
	cust_mrr *customers;         /* of the subscriptions counted, with their MRR */
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
		billing__free(r->customers[i].id);
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

	if ((rc = billing__grow((void **)&r->plans, &r->plan_cap, r->plan_n + 1,
		sizeof(*r->plans))) < 0)
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

	/* Only what could be in effect at at; a draft invoice's own discount
	 * is no subscription's. */
	if (d->invoice_id || d->start_at > r->at || (d->deleted_at && d->deleted_at <= r->at) ||
	    (d->end_at && d->end_at <= r->at))
		return BILLING_OK;
	if ((rc = billing__grow((void **)&r->discounts, &r->discount_cap, r->discount_n + 1,
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

	if ((rc = billing__grow((void **)&r->coupons, &r->coupon_cap, r->coupon_n + 1,
		sizeof(*r->coupons))) < 0)
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
	/* d > 0 at every call: 12 x count or their lcm, or a count checked
	 * against 0 first; the analyzer loses that through frac_add's gcd. */
	/* NOLINTNEXTLINE(clang-analyzer-core.DivideZero) */
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
	return strcmp(((const cust_mrr *)a)->id, ((const cust_mrr *)b)->id);
}

static int count_customer(report *r, const char *customer_id, int64_t mrr)
{
	int rc;
	if ((rc = billing__grow((void **)&r->customers, &r->customer_cap, r->customer_n + 1,
		sizeof(*r->customers))) < 0)
		return rc;
	if ((r->customers[r->customer_n].id = billing__strdup(customer_id)) == NULL)
		return nomem();
	r->customers[r->customer_n].mrr = mrr;
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
	return count_customer(r, customer, *mrr);
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

/* Sorts r->customers by id and keeps each customer once, with the sum of
 * its subscriptions' MRR (the movements and churn compare two such lists).
 * A subscription's MRR is never negative (a discount takes at most the
 * amount), so a customer's sum is part of r->mrr, already checked for
 * overflow. Returns the number of customers. */
static size_t customers_merge(report *r)
{
	size_t i, distinct = 0;
	if (r->customer_n)
		qsort(r->customers, r->customer_n, sizeof(*r->customers), customer_cmp);
	for (i = 0; i < r->customer_n; i++) {
		if (distinct && strcmp(r->customers[i].id, r->customers[distinct - 1].id) == 0) {
			r->customers[distinct - 1].mrr += r->customers[i].mrr;
			billing__free(r->customers[i].id);
			continue;
		}
		r->customers[distinct++] = r->customers[i];
	}
	r->customer_n = distinct;
	return distinct;
}

static int mrr_read(report *r, billing_ctx *ctx, billing_txn *tx, const char *tenant_id)
{
	int rc;

	if ((rc = billing__list_all_with_deleted(ctx->st, tx, &billing__res_plan, tenant_id,
		plan_in, r)) < 0)
		return rc;
	/* (qsort and bsearch take no NULL array, even of no element) */
	if (r->plan_n)
		qsort(r->plans, r->plan_n, sizeof(*r->plans), plan_cmp);
	if ((rc = ctx->st->events_latest(tx, tenant_id, "plan", r->at, plan_state_in, r)) < 0 ||
	    (rc = billing__list_all_with_deleted(ctx->st, tx, &billing__res_coupon, tenant_id,
		coupon_in, r)) < 0 ||
	    (rc = billing__list_all_with_deleted(ctx->st, tx, &billing__res_discount, tenant_id,
		discount_in, r)) < 0)
		return rc;
	if (r->coupon_n)
		qsort(r->coupons, r->coupon_n, sizeof(*r->coupons), coupon_cmp);
	if ((rc = ctx->st->events_latest(tx, tenant_id, "subscription", r->at,
		subscription_state_in, r)) < 0)
		return rc;
	return (int)customers_merge(r);
}

/* ------------------------------------------------------------ movements */

/* Checks and starts a report: the role, out, the currency, the storage. */
static int report_begin(billing_ctx *ctx, const billing_principal *who, billing__op op,
	void *out, size_t size, const char *currency, const char **code)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, op)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	memset(out, 0, size);
	if (!currency || (*code = billing__currency_code(currency)) == NULL)
		return billing__error_field(BILLING_EINVALID, "invalid", "currency",
			"must be an ISO 4217 currency code");
	return BILLING_OK;
}

static int history_supported(const billing_ctx *ctx)
{
	if (ctx->st->version < 14 || !ctx->st->events_latest)
		return billing__error_set(BILLING_EINVALID, "not_supported",
			"this storage keeps no history for reports (storage version 14)");
	return BILLING_OK;
}

/* The time a report at one moment is of: 0 is now, after now is refused;
 * the storage must keep history. */
static int report_at(billing_ctx *ctx, int64_t *at)
{
	int64_t now = billing__now(ctx);

	if (*at == 0)
		*at = now;
	if (*at < 0 || *at > now)
		return billing__error_field(BILLING_EINVALID, "invalid", "at",
			"must be a time not after now");
	return history_supported(ctx);
}

/* Reads r (zeroed first; the caller frees it with report_free, also on a
 * failure): the tenant's MRR in currency (a code) at at, in one snapshot.
 * Returns the number of customers counted, or the failure. */
static int mrr_snapshot(report *r, billing_ctx *ctx, const char *tenant_id,
	const char *currency, int64_t at)
{
	billing_txn *tx;
	int rc, distinct;

	memset(r, 0, sizeof(*r));
	r->at = at;
	r->currency = currency;
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_SNAPSHOT)) < 0)
		return rc;
	distinct = mrr_read(r, ctx, tx, tenant_id);
	/* (billing__end returns BILLING_OK once committed, not the count) */
	rc = billing__end(ctx, tx, distinct);
	return rc < 0 ? rc : distinct;
}

int billing_report_mrr(billing_mrr *out, billing_ctx *ctx, const billing_principal *who,
	const char *currency, int64_t at)
{
	const char *code = NULL;
	report r;
	int rc, distinct;

	if ((rc = report_begin(ctx, who, BILLING_OP_REPORTS_MRR, out, sizeof(*out), currency,
		&code)) < 0)
		return rc;
	if ((rc = report_at(ctx, &at)) < 0)
		return rc;
	out->at = at;
	snprintf(out->currency, sizeof(out->currency), "%s", code);

	rc = distinct = mrr_snapshot(&r, ctx, who->tenant_id, code, at);
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

/* Each customer's MRR at at (only customers with a subscription counted;
 * sorted by id) into *list, which the caller frees with cust_free. */
static int customers_at(cust_mrr **list, size_t *n, int64_t *total, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *currency, int64_t at)
{
	report r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.at = at;
	r.currency = currency;
	rc = mrr_read(&r, ctx, tx, tenant_id);
	if (rc >= 0) {
		*list = r.customers;
		*n = r.customer_n;
		*total = r.mrr;
		r.customers = NULL;
		r.customer_n = 0;
		rc = BILLING_OK;
	}
	report_free(&r);
	return rc;
}

static void cust_free(cust_mrr *list, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		billing__free(list[i].id);
	billing__free(list);
}

/* When each customer was first in MRR: the time of its earliest
 * subscription event (before the range's end) that shows a subscription
 * active or past_due in the currency. One list of the tenant's
 * subscription events, in time order. */
typedef struct {
	const char *currency;
	cust_mrr *v;                 /* mrr: the time */
	size_t n, cap;
} firsts;

static int first_in(void *payload, const void *record)
{
	firsts *fs = payload;
	const billing_event_record *e = record;
	const char *status, *currency, *customer;
	cJSON *root;
	int rc = BILLING_OK;

	if (!e->data_json || (root = billing__jx_parse(e->data_json, strlen(e->data_json),
		NULL)) == NULL)
		return corrupt("a subscription event's data is not JSON");
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
	currency = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "currency"));
	customer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "customerId"));
	if (status && currency && customer && strcmp(currency, fs->currency) == 0 &&
	    (strcmp(status, "active") == 0 || strcmp(status, "past_due") == 0) &&
	    (rc = billing__grow((void **)&fs->v, &fs->cap, fs->n + 1,
		sizeof(*fs->v))) == BILLING_OK) {
		if ((fs->v[fs->n].id = billing__strdup(customer)) == NULL)
			rc = nomem();
		else
			fs->v[fs->n++].mrr = e->created_at;
	}
	cJSON_Delete(root);
	return rc;
}

static const billing_field *event_field(const char *column)
{
	size_t i;
	for (i = 0; i < billing__res_event.field_count; i++)
		if (strcmp(billing__res_event.fields[i].column, column) == 0)
			return &billing__res_event.fields[i];
	return NULL;
}

/* Reads fs (sorted by customer, each customer once with its earliest
 * time). The events come in time order, so a customer's first is first. */
static int firsts_read(firsts *fs, billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	int64_t before)
{
	billing_list_query q;
	billing_filter f[2];
	size_t i, k = 0;
	int rc;

	memset(&q, 0, sizeof(q));
	memset(f, 0, sizeof(f));
	f[0].field = event_field("resource_type");
	f[0].op = BILLING_FILTER_EQ;
	f[0].text = "subscription";
	f[1].field = event_field("created_at");
	f[1].op = BILLING_FILTER_LT;
	f[1].num = before;
	q.filters = f;
	q.filter_count = 2;
	q.limit = UINT_MAX;
	if ((rc = billing__list_records(ctx->st, tx, &billing__res_event, tenant_id, &q, first_in,
		fs)) < 0)
		return rc;
	if (fs->n)
		qsort(fs->v, fs->n, sizeof(*fs->v), customer_cmp);
	/* qsort is not stable: keep the least time of each customer. */
	for (i = 0; i < fs->n; i++) {
		if (k && strcmp(fs->v[i].id, fs->v[k - 1].id) == 0) {
			if (fs->v[i].mrr < fs->v[k - 1].mrr)
				fs->v[k - 1].mrr = fs->v[i].mrr;
			billing__free(fs->v[i].id);
			continue;
		}
		fs->v[k++] = fs->v[i];
	}
	fs->n = k;
	return BILLING_OK;
}

/* Whether the customer was in MRR before t. */
static int in_mrr_before(const firsts *fs, const char *customer, int64_t t)
{
	cust_mrr key, *hit;
	key.id = (char *)customer;
	key.mrr = 0;
	hit = fs->n ? bsearch(&key, fs->v, fs->n, sizeof(*fs->v), customer_cmp) : NULL;
	return hit && hit->mrr < t;
}

/* One customer's move from a (start) to b (end) into the month. */
static void move(billing_mrr_month *m, const firsts *fs, const char *customer, int64_t a,
	int64_t b)
{
	if (a == b)
		return;
	if (a == 0 && in_mrr_before(fs, customer, m->start)) {
		m->reactivated += b;
		m->reactivated_customers++;
	} else if (a == 0) {
		m->new_mrr += b;
		m->new_customers++;
	} else if (b == 0) {
		m->churned -= a;
		m->churned_customers++;
	} else if (b > a) {
		m->expansion += b - a;
		m->expansion_customers++;
	} else {
		m->contraction -= a - b;
		m->contraction_customers++;
	}
}

static int64_t paying(const cust_mrr *v, size_t n)
{
	size_t i;
	int64_t k = 0;
	for (i = 0; i < n; i++)
		k += v[i].mrr > 0;
	return k;
}

/* The month m from the customers at its start (a) and end (b), both sorted
 * by id. Every amount is a part of an MRR already checked for overflow. */
static void month_of(billing_mrr_month *m, const firsts *fs, const cust_mrr *a, size_t an,
	const cust_mrr *b, size_t bn)
{
	size_t i = 0, j = 0;
	while (i < an || j < bn) {
		int c = i == an ? 1 : j == bn ? -1 : strcmp(a[i].id, b[j].id);
		if (c < 0) {
			move(m, fs, a[i].id, a[i].mrr, 0);
			i++;
		} else if (c > 0) {
			move(m, fs, b[j].id, 0, b[j].mrr);
			j++;
		} else {
			move(m, fs, a[i].id, a[i].mrr, b[j].mrr);
			i++;
			j++;
		}
	}
	m->start_customers = paying(a, an);
	m->end_customers = paying(b, bn);
}

/* The months of [from, to): checks the range; *count months. */
static int month_range(size_t *count, int64_t from, int64_t to, int64_t now)
{
	int64_t t;
	size_t n = 0;

	if (from < 0 || from > now || billing__month_floor(from) != from)
		return billing__error_field(BILLING_EINVALID, "invalid", "from",
			"must be the first second of a month (UTC), not after now");
	if (to <= from || to > BILLING_TIME_MAX || billing__month_floor(to) != to ||
	    to > billing__month_floor(billing__month_floor(now) + 31 * 86400))
		return billing__error_field(BILLING_EINVALID, "invalid", "to",
			"must be the first second of a month (UTC) after from, at most the "
			"next month's");
	for (t = from; t < to; t = billing__month_floor(t + 31 * 86400))
		if (++n > BILLING_REPORT_MONTHS_MAX)
			return billing__error_field(BILLING_EINVALID, "invalid", "to",
				"a report covers at most %d months", BILLING_REPORT_MONTHS_MAX);
	*count = n;
	return BILLING_OK;
}

/* Opens a report of the months of [from, to) (MRR movements, revenue), after
 * report_begin: checks the range and the storage's history, sets the
 * report's currency (a code), from, to and month_count (the fields of out,
 * by pointer), and begins *tx, a snapshot for the caller to end. *now: the
 * time the range was checked against. */
static int months_open(billing_txn **tx, int64_t *now, billing_ctx *ctx, const char *tenant_id,
	const char *code, int64_t from, int64_t to, char currency[4], int64_t *out_from,
	int64_t *out_to, size_t *month_count)
{
	size_t count = 0;
	int rc;

	*now = billing__now(ctx);
	if ((rc = month_range(&count, from, to, *now)) < 0 || (rc = history_supported(ctx)) < 0)
		return rc;
	snprintf(currency, 4, "%s", code);
	*out_from = from;
	*out_to = to;
	*month_count = count;
	return billing__begin(tx, ctx, tenant_id, BILLING_TXN_SNAPSHOT);
}

static int movements_read(billing_mrr_movements *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, int64_t now)
{
	firsts fs;
	cust_mrr *a = NULL, *b = NULL;
	size_t an = 0, bn = 0, i;
	int64_t start_mrr = 0, end_mrr = 0;
	int rc;

	memset(&fs, 0, sizeof(fs));
	fs.currency = out->currency;
	rc = firsts_read(&fs, ctx, tx, tenant_id, out->to);
	if (rc == BILLING_OK)
		rc = customers_at(&a, &an, &start_mrr, ctx, tx, tenant_id, out->currency, out->from);
	for (i = 0; rc == BILLING_OK && i < out->month_count; i++) {
		billing_mrr_month *m = &out->months[i];
		m->start = i ? out->months[i - 1].end : out->from;
		m->end = billing__month_floor(m->start + 31 * 86400);
		if (m->end > now)
			m->end = now;
		if ((rc = customers_at(&b, &bn, &end_mrr, ctx, tx, tenant_id, out->currency,
			m->end)) < 0)
			break;
		m->start_mrr = start_mrr;
		m->end_mrr = end_mrr;
		month_of(m, &fs, a, an, b, bn);
		cust_free(a, an);
		a = b;
		an = bn;
		b = NULL;
		bn = 0;
		start_mrr = end_mrr;
	}
	cust_free(a, an);
	cust_free(fs.v, fs.n);
	return rc;
}

int billing_report_mrr_movements(billing_mrr_movements *out, billing_ctx *ctx,
	const billing_principal *who, const char *currency, int64_t from, int64_t to)
{
	const char *code = NULL;
	billing_txn *tx;
	int64_t now;
	int rc;

	if ((rc = report_begin(ctx, who, BILLING_OP_REPORTS_MRR_MOVEMENTS, out, sizeof(*out),
		currency, &code)) < 0 ||
	    (rc = months_open(&tx, &now, ctx, who->tenant_id, code, from, to, out->currency,
		&out->from, &out->to, &out->month_count)) < 0)
		return rc;
	rc = movements_read(out, ctx, tx, who->tenant_id, now);
	return billing__end(ctx, tx, rc);
}

/* ------------------------------------------------------------ receivables */

/* An invoice's state (an event's data, parsed): whether it is a
 * receivable in currency (finalized and not settled: pending or failed),
 * with its amount due and due time (send_invoice: its dueDate;
 * charge_automatically: due when finalized). Returns 1 (open), 0 (not open,
 * or another currency) or the failure. Receivables ageing and the revenue's
 * outstanding read invoices through this one definition. */
static int invoice_open(int64_t *amount, int64_t *due, const cJSON *root,
	const char *currency)
{
	const char *status, *cur, *due_text;

	*amount = 0;
	*due = 0;
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
	cur = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "currency"));
	if (!status || !cur || strcmp(cur, currency) != 0 ||
	    (strcmp(status, "pending") != 0 && strcmp(status, "failed") != 0))
		return 0;
	due_text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "dueDate"));
	if (!due_text)
		due_text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root,
			"finalizedAt"));
	if (!due_text || billing__time_parse(due, due_text) < 0 ||
	    billing__jx_int(cJSON_GetObjectItemCaseSensitive(root, "amountDue"), amount) !=
	    BILLING__JX_INT_OK || *amount < 0)
		return corrupt("an open invoice's event has no due time or amount due");
	return 1;
}

static int receivables_overflow(void)
{
	return billing__error_set(BILLING_EOVERFLOW, "overflow",
		"the receivables do not fit an amount");
}

/* One invoice's state at at: its amount due into its bucket. */
static int aging_in(void *payload, const void *record)
{
	billing_receivables_aging *a = payload;
	const billing_event_state_record *e = record;
	int64_t due, amount, days, *bucket;
	cJSON *root;
	int rc;

	if (!e->data || (root = billing__jx_parse(e->data, strlen(e->data), NULL)) == NULL)
		return corrupt("an invoice event's data is not JSON");
	rc = invoice_open(&amount, &due, root, a->currency);
	cJSON_Delete(root);
	if (rc <= 0)
		return rc;
	days = a->at >= due ? (a->at - due) / 86400 : -1;
	bucket = days < 1 ? &a->current : days <= 30 ? &a->days_1_30 :
		days <= 60 ? &a->days_31_60 : days <= 90 ? &a->days_61_90 : &a->days_over_90;
	if (__builtin_add_overflow(*bucket, amount, bucket) ||
	    __builtin_add_overflow(a->total, amount, &a->total))
		return receivables_overflow();
	a->invoices++;
	a->invoices_past_due += days >= 1;
	return BILLING_OK;
}

int billing_report_receivables_aging(billing_receivables_aging *out, billing_ctx *ctx,
	const billing_principal *who, const char *currency, int64_t at)
{
	const char *code = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = report_begin(ctx, who, BILLING_OP_REPORTS_RECEIVABLES_AGING, out, sizeof(*out),
		currency, &code)) < 0)
		return rc;
	if ((rc = report_at(ctx, &at)) < 0)
		return rc;
	out->at = at;
	snprintf(out->currency, sizeof(out->currency), "%s", code);
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_SNAPSHOT)) < 0)
		return rc;
	rc = ctx->st->events_latest(tx, who->tenant_id, "invoice", at, aging_in, out);
	rc = billing__end(ctx, tx, rc);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	return BILLING_OK;
}

/* ------------------------------------------------------------ churn */

/* A subscription's state at r->at: when active or past_due, in any
 * currency, its customer is there (the mrr field unused). */
static int active_in(void *payload, const void *record)
{
	report *r = payload;
	const billing_event_state_record *e = record;
	const char *status, *customer;
	cJSON *root;
	int rc = BILLING_OK;

	if (!e->data || (root = billing__jx_parse(e->data, strlen(e->data), NULL)) == NULL)
		return corrupt("a subscription event's data is not JSON");
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
	customer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "customerId"));
	if (status && customer &&
	    (strcmp(status, "active") == 0 || strcmp(status, "past_due") == 0))
		rc = count_customer(r, customer, 0);
	cJSON_Delete(root);
	return rc;
}

/* The customers there at at, in any currency, sorted by id, each once,
 * into *list (the caller frees it with cust_free). */
static int active_at(cust_mrr **list, size_t *n, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, int64_t at)
{
	report r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.at = at;
	rc = ctx->st->events_latest(tx, tenant_id, "subscription", at, active_in, &r);
	if (rc >= 0) {
		*n = customers_merge(&r);
		*list = r.customers;
		r.customers = NULL;
		r.customer_n = 0;
		rc = BILLING_OK;
	}
	report_free(&r);
	return rc;
}

/* How many of a are not in b (both sorted by id). */
static int64_t gone(const cust_mrr *a, size_t an, const cust_mrr *b, size_t bn)
{
	size_t i = 0, j = 0;
	int64_t k = 0;
	while (i < an) {
		int c = j == bn ? -1 : strcmp(a[i].id, b[j].id);
		if (c > 0) {
			j++;
			continue;
		}
		k += c < 0;
		j += c == 0;
		i++;
	}
	return k;
}

/* The revenue movements from a (MRR at from) to b (at to), both sorted by
 * id, of the customers whose MRR was above 0 at from. Every amount is a
 * part of an MRR already checked for overflow. */
static void revenue_of(billing_churn *out, const cust_mrr *a, size_t an, const cust_mrr *b,
	size_t bn)
{
	size_t i = 0, j = 0;
	while (i < an) {
		int c = j == bn ? -1 : strcmp(a[i].id, b[j].id);
		int64_t start = a[i].mrr, end = 0;
		if (c > 0) {
			j++;
			continue;
		}
		if (c == 0)
			end = b[j++].mrr;
		i++;
		if (start == 0)
			continue;       /* not in the revenue cohort: its rise is not churn's */
		if (end == 0)
			out->churned_mrr -= start;
		else if (end < start)
			out->contraction_mrr -= start - end;
		else
			out->expansion_mrr += end - start;
	}
}

/* n / base in hundredths of a percent, rounded half away from zero; 0 when
 * base is 0. */
static int rate_bp(int64_t *bp, int64_t n, int64_t base)
{
	int64_t x;
	*bp = 0;
	if (base == 0)
		return BILLING_OK;
	if (__builtin_mul_overflow(n, 10000, &x))
		return overflow();
	*bp = round_half_away(x, base);
	return BILLING_OK;
}

static int churn_read(billing_churn *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	cust_mrr *a = NULL, *b = NULL;
	size_t an = 0, bn = 0;
	int64_t end_mrr = 0;
	int rc;

	rc = active_at(&a, &an, ctx, tx, tenant_id, out->from);
	if (rc == BILLING_OK)
		rc = active_at(&b, &bn, ctx, tx, tenant_id, out->to);
	if (rc == BILLING_OK) {
		out->start_customers = (int64_t)an;
		out->churned_customers = gone(a, an, b, bn);
	}
	cust_free(a, an);
	cust_free(b, bn);
	a = b = NULL;
	an = bn = 0;
	if (rc == BILLING_OK)
		rc = customers_at(&a, &an, &out->start_mrr, ctx, tx, tenant_id, out->currency,
			out->from);
	if (rc == BILLING_OK)
		rc = customers_at(&b, &bn, &end_mrr, ctx, tx, tenant_id, out->currency, out->to);
	if (rc == BILLING_OK) {
		revenue_of(out, a, an, b, bn);
		if ((rc = rate_bp(&out->customer_churn_bp, out->churned_customers,
			out->start_customers)) == BILLING_OK &&
		    (rc = rate_bp(&out->gross_revenue_churn_bp, -(out->churned_mrr +
			out->contraction_mrr), out->start_mrr)) == BILLING_OK)
			rc = rate_bp(&out->net_revenue_churn_bp, -(out->churned_mrr +
				out->contraction_mrr + out->expansion_mrr), out->start_mrr);
	}
	cust_free(a, an);
	cust_free(b, bn);
	return rc;
}

/* A range [from, to) of a report over time: from not negative, to after
 * from and not after now. */
static int report_range(billing_ctx *ctx, int64_t from, int64_t to)
{
	if (from < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "from",
			"must be a time (UTC), not before 1970");
	if (to <= from || to > billing__now(ctx))
		return billing__error_field(BILLING_EINVALID, "invalid", "to",
			"must be a time after from and not after now");
	return BILLING_OK;
}

int billing_report_churn(billing_churn *out, billing_ctx *ctx, const billing_principal *who,
	const char *currency, int64_t from, int64_t to)
{
	const char *code = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = report_begin(ctx, who, BILLING_OP_REPORTS_CHURN, out, sizeof(*out), currency,
		&code)) < 0)
		return rc;
	if ((rc = report_range(ctx, from, to)) < 0 || (rc = history_supported(ctx)) < 0)
		return rc;
	snprintf(out->currency, sizeof(out->currency), "%s", code);
	out->from = from;
	out->to = to;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_SNAPSHOT)) < 0)
		return rc;
	rc = churn_read(out, ctx, tx, who->tenant_id);
	return billing__end(ctx, tx, rc);
}

/* ------------------------------------------------------------ ARPA */

int billing_report_arpa(billing_arpa *out, billing_ctx *ctx, const billing_principal *who,
	const char *currency, int64_t at)
{
	const char *code = NULL;
	report r;
	int rc;

	if ((rc = report_begin(ctx, who, BILLING_OP_REPORTS_ARPA, out, sizeof(*out), currency,
		&code)) < 0)
		return rc;
	if ((rc = report_at(ctx, &at)) < 0)
		return rc;
	out->at = at;
	snprintf(out->currency, sizeof(out->currency), "%s", code);

	rc = mrr_snapshot(&r, ctx, who->tenant_id, code, at);
	if (rc >= 0) {
		/* customers_merge summed each customer's subscriptions */
		out->mrr = r.mrr;
		out->paying_customers = paying(r.customers, r.customer_n);
		out->arpa = out->paying_customers ? round_half_away(r.mrr, out->paying_customers) :
			0;
		rc = BILLING_OK;
	}
	report_free(&r);
	return rc;
}

/* ------------------------------------------------------------ trial conversion */

/* A trial the billing run ended, by the invoice it issued then (an empty id
 * when the subscription named none), and whether that invoice was paid. */
typedef struct {
	char *invoice_id;
	bool paid;
} trial;

/* The trials that ended in a range (v, sorted by invoice id once read) and
 * how many subscriptions were canceled during their trial. */
typedef struct {
	trial *v;
	size_t n, cap;
	int64_t canceled;
} trials;

static int trial_cmp(const void *a, const void *b)
{
	return strcmp(((const trial *)a)->invoice_id, ((const trial *)b)->invoice_id);
}

static void trials_free(trials *t)
{
	size_t i;
	for (i = 0; i < t->n; i++)
		billing__free(t->v[i].invoice_id);
	billing__free(t->v);
}

/* Whether e is of type. */
static int event_is(const billing_event_record *e, const char *type)
{
	return strcmp(e->type, type) == 0;
}

/* A time field of a subscription's JSON, or 0 when it has none. */
static int64_t json_time(const cJSON *root, const char *name)
{
	const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, name));
	int64_t t = 0;
	if (!text || billing__time_parse(&t, text) < 0)
		return 0;
	return t;
}

/* A subscription.trial_ended event of the range: the subscription after
 * the trial's end, whose latestInvoiceId is the first charged invoice. */
static int trial_ended_in(void *payload, const void *record)
{
	trials *t = payload;
	const billing_event_record *e = record;
	const char *invoice;
	cJSON *root;
	int rc;

	if (!e->data_json || (root = billing__jx_parse(e->data_json, strlen(e->data_json),
		NULL)) == NULL)
		return corrupt("a subscription event's data is not JSON");
	if ((rc = billing__grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v))) == BILLING_OK) {
		/* No invoice named: none can have been paid (an empty id matches no
		 * invoice.paid). */
		invoice = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root,
			"latestInvoiceId"));
		if ((t->v[t->n].invoice_id = billing__strdup(invoice ? invoice : "")) == NULL)
			rc = nomem();
		else
			t->v[t->n++].paid = false;
	}
	cJSON_Delete(root);
	return rc;
}

/* A subscription.canceled event of the range: counted when it was during a
 * trial (trialEnd later than canceledAt: a cancellation after the trial, or
 * of a subscription that had none, is not). */
static int trial_canceled_in(void *payload, const void *record)
{
	trials *t = payload;
	const billing_event_record *e = record;
	cJSON *root;

	if (!e->data_json || (root = billing__jx_parse(e->data_json, strlen(e->data_json),
		NULL)) == NULL)
		return corrupt("a subscription event's data is not JSON");
	t->canceled += json_time(root, "trialEnd") > json_time(root, "canceledAt");
	cJSON_Delete(root);
	return BILLING_OK;
}

/* An invoice.paid event of the range: a trial's first invoice paid. */
static int trial_paid_in(void *payload, const void *record)
{
	trials *t = payload;
	const billing_event_record *e = record;
	trial key, *hit;

	key.invoice_id = (char *)e->resource_id;
	key.paid = false;
	if ((hit = bsearch(&key, t->v, t->n, sizeof(*t->v), trial_cmp)) != NULL)
		hit->paid = true;
	return BILLING_OK;
}

/* The tenant's events of [from, to) whose column (resource_type or type) is
 * value, in time order, to cb: one statement. */
static int events_between(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *column, const char *value, int64_t from, int64_t to, billing_row_cb cb,
	void *payload)
{
	billing_list_query q;
	billing_filter f[3];

	memset(&q, 0, sizeof(q));
	memset(f, 0, sizeof(f));
	f[0].field = event_field(column);
	f[0].op = BILLING_FILTER_EQ;
	f[0].text = value;
	f[1].field = event_field("created_at");
	f[1].op = BILLING_FILTER_GE;
	f[1].num = from;
	f[2].field = event_field("created_at");
	f[2].op = BILLING_FILTER_LT;
	f[2].num = to;
	q.filters = f;
	q.filter_count = 3;
	q.limit = UINT_MAX;
	return billing__list_records(ctx->st, tx, &billing__res_event, tenant_id, &q, cb, payload);
}

static int trials_read(billing_trial_conversion *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	trials t;
	size_t i;
	int rc;

	/* Only the two types read, each by its own statement (the list layer's
	 * set filters are of integer status fields, not of text). */
	memset(&t, 0, sizeof(t));
	rc = events_between(ctx, tx, tenant_id, "type", "subscription.trial_ended", out->from,
		out->to, trial_ended_in, &t);
	if (rc >= 0)
		rc = events_between(ctx, tx, tenant_id, "type", "subscription.canceled", out->from,
			out->to, trial_canceled_in, &t);
	/* The first invoices paid in the range (none can be paid before its
	 * trial's end, which is in it). */
	if (rc >= 0 && t.n) {
		qsort(t.v, t.n, sizeof(*t.v), trial_cmp);
		rc = events_between(ctx, tx, tenant_id, "type", "invoice.paid", out->from, out->to,
			trial_paid_in, &t);
	}
	if (rc >= 0) {
		for (i = 0; i < t.n; i++)
			out->converted += t.v[i].paid;
		out->canceled_during_trial = t.canceled;
		out->ended_unpaid = (int64_t)t.n - out->converted;
		out->trials_ended = (int64_t)t.n + t.canceled;
		rc = rate_bp(&out->conversion_bp, out->converted, out->trials_ended);
	}
	trials_free(&t);
	return rc;
}

int billing_report_trial_conversion(billing_trial_conversion *out, billing_ctx *ctx,
	const billing_principal *who, int64_t from, int64_t to)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_REPORTS_TRIAL_CONVERSION)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	memset(out, 0, sizeof(*out));
	if ((rc = report_range(ctx, from, to)) < 0)
		return rc;
	out->from = from;
	out->to = to;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_SNAPSHOT)) < 0)
		return rc;
	rc = trials_read(out, ctx, tx, who->tenant_id);
	return billing__end(ctx, tx, rc);
}

/* ------------------------------------------------------------ invoiced vs collected */

static int sum_overflow(void)
{
	return billing__error_set(BILLING_EOVERFLOW, "overflow",
		"the revenue does not fit an amount");
}

/* *to += v, checked. */
static int add_to(int64_t *to, int64_t v)
{
	if (__builtin_add_overflow(*to, v, to))
		return sum_overflow();
	return BILLING_OK;
}

/* The month of [from, to) that holds t (the current month holds now too,
 * its end), or NULL before the range. */
static billing_revenue_month *revenue_month(billing_revenue *out, int64_t t)
{
	size_t i = out->month_count;
	while (i > 0 && out->months[i - 1].start > t)
		i--;
	return i > 0 && t < out->to ? &out->months[i - 1] : NULL;
}

/* What the range's events last showed of each invoice or payment with an
 * event in the range, by id: an open-addressing table (linear probing, at
 * most half full; nothing is removed). a: an invoice's amount due while
 * open (0 when not), a payment's amount once succeeded; b: a payment's
 * refunded amount; first: the month of its first event in the range. */
typedef struct {
	char *id;
	int64_t a, b;
	size_t first;
} seen_slot;

typedef struct {
	seen_slot *v;
	size_t cap, n;
} seen_map;

static size_t id_hash(const char *s)
{
	uint64_t h = 14695981039346656037u;       /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return (size_t)h;
}

/* id's slot: its own, or the empty one where it would go (cap > 0). */
static seen_slot *seen_slot_of(const seen_map *m, const char *id)
{
	size_t i = id_hash(id) & (m->cap - 1);
	while (m->v[i].id && strcmp(m->v[i].id, id) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

static seen_slot *seen_find(const seen_map *m, const char *id)
{
	seen_slot *s;
	if (!m->cap)
		return NULL;
	s = seen_slot_of(m, id);
	return s->id ? s : NULL;
}

/* id's slot, added (a = b = 0, first = month) when new. */
static int seen_get(seen_slot **out, seen_map *m, const char *id, size_t month)
{
	seen_slot *s;

	if ((*out = seen_find(m, id)) != NULL)
		return BILLING_OK;
	if (2 * (m->n + 1) > m->cap) {
		seen_map g;
		size_t i;
		g.cap = m->cap ? m->cap * 2 : 256;
		g.n = m->n;
		if ((g.v = billing__calloc(g.cap, sizeof(*g.v))) == NULL)
			return nomem();
		for (i = 0; i < m->cap; i++)
			if (m->v[i].id)
				*seen_slot_of(&g, m->v[i].id) = m->v[i];
		billing__free(m->v);
		*m = g;
	}
	s = seen_slot_of(m, id);
	if ((s->id = billing__strdup(id)) == NULL)
		return nomem();
	s->a = s->b = 0;
	s->first = month;
	m->n++;
	*out = s;
	return BILLING_OK;
}

static void seen_free(seen_map *m)
{
	size_t i;
	for (i = 0; i < m->cap; i++)
		billing__free(m->v[i].id);
	billing__free(m->v);
}

/* A revenue report being read: the months (out), the invoices and payments
 * of the range's events, the receivables at from (base), and now (the
 * current month's outstanding is read at now). */
typedef struct {
	billing_revenue *out;
	seen_map invoices, payments;
	int64_t base;
	int64_t now;
} revenue_reading;

/* An invoice event of the range, in time order: finalized (its total in
 * the month), voided (its total back out), paid out of band (its amountPaid
 * paid); and, whatever the type, what it changed in the receivables (the
 * invoice's amount due while open, less what its previous event of the
 * range showed) into the month's outstanding. */
static int revenue_invoice_in(void *payload, const void *record)
{
	revenue_reading *rr = payload;
	billing_revenue *out = rr->out;
	const billing_event_record *e = record;
	int finalized = event_is(e, "invoice.finalized"), voided = event_is(e, "invoice.voided");
	int paid = event_is(e, "invoice.paid");
	billing_revenue_month *m;
	seen_slot *seen;
	const char *currency;
	int64_t v = 0, amount, due;
	cJSON *root;
	int rc = BILLING_OK;

	if ((m = revenue_month(out, e->created_at)) == NULL)
		return BILLING_OK;
	if (!e->data_json || (root = billing__jx_parse(e->data_json, strlen(e->data_json),
		NULL)) == NULL)
		return corrupt("an invoice event's data is not JSON");
	/* (an event after now, were the clock set back, is after the current
	 * month's end) */
	if (e->created_at <= rr->now) {
		if ((rc = invoice_open(&amount, &due, root, out->currency)) < 0 ||
		    (rc = seen_get(&seen, &rr->invoices, e->resource_id,
			(size_t)(m - out->months))) < 0 ||
		    (rc = add_to(&m->outstanding, amount - seen->a)) < 0)
			goto done;
		seen->a = amount;
	}
	currency = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "currency"));
	if ((!finalized && !voided && !paid) || !currency || strcmp(currency, out->currency) != 0)
		goto done;
	/* Paid by a payment: the payment's own events count it; out of band:
	 * the invoice's. */
	if (paid && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "paidOutOfBand")))
		goto done;
	if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(root, paid ? "amountPaid" : "total"),
		&v) != BILLING__JX_INT_OK) {
		rc = corrupt("an invoice event has no total or amount paid");
		goto done;
	}
	rc = paid ? add_to(&m->paid, v) : finalized ? add_to(&m->finalized, v) :
		v == INT64_MIN ? sum_overflow() : add_to(&m->voided, -v);
done:
	cJSON_Delete(root);
	return rc;
}

/* An invoice's latest event before from: when open, its amount due is in
 * the receivables at from; and an invoice with events in the range changed
 * them from that amount, not from 0 (its first event's month takes it
 * back). */
static int revenue_invoice_before_in(void *payload, const void *record)
{
	revenue_reading *rr = payload;
	const billing_event_state_record *e = record;
	const seen_slot *seen;
	int64_t amount, due;
	cJSON *root;
	int rc;

	if (!e->data || (root = billing__jx_parse(e->data, strlen(e->data), NULL)) == NULL)
		return corrupt("an invoice event's data is not JSON");
	rc = invoice_open(&amount, &due, root, rr->out->currency);
	cJSON_Delete(root);
	if (rc <= 0)
		return rc;
	if ((rc = add_to(&rr->base, amount)) < 0)
		return rc;
	if ((seen = seen_find(&rr->invoices, e->resource_id)) != NULL)
		return add_to(&rr->out->months[seen->first].outstanding, -amount);
	return BILLING_OK;
}

/* A payment as an event shows it (its data): what it has captured (its
 * amount once succeeded, partially refunded or refunded; else 0) and
 * refunded. Returns 1, or 0 for another currency, or the failure. */
static int payment_state(int64_t *paid, int64_t *refunded, const char *data,
	const char *currency)
{
	const char *status, *cur;
	int64_t amount = 0;
	cJSON *root;
	int rc = 0;

	*paid = *refunded = 0;
	if (!data || (root = billing__jx_parse(data, strlen(data), NULL)) == NULL)
		return corrupt("a payment event's data is not JSON");
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
	cur = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "currency"));
	if (!status || !cur || strcmp(cur, currency) != 0)
		goto done;
	if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(root, "amount"), &amount) !=
	    BILLING__JX_INT_OK || billing__jx_int(cJSON_GetObjectItemCaseSensitive(root,
	    "refundedAmount"), refunded) != BILLING__JX_INT_OK) {
		rc = corrupt("a payment event has no amount");
		goto done;
	}
	*paid = strcmp(status, "succeeded") == 0 || strcmp(status, "partially_refunded") == 0 ||
		strcmp(status, "refunded") == 0 ? amount : 0;
	rc = 1;
done:
	cJSON_Delete(root);
	return rc;
}

/* A payment event of the range, in time order: what it moved (its state
 * less the payment's previous one) into its month. A payment that failed
 * and later succeeded counts once, when it succeeded; a refund once, when
 * it succeeded. */
static int revenue_payment_in(void *payload, const void *record)
{
	revenue_reading *rr = payload;
	const billing_event_record *e = record;
	billing_revenue_month *m;
	seen_slot *seen;
	int64_t paid, refunded;
	int rc;

	if ((m = revenue_month(rr->out, e->created_at)) == NULL)
		return BILLING_OK;
	if ((rc = payment_state(&paid, &refunded, e->data_json, rr->out->currency)) <= 0)
		return rc;
	if ((rc = seen_get(&seen, &rr->payments, e->resource_id,
		(size_t)(m - rr->out->months))) < 0)
		return rc;
	/* Amounts of one payment: their differences fit. */
	if ((rc = add_to(&m->paid, paid - seen->a)) < 0 ||
	    (rc = add_to(&m->refunded, seen->b - refunded)) < 0)
		return rc;
	seen->a = paid;
	seen->b = refunded;
	return BILLING_OK;
}

/* A payment's latest event before from: one with events in the range moved
 * from that state, not from nothing (its first event's month takes it
 * back); the others moved nothing in the range. */
static int revenue_payment_before_in(void *payload, const void *record)
{
	revenue_reading *rr = payload;
	const billing_event_state_record *e = record;
	billing_revenue_month *m;
	const seen_slot *seen;
	int64_t paid, refunded;
	int rc;

	if ((seen = seen_find(&rr->payments, e->resource_id)) == NULL)
		return BILLING_OK;
	if ((rc = payment_state(&paid, &refunded, e->data, rr->out->currency)) <= 0)
		return rc;
	m = &rr->out->months[seen->first];
	if ((rc = add_to(&m->paid, -paid)) < 0)
		return rc;
	return add_to(&m->refunded, refunded);
}

static int revenue_read(billing_revenue *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, int64_t now)
{
	revenue_reading rr;
	int64_t outstanding;
	size_t i;
	int rc;

	memset(&rr, 0, sizeof(rr));
	rr.out = out;
	rr.now = now;
	for (i = 0; i < out->month_count; i++) {
		billing_revenue_month *m = &out->months[i];
		m->start = i ? out->months[i - 1].end : out->from;
		m->end = billing__month_floor(m->start + 31 * 86400);
		if (m->end > now)
			m->end = now;
	}
	/* The range's events first, each against what the range showed before
	 * of the same invoice or payment; then each one's latest event before
	 * from, which corrects the first change of those with events in the
	 * range and gives the receivables at from. Four statements, one
	 * snapshot of invoices and one of payments, however many months. */
	rc = events_between(ctx, tx, tenant_id, "resource_type", "invoice", out->from, out->to,
		revenue_invoice_in, &rr);
	if (rc >= 0 && out->from > 0)
		rc = ctx->st->events_latest(tx, tenant_id, "invoice", out->from - 1,
			revenue_invoice_before_in, &rr);
	if (rc >= 0)
		rc = events_between(ctx, tx, tenant_id, "resource_type", "payment", out->from,
			out->to, revenue_payment_in, &rr);
	if (rc >= 0 && out->from > 0 && rr.payments.n)
		rc = ctx->st->events_latest(tx, tenant_id, "payment", out->from - 1,
			revenue_payment_before_in, &rr);
	seen_free(&rr.invoices);
	seen_free(&rr.payments);
	/* A month's outstanding: the receivables at from and every change up
	 * to the month's end. */
	outstanding = rr.base;
	for (i = 0; rc >= 0 && i < out->month_count; i++) {
		billing_revenue_month *m = &out->months[i];
		if ((rc = add_to(&outstanding, m->outstanding)) < 0)
			break;
		m->outstanding = outstanding;
		if (__builtin_add_overflow(m->finalized, m->voided, &m->invoiced) ||
		    __builtin_add_overflow(m->paid, m->refunded, &m->collected))
			rc = sum_overflow();
	}
	return rc < 0 ? rc : BILLING_OK;
}

/* An invoice's failure, as payment recovery keeps it: its id, time, the
 * order read (seq) and amount due (paid). */
typedef struct {
	char *id;
	int64_t at;
	size_t seq;
	int64_t paid;
} pay_state;

typedef struct {
	pay_state *v;
	size_t n, cap;
} pay_states;

static int pay_state_cmp(const void *a, const void *b)
{
	const pay_state *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int pay_id_cmp(const void *a, const void *b)
{
	return strcmp(((const pay_state *)a)->id, ((const pay_state *)b)->id);
}

static void pay_states_free(pay_states *ps)
{
	size_t i;
	for (i = 0; i < ps->n; i++)
		billing__free(ps->v[i].id);
	billing__free(ps->v);
}

int billing_report_revenue(billing_revenue *out, billing_ctx *ctx, const billing_principal *who,
	const char *currency, int64_t from, int64_t to)
{
	const char *code = NULL;
	billing_txn *tx;
	int64_t now;
	int rc;

	if ((rc = report_begin(ctx, who, BILLING_OP_REPORTS_REVENUE, out, sizeof(*out), currency,
		&code)) < 0 ||
	    (rc = months_open(&tx, &now, ctx, who->tenant_id, code, from, to, out->currency,
		&out->from, &out->to, &out->month_count)) < 0)
		return rc;
	rc = billing__end(ctx, tx, revenue_read(out, ctx, tx, who->tenant_id, now));
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	return BILLING_OK;
}

/* ------------------------------------------------------------ payment recovery */

/* The invoices of the range's failures (v: paid is the amount due at the
 * failure, seq the order read; sorted by id and seq, each invoice's first
 * kept), and those that had failed before from (before, sorted by id). */
typedef struct {
	billing_payment_recovery *out;
	cust_mrr *before;
	size_t before_n, before_cap;
	pay_state *v;
	size_t n, cap;
} recovery;

static int id_add(cust_mrr **v, size_t *n, size_t *cap, const char *id, int64_t x)
{
	int rc;
	if ((rc = billing__grow((void **)v, cap, *n + 1, sizeof(**v))) < 0)
		return rc;
	if (((*v)[*n].id = billing__strdup(id)) == NULL)
		return nomem();
	(*v)[(*n)++].mrr = x;
	return BILLING_OK;
}

/* Sorts v by id, keeping each id once. */
static void ids_once(cust_mrr *v, size_t *n)
{
	size_t i, k = 0;
	if (*n)
		qsort(v, *n, sizeof(*v), customer_cmp);
	for (i = 0; i < *n; i++) {
		if (k && strcmp(v[i].id, v[k - 1].id) == 0) {
			billing__free(v[i].id);
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
}

static int failed_before_in(void *payload, const void *record)
{
	recovery *r = payload;
	const billing_event_record *e = record;
	return id_add(&r->before, &r->before_n, &r->before_cap, e->resource_id, 0);
}

static int id_known(const cust_mrr *v, size_t n, const char *id)
{
	cust_mrr key;
	key.id = (char *)id;
	key.mrr = 0;
	return n && bsearch(&key, v, n, sizeof(*v), customer_cmp) != NULL;
}

/* An invoice.payment_failed event of the range, in time order: the first
 * of an invoice in currency that had not failed before from. */
static int failed_in(void *payload, const void *record)
{
	recovery *r = payload;
	const billing_event_record *e = record;
	const char *currency;
	int64_t due = 0;
	cJSON *root;
	int rc = BILLING_OK;

	if (id_known(r->before, r->before_n, e->resource_id))
		return BILLING_OK;
	if (!e->data_json || (root = billing__jx_parse(e->data_json, strlen(e->data_json),
		NULL)) == NULL)
		return corrupt("an invoice event's data is not JSON");
	currency = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "currency"));
	if (currency && strcmp(currency, r->out->currency) == 0) {
		if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(root, "amountDue"), &due) !=
		    BILLING__JX_INT_OK)
			rc = corrupt("an invoice event has no amount due");
		else if ((rc = billing__grow((void **)&r->v, &r->cap, r->n + 1,
			sizeof(*r->v))) == BILLING_OK &&
		    (r->v[r->n].id = billing__strdup(e->resource_id)) == NULL)
			rc = nomem();
		else if (rc == BILLING_OK) {
			r->v[r->n].seq = r->n;
			r->v[r->n].at = e->created_at;
			r->v[r->n++].paid = due;
		}
	}
	cJSON_Delete(root);
	return rc;
}

/* An invoice's state before to: what became of a failed one. */
static int recovery_state_in(void *payload, const void *record)
{
	recovery *r = payload;
	billing_payment_recovery *out = r->out;
	const billing_event_state_record *e = record;
	const char *status;
	int64_t paid = 0;
	cJSON *root;
	int rc = BILLING_OK;

	pay_state key;

	memset(&key, 0, sizeof(key));
	key.id = (char *)e->resource_id;
	if (!r->n || !bsearch(&key, r->v, r->n, sizeof(*r->v), pay_id_cmp))
		return BILLING_OK;
	if (!e->data || (root = billing__jx_parse(e->data, strlen(e->data), NULL)) == NULL)
		return corrupt("an invoice event's data is not JSON");
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
	if (!status) {
		rc = corrupt("an invoice event has no status");
	} else if (strcmp(status, "paid") == 0) {
		if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(root, "amountPaid"), &paid) !=
		    BILLING__JX_INT_OK)
			rc = corrupt("a paid invoice's event has no amount paid");
		else if ((rc = add_to(&out->recovered_amount, paid)) == BILLING_OK)
			out->recovered++;
	} else if (strcmp(status, "void") == 0) {
		out->voided++;
	} else if (strcmp(status, "uncollectible") == 0) {
		out->uncollectible++;
	} else {
		out->open++;            /* pending or failed: still collected */
	}
	cJSON_Delete(root);
	return rc;
}

static int recovery_read(billing_payment_recovery *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	recovery r;
	pay_states ps;
	size_t i, k;
	int rc;

	memset(&r, 0, sizeof(r));
	r.out = out;
	rc = events_between(ctx, tx, tenant_id, "type", "invoice.payment_failed", 0, out->from,
		failed_before_in, &r);
	if (rc >= 0) {
		ids_once(r.before, &r.before_n);
		rc = events_between(ctx, tx, tenant_id, "type", "invoice.payment_failed",
			out->from, out->to, failed_in, &r);
	}
	if (rc >= 0 && r.n) {
		/* Each invoice's first failure of the range, with its amount due. */
		qsort(r.v, r.n, sizeof(*r.v), pay_state_cmp);
		for (i = 0, k = 0; i < r.n; i++) {
			if (k && strcmp(r.v[i].id, r.v[k - 1].id) == 0) {
				billing__free(r.v[i].id);
				continue;
			}
			r.v[k++] = r.v[i];
		}
		r.n = k;
		for (i = 0; rc >= 0 && i < r.n; i++)
			rc = add_to(&out->failed_amount, r.v[i].paid);
		out->failed_invoices = (int64_t)r.n;
		/* Every invoice's latest event before to: a failed one's is its
		 * failure or what came after. */
		if (rc >= 0)
			rc = ctx->st->events_latest(tx, tenant_id, "invoice", out->to - 1,
				recovery_state_in, &r);
	}
	if (rc >= 0)
		rc = rate_bp(&out->recovery_bp, out->recovered, out->failed_invoices);
	cust_free(r.before, r.before_n);
	memset(&ps, 0, sizeof(ps));
	ps.v = r.v;
	ps.n = r.n;
	pay_states_free(&ps);
	return rc < 0 ? rc : BILLING_OK;
}

int billing_report_payment_recovery(billing_payment_recovery *out, billing_ctx *ctx,
	const billing_principal *who, const char *currency, int64_t from, int64_t to)
{
	const char *code = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = report_begin(ctx, who, BILLING_OP_REPORTS_PAYMENT_RECOVERY, out, sizeof(*out),
		currency, &code)) < 0)
		return rc;
	if ((rc = report_range(ctx, from, to)) < 0 || (rc = history_supported(ctx)) < 0)
		return rc;
	snprintf(out->currency, sizeof(out->currency), "%s", code);
	out->from = from;
	out->to = to;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_SNAPSHOT)) < 0)
		return rc;
	rc = billing__end(ctx, tx, recovery_read(out, ctx, tx, who->tenant_id));
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	return BILLING_OK;
}
