/*
 * Issue #18 item 4, end to end on the backend under test, with the test
 * provider and with the Stripe provider against the fake Stripe (every
 * test runs with both): a payment that awaits the customer's action (3-D
 * Secure) shows what the front end needs (nextAction: type, the
 * provider's client secret, a redirect URL; on its invoice too), can be canceled by hand, is superseded by a payment with another
 * method, is canceled by a void, and expires into a failure the billing
 * run makes (dunning goes on). Never two live payments at the provider for
 * one invoice; an old attempt that succeeded at the provider just before
 * it was canceled is recorded as the invoice's payment, and nothing new is
 * made; its late webhook pays nothing twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"
#include "fake_stripe.h"
#include "billing/sys/provider.h"

#define KEY "sk_test_e2e_actions_key"
#define SECRET "whsec_e2e_actions_secret"
#define AMOUNT 2900
#define HOUR 3600

typedef struct {
	int stripe;                    /* 0: the test provider; 1: the fake Stripe */
	fake_stripe *fs;
	tb_world *w;
	const char *t;
	billing_principal admin;
	char customer_id[64];
	char sub_id[64];
	char invoice_id[64];
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

/* A subscription whose first invoice is charged with method at once;
 * expiry: the context's payment_action_expiry (0: the default). */
static void fx_init(fx *f, int stripe, const char *method, int64_t expiry)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_subscription_params sp = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	billing_customer *c;
	billing_plan *plan;

	memset(f, 0, sizeof(*f));
	f->stripe = stripe;
	o.provider = provider_new(f);
	o.payment_action_expiry = expiry;
	f->w = tb_world_new_with(&o);
	if (f->fs)
		fake_stripe_set_now(f->fs, f->w->now);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	plan = tb_plan(f->w, f->t, &(tb_plan_spec){ .amount = AMOUNT });
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ .default_payment_method = method });
	snprintf(f->customer_id, sizeof(f->customer_id), "%s", billing_customer_id(c));
	sp.customer_id = f->customer_id;
	sp.plan_id = billing_plan_id(plan);
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &sp, NULL), BILLING_OK);
	snprintf(f->sub_id, sizeof(f->sub_id), "%s", billing_subscription_id(s));
	snprintf(f->invoice_id, sizeof(f->invoice_id), "%s",
		billing_subscription_latest_invoice_id(s));
	billing_subscription_free(s);
	billing_customer_free(c);
	billing_plan_free(plan);
}

static void fx_free(fx *f)
{
	tb_world_free(f->w);
	fake_stripe_stop(f->fs);
}

static billing_invoice_status inv_status(fx *f, int32_t *attempts, int64_t *next)
{
	return tbb_invoice_status(f->w, f->t, f->invoice_id, attempts, next);
}

static billing_subscription_status sub_status(fx *f)
{
	return tbb_sub_status(f->w, f->t, f->sub_id);
}

/* How many attempts the invoice has. */
static size_t attempt_count(fx *f)
{
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	size_t n;
	lp.invoice_id = f->invoice_id;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	n = billing_page_count(page);
	billing_page_free(page);
	return n;
}

/* The payment's status, failure code and provider ref. */
static billing_payment_status payment(fx *f, const char *id, char *code, char *ref)
{
	billing_payment *p = NULL;
	billing_payment_status st;
	tb_assert_rc(billing_payment_get(&p, f->w->ctx, &f->admin, id), BILLING_OK);
	st = billing_payment_status_of(p);
	if (code)
		snprintf(code, 64, "%s", billing_payment_failure_code(p) ?
			billing_payment_failure_code(p) : "");
	if (ref)
		snprintf(ref, 128, "%s", billing_payment_provider_ref(p) ?
			billing_payment_provider_ref(p) : "");
	billing_payment_free(p);
	return st;
}

/* The id of the invoice's only attempt, which awaits action. */
static void awaiting(fx *f, char id[64], char ref[128])
{
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	lp.invoice_id = f->invoice_id;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	snprintf(id, 64, "%s", billing_payment_id(billing_page_payment(page, 0)));
	billing_page_free(page);
	assert_int_equal(payment(f, id, NULL, ref), BILLING_PAYMENT_REQUIRES_ACTION);
	assert_true(ref[0] != '\0');
}

/* The payment's status as the provider holds it. */
static billing_payment_status at_provider(fx *f, const char *ref)
{
	billing_provider_result res;
	if (f->stripe) {
		char st[40];
		assert_int_equal(fake_stripe_payment_intent(f->fs, ref, st, sizeof(st), NULL, NULL),
			1);
		return strcmp(st, "canceled") == 0 ? BILLING_PAYMENT_CANCELED :
			strcmp(st, "succeeded") == 0 ? BILLING_PAYMENT_SUCCEEDED :
			strcmp(st, "requires_action") == 0 ? BILLING_PAYMENT_REQUIRES_ACTION :
			BILLING_PAYMENT_FAILED;
	}
	memset(&res, 0, sizeof(res));
	tb_assert_rc(f->w->provider->retrieve(f->w->provider, ref, f->w->now, &res), BILLING_OK);
	return res.status;
}

/* The customer authenticates at the provider (no webhook yet). */
static void authenticate(fx *f, const char *ref)
{
	if (f->stripe)
		assert_int_equal(fake_stripe_set_status(f->fs, ref, "succeeded", NULL), 1);
	else
		tb_assert_rc(billing_test_provider_complete_action(f->w->provider, ref, 1),
			BILLING_OK);
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

static void run_at(fx *f, int64_t t)
{
	billing_run_report rep;
	f->w->now = t;
	if (f->fs)
		fake_stripe_set_now(f->fs, t);
	tb_assert_rc(billing_run_due(f->w->ctx, t, NULL, &rep), BILLING_OK);
	assert_int_equal(rep.failed, 0);
}

static int pay_with(fx *f, const char *method, billing_payment **out)
{
	billing_pay_params pp = BILLING_PAY_PARAMS_INIT;
	pp.payment_method = method;
	return billing_invoice_pay(out, f->w->ctx, &f->admin, f->invoice_id, &pp, NULL);
}

/* A signed payment_intent.succeeded for the payment, as the provider
 * would post it. */
static int webhook_succeeded(fx *f, const char *id, const char *ref,
	billing_webhook_result *res)
{
	fake_stripe_event ev;
	char sig[256], *body;
	billing_header h[1] = { { "Stripe-Signature", sig } };
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.type = "payment_intent.succeeded";
	ev.payment_intent = ref;
	ev.event_id = "evt_late_success";
	ev.created = f->w->now;
	ev.amount = AMOUNT;
	ev.currency = "eur";
	ev.tenant_id = f->t;
	ev.payment_id = id;
	ev.invoice_id = f->invoice_id;
	assert_non_null(body = fake_stripe_event_json(NULL, &ev));
	assert_int_equal(fake_stripe_event_sign(sig, sizeof(sig), SECRET, f->w->now, body), 0);
	rc = billing_provider_webhook_handle(f->w->ctx, h, 1, body, strlen(body), res);
	free(body);
	return rc;
}

/* ------------------------------------------------------------ cancel */

static void cancel__by_hand_then_the_invoice_is_paid_again(int stripe)
{
	billing_payment *p = NULL;
	char id[64], ref[128], paid[64];
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	awaiting(&f, id, ref);
	/* Before: the invoice could not be paid while the attempt waited. */
	tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &f.admin, id, NULL), BILLING_OK);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_CANCELED);
	billing_payment_free(p);
	assert_int_equal(at_provider(&f, ref), BILLING_PAYMENT_CANCELED);
	assert_int_equal(events_of(&f, "payment.canceled"), 1);
	assert_int_equal(inv_status(&f, NULL, NULL), BILLING_INVOICE_PENDING);

	/* Canceling again answers it as it is, asking nothing. */
	tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &f.admin, id, NULL), BILLING_OK);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_CANCELED);
	billing_payment_free(p);
	assert_int_equal(events_of(&f, "payment.canceled"), 1);

	/* Payable again. */
	tb_assert_rc(pay_with(&f, "pm_card_visa", &p), BILLING_OK);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_SUCCEEDED);
	snprintf(paid, sizeof(paid), "%s", billing_payment_id(p));
	billing_payment_free(p);
	assert_int_equal(inv_status(&f, NULL, NULL), BILLING_INVOICE_PAID);
	assert_int_equal(sub_status(&f), BILLING_SUB_ACTIVE);

	/* A succeeded payment is not canceled. */
	tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &f.admin, paid, NULL),
		BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "invalid_transition");
	fx_free(&f);
}

static void cancel__only_a_payment_awaiting_action(int stripe)
{
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_payment *p = NULL;
	billing_page *page = NULL;
	billing_principal user;
	char id[64], ref[128];
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	awaiting(&f, id, ref);
	/* Only ADMIN cancels; another tenant does not see it. */
	user = tb_user(f.t);
	tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &user, id, NULL), BILLING_EFORBIDDEN);
	{
		const char *other = tb_tenant(f.w, "Other");
		billing_principal admin2 = tb_admin(other);
		tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &admin2, id, NULL),
			BILLING_ENOTFOUND);
	}
	tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &f.admin, "pay_nope", NULL),
		BILLING_ENOTFOUND);
	assert_int_equal(at_provider(&f, ref), BILLING_PAYMENT_REQUIRES_ACTION);

	/* Succeeded at the provider first: recorded, not canceled. */
	authenticate(&f, ref);
	tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &f.admin, id, NULL), BILLING_ECONFLICT);
	assert_null(p);
	assert_string_equal(billing_error_last()->reason, "invalid_transition");
	assert_int_equal(payment(&f, id, NULL, NULL), BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(inv_status(&f, NULL, NULL), BILLING_INVOICE_PAID);
	tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &f.admin, id, NULL), BILLING_ECONFLICT);
	lp.status = BILLING_PAYMENT_CANCELED;
	tb_assert_rc(billing_payment_list(&page, f.w->ctx, &f.admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	fx_free(&f);
}

/* ------------------------------------------------------------ next action */

static void next_action__what_the_front_end_needs_while_it_waits(int stripe)
{
	billing_payment *p = NULL;
	char id[64], ref[128], want[160];
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	awaiting(&f, id, ref);
	tb_assert_rc(billing_payment_get(&p, f.w->ctx, &f.admin, id), BILLING_OK);
	assert_string_equal(billing_payment_next_action_type(p), "use_stripe_sdk");
	assert_non_null(billing_payment_client_secret(p));
	/* the provider's secret of this very payment */
	snprintf(want, sizeof(want), "%s_secret_", ref);
	assert_memory_equal(billing_payment_client_secret(p), want, strlen(want));
	assert_null(billing_payment_next_action_url(p));
	billing_payment_free(p);
	/* gone once it no longer awaits action */
	tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &f.admin, id, NULL), BILLING_OK);
	assert_null(billing_payment_next_action_type(p));
	assert_null(billing_payment_client_secret(p));
	billing_payment_free(p);
	fx_free(&f);
}

/* The invoice shows its payment's next action (get, list), the same as the
 * payment's, and none once the payment no longer awaits action. */
static void next_action__the_invoice_shows_its_payments(int stripe)
{
	billing_invoice_list_params lp = BILLING_INVOICE_LIST_PARAMS_INIT;
	billing_invoice *inv = NULL;
	billing_payment *p = NULL;
	billing_page *page = NULL;
	const billing_payment *a;
	char id[64], ref[128];
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	awaiting(&f, id, ref);
	tb_assert_rc(billing_payment_get(&p, f.w->ctx, &f.admin, id), BILLING_OK);
	tb_assert_rc(billing_invoice_get(&inv, f.w->ctx, &f.admin, f.invoice_id), BILLING_OK);
	assert_non_null(a = billing_invoice_action_payment(inv));
	assert_string_equal(billing_payment_id(a), id);
	assert_string_equal(billing_payment_next_action_type(a), "use_stripe_sdk");
	assert_string_equal(billing_payment_client_secret(a), billing_payment_client_secret(p));
	billing_invoice_free(inv);
	lp.customer_id = f.customer_id;
	tb_assert_rc(billing_invoice_list(&page, f.w->ctx, &f.admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_non_null(a = billing_invoice_action_payment(billing_page_invoice(page, 0)));
	assert_string_equal(billing_payment_client_secret(a), billing_payment_client_secret(p));
	billing_page_free(page);
	billing_payment_free(p);
	/* canceled: nothing to do on the invoice either */
	tb_assert_rc(billing_payment_cancel(&p, f.w->ctx, &f.admin, id, NULL), BILLING_OK);
	billing_payment_free(p);
	tb_assert_rc(billing_invoice_get(&inv, f.w->ctx, &f.admin, f.invoice_id), BILLING_OK);
	assert_null(billing_invoice_action_payment(inv));
	billing_invoice_free(inv);
	fx_free(&f);
}

static void next_action__a_redirect_names_its_url(void **state)
{
	billing_payment *p = NULL;
	char id[64], ref[128], want[200];
	fx f;
	(void)state;

	fx_init(&f, 1, "pm_card_threeDSecureRedirect", 0);
	awaiting(&f, id, ref);
	tb_assert_rc(billing_payment_get(&p, f.w->ctx, &f.admin, id), BILLING_OK);
	assert_string_equal(billing_payment_next_action_type(p), "redirect_to_url");
	snprintf(want, sizeof(want), "https://hooks.stripe.test/3d_secure/%s", ref);
	assert_string_equal(billing_payment_next_action_url(p), want);
	assert_non_null(billing_payment_client_secret(p));
	billing_payment_free(p);
	/* authenticated: the run retrieves it, and the action is gone */
	authenticate(&f, ref);
	run_at(&f, f.w->now + 6 * HOUR);
	tb_assert_rc(billing_payment_get(&p, f.w->ctx, &f.admin, id), BILLING_OK);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_SUCCEEDED);
	assert_null(billing_payment_next_action_type(p));
	assert_null(billing_payment_next_action_url(p));
	assert_null(billing_payment_client_secret(p));
	billing_payment_free(p);
	fx_free(&f);
}

/* ------------------------------------------------------------ supersede */

static void supersede__another_method_cancels_the_old_attempt_first(int stripe)
{
	billing_payment *p = NULL;
	char id[64], ref[128], newref[128];
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	awaiting(&f, id, ref);
	/* Before: 409 payment_in_progress, the invoice stuck. */
	tb_assert_rc(pay_with(&f, "pm_card_visa", &p), BILLING_OK);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_SUCCEEDED);
	assert_string_not_equal(billing_payment_id(p), id);
	snprintf(newref, sizeof(newref), "%s", billing_payment_provider_ref(p));
	billing_payment_free(p);
	assert_int_equal(payment(&f, id, NULL, NULL), BILLING_PAYMENT_CANCELED);
	assert_int_equal(at_provider(&f, ref), BILLING_PAYMENT_CANCELED);
	assert_int_equal(at_provider(&f, newref), BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(inv_status(&f, NULL, NULL), BILLING_INVOICE_PAID);
	assert_int_equal(events_of(&f, "invoice.paid"), 1);
	assert_int_equal(attempt_count(&f), 2);
	if (stripe)
		assert_int_equal(fake_stripe_payment_intent_count(f.fs), 2);
	else
		assert_int_equal(billing_test_provider_charge_count(f.w->provider), 2);
	fx_free(&f);
}

static void supersede__the_old_attempt_succeeded_first_nothing_new_is_made(int stripe)
{
	billing_webhook_result res;
	billing_payment *p = NULL;
	char id[64], ref[128];
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	awaiting(&f, id, ref);
	/* The customer authenticates just before another card is tried: the
	 * cancel is refused (already succeeded). */
	authenticate(&f, ref);
	tb_assert_rc(pay_with(&f, "pm_card_visa", &p), BILLING_ECONFLICT);
	assert_null(p);
	assert_string_equal(billing_error_last()->reason, "invalid_transition");
	assert_int_equal(payment(&f, id, NULL, NULL), BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(inv_status(&f, NULL, NULL), BILLING_INVOICE_PAID);
	assert_int_equal(attempt_count(&f), 1);
	if (stripe)
		assert_int_equal(fake_stripe_payment_intent_count(f.fs), 1);
	else
		assert_int_equal(billing_test_provider_charge_count(f.w->provider), 1);
	/* Its webhook, late, pays nothing twice. */
	tb_assert_rc(webhook_succeeded(&f, id, ref, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_IGNORED);
	assert_int_equal(events_of(&f, "invoice.paid"), 1);
	assert_int_equal(events_of(&f, "invoice.overpaid"), 0);
	fx_free(&f);
}

static void supersede__a_late_webhook_of_the_canceled_attempt_pays_nothing(int stripe)
{
	billing_webhook_result res;
	billing_payment *p = NULL;
	char id[64], ref[128];
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	awaiting(&f, id, ref);
	tb_assert_rc(pay_with(&f, "pm_card_visa", &p), BILLING_OK);
	billing_payment_free(p);
	tb_assert_rc(webhook_succeeded(&f, id, ref, &res), BILLING_OK);
	assert_int_equal(res.outcome, BILLING_WEBHOOK_IGNORED);
	assert_int_equal(payment(&f, id, NULL, NULL), BILLING_PAYMENT_CANCELED);
	assert_int_equal(events_of(&f, "invoice.paid"), 1);
	assert_int_equal(events_of(&f, "invoice.overpaid"), 0);
	fx_free(&f);
}

/* ------------------------------------------------------------ void */

static void void__cancels_the_attempt_awaiting_action_first(int stripe)
{
	billing_invoice *inv = NULL;
	char id[64], ref[128];
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	awaiting(&f, id, ref);
	/* Before: 409 payment_in_progress. */
	tb_assert_rc(billing_invoice_void(&inv, f.w->ctx, &f.admin, f.invoice_id, NULL),
		BILLING_OK);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_VOID);
	billing_invoice_free(inv);
	assert_int_equal(payment(&f, id, NULL, NULL), BILLING_PAYMENT_CANCELED);
	assert_int_equal(at_provider(&f, ref), BILLING_PAYMENT_CANCELED);
	fx_free(&f);
}

static void void__refused_when_the_attempt_succeeded_first(int stripe)
{
	billing_invoice *inv = NULL;
	char id[64], ref[128];
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	awaiting(&f, id, ref);
	authenticate(&f, ref);
	tb_assert_rc(billing_invoice_void(&inv, f.w->ctx, &f.admin, f.invoice_id, NULL),
		BILLING_ECONFLICT);
	assert_int_equal(payment(&f, id, NULL, NULL), BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(inv_status(&f, NULL, NULL), BILLING_INVOICE_PAID);
	fx_free(&f);
}

/* ------------------------------------------------------------ expiry */

static void expiry__the_run_fails_it_and_dunning_goes_on(int stripe)
{
	char id[64], ref[128], code[64];
	int64_t start, next;
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 0);
	start = f.w->now;
	awaiting(&f, id, ref);
	assert_int_equal(sub_status(&f), BILLING_SUB_ACTIVE);
	/* Before the 23 hours: still waiting for the customer. */
	run_at(&f, start + 23 * HOUR - 1);
	assert_int_equal(payment(&f, id, NULL, NULL), BILLING_PAYMENT_REQUIRES_ACTION);
	assert_int_equal(at_provider(&f, ref), BILLING_PAYMENT_REQUIRES_ACTION);
	/* Then a failure, as a decline: canceled at the provider. */
	run_at(&f, start + 23 * HOUR);
	assert_int_equal(payment(&f, id, code, NULL), BILLING_PAYMENT_FAILED);
	assert_string_equal(code, "authentication_expired");
	assert_int_equal(at_provider(&f, ref), BILLING_PAYMENT_CANCELED);
	assert_int_equal(inv_status(&f, NULL, &next), BILLING_INVOICE_FAILED);
	assert_int_equal(sub_status(&f), BILLING_SUB_PAST_DUE);
	assert_true(next > start);
	assert_int_equal(events_of(&f, "invoice.payment_failed"), 1);
	fx_free(&f);
}

static void expiry__the_context_sets_the_time(int stripe)
{
	char id[64], ref[128], code[64];
	int64_t start;
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 2 * HOUR);
	start = f.w->now;
	awaiting(&f, id, ref);
	run_at(&f, start + 2 * HOUR);
	assert_int_equal(payment(&f, id, code, NULL), BILLING_PAYMENT_FAILED);
	assert_string_equal(code, "authentication_expired");
	fx_free(&f);
}

/* The tenant's own time (its collection settings) overrides the host's. */
static void expiry__the_tenant_sets_the_time(int stripe)
{
	billing_dunning_policy pol;
	char id[64], ref[128], code[64];
	int64_t start, got = -1;
	fx f;

	fx_init(&f, stripe, "pm_card_authenticationRequired", 10 * HOUR);
	start = f.w->now;
	awaiting(&f, id, ref);
	tb_assert_rc(billing_dunning_action_expiry(&got, f.w->ctx, &f.admin), BILLING_OK);
	assert_int_equal(got, 0);           /* none set: the host's */
	tb_assert_rc(billing_dunning_set_action_expiry(f.w->ctx, &f.admin, 2 * HOUR), BILLING_OK);
	tb_assert_rc(billing_dunning_action_expiry(&got, f.w->ctx, &f.admin), BILLING_OK);
	assert_int_equal(got, 2 * HOUR);
	/* setting the retry policy keeps it */
	tb_assert_rc(billing_dunning_get(&pol, f.w->ctx, &f.admin), BILLING_OK);
	tb_assert_rc(billing_dunning_set(f.w->ctx, &f.admin, &pol), BILLING_OK);
	tb_assert_rc(billing_dunning_action_expiry(&got, f.w->ctx, &f.admin), BILLING_OK);
	assert_int_equal(got, 2 * HOUR);
	run_at(&f, start + 2 * HOUR - 1);
	assert_int_equal(payment(&f, id, NULL, NULL), BILLING_PAYMENT_REQUIRES_ACTION);
	run_at(&f, start + 2 * HOUR);
	assert_int_equal(payment(&f, id, code, NULL), BILLING_PAYMENT_FAILED);
	assert_string_equal(code, "authentication_expired");
	assert_int_equal(sub_status(&f), BILLING_SUB_PAST_DUE);
	fx_free(&f);
}

/* Bad times are refused with the field and change nothing; 0 goes back to
 * the host's time; only ADMIN sets it, and each tenant has its own. */
static void expiry__the_tenants_time_is_checked(void **state)
{
	billing_principal user;
	const char *other;
	int64_t got = -1;
	fx f;
	(void)state;

	fx_init(&f, 0, "pm_card_visa", 0);
	tb_assert_rc(billing_dunning_set_action_expiry(f.w->ctx, &f.admin, 3 * HOUR), BILLING_OK);
	tb_assert_rc(billing_dunning_set_action_expiry(f.w->ctx, &f.admin, 59), BILLING_EINVALID);
	tb_assert_field("actionExpirySeconds");
	tb_assert_rc(billing_dunning_set_action_expiry(f.w->ctx, &f.admin,
		BILLING_DUNNING_ACTION_EXPIRY_MAX + 1), BILLING_EINVALID);
	tb_assert_field("actionExpirySeconds");
	tb_assert_rc(billing_dunning_set_action_expiry(f.w->ctx, &f.admin, -1), BILLING_EINVALID);
	tb_assert_field("actionExpirySeconds");
	user = tb_user(f.t);
	tb_assert_rc(billing_dunning_set_action_expiry(f.w->ctx, &user, 60), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_dunning_action_expiry(&got, f.w->ctx, &f.admin), BILLING_OK);
	assert_int_equal(got, 3 * HOUR);
	other = tb_tenant(f.w, "Other");
	{
		billing_principal oa = tb_admin(other);
		tb_assert_rc(billing_dunning_action_expiry(&got, f.w->ctx, &oa), BILLING_OK);
		assert_int_equal(got, 0);
	}
	tb_assert_rc(billing_dunning_set_action_expiry(f.w->ctx, &f.admin, 0), BILLING_OK);
	tb_assert_rc(billing_dunning_action_expiry(&got, f.w->ctx, &f.admin), BILLING_OK);
	assert_int_equal(got, 0);
	fx_free(&f);
}

static void expiry__a_negative_or_tiny_expiry_is_refused(void **state)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_ctx *ctx = NULL;
	(void)state;
	o.payment_action_expiry = 59;
	tb_assert_rc(billing_ctx_open_url(&ctx, "sqlite::memory:", &o), BILLING_EINVALID);
	tb_assert_field("paymentActionExpiry");
	assert_null(ctx);
}

/* ------------------------------------------------------------ both providers */

#define BOTH(name) \
	static void name##__test(void **state) { (void)state; name(0); } \
	static void name##__stripe(void **state) { (void)state; name(1); }
BOTH(cancel__by_hand_then_the_invoice_is_paid_again)
BOTH(cancel__only_a_payment_awaiting_action)
BOTH(next_action__what_the_front_end_needs_while_it_waits)
BOTH(next_action__the_invoice_shows_its_payments)
BOTH(supersede__another_method_cancels_the_old_attempt_first)
BOTH(supersede__the_old_attempt_succeeded_first_nothing_new_is_made)
BOTH(supersede__a_late_webhook_of_the_canceled_attempt_pays_nothing)
BOTH(void__cancels_the_attempt_awaiting_action_first)
BOTH(void__refused_when_the_attempt_succeeded_first)
BOTH(expiry__the_run_fails_it_and_dunning_goes_on)
BOTH(expiry__the_context_sets_the_time)
BOTH(expiry__the_tenant_sets_the_time)
#define TESTS(name) cmocka_unit_test(name##__test), cmocka_unit_test(name##__stripe)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TESTS(cancel__by_hand_then_the_invoice_is_paid_again),
		TESTS(cancel__only_a_payment_awaiting_action),
		TESTS(next_action__what_the_front_end_needs_while_it_waits),
		TESTS(next_action__the_invoice_shows_its_payments),
		cmocka_unit_test(next_action__a_redirect_names_its_url),
		TESTS(supersede__another_method_cancels_the_old_attempt_first),
		TESTS(supersede__the_old_attempt_succeeded_first_nothing_new_is_made),
		TESTS(supersede__a_late_webhook_of_the_canceled_attempt_pays_nothing),
		TESTS(void__cancels_the_attempt_awaiting_action_first),
		TESTS(void__refused_when_the_attempt_succeeded_first),
		TESTS(expiry__the_run_fails_it_and_dunning_goes_on),
		TESTS(expiry__the_context_sets_the_time),
		TESTS(expiry__the_tenant_sets_the_time),
		cmocka_unit_test(expiry__the_tenants_time_is_checked),
		cmocka_unit_test(expiry__a_negative_or_tiny_expiry_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
