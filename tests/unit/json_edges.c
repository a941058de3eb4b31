/*
 * Unit tests for json_exact.c and the edges of billing_call_json it guards:
 * a NUL or raw control character in any text (value or key) is refused
 * naming the field, never stored cut short; a key given twice is refused;
 * integers are read and printed exactly over the whole int64 range, so an
 * invoice above 2^53 shows its exact total and can be paid with it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <cJSON.h>

#include "tb.h"
#include "core/json_exact.h"

/* ------------------------------------------------------------ the parser */

static cJSON *parse(const char *text, size_t len, billing__jx_error *err)
{
	return billing__jx_parse(text, len, err);
}

static void expect_refused(const char *text, size_t len, const char *reason, const char *field)
{
	billing__jx_error err;
	cJSON *v = parse(text, len, &err);
	if (v)
		fail_msg("accepted: %.*s", (int)len, text);
	assert_non_null(err.reason);
	assert_string_equal(err.reason, reason);
	assert_string_equal(err.field, field);
	assert_true(strlen(err.message) > 0);
}

static void json_exact__nul_anywhere_is_refused_naming_the_field(void **state)
{
	static const char raw_value[] = "{\"name\":\"a\0b\"}";
	static const char raw_key[] = "{\"a\0b\":1}";
	(void)state;
	expect_refused("{\"name\":\"a\\u0000b\"}", 19, "nul_character", "name");
	expect_refused("{\"metadata\":{\"foo\":\"x\\u0000\"}}", 30, "nul_character", "metadata.foo");
	expect_refused("{\"events\":[\"a\",\"\\u0000\"]}", 25, "nul_character", "events[1]");
	expect_refused("{\"metadata\":{\"fo\\u0000o\":\"x\"}}", 30, "nul_character", "metadata.fo");
	expect_refused("\"\\u0000\"", 8, "nul_character", "");
	expect_refused(raw_value, sizeof(raw_value) - 1, "nul_character", "name");
	expect_refused(raw_key, sizeof(raw_key) - 1, "nul_character", "a");
}

static void json_exact__raw_control_characters_are_refused(void **state)
{
	(void)state;
	expect_refused("{\"name\":\"a\nb\"}", 14, "control_character", "name");
	expect_refused("{\"a\":{\"b\":\"\x1f\"}}", 16, "control_character", "a.b");
	expect_refused("{\"a\tb\":1}", 9, "control_character", "a");
}

static void json_exact__escapes_decode_to_utf8(void **state)
{
	const char *text = "[\"\\u00e9\\u20ac\\ud83d\\ude00\\n\\t\\\"\\\\\\/\\b\\f\\r\", \"\x7f\"]";
	cJSON *v = parse(text, strlen(text), NULL);
	(void)state;
	assert_non_null(v);
	assert_string_equal(cJSON_GetArrayItem(v, 0)->valuestring,
		"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n\t\"\\/\b\f\r");
	assert_string_equal(cJSON_GetArrayItem(v, 1)->valuestring, "\x7f");
	cJSON_Delete(v);
}

static void json_exact__malformed_input_is_refused(void **state)
{
	static const char *bad[] = {
		"", " ", "{", "}", "{}}", "{} x", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}",
		"\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
		"01", "-", "1.", ".5", "1e", "1e+", "+1", "tru", "nul", "fals", "NaN", "[1 2]",
		"{\"a\":1 \"b\":2}", "\"\\",
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], strlen(bad[i]), "malformed_json", "");
	assert_null(parse(NULL, 0, NULL));
}

static void json_exact__nesting_is_bounded(void **state)
{
	size_t n = 1001, i;
	char *deep = malloc(2 * n + 1);
	cJSON *v;
	(void)state;
	assert_non_null(deep);
	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[2 * n - 1 - i] = ']';
	}
	expect_refused(deep, 2 * n, "malformed_json", "");
	v = parse(deep + 1, 2 * n - 2, NULL);   /* 1000 levels: what cJSON accepts */
	assert_non_null(v);
	cJSON_Delete(v);
	free(deep);
}

/* A path longer than the error's field is cut, never overrun. */
static void json_exact__long_paths_are_truncated(void **state)
{
	char text[400], want[128];
	billing__jx_error err;
	(void)state;
	memset(want, 'k', sizeof(want) - 1);
	want[sizeof(want) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"%s%s\":{\"x\":\"\\u0000\"}}", want, want);
	assert_null(parse(text, strlen(text), &err));
	assert_string_equal(err.reason, "nul_character");
	assert_string_equal(err.field, want);
}

static void json_exact__duplicate_keys_are_refused_at_any_depth(void **state)
{
	(void)state;
	expect_refused("{\"name\":\"a\",\"name\":\"b\"}", 23, "duplicate_key", "name");
	expect_refused("{\"metadata\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"}}", 38, "duplicate_key",
		"metadata.k");
	expect_refused("[{\"a\":1},{\"b\":1,\"b\":2}]", 23, "duplicate_key", "[1].b");
}

/* 100,000 distinct keys, then the same with one repeated at the end: a
 * quadratic check would take minutes here. */
static void json_exact__many_keys_are_checked_in_n_log_n(void **state)
{
	size_t n = 100000, i, len = 0, cap = n * 16 + 32;
	char *text = malloc(cap);
	clock_t started = clock();
	billing__jx_error err;
	cJSON *v;
	(void)state;
	assert_non_null(text);
	text[len++] = '{';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s\"k%zu\":1", i ? "," : "", i);
	text[len++] = '}';
	v = parse(text, len, &err);
	assert_non_null(v);
	assert_int_equal(cJSON_GetArraySize(v), (int)n);
	cJSON_Delete(v);
	len--;
	len += (size_t)snprintf(text + len, cap - len, ",\"k77777\":2}");
	assert_null(parse(text, len, &err));
	assert_string_equal(err.reason, "duplicate_key");
	assert_string_equal(err.field, "k77777");
	if ((double)(clock() - started) / CLOCKS_PER_SEC > 5.0)
		fail_msg("100k keys took %.1fs", (double)(clock() - started) / CLOCKS_PER_SEC);
	free(text);
}

static int64_t int_of(const char *text, int want_rc)
{
	int64_t v = 0;
	cJSON *n = parse(text, strlen(text), NULL);
	assert_non_null(n);
	if (billing__jx_int(n, &v) != want_rc)
		fail_msg("%s: expected %d", text, want_rc);
	cJSON_Delete(n);
	return v;
}

static void json_exact__integers_are_read_exactly_over_int64(void **state)
{
	cJSON *d;
	int64_t v = 1;
	(void)state;
	assert_true(int_of("9223372036854775807", 0) == INT64_MAX);
	assert_true(int_of("-9223372036854775808", 0) == INT64_MIN);
	assert_true(int_of("10999999999999989", 0) == INT64_C(10999999999999989));
	assert_true(int_of("9007199254740993", 0) == INT64_C(9007199254740993));
	assert_true(int_of("-0", 0) == 0);
	int_of("9223372036854775808", BILLING__JX_INT_RANGE);
	int_of("-9223372036854775809", BILLING__JX_INT_RANGE);
	int_of("100000000000000000000000", BILLING__JX_INT_RANGE);
	int_of("1.5", BILLING__JX_INT_NOT_INTEGER);
	int_of("1.0", BILLING__JX_INT_NOT_INTEGER);
	int_of("1e3", BILLING__JX_INT_NOT_INTEGER);
	int_of("\"1\"", BILLING__JX_INT_NOT_INTEGER);
	/* A number built by cJSON itself: within 2^53 only. */
	d = cJSON_CreateNumber(4096);
	assert_int_equal(billing__jx_int(d, &v), 0);
	assert_true(v == 4096);
	cJSON_SetNumberValue(d, 1e300);
	assert_int_equal(billing__jx_int(d, &v), BILLING__JX_INT_NOT_INTEGER);
	cJSON_SetNumberValue(d, 0.5);
	assert_int_equal(billing__jx_int(d, &v), BILLING__JX_INT_NOT_INTEGER);
	cJSON_Delete(d);
	assert_int_equal(billing__jx_int(NULL, &v), BILLING__JX_INT_NOT_INTEGER);
}

static void json_exact__print_keeps_every_literal(void **state)
{
	const char *text = "{\"a\":10999999999999989,\"b\":[9223372036854775807,"
		"-9223372036854775808,0.1,1e400,-0],\"c\":\"s\",\"d\":null,\"e\":true}";
	cJSON *v = parse(text, strlen(text), NULL), *n;
	char *out;
	int64_t back = 0;
	(void)state;
	assert_non_null(v);
	out = billing__jx_print(v);
	assert_string_equal(out, text);
	cJSON_free(out);
	/* The tree is unchanged: still numbers. */
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(v, "a")));
	n = billing__jx_int_new(INT64_MIN);
	assert_non_null(n);
	assert_true(cJSON_AddItemToObject(v, "f", n));
	out = billing__jx_print(v);
	assert_non_null(strstr(out, ",\"f\":-9223372036854775808}"));
	cJSON_free(out);
	assert_int_equal(billing__jx_int(n, &back), 0);
	assert_true(back == INT64_MIN);
	cJSON_Delete(v);
	assert_null(billing__jx_print(NULL));
}

/* ------------------------------------------------------------ billing_call_json */

typedef struct {
	tb_world *w;
	billing_principal admin;
	char *text;
	cJSON *out;
} fx;

static int setup(void **state)
{
	billing_provider *p = NULL;
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	tb_assert_rc(billing_test_provider_new(&p, NULL), BILLING_OK);
	f->w = tb_world_new_with_provider(p);
	f->admin = tb_admin(tb_tenant(f->w, "Acme"));
	*state = f;
	return 0;
}

static void reset(fx *f)
{
	cJSON_Delete(f->out);
	billing_free(f->text);
	f->out = NULL;
	f->text = NULL;
}

static int teardown(void **state)
{
	fx *f = *state;
	reset(f);
	tb_world_free(f->w);
	free(f);
	return 0;
}

static int call_n(fx *f, const char *op, const char *json, size_t len)
{
	int rc;
	reset(f);
	rc = billing_call_json(&f->text, f->w->ctx, &f->admin, op, json, len, NULL);
	assert_non_null(f->text);
	f->out = billing__jx_parse(f->text, strlen(f->text), NULL);
	if (!f->out)
		fail_msg("output is not JSON: %s", f->text);
	return rc;
}

static int call(fx *f, const char *op, const char *json)
{
	return call_n(f, op, json, strlen(json));
}

static const char *s_of(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsString(v))
		fail_msg("no string %s in %s", name, cJSON_PrintUnformatted(obj));
	return v->valuestring;
}

static int64_t i_of(const cJSON *obj, const char *name)
{
	int64_t v = 0;
	if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(obj, name), &v) != 0)
		fail_msg("no integer %s in %s", name, cJSON_PrintUnformatted(obj));
	return v;
}

static void assert_invalid(fx *f, int rc, const char *field)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(f->out, "error");
	if (rc != BILLING_EINVALID)
		fail_msg("expected BILLING_EINVALID on %s, got %d: %s", field, rc, f->text);
	assert_string_equal(s_of(e, "field"), field);
	tb_assert_field(field);
}

static int customer_count(fx *f)
{
	tb_assert_rc(call(f, "customers.list", "{}"), BILLING_OK);
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->out, "data"));
}

static void json_edges__nul_in_any_text_field_is_invalid_and_nothing_is_stored(void **state)
{
	fx *f = *state;
	static const char raw[] = "{\"name\":\"Ada\",\"email\":\"a@b.test\0<script>\"}";
	struct { const char *body; const char *field; } cases[] = {
		{ "{\"name\":\"a\\u0000b\",\"email\":\"a@b.test\"}", "name" },
		{ "{\"name\":\"Ada\",\"email\":\"x@y.test\\u0000<script>\"}", "email" },
		{ "{\"name\":\"Ada\",\"email\":\"a@b.test\",\"metadata\":{\"foo\":\"v\\u0000w\"}}",
			"metadata.foo" },
		{ "{\"name\":\"Ada\",\"email\":\"a@b.test\",\"metadata\":{\"k\\u0000\":\"v\"}}",
			"metadata.k" },
		{ "{\"name\":\"Ada\",\"email\":\"a@b.test\",\"defaultPaymentMethod\":\"pm\\u0000x\"}",
			"defaultPaymentMethod" },
		{ "{\"name\":\"Ada\n\",\"email\":\"a@b.test\"}", "name" },
	};
	size_t i;
	char *id;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_invalid(f, call(f, "customers.create", cases[i].body), cases[i].field);
	assert_invalid(f, call_n(f, "customers.create", raw, sizeof(raw) - 1), "email");
	assert_int_equal(customer_count(f), 0);

	/* An update through every text field of another operation too. */
	tb_assert_rc(call(f, "customers.create", "{\"name\":\"Ada\",\"email\":\"a@b.test\"}"),
		BILLING_OK);
	id = strdup(s_of(f->out, "id"));
	{
		char body[256];
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"name\":\"B\\u0000\"}", id);
		assert_invalid(f, call(f, "customers.update", body), "name");
		snprintf(body, sizeof(body), "{\"id\":\"%s\\u0000x\",\"name\":\"B\"}", id);
		assert_invalid(f, call(f, "customers.update", body), "id");
		snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
		tb_assert_rc(call(f, "customers.get", body), BILLING_OK);
		assert_string_equal(s_of(f->out, "name"), "Ada");
	}
	assert_invalid(f, call(f, "products.create",
		"{\"name\":\"W\",\"sku\":\"S-1\",\"description\":\"d\\u0000\"}"), "description");
	assert_invalid(f, call(f, "customers.list", "{\"search\":\"a\\u0000\"}"), "search");
	free(id);
}

static void json_edges__duplicate_keys_are_invalid_naming_the_key(void **state)
{
	fx *f = *state;
	assert_invalid(f, call(f, "customers.create",
		"{\"name\":\"Ada\",\"email\":\"a@b.test\",\"name\":\"Eve\"}"), "name");
	assert_invalid(f, call(f, "customers.create",
		"{\"name\":\"Ada\",\"email\":\"a@b.test\",\"metadata\":{\"k\":\"1\",\"k\":\"2\"}}"),
		"metadata.k");
	assert_int_equal(customer_count(f), 0);
}

static char *make_plan(fx *f, const char *sku, const char *amount)
{
	char body[512], *prod;
	snprintf(body, sizeof(body), "{\"name\":\"W\",\"sku\":\"%s\",\"priceCents\":1}", sku);
	tb_assert_rc(call(f, "products.create", body), BILLING_OK);
	prod = strdup(s_of(f->out, "id"));
	snprintf(body, sizeof(body), "{\"productId\":\"%s\",\"code\":\"C-%s\",\"name\":\"Big\","
		"\"amount\":%s,\"interval\":\"MONTH\"}", prod, sku, amount);
	free(prod);
	if (call(f, "plans.create", body) != BILLING_OK)
		fail_msg("plans.create: %s", f->text);
	return strdup(s_of(f->out, "id"));
}

/* Integers reach the typed call exactly: its own limits (BILLING_AMOUNT_MAX)
 * decide, not a double's 2^53; beyond int64 is refused by the JSON layer. */
static void json_edges__integer_fields_are_exact_over_the_int64_range(void **state)
{
	fx *f = *state;
	char *plan = make_plan(f, "MAX", "999999999999999"), body[256];

	assert_non_null(plan);
	assert_true(i_of(f->out, "amount") == BILLING_AMOUNT_MAX);
	assert_non_null(strstr(f->text, "\"amount\":999999999999999,"));
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":1000000000000000}", plan);
	assert_invalid(f, call(f, "plans.update", body), "amount");
	assert_non_null(strstr(billing_error_last()->message, "999999999999999"));
	/* INT64_MAX and INT64_MIN reach the typed call (which refuses them as
	 * amounts); one past them is refused by the JSON layer itself. */
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":9223372036854775807}", plan);
	assert_invalid(f, call(f, "plans.update", body), "amount");
	assert_non_null(strstr(billing_error_last()->message, "999999999999999"));
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":-9223372036854775808}", plan);
	assert_invalid(f, call(f, "plans.update", body), "amount");
	assert_non_null(strstr(billing_error_last()->message, "999999999999999"));
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":9223372036854775808}", plan);
	assert_invalid(f, call(f, "plans.update", body), "amount");
	assert_non_null(strstr(billing_error_last()->message, "out of range"));
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":-9223372036854775809}", plan);
	assert_invalid(f, call(f, "plans.update", body), "amount");
	assert_non_null(strstr(billing_error_last()->message, "out of range"));
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":1.0}", plan);
	assert_invalid(f, call(f, "plans.update", body), "amount");
	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", plan);
	tb_assert_rc(call(f, "plans.get", body), BILLING_OK);
	assert_true(i_of(f->out, "amount") == BILLING_AMOUNT_MAX);

	tb_assert_rc(call(f, "products.create",
		"{\"name\":\"W\",\"sku\":\"BIG\",\"priceCents\":999999999999999,"
		"\"stock\":999999999999999}"), BILLING_OK);
	assert_non_null(strstr(f->text, "\"priceCents\":999999999999999,"));
	assert_invalid(f, call(f, "products.create",
		"{\"name\":\"W\",\"sku\":\"BIG2\",\"priceCents\":9223372036854775808}"), "priceCents");
	assert_invalid(f, call(f, "products.list", "{\"minPriceCents\":-9223372036854775809}"),
		"minPriceCents");
	tb_assert_rc(call(f, "products.list", "{\"maxPriceCents\":9223372036854775807}"), BILLING_OK);
	/* int32 fields: int64 extremes reach the typed call's own range check. */
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"trialDays\":9223372036854775807}", plan);
	assert_invalid(f, call(f, "plans.update", body), "trialDays");
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"trialDays\":-9223372036854775808}", plan);
	assert_invalid(f, call(f, "plans.update", body), "trialDays");
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"name\":\"Nn\",\"expectedVersion\":"
		"9223372036854775807}", plan);
	tb_assert_rc(call(f, "plans.update", body), BILLING_ESTALE);
	assert_non_null(strstr(billing_error_last()->message, "9223372036854775807"));
	assert_invalid(f, call(f, "products.create", "{\"name\":\"W\",\"sku\":\"LOW\","
		"\"lowStockThreshold\":-9223372036854775808}"), "lowStockThreshold");
	assert_invalid(f, call(f, "dunning.set", "{\"retryDays\":[1,9223372036854775808]}"),
		"retryDays");
	tb_assert_rc(call(f, "dunning.set", "{\"retryDays\":[1,3,7]}"), BILLING_OK);
	assert_non_null(strstr(f->text, "\"retryDays\":[1,3,7]"));
	free(plan);
}

/* A total of 10999999999999989 printed through a double comes out as
 * ...988, and paying that is refused: the exact amount must round-trip. */
static void json_edges__invoice_above_2_53_shows_and_takes_its_exact_total(void **state)
{
	fx *f = *state;
	/* 11 x BILLING_AMOUNT_MAX = 10999999999999989 > 2^53. Each line is capped
	 * at BILLING_AMOUNT_MAX (a price times a quantity above it is EOVERFLOW),
	 * so the total comes from 11 invoice items of the maximum on one draft. */
	char *cus, *inv, body[512];
	const cJSON *line;
	int i;

	tb_assert_rc(call(f, "customers.create",
		"{\"name\":\"Ada\",\"email\":\"a@b.test\"}"), BILLING_OK);
	cus = strdup(s_of(f->out, "id"));
	for (i = 0; i < 11; i++) {
		snprintf(body, sizeof(body), "{\"customerId\":\"%s\",\"currency\":\"EUR\","
			"\"description\":\"Huge\",\"amount\":999999999999999}", cus);
		if (call(f, "invoice_items.create", body) != BILLING_OK)
			fail_msg("invoice_items.create: %s", f->text);
	}
	snprintf(body, sizeof(body), "{\"customerId\":\"%s\",\"currency\":\"EUR\"}", cus);
	if (call(f, "invoices.create", body) != BILLING_OK)
		fail_msg("invoices.create: %s", f->text);
	inv = strdup(s_of(f->out, "id"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->out, "lines")), 11);
	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", inv);
	if (call(f, "invoices.finalize", body) != BILLING_OK)
		fail_msg("invoices.finalize: %s", f->text);
	tb_assert_rc(call(f, "invoices.get", body), BILLING_OK);
	assert_non_null(strstr(f->text, "\"total\":10999999999999989,"));
	assert_non_null(strstr(f->text, "\"amountDue\":10999999999999989,"));
	line = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f->out, "lines"), 0);
	assert_true(i_of(line, "unitAmount") == BILLING_AMOUNT_MAX);
	assert_true(i_of(line, "amount") == BILLING_AMOUNT_MAX);

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"paymentMethod\":\"pm_card_visa\","
		"\"amount\":10999999999999988}", inv);
	assert_invalid(f, call(f, "invoices.pay", body), "amount");
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"paymentMethod\":\"pm_card_visa\","
		"\"amount\":10999999999999989}", inv);
	tb_assert_rc(call(f, "invoices.pay", body), BILLING_OK);
	assert_true(i_of(f->out, "amount") == INT64_C(10999999999999989));
	assert_non_null(strstr(f->text, "\"amount\":10999999999999989,"));

	/* Refunds: beyond int64 is the JSON layer's refusal, INT64_MAX the
	 * typed call's (more than was captured), and the exact whole amount
	 * comes back exactly. */
	{
		char *pay = strdup(s_of(f->out, "id"));
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":9223372036854775808}", pay);
		assert_invalid(f, call(f, "payments.refund", body), "amount");
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":-9223372036854775808}", pay);
		assert_invalid(f, call(f, "payments.refund", body), "amount");
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":9223372036854775807}", pay);
		assert_true(call(f, "payments.refund", body) < 0);
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":10999999999999988}", pay);
		tb_assert_rc(call(f, "payments.refund", body), BILLING_OK);
		assert_non_null(strstr(f->text, "\"refundedAmount\":10999999999999988,"));
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":2}", pay);
		assert_true(call(f, "payments.refund", body) < 0);
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":1}", pay);
		tb_assert_rc(call(f, "payments.refund", body), BILLING_OK);
		assert_non_null(strstr(f->text, "\"refundedAmount\":10999999999999989,"));
		free(pay);
	}

	/* The event snapshot (what webhooks carry) is exact too. */
	tb_assert_rc(call(f, "events.list", "{\"type\":\"invoice.paid\"}"), BILLING_OK);
	assert_non_null(strstr(f->text, "\"total\":10999999999999989,"));
	free(cus);
	free(inv);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_exact__nul_anywhere_is_refused_naming_the_field),
		cmocka_unit_test(json_exact__raw_control_characters_are_refused),
		cmocka_unit_test(json_exact__escapes_decode_to_utf8),
		cmocka_unit_test(json_exact__malformed_input_is_refused),
		cmocka_unit_test(json_exact__nesting_is_bounded),
		cmocka_unit_test(json_exact__long_paths_are_truncated),
		cmocka_unit_test(json_exact__duplicate_keys_are_refused_at_any_depth),
		cmocka_unit_test(json_exact__many_keys_are_checked_in_n_log_n),
		cmocka_unit_test(json_exact__integers_are_read_exactly_over_int64),
		cmocka_unit_test(json_exact__print_keeps_every_literal),
		T(json_edges__nul_in_any_text_field_is_invalid_and_nothing_is_stored),
		T(json_edges__duplicate_keys_are_invalid_naming_the_key),
		T(json_edges__integer_fields_are_exact_over_the_int64_range),
		T(json_edges__invoice_above_2_53_shows_and_takes_its_exact_total),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
