/**
 * @file billing/money.h
 * @brief Money as integer minor units, ISO 4217 currencies, exact rounding.
 *
 * Money is never a floating-point number here. An amount is an int64_t count
 * of the currency's minor unit (cents for EUR, yen for JPY, fils for BHD).
 * Every operation checks for overflow and returns BILLING_EOVERFLOW rather
 * than wrap. Every division names its rounding rule.
 */
#ifndef BILLING_MONEY_H
#define BILLING_MONEY_H

#include "common.h"

BILLING_BEGIN_DECL

/** Largest absolute amount the domain accepts for a price, in minor units:
 *  10^15 - 1, which stays exact in JSON numbers (below 2^53). */
#define BILLING_AMOUNT_MAX INT64_C(999999999999999)

/** A tax or discount rate in basis points of a unit: 1 = 0.0001, 10000 = 1. */
#define BILLING_RATE_SCALE 10000

/** An amount with its currency ("EUR", upper case, NUL-terminated). */
typedef struct {
	int64_t amount;
	char currency[4];
} billing_money;

/** Rounding rules. Each division in the library names one. */
typedef enum {
	BILLING_ROUND_HALF_UP = 1,   /**< half away from zero: 2.5 -> 3, -2.5 -> -3 */
	BILLING_ROUND_HALF_EVEN = 2, /**< banker's rounding: 2.5 -> 2, 3.5 -> 4 */
	BILLING_ROUND_DOWN = 3,      /**< toward zero */
	BILLING_ROUND_FLOOR = 4,     /**< toward negative infinity */
	BILLING_ROUND_CEILING = 5    /**< toward positive infinity */
} billing_rounding;

/**
 * Normalizes a currency code: trims nothing, upper-cases, and checks it
 * against the compiled ISO 4217 table.
 *
 * @param out  receives the upper-case code, NUL-terminated
 * @param code the code as given ("eur", "EUR")
 * @return BILLING_OK, or BILLING_EINVALID when code is NULL or not a current
 *         ISO 4217 currency
 */
BILLING_EXTERN(int) billing_currency_normalize(char out[4], const char *code);

/**
 * The number of minor-unit digits of a currency: 2 for EUR, 0 for JPY,
 * 3 for BHD. Case-insensitive.
 *
 * @return the exponent (0..4), or BILLING_EINVALID for an unknown code
 */
BILLING_EXTERN(int) billing_currency_exponent(const char *code);

/**
 * out = a + b. Both must have the same currency.
 * @return BILLING_OK; BILLING_EINVALID on a currency mismatch or unknown
 *         currency; BILLING_EOVERFLOW when the sum does not fit in int64_t.
 *         out is untouched on failure.
 */
BILLING_EXTERN(int) billing_money_add(billing_money *out,
	const billing_money *a, const billing_money *b);

/** out = a - b; errors as billing_money_add(). */
BILLING_EXTERN(int) billing_money_sub(billing_money *out,
	const billing_money *a, const billing_money *b);

/** out = a * factor; BILLING_EOVERFLOW when it does not fit. */
BILLING_EXTERN(int) billing_money_mul(billing_money *out,
	const billing_money *a, int64_t factor);

/**
 * out = amount * num / den, computed exactly (128-bit intermediate) and
 * rounded by rule. This is the one place fractions of a minor unit arise:
 * proration (seconds used / seconds in period) and rates (rate / 10000).
 *
 * @return BILLING_OK; BILLING_EINVALID when den is 0 or rule is unknown;
 *         BILLING_EOVERFLOW when the result does not fit in int64_t
 */
BILLING_EXTERN(int) billing_amount_mul_ratio(int64_t *out, int64_t amount,
	int64_t num, int64_t den, billing_rounding rule);

/**
 * Splits total into n parts proportional to weights, so that the parts sum
 * to total exactly: each part is rounded toward zero, then the residue is
 * given one minor unit at a time to the parts with the largest remainders
 * (ties to the earliest part). Weights must be >= 0 with a positive sum.
 *
 * @param parts   receives n amounts
 * @return BILLING_OK; BILLING_EINVALID for n == 0, a negative weight or a
 *         zero sum; BILLING_EOVERFLOW when the weights' sum overflows
 */
BILLING_EXTERN(int) billing_amount_allocate(int64_t *parts,
	const int64_t *weights, size_t n, int64_t total);

/**
 * Formats money for people: "1234.50 EUR", "-3 JPY", "0.125 BHD".
 * @param buf receives a NUL-terminated string (truncated to size)
 * @return the length the full string needs (like snprintf), or
 *         BILLING_EINVALID for an unknown currency
 */
BILLING_EXTERN(int) billing_money_format(char *buf, size_t size, const billing_money *m);

/**
 * Parses a decimal rate with at most 4 places, 0 <= rate < 1 ("0.2",
 * "0.0825", "0") into basis points of a unit (2000, 825, 0).
 * @return BILLING_OK or BILLING_EINVALID (not a decimal, more than 4
 *         places, out of range)
 */
BILLING_EXTERN(int) billing_rate_parse(int32_t *out_bp, const char *text);

/** Formats a rate in basis points as the shortest decimal ("0.0825", "0.2",
 *  "0"). buf needs 8 bytes. Returns the length written. */
BILLING_EXTERN(int) billing_rate_format(char *buf, size_t size, int32_t bp);

BILLING_END_DECL

#endif
