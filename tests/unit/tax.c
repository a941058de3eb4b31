/*
 * Unit tests for core/tax.c, the tax pass of an invoice: worked examples
 * by hand (exclusive, inclusive, an exclusive rate on an inclusive line's
 * net, mixed rates on one invoice, per-line and per-invoice rounding
 * differing by a cent, credits rounding half away from zero), the refusals
 * (each names taxRates and leaves the outputs zeroed), int64 overflow, and
 * properties on pseudo-random invoices: every line's parts add up, the
 * breakdown adds up to the invoice's tax, each rule rounds where tax.h
 * says, and an inclusive line agrees with the exclusive line of its net to
 * the minor unit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "billing/errors.h"
#include "core/tax.h"

#define PROPERTY_CASES 4000
#define MAX_LINES 12
#define MAX_RATES 6

__extension__ typedef __int128 int128;

#define PCT(whole) ((int64_t)(whole) * 10000)   /* 20 -> 20 % in 10^-4 percent */

static const billing__tax_rate_terms vat20_excl = { "txr_vat20", PCT(20), 0 };
static const billing__tax_rate_terms vat20_incl = { "txr_vat20i", PCT(20), 1 };

static billing__tax_line line1(int64_t amount, size_t rate)
{
	billing__tax_line l = { amount, { rate }, 1 };
	return l;
}

static void run(billing__tax_line_result *out, billing__tax_total *totals, billing__tax_sums *sums,
	const billing__tax_line *lines, size_t n, const billing__tax_rate_terms *rates,
	size_t rate_count, billing__tax_rounding rounding)
{
	int rc = billing__tax_compute(out, totals, sums, lines, n, rates, rate_count, rounding);
	if (rc != BILLING_OK)
		fail_msg("tax refused: %s", billing_error_last()->message);
}

/* ------------------------------------------------------------ examples */

static void exclusive_rate(void **state)
{
	billing__tax_line l = line1(1000, 0);
	billing__tax_line_result r;
	billing__tax_total t;
	billing__tax_sums s;

	(void)state;
	run(&r, &t, &s, &l, 1, &vat20_excl, 1, BILLING__TAX_ROUND_LINE);
	assert_int_equal(r.taxable, 1000);
	assert_int_equal(r.amounts[0], 200);
	assert_int_equal(r.tax, 200);
	assert_int_equal(r.total, 1200);
	assert_int_equal(t.amount, 200);
	assert_int_equal(t.taxable, 1000);
	assert_int_equal(t.line_count, 1);
	assert_int_equal(s.amount, 1000);
	assert_int_equal(s.taxable, 1000);
	assert_int_equal(s.tax, 200);
	assert_int_equal(s.exclusive_tax, 200);
	assert_int_equal(s.total, 1200);
}

static void inclusive_rate(void **state)
{
	/* 12.00 with 20 % inside: net 10.00, tax 2.00, the total stays 12.00. */
	billing__tax_line l = line1(1200, 0);
	billing__tax_line_result r;
	billing__tax_total t;
	billing__tax_sums s;

	(void)state;
	run(&r, &t, &s, &l, 1, &vat20_incl, 1, BILLING__TAX_ROUND_LINE);
	assert_int_equal(r.taxable, 1000);
	assert_int_equal(r.amounts[0], 200);
	assert_int_equal(r.total, 1200);
	assert_int_equal(t.amount, 200);
	assert_int_equal(t.taxable, 1000);
	assert_int_equal(s.amount, 1200);
	assert_int_equal(s.tax, 200);
	assert_int_equal(s.exclusive_tax, 0);
	assert_int_equal(s.total, 1200);

	/* 9.99 with 19 % inside: 999 / 1.19 = 839.49... -> net 839, tax 160. */
	{
		const billing__tax_rate_terms vat19 = { "txr_de", PCT(19), 1 };
		billing__tax_line l2 = line1(999, 0);

		run(&r, &t, &s, &l2, 1, &vat19, 1, BILLING__TAX_ROUND_LINE);
		assert_int_equal(r.taxable, 839);
		assert_int_equal(r.amounts[0], 160);
		assert_int_equal(r.total, 999);
	}
}

static void exclusive_on_inclusive_net(void **state)
{
	/* 11.90 with 19 % inside and 5 % on top: net 10.00, 1.90 + 0.50 tax. */
	const billing__tax_rate_terms rates[] = {
		{ "txr_excl5", PCT(5), 0 }, { "txr_incl19", PCT(19), 1 } };
	billing__tax_line l = { 1190, { 0, 1 }, 2 };
	billing__tax_line_result r;
	billing__tax_total t[2];
	billing__tax_sums s;

	(void)state;
	run(&r, t, &s, &l, 1, rates, 2, BILLING__TAX_ROUND_LINE);
	assert_int_equal(r.taxable, 1000);
	assert_int_equal(r.amounts[0], 50);
	assert_int_equal(r.amounts[1], 190);
	assert_int_equal(r.tax, 240);
	assert_int_equal(r.total, 1240);
	assert_int_equal(t[0].taxable, 1000);
	assert_int_equal(t[1].taxable, 1000);
	assert_int_equal(s.exclusive_tax, 50);
	assert_int_equal(s.total, 1240);
}

static void mixed_rates_one_invoice(void **state)
{
	/* docs/billing.md "Taxes", mixed rates: 19 % and 7 % VAT, exclusive,
	 * and a line without tax; one unused rate in the table. */
	const billing__tax_rate_terms rates[] = {
		{ "txr_19", PCT(19), 0 }, { "txr_7", PCT(7), 0 }, { "txr_unused", PCT(10), 0 } };
	const billing__tax_line lines[] = {
		{ 4999, { 0 }, 1 },   /* 949.81 -> 950 */
		{ 1250, { 1 }, 1 },   /* 87.5   -> 88 */
		{ 2500, { 0 }, 1 },   /* 475    -> 475 */
		{ 300, { 0 }, 0 },
	};
	billing__tax_line_result r[4];
	billing__tax_total t[3];
	billing__tax_sums s;

	(void)state;
	run(r, t, &s, lines, 4, rates, 3, BILLING__TAX_ROUND_LINE);
	assert_int_equal(r[0].amounts[0], 950);
	assert_int_equal(r[1].amounts[0], 88);
	assert_int_equal(r[2].amounts[0], 475);
	assert_int_equal(r[3].tax, 0);
	assert_int_equal(r[3].total, 300);
	assert_int_equal(t[0].amount, 1425);
	assert_int_equal(t[0].taxable, 7499);
	assert_int_equal(t[0].line_count, 2);
	assert_int_equal(t[1].amount, 88);
	assert_int_equal(t[1].taxable, 1250);
	assert_int_equal(t[2].line_count, 0);
	assert_int_equal(t[2].amount, 0);
	assert_int_equal(s.tax, 1513);
	assert_int_equal(s.total, 9049 + 1513);

	/* Per invoice: 7499 x 19 % = 1424.81 -> 1425 (the same here); the 7 %
	 * rate has one line, 87.5 -> 88. */
	run(r, t, &s, lines, 4, rates, 3, BILLING__TAX_ROUND_INVOICE);
	assert_int_equal(t[0].amount, 1425);
	assert_int_equal(r[0].amounts[0] + r[2].amounts[0], 1425);
	assert_int_equal(t[1].amount, 88);
	assert_int_equal(s.tax, 1513);
}

static void rounding_rules_differ_by_a_cent(void **state)
{
	/* Three lines of 0.05 at 10 %: per line 0.005 -> 0.01 each, 0.03; per
	 * invoice 0.015 -> 0.02, shared 1 + 1 + 0 (ties to the earliest). */
	const billing__tax_rate_terms ten = { "txr_10", PCT(10), 0 };
	const billing__tax_line lines[] = { { 5, { 0 }, 1 }, { 5, { 0 }, 1 }, { 5, { 0 }, 1 } };
	billing__tax_line_result r[3];
	billing__tax_total t;
	billing__tax_sums s;

	(void)state;
	run(r, &t, &s, lines, 3, &ten, 1, BILLING__TAX_ROUND_LINE);
	assert_int_equal(t.amount, 3);
	assert_int_equal(s.total, 18);
	run(r, &t, &s, lines, 3, &ten, 1, BILLING__TAX_ROUND_INVOICE);
	assert_int_equal(t.amount, 2);
	assert_int_equal(r[0].amounts[0], 1);
	assert_int_equal(r[1].amounts[0], 1);
	assert_int_equal(r[2].amounts[0], 0);
	assert_int_equal(s.tax, 2);
	assert_int_equal(s.total, 17);
}

static void inclusive_per_invoice(void **state)
{
	/* Three lines of 0.01 with 19 % inside: 1 / 1.19 = 0.84 -> net 1, tax 0
	 * per line; per invoice 3 / 1.19 = 2.52 -> net 3, tax 0 too. */
	const billing__tax_rate_terms vat19 = { "txr_19", PCT(19), 1 };
	const billing__tax_line lines[] = { { 1, { 0 }, 1 }, { 1, { 0 }, 1 }, { 1, { 0 }, 1 } };
	billing__tax_line_result r[3];
	billing__tax_total t;
	billing__tax_sums s;

	(void)state;
	run(r, &t, &s, lines, 3, &vat19, 1, BILLING__TAX_ROUND_LINE);
	assert_int_equal(t.amount, 0);
	assert_int_equal(s.total, 3);

	{
		/* Seven lines of 0.03 at 19 % inside: per line 3 / 1.19 = 2.52 -> net
		 * 3, tax 0: no tax at all; per invoice 21 / 1.19 = 17.65 -> net 18,
		 * tax 3, the invoice still totals 0.21. */
		billing__tax_line seven[7];
		billing__tax_line_result r7[7];
		size_t i;
		int64_t nets = 0, taxes = 0;

		for (i = 0; i < 7; i++)
			seven[i] = line1(3, 0);
		run(r7, &t, &s, seven, 7, &vat19, 1, BILLING__TAX_ROUND_LINE);
		assert_int_equal(t.amount, 0);
		run(r7, &t, &s, seven, 7, &vat19, 1, BILLING__TAX_ROUND_INVOICE);
		assert_int_equal(t.amount, 3);
		assert_int_equal(t.taxable, 18);
		assert_int_equal(s.total, 21);
		for (i = 0; i < 7; i++) {
			assert_int_equal(r7[i].taxable + r7[i].amounts[0], 3);
			nets += r7[i].taxable;
			taxes += r7[i].amounts[0];
		}
		assert_int_equal(nets, 18);
		assert_int_equal(taxes, 3);
	}
}

static void credits_round_half_away_from_zero(void **state)
{
	/* A credit of -0.15 at 10 %: -0.015 -> -0.02; a charge of 0.15: 0.02. */
	const billing__tax_rate_terms ten = { "txr_10", PCT(10), 0 };
	const billing__tax_line lines[] = { { -15, { 0 }, 1 }, { 15, { 0 }, 1 } };
	billing__tax_line_result r[2];
	billing__tax_total t;
	billing__tax_sums s;

	(void)state;
	run(r, &t, &s, lines, 2, &ten, 1, BILLING__TAX_ROUND_LINE);
	assert_int_equal(r[0].amounts[0], -2);
	assert_int_equal(r[0].total, -17);
	assert_int_equal(r[1].amounts[0], 2);
	assert_int_equal(t.amount, 0);
	run(r, &t, &s, lines, 1, &ten, 1, BILLING__TAX_ROUND_INVOICE);
	assert_int_equal(r[0].amounts[0], -2);
	/* Inclusive credit: -12.00 with 20 % inside is net -10.00, tax -2.00. */
	{
		billing__tax_line c = line1(-1200, 0);

		run(r, &t, &s, &c, 1, &vat20_incl, 1, BILLING__TAX_ROUND_INVOICE);
		assert_int_equal(r[0].taxable, -1000);
		assert_int_equal(r[0].amounts[0], -200);
		assert_int_equal(s.total, -1200);
	}
}

static void no_lines_no_rates(void **state)
{
	billing__tax_sums s;

	(void)state;
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(billing__tax_compute(NULL, NULL, &s, NULL, 0, NULL, 0,
		BILLING__TAX_ROUND_INVOICE), BILLING_OK);
	assert_int_equal(s.total, 0);
	assert_int_equal(s.tax, 0);
	assert_int_equal(billing__tax_compute(NULL, NULL, NULL, NULL, 0, NULL, 0,
		BILLING__TAX_ROUND_LINE), BILLING_EINVALID);
}

/* ------------------------------------------------------------ refusals */

static void refused(const billing__tax_line *lines, size_t n, const billing__tax_rate_terms *rates,
	size_t rate_count, int rounding, const char *field)
{
	billing__tax_line_result r[2];
	billing__tax_total t[2];
	billing__tax_sums s;

	memset(r, 0x5a, sizeof(r));
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(billing__tax_compute(r, t, &s, lines, n, rates, rate_count,
		(billing__tax_rounding)rounding), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, field);
	/* Refused before anything is written. */
	assert_int_equal(r[0].total, (int64_t)0x5a5a5a5a5a5a5a5a);
	assert_int_equal(s.total, (int64_t)0x5a5a5a5a5a5a5a5a);
}

static void refusals(void **state)
{
	const billing__tax_rate_terms two_incl[] = {
		{ "txr_a", PCT(10), 1 }, { "txr_b", PCT(5), 1 } };
	const billing__tax_rate_terms too_high = { "txr_x", 1000001, 0 };
	const billing__tax_rate_terms negative = { "txr_y", -1, 0 };
	const billing__tax_line both = { 100, { 0, 1 }, 2 };
	const billing__tax_line twice = { 100, { 0, 0 }, 2 };
	const billing__tax_line outside = { 100, { 2 }, 1 };
	const billing__tax_line many = { 100, { 0, 1, 2, 3, 4 }, 6 };
	const billing__tax_line plain = line1(100, 0);

	(void)state;
	refused(&both, 1, two_incl, 2, BILLING__TAX_ROUND_LINE, "taxRates");
	refused(&twice, 1, two_incl, 2, BILLING__TAX_ROUND_LINE, "taxRates");
	refused(&outside, 1, two_incl, 2, BILLING__TAX_ROUND_LINE, "taxRates");
	refused(&many, 1, two_incl, 2, BILLING__TAX_ROUND_LINE, "taxRates");
	refused(&plain, 1, &too_high, 1, BILLING__TAX_ROUND_LINE, "taxRates");
	refused(&plain, 1, &negative, 1, BILLING__TAX_ROUND_INVOICE, "taxRates");
	refused(&plain, 1, &vat20_excl, 1, 7, "taxRounding");
}

static void overflow(void **state)
{
	const billing__tax_rate_terms all = { "txr_100", BILLING__TAX_SCALE, 0 };
	const billing__tax_line big = line1(INT64_MAX, 0);
	const billing__tax_line two[] = { { INT64_MAX, { 0 }, 0 }, { 1, { 0 }, 0 } };
	const billing__tax_line halves[] = {
		line1(INT64_MAX / 2 + 1, 0), line1(INT64_MAX / 2 + 1, 0) };
	billing__tax_line_result r[2];
	billing__tax_total t;
	billing__tax_sums s;

	(void)state;
	/* The line's total (amount + 100 % tax) does not fit. */
	assert_int_equal(billing__tax_compute(r, &t, &s, &big, 1, &all, 1,
		BILLING__TAX_ROUND_LINE), BILLING_EOVERFLOW);
	assert_int_equal(s.total, 0);
	assert_int_equal(r[0].tax, 0);
	/* The invoice's amount does not fit. */
	assert_int_equal(billing__tax_compute(r, &t, &s, two, 2, &all, 1,
		BILLING__TAX_ROUND_INVOICE), BILLING_EOVERFLOW);
	/* A rate's tax over the invoice does not fit (per invoice, in 128 bits
	 * until the end). */
	assert_int_equal(billing__tax_compute(r, &t, &s, halves, 2, &all, 1,
		BILLING__TAX_ROUND_INVOICE), BILLING_EOVERFLOW);
	assert_int_equal(t.amount, 0);
	/* The largest amount with 20 % inside is fine: its parts are smaller. */
	run(r, &t, &s, &big, 1, &vat20_incl, 1, BILLING__TAX_ROUND_INVOICE);
	assert_int_equal(s.total, INT64_MAX);
	assert_int_equal(r[0].taxable + r[0].amounts[0], INT64_MAX);
}

/* ------------------------------------------------------------ properties */

static uint64_t seed = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static int64_t between(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
}

static int64_t round_ratio(int128 num, int128 den)
{
	int128 q = num / den, r = num % den;

	if ((r < 0 ? -r : r) * 2 >= den)
		q += num < 0 ? -1 : 1;
	return (int64_t)q;
}

static int carries(const billing__tax_line *l, size_t k, size_t *j)
{
	for (*j = 0; *j < l->rate_count; (*j)++)
		if (l->rates[*j] == k)
			return 1;
	return 0;
}

static void random_invoice(billing__tax_line *lines, size_t *n, billing__tax_rate_terms *rates,
	size_t *rate_count)
{
	size_t i, k;

	*rate_count = (size_t)between(1, MAX_RATES);
	for (k = 0; k < *rate_count; k++) {
		rates[k].id = "txr_random";
		/* Real rates (whole, 2 or 4 decimals) and the edges 0 and 100 %. */
		switch (between(0, 4)) {
		case 0: rates[k].percentage = PCT(between(0, 30)); break;
		case 1: rates[k].percentage = between(0, 300000); break;
		case 2: rates[k].percentage = between(0, 3000) * 100; break;
		case 3: rates[k].percentage = BILLING__TAX_SCALE; break;
		default: rates[k].percentage = 0; break;
		}
		rates[k].inclusive = (int)between(0, 1);
	}
	*n = (size_t)between(1, MAX_LINES);
	for (i = 0; i < *n; i++) {
		int inclusive = 0;

		lines[i].amount = between(0, 3) == 0 ? -between(0, 50000) : between(0, 5000000);
		lines[i].rate_count = 0;
		for (k = 0; k < *rate_count && lines[i].rate_count < BILLING__TAX_LINE_RATES_MAX; k++) {
			if (between(0, 2) == 0 || (rates[k].inclusive && inclusive))
				continue;
			inclusive |= rates[k].inclusive;
			lines[i].rates[lines[i].rate_count++] = k;
		}
	}
}

static void properties(void **state)
{
	billing__tax_line lines[MAX_LINES];
	billing__tax_rate_terms rates[MAX_RATES];
	billing__tax_line_result r[MAX_LINES];
	billing__tax_total t[MAX_RATES];
	billing__tax_sums s;
	size_t n, rate_count, c, i, j, k;
	int rule;

	(void)state;
	for (c = 0; c < PROPERTY_CASES; c++) {
		random_invoice(lines, &n, rates, &rate_count);
		for (rule = BILLING__TAX_ROUND_LINE; rule <= BILLING__TAX_ROUND_INVOICE; rule++) {
			int64_t amount = 0, tax = 0, excl = 0, rate_tax = 0;

			run(r, t, &s, lines, n, rates, rate_count, (billing__tax_rounding)rule);
			for (i = 0; i < n; i++) {
				int64_t line_tax = 0, line_excl = 0;

				for (j = 0; j < lines[i].rate_count; j++) {
					line_tax += r[i].amounts[j];
					if (!rates[lines[i].rates[j]].inclusive)
						line_excl += r[i].amounts[j];
				}
				assert_int_equal(r[i].tax, line_tax);
				assert_int_equal(r[i].total, r[i].taxable + r[i].tax);
				/* The total stays the price plus the exclusive taxes. */
				assert_int_equal(r[i].total, lines[i].amount + line_excl);
				amount += lines[i].amount;
				tax += line_tax;
				excl += line_excl;
			}
			assert_int_equal(s.amount, amount);
			assert_int_equal(s.tax, tax);
			assert_int_equal(s.exclusive_tax, excl);
			assert_int_equal(s.total, amount + excl);
			for (k = 0; k < rate_count; k++) {
				int128 exact = 0, den = rates[k].inclusive ?
					BILLING__TAX_SCALE + rates[k].percentage : BILLING__TAX_SCALE;
				int64_t taxable = 0, gross = 0, parts = 0;

				for (i = 0; i < n; i++) {
					if (!carries(&lines[i], k, &j))
						continue;
					taxable += r[i].taxable;
					parts += r[i].amounts[j];
					gross += lines[i].amount;
					if (rule == BILLING__TAX_ROUND_LINE) {
						/* Each part rounded on its own. */
						if (rates[k].inclusive)
							assert_int_equal(r[i].taxable, round_ratio(
								(int128)lines[i].amount * BILLING__TAX_SCALE, den));
						else
							assert_int_equal(r[i].amounts[j], round_ratio(
								(int128)r[i].taxable * rates[k].percentage, den));
					}
					exact += rates[k].inclusive ?
						(int128)lines[i].amount * BILLING__TAX_SCALE :
						(int128)r[i].taxable * rates[k].percentage;
				}
				assert_int_equal(t[k].amount, parts);
				assert_int_equal(t[k].taxable, taxable);
				rate_tax += t[k].amount;
				if (rule == BILLING__TAX_ROUND_INVOICE && t[k].line_count) {
					/* Rounded once over the invoice. */
					if (rates[k].inclusive)
						assert_int_equal(gross - t[k].amount, round_ratio(exact, den));
					else
						assert_int_equal(t[k].amount, round_ratio(exact, den));
				}
			}
			/* The breakdown adds up to the invoice's tax. */
			assert_int_equal(rate_tax, s.tax);
		}
	}
}

static void inclusive_agrees_with_exclusive(void **state)
{
	/* The same gross, inclusive, against its net with the rate on top:
	 * the taxes differ by at most one minor unit, in both directions of
	 * sign, at every rate. */
	size_t c;

	(void)state;
	for (c = 0; c < PROPERTY_CASES; c++) {
		billing__tax_rate_terms incl = { "txr_i", between(0, BILLING__TAX_SCALE), 1 };
		billing__tax_rate_terms excl = { "txr_e", incl.percentage, 0 };
		billing__tax_line gross = line1(between(-1000000, 100000000), 0), net;
		billing__tax_line_result ri, re;
		billing__tax_total t;
		billing__tax_sums s;
		int64_t diff;

		run(&ri, &t, &s, &gross, 1, &incl, 1, BILLING__TAX_ROUND_LINE);
		net = line1(ri.taxable, 0);
		run(&re, &t, &s, &net, 1, &excl, 1, BILLING__TAX_ROUND_LINE);
		diff = ri.tax - re.tax;
		assert_true(diff >= -1 && diff <= 1);
		assert_true(re.total - gross.amount >= -1 && re.total - gross.amount <= 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exclusive_rate),
		cmocka_unit_test(inclusive_rate),
		cmocka_unit_test(exclusive_on_inclusive_net),
		cmocka_unit_test(mixed_rates_one_invoice),
		cmocka_unit_test(rounding_rules_differ_by_a_cent),
		cmocka_unit_test(inclusive_per_invoice),
		cmocka_unit_test(credits_round_half_away_from_zero),
		cmocka_unit_test(no_lines_no_rates),
		cmocka_unit_test(refusals),
		cmocka_unit_test(overflow),
		cmocka_unit_test(properties),
		cmocka_unit_test(inclusive_agrees_with_exclusive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
