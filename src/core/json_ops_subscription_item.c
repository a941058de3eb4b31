/*
 * The JSON operations of subscription items that the generic adapter
 * cannot serve (json_ops.h): create, update and delete prorate inside the
 * subscription's transaction (subscription_item.c); preview computes a
 * change's proration lines without writing them. Reads
 * (subscription_items.get, .list) come from the descriptor (json_record.c).
 */
#include <cJSON.h>
#include <string.h>

#include "billing/subscription_item.h"
#include "core/calendar.h"
#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"
#include "core/resources.h"
#include "core/subscription_internal.h"

#define PRORATION_FIELDS \
	{ "prorationBehavior", T_STRING, false, false, \
		"create_prorations (default: the lines wait for the next invoice), always_invoice " \
		"(an invoice now) or none" }, \
	{ "prorationDate", T_STRING, false, false, \
		"RFC 3339 UTC: the time the change is prorated from, in the current period and " \
		"not in the future (default now); the preview's, to apply exactly its amounts" }

static const field_spec f_item_create[] = {
	{ "subscriptionId", T_STRING, true, false, "the subscription (sub_...)" },
	{ "planId", T_STRING, true, false,
		"an active plan of the subscription's currency, interval and interval count, not "
		"on the subscription already" },
	{ "quantity", T_INTEGER, false, false, "1-10000, default 1" },
	PRORATION_FIELDS,
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_item_update[] = {
	{ "id", T_STRING, true, false, "the item (si_...)" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	{ "planId", T_STRING, false, false, "another plan on the subscription's calendar" },
	{ "quantity", T_INTEGER, false, false, "1-10000" },
	PRORATION_FIELDS,
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_item_delete[] = {
	{ "id", T_STRING, true, false, "the item (si_...); not the subscription's last" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	PRORATION_FIELDS,
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_item_preview[] = {
	{ "subscriptionId", T_STRING, true, false, "the subscription (sub_...)" },
	{ "subscriptionItemId", T_STRING, false, false,
		"a change (or the removal) of this item of the subscription; none: an item added" },
	{ "planId", T_STRING, false, false, "the added item's plan, or the item's new plan" },
	{ "quantity", T_INTEGER, false, false, "the added item's quantity, or the item's new one" },
	{ "deleted", T_BOOLEAN, false, false, "true: the removal of subscriptionItemId" },
	PRORATION_FIELDS,
	{ NULL, 0, false, false, NULL }
};

static cJSON *item_json(const void *item)
{
	return billing__record_json(&billing__res_subscription_item, item);
}

static void free_item(void *it) { billing_subscription_item_free(it); }
static void free_invoice(void *inv) { billing_invoice_free(inv); }

/* The input every change shares into p. */
static int params_in(billing_subscription_item_params *p, const cJSON *in)
{
	const char *b = jstr(in, "prorationBehavior");
	int i;

	p->subscription_id = jstr(in, "subscriptionId");
	p->plan_id = jstr(in, "planId");
	if (p->plan_id)
		p->fields |= BILLING_SUBSCRIPTION_ITEM_PLAN;
	if (jhas(in, "quantity")) {
		p->fields |= BILLING_SUBSCRIPTION_ITEM_QUANTITY;
		p->quantity = ji32(in, "quantity");
		if (p->quantity == 0)
			p->quantity = -1; /* 0 means "default" in C; in JSON it is wrong */
	}
	p->expected_version = ji64(in, "expectedVersion");
	if (jhas(in, "prorationBehavior")) {
		p->proration = (billing_proration_behavior)-1;
		for (i = BILLING_PRORATE_CREATE; b && i <= BILLING_PRORATE_NONE; i++)
			if (strcmp(billing_proration_behavior_name((billing_proration_behavior)i), b) == 0)
				p->proration = (billing_proration_behavior)i;
	}
	if (jhas(in, "prorationDate") &&
	    billing__time_parse(&p->proration_date, jstr(in, "prorationDate")) < 0)
		return field_error("prorationDate", "prorationDate must be an RFC 3339 UTC time");
	return BILLING_OK;
}

static int op_item_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_item_params p = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	billing_subscription_item *it = NULL;
	int rc;
	if ((rc = params_in(&p, in)) < 0)
		return rc;
	rc = billing_subscription_item_create(&it, ctx, who, &p, opts);
	return item_out(res, rc, it, item_json, free_item);
}

static int op_item_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_item_params p = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	billing_subscription_item *it = NULL;
	int rc;
	if ((rc = params_in(&p, in)) < 0)
		return rc;
	rc = billing_subscription_item_update(&it, ctx, who, jstr(in, "id"), &p, opts);
	return item_out(res, rc, it, item_json, free_item);
}

static int op_item_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_item_params p = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	int rc;
	if ((rc = params_in(&p, in)) < 0)
		return rc;
	return deleted_out(res, billing_subscription_item_delete(ctx, who, jstr(in, "id"), &p,
		opts), jstr(in, "id"));
}

static int op_item_preview(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_item_params p = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	billing_invoice *inv = NULL;
	const cJSON *del = jget(in, "deleted");
	const char *id = jstr(in, "subscriptionItemId");
	int rc;
	(void)opts;
	if ((rc = params_in(&p, in)) < 0)
		return rc;
	rc = billing_subscription_item_preview(&inv, ctx, who, id, &p, cJSON_IsTrue(del));
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

const op_entry billing__json_ops_subscription_item[] = {
	{ BILLING_OP_SUBSCRIPTION_ITEMS_CREATE, op_item_create,
		"Add an item (a plan and a quantity) to a subscription, prorated over the rest of "
		"the current period.", f_item_create, OUT_OBJECT, "SubscriptionItem" },
	{ BILLING_OP_SUBSCRIPTION_ITEMS_UPDATE, op_item_update,
		"Change an item's quantity or plan, prorated: a quantity change is one line, a plan "
		"change a credit and a charge.", f_item_update, OUT_OBJECT, "SubscriptionItem" },
	{ BILLING_OP_SUBSCRIPTION_ITEMS_DELETE, op_item_delete,
		"Remove an item, its unused time credited; refused (409) for the last one.",
		f_item_delete, OUT_OBJECT, "Deleted" },
	{ BILLING_OP_SUBSCRIPTION_ITEMS_PREVIEW, op_item_preview,
		"The proration lines a change of items would make, computed and not written; "
		"apply the change with the same prorationDate to get exactly these amounts.",
		f_item_preview, OUT_OBJECT, "InvoicePreview" },
};
BILLING__JSON_AREA_END(subscription_item);
