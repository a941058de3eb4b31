/*
 * Postal addresses (billing_address, billing/customer.h): a customer's
 * billing address and the tenant's in its branding (issue #24). Stored as
 * a JSON object of at most six strings {line1, line2, city, postalCode,
 * region, country}; checked and made canonical once here (address.c).
 */
#ifndef BILLING_CORE_ADDRESS_H
#define BILLING_CORE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "billing/customer.h"
#include "core/errors.h"

#define BILLING__ADDRESS_PARTS 6

/* The JSON members, in billing_address's order. */
extern const char *const billing__address_keys[BILLING__ADDRESS_PARTS];

/*
 * text (a JSON object) checked: only the six members, each a string of
 * 1-200 characters once trimmed without control characters, country an
 * assigned ISO 3166-1 alpha-2 code in any case. Field errors ("address",
 * "address.<member>") go to ck. out receives the object printed with its
 * members in order, trimmed, the country in upper case; *none is true when
 * it has no member (no address). Returns BILLING_OK (look at ck),
 * BILLING_ENOMEM, or BILLING_EINVALID naming "address" when out is too
 * small.
 */
int billing__address_check(billing__checks *ck, char *out, size_t size, const char *text,
	bool *none);

/* The C address as the JSON object billing__address_check takes (*out new,
 * billing__free). */
int billing__address_encode(char **out, const billing_address *a);

/* The stored object's parts into *a, pointing into *text (new,
 * billing__free); *a all NULL and *text NULL when json is NULL. */
int billing__address_decode(billing_address *a, char **text, const char *json);

#endif
