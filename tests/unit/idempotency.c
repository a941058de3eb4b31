/*
 * Unit tests for idempotency.c through the mutating calls: a replay
 * returns the first resource and changes nothing; the same key with other
 * input or another operation is a conflict; keys are per tenant and
 * validated.
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

static int64_t customer_count(fx *f, const billing_principal *who)
{
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t total;
	lp.page = 1;
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, who, &lp), BILLING_OK);
	total = billing_page_total(page);
	billing_page_free(page);
	return total;
}

static billing_call_options key(const char *k)
{
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	o.idempotency_key = k;
	return o;
}

static billing_customer_params ada(void)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	p.name = "Ada";
	p.email = "ada@example.com";
	return p;
}

static void idempotency__same_key_same_input_returns_the_first_customer(void **state)
{
	fx *f = *state;
	billing_customer_params p = ada();
	billing_call_options o = key("create-ada-1");
	billing_customer *a = NULL, *b = NULL;
	tb_assert_rc(billing_customer_create(&a, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	f->w->now += 5;
	p.name = "  Ada "; /* normalizes to the same input */
	tb_assert_rc(billing_customer_create(&b, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	assert_non_null(b);
	assert_string_equal(billing_customer_id(a), billing_customer_id(b));
	assert_int_equal(billing_customer_created_at(b), billing_customer_created_at(a));
	assert_int_equal(billing_customer_version(b), 1);
	assert_int_equal(customer_count(f, &f->admin), 1);
	billing_customer_free(a);
	billing_customer_free(b);
}

static void idempotency__same_key_other_input_is_a_conflict(void **state)
{
	fx *f = *state;
	billing_customer_params p = ada();
	billing_call_options o = key("create-ada-1");
	billing_customer *a = NULL, *b = NULL;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	tb_assert_rc(billing_customer_create(&a, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	p.email = "grace@example.com";
	tb_assert_rc(billing_customer_create(&b, f->w->ctx, &f->admin, &p, &o), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "idempotency_mismatch");
	tb_assert_field("idempotencyKey");
	assert_null(b);
	assert_int_equal(customer_count(f, &f->admin), 1);
	lp.search = "grace";
	tb_assert_rc(billing_customer_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	billing_customer_free(a);
}

static void idempotency__same_key_for_another_operation_is_a_conflict(void **state)
{
	fx *f = *state;
	billing_customer_params p = ada();
	billing_product_params pp = BILLING_PRODUCT_PARAMS_INIT;
	billing_call_options o = key("shared-key");
	billing_customer *a = NULL;
	billing_product *prod = NULL;
	tb_assert_rc(billing_customer_create(&a, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	pp.name = "Widget";
	pp.sku = "W-1";
	tb_assert_rc(billing_product_create(&prod, f->w->ctx, &f->admin, &pp, &o), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "idempotency_mismatch");
	assert_null(prod);
	pp.sku = "W-2";
	o.idempotency_key = "other-key";
	tb_assert_rc(billing_product_create(&prod, f->w->ctx, &f->admin, &pp, &o), BILLING_OK);
	billing_product_free(prod);
	billing_customer_free(a);
}

static void idempotency__keys_are_scoped_to_the_tenant(void **state)
{
	fx *f = *state;
	const char *other = tb_tenant(f->w, "Other");
	billing_principal their_admin = tb_admin(other);
	billing_customer_params p = ada();
	billing_call_options o = key("k-1");
	billing_customer *a = NULL, *b = NULL;
	tb_assert_rc(billing_customer_create(&a, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	tb_assert_rc(billing_customer_create(&b, f->w->ctx, &their_admin, &p, &o), BILLING_OK);
	assert_string_not_equal(billing_customer_id(a), billing_customer_id(b));
	assert_string_equal(billing_customer_tenant_id(b), other);
	assert_int_equal(customer_count(f, &f->admin), 1);
	assert_int_equal(customer_count(f, &their_admin), 1);
	billing_customer_free(b);
	b = NULL;
	/* and a different input with that key in the other tenant is its own business */
	p.email = "x@example.com";
	o.idempotency_key = "k-2";
	tb_assert_rc(billing_customer_create(&b, f->w->ctx, &their_admin, &p, &o), BILLING_OK);
	billing_customer_free(a);
	billing_customer_free(b);
}

static void idempotency__rejects_malformed_keys(void **state)
{
	fx *f = *state;
	billing_customer_params p = ada();
	char k255[256], k256[257];
	const char *bad[] = { "", k256, "has space", "tab\tkey", "caf\xc3\xa9" };
	billing_call_options o;
	billing_customer *c = NULL;
	size_t i;
	memset(k255, 'k', 255);
	k255[255] = '\0';
	memset(k256, 'k', 256);
	k256[256] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = key(bad[i]);
		tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, &o), BILLING_EINVALID);
		tb_assert_field("idempotencyKey");
		assert_null(c);
	}
	o = key(NULL);
	o.version = 0;
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, &o), BILLING_EINVALID);
	tb_assert_field("version");
	assert_int_equal(customer_count(f, &f->admin), 0);
	o = key(k255);
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, &o), BILLING_OK);
	billing_customer_free(c);
	assert_int_equal(customer_count(f, &f->admin), 1);
}

static void idempotency__update_replay_changes_nothing(void **state)
{
	fx *f = *state;
	billing_customer *c = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .name = "Ada" });
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_call_options o = key("rename-1");
	billing_customer *r1 = NULL, *r2 = NULL, *r3 = NULL, *mid = NULL;
	const char *id = billing_customer_id(c);

	p.fields = BILLING_CUSTOMER_NAME;
	p.name = "Countess";
	tb_assert_rc(billing_customer_update(&r1, f->w->ctx, &f->admin, id, &p, &o), BILLING_OK);
	assert_int_equal(billing_customer_version(r1), 2);
	/* replay: same answer, no new version */
	tb_assert_rc(billing_customer_update(&r2, f->w->ctx, &f->admin, id, &p, &o), BILLING_OK);
	assert_non_null(r2);
	assert_string_equal(billing_customer_name(r2), "Countess");
	assert_int_equal(billing_customer_version(r2), 2);

	/* someone else changes it; a late replay must not undo that */
	p.name = "Lady Lovelace";
	tb_assert_rc(billing_customer_update(&mid, f->w->ctx, &f->admin, id, &p, NULL), BILLING_OK);
	assert_int_equal(billing_customer_version(mid), 3);
	p.name = "Countess";
	tb_assert_rc(billing_customer_update(&r3, f->w->ctx, &f->admin, id, &p, &o), BILLING_OK);
	assert_string_equal(billing_customer_name(r3), "Lady Lovelace");
	assert_int_equal(billing_customer_version(r3), 3);

	/* same key, other change: conflict, nothing changed */
	billing_customer_free(r3);
	r3 = NULL;
	p.name = "Someone";
	tb_assert_rc(billing_customer_update(&r3, f->w->ctx, &f->admin, id, &p, &o), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "idempotency_mismatch");
	assert_null(r3);
	tb_assert_rc(billing_customer_get(&r3, f->w->ctx, &f->admin, id), BILLING_OK);
	assert_string_equal(billing_customer_name(r3), "Lady Lovelace");
	assert_int_equal(billing_customer_version(r3), 3);

	billing_customer_free(c);
	billing_customer_free(r1);
	billing_customer_free(r2);
	billing_customer_free(r3);
	billing_customer_free(mid);
}

static void idempotency__update_key_for_another_customer_is_a_conflict(void **state)
{
	fx *f = *state;
	billing_customer *a = tb_customer(f->w, f->tenant, NULL);
	billing_customer *b = tb_customer(f->w, f->tenant, &(tb_customer_spec){ .name = "Bee" });
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_call_options o = key("rename");
	billing_customer *r = NULL;
	p.fields = BILLING_CUSTOMER_NAME;
	p.name = "Same";
	tb_assert_rc(billing_customer_update(&r, f->w->ctx, &f->admin, billing_customer_id(a), &p, &o),
		BILLING_OK);
	billing_customer_free(r);
	r = NULL;
	tb_assert_rc(billing_customer_update(&r, f->w->ctx, &f->admin, billing_customer_id(b), &p, &o),
		BILLING_ECONFLICT);
	assert_null(r);
	tb_assert_rc(billing_customer_get(&r, f->w->ctx, &f->admin, billing_customer_id(b)),
		BILLING_OK);
	assert_string_equal(billing_customer_name(r), "Bee");
	billing_customer_free(r);
	billing_customer_free(a);
	billing_customer_free(b);
}

static void idempotency__product_and_plan_create_replay(void **state)
{
	fx *f = *state;
	billing_product_params pp = BILLING_PRODUCT_PARAMS_INIT;
	billing_plan_params lp = BILLING_PLAN_PARAMS_INIT;
	billing_call_options o = key("prod-1"), o2 = key("plan-1");
	billing_product *p1 = NULL, *p2 = NULL;
	billing_plan *l1 = NULL, *l2 = NULL, *l3 = NULL;
	pp.name = "Widget";
	pp.sku = "W-1";
	pp.currency = "usd";
	tb_assert_rc(billing_product_create(&p1, f->w->ctx, &f->admin, &pp, &o), BILLING_OK);
	pp.currency = "USD"; /* same after normalization */
	tb_assert_rc(billing_product_create(&p2, f->w->ctx, &f->admin, &pp, &o), BILLING_OK);
	assert_string_equal(billing_product_id(p1), billing_product_id(p2));
	lp.product_id = billing_product_id(p1);
	lp.code = "PRO";
	lp.name = "Pro";
	lp.amount = 100;
	lp.interval = BILLING_MONTH;
	tb_assert_rc(billing_plan_create(&l1, f->w->ctx, &f->admin, &lp, &o2), BILLING_OK);
	tb_assert_rc(billing_plan_create(&l2, f->w->ctx, &f->admin, &lp, &o2), BILLING_OK);
	assert_string_equal(billing_plan_id(l1), billing_plan_id(l2));
	lp.amount = 200;
	tb_assert_rc(billing_plan_create(&l3, f->w->ctx, &f->admin, &lp, &o2), BILLING_ECONFLICT);
	assert_null(l3);
	billing_product_free(p1);
	billing_product_free(p2);
	billing_plan_free(l1);
	billing_plan_free(l2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tb_fx_setup, tb_fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(idempotency__same_key_same_input_returns_the_first_customer),
		T(idempotency__same_key_other_input_is_a_conflict),
		T(idempotency__same_key_for_another_operation_is_a_conflict),
		T(idempotency__keys_are_scoped_to_the_tenant),
		T(idempotency__rejects_malformed_keys),
		T(idempotency__update_replay_changes_nothing),
		T(idempotency__update_key_for_another_customer_is_a_conflict),
		T(idempotency__product_and_plan_create_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
