/*
 * The Stripe provider through a host-supplied transport
 * (billing_stripe_options.transport), with the scripted transport of
 * tests/support: no sockets, no fake server. What it sends (method, URL,
 * headers, form, limits, flags) and how each fault maps to an outcome: a
 * hang, a reset, an oversized answer, a 410, a decline, a refused key, a
 * send() that fails, Stripe-Should-Retry; and a transport it does not know.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "billing/errors.h"
#include "billing/providers.h"
#include "billing/sys/provider.h"
#include "scripted_transport.h"

#define KEY "sk_test_51ScriptedTransportKey0123456789"
#define NOW ((int64_t)1700000000)
#define PI_OK "{\"id\":\"pi_1\",\"object\":\"payment_intent\",\"status\":\"succeeded\"," \
	"\"amount\":2900,\"currency\":\"eur\"}"

typedef struct {
	scripted_transport *st;
	billing_provider *p;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	billing_stripe_options o = BILLING_STRIPE_OPTIONS_INIT;
	assert_non_null(f);
	f->st = st_new();
	o.api_key = KEY;
	o.max_retries = 2;
	o.retry_base_ms = 1;
	o.transport = &f->st->base;
	assert_int_equal(billing_stripe_provider_new(&f->p, &o), BILLING_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	size_t i, sent = 0;
	f->p->free(f->p);
	/* every outcome handed over was handed back */
	for (i = 0; i < st_count(f->st); i++)
		sent += (size_t)st_seen(f->st, i)->sent;
	assert_int_equal(f->st->released, sent);
	st_free(f->st);
	free(f);
	return 0;
}

static billing_provider_charge a_charge(void)
{
	billing_provider_charge c;
	memset(&c, 0, sizeof(c));
	c.tenant_id = "ten_1";
	c.payment_id = "pay_1";
	c.invoice_id = "inv_1";
	c.customer_id = "cus_1";
	c.payment_method = "pm_card_visa";
	c.amount = 2900;
	c.currency = "EUR";
	c.idempotency_key = "pay_1-try";
	return c;
}

static void charge(fixture *f, billing_provider_result *r)
{
	billing_provider_charge c = a_charge();
	assert_int_equal(f->p->charge(f->p, &c, NOW, r), BILLING_OK);
}

static void send__the_request_stripe_expects(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	const st_request *q;
	st_push(f->st, (st_answer){ .status = 200, .body = PI_OK });
	charge(f, &r);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_string_equal(r.ref, "pi_1");
	assert_int_equal(st_count(f->st), 1);
	q = st_seen(f->st, 0);
	assert_string_equal(q->method, "POST");
	assert_string_equal(q->url, "https://api.stripe.com/v1/payment_intents");
	assert_string_equal(st_header(q, "Authorization"), "Bearer " KEY);
	assert_string_equal(st_header(q, "Idempotency-Key"), "pay_1-try");
	assert_string_equal(st_header(q, "Stripe-Version"), "2024-06-20");
	assert_string_equal(st_header(q, "Content-Type"), "application/x-www-form-urlencoded");
	assert_non_null(strstr(q->body, "amount=2900"));
	assert_non_null(strstr(q->body, "currency=eur"));
	assert_non_null(strstr(q->body, "metadata[payment_id]=pay_1"));
	/* https only, through any proxy, the provider's limits */
	assert_int_equal(q->flags, 0);
	assert_int_equal(q->timeout_ms, 30000);
	assert_int_equal(q->connect_timeout_ms, 5000);
	assert_int_equal(q->max_response, 1024 * 1024);
}

static void retrieve__a_get_without_a_body(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	const st_request *q;
	st_push(f->st, (st_answer){ .status = 200, .body = PI_OK });
	assert_int_equal(f->p->retrieve(f->p, "pi_1", NOW, &r), BILLING_OK);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	q = st_seen(f->st, 0);
	assert_string_equal(q->method, "GET");
	assert_string_equal(q->url, "https://api.stripe.com/v1/payment_intents/pi_1");
	assert_null(q->body);
	assert_null(st_header(q, "Idempotency-Key"));
}

static void faults__a_hang_is_retried_with_the_same_key_then_unknown(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	size_t i;
	st_otherwise(f->st, (st_answer){ .kind = ST_HANG });
	charge(f, &r);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "timeout");
	assert_int_equal(st_count(f->st), 3);          /* 1 + max_retries */
	for (i = 0; i < 3; i++)
		assert_string_equal(st_header(st_seen(f->st, i), "Idempotency-Key"), "pay_1-try");
}

static void faults__a_reset_then_an_answer_is_the_answer(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	st_push(f->st, (st_answer){ .kind = ST_RESET });
	st_push(f->st, (st_answer){ .kind = ST_CONNECT });
	st_push(f->st, (st_answer){ .status = 200, .body = PI_OK });
	charge(f, &r);
	assert_int_equal(r.status, BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(st_count(f->st), 3);
}

static void faults__resets_to_the_end_are_a_network_error(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	st_otherwise(f->st, (st_answer){ .kind = ST_RESET });
	charge(f, &r);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "network_error");
	assert_non_null(strstr(r.failure_message, "reset"));
}

static void faults__an_oversized_answer_is_unknown(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	st_otherwise(f->st, (st_answer){ .kind = ST_TOO_LARGE, .status = 200 });
	charge(f, &r);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_string_equal(r.failure_code, "bad_response");
}

static void faults__a_send_that_fails_is_an_error_and_nothing_left(void **state)
{
	fixture *f = *state;
	billing_provider_charge c = a_charge();
	billing_provider_result r;
	st_push(f->st, (st_answer){ .kind = ST_SEND_FAILS });
	assert_int_equal(f->p->charge(f->p, &c, NOW, &r), BILLING_ENOMEM);
	assert_int_equal(st_count(f->st), 1);
	assert_int_equal(f->st->released, 0);
}

static void answers__a_410_is_a_refused_request(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	st_push(f->st, (st_answer){ .status = 410, .body =
		"{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"resource_gone\","
		"\"message\":\"gone\"}}" });
	charge(f, &r);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "resource_gone");
	assert_int_equal(st_count(f->st), 1);          /* not retried */
}

static void answers__a_decline_is_failed_with_its_code(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	st_push(f->st, (st_answer){ .status = 402, .body =
		"{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\","
		"\"decline_code\":\"insufficient_funds\",\"message\":\"Your card has "
		"insufficient funds.\",\"payment_intent\":{\"id\":\"pi_9\",\"amount\":2900,"
		"\"currency\":\"eur\"}}}" });
	charge(f, &r);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "insufficient_funds");
	assert_string_equal(r.ref, "pi_9");
}

static void answers__a_refused_key_is_failed_and_never_shown(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	st_push(f->st, (st_answer){ .status = 401, .body =
		"{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Invalid API Key "
		"provided: " KEY "\"}}" });
	charge(f, &r);
	assert_int_equal(r.status, BILLING_PAYMENT_FAILED);
	assert_string_equal(r.failure_code, "authentication_error");
	assert_null(strstr(r.failure_message, "sk_test"));
}

static void answers__should_retry_false_stops_a_500(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	st_otherwise(f->st, (st_answer){ .status = 500, .body = "{}",
		.header_name = "Stripe-Should-Retry", .header_value = "false" });
	charge(f, &r);
	assert_int_equal(r.status, BILLING_PAYMENT_UNKNOWN);
	assert_int_equal(st_count(f->st), 1);
}

static void answers__retrieve_404_is_not_found(void **state)
{
	fixture *f = *state;
	billing_provider_result r;
	st_push(f->st, (st_answer){ .status = 404, .body =
		"{\"error\":{\"type\":\"invalid_request_error\",\"code\":\"resource_missing\"}}" });
	assert_int_equal(f->p->retrieve(f->p, "pi_404", NOW, &r), BILLING_ENOTFOUND);
}

static void new__a_transport_it_does_not_know_is_refused(void **state)
{
	billing_stripe_options o = BILLING_STRIPE_OPTIONS_INIT;
	billing_transport bad = BILLING_TRANSPORT_INIT;
	billing_provider *p = NULL;
	(void)state;
	o.api_key = KEY;
	o.transport = &bad;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
	assert_null(p);
	bad.version = BILLING_TRANSPORT_VERSION + 1;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_EINVALID);
	assert_null(p);
	/* version 1 options have no transport: the default */
	o.version = 1;
	assert_int_equal(billing_stripe_provider_new(&p, &o), BILLING_OK);
	p->free(p);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(send__the_request_stripe_expects),
		T(retrieve__a_get_without_a_body),
		T(faults__a_hang_is_retried_with_the_same_key_then_unknown),
		T(faults__a_reset_then_an_answer_is_the_answer),
		T(faults__resets_to_the_end_are_a_network_error),
		T(faults__an_oversized_answer_is_unknown),
		T(faults__a_send_that_fails_is_an_error_and_nothing_left),
		T(answers__a_410_is_a_refused_request),
		T(answers__a_decline_is_failed_with_its_code),
		T(answers__a_refused_key_is_failed_and_never_shown),
		T(answers__should_retry_false_stops_a_500),
		T(answers__retrieve_404_is_not_found),
		cmocka_unit_test(new__a_transport_it_does_not_know_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
