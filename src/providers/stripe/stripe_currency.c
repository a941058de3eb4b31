/*
 * Amounts in Stripe's units (issue #18 item 9). The library keeps money in
 * ISO 4217 minor units (billing_currency_exponent); Stripe mostly does too,
 * with documented exceptions (https://docs.stripe.com/currencies):
 *
 * - zero-decimal currencies: the amount is in whole units. For all but MGA
 *   ISO agrees (exponent 0); MGA is exponent 2 in ISO, so the library's
 *   amount is divided by 100 and must be whole ariary.
 * - ISK: exponent 0 in ISO, but Stripe keeps it a two-decimal currency
 *   whose amounts must be multiples of 100: multiplied by 100.
 * - three-decimal currencies (BHD, JOD, KWD, OMR, TND): exponent 3 as in
 *   ISO, but the last digit must be 0: anything else is refused, never
 *   rounded (rounding would charge another amount than the invoice's).
 * - other currencies whose ISO exponent is not 2 and that Stripe does not
 *   list (IQD, LYD, CLF, UYI, UYW): refused.
 *
 * HUF and TWD are special at Stripe for payouts only; charges take them as
 * two-decimal amounts.
 */
#include "providers/stripe/stripe_internal.h"

#include <stdio.h>
#include <string.h>

#include "billing/money.h"
#include "core/errors.h"

static const char *const zero_decimal[] = {
	"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
	"VUV", "XAF", "XOF", "XPF", NULL
};

static const char *const three_decimal[] = { "BHD", "JOD", "KWD", "OMR", "TND", NULL };

static bool listed(const char *const *list, const char *code)
{
	for (; *list; list++)
		if (strcmp(*list, code) == 0)
			return true;
	return false;
}

/* Stripe's exponent for code (upper case), or -1 when Stripe takes none. */
static int stripe_exponent(const char *code, int iso)
{
	if (listed(zero_decimal, code))
		return 0;
	if (strcmp(code, "ISK") == 0)
		return 2;
	if (listed(three_decimal, code))
		return 3;
	return iso == 2 ? 2 : -1;
}

static void upper(char out[4], const char *c)
{
	int i;
	for (i = 0; i < 3 && c[i]; i++)
		out[i] = (c[i] >= 'a' && c[i] <= 'z') ? (char)(c[i] - 'a' + 'A') : c[i];
	out[i] = '\0';
}

int billing__stripe_amount_out(int64_t *out, const char *currency, int64_t amount)
{
	char code[4];
	int iso, se;

	upper(code, currency);
	iso = billing_currency_exponent(code);
	se = iso < 0 ? -1 : stripe_exponent(code, iso);
	if (se < 0)
		return billing__error_field(BILLING_EINVALID, "currency_unsupported", "currency",
			"Stripe does not charge %s", code);
	if (se > iso) {                          /* ISK: x100 */
		if (amount > INT64_MAX / 100)
			return billing__error_field(BILLING_EINVALID, "amount_too_large", "amount",
				"%s amount too large for Stripe", code);
		amount *= 100;
	} else if (se < iso) {                   /* MGA: whole ariary */
		if (amount % 100 != 0)
			return billing__error_field(BILLING_EINVALID, "amount_not_allowed",
				"amount", "Stripe charges %s in whole units only: %lld is not a "
				"multiple of 100", code, (long long)amount);
		amount /= 100;
	}
	if (se == 3 && amount % 10 != 0)
		return billing__error_field(BILLING_EINVALID, "amount_not_allowed", "amount",
			"Stripe wants %s amounts in multiples of 10 (0.010 %s): %lld is not",
			code, code, (long long)amount);
	*out = amount;
	return BILLING_OK;
}

int64_t billing__stripe_amount_in(const char *currency, int64_t amount)
{
	char code[4];
	int iso, se;

	if (!currency)
		return amount;
	upper(code, currency);
	iso = billing_currency_exponent(code);
	se = iso < 0 ? -1 : stripe_exponent(code, iso);
	if (se < 0 || se == iso)
		return amount;
	if (se > iso)
		return amount % 100 == 0 ? amount / 100 : -1;
	return amount <= INT64_MAX / 100 ? amount * 100 : -1;
}
