/*
 * Taxes on invoices (core/invoice_tax.h): the rates of each line, the
 * customer's taxExempt and the tenant's rounding rule, read in the
 * invoice's transaction, then billing__tax_compute (core/tax.c, pure), the
 * only place the arithmetic lives.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "billing/tax_rate.h"
#include "core/alloc.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/invoice_tax.h"
#include "core/json_exact.h"
#include "core/resources.h"
#include "core/settings.h"
#include "core/tax.h"
#include "core/txn.h"
#include "core/validate.h"

/* ------------------------------------------------------------ settings */

/* The tenant's tax settings: one row per tenant (as usage_settings), the
 * tenant the key; absent: rounding per line. */
typedef struct {
	const char *tenant_id;
	int rounding;                    /* billing_tax_rounding */
	int64_t updated_at;
} settings_record;

static const billing_field settings_fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(settings_record, tenant_id),
	  BILLING_FIELD_ID | BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "rounding", BILLING_FIELD_INT, offsetof(settings_record, rounding), 0,
	  "taxRounding", BILLING_JSON_INTEGER, 0, NULL, 0, NULL },
	{ "updated_at", BILLING_FIELD_INT64, offsetof(settings_record, updated_at), 0,
	  "updatedAt", BILLING_JSON_TIME, 0, NULL, 0, NULL },
};

static const billing_resource settings_res = {
	.name = "tax_settings", .plural = "tax_settings", .table = "tax_settings",
	.record_size = sizeof(settings_record), .fields = settings_fields,
	.field_count = sizeof(settings_fields) / sizeof(settings_fields[0])
};

static int rounding_check(const void *rec)
{
	int rounding = ((const settings_record *)rec)->rounding;
	if (rounding != BILLING_TAX_ROUNDING_LINE && rounding != BILLING_TAX_ROUNDING_INVOICE)
		return billing__error_field(BILLING_EINVALID, "invalid", "taxRounding",
			"must be line or invoice");
	return BILLING_OK;
}

static const settings_record settings_default = { NULL, BILLING_TAX_ROUNDING_LINE, 0 };

/* The tenant-settings helper's descriptor (core/settings.h). */
static const billing__settings tax_settings = {
	&settings_res, offsetof(settings_record, updated_at), &settings_default,
	BILLING_OP_TAX_SETTINGS_GET, BILLING_OP_TAX_SETTINGS_SET, rounding_check
};

static int rounding_read(int *rounding, billing_ctx *ctx, billing_txn *tx, const char *tenant_id)
{
	settings_record r;
	int rc = billing__settings_read(&r, &tax_settings, ctx, tx, tenant_id);
	*rounding = r.rounding;
	return rc;
}

int billing_tax_settings_set(billing_ctx *ctx, const billing_principal *who,
	billing_tax_rounding rounding)
{
	settings_record r = settings_default;
	r.rounding = (int)rounding;
	return billing__settings_put(&r, &tax_settings, ctx, who);
}

int billing_tax_settings_get(billing_tax_rounding *rounding, billing_ctx *ctx,
	const billing_principal *who)
{
	settings_record r;
	int rc = billing__settings_get(&r, &tax_settings, ctx, who, rounding, "rounding");
	if (rc == BILLING_OK)
		*rounding = (billing_tax_rounding)r.rounding;
	return rc;
}

/* ------------------------------------------------------------ the pass */

/* Distinct tax rates on one invoice. */
#define INVOICE_RATES_MAX 64

struct table {
	billing__tax_rate_terms terms[INVOICE_RATES_MAX];
	char ids[INVOICE_RATES_MAX][BILLING_ID_MAX];
	size_t n;
};

void billing__invoice_taxed_free(billing__invoice_taxed *t)
{
	size_t i;
	if (!t)
		return;
	for (i = 0; t->line_tax && i < t->n; i++)
		billing__free(t->line_tax[i]);
	billing__free(t->line_tax);
	billing__free(t->total_tax_amounts);
	memset(t, 0, sizeof(*t));
}

/* True when text is NULL or names no rate ("[]"). */
static bool none(const char *text)
{
	const char *p = text;
	if (!p)
		return true;
	while (*p == ' ' || *p == '[' || *p == ']' || *p == '\n' || *p == '\t')
		p++;
	return *p == '\0';
}

/* The index of id in the table, read into it when new. */
static int table_index(size_t *out, struct table *t, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id)
{
	int64_t pct;
	int inclusive, active, rc;
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->ids[i], id) == 0) {
			*out = i;
			return BILLING_OK;
		}
	}
	if (t->n == INVOICE_RATES_MAX)
		return billing__error_field(BILLING_EINVALID, "invalid", "taxRates",
			"an invoice's lines name more than %d tax rates", INVOICE_RATES_MAX);
	if ((rc = billing__tax_rate_terms_get(&pct, &inclusive, &active, ctx, tx, tenant_id,
		id)) < 0)
		return rc == BILLING_ENOTFOUND ? billing__error_field(BILLING_EINVALID,
			"resource_missing", "taxRates", "no tax rate %s", id) : rc;
	snprintf(t->ids[t->n], sizeof(t->ids[0]), "%s", id);
	t->terms[t->n].id = t->ids[t->n];
	t->terms[t->n].percentage = pct;
	t->terms[t->n].inclusive = inclusive;
	*out = t->n++;
	return BILLING_OK;
}

/* The rates a JSON array of ids names, into line l (indexes of t). */
static int line_rates(billing__tax_line *l, struct table *t, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *text)
{
	cJSON *arr = billing__jx_parse(text, strlen(text), NULL), *e;
	int rc = BILLING_OK;

	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return billing__error_set(BILLING_ERROR, NULL, "stored tax rates are not an array");
	}
	cJSON_ArrayForEach(e, arr) {
		size_t k;
		if (!cJSON_IsString(e) || l->rate_count == BILLING__TAX_LINE_RATES_MAX) {
			rc = billing__error_field(BILLING_EINVALID, "invalid", "taxRates",
				"a line has at most %d tax rates", BILLING__TAX_LINE_RATES_MAX);
			break;
		}
		if ((rc = table_index(&k, t, ctx, tx, tenant_id, e->valuestring)) < 0)
			break;
		l->rates[l->rate_count++] = k;
	}
	cJSON_Delete(arr);
	return rc;
}

struct scope_rows {
	int tax_exempt;
	int rounding;
	char sub_rates[BILLING__TAX_RATES_TEXT];
	char plan_rates[BILLING__TAX_RATES_TEXT];
};

static int customer_row(void *payload, const void *record)
{
	((struct scope_rows *)payload)->tax_exempt =
		((const billing_customer_record *)record)->tax_exempt;
	return BILLING_OK;
}

/* The customers' taxExempt alone, for the scan of those not "none". */
struct exempt_row {
	const char *tenant_id;
	const char *id;
	int tax_exempt;
};

static const billing_field exempt_fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(struct exempt_row, tenant_id),
	  BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "id", BILLING_FIELD_TEXT, offsetof(struct exempt_row, id), BILLING_FIELD_ID, "id",
	  BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "tax_exempt", BILLING_FIELD_INT, offsetof(struct exempt_row, tax_exempt),
	  BILLING_FIELD_RANGE, "taxExempt", BILLING_JSON_INTEGER, 0, NULL, 0, NULL },
};

static const billing_resource exempt_res = {
	.name = "customer_tax_exempt", .plural = "customer_tax_exempt", .table = "customers",
	.prefix = "cus", .record_size = sizeof(struct exempt_row), .fields = exempt_fields,
	.field_count = sizeof(exempt_fields) / sizeof(exempt_fields[0]),
};

struct exempt_scan {
	int (*cb)(void *payload, const char *customer_id);
	void *payload;
};

static int exempt_scan_row(void *payload, const void *record)
{
	struct exempt_scan *e = payload;
	return e->cb(e->payload, ((const struct exempt_row *)record)->id);
}

int billing__customers_exempt_scan(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	unsigned int limit, int (*cb)(void *payload, const char *customer_id), void *payload,
	int64_t *total)
{
	/* taxExempt other than "none" (0) */
	billing_filter f = { &exempt_fields[2], BILLING_FILTER_GT, NULL, 0, NULL };
	struct exempt_scan e = { cb, payload };
	billing_list_query q;

	memset(&q, 0, sizeof(q));
	q.filters = &f;
	q.filter_count = 1;
	q.limit = limit;
	q.total = total;
	return billing__list_records(ctx->st, tx, &exempt_res, tenant_id, &q, exempt_scan_row, &e);
}

static void copy_rates(char *out, const char *text)
{
	snprintf(out, BILLING__TAX_RATES_TEXT, "%s", text && !none(text) ? text : "");
}

static int subscription_row(void *payload, const void *record)
{
	copy_rates(((struct scope_rows *)payload)->sub_rates,
		((const billing_subscription_record *)record)->default_tax_rates_json);
	return BILLING_OK;
}

static int plan_row(void *payload, const void *record)
{
	copy_rates(((struct scope_rows *)payload)->plan_rates,
		((const billing_plan_record *)record)->default_tax_rates_json);
	return BILLING_OK;
}

static cJSON *amount_entry(const char *id, int64_t amount, int inclusive, int64_t taxable)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (!(id ? cJSON_AddStringToObject(o, "taxRateId", id) :
		cJSON_AddNullToObject(o, "taxRateId")) ||
	    !cJSON_AddItemToObject(o, "amount", billing__jx_int_new(amount)) ||
	    !cJSON_AddBoolToObject(o, "inclusive", inclusive) ||
	    !cJSON_AddItemToObject(o, "taxableAmount", billing__jx_int_new(taxable))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* arr printed into *out (owned); arr is deleted. */
static int print_owned(char **out, cJSON *arr)
{
	char *text = arr ? billing__jx_print(arr) : NULL;
	cJSON_Delete(arr);
	if (!text)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	*out = billing__strdup(text);
	cJSON_free(text);
	return *out ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

static int overflow(void)
{
	return billing__error_set(BILLING_EOVERFLOW, "overflow",
		"the invoice's sums do not fit an amount");
}

int billing__invoice_tax(billing__invoice_taxed *out, billing_ctx *ctx, billing_txn *tx,
	const billing__invoice_for *f, billing_invoice_line *lines, size_t n)
{
	struct table *rates = NULL, *legacy = NULL;
	billing__tax_line *a = NULL, *b = NULL;
	billing__tax_line_result *ra = NULL, *rb = NULL;
	billing__tax_total ta[INVOICE_RATES_MAX], tb[INVOICE_RATES_MAX];
	billing__tax_sums sa, sb;
	struct scope_rows *rows = NULL;
	cJSON *totals = NULL;
	size_t i, j;
	bool not_exempt = false;
	int rc = BILLING_OK;

	memset(out, 0, sizeof(*out));
	out->n = n;
	rates = billing__calloc(1, sizeof(*rates));
	legacy = billing__calloc(1, sizeof(*legacy));
	rows = billing__calloc(1, sizeof(*rows));
	a = billing__calloc(n ? n : 1, sizeof(*a));
	b = billing__calloc(n ? n : 1, sizeof(*b));
	ra = billing__calloc(n ? n : 1, sizeof(*ra));
	rb = billing__calloc(n ? n : 1, sizeof(*rb));
	out->line_tax = billing__calloc(n ? n : 1, sizeof(*out->line_tax));
	if (!rates || !legacy || !rows || !a || !b || !ra || !rb || !out->line_tax) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	/* The customer's taxExempt: in a batch of the billing run, known
	 * "none" without a read when the tenant's exempt customers, read once,
	 * do not include it. The subscription's defaultTaxRates: from the
	 * record the caller holds, else read. */
	if ((rc = rounding_read(&rows->rounding, ctx, tx, f->tenant_id)) < 0 ||
	    (rc = billing__batch_not_exempt(ctx, tx, f->tenant_id, f->customer_id,
		&not_exempt)) < 0)
		goto done;
	if (!not_exempt && (rc = billing__read(ctx->st, tx, &billing__res_customer,
		f->tenant_id, f->customer_id, BILLING_LOCK_NONE, customer_row, rows)) < 0)
		goto done;
	if (f->subscription)
		rc = subscription_row(rows, f->subscription);
	else if (f->subscription_id)
		rc = billing__read(ctx->st, tx, &billing__res_subscription, f->tenant_id,
			f->subscription_id, BILLING_LOCK_NONE, subscription_row, rows);
	if (rc < 0)
		goto done;
	out->customer_tax_exempt = rows->tax_exempt;

	/* Each line's rates: its own, the draft's, the subscription's, its
	 * plan's; else its product's taxRate. */
	for (i = 0; i < n && rows->tax_exempt == 0; i++) {
		const billing_invoice_line *l = &lines[i];
		const char *text = NULL;

		/* Tax is on the amount after the line's discount (the discount
		 * pass, invoice_discount.c, ran first). */
		a[i].amount = b[i].amount = l->amount - l->discount_amount;
		if (!none(l->tax_rates))
			text = l->tax_rates;
		else if (!none(f->default_tax_rates))
			text = f->default_tax_rates;
		else if (rows->sub_rates[0])
			text = rows->sub_rates;
		else if (l->plan_id) {
			rows->plan_rates[0] = '\0';
			rc = billing__read(ctx->st, tx, &billing__res_plan, f->tenant_id,
				l->plan_id, BILLING_LOCK_NONE, plan_row, rows);
			if (rc == BILLING_ENOTFOUND)
				rc = BILLING_OK;        /* a line of a plan since deleted */
			if (rc < 0)
				goto done;
			if (rows->plan_rates[0])
				text = rows->plan_rates;
		}
		if (text) {
			if ((rc = line_rates(&a[i], rates, ctx, tx, f->tenant_id, text)) < 0)
				goto done;
			continue;
		}
		if (l->tax_rate_bp > 0) {
			char id[16];
			size_t k;
			for (k = 0; k < legacy->n; k++)
				if (legacy->terms[k].percentage == (int64_t)l->tax_rate_bp * 100)
					break;
			if (k == legacy->n) {
				snprintf(id, sizeof(id), "bp%d", (int)l->tax_rate_bp);
				snprintf(legacy->ids[k], sizeof(legacy->ids[0]), "%s", id);
				legacy->terms[k].id = NULL;
				legacy->terms[k].percentage = (int64_t)l->tax_rate_bp * 100;
				legacy->terms[k].inclusive = 0;
				legacy->n++;
			}
			b[i].rates[0] = k;
			b[i].rate_count = 1;
		}
	}
	if (rows->tax_exempt == 0) {
		if ((rc = billing__tax_compute(ra, ta, &sa, a, n, rates->terms, rates->n,
			rows->rounding == 1 ? BILLING__TAX_ROUND_INVOICE : BILLING__TAX_ROUND_LINE)) < 0 ||
		    (rc = billing__tax_compute(rb, tb, &sb, b, n, legacy->terms, legacy->n,
			BILLING__TAX_ROUND_LINE)) < 0)
			goto done;
	}

	out->subtotal = out->discount = out->tax = 0;
	for (i = 0; i < n; i++) {
		billing_invoice_line *l = &lines[i];
		int64_t gross;
		l->tax_amounts = NULL;
		if (rows->tax_exempt != 0) {
			l->taxable_amount = l->amount - l->discount_amount;
			l->tax_amount = 0;
		} else if (a[i].rate_count) {
			cJSON *arr = cJSON_CreateArray();
			l->taxable_amount = ra[i].taxable;
			l->tax_amount = ra[i].tax;
			l->tax_rate_bp = 0;     /* the rates replace the product's */
			for (j = 0; arr && j < a[i].rate_count; j++) {
				const billing__tax_rate_terms *t = &rates->terms[a[i].rates[j]];
				cJSON *e = amount_entry(t->id, ra[i].amounts[j], t->inclusive,
					ra[i].taxable);
				if (!e || !cJSON_AddItemToArray(arr, e)) {
					cJSON_Delete(e);
					cJSON_Delete(arr);
					arr = NULL;
				}
			}
			if ((rc = print_owned(&out->line_tax[i], arr)) < 0)
				goto done;
			l->tax_amounts = out->line_tax[i];
		} else {
			l->taxable_amount = l->amount - l->discount_amount;
			l->tax_amount = rb[i].tax;
		}
		/* The subtotal is before discounts: the net plus the discount (the
		 * amount itself when no inclusive rate holds tax). */
		if (__builtin_add_overflow(l->taxable_amount, l->discount_amount, &gross) ||
		    __builtin_add_overflow(out->subtotal, gross, &out->subtotal) ||
		    __builtin_add_overflow(out->discount, l->discount_amount, &out->discount) ||
		    __builtin_add_overflow(out->tax, l->tax_amount, &out->tax)) {
			rc = overflow();
			goto done;
		}
	}
	if (__builtin_sub_overflow(out->subtotal, out->discount, &out->total) ||
	    __builtin_add_overflow(out->total, out->tax, &out->total)) {
		rc = billing__error_set(BILLING_EOVERFLOW, "overflow", "the invoice total overflows");
		goto done;
	}

	/* The breakdown: the rates in the order the lines named them, then the
	 * products' rates (taxRateId null). */
	if (rows->tax_exempt == 0 && (rates->n || legacy->n)) {
		if ((totals = cJSON_CreateArray()) == NULL) {
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			goto done;
		}
		for (j = 0; j < rates->n + legacy->n; j++) {
			bool mine = j < rates->n;
			const billing__tax_total *t = mine ? &ta[j] : &tb[j - rates->n];
			const billing__tax_rate_terms *r = mine ? &rates->terms[j] :
				&legacy->terms[j - rates->n];
			cJSON *e;
			if (t->line_count == 0)
				continue;
			e = amount_entry(mine ? r->id : NULL, t->amount, r->inclusive, t->taxable);
			if (!e || !cJSON_AddItemToArray(totals, e)) {
				cJSON_Delete(e);
				cJSON_Delete(totals);
				rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
				goto done;
			}
		}
		rc = print_owned(&out->total_tax_amounts, totals);
	}
done:
	billing__free(rates);
	billing__free(legacy);
	billing__free(rows);
	billing__free(a);
	billing__free(b);
	billing__free(ra);
	billing__free(rb);
	if (rc < 0)
		billing__invoice_taxed_free(out);
	return rc;
}

/* ------------------------------------------------------------ credit notes */

/* The rates of a stored breakdown (an invoice line's tax_amounts), in its
 * order, into l (indexes of t). */
static int stored_rates(billing__tax_line *l, struct table *t, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *text)
{
	cJSON *arr = billing__jx_parse(text, strlen(text), NULL), *e;
	int rc = BILLING_OK;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > BILLING__TAX_LINE_RATES_MAX) {
		cJSON_Delete(arr);
		return billing__error_set(BILLING_ERROR, "corrupt",
			"an invoice line's tax amounts are not the library's");
	}
	cJSON_ArrayForEach(e, arr) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "taxRateId");
		size_t k;
		if (!cJSON_IsString(id)) {
			rc = billing__error_set(BILLING_ERROR, "corrupt",
				"an invoice line's tax amounts name no rate");
			break;
		}
		if ((rc = table_index(&k, t, ctx, tx, tenant_id, id->valuestring)) < 0)
			break;
		l->rates[l->rate_count++] = k;
	}
	cJSON_Delete(arr);
	return rc;
}

int billing__credit_note_tax(billing__tax_line_result *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const billing__credit_tax_line *lines, size_t n)
{
	struct table *rates = billing__calloc(1, sizeof(*rates));
	struct table *legacy = billing__calloc(1, sizeof(*legacy));
	billing__tax_line *a = billing__calloc(n ? n : 1, sizeof(*a));
	billing__tax_line *b = billing__calloc(n ? n : 1, sizeof(*b));
	billing__tax_line_result *rb = billing__calloc(n ? n : 1, sizeof(*rb));
	billing__tax_total ta[INVOICE_RATES_MAX], tb[INVOICE_RATES_MAX];
	billing__tax_sums sa, sb;
	int rounding = 0, rc = BILLING_OK;
	size_t i, k;

	if (!rates || !legacy || !a || !b || !rb) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	if ((rc = rounding_read(&rounding, ctx, tx, tenant_id)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		a[i].amount = b[i].amount = lines[i].amount;
		if (lines[i].tax_amounts) {
			if ((rc = stored_rates(&a[i], rates, ctx, tx, tenant_id,
				lines[i].tax_amounts)) < 0)
				goto done;
			continue;
		}
		if (lines[i].tax_rate_bp <= 0)
			continue;
		for (k = 0; k < legacy->n; k++)
			if (legacy->terms[k].percentage == (int64_t)lines[i].tax_rate_bp * 100)
				break;
		if (k == legacy->n) {
			if (k == INVOICE_RATES_MAX) {
				rc = billing__error_set(BILLING_ERROR, NULL, "too many product tax rates");
				goto done;
			}
			legacy->terms[k].percentage = (int64_t)lines[i].tax_rate_bp * 100;
			legacy->n++;
		}
		b[i].rates[0] = k;
		b[i].rate_count = 1;
	}
	/* As billing__invoice_tax: the rates under the tenant's rule, the
	 * products' taxRate per line. */
	if ((rc = billing__tax_compute(out, ta, &sa, a, n, rates->terms, rates->n,
		rounding == 1 ? BILLING__TAX_ROUND_INVOICE : BILLING__TAX_ROUND_LINE)) < 0 ||
	    (rc = billing__tax_compute(rb, tb, &sb, b, n, legacy->terms, legacy->n,
		BILLING__TAX_ROUND_LINE)) < 0)
		goto done;
	for (i = 0; i < n; i++)
		if (b[i].rate_count)
			out[i] = rb[i];
done:
	billing__free(rates);
	billing__free(legacy);
	billing__free(a);
	billing__free(b);
	billing__free(rb);
	return rc;
}

/* ------------------------------------------------------------ input */

int billing__tax_rates_check(char out[BILLING__TAX_RATES_TEXT], int *out_null,
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *text,
	const char *field)
{
	cJSON *arr = billing__jx_parse(text, strlen(text), NULL), *e, *f;
	char *printed = NULL;
	int rc = BILLING_OK, inclusive_count = 0;

	*out_null = 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > BILLING__DEFAULT_TAX_RATES_MAX) {
		cJSON_Delete(arr);
		return billing__error_field(BILLING_EINVALID, "invalid", field,
			"must be an array of at most %d tax rate ids", BILLING__DEFAULT_TAX_RATES_MAX);
	}
	cJSON_ArrayForEach(e, arr) {
		int64_t pct;
		int inclusive, active;
		if (!cJSON_IsString(e)) {
			rc = billing__error_field(BILLING_EINVALID, "invalid", field,
				"must be an array of tax rate ids (txr_...)");
			break;
		}
		for (f = arr->child; f != e; f = f->next) {
			if (strcmp(f->valuestring, e->valuestring) == 0) {
				rc = billing__error_field(BILLING_EINVALID, "invalid", field,
					"names tax rate %s twice", e->valuestring);
				break;
			}
		}
		if (rc < 0)
			break;
		rc = billing__tax_rate_terms_get(&pct, &inclusive, &active, ctx, tx, tenant_id,
			e->valuestring);
		if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && !active)) {
			rc = billing__error_field(BILLING_EINVALID, "resource_missing", field,
				"no active tax rate %s", e->valuestring);
			break;
		}
		if (rc < 0)
			break;
		if (inclusive && ++inclusive_count > 1) {
			rc = billing__error_field(BILLING_EINVALID, "invalid", field,
				"at most one inclusive tax rate");
			break;
		}
	}
	if (rc == BILLING_OK && cJSON_GetArraySize(arr) == 0) {
		*out_null = 1;
		out[0] = '\0';
	} else if (rc == BILLING_OK) {
		if ((printed = billing__jx_print(arr)) == NULL)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		else if ((size_t)snprintf(out, BILLING__TAX_RATES_TEXT, "%s", printed) >=
			BILLING__TAX_RATES_TEXT)
			rc = billing__error_field(BILLING_EINVALID, "invalid", field,
				"the tax rate ids are too long");
	}
	cJSON_free(printed);
	cJSON_Delete(arr);
	return rc;
}

int billing__tax_rate_ids_json(char out[BILLING__TAX_RATES_TEXT], const char *const *ids,
	size_t count, const char *field)
{
	size_t i, used = 1;

	if (count > BILLING__DEFAULT_TAX_RATES_MAX || (count && !ids))
		return billing__error_field(BILLING_EINVALID, "invalid", field,
			"at most %d tax rate ids", BILLING__DEFAULT_TAX_RATES_MAX);
	out[0] = '[';
	for (i = 0; i < count; i++) {
		const char *id = ids[i];
		int n;
		if (!id || !billing__id_arg_ok(id, "txr"))
			return billing__error_field(BILLING_EINVALID, "resource_missing", field,
				"no active tax rate %s", id ? id : "(null)");
		n = snprintf(out + used, BILLING__TAX_RATES_TEXT - used, "%s\"%s\"",
			i ? "," : "", id);
		if (n < 0 || (size_t)n >= BILLING__TAX_RATES_TEXT - used)
			return billing__error_field(BILLING_EINVALID, "invalid", field,
				"the tax rate ids are too long");
		used += (size_t)n;
	}
	if (used + 2 > BILLING__TAX_RATES_TEXT)
		return billing__error_field(BILLING_EINVALID, "invalid", field,
			"the tax rate ids are too long");
	out[used++] = ']';
	out[used] = '\0';
	return BILLING_OK;
}
