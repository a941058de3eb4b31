/*
 * Stored payment methods (billing/payment_method.h, issue #18 item 7),
 * with the test provider, on the backend under test:
 *
 * - a SetupIntent makes the provider's customer once (customer metadata
 *   provider_customer_id, customer.updated) and answers a client secret;
 * - attaching stores the provider's card details (never a number), writes
 *   payment_method.created and an audit row; bad input, an unknown token,
 *   an expired card, a card of another customer change nothing;
 * - the default: a customer's defaultPaymentMethod takes our id (stored as
 *   the provider's id, which renewals charge) or a provider id as before;
 * - detaching: the default is refused; another is detached at the provider
 *   and deleted (payment_method.deleted);
 * - payment_method.expiring: at the first second of the expiry month
 *   (UTC), once across runs and restarts; December, a year change, a card
 *   that expired before the run came;
 * - tenants: another tenant's method is not found, listed, deleted or
 *   made a default; USER reads but does not write.
 */
#include <stdio.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"

typedef struct {
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
	tb_assert_rc(billing_test_provider_new(&p, NULL), BILLING_OK);
	f->w = tb_world_new_with_provider(p);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ .name = "Ada" });
	snprintf(f->customer_id, sizeof(f->customer_id), "%s", billing_customer_id(c));
	billing_customer_free(c);
}

static int64_t count(fx *f, const char *where)
{
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", where);
	return tb_raw_count(f->w->url, sql);
}

static int64_t events_of(fx *f, const char *type)
{
	char where[256];
	snprintf(where, sizeof(where), "events WHERE type = '%s'", type);
	return count(f, where);
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

static int set_default(fx *f, const billing_principal *who, const char *customer_id,
	const char *value)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	int rc;
	p.fields = BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD;
	p.default_payment_method = value;
	rc = billing_customer_update(&c, f->w->ctx, who, customer_id, &p, NULL);
	billing_customer_free(c);
	return rc;
}

static void customer_default(fx *f, const char *customer_id, char *out, size_t size)
{
	billing_customer *c = NULL;
	const char *pm;
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, customer_id), BILLING_OK);
	pm = billing_customer_default_payment_method(c);
	snprintf(out, size, "%s", pm ? pm : "");
	billing_customer_free(c);
}

static void setup_intent__makes_the_provider_customer_once(void **state)
{
	billing_setup_intent si, again;
	billing_customer *c = NULL;
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(billing_setup_intent_create(&si, f.w->ctx, &f.admin, f.customer_id, NULL),
		BILLING_OK);
	assert_true(strncmp(si.id, "seti_test_", 10) == 0);
	assert_true(strstr(si.client_secret, "_secret_") != NULL);
	assert_string_equal(si.status, "requires_payment_method");
	tb_assert_rc(billing_customer_get(&c, f.w->ctx, &f.admin, f.customer_id), BILLING_OK);
	assert_non_null(billing_customer_metadata_get(c, "provider_customer_id"));
	assert_true(strncmp(billing_customer_metadata_get(c, "provider_customer_id"), "cus_test_",
		9) == 0);
	billing_customer_free(c);
	assert_int_equal(events_of(&f, "customer.updated"), 1);

	/* The second SetupIntent is another, for the same provider customer. */
	tb_assert_rc(billing_setup_intent_create(&again, f.w->ctx, &f.admin, f.customer_id, NULL),
		BILLING_OK);
	assert_string_not_equal(again.id, si.id);
	assert_int_equal(events_of(&f, "customer.updated"), 1);

	/* An unknown customer, USER */
	tb_assert_rc(billing_setup_intent_create(&si, f.w->ctx, &f.admin, "cus_nope", NULL),
		BILLING_EINVALID);
	tb_assert_field("customerId");
	{
		billing_principal user = tb_user(f.t);
		tb_assert_rc(billing_setup_intent_create(&si, f.w->ctx, &user, f.customer_id, NULL),
			BILLING_EFORBIDDEN);
	}
	tb_world_free(f.w);
}

static void attach__stores_what_the_provider_reports(void **state)
{
	billing_stored_payment_method *pm = NULL;
	char id[64];
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(attach(&f, f.customer_id, "pm_card_mastercard", id, sizeof(id)), BILLING_OK);
	assert_true(strncmp(id, "cpm_", 4) == 0);
	tb_assert_rc(billing_payment_method_get(&pm, f.w->ctx, &f.admin, id), BILLING_OK);
	assert_string_equal(billing_payment_method_customer_id(pm), f.customer_id);
	assert_string_equal(billing_payment_method_provider_ref(pm), "pm_card_mastercard");
	assert_string_equal(billing_payment_method_brand(pm), "mastercard");
	assert_string_equal(billing_payment_method_last4(pm), "4444");
	assert_int_equal(billing_payment_method_exp_month(pm), 12);
	assert_int_equal(billing_payment_method_exp_year(pm), 2099);
	billing_payment_method_free(pm);
	assert_int_equal(events_of(&f, "payment_method.created"), 1);
	assert_int_equal(count(&f, "audit_log WHERE operation = 'payment_methods.create'"), 1);
	/* the provider's customer was made on the way */
	assert_int_equal(events_of(&f, "customer.updated"), 1);
	tb_world_free(f.w);
}

static void attach__bad_input_changes_nothing(void **state)
{
	billing_principal user;
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(attach(&f, NULL, "pm_card_visa", NULL, 0), BILLING_EINVALID);
	tb_assert_field("customerId");
	tb_assert_rc(attach(&f, "cus_01HZZZZZZZZZZZZZZZZZZZZZZZ", "pm_card_visa", NULL, 0),
		BILLING_EINVALID);
	tb_assert_field("customerId");
	tbb_assert_reason("resource_missing");
	tb_assert_rc(attach(&f, f.customer_id, "pm card", NULL, 0), BILLING_EINVALID);
	tb_assert_field("providerPaymentMethodId");
	tb_assert_rc(attach(&f, f.customer_id, "cpm_01HZZZZZZZZZZZZZZZZZZZZZZZ", NULL, 0),
		BILLING_EINVALID);
	tb_assert_field("providerPaymentMethodId");
	tb_assert_rc(attach(&f, f.customer_id, "pm_nope", NULL, 0), BILLING_EINVALID);
	tb_assert_field("providerPaymentMethodId");
	tbb_assert_reason("resource_missing");
	/* an expiry suffix the test provider does not know: no such card */
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa_exp_2027_13", NULL, 0),
		BILLING_EINVALID);
	tbb_assert_reason("resource_missing");
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa_xyz", NULL, 0), BILLING_EINVALID);
	tbb_assert_reason("resource_missing");
	/* The clock is at 2026-01-01: a card of 12/2025 expired an instant ago. */
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa_exp_2025_12", NULL, 0),
		BILLING_EINVALID);
	tb_assert_field("providerPaymentMethodId");
	tbb_assert_reason("expired_card");
	user = tb_user(f.t);
	{
		billing_payment_method_params p = BILLING_PAYMENT_METHOD_PARAMS_INIT;
		billing_stored_payment_method *pm = NULL;
		p.customer_id = f.customer_id;
		p.provider_ref = "pm_card_visa";
		tb_assert_rc(billing_payment_method_attach(&pm, f.w->ctx, &user, &p, NULL),
			BILLING_EFORBIDDEN);
	}
	assert_int_equal(count(&f, "payment_methods"), 0);
	assert_int_equal(events_of(&f, "payment_method.created"), 0);
	assert_int_equal(count(&f, "due_work WHERE kind = 'card_expiry'"), 0);
	tb_world_free(f.w);
}

static void attach__twice_or_elsewhere_is_refused_and_a_key_replays(void **state)
{
	billing_payment_method_params p = BILLING_PAYMENT_METHOD_PARAMS_INIT;
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_stored_payment_method *a = NULL, *b = NULL;
	billing_customer *other;
	fx f;
	(void)state;
	fx_init(&f);

	p.customer_id = f.customer_id;
	p.provider_ref = "pm_card_visa";
	o.idempotency_key = "attach-1";
	tb_assert_rc(billing_payment_method_attach(&a, f.w->ctx, &f.admin, &p, &o), BILLING_OK);
	tb_assert_rc(billing_payment_method_attach(&b, f.w->ctx, &f.admin, &p, &o), BILLING_OK);
	assert_string_equal(billing_payment_method_id(a), billing_payment_method_id(b));
	billing_payment_method_free(a);
	billing_payment_method_free(b);
	assert_int_equal(count(&f, "payment_methods"), 1);

	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa", NULL, 0), BILLING_EEXISTS);
	tb_assert_field("providerPaymentMethodId");
	other = tb_customer(f.w, f.t, &(tb_customer_spec){ .name = "Bob" });
	tb_assert_rc(attach(&f, billing_customer_id(other), "pm_card_visa", NULL, 0),
		BILLING_ECONFLICT);
	tbb_assert_reason("attached_elsewhere");
	billing_customer_free(other);
	assert_int_equal(count(&f, "payment_methods"), 1);
	assert_int_equal(events_of(&f, "payment_method.created"), 1);
	tb_world_free(f.w);
}

static void default__takes_our_id_or_the_providers_and_renewals_charge_it(void **state)
{
	billing_customer *bob;
	billing_subscription *s;
	billing_plan *plan;
	billing_page *page = NULL;
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	char visa[64], amex[64], got[256];
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa", visa, sizeof(visa)), BILLING_OK);
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_amex", amex, sizeof(amex)), BILLING_OK);
	tb_assert_rc(set_default(&f, &f.admin, f.customer_id, amex), BILLING_OK);
	customer_default(&f, f.customer_id, got, sizeof(got));
	assert_string_equal(got, "pm_card_amex");
	/* a provider's id, as before stored methods existed */
	tb_assert_rc(set_default(&f, &f.admin, f.customer_id, "pm_card_visa"), BILLING_OK);
	customer_default(&f, f.customer_id, got, sizeof(got));
	assert_string_equal(got, "pm_card_visa");
	/* unknown, ill-formed, or another customer's stored method */
	tb_assert_rc(set_default(&f, &f.admin, f.customer_id, "cpm_01HZZZZZZZZZZZZZZZZZZZZZZZ"),
		BILLING_EINVALID);
	tb_assert_field("defaultPaymentMethod");
	tb_assert_rc(set_default(&f, &f.admin, f.customer_id, "cpm_x"), BILLING_EINVALID);
	tb_assert_field("defaultPaymentMethod");
	bob = tb_customer(f.w, f.t, &(tb_customer_spec){ .name = "Bob" });
	tb_assert_rc(set_default(&f, &f.admin, billing_customer_id(bob), visa), BILLING_EINVALID);
	tb_assert_field("defaultPaymentMethod");
	billing_customer_free(bob);
	customer_default(&f, f.customer_id, got, sizeof(got));
	assert_string_equal(got, "pm_card_visa");

	/* The default set by our id is what the renewal charges off-session. */
	tb_assert_rc(set_default(&f, &f.admin, f.customer_id, amex), BILLING_OK);
	plan = tb_plan(f.w, f.t, &(tb_plan_spec){ .amount = 2900 });
	s = tbb_subscribe(f.w, f.t, f.customer_id, billing_plan_id(plan), 1);
	f.w->now += 32 * 86400;
	tbb_run(f.w);
	lp.status = BILLING_PAYMENT_SUCCEEDED;
	tb_assert_rc(billing_payment_list(&page, f.w->ctx, &f.admin, &lp), BILLING_OK);
	assert_true(billing_page_count(page) >= 2);
	assert_string_equal(billing_payment_method(billing_page_payment(page, 0)), "pm_card_amex");
	billing_page_free(page);
	billing_subscription_free(s);
	billing_plan_free(plan);
	tb_world_free(f.w);
}

static void detach__refuses_the_default_and_detaches_another(void **state)
{
	billing_stored_payment_method *pm = NULL;
	billing_customer *bob;
	char visa[64], amex[64];
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa", visa, sizeof(visa)), BILLING_OK);
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_amex", amex, sizeof(amex)), BILLING_OK);
	tb_assert_rc(set_default(&f, &f.admin, f.customer_id, visa), BILLING_OK);
	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &f.admin, visa), BILLING_ECONFLICT);
	tbb_assert_reason("payment_method_is_default");
	assert_int_equal(count(&f, "payment_methods"), 2);

	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &f.admin, amex), BILLING_OK);
	tb_assert_rc(billing_payment_method_get(&pm, f.w->ctx, &f.admin, amex), BILLING_ENOTFOUND);
	assert_int_equal(events_of(&f, "payment_method.deleted"), 1);
	assert_int_equal(count(&f, "audit_log WHERE operation = 'payment_methods.delete'"), 1);
	assert_int_equal(count(&f, "due_work WHERE kind = 'card_expiry'"), 1);
	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &f.admin, amex), BILLING_ENOTFOUND);
	/* Detached at the provider too: another customer may now attach it. */
	bob = tb_customer(f.w, f.t, &(tb_customer_spec){ .name = "Bob" });
	tb_assert_rc(attach(&f, billing_customer_id(bob), "pm_card_amex", NULL, 0), BILLING_OK);
	billing_customer_free(bob);
	/* Once no longer the default, it goes. */
	tb_assert_rc(set_default(&f, &f.admin, f.customer_id, NULL), BILLING_OK);
	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &f.admin, visa), BILLING_OK);
	tb_world_free(f.w);
}

/* The clock of f's world at y-m-d h:mi:s UTC, then a run. */
static void run_at(fx *f, int y, int m, int d, int h, int mi, int s)
{
	f->w->now = tbb_ts(y, m, d, h, mi, s);
	tbb_run(f->w);
}

static void expiring__at_the_start_of_the_expiry_month_once(void **state)
{
	billing_ctx *again;
	fx f;
	(void)state;
	fx_init(&f);

	/* December: the reminder comes on 1 December, a month before the end. */
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa_exp_2026_12", NULL, 0), BILLING_OK);
	/* January of the next year: on 1 January, across the year change. */
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_mastercard_exp_2027_01", NULL, 0),
		BILLING_OK);
	run_at(&f, 2026, 11, 30, 23, 59, 59);
	assert_int_equal(events_of(&f, "payment_method.expiring"), 0);
	run_at(&f, 2026, 12, 1, 0, 0, 0);
	assert_int_equal(events_of(&f, "payment_method.expiring"), 1);
	assert_int_equal(count(&f, "events WHERE type = 'payment_method.expiring' AND "
		"data LIKE '%2026%' AND data LIKE '%4242%'"), 1);
	run_at(&f, 2026, 12, 15, 0, 0, 0);
	assert_int_equal(events_of(&f, "payment_method.expiring"), 1);
	run_at(&f, 2026, 12, 31, 23, 59, 59);
	assert_int_equal(events_of(&f, "payment_method.expiring"), 1);
	run_at(&f, 2027, 1, 1, 0, 0, 0);
	assert_int_equal(events_of(&f, "payment_method.expiring"), 2);
	/* A restart: another context on the same database sends nothing again. */
	again = tb_world_open_again(f.w);
	f.w->now = tbb_ts(2027, 1, 20, 0, 0, 0);
	tb_assert_rc(billing_run_due(again, 0, NULL, NULL), BILLING_OK);
	billing_ctx_close(again);
	run_at(&f, 2027, 2, 1, 0, 0, 0);
	assert_int_equal(events_of(&f, "payment_method.expiring"), 2);
	assert_int_equal(count(&f, "due_work WHERE kind = 'card_expiry'"), 0);
	tb_world_free(f.w);
}

static void expiring__not_for_a_card_expired_before_the_run(void **state)
{
	fx f;
	(void)state;
	fx_init(&f);

	/* Attached in its expiry month: the reminder is due at once. */
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa_exp_2026_01", NULL, 0), BILLING_OK);
	tb_assert_rc(attach(&f, f.customer_id, "pm_card_amex_exp_2026_02", NULL, 0), BILLING_OK);
	run_at(&f, 2026, 1, 1, 0, 0, 1);
	assert_int_equal(events_of(&f, "payment_method.expiring"), 1);
	/* The run did not come in February: on 1 March the card is expired. */
	run_at(&f, 2026, 3, 1, 0, 0, 0);
	assert_int_equal(events_of(&f, "payment_method.expiring"), 1);
	assert_int_equal(count(&f, "due_work WHERE kind = 'card_expiry'"), 0);
	tb_world_free(f.w);
}

static void tenants__see_only_their_own(void **state)
{
	billing_stored_payment_method *pm = NULL;
	billing_principal other, user;
	billing_page *page = NULL;
	billing_customer *c;
	const char *t2;
	char id[64];
	fx f;
	(void)state;
	fx_init(&f);

	tb_assert_rc(attach(&f, f.customer_id, "pm_card_visa", id, sizeof(id)), BILLING_OK);
	t2 = tb_tenant(f.w, "Globex");
	other = tb_admin(t2);
	tb_assert_rc(billing_payment_method_get(&pm, f.w->ctx, &other, id), BILLING_ENOTFOUND);
	tb_assert_rc(billing_payment_method_list(&page, f.w->ctx, &other, NULL, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &other, id), BILLING_ENOTFOUND);
	c = tb_customer(f.w, t2, &(tb_customer_spec){ .name = "Eve" });
	tb_assert_rc(set_default(&f, &other, billing_customer_id(c), id), BILLING_EINVALID);
	tb_assert_field("defaultPaymentMethod");
	billing_customer_free(c);
	assert_int_equal(count(&f, "payment_methods"), 1);

	/* USER reads, and lists by customer. */
	user = tb_user(f.t);
	tb_assert_rc(billing_payment_method_get(&pm, f.w->ctx, &user, id), BILLING_OK);
	billing_payment_method_free(pm);
	tb_assert_rc(billing_payment_method_list(&page, f.w->ctx, &user, f.customer_id, NULL),
		BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_payment_method_id(billing_page_payment_method(page, 0)), id);
	billing_page_free(page);
	tb_assert_rc(billing_payment_method_detach(f.w->ctx, &user, id), BILLING_EFORBIDDEN);
	tb_world_free(f.w);
}

/* Through the JSON layer: what the HTTP server and the bindings call. */
static void json__operations_and_the_catalog(void **state)
{
	char *out = NULL, *cat = NULL, in[256];
	fx f;
	(void)state;
	fx_init(&f);

	snprintf(in, sizeof(in), "{\"customerId\":\"%s\",\"providerPaymentMethodId\":"
		"\"pm_card_visa\"}", f.customer_id);
	tb_assert_rc(billing_call_json(&out, f.w->ctx, &f.admin, "payment_methods.create", in,
		strlen(in), NULL), BILLING_OK);
	assert_non_null(strstr(out, "\"object\":\"payment_method\""));
	assert_non_null(strstr(out, "\"card\":{\"brand\":\"visa\""));
	assert_non_null(strstr(out, "\"last4\":\"4242\""));
	free(out);
	snprintf(in, sizeof(in), "{\"customerId\":\"%s\"}", f.customer_id);
	tb_assert_rc(billing_call_json(&out, f.w->ctx, &f.admin, "payment_methods.list", in,
		strlen(in), NULL), BILLING_OK);
	assert_non_null(strstr(out, "pm_card_visa"));
	free(out);
	tb_assert_rc(billing_call_json(&out, f.w->ctx, &f.admin, "setup_intents.create", in,
		strlen(in), NULL), BILLING_OK);
	assert_non_null(strstr(out, "\"clientSecret\":\"seti_test_"));
	free(out);
	tb_assert_rc(billing_catalog_json(&cat), BILLING_OK);
	assert_non_null(strstr(cat, "\"payment_methods.create\""));
	assert_non_null(strstr(cat, "\"payment_methods.delete\""));
	assert_non_null(strstr(cat, "\"setup_intents.create\""));
	assert_non_null(strstr(cat, "\"path\":\"payment-methods\""));
	free(cat);
	tb_world_free(f.w);
}

static void no_provider__is_a_conflict_as_paying_is(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "NoPay");
	billing_principal admin = tb_admin(t);
	billing_payment_method_params p = BILLING_PAYMENT_METHOD_PARAMS_INIT;
	billing_stored_payment_method *pm = NULL;
	billing_setup_intent si;
	billing_customer *c;
	(void)state;

	c = tb_customer(w, t, &(tb_customer_spec){ .name = "Ada" });
	p.customer_id = billing_customer_id(c);
	p.provider_ref = "pm_card_visa";
	tb_assert_rc(billing_payment_method_attach(&pm, w->ctx, &admin, &p, NULL),
		BILLING_ECONFLICT);
	tbb_assert_reason("no_provider");
	tb_assert_rc(billing_setup_intent_create(&si, w->ctx, &admin, billing_customer_id(c),
		NULL), BILLING_ECONFLICT);
	tbb_assert_reason("no_provider");
	billing_customer_free(c);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(setup_intent__makes_the_provider_customer_once),
		cmocka_unit_test(attach__stores_what_the_provider_reports),
		cmocka_unit_test(attach__bad_input_changes_nothing),
		cmocka_unit_test(attach__twice_or_elsewhere_is_refused_and_a_key_replays),
		cmocka_unit_test(default__takes_our_id_or_the_providers_and_renewals_charge_it),
		cmocka_unit_test(detach__refuses_the_default_and_detaches_another),
		cmocka_unit_test(expiring__at_the_start_of_the_expiry_month_once),
		cmocka_unit_test(expiring__not_for_a_card_expired_before_the_run),
		cmocka_unit_test(tenants__see_only_their_own),
		cmocka_unit_test(json__operations_and_the_catalog),
		cmocka_unit_test(no_provider__is_a_conflict_as_paying_is),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
