/*
 * Unit tests for core/tax_id.c, the format check of a customer's tax id:
 * a valid id of every type (and of every EU prefix) is accepted and
 * normalized; the registries' published examples pass their check digits
 * and one changed digit fails them; wrong lengths, letters where digits go,
 * unknown prefixes and types are refused naming the field the caller gave,
 * with out untouched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "billing/errors.h"
#include "core/tax_id.h"

static void accepted(const char *type, const char *value, const char *normalized)
{
	char out[BILLING__TAX_ID_VALUE_MAX];
	int rc = billing__tax_id_check(out, type, value, "taxIds[0].type", "taxIds[0].value");

	if (rc != BILLING_OK)
		fail_msg("%s %s refused: %s", type, value, billing_error_last()->message);
	assert_string_equal(out, normalized);
}

static void refused(const char *type, const char *value, const char *field)
{
	char out[BILLING__TAX_ID_VALUE_MAX] = "untouched";

	assert_int_equal(billing__tax_id_check(out, type, value, "taxIds[1].type",
		"taxIds[1].value"), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, field);
	assert_string_equal(out, "untouched");
}

static void valid_ids(void **state)
{
	(void)state;
	accepted("eu_vat", "DE123456789", "DE123456789");
	accepted("eu_vat", "de 123 456 789", "DE123456789");
	accepted("eu_vat", "ATU12345678", "ATU12345678");
	accepted("eu_vat", "FR 40 303 265 045", "FR40303265045");
	accepted("eu_vat", "FRXX303265045", "FRXX303265045");
	accepted("eu_vat", "NL123456789B01", "NL123456789B01");
	accepted("eu_vat", "ESX1234567X", "ESX1234567X");
	accepted("eu_vat", "IE1234567WA", "IE1234567WA");
	accepted("eu_vat", "IE8Z49289F", "IE8Z49289F");
	accepted("eu_vat", "EL123456789", "EL123456789");
	accepted("eu_vat", "RO12", "RO12");
	accepted("eu_vat", "SE123456789001", "SE123456789001");
	accepted("eu_vat", "XIGD123", "XIGD123");
	accepted("gb_vat", "GB 123 4567 89", "GB123456789");
	accepted("gb_vat", "GB123456789012", "GB123456789012");
	accepted("gb_vat", "GBHA599", "GBHA599");
	accepted("us_ein", "12-3456789", "12-3456789");
	accepted("us_ein", "123456789", "12-3456789");
	accepted("ch_vat", "CHE-116.281.710 MWST", "CHE116281710MWST");
	accepted("ch_vat", "che116281710tva", "CHE116281710TVA");
	accepted("no_vat", "923 609 016 MVA", "923609016MVA");
	accepted("au_abn", "51 824 753 556", "51824753556");
}

static void invalid_values(void **state)
{
	(void)state;
	refused("eu_vat", "DE12345678", "taxIds[1].value");      /* 8 digits */
	refused("eu_vat", "DE1234567890", "taxIds[1].value");    /* 10 */
	refused("eu_vat", "GR123456789", "taxIds[1].value");     /* Greece is EL */
	refused("eu_vat", "US123456789", "taxIds[1].value");
	refused("eu_vat", "AT12345678", "taxIds[1].value");      /* no U */
	refused("eu_vat", "NL123456789C01", "taxIds[1].value");
	refused("eu_vat", "SE123456789002", "taxIds[1].value");
	refused("eu_vat", "", "taxIds[1].value");
	refused("eu_vat", "D", "taxIds[1].value");
	refused("eu_vat", "DE12345678\xc3\xa9", "taxIds[1].value");
	refused("gb_vat", "123456789", "taxIds[1].value");       /* no GB */
	refused("gb_vat", "GB12345678", "taxIds[1].value");
	refused("us_ein", "12-345678", "taxIds[1].value");
	refused("us_ein", "AB-3456789", "taxIds[1].value");
	refused("ch_vat", "CHE-116.281.711 MWST", "taxIds[1].value"); /* check digit */
	refused("ch_vat", "CHE-116.281.710", "taxIds[1].value");      /* no suffix */
	refused("no_vat", "923609017MVA", "taxIds[1].value");         /* check digit */
	refused("no_vat", "923609016", "taxIds[1].value");
	refused("au_abn", "51 824 753 557", "taxIds[1].value");       /* checksum */
	refused("au_abn", "5182475355", "taxIds[1].value");
	refused("au_abn", "01824753556", "taxIds[1].value");
	refused("eu_vat", NULL, "taxIds[1].value");
	refused("eu_vat", "DE 1 2 3 4 5 6 7 8 9 . . . . . . . . . . . . . . . . . . . . . . . . . . . "
		". . . . . . . . .", "taxIds[1].value");                  /* over 64 characters */
}

static void unknown_types(void **state)
{
	(void)state;
	refused("xx_vat", "DE123456789", "taxIds[1].type");
	refused(NULL, "DE123456789", "taxIds[1].type");
	refused("EU_VAT", "DE123456789", "taxIds[1].type");
}

static void every_eu_prefix(void **state)
{
	/* One id per member state, in VIES's format. */
	static const char *const ids[] = {
		"ATU12345678", "BE0123456789", "BG123456789", "CY12345678L", "CZ12345678",
		"DE123456789", "DK12345678", "EE123456789", "EL123456789", "ESA1234567B",
		"FI12345678", "FR12345678901", "HR12345678901", "HU12345678", "IE1234567T",
		"IT12345678901", "LT123456789", "LU12345678", "LV12345678901", "MT12345678",
		"NL123456789B01", "PL1234567890", "PT123456789", "RO1234567890",
		"SE123456789701", "SI12345678", "SK1234567890", "XI123456789",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		accepted("eu_vat", ids[i], ids[i]);
	refused("eu_vat", "IE1234567", "taxIds[1].value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_ids),
		cmocka_unit_test(invalid_values),
		cmocka_unit_test(unknown_types),
		cmocka_unit_test(every_eu_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
