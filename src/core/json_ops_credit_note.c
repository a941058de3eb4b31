/*
 * The JSON operations of credit notes that the generic adapter cannot
 * serve (json_ops.h): create and void move the invoice, the balance and,
 * for a refund, the payment provider (credit_note.c); preview computes a
 * note without writing it. Reads (credit_notes.get, .list) come from the
 * descriptor (json_record.c).
 */
#include <cJSON.h>
#include <string.h>

#include "billing/credit_note.h"
#include "core/core.h"
#include "core/credit_note.h"
#include "core/json_ops.h"
#include "core/json_out.h"

#define NOTE_FIELDS(lines_type, lines_text) \
	{ "invoiceId", T_STRING, true, false, "the finalized invoice credited (in_...)" }, \
	{ "lines", lines_type, false, false, lines_text }, \
	{ "amount", T_INTEGER, false, false, \
		"without lines: the credit, tax included (the invoice's tax in proportion)" }, \
	{ "reason", T_STRING, false, true, \
		"duplicate, fraudulent, order_change or product_unsatisfactory" }, \
	{ "memo", T_STRING, false, true, "a note shown on the credit note, up to 5000 characters" }, \
	{ "refundAmount", T_INTEGER, false, false, \
		"paid invoice: refunded through the payment provider" }, \
	{ "creditAmount", T_INTEGER, false, false, \
		"paid invoice: credited to the customer's balance (the whole total when none of " \
		"the three is given)" }, \
	{ "outOfBandAmount", T_INTEGER, false, false, "paid invoice: settled outside" }

#define LINES_TEXT "[{invoiceLineId, amount? | quantity?}] (up to 16): the invoice lines " \
	"credited, an amount before tax or a quantity of the line's unit amount"

static const field_spec f_note_create[] = {
	NOTE_FIELDS(T_OBJ_ARRAY, LINES_TEXT),
	{ "metadata", T_OBJECT, false, true, "string map" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_note_preview[] = {
	NOTE_FIELDS(T_OBJ_ARRAY, LINES_TEXT "; over HTTP the query parameter is the array's "
		"JSON text"),
	{ NULL, 0, false, false, NULL }
};

#define MAX_LINES BILLING_CREDIT_NOTE_LINES_MAX

static cJSON *note_json(const void *item)
{
	return billing__credit_note_json(item);
}

static void free_note(void *n) { billing_credit_note_free(n); }

/* One member of a line: an integer in range, or absent (0). */
static int line_int(const cJSON *v, const char *field, int64_t max, int64_t *out)
{
	*out = 0;
	if (!v)
		return BILLING_OK;
	if (billing__jx_int(v, out) != BILLING__JX_INT_OK || *out < 0 || *out > max)
		return field_error(field, "%s must be an integer from 0 to %lld", field,
			(long long)max);
	return BILLING_OK;
}

/* The input of create and preview into p (lines into the caller's array). */
static int params_in(billing_credit_note_params *p, billing_credit_note_line_params *lines,
	const cJSON *in)
{
	static const struct { const char *name; billing_credit_note_reason r; } reasons[] = {
		{ "duplicate", BILLING_CREDIT_NOTE_DUPLICATE },
		{ "fraudulent", BILLING_CREDIT_NOTE_FRAUDULENT },
		{ "order_change", BILLING_CREDIT_NOTE_ORDER_CHANGE },
		{ "product_unsatisfactory", BILLING_CREDIT_NOTE_PRODUCT_UNSATISFACTORY },
	};
	const cJSON *arr = jget(in, "lines"), *l, *m;
	const char *reason = jstr(in, "reason");
	size_t i;
	int rc;

	p->invoice_id = jstr(in, "invoiceId");
	p->amount = ji64(in, "amount");
	if (jhas(in, "amount") && p->amount <= 0)
		return field_error("amount", "amount must be > 0");
	p->memo = jstr(in, "memo");
	if (reason) {
		for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]) &&
		     strcmp(reasons[i].name, reason) != 0; i++)
			;
		if (i == sizeof(reasons) / sizeof(reasons[0]))
			return field_error("reason", "reason must be duplicate, fraudulent, "
				"order_change or product_unsatisfactory");
		p->reason = reasons[i].r;
	}
	if (jhas(in, "refundAmount")) {
		p->fields |= BILLING_CREDIT_NOTE_REFUND_AMOUNT;
		p->refund_amount = ji64(in, "refundAmount");
	}
	if (jhas(in, "creditAmount")) {
		p->fields |= BILLING_CREDIT_NOTE_CREDIT_AMOUNT;
		p->credit_amount = ji64(in, "creditAmount");
	}
	if (jhas(in, "outOfBandAmount")) {
		p->fields |= BILLING_CREDIT_NOTE_OUT_OF_BAND_AMOUNT;
		p->out_of_band_amount = ji64(in, "outOfBandAmount");
	}
	if (!arr)
		return BILLING_OK;
	if (cJSON_GetArraySize(arr) > MAX_LINES)
		return field_error("lines", "at most %d lines", MAX_LINES);
	if (cJSON_GetArraySize(arr) == 0)
		return field_error("lines", "lines must not be empty");
	i = 0;
	cJSON_ArrayForEach(l, arr) {
		const char *const *names = billing__credit_note_line_fields[i];
		int64_t v;
		cJSON_ArrayForEach(m, l)
			if (strcmp(m->string, "invoiceLineId") != 0 && strcmp(m->string, "amount") != 0 &&
			    strcmp(m->string, "quantity") != 0)
				return billing__error_field(BILLING_EINVALID, "unknown_field", names[0],
					"%.60s is not a field of a credit note's line", m->string);
		m = jget(l, "invoiceLineId");
		if (!cJSON_IsString(m))
			return field_error(names[1], "%s must be a string", names[1]);
		lines[i].invoice_line_id = m->valuestring;
		if ((rc = line_int(jget(l, "amount"), names[2], INT64_MAX, &lines[i].amount)) < 0 ||
		    (rc = line_int(jget(l, "quantity"), names[3], INT32_MAX, &v)) < 0)
			return rc;
		lines[i].quantity = (int32_t)v;
		i++;
	}
	p->lines = lines;
	p->line_count = i;
	return BILLING_OK;
}

static int op_note_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_credit_note_params p = BILLING_CREDIT_NOTE_PARAMS_INIT;
	billing_credit_note_line_params lines[MAX_LINES];
	billing_credit_note *n = NULL;
	billing__json_md md;
	int rc;
	memset(lines, 0, sizeof(lines));
	if ((rc = params_in(&p, lines, in)) < 0 || (rc = metadata_in(&md, in)) < 0)
		return rc;
	p.metadata = md.items;
	p.metadata_count = md.count;
	rc = billing_credit_note_create(&n, ctx, who, &p, opts);
	return item_out(res, rc, n, note_json, free_note);
}

static int op_note_preview(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_credit_note_params p = BILLING_CREDIT_NOTE_PARAMS_INIT;
	billing_credit_note_line_params lines[MAX_LINES];
	billing_credit_note *n = NULL;
	int rc;
	(void)opts;
	memset(lines, 0, sizeof(lines));
	if ((rc = params_in(&p, lines, in)) < 0)
		return rc;
	rc = billing_credit_note_preview(&n, ctx, who, &p);
	return item_out(res, rc, n, note_json, free_note);
}

static int op_note_void(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_credit_note *n = NULL;
	int rc = billing_credit_note_void(&n, ctx, who, jstr(in, "id"), opts);
	return item_out(res, rc, n, note_json, free_note);
}

const op_entry billing__json_ops_credit_note[] = {
	{ BILLING_OP_CREDIT_NOTES_CREATE, op_note_create,
		"Issue a credit note against a finalized invoice: before payment it lowers the "
		"amount due; after payment its total is split into refundAmount (through the "
		"payment provider), creditAmount (the customer's balance) and outOfBandAmount.",
		f_note_create, OUT_OBJECT, "CreditNote" },
	{ BILLING_OP_CREDIT_NOTES_VOID, op_note_void,
		"Void a credit note: its invoice's amounts and its credit to the balance go back; "
		"refused (409) when it refunded through the provider or its unpaid invoice was "
		"paid since.", f_id_only, OUT_OBJECT, "CreditNote" },
	{ BILLING_OP_CREDIT_NOTES_PREVIEW, op_note_preview,
		"The credit note that credit_notes.create would issue, computed and not written "
		"(no id, no number).", f_note_preview, OUT_OBJECT, "CreditNote" },
};
BILLING__JSON_AREA_END(credit_note);
