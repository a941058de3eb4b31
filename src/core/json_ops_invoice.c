/*
 * The JSON operations of invoices (json_ops.h): get, list, void and
 * preview; drafts (create, update, delete, finalize) and
 * mark-uncollectible; and their entries of the catalog (paying one is in
 * json_ops_payment.c).
 */
#include <cJSON.h>
#include <string.h>

#include "core/calendar.h"
#include "billing/tax_rate.h"
#include "core/core.h"
#include "core/hosted.h"
#include "core/json_ops.h"
#include "core/json_out.h"
#include "core/tax.h"

static const field_spec f_invoice_list[] = {
	LIST_FIELDS,
	{ "customerId", T_STRING, false, false, "invoices of this customer" },
	{ "subscriptionId", T_STRING, false, false, "invoices of this subscription" },
	{ "status", T_STRING, false, false, "draft, pending, paid, failed, void or uncollectible" },
	{ "periodFrom", T_STRING, false, false, "RFC 3339: invoices whose period starts then or later" },
	{ "periodTo", T_STRING, false, false, "RFC 3339: invoices whose period starts before then" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_invoice_preview[] = {
	{ "subscriptionId", T_STRING, true, false, "the subscription whose next invoice to show" },
	{ NULL, 0, false, false, NULL }
};

static const field_spec f_invoice_create[] = {
	{ "customerId", T_STRING, true, false, "the customer billed" },
	{ "currency", T_STRING, true, false, "ISO 4217; the customer's pending items in it are "
		"pulled onto the draft" },
	{ "collectionMethod", T_STRING, false, false,
		"charge_automatically (default) or send_invoice" },
	{ "daysUntilDue", T_INTEGER, false, false,
		"send_invoice (required there): days from finalization to the due date, 0-3650" },
	{ "memo", T_STRING, false, true, "a note shown on the invoice, up to 5000 characters" },
	{ "footer", T_STRING, false, true, "the invoice's footer, up to 5000 characters" },
	{ "defaultTaxRates", T_STR_ARRAY, false, false,
		"up to 5 ids of active tax rates (txr_...), at most one inclusive: the taxes of "
		"the draft's lines that have no taxRates of their own" },
	{ "coupon", T_STRING, false, false, "a coupon id: the draft's own discount, which "
		"replaces the customer's and subscription's on it" },
	{ "promotionCode", T_STRING, false, false,
		"an active promotion code's text (any case), in place of coupon" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_invoice_update[] = {
	{ "id", T_STRING, true, false, "the draft invoice id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	{ "collectionMethod", T_STRING, false, false, "charge_automatically or send_invoice" },
	{ "daysUntilDue", T_INTEGER, false, false, "send_invoice: days from finalization, 0-3650" },
	{ "memo", T_STRING, false, true, "null removes it" },
	{ "footer", T_STRING, false, true, "null removes it" },
	{ "defaultTaxRates", T_STR_ARRAY, false, true,
		"the draft's default tax rates; [] or null removes them; its lines are retaxed" },
	{ "coupon", T_STRING, false, false, "a coupon id: replaces the draft's own discount; "
		"its lines are discounted and taxed again (DELETE /v1/invoices/{id}/discount "
		"removes it)" },
	{ "promotionCode", T_STRING, false, false,
		"an active promotion code's text (any case), in place of coupon" },
	{ NULL, 0, false, false, NULL }
};

/* Typed page accessors and destructors with one signature. */
static const void *at_invoice(const billing_page *p, size_t i) { return billing_page_invoice(p, i); }
static void free_invoice(void *p) { billing_invoice_free(p); }

static const char *invoice_status(int s)
{
	return billing_invoice_status_name((billing_invoice_status)s);
}

/* collectionMethod by name into *out (0 when absent). */
static int collection_in(const cJSON *in, billing_collection_method *out)
{
	const char *m = jstr(in, "collectionMethod");
	*out = (billing_collection_method)0;
	if (!jhas(in, "collectionMethod"))
		return BILLING_OK;
	if (m && strcmp(m, "charge_automatically") == 0)
		*out = BILLING_CHARGE_AUTOMATICALLY;
	else if (m && strcmp(m, "send_invoice") == 0)
		*out = BILLING_SEND_INVOICE;
	else
		return field_error("collectionMethod",
			"collectionMethod must be charge_automatically or send_invoice");
	return BILLING_OK;
}

/* The draft fields of in into p (fields: the bits of those given);
 * defaultTaxRates' ids point into in from rates (one more than allowed,
 * so that too many is the call's error). */
static int draft_in(const cJSON *in, billing_invoice_params *p,
	const char *rates[BILLING__TAX_LINE_RATES_MAX + 1])
{
	const cJSON *e;
	int rc;
	if ((rc = collection_in(in, &p->collection_method)) < 0)
		return rc;
	if (jhas(in, "collectionMethod"))
		p->fields |= BILLING_INVOICE_COLLECTION_METHOD;
	if (jhas(in, "daysUntilDue")) {
		p->days_until_due = ji32(in, "daysUntilDue");
		p->fields |= BILLING_INVOICE_DAYS_UNTIL_DUE;
	}
	if (jhas(in, "memo")) {
		p->memo = jstr(in, "memo");
		p->fields |= BILLING_INVOICE_MEMO;
	}
	if (jhas(in, "footer")) {
		p->footer = jstr(in, "footer");
		p->fields |= BILLING_INVOICE_FOOTER;
	}
	if (jhas(in, "defaultTaxRates")) {
		cJSON_ArrayForEach(e, jget(in, "defaultTaxRates")) {
			if (!cJSON_IsString(e))
				return field_error("defaultTaxRates", "defaultTaxRates must be an "
					"array of tax rate ids");
			if (p->default_tax_rate_count == BILLING__TAX_LINE_RATES_MAX + 1)
				break;
			rates[p->default_tax_rate_count++] = e->valuestring;
		}
		p->default_tax_rates = rates;
		p->fields |= BILLING_INVOICE_DEFAULT_TAX_RATES;
	}
	p->coupon = jstr(in, "coupon");
	p->promotion_code = jstr(in, "promotionCode");
	if (jhas(in, "coupon") || jhas(in, "promotionCode"))
		p->fields |= BILLING_INVOICE_DISCOUNT;
	return BILLING_OK;
}

static int op_invoice_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice_params p = BILLING_INVOICE_PARAMS_INIT;
	billing_invoice *inv = NULL;
	const char *rates[BILLING__TAX_LINE_RATES_MAX + 1];
	int rc;
	p.customer_id = jstr(in, "customerId");
	p.currency = jstr(in, "currency");
	if ((rc = draft_in(in, &p, rates)) < 0)
		return rc;
	rc = billing_invoice_create(&inv, ctx, who, &p, opts);
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

static int op_invoice_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice_params p = BILLING_INVOICE_PARAMS_INIT;
	billing_invoice *inv = NULL;
	const char *rates[BILLING__TAX_LINE_RATES_MAX + 1];
	int rc;
	p.expected_version = ji64(in, "expectedVersion");
	if ((rc = draft_in(in, &p, rates)) < 0)
		return rc;
	rc = billing_invoice_update(&inv, ctx, who, jstr(in, "id"), &p, opts);
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

static int op_invoice_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return deleted_out(res, billing_invoice_delete(ctx, who, jstr(in, "id")), jstr(in, "id"));
}

/* DELETE /v1/invoices/{id}/discount: the draft as it then is. */
static int op_invoice_delete_discount(cJSON **res, billing_ctx *ctx,
	const billing_principal *who, const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc = billing_invoice_delete_discount(&inv, ctx, who, jstr(in, "id"), opts);
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

static int op_invoice_finalize(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc = billing_invoice_finalize(&inv, ctx, who, jstr(in, "id"), opts);
	return billing__hosted_answer(res, item_out(res, rc, inv, billing__json_invoice,
		free_invoice), ctx, who->tenant_id);
}

static int op_invoice_uncollectible(cJSON **res, billing_ctx *ctx,
	const billing_principal *who, const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc = billing_invoice_mark_uncollectible(&inv, ctx, who, jstr(in, "id"), opts);
	return billing__hosted_answer(res, item_out(res, rc, inv, billing__json_invoice,
		free_invoice), ctx, who->tenant_id);
}

static int op_invoice_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc;
	(void)opts;
	rc = billing_invoice_get(&inv, ctx, who, jstr(in, "id"));
	return billing__hosted_answer(res, item_out(res, rc, inv, billing__json_invoice,
		free_invoice), ctx, who->tenant_id);
}

static int op_invoice_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice_list_params p = BILLING_INVOICE_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int st, rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0 || (rc = status_in(in, BILLING_INVOICE_DRAFT, BILLING_INVOICE_UNCOLLECTIBLE,
		invoice_status, &st, "draft, pending, paid, failed, void or uncollectible")) < 0)
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
	return billing__hosted_answer(res, page_out(res, rc, page, at_invoice,
		billing__json_invoice), ctx, who->tenant_id);
}

static int op_invoice_void(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc = billing_invoice_void(&inv, ctx, who, jstr(in, "id"), opts);
	return billing__hosted_answer(res, item_out(res, rc, inv, billing__json_invoice,
		free_invoice), ctx, who->tenant_id);
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

static const field_spec f_tax_settings_set[] = {
	{ "taxRounding", T_STRING, true, false,
		"line (each line's tax rounded on its own; the default) or invoice (per invoice "
		"per rate, as EU invoices usually require)" },
	{ NULL, 0, false, false, NULL }
};

static int tax_settings_out(cJSON **res, billing_tax_rounding r)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "object", "tax_settings") ||
	    !cJSON_AddStringToObject(o, "taxRounding",
		r == BILLING_TAX_ROUNDING_INVOICE ? "invoice" : "line")) {
		cJSON_Delete(o);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	*res = o;
	return BILLING_OK;
}

static int op_tax_settings_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_tax_rounding r = BILLING_TAX_ROUNDING_LINE;
	int rc;
	(void)in;
	(void)opts;
	if ((rc = billing_tax_settings_get(&r, ctx, who)) < 0)
		return rc;
	return tax_settings_out(res, r);
}

static int op_tax_settings_set(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	const char *s = jstr(in, "taxRounding");
	billing_tax_rounding r = (billing_tax_rounding)-1;
	int rc;
	(void)opts;
	if (s && strcmp(s, "line") == 0)
		r = BILLING_TAX_ROUNDING_LINE;
	else if (s && strcmp(s, "invoice") == 0)
		r = BILLING_TAX_ROUNDING_INVOICE;
	if ((rc = billing_tax_settings_set(ctx, who, r)) < 0)
		return rc;
	return tax_settings_out(res, r);
}

static const field_spec f_invoice_settings_set[] = {
	{ "renewalDraftDelay", T_INTEGER, true, false,
		"seconds a subscription's renewal invoice stays a draft (invoice items can be added) "
		"before the billing run finalizes it; 0 to 2592000 (30 days), 0 finalizes at once" },
	{ NULL, 0, false, false, NULL }
};

static int invoice_settings_out(cJSON **res, int64_t delay)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "object", "invoice_settings") ||
	    !cJSON_AddNumberToObject(o, "renewalDraftDelay", (double)delay)) {
		cJSON_Delete(o);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	*res = o;
	return BILLING_OK;
}

static int op_invoice_settings_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int64_t delay = 0;
	int rc;
	(void)in;
	(void)opts;
	if ((rc = billing_invoice_settings_get(&delay, ctx, who)) < 0)
		return rc;
	return invoice_settings_out(res, delay);
}

static int op_invoice_settings_set(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int64_t delay = ji64(in, "renewalDraftDelay");
	int rc;
	(void)opts;
	if ((rc = billing_invoice_settings_set(ctx, who, delay)) < 0)
		return rc;
	return invoice_settings_out(res, delay);
}

const op_entry billing__json_ops_invoice[] = {
	{ BILLING_OP_INVOICES_GET, op_invoice_get, "Fetch an invoice with its lines.", f_id_only,
		OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_LIST, op_invoice_list, "List invoices, newest last by default.",
		f_invoice_list,
		OUT_PAGE, "Invoice" },
	{ BILLING_OP_INVOICES_VOID, op_invoice_void, "Void a pending, failed or uncollectible invoice (a draft is deleted).", f_id_only,
		OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_PREVIEW, op_invoice_preview,
		"The next invoice of a subscription (its waiting invoice items as lines, the "
		"customer's balance applied as finalizing would); nothing is written.", f_invoice_preview,
		OUT_OBJECT, "InvoicePreview" },
	{ BILLING_OP_INVOICES_CREATE, op_invoice_create,
		"Create a draft invoice for a customer, with the customer's pending invoice items in "
		"its currency (those of no subscription).", f_invoice_create, OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_UPDATE, op_invoice_update,
		"Change a draft's memo, footer, collectionMethod, daysUntilDue, "
		"defaultTaxRates or own discount (coupon or promotionCode).", f_invoice_update,
		OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_DELETE_DISCOUNT, op_invoice_delete_discount,
		"Delete a draft's own discount: its lines take the subscription's or customer's "
		"discount, if any, again. The answer is the draft.", f_id_only,
		OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_DELETE, op_invoice_delete,
		"Delete a draft; its invoice items are pending again and no number is used.",
		f_id_only, OUT_OBJECT, "Deleted" },
	{ BILLING_OP_INVOICES_FINALIZE, op_invoice_finalize,
		"Finalize a draft: the next number, then charged (charge_automatically) or sent with "
		"a dueDate (send_invoice).", f_id_only, OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_MARK_UNCOLLECTIBLE, op_invoice_uncollectible,
		"Write off a pending or failed invoice (uncollectible); it may still be paid.",
		f_id_only, OUT_OBJECT, "Invoice" },
	{ BILLING_OP_TAX_SETTINGS_GET, op_tax_settings_get,
		"The tenant's tax rounding rule (docs/billing.md, Taxes).", billing__json_f_none,
		OUT_OBJECT, "TaxSettings" },
	{ BILLING_OP_TAX_SETTINGS_SET, op_tax_settings_set,
		"Set the tenant's tax rounding rule for invoices computed from now on.",
		f_tax_settings_set, OUT_OBJECT, "TaxSettings" },
	{ BILLING_OP_INVOICE_SETTINGS_GET, op_invoice_settings_get,
		"The tenant's invoice settings: how long a renewal's invoice stays a draft "
		"(docs/billing.md, renewal drafts).", billing__json_f_none, OUT_OBJECT,
		"InvoiceSettings" },
	{ BILLING_OP_INVOICE_SETTINGS_SET, op_invoice_settings_set,
		"Set how long a subscription's renewal invoice stays a draft before it is finalized, "
		"for the renewals made from now on.", f_invoice_settings_set, OUT_OBJECT,
		"InvoiceSettings" },
};
BILLING__JSON_AREA_END(invoice);
