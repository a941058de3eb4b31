/*
 * Unit tests for json_ops.c: every catalog operation through
 * billing_call_json (output parsed and checked field by field), input type
 * checking, the error document, list envelopes, and the catalog itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cJSON.h>

#include "tb.h"

typedef struct {
	tb_world *w;
	const char *tenant;
	billing_principal admin, user, op;
	char *text;   /* last output */
	cJSON *out;   /* last output, parsed */
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->w = tb_world_new();
	f->tenant = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->tenant);
	f->user = tb_user(f->tenant);
	f->op = tb_platform();
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

/* Runs op with json as principal who; parses the output into f->out. */
static int call(fx *f, const billing_principal *who, const char *op, const char *json)
{
	int rc;
	reset(f);
	rc = billing_call_json(&f->text, f->w->ctx, who, op, json, json ? strlen(json) : 0, NULL);
	assert_non_null(f->text);
	f->out = cJSON_Parse(f->text);
	if (!f->out)
		fail_msg("output is not JSON: %s", f->text);
	return rc;
}

static const cJSON *member(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!v)
		fail_msg("no member %s in %s", name, cJSON_PrintUnformatted(obj));
	return v;
}

static const char *s_of(const cJSON *obj, const char *name)
{
	const cJSON *v = member(obj, name);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static double n_of(const cJSON *obj, const char *name)
{
	const cJSON *v = member(obj, name);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static void assert_null_member(const cJSON *obj, const char *name)
{
	assert_true(cJSON_IsNull(member(obj, name)));
}

static void assert_bool_member(const cJSON *obj, const char *name, int want)
{
	const cJSON *v = member(obj, name);
	assert_true(cJSON_IsBool(v));
	assert_int_equal(cJSON_IsTrue(v) ? 1 : 0, want);
}

/* The error document matches billing_error_last() and names field. */
static void assert_error(fx *f, int rc, int want, const char *code, const char *field)
{
	const cJSON *e, *errors;
	tb_assert_rc(rc, want);
	e = member(f->out, "error");
	assert_int_equal((int)n_of(e, "status"), want);
	assert_string_equal(s_of(e, "name"), billing_error_name(want));
	if (code)
		assert_string_equal(s_of(e, "code"), code);
	assert_true(strlen(s_of(e, "message")) > 0);
	assert_string_equal(s_of(e, "message"), billing_error_last()->message);
	errors = member(e, "errors");
	assert_true(cJSON_IsArray(errors));
	if (field) {
		const cJSON *first;
		assert_string_equal(s_of(e, "field"), field);
		assert_true(cJSON_GetArraySize(errors) >= 1);
		first = cJSON_GetArrayItem(errors, 0);
		assert_string_equal(s_of(first, "field"), field);
		assert_true(strlen(s_of(first, "message")) > 0);
		tb_assert_field(field);
	} else {
		assert_null_member(e, "field");
	}
}

static char *id_of_last(fx *f)
{
	char *id = strdup(s_of(f->out, "id"));
	assert_non_null(id);
	return id;
}

static char *make_customer(fx *f, const char *name, const char *email)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"email\":\"%s\"}", name, email);
	tb_assert_rc(call(f, &f->admin, "customers.create", body), BILLING_OK);
	return id_of_last(f);
}

static char *make_product(fx *f, const char *sku, const char *extra)
{
	char body[512];
	snprintf(body, sizeof(body), "{\"name\":\"Widget\",\"sku\":\"%s\",\"priceCents\":1000%s%s}",
		sku, extra ? "," : "", extra ? extra : "");
	tb_assert_rc(call(f, &f->admin, "products.create", body), BILLING_OK);
	return id_of_last(f);
}

/* ------------------------------------------------------------ tenants */

static void json_tenants__create_get_list(void **state)
{
	fx *f = *state;
	char *id, body[128];
	const cJSON *data;
	tb_assert_rc(call(f, &f->op, "tenants.create", "{\"name\":\" Globex \",\"invoicePrefix\":\"GX-\"}"),
		BILLING_OK);
	assert_string_equal(s_of(f->out, "object"), "tenant");
	assert_string_equal(s_of(f->out, "name"), "Globex");
	assert_string_equal(s_of(f->out, "invoicePrefix"), "GX-");
	assert_string_equal(s_of(f->out, "createdAt"), "2026-01-01T00:00:00Z");
	id = id_of_last(f);
	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	tb_assert_rc(call(f, &f->op, "tenants.get", body), BILLING_OK);
	assert_string_equal(s_of(f->out, "id"), id);
	tb_assert_rc(call(f, &f->op, "tenants.list", "{\"sortBy\":\"name\"}"), BILLING_OK);
	data = member(f->out, "data");
	assert_int_equal(cJSON_GetArraySize(data), 2);
	assert_string_equal(s_of(cJSON_GetArrayItem(data, 0), "name"), "Acme");
	assert_string_equal(s_of(cJSON_GetArrayItem(data, 1), "name"), "Globex");
	assert_error(f, call(f, &f->admin, "tenants.create", "{\"name\":\"X\"}"), BILLING_EFORBIDDEN,
		"forbidden", NULL);
	assert_error(f, call(f, &f->op, "tenants.create", "{\"name\":\"X\",\"invoicePrefix\":\"a b\"}"),
		BILLING_EINVALID, "invalid", "invoicePrefix");
	free(id);
}

/* ------------------------------------------------------------ customers */

static void json_customers__create_get_update_delete_list(void **state)
{
	fx *f = *state;
	char *id, body[256];
	const cJSON *md;

	tb_assert_rc(call(f, &f->admin, "customers.create",
		"{\"name\":\"  Ada  \",\"email\":\"Ada@Example.com\",\"metadata\":{\"b\":\"2\",\"a\":\"1\"}}"),
		BILLING_OK);
	assert_int_equal(strncmp(s_of(f->out, "id"), "cus_", 4), 0);
	assert_string_equal(s_of(f->out, "object"), "customer");
	assert_string_equal(s_of(f->out, "name"), "Ada");
	assert_string_equal(s_of(f->out, "email"), "Ada@Example.com");
	assert_null_member(f->out, "defaultPaymentMethod");
	md = member(f->out, "metadata");
	assert_string_equal(s_of(md, "a"), "1");
	assert_string_equal(s_of(md, "b"), "2");
	assert_string_equal(s_of(f->out, "createdAt"), "2026-01-01T00:00:00Z");
	assert_string_equal(s_of(f->out, "updatedAt"), "2026-01-01T00:00:00Z");
	assert_int_equal((int)n_of(f->out, "version"), 1);
	assert_null(cJSON_GetObjectItemCaseSensitive(f->out, "email_key"));
	assert_null(cJSON_GetObjectItemCaseSensitive(f->out, "created_at"));
	id = id_of_last(f);

	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	tb_assert_rc(call(f, &f->user, "customers.get", body), BILLING_OK);
	assert_string_equal(s_of(f->out, "email"), "Ada@Example.com");

	f->w->now += 86400;
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"name\":\"Countess\",\"expectedVersion\":1,"
		"\"defaultPaymentMethod\":\"pm_card_visa\"}", id);
	tb_assert_rc(call(f, &f->admin, "customers.update", body), BILLING_OK);
	assert_string_equal(s_of(f->out, "name"), "Countess");
	assert_string_equal(s_of(f->out, "email"), "Ada@Example.com");
	assert_string_equal(s_of(f->out, "defaultPaymentMethod"), "pm_card_visa");
	assert_string_equal(s_of(member(f->out, "metadata"), "a"), "1");
	assert_string_equal(s_of(f->out, "updatedAt"), "2026-01-02T00:00:00Z");
	assert_int_equal((int)n_of(f->out, "version"), 2);

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"name\":\"Late\",\"expectedVersion\":1}", id);
	assert_error(f, call(f, &f->admin, "customers.update", body), BILLING_ESTALE,
		"stale_version", "expectedVersion");

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"defaultPaymentMethod\":null}", id);
	tb_assert_rc(call(f, &f->admin, "customers.update", body), BILLING_OK);
	assert_null_member(f->out, "defaultPaymentMethod");

	tb_assert_rc(call(f, &f->user, "customers.list", NULL), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 1);

	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	tb_assert_rc(call(f, &f->admin, "customers.delete", body), BILLING_OK);
	assert_string_equal(s_of(f->out, "id"), id);
	assert_bool_member(f->out, "deleted", 1);
	assert_error(f, call(f, &f->admin, "customers.get", body), BILLING_ENOTFOUND, "not_found",
		NULL);
	free(id);
}

static void json_customers__user_gets_forbidden_before_validation(void **state)
{
	fx *f = *state;
	assert_error(f, call(f, &f->user, "customers.create", "{\"name\":\"\",\"bogus\":1}"),
		BILLING_EFORBIDDEN, "forbidden", NULL);
	assert_error(f, call(f, &f->user, "customers.create", "{not json"), BILLING_EFORBIDDEN,
		"forbidden", NULL);
	tb_assert_rc(call(f, &f->user, "customers.list", NULL), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 0);
}

static void json_customers__duplicate_email_is_already_exists(void **state)
{
	fx *f = *state;
	free(make_customer(f, "Ada", "Ada@Example.com"));
	assert_error(f, call(f, &f->admin, "customers.create",
		"{\"name\":\"Other\",\"email\":\"ada@example.com\"}"), BILLING_EEXISTS, "already_exists",
		"email");
}

static void json_customers__validation_error_lists_every_field(void **state)
{
	fx *f = *state;
	const cJSON *errors;
	assert_error(f, call(f, &f->admin, "customers.create", "{\"name\":\" \",\"email\":\"x\"}"),
		BILLING_EINVALID, "invalid", "name");
	errors = member(member(f->out, "error"), "errors");
	assert_int_equal(cJSON_GetArraySize(errors), 2);
	assert_string_equal(s_of(cJSON_GetArrayItem(errors, 1), "field"), "email");
}

/* ------------------------------------------------------------ products */

static void json_products__create_get_update_delete_list(void **state)
{
	fx *f = *state;
	char *id, body[256];
	tb_assert_rc(call(f, &f->admin, "products.create",
		"{\"name\":\"Widget\",\"sku\":\"W-1\",\"priceCents\":1999,\"currency\":\"usd\","
		"\"taxRate\":0.0825,\"stock\":3}"), BILLING_OK);
	assert_int_equal(strncmp(s_of(f->out, "id"), "prod_", 5), 0);
	assert_string_equal(s_of(f->out, "object"), "product");
	assert_string_equal(s_of(f->out, "sku"), "W-1");
	assert_int_equal((int64_t)n_of(f->out, "priceCents"), 1999);
	assert_string_equal(s_of(f->out, "currency"), "USD");
	assert_null_member(f->out, "description");
	assert_bool_member(f->out, "isActive", 1);
	assert_int_equal((int)n_of(f->out, "stock"), 3);
	assert_int_equal((int)n_of(f->out, "lowStockThreshold"), 0);
	assert_string_equal(s_of(f->out, "createdAt"), "2026-01-01T00:00:00Z");
	/* the exact decimal in the text, not a binary fraction printed back */
	assert_non_null(strstr(f->text, "\"taxRate\":0.0825,"));
	assert_true(n_of(f->out, "taxRate") == 0.0825);
	id = id_of_last(f);

	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	tb_assert_rc(call(f, &f->user, "products.get", body), BILLING_OK);
	assert_non_null(strstr(f->text, "\"taxRate\":0.0825,"));

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"isActive\":false,\"description\":\"Blue\","
		"\"taxRate\":\"0.2\"}", id);
	tb_assert_rc(call(f, &f->admin, "products.update", body), BILLING_OK);
	assert_bool_member(f->out, "isActive", 0);
	assert_string_equal(s_of(f->out, "description"), "Blue");
	assert_non_null(strstr(f->text, "\"taxRate\":0.2,"));
	assert_int_equal((int64_t)n_of(f->out, "priceCents"), 1999);
	assert_int_equal((int)n_of(f->out, "version"), 2);

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"description\":null}", id);
	tb_assert_rc(call(f, &f->admin, "products.update", body), BILLING_OK);
	assert_null_member(f->out, "description");

	tb_assert_rc(call(f, &f->user, "products.list", "{\"isActive\":false,\"minPriceCents\":1000}"),
		BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 1);
	tb_assert_rc(call(f, &f->user, "products.list", "{\"isActive\":true}"), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 0);

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"expectedVersion\":3}", id);
	tb_assert_rc(call(f, &f->admin, "products.delete", body), BILLING_OK);
	assert_bool_member(f->out, "deleted", 1);
	free(id);
}

static void json_products__tax_rate_forms(void **state)
{
	fx *f = *state;
	struct { const char *rate; int ok; const char *printed; } cases[] = {
		{ "0.0825", 1, "0.0825" }, { "\"0.0825\"", 1, "0.0825" }, { "0", 1, "0" },
		{ "0.9999", 1, "0.9999" }, { "0.1", 1, "0.1" },
		{ "0.12345", 0, NULL }, { "1", 0, NULL }, { "-0.1", 0, NULL }, { "1.5", 0, NULL },
		{ "\"0.12345\"", 0, NULL }, { "\"abc\"", 0, NULL }, { "true", 0, NULL },
		{ "0.99995", 0, NULL },
	};
	char body[256], want[64];
	size_t i;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		snprintf(body, sizeof(body), "{\"name\":\"W\",\"sku\":\"T-%zu\",\"taxRate\":%s}", i,
			cases[i].rate);
		rc = call(f, &f->admin, "products.create", body);
		if (cases[i].ok) {
			tb_assert_rc(rc, BILLING_OK);
			snprintf(want, sizeof(want), "\"taxRate\":%s,", cases[i].printed);
			if (!strstr(f->text, want))
				fail_msg("%s printed as %s", cases[i].rate, f->text);
		} else {
			assert_error(f, rc, BILLING_EINVALID, NULL, "taxRate");
		}
	}
}

static void json_products__rejects_wrong_types(void **state)
{
	fx *f = *state;
	struct { const char *body; const char *field; } cases[] = {
		{ "{\"name\":\"W\",\"sku\":\"S\",\"priceCents\":\"100\"}", "priceCents" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"priceCents\":1.5}", "priceCents" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"priceCents\":1e300}", "priceCents" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"priceCents\":-1e400}", "priceCents" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"priceCents\":9223372036854775808}", "priceCents" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"priceCents\":-1}", "priceCents" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"isActive\":\"true\"}", "isActive" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"isActive\":1}", "isActive" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"isActive\":null}", "isActive" },
		{ "{\"name\":null,\"sku\":\"S\"}", "name" },
		{ "{\"name\":\"W\",\"sku\":7}", "sku" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"metadata\":[]}", "metadata" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"metadata\":{\"k\":1}}", "metadata" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"currency\":\"ABC\"}", "currency" },
		{ "{\"name\":\"W\",\"sku\":\"S\",\"color\":\"red\"}", "color" },
	};
	size_t i;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = call(f, &f->admin, "products.create", cases[i].body);
		if (rc != BILLING_EINVALID)
			fail_msg("%s: got %d %s", cases[i].body, rc, f->text);
		assert_error(f, rc, BILLING_EINVALID, NULL, cases[i].field);
	}
	assert_error(f, call(f, &f->admin, "products.create",
		"{\"name\":\"W\",\"sku\":\"S\",\"color\":\"red\"}"), BILLING_EINVALID, "unknown_field",
		"color");
	tb_assert_rc(call(f, &f->user, "products.list", NULL), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 0);
}

/* ------------------------------------------------------------ plans */

static void json_plans__create_get_update_delete_list(void **state)
{
	fx *f = *state;
	char *prod = make_product(f, "P-1", "\"currency\":\"GBP\"");
	char *id, body[512];

	snprintf(body, sizeof(body), "{\"productId\":\"%s\",\"code\":\"PRO\",\"name\":\"Pro\","
		"\"amount\":2900,\"interval\":\"MONTH\",\"trialDays\":14}", prod);
	tb_assert_rc(call(f, &f->admin, "plans.create", body), BILLING_OK);
	assert_int_equal(strncmp(s_of(f->out, "id"), "plan_", 5), 0);
	assert_string_equal(s_of(f->out, "object"), "plan");
	assert_string_equal(s_of(f->out, "productId"), prod);
	assert_string_equal(s_of(f->out, "code"), "PRO");
	assert_null_member(f->out, "description");
	assert_int_equal((int64_t)n_of(f->out, "amount"), 2900);
	assert_string_equal(s_of(f->out, "currency"), "GBP");
	assert_string_equal(s_of(f->out, "interval"), "MONTH");
	assert_int_equal((int)n_of(f->out, "intervalCount"), 1);
	assert_int_equal((int)n_of(f->out, "trialDays"), 14);
	assert_null_member(f->out, "termCount");
	assert_bool_member(f->out, "active", 1);
	assert_string_equal(s_of(f->out, "createdAt"), "2026-01-01T00:00:00Z");
	id = id_of_last(f);

	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	tb_assert_rc(call(f, &f->user, "plans.get", body), BILLING_OK);
	assert_string_equal(s_of(f->out, "code"), "PRO");

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"amount\":3900,\"active\":false}", id);
	tb_assert_rc(call(f, &f->admin, "plans.update", body), BILLING_OK);
	assert_int_equal((int64_t)n_of(f->out, "amount"), 3900);
	assert_bool_member(f->out, "active", 0);
	assert_int_equal((int)n_of(f->out, "trialDays"), 14);

	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"interval\":\"YEAR\"}", id);
	assert_error(f, call(f, &f->admin, "plans.update", body), BILLING_EINVALID, NULL, "interval");
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"termCount\":null}", id);
	assert_error(f, call(f, &f->admin, "plans.update", body), BILLING_EINVALID, NULL, "termCount");
	/* a fixed field is an input of update, refused by name */
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"code\":\"OTHER\"}", id);
	assert_error(f, call(f, &f->admin, "plans.update", body), BILLING_EINVALID, "invalid",
		"code");

	snprintf(body, sizeof(body), "{\"productId\":\"%s\",\"active\":false,\"currency\":\"gbp\"}", prod);
	tb_assert_rc(call(f, &f->user, "plans.list", body), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 1);
	tb_assert_rc(call(f, &f->user, "plans.list", "{\"active\":true}"), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 0);

	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	tb_assert_rc(call(f, &f->admin, "plans.delete", body), BILLING_OK);
	assert_bool_member(f->out, "deleted", 1);
	assert_error(f, call(f, &f->user, "plans.get", body), BILLING_ENOTFOUND, NULL, NULL);

	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", prod);
	assert_error(f, call(f, &f->admin, "products.delete", body), BILLING_ECONFLICT, "referenced",
		NULL);
	free(id);
	free(prod);
}

static void json_plans__rejects_bad_numbers_and_fields(void **state)
{
	fx *f = *state;
	char *prod = make_product(f, "P-1", NULL);
	struct { const char *extra; const char *field; } cases[] = {
		{ "\"amount\":1152921504606846976", "amount" },  /* 2^60 */
		{ "\"amount\":0", "amount" },
		{ "\"amount\":29.5", "amount" },
		{ "\"interval\":\"MONTHLY\"", "interval" },
		{ "\"interval\":null", "interval" },
		{ "\"intervalCount\":0", "intervalCount" },
		{ "\"intervalCount\":37", "intervalCount" },
		{ "\"trialDays\":731", "trialDays" },
		{ "\"trialDays\":4294967296", "trialDays" },
		{ "\"termCount\":0", "termCount" },
		{ "\"termCount\":1001", "termCount" },
		{ "\"code\":\"pro\"", "code" },
		{ "\"currency\":\"ABC\"", "currency" },
	};
	char body[512];
	size_t i;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		/* later members of the same name are ignored by lookups: put the
		 * case first and leave it out of the defaults */
		snprintf(body, sizeof(body), "{%s,\"productId\":\"%s\",\"name\":\"Pro\"%s%s%s%s}",
			cases[i].extra, prod,
			strstr(cases[i].extra, "\"code\"") ? "" : ",\"code\":\"PRO\"",
			strstr(cases[i].extra, "\"amount\"") ? "" : ",\"amount\":100",
			strstr(cases[i].extra, "\"interval\"") ? "" : ",\"interval\":\"MONTH\"", "");
		rc = call(f, &f->admin, "plans.create", body);
		if (rc != BILLING_EINVALID)
			fail_msg("%s: got %d %s", body, rc, f->text);
		assert_error(f, rc, BILLING_EINVALID, NULL, cases[i].field);
	}
	snprintf(body, sizeof(body), "{\"productId\":\"prod_nope\",\"code\":\"PRO\",\"name\":\"Pro\","
		"\"amount\":100,\"interval\":\"MONTH\"}");
	assert_error(f, call(f, &f->admin, "plans.create", body), BILLING_EINVALID, "resource_missing",
		"productId");
	snprintf(body, sizeof(body), "{\"productId\":\"%s\",\"code\":\"PRO\",\"name\":\"Pro\","
		"\"amount\":100,\"interval\":\"WEEK\",\"termCount\":12,\"description\":null}", prod);
	tb_assert_rc(call(f, &f->admin, "plans.create", body), BILLING_OK);
	assert_int_equal((int)n_of(f->out, "termCount"), 12);
	assert_string_equal(s_of(f->out, "interval"), "WEEK");
	assert_null_member(f->out, "description");
	tb_assert_rc(call(f, &f->user, "plans.list", NULL), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 1);
	free(prod);
}

/* ------------------------------------------------------------ errors */

static void json_call__unknown_operation_is_not_found(void **state)
{
	fx *f = *state;
	assert_error(f, call(f, &f->admin, "customers.explode", "{}"), BILLING_ENOTFOUND,
		"unknown_operation", NULL);
	assert_error(f, call(f, &f->admin, "", "{}"), BILLING_ENOTFOUND, "unknown_operation", NULL);
	assert_error(f, call(f, &f->admin, NULL, "{}"), BILLING_ENOTFOUND, "unknown_operation", NULL);
	assert_error(f, call(f, &f->admin, "Customers.Create", "{}"), BILLING_ENOTFOUND,
		"unknown_operation", NULL);
}

static void json_call__malformed_or_non_object_input_is_invalid(void **state)
{
	fx *f = *state;
	const char *bad[] = { "{\"name\":", "{'name':'x'}", "nope", "{\"a\":1}}", "[1,2]", "42",
		"\"str\"", "null" };
	size_t i;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_error(f, call(f, &f->admin, "customers.create", bad[i]), BILLING_EINVALID, NULL,
			"body");
	assert_error(f, call(f, &f->admin, "customers.create", "{\"name\":"), BILLING_EINVALID,
		"malformed_json", "body");
	tb_assert_rc(call(f, &f->user, "customers.list", NULL), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 0);
}

static void json_call__unknown_field_is_invalid_naming_it(void **state)
{
	fx *f = *state;
	assert_error(f, call(f, &f->admin, "customers.create",
		"{\"name\":\"Ada\",\"email\":\"a@example.com\",\"nickname\":\"A\"}"), BILLING_EINVALID,
		"unknown_field", "nickname");
	assert_error(f, call(f, &f->admin, "customers.list", "{\"sortOrder\":\"asc\"}"),
		BILLING_EINVALID, "unknown_field", "sortOrder");
	/* field names are case-sensitive */
	assert_error(f, call(f, &f->admin, "customers.create",
		"{\"Name\":\"Ada\",\"email\":\"a@example.com\"}"), BILLING_EINVALID, "unknown_field", "Name");
}

static void json_call__missing_required_id_is_invalid(void **state)
{
	fx *f = *state;
	assert_error(f, call(f, &f->admin, "customers.get", "{}"), BILLING_EINVALID, NULL, "id");
	assert_error(f, call(f, &f->admin, "customers.get", "{\"id\":null}"), BILLING_EINVALID, NULL,
		"id");
	assert_error(f, call(f, &f->admin, "customers.get", "{\"id\":\"cus_nope\"}"),
		BILLING_ENOTFOUND, "not_found", NULL);
}

static void json_call__null_out_is_invalid(void **state)
{
	fx *f = *state;
	tb_assert_rc(billing_call_json(NULL, f->w->ctx, &f->admin, "customers.list", "{}", 2, NULL),
		BILLING_EINVALID);
	tb_assert_field("out");
}

/* ------------------------------------------------------------ lists */

static void json_list__envelope_in_cursor_and_page_mode(void **state)
{
	fx *f = *state;
	char body[512], *cursor;
	int i;
	for (i = 0; i < 3; i++) {
		char email[32];
		snprintf(email, sizeof(email), "c%d@example.com", i);
		free(make_customer(f, "C", email));
	}
	/* Without startingAfter: page mode (page 1), with totals and a cursor
	 * that goes on in keyset mode. */
	tb_assert_rc(call(f, &f->user, "customers.list", "{\"limit\":2}"), BILLING_OK);
	assert_string_equal(s_of(f->out, "object"), "list");
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 2);
	assert_bool_member(f->out, "hasMore", 1);
	assert_int_equal((int)n_of(f->out, "pageSize"), 2);
	assert_int_equal((int)n_of(f->out, "total"), 3);
	assert_int_equal((int)n_of(f->out, "page"), 1);
	assert_int_equal((int)n_of(f->out, "totalPages"), 2);
	cursor = strdup(s_of(f->out, "nextCursor"));

	snprintf(body, sizeof(body), "{\"pageSize\":2,\"startingAfter\":\"%s\"}", cursor);
	tb_assert_rc(call(f, &f->user, "customers.list", body), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 1);
	assert_string_equal(s_of(cJSON_GetArrayItem(member(f->out, "data"), 0), "email"),
		"c2@example.com");
	assert_bool_member(f->out, "hasMore", 0);
	assert_null_member(f->out, "nextCursor");
	assert_null(cJSON_GetObjectItemCaseSensitive(f->out, "total"));
	assert_null(cJSON_GetObjectItemCaseSensitive(f->out, "page"));
	assert_null(cJSON_GetObjectItemCaseSensitive(f->out, "totalPages"));

	snprintf(body, sizeof(body), "{\"limit\":2,\"page\":1,\"startingAfter\":\"%s\"}", cursor);
	assert_error(f, call(f, &f->user, "customers.list", body), BILLING_EINVALID, NULL,
		"startingAfter");
	snprintf(body, sizeof(body), "{\"limit\":2,\"sortBy\":\"name\",\"startingAfter\":\"%s\"}",
		cursor);
	assert_error(f, call(f, &f->user, "customers.list", body), BILLING_EINVALID, "invalid_cursor",
		"startingAfter");

	tb_assert_rc(call(f, &f->user, "customers.list", "{\"limit\":2,\"page\":2}"), BILLING_OK);
	assert_int_equal((int)n_of(f->out, "total"), 3);
	assert_int_equal((int)n_of(f->out, "page"), 2);
	assert_int_equal((int)n_of(f->out, "pageSize"), 2);
	assert_int_equal((int)n_of(f->out, "totalPages"), 2);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 1);

	tb_assert_rc(call(f, &f->user, "customers.list", "{\"q\":\"C1@\",\"sort\":\"email\","
		"\"order\":\"desc\"}"), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(member(f->out, "data")), 1);
	assert_int_equal((int)n_of(f->out, "pageSize"), 20);

	assert_error(f, call(f, &f->user, "customers.list", "{\"limit\":0}"), BILLING_EINVALID, NULL,
		"limit");
	assert_error(f, call(f, &f->user, "customers.list", "{\"limit\":101}"), BILLING_EINVALID, NULL,
		"limit");
	assert_error(f, call(f, &f->user, "customers.list", "{\"page\":0}"), BILLING_EINVALID, NULL,
		"page");
	assert_error(f, call(f, &f->user, "customers.list", "{\"order\":\"up\"}"), BILLING_EINVALID,
		NULL, "order");
	assert_error(f, call(f, &f->user, "customers.list", "{\"sortBy\":\"nope\"}"),
		BILLING_EINVALID, NULL, "sortBy");
	free(cursor);
}

/* ------------------------------------------------------------ catalog */

static const cJSON *find_op(const cJSON *ops, const char *name)
{
	const cJSON *op;
	cJSON_ArrayForEach(op, ops)
		if (strcmp(s_of(op, "name"), name) == 0)
			return op;
	fail_msg("catalog has no %s", name);
	return NULL;
}

static int has_string(const cJSON *arr, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return 1;
	return 0;
}

static const cJSON *find_input(const cJSON *op, const char *name)
{
	const cJSON *in;
	cJSON_ArrayForEach(in, member(op, "input"))
		if (strcmp(s_of(in, "name"), name) == 0)
			return in;
	return NULL;
}

static void json_catalog__lists_every_operation_with_roles_and_inputs(void **state)
{
	fx *f = *state;
	const char *names[] = { "tenants.create", "tenants.get", "tenants.list", "customers.create",
		"customers.get", "customers.update", "customers.delete", "customers.list",
		"products.create", "products.get", "products.update", "products.delete", "products.list",
		"plans.create", "plans.get", "plans.update", "plans.delete", "plans.list",
		"subscriptions.create", "subscriptions.get", "subscriptions.list",
		"subscriptions.cancel", "subscriptions.update", "subscriptions.change_plan",
		"subscriptions.pause", "subscriptions.resume", "invoices.get", "invoices.list",
		"invoices.void", "invoices.preview", "events.get", "events.list", "invoices.pay",
		"payments.get", "payments.list", "payments.refund", "payments.cancel",
		"dunning.get", "dunning.set",
		"webhook_endpoints.create", "webhook_endpoints.get", "webhook_endpoints.update",
		"webhook_endpoints.delete", "webhook_endpoints.list", "webhook_endpoints.rotate_secret",
		"webhook_deliveries.list", "events.redeliver", "audit.list",
		/* tax rates: the generic adapter (json_record.c), from their descriptor */
		"tax_rates.create", "tax_rates.get", "tax_rates.update", "tax_rates.list",
		/* disputes: read-only, from their descriptor */
		"disputes.get", "disputes.list",
		/* customer balance transactions: append-only, from their descriptor */
		"customer_balance_transactions.create", "customer_balance_transactions.list",
		/* stored payment methods: writes by hand (they ask the provider),
		 * reads from the descriptor; SetupIntents */
		"payment_methods.create", "payment_methods.delete", "setup_intents.create",
		"payment_methods.get", "payment_methods.list",
		/* a tenant's own provider account */
		"provider_account.get", "provider_account.set", "provider_account.delete",
		/* draft invoices (#20 item 2) and invoice items from their descriptor */
		"invoices.create", "invoices.update", "invoices.delete", "invoices.finalize",
		"invoices.mark_uncollectible",
		/* credit notes (#20 item 3): writes by hand, reads from the descriptor */
		"credit_notes.create", "credit_notes.void", "credit_notes.preview",
		"invoice_items.create", "invoice_items.get",
		"invoice_items.update", "invoice_items.delete", "invoice_items.list",
		"credit_notes.get", "credit_notes.list",
		/* coupons and promotion codes (#22 items 1 and 2), from descriptors */
		"coupons.create", "coupons.get", "coupons.update", "coupons.delete", "coupons.list",
		"promotion_codes.create", "promotion_codes.get", "promotion_codes.update",
		"promotion_codes.list",
		/* meters (#23): from their descriptor */
		"meters.create", "meters.get", "meters.update", "meters.list",
		/* usage (#23) */
		"usage_events.create", "usage_events.void", "usage.aggregate", "subscriptions.usage",
		"usage_settings.get", "usage_settings.set", "usage_events.prune",
		/* subscription items (#21 item 2): writes by hand, reads from the descriptor */
		"subscription_items.create", "subscription_items.update",
		"subscription_items.delete", "subscription_items.preview",
		"subscription_items.get", "subscription_items.list",
		/* taxes on invoices (#22): the tenant's rounding rule */
		"tax_settings.get", "tax_settings.set",
		/* discounts (#22 item 3) */
		"subscriptions.delete_discount", "customers.delete_discount",
		"invoices.delete_discount",
		/* revenue reports (#25) */
		"reports.mrr", "reports.mrr_movements", "reports.receivables_aging",
		"reports.churn", "reports.arpa", "reports.trial_conversion", "reports.revenue",
		"reports.payment_recovery",
		/* invoice settings (#20 item 2): the renewal draft delay */
		"invoice_settings.get", "invoice_settings.set",
		/* documents (#24): the tenant's branding, hosted links */
		"branding.get", "branding.set", "hosted_links.rotate" };
	char *text = NULL;
	cJSON *root, *ops;
	const cJSON *op, *in;
	size_t i;

	tb_assert_rc(billing_catalog_json(&text), BILLING_OK);
	root = cJSON_Parse(text);
	assert_non_null(root);
	assert_int_equal((int)n_of(root, "version"), 1);
	ops = cJSON_GetObjectItemCaseSensitive(root, "operations");
	assert_true(cJSON_IsArray(ops));
	assert_int_equal(cJSON_GetArraySize(ops), sizeof(names) / sizeof(names[0]));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		op = find_op(ops, names[i]);
		assert_true(cJSON_GetArraySize(member(op, "roles")) >= 1);
		assert_true(cJSON_IsArray(member(op, "input")));
		assert_true(strlen(s_of(op, "description")) > 0);
		assert_true(cJSON_IsBool(member(op, "mutating")));
	}
	op = find_op(ops, "customers.create");
	assert_true(has_string(member(op, "roles"), "ADMIN"));
	assert_false(has_string(member(op, "roles"), "USER"));
	assert_bool_member(op, "mutating", 1);
	in = find_input(op, "email");
	assert_non_null(in);
	assert_string_equal(s_of(in, "type"), "string");
	op = find_op(ops, "customers.list");
	assert_true(has_string(member(op, "roles"), "USER"));
	assert_true(has_string(member(op, "roles"), "ADMIN"));
	assert_false(has_string(member(op, "roles"), "PLATFORM"));
	assert_bool_member(op, "mutating", 0);
	op = find_op(ops, "tenants.create");
	assert_int_equal(cJSON_GetArraySize(member(op, "roles")), 1);
	assert_true(has_string(member(op, "roles"), "PLATFORM"));
	op = find_op(ops, "products.create");
	assert_string_equal(s_of(find_input(op, "priceCents"), "type"), "integer");
	assert_string_equal(s_of(find_input(op, "taxRate"), "type"), "decimal");
	assert_string_equal(s_of(find_input(op, "isActive"), "type"), "boolean");
	assert_bool_member(find_input(op, "description"), "nullable", 1);
	op = find_op(ops, "plans.get");
	assert_bool_member(find_input(op, "id"), "required", 1);

	/* every catalog name is an operation the dispatcher knows */
	cJSON_ArrayForEach(op, ops) {
		const char *name = s_of(op, "name");
		const billing_principal *who = has_string(member(op, "roles"), "PLATFORM") ? &f->op :
			has_string(member(op, "roles"), "ADMIN") ? &f->admin : &f->user;
		int rc = call(f, who, name, "{}");
		assert_true(rc != BILLING_ENOTFOUND ||
			strcmp(billing_error_last()->reason, "unknown_operation") != 0);
		assert_true(rc != BILLING_EFORBIDDEN);
	}
	cJSON_Delete(root);
	billing_free(text);
	tb_assert_rc(billing_catalog_json(NULL), BILLING_EINVALID);
}

/* The catalog's required flags are what the bindings' signatures, the Node
 * types and the OpenAPI document say: every field the library refuses as
 * missing when an operation is called with no input must be flagged
 * required, and every required field missing is named in one answer.
 * events.redeliver takes id or since, so neither is required. */
static void json_catalog__required_flags_are_what_the_library_requires(void **state)
{
	fx *f = *state;
	char *text = NULL;
	cJSON *root;
	const cJSON *op, *in;

	tb_assert_rc(billing_catalog_json(&text), BILLING_OK);
	root = cJSON_Parse(text);
	assert_non_null(root);
	cJSON_ArrayForEach(op, member(root, "operations")) {
		const char *name = s_of(op, "name");
		const billing_principal *who = has_string(member(op, "roles"), "PLATFORM") ? &f->op :
			has_string(member(op, "roles"), "ADMIN") ? &f->admin : &f->user;
		const billing_error *e;
		size_t i, required = 0;
		int rc;

		/* A coupon needs one of percentOff and amountOff, neither required
		 * alone: {} is refused naming percentOff (tests/unit/coupon.c). */
		if (strcmp(name, "events.redeliver") == 0 || strcmp(name, "coupons.create") == 0)
			continue;
		rc = call(f, who, name, "{}");
		e = billing_error_last();
		cJSON_ArrayForEach(in, member(op, "input"))
			required += cJSON_IsTrue(member(in, "required"));
		if (rc != BILLING_EINVALID) {
			if (required > 0)
				fail_msg("%s: {} is %d though it has required fields", name, rc);
			continue;
		}
		for (i = 0; i < e->field_error_count; i++) {
			in = find_input(op, e->field_errors[i].field);
			if (!in || !cJSON_IsTrue(member(in, "required")))
				fail_msg("%s: %s is refused when missing (%s) but not flagged required",
					name, e->field_errors[i].field, e->field_errors[i].message);
		}
		if (e->field_error_count != required)
			fail_msg("%s: %zu field errors for %zu required fields", name,
				e->field_error_count, required);
	}
	op = find_op(member(root, "operations"), "customers.update");
	assert_bool_member(find_input(op, "name"), "required", 0);
	assert_bool_member(find_input(op, "email"), "required", 0);
	cJSON_Delete(root);
	billing_free(text);
}

/* The catalog's shape of that name, or NULL. */
static const cJSON *find_shape(const cJSON *root, const char *name)
{
	const cJSON *sh;
	cJSON_ArrayForEach(sh, member(root, "shapes"))
		if (strcmp(s_of(sh, "name"), name) == 0)
			return sh;
	return NULL;
}

/* The type string of a shape's field (its parent's included), or NULL. */
static const char *shape_field_type(const cJSON *root, const cJSON *sh, const char *field)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, member(sh, "fields"))
		if (strcmp(s_of(f, "name"), field) == 0)
			return s_of(f, "type");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sh, "extends")))
		return shape_field_type(root, find_shape(root, s_of(sh, "extends")), field);
	return NULL;
}

static int shape_problems(const cJSON *root, const cJSON *v, const char *shape, const char *where);

/* 0 when v fits the type string t (json.h), else 1 with a message. */
static int type_problems(const cJSON *root, const cJSON *v, const char *t, const char *where)
{
	char base[200];
	size_t n = strlen(t);
	int nullable = 0, array = 0;

	assert_true(n > 0 && n < sizeof(base));
	memcpy(base, t, n + 1);
	if (base[n - 1] == '?')
		base[--n] = '\0', nullable = 1;
	if (n > 2 && strcmp(base + n - 2, "[]") == 0)
		base[n -= 2] = '\0', array = 1;
	if (cJSON_IsNull(v))
		return nullable || strcmp(base, "null") == 0 ? 0 :
			(print_message("%s: null is not %s\n", where, t), 1);
	if (array) {
		const cJSON *e;
		int bad = 0;
		if (!cJSON_IsArray(v))
			return print_message("%s: not an array\n", where), 1;
		cJSON_ArrayForEach(e, v)
			bad += type_problems(root, e, base, where);
		return bad;
	}
	if (strcmp(base, "string") == 0 || strcmp(base, "time") == 0)
		return cJSON_IsString(v) ? 0 : (print_message("%s: not %s\n", where, base), 1);
	if (strcmp(base, "integer") == 0 || strcmp(base, "number") == 0)
		return cJSON_IsNumber(v) || cJSON_IsRaw(v) ? 0 :
			(print_message("%s: not a number\n", where), 1);
	if (strcmp(base, "boolean") == 0)
		return cJSON_IsBool(v) ? 0 : (print_message("%s: not a boolean\n", where), 1);
	if (strcmp(base, "true") == 0)
		return cJSON_IsTrue(v) ? 0 : (print_message("%s: not true\n", where), 1);
	if (strcmp(base, "metadata") == 0 || strcmp(base, "object") == 0)
		return cJSON_IsObject(v) ? 0 : (print_message("%s: not an object\n", where), 1);
	if (base[0] == '\'') {
		char lit[80];
		if (!cJSON_IsString(v) || snprintf(lit, sizeof(lit), "'%s'", v->valuestring) >=
		    (int)sizeof(lit) || !strstr(base, lit))
			return print_message("%s: not one of %s\n", where, base), 1;
		return 0;
	}
	return shape_problems(root, v, base, where);
}

/* Every way an answer v differs from the catalog's shape: a field missing,
 * undeclared or of another type. */
static int shape_problems(const cJSON *root, const cJSON *v, const char *shape, const char *where)
{
	const cJSON *sh = find_shape(root, shape), *f;
	int bad = 0;

	if (!sh)
		return print_message("%s: the catalog has no shape %s\n", where, shape), 1;
	if (!cJSON_IsObject(v))
		return print_message("%s: not an object\n", where), 1;
	for (; sh; sh = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sh, "extends")) ?
	    find_shape(root, s_of(sh, "extends")) : NULL)
		cJSON_ArrayForEach(f, member(sh, "fields"))
			if (!cJSON_GetObjectItemCaseSensitive(v, s_of(f, "name")) &&
			    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "optional")))
				bad += (print_message("%s.%s: missing\n", where, s_of(f, "name")), 1);
	cJSON_ArrayForEach(f, v) {
		const char *t = shape_field_type(root, find_shape(root, shape), f->string);
		if (!t)
			bad += (print_message("%s.%s: not in the shape\n", where, f->string), 1);
		else
			bad += type_problems(root, f, t, f->string);
	}
	return bad;
}

/* Every operation names its output, a shape the catalog declares, and
 * every shape's field types name only types and shapes that exist. */
static void json_catalog__outputs_name_declared_shapes(void **state)
{
	char *text = NULL;
	cJSON *root;
	const cJSON *op, *sh, *fl;
	(void)state;

	tb_assert_rc(billing_catalog_json(&text), BILLING_OK);
	root = cJSON_Parse(text);
	assert_non_null(root);
	assert_true(cJSON_GetArraySize(member(root, "shapes")) >= 18);
	cJSON_ArrayForEach(op, member(root, "operations")) {
		const cJSON *o = member(op, "output");
		const char *kind = s_of(o, "kind");
		if (!find_shape(root, s_of(o, "shape")))
			fail_msg("%s: output shape %s is not declared", s_of(op, "name"),
				s_of(o, "shape"));
		assert_true(strcmp(kind, "object") == 0 || strcmp(kind, "page") == 0);
		assert_int_equal(strcmp(kind, "page") == 0, find_input(op, "startingAfter") != NULL);
	}
	op = find_op(member(root, "operations"), "customers.delete");
	assert_string_equal(s_of(member(op, "output"), "shape"), "Deleted");
	op = find_op(member(root, "operations"), "invoices.pay");
	assert_string_equal(s_of(member(op, "output"), "shape"), "Payment");
	op = find_op(member(root, "operations"), "plans.list");
	assert_string_equal(s_of(member(op, "output"), "kind"), "page");
	assert_string_equal(s_of(member(op, "output"), "shape"), "Plan");
	cJSON_ArrayForEach(sh, member(root, "shapes")) {
		assert_true(strlen(s_of(sh, "doc")) > 0);
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sh, "extends")))
			assert_non_null(find_shape(root, s_of(sh, "extends")));
		cJSON_ArrayForEach(fl, member(sh, "fields")) {
			const char *t = s_of(fl, "type");
			char base[200];
			size_t n = strcspn(t, "[?");
			snprintf(base, sizeof(base), "%.*s", (int)n, t);
			if (base[0] != '\'' && !strstr(" string integer number boolean time metadata "
			    "object true null ", base) && !find_shape(root, base))
				fail_msg("%s.%s: type %s names nothing", s_of(sh, "name"),
					s_of(fl, "name"), t);
			/* An enum's value 0 without a name is never answered. */
			if (strstr(t, "''"))
				fail_msg("%s.%s: type %s offers ''", s_of(sh, "name"),
					s_of(fl, "name"), t);
		}
	}
	cJSON_Delete(root);
	billing_free(text);
}

/* The catalog's resources: each names its plural, HTTP path and the
 * standard operations it offers, every one an operation of the catalog
 * answering with the resource's shape (the server makes their routes). */
static void json_catalog__resources_name_their_operations_and_path(void **state)
{
	char *text = NULL, name[96];
	cJSON *root;
	const cJSON *res, *verb, *op;
	int customers = 0;
	(void)state;

	tb_assert_rc(billing_catalog_json(&text), BILLING_OK);
	root = cJSON_Parse(text);
	assert_non_null(root);
	cJSON_ArrayForEach(res, member(root, "resources")) {
		assert_true(strlen(s_of(res, "name")) > 0 && strlen(s_of(res, "path")) > 0);
		assert_non_null(find_shape(root, s_of(res, "title")));
		assert_true(cJSON_GetArraySize(member(res, "operations")) >= 1);
		cJSON_ArrayForEach(verb, member(res, "operations")) {
			snprintf(name, sizeof(name), "%s.%s", s_of(res, "plural"), verb->valuestring);
			op = find_op(member(root, "operations"), name);
			assert_string_equal(s_of(member(op, "output"), "shape"),
				strcmp(verb->valuestring, "delete") == 0 ? "Deleted" : s_of(res, "title"));
		}
		if (strcmp(s_of(res, "plural"), "customers") == 0) {
			customers++;
			assert_string_equal(s_of(res, "path"), "customers");
			assert_int_equal(cJSON_GetArraySize(member(res, "operations")), 5);
		}
	}
	assert_int_equal(customers, 1);
	cJSON_Delete(root);
	billing_free(text);
}

/* What the operations answer fits the shapes the catalog declares, field
 * by field (the Node binding's shapes test and the HTTP suites check every
 * operation; this checks the library alone). */
static void json_catalog__answers_fit_their_shapes(void **state)
{
	fx *f = *state;
	char *text = NULL, body[300];
	cJSON *root, *cus, *prod, *plan;
	const cJSON *it;

	tb_assert_rc(billing_catalog_json(&text), BILLING_OK);
	root = cJSON_Parse(text);
	assert_non_null(root);

	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", f->tenant);
	tb_assert_rc(call(f, &f->op, "tenants.get", body), BILLING_OK);
	assert_int_equal(shape_problems(root, f->out, "Tenant", "tenant"), 0);
	tb_assert_rc(call(f, &f->admin, "customers.create",
		"{\"name\":\"Ada\",\"email\":\"ada@example.com\",\"metadata\":{\"a\":\"b\"}}"),
		BILLING_OK);
	assert_int_equal(shape_problems(root, f->out, "Customer", "customer"), 0);
	cus = cJSON_Duplicate(f->out, 1);
	tb_assert_rc(call(f, &f->admin, "products.create",
		"{\"name\":\"Pro\",\"sku\":\"pro\",\"taxRate\":\"0.2\"}"), BILLING_OK);
	assert_int_equal(shape_problems(root, f->out, "Product", "product"), 0);
	prod = cJSON_Duplicate(f->out, 1);
	snprintf(body, sizeof(body), "{\"productId\":\"%s\",\"code\":\"PRO\",\"name\":\"Pro\","
		"\"amount\":900,\"interval\":\"MONTH\",\"termCount\":3}", s_of(prod, "id"));
	tb_assert_rc(call(f, &f->admin, "plans.create", body), BILLING_OK);
	assert_int_equal(shape_problems(root, f->out, "Plan", "plan"), 0);
	plan = cJSON_Duplicate(f->out, 1);
	tb_assert_rc(call(f, &f->user, "plans.list", "{}"), BILLING_OK);
	cJSON_ArrayForEach(it, member(f->out, "data"))
		assert_int_equal(shape_problems(root, it, "Plan", "plans[]"), 0);
	tb_assert_rc(call(f, &f->admin, "dunning.get", NULL), BILLING_OK);
	assert_int_equal(shape_problems(root, f->out, "DunningPolicy", "dunning"), 0);
	snprintf(body, sizeof(body), "{\"customerId\":\"%s\",\"planId\":\"%s\"}",
		s_of(cus, "id"), s_of(plan, "id"));
	tb_assert_rc(call(f, &f->admin, "subscriptions.create", body), BILLING_OK);
	assert_int_equal(shape_problems(root, f->out, "Subscription", "subscription"), 0);
	snprintf(body, sizeof(body), "{\"subscriptionId\":\"%s\"}", s_of(f->out, "id"));
	tb_assert_rc(call(f, &f->user, "invoices.preview", body), BILLING_OK);
	assert_int_equal(shape_problems(root, f->out, "InvoicePreview", "preview"), 0);
	tb_assert_rc(call(f, &f->user, "invoices.list", "{}"), BILLING_OK);
	cJSON_ArrayForEach(it, member(f->out, "data"))
		assert_int_equal(shape_problems(root, it, "Invoice", "invoices[]"), 0);
	tb_assert_rc(call(f, &f->admin, "customers.create",
		"{\"name\":\"Bo\",\"email\":\"bo@example.com\"}"), BILLING_OK);
	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", s_of(f->out, "id"));
	tb_assert_rc(call(f, &f->admin, "customers.delete", body), BILLING_OK);
	assert_int_equal(shape_problems(root, f->out, "Deleted", "deleted"), 0);

	/* and the check finds what does not fit */
	cJSON_AddNumberToObject(cus, "extra", 1);
	cJSON_ReplaceItemInObjectCaseSensitive(cus, "email", cJSON_CreateNumber(1));
	cJSON_DeleteItemFromObjectCaseSensitive(cus, "version");
	assert_int_equal(shape_problems(root, cus, "Customer", "customer"), 3);
	cJSON_ReplaceItemInObjectCaseSensitive(plan, "interval", cJSON_CreateString("HOUR"));
	assert_int_equal(shape_problems(root, plan, "Plan", "plan"), 1);
	cJSON_Delete(cus);
	cJSON_Delete(prod);
	cJSON_Delete(plan);
	cJSON_Delete(root);
	billing_free(text);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(json_tenants__create_get_list),
		T(json_customers__create_get_update_delete_list),
		T(json_customers__user_gets_forbidden_before_validation),
		T(json_customers__duplicate_email_is_already_exists),
		T(json_customers__validation_error_lists_every_field),
		T(json_products__create_get_update_delete_list),
		T(json_products__tax_rate_forms),
		T(json_products__rejects_wrong_types),
		T(json_plans__create_get_update_delete_list),
		T(json_plans__rejects_bad_numbers_and_fields),
		T(json_call__unknown_operation_is_not_found),
		T(json_call__malformed_or_non_object_input_is_invalid),
		T(json_call__unknown_field_is_invalid_naming_it),
		T(json_call__missing_required_id_is_invalid),
		T(json_call__null_out_is_invalid),
		T(json_list__envelope_in_cursor_and_page_mode),
		T(json_catalog__lists_every_operation_with_roles_and_inputs),
		T(json_catalog__required_flags_are_what_the_library_requires),
		T(json_catalog__outputs_name_declared_shapes),
		T(json_catalog__answers_fit_their_shapes),
		T(json_catalog__resources_name_their_operations_and_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
