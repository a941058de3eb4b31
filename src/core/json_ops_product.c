/*
 * The hand-written JSON operations of plans (json_ops.h): their input
 * fields, JSON -> params of the typed calls, and their entries of the
 * catalog. (Products are on the generic flow: core/product.c.)
 */
#include <cJSON.h>

#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"

#define PLAN_BODY(req) \
	{ "productId", T_STRING, req, false, "product of the same tenant; fixed" }, \
	{ "code", T_STRING, req, false, "^[A-Z0-9_-]{3,64}$, unique in the tenant; fixed" }, \
	{ "name", T_STRING, req, false, "2-100 characters" }, \
	{ "description", T_STRING, false, true, "at most 2000 characters" }, \
	{ "amount", T_INTEGER, req, false, "minor units, > 0" }, \
	{ "currency", T_STRING, false, false, "ISO 4217, default the product's; fixed" }, \
	{ "interval", T_STRING, req, false, "DAY, WEEK, MONTH or YEAR; fixed" }, \
	{ "intervalCount", T_INTEGER, false, false, ">= 1, default 1; fixed" }, \
	{ "trialDays", T_INTEGER, false, false, "0-730" }, \
	{ "termCount", T_INTEGER, false, true, "periods until expiry; fixed" }, \
	{ "active", T_BOOLEAN, false, false, "default true" }, \
	{ "metadata", T_OBJECT, false, true, "string map" }
static const field_spec f_plan_create[] = { PLAN_BODY(true), { NULL, 0, false, false, NULL } };
static const field_spec f_plan_update[] = {
	{ "id", T_STRING, true, false, "the plan id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	PLAN_BODY(false), { NULL, 0, false, false, NULL }
};
static const field_spec f_plan_list[] = {
	LIST_FIELDS,
	{ "active", T_BOOLEAN, false, false, "only active or inactive plans" },
	{ "currency", T_STRING, false, false, "ISO 4217 code" },
	{ "productId", T_STRING, false, false, "plans of this product" },
	{ NULL, 0, false, false, NULL }
};

/* Typed page accessors and destructors with one signature. */
static const void *at_plan(const billing_page *p, size_t i) { return billing_page_plan(p, i); }
static void free_plan(void *p) { billing_plan_free(p); }

static int plan_in(billing_plan_params *p, md_in *md, const cJSON *in)
{
	int rc;
	if (jhas(in, "productId")) {
		p->fields |= BILLING_PLAN_PRODUCT;
		p->product_id = jstr(in, "productId");
	}
	if (jhas(in, "code")) { p->fields |= BILLING_PLAN_CODE; p->code = jstr(in, "code"); }
	if (jhas(in, "name")) { p->fields |= BILLING_PLAN_NAME; p->name = jstr(in, "name"); }
	if (jhas(in, "description")) {
		p->fields |= BILLING_PLAN_DESCRIPTION;
		p->description = jstr(in, "description");
	}
	if (jhas(in, "amount")) {
		p->fields |= BILLING_PLAN_AMOUNT;
		p->amount = ji64(in, "amount");
	}
	if (jhas(in, "currency")) {
		p->fields |= BILLING_PLAN_CURRENCY;
		p->currency = jstr(in, "currency");
	}
	if (jhas(in, "interval")) {
		billing_interval iv;
		if (billing_interval_parse(&iv, jstr(in, "interval")) < 0)
			return field_error("interval", "%s must be DAY, WEEK, MONTH or YEAR", "interval");
		p->fields |= BILLING_PLAN_INTERVAL;
		p->interval = iv;
	}
	if (jhas(in, "intervalCount")) {
		p->fields |= BILLING_PLAN_INTERVAL_COUNT;
		p->interval_count = ji32(in, "intervalCount");
		if (p->interval_count == 0)
			p->interval_count = -1; /* 0 means "default" in C; in JSON it is wrong */
	}
	if (jhas(in, "trialDays")) {
		p->fields |= BILLING_PLAN_TRIAL_DAYS;
		p->trial_days = ji32(in, "trialDays");
	}
	if (jhas(in, "termCount")) {
		p->fields |= BILLING_PLAN_TERM_COUNT;
		p->term_count = cJSON_IsNull(jget(in, "termCount")) ? 0 : ji32(in, "termCount");
		if (!cJSON_IsNull(jget(in, "termCount")) && p->term_count == 0)
			p->term_count = -1;
	}
	if (jhas(in, "active")) {
		p->fields |= BILLING_PLAN_ACTIVE;
		p->active = jtri(in, "active");
	}
	if (jhas(in, "metadata")) {
		if ((rc = metadata_in(md, in)) < 0)
			return rc;
		p->fields |= BILLING_PLAN_METADATA;
		p->metadata = md->items;
		p->metadata_count = md->count;
	}
	p->expected_version = ji64(in, "expectedVersion");
	return BILLING_OK;
}

static int op_plan_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_plan_params p = BILLING_PLAN_PARAMS_INIT;
	billing_plan *plan = NULL;
	md_in md;
	int rc = plan_in(&p, &md, in);
	if (rc < 0)
		return rc;
	rc = billing_plan_create(&plan, ctx, who, &p, opts);
	return item_out(res, rc, plan, billing__json_plan,
		free_plan);
}

static int op_plan_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_plan *plan = NULL;
	(void)opts;
	rc = billing_plan_get(&plan, ctx, who, jstr(in, "id"));
	return item_out(res, rc, plan, billing__json_plan,
		free_plan);
}

static int op_plan_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_plan_params p = BILLING_PLAN_PARAMS_INIT;
	billing_plan *plan = NULL;
	md_in md;
	int rc = plan_in(&p, &md, in);
	if (rc < 0)
		return rc;
	rc = billing_plan_update(&plan, ctx, who, jstr(in, "id"), &p, opts);
	return item_out(res, rc, plan,
		billing__json_plan, free_plan);
}

static int op_plan_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return deleted_out(res, billing_plan_delete(ctx, who, jstr(in, "id"),
		ji64(in, "expectedVersion")), jstr(in, "id"));
}

static int op_plan_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_plan_list_params p = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0)
		return rc;
	p.active = jtri(in, "active");
	p.currency = jstr(in, "currency");
	p.product_id = jstr(in, "productId");
	rc = billing_plan_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_plan, billing__json_plan);
}

const op_entry billing__json_ops_product[] = {
	{ BILLING_OP_PLANS_CREATE, op_plan_create, "Create a plan.", f_plan_create,
		OUT_OBJECT, "Plan" },
	{ BILLING_OP_PLANS_GET, op_plan_get, "Fetch a plan (deleted plans are not found).",
		f_id_only,
		OUT_OBJECT, "Plan" },
	{ BILLING_OP_PLANS_UPDATE, op_plan_update,
		"Change name, description, amount, trialDays, active or metadata.", f_plan_update,
		OUT_OBJECT, "Plan" },
	{ BILLING_OP_PLANS_DELETE, op_plan_delete,
		"Soft-delete a plan; its code stays reserved.", f_delete,
		OUT_OBJECT, "Deleted" },
	{ BILLING_OP_PLANS_LIST, op_plan_list,
		"List plans; search on name or code; sortBy name, code, amount, createdAt.",
		f_plan_list,
		OUT_PAGE, "Plan" },
};
BILLING__JSON_AREA_END(product);
