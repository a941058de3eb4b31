/*
 * The plan and product lists (list.c's own suite pages customers): keyset
 * pages under every sort these lists offer beyond createdAt and name (plans
 * by code and by amount, products by sku and by price), ascending and
 * descending, visit every row once in the sort's order with ties broken by
 * id; their filters; and their bad filters, named by field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

#define N 7

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char product_id[64];
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	billing_product *p;
	assert_non_null(f);
	f->w = tb_world_new();
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	p = tb_product(f->w, f->t, &(tb_product_spec){ .sku = "BASE", .price_cents = 5 });
	snprintf(f->product_id, sizeof(f->product_id), "%s", billing_product_id(p));
	billing_product_free(p);
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

typedef struct {
	char id[64];
	char text[64];   /* code or sku */
	int64_t num;     /* amount or price */
} row;

/* Every row of the list, page by page (limit 2) with cursors. */
static size_t walk_plans(fx *f, billing_plan_list_params lp, row *out, size_t cap)
{
	size_t n = 0, i;
	char *cursor = NULL;
	lp.list.limit = 2;
	for (;;) {
		billing_page *page = NULL;
		lp.list.starting_after = cursor;
		tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
		for (i = 0; i < billing_page_count(page); i++) {
			const billing_plan *p = billing_page_plan(page, i);
			assert_true(n < cap);
			snprintf(out[n].id, sizeof(out[n].id), "%s", billing_plan_id(p));
			snprintf(out[n].text, sizeof(out[n].text), "%s", billing_plan_code(p));
			out[n++].num = billing_plan_amount(p);
		}
		free(cursor);
		cursor = NULL;
		if (!billing_page_has_more(page)) {
			billing_page_free(page);
			return n;
		}
		assert_int_equal(billing_page_count(page), 2);
		cursor = strdup(billing_page_next_cursor(page));
		assert_non_null(cursor);
		billing_page_free(page);
	}
}

static size_t walk_products(fx *f, billing_product_list_params lp, row *out, size_t cap)
{
	size_t n = 0, i;
	char *cursor = NULL;
	lp.list.limit = 2;
	for (;;) {
		billing_page *page = NULL;
		lp.list.starting_after = cursor;
		tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
		for (i = 0; i < billing_page_count(page); i++) {
			const billing_product *p = billing_page_product(page, i);
			assert_true(n < cap);
			snprintf(out[n].id, sizeof(out[n].id), "%s", billing_product_id(p));
			snprintf(out[n].text, sizeof(out[n].text), "%s", billing_product_sku(p));
			out[n++].num = billing_product_price_cents(p);
		}
		free(cursor);
		cursor = NULL;
		if (!billing_page_has_more(page)) {
			billing_page_free(page);
			return n;
		}
		assert_int_equal(billing_page_count(page), 2);
		cursor = strdup(billing_page_next_cursor(page));
		assert_non_null(cursor);
		billing_page_free(page);
	}
}

/* Asserts rows are in order by text (by_text) or by num, ties by id,
 * ascending or descending, and that no id appears twice. */
static void assert_sorted(const row *r, size_t n, int by_text, int desc)
{
	size_t i, j;
	for (i = 1; i < n; i++) {
		int c = by_text ? strcmp(r[i - 1].text, r[i].text) :
			(r[i - 1].num > r[i].num) - (r[i - 1].num < r[i].num);
		if (c == 0)
			c = strcmp(r[i - 1].id, r[i].id);
		if (desc ? c <= 0 : c >= 0) {
			print_error("row %zu (%s %s %lld) is out of order after (%s %s %lld)\n", i,
				r[i].id, r[i].text, (long long)r[i].num, r[i - 1].id, r[i - 1].text,
				(long long)r[i - 1].num);
			fail();
		}
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			assert_string_not_equal(r[i].id, r[j].id);
}

/* Codes and amounts in an order that is neither creation order nor each
 * other's; two amounts tie. */
static const char *const codes[N] = { "PLAN-E", "PLAN-A", "PLAN-G", "PLAN-C", "PLAN-B",
	"PLAN-F", "PLAN-D" };
static const int64_t amounts[N] = { 300, 700, 100, 300, 900, 200, 300 };

static void make_plans(fx *f)
{
	size_t i;
	for (i = 0; i < N; i++) {
		billing_plan *p = tb_plan(f->w, f->t, &(tb_plan_spec){ .product_id = f->product_id,
			.code = codes[i], .amount = amounts[i] });
		billing_plan_free(p);
		f->w->now += i % 2;
	}
}

static void plan_list__sorted_by_code_or_amount_pages_visit_each_once_in_order(void **state)
{
	fx *f = *state;
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	row r[N + 1];
	size_t n;

	make_plans(f);
	lp.list.sort_by = "code";
	n = walk_plans(f, lp, r, N + 1);
	assert_int_equal(n, N);
	assert_sorted(r, n, 1, 0);
	assert_string_equal(r[0].text, "PLAN-A");
	assert_string_equal(r[N - 1].text, "PLAN-G");
	lp.list.order = BILLING_ORDER_DESC;
	n = walk_plans(f, lp, r, N + 1);
	assert_int_equal(n, N);
	assert_sorted(r, n, 1, 1);

	lp.list.sort_by = "amount";
	lp.list.order = BILLING_ORDER_ASC;
	n = walk_plans(f, lp, r, N + 1);
	assert_int_equal(n, N);
	assert_sorted(r, n, 0, 0);
	assert_int_equal(r[0].num, 100);
	assert_int_equal(r[N - 1].num, 900);
	lp.list.order = BILLING_ORDER_DESC;
	n = walk_plans(f, lp, r, N + 1);
	assert_int_equal(n, N);
	assert_sorted(r, n, 0, 1);
}

static void plan_list__a_cursor_of_one_sort_is_refused_by_another(void **state)
{
	fx *f = *state;
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	char *cursor;

	make_plans(f);
	lp.list.sort_by = "code";
	lp.list.limit = 2;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	cursor = strdup(billing_page_next_cursor(page));
	billing_page_free(page);
	page = NULL;
	lp.list.sort_by = "amount";
	lp.list.starting_after = cursor;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	assert_null(page);
	free(cursor);
}

static void plan_list__filters_by_active_currency_and_product(void **state)
{
	fx *f = *state;
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_product *other = tb_product(f->w, f->t, &(tb_product_spec){ .currency = "USD" });
	billing_plan *a, *b, *c;
	billing_page *page = NULL;

	a = tb_plan(f->w, f->t, &(tb_plan_spec){ .product_id = f->product_id });
	b = tb_plan(f->w, f->t, &(tb_plan_spec){ .product_id = f->product_id,
		.active = BILLING_FALSE });
	c = tb_plan(f->w, f->t, &(tb_plan_spec){ .product_id = billing_product_id(other) });

	lp.active = BILLING_FALSE;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_plan_id(billing_page_plan(page, 0)), billing_plan_id(b));
	billing_page_free(page);

	lp.active = BILLING_TRUE;
	lp.currency = "USD";
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_plan_id(billing_page_plan(page, 0)), billing_plan_id(c));
	billing_page_free(page);

	lp.currency = NULL;
	lp.product_id = f->product_id;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_plan_id(billing_page_plan(page, 0)), billing_plan_id(a));
	billing_page_free(page);

	billing_plan_free(a);
	billing_plan_free(b);
	billing_plan_free(c);
	billing_product_free(other);
}

static void plan_list__bad_filters_name_their_field(void **state)
{
	fx *f = *state;
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	lp.version = 0;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("version");
	lp.version = BILLING_PLAN_LIST_PARAMS_VERSION + 1;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("version");
	lp.version = BILLING_PLAN_LIST_PARAMS_VERSION;
	lp.active = (billing_tristate)3;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("active");
	lp.active = BILLING_UNSET;
	lp.list.sort_by = "priceCents";   /* a product sort, not a plan's */
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("sortBy");
	assert_null(page);
}

/* ------------------------------------------------------------ products */

static const char *const skus[N] = { "SKU-Q", "SKU-K", "SKU-Z", "SKU-M", "SKU-A", "SKU-X",
	"SKU-C" };

static void make_products(fx *f)
{
	size_t i;
	for (i = 0; i < N; i++) {
		billing_product *p = tb_product(f->w, f->t, &(tb_product_spec){ .sku = skus[i],
			.price_cents = amounts[i] });
		billing_product_free(p);
		f->w->now += i % 2;
	}
}

static void product_list__sorted_by_sku_or_price_pages_visit_each_once_in_order(void **state)
{
	fx *f = *state;
	billing_product_list_params lp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	row r[N + 2];
	size_t n;

	make_products(f);      /* and BASE, price 5, from setup */
	lp.list.sort_by = "sku";
	n = walk_products(f, lp, r, N + 2);
	assert_int_equal(n, N + 1);
	assert_sorted(r, n, 1, 0);
	assert_string_equal(r[0].text, "BASE");
	assert_string_equal(r[N].text, "SKU-Z");
	lp.list.order = BILLING_ORDER_DESC;
	n = walk_products(f, lp, r, N + 2);
	assert_int_equal(n, N + 1);
	assert_sorted(r, n, 1, 1);

	lp.list.sort_by = "priceCents";
	lp.list.order = BILLING_ORDER_DEFAULT;
	n = walk_products(f, lp, r, N + 2);
	assert_int_equal(n, N + 1);
	assert_sorted(r, n, 0, 0);
	assert_int_equal(r[0].num, 5);
	lp.list.order = BILLING_ORDER_DESC;
	n = walk_products(f, lp, r, N + 2);
	assert_int_equal(n, N + 1);
	assert_sorted(r, n, 0, 1);
}

static void product_list__price_range_and_active_filters(void **state)
{
	fx *f = *state;
	billing_product_list_params lp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	row r[N + 2];
	size_t n, i;

	make_products(f);
	lp.has_min_price = 1;
	lp.min_price_cents = 300;
	lp.has_max_price = 1;
	lp.max_price_cents = 700;
	n = walk_products(f, lp, r, N + 2);
	assert_int_equal(n, 4);       /* 300, 700, 300, 300: both bounds included */
	for (i = 0; i < n; i++)
		assert_true(r[i].num >= 300 && r[i].num <= 700);
	/* min == max is a range of one price */
	lp.min_price_cents = 700;
	n = walk_products(f, lp, r, N + 2);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].text, "SKU-K");

	{
		billing_product *off = tb_product(f->w, f->t, &(tb_product_spec){ .price_cents = 700,
			.is_active = BILLING_FALSE });
		lp.is_active = BILLING_FALSE;
		n = walk_products(f, lp, r, N + 2);
		assert_int_equal(n, 1);
		assert_string_equal(r[0].id, billing_product_id(off));
		lp.is_active = BILLING_TRUE;
		n = walk_products(f, lp, r, N + 2);
		assert_int_equal(n, 1);
		assert_string_equal(r[0].text, "SKU-K");
		billing_product_free(off);
	}
}

static void product_list__bad_filters_name_their_field(void **state)
{
	fx *f = *state;
	billing_product_list_params lp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	lp.version = 0;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("version");
	lp.version = BILLING_PRODUCT_LIST_PARAMS_VERSION + 1;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("version");
	lp.version = BILLING_PRODUCT_LIST_PARAMS_VERSION;

	lp.has_min_price = 1;
	lp.min_price_cents = -1;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("minPriceCents");
	lp.has_min_price = 0;
	lp.has_max_price = 1;
	lp.max_price_cents = -1;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("maxPriceCents");
	lp.has_min_price = 1;
	lp.min_price_cents = 500;
	lp.max_price_cents = 499;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("minPriceCents");
	lp.has_min_price = lp.has_max_price = 0;

	lp.is_active = (billing_tristate)3;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("isActive");
	lp.is_active = BILLING_UNSET;
	lp.list.sort_by = "code";        /* a plan sort, not a product's */
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("sortBy");
	assert_null(page);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(plan_list__sorted_by_code_or_amount_pages_visit_each_once_in_order),
		T(plan_list__a_cursor_of_one_sort_is_refused_by_another),
		T(plan_list__filters_by_active_currency_and_product),
		T(plan_list__bad_filters_name_their_field),
		T(product_list__sorted_by_sku_or_price_pages_visit_each_once_in_order),
		T(product_list__price_range_and_active_filters),
		T(product_list__bad_filters_name_their_field),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
