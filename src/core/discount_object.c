/*
 * Discounts (issue #22 item 3, billing/discount.h): a coupon redeemed for
 * a customer or one of its subscriptions. This file is the descriptor of
 * the discounts table, the creation (redeem, replace the level's
 * discount, write the new one with its end), the removal, and the public
 * calls. What an invoice takes off is invoice_discount.c's.
 *
 * A discount's window is [start_at, end_at): end_at 0 is no end, except
 * for a once coupon, whose discount has no end until the first invoice
 * that it takes something off sets it (billing__discount_used).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/calendar.h"
#include "core/coupon.h"
#include "core/discount.h"
#include "core/events.h"
#include "core/idempotency.h"
#include "core/permissions.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/subscription_internal.h"
#include "core/txn.h"
#include "core/validate.h"

#define F(member) offsetof(struct billing__discount_rec, member)
#define FIELD(col, type, member, flags, json, kind) \
	{ col, BILLING_FIELD_##type, F(member), (flags), json, BILLING_JSON_##kind, 0, NULL, 0, \
	  NULL }

static const billing_field fields[] = {
	FIELD("tenant_id", TEXT, tenant_id, BILLING_FIELD_TENANT, NULL, NONE),
	FIELD("id", TEXT, id, BILLING_FIELD_ID, "id", STRING),
	FIELD("customer_id", TEXT, customer_id, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER,
		"customerId", STRING),
	FIELD("subscription_id", TEXT, subscription_id, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER,
		"subscriptionId", STRING),
	FIELD("invoice_id", TEXT, invoice_id, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER,
		"invoiceId", STRING),
	FIELD("coupon_id", TEXT, coupon_id, BILLING_FIELD_FIXED, "couponId", STRING),
	FIELD("promotion_code_id", TEXT, promotion_code_id, BILLING_FIELD_FIXED,
		"promotionCodeId", STRING),
	FIELD("start_at", INT64, start_at, BILLING_FIELD_FIXED, "start", TIME),
	FIELD("end_at", INT64, end_at, BILLING_FIELD_ZERO_NULL, "end", TIME),
	FIELD("deleted_at", INT64, deleted_at, BILLING_FIELD_ZERO_NULL | BILLING_FIELD_DELETED,
		NULL, NONE),
	FIELD("created_at", INT64, created_at, BILLING_FIELD_FIXED | BILLING_FIELD_SORT |
		BILLING_FIELD_RANGE, "createdAt", TIME),
	FIELD("updated_at", INT64, updated_at, 0, "updatedAt", TIME),
	FIELD("version", INT64, version, BILLING_FIELD_VERSION, "version", INTEGER),
};

static const billing_reference refs[] = {
	{ "customer_id", &billing__res_customer },
	{ "subscription_id", &billing__res_subscription },
	{ "invoice_id", &billing__res_invoice },
	{ "coupon_id", &billing__res_coupon },
	{ "promotion_code_id", &billing__res_promotion_code },
};

const billing_resource billing__res_discount = {
	.name = "discount", .plural = "discounts", .path = "discounts", .title = "Discount",
	.description = "A coupon redeemed for a customer, a subscription or a draft invoice.",
	.table = "discounts", .prefix = "di", .record_size = sizeof(struct billing__discount_rec),
	.fields = fields, .field_count = sizeof(fields) / sizeof(fields[0]),
	.references = refs, .reference_count = sizeof(refs) / sizeof(refs[0]),
};

/* ------------------------------------------------------------ rows */

static void info_of(struct billing__discount_info *d, const struct billing__discount_rec *r)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", r->id);
	snprintf(d->customer_id, sizeof(d->customer_id), "%s", r->customer_id);
	snprintf(d->subscription_id, sizeof(d->subscription_id), "%s",
		r->subscription_id ? r->subscription_id : "");
	snprintf(d->invoice_id, sizeof(d->invoice_id), "%s", r->invoice_id ? r->invoice_id : "");
	snprintf(d->coupon_id, sizeof(d->coupon_id), "%s", r->coupon_id);
	snprintf(d->promotion_code_id, sizeof(d->promotion_code_id), "%s",
		r->promotion_code_id ? r->promotion_code_id : "");
	d->start_at = r->start_at;
	d->end_at = r->end_at;
	d->created_at = r->created_at;
	d->version = r->version;
	d->deleted_at = r->deleted_at;
}

/* The record of d (its strings borrowed from d). */
static void rec_of(struct billing__discount_rec *r, const char *tenant_id,
	const struct billing__discount_info *d)
{
	memset(r, 0, sizeof(*r));
	r->tenant_id = tenant_id;
	r->id = d->id;
	r->customer_id = d->customer_id;
	r->subscription_id = d->subscription_id[0] ? d->subscription_id : NULL;
	r->invoice_id = d->invoice_id[0] ? d->invoice_id : NULL;
	r->coupon_id = d->coupon_id;
	r->promotion_code_id = d->promotion_code_id[0] ? d->promotion_code_id : NULL;
	r->start_at = d->start_at;
	r->end_at = d->end_at;
	r->created_at = d->created_at;   /* FIXED: an update matches it */
	r->version = d->version;
}

static cJSON *rec_json(const void *rec)
{
	return billing__record_json(&billing__res_discount, rec);
}

struct finding {
	const char *subscription_id;    /* NULL: the customer's (or the invoice's) */
	const char *invoice_id;         /* NULL: not an invoice's */
	struct billing__discount_info *out;
	bool found;
};

static int find_row(void *payload, const void *record)
{
	struct finding *f = payload;
	const struct billing__discount_rec *r = record;
	if (r->deleted_at || !r->subscription_id != !f->subscription_id ||
	    (f->subscription_id && strcmp(r->subscription_id, f->subscription_id) != 0) ||
	    !r->invoice_id != !f->invoice_id ||
	    (f->invoice_id && strcmp(r->invoice_id, f->invoice_id) != 0))
		return BILLING_OK;
	info_of(f->out, r);
	f->found = true;
	return BILLING_OK;
}

static int info_row(void *payload, const void *record)
{
	info_of(payload, record);
	return BILLING_OK;
}

/* The one live discount among the rows of by that f accepts. */
static int current(struct finding *f, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const billing_filter *by, bool lock)
{
	struct billing__discount_info *out = f->out;
	int rc;

	/* A level has one live discount (the partial unique indexes) among
	 * the few deleted ones before it. */
	if ((rc = billing__list_all(ctx->st, tx, &billing__res_discount, tenant_id, by, 1,
		find_row, f)) < 0)
		return rc;
	if (!f->found)
		return BILLING_ENOTFOUND;
	if (!lock)
		return BILLING_OK;
	return ctx->st->record_read(tx, &billing__res_discount, tenant_id, out->id,
		BILLING_LOCK_UPDATE, info_row, out);
}

int billing__discount_current(struct billing__discount_info *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *customer_id,
	const char *subscription_id, bool lock)
{
	struct finding f = { subscription_id, NULL, out, false };
	billing_filter by;

	memset(&by, 0, sizeof(by));
	by.field = billing_resource_field(&billing__res_discount,
		subscription_id ? "subscription_id" : "customer_id");
	by.op = BILLING_FILTER_EQ;
	by.text = subscription_id ? subscription_id : customer_id;
	return current(&f, ctx, tx, tenant_id, &by, lock);
}

int billing__discount_of_invoice(struct billing__discount_info *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *invoice_id, bool lock)
{
	struct finding f = { NULL, invoice_id, out, false };
	billing_filter by;

	memset(&by, 0, sizeof(by));
	by.field = billing_resource_field(&billing__res_discount, "invoice_id");
	by.op = BILLING_FILTER_EQ;
	by.text = invoice_id;
	return current(&f, ctx, tx, tenant_id, &by, lock);
}

/* ------------------------------------------------------------ shown */

/* The discount column of customers and subscriptions (schema step 32) as
 * the shown discount's writes see it: no version field, so writing it
 * leaves the object's version alone (as the coupons' counts, discount.c). */
struct shown_row {
	const char *tenant_id;
	const char *id;
	const char *discount_json;
};

#define SHOWN_FIELDS { \
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(struct shown_row, tenant_id), \
	  BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL }, \
	{ "id", BILLING_FIELD_TEXT, offsetof(struct shown_row, id), BILLING_FIELD_ID, "id", \
	  BILLING_JSON_STRING, 0, NULL, 0, NULL }, \
	{ "discount", BILLING_FIELD_TEXT, offsetof(struct shown_row, discount_json), 0, \
	  "discount", BILLING_JSON_OBJECT, 0, NULL, 0, NULL } }

static const billing_field customer_shown_fields[] = SHOWN_FIELDS;
static const billing_field subscription_shown_fields[] = SHOWN_FIELDS;

static const billing_resource customer_shown = {
	.name = "customer_discounts", .plural = "customer_discounts", .table = "customers",
	.prefix = "cus", .record_size = sizeof(struct shown_row),
	.fields = customer_shown_fields, .field_count = 3,
};

static const billing_resource subscription_shown = {
	.name = "subscription_discounts", .plural = "subscription_discounts",
	.table = "subscriptions", .prefix = "sub", .record_size = sizeof(struct shown_row),
	.fields = subscription_shown_fields, .field_count = 3,
};

static int time_text(char out[BILLING_TIME_FORMAT_SIZE + 2], int64_t t)
{
	char buf[BILLING_TIME_FORMAT_SIZE];
	int rc;
	if (!t) {
		snprintf(out, BILLING_TIME_FORMAT_SIZE + 2, "null");
		return BILLING_OK;
	}
	if ((rc = billing__time_format(buf, sizeof(buf), t)) < 0)
		return rc;
	snprintf(out, BILLING_TIME_FORMAT_SIZE + 2, "\"%s\"", buf);
	return BILLING_OK;
}

int billing__discount_text(char out[BILLING__DISCOUNT_TEXT_MAX],
	const struct billing__discount_info *d)
{
	char start[BILLING_TIME_FORMAT_SIZE + 2], end[BILLING_TIME_FORMAT_SIZE + 2];
	char promo[BILLING_ID_MAX + 2];
	int rc;

	/* Ids are letters, digits, - and _ (ids.c, billing__id_chosen): no
	 * escape is needed. */
	if ((rc = time_text(start, d->start_at)) < 0 || (rc = time_text(end, d->end_at)) < 0)
		return rc;
	snprintf(promo, sizeof(promo), d->promotion_code_id[0] ? "\"%s\"" : "null",
		d->promotion_code_id);
	snprintf(out, BILLING__DISCOUNT_TEXT_MAX, "{\"id\":\"%s\",\"couponId\":\"%s\","
		"\"promotionCodeId\":%s,\"start\":%s,\"end\":%s}", d->id, d->coupon_id, promo,
		start, end);
	return BILLING_OK;
}

/* Writes the discount its level shows: d, or none (NULL). */
static int show(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const struct billing__discount_info *level, const struct billing__discount_info *d)
{
	char text[BILLING__DISCOUNT_TEXT_MAX];
	struct shown_row row;
	int rc;

	/* An invoice's own discount is shown by the invoice (discountAmounts),
	 * not by its customer. */
	if (level->invoice_id[0])
		return BILLING_OK;
	row.tenant_id = tenant_id;
	row.id = level->subscription_id[0] ? level->subscription_id : level->customer_id;
	row.discount_json = NULL;
	if (d) {
		if ((rc = billing__discount_text(text, d)) < 0)
			return rc;
		row.discount_json = text;
	}
	return ctx->st->record_update(tx, level->subscription_id[0] ? &subscription_shown :
		&customer_shown, &row, 0);
}

int billing__discount_shown(char out[BILLING__DISCOUNT_TEXT_MAX], const char **json,
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *customer_id,
	const char *subscription_id)
{
	struct billing__discount_info d;
	int rc;

	if ((rc = billing__discount_current(&d, ctx, tx, tenant_id, customer_id, subscription_id,
		false)) < 0 || (rc = billing__discount_text(out, &d)) < 0)
		return rc;
	*json = out;
	return BILLING_OK;
}

/* ------------------------------------------------------------ check */

/* A live discount: its level (the subscription's id, or the customer's)
 * and the text the level must show. */
struct shown_want {
	char level[BILLING_ID_MAX];
	bool sub;
	char id[BILLING_ID_MAX];
	char text[BILLING__DISCOUNT_TEXT_MAX];
};

struct shown_check {
	struct shown_want *v;
	size_t n, cap;
	bool sub;                        /* the rows compared are subscriptions */
	billing__discount_report_fn report;
	void *payload;
};

static int want_row(void *payload, const void *record)
{
	struct shown_check *s = payload;
	struct billing__discount_info d;
	struct shown_want *w;
	int rc;

	/* A list leaves deleted discounts out: each row is a level's live one.
	 * An invoice's own is shown by no customer or subscription. */
	info_of(&d, record);
	if (d.invoice_id[0])
		return BILLING_OK;
	if ((rc = billing__grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v))) < 0)
		return rc;
	w = &s->v[s->n++];
	w->sub = d.subscription_id[0] != '\0';
	snprintf(w->level, sizeof(w->level), "%s", w->sub ? d.subscription_id : d.customer_id);
	snprintf(w->id, sizeof(w->id), "%s", d.id);
	return billing__discount_text(w->text, &d);
}

static int cmp_want(const void *a, const void *b)
{
	const struct shown_want *x = a, *y = b;
	if (x->sub != y->sub)
		return x->sub ? 1 : -1;
	return strcmp(x->level, y->level);
}

static int shown_check_row(void *payload, const void *record)
{
	struct shown_check *s = payload;
	const struct shown_row *r = record;
	struct shown_want key, *w = NULL;
	char detail[200];

	memset(&key, 0, sizeof(key));
	key.sub = s->sub;
	snprintf(key.level, sizeof(key.level), "%s", r->id);
	if (s->n)
		w = bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_want);
	if (w ? r->discount_json && strcmp(w->text, r->discount_json) == 0 : !r->discount_json)
		return BILLING_OK;
	snprintf(detail, sizeof(detail), "its discount shows %s, but its live discount is %s",
		r->discount_json ? "another" : "none", w ? w->id : "none");
	s->report(s->payload, "discount_shown", r->id, detail);
	return BILLING_OK;
}

int billing__discount_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__discount_report_fn report, void *payload)
{
	struct shown_check s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.report = report;
	s.payload = payload;
	if ((rc = billing__list_all(ctx->st, tx, &billing__res_discount, tenant_id, NULL, 0,
		want_row, &s)) < 0)
		goto out;
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_want);
	if ((rc = billing__list_all(ctx->st, tx, &customer_shown, tenant_id, NULL, 0,
		shown_check_row, &s)) < 0)
		goto out;
	s.sub = true;
	rc = billing__list_all(ctx->st, tx, &subscription_shown, tenant_id, NULL, 0,
		shown_check_row, &s);
out:
	billing__free(s.v);
	return rc;
}

/* ------------------------------------------------------------ writes */

static int write(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	struct billing__discount_info *d, int64_t deleted_at, int64_t now)
{
	struct billing__discount_rec r;
	rec_of(&r, tenant_id, d);
	r.deleted_at = deleted_at;
	r.updated_at = now;
	r.version = d->version + 1;
	return ctx->st->record_update(tx, &billing__res_discount, &r, d->version);
}

int billing__discount_remove(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const struct billing__discount_info *d)
{
	struct billing__discount_info cur = *d;
	struct billing__discount_rec r;
	int64_t now = billing__now(ctx);
	int rc;

	if ((rc = write(ctx, tx, tenant_id, &cur, now, now)) < 0)
		return rc;
	rec_of(&r, tenant_id, &cur);
	r.deleted_at = now;
	r.updated_at = now;
	r.version = cur.version + 1;
	if ((rc = show(ctx, tx, tenant_id, &cur, NULL)) < 0)
		return rc;
	return billing__event_emit(ctx, tx, tenant_id, "customer.discount.deleted", "discount",
		cur.id, rec_json, &r);
}

int billing__discount_used(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const struct billing__discount_info *d, int64_t now)
{
	struct billing__discount_info cur;
	int rc;

	/* Read again locked; an end set already (a draft that took it before
	 * another invoice did, finalized after) stays. */
	if ((rc = ctx->st->record_read(tx, &billing__res_discount, tenant_id, d->id,
		BILLING_LOCK_UPDATE, info_row, &cur)) < 0)
		return rc;
	if (cur.end_at)
		return BILLING_OK;
	cur.end_at = now < cur.start_at ? cur.start_at : now;
	/* A deleted discount (a draft took it before its delete) stays deleted
	 * and shown by no one. */
	if ((rc = write(ctx, tx, tenant_id, &cur, cur.deleted_at, billing__now(ctx))) < 0 ||
	    cur.deleted_at)
		return rc;
	/* The level shows its end: one more statement, in the one invoice
	 * that ends the discount (never in a renewal without a discount). */
	return show(ctx, tx, tenant_id, &cur, &cur);
}

/* ------------------------------------------------------------ attach */

/* Whether the customer has no invoice yet (besides own, the draft whose
 * discount this is, when it is stored). */
static int first_time(bool *out, billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, int64_t own)
{
	billing_filter by;
	int64_t n = 0;
	int rc;

	memset(&by, 0, sizeof(by));
	by.field = billing_resource_field(&billing__res_invoice, "customer_id");
	by.op = BILLING_FILTER_EQ;
	by.text = customer_id;
	rc = billing__count_records(ctx->st, tx, &billing__res_invoice, tenant_id, &by, 1, 0, &n);
	*out = n <= own;
	return rc;
}

int billing__discount_attach(struct billing__discount_info *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const billing__attach_params *p)
{
	struct billing__redemption red;
	struct billing__discount_info old;
	struct billing__discount_rec r;
	billing__redeem_params in;
	bool first = false, replaced;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = first_time(&first, ctx, tx, tenant_id, p->customer_id,
		p->invoice_written ? 1 : 0)) < 0)
		return rc;
	memset(&in, 0, sizeof(in));
	in.coupon_id = p->coupon;
	in.promotion_code = p->promotion_code;
	in.customer_id = p->customer_id;
	in.now = p->now;
	in.first_time = first;
	in.amount = p->amount;
	in.currency = p->currency;
	if ((rc = billing__discount_redeem(&red, ctx, tx, tenant_id, &in)) < 0)
		return rc;
	/* An invoice's currency is known: an amount off in another would take
	 * nothing, so it is refused (the rollback gives the use back). */
	if (p->invoice_id && red.amount_off && p->invoice_currency &&
	    strcmp(red.currency, p->invoice_currency) != 0)
		return billing__error_field(BILLING_EINVALID, "currency_mismatch",
			p->promotion_code ? "promotionCode" : "coupon",
			"the coupon takes %s off; the invoice is in %s", red.currency,
			p->invoice_currency);
	/* One discount per level: the one before goes (deleted now; as Stripe
	 * does, a switch is one event, customer.discount.updated, of the new
	 * discount, not deleted + created). */
	rc = p->invoice_id ?
		billing__discount_of_invoice(&old, ctx, tx, tenant_id, p->invoice_id, true) :
		billing__discount_current(&old, ctx, tx, tenant_id, p->customer_id,
			p->subscription_id, true);
	replaced = rc == BILLING_OK;
	if (replaced)
		rc = write(ctx, tx, tenant_id, &old, billing__now(ctx), billing__now(ctx));
	if (rc < 0 && rc != BILLING_ENOTFOUND)
		return rc;

	if (billing__id_new(out->id, "di", p->now * 1000) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	snprintf(out->customer_id, sizeof(out->customer_id), "%s", p->customer_id);
	snprintf(out->subscription_id, sizeof(out->subscription_id), "%s",
		p->subscription_id ? p->subscription_id : "");
	snprintf(out->invoice_id, sizeof(out->invoice_id), "%s",
		p->invoice_id ? p->invoice_id : "");
	snprintf(out->coupon_id, sizeof(out->coupon_id), "%s", red.coupon_id);
	snprintf(out->promotion_code_id, sizeof(out->promotion_code_id), "%s",
		red.promotion_code_id);
	out->start_at = p->now;
	out->created_at = billing__now(ctx);
	out->version = 1;
	/* A repeating discount lasts durationInPeriods intervals of the
	 * subscription's plan from its start, on the calendar (a month from
	 * Jan 31 ends Feb 28/29); a customer's, as many months. */
	if (red.duration == BILLING__COUPON_REPEATING &&
	    (rc = billing__period_start(&out->end_at, p->now,
		p->interval ? (billing_interval)p->interval : BILLING_MONTH,
		p->interval ? p->interval_count : 1, red.duration_in_periods)) < 0)
		return rc;
	rec_of(&r, tenant_id, out);
	r.updated_at = out->created_at;
	if ((rc = billing__insert(ctx->st, tx, &billing__res_discount, &r)) < 0 ||
	    (rc = show(ctx, tx, tenant_id, out, out)) < 0)
		return rc;
	return billing__event_emit(ctx, tx, tenant_id, replaced ? "customer.discount.updated" :
		"customer.discount.created", "discount", out->id, rec_json, &r);
}

/* ------------------------------------------------------------ calls */

struct billing_discount {
	struct billing__discount_info d;
};

struct sub_of {
	char customer_id[BILLING_ID_MAX];
	char plan_id[BILLING_ID_MAX];
	int status;
};

static int sub_row(void *payload, const void *record)
{
	const billing_subscription_record *r = record;
	struct sub_of *s = payload;
	snprintf(s->customer_id, sizeof(s->customer_id), "%s", r->customer_id);
	snprintf(s->plan_id, sizeof(s->plan_id), "%s", r->plan_id);
	s->status = r->status;
	return BILLING_OK;
}

static int missing(const char *field, const char *what)
{
	return billing__error_field(BILLING_EINVALID, "resource_missing", field,
		"no such %s in this tenant", what);
}

/* The level named: the customer exists; the subscription is the
 * customer's and not ended (its plan's interval into p). */
static int level_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__attach_params *p, bool for_create, char cus[BILLING_ID_MAX])
{
	struct sub_of s;
	billing__plan_info plan;
	bool found;
	int rc;

	/* A subscription alone names its customer. */
	if (!p->customer_id && p->subscription_id) {
		if (!billing__id_arg_ok(p->subscription_id, "sub"))
			return missing("subscriptionId", "subscription");
		memset(&s, 0, sizeof(s));
		rc = ctx->st->record_read(tx, &billing__res_subscription, tenant_id,
			p->subscription_id, BILLING_LOCK_NONE, sub_row, &s);
		if (rc == BILLING_ENOTFOUND)
			return missing("subscriptionId", "subscription");
		if (rc < 0)
			return rc;
		snprintf(cus, BILLING_ID_MAX, "%s", s.customer_id);
		p->customer_id = cus;
	}
	if (!billing__id_arg_ok(p->customer_id, "cus"))
		return missing("customerId", "customer");
	if ((rc = billing__record_exists(ctx, tx, &billing__res_customer, tenant_id,
		p->customer_id, &found)) < 0)
		return rc;
	if (!found)
		return missing("customerId", "customer");
	if (!p->subscription_id)
		return BILLING_OK;
	if (!billing__id_arg_ok(p->subscription_id, "sub"))
		return missing("subscriptionId", "subscription of the customer");
	memset(&s, 0, sizeof(s));
	rc = ctx->st->record_read(tx, &billing__res_subscription, tenant_id, p->subscription_id,
		BILLING_LOCK_NONE, sub_row, &s);
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK &&
	    strcmp(s.customer_id, p->customer_id) != 0))
		return missing("subscriptionId", "subscription of the customer");
	if (rc < 0 || !for_create)
		return rc;
	if (billing__subscription_ended(s.status))
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"the subscription has ended");
	if ((rc = billing__plan_info_peek(&plan, ctx, tx, tenant_id, s.plan_id)) < 0)
		return rc;
	p->interval = plan.interval;
	p->interval_count = plan.interval_count;
	return BILLING_OK;
}

static int loaded(billing_discount **out, const struct billing__discount_info *d)
{
	if ((*out = billing__calloc(1, sizeof(**out))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	(*out)->d = *d;
	return BILLING_OK;
}

static int discount_create_once(billing_discount **out, billing_ctx *ctx,
	const billing_principal *who, const billing_discount_params *p,
	const billing_call_options *opts)
{
	struct billing__discount_info d;
	billing__attach_params ap;
	char cus[BILLING_ID_MAX];
	billing__buf input = { 0 };
	billing__idem idem;
	billing_txn *tx;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(p, "params");
	*out = NULL;
	if ((rc = billing__authorize(ctx, who, p->subscription_id ?
		BILLING_OP_SUBSCRIPTIONS_UPDATE : BILLING_OP_CUSTOMERS_UPDATE)) < 0)
		return rc;
	if (p->version == 0 || p->version > BILLING_DISCOUNT_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_discount_params version %u", p->version);
	if (!p->coupon == !p->promotion_code)
		return billing__error_field(BILLING_EINVALID, "invalid", "coupon",
			"give coupon or promotionCode, not both");
	billing__buf_add(&input, "customerId", p->customer_id);
	billing__buf_add(&input, "subscriptionId", p->subscription_id);
	billing__buf_add(&input, "coupon", p->coupon);
	billing__buf_add(&input, "promotionCode", p->promotion_code);
	if ((rc = billing__idem_init_named(&idem, opts, "discounts.create", &input)) < 0)
		return rc;
	memset(&ap, 0, sizeof(ap));
	ap.customer_id = p->customer_id;
	ap.subscription_id = p->subscription_id;
	ap.coupon = p->coupon;
	ap.promotion_code = p->promotion_code;
	ap.now = billing__now(ctx);
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, &idem)) < 0)
		return billing__end(ctx, tx, rc);
	if (idem.replay) {
		rc = ctx->st->record_read(tx, &billing__res_discount, who->tenant_id,
			idem.resource_id, BILLING_LOCK_NONE, info_row, &d);
	} else if ((rc = level_check(ctx, tx, who->tenant_id, &ap, true, cus)) == BILLING_OK &&
	    (rc = billing__discount_attach(&d, ctx, tx, who->tenant_id, &ap)) == BILLING_OK &&
	    (rc = billing__idem_record(ctx, tx, who->tenant_id, &idem, d.id)) == BILLING_OK) {
		rc = billing__audit_record(ctx, tx, who->tenant_id, d.id);
	}
	if ((rc = billing__end(ctx, tx, rc)) < 0)
		return rc;
	return loaded(out, &d);
}

int billing_discount_create(billing_discount **out, billing_ctx *ctx,
	const billing_principal *who, const billing_discount_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(discount_create_once(out, ctx, who, p, opts));
}

static int discount_delete_once(billing_ctx *ctx, const billing_principal *who,
	const char *customer_id, const char *subscription_id)
{
	struct billing__discount_info d;
	billing__attach_params ap;
	char cus[BILLING_ID_MAX];
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, subscription_id ?
		BILLING_OP_SUBSCRIPTIONS_UPDATE : BILLING_OP_CUSTOMERS_UPDATE)) < 0)
		return rc;
	memset(&ap, 0, sizeof(ap));
	ap.customer_id = customer_id;
	ap.subscription_id = subscription_id;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = level_check(ctx, tx, who->tenant_id, &ap, false, cus)) == BILLING_OK) {
		rc = billing__discount_current(&d, ctx, tx, who->tenant_id, ap.customer_id,
			subscription_id, true);
		if (rc == BILLING_ENOTFOUND)
			rc = billing__not_found("discount");
	}
	if (rc == BILLING_OK && (rc = billing__discount_remove(ctx, tx, who->tenant_id, &d)) == 0)
		rc = billing__audit_record(ctx, tx, who->tenant_id, d.id);
	return billing__end(ctx, tx, rc);
}

int billing_discount_delete(billing_ctx *ctx, const billing_principal *who,
	const char *customer_id, const char *subscription_id)
{
	BILLING__RETRY(discount_delete_once(ctx, who, customer_id, subscription_id));
}

int billing_discount_get(billing_discount **out, billing_ctx *ctx,
	const billing_principal *who, const char *customer_id, const char *subscription_id)
{
	struct billing__discount_info d;
	billing__attach_params ap;
	char cus[BILLING_ID_MAX];
	billing_txn *tx;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if ((rc = billing__authorize(ctx, who, subscription_id ?
		BILLING_OP_SUBSCRIPTIONS_GET : BILLING_OP_CUSTOMERS_GET)) < 0)
		return rc;
	memset(&ap, 0, sizeof(ap));
	ap.customer_id = customer_id;
	ap.subscription_id = subscription_id;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	if ((rc = level_check(ctx, tx, who->tenant_id, &ap, false, cus)) == BILLING_OK) {
		rc = billing__discount_current(&d, ctx, tx, who->tenant_id, ap.customer_id,
			subscription_id, false);
		if (rc == BILLING_ENOTFOUND)
			rc = billing__not_found("discount");
	}
	if ((rc = billing__end(ctx, tx, rc)) < 0)
		return rc;
	return loaded(out, &d);
}

void billing_discount_free(billing_discount *d)
{
	billing__free(d);
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

const char *billing_discount_id(const billing_discount *d) { return d ? d->d.id : NULL; }
const char *billing_discount_customer_id(const billing_discount *d)
{
	return d ? d->d.customer_id : NULL;
}
const char *billing_discount_subscription_id(const billing_discount *d)
{
	return d ? or_null(d->d.subscription_id) : NULL;
}
const char *billing_discount_coupon_id(const billing_discount *d)
{
	return d ? d->d.coupon_id : NULL;
}
const char *billing_discount_promotion_code_id(const billing_discount *d)
{
	return d ? or_null(d->d.promotion_code_id) : NULL;
}
int64_t billing_discount_start(const billing_discount *d) { return d ? d->d.start_at : 0; }
int64_t billing_discount_end(const billing_discount *d) { return d ? d->d.end_at : 0; }
