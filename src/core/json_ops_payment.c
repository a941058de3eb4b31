/*
 * The JSON operations of payments (json_ops.h): paying an invoice,
 * payments get / list / refund, and the tenant's dunning policy, with
 * their entries of the catalog.
 */
#include <cJSON.h>
#include <string.h>

#include "core/core.h"
#include "core/hosted.h"
#include "core/json_exact.h"
#include "core/json_ops.h"
#include "core/json_out.h"
#include "core/payment_internal.h"

static const field_spec f_invoice_pay[] = {
	{ "id", T_STRING, true, false, "the invoice id" },
	{ "paymentMethod", T_STRING, false, false, "payment method token; default the customer's" },
	{ "amount", T_INTEGER, false, false, "must equal the amount due when given" },
	{ "currency", T_STRING, false, false, "must equal the invoice's when given" },
	{ "paidOutOfBand", T_BOOLEAN, false, false,
		"true: record a payment made outside the provider (no charge); answers the Invoice" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_payment_list[] = {
	LIST_FIELDS,
	{ "invoiceId", T_STRING, false, false, "payments of this invoice" },
	{ "status", T_STRING, false, false,
		"pending, requires_action, succeeded, failed, refunded, partially_refunded, unknown, "
		"canceled" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_payment_refund[] = {
	{ "id", T_STRING, true, false, "the payment id" },
	{ "amount", T_INTEGER, false, false, "minor units; default all that is left" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_dunning_set[] = {
	{ "retryDays", T_INT_ARRAY, true, false,
		"days after finalization of each retry, increasing, 1-365, at most 12" },
	{ "finalAction", T_STRING, false, false,
		"cancel (default), unpaid or keep_past_due, when the retries are exhausted" },
	{ "actionExpirySeconds", T_INTEGER, false, true,
		"seconds a payment may await the customer's action before it fails, 60-2592000; "
		"null or absent: the host's default" },
	{ NULL, 0, false, false, NULL }
};

/* Typed page accessors and destructors with one signature. */
static void free_payment(void *p) { billing_payment_free(p); }
static void free_invoice(void *p) { billing_invoice_free(p); }

static const void *at_payment(const billing_page *p, size_t i)
{
	return billing_page_payment(p, i);
}

static const char *payment_status(int s)
{
	return billing_payment_status_name((billing_payment_status)s);
}

static int op_invoice_pay(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_pay_params p = BILLING_PAY_PARAMS_INIT;
	billing_payment *pay = NULL;
	int rc;
	if (jtri(in, "paidOutOfBand") == BILLING_TRUE) {
		billing_invoice *inv = NULL;
		if (jhas(in, "paymentMethod") || jhas(in, "amount") || jhas(in, "currency"))
			return field_error("paidOutOfBand",
				"paidOutOfBand takes no paymentMethod, amount or currency");
		rc = billing_invoice_pay_out_of_band(&inv, ctx, who, jstr(in, "id"), opts);
		return billing__hosted_answer(res, item_out(res, rc, inv, billing__json_invoice,
			free_invoice), ctx, who->tenant_id);
	}
	p.payment_method = jstr(in, "paymentMethod");
	p.amount = ji64(in, "amount");
	if (jhas(in, "amount") && p.amount <= 0)
		return field_error("amount", "amount must be > 0");
	p.currency = jstr(in, "currency");
	rc = billing_invoice_pay(&pay, ctx, who, jstr(in, "id"), &p, opts);
	if (rc < 0) {
		/* A decline or a lost answer still made an attempt: the error
		 * says so, and the attempt is listed under the invoice. */
		billing_payment_free(pay);
		return rc;
	}
	return item_out(res, rc, pay, billing__json_payment, free_payment);
}

static int op_payment_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_payment *pay = NULL;
	int rc;
	(void)opts;
	rc = billing_payment_get(&pay, ctx, who, jstr(in, "id"));
	return item_out(res, rc, pay, billing__json_payment, free_payment);
}

static int op_payment_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_payment_list_params p = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int st, rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0 || (rc = status_in(in, BILLING_PAYMENT_PENDING, BILLING_PAYMENT_CANCELED,
		payment_status, &st, "a payment status")) < 0)
		return rc;
	p.status = (billing_payment_status)st;
	p.invoice_id = jstr(in, "invoiceId");
	rc = billing_payment_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_payment, billing__json_payment);
}

static int op_payment_refund(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_payment *pay = NULL;
	int64_t amount = ji64(in, "amount");
	int rc;
	if (jhas(in, "amount") && amount <= 0)
		return field_error("amount", "amount must be > 0");
	rc = billing_payment_refund(&pay, ctx, who, jstr(in, "id"), amount, opts);
	if (rc < 0) {
		billing_payment_free(pay);
		return rc;
	}
	return item_out(res, rc, pay, billing__json_payment, free_payment);
}

static int op_payment_cancel(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_payment *pay = NULL;
	int rc = billing_payment_cancel(&pay, ctx, who, jstr(in, "id"), opts);
	return item_out(res, rc, pay, billing__json_payment, free_payment);
}

static cJSON *dunning_json(const billing_dunning_policy *pol, int64_t action_expiry)
{
	billing__jb b = { cJSON_CreateObject(), false };
	cJSON *days = cJSON_CreateArray();
	size_t i;
	for (i = 0; days && i < pol->retry_count; i++)
		if (!cJSON_AddItemToArray(days, billing__jx_int_new(pol->retry_days[i])))
			b.failed = true;
	billing__jb_add(&b, "object", cJSON_CreateString("dunning_policy"));
	billing__jb_add(&b, "retryDays", days);
	billing__jb_add(&b, "finalAction", cJSON_CreateString(
		pol->final_action == BILLING_DUNNING_KEEP_PAST_DUE ? "keep_past_due" :
		pol->final_action == BILLING_DUNNING_UNPAID ? "unpaid" : "cancel"));
	billing__jb_add(&b, "actionExpirySeconds", action_expiry > 0 ?
		billing__jx_int_new(action_expiry) : cJSON_CreateNull());
	return billing__jb_done(&b);
}

static int op_dunning_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_dunning_policy pol;
	int64_t expiry = 0;
	int rc;
	(void)in;
	(void)opts;
	if ((rc = billing_dunning_get(&pol, ctx, who)) < 0 ||
	    (rc = billing_dunning_action_expiry(&expiry, ctx, who)) < 0)
		return rc;
	return (*res = dunning_json(&pol, expiry)) ? BILLING_OK : nomem();
}

static int op_dunning_set(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_dunning_policy pol;
	const char *action = jstr(in, "finalAction");
	const cJSON *e;
	int64_t expiry = 0;
	int rc;
	(void)opts;
	memset(&pol, 0, sizeof(pol));
	cJSON_ArrayForEach(e, jget(in, "retryDays")) {
		if (pol.retry_count == BILLING_DUNNING_MAX_RETRIES)
			return field_error("retryDays", "at most %d retries",
				BILLING_DUNNING_MAX_RETRIES);
		int64_t d = 0;
		(void)billing__jx_int(e, &d);   /* checked: within +-1e9 */
		pol.retry_days[pol.retry_count++] = (int32_t)d;
	}
	if (!action || strcmp(action, "cancel") == 0)
		pol.final_action = BILLING_DUNNING_CANCEL;
	else if (strcmp(action, "unpaid") == 0)
		pol.final_action = BILLING_DUNNING_UNPAID;
	else if (strcmp(action, "keep_past_due") == 0)
		pol.final_action = BILLING_DUNNING_KEEP_PAST_DUE;
	else
		return field_error("finalAction",
			"finalAction must be cancel, unpaid or keep_past_due");
	/* PUT replaces the whole: an absent expiry is the host's default. */
	e = jget(in, "actionExpirySeconds");
	if (e && !cJSON_IsNull(e)) {
		(void)billing__jx_int(e, &expiry);   /* checked: an integer */
		if (expiry <= 0)
			return field_error("actionExpirySeconds", "from 60 to %d seconds, or null "
				"for the host's default", BILLING_DUNNING_ACTION_EXPIRY_MAX);
	}
	if ((rc = billing__dunning_put(ctx, who, &pol, expiry)) < 0 ||
	    (rc = billing_dunning_get(&pol, ctx, who)) < 0 ||
	    (rc = billing_dunning_action_expiry(&expiry, ctx, who)) < 0)
		return rc;
	return (*res = dunning_json(&pol, expiry)) ? BILLING_OK : nomem();
}

const op_entry billing__json_ops_payment[] = {
	{ BILLING_OP_INVOICES_PAY, op_invoice_pay,
		"Charge a pending, failed or uncollectible invoice now (a decline is "
		"BILLING_EDECLINED), or with paidOutOfBand record it paid outside the provider "
		"(answers the Invoice).",
		f_invoice_pay,
		OUT_OBJECT, "Payment" },
	{ BILLING_OP_PAYMENTS_GET, op_payment_get, "Fetch a payment attempt.", f_id_only,
		OUT_OBJECT, "Payment" },
	{ BILLING_OP_PAYMENTS_LIST, op_payment_list,
		"List payment attempts; filter by invoiceId and status.", f_payment_list,
		OUT_PAGE, "Payment" },
	{ BILLING_OP_PAYMENTS_REFUND, op_payment_refund,
		"Refund all or part of a succeeded payment.", f_payment_refund,
		OUT_OBJECT, "Payment" },
	{ BILLING_OP_PAYMENTS_CANCEL, op_payment_cancel,
		"Cancel a payment awaiting the customer's action (3-D Secure) at the provider; "
		"its invoice can be paid again.", f_id_only,
		OUT_OBJECT, "Payment" },
	{ BILLING_OP_DUNNING_GET, op_dunning_get, "The tenant's retry policy for failed renewals.",
		f_none,
		OUT_OBJECT, "DunningPolicy" },
	{ BILLING_OP_DUNNING_SET, op_dunning_set, "Set the tenant's retry policy.",
		f_dunning_set,
		OUT_OBJECT, "DunningPolicy" },
};
BILLING__JSON_AREA_END(payment);
