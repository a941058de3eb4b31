/*
 * Invoice and credit-note documents (issue #24, billing/document.h): reads
 * what the document shows in one read transaction of its own, builds the layout
 * description (core/document.h) with every text formatted for the
 * locale, and hands it to the renderer of the format. Rendering happens
 * after the transaction ended: it never holds a transaction open, let
 * alone a write.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "billing/document.h"
#include "core/branding.h"
#include "core/copy.h"
#include "core/core.h"
#include "core/credit_note.h"
#include "core/credit_note_internal.h"
#include "core/document.h"
#include "core/invoice_internal.h"
#include "core/invoice_tax.h"
#include "core/json_exact.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/txn.h"
#include "core/validate.h"

#define ACCENT_DEFAULT "#1f4e79"
/* The unit price cell of a line that has none (docs/billing.md). */
#define NO_UNIT_PRICE "\xe2\x80\x94"

/* ------------------------------------------------------------ the node list */

static int keep_text(const char **out, billing__doc *d, const char *s)
{
	char *copy, **grown;
	if (!s) {
		*out = NULL;
		return BILLING_OK;
	}
	if (d->text_count == d->text_cap) {
		size_t cap = d->text_cap ? d->text_cap * 2 : 64;
		if ((grown = billing__realloc(d->texts, cap * sizeof(*grown))) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		d->texts = grown;
		d->text_cap = cap;
	}
	if ((copy = billing__strdup(s)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	d->texts[d->text_count++] = copy;
	*out = copy;
	return BILLING_OK;
}

int billing__doc_add(billing__doc *d, billing__doc_kind kind, int strong, const char *const *texts,
	size_t n)
{
	billing__doc_node *node;
	size_t i;
	int rc;

	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		billing__doc_node *grown = billing__realloc(d->nodes, cap * sizeof(*grown));
		if (!grown)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		d->nodes = grown;
		d->cap = cap;
	}
	node = &d->nodes[d->count];
	memset(node, 0, sizeof(*node));
	node->kind = kind;
	node->strong = strong;
	for (i = 0; i < n && i < BILLING__DOC_TEXTS; i++)
		if ((rc = keep_text(&node->text[i], d, texts[i])) < 0)
			return rc;
	d->count++;
	return BILLING_OK;
}

void billing__doc_clear(billing__doc *d)
{
	size_t i;
	for (i = 0; i < d->text_count; i++)
		billing__free(d->texts[i]);
	billing__free(d->texts);
	billing__free(d->nodes);
	billing__free(d->title);
	memset(d, 0, sizeof(*d));
}

/* ------------------------------------------------------------ what is read */

#define RATES_MAX 16

typedef struct {
	char id[64];
	char name[208];            /* display name, up to 50 characters */
	int64_t percentage;
	int inclusive;
} rate_row;

typedef struct {
	billing_invoice *inv;
	struct billing_credit_note *cn;   /* a credit note's document; NULL: the invoice's */
	char *seller;              /* the tenant's name */
	billing__branding brand;   /* the tenant's branding (NULLs: not set) */
	char *name, *email, *tax_ids_json;
	char *address_json;        /* NULL: none */
	char preferred_locale[8];  /* "" : none */
	rate_row rates[RATES_MAX];
	size_t rate_count;
} source;

static void source_free(source *s)
{
	billing_invoice_free(s->inv);
	billing_credit_note_free(s->cn);
	billing__free(s->seller);
	billing__free(s->name);
	billing__free(s->email);
	billing__free(s->tax_ids_json);
	billing__free(s->address_json);
	billing__branding_clear(&s->brand);
}

static int dup_into(char **out, const char *s)
{
	if ((*out = billing__strdup(s ? s : "")) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

static int customer_row(void *payload, const void *record)
{
	const billing_customer_record *c = record;
	source *s = payload;
	int rc;
	if ((rc = dup_into(&s->name, c->name)) < 0 || (rc = dup_into(&s->email, c->email)) < 0 ||
	    (c->address_json && (rc = dup_into(&s->address_json, c->address_json)) < 0))
		return rc;
	snprintf(s->preferred_locale, sizeof(s->preferred_locale), "%s",
		c->preferred_locale ? c->preferred_locale : "");
	return dup_into(&s->tax_ids_json, c->tax_ids_json ? c->tax_ids_json : "[]");
}

static int tenant_row(void *payload, const void *record)
{
	return dup_into(&((source *)payload)->seller, ((const billing_tenant_record *)record)->name);
}

/* The document's totalTaxAmounts: the credit note's, else the invoice's. */
static const char *tax_amounts(const source *s)
{
	return s->cn ? s->cn->total_tax_amounts_json : billing_invoice_total_tax_amounts(s->inv);
}

/* The tax rates totalTaxAmounts names, read once each. */
static int read_rates(source *s, billing_ctx *ctx, billing_txn *tx, const char *tenant_id)
{
	cJSON *arr = cJSON_Parse(tax_amounts(s)), *e;
	int rc = BILLING_OK;
	cJSON_ArrayForEach(e, arr) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "taxRateId");
		rate_row *r;
		if (!cJSON_IsString(id) || s->rate_count == RATES_MAX)
			continue;
		r = &s->rates[s->rate_count];
		snprintf(r->id, sizeof(r->id), "%s", id->valuestring);
		if ((rc = billing__tax_rate_label_get(r->name, sizeof(r->name), &r->percentage,
			&r->inclusive, ctx, tx, tenant_id, r->id)) < 0)
			break;
		s->rate_count++;
	}
	cJSON_Delete(arr);
	return rc;
}

static int note_row(void *payload, const void *record)
{
	source *s = payload;
	s->cn = billing__record_dup(&billing__res_credit_note, record);
	return s->cn ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

/* What the document of invoice id shows, or (note set) of credit note
 * note with the invoice it credits. */
static int read_source(source *s, billing_ctx *ctx, const billing_principal *who, const char *id,
	const char *note)
{
	billing_txn *tx;
	int rc = BILLING_OK;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	if (note && (rc = billing__read(ctx->st, tx, &billing__res_credit_note, who->tenant_id,
		note, BILLING_LOCK_NONE, note_row, s)) == BILLING_OK)
		id = s->cn->invoice_id;
	if (rc == BILLING_OK)
		rc = billing__invoice_load(&s->inv, ctx, tx, who->tenant_id, id);
	if (rc == BILLING_OK)
		rc = billing__read(ctx->st, tx, &billing__res_customer, who->tenant_id,
			billing_invoice_customer_id(s->inv), BILLING_LOCK_NONE, customer_row, s);
	if (rc == BILLING_OK)
		rc = ctx->st->record_read(tx, &billing__res_tenant, NULL, who->tenant_id,
			BILLING_LOCK_NONE, tenant_row, s);
	if (rc == BILLING_OK)
		rc = billing__branding_read(&s->brand, ctx, tx, who->tenant_id);
	if (rc == BILLING_OK)
		rc = read_rates(s, ctx, tx, who->tenant_id);
	return billing__end(ctx, tx, rc);
}

/* ------------------------------------------------------------ the layout */

typedef struct {
	billing__doc *d;
	const billing__locale *loc;
	const char *currency;
	int rc;
} builder;

#define L(b, key) ((b)->loc->labels[(key)])

static void add(builder *b, billing__doc_kind kind, int strong, const char *t0, const char *t1,
	const char *t2, const char *t3, const char *t4)
{
	const char *texts[5] = { t0, t1, t2, t3, t4 };
	if (b->rc == BILLING_OK)
		b->rc = billing__doc_add(b->d, kind, strong, texts, 5);
}

/* The formatting calls fail only on an unknown currency (never: the
 * invoice's was checked when it was made) or a too small buffer (never:
 * 64 bytes hold any amount); a failure still reaches the caller. */
static const char *money(builder *b, char *buf, size_t size, int64_t amount)
{
	int rc = billing__doc_money(buf, size, b->loc, amount, b->currency);
	if (rc < 0 && b->rc == BILLING_OK)
		b->rc = rc;
	return buf;
}

static const char *date(builder *b, char *buf, size_t size, int64_t t)
{
	int rc = billing__doc_date(buf, size, b->loc, t);
	if (rc < 0 && b->rc == BILLING_OK)
		b->rc = rc;
	return buf;
}

static const char *status_label(builder *b, billing_invoice_status st)
{
	switch (st) {
	case BILLING_INVOICE_DRAFT: return L(b, BILLING__L_STATUS_DRAFT);
	case BILLING_INVOICE_PAID: return L(b, BILLING__L_STATUS_PAID);
	case BILLING_INVOICE_FAILED: return L(b, BILLING__L_STATUS_FAILED);
	case BILLING_INVOICE_VOID: return L(b, BILLING__L_STATUS_VOID);
	case BILLING_INVOICE_UNCOLLECTIBLE: return L(b, BILLING__L_STATUS_UNCOLLECTIBLE);
	default: return L(b, BILLING__L_STATUS_PENDING);
	}
}

static const char *part(const cJSON *address, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(address, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The buyer's address as lines appended at *n (pointing into a, which
 * the caller keeps until the node is made): line1, line2, the town's line
 * ("10115 Berlin"; in the United States, Canada and Australia
 * "Springfield, IL 62701", the region on it), the region on a line of its
 * own elsewhere, the country's code. */
static void address_lines(const char **out, size_t *n, char *town, size_t size,
	const cJSON *a)
{
	const char *city = part(a, "city"), *postal = part(a, "postalCode");
	const char *region = part(a, "region"), *country = part(a, "country");
	int us = country && (strcmp(country, "US") == 0 || strcmp(country, "CA") == 0 ||
		strcmp(country, "AU") == 0);
	const char *texts[5];
	size_t i;

	if (us)
		snprintf(town, size, "%s%s%s%s%s", city ? city : "",
			city && (region || postal) ? ", " : "", region ? region : "",
			region && postal ? " " : "", postal ? postal : "");
	else
		snprintf(town, size, "%s%s%s", postal ? postal : "", postal && city ? " " : "",
			city ? city : "");
	texts[0] = part(a, "line1");
	texts[1] = part(a, "line2");
	texts[2] = town[0] ? town : NULL;
	texts[3] = us ? NULL : region;
	texts[4] = country;
	for (i = 0; i < 5; i++)
		if (texts[i])
			out[(*n)++] = texts[i];
}

/* The seller: the branding's legal name (else the tenant's name), its
 * address and tax id. */
static void seller(builder *b, const source *s)
{
	const billing__branding *br = &s->brand;
	const char *texts[BILLING__DOC_TEXTS] = { L(b, BILLING__L_FROM),
		br->legal_name ? br->legal_name : s->seller };
	cJSON *address = br->address_json ? cJSON_Parse(br->address_json) : NULL;
	char town[512], tax_id[160];
	size_t n = 2;

	if (address)
		address_lines(texts, &n, town, sizeof(town), address);
	else if (br->address_json && b->rc == BILLING_OK)
		b->rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (br->tax_id) {
		snprintf(tax_id, sizeof(tax_id), "%s %s", L(b, BILLING__L_TAX_ID), br->tax_id);
		texts[n++] = tax_id;
	}
	if (b->rc == BILLING_OK)
		b->rc = billing__doc_add(b->d, BILLING__DOC_PARTY, 0, texts, n);
	cJSON_Delete(address);
}

static void parties(builder *b, const source *s)
{
	char ids[8][160], town[512];
	const char *buyer[BILLING__DOC_TEXTS] = { L(b, BILLING__L_BILL_TO), s->name };
	cJSON *arr = cJSON_Parse(s->tax_ids_json), *e;
	cJSON *address = s->address_json ? cJSON_Parse(s->address_json) : NULL;
	size_t n = 2, first_id;

	seller(b, s);
	if (address)
		address_lines(buyer, &n, town, sizeof(town), address);
	else if (s->address_json && b->rc == BILLING_OK)
		b->rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	buyer[n++] = s->email;
	first_id = n;
	cJSON_ArrayForEach(e, arr) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
		if (!cJSON_IsString(v) || n - first_id == 8)
			continue;
		snprintf(ids[n - first_id], sizeof(ids[0]), "%s %s", L(b, BILLING__L_TAX_ID),
			v->valuestring);
		buyer[n] = ids[n - first_id];
		n++;
	}
	cJSON_Delete(arr);
	if (b->rc == BILLING_OK)
		b->rc = billing__doc_add(b->d, BILLING__DOC_PARTY, 0, buyer, n);
	cJSON_Delete(address);
}

static void fields(builder *b, const billing_invoice *inv)
{
	char d1[32], d2[32], period[80];
	const char *number = billing_invoice_number(inv);
	int64_t issued = billing_invoice_finalized_at(inv);

	if (number)
		add(b, BILLING__DOC_FIELD, 0, L(b, BILLING__L_NUMBER), number, NULL, NULL, NULL);
	add(b, BILLING__DOC_FIELD, 0, L(b, BILLING__L_ISSUED),
		date(b, d1, sizeof(d1), issued ? issued : billing_invoice_created_at(inv)), NULL, NULL,
		NULL);
	if (billing_invoice_due_date(inv))
		add(b, BILLING__DOC_FIELD, 0, L(b, BILLING__L_DUE),
			date(b, d1, sizeof(d1), billing_invoice_due_date(inv)), NULL, NULL, NULL);
	if (billing_invoice_period_end(inv) > billing_invoice_period_start(inv)) {
		snprintf(period, sizeof(period), "%s \xe2\x80\x93 %s",
			date(b, d1, sizeof(d1), billing_invoice_period_start(inv)),
			date(b, d2, sizeof(d2), billing_invoice_period_end(inv)));
		add(b, BILLING__DOC_FIELD, 0, L(b, BILLING__L_PERIOD), period, NULL, NULL, NULL);
	}
	add(b, BILLING__DOC_FIELD, 0, L(b, BILLING__L_STATUS),
		status_label(b, billing_invoice_status_of(inv)), NULL, NULL, NULL);
}

/* The tiers a tiered line used, one detail row each. */
static void tiers(builder *b, const char *json)
{
	cJSON *arr = json ? cJSON_Parse(json) : NULL, *e;
	char what[256], qty[32], unit[64], flat[64], amount[64];
	int i = 0;
	cJSON_ArrayForEach(e, arr) {
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(e, "quantity");
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "unitAmount");
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "flatAmount");
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "amount");
		int64_t qv = 0, uv = 0, fv = 0, av = 0;
		billing__jx_int(q, &qv);
		billing__jx_int(u, &uv);
		billing__jx_int(f, &fv);
		billing__jx_int(a, &av);
		i++;
		if (billing__doc_integer(qty, sizeof(qty), b->loc, qv) < 0)
			qty[0] = '\0';
		money(b, unit, sizeof(unit), uv);
		if (fv)
			snprintf(what, sizeof(what), "%s %d: %s \xc3\x97 %s + %s", L(b, BILLING__L_TIER),
				i, qty, unit, money(b, flat, sizeof(flat), fv));
		else
			snprintf(what, sizeof(what), "%s %d: %s \xc3\x97 %s", L(b, BILLING__L_TIER), i,
				qty, unit);
		add(b, BILLING__DOC_DETAIL, 0, what, NULL, NULL, NULL,
			money(b, amount, sizeof(amount), av));
	}
	cJSON_Delete(arr);
}

/* The packages a package line bills, or -1 for any other line. A plan
 * priced per package (perUnit with transformQuantity) makes a line whose
 * quantity is the units and whose unitAmount is one package's price, so
 * its amount is a multiple of that price other than the quantity; no other
 * plan line is (a proration's is prorated, a tiered line's unit is 0). */
static int64_t packages_of(const billing_invoice_line *l)
{
	if (!l->plan_id || l->proration || l->tiers || l->unit_amount <= 0 || l->amount < 0 ||
	    l->amount % l->unit_amount != 0 || l->amount / l->unit_amount == l->quantity)
		return -1;
	return l->amount / l->unit_amount;
}

/* A package line's detail row: "Packages: 2 × 5.00", the line's amount. */
static void packages(builder *b, const billing_invoice_line *l)
{
	char what[256], count[32], unit[64], amount[64];
	int64_t n = packages_of(l);

	if (n < 0)
		return;
	if (billing__doc_integer(count, sizeof(count), b->loc, n) < 0)
		count[0] = '\0';
	snprintf(what, sizeof(what), "%s: %s \xc3\x97 %s", L(b, BILLING__L_PACKAGES), count,
		money(b, unit, sizeof(unit), l->unit_amount));
	add(b, BILLING__DOC_DETAIL, 0, what, NULL, NULL, NULL,
		money(b, amount, sizeof(amount), l->amount));
}

/* The unit price cell of line l: none (NO_UNIT_PRICE, an em dash) for a
 * line of no unit price but an amount (a tiered or volume line, whose
 * tiers follow it with their unit prices; a tiered plan's proration) and
 * for a package line (its packages follow it with their price); else its
 * unit price (0.00 on a free line, a trial's). */
static const char *unit_price(builder *b, char *buf, size_t size, const billing_invoice_line *l)
{
	if ((l->unit_amount == 0 && l->amount != 0) || packages_of(l) >= 0) {
		snprintf(buf, size, "%s", NO_UNIT_PRICE);
		return buf;
	}
	return money(b, buf, size, l->unit_amount);
}

static void lines(builder *b, const billing_invoice *inv)
{
	size_t i, n = billing_invoice_line_count(inv);
	char qty[32], unit[64], tax[64], amount[64];

	add(b, BILLING__DOC_HEAD, 0, L(b, BILLING__L_DESCRIPTION), L(b, BILLING__L_QUANTITY),
		L(b, BILLING__L_UNIT_PRICE), L(b, BILLING__L_TAX), L(b, BILLING__L_AMOUNT));
	for (i = 0; i < n; i++) {
		const billing_invoice_line *l = billing_invoice_line_at(inv, i);
		if (billing__doc_integer(qty, sizeof(qty), b->loc, l->quantity) < 0 &&
		    b->rc == BILLING_OK)
			b->rc = BILLING_EOVERFLOW;
		add(b, BILLING__DOC_ROW, 0, l->description ? l->description : "", qty,
			unit_price(b, unit, sizeof(unit), l),
			money(b, tax, sizeof(tax), l->tax_amount),
			money(b, amount, sizeof(amount), l->amount));
		tiers(b, l->tiers);
		packages(b, l);
		if (l->discount_amount)
			add(b, BILLING__DOC_DETAIL, 0, L(b, BILLING__L_DISCOUNT), NULL, NULL, NULL,
				money(b, amount, sizeof(amount), -l->discount_amount));
	}
}

static const rate_row *rate_of(const source *s, const char *id)
{
	size_t i;
	for (i = 0; id && i < s->rate_count; i++)
		if (strcmp(s->rates[i].id, id) == 0)
			return &s->rates[i];
	return NULL;
}

/* One sum per entry of totalTaxAmounts: "VAT 19%", "Tax 5% (incl.)". */
static void tax_breakdown(builder *b, const source *s)
{
	cJSON *arr = cJSON_Parse(tax_amounts(s)), *e;
	char label[320], pct[32], amount[64];
	cJSON_ArrayForEach(e, arr) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "taxRateId");
		const rate_row *r = rate_of(s, cJSON_IsString(id) ? id->valuestring : NULL);
		int64_t av = 0;
		billing__jx_int(cJSON_GetObjectItemCaseSensitive(e, "amount"), &av);
		if (r && billing__doc_percent(pct, sizeof(pct), b->loc, r->percentage) >= 0)
			snprintf(label, sizeof(label), "%s %s%s%s%s", r->name, pct,
				r->inclusive ? " (" : "", r->inclusive ? L(b, BILLING__L_INCLUSIVE) : "",
				r->inclusive ? ")" : "");
		else
			snprintf(label, sizeof(label), "%s", L(b, BILLING__L_TAX_BREAKDOWN));
		add(b, BILLING__DOC_SUM, 0, label, money(b, amount, sizeof(amount), av), NULL, NULL,
			NULL);
	}
	cJSON_Delete(arr);
}

static void sums(builder *b, const source *s)
{
	const billing_invoice *inv = s->inv;
	char amount[64];
	int64_t credit = billing_invoice_pre_credit_notes_amount(inv) +
		billing_invoice_post_payment_credit_notes_amount(inv);
	int64_t applied = billing_invoice_starting_balance(inv) -
		billing_invoice_ending_balance(inv);

	add(b, BILLING__DOC_SUM, 0, L(b, BILLING__L_SUBTOTAL),
		money(b, amount, sizeof(amount), billing_invoice_subtotal(inv)), NULL, NULL, NULL);
	if (billing_invoice_total_discount(inv))
		add(b, BILLING__DOC_SUM, 0, L(b, BILLING__L_DISCOUNT), money(b, amount,
			sizeof(amount), -billing_invoice_total_discount(inv)), NULL, NULL, NULL);
	tax_breakdown(b, s);
	add(b, BILLING__DOC_SUM, 0, L(b, BILLING__L_TOTAL),
		money(b, amount, sizeof(amount), billing_invoice_total(inv)), NULL, NULL, NULL);
	if (credit)
		add(b, BILLING__DOC_SUM, 0, L(b, BILLING__L_CREDIT_NOTES),
			money(b, amount, sizeof(amount), -credit), NULL, NULL, NULL);
	if (applied)
		add(b, BILLING__DOC_SUM, 0, L(b, BILLING__L_BALANCE_APPLIED),
			money(b, amount, sizeof(amount), applied), NULL, NULL, NULL);
	if (billing_invoice_amount_paid(inv))
		add(b, BILLING__DOC_SUM, 0, L(b, BILLING__L_AMOUNT_PAID), money(b, amount,
			sizeof(amount), -billing_invoice_amount_paid(inv)), NULL, NULL, NULL);
	add(b, BILLING__DOC_SUM, 1, L(b, BILLING__L_AMOUNT_DUE),
		money(b, amount, sizeof(amount), billing_invoice_amount_due(inv)), NULL, NULL, NULL);
}

static void notes(builder *b, const source *s)
{
	const billing_invoice *inv = s->inv;
	char text[256], due[32], amount[64];
	if (billing_invoice_tax_note(inv))
		add(b, BILLING__DOC_NOTE, 0, L(b, BILLING__L_TAX), L(b, BILLING__L_REVERSE_CHARGE),
			NULL, NULL, NULL);
	if (billing_invoice_collection_method(inv) == BILLING_SEND_INVOICE &&
	    billing_invoice_amount_due(inv) > 0) {
		if (billing_invoice_due_date(inv))
			snprintf(text, sizeof(text), "%s %s: %s (%s %s)", L(b, BILLING__L_PAY_BY),
				date(b, due, sizeof(due), billing_invoice_due_date(inv)),
				money(b, amount, sizeof(amount), billing_invoice_amount_due(inv)),
				L(b, BILLING__L_NUMBER), billing_invoice_number(inv) ?
				billing_invoice_number(inv) : billing_invoice_id(inv));
		else
			snprintf(text, sizeof(text), "%s (%s %s)", money(b, amount, sizeof(amount),
				billing_invoice_amount_due(inv)), L(b, BILLING__L_NUMBER),
				billing_invoice_number(inv) ? billing_invoice_number(inv) :
				billing_invoice_id(inv));
		add(b, BILLING__DOC_NOTE, 0, L(b, BILLING__L_PAYMENT_INSTRUCTIONS), text, NULL, NULL,
			NULL);
	}
	if (billing_invoice_memo(inv))
		add(b, BILLING__DOC_NOTE, 0, L(b, BILLING__L_MEMO), billing_invoice_memo(inv), NULL,
			NULL, NULL);
	if (billing_invoice_footer(inv))
		add(b, BILLING__DOC_NOTE, 0, "", billing_invoice_footer(inv), NULL, NULL, NULL);
	if (s->brand.footer)
		add(b, BILLING__DOC_NOTE, 0, "", s->brand.footer, NULL, NULL, NULL);
}

/* The logo as a data: URI, or NULL when there is none. It was checked to
 * be a PNG or JPEG file when it was set: a PNG's base64 starts with the
 * signature's "iVBORw0KGgo", a JPEG's with "/9j/". */
static char *logo_uri(builder *b, const source *s)
{
	const char *b64 = s->brand.logo_b64;
	char *uri;
	size_t size;

	if (!b64)
		return NULL;
	size = strlen(b64) + 32;
	if ((uri = billing__malloc(size)) == NULL) {
		if (b->rc == BILLING_OK)
			b->rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		return NULL;
	}
	snprintf(uri, size, "data:%s;base64,%s", strncmp(b64, "iVBORw0KGgo", 11) == 0 ?
		"image/png" : "image/jpeg", b64);
	return uri;
}

static int build(billing__doc *d, const source *s, const billing__locale *loc)
{
	const billing_invoice *inv = s->inv;
	int draft = billing_invoice_status_of(inv) == BILLING_INVOICE_DRAFT;
	builder b = { d, loc, billing_invoice_currency(inv), BILLING_OK };
	char title[256], *logo;

	d->locale = loc;
	d->issued_at = billing_invoice_finalized_at(inv) ? billing_invoice_finalized_at(inv) :
		billing_invoice_created_at(inv);
	/* Checked "#rrggbb" when it was set (branding.c). */
	snprintf(d->accent, sizeof(d->accent), "%s",
		s->brand.accent_color ? s->brand.accent_color : ACCENT_DEFAULT);
	snprintf(title, sizeof(title), "%s %s", L(&b, BILLING__L_INVOICE),
		billing_invoice_number(inv) ? billing_invoice_number(inv) : billing_invoice_id(inv));
	if ((d->title = billing__strdup(title)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	logo = logo_uri(&b, s);
	add(&b, BILLING__DOC_TITLE, 0, L(&b, BILLING__L_INVOICE),
		draft ? L(&b, BILLING__L_DRAFT) : NULL, logo, NULL, NULL);
	billing__free(logo);
	parties(&b, s);
	fields(&b, inv);
	lines(&b, inv);
	sums(&b, s);
	notes(&b, s);
	return b.rc;
}

/* ------------------------------------------------------------ credit notes */

static const char *reason_label(builder *b, int reason)
{
	switch (reason) {
	case BILLING_CREDIT_NOTE_DUPLICATE: return L(b, BILLING__L_REASON_DUPLICATE);
	case BILLING_CREDIT_NOTE_FRAUDULENT: return L(b, BILLING__L_REASON_FRAUDULENT);
	case BILLING_CREDIT_NOTE_ORDER_CHANGE: return L(b, BILLING__L_REASON_ORDER_CHANGE);
	case BILLING_CREDIT_NOTE_PRODUCT_UNSATISFACTORY:
		return L(b, BILLING__L_REASON_PRODUCT_UNSATISFACTORY);
	default: return NULL;
	}
}

/* The unit amount of the invoice's line that line_id names (0: none). A
 * line credited by quantity always has one: the library refuses a credit
 * by quantity of a line whose amount is not its unit amount times its
 * quantity (a tiered one). */
static int64_t unit_of(const billing_invoice *inv, const char *line_id)
{
	size_t i, n = billing_invoice_line_count(inv);
	char id[128];
	for (i = 0; line_id && i < n; i++)
		if (billing__invoice_line_id(id, sizeof(id), billing_invoice_id(inv), i) == BILLING_OK &&
		    strcmp(id, line_id) == 0)
			return billing_invoice_line_at(inv, i)->unit_amount;
	return 0;
}

/* The note's lines as the invoice's: the amount before the line's
 * discount, the discount under it; the unit price where the line was
 * credited by quantity. *discount receives the discounts' sum. */
static void note_lines(builder *b, const source *s, int64_t *discount)
{
	cJSON *root = cJSON_Parse(s->cn->lines_json), *l;
	char qty[32], unit[64], tax[64], amount[64];

	*discount = 0;
	add(b, BILLING__DOC_HEAD, 0, L(b, BILLING__L_DESCRIPTION), L(b, BILLING__L_QUANTITY),
		L(b, BILLING__L_UNIT_PRICE), L(b, BILLING__L_TAX), L(b, BILLING__L_AMOUNT));
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(root, "data")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(l, "invoiceLineId");
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(l, "description");
		const cJSON *d;
		int64_t q = 0, a = 0, t = 0, off = 0, v;
		int by_quantity = billing__jx_int(cJSON_GetObjectItemCaseSensitive(l, "quantity"),
			&q) == BILLING__JX_INT_OK;
		(void)billing__jx_int(cJSON_GetObjectItemCaseSensitive(l, "amount"), &a);
		(void)billing__jx_int(cJSON_GetObjectItemCaseSensitive(l, "taxAmount"), &t);
		cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(l, "discountAmounts"))
			if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(d, "amount"), &v) ==
			    BILLING__JX_INT_OK)
				off += v;
		qty[0] = unit[0] = '\0';
		if (by_quantity) {
			if (billing__doc_integer(qty, sizeof(qty), b->loc, q) < 0 && b->rc == BILLING_OK)
				b->rc = BILLING_EOVERFLOW;
			money(b, unit, sizeof(unit), unit_of(s->inv, cJSON_IsString(id) ?
				id->valuestring : NULL));
		}
		add(b, BILLING__DOC_ROW, 0, cJSON_IsString(desc) ? desc->valuestring : "", qty, unit,
			money(b, tax, sizeof(tax), t), money(b, amount, sizeof(amount), a));
		if (off)
			add(b, BILLING__DOC_DETAIL, 0, L(b, BILLING__L_DISCOUNT), NULL, NULL, NULL,
				money(b, amount, sizeof(amount), -off));
		*discount += off;
	}
	cJSON_Delete(root);
}

/* A credit note: its number, the invoice it credits, the date, the status,
 * the lines with their discounts, the subtotal before and the discount,
 * the tax per rate, the total, how it was paid back (refunded, credited
 * to the balance, settled outside), the reason, the memo, the footer. */
static int build_note(billing__doc *d, const source *s, const billing__locale *loc)
{
	const struct billing_credit_note *n = s->cn;
	builder b = { d, loc, n->currency, BILLING_OK };
	char title[256], day[32], amount[64], *logo;
	int64_t discount;

	d->locale = loc;
	d->issued_at = n->created_at;      /* the PDF's creation date: the same bytes */
	snprintf(d->accent, sizeof(d->accent), "%s",
		s->brand.accent_color ? s->brand.accent_color : ACCENT_DEFAULT);
	snprintf(title, sizeof(title), "%s %s", L(&b, BILLING__L_CREDIT_NOTE), n->number);
	if ((d->title = billing__strdup(title)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	logo = logo_uri(&b, s);
	add(&b, BILLING__DOC_TITLE, 0, L(&b, BILLING__L_CREDIT_NOTE), NULL, logo, NULL, NULL);
	billing__free(logo);
	parties(&b, s);
	add(&b, BILLING__DOC_FIELD, 0, L(&b, BILLING__L_CREDIT_NOTE_NUMBER), n->number, NULL, NULL,
		NULL);
	add(&b, BILLING__DOC_FIELD, 0, L(&b, BILLING__L_CREDITED_INVOICE),
		billing_invoice_number(s->inv) ? billing_invoice_number(s->inv) :
		billing_invoice_id(s->inv), NULL, NULL, NULL);
	add(&b, BILLING__DOC_FIELD, 0, L(&b, BILLING__L_ISSUED),
		date(&b, day, sizeof(day), n->created_at), NULL, NULL, NULL);
	add(&b, BILLING__DOC_FIELD, 0, L(&b, BILLING__L_STATUS),
		n->status == BILLING_CREDIT_NOTE_VOID ? L(&b, BILLING__L_STATUS_VOID) :
		L(&b, BILLING__L_STATUS_ISSUED), NULL, NULL, NULL);
	note_lines(&b, s, &discount);
	add(&b, BILLING__DOC_SUM, 0, L(&b, BILLING__L_SUBTOTAL),
		money(&b, amount, sizeof(amount), n->subtotal + discount), NULL, NULL, NULL);
	if (discount)
		add(&b, BILLING__DOC_SUM, 0, L(&b, BILLING__L_DISCOUNT),
			money(&b, amount, sizeof(amount), -discount), NULL, NULL, NULL);
	tax_breakdown(&b, s);
	add(&b, BILLING__DOC_SUM, 1, L(&b, BILLING__L_TOTAL),
		money(&b, amount, sizeof(amount), n->total), NULL, NULL, NULL);
	if (n->refund_amount)
		add(&b, BILLING__DOC_SUM, 0, L(&b, BILLING__L_REFUNDED),
			money(&b, amount, sizeof(amount), n->refund_amount), NULL, NULL, NULL);
	if (n->credit_amount)
		add(&b, BILLING__DOC_SUM, 0, L(&b, BILLING__L_CREDITED_TO_BALANCE),
			money(&b, amount, sizeof(amount), n->credit_amount), NULL, NULL, NULL);
	if (n->out_of_band_amount)
		add(&b, BILLING__DOC_SUM, 0, L(&b, BILLING__L_OUT_OF_BAND),
			money(&b, amount, sizeof(amount), n->out_of_band_amount), NULL, NULL, NULL);
	if (reason_label(&b, n->reason))
		add(&b, BILLING__DOC_NOTE, 0, L(&b, BILLING__L_REASON), reason_label(&b, n->reason),
			NULL, NULL, NULL);
	if (n->memo)
		add(&b, BILLING__DOC_NOTE, 0, L(&b, BILLING__L_MEMO), n->memo, NULL, NULL, NULL);
	if (s->brand.footer)
		add(&b, BILLING__DOC_NOTE, 0, "", s->brand.footer, NULL, NULL, NULL);
	return b.rc;
}

/* ------------------------------------------------------------ the call */

/* The e-invoice of the invoice s holds, or of its credit note when s
 * holds one (document_cii.c): a finalized invoice only, since a draft has
 * no number and may still change; an issued note only. */
static int cii(char **out, size_t *len, const source *s)
{
	billing__cii_source c;
	billing__cii_rate rates[RATES_MAX];
	size_t i;

	if (billing_invoice_status_of(s->inv) == BILLING_INVOICE_DRAFT)
		return billing__error_set(BILLING_ECONFLICT, "draft",
			"a draft invoice has no e-invoice; finalize it first");
	/* A void note credits nothing: its e-invoice would state a credit
	 * that was taken back. */
	if (s->cn && s->cn->status == BILLING_CREDIT_NOTE_VOID)
		return billing__error_set(BILLING_ECONFLICT, "credit_note_void",
			"a void credit note has no e-invoice");
	for (i = 0; i < s->rate_count; i++) {
		rates[i].id = s->rates[i].id;
		rates[i].percentage = s->rates[i].percentage;
	}
	memset(&c, 0, sizeof(c));
	c.inv = s->inv;
	c.seller_name = s->brand.legal_name ? s->brand.legal_name : s->seller;
	c.seller_address_json = s->brand.address_json;
	c.seller_tax_id = s->brand.tax_id;
	c.buyer_name = s->name;
	c.buyer_email = s->email;
	c.buyer_address_json = s->address_json;
	c.buyer_tax_ids_json = s->tax_ids_json;
	c.rates = rates;
	c.rate_count = s->rate_count;
	c.cn = s->cn;
	return billing__doc_cii(out, len, &c);
}

/* The document of invoice id, or of credit note id when note. */
static int render(char **out, size_t *len, billing_ctx *ctx, const billing_principal *who,
	const char *id, int note, billing_document_format format, const char *locale)
{
	const billing__locale *loc = NULL;
	source s;
	billing__doc d;
	char *xml = NULL;
	size_t xml_len = 0;
	int rc;

	/* Who may read the invoice, or the credit note, may read its document. */
	if ((rc = note ? billing__authorize_resource(ctx, who, &billing__res_credit_note,
		BILLING_RESOURCE_OP_GET) : billing__authorize(ctx, who, BILLING_OP_INVOICES_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(len, "len");
	*out = NULL;
	*len = 0;
	if (format != BILLING_DOCUMENT_HTML && format != BILLING_DOCUMENT_PDF &&
	    format != BILLING_DOCUMENT_CII && format != BILLING_DOCUMENT_FACTURX)
		return billing__error_field(BILLING_EINVALID, "invalid", "format",
			"the format is html, pdf, cii or facturx");
	if (note && format == BILLING_DOCUMENT_FACTURX)
		return billing__error_field(BILLING_EINVALID, "unsupported_format", "format",
			"a credit note's e-invoice is its CII XML (cii); it has no Factur-X PDF");
#ifndef BILLING_PDF
	if (format == BILLING_DOCUMENT_PDF)
		return billing__error_field(BILLING_EINVALID, "unsupported_format", "format",
			"this build of libbilling has no PDF support (built without cairo and pango)");
#endif
#ifndef BILLING_FACTURX
	if (format == BILLING_DOCUMENT_FACTURX)
		return billing__error_field(BILLING_EINVALID, "unsupported_format", "format",
			"this build of libbilling has no Factur-X support (built without PDF support "
			"or without qpdf)");
#endif
	if (locale && (loc = billing__locale_find(locale)) == NULL)
		return billing__error_field(BILLING_EINVALID, "unsupported_locale", "locale",
			"one of en-US, en-GB, de-DE, fr-FR, es-ES, ja-JP");
	if (!billing__id_arg_ok(id, note ? "cn" : "in"))
		return billing__not_found(note ? "credit note" : "invoice");
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	if ((rc = read_source(&s, ctx, who, note ? NULL : id, note ? id : NULL)) == BILLING_OK) {
		/* No locale asked for: the customer's, else the tenant's
		 * (its branding's), else en-US. */
		if (!locale && (loc = billing__locale_find(s.preferred_locale)) == NULL &&
		    (loc = billing__locale_find(s.brand.locale)) == NULL)
			loc = billing__locale_find("en-US");
		/* A note's source holds it (read_source); the e-invoice is
		 * written from the source, not from the layout. Factur-X is
		 * both: the XML (refused as the CII is) and the PDF's layout. */
		if (format == BILLING_DOCUMENT_CII)
			rc = cii(out, len, &s);
		else if (format == BILLING_DOCUMENT_FACTURX &&
		    (rc = cii(&xml, &xml_len, &s)) == BILLING_OK)
			rc = build(&d, &s, loc);
		else if (format != BILLING_DOCUMENT_FACTURX)
			rc = s.cn ? build_note(&d, &s, loc) : build(&d, &s, loc);
	}
	/* Rendering happens here, after the read transaction ended. */
	if (rc == BILLING_OK && format == BILLING_DOCUMENT_HTML)
		rc = billing__doc_html(out, len, &d);
	else if (rc == BILLING_OK && format == BILLING_DOCUMENT_PDF)
		rc = billing__doc_pdf(out, len, &d);
#ifdef BILLING_FACTURX
	else if (rc == BILLING_OK && format == BILLING_DOCUMENT_FACTURX) {
		char *pdf = NULL;
		size_t pdf_len = 0;
		if ((rc = billing__doc_pdf(&pdf, &pdf_len, &d)) == BILLING_OK)
			rc = billing__doc_facturx(out, len, pdf, pdf_len, xml, xml_len, &d);
		billing__free(pdf);
	}
#endif
	billing__free(xml);
	billing__doc_clear(&d);
	source_free(&s);
	return rc;
}

int billing_invoice_render(char **out, size_t *len, billing_ctx *ctx,
	const billing_principal *who, const char *id, billing_document_format format,
	const char *locale)
{
	return render(out, len, ctx, who, id, 0, format, locale);
}

int billing_credit_note_render(char **out, size_t *len, billing_ctx *ctx,
	const billing_principal *who, const char *id, billing_document_format format,
	const char *locale)
{
	return render(out, len, ctx, who, id, 1, format, locale);
}
