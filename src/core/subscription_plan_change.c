/*
 * Change of plan: now (with prorations on the next invoice, an invoice of
 * its own, or none; a new interval restarts the cycle) or at the period end
 * (a pending plan the billing run applies), and the proration lines that a
 * cancellation's credit shares.
 */
#include <cJSON.h>
#include <string.h>

#include "core/calendar.h"
#include "core/core.h"
#include "core/entity.h"
#include "core/invoice_internal.h"
#include "core/subscription_internal.h"

/* A proration line: the full-period amount of quantity of the plan (its
 * price model), times part over whole seconds, half away from zero,
 * negative for a credit; without the model's tiers. */
int billing__subscription_proration_line(billing_invoice_line *line, const billing__plan_info *plan,
	int32_t quantity, int64_t from, int64_t to, int64_t part, int64_t whole, bool credit,
	char *desc, size_t desc_size)
{
	int64_t amount;
	int rc;
	if ((rc = billing__plan_line_untiered(line, plan, quantity, from, to, desc, desc_size,
		credit ? "Unused time on " : "Remaining time on ")) < 0)
		return rc;
	if ((rc = billing__prorate(&amount, line->amount, part, whole)) < 0)
		return rc;
	line->amount = credit ? -amount : amount;
	line->proration = 1;
	return BILLING_OK;
}

/* ------------------------------------------------------------ change of plan */

const char *billing_proration_behavior_name(billing_proration_behavior b)
{
	switch (b) {
	case BILLING_PRORATE_CREATE: return "create_prorations";
	case BILLING_PRORATE_ALWAYS_INVOICE: return "always_invoice";
	case BILLING_PRORATE_NONE: return "none";
	default: return NULL;
	}
}

struct switching {
	const billing_subscription_change_params *p;
	billing__plan_info old_plan, new_plan;
	char desc_credit[600], desc_charge[600];
	char invoice_id[BILLING_ID_MAX];
	char usage_invoice_id[BILLING_ID_MAX];
	char *items_json;               /* the first item's new plan (subscription_item.c) */
};

static int switch_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct switching *sw = payload;
	const billing_subscription *cur = current;
	billing_subscription_record *r = record;
	billing__plan_info *np = &sw->new_plan, *op = &sw->old_plan;
	billing_invoice_line credit, charge, both[2];
	size_t n = 0;
	int64_t now = billing__now(ctx), t, whole, unused;
	int32_t qty;
	bool same_cycle;
	int rc;

	/* An incomplete one has paid nothing to prorate: cancel it and
	 * subscribe again. */
	if (billing__subscription_ended(cur->status) || cur->status == BILLING_SUB_PAUSED ||
	    cur->status == BILLING_SUB_INCOMPLETE)
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"a %s subscription cannot change plan",
			billing_subscription_status_name(cur->status));
	rc = billing__plan_info_get(np, ctx, tx, cur->tenant_id, sw->p->plan_id);
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && np->deleted_at))
		return billing__subscription_missing("planId", "plan");
	if (rc < 0)
		return rc;
	if (!np->active)
		return billing__error_field(BILLING_EINVALID, "plan_inactive", "planId",
			"the plan is not active");
	if (strcmp(np->id, cur->plan_id) == 0) {
		/* Back to the current plan now: that only drops a scheduled change. */
		if (!cur->pending_plan_id || sw->p->at_period_end)
			return billing__error_field(BILLING_EINVALID, "same_plan", "planId",
				"the subscription is on this plan already");
		billing__subscription_record_of(r, cur);
		r->pending_plan_id = NULL;
		r->updated_at = now;
		r->version++;
		return billing__subscription_emit(ctx, tx, r, "subscription.updated");
	}
	if (strcmp(np->currency, cur->currency) != 0)
		return billing__error_field(BILLING_EINVALID, "currency_mismatch", "planId",
			"the plan is in %s, the subscription in %s", np->currency, cur->currency);
	if ((rc = billing__plan_info_get(op, ctx, tx, cur->tenant_id, cur->plan_id)) < 0)
		return rc;
	/* A metered plan's item has no quantity (0); a licensed plan's keeps
	 * the current one, or 1 coming from a metered plan. A change for the
	 * period end leaves that to the renewal (subscription_calendar.c). */
	if ((rc = billing__sub_item_quantity_check(np, sw->p->quantity, "quantity")) < 0)
		return rc;
	qty = sw->p->quantity ? sw->p->quantity : cur->quantity;
	if (!sw->p->at_period_end)
		qty = billing__sub_item_quantity_stored(np, qty);
	/* The other items keep the calendar: a new interval is for a
	 * subscription of one item. */
	if ((np->interval != op->interval || np->interval_count != op->interval_count) &&
	    (rc = billing__subscription_items_single(ctx, tx, cur->tenant_id, cur->id)) < 0)
		return rc;

	billing__subscription_record_of(r, cur);
	r->quantity = qty;
	r->updated_at = now;
	r->version++;
	if (sw->p->at_period_end) {
		/* A downgrade, typically: the customer keeps what was paid for
		 * until the period ends, then the run moves it to the new plan. */
		r->pending_plan_id = np->id;
		if ((rc = billing__subscription_schedule(ctx, tx, r)) < 0)
			return rc;
		return billing__subscription_emit(ctx, tx, r, "subscription.updated");
	}
	if (op->usage_type == BILLING__USAGE_METERED && r->status != BILLING_SUB_TRIALING &&
	    now > r->current_period_start &&
	    (np->usage_type != BILLING__USAGE_METERED || strcmp(np->meter_id, op->meter_id) != 0)) {
		/* Away from a metered plan: its usage so far of the period, billed
		 * now on an invoice of its own (as cancel now; docs/usage.md). To a
		 * metered plan of the same meter, the renewal bills the whole
		 * period's usage at the new plan's price instead. */
		if ((rc = billing__subscription_item_usage_invoice(ctx, tx, r, op, now,
			sw->usage_invoice_id)) < 0)
			return rc;
		r->latest_invoice_id = sw->usage_invoice_id;
	}
	r->plan_id = np->id;
	r->pending_plan_id = NULL; /* an immediate change replaces a scheduled one */
	/* The first item takes the plan. */
	if ((rc = billing__subscription_items_follow(ctx, tx, r, now, &sw->items_json)) < 0)
		return rc;
	same_cycle = np->interval == op->interval && np->interval_count == op->interval_count;
	t = now < r->current_period_start ? r->current_period_start : now;
	if ((rc = billing__subscription_whole(&whole, r->period_index, r->anchor,
		r->current_period_start, r->current_period_end, op)) < 0)
		return rc;
	unused = r->current_period_end > t ? r->current_period_end - t : 0;

	if (r->status == BILLING_SUB_TRIALING) {
		/* Nothing was charged for the trial: the new plan starts at its end. */
	} else if (!same_cycle && sw->p->proration == BILLING_PRORATE_NONE) {
		/* The new plan's cycle starts when the current period ends. */
		r->anchor = r->current_period_end;
		r->period_index = -1;
	} else if (!same_cycle) {
		/* A change of interval restarts the cycle now; the new period is
		 * invoiced at once, with the credit for the old plan's unused time
		 * (none of a metered plan: nothing of it was billed in advance). */
		if (op->usage_type != BILLING__USAGE_METERED &&
		    (rc = billing__subscription_proration_line(&credit, op, cur->quantity, t,
			r->current_period_end, unused, whole, true, sw->desc_credit,
			sizeof(sw->desc_credit))) < 0)
			return rc;
		r->anchor = t;
		r->period_index = 0;
		if ((rc = billing__subscription_period_bounds(&r->current_period_start,
			&r->current_period_end, np, t, 0)) < 0)
			return rc;
		if ((rc = billing__subscription_invoice_period(ctx, tx, r, np, r->current_period_start,
			r->current_period_end, false, op->usage_type != BILLING__USAGE_METERED ? &credit : NULL,
			sw->invoice_id)) < 0)
			return rc;
		r->latest_invoice_id = sw->invoice_id;
	} else if (sw->p->proration != BILLING_PRORATE_NONE && unused > 0) {
		/* A metered plan is billed in arrears, never in advance: no
		 * credit of the old one's unused time, no charge of the new one's
		 * (a line of quantity 0 either way). */
		if (op->usage_type != BILLING__USAGE_METERED) {
			if ((rc = billing__subscription_proration_line(&credit, op, cur->quantity, t,
				r->current_period_end, unused, whole, true, sw->desc_credit,
				sizeof(sw->desc_credit))) < 0)
				return rc;
			both[n++] = credit;
		}
		if (np->usage_type != BILLING__USAGE_METERED) {
			if ((rc = billing__subscription_proration_line(&charge, np, qty, t,
				r->current_period_end, unused, whole, false, sw->desc_charge,
				sizeof(sw->desc_charge))) < 0)
				return rc;
			both[n++] = charge;
		}
		if (sw->p->proration == BILLING_PRORATE_CREATE) {
			size_t i;
			for (i = 0; i < n; i++)
				if ((rc = billing__pending_line_add(ctx->st, tx, r->tenant_id, r->id,
					&both[i])) < 0)
					return rc;
		} else if (n) {
			billing__invoice_draft d = { 0 };
			d.tenant_id = r->tenant_id;
			d.customer_id = r->customer_id;
			d.subscription_id = r->id;
			d.subscription = r;
			d.currency = r->currency;
			d.period_start = t;
			d.period_end = r->current_period_end;
			d.line_count = n;
			d.lines = both;
			if ((rc = billing__invoice_issue(ctx, tx, &d, sw->invoice_id)) < 0)
				return rc;
			r->latest_invoice_id = sw->invoice_id;
		}
	}
	if ((rc = billing__subscription_schedule(ctx, tx, r)) < 0)
		return rc;
	return billing__subscription_emit(ctx, tx, r, "subscription.updated");
}

static int subscription_change_once(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_subscription_change_params *p,
	const billing_call_options *opts)
{
	billing__checks c = BILLING__CHECKS_INIT;
	billing_subscription_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct switching *sw;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_SUBSCRIPTIONS_CHANGE_PLAN)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_SUBSCRIPTION_CHANGE_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_subscription_change_params version %u", p->version);
	if (!p->plan_id)
		billing__check_fail(&c, "planId", "is required");
	if (!billing_proration_behavior_name(p->proration))
		billing__check_fail(&c, "prorationBehavior",
			"must be create_prorations, always_invoice or none");
	if (p->quantity < 0 || p->quantity > BILLING__SUBSCRIPTION_QUANTITY_MAX)
		billing__check_fail(&c, "quantity", "must be between 1 and %d",
			BILLING__SUBSCRIPTION_QUANTITY_MAX);
	if ((rc = billing__checks_finish(&c, "change of plan")) < 0)
		return rc;
	if (!billing__id_arg_ok(p->plan_id, "plan"))
		return billing__subscription_missing("planId", "plan");
	if (!billing__id_arg_ok(id, "sub"))
		return billing__not_found("subscription");
	billing__buf_add(&input, "id", id);
	billing__buf_add(&input, "planId", p->plan_id);
	billing__buf_add_i64(&input, "proration", p->proration);
	billing__buf_add_i64(&input, "quantity", p->quantity);
	billing__buf_add_i64(&input, "atPeriodEnd", p->at_period_end);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_SUBSCRIPTIONS_CHANGE_PLAN,
		&input)) < 0)
		return rc;
	/* The step's scratch (two plans, descriptions) is too big for a stack
	 * frame that also holds a record. */
	if ((sw = billing__calloc(1, sizeof(*sw))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	sw->p = p;
	rc = billing__entity_update((void **)out, &billing__subscription_entity, ctx, who->tenant_id,
		id, &idem, 0, &r, switch_step, sw);
	cJSON_free(sw->items_json);
	billing__free(sw);
	return rc;
}

static int subscription_change_retry(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_subscription_change_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(subscription_change_once(out, ctx, who, id, p, opts));
}

int billing_subscription_change_plan(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_subscription_change_params *p,
	const billing_call_options *opts)
{
	return billing__subscription_collected(out, ctx, who,
		subscription_change_retry(out, ctx, who, id, p, opts));
}
