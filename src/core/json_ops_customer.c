/*
 * The hand-written JSON operations of tenants and customers (json_ops.h):
 * their input fields, JSON -> params of the typed calls, and their entries
 * of the catalog.
 */
#include <cJSON.h>

#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"

static const field_spec f_tenant_create[] = {
	{ "name", T_STRING, true, false, "1-120 characters" },
	{ "invoicePrefix", T_STRING, false, false, "invoice number prefix, default INV-" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_tenant_list[] = { LIST_FIELDS, { NULL, 0, false, false, NULL } };

/* req: whether the fields a create needs are required (false in a PATCH). */
#define CUSTOMER_BODY(req) \
	{ "name", T_STRING, req, false, "1-120 characters, trimmed" }, \
	{ "email", T_STRING, req, false, "valid address, unique in the tenant ignoring case" }, \
	{ "defaultPaymentMethod", T_STRING, false, true, "payment method token" }, \
	{ "metadata", T_OBJECT, false, true, "string map" }
static const field_spec f_customer_create[] = {
	CUSTOMER_BODY(true), { NULL, 0, false, false, NULL }
};
static const field_spec f_customer_update[] = {
	{ "id", T_STRING, true, false, "the customer id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	CUSTOMER_BODY(false), { NULL, 0, false, false, NULL }
};
static const field_spec f_customer_list[] = { LIST_FIELDS, { NULL, 0, false, false, NULL } };

/* Typed page accessors and destructors with one signature. */
static const void *at_tenant(const billing_page *p, size_t i) { return billing_page_tenant(p, i); }
static const void *at_customer(const billing_page *p, size_t i) { return billing_page_customer(p, i); }
static void free_tenant(void *p) { billing_tenant_free(p); }
static void free_customer(void *p) { billing_customer_free(p); }

static int op_tenant_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *t = NULL;
	p.name = jstr(in, "name");
	p.invoice_prefix = jstr(in, "invoicePrefix");
	rc = billing_tenant_create(&t, ctx, who, &p, opts);
	return item_out(res, rc, t, billing__json_tenant,
		free_tenant);
}

static int op_tenant_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_tenant *t = NULL;
	(void)opts;
	rc = billing_tenant_get(&t, ctx, who, jstr(in, "id"));
	return item_out(res, rc, t, billing__json_tenant,
		free_tenant);
}

static int op_tenant_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p, in);
	(void)opts;
	if (rc < 0)
		return rc;
	rc = billing_tenant_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_tenant,
		billing__json_tenant);
}

static int customer_in(billing_customer_params *p, md_in *md, const cJSON *in)
{
	if (jhas(in, "name")) { p->fields |= BILLING_CUSTOMER_NAME; p->name = jstr(in, "name"); }
	if (jhas(in, "email")) {
		p->fields |= BILLING_CUSTOMER_EMAIL;
		p->email = jstr(in, "email");
	}
	if (jhas(in, "defaultPaymentMethod")) {
		p->fields |= BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD;
		p->default_payment_method = jstr(in, "defaultPaymentMethod");
	}
	if (jhas(in, "metadata")) {
		int rc = metadata_in(md, in);
		if (rc < 0)
			return rc;
		p->fields |= BILLING_CUSTOMER_METADATA;
		p->metadata = md->items;
		p->metadata_count = md->count;
	}
	p->expected_version = ji64(in, "expectedVersion");
	return BILLING_OK;
}

static int op_customer_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	md_in md;
	int rc = customer_in(&p, &md, in);
	if (rc < 0)
		return rc;
	rc = billing_customer_create(&c, ctx, who, &p, opts);
	return item_out(res, rc, c, billing__json_customer,
		free_customer);
}

static int op_customer_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_customer *c = NULL;
	(void)opts;
	rc = billing_customer_get(&c, ctx, who, jstr(in, "id"));
	return item_out(res, rc, c, billing__json_customer,
		free_customer);
}

static int op_customer_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	md_in md;
	int rc = customer_in(&p, &md, in);
	if (rc < 0)
		return rc;
	rc = billing_customer_update(&c, ctx, who, jstr(in, "id"), &p, opts);
	return item_out(res, rc, c,
		billing__json_customer, free_customer);
}

static int op_customer_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return deleted_out(res, billing_customer_delete(ctx, who, jstr(in, "id"),
		ji64(in, "expectedVersion")), jstr(in, "id"));
}

static int op_customer_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p, in);
	(void)opts;
	if (rc < 0)
		return rc;
	rc = billing_customer_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_customer,
		billing__json_customer);
}

const op_entry billing__json_ops_customer[] = {
	{ BILLING_OP_TENANTS_CREATE, op_tenant_create, "Create a tenant (platform operator).",
		f_tenant_create,
		OUT_OBJECT, "Tenant" },
	{ BILLING_OP_TENANTS_GET, op_tenant_get, "Fetch a tenant.", f_id_only,
		OUT_OBJECT, "Tenant" },
	{ BILLING_OP_TENANTS_LIST, op_tenant_list, "List tenants (platform operator).",
		f_tenant_list,
		OUT_PAGE, "Tenant" },
	{ BILLING_OP_CUSTOMERS_CREATE, op_customer_create, "Create a customer.",
		f_customer_create,
		OUT_OBJECT, "Customer" },
	{ BILLING_OP_CUSTOMERS_GET, op_customer_get, "Fetch a customer.", f_id_only,
		OUT_OBJECT, "Customer" },
	{ BILLING_OP_CUSTOMERS_UPDATE, op_customer_update,
		"Change the fields given; the others stay.", f_customer_update,
		OUT_OBJECT, "Customer" },
	{ BILLING_OP_CUSTOMERS_DELETE, op_customer_delete,
		"Delete a customer nothing references.", f_delete,
		OUT_OBJECT, "Deleted" },
	{ BILLING_OP_CUSTOMERS_LIST, op_customer_list,
		"List customers; search on name or email; sortBy name, email, createdAt.",
		f_customer_list,
		OUT_PAGE, "Customer" },
};
BILLING__JSON_AREA_END(customer);
