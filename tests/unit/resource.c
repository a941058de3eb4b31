/*
 * Unit tests for resource.c and record_json.c, the generic flow of a
 * descriptor object, on a table of the test's own ("widgets", made in
 * setup) whose descriptor uses every field kind: what the descriptor alone
 * refuses, the rules' hooks, hard and soft deletes, references, generic
 * list filters, the JSON writer, the operations a descriptor offers, and
 * out-of-memory at every allocation. Both backends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/json_exact.h"
#include "core/resource.h"
#include "core/resources.h"
#include "tb.h"

typedef tb_fx fx;

/* ------------------------------------------------------------ widgets */

typedef struct {
	const char *tenant_id;
	const char *id;
	const char *code;
	const char *label;
	int64_t ratio;          /* 10^-2 */
	int kind;
	int enabled;
	int32_t size;
	int status;
	const char *spec;
	const char *metadata_json;
	int64_t deleted_at;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
	const char *label_key;  /* the lower-cased label: lists sort "label" by it */
} widget;

enum { W_TENANT, W_ID, W_CODE, W_LABEL, W_RATIO, W_KIND, W_ENABLED, W_SIZE, W_STATUS, W_SPEC,
	W_METADATA, W_DELETED, W_CREATED, W_UPDATED, W_VERSION, W_LABEL_KEY, W_COUNT };

#define BIT(i) (UINT64_C(1) << (i))
#define CU (BILLING_API_CREATE | BILLING_API_UPDATE)
#define WF(col, type, member, flags, json, kind, api) \
	{ col, BILLING_FIELD_##type, offsetof(widget, member), flags, json, BILLING_JSON_##kind, \
	  api, NULL, 0, NULL }

static const char *const kinds[] = { "", "small", "large", NULL };
static const char *const statuses[] = { "draft", "live", "retired", NULL };

/* deleted_at is a plain field here: hard deletes. */
static const billing_field widget_fields[W_COUNT] = {
	[W_TENANT] = WF("tenant_id", TEXT, tenant_id, BILLING_FIELD_TENANT | BILLING_FIELD_FIXED,
		NULL, NONE, 0),
	[W_ID] = WF("id", TEXT, id, BILLING_FIELD_ID | BILLING_FIELD_FIXED, "id", STRING, 0),
	[W_CODE] = WF("code", TEXT, code, BILLING_FIELD_UNIQUE | BILLING_FIELD_FILTER |
		BILLING_FIELD_SORT | BILLING_FIELD_SEARCH | BILLING_FIELD_FIXED, "code", STRING,
		BILLING_API_CREATE | BILLING_API_REQUIRED),
	[W_LABEL] = WF("label", TEXT, label, 0, "label", STRING, CU | BILLING_API_NULLABLE),
	[W_RATIO] = { "ratio", BILLING_FIELD_INT64, offsetof(widget, ratio),
		BILLING_FIELD_RANGE | BILLING_FIELD_SORT, "ratio", BILLING_JSON_DECIMAL, CU, NULL, 2,
		NULL },
	[W_KIND] = { "kind", BILLING_FIELD_INT, offsetof(widget, kind), BILLING_FIELD_FILTER,
		"kind", BILLING_JSON_ENUM, CU, kinds, 0, NULL },
	[W_ENABLED] = WF("enabled", INT, enabled, BILLING_FIELD_FILTER, "enabled", BOOLEAN, CU),
	[W_SIZE] = WF("size", INT32, size, BILLING_FIELD_ZERO_NULL, "size", INTEGER, CU),
	[W_STATUS] = { "status", BILLING_FIELD_INT, offsetof(widget, status), BILLING_FIELD_FILTER,
		"status",
		BILLING_JSON_ENUM, CU, statuses, 0, NULL },
	[W_SPEC] = WF("spec", TEXT, spec, 0, "spec", OBJECT, CU | BILLING_API_NULLABLE),
	[W_METADATA] = WF("metadata", TEXT, metadata_json, 0, "metadata", METADATA, CU),
	[W_DELETED] = WF("deleted_at", INT64, deleted_at, BILLING_FIELD_ZERO_NULL, "deletedAt",
		TIME, 0),
	[W_CREATED] = WF("created_at", INT64, created_at, BILLING_FIELD_FIXED |
		BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt", TIME, 0),
	[W_UPDATED] = WF("updated_at", INT64, updated_at, 0, "updatedAt", TIME, 0),
	[W_VERSION] = WF("version", INT64, version, BILLING_FIELD_VERSION, "version", INTEGER, 0),
	[W_LABEL_KEY] = WF("label_key", TEXT, label_key, BILLING_FIELD_SORT, "label", NONE, 0),
};

static const billing_status_set widget_sets[] = {
	{ "open", (1u << 0) | (1u << 1) },
};

#define R_ALL ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_ADMIN (1u << BILLING_ROLE_ADMIN)

static const billing_resource widgets = {
	"widget", "widgets", "widgets", "Widget", "A test object.", "test_widgets", "wid",
	sizeof(widget), widget_fields, W_COUNT,
	&widget_fields[W_STATUS], widget_sets, 1, NULL, 3,
	BILLING_RESOURCE_OP_CRUD, R_ALL, R_ADMIN, 0, NULL, 0
};

/* The same table, deleted_at marking a soft delete. */
static billing_field soft_fields[W_COUNT];
static billing_resource soft_widgets;

/* Rules: code "BAD" is refused; a label "keep" may not be deleted; the
 * label's key (the flow's copy of a given label) is lower-cased. */
static int widget_check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	widget *w = rec;
	char *p;
	(void)ctx;
	(void)tx;
	(void)current;
	if ((given & BIT(W_LABEL)) && w->label_key)
		for (p = (char *)(uintptr_t)w->label_key; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	if ((given & BIT(W_CODE)) && strcmp(w->code, "BAD") == 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "code", "not that code");
	return BILLING_OK;
}

static int widget_before_delete(billing_ctx *ctx, billing_txn *tx, const void *current)
{
	const widget *w = current;
	(void)ctx;
	(void)tx;
	if (w->label && strcmp(w->label, "keep") == 0)
		return billing__error_set(BILLING_ECONFLICT, "kept", "this widget is kept");
	return BILLING_OK;
}

static const billing__rules rules = { &widgets, widget_check, widget_before_delete, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL };
static billing__rules soft_rules;
static const billing__rules bare_rules = { &widgets, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, NULL };

static int setup(void **state)
{
	fx *f;
	tb_fx_setup(state);
	f = *state;
	tb_raw_exec(f->w->owner_url,
		"CREATE TABLE test_widgets (tenant_id TEXT NOT NULL, id TEXT NOT NULL,"
		" code TEXT NOT NULL, label TEXT, ratio BIGINT NOT NULL, kind INTEGER NOT NULL,"
		" enabled INTEGER NOT NULL, size INTEGER, status INTEGER NOT NULL, spec TEXT,"
		" metadata TEXT NOT NULL, deleted_at BIGINT, created_at BIGINT NOT NULL,"
		" updated_at BIGINT NOT NULL, version BIGINT NOT NULL, label_key TEXT,"
		" CONSTRAINT test_widgets_pkey PRIMARY KEY (tenant_id, id),"
		" CONSTRAINT test_widgets_code_key UNIQUE (tenant_id, code))");
	tb_raw_exec(f->w->owner_url,
		"CREATE TABLE test_widget_parts (tenant_id TEXT NOT NULL, widget_id TEXT NOT NULL,"
		" FOREIGN KEY (tenant_id, widget_id) REFERENCES test_widgets (tenant_id, id))");
	if (strcmp(tb_backend(), "postgres") == 0)
		tb_raw_exec(f->w->owner_url, "GRANT SELECT, INSERT, UPDATE, DELETE ON test_widgets,"
			" test_widget_parts TO PUBLIC");
	memcpy(soft_fields, widget_fields, sizeof(soft_fields));
	soft_fields[W_DELETED].flags |= BILLING_FIELD_DELETED;
	soft_widgets = widgets;
	soft_widgets.fields = soft_fields;
	soft_widgets.status = &soft_fields[W_STATUS];
	soft_rules = rules;
	soft_rules.res = &soft_widgets;
	return 0;
}

static widget a_widget(const char *code)
{
	widget w;
	memset(&w, 0, sizeof(w));
	w.code = code;
	w.ratio = 1250;
	w.kind = 1;
	w.enabled = 1;
	return w;
}

#define GIVEN_NEW (BIT(W_CODE) | BIT(W_RATIO) | BIT(W_KIND) | BIT(W_ENABLED))

static widget *create_ok(fx *f, const billing__rules *r, const widget *w, uint64_t given)
{
	void *out = NULL;
	tb_assert_rc(billing__resource_create(&out, r, f->w->ctx, &f->admin, w, given, NULL),
		BILLING_OK);
	assert_non_null(out);
	return out;
}

static int64_t rows(fx *f)
{
	return tb_raw_count(f->w->owner_url, "SELECT count(*) FROM test_widgets");
}

/* ------------------------------------------------------------ JSON */

static char *json_of(const billing_resource *res, const void *rec)
{
	cJSON *j = billing__record_json(res, rec);
	char *s;
	assert_non_null(j);
	s = billing__jx_print(j);       /* integers exactly, as answers print them */
	cJSON_Delete(j);
	return s;
}

static void record_json__shows_every_kind_exactly(void **state)
{
	widget w = a_widget("W-1");
	char *s;
	(void)state;

	w.tenant_id = "ten_x";
	w.id = "wid_1";
	w.label = NULL;
	w.ratio = -5;                      /* -0.05 */
	w.kind = 2;
	w.enabled = 0;
	w.size = 0;                        /* ZERO_NULL */
	w.status = 1;
	w.spec = "{\"n\":12345678901234567890}";
	w.metadata_json = NULL;
	w.created_at = 1767225600;
	w.updated_at = 1767225601;
	w.version = 3;
	s = json_of(&widgets, &w);
	assert_string_equal(s, "{\"id\":\"wid_1\",\"object\":\"widget\",\"code\":\"W-1\","
		"\"label\":null,\"ratio\":\"-0.05\",\"kind\":\"large\",\"enabled\":false,"
		"\"size\":null,\"status\":\"live\",\"spec\":{\"n\":12345678901234567890},"
		"\"metadata\":{},\"deletedAt\":null,\"createdAt\":\"2026-01-01T00:00:00Z\","
		"\"updatedAt\":\"2026-01-01T00:00:01Z\",\"version\":3}");
	cJSON_free(s);

	w.ratio = 120000;                  /* whole: "1200" */
	w.kind = 7;                        /* no such name: null */
	w.size = 4;
	w.spec = "not json";               /* not written by the flow: null */
	w.metadata_json = "{\"a\":\"b\"}";
	w.label = "L";
	s = json_of(&widgets, &w);
	assert_non_null(strstr(s, "\"ratio\":\"1200\""));
	assert_non_null(strstr(s, "\"kind\":null"));
	assert_non_null(strstr(s, "\"size\":4"));
	assert_non_null(strstr(s, "\"spec\":null"));
	assert_non_null(strstr(s, "\"metadata\":{\"a\":\"b\"}"));
	assert_non_null(strstr(s, "\"label\":\"L\""));
	cJSON_free(s);

	w.ratio = 7;                       /* 0.07 */
	w.spec = NULL;
	s = json_of(&widgets, &w);
	assert_non_null(strstr(s, "\"ratio\":\"0.07\""));
	assert_non_null(strstr(s, "\"spec\":null"));
	cJSON_free(s);
	w.ratio = 150;                     /* 1.5, no trailing zero */
	s = json_of(&widgets, &w);
	assert_non_null(strstr(s, "\"ratio\":\"1.5\""));
	cJSON_free(s);
}

/* The typed API's name of value v, one signature for all. */
static const char *interval_name(int v) { return billing_interval_name((billing_interval)v); }
static const char *role_name(int v) { return billing_role_name((billing_role)v); }
static const char *sub_status(int v)
{
	return billing_subscription_status_name((billing_subscription_status)v);
}
static const char *invoice_status(int v)
{
	return billing_invoice_status_name((billing_invoice_status)v);
}
static const char *payment_status(int v)
{
	return billing_payment_status_name((billing_payment_status)v);
}
static const char *delivery_status(int v)
{
	return billing_delivery_status_name((billing_delivery_status)v);
}

/* Every ENUM field of the stored objects' descriptors names its values
 * as the typed API and the hand-written answers do, so that the record's
 * JSON (events, the generic flow) shows "MONTH", not null. */
static void record_json__enum_fields_name_their_values(void **state)
{
	static const struct {
		const billing_resource *res;
		const char *column;
		const char *(*name)(int);
		int last;
	} enums[] = {
		{ &billing__res_plan, "billing_interval", interval_name, BILLING_YEAR },
		{ &billing__res_user, "role", role_name, BILLING_ROLE_PLATFORM },
		{ &billing__res_audit, "role", role_name, BILLING_ROLE_PLATFORM },
		{ &billing__res_subscription, "status", sub_status, BILLING_SUB_INCOMPLETE_EXPIRED },
		{ &billing__res_invoice, "status", invoice_status, BILLING_INVOICE_UNCOLLECTIBLE },
		{ &billing__res_payment, "status", payment_status, BILLING_PAYMENT_CANCELED },
		{ &billing__res_delivery, "status", delivery_status, BILLING_DELIVERY_DEAD },
	};
	billing_plan_record plan;
	cJSON *json;
	size_t i;
	int v;
	(void)state;

	for (i = 0; i < sizeof(enums) / sizeof(enums[0]); i++) {
		const billing_field *f = billing_resource_field(enums[i].res, enums[i].column);
		assert_non_null(f);
		assert_int_equal(f->json_kind, BILLING_JSON_ENUM);
		assert_non_null(f->names);
		/* value 0 is none: no name */
		assert_string_equal(f->names[0], "");
		for (v = 1; v <= enums[i].last; v++) {
			assert_non_null(f->names[v]);
			assert_string_equal(f->names[v], enums[i].name(v));
		}
		assert_null(f->names[enums[i].last + 1]);
	}

	memset(&plan, 0, sizeof(plan));
	plan.tenant_id = "ten_1";
	plan.id = "plan_1";
	plan.product_id = "prod_1";
	plan.code = "GOLD";
	plan.name = "Gold";
	plan.currency = "EUR";
	plan.interval = BILLING_MONTH;
	plan.metadata_json = "{}";
	json = billing__record_json(&billing__res_plan, &plan);
	assert_non_null(json);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json,
		"interval")), "MONTH");
	cJSON_Delete(json);
}

static void registry__finds_tax_rates_by_plural_or_path(void **state)
{
	size_t n = 0;
	const billing__rules *const *all = billing__rules_all(&n);
	(void)state;
	assert_true(n >= 1);
	assert_non_null(billing__rules_find("tax_rates"));
	assert_ptr_equal(billing__rules_find("tax-rates"), billing__rules_find("tax_rates"));
	assert_ptr_equal(all[0], billing__rules_find("tax_rates"));
	assert_null(billing__rules_find("widgets"));
	assert_null(billing__rules_find(NULL));
	assert_ptr_equal(billing__field_by_json(&widgets, "ratio"), &widget_fields[W_RATIO]);
	assert_null(billing__field_by_json(&widgets, "tenant_id"));
	assert_null(billing__field_by_json(&widgets, NULL));
	assert_null(billing__field_with(&widgets, BILLING_FIELD_DELETED));
	assert_null(billing__record_text(NULL, &widgets));
	assert_int_equal(billing__record_int(NULL, &widgets), 0);
}

/* ------------------------------------------------------------ the flow */

static void crud__round_trip_with_events_and_audit(void **state)
{
	fx *f = *state;
	widget w = a_widget("W-1"), u;
	widget *c, *got = NULL, *v = NULL;
	billing_event_list_params ep = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	w.spec = "{ \"b\": 1, \"a\": [1, 2] }";
	w.size = 3;
	c = create_ok(f, &rules, &w, GIVEN_NEW | BIT(W_SPEC) | BIT(W_SIZE));
	assert_int_equal(strncmp(c->id, "wid_", 4), 0);
	assert_string_equal(c->tenant_id, f->tenant);
	assert_string_equal(c->spec, "{\"b\":1,\"a\":[1,2]}");   /* canonical */
	assert_string_equal(c->metadata_json, "{}");
	assert_int_equal(c->version, 1);
	assert_int_equal(c->size, 3);

	tb_assert_rc(billing__resource_get((void **)&got, &rules, f->w->ctx, &f->admin, c->id),
		BILLING_OK);
	assert_string_equal(got->code, "W-1");
	assert_int_equal(got->ratio, 1250);
	assert_string_equal(got->spec, "{\"b\":1,\"a\":[1,2]}");
	billing__free(got);

	memset(&u, 0, sizeof(u));
	u.label = "new";
	u.size = 0;
	f->w->now += 10;
	tb_assert_rc(billing__resource_update((void **)&v, &rules, f->w->ctx, &f->admin, c->id, &u,
		BIT(W_LABEL) | BIT(W_SIZE), 1, NULL), BILLING_OK);
	assert_string_equal(v->label, "new");
	assert_int_equal(v->size, 0);
	assert_string_equal(v->code, "W-1");
	assert_int_equal(v->version, 2);
	assert_int_equal(v->updated_at, f->w->now);
	billing__free(v);

	tb_assert_rc(billing__resource_delete(&rules, f->w->ctx, &f->admin, c->id, 2), BILLING_OK);
	assert_int_equal(rows(f), 0);
	tb_assert_rc(billing__resource_get((void **)&got, &rules, f->w->ctx, &f->admin, c->id),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing__resource_delete(&rules, f->w->ctx, &f->admin, c->id, 0),
		BILLING_ENOTFOUND);

	ep.type = "widget.deleted";
	tb_assert_rc(billing_event_list(&page, f->w->ctx, &f->admin, &ep), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_event_resource_type(billing_page_event(page, 0)), "widget");
	assert_string_equal(billing_event_resource_id(billing_page_event(page, 0)), c->id);
	assert_non_null(strstr(billing_event_data_json(billing_page_event(page, 0)),
		"\"label\":\"new\""));
	billing_page_free(page);
	page = NULL;
	{
		billing_list_params lp = BILLING_LIST_PARAMS_INIT;
		size_t i, deletes = 0, updates = 0;
		tb_assert_rc(billing_audit_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
		for (i = 0; i < billing_page_count(page); i++) {
			const char *op = billing_audit_entry_operation(billing_page_audit_entry(page, i));
			deletes += strcmp(op, "widgets.delete") == 0;
			updates += strcmp(op, "widgets.update") == 0;
		}
		assert_int_equal(deletes, 1);
		assert_int_equal(updates, 1);
		billing_page_free(page);
	}
	billing__free(c);
}

static void create_refused(fx *f, const widget *w, uint64_t given, int want, const char *field)
{
	void *out = NULL;
	int64_t before = rows(f);
	tb_assert_rc(billing__resource_create(&out, &rules, f->w->ctx, &f->admin, w, given, NULL),
		want);
	if (field)
		tb_assert_field(field);
	assert_null(out);
	assert_int_equal(rows(f), before);
}

static void create__what_the_descriptor_refuses(void **state)
{
	fx *f = *state;
	widget w = a_widget("W-1");
	widget *kept;

	create_refused(f, &w, GIVEN_NEW & ~BIT(W_CODE), BILLING_EINVALID, "code");
	create_refused(f, &w, GIVEN_NEW | BIT(W_CREATED), BILLING_EINVALID, "createdAt");
	create_refused(f, &w, GIVEN_NEW | BIT(W_ID), BILLING_EINVALID, "id");
	create_refused(f, &w, GIVEN_NEW | BIT(W_COUNT), BILLING_EINVALID, "fields");
	create_refused(f, NULL, GIVEN_NEW, BILLING_EINVALID, "record");
	w.code = NULL;
	create_refused(f, &w, GIVEN_NEW, BILLING_EINVALID, "code");
	w = a_widget("W-1");
	w.enabled = 2;
	create_refused(f, &w, GIVEN_NEW, BILLING_EINVALID, "enabled");
	w = a_widget("W-1");
	w.kind = 0;                        /* "" is no value */
	create_refused(f, &w, GIVEN_NEW, BILLING_EINVALID, "kind");
	w.kind = 3;
	create_refused(f, &w, GIVEN_NEW, BILLING_EINVALID, "kind");
	w.kind = -1;
	create_refused(f, &w, GIVEN_NEW, BILLING_EINVALID, "kind");
	w = a_widget("W-1");
	w.metadata_json = "[1]";
	create_refused(f, &w, GIVEN_NEW | BIT(W_METADATA), BILLING_EINVALID, "metadata");
	w.metadata_json = "{\"a\":1}";
	create_refused(f, &w, GIVEN_NEW | BIT(W_METADATA), BILLING_EINVALID, "metadata");
	w.metadata_json = NULL;
	create_refused(f, &w, GIVEN_NEW | BIT(W_METADATA), BILLING_EINVALID, "metadata");
	w = a_widget("W-1");
	w.spec = "[]";
	create_refused(f, &w, GIVEN_NEW | BIT(W_SPEC), BILLING_EINVALID, "spec");
	w.spec = "{\"a\":1,\"a\":2}";
	create_refused(f, &w, GIVEN_NEW | BIT(W_SPEC), BILLING_EINVALID, "spec");
	/* The rules' own check. */
	w = a_widget("BAD");
	create_refused(f, &w, GIVEN_NEW, BILLING_EINVALID, "code");
	/* A unique field taken is named. */
	w = a_widget("W-1");
	kept = create_ok(f, &rules, &w, GIVEN_NEW);
	create_refused(f, &w, GIVEN_NEW, BILLING_EEXISTS, "code");
	/* Metadata is made canonical. */
	w = a_widget("W-2");
	w.metadata_json = "{ \"z\": \"1\", \"a\": \"2\" }";
	billing__free(kept);
	kept = create_ok(f, &bare_rules, &w, GIVEN_NEW | BIT(W_METADATA));
	assert_string_equal(kept->metadata_json, "{\"a\":\"2\",\"z\":\"1\"}");
	billing__free(kept);
}

/* Whether the thread's error names field among its field errors. */
static bool names_field(const char *field)
{
	const billing_error *e = billing_error_last();
	size_t i;
	for (i = 0; i < e->field_error_count; i++)
		if (strcmp(e->field_errors[i].field, field) == 0)
			return true;
	return false;
}

/* The descriptor's refusals and the rules' own come in one answer, and
 * the rules never see a field the descriptor refused as given. */
static void create__one_answer_names_every_bad_field(void **state)
{
	fx *f = *state;
	widget w = a_widget("BAD");

	w.kind = 3;
	w.enabled = 7;
	create_refused(f, &w, GIVEN_NEW, BILLING_EINVALID, NULL);
	assert_int_equal(billing_error_last()->field_error_count, 3);
	assert_true(names_field("kind"));
	assert_true(names_field("enabled"));
	assert_true(names_field("code"));
	/* A field the create does not take and the rules' refusal: both named. */
	w = a_widget("BAD");
	create_refused(f, &w, GIVEN_NEW | BIT(W_CREATED), BILLING_EINVALID, NULL);
	assert_int_equal(billing_error_last()->field_error_count, 2);
	assert_true(names_field("createdAt"));
	assert_true(names_field("code"));
	/* A refused code is not handed to the rules (they would read NULL). */
	w.code = NULL;
	create_refused(f, &w, GIVEN_NEW, BILLING_EINVALID, "code");
	assert_int_equal(billing_error_last()->field_error_count, 1);
}

static void update_refused(fx *f, const widget *c, const widget *u, uint64_t given,
	int64_t expected, int want, const char *field)
{
	widget *v = NULL, *again = NULL;
	tb_assert_rc(billing__resource_update((void **)&v, &rules, f->w->ctx, &f->admin, c->id, u,
		given, expected, NULL), want);
	if (field)
		tb_assert_field(field);
	assert_null(v);
	tb_assert_rc(billing__resource_get((void **)&again, &rules, f->w->ctx, &f->admin, c->id),
		BILLING_OK);
	assert_int_equal(again->version, c->version);
	assert_int_equal(again->ratio, c->ratio);
	billing__free(again);
}

static void update__what_the_descriptor_and_rules_refuse(void **state)
{
	fx *f = *state;
	widget w = a_widget("W-1"), u;
	widget *c = create_ok(f, &rules, &w, GIVEN_NEW);
	void *out = NULL;

	memset(&u, 0, sizeof(u));
	u.ratio = 99;
	update_refused(f, c, &u, 0, 0, BILLING_EINVALID, "fields");
	update_refused(f, c, &u, BIT(W_CODE), 0, BILLING_EINVALID, "code");      /* create only */
	update_refused(f, c, &u, BIT(W_VERSION), 0, BILLING_EINVALID, "version");
	update_refused(f, c, &u, BIT(W_RATIO), 5, BILLING_ESTALE, "expectedVersion");
	update_refused(f, c, &u, BIT(W_RATIO), -1, BILLING_EINVALID, "expectedVersion");
	u.enabled = 5;
	update_refused(f, c, &u, BIT(W_ENABLED), 0, BILLING_EINVALID, "enabled");
	tb_assert_rc(billing__resource_update(&out, &rules, f->w->ctx, &f->admin, "wid_nope", &u,
		BIT(W_RATIO), 0, NULL), BILLING_ENOTFOUND);
	tb_assert_rc(billing__resource_update(&out, &rules, f->w->ctx, &f->admin,
		"wid_00000000000000000000000000", &u, BIT(W_RATIO), 0, NULL), BILLING_ENOTFOUND);
	assert_null(out);
	billing__free(c);
}

/* An update's extra inputs: the hook sees their values in the update's
 * transaction (none given: NULLs), one of them alone is an update, they
 * are part of the idempotency input, and the hook's refusal changes
 * nothing. */
static const billing__rules_extra note_extras[] = {
	{ "note", "a note the hook checks" }, { "other", "another" }, { NULL, NULL }
};
static char seen_note[32];
static int seen_calls;

static int note_hook(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	const char *const *values, char **keep)
{
	const widget *w = rec;
	(void)ctx;
	(void)tx;
	(void)keep;
	seen_calls++;
	assert_int_equal(w->version, ((const widget *)current)->version + 1);
	snprintf(seen_note, sizeof(seen_note), "%s", values[0] ? values[0] : "(none)");
	if (values[1])
		return billing__error_field(BILLING_EINVALID, "invalid", "other", "not that");
	return BILLING_OK;
}

static void update__extras_reach_the_hook_in_the_transaction(void **state)
{
	fx *f = *state;
	billing__rules r = rules;
	widget w = a_widget("W-1"), u;
	widget *c = create_ok(f, &rules, &w, GIVEN_NEW), *v = NULL;
	const char *values[BILLING__EXTRAS_MAX] = { "hello", NULL };
	billing_call_options opts = BILLING_CALL_OPTIONS_INIT;

	r.update_extras = note_extras;
	r.update_extra = note_hook;
	memset(&u, 0, sizeof(u));
	seen_calls = 0;
	/* A note alone is an update; the plain call passes none. */
	tb_assert_rc(billing__resource_update_extra((void **)&v, &r, f->w->ctx, &f->admin, c->id,
		&u, 0, 0, values, NULL), BILLING_OK);
	assert_string_equal(seen_note, "hello");
	assert_int_equal(v->version, c->version + 1);
	billing__free(v);
	v = NULL;
	u.ratio = 7;
	tb_assert_rc(billing__resource_update((void **)&v, &r, f->w->ctx, &f->admin, c->id, &u,
		BIT(W_RATIO), 0, NULL), BILLING_OK);
	assert_string_equal(seen_note, "(none)");
	billing__free(v);
	v = NULL;
	tb_assert_rc(billing__resource_update((void **)&v, &r, f->w->ctx, &f->admin, c->id, &u,
		0, 0, NULL), BILLING_EINVALID);
	tb_assert_field("fields");
	assert_int_equal(seen_calls, 2);
	/* The hook's refusal rolls the fields back too. */
	values[1] = "no";
	u.ratio = 8;
	tb_assert_rc(billing__resource_update_extra((void **)&v, &r, f->w->ctx, &f->admin, c->id,
		&u, BIT(W_RATIO), 0, values, NULL), BILLING_EINVALID);
	tb_assert_field("other");
	tb_assert_rc(billing__resource_get((void **)&v, &r, f->w->ctx, &f->admin, c->id),
		BILLING_OK);
	assert_int_equal(v->ratio, 7);
	billing__free(v);
	v = NULL;
	/* A key replayed with another note is a mismatch. */
	values[1] = NULL;
	opts.idempotency_key = "note-1";
	tb_assert_rc(billing__resource_update_extra((void **)&v, &r, f->w->ctx, &f->admin, c->id,
		&u, 0, 0, values, &opts), BILLING_OK);
	billing__free(v);
	v = NULL;
	values[0] = "changed";
	tb_assert_rc(billing__resource_update_extra((void **)&v, &r, f->w->ctx, &f->admin, c->id,
		&u, 0, 0, values, &opts), BILLING_ECONFLICT);
	assert_null(v);
	billing__free(c);
}

static void delete__hooks_references_versions_tenants_and_roles(void **state)
{
	fx *f = *state;
	widget w = a_widget("W-1");
	widget *kept, *ref, *plain;
	billing_principal user = tb_user(f->tenant);
	billing_principal other = tb_admin(tb_tenant(f->w, "Globex"));
	char sql[256];

	w.label = "keep";
	kept = create_ok(f, &rules, &w, GIVEN_NEW | BIT(W_LABEL));
	tb_assert_rc(billing__resource_delete(&rules, f->w->ctx, &f->admin, kept->id, 0),
		BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "kept");

	w = a_widget("W-2");
	ref = create_ok(f, &rules, &w, GIVEN_NEW);
	snprintf(sql, sizeof(sql), "INSERT INTO test_widget_parts VALUES ('%s', '%s')",
		f->tenant, ref->id);
	tb_raw_exec(f->w->owner_url, sql);
	tb_assert_rc(billing__resource_delete(&rules, f->w->ctx, &f->admin, ref->id, 0),
		BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "referenced");

	w = a_widget("W-3");
	plain = create_ok(f, &rules, &w, GIVEN_NEW);
	tb_assert_rc(billing__resource_delete(&rules, f->w->ctx, &f->admin, plain->id, 2),
		BILLING_ESTALE);
	tb_assert_rc(billing__resource_delete(&rules, f->w->ctx, &f->admin, plain->id, -1),
		BILLING_EINVALID);
	tb_assert_rc(billing__resource_delete(&rules, f->w->ctx, &other, plain->id, 0),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing__resource_delete(&rules, f->w->ctx, &user, plain->id, 0),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing__resource_delete(&rules, f->w->ctx, &f->admin, "nope", 0),
		BILLING_ENOTFOUND);
	assert_int_equal(rows(f), 3);
	tb_assert_rc(billing__resource_delete(&bare_rules, f->w->ctx, &f->admin, plain->id, 1),
		BILLING_OK);
	assert_int_equal(rows(f), 2);
	billing__free(kept);
	billing__free(ref);
	billing__free(plain);
}

static void delete__soft_keeps_the_row_but_finds_it_nowhere(void **state)
{
	fx *f = *state;
	widget w = a_widget("W-1");
	widget *c = create_ok(f, &soft_rules, &w, GIVEN_NEW), *got = NULL;
	billing_page *page = NULL;

	w = a_widget("W-2");
	billing__free(create_ok(f, &soft_rules, &w, GIVEN_NEW));
	f->w->now += 7;
	tb_assert_rc(billing__resource_delete(&soft_rules, f->w->ctx, &f->admin, c->id, 1),
		BILLING_OK);
	assert_int_equal(rows(f), 2);
	assert_int_equal(tb_raw_count(f->w->owner_url,
		"SELECT count(*) FROM test_widgets WHERE deleted_at IS NOT NULL AND version = 2"), 1);
	tb_assert_rc(billing__resource_get((void **)&got, &soft_rules, f->w->ctx, &f->admin,
		c->id), BILLING_ENOTFOUND);
	tb_assert_rc(billing__resource_delete(&soft_rules, f->w->ctx, &f->admin, c->id, 0),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing__resource_list(&page, &soft_rules, f->w->ctx, &f->admin, NULL, NULL,
		0), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(((const widget *)billing__resource_page_item(page, &soft_widgets,
		0))->code, "W-2");
	/* Items are checked against the descriptor asked for. */
	assert_null(billing__resource_page_item(page, &widgets, 0));
	assert_null(billing__resource_page_item(page, &soft_widgets, 1));
	assert_null(billing__resource_page_item(NULL, &soft_widgets, 0));
	billing_page_free(page);
	billing__free(c);
}

/* ------------------------------------------------------------ public objects */

/* A public widget: the record, then what a typed API decodes. */
typedef struct {
	widget w;
	char *note;              /* made by init: "<code>!" */
	int inits;
} public_widget;

static int init_calls;

static void public_free(void *obj)
{
	public_widget *p = obj;
	if (p)
		free(p->note);
	billing__free(p);
}

/* Decodes a public widget; refuses the third one it sees (init_calls). */
static int public_init(void *obj)
{
	public_widget *p = obj;
	assert_null(p->note);            /* the members past the record start zeroed */
	assert_int_equal(p->inits, 0);
	p->inits++;
	if ((p->note = malloc(strlen(p->w.code) + 2)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	sprintf(p->note, "%s!", p->w.code);
	if (++init_calls == 3)
		return billing__error_set(BILLING_EINVALID, "bad", "the third");
	return BILLING_OK;
}

static void publish__records_become_public_objects(void **state)
{
	fx *f = *state;
	widget w = a_widget("W-1");
	public_widget *p;
	billing_page *page = NULL;
	void *obj;
	int i;

	/* one object: the record copied in front, its strings still good */
	obj = create_ok(f, &rules, &w, GIVEN_NEW);
	init_calls = 0;
	tb_assert_rc(billing__record_publish(&obj, &widgets, sizeof(public_widget), public_init,
		public_free), BILLING_OK);
	p = obj;
	assert_string_equal(p->w.code, "W-1");
	assert_string_equal(p->note, "W-1!");
	assert_int_equal(p->w.ratio, w.ratio);
	public_free(p);

	/* a page: every item, then freed by the page */
	for (i = 2; i <= 4; i++) {
		char code[8];
		snprintf(code, sizeof(code), "W-%d", i);
		w = a_widget(code);
		billing__free(create_ok(f, &rules, &w, GIVEN_NEW));
	}
	tb_assert_rc(billing__resource_list(&page, &rules, f->w->ctx, &f->admin, NULL, NULL, 0),
		BILLING_OK);
	init_calls = -10;
	tb_assert_rc(billing__page_publish(page, &widgets, sizeof(public_widget), public_init,
		public_free), BILLING_OK);
	assert_int_equal(billing_page_count(page), 4);
	p = (public_widget *)billing__resource_page_item(page, &widgets, 3);
	assert_string_equal(p->note, "W-4!");
	billing_page_free(page);

	/* a failure part way: the page holds nothing, nothing leaks */
	tb_assert_rc(billing__resource_list(&page, &rules, f->w->ctx, &f->admin, NULL, NULL, 0),
		BILLING_OK);
	init_calls = 0;
	assert_int_equal(billing__page_publish(page, &widgets, sizeof(public_widget),
		public_init, public_free), BILLING_EINVALID);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	/* and for one object: NULL, the record freed */
	w = a_widget("W-9");
	obj = create_ok(f, &rules, &w, GIVEN_NEW);
	init_calls = 2;
	assert_int_equal(billing__record_publish(&obj, &widgets, sizeof(public_widget),
		public_init, public_free), BILLING_EINVALID);
	assert_null(obj);
}

/* ------------------------------------------------------------ lists */

static size_t count_where(fx *f, const billing_filter *flt, size_t n)
{
	billing_page *page = NULL;
	size_t count;
	tb_assert_rc(billing__resource_list(&page, &rules, f->w->ctx, &f->admin, NULL, flt, n),
		BILLING_OK);
	count = billing_page_count(page);
	billing_page_free(page);
	return count;
}

static void list_refused(fx *f, const billing_filter *flt, size_t n,
	const billing_list_params *lp, const char *field)
{
	billing_page *page = NULL;
	tb_assert_rc(billing__resource_list(&page, &rules, f->w->ctx, &f->admin, lp, flt, n),
		BILLING_EINVALID);
	tb_assert_field(field);
	assert_null(page);
}

static void list__generic_filters_and_their_checks(void **state)
{
	fx *f = *state;
	static const int status[] = { 0, 1, 2, 1 };
	billing_filter flt[2];
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	size_t i;

	for (i = 0; i < 4; i++) {
		char code[8];
		widget w;
		snprintf(code, sizeof(code), "W-%zu", i);
		w = a_widget(code);
		w.status = status[i];
		w.ratio = (int64_t)i * 100;
		w.kind = i % 2 ? 2 : 1;
		w.enabled = i < 2;
		billing__free(create_ok(f, &rules, &w, GIVEN_NEW | BIT(W_STATUS)));
	}
	memset(flt, 0, sizeof(flt));
	flt[0].field = &widget_fields[W_STATUS];
	flt[0].op = BILLING_FILTER_IN_SET;
	flt[0].set = &widget_sets[0];
	assert_int_equal(count_where(f, flt, 1), 3);
	flt[0].op = BILLING_FILTER_NOT_IN_SET;
	assert_int_equal(count_where(f, flt, 1), 1);
	flt[0].field = &widget_fields[W_RATIO];
	flt[0].op = BILLING_FILTER_GE;
	flt[0].num = 100;
	flt[1].field = &widget_fields[W_RATIO];
	flt[1].op = BILLING_FILTER_LT;
	flt[1].num = 300;
	assert_int_equal(count_where(f, flt, 2), 2);
	flt[1].field = &widget_fields[W_KIND];
	flt[1].op = BILLING_FILTER_EQ;
	flt[1].num = 2;
	assert_int_equal(count_where(f, flt, 2), 2);      /* 1 and 3 */
	flt[0].field = &widget_fields[W_ENABLED];
	flt[0].op = BILLING_FILTER_EQ;
	flt[0].num = 1;
	assert_int_equal(count_where(f, flt, 2), 1);      /* 1 */
	flt[0].field = &widget_fields[W_CODE];
	flt[0].text = "W-3";
	assert_int_equal(count_where(f, flt, 2), 1);
	flt[0].op = BILLING_FILTER_LE;
	flt[0].num = 1;
	flt[1].field = &widget_fields[W_RATIO];
	flt[1].op = BILLING_FILTER_LE;
	flt[1].num = 100;
	assert_int_equal(count_where(f, flt + 1, 1), 2);
	flt[1].op = BILLING_FILTER_GT;
	assert_int_equal(count_where(f, flt + 1, 1), 2);

	/* What the descriptor does not allow. */
	list_refused(f, flt, 1, NULL, "code");                  /* range on text */
	flt[0].op = BILLING_FILTER_EQ;
	flt[0].text = NULL;
	list_refused(f, flt, 1, NULL, "code");                  /* null text */
	flt[0].field = &widget_fields[W_LABEL];
	flt[0].text = "x";
	list_refused(f, flt, 1, NULL, "label");                 /* not a filter */
	flt[0].field = &widget_fields[W_ENABLED];
	flt[0].num = 2;
	list_refused(f, flt, 1, NULL, "enabled");
	flt[0].field = &widget_fields[W_KIND];
	flt[0].num = 9;
	list_refused(f, flt, 1, NULL, "kind");
	flt[0].field = &widget_fields[W_STATUS];
	flt[0].op = BILLING_FILTER_IN_SET;
	flt[0].set = NULL;
	list_refused(f, flt, 1, NULL, "status");
	flt[0].field = &widget_fields[W_KIND];
	flt[0].set = &widget_sets[0];
	list_refused(f, flt, 1, NULL, "kind");                  /* not the status */
	flt[0].field = &widget_fields[W_LABEL];
	flt[0].op = (billing_filter_op)99;
	list_refused(f, flt, 1, NULL, "label");
	flt[0].field = &soft_fields[W_CODE];                    /* another descriptor's */
	flt[0].op = BILLING_FILTER_EQ;
	list_refused(f, flt, 1, NULL, "filters");
	flt[0].field = NULL;
	list_refused(f, flt, 1, NULL, "filters");
	list_refused(f, NULL, 1, NULL, "filters");
	lp.sort_by = "spec";
	list_refused(f, NULL, 0, &lp, "sortBy");

	/* Sorts by JSON name, search over SEARCH fields. */
	lp.sort_by = "ratio";
	lp.order = BILLING_ORDER_DESC;
	lp.search = "w-2";
	{
		billing_page *page = NULL;
		tb_assert_rc(billing__resource_list(&page, &rules, f->w->ctx, &f->admin, &lp, NULL,
			0), BILLING_OK);
		assert_int_equal(billing_page_count(page), 1);
		billing_page_free(page);
	}
}

/* The labels of a page, in its order, joined by spaces. */
static void page_labels(char *out, size_t size, const billing_page *page)
{
	size_t i, n = 0;
	out[0] = '\0';
	for (i = 0; i < billing_page_count(page); i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? " " : "",
			((const widget *)billing__resource_page_item(page, &widgets, i))->label);
}

/* A key (sys/resource.h): the flow fills it from its field, the rules
 * normalize it, lists sort the field's JSON name by it, and neither the
 * JSON nor the inputs know it. */
static void list__sorts_a_field_by_its_key(void **state)
{
	fx *f = *state;
	static const char *const labels[] = { "b", "C", "a" };
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	widget *c[3], *v = NULL, u;
	char got[64];
	cJSON *j;
	size_t i;

	for (i = 0; i < 3; i++) {
		char code[8];
		widget w;
		snprintf(code, sizeof(code), "K-%zu", i);
		w = a_widget(code);
		w.label = labels[i];
		c[i] = create_ok(f, &rules, &w, GIVEN_NEW | BIT(W_LABEL));
	}
	assert_string_equal(c[1]->label, "C");
	assert_string_equal(c[1]->label_key, "c");
	lp.sort_by = "label";
	tb_assert_rc(billing__resource_list(&page, &rules, f->w->ctx, &f->admin, &lp, NULL, 0),
		BILLING_OK);
	page_labels(got, sizeof(got), page);
	assert_string_equal(got, "a b C");           /* by the key; by label: "C a b" */
	billing_page_free(page);
	/* A keyset page goes on after the last key. */
	lp.limit = 2;
	tb_assert_rc(billing__resource_list(&page, &rules, f->w->ctx, &f->admin, &lp, NULL, 0),
		BILLING_OK);
	assert_non_null(billing_page_next_cursor(page));
	lp.starting_after = billing_page_next_cursor(page);
	{
		billing_page *next = NULL;
		tb_assert_rc(billing__resource_list(&next, &rules, f->w->ctx, &f->admin, &lp, NULL,
			0), BILLING_OK);
		page_labels(got, sizeof(got), next);
		assert_string_equal(got, "C");
		billing_page_free(next);
	}
	billing_page_free(page);
	/* An update of the label moves the key; one of another field keeps it. */
	memset(&u, 0, sizeof(u));
	u.label = "Zed";
	tb_assert_rc(billing__resource_update((void **)&v, &rules, f->w->ctx, &f->admin, c[2]->id,
		&u, BIT(W_LABEL), 0, NULL), BILLING_OK);
	assert_string_equal(v->label_key, "zed");
	billing__free(v);
	u.ratio = 5;
	tb_assert_rc(billing__resource_update((void **)&v, &rules, f->w->ctx, &f->admin, c[2]->id,
		&u, BIT(W_RATIO), 0, NULL), BILLING_OK);
	assert_string_equal(v->label_key, "zed");
	assert_int_equal(tb_raw_count(f->w->owner_url,
		"SELECT count(*) FROM test_widgets WHERE label_key = 'zed' AND label = 'Zed'"), 1);
	/* Not shown, not an input. */
	j = billing__record_json(&widgets, v);
	assert_non_null(j);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "label")), "Zed");
	cJSON_Delete(j);
	assert_true(billing__field_by_json(&widgets, "label") == &widget_fields[W_LABEL]);
	u.label_key = "x";
	update_refused(f, v, &u, BIT(W_LABEL_KEY), 0, BILLING_EINVALID, "label");
	billing__free(v);
	for (i = 0; i < 3; i++)
		billing__free(c[i]);
}

static void list__search_needs_a_searchable_field(void **state)
{
	fx *f = *state;
	billing_field plain[W_COUNT];
	billing_resource res = widgets;
	billing__rules r = rules;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	memcpy(plain, widget_fields, sizeof(plain));
	plain[W_CODE].flags &= ~(unsigned int)BILLING_FIELD_SEARCH;
	res.fields = plain;
	res.status = &plain[W_STATUS];
	r.res = &res;
	lp.search = "x";
	tb_assert_rc(billing__resource_list(&page, &r, f->w->ctx, &f->admin, &lp, NULL, 0),
		BILLING_EINVALID);
	tb_assert_field("search");
	lp.search = "";
	tb_assert_rc(billing__resource_list(&page, &r, f->w->ctx, &f->admin, &lp, NULL, 0),
		BILLING_OK);
	billing_page_free(page);
}

/* ------------------------------------------------------------ operations */

static void ops__only_what_the_descriptor_offers(void **state)
{
	fx *f = *state;
	const billing__rules *txr = billing__rules_find("tax_rates");
	billing_principal user = tb_user(f->tenant);
	widget w = a_widget("W-1");
	void *out = NULL;

	/* Tax rates have no delete: refused to every role. */
	tb_assert_rc(billing__resource_delete(txr, f->w->ctx, &f->admin,
		"txr_00000000000000000000000000", 0), BILLING_EFORBIDDEN);
	assert_non_null(strstr(billing_error_last()->message, "tax_rates.delete"));
	tb_assert_rc(billing__resource_create(&out, &rules, f->w->ctx, &user, &w, GIVEN_NEW, NULL),
		BILLING_EFORBIDDEN);
	assert_null(out);
	assert_int_equal(rows(f), 0);
}

/* ------------------------------------------------------------ faults */

/* Every allocation of each call fails in turn: the call fails cleanly
 * (the sanitizers see no leak) and writes nothing, until it succeeds. */
static void faults__out_of_memory_anywhere_changes_nothing(void **state)
{
	fx *f = *state;
	widget w = a_widget("W-1"), u;
	widget *c = NULL, *v = NULL;
	billing_page *page = NULL;
	billing_filter flt;
	long n;
	int rc;

	w.spec = "{\"a\":1}";
	w.metadata_json = "{\"k\":\"v\"}";
	for (n = 1;; n++) {
		billing__alloc_fail_at(n);
		rc = billing__resource_create((void **)&c, &rules, f->w->ctx, &f->admin, &w,
			GIVEN_NEW | BIT(W_SPEC) | BIT(W_METADATA), NULL);
		billing__alloc_fail_at(0);
		if (rc == BILLING_OK)
			break;
		assert_true(rc < 0);
		assert_null(c);
		assert_int_equal(rows(f), 0);
	}
	assert_true(n > 3);

	memset(&u, 0, sizeof(u));
	u.label = "changed";
	for (n = 1;; n++) {
		billing__alloc_fail_at(n);
		rc = billing__resource_update((void **)&v, &rules, f->w->ctx, &f->admin, c->id, &u,
			BIT(W_LABEL), 0, NULL);
		billing__alloc_fail_at(0);
		if (rc == BILLING_OK)
			break;
		assert_true(rc < 0);
		assert_null(v);
		assert_int_equal(tb_raw_count(f->w->owner_url,
			"SELECT count(*) FROM test_widgets WHERE version = 1"), 1);
	}
	billing__free(v);

	memset(&flt, 0, sizeof(flt));
	flt.field = &widget_fields[W_KIND];
	flt.op = BILLING_FILTER_EQ;
	flt.num = 1;
	for (n = 1;; n++) {
		billing__alloc_fail_at(n);
		rc = billing__resource_list(&page, &rules, f->w->ctx, &f->admin, NULL, &flt, 1);
		billing__alloc_fail_at(0);
		if (rc == BILLING_OK)
			break;
		assert_true(rc < 0);
		assert_null(page);
	}
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);

	for (n = 1;; n++) {
		billing__alloc_fail_at(n);
		rc = billing__resource_delete(&rules, f->w->ctx, &f->admin, c->id, 0);
		billing__alloc_fail_at(0);
		if (rc == BILLING_OK)
			break;
		assert_true(rc < 0);
		assert_int_equal(rows(f), 1);
	}
	assert_int_equal(rows(f), 0);
	billing__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_json__shows_every_kind_exactly),
		cmocka_unit_test(record_json__enum_fields_name_their_values),
		cmocka_unit_test(registry__finds_tax_rates_by_plural_or_path),
		cmocka_unit_test_setup_teardown(crud__round_trip_with_events_and_audit,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(create__what_the_descriptor_refuses,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(update__what_the_descriptor_and_rules_refuse,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(update__extras_reach_the_hook_in_the_transaction,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(delete__hooks_references_versions_tenants_and_roles,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(delete__soft_keeps_the_row_but_finds_it_nowhere,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(list__generic_filters_and_their_checks,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(list__search_needs_a_searchable_field,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(list__sorts_a_field_by_its_key,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(create__one_answer_names_every_bad_field,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(ops__only_what_the_descriptor_offers,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(faults__out_of_memory_anywhere_changes_nothing,
			setup, tb_fx_teardown),
		cmocka_unit_test_setup_teardown(publish__records_become_public_objects,
			setup, tb_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
