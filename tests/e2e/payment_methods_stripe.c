/*
 * Stored payment methods through the Stripe provider against the fake
 * Stripe (tests/support/fake_stripe.c), on the backend under test (issue
 * #18 item 7):
 *
 * - a SetupIntent makes the Stripe Customer (metadata customer_id,
 *   tenant_id, an Idempotency-Key) once, then asks for usage=off_session;
 * - attaching reads the PaymentMethod, attaches it to that Customer, and
 *   stores brand / last4 / expiry; an unknown one is resource_missing; one
 *   of another Stripe customer is refused;
 * - the renewal charges the default off-session with the Stripe customer
 *   (the fake refuses a PaymentIntent of an attached PaymentMethod
 *   without its customer, as Stripe does);
 * - detaching detaches at Stripe; a PaymentMethod Stripe already detached
 *   is deleted here all the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"
#include "fake_stripe.h"

#define KEY "sk_test_e2e_fake_key"

typedef struct {
	fake_stripe *fs;
	tb_world *w;
	const char *t;
	billing_principal admin;
	char customer_id[64];
} fx;

static void fx_init(fx *f)
{
	billing_provider *p = NULL;
	billing_customer *c;

	memset(f, 0, sizeof(*f));
	assert_non_null(f->fs = fake_stripe_start(KEY));
	tb_assert_rc(fake_stripe_provider(&p, f->fs, KEY, NULL), BILLING_OK);
	f->w = tb_world_new_with_provider(p);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ .name = "Ada" });
	snprintf(f->customer_id, sizeof(f->customer_id), "%s", billing_customer_id(c));
	billing_customer_free(c);
}

static void fx_free(fx *f)
{
	tb_world_free(f->w);
	fake_stripe_stop(f->fs);
}

static int attach(fx *f, const char *customer_id, const char *token, char *id, size_t size)
{
	billing_payment_method_params p = BILLING_PAYMENT_METHOD_PARAMS_INIT;
	billing_stored_payment_method *pm = NULL;
	int rc;
	p.customer_id = customer_id;
	p.provider_ref = token;
	rc = billing_payment_method_attach(&pm, f->w->ctx, &f->admin, &p, NULL);
	if (rc == BILLING_OK && id)
		snprintf(id, size, "%s", billing_payment_method_id(pm));
	billing_payment_method_free(pm);
	return rc;
}

static void stripe_customer(fx *f, const char *customer_id, char *out, size_t size)
{
	billing_customer *c = NULL;
	const char *ref;
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, customer_id), BILLING_OK);
	ref = billing_customer_metadata_get(c, "provider_customer_id");
	snprintf(out, size, "%s", ref ? ref : "");
	billing_customer_free(c);
}

static void setup_intent__makes_the_customer_then_an_off_session_intent(void **state)
{
	billing_setup_intent si;
	char got[128], cus[128];
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(billing_setup_intent_create(&si, f.w->ctx, &f.admin, f.customer_id, NULL),
		BILLING_OK);
	assert_true(strncmp(si.id, "seti_fake_", 10) == 0);
	assert_true(strncmp(si.client_secret, si.id, strlen(si.id)) == 0);
	assert_string_equal(si.status, "requires_payment_method");
	assert_int_equal(fake_stripe_customer_count(f.fs), 1);
	stripe_customer(&f, f.customer_id, cus, sizeof(cus));
	assert_true(strncmp(cus, "cus_fake_", 9) == 0);
	/* the last request: the SetupIntent */
	assert_true(fake_stripe_last_path(f.fs, got, sizeof(got)));
	assert_string_equal(got, "/v1/setup_intents");
	assert_true(fake_stripe_last_form(f.fs, "usage", got, sizeof(got)));
	assert_string_equal(got, "off_session");
	assert_true(fake_stripe_last_form(f.fs, "customer", got, sizeof(got)));
	assert_string_equal(got, cus);
	assert_true(fake_stripe_last_form(f.fs, "metadata[customer_id]", got, sizeof(got)));
	assert_string_equal(got, f.customer_id);
	assert_true(fake_stripe_last_header(f.fs, "Idempotency-Key", got, sizeof(got)));
	assert_true(got[0] != '\0');

	/* again: the same Stripe customer */
	tb_assert_rc(billing_setup_intent_create(&si, f.w->ctx, &f.admin, f.customer_id, NULL),
		BILLING_OK);
	assert_int_equal(fake_stripe_customer_count(f.fs), 1);
	fx_free(&f);
}

static void attach__at_stripe_and_the_renewal_charges_off_session(void **state)
{
	billing_stored_payment_method *pm = NULL;
	billing_subscription *s;
	billing_plan *plan;
	billing_customer *c = NULL;
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
	char id[64], cus[128], got[128];
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(attach(&f, f.customer_id, "pm_card_amex_exp_2030_04", id, sizeof(id)),
		BILLING_OK);
	stripe_customer(&f, f.customer_id, cus, sizeof(cus));
	assert_true(fake_stripe_payment_method_customer(f.fs, "pm_card_amex_exp_2030_04", got,
		sizeof(got)));
	assert_string_equal(got, cus);
	tb_assert_rc(billing_payment_method_get(&pm, f.w->ctx, &f.admin, id), BILLING_OK);
	assert_string_equal(billing_payment_method_brand(pm), "amex");
	assert_string_equal(billing_payment_method_last4(pm), "8431");
	assert_int_equal(billing_payment_method_exp_month(pm), 4);
	assert_int_equal(billing_payment_method_exp_year(pm), 2030);
	billing_payment_method_free(pm);

	/* unknown at Stripe */
	tb_assert_rc(attach(&f, f.customer_id, "pm_nope", NULL, 0), BILLING_EINVALID);
	tb_assert_field("providerPaymentMethodId");
	tbb_assert_reason("resource_missing");

	/* the default by our id; the subscription's first charge and its
	 * renewal go off-session with the Stripe customer */
	cp.fields = BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD;
	cp.default_payment_method = id;
	tb_assert_rc(billing_customer_update(&c, f.w->ctx, &f.admin, f.customer_id, &cp, NULL),
		BILLING_OK);
	assert_string_equal(billing_customer_default_payment_method(c), "pm_card_amex_exp_2030_04");
	billing_customer_free(c);
	plan = tb_plan(f.w, f.t, &(tb_plan_spec){ .amount = 2900 });
	s = tbb_subscribe(f.w, f.t, f.customer_id, billing_plan_id(plan), 1);
	assert_int_equal(billing_subscription_status_of(s), BILLING_SUB_ACTIVE);
	billing_subscription_free(s);
	f.w->now += 32 * 86400;
	tbb_run(f.w);
	assert_int_equal(fake_stripe_payment_intent_count(f.fs), 2);
	assert_true(fake_stripe_last_path(f.fs, got, sizeof(got)));
	assert_string_equal(got, "/v1/payment_intents");
	assert_true(fake_stripe_last_form(f.fs, "customer", got, sizeof(got)));
	assert_string_equal(got, cus);
	assert_true(fake_stripe_last_form(f.fs, "payment_method", got, sizeof(got)));
	assert_string_equal(got, "pm_card_amex_exp_2030_04");
	assert_true(fake_stripe_last_form(f.fs, "off_session", got, sizeof(got)));
	assert_string_equal(got, "true");
	assert_true(fake_stripe_last_form(f.fs, "confirm", got, sizeof(got)));
	assert_string_equal(got, "true");
	billing_plan_free(plan);
	fx_free(&f);
}

static void attach__of_another_stripe_customer_is_refused(void **state)
{
	billing_customer *bob;
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa", NULL, 0), BILLING_OK);
	bob = tb_customer(f.w, f.t, &(tb_customer_spec){ .name = "Bob" });
	tb_assert_rc(attach(&f, billing_customer_id(bob), "pm_card_visa", NULL, 0),
		BILLING_ECONFLICT);
	tbb_assert_reason("attached_elsewhere");
	billing_customer_free(bob);
	fx_free(&f);
}

static void detach__at_stripe_and_when_stripe_has_detached_already(void **state)
{
	char visa[64], mc[64], got[128];
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa", visa, sizeof(visa)), BILLING_OK);
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_mastercard", mc, sizeof(mc)), BILLING_OK);
	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &f.admin, visa), BILLING_OK);
	assert_false(fake_stripe_payment_method_customer(f.fs, "pm_card_visa", got, sizeof(got)));
	assert_true(fake_stripe_last_path(f.fs, got, sizeof(got)));
	assert_string_equal(got, "/v1/payment_methods/pm_card_visa/detach");

	/* Detached at Stripe by someone else (its 400): ours goes too. */
	{
		fake_stripe_fault fault = { FAKE_STRIPE_RAW, FAKE_STRIPE_NO_HEADER, 0, 400,
			"{\"error\":{\"type\":\"invalid_request_error\","
			"\"code\":\"payment_method_unexpected_state\","
			"\"message\":\"not attached to a customer\"}}" };
		fake_stripe_fail_next(f.fs, 1, &fault);
	}
	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &f.admin, mc), BILLING_OK);
	/* Stripe unreachable: nothing is deleted, the caller tries again. */
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa", visa, sizeof(visa)), BILLING_OK);
	{
		fake_stripe_fault fault = { FAKE_STRIPE_SERVER_ERROR, FAKE_STRIPE_NO_HEADER, 0, 0,
			NULL };
		fake_stripe_fail_next(f.fs, 3, &fault);
	}
	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &f.admin, visa),
		BILLING_EUNKNOWN_OUTCOME);
	{
		billing_stored_payment_method *pm = NULL;
		tb_assert_rc(billing_payment_method_get(&pm, f.w->ctx, &f.admin, visa), BILLING_OK);
		billing_payment_method_free(pm);
	}
	fake_stripe_clear_faults(f.fs);
	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &f.admin, visa), BILLING_OK);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(setup_intent__makes_the_customer_then_an_off_session_intent),
		cmocka_unit_test(attach__at_stripe_and_the_renewal_charges_off_session),
		cmocka_unit_test(attach__of_another_stripe_customer_is_refused),
		cmocka_unit_test(detach__at_stripe_and_when_stripe_has_detached_already),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
