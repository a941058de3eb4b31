/*
 * Users: stored for the host, found by e-mail across tenants.
 */
#include <stdio.h>
#include <string.h>

#include "tb.h"

static billing_user_params user_params(const char *tenant, const char *email)
{
	billing_user_params p = BILLING_USER_PARAMS_INIT;
	p.tenant_id = tenant;
	p.email = email;
	p.role = BILLING_ROLE_ADMIN;
	p.password_hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
	return p;
}

static void user_create__stores_the_hash_and_finds_by_email_ignoring_case(void **state)
{
	tb_world *w = tb_world_new();
	const char *acme = tb_tenant(w, "Acme");
	billing_principal op = tb_platform();
	billing_user_params p = user_params(acme, "Ada@Example.com");
	billing_user *u = NULL, *found = NULL;
	(void)state;

	tb_assert_rc(billing_user_create(&u, w->ctx, &op, &p), BILLING_OK);
	assert_string_equal(billing_user_tenant_id(u), acme);
	assert_string_equal(billing_user_email(u), "Ada@Example.com");
	assert_int_equal(billing_user_role(u), BILLING_ROLE_ADMIN);
	assert_true(strncmp(billing_user_id(u), "usr_", 4) == 0);

	tb_assert_rc(billing_user_find_by_email(&found, w->ctx, &op, "ADA@example.COM"), BILLING_OK);
	assert_string_equal(billing_user_id(found), billing_user_id(u));
	assert_string_equal(billing_user_password_hash(found), p.password_hash);
	billing_user_free(found);
	billing_user_free(u);
	tb_world_free(w);
}

static void user_create__email_is_unique_across_tenants(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A"), *b = tb_tenant(w, "B");
	billing_principal op = tb_platform();
	billing_user_params p = user_params(a, "ada@example.com");
	billing_user *u = NULL;
	(void)state;

	tb_assert_rc(billing_user_create(&u, w->ctx, &op, &p), BILLING_OK);
	billing_user_free(u);
	u = NULL;
	p = user_params(b, "ADA@example.com");
	tb_assert_rc(billing_user_create(&u, w->ctx, &op, &p), BILLING_EEXISTS);
	tb_assert_field("email");
	assert_null(u);
	tb_world_free(w);
}

static void user_create__only_the_platform_may(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	billing_principal admin = tb_admin(a), op = tb_platform();
	billing_user_params p = user_params(a, "ada@example.com");
	billing_user *u = NULL;
	(void)state;

	p.email = "not an email"; /* forbidden wins over invalid */
	tb_assert_rc(billing_user_create(&u, w->ctx, &admin, &p), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_user_find_by_email(&u, w->ctx, &admin, "ada@example.com"),
		BILLING_EFORBIDDEN);
	tb_assert_rc(billing_user_find_by_email(&u, w->ctx, &op, "ada@example.com"),
		BILLING_ENOTFOUND);
	tb_world_free(w);
}

static void user_create__rejects_bad_input(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A");
	billing_principal op = tb_platform();
	billing_user_params p;
	billing_user *u = NULL;
	(void)state;

	p = user_params(a, "nope");
	tb_assert_rc(billing_user_create(&u, w->ctx, &op, &p), BILLING_EINVALID);
	tb_assert_field("email");
	p = user_params(a, "ada@example.com");
	p.role = BILLING_ROLE_PLATFORM;
	tb_assert_rc(billing_user_create(&u, w->ctx, &op, &p), BILLING_EINVALID);
	tb_assert_field("role");
	p = user_params(a, "ada@example.com");
	p.password_hash = "has space";
	tb_assert_rc(billing_user_create(&u, w->ctx, &op, &p), BILLING_EINVALID);
	tb_assert_field("passwordHash");
	p = user_params("ten_01jd0000000000000000000000", "ada@example.com");
	tb_assert_rc(billing_user_create(&u, w->ctx, &op, &p), BILLING_EINVALID);
	tb_assert_field("tenantId");
	assert_string_equal(billing_error_last()->reason, "resource_missing");
	tb_assert_rc(billing_user_find_by_email(&u, w->ctx, &op, "ada@example.com"),
		BILLING_ENOTFOUND);
	tb_world_free(w);
}

static void user_get_and_delete__by_tenant_and_id(void **state)
{
	tb_world *w = tb_world_new();
	const char *a = tb_tenant(w, "A"), *b = tb_tenant(w, "B");
	billing_principal op = tb_platform(), admin = tb_admin(a);
	billing_user_params p = user_params(a, "ada@example.com");
	billing_user *u = NULL, *got = NULL;
	char id[64];
	(void)state;

	tb_assert_rc(billing_user_create(&u, w->ctx, &op, &p), BILLING_OK);
	snprintf(id, sizeof(id), "%s", billing_user_id(u));
	billing_user_free(u);

	tb_assert_rc(billing_user_get(&got, w->ctx, &op, a, id), BILLING_OK);
	assert_string_equal(billing_user_id(got), id);
	assert_string_equal(billing_user_email(got), "ada@example.com");
	billing_user_free(got);
	got = NULL;
	/* Another tenant's id, malformed ids: not found. */
	tb_assert_rc(billing_user_get(&got, w->ctx, &op, b, id), BILLING_ENOTFOUND);
	tb_assert_rc(billing_user_get(&got, w->ctx, &op, a, "usr_nope"), BILLING_ENOTFOUND);
	tb_assert_rc(billing_user_get(&got, w->ctx, &op, NULL, id), BILLING_ENOTFOUND);
	tb_assert_rc(billing_user_delete(w->ctx, &op, b, id), BILLING_ENOTFOUND);
	tb_assert_rc(billing_user_delete(w->ctx, &op, a, "cus_nope"), BILLING_ENOTFOUND);
	/* Only the platform. */
	tb_assert_rc(billing_user_get(&got, w->ctx, &admin, a, id), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_user_delete(w->ctx, &admin, a, id), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_user_get(&got, w->ctx, &op, a, id), BILLING_OK);
	billing_user_free(got);
	got = NULL;

	tb_assert_rc(billing_user_delete(w->ctx, &op, a, id), BILLING_OK);
	tb_assert_rc(billing_user_get(&got, w->ctx, &op, a, id), BILLING_ENOTFOUND);
	assert_null(got);
	tb_assert_rc(billing_user_find_by_email(&got, w->ctx, &op, "ada@example.com"),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_user_delete(w->ctx, &op, a, id), BILLING_ENOTFOUND);
	/* The e-mail is free again. */
	p = user_params(b, "ADA@example.com");
	tb_assert_rc(billing_user_create(&u, w->ctx, &op, &p), BILLING_OK);
	billing_user_free(u);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(user_create__stores_the_hash_and_finds_by_email_ignoring_case),
		cmocka_unit_test(user_create__email_is_unique_across_tenants),
		cmocka_unit_test(user_create__only_the_platform_may),
		cmocka_unit_test(user_create__rejects_bad_input),
		cmocka_unit_test(user_get_and_delete__by_tenant_and_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
