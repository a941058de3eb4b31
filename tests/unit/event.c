/*
 * Domain events: written with each change, readable per tenant, filtered
 * by type, time and customer, keyset-paged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "tb.h"

static billing_subscription *subscribe(tb_world *w, const char *tenant)
{
	billing_principal who = tb_admin(tenant);
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_customer *c = tb_customer(w, tenant, NULL);
	billing_plan *plan = tb_plan(w, tenant, NULL);
	billing_subscription *s = NULL;
	p.customer_id = billing_customer_id(c);
	p.plan_id = billing_plan_id(plan);
	tb_assert_rc(billing_subscription_create(&s, w->ctx, &who, &p, NULL), BILLING_OK);
	billing_customer_free(c);
	billing_plan_free(plan);
	return s;
}

static size_t count_type(tb_world *w, const char *tenant, const char *type)
{
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_principal who = tb_user(tenant);
	billing_page *page = NULL;
	size_t n;
	p.type = type;
	p.list.limit = 100;
	tb_assert_rc(billing_event_list(&page, w->ctx, &who, &p), BILLING_OK);
	n = billing_page_count(page);
	billing_page_free(page);
	return n;
}

static void events__a_subscription_writes_its_events_with_the_resource(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	billing_principal user = tb_user(a);
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_subscription *s = subscribe(w, a);
	billing_page *page = NULL;
	billing_event *got = NULL;
	const billing_event *e;
	cJSON *data;
	(void)state;

	assert_int_equal(count_type(w, a, "subscription.created"), 1);
	assert_int_equal(count_type(w, a, "invoice.created"), 1);
	assert_int_equal(count_type(w, a, "invoice.finalized"), 1);
	assert_int_equal(count_type(w, a, "invoice.paid"), 0);
	p.type = "subscription.created";
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_OK);
	e = billing_page_event(page, 0);
	assert_string_equal(billing_event_resource_type(e), "subscription");
	assert_string_equal(billing_event_resource_id(e), billing_subscription_id(s));
	assert_true(strncmp(billing_event_id(e), "evt_", 4) == 0);
	assert_int_equal(billing_event_created_at(e), w->now);
	data = cJSON_Parse(billing_event_data_json(e));
	assert_non_null(data);
	assert_string_equal(cJSON_GetObjectItem(data, "id")->valuestring, billing_subscription_id(s));
	assert_string_equal(cJSON_GetObjectItem(data, "status")->valuestring, "active");
	cJSON_Delete(data);
	tb_assert_rc(billing_event_get(&got, w->ctx, &user, billing_event_id(e)), BILLING_OK);
	assert_string_equal(billing_event_type(got), "subscription.created");
	billing_event_free(got);
	billing_page_free(page);
	billing_subscription_free(s);
	tb_world_free(w);
}

static void events__are_tenant_scoped(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A"), *b = tb_tenant(w, "B");
	billing_principal user_b = tb_user(b), user_a = tb_user(a);
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_subscription *s = subscribe(w, a);
	billing_page *page = NULL;
	billing_event *got = NULL;
	char id[64];
	(void)state;

	tb_assert_rc(billing_event_list(&page, w->ctx, &user_a, &p), BILLING_OK);
	assert_true(billing_page_count(page) >= 3);
	snprintf(id, sizeof(id), "%s", billing_event_id(billing_page_event(page, 0)));
	billing_page_free(page);
	page = NULL;
	tb_assert_rc(billing_event_list(&page, w->ctx, &user_b, &p), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	tb_assert_rc(billing_event_get(&got, w->ctx, &user_b, id), BILLING_ENOTFOUND);
	assert_null(got);
	billing_subscription_free(s);
	tb_world_free(w);
}

static void events__created_after_and_pages_in_order(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	billing_principal user = tb_user(a);
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_subscription *s1, *s2;
	billing_page *page = NULL;
	const char *cursor;
	int64_t first;
	size_t seen = 0;
	char after[512] = "";
	(void)state;

	s1 = subscribe(w, a);
	first = w->now;
	w->now += 3600;
	s2 = subscribe(w, a);
	p.has_created_after = 1;
	p.created_after = first;
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_OK);
	/* s2's seven only: its customer, product and plan created, then the
	 * subscription, its one item (subscription_item.created, documented in
	 * docs/http-api.md), its invoice created and finalized */
	assert_int_equal(billing_page_count(page), 7);
	billing_page_free(page);

	/* pages of 2 visit all 14 events once, oldest first */
	memset(&p, 0, sizeof(p));
	p.version = BILLING_EVENT_LIST_PARAMS_VERSION;
	p.list.version = BILLING_LIST_PARAMS_VERSION;
	p.list.limit = 2;
	do {
		size_t i;
		page = NULL;
		p.list.starting_after = after[0] ? after : NULL;
		tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_OK);
		for (i = 0; i < billing_page_count(page); i++)
			assert_true(billing_event_created_at(billing_page_event(page, i)) >=
				(seen < 7 ? first : first + 3600));
		seen += billing_page_count(page);
		cursor = billing_page_next_cursor(page);
		snprintf(after, sizeof(after), "%s", cursor ? cursor : "");
		billing_page_free(page);
	} while (after[0]);
	assert_int_equal(seen, 14);
	billing_subscription_free(s1);
	billing_subscription_free(s2);
	tb_world_free(w);
}

static void events__catalog_changes_write_theirs_and_failures_write_none(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	billing_principal admin = tb_admin(a);
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = tb_customer(w, a, &(tb_customer_spec){ .email = "ada@example.com" });
	billing_customer *u = NULL, *dup = NULL;
	(void)state;

	assert_int_equal(count_type(w, a, "customer.created"), 1);
	p.fields = BILLING_CUSTOMER_NAME;
	p.name = "Ada King";
	tb_assert_rc(billing_customer_update(&u, w->ctx, &admin, billing_customer_id(c), &p, NULL),
		BILLING_OK);
	assert_int_equal(count_type(w, a, "customer.updated"), 1);
	/* a refused change (e-mail taken) rolls back and leaves no event */
	p = (billing_customer_params)BILLING_CUSTOMER_PARAMS_INIT;
	p.name = "Other";
	p.email = "ADA@example.com";
	tb_assert_rc(billing_customer_create(&dup, w->ctx, &admin, &p, NULL), BILLING_EEXISTS);
	assert_int_equal(count_type(w, a, "customer.created"), 1);
	tb_assert_rc(billing_customer_delete(w->ctx, &admin, billing_customer_id(c), 0), BILLING_OK);
	assert_int_equal(count_type(w, a, "customer.deleted"), 1);
	billing_customer_free(u);
	billing_customer_free(c);
	tb_world_free(w);
}

/* A world whose context charges through the test provider. */
static tb_world *world_paying(void)
{
	billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_provider *prov = NULL;
	tb_assert_rc(billing_test_provider_new(&prov, &o), BILLING_OK);
	return tb_world_new_with_provider(prov);
}

/* A subscription of a new customer who pays by card (its invoice paid at
 * once: a payment and its events too); the customer's id into cid. */
static billing_subscription *subscribe_paying(tb_world *w, const char *tenant, char *cid,
	size_t cap)
{
	billing_principal who = tb_admin(tenant);
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_customer *c = tb_customer(w, tenant,
		&(tb_customer_spec){ .default_payment_method = "pm_card_visa" });
	billing_plan *plan = tb_plan(w, tenant, NULL);
	billing_subscription *s = NULL;
	snprintf(cid, cap, "%s", billing_customer_id(c));
	p.customer_id = billing_customer_id(c);
	p.plan_id = billing_plan_id(plan);
	tb_assert_rc(billing_subscription_create(&s, w->ctx, &who, &p, NULL), BILLING_OK);
	billing_customer_free(c);
	billing_plan_free(plan);
	return s;
}

static int by_text(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The types of a customer's events as "a,b,c", sorted (events of one
 * second are ordered by id, which is random within the second); checks
 * the list's order by (created_at, id), ascending or descending. */
static void customer_types(tb_world *w, const char *tenant, const char *customer,
	int descending, char *out, size_t cap)
{
	const char *types[64] = { 0 };
	const billing_event *prev = NULL;
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_principal who = tb_user(tenant);
	billing_page *page = NULL;
	size_t i;
	p.customer_id = customer;
	p.list.limit = 100;
	p.list.order = descending ? BILLING_ORDER_DESC : BILLING_ORDER_ASC;
	tb_assert_rc(billing_event_list(&page, w->ctx, &who, &p), BILLING_OK);
	out[0] = '\0';
	assert_true(billing_page_count(page) < 64);
	for (i = 0; i < billing_page_count(page); i++) {
		const billing_event *e = billing_page_event(page, i);
		if (prev) {
			int64_t dt = billing_event_created_at(e) - billing_event_created_at(prev);
			int did = strcmp(billing_event_id(e), billing_event_id(prev));
			assert_true(descending ? (dt < 0 || (dt == 0 && did < 0)) :
				(dt > 0 || (dt == 0 && did > 0)));
		}
		prev = e;
		types[i] = billing_event_type(e);
		cJSON *data = cJSON_Parse(billing_event_data_json(e));
		const cJSON *of = cJSON_GetObjectItemCaseSensitive(data, "customerId");
		/* every one is about the customer: its own, or naming it */
		if (strcmp(billing_event_resource_type(e), "customer") == 0)
			assert_string_equal(billing_event_resource_id(e), customer);
		else
			assert_string_equal(cJSON_GetStringValue(of), customer);
		cJSON_Delete(data);
	}
	qsort(types, billing_page_count(page), sizeof(types[0]), by_text);
	for (i = 0; i < billing_page_count(page); i++)
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "", types[i]);
	billing_page_free(page);
}

static void events__of_a_customer_are_its_own_and_its_resources_only(void **state)
{
	tb_world *w = world_paying();
	const char *a = tb_tenant(w, "A"), *b = tb_tenant(w, "B");
	billing_principal admin = tb_admin(a), user = tb_user(a), user_b = tb_user(b);
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_subscription *s1, *s2, *s3;
	billing_customer *u = NULL, *gone;
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
	billing_page *page = NULL;
	char c1[64], c2[64], c3[64], c4[64], types[1024], cursor[512], bad[512] = "";
	const char *next;
	size_t seen = 0, all;
	(void)state;

	s1 = subscribe_paying(w, a, c1, sizeof(c1));
	w->now += 60;
	s2 = subscribe_paying(w, a, c2, sizeof(c2));
	w->now += 60;
	s3 = subscribe_paying(w, b, c3, sizeof(c3));
	w->now += 60;
	cp.fields = BILLING_CUSTOMER_NAME;
	cp.name = "Ada again";
	tb_assert_rc(billing_customer_update(&u, w->ctx, &admin, c1, &cp, NULL), BILLING_OK);
	billing_customer_free(u);

	/* c1's: created, its subscription, the invoice and its payment, the
	 * update; not the catalog's, not c2's, not tenant B's */
#define PAID_SUBSCRIPTION "customer.created,invoice.created,invoice.finalized,invoice.paid," \
	"payment.created,payment.succeeded,subscription.created"
	customer_types(w, a, c1, 0, types, sizeof(types));
	assert_string_equal(types, "customer.created,customer.updated,invoice.created,"
		"invoice.finalized,invoice.paid,payment.created,payment.succeeded,"
		"subscription.created");
	customer_types(w, a, c1, 1, types, sizeof(types));   /* newest first */
	assert_string_equal(types, "customer.created,customer.updated,invoice.created,"
		"invoice.finalized,invoice.paid,payment.created,payment.succeeded,"
		"subscription.created");
	customer_types(w, a, c2, 0, types, sizeof(types));
	assert_string_equal(types, PAID_SUBSCRIPTION);
	customer_types(w, b, c3, 0, types, sizeof(types));
	assert_string_equal(types, PAID_SUBSCRIPTION);
	/* with the other filters */
	p.customer_id = c1;
	p.type = "invoice.paid";
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_event_resource_id(billing_page_event(page, 0)),
		billing_subscription_latest_invoice_id(s1));
	billing_page_free(page);
	page = NULL;

	/* keyset pages of 2 visit c1's eight once; the cursor is bound to the
	 * customer: with c2, or altered, it is refused */
	p = (billing_event_list_params)BILLING_EVENT_LIST_PARAMS_INIT;
	p.customer_id = c1;
	p.list.limit = 2;
	cursor[0] = '\0';
	do {
		p.list.starting_after = cursor[0] ? cursor : NULL;
		tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_OK);
		seen += billing_page_count(page);
		next = billing_page_next_cursor(page);
		if (next && !bad[0] && seen == 2)
			snprintf(bad, sizeof(bad), "%s", next);
		snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
		billing_page_free(page);
		page = NULL;
	} while (cursor[0]);
	assert_int_equal(seen, 8);
	p.customer_id = c2;
	p.list.starting_after = bad;
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	assert_string_equal(billing_error_last()->reason, "invalid_cursor");
	p.customer_id = c1;
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	assert_null(page);

	/* another tenant's customer, an unknown one, a malformed id: the
	 * filters' rule, 400 resource_missing on customerId (an id that names
	 * neither a customer nor any event of the tenant) */
	p = (billing_event_list_params)BILLING_EVENT_LIST_PARAMS_INIT;
	p.customer_id = c3;
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_EINVALID);
	tb_assert_field("customerId");
	assert_string_equal(billing_error_last()->reason, "resource_missing");
	p.customer_id = c1;
	tb_assert_rc(billing_event_list(&page, w->ctx, &user_b, &p), BILLING_EINVALID);
	tb_assert_field("customerId");
	p.customer_id = "cus_00000000000000000000000000";
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_EINVALID);
	tb_assert_field("customerId");
	p.customer_id = "not an id";
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_EINVALID);
	tb_assert_field("customerId");
	assert_null(page);

	/* a customer's filter that matches nothing: an empty page */
	p = (billing_event_list_params)BILLING_EVENT_LIST_PARAMS_INIT;
	p.customer_id = c2;
	p.type = "customer.updated";
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	page = NULL;
	/* a deleted customer's events stay listable by its id */
	gone = tb_customer(w, a, NULL);
	snprintf(c4, sizeof(c4), "%s", billing_customer_id(gone));
	billing_customer_free(gone);
	tb_assert_rc(billing_customer_delete(w->ctx, &admin, c4, 0), BILLING_OK);
	customer_types(w, a, c4, 0, types, sizeof(types));
	assert_string_equal(types, "customer.created,customer.deleted");
	p.customer_id = c4;
	p.type = "invoice.paid";
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	page = NULL;

	/* a caller of version 1 has no customer_id: the member past its struct
	 * is not read, and the list is the tenant's whole log */
	p = (billing_event_list_params)BILLING_EVENT_LIST_PARAMS_INIT;
	p.list.limit = 100;
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_OK);
	all = billing_page_count(page);
	billing_page_free(page);
	page = NULL;
	p.version = 1;
	p.customer_id = "not read";
	tb_assert_rc(billing_event_list(&page, w->ctx, &user, &p), BILLING_OK);
	assert_int_equal(billing_page_count(page), all);
	assert_true(all > 13);
	billing_page_free(page);
	billing_subscription_free(s1);
	billing_subscription_free(s2);
	billing_subscription_free(s3);
	tb_world_free(w);
}

/* The same through the JSON layer (what GET /v1/events?customerId= and
 * the bindings call). */
static void events__customer_filter_in_json(void **state)
{
	tb_world *w = world_paying();
	const char *a = tb_tenant(w, "A");
	billing_principal user = tb_user(a);
	billing_subscription *s;
	char cid[64], in[256], *out = NULL;
	cJSON *v, *data;
	int i;
	(void)state;

	s = subscribe_paying(w, a, cid, sizeof(cid));
	billing_subscription_free(subscribe(w, a));
	snprintf(in, sizeof(in), "{\"customerId\":\"%s\",\"order\":\"desc\",\"limit\":3}", cid);
	tb_assert_rc(billing_call_json(&out, w->ctx, &user, "events.list", in, strlen(in), NULL),
		BILLING_OK);
	v = cJSON_Parse(out);
	billing_free(out);
	out = NULL;
	data = cJSON_GetObjectItemCaseSensitive(v, "data");
	assert_int_equal(cJSON_GetArraySize(data), 3);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "hasMore")));
	for (i = 0; i < 3; i++)
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(data, i), "data"),
			"customerId")), cid);
	cJSON_Delete(v);
	snprintf(in, sizeof(in), "{\"customerId\":\"cus_nobody\"}");
	tb_assert_rc(billing_call_json(&out, w->ctx, &user, "events.list", in, strlen(in), NULL),
		BILLING_EINVALID);
	tb_assert_field("customerId");
	assert_string_equal(billing_error_last()->reason, "resource_missing");
	billing_free(out);
	out = NULL;
	snprintf(in, sizeof(in), "{\"customerId\":7}");
	tb_assert_rc(billing_call_json(&out, w->ctx, &user, "events.list", in, strlen(in), NULL),
		BILLING_EINVALID);
	tb_assert_field("customerId");
	billing_free(out);
	billing_subscription_free(s);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events__a_subscription_writes_its_events_with_the_resource),
		cmocka_unit_test(events__are_tenant_scoped),
		cmocka_unit_test(events__created_after_and_pages_in_order),
		cmocka_unit_test(events__catalog_changes_write_theirs_and_failures_write_none),
		cmocka_unit_test(events__of_a_customer_are_its_own_and_its_resources_only),
		cmocka_unit_test(events__customer_filter_in_json),
	};
	return cmocka_run_group_tests_name(tb_backend(), tests, NULL, NULL);
}
