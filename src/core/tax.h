/*
 * The tax pass of an invoice (issue #22 item 4): pure, no storage. The
 * caller reads the lines' amounts after discounts, the tax rates that
 * apply to each line, and the tenant's rounding rule; this file computes
 * each line's net and tax parts and the invoice's breakdown per rate
 * (totalTaxAmounts). Rules, with worked examples, in docs/billing.md
 * ("Taxes").
 *
 * - A percentage is in 10^-4 percent, as tax_rate.c stores it: 200000 is
 *   20 %, so a rate is percentage / BILLING__TAX_SCALE.
 * - Exclusive rate p: tax = net x p / SCALE, added to the line's amount.
 * - Inclusive rate p (at most one per line): the amount already holds
 *   the tax; net = amount x SCALE / (SCALE + p) and the tax is
 *   amount - net, so the line's total stays the price. Exclusive rates
 *   of the same line apply to that net.
 * - Every rounding is half away from zero (a credit of -1.5 is -2), in
 *   exact integer arithmetic (128-bit intermediates).
 * - BILLING__TAX_ROUND_LINE (the default, what invoices did before):
 *   each line's net and each of its tax parts is rounded on its own;
 *   a rate's breakdown is the sum of its lines' parts.
 * - BILLING__TAX_ROUND_INVOICE (what EU invoices usually need): per rate,
 *   the exact sum over the invoice's lines is rounded once (for an
 *   inclusive rate the net of the lines' gross sum, for an exclusive rate
 *   the tax of the lines' net sum); the lines' parts are then that
 *   rounded amount shared out by largest remainder (units to the lines
 *   whose exact share lies furthest beyond its truncation, ties to the
 *   earliest line), so they add up to the breakdown exactly.
 */
#ifndef BILLING_CORE_TAX_H
#define BILLING_CORE_TAX_H

#include <stddef.h>
#include <stdint.h>

#define BILLING__TAX_SCALE 1000000        /* percentage units in 100 % */
#define BILLING__TAX_LINE_RATES_MAX 5     /* rates on one line (Stripe's limit too) */

typedef enum {
	BILLING__TAX_ROUND_LINE = 0,
	BILLING__TAX_ROUND_INVOICE = 1
} billing__tax_rounding;

/* One tax rate of the invoice (an entry of its rate table). */
typedef struct {
	const char *id;                   /* txr_...; borrowed, may be NULL */
	int64_t percentage;               /* 10^-4 percent, [0, BILLING__TAX_SCALE] */
	int inclusive;
} billing__tax_rate_terms;

/* One line as the pass sees it. */
typedef struct {
	int64_t amount;                   /* after discounts, signed (a credit is
	                                     negative); holds an inclusive rate's tax */
	size_t rates[BILLING__TAX_LINE_RATES_MAX];  /* indexes into the rate table */
	size_t rate_count;
} billing__tax_line;

/* What the pass gives each line. */
typedef struct {
	int64_t taxable;                  /* the net: amount less its inclusive tax */
	int64_t tax;                      /* the sum of amounts[] */
	int64_t total;                    /* taxable + tax = amount + exclusive tax */
	int64_t amounts[BILLING__TAX_LINE_RATES_MAX];  /* the tax of rates[j] */
} billing__tax_line_result;

/* One entry of totalTaxAmounts, for the rate table's entry of that index. */
typedef struct {
	int64_t amount;                   /* the rate's tax on the invoice */
	int64_t taxable;                  /* the net of the lines it applies to */
	size_t line_count;                /* lines carrying it; 0: unused */
} billing__tax_total;

/* The invoice's sums. */
typedef struct {
	int64_t amount;                   /* the lines' amounts */
	int64_t taxable;                  /* the lines' nets */
	int64_t tax;                      /* all tax, inclusive and exclusive */
	int64_t exclusive_tax;            /* the part added on top of the amounts */
	int64_t total;                    /* amount + exclusive_tax = taxable + tax */
} billing__tax_sums;

/*
 * Computes the taxes of n lines under the rate_count rates of the table:
 * out_lines[n], out_totals[rate_count] (one per table entry, in order) and
 * the sums. On failure the outputs are left zeroed.
 *
 * @return BILLING_OK;
 *         BILLING_EINVALID (field "taxRates") when a percentage is outside
 *         [0, BILLING__TAX_SCALE], a line names an index outside the table,
 *         the same rate twice, more than BILLING__TAX_LINE_RATES_MAX rates
 *         or more than one inclusive rate, or the rounding rule is unknown;
 *         BILLING_EOVERFLOW when an amount or a sum does not fit in int64
 */
int billing__tax_compute(billing__tax_line_result *out_lines, billing__tax_total *out_totals,
	billing__tax_sums *out_sums, const billing__tax_line *lines, size_t n,
	const billing__tax_rate_terms *rates, size_t rate_count, billing__tax_rounding rounding);

#endif
