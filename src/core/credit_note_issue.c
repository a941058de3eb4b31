/*
 * Writing credit notes (billing/credit_note.h, issue #20 item 3; the
 * object, its reads and billing_check's part are in credit_note.c):
 * create, void and preview are hand-written, since a note moves
 * its invoice, the customer's balance and, for a refund, asks the payment
 * provider once its transaction has committed (as billing_payment_refund).
 *
 * What a note may credit (one place: build()). Lines name the invoice's
 * lines by the id the invoice's JSON shows ("il_<invoice id's body>_<n>",
 * n from 1 in the invoice's order; a finalized invoice's lines never
 * change); a line is credited by an amount or a quantity (times its unit
 * amount), before tax, up to what earlier issued notes left of it; its tax
 * is billing__line_tax of the amount (the invoice's one rounding rule),
 * capped by the tax left on the line, and the credit that completes a line
 * takes exactly the tax left. A lump amount is tax included; its tax is the
 * invoice's in proportion (amount x tax / total, half away from zero),
 * capped likewise. The note's total never exceeds the invoice's total less
 * its earlier notes (the invoice row's pre- and post-payment sums, read
 * under the invoice's lock, so notes made at once cannot both take the
 * same rest).
 *
 * Lock order (txn.h): the invoice's captured payment when the note refunds
 * (the chain payment -> invoice), the invoice (its due work first), the
 * tenant's credit-note counter, then the customer's balance.
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
#include "core/invoice_tax.h"
#include "core/json_exact.h"
#include "core/metadata.h"
#include "core/payment_internal.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/subscription_internal.h"
#include "core/txn.h"

#define PREFIX_MAX 128

static int prefix_row(void *payload, const void *record)
{
	const char *p = ((const billing_tenant_record *)record)->credit_note_prefix;
	snprintf(payload, PREFIX_MAX, "%s", p ? p : "CN-");
	return BILLING_OK;
}

/* ------------------------------------------------------------ invoice lines */

/* A line whose amount is its unit amount times its quantity: the only kind
 * a quantity may credit. */
static bool per_unit(const billing_invoice_line *l)
{
	int64_t v;
	return !__builtin_mul_overflow(l->unit_amount, (int64_t)l->quantity, &v) &&
		v == l->amount;
}

int billing__invoice_line_id(char *out, size_t size, const char *invoice_id, size_t i)
{
	const char *body = strncmp(invoice_id, "in_", 3) == 0 ? invoice_id + 3 : invoice_id;
	if ((size_t)snprintf(out, size, "il_%s_%zu", body, i + 1) >= size)
		return billing__error_set(BILLING_ERROR, NULL, "invoice line id too long");
	return BILLING_OK;
}

/* The index of the invoice's line that id names, or -1. */
static long line_index(const billing_invoice *inv, const char *id)
{
	char want[BILLING_ID_MAX + 24];
	size_t i;
	if (!id)
		return -1;
	for (i = 0; i < inv->line_count; i++)
		if (billing__invoice_line_id(want, sizeof(want), inv->id, i) == BILLING_OK &&
		    strcmp(want, id) == 0)
			return (long)i;
	return -1;
}

/* ------------------------------------------------------------ earlier notes */

/* An invoice line's tax per rate, as its tax_amounts shows it, or its
 * product's taxRate as one entry without an id. */
struct line_rates {
	size_t n;
	char id[BILLING__TAX_LINE_RATES_MAX][BILLING_ID_MAX];   /* "": a product's taxRate */
	int inclusive[BILLING__TAX_LINE_RATES_MAX];
	int64_t amount[BILLING__TAX_LINE_RATES_MAX];
};

static int corrupt(void)
{
	return billing__error_set(BILLING_ERROR, "corrupt",
		"an invoice line's tax amounts are not the library's");
}

static int line_rates_of(struct line_rates *r, const billing_invoice_line *l)
{
	cJSON *arr, *t;

	memset(r, 0, sizeof(*r));
	if (!l->tax_amounts) {
		/* A product's taxRate; an exempt customer's line keeps its rate
		 * but was taxed nothing. */
		if (l->tax_rate_bp > 0 && l->tax_amount != 0) {
			r->n = 1;
			r->amount[0] = l->tax_amount;
		}
		return BILLING_OK;
	}
	if ((arr = billing__jx_parse(l->tax_amounts, strlen(l->tax_amounts), NULL)) == NULL ||
	    !cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > BILLING__TAX_LINE_RATES_MAX) {
		cJSON_Delete(arr);
		return corrupt();
	}
	cJSON_ArrayForEach(t, arr) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "taxRateId");
		if (!cJSON_IsString(id) || billing__jx_int(cJSON_GetObjectItemCaseSensitive(t,
			"amount"), &r->amount[r->n]) != BILLING__JX_INT_OK) {
			cJSON_Delete(arr);
			return corrupt();
		}
		snprintf(r->id[r->n], sizeof(r->id[0]), "%s", id->valuestring);
		r->inclusive[r->n++] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "inclusive"));
	}
	cJSON_Delete(arr);
	return BILLING_OK;
}

/* What the invoice's issued notes credited already, per line. */
struct earlier {
	const billing_invoice *inv;
	struct line_rates *rates;    /* per line: the invoice's */
	int64_t *amount;             /* per line */
	int64_t *discount;           /* per line */
	int64_t *tax;                /* per line */
	int64_t (*rate_tax)[BILLING__TAX_LINE_RATES_MAX];   /* per line and rate */
	int64_t total_tax;           /* of every issued note, lump ones too */
	int failed;
};

/* An earlier note's tax on line k: per rate from its taxAmounts; a note
 * written before they existed gave only taxAmount, taken from the rates
 * in order. */
static void earlier_rates(struct earlier *e, long k, const cJSON *amounts, int64_t tax)
{
	const struct line_rates *r = &e->rates[k];
	const cJSON *t;
	size_t j;

	if (!cJSON_IsArray(amounts)) {
		for (j = 0; j < r->n && tax > 0; j++) {
			int64_t left = r->amount[j] - e->rate_tax[k][j];
			int64_t take = tax < left ? tax : left;
			if (take > 0) {
				e->rate_tax[k][j] += take;
				tax -= take;
			}
		}
		return;
	}
	cJSON_ArrayForEach(t, amounts) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "taxRateId");
		int64_t a = 0;
		(void)billing__jx_int(cJSON_GetObjectItemCaseSensitive(t, "amount"), &a);
		for (j = 0; j < r->n; j++)
			if (strcmp(r->id[j], cJSON_IsString(id) ? id->valuestring : "") == 0) {
				e->rate_tax[k][j] += a;
				break;
			}
	}
}

static int earlier_row(void *payload, const void *record)
{
	const struct billing_credit_note *n = record;
	struct earlier *e = payload;
	cJSON *obj, *l, *d;
	long k;

	if (n->status != BILLING_CREDIT_NOTE_ISSUED)
		return BILLING_OK;
	e->total_tax += n->tax;
	if (!n->lines_json ||
	    (obj = billing__jx_parse(n->lines_json, strlen(n->lines_json), NULL)) == NULL)
		return billing__error_set(BILLING_ERROR, "corrupt", "a credit note's lines are not JSON");
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(obj, "data")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(l, "invoiceLineId");
		int64_t a = 0, t = 0;
		if ((k = line_index(e->inv, cJSON_IsString(id) ? id->valuestring : NULL)) < 0)
			continue;
		(void)billing__jx_int(cJSON_GetObjectItemCaseSensitive(l, "amount"), &a);
		(void)billing__jx_int(cJSON_GetObjectItemCaseSensitive(l, "taxAmount"), &t);
		e->amount[k] += a;
		e->tax[k] += t;
		cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(l, "discountAmounts")) {
			int64_t v = 0;
			(void)billing__jx_int(cJSON_GetObjectItemCaseSensitive(d, "amount"), &v);
			e->discount[k] += v;
		}
		earlier_rates(e, k, cJSON_GetObjectItemCaseSensitive(l, "taxAmounts"), t);
	}
	cJSON_Delete(obj);
	return BILLING_OK;
}

static int earlier_load(struct earlier *e, billing_ctx *ctx, billing_txn *tx,
	const billing_invoice *inv)
{
	billing_filter f = billing__credit_note_by(INVOICE, inv->id);
	size_t n = inv->line_count ? inv->line_count : 1, i;
	int rc;

	memset(e, 0, sizeof(*e));
	e->inv = inv;
	if ((e->amount = billing__calloc(n, sizeof(int64_t))) == NULL ||
	    (e->discount = billing__calloc(n, sizeof(int64_t))) == NULL ||
	    (e->tax = billing__calloc(n, sizeof(int64_t))) == NULL ||
	    (e->rate_tax = billing__calloc(n, sizeof(*e->rate_tax))) == NULL ||
	    (e->rates = billing__calloc(n, sizeof(*e->rates))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (i = 0; i < inv->line_count; i++)
		if ((rc = line_rates_of(&e->rates[i], &inv->lines[i])) < 0)
			return rc;
	return billing__list_all(ctx->st, tx, &billing__res_credit_note, inv->tenant_id, &f, 1,
		earlier_row, e);
}

static void earlier_free(struct earlier *e)
{
	billing__free(e->amount);
	billing__free(e->discount);
	billing__free(e->tax);
	billing__free(e->rate_tax);
	billing__free(e->rates);
}

/* ------------------------------------------------------------ the captured payment */

struct captured {
	char id[BILLING_ID_MAX];
	int found;
};

static int captured_row(void *payload, const void *record)
{
	const billing_payment_record *r = record;
	struct captured *c = payload;
	if (r->status == BILLING_PAYMENT_SUCCEEDED || r->status == BILLING_PAYMENT_PARTIALLY_REFUNDED ||
	    r->status == BILLING_PAYMENT_REFUNDED) {
		snprintf(c->id, sizeof(c->id), "%s", r->id);
		c->found = 1;
	}
	return BILLING_OK;
}

/* The invoice's captured payment (an invoice is paid once), if any. */
static int captured_find(struct captured *c, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *invoice_id)
{
	billing_filter f;
	memset(c, 0, sizeof(*c));
	memset(&f, 0, sizeof(f));
	f.field = billing_resource_field(&billing__res_payment, "invoice_id");
	f.op = BILLING_FILTER_EQ;
	f.text = invoice_id;
	return billing__list_all(ctx->st, tx, &billing__res_payment, tenant_id, &f, 1,
		captured_row, c);
}

/* ------------------------------------------------------------ building a note */

bool billing__credit_note_unpaid(billing_invoice_status s)
{
	return s == BILLING_INVOICE_PENDING || s == BILLING_INVOICE_FAILED ||
		s == BILLING_INVOICE_UNCOLLECTIBLE;
}

/* The note's sums per tax rate and per discount (totalTaxAmounts,
 * totalDiscountAmounts), in the order its lines name them. */
#define NOTE_LINES_MAX BILLING_CREDIT_NOTE_LINES_MAX

struct tax_sum {
	char key[BILLING_ID_MAX + 16];   /* the rate's id, or "bp<rate>" for a product's */
	const char *id;                  /* NULL: a product's taxRate */
	int inclusive;
	int64_t amount, taxable;
};

struct sums {
	struct tax_sum tax[NOTE_LINES_MAX * BILLING__TAX_LINE_RATES_MAX];
	size_t tax_n;
	struct { const char *id; int64_t amount; } discount[NOTE_LINES_MAX];
	size_t discount_n;
};

static void sum_tax(struct sums *s, const char *id, int32_t bp, int inclusive, int64_t amount,
	int64_t taxable)
{
	char key[sizeof(s->tax[0].key)];
	size_t i;

	if (*id)
		snprintf(key, sizeof(key), "%s", id);
	else
		snprintf(key, sizeof(key), "bp%d", (int)bp);
	for (i = 0; i < s->tax_n && strcmp(s->tax[i].key, key) != 0; i++)
		;
	if (i == s->tax_n) {
		memcpy(s->tax[i].key, key, sizeof(key));
		s->tax[i].id = *id ? id : NULL;
		s->tax[i].inclusive = inclusive;
		s->tax_n++;
	}
	s->tax[i].amount += amount;
	s->tax[i].taxable += taxable;
}

static void sum_discount(struct sums *s, const char *id, int64_t amount)
{
	size_t i;
	for (i = 0; i < s->discount_n && strcmp(s->discount[i].id, id) != 0; i++)
		;
	if (i == s->discount_n) {
		s->discount[i].id = id;
		s->discount_n++;
	}
	s->discount[i].amount += amount;
}

/* {taxRateId, amount, inclusive, taxableAmount}, as invoices show it. */
static bool add_tax_entry(cJSON *arr, const char *id, int64_t amount, int inclusive,
	int64_t taxable)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return false;
	}
	return (id ? cJSON_AddStringToObject(o, "taxRateId", id) :
		cJSON_AddNullToObject(o, "taxRateId")) &&
		cJSON_AddItemToObject(o, "amount", billing__jx_int_new(amount)) &&
		cJSON_AddBoolToObject(o, "inclusive", inclusive) &&
		cJSON_AddItemToObject(o, "taxableAmount", billing__jx_int_new(taxable));
}

/* {discountId, amount}. */
static bool add_discount_entry(cJSON *arr, const char *id, int64_t amount)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddStringToObject(o, "discountId", id) &&
		cJSON_AddItemToObject(o, "amount", billing__jx_int_new(amount));
}

/* The sums as JSON arrays into totals[0] (tax) and totals[1] (discounts). */
static int sums_json(cJSON *totals[2], const struct sums *s)
{
	size_t i;
	bool ok = (totals[0] = cJSON_CreateArray()) != NULL &&
		(totals[1] = cJSON_CreateArray()) != NULL;
	for (i = 0; ok && i < s->tax_n; i++)
		ok = add_tax_entry(totals[0], s->tax[i].id, s->tax[i].amount, s->tax[i].inclusive,
			s->tax[i].taxable);
	for (i = 0; ok && i < s->discount_n; i++)
		ok = add_discount_entry(totals[1], s->discount[i].id, s->discount[i].amount);
	return ok ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

/* A lump amount's tax by rate: the note's tax shared among the invoice's
 * rates in proportion to each rate's tax (largest remainder, so the parts
 * make the note's tax), each rate's net in proportion to the note. */
static int lump_sums(struct sums *s, const billing_invoice *inv, int64_t amount, int64_t tax)
{
	int64_t weights[NOTE_LINES_MAX * BILLING__TAX_LINE_RATES_MAX];
	int64_t parts[NOTE_LINES_MAX * BILLING__TAX_LINE_RATES_MAX];
	const char *text = inv->total_tax_amounts;
	cJSON *arr, *t;
	size_t i = 0, n;
	int64_t sum = 0;
	int rc = BILLING_OK;

	if (tax <= 0 || !text || inv->total <= 0)
		return BILLING_OK;
	if ((arr = billing__jx_parse(text, strlen(text), NULL)) == NULL)
		return billing__error_set(BILLING_ERROR, "corrupt",
			"an invoice's tax amounts are not the library's");
	cJSON_ArrayForEach(t, arr) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "taxRateId");
		int64_t a = 0, taxable = 0;
		if (i == sizeof(weights) / sizeof(weights[0]))
			break;
		(void)billing__jx_int(cJSON_GetObjectItemCaseSensitive(t, "amount"), &a);
		(void)billing__jx_int(cJSON_GetObjectItemCaseSensitive(t, "taxableAmount"), &taxable);
		weights[i] = a > 0 ? a : 0;
		sum += weights[i];
		snprintf(s->tax[i].key, sizeof(s->tax[0].key), "%s",
			cJSON_IsString(id) ? id->valuestring : "");
		s->tax[i].inclusive = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "inclusive"));
		if ((rc = billing_amount_mul_ratio(&s->tax[i].taxable, taxable, amount, inv->total,
			BILLING_ROUND_HALF_UP)) < 0)
			break;
		i++;
	}
	cJSON_Delete(arr);
	n = i;
	if (rc < 0 || n == 0 || sum <= 0)
		return rc;
	if ((rc = billing_amount_allocate(parts, weights, n, tax)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		s->tax[i].id = s->tax[i].key[0] ? s->tax[i].key : NULL;
		s->tax[i].amount = parts[i];
	}
	s->tax_n = n;
	return BILLING_OK;
}

#define LINE_FIELDS(i) { "lines[" #i "]", "lines[" #i "].invoiceLineId", \
	"lines[" #i "].amount", "lines[" #i "].quantity" }
const char *const billing__credit_note_line_fields[BILLING_CREDIT_NOTE_LINES_MAX][4] = {
	LINE_FIELDS(0), LINE_FIELDS(1), LINE_FIELDS(2), LINE_FIELDS(3), LINE_FIELDS(4),
	LINE_FIELDS(5), LINE_FIELDS(6), LINE_FIELDS(7), LINE_FIELDS(8), LINE_FIELDS(9),
	LINE_FIELDS(10), LINE_FIELDS(11), LINE_FIELDS(12), LINE_FIELDS(13), LINE_FIELDS(14),
	LINE_FIELDS(15),
};

/* A line of the note, between its checks and its tax. */
struct part {
	long k;                      /* the invoice line */
	const char *line_id;
	int32_t quantity;            /* 0: by amount */
	int64_t amount;              /* asked, before the discount */
	int64_t discount;
	bool last;                   /* completes the line */
};

/* The note p asks for against inv, checked: n's amounts, type, reason and
 * memo (*memo: trimmed, new), *lines its lines (new). Field errors go to ck; other failures are
 * returned. left: what the captured payment has left to refund (-1: no
 * captured payment). */
static int build(struct billing_credit_note *n, cJSON **lines, struct sums *sums,
	char **memo, billing__checks *ck, billing_ctx *ctx, billing_txn *tx,
	const billing_credit_note_params *p, const billing_invoice *inv,
	const struct earlier *e, int64_t left)
{
	const size_t named = BILLING_CREDIT_NOTE_LINES_MAX;
	struct part parts[NOTE_LINES_MAX];
	billing__credit_tax_line tl[NOTE_LINES_MAX];
	billing__tax_line_result res[NOTE_LINES_MAX];
	size_t np = 0;
	int64_t credited = inv->pre_credit_notes + inv->post_credit_notes, rest;
	cJSON *data;
	size_t i;
	bool *seen = NULL;
	int rc = BILLING_OK;

	*lines = cJSON_CreateObject();
	if (!*lines || !cJSON_AddStringToObject(*lines, "object", "list") ||
	    (data = cJSON_AddArrayToObject(*lines, "data")) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	n->subtotal = n->tax = 0;
	rest = inv->total - credited;

	if ((int)p->reason < 0 || (int)p->reason >= REASON_COUNT)
		billing__check_fail(ck, "reason",
			"must be duplicate, fraudulent, order_change or product_unsatisfactory");
	n->reason = (int)p->reason;
	if ((rc = billing__check_text(ck, "memo", p->memo, BILLING__TEXT_MULTILINE, 1, MEMO_MAX,
		memo)) < 0)
		return rc;
	if (p->line_count > named)
		billing__check_fail(ck, "lines", "at most %zu lines", named);
	else if (p->line_count && p->amount)
		billing__check_fail(ck, "amount", "give lines or amount, not both");
	else if (!p->line_count && p->amount <= 0)
		billing__check_fail(ck, p->amount < 0 ? "amount" : "lines",
			p->amount < 0 ? "must be > 0" : "lines or amount is required");
	else if (p->line_count && (seen = billing__calloc(inv->line_count + 1, sizeof(*seen))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);

	for (i = 0; seen && i < p->line_count; i++) {
		const billing_credit_note_line_params *lp = &p->lines[i];
		const char *const *names = billing__credit_note_line_fields[i] + 1;
		const billing_invoice_line *l;
		long k = line_index(inv, lp->invoice_line_id);
		int64_t amount = lp->amount, line_left, discount_left, discount = 0;

		if (k < 0) {
			billing__check_fail(ck, names[0], "names no line of the invoice");
			continue;
		}
		l = &inv->lines[k];
		if (seen[k]) {
			billing__check_fail(ck, names[0], "names a line given before");
			continue;
		}
		seen[k] = true;
		if (l->amount <= 0) {
			billing__check_fail(ck, names[0], "a line of %lld cannot be credited",
				(long long)l->amount);
			continue;
		}
		if ((lp->amount != 0) == (lp->quantity != 0)) {
			billing__check_fail(ck, names[1], "give amount or quantity (one of them)");
			continue;
		}
		if (lp->amount < 0) {
			billing__check_fail(ck, names[1], "must be > 0");
			continue;
		}
		if (lp->quantity < 0 || lp->quantity > l->quantity) {
			billing__check_fail(ck, names[2], "must be 1 to %d", l->quantity);
			continue;
		}
		if (lp->quantity && !per_unit(l)) {
			/* A tiered, volume or package line (unitAmount 0 or the
			 * package's), or a proration: a quantity times its unit amount
			 * is not what that many units cost. */
			rc = billing__error_field(BILLING_EINVALID, "credit_by_amount", names[2],
				"%s: the line's amount %lld is not its unit amount x quantity "
				"(a tiered, volume, package or proration line): credit it by amount",
				names[2], (long long)l->amount);
			break;
		}
		if (lp->quantity && __builtin_mul_overflow(l->unit_amount, (int64_t)lp->quantity,
			&amount)) {
			billing__check_fail(ck, names[2], "does not fit an amount");
			continue;
		}
		line_left = l->amount - e->amount[k];
		if (amount > line_left) {
			billing__check_fail(ck, names[lp->quantity ? 2 : 1],
				"%lld is more than the %lld left to credit on the line",
				(long long)amount, (long long)line_left);
			continue;
		}
		/* The line's discount in proportion (the note's amount is, as the
		 * line's, before it); the credit that completes the line takes
		 * what is left of it. */
		discount_left = l->discount_amount - e->discount[k];
		if (amount == line_left)
			discount = discount_left;
		else if (l->discount_amount > 0 &&
			 (rc = billing_amount_mul_ratio(&discount, l->discount_amount, amount, l->amount,
			BILLING_ROUND_HALF_UP)) < 0)
			break;
		if (discount > discount_left)
			discount = discount_left;
		if (discount > amount)
			discount = amount;
		if (discount < 0)
			discount = 0;
		parts[np].k = k;
		parts[np].line_id = lp->invoice_line_id;
		parts[np].quantity = lp->quantity;
		parts[np].amount = amount;
		parts[np].discount = discount;
		parts[np].last = amount == line_left;
		tl[np].amount = amount - discount;
		tl[np].tax_amounts = e->rates[k].n ? l->tax_amounts : NULL;
		tl[np].tax_rate_bp = e->rates[k].n && !l->tax_amounts ? l->tax_rate_bp : 0;
		np++;
	}
	billing__free(seen);
	if (rc < 0)
		return rc;

	/* The parts' tax as the invoice's (invoice_tax.c, tax.c), each rate
	 * capped by what earlier notes left of it on the line; the credit
	 * that completes a line takes exactly what is left. */
	if (np && !ck->count &&
	    (rc = billing__credit_note_tax(res, ctx, tx, inv->tenant_id, tl, np)) < 0)
		return rc;
	for (i = 0; i < np && !ck->count; i++) {
		const struct part *pt = &parts[i];
		const billing_invoice_line *l = &inv->lines[pt->k];
		const struct line_rates *r = &e->rates[pt->k];
		int64_t tax = 0, inclusive = 0, net, t;
		int64_t rate_tax[BILLING__TAX_LINE_RATES_MAX] = { 0 };
		bool ok;
		cJSON *o, *arr;
		size_t j;

		for (j = 0; j < r->n; j++) {
			int64_t rate_left = r->amount[j] - e->rate_tax[pt->k][j];
			t = pt->last ? rate_left : res[i].amounts[j];
			if (t > rate_left)
				t = rate_left;
			if (t < 0)
				t = 0;
			rate_tax[j] = t;
			tax += t;
			if (r->inclusive[j])
				inclusive += t;
		}
		net = pt->amount - pt->discount - inclusive;
		if (__builtin_add_overflow(n->subtotal, net, &n->subtotal) ||
		    __builtin_add_overflow(n->tax, tax, &n->tax)) {
			rc = billing__error_set(BILLING_EOVERFLOW, "overflow", "the credit overflows");
			break;
		}
		o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(data, o)) {
			cJSON_Delete(o);
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			break;
		}
		cJSON_AddStringToObject(o, "invoiceLineId", pt->line_id);
		cJSON_AddStringToObject(o, "description", l->description ? l->description : "");
		cJSON_AddItemToObject(o, "quantity", pt->quantity ?
			billing__jx_int_new(pt->quantity) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "amount", billing__jx_int_new(pt->amount));
		arr = cJSON_AddArrayToObject(o, "discountAmounts");
		ok = arr != NULL;
		if (ok && l->discount_id && pt->discount) {
			ok = add_discount_entry(arr, l->discount_id, pt->discount);
			sum_discount(sums, l->discount_id, pt->discount);
		}
		ok = ok && cJSON_AddItemToObject(o, "amountExcludingTax", billing__jx_int_new(net)) &&
			cJSON_AddItemToObject(o, "taxAmount", billing__jx_int_new(tax));
		arr = ok ? cJSON_AddArrayToObject(o, "taxAmounts") : NULL;
		ok = arr != NULL;
		for (j = 0; ok && j < r->n; j++) {
			ok = add_tax_entry(arr, r->id[j][0] ? r->id[j] : NULL, rate_tax[j],
				r->inclusive[j], net);
			sum_tax(sums, r->id[j], l->tax_rate_bp, r->inclusive[j], rate_tax[j], net);
		}
		if (!ok) {
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			break;
		}
	}
	if (rc < 0)
		return rc;

	if (!p->line_count && p->amount > 0) {
		/* A lump amount, tax included: the invoice's tax in proportion. */
		int64_t tax_left = inv->tax - e->total_tax, tax = 0;
		if (p->amount > rest) {
			billing__check_fail(ck, "amount", "%lld is more than the %lld left to credit "
				"on the invoice", (long long)p->amount, (long long)rest);
		} else if (p->amount == rest) {
			tax = tax_left;
		} else if (inv->total > 0 &&
			   (rc = billing_amount_mul_ratio(&tax, p->amount, inv->tax, inv->total,
			BILLING_ROUND_HALF_UP)) < 0) {
			return rc;
		}
		if (tax > tax_left)
			tax = tax_left;
		if (tax < 0)
			tax = 0;
		n->tax = tax;
		n->subtotal = p->amount - tax;
		if (!ck->count && (rc = lump_sums(sums, inv, p->amount, tax)) < 0)
			return rc;
	}
	n->total = n->subtotal + n->tax;
	if (ck->count)
		return BILLING_OK;
	if (n->total <= 0) {
		billing__check_fail(ck, "lines", "the credit must be > 0");
		return BILLING_OK;
	}
	if (n->total > rest) {
		billing__check_fail(ck, p->line_count ? "lines" : "amount",
			"%lld is more than the %lld left to credit on the invoice",
			(long long)n->total, (long long)rest);
		return BILLING_OK;
	}

	if (billing__credit_note_unpaid(inv->status)) {
		/* Before payment: the amount due goes down instead. */
		n->type = BILLING_CREDIT_NOTE_PRE_PAYMENT;
		n->refund_amount = n->credit_amount = n->out_of_band_amount = 0;
		if ((p->fields & BILLING_CREDIT_NOTE_REFUND_AMOUNT) && p->refund_amount)
			billing__check_fail(ck, "refundAmount", "the invoice is unpaid: a credit note "
				"lowers its amount due, nothing was paid to refund");
		if ((p->fields & BILLING_CREDIT_NOTE_CREDIT_AMOUNT) && p->credit_amount)
			billing__check_fail(ck, "creditAmount", "the invoice is unpaid: a credit note "
				"lowers its amount due");
		if ((p->fields & BILLING_CREDIT_NOTE_OUT_OF_BAND_AMOUNT) && p->out_of_band_amount)
			billing__check_fail(ck, "outOfBandAmount", "the invoice is unpaid: a credit "
				"note lowers its amount due");
		if (n->total > inv->amount_due)
			billing__check_fail(ck, p->line_count ? "lines" : "amount",
				"%lld is more than the invoice's amount due, %lld", (long long)n->total,
				(long long)inv->amount_due);
		return BILLING_OK;
	}

	n->type = BILLING_CREDIT_NOTE_POST_PAYMENT;
	if (!(p->fields & (BILLING_CREDIT_NOTE_REFUND_AMOUNT | BILLING_CREDIT_NOTE_CREDIT_AMOUNT |
	    BILLING_CREDIT_NOTE_OUT_OF_BAND_AMOUNT))) {
		n->refund_amount = n->out_of_band_amount = 0;
		n->credit_amount = n->total;
		return BILLING_OK;
	}
	n->refund_amount = (p->fields & BILLING_CREDIT_NOTE_REFUND_AMOUNT) ? p->refund_amount : 0;
	n->credit_amount = (p->fields & BILLING_CREDIT_NOTE_CREDIT_AMOUNT) ? p->credit_amount : 0;
	n->out_of_band_amount = (p->fields & BILLING_CREDIT_NOTE_OUT_OF_BAND_AMOUNT) ?
		p->out_of_band_amount : 0;
	if (n->refund_amount < 0)
		billing__check_fail(ck, "refundAmount", "must be >= 0");
	if (n->credit_amount < 0)
		billing__check_fail(ck, "creditAmount", "must be >= 0");
	if (n->out_of_band_amount < 0)
		billing__check_fail(ck, "outOfBandAmount", "must be >= 0");
	if (ck->count)
		return BILLING_OK;
	if (n->refund_amount > INT64_MAX - n->credit_amount ||
	    n->refund_amount + n->credit_amount > INT64_MAX - n->out_of_band_amount ||
	    n->refund_amount + n->credit_amount + n->out_of_band_amount != n->total) {
		const char *f = (p->fields & BILLING_CREDIT_NOTE_REFUND_AMOUNT) ? "refundAmount" :
			(p->fields & BILLING_CREDIT_NOTE_CREDIT_AMOUNT) ? "creditAmount" :
			"outOfBandAmount";
		billing__check_fail(ck, f, "refundAmount + creditAmount + outOfBandAmount must be "
			"the credit note's total, %lld", (long long)n->total);
		return BILLING_OK;
	}
	if (n->refund_amount > 0 && left < 0)
		billing__check_fail(ck, "refundAmount",
			"nothing of the invoice was captured by the payment provider");
	else if (n->refund_amount > left && left >= 0)
		billing__check_fail(ck, "refundAmount", "at most %lld of the invoice's payment is "
			"left to refund", (long long)left);
	return BILLING_OK;
}

/* ------------------------------------------------------------ calls */

static int params_ok(const billing_credit_note_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_CREDIT_NOTE_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_credit_note_params version %u", p->version);
	if (p->line_count && !p->lines)
		return billing__error_field(BILLING_EINVALID, "invalid", "lines",
			"line_count without lines");
	if (p->version >= 2 && p->metadata_count && !p->metadata)
		return billing__error_field(BILLING_EINVALID, "invalid", "metadata",
			"metadata_count without metadata");
	if (!billing__id_arg_ok(p->invoice_id, "in"))
		return billing__error_field(BILLING_EINVALID, "resource_missing", "invoiceId",
			"no such invoice in this tenant");
	return BILLING_OK;
}

/* The invoice of a note, locked in a write transaction; its absence is
 * bad input (an id in the body). */
static int invoice_of(billing_invoice **inv, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id)
{
	int rc = billing__invoice_load(inv, ctx, tx, tenant_id, id);
	if (rc == BILLING_ENOTFOUND)
		return billing__error_field(BILLING_EINVALID, "resource_missing", "invoiceId",
			"no such invoice in this tenant");
	if (rc < 0)
		return rc;
	if ((*inv)->status == BILLING_INVOICE_DRAFT || (*inv)->status == BILLING_INVOICE_VOID)
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"a credit note needs a finalized invoice; this one is %s",
			billing_invoice_status_name((*inv)->status));
	return BILLING_OK;
}

/* What the work of create and preview shares: inv loaded, the note built
 * into n (lines: its lines), *refund_from the payment to refund. */
struct work {
	billing_invoice *inv;
	struct earlier e;
	struct billing_credit_note n;
	cJSON *lines;
	char *lines_text;
	struct sums sums;
	cJSON *totals[2];            /* totalTaxAmounts, totalDiscountAmounts */
	char *totals_text[2];
	char *memo;
	struct captured cap;
	billing_payment *pay;
};

static void work_free(struct work *w)
{
	billing_invoice_free(w->inv);
	earlier_free(&w->e);
	cJSON_Delete(w->lines);
	cJSON_free(w->lines_text);
	cJSON_Delete(w->totals[0]);
	cJSON_Delete(w->totals[1]);
	cJSON_free(w->totals_text[0]);
	cJSON_free(w->totals_text[1]);
	billing__free(w->memo);
	billing_payment_free(w->pay);
}

static int work_build(struct work *w, billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const billing_credit_note_params *p)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	int64_t left = -1;
	int rc;

	memset(w, 0, sizeof(*w));
	/* The payment before the invoice (txn.h): only a refund needs it. */
	if ((p->fields & BILLING_CREDIT_NOTE_REFUND_AMOUNT) && p->refund_amount > 0) {
		if ((rc = captured_find(&w->cap, ctx, tx, tenant_id, p->invoice_id)) < 0)
			return rc;
		if (w->cap.found) {
			if ((rc = billing__payment_load(&w->pay, ctx, tx, tenant_id, w->cap.id)) < 0)
				return rc;
			left = w->pay->amount - w->pay->amount_refunded - w->pay->amount_refunding;
		}
	}
	if ((rc = invoice_of(&w->inv, ctx, tx, tenant_id, p->invoice_id)) < 0 ||
	    (rc = earlier_load(&w->e, ctx, tx, w->inv)) < 0 ||
	    (rc = build(&w->n, &w->lines, &w->sums, &w->memo, &ck, ctx, tx, p, w->inv, &w->e,
		left)) < 0 ||
	    (rc = billing__checks_finish(&ck, "credit note")) < 0 ||
	    (rc = sums_json(w->totals, &w->sums)) < 0)
		return rc;
	if ((w->lines_text = billing__jx_print(w->lines)) == NULL ||
	    (w->totals_text[0] = billing__jx_print(w->totals[0])) == NULL ||
	    (w->totals_text[1] = billing__jx_print(w->totals[1])) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	w->n.total_tax_amounts_json = w->totals_text[0];
	w->n.total_discount_amounts_json = w->totals_text[1];
	w->n.tenant_id = tenant_id;
	w->n.invoice_id = w->inv->id;
	w->n.customer_id = w->inv->customer_id;
	w->n.currency = w->inv->currency;
	w->n.status = BILLING_CREDIT_NOTE_ISSUED;
	w->n.memo = w->memo;
	w->n.lines_json = w->lines_text;
	w->n.metadata_json = "{}";
	w->n.version = 1;
	return BILLING_OK;
}

/* The invoice after the note: its sums and, before payment, its amount
 * due (paid when nothing is left). */
static int invoice_credit(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	const struct billing_credit_note *n, int64_t now)
{
	const char *event = "invoice.updated";
	int rc;

	if (n->type == BILLING_CREDIT_NOTE_POST_PAYMENT) {
		inv->post_credit_notes += n->total;
		return billing__invoice_save(ctx, tx, inv, event);
	}
	inv->pre_credit_notes += n->total;
	inv->amount_due = billing__invoice_remaining(inv);
	if (inv->amount_due == 0 &&
	    billing__invoice_transition(inv->status, BILLING_INVOICE_PAID) == BILLING_OK) {
		inv->status = BILLING_INVOICE_PAID;
		inv->paid_at = now;
		inv->next_attempt_at = 0;
		event = "invoice.paid";
		if ((rc = ctx->st->due_clear(tx, inv->tenant_id, BILLING__DUE_COLLECT, inv->id)) < 0)
			return rc;
	}
	billing_error_clear();
	if ((rc = billing__invoice_save(ctx, tx, inv, event)) < 0)
		return rc;
	/* As a payment that succeeded: a subscription past due recovers. */
	if (inv->status == BILLING_INVOICE_PAID && inv->subscription_id)
		rc = billing__subscription_payment(ctx, tx, inv->tenant_id, inv->subscription_id,
			BILLING__SUB_PAYMENT_RECOVERED, now, now);
	return rc;
}

static int create_once(billing_credit_note **out, billing__attempt *a, int *refunding,
	billing_ctx *ctx, const billing_principal *who, const billing_credit_note_params *p,
	const char *metadata, billing__idem *idem)
{
	char id[BILLING_ID_MAX], prefix[PREFIX_MAX] = "", number[PREFIX_MAX + 24];
	struct work w;
	billing_txn *tx;
	int64_t now = billing__now(ctx);
	int rc;

	*refunding = 0;
	memset(&w, 0, sizeof(w));
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, idem)) < 0 || idem->replay)
		goto end;
	if ((rc = work_build(&w, ctx, tx, who->tenant_id, p)) < 0)
		goto end;
	w.n.metadata_json = metadata;
	if (w.n.type == BILLING_CREDIT_NOTE_PRE_PAYMENT &&
	    (rc = billing__invoice_payments_settled(ctx, tx, who->tenant_id, w.inv->id)) < 0)
		goto end;
	if ((rc = billing__credit_note_counter_next(ctx, tx, who->tenant_id, &w.n.seq)) < 0 ||
	    (rc = billing__read(ctx->st, tx, &billing__res_tenant, NULL, who->tenant_id,
		BILLING_LOCK_NONE, prefix_row, prefix)) < 0 ||
	    (rc = billing__number_format(number, sizeof(number), prefix, w.n.seq, now)) < 0)
		goto end;
	if (billing__id_new(id, billing__res_credit_note.prefix, now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto end;
	}
	w.n.id = id;
	w.n.number = number;
	w.n.created_at = w.n.updated_at = now;
	if (w.n.refund_amount > 0) {
		if (!ctx->provider) {
			rc = billing__payment_no_provider();
			goto end;
		}
		if ((rc = billing__refund_begin(ctx, tx, who->tenant_id, w.cap.id, w.n.refund_amount,
			now, a)) < 0)
			goto end;
		w.n.refund_id = a->refund_id;
		*refunding = 1;
	}
	if ((rc = billing__insert(ctx->st, tx, &billing__res_credit_note, &w.n)) < 0)
		goto end;
	if (w.n.credit_amount > 0 &&
	    (rc = billing__balance_record_credit_note(ctx, tx, who->tenant_id, w.n.customer_id,
		w.n.currency, -w.n.credit_amount, w.n.invoice_id, id)) < 0)
		goto end;
	if ((rc = invoice_credit(ctx, tx, w.inv, &w.n, now)) < 0 ||
	    (rc = billing__event_emit(ctx, tx, who->tenant_id, "credit_note.created",
		billing__res_credit_note.name, id, billing__credit_note_json, &w.n)) < 0 ||
	    (rc = billing__idem_record(ctx, tx, who->tenant_id, idem, id)) < 0)
		goto end;
	if ((*out = billing__record_dup(&billing__res_credit_note, &w.n)) == NULL)
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
end:
	work_free(&w);
	rc = billing__end(ctx, tx, rc);
	if (rc < 0) {
		billing__free(*out);
		*out = NULL;
		*refunding = 0;
	}
	return rc;
}

static int create_retry(billing_credit_note **out, billing__attempt *a, int *refunding,
	billing_ctx *ctx, const billing_principal *who, const billing_credit_note_params *p,
	const char *metadata, billing__idem *idem)
{
	BILLING__RETRY(create_once(out, a, refunding, ctx, who, p, metadata, idem));
}

/* The normalized input of create, for the idempotency hash (metadata: the
 * canonical JSON). */
static void input_of(billing__buf *b, const billing_credit_note_params *p,
	const char *metadata)
{
	size_t i;
	billing__buf_add(b, "invoiceId", p->invoice_id);
	billing__buf_add_i64(b, "amount", p->amount);
	billing__buf_add_i64(b, "lines", (int64_t)p->line_count);
	for (i = 0; i < p->line_count; i++) {
		billing__buf_add(b, "invoiceLineId", p->lines[i].invoice_line_id);
		billing__buf_add_i64(b, "lineAmount", p->lines[i].amount);
		billing__buf_add_i64(b, "quantity", p->lines[i].quantity);
	}
	billing__buf_add_i64(b, "reason", (int64_t)p->reason);
	billing__buf_add(b, "memo", p->memo);
	billing__buf_add_i64(b, "fields", (int64_t)p->fields);
	billing__buf_add_i64(b, "refundAmount", p->refund_amount);
	billing__buf_add_i64(b, "creditAmount", p->credit_amount);
	billing__buf_add_i64(b, "outOfBandAmount", p->out_of_band_amount);
	/* Only when given: a key stored before metadata existed still matches. */
	if (strcmp(metadata, "{}") != 0)
		billing__buf_add(b, "metadata", metadata);
}

int billing_credit_note_create(billing_credit_note **out, billing_ctx *ctx,
	const billing_principal *who, const billing_credit_note_params *p,
	const billing_call_options *opts)
{
	billing__buf input = { 0 };
	billing__checks ck = BILLING__CHECKS_INIT;
	billing_provider_result res;
	billing__attempt a;
	billing__idem idem;
	char *metadata = NULL;
	int refunding = 0, rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CREDIT_NOTES_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if ((rc = params_ok(p)) < 0)
		return rc;
	/* Checked and made canonical once, before the transaction. */
	if ((rc = billing__metadata_encode(&ck, p->version >= 2 ? p->metadata : NULL,
		p->version >= 2 ? p->metadata_count : 0, &metadata)) < 0 ||
	    (rc = billing__checks_finish(&ck, "credit note")) < 0) {
		billing__free(metadata);
		return rc;
	}
	input_of(&input, p, metadata);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_CREDIT_NOTES_CREATE, &input)) < 0) {
		billing__free(metadata);
		return rc;
	}
	memset(&a, 0, sizeof(a));
	rc = create_retry(out, &a, &refunding, ctx, who, p, metadata, &idem);
	billing__free(metadata);
	if (rc < 0)
		return rc;
	if (idem.replay)
		return billing_credit_note_get(out, ctx, who, idem.resource_id);
	if (!refunding)
		return BILLING_OK;
	/* The refund, asked once the note is written (payment_refund.c's
	 * discipline): a failure or a lost answer is the refund's, recorded on
	 * the payment by the billing run; the note stands. */
	memset(&res, 0, sizeof(res));
	if (billing__attempt_run(ctx, &a, &res) < 0)
		billing__log(ctx, BILLING_LOG_WARN, "credit note %s: refund %s: the answer is left "
			"to the billing run: %s", (*out)->id, a.refund_id,
			billing_error_last()->message);
	billing_error_clear();
	return BILLING_OK;
}

int billing_credit_note_preview(billing_credit_note **out, billing_ctx *ctx,
	const billing_principal *who, const billing_credit_note_params *p)
{
	struct work w;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_CREDIT_NOTES_PREVIEW)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if ((rc = params_ok(p)) < 0)
		return rc;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	if ((rc = work_build(&w, ctx, tx, who->tenant_id, p)) == BILLING_OK) {
		w.n.created_at = w.n.updated_at = billing__now(ctx);
		if ((*out = billing__record_dup(&billing__res_credit_note, &w.n)) == NULL)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	work_free(&w);
	return billing__end(ctx, tx, rc);
}
