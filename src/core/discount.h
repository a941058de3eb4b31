/*
 * Discounts on an invoice's lines (issue #22 item 4): the one pass that
 * takes a coupon's terms off the lines, before tax (discount_apply.c).
 * Pure: the caller reads the discount, its coupon and the lines' products.
 */
#ifndef BILLING_CORE_DISCOUNT_H
#define BILLING_CORE_DISCOUNT_H

#include <stddef.h>
#include <stdint.h>

/* What a discount takes off (its coupon's terms). */
typedef struct {
	int64_t percent_off;               /* hundredths of a percent; 0: amount_off */
	int64_t amount_off;                /* minor units of currency */
	const char *currency;              /* amount_off's */
	const char *const *product_ids;    /* appliesTo; NULL / 0: every line */
	size_t product_count;
} billing__discount_terms;

/* One line as the pass sees it. */
typedef struct {
	int64_t amount;                    /* signed: a proration credit is negative */
	const char *product_id;            /* NULL: of no product (then only an
	                                      unrestricted discount applies) */
} billing__discount_line;

/*
 * The discount of each of the n lines of an invoice in currency, into
 * out[n] (minor units, of the line's sign, never more than the line):
 * - percent_off: each eligible line's amount times the percentage, rounded
 *   half away from zero per line (a negative proration credit of a
 *   discounted period is reduced the same way, so a credit gives back what
 *   was paid);
 * - amount_off (in the invoice's currency only, else nothing): at most the
 *   sum of the eligible positive lines, spread over them in proportion to
 *   their amounts so that the parts sum exactly (billing_amount_allocate),
 *   no line below zero; credits are left alone.
 * Eligible: every line, or with product_ids only lines of those products.
 * Returns BILLING_OK; BILLING_EOVERFLOW when a sum does not fit.
 */
int billing__discount_apply(int64_t *out, const billing__discount_line *lines, size_t n,
	const char *currency, const billing__discount_terms *terms);

#endif
