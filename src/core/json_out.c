/*
 * The JSON form of each resource (see json_out.h).
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/calendar.h"
#include "core/credit_note.h"
#include "core/json_exact.h"
#include "core/json_out.h"

cJSON *billing__json_time(int64_t t)
{
	char buf[BILLING_TIME_FORMAT_SIZE];
	if (billing__time_format(buf, sizeof(buf), t) < 0)
		return cJSON_CreateNull();
	return cJSON_CreateString(buf);
}

cJSON *billing__json_str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Builders add members and remember a failed allocation, checked once. */

void billing__jb_add(billing__jb *b, const char *name, cJSON *v)
{
	if (!v || !b->obj || !cJSON_AddItemToObject(b->obj, name, v)) {
		cJSON_Delete(v);
		b->failed = true;
	}
}

/* Exact: printed from its int64 literal, never through a double (money
 * above 2^53 must come out as it went in). */
void billing__jb_num(billing__jb *b, const char *name, int64_t v)
{
	billing__jb_add(b, name, billing__jx_int_new(v));
}

cJSON *billing__jb_done(billing__jb *b)
{
	if (b->failed) {
		cJSON_Delete(b->obj);
		return NULL;
	}
	return b->obj;
}

static cJSON *metadata_json(size_t n, const billing_metadata_entry *(*at)(const void *, size_t),
	const void *item)
{
	cJSON *obj = cJSON_CreateObject();
	size_t i;
	for (i = 0; obj && i < n; i++) {
		const billing_metadata_entry *e = at(item, i);
		if (!cJSON_AddStringToObject(obj, e->key, e->value)) {
			cJSON_Delete(obj);
			return NULL;
		}
	}
	return obj;
}


cJSON *billing__json_tenant(const void *item)
{
	const billing_tenant *t = item;
	billing__jb b = { cJSON_CreateObject(), false };
	billing__jb_add(&b, "id", cJSON_CreateString(billing_tenant_id(t)));
	billing__jb_add(&b, "object", cJSON_CreateString("tenant"));
	billing__jb_add(&b, "name", cJSON_CreateString(billing_tenant_name(t)));
	billing__jb_add(&b, "invoicePrefix", cJSON_CreateString(billing_tenant_invoice_prefix(t)));
	billing__jb_add(&b, "creditNotePrefix",
		cJSON_CreateString(billing_tenant_credit_note_prefix(t)));
	billing__jb_num(&b, "renewalDraftDelay", billing_tenant_renewal_draft_delay(t));
	billing__jb_add(&b, "createdAt", billing__json_time(billing_tenant_created_at(t)));
	return billing__jb_done(&b);
}

cJSON *billing__json_time_or_null(int64_t t)
{
	return t ? billing__json_time(t) : cJSON_CreateNull();
}

static const billing_metadata_entry *sub_md(const void *s, size_t i)
{
	return billing_subscription_metadata_at(s, i);
}

/* JSON array text the library wrote, or [] when NULL (or unreadable). */
static cJSON *array_json(const char *text)
{
	cJSON *v = text ? billing__jx_parse(text, strlen(text), NULL) : NULL;
	return v ? v : cJSON_CreateArray();
}

cJSON *billing__json_subscription(const void *item)
{
	const billing_subscription *s = item;
	billing__jb b = { cJSON_CreateObject(), false };
	billing__jb_add(&b, "id", cJSON_CreateString(billing_subscription_id(s)));
	billing__jb_add(&b, "object", cJSON_CreateString("subscription"));
	billing__jb_add(&b, "customerId", cJSON_CreateString(billing_subscription_customer_id(s)));
	billing__jb_add(&b, "planId", cJSON_CreateString(billing_subscription_plan_id(s)));
	billing__jb_add(&b, "status", cJSON_CreateString(
		billing_subscription_status_name(billing_subscription_status_of(s))));
	/* 0: the first item is a metered plan's, which has no quantity. */
	if (billing_subscription_quantity(s))
		billing__jb_num(&b, "quantity", billing_subscription_quantity(s));
	else
		billing__jb_add(&b, "quantity", cJSON_CreateNull());
	billing__jb_add(&b, "currency", cJSON_CreateString(billing_subscription_currency(s)));
	billing__jb_add(&b, "billingCycleAnchor", billing__json_time(billing_subscription_anchor(s)));
	billing__jb_add(&b, "currentPeriodStart",
		billing__json_time(billing_subscription_current_period_start(s)));
	billing__jb_add(&b, "currentPeriodEnd",
		billing__json_time(billing_subscription_current_period_end(s)));
	billing__jb_add(&b, "trialEnd", billing__json_time_or_null(billing_subscription_trial_end(s)));
	billing__jb_add(&b, "cancelAtPeriodEnd",
		cJSON_CreateBool(billing_subscription_cancel_at_period_end(s)));
	billing__jb_add(&b, "canceledAt",
		billing__json_time_or_null(billing_subscription_canceled_at(s)));
	billing__jb_add(&b, "endedAt", billing__json_time_or_null(billing_subscription_ended_at(s)));
	billing__jb_add(&b, "latestInvoiceId",
		billing__json_str_or_null(billing_subscription_latest_invoice_id(s)));
	billing__jb_add(&b, "pendingPlanId",
		billing__json_str_or_null(billing_subscription_pending_plan_id(s)));
	billing__jb_add(&b, "metadata", metadata_json(billing_subscription_metadata_count(s),
		sub_md, s));
	{
		/* Written by subscription_item.c, canonical; [] if unreadable. */
		const char *items = billing_subscription_items_json(s);
		cJSON *v = billing__jx_parse(items, strlen(items), NULL);
		billing__jb_add(&b, "items", v ? v : cJSON_CreateArray());
	}
	billing__jb_add(&b, "defaultTaxRates",
		array_json(billing_subscription_default_tax_rates(s)));
	{
		/* Written by discount_object.c; null when none (or unreadable). */
		const char *d = billing_subscription_discount_json(s);
		cJSON *v = d ? billing__jx_parse(d, strlen(d), NULL) : NULL;
		billing__jb_add(&b, "discount", v ? v : cJSON_CreateNull());
	}
	if (billing_subscription_threshold_amount_gte(s)) {
		/* The anchor's reset is not supported: always false. */
		billing__jb t = { cJSON_CreateObject(), false };
		billing__jb_num(&t, "amountGte", billing_subscription_threshold_amount_gte(s));
		billing__jb_add(&t, "resetBillingCycleAnchor", cJSON_CreateFalse());
		billing__jb_add(&b, "billingThresholds", billing__jb_done(&t));
	} else {
		billing__jb_add(&b, "billingThresholds", cJSON_CreateNull());
	}
	billing__jb_add(&b, "createdAt", billing__json_time(billing_subscription_created_at(s)));
	billing__jb_num(&b, "version", billing_subscription_version(s));
	return billing__jb_done(&b);
}

static cJSON *rate_json(int32_t bp)
{
	char rate[16];
	if (billing_rate_format(rate, sizeof(rate), bp) < 0)
		snprintf(rate, sizeof(rate), "0");
	return cJSON_CreateRaw(rate);
}

/* A line's tiers (text the library wrote), or null. */
static cJSON *tiers_json(const char *text)
{
	cJSON *v = text ? billing__jx_parse(text, strlen(text), NULL) : NULL;
	return v ? v : cJSON_CreateNull();
}

/* [{discountId, amount}]: the one discount that took amount off, or []
 * (lines' discountAmounts, invoices' totalDiscountAmounts; issue #22). */
static cJSON *discount_amounts_json(const char *discount_id, int64_t amount)
{
	cJSON *a = cJSON_CreateArray();
	billing__jb b;
	if (!a || !discount_id || !amount)
		return a;
	b.obj = cJSON_CreateObject();
	b.failed = false;
	billing__jb_add(&b, "discountId", cJSON_CreateString(discount_id));
	billing__jb_num(&b, "amount", amount);
	if ((b.obj = billing__jb_done(&b)) == NULL || !cJSON_AddItemToArray(a, b.obj)) {
		cJSON_Delete(b.obj);
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

static cJSON *line_json(const billing_invoice_line *l)
{
	billing__jb b = { cJSON_CreateObject(), false };
	billing__jb_add(&b, "description", cJSON_CreateString(l->description));
	billing__jb_num(&b, "amount", l->amount);
	billing__jb_num(&b, "quantity", l->quantity);
	billing__jb_num(&b, "unitAmount", l->unit_amount);
	billing__jb_add(&b, "periodStart", billing__json_time(l->period_start));
	billing__jb_add(&b, "periodEnd", billing__json_time(l->period_end));
	billing__jb_add(&b, "taxRate", rate_json(l->tax_rate_bp));
	billing__jb_num(&b, "taxAmount", l->tax_amount);
	billing__jb_add(&b, "proration", cJSON_CreateBool(l->proration));
	billing__jb_add(&b, "planId", billing__json_str_or_null(l->plan_id));
	billing__jb_add(&b, "subscriptionItemId",
		billing__json_str_or_null(l->subscription_item_id));
	billing__jb_add(&b, "tiers", tiers_json(l->tiers));
	billing__jb_add(&b, "discountAmounts",
		discount_amounts_json(l->discount_id, l->discount_amount));
	billing__jb_num(&b, "amountExcludingTax", l->taxable_amount);
	billing__jb_add(&b, "taxAmounts", array_json(l->tax_amounts));
	return billing__jb_done(&b);
}

/* A payment awaiting the customer's action: {type, clientSecret,
 * redirectUrl}; null otherwise (and for NULL: an invoice's when none of
 * its payments awaits action). */
static cJSON *next_action_json(const billing_payment *p)
{
	billing__jb b;
	if (!p || billing_payment_status_of(p) != BILLING_PAYMENT_REQUIRES_ACTION ||
	    (!billing_payment_next_action_type(p) && !billing_payment_client_secret(p)))
		return cJSON_CreateNull();
	b.obj = cJSON_CreateObject();
	b.failed = false;
	billing__jb_add(&b, "type", billing__json_str_or_null(billing_payment_next_action_type(p)));
	billing__jb_add(&b, "clientSecret",
		billing__json_str_or_null(billing_payment_client_secret(p)));
	billing__jb_add(&b, "redirectUrl",
		billing__json_str_or_null(billing_payment_next_action_url(p)));
	return billing__jb_done(&b);
}

/* The fields of draft invoices and their collection (#20 item 2). */
static void draft_fields(billing__jb *b, const billing_invoice *inv)
{
	bool sent = billing_invoice_collection_method(inv) == BILLING_SEND_INVOICE;
	billing__jb_add(b, "collectionMethod", cJSON_CreateString(
		sent ? "send_invoice" : "charge_automatically"));
	billing__jb_add(b, "daysUntilDue", sent ?
		cJSON_CreateNumber(billing_invoice_days_until_due(inv)) : cJSON_CreateNull());
	billing__jb_add(b, "dueDate", billing__json_time_or_null(billing_invoice_due_date(inv)));
	billing__jb_add(b, "memo", billing__json_str_or_null(billing_invoice_memo(inv)));
	billing__jb_add(b, "footer", billing__json_str_or_null(billing_invoice_footer(inv)));
	billing__jb_add(b, "paidOutOfBand", cJSON_CreateBool(billing_invoice_paid_out_of_band(inv)));
}

/* The credit-note sums of an invoice (#20 item 3; credit_note.c), as
 * Stripe's pre_payment_credit_notes_amount and post_payment_... */
static void credit_note_fields(billing__jb *b, const billing_invoice *inv)
{
	billing__jb_num(b, "preCreditNotesAmount", billing_invoice_pre_credit_notes_amount(inv));
	billing__jb_num(b, "postPaymentCreditNotesAmount",
		billing_invoice_post_payment_credit_notes_amount(inv));
}

/* Taxes (#22; invoice_tax.c): the breakdown per rate, the customer's
 * taxExempt it was computed with and the reverse-charge note. */
static void tax_fields(billing__jb *b, const billing_invoice *inv)
{
	static const char *const exempt[] = { "none", "exempt", "reverse" };
	int e = billing_invoice_customer_tax_exempt(inv);
	billing__jb_add(b, "totalTaxAmounts", array_json(billing_invoice_total_tax_amounts(inv)));
	billing__jb_add(b, "customerTaxExempt", cJSON_CreateString(exempt[e >= 0 && e <= 2 ? e : 0]));
	billing__jb_add(b, "taxNote", billing__json_str_or_null(billing_invoice_tax_note(inv)));
	billing__jb_add(b, "defaultTaxRates", array_json(billing_invoice_default_tax_rates(inv)));
	/* Spend thresholds (#23): why the invoice was made. */
	billing__jb_add(b, "billingReason",
		billing__json_str_or_null(billing_invoice_billing_reason(inv)));
}

/* A line's id in its JSON: what a credit note's line names
 * (credit_note.c). A preview's invoice has no id and its lines none. */
static int line_id(cJSON *l, const billing_invoice *inv, size_t i)
{
	char id[BILLING_ID_MAX + 24];
	cJSON *v;
	if (!billing_invoice_id(inv))
		v = cJSON_CreateNull();
	else if (billing__invoice_line_id(id, sizeof(id), billing_invoice_id(inv), i) < 0)
		return BILLING_ERROR;
	else
		v = cJSON_CreateString(id);
	if (!v)
		return BILLING_ENOMEM;
	cJSON_AddItemToObject(l, "id", v);
	return BILLING_OK;
}

cJSON *billing__json_invoice(const void *item)
{
	const billing_invoice *inv = item;
	billing__jb b = { cJSON_CreateObject(), false };
	cJSON *lines = cJSON_CreateArray();
	size_t i;

	for (i = 0; lines && i < billing_invoice_line_count(inv); i++) {
		cJSON *l = line_json(billing_invoice_line_at(inv, i));
		if (l && line_id(l, inv, i) < 0) {
			cJSON_Delete(l);
			l = NULL;
		}
		if (!l || !cJSON_AddItemToArray(lines, l)) {
			cJSON_Delete(l);
			b.failed = true;
		}
	}
	billing__jb_add(&b, "id", billing__json_str_or_null(billing_invoice_id(inv)));
	billing__jb_add(&b, "object", cJSON_CreateString("invoice"));
	billing__jb_add(&b, "number", billing__json_str_or_null(billing_invoice_number(inv)));
	billing__jb_add(&b, "status", cJSON_CreateString(
		billing_invoice_status_name(billing_invoice_status_of(inv))));
	billing__jb_add(&b, "customerId", cJSON_CreateString(billing_invoice_customer_id(inv)));
	billing__jb_add(&b, "subscriptionId",
		billing__json_str_or_null(billing_invoice_subscription_id(inv)));
	billing__jb_add(&b, "currency", cJSON_CreateString(billing_invoice_currency(inv)));
	billing__jb_num(&b, "subtotal", billing_invoice_subtotal(inv));
	billing__jb_add(&b, "totalDiscountAmounts", discount_amounts_json(
		billing_invoice_discount_id(inv), billing_invoice_total_discount(inv)));
	billing__jb_num(&b, "tax", billing_invoice_tax(inv));
	billing__jb_num(&b, "total", billing_invoice_total(inv));
	billing__jb_num(&b, "amountPaid", billing_invoice_amount_paid(inv));
	billing__jb_num(&b, "amountDue", billing_invoice_amount_due(inv));
	billing__jb_num(&b, "startingBalance", billing_invoice_starting_balance(inv));
	billing__jb_num(&b, "endingBalance", billing_invoice_ending_balance(inv));
	billing__jb_add(&b, "periodStart", billing__json_time(billing_invoice_period_start(inv)));
	billing__jb_add(&b, "periodEnd", billing__json_time(billing_invoice_period_end(inv)));
	billing__jb_add(&b, "lines", lines);
	billing__jb_num(&b, "attemptCount", billing_invoice_attempt_count(inv));
	billing__jb_add(&b, "nextAttemptAt",
		billing__json_time_or_null(billing_invoice_next_attempt_at(inv)));
	billing__jb_add(&b, "nextAction", next_action_json(billing_invoice_action_payment(inv)));
	billing__jb_add(&b, "createdAt", billing__json_time(billing_invoice_created_at(inv)));
	billing__jb_add(&b, "finalizedAt", billing__json_time_or_null(billing_invoice_finalized_at(inv)));
	billing__jb_add(&b, "paidAt", billing__json_time_or_null(billing_invoice_paid_at(inv)));
	billing__jb_add(&b, "voidedAt", billing__json_time_or_null(billing_invoice_voided_at(inv)));
	billing__jb_num(&b, "version", billing_invoice_version(inv));
	draft_fields(&b, inv);
	credit_note_fields(&b, inv);
	tax_fields(&b, inv);
	/* Signed when the JSON layer answers with it (core/hosted.h): an
	 * event's copy of the invoice has null. */
	billing__jb_add(&b, "hostedInvoiceUrl", cJSON_CreateNull());
	return billing__jb_done(&b);
}

cJSON *billing__json_payment(const void *item)
{
	const billing_payment *p = item;
	billing__jb b = { cJSON_CreateObject(), false };

	billing__jb_add(&b, "id", cJSON_CreateString(billing_payment_id(p)));
	billing__jb_add(&b, "object", cJSON_CreateString("payment"));
	billing__jb_add(&b, "invoiceId", cJSON_CreateString(billing_payment_invoice_id(p)));
	billing__jb_add(&b, "customerId", cJSON_CreateString(billing_payment_customer_id(p)));
	billing__jb_add(&b, "status", cJSON_CreateString(
		billing_payment_status_name(billing_payment_status_of(p))));
	billing__jb_num(&b, "amount", billing_payment_amount(p));
	billing__jb_add(&b, "currency", cJSON_CreateString(billing_payment_currency(p)));
	billing__jb_num(&b, "refundedAmount", billing_payment_refunded_amount(p));
	billing__jb_add(&b, "provider", cJSON_CreateString(billing_payment_provider(p)));
	billing__jb_add(&b, "providerRef", billing__json_str_or_null(billing_payment_provider_ref(p)));
	billing__jb_add(&b, "paymentMethod", billing__json_str_or_null(billing_payment_method(p)));
	billing__jb_add(&b, "failureCode", billing__json_str_or_null(billing_payment_failure_code(p)));
	billing__jb_add(&b, "failureMessage",
		billing__json_str_or_null(billing_payment_failure_message(p)));
	billing__jb_add(&b, "nextAction", next_action_json(p));
	billing__jb_add(&b, "createdAt", billing__json_time(billing_payment_created_at(p)));
	billing__jb_add(&b, "updatedAt", billing__json_time(billing_payment_updated_at(p)));
	billing__jb_num(&b, "version", billing_payment_version(p));
	return billing__jb_done(&b);
}

cJSON *billing__json_webhook_endpoint(const void *item)
{
	const billing_webhook_endpoint *e = item;
	billing__jb b = { cJSON_CreateObject(), false };
	cJSON *types = cJSON_CreateArray();
	size_t i;

	for (i = 0; types && i < billing_webhook_endpoint_event_type_count(e); i++)
		if (!cJSON_AddItemToArray(types,
			cJSON_CreateString(billing_webhook_endpoint_event_type_at(e, i))))
			b.failed = true;
	billing__jb_add(&b, "id", cJSON_CreateString(billing_webhook_endpoint_id(e)));
	billing__jb_add(&b, "object", cJSON_CreateString("webhook_endpoint"));
	billing__jb_add(&b, "url", cJSON_CreateString(billing_webhook_endpoint_url(e)));
	billing__jb_add(&b, "events", types);
	billing__jb_add(&b, "enabled", cJSON_CreateBool(billing_webhook_endpoint_enabled(e)));
	billing__jb_add(&b, "description",
		billing__json_str_or_null(billing_webhook_endpoint_description(e)));
	billing__jb_add(&b, "disabledReason",
		billing__json_str_or_null(billing_webhook_endpoint_disabled_reason(e)));
	billing__jb_add(&b, "createdAt", billing__json_time(billing_webhook_endpoint_created_at(e)));
	billing__jb_add(&b, "updatedAt", billing__json_time(billing_webhook_endpoint_updated_at(e)));
	billing__jb_num(&b, "version", billing_webhook_endpoint_version(e));
	return billing__jb_done(&b);
}

cJSON *billing__json_webhook_delivery(const void *item)
{
	const billing_webhook_delivery *d = item;
	billing__jb b = { cJSON_CreateObject(), false };
	cJSON *attempts = cJSON_CreateArray();
	size_t i;

	for (i = 0; attempts && i < billing_webhook_delivery_attempts(d); i++) {
		const billing_delivery_attempt *a = billing_webhook_delivery_attempt_at(d, i);
		billing__jb ab = { cJSON_CreateObject(), false };
		cJSON *o;
		billing__jb_add(&ab, "at", billing__json_time(a->at));
		if (a->status_code)
			billing__jb_num(&ab, "statusCode", a->status_code);
		else
			billing__jb_add(&ab, "statusCode", cJSON_CreateNull());
		billing__jb_add(&ab, "error", billing__json_str_or_null(a->error));
		billing__jb_add(&ab, "response", billing__json_str_or_null(a->response));
		billing__jb_num(&ab, "durationMs", a->duration_ms);
		o = billing__jb_done(&ab);
		if (!o || !cJSON_AddItemToArray(attempts, o)) {
			cJSON_Delete(o);
			b.failed = true;
		}
	}
	billing__jb_add(&b, "id", cJSON_CreateString(billing_webhook_delivery_id(d)));
	billing__jb_add(&b, "object", cJSON_CreateString("webhook_delivery"));
	billing__jb_add(&b, "endpointId", cJSON_CreateString(billing_webhook_delivery_endpoint_id(d)));
	billing__jb_add(&b, "eventId", cJSON_CreateString(billing_webhook_delivery_event_id(d)));
	billing__jb_add(&b, "status", cJSON_CreateString(
		billing_delivery_status_name(billing_webhook_delivery_status_of(d))));
	billing__jb_num(&b, "attemptCount", billing_webhook_delivery_attempt_count(d));
	billing__jb_add(&b, "nextAttemptAt",
		billing__json_time_or_null(billing_webhook_delivery_next_attempt_at(d)));
	billing__jb_add(&b, "attempts", attempts);
	billing__jb_add(&b, "createdAt", billing__json_time(billing_webhook_delivery_created_at(d)));
	return billing__jb_done(&b);
}

cJSON *billing__json_audit_entry(const void *item)
{
	const billing_audit_entry *a = item;
	billing__jb b = { cJSON_CreateObject(), false };
	billing__jb_add(&b, "id", cJSON_CreateString(billing_audit_entry_id(a)));
	billing__jb_add(&b, "object", cJSON_CreateString("audit_entry"));
	billing__jb_add(&b, "at", billing__json_time(billing_audit_entry_at(a)));
	billing__jb_add(&b, "userId", billing__json_str_or_null(billing_audit_entry_user_id(a)));
	billing__jb_add(&b, "role", cJSON_CreateString(billing_role_name(billing_audit_entry_role(a))));
	billing__jb_add(&b, "operation", cJSON_CreateString(billing_audit_entry_operation(a)));
	billing__jb_add(&b, "resourceId", billing__json_str_or_null(billing_audit_entry_resource_id(a)));
	billing__jb_add(&b, "requestId", billing__json_str_or_null(billing_audit_entry_request_id(a)));
	billing__jb_add(&b, "idempotencyKey",
		billing__json_str_or_null(billing_audit_entry_idempotency_key(a)));
	return billing__jb_done(&b);
}

cJSON *billing__json_event(const void *item)
{
	const billing_event *e = item;
	billing__jb b = { cJSON_CreateObject(), false };
	const char *json = billing_event_data_json(e);
	/* Exact: the snapshot's amounts are printed back as they were stored. */
	cJSON *data = json ? billing__jx_parse(json, strlen(json), NULL) : NULL;
	billing__jb_add(&b, "id", cJSON_CreateString(billing_event_id(e)));
	billing__jb_add(&b, "object", cJSON_CreateString("event"));
	billing__jb_add(&b, "type", cJSON_CreateString(billing_event_type(e)));
	billing__jb_add(&b, "resourceType", cJSON_CreateString(billing_event_resource_type(e)));
	billing__jb_add(&b, "resourceId", cJSON_CreateString(billing_event_resource_id(e)));
	billing__jb_add(&b, "data", data ? data : cJSON_CreateNull());
	billing__jb_add(&b, "requestId", billing__json_str_or_null(billing_event_request_id(e)));
	billing__jb_add(&b, "idempotencyKey",
		billing__json_str_or_null(billing_event_idempotency_key(e)));
	billing__jb_add(&b, "createdAt", billing__json_time(billing_event_created_at(e)));
	return billing__jb_done(&b);
}

char *billing__json_text(cJSON *(*to_json)(const void *item), const void *item)
{
	char none[1];
	return billing__json_text_member(to_json, item, NULL, none, sizeof(none));
}

char *billing__json_text_member(cJSON *(*to_json)(const void *item), const void *item,
	const char *member, char *out, size_t cap)
{
	cJSON *v = to_json(item);
	const char *m = v && member ?
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, member)) : NULL;
	char *text = v ? billing__jx_print(v) : NULL;
	char *copy = text ? billing__strdup(text) : NULL;

	out[0] = '\0';
	if (m && strlen(m) < cap)
		memcpy(out, m, strlen(m) + 1);
	cJSON_free(text);
	cJSON_Delete(v);
	return copy;
}

/* ------------------------------------------------------------ shapes */

/* What the writers above answer with, field by field, in their order (see
 * json_out.h for the type strings). Kept beside the writers: a field a
 * writer adds, drops or retypes is changed here in the same edit, and the
 * suites that check answers against these shapes (the Node binding's
 * shapes test, the HTTP suites through the OpenAPI document) fail until
 * it is. */

#define END { NULL, NULL, false }

static const billing__shape_field tenant_fields[] = {
	{ "id", "string", false }, { "object", "'tenant'", false }, { "name", "string", false },
	{ "invoicePrefix", "string", false }, { "creditNotePrefix", "string", false },
	{ "renewalDraftDelay", "integer", false }, { "createdAt", "time", false }, END
};
static const billing__shape_field subscription_fields[] = {
	{ "id", "string", false }, { "object", "'subscription'", false }, { "customerId", "string", false },
	{ "planId", "string", false },
	{ "status", "'incomplete' | 'trialing' | 'active' | 'past_due' | 'paused' | 'canceled' | "
		"'expired' | 'unpaid' | 'incomplete_expired'", false },
	{ "quantity", "integer?", false }, { "currency", "string", false }, { "billingCycleAnchor", "time", false },
	{ "currentPeriodStart", "time", false }, { "currentPeriodEnd", "time", false }, { "trialEnd", "time?", false },
	{ "cancelAtPeriodEnd", "boolean", false }, { "canceledAt", "time?", false }, { "endedAt", "time?", false },
	{ "latestInvoiceId", "string?", false }, { "pendingPlanId", "string?", false },
	{ "metadata", "metadata", false }, { "createdAt", "time", false }, { "version", "integer", false },
	{ "items", "SubscriptionItemRef[]", false }, { "defaultTaxRates", "string[]", false },
	{ "discount", "Discount?", false }, { "billingThresholds", "BillingThresholds?", false }, END
};
static const billing__shape_field billing_thresholds_fields[] = {
	{ "amountGte", "integer", false }, { "resetBillingCycleAnchor", "boolean", false }, END
};
static const billing__shape_field discount_shown_fields[] = {
	{ "id", "string", false }, { "couponId", "string", false },
	{ "promotionCodeId", "string?", false }, { "start", "time", false },
	{ "end", "time?", false }, END
};
static const billing__shape_field item_ref_fields[] = {
	{ "id", "string", false }, { "planId", "string", false }, { "quantity", "integer?", false },
	END
};
static const billing__shape_field invoice_line_fields[] = {
	{ "description", "string", false }, { "amount", "integer", false }, { "quantity", "integer", false },
	{ "unitAmount", "integer", false }, { "periodStart", "time", false }, { "periodEnd", "time", false },
	{ "taxRate", "number", false }, { "taxAmount", "integer", false }, { "proration", "boolean", false },
	{ "planId", "string?", false }, { "id", "string?", false },
	{ "subscriptionItemId", "string?", false }, { "tiers", "object[]?", false },
	{ "discountAmounts", "DiscountAmount[]", false },
	{ "amountExcludingTax", "integer", false }, { "taxAmounts", "TaxAmount[]", false }, END
};
static const billing__shape_field discount_amount_fields[] = {
	{ "discountId", "string", false }, { "amount", "integer", false }, END
};
static const billing__shape_field branding_fields[] = {
	{ "object", "'branding'", false }, { "legalName", "string?", false },
	{ "address", "object?", false }, { "taxId", "string?", false },
	{ "logo", "string?", false }, { "logoType", "string?", false },
	{ "accentColor", "string?", false }, { "footer", "string?", false },
	{ "locale", "string", false }, { "updatedAt", "time?", false }, END
};
static const billing__shape_field hosted_rotation_fields[] = {
	{ "object", "'hosted_links'", false }, { "rotatedAt", "time", false }, END
};
static const billing__shape_field tax_settings_fields[] = {
	{ "object", "'tax_settings'", false }, { "taxRounding", "'line' | 'invoice'", false }, END
};
static const billing__shape_field invoice_settings_fields[] = {
	{ "object", "'invoice_settings'", false }, { "renewalDraftDelay", "integer", false }, END
};
static const billing__shape_field tax_amount_fields[] = {
	{ "taxRateId", "string?", false }, { "amount", "integer", false },
	{ "inclusive", "boolean", false }, { "taxableAmount", "integer", false }, END
};
static const billing__shape_field invoice_fields[] = {
	{ "id", "string", false }, { "object", "'invoice'", false }, { "number", "string?", false },
	{ "status", "'draft' | 'pending' | 'paid' | 'failed' | 'void' | 'uncollectible'", false },
	{ "customerId", "string", false }, { "subscriptionId", "string?", false }, { "currency", "string", false },
	{ "subtotal", "integer", false }, { "tax", "integer", false }, { "total", "integer", false },
	{ "totalDiscountAmounts", "DiscountAmount[]", false },
	{ "amountPaid", "integer", false }, { "amountDue", "integer", false },
	{ "startingBalance", "integer", false }, { "endingBalance", "integer", false }, { "periodStart", "time", false },
	{ "periodEnd", "time", false }, { "lines", "InvoiceLine[]", false }, { "attemptCount", "integer", false },
	{ "nextAttemptAt", "time?", false }, { "nextAction", "object?", false },
	{ "createdAt", "time", false }, { "finalizedAt", "time?", false },
	{ "paidAt", "time?", false }, { "voidedAt", "time?", false }, { "version", "integer", false },
	{ "collectionMethod", "'charge_automatically' | 'send_invoice'", false },
	{ "daysUntilDue", "integer?", false }, { "dueDate", "time?", false }, { "memo", "string?", false },
	{ "footer", "string?", false }, { "paidOutOfBand", "boolean", false },
	{ "preCreditNotesAmount", "integer", false },
	{ "postPaymentCreditNotesAmount", "integer", false },
	{ "totalTaxAmounts", "TaxAmount[]", false },
	{ "customerTaxExempt", "'none' | 'exempt' | 'reverse'", false },
	{ "taxNote", "string?", false }, { "defaultTaxRates", "string[]", false },
	{ "hostedInvoiceUrl", "string?", false },
	{ "billingReason", "'subscription_threshold'?", false }, END
};
static const billing__shape_field invoice_preview_fields[] = {
	{ "id", "null", false }, { "number", "null", false }, END
};
static const billing__shape_field event_fields[] = {
	{ "id", "string", false }, { "object", "'event'", false }, { "type", "string", false },
	{ "resourceType", "string", false }, { "resourceId", "string", false }, { "data", "object?", false },
	{ "requestId", "string?", false }, { "idempotencyKey", "string?", false }, { "createdAt", "time", false }, END
};
static const billing__shape_field payment_fields[] = {
	{ "id", "string", false }, { "object", "'payment'", false }, { "invoiceId", "string", false },
	{ "customerId", "string", false },
	{ "status", "'pending' | 'requires_action' | 'succeeded' | 'failed' | 'refunded' | "
		"'partially_refunded' | 'unknown' | 'canceled'", false },
	{ "amount", "integer", false }, { "currency", "string", false }, { "refundedAmount", "integer", false },
	{ "provider", "string", false }, { "providerRef", "string?", false }, { "paymentMethod", "string?", false },
	{ "failureCode", "string?", false }, { "failureMessage", "string?", false },
	{ "nextAction", "object?", false }, { "createdAt", "time", false },
	{ "updatedAt", "time", false }, { "version", "integer", false }, END
};
static const billing__shape_field dunning_fields[] = {
	{ "object", "'dunning_policy'", false }, { "retryDays", "integer[]", false },
	{ "finalAction", "'cancel' | 'unpaid' | 'keep_past_due'", false },
	{ "actionExpirySeconds", "integer?", false }, END
};
static const billing__shape_field provider_account_fields[] = {
	{ "object", "'provider_account'", false }, { "provider", "string", false },
	{ "account", "string?", false }, { "apiKeyLast4", "string?", false },
	{ "webhookSecretSet", "boolean", false }, { "updatedAt", "string", false }, END
};
static const billing__shape_field endpoint_fields[] = {
	{ "id", "string", false }, { "object", "'webhook_endpoint'", false }, { "url", "string", false },
	{ "events", "string[]", false }, { "enabled", "boolean", false }, { "description", "string?", false },
	{ "disabledReason", "string?", false }, { "createdAt", "time", false }, { "updatedAt", "time", false },
	{ "version", "integer", false }, END
};
/* An idempotent replay of the create does not show the secret again. */
static const billing__shape_field endpoint_secret_fields[] = {
	{ "secret", "string", true }, END
};
static const billing__shape_field attempt_fields[] = {
	{ "at", "time", false }, { "statusCode", "integer?", false }, { "error", "string?", false },
	{ "response", "string?", false }, { "durationMs", "integer", false }, END
};
static const billing__shape_field delivery_fields[] = {
	{ "id", "string", false }, { "object", "'webhook_delivery'", false }, { "endpointId", "string", false },
	{ "eventId", "string", false }, { "status", "'pending' | 'succeeded' | 'dead'", false },
	{ "attemptCount", "integer", false }, { "nextAttemptAt", "time?", false },
	{ "attempts", "WebhookAttempt[]", false }, { "createdAt", "time", false }, END
};
static const billing__shape_field redelivery_fields[] = {
	{ "object", "'redelivery'", false }, { "deliveries", "integer", false }, END
};
static const billing__shape_field audit_fields[] = {
	{ "id", "string", false }, { "object", "'audit_entry'", false }, { "at", "time", false },
	{ "userId", "string?", false }, { "role", "'USER' | 'ADMIN' | 'PLATFORM'", false },
	{ "operation", "string", false }, { "resourceId", "string?", false }, { "requestId", "string?", false },
	{ "idempotencyKey", "string?", false }, END
};
static const billing__shape_field deleted_fields[] = {
	{ "id", "string", false }, { "deleted", "true", false }, END
};
static const billing__shape_field setup_intent_fields[] = {
	{ "id", "string", false }, { "object", "string", false },
	{ "clientSecret", "string", false }, { "status", "string", false },
	{ "customerId", "string", false }, END
};
static const billing__shape_field usage_item_fields[] = {
	{ "transactionId", "string?", false },
	{ "status", "'accepted' | 'duplicate' | 'refused' | 'voided'", false },
	{ "code", "string?", false }, { "field", "string?", false }, { "message", "string?", false },
	{ "subscriptionId", "string?", false }, END
};
static const billing__shape_field usage_result_fields[] = {
	{ "object", "'usage_result'", false }, { "data", "UsageItem[]", false },
	{ "accepted", "integer", false }, { "duplicates", "integer", false },
	{ "refused", "integer", false }, { "voided", "integer", false }, END
};
static const billing__shape_field usage_aggregate_fields[] = {
	{ "object", "'usage_aggregate'", false }, { "meterId", "string", false },
	{ "customerId", "string", false }, { "periodStart", "time", false },
	{ "periodEnd", "time", false }, { "value", "integer", false }, { "events", "integer", false },
	END
};
static const billing__shape_field mrr_report_fields[] = {
	{ "object", "'mrr_report'", false }, { "currency", "string", false },
	{ "at", "time", false }, { "mrr", "integer", false }, { "arr", "integer", false },
	{ "subscriptions", "integer", false }, { "customers", "integer", false }, END
};
static const billing__shape_field mrr_movements_fields[] = {
	{ "object", "'mrr_movements_report'", false }, { "currency", "string", false },
	{ "from", "time", false }, { "to", "time", false }, { "months", "MrrMonth[]", false },
	END
};
static const billing__shape_field mrr_month_fields[] = {
	{ "start", "time", false }, { "end", "time", false }, { "startMrr", "integer", false },
	{ "new", "integer", false }, { "expansion", "integer", false },
	{ "contraction", "integer", false }, { "churned", "integer", false },
	{ "reactivated", "integer", false }, { "endMrr", "integer", false },
	{ "startCustomers", "integer", false }, { "newCustomers", "integer", false },
	{ "expansionCustomers", "integer", false }, { "contractionCustomers", "integer", false },
	{ "churnedCustomers", "integer", false }, { "reactivatedCustomers", "integer", false },
	{ "endCustomers", "integer", false }, END
};
static const billing__shape_field aging_fields[] = {
	{ "object", "'receivables_aging_report'", false }, { "currency", "string", false },
	{ "at", "time", false }, { "current", "integer", false }, { "days1To30", "integer", false },
	{ "days31To60", "integer", false }, { "days61To90", "integer", false },
	{ "daysOver90", "integer", false }, { "total", "integer", false },
	{ "invoices", "integer", false }, { "invoicesPastDue", "integer", false }, END
};
static const billing__shape_field churn_fields[] = {
	{ "object", "'churn_report'", false }, { "currency", "string", false },
	{ "from", "time", false }, { "to", "time", false },
	{ "startCustomers", "integer", false }, { "churnedCustomers", "integer", false },
	{ "customerChurnRate", "string?", false }, { "startMrr", "integer", false },
	{ "churnedMrr", "integer", false }, { "contractionMrr", "integer", false },
	{ "expansionMrr", "integer", false }, { "grossRevenueChurnRate", "string?", false },
	{ "netRevenueChurnRate", "string?", false }, END
};
static const billing__shape_field arpa_fields[] = {
	{ "object", "'arpa_report'", false }, { "currency", "string", false },
	{ "at", "time", false }, { "mrr", "integer", false },
	{ "payingCustomers", "integer", false }, { "arpa", "integer?", false }, END
};
static const billing__shape_field trial_conversion_fields[] = {
	{ "object", "'trial_conversion_report'", false }, { "from", "time", false },
	{ "to", "time", false }, { "trialsEnded", "integer", false },
	{ "converted", "integer", false }, { "canceledDuringTrial", "integer", false },
	{ "endedUnpaid", "integer", false }, { "conversionRate", "string?", false }, END
};
static const billing__shape_field revenue_month_fields[] = {
	{ "start", "time", false }, { "end", "time", false }, { "finalized", "integer", false },
	{ "voided", "integer", false }, { "invoiced", "integer", false },
	{ "paid", "integer", false }, { "refunded", "integer", false },
	{ "collected", "integer", false }, { "outstanding", "integer", false }, END
};
static const billing__shape_field revenue_fields[] = {
	{ "object", "'revenue_report'", false }, { "currency", "string", false },
	{ "from", "time", false }, { "to", "time", false },
	{ "months", "RevenueMonth[]", false }, END
};
static const billing__shape_field payment_recovery_fields[] = {
	{ "object", "'payment_recovery_report'", false }, { "currency", "string", false },
	{ "from", "time", false }, { "to", "time", false },
	{ "failedInvoices", "integer", false }, { "failedAmount", "integer", false },
	{ "recovered", "integer", false }, { "recoveredAmount", "integer", false },
	{ "open", "integer", false }, { "uncollectible", "integer", false },
	{ "voided", "integer", false }, { "recoveryRate", "string?", false }, END
};
static const billing__shape_field usage_meter_fields[] = {
	{ "meterId", "string", false }, { "value", "integer", false }, { "events", "integer", false },
	{ "amount", "integer", false }, { "billedAmount", "integer", false }, END
};
static const billing__shape_field subscription_usage_fields[] = {
	{ "object", "'subscription_usage'", false }, { "subscriptionId", "string", false },
	{ "periodStart", "time", false }, { "periodEnd", "time", false },
	{ "data", "UsageMeterTotal[]", false }, END
};
static const billing__shape_field usage_settings_fields[] = {
	{ "object", "'usage_settings'", false }, { "usageGraceSeconds", "integer", false },
	{ "usageRetentionDays", "integer", false }, END
};
static const billing__shape_field usage_prune_fields[] = {
	{ "object", "'usage_prune'", false }, { "deleted", "integer", false },
	{ "cutoff", "time?", false }, END
};

#undef END

static const billing__shape shapes[] = {
	{ "Tenant", "A tenant: one business billing its own customers.", NULL, tenant_fields },
	{ "Subscription", "A customer's subscription to a plan.", NULL, subscription_fields },
	{ "Discount", "A subscription's or customer's discount (di_): a coupon redeemed, from "
		"start until end (null: no end yet; a once coupon's is set by the first invoice "
		"it takes something off). Shown until deleted or replaced, ended or not.", NULL,
		discount_shown_fields },
	{ "BillingThresholds", "A subscription's spend threshold (issue #23): amountGte in minor "
		"units of its currency; resetBillingCycleAnchor is always false (true is refused). "
		"Stored and shown; the early invoice is not built yet (docs/usage.md).", NULL,
		billing_thresholds_fields },
	{ "SubscriptionItemRef", "One item of a subscription, in its items[]: the first is the "
		"subscription's planId and quantity.", NULL, item_ref_fields },
	{ "InvoiceLine", "One line of an invoice; amounts in minor units. amount is before its "
		"discount (discountAmounts); taxAmount is on amount less the discount.", NULL,
		invoice_line_fields },
	{ "DiscountAmount", "What a discount (di_) took off a line or, summed, an invoice: "
		"total = subtotal - the totalDiscountAmounts + tax.", NULL, discount_amount_fields },
	{ "Invoice", "An invoice; amounts in minor units of its currency. number is null until "
		"it is finalized.", NULL, invoice_fields },
	{ "InvoicePreview", "The invoice a subscription's next renewal would issue: never "
		"stored, so no id and no number.", "Invoice", invoice_preview_fields },
	{ "Event", "A domain event; data is the resource as it was after the change.", NULL,
		event_fields },
	{ "Payment", "An attempt to collect an invoice; amounts in minor units.", NULL,
		payment_fields },
	{ "DunningPolicy", "The tenant's retry schedule for failed payments.", NULL,
		dunning_fields },
	{ "ProviderAccount", "The tenant's own payment provider account: never its secrets.", NULL,
		provider_account_fields },
	{ "WebhookEndpoint", "A URL the tenant's events are delivered to. The signing secret is "
		"shown once, by create and rotateSecret (WebhookEndpointWithSecret).", NULL,
		endpoint_fields },
	{ "WebhookEndpointWithSecret", "An endpoint as create and rotateSecret answer: with the "
		"new signing secret (not shown again by an idempotent replay).", "WebhookEndpoint",
		endpoint_secret_fields },
	{ "WebhookAttempt", "One try of a delivery; statusCode is null when no answer came.",
		NULL, attempt_fields },
	{ "WebhookDelivery", "One event on its way to one endpoint.", NULL, delivery_fields },
	{ "Redelivery", "How many deliveries a redelivery queued.", NULL, redelivery_fields },
	{ "AuditEntry", "One change, who made it and through which operation.", NULL,
		audit_fields },
	{ "Deleted", "The answer of a delete.", NULL, deleted_fields },
	{ "SetupIntent", "The provider's SetupIntent a front end confirms to store a card.", NULL,
		setup_intent_fields },
	{ "UsageItem", "What became of one usage event (or one transaction id of a void).", NULL,
		usage_item_fields },
	{ "UsageResult", "The answer of an ingestion or a void, item by item in the input's "
		"order, with the tallies.", NULL, usage_result_fields },
	{ "UsageAggregate", "A meter's aggregate of a customer's events over a period.", NULL,
		usage_aggregate_fields },
	{ "UsageMeterTotal", "One meter's running total in a period.", NULL, usage_meter_fields },
	{ "SubscriptionUsage", "A subscription's usage in its current period so far.", NULL,
		subscription_usage_fields },
	{ "UsageSettings", "The tenant's usage settings.", NULL, usage_settings_fields },
	{ "UsagePrune", "What a prune of raw usage events deleted, and the cutoff before which "
		"the tenant takes no events (null: no retention set).", NULL, usage_prune_fields },
	{ "TaxAmount", "One rate's tax: on a line (taxAmounts) or the invoice (totalTaxAmounts, "
		"per rate; taxRateId null for a product's taxRate).", NULL, tax_amount_fields },
	{ "TaxSettings", "The tenant's tax settings.", NULL, tax_settings_fields },
	{ "MrrReport", "MRR (minor units) and ARR (12 x MRR) of one currency at a time, with "
		"the active or past_due subscriptions counted and their customers "
		"(docs/reports.md).", NULL, mrr_report_fields },
	{ "MrrMovementsReport", "MRR movements of one currency per calendar month of [from, "
		"to) (docs/reports.md).", NULL, mrr_movements_fields },
	{ "MrrMonth", "One month's MRR movements, signed minor units: startMrr + new + "
		"expansion + contraction + churned + reactivated = endMrr; contraction and "
		"churned are <= 0. Customers are counted per movement.", NULL, mrr_month_fields },
	{ "ReceivablesAgingReport", "The amount due (minor units) of the invoices open at a "
		"time, by whole days past due (docs/reports.md).", NULL, aging_fields },
	{ "ChurnReport", "Customer churn (any currency) and revenue churn (one currency) of "
		"the customers there at from, by to; rates are percentages with two decimals, "
		"null when their base is 0 (docs/reports.md).", NULL, churn_fields },
	{ "ArpaReport", "Average revenue per account: the MRR (minor units) at a time "
		"divided by the customers paying then (MRR above 0), rounded half away from "
		"zero; null when none paid (docs/reports.md).", NULL, arpa_fields },
	{ "TrialConversionReport", "Trial conversion over [from, to): of the trials that "
		"ended in the range, those converted (the first charged invoice paid before to), "
		"canceled during the trial, and ended unpaid; the rate a percentage with two "
		"decimals, null when no trial ended (docs/reports.md).", NULL,
		trial_conversion_fields },
	{ "RevenueMonth", "One calendar month of invoiced against collected revenue, signed "
		"minor units: invoiced = finalized + voided, collected = paid + refunded; "
		"outstanding is the receivables at the month's end (docs/reports.md).", NULL,
		revenue_month_fields },
	{ "RevenueReport", "Invoiced against collected revenue of one currency per calendar "
		"month (UTC) of [from, to) (docs/reports.md).", NULL, revenue_fields },
	{ "PaymentRecoveryReport", "Failed-payment recovery over [from, to): the invoices "
		"whose first failed payment was in the range and what became of them by to; the "
		"rate a percentage with two decimals, null when none failed (docs/reports.md).",
		NULL, payment_recovery_fields },
	{ "InvoiceSettings", "The tenant's invoice settings.", NULL, invoice_settings_fields },
	{ "HostedLinksRotation", "A rotation of the tenant's hosted-link secret: links given "
		"before it no longer open.", NULL, hosted_rotation_fields },
	{ "Branding", "The tenant's branding: the seller's block of its documents.", NULL,
		branding_fields },
};

const billing__shape *billing__json_shapes(size_t *count)
{
	*count = sizeof(shapes) / sizeof(shapes[0]);
	return shapes;
}
