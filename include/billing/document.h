/**
 * @file billing/document.h
 * @brief Invoice and credit-note documents (issue #24): what a customer
 * receives.
 *
 * billing_invoice_render() reads an invoice, its customer, the tenant and
 * the tax rates the invoice names in one read transaction of its own (never
 * inside a write), builds one layout description of it and writes that in
 * the format asked for. The document shows the seller (the tenant), the
 * buyer (the customer's name, e-mail and tax ids), the number, the dates
 * (issued, due, period), every line (description, quantity, unit price,
 * the line's tax, amount, the tiers a tiered line used and the discount it
 * took), the subtotal, the discount, the tax per rate (totalTaxAmounts),
 * the total, the credit notes and the customer balance applied, the amount
 * paid, the amount due, the status, the payment instructions of a
 * send_invoice invoice and the reverse-charge note (taxNote). A draft is
 * marked "DRAFT" (in the locale's words).
 *
 * Locales (one table): en-US, en-GB, de-DE, fr-FR, es-ES, ja-JP: decimal
 * and grouping separators, the currency symbol's place, the order of a
 * date's parts, translated labels. Amounts use the currency's minor-unit
 * exponent (billing_currency_exponent). Dates are the UTC day.
 *
 * HTML is one self-contained page: inline CSS, no scripts, no external
 * resources; every text of the invoice is escaped by one function.
 *
 * PDF is drawn from the same layout description by cairo, its text shaped
 * by pango (Latin, Cyrillic, Greek, CJK, right-to-left scripts) in
 * Debian's Noto fonts, embedded and subset: A4, the lines as a table that
 * breaks across pages with its header repeated, every page numbered
 * ("Page 1 of 3", in the locale's words). It is made in memory, never
 * through a file, and the same invoice gives the same bytes (the PDF's
 * creation date is the invoice's issue date, or its creation for a
 * draft). A library built without cairo and pango (CMake option
 * BILLING_PDF OFF) answers BILLING_EINVALID, reason "unsupported_format".
 *
 * The e-invoice (BILLING_DOCUMENT_CII) is the CII XML of the EN 16931
 * profile, written with libxml2 from the same read: the business terms
 * BT-1 (number), BT-2 (date of issue), BT-3 (380), BT-5, BT-9, BT-24, the
 * seller (BT-27 legal name, its address with BT-40, BT-31 its VAT id when
 * its tax id is one, else BT-32), the buyer (BT-44, the address with
 * BT-55, BT-48 its first VAT id, BT-49 its e-mail), a line per invoice
 * line (BT-126, BT-153, BT-129 in unit C62, BT-146 net price, BT-131 net
 * amount after the line's discount, which is the line's allowance BG-27,
 * BT-151, BT-152), the VAT breakdown per category and rate (S, Z, E, AE
 * with its exemption text, O), the totals (BT-106 to BT-115) and the
 * billing period (BT-73, BT-74). Amounts are written from minor units with
 * the currency's digits. It is not the PDF/A-3 with the XML embedded.
 * What EN 16931 cannot say is refused, never guessed (BILLING_ECONFLICT):
 * reason "draft" for a draft (it has no number), "einvoice_incomplete"
 * (field "branding.address.country" or "address.country") when the
 * seller's or the buyer's country is not known, "einvoice_unsupported" for
 * a line taxed at more than one rate, or untaxed lines beside taxed ones.
 *
 * Factur-X (BILLING_DOCUMENT_FACTURX) is the hybrid of the two: the
 * invoice's PDF, the same pages in the same locale, turned into PDF/A-3B
 * by a post-pass through qpdf: the CII XML above, byte for byte, attached
 * as "factur-x.xml" (text/xml, AFRelationship /Alternative, in the
 * catalog's /AF and its EmbeddedFiles name tree), XMP metadata (pdfaid
 * part 3 conformance B, the Factur-X extension schema: DocumentType
 * INVOICE, DocumentFileName factur-x.xml, Version 1.0, ConformanceLevel
 * EN 16931, dc:title and the dates equal to the Info dictionary's), an
 * output intent (GTS_PDFA1) with an sRGB ICC profile compiled into the
 * library, and a trailer /ID derived from the content: the same invoice
 * gives the same bytes. It is refused as the CII is (draft,
 * einvoice_incomplete, einvoice_unsupported). The PDF/A conformance is
 * checked by the tests' own rules (no PDF/A validator such as veraPDF is
 * available where it was built).
 */
#ifndef BILLING_DOCUMENT_H
#define BILLING_DOCUMENT_H

#include <stddef.h>

#include "common.h"
#include "principal.h"

BILLING_BEGIN_DECL

/** A document's format. */
typedef enum {
	BILLING_DOCUMENT_HTML = 1,  /**< text/html; charset=utf-8 */
	BILLING_DOCUMENT_PDF = 2,   /**< application/pdf (A4; needs a build with PDF support) */
	/** application/xml: the e-invoice, UN/CEFACT Cross Industry Invoice
	 *  (CII D16B) of the EN 16931 profile (Factur-X / ZUGFeRD "EN 16931",
	 *  guideline urn:cen.eu:en16931:2017) of a finalized invoice; invoices
	 *  only (docs/billing.md "E-invoice"). */
	BILLING_DOCUMENT_CII = 3,
	/** application/pdf: the Factur-X invoice (Factur-X 1.0, profile
	 *  EN 16931; ZUGFeRD 2 "EN 16931"), the PDF of BILLING_DOCUMENT_PDF
	 *  made PDF/A-3B with the BILLING_DOCUMENT_CII XML attached as
	 *  "factur-x.xml"; a finalized invoice only, refused as the CII is;
	 *  needs a build with Factur-X support (BILLING_FACTURX: cairo, pango,
	 *  qpdf). */
	BILLING_DOCUMENT_FACTURX = 4
} billing_document_format;

/**
 * Renders an invoice (a draft too, marked as one).
 *
 * @param out    receives the document (new; free with billing_free()), not
 *               NUL-terminated for binary formats; NUL-terminated for HTML
 * @param len    receives its length in bytes
 * @param id     the invoice ("in_...")
 * @param format BILLING_DOCUMENT_HTML, BILLING_DOCUMENT_PDF,
 *               BILLING_DOCUMENT_CII (NUL-terminated XML) or
 *               BILLING_DOCUMENT_FACTURX (a finalized invoice's PDF/A-3
 *               with the CII XML attached)
 * @param locale "en-US", "en-GB", "de-DE", "fr-FR", "es-ES" or "ja-JP"
 *               (case-insensitive); NULL: the customer's preferredLocale,
 *               else the tenant's (billing_branding_locale()), which is
 *               en-US when not set; checked but unused by
 *               BILLING_DOCUMENT_CII (the XML has no words of a language);
 *               BILLING_DOCUMENT_FACTURX uses it for its pages, not for the
 *               XML
 * @return BILLING_OK; BILLING_EFORBIDDEN when the principal may not read
 *         invoices; BILLING_ENOTFOUND when the tenant has no such invoice;
 *         BILLING_EINVALID (field "locale", reason "unsupported_locale")
 *         for another locale, (field "format") for an unknown format, (field
 *         "format", reason "unsupported_format") for PDF from a library
 *         built without PDF support, or Factur-X from one built without
 *         Factur-X support (BILLING_FACTURX);
 *         BILLING_ECONFLICT for CII and Factur-X as the text above says
 *         (reasons "draft", "einvoice_incomplete", "einvoice_unsupported");
 *         BILLING_ERROR when qpdf fails on the PDF (never expected);
 *         BILLING_ENOMEM; a storage error
 */
BILLING_EXTERN(int) billing_invoice_render(char **out, size_t *len, billing_ctx *ctx,
	const billing_principal *who, const char *id, billing_document_format format,
	const char *locale);

/**
 * Renders a credit note (issued or void) from the same layout description
 * as an invoice, read with the invoice it credits, its customer, the
 * tenant, its branding and the tax rates it names in one read transaction
 * of its own: the seller and the buyer as on the invoice, the note's
 * number, the invoice's number, the date of issue, the status, every line
 * (description, quantity and unit price when credited by quantity, the
 * tax, the amount before the line's discount, the discount under it), the
 * subtotal before discounts, the discount, the tax per rate
 * (totalTaxAmounts), the total, how it was paid back (refunded, credited
 * to the balance, settled outside), the reason, the memo and the
 * branding's footer. The locale is chosen as for an invoice: the one
 * asked for, else the customer's preferredLocale, else the tenant's
 * (billing_branding_locale(): en-US when not set).
 *
 * @param out    receives the document (new; free with billing_free()),
 *               NUL-terminated for HTML
 * @param len    receives its length in bytes
 * @param id     the credit note ("cn_...")
 * @param format BILLING_DOCUMENT_HTML or BILLING_DOCUMENT_PDF (as for
 *               billing_invoice_render(): the same layout, the same bytes
 *               for the same note); BILLING_DOCUMENT_CII, the issued
 *               note's e-invoice: the CII XML of EN 16931 with type code
 *               381, naming the invoice it credits (its number and issue
 *               date), each line with the VAT category and rate of the
 *               invoice line it credits, positive totals (docs/billing.md
 *               "A credit note's e-invoice"); BILLING_DOCUMENT_FACTURX is
 *               refused (BILLING_EINVALID, field "format", reason
 *               "unsupported_format")
 * @param locale as for billing_invoice_render(); NULL: the customer's
 * @return BILLING_OK; BILLING_EFORBIDDEN when the principal may not read
 *         credit notes; BILLING_ENOTFOUND when the tenant has no such
 *         credit note; BILLING_EINVALID (field "locale", reason
 *         "unsupported_locale"; field "format", also reason
 *         "unsupported_format" for PDF without PDF support);
 *         BILLING_ECONFLICT for CII: reason "credit_note_void" for a void
 *         note, "einvoice_incomplete" as the invoice's,
 *         "einvoice_unsupported" (field "lines" as the invoice's, field
 *         "amount" for a note of an amount on an invoice of several VAT
 *         categories or rates); BILLING_ENOMEM; a storage error
 */
BILLING_EXTERN(int) billing_credit_note_render(char **out, size_t *len, billing_ctx *ctx,
	const billing_principal *who, const char *id, billing_document_format format,
	const char *locale);

/**
 * Hosted invoice links: a finalized invoice (not a draft) can be shown
 * without a login through an unguessable signed path,
 * "/hosted/invoices/<token>", to which the host prefixes its public base
 * URL (the JSON layer's invoices carry it as hostedInvoiceUrl). The token
 * names the tenant and the invoice and carries an expiry, signed with
 * HMAC-SHA256 by the tenant's own 32-byte secret, which the library makes
 * on first use and keeps apart from every log. A link read on a UTC day
 * expires BILLING_HOSTED_LINK_DAYS + 1 days after that day began (so at
 * least 30 days after any read, the same link all that day); every read
 * after that gives a fresh one. billing_hosted_links_rotate() kills every
 * link of the tenant given before it.
 */
#define BILLING_HOSTED_LINK_DAYS 30

/**
 * The hosted path of a finalized invoice, signed now.
 * @param out receives "/hosted/invoices/<token>" (new; billing_free())
 * @param id  the invoice ("in_...")
 * @return BILLING_OK; BILLING_EFORBIDDEN when the principal may not read
 *         invoices; BILLING_ENOTFOUND when the tenant has no such invoice;
 *         BILLING_ECONFLICT (reason "draft") for a draft; BILLING_ENOMEM; a
 *         storage error
 */
BILLING_EXTERN(int) billing_invoice_hosted_path(char **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

/**
 * The document of a hosted link, for a request that carries no principal:
 * the invoice the token names, in its tenant, in the customer's
 * preferredLocale (else en-US), as billing_invoice_render() draws it (its
 * status, amount paid and amount due included).
 * @param out    receives the document (new; billing_free()); NUL-terminated
 *               for HTML
 * @param len    receives its length in bytes
 * @param token  the last segment of the hosted path
 * @param format BILLING_DOCUMENT_HTML or BILLING_DOCUMENT_PDF
 * @return BILLING_OK; BILLING_ENOTFOUND, always with the same message, for
 *         a token that is malformed, forged, expired, or signed before a
 *         rotation, and for an invoice that is a draft or gone;
 *         BILLING_EINVALID for a bad format (as billing_invoice_render());
 *         BILLING_ENOMEM; a storage error
 */
BILLING_EXTERN(int) billing_hosted_invoice_render(char **out, size_t *len, billing_ctx *ctx,
	const char *token, billing_document_format format);

/**
 * Replaces the principal's tenant's hosted-link secret (ADMIN): every link
 * given before stops working, those of other tenants do not. Writes an
 * audit row and the event "hosted_links.rotated" (neither holds the
 * secret).
 * @return BILLING_OK; BILLING_EFORBIDDEN (not ADMIN); a storage error
 */
BILLING_EXTERN(int) billing_hosted_links_rotate(billing_ctx *ctx, const billing_principal *who);

BILLING_END_DECL

#endif
