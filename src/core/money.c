/*
 * Money arithmetic: ISO 4217 currencies and their minor units, overflow-
 * checked sums and products, exact ratios with a named rounding rule,
 * largest-remainder splits, and the decimal forms of amounts and rates.
 *
 * Everything is integer arithmetic. Products that can exceed 64 bits
 * (amount * numerator, total * weight) are formed in 128 bits, where they
 * are always exact: |a * b| <= 2^126 for 64-bit a and b. Every function
 * writes its out-parameter only on success.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/money.h"
#include "billing/errors.h"
#include "core/errors.h"
#include "core/validate.h"

#ifndef __SIZEOF_INT128__
# error "money.c needs __int128 (gcc or clang on a 64-bit target)"
#endif

/* __extension__ keeps -pedantic builds quiet about the non-ISO type. */
__extension__ typedef __int128 int128;

/*
 * ISO 4217 List One as published by the maintenance agency on 2026-01-01,
 * sorted by code for bsearch(). Left out:
 * - codes whose minor unit is "N.A.", which cannot be priced in minor
 *   units: precious metals (XAU, XAG, XPT, XPD), the SDR (XDR), the ADB
 *   unit of account (XUA), the SUCRE (XSU), the bond market units
 *   (XBA-XBD), the testing code XTS and "no currency" XXX;
 * - withdrawn codes: HRK (Croatia, euro since 2023), BGN (Bulgaria, euro
 *   since 2026), ANG (replaced by XCG), SLL (by SLE), ZWL (by ZWG), CUC.
 * Fund codes that do have a minor unit (BOV, CHE, CHW, CLF, COU, MXV,
 * USN, UYI, UYW) are kept: they are legitimate settlement units.
 */
struct currency {
	char code[4];
	unsigned char exponent;
};

static const struct currency currencies[] = {
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

#define CURRENCY_COUNT (sizeof(currencies) / sizeof(currencies[0]))

static int currency_cmp(const void *key, const void *elem)
{
	const struct currency *c = elem;
	return memcmp(key, c->code, 3);
}

/*
 * Upper-cases a candidate code into key. Only the ASCII letters count:
 * toupper() would follow the locale, and a code is never anything else.
 */
static bool currency_key(char key[3], const char *code)
{
	size_t i;

	for (i = 0; i < 3; i++) {
		char ch = code[i];
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		else if (ch < 'A' || ch > 'Z')
			return false; /* also stops at a NUL in a short code */
		key[i] = ch;
	}
	return code[3] == '\0';
}

/* The table entry for a code in any case, or NULL. */
static const struct currency *currency_find(const char *code)
{
	char key[3];

	if (!code || !currency_key(key, code))
		return NULL;
	return bsearch(key, currencies, CURRENCY_COUNT, sizeof(currencies[0]),
		currency_cmp);
}

/*
 * The entry for the currency of a billing_money. Here the code must already
 * be the canonical upper-case form: the struct promises it, and accepting
 * "eur" would let an unnormalized value reach storage and comparisons.
 * The array is read within its 4 bytes, so garbage without a NUL is safe.
 */
static const struct currency *money_currency(const billing_money *m)
{
	const struct currency *c = NULL;

	if (m->currency[3] != '\0')
		return NULL;
	c = currency_find(m->currency);
	if (!c || memcmp(c->code, m->currency, 3) != 0)
		return NULL;
	return c;
}

static int unknown_currency(void)
{
	return billing__error_set(BILLING_EINVALID, "invalid_currency",
		"not a current ISO 4217 currency code");
}

static int overflow(const char *what)
{
	return billing__error_set(BILLING_EOVERFLOW, NULL,
		"%s does not fit in a 64-bit amount", what);
}

int billing_currency_normalize(char out[4], const char *code)
{
	const struct currency *c = NULL;

	BILLING__ASSERT_ARG(out, "out");
	if ((c = currency_find(code)) == NULL)
		return unknown_currency();
	memcpy(out, c->code, 4);
	return BILLING_OK;
}

const char *billing__currency_code(const char *code)
{
	const struct currency *c = currency_find(code);
	return c ? c->code : NULL;
}

int billing_currency_exponent(const char *code)
{
	const struct currency *c = currency_find(code);

	if (!c)
		return unknown_currency();
	return c->exponent;
}

/* The checks add and sub share; on success *cur is a's currency. */
static int check_pair(const struct currency **cur, const billing_money *out,
	const billing_money *a, const billing_money *b)
{
	const struct currency *ca, *cb;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(a, "a");
	BILLING__ASSERT_ARG(b, "b");
	if ((ca = money_currency(a)) == NULL || (cb = money_currency(b)) == NULL)
		return unknown_currency();
	if (ca != cb)
		return billing__error_set(BILLING_EINVALID, "currency_mismatch",
			"cannot combine %s with %s", ca->code, cb->code);
	*cur = ca;
	return BILLING_OK;
}

int billing_money_add(billing_money *out,
	const billing_money *a, const billing_money *b)
{
	const struct currency *c = NULL;
	int64_t sum;
	int rc;

	if ((rc = check_pair(&c, out, a, b)) < 0)
		return rc;
	if (__builtin_add_overflow(a->amount, b->amount, &sum))
		return overflow("the sum");
	out->amount = sum;
	memcpy(out->currency, c->code, 4);
	return BILLING_OK;
}

int billing_money_sub(billing_money *out,
	const billing_money *a, const billing_money *b)
{
	const struct currency *c = NULL;
	int64_t diff;
	int rc;

	if ((rc = check_pair(&c, out, a, b)) < 0)
		return rc;
	if (__builtin_sub_overflow(a->amount, b->amount, &diff))
		return overflow("the difference");
	out->amount = diff;
	memcpy(out->currency, c->code, 4);
	return BILLING_OK;
}

int billing_money_mul(billing_money *out,
	const billing_money *a, int64_t factor)
{
	const struct currency *c = NULL;
	int64_t product;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(a, "a");
	if ((c = money_currency(a)) == NULL)
		return unknown_currency();
	if (__builtin_mul_overflow(a->amount, factor, &product))
		return overflow("the product");
	out->amount = product;
	memcpy(out->currency, c->code, 4);
	return BILLING_OK;
}

/*
 * C division truncates toward zero, so q is the exact quotient rounded
 * toward zero and r (with the sign of the dividend) tells how far the
 * exact value lies beyond q. Every rule is then "keep q, or step one unit
 * away from zero". |r| < |den| <= 2^63, so 2|r| cannot overflow 128 bits,
 * and neither can -p for |p| <= 2^126.
 */
int billing_amount_mul_ratio(int64_t *out, int64_t amount,
	int64_t num, int64_t den, billing_rounding rule)
{
	int128 p, q, r, twice_r, abs_den;
	bool negative, away;

	BILLING__ASSERT_ARG(out, "out");
	if (rule < BILLING_ROUND_HALF_UP || rule > BILLING_ROUND_CEILING)
		return billing__error_set(BILLING_EINVALID, "invalid_rounding",
			"unknown rounding rule %d", (int)rule);
	if (den == 0)
		return billing__error_set(BILLING_EINVALID, "division_by_zero",
			"the denominator of a ratio must not be 0");

	p = (int128)amount * num;
	q = p / den;
	r = p % den;
	negative = (p < 0) != (den < 0);
	twice_r = r < 0 ? -2 * r : 2 * r;
	abs_den = den < 0 ? -(int128)den : (int128)den;

	switch (rule) {
	case BILLING_ROUND_HALF_UP:
		away = twice_r >= abs_den;
		break;
	case BILLING_ROUND_HALF_EVEN:
		away = twice_r > abs_den || (twice_r == abs_den && (q & 1) != 0);
		break;
	case BILLING_ROUND_FLOOR:
		away = r != 0 && negative;
		break;
	case BILLING_ROUND_CEILING:
		away = r != 0 && !negative;
		break;
	default: /* BILLING_ROUND_DOWN */
		away = false;
		break;
	}
	if (away)
		q += negative ? -1 : 1;

	if (q < INT64_MIN || q > INT64_MAX)
		return overflow("the ratio");
	*out = (int64_t)q;
	return BILLING_OK;
}

/*
 * Largest remainder without scratch memory. Each part starts as its share
 * truncated toward zero; the k units left over (k < n) go to the parts with
 * the largest |remainder|. Rather than sort, find the threshold T, the
 * largest value with at least k remainders >= T: every part above T gets a
 * unit, and the earliest parts equal to T take the rest. The remainders
 * (each < sum <= INT64_MAX) are parked in parts[] while T is searched,
 * which costs 64 cheap passes instead of an allocation that could fail.
 *
 * Only parts with a non-zero remainder ever get a unit (k units need more
 * than k non-zero remainders, each below sum), so every part stays within
 * one minor unit of its exact share and no part can overflow: a truncated
 * share with a remainder is strictly smaller in magnitude than total.
 */
static size_t count_at_least(const int64_t *rem, size_t n, int64_t t)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		if (rem[i] >= t)
			count++;
	return count;
}

int billing_amount_allocate(int64_t *parts,
	const int64_t *weights, size_t n, int64_t total)
{
	int64_t sum = 0, lo, hi, step;
	int128 given = 0, residue;
	size_t i, k, ties;

	BILLING__ASSERT_ARG(parts, "parts");
	BILLING__ASSERT_ARG(weights, "weights");
	if (n == 0)
		return billing__error_set(BILLING_EINVALID, "invalid_weights",
			"nothing to allocate to");
	for (i = 0; i < n; i++) {
		if (weights[i] < 0)
			return billing__error_set(BILLING_EINVALID, "invalid_weights",
				"weight %zu is negative", i);
		if (__builtin_add_overflow(sum, weights[i], &sum))
			return overflow("the sum of the weights");
	}
	if (sum == 0)
		return billing__error_set(BILLING_EINVALID, "invalid_weights",
			"the weights sum to 0");

	for (i = 0; i < n; i++) {
		int128 p = (int128)total * weights[i];
		int128 r = p % sum;
		given += p / sum;
		parts[i] = (int64_t)(r < 0 ? -r : r);
	}
	residue = (int128)total - given;
	k = (size_t)(residue < 0 ? -residue : residue);
	step = total < 0 ? -1 : 1;

	lo = 1; /* count_at_least(1) > k when k > 0, see above */
	hi = sum;
	while (k > 0 && hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (count_at_least(parts, n, mid) >= k)
			lo = mid;
		else
			hi = mid;
	}
	ties = k > 0 ? k - count_at_least(parts, n, lo + 1) : 0;

	for (i = 0; i < n; i++) {
		int64_t rem = parts[i];
		int64_t share = (int64_t)((int128)total * weights[i] / sum);
		if (k > 0 && rem > lo)
			share += step;
		else if (k > 0 && rem == lo && ties > 0) {
			share += step;
			ties--;
		}
		parts[i] = share;
	}
	return BILLING_OK;
}

/* 10^e for the exponents in the table (0..4). */
static uint64_t pow10u(unsigned int e)
{
	uint64_t v = 1;

	while (e-- > 0)
		v *= 10;
	return v;
}

int billing_money_format(char *buf, size_t size, const billing_money *m)
{
	const struct currency *c = NULL;
	uint64_t mag, unit;
	const char *sign;
	int len;

	BILLING__ASSERT_ARG(m, "m");
	BILLING__ASSERT_ARG(buf || size == 0, "buf");
	if ((c = money_currency(m)) == NULL)
		return unknown_currency();

	/* The magnitude in unsigned arithmetic: -INT64_MIN is not an int64_t. */
	sign = m->amount < 0 ? "-" : "";
	mag = m->amount < 0 ? (uint64_t)0 - (uint64_t)m->amount : (uint64_t)m->amount;
	unit = pow10u(c->exponent);

	if (c->exponent == 0)
		len = snprintf(buf, size, "%s%" PRIu64 " %s", sign, mag, c->code);
	else
		len = snprintf(buf, size, "%s%" PRIu64 ".%0*" PRIu64 " %s", sign,
			mag / unit, (int)c->exponent, mag % unit, c->code);
	if (len < 0)
		return billing__error_set(BILLING_ERROR, NULL, "formatting failed");
	return len;
}

static int invalid_rate(void)
{
	return billing__error_set(BILLING_EINVALID, "invalid_rate",
		"a rate is a decimal 0 <= r < 1 with at most 4 places, like 0.0825");
}

/*
 * The grammar is "0" or "0." followed by 1 to 4 digits, nothing else: no
 * sign, no white space, no exponent, no ".5" or "0." shorthand. Anything
 * laxer would let two spellings of one rate disagree on what was meant.
 */
int billing_rate_parse(int32_t *out_bp, const char *text)
{
	int32_t bp = 0;
	int places = 0;
	const char *p;

	BILLING__ASSERT_ARG(out_bp, "out_bp");
	if (!text || text[0] != '0')
		return invalid_rate();
	if (text[1] == '\0') {
		*out_bp = 0;
		return BILLING_OK;
	}
	if (text[1] != '.')
		return invalid_rate();
	for (p = text + 2; *p; p++) {
		if (*p < '0' || *p > '9' || ++places > 4)
			return invalid_rate();
		bp = bp * 10 + (*p - '0');
	}
	if (places == 0)
		return invalid_rate();
	while (places++ < 4)
		bp *= 10;
	*out_bp = bp;
	return BILLING_OK;
}

int billing_rate_format(char *buf, size_t size, int32_t bp)
{
	char tmp[8];
	int len = 1, i;

	BILLING__ASSERT_ARG(buf, "buf");
	if (bp < 0 || bp >= BILLING_RATE_SCALE) {
		if (size > 0)
			buf[0] = '\0';
		return invalid_rate();
	}

	tmp[0] = '0';
	if (bp > 0) {
		tmp[len++] = '.';
		for (i = 1000; i > 0 && bp > 0; i /= 10) {
			tmp[len++] = (char)('0' + bp / i);
			bp %= i;
		}
	}
	tmp[len] = '\0';

	/* Never a truncated rate: "0.08" for 0.0825 would be a wrong number. */
	if ((size_t)len >= size) {
		if (size > 0)
			buf[0] = '\0';
		return billing__error_set(BILLING_EINVALID, "buffer_too_small",
			"a rate needs up to 7 bytes");
	}
	memcpy(buf, tmp, (size_t)len + 1);
	return len;
}
