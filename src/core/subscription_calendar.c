/*
 * The subscription's calendar. Periods come from the anchor
 * (billing__period_start): period n is [start(n), start(n + 1)). A trial is
 * the span before the anchor, period index -1. Each subscription that will
 * be billed again keeps one row of due work at the end of its current
 * period; billing_run_due() takes it from there
 * (billing__subscription_advance: a renewal, the end of a trial or of the
 * term, a cancellation or plan change at the period end), and a call on a
 * subscription the run is late for catches up first. The invoice of a
 * period, and the preview of the next one, are made here.
 */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/calendar.h"
#include "core/core.h"
#include "core/entity.h"
#include "core/invoice_internal.h"
#include "core/invoice_item.h"
#include "core/meter.h"
#include "core/payment_internal.h"
#include "core/txn.h"
#include "core/subscription_internal.h"

/* ------------------------------------------------------------ periods */

/* [start, end) of period n of the plan's schedule from anchor. */
int billing__subscription_period_bounds(int64_t *start, int64_t *end,
	const billing__plan_info *plan, int64_t anchor, int64_t n)
{
	int rc;

	if ((rc = billing__period_start(start, anchor, (billing_interval)plan->interval,
		plan->interval_count, n)) < 0 ||
	    (rc = billing__period_start(end, anchor, (billing_interval)plan->interval,
		plan->interval_count, n + 1)) < 0) {
		if (rc == BILLING_EOVERFLOW)
			return billing__error_set(BILLING_EOVERFLOW, "period_overflow",
				"the subscription's periods would run past the year 9999");
		return rc;
	}
	return BILLING_OK;
}

int billing__subscription_whole(int64_t *out, int64_t period_index, int64_t anchor,
	int64_t start, int64_t end, const billing__plan_info *plan)
{
	int64_t before;
	int rc;

	if (period_index != BILLING__PERIOD_PARTIAL) {
		*out = end - start;
		return BILLING_OK;
	}
	if ((rc = billing__period_start_before(&before, anchor, (billing_interval)plan->interval,
		plan->interval_count)) < 0)
		return rc;
	*out = anchor - before;
	return BILLING_OK;
}

/* Lines gathered for one invoice; strings of pending lines are owned. */
struct lines {
	size_t n, cap;
	billing_invoice_line *v;
	char **owned;
	size_t nowned;
};

static void lines_free(struct lines *l)
{
	size_t i;
	for (i = 0; i < l->nowned; i++)
		billing__free(l->owned[i]);
	billing__free(l->owned);
	billing__free(l->v);
	memset(l, 0, sizeof(*l));
}

static int lines_push(struct lines *l, const billing_invoice_line *line, bool copy)
{
	billing_invoice_line *x;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		billing_invoice_line *v = billing__realloc(l->v, cap * sizeof(*v));
		char **owned;
		if (!v)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		l->v = v;
		if ((owned = billing__realloc(l->owned, cap * BILLING__LINE_STRINGS * sizeof(*owned))) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		l->owned = owned;
		l->cap = cap;
	}
	x = &l->v[l->n++];
	*x = *line;
	if (copy) {
		x->description = l->owned[l->nowned++] = billing__strdup(line->description);
		x->plan_id = l->owned[l->nowned++] = billing__strdup(line->plan_id);
		x->subscription_item_id = l->owned[l->nowned++] =
			billing__strdup(line->subscription_item_id);
		x->tiers = l->owned[l->nowned++] = billing__strdup(line->tiers);
		if (!x->description || (line->plan_id && !x->plan_id) || (line->tiers && !x->tiers) ||
		    (line->subscription_item_id && !x->subscription_item_id))
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	return BILLING_OK;
}

/* The lines of from (NULL: none) after l's; their strings stay from's. */
static int lines_append(struct lines *l, const struct lines *from)
{
	size_t i;
	int rc = BILLING_OK;
	for (i = 0; from && rc == BILLING_OK && i < from->n; i++)
		rc = lines_push(l, &from->v[i], false);
	return rc;
}

static int pending_row(void *payload, const void *record)
{
	return lines_push(payload, record, true);
}

static int item_line(void *payload, const billing_invoice_line *line)
{
	return lines_push(payload, line, true);
}

/*
 * The lines of the subscription's invoice of period [start, end), as
 * finalization makes them: one line per item (priced by mode: zero ones
 * for a trial, prorated ones for a partial period before an anchor; the
 * plan the first item takes, pending_plan_id, when a change waits for this
 * period; none for a metered item), extra, usage (a closed period's lines
 * in arrears, or NULL), then the lines waiting for this invoice (prorations),
 * then the subscription's invoice items waiting (a setup fee) in its
 * currency. *none_pending says no pending line was read. The billing run
 * and the preview both gather them here, so a preview shows what the
 * renewal will bill.
 */
static int period_lines(billing_ctx *ctx, billing_txn *tx, const billing_subscription_record *r,
	const char *pending_plan_id, int64_t start, int64_t end, int mode,
	const billing_invoice_line *extra, const struct lines *usage, struct lines *l,
	billing__items *items, bool *none_pending)
{
	bool none_items = false;
	size_t i;
	int rc;

	*none_pending = false;
	if ((rc = billing__subscription_item_lines(ctx, tx, r, pending_plan_id, start, end, mode,
		item_line, l)) < 0 ||
	    (extra && (rc = lines_push(l, extra, false)) < 0) ||
	    (rc = lines_append(l, usage)) < 0 ||
	    (rc = billing__batch_no_pending(ctx, tx, r->tenant_id, r->id, none_pending)) < 0 ||
	    (!*none_pending && (rc = billing__list_owned(ctx->st, tx, &billing__res_pending_line,
		r->tenant_id, r->id, pending_row, l)) < 0))
		return rc;
	/* The items are then on this invoice (invoice_item.c). */
	if ((rc = billing__batch_no_items(ctx, tx, r->tenant_id, r->id, &none_items)) < 0 ||
	    (!none_items && (rc = billing__items_pending(items, ctx, tx, r->tenant_id,
		r->customer_id, r->id, r->currency)) < 0))
		return rc;
	for (i = 0; rc == BILLING_OK && i < items->n; i++)
		rc = lines_push(l, &items->lines[i], false);
	return rc;
}

/*
 * Issues the invoice of period [start, end) with period_lines' lines; the
 * pending lines are then gone and the items on it (plan is the first
 * item's, the calendar's). With draft_delay > 0 (a renewal of a tenant that
 * keeps renewals as drafts) the invoice is a draft the run finalizes later.
 */
static int invoice_period(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const billing__plan_info *plan, int64_t start,
	int64_t end, int mode,
	const billing_invoice_line *extra, const struct lines *usage, int64_t draft_delay,
	char invoice_id[BILLING_ID_MAX])
{
	billing__invoice_draft d = { 0 };
	struct lines l = { 0 };
	billing__items items = { 0 };
	bool none_pending = false;
	int rc;

	(void)plan;
	if ((rc = period_lines(ctx, tx, r, NULL, start, end, mode, extra, usage, &l, &items,
		&none_pending)) < 0)
		goto out;
	d.tenant_id = r->tenant_id;
	d.customer_id = r->customer_id;
	d.subscription_id = r->id;
	d.subscription = r;
	d.currency = r->currency;
	d.period_start = start;
	d.period_end = end;
	d.line_count = l.n;
	d.lines = l.v;
	rc = draft_delay > 0 ? billing__invoice_draft_issue(ctx, tx, &d, draft_delay, invoice_id) :
		billing__invoice_issue(ctx, tx, &d, invoice_id);
	if (rc == BILLING_OK && !none_pending)
		rc = billing__owned_delete(ctx->st, tx, &billing__res_pending_line, r->tenant_id,
			r->id);
	if (rc == BILLING_OK)
		rc = billing__items_attach(ctx, tx, &items, invoice_id);
out:
	billing__items_free(&items);
	lines_free(&l);
	return rc;
}

int billing__subscription_invoice_period(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const billing__plan_info *plan, int64_t start,
	int64_t end, int mode,
	const billing_invoice_line *extra, char invoice_id[BILLING_ID_MAX])
{
	return invoice_period(ctx, tx, r, plan, start, end, mode, extra, NULL, 0, invoice_id);
}

/* Cancel now with prorations while r's renewal is still a draft: the
 * period was never charged, so the draft bills the used time instead of the
 * period, and nothing is credited. *done says r's latest invoice was that
 * draft. The draft is locked after the subscription, against txn.h's order
 * (3): a run finalizing it at that moment takes them the other way round;
 * on PostgreSQL the deadlock is broken and BILLING__RETRY runs the loser
 * again, which then finds the draft finalized (and credits as usual) or
 * the subscription canceled. */
static int cancel_draft(billing_ctx *ctx, billing_txn *tx, const billing_subscription_record *r,
	int64_t from, bool *done)
{
	billing_invoice *inv = NULL;
	struct lines l = { 0 };
	int rc;

	*done = false;
	if (!r->latest_invoice_id)
		return BILLING_OK;
	if ((rc = billing__invoice_load(&inv, ctx, tx, r->tenant_id, r->latest_invoice_id)) < 0)
		return rc;
	if (inv->status == BILLING_INVOICE_DRAFT && inv->period_start == r->current_period_start) {
		if ((rc = billing__subscription_item_used(ctx, tx, r, from, item_line, &l)) == 0)
			rc = billing__invoice_draft_period_used(ctx, tx, inv, l.v, l.n);
		*done = rc == BILLING_OK;
	}
	lines_free(&l);
	billing_invoice_free(inv);
	return rc;
}

int billing__subscription_credit_invoice(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t from, char invoice_id[BILLING_ID_MAX])
{
	billing__invoice_draft d = { 0 };
	struct lines l = { 0 };
	bool done = false;
	int rc;

	if ((rc = cancel_draft(ctx, tx, r, from, &done)) < 0)
		return rc;
	if (done) {
		snprintf(invoice_id, BILLING_ID_MAX, "%s", r->latest_invoice_id);
		return BILLING_OK;
	}
	if ((rc = billing__subscription_item_credits(ctx, tx, r, from, item_line, &l)) == 0) {
		d.tenant_id = r->tenant_id;
		d.customer_id = r->customer_id;
		d.subscription_id = r->id;
		d.subscription = r;
		d.currency = r->currency;
		d.period_start = from;
		d.period_end = r->current_period_end;
		d.line_count = l.n;
		d.lines = l.v;
		rc = billing__invoice_issue(ctx, tx, &d, invoice_id);
	}
	lines_free(&l);
	return rc;
}

/* Issues r's usage invoice of lines for [period start, end): the cancel-now
 * and change-now invoices (reason NULL) and a threshold's. */
static int usage_invoice_issue(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t end, billing_invoice_line *lines, size_t n,
	const char *reason, char invoice_id[BILLING_ID_MAX])
{
	billing__invoice_draft d = { 0 };

	d.tenant_id = r->tenant_id;
	d.customer_id = r->customer_id;
	d.subscription_id = r->id;
	d.subscription = r;
	d.currency = r->currency;
	d.period_start = r->current_period_start;
	d.period_end = end;
	d.line_count = n;
	d.lines = lines;
	d.billing_reason = reason;
	return billing__invoice_issue(ctx, tx, &d, invoice_id);
}

int billing__subscription_usage_invoice(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t to, char invoice_id[BILLING_ID_MAX],
	bool *issued)
{
	struct lines l = { 0 };
	int64_t wait;
	bool metered = false;
	int rc;

	*issued = false;
	if ((rc = billing__subscription_usage_wait(&wait, &metered, ctx, tx, r)) < 0 || !metered)
		return rc;
	if ((rc = billing__subscription_usage_lines(ctx, tx, r, r->current_period_start, to, true,
		item_line, &l)) == BILLING_OK && l.n &&
	    (rc = usage_invoice_issue(ctx, tx, r, to, l.v, l.n, NULL, invoice_id)) == BILLING_OK)
		*issued = true;
	lines_free(&l);
	return rc;
}

int billing__subscription_item_usage_invoice(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const billing__plan_info *plan, int64_t to,
	char invoice_id[BILLING_ID_MAX])
{
	billing_invoice_line line;
	billing__sub_items it;
	int64_t value, events;
	char *desc;
	int rc;

	if ((desc = billing__malloc(BILLING__PLAN_LINE_TEXT)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((rc = billing__sub_items_load(&it, ctx, tx, r->tenant_id, r->id)) < 0) {
		billing__free(desc);
		return rc;
	}
	rc = billing__usage_value(&value, &events, ctx, tx, r->tenant_id, plan->meter_id,
		r->customer_id, r->current_period_start, to, true);
	/* As billing__subscription_usage_lines: a line's quantity is an int32. */
	if (rc == BILLING_OK && value > INT32_MAX)
		rc = billing__error_set(BILLING_EOVERFLOW, "usage_too_large",
			"the usage of plan %s (%lld) does not fit a line's quantity", plan->id,
			(long long)value);
	if (rc == BILLING_OK)
		rc = billing__plan_line(&line, plan, value < 0 ? 0 : (int32_t)value,
			r->current_period_start, to, desc, BILLING__PLAN_LINE_TEXT, "Usage: ");
	/* Less what threshold invoices of the period billed of it. */
	if (rc == BILLING_OK && it.n)
		rc = billing__usage_line_billed(ctx, tx, r, it.v[0]->id, plan,
			r->current_period_start, value < 0 ? 0 : (int32_t)value, BILLING__USAGE_CLOSE,
			&line, desc, BILLING__PLAN_LINE_TEXT);
	if (rc == BILLING_OK) {
		/* The first item is the one on r's plan (subscription_item.c). */
		line.subscription_item_id = it.n ? it.v[0]->id : NULL;
		rc = usage_invoice_issue(ctx, tx, r, to, &line, 1, NULL, invoice_id);
	}
	billing__sub_items_free(&it);
	billing__free(desc);
	return rc;
}

/* ------------------------------------------------------------ spend thresholds */

/*
 * A spend threshold (docs/usage.md): the usage of r's current period not
 * billed yet, the sum over its metered items of price(running aggregate)
 * less what earlier threshold invoices of the period billed of each; at
 * amountGte or more, one invoice now of a line per item with something new
 * (the same computation, the billed rows moved to the running values in
 * this transaction), [period start, now). Only while the period runs: from
 * its end on, the period's own invoice bills the rest.
 */
int billing__subscription_threshold_eval(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t now, char invoice_id[BILLING_ID_MAX],
	bool *issued)
{
	struct lines l = { 0 };
	int64_t unbilled = 0;
	size_t i;
	int rc;

	*issued = false;
	if (!r->threshold_amount_gte ||
	    (r->status != BILLING_SUB_ACTIVE && r->status != BILLING_SUB_PAST_DUE) ||
	    now >= r->current_period_end || now <= r->current_period_start)
		return BILLING_OK;
	if ((rc = billing__subscription_usage_lines(ctx, tx, r, r->current_period_start,
		r->current_period_end, BILLING__USAGE_RUNNING, item_line, &l)) < 0)
		goto out;
	/* At most 20 items of at most 2 x BILLING_AMOUNT_MAX each. */
	for (i = 0; i < l.n; i++)
		unbilled += l.v[i].amount;
	lines_free(&l);
	if (unbilled < r->threshold_amount_gte)
		goto out;
	if ((rc = billing__subscription_usage_lines(ctx, tx, r, r->current_period_start,
		r->current_period_end, BILLING__USAGE_THRESHOLD, item_line, &l)) < 0 || !l.n)
		goto out;
	for (i = 0; i < l.n; i++)
		l.v[i].period_end = now;
	if ((rc = usage_invoice_issue(ctx, tx, r, now, l.v, l.n, "subscription_threshold",
		invoice_id)) == BILLING_OK)
		*issued = true;
out:
	lines_free(&l);
	return rc;
}

int billing__usage_threshold_due(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now, char invoice_id[BILLING_ID_MAX], bool *issued)
{
	billing_subscription *cur = NULL;
	billing_subscription_record r;
	int rc;

	*issued = false;
	/* The subscription: its own due work, then the row (txn.h's order),
	 * as a renewal holds it. */
	rc = billing__entity_get_in((void **)&cur, &billing__subscription_entity, ctx, tx,
		tenant_id, id);
	if (rc == BILLING_OK) {
		billing__subscription_record_of(&r, cur);
		rc = billing__subscription_threshold_eval(ctx, tx, &r, now, invoice_id, issued);
	} else if (rc == BILLING_ENOTFOUND) {
		rc = BILLING_OK;
	}
	if (rc == BILLING_OK)
		rc = ctx->st->due_clear(tx, tenant_id, BILLING__DUE_THRESHOLD, id);
	billing_subscription_free(cur);
	return rc;
}

static int threshold_once(billing_ctx *ctx, const char *tenant_id, const char *id,
	char invoice_id[BILLING_ID_MAX], bool *issued)
{
	billing_txn *tx;
	int rc;

	*issued = false;
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	/* The due work first, as the billing run claims it. */
	if ((rc = billing__due_lock(ctx->st, tx, tenant_id, BILLING__DUE_THRESHOLD, id, 0)) == 0)
		rc = billing__usage_threshold_due(ctx, tx, tenant_id, id, billing__now(ctx),
			invoice_id, issued);
	rc = billing__end(ctx, tx, rc);
	if (rc < 0)
		*issued = false;
	return rc;
}

static int threshold_retry(billing_ctx *ctx, const char *tenant_id, const char *id,
	char invoice_id[BILLING_ID_MAX], bool *issued)
{
	BILLING__RETRY(threshold_once(ctx, tenant_id, id, invoice_id, issued));
}

int billing__usage_threshold_run(billing_ctx *ctx, const char *tenant_id, const char *id,
	bool *issued)
{
	char invoice_id[BILLING_ID_MAX];
	int rc = threshold_retry(ctx, tenant_id, id, invoice_id, issued);
	/* Collected as a call's invoice is (the due work stays for the run
	 * when this fails). */
	if (rc == BILLING_OK && *issued && ctx->provider) {
		billing__collect_now(ctx, tenant_id, invoice_id);
		billing_error_clear();
	}
	return rc;
}

/* ------------------------------------------------------------ the run */

/* The last invoice of a subscription that ends at its period's end (r's
 * period is still the one that ends): its metered items' usage of that
 * period, when it has any metered item. */
static int usage_final_invoice(billing_ctx *ctx, billing_txn *tx,
	billing_subscription_record *r, const struct lines *usage,
	char invoice_id[BILLING_ID_MAX], int *invoiced)
{
	billing__invoice_draft d = { 0 };
	int rc;

	if (!usage->n)
		return BILLING_OK;
	d.tenant_id = r->tenant_id;
	d.customer_id = r->customer_id;
	d.subscription_id = r->id;
	d.subscription = r;
	d.currency = r->currency;
	d.period_start = r->current_period_start;
	d.period_end = r->current_period_end;
	d.line_count = usage->n;
	d.lines = usage->v;
	if ((rc = billing__invoice_issue(ctx, tx, &d, invoice_id)) < 0)
		return rc;
	r->latest_invoice_id = invoice_id;
	*invoiced = 1;
	return BILLING_OK;
}

static int draft_delay_row(void *payload, const void *record)
{
	*(int64_t *)payload = ((const billing_tenant_record *)record)->renewal_draft_delay;
	return BILLING_OK;
}

int billing__subscription_advance(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now, int *invoiced)
{
	billing_subscription *cur = NULL;
	billing_subscription_record r;
	billing__plan_info plan;
	char invoice_id[BILLING_ID_MAX], *items = NULL;
	const char *event = "subscription.updated";
	struct lines usage = { 0 };
	int64_t t, pstart, pend, wait = 0;
	bool metered = false;
	int rc;

	*invoiced = 0;
	{
		/* An incomplete subscription's due work is its expiry, which
		 * locks its invoice before it (txn.h): done there. */
		bool handled = false;
		if ((rc = billing__subscription_incomplete_due(ctx, tx, tenant_id, id, now,
			&handled)) < 0 || handled)
			return rc;
	}
	rc = billing__entity_get_in((void **)&cur, &billing__subscription_entity, ctx, tx, tenant_id,
		id);
	if (rc == BILLING_ENOTFOUND)
		return ctx->st->due_clear(tx, tenant_id, BILLING__DUE_SUBSCRIPTION, id);
	if (rc < 0)
		return rc;
	if (cur->status == BILLING_SUB_INCOMPLETE) {
		/* Only in a batch of the run (billing__subscription_incomplete_due
		 * read nothing there): its expiry locks the invoice before the
		 * subscription, so the batch is done one renewal at a time. */
		rc = billing__error_set(BILLING_ECONFLICT, "incomplete_in_batch",
			"subscription %s is incomplete: expired alone", id);
		goto out;
	}
	billing__subscription_record_of(&r, cur);
	if (!billing__subscription_ended(r.status) && r.status != BILLING_SUB_PAUSED &&
	    (rc = billing__subscription_usage_wait(&wait, &metered, ctx, tx, &r)) < 0)
		goto out;
	if (billing__subscription_ended(r.status) || r.status == BILLING_SUB_PAUSED ||
	    r.current_period_end + wait > now) {
		/* Nothing due (any more, or a metered item's grace window is not
		 * over): keep the schedule true to the row. */
		rc = billing__subscription_schedule(ctx, tx, &r);
		goto out;
	}
	if ((rc = billing__plan_info_get(&plan, ctx, tx, tenant_id, r.plan_id)) < 0)
		goto out;
	t = r.current_period_end;
	/* The usage of the period that ends, billed in arrears whatever comes
	 * next (a renewal, a cancellation, the term's end), by the items and
	 * plans of that period (before a pending change), its aggregates
	 * stored here (docs/usage.md). */
	if (metered && (rc = billing__subscription_usage_lines(ctx, tx, &r,
		r.current_period_start, t, true, item_line, &usage)) < 0)
		goto out;
	r.updated_at = now;
	r.version++;
	if (r.cancel_at_period_end) {
		/* The end takes effect at the scheduled time, not the run's. */
		r.status = BILLING_SUB_CANCELED;
		r.ended_at = t;
		r.cancel_at_period_end = 0;
		event = "subscription.canceled";
		if ((rc = usage_final_invoice(ctx, tx, &r, &usage, invoice_id, invoiced)) < 0)
			goto out;
	} else if (plan.term_count && r.period_index + 1 >= plan.term_count) {
		if ((rc = billing__subscription_transition(r.status, BILLING_SUB_EXPIRED)) < 0)
			goto out;
		r.status = BILLING_SUB_EXPIRED;
		r.ended_at = t;
		event = "subscription.expired";
		if ((rc = usage_final_invoice(ctx, tx, &r, &usage, invoice_id, invoiced)) < 0)
			goto out;
	} else {
		int64_t n = r.period_index == BILLING__PERIOD_PARTIAL ? 0 : r.period_index + 1;
		bool trial_ends = r.status == BILLING_SUB_TRIALING;
		int mode = BILLING__LINES_FULL;
		if (r.pending_plan_id) {
			/* A change scheduled for this period end takes effect now; a
			 * new interval starts its cycle here. */
			billing__plan_info next;
			if ((rc = billing__plan_info_get(&next, ctx, tx, tenant_id,
				r.pending_plan_id)) < 0)
				goto out;
			if (next.interval != plan.interval || next.interval_count != plan.interval_count) {
				r.anchor = t;
				n = 0;
			}
			plan = next;
			r.plan_id = cur->pending_plan_id;
			r.pending_plan_id = NULL;
			/* None on a metered plan; at least 1 on a licensed one. */
			r.quantity = billing__sub_item_quantity_stored(&next, r.quantity);
			/* The first item takes the plan. */
			if ((rc = billing__subscription_items_follow(ctx, tx, &r, now, &items)) < 0)
				goto out;
		}
		if (r.anchor > t) {
			/* A trial that ends before the anchor asked for: the partial
			 * period up to it, prorated, is still period -1. */
			n = BILLING__PERIOD_PARTIAL;
			pstart = t;
			pend = r.anchor;
			mode = BILLING__LINES_PARTIAL;
		} else if ((rc = billing__subscription_period_bounds(&pstart, &pend, &plan, r.anchor,
			n)) < 0) {
			goto out;
		}
		if (trial_ends) {
			r.status = BILLING_SUB_ACTIVE;
			event = "subscription.trial_ended";
		}
		r.period_index = n;
		r.current_period_start = pstart;
		r.current_period_end = pend;
		/* The tenant may keep renewals as drafts for a while (items can be
		 * added); the period advances all the same. */
		int64_t delay = 0;
		if ((rc = billing__read(ctx->st, tx, &billing__res_tenant, NULL, tenant_id,
			BILLING_LOCK_NONE, draft_delay_row, &delay)) < 0 ||
		    (rc = invoice_period(ctx, tx, &r, &plan, pstart, pend, mode, NULL, &usage,
			delay, invoice_id)) < 0)
			goto out;
		r.latest_invoice_id = invoice_id;
		*invoiced = 1;
	}
	/* Each branch above moves only between states the table allows. */
	BILLING_ASSERT(billing__subscription_allowed((int)cur->status, r.status));
	if ((rc = ctx->st->record_update(tx, &billing__res_subscription, &r, cur->version)) == BILLING_OK &&
	    (rc = billing__subscription_schedule(ctx, tx, &r)) == BILLING_OK)
		rc = billing__subscription_emit(ctx, tx, &r, event);
out:
	lines_free(&usage);
	cJSON_free(items);
	billing_subscription_free(cur);
	return rc;
}

/* Every renewal, trial end, term end and period-end change due at or before
 * now, applied as the billing run applies them (its due work then finds
 * nothing left): a cancel, change, update, pause or resume made while the
 * run is late acts on the period the customer is in, and that period is
 * billed — not skipped. */
static int due_by(bool *due, billing_ctx *ctx, billing_txn *tx, const billing_subscription *s,
	int64_t now)
{
	billing_subscription_record r;
	int64_t wait = 0;
	int rc;

	/* An incomplete one is not renewed; the billing run expires it. */
	*due = !billing__subscription_ended(s->status) && s->status != BILLING_SUB_PAUSED &&
		s->status != BILLING_SUB_INCOMPLETE && s->current_period_end <= now;
	if (!*due)
		return BILLING_OK;
	/* A metered item's grace window: as billing__subscription_advance. */
	billing__subscription_record_of(&r, s);
	if ((rc = billing__subscription_usage_wait(&wait, NULL, ctx, tx, &r)) < 0)
		return rc;
	*due = s->current_period_end + wait <= now;
	return BILLING_OK;
}

int billing__subscription_catch_up(billing_ctx *ctx, billing_txn *tx, const void *current,
	bool *changed)
{
	const billing_subscription *s = current;
	int64_t now = billing__now(ctx);
	bool due;
	int rc;

	if ((rc = due_by(&due, ctx, tx, s, now)) < 0)
		return rc;
	while (due) {
		billing_subscription *cur = NULL;
		int invoiced;

		if ((rc = billing__subscription_advance(ctx, tx, s->tenant_id, s->id, now,
			&invoiced)) < 0 ||
		    (rc = billing__entity_get_in((void **)&cur, &billing__subscription_entity, ctx, tx,
			s->tenant_id, s->id)) < 0)
			return rc;
		*changed = true;
		rc = due_by(&due, ctx, tx, cur, now);
		billing_subscription_free(cur);
		if (rc < 0)
			return rc;
	}
	return BILLING_OK;
}

/* ------------------------------------------------------------ preview */

int billing_invoice_preview(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *subscription_id)
{
	billing_subscription *cur = NULL;
	billing__invoice_draft d = { 0 };
	billing__plan_info plan;
	billing_subscription_record r;
	billing_invoice *inv = NULL;
	struct lines l = { 0 };
	billing__items items = { 0 };
	billing_txn *tx;
	int64_t pstart, pend;
	bool none_pending;
	int mode = BILLING__LINES_FULL, rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_PREVIEW)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	/* The id is a query's, not the resource's own: naming nothing is the
	 * input's fault (API-HTTP.md: 400 resource_missing). */
	if (!billing__id_arg_ok(subscription_id, "sub"))
		return billing__subscription_missing("subscriptionId", "subscription");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__entity_get_in((void **)&cur, &billing__subscription_entity, ctx, tx,
		who->tenant_id, subscription_id);
	if (rc == BILLING_ENOTFOUND)
		rc = billing__subscription_missing("subscriptionId", "subscription");
	if (rc < 0 ||
	    (rc = billing__plan_info_get(&plan, ctx, tx, who->tenant_id, cur->plan_id)) < 0)
		goto end;
	if (billing__subscription_ended(cur->status) || cur->cancel_at_period_end ||
	    (plan.term_count && cur->period_index + 1 >= plan.term_count)) {
		rc = billing__error_set(BILLING_ECONFLICT, "no_next_invoice",
			"the subscription will not be invoiced again");
		goto end;
	}
	if (cur->pending_plan_id) {
		billing__plan_info next;
		int64_t anchor = cur->anchor, n = cur->period_index == BILLING__PERIOD_PARTIAL ? 0 :
			cur->period_index + 1;
		if ((rc = billing__plan_info_get(&next, ctx, tx, cur->tenant_id,
			cur->pending_plan_id)) < 0)
			goto end;
		if (next.interval != plan.interval || next.interval_count != plan.interval_count) {
			anchor = cur->current_period_end;
			n = 0;
		}
		plan = next;
		if (anchor > cur->current_period_end) {
			pstart = cur->current_period_end;
			pend = anchor;
			mode = BILLING__LINES_PARTIAL;
		} else {
			rc = billing__subscription_period_bounds(&pstart, &pend, &plan, anchor, n);
		}
	} else if (cur->anchor > cur->current_period_end) {
		/* A trial before an anchor: the partial period up to it. */
		pstart = cur->current_period_end;
		pend = cur->anchor;
		mode = BILLING__LINES_PARTIAL;
	} else {
		rc = billing__subscription_period_bounds(&pstart, &pend, &plan, cur->anchor,
			cur->period_index == BILLING__PERIOD_PARTIAL ? 0 : cur->period_index + 1);
	}
	if (rc < 0)
		goto end;
	billing__subscription_record_of(&r, cur);
	if ((rc = period_lines(ctx, tx, &r, cur->pending_plan_id, pstart, pend, mode, NULL,
		NULL, &l, &items, &none_pending)) < 0 ||
	    /* The current period's running usage, which the renewal bills in
	     * arrears (none after a trial). */
	    (r.status != BILLING_SUB_TRIALING && (rc = billing__subscription_usage_lines(ctx, tx,
		&r, r.current_period_start, r.current_period_end, false, item_line, &l)) < 0))
		goto end;
	d.tenant_id = cur->tenant_id;
	d.customer_id = cur->customer_id;
	d.subscription_id = cur->id;
	d.currency = cur->currency;
	d.period_start = pstart;
	d.period_end = pend;
	d.line_count = l.n;
	d.lines = l.v;
	/* The customer's balance applied as finalizing would. */
	if ((rc = billing__invoice_preview_build(&inv, ctx, tx, &d)) < 0 ||
	    (rc = billing__invoice_preview_balance(ctx, tx, inv)) < 0)
		goto end;
	*out = inv;
	inv = NULL;
end:
	billing_invoice_free(inv);
	billing__items_free(&items);
	lines_free(&l);
	billing_subscription_free(cur);
	return billing__end(ctx, tx, rc);
}
