/*
 * Unit tests for tenant.c: only the platform operator creates and lists
 * tenants; name and invoice prefix validation; a tenant's principals read
 * only their own tenant.
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

static int setup(void **state)
{
	*state = tb_world_new();
	return 0;
}

static int teardown(void **state)
{
	tb_world_free(*state);
	return 0;
}

static int64_t tenant_count(tb_world *w)
{
	billing_principal op = tb_platform();
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t total;
	lp.page = 1;
	tb_assert_rc(billing_tenant_list(&page, w->ctx, &op, &lp), BILLING_OK);
	total = billing_page_total(page);
	billing_page_free(page);
	return total;
}

static void create_refused(tb_world *w, const billing_principal *who,
	const billing_tenant_params *p, int want, const char *field)
{
	billing_tenant *t = NULL;
	int64_t before = tenant_count(w);
	tb_assert_rc(billing_tenant_create(&t, w->ctx, who, p, NULL), want);
	if (field)
		tb_assert_field(field);
	assert_null(t);
	assert_int_equal(tenant_count(w), before);
}

static void tenant_create__only_platform_may_create(void **state)
{
	tb_world *w = *state;
	const char *acme = tb_tenant(w, "Acme");
	billing_principal admin = tb_admin(acme), user = tb_user(acme), op = tb_platform();
	billing_principal none = { acme, NULL, BILLING_ROLE_NONE };
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *t = NULL;

	p.name = "Evil";
	create_refused(w, &admin, &p, BILLING_EFORBIDDEN, NULL);
	create_refused(w, &user, &p, BILLING_EFORBIDDEN, NULL);
	create_refused(w, &none, &p, BILLING_EINVALID, "role");
	tb_assert_rc(billing_tenant_create(&t, w->ctx, &op, &p, NULL), BILLING_OK);
	assert_string_equal(billing_tenant_name(t), "Evil");
	assert_int_equal(strncmp(billing_tenant_id(t), "ten_", 4), 0);
	assert_int_equal(billing_tenant_created_at(t), w->now);
	billing_tenant_free(t);
	assert_int_equal(tenant_count(w), 2);
}

static void tenant_create__rejects_null_arguments_and_version_0(void **state)
{
	tb_world *w = *state;
	billing_principal op = tb_platform();
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *t = NULL;
	p.name = "Acme";
	tb_assert_rc(billing_tenant_create(NULL, w->ctx, &op, &p, NULL), BILLING_EINVALID);
	tb_assert_field("out");
	tb_assert_rc(billing_tenant_create(&t, NULL, &op, &p, NULL), BILLING_EINVALID);
	tb_assert_field("ctx");
	tb_assert_rc(billing_tenant_create(&t, w->ctx, NULL, &p, NULL), BILLING_EINVALID);
	tb_assert_field("principal");
	tb_assert_rc(billing_tenant_create(&t, w->ctx, &op, NULL, NULL), BILLING_EINVALID);
	tb_assert_field("params");
	p.version = 0;
	create_refused(w, &op, &p, BILLING_EINVALID, "version");
	assert_null(t);
	assert_int_equal(tenant_count(w), 0);
}

static void tenant_create__validates_name(void **state)
{
	tb_world *w = *state;
	billing_principal op = tb_platform();
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	char n121[122];
	billing_tenant *t = NULL;
	memset(n121, 'n', 121);
	n121[121] = '\0';
	p.name = NULL;
	create_refused(w, &op, &p, BILLING_EINVALID, "name");
	p.name = "  ";
	create_refused(w, &op, &p, BILLING_EINVALID, "name");
	p.name = n121;
	create_refused(w, &op, &p, BILLING_EINVALID, "name");
	p.name = "Ac\tme";
	create_refused(w, &op, &p, BILLING_EINVALID, "name");
	p.name = "\xff";
	create_refused(w, &op, &p, BILLING_EINVALID, "name");
	p.name = "  Acme  ";
	tb_assert_rc(billing_tenant_create(&t, w->ctx, &op, &p, NULL), BILLING_OK);
	assert_string_equal(billing_tenant_name(t), "Acme");
	billing_tenant_free(t);
}

static void tenant_create__validates_invoice_prefix(void **state)
{
	tb_world *w = *state;
	billing_principal op = tb_platform();
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	const char *bad[] = { "", "INV 1", "INV/", "17-chars-prefix-x", "INV\xc3\xa9", "INV\t",
		"INV-{YYY}-", "INV-{yyyy}", "{YYYY}1234567890123456" };
	billing_tenant *t = NULL, *got = NULL;
	size_t i;
	p.name = "Acme";
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.invoice_prefix = bad[i];
		create_refused(w, &op, &p, BILLING_EINVALID, "invoicePrefix");
	}
	p.invoice_prefix = "16-chars.prefix_";
	tb_assert_rc(billing_tenant_create(&t, w->ctx, &op, &p, NULL), BILLING_OK);
	assert_string_equal(billing_tenant_invoice_prefix(t), "16-chars.prefix_");
	tb_assert_rc(billing_tenant_get(&got, w->ctx, &op, billing_tenant_id(t)), BILLING_OK);
	assert_string_equal(billing_tenant_invoice_prefix(got), "16-chars.prefix_");
	billing_tenant_free(t);
	billing_tenant_free(got);
	t = NULL;
	/* "{YYYY}" counts as one character: 16 of them are allowed. */
	p.invoice_prefix = "{YYYY}{YYYY}{YYYY}{YYYY}{YYYY}{YYYY}{YYYY}{YYYY}"
		"{YYYY}{YYYY}{YYYY}{YYYY}{YYYY}{YYYY}{YYYY}{YYYY}";
	tb_assert_rc(billing_tenant_create(&t, w->ctx, &op, &p, NULL), BILLING_OK);
	billing_tenant_free(t);
	t = NULL;
	p.invoice_prefix = NULL;
	tb_assert_rc(billing_tenant_create(&t, w->ctx, &op, &p, NULL), BILLING_OK);
	assert_string_equal(billing_tenant_invoice_prefix(t), "INV-");
	billing_tenant_free(t);
}

static void tenant_create__refuses_idempotency_key(void **state)
{
	tb_world *w = *state;
	billing_principal op = tb_platform();
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_tenant *t = NULL;
	p.name = "Acme";
	o.idempotency_key = "k1";
	tb_assert_rc(billing_tenant_create(&t, w->ctx, &op, &p, &o), BILLING_EINVALID);
	tb_assert_field("idempotencyKey");
	assert_null(t);
	assert_int_equal(tenant_count(w), 0);
}

static void tenant_get__own_tenant_only_for_tenant_principals(void **state)
{
	tb_world *w = *state;
	const char *acme = tb_tenant(w, "Acme"), *globex = tb_tenant(w, "Globex");
	billing_principal user = tb_user(acme), admin = tb_admin(acme), op = tb_platform();
	billing_tenant *t = NULL;

	tb_assert_rc(billing_tenant_get(&t, w->ctx, &user, acme), BILLING_OK);
	assert_string_equal(billing_tenant_name(t), "Acme");
	billing_tenant_free(t);
	t = NULL;
	tb_assert_rc(billing_tenant_get(&t, w->ctx, &admin, globex), BILLING_ENOTFOUND);
	assert_null(t);
	tb_assert_rc(billing_tenant_get(&t, w->ctx, &op, globex), BILLING_OK);
	assert_string_equal(billing_tenant_name(t), "Globex");
	billing_tenant_free(t);
	t = NULL;
	tb_assert_rc(billing_tenant_get(&t, w->ctx, &op, "ten_nope"), BILLING_ENOTFOUND);
	tb_assert_rc(billing_tenant_get(&t, w->ctx, &op, NULL), BILLING_ENOTFOUND);
	assert_null(t);
}

static void tenant_principal__needs_well_formed_tenant_id(void **state)
{
	tb_world *w = *state;
	billing_principal bad = { "not-a-tenant", NULL, BILLING_ROLE_ADMIN };
	billing_principal missing = { NULL, NULL, BILLING_ROLE_USER };
	billing_customer *c = NULL;
	tb_assert_rc(billing_customer_get(&c, w->ctx, &bad, "cus_x"), BILLING_EINVALID);
	tb_assert_field("tenantId");
	tb_assert_rc(billing_customer_get(&c, w->ctx, &missing, "cus_x"), BILLING_EINVALID);
	tb_assert_field("tenantId");
	assert_null(c);
}

static void tenant_list__platform_only_sorted_by_name(void **state)
{
	tb_world *w = *state;
	const char *acme;
	billing_principal op = tb_platform(), admin;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	tb_tenant(w, "Zeta");
	acme = tb_tenant(w, "Acme");
	tb_tenant(w, "Mid");
	admin = tb_admin(acme);
	tb_assert_rc(billing_tenant_list(&page, w->ctx, &admin, &lp), BILLING_EFORBIDDEN);
	assert_null(page);
	lp.sort_by = "name";
	tb_assert_rc(billing_tenant_list(&page, w->ctx, &op, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 3);
	assert_string_equal(billing_tenant_name(billing_page_tenant(page, 0)), "Acme");
	assert_string_equal(billing_tenant_name(billing_page_tenant(page, 1)), "Mid");
	assert_string_equal(billing_tenant_name(billing_page_tenant(page, 2)), "Zeta");
	assert_null(billing_page_tenant(page, 3));
	assert_null(billing_page_customer(page, 0)); /* typed accessors check the kind */
	billing_page_free(page);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(tenant_create__only_platform_may_create),
		T(tenant_create__rejects_null_arguments_and_version_0),
		T(tenant_create__validates_name),
		T(tenant_create__validates_invoice_prefix),
		T(tenant_create__refuses_idempotency_key),
		T(tenant_get__own_tenant_only_for_tenant_principals),
		T(tenant_principal__needs_well_formed_tenant_id),
		T(tenant_list__platform_only_sorted_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
