/*
 * Issue #18 item 5, end to end on the backend under test, with the test
 * provider and with the Stripe provider against the fake Stripe (every
 * test runs with both): incomplete subscriptions and the creation's
 * payment behavior. allow_incomplete leaves a subscription whose first
 * charge failed (or awaits 3-D Secure) incomplete: not renewed, no
 * dunning, active when its invoice is paid within 23 hours, else the
 * billing run makes it incomplete_expired and voids that invoice (its
 * number kept). default_incomplete charges nothing until the invoice is
 * paid by hand. error_if_incomplete records the attempt, ends the
 * subscription and answers BILLING_EDECLINED naming it; numbers stay
 * gapless. past_due_on_failure (the default, version 1 params too) keeps
 * today's behavior.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"
#include "fake_stripe.h"
#include "billing/sys/provider.h"

#define KEY "sk_test_e2e_incomplete_key"
#define SECRET "whsec_e2e_incomplete_secret"
#define AMOUNT 2900
#define HOUR 3600
#define VISA "pm_card_visa"
#define DECLINE "pm_card_chargeDeclined"
#define SCA "pm_card_authenticationRequired"

typedef struct {
	int stripe;                    /* 0: the test provider; 1: the fake Stripe */
	fake_stripe *fs;
	tb_world *w;
	const char *t;
	billing_principal admin;
	char plan_id[64];
	char trial_plan_id[64];
	int64_t start;
} fx;

static billing_provider *provider_new(fx *f)
{
	billing_provider *p = NULL;
	if (f->stripe) {
		assert_non_null(f->fs = fake_stripe_start(KEY));
		tb_assert_rc(fake_stripe_provider(&p, f->fs, KEY, SECRET), BILLING_OK);
	} else {
		billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
		o.webhook_secret = SECRET;
		tb_assert_rc(billing_test_provider_new(&p, &o), BILLING_OK);
	}
	return p;
}

static void fx_init(fx *f, int stripe)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_plan *plan;

	memset(f, 0, sizeof(*f));
	f->stripe = stripe;
	o.provider = provider_new(f);
	f->w = tb_world_new_with(&o);
	if (f->fs)
		fake_stripe_set_now(f->fs, f->w->now);
	f->start = f->w->now;
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	plan = tb_plan(f->w, f->t, &(tb_plan_spec){ .amount = AMOUNT });
	snprintf(f->plan_id, sizeof(f->plan_id), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	plan = tb_plan(f->w, f->t, &(tb_plan_spec){ .amount = AMOUNT, .trial_days = 7 });
	snprintf(f->trial_plan_id, sizeof(f->trial_plan_id), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
}

static void fx_free(fx *f)
{
	int64_t problems = -1;
	/* What the library wrote holds its own invariants. */
	tb_assert_rc(billing_check(f->w->ctx, NULL, NULL, &problems), BILLING_OK);
	assert_int_equal(problems, 0);
	tb_world_free(f->w);
	fake_stripe_stop(f->fs);
}

/* What a test needs of a subscription just made (or refused). */
typedef struct {
	int rc;
	char id[64], invoice_id[64], customer_id[64];
	billing_subscription_status status;
	char resource_id[64], provider_code[64];
} made;

static made subscribe_on(fx *f, const char *plan_id, const char *method,
	billing_payment_behavior behavior)
{
	billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	billing_customer *c;
	made m;

	memset(&m, 0, sizeof(m));
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ .default_payment_method = method });
	snprintf(m.customer_id, sizeof(m.customer_id), "%s", billing_customer_id(c));
	billing_customer_free(c);
	sp.customer_id = m.customer_id;
	sp.plan_id = plan_id;
	sp.payment_behavior = behavior;
	m.rc = billing_subscription_create(&s, f->w->ctx, &f->admin, &sp, NULL);
	if (m.rc == BILLING_OK) {
		snprintf(m.id, sizeof(m.id), "%s", billing_subscription_id(s));
		snprintf(m.invoice_id, sizeof(m.invoice_id), "%s",
			billing_subscription_latest_invoice_id(s));
		m.status = billing_subscription_status_of(s);
		billing_subscription_free(s);
	} else {
		const billing_error *e = billing_error_last();
		assert_null(s);
		snprintf(m.resource_id, sizeof(m.resource_id), "%s",
			e->resource_id ? e->resource_id : "");
		snprintf(m.provider_code, sizeof(m.provider_code), "%s",
			e->provider_code ? e->provider_code : "");
	}
	return m;
}

static made subscribe(fx *f, const char *method, billing_payment_behavior behavior)
{
	return subscribe_on(f, f->plan_id, method, behavior);
}

static billing_subscription_status sub_status(fx *f, const char *id, int64_t *ended_at,
	char invoice_id[64])
{
	billing_subscription *s = NULL;
	billing_subscription_status st;
	tb_assert_rc(billing_subscription_get(&s, f->w->ctx, &f->admin, id), BILLING_OK);
	st = billing_subscription_status_of(s);
	if (ended_at)
		*ended_at = billing_subscription_ended_at(s);
	if (invoice_id)
		snprintf(invoice_id, 64, "%s", billing_subscription_latest_invoice_id(s));
	billing_subscription_free(s);
	return st;
}

static tbb_invoice invoice(fx *f, const char *id, int64_t *next_attempt)
{
	billing_invoice *inv = NULL;
	tbb_invoice s;
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, id), BILLING_OK);
	tbb_snap(&s, inv);
	if (next_attempt)
		*next_attempt = billing_invoice_next_attempt_at(inv);
	billing_invoice_free(inv);
	return s;
}

/* The invoice's attempts, newest last; *last_status of the newest. */
static size_t attempts(fx *f, const char *invoice_id, billing_payment_status *last_status,
	char last_id[64])
{
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	size_t n, i;
	int64_t newest = -1;
	lp.invoice_id = invoice_id;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	n = billing_page_count(page);
	for (i = 0; i < n; i++) {
		const billing_payment *p = billing_page_payment(page, i);
		if (billing_payment_created_at(p) >= newest) {
			newest = billing_payment_created_at(p);
			if (last_status)
				*last_status = billing_payment_status_of(p);
			if (last_id)
				snprintf(last_id, 64, "%s", billing_payment_id(p));
		}
	}
	billing_page_free(page);
	return n;
}

static int64_t events_of(fx *f, const char *type)
{
	billing_event_list_params ep = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t n;
	ep.type = type;
	ep.list.limit = 100;
	tb_assert_rc(billing_event_list(&page, f->w->ctx, &f->admin, &ep), BILLING_OK);
	n = (int64_t)billing_page_count(page);
	billing_page_free(page);
	return n;
}

static billing_run_report run_at(fx *f, int64_t t)
{
	billing_run_report rep;
	f->w->now = t;
	if (f->fs)
		fake_stripe_set_now(f->fs, t);
	tb_assert_rc(billing_run_due(f->w->ctx, t, NULL, &rep), BILLING_OK);
	assert_int_equal(rep.failed, 0);
	return rep;
}

static int pay_with(fx *f, const char *invoice_id, const char *method)
{
	billing_pay_params pp = BILLING_PAY_PARAMS_INIT;
	billing_payment *p = NULL;
	int rc;
	pp.payment_method = method;
	rc = billing_invoice_pay(&p, f->w->ctx, &f->admin, invoice_id, &pp, NULL);
	billing_payment_free(p);
	return rc;
}

/* How many charges the provider was asked to make. */
static size_t charges_at_provider(fx *f)
{
	return f->stripe ? fake_stripe_payment_intent_count(f->fs) : (size_t)-1;
}

#define BOTH(name) \
	static void name##__test(void **state) { (void)state; name(0); } \
	static void name##__stripe(void **state) { (void)state; name(1); }

/* ------------------------------------------------------------ allow_incomplete */

/* The first charge declined: incomplete, its invoice failed with no retry
 * planned; 22 h later still so; at 23 h the run ends it. */
static void allow__a_decline_is_incomplete_then_expires(int stripe)
{
	billing_run_report rep;
	tbb_invoice inv;
	int64_t next = -1, ended = 0;
	char latest[64];
	made m;
	fx f;

	fx_init(&f, stripe);
	m = subscribe(&f, DECLINE, BILLING_PAYMENT_BEHAVIOR_ALLOW_INCOMPLETE);
	tb_assert_rc(m.rc, BILLING_OK);
	assert_int_equal(m.status, BILLING_SUB_INCOMPLETE);
	inv = invoice(&f, m.invoice_id, &next);
	assert_int_equal(inv.status, BILLING_INVOICE_FAILED);
	assert_int_equal(next, 0);                 /* no dunning */
	assert_int_equal(attempts(&f, m.invoice_id, NULL, NULL), 1);
	assert_int_equal(events_of(&f, "subscription.past_due"), 0);

	/* Nothing is due before the window ends: no retry, no renewal. */
	rep = run_at(&f, f.start + 23 * HOUR - 1);
	assert_int_equal(rep.processed, 0);
	assert_int_equal(sub_status(&f, m.id, NULL, NULL), BILLING_SUB_INCOMPLETE);
	assert_int_equal(attempts(&f, m.invoice_id, NULL, NULL), 1);

	run_at(&f, f.start + 23 * HOUR);
	assert_int_equal(sub_status(&f, m.id, &ended, latest), BILLING_SUB_INCOMPLETE_EXPIRED);
	assert_int_equal(ended, f.start + 23 * HOUR);
	assert_string_equal(latest, m.invoice_id);
	inv = invoice(&f, m.invoice_id, NULL);
	assert_int_equal(inv.status, BILLING_INVOICE_VOID);
	assert_int_equal(tbb_number_value(inv.number, "INV-"), 1);   /* its number kept */
	assert_int_equal(events_of(&f, "subscription.incomplete_expired"), 1);
	assert_int_equal(events_of(&f, "invoice.voided"), 1);

	/* Terminal: nothing more is due, ever; the period end renews nothing. */
	rep = run_at(&f, f.start + 40 * 86400);
	assert_int_equal(rep.processed, 0);
	assert_int_equal(attempts(&f, m.invoice_id, NULL, NULL), 1);
	fx_free(&f);
}
BOTH(allow__a_decline_is_incomplete_then_expires)

/* Paid by hand within the window: active (subscription.activated), then
 * renewed at its period end like any other, never expired. */
static void allow__paid_in_time_activates(int stripe)
{
	billing_run_report rep;
	char latest[64];
	made m;
	fx f;

	fx_init(&f, stripe);
	m = subscribe(&f, DECLINE, BILLING_PAYMENT_BEHAVIOR_ALLOW_INCOMPLETE);
	assert_int_equal(m.status, BILLING_SUB_INCOMPLETE);
	f.w->now = f.start + 22 * HOUR;
	if (f.fs)
		fake_stripe_set_now(f.fs, f.w->now);
	tb_assert_rc(pay_with(&f, m.invoice_id, VISA), BILLING_OK);
	assert_int_equal(invoice(&f, m.invoice_id, NULL).status, BILLING_INVOICE_PAID);
	assert_int_equal(sub_status(&f, m.id, NULL, NULL), BILLING_SUB_ACTIVE);
	assert_int_equal(events_of(&f, "subscription.activated"), 1);

	rep = run_at(&f, f.start + 23 * HOUR);
	assert_int_equal(rep.processed, 0);       /* its due work moved to the period end */
	assert_int_equal(sub_status(&f, m.id, NULL, latest), BILLING_SUB_ACTIVE);
	assert_string_equal(latest, m.invoice_id);
	assert_int_equal(events_of(&f, "subscription.incomplete_expired"), 0);

	/* Renewed; its charge, off session with the customer's declining
	 * default card, walks the dunning policy as for any active one. */
	rep = run_at(&f, f.start + 40 * 86400);
	assert_true(rep.invoiced >= 1);
	assert_int_equal(sub_status(&f, m.id, NULL, latest), BILLING_SUB_PAST_DUE);
	assert_string_not_equal(latest, m.invoice_id);
	assert_int_equal(events_of(&f, "subscription.past_due"), 1);
	fx_free(&f);
}
BOTH(allow__paid_in_time_activates)

/* A first charge that succeeds: the call answers active (committed
 * incomplete, since the provider is asked after the commit: the events say
 * subscription.created then subscription.activated); a trial: trialing. */
static void allow__paid_at_once_or_a_trial_is_not_incomplete(int stripe)
{
	made m;
	fx f;

	fx_init(&f, stripe);
	m = subscribe(&f, VISA, BILLING_PAYMENT_BEHAVIOR_ALLOW_INCOMPLETE);
	tb_assert_rc(m.rc, BILLING_OK);
	assert_int_equal(m.status, BILLING_SUB_ACTIVE);
	assert_int_equal(events_of(&f, "subscription.activated"), 1);
	m = subscribe_on(&f, f.trial_plan_id, DECLINE, BILLING_PAYMENT_BEHAVIOR_DEFAULT_INCOMPLETE);
	tb_assert_rc(m.rc, BILLING_OK);
	assert_int_equal(m.status, BILLING_SUB_TRIALING);
	m = subscribe_on(&f, f.trial_plan_id, DECLINE, BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE);
	tb_assert_rc(m.rc, BILLING_OK);
	assert_int_equal(m.status, BILLING_SUB_TRIALING);
	assert_int_equal(events_of(&f, "subscription.activated"), 1);
	fx_free(&f);
}
BOTH(allow__paid_at_once_or_a_trial_is_not_incomplete)

/* 3-D Secure: incomplete, the invoice shows nextAction; the customer
 * authenticates and the payment's answer makes it active. */
static void allow__requires_action_is_incomplete_with_next_action(int stripe)
{
	billing_invoice *inv = NULL;
	billing_payment *p = NULL;
	billing_payment_status st = 0;
	char pay_id[64], ref[128];
	made m;
	fx f;

	fx_init(&f, stripe);
	m = subscribe(&f, SCA, BILLING_PAYMENT_BEHAVIOR_ALLOW_INCOMPLETE);
	tb_assert_rc(m.rc, BILLING_OK);
	assert_int_equal(m.status, BILLING_SUB_INCOMPLETE);
	assert_int_equal(attempts(&f, m.invoice_id, &st, pay_id), 1);
	assert_int_equal(st, BILLING_PAYMENT_REQUIRES_ACTION);
	tb_assert_rc(billing_invoice_get(&inv, f.w->ctx, &f.admin, m.invoice_id), BILLING_OK);
	assert_non_null(billing_invoice_action_payment(inv));
	assert_non_null(billing_payment_client_secret(billing_invoice_action_payment(inv)));
	billing_invoice_free(inv);

	tb_assert_rc(billing_payment_get(&p, f.w->ctx, &f.admin, pay_id), BILLING_OK);
	snprintf(ref, sizeof(ref), "%s", billing_payment_provider_ref(p));
	billing_payment_free(p);
	if (f.stripe)
		assert_int_equal(fake_stripe_set_status(f.fs, ref, "succeeded", NULL), 1);
	else
		tb_assert_rc(billing_test_provider_complete_action(f.w->provider, ref, 1),
			BILLING_OK);
	run_at(&f, f.start + 2 * HOUR);        /* the run asks again */
	assert_int_equal(invoice(&f, m.invoice_id, NULL).status, BILLING_INVOICE_PAID);
	assert_int_equal(sub_status(&f, m.id, NULL, NULL), BILLING_SUB_ACTIVE);
	assert_int_equal(events_of(&f, "subscription.activated"), 1);
	fx_free(&f);
}
BOTH(allow__requires_action_is_incomplete_with_next_action)

/* ------------------------------------------------------------ default_incomplete */

/* Nothing is charged at creation; the invoice is paid by hand (3-D Secure
 * on session, then completed) and the subscription becomes active. */
static void default__charges_nothing_until_paid_by_hand(int stripe)
{
	billing_run_report rep;
	int64_t next = -1;
	size_t before = 0;
	made m;
	fx f;

	fx_init(&f, stripe);
	if (f.stripe)
		before = charges_at_provider(&f);
	m = subscribe(&f, VISA, BILLING_PAYMENT_BEHAVIOR_DEFAULT_INCOMPLETE);
	tb_assert_rc(m.rc, BILLING_OK);
	assert_int_equal(m.status, BILLING_SUB_INCOMPLETE);
	assert_int_equal(attempts(&f, m.invoice_id, NULL, NULL), 0);
	if (f.stripe)
		assert_int_equal(charges_at_provider(&f), before);
	assert_int_equal(invoice(&f, m.invoice_id, &next).status, BILLING_INVOICE_PENDING);
	assert_int_equal(next, 0);
	rep = run_at(&f, f.start + HOUR);      /* the run does not charge it either */
	assert_int_equal(rep.processed, 0);
	assert_int_equal(attempts(&f, m.invoice_id, NULL, NULL), 0);

	tb_assert_rc(pay_with(&f, m.invoice_id, VISA), BILLING_OK);
	assert_int_equal(sub_status(&f, m.id, NULL, NULL), BILLING_SUB_ACTIVE);
	assert_int_equal(events_of(&f, "subscription.activated"), 1);
	fx_free(&f);
}
BOTH(default__charges_nothing_until_paid_by_hand)

/* A declined payment by hand leaves it incomplete (no dunning); unpaid at
 * 23 h, the run ends it. Several at once go through one batch. */
static void default__unpaid_ones_expire_together(int stripe)
{
	made m[3];
	size_t i;
	int64_t next = -1;
	fx f;

	fx_init(&f, stripe);
	for (i = 0; i < 3; i++) {
		m[i] = subscribe(&f, NULL, BILLING_PAYMENT_BEHAVIOR_DEFAULT_INCOMPLETE);
		tb_assert_rc(m[i].rc, BILLING_OK);
	}
	assert_int_equal(pay_with(&f, m[0].invoice_id, DECLINE), BILLING_EDECLINED);
	assert_int_equal(invoice(&f, m[0].invoice_id, &next).status, BILLING_INVOICE_FAILED);
	assert_int_equal(next, 0);
	assert_int_equal(sub_status(&f, m[0].id, NULL, NULL), BILLING_SUB_INCOMPLETE);
	run_at(&f, f.start + 24 * HOUR);
	for (i = 0; i < 3; i++) {
		assert_int_equal(sub_status(&f, m[i].id, NULL, NULL),
			BILLING_SUB_INCOMPLETE_EXPIRED);
		assert_int_equal(invoice(&f, m[i].invoice_id, NULL).status, BILLING_INVOICE_VOID);
	}
	assert_int_equal(events_of(&f, "subscription.incomplete_expired"), 3);
	/* Paying a void invoice afterwards is refused. */
	assert_int_equal(pay_with(&f, m[1].invoice_id, VISA), BILLING_ECONFLICT);
	fx_free(&f);
}
BOTH(default__unpaid_ones_expire_together)

/* ------------------------------------------------------------ error_if_incomplete */

/* A decline: the attempt is on record, the subscription ended
 * (incomplete_expired), its invoice void with its number, the error names
 * the subscription and the provider's code; the next invoice takes the
 * next number. */
static void error__a_decline_is_refused_and_leaves_no_half_state(int stripe)
{
	billing_payment_status st = 0;
	billing_subscription_list_params lp = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	char latest[64];
	tbb_invoice inv;
	made m, next;
	fx f;

	fx_init(&f, stripe);
	m = subscribe(&f, DECLINE, BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE);
	assert_int_equal(m.rc, BILLING_EDECLINED);
	assert_string_equal(billing_error_last()->reason, "declined");
	assert_string_equal(m.provider_code, "card_declined");
	assert_true(strncmp(m.resource_id, "sub_", 4) == 0);
	assert_int_equal(sub_status(&f, m.resource_id, NULL, latest),
		BILLING_SUB_INCOMPLETE_EXPIRED);
	inv = invoice(&f, latest, NULL);
	assert_int_equal(inv.status, BILLING_INVOICE_VOID);
	assert_int_equal(tbb_number_value(inv.number, "INV-"), 1);
	assert_int_equal(attempts(&f, latest, &st, NULL), 1);
	assert_int_equal(st, BILLING_PAYMENT_FAILED);
	assert_int_equal(events_of(&f, "subscription.incomplete_expired"), 1);
	/* Listed by its status; nothing is due for it. */
	lp.status = BILLING_SUB_INCOMPLETE_EXPIRED;
	tb_assert_rc(billing_subscription_list(&page, f.w->ctx, &f.admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	billing_page_free(page);
	assert_int_equal(run_at(&f, f.start + 40 * 86400).processed, 0);

	next = subscribe(&f, VISA, BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE);
	tb_assert_rc(next.rc, BILLING_OK);
	assert_int_equal(next.status, BILLING_SUB_ACTIVE);
	assert_int_equal(tbb_number_value(invoice(&f, next.invoice_id, NULL).number, "INV-"), 2);
	fx_free(&f);
}
BOTH(error__a_decline_is_refused_and_leaves_no_half_state)

/* 3-D Secure: refused too (Stripe answers 402); the payment is canceled at
 * the provider, the subscription ended, its invoice void. */
static void error__requires_action_is_canceled_and_refused(int stripe)
{
	billing_payment_status st = 0;
	char latest[64];
	made m;
	fx f;

	fx_init(&f, stripe);
	m = subscribe(&f, SCA, BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE);
	assert_int_equal(m.rc, BILLING_EDECLINED);
	assert_true(m.resource_id[0] != '\0');
	assert_int_equal(sub_status(&f, m.resource_id, NULL, latest),
		BILLING_SUB_INCOMPLETE_EXPIRED);
	assert_int_equal(invoice(&f, latest, NULL).status, BILLING_INVOICE_VOID);
	assert_int_equal(attempts(&f, latest, &st, NULL), 1);
	assert_int_equal(st, BILLING_PAYMENT_CANCELED);
	if (f.stripe)
		assert_int_equal(fake_stripe_cancel_count(f.fs), 1);
	fx_free(&f);
}
BOTH(error__requires_action_is_canceled_and_refused)

/* The same call again with its Idempotency-Key answers the same refusal
 * and charges nothing more. */
static void error__a_replay_is_refused_the_same_way(int stripe)
{
	billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_call_options co = BILLING_CALL_OPTIONS_INIT;
	billing_subscription *s = NULL;
	billing_customer *c;
	char sub_id[64];
	int round;
	fx f;

	fx_init(&f, stripe);
	c = tb_customer(f.w, f.t, &(tb_customer_spec){ .default_payment_method = DECLINE });
	sp.customer_id = billing_customer_id(c);
	sp.plan_id = f.plan_id;
	sp.payment_behavior = BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE;
	co.idempotency_key = "create-incomplete-1";
	for (round = 0; round < 2; round++) {
		assert_int_equal(billing_subscription_create(&s, f.w->ctx, &f.admin, &sp, &co),
			BILLING_EDECLINED);
		assert_null(s);
		assert_non_null(billing_error_last()->resource_id);
		if (round == 0)
			snprintf(sub_id, sizeof(sub_id), "%s", billing_error_last()->resource_id);
		else
			assert_string_equal(billing_error_last()->resource_id, sub_id);
	}
	assert_int_equal(events_of(&f, "subscription.created"), 1);
	assert_int_equal(events_of(&f, "payment.created"), 1);
	billing_customer_free(c);
	fx_free(&f);
}
BOTH(error__a_replay_is_refused_the_same_way)

/* No payment method: nothing could be charged; refused the same way. */
static void error__no_payment_method_is_refused(int stripe)
{
	char latest[64];
	made m;
	fx f;

	fx_init(&f, stripe);
	m = subscribe(&f, NULL, BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE);
	assert_int_equal(m.rc, BILLING_EDECLINED);
	assert_int_equal(sub_status(&f, m.resource_id, NULL, latest),
		BILLING_SUB_INCOMPLETE_EXPIRED);
	assert_int_equal(invoice(&f, latest, NULL).status, BILLING_INVOICE_VOID);
	assert_int_equal(attempts(&f, latest, NULL, NULL), 0);
	fx_free(&f);
}
BOTH(error__no_payment_method_is_refused)

/* A lost answer: BILLING_EUNKNOWN_OUTCOME naming the subscription, which
 * stays incomplete with its invoice open; the run learns the charge
 * succeeded and it becomes active. */
static void error__a_lost_answer_stays_incomplete_until_known(void **state)
{
	char latest[64];
	made m;
	fx f;
	(void)state;

	fx_init(&f, 0);
	m = subscribe(&f, "pm_card_timeout", BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE);
	assert_int_equal(m.rc, BILLING_EUNKNOWN_OUTCOME);
	assert_true(m.resource_id[0] != '\0');
	assert_int_equal(sub_status(&f, m.resource_id, NULL, latest), BILLING_SUB_INCOMPLETE);
	assert_int_equal(invoice(&f, latest, NULL).status, BILLING_INVOICE_PENDING);
	run_at(&f, f.start + HOUR);
	assert_int_equal(invoice(&f, latest, NULL).status, BILLING_INVOICE_PAID);
	assert_int_equal(sub_status(&f, m.resource_id, NULL, NULL), BILLING_SUB_ACTIVE);
	fx_free(&f);
}

/* A payment still awaiting the customer when the window ends (the tenant
 * lets it wait 30 h): the expiry waits for it, and happens once the
 * payment has expired into a failure. */
static void allow__the_expiry_waits_for_a_payment_in_flight(int stripe)
{
	made m;
	fx f;

	fx_init(&f, stripe);
	tb_assert_rc(billing_dunning_set_action_expiry(f.w->ctx, &f.admin, 30 * HOUR),
		BILLING_OK);
	m = subscribe(&f, SCA, BILLING_PAYMENT_BEHAVIOR_ALLOW_INCOMPLETE);
	assert_int_equal(m.status, BILLING_SUB_INCOMPLETE);
	run_at(&f, f.start + 23 * HOUR);
	assert_int_equal(sub_status(&f, m.id, NULL, NULL), BILLING_SUB_INCOMPLETE);
	assert_int_equal(invoice(&f, m.invoice_id, NULL).status, BILLING_INVOICE_PENDING);
	/* The run at 31 h takes the expiry (due again at 24 h) before the
	 * payment's own expiry (30 h): it waits an hour more, past the
	 * payment's failure, and the next run ends it. */
	run_at(&f, f.start + 31 * HOUR);
	assert_int_equal(invoice(&f, m.invoice_id, NULL).status, BILLING_INVOICE_FAILED);
	assert_int_equal(sub_status(&f, m.id, NULL, NULL), BILLING_SUB_INCOMPLETE);
	run_at(&f, f.start + 32 * HOUR);
	assert_int_equal(sub_status(&f, m.id, NULL, NULL), BILLING_SUB_INCOMPLETE_EXPIRED);
	assert_int_equal(invoice(&f, m.invoice_id, NULL).status, BILLING_INVOICE_VOID);
	fx_free(&f);
}
BOTH(allow__the_expiry_waits_for_a_payment_in_flight)

/* ------------------------------------------------------------ past_due_on_failure */

/* The default, and version 1 params (which have no payment_behavior):
 * active at creation, past_due when the first charge fails, dunning. */
static void default_behavior__is_todays(int stripe)
{
	billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	billing_customer *c;
	int64_t next = 0;
	made m;
	fx f;

	fx_init(&f, stripe);
	m = subscribe(&f, DECLINE, BILLING_PAYMENT_BEHAVIOR_PAST_DUE_ON_FAILURE);
	tb_assert_rc(m.rc, BILLING_OK);
	assert_int_equal(m.status, BILLING_SUB_PAST_DUE);
	assert_int_equal(invoice(&f, m.invoice_id, &next).status, BILLING_INVOICE_FAILED);
	assert_true(next > 0);                     /* the dunning policy's retry */

	c = tb_customer(f.w, f.t, &(tb_customer_spec){ .default_payment_method = DECLINE });
	sp.version = 1;
	sp.customer_id = billing_customer_id(c);
	sp.plan_id = f.plan_id;
	sp.payment_behavior = (billing_payment_behavior)77;   /* not read at version 1 */
	tb_assert_rc(billing_subscription_create(&s, f.w->ctx, &f.admin, &sp, NULL), BILLING_OK);
	assert_int_equal(billing_subscription_status_of(s), BILLING_SUB_PAST_DUE);
	billing_subscription_free(s);
	billing_customer_free(c);
	fx_free(&f);
}
BOTH(default_behavior__is_todays)

/* ------------------------------------------------------------ refusals, the table */

static void an_unknown_behavior_is_refused_and_creates_nothing(void **state)
{
	billing_subscription_list_params lp = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	made m;
	fx f;
	(void)state;

	fx_init(&f, 0);
	m = subscribe(&f, VISA, (billing_payment_behavior)4);
	assert_int_equal(m.rc, BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "paymentBehavior");
	tb_assert_rc(billing_subscription_list(&page, f.w->ctx, &f.admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	assert_null(billing_payment_behavior_name((billing_payment_behavior)4));
	assert_string_equal(billing_payment_behavior_name(BILLING_PAYMENT_BEHAVIOR_ALLOW_INCOMPLETE),
		"allow_incomplete");
	fx_free(&f);
}

/* While incomplete: no plan change, no pause; a cancel ends it with no
 * credit (nothing was paid). */
static void incomplete_refuses_what_needs_a_paid_period(void **state)
{
	billing_subscription_change_params cp = BILLING_SUBSCRIPTION_CHANGE_INIT;
	billing_subscription *s = NULL;
	made m;
	fx f;
	(void)state;

	fx_init(&f, 0);
	m = subscribe(&f, NULL, BILLING_PAYMENT_BEHAVIOR_DEFAULT_INCOMPLETE);
	cp.plan_id = f.trial_plan_id;
	assert_int_equal(billing_subscription_change_plan(&s, f.w->ctx, &f.admin, m.id, &cp, NULL),
		BILLING_ECONFLICT);
	assert_int_equal(billing_subscription_pause(&s, f.w->ctx, &f.admin, m.id, NULL),
		BILLING_ECONFLICT);
	tb_assert_rc(billing_subscription_cancel(&s, f.w->ctx, &f.admin, m.id,
		BILLING_CANCEL_PRORATE, NULL), BILLING_OK);
	assert_int_equal(billing_subscription_status_of(s), BILLING_SUB_CANCELED);
	assert_string_equal(billing_subscription_latest_invoice_id(s), m.invoice_id);
	billing_subscription_free(s);
	/* Canceled: the run has nothing to expire. */
	assert_int_equal(run_at(&f, f.start + 24 * HOUR).processed, 0);
	fx_free(&f);
}

static void the_table_names_both_statuses(void **state)
{
	size_t n, i;
	const billing_subscription_transition *t = billing_subscription_transitions(&n);
	int to_active = 0, to_expired = 0, from_expired = 0;
	(void)state;

	assert_string_equal(billing_subscription_status_name(BILLING_SUB_INCOMPLETE_EXPIRED),
		"incomplete_expired");
	for (i = 0; i < n; i++) {
		if (t[i].from == BILLING_SUB_INCOMPLETE && t[i].to == BILLING_SUB_ACTIVE)
			to_active++;
		if (t[i].from == BILLING_SUB_INCOMPLETE && t[i].to == BILLING_SUB_INCOMPLETE_EXPIRED)
			to_expired++;
		if (t[i].from == BILLING_SUB_INCOMPLETE_EXPIRED)
			from_expired++;
	}
	assert_int_equal(to_active, 1);
	assert_int_equal(to_expired, 1);
	assert_int_equal(from_expired, 0);           /* terminal */
}

#define TESTS(name) cmocka_unit_test(name##__test), cmocka_unit_test(name##__stripe)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TESTS(allow__a_decline_is_incomplete_then_expires),
		TESTS(allow__paid_in_time_activates),
		TESTS(allow__paid_at_once_or_a_trial_is_not_incomplete),
		TESTS(allow__requires_action_is_incomplete_with_next_action),
		TESTS(default__charges_nothing_until_paid_by_hand),
		TESTS(default__unpaid_ones_expire_together),
		TESTS(error__a_decline_is_refused_and_leaves_no_half_state),
		TESTS(error__requires_action_is_canceled_and_refused),
		TESTS(error__a_replay_is_refused_the_same_way),
		TESTS(error__no_payment_method_is_refused),
		cmocka_unit_test(error__a_lost_answer_stays_incomplete_until_known),
		TESTS(allow__the_expiry_waits_for_a_payment_in_flight),
		TESTS(default_behavior__is_todays),
		cmocka_unit_test(an_unknown_behavior_is_refused_and_creates_nothing),
		cmocka_unit_test(incomplete_refuses_what_needs_a_paid_period),
		cmocka_unit_test(the_table_names_both_statuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
