/*
 * Unit tests for src/providers/stripe/stripe.c against the fake Stripe of
 * tests/support/fake_stripe.c: what goes over the wire (form, headers,
 * idempotency keys), how answers map to outcomes, retries and their
 * limits, lost answers, refunds, construction rules, and that the API key
 * never shows in an error.
 *
 * Timeouts and backoff are tens of milliseconds so that the suite runs in
 * a few seconds.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "billing/errors.h"
#include "core/alloc.h"
#include "billing/providers.h"
#include "billing/sys/provider.h"
#include "fake_stripe.h"

#define KEY "sk_test_51FakeKeyForTheUnitTestsOnly0123456789"
#define KEY_TAIL "6789"
#define WHSEC "whsec_unit_test_secret"
#define NOW ((int64_t)1700000000)

typedef struct {
	fake_stripe *fs;
	billing_provider *p;
} fixture;

static void options_for(billing_stripe_options *o, const fake_stripe *fs)
{
	static const char *const secrets[] = { WHSEC };

	*o = (billing_stripe_options)BILLING_STRIPE_OPTIONS_INIT;
	o->api_key = KEY;
	o->api_base = fake_stripe_url(fs);
	o->webhook_secrets = secrets;
	o->webhook_secret_count = 1;
	o->connect_timeout_ms = 200;
	o->timeout_ms = 300;
	o->max_retries = 2;
	o->retry_base_ms = 5;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	billing_stripe_options o;

	assert_non_null(f);
	f->fs = fake_stripe_start(KEY);
	assert_non_null(f->fs);
	options_for(&o, f->fs);
	assert_int_equal(billing_stripe_provider_new(&f->p, &o), BILLING_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	if (f->p)
		f->p->free(f->p);
	fake_stripe_stop(f->fs);
	free(f);
	return 0;
}

static billing_provider_charge a_charge(const char *pm, const char *key)
{
	billing_provider_charge c;

	memset(&c, 0, sizeof(c));
	c.tenant_id = "ten_01HX";
	c.payment_id = "pay_01HY";
	c.invoice_id = "inv_01HZ";
	c.customer_id = "cus_01HA";
	c.payment_method = pm;
	c.amount = 2900;
	c.currency = "USD";
	c.idempotency_key = key;
	return c;
}

static void assert_no_key_leak(const billing_provider_result *r)
{
	const billing_error *e = billing_error_last();

	assert_null(strstr(e->message, KEY));
	assert_null(strstr(e->message, KEY_TAIL));
	if (r) {
		assert_null(strstr(r->failure_message, KEY));
		assert_null(strstr(r->failure_message, KEY_TAIL));
		assert_null(strstr(r->failure_code, KEY));
	}
}

static void assert_all_keys(fake_stripe *fs, size_t n, const char *key)
{
	char got[256];
	size_t i;

	assert_int_equal(fake_stripe_request_count(fs), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(fake_stripe_request_idempotency_key(fs, i, got, sizeof(got)), 1);
		assert_string_equal(got, key);
	}
}

static fake_stripe_fault fault_of(fake_stripe_fault_kind kind)
{
	fake_stripe_fault f;

	memset(&f, 0, sizeof(f));
	f.kind = kind;
	return f;
}

/* ---- the request ---- */

static void charge__sends_the_form_and_headers(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge("pm_card_visa", "pay_01HY");
	billing_provider_result r;
	char v[512];

	c.customer_ref = "cus_Stripe123";
	c.off_session = 1;
	c.description = "Invoice INV-000042 & co=1+1 \xc3\xa9";
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(strncmp(r.ref, "pi_fake_", 8), 0);
	assert_int_equal(r.amount, 2900);
	assert_string_equal(r.currency, "USD");

	assert_int_equal(fake_stripe_last_method(f->fs, v, sizeof(v)), 1);
	assert_string_equal(v, "POST");
	assert_int_equal(fake_stripe_last_path(f->fs, v, sizeof(v)), 1);
	assert_string_equal(v, "/v1/payment_intents");
	assert_int_equal(fake_stripe_last_header(f->fs, "authorization", v, sizeof(v)), 1);
	assert_string_equal(v, "Bearer " KEY);
	assert_int_equal(fake_stripe_last_header(f->fs, "Idempotency-Key", v, sizeof(v)), 1);
	assert_string_equal(v, "pay_01HY");
	assert_int_equal(fake_stripe_last_header(f->fs, "Stripe-Version", v, sizeof(v)), 1);
	assert_string_equal(v, "2024-06-20");
	assert_int_equal(fake_stripe_last_header(f->fs, "Content-Type", v, sizeof(v)), 1);
	assert_string_equal(v, "application/x-www-form-urlencoded");

	assert_int_equal(fake_stripe_last_form_count(f->fs), 11);
	assert_int_equal(fake_stripe_last_form(f->fs, "amount", v, sizeof(v)), 1);
	assert_string_equal(v, "2900");
	assert_int_equal(fake_stripe_last_form(f->fs, "currency", v, sizeof(v)), 1);
	assert_string_equal(v, "usd");
	assert_int_equal(fake_stripe_last_form(f->fs, "customer", v, sizeof(v)), 1);
	assert_string_equal(v, "cus_Stripe123");
	assert_int_equal(fake_stripe_last_form(f->fs, "payment_method", v, sizeof(v)), 1);
	assert_string_equal(v, "pm_card_visa");
	assert_int_equal(fake_stripe_last_form(f->fs, "confirm", v, sizeof(v)), 1);
	assert_string_equal(v, "true");
	assert_int_equal(fake_stripe_last_form(f->fs, "off_session", v, sizeof(v)), 1);
	assert_string_equal(v, "true");
	assert_int_equal(fake_stripe_last_form(f->fs, "description", v, sizeof(v)), 1);
	assert_string_equal(v, "Invoice INV-000042 & co=1+1 \xc3\xa9");
	assert_int_equal(fake_stripe_last_form(f->fs, "metadata[tenant_id]", v, sizeof(v)), 1);
	assert_string_equal(v, "ten_01HX");
	assert_int_equal(fake_stripe_last_form(f->fs, "metadata[payment_id]", v, sizeof(v)), 1);
	assert_string_equal(v, "pay_01HY");
	assert_int_equal(fake_stripe_last_form(f->fs, "metadata[invoice_id]", v, sizeof(v)), 1);
	assert_string_equal(v, "inv_01HZ");
	assert_int_equal(fake_stripe_last_form(f->fs, "metadata[customer_id]", v, sizeof(v)), 1);
	assert_string_equal(v, "cus_01HA");
	/* the value was escaped, not sent raw */
	assert_int_equal(fake_stripe_last_body(f->fs, v, sizeof(v)), 1);
	assert_non_null(strstr(v, "description=Invoice%20INV-000042%20%26%20co%3D1%2B1%20%C3%A9"));
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 1);
}

static void charge__off_session_only_when_asked(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge("pm_card_visa", "k_on_session");
	billing_provider_result r;
	char v[64];

	c.invoice_id = NULL;
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(fake_stripe_last_form(f->fs, "off_session", v, sizeof(v)), 0);
	assert_int_equal(fake_stripe_last_form(f->fs, "customer", v, sizeof(v)), 0);
	assert_int_equal(fake_stripe_last_form(f->fs, "description", v, sizeof(v)), 0);
	assert_int_equal(fake_stripe_last_form(f->fs, "metadata[invoice_id]", v, sizeof(v)), 0);
	/* amount currency payment_method confirm + three metadata */
	assert_int_equal(fake_stripe_last_form_count(f->fs), 7);
}

static void charge__stripe_version_can_be_pinned_by_the_host(void **state)
{
	fixture *f = *state;
	billing_stripe_options o;
	billing_provider *p = NULL;
	billing_provider_charge c = a_charge("pm_card_visa", "k_version");
	billing_provider_result r;
	char v[64];

	options_for(&o, f->fs);
	o.stripe_version = "2023-10-16";
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_OK);
	assert_int_equal(p->charge(p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(fake_stripe_last_header(f->fs, "Stripe-Version", v, sizeof(v)), 1);
	assert_string_equal(v, "2023-10-16");
	p->free(p);
}

static void charge__refuses_what_it_cannot_send(void **state)
{
	fixture *f = *state;
	billing_provider_charge c;
	billing_provider_result r;

	c = a_charge("pm_card_visa", "k");
	c.amount = 0;
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "amount");
	c = a_charge("pm_card_visa", "k");
	c.currency = "US";
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_EINVALID);
	c = a_charge("pm_card_visa", NULL);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "idempotencyKey");
	c = a_charge("pm_card_visa", "k\r\nX-Evil: 1");
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_EINVALID);
	c = a_charge(NULL, "k");
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_EINVALID);
	assert_int_equal(fake_stripe_request_count(f->fs), 0);
}

/* ---- outcomes ---- */

static void charge__statuses_map_to_outcomes(void **state)
{
	fixture *f = *state;
	billing_provider_charge c;
	billing_provider_result r;

	c = a_charge("pm_card_authenticationRequired", "k_action");
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_REQUIRES_ACTION);
	assert_int_equal(strncmp(r.ref, "pi_", 3), 0);

	c = a_charge("pm_card_processing", "k_processing");
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_PENDING);
	assert_string_equal(r.failure_code, "");
}

static void retrieve__statuses_map_to_outcomes(void **state)
{
	static const struct {
		const char *status;
		const char *code;
		billing_payment_status want;
		const char *want_code;
	} cases[] = {
		{ "processing", NULL, BILLING_PAYMENT_PENDING, "" },
		{ "succeeded", NULL, BILLING_PAYMENT_SUCCEEDED, "" },
		{ "requires_action", NULL, BILLING_PAYMENT_REQUIRES_ACTION, "" },
		{ "requires_confirmation", NULL, BILLING_PAYMENT_REQUIRES_ACTION, "" },
		{ "requires_payment_method", "expired_card", BILLING_PAYMENT_FAILED, "expired_card" },
		{ "canceled", NULL, BILLING_PAYMENT_FAILED, "expired_card" },
		{ "requires_capture", NULL, BILLING_PAYMENT_PENDING, "" },
	};
	fixture *f = *state;
	billing_provider_charge c = a_charge("pm_card_processing", "k_retrieve");
	billing_provider_result r;
	char ref[BILLING_PROVIDER_REF_MAX], v[128];
	size_t i;

	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	memcpy(ref, r.ref, sizeof(ref));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(fake_stripe_set_status(f->fs, ref, cases[i].status, cases[i].code), 1);
		assert_int_equal(f->p->retrieve(f->p, ref, NOW, &r), BILLING_OK);
		assert_int_equal(r.status, cases[i].want);
		assert_string_equal(r.failure_code, cases[i].want_code);
		assert_string_equal(r.ref, ref);
		assert_int_equal(r.amount, 2900);
		assert_string_equal(r.currency, "USD");
	}
	assert_int_equal(fake_stripe_last_method(f->fs, v, sizeof(v)), 1);
	assert_string_equal(v, "GET");
	assert_int_equal(fake_stripe_last_path(f->fs, v, sizeof(v)), 1);
	assert_int_equal(strncmp(v, "/v1/payment_intents/pi_fake_", 28), 0);
	assert_int_equal(fake_stripe_last_header(f->fs, "Authorization", v, sizeof(v)), 1);
	assert_string_equal(v, "Bearer " KEY);
}

static void retrieve__errors_are_errors(void **state)
{
	fixture *f = *state;
	fake_stripe_fault drop = fault_of(FAKE_STRIPE_DROP_BEFORE);
	billing_provider_result r;

	assert_int_equal(f->p->retrieve(f->p, "pi_nope", NOW, &r), BILLING_ENOTFOUND);
	assert_string_equal(billing_error_last()->provider_code, "resource_missing");
	assert_int_equal(f->p->retrieve(f->p, "pi_../x", NOW, &r), BILLING_EINVALID);
	assert_int_equal(f->p->retrieve(f->p, "", NOW, &r), BILLING_EINVALID);
	assert_int_equal(fake_stripe_request_count(f->fs), 1);

	fake_stripe_fail_next(f->fs, 3, &drop);
	assert_int_equal(f->p->retrieve(f->p, "pi_x", NOW, &r), BILLING_EUNKNOWN_OUTCOME);
	assert_string_equal(billing_error_last()->provider_code, "network_error");
	assert_int_equal(fake_stripe_request_count(f->fs), 4);
	assert_no_key_leak(NULL);
}

static void charge__declines_carry_their_codes(void **state)
{
	fixture *f = *state;
	billing_provider_charge c;
	billing_provider_result r;

	c = a_charge("pm_card_chargeDeclined", "k_declined");
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "card_declined");
	assert_string_equal(r.failure_message, "Your card was declined.");
	assert_int_equal(r.failure_class, BILLING_PROVIDER_FAILURE_DECLINE);
	assert_int_equal(r.http_status, 402);
	assert_int_equal(strncmp(r.ref, "pi_fake_", 8), 0);
	assert_int_equal(r.amount, 2900);

	c = a_charge("pm_card_insufficientFunds", "k_funds");
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "insufficient_funds");   /* decline_code wins */
	assert_string_equal(r.failure_message, "Your card has insufficient funds.");
	/* a decline is an answer: never retried */
	assert_int_equal(fake_stripe_request_count(f->fs), 2);
}

static void charge__refused_requests_are_failed(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge("tok_not_a_payment_method", "k_400");
	billing_provider_result r;

	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "resource_missing");
	/* the customer's payment method is gone: the customer's to fix */
	assert_int_equal(r.failure_class, BILLING_PROVIDER_FAILURE_DECLINE);
	assert_int_equal(r.http_status, 400);
	assert_string_equal(r.ref, "");
	assert_int_equal(fake_stripe_request_count(f->fs), 1);
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 0);
}

static void charge__a_wrong_key_is_failed_and_never_shown(void **state)
{
	fixture *f = *state;
	fake_stripe *other = fake_stripe_start("sk_test_the_right_key");
	billing_stripe_options o;
	billing_provider *p = NULL;
	billing_provider_charge c = a_charge("pm_card_visa", "k_401");
	billing_provider_result r;

	(void)f;
	assert_non_null(other);
	options_for(&o, other);
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_OK);
	assert_int_equal(p->charge(p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "authentication_error");
	assert_int_equal(r.failure_class, BILLING_PROVIDER_FAILURE_CONFIG);
	assert_int_equal(r.http_status, 401);
	assert_no_key_leak(&r);
	assert_int_equal(fake_stripe_request_count(other), 1);

	assert_int_equal(p->retrieve(p, "pi_1", NOW, &r), BILLING_ERROR);
	assert_string_equal(billing_error_last()->provider_code, "authentication_error");
	assert_no_key_leak(NULL);
	p->free(p);
	fake_stripe_stop(other);
}

static void charge__a_key_without_permission_is_failed(void **state)
{
	fixture *f = *state;
	fake_stripe_fault raw = fault_of(FAKE_STRIPE_RAW);
	billing_provider_charge c = a_charge("pm_card_visa", "k_403");
	billing_provider_result r;

	raw.status = 403;
	raw.body = "{\"error\":{\"type\":\"invalid_request_error\",\"message\":"
		"\"The provided key 'rk_test_*****" KEY_TAIL "' does not have the required "
		"permissions for this endpoint\"}}";
	fake_stripe_fail_next(f->fs, 1, &raw);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "permission_error");
	assert_int_equal(r.failure_class, BILLING_PROVIDER_FAILURE_CONFIG);
	assert_int_equal(r.http_status, 403);
	assert_no_key_leak(&r);
	assert_int_equal(fake_stripe_request_count(f->fs), 1);
}

/* Issue #18 item 2: a 400 that is not a card error and a 404 are the
 * merchant's configuration errors; a 400 card_error is a decline. */
static void charge__refusals_are_classed_decline_or_configuration(void **state)
{
	fixture *f = *state;
	fake_stripe_fault raw = fault_of(FAKE_STRIPE_RAW);
	billing_provider_charge c = a_charge("pm_card_visa", "k_class");
	billing_provider_result r;

	raw.status = 400;
	raw.body = "{\"error\":{\"type\":\"invalid_request_error\",\"code\":"
		"\"currency_unsupported\",\"param\":\"currency\",\"message\":\"no\"}}";
	fake_stripe_fail_next(f->fs, 1, &raw);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "currency_unsupported");
	assert_int_equal(r.failure_class, BILLING_PROVIDER_FAILURE_CONFIG);

	raw.status = 404;
	raw.body = "{\"error\":{\"type\":\"invalid_request_error\",\"code\":"
		"\"resource_missing\",\"message\":\"Unrecognized request URL\"}}";
	fake_stripe_fail_next(f->fs, 1, &raw);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.failure_class, BILLING_PROVIDER_FAILURE_CONFIG);
	assert_int_equal(r.http_status, 404);

	raw.status = 400;
	raw.body = "{\"error\":{\"type\":\"card_error\",\"code\":\"expired_card\","
		"\"message\":\"expired\"}}";
	fake_stripe_fail_next(f->fs, 1, &raw);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_string_equal(r.failure_code, "expired_card");
	assert_int_equal(r.failure_class, BILLING_PROVIDER_FAILURE_DECLINE);

	/* a currency Stripe takes no charge in: refused before sending */
	c.currency = "IQD";
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "currency_unsupported");
	assert_int_equal(r.failure_class, BILLING_PROVIDER_FAILURE_CONFIG);
	assert_int_equal(fake_stripe_request_count(f->fs), 3);
}

static void charge__messages_that_echo_a_key_are_replaced(void **state)
{
	fixture *f = *state;
	fake_stripe_fault raw = fault_of(FAKE_STRIPE_RAW);
	billing_provider_charge c = a_charge("pm_card_visa", "k_echo");
	billing_provider_result r;

	raw.status = 400;
	raw.body = "{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"bad\","
		"\"message\":\"you sent " KEY " which is odd\"}}";
	fake_stripe_fail_next(f->fs, 1, &raw);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "bad");
	assert_no_key_leak(&r);
}

/* ---- retries ---- */

static void charge__retries_429_500_409_with_the_same_key(void **state)
{
	fixture *f = *state;
	billing_stripe_options o;
	billing_provider *p = NULL;
	fake_stripe_fault f429 = fault_of(FAKE_STRIPE_RATE_LIMIT);
	fake_stripe_fault f500 = fault_of(FAKE_STRIPE_SERVER_ERROR);
	fake_stripe_fault f409 = fault_of(FAKE_STRIPE_LOCK_TIMEOUT);
	billing_provider_charge c = a_charge("pm_card_visa", "pay_retry_key");
	billing_provider_result r;

	options_for(&o, f->fs);
	o.max_retries = 3;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_OK);
	fake_stripe_fail_next(f->fs, 1, &f429);
	fake_stripe_fail_next(f->fs, 1, &f500);
	fake_stripe_fail_next(f->fs, 1, &f409);
	assert_int_equal(p->charge(p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_all_keys(f->fs, 4, "pay_retry_key");
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 1);
	p->free(p);
}

static void charge__should_retry_false_stops_retrying(void **state)
{
	fixture *f = *state;
	fake_stripe_fault f500 = fault_of(FAKE_STRIPE_SERVER_ERROR);
	billing_provider_charge c = a_charge("pm_card_visa", "k_no_retry");
	billing_provider_result r;

	f500.should_retry = FAKE_STRIPE_RETRY_FALSE;
	fake_stripe_fail_next(f->fs, 1, &f500);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	/* a 500 says nothing about an earlier request with this key */
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "api_error");
	assert_int_equal(fake_stripe_request_count(f->fs), 1);
}

static void charge__should_retry_true_forces_a_retry(void **state)
{
	fixture *f = *state;
	fake_stripe_fault raw = fault_of(FAKE_STRIPE_RAW);
	billing_provider_charge c = a_charge("pm_card_visa", "k_forced");
	billing_provider_result r;

	raw.status = 400;
	raw.body = "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"try again\"}}";
	raw.should_retry = FAKE_STRIPE_RETRY_TRUE;
	fake_stripe_fail_next(f->fs, 1, &raw);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_all_keys(f->fs, 2, "k_forced");
}

static void charge__exhausted_retries_are_unknown(void **state)
{
	fixture *f = *state;
	fake_stripe_fault f500 = fault_of(FAKE_STRIPE_SERVER_ERROR);
	fake_stripe_fault f429 = fault_of(FAKE_STRIPE_RATE_LIMIT);
	billing_provider_charge c = a_charge("pm_card_visa", "k_exhausted");
	billing_provider_result r;

	fake_stripe_fail_next(f->fs, 3, &f500);       /* 1 + max_retries (2) */
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "api_error");
	assert_all_keys(f->fs, 3, "k_exhausted");

	fake_stripe_fail_next(f->fs, 3, &f429);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "rate_limit");
	assert_int_equal(fake_stripe_request_count(f->fs), 6);
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 0);

	/* asked again later with the same key, it goes through once */
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 1);
}

static void charge__timeouts_are_unknown(void **state)
{
	fixture *f = *state;
	fake_stripe_fault slow = fault_of(FAKE_STRIPE_SLOW);
	billing_provider_charge c = a_charge("pm_card_visa", "k_slow");
	billing_provider_result r;
	char ref[BILLING_PROVIDER_REF_MAX];

	slow.delay_ms = 2000;             /* the client gives up after 300 ms */
	fake_stripe_fail_next(f->fs, 3, &slow);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "timeout");
	assert_string_equal(r.ref, "");
	assert_all_keys(f->fs, 3, "k_slow");
	/* the first try was processed; the others were replays */
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 1);
	assert_int_equal(fake_stripe_payment_intent_id(f->fs, 0, ref, sizeof(ref)), 1);

	/* asking again with the same key resolves it, still one payment */
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_string_equal(r.ref, ref);
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 1);
}

static void charge__dropped_connections_are_unknown_after_retries(void **state)
{
	fixture *f = *state;
	fake_stripe_fault drop = fault_of(FAKE_STRIPE_DROP_BEFORE);
	billing_provider_charge c = a_charge("pm_card_visa", "k_dropped");
	billing_provider_result r;

	fake_stripe_fail_next(f->fs, 3, &drop);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "network_error");
	assert_all_keys(f->fs, 3, "k_dropped");
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 0);
}

static void charge__a_lost_answer_is_recovered_by_the_retry(void **state)
{
	fixture *f = *state;
	fake_stripe_fault lost = fault_of(FAKE_STRIPE_DROP_AFTER);
	billing_provider_charge c = a_charge("pm_card_visa", "pay_lost_answer");
	billing_provider_result r;
	char ref[BILLING_PROVIDER_REF_MAX];

	fake_stripe_fail_next(f->fs, 1, &lost);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	/* two requests, one key, ONE PaymentIntent: the retry got the replay */
	assert_all_keys(f->fs, 2, "pay_lost_answer");
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 1);
	assert_int_equal(fake_stripe_payment_intent_id(f->fs, 0, ref, sizeof(ref)), 1);
	assert_string_equal(r.ref, ref);
}

static void charge__a_lost_decline_is_replayed(void **state)
{
	fixture *f = *state;
	fake_stripe_fault lost = fault_of(FAKE_STRIPE_DROP_AFTER);
	billing_provider_charge c = a_charge("pm_card_insufficientFunds", "k_lost_decline");
	billing_provider_result r;

	fake_stripe_fail_next(f->fs, 1, &lost);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "insufficient_funds");
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 1);
	assert_int_equal(fake_stripe_request_count(f->fs), 2);
}

static void charge__an_unreachable_server_is_unknown(void **state)
{
	fixture *f = *state;
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	billing_stripe_options o;
	billing_provider *p = NULL;
	billing_provider_charge c = a_charge("pm_card_visa", "k_refused");
	billing_provider_result r;
	char base[64];
	int s = socket(AF_INET, SOCK_STREAM, 0);

	/* a port that was just free: bound, then closed, nothing listens */
	assert_true(s >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&addr, &len), 0);
	close(s);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned int)ntohs(addr.sin_port));

	options_for(&o, f->fs);
	o.api_base = base;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_OK);
	assert_int_equal(p->charge(p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "network_error");
	assert_no_key_leak(&r);
	p->free(p);
}

static void charge__the_same_key_with_other_parameters_is_unknown(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge("pm_card_visa", "k_reused");
	billing_provider_result r;

	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	c.amount = 3000;
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	/* what the first request did is not this answer's to say */
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "idempotency_error");
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 1);
}

static void charge__an_unreadable_answer_is_unknown(void **state)
{
	fixture *f = *state;
	fake_stripe_fault raw = fault_of(FAKE_STRIPE_RAW);
	billing_provider_charge c = a_charge("pm_card_visa", "k_garbage");
	billing_provider_result r;

	raw.status = 200;
	raw.body = "<html>not json</html>";
	fake_stripe_fail_next(f->fs, 1, &raw);
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "bad_response");
	assert_int_equal(fake_stripe_request_count(f->fs), 1);
}

/* ---- refunds ---- */

static void refund__full_and_partial(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge("pm_card_visa", "k_to_refund");
	billing_provider_refund rf;
	billing_provider_result r;
	char pi[BILLING_PROVIDER_REF_MAX], v[128];
	int64_t refunded = 0;

	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	memcpy(pi, r.ref, sizeof(pi));

	memset(&rf, 0, sizeof(rf));
	rf.tenant_id = "ten_01HX";
	rf.payment_id = "pay_01HY";
	rf.refund_id = "ref_01";
	rf.payment_ref = pi;
	rf.amount = 900;
	rf.currency = "USD";
	rf.idempotency_key = "refund_ref_01";
	assert_int_equal(f->p->refund(f->p, &rf, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(strncmp(r.ref, "re_fake_", 8), 0);
	assert_int_equal(r.amount, 900);
	assert_string_equal(r.currency, "USD");
	assert_int_equal(fake_stripe_last_path(f->fs, v, sizeof(v)), 1);
	assert_string_equal(v, "/v1/refunds");
	assert_int_equal(fake_stripe_last_header(f->fs, "Idempotency-Key", v, sizeof(v)), 1);
	assert_string_equal(v, "refund_ref_01");
	assert_int_equal(fake_stripe_last_form(f->fs, "payment_intent", v, sizeof(v)), 1);
	assert_string_equal(v, pi);
	assert_int_equal(fake_stripe_last_form(f->fs, "amount", v, sizeof(v)), 1);
	assert_string_equal(v, "900");
	assert_int_equal(fake_stripe_last_form(f->fs, "metadata[refund_id]", v, sizeof(v)), 1);
	assert_string_equal(v, "ref_01");
	assert_int_equal(fake_stripe_last_form(f->fs, "metadata[payment_id]", v, sizeof(v)), 1);
	assert_string_equal(v, "pay_01HY");
	assert_int_equal(fake_stripe_last_form(f->fs, "metadata[tenant_id]", v, sizeof(v)), 1);
	assert_string_equal(v, "ten_01HX");
	assert_int_equal(fake_stripe_last_form_count(f->fs), 5);

	rf.refund_id = "ref_02";
	rf.idempotency_key = "refund_ref_02";
	rf.amount = 2000;
	assert_int_equal(f->p->refund(f->p, &rf, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(fake_stripe_payment_intent(f->fs, pi, NULL, 0, NULL, &refunded), 1);
	assert_int_equal(refunded, 2900);

	/* nothing is left */
	rf.refund_id = "ref_03";
	rf.idempotency_key = "refund_ref_03";
	rf.amount = 1;
	assert_int_equal(f->p->refund(f->p, &rf, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "charge_already_refunded");
	assert_int_equal(fake_stripe_refund_count(f->fs), 2);
}

static void refund__more_than_is_left_is_refused(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge("pm_card_visa", "k_over");
	billing_provider_refund rf;
	billing_provider_result r;
	char pi[BILLING_PROVIDER_REF_MAX];
	int64_t refunded = -1;

	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	memcpy(pi, r.ref, sizeof(pi));
	memset(&rf, 0, sizeof(rf));
	rf.payment_ref = pi;
	rf.amount = 2901;
	rf.currency = "USD";
	rf.idempotency_key = "refund_over";
	assert_int_equal(f->p->refund(f->p, &rf, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "invalid_request_error");
	assert_int_equal(fake_stripe_refund_count(f->fs), 0);
	assert_int_equal(fake_stripe_payment_intent(f->fs, pi, NULL, 0, NULL, &refunded), 1);
	assert_int_equal(refunded, 0);

	rf.amount = 0;
	assert_int_equal(f->p->refund(f->p, &rf, NOW, &r), BILLING_EINVALID);
}

static void refund__a_lost_answer_refunds_once(void **state)
{
	fixture *f = *state;
	fake_stripe_fault lost = fault_of(FAKE_STRIPE_DROP_AFTER);
	billing_provider_charge c = a_charge("pm_card_visa", "k_refund_lost");
	billing_provider_refund rf;
	billing_provider_result r;
	char pi[BILLING_PROVIDER_REF_MAX];
	int64_t refunded = 0;

	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	memcpy(pi, r.ref, sizeof(pi));
	memset(&rf, 0, sizeof(rf));
	rf.payment_ref = pi;
	rf.amount = 1000;
	rf.currency = "USD";
	rf.idempotency_key = "refund_lost";
	fake_stripe_fail_next(f->fs, 1, &lost);
	assert_int_equal(f->p->refund(f->p, &rf, NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(fake_stripe_refund_count(f->fs), 1);
	assert_int_equal(fake_stripe_payment_intent(f->fs, pi, NULL, 0, NULL, &refunded), 1);
	assert_int_equal(refunded, 1000);
}

/* ---- webhooks through the vtable ---- */

static void webhook__verified_with_the_configured_secrets(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge("pm_card_visa", "k_webhook");
	billing_provider_result r;
	billing_provider_event ev;
	fake_stripe_event spec;
	char sig[256];
	char *body;
	billing_header h = { "Stripe-Signature", sig };

	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	memset(&spec, 0, sizeof(spec));
	spec.type = "payment_intent.succeeded";
	spec.payment_intent = r.ref;
	spec.created = NOW;
	body = fake_stripe_event_json(f->fs, &spec);
	assert_non_null(body);
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), WHSEC, NOW, body), 0);
	assert_int_equal(f->p->webhook_parse(f->p, &h, 1, body, strlen(body), NOW + 10, &ev),
		BILLING_OK);
	assert_int_equal(ev.type, BILLING_PROVIDER_EVENT_PAYMENT_SUCCEEDED);
	assert_string_equal(ev.ref, r.ref);
	assert_string_equal(ev.tenant_id, "ten_01HX");
	assert_string_equal(ev.payment_id, "pay_01HY");
	assert_string_equal(ev.invoice_id, "inv_01HZ");
	assert_int_equal(ev.amount, 2900);
	assert_string_equal(ev.currency, "USD");
	/* the provider's own tolerance (default 300 s) */
	assert_int_equal(f->p->webhook_parse(f->p, &h, 1, body, strlen(body), NOW + 301, &ev),
		BILLING_EINVALID);
	assert_string_equal(billing_error_last()->reason, "signature");
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), "whsec_wrong", NOW, body), 0);
	assert_int_equal(f->p->webhook_parse(f->p, &h, 1, body, strlen(body), NOW, &ev),
		BILLING_EINVALID);
	free(body);
}

static void webhook__fake_events_parse_for_every_type(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge("pm_card_visa", "k_events");
	billing_provider_refund rf;
	billing_provider_result r;
	billing_provider_event ev;
	fake_stripe_event spec;
	char sig[256], pi[BILLING_PROVIDER_REF_MAX];
	char *body;
	billing_header h = { "Stripe-Signature", sig };

	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_OK);
	memcpy(pi, r.ref, sizeof(pi));
	memset(&rf, 0, sizeof(rf));
	rf.payment_ref = pi;
	rf.amount = 400;
	rf.currency = "USD";
	rf.idempotency_key = "k_events_refund";
	assert_int_equal(f->p->refund(f->p, &rf, NOW, &r), BILLING_OK);

	memset(&spec, 0, sizeof(spec));
	spec.type = "charge.refunded";
	spec.payment_intent = pi;
	spec.created = NOW;
	body = fake_stripe_event_json(f->fs, &spec);
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), WHSEC, NOW, body), 0);
	assert_int_equal(f->p->webhook_parse(f->p, &h, 1, body, strlen(body), NOW, &ev), BILLING_OK);
	assert_int_equal(ev.type, BILLING_PROVIDER_EVENT_CHARGE_REFUNDED);
	assert_string_equal(ev.ref, pi);
	assert_int_equal(ev.amount, 2900);
	assert_int_equal(ev.amount_refunded, 400);
	assert_string_equal(ev.tenant_id, "ten_01HX");
	free(body);

	spec.type = "charge.dispute.created";
	body = fake_stripe_event_json(f->fs, &spec);
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), WHSEC, NOW, body), 0);
	assert_int_equal(f->p->webhook_parse(f->p, &h, 1, body, strlen(body), NOW, &ev), BILLING_OK);
	assert_int_equal(ev.type, BILLING_PROVIDER_EVENT_DISPUTE_CREATED);
	assert_string_equal(ev.ref, pi);
	assert_int_equal(ev.dispute_amount, 2900);
	assert_string_equal(ev.dispute_reason, "fraudulent");
	assert_string_equal(ev.dispute_status, "needs_response");
	assert_int_equal(ev.dispute_evidence_due_by, 0);
	/* Stripe's dispute carries its own metadata, not the PaymentIntent's:
	 * no tenant (docs/payments.md, Disputes: such events are ignored). */
	assert_string_equal(ev.tenant_id, "");
	free(body);

	/* Its later life: status and evidence due date. */
	spec.type = "charge.dispute.updated";
	spec.dispute_status = "under_review";
	spec.dispute_due_by = NOW + 86400;
	body = fake_stripe_event_json(f->fs, &spec);
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), WHSEC, NOW, body), 0);
	assert_int_equal(f->p->webhook_parse(f->p, &h, 1, body, strlen(body), NOW, &ev), BILLING_OK);
	assert_int_equal(ev.type, BILLING_PROVIDER_EVENT_DISPUTE_UPDATED);
	assert_string_equal(ev.dispute_status, "under_review");
	assert_int_equal(ev.dispute_evidence_due_by, NOW + 86400);
	free(body);
	spec.type = "charge.dispute.closed";
	spec.dispute_status = "lost";
	body = fake_stripe_event_json(f->fs, &spec);
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), WHSEC, NOW, body), 0);
	assert_int_equal(f->p->webhook_parse(f->p, &h, 1, body, strlen(body), NOW, &ev), BILLING_OK);
	assert_int_equal(ev.type, BILLING_PROVIDER_EVENT_DISPUTE_CLOSED);
	assert_string_equal(ev.dispute_status, "lost");
	assert_true(strncmp(ev.dispute_id, "dp_", 3) == 0);
	free(body);

	/* overrides, for the mismatch tests of the core; no fake needed */
	memset(&spec, 0, sizeof(spec));
	spec.type = "payment_intent.payment_failed";
	spec.payment_intent = "pi_elsewhere";
	spec.event_id = "evt_given";
	spec.created = NOW;
	spec.amount = 123;
	spec.currency = "EUR";
	spec.tenant_id = "ten_other";
	spec.payment_id = "pay_other";
	spec.invoice_id = "inv_other";
	spec.failure_code = "expired_card";
	body = fake_stripe_event_json(NULL, &spec);
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), WHSEC, NOW, body), 0);
	assert_int_equal(f->p->webhook_parse(f->p, &h, 1, body, strlen(body), NOW, &ev), BILLING_OK);
	assert_int_equal(ev.type, BILLING_PROVIDER_EVENT_PAYMENT_FAILED);
	assert_string_equal(ev.id, "evt_given");
	assert_string_equal(ev.ref, "pi_elsewhere");
	assert_int_equal(ev.amount, 123);
	assert_string_equal(ev.currency, "EUR");
	assert_string_equal(ev.tenant_id, "ten_other");
	assert_string_equal(ev.payment_id, "pay_other");
	assert_string_equal(ev.invoice_id, "inv_other");
	assert_string_equal(ev.failure_code, "expired_card");
	free(body);
}

/* ---- construction ---- */

static void new__refuses_bad_options(void **state)
{
	static const char *const bad_bases[] = {
		"http://example.com", "http://10.0.0.1:8080", "http://api.stripe.com",
		"ftp://127.0.0.1", "https://user:pw@api.stripe.com", "not a url", "",
		"http://127.0.0.2.example.com",
	};
	static const char *const good_bases[] = {
		"https://api.stripe.com", "https://api.stripe.com/", "http://127.0.0.1:12345",
		"http://localhost:8080", "http://[::1]:9", "https://stripe-mock.internal:12111",
	};
	billing_stripe_options o = BILLING_STRIPE_OPTIONS_INIT;
	billing_provider *p = (billing_provider *)&o;
	size_t i;

	(void)state;
	assert_int_equal(billing_stripe_provider_new(&p, NULL), BILLING_EINVALID);
	assert_null(p);
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "apiKey");
	o.api_key = "pk_test_publishable";
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "apiKey");
	o.api_key = "sk_test_with space";
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
	assert_null(strstr(billing_error_last()->message, "with space"));
	o.api_key = KEY;
	o.version = 0;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
	o.version = BILLING_STRIPE_OPTIONS_VERSION + 1;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
	o.version = BILLING_STRIPE_OPTIONS_VERSION;

	for (i = 0; i < sizeof(bad_bases) / sizeof(bad_bases[0]); i++) {
		o.api_base = bad_bases[i];
		assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
		assert_string_equal(billing_error_last()->field, "apiBase");
		assert_null(p);
		assert_no_key_leak(NULL);
	}
	for (i = 0; i < sizeof(good_bases) / sizeof(good_bases[0]); i++) {
		o.api_base = good_bases[i];
		assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_OK);
		assert_string_equal(p->name, "stripe");
		assert_int_equal(p->version, BILLING_PROVIDER_VERSION);
		p->free(p);
		p = NULL;
	}
	o.api_base = NULL;           /* https://api.stripe.com */
	o.timeout_ms = -1;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "timeoutMs");
	o.timeout_ms = 0;
	o.webhook_secret_count = 1;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "webhookSecrets");
	o.webhook_secret_count = 0;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_OK);
	p->free(p);
}

static void new__unwinds_when_memory_runs_out(void **state)
{
	fixture *f = *state;
	billing_stripe_options o;
	billing_provider *p = NULL;
	int n, rc;

	options_for(&o, f->fs);
	for (n = 1;; n++) {
		billing__alloc_fail_at(n);
		rc = billing_stripe_provider_new(&p, &o);
		billing__alloc_fail_at(0);
		if (rc == BILLING_OK)
			break;
		assert_int_equal(rc, BILLING_ENOMEM);
		assert_null(p);
	}
	assert_true(n > 1);
	p->free(p);
}

static void charge__out_of_memory_before_sending_is_an_error(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge("pm_card_visa", "k_oom");
	billing_provider_result r;
	size_t before;
	int n, rc;

	for (n = 1;; n++) {
		before = fake_stripe_request_count(f->fs);
		billing__alloc_fail_at(n);
		rc = f->p->charge(f->p, &c, NOW, &r);
		billing__alloc_fail_at(0);
		assert_true(rc == BILLING_OK || rc == BILLING_ENOMEM);
		if (rc == BILLING_ENOMEM)
			/* a negative return promises the request was not made */
			assert_int_equal(fake_stripe_request_count(f->fs), before);
		else if (r.status == BILLING_PAYMENT_SUCCEEDED)
			break;
		else
			assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	}
	assert_true(n > 1);
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 1);
}

/* ---- threads ---- */

typedef struct {
	billing_provider *p;
	int id;
	int ok;
} worker;

static void *charge_many(void *arg)
{
	worker *w = arg;
	char key[64];
	int i;

	for (i = 0; i < 5; i++) {
		billing_provider_charge c = a_charge("pm_card_visa", key);
		billing_provider_result r;
		snprintf(key, sizeof(key), "k_thread_%d_%d", w->id, i);
		if (w->p->charge(w->p, &c, NOW, &r) == BILLING_OK &&
		    r.status == BILLING_PAYMENT_SUCCEEDED)
			w->ok++;
	}
	return NULL;
}

static void charge__from_several_threads_at_once(void **state)
{
	fixture *f = *state;
	pthread_t t[4];
	worker w[4];
	int i;

	for (i = 0; i < 4; i++) {
		w[i].p = f->p;
		w[i].id = i;
		w[i].ok = 0;
		assert_int_equal(pthread_create(&t[i], NULL, charge_many, &w[i]), 0);
	}
	/* Every thread joined before any check: a failed check leaves for the
	 * teardown, which frees the provider the other threads still use. */
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(w[i].ok, 5);
	assert_int_equal(fake_stripe_payment_intent_count(f->fs), 20);
}

/* ---- a provider account per tenant (with_account) ---- */

#define T1_KEY "sk_test_tenant1_own_key_0000000000000001"
#define T2_KEY "sk_test_tenant2_own_key_0000000000000002"

static billing_provider *account_of(billing_provider *p, const char *key, const char *acct,
	const char *whsec)
{
	billing_provider_account a = { BILLING_PROVIDER_ACCOUNT_VERSION, key, NULL, 0, acct };
	billing_provider *out = NULL;
	const char *secrets[1] = { whsec };

	if (whsec) {
		a.webhook_secrets = secrets;
		a.webhook_secret_count = 1;
	}
	assert_non_null(p->with_account);
	assert_int_equal(p->with_account(p, &a, &out), BILLING_OK);
	assert_non_null(out);
	return out;
}

static void with_account__each_tenant_charges_with_its_own_key_or_account(void **state)
{
	fixture *f = *state;
	billing_provider *t1, *t2, *t3;
	billing_provider_charge c = a_charge("pm_card_visa", "k_acct_1");
	billing_provider_result r1, r2, r3, got;
	char key[256], acct[128], owner[256];

	fake_stripe_add_key(f->fs, T1_KEY);
	fake_stripe_add_key(f->fs, T2_KEY);
	t1 = account_of(f->p, T1_KEY, NULL, NULL);
	t2 = account_of(f->p, T2_KEY, NULL, NULL);
	t3 = account_of(f->p, NULL, "acct_1Tenant3Connected", NULL);
	assert_string_equal(t1->name, "stripe");
	assert_int_equal(t1->charge(t1, &c, NOW, &r1), BILLING_OK);
	assert_int_equal(r1.status, BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(fake_stripe_request_auth(f->fs, 0, key, sizeof(key), acct, sizeof(acct)),
		1);
	assert_string_equal(key, T1_KEY);
	assert_string_equal(acct, "");
	c.idempotency_key = "k_acct_2";
	assert_int_equal(t2->charge(t2, &c, NOW, &r2), BILLING_OK);
	assert_int_equal(fake_stripe_request_auth(f->fs, 1, key, sizeof(key), acct, sizeof(acct)),
		1);
	assert_string_equal(key, T2_KEY);
	c.idempotency_key = "k_acct_3";
	assert_int_equal(t3->charge(t3, &c, NOW, &r3), BILLING_OK);
	assert_int_equal(fake_stripe_request_auth(f->fs, 2, key, sizeof(key), acct, sizeof(acct)),
		1);
	assert_string_equal(key, KEY);  /* the platform's key, on the connected account */
	assert_string_equal(acct, "acct_1Tenant3Connected");
	assert_int_equal(fake_stripe_payment_intent_owner(f->fs, r1.ref, owner, sizeof(owner)), 1);
	assert_string_equal(owner, T1_KEY "|");
	assert_int_equal(fake_stripe_payment_intent_owner(f->fs, r3.ref, owner, sizeof(owner)), 1);
	assert_string_equal(owner, KEY "|acct_1Tenant3Connected");

	/* each sees its own payments only, as at Stripe */
	assert_int_equal(t1->retrieve(t1, r1.ref, NOW, &got), BILLING_OK);
	assert_string_equal(got.ref, r1.ref);
	assert_int_equal(t2->retrieve(t2, r1.ref, NOW, &got), BILLING_ENOTFOUND);
	assert_int_equal(f->p->retrieve(f->p, r3.ref, NOW, &got), BILLING_ENOTFOUND);
	assert_int_equal(t3->retrieve(t3, r3.ref, NOW, &got), BILLING_OK);
	/* the server-wide provider is unchanged */
	c.idempotency_key = "k_acct_4";
	assert_int_equal(f->p->charge(f->p, &c, NOW, &got), BILLING_OK);
	assert_int_equal(fake_stripe_request_auth(f->fs, 7, key, sizeof(key), acct, sizeof(acct)),
		1);
	assert_string_equal(key, KEY);
	assert_string_equal(acct, "");
	t1->free(t1);
	t2->free(t2);
	t3->free(t3);
}

static void with_account__webhooks_verify_with_the_tenants_secret(void **state)
{
	fixture *f = *state;
	billing_provider *t1 = account_of(f->p, NULL, NULL, "whsec_tenant_one");
	billing_provider *t2 = account_of(f->p, NULL, "acct_1Conn", NULL);
	billing_provider_event ev;
	fake_stripe_event spec;
	char sig[256];
	char *body;
	billing_header h = { "Stripe-Signature", sig };

	memset(&spec, 0, sizeof(spec));
	spec.type = "payment_intent.succeeded";
	spec.payment_intent = "pi_invented";
	spec.created = NOW;
	spec.amount = 100;
	spec.currency = "usd";
	spec.tenant_id = "ten_1";
	spec.payment_id = "pay_1";
	spec.invoice_id = "inv_1";
	spec.account = "acct_1Conn";
	body = fake_stripe_event_json(NULL, &spec);
	assert_non_null(body);
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), "whsec_tenant_one", NOW, body),
		0);
	assert_int_equal(t1->webhook_parse(t1, &h, 1, body, strlen(body), NOW, &ev), BILLING_OK);
	assert_string_equal(ev.account, "acct_1Conn");
	/* the server's secret no longer verifies the tenant's events ... */
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), WHSEC, NOW, body), 0);
	assert_int_equal(t1->webhook_parse(t1, &h, 1, body, strlen(body), NOW, &ev),
		BILLING_EINVALID);
	assert_string_equal(billing_error_last()->reason, "signature");
	/* ... and a tenant without its own secret keeps the server's */
	assert_int_equal(t2->webhook_parse(t2, &h, 1, body, strlen(body), NOW, &ev), BILLING_OK);
	free(body);
	t1->free(t1);
	t2->free(t2);
}

static void with_account__refuses_what_it_cannot_use(void **state)
{
	fixture *f = *state;
	billing_provider_account a = { BILLING_PROVIDER_ACCOUNT_VERSION, "pk_test_public", NULL, 0,
		"acct_with-dash" };
	billing_provider *out = (billing_provider *)&a;

	assert_int_equal(f->p->with_account(f->p, &a, &out), BILLING_EINVALID);
	assert_null(out);
	assert_non_null(strstr(billing_error_last()->message, "apiKey"));
	assert_non_null(strstr(billing_error_last()->message, "account"));
	assert_null(strstr(billing_error_last()->message, "pk_test_public"));
	a.api_key = NULL;
	a.account = "acct_";
	assert_int_equal(f->p->with_account(f->p, &a, &out), BILLING_EINVALID);
	a.account = NULL;
	a.version = 2;
	assert_int_equal(f->p->with_account(f->p, &a, &out), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "version");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(charge__sends_the_form_and_headers),
		T(charge__off_session_only_when_asked),
		T(charge__stripe_version_can_be_pinned_by_the_host),
		T(charge__refuses_what_it_cannot_send),
		T(charge__statuses_map_to_outcomes),
		T(retrieve__statuses_map_to_outcomes),
		T(retrieve__errors_are_errors),
		T(charge__declines_carry_their_codes),
		T(charge__refused_requests_are_failed),
		T(charge__a_wrong_key_is_failed_and_never_shown),
		T(charge__a_key_without_permission_is_failed),
		T(charge__refusals_are_classed_decline_or_configuration),
		T(charge__messages_that_echo_a_key_are_replaced),
		T(charge__retries_429_500_409_with_the_same_key),
		T(charge__should_retry_false_stops_retrying),
		T(charge__should_retry_true_forces_a_retry),
		T(charge__exhausted_retries_are_unknown),
		T(charge__timeouts_are_unknown),
		T(charge__dropped_connections_are_unknown_after_retries),
		T(charge__a_lost_answer_is_recovered_by_the_retry),
		T(charge__a_lost_decline_is_replayed),
		T(charge__an_unreachable_server_is_unknown),
		T(charge__the_same_key_with_other_parameters_is_unknown),
		T(charge__an_unreadable_answer_is_unknown),
		T(refund__full_and_partial),
		T(refund__more_than_is_left_is_refused),
		T(refund__a_lost_answer_refunds_once),
		T(webhook__verified_with_the_configured_secrets),
		T(webhook__fake_events_parse_for_every_type),
		cmocka_unit_test(new__refuses_bad_options),
		T(new__unwinds_when_memory_runs_out),
		T(charge__out_of_memory_before_sending_is_an_error),
		T(charge__from_several_threads_at_once),
		T(with_account__each_tenant_charges_with_its_own_key_or_account),
		T(with_account__webhooks_verify_with_the_tenants_secret),
		T(with_account__refuses_what_it_cannot_use),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
