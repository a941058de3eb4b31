/*
 * Subscriptions: a customer on a plan. This file holds the record: its
 * state table, the object and its storage, the due work it keeps and the
 * events it writes, the reads (get, list, getters), and what a payment of
 * one of its invoices does to it (billing__subscription_payment).
 *
 * The rest: subscription_lifecycle.c (create, cancel, update, pause,
 * resume), subscription_calendar.c (periods, renewals, trial and term ends,
 * the catch-up, the preview of the next invoice), subscription_plan_change.c
 * (change of plan, prorations, a pending plan). What they share is in
 * subscription_internal.h.
 */
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/core.h"
#include "core/entity.h"
#include "core/resources.h"
#include "core/events.h"
#include "core/subscription_internal.h"

/* ------------------------------------------------------------ state table */

static const billing_subscription_transition transitions[] = {
	{ BILLING_SUB_TRIALING, BILLING_SUB_ACTIVE, "trial ended" },
	{ BILLING_SUB_TRIALING, BILLING_SUB_CANCELED, "canceled" },
	{ BILLING_SUB_ACTIVE, BILLING_SUB_ACTIVE, "renewed or changed" },
	{ BILLING_SUB_ACTIVE, BILLING_SUB_PAST_DUE, "payment failed" },
	{ BILLING_SUB_ACTIVE, BILLING_SUB_PAUSED, "paused" },
	{ BILLING_SUB_ACTIVE, BILLING_SUB_CANCELED, "canceled" },
	{ BILLING_SUB_ACTIVE, BILLING_SUB_EXPIRED, "last period of its term ended" },
	{ BILLING_SUB_TRIALING, BILLING_SUB_TRIALING, "changed during the trial" },
	{ BILLING_SUB_PAST_DUE, BILLING_SUB_ACTIVE, "payment recovered" },
	{ BILLING_SUB_PAST_DUE, BILLING_SUB_CANCELED, "canceled or retries exhausted" },
	{ BILLING_SUB_PAST_DUE, BILLING_SUB_PAST_DUE, "renewed while past due" },
	{ BILLING_SUB_PAST_DUE, BILLING_SUB_EXPIRED, "last period of its term ended" },
	{ BILLING_SUB_PAUSED, BILLING_SUB_ACTIVE, "resumed" },
	{ BILLING_SUB_PAUSED, BILLING_SUB_CANCELED, "canceled" },
	{ BILLING_SUB_INCOMPLETE, BILLING_SUB_ACTIVE, "first invoice paid" },
	{ BILLING_SUB_INCOMPLETE, BILLING_SUB_INCOMPLETE_EXPIRED,
		"first invoice not paid within 23 hours, or its charge failed (error_if_incomplete)" },
	{ BILLING_SUB_INCOMPLETE, BILLING_SUB_CANCELED, "canceled" },
	{ BILLING_SUB_INCOMPLETE, BILLING_SUB_INCOMPLETE, "changed while incomplete" },
	{ BILLING_SUB_PAST_DUE, BILLING_SUB_UNPAID, "retries exhausted (policy: unpaid)" },
	{ BILLING_SUB_UNPAID, BILLING_SUB_ACTIVE, "an invoice was paid" },
	{ BILLING_SUB_UNPAID, BILLING_SUB_UNPAID, "renewed while unpaid" },
	{ BILLING_SUB_UNPAID, BILLING_SUB_CANCELED, "canceled" },
	{ BILLING_SUB_UNPAID, BILLING_SUB_EXPIRED, "last period of its term ended" },
};

const billing_subscription_transition *billing_subscription_transitions(size_t *count)
{
	if (count)
		*count = sizeof(transitions) / sizeof(transitions[0]);
	return transitions;
}

const char *billing_subscription_status_name(billing_subscription_status s)
{
	switch (s) {
	case BILLING_SUB_INCOMPLETE: return "incomplete";
	case BILLING_SUB_TRIALING: return "trialing";
	case BILLING_SUB_ACTIVE: return "active";
	case BILLING_SUB_PAST_DUE: return "past_due";
	case BILLING_SUB_PAUSED: return "paused";
	case BILLING_SUB_CANCELED: return "canceled";
	case BILLING_SUB_EXPIRED: return "expired";
	case BILLING_SUB_UNPAID: return "unpaid";
	case BILLING_SUB_INCOMPLETE_EXPIRED: return "incomplete_expired";
	default: return NULL;
	}
}

const char *billing_payment_behavior_name(billing_payment_behavior b)
{
	switch (b) {
	case BILLING_PAYMENT_BEHAVIOR_PAST_DUE_ON_FAILURE: return "past_due_on_failure";
	case BILLING_PAYMENT_BEHAVIOR_ALLOW_INCOMPLETE: return "allow_incomplete";
	case BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE: return "error_if_incomplete";
	case BILLING_PAYMENT_BEHAVIOR_DEFAULT_INCOMPLETE: return "default_incomplete";
	default: return NULL;
	}
}

bool billing__subscription_allowed(int from, int to)
{
	size_t i;
	for (i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if ((int)transitions[i].from == from && (int)transitions[i].to == to)
			return true;
	return false;
}

int billing__subscription_transition(int from, int to)
{
	if (billing__subscription_allowed(from, to))
		return BILLING_OK;
	return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
		"a subscription cannot go from %s to %s",
		billing_subscription_status_name((billing_subscription_status)from),
		billing_subscription_status_name((billing_subscription_status)to));
}

bool billing__subscription_ended(int status)
{
	/* The set storage counts live subscriptions by (core/resources.c). */
	return billing__status_in(&billing__sub_ended, status);
}

/* ------------------------------------------------------------ objects */

void billing_subscription_free(billing_subscription *s)
{
	if (!s)
		return;
	billing__metadata_free(&s->metadata);
	billing__free(s);
}

static void free_item(void *item)
{
	billing_subscription_free(item);
}

static void *from_record(const void *record)
{
	const billing_subscription_record *r = record;
	billing_subscription *s;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->customer_id) + billing__strsize(r->plan_id) +
		billing__strsize(r->latest_invoice_id) + billing__strsize(r->pending_plan_id) +
		billing__strsize(r->metadata_json ? r->metadata_json : "{}") +
		billing__strsize(r->items_json ? r->items_json : "[]") +
		billing__strsize(r->default_tax_rates_json) + billing__strsize(r->discount_json);

	if ((s = billing__calloc(1, sizeof(*s) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(s + 1);
	s->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	s->id = billing__strpack_put(&sp, r->id);
	s->customer_id = billing__strpack_put(&sp, r->customer_id);
	s->plan_id = billing__strpack_put(&sp, r->plan_id);
	s->latest_invoice_id = billing__strpack_put(&sp, r->latest_invoice_id);
	s->pending_plan_id = billing__strpack_put(&sp, r->pending_plan_id);
	s->metadata_json = billing__strpack_put(&sp, r->metadata_json ? r->metadata_json : "{}");
	s->items_json = billing__strpack_put(&sp, r->items_json ? r->items_json : "[]");
	s->default_tax_rates = billing__strpack_put(&sp, r->default_tax_rates_json);
	s->discount_json = billing__strpack_put(&sp, r->discount_json);
	snprintf(s->currency, sizeof(s->currency), "%s", r->currency ? r->currency : "");
	s->status = (billing_subscription_status)r->status;
	s->quantity = r->quantity;
	s->anchor = r->anchor;
	s->period_index = r->period_index;
	s->current_period_start = r->current_period_start;
	s->current_period_end = r->current_period_end;
	s->trial_end = r->trial_end;
	s->cancel_at_period_end = r->cancel_at_period_end;
	s->canceled_at = r->canceled_at;
	s->ended_at = r->ended_at;
	s->threshold_amount_gte = r->threshold_amount_gte;
	s->created_at = r->created_at;
	s->updated_at = r->updated_at;
	s->version = r->version;
	if (billing__metadata_decode(&s->metadata, s->metadata_json) < 0) {
		billing_subscription_free(s);
		return NULL;
	}
	return s;
}

void billing__subscription_record_of(billing_subscription_record *r,
	const billing_subscription *s)
{
	memset(r, 0, sizeof(*r));
	r->tenant_id = s->tenant_id;
	r->id = s->id;
	r->customer_id = s->customer_id;
	r->plan_id = s->plan_id;
	r->status = s->status;
	r->quantity = s->quantity;
	r->currency = s->currency;
	r->anchor = s->anchor;
	r->period_index = s->period_index;
	r->current_period_start = s->current_period_start;
	r->current_period_end = s->current_period_end;
	r->trial_end = s->trial_end;
	r->cancel_at_period_end = s->cancel_at_period_end;
	r->canceled_at = s->canceled_at;
	r->ended_at = s->ended_at;
	r->latest_invoice_id = s->latest_invoice_id;
	r->pending_plan_id = s->pending_plan_id;
	r->metadata_json = s->metadata_json;
	r->items_json = s->items_json;
	r->default_tax_rates_json = s->default_tax_rates;
	r->discount_json = s->discount_json;
	r->threshold_amount_gte = s->threshold_amount_gte;
	r->created_at = s->created_at;
	r->updated_at = s->updated_at;
	r->version = s->version;
}

static int64_t version_of(const void *item)
{
	return ((const billing_subscription *)item)->version;
}

/* In a write transaction the subscription's due work is locked first, as
 * the billing run holds it when it reads the subscription (txn.h). */
static int st_get(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	int rc = billing__due_lock(st, tx, tenant_id, BILLING__DUE_SUBSCRIPTION, id, 0);
	if (rc < 0)
		return rc;
	return st->record_read(tx, &billing__res_subscription, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int st_insert(billing_storage *st, billing_txn *tx, const void *record)
{
	return st->record_insert(tx, &billing__res_subscription, record);
}

static int st_update(billing_storage *st, billing_txn *tx, const void *record,
	int64_t old_version)
{
	return st->record_update(tx, &billing__res_subscription, record, old_version);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_subscription, tenant_id, q, cb, payload);
}

const billing__entity billing__subscription_entity = {
	"subscription", from_record, free_item, version_of, NULL,
	st_get, st_insert, st_update, NULL, st_list,
	NULL, NULL,
	billing__subscription_catch_up, NULL
};

/* ------------------------------------------------------------ due work, events */

/* The due work of a subscription that will be billed again (at its period
 * end), or of an incomplete one (its expiry); none else. */
int billing__subscription_schedule(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r)
{
	billing_due_record d;
	int64_t wait = 0;
	int rc;
	if (billing__subscription_ended(r->status) || r->status == BILLING_SUB_PAUSED)
		return ctx->st->due_clear(tx, r->tenant_id, BILLING__DUE_SUBSCRIPTION, r->id);
	/* A subscription with a metered item waits for its grace window after
	 * the period's end (docs/usage.md). */
	if ((rc = billing__subscription_usage_wait(&wait, NULL, ctx, tx, r)) < 0)
		return rc;
	d.tenant_id = r->tenant_id;
	d.kind = BILLING__DUE_SUBSCRIPTION;
	d.resource_id = r->id;
	d.due_at = r->status == BILLING_SUB_INCOMPLETE ?
		billing__subscription_incomplete_until(r->created_at) : r->current_period_end + wait;
	return ctx->st->due_set(tx, &d);
}

int64_t billing__subscription_incomplete_until(int64_t created_at)
{
	return created_at + BILLING__INCOMPLETE_WINDOW;
}

/* Writes the event for a subscription in its new state r. */
int billing__subscription_emit(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const char *type)
{
	billing_subscription *s = from_record(r);
	int rc;
	if (!s)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	rc = billing__event_emit(ctx, tx, r->tenant_id, type, "subscription", r->id,
		billing__json_subscription, s);
	billing_subscription_free(s);
	return rc;
}

int billing__subscription_missing(const char *field, const char *what)
{
	return billing__error_field(BILLING_EINVALID, "resource_missing", field,
		"no such %s in this tenant", what);
}


int billing_subscription_get(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return billing__entity_get((void **)out, &billing__subscription_entity, ctx, who,
		BILLING_OP_SUBSCRIPTIONS_GET, "sub", id);
}

/* ------------------------------------------------------------ list */

static void sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_subscription *s = item;
	*text = NULL;
	*num = s->created_at;
	*id = s->id;
}

static void sort_key_end(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_subscription *s = item;
	*text = NULL;
	*num = s->current_period_end;
	*id = s->id;
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ "currentPeriodEnd", BILLING_SORT_PERIOD_END, false },
	{ NULL, 0, false }
};

int billing_subscription_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_list_params *params)
{
	billing_subscription_list_params none = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	const billing_subscription_list_params *p = params ? params : &none;
	billing__filter_ids ids = { 0 };
	char filters[160];
	billing__list l;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_SUBSCRIPTIONS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (p->version == 0 || p->version > BILLING_SUBSCRIPTION_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_subscription_list_params version %u", p->version);
	if (p->status && !billing_subscription_status_name(p->status))
		return billing__error_field(BILLING_EINVALID, "invalid", "status",
			"unknown subscription status");
	if (p->customer_id && !billing__id_arg_ok(p->customer_id, "cus"))
		return billing__subscription_missing("customerId", "customer");
	if (p->plan_id && !billing__id_arg_ok(p->plan_id, "plan"))
		return billing__subscription_missing("planId", "plan");
	snprintf(filters, sizeof(filters), "subscriptions|c=%s|p=%s|st=%d",
		p->customer_id ? p->customer_id : "-", p->plan_id ? p->plan_id : "-", (int)p->status);
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, sorts, filters,
		BILLING__PAGE_SUBSCRIPTION, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = l.sort->column == BILLING_SORT_PERIOD_END ? sort_key_end : sort_key;
	l.q.customer_id = p->customer_id;
	l.q.plan_id = p->plan_id;
	l.q.status = (int)p->status;
	ids.tenant_id = who->tenant_id;
	ids.customer_id = p->customer_id;
	ids.plan_id = p->plan_id;
	l.check = billing__check_filter_ids_cb;
	l.check_payload = &ids;
	return billing__entity_list(out, &billing__subscription_entity, &l, ctx, who->tenant_id);
}

const billing_subscription *billing_page_subscription(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_SUBSCRIPTION, i);
}

/* ------------------------------------------------------------ payments */

int billing__subscription_payment(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, billing__sub_payment what, int64_t at, int64_t now)
{
	billing_subscription *cur = NULL;
	billing_subscription_record r;
	const char *event = NULL;
	int rc;

	if ((rc = billing__entity_get_in((void **)&cur, &billing__subscription_entity, ctx, tx,
		tenant_id, id)) < 0)
		return rc;
	billing__subscription_record_of(&r, cur);
	if (what == BILLING__SUB_PAYMENT_FAILED && r.status == BILLING_SUB_ACTIVE) {
		r.status = BILLING_SUB_PAST_DUE;
		event = "subscription.past_due";
	} else if (what == BILLING__SUB_PAYMENT_RECOVERED &&
		   (r.status == BILLING_SUB_PAST_DUE || r.status == BILLING_SUB_UNPAID)) {
		r.status = BILLING_SUB_ACTIVE;
		event = "subscription.recovered";
	} else if (what == BILLING__SUB_PAYMENT_RECOVERED && r.status == BILLING_SUB_INCOMPLETE) {
		/* The first invoice paid in time: provisioned from now on, renewed
		 * at the period end (the schedule below moves its due work). */
		r.status = BILLING_SUB_ACTIVE;
		event = "subscription.activated";
	} else if (what == BILLING__SUB_RETRIES_EXHAUSTED_UNPAID &&
		   r.status == BILLING_SUB_PAST_DUE) {
		r.status = BILLING_SUB_UNPAID;
		event = "subscription.unpaid";
	} else if (what == BILLING__SUB_RETRIES_EXHAUSTED && !billing__subscription_ended(r.status)) {
		if ((rc = billing__subscription_transition(r.status, BILLING_SUB_CANCELED)) < 0)
			goto out;
		r.status = BILLING_SUB_CANCELED;
		/* When the decisive retry was due; but never before the period the
		 * subscription is in (a renewal billed while that retry's answer
		 * was still unknown, after a crash): then at that period's start. */
		r.canceled_at = r.ended_at = at >= r.current_period_start ? at :
			r.current_period_start;
		r.cancel_at_period_end = 0;
		event = "subscription.canceled";
	}
	if (event) {
		/* Each case above applies only from the states it names. */
		BILLING_ASSERT(billing__subscription_allowed((int)cur->status, r.status));
		r.updated_at = now;
		r.version++;
		if ((rc = ctx->st->record_update(tx, &billing__res_subscription, &r, cur->version)) == BILLING_OK &&
		    (rc = billing__subscription_schedule(ctx, tx, &r)) == BILLING_OK)
			rc = billing__subscription_emit(ctx, tx, &r, event);
	}
out:
	billing_subscription_free(cur);
	return rc;
}

static int status_row(void *payload, const void *record)
{
	*(int *)payload = ((const billing_subscription_record *)record)->status;
	return BILLING_OK;
}

int billing__subscription_status_in(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int *status)
{
	int rc;
	*status = 0;
	rc = ctx->st->record_read(tx, &billing__res_subscription, tenant_id, id, BILLING_LOCK_UPDATE, status_row, status);
	return rc == BILLING_ENOTFOUND ? BILLING_OK : rc;
}

/* ------------------------------------------------------------ getters */

const char *billing_subscription_id(const billing_subscription *s) { return s ? s->id : NULL; }
const char *billing_subscription_customer_id(const billing_subscription *s)
{
	return s ? s->customer_id : NULL;
}
const char *billing_subscription_plan_id(const billing_subscription *s)
{
	return s ? s->plan_id : NULL;
}
billing_subscription_status billing_subscription_status_of(const billing_subscription *s)
{
	return s ? s->status : (billing_subscription_status)0;
}
int32_t billing_subscription_quantity(const billing_subscription *s) { return s ? s->quantity : 0; }
const char *billing_subscription_currency(const billing_subscription *s)
{
	return s ? s->currency : NULL;
}
int64_t billing_subscription_anchor(const billing_subscription *s) { return s ? s->anchor : 0; }
int64_t billing_subscription_current_period_start(const billing_subscription *s)
{
	return s ? s->current_period_start : 0;
}
int64_t billing_subscription_current_period_end(const billing_subscription *s)
{
	return s ? s->current_period_end : 0;
}
int64_t billing_subscription_trial_end(const billing_subscription *s) { return s ? s->trial_end : 0; }
int billing_subscription_cancel_at_period_end(const billing_subscription *s)
{
	return s ? s->cancel_at_period_end : 0;
}
int64_t billing_subscription_canceled_at(const billing_subscription *s)
{
	return s ? s->canceled_at : 0;
}
int64_t billing_subscription_ended_at(const billing_subscription *s) { return s ? s->ended_at : 0; }
const char *billing_subscription_latest_invoice_id(const billing_subscription *s)
{
	return s ? s->latest_invoice_id : NULL;
}
const char *billing_subscription_pending_plan_id(const billing_subscription *s)
{
	return s ? s->pending_plan_id : NULL;
}
const char *billing_subscription_default_tax_rates(const billing_subscription *s)
{
	return s ? s->default_tax_rates : NULL;
}

int billing__subscription_threshold_check(billing__checks *c, int64_t amount, int reset)
{
	if (reset)
		return billing__error_field(BILLING_EINVALID, "unsupported",
			"billingThresholds.resetBillingCycleAnchor",
			"resetting the billing cycle anchor at a threshold is not supported yet");
	if (amount < 0 || amount > BILLING_AMOUNT_MAX)
		billing__check_fail(c, "billingThresholds.amountGte",
			"must be a positive amount in minor units, at most %lld",
			(long long)BILLING_AMOUNT_MAX);
	return BILLING_OK;
}

int64_t billing_subscription_threshold_amount_gte(const billing_subscription *s)
{
	return s ? s->threshold_amount_gte : 0;
}

const char *billing_subscription_discount_json(const billing_subscription *s)
{
	return s ? s->discount_json : NULL;
}

const char *billing_subscription_items_json(const billing_subscription *s)
{
	return s ? s->items_json : NULL;
}
size_t billing_subscription_metadata_count(const billing_subscription *s)
{
	return s ? s->metadata.count : 0;
}
const billing_metadata_entry *billing_subscription_metadata_at(const billing_subscription *s,
	size_t i)
{
	return s && i < s->metadata.count ? &s->metadata.entries[i] : NULL;
}
int64_t billing_subscription_created_at(const billing_subscription *s)
{
	return s ? s->created_at : 0;
}
int64_t billing_subscription_version(const billing_subscription *s) { return s ? s->version : 0; }
