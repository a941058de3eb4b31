/*
 * The changes of subscription items (billing/subscription_item.h): add,
 * change (quantity, plan), remove and their preview, each in the
 * subscription's transaction (the subscription locked first, then caught
 * up with its calendar), prorated as billing_subscription_change_plan
 * prorates (subscription_plan_change.c's proration line). The object, its
 * reads and what the calendar uses are in subscription_item.c.
 */
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "billing/subscription_item.h"
#include "core/calendar.h"
#include "core/core.h"
#include "core/entity.h"
#include "core/invoice_internal.h"
#include "core/payment_internal.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/subscription_internal.h"


/* ------------------------------------------------------------ changes */

enum { ADD = 1, CHANGE, REMOVE };

/* One change of an item, computed in the subscription's transaction: the
 * proration lines it makes (none, one or two) at time t. */
struct change {
	int kind;
	const billing_subscription_item_params *p;
	const char *item_id;               /* CHANGE, REMOVE: the item's id */
	bool preview;
	/* computed */
	billing__plan_info old_plan, new_plan;
	struct billing_subscription_item next; /* the item after the change */
	char new_id[BILLING_ID_MAX];       /* next's id (copied: next outlives the items read) */
	char plan_id[BILLING_ID_MAX];      /* next's plan when it keeps its own */
	billing_invoice_line lines[2];
	size_t n;
	char desc[2][600];
	int64_t t;
	char invoice_id[BILLING_ID_MAX];
	/* out */
	struct billing_subscription_item *result;
	billing_invoice *previewed;
};

static int prorate_line(struct change *c, const billing__plan_info *plan, int32_t quantity,
	const billing_subscription *s, bool credit, const char *item_id)
{
	billing_invoice_line *l = &c->lines[c->n];
	int64_t whole;
	int rc;
	/* A metered plan is billed in arrears for its usage: nothing of it is
	 * paid in advance, so nothing is prorated. */
	if (plan->usage_type == BILLING__USAGE_METERED)
		return BILLING_OK;
	if ((rc = billing__subscription_whole(&whole, s->period_index, s->anchor,
		s->current_period_start, s->current_period_end, plan)) < 0 ||
	    (rc = billing__subscription_proration_line(l, plan, quantity, c->t,
		s->current_period_end, s->current_period_end - c->t, whole, credit, c->desc[c->n],
		sizeof(c->desc[c->n]))) < 0)
		return rc;
	l->subscription_item_id = item_id;
	c->n++;
	return BILLING_OK;
}

/* A change of quantity on one plan: one line, the two quantities' full
 * amounts' difference (each the plan's price model, without its tiers)
 * over the rest of the period. */
static int quantity_line(struct change *c, const billing_subscription *s, int32_t from,
	int32_t to, const char *item_id)
{
	billing_invoice_line old_line, *l = &c->lines[c->n];
	char scratch[600];
	int64_t diff, amount, whole;
	int rc;

	if ((rc = billing__plan_line_untiered(&old_line, &c->old_plan, from, c->t,
		s->current_period_end, scratch, sizeof(scratch), NULL)) < 0 ||
	    (rc = billing__plan_line_untiered(l, &c->old_plan, to, c->t, s->current_period_end,
		c->desc[c->n], sizeof(c->desc[c->n]), NULL)) < 0)
		return rc;
	if (__builtin_sub_overflow(l->amount, old_line.amount, &diff))
		return billing__error_set(BILLING_EOVERFLOW, "overflow", "the change's amount overflows");
	if ((rc = billing__subscription_whole(&whole, s->period_index, s->anchor,
		s->current_period_start, s->current_period_end, &c->old_plan)) < 0 ||
	    (rc = billing__prorate(&amount, diff, s->current_period_end - c->t, whole)) < 0)
		return rc;
	snprintf(c->desc[c->n], sizeof(c->desc[c->n]), "Remaining time on %s: quantity %d -> %d",
		c->old_plan.name, from, to);
	l->amount = amount;
	l->proration = 1;
	l->subscription_item_id = item_id;
	c->n++;
	return BILLING_OK;
}

/* The time of the proration: p's date or now, in the current period. */
static int proration_time(struct change *c, const billing_subscription *s, int64_t now)
{
	int64_t t = c->p->proration_date;
	if (!t)
		t = now < s->current_period_start ? s->current_period_start : now;
	else if (t > now || t < s->current_period_start || t >= s->current_period_end)
		return billing__error_field(BILLING_EINVALID, "invalid", "prorationDate",
			"must lie in the current period [%lld, %lld) and not after now",
			(long long)s->current_period_start, (long long)s->current_period_end);
	c->t = t;
	return BILLING_OK;
}

static const char *find_item(const billing__sub_items *it, const char *id, size_t *at)
{
	size_t i;
	for (i = 0; i < it->n; i++)
		if (strcmp(it->v[i]->id, id) == 0) {
			*at = i;
			return it->v[i]->id;
		}
	return NULL;
}

/* Builds c->next and the lines; checks everything. s is locked. */
static int plan_change(struct change *c, billing_ctx *ctx, billing_txn *tx,
	const billing_subscription *s, const billing__sub_items *it)
{
	const billing_subscription_item_params *p = c->p;
	int64_t now = billing__now(ctx);
	bool prorate;
	size_t at = 0, i;
	int rc;

	if (billing__subscription_ended(s->status) || s->status == BILLING_SUB_PAUSED ||
	    s->status == BILLING_SUB_INCOMPLETE)
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"the items of a %s subscription cannot change",
			billing_subscription_status_name(s->status));
	if ((rc = proration_time(c, s, now)) < 0)
		return rc;
	/* The calendar's plan: the first item's (the subscription's). */
	if ((rc = billing__plan_info_get(&c->old_plan, ctx, tx, s->tenant_id, s->plan_id)) < 0)
		return rc;
	if (c->kind == ADD) {
		if (it->n >= BILLING_SUBSCRIPTION_ITEMS_MAX)
			return billing__error_field(BILLING_EINVALID, "too_many_items",
				"subscriptionId", "a subscription holds at most %d items",
				BILLING_SUBSCRIPTION_ITEMS_MAX);
		memset(&c->next, 0, sizeof(c->next));
		if (billing__id_new(c->new_id, "si", now * 1000) < 0)
			return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		c->next.tenant_id = s->tenant_id;
		c->next.id = c->new_id;
		c->next.subscription_id = s->id;
		c->next.plan_id = p->plan_id;
		c->next.quantity = p->quantity ? p->quantity : 1;
		c->next.item_no = it->n ? it->v[it->n - 1]->item_no + 1 : 1;
		c->next.created_at = c->next.updated_at = now;
		c->next.version = 1;
	} else {
		if (!find_item(it, c->item_id, &at))
			return billing__not_found("subscription item");
		if (p->expected_version && p->expected_version != it->v[at]->version)
			return billing__error_set(BILLING_ECONFLICT, "stale",
				"the subscription item is at version %lld, not %lld",
				(long long)it->v[at]->version, (long long)p->expected_version);
		c->next = *it->v[at];
		snprintf(c->new_id, sizeof(c->new_id), "%s", it->v[at]->id);
		snprintf(c->plan_id, sizeof(c->plan_id), "%s", it->v[at]->plan_id);
		c->next.id = c->new_id;
		c->next.plan_id = c->plan_id;
		c->next.tenant_id = s->tenant_id;
		c->next.subscription_id = s->id;
		c->next.updated_at = now;
		c->next.version++;
		if (c->kind == REMOVE && it->n == 1)
			return billing__error_set(BILLING_ECONFLICT, "last_item",
				"a subscription keeps at least one item: cancel it instead");
		if (c->kind == CHANGE) {
			if (p->fields & BILLING_SUBSCRIPTION_ITEM_PLAN)
				c->next.plan_id = p->plan_id;
			if (p->fields & BILLING_SUBSCRIPTION_ITEM_QUANTITY)
				c->next.quantity = p->quantity;
			if (strcmp(c->next.plan_id, it->v[at]->plan_id) == 0 &&
			    c->next.quantity == it->v[at]->quantity)
				return billing__error_field(BILLING_EINVALID, "no_change",
					(p->fields & BILLING_SUBSCRIPTION_ITEM_QUANTITY) ? "quantity" :
					"planId", "the item has this plan and quantity already");
		}
	}
	if (c->kind != REMOVE) {
		if ((rc = billing__sub_item_plan_fits(&c->new_plan, ctx, tx, s->tenant_id, c->next.plan_id,
			&c->old_plan, "planId")) < 0 ||
		    (rc = billing__sub_item_quantity_check(&c->new_plan,
			(c->kind == ADD || (p->fields & BILLING_SUBSCRIPTION_ITEM_QUANTITY)) ?
			p->quantity : 0, "quantity")) < 0)
			return rc;
		/* A metered item has no quantity (0, stored as NULL); a licensed
		 * one coming from a metered plan takes 1 unless one is given. */
		c->next.quantity = billing__sub_item_quantity_stored(&c->new_plan,
			c->next.quantity);
		for (i = 0; i < it->n; i++)
			if ((c->kind == ADD || i != at) && strcmp(it->v[i]->plan_id, c->next.plan_id) == 0)
				return billing__error_field(BILLING_EINVALID, "duplicate_plan", "planId",
					"the plan is on item %s of the subscription already",
					it->v[i]->id);
	}
	/* The old plan of the item changed or removed. */
	if (c->kind != ADD && (rc = billing__plan_info_get(&c->old_plan, ctx, tx, s->tenant_id,
		it->v[at]->plan_id)) < 0)
		return rc;

	prorate = p->proration != BILLING_PRORATE_NONE && s->status != BILLING_SUB_TRIALING &&
		c->t < s->current_period_end;
	if (!prorate)
		return BILLING_OK;
	if (c->kind == ADD)
		return prorate_line(c, &c->new_plan, c->next.quantity, s, false, c->next.id);
	if (c->kind == REMOVE)
		return prorate_line(c, &c->old_plan, it->v[at]->quantity, s, true, c->next.id);
	if (strcmp(c->next.plan_id, it->v[at]->plan_id) == 0)
		return quantity_line(c, s, it->v[at]->quantity, c->next.quantity, c->next.id);
	if ((rc = prorate_line(c, &c->old_plan, it->v[at]->quantity, s, true, c->next.id)) < 0)
		return rc;
	return prorate_line(c, &c->new_plan, c->next.quantity, s, false, c->next.id);
}

static void draft_of(billing__invoice_draft *d, const billing_subscription *s,
	const struct change *c)
{
	d->tenant_id = s->tenant_id;
	d->customer_id = s->customer_id;
	d->subscription_id = s->id;
	d->currency = s->currency;
	d->period_start = c->t;
	d->period_end = s->current_period_end;
	d->line_count = c->n;
	d->lines = (billing_invoice_line *)c->lines;
}

/* Writes the change (item row, lines, the subscription's copy) in tx. */
static int apply(struct change *c, billing_ctx *ctx, billing_txn *tx,
	const billing_subscription *s, billing__sub_items *it)
{
	billing_subscription_record r;
	char *json = NULL;
	size_t i, at = 0;
	int rc = BILLING_OK;

	if (c->kind == ADD)
		rc = ctx->st->record_insert(tx, &billing__res_subscription_item, &c->next);
	else if (c->kind == CHANGE)
		rc = ctx->st->record_update(tx, &billing__res_subscription_item, &c->next,
			c->next.version - 1);
	else
		rc = ctx->st->record_delete(tx, &billing__res_subscription_item, s->tenant_id,
			c->next.id);
	if (rc < 0)
		return rc;
	if ((rc = billing__sub_item_emit(ctx, tx, &c->next, c->kind == ADD ? "created" : c->kind == CHANGE ?
		"updated" : "deleted")) < 0)
		return rc;

	billing__subscription_record_of(&r, s);
	r.updated_at = c->next.updated_at;
	r.version++;
	if (c->n && c->p->proration == BILLING_PRORATE_CREATE) {
		for (i = 0; rc == BILLING_OK && i < c->n; i++)
			rc = billing__pending_line_add(ctx->st, tx, s->tenant_id, s->id, &c->lines[i]);
	} else if (c->n) {
		billing__invoice_draft d = { 0 };
		draft_of(&d, s, c);
		if ((rc = billing__invoice_issue(ctx, tx, &d, c->invoice_id)) == BILLING_OK)
			r.latest_invoice_id = c->invoice_id;
	}
	if (rc < 0)
		return rc;

	/* The items as they are now, in order, for the subscription's copy. */
	if (c->kind == ADD) {
		it->v[it->n++] = &c->next;
	} else if (find_item(it, c->next.id, &at)) {
		/* next copied what it keeps of the old row: it may go. */
		billing__free(it->v[at]);
		if (c->kind == CHANGE) {
			it->v[at] = &c->next;
		} else {
			size_t k;
			for (k = at; k + 1 < it->n; k++)
				it->v[k] = it->v[k + 1];
			it->n--;
		}
	}
	if ((rc = billing__sub_items_mirror(&r, it, &json)) == BILLING_OK &&
	    (rc = ctx->st->record_update(tx, &billing__res_subscription, &r, s->version)) == BILLING_OK)
		rc = billing__subscription_emit(ctx, tx, &r, "subscription.updated");
	/* it no longer owns &c->next: take it out before it is freed. */
	for (i = 0; i < it->n; i++)
		if (it->v[i] == &c->next)
			it->v[i] = NULL;
	cJSON_free(json);
	return rc;
}

static int input_of(billing__buf *b, int kind, const char *id,
	const billing_subscription_item_params *p)
{
	billing__buf_add_i64(b, "kind", kind);
	billing__buf_add(b, "id", id);
	billing__buf_add(b, "subscriptionId", kind == ADD ? p->subscription_id : NULL);
	billing__buf_add(b, "planId", p->plan_id);
	billing__buf_add_i64(b, "quantity", p->quantity);
	billing__buf_add_i64(b, "fields", p->fields);
	billing__buf_add_i64(b, "proration", p->proration);
	billing__buf_add_i64(b, "prorationDate", p->proration_date);
	return BILLING_OK;
}

static int check_params(const billing_subscription_item_params *p, int kind, bool preview)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_SUBSCRIPTION_ITEM_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_subscription_item_params version %u", p->version);
	if ((kind == ADD || preview) && !p->subscription_id)
		billing__check_fail(&ck, "subscriptionId", "is required");
	if ((kind == ADD || (kind == CHANGE && (p->fields & BILLING_SUBSCRIPTION_ITEM_PLAN))) &&
	    !p->plan_id)
		billing__check_fail(&ck, "planId", "is required");
	if (kind == CHANGE && (p->fields & ~(unsigned int)(BILLING_SUBSCRIPTION_ITEM_PLAN |
		BILLING_SUBSCRIPTION_ITEM_QUANTITY)))
		billing__check_fail(&ck, "fields", "unknown field bits");
	if (kind == CHANGE && !(p->fields & (BILLING_SUBSCRIPTION_ITEM_PLAN |
		BILLING_SUBSCRIPTION_ITEM_QUANTITY)))
		billing__check_fail(&ck, "quantity", "give a quantity or a planId to change");
	if ((kind == ADD || (kind == CHANGE && (p->fields & BILLING_SUBSCRIPTION_ITEM_QUANTITY))) &&
	    (p->quantity < (kind == ADD ? 0 : 1) || p->quantity > BILLING__SUBSCRIPTION_QUANTITY_MAX))
		billing__check_fail(&ck, "quantity", "must be between 1 and %d",
			BILLING__SUBSCRIPTION_QUANTITY_MAX);
	if (!billing_proration_behavior_name(p->proration))
		billing__check_fail(&ck, "prorationBehavior",
			"must be create_prorations, always_invoice or none");
	if (p->proration_date < 0)
		billing__check_fail(&ck, "prorationDate", "must be a time");
	return billing__checks_finish(&ck, "subscription item");
}

static int item_read_row(void *payload, const void *record)
{
	struct billing_subscription_item **out = payload;
	if ((*out = billing__record_dup(&billing__res_subscription_item, record)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

/* The subscription of item id (fixed for the item's life), read in tx. */
static int subscription_of(char sub_id[BILLING_ID_MAX], billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id)
{
	int rc = billing__subscription_item_owner(sub_id, ctx, tx, tenant_id, id);
	return rc == BILLING_ENOTFOUND ? billing__not_found("subscription item") : rc;
}

/* The whole call in one transaction: the subscription locked (caught up
 * with the calendar first), the change computed and, unless a preview,
 * written. */
static int change_in(struct change *c, billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *sub_id)
{
	billing_subscription *s = NULL;
	billing__sub_items it;
	bool changed = false;
	int rc;

	memset(&it, 0, sizeof(it));
	rc = billing__entity_get_in((void **)&s, &billing__subscription_entity, ctx, tx, tenant_id,
		sub_id);
	if (rc == BILLING_ENOTFOUND)
		return c->kind == ADD ? billing__subscription_missing("subscriptionId", "subscription") :
			billing__not_found("subscription item");
	if (rc < 0)
		return rc;
	if (!c->preview) {
		if ((rc = billing__subscription_catch_up(ctx, tx, s, &changed)) < 0)
			goto out;
		if (changed) {
			billing_subscription_free(s);
			s = NULL;
			if ((rc = billing__entity_get_in((void **)&s, &billing__subscription_entity, ctx,
				tx, tenant_id, sub_id)) < 0)
				goto out;
		}
	}
	if ((rc = billing__sub_items_load(&it, ctx, tx, tenant_id, sub_id)) < 0 ||
	    (rc = plan_change(c, ctx, tx, s, &it)) < 0)
		goto out;
	if (c->preview) {
		billing__invoice_draft d = { 0 };
		draft_of(&d, s, c);
		rc = billing__invoice_preview_build(&c->previewed, ctx, tx, &d);
	} else if ((rc = apply(c, ctx, tx, s, &it)) == BILLING_OK && c->kind != REMOVE &&
	    (c->result = billing__record_dup(&billing__res_subscription_item, &c->next)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
out:
	billing__sub_items_free(&it);
	billing_subscription_free(s);
	return rc;
}

static billing__op op_of(int kind)
{
	return kind == ADD ? BILLING_OP_SUBSCRIPTION_ITEMS_CREATE :
		kind == CHANGE ? BILLING_OP_SUBSCRIPTION_ITEMS_UPDATE :
		BILLING_OP_SUBSCRIPTION_ITEMS_DELETE;
}

static int change_once(struct change *c, billing_ctx *ctx, const billing_principal *who,
	const billing_call_options *opts)
{
	billing__buf input = { 0 };
	billing__idem idem;
	billing_txn *tx;
	char sub_id[BILLING_ID_MAX];
	int rc;

	c->result = NULL;
	c->n = 0;
	c->invoice_id[0] = '\0';
	input_of(&input, c->kind, c->item_id, c->p);
	if ((rc = billing__idem_init_buf(&idem, opts, op_of(c->kind), &input)) < 0)
		return rc;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, &idem)) < 0)
		return billing__end(ctx, tx, rc);
	if (idem.replay) {
		if (c->kind != REMOVE)
			rc = ctx->st->record_read(tx, &billing__res_subscription_item, who->tenant_id,
				idem.resource_id, BILLING_LOCK_NONE, item_read_row, &c->result);
		return billing__end(ctx, tx, rc);
	}
	if (c->kind == ADD)
		snprintf(sub_id, sizeof(sub_id), "%s", c->p->subscription_id);
	else if ((rc = subscription_of(sub_id, ctx, tx, who->tenant_id, c->item_id)) < 0)
		return billing__end(ctx, tx, rc);
	if ((rc = change_in(c, ctx, tx, who->tenant_id, sub_id)) == BILLING_OK)
		rc = billing__idem_record(ctx, tx, who->tenant_id, &idem, c->next.id);
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing__free(c->result);
		c->result = NULL;
		c->invoice_id[0] = '\0';
	}
	return rc;
}

static int change_retry(struct change *c, billing_ctx *ctx, const billing_principal *who,
	const billing_call_options *opts)
{
	BILLING__RETRY(change_once(c, ctx, who, opts));
}

static int change(struct change *c, billing_ctx *ctx, const billing_principal *who,
	const billing_call_options *opts)
{
	int rc = change_retry(c, ctx, who, opts);
	/* An invoice issued now (always_invoice) is collected after the commit;
	 * a failure there is the billing run's to retry, not the call's. */
	if (rc == BILLING_OK && c->invoice_id[0] && ctx->provider) {
		billing__collect_now(ctx, who->tenant_id, c->invoice_id);
		billing_error_clear();
	}
	return rc;
}

static int start(struct change *c, billing_ctx *ctx, const billing_principal *who,
	billing__op op, int kind, const char *id, const billing_subscription_item_params *p)
{
	int rc;
	bool preview = op == BILLING_OP_SUBSCRIPTION_ITEMS_PREVIEW;
	if ((rc = billing__authorize(ctx, who, op)) < 0 || (rc = check_params(p, kind, preview)) < 0)
		return rc;
	if ((kind == ADD || preview) && !billing__id_arg_ok(p->subscription_id, "sub"))
		return billing__subscription_missing("subscriptionId", "subscription");
	if (kind != ADD && !billing__id_arg_ok(id, "si"))
		return preview ? billing__subscription_missing("subscriptionItemId",
			"item of the subscription") : billing__not_found("subscription item");
	if (p->plan_id && (kind == ADD || (p->fields & BILLING_SUBSCRIPTION_ITEM_PLAN)) &&
	    !billing__id_arg_ok(p->plan_id, "plan"))
		return billing__subscription_missing("planId", "plan");
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->p = p;
	c->item_id = id;
	return BILLING_OK;
}

/* Adds, changes or removes one item (kind) in its subscription's
 * transaction; out (NULL for a removal) receives the item after it. */
static int item_apply(billing_subscription_item **out, billing_ctx *ctx,
	const billing_principal *who, int kind, const char *id,
	const billing_subscription_item_params *p, const billing_call_options *opts)
{
	struct change *c;
	int rc;

	if ((c = billing__calloc(1, sizeof(*c))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((rc = start(c, ctx, who, op_of(kind), kind, id, p)) == BILLING_OK &&
	    (rc = change(c, ctx, who, opts)) == BILLING_OK && out) {
		*out = c->result;
		c->result = NULL;
	}
	billing__free(c->result);
	billing__free(c);
	return rc;
}

int billing_subscription_item_create(billing_subscription_item **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_item_params *p,
	const billing_call_options *opts)
{
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	return item_apply(out, ctx, who, ADD, NULL, p, opts);
}

int billing_subscription_item_update(billing_subscription_item **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_subscription_item_params *p,
	const billing_call_options *opts)
{
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	return item_apply(out, ctx, who, CHANGE, id, p, opts);
}

int billing_subscription_item_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, const billing_subscription_item_params *params,
	const billing_call_options *opts)
{
	billing_subscription_item_params none = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	return item_apply(NULL, ctx, who, REMOVE, id, params ? params : &none, opts);
}

int billing_subscription_item_preview(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_subscription_item_params *p,
	int delete_item)
{
	int kind = delete_item ? REMOVE : id ? CHANGE : ADD;
	struct change *c;
	billing_txn *tx;
	char sub_id[BILLING_ID_MAX];
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if ((c = billing__calloc(1, sizeof(*c))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((rc = start(c, ctx, who, BILLING_OP_SUBSCRIPTION_ITEMS_PREVIEW, kind, id, p)) < 0)
		goto out;
	c->preview = true;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		goto out;
	if (kind != ADD && (rc = subscription_of(sub_id, ctx, tx, who->tenant_id, id)) == BILLING_OK &&
	    strcmp(sub_id, p->subscription_id) != 0)
		rc = billing__subscription_missing("subscriptionItemId", "item of the subscription");
	if (rc == BILLING_OK)
		rc = change_in(c, ctx, tx, who->tenant_id, p->subscription_id);
	if ((rc = billing__end(ctx, tx, rc)) == BILLING_OK) {
		*out = c->previewed;
		c->previewed = NULL;
	}
	billing_invoice_free(c->previewed);
out:
	billing__free(c);
	return rc;
}

