/*
 * The format check of a customer's tax id (core/tax_id.h). Formats are
 * patterns over the normalized value: '#' a digit, '@' a letter, '*' a
 * digit or letter, any other character itself; '|' separates
 * alternatives. EU VAT formats are VIES's; the Swiss, Norwegian and
 * Australian numbers also carry their check digits, which are verified.
 * The EU states' own check digits are not (a format check, as #22 asks;
 * VIES answers whether a number is registered).
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "billing/errors.h"
#include "core/errors.h"
#include "core/tax_id.h"

#define VALUE_MAX 64   /* characters accepted before normalization */

/* The EU member states' VAT formats after the two-letter prefix (VIES). */
static const struct {
	const char prefix[3];
	const char *pattern;
} eu[] = {
	{ "AT", "U########" },
	{ "BE", "0#########|1#########" },
	{ "BG", "#########|##########" },
	{ "CY", "########@" },
	{ "CZ", "########|#########|##########" },
	{ "DE", "#########" },
	{ "DK", "########" },
	{ "EE", "#########" },
	{ "EL", "#########" },
	{ "ES", "*#######*" },
	{ "FI", "########" },
	{ "FR", "**#########" },
	{ "HR", "###########" },
	{ "HU", "########" },
	{ "IE", "#*#####@|#######@@" },
	{ "IT", "###########" },
	{ "LT", "#########|############" },
	{ "LU", "########" },
	{ "LV", "###########" },
	{ "MT", "########" },
	{ "NL", "#########B##" },
	{ "PL", "##########" },
	{ "PT", "#########" },
	{ "RO", "##|###|####|#####|######|#######|########|#########|##########" },
	{ "SE", "##########01" },
	{ "SI", "########" },
	{ "SK", "##########" },
	{ "XI", "#########|############|GD###|HA###" },
};

static int matches_one(const char *v, const char *p, size_t plen)
{
	size_t i;

	if (strlen(v) != plen)
		return 0;
	for (i = 0; i < plen; i++) {
		unsigned char c = (unsigned char)v[i];

		switch (p[i]) {
		case '#':
			if (!isdigit(c))
				return 0;
			break;
		case '@':
			if (!isupper(c))
				return 0;
			break;
		case '*':
			if (!isdigit(c) && !isupper(c))
				return 0;
			break;
		default:
			if (c != (unsigned char)p[i])
				return 0;
		}
	}
	return 1;
}

/* Whether v matches one of pattern's alternatives. */
static int matches(const char *v, const char *pattern)
{
	const char *p = pattern;

	for (;;) {
		size_t len = strcspn(p, "|");

		if (matches_one(v, p, len))
			return 1;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

/* The sum of digits[i] x weights[i] over n digits. */
static int weighted(const char *digits, const int *weights, size_t n)
{
	int sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += (digits[i] - '0') * weights[i];
	return sum;
}

/* The mod-11 check digit of 8 digits (Swiss UID, Norwegian organisation
 * number): 11 - sum mod 11, 11 is 0 and 10 is no valid number. */
static int mod11(const char *digits, const int *weights)
{
	int check = 11 - weighted(digits, weights, 8) % 11;

	if (check == 11)
		check = 0;
	return check == 10 ? -1 : check;
}

static int eu_vat(const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(eu) / sizeof(eu[0]); i++)
		if (strncmp(v, eu[i].prefix, 2) == 0)
			return matches(v + 2, eu[i].pattern);
	return 0;
}

static int gb_vat(const char *v)
{
	return strncmp(v, "GB", 2) == 0 &&
		matches(v + 2, "#########|############|GD###|HA###");
}

static int ch_vat(const char *v)
{
	static const int w[8] = { 5, 4, 3, 2, 7, 6, 5, 4 };

	return (matches(v, "CHE#########MWST|CHE#########TVA|CHE#########IVA|"
		"CHE#########TPV")) && mod11(v + 3, w) == v[11] - '0';
}

static int no_vat(const char *v)
{
	static const int w[8] = { 3, 2, 7, 6, 5, 4, 3, 2 };

	return matches(v, "#########MVA") && mod11(v, w) == v[8] - '0';
}

static int au_abn(const char *v)
{
	static const int w[11] = { 10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 };

	/* The first digit less one, weighted: a multiple of 89. */
	return matches(v, "###########") && v[0] != '0' &&
		(weighted(v, w, 11) - w[0]) % 89 == 0;
}

static int us_ein(const char *v)
{
	return matches(v, "#########");
}

static const struct {
	const char *type;
	int (*valid)(const char *normalized);
	const char *example;
} types[] = {
	{ "eu_vat", eu_vat, "DE123456789" },
	{ "gb_vat", gb_vat, "GB123456789" },
	{ "us_ein", us_ein, "12-3456789" },
	{ "ch_vat", ch_vat, "CHE-116.281.710 MWST" },
	{ "no_vat", no_vat, "923609016MVA" },
	{ "au_abn", au_abn, "51824753556" },
};

int billing__tax_id_check(char out[BILLING__TAX_ID_VALUE_MAX], const char *type,
	const char *value, const char *field_type, const char *field_value)
{
	char v[VALUE_MAX + 1];
	size_t i, j = 0, t;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(field_type && field_value, "field");
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		if (type && strcmp(type, types[t].type) == 0)
			break;
	if (t == sizeof(types) / sizeof(types[0]))
		return billing__error_field(BILLING_EINVALID, "invalid_tax_id_type", field_type,
			"a tax id's type is one of eu_vat, gb_vat, us_ein, ch_vat, no_vat, au_abn");
	if (!value || strlen(value) > VALUE_MAX)
		return billing__error_field(BILLING_EINVALID, "invalid_tax_id", field_value,
			"a tax id of type %s is 1-%d characters", types[t].type, VALUE_MAX);
	for (i = 0; value[i]; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == ' ' || c == '.' || c == '-')
			continue;
		v[j++] = (char)toupper(c);
	}
	v[j] = '\0';
	if (j >= BILLING__TAX_ID_VALUE_MAX || !types[t].valid(v))
		return billing__error_field(BILLING_EINVALID, "invalid_tax_id", field_value,
			"not a valid %s (for example %s)", types[t].type, types[t].example);
	if (strcmp(types[t].type, "us_ein") == 0) {
		memcpy(out, v, 2);
		out[2] = '-';
		memcpy(out + 3, v + 2, 8);   /* 7 digits and the NUL */
		return BILLING_OK;
	}
	memcpy(out, v, j + 1);
	return BILLING_OK;
}
