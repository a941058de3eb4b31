/*
 * Tenant isolation and roles, end to end through the public API: another
 * tenant's rows are invisible (not found, never listed, not referable), the
 * USER role only reads, and PLATFORM reads no tenant's billing data.
 */
#include <stdlib.h>
#include <string.h>

#include "tb.h"

typedef struct {
	tb_world *w;
	const char *a;           /* tenant A: owns the rows */
	const char *b;           /* tenant B: the intruder */
	billing_principal admin_a, admin_b, user_a;
	billing_customer *cus;   /* A's */
	billing_product *prod;   /* A's */
	billing_plan *plan;      /* A's, of prod */
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->w = tb_world_new();
	f->a = tb_tenant(f->w, "Acme");
	f->b = tb_tenant(f->w, "Bolt");
	f->admin_a = tb_admin(f->a);
	f->admin_b = tb_admin(f->b);
	f->user_a = tb_user(f->a);
	f->cus = tb_customer(f->w, f->a, &(tb_customer_spec){ .name = "Ada", .email = "ada@example.com" });
	f->prod = tb_product(f->w, f->a, &(tb_product_spec){ .sku = "SKU-ACME" });
	f->plan = tb_plan(f->w, f->a, &(tb_plan_spec){ .product_id = billing_product_id(f->prod),
		.code = "ACME-GOLD" });
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	billing_customer_free(f->cus);
	billing_product_free(f->prod);
	billing_plan_free(f->plan);
	tb_world_free(f->w);
	free(f);
	return 0;
}

static void assert_reason(const char *reason)
{
	const billing_error *e = billing_error_last();
	assert_non_null(e->reason);
	assert_string_equal(e->reason, reason);
}

/* The version of A's customer, read as A's admin. */
static int64_t customer_version(fx *f)
{
	billing_customer *c = NULL;
	int64_t v;
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin_a, billing_customer_id(f->cus)),
		BILLING_OK);
	v = billing_customer_version(c);
	assert_string_equal(billing_customer_name(c), "Ada");
	billing_customer_free(c);
	return v;
}

static int64_t product_version(fx *f)
{
	billing_product *p = NULL;
	int64_t v;
	tb_assert_rc(billing_product_get(&p, f->w->ctx, &f->admin_a, billing_product_id(f->prod)),
		BILLING_OK);
	v = billing_product_version(p);
	assert_string_equal(billing_product_sku(p), "SKU-ACME");
	billing_product_free(p);
	return v;
}

static int64_t plan_version(fx *f)
{
	billing_plan *p = NULL;
	int64_t v;
	tb_assert_rc(billing_plan_get(&p, f->w->ctx, &f->admin_a, billing_plan_id(f->plan)),
		BILLING_OK);
	v = billing_plan_version(p);
	assert_string_equal(billing_plan_code(p), "ACME-GOLD");
	billing_plan_free(p);
	return v;
}

/* ------------------------------------------------------------ customers */

static void customer_get__other_tenant_is_not_found(void **state)
{
	fx *f = *state;
	billing_customer *c = NULL;
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin_b, billing_customer_id(f->cus)),
		BILLING_ENOTFOUND);
	assert_null(c);
}

static void customer_update__other_tenant_is_not_found(void **state)
{
	fx *f = *state;
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;

	p.fields = BILLING_CUSTOMER_NAME;
	p.name = "Hijacked";
	tb_assert_rc(billing_customer_update(&c, f->w->ctx, &f->admin_b,
		billing_customer_id(f->cus), &p, NULL), BILLING_ENOTFOUND);
	assert_null(c);
	assert_int_equal(customer_version(f), 1);
}

static void customer_delete__other_tenant_is_not_found(void **state)
{
	fx *f = *state;
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->admin_b, billing_customer_id(f->cus), 0),
		BILLING_ENOTFOUND);
	assert_int_equal(customer_version(f), 1);
}

static void customer_list__other_tenants_rows_are_never_listed(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	billing_customer *mine = tb_customer(f->w, f->b, NULL);

	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin_b, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_customer_id(billing_page_customer(page, 0)),
		billing_customer_id(mine));
	billing_page_free(page);

	lp.page = 1;
	lp.search = "ada";
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin_b, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	assert_int_equal(billing_page_total(page), 0);
	billing_page_free(page);

	lp.search = NULL;
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin_b, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_int_equal(billing_page_total(page), 1);
	billing_page_free(page);

	/* A's list holds A's row: the empty answers above were about the tenant */
	lp.search = "ada";
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin_a, &lp), BILLING_OK);
	assert_int_equal(billing_page_total(page), 1);
	billing_page_free(page);
	billing_customer_free(mine);
}

static void customer_create__same_email_in_both_tenants_is_fine(void **state)
{
	fx *f = *state;
	billing_customer *c = tb_customer(f->w, f->b, &(tb_customer_spec){ .email = "ADA@example.com" });
	assert_string_equal(billing_customer_tenant_id(c), f->b);
	assert_string_not_equal(billing_customer_id(c), billing_customer_id(f->cus));
	billing_customer_free(c);
}

static void customer_list__cursor_from_other_tenant_is_invalid(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL, *other = NULL;
	billing_customer *c1 = tb_customer(f->w, f->a, NULL);
	billing_customer *c2 = tb_customer(f->w, f->b, NULL);
	billing_customer *c3 = tb_customer(f->w, f->b, NULL);

	lp.limit = 1;
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin_a, &lp), BILLING_OK);
	assert_non_null(billing_page_next_cursor(page));
	lp.starting_after = billing_page_next_cursor(page);
	/* the cursor works where it was made */
	tb_assert_rc(billing_customer_list(&other, f->w->ctx, &f->admin_a, &lp), BILLING_OK);
	billing_page_free(other);
	other = NULL;
	tb_assert_rc(billing_customer_list(&other, f->w->ctx, &f->admin_b, &lp), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	assert_null(other);
	billing_page_free(page);
	billing_customer_free(c1);
	billing_customer_free(c2);
	billing_customer_free(c3);
}

/* ------------------------------------------------------------ products */

static void product_get__other_tenant_is_not_found(void **state)
{
	fx *f = *state;
	billing_product *p = NULL;
	tb_assert_rc(billing_product_get(&p, f->w->ctx, &f->admin_b, billing_product_id(f->prod)),
		BILLING_ENOTFOUND);
	assert_null(p);
}

static void product_update__other_tenant_is_not_found(void **state)
{
	fx *f = *state;
	billing_product_params p = BILLING_PRODUCT_PARAMS_INIT;
	billing_product *out = NULL;

	p.fields = BILLING_PRODUCT_PRICE;
	p.price_cents = 1;
	tb_assert_rc(billing_product_update(&out, f->w->ctx, &f->admin_b,
		billing_product_id(f->prod), &p, NULL), BILLING_ENOTFOUND);
	assert_null(out);
	assert_int_equal(product_version(f), 1);
}

static void product_delete__other_tenant_is_not_found(void **state)
{
	fx *f = *state;
	billing_product *lone = tb_product(f->w, f->a, NULL); /* unreferenced: deletable by A */
	billing_product *p = NULL;

	tb_assert_rc(billing_product_delete(f->w->ctx, &f->admin_b, billing_product_id(lone), 0),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_product_get(&p, f->w->ctx, &f->admin_a, billing_product_id(lone)),
		BILLING_OK);
	billing_product_free(p);
	billing_product_free(lone);
}

static void product_list__other_tenants_rows_are_never_listed(void **state)
{
	fx *f = *state;
	billing_product_list_params lp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin_b, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	lp.list.page = 1;
	lp.list.search = "SKU-ACME";
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin_b, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	assert_int_equal(billing_page_total(page), 0);
	billing_page_free(page);
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin_a, &lp), BILLING_OK);
	assert_int_equal(billing_page_total(page), 1);
	billing_page_free(page);
}

static void product_create__same_sku_in_both_tenants_is_fine(void **state)
{
	fx *f = *state;
	billing_product *p = tb_product(f->w, f->b, &(tb_product_spec){ .sku = "SKU-ACME" });
	assert_string_equal(billing_product_tenant_id(p), f->b);
	billing_product_free(p);
}

static void product_list__cursor_from_other_tenant_is_invalid(void **state)
{
	fx *f = *state;
	billing_product_list_params lp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_page *page = NULL, *other = NULL;
	billing_product *p1 = tb_product(f->w, f->a, NULL);
	billing_product *p2 = tb_product(f->w, f->b, NULL);

	lp.list.limit = 1;
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin_a, &lp), BILLING_OK);
	assert_non_null(billing_page_next_cursor(page));
	lp.list.starting_after = billing_page_next_cursor(page);
	tb_assert_rc(billing_product_list(&other, f->w->ctx, &f->admin_b, &lp), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	billing_page_free(page);
	billing_product_free(p1);
	billing_product_free(p2);
}

/* ------------------------------------------------------------ plans */

static void plan_get__other_tenant_is_not_found(void **state)
{
	fx *f = *state;
	billing_plan *p = NULL;
	tb_assert_rc(billing_plan_get(&p, f->w->ctx, &f->admin_b, billing_plan_id(f->plan)),
		BILLING_ENOTFOUND);
	assert_null(p);
}

static void plan_update__other_tenant_is_not_found(void **state)
{
	fx *f = *state;
	billing_plan_params p = BILLING_PLAN_PARAMS_INIT;
	billing_plan *out = NULL;

	p.fields = BILLING_PLAN_NAME;
	p.name = "Hijacked";
	tb_assert_rc(billing_plan_update(&out, f->w->ctx, &f->admin_b, billing_plan_id(f->plan),
		&p, NULL), BILLING_ENOTFOUND);
	assert_null(out);
	assert_int_equal(plan_version(f), 1);
}

static void plan_delete__other_tenant_is_not_found(void **state)
{
	fx *f = *state;
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin_b, billing_plan_id(f->plan), 0),
		BILLING_ENOTFOUND);
	assert_int_equal(plan_version(f), 1);
}

static void plan_list__other_tenants_rows_are_never_listed(void **state)
{
	fx *f = *state;
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin_b, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	lp.list.page = 1;
	lp.list.search = "ACME";
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin_b, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	assert_int_equal(billing_page_total(page), 0);
	billing_page_free(page);
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin_a, &lp), BILLING_OK);
	assert_int_equal(billing_page_total(page), 1);
	billing_page_free(page);
}

static void plan_list__filter_by_other_tenants_product_is_resource_missing(void **state)
{
	fx *f = *state;
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	lp.product_id = billing_product_id(f->prod);
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin_b, &lp), BILLING_EINVALID);
	tb_assert_field("productId");
	assert_reason("resource_missing");
	assert_null(page);
}

static void plan_create__product_of_other_tenant_is_resource_missing(void **state)
{
	fx *f = *state;
	billing_plan_params p = BILLING_PLAN_PARAMS_INIT;
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_plan *out = NULL;
	billing_page *page = NULL;

	p.product_id = billing_product_id(f->prod);
	p.code = "BOLT-GOLD";
	p.name = "Bolt Gold";
	p.amount = 1000;
	p.interval = BILLING_MONTH;
	tb_assert_rc(billing_plan_create(&out, f->w->ctx, &f->admin_b, &p, NULL), BILLING_EINVALID);
	tb_assert_field("productId");
	assert_reason("resource_missing");
	assert_null(out);
	lp.list.page = 1;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin_b, &lp), BILLING_OK);
	assert_int_equal(billing_page_total(page), 0);
	billing_page_free(page);
}

static void plan_create__same_code_in_both_tenants_is_fine(void **state)
{
	fx *f = *state;
	billing_plan *p = tb_plan(f->w, f->b, &(tb_plan_spec){ .code = "ACME-GOLD" });
	assert_string_equal(billing_plan_tenant_id(p), f->b);
	billing_plan_free(p);
}

static void plan_list__cursor_from_other_tenant_is_invalid(void **state)
{
	fx *f = *state;
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL, *other = NULL;
	billing_plan *p1 = tb_plan(f->w, f->a, NULL);
	billing_plan *p2 = tb_plan(f->w, f->b, NULL);

	lp.list.limit = 1;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin_a, &lp), BILLING_OK);
	assert_non_null(billing_page_next_cursor(page));
	lp.list.starting_after = billing_page_next_cursor(page);
	tb_assert_rc(billing_plan_list(&other, f->w->ctx, &f->admin_b, &lp), BILLING_EINVALID);
	tb_assert_field("startingAfter");
	billing_page_free(page);
	billing_plan_free(p1);
	billing_plan_free(p2);
}

/* ------------------------------------------------------------ roles */

static void user_role__reads_its_tenant(void **state)
{
	fx *f = *state;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_product_list_params plp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_plan_list_params pllp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_customer *c = NULL;
	billing_product *p = NULL;
	billing_plan *pl = NULL;
	billing_tenant *t = NULL;
	billing_page *page = NULL;

	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->user_a, billing_customer_id(f->cus)),
		BILLING_OK);
	tb_assert_rc(billing_product_get(&p, f->w->ctx, &f->user_a, billing_product_id(f->prod)),
		BILLING_OK);
	tb_assert_rc(billing_plan_get(&pl, f->w->ctx, &f->user_a, billing_plan_id(f->plan)),
		BILLING_OK);
	tb_assert_rc(billing_tenant_get(&t, f->w->ctx, &f->user_a, f->a), BILLING_OK);
	assert_string_equal(billing_tenant_name(t), "Acme");
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->user_a, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->user_a, &plp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->user_a, &pllp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);
	billing_customer_free(c);
	billing_product_free(p);
	billing_plan_free(pl);
	billing_tenant_free(t);
}

/* Counts of A's customers, products and plans, as A's admin sees them. */
static void counts(fx *f, int64_t out[3])
{
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_product_list_params plp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_plan_list_params pllp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	lp.page = plp.list.page = pllp.list.page = 1;
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin_a, &lp), BILLING_OK);
	out[0] = billing_page_total(page);
	billing_page_free(page);
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &f->admin_a, &plp), BILLING_OK);
	out[1] = billing_page_total(page);
	billing_page_free(page);
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin_a, &pllp), BILLING_OK);
	out[2] = billing_page_total(page);
	billing_page_free(page);
}

static void user_role__every_write_is_forbidden_and_changes_nothing(void **state)
{
	fx *f = *state;
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
	billing_product_params pp = BILLING_PRODUCT_PARAMS_INIT;
	billing_plan_params plp = BILLING_PLAN_PARAMS_INIT;
	billing_customer *c = NULL;
	billing_product *p = NULL;
	billing_plan *pl = NULL;
	int64_t before[3], after[3];

	counts(f, before);
	cp.name = "Eve";
	cp.email = "eve@example.com";
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->user_a, &cp, NULL), BILLING_EFORBIDDEN);
	cp.fields = BILLING_CUSTOMER_NAME;
	tb_assert_rc(billing_customer_update(&c, f->w->ctx, &f->user_a, billing_customer_id(f->cus),
		&cp, NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->user_a, billing_customer_id(f->cus), 0),
		BILLING_EFORBIDDEN);

	pp.name = "Widget";
	pp.sku = "SKU-USER";
	pp.price_cents = 100;
	tb_assert_rc(billing_product_create(&p, f->w->ctx, &f->user_a, &pp, NULL), BILLING_EFORBIDDEN);
	pp.fields = BILLING_PRODUCT_NAME;
	tb_assert_rc(billing_product_update(&p, f->w->ctx, &f->user_a, billing_product_id(f->prod),
		&pp, NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_product_delete(f->w->ctx, &f->user_a, billing_product_id(f->prod), 0),
		BILLING_EFORBIDDEN);

	plp.product_id = billing_product_id(f->prod);
	plp.code = "USER-PLAN";
	plp.name = "User Plan";
	plp.amount = 100;
	plp.interval = BILLING_MONTH;
	tb_assert_rc(billing_plan_create(&pl, f->w->ctx, &f->user_a, &plp, NULL), BILLING_EFORBIDDEN);
	plp.fields = BILLING_PLAN_NAME;
	tb_assert_rc(billing_plan_update(&pl, f->w->ctx, &f->user_a, billing_plan_id(f->plan),
		&plp, NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->user_a, billing_plan_id(f->plan), 0),
		BILLING_EFORBIDDEN);

	assert_null(c);
	assert_null(p);
	assert_null(pl);
	counts(f, after);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(customer_version(f), 1);
	assert_int_equal(product_version(f), 1);
	assert_int_equal(plan_version(f), 1);
}

static void user_role__forbidden_comes_before_validation(void **state)
{
	fx *f = *state;
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;   /* no name, no email */
	billing_product_params pp = BILLING_PRODUCT_PARAMS_INIT;     /* no name, no sku */
	billing_plan_params plp = BILLING_PLAN_PARAMS_INIT;          /* nothing at all */
	billing_customer *c = NULL;
	billing_product *p = NULL;
	billing_plan *pl = NULL;

	cp.email = "not an address";
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->user_a, &cp, NULL), BILLING_EFORBIDDEN);
	/* no field bits: invalid for an admin */
	tb_assert_rc(billing_customer_update(&c, f->w->ctx, &f->user_a, billing_customer_id(f->cus),
		&cp, NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_customer_update(&c, f->w->ctx, &f->user_a, "not-an-id", &cp, NULL),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_customer_delete(f->w->ctx, &f->user_a, billing_customer_id(f->cus), -1),
		BILLING_EFORBIDDEN);
	pp.price_cents = -5;
	tb_assert_rc(billing_product_create(&p, f->w->ctx, &f->user_a, &pp, NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_product_update(&p, f->w->ctx, &f->user_a, billing_product_id(f->prod),
		&pp, NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_product_delete(f->w->ctx, &f->user_a, "nope", -1), BILLING_EFORBIDDEN);
	plp.amount = -1;
	tb_assert_rc(billing_plan_create(&pl, f->w->ctx, &f->user_a, &plp, NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_plan_update(&pl, f->w->ctx, &f->user_a, billing_plan_id(f->plan), &plp,
		NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->user_a, "nope", -1), BILLING_EFORBIDDEN);
	assert_int_equal(billing_error_last()->code, BILLING_EFORBIDDEN);

	/* the same inputs from an admin are rejected as invalid: they really are */
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin_a, &cp, NULL), BILLING_EINVALID);
	tb_assert_rc(billing_product_create(&p, f->w->ctx, &f->admin_a, &pp, NULL), BILLING_EINVALID);
	tb_assert_rc(billing_plan_create(&pl, f->w->ctx, &f->admin_a, &plp, NULL), BILLING_EINVALID);
	assert_null(c);
	assert_null(p);
	assert_null(pl);
}

static void platform__cannot_read_or_write_tenant_data(void **state)
{
	fx *f = *state;
	billing_principal op = tb_platform();
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_product_list_params plp = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_plan_list_params pllp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	billing_product *p = NULL;
	billing_plan *pl = NULL;
	billing_page *page = NULL;

	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &op, billing_customer_id(f->cus)),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &op, &lp), BILLING_EFORBIDDEN);
	cp.name = "Eve";
	cp.email = "eve@example.com";
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &op, &cp, NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_product_get(&p, f->w->ctx, &op, billing_product_id(f->prod)),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_product_list(&page, f->w->ctx, &op, &plp), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_plan_get(&pl, f->w->ctx, &op, billing_plan_id(f->plan)),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &op, &pllp), BILLING_EFORBIDDEN);
	assert_null(c);
	assert_null(p);
	assert_null(pl);
	assert_null(page);
}

static void tenant_get__other_tenant_by_user_is_not_found(void **state)
{
	fx *f = *state;
	billing_principal user_b = tb_user(f->b);
	billing_principal op = tb_platform();
	billing_tenant *t = NULL;

	tb_assert_rc(billing_tenant_get(&t, f->w->ctx, &user_b, f->a), BILLING_ENOTFOUND);
	assert_null(t);
	tb_assert_rc(billing_tenant_get(&t, f->w->ctx, &f->admin_b, f->a), BILLING_ENOTFOUND);
	assert_null(t);
	/* the tenant exists: the operator sees it */
	tb_assert_rc(billing_tenant_get(&t, f->w->ctx, &op, f->a), BILLING_OK);
	assert_string_equal(billing_tenant_id(t), f->a);
	billing_tenant_free(t);
}

static void tenant_list__only_the_platform_lists_tenants(void **state)
{
	fx *f = *state;
	billing_principal op = tb_platform();
	billing_page *page = NULL;

	tb_assert_rc(billing_tenant_list(&page, f->w->ctx, &f->admin_a, NULL), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_tenant_list(&page, f->w->ctx, &f->user_a, NULL), BILLING_EFORBIDDEN);
	assert_null(page);
	tb_assert_rc(billing_tenant_list(&page, f->w->ctx, &op, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2);
	billing_page_free(page);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(customer_get__other_tenant_is_not_found),
		T(customer_update__other_tenant_is_not_found),
		T(customer_delete__other_tenant_is_not_found),
		T(customer_list__other_tenants_rows_are_never_listed),
		T(customer_create__same_email_in_both_tenants_is_fine),
		T(customer_list__cursor_from_other_tenant_is_invalid),
		T(product_get__other_tenant_is_not_found),
		T(product_update__other_tenant_is_not_found),
		T(product_delete__other_tenant_is_not_found),
		T(product_list__other_tenants_rows_are_never_listed),
		T(product_create__same_sku_in_both_tenants_is_fine),
		T(product_list__cursor_from_other_tenant_is_invalid),
		T(plan_get__other_tenant_is_not_found),
		T(plan_update__other_tenant_is_not_found),
		T(plan_delete__other_tenant_is_not_found),
		T(plan_list__other_tenants_rows_are_never_listed),
		T(plan_list__filter_by_other_tenants_product_is_resource_missing),
		T(plan_create__product_of_other_tenant_is_resource_missing),
		T(plan_create__same_code_in_both_tenants_is_fine),
		T(plan_list__cursor_from_other_tenant_is_invalid),
		T(user_role__reads_its_tenant),
		T(user_role__every_write_is_forbidden_and_changes_nothing),
		T(user_role__forbidden_comes_before_validation),
		T(platform__cannot_read_or_write_tenant_data),
		T(tenant_get__other_tenant_by_user_is_not_found),
		T(tenant_list__only_the_platform_lists_tenants),
	};
	return cmocka_run_group_tests_name(tb_backend(), tests, NULL, NULL);
}
