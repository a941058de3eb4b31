/*
 * Unit tests for src/core/text.c: UTF-8 validation and counting, control
 * characters, trimming, e-mail addresses and the identifier patterns.
 * Inputs are copied into heap buffers of exactly their length (no NUL) so
 * that the sanitizer build catches any read past s + len.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/text.h"

/* A heap copy of n bytes with nothing after it. */
static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	if (n > 0)
		memcpy(p, s, n);
	return p;
}

static bool utf8_valid_n(const char *s, size_t n)
{
	char *p = exact(s, n);
	bool ok = billing__utf8_valid(p, n);
	free(p);
	return ok;
}

#define UTF8_OK(lit) utf8_valid_n(lit, sizeof(lit) - 1)

static bool email_ok(const char *s)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	bool ok = billing__email_valid(p, n);
	free(p);
	return ok;
}

static bool has_control_n(const char *s, size_t n)
{
	char *p = exact(s, n);
	bool r = billing__has_control(p, n);
	free(p);
	return r;
}

#define CONTROL(lit) has_control_n(lit, sizeof(lit) - 1)

static bool sku_ok(const char *s)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	bool ok = billing__sku_valid(p, n);
	free(p);
	return ok;
}

static bool plan_code_ok(const char *s)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	bool ok = billing__plan_code_valid(p, n);
	free(p);
	return ok;
}

/* A string of n copies of c, NUL-terminated (caller frees). */
static char *repeat(char c, size_t n)
{
	char *p = malloc(n + 1);
	assert_non_null(p);
	memset(p, c, n);
	p[n] = '\0';
	return p;
}

/* ---- UTF-8 ---- */

static void utf8_valid__accepts_empty_and_ascii(void **state)
{
	(void)state;
	assert_true(billing__utf8_valid(NULL, 0));
	assert_true(UTF8_OK(""));
	assert_true(UTF8_OK("hello, world ~\x7f"));
}

static void utf8_valid__accepts_two_three_and_four_byte_sequences(void **state)
{
	(void)state;
	assert_true(UTF8_OK("h\xc3\xa9llo"));            /* é U+00E9 */
	assert_true(UTF8_OK("\xc2\x80"));                /* U+0080, smallest 2-byte */
	assert_true(UTF8_OK("\xdf\xbf"));                /* U+07FF */
	assert_true(UTF8_OK("\xe0\xa0\x80"));            /* U+0800, smallest 3-byte */
	assert_true(UTF8_OK("\xe2\x82\xac"));            /* € U+20AC */
	assert_true(UTF8_OK("\xed\x9f\xbf"));            /* U+D7FF, just below surrogates */
	assert_true(UTF8_OK("\xee\x80\x80"));            /* U+E000, just above */
	assert_true(UTF8_OK("\xef\xbf\xbf"));            /* U+FFFF */
	assert_true(UTF8_OK("\xf0\x90\x80\x80"));        /* U+10000, smallest 4-byte */
	assert_true(UTF8_OK("\xf0\x9f\x98\x80"));        /* 😀 U+1F600 */
	assert_true(UTF8_OK("\xf4\x8f\xbf\xbf"));        /* U+10FFFF, the largest */
	assert_true(UTF8_OK("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"));
}

static void utf8_valid__rejects_overlong_encodings(void **state)
{
	(void)state;
	assert_false(UTF8_OK("\xc0\x80"));               /* NUL */
	assert_false(UTF8_OK("\xc0\xaf"));               /* '/' */
	assert_false(UTF8_OK("\xc1\xbf"));
	assert_false(UTF8_OK("\xe0\x80\x80"));
	assert_false(UTF8_OK("\xe0\x9f\xbf"));           /* U+07FF in 3 bytes */
	assert_false(UTF8_OK("\xf0\x80\x80\x80"));
	assert_false(UTF8_OK("\xf0\x8f\xbf\xbf"));       /* U+FFFF in 4 bytes */
}

static void utf8_valid__rejects_surrogates(void **state)
{
	(void)state;
	assert_false(UTF8_OK("\xed\xa0\x80"));           /* U+D800 */
	assert_false(UTF8_OK("\xed\xaf\xbf"));           /* U+DBFF */
	assert_false(UTF8_OK("\xed\xb0\x80"));           /* U+DC00 */
	assert_false(UTF8_OK("\xed\xbf\xbf"));           /* U+DFFF */
	assert_false(UTF8_OK("\xed\xa0\xbd\xed\xb8\x80")); /* CESU-8 pair */
}

static void utf8_valid__rejects_code_points_above_10ffff(void **state)
{
	(void)state;
	assert_false(UTF8_OK("\xf4\x90\x80\x80"));       /* U+110000 */
	assert_false(UTF8_OK("\xf5\x80\x80\x80"));
	assert_false(UTF8_OK("\xf7\xbf\xbf\xbf"));
	assert_false(UTF8_OK("\xf8\x88\x80\x80\x80"));   /* old 5-byte form */
	assert_false(UTF8_OK("\xfc\x84\x80\x80\x80\x80"));
	assert_false(UTF8_OK("\xfe"));
	assert_false(UTF8_OK("\xff"));
}

static void utf8_valid__rejects_sequences_truncated_at_the_end(void **state)
{
	(void)state;
	assert_false(UTF8_OK("abc\xc3"));
	assert_false(UTF8_OK("abc\xe2"));
	assert_false(UTF8_OK("abc\xe2\x82"));
	assert_false(UTF8_OK("abc\xf0"));
	assert_false(UTF8_OK("abc\xf0\x9f"));
	assert_false(UTF8_OK("abc\xf0\x9f\x98"));
	/* len cuts a valid sequence short: only len bytes count. */
	assert_false(utf8_valid_n("\xe2\x82\xac", 2));
	assert_true(utf8_valid_n("\xe2\x82\xac" "x", 3));
}

static void utf8_valid__rejects_truncated_sequences_in_the_middle(void **state)
{
	(void)state;
	assert_false(UTF8_OK("\xc3" "a"));
	assert_false(UTF8_OK("\xe2\x82" "a"));
	assert_false(UTF8_OK("\xf0\x9f\x98" "a"));
	assert_false(UTF8_OK("\xe2\xc3\xa9"));
}

static void utf8_valid__rejects_stray_continuation_bytes(void **state)
{
	(void)state;
	assert_false(UTF8_OK("\x80"));
	assert_false(UTF8_OK("\xbf"));
	assert_false(UTF8_OK("a\x80" "b"));
	assert_false(UTF8_OK("\xc3\xa9\xa9"));           /* one continuation too many */
	assert_false(UTF8_OK("\xf0\x9f\x98\x80\x80"));
}

static void utf8_valid__rejects_embedded_nul(void **state)
{
	(void)state;
	assert_false(UTF8_OK("a\0b"));
	assert_false(UTF8_OK("\0"));
	assert_false(UTF8_OK("abc\0"));
	/* A NUL after len is not inspected. */
	assert_true(billing__utf8_valid("abc\0def", 3));
}

static void utf8_count__counts_code_points_not_bytes(void **state)
{
	(void)state;
	assert_int_equal(billing__utf8_count(NULL, 0), 0);
	assert_int_equal(billing__utf8_count("hello", 5), 5);
	assert_int_equal(billing__utf8_count("h\xc3\xa9llo", 6), 5);
	assert_int_equal(billing__utf8_count("\xe2\x82\xac", 3), 1);
	assert_int_equal(billing__utf8_count("\xf0\x9f\x98\x80", 4), 1);
	assert_int_equal(billing__utf8_count("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 11), 5);
	/* Only len bytes are counted. */
	assert_int_equal(billing__utf8_count("h\xc3\xa9llo", 3), 2);
}

/* ---- control characters ---- */

static void has_control__finds_c0_and_del(void **state)
{
	(void)state;
	assert_true(CONTROL("a\tb"));
	assert_true(CONTROL("a\nb"));
	assert_true(CONTROL("\r"));
	assert_true(CONTROL("\x1b[31m"));
	assert_true(CONTROL("\x1f"));
	assert_true(CONTROL("x\x7f"));
	assert_true(CONTROL("a\0b"));
}

static void has_control__finds_c1(void **state)
{
	(void)state;
	assert_true(CONTROL("a\xc2\x85" "b"));           /* U+0085 NEXT LINE */
	assert_true(CONTROL("\xc2\x80"));                /* U+0080 */
	assert_true(CONTROL("\xc2\x9f"));                /* U+009F */
}

static void has_control__accepts_printable_text(void **state)
{
	(void)state;
	assert_false(has_control_n(NULL, 0));
	assert_false(CONTROL(""));
	assert_false(CONTROL("Ada Lovelace ~!"));
	assert_false(CONTROL("h\xc3\xa9llo"));           /* é */
	assert_false(CONTROL("\xc2\xa0"));               /* U+00A0 is a space, not a control */
	assert_false(CONTROL("\xc2\xa9"));               /* © */
	assert_false(CONTROL("\xe2\x80\xa8"));           /* U+2028 is not C0/C1 */
	assert_false(CONTROL("\xf0\x9f\x98\x80"));
}

static void has_control__looks_only_within_len(void **state)
{
	(void)state;
	assert_false(billing__has_control("abc\n", 3));
	assert_false(billing__has_control("abc\xc2\x85", 4));
}

/* ---- trimming ---- */

static void trim_check(const char *in, size_t in_len, size_t want_off, size_t want_len)
{
	char *p = exact(in, in_len);
	const char *s = p;
	size_t len = in_len;

	billing__trim(&s, &len);
	assert_ptr_equal(s, p + want_off);
	assert_int_equal(len, want_len);
	free(p);
}

#define TRIM(lit, off, len) trim_check(lit, sizeof(lit) - 1, off, len)

static void trim__removes_ascii_white_space_at_both_ends(void **state)
{
	(void)state;
	TRIM("  Ada  ", 2, 3);
	TRIM("\t\n\v\f\r Ada \r\f\v\n\t", 6, 3);
	TRIM("Ada", 0, 3);
	TRIM(" Ada Lovelace ", 1, 12);                   /* inner space kept */
}

static void trim__removes_no_break_space_at_both_ends(void **state)
{
	(void)state;
	TRIM("\xc2\xa0" "Ada" "\xc2\xa0", 2, 3);
	TRIM(" \xc2\xa0 Ada \xc2\xa0\xc2\xa0 ", 4, 3);
	TRIM("Ada\xc2\xa0Lovelace", 0, 13);              /* inner NBSP kept */
}

static void trim__leaves_other_characters_alone(void **state)
{
	(void)state;
	TRIM("\xc3\xa9", 0, 2);                          /* é */
	TRIM("\xc2\xa9x\xc2\xa9", 0, 5);                 /* © is not a space */
	TRIM("\xe2\x80\x83" "a", 0, 4);                  /* EM SPACE is not in the set */
	TRIM("\0a\0", 0, 3);                             /* NUL is not a space */
	TRIM("\xa0" "a", 0, 2);                          /* lone A0 is not NBSP */
}

static void trim__blank_input_becomes_empty(void **state)
{
	(void)state;
	TRIM("", 0, 0);
	TRIM(" ", 1, 0);
	TRIM(" \t\r\n ", 5, 0);
	TRIM("\xc2\xa0", 2, 0);
	TRIM(" \xc2\xa0\t\xc2\xa0 ", 7, 0);
}

/* ---- e-mail ---- */

static void email_valid__accepts_ordinary_addresses(void **state)
{
	(void)state;
	assert_true(email_ok("ada@example.com"));
	assert_true(email_ok("a.b+tag@sub.example.co.uk"));
	assert_true(email_ok("ADA@EXAMPLE.COM"));
	assert_true(email_ok("Ada.Lovelace@Example.Com"));
	assert_true(email_ok("a@b.co"));
	assert_true(email_ok("x!#$%&'*+/=?^_`{|}~-y@example.com"));
	assert_true(email_ok("ada@my-host.example.com"));
	assert_true(email_ok("ada@123.example.com"));     /* digits fine except the last label */
	assert_true(email_ok("ada@example.c0m"));
	assert_true(email_ok("ada@xn--bcher-kva.example"));
}

static void email_valid__rejects_missing_or_repeated_at(void **state)
{
	(void)state;
	assert_false(email_ok(""));
	assert_false(email_ok("ada.example.com"));
	assert_false(email_ok("ada@@example.com"));
	assert_false(email_ok("ada@b@example.com"));
	assert_false(email_ok("@example.com"));
	assert_false(email_ok("ada@"));
	assert_false(email_ok("@"));
}

static void email_valid__rejects_bad_dots_in_local_part(void **state)
{
	(void)state;
	assert_false(email_ok(".ada@example.com"));
	assert_false(email_ok("ada.@example.com"));
	assert_false(email_ok("a..da@example.com"));
	assert_false(email_ok(".@example.com"));
}

static void email_valid__rejects_bad_domains(void **state)
{
	(void)state;
	assert_false(email_ok("a@localhost"));             /* single label */
	assert_false(email_ok("a@1.2.3.4"));               /* numeric TLD */
	assert_false(email_ok("a@example.123"));
	assert_false(email_ok("a@-example.com"));
	assert_false(email_ok("a@example-.com"));
	assert_false(email_ok("a@example.-com"));
	assert_false(email_ok("a@example.com-"));
	assert_false(email_ok("a@.example.com"));
	assert_false(email_ok("a@example.com."));
	assert_false(email_ok("a@example..com"));
	assert_false(email_ok("a@exa_mple.com"));
	assert_false(email_ok("a@[127.0.0.1]"));
	assert_false(email_ok("a@ex+ample.com"));
}

static void email_valid__rejects_non_ascii_spaces_and_controls(void **state)
{
	(void)state;
	assert_false(email_ok("h\xc3\xa9llo@example.com"));
	assert_false(email_ok("ada@ex\xc3\xa4mple.com"));
	assert_false(email_ok("ada lovelace@example.com"));
	assert_false(email_ok(" ada@example.com"));
	assert_false(email_ok("ada@example.com "));
	assert_false(email_ok("ada@exa mple.com"));
	assert_false(email_ok("ada\t@example.com"));
	assert_false(email_ok("\"ada\"@example.com"));
	assert_false(email_ok("ada(x)@example.com"));
	assert_false(email_ok("ada,b@example.com"));
	/* An embedded NUL inside len must not end the check early. */
	assert_false(billing__email_valid("ada@example.com\0x", 17));
	assert_false(billing__email_valid("ada\0@example.com", 16));
}

static void email_valid__enforces_local_part_length(void **state)
{
	char buf[128];
	char *local = repeat('a', 64);

	(void)state;
	snprintf(buf, sizeof(buf), "%s@example.com", local);
	assert_true(email_ok(buf));
	free(local);
	local = repeat('a', 65);
	snprintf(buf, sizeof(buf), "%s@example.com", local);
	assert_false(email_ok(buf));
	free(local);
}

static void email_valid__enforces_label_length(void **state)
{
	char buf[128];
	char *label = repeat('b', 63);

	(void)state;
	snprintf(buf, sizeof(buf), "a@%s.com", label);
	assert_true(email_ok(buf));
	free(label);
	label = repeat('b', 64);
	snprintf(buf, sizeof(buf), "a@%s.com", label);
	assert_false(email_ok(buf));
	free(label);
}

/* "<local>@" followed by 63-character labels joined by dots, padded to total. */
static char *email_of_length(size_t local_len, size_t total)
{
	char *s = malloc(total + 1);
	size_t i = 0, label = 0;

	assert_non_null(s);
	memset(s, 'a', local_len);
	i = local_len;
	s[i++] = '@';
	while (i < total) {
		/* A dot every 63 characters, never first or last. */
		if (label == 63 && i + 1 < total) {
			s[i++] = '.';
			label = 0;
		} else {
			s[i++] = 'c';
			label++;
		}
	}
	s[total] = '\0';
	/* Make the last label short and alphabetic: "...c.cc". */
	s[total - 3] = '.';
	return s;
}

static void email_valid__enforces_total_length_of_254(void **state)
{
	char *s;

	(void)state;
	s = email_of_length(64, 254);
	assert_int_equal(strlen(s), 254);
	assert_true(email_ok(s));
	free(s);

	s = email_of_length(64, 255);
	assert_int_equal(strlen(s), 255);
	assert_false(email_ok(s));
	free(s);
}

/* ---- case ---- */

static void ascii_lower__lowers_only_ascii(void **state)
{
	char s[] = "Ada.LOVELACE+X@Example.COM \xc3\x89";

	(void)state;
	billing__ascii_lower(s);
	assert_string_equal(s, "ada.lovelace+x@example.com \xc3\x89");
}

static void ascii_upper__uppers_into_buffer(void **state)
{
	char out[16];

	(void)state;
	assert_true(billing__ascii_upper(out, sizeof(out), "eur"));
	assert_string_equal(out, "EUR");
	assert_true(billing__ascii_upper(out, sizeof(out), "a-z_09\xc3\xa9"));
	assert_string_equal(out, "A-Z_09\xc3\xa9");
	assert_true(billing__ascii_upper(out, sizeof(out), ""));
	assert_string_equal(out, "");
}

static void ascii_upper__refuses_when_it_does_not_fit(void **state)
{
	char out[4];

	(void)state;
	assert_true(billing__ascii_upper(out, 4, "usd"));   /* exactly fits with NUL */
	assert_string_equal(out, "USD");
	assert_false(billing__ascii_upper(out, 4, "abcd"));
	assert_string_equal(out, "");                        /* never a truncated value */
	assert_false(billing__ascii_upper(out, 0, ""));
}

/* ---- identifier patterns ---- */

static void sku_valid__checks_length_bounds(void **state)
{
	char *s;

	(void)state;
	assert_false(billing__sku_valid("", 0));
	assert_true(sku_ok("a"));
	s = repeat('x', 64);
	assert_true(sku_ok(s));
	free(s);
	s = repeat('x', 65);
	assert_false(sku_ok(s));
	free(s);
}

static void sku_valid__accepts_letters_digits_dot_underscore_dash(void **state)
{
	(void)state;
	assert_true(sku_ok("ABC-123_x.y"));
	assert_true(sku_ok("..."));
	assert_true(sku_ok("-"));
}

static void sku_valid__rejects_other_characters(void **state)
{
	(void)state;
	assert_false(sku_ok("abc def"));
	assert_false(sku_ok("abc/def"));
	assert_false(sku_ok("abc+def"));
	assert_false(sku_ok("abc@def"));
	assert_false(sku_ok("caf\xc3\xa9"));
	assert_false(sku_ok("abc\n"));
	assert_false(billing__sku_valid("ab\0c", 4));
}

static void plan_code_valid__checks_length_bounds(void **state)
{
	char *s;

	(void)state;
	assert_false(billing__plan_code_valid("", 0));
	assert_false(plan_code_ok("P"));
	assert_false(plan_code_ok("PR"));
	assert_true(plan_code_ok("PRO"));
	s = repeat('P', 64);
	assert_true(plan_code_ok(s));
	free(s);
	s = repeat('P', 65);
	assert_false(plan_code_ok(s));
	free(s);
}

static void plan_code_valid__accepts_upper_case_digits_underscore_dash(void **state)
{
	(void)state;
	assert_true(plan_code_ok("PRO_MONTHLY-2024"));
	assert_true(plan_code_ok("123"));
	assert_true(plan_code_ok("___"));
	assert_true(plan_code_ok("---"));
}

static void plan_code_valid__rejects_other_characters(void **state)
{
	(void)state;
	assert_false(plan_code_ok("pro"));               /* lower case */
	assert_false(plan_code_ok("PRo"));
	assert_false(plan_code_ok("PRO.MONTHLY"));       /* '.' allowed in SKUs only */
	assert_false(plan_code_ok("PRO MONTHLY"));
	assert_false(plan_code_ok("PRO+"));
	assert_false(plan_code_ok("PR\xc3\x89"));
	assert_false(plan_code_ok("PRO\n"));
	assert_false(billing__plan_code_valid("PRO\0", 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_valid__accepts_empty_and_ascii),
		cmocka_unit_test(utf8_valid__accepts_two_three_and_four_byte_sequences),
		cmocka_unit_test(utf8_valid__rejects_overlong_encodings),
		cmocka_unit_test(utf8_valid__rejects_surrogates),
		cmocka_unit_test(utf8_valid__rejects_code_points_above_10ffff),
		cmocka_unit_test(utf8_valid__rejects_sequences_truncated_at_the_end),
		cmocka_unit_test(utf8_valid__rejects_truncated_sequences_in_the_middle),
		cmocka_unit_test(utf8_valid__rejects_stray_continuation_bytes),
		cmocka_unit_test(utf8_valid__rejects_embedded_nul),
		cmocka_unit_test(utf8_count__counts_code_points_not_bytes),
		cmocka_unit_test(has_control__finds_c0_and_del),
		cmocka_unit_test(has_control__finds_c1),
		cmocka_unit_test(has_control__accepts_printable_text),
		cmocka_unit_test(has_control__looks_only_within_len),
		cmocka_unit_test(trim__removes_ascii_white_space_at_both_ends),
		cmocka_unit_test(trim__removes_no_break_space_at_both_ends),
		cmocka_unit_test(trim__leaves_other_characters_alone),
		cmocka_unit_test(trim__blank_input_becomes_empty),
		cmocka_unit_test(email_valid__accepts_ordinary_addresses),
		cmocka_unit_test(email_valid__rejects_missing_or_repeated_at),
		cmocka_unit_test(email_valid__rejects_bad_dots_in_local_part),
		cmocka_unit_test(email_valid__rejects_bad_domains),
		cmocka_unit_test(email_valid__rejects_non_ascii_spaces_and_controls),
		cmocka_unit_test(email_valid__enforces_local_part_length),
		cmocka_unit_test(email_valid__enforces_label_length),
		cmocka_unit_test(email_valid__enforces_total_length_of_254),
		cmocka_unit_test(ascii_lower__lowers_only_ascii),
		cmocka_unit_test(ascii_upper__uppers_into_buffer),
		cmocka_unit_test(ascii_upper__refuses_when_it_does_not_fit),
		cmocka_unit_test(sku_valid__checks_length_bounds),
		cmocka_unit_test(sku_valid__accepts_letters_digits_dot_underscore_dash),
		cmocka_unit_test(sku_valid__rejects_other_characters),
		cmocka_unit_test(plan_code_valid__checks_length_bounds),
		cmocka_unit_test(plan_code_valid__accepts_upper_case_digits_underscore_dash),
		cmocka_unit_test(plan_code_valid__rejects_other_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
