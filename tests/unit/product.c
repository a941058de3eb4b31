/*
 * Unit tests for product.c: validation of every field (exact code and
 * field), defaults and normalization, partial updates with versions, and
 * delete refused while any plan, even a deleted one, references the product.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tb.h"

typedef tb_fx fx;   /* a world with tenant "Acme" and its ADMIN (tb.h) */

static int64_t product_count(fx *f)
{
	billing_product_list_params lp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t total;
	lp.list.page = 1;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	total = billing_page_total(page);
	billing_page_free(page);
	return total;
}

static billing_product_params valid_params(void)
{
	billing_product_params p = BILLING_PRODUCT_PARAMS_INIT;
	p.name = "Widget";
	p.sku = "WID-1";
	p.price_cents = 1000;
	return p;
}

static void create_refused(fx *f, const billing_product_params *p, int want, const char *field)
{
	billing_product *prod = NULL;
	int64_t before = product_count(f);
	tb_assert_rc(billing_product_create(&prod, f->w->ctx, &f->admin, p, NULL), want);
	if (field)
		tb_assert_field(field);
	assert_null(prod);
	assert_int_equal(product_count(f), before);
}

static billing_product *create_ok(fx *f, const billing_product_params *p)
{
	billing_product *prod = NULL;
	tb_assert_rc(billing_product_create(&prod, f->w->ctx, &f->admin, p, NULL), BILLING_OK);
	assert_non_null(prod);
	return prod;
}

static char *repeat(const char *unit, size_t n)
{
	size_t ul = strlen(unit), i;
	char *s = malloc(ul * n + 1);
	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

static billing_product *get(fx *f, const char *id)
{
	billing_product *p = NULL;
	tb_assert_rc(billing_product_get(&p, f->w->ctx, &f->admin, id), BILLING_OK);
	return p;
}

/* ------------------------------------------------------------ arguments */

static void product_create__rejects_null_arguments_and_version_0(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod = NULL;
	tb_assert_rc(billing_product_create(NULL, f->w->ctx, &f->admin, &p, NULL), BILLING_EINVALID);
	tb_assert_field("out");
	tb_assert_rc(billing_product_create(&prod, NULL, &f->admin, &p, NULL), BILLING_EINVALID);
	tb_assert_field("ctx");
	tb_assert_rc(billing_product_create(&prod, f->w->ctx, NULL, &p, NULL), BILLING_EINVALID);
	tb_assert_field("principal");
	tb_assert_rc(billing_product_create(&prod, f->w->ctx, &f->admin, NULL, NULL), BILLING_EINVALID);
	tb_assert_field("params");
	p.version = 0;
	create_refused(f, &p, BILLING_EINVALID, "version");
	assert_int_equal(product_count(f), 0);
}

static void product_create__forbidden_for_user_role(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_principal user = tb_user(f->tenant);
	billing_product *prod = NULL;
	tb_assert_rc(billing_product_create(&prod, f->w->ctx, &user, &p, NULL), BILLING_EFORBIDDEN);
	assert_null(prod);
	assert_int_equal(product_count(f), 0);
}

/* ------------------------------------------------------------ defaults */

static void product_create__applies_defaults(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod = create_ok(f, &p), *got = get(f, billing_product_id(prod));
	assert_string_equal(billing_product_currency(got), "EUR");
	assert_int_equal(billing_product_is_active(got), 1);
	assert_int_equal(billing_product_tax_rate_bp(got), 0);
	assert_int_equal(billing_product_stock(got), 0);
	assert_null(billing_product_description(got));
	assert_int_equal(billing_product_version(got), 1);
	assert_int_equal(billing_product_created_at(got), f->w->now);
	assert_string_equal(billing_product_tenant_id(got), f->tenant);
	assert_int_equal(strncmp(billing_product_id(got), "prod_", 5), 0);
	billing_product_free(prod);
	billing_product_free(got);
}

/* ------------------------------------------------------------ name, sku */

static void product_create__rejects_bad_name(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	char *n200 = repeat("\xc3\xa9", 200), *n201 = repeat("n", 201);
	billing_product *prod;
	p.name = NULL;
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = " \t ";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = n201;
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "Wid\tget";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "Wid\xc2\x85get";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "\xfe";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = n200;
	prod = create_ok(f, &p);
	billing_product_free(prod);
	free(n200);
	free(n201);
}

static void product_create__stores_trimmed_name(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod, *got;
	p.name = "  Widget  ";
	prod = create_ok(f, &p);
	got = get(f, billing_product_id(prod));
	assert_string_equal(billing_product_name(got), "Widget");
	billing_product_free(prod);
	billing_product_free(got);
}

static void product_create__enforces_sku_pattern(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	char *s64 = repeat("a", 64), *s65 = repeat("a", 65);
	const char *bad[] = { NULL, "", "WID 1", "WID/1", "WID\xc3\xa9", "WID\t1", "WID+1" };
	billing_product *prod;
	size_t i;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.sku = bad[i];
		create_refused(f, &p, BILLING_EINVALID, "sku");
	}
	p.sku = s65;
	create_refused(f, &p, BILLING_EINVALID, "sku");
	p.sku = s64;
	prod = create_ok(f, &p);
	billing_product_free(prod);
	p.sku = "aZ09._-";
	prod = create_ok(f, &p);
	assert_string_equal(billing_product_sku(prod), "aZ09._-");
	billing_product_free(prod);
	free(s64);
	free(s65);
}

static void product_create__rejects_sku_taken_in_tenant(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod = create_ok(f, &p), *other;
	p.name = "Another";
	create_refused(f, &p, BILLING_EEXISTS, "sku");
	/* another tenant may use it */
	other = tb_product(f->w, tb_tenant(f->w, "Other"), &(tb_product_spec){ .sku = "WID-1" });
	billing_product_free(prod);
	billing_product_free(other);
}

/* ------------------------------------------------------------ money */

static void product_create__enforces_price_range(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod;
	p.price_cents = -1;
	create_refused(f, &p, BILLING_EINVALID, "priceCents");
	p.price_cents = BILLING_AMOUNT_MAX + 1;
	create_refused(f, &p, BILLING_EINVALID, "priceCents");
	p.price_cents = INT64_MIN;
	create_refused(f, &p, BILLING_EINVALID, "priceCents");
	p.price_cents = BILLING_AMOUNT_MAX;
	prod = create_ok(f, &p);
	assert_int_equal(billing_product_price_cents(prod), BILLING_AMOUNT_MAX);
	billing_product_free(prod);
	p.sku = "FREE";
	p.price_cents = 0;
	prod = create_ok(f, &p);
	assert_int_equal(billing_product_price_cents(prod), 0);
	billing_product_free(prod);
}

static void product_create__enforces_currency(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod, *got;
	const char *bad[] = { "ABC", "", "EU", "EURO", " EUR", "XXX1" };
	size_t i;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.currency = bad[i];
		create_refused(f, &p, BILLING_EINVALID, "currency");
	}
	p.currency = "usd";
	prod = create_ok(f, &p);
	assert_string_equal(billing_product_currency(prod), "USD");
	got = get(f, billing_product_id(prod));
	assert_string_equal(billing_product_currency(got), "USD");
	billing_product_free(prod);
	billing_product_free(got);
}

static void product_create__enforces_tax_rate_range(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod;
	p.tax_rate_bp = 10000;
	create_refused(f, &p, BILLING_EINVALID, "taxRate");
	p.tax_rate_bp = -1;
	create_refused(f, &p, BILLING_EINVALID, "taxRate");
	p.tax_rate_bp = 9999;
	prod = create_ok(f, &p);
	assert_int_equal(billing_product_tax_rate_bp(prod), 9999);
	billing_product_free(prod);
}

static void product_create__rejects_negative_stock_and_threshold(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod;
	p.stock = -1;
	create_refused(f, &p, BILLING_EINVALID, "stock");
	p.stock = 5;
	p.low_stock_threshold = -1;
	create_refused(f, &p, BILLING_EINVALID, "lowStockThreshold");
	p.low_stock_threshold = 2;
	prod = create_ok(f, &p);
	assert_int_equal(billing_product_stock(prod), 5);
	assert_int_equal(billing_product_low_stock_threshold(prod), 2);
	billing_product_free(prod);
}

static void product_create__reports_every_bad_field(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod = NULL;
	const billing_error *e;
	p.name = "";
	p.price_cents = -5;
	p.currency = "ABC";
	tb_assert_rc(billing_product_create(&prod, f->w->ctx, &f->admin, &p, NULL), BILLING_EINVALID);
	tb_assert_field("name");
	e = billing_error_last();
	assert_int_equal(e->field_error_count, 3);
	assert_string_equal(e->field_errors[1].field, "priceCents");
	assert_string_equal(e->field_errors[2].field, "currency");
	assert_null(prod);
	assert_int_equal(product_count(f), 0);
}

static void product_create__rejects_bad_metadata(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_metadata_entry md[2] = { { "a", "1" }, { "a", "2" } };
	p.metadata = md;
	p.metadata_count = 2;
	create_refused(f, &p, BILLING_EINVALID, "metadata");
}

/* ------------------------------------------------------------ description */

static void product_create__keeps_null_description_null_and_empty_empty(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *a, *b, *ga, *gb;
	p.description = NULL;
	a = create_ok(f, &p);
	p.sku = "WID-2";
	p.description = "";
	b = create_ok(f, &p);
	ga = get(f, billing_product_id(a));
	gb = get(f, billing_product_id(b));
	assert_null(billing_product_description(ga));
	assert_non_null(billing_product_description(gb));
	assert_string_equal(billing_product_description(gb), "");
	billing_product_free(a);
	billing_product_free(b);
	billing_product_free(ga);
	billing_product_free(gb);
}

static void product_create__enforces_description_rules(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	char *d2000 = repeat("\xc3\xa9", 2000), *d2001 = repeat("d", 2001);
	billing_product *prod;
	p.description = d2001;
	create_refused(f, &p, BILLING_EINVALID, "description");
	p.description = "bell\x07";
	create_refused(f, &p, BILLING_EINVALID, "description");
	p.description = "bad \xff";
	create_refused(f, &p, BILLING_EINVALID, "description");
	p.description = d2000;
	prod = create_ok(f, &p);
	billing_product_free(prod);
	p.sku = "WID-2";
	p.description = "line one\nline\ttwo"; /* multi-line text is allowed */
	prod = create_ok(f, &p);
	assert_string_equal(billing_product_description(prod), "line one\nline\ttwo");
	billing_product_free(prod);
	free(d2000);
	free(d2001);
}

/* ------------------------------------------------------------ update */

static void product_update__changes_only_fields_given_and_bumps_version(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod, *res = NULL, *got;
	p.description = "A fine widget";
	p.currency = "USD";
	p.tax_rate_bp = 825;
	p.stock = 9;
	prod = create_ok(f, &p);
	f->w->now += 30;

	memset(&p, 0, sizeof(p));
	p.version = BILLING_PRODUCT_PARAMS_VERSION;
	p.fields = BILLING_PRODUCT_PRICE;
	p.price_cents = 1500;
	p.name = "Ignored"; /* no bit */
	tb_assert_rc(billing_product_update(&res, f->w->ctx, &f->admin, billing_product_id(prod), &p,
		NULL), BILLING_OK);
	assert_int_equal(billing_product_price_cents(res), 1500);
	assert_int_equal(billing_product_version(res), 2);
	got = get(f, billing_product_id(prod));
	assert_int_equal(billing_product_price_cents(got), 1500);
	assert_string_equal(billing_product_name(got), "Widget");
	assert_string_equal(billing_product_description(got), "A fine widget");
	assert_string_equal(billing_product_currency(got), "USD");
	assert_int_equal(billing_product_tax_rate_bp(got), 825);
	assert_int_equal(billing_product_is_active(got), 1);
	assert_int_equal(billing_product_stock(got), 9);
	assert_int_equal(billing_product_version(got), 2);
	assert_int_equal(billing_product_updated_at(got), f->w->now);
	assert_int_equal(billing_product_created_at(got), f->w->now - 30);
	billing_product_free(prod);
	billing_product_free(res);
	billing_product_free(got);
}

static void product_update__clears_description_and_deactivates(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod, *res = NULL;
	p.description = "text";
	prod = create_ok(f, &p);
	memset(&p, 0, sizeof(p));
	p.version = BILLING_PRODUCT_PARAMS_VERSION;
	p.fields = BILLING_PRODUCT_DESCRIPTION | BILLING_PRODUCT_ACTIVE | BILLING_PRODUCT_CURRENCY;
	p.description = NULL;
	p.is_active = BILLING_FALSE;
	p.currency = "gbp";
	tb_assert_rc(billing_product_update(&res, f->w->ctx, &f->admin, billing_product_id(prod), &p,
		NULL), BILLING_OK);
	assert_null(billing_product_description(res));
	assert_int_equal(billing_product_is_active(res), 0);
	assert_string_equal(billing_product_currency(res), "GBP");
	billing_product_free(prod);
	billing_product_free(res);
}

static void product_update__rejects_invalid_values_and_changes_nothing(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod = create_ok(f, &p), *res = NULL, *got;
	const char *id = billing_product_id(prod);
	struct { unsigned int bit; const char *field; } cases[] = {
		{ BILLING_PRODUCT_NAME, "name" },
		{ BILLING_PRODUCT_SKU, "sku" },
		{ BILLING_PRODUCT_PRICE, "priceCents" },
		{ BILLING_PRODUCT_CURRENCY, "currency" },
		{ BILLING_PRODUCT_TAX_RATE, "taxRate" },
		{ BILLING_PRODUCT_ACTIVE, "isActive" },
		{ BILLING_PRODUCT_STOCK, "stock" },
	};
	size_t i;

	memset(&p, 0, sizeof(p));
	p.version = BILLING_PRODUCT_PARAMS_VERSION;
	p.name = "  ";
	p.sku = "bad sku";
	p.price_cents = -1;
	p.currency = "ABC";
	p.tax_rate_bp = 10000;
	p.is_active = BILLING_UNSET; /* a bit asks for a value */
	p.stock = -1;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p.fields = cases[i].bit;
		tb_assert_rc(billing_product_update(&res, f->w->ctx, &f->admin, id, &p, NULL),
			BILLING_EINVALID);
		tb_assert_field(cases[i].field);
		assert_null(res);
	}
	p.fields = 0;
	tb_assert_rc(billing_product_update(&res, f->w->ctx, &f->admin, id, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("fields");
	got = get(f, id);
	assert_int_equal(billing_product_version(got), 1);
	assert_string_equal(billing_product_name(got), "Widget");
	assert_int_equal(billing_product_price_cents(got), 1000);
	billing_product_free(got);
	billing_product_free(prod);
}

static void product_update__stale_expected_version_changes_nothing(void **state)
{
	fx *f = *state;
	billing_product_params p = valid_params();
	billing_product *prod = create_ok(f, &p), *res = NULL, *got;
	memset(&p, 0, sizeof(p));
	p.version = BILLING_PRODUCT_PARAMS_VERSION;
	p.fields = BILLING_PRODUCT_PRICE;
	p.price_cents = 5;
	p.expected_version = 2;
	tb_assert_rc(billing_product_update(&res, f->w->ctx, &f->admin, billing_product_id(prod), &p,
		NULL), BILLING_ESTALE);
	tb_assert_field("expectedVersion");
	assert_null(res);
	got = get(f, billing_product_id(prod));
	assert_int_equal(billing_product_price_cents(got), 1000);
	assert_int_equal(billing_product_version(got), 1);
	billing_product_free(got);
	p.expected_version = 1;
	tb_assert_rc(billing_product_update(&res, f->w->ctx, &f->admin, billing_product_id(prod), &p,
		NULL), BILLING_OK);
	assert_int_equal(billing_product_version(res), 2);
	billing_product_free(res);
	billing_product_free(prod);
}

static void product_update__rejects_sku_of_another_product(void **state)
{
	fx *f = *state;
	billing_product *a = tb_product(f->w, f->tenant, &(tb_product_spec){ .sku = "A-1" });
	billing_product *b = tb_product(f->w, f->tenant, &(tb_product_spec){ .sku = "B-1" });
	billing_product_params p = BILLING_PRODUCT_PARAMS_INIT;
	billing_product *res = NULL, *got;
	p.fields = BILLING_PRODUCT_SKU;
	p.sku = "A-1";
	tb_assert_rc(billing_product_update(&res, f->w->ctx, &f->admin, billing_product_id(b), &p,
		NULL), BILLING_EEXISTS);
	tb_assert_field("sku");
	got = get(f, billing_product_id(b));
	assert_string_equal(billing_product_sku(got), "B-1");
	billing_product_free(got);
	billing_product_free(a);
	billing_product_free(b);
}

/* ------------------------------------------------------------ delete */

static void product_delete__removes_an_unreferenced_product(void **state)
{
	fx *f = *state;
	billing_product *prod = tb_product(f->w, f->tenant, NULL), *got = NULL;
	tb_assert_rc(billing_product_delete(f->w->ctx, &f->admin, billing_product_id(prod), 9),
		BILLING_ESTALE);
	assert_int_equal(product_count(f), 1);
	tb_assert_rc(billing_product_delete(f->w->ctx, &f->admin, billing_product_id(prod), 1),
		BILLING_OK);
	tb_assert_rc(billing_product_get(&got, f->w->ctx, &f->admin, billing_product_id(prod)),
		BILLING_ENOTFOUND);
	assert_null(got);
	assert_int_equal(product_count(f), 0);
	tb_assert_rc(billing_product_delete(f->w->ctx, &f->admin, billing_product_id(prod), 0),
		BILLING_ENOTFOUND);
	billing_product_free(prod);
}

static void product_delete__refused_while_a_plan_references_it_even_deleted(void **state)
{
	fx *f = *state;
	billing_product *prod = tb_product(f->w, f->tenant, NULL), *got;
	billing_plan *plan = tb_plan(f->w, f->tenant,
		&(tb_plan_spec){ .product_id = billing_product_id(prod) });

	tb_assert_rc(billing_product_delete(f->w->ctx, &f->admin, billing_product_id(prod), 0),
		BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "referenced");
	got = get(f, billing_product_id(prod));
	billing_product_free(got);

	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, billing_plan_id(plan), 0), BILLING_OK);
	tb_assert_rc(billing_product_delete(f->w->ctx, &f->admin, billing_product_id(prod), 0),
		BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "referenced");
	got = get(f, billing_product_id(prod));
	assert_int_equal(billing_product_version(got), 1);
	billing_product_free(got);
	assert_int_equal(product_count(f), 1);
	billing_product_free(prod);
	billing_plan_free(plan);
}

static void product_delete__forbidden_for_user_and_not_found_across_tenants(void **state)
{
	fx *f = *state;
	billing_product *prod = tb_product(f->w, f->tenant, NULL);
	billing_principal user = tb_user(f->tenant);
	const char *other = tb_tenant(f->w, "Other");
	billing_principal their_admin = tb_admin(other);
	tb_assert_rc(billing_product_delete(f->w->ctx, &user, billing_product_id(prod), 0),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_product_delete(f->w->ctx, &their_admin, billing_product_id(prod), 0),
		BILLING_ENOTFOUND);
	assert_int_equal(product_count(f), 1);
	billing_product_free(prod);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tb_fx_setup, tb_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(product_create__rejects_null_arguments_and_version_0),
		T(product_create__forbidden_for_user_role),
		T(product_create__applies_defaults),
		T(product_create__rejects_bad_name),
		T(product_create__stores_trimmed_name),
		T(product_create__enforces_sku_pattern),
		T(product_create__rejects_sku_taken_in_tenant),
		T(product_create__enforces_price_range),
		T(product_create__enforces_currency),
		T(product_create__enforces_tax_rate_range),
		T(product_create__rejects_negative_stock_and_threshold),
		T(product_create__reports_every_bad_field),
		T(product_create__rejects_bad_metadata),
		T(product_create__keeps_null_description_null_and_empty_empty),
		T(product_create__enforces_description_rules),
		T(product_update__changes_only_fields_given_and_bumps_version),
		T(product_update__clears_description_and_deactivates),
		T(product_update__rejects_invalid_values_and_changes_nothing),
		T(product_update__stale_expected_version_changes_nothing),
		T(product_update__rejects_sku_of_another_product),
		T(product_delete__removes_an_unreferenced_product),
		T(product_delete__refused_while_a_plan_references_it_even_deleted),
		T(product_delete__forbidden_for_user_and_not_found_across_tenants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
