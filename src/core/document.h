/*
 * Invoice and credit-note documents (issue #24): the layout description every renderer
 * walks, the locales, and the formatting of amounts, dates and numbers.
 *
 * A document is built once from what one read transaction saw (the
 * invoice with its lines, its customer, the tenant, the tax rates it
 * names) into a flat list of nodes whose texts are already formatted for
 * the locale. The HTML renderer (document_html.c) and the PDF renderer
 * that follows walk the same list: they decide how a node looks, never
 * what it says, so the two formats cannot disagree.
 */
#ifndef BILLING_CORE_DOCUMENT_H
#define BILLING_CORE_DOCUMENT_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ locales */

/* The labels of a document, one row of every locale's table. */
typedef enum {
	BILLING__L_INVOICE,
	BILLING__L_DRAFT,
	BILLING__L_NUMBER,
	BILLING__L_ISSUED,
	BILLING__L_DUE,
	BILLING__L_PERIOD,
	BILLING__L_FROM,
	BILLING__L_BILL_TO,
	BILLING__L_TAX_ID,
	BILLING__L_DESCRIPTION,
	BILLING__L_QUANTITY,
	BILLING__L_UNIT_PRICE,
	BILLING__L_TAX,
	BILLING__L_AMOUNT,
	BILLING__L_TIER,
	BILLING__L_DISCOUNT,
	BILLING__L_SUBTOTAL,
	BILLING__L_TOTAL,
	BILLING__L_TAX_BREAKDOWN,
	BILLING__L_INCLUSIVE,
	BILLING__L_CREDIT_NOTES,
	BILLING__L_BALANCE_APPLIED,
	BILLING__L_AMOUNT_PAID,
	BILLING__L_AMOUNT_DUE,
	BILLING__L_STATUS,
	BILLING__L_PAYMENT_INSTRUCTIONS,
	BILLING__L_PAY_BY,
	BILLING__L_REVERSE_CHARGE,
	BILLING__L_MEMO,
	BILLING__L_STATUS_DRAFT,
	BILLING__L_STATUS_PENDING,
	BILLING__L_STATUS_PAID,
	BILLING__L_STATUS_FAILED,
	BILLING__L_STATUS_VOID,
	BILLING__L_STATUS_UNCOLLECTIBLE,
	BILLING__L_PAGE_OF,           /* "Page {n} of {m}": the PDF's footer */
	/* credit notes */
	BILLING__L_CREDIT_NOTE,
	BILLING__L_CREDIT_NOTE_NUMBER,
	BILLING__L_CREDITED_INVOICE,
	BILLING__L_REASON,
	BILLING__L_REASON_DUPLICATE,
	BILLING__L_REASON_FRAUDULENT,
	BILLING__L_REASON_ORDER_CHANGE,
	BILLING__L_REASON_PRODUCT_UNSATISFACTORY,
	BILLING__L_REFUNDED,
	BILLING__L_CREDITED_TO_BALANCE,
	BILLING__L_OUT_OF_BAND,
	BILLING__L_STATUS_ISSUED,
	BILLING__L_PACKAGES,          /* a package line's detail: "Packages: 2 x 5.00" */
	BILLING__L_COUNT
} billing__label;

/* How one locale writes numbers, money and dates (CLDR's choices for
 * these locales, simplified to what an invoice needs). */
typedef struct {
	const char *tag;          /* "de-DE" */
	const char *decimal;      /* "," */
	const char *group;        /* "." ; fr-FR: U+202F narrow no-break space */
	int min_grouping;         /* digits before a group separator is used: es-ES 5 */
	int symbol_after;         /* 1: "1.234,56 €"; 0: "€1,234.56" */
	const char *symbol_space; /* between amount and symbol: "" or U+00A0 */
	const char *percent;      /* "%" or U+00A0 "%" */
	int date_order;           /* BILLING__DATE_MDY, _DMY, _YMD */
	const char *date_sep;     /* "/", ".", "/" */
	const char *labels[BILLING__L_COUNT];
} billing__locale;

enum { BILLING__DATE_MDY = 1, BILLING__DATE_DMY, BILLING__DATE_YMD };

/* The locale of tag (exact, case-insensitive: "de-de" is de-DE), or NULL
 * when it is not one of the supported ones. */
const billing__locale *billing__locale_find(const char *tag);

/* The supported locales (static storage); *count receives their number. */
const billing__locale *billing__locales(size_t *count);

/* amount (minor units of currency) written for the locale into out:
 * "€1,234.56" (en-US), "1.234,56 €" (de-DE), "1 234,56 €" (fr-FR),
 * "¥1,235" (JPY has no minor unit). A negative amount starts with "-".
 * Returns the length, or BILLING_EINVALID for an unknown currency, or
 * BILLING_EOVERFLOW when out is too small. */
int billing__doc_money(char *out, size_t size, const billing__locale *loc, int64_t amount,
	const char *currency);

/* A whole number with the locale's grouping ("1,234", "1.234"). */
int billing__doc_integer(char *out, size_t size, const billing__locale *loc, int64_t n);

/* A tax rate's percentage (10^-4 percent: 72500 is 7.25 %) as "7.25%"
 * (en) or "7,25 %" (de-DE, fr-FR). */
int billing__doc_percent(char *out, size_t size, const billing__locale *loc, int64_t pct4);

/* The UTC day of t in the locale's order: "01/31/2026" (en-US),
 * "31/01/2026" (en-GB), "31.01.2026" (de-DE), "2026/01/31" (ja-JP). */
int billing__doc_date(char *out, size_t size, const billing__locale *loc, int64_t t);

/* ------------------------------------------------------------ layout */

typedef enum {
	BILLING__DOC_TITLE,    /* text[0] title, text[1] the DRAFT mark or NULL, text[2] the
	                          logo as a data: URI (base64 PNG or JPEG) or NULL */
	BILLING__DOC_PARTY,    /* text[0] heading, text[1..] lines (NULL ends) */
	BILLING__DOC_FIELD,    /* text[0] label, text[1] value */
	BILLING__DOC_HEAD,     /* the lines' table header: text[0..4] */
	BILLING__DOC_ROW,      /* a line: description, quantity, unit price, tax, amount */
	BILLING__DOC_DETAIL,   /* under a line: text[0] what (a tier, a discount), text[4] amount */
	BILLING__DOC_SUM,      /* text[0] label, text[1] amount; strong: the amount due */
	BILLING__DOC_NOTE      /* text[0] heading, text[1] text */
} billing__doc_kind;

#define BILLING__DOC_TEXTS 16

typedef struct {
	billing__doc_kind kind;
	int strong;
	const char *text[BILLING__DOC_TEXTS]; /* owned by the document */
} billing__doc_node;

typedef struct {
	const billing__locale *locale;
	char accent[8];             /* "#rrggbb" */
	char *title;                /* for <title> and the PDF's metadata */
	int64_t issued_at;          /* the PDF's creation date: finalized, else created */
	billing__doc_node *nodes;
	size_t count, cap;
	char **texts;               /* every string the nodes point to */
	size_t text_count, text_cap;
} billing__doc;

/* Appends a node of kind whose texts (NULL-terminated, at most
 * BILLING__DOC_TEXTS) are copied; a NULL text stays NULL. */
int billing__doc_add(billing__doc *d, billing__doc_kind kind, int strong, const char *const *texts,
	size_t n);
void billing__doc_clear(billing__doc *d);

/* The document as self-contained HTML (inline CSS, no scripts; every text
 * through billing__html_escape) into *out (new, billing_free), *len its
 * length. */
int billing__doc_html(char **out, size_t *len, const billing__doc *d);

/* The document as PDF (A4, cairo + pango, fonts embedded and subset) into
 * *out (new, billing_free), *len its length; drawn in memory, never
 * through a file. The same document gives the same bytes: the creation
 * date is d->issued_at. Long tables break across pages with the header
 * repeated, every page numbered "n of m". The title node's logo is drawn
 * in the seller's block (the first party node); one that cannot be read is
 * left out (document_pdf.c says how). Compiled only with
 * BILLING_PDF (CMake option BILLING_PDF, on when cairo and pango are
 * found); without it billing_invoice_render answers BILLING_EINVALID,
 * reason "unsupported_format". */
int billing__doc_pdf(char **out, size_t *len, const billing__doc *d);

/* The Factur-X invoice (document_facturx.c, qpdf's C API): pdf (the
 * document's PDF, as billing__doc_pdf made it from d) turned into
 * PDF/A-3B with xml (its CII) attached as factur-x.xml, XMP metadata whose
 * title and dates are the Info dictionary's (d->title, d->issued_at), an
 * sRGB output intent and a content-derived /ID, into *out (new,
 * billing_free), *len its length; the same inputs give the same bytes.
 * Compiled only with BILLING_FACTURX. BILLING_ERROR when qpdf fails,
 * BILLING_ENOMEM; nothing is made then. */
int billing__doc_facturx(char **out, size_t *len, const char *pdf, size_t pdf_len,
	const char *xml, size_t xml_len, const billing__doc *d);

/* ------------------------------------------------------------ e-invoice */

struct billing_invoice;

/* A tax rate the invoice names: its id and percentage (10^-4 percent). */
typedef struct {
	const char *id;
	int64_t percentage;
} billing__cii_rate;

/* What the e-invoice of a finalized invoice is made of (document.c reads
 * it in its one read transaction; every pointer borrowed). */
typedef struct {
	const struct billing_invoice *inv;
	const char *seller_name;          /* the branding's legal name, else the tenant's */
	const char *seller_address_json;  /* NULL: none */
	const char *seller_tax_id;        /* NULL: none */
	const char *buyer_name, *buyer_email;
	const char *buyer_address_json;   /* NULL: none */
	const char *buyer_tax_ids_json;   /* [{type, value}] */
	const billing__cii_rate *rates;
	size_t rate_count;
	/* A credit note of inv (an issued one): its e-invoice (type 381)
	 * rather than the invoice's; NULL: the invoice's (380). */
	const struct billing_credit_note *cn;
} billing__cii_source;

/* The invoice, or src->cn when set (a credit note, type 381, naming the
 * invoice as BT-25/BT-26), as UN/CEFACT CII XML of the EN 16931 profile
 * (document_cii.c, libxml2's xmlTextWriter) into *out (new, billing_free;
 * NUL-terminated), *len its length. BILLING_ECONFLICT (reasons
 * "einvoice_incomplete", "einvoice_unsupported") for what EN 16931 needs
 * and the invoice, or the note, cannot give; nothing is made then. */
int billing__doc_cii(char **out, size_t *len, const billing__cii_source *src);

/* s (UTF-8) escaped for HTML text and attribute values: & < > " ' become
 * entities. Appended to the growing buffer (*buf, *len, *cap). */
int billing__html_escape(char **buf, size_t *len, size_t *cap, const char *s);

#endif
