/*
 * Unit tests for the locales of invoice documents (core/document_locale.c)
 * and the HTML escape and renderer (core/document_html.c): amounts, whole
 * numbers, percentages and dates written per locale to the character
 * (the separators are the exact bytes: U+00A0 and U+202F where CLDR has
 * them), every label present in every locale, the five characters the
 * escape replaces, and a page whose every text is hostile stays inert.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "billing/billing.h"
#include "core/alloc.h"
#include "core/document.h"

#define NBSP "\xc2\xa0"
#define NNBSP "\xe2\x80\xaf"
#define EURO "\xe2\x82\xac"

static const billing__locale *loc(const char *tag)
{
	const billing__locale *l = billing__locale_find(tag);
	assert_non_null(l);
	return l;
}

static void money_is(const char *tag, int64_t amount, const char *cur, const char *want)
{
	char buf[64];
	int n = billing__doc_money(buf, sizeof(buf), loc(tag), amount, cur);
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void document__money_per_locale(void **state)
{
	(void)state;
	money_is("en-US", 123456, "EUR", EURO "1,234.56");
	money_is("en-US", 123456789, "USD", "$1,234,567.89");
	money_is("en-US", -1999, "USD", "-$19.99");
	money_is("en-US", 5, "EUR", EURO "0.05");
	money_is("en-GB", 123456, "GBP", "\xc2\xa3" "1,234.56");
	money_is("de-DE", 123456, "EUR", "1.234,56" NBSP EURO);
	money_is("de-DE", -50, "EUR", "-0,50" NBSP EURO);
	money_is("fr-FR", 123456, "EUR", "1" NNBSP "234,56" NBSP EURO);
	money_is("fr-FR", 100000000, "EUR", "1" NNBSP "000" NNBSP "000,00" NBSP EURO);
	/* es-ES groups from five digits on (CLDR's minimum grouping of 2) */
	money_is("es-ES", 123456, "EUR", "1234,56" NBSP EURO);
	money_is("es-ES", 1234567, "EUR", "12.345,67" NBSP EURO);
	money_is("ja-JP", 1235, "JPY", "\xc2\xa5" "1,235");
	money_is("ja-JP", 123456, "EUR", EURO "1,234.56");
	/* the exponent comes from the money table: 3 places for BHD, 0 for JPY */
	money_is("en-US", 1234567, "BHD", "BHD" NBSP "1,234.567");
	money_is("de-DE", 1234567, "BHD", "1.234,567" NBSP "BHD");
	money_is("de-DE", 1235, "JPY", "1.235" NBSP "\xc2\xa5");
	money_is("en-US", INT64_MIN, "JPY", "-\xc2\xa5" "9,223,372,036,854,775,808");
}

static void document__money_refusals(void **state)
{
	char small[6];
	(void)state;
	assert_int_equal(billing__doc_money(small, sizeof(small), loc("en-US"), 100, "XXQ"),
		BILLING_EINVALID);
	assert_int_equal(billing__doc_money(small, sizeof(small), loc("en-US"), 123456, "USD"),
		BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_money(small, sizeof(small), loc("de-DE"), 1234, "USD"),
		BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_money(small, sizeof(small), loc("de-DE"), -1, "USD"),
		BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_money(small, 0, loc("de-DE"), 1, "USD"), BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_money(small, 2, loc("en-US"), 1, "USD"), BILLING_EOVERFLOW);
}

static void document__integers_and_percentages(void **state)
{
	char buf[32];
	(void)state;
	assert_int_equal(billing__doc_integer(buf, sizeof(buf), loc("en-US"), 1234567), 9);
	assert_string_equal(buf, "1,234,567");
	billing__doc_integer(buf, sizeof(buf), loc("de-DE"), -1234);
	assert_string_equal(buf, "-1.234");
	billing__doc_integer(buf, sizeof(buf), loc("es-ES"), 1234);
	assert_string_equal(buf, "1234");
	billing__doc_integer(buf, sizeof(buf), loc("en-US"), 999);
	assert_string_equal(buf, "999");
	assert_int_equal(billing__doc_integer(buf, 3, loc("en-US"), 1234), BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_integer(buf, 0, loc("en-US"), 1), BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_integer(buf, 2, loc("en-US"), -1), BILLING_EOVERFLOW);

	billing__doc_percent(buf, sizeof(buf), loc("en-US"), 190000);
	assert_string_equal(buf, "19%");
	billing__doc_percent(buf, sizeof(buf), loc("en-US"), 72500);
	assert_string_equal(buf, "7.25%");
	billing__doc_percent(buf, sizeof(buf), loc("de-DE"), 72500);
	assert_string_equal(buf, "7,25" NBSP "%");
	billing__doc_percent(buf, sizeof(buf), loc("fr-FR"), 88750);
	assert_string_equal(buf, "8,875" NBSP "%");
	billing__doc_percent(buf, sizeof(buf), loc("ja-JP"), 100000);
	assert_string_equal(buf, "10%");
	billing__doc_percent(buf, sizeof(buf), loc("en-US"), -50000);
	assert_string_equal(buf, "-5%");
	assert_int_equal(billing__doc_percent(buf, 3, loc("en-US"), 72500), BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_percent(buf, 0, loc("en-US"), 1), BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_percent(buf, 1, loc("en-US"), -1), BILLING_EOVERFLOW);
}

static void date_is(const char *tag, const char *want)
{
	char buf[32];
	/* 2026-01-31T23:59:59Z: the UTC day */
	int n = billing__doc_date(buf, sizeof(buf), loc(tag), INT64_C(1769903999));
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void document__dates_per_locale(void **state)
{
	char buf[32];
	(void)state;
	date_is("en-US", "01/31/2026");
	date_is("en-GB", "31/01/2026");
	date_is("de-DE", "31.01.2026");
	date_is("fr-FR", "31/01/2026");
	date_is("es-ES", "31/01/2026");
	date_is("ja-JP", "2026/01/31");
	assert_int_equal(billing__doc_date(buf, 5, loc("en-US"), 0), BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_date(buf, 5, loc("ja-JP"), 0), BILLING_EOVERFLOW);
	assert_int_equal(billing__doc_date(buf, sizeof(buf), loc("en-US"), -1), BILLING_EINVALID);
}

static void document__locales_are_one_table(void **state)
{
	size_t n, i, k;
	const billing__locale *all = billing__locales(&n);
	(void)state;
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++)
		for (k = 0; k < BILLING__L_COUNT; k++)
			assert_true(all[i].labels[k] && all[i].labels[k][0]);
	assert_ptr_equal(billing__locale_find("de-de"), billing__locale_find("de-DE"));
	assert_null(billing__locale_find("de"));
	assert_null(billing__locale_find("pt-BR"));
	assert_null(billing__locale_find(NULL));
}

static void document__escape_replaces_five_characters(void **state)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	(void)state;
	assert_int_equal(billing__html_escape(&buf, &len, &cap, "a<b>&\"c'd\xc3\xa9"), BILLING_OK);
	assert_string_equal(buf, "a&lt;b&gt;&amp;&quot;c&#39;d\xc3\xa9");
	assert_int_equal(billing__html_escape(&buf, &len, &cap, NULL), BILLING_OK);
	assert_int_equal(billing__html_escape(&buf, &len, &cap, "plain"), BILLING_OK);
	assert_string_equal(buf, "a&lt;b&gt;&amp;&quot;c&#39;d\xc3\xa9plain");
	free(buf);
}

/* Every kind of node with a hostile text: none survives as markup. */
static void document__html_of_hostile_texts_is_inert(void **state)
{
	static const char evil[] = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
	const char *t[8] = { evil, evil, evil, evil, evil, evil, evil, NULL };
	billing__doc d;
	char *html = NULL;
	size_t len = 0;
	(void)state;
	memset(&d, 0, sizeof(d));
	d.locale = loc("fr-FR");
	snprintf(d.accent, sizeof(d.accent), "#123456");
	d.title = strdup(evil);
	assert_non_null(d.title);
	assert_int_equal(billing__doc_add(&d, BILLING__DOC_TITLE, 0, t, 2), BILLING_OK);
	assert_int_equal(billing__doc_add(&d, BILLING__DOC_PARTY, 0, t, 7), BILLING_OK);
	assert_int_equal(billing__doc_add(&d, BILLING__DOC_FIELD, 0, t, 2), BILLING_OK);
	assert_int_equal(billing__doc_add(&d, BILLING__DOC_HEAD, 0, t, 5), BILLING_OK);
	assert_int_equal(billing__doc_add(&d, BILLING__DOC_ROW, 0, t, 5), BILLING_OK);
	assert_int_equal(billing__doc_add(&d, BILLING__DOC_DETAIL, 0, t, 5), BILLING_OK);
	assert_int_equal(billing__doc_add(&d, BILLING__DOC_SUM, 1, t, 2), BILLING_OK);
	assert_int_equal(billing__doc_add(&d, BILLING__DOC_NOTE, 0, t, 2), BILLING_OK);
	assert_int_equal(billing__doc_html(&html, &len, &d), BILLING_OK);
	assert_int_equal(strlen(html), len);
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "\"'>"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;"));
	assert_non_null(strstr(html, "border-top:4px solid #123456"));
	assert_non_null(strstr(html, "<html lang=\"fr-FR\">"));
	assert_non_null(strstr(html, "<tr class=\"strong\">"));
	free(html);
	billing__doc_clear(&d);
}

/* A document of every kind of node (into d). */
static int fill(billing__doc *d)
{
	const char *t[8] = { "a&b", "<c>", "d", "e", "f", "g", "h", NULL };
	static const billing__doc_kind kinds[] = { BILLING__DOC_TITLE, BILLING__DOC_PARTY,
		BILLING__DOC_FIELD, BILLING__DOC_HEAD, BILLING__DOC_ROW, BILLING__DOC_DETAIL,
		BILLING__DOC_SUM, BILLING__DOC_NOTE };
	size_t i, k;
	int rc;
	memset(d, 0, sizeof(*d));
	d->locale = loc("es-ES");
	snprintf(d->accent, sizeof(d->accent), "#abcdef");
	for (k = 0; k < 40; k++)          /* past the first growth of both arrays */
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if ((rc = billing__doc_add(d, kinds[i], (int)(i & 1), t, 7)) < 0)
				return rc;
	return BILLING_OK;
}

/* Each allocation failing in turn: BILLING_ENOMEM, nothing leaked (ASan in
 * the sanitize preset), then a run without failure succeeds. */
static void document__out_of_memory_at_each_allocation(void **state)
{
	long n;
	int done = 0;
	(void)state;
	for (n = 1; !done && n < 100000; n++) {
		billing__doc d;
		char *html = NULL;
		size_t len = 0;
		int rc;
		billing__alloc_fail_at(n);
		rc = fill(&d);
		if (rc == BILLING_OK)
			rc = billing__doc_html(&html, &len, &d);
		billing__alloc_fail_at(0);
		billing__doc_clear(&d);
		if (rc == BILLING_OK) {
			assert_non_null(strstr(html, "a&amp;b"));
			free(html);
			done = 1;
		} else {
			assert_int_equal(rc, BILLING_ENOMEM);
			assert_null(html);
		}
	}
	assert_true(done);
	assert_true(n > 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(document__money_per_locale),
		cmocka_unit_test(document__money_refusals),
		cmocka_unit_test(document__integers_and_percentages),
		cmocka_unit_test(document__dates_per_locale),
		cmocka_unit_test(document__locales_are_one_table),
		cmocka_unit_test(document__escape_replaces_five_characters),
		cmocka_unit_test(document__html_of_hostile_texts_is_inert),
		cmocka_unit_test(document__out_of_memory_at_each_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
