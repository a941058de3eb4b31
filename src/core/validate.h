/*
 * Validation of the fields every module takes: texts and ids given by the
 * caller (validate.c).
 */
#ifndef BILLING_CORE_VALIDATE_H
#define BILLING_CORE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/errors.h"

enum {
	BILLING__TEXT_REQUIRED = 1 << 0, /* NULL is an error */
	BILLING__TEXT_MULTILINE = 1 << 1 /* \n \r \t allowed (descriptions) */
};

/*
 * Validates a text field: UTF-8, no control characters, trimmed, between
 * min and max characters. On success *out is a new trimmed copy (NULL when
 * value is NULL and not required). A failure is recorded in c. Returns
 * BILLING_ENOMEM only when a copy cannot be made.
 */
int billing__check_text(billing__checks *c, const char *field, const char *value,
	unsigned int flags, size_t min, size_t max, char **out);

/* An id from the caller: well-formed for its prefix (made by the library,
 * or chosen by the tenant where the object allows it: billing__id_chosen).
 * Ill-formed ids are treated as naming nothing (the caller decides what
 * that means). */
bool billing__id_arg_ok(const char *id, const char *prefix);

/* The canonical (upper-case) form of a currency code given in any case,
 * as static text of the currency table (money.c), or NULL when code is
 * not a current ISO 4217 code. Sets no error. */
const char *billing__currency_code(const char *code);

#endif
