/*
 * Unit tests for meter.c (issue #23): the meter's rules through the
 * generic JSON flow (meters.create / .get / .update / .list): every
 * aggregation, valueProperty required but for count and refused for it,
 * names of events and properties, filters, fixed fields, the default
 * active, roles, and that a refusal changes nothing. Both backends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include <cmocka.h>

#include "tb.h"

typedef tb_fx fx;

/* Runs op with json as who; the answer parsed (the caller deletes it). */
static cJSON *call(fx *f, const billing_principal *who, const char *op, const char *json,
	int want)
{
	char *out = NULL;
	cJSON *root;
	int rc = billing_call_json(&out, f->w->ctx, who, op, json, strlen(json), NULL);
	if (rc != want)
		fail_msg("%s %s: rc %d, want %d: %s", op, json, rc, want, out ? out : "");
	root = cJSON_Parse(out);
	billing_free(out);
	assert_non_null(root);
	return root;
}

static const char *s_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t meter_count(fx *f)
{
	cJSON *page = call(f, &f->admin, "meters.list", "{\"page\":1}", BILLING_OK);
	int64_t n = (int64_t)cJSON_GetObjectItemCaseSensitive(page, "total")->valuedouble;
	cJSON_Delete(page);
	return n;
}

/* A create refused with code want naming field; no meter written. */
static void refused(fx *f, const char *json, int want, const char *field)
{
	int64_t before = meter_count(f);
	cJSON *err = call(f, &f->admin, "meters.create", json, want);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(err, "error");
	char *text = cJSON_PrintUnformatted(err);
	assert_non_null(e);
	if (field && !strstr(text, field))
		fail_msg("%s: the error does not name %s: %s", json, field, text);
	cJSON_free(text);
	cJSON_Delete(err);
	assert_int_equal(meter_count(f), before);
}

static void create__every_aggregation_with_its_value_property(void **state)
{
	fx *f = *state;
	const char *ok[] = {
		"{\"eventName\":\"api.call\",\"aggregation\":\"count\"}",
		"{\"eventName\":\"storage_gb\",\"aggregation\":\"sum\",\"valueProperty\":\"gb\"}",
		"{\"eventName\":\"seats\",\"aggregation\":\"max\",\"valueProperty\":\"n\"}",
		"{\"eventName\":\"login\",\"aggregation\":\"uniqueCount\",\"valueProperty\":\"user\"}",
		"{\"eventName\":\"level:x\",\"aggregation\":\"last\",\"valueProperty\":\"v-1\"}",
	};
	const char *agg[] = { "count", "sum", "max", "uniqueCount", "last" };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cJSON *m = call(f, &f->admin, "meters.create", ok[i], BILLING_OK);
		cJSON *again;
		char path[128];
		assert_int_equal(strncmp(s_of(m, "id"), "mtr_", 4), 0);
		assert_string_equal(s_of(m, "aggregation"), agg[i]);
		assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "active")));
		if (i == 0)
			assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m,
				"valueProperty")));
		snprintf(path, sizeof(path), "{\"id\":\"%s\"}", s_of(m, "id"));
		again = call(f, &f->admin, "meters.get", path, BILLING_OK);
		assert_string_equal(s_of(again, "eventName"), s_of(m, "eventName"));
		assert_string_equal(s_of(again, "aggregation"), agg[i]);
		cJSON_Delete(again);
		cJSON_Delete(m);
	}
	assert_int_equal(meter_count(f), 5);
}

static void create__filters_are_kept_canonical(void **state)
{
	fx *f = *state;
	cJSON *m = call(f, &f->admin, "meters.create",
		"{\"eventName\":\"api.call\",\"aggregation\":\"count\","
		"\"filters\":{\"region\":\"eu\",\"method\":\"GET\"}}", BILLING_OK);
	const cJSON *filters = cJSON_GetObjectItemCaseSensitive(m, "filters");
	assert_string_equal(s_of(filters, "region"), "eu");
	assert_string_equal(s_of(filters, "method"), "GET");
	cJSON_Delete(m);
}

static void create__bad_input_names_the_field_and_changes_nothing(void **state)
{
	fx *f = *state;
	char long_name[160];

	memset(long_name, 'e', 101);
	long_name[101] = '\0';
	refused(f, "{\"aggregation\":\"count\"}", BILLING_EINVALID, "eventName");
	refused(f, "{\"eventName\":\"\",\"aggregation\":\"count\"}", BILLING_EINVALID, "eventName");
	refused(f, "{\"eventName\":\"api call\",\"aggregation\":\"count\"}", BILLING_EINVALID,
		"eventName");
	{
		char json[256];
		snprintf(json, sizeof(json), "{\"eventName\":\"%s\",\"aggregation\":\"count\"}",
			long_name);
		refused(f, json, BILLING_EINVALID, "eventName");
	}
	refused(f, "{\"eventName\":\"a\"}", BILLING_EINVALID, "aggregation");
	refused(f, "{\"eventName\":\"a\",\"aggregation\":\"avg\",\"valueProperty\":\"v\"}",
		BILLING_EINVALID, "aggregation");
	refused(f, "{\"eventName\":\"a\",\"aggregation\":\"sum\"}", BILLING_EINVALID,
		"valueProperty");
	refused(f, "{\"eventName\":\"a\",\"aggregation\":\"last\",\"valueProperty\":null}",
		BILLING_EINVALID, "valueProperty");
	refused(f, "{\"eventName\":\"a\",\"aggregation\":\"count\",\"valueProperty\":\"v\"}",
		BILLING_EINVALID, "valueProperty");
	refused(f, "{\"eventName\":\"a\",\"aggregation\":\"sum\",\"valueProperty\":\"a'b\"}",
		BILLING_EINVALID, "valueProperty");
	refused(f, "{\"eventName\":\"a\",\"aggregation\":\"count\",\"filters\":{\"r\":1}}",
		BILLING_EINVALID, "filters");
	refused(f, "{\"eventName\":\"a\",\"aggregation\":\"count\",\"filters\":{\"a b\":\"x\"}}",
		BILLING_EINVALID, "filters");
	refused(f, "{\"eventName\":\"a\",\"aggregation\":\"count\",\"unknown\":1}",
		BILLING_EINVALID, "unknown");
}

static void update__what_it_measures_is_fixed(void **state)
{
	fx *f = *state;
	cJSON *m = call(f, &f->admin, "meters.create",
		"{\"eventName\":\"api.call\",\"aggregation\":\"sum\",\"valueProperty\":\"n\"}",
		BILLING_OK);
	char json[256];
	cJSON *u, *err;

	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"active\":false,\"metadata\":{\"k\":\"v\"}}",
		s_of(m, "id"));
	u = call(f, &f->admin, "meters.update", json, BILLING_OK);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(u, "active")));
	assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(u, "version")->valuedouble, 2);
	cJSON_Delete(u);
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"eventName\":\"other\"}", s_of(m, "id"));
	err = call(f, &f->admin, "meters.update", json, BILLING_EINVALID);
	cJSON_Delete(err);
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"aggregation\":\"max\"}", s_of(m, "id"));
	err = call(f, &f->admin, "meters.update", json, BILLING_EINVALID);
	cJSON_Delete(err);
	cJSON_Delete(m);
}

static void roles__user_reads_admin_writes_other_tenant_sees_nothing(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->tenant);
	const char *other = tb_tenant(f->w, "Other");
	billing_principal stranger = tb_admin(other);
	cJSON *m, *r;
	char json[128];

	r = call(f, &user, "meters.create", "{\"eventName\":\"a\",\"aggregation\":\"count\"}",
		BILLING_EFORBIDDEN);
	cJSON_Delete(r);
	m = call(f, &f->admin, "meters.create", "{\"eventName\":\"a\",\"aggregation\":\"count\"}",
		BILLING_OK);
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", s_of(m, "id"));
	r = call(f, &user, "meters.get", json, BILLING_OK);
	cJSON_Delete(r);
	r = call(f, &stranger, "meters.get", json, BILLING_ENOTFOUND);
	cJSON_Delete(r);
	r = call(f, &f->admin, "events.list", "{\"type\":\"meter.created\"}", BILLING_OK);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "data")), 1);
	cJSON_Delete(r);
	cJSON_Delete(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create__every_aggregation_with_its_value_property,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(create__filters_are_kept_canonical, tb_fx_setup,
			tb_fx_teardown),
		cmocka_unit_test_setup_teardown(create__bad_input_names_the_field_and_changes_nothing,
			tb_fx_setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(update__what_it_measures_is_fixed, tb_fx_setup,
			tb_fx_teardown),
		cmocka_unit_test_setup_teardown(roles__user_reads_admin_writes_other_tenant_sees_nothing,
			tb_fx_setup, tb_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
