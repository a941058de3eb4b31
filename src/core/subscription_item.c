/*
 * Subscription items (billing/subscription_item.h): the plans and
 * quantities a subscription bills. A descriptor object that the API reads
 * from the descriptor (GET /v1/subscription-items, /{id}, as credit notes)
 * and that these hand-written flows write, always inside the
 * subscription's transaction (the subscription is locked first: txn.h).
 *
 * What the subscription's other files use: the items of a subscription in
 * order (billing__sub_items_load), the lines of a period, one per item
 * (billing__subscription_item_lines), the items of a new subscription
 * (billing__subscription_items_check / _insert) and the first item that
 * follows the subscription's own plan and quantity
 * (billing__subscription_items_follow). The subscription row keeps a copy
 * of its items as JSON (items), rewritten with every change here.
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
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/meter.h"
#include "core/payment_internal.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/subscription_internal.h"

#define F(member) offsetof(struct billing_subscription_item, member)

enum {
	TENANT, ID, SUBSCRIPTION, PLAN, QUANTITY, ITEM_NO, CREATED_AT, UPDATED_AT, VERSION,
	FIELD_COUNT
};

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, 0, NULL, 0, "The item's id (si_...)." },
	[SUBSCRIPTION] = { "subscription_id", BILLING_FIELD_TEXT, F(subscription_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "subscriptionId", BILLING_JSON_STRING,
		0, NULL, 0, "The subscription the item belongs to; fixed." },
	[PLAN] = { "plan_id", BILLING_FIELD_TEXT, F(plan_id), BILLING_FIELD_FILTER, "planId",
		BILLING_JSON_STRING, 0, NULL, 0,
		"The plan billed: the subscription's currency, interval and interval count." },
	/* 0, stored as NULL, is a metered plan's item: it has no quantity, its
	 * usage is billed (schema step 36). */
	[QUANTITY] = { "quantity", BILLING_FIELD_INT32, F(quantity),
		BILLING_FIELD_NONNEGATIVE | BILLING_FIELD_ZERO_NULL, "quantity", BILLING_JSON_INTEGER,
		0, NULL, 0, "Units of the plan (seats), 1-10000; null on a metered plan's item, "
		"whose usage is billed." },
	[ITEM_NO] = { "item_no", BILLING_FIELD_INT32, F(item_no),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_NONNEGATIVE, NULL,
		BILLING_JSON_NONE, 0, NULL, 0, NULL },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was added." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it last changed." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0, "1 at creation, +1 on every change." },
};

static const billing_reference references[] = {
	{ "subscription_id", &billing__res_subscription },
	{ "plan_id", &billing__res_plan },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

const billing_resource billing__res_subscription_item = {
	"subscription_item", "subscription_items", "subscription-items", "SubscriptionItem",
	"A plan and a quantity billed by a subscription (1 to 20 per subscription). Added by "
	"POST /v1/subscription-items or with the subscription (items[]), changed by PATCH, "
	"removed by DELETE /v1/subscription-items/{id}, each change prorated.",
	"subscription_items", "si", sizeof(struct billing_subscription_item),
	fields, FIELD_COUNT, NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_GET | BILLING_RESOURCE_OP_LIST,
	R_READ, R_WRITE, BILLING_RESOURCE_CREATE_EVENT, references,
	sizeof(references) / sizeof(references[0])
};

const billing__rules billing__subscription_item_rules = {
	&billing__res_subscription_item, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

/* ------------------------------------------------------------ the items of a subscription */

void billing__sub_items_free(billing__sub_items *it)
{
	size_t i;
	for (i = 0; i < it->n; i++)
		billing__free(it->v[i]);
	memset(it, 0, sizeof(*it));
}

static int item_row(void *payload, const void *record)
{
	billing__sub_items *it = payload;
	if (it->n == BILLING__SUB_ITEMS_CAP)
		return billing__error_set(BILLING_ERROR, "too_many_items",
			"a subscription holds more items than it may");
	if ((it->v[it->n] = billing__record_dup(&billing__res_subscription_item, record)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	it->n++;
	return BILLING_OK;
}

int billing__sub_items_load(billing__sub_items *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *subscription_id)
{
	billing_filter by_sub = { &fields[SUBSCRIPTION], BILLING_FILTER_EQ, subscription_id, 0,
		NULL };
	billing_list_query q;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&q, 0, sizeof(q));
	q.limit = BILLING__SUB_ITEMS_CAP + 1;
	q.offset = -1;
	q.filters = &by_sub;
	q.filter_count = 1;
	q.sort_field = &fields[ITEM_NO];
	if ((rc = ctx->st->record_list(tx, &billing__res_subscription_item, tenant_id, &q, item_row,
		out)) < 0)
		billing__sub_items_free(out);
	return rc;
}

/* The items' canonical JSON, [{"id","planId","quantity"}] (new); a metered
 * item's quantity is null. */
static int items_json(char **out, const billing__sub_items *it)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	*out = NULL;
	for (i = 0; arr && i < it->n; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o) ||
		    !cJSON_AddStringToObject(o, "id", it->v[i]->id) ||
		    !cJSON_AddStringToObject(o, "planId", it->v[i]->plan_id) ||
		    !(it->v[i]->quantity ? cJSON_AddNumberToObject(o, "quantity",
			it->v[i]->quantity) : cJSON_AddNullToObject(o, "quantity"))) {
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	if (arr)
		*out = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return *out ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

/* r takes the items' copy and the first item's plan and quantity (its
 * strings then point into it and *json, which the caller frees). */
int billing__sub_items_mirror(billing_subscription_record *r, const billing__sub_items *it, char **json)
{
	int rc;
	if ((rc = items_json(json, it)) < 0)
		return rc;
	r->items_json = *json;
	if (it->n) {
		r->plan_id = it->v[0]->plan_id;
		r->quantity = it->v[0]->quantity;
	}
	return BILLING_OK;
}

static cJSON *item_json(const void *item)
{
	return billing__record_json(&billing__res_subscription_item, item);
}

int billing__sub_item_emit(billing_ctx *ctx, billing_txn *tx, const struct billing_subscription_item *it,
	const char *what)
{
	char type[48];
	snprintf(type, sizeof(type), "subscription_item.%s", what);
	return billing__event_emit(ctx, tx, it->tenant_id, type, "subscription_item", it->id,
		item_json, it);
}

/* ------------------------------------------------------------ lines of a period */

int billing__subscription_item_lines(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const char *first_plan_id, int64_t start,
	int64_t end, int mode, int (*push)(void *payload, const billing_invoice_line *line),
	void *payload)
{
	billing__sub_items it;
	billing__plan_info plan;
	billing_invoice_line line;
	char desc[BILLING__PLAN_LINE_TEXT];
	int64_t before;
	size_t i;
	int rc;

	if ((rc = billing__sub_items_load(&it, ctx, tx, r->tenant_id, r->id)) < 0)
		return rc;
	for (i = 0; rc == BILLING_OK && i < it.n; i++) {
		const char *plan_id = i == 0 && first_plan_id ? first_plan_id : it.v[i]->plan_id;
		if ((rc = billing__plan_info_get(&plan, ctx, tx, r->tenant_id, plan_id)) < 0)
			break;
		/* A metered item is billed in arrears (billing__subscription_usage_lines),
		 * never in advance. */
		if (plan.usage_type == BILLING__USAGE_METERED)
			continue;
		if (mode == BILLING__LINES_PARTIAL) {
			/* The partial period before the anchor (end): the item's
			 * full-period amount times its seconds over those of the
			 * period that ends at the anchor, which holds it. */
			if ((rc = billing__period_start_before(&before, end,
				(billing_interval)plan.interval, plan.interval_count)) < 0 ||
			    (rc = billing__subscription_proration_line(&line, &plan,
				it.v[i]->quantity, start, end, end - start, end - before, false, desc,
				sizeof(desc))) < 0)
				break;
			line.subscription_item_id = it.v[i]->id;
			rc = push(payload, &line);
			continue;
		}
		/* Nothing is charged for a trial, nor for a partial period
		 * without prorations: a zero line per item, in every price
		 * model. */
		if (mode == BILLING__LINES_TRIAL || mode == BILLING__LINES_FREE)
			billing__plan_info_trial(&plan);
		if ((rc = billing__plan_line(&line, &plan, it.v[i]->quantity, start, end, desc,
			sizeof(desc), mode == BILLING__LINES_TRIAL ? "Trial of " :
			mode == BILLING__LINES_FREE ? "Free period of " : NULL)) < 0)
			break;
		line.subscription_item_id = it.v[i]->id;
		rc = push(payload, &line);
	}
	billing__sub_items_free(&it);
	return rc;
}

/* Each licensed item's part of r's current period: a credit for [from,
 * period end) (credit), or the charge for [period start, from) (the used
 * time), prorated over the period's whole as a change of plan is. */
static int period_parts(billing_ctx *ctx, billing_txn *tx, const billing_subscription_record *r,
	int64_t from, bool credit, int (*push)(void *payload, const billing_invoice_line *line),
	void *payload)
{
	billing__sub_items it;
	billing__plan_info plan;
	billing_invoice_line line;
	char desc[600];
	int64_t whole, amount;
	size_t i;
	int rc;

	if ((rc = billing__sub_items_load(&it, ctx, tx, r->tenant_id, r->id)) < 0)
		return rc;
	for (i = 0; rc == BILLING_OK && i < it.n; i++) {
		if ((rc = billing__plan_info_get(&plan, ctx, tx, r->tenant_id, it.v[i]->plan_id)) < 0)
			break;
		/* Nothing of a metered item was billed in advance: no part. */
		if (plan.usage_type == BILLING__USAGE_METERED)
			continue;
		if ((rc = billing__subscription_whole(&whole, r->period_index, r->anchor,
			r->current_period_start, r->current_period_end, &plan)) < 0)
			break;
		if (credit)
			rc = billing__subscription_proration_line(&line, &plan, it.v[i]->quantity,
				from, r->current_period_end, r->current_period_end - from, whole, true,
				desc, sizeof(desc));
		else if ((rc = billing__plan_line_untiered(&line, &plan, it.v[i]->quantity,
			r->current_period_start, from, desc, sizeof(desc), "Used time on ")) == 0 &&
			 (rc = billing__prorate(&amount, line.amount, from - r->current_period_start,
			whole)) == 0) {
			line.amount = amount;
			line.proration = 1;
		}
		if (rc < 0)
			break;
		line.subscription_item_id = it.v[i]->id;
		rc = push(payload, &line);
	}
	billing__sub_items_free(&it);
	return rc;
}

int billing__subscription_item_credits(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t from,
	int (*push)(void *payload, const billing_invoice_line *line), void *payload)
{
	return period_parts(ctx, tx, r, from, true, push, payload);
}

int billing__subscription_item_used(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t to,
	int (*push)(void *payload, const billing_invoice_line *line), void *payload)
{
	return period_parts(ctx, tx, r, to, false, push, payload);
}

/* ------------------------------------------------------------ usage in arrears */

int billing__usage_line_billed(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const char *item_id,
	const billing__plan_info *plan, int64_t from, int32_t value, int mode,
	billing_invoice_line *line, char *desc, size_t desc_size)
{
	int64_t amount = 0, quantity = 0, full = line->amount;
	int rc;

	/* Held to the end by a write (a void of a threshold invoice changes
	 * the row holding its invoice, not the subscription). */
	if ((rc = billing__usage_billed_get(&amount, &quantity, ctx, tx, r->tenant_id, r->id,
		item_id, plan->meter_id, from, mode == BILLING__USAGE_RUNNING ? BILLING_LOCK_NONE :
		BILLING_LOCK_UPDATE)) < 0)
		return rc;
	if (amount || quantity) {
		/* value and quantity are both in [0, INT32_MAX]. */
		line->amount = full - amount;
		line->quantity = (int32_t)(value - quantity);
		line->tiers = NULL;
		snprintf(desc, desc_size, "Usage: %d x %s (%d in the period, %lld billed before)",
			(int)line->quantity, plan->name, (int)value, (long long)quantity);
		line->description = desc;
	}
	if (mode == BILLING__USAGE_THRESHOLD && (line->amount || line->quantity))
		rc = billing__usage_billed_set(ctx, tx, r->tenant_id, r->id, item_id, plan->meter_id,
			from, full, value);
	return rc;
}

int billing__subscription_usage_lines(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t from, int64_t to, int mode,
	int (*push)(void *payload, const billing_invoice_line *line), void *payload)
{
	billing__sub_items it;
	billing__plan_info plan;
	billing_invoice_line line;
	char desc[BILLING__PLAN_LINE_TEXT];
	size_t i;
	int rc;

	if ((rc = billing__sub_items_load(&it, ctx, tx, r->tenant_id, r->id)) < 0)
		return rc;
	for (i = 0; rc == BILLING_OK && i < it.n; i++) {
		int64_t value, events;
		if ((rc = billing__plan_info_get(&plan, ctx, tx, r->tenant_id, it.v[i]->plan_id)) < 0)
			break;
		if (plan.usage_type != BILLING__USAGE_METERED)
			continue;
		if ((rc = billing__usage_value(&value, &events, ctx, tx, r->tenant_id, plan.meter_id,
			r->customer_id, from, to, mode == BILLING__USAGE_CLOSE)) < 0)
			break;
		/* A line's quantity is an int32 (invoice.h); an aggregate below 0
		 * (a sum of negative values) bills nothing. */
		if (value > INT32_MAX) {
			rc = billing__error_set(BILLING_EOVERFLOW, "usage_too_large",
				"the usage of item %s (%lld) does not fit a line's quantity",
				it.v[i]->id, (long long)value);
			break;
		}
		if ((rc = billing__plan_line(&line, &plan, value < 0 ? 0 : (int32_t)value, from, to,
			desc, sizeof(desc), "Usage: ")) < 0 ||
		    (rc = billing__usage_line_billed(ctx, tx, r, it.v[i]->id, &plan, from,
			value < 0 ? 0 : (int32_t)value, mode, &line, desc, sizeof(desc))) < 0)
			break;
		/* A threshold invoice bills what is new. */
		if (mode == BILLING__USAGE_THRESHOLD && !line.amount && !line.quantity)
			continue;
		line.subscription_item_id = it.v[i]->id;
		rc = push(payload, &line);
	}
	billing__sub_items_free(&it);
	return rc;
}

int billing__subscription_usage_wait(int64_t *wait, bool *metered_out, billing_ctx *ctx,
	billing_txn *tx, const billing_subscription_record *r)
{
	cJSON *arr, *o;
	int rc = BILLING_OK;
	bool metered = false;

	*wait = 0;
	if (metered_out)
		*metered_out = false;
	/* A trial bills no usage; an incomplete subscription is not renewed. */
	if (r->status == BILLING_SUB_TRIALING || r->status == BILLING_SUB_INCOMPLETE ||
	    !r->items_json)
		return BILLING_OK;
	/* The items' copy on the row: no read of the items (the plans are read
	 * once per batch of the billing run). */
	if (!(arr = cJSON_Parse(r->items_json)))
		return billing__error_set(BILLING_ESTORAGE, "corrupt",
			"subscription %s: its items are not JSON", r->id);
	cJSON_ArrayForEach(o, arr) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "planId");
		billing__plan_info plan;
		if (!cJSON_IsString(p)) {
			rc = billing__error_set(BILLING_ESTORAGE, "corrupt",
				"subscription %s: an item without a plan", r->id);
			break;
		}
		if ((rc = billing__plan_info_get(&plan, ctx, tx, r->tenant_id, p->valuestring)) < 0)
			break;
		if (plan.usage_type == BILLING__USAGE_METERED) {
			metered = true;
			break;
		}
	}
	cJSON_Delete(arr);
	if (rc == BILLING_OK && metered)
		rc = billing__usage_grace_in(wait, ctx, tx, r->tenant_id);
	if (metered_out)
		*metered_out = metered;
	return rc;
}

int billing__sub_item_quantity_check(const billing__plan_info *plan, int32_t quantity,
	const char *field)
{
	if (plan->usage_type == BILLING__USAGE_METERED && quantity)
		return billing__error_field(BILLING_EINVALID, "invalid", field,
			"a metered plan's item has no quantity: its usage is billed");
	return BILLING_OK;
}

/* ------------------------------------------------------------ a new subscription's items */

/* The plan of an item of subscription s (currency, interval): live, active
 * and on s's calendar. */
int billing__sub_item_plan_fits(billing__plan_info *plan, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *plan_id, const billing__plan_info *first,
	const char *field)
{
	int rc;
	memset(plan, 0, sizeof(*plan));
	if (!billing__id_arg_ok(plan_id, "plan"))
		return billing__subscription_missing(field, "plan");
	rc = billing__plan_info_get(plan, ctx, tx, tenant_id, plan_id);
	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && plan->deleted_at))
		return billing__subscription_missing(field, "plan");
	if (rc < 0)
		return rc;
	if (!plan->active)
		return billing__error_field(BILLING_EINVALID, "plan_inactive", field,
			"the plan is not active");
	if (first && (strcmp(plan->currency, first->currency) != 0 ||
	    plan->interval != first->interval || plan->interval_count != first->interval_count))
		return billing__error_field(BILLING_EINVALID, "plan_mismatch", field,
			"the plan must have the subscription's currency (%s), interval and interval "
			"count", first->currency);
	return BILLING_OK;
}

#define NAMES(i) { "items[" #i "].planId", "items[" #i "].quantity" }
static const char *const spec_names[BILLING_SUBSCRIPTION_ITEMS_MAX][2] = {
	NAMES(0), NAMES(1), NAMES(2), NAMES(3), NAMES(4), NAMES(5), NAMES(6), NAMES(7), NAMES(8),
	NAMES(9), NAMES(10), NAMES(11), NAMES(12), NAMES(13), NAMES(14), NAMES(15), NAMES(16),
	NAMES(17), NAMES(18), NAMES(19),
};
#undef NAMES

void billing__subscription_params_items(billing__checks *ck, const billing_subscription_params *p,
	billing_subscription_item_spec *one, const billing_subscription_item_spec **items,
	size_t *n)
{
	size_t i;

	one->plan_id = p->plan_id;
	one->quantity = p->quantity;
	*items = one;
	*n = 1;
	if (p->version < 3 || (!p->items && !p->item_count)) {
		if (!p->plan_id)
			billing__check_fail(ck, "planId", "is required");
		if (p->quantity < 0 || p->quantity > BILLING__SUBSCRIPTION_QUANTITY_MAX)
			billing__check_fail(ck, "quantity", "must be between 1 and %d",
				BILLING__SUBSCRIPTION_QUANTITY_MAX);
		return;
	}
	if (p->plan_id || p->quantity)
		billing__check_fail(ck, p->plan_id ? "planId" : "quantity",
			"give either items or planId and quantity");
	if (!p->items || p->item_count < 1 || p->item_count > BILLING_SUBSCRIPTION_ITEMS_MAX) {
		billing__check_fail(ck, "items", "must hold 1 to %d items",
			BILLING_SUBSCRIPTION_ITEMS_MAX);
		return;
	}
	for (i = 0; i < p->item_count; i++) {
		if (!p->items[i].plan_id)
			billing__check_fail(ck, spec_names[i][0], "is required");
		if (p->items[i].quantity < 0 ||
		    p->items[i].quantity > BILLING__SUBSCRIPTION_QUANTITY_MAX)
			billing__check_fail(ck, spec_names[i][1], "must be between 1 and %d",
				BILLING__SUBSCRIPTION_QUANTITY_MAX);
	}
	*items = p->items;
	*n = p->item_count;
}

int32_t billing__sub_item_quantity_stored(const billing__plan_info *plan, int32_t quantity)
{
	if (plan->usage_type == BILLING__USAGE_METERED)
		return 0;
	return quantity ? quantity : 1;
}

int billing__subscription_items_check(int32_t *quantities, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const billing_subscription_item_spec *items, size_t n,
	const billing__plan_info *first)
{
	billing__plan_info plan;
	size_t i, j;
	int rc;

	/* Item 0 is the subscription's plan, checked by its creation. */
	quantities[0] = billing__sub_item_quantity_stored(first, items[0].quantity);
	for (i = 1; i < n; i++) {
		const char *f = spec_names[i][0];
		for (j = 0; j < i; j++)
			if (strcmp(items[j].plan_id, items[i].plan_id) == 0)
				return billing__error_field(BILLING_EINVALID, "duplicate_plan", f,
					"the plan is on items[%zu] already", j);
		if ((rc = billing__sub_item_plan_fits(&plan, ctx, tx, tenant_id, items[i].plan_id, first, f)) < 0 ||
		    (rc = billing__sub_item_quantity_check(&plan, items[i].quantity,
			spec_names[i][1])) < 0)
			return rc;
		quantities[i] = billing__sub_item_quantity_stored(&plan, items[i].quantity);
	}
	return BILLING_OK;
}

int billing__subscription_items_insert(billing_ctx *ctx, billing_txn *tx,
	billing_subscription_record *r, const billing_subscription_item_spec *items,
	const int32_t *quantities, size_t n, char **json)
{
	struct billing_subscription_item rec[BILLING_SUBSCRIPTION_ITEMS_MAX];
	char ids[BILLING_SUBSCRIPTION_ITEMS_MAX][BILLING_ID_MAX];
	billing__sub_items it;
	size_t i;
	int rc = BILLING_OK;

	memset(&it, 0, sizeof(it));
	for (i = 0; i < n; i++) {
		if (billing__id_new(ids[i], "si", r->created_at * 1000) < 0)
			return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		memset(&rec[i], 0, sizeof(rec[i]));
		rec[i].tenant_id = r->tenant_id;
		rec[i].id = ids[i];
		rec[i].subscription_id = r->id;
		rec[i].plan_id = items[i].plan_id;
		rec[i].quantity = quantities[i];
		rec[i].item_no = (int32_t)i + 1;
		rec[i].created_at = rec[i].updated_at = r->created_at;
		rec[i].version = 1;
		if ((rc = ctx->st->record_insert(tx, &billing__res_subscription_item, &rec[i])) < 0 ||
		    (rc = billing__sub_item_emit(ctx, tx, &rec[i], "created")) < 0)
			return rc;
		it.v[it.n++] = &rec[i];
	}
	/* it borrows rec: not freed. */
	return billing__sub_items_mirror(r, &it, json);
}

int billing__subscription_items_single(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *subscription_id)
{
	billing__sub_items it;
	int rc = billing__sub_items_load(&it, ctx, tx, tenant_id, subscription_id);
	if (rc == BILLING_OK && it.n > 1)
		rc = billing__error_field(BILLING_EINVALID, "plan_mismatch", "planId",
			"a subscription of %zu items keeps its interval: the plan must have it",
			it.n);
	billing__sub_items_free(&it);
	return rc;
}

int billing__subscription_items_follow(billing_ctx *ctx, billing_txn *tx,
	billing_subscription_record *r, int64_t now, char **json)
{
	billing__sub_items it;
	struct billing_subscription_item *first;
	int rc;

	cJSON_free(*json);  /* a retried step's */
	*json = NULL;
	if ((rc = billing__sub_items_load(&it, ctx, tx, r->tenant_id, r->id)) < 0)
		return rc;
	if (it.n == 0) {
		billing__sub_items_free(&it);
		return billing__error_set(BILLING_ERROR, "no_items", "the subscription has no items");
	}
	first = it.v[0];
	if (strcmp(first->plan_id, r->plan_id) != 0 || first->quantity != r->quantity) {
		struct billing_subscription_item next = *first;
		next.plan_id = r->plan_id;
		next.quantity = r->quantity;
		next.updated_at = now;
		next.version = first->version + 1;
		if ((rc = ctx->st->record_update(tx, &billing__res_subscription_item, &next,
			first->version)) == BILLING_EEXISTS)
			rc = billing__error_field(BILLING_EINVALID, "duplicate_plan", "planId",
				"the plan is on another item of the subscription");
		if (rc == BILLING_OK)
			rc = billing__sub_item_emit(ctx, tx, &next, "updated");
		if (rc == BILLING_OK) {
			/* The copy keeps r's strings, which outlive it. */
			first->plan_id = r->plan_id;
			first->quantity = r->quantity;
			first->version = next.version;
		}
	}
	if (rc == BILLING_OK) {
		const char *plan_id = r->plan_id;
		rc = billing__sub_items_mirror(r, &it, json);
		r->plan_id = plan_id;
	}
	billing__sub_items_free(&it);
	return rc;
}

/* ------------------------------------------------------------ reads */

static int owner_row(void *payload, const void *record)
{
	struct billing_subscription_item **out = payload;
	if ((*out = billing__record_dup(&billing__res_subscription_item, record)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

int billing__subscription_item_owner(char out[BILLING_ID_MAX], billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *id)
{
	struct billing_subscription_item *it = NULL;
	int rc = ctx->st->record_read(tx, &billing__res_subscription_item, tenant_id, id,
		BILLING_LOCK_NONE, owner_row, &it);
	if (rc == BILLING_OK)
		snprintf(out, BILLING_ID_MAX, "%s", it->subscription_id);
	billing__free(it);
	return rc;
}

int billing_subscription_item_get(billing_subscription_item **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return billing__resource_get((void **)out, &billing__subscription_item_rules, ctx, who, id);
}

int billing_subscription_item_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_item_list_params *params)
{
	billing_subscription_item_list_params none = BILLING_SUBSCRIPTION_ITEM_LIST_PARAMS_INIT;
	const billing_subscription_item_list_params *p = params ? params : &none;
	billing_filter filters[2];
	size_t n = 0;
	int rc;

	if ((rc = billing__authorize_resource(ctx, who, &billing__res_subscription_item,
		BILLING_RESOURCE_OP_LIST)) < 0)
		return rc;
	if (p->version == 0 || p->version > BILLING_SUBSCRIPTION_ITEM_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_subscription_item_list_params version %u", p->version);
	memset(filters, 0, sizeof(filters));
	if (p->subscription_id) {
		filters[n].field = &fields[SUBSCRIPTION];
		filters[n].op = BILLING_FILTER_EQ;
		filters[n++].text = p->subscription_id;
	}
	if (p->plan_id) {
		filters[n].field = &fields[PLAN];
		filters[n].op = BILLING_FILTER_EQ;
		filters[n++].text = p->plan_id;
	}
	return billing__resource_list(out, &billing__subscription_item_rules, ctx, who, &p->list,
		filters, n);
}

const billing_subscription_item *billing_page_subscription_item(const billing_page *page,
	size_t i)
{
	return billing__resource_page_item(page, &billing__res_subscription_item, i);
}

void billing_subscription_item_free(billing_subscription_item *it)
{
	billing__free(it);
}

const char *billing_subscription_item_id(const billing_subscription_item *it)
{
	return it ? it->id : NULL;
}
const char *billing_subscription_item_subscription_id(const billing_subscription_item *it)
{
	return it ? it->subscription_id : NULL;
}
const char *billing_subscription_item_plan_id(const billing_subscription_item *it)
{
	return it ? it->plan_id : NULL;
}
int32_t billing_subscription_item_quantity(const billing_subscription_item *it)
{
	return it ? it->quantity : 0;
}
int64_t billing_subscription_item_created_at(const billing_subscription_item *it)
{
	return it ? it->created_at : 0;
}
int64_t billing_subscription_item_version(const billing_subscription_item *it)
{
	return it ? it->version : 0;
}
