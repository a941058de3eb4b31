/*
 * Taxes on invoices (issue #22): which tax rates apply to each line of an
 * invoice, the customer's taxExempt, the tenant's rounding rule, and the
 * call of the pure tax pass (core/tax.h) that computes them. Every invoice
 * gets its taxes here, through billing__invoice_sums (invoice.c): a
 * renewal, a first invoice, prorations, a draft's lines, a preview.
 * Rules and worked examples in docs/billing.md ("Taxes on invoices").
 */
#ifndef BILLING_CORE_INVOICE_TAX_H
#define BILLING_CORE_INVOICE_TAX_H

#include <stddef.h>
#include <stdint.h>

#include "billing/invoice.h"
#include "core/core.h"
#include "core/tax.h"

/* At most this many default tax rates on a plan, subscription, invoice
 * item or draft invoice (Stripe's limit too). */
#define BILLING__DEFAULT_TAX_RATES_MAX 5

/* Room for a canonical array of BILLING__DEFAULT_TAX_RATES_MAX ids. */
#define BILLING__TAX_RATES_TEXT 512

/* The reverse-charge note an invoice of a customer with taxExempt
 * "reverse" carries (taxNote). */
#define BILLING__REVERSE_CHARGE_NOTE \
	"Reverse charge: no VAT charged; VAT to be accounted for by the recipient " \
	"(Article 196, Council Directive 2006/112/EC)."

/* Whose invoice it is and as of when: what the discount and tax passes of
 * billing__invoice_amounts read (invoice_internal.h), and where the tax
 * pass takes each line's rates from. */
typedef struct {
	const char *tenant_id;
	const char *customer_id;
	const char *subscription_id;    /* NULL: not a subscription's */
	/* The subscription's record when the caller holds it (a renewal), so
	 * its defaultTaxRates are not read again; NULL: read by id. */
	const billing_subscription_record *subscription;
	const char *currency;
	int64_t at;                     /* the invoice's period start */
	/* A draft's defaultTaxRates (JSON ids; NULL: none): they tax the
	 * lines that have no rates of their own. */
	const char *default_tax_rates;
} billing__invoice_for;

/* What the pass gives the invoice; billing__invoice_taxed_free releases
 * it (after the lines that point into it are written or copied). */
typedef struct billing__invoice_taxed_s {
	int64_t subtotal;               /* the lines' nets before discounts: amount less
	                                   an inclusive rate's tax */
	int64_t discount;               /* what the lines' discounts took */
	int64_t tax;                    /* all tax, on the amounts after discounts */
	int64_t total;                  /* subtotal - discount + tax */
	int customer_tax_exempt;        /* 0 none, 1 exempt, 2 reverse */
	char *total_tax_amounts;        /* JSON breakdown; NULL: untaxed */
	char **line_tax;                /* per line: its tax_amounts text, owned */
	size_t n;
} billing__invoice_taxed;

void billing__invoice_taxed_free(billing__invoice_taxed *t);

/*
 * In tx: the taxes of lines[n] (each line's tax_amount, taxable_amount and
 * tax_amounts, which point into out until it is freed) and the invoice's
 * sums. A line's rates are, in order, its own (an invoice item's
 * taxRates), the draft invoice's defaultTaxRates, the subscription's,
 * the line's plan's; a line none of them names is taxed by its product's
 * taxRate (tax_rate_bp, exclusive, rounded per line) as before #22. A
 * customer exempt or reverse is taxed nothing. Rates read here need not
 * be active (an archived rate keeps taxing what named it).
 * @return BILLING_OK; BILLING_EOVERFLOW; BILLING_EINVALID (taxRates)
 */
int billing__invoice_tax(billing__invoice_taxed *out, billing_ctx *ctx, billing_txn *tx,
	const billing__invoice_for *f, billing_invoice_line *lines, size_t n);

/*
 * Checks defaultTaxRates / taxRates input text (field names it): a JSON
 * array of at most BILLING__DEFAULT_TAX_RATES_MAX distinct ids of the
 * tenant's active tax rates, at most one of them inclusive. out receives
 * the canonical text (BILLING__TAX_RATES_TEXT bytes), or *out_null is set
 * when the array is empty (stored as NULL).
 * @return BILLING_OK; BILLING_EINVALID ("invalid", or "resource_missing"
 *         for an id that names no active tax rate of the tenant)
 */
int billing__tax_rates_check(char out[BILLING__TAX_RATES_TEXT], int *out_null,
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *text,
	const char *field);

/* The C API's array of ids as the JSON text the records hold (unchecked
 * but for its size; billing__tax_rates_check checks the ids in the
 * call's transaction). */
int billing__tax_rate_ids_json(char out[BILLING__TAX_RATES_TEXT], const char *const *ids,
	size_t count, const char *field);

/* In tx: cb(payload, id) for each of the tenant's customers whose
 * taxExempt is not "none", at most limit of them; *total: all of them
 * (invoice_tax.c; the billing run's batch reads this once, store_deferred.c). */
int billing__customers_exempt_scan(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	unsigned int limit, int (*cb)(void *payload, const char *customer_id), void *payload,
	int64_t *total);

/* One line of a credit note for billing__credit_note_tax: a part of an
 * invoice line. */
typedef struct {
	int64_t amount;            /* the part after its discount; holds an inclusive
	                              rate's tax as the invoice line's amount does */
	const char *tax_amounts;   /* the invoice line's tax per rate (JSON); NULL:
	                              its product's tax_rate_bp, or untaxed */
	int32_t tax_rate_bp;       /* used when tax_amounts is NULL; 0: untaxed */
} billing__credit_tax_line;

/*
 * In tx: the tax of the parts of invoice lines a credit note credits
 * (credit_note_issue.c), computed as the invoice computed its lines': the
 * rates each invoice line was taxed by (their terms read; a rate fixes
 * its percentage at creation), the tenant's rounding rule over the note's
 * lines (per line, or per rate over the note), a product's taxRate per
 * line. out[i].amounts[j] is the tax of the j-th entry of line i's
 * tax_amounts (entry 0 for a product's taxRate); out[i].taxable its net.
 * The caller caps each by what earlier notes left.
 * @return BILLING_OK; BILLING_EOVERFLOW; BILLING_ERROR (a stored breakdown
 *         that is not the library's)
 */
int billing__credit_note_tax(billing__tax_line_result *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const billing__credit_tax_line *lines, size_t n);

/* A tax rate's terms, read in tx (tax_rate.c); BILLING_ENOTFOUND. */
int billing__tax_rate_terms_get(int64_t *percentage, int *inclusive, int *active,
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *id);

/* A tax rate's display name (into name, truncated to size), percentage
 * and inclusive flag, read in tx (tax_rate.c), for documents
 * (core/document.c); BILLING_ENOTFOUND. */
int billing__tax_rate_label_get(char *name, size_t size, int64_t *percentage, int *inclusive,
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *id);

#endif
