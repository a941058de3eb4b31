/*
 * Credit notes (billing/credit_note.h, issue #20 item 3): a descriptor
 * object ("cn_...") that the API reads through the generic flow (get,
 * list with the filters invoiceId, customerId, status, type, total), its
 * getters, and billing_check's part (the notes' sums on their invoices and
 * the gapless numbering). credit_note_issue.c writes notes: create, void and
 * preview.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "billing/credit_note.h"
#include "core/calendar.h"
#include "core/credit_note.h"
#include "core/credit_note_internal.h"
#include "core/customer_balance.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/json_exact.h"
#include "core/payment_internal.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/subscription_internal.h"
#include "core/txn.h"

#define F(member) offsetof(struct billing_credit_note, member)

static const char *const type_names[] = { "", "pre_payment", "post_payment", NULL };
static const char *const status_names[] = { "", "issued", "void", NULL };
static const char *const reason_names[] = {
	"", "duplicate", "fraudulent", "order_change", "product_unsatisfactory", NULL
};

#define AMOUNT_FIELD(col, member, json, desc) \
	{ col, BILLING_FIELD_INT64, F(member), BILLING_FIELD_FIXED, json, BILLING_JSON_INTEGER, \
	  0, NULL, 0, desc }

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, BILLING_API_NULLABLE, NULL, 0,
		"The credit note's id (cn_...); null on a preview." },
	[NUMBER] = { "number", BILLING_FIELD_TEXT, F(number),
		BILLING_FIELD_FIXED | BILLING_FIELD_UNIQUE | BILLING_FIELD_SEARCH, "number",
		BILLING_JSON_STRING, BILLING_API_NULLABLE, NULL, 0,
		"The tenant's credit-note prefix and its own gapless counter (CN-000001); null on "
		"a preview." },
	[SEQ] = { "seq", BILLING_FIELD_INT64, F(seq), BILLING_FIELD_FIXED, NULL,
		BILLING_JSON_NONE, 0, NULL, 0, NULL },
	[INVOICE] = { "invoice_id", BILLING_FIELD_TEXT, F(invoice_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "invoiceId", BILLING_JSON_STRING, 0,
		NULL, 0, "The invoice it credits." },
	[CUSTOMER] = { "customer_id", BILLING_FIELD_TEXT, F(customer_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "customerId", BILLING_JSON_STRING, 0,
		NULL, 0, "The invoice's customer." },
	[CURRENCY] = { "currency", BILLING_FIELD_TEXT, F(currency), BILLING_FIELD_FIXED,
		"currency", BILLING_JSON_STRING, 0, NULL, 0, "The invoice's currency." },
	[TYPE] = { "type", BILLING_FIELD_INT, F(type), BILLING_FIELD_FIXED | BILLING_FIELD_FILTER,
		"type", BILLING_JSON_ENUM, 0, type_names, 0,
		"pre_payment (lowered an unpaid invoice's amount due) or post_payment (refunded, "
		"credited to the balance or settled outside)." },
	[STATUS] = { "status", BILLING_FIELD_INT, F(status), BILLING_FIELD_FILTER, "status",
		BILLING_JSON_ENUM, 0, status_names, 0, "issued or void." },
	[REASON] = { "reason", BILLING_FIELD_INT, F(reason),
		BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL, "reason", BILLING_JSON_ENUM, 0,
		reason_names, 0,
		"duplicate, fraudulent, order_change, product_unsatisfactory or null." },
	[MEMO] = { "memo", BILLING_FIELD_TEXT, F(memo), BILLING_FIELD_FIXED, "memo",
		BILLING_JSON_STRING, BILLING_API_NULLABLE, NULL, 0,
		"A note shown on the credit note; null for none." },
	[LINES] = { "lines", BILLING_FIELD_TEXT, F(lines_json), BILLING_FIELD_FIXED, "lines",
		BILLING_JSON_OBJECT, 0, NULL, 0,
		"{object: list, data: [{invoiceLineId, description, quantity, amount, "
		"discountAmounts, amountExcludingTax, taxAmount, taxAmounts}]}: the invoice lines "
		"credited (empty for a lump amount); amount is before the line's discount, as the "
		"invoice line's, and the discount and the tax per rate are the line's in "
		"proportion." },
	[SUBTOTAL] = AMOUNT_FIELD("subtotal", subtotal, "subtotal",
		"The credit before tax and after discounts: the lines' amountExcludingTax (a lump "
		"amount less its tax)."),
	[TAX] = AMOUNT_FIELD("tax", tax, "tax", "The tax credited, inclusive and exclusive."),
	[TOTAL] = { "total", BILLING_FIELD_INT64, F(total),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "total",
		BILLING_JSON_INTEGER, 0, NULL, 0, "subtotal + tax, > 0." },
	[TOTAL_TAX_AMOUNTS] = { "total_tax_amounts", BILLING_FIELD_TEXT,
		F(total_tax_amounts_json), BILLING_FIELD_FIXED, "totalTaxAmounts",
		BILLING_JSON_ARRAY, 0, NULL, 0,
		"The tax credited per rate, [{taxRateId (null: a product's taxRate), amount, "
		"inclusive, taxableAmount}], as an invoice's totalTaxAmounts; a lump amount's tax "
		"is shared among the invoice's rates in proportion." },
	[TOTAL_DISCOUNT_AMOUNTS] = { "total_discount_amounts", BILLING_FIELD_TEXT,
		F(total_discount_amounts_json), BILLING_FIELD_FIXED, "totalDiscountAmounts",
		BILLING_JSON_ARRAY, 0, NULL, 0,
		"The lines' discounts credited, [{discountId, amount}] ([] for a lump amount)." },
	[REFUND] = AMOUNT_FIELD("refund_amount", refund_amount, "refundAmount",
		"Refunded through the payment provider."),
	[CREDIT] = AMOUNT_FIELD("credit_amount", credit_amount, "creditAmount",
		"Credited to the customer's balance."),
	[OUT_OF_BAND] = AMOUNT_FIELD("out_of_band_amount", out_of_band_amount, "outOfBandAmount",
		"Settled outside (cash, a bank transfer)."),
	[REFUND_ID] = { "refund_id", BILLING_FIELD_TEXT, F(refund_id), BILLING_FIELD_FIXED,
		"refundId", BILLING_JSON_STRING, BILLING_API_NULLABLE, NULL, 0,
		"The refund asked of the provider (re_...); null for none." },
	[VOIDED_AT] = { "voided_at", BILLING_FIELD_INT64, F(voided_at), BILLING_FIELD_ZERO_NULL,
		"voidedAt", BILLING_JSON_TIME, 0, NULL, 0, "When it was voided; null if not." },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), BILLING_FIELD_FIXED,
		"metadata", BILLING_JSON_METADATA, 0, NULL, 0, "Your own string keys and values." },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was issued." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it last changed (its void)." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0, "1, then 2 once voided." },
};

static const billing_reference references[] = {
	{ "invoice_id", &billing__res_invoice },
	{ "customer_id", &billing__res_customer },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

const billing_resource billing__res_credit_note = {
	"credit_note", "credit_notes", "credit-notes", "CreditNote",
	"A lowering of a finalized invoice: before payment its amount due, after payment a "
	"refund, a credit to the customer's balance or an amount settled outside. Issued by "
	"POST /v1/credit-notes, voided by POST /v1/credit-notes/{id}/void.",
	"credit_notes", "cn", sizeof(struct billing_credit_note),
	fields, FIELD_COUNT, NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_GET | BILLING_RESOURCE_OP_LIST,
	R_READ, R_WRITE, BILLING_RESOURCE_CREATE_EVENT, references,
	sizeof(references) / sizeof(references[0])
};

/* The list's filters: an id of the wrong shape names nothing in the tenant
 * (API-HTTP.md: 400 resource_missing, as a body's id). */
static const struct {
	int field;
	const char *name, *prefix;
	const billing_resource *res;
} named_ids[] = {
	{ INVOICE, "invoiceId", "in", &billing__res_invoice },
	{ CUSTOMER, "customerId", "cus", &billing__res_customer },
};

static int id_missing(const char *name)
{
	return billing__error_field(BILLING_EINVALID, "resource_missing", name,
		"no such %s in this tenant", name[0] == 'i' ? "invoice" : "customer");
}

static int check_list(const billing_filter *filters, size_t count)
{
	size_t i, k;
	for (i = 0; i < count; i++)
		for (k = 0; k < sizeof(named_ids) / sizeof(named_ids[0]); k++)
			if (filters[i].field == &fields[named_ids[k].field] &&
			    !billing__id_arg_ok(filters[i].text, named_ids[k].prefix))
				return id_missing(named_ids[k].name);
	return BILLING_OK;
}

static int found_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

/* In the list's transaction: the invoice or customer a filter names is
 * the tenant's. */
static int check_list_rows(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const billing_filter *filters, size_t count)
{
	size_t i, k;
	int rc;
	for (i = 0; i < count; i++)
		for (k = 0; k < sizeof(named_ids) / sizeof(named_ids[0]); k++) {
			if (filters[i].field != &fields[named_ids[k].field])
				continue;
			rc = ctx->st->record_read(tx, named_ids[k].res, tenant_id, filters[i].text,
				BILLING_LOCK_NONE, found_row, NULL);
			if (rc == BILLING_ENOTFOUND)
				return id_missing(named_ids[k].name);
			if (rc < 0)
				return rc;
		}
	return BILLING_OK;
}

const billing__rules billing__credit_note_rules = {
	&billing__res_credit_note, NULL, NULL, NULL, NULL, check_list, check_list_rows, NULL, NULL, NULL
};

/* The note's JSON; a preview's id is null. */
cJSON *billing__credit_note_json(const void *item)
{
	const struct billing_credit_note *n = item;
	struct billing_credit_note copy;
	cJSON *obj;

	if (n->id)
		return billing__record_json(&billing__res_credit_note, n);
	/* A preview: no id (the generic writer shows a record's id as a
	 * string), shown as null. */
	copy = *n;
	copy.id = "";
	if ((obj = billing__record_json(&billing__res_credit_note, &copy)) != NULL &&
	    !cJSON_ReplaceItemInObjectCaseSensitive(obj, "id", cJSON_CreateNull())) {
		cJSON_Delete(obj);
		obj = NULL;
	}
	return obj;
}

/* ------------------------------------------------------------ the counter */

/* The tenant's last credit-note number (one row per tenant, as the dunning
 * policy: the tenant is the key; no version). */
struct counter_row {
	const char *tenant_id;
	int64_t last;
};

static const billing_field counter_fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(struct counter_row, tenant_id),
		BILLING_FIELD_ID | BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "last", BILLING_FIELD_INT64, offsetof(struct counter_row, last), 0, NULL,
		BILLING_JSON_NONE, 0, NULL, 0, NULL },
};

static const billing_resource counter_res = {
	.name = "credit_note_counter", .plural = "credit_note_counters",
	.table = "credit_note_counters", .record_size = sizeof(struct counter_row),
	.fields = counter_fields,
	.field_count = sizeof(counter_fields) / sizeof(counter_fields[0]),
};

static int counter_cb(void *payload, const void *record)
{
	*(int64_t *)payload = ((const struct counter_row *)record)->last;
	return BILLING_OK;
}

int billing__credit_note_counter(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	int64_t *last)
{
	int rc;
	*last = 0;
	rc = ctx->st->record_read(tx, &counter_res, NULL, tenant_id, BILLING_LOCK_UPDATE,
		counter_cb, last);
	if (rc == BILLING_ENOTFOUND) {
		billing_error_clear();
		*last = 0;
		rc = BILLING_OK;
	}
	return rc;
}

/* The tenant's next number, taken (held to the end of tx: a rollback gives
 * it back, so numbers have no gap). */
int billing__credit_note_counter_next(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	int64_t *seq)
{
	struct counter_row r;
	int64_t last;
	int rc;
	if ((rc = billing__credit_note_counter(ctx, tx, tenant_id, &last)) < 0)
		return rc;
	r.tenant_id = tenant_id;
	r.last = *seq = last + 1;
	return billing__record_put(ctx->st, tx, &counter_res, &r);
}

billing_filter billing__credit_note_by(int field, const char *value)
{
	billing_filter f;
	memset(&f, 0, sizeof(f));
	f.field = &fields[field];
	f.op = BILLING_FILTER_EQ;
	f.text = value;
	return f;
}

/* ------------------------------------------------------------ reads */

int billing_credit_note_get(billing_credit_note **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return billing__resource_get((void **)out, &billing__credit_note_rules, ctx, who, id);
}

int billing_credit_note_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const char *invoice_id, const char *customer_id,
	const billing_list_params *params)
{
	billing_list_params none = BILLING_LIST_PARAMS_INIT;
	billing_filter f[2];
	size_t n = 0;

	if (invoice_id)
		f[n++] = billing__credit_note_by(INVOICE, invoice_id);
	if (customer_id)
		f[n++] = billing__credit_note_by(CUSTOMER, customer_id);
	return billing__resource_list(out, &billing__credit_note_rules, ctx, who,
		params ? params : &none, n ? f : NULL, n);
}

const billing_credit_note *billing_page_credit_note(const billing_page *page, size_t i)
{
	return billing__resource_page_item(page, &billing__res_credit_note, i);
}

void billing_credit_note_free(billing_credit_note *n)
{
	billing__free(n);
}

const char *billing_credit_note_status_name(billing_credit_note_status s)
{
	return s == BILLING_CREDIT_NOTE_ISSUED || s == BILLING_CREDIT_NOTE_VOID ?
		status_names[s] : NULL;
}

const char *billing_credit_note_reason_name(billing_credit_note_reason r)
{
	return r > 0 && r < REASON_COUNT ? reason_names[r] : NULL;
}

const char *billing_credit_note_id(const billing_credit_note *n) { return n ? n->id : NULL; }
const char *billing_credit_note_number(const billing_credit_note *n)
{
	return n ? n->number : NULL;
}
const char *billing_credit_note_invoice_id(const billing_credit_note *n)
{
	return n ? n->invoice_id : NULL;
}
const char *billing_credit_note_customer_id(const billing_credit_note *n)
{
	return n ? n->customer_id : NULL;
}
const char *billing_credit_note_currency(const billing_credit_note *n)
{
	return n ? n->currency : NULL;
}
billing_credit_note_status billing_credit_note_status_of(const billing_credit_note *n)
{
	return n ? (billing_credit_note_status)n->status : (billing_credit_note_status)0;
}
billing_credit_note_type billing_credit_note_type_of(const billing_credit_note *n)
{
	return n ? (billing_credit_note_type)n->type : (billing_credit_note_type)0;
}
int64_t billing_credit_note_subtotal(const billing_credit_note *n) { return n ? n->subtotal : 0; }
int64_t billing_credit_note_tax(const billing_credit_note *n) { return n ? n->tax : 0; }
int64_t billing_credit_note_total(const billing_credit_note *n) { return n ? n->total : 0; }
int64_t billing_credit_note_refund_amount(const billing_credit_note *n)
{
	return n ? n->refund_amount : 0;
}
int64_t billing_credit_note_credit_amount(const billing_credit_note *n)
{
	return n ? n->credit_amount : 0;
}
int64_t billing_credit_note_out_of_band_amount(const billing_credit_note *n)
{
	return n ? n->out_of_band_amount : 0;
}
const char *billing_credit_note_refund_id(const billing_credit_note *n)
{
	return n ? n->refund_id : NULL;
}
const char *billing_credit_note_lines_json(const billing_credit_note *n)
{
	return n ? n->lines_json : NULL;
}
const char *billing_credit_note_metadata_json(const billing_credit_note *n)
{
	if (!n)
		return NULL;
	return n->metadata_json && *n->metadata_json ? n->metadata_json : "{}";
}

/* ------------------------------------------------------------ billing_check */

struct check_sums {
	int64_t *seqs;
	size_t n, cap;
	/* per invoice: sums of issued notes by type */
	struct inv_sum {
		char id[BILLING_ID_MAX];
		int64_t pre, post;
	} *inv;
	size_t ninv, capinv;
	int failed;
};

static int sum_note(void *payload, const void *record)
{
	const struct billing_credit_note *n = record;
	struct check_sums *s = payload;
	size_t i;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		int64_t *v = billing__realloc(s->seqs, cap * sizeof(*v));
		if (!v)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		s->seqs = v;
		s->cap = cap;
	}
	s->seqs[s->n++] = n->seq;
	if (n->status != BILLING_CREDIT_NOTE_ISSUED)
		return BILLING_OK;
	for (i = 0; i < s->ninv && strcmp(s->inv[i].id, n->invoice_id) != 0; i++)
		;
	if (i == s->ninv) {
		if (s->ninv == s->capinv) {
			size_t cap = s->capinv ? s->capinv * 2 : 16;
			struct inv_sum *v = billing__realloc(s->inv, cap * sizeof(*v));
			if (!v)
				return billing__error_set(BILLING_ENOMEM, NULL, NULL);
			s->inv = v;
			s->capinv = cap;
		}
		memset(&s->inv[i], 0, sizeof(s->inv[i]));
		snprintf(s->inv[i].id, sizeof(s->inv[i].id), "%s", n->invoice_id);
		s->ninv++;
	}
	if (n->type == BILLING_CREDIT_NOTE_PRE_PAYMENT)
		s->inv[i].pre += n->total;
	else
		s->inv[i].post += n->total;
	return BILLING_OK;
}

struct check_invoices {
	struct check_sums *s;
	billing__credit_note_report_fn report;
	void *payload;
};

static int check_invoice(void *payload, const void *record)
{
	const billing_invoice_record *r = record;
	struct check_invoices *c = payload;
	int64_t pre = 0, post = 0;
	size_t i;
	char detail[200];

	for (i = 0; i < c->s->ninv; i++)
		if (strcmp(c->s->inv[i].id, r->id) == 0) {
			pre = c->s->inv[i].pre;
			post = c->s->inv[i].post;
		}
	if (pre != r->pre_payment_credit_notes_amount || post != r->post_payment_credit_notes_amount) {
		snprintf(detail, sizeof(detail), "credit notes %lld before and %lld after payment; "
			"the invoice shows %lld and %lld", (long long)pre, (long long)post,
			(long long)r->pre_payment_credit_notes_amount,
			(long long)r->post_payment_credit_notes_amount);
		c->report(c->payload, "credit_note_sums", r->id, detail);
	}
	if (pre + post > 0 && pre + post > r->total) {
		snprintf(detail, sizeof(detail), "credit notes of %lld exceed the total %lld",
			(long long)(pre + post), (long long)r->total);
		c->report(c->payload, "credit_note_exceeds_invoice", r->id, detail);
	}
	return BILLING_OK;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int billing__credit_note_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__credit_note_report_fn report, void *payload)
{
	struct check_sums s;
	struct check_invoices ci;
	char detail[200];
	int64_t last = 0;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	ci.s = &s;
	ci.report = report;
	ci.payload = payload;
	if ((rc = billing__list_all(ctx->st, tx, &billing__res_credit_note, tenant_id, NULL, 0,
		sum_note, &s)) < 0 ||
	    (rc = billing__list_all(ctx->st, tx, &billing__res_invoice, tenant_id, NULL, 0,
		check_invoice, &ci)) < 0 ||
	    (rc = ctx->st->record_read(tx, &counter_res, NULL, tenant_id, BILLING_LOCK_NONE,
		counter_cb, &last)) < 0) {
		if (rc != BILLING_ENOTFOUND)
			goto out;
		billing_error_clear();
		rc = BILLING_OK;
		last = 0;
	}
	if (s.n)
		qsort(s.seqs, s.n, sizeof(*s.seqs), cmp_i64);
	for (i = 0; i < s.n; i++)
		if (s.seqs[i] != (int64_t)i + 1) {
			snprintf(detail, sizeof(detail), "the %zu-th credit note's counter is %lld",
				i + 1, (long long)s.seqs[i]);
			report(payload, "credit_note_number_gap", NULL, detail);
			break;
		}
	if ((int64_t)s.n != last) {
		snprintf(detail, sizeof(detail), "%zu credit notes, the counter is at %lld", s.n,
			(long long)last);
		report(payload, "credit_note_number_gap", NULL, detail);
	}
out:
	billing__free(s.seqs);
	billing__free(s.inv);
	return rc;
}
