/*
 * The tax pass of an invoice (core/tax.h): each line's net and tax parts
 * and the breakdown per rate, under the tenant's rounding rule. Pure.
 *
 * One routine does both rules: share() rounds the exact sum of a set of
 * lines' shares once and gives every line its part by largest remainder.
 * Per line, each set is one line (the part is that line's share rounded);
 * per invoice, the set is every line carrying the rate.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "billing/errors.h"
#include "core/errors.h"
#include "core/tax.h"

__extension__ typedef __int128 int128;

#define EVERY_LINE SIZE_MAX

/* num / den (den > 0) rounded half away from zero. */
static int128 div_round(int128 num, int128 den)
{
	int128 q = num / den, r = num % den;

	if ((r < 0 ? -r : r) * 2 >= den)
		q += num < 0 ? -1 : 1;
	return q;
}

static int fits(int128 v)
{
	return v >= INT64_MIN && v <= INT64_MAX;
}

/* The index of rate k among line l's rates; -1 when the line lacks it. */
static int slot(const billing__tax_line *l, size_t k)
{
	size_t j;

	for (j = 0; j < l->rate_count; j++)
		if (l->rates[j] == k)
			return (int)j;
	return -1;
}

#define REFUSE(...) \
	billing__error_field(BILLING_EINVALID, "invalid_tax_rates", "taxRates", __VA_ARGS__)

static int validate(const billing__tax_line *lines, size_t n,
	const billing__tax_rate_terms *rates, size_t rate_count, billing__tax_rounding rounding)
{
	size_t i, j, k;

	if (rounding != BILLING__TAX_ROUND_LINE && rounding != BILLING__TAX_ROUND_INVOICE)
		return billing__error_field(BILLING_EINVALID, "invalid_rounding", "taxRounding",
			"the tax rounding rule must be per line or per invoice, not %d",
			(int)rounding);
	for (k = 0; k < rate_count; k++)
		if (rates[k].percentage < 0 || rates[k].percentage > BILLING__TAX_SCALE)
			return REFUSE("tax rate %zu has a percentage outside 0-100 %%", k);
	for (i = 0; i < n; i++) {
		size_t inclusive = 0;

		if (lines[i].rate_count > BILLING__TAX_LINE_RATES_MAX)
			return REFUSE("line %zu has more than %d tax rates", i,
				BILLING__TAX_LINE_RATES_MAX);
		for (j = 0; j < lines[i].rate_count; j++) {
			k = lines[i].rates[j];
			if (k >= rate_count)
				return REFUSE("line %zu names tax rate %zu, which is not in the table",
					i, k);
			if (slot(&lines[i], k) != (int)j)
				return REFUSE("line %zu names tax rate %zu twice", i, k);
			inclusive += rates[k].inclusive != 0;
		}
		if (inclusive > 1)
			return REFUSE("line %zu has %zu inclusive tax rates; at most one applies",
				i, inclusive);
	}
	return BILLING_OK;
}

/* Line i's exact share of rate k, as a numerator over the rate's denominator. */
static int128 numerator(const billing__tax_line *line, const billing__tax_line_result *res,
	const billing__tax_rate_terms *rate)
{
	if (rate->inclusive)
		return (int128)line->amount * BILLING__TAX_SCALE;   /* the net's */
	return (int128)res->taxable * rate->percentage;        /* the tax's */
}

/* Where line i's part of rate k goes: the net (inclusive) or the tax. */
static int64_t *part(billing__tax_line_result *res, const billing__tax_rate_terms *rate, int j)
{
	return rate->inclusive ? &res->taxable : &res->amounts[j];
}

/*
 * Rate k over the lines of the set (only: one line, or EVERY_LINE): the
 * sum of their exact shares rounded once, shared out by largest remainder.
 * An inclusive rate's share is the net (the tax is the amount less it).
 */
static int share(billing__tax_line_result *out, const billing__tax_line *lines, size_t n,
	const billing__tax_rate_terms *rate, size_t k, size_t only)
{
	int128 den = rate->inclusive ? (int128)BILLING__TAX_SCALE + rate->percentage :
		(int128)BILLING__TAX_SCALE;
	int128 sum = 0, target, given = 0, left;
	size_t i, from = only == EVERY_LINE ? 0 : only, to = only == EVERY_LINE ? n : only + 1;
	int j, any = 0;

	for (i = from; i < to; i++) {
		int128 num;

		if ((j = slot(&lines[i], k)) < 0)
			continue;
		any = 1;
		num = numerator(&lines[i], &out[i], rate);
		sum += num;
		*part(&out[i], rate, j) = (int64_t)(num / den);   /* |share| <= |amount| */
		given += num / den;
	}
	if (!any)
		return BILLING_OK;
	target = div_round(sum, den);
	if (!fits(target))
		return billing__error_set(BILLING_EOVERFLOW, "overflow",
			"the taxes of an invoice do not fit in 64 bits");
	/* |left| <= the number of lines whose remainder has its sign (tax.h). */
	for (left = target - given; left != 0; left += left > 0 ? -1 : 1) {
		int128 best = 0, rem;
		size_t pick = SIZE_MAX;

		for (i = from; i < to; i++) {
			if ((j = slot(&lines[i], k)) < 0)
				continue;
			rem = numerator(&lines[i], &out[i], rate) -
				(int128)*part(&out[i], rate, j) * den;
			if (left < 0)
				rem = -rem;
			if (rem > best) {
				best = rem;
				pick = i;
			}
		}
		if (pick == SIZE_MAX)
			return billing__error_set(BILLING_ERROR, "internal",
				"the taxes of an invoice could not be shared out");
		*part(&out[pick], rate, slot(&lines[pick], k)) += left > 0 ? 1 : -1;
	}
	if (rate->inclusive)
		for (i = from; i < to; i++)
			if ((j = slot(&lines[i], k)) >= 0)
				out[i].amounts[j] = lines[i].amount - out[i].taxable;
	return BILLING_OK;
}

static int add(int64_t *sum, int64_t v)
{
	if (__builtin_add_overflow(*sum, v, sum))
		return billing__error_set(BILLING_EOVERFLOW, "overflow",
			"the taxes of an invoice do not fit in 64 bits");
	return BILLING_OK;
}

static int compute(billing__tax_line_result *out_lines, billing__tax_total *out_totals,
	billing__tax_sums *out_sums, const billing__tax_line *lines, size_t n,
	const billing__tax_rate_terms *rates, size_t rate_count, billing__tax_rounding rounding)
{
	size_t i, j, k;
	int pass, rc;

	for (i = 0; i < n; i++)
		out_lines[i].taxable = lines[i].amount;
	/* Inclusive rates first: the exclusive ones apply to the nets. */
	for (pass = 1; pass >= 0; pass--)
		for (k = 0; k < rate_count; k++) {
			if ((rates[k].inclusive != 0) != pass)
				continue;
			if (rounding == BILLING__TAX_ROUND_INVOICE) {
				if ((rc = share(out_lines, lines, n, &rates[k], k, EVERY_LINE)) < 0)
					return rc;
				continue;
			}
			for (i = 0; i < n; i++)
				if ((rc = share(out_lines, lines, n, &rates[k], k, i)) < 0)
					return rc;
		}

	for (i = 0; i < n; i++) {
		billing__tax_line_result *r = &out_lines[i];

		for (j = 0; j < lines[i].rate_count; j++) {
			billing__tax_total *t = &out_totals[lines[i].rates[j]];

			if ((rc = add(&r->tax, r->amounts[j])) < 0 ||
			    (rc = add(&t->amount, r->amounts[j])) < 0 ||
			    (rc = add(&t->taxable, r->taxable)) < 0)
				return rc;
			t->line_count++;
			if (!rates[lines[i].rates[j]].inclusive &&
			    (rc = add(&out_sums->exclusive_tax, r->amounts[j])) < 0)
				return rc;
		}
		r->total = r->taxable;
		if ((rc = add(&r->total, r->tax)) < 0 ||
		    (rc = add(&out_sums->amount, lines[i].amount)) < 0 ||
		    (rc = add(&out_sums->taxable, r->taxable)) < 0 ||
		    (rc = add(&out_sums->tax, r->tax)) < 0 ||
		    (rc = add(&out_sums->total, r->total)) < 0)
			return rc;
	}
	return BILLING_OK;
}

int billing__tax_compute(billing__tax_line_result *out_lines, billing__tax_total *out_totals,
	billing__tax_sums *out_sums, const billing__tax_line *lines, size_t n,
	const billing__tax_rate_terms *rates, size_t rate_count, billing__tax_rounding rounding)
{
	int rc;

	BILLING__ASSERT_ARG(out_sums, "out_sums");
	BILLING__ASSERT_ARG(out_lines || n == 0, "out_lines");
	BILLING__ASSERT_ARG(lines || n == 0, "lines");
	BILLING__ASSERT_ARG(out_totals || rate_count == 0, "out_totals");
	BILLING__ASSERT_ARG(rates || rate_count == 0, "rates");
	if ((rc = validate(lines, n, rates, rate_count, rounding)) < 0)
		return rc;
	if (n)
		memset(out_lines, 0, n * sizeof(*out_lines));
	if (rate_count)
		memset(out_totals, 0, rate_count * sizeof(*out_totals));
	memset(out_sums, 0, sizeof(*out_sums));
	if ((rc = compute(out_lines, out_totals, out_sums, lines, n, rates, rate_count,
		rounding)) < 0) {
		if (n)
			memset(out_lines, 0, n * sizeof(*out_lines));
		if (rate_count)
			memset(out_totals, 0, rate_count * sizeof(*out_totals));
		memset(out_sums, 0, sizeof(*out_sums));
	}
	return rc;
}
