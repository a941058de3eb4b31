/*
 * Unit tests for money.c: the currency table, overflow-checked arithmetic,
 * the five rounding rules, largest-remainder allocation, and the decimal
 * forms of amounts and rates. The property tests check the arithmetic
 * against an independent 128-bit reference on random inputs biased toward
 * the int64 edges, where hand-picked cases are least likely to look.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "billing/money.h"
#include "billing/errors.h"

__extension__ typedef __int128 int128;

#define PROPERTY_CASES 200000
#define ALLOCATE_CASES 20000

static billing_money money(int64_t amount, const char *currency)
{
	billing_money m;

	memset(&m, 0, sizeof(m));
	m.amount = amount;
	memcpy(m.currency, currency, strlen(currency) + 1);
	return m;
}

/* A sentinel out value: a failed call must leave it exactly as it was. */
static const billing_money untouched = { 4242, "XXX" };

static void assert_untouched(const billing_money *m)
{
	assert_int_equal(m->amount, untouched.amount);
	assert_string_equal(m->currency, untouched.currency);
}

/* ------------------------------------------------------------ currencies */

/* Every code the table must hold, with its exponent: a second, independent
 * copy of ISO 4217 List One (2026-01-01), so a typo or an unsorted entry in
 * the library's table shows up as a failed lookup here. */
static const struct {
	const char *code;
	int exponent;
} iso4217[] = {
	{ "AED", 2 }, { "AFN", 2 }, { "ALL", 2 }, { "AMD", 2 }, { "AOA", 2 }, { "ARS", 2 },
	{ "AUD", 2 }, { "AWG", 2 }, { "AZN", 2 }, { "BAM", 2 }, { "BBD", 2 }, { "BDT", 2 },
	{ "BHD", 3 }, { "BIF", 0 }, { "BMD", 2 }, { "BND", 2 }, { "BOB", 2 }, { "BOV", 2 },
	{ "BRL", 2 }, { "BSD", 2 }, { "BTN", 2 }, { "BWP", 2 }, { "BYN", 2 }, { "BZD", 2 },
	{ "CAD", 2 }, { "CDF", 2 }, { "CHE", 2 }, { "CHF", 2 }, { "CHW", 2 }, { "CLF", 4 },
	{ "CLP", 0 }, { "CNY", 2 }, { "COP", 2 }, { "COU", 2 }, { "CRC", 2 }, { "CUP", 2 },
	{ "CVE", 2 }, { "CZK", 2 }, { "DJF", 0 }, { "DKK", 2 }, { "DOP", 2 }, { "DZD", 2 },
	{ "EGP", 2 }, { "ERN", 2 }, { "ETB", 2 }, { "EUR", 2 }, { "FJD", 2 }, { "FKP", 2 },
	{ "GBP", 2 }, { "GEL", 2 }, { "GHS", 2 }, { "GIP", 2 }, { "GMD", 2 }, { "GNF", 0 },
	{ "GTQ", 2 }, { "GYD", 2 }, { "HKD", 2 }, { "HNL", 2 }, { "HTG", 2 }, { "HUF", 2 },
	{ "IDR", 2 }, { "ILS", 2 }, { "INR", 2 }, { "IQD", 3 }, { "IRR", 2 }, { "ISK", 0 },
	{ "JMD", 2 }, { "JOD", 3 }, { "JPY", 0 }, { "KES", 2 }, { "KGS", 2 }, { "KHR", 2 },
	{ "KMF", 0 }, { "KPW", 2 }, { "KRW", 0 }, { "KWD", 3 }, { "KYD", 2 }, { "KZT", 2 },
	{ "LAK", 2 }, { "LBP", 2 }, { "LKR", 2 }, { "LRD", 2 }, { "LSL", 2 }, { "LYD", 3 },
	{ "MAD", 2 }, { "MDL", 2 }, { "MGA", 2 }, { "MKD", 2 }, { "MMK", 2 }, { "MNT", 2 },
	{ "MOP", 2 }, { "MRU", 2 }, { "MUR", 2 }, { "MVR", 2 }, { "MWK", 2 }, { "MXN", 2 },
	{ "MXV", 2 }, { "MYR", 2 }, { "MZN", 2 }, { "NAD", 2 }, { "NGN", 2 }, { "NIO", 2 },
	{ "NOK", 2 }, { "NPR", 2 }, { "NZD", 2 }, { "OMR", 3 }, { "PAB", 2 }, { "PEN", 2 },
	{ "PGK", 2 }, { "PHP", 2 }, { "PKR", 2 }, { "PLN", 2 }, { "PYG", 0 }, { "QAR", 2 },
	{ "RON", 2 }, { "RSD", 2 }, { "RUB", 2 }, { "RWF", 0 }, { "SAR", 2 }, { "SBD", 2 },
	{ "SCR", 2 }, { "SDG", 2 }, { "SEK", 2 }, { "SGD", 2 }, { "SHP", 2 }, { "SLE", 2 },
	{ "SOS", 2 }, { "SRD", 2 }, { "SSP", 2 }, { "STN", 2 }, { "SVC", 2 }, { "SYP", 2 },
	{ "SZL", 2 }, { "THB", 2 }, { "TJS", 2 }, { "TMT", 2 }, { "TND", 3 }, { "TOP", 2 },
	{ "TRY", 2 }, { "TTD", 2 }, { "TWD", 2 }, { "TZS", 2 }, { "UAH", 2 }, { "UGX", 0 },
	{ "USD", 2 }, { "USN", 2 }, { "UYI", 0 }, { "UYU", 2 }, { "UYW", 4 }, { "UZS", 2 },
	{ "VED", 2 }, { "VES", 2 }, { "VND", 0 }, { "VUV", 0 }, { "WST", 2 }, { "XAD", 2 },
	{ "XAF", 0 }, { "XCD", 2 }, { "XCG", 2 }, { "XOF", 0 }, { "XPF", 0 }, { "YER", 2 },
	{ "ZAR", 2 }, { "ZMW", 2 }, { "ZWG", 2 }
};

static void currency_normalize__upper_cases_lower_case_input(void **state)
{
	char out[4];
	(void)state;

	assert_int_equal(billing_currency_normalize(out, "eur"), BILLING_OK);
	assert_string_equal(out, "EUR");
	assert_int_equal(billing_currency_normalize(out, "Jpy"), BILLING_OK);
	assert_string_equal(out, "JPY");
	assert_int_equal(billing_currency_normalize(out, "USD"), BILLING_OK);
	assert_string_equal(out, "USD");
}

static void currency_normalize__rejects_unknown_codes_and_leaves_out_untouched(void **state)
{
	static const char *const bad[] = {
		"ABC", "EU", "EURO", "", "E", "E1R", "EU ", " EUR", "EUR ",
		"\xc3\x89UR", "eu\xff", "E\0R"
	};
	char out[4] = "zzz";
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(billing_currency_normalize(out, bad[i]), BILLING_EINVALID);
		assert_string_equal(out, "zzz");
	}
	assert_int_equal(billing_currency_normalize(out, NULL), BILLING_EINVALID);
	assert_string_equal(out, "zzz");
	assert_int_equal(billing_currency_normalize(NULL, "EUR"), BILLING_EINVALID);
}

static void currency_normalize__rejects_metals_and_units_without_minor_unit(void **state)
{
	static const char *const excluded[] = {
		"XAU", "XAG", "XPT", "XPD", "XDR", "XTS", "XXX",
		"XUA", "XSU", "XBA", "XBB", "XBC", "XBD"
	};
	char out[4];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(excluded) / sizeof(excluded[0]); i++) {
		assert_int_equal(billing_currency_normalize(out, excluded[i]), BILLING_EINVALID);
		assert_int_equal(billing_currency_exponent(excluded[i]), BILLING_EINVALID);
	}
}

static void currency_normalize__rejects_withdrawn_codes(void **state)
{
	static const char *const withdrawn[] = {
		"HRK", "BGN", "ANG", "SLL", "ZWL", "CUC", "DEM", "FRF", "VEF", "MRO"
	};
	char out[4];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(withdrawn) / sizeof(withdrawn[0]); i++)
		assert_int_equal(billing_currency_normalize(out, withdrawn[i]), BILLING_EINVALID);
}

static void currency_table__holds_every_current_code_with_its_exponent(void **state)
{
	char out[4], lower[4];
	size_t i, j;
	(void)state;

	for (i = 0; i < sizeof(iso4217) / sizeof(iso4217[0]); i++) {
		assert_int_equal(billing_currency_normalize(out, iso4217[i].code), BILLING_OK);
		assert_string_equal(out, iso4217[i].code);
		assert_int_equal(billing_currency_exponent(iso4217[i].code), iso4217[i].exponent);
		for (j = 0; j < 4; j++)
			lower[j] = (char)(iso4217[i].code[j] ? iso4217[i].code[j] - 'A' + 'a' : 0);
		assert_int_equal(billing_currency_exponent(lower), iso4217[i].exponent);
	}
}

static void currency_exponent__matches_iso_4217_minor_units(void **state)
{
	(void)state;

	assert_int_equal(billing_currency_exponent("JPY"), 0);
	assert_int_equal(billing_currency_exponent("KRW"), 0);
	assert_int_equal(billing_currency_exponent("XAF"), 0);
	assert_int_equal(billing_currency_exponent("XOF"), 0);
	assert_int_equal(billing_currency_exponent("XPF"), 0);
	assert_int_equal(billing_currency_exponent("EUR"), 2);
	assert_int_equal(billing_currency_exponent("USD"), 2);
	assert_int_equal(billing_currency_exponent("BHD"), 3);
	assert_int_equal(billing_currency_exponent("KWD"), 3);
	assert_int_equal(billing_currency_exponent("TND"), 3);
	assert_int_equal(billing_currency_exponent("JOD"), 3);
	assert_int_equal(billing_currency_exponent("OMR"), 3);
	assert_int_equal(billing_currency_exponent("IQD"), 3);
	assert_int_equal(billing_currency_exponent("LYD"), 3);
	assert_int_equal(billing_currency_exponent("CLF"), 4);
	assert_int_equal(billing_currency_exponent("UYW"), 4);
	assert_int_equal(billing_currency_exponent("jpy"), 0);
	assert_int_equal(billing_currency_exponent("bhd"), 3);
}

static void currency_exponent__unknown_code_is_invalid(void **state)
{
	(void)state;

	assert_int_equal(billing_currency_exponent("ABC"), BILLING_EINVALID);
	assert_int_equal(billing_currency_exponent("EU"), BILLING_EINVALID);
	assert_int_equal(billing_currency_exponent("EURO"), BILLING_EINVALID);
	assert_int_equal(billing_currency_exponent(NULL), BILLING_EINVALID);
}

/* ------------------------------------------------------- add, sub, mul */

static void money_add__sums_amounts_of_one_currency(void **state)
{
	billing_money a = money(1999, "EUR"), b = money(-2500, "EUR"), out;
	(void)state;

	assert_int_equal(billing_money_add(&out, &a, &b), BILLING_OK);
	assert_int_equal(out.amount, -501);
	assert_string_equal(out.currency, "EUR");

	/* out may alias an input */
	assert_int_equal(billing_money_add(&a, &a, &a), BILLING_OK);
	assert_int_equal(a.amount, 3998);
}

static void money_add__overflow_past_int64_max_leaves_out_untouched(void **state)
{
	billing_money a = money(INT64_MAX, "EUR"), one = money(1, "EUR"), out = untouched;
	(void)state;

	assert_int_equal(billing_money_add(&out, &a, &one), BILLING_EOVERFLOW);
	assert_untouched(&out);
	assert_int_equal(billing_money_add(&out, &one, &a), BILLING_EOVERFLOW);
	assert_untouched(&out);
	assert_int_equal(billing_money_add(&out, &a, &a), BILLING_EOVERFLOW);
	assert_untouched(&out);
}

static void money_add__overflow_past_int64_min_leaves_out_untouched(void **state)
{
	billing_money a = money(INT64_MIN, "EUR"), m1 = money(-1, "EUR"), out = untouched;
	billing_money max = money(INT64_MAX, "EUR");
	(void)state;

	assert_int_equal(billing_money_add(&out, &a, &m1), BILLING_EOVERFLOW);
	assert_untouched(&out);
	assert_int_equal(billing_money_add(&out, &a, &a), BILLING_EOVERFLOW);
	assert_untouched(&out);

	assert_int_equal(billing_money_add(&out, &a, &max), BILLING_OK);
	assert_int_equal(out.amount, -1);
}

static void money_add__failure_sets_the_thread_error(void **state)
{
	billing_money a = money(INT64_MAX, "EUR"), b = money(1, "EUR"), c = money(1, "USD");
	billing_money out = untouched;
	(void)state;

	assert_int_equal(billing_money_add(&out, &a, &b), BILLING_EOVERFLOW);
	assert_int_equal(billing_error_last()->code, BILLING_EOVERFLOW);
	assert_int_equal(billing_money_add(&out, &b, &c), BILLING_EINVALID);
	assert_int_equal(billing_error_last()->code, BILLING_EINVALID);
}

static void money_add__currency_mismatch_is_invalid(void **state)
{
	billing_money a = money(100, "EUR"), b = money(100, "USD"), out = untouched;
	(void)state;

	assert_int_equal(billing_money_add(&out, &a, &b), BILLING_EINVALID);
	assert_untouched(&out);
	assert_int_equal(billing_money_sub(&out, &a, &b), BILLING_EINVALID);
	assert_untouched(&out);
}

static void money_add__unknown_or_unnormalized_currency_is_invalid(void **state)
{
	billing_money a = money(1, "ABC"), b = money(1, "ABC"), out = untouched;
	billing_money lower = money(1, "eur"), eur = money(1, "EUR");
	billing_money garbage = money(1, "EUR");
	(void)state;

	assert_int_equal(billing_money_add(&out, &a, &b), BILLING_EINVALID);
	assert_untouched(&out);
	/* the struct holds the normalized code; "eur" is a caller's bug */
	assert_int_equal(billing_money_add(&out, &lower, &eur), BILLING_EINVALID);
	assert_untouched(&out);
	/* no NUL inside the array: must not read past it */
	memcpy(garbage.currency, "EURO", 4);
	assert_int_equal(billing_money_add(&out, &garbage, &eur), BILLING_EINVALID);
	assert_untouched(&out);
	assert_int_equal(billing_money_add(&out, NULL, &eur), BILLING_EINVALID);
	assert_int_equal(billing_money_add(NULL, &eur, &eur), BILLING_EINVALID);
}

static void money_sub__subtracts_and_detects_overflow_at_both_ends(void **state)
{
	billing_money min = money(INT64_MIN, "JPY"), max = money(INT64_MAX, "JPY");
	billing_money one = money(1, "JPY"), zero = money(0, "JPY"), out = untouched;
	(void)state;

	assert_int_equal(billing_money_sub(&out, &min, &one), BILLING_EOVERFLOW);
	assert_untouched(&out);
	assert_int_equal(billing_money_sub(&out, &zero, &min), BILLING_EOVERFLOW);
	assert_untouched(&out);
	assert_int_equal(billing_money_sub(&out, &max, &min), BILLING_EOVERFLOW);
	assert_untouched(&out);
	assert_int_equal(billing_money_sub(&out, &min, &max), BILLING_EOVERFLOW);
	assert_untouched(&out);

	assert_int_equal(billing_money_sub(&out, &zero, &max), BILLING_OK);
	assert_int_equal(out.amount, -INT64_MAX);
	assert_string_equal(out.currency, "JPY");
	assert_int_equal(billing_money_sub(&out, &min, &min), BILLING_OK);
	assert_int_equal(out.amount, 0);
}

static void money_mul__multiplies_and_detects_overflow(void **state)
{
	billing_money a = money(2900, "USD"), min = money(INT64_MIN, "USD");
	billing_money max = money(INT64_MAX, "USD"), out = untouched;
	(void)state;

	assert_int_equal(billing_money_mul(&out, &a, -3), BILLING_OK);
	assert_int_equal(out.amount, -8700);
	assert_string_equal(out.currency, "USD");

	out = untouched;
	assert_int_equal(billing_money_mul(&out, &min, -1), BILLING_EOVERFLOW);
	assert_untouched(&out);
	assert_int_equal(billing_money_mul(&out, &max, 2), BILLING_EOVERFLOW);
	assert_untouched(&out);
	assert_int_equal(billing_money_mul(&out, &max, INT64_MIN), BILLING_EOVERFLOW);
	assert_untouched(&out);

	assert_int_equal(billing_money_mul(&out, &max, -1), BILLING_OK);
	assert_int_equal(out.amount, -INT64_MAX);
	assert_int_equal(billing_money_mul(&out, &min, 1), BILLING_OK);
	assert_int_equal(out.amount, INT64_MIN);
}

/* ------------------------------------------------------------- ratios */

static int64_t ratio(int64_t amount, int64_t num, int64_t den, billing_rounding rule)
{
	int64_t out = 0x5a5a;

	assert_int_equal(billing_amount_mul_ratio(&out, amount, num, den, rule), BILLING_OK);
	return out;
}

static void mul_ratio__half_up_rounds_ties_away_from_zero(void **state)
{
	(void)state;

	assert_int_equal(ratio(5, 1, 2, BILLING_ROUND_HALF_UP), 3);
	assert_int_equal(ratio(-5, 1, 2, BILLING_ROUND_HALF_UP), -3);
	assert_int_equal(ratio(5, -1, 2, BILLING_ROUND_HALF_UP), -3);
	assert_int_equal(ratio(5, 1, -2, BILLING_ROUND_HALF_UP), -3);
	assert_int_equal(ratio(-5, 1, -2, BILLING_ROUND_HALF_UP), 3);
	assert_int_equal(ratio(1, 1, 2, BILLING_ROUND_HALF_UP), 1);
	assert_int_equal(ratio(-1, 1, 2, BILLING_ROUND_HALF_UP), -1);
}

static void mul_ratio__half_even_rounds_ties_to_even(void **state)
{
	(void)state;

	assert_int_equal(ratio(5, 1, 2, BILLING_ROUND_HALF_EVEN), 2);
	assert_int_equal(ratio(7, 1, 2, BILLING_ROUND_HALF_EVEN), 4);
	assert_int_equal(ratio(-5, 1, 2, BILLING_ROUND_HALF_EVEN), -2);
	assert_int_equal(ratio(-7, 1, 2, BILLING_ROUND_HALF_EVEN), -4);
	assert_int_equal(ratio(5, 1, -2, BILLING_ROUND_HALF_EVEN), -2);
	assert_int_equal(ratio(7, -1, 2, BILLING_ROUND_HALF_EVEN), -4);
	assert_int_equal(ratio(1, 1, 2, BILLING_ROUND_HALF_EVEN), 0);
	assert_int_equal(ratio(-1, 1, 2, BILLING_ROUND_HALF_EVEN), 0);
	assert_int_equal(ratio(3, 1, 2, BILLING_ROUND_HALF_EVEN), 2);
	assert_int_equal(ratio(-3, 1, 2, BILLING_ROUND_HALF_EVEN), -2);
}

static void mul_ratio__half_rules_round_non_ties_to_nearest(void **state)
{
	static const billing_rounding half[] = { BILLING_ROUND_HALF_UP, BILLING_ROUND_HALF_EVEN };
	size_t i;
	(void)state;

	for (i = 0; i < 2; i++) {
		assert_int_equal(ratio(24, 1, 10, half[i]), 2);
		assert_int_equal(ratio(26, 1, 10, half[i]), 3);
		assert_int_equal(ratio(-24, 1, 10, half[i]), -2);
		assert_int_equal(ratio(-26, 1, 10, half[i]), -3);
		assert_int_equal(ratio(26, 1, -10, half[i]), -3);
		/* just off a tie, on an odd denominator */
		assert_int_equal(ratio(4, 1, 3, half[i]), 1);
		assert_int_equal(ratio(5, 1, 3, half[i]), 2);
		assert_int_equal(ratio(-5, 1, 3, half[i]), -2);
	}
}

static void mul_ratio__down_truncates_toward_zero(void **state)
{
	(void)state;

	assert_int_equal(ratio(29, 1, 10, BILLING_ROUND_DOWN), 2);
	assert_int_equal(ratio(-29, 1, 10, BILLING_ROUND_DOWN), -2);
	assert_int_equal(ratio(29, 1, -10, BILLING_ROUND_DOWN), -2);
	assert_int_equal(ratio(-29, -1, 10, BILLING_ROUND_DOWN), 2);
	assert_int_equal(ratio(5, 1, 2, BILLING_ROUND_DOWN), 2);
	assert_int_equal(ratio(-5, 1, 2, BILLING_ROUND_DOWN), -2);
}

static void mul_ratio__floor_rounds_toward_negative_infinity(void **state)
{
	(void)state;

	assert_int_equal(ratio(21, 1, 10, BILLING_ROUND_FLOOR), 2);
	assert_int_equal(ratio(-21, 1, 10, BILLING_ROUND_FLOOR), -3);
	assert_int_equal(ratio(21, 1, -10, BILLING_ROUND_FLOOR), -3);
	assert_int_equal(ratio(-21, 1, -10, BILLING_ROUND_FLOOR), 2);
	assert_int_equal(ratio(-5, 1, 2, BILLING_ROUND_FLOOR), -3);
	assert_int_equal(ratio(-20, 1, 10, BILLING_ROUND_FLOOR), -2);
}

static void mul_ratio__ceiling_rounds_toward_positive_infinity(void **state)
{
	(void)state;

	assert_int_equal(ratio(21, 1, 10, BILLING_ROUND_CEILING), 3);
	assert_int_equal(ratio(-21, 1, 10, BILLING_ROUND_CEILING), -2);
	assert_int_equal(ratio(21, 1, -10, BILLING_ROUND_CEILING), -2);
	assert_int_equal(ratio(-21, 1, -10, BILLING_ROUND_CEILING), 3);
	assert_int_equal(ratio(5, 1, 2, BILLING_ROUND_CEILING), 3);
	assert_int_equal(ratio(20, 1, 10, BILLING_ROUND_CEILING), 2);
}

static void mul_ratio__exact_quotients_are_not_rounded(void **state)
{
	billing_rounding rule;
	(void)state;

	for (rule = BILLING_ROUND_HALF_UP; rule <= BILLING_ROUND_CEILING; rule++) {
		assert_int_equal(ratio(30, 1, 10, rule), 3);
		assert_int_equal(ratio(-30, 1, 10, rule), -3);
		assert_int_equal(ratio(0, 7, -3, rule), 0);
		assert_int_equal(ratio(7, 0, 3, rule), 0);
	}
}

static void mul_ratio__tax_and_proration_examples(void **state)
{
	(void)state;

	/* 19.99 at 8.25 % = 1.649175 -> 1.65 */
	assert_int_equal(ratio(1999, 825, BILLING_RATE_SCALE, BILLING_ROUND_HALF_UP), 165);
	/* a refund line: -19.99 at 20 % = -3.998 -> -4.00 */
	assert_int_equal(ratio(-1999, 2000, BILLING_RATE_SCALE, BILLING_ROUND_HALF_UP), -400);
	/* 29.00 for 15 of 30 days; 10.00 for 1 of 3 days */
	assert_int_equal(ratio(2900, 15 * 86400, 30 * 86400, BILLING_ROUND_HALF_UP), 1450);
	assert_int_equal(ratio(1000, 86400, 3 * 86400, BILLING_ROUND_HALF_UP), 333);
	assert_int_equal(ratio(-1000, 2 * 86400, 3 * 86400, BILLING_ROUND_HALF_UP), -667);
}

static void mul_ratio__uses_an_exact_128_bit_product(void **state)
{
	(void)state;

	/* amount * num overflows 64 bits; the result does not */
	assert_int_equal(ratio(INT64_MAX, INT64_MAX, INT64_MAX, BILLING_ROUND_DOWN), INT64_MAX);
	assert_int_equal(ratio(INT64_MAX, 3, 4, BILLING_ROUND_DOWN), INT64_C(6917529027641081855));
	assert_int_equal(ratio(INT64_MAX, 3, 4, BILLING_ROUND_HALF_UP), INT64_C(6917529027641081855));
	assert_int_equal(ratio(INT64_MAX, 3, 4, BILLING_ROUND_CEILING), INT64_C(6917529027641081856));
	assert_int_equal(ratio(INT64_C(999999999999999), INT64_C(999999999999999),
		INT64_C(1000000000000000), BILLING_ROUND_HALF_EVEN), INT64_C(999999999999998));
}

static void mul_ratio__int64_min_edges_are_exact(void **state)
{
	billing_rounding rule;
	int64_t out = 77;
	(void)state;

	for (rule = BILLING_ROUND_HALF_UP; rule <= BILLING_ROUND_CEILING; rule++) {
		assert_int_equal(ratio(INT64_MIN, 1, 1, rule), INT64_MIN);
		assert_int_equal(ratio(INT64_MIN, -1, -1, rule), INT64_MIN);
		assert_int_equal(ratio(INT64_MIN, INT64_MIN, INT64_MIN, rule), INT64_MIN);
		assert_int_equal(ratio(INT64_MIN, 1, INT64_MIN, rule), 1);
		assert_int_equal(ratio(INT64_MAX, 1, INT64_MIN, rule) <= 0, 1);
		assert_int_equal(ratio(INT64_MIN, 1, 2, rule), INT64_MIN / 2);
		assert_int_equal(ratio(INT64_MIN, -1, 2, rule), -(INT64_MIN / 2));

		assert_int_equal(billing_amount_mul_ratio(&out, INT64_MIN, -1, 1, rule), BILLING_EOVERFLOW);
		assert_int_equal(billing_amount_mul_ratio(&out, INT64_MIN, 1, -1, rule), BILLING_EOVERFLOW);
		assert_int_equal(billing_amount_mul_ratio(&out, INT64_MIN, INT64_MIN, 1, rule), BILLING_EOVERFLOW);
		assert_int_equal(billing_amount_mul_ratio(&out, INT64_MAX, 2, 1, rule), BILLING_EOVERFLOW);
		assert_int_equal(out, 77);
	}
	/* -2^63 * 1 / 2^63 - 1 = -1.0000000000000000001: rounding decides */
	assert_int_equal(ratio(INT64_MIN, 1, INT64_MAX, BILLING_ROUND_DOWN), -1);
	assert_int_equal(ratio(INT64_MIN, 1, INT64_MAX, BILLING_ROUND_FLOOR), -2);
	assert_int_equal(ratio(INT64_MIN, 1, INT64_MAX, BILLING_ROUND_CEILING), -1);
	assert_int_equal(ratio(INT64_MAX, 1, INT64_MIN, BILLING_ROUND_FLOOR), -1);
	assert_int_equal(ratio(INT64_MAX, 1, INT64_MIN, BILLING_ROUND_CEILING), 0);
	assert_int_equal(ratio(INT64_MAX, 1, INT64_MIN, BILLING_ROUND_HALF_UP), -1);
}

static void mul_ratio__rounding_past_the_limits_overflows(void **state)
{
	/* (2^64 - 1) / 3 * 3 / 2 = INT64_MAX + 0.5, a tie just above the top */
	const int64_t third = INT64_C(6148914691236517205);
	/* -274177 * 67280421310721 = -(2^64 + 1): / 2 = INT64_MIN - 0.5 */
	const int64_t f1 = -274177, f2 = INT64_C(67280421310721);
	int64_t out = 77;
	(void)state;

	assert_int_equal(ratio(third, 3, 2, BILLING_ROUND_DOWN), INT64_MAX);
	assert_int_equal(ratio(third, 3, 2, BILLING_ROUND_FLOOR), INT64_MAX);
	assert_int_equal(billing_amount_mul_ratio(&out, third, 3, 2, BILLING_ROUND_HALF_UP), BILLING_EOVERFLOW);
	assert_int_equal(billing_amount_mul_ratio(&out, third, 3, 2, BILLING_ROUND_CEILING), BILLING_EOVERFLOW);
	/* INT64_MAX is odd, so half-even rounds this tie up and out of range */
	assert_int_equal(billing_amount_mul_ratio(&out, third, 3, 2, BILLING_ROUND_HALF_EVEN), BILLING_EOVERFLOW);
	assert_int_equal(out, 77);

	assert_int_equal(ratio(f1, f2, 2, BILLING_ROUND_DOWN), INT64_MIN);
	assert_int_equal(ratio(f1, f2, 2, BILLING_ROUND_CEILING), INT64_MIN);
	/* INT64_MIN is even: half-even keeps it */
	assert_int_equal(ratio(f1, f2, 2, BILLING_ROUND_HALF_EVEN), INT64_MIN);
	assert_int_equal(billing_amount_mul_ratio(&out, f1, f2, 2, BILLING_ROUND_FLOOR), BILLING_EOVERFLOW);
	assert_int_equal(billing_amount_mul_ratio(&out, f1, f2, 2, BILLING_ROUND_HALF_UP), BILLING_EOVERFLOW);
	/* with the signs flipped it is 2^63 + 0.5: out of range before rounding */
	assert_int_equal(billing_amount_mul_ratio(&out, f2, f1, -2, BILLING_ROUND_DOWN), BILLING_EOVERFLOW);
	assert_int_equal(out, 77);

	/* INT64_MIN + 0.5 rounds into range */
	assert_int_equal(ratio(-third, 3, 2, BILLING_ROUND_FLOOR), INT64_MIN);
	assert_int_equal(ratio(-third, 3, 2, BILLING_ROUND_HALF_UP), INT64_MIN);
	assert_int_equal(ratio(-third, 3, 2, BILLING_ROUND_HALF_EVEN), INT64_MIN);
	assert_int_equal(ratio(-third, 3, 2, BILLING_ROUND_DOWN), INT64_MIN + 1);
}

static void mul_ratio__zero_denominator_is_invalid(void **state)
{
	int64_t out = 77;
	(void)state;

	assert_int_equal(billing_amount_mul_ratio(&out, 100, 1, 0, BILLING_ROUND_HALF_UP), BILLING_EINVALID);
	assert_int_equal(billing_amount_mul_ratio(&out, 0, 0, 0, BILLING_ROUND_DOWN), BILLING_EINVALID);
	assert_int_equal(out, 77);
	assert_int_equal(billing_amount_mul_ratio(NULL, 1, 1, 1, BILLING_ROUND_DOWN), BILLING_EINVALID);
}

static void mul_ratio__unknown_rule_is_invalid(void **state)
{
	int64_t out = 77;
	(void)state;

	assert_int_equal(billing_amount_mul_ratio(&out, 100, 1, 3, (billing_rounding)0), BILLING_EINVALID);
	assert_int_equal(billing_amount_mul_ratio(&out, 100, 1, 3, (billing_rounding)6), BILLING_EINVALID);
	assert_int_equal(billing_amount_mul_ratio(&out, 100, 1, 3, (billing_rounding)-1), BILLING_EINVALID);
	assert_int_equal(out, 77);
}

/* ----------------------------------------------------------- allocate */

static void allocate__gives_the_residue_to_the_earliest_equal_parts(void **state)
{
	const int64_t w[] = { 1, 1, 1 };
	int64_t parts[3];
	(void)state;

	assert_int_equal(billing_amount_allocate(parts, w, 3, 100), BILLING_OK);
	assert_int_equal(parts[0], 34);
	assert_int_equal(parts[1], 33);
	assert_int_equal(parts[2], 33);

	assert_int_equal(billing_amount_allocate(parts, w, 3, 101), BILLING_OK);
	assert_int_equal(parts[0], 34);
	assert_int_equal(parts[1], 34);
	assert_int_equal(parts[2], 33);
}

static void allocate__gives_the_residue_to_the_largest_remainders(void **state)
{
	const int64_t w[] = { 12, 27, 16, 45 };
	int64_t parts[4];
	(void)state;

	assert_int_equal(billing_amount_allocate(parts, w, 4, 10), BILLING_OK);
	/* truncated 1, 2, 1, 4 = 8; remainders .2 .7 .6 .5: .7 and .6 win */
	assert_int_equal(parts[0], 1);
	assert_int_equal(parts[1], 3);
	assert_int_equal(parts[2], 2);
	assert_int_equal(parts[3], 4);
}

static void allocate__negative_total_mirrors_positive(void **state)
{
	const int64_t w[] = { 12, 27, 16, 45 }, e[] = { 1, 1, 1 };
	int64_t parts[4];
	(void)state;

	assert_int_equal(billing_amount_allocate(parts, w, 4, -10), BILLING_OK);
	assert_int_equal(parts[0], -1);
	assert_int_equal(parts[1], -3);
	assert_int_equal(parts[2], -2);
	assert_int_equal(parts[3], -4);

	assert_int_equal(billing_amount_allocate(parts, e, 3, -100), BILLING_OK);
	assert_int_equal(parts[0], -34);
	assert_int_equal(parts[1], -33);
	assert_int_equal(parts[2], -33);
}

static void allocate__zero_weight_gets_nothing(void **state)
{
	const int64_t w[] = { 0, 1, 0, 1, 0 };
	int64_t parts[5];
	(void)state;

	assert_int_equal(billing_amount_allocate(parts, w, 5, 5), BILLING_OK);
	assert_int_equal(parts[0], 0);
	assert_int_equal(parts[1], 3);
	assert_int_equal(parts[2], 0);
	assert_int_equal(parts[3], 2);
	assert_int_equal(parts[4], 0);
}

static void allocate__single_part_takes_everything(void **state)
{
	const int64_t w[] = { 7 };
	int64_t parts[1];
	(void)state;

	assert_int_equal(billing_amount_allocate(parts, w, 1, INT64_MIN), BILLING_OK);
	assert_int_equal(parts[0], INT64_MIN);
	assert_int_equal(billing_amount_allocate(parts, w, 1, 0), BILLING_OK);
	assert_int_equal(parts[0], 0);
}

static void allocate__int64_extremes_sum_exactly(void **state)
{
	const int64_t w[] = { INT64_MAX / 3, INT64_MAX / 3, INT64_MAX / 3 };
	const int64_t big[] = { INT64_MAX - 2, 1, 1 };
	const int64_t totals[] = { INT64_MIN, INT64_MAX, INT64_MIN + 1, -1, 1 };
	int64_t parts[3];
	size_t t;
	(void)state;

	for (t = 0; t < sizeof(totals) / sizeof(totals[0]); t++) {
		int128 sum;

		assert_int_equal(billing_amount_allocate(parts, w, 3, totals[t]), BILLING_OK);
		sum = (int128)parts[0] + parts[1] + parts[2];
		assert_true(sum == totals[t]);

		assert_int_equal(billing_amount_allocate(parts, big, 3, totals[t]), BILLING_OK);
		sum = (int128)parts[0] + parts[1] + parts[2];
		assert_true(sum == totals[t]);
	}
	assert_int_equal(billing_amount_allocate(parts, w, 3, INT64_MIN), BILLING_OK);
	assert_int_equal(parts[0], INT64_C(-3074457345618258603));
	assert_int_equal(parts[1], INT64_C(-3074457345618258603));
	assert_int_equal(parts[2], INT64_C(-3074457345618258602));
}

static void allocate__rejects_empty_negative_or_zero_weights(void **state)
{
	const int64_t neg[] = { 1, -1, 5 }, zero[] = { 0, 0 }, one[] = { 1 };
	int64_t parts[3] = { 11, 22, 33 };
	(void)state;

	assert_int_equal(billing_amount_allocate(parts, one, 0, 10), BILLING_EINVALID);
	assert_int_equal(billing_amount_allocate(parts, neg, 3, 10), BILLING_EINVALID);
	assert_int_equal(billing_amount_allocate(parts, zero, 2, 10), BILLING_EINVALID);
	assert_int_equal(billing_amount_allocate(parts, NULL, 1, 10), BILLING_EINVALID);
	assert_int_equal(billing_amount_allocate(NULL, one, 1, 10), BILLING_EINVALID);
	assert_int_equal(parts[0], 11);
	assert_int_equal(parts[1], 22);
	assert_int_equal(parts[2], 33);
}

static void allocate__weight_sum_overflow_is_reported(void **state)
{
	const int64_t w[] = { INT64_MAX, 1 }, fits[] = { INT64_MAX - 1, 1 };
	int64_t parts[2] = { 11, 22 };
	(void)state;

	assert_int_equal(billing_amount_allocate(parts, w, 2, 10), BILLING_EOVERFLOW);
	assert_int_equal(parts[0], 11);
	assert_int_equal(parts[1], 22);
	assert_int_equal(billing_amount_allocate(parts, fits, 2, 10), BILLING_OK);
	assert_int_equal(parts[0], 10);
	assert_int_equal(parts[1], 0);
}

/* ------------------------------------------------------------- format */

static void assert_format(int64_t amount, const char *currency, const char *expected)
{
	billing_money m = money(amount, currency);
	char buf[64];

	assert_int_equal(billing_money_format(buf, sizeof(buf), &m), (int)strlen(expected));
	assert_string_equal(buf, expected);
}

static void money_format__places_the_point_by_currency_exponent(void **state)
{
	(void)state;

	assert_format(123450, "EUR", "1234.50 EUR");
	assert_format(5, "EUR", "0.05 EUR");
	assert_format(0, "EUR", "0.00 EUR");
	assert_format(100, "USD", "1.00 USD");
	assert_format(-3, "JPY", "-3 JPY");
	assert_format(0, "JPY", "0 JPY");
	assert_format(125, "BHD", "0.125 BHD");
	assert_format(1234567, "KWD", "1234.567 KWD");
	assert_format(10001, "CLF", "1.0001 CLF");
	assert_format(1000, "XOF", "1000 XOF");
}

static void money_format__negative_amounts_keep_the_leading_zero(void **state)
{
	(void)state;

	assert_format(-5, "EUR", "-0.05 EUR");
	assert_format(-50, "EUR", "-0.50 EUR");
	assert_format(-123450, "EUR", "-1234.50 EUR");
	assert_format(-1, "BHD", "-0.001 BHD");
	assert_format(-1, "UYW", "-0.0001 UYW");
}

static void money_format__handles_int64_extremes(void **state)
{
	(void)state;

	assert_format(INT64_MIN, "EUR", "-92233720368547758.08 EUR");
	assert_format(INT64_MAX, "EUR", "92233720368547758.07 EUR");
	assert_format(INT64_MIN, "JPY", "-9223372036854775808 JPY");
	assert_format(INT64_MIN, "CLF", "-922337203685477.5808 CLF");
}

static void money_format__truncates_and_returns_the_full_length(void **state)
{
	billing_money m = money(123450, "EUR");
	char buf[6];
	(void)state;

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(billing_money_format(buf, sizeof(buf), &m), 11);
	assert_string_equal(buf, "1234.");
	assert_int_equal(billing_money_format(NULL, 0, &m), 11);
	buf[0] = 'x';
	assert_int_equal(billing_money_format(buf, 0, &m), 11);
	assert_int_equal(buf[0], 'x');
}

static void money_format__unknown_currency_is_invalid(void **state)
{
	billing_money m = money(100, "ABC"), lower = money(100, "eur");
	char buf[32];
	(void)state;

	assert_int_equal(billing_money_format(buf, sizeof(buf), &m), BILLING_EINVALID);
	assert_int_equal(billing_money_format(buf, sizeof(buf), &lower), BILLING_EINVALID);
	assert_int_equal(billing_money_format(buf, sizeof(buf), NULL), BILLING_EINVALID);
}

/* -------------------------------------------------------------- rates */

static void rate_parse__accepts_decimals_with_up_to_four_places(void **state)
{
	static const struct {
		const char *text;
		int32_t bp;
	} ok[] = {
		{ "0", 0 }, { "0.0", 0 }, { "0.0000", 0 }, { "0.2", 2000 },
		{ "0.20", 2000 }, { "0.0825", 825 }, { "0.9999", 9999 },
		{ "0.0001", 1 }, { "0.5", 5000 }, { "0.07", 700 }
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int32_t bp = -1;
		assert_int_equal(billing_rate_parse(&bp, ok[i].text), BILLING_OK);
		assert_int_equal(bp, ok[i].bp);
	}
}

static void rate_parse__rejects_malformed_or_out_of_range_text(void **state)
{
	static const char *const bad[] = {
		".5", "1", "1.0", "-0.1", "0.12345", "", " 0.1", "0.1 ", "abc",
		"0.1x", "0.", "00.1", "00", "+0.1", "0,1", "0.1e1", "1e-1",
		"0..1", "0.-1", "0x1", "\t0.1", "0.1\n", "10", "-0", "0.00000"
	};
	int32_t bp = 1234;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(billing_rate_parse(&bp, bad[i]), BILLING_EINVALID);
		assert_int_equal(bp, 1234);
	}
	assert_int_equal(billing_rate_parse(&bp, NULL), BILLING_EINVALID);
	assert_int_equal(billing_rate_parse(NULL, "0.2"), BILLING_EINVALID);
	assert_int_equal(bp, 1234);
}

static void rate_format__writes_the_shortest_decimal(void **state)
{
	char buf[8];
	(void)state;

	assert_int_equal(billing_rate_format(buf, sizeof(buf), 825), 6);
	assert_string_equal(buf, "0.0825");
	assert_int_equal(billing_rate_format(buf, sizeof(buf), 2000), 3);
	assert_string_equal(buf, "0.2");
	assert_int_equal(billing_rate_format(buf, sizeof(buf), 0), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(billing_rate_format(buf, sizeof(buf), 1), 6);
	assert_string_equal(buf, "0.0001");
	assert_int_equal(billing_rate_format(buf, sizeof(buf), 9999), 6);
	assert_string_equal(buf, "0.9999");
	assert_int_equal(billing_rate_format(buf, sizeof(buf), 1050), 5);
	assert_string_equal(buf, "0.105");
}

static void rate_format__rejects_out_of_range_rates_and_short_buffers(void **state)
{
	char buf[8];
	(void)state;

	assert_int_equal(billing_rate_format(buf, sizeof(buf), -1), BILLING_EINVALID);
	assert_string_equal(buf, "");
	assert_int_equal(billing_rate_format(buf, sizeof(buf), BILLING_RATE_SCALE), BILLING_EINVALID);
	assert_int_equal(billing_rate_format(buf, sizeof(buf), INT32_MIN), BILLING_EINVALID);
	assert_int_equal(billing_rate_format(buf, 6, 825), BILLING_EINVALID);
	assert_string_equal(buf, "");
	assert_int_equal(billing_rate_format(buf, 7, 825), 6);
	assert_int_equal(billing_rate_format(buf, 2, 0), 1);
	assert_int_equal(billing_rate_format(NULL, 8, 825), BILLING_EINVALID);
}

static void rate__every_basis_point_round_trips(void **state)
{
	char buf[8];
	int32_t bp;
	(void)state;

	for (bp = 0; bp < BILLING_RATE_SCALE; bp++) {
		int32_t back = -1;
		int len = billing_rate_format(buf, sizeof(buf), bp);

		assert_int_equal(len, (int)strlen(buf));
		assert_int_equal(billing_rate_parse(&back, buf), BILLING_OK);
		assert_int_equal(back, bp);
		/* shortest: "0" alone, or no trailing zero after the point */
		if (bp == 0)
			assert_string_equal(buf, "0");
		else
			assert_true(len >= 3 && buf[len - 1] != '0');
	}
}

/* ----------------------------------------------------------- property */

/* xorshift64*: small, fast, and the same sequence on every platform. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* Random int64 values biased toward where arithmetic breaks: the limits,
 * powers of two, small numbers (where ties are frequent) and full range. */
static int64_t interesting(void)
{
	uint64_t r = rng();
	uint64_t mag;

	switch (r % 8) {
	case 0:
		return (int64_t)(rng() % 21) - 10;
	case 1:
		return INT64_MAX - (int64_t)(rng() % 4);
	case 2:
		return INT64_MIN + (int64_t)(rng() % 4);
	case 3:
		mag = (uint64_t)1 << (rng() % 63);
		mag += (rng() % 3) - 1;
		return (rng() & 1) ? -(int64_t)mag : (int64_t)mag;
	case 4:
		return (int64_t)(rng() % 2000001) - 1000000;
	case 5:
		/* about sqrt(INT64_MAX): products land near the limit */
		return (int64_t)(rng() % (UINT64_C(1) << 33)) - (INT64_C(1) << 32);
	default:
		return (int64_t)rng();
	}
}

static bool fits(int128 v)
{
	return v >= INT64_MIN && v <= INT64_MAX;
}

/* Rounding of p / d by a route other than the library's: floor division
 * with a non-negative remainder, then each rule from there. */
static int128 reference_ratio(int128 p, int128 d, billing_rounding rule)
{
	int128 q, r;

	if (d < 0) {
		p = -p;
		d = -d;
	}
	q = p / d;
	r = p % d;
	if (r < 0) {
		q -= 1;
		r += d;
	}
	/* now p / d = q + r / d with 0 <= r < d */
	if (r == 0)
		return q;
	switch (rule) {
	case BILLING_ROUND_FLOOR:
		return q;
	case BILLING_ROUND_CEILING:
		return q + 1;
	case BILLING_ROUND_DOWN:
		return q >= 0 ? q : q + 1;
	case BILLING_ROUND_HALF_UP:
		if (2 * r != d)
			return 2 * r < d ? q : q + 1;
		return q >= 0 ? q + 1 : q;
	case BILLING_ROUND_HALF_EVEN:
		if (2 * r != d)
			return 2 * r < d ? q : q + 1;
		return (q % 2 == 0) ? q : q + 1;
	}
	fail();
	return 0;
}

static void property__add_sub_mul_are_exact_or_overflow(void **state)
{
	long i;
	(void)state;

	rng_state = UINT64_C(0x9e3779b97f4a7c15);
	for (i = 0; i < PROPERTY_CASES; i++) {
		int64_t x = interesting(), y = interesting();
		billing_money a = money(x, "EUR"), b = money(y, "EUR"), out;
		int128 want;
		int rc;

		out = untouched;
		want = (int128)x + y;
		rc = billing_money_add(&out, &a, &b);
		if (fits(want)) {
			assert_int_equal(rc, BILLING_OK);
			assert_true(out.amount == want);
		} else {
			assert_int_equal(rc, BILLING_EOVERFLOW);
			assert_untouched(&out);
		}

		out = untouched;
		want = (int128)x - y;
		rc = billing_money_sub(&out, &a, &b);
		if (fits(want)) {
			assert_int_equal(rc, BILLING_OK);
			assert_true(out.amount == want);
		} else {
			assert_int_equal(rc, BILLING_EOVERFLOW);
			assert_untouched(&out);
		}

		out = untouched;
		want = (int128)x * y;
		rc = billing_money_mul(&out, &a, y);
		if (fits(want)) {
			assert_int_equal(rc, BILLING_OK);
			assert_true(out.amount == want);
		} else {
			assert_int_equal(rc, BILLING_EOVERFLOW);
			assert_untouched(&out);
		}
	}
}

static void property__mul_ratio_is_exact_or_overflows(void **state)
{
	long i, overflowed = 0, ties = 0;
	(void)state;

	rng_state = UINT64_C(0xd1b54a32d192ed03);
	for (i = 0; i < PROPERTY_CASES; i++) {
		int64_t amount = interesting(), num = interesting(), den = interesting();
		billing_rounding rule = (billing_rounding)(1 + rng() % 5);
		int64_t out = 0x5a5a;
		int128 want;
		int rc;

		if (den == 0)
			den = (rng() & 1) ? 1 : -1;
		/* a fifth of the cases are exact ties, the hardest case to round:
		 * amount * h / 2h with an odd amount is amount / 2 exactly */
		if (rng() % 5 == 0) {
			int64_t h = (int64_t)((uint64_t)interesting() >> 2);

			if (h == 0)
				h = 1;
			num = (rng() & 1) ? h : -h;
			den = (rng() & 1) ? 2 * h : -2 * h;
			amount = (int64_t)((uint64_t)interesting() | 1);
			ties++;
		}
		want = reference_ratio((int128)amount * num, den, rule);
		rc = billing_amount_mul_ratio(&out, amount, num, den, rule);
		if (fits(want)) {
			assert_int_equal(rc, BILLING_OK);
			assert_true(out == want);
		} else {
			assert_int_equal(rc, BILLING_EOVERFLOW);
			assert_int_equal(out, 0x5a5a);
			overflowed++;
		}
	}
	/* the generator must reach both outcomes and the ties often */
	assert_true(overflowed > PROPERTY_CASES / 100);
	assert_true(overflowed < PROPERTY_CASES - PROPERTY_CASES / 10);
	assert_true(ties > PROPERTY_CASES / 10);
}

static int64_t random_weight(int scale)
{
	switch (rng() % 4) {
	case 0:
		return 0;
	case 1:
		return (int64_t)(rng() % 10);
	case 2:
		return (int64_t)(rng() % 1000000);
	default:
		return (int64_t)(rng() >> (1 + scale)); /* n * this cannot overflow */
	}
}

static void property__allocate_sums_exactly_within_one_unit_of_each_share(void **state)
{
	long i;
	(void)state;

	rng_state = UINT64_C(0x2545f4914f6cdd1d);
	for (i = 0; i < ALLOCATE_CASES; i++) {
		int64_t weights[16], parts[16], total = interesting();
		size_t n = 1 + (size_t)(rng() % 16), j, m;
		int128 wsum = 0, psum = 0;

		for (j = 0; j < n; j++) {
			weights[j] = random_weight(4);
			wsum += weights[j];
		}
		if (wsum == 0) {
			weights[rng() % n] = 1;
			wsum = 1;
		}

		assert_int_equal(billing_amount_allocate(parts, weights, n, total), BILLING_OK);
		for (j = 0; j < n; j++) {
			int128 exact = (int128)total * weights[j]; /* share * wsum */
			int128 diff = (int128)parts[j] * wsum - exact;

			psum += parts[j];
			/* |part - share| < 1 */
			assert_true(diff < wsum && diff > -wsum);
			/* a zero weight gets exactly nothing */
			if (weights[j] == 0)
				assert_int_equal(parts[j], 0);
		}
		assert_true(psum == total);

		/* largest remainder: a part that got a unit never had a smaller
		 * remainder than one that did not, nor an equal one later on */
		for (j = 0; j < n; j++) {
			int128 pj = (int128)total * weights[j];
			int128 rj = pj % wsum;
			bool up_j = parts[j] != (int64_t)(pj / wsum);

			if (rj < 0)
				rj = -rj;
			for (m = 0; m < n; m++) {
				int128 pm = (int128)total * weights[m];
				int128 rm = pm % wsum;
				bool up_m = parts[m] != (int64_t)(pm / wsum);

				if (rm < 0)
					rm = -rm;
				if (up_j && !up_m)
					assert_true(rj > rm || (rj == rm && j < m));
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(currency_normalize__upper_cases_lower_case_input),
		cmocka_unit_test(currency_normalize__rejects_unknown_codes_and_leaves_out_untouched),
		cmocka_unit_test(currency_normalize__rejects_metals_and_units_without_minor_unit),
		cmocka_unit_test(currency_normalize__rejects_withdrawn_codes),
		cmocka_unit_test(currency_table__holds_every_current_code_with_its_exponent),
		cmocka_unit_test(currency_exponent__matches_iso_4217_minor_units),
		cmocka_unit_test(currency_exponent__unknown_code_is_invalid),
		cmocka_unit_test(money_add__sums_amounts_of_one_currency),
		cmocka_unit_test(money_add__overflow_past_int64_max_leaves_out_untouched),
		cmocka_unit_test(money_add__overflow_past_int64_min_leaves_out_untouched),
		cmocka_unit_test(money_add__failure_sets_the_thread_error),
		cmocka_unit_test(money_add__currency_mismatch_is_invalid),
		cmocka_unit_test(money_add__unknown_or_unnormalized_currency_is_invalid),
		cmocka_unit_test(money_sub__subtracts_and_detects_overflow_at_both_ends),
		cmocka_unit_test(money_mul__multiplies_and_detects_overflow),
		cmocka_unit_test(mul_ratio__half_up_rounds_ties_away_from_zero),
		cmocka_unit_test(mul_ratio__half_even_rounds_ties_to_even),
		cmocka_unit_test(mul_ratio__half_rules_round_non_ties_to_nearest),
		cmocka_unit_test(mul_ratio__down_truncates_toward_zero),
		cmocka_unit_test(mul_ratio__floor_rounds_toward_negative_infinity),
		cmocka_unit_test(mul_ratio__ceiling_rounds_toward_positive_infinity),
		cmocka_unit_test(mul_ratio__exact_quotients_are_not_rounded),
		cmocka_unit_test(mul_ratio__tax_and_proration_examples),
		cmocka_unit_test(mul_ratio__uses_an_exact_128_bit_product),
		cmocka_unit_test(mul_ratio__int64_min_edges_are_exact),
		cmocka_unit_test(mul_ratio__rounding_past_the_limits_overflows),
		cmocka_unit_test(mul_ratio__zero_denominator_is_invalid),
		cmocka_unit_test(mul_ratio__unknown_rule_is_invalid),
		cmocka_unit_test(allocate__gives_the_residue_to_the_earliest_equal_parts),
		cmocka_unit_test(allocate__gives_the_residue_to_the_largest_remainders),
		cmocka_unit_test(allocate__negative_total_mirrors_positive),
		cmocka_unit_test(allocate__zero_weight_gets_nothing),
		cmocka_unit_test(allocate__single_part_takes_everything),
		cmocka_unit_test(allocate__int64_extremes_sum_exactly),
		cmocka_unit_test(allocate__rejects_empty_negative_or_zero_weights),
		cmocka_unit_test(allocate__weight_sum_overflow_is_reported),
		cmocka_unit_test(money_format__places_the_point_by_currency_exponent),
		cmocka_unit_test(money_format__negative_amounts_keep_the_leading_zero),
		cmocka_unit_test(money_format__handles_int64_extremes),
		cmocka_unit_test(money_format__truncates_and_returns_the_full_length),
		cmocka_unit_test(money_format__unknown_currency_is_invalid),
		cmocka_unit_test(rate_parse__accepts_decimals_with_up_to_four_places),
		cmocka_unit_test(rate_parse__rejects_malformed_or_out_of_range_text),
		cmocka_unit_test(rate_format__writes_the_shortest_decimal),
		cmocka_unit_test(rate_format__rejects_out_of_range_rates_and_short_buffers),
		cmocka_unit_test(rate__every_basis_point_round_trips),
		cmocka_unit_test(property__add_sub_mul_are_exact_or_overflow),
		cmocka_unit_test(property__mul_ratio_is_exact_or_overflows),
		cmocka_unit_test(property__allocate_sums_exactly_within_one_unit_of_each_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
