/*
 * Text rules shared by the validators: UTF-8, character counts, trimming,
 * e-mail addresses and the identifier patterns of API-HTTP.md.
 * Lengths are always explicit; no function reads past s + len.
 */
#ifndef BILLING_CORE_TEXT_H
#define BILLING_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF, no NUL byte inside len. */
bool billing__utf8_valid(const char *s, size_t len);

/* Number of code points in valid UTF-8. */
size_t billing__utf8_count(const char *s, size_t len);

/* True when s holds a control character: C0 (U+0000-U+001F), DEL (U+007F)
 * or C1 (U+0080-U+009F). s must be valid UTF-8. */
bool billing__has_control(const char *s, size_t len);

/* Narrows [*s, *s + *len) past leading and trailing white space: ASCII
 * space, \t \n \v \f \r, and U+00A0 NO-BREAK SPACE. */
void billing__trim(const char **s, size_t *len);

/* A practical e-mail check: ASCII only; local@domain; local part 1-64 of
 * [A-Za-z0-9.!#$%&'*+/=?^_`{|}~-], no leading, trailing or double dot;
 * domain 1-253, two or more dot-separated labels of [A-Za-z0-9-] 1-63 long
 * that neither start nor end with '-', last label not all digits. */
bool billing__email_valid(const char *s, size_t len);

/* ASCII lower-casing in place (e-mail uniqueness keys). */
void billing__ascii_lower(char *s);

/* ASCII upper-casing into out (size n, NUL-terminated); returns false if
 * it does not fit. */
bool billing__ascii_upper(char *out, size_t n, const char *s);

/* [A-Za-z0-9._-]{1,64} */
bool billing__sku_valid(const char *s, size_t len);

/* ^[A-Z0-9_-]{3,64}$ */
bool billing__plan_code_valid(const char *s, size_t len);

#endif
