/*
 * The schema's life end to end: a new database refuses domain calls until
 * migrated, data outlives the context, a reopened database needs nothing,
 * and list cursors work across contexts because their key lives in the
 * database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include <cJSON.h>

#include "tb.h"
#include "billing/sqlite.h"
#include "core/ids.h"
#include "storage/migrations.h"

/* ------------------------------------------------------------ backends */

/* Migrations the database behind url still lacks. */
static int pending(const char *url)
{
	billing_storage *st = tb_storage_open(url, 0);
	int n = -1;
	tb_assert_rc(st->schema_status(st, &n), BILLING_OK);
	billing_storage_free(st);
	return n;
}

/* ------------------------------------------------------------ fixture */

typedef struct {
	char url[512];
	char dir[256];
	billing_ctx *ctx;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	tb_database_new(f->url, sizeof(f->url), f->dir, sizeof(f->dir));
	tb_assert_rc(billing_ctx_open_url(&f->ctx, f->url, NULL), BILLING_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	billing_ctx_close(f->ctx);
	tb_remove_dir(f->dir);   /* the SQLite files; "" on PostgreSQL */
	free(f);
	return 0;
}

static void assert_schema_outdated(int rc)
{
	const billing_error *e = billing_error_last();
	tb_assert_rc(rc, BILLING_ESTORAGE);
	assert_non_null(e->reason);
	assert_string_equal(e->reason, "schema_outdated");
}

static char *make_tenant(billing_ctx *ctx, const char *name)
{
	billing_principal op = tb_platform();
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *t = NULL;
	char *id;
	tp.name = name;
	tb_assert_rc(billing_tenant_create(&t, ctx, &op, &tp, NULL), BILLING_OK);
	id = strdup(billing_tenant_id(t));
	assert_non_null(id);
	billing_tenant_free(t);
	return id;
}

static char *make_customer(billing_ctx *ctx, const char *tenant, const char *email)
{
	billing_principal who = tb_admin(tenant);
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	char *id;
	p.name = "Ada";
	p.email = email;
	tb_assert_rc(billing_customer_create(&c, ctx, &who, &p, NULL), BILLING_OK);
	id = strdup(billing_customer_id(c));
	assert_non_null(id);
	billing_customer_free(c);
	return id;
}

/* ------------------------------------------------------------ tests */

static void domain_call__before_migrate_is_schema_outdated(void **state)
{
	fx *f = *state;
	billing_principal op = tb_platform();
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *t = NULL;
	billing_page *page = NULL;
	billing_customer *c = NULL;
	char tenant[BILLING_ID_MAX], cus[BILLING_ID_MAX];
	billing_principal who;

	assert_true(pending(f->url) > 0);
	tp.name = "Acme";
	assert_schema_outdated(billing_tenant_create(&t, f->ctx, &op, &tp, NULL));
	assert_null(t);
	assert_schema_outdated(billing_tenant_list(&page, f->ctx, &op, NULL));
	assert_null(page);

	assert_int_equal(billing__id_new(tenant, "ten", 1767225600000), 0);
	assert_int_equal(billing__id_new(cus, "cus", 1767225600000), 0);
	who = tb_admin(tenant);
	assert_schema_outdated(billing_customer_get(&c, f->ctx, &who, cus));
	assert_schema_outdated(billing_customer_list(&page, f->ctx, &who, NULL));
	assert_null(c);
	assert_null(page);
}

static void migrate__makes_domain_calls_work(void **state)
{
	fx *f = *state;
	char *t, *c;

	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	assert_int_equal(pending(f->url), 0);
	t = make_tenant(f->ctx, "Acme");
	c = make_customer(f->ctx, t, "ada@example.com");
	free(t);
	free(c);
}

static void migrate__again_applies_nothing_and_keeps_data(void **state)
{
	fx *f = *state;
	billing_customer *got = NULL;
	billing_principal who;
	char *t, *c;

	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	t = make_tenant(f->ctx, "Acme");
	c = make_customer(f->ctx, t, "ada@example.com");
	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	assert_int_equal(pending(f->url), 0);
	who = tb_admin(t);
	tb_assert_rc(billing_customer_get(&got, f->ctx, &who, c), BILLING_OK);
	billing_customer_free(got);
	free(t);
	free(c);
}

static void reopen__data_is_there_and_nothing_is_pending(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_customer *got = NULL;
	billing_page *page = NULL;
	billing_principal who;
	char *t, *c;

	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	t = make_tenant(f->ctx, "Acme");
	c = make_customer(f->ctx, t, "ada@example.com");
	billing_ctx_close(f->ctx);
	f->ctx = NULL;

	assert_int_equal(pending(f->url), 0);
	tb_assert_rc(billing_ctx_open_url(&f->ctx, f->url, NULL), BILLING_OK);
	/* no billing_migrate(): a current database is usable at once */
	who = tb_admin(t);
	tb_assert_rc(billing_customer_get(&got, f->ctx, &who, c), BILLING_OK);
	assert_string_equal(billing_customer_email(got), "ada@example.com");
	assert_int_equal(billing_customer_version(got), 1);
	lp.page = 1;
	tb_assert_rc(billing_customer_list(&page, f->ctx, &who, &lp), BILLING_OK);
	assert_int_equal(billing_page_total(page), 1);
	billing_page_free(page);
	billing_customer_free(got);
	free(t);
	free(c);
}

static void open__changed_migration_is_refused_and_storage_stays_callers(void **state)
{
	fx *f = *state;
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_ctx *ctx = NULL;
	billing_storage *st;
	int n = -1;

	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	tb_raw_exec(f->url, "UPDATE billing_migrations SET checksum = 'tampered'");
	st = tb_storage_open(f->url, 0);
	o.storage = st;
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_ESTORAGE);
	assert_string_equal(billing_error_last()->reason, "migration_checksum");
	assert_null(ctx);
	/* still ours, still alive */
	tb_assert_rc(st->schema_status(st, &n), BILLING_ESTORAGE);
	billing_storage_free(st);
	tb_assert_rc(billing_ctx_open_url(&ctx, f->url, NULL), BILLING_ESTORAGE);
	assert_string_equal(billing_error_last()->reason, "migration_checksum");
}

/* Three customers of one tenant; a cursor made after the first. */
static void cursor__made_in_one_context_works_in_another(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *p1 = NULL, *p2 = NULL;
	billing_principal who;
	billing_ctx *other = NULL;
	char *t, *c[3];
	int i;

	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	t = make_tenant(f->ctx, "Acme");
	for (i = 0; i < 3; i++) {
		char email[32];
		snprintf(email, sizeof(email), "c%d@example.com", i);
		c[i] = make_customer(f->ctx, t, email);
	}
	tb_assert_rc(billing_ctx_open_url(&other, f->url, NULL), BILLING_OK);
	who = tb_admin(t);
	lp.limit = 1;
	lp.sort_by = "email";
	tb_assert_rc(billing_customer_list(&p1, f->ctx, &who, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(p1), 1);
	assert_string_equal(billing_customer_id(billing_page_customer(p1, 0)), c[0]);
	assert_non_null(billing_page_next_cursor(p1));

	lp.starting_after = billing_page_next_cursor(p1);
	tb_assert_rc(billing_customer_list(&p2, other, &who, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(p2), 1);
	assert_string_equal(billing_customer_id(billing_page_customer(p2, 0)), c[1]);
	billing_page_free(p1);
	p1 = NULL;

	/* and back: the second context's cursor in the first */
	lp.starting_after = billing_page_next_cursor(p2);
	assert_non_null(lp.starting_after);
	tb_assert_rc(billing_customer_list(&p1, f->ctx, &who, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(p1), 1);
	assert_string_equal(billing_customer_id(billing_page_customer(p1, 0)), c[2]);
	assert_int_equal(billing_page_has_more(p1), 0);

	billing_page_free(p1);
	billing_page_free(p2);
	billing_ctx_close(other);
	free(t);
	for (i = 0; i < 3; i++)
		free(c[i]);
}

static void cursor__from_another_database_is_invalid(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *p1 = NULL, *p2 = NULL;
	tb_world *w2 = tb_world_new();
	billing_principal op = tb_platform();
	char *t1, *t2;

	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	t1 = make_tenant(f->ctx, "Acme");
	t2 = make_tenant(f->ctx, "Bolt");
	free(make_tenant(w2->ctx, "Acme"));
	free(make_tenant(w2->ctx, "Bolt"));
	lp.limit = 1;
	tb_assert_rc(billing_tenant_list(&p1, f->ctx, &op, &lp), BILLING_OK);
	assert_non_null(billing_page_next_cursor(p1));
	lp.starting_after = billing_page_next_cursor(p1);
	/* same query shape, another database: another key */
	tb_assert_rc(billing_tenant_list(&p2, w2->ctx, &op, &lp), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	assert_null(p2);
	tb_assert_rc(billing_tenant_list(&p2, f->ctx, &op, &lp), BILLING_OK);
	billing_page_free(p2);
	billing_page_free(p1);
	tb_world_free(w2);
	free(t1);
	free(t2);
}

/* The "id" of what op answers for json (new). */
static char *call_id(billing_ctx *ctx, const char *tenant, const char *op, const char *json)
{
	billing_principal who = tb_admin(tenant);
	char *out = NULL, *id;
	cJSON *v;
	tb_assert_rc(billing_call_json(&out, ctx, &who, op, json, strlen(json), NULL), BILLING_OK);
	v = cJSON_Parse(out);
	assert_non_null(v);
	id = strdup(cJSON_GetObjectItemCaseSensitive(v, "id")->valuestring);
	assert_non_null(id);
	cJSON_Delete(v);
	billing_free(out);
	return id;
}

static cJSON *sub_json(billing_ctx *ctx, const char *tenant, const char *id)
{
	billing_principal who = tb_admin(tenant);
	char in[128], *out = NULL;
	cJSON *v;
	snprintf(in, sizeof(in), "{\"id\":\"%s\"}", id);
	tb_assert_rc(billing_call_json(&out, ctx, &who, "subscriptions.get", in, strlen(in), NULL),
		BILLING_OK);
	v = cJSON_Parse(out);
	assert_non_null(v);
	billing_free(out);
	return v;
}

static void print_problem(void *payload, const billing_check_problem *p)
{
	(void)payload;
	fprintf(stderr, "billing_check: %s %s\n", p->kind, p->detail);
}

/* Schema step 36 on the data of step 35: a metered plan's items stored 1
 * (here made so behind the library's back, as it wrote them); after it
 * they, and a subscription whose first item is one, hold NULL, shown as
 * null in the subscription's items[] in their order, while every licensed
 * quantity, the rows, the indexes (SQLite rebuilds both tables) and the
 * tenant policies (PostgreSQL) stay; the library then works on them. */
static void step36__a_metered_items_quantity_becomes_null_and_the_rest_stays(void **state)
{
	fx *f = *state;
	char json[512], sql[512], *t, *c, *prod, *licensed, *seat, *meter, *metered, *a, *b, *m;
	char src_url[512], src_dir[256];
	billing_ctx *src = NULL;
	cJSON *v, *items;
	int64_t problems = -1;
	size_t steps;

	billing__migrations_upto = 35;
	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	billing__migrations_upto = 0;
	billing__migrations(&steps);
	assert_true(steps >= 36);
	assert_int_equal(pending(f->url), (int)steps - 35);
	/* The rows, made by the current library on a database of the current
	 * schema and copied in (the columns step 35 has): a later step's column
	 * the library reads would not exist here yet. */
	tb_database_new(src_url, sizeof(src_url), src_dir, sizeof(src_dir));
	tb_assert_rc(billing_ctx_open_url(&src, src_url, NULL), BILLING_OK);
	tb_assert_rc(billing_migrate(src), BILLING_OK);
	t = make_tenant(src, "Acme");
	c = make_customer(src, t, "ada@example.com");
	prod = call_id(src, t, "products.create", "{\"name\":\"API\",\"sku\":\"api\","
		"\"currency\":\"EUR\"}");
	snprintf(json, sizeof(json), "{\"productId\":\"%s\",\"code\":\"BASE\",\"name\":\"Base\","
		"\"amount\":1500,\"currency\":\"EUR\",\"interval\":\"MONTH\"}", prod);
	licensed = call_id(src, t, "plans.create", json);
	snprintf(json, sizeof(json), "{\"productId\":\"%s\",\"code\":\"SEAT\",\"name\":\"Seat\","
		"\"amount\":700,\"currency\":\"EUR\",\"interval\":\"MONTH\"}", prod);
	seat = call_id(src, t, "plans.create", json);
	meter = call_id(src, t, "meters.create", "{\"eventName\":\"api.call\","
		"\"aggregation\":\"count\"}");
	snprintf(json, sizeof(json), "{\"productId\":\"%s\",\"code\":\"CALLS\",\"name\":\"Calls\","
		"\"amount\":10,\"currency\":\"EUR\",\"interval\":\"MONTH\",\"usageType\":\"metered\","
		"\"meterId\":\"%s\"}", prod, meter);
	metered = call_id(src, t, "plans.create", json);
	snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"items\":[{\"planId\":\"%s\","
		"\"quantity\":3}]}", c, licensed);
	a = call_id(src, t, "subscriptions.create", json);
	snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"items\":[{\"planId\":\"%s\","
		"\"quantity\":2},{\"planId\":\"%s\"}]}", c, licensed, seat);
	b = call_id(src, t, "subscriptions.create", json);
	snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"planId\":\"%s\"}", c, seat);
	m = call_id(src, t, "subscriptions.create", json);
	billing_ctx_close(src);
	tb_raw_copy_rows(f->url, src_url);
	tb_database_drop(src_url);
	if (src_dir[0])
		tb_remove_dir(src_dir);
	/* The seat plan's items become the metered plan's, quantity 1, as the
	 * library stored them before the step. */
	snprintf(sql, sizeof(sql), "UPDATE subscription_items SET plan_id = '%s' "
		"WHERE plan_id = '%s'", metered, seat);
	tb_raw_exec(f->url, sql);
	snprintf(sql, sizeof(sql), "UPDATE subscriptions SET items = replace(items, '%s', '%s'), "
		"plan_id = CASE WHEN plan_id = '%s' THEN '%s' ELSE plan_id END", seat, metered, seat,
		metered);
	tb_raw_exec(f->url, sql);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM subscription_items "
		"WHERE quantity = 1"), 2);

	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	assert_int_equal(pending(f->url), 0);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM subscription_items"), 4);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM subscription_items "
		"WHERE quantity IS NULL"), 2);
	assert_int_equal(tb_raw_count(f->url, "SELECT SUM(quantity) FROM subscription_items"), 5);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM subscriptions"), 3);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM subscriptions "
		"WHERE quantity IS NULL"), 1);
	assert_int_equal(tb_raw_count(f->url, "SELECT SUM(quantity) FROM subscriptions"), 5);
	if (strcmp(tb_backend(), "sqlite") == 0) {
		/* 4 + 1 named indexes, the keys' 1 + 3; step 34's kept. */
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM sqlite_master WHERE "
			"type = 'index' AND tbl_name IN ('subscriptions', 'subscription_items')"), 9);
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM sqlite_master WHERE "
			"name = 'subscriptions_customer' AND sql LIKE '%created_at%'"), 1);
	} else {
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM pg_policies WHERE "
			"schemaname = current_schema() AND tablename IN ('subscriptions', "
			"'subscription_items', 'plans')"), 3);
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM pg_class WHERE "
			"relname IN ('subscriptions', 'subscription_items', 'plans') AND "
			"relforcerowsecurity AND relnamespace = current_schema()::regnamespace"), 3);
	}

	v = sub_json(f->ctx, t, b);
	items = cJSON_GetObjectItemCaseSensitive(v, "items");
	assert_int_equal(cJSON_GetArraySize(items), 2);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 0),
		"planId")->valuestring, licensed);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 0),
		"quantity")->valuedouble, 2);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 1),
		"planId")->valuestring, metered);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 1),
		"quantity")));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(v, "quantity")->valuedouble, 2);
	cJSON_Delete(v);
	v = sub_json(f->ctx, t, m);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(v, "quantity")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(v, "items"), 0), "quantity")));
	cJSON_Delete(v);
	v = sub_json(f->ctx, t, a);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(v, "quantity")->valuedouble, 3);
	cJSON_Delete(v);
	/* The library works on the rows: a new metered item, and the check. */
	snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"planId\":\"%s\"}", c, metered);
	free(call_id(f->ctx, t, "subscriptions.create", json));
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM subscriptions "
		"WHERE quantity IS NULL"), 2);
	tb_assert_rc(billing_check(f->ctx, print_problem, NULL, &problems), BILLING_OK);
	assert_int_equal(problems, 0);
	free(t); free(c); free(prod); free(licensed); free(seat); free(meter); free(metered);
	free(a); free(b); free(m);
}

/* Schema step 40 on the data of step 39: each event's customer_id filled
 * from its stored data by the rule the library writes it with (the rows
 * of a current library, copied in without the column, get back exactly
 * what it wrote): the customer's own events its id, its subscription's
 * and invoice's events the customerId their data names, the catalog's
 * NULL, each tenant's its own; then a customer's event list works on
 * them, and the index is there. */
static void step40__events_get_their_customer_from_their_data(void **state)
{
	fx *f = *state;
	char json[512], sql[512], src_url[512], src_dir[256], *t, *u, *c, *d, *e, *prod, *plan;
	billing_ctx *src = NULL;
	billing_principal user;
	billing_event_list_params lp = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t written_c, written_all;
	size_t steps, i;

	billing__migrations_upto = 39;
	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	billing__migrations_upto = 0;
	billing__migrations(&steps);
	assert_true(steps >= 40);
	assert_int_equal(pending(f->url), (int)steps - 39);
	tb_database_new(src_url, sizeof(src_url), src_dir, sizeof(src_dir));
	tb_assert_rc(billing_ctx_open_url(&src, src_url, NULL), BILLING_OK);
	tb_assert_rc(billing_migrate(src), BILLING_OK);
	t = make_tenant(src, "Acme");
	u = make_tenant(src, "Other");
	c = make_customer(src, t, "ada@example.com");
	d = make_customer(src, t, "bob@example.com");
	e = make_customer(src, u, "ada@example.com");
	prod = call_id(src, t, "products.create", "{\"name\":\"API\",\"sku\":\"api\","
		"\"currency\":\"EUR\"}");
	snprintf(json, sizeof(json), "{\"productId\":\"%s\",\"code\":\"BASE\",\"name\":\"Base\","
		"\"amount\":1500,\"currency\":\"EUR\",\"interval\":\"MONTH\"}", prod);
	plan = call_id(src, t, "plans.create", json);
	snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"planId\":\"%s\"}", c, plan);
	free(call_id(src, t, "subscriptions.create", json));
	billing_ctx_close(src);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM events WHERE customer_id = '%s'", c);
	written_c = tb_raw_count(src_url, sql);
	written_all = tb_raw_count(src_url, "SELECT COUNT(*) FROM events WHERE customer_id IS NOT NULL");
	/* created, the subscription, its invoice created and finalized */
	assert_int_equal(written_c, 4);
	tb_raw_copy_rows(f->url, src_url);
	tb_database_drop(src_url);
	if (src_dir[0])
		tb_remove_dir(src_dir);

	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	assert_int_equal(pending(f->url), 0);
	assert_int_equal(tb_raw_count(f->url, sql), written_c);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM events WHERE customer_id "
		"IS NOT NULL"), written_all);
	assert_int_equal(written_all, 4 + 1 + 1);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM events WHERE customer_id = '%s' AND "
		"type = 'customer.created' AND tenant_id = '%s'", e, u);
	assert_int_equal(tb_raw_count(f->url, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM events WHERE customer_id = '%s'", d);
	assert_int_equal(tb_raw_count(f->url, sql), 1);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM events WHERE customer_id "
		"IS NOT NULL AND (type LIKE 'product.%' OR type LIKE 'plan.%' OR "
		"type LIKE 'subscription_item.%')"), 0);
	if (strcmp(tb_backend(), "sqlite") == 0) {
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM sqlite_master WHERE "
			"type = 'index' AND name = 'events_customer'"), 1);
	} else {
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM pg_indexes WHERE "
			"schemaname = current_schema() AND indexname = 'events_customer'"), 1);
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM pg_class WHERE "
			"relname = 'events' AND relforcerowsecurity AND "
			"relnamespace = current_schema()::regnamespace"), 1);
	}
	/* The library lists them: c's four, newest first. */
	user = tb_user(t);
	lp.customer_id = c;
	lp.list.order = BILLING_ORDER_DESC;
	tb_assert_rc(billing_event_list(&page, f->ctx, &user, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 4);
	for (i = 0; i < billing_page_count(page); i++)
		assert_true(strstr(billing_event_data_json(billing_page_event(page, i)), c) != NULL);
	billing_page_free(page);
	free(t); free(u); free(c); free(d); free(e); free(prod); free(plan);
}

/* n usage events of customer in tenant, ids "<prefix>-<i>", one a day
 * back from at. */
static void ingest_days(billing_ctx *ctx, const char *tenant, const char *customer,
	const char *prefix, int n, int64_t at, int64_t step)
{
	billing_principal who = tb_admin(tenant);
	billing_usage_event e[8];
	billing_usage_result *r = NULL;
	char tid[8][32];
	int i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		billing_usage_event one = BILLING_USAGE_EVENT_INIT;
		snprintf(tid[i], sizeof(tid[i]), "%s-%d", prefix, i);
		one.transaction_id = tid[i];
		one.event_name = "api.call";
		one.customer_id = customer;
		one.timestamp = at - (int64_t)i * step;
		e[i] = one;
	}
	tb_assert_rc(billing_usage_ingest(&r, ctx, &who, e, (size_t)n), BILLING_OK);
	assert_int_equal(billing_usage_result_tally(r, BILLING_USAGE_ACCEPTED), (size_t)n);
	billing_usage_result_free(r);
}

/* Schema step 42 on the data of step 41: usage_events becomes partitioned
 * by month on PostgreSQL, every event in its month's partition (none left
 * in DEFAULT), every event's key in usage_event_keys, voids kept, each
 * tenant's its own; then the library dedupes, voids and aggregates on
 * them. SQLite has no step 42 of its own: the same rows, unchanged. */
static void step42__usage_events_move_into_monthly_partitions_intact(void **state)
{
	fx *f = *state;
	char src_url[512], src_dir[256], *t, *u, *c, *e;
	billing_ctx *src = NULL;
	billing_principal who;
	billing_usage_result *r = NULL;
	const char *voided = "a-1", *later = "a-2";
	int64_t now = (int64_t)time(NULL), value = 0, events = 0;
	size_t steps;
	bool pg = strcmp(tb_backend(), "sqlite") != 0;

	billing__migrations_upto = 41;
	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	billing__migrations_upto = 0;
	billing__migrations(&steps);
	assert_true(steps >= 42);
	assert_int_equal(pending(f->url), (int)steps - 41);
	tb_database_new(src_url, sizeof(src_url), src_dir, sizeof(src_dir));
	tb_assert_rc(billing_ctx_open_url(&src, src_url, NULL), BILLING_OK);
	tb_assert_rc(billing_migrate(src), BILLING_OK);
	t = make_tenant(src, "Acme");
	u = make_tenant(src, "Other");
	c = make_customer(src, t, "ada@example.com");
	e = make_customer(src, u, "ada@example.com");
	/* 8 events 12 days apart (three or four months), 2 of the other
	 * tenant with the same ids, one voided. */
	ingest_days(src, t, c, "a", 8, now - 60, 12 * 86400);
	ingest_days(src, u, e, "a", 2, now - 60, 40 * 86400);
	who = tb_admin(t);
	tb_assert_rc(billing_usage_void(&r, src, &who, &voided, 1), BILLING_OK);
	assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_VOIDED);
	billing_usage_result_free(r);
	billing_ctx_close(src);
	tb_raw_copy_rows(f->url, src_url);
	tb_database_drop(src_url);
	if (src_dir[0])
		tb_remove_dir(src_dir);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM usage_events"), 10);

	tb_assert_rc(billing_migrate(f->ctx), BILLING_OK);
	assert_int_equal(pending(f->url), 0);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM usage_events"), 10);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM usage_events WHERE "
		"voided_at IS NOT NULL AND transaction_id = 'a-1'"), 1);
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM usage_events WHERE "
		"voided_at IS NOT NULL"), 1);
	if (pg) {
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM usage_event_keys k "
			"JOIN usage_events v USING (tenant_id, transaction_id, occurred_at)"), 10);
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM usage_event_keys"), 10);
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM usage_events_default"), 0);
		/* Each row in its UTC month's partition. */
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM usage_events WHERE "
			"tableoid::regclass::text <> 'usage_events_' || "
			"to_char(to_timestamp(occurred_at) AT TIME ZONE 'UTC', 'YYYY_MM')"), 0);
		assert_true(tb_raw_count(f->url, "SELECT COUNT(DISTINCT tableoid) FROM usage_events")
			>= 3);
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM pg_class WHERE relname "
			"IN ('usage_events', 'usage_event_keys') AND relforcerowsecurity AND "
			"relnamespace = current_schema()::regnamespace"), 2);
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM pg_policies WHERE "
			"schemaname = current_schema() AND tablename IN ('usage_events', "
			"'usage_event_keys')"), 2);
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM pg_class WHERE relname = "
			"'usage_events_old' AND relnamespace = current_schema()::regnamespace"), 0);
		/* The current and next months are there before any event. */
		assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM pg_class WHERE relname IN "
			"('usage_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM'), "
			"'usage_events_' || to_char((now() AT TIME ZONE 'UTC') + INTERVAL '1 month', "
			"'YYYY_MM')) AND relnamespace = current_schema()::regnamespace"), 2);
	}
	/* The library on them: resends are duplicates in both tenants, the
	 * void stays, another void works, the aggregate counts the rest. */
	ingest_days(f->ctx, t, c, "b", 1, now - 60, 86400);
	{
		billing_usage_event ev = BILLING_USAGE_EVENT_INIT;
		ev.transaction_id = "a-3";
		ev.event_name = "api.call";
		ev.customer_id = c;
		ev.timestamp = now - 120;
		tb_assert_rc(billing_usage_ingest(&r, f->ctx, &who, &ev, 1), BILLING_OK);
		assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_DUPLICATE);
		billing_usage_result_free(r);
	}
	tb_assert_rc(billing_usage_void(&r, f->ctx, &who, &voided, 1), BILLING_OK);
	assert_string_equal(billing_usage_result_code(r, 0), "already_voided");
	billing_usage_result_free(r);
	tb_assert_rc(billing_usage_void(&r, f->ctx, &who, &later, 1), BILLING_OK);
	assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_VOIDED);
	billing_usage_result_free(r);
	{
		char *m = call_id(f->ctx, t, "meters.create", "{\"eventName\":\"api.call\","
			"\"aggregation\":\"count\"}");
		tb_assert_rc(billing_usage_aggregate(&value, &events, f->ctx, &who, m, c,
			now - 200 * 86400, now), BILLING_OK);
		assert_int_equal(value, 8 + 1 - 2);
		free(m);
	}
	assert_int_equal(tb_raw_count(f->url, "SELECT COUNT(*) FROM usage_events"), 11);
	free(t); free(u); free(c); free(e);
}

/* The fixture every world starts from (tests/support/backends.c): a copy of
 * a template migrated once must be what migrating gives, and the copies
 * must not share rows or the cursor key. */
static void template_copy__is_current_and_independent_of_other_copies(void **state)
{
	char url[2][512], dir[2][256];
	size_t steps;
	billing_ctx *ctx = NULL;
	char *t;
	int i;
	(void)state;

	billing__migrations(&steps);
	for (i = 0; i < 2; i++) {
		tb_database_new_migrated(url[i], sizeof(url[i]), dir[i], sizeof(dir[i]));
		assert_int_equal(pending(url[i]), 0);
		assert_int_equal(tb_raw_count(url[i], "SELECT count(*) FROM billing_migrations"),
			(int64_t)steps);
		/* each database makes its own cursor key at its first open */
		assert_int_equal(tb_raw_count(url[i], "SELECT count(*) FROM billing_meta "
			"WHERE meta_key = 'cursor_key'"), 0);
	}
	tb_assert_rc(billing_ctx_open_url(&ctx, url[0], NULL), BILLING_OK);
	tb_assert_rc(billing_migrate(ctx), BILLING_OK);
	t = make_tenant(ctx, "Acme");
	free(make_customer(ctx, t, "ada@example.com"));
	billing_ctx_close(ctx);
	assert_int_equal(tb_raw_count(url[0], "SELECT count(*) FROM customers"), 1);
	assert_int_equal(tb_raw_count(url[1], "SELECT count(*) FROM customers"), 0);
	assert_int_equal(tb_raw_count(url[1], "SELECT count(*) FROM tenants"), 0);
	assert_int_equal(tb_raw_count(url[1], "SELECT count(*) FROM billing_meta "
		"WHERE meta_key = 'cursor_key'"), 0);
	free(t);
	for (i = 0; i < 2; i++) {
		tb_database_drop(url[i]);
		tb_remove_dir(dir[i]);
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(domain_call__before_migrate_is_schema_outdated),
		T(migrate__makes_domain_calls_work),
		T(migrate__again_applies_nothing_and_keeps_data),
		T(reopen__data_is_there_and_nothing_is_pending),
		T(open__changed_migration_is_refused_and_storage_stays_callers),
		T(cursor__made_in_one_context_works_in_another),
		T(cursor__from_another_database_is_invalid),
		T(step36__a_metered_items_quantity_becomes_null_and_the_rest_stays),
		T(step40__events_get_their_customer_from_their_data),
		T(step42__usage_events_move_into_monthly_partitions_intact),
		cmocka_unit_test(template_copy__is_current_and_independent_of_other_copies),
	};
	return cmocka_run_group_tests_name(tb_backend(), tests, NULL, NULL);
}
