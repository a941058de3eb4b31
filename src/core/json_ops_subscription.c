/*
 * The JSON operations of subscriptions (json_ops.h): create, get, list,
 * cancel, update, change of plan, pause and resume, and their entries of
 * the catalog.
 */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/calendar.h"
#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"
#include "core/subscription_internal.h"
#include "core/tax.h"

static const field_spec f_subscription_create[] = {
	{ "customerId", T_STRING, true, false, "customer of the same tenant" },
	{ "planId", T_STRING, false, false,
		"an active plan of the same tenant (required without items)" },
	{ "quantity", T_INTEGER, false, false, "1-10000, default 1" },
	{ "items", T_OBJ_ARRAY, false, false,
		"[{planId, quantity?}] (1-20) instead of planId and quantity: plans of one currency, "
		"interval and interval count, none twice; the first is the subscription's planId" },
	{ "trialDays", T_INTEGER, false, false, "0-730; overrides the plan's" },
	{ "startAt", T_STRING, false, false, "RFC 3339 UTC, not in the future; default now" },
	{ "metadata", T_OBJECT, false, true, "string map" },
	{ "paymentBehavior", T_STRING, false, false,
		"past_due_on_failure (default: active, past_due when the first charge fails), "
		"allow_incomplete, error_if_incomplete or default_incomplete (incomplete until "
		"the first invoice is paid; docs/billing.md)" },
	{ "defaultTaxRates", T_STR_ARRAY, false, false,
		"up to 5 ids of active tax rates (txr_...), at most one inclusive: they replace "
		"the plans' defaultTaxRates on the subscription's invoices" },
	{ "coupon", T_STRING, false, false,
		"a coupon id: the subscription's discount, redeemed before the first invoice" },
	{ "promotionCode", T_STRING, false, false,
		"an active promotion code's text (any case), instead of coupon" },
	{ "billingCycleAnchor", T_STRING, false, false,
		"now, or an RFC 3339 UTC time not in the past, not before the trial's end and at most "
		"one interval after the start (or the trial's end): renewals fall on its day; the "
		"span before it is a partial first period (docs/billing.md)" },
	{ "prorationBehavior", T_STRING, false, false,
		"with billingCycleAnchor: create_prorations (default: the partial first period "
		"is charged, prorated to the second) or none (it is free; not with a trial)" },
	{ "billingThresholds", T_OBJECT, false, true,
		"{amountGte, resetBillingCycleAnchor?}: the spend threshold, a positive amount in "
		"minor units of the subscription's currency (null: none); resetBillingCycleAnchor "
		"true is refused (not supported yet). Stored and shown; the early invoice is not "
		"built yet (docs/usage.md)" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_subscription_list[] = {
	LIST_FIELDS,
	{ "customerId", T_STRING, false, false, "subscriptions of this customer" },
	{ "planId", T_STRING, false, false, "subscriptions on this plan" },
	{ "status", T_STRING, false, false,
		"incomplete, incomplete_expired, trialing, active, past_due, unpaid, paused, "
		"canceled, expired" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_subscription_cancel[] = {
	{ "id", T_STRING, true, false, "the subscription id" },
	{ "atPeriodEnd", T_BOOLEAN, false, false, "end when the period ends (default false: now)" },
	{ "prorate", T_BOOLEAN, false, false,
		"with a cancellation now: credit the unused rest of the period" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_subscription_update[] = {
	{ "id", T_STRING, true, false, "the subscription id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	{ "cancelAtPeriodEnd", T_BOOLEAN, false, false, "false undoes a scheduled cancellation" },
	{ "quantity", T_INTEGER, false, false, "1-10000, from the next period" },
	{ "metadata", T_OBJECT, false, true, "string map" },
	{ "coupon", T_STRING, false, false, "a coupon id: replaces the subscription's discount" },
	{ "promotionCode", T_STRING, false, false,
		"an active promotion code's text (any case), instead of coupon" },
	{ "billingThresholds", T_OBJECT, false, true,
		"{amountGte, resetBillingCycleAnchor?}: the spend threshold, a positive amount in "
		"minor units of the subscription's currency (null removes it); resetBillingCycleAnchor "
		"true is refused (not supported yet). Stored and shown; the early invoice is not "
		"built yet (docs/usage.md)" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_subscription_pause[] = {
	{ "id", T_STRING, true, false, "the subscription id" },
	{ "prorationBehavior", T_STRING, false, false,
		"none (default: nothing credited) or create_prorations (the paid, unused rest of "
		"the period goes to the customer's balance)" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_subscription_change[] = {
	{ "id", T_STRING, true, false, "the subscription id" },
	{ "planId", T_STRING, true, false, "an active plan in the same currency" },
	{ "prorationBehavior", T_STRING, false, false,
		"create_prorations (default), always_invoice or none" },
	{ "quantity", T_INTEGER, false, false, "1-10000; default the current quantity" },
	{ "atPeriodEnd", T_BOOLEAN, false, false, "change when the current period ends" },
	{ NULL, 0, false, false, NULL }
};

/* Typed page accessors and destructors with one signature. */
static const void *at_subscription(const billing_page *p, size_t i)
{
	return billing_page_subscription(p, i);
}

static void free_subscription(void *p) { billing_subscription_free(p); }

static int sub_status_in(billing_subscription_status *out, const cJSON *in)
{
	const char *name = jstr(in, "status");
	int st;
	*out = 0;
	if (!name)
		return BILLING_OK;
	for (st = BILLING_SUB_INCOMPLETE; st <= BILLING_SUB_INCOMPLETE_EXPIRED; st++) {
		if (strcmp(billing_subscription_status_name((billing_subscription_status)st), name) == 0) {
			*out = (billing_subscription_status)st;
			return BILLING_OK;
		}
	}
	return field_error("status", "status is not a subscription status");
}

/* items[{planId, quantity?}] into p (the specs in the caller's array). */
static int items_in(billing_subscription_params *p, billing_subscription_item_spec *items,
	const cJSON *arr)
{
	const cJSON *l, *m;
	size_t i = 0;
	int64_t q;
	int n = cJSON_GetArraySize(arr);

	if (n < 1 || n > BILLING_SUBSCRIPTION_ITEMS_MAX)
		return field_error("items", "items must hold 1 to %d items",
			BILLING_SUBSCRIPTION_ITEMS_MAX);
	cJSON_ArrayForEach(l, arr) {
		char field[40];
		cJSON_ArrayForEach(m, l)
			if (strcmp(m->string, "planId") != 0 && strcmp(m->string, "quantity") != 0) {
				snprintf(field, sizeof(field), "items[%zu]", i);
				return billing__error_field(BILLING_EINVALID, "unknown_field", field,
					"%.60s is not a field of a subscription item", m->string);
			}
		m = jget(l, "planId");
		snprintf(field, sizeof(field), "items[%zu].planId", i);
		if (!cJSON_IsString(m))
			return field_error(field, "%s must be a string", field);
		items[i].plan_id = m->valuestring;
		m = jget(l, "quantity");
		snprintf(field, sizeof(field), "items[%zu].quantity", i);
		q = 0;          /* none given: 1, or none for a metered plan */
		if (m && (billing__jx_int(m, &q) != BILLING__JX_INT_OK || q < 1 ||
		    q > BILLING__SUBSCRIPTION_QUANTITY_MAX))
			return field_error(field, "%s must be an integer from 1 to %d", field,
				BILLING__SUBSCRIPTION_QUANTITY_MAX);
		items[i].quantity = (int32_t)q;
		i++;
	}
	p->items = items;
	p->item_count = i;
	return BILLING_OK;
}

/* defaultTaxRates: the strings of a JSON array (checked as ids by the
 * call); more than the limit is the call's error too. */
static int tax_rates_in(const char **ids, size_t *count, const cJSON *arr)
{
	const cJSON *e;
	size_t n = 0;
	cJSON_ArrayForEach(e, arr) {
		if (!cJSON_IsString(e))
			return field_error("defaultTaxRates", "defaultTaxRates must be an array of "
				"tax rate ids");
		if (n == BILLING__TAX_LINE_RATES_MAX + 1)
			break;
		ids[n++] = e->valuestring;
	}
	*count = n;
	return BILLING_OK;
}

/* billingThresholds {amountGte, resetBillingCycleAnchor?} (its type is
 * checked by the catalog; null: none, *amount 0). The amount's range is the
 * call's check. */
static int thresholds_in(int64_t *amount, int *reset, const cJSON *in)
{
	const cJSON *t = jget(in, "billingThresholds"), *m;
	*amount = 0;
	*reset = 0;
	if (!t || cJSON_IsNull(t))
		return BILLING_OK;
	cJSON_ArrayForEach(m, t)
		if (strcmp(m->string, "amountGte") != 0 &&
		    strcmp(m->string, "resetBillingCycleAnchor") != 0)
			return billing__error_field(BILLING_EINVALID, "unknown_field",
				"billingThresholds", "%.60s is not a field of billingThresholds",
				m->string);
	m = jget(t, "amountGte");
	if (!m || billing__jx_int(m, amount) != BILLING__JX_INT_OK || *amount < 1)
		return field_error("billingThresholds.amountGte", "billingThresholds.amountGte "
			"must be a positive integer amount in minor units");
	m = jget(t, "resetBillingCycleAnchor");
	if (m && !cJSON_IsBool(m))
		return field_error("billingThresholds.resetBillingCycleAnchor",
			"billingThresholds.resetBillingCycleAnchor must be true or false");
	*reset = cJSON_IsTrue(m);
	return BILLING_OK;
}

static int op_subscription_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *sub = NULL;
	md_in md;
	int rc;
	billing_subscription_item_spec items[BILLING_SUBSCRIPTION_ITEMS_MAX];
	const char *rates[BILLING__TAX_LINE_RATES_MAX + 1];
	p.customer_id = jstr(in, "customerId");
	p.plan_id = jstr(in, "planId");
	/* None given: 0, which the library takes as 1 (none for a metered plan). */
	p.quantity = jhas(in, "quantity") ? ji32(in, "quantity") : 0;
	if (p.quantity == 0 && jhas(in, "quantity"))
		p.quantity = -1; /* 0 means "default" in C; in JSON it is wrong */
	if (jhas(in, "items") && (rc = items_in(&p, items, jget(in, "items"))) < 0)
		return rc;
	p.has_trial_days = jhas(in, "trialDays");
	p.trial_days = ji32(in, "trialDays");
	if (jhas(in, "startAt") && billing__time_parse(&p.start_at, jstr(in, "startAt")) < 0)
		return field_error("startAt", "startAt must be an RFC 3339 UTC time");
	if ((rc = metadata_in(&md, in)) < 0)
		return rc;
	p.metadata = md.items;
	p.metadata_count = md.count;
	if (jhas(in, "paymentBehavior")) {
		const char *b = jstr(in, "paymentBehavior");
		p.payment_behavior = (billing_payment_behavior)-1;
		for (rc = BILLING_PAYMENT_BEHAVIOR_PAST_DUE_ON_FAILURE;
		     b && rc <= BILLING_PAYMENT_BEHAVIOR_DEFAULT_INCOMPLETE; rc++)
			if (strcmp(billing_payment_behavior_name((billing_payment_behavior)rc), b) == 0)
				p.payment_behavior = (billing_payment_behavior)rc;
	}
	if (jhas(in, "defaultTaxRates") &&
	    (rc = tax_rates_in(rates, &p.default_tax_rate_count, jget(in, "defaultTaxRates"))) < 0)
		return rc;
	p.default_tax_rates = rates;
	p.coupon = jstr(in, "coupon");
	p.promotion_code = jstr(in, "promotionCode");
	if (jhas(in, "billingCycleAnchor")) {
		const char *a = jstr(in, "billingCycleAnchor");
		if (a && strcmp(a, "now") == 0)
			p.billing_cycle_anchor = BILLING_ANCHOR_NOW;
		else if (!a || billing__time_parse(&p.billing_cycle_anchor, a) < 0)
			return field_error("billingCycleAnchor",
				"billingCycleAnchor must be now or an RFC 3339 UTC time");
	}
	if (jhas(in, "prorationBehavior")) {
		const char *b = jstr(in, "prorationBehavior");
		p.anchor_proration = (billing_proration_behavior)-1;
		for (rc = BILLING_PRORATE_CREATE; b && rc <= BILLING_PRORATE_NONE; rc++)
			if (strcmp(billing_proration_behavior_name((billing_proration_behavior)rc), b) == 0)
				p.anchor_proration = (billing_proration_behavior)rc;
	}
	if ((rc = thresholds_in(&p.threshold_amount_gte, &p.threshold_reset_anchor, in)) < 0)
		return rc;
	rc = billing_subscription_create(&sub, ctx, who, &p, opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription *sub = NULL;
	int rc;
	(void)opts;
	rc = billing_subscription_get(&sub, ctx, who, jstr(in, "id"));
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_list_params p = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0 || (rc = sub_status_in(&p.status, in)) < 0)
		return rc;
	p.customer_id = jstr(in, "customerId");
	p.plan_id = jstr(in, "planId");
	rc = billing_subscription_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_subscription, billing__json_subscription);
}

static int op_subscription_cancel(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription *sub = NULL;
	unsigned int flags =
		(jtri(in, "atPeriodEnd") == BILLING_TRUE ? BILLING_CANCEL_AT_PERIOD_END : 0) |
		(jtri(in, "prorate") == BILLING_TRUE ? BILLING_CANCEL_PRORATE : 0);
	int rc = billing_subscription_cancel(&sub, ctx, who, jstr(in, "id"), flags, opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_update_params p = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_subscription *sub = NULL;
	md_in md;
	int rc;
	if (jhas(in, "cancelAtPeriodEnd")) {
		p.fields |= BILLING_SUBSCRIPTION_CANCEL_AT_PERIOD_END;
		p.cancel_at_period_end = jtri(in, "cancelAtPeriodEnd") == BILLING_TRUE;
	}
	if (jhas(in, "quantity")) {
		p.fields |= BILLING_SUBSCRIPTION_QUANTITY;
		p.quantity = ji32(in, "quantity");
	}
	if (jhas(in, "metadata")) {
		if ((rc = metadata_in(&md, in)) < 0)
			return rc;
		p.fields |= BILLING_SUBSCRIPTION_METADATA;
		p.metadata = md.items;
		p.metadata_count = md.count;
	}
	if (jhas(in, "coupon") || jhas(in, "promotionCode")) {
		p.fields |= BILLING_SUBSCRIPTION_DISCOUNT;
		p.coupon = jstr(in, "coupon");
		p.promotion_code = jstr(in, "promotionCode");
	}
	if (jhas(in, "billingThresholds")) {
		p.fields |= BILLING_SUBSCRIPTION_THRESHOLDS;
		if ((rc = thresholds_in(&p.threshold_amount_gte, &p.threshold_reset_anchor, in)) < 0)
			return rc;
	}
	p.expected_version = ji64(in, "expectedVersion");
	rc = billing_subscription_update(&sub, ctx, who, jstr(in, "id"), &p, opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_change(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_change_params p = BILLING_SUBSCRIPTION_CHANGE_INIT;
	billing_subscription *sub = NULL;
	const char *behavior = jstr(in, "prorationBehavior");
	int rc;
	p.plan_id = jstr(in, "planId");
	if (behavior) {
		int b;
		p.proration = (billing_proration_behavior)-1;
		for (b = BILLING_PRORATE_CREATE; b <= BILLING_PRORATE_NONE; b++)
			if (strcmp(billing_proration_behavior_name((billing_proration_behavior)b),
				behavior) == 0)
				p.proration = (billing_proration_behavior)b;
	}
	p.quantity = ji32(in, "quantity");
	if (jhas(in, "quantity") && p.quantity == 0)
		p.quantity = -1; /* 0 means "keep" in C; in JSON it is wrong */
	p.at_period_end = jtri(in, "atPeriodEnd") == BILLING_TRUE;
	rc = billing_subscription_change_plan(&sub, ctx, who, jstr(in, "id"), &p, opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_pause(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription *sub = NULL;
	const char *behavior = jstr(in, "prorationBehavior");
	int rc;
	if (behavior && strcmp(behavior, "create_prorations") != 0 && strcmp(behavior, "none") != 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "prorationBehavior",
			"must be create_prorations or none");
	rc = billing__subscription_pause(&sub, ctx, who, jstr(in, "id"),
		behavior && strcmp(behavior, "create_prorations") == 0, opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_resume(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription *sub = NULL;
	int rc = billing_subscription_resume(&sub, ctx, who, jstr(in, "id"), opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

/* DELETE /v1/subscriptions/{id}/discount, /v1/customers/{id}/discount:
 * the answer names the discount deleted. */
static int discount_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const char *customer_id, const char *subscription_id)
{
	billing_discount *d = NULL;
	char id[BILLING_ID_MAX];
	int rc = billing_discount_get(&d, ctx, who, customer_id, subscription_id);
	if (rc < 0)
		return rc;
	snprintf(id, sizeof(id), "%s", billing_discount_id(d));
	billing_discount_free(d);
	return billing__json_deleted_out(res,
		billing_discount_delete(ctx, who, customer_id, subscription_id), id);
}

static int op_subscription_delete_discount(cJSON **res, billing_ctx *ctx,
	const billing_principal *who, const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return discount_delete(res, ctx, who, NULL, jstr(in, "id"));
}

static int op_customer_delete_discount(cJSON **res, billing_ctx *ctx,
	const billing_principal *who, const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return discount_delete(res, ctx, who, jstr(in, "id"), NULL);
}

const op_entry billing__json_ops_subscription[] = {
	{ BILLING_OP_SUBSCRIPTIONS_CREATE, op_subscription_create,
		"Subscribe a customer to a plan; the first invoice is issued at once.",
		f_subscription_create,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_GET, op_subscription_get, "Fetch a subscription.", f_id_only,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_LIST, op_subscription_list,
		"List subscriptions; sortBy createdAt or currentPeriodEnd.", f_subscription_list,
		OUT_PAGE, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_CANCEL, op_subscription_cancel,
		"Cancel now, or at the end of the current period.", f_subscription_cancel,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_UPDATE, op_subscription_update,
		"Undo a period-end cancellation, change quantity or metadata, or replace the "
		"discount (coupon or promotionCode).", f_subscription_update,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_CHANGE_PLAN, op_subscription_change,
		"Move to another plan now, with proration.", f_subscription_change,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_PAUSE, op_subscription_pause,
		"Pause billing until resumed; create_prorations credits the paid, unused rest of "
		"the period to the customer's balance.", f_subscription_pause,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_RESUME, op_subscription_resume,
		"Resume: a new cycle starts now and is invoiced at once.", f_id_only,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_DELETE_DISCOUNT, op_subscription_delete_discount,
		"Delete the subscription's discount: later invoices take the customer's, if any.",
		f_id_only, OUT_OBJECT, "Deleted" },
	{ BILLING_OP_CUSTOMERS_DELETE_DISCOUNT, op_customer_delete_discount,
		"Delete the customer's discount (not its subscriptions' own).", f_id_only,
		OUT_OBJECT, "Deleted" },
};
BILLING__JSON_AREA_END(subscription);
