/*
 * Unit tests for list.c through the customer, product and plan lists:
 * keyset paging visits every row once in order, page mode counts, limits,
 * sorts with ties, signed cursors bound to their query, filters, and
 * search text whose LIKE wildcards match literally.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "tb.h"

#define N_CUSTOMERS 57

typedef struct {
	tb_world *w;
	const char *tenant;
	billing_principal admin;
	char ids[N_CUSTOMERS][64];  /* in creation order, when populated */
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->w = tb_world_new();
	f->tenant = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->tenant);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	tb_world_free(f->w);
	free(f);
	return 0;
}

/* 57 customers, created one second apart, ids kept in order. */
static void populate(fx *f)
{
	int i;
	for (i = 0; i < N_CUSTOMERS; i++) {
		billing_customer *c = tb_customer(f->w, f->tenant, NULL);
		snprintf(f->ids[i], sizeof(f->ids[i]), "%s", billing_customer_id(c));
		billing_customer_free(c);
		if (i % 3 == 2)
			f->w->now += 1;  /* some share a second, some do not */
	}
}

static billing_page *list_ok(fx *f, const billing_list_params *lp)
{
	billing_page *page = NULL;
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin, lp), BILLING_OK);
	assert_non_null(page);
	return page;
}

static void list_refused(fx *f, const billing_list_params *lp, const char *field)
{
	billing_page *page = NULL;
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin, lp), BILLING_EINVALID);
	tb_assert_field(field);
	assert_null(page);
}

/* Walks all pages; returns the number of rows; ids into out (cap N). */
static size_t walk(fx *f, billing_list_params lp, char out[][64], size_t cap, size_t *pages)
{
	size_t n = 0, i;
	char *cursor = NULL;
	*pages = 0;
	for (;;) {
		billing_page *page;
		lp.starting_after = cursor;
		page = list_ok(f, &lp);
		(*pages)++;
		assert_int_equal(billing_page_total(page), -1);
		assert_int_equal(billing_page_number(page), 0);
		for (i = 0; i < billing_page_count(page); i++) {
			assert_true(n < cap);
			snprintf(out[n++], 64, "%s", billing_customer_id(billing_page_customer(page, i)));
		}
		free(cursor);
		cursor = NULL;
		if (!billing_page_has_more(page)) {
			assert_null(billing_page_next_cursor(page));
			billing_page_free(page);
			break;
		}
		assert_int_equal(billing_page_count(page), lp.limit ? lp.limit : 20);
		assert_non_null(billing_page_next_cursor(page));
		cursor = strdup(billing_page_next_cursor(page));
		billing_page_free(page);
		assert_true(*pages < 100);
	}
	return n;
}

/* ------------------------------------------------------------ keyset */

static void list__keyset_pages_visit_each_customer_once_in_creation_order(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	char got[N_CUSTOMERS + 5][64];
	size_t pages, n, i;
	populate(f);
	lp.limit = 10;
	n = walk(f, lp, got, N_CUSTOMERS + 5, &pages);
	assert_int_equal(n, N_CUSTOMERS);
	assert_int_equal(pages, 6);
	for (i = 0; i < N_CUSTOMERS; i++)
		assert_string_equal(got[i], f->ids[i]);
}

static void list__keyset_desc_visits_in_reverse_creation_order(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	char got[N_CUSTOMERS + 5][64];
	size_t pages, n, i;
	populate(f);
	lp.limit = 10;
	lp.order = BILLING_ORDER_DESC;
	n = walk(f, lp, got, N_CUSTOMERS + 5, &pages);
	assert_int_equal(n, N_CUSTOMERS);
	for (i = 0; i < N_CUSTOMERS; i++)
		assert_string_equal(got[i], f->ids[N_CUSTOMERS - 1 - i]);
}

static void list__sort_by_name_breaks_ties_by_id(void **state)
{
	fx *f = *state;
	const char *names[] = { "Carol", "alice", "Bob", "Carol", "Bob", "Alice", "Carol", "Bob" };
	size_t n = sizeof(names) / sizeof(names[0]), i, pages, got_n;
	char got[16][64];
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *all;

	for (i = 0; i < n; i++)
		billing_customer_free(tb_customer(f->w, f->tenant, &(tb_customer_spec){ .name = names[i] }));
	lp.sort_by = "name";
	lp.limit = 2;
	got_n = walk(f, lp, got, 16, &pages);
	assert_int_equal(got_n, n);
	assert_int_equal(pages, 4);
	/* the walk equals one big page, which is ordered by (name, id) */
	lp.limit = 100;
	all = list_ok(f, &lp);
	assert_int_equal(billing_page_count(all), n);
	for (i = 0; i < n; i++) {
		const billing_customer *c = billing_page_customer(all, i);
		assert_string_equal(billing_customer_id(c), got[i]);
		if (i > 0) {
			const billing_customer *prev = billing_page_customer(all, i - 1);
			int cmp = strcmp(billing_customer_name(prev), billing_customer_name(c));
			assert_true(cmp <= 0);
			if (cmp == 0)
				assert_true(strcmp(billing_customer_id(prev), billing_customer_id(c)) < 0);
		}
	}
	billing_page_free(all);

	/* descending, walked in pages of 3 */
	lp.order = BILLING_ORDER_DESC;
	lp.limit = 3;
	got_n = walk(f, lp, got, 16, &pages);
	assert_int_equal(got_n, n);
	lp.limit = 100;
	all = list_ok(f, &lp);
	for (i = 0; i < n; i++)
		assert_string_equal(billing_customer_id(billing_page_customer(all, i)), got[i]);
	billing_page_free(all);
}

static void list__sort_by_email_ignores_case(void **state)
{
	fx *f = *state;
	const char *emails[] = { "b@example.com", "C@example.com", "a@example.com", "D@example.com",
		"c2@example.com" };
	/* by the lower-cased address, bytewise: "c2@" sorts before "c@" ('2' < '@') */
	const char *want[] = { "a@example.com", "b@example.com", "c2@example.com", "C@example.com",
		"D@example.com" };
	char got[8][64];
	size_t i, pages, n;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *all;
	for (i = 0; i < 5; i++)
		billing_customer_free(tb_customer(f->w, f->tenant, &(tb_customer_spec){ .email = emails[i] }));
	lp.sort_by = "email";
	lp.limit = 100;
	all = list_ok(f, &lp);
	assert_int_equal(billing_page_count(all), 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(billing_customer_email(billing_page_customer(all, i)), want[i]);
	lp.limit = 2;
	n = walk(f, lp, got, 8, &pages);
	assert_int_equal(n, 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(got[i], billing_customer_id(billing_page_customer(all, i)));
	billing_page_free(all);
}

/* ------------------------------------------------------------ page mode */

static void list__page_mode_reports_total_and_page_numbers(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page;
	char *cursor;
	size_t i;
	populate(f);
	lp.limit = 10;
	lp.page = 2;
	page = list_ok(f, &lp);
	assert_int_equal(billing_page_total(page), N_CUSTOMERS);
	assert_int_equal(billing_page_number(page), 2);
	assert_int_equal(billing_page_limit(page), 10);
	assert_int_equal(billing_page_count(page), 10);
	assert_true(billing_page_has_more(page));
	for (i = 0; i < 10; i++)
		assert_string_equal(billing_customer_id(billing_page_customer(page, i)), f->ids[10 + i]);
	/* a page's cursor goes on, in cursor mode, right after it */
	cursor = strdup(billing_page_next_cursor(page));
	billing_page_free(page);
	lp.page = 0;
	lp.starting_after = cursor;
	page = list_ok(f, &lp);
	assert_int_equal(billing_page_total(page), -1);
	assert_int_equal(billing_page_number(page), 0);
	assert_string_equal(billing_customer_id(billing_page_customer(page, 0)), f->ids[20]);
	billing_page_free(page);
	free(cursor);
	lp.starting_after = NULL;

	lp.page = 6;
	page = list_ok(f, &lp);
	assert_int_equal(billing_page_count(page), 7);
	assert_false(billing_page_has_more(page));
	assert_null(billing_page_next_cursor(page));
	assert_string_equal(billing_customer_id(billing_page_customer(page, 6)), f->ids[56]);
	billing_page_free(page);

	lp.page = 7;
	page = list_ok(f, &lp);
	assert_int_equal(billing_page_count(page), 0);
	assert_int_equal(billing_page_total(page), N_CUSTOMERS);
	billing_page_free(page);
}

/* ------------------------------------------------------------ parameters */

static void list__limit_0_means_default_20_and_101_is_invalid(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page;
	populate(f);
	page = list_ok(f, &lp);
	assert_int_equal(billing_page_limit(page), 20);
	assert_int_equal(billing_page_count(page), 20);
	assert_true(billing_page_has_more(page));
	billing_page_free(page);
	lp.limit = 100;
	page = list_ok(f, &lp);
	assert_int_equal(billing_page_count(page), N_CUSTOMERS);
	assert_false(billing_page_has_more(page));
	billing_page_free(page);
	lp.limit = 101;
	list_refused(f, &lp, "limit");
	page = list_ok(f, NULL); /* NULL params: defaults */
	assert_int_equal(billing_page_count(page), 20);
	billing_page_free(page);
}

static void list__rejects_unknown_sort_order_and_version(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	lp.sort_by = "password";
	list_refused(f, &lp, "sortBy");
	lp.sort_by = "Name"; /* exact spelling */
	list_refused(f, &lp, "sortBy");
	lp.sort_by = NULL;
	lp.order = (billing_order)7;
	list_refused(f, &lp, "order");
	lp.order = BILLING_ORDER_DEFAULT;
	lp.version = 0;
	list_refused(f, &lp, "version");
	tb_assert_rc(billing_customer_list(NULL, f->w->ctx, &f->admin, NULL), BILLING_EINVALID);
	tb_assert_field("out");
	assert_null(page);
}

static void list__rejects_page_with_cursor(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page;
	char *cursor;
	populate(f);
	lp.limit = 5;
	page = list_ok(f, &lp);
	cursor = strdup(billing_page_next_cursor(page));
	billing_page_free(page);
	lp.starting_after = cursor;
	lp.page = 2;
	list_refused(f, &lp, "startingAfter");
	free(cursor);
}

/* ------------------------------------------------------------ cursors */

static char *first_cursor(fx *f, const billing_list_params *lp)
{
	billing_page *page = list_ok(f, lp);
	char *cursor;
	assert_non_null(billing_page_next_cursor(page));
	cursor = strdup(billing_page_next_cursor(page));
	billing_page_free(page);
	return cursor;
}

static void list__rejects_altered_cursor_at_every_position(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page;
	char *cursor, *forged;
	size_t i, len;
	populate(f);
	lp.limit = 10;
	cursor = first_cursor(f, &lp);
	len = strlen(cursor);
	forged = strdup(cursor);
	for (i = 0; i < len; i++) {
		strcpy(forged, cursor);
		forged[i] = cursor[i] == 'A' ? 'B' : 'A';
		lp.starting_after = forged;
		list_refused(f, &lp, "startingAfter");
	}
	/* the original still works */
	lp.starting_after = cursor;
	page = list_ok(f, &lp);
	assert_string_equal(billing_customer_id(billing_page_customer(page, 0)), f->ids[10]);
	billing_page_free(page);
	free(forged);
	free(cursor);
}

static void list__rejects_garbage_cursor(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	const char *garbage[] = { "", "garbage", ".", "abc.def", "Yzk.AAAAAAAAAAAAAAAAAAAAAA",
		"!!!!.!!!!", "YzEKLQ.AAAAAAAAAAAAAAAAAAAAAA" };
	size_t i;
	populate(f);
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		lp.starting_after = garbage[i];
		list_refused(f, &lp, "startingAfter");
	}
}

static void list__rejects_cursor_from_another_query(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	const char *other = tb_tenant(f->w, "Other");
	billing_principal their_admin = tb_admin(other);
	billing_page *page = NULL;
	char *cursor, *search_cursor;
	populate(f);
	lp.limit = 5;
	cursor = first_cursor(f, &lp);
	lp.search = "customer";
	search_cursor = first_cursor(f, &lp);

	lp.search = NULL;
	lp.starting_after = cursor;
	lp.sort_by = "name";
	list_refused(f, &lp, "startingAfter");
	lp.sort_by = "email";
	list_refused(f, &lp, "startingAfter");
	lp.sort_by = NULL;
	lp.order = BILLING_ORDER_DESC;
	list_refused(f, &lp, "startingAfter");
	lp.order = BILLING_ORDER_DEFAULT;
	lp.search = "customer1";
	list_refused(f, &lp, "startingAfter");
	lp.search = "Customer"; /* another search text, even if it matches alike */
	lp.starting_after = search_cursor;
	list_refused(f, &lp, "startingAfter");
	lp.search = NULL; /* a search cursor without the search */
	list_refused(f, &lp, "startingAfter");
	lp.starting_after = cursor;
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &their_admin, &lp), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	assert_null(page);
	/* and a customer cursor on the product list */
	{
		billing_product_list_params pp = BILLING_PRODUCT_LIST_PARAMS_INIT;
		pp.list.starting_after = cursor;
		tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &pp), BILLING_EINVALID);
		tb_assert_field("startingAfter");
	}
	/* the same query accepts it */
	lp.starting_after = search_cursor;
	lp.search = "customer";
	page = list_ok(f, &lp);
	assert_string_equal(billing_customer_id(billing_page_customer(page, 0)), f->ids[5]);
	billing_page_free(page);
	free(cursor);
	free(search_cursor);
}

/* ------------------------------------------------------------ search */

static size_t search_count(fx *f, const char *q)
{
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page;
	size_t n;
	lp.search = q;
	lp.limit = 100;
	page = list_ok(f, &lp);
	n = billing_page_count(page);
	billing_page_free(page);
	return n;
}

static void list__search_matches_like_wildcards_literally(void **state)
{
	fx *f = *state;
	const char *names[] = { "100% Cotton", "100 Cotton", "a_b", "axb", "back\\slash", "Ada" };
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page;
	size_t i;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		billing_customer_free(tb_customer(f->w, f->tenant, &(tb_customer_spec){ .name = names[i] }));
	assert_int_equal(search_count(f, "%"), 1);
	assert_int_equal(search_count(f, "0%"), 1);
	assert_int_equal(search_count(f, "_"), 1);
	assert_int_equal(search_count(f, "a_b"), 1);
	assert_int_equal(search_count(f, "\\"), 1);
	assert_int_equal(search_count(f, "ADA"), 1);      /* case-insensitive */
	assert_int_equal(search_count(f, "cotton"), 2);
	assert_int_equal(search_count(f, "example.com"), 6); /* e-mail is searched too */
	assert_int_equal(search_count(f, "nobody"), 0);
	assert_int_equal(search_count(f, ""), 6);
	lp.search = "%";
	lp.limit = 100;
	page = list_ok(f, &lp);
	assert_string_equal(billing_customer_name(billing_page_customer(page, 0)), "100% Cotton");
	billing_page_free(page);
	lp.search = "_";
	page = list_ok(f, &lp);
	assert_string_equal(billing_customer_name(billing_page_customer(page, 0)), "a_b");
	billing_page_free(page);
}

static void list__search_with_page_mode_counts_matches_only(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page;
	populate(f); /* customer1@.. customer57@.. */
	lp.search = "customer5";  /* 5, 50..57 */
	lp.page = 1;
	lp.limit = 4;
	page = list_ok(f, &lp);
	assert_int_equal(billing_page_total(page), 9);
	assert_int_equal(billing_page_count(page), 4);
	billing_page_free(page);
}

/* ------------------------------------------------------------ filters */

static void list__product_filters_price_range_and_active(void **state)
{
	fx *f = *state;
	int64_t prices[] = { 0, 500, 1000, 1500, 2000 };
	billing_product_list_params pp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	size_t i;
	for (i = 0; i < 5; i++) {
		billing_product_params p = BILLING_PRODUCT_PARAMS_INIT;
		billing_product *prod = NULL;
		char sku[16];
		snprintf(sku, sizeof(sku), "P-%zu", i);
		p.name = sku;
		p.sku = sku;
		p.price_cents = prices[i];
		p.is_active = i % 2 ? BILLING_FALSE : BILLING_TRUE;
		tb_assert_rc(billing_product_create(&prod, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
		billing_product_free(prod);
	}
	pp.has_min_price = 1;
	pp.min_price_cents = 500;
	pp.has_max_price = 1;
	pp.max_price_cents = 1500;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &pp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 3);
	for (i = 0; i < 3; i++) {
		int64_t price = billing_product_price_cents(billing_page_product(page, i));
		assert_true(price >= 500 && price <= 1500);
	}
	billing_page_free(page);
	page = NULL;
	pp.is_active = BILLING_FALSE;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &pp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2); /* 500 and 1500 */
	assert_false(billing_product_is_active(billing_page_product(page, 0)));
	billing_page_free(page);
	page = NULL;
	pp.has_min_price = pp.has_max_price = 0;
	pp.is_active = BILLING_TRUE;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &pp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 3);
	billing_page_free(page);
	page = NULL;
	pp.is_active = BILLING_UNSET;
	pp.has_min_price = 1;
	pp.min_price_cents = 2000;
	pp.has_max_price = 1;
	pp.max_price_cents = 1000;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &pp), BILLING_EINVALID);
	tb_assert_field("minPriceCents");
	pp.min_price_cents = -1;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &pp), BILLING_EINVALID);
	tb_assert_field("minPriceCents");
	assert_null(page);
}

static void list__plan_filters_active_currency_and_product(void **state)
{
	fx *f = *state;
	billing_product *eur = tb_product(f->w, f->tenant, NULL);
	billing_product *usd = tb_product(f->w, f->tenant, &(tb_product_spec){ .currency = "USD" });
	billing_product *theirs = tb_product(f->w, tb_tenant(f->w, "Other"), NULL);
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	billing_plan *plans[4];
	size_t i;

	plans[0] = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = billing_product_id(eur) });
	plans[1] = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = billing_product_id(eur),
		.active = BILLING_FALSE });
	plans[2] = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = billing_product_id(usd) });
	plans[3] = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = billing_product_id(eur),
		.currency = "USD" });

	lp.active = BILLING_TRUE;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 3);
	billing_page_free(page);
	page = NULL;
	lp.active = BILLING_FALSE;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_plan_id(billing_page_plan(page, 0)), billing_plan_id(plans[1]));
	billing_page_free(page);
	page = NULL;
	lp.active = BILLING_UNSET;
	lp.currency = "usd";
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2);
	for (i = 0; i < 2; i++)
		assert_string_equal(billing_plan_currency(billing_page_plan(page, i)), "USD");
	billing_page_free(page);
	page = NULL;
	lp.currency = NULL;
	lp.product_id = billing_product_id(eur);
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(billing_plan_product_id(billing_page_plan(page, i)),
			billing_product_id(eur));
	billing_page_free(page);
	page = NULL;
	lp.currency = "USD";
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_plan_id(billing_page_plan(page, 0)), billing_plan_id(plans[3]));
	billing_page_free(page);
	page = NULL;

	lp.currency = "ABC";
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("currency");
	lp.currency = NULL;
	lp.product_id = billing_product_id(theirs);
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("productId");
	assert_string_equal(billing_error_last()->reason, "resource_missing");
	lp.product_id = "garbage";
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("productId");
	assert_null(page);

	for (i = 0; i < 4; i++)
		billing_plan_free(plans[i]);
	billing_product_free(eur);
	billing_product_free(usd);
	billing_product_free(theirs);
}

static void list__filtered_cursor_rejected_with_other_filters(void **state)
{
	fx *f = *state;
	billing_product_list_params pp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	char *cursor;
	int i;
	for (i = 0; i < 4; i++)
		billing_product_free(tb_product(f->w, f->tenant, &(tb_product_spec){ .price_cents = 100 + i }));
	pp.list.limit = 1;
	pp.has_min_price = 1;
	pp.min_price_cents = 100;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &pp), BILLING_OK);
	cursor = strdup(billing_page_next_cursor(page));
	billing_page_free(page);
	page = NULL;
	pp.list.starting_after = cursor;
	pp.min_price_cents = 101;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &pp), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	pp.min_price_cents = 100;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &pp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_int_equal(billing_product_price_cents(billing_page_product(page, 0)), 101);
	billing_page_free(page);
	free(cursor);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(list__keyset_pages_visit_each_customer_once_in_creation_order),
		T(list__keyset_desc_visits_in_reverse_creation_order),
		T(list__sort_by_name_breaks_ties_by_id),
		T(list__sort_by_email_ignores_case),
		T(list__page_mode_reports_total_and_page_numbers),
		T(list__limit_0_means_default_20_and_101_is_invalid),
		T(list__rejects_unknown_sort_order_and_version),
		T(list__rejects_page_with_cursor),
		T(list__rejects_altered_cursor_at_every_position),
		T(list__rejects_garbage_cursor),
		T(list__rejects_cursor_from_another_query),
		T(list__search_matches_like_wildcards_literally),
		T(list__search_with_page_mode_counts_matches_only),
		T(list__product_filters_price_range_and_active),
		T(list__plan_filters_active_currency_and_product),
		T(list__filtered_cursor_rejected_with_other_filters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
