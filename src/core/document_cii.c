/*
 * The e-invoice (issue #24 item 4): a finalized invoice as UN/CEFACT Cross
 * Industry Invoice XML (CII D16B) of the EN 16931 profile, the XML that
 * Factur-X and ZUGFeRD carry (guideline urn:cen.eu:en16931:2017).
 *
 * libxml2's xmlTextWriter writes it: every text is escaped by it, never by
 * hand. The elements follow the CII schema's order (its XSD is not
 * reachable from where this was written; tests/e2e/documents.c checks the
 * structure, the sums and the code lists by its own rules).
 *
 * The mapping (docs/billing.md "E-invoice"): each invoice line is one line
 * whose net amount (BT-131) is the line's taxableAmount, the amount after
 * its discount without the tax an inclusive rate holds; the discount is
 * the line's allowance (BG-27), so BT-131 = BT-146 x BT-129 / BT-149 -
 * BT-136 exactly, and the invoice has no document-level allowance. Each
 * line has one VAT category and rate; the breakdown groups the lines by
 * both, its tax the sum of the lines' taxes as the invoice rounded them.
 * Amounts come from minor units by the currency's exponent with integer
 * arithmetic only.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <libxml/xmlwriter.h>

#include "billing/invoice.h"
#include "billing/money.h"
#include "core/calendar.h"
#include "core/credit_note.h"
#include "core/credit_note_internal.h"
#include "core/core.h"
#include "core/document.h"
#include "core/json_exact.h"
#include "core/tax_id.h"

#define NS_RSM "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
#define NS_RAM "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
#define NS_UDT "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
#define NS_QDT "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
#define GUIDELINE "urn:cen.eu:en16931:2017"

/* UN/ECE Recommendation 20: "one" (a unit). */
#define UNIT "C62"

/* The exemption texts (BT-120) of the categories that need one; AE's is
 * the invoice's own reverse-charge note. */
#define EXEMPT_TEXT "Exempt from VAT"
#define OUTSIDE_TEXT "Not subject to VAT"

/* The categories of UNTDID 5305 that EN 16931 uses here. */
typedef enum { CAT_S, CAT_Z, CAT_E, CAT_AE, CAT_O } category;
static const char *const category_code[] = { "S", "Z", "E", "AE", "O" };

#define GROUPS_MAX 32

typedef struct {
	category cat;
	int64_t pct4;       /* 10^-4 percent */
	int64_t basis;      /* BT-116 */
	int64_t tax;        /* BT-117 */
} group;

typedef struct {
	xmlTextWriterPtr w;
	const char *currency;
	int exponent;
	int rc;             /* the first libxml2 failure, as BILLING_ENOMEM */
} writer;

/* ------------------------------------------------------------ text of numbers */

/* amount (minor units) as a decimal with the currency's digits: 1234 EUR
 * "12.34", -5 EUR "-0.05", 1234 JPY "1234". Integer arithmetic only. */
static void decimal(char *out, size_t size, int64_t amount, int exponent)
{
	uint64_t m = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount, p = 1;
	int i;
	for (i = 0; i < exponent; i++)
		p *= 10;
	if (exponent == 0)
		snprintf(out, size, "%s%" PRIu64, amount < 0 ? "-" : "", m);
	else
		snprintf(out, size, "%s%" PRIu64 ".%0*" PRIu64, amount < 0 ? "-" : "", m / p,
			exponent, m % p);
}

/* A percentage in 10^-4 percent at its shortest: 190000 "19", 72500
 * "7.25", 88750 "8.875". */
static void percent(char *out, size_t size, int64_t pct4)
{
	char frac[8];
	int len = snprintf(frac, sizeof(frac), "%04" PRId64, pct4 % 10000);
	while (len > 0 && frac[len - 1] == '0')
		frac[--len] = '\0';
	snprintf(out, size, "%" PRId64 "%s%s", pct4 / 10000, len ? "." : "", frac);
}

/* The UTC day of t in format 102 of UNTDID 2379: "20260131". */
static int day102(char *out, size_t size, int64_t t)
{
	char iso[BILLING_TIME_FORMAT_SIZE];
	if (billing__time_format(iso, sizeof(iso), t) < 0)
		return billing__error_set(BILLING_EINVALID, "invalid", "a time out of range");
	snprintf(out, size, "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
	return BILLING_OK;
}

/* ------------------------------------------------------------ writing */

static void fail(writer *x, int r)
{
	if (r < 0 && x->rc == BILLING_OK)
		x->rc = billing__error_set(BILLING_ENOMEM, NULL, "the XML writer failed");
}

static void open_el(writer *x, const char *prefix, const char *name)
{
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterStartElementNS(x->w, BAD_CAST prefix, BAD_CAST name, NULL));
}

static void close_el(writer *x)
{
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterEndElement(x->w));
}

static void attr(writer *x, const char *name, const char *value)
{
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value));
}

/* <prefix:name>text</prefix:name>, the text escaped by libxml2. */
static void text_el(writer *x, const char *prefix, const char *name, const char *text)
{
	open_el(x, prefix, name);
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterWriteString(x->w, BAD_CAST text));
	close_el(x);
}

/* <ram:name [currencyID]>amount</ram:name> */
static void amount_el(writer *x, const char *name, int64_t amount, int with_currency)
{
	char buf[48];
	decimal(buf, sizeof(buf), amount, x->exponent);
	open_el(x, "ram", name);
	if (with_currency)
		attr(x, "currencyID", x->currency);
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterWriteString(x->w, BAD_CAST buf));
	close_el(x);
}

/* <ram:name><udt:DateTimeString format="102">20260131</...></ram:name> */
static void date_el(writer *x, const char *name, int64_t t)
{
	char day[16];
	int rc;
	if ((rc = day102(day, sizeof(day), t)) < 0) {
		if (x->rc == BILLING_OK)
			x->rc = rc;
		return;
	}
	open_el(x, "ram", name);
	open_el(x, "udt", "DateTimeString");
	attr(x, "format", "102");
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterWriteString(x->w, BAD_CAST day));
	close_el(x);
	close_el(x);
}

static void quantity_el(writer *x, const char *name, int64_t q)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRId64, q);
	open_el(x, "ram", name);
	attr(x, "unitCode", UNIT);
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterWriteString(x->w, BAD_CAST buf));
	close_el(x);
}

static const char *member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* BG-5 / BG-8: the postal address, in the schema's order. */
static void address(writer *x, const cJSON *a)
{
	static const struct { const char *key, *el; } parts[] = {
		{ "postalCode", "PostcodeCode" }, { "line1", "LineOne" }, { "line2", "LineTwo" },
		{ "city", "CityName" }, { "country", "CountryID" },
		{ "region", "CountrySubDivisionName" }
	};
	size_t i;
	open_el(x, "ram", "PostalTradeAddress");
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (member(a, parts[i].key))
			text_el(x, "ram", parts[i].el, member(a, parts[i].key));
	close_el(x);
}

static void tax_registration(writer *x, const char *scheme, const char *id)
{
	open_el(x, "ram", "SpecifiedTaxRegistration");
	open_el(x, "ram", "ID");
	attr(x, "schemeID", scheme);
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterWriteString(x->w, BAD_CAST id));
	close_el(x);
	close_el(x);
}

/* ------------------------------------------------------------ the invoice's terms */

/* A VAT identifier of the types that are one (EU, UK, Swiss, Norwegian),
 * normalized into out; 0 when value is none of them. The probe's refusals
 * are not the caller's error. */
static int vat_id(char out[BILLING__TAX_ID_VALUE_MAX], const char *value)
{
	static const char *const types[] = { "eu_vat", "gb_vat", "ch_vat", "no_vat" };
	size_t i;
	int found = 0;
	billing__error_stash();
	for (i = 0; !found && i < sizeof(types) / sizeof(types[0]); i++)
		found = billing__tax_id_check(out, types[i], value, "taxId", "taxId") == BILLING_OK;
	billing__error_unstash();
	return found;
}

/* The buyer's VAT identifier (BT-48): the first of its tax ids of a VAT
 * type; 0 when it has none. */
static int buyer_vat(char out[BILLING__TAX_ID_VALUE_MAX], const cJSON *ids)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, ids) {
		const char *type = member(e, "type"), *value = member(e, "value");
		if (type && value && (strcmp(type, "eu_vat") == 0 || strcmp(type, "gb_vat") == 0 ||
		    strcmp(type, "ch_vat") == 0 || strcmp(type, "no_vat") == 0) &&
		    strlen(value) < BILLING__TAX_ID_VALUE_MAX) {
			snprintf(out, BILLING__TAX_ID_VALUE_MAX, "%s", value);
			return 1;
		}
	}
	return 0;
}

/* Line l's VAT category and rate. */
static int line_category(category *cat, int64_t *pct4, const billing__cii_source *src,
	const billing_invoice_line *l, size_t i)
{
	int exempt = billing_invoice_customer_tax_exempt(src->inv);
	cJSON *arr, *e;
	int n;

	*pct4 = 0;
	if (exempt == 2 || exempt == 1) {
		*cat = exempt == 2 ? CAT_AE : CAT_E;
		return BILLING_OK;
	}
	if (l->tax_amounts && (arr = cJSON_Parse(l->tax_amounts)) != NULL) {
		const char *id;
		size_t k;
		n = cJSON_GetArraySize(arr);
		e = cJSON_GetArrayItem(arr, 0);
		id = member(e, "taxRateId");
		for (k = 0; n == 1 && id && k < src->rate_count; k++)
			if (strcmp(src->rates[k].id, id) == 0)
				break;
		if (n == 1 && id && k < src->rate_count)
			*pct4 = src->rates[k].percentage;
		cJSON_Delete(arr);
		if (n > 1)
			return billing__error_field(BILLING_ECONFLICT, "einvoice_unsupported",
				"lines", "line %zu is taxed at %d rates; an EN 16931 line has one VAT "
				"rate", i + 1, n);
		if (n == 1 && (!id || k == src->rate_count))
			return billing__error_set(BILLING_ERROR, "internal",
				"line %zu names a tax rate the invoice's breakdown does not", i + 1);
		if (n == 1) {
			*cat = *pct4 ? CAT_S : CAT_Z;
			return BILLING_OK;
		}
	} else if (l->tax_amounts) {
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	if (l->tax_rate_bp > 0) {
		*cat = CAT_S;
		*pct4 = (int64_t)l->tax_rate_bp * 100;
		return BILLING_OK;
	}
	*cat = CAT_O;
	return BILLING_OK;
}

/* Adds a line of cat and pct4 (net basis, tax) to its breakdown group. */
static int group_add(group *groups, size_t *group_count, category cat, int64_t pct4,
	int64_t basis, int64_t tax)
{
	size_t g;
	for (g = 0; g < *group_count; g++)
		if (groups[g].cat == cat && groups[g].pct4 == pct4)
			break;
	if (g == *group_count) {
		if (g == GROUPS_MAX)
			return billing__error_field(BILLING_ECONFLICT, "einvoice_unsupported",
				"lines", "more than %d VAT rates on one invoice", GROUPS_MAX);
		groups[g].cat = cat;
		groups[g].pct4 = pct4;
		groups[g].basis = groups[g].tax = 0;
		(*group_count)++;
	}
	if (__builtin_add_overflow(groups[g].basis, basis, &groups[g].basis) ||
	    __builtin_add_overflow(groups[g].tax, tax, &groups[g].tax))
		return billing__error_set(BILLING_EOVERFLOW, "overflow", "the sums overflow");
	return BILLING_OK;
}

/* The lines' categories (cats[i], pcts[i]) and the breakdown they make;
 * refuses what EN 16931 cannot say. */
static int classify(category *cats, int64_t *pcts, group *groups, size_t *group_count,
	const billing__cii_source *src)
{
	const billing_invoice *inv = src->inv;
	size_t i, n = billing_invoice_line_count(inv), outside = 0;
	int64_t net = 0, tax = 0;
	int rc;

	*group_count = 0;
	for (i = 0; i < n; i++) {
		const billing_invoice_line *l = billing_invoice_line_at(inv, i);
		if ((rc = line_category(&cats[i], &pcts[i], src, l, i)) < 0)
			return rc;
		outside += cats[i] == CAT_O;
		if ((rc = group_add(groups, group_count, cats[i], pcts[i], l->taxable_amount,
			l->tax_amount)) < 0)
			return rc;
		if (__builtin_add_overflow(net, l->taxable_amount, &net) ||
		    __builtin_add_overflow(tax, l->tax_amount, &tax))
			return billing__error_set(BILLING_EOVERFLOW, "overflow", "the sums overflow");
	}
	/* BR-O-11..14: "not subject to VAT" is an invoice of its own. */
	if (outside && outside < n)
		return billing__error_field(BILLING_ECONFLICT, "einvoice_unsupported", "lines",
			"untaxed lines beside taxed ones: EN 16931 puts lines outside the scope of VAT "
			"(category O) on an invoice of their own");
	/* The invoice's own sums (total = subtotal - discount + tax, the
	 * subtotal the lines' nets plus their discounts) are the e-invoice's. */
	if (tax != billing_invoice_tax(inv) || net + tax != billing_invoice_total(inv))
		return billing__error_set(BILLING_ERROR, "internal",
			"the invoice's lines do not add up to its total");
	return BILLING_OK;
}

/* One line of the document, an invoice line's or a credit-note line's:
 * net (BT-131) = the amount before the discount - discount, without the
 * tax an inclusive rate holds. */
typedef struct {
	const char *description;
	int64_t quantity, unit_amount;
	int64_t taxable, discount, tax;
	int64_t period_start, period_end;
	category cat;
	int64_t pct4;
} item;

static void line(writer *x, const item *l, size_t i)
{
	int64_t net = l->taxable, discount = l->discount, gross = net + discount;
	uint64_t magnitude = gross < 0 ? (uint64_t)0 - (uint64_t)gross : (uint64_t)gross;
	uint64_t unit = l->unit_amount < 0 ? (uint64_t)0 - (uint64_t)l->unit_amount :
		(uint64_t)l->unit_amount;
	int64_t q = l->quantity;
	category cat = l->cat;
	/* BT-146 is never negative (BR-27): a credit line is a negative
	 * quantity at a positive price. The unit price when it makes the net
	 * before the discount exactly, else that net for the whole quantity
	 * (BT-149, the price's base quantity): a tiered line, or a line whose
	 * inclusive tax left a net that is no multiple of its quantity. */
	uint64_t product;
	int per_unit = q > 0 && !__builtin_mul_overflow(unit, (uint64_t)q, &product) &&
		product == magnitude;
	char id[24], pct[32];

	open_el(x, "ram", "IncludedSupplyChainTradeLineItem");
	open_el(x, "ram", "AssociatedDocumentLineDocument");
	snprintf(id, sizeof(id), "%zu", i + 1);
	text_el(x, "ram", "LineID", id);
	close_el(x);
	open_el(x, "ram", "SpecifiedTradeProduct");
	text_el(x, "ram", "Name", l->description && l->description[0] ? l->description : "-");
	close_el(x);
	open_el(x, "ram", "SpecifiedLineTradeAgreement");
	open_el(x, "ram", "NetPriceProductTradePrice");
	amount_el(x, "ChargeAmount", (int64_t)(per_unit ? unit : magnitude), 0);
	if (!per_unit && q > 0)
		quantity_el(x, "BasisQuantity", q);
	close_el(x);
	close_el(x);
	open_el(x, "ram", "SpecifiedLineTradeDelivery");
	quantity_el(x, "BilledQuantity", gross < 0 ? -q : q);
	close_el(x);
	open_el(x, "ram", "SpecifiedLineTradeSettlement");
	open_el(x, "ram", "ApplicableTradeTax");
	text_el(x, "ram", "TypeCode", "VAT");
	text_el(x, "ram", "CategoryCode", category_code[cat]);
	if (cat != CAT_O) {
		percent(pct, sizeof(pct), l->pct4);
		text_el(x, "ram", "RateApplicablePercent", pct);
	}
	close_el(x);
	if (l->period_end > l->period_start) {
		open_el(x, "ram", "BillingSpecifiedPeriod");
		date_el(x, "StartDateTime", l->period_start);
		date_el(x, "EndDateTime", l->period_end - 1);
		close_el(x);
	}
	/* The line's discount (BG-27; a credit line's, of its sign, is a
	 * charge that makes the credit smaller: BG-28). */
	if (discount) {
		open_el(x, "ram", "SpecifiedTradeAllowanceCharge");
		open_el(x, "ram", "ChargeIndicator");
		text_el(x, "udt", "Indicator", discount > 0 ? "false" : "true");
		close_el(x);
		amount_el(x, "ActualAmount", discount > 0 ? discount : -discount, 0);
		if (discount > 0)
			text_el(x, "ram", "ReasonCode", "95");   /* UNTDID 5189: discount */
		text_el(x, "ram", "Reason", discount > 0 ? "Discount" :
			"Discount on a credit line");
		close_el(x);
	}
	open_el(x, "ram", "SpecifiedTradeSettlementLineMonetarySummation");
	amount_el(x, "LineTotalAmount", net, 0);
	close_el(x);
	close_el(x);
	close_el(x);
}

static void party(writer *x, const char *element, const char *name, const cJSON *addr,
	const char *email, const char *vat, const char *other_id)
{
	open_el(x, "ram", element);
	text_el(x, "ram", "Name", name);
	address(x, addr);
	if (email) {
		open_el(x, "ram", "URIUniversalCommunication");
		open_el(x, "ram", "URIID");
		attr(x, "schemeID", "EM");
		if (x->rc == BILLING_OK)
			fail(x, xmlTextWriterWriteString(x->w, BAD_CAST email));
		close_el(x);
		close_el(x);
	}
	if (other_id)
		tax_registration(x, "FC", other_id);
	if (vat)
		tax_registration(x, "VA", vat);
	close_el(x);
}

static void breakdown(writer *x, const group *g, const billing_invoice *inv)
{
	char pct[32];
	open_el(x, "ram", "ApplicableTradeTax");
	amount_el(x, "CalculatedAmount", g->tax, 0);
	text_el(x, "ram", "TypeCode", "VAT");
	if (g->cat == CAT_AE)
		text_el(x, "ram", "ExemptionReason", billing_invoice_tax_note(inv) ?
			billing_invoice_tax_note(inv) : "Reverse charge");
	else if (g->cat == CAT_E)
		text_el(x, "ram", "ExemptionReason", EXEMPT_TEXT);
	else if (g->cat == CAT_O)
		text_el(x, "ram", "ExemptionReason", OUTSIDE_TEXT);
	amount_el(x, "BasisAmount", g->basis, 0);
	text_el(x, "ram", "CategoryCode", category_code[g->cat]);
	if (g->cat == CAT_AE)
		text_el(x, "ram", "ExemptionReasonCode", "VATEX-EU-AE");
	else if (g->cat == CAT_O)
		text_el(x, "ram", "ExemptionReasonCode", "VATEX-EU-O");
	if (g->cat != CAT_O) {
		percent(pct, sizeof(pct), g->pct4);
		text_el(x, "ram", "RateApplicablePercent", pct);
	}
	close_el(x);
}

/* What the document's header says, an invoice's or a credit note's. */
typedef struct {
	const char *type_code;          /* BT-3: 380 an invoice, 381 a credit note */
	const char *number;             /* BT-1 */
	int64_t issued_at;              /* BT-2 */
	const char *notes[2];           /* BT-22; NULL: none */
	int64_t period_start, period_end;   /* BT-73/74; none when end <= start */
	int64_t due_date;               /* BT-9; 0: none */
	int send;                       /* payment means 1 and BT-83 */
	const char *terms;              /* BT-20; NULL: no payment terms */
	int64_t net, tax, total, due;   /* BT-106/109, BT-110, BT-112, BT-115 */
	const char *ref_number;         /* BT-25, the invoice credited; NULL: none */
	int64_t ref_date;               /* BT-26 */
} head;

/* The whole document; x->rc says how it went. */
static void document(writer *x, const billing__cii_source *src, const head *h,
	const item *items, size_t n, const group *groups, size_t group_count,
	const cJSON *seller_addr, const cJSON *buyer_addr, const cJSON *buyer_ids)
{
	const billing_invoice *inv = src->inv;
	size_t i;
	int outside = n > 0 && items[0].cat == CAT_O;
	char seller_vat[BILLING__TAX_ID_VALUE_MAX], buyer_id[BILLING__TAX_ID_VALUE_MAX];
	const char *svat = NULL, *sother = NULL;

	/* BR-O-2..4: no VAT identifier on an invoice outside the scope of
	 * VAT; the seller's id is then its tax registration (BT-32). */
	if (src->seller_tax_id) {
		if (!outside && vat_id(seller_vat, src->seller_tax_id))
			svat = seller_vat;
		else
			sother = src->seller_tax_id;
	}
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL));
	open_el(x, "rsm", "CrossIndustryInvoice");
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST "xmlns:rsm", BAD_CAST NS_RSM));
	attr(x, "xmlns:ram", NS_RAM);
	attr(x, "xmlns:udt", NS_UDT);
	attr(x, "xmlns:qdt", NS_QDT);

	open_el(x, "rsm", "ExchangedDocumentContext");
	open_el(x, "ram", "GuidelineSpecifiedDocumentContextParameter");
	text_el(x, "ram", "ID", GUIDELINE);                             /* BT-24 */
	close_el(x);
	close_el(x);

	open_el(x, "rsm", "ExchangedDocument");
	text_el(x, "ram", "ID", h->number);                            /* BT-1 */
	text_el(x, "ram", "TypeCode", h->type_code);                   /* BT-3 */
	date_el(x, "IssueDateTime", h->issued_at);                     /* BT-2 */
	for (i = 0; i < 2; i++)                                        /* BT-22 */
		if (h->notes[i]) {
			open_el(x, "ram", "IncludedNote");
			text_el(x, "ram", "Content", h->notes[i]);
			close_el(x);
		}
	close_el(x);

	open_el(x, "rsm", "SupplyChainTradeTransaction");
	for (i = 0; i < n; i++)
		line(x, &items[i], i);

	open_el(x, "ram", "ApplicableHeaderTradeAgreement");
	party(x, "SellerTradeParty", src->seller_name, seller_addr, NULL, svat, sother);
	party(x, "BuyerTradeParty", src->buyer_name, buyer_addr,
		src->buyer_email && src->buyer_email[0] ? src->buyer_email : NULL,
		!outside && buyer_vat(buyer_id, buyer_ids) ? buyer_id : NULL, NULL);
	close_el(x);
	open_el(x, "ram", "ApplicableHeaderTradeDelivery");
	close_el(x);

	open_el(x, "ram", "ApplicableHeaderTradeSettlement");
	if (h->send)
		text_el(x, "ram", "PaymentReference", h->number);             /* BT-83 */
	text_el(x, "ram", "InvoiceCurrencyCode", x->currency);                   /* BT-5 */
	/* BT-81: 1, instrument not defined. libbilling keeps no bank account
	 * of the seller, without which a credit transfer (58) cannot be said. */
	if (h->send) {
		open_el(x, "ram", "SpecifiedTradeSettlementPaymentMeans");
		text_el(x, "ram", "TypeCode", "1");
		close_el(x);
	}
	for (i = 0; i < group_count; i++)
		breakdown(x, &groups[i], inv);
	if (h->period_end > h->period_start) {                                   /* BT-73/74 */
		open_el(x, "ram", "BillingSpecifiedPeriod");
		date_el(x, "StartDateTime", h->period_start);
		date_el(x, "EndDateTime", h->period_end - 1);
		close_el(x);
	}
	/* BR-CO-25: an amount due has a due date or payment terms. */
	if (h->terms) {
		open_el(x, "ram", "SpecifiedTradePaymentTerms");
		text_el(x, "ram", "Description", h->terms);                      /* BT-20 */
		if (h->due_date)
			date_el(x, "DueDateDateTime", h->due_date);              /* BT-9 */
		close_el(x);
	}
	open_el(x, "ram", "SpecifiedTradeSettlementHeaderMonetarySummation");
	amount_el(x, "LineTotalAmount", h->net, 0);                            /* BT-106 */
	amount_el(x, "TaxBasisTotalAmount", h->net, 0);                        /* BT-109 */
	amount_el(x, "TaxTotalAmount", h->tax, 1);                             /* BT-110 */
	amount_el(x, "GrandTotalAmount", h->total, 0);                         /* BT-112 */
	amount_el(x, "TotalPrepaidAmount", h->total - h->due, 0);              /* BT-113 */
	amount_el(x, "DuePayableAmount", h->due, 0);                           /* BT-115 */
	close_el(x);
	if (h->ref_number) {                                                     /* BG-3 */
		open_el(x, "ram", "InvoiceReferencedDocument");
		text_el(x, "ram", "IssuerAssignedID", h->ref_number);            /* BT-25 */
		open_el(x, "ram", "FormattedIssueDateTime");                     /* BT-26 */
		{
			char day[16];
			int rc = day102(day, sizeof(day), h->ref_date);
			if (rc < 0 && x->rc == BILLING_OK)
				x->rc = rc;
			open_el(x, "qdt", "DateTimeString");
			attr(x, "format", "102");
			if (x->rc == BILLING_OK)
				fail(x, xmlTextWriterWriteString(x->w, BAD_CAST day));
			close_el(x);
		}
		close_el(x);
		close_el(x);
	}
	close_el(x);   /* ApplicableHeaderTradeSettlement */
	close_el(x);   /* SupplyChainTradeTransaction */
	close_el(x);   /* CrossIndustryInvoice */
	if (x->rc == BILLING_OK)
		fail(x, xmlTextWriterEndDocument(x->w));
}

/* The invoice's header and lines (cats, pcts its lines' categories). */
static void invoice_head(head *h, item *items, const billing_invoice *inv, const category *cats,
	const int64_t *pcts)
{
	size_t i, n = billing_invoice_line_count(inv);
	int send = billing_invoice_collection_method(inv) == BILLING_SEND_INVOICE;

	memset(h, 0, sizeof(*h));
	h->type_code = "380";                                   /* commercial invoice */
	h->number = billing_invoice_number(inv);
	h->issued_at = billing_invoice_finalized_at(inv);
	h->notes[0] = billing_invoice_memo(inv);
	h->notes[1] = billing_invoice_footer(inv);
	h->period_start = billing_invoice_period_start(inv);
	h->period_end = billing_invoice_period_end(inv);
	h->due_date = billing_invoice_due_date(inv);
	h->send = send;
	h->total = billing_invoice_total(inv);
	h->tax = billing_invoice_tax(inv);
	h->net = h->total - h->tax;
	h->due = billing_invoice_amount_due(inv);
	if (h->due_date || h->due > 0)
		h->terms = send ? "Payable by the due date, quoting the invoice number" :
			"Collected from the customer's payment method on file";
	for (i = 0; i < n; i++) {
		const billing_invoice_line *l = billing_invoice_line_at(inv, i);
		items[i].description = l->description;
		items[i].quantity = l->quantity;
		items[i].unit_amount = l->unit_amount;
		items[i].taxable = l->taxable_amount;
		items[i].discount = l->discount_amount;
		items[i].tax = l->tax_amount;
		items[i].period_start = l->period_start;
		items[i].period_end = l->period_end;
		items[i].cat = cats[i];
		items[i].pct4 = pcts[i];
	}
}

static int64_t jint(const cJSON *o, const char *name)
{
	int64_t v = 0;
	(void)billing__jx_int(cJSON_GetObjectItemCaseSensitive(o, name), &v);
	return v;
}

/* The credit note's header and lines (docs/billing.md "A credit note's
 * e-invoice"): each note line takes the category and rate of the invoice
 * line it credits (cats, pcts the invoice's); a lump note (no lines) is
 * one line of the invoice's one category and rate, refused when the
 * invoice has several. *count receives the lines' count; groups the
 * note's breakdown. Positive amounts, as a credit note states them. */
static int note_head(head *h, item *items, size_t *count, group *groups, size_t *group_count,
	const billing__cii_source *src, const cJSON *lines, const category *cats,
	const int64_t *pcts, const group *inv_groups, size_t inv_group_count)
{
	const struct billing_credit_note *cn = src->cn;
	const billing_invoice *inv = src->inv;
	size_t i, k, n = billing_invoice_line_count(inv);
	int64_t net = 0, tax = 0;
	const cJSON *l;
	char id[128];
	int rc;

	memset(h, 0, sizeof(*h));
	h->type_code = "381";                                   /* credit note */
	h->number = cn->number;
	h->issued_at = cn->created_at;
	h->notes[0] = cn->memo;
	h->total = cn->total;
	h->tax = cn->tax;
	h->net = cn->subtotal;
	/* What the note leaves to pay back to the buyer: its refund. A note
	 * before payment lowered the invoice's amount due (whose e-invoice
	 * counts it in BT-113), a credit to the balance is taken by the next
	 * invoices (likewise), an amount settled outside is settled. */
	h->due = cn->refund_amount;
	if (h->due > 0)
		h->terms = "Refunded to the payment method the invoice was paid with";
	h->ref_number = billing_invoice_number(inv);
	h->ref_date = billing_invoice_finalized_at(inv);

	*count = 0;
	*group_count = 0;
	cJSON_ArrayForEach(l, lines) {
		const cJSON *lid = cJSON_GetObjectItemCaseSensitive(l, "invoiceLineId");
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(l, "description");
		const cJSON *d;
		item *it = &items[*count];
		int64_t q = 0, discount = 0;
		for (k = 0; cJSON_IsString(lid) && k < n; k++)
			if (billing__invoice_line_id(id, sizeof(id), billing_invoice_id(inv), k) ==
			    BILLING_OK && strcmp(id, lid->valuestring) == 0)
				break;
		if (!cJSON_IsString(lid) || k == n)
			return billing__error_set(BILLING_ERROR, "internal",
				"a credit note's line names no line of its invoice");
		cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(l, "discountAmounts"))
			discount += jint(d, "amount");
		memset(it, 0, sizeof(*it));
		it->description = cJSON_IsString(desc) ? desc->valuestring : NULL;
		it->taxable = jint(l, "amountExcludingTax");
		it->discount = discount;
		it->tax = jint(l, "taxAmount");
		/* By quantity: the invoice line's unit price; by amount: one. */
		if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(l, "quantity"), &q) ==
		    BILLING__JX_INT_OK && q > 0) {
			it->quantity = q;
			it->unit_amount = billing_invoice_line_at(inv, k)->unit_amount;
		} else {
			it->quantity = 1;
			it->unit_amount = jint(l, "amount");
		}
		it->period_start = billing_invoice_line_at(inv, k)->period_start;
		it->period_end = billing_invoice_line_at(inv, k)->period_end;
		it->cat = cats[k];
		it->pct4 = pcts[k];
		(*count)++;
	}
	if (*count == 0) {
		/* A lump amount has no line: the model knows its category only
		 * when the invoice has one. */
		if (inv_group_count != 1)
			return billing__error_field(BILLING_ECONFLICT, "einvoice_unsupported",
				"amount", "a credit note of an amount on an invoice of %zu VAT "
				"categories or rates cannot say which it credits; credit the "
				"invoice's lines instead", inv_group_count);
		memset(&items[0], 0, sizeof(items[0]));
		items[0].description = "Credit";
		items[0].quantity = 1;
		items[0].unit_amount = cn->subtotal;
		items[0].taxable = cn->subtotal;
		items[0].tax = cn->tax;
		items[0].cat = inv_groups[0].cat;
		items[0].pct4 = inv_groups[0].pct4;
		*count = 1;
	}
	for (i = 0; i < *count; i++) {
		if ((rc = group_add(groups, group_count, items[i].cat, items[i].pct4,
			items[i].taxable, items[i].tax)) < 0)
			return rc;
		if (__builtin_add_overflow(net, items[i].taxable, &net) ||
		    __builtin_add_overflow(tax, items[i].tax, &tax))
			return billing__error_set(BILLING_EOVERFLOW, "overflow", "the sums overflow");
	}
	if (net != cn->subtotal || tax != cn->tax)
		return billing__error_set(BILLING_ERROR, "internal",
			"the credit note's lines do not add up to its total");
	return BILLING_OK;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* libxml2 sets up its globals on first use, which is not safe when two
 * threads race to it: once, here. */
static void xml_init(void)
{
	xmlInitParser();
}

/* The party's address, whose country EN 16931 needs (BR-9, BR-11). */
static int party_address(cJSON **out, const char *json, const char *field, const char *whose)
{
	*out = json ? cJSON_Parse(json) : NULL;
	if (json && !*out)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (!member(*out, "country"))
		return billing__error_field(BILLING_ECONFLICT, "einvoice_incomplete", field,
			"the %s address has no country, which an EN 16931 invoice needs", whose);
	return BILLING_OK;
}

int billing__doc_cii(char **out, size_t *len, const billing__cii_source *src)
{
	const billing_invoice *inv = src->inv;
	size_t n = billing_invoice_line_count(inv), group_count = 0;
	category *cats = NULL;
	int64_t *pcts = NULL;
	item *items = NULL;
	group groups[GROUPS_MAX], note_groups[GROUPS_MAX];
	head h;
	cJSON *note_lines = NULL;
	size_t count = n;
	cJSON *seller_addr = NULL, *buyer_addr = NULL, *buyer_ids = NULL;
	xmlBufferPtr buf = NULL;
	writer x = { NULL, billing_invoice_currency(inv), 0, BILLING_OK };
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = billing_currency_exponent(x.currency)) < 0)
		return rc;
	x.exponent = rc;
	if ((rc = party_address(&seller_addr, src->seller_address_json, "branding.address.country",
		"seller's (the tenant's branding)")) < 0 ||
	    (rc = party_address(&buyer_addr, src->buyer_address_json, "address.country",
		"buyer's (the customer's)")) < 0)
		goto done;
	if ((cats = billing__calloc(n ? n : 1, sizeof(*cats))) == NULL ||
	    (pcts = billing__calloc(n ? n : 1, sizeof(*pcts))) == NULL ||
	    /* a note has at most as many lines as its invoice, and a lump one */
	    (items = billing__calloc(n ? n : 1, sizeof(*items))) == NULL ||
	    (src->buyer_tax_ids_json && (buyer_ids = cJSON_Parse(src->buyer_tax_ids_json)) == NULL)) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	/* A credit note's lines take their categories from the invoice's,
	 * so the invoice is classified (and refused) first either way. */
	if ((rc = classify(cats, pcts, groups, &group_count, src)) < 0)
		goto done;
	if (!src->cn) {
		invoice_head(&h, items, inv, cats, pcts);
	} else {
		cJSON *root = cJSON_Parse(src->cn->lines_json);
		if (!root) {
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			goto done;
		}
		note_lines = root;
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "data")) > (int)n) {
			rc = billing__error_set(BILLING_ERROR, "internal",
				"a credit note has more lines than its invoice");
			goto done;
		}
		if ((rc = note_head(&h, items, &count, note_groups, &group_count, src,
			cJSON_GetObjectItemCaseSensitive(root, "data"), cats, pcts, groups,
			group_count)) < 0)
			goto done;
		memcpy(groups, note_groups, group_count * sizeof(groups[0]));
	}

	pthread_once(&xml_once, xml_init);
	if ((buf = xmlBufferCreate()) == NULL || (x.w = xmlNewTextWriterMemory(buf, 0)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	fail(&x, xmlTextWriterSetIndent(x.w, 1));
	document(&x, src, &h, items, count, groups, group_count, seller_addr, buyer_addr,
		buyer_ids);
	xmlFreeTextWriter(x.w);   /* flushes into buf */
	if ((rc = x.rc) < 0)
		goto done;
	*len = (size_t)xmlBufferLength(buf);
	if ((*out = billing__malloc(*len + 1)) == NULL) {
		*len = 0;
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	memcpy(*out, xmlBufferContent(buf), *len);
	(*out)[*len] = '\0';
done:
	if (buf)
		xmlBufferFree(buf);
	cJSON_Delete(seller_addr);
	cJSON_Delete(buyer_addr);
	cJSON_Delete(buyer_ids);
	cJSON_Delete(note_lines);
	billing__free(items);
	billing__free(cats);
	billing__free(pcts);
	return rc;
}
