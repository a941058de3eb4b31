/*
 * Provider health end to end (issue #18 item 2), on the backend under
 * test: a configuration error of the provider (a revoked key: 401; a key
 * without permission: 403) is not a decline. The subscription stays
 * active, the invoice open, no dunning; collection pauses for that tenant
 * only, with one provider.unhealthy event; the run probes after a back-off
 * and, once the key works, charges the same invoice exactly once. With the
 * test provider (two tenants, one refused) and the Stripe provider against
 * the fake Stripe (401, then 200).
 */
#include <stdio.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"
#include "fake_stripe.h"

#define AMOUNT 2900
#define KEY "sk_test_e2e_health_key"

typedef struct {
	const char *t;
	billing_principal admin;
	char sub_id[64];
	char invoice_id[64];
} tenant_fx;

static void subscribe(tb_world *w, tenant_fx *f, const char *name)
{
	billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	billing_customer *c;
	billing_plan *plan;

	memset(f, 0, sizeof(*f));
	f->t = tb_tenant(w, name);
	f->admin = tb_admin(f->t);
	plan = tb_plan(w, f->t, &(tb_plan_spec){ .amount = AMOUNT });
	c = tb_customer(w, f->t, &(tb_customer_spec){ .default_payment_method = "pm_card_visa" });
	sp.customer_id = billing_customer_id(c);
	sp.plan_id = billing_plan_id(plan);
	tb_assert_rc(billing_subscription_create(&s, w->ctx, &f->admin, &sp, NULL), BILLING_OK);
	snprintf(f->sub_id, sizeof(f->sub_id), "%s", billing_subscription_id(s));
	assert_int_equal(billing_subscription_status_of(s), BILLING_SUB_ACTIVE);
	billing_subscription_free(s);
	billing_customer_free(c);
	billing_plan_free(plan);
}

/* The subscription's status; its latest invoice goes to f->invoice_id. */
static billing_subscription_status sub_status(tb_world *w, tenant_fx *f, int64_t *period_end)
{
	billing_subscription *s = NULL;
	billing_subscription_status st;

	tb_assert_rc(billing_subscription_get(&s, w->ctx, &f->admin, f->sub_id), BILLING_OK);
	st = billing_subscription_status_of(s);
	snprintf(f->invoice_id, sizeof(f->invoice_id), "%s",
		billing_subscription_latest_invoice_id(s));
	if (period_end)
		*period_end = billing_subscription_current_period_end(s);
	billing_subscription_free(s);
	return st;
}

static billing_invoice_status inv_status(tb_world *w, tenant_fx *f)
{
	billing_invoice *inv = NULL;
	billing_invoice_status st;

	tb_assert_rc(billing_invoice_get(&inv, w->ctx, &f->admin, f->invoice_id), BILLING_OK);
	st = billing_invoice_status_of(inv);
	billing_invoice_free(inv);
	return st;
}

/* The invoice's attempts; the last one's status, id and failure code. */
static size_t attempts(tb_world *w, tenant_fx *f, billing_payment_status *st, char *id,
	char *code)
{
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	const billing_payment *p;
	size_t n;

	lp.invoice_id = f->invoice_id;
	tb_assert_rc(billing_payment_list(&page, w->ctx, &f->admin, &lp), BILLING_OK);
	n = billing_page_count(page);
	if (n) {
		p = billing_page_payment(page, n - 1);
		*st = billing_payment_status_of(p);
		snprintf(id, 64, "%s", billing_payment_id(p));
		snprintf(code, 64, "%s", billing_payment_failure_code(p) ?
			billing_payment_failure_code(p) : "");
	}
	billing_page_free(page);
	return n;
}

static int64_t events_of(tb_world *w, tenant_fx *f, const char *type)
{
	billing_event_list_params ep = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t n;

	ep.type = type;
	ep.list.limit = 100;
	tb_assert_rc(billing_event_list(&page, w->ctx, &f->admin, &ep), BILLING_OK);
	n = (int64_t)billing_page_count(page);
	billing_page_free(page);
	return n;
}

static void run_at(tb_world *w, int64_t t)
{
	billing_run_report rep;

	w->now = t;
	tb_assert_rc(billing_run_due(w->ctx, t, NULL, &rep), BILLING_OK);
	assert_int_equal(rep.failed, 0);
}

static billing_provider_health health(tb_world *w, tenant_fx *f)
{
	billing_provider_health h;

	memset(&h, 0x5a, sizeof(h));
	tb_assert_rc(billing_provider_health_get(&h, w->ctx, &f->admin), BILLING_OK);
	return h;
}

static int64_t unhealthy_count(billing_ctx *ctx)
{
	int64_t n = -1;
	tb_assert_rc(billing_provider_health_unhealthy_count(ctx, &n), BILLING_OK);
	return n;
}

/* The renewal of a paused tenant: active, open, pending attempt, one
 * event; the other tenant charged in the same run. */
static void health__a_revoked_key_pauses_one_tenant_and_never_feeds_dunning(void **state)
{
	billing_provider *p = NULL;
	billing_provider_health h;
	billing_payment_status st = 0;
	billing_provider_error_counts counts;
	billing_payment *paid = NULL;
	billing_ctx *again;
	tenant_fx acme, beta;
	char id[64], first_id[64], code[64];
	int64_t end, t;
	tb_world *w;

	(void)state;
	tb_assert_rc(billing_test_provider_new(&p, NULL), BILLING_OK);
	w = tb_world_new_with_provider(p);
	subscribe(w, &acme, "Acme");
	subscribe(w, &beta, "Beta");
	assert_int_equal(billing_test_provider_charge_count(p), 2);
	assert_int_equal(health(w, &acme).healthy, 1);
	sub_status(w, &acme, &end);

	/* Acme's key is revoked; Beta's works. */
	tb_assert_rc(billing_test_provider_refuse(p, acme.t, 401), BILLING_OK);
	run_at(w, end);
	assert_int_equal(sub_status(w, &acme, NULL), BILLING_SUB_ACTIVE);
	assert_int_equal(inv_status(w, &acme), BILLING_INVOICE_PENDING);
	assert_int_equal(attempts(w, &acme, &st, first_id, code), 1);
	assert_int_equal(st, BILLING_PAYMENT_PENDING);
	assert_string_equal(code, "authentication_error");
	assert_int_equal(events_of(w, &acme, "provider.unhealthy"), 1);
	assert_int_equal(events_of(w, &acme, "payment.failed"), 0);
	assert_int_equal(events_of(w, &acme, "invoice.payment_failed"), 0);
	assert_int_equal(events_of(w, &acme, "subscription.past_due"), 0);
	h = health(w, &acme);
	assert_int_equal(h.healthy, 0);
	assert_int_equal(h.http_status, 401);
	assert_string_equal(h.code, "authentication_error");
	assert_int_equal(h.since, end);
	assert_int_equal(h.next_probe_at, end + 60);
	/* Beta was charged in the same run, and is not paused. */
	assert_int_equal(sub_status(w, &beta, NULL), BILLING_SUB_ACTIVE);
	assert_int_equal(inv_status(w, &beta), BILLING_INVOICE_PAID);
	assert_int_equal(health(w, &beta).healthy, 1);
	assert_int_equal(events_of(w, &beta, "provider.unhealthy"), 0);
	assert_int_equal(billing_test_provider_charge_count(p), 3);
	assert_int_equal(unhealthy_count(w->ctx), 1);
	billing_provider_error_counts_get(w->ctx, &counts);
	assert_int_equal(counts.config, 1);
	assert_int_equal(counts.declined, 0);

	/* Paying by hand meanwhile says why, and starts nothing new. */
	tb_assert_rc(billing_invoice_pay(&paid, w->ctx, &acme.admin, acme.invoice_id, NULL, NULL),
		BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "payment_in_progress");

	/* Before the probe is due nothing is asked; the probe doubles the wait. */
	run_at(w, end + 30);
	billing_provider_error_counts_get(w->ctx, &counts);
	assert_int_equal(counts.config, 1);
	run_at(w, end + 60);
	billing_provider_error_counts_get(w->ctx, &counts);
	assert_int_equal(counts.config, 2);
	h = health(w, &acme);
	assert_int_equal(h.next_probe_at, end + 60 + 120);
	assert_int_equal(h.since, end);
	assert_int_equal(events_of(w, &acme, "provider.unhealthy"), 1);

	/* The pause is stored: another process (a restart) sees it. */
	again = tb_world_open_again(w);
	assert_int_equal(unhealthy_count(again), 1);
	billing_ctx_close(again);

	/* A day and a half of hourly runs: past the 20 h window, never a
	 * decline, never past_due, the wait at most an hour. */
	for (t = end + 3600; t <= end + 36 * 3600; t += 3600)
		run_at(w, t);
	h = health(w, &acme);
	assert_int_equal(h.healthy, 0);
	assert_true(h.next_probe_at - h.since > 0);
	assert_true(h.next_probe_at <= end + 37 * 3600);
	assert_int_equal(sub_status(w, &acme, NULL), BILLING_SUB_ACTIVE);
	assert_int_equal(inv_status(w, &acme), BILLING_INVOICE_PENDING);
	assert_int_equal(events_of(w, &acme, "provider.unhealthy"), 1);
	assert_int_equal(events_of(w, &acme, "payment.failed"), 0);

	/* The key is fixed: the next probe charges the same attempt, once. */
	tb_assert_rc(billing_test_provider_refuse(p, acme.t, 0), BILLING_OK);
	run_at(w, h.next_probe_at);
	assert_int_equal(inv_status(w, &acme), BILLING_INVOICE_PAID);
	assert_int_equal(attempts(w, &acme, &st, id, code), 1);
	assert_int_equal(st, BILLING_PAYMENT_SUCCEEDED);
	assert_string_equal(id, first_id);
	assert_int_equal(billing_test_provider_charge_count(p), 4);
	assert_int_equal(events_of(w, &acme, "provider.healthy"), 1);
	assert_int_equal(events_of(w, &acme, "provider.unhealthy"), 1);
	assert_int_equal(health(w, &acme).healthy, 1);
	assert_int_equal(unhealthy_count(w->ctx), 0);
	assert_int_equal(sub_status(w, &acme, NULL), BILLING_SUB_ACTIVE);
	tb_world_free(w);
}

/* Paying by hand with a refused key: a clear conflict, nothing failed. */
static void health__paying_by_hand_with_a_key_without_permission(void **state)
{
	billing_provider *p = NULL;
	billing_payment *pay = NULL;
	billing_payment_status st = 0;
	tenant_fx acme;
	char id[64], code[64];
	int64_t end;
	tb_world *w;

	(void)state;
	tb_assert_rc(billing_test_provider_new(&p, NULL), BILLING_OK);
	w = tb_world_new_with_provider(p);
	subscribe(w, &acme, "Acme");
	sub_status(w, &acme, &end);
	tb_assert_rc(billing_test_provider_refuse(p, NULL, 403), BILLING_OK);
	/* the renewal waits unpaid: the customer has no method now */
	{
		billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
		billing_subscription *s = NULL;
		billing_customer *c = NULL;
		tb_assert_rc(billing_subscription_get(&s, w->ctx, &acme.admin, acme.sub_id),
			BILLING_OK);
		cp.fields = BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD;
		cp.default_payment_method = NULL;
		tb_assert_rc(billing_customer_update(&c, w->ctx, &acme.admin,
			billing_subscription_customer_id(s), &cp, NULL), BILLING_OK);
		billing_customer_free(c);
		billing_subscription_free(s);
	}
	run_at(w, end);
	sub_status(w, &acme, NULL);
	assert_int_equal(inv_status(w, &acme), BILLING_INVOICE_PENDING);
	{
		billing_pay_params pp = BILLING_PAY_PARAMS_INIT;
		pp.payment_method = "pm_card_visa";
		tb_assert_rc(billing_invoice_pay(&pay, w->ctx, &acme.admin, acme.invoice_id, &pp,
			NULL), BILLING_ECONFLICT);
	}
	assert_string_equal(billing_error_last()->reason, "provider_unhealthy");
	assert_string_equal(billing_error_last()->provider_code, "permission_error");
	assert_non_null(pay);
	assert_int_equal(billing_payment_status_of(pay), BILLING_PAYMENT_PENDING);
	billing_payment_free(pay);
	assert_int_equal(attempts(w, &acme, &st, id, code), 1);
	assert_string_equal(code, "permission_error");
	assert_int_equal(inv_status(w, &acme), BILLING_INVOICE_PENDING);
	assert_int_equal(health(w, &acme).http_status, 403);
	assert_int_equal(events_of(w, &acme, "provider.unhealthy"), 1);
	/* fixed: the run's probe charges that attempt */
	tb_assert_rc(billing_test_provider_refuse(p, NULL, 0), BILLING_OK);
	run_at(w, end + 60);
	assert_int_equal(inv_status(w, &acme), BILLING_INVOICE_PAID);
	assert_int_equal(events_of(w, &acme, "provider.healthy"), 1);
	tb_world_free(w);
}

static void health__the_test_provider_switch_is_checked(void **state)
{
	billing_provider *p = NULL;
	tb_world *w;

	(void)state;
	tb_assert_rc(billing_test_provider_new(&p, NULL), BILLING_OK);
	w = tb_world_new_with_provider(p);
	tb_assert_rc(billing_test_provider_refuse(p, NULL, 402), BILLING_EINVALID);
	tb_assert_rc(billing_test_provider_refuse(p, "", 401), BILLING_EINVALID);
	tb_assert_rc(billing_test_provider_refuse(p, "ten_x", 0), BILLING_OK);
	tb_world_free(w);
}

/* The Stripe provider against the fake: 401 (the key was rolled), then 200. */
static void health__stripe_401_then_200_charges_once(void **state)
{
	billing_provider *p = NULL;
	billing_payment_status st = 0;
	billing_provider_health h;
	fake_stripe *fs;
	tenant_fx acme;
	char id[64], first_id[64], code[64];
	int64_t end;
	tb_world *w;

	(void)state;
	assert_non_null(fs = fake_stripe_start(KEY));
	tb_assert_rc(fake_stripe_provider(&p, fs, KEY, NULL), BILLING_OK);
	w = tb_world_new_with_provider(p);
	subscribe(w, &acme, "Acme");
	assert_int_equal(fake_stripe_payment_intent_count(fs), 1);
	sub_status(w, &acme, &end);

	fake_stripe_set_api_key(fs, "sk_test_the_rolled_key");
	run_at(w, end);
	assert_int_equal(sub_status(w, &acme, NULL), BILLING_SUB_ACTIVE);
	assert_int_equal(inv_status(w, &acme), BILLING_INVOICE_PENDING);
	assert_int_equal(attempts(w, &acme, &st, first_id, code), 1);
	assert_int_equal(st, BILLING_PAYMENT_PENDING);
	assert_string_equal(code, "authentication_error");
	assert_int_equal(events_of(w, &acme, "provider.unhealthy"), 1);
	assert_int_equal(events_of(w, &acme, "payment.failed"), 0);
	h = health(w, &acme);
	assert_int_equal(h.healthy, 0);
	assert_int_equal(h.http_status, 401);
	assert_null(strstr(h.code, KEY));
	assert_int_equal(fake_stripe_payment_intent_count(fs), 1);

	fake_stripe_set_api_key(fs, KEY);
	run_at(w, h.next_probe_at);
	assert_int_equal(inv_status(w, &acme), BILLING_INVOICE_PAID);
	assert_int_equal(attempts(w, &acme, &st, id, code), 1);
	assert_int_equal(st, BILLING_PAYMENT_SUCCEEDED);
	assert_string_equal(id, first_id);
	assert_int_equal(fake_stripe_payment_intent_count(fs), 2);
	assert_int_equal(events_of(w, &acme, "provider.healthy"), 1);
	assert_int_equal(health(w, &acme).healthy, 1);
	tb_world_free(w);
	fake_stripe_stop(fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(health__a_revoked_key_pauses_one_tenant_and_never_feeds_dunning),
		cmocka_unit_test(health__paying_by_hand_with_a_key_without_permission),
		cmocka_unit_test(health__the_test_provider_switch_is_checked),
		cmocka_unit_test(health__stripe_401_then_200_charges_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
