/*
 * Unit tests for json_record.c, the generic JSON adapter, over a test
 * object ("gadget") whose descriptor has a field of every json kind and
 * a table of its own: the input fields it derives for each operation,
 * JSON -> record by kind (exact integers, enums by name, decimals scaled
 * exactly, times, metadata, null), errors that name the field and change
 * nothing, filters and ranges, and the catalog shape it makes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/json_exact.h"
#include "core/json_ops.h"
#include "tb.h"

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *code;
	const char *label;
	int64_t weight;
	int kind;
	int enabled;
	int64_t ratio;          /* 10^-4 */
	int64_t due_at;
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
} gadget;

#define GF(col, type, member, flags, json, kind, api, names, scale) \
	{ col, BILLING_FIELD_##type, offsetof(gadget, member), flags, json, BILLING_JSON_##kind, \
	  api, names, scale, NULL }
#define CU (BILLING_API_CREATE | BILLING_API_UPDATE)

static const char *const kinds[] = { "small", "large", NULL };

static const billing_field gadget_fields[] = {
	GF("tenant_id", TEXT, tenant_id, BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, NONE, 0,
		NULL, 0),
	GF("id", TEXT, id, BILLING_FIELD_ID | BILLING_FIELD_FIXED, "id", STRING, 0, NULL, 0),
	GF("code", TEXT, code, BILLING_FIELD_UNIQUE | BILLING_FIELD_FILTER | BILLING_FIELD_SEARCH |
		BILLING_FIELD_FIXED, "code", STRING, BILLING_API_CREATE | BILLING_API_REQUIRED,
		NULL, 0),
	GF("label", TEXT, label, 0, "label", STRING, CU | BILLING_API_NULLABLE, NULL, 0),
	GF("weight", INT64, weight, BILLING_FIELD_RANGE | BILLING_FIELD_SORT, "weight", INTEGER, CU,
		NULL, 0),
	GF("kind", INT, kind, BILLING_FIELD_FILTER, "kind", ENUM, CU, kinds, 0),
	GF("enabled", INT, enabled, BILLING_FIELD_FILTER, "enabled", BOOLEAN, CU, NULL, 0),
	GF("ratio", INT64, ratio, 0, "ratio", DECIMAL, CU, NULL, 4),
	GF("due_at", INT64, due_at, BILLING_FIELD_ZERO_NULL, "dueAt", TIME,
		CU | BILLING_API_NULLABLE, NULL, 0),
	GF("metadata", TEXT, metadata_json, 0, "metadata", METADATA, CU, NULL, 0),
	GF("created_at", INT64, created_at, BILLING_FIELD_FIXED | BILLING_FIELD_SORT, "createdAt",
		TIME, 0, NULL, 0),
	GF("updated_at", INT64, updated_at, 0, "updatedAt", TIME, 0, NULL, 0),
	GF("version", INT64, version, BILLING_FIELD_VERSION, "version", INTEGER, 0, NULL, 0),
};

#define R_ALL ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_ADMIN (1u << BILLING_ROLE_ADMIN)

static const billing_resource gadgets = {
	"gadget", "gadgets", "gadgets", "Gadget", "A test object.", "test_gadgets", "gad",
	sizeof(gadget), gadget_fields, sizeof(gadget_fields) / sizeof(gadget_fields[0]),
	NULL, NULL, 0, NULL, 0, BILLING_RESOURCE_OP_CRUD, R_ALL, R_ADMIN, 0, NULL, 0
};

static const billing__rules rules = { &gadgets, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL };

/* The same object with its list filters under names of its own, and a
 * check of them together (as products' minPriceCents / maxPriceCents). */
static const billing__list_filter named_filters[] = {
	{ "minWeight", "weight", BILLING_FILTER_GE, "lightest" },
	{ "maxWeight", "weight", BILLING_FILTER_LE, "heaviest" },
	{ "isEnabled", "enabled", BILLING_FILTER_EQ, "only enabled or disabled ones" },
	{ NULL, NULL, 0, NULL }
};

static int named_check_list(const billing_filter *filters, size_t count)
{
	int64_t min = INT64_MIN, max = INT64_MAX;
	size_t i;
	for (i = 0; i < count; i++)
		if (filters[i].op == BILLING_FILTER_GE)
			min = filters[i].num;
		else if (filters[i].op == BILLING_FILTER_LE)
			max = filters[i].num;
	if (min > max)
		return billing__error_field(BILLING_EINVALID, "invalid", "minWeight",
			"must not exceed maxWeight");
	return BILLING_OK;
}

static const billing__rules named_rules = {
	&gadgets, NULL, NULL, NULL, named_filters, named_check_list, NULL, NULL, NULL, NULL
};

/* Gadgets whose ratio is shown as a JSON number (BILLING_API_NUMBER),
 * made at run time from gadget_fields. */
static billing_field number_fields[sizeof(gadget_fields) / sizeof(gadget_fields[0])];
static billing_resource number_gadgets;
static billing__rules number_rules;

static void number_init(void)
{
	size_t i;
	memcpy(number_fields, gadget_fields, sizeof(number_fields));
	for (i = 0; i < sizeof(number_fields) / sizeof(number_fields[0]); i++)
		if (number_fields[i].json_kind == BILLING_JSON_DECIMAL)
			number_fields[i].api |= BILLING_API_NUMBER;
	number_gadgets = gadgets;
	number_gadgets.fields = number_fields;
	number_rules = rules;
	number_rules.res = &number_gadgets;
}

typedef struct {
	tb_fx fx;
	billing_principal user;
	cJSON *out;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	void *inner = NULL;
	assert_non_null(f);
	tb_fx_setup(&inner);
	f->fx = *(tb_fx *)inner;
	free(inner);
	f->user = tb_user(f->fx.tenant);
	tb_raw_exec(f->fx.w->owner_url,
		"CREATE TABLE test_gadgets (tenant_id TEXT NOT NULL, id TEXT NOT NULL,"
		" code TEXT NOT NULL, label TEXT, weight BIGINT NOT NULL, kind INTEGER NOT NULL,"
		" enabled INTEGER NOT NULL, ratio BIGINT NOT NULL, due_at BIGINT,"
		" metadata TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
		" version BIGINT NOT NULL,"
		" CONSTRAINT test_gadgets_pkey PRIMARY KEY (tenant_id, id),"
		" CONSTRAINT test_gadgets_code_key UNIQUE (tenant_id, code))");
	if (strcmp(tb_backend(), "postgres") == 0)
		tb_raw_exec(f->fx.w->owner_url,
			"GRANT SELECT, INSERT, UPDATE, DELETE ON test_gadgets TO PUBLIC");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	void *inner = malloc(sizeof(tb_fx));
	assert_non_null(inner);
	memcpy(inner, &f->fx, sizeof(tb_fx));
	cJSON_Delete(f->out);
	tb_fx_teardown(&inner);
	free(f);
	return 0;
}

/* Runs op of r's object with the JSON text in as who, checking the input
 * against the spec first (billing__json_rules_spec; for plain rules the
 * descriptor's own), as billing_call_json does. */
static int run_rules_as(fx *f, const billing__rules *r, const billing_principal *who,
	unsigned int op, const char *json)
{
	cJSON *in = billing__jx_parse(json, strlen(json), NULL);
	field_spec *spec = billing__json_rules_spec(r, op);
	int rc;

	assert_non_null(in);
	assert_non_null(spec);
	cJSON_Delete(f->out);
	f->out = NULL;
	billing_error_clear();
	rc = billing__json_check_fields(in, spec);
	if (rc == BILLING_OK)
		rc = billing__json_record_call(&f->out, r, op, f->fx.w->ctx, who, in, NULL);
	billing__free(spec);
	cJSON_Delete(in);
	return rc;
}

/* Runs op with the JSON text in as the tenant's ADMIN (or who). */
static int run_as(fx *f, const billing_principal *who, unsigned int op, const char *json)
{
	return run_rules_as(f, &rules, who, op, json);
}

static int run(fx *f, unsigned int op, const char *json)
{
	return run_as(f, &f->fx.admin, op, json);
}

/* run with other rules of gadgets. */
static int run_rules(fx *f, const billing__rules *r, unsigned int op, const char *json)
{
	return run_rules_as(f, r, &f->fx.admin, op, json);
}

static const char *s_of(const cJSON *o, const char *name)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
	return s ? s : "";
}

static int64_t i_of(const cJSON *o, const char *name)
{
	int64_t v = 0;
	assert_int_equal(billing__jx_int(cJSON_GetObjectItemCaseSensitive(o, name), &v),
		BILLING__JX_INT_OK);
	return v;
}

static void assert_invalid(int rc, const char *field)
{
	assert_int_equal(rc, BILLING_EINVALID);
	assert_non_null(billing_error_last()->field);
	assert_string_equal(billing_error_last()->field, field);
}

static int64_t count_rows(fx *f)
{
	return tb_raw_count(f->fx.w->owner_url, "SELECT count(*) FROM test_gadgets");
}

/* ------------------------------------------------------------ specs */

static const field_spec *spec_field(const field_spec *spec, const char *name)
{
	for (; spec->name; spec++)
		if (strcmp(spec->name, name) == 0)
			return spec;
	return NULL;
}

static void json_record__specs_follow_the_descriptor(void **state)
{
	field_spec *create = billing__json_record_spec(&gadgets, BILLING_RESOURCE_OP_CREATE);
	field_spec *update = billing__json_record_spec(&gadgets, BILLING_RESOURCE_OP_UPDATE);
	field_spec *list = billing__json_record_spec(&gadgets, BILLING_RESOURCE_OP_LIST);
	field_spec *del = billing__json_record_spec(&gadgets, BILLING_RESOURCE_OP_DELETE);
	(void)state;

	/* create: the CREATE fields, REQUIRED ones required, no id */
	assert_true(spec_field(create, "code")->required);
	assert_false(spec_field(create, "label")->required);
	assert_true(spec_field(create, "label")->nullable);
	assert_int_equal(spec_field(create, "ratio")->type, T_RATE);
	assert_int_equal(spec_field(create, "kind")->type, T_STRING);
	assert_int_equal(spec_field(create, "metadata")->type, T_OBJECT);
	assert_null(spec_field(create, "id"));
	assert_null(spec_field(create, "createdAt"));
	assert_null(spec_field(create, "version"));
	/* update: id, expectedVersion and the UPDATE fields; a FIXED code is not one */
	assert_true(spec_field(update, "id")->required);
	assert_non_null(spec_field(update, "expectedVersion"));
	assert_null(spec_field(update, "code"));
	assert_false(spec_field(update, "weight")->required);
	/* list: paging, FILTER fields, RANGE bounds */
	assert_non_null(spec_field(list, "startingAfter"));
	assert_non_null(spec_field(list, "code"));
	assert_non_null(spec_field(list, "kind"));
	assert_int_equal(spec_field(list, "enabled")->type, T_BOOLEAN);
	assert_int_equal(spec_field(list, "weightFrom")->type, T_INTEGER);
	assert_non_null(spec_field(list, "weightTo"));
	assert_null(spec_field(list, "label"));
	assert_null(spec_field(list, "id"));
	assert_true(spec_field(del, "id")->required);
	assert_non_null(spec_field(del, "expectedVersion"));
	billing__free(create);
	billing__free(update);
	billing__free(list);
	billing__free(del);
}

/* ------------------------------------------------------------ calls */

static void json_record__create_reads_every_kind_exactly(void **state)
{
	fx *f = *state;
	char body[200];

	tb_assert_rc(run(f, BILLING_RESOURCE_OP_CREATE, "{\"code\":\"G-1\",\"label\":\"one\","
		"\"weight\":9007199254740993,\"kind\":\"large\",\"enabled\":true,\"ratio\":\"7.25\","
		"\"dueAt\":\"2026-01-02T03:04:05Z\",\"metadata\":{\"a\":\"b\"}}"), BILLING_OK);
	assert_string_equal(s_of(f->out, "object"), "gadget");
	assert_int_equal(strncmp(s_of(f->out, "id"), "gad_", 4), 0);
	assert_int_equal(i_of(f->out, "weight"), INT64_C(9007199254740993));
	assert_string_equal(s_of(f->out, "kind"), "large");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f->out, "enabled")));
	assert_string_equal(s_of(f->out, "ratio"), "7.25");
	assert_string_equal(s_of(f->out, "dueAt"), "2026-01-02T03:04:05Z");
	assert_string_equal(s_of(cJSON_GetObjectItemCaseSensitive(f->out, "metadata"), "a"), "b");
	assert_int_equal(i_of(f->out, "version"), 1);
	/* a decimal as a JSON number: from its literal, exactly */
	tb_assert_rc(run(f, BILLING_RESOURCE_OP_CREATE,
		"{\"code\":\"G-2\",\"ratio\":0.1,\"dueAt\":null}"), BILLING_OK);
	assert_string_equal(s_of(f->out, "ratio"), "0.1");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(f->out, "dueAt")));
	assert_string_equal(s_of(f->out, "kind"), "small");
	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", s_of(f->out, "id"));
	tb_assert_rc(run_as(f, &f->user, BILLING_RESOURCE_OP_GET, body), BILLING_OK);
	assert_string_equal(s_of(f->out, "code"), "G-2");
	assert_int_equal(count_rows(f), 2);
}

static void json_record__bad_input_names_the_field_and_writes_nothing(void **state)
{
	fx *f = *state;
	static const struct { const char *json, *field; } bad[] = {
		{ "{}", "code" },
		{ "{\"code\":\"G\",\"kind\":\"huge\"}", "kind" },
		{ "{\"code\":\"G\",\"ratio\":\"7.12345\"}", "ratio" },
		{ "{\"code\":\"G\",\"ratio\":1e3}", "ratio" },
		{ "{\"code\":\"G\",\"ratio\":\"abc\"}", "ratio" },
		{ "{\"code\":\"G\",\"ratio\":\"99999999999999999\"}", "ratio" },
		{ "{\"code\":\"G\",\"weight\":1.5}", "weight" },
		{ "{\"code\":\"G\",\"weight\":\"1\"}", "weight" },
		{ "{\"code\":\"G\",\"enabled\":1}", "enabled" },
		{ "{\"code\":\"G\",\"dueAt\":\"yesterday\"}", "dueAt" },
		{ "{\"code\":\"G\",\"metadata\":{\"a\":1}}", "metadata" },
		{ "{\"code\":\"G\",\"metadata\":null}", "metadata" },
		{ "{\"code\":null}", "code" },
		{ "{\"code\":\"G\",\"version\":3}", "version" },
		{ "{\"code\":\"G\",\"createdAt\":\"2026-01-02T03:04:05Z\"}", "createdAt" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = run(f, BILLING_RESOURCE_OP_CREATE, bad[i].json);
		if (rc != BILLING_EINVALID || !billing_error_last()->field ||
		    strcmp(billing_error_last()->field, bad[i].field) != 0)
			fail_msg("%s: %d, field %s (want %s)", bad[i].json, rc,
				billing_error_last()->field ? billing_error_last()->field : "(none)",
				bad[i].field);
	}
	assert_int_equal(count_rows(f), 0);
	/* a USER may read but not write, and learns nothing about its input */
	assert_int_equal(run_as(f, &f->user, BILLING_RESOURCE_OP_CREATE, "{\"code\":\"G\"}"),
		BILLING_EFORBIDDEN);
	assert_int_equal(count_rows(f), 0);
}

static void json_record__update_changes_the_given_fields_only(void **state)
{
	fx *f = *state;
	char body[300], id[64];

	tb_assert_rc(run(f, BILLING_RESOURCE_OP_CREATE, "{\"code\":\"G-1\",\"label\":\"one\","
		"\"weight\":5,\"ratio\":\"0.5\"}"), BILLING_OK);
	snprintf(id, sizeof(id), "%s", s_of(f->out, "id"));
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"label\":null,\"ratio\":2}", id);
	tb_assert_rc(run(f, BILLING_RESOURCE_OP_UPDATE, body), BILLING_OK);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(f->out, "label")));
	assert_string_equal(s_of(f->out, "ratio"), "2");
	assert_int_equal(i_of(f->out, "weight"), 5);
	assert_int_equal(i_of(f->out, "version"), 2);
	/* a stale version, and a field an update does not take */
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"expectedVersion\":1,\"weight\":6}", id);
	assert_int_equal(run(f, BILLING_RESOURCE_OP_UPDATE, body), BILLING_ESTALE);
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"code\":\"G-9\"}", id);
	assert_invalid(run(f, BILLING_RESOURCE_OP_UPDATE, body), "code");
	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	tb_assert_rc(run(f, BILLING_RESOURCE_OP_GET, body), BILLING_OK);
	assert_int_equal(i_of(f->out, "weight"), 5);
	assert_int_equal(i_of(f->out, "version"), 2);
	/* delete: the deleted answer, then not found */
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"expectedVersion\":2}", id);
	tb_assert_rc(run(f, BILLING_RESOURCE_OP_DELETE, body), BILLING_OK);
	assert_string_equal(s_of(f->out, "id"), id);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f->out, "deleted")));
	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	assert_int_equal(run(f, BILLING_RESOURCE_OP_GET, body), BILLING_ENOTFOUND);
}

static void json_record__lists_filter_range_search_and_page(void **state)
{
	fx *f = *state;
	int i;

	for (i = 1; i <= 5; i++) {
		char body[120];
		snprintf(body, sizeof(body), "{\"code\":\"G-%d\",\"weight\":%d,\"kind\":\"%s\","
			"\"enabled\":%s}", i, i * 10, i % 2 ? "small" : "large", i < 3 ? "true" : "false");
		tb_assert_rc(run(f, BILLING_RESOURCE_OP_CREATE, body), BILLING_OK);
	}
	tb_assert_rc(run_as(f, &f->user, BILLING_RESOURCE_OP_LIST, "{\"kind\":\"large\"}"),
		BILLING_OK);
	assert_string_equal(s_of(f->out, "object"), "list");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->out, "data")), 2);
	assert_int_equal(i_of(f->out, "total"), 2);
	tb_assert_rc(run(f, BILLING_RESOURCE_OP_LIST,
		"{\"weightFrom\":20,\"weightTo\":40,\"sortBy\":\"weight\",\"order\":\"desc\"}"),
		BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->out, "data")), 2);
	assert_int_equal(i_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f->out, "data"),
		0), "weight"), 30);
	tb_assert_rc(run(f, BILLING_RESOURCE_OP_LIST, "{\"enabled\":true,\"search\":\"g-2\"}"),
		BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->out, "data")), 1);
	tb_assert_rc(run(f, BILLING_RESOURCE_OP_LIST, "{\"limit\":2,\"startingAfter\":null}"),
		BILLING_EINVALID);
	tb_assert_rc(run(f, BILLING_RESOURCE_OP_LIST, "{\"limit\":2}"), BILLING_OK);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f->out, "hasMore")));
	assert_invalid(run(f, BILLING_RESOURCE_OP_LIST, "{\"kind\":\"huge\"}"), "kind");
	assert_invalid(run(f, BILLING_RESOURCE_OP_LIST, "{\"weightFrom\":\"x\"}"), "weightFrom");
	assert_invalid(run(f, BILLING_RESOURCE_OP_LIST, "{\"label\":\"x\"}"), "label");
}

static void json_record__shape_is_what_the_answers_write(void **state)
{
	fx *f = *state;
	cJSON *list = cJSON_CreateArray(), *it;
	const cJSON *sh, *fl;
	int n = 0;

	assert_true(billing__json_record_shape(list, &gadgets));
	sh = cJSON_GetArrayItem(list, 0);
	assert_string_equal(s_of(sh, "name"), "Gadget");
	tb_assert_rc(run(f, BILLING_RESOURCE_OP_CREATE, "{\"code\":\"G-1\"}"), BILLING_OK);
	/* the same members, in the same order */
	it = f->out->child;
	cJSON_ArrayForEach(fl, cJSON_GetObjectItemCaseSensitive(sh, "fields")) {
		assert_non_null(it);
		assert_string_equal(s_of(fl, "name"), it->string);
		it = it->next;
		n++;
	}
	assert_null(it);
	assert_int_equal(n, 13);
	cJSON_ArrayForEach(fl, cJSON_GetObjectItemCaseSensitive(sh, "fields")) {
		const char *name = s_of(fl, "name"), *type = s_of(fl, "type");
		if (strcmp(name, "object") == 0)
			assert_string_equal(type, "'gadget'");
		else if (strcmp(name, "kind") == 0)
			assert_string_equal(type, "'small' | 'large'");
		else if (strcmp(name, "dueAt") == 0)
			assert_string_equal(type, "time?");
		else if (strcmp(name, "label") == 0)
			assert_string_equal(type, "string?");
		else if (strcmp(name, "ratio") == 0)
			assert_string_equal(type, "string");
		else if (strcmp(name, "weight") == 0)
			assert_string_equal(type, "integer");
	}
	cJSON_Delete(list);
}

/* ------------------------------------------------------------ rules' additions */

static void json_record__named_filters_replace_the_derived_ones(void **state)
{
	fx *f = *state;
	field_spec *list = billing__json_rules_spec(&named_rules, BILLING_RESOURCE_OP_LIST);
	int i;

	assert_non_null(list);
	assert_string_equal(spec_field(list, "minWeight")->description, "lightest");
	assert_int_equal(spec_field(list, "maxWeight")->type, T_INTEGER);
	assert_int_equal(spec_field(list, "isEnabled")->type, T_BOOLEAN);
	assert_null(spec_field(list, "weightFrom"));
	assert_null(spec_field(list, "kind"));
	assert_null(spec_field(list, "enabled"));
	assert_non_null(spec_field(list, "startingAfter"));
	billing__free(list);

	for (i = 1; i <= 5; i++) {
		char body[120];
		snprintf(body, sizeof(body), "{\"code\":\"G-%d\",\"weight\":%d,\"enabled\":%s}", i,
			i * 10, i < 3 ? "true" : "false");
		tb_assert_rc(run(f, BILLING_RESOURCE_OP_CREATE, body), BILLING_OK);
	}
	/* both bounds inclusive */
	tb_assert_rc(run_rules(f, &named_rules, BILLING_RESOURCE_OP_LIST,
		"{\"minWeight\":20,\"maxWeight\":40}"), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->out, "data")), 3);
	tb_assert_rc(run_rules(f, &named_rules, BILLING_RESOURCE_OP_LIST,
		"{\"minWeight\":20,\"isEnabled\":false}"), BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f->out, "data")), 3);
	/* the rules' check of the filters together; a bad value names the filter */
	assert_invalid(run_rules(f, &named_rules, BILLING_RESOURCE_OP_LIST,
		"{\"minWeight\":50,\"maxWeight\":40}"), "minWeight");
	assert_invalid(run_rules(f, &named_rules, BILLING_RESOURCE_OP_LIST,
		"{\"maxWeight\":\"x\"}"), "maxWeight");
	/* the derived names are not filters of this list */
	assert_invalid(run_rules(f, &named_rules, BILLING_RESOURCE_OP_LIST,
		"{\"weightFrom\":20}"), "weightFrom");
}

static void json_record__decimal_shown_as_a_number(void **state)
{
	fx *f = *state;
	cJSON *list = cJSON_CreateArray();
	const cJSON *fl, *ratio;
	char *text;

	number_init();
	tb_assert_rc(run_rules(f, &number_rules, BILLING_RESOURCE_OP_CREATE,
		"{\"code\":\"N-1\",\"ratio\":\"0.0825\"}"), BILLING_OK);
	ratio = cJSON_GetObjectItemCaseSensitive(f->out, "ratio");
	assert_true(cJSON_IsRaw(ratio));
	assert_string_equal(ratio->valuestring, "0.0825");
	text = billing__jx_print(f->out);
	assert_non_null(strstr(text, "\"ratio\":0.0825,"));
	cJSON_free(text);
	/* exact both ways: a number literal in, trailing zeros dropped out */
	tb_assert_rc(run_rules(f, &number_rules, BILLING_RESOURCE_OP_CREATE,
		"{\"code\":\"N-2\",\"ratio\":0.20000}"), BILLING_OK);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(f->out, "ratio")->valuestring, "0.2");
	tb_assert_rc(run_rules(f, &number_rules, BILLING_RESOURCE_OP_CREATE,
		"{\"code\":\"N-3\"}"), BILLING_OK);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(f->out, "ratio")->valuestring, "0");
	assert_invalid(run_rules(f, &number_rules, BILLING_RESOURCE_OP_CREATE,
		"{\"code\":\"N-4\",\"ratio\":0.00001}"), "ratio");
	/* the catalog says so */
	assert_true(billing__json_record_shape(list, &number_gadgets));
	cJSON_ArrayForEach(fl, cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 0),
		"fields"))
		if (strcmp(s_of(fl, "name"), "ratio") == 0)
			assert_string_equal(s_of(fl, "type"), "number");
	cJSON_Delete(list);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_record__specs_follow_the_descriptor),
		T(json_record__create_reads_every_kind_exactly),
		T(json_record__bad_input_names_the_field_and_writes_nothing),
		T(json_record__update_changes_the_given_fields_only),
		T(json_record__lists_filter_range_search_and_page),
		T(json_record__shape_is_what_the_answers_write),
		T(json_record__named_filters_replace_the_derived_ones),
		T(json_record__decimal_shown_as_a_number),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
