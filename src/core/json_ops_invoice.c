/*
 * The JSON operations of invoices (json_ops.h): get, list, void and
 * preview, and their entries of the catalog (paying one is in
 * json_ops_payment.c).
 */
#include <cJSON.h>

#include "core/calendar.h"
#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"

static const field_spec f_invoice_list[] = {
	LIST_FIELDS,
	{ "customerId", T_STRING, false, false, "invoices of this customer" },
	{ "subscriptionId", T_STRING, false, false, "invoices of this subscription" },
	{ "status", T_STRING, false, false, "draft, pending, paid, failed or void" },
	{ "periodFrom", T_STRING, false, false, "RFC 3339: invoices whose period starts then or later" },
	{ "periodTo", T_STRING, false, false, "RFC 3339: invoices whose period starts before then" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_invoice_preview[] = {
	{ "subscriptionId", T_STRING, true, false, "the subscription whose next invoice to show" },
	{ NULL, 0, false, false, NULL }
};

/* Typed page accessors and destructors with one signature. */
static const void *at_invoice(const billing_page *p, size_t i) { return billing_page_invoice(p, i); }
static void free_invoice(void *p) { billing_invoice_free(p); }

static const char *invoice_status(int s)
{
	return billing_invoice_status_name((billing_invoice_status)s);
}

static int op_invoice_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc;
	(void)opts;
	rc = billing_invoice_get(&inv, ctx, who, jstr(in, "id"));
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

static int op_invoice_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice_list_params p = BILLING_INVOICE_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int st, rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0 || (rc = status_in(in, BILLING_INVOICE_DRAFT, BILLING_INVOICE_VOID,
		invoice_status, &st, "draft, pending, paid, failed or void")) < 0)
		return rc;
	p.status = (billing_invoice_status)st;
	p.customer_id = jstr(in, "customerId");
	p.subscription_id = jstr(in, "subscriptionId");
	if ((p.has_period_from = jhas(in, "periodFrom")) &&
	    billing__time_parse(&p.period_from, jstr(in, "periodFrom")) < 0)
		return field_error("periodFrom", "periodFrom must be an RFC 3339 UTC time");
	if ((p.has_period_to = jhas(in, "periodTo")) &&
	    billing__time_parse(&p.period_to, jstr(in, "periodTo")) < 0)
		return field_error("periodTo", "periodTo must be an RFC 3339 UTC time");
	rc = billing_invoice_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_invoice, billing__json_invoice);
}

static int op_invoice_void(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc = billing_invoice_void(&inv, ctx, who, jstr(in, "id"), opts);
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

static int op_invoice_preview(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc;
	(void)opts;
	rc = billing_invoice_preview(&inv, ctx, who, jstr(in, "subscriptionId"));
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

const op_entry billing__json_ops_invoice[] = {
	{ BILLING_OP_INVOICES_GET, op_invoice_get, "Fetch an invoice with its lines.", f_id_only,
		OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_LIST, op_invoice_list, "List invoices, newest last by default.",
		f_invoice_list,
		OUT_PAGE, "Invoice" },
	{ BILLING_OP_INVOICES_VOID, op_invoice_void, "Void a draft or pending invoice.", f_id_only,
		OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_PREVIEW, op_invoice_preview,
		"The next invoice of a subscription; nothing is written.", f_invoice_preview,
		OUT_OBJECT, "InvoicePreview" },
};
BILLING__JSON_AREA_END(invoice);
