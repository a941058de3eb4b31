/*
 * The discount pass of an invoice (issue #22; discount.h): which discount
 * an invoice takes and what it takes off each line, before tax. Run from
 * the one place that sums an invoice's lines (invoice.c's amounts), so
 * that a renewal, a first invoice, prorations, a draft at finalization
 * and a preview are discounted alike.
 *
 * Which: a draft's discount (keep_id: its own, from a coupon given to the
 * draft, or the one it took when made), else the subscription's live
 * discount when it is in effect at the invoice's period start, else the
 * customer's (Stripe's precedence). In
 * effect: start <= at and, for a repeating or forever one, at < end (0: no
 * end); a once discount until its first invoice took something (then its
 * end is set). What: billing__discount_apply with the coupon's terms
 * (read with deleted coupons: deleting a coupon leaves its discounts
 * working). A line's amount stays before the discount; the line carries
 * discount_id and discount_amount.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "core/coupon.h"
#include "core/discount.h"
#include "core/invoice_internal.h"
#include "core/txn.h"

/* The coupon's terms, with room for its appliesTo products. */
struct terms {
	billing__discount_terms t;
	int duration;
	char currency[4];
	char *ids[BILLING__COUPON_PRODUCTS_MAX];
	size_t n;
};

static void terms_free(struct terms *t)
{
	size_t i;
	for (i = 0; i < t->n; i++)
		billing__free(t->ids[i]);
}

static int coupon_row(void *payload, const void *record)
{
	struct terms *t = payload;
	const struct billing__coupon *c = record;
	cJSON *root, *e;

	t->t.percent_off = c->percent_off;
	t->t.amount_off = c->amount_off;
	snprintf(t->currency, sizeof(t->currency), "%s", c->currency ? c->currency : "");
	t->t.currency = t->currency;
	t->duration = c->duration;
	if ((root = cJSON_Parse(c->applies_to_json ? c->applies_to_json : "{}")) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	/* Checked at the coupon's creation: 1-100 product ids, or {}. */
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "productIds")) {
		if (!cJSON_IsString(e) || t->n == BILLING__COUPON_PRODUCTS_MAX)
			continue;
		if ((t->ids[t->n] = billing__strdup(e->valuestring)) == NULL) {
			cJSON_Delete(root);
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		}
		t->n++;
	}
	cJSON_Delete(root);
	t->t.product_ids = (const char *const *)t->ids;
	t->t.product_count = t->n;
	return BILLING_OK;
}

static int info_row(void *payload, const void *record)
{
	const struct billing__discount_rec *r = record;
	struct billing__discount_info *d = payload;
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", r->id);
	snprintf(d->coupon_id, sizeof(d->coupon_id), "%s", r->coupon_id);
	d->start_at = r->start_at;
	d->end_at = r->end_at;
	d->version = r->version;
	return BILLING_OK;
}

/* In effect for an invoice whose period starts at `at`. */
static bool in_effect(const struct billing__discount_info *d, int duration, int64_t at)
{
	if (at < d->start_at)
		return false;
	if (duration == BILLING__COUPON_ONCE)
		return d->end_at == 0;
	return d->end_at == 0 || at < d->end_at;
}

/* The discount that applies and its terms; *found false when none does. */
static int choose(struct billing__discount_info *d, struct terms *t, bool *found,
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *customer_id,
	const char *subscription_id, int64_t at, const char *keep_id, bool lock)
{
	const char *levels[2] = { subscription_id, NULL };
	size_t i;
	int rc;

	*found = false;
	if (keep_id) {
		/* A draft's lines discounted again: the discount it took when made,
		 * whatever became of it since. */
		if ((rc = ctx->st->record_read(tx, &billing__res_discount, tenant_id, keep_id,
			BILLING_LOCK_NONE, info_row, d)) < 0 ||
		    (rc = ctx->st->record_read(tx, &billing__res_coupon, tenant_id, d->coupon_id,
			BILLING_LOCK_NONE, coupon_row, t)) < 0)
			return rc;
		*found = true;
		return BILLING_OK;
	}
	for (i = subscription_id ? 0 : 1; i < 2; i++) {
		/* Locked when the invoice is written: two invoices at once take a
		 * once discount once (the second waits, then sees its end). */
		rc = billing__discount_current(d, ctx, tx, tenant_id, customer_id, levels[i], lock);
		if (rc == BILLING_ENOTFOUND)
			continue;
		if (rc < 0)
			return rc;
		terms_free(t);
		memset(t, 0, sizeof(*t));
		if ((rc = ctx->st->record_read(tx, &billing__res_coupon, tenant_id, d->coupon_id,
			BILLING_LOCK_NONE, coupon_row, t)) < 0)
			return rc;
		if (in_effect(d, t->duration, at)) {
			*found = true;
			return BILLING_OK;
		}
	}
	return BILLING_OK;
}

/* The products of the lines, from their plans (only for a coupon that
 * names products; lines of no plan have none). */
static int products(billing__discount_line *dl, char (*pid)[BILLING_ID_MAX],
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const billing_invoice_line *lines, size_t n)
{
	billing__plan_info plan;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (!lines[i].plan_id)
			continue;
		rc = billing__plan_info_peek(&plan, ctx, tx, tenant_id, lines[i].plan_id);
		if (rc == BILLING_ENOTFOUND)
			continue;
		if (rc < 0)
			return rc;
		snprintf(pid[i], BILLING_ID_MAX, "%s", plan.product_id);
		dl[i].product_id = pid[i];
	}
	return BILLING_OK;
}

int billing__invoice_discount(billing__invoice_discount_result *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *customer_id,
	const char *subscription_id, const char *currency, int64_t at,
	billing_invoice_line *lines, size_t n, const char *keep_id, bool commit)
{
	struct billing__discount_info d;
	struct terms t;
	billing__discount_line *dl = NULL;
	char (*pid)[BILLING_ID_MAX] = NULL;
	int64_t *amounts = NULL;
	bool found, took = false;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	for (i = 0; i < n; i++) {
		lines[i].discount_id = NULL;
		lines[i].discount_amount = 0;
	}
	if (!n || !customer_id)
		return BILLING_OK;
	/* In a batch of the billing run, one read of the tenant's discounts
	 * tells which customers have none: their renewals ask nothing more. */
	if (!keep_id) {
		bool none = false;
		if ((rc = billing__batch_no_discount(ctx, tx, tenant_id, customer_id, &none)) < 0)
			return rc;
		if (none)
			return BILLING_OK;
	}
	if ((rc = choose(&d, &t, &found, ctx, tx, tenant_id, customer_id, subscription_id,
		at, keep_id, commit)) < 0 || !found)
		goto out;
	dl = billing__calloc(n, sizeof(*dl));
	amounts = billing__calloc(n, sizeof(*amounts));
	pid = t.n ? billing__calloc(n, sizeof(*pid)) : NULL;
	if (!dl || !amounts || (t.n && !pid)) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	for (i = 0; i < n; i++)
		dl[i].amount = lines[i].amount;
	if ((t.n && (rc = products(dl, pid, ctx, tx, tenant_id, lines, n)) < 0) ||
	    (rc = billing__discount_apply(amounts, dl, n, currency, &t.t)) < 0)
		goto out;
	snprintf(out->discount_id, sizeof(out->discount_id), "%s", d.id);
	for (i = 0; i < n; i++) {
		if (!amounts[i])
			continue;
		lines[i].discount_id = out->discount_id;
		lines[i].discount_amount = amounts[i];
		/* Each part is at most its line, and the lines' sum was checked
		 * by the pass: the sum of the parts fits. */
		out->total += amounts[i];
		took = true;
	}
	if (!took)
		out->discount_id[0] = '\0';
	if (commit && !keep_id && took && t.duration == BILLING__COUPON_ONCE)
		rc = billing__discount_used(ctx, tx, tenant_id, &d, at);
out:
	terms_free(&t);
	billing__free(dl);
	billing__free(amounts);
	billing__free(pid);
	return rc;
}

int billing__invoice_discount_finalized(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *discount_id, int64_t at)
{
	struct billing__discount_info d;
	struct terms t;
	int rc;

	memset(&t, 0, sizeof(t));
	if ((rc = ctx->st->record_read(tx, &billing__res_discount, tenant_id, discount_id,
		BILLING_LOCK_NONE, info_row, &d)) < 0 ||
	    (rc = ctx->st->record_read(tx, &billing__res_coupon, tenant_id, d.coupon_id,
		BILLING_LOCK_NONE, coupon_row, &t)) < 0)
		goto out;
	if (t.duration == BILLING__COUPON_ONCE)
		rc = billing__discount_used(ctx, tx, tenant_id, &d, at);
out:
	terms_free(&t);
	return rc;
}
