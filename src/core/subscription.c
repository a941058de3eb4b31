/*
 * Subscriptions: a customer on a plan, and the calendar that bills it.
 *
 * Periods come from the anchor (billing__period_start): period n is
 * [start(n), start(n + 1)). A trial is the span before the anchor, period
 * index -1. Each subscription that will be billed again keeps one row of
 * due work at the end of its current period; billing_run_due() takes it
 * from there (billing__subscription_advance).
 */
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/calendar.h"
#include "core/core.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/payment_internal.h"
#include "core/subscription_internal.h"

#define QUANTITY_MAX 10000
#define TRIAL_DAYS_MAX 730
#define DUE_KIND "subscription"

struct billing_subscription {
	char *tenant_id;
	char *id;
	char *customer_id;
	char *plan_id;
	char *latest_invoice_id;
	char *pending_plan_id;
	char *metadata_json;
	char currency[4];
	billing_subscription_status status;
	int32_t quantity;
	int64_t anchor, period_index, current_period_start, current_period_end;
	int64_t trial_end, canceled_at, ended_at;
	int cancel_at_period_end;
	billing__metadata metadata;
	int64_t created_at, updated_at, version;
};

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
	{ BILLING_SUB_INCOMPLETE, BILLING_SUB_ACTIVE, "first payment succeeded" },
	{ BILLING_SUB_INCOMPLETE, BILLING_SUB_EXPIRED, "first payment never came" },
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
	default: return NULL;
	}
}

static bool allowed(int from, int to)
{
	size_t i;
	for (i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if ((int)transitions[i].from == from && (int)transitions[i].to == to)
			return true;
	return false;
}

int billing__subscription_transition(int from, int to)
{
	if (allowed(from, to))
		return BILLING_OK;
	return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
		"a subscription cannot go from %s to %s",
		billing_subscription_status_name((billing_subscription_status)from),
		billing_subscription_status_name((billing_subscription_status)to));
}

static bool ended(int status)
{
	return status == BILLING_SUB_CANCELED || status == BILLING_SUB_EXPIRED;
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
		billing__strsize(r->metadata_json ? r->metadata_json : "{}");

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
	s->created_at = r->created_at;
	s->updated_at = r->updated_at;
	s->version = r->version;
	if (billing__metadata_decode(&s->metadata, s->metadata_json) < 0) {
		billing_subscription_free(s);
		return NULL;
	}
	return s;
}

static void record_of(billing_subscription_record *r, const billing_subscription *s)
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
	r->created_at = s->created_at;
	r->updated_at = s->updated_at;
	r->version = s->version;
}

static int64_t version_of(const void *item)
{
	return ((const billing_subscription *)item)->version;
}

/* In a write transaction the subscription's due work is locked first, as
 * the billing run holds it when it reads the subscription (core.h). */
static int st_get(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	int rc = billing__due_lock(st, tx, tenant_id, DUE_KIND, id, 0);
	if (rc < 0)
		return rc;
	return st->subscription_get(tx, tenant_id, id, cb, payload);
}

static int st_insert(billing_storage *st, billing_txn *tx, const void *record)
{
	return st->subscription_insert(tx, record);
}

static int st_update(billing_storage *st, billing_txn *tx, const void *record,
	int64_t old_version)
{
	return st->subscription_update(tx, record, old_version);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return st->subscription_list(tx, tenant_id, q, cb, payload);
}

static int catch_up(billing_ctx *ctx, billing_txn *tx, const void *current, bool *changed);

static const billing__entity entity = {
	"subscription", from_record, free_item, version_of, NULL,
	st_get, st_insert, st_update, NULL, st_list,
	NULL, NULL,
	catch_up, NULL
};

/* ------------------------------------------------------------ calendar */

/* [start, end) of period n of the plan's schedule from anchor. */
static int period_bounds(int64_t *start, int64_t *end, const billing__plan_info *plan,
	int64_t anchor, int64_t n)
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

/* The due work of a subscription that will be billed again; none else. */
static int schedule(billing_ctx *ctx, billing_txn *tx, const billing_subscription_record *r)
{
	billing_due_record d;
	if (ended(r->status) || r->status == BILLING_SUB_PAUSED)
		return ctx->st->due_clear(tx, r->tenant_id, DUE_KIND, r->id);
	d.tenant_id = r->tenant_id;
	d.kind = DUE_KIND;
	d.resource_id = r->id;
	d.due_at = r->current_period_end;
	return ctx->st->due_set(tx, &d);
}

/* Writes the event for a subscription in its new state r. */
static int emit(billing_ctx *ctx, billing_txn *tx, const billing_subscription_record *r,
	const char *type)
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
		if ((owned = billing__realloc(l->owned, cap * 2 * sizeof(*owned))) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		l->owned = owned;
		l->cap = cap;
	}
	x = &l->v[l->n++];
	*x = *line;
	if (copy) {
		x->description = l->owned[l->nowned++] = billing__strdup(line->description);
		x->plan_id = l->owned[l->nowned++] = billing__strdup(line->plan_id);
		if (!x->description || (line->plan_id && !x->plan_id))
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	return BILLING_OK;
}

static int pending_row(void *payload, const void *record)
{
	return lines_push(payload, record, true);
}

/*
 * Issues the invoice of period [start, end): the plan's line (a zero one
 * for a trial), then the lines waiting for this invoice (prorations), which
 * are then gone.
 */
static int invoice_period(billing_ctx *ctx, billing_txn *tx, const billing_subscription_record *r,
	const billing__plan_info *plan, int64_t start, int64_t end, bool trial,
	const billing_invoice_line *extra, char invoice_id[BILLING_ID_MAX])
{
	billing__invoice_draft d;
	billing_invoice_line line;
	billing__plan_info p = *plan;
	struct lines l = { 0 };
	char desc[600];
	int rc;

	if (trial)
		p.amount = 0;
	if ((rc = billing__plan_line(&line, &p, r->quantity, start, end, desc, sizeof(desc),
		trial ? "Trial of " : NULL)) < 0)
		return rc;
	if ((rc = lines_push(&l, &line, false)) < 0 ||
	    (extra && (rc = lines_push(&l, extra, false)) < 0) ||
	    (rc = ctx->st->pending_lines(tx, r->tenant_id, r->id, pending_row, &l)) < 0)
		goto out;
	d.tenant_id = r->tenant_id;
	d.customer_id = r->customer_id;
	d.subscription_id = r->id;
	d.currency = r->currency;
	d.period_start = start;
	d.period_end = end;
	d.line_count = l.n;
	d.lines = l.v;
	if ((rc = billing__invoice_issue(ctx, tx, &d, invoice_id)) == BILLING_OK)
		rc = ctx->st->pending_lines_clear(tx, r->tenant_id, r->id);
out:
	lines_free(&l);
	return rc;
}

/* ------------------------------------------------------------ create */

struct creating {
	const billing_subscription_params *p;
	int64_t now;
	bool trial;
	billing__plan_info plan;
	char currency[4];
	char invoice_id[BILLING_ID_MAX];
};

static int customer_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

static int missing(const char *field, const char *what)
{
	return billing__error_field(BILLING_EINVALID, "resource_missing", field,
		"no such %s in this tenant", what);
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
	 * meanwhile (core.h). */
	rc = billing__customer_read(ctx->st, tx, r->tenant_id, r->customer_id, BILLING_LOCK_NONE,
		customer_row, NULL);
	if (rc == BILLING_ENOTFOUND)
		return missing("customerId", "customer");
	if (rc < 0)
		return rc;
	rc = billing__plan_info_get(plan, ctx, tx, r->tenant_id, r->plan_id);
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && plan->deleted_at))
		return missing("planId", "plan");
	if (rc < 0)
		return rc;
	if (!plan->active)
		return billing__error_field(BILLING_EINVALID, "plan_inactive", "planId",
			"the plan is not active");

	snprintf(cr->currency, sizeof(cr->currency), "%s", plan->currency);
	r->currency = cr->currency;
	start_at = cr->p->start_at ? cr->p->start_at : cr->now;
	trial_days = cr->p->has_trial_days ? cr->p->trial_days : plan->trial_days;
	cr->trial = trial_days > 0;
	if (cr->trial) {
		/* A trial is [start, trial end); the cycle is anchored at its end. */
		int64_t trial_end = start_at + (int64_t)trial_days * 86400;
		if (trial_end > BILLING_TIME_MAX)
			return billing__error_set(BILLING_EOVERFLOW, "period_overflow",
				"the trial would end past the year 9999");
		r->status = BILLING_SUB_TRIALING;
		r->anchor = trial_end;
		r->period_index = -1;
		r->current_period_start = start_at;
		r->current_period_end = trial_end;
		r->trial_end = trial_end;
		return BILLING_OK;
	}
	r->status = BILLING_SUB_ACTIVE;
	r->anchor = start_at;
	r->period_index = 0;
	return period_bounds(&r->current_period_start, &r->current_period_end, plan, start_at, 0);
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

	if ((rc = invoice_period(ctx, tx, r, &cr->plan, r->current_period_start,
		r->current_period_end, cr->trial, NULL, cr->invoice_id)) < 0)
		return rc;
	r->latest_invoice_id = cr->invoice_id;
	r->version++;
	if ((rc = ctx->st->subscription_update(tx, r, r->version - 1)) < 0 ||
	    (rc = schedule(ctx, tx, r)) < 0)
		return rc;
	return emit(ctx, tx, r, "subscription.created");
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
	if (!p->customer_id)
		billing__check_fail(&c, "customerId", "is required");
	if (!p->plan_id)
		billing__check_fail(&c, "planId", "is required");
	if (p->quantity < 0 || p->quantity > QUANTITY_MAX)
		billing__check_fail(&c, "quantity", "must be between 1 and %d", QUANTITY_MAX);
	if (p->has_trial_days && (p->trial_days < 0 || p->trial_days > TRIAL_DAYS_MAX))
		billing__check_fail(&c, "trialDays", "must be between 0 and %d", TRIAL_DAYS_MAX);
	if (p->start_at < 0 || p->start_at > cr.now)
		billing__check_fail(&c, "startAt", "must not be in the future");
	if ((rc = billing__metadata_encode(&c, p->metadata, p->metadata_count, &metadata)) < 0)
		return rc;
	if ((rc = billing__checks_finish(&c, "subscription")) < 0)
		goto out;
	if (!billing__id_arg_ok(p->customer_id, "cus")) {
		rc = missing("customerId", "customer");
		goto out;
	}
	if (!billing__id_arg_ok(p->plan_id, "plan")) {
		rc = missing("planId", "plan");
		goto out;
	}

	billing__buf_add(&input, "customerId", p->customer_id);
	billing__buf_add(&input, "planId", p->plan_id);
	billing__buf_add_i64(&input, "quantity", p->quantity ? p->quantity : 1);
	billing__buf_add_i64(&input, "trial", p->has_trial_days ? p->trial_days : -1);
	billing__buf_add_i64(&input, "startAt", p->start_at);
	billing__buf_add(&input, "metadata", metadata);
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
	r.plan_id = p->plan_id;
	r.quantity = p->quantity ? p->quantity : 1;
	r.currency = "";
	r.metadata_json = metadata ? metadata : "{}";
	r.created_at = r.updated_at = cr.now;
	r.version = 1;
	rc = billing__entity_create((void **)out, &entity, ctx, who->tenant_id, &idem, &r,
		id, start, started, &cr);
out:
	billing__free(metadata);
	return rc;
}

/*
 * After a call that may have issued an invoice committed: collects it now
 * (billing/payment.h), and answers with the subscription as it stands after
 * that (past_due when the charge failed). A failure here is not the call's:
 * the due work stays for the billing run.
 */
static int collected(billing_subscription **out, billing_ctx *ctx, const billing_principal *who,
	int rc)
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

int billing_subscription_create(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_params *p,
	const billing_call_options *opts)
{
	return collected(out, ctx, who, subscription_create_retry(out, ctx, who, p, opts));
}

int billing_subscription_get(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return billing__entity_get((void **)out, &entity, ctx, who, BILLING_OP_SUBSCRIPTIONS_GET,
		"sub", id);
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
		return missing("customerId", "customer");
	if (p->plan_id && !billing__id_arg_ok(p->plan_id, "plan"))
		return missing("planId", "plan");
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
	return billing__entity_list(out, &entity, &l, ctx, who->tenant_id);
}

const billing_subscription *billing_page_subscription(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_SUBSCRIPTION, i);
}

/* ------------------------------------------------------------ cancel, update */

/* A proration line: the full-period amount of quantity x plan, times part
 * over whole seconds, half away from zero, negative for a credit. */
static int proration_line(billing_invoice_line *line, const billing__plan_info *plan,
	int32_t quantity, int64_t from, int64_t to, int64_t part, int64_t whole, bool credit,
	char *desc, size_t desc_size)
{
	int64_t amount;
	int rc;
	if ((rc = billing__plan_line(line, plan, quantity, from, to, desc, desc_size,
		credit ? "Unused time on " : "Remaining time on ")) < 0)
		return rc;
	if ((rc = billing__prorate(&amount, line->amount, part, whole)) < 0)
		return rc;
	line->amount = credit ? -amount : amount;
	line->proration = 1;
	return BILLING_OK;
}

struct cancelling {
	unsigned int flags;
	char invoice_id[BILLING_ID_MAX];
	char desc[600];
};

static int cancel_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	const struct cancelling *cn = payload;
	billing_subscription_record *r = record;
	int64_t now = billing__now(ctx);
	int rc;

	record_of(r, current);
	r->updated_at = now;
	r->version++;
	if (cn->flags & BILLING_CANCEL_AT_PERIOD_END) {
		if (ended(r->status) || r->cancel_at_period_end)
			return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
				ended(r->status) ? "the subscription has ended" :
				"the subscription is already set to cancel at its period end");
		r->cancel_at_period_end = 1;
		r->canceled_at = now;
		if ((rc = schedule(ctx, tx, r)) < 0)
			return rc;
		return emit(ctx, tx, r, "subscription.updated");
	}
	if ((rc = billing__subscription_transition(r->status, BILLING_SUB_CANCELED)) < 0)
		return rc;
	if ((cn->flags & BILLING_CANCEL_PRORATE) && r->status != BILLING_SUB_TRIALING &&
	    now < r->current_period_end) {
		/* A credit for the unused rest of the period, on an invoice of its
		 * own (its total is negative: owed back to the customer). */
		struct cancelling *mut = payload;
		billing__plan_info plan;
		billing_invoice_line credit;
		billing__invoice_draft d;
		int64_t from = now < r->current_period_start ? r->current_period_start : now;
		if ((rc = billing__plan_info_get(&plan, ctx, tx, r->tenant_id, r->plan_id)) < 0 ||
		    (rc = proration_line(&credit, &plan, r->quantity, from, r->current_period_end,
			r->current_period_end - from, r->current_period_end - r->current_period_start,
			true, mut->desc, sizeof(mut->desc))) < 0)
			return rc;
		d.tenant_id = r->tenant_id;
		d.customer_id = r->customer_id;
		d.subscription_id = r->id;
		d.currency = r->currency;
		d.period_start = from;
		d.period_end = r->current_period_end;
		d.line_count = 1;
		d.lines = &credit;
		if ((rc = billing__invoice_issue(ctx, tx, &d, mut->invoice_id)) < 0)
			return rc;
		r->latest_invoice_id = mut->invoice_id;
	}
	r->status = BILLING_SUB_CANCELED;
	r->cancel_at_period_end = 0;
	r->canceled_at = now;
	r->ended_at = now;
	if ((rc = schedule(ctx, tx, r)) < 0)
		return rc;
	return emit(ctx, tx, r, "subscription.canceled");
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
	return billing__entity_update((void **)out, &entity, ctx, who->tenant_id, id, &idem, 0, &r,
		cancel_step, &cn);
}

int billing_subscription_cancel(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, unsigned int flags,
	const billing_call_options *opts)
{
	BILLING__RETRY(subscription_cancel_once(out, ctx, who, id, flags, opts));
}

#define UPDATE_FIELDS (BILLING_SUBSCRIPTION_CANCEL_AT_PERIOD_END | \
	BILLING_SUBSCRIPTION_QUANTITY | BILLING_SUBSCRIPTION_METADATA)

struct changing {
	const billing_subscription_update_params *p;
	const char *metadata;
};

static int update_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	const struct changing *ch = payload;
	const billing_subscription_update_params *p = ch->p;
	billing_subscription_record *r = record;
	int rc;

	record_of(r, current);
	if (ended(r->status))
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"the subscription has ended");
	r->updated_at = billing__now(ctx);
	r->version++;
	if (p->fields & BILLING_SUBSCRIPTION_CANCEL_AT_PERIOD_END) {
		r->cancel_at_period_end = p->cancel_at_period_end ? 1 : 0;
		r->canceled_at = p->cancel_at_period_end ? r->updated_at : 0;
	}
	if (p->fields & BILLING_SUBSCRIPTION_QUANTITY)
		r->quantity = p->quantity;
	if (p->fields & BILLING_SUBSCRIPTION_METADATA)
		r->metadata_json = ch->metadata ? ch->metadata : "{}";
	if ((rc = schedule(ctx, tx, r)) < 0)
		return rc;
	return emit(ctx, tx, r, "subscription.updated");
}

static int subscription_update_once(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id,
	const billing_subscription_update_params *p, const billing_call_options *opts)
{
	billing__checks c = BILLING__CHECKS_INIT;
	billing_subscription_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct changing ch = { p, NULL };
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
	    (p->quantity < 1 || p->quantity > QUANTITY_MAX))
		billing__check_fail(&c, "quantity", "must be between 1 and %d", QUANTITY_MAX);
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
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_SUBSCRIPTIONS_UPDATE, &input)) < 0)
		goto out;
	rc = billing__entity_update((void **)out, &entity, ctx, who->tenant_id, id, &idem,
		p->expected_version, &r, update_step, &ch);
out:
	billing__free(metadata);
	return rc;
}

int billing_subscription_update(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id,
	const billing_subscription_update_params *p, const billing_call_options *opts)
{
	BILLING__RETRY(subscription_update_once(out, ctx, who, id, p, opts));
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
};

static int switch_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct switching *sw = payload;
	const billing_subscription *cur = current;
	billing_subscription_record *r = record;
	billing__plan_info *np = &sw->new_plan, *op = &sw->old_plan;
	billing_invoice_line credit, charge;
	int64_t now = billing__now(ctx), t, whole, unused;
	int32_t qty = sw->p->quantity ? sw->p->quantity : cur->quantity;
	bool same_cycle;
	int rc;

	if (ended(cur->status) || cur->status == BILLING_SUB_PAUSED)
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"a %s subscription cannot change plan",
			billing_subscription_status_name(cur->status));
	rc = billing__plan_info_get(np, ctx, tx, cur->tenant_id, sw->p->plan_id);
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && np->deleted_at))
		return missing("planId", "plan");
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
		record_of(r, cur);
		r->pending_plan_id = NULL;
		r->updated_at = now;
		r->version++;
		return emit(ctx, tx, r, "subscription.updated");
	}
	if (strcmp(np->currency, cur->currency) != 0)
		return billing__error_field(BILLING_EINVALID, "currency_mismatch", "planId",
			"the plan is in %s, the subscription in %s", np->currency, cur->currency);
	if ((rc = billing__plan_info_get(op, ctx, tx, cur->tenant_id, cur->plan_id)) < 0)
		return rc;

	record_of(r, cur);
	r->quantity = qty;
	r->updated_at = now;
	r->version++;
	if (sw->p->at_period_end) {
		/* A downgrade, typically: the customer keeps what was paid for
		 * until the period ends, then the run moves it to the new plan. */
		r->pending_plan_id = np->id;
		if ((rc = schedule(ctx, tx, r)) < 0)
			return rc;
		return emit(ctx, tx, r, "subscription.updated");
	}
	r->plan_id = np->id;
	r->pending_plan_id = NULL; /* an immediate change replaces a scheduled one */
	same_cycle = np->interval == op->interval && np->interval_count == op->interval_count;
	t = now < r->current_period_start ? r->current_period_start : now;
	whole = r->current_period_end - r->current_period_start;
	unused = r->current_period_end > t ? r->current_period_end - t : 0;

	if (r->status == BILLING_SUB_TRIALING) {
		/* Nothing was charged for the trial: the new plan starts at its end. */
	} else if (!same_cycle && sw->p->proration == BILLING_PRORATE_NONE) {
		/* The new plan's cycle starts when the current period ends. */
		r->anchor = r->current_period_end;
		r->period_index = -1;
	} else if (!same_cycle) {
		/* A change of interval restarts the cycle now; the new period is
		 * invoiced at once, with the credit for the old plan's unused time. */
		if ((rc = proration_line(&credit, op, cur->quantity, t, r->current_period_end, unused,
			whole, true, sw->desc_credit, sizeof(sw->desc_credit))) < 0)
			return rc;
		r->anchor = t;
		r->period_index = 0;
		if ((rc = period_bounds(&r->current_period_start, &r->current_period_end, np, t, 0)) < 0)
			return rc;
		if ((rc = invoice_period(ctx, tx, r, np, r->current_period_start,
			r->current_period_end, false, &credit, sw->invoice_id)) < 0)
			return rc;
		r->latest_invoice_id = sw->invoice_id;
	} else if (sw->p->proration != BILLING_PRORATE_NONE && unused > 0) {
		if ((rc = proration_line(&credit, op, cur->quantity, t, r->current_period_end, unused,
			whole, true, sw->desc_credit, sizeof(sw->desc_credit))) < 0 ||
		    (rc = proration_line(&charge, np, qty, t, r->current_period_end, unused, whole,
			false, sw->desc_charge, sizeof(sw->desc_charge))) < 0)
			return rc;
		if (sw->p->proration == BILLING_PRORATE_CREATE) {
			if ((rc = ctx->st->pending_line_add(tx, r->tenant_id, r->id, &credit)) < 0 ||
			    (rc = ctx->st->pending_line_add(tx, r->tenant_id, r->id, &charge)) < 0)
				return rc;
		} else {
			billing__invoice_draft d;
			billing_invoice_line both[2];
			both[0] = credit;
			both[1] = charge;
			d.tenant_id = r->tenant_id;
			d.customer_id = r->customer_id;
			d.subscription_id = r->id;
			d.currency = r->currency;
			d.period_start = t;
			d.period_end = r->current_period_end;
			d.line_count = 2;
			d.lines = both;
			if ((rc = billing__invoice_issue(ctx, tx, &d, sw->invoice_id)) < 0)
				return rc;
			r->latest_invoice_id = sw->invoice_id;
		}
	}
	if ((rc = schedule(ctx, tx, r)) < 0)
		return rc;
	return emit(ctx, tx, r, "subscription.updated");
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
	if (p->quantity < 0 || p->quantity > QUANTITY_MAX)
		billing__check_fail(&c, "quantity", "must be between 1 and %d", QUANTITY_MAX);
	if ((rc = billing__checks_finish(&c, "change of plan")) < 0)
		return rc;
	if (!billing__id_arg_ok(p->plan_id, "plan"))
		return missing("planId", "plan");
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
	rc = billing__entity_update((void **)out, &entity, ctx, who->tenant_id, id, &idem, 0, &r,
		switch_step, sw);
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
	return collected(out, ctx, who, subscription_change_retry(out, ctx, who, id, p, opts));
}

/* ------------------------------------------------------------ pause, resume */

struct pausing {
	bool resume;
	char invoice_id[BILLING_ID_MAX];
};

static int pause_step(void *payload, billing_ctx *ctx, billing_txn *tx, const void *current,
	void *record)
{
	struct pausing *ps = payload;
	billing_subscription_record *r = record;
	billing__plan_info plan;
	int64_t now = billing__now(ctx);
	int rc;

	record_of(r, current);
	if ((rc = billing__subscription_transition(r->status,
		ps->resume ? BILLING_SUB_ACTIVE : BILLING_SUB_PAUSED)) < 0)
		return rc;
	if (ps->resume && r->status != BILLING_SUB_PAUSED)
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"only a paused subscription can be resumed");
	r->updated_at = now;
	r->version++;
	if (!ps->resume) {
		r->status = BILLING_SUB_PAUSED;
	} else {
		/* A new cycle from now, invoiced at once. */
		if ((rc = billing__plan_info_get(&plan, ctx, tx, r->tenant_id, r->plan_id)) < 0)
			return rc;
		r->status = BILLING_SUB_ACTIVE;
		r->anchor = now;
		r->period_index = 0;
		if ((rc = period_bounds(&r->current_period_start, &r->current_period_end, &plan, now,
			0)) < 0 ||
		    (rc = invoice_period(ctx, tx, r, &plan, r->current_period_start,
			r->current_period_end, false, NULL, ps->invoice_id)) < 0)
			return rc;
		r->latest_invoice_id = ps->invoice_id;
	}
	if ((rc = schedule(ctx, tx, r)) < 0)
		return rc;
	return emit(ctx, tx, r, ps->resume ? "subscription.resumed" : "subscription.paused");
}

static int pause_once(billing_subscription **out, billing_ctx *ctx, const billing_principal *who,
	const char *id, const billing_call_options *opts, bool resume)
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
	if ((rc = billing__idem_init_buf(&idem, opts, op, &input)) < 0)
		return rc;
	memset(&ps, 0, sizeof(ps));
	ps.resume = resume;
	return billing__entity_update((void **)out, &entity, ctx, who->tenant_id, id, &idem, 0, &r,
		pause_step, &ps);
}

int billing_subscription_pause(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	BILLING__RETRY(pause_once(out, ctx, who, id, opts, false));
}

static int resume_retry(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	BILLING__RETRY(pause_once(out, ctx, who, id, opts, true));
}

int billing_subscription_resume(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	return collected(out, ctx, who, resume_retry(out, ctx, who, id, opts));
}

/* ------------------------------------------------------------ the run */

int billing__subscription_advance(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now, int *invoiced)
{
	billing_subscription *cur = NULL;
	billing_subscription_record r;
	billing__plan_info plan;
	char invoice_id[BILLING_ID_MAX];
	const char *event = "subscription.updated";
	int64_t t, pstart, pend;
	int rc;

	*invoiced = 0;
	rc = billing__entity_get_in((void **)&cur, &entity, ctx, tx, tenant_id, id);
	if (rc == BILLING_ENOTFOUND)
		return ctx->st->due_clear(tx, tenant_id, DUE_KIND, id);
	if (rc < 0)
		return rc;
	record_of(&r, cur);
	if (ended(r.status) || r.status == BILLING_SUB_PAUSED || r.current_period_end > now) {
		/* Nothing due (any more): keep the schedule true to the row. */
		rc = schedule(ctx, tx, &r);
		goto out;
	}
	if ((rc = billing__plan_info_get(&plan, ctx, tx, tenant_id, r.plan_id)) < 0)
		goto out;
	t = r.current_period_end;
	r.updated_at = now;
	r.version++;
	if (r.cancel_at_period_end) {
		/* The end takes effect at the scheduled time, not the run's. */
		r.status = BILLING_SUB_CANCELED;
		r.ended_at = t;
		r.cancel_at_period_end = 0;
		event = "subscription.canceled";
	} else if (plan.term_count && r.period_index + 1 >= plan.term_count) {
		if ((rc = billing__subscription_transition(r.status, BILLING_SUB_EXPIRED)) < 0)
			goto out;
		r.status = BILLING_SUB_EXPIRED;
		r.ended_at = t;
		event = "subscription.expired";
	} else {
		int64_t n = r.period_index + 1;
		bool trial_ends = r.status == BILLING_SUB_TRIALING;
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
		}
		if ((rc = period_bounds(&pstart, &pend, &plan, r.anchor, n)) < 0)
			goto out;
		if (trial_ends) {
			r.status = BILLING_SUB_ACTIVE;
			event = "subscription.trial_ended";
		}
		r.period_index = n;
		r.current_period_start = pstart;
		r.current_period_end = pend;
		if ((rc = invoice_period(ctx, tx, &r, &plan, pstart, pend, false, NULL,
			invoice_id)) < 0)
			goto out;
		r.latest_invoice_id = invoice_id;
		*invoiced = 1;
	}
	/* Each branch above moves only between states the table allows. */
	BILLING_ASSERT(allowed((int)cur->status, r.status));
	if ((rc = ctx->st->subscription_update(tx, &r, cur->version)) == BILLING_OK &&
	    (rc = schedule(ctx, tx, &r)) == BILLING_OK)
		rc = emit(ctx, tx, &r, event);
out:
	billing_subscription_free(cur);
	return rc;
}

/* Every renewal, trial end, term end and period-end change due at or before
 * now, applied as the billing run applies them (its due work then finds
 * nothing left): a cancel, change, update, pause or resume made while the
 * run is late acts on the period the customer is in, and that period is
 * billed — not skipped. */
static bool due_by(const billing_subscription *s, int64_t now)
{
	return !ended(s->status) && s->status != BILLING_SUB_PAUSED && s->current_period_end <= now;
}

static int catch_up(billing_ctx *ctx, billing_txn *tx, const void *current, bool *changed)
{
	const billing_subscription *s = current;
	int64_t now = billing__now(ctx);
	bool due = due_by(s, now);

	while (due) {
		billing_subscription *cur = NULL;
		int invoiced, rc;

		if ((rc = billing__subscription_advance(ctx, tx, s->tenant_id, s->id, now,
			&invoiced)) < 0 ||
		    (rc = billing__entity_get_in((void **)&cur, &entity, ctx, tx, s->tenant_id,
			s->id)) < 0)
			return rc;
		*changed = true;
		due = due_by(cur, now);
		billing_subscription_free(cur);
	}
	return BILLING_OK;
}

int billing__subscription_payment(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, billing__sub_payment what, int64_t at, int64_t now)
{
	billing_subscription *cur = NULL;
	billing_subscription_record r;
	const char *event = NULL;
	int rc;

	if ((rc = billing__entity_get_in((void **)&cur, &entity, ctx, tx, tenant_id, id)) < 0)
		return rc;
	record_of(&r, cur);
	if (what == BILLING__SUB_PAYMENT_FAILED && r.status == BILLING_SUB_ACTIVE) {
		r.status = BILLING_SUB_PAST_DUE;
		event = "subscription.past_due";
	} else if (what == BILLING__SUB_PAYMENT_RECOVERED &&
		   (r.status == BILLING_SUB_PAST_DUE || r.status == BILLING_SUB_UNPAID)) {
		r.status = BILLING_SUB_ACTIVE;
		event = "subscription.recovered";
	} else if (what == BILLING__SUB_RETRIES_EXHAUSTED_UNPAID &&
		   r.status == BILLING_SUB_PAST_DUE) {
		r.status = BILLING_SUB_UNPAID;
		event = "subscription.unpaid";
	} else if (what == BILLING__SUB_RETRIES_EXHAUSTED && !ended(r.status)) {
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
		BILLING_ASSERT(allowed((int)cur->status, r.status));
		r.updated_at = now;
		r.version++;
		if ((rc = ctx->st->subscription_update(tx, &r, cur->version)) == BILLING_OK &&
		    (rc = schedule(ctx, tx, &r)) == BILLING_OK)
			rc = emit(ctx, tx, &r, event);
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
	rc = ctx->st->subscription_get(tx, tenant_id, id, status_row, status);
	return rc == BILLING_ENOTFOUND ? BILLING_OK : rc;
}

/* ------------------------------------------------------------ preview */

int billing_invoice_preview(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *subscription_id)
{
	billing_subscription *cur = NULL;
	billing__invoice_draft d;
	billing__plan_info plan;
	billing_invoice_line line;
	struct lines l = { 0 };
	billing_txn *tx;
	char desc[600];
	int64_t pstart, pend;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_PREVIEW)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	/* The id is a query's, not the resource's own: naming nothing is the
	 * input's fault (API-HTTP.md: 400 resource_missing). */
	if (!billing__id_arg_ok(subscription_id, "sub"))
		return missing("subscriptionId", "subscription");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__entity_get_in((void **)&cur, &entity, ctx, tx, who->tenant_id, subscription_id);
	if (rc == BILLING_ENOTFOUND)
		rc = missing("subscriptionId", "subscription");
	if (rc < 0 ||
	    (rc = billing__plan_info_get(&plan, ctx, tx, who->tenant_id, cur->plan_id)) < 0)
		goto end;
	if (ended(cur->status) || cur->cancel_at_period_end ||
	    (plan.term_count && cur->period_index + 1 >= plan.term_count)) {
		rc = billing__error_set(BILLING_ECONFLICT, "no_next_invoice",
			"the subscription will not be invoiced again");
		goto end;
	}
	if (cur->pending_plan_id) {
		billing__plan_info next;
		int64_t anchor = cur->anchor, n = cur->period_index + 1;
		if ((rc = billing__plan_info_get(&next, ctx, tx, cur->tenant_id,
			cur->pending_plan_id)) < 0)
			goto end;
		if (next.interval != plan.interval || next.interval_count != plan.interval_count) {
			anchor = cur->current_period_end;
			n = 0;
		}
		plan = next;
		rc = period_bounds(&pstart, &pend, &plan, anchor, n);
	} else {
		rc = period_bounds(&pstart, &pend, &plan, cur->anchor, cur->period_index + 1);
	}
	if (rc < 0 ||
	    (rc = billing__plan_line(&line, &plan, cur->quantity, pstart, pend, desc, sizeof(desc),
		NULL)) < 0 ||
	    (rc = lines_push(&l, &line, false)) < 0 ||
	    (rc = ctx->st->pending_lines(tx, cur->tenant_id, cur->id, pending_row, &l)) < 0)
		goto end;
	d.tenant_id = cur->tenant_id;
	d.customer_id = cur->customer_id;
	d.subscription_id = cur->id;
	d.currency = cur->currency;
	d.period_start = pstart;
	d.period_end = pend;
	d.line_count = l.n;
	d.lines = l.v;
	rc = billing__invoice_preview_build(out, &d);
end:
	lines_free(&l);
	billing_subscription_free(cur);
	return billing__end(ctx, tx, rc);
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
