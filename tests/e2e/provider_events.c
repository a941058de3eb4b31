/*
 * Inbound provider events beyond payments.c's succeeded / failed cases:
 * a refund made at the provider (its dashboard) is recorded and bounds the
 * refunds still possible here; a dispute is reported as an event without
 * touching the payment; requires_action arrives as a webhook; an event that
 * names another invoice or another provider payment than ours changes
 * nothing; events without our metadata are acknowledged and ignored.
 * Bodies use the Stripe event format and signature, as the test provider
 * does.
 */
#include <stdio.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"
#include "providers/stripe/stripe_webhook.h"

#define SECRET "whsec_test_provider_events"
#define AMOUNT 2900

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char customer_id[64];
	char invoice_id[64];
	char payment_id[64];
	char ref[128];            /* the provider's id of the payment */
} fx;

/* A tenant, a customer paying with method, a subscription whose first
 * invoice was collected at once: f->payment_id is that attempt. */
static void fx_init(fx *f, const char *method)
{
	billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_provider *p = NULL;
	billing_subscription *s;
	billing_customer *c;
	billing_plan *plan;
	billing_page *page = NULL;
	const billing_payment *pay;

	memset(f, 0, sizeof(*f));
	o.webhook_secret = SECRET;
	tb_assert_rc(billing_test_provider_new(&p, &o), BILLING_OK);
	f->w = tb_world_new_with_provider(p);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	plan = tb_plan(f->w, f->t, &(tb_plan_spec){ .amount = AMOUNT });
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ .default_payment_method = method });
	snprintf(f->customer_id, sizeof(f->customer_id), "%s", billing_customer_id(c));
	s = tbb_subscribe(f->w, f->t, f->customer_id, billing_plan_id(plan), 1);
	snprintf(f->invoice_id, sizeof(f->invoice_id), "%s",
		billing_subscription_latest_invoice_id(s));
	billing_subscription_free(s);
	billing_customer_free(c);
	billing_plan_free(plan);

	lp.invoice_id = f->invoice_id;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	pay = billing_page_payment(page, 0);
	snprintf(f->payment_id, sizeof(f->payment_id), "%s", billing_payment_id(pay));
	assert_non_null(billing_payment_provider_ref(pay));
	snprintf(f->ref, sizeof(f->ref), "%s", billing_payment_provider_ref(pay));
	billing_page_free(page);
}

static void fx_free(fx *f)
{
	tb_world_free(f->w);
}

static int deliver(fx *f, const char *body, billing_webhook_result *res)
{
	char sig[256];
	billing_header h = { "Stripe-Signature", sig };
	tb_assert_rc(billing__stripe_webhook_sign(sig, sizeof(sig), SECRET, f->w->now, body,
		strlen(body)), BILLING_OK);
	memset(res, 0xab, sizeof(*res));
	return billing_provider_webhook_handle(f->w->ctx, &h, 1, body, strlen(body), res);
}

/* A payment_intent.* event about f's payment; NULL strings leave the
 * metadata key out. */
static void pi_event(char *out, size_t size, fx *f, const char *evt_id, const char *type,
	const char *tenant, const char *payment_id, const char *invoice_id, const char *ref)
{
	char md[512];
	int n = 0;
	md[0] = '\0';
	if (tenant)
		n += snprintf(md + n, sizeof(md) - (size_t)n, "\"tenant_id\":\"%s\"", tenant);
	if (payment_id)
		n += snprintf(md + n, sizeof(md) - (size_t)n, "%s\"payment_id\":\"%s\"", n ? "," : "",
			payment_id);
	if (invoice_id)
		snprintf(md + n, sizeof(md) - (size_t)n, "%s\"invoice_id\":\"%s\"", n ? "," : "",
			invoice_id);
	snprintf(out, size, "{\"id\":\"%s\",\"object\":\"event\",\"type\":\"%s\",\"created\":%lld,"
		"\"data\":{\"object\":{\"id\":\"%s\",\"object\":\"payment_intent\",\"amount\":%d,"
		"\"currency\":\"eur\",\"metadata\":{%s}}}}",
		evt_id, type, (long long)f->w->now, ref, AMOUNT, md);
}

/* charge.refunded as Stripe sends it when a refund is made in its
 * dashboard: the charge, its PaymentIntent, and what is refunded in all. */
static void refunded_event(char *out, size_t size, fx *f, const char *evt_id,
	int64_t amount_refunded)
{
	snprintf(out, size, "{\"id\":\"%s\",\"object\":\"event\",\"type\":\"charge.refunded\","
		"\"created\":%lld,\"data\":{\"object\":{\"id\":\"ch_test_1\",\"object\":\"charge\","
		"\"payment_intent\":\"%s\",\"amount\":%d,\"amount_refunded\":%lld,"
		"\"currency\":\"eur\",\"metadata\":{\"tenant_id\":\"%s\"}}}}",
		evt_id, (long long)f->w->now, f->ref, AMOUNT, (long long)amount_refunded, f->t);
}

static billing_payment *get(fx *f)
{
	billing_payment *p = NULL;
	tb_assert_rc(billing_payment_get(&p, f->w->ctx, &f->admin, f->payment_id), BILLING_OK);
	return p;
}

static billing_payment_status status(fx *f, int64_t *version)
{
	billing_payment *p = get(f);
	billing_payment_status st = billing_payment_status_of(p);
	if (version)
		*version = billing_payment_version(p);
	billing_payment_free(p);
	return st;
}

static int64_t events_of(fx *f, const char *type)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE type = '%s'", type);
	return tb_raw_count(f->w->url, sql);
}

/* ------------------------------------------------------------ refunds */

static void charge_refunded__a_dashboard_refund_is_recorded_and_bounds_ours(void **state)
{
	billing_webhook_result res;
	billing_payment *p = NULL;
	char body[2048];
	int64_t v;
	fx f;
	(void)state;
	fx_init(&f, "pm_card_visa");
	assert_int_equal(status(&f, NULL), BILLING_PAYMENT_SUCCEEDED);

	/* The charge names our tenant but not our payment: found by its
	 * PaymentIntent. */
	refunded_event(body, sizeof(body), &f, "evt_r1", 1000);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_APPLIED);
	assert_string_equal(res.payment_id, f.payment_id);
	assert_string_equal(res.tenant_id, f.t);
	assert_string_equal(res.event_id, "evt_r1");
	p = get(&f);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_PARTIALLY_REFUNDED);
	assert_int_equal(billing_payment_refunded_amount(p), 1000);
	billing_payment_free(p);
	assert_int_equal(events_of(&f, "payment.refunded"), 1);

	/* What is left to refund here is what the provider has not refunded. */
	tb_assert_rc(billing_payment_refund(&p, f.w->ctx, &f.admin, f.payment_id, AMOUNT - 999,
		NULL), BILLING_EINVALID);
	tb_assert_field("amount");
	assert_int_equal(status(&f, &v), BILLING_PAYMENT_PARTIALLY_REFUNDED);

	/* A late copy of an older total changes nothing. */
	refunded_event(body, sizeof(body), &f, "evt_r0", 500);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_IGNORED);
	{
		int64_t v2;
		assert_int_equal(status(&f, &v2), BILLING_PAYMENT_PARTIALLY_REFUNDED);
		assert_int_equal(v2, v);
	}

	/* The rest refunded at the provider: refunded, and nothing is left. */
	refunded_event(body, sizeof(body), &f, "evt_r2", AMOUNT);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_APPLIED);
	p = get(&f);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_REFUNDED);
	assert_int_equal(billing_payment_refunded_amount(p), AMOUNT);
	billing_payment_free(p);
	assert_int_equal(events_of(&f, "payment.refunded"), 2);
	tb_assert_rc(billing_payment_refund(&p, f.w->ctx, &f.admin, f.payment_id, 0, NULL),
		BILLING_ECONFLICT);
	tbb_assert_reason("invalid_transition");
	fx_free(&f);
}

static void charge_refunded__after_our_own_partial_refund_counts_only_the_rest(void **state)
{
	billing_webhook_result res;
	billing_payment *p = NULL;
	char body[2048];
	fx f;
	(void)state;
	fx_init(&f, "pm_card_visa");
	tb_assert_rc(billing_payment_refund(&p, f.w->ctx, &f.admin, f.payment_id, 900, NULL),
		BILLING_OK);
	billing_payment_free(p);

	/* Stripe's total includes our 900: the event of our own refund is
	 * nothing new. */
	refunded_event(body, sizeof(body), &f, "evt_o1", 900);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_IGNORED);
	/* 600 more in the dashboard. */
	refunded_event(body, sizeof(body), &f, "evt_o2", 1500);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_APPLIED);
	p = get(&f);
	assert_int_equal(billing_payment_refunded_amount(p), 1500);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_PARTIALLY_REFUNDED);
	billing_payment_free(p);
	/* Refunding "all that is left" here refunds 1400, no more. */
	tb_assert_rc(billing_payment_refund(&p, f.w->ctx, &f.admin, f.payment_id, 0, NULL),
		BILLING_OK);
	assert_int_equal(billing_payment_refunded_amount(p), AMOUNT);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_REFUNDED);
	billing_payment_free(p);
	fx_free(&f);
}

static void charge_refunded__of_a_failed_payment_is_ignored(void **state)
{
	billing_webhook_result res;
	char body[2048];
	int64_t v, v2;
	fx f;
	(void)state;
	fx_init(&f, "pm_card_chargeDeclined");
	assert_int_equal(status(&f, &v), BILLING_PAYMENT_FAILED);
	refunded_event(body, sizeof(body), &f, "evt_x1", AMOUNT);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_IGNORED);
	assert_int_equal(status(&f, &v2), BILLING_PAYMENT_FAILED);
	assert_int_equal(v2, v);
	assert_int_equal(events_of(&f, "payment.refunded"), 0);
	fx_free(&f);
}

/* ------------------------------------------------------------ disputes */

static void dispute__reported_as_an_event_once_payment_unchanged(void **state)
{
	billing_webhook_result res;
	char body[2048];
	int64_t v, v2;
	fx f;
	(void)state;
	fx_init(&f, "pm_card_visa");
	assert_int_equal(status(&f, &v), BILLING_PAYMENT_SUCCEEDED);
	/* A dispute of part of the amount: amounts are not matched. */
	snprintf(body, sizeof(body), "{\"id\":\"evt_d1\",\"object\":\"event\","
		"\"type\":\"charge.dispute.created\",\"created\":%lld,\"data\":{\"object\":{"
		"\"id\":\"dp_test_1\",\"object\":\"dispute\",\"payment_intent\":\"%s\","
		"\"amount\":1000,\"currency\":\"eur\",\"reason\":\"fraudulent\","
		"\"metadata\":{\"tenant_id\":\"%s\",\"payment_id\":\"%s\"}}}}",
		(long long)f.w->now, f.ref, f.t, f.payment_id);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_APPLIED);
	assert_string_equal(res.payment_id, f.payment_id);
	assert_int_equal(events_of(&f, "payment.disputed"), 1);
	assert_int_equal(status(&f, &v2), BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(v2, v);
	/* Stripe delivers it again: a duplicate, no second event. */
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_DUPLICATE);
	assert_int_equal(events_of(&f, "payment.disputed"), 1);
	fx_free(&f);
}

/* ------------------------------------------------------------ states */

static void requires_action__by_webhook_then_the_same_state_again_is_ignored(void **state)
{
	billing_webhook_result res;
	char body[2048];
	int64_t v, v2;
	fx f;
	(void)state;
	fx_init(&f, "pm_card_processing");
	assert_int_equal(status(&f, NULL), BILLING_PAYMENT_PENDING);
	pi_event(body, sizeof(body), &f, "evt_a1", "payment_intent.requires_action", f.t,
		f.payment_id, f.invoice_id, f.ref);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_APPLIED);
	assert_int_equal(status(&f, &v), BILLING_PAYMENT_REQUIRES_ACTION);
	/* Another event saying the same: nothing to do. */
	pi_event(body, sizeof(body), &f, "evt_a2", "payment_intent.requires_action", f.t,
		f.payment_id, f.invoice_id, f.ref);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_IGNORED);
	assert_int_equal(status(&f, &v2), BILLING_PAYMENT_REQUIRES_ACTION);
	assert_int_equal(v2, v);
	/* The customer authenticated: succeeded, and the invoice is paid. */
	pi_event(body, sizeof(body), &f, "evt_a3", "payment_intent.succeeded", f.t,
		f.payment_id, f.invoice_id, f.ref);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_APPLIED);
	assert_int_equal(status(&f, NULL), BILLING_PAYMENT_SUCCEEDED);
	{
		billing_invoice *inv = NULL;
		tb_assert_rc(billing_invoice_get(&inv, f.w->ctx, &f.admin, f.invoice_id), BILLING_OK);
		assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
		billing_invoice_free(inv);
	}
	fx_free(&f);
}

static void canceled__fails_the_attempt_with_code_canceled(void **state)
{
	billing_webhook_result res;
	billing_payment *p;
	char body[2048];
	fx f;
	(void)state;
	fx_init(&f, "pm_card_processing");
	pi_event(body, sizeof(body), &f, "evt_c1", "payment_intent.canceled", f.t, f.payment_id,
		f.invoice_id, f.ref);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_APPLIED);
	p = get(&f);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_FAILED);
	assert_string_equal(billing_payment_failure_code(p), "canceled");
	billing_payment_free(p);
	fx_free(&f);
}

/* ------------------------------------------------------------ mismatches */

static void mismatch__another_invoice_or_provider_payment_changes_nothing(void **state)
{
	billing_webhook_result res;
	char body[2048];
	int64_t v, v2;
	fx f;
	(void)state;
	fx_init(&f, "pm_card_processing");
	assert_int_equal(status(&f, &v), BILLING_PAYMENT_PENDING);

	pi_event(body, sizeof(body), &f, "evt_m1", "payment_intent.succeeded", f.t, f.payment_id,
		"in_00000000000000000000000000", f.ref);
	tb_assert_rc(deliver(&f, body, &res), BILLING_EINVALID);
	tbb_assert_reason("invoice_mismatch");

	pi_event(body, sizeof(body), &f, "evt_m2", "payment_intent.succeeded", f.t, f.payment_id,
		f.invoice_id, "pi_someone_else");
	tb_assert_rc(deliver(&f, body, &res), BILLING_EINVALID);
	tbb_assert_reason("payment_mismatch");

	assert_int_equal(status(&f, &v2), BILLING_PAYMENT_PENDING);
	assert_int_equal(v2, v);
	assert_int_equal(events_of(&f, "payment.succeeded"), 0);
	assert_int_equal(events_of(&f, "invoice.paid"), 0);
	/* A refused event is not remembered as seen. */
	assert_int_equal(tb_raw_count(f.w->url, "SELECT count(*) FROM provider_events"), 0);
	fx_free(&f);
}

static void foreign__events_without_our_tenant_are_acknowledged_and_ignored(void **state)
{
	billing_webhook_result res;
	char body[2048];
	int64_t v, v2;
	fx f;
	(void)state;
	fx_init(&f, "pm_card_processing");
	assert_int_equal(status(&f, &v), BILLING_PAYMENT_PENDING);

	/* No metadata at all (a PaymentIntent someone else made). */
	pi_event(body, sizeof(body), &f, "evt_n1", "payment_intent.succeeded", NULL, NULL, NULL,
		f.ref);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_IGNORED);
	assert_string_equal(res.tenant_id, "");
	assert_string_equal(res.payment_id, "");
	/* A tenant id that is not one. */
	pi_event(body, sizeof(body), &f, "evt_n2", "payment_intent.succeeded", "cus_1", NULL,
		NULL, f.ref);
	tb_assert_rc(deliver(&f, body, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_IGNORED);
	assert_int_equal(status(&f, &v2), BILLING_PAYMENT_PENDING);
	assert_int_equal(v2, v);

	/* Our tenant, but a payment id that cannot be ours: not found. */
	pi_event(body, sizeof(body), &f, "evt_n3", "payment_intent.succeeded", f.t, "in_1", NULL,
		f.ref);
	tb_assert_rc(deliver(&f, body, &res), BILLING_ENOTFOUND);
	/* Our tenant, no payment id, a PaymentIntent we never made: not found. */
	pi_event(body, sizeof(body), &f, "evt_n4", "payment_intent.succeeded", f.t, NULL, NULL,
		"pi_unknown");
	tb_assert_rc(deliver(&f, body, &res), BILLING_ENOTFOUND);
	assert_int_equal(status(&f, &v2), BILLING_PAYMENT_PENDING);
	assert_int_equal(v2, v);
	fx_free(&f);
}

static void no_provider__webhooks_pay_and_refund_are_conflicts(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_principal admin = tb_admin(t);
	billing_webhook_result res;
	billing_payment *p = NULL;
	billing_header h = { "Stripe-Signature", "t=1,v1=00" };
	(void)state;
	tb_assert_rc(billing_provider_webhook_handle(w->ctx, &h, 1, "{}", 2, &res),
		BILLING_ECONFLICT);
	tbb_assert_reason("no_provider");
	tb_assert_rc(billing_payment_refund(&p, w->ctx, &admin, "pay_00000000000000000000000000",
		0, NULL), BILLING_ECONFLICT);
	tbb_assert_reason("no_provider");
	assert_null(p);
	tb_assert_rc(billing_invoice_pay(&p, w->ctx, &admin, "in_00000000000000000000000000", NULL,
		NULL), BILLING_ECONFLICT);
	tbb_assert_reason("no_provider");
	assert_null(p);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(charge_refunded__a_dashboard_refund_is_recorded_and_bounds_ours),
		cmocka_unit_test(charge_refunded__after_our_own_partial_refund_counts_only_the_rest),
		cmocka_unit_test(charge_refunded__of_a_failed_payment_is_ignored),
		cmocka_unit_test(dispute__reported_as_an_event_once_payment_unchanged),
		cmocka_unit_test(requires_action__by_webhook_then_the_same_state_again_is_ignored),
		cmocka_unit_test(canceled__fails_the_attempt_with_code_canceled),
		cmocka_unit_test(mismatch__another_invoice_or_provider_payment_changes_nothing),
		cmocka_unit_test(foreign__events_without_our_tenant_are_acknowledged_and_ignored),
		cmocka_unit_test(no_provider__webhooks_pay_and_refund_are_conflicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
