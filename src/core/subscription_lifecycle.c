/*
 * The life of a subscription as its callers drive it: create (the first
 * invoice, collected at once; incomplete until it is paid when the payment
 * behavior asks for it, and the expiry of an incomplete one), cancel (now,
 * with an optional credit, or at the period end), update (quantity,
 * metadata, cancel at period end), pause and resume (a new cycle, invoiced
 * at once).
 */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/calendar.h"
#include "core/core.h"
#include "core/customer_balance.h"
#include "core/discount.h"
#include "core/entity.h"
#include "core/invoice_internal.h"
#include "core/payment_internal.h"
#include "core/invoice_tax.h"
#include "core/subscription_internal.h"

#define TRIAL_DAYS_MAX 730

/* ------------------------------------------------------------ create */

struct creating {
	const billing_subscription_params *p;
	billing_payment_behavior behavior;
	int64_t now;
	int64_t anchor;                          /* asked for; 0: none */
	bool anchor_free;                        /* the partial first period is free */
	bool trial;
	billing__plan_info plan;
	char currency[4];
	char invoice_id[BILLING_ID_MAX];
	billing_subscription_item_spec one;      /* the items (subscription_item.c) */
	const billing_subscription_item_spec *items;
	int32_t quantities[BILLING_SUBSCRIPTION_ITEMS_MAX];  /* stored; 0: metered */
	size_t item_count;
	char *items_json;
	char tax_rates[BILLING__TAX_RATES_TEXT];  /* version 4; "" when none */
	char discount[BILLING__DISCOUNT_TEXT_MAX];  /* the discount shown */
};

static int customer_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

/* The anchor asked for (cr->anchor, 0 for none) against from, the start
 * or the trial's end: not before it, and from not before the start of the
 * period that ends at the anchor (at most one interval ahead). Set to
 * from when it is the start itself (BILLING_ANCHOR_NOW). */
static int anchor_check(struct creating *cr, const billing__plan_info *plan, int64_t from)
{
	int64_t before;
	int rc;

	if (cr->anchor == BILLING_ANCHOR_NOW)
		cr->anchor = cr->trial ? cr->p->start_at ? cr->p->start_at : cr->now : from;
	if (cr->anchor == 0 || cr->anchor == from)
		return BILLING_OK;
	if (cr->anchor < from)
		return billing__error_field(BILLING_EINVALID, "invalid_anchor", "billingCycleAnchor",
			cr->trial ? "the billing cycle anchor must not be before the trial's end" :
			"the billing cycle anchor must not be before the start");
	rc = billing__period_start_before(&before, cr->anchor, (billing_interval)plan->interval,
		plan->interval_count);
	if (rc == BILLING_EOVERFLOW || (rc == BILLING_OK && before > from))
		return billing__error_field(BILLING_EINVALID, "invalid_anchor", "billingCycleAnchor",
			"the billing cycle anchor must be at most one interval of the plan after the %s",
			cr->trial ? "trial's end" : "start");
	return rc < 0 ? rc : BILLING_OK;
}

/* Before the insert: the customer and the plan exist in the tenant, the
 * plan is live, and the calendar: trial, anchor, first period. */
static int start(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct creating *cr = payload;
	billing_subscription_record *r = record;
	billing__plan_info *plan = &cr->plan;
	int32_t trial_days;
	int64_t start_at;
	int rc;
	(void)current;

	/* Not locked: the subscription's foreign key refuses a customer deleted
	 * meanwhile (txn.h). */
	rc = billing__read(ctx->st, tx, &billing__res_customer, r->tenant_id, r->customer_id, BILLING_LOCK_NONE,
		customer_row, NULL);
	if (rc == BILLING_ENOTFOUND)
		return billing__subscription_missing("customerId", "customer");
	if (rc < 0)
		return rc;
	rc = billing__plan_info_get(plan, ctx, tx, r->tenant_id, r->plan_id);
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && plan->deleted_at))
		return billing__subscription_missing(cr->items == &cr->one ? "planId" :
			"items[0].planId", "plan");
	if (rc < 0)
		return rc;
	if (!plan->active)
		return billing__error_field(BILLING_EINVALID, "plan_inactive", "planId",
			"the plan is not active");
	if ((rc = billing__sub_item_quantity_check(plan, cr->items[0].quantity,
		cr->items == &cr->one ? "quantity" : "items[0].quantity")) < 0 ||
	    (rc = billing__subscription_items_check(cr->quantities, ctx, tx, r->tenant_id,
		cr->items, cr->item_count, plan)) < 0)
		return rc;
	/* The first item's: none (0, NULL) on a metered plan. */
	r->quantity = cr->quantities[0];
	if (cr->p->version >= 7)
		r->threshold_amount_gte = cr->p->threshold_amount_gte;
	if (cr->tax_rates[0]) {
		int empty;
		if ((rc = billing__tax_rates_check(cr->tax_rates, &empty, ctx, tx, r->tenant_id,
			cr->tax_rates, "defaultTaxRates")) < 0)
			return rc;
		r->default_tax_rates_json = empty ? NULL : cr->tax_rates;
	}

	snprintf(cr->currency, sizeof(cr->currency), "%s", plan->currency);
	r->currency = cr->currency;
	start_at = cr->p->start_at ? cr->p->start_at : cr->now;
	trial_days = cr->p->has_trial_days ? cr->p->trial_days : plan->trial_days;
	cr->trial = trial_days > 0;
	if (cr->trial) {
		/* A trial is [start, trial end); the cycle is anchored at its end,
		 * or at the anchor asked for after it (the partial period between
		 * them is invoiced when the trial ends). */
		int64_t trial_end = start_at + (int64_t)trial_days * 86400;
		if (trial_end > BILLING_TIME_MAX)
			return billing__error_set(BILLING_EOVERFLOW, "period_overflow",
				"the trial would end past the year 9999");
		if ((rc = anchor_check(cr, plan, trial_end)) < 0)
			return rc;
		/* The partial period is invoiced when the trial ends, from the
		 * subscription's row alone: it is always prorated. */
		if (cr->anchor > trial_end && cr->anchor_free)
			return billing__error_field(BILLING_EINVALID, "invalid_anchor",
				"prorationBehavior", "none is not supported with a trial: the "
				"partial period after it is prorated");
		r->status = BILLING_SUB_TRIALING;
		r->anchor = cr->anchor > trial_end ? cr->anchor : trial_end;
		r->period_index = -1;
		r->current_period_start = start_at;
		r->current_period_end = trial_end;
		r->trial_end = trial_end;
		return BILLING_OK;
	}
	/* default_incomplete: no charge is planned for the first invoice
	 * (billing__collection_plan reads this status). */
	r->status = cr->behavior == BILLING_PAYMENT_BEHAVIOR_DEFAULT_INCOMPLETE ?
		BILLING_SUB_INCOMPLETE : BILLING_SUB_ACTIVE;
	if ((rc = anchor_check(cr, plan, start_at)) < 0)
		return rc;
	if (cr->anchor > start_at) {
		/* The partial first period [start, anchor), before period 0 of
		 * the anchor's schedule. */
		r->anchor = cr->anchor;
		r->period_index = BILLING__PERIOD_PARTIAL;
		r->current_period_start = start_at;
		r->current_period_end = cr->anchor;
		return BILLING_OK;
	}
	r->anchor = start_at;
	r->period_index = 0;
	return billing__subscription_period_bounds(&r->current_period_start, &r->current_period_end,
		plan, start_at, 0);
}

static int invoice_status_row(void *payload, const void *record)
{
	*(int *)payload = ((const billing_invoice_record *)record)->status;
	return BILLING_OK;
}

/* With a behavior other than past_due_on_failure, a first invoice that is
 * not paid once issued (a trial's, or one the balance covers, is) leaves
 * the subscription incomplete; else it is active. */
static int first_status(struct creating *cr, billing_ctx *ctx, billing_txn *tx,
	billing_subscription_record *r)
{
	int status = 0, rc;

	if (cr->trial || cr->behavior == BILLING_PAYMENT_BEHAVIOR_PAST_DUE_ON_FAILURE)
		return BILLING_OK;
	/* Read, not locked: the invoice was inserted by this transaction. */
	if ((rc = ctx->st->record_read(tx, &billing__res_invoice, r->tenant_id, cr->invoice_id,
		BILLING_LOCK_NONE, invoice_status_row, &status)) < 0)
		return rc;
	r->status = status == BILLING_INVOICE_PAID ? BILLING_SUB_ACTIVE : BILLING_SUB_INCOMPLETE;
	return BILLING_OK;
}

static int sum_line(void *payload, const billing_invoice_line *line)
{
	int64_t *sum = payload;
	if (__builtin_add_overflow(*sum, line->amount, sum))
		return billing__error_set(BILLING_EOVERFLOW, "overflow",
			"the first invoice's subtotal does not fit an amount");
	return BILLING_OK;
}

/* The subscription's discount (version 4's coupon or promotion code),
 * before its first invoice: a code's minimumAmount against that invoice's
 * subtotal (its items' lines; a trial's is 0). */
static int discounted(struct creating *cr, billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r)
{
	struct billing__discount_info d;
	billing__attach_params ap;
	int64_t subtotal = 0;
	int rc;

	if (cr->p->version < 4 || (!cr->p->coupon && !cr->p->promotion_code))
		return BILLING_OK;
	if (cr->p->promotion_code && (rc = billing__subscription_item_lines(ctx, tx, r, NULL,
		r->current_period_start, r->current_period_end, cr->trial, sum_line, &subtotal)) < 0)
		return rc;
	memset(&ap, 0, sizeof(ap));
	ap.customer_id = r->customer_id;
	ap.subscription_id = r->id;
	ap.coupon = cr->p->coupon;
	ap.promotion_code = cr->p->promotion_code;
	/* The first invoice's period starts at the start (a backdated one's
	 * too): the discount starts with it. */
	ap.now = r->current_period_start;
	ap.interval = cr->plan.interval;
	ap.interval_count = cr->plan.interval_count;
	ap.amount = subtotal;
	ap.currency = r->currency;
	return billing__discount_attach(&d, ctx, tx, r->tenant_id, &ap);
}

/* After the insert (the invoice references the subscription): the first
 * invoice, the due work, the event. */
static int started(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct creating *cr = payload;
	billing_subscription_record *r = record;
	int rc;
	(void)current;

	if ((rc = billing__subscription_items_insert(ctx, tx, r, cr->items, cr->quantities,
		cr->item_count, &cr->items_json)) < 0 ||
	    (rc = discounted(cr, ctx, tx, r)) < 0 ||
	    (rc = billing__subscription_invoice_period(ctx, tx, r, &cr->plan, r->current_period_start,
		r->current_period_end, cr->trial ? BILLING__LINES_TRIAL :
		r->period_index == BILLING__PERIOD_PARTIAL ? cr->anchor_free ? BILLING__LINES_FREE :
		BILLING__LINES_PARTIAL : BILLING__LINES_FULL, NULL, cr->invoice_id)) < 0)
		return rc;
	r->latest_invoice_id = cr->invoice_id;
	r->version++;
	/* The discount as the first invoice left it (a once one ended by it):
	 * the column is written; the answer and the event show it too. */
	if (cr->p->version >= 4 && (cr->p->coupon || cr->p->promotion_code) &&
	    (rc = billing__discount_shown(cr->discount, &r->discount_json, ctx, tx,
		r->tenant_id, r->customer_id, r->id)) < 0)
		return rc;
	if ((rc = first_status(cr, ctx, tx, r)) < 0 ||
	    (rc = ctx->st->record_update(tx, &billing__res_subscription, r, r->version - 1)) < 0 ||
	    (rc = billing__subscription_schedule(ctx, tx, r)) < 0)
		return rc;
	return billing__subscription_emit(ctx, tx, r, "subscription.created");
}

static int subscription_create_once(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_params *p,
	const billing_call_options *opts)
{
	billing__checks c = BILLING__CHECKS_INIT;
	billing_subscription_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct creating cr;
	char id[BILLING_ID_MAX], *metadata = NULL;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_SUBSCRIPTIONS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_SUBSCRIPTION_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_subscription_params version %u", p->version);
	memset(&cr, 0, sizeof(cr));
	cr.p = p;
	cr.now = billing__now(ctx);
	/* Version 1 has no payment_behavior: today's behavior. */
	cr.behavior = p->version >= 2 ? p->payment_behavior :
		BILLING_PAYMENT_BEHAVIOR_PAST_DUE_ON_FAILURE;
	if (!billing_payment_behavior_name(cr.behavior))
		billing__check_fail(&c, "paymentBehavior", "must be past_due_on_failure, "
			"allow_incomplete, error_if_incomplete or default_incomplete");
	if (!p->customer_id)
		billing__check_fail(&c, "customerId", "is required");
	billing__subscription_params_items(&c, p, &cr.one, &cr.items, &cr.item_count);
	if (p->has_trial_days && (p->trial_days < 0 || p->trial_days > TRIAL_DAYS_MAX))
		billing__check_fail(&c, "trialDays", "must be between 0 and %d", TRIAL_DAYS_MAX);
	if (p->start_at < 0 || p->start_at > cr.now)
		billing__check_fail(&c, "startAt", "must not be in the future");
	if (p->version >= 6) {
		cr.anchor = p->billing_cycle_anchor;
		if (cr.anchor != BILLING_ANCHOR_NOW && cr.anchor != 0 &&
		    (cr.anchor < cr.now || cr.anchor > BILLING_TIME_MAX))
			billing__check_fail(&c, "billingCycleAnchor", "must not be in the past");
		if (p->anchor_proration != BILLING_PRORATE_CREATE &&
		    p->anchor_proration != BILLING_PRORATE_NONE)
			billing__check_fail(&c, "prorationBehavior",
				"must be create_prorations or none at creation");
		cr.anchor_free = p->anchor_proration == BILLING_PRORATE_NONE;
	}
	if (p->version >= 7 && (rc = billing__subscription_threshold_check(&c,
		p->threshold_amount_gte, p->threshold_reset_anchor)) < 0)
		return rc;
	if ((rc = billing__metadata_encode(&c, p->metadata, p->metadata_count, &metadata)) < 0)
		return rc;
	if ((rc = billing__checks_finish(&c, "subscription")) < 0)
		goto out;
	if (p->version >= 5 && p->default_tax_rate_count &&
	    (rc = billing__tax_rate_ids_json(cr.tax_rates, p->default_tax_rates,
		p->default_tax_rate_count, "defaultTaxRates")) < 0)
		goto out;
	if (!billing__id_arg_ok(p->customer_id, "cus")) {
		rc = billing__subscription_missing("customerId", "customer");
		goto out;
	}
	if (!billing__id_arg_ok(cr.items[0].plan_id, "plan")) {
		rc = billing__subscription_missing(cr.items == &cr.one ? "planId" : "items[0].planId",
			"plan");
		goto out;
	}

	billing__buf_add(&input, "customerId", p->customer_id);
	billing__buf_add(&input, "planId", cr.items[0].plan_id);
	billing__buf_add_i64(&input, "quantity", cr.items[0].quantity ? cr.items[0].quantity : 1);
	for (size_t i = 1; i < cr.item_count; i++) {
		billing__buf_add(&input, "items.planId", cr.items[i].plan_id);
		billing__buf_add_i64(&input, "items.quantity", cr.items[i].quantity);
	}
	billing__buf_add_i64(&input, "trial", p->has_trial_days ? p->trial_days : -1);
	billing__buf_add_i64(&input, "startAt", p->start_at);
	billing__buf_add(&input, "metadata", metadata);
	/* Only when given: a key stored before it existed still matches. */
	if (cr.behavior != BILLING_PAYMENT_BEHAVIOR_PAST_DUE_ON_FAILURE)
		billing__buf_add_i64(&input, "paymentBehavior", cr.behavior);
	if (p->version >= 4 && p->coupon)
		billing__buf_add(&input, "coupon", p->coupon);
	if (p->version >= 4 && p->promotion_code)
		billing__buf_add(&input, "promotionCode", p->promotion_code);
	if (cr.tax_rates[0])
		billing__buf_add(&input, "defaultTaxRates", cr.tax_rates);
	if (cr.anchor)
		billing__buf_add_i64(&input, "billingCycleAnchor", cr.anchor);
	if (cr.anchor_free)
		billing__buf_add_i64(&input, "anchorProration", BILLING_PRORATE_NONE);
	if (p->version >= 7 && p->threshold_amount_gte)
		billing__buf_add_i64(&input, "amountGte", p->threshold_amount_gte);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_SUBSCRIPTIONS_CREATE, &input)) < 0)
		goto out;
	if (billing__id_new(id, "sub", cr.now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.tenant_id = who->tenant_id;
	r.id = id;
	r.customer_id = p->customer_id;
	r.plan_id = cr.items[0].plan_id;
	r.quantity = cr.items[0].quantity ? cr.items[0].quantity : 1; /* start: 0 if metered */
	r.currency = "";
	r.metadata_json = metadata ? metadata : "{}";
	r.created_at = r.updated_at = cr.now;
	r.version = 1;
	rc = billing__entity_create((void **)out, &billing__subscription_entity, ctx, who->tenant_id,
		&idem, &r, id, start, started, &cr);
out:
	cJSON_free(cr.items_json);
	billing__free(metadata);
	return rc;
}

/*
 * After a call that may have issued an invoice committed: collects it now
 * (billing/payment.h), and answers with the subscription as it stands after
 * that (past_due when the charge failed). A failure here is not the call's:
 * the due work stays for the billing run.
 */
int billing__subscription_collected(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, int rc)
{
	billing_subscription *now = NULL;
	if (rc < 0 || !ctx->provider || !*out || !(*out)->latest_invoice_id)
		return rc;
	billing__collect_now(ctx, who->tenant_id, (*out)->latest_invoice_id);
	if (billing_subscription_get(&now, ctx, who, (*out)->id) == BILLING_OK) {
		billing_subscription_free(*out);
		*out = now;
	}
	billing_error_clear();
	return rc;
}

static int subscription_create_retry(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(subscription_create_once(out, ctx, who, p, opts));
}

/* ------------------------------------------------------------ incomplete */

struct sub_peek {
	int status;
	int64_t created_at;
	char invoice_id[BILLING_ID_MAX];
};

static int peek_row(void *payload, const void *record)
{
	const billing_subscription_record *r = record;
	struct sub_peek *pk = payload;
	pk->status = r->status;
	pk->created_at = r->created_at;
	snprintf(pk->invoice_id, sizeof(pk->invoice_id), "%s",
		r->latest_invoice_id ? r->latest_invoice_id : "");
	return BILLING_OK;
}

/* The subscription as it is, without a lock: what it is decides what to
 * lock next. */
static int peek(struct sub_peek *pk, billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id)
{
	memset(pk, 0, sizeof(*pk));
	return ctx->st->record_read(tx, &billing__res_subscription, tenant_id, id,
		BILLING_LOCK_NONE, peek_row, pk);
}

int billing__subscription_expire_incomplete(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id, int64_t at, bool *expired)
{
	billing_subscription *cur = NULL;
	billing_subscription_record r;
	billing_invoice *inv = NULL;
	struct sub_peek pk;
	int rc;

	*expired = false;
	if ((rc = peek(&pk, ctx, tx, tenant_id, id)) < 0)
		return rc;
	if (pk.status != BILLING_SUB_INCOMPLETE || !pk.invoice_id[0])
		return BILLING_OK;
	/* The invoice first, then the subscription, as a payment moves them. */
	if ((rc = billing__invoice_load(&inv, ctx, tx, tenant_id, pk.invoice_id)) < 0 ||
	    (rc = billing__entity_get_in((void **)&cur, &billing__subscription_entity, ctx, tx,
		tenant_id, id)) < 0)
		goto out;
	/* Paid or canceled meanwhile: nothing to expire. */
	if (cur->status != BILLING_SUB_INCOMPLETE || !cur->latest_invoice_id ||
	    strcmp(cur->latest_invoice_id, inv->id) != 0)
		goto out;
	if (inv->status != BILLING_INVOICE_VOID && (rc = billing__invoice_void_in(ctx, tx, inv)) < 0)
		goto out;
	billing__subscription_record_of(&r, cur);
	BILLING_ASSERT(billing__subscription_allowed(r.status, BILLING_SUB_INCOMPLETE_EXPIRED));
	r.status = BILLING_SUB_INCOMPLETE_EXPIRED;
	r.ended_at = at;
	r.cancel_at_period_end = 0;
	r.updated_at = billing__now(ctx);
	r.version++;
	if ((rc = ctx->st->record_update(tx, &billing__res_subscription, &r, cur->version)) < 0 ||
	    (rc = billing__subscription_schedule(ctx, tx, &r)) < 0 ||
	    (rc = billing__subscription_emit(ctx, tx, &r, "subscription.incomplete_expired")) < 0)
		goto out;
	*expired = true;
out:
	billing_subscription_free(cur);
	billing_invoice_free(inv);
	return rc;
}

int billing__subscription_incomplete_due(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id, int64_t now, bool *handled)
{
	billing_due_record d;
	struct sub_peek pk;
	int64_t until;
	bool expired;
	int rc;

	*handled = false;
	/* In a batch of the billing run the renewal's own locked read tells:
	 * billing__subscription_advance refuses an incomplete subscription
	 * there, and the batch is done again one renewal at a time (run.c),
	 * where this read comes first. Nothing becomes incomplete after its
	 * creation, so the batch spares every renewal this round trip. */
	if (billing__batch_holds(tx, tenant_id, BILLING__DUE_SUBSCRIPTION, id))
		return BILLING_OK;
	rc = peek(&pk, ctx, tx, tenant_id, id);
	if (rc == BILLING_ENOTFOUND)
		return BILLING_OK;      /* the caller clears its due work */
	if (rc < 0 || pk.status != BILLING_SUB_INCOMPLETE)
		return rc;
	*handled = true;
	until = billing__subscription_incomplete_until(pk.created_at);
	d.tenant_id = tenant_id;
	d.kind = BILLING__DUE_SUBSCRIPTION;
	d.resource_id = id;
	d.due_at = until;
	if (until > now)
		return ctx->st->due_set(tx, &d);
	rc = billing__subscription_expire_incomplete(ctx, tx, tenant_id, id, until, &expired);
	if (rc == BILLING_ECONFLICT) {
		/* An attempt awaiting an answer (or the customer, under a tenant's
		 * longer action expiry) may still pay it: asked again later. */
		billing__log(ctx, BILLING_LOG_INFO, "subscription %s: incomplete past its window "
			"while a payment of its invoice is in flight; expiry asked again in an hour",
			id);
		billing_error_clear();
		d.due_at = now + 3600;
		return ctx->st->due_set(tx, &d);
	}
	return rc;
}

/* What an error_if_incomplete creation answers when the first invoice was
 * not paid at once: the attempt is on record; the subscription ends
 * incomplete_expired with its invoice void (number kept), unless the
 * attempt's outcome is still unknown (then it stays incomplete). The
 * error names the subscription (resource_id). */
static int refuse_incomplete(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who)
{
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	const billing_payment *last = NULL;
	billing_payment_status pst = 0;
	char sub_id[BILLING_ID_MAX], invoice_id[BILLING_ID_MAX], code[BILLING_PROVIDER_CODE_MAX];
	billing_txn *tx;
	bool expired = false;
	size_t i;
	int rc;

	snprintf(sub_id, sizeof(sub_id), "%s", (*out)->id);
	snprintf(invoice_id, sizeof(invoice_id), "%s",
		(*out)->latest_invoice_id ? (*out)->latest_invoice_id : "");
	code[0] = '\0';
	/* A payment awaiting the customer is canceled at the provider first
	 * (Stripe answers error_if_incomplete with a 402 for it too); one that
	 * succeeded meanwhile is recorded and has made the subscription active. */
	if ((*out)->status == BILLING_SUB_INCOMPLETE &&
	    (rc = billing__invoice_cancel_action(ctx, who->tenant_id, invoice_id)) < 0)
		goto fail;
	lp.invoice_id = invoice_id;
	if ((rc = billing_payment_list(&page, ctx, who, &lp)) < 0)
		goto fail;
	for (i = 0; i < billing_page_count(page); i++) {
		const billing_payment *p = billing_page_payment(page, i);
		if (!last || billing_payment_created_at(p) >= billing_payment_created_at(last))
			last = p;
	}
	if (last) {
		pst = billing_payment_status_of(last);
		snprintf(code, sizeof(code), "%s", billing_payment_failure_code(last) ?
			billing_payment_failure_code(last) : "");
	}
	billing_page_free(page);
	if (pst == BILLING_PAYMENT_SUCCEEDED) {
		billing_subscription *now = NULL;
		if ((rc = billing_subscription_get(&now, ctx, who, sub_id)) < 0)
			goto fail;
		billing_subscription_free(*out);
		*out = now;
		return BILLING_OK;
	}
	if ((*out)->status == BILLING_SUB_INCOMPLETE) {
		if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
			goto fail;
		rc = billing__subscription_expire_incomplete(ctx, tx, who->tenant_id, sub_id,
			billing__now(ctx), &expired);
		if ((rc = billing__end(ctx, tx, rc)) < 0 && rc != BILLING_ECONFLICT)
			goto fail;
	}
	billing_subscription_free(*out);
	*out = NULL;
	if (pst == BILLING_PAYMENT_FAILED || pst == BILLING_PAYMENT_CANCELED) {
		rc = billing__error_set(BILLING_EDECLINED, "declined", "the first payment %s (%s): "
			"subscription %s is incomplete_expired and its invoice %s void",
			pst == BILLING_PAYMENT_FAILED ? "failed" : "needed the customer's action",
			code[0] ? code : (pst == BILLING_PAYMENT_FAILED ? "declined" :
			"authentication_required"), sub_id, invoice_id);
		billing__error_provider_code(code[0] ? code : NULL);
	} else if (!last) {
		rc = billing__error_set(BILLING_EDECLINED, "declined", "the first invoice could not "
			"be charged (no payment method): subscription %s is incomplete_expired and "
			"its invoice %s void", sub_id, invoice_id);
	} else {
		rc = billing__error_set(BILLING_EUNKNOWN_OUTCOME, "unknown_outcome",
			"the first payment's outcome is not known yet: subscription %s stays "
			"incomplete, active once it succeeds, else incomplete_expired 23 hours after "
			"its creation", sub_id);
	}
	billing__error_resource_id(sub_id);
	return rc;
fail:
	billing_subscription_free(*out);
	*out = NULL;
	return rc;
}

int billing_subscription_create(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_params *p,
	const billing_call_options *opts)
{
	int rc = billing__subscription_collected(out, ctx, who,
		subscription_create_retry(out, ctx, who, p, opts));
	/* A replay of a refused creation is refused the same way. */
	if (rc == BILLING_OK && p && *out && p->version >= 2 &&
	    p->payment_behavior == BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE &&
	    ((*out)->status == BILLING_SUB_INCOMPLETE ||
	     (*out)->status == BILLING_SUB_INCOMPLETE_EXPIRED))
		rc = refuse_incomplete(out, ctx, who);
	return rc;
}

/* ------------------------------------------------------------ cancel, update */

struct cancelling {
	unsigned int flags;
	char invoice_id[BILLING_ID_MAX];
	char usage_invoice_id[BILLING_ID_MAX];
};

static int cancel_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	const struct cancelling *cn = payload;
	billing_subscription_record *r = record;
	int64_t now = billing__now(ctx);
	int rc;

	billing__subscription_record_of(r, current);
	r->updated_at = now;
	r->version++;
	if (cn->flags & BILLING_CANCEL_AT_PERIOD_END) {
		if (billing__subscription_ended(r->status) || r->cancel_at_period_end)
			return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
				billing__subscription_ended(r->status) ? "the subscription has ended" :
				"the subscription is already set to cancel at its period end");
		r->cancel_at_period_end = 1;
		r->canceled_at = now;
		if ((rc = billing__subscription_schedule(ctx, tx, r)) < 0)
			return rc;
		return billing__subscription_emit(ctx, tx, r, "subscription.updated");
	}
	if ((rc = billing__subscription_transition(r->status, BILLING_SUB_CANCELED)) < 0)
		return rc;
	if ((cn->flags & BILLING_CANCEL_PRORATE) && r->status != BILLING_SUB_TRIALING &&
	    r->status != BILLING_SUB_INCOMPLETE && now < r->current_period_end) {
		/* A credit for every item's unused rest of the period, on an
		 * invoice of its own (its total is negative: owed back to the
		 * customer); or, while the period's renewal is still a draft
		 * (nothing charged), the draft bills the used time instead. */
		struct cancelling *mut = payload;
		int64_t from = now < r->current_period_start ? r->current_period_start : now;
		if ((rc = billing__subscription_credit_invoice(ctx, tx, r, from,
			mut->invoice_id)) < 0)
			return rc;
		r->latest_invoice_id = mut->invoice_id;
	}
	if (r->status != BILLING_SUB_TRIALING && r->status != BILLING_SUB_INCOMPLETE &&
	    now > r->current_period_start) {
		/* Metered items: the usage so far of the period, billed now on a
		 * last invoice (its aggregates stored: later events of it are
		 * refused as late). */
		struct cancelling *mut = payload;
		bool issued = false;
		int64_t to = now < r->current_period_end ? now : r->current_period_end;
		if ((rc = billing__subscription_usage_invoice(ctx, tx, r, to, mut->usage_invoice_id,
			&issued)) < 0)
			return rc;
		if (issued)
			r->latest_invoice_id = mut->usage_invoice_id;
	}
	r->status = BILLING_SUB_CANCELED;
	r->cancel_at_period_end = 0;
	r->canceled_at = now;
	r->ended_at = now;
	if ((rc = billing__subscription_schedule(ctx, tx, r)) < 0)
		return rc;
	return billing__subscription_emit(ctx, tx, r, "subscription.canceled");
}

static int subscription_cancel_once(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, unsigned int flags,
	const billing_call_options *opts)
{
	billing_subscription_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct cancelling cn;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_SUBSCRIPTIONS_CANCEL)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (flags & ~(unsigned int)(BILLING_CANCEL_AT_PERIOD_END | BILLING_CANCEL_PRORATE))
		return billing__error_field(BILLING_EINVALID, "invalid", "flags",
			"unknown cancel flags");
	if ((flags & BILLING_CANCEL_AT_PERIOD_END) && (flags & BILLING_CANCEL_PRORATE))
		return billing__error_field(BILLING_EINVALID, "invalid", "prorate",
			"a cancellation at the period end leaves nothing to credit");
	memset(&cn, 0, sizeof(cn));
	cn.flags = flags;
	if (!billing__id_arg_ok(id, "sub"))
		return billing__not_found("subscription");
	billing__buf_add(&input, "id", id);
	billing__buf_add_i64(&input, "flags", flags);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_SUBSCRIPTIONS_CANCEL, &input)) < 0)
		return rc;
	return billing__entity_update((void **)out, &billing__subscription_entity, ctx, who->tenant_id,
		id, &idem, 0, &r, cancel_step, &cn);
}

int billing_subscription_cancel(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, unsigned int flags,
	const billing_call_options *opts)
{
	BILLING__RETRY(subscription_cancel_once(out, ctx, who, id, flags, opts));
}

#define UPDATE_FIELDS (BILLING_SUBSCRIPTION_CANCEL_AT_PERIOD_END | \
	BILLING_SUBSCRIPTION_QUANTITY | BILLING_SUBSCRIPTION_METADATA | \
	BILLING_SUBSCRIPTION_DISCOUNT | BILLING_SUBSCRIPTION_THRESHOLDS)

/* An update's new discount (BILLING_SUBSCRIPTION_DISCOUNT): made now,
 * replacing the subscription's; a repeating coupon's periods are the
 * plan's intervals. No first invoice: a code's minimumAmount refuses it. */
static int rediscount(billing_ctx *ctx, billing_txn *tx, billing_subscription_record *r,
	const billing_subscription_update_params *p, char shown[BILLING__DISCOUNT_TEXT_MAX])
{
	struct billing__discount_info d;
	billing__attach_params ap;
	billing__plan_info plan;
	int rc;

	if ((rc = billing__plan_info_peek(&plan, ctx, tx, r->tenant_id, r->plan_id)) < 0)
		return rc;
	memset(&ap, 0, sizeof(ap));
	ap.customer_id = r->customer_id;
	ap.subscription_id = r->id;
	ap.coupon = p->coupon;
	ap.promotion_code = p->promotion_code;
	ap.now = r->updated_at;
	ap.interval = plan.interval;
	ap.interval_count = plan.interval_count;
	if ((rc = billing__discount_attach(&d, ctx, tx, r->tenant_id, &ap)) < 0 ||
	    (rc = billing__discount_text(shown, &d)) < 0)
		return rc;
	/* The column is written (attach); the answer and the event show it. */
	r->discount_json = shown;
	return BILLING_OK;
}

struct changing {
	const billing_subscription_update_params *p;
	const char *metadata;
	char *items_json;               /* the first item's new quantity */
	char discount[BILLING__DISCOUNT_TEXT_MAX];  /* the new discount shown */
};

static int update_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct changing *ch = payload;
	const billing_subscription_update_params *p = ch->p;
	billing_subscription_record *r = record;
	int rc;

	billing__subscription_record_of(r, current);
	if (billing__subscription_ended(r->status))
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"the subscription has ended");
	r->updated_at = billing__now(ctx);
	r->version++;
	if (p->fields & BILLING_SUBSCRIPTION_CANCEL_AT_PERIOD_END) {
		r->cancel_at_period_end = p->cancel_at_period_end ? 1 : 0;
		r->canceled_at = p->cancel_at_period_end ? r->updated_at : 0;
	}
	if (p->fields & BILLING_SUBSCRIPTION_QUANTITY) {
		billing__plan_info plan;
		if ((rc = billing__plan_info_get(&plan, ctx, tx, r->tenant_id, r->plan_id)) < 0 ||
		    (rc = billing__sub_item_quantity_check(&plan, p->quantity, "quantity")) < 0)
			return rc;
		r->quantity = p->quantity;
	}
	if (p->fields & BILLING_SUBSCRIPTION_METADATA)
		r->metadata_json = ch->metadata ? ch->metadata : "{}";
	if ((p->fields & BILLING_SUBSCRIPTION_DISCOUNT) && (rc = rediscount(ctx, tx, r, p, ch->discount)) < 0)
		return rc;
	if (p->fields & BILLING_SUBSCRIPTION_THRESHOLDS)
		r->threshold_amount_gte = p->threshold_amount_gte;
	if (((p->fields & BILLING_SUBSCRIPTION_QUANTITY) &&
	    (rc = billing__subscription_items_follow(ctx, tx, r, r->updated_at,
		&ch->items_json)) < 0) ||
	    (rc = billing__subscription_schedule(ctx, tx, r)) < 0)
		return rc;
	return billing__subscription_emit(ctx, tx, r, "subscription.updated");
}

static int subscription_update_once(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id,
	const billing_subscription_update_params *p, const billing_call_options *opts)
{
	billing__checks c = BILLING__CHECKS_INIT;
	billing_subscription_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct changing ch = { p, NULL, NULL, "" };
	char *metadata = NULL;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_SUBSCRIPTIONS_UPDATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_SUBSCRIPTION_UPDATE_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_subscription_update_params version %u", p->version);
	if ((rc = billing__check_update(p->fields, UPDATE_FIELDS, p->expected_version)) < 0)
		return rc;
	if ((p->fields & BILLING_SUBSCRIPTION_QUANTITY) &&
	    (p->quantity < 1 || p->quantity > BILLING__SUBSCRIPTION_QUANTITY_MAX))
		billing__check_fail(&c, "quantity", "must be between 1 and %d",
			BILLING__SUBSCRIPTION_QUANTITY_MAX);
	if ((p->fields & BILLING_SUBSCRIPTION_DISCOUNT) &&
	    (p->version < 2 || !p->coupon == !p->promotion_code))
		billing__check_fail(&c, "coupon", "give coupon or promotionCode, not both");
	if ((p->fields & BILLING_SUBSCRIPTION_THRESHOLDS) && p->version < 3)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"BILLING_SUBSCRIPTION_THRESHOLDS needs version 3");
	if ((p->fields & BILLING_SUBSCRIPTION_THRESHOLDS) &&
	    (rc = billing__subscription_threshold_check(&c, p->threshold_amount_gte,
		p->threshold_reset_anchor)) < 0)
		return rc;
	if ((p->fields & BILLING_SUBSCRIPTION_METADATA) &&
	    (rc = billing__metadata_encode(&c, p->metadata, p->metadata_count, &metadata)) < 0)
		return rc;
	if ((rc = billing__checks_finish(&c, "subscription")) < 0)
		goto out;
	if (!billing__id_arg_ok(id, "sub")) {
		rc = billing__not_found("subscription");
		goto out;
	}
	ch.metadata = metadata;
	billing__buf_add(&input, "id", id);
	billing__buf_add_i64(&input, "fields", p->fields);
	billing__buf_add_i64(&input, "cancel", p->cancel_at_period_end);
	billing__buf_add_i64(&input, "quantity", p->quantity);
	billing__buf_add(&input, "metadata", metadata);
	billing__buf_add_i64(&input, "expectedVersion", p->expected_version);
	if (p->fields & BILLING_SUBSCRIPTION_DISCOUNT) {
		billing__buf_add(&input, "coupon", p->coupon);
		billing__buf_add(&input, "promotionCode", p->promotion_code);
	}
	if (p->fields & BILLING_SUBSCRIPTION_THRESHOLDS)
		billing__buf_add_i64(&input, "amountGte", p->threshold_amount_gte);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_SUBSCRIPTIONS_UPDATE, &input)) < 0)
		goto out;
	rc = billing__entity_update((void **)out, &billing__subscription_entity, ctx, who->tenant_id,
		id, &idem, p->expected_version, &r, update_step, &ch);
out:
	cJSON_free(ch.items_json);
	billing__free(metadata);
	return rc;
}

int billing_subscription_update(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id,
	const billing_subscription_update_params *p, const billing_call_options *opts)
{
	BILLING__RETRY(subscription_update_once(out, ctx, who, id, p, opts));
}

/* ------------------------------------------------------------ pause, resume */

struct pausing {
	bool resume;
	bool prorate;                /* pause: credit the paid, unused days */
	char invoice_id[BILLING_ID_MAX];
};

/* Where a pause's credits go: the customer's balance. */
struct pause_credit {
	billing_ctx *ctx;
	billing_txn *tx;
	const billing_subscription_record *r;
};

/* One item's credit and its tax, as a proration_credit balance
 * transaction described as the line. */
static int pause_credit_line(void *payload, const billing_invoice_line *credit)
{
	const struct pause_credit *pc = payload;
	int64_t tax, amount;
	int rc;

	if ((rc = billing__line_tax(&tax, credit->amount, credit->tax_rate_bp)) < 0)
		return rc;
	if (__builtin_add_overflow(credit->amount, tax, &amount))
		return billing__error_set(BILLING_EOVERFLOW, "overflow", "the credit overflows");
	if (amount == 0)
		return BILLING_OK;
	return billing__balance_record(pc->ctx, pc->tx, pc->r->tenant_id, pc->r->customer_id,
		pc->r->currency, BILLING_BALANCE_PRORATION_CREDIT, amount, NULL,
		credit->description, NULL);
}

/* A pause with prorations (#20 item 4): the rest of the current period,
 * already paid (its invoice is paid), goes to the customer's balance as
 * proration_credits, one per item: the amount and its tax, prorated to the
 * second as a change of plan credits them. The resume's invoice then takes
 * them. */
static int pause_credit(billing_ctx *ctx, billing_txn *tx, const billing_subscription_record *r,
	int64_t now)
{
	struct pause_credit pc = { ctx, tx, r };
	int status = 0, rc;

	if (now >= r->current_period_end || now < r->current_period_start ||
	    !r->latest_invoice_id)
		return BILLING_OK;
	/* Read, not locked: paths from a subscription lock only the invoices
	 * they insert (txn.h). */
	if ((rc = ctx->st->record_read(tx, &billing__res_invoice, r->tenant_id,
		r->latest_invoice_id, BILLING_LOCK_NONE, invoice_status_row, &status)) < 0)
		return rc;
	if (status != BILLING_INVOICE_PAID)
		return BILLING_OK;
	return billing__subscription_item_credits(ctx, tx, r, now, pause_credit_line, &pc);
}

static int pause_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct pausing *ps = payload;
	billing_subscription_record *r = record;
	billing__plan_info plan;
	int64_t now = billing__now(ctx);
	int rc;

	billing__subscription_record_of(r, current);
	if ((rc = billing__subscription_transition(r->status,
		ps->resume ? BILLING_SUB_ACTIVE : BILLING_SUB_PAUSED)) < 0)
		return rc;
	if (ps->resume && r->status != BILLING_SUB_PAUSED)
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"only a paused subscription can be resumed");
	r->updated_at = now;
	r->version++;
	if (!ps->resume) {
		if (ps->prorate && (rc = pause_credit(ctx, tx, r, now)) < 0)
			return rc;
		r->status = BILLING_SUB_PAUSED;
	} else {
		/* A new cycle from now, invoiced at once. */
		if ((rc = billing__plan_info_get(&plan, ctx, tx, r->tenant_id, r->plan_id)) < 0)
			return rc;
		r->status = BILLING_SUB_ACTIVE;
		r->anchor = now;
		r->period_index = 0;
		if ((rc = billing__subscription_period_bounds(&r->current_period_start,
			&r->current_period_end, &plan, now, 0)) < 0 ||
		    (rc = billing__subscription_invoice_period(ctx, tx, r, &plan, r->current_period_start,
			r->current_period_end, false, NULL, ps->invoice_id)) < 0)
			return rc;
		r->latest_invoice_id = ps->invoice_id;
	}
	if ((rc = billing__subscription_schedule(ctx, tx, r)) < 0)
		return rc;
	return billing__subscription_emit(ctx, tx, r,
		ps->resume ? "subscription.resumed" : "subscription.paused");
}

static int pause_once(billing_subscription **out, billing_ctx *ctx, const billing_principal *who,
	const char *id, const billing_call_options *opts, bool resume, bool prorate)
{
	billing_subscription_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct pausing ps;
	billing__op op = resume ? BILLING_OP_SUBSCRIPTIONS_RESUME : BILLING_OP_SUBSCRIPTIONS_PAUSE;
	int rc;

	if ((rc = billing__authorize(ctx, who, op)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (!billing__id_arg_ok(id, "sub"))
		return billing__not_found("subscription");
	billing__buf_add(&input, "id", id);
	if (prorate)
		billing__buf_add_i64(&input, "prorate", 1);
	if ((rc = billing__idem_init_buf(&idem, opts, op, &input)) < 0)
		return rc;
	memset(&ps, 0, sizeof(ps));
	ps.resume = resume;
	ps.prorate = prorate;
	return billing__entity_update((void **)out, &billing__subscription_entity, ctx, who->tenant_id,
		id, &idem, 0, &r, pause_step, &ps);
}

int billing_subscription_pause(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	BILLING__RETRY(pause_once(out, ctx, who, id, opts, false, false));
}

int billing__subscription_pause(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, bool prorate,
	const billing_call_options *opts)
{
	BILLING__RETRY(pause_once(out, ctx, who, id, opts, false, prorate));
}

int billing_subscription_pause_ext(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_subscription_pause_params *p,
	const billing_call_options *opts)
{
	billing_proration_behavior b = p ? p->proration : BILLING_PRORATE_NONE;
	int rc;

	/* The role first, before the input is looked at. */
	if ((rc = billing__authorize(ctx, who, BILLING_OP_SUBSCRIPTIONS_PAUSE)) < 0)
		return rc;
	if (p && (p->version == 0 || p->version > BILLING_SUBSCRIPTION_PAUSE_PARAMS_VERSION))
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_subscription_pause_params version %u", p->version);
	if (b != BILLING_PRORATE_NONE && b != BILLING_PRORATE_CREATE)
		return billing__error_field(BILLING_EINVALID, "invalid", "prorationBehavior",
			"must be create_prorations or none");
	return billing__subscription_pause(out, ctx, who, id, b == BILLING_PRORATE_CREATE, opts);
}

static int resume_retry(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	BILLING__RETRY(pause_once(out, ctx, who, id, opts, true, false));
}

int billing_subscription_resume(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	return billing__subscription_collected(out, ctx, who, resume_retry(out, ctx, who, id, opts));
}
