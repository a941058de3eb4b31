/*
 * Customers' tax ids (issue #22 item 4, `taxIds[{type, value}]`): the
 * format check of one id, pure; customer.c checks a customer's taxIds with
 * it (docs/billing.md, "Tax ids").
 */
#ifndef BILLING_CORE_TAX_ID_H
#define BILLING_CORE_TAX_ID_H

#include <stddef.h>

#define BILLING__TAX_ID_VALUE_MAX 32   /* the longest normalized value, with its NUL */

/*
 * Checks value as a tax id of type and writes its normalized form into
 * out (upper case; spaces, dots and hyphens removed; a us_ein keeps its
 * "12-3456789" hyphen). Types and what is checked:
 *   eu_vat  a member state's prefix (EL for Greece, XI for Northern
 *           Ireland) and that state's format (VIES), e.g. DE123456789
 *   gb_vat  GB + 9 or 12 digits, or GBGD / GBHA + 3 digits
 *   us_ein  9 digits, written 12-3456789
 *   ch_vat  CHE + 9 digits (the UID's mod-11 check digit) + MWST, TVA,
 *           IVA or TPV: CHE-116.281.710 MWST
 *   no_vat  9 digits (the organisation number's mod-11 check digit) + MVA
 *   au_abn  11 digits with the ABN's mod-89 checksum: 51 824 753 556
 *
 * @param field_type, field_value  the names errors carry ("taxIds[0].type")
 * @return BILLING_OK; BILLING_EINVALID naming field_type for an unknown
 *         type, field_value for a value that is not of the type's format
 *         (or longer than 64 characters); out is untouched on failure
 */
int billing__tax_id_check(char out[BILLING__TAX_ID_VALUE_MAX], const char *type,
	const char *value, const char *field_type, const char *field_value);

#endif
