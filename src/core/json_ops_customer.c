/*
 * The hand-written JSON operations of tenants (json_ops.h): their input
 * fields, JSON -> params of the typed calls, and their entries of the
 * catalog. (Customers are on the generic flow: core/customer.c.)
 */
#include <cJSON.h>

#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"

static const field_spec f_tenant_create[] = {
	{ "name", T_STRING, true, false, "1-120 characters" },
	{ "invoicePrefix", T_STRING, false, false, "invoice number prefix, default INV-" },
	{ "creditNotePrefix", T_STRING, false, false, "credit note number prefix, default CN-" },
	{ "renewalDraftDelay", T_INTEGER, false, false,
		"seconds a renewal's invoice stays a draft, 0-2592000 (default 0: finalized at once)" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_tenant_list[] = { LIST_FIELDS, { NULL, 0, false, false, NULL } };

/* Typed page accessors and destructors with one signature. */
static const void *at_tenant(const billing_page *p, size_t i) { return billing_page_tenant(p, i); }
static void free_tenant(void *p) { billing_tenant_free(p); }

static int op_tenant_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *t = NULL;
	p.name = jstr(in, "name");
	p.invoice_prefix = jstr(in, "invoicePrefix");
	p.credit_note_prefix = jstr(in, "creditNotePrefix");
	p.renewal_draft_delay = ji64(in, "renewalDraftDelay");
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

const op_entry billing__json_ops_customer[] = {
	{ BILLING_OP_TENANTS_CREATE, op_tenant_create, "Create a tenant (platform operator).",
		f_tenant_create,
		OUT_OBJECT, "Tenant" },
	{ BILLING_OP_TENANTS_GET, op_tenant_get, "Fetch a tenant.", f_id_only,
		OUT_OBJECT, "Tenant" },
	{ BILLING_OP_TENANTS_LIST, op_tenant_list, "List tenants (platform operator).",
		f_tenant_list,
		OUT_PAGE, "Tenant" },
};
BILLING__JSON_AREA_END(customer);
