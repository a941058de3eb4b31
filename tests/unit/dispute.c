/*
 * Disputes (billing/dispute.h, issue #18 item 6): recorded only from the
 * provider's charge.dispute.created / .updated / .closed events, through
 * billing_provider_webhook_handle with signed Stripe-format bodies (the
 * test provider speaks Stripe's format), and read through the API.
 *
 * - the first event records the dispute (amount, currency, reason,
 *   status, evidence due date, payment / invoice / customer) and writes
 *   dispute.created and payment.disputed; the payment and invoice stay as
 *   they were, whatever the outcome (as in Stripe);
 * - a replayed event changes nothing; an older event changes nothing; an
 *   "updated" before "created" creates it, the late "created" then changes
 *   nothing; closed (won / lost) writes dispute.closed and is final;
 * - a dispute event naming another payment than the dispute's is refused;
 * - reads: get, list with filters, USER reads, other tenants see nothing,
 *   no write operation exists.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"
#include "core/resource.h"
#include "providers/stripe/stripe_webhook.h"

#define SECRET "whsec_test_disputes"
#define AMOUNT 2900
#define DUE 1900000000

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char customer_id[64];
	char invoice_id[64];
	char payment_id[64];
	char ref[128];
} fx;

static void fx_init(fx *f)
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
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ .default_payment_method = "pm_card_visa" });
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
	assert_int_equal(billing_payment_status_of(pay), BILLING_PAYMENT_SUCCEEDED);
	snprintf(f->payment_id, sizeof(f->payment_id), "%s", billing_payment_id(pay));
	snprintf(f->ref, sizeof(f->ref), "%s", billing_payment_provider_ref(pay));
	billing_page_free(page);
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

/* What an event says of the dispute. */
typedef struct {
	const char *evt;              /* the event id */
	const char *type;             /* "created", "updated", "closed" */
	int64_t at;                   /* the event's created time, relative to now */
	const char *status;
	int64_t amount;               /* 0: AMOUNT */
	int64_t due;                  /* 0: null */
	const char *dispute;          /* NULL: "dp_test_1" */
	const char *payment_id;       /* NULL: f's */
	const char *reason;           /* NULL: "fraudulent" */
} dspec;

/* Delivers the event; returns the outcome (BILLING_OK asserted). */
static billing_webhook_outcome send(fx *f, const dspec *d)
{
	billing_webhook_result res;
	char body[2048], due[32];
	if (d->due)
		snprintf(due, sizeof(due), "%lld", (long long)d->due);
	else
		snprintf(due, sizeof(due), "null");
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"object\":\"event\","
		"\"type\":\"charge.dispute.%s\",\"created\":%lld,\"data\":{\"object\":{"
		"\"id\":\"%s\",\"object\":\"dispute\",\"charge\":\"ch_1\",\"payment_intent\":\"%s\","
		"\"amount\":%lld,\"currency\":\"eur\",\"reason\":\"%s\",\"status\":\"%s\","
		"\"evidence_details\":{\"due_by\":%s,\"has_evidence\":false},"
		"\"metadata\":{\"tenant_id\":\"%s\",\"payment_id\":\"%s\"}}}}",
		d->evt, d->type, (long long)(f->w->now + d->at), d->dispute ? d->dispute : "dp_test_1",
		f->ref, (long long)(d->amount ? d->amount : AMOUNT),
		d->reason ? d->reason : "fraudulent", d->status, due, f->t,
		d->payment_id ? d->payment_id : f->payment_id);
	tb_assert_rc(deliver(f, body, &res), BILLING_OK);
	if (res.outcome != BILLING_WEBHOOK_DUPLICATE)
		assert_string_equal(res.payment_id, f->payment_id);
	return res.outcome;
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

/* The only dispute of f's payment (caller frees). */
static billing_dispute *the_dispute(fx *f)
{
	billing_dispute_list_params lp = BILLING_DISPUTE_LIST_PARAMS_INIT;
	billing_dispute *d = NULL;
	billing_page *page = NULL;

	lp.payment_id = f->payment_id;
	tb_assert_rc(billing_dispute_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	tb_assert_rc(billing_dispute_get(&d, f->w->ctx, &f->admin,
		billing_dispute_id(billing_page_dispute(page, 0))), BILLING_OK);
	billing_page_free(page);
	return d;
}

/* The payment and its invoice are as the first charge left them. */
static void assert_payment_and_invoice_unchanged(fx *f, int64_t version)
{
	billing_payment *p = NULL;
	billing_invoice *inv = NULL;
	tb_assert_rc(billing_payment_get(&p, f->w->ctx, &f->admin, f->payment_id), BILLING_OK);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(billing_payment_refunded_amount(p), 0);
	assert_int_equal(billing_payment_version(p), version);
	billing_payment_free(p);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, f->invoice_id), BILLING_OK);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	billing_invoice_free(inv);
}

static int64_t payment_version(fx *f)
{
	billing_payment *p = NULL;
	int64_t v;
	tb_assert_rc(billing_payment_get(&p, f->w->ctx, &f->admin, f->payment_id), BILLING_OK);
	v = billing_payment_version(p);
	billing_payment_free(p);
	return v;
}

/* ------------------------------------------------------------ created */

static void created__records_the_dispute_and_writes_events(void **state)
{
	billing_dispute *d;
	int64_t v;
	fx f;
	(void)state;
	fx_init(&f);
	v = payment_version(&f);
	/* Part of the amount is disputed: amounts are not matched. */
	assert_int_equal(send(&f, &(dspec){ "evt_c1", "created", 0, "needs_response", 1000, DUE,
		NULL, NULL, NULL }), BILLING_WEBHOOK_APPLIED);
	d = the_dispute(&f);
	assert_true(strncmp(billing_dispute_id(d), "dp_", 3) == 0);
	assert_string_equal(billing_dispute_tenant_id(d), f.t);
	assert_string_equal(billing_dispute_payment_id(d), f.payment_id);
	assert_string_equal(billing_dispute_invoice_id(d), f.invoice_id);
	assert_string_equal(billing_dispute_customer_id(d), f.customer_id);
	assert_string_equal(billing_dispute_provider(d), "test");
	assert_string_equal(billing_dispute_provider_ref(d), "dp_test_1");
	assert_int_equal(billing_dispute_amount(d), 1000);
	assert_string_equal(billing_dispute_currency(d), "EUR");
	assert_string_equal(billing_dispute_reason(d), "fraudulent");
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_NEEDS_RESPONSE);
	assert_int_equal(billing_dispute_evidence_due_by(d), DUE);
	assert_int_equal(billing_dispute_closed_at(d), 0);
	assert_string_equal(billing_dispute_metadata_json(d), "{}");
	assert_int_equal(billing_dispute_created_at(d), f.w->now);
	assert_int_equal(billing_dispute_updated_at(d), f.w->now);
	assert_int_equal(billing_dispute_version(d), 1);
	billing_dispute_free(d);
	assert_int_equal(events_of(&f, "dispute.created"), 1);
	assert_int_equal(events_of(&f, "payment.disputed"), 1);
	assert_int_equal(count(&f, "events WHERE type = 'dispute.created' AND data LIKE "
		"'%\"status\":\"needs_response\"%' AND data LIKE '%\"evidenceDueBy\":\"20%'"), 1);
	assert_payment_and_invoice_unchanged(&f, v);
	tb_world_free(f.w);
}

static void replay__of_any_event_changes_nothing(void **state)
{
	billing_dispute *d;
	fx f;
	(void)state;
	fx_init(&f);
	assert_int_equal(send(&f, &(dspec){ "evt_r1", "created", 0, "needs_response", 0, DUE,
		NULL, NULL, NULL }), BILLING_WEBHOOK_APPLIED);
	assert_int_equal(send(&f, &(dspec){ "evt_r2", "updated", 5, "under_review", 0, DUE,
		NULL, NULL, NULL }), BILLING_WEBHOOK_APPLIED);
	/* Stripe delivers both again (and again). */
	assert_int_equal(send(&f, &(dspec){ "evt_r1", "created", 0, "needs_response", 0, DUE,
		NULL, NULL, NULL }), BILLING_WEBHOOK_DUPLICATE);
	assert_int_equal(send(&f, &(dspec){ "evt_r2", "updated", 5, "under_review", 0, DUE,
		NULL, NULL, NULL }), BILLING_WEBHOOK_DUPLICATE);
	assert_int_equal(send(&f, &(dspec){ "evt_r2", "updated", 5, "under_review", 0, DUE,
		NULL, NULL, NULL }), BILLING_WEBHOOK_DUPLICATE);
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_UNDER_REVIEW);
	assert_int_equal(billing_dispute_version(d), 2);
	billing_dispute_free(d);
	assert_int_equal(count(&f, "disputes"), 1);
	assert_int_equal(events_of(&f, "dispute.created"), 1);
	assert_int_equal(events_of(&f, "dispute.updated"), 1);
	assert_int_equal(events_of(&f, "payment.disputed"), 1);
	tb_world_free(f.w);
}

/* ------------------------------------------------------------ order */

static void out_of_order__updated_before_created_creates_it(void **state)
{
	billing_dispute *d;
	fx f;
	(void)state;
	fx_init(&f);
	/* Stripe sent created at t and updated at t+10; updated arrives first. */
	assert_int_equal(send(&f, &(dspec){ "evt_o2", "updated", 10, "under_review", 0, DUE,
		NULL, NULL, NULL }), BILLING_WEBHOOK_APPLIED);
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_UNDER_REVIEW);
	assert_int_equal(billing_dispute_version(d), 1);
	billing_dispute_free(d);
	assert_int_equal(events_of(&f, "dispute.created"), 1);
	assert_int_equal(events_of(&f, "payment.disputed"), 1);
	/* The late created: acknowledged, changes nothing. */
	assert_int_equal(send(&f, &(dspec){ "evt_o1", "created", 0, "needs_response", 0, 0,
		NULL, NULL, NULL }), BILLING_WEBHOOK_IGNORED);
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_UNDER_REVIEW);
	assert_int_equal(billing_dispute_evidence_due_by(d), DUE);
	assert_int_equal(billing_dispute_version(d), 1);
	billing_dispute_free(d);
	/* An update older than the one applied: ignored too. */
	assert_int_equal(send(&f, &(dspec){ "evt_o3", "updated", 5, "needs_response", 0, 0,
		NULL, NULL, NULL }), BILLING_WEBHOOK_IGNORED);
	/* The same as we know, newer: nothing to show, nothing written. */
	assert_int_equal(send(&f, &(dspec){ "evt_o4", "updated", 20, "under_review", 0, DUE,
		NULL, NULL, NULL }), BILLING_WEBHOOK_IGNORED);
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_UNDER_REVIEW);
	assert_int_equal(billing_dispute_version(d), 1);
	billing_dispute_free(d);
	assert_int_equal(events_of(&f, "dispute.created"), 1);
	assert_int_equal(events_of(&f, "dispute.updated"), 0);
	tb_world_free(f.w);
}

/* ------------------------------------------------------------ closed */

static void closed__lost_is_final_and_leaves_payment_and_invoice(void **state)
{
	billing_dispute *d;
	int64_t v;
	fx f;
	(void)state;
	fx_init(&f);
	v = payment_version(&f);
	assert_int_equal(send(&f, &(dspec){ "evt_l1", "created", 0, "needs_response", 0, DUE,
		NULL, NULL, NULL }), BILLING_WEBHOOK_APPLIED);
	f.w->now += 3600;      /* the clock the context reads */
	assert_int_equal(send(&f, &(dspec){ "evt_l2", "closed", 0, "lost", 0, DUE, NULL, NULL,
		NULL }), BILLING_WEBHOOK_APPLIED);
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_LOST);
	assert_int_equal(billing_dispute_amount(d), AMOUNT);
	assert_int_equal(billing_dispute_closed_at(d), f.w->now);
	assert_int_equal(billing_dispute_updated_at(d), f.w->now);
	assert_int_equal(billing_dispute_version(d), 2);
	billing_dispute_free(d);
	assert_int_equal(count(&f, "events WHERE type = 'dispute.closed' AND data LIKE "
		"'%\"status\":\"lost\"%'"), 1);
	/* As in Stripe: the invoice stays paid, the payment is not refunded. */
	assert_payment_and_invoice_unchanged(&f, v);
	/* A newer event cannot reopen it. */
	assert_int_equal(send(&f, &(dspec){ "evt_l3", "updated", 60, "under_review", 0, 0,
		NULL, NULL, NULL }), BILLING_WEBHOOK_IGNORED);
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_LOST);
	assert_int_equal(billing_dispute_version(d), 2);
	billing_dispute_free(d);
	assert_int_equal(events_of(&f, "dispute.updated"), 0);
	assert_int_equal(events_of(&f, "dispute.closed"), 1);
	tb_world_free(f.w);
}

static void closed__won_first_heard_of_is_created_closed(void **state)
{
	billing_dispute *d;
	fx f;
	(void)state;
	fx_init(&f);
	assert_int_equal(send(&f, &(dspec){ "evt_w1", "closed", 0, "won", 0, 0, NULL, NULL,
		"product_not_received" }), BILLING_WEBHOOK_APPLIED);
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_WON);
	assert_string_equal(billing_dispute_reason(d), "product_not_received");
	assert_int_equal(billing_dispute_evidence_due_by(d), 0);
	assert_int_equal(billing_dispute_closed_at(d), f.w->now);
	billing_dispute_free(d);
	assert_int_equal(events_of(&f, "dispute.created"), 1);
	assert_int_equal(count(&f, "events WHERE type = 'dispute.closed' AND data LIKE "
		"'%\"status\":\"won\"%'"), 1);
	tb_world_free(f.w);
}

static void updated__reason_amount_due_date_and_unknown_status(void **state)
{
	billing_dispute *d;
	fx f;
	(void)state;
	fx_init(&f);
	assert_int_equal(send(&f, &(dspec){ "evt_u1", "created", 0, "warning_needs_response", 0,
		0, NULL, NULL, NULL }), BILLING_WEBHOOK_APPLIED);
	assert_int_equal(send(&f, &(dspec){ "evt_u2", "updated", 1, "warning_needs_response",
		1500, DUE, NULL, NULL, "general" }), BILLING_WEBHOOK_APPLIED);
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_WARNING_NEEDS_RESPONSE);
	assert_int_equal(billing_dispute_amount(d), 1500);
	assert_int_equal(billing_dispute_evidence_due_by(d), DUE);
	assert_string_equal(billing_dispute_reason(d), "general");
	billing_dispute_free(d);
	/* A status this library does not know keeps the one it has. */
	assert_int_equal(send(&f, &(dspec){ "evt_u3", "updated", 2, "prevented", 1500, DUE, NULL,
		NULL, "general" }), BILLING_WEBHOOK_IGNORED);
	assert_int_equal(send(&f, &(dspec){ "evt_u4", "closed", 3, "warning_closed", 1500, DUE,
		NULL, NULL, "general" }), BILLING_WEBHOOK_APPLIED);
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_WARNING_CLOSED);
	assert_int_equal(billing_dispute_closed_at(d), f.w->now);
	billing_dispute_free(d);
	assert_int_equal(events_of(&f, "dispute.updated"), 1);
	assert_int_equal(events_of(&f, "dispute.closed"), 1);
	tb_world_free(f.w);
}

static void mismatch__a_dispute_of_another_payment_is_refused(void **state)
{
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_webhook_result res;
	billing_subscription *s;
	billing_dispute *d;
	billing_plan *plan;
	billing_page *page = NULL;
	char body[1024], ref2[128], pay2[64], inv2[64];
	fx f;
	(void)state;
	fx_init(&f);
	assert_int_equal(send(&f, &(dspec){ "evt_m1", "created", 0, "needs_response", 0, 0,
		NULL, NULL, NULL }), BILLING_WEBHOOK_APPLIED);
	/* A second payment of the same customer. */
	plan = tb_plan(f.w, f.t, &(tb_plan_spec){ .amount = AMOUNT });
	s = tbb_subscribe(f.w, f.t, f.customer_id, billing_plan_id(plan), 1);
	snprintf(inv2, sizeof(inv2), "%s", billing_subscription_latest_invoice_id(s));
	billing_subscription_free(s);
	billing_plan_free(plan);
	lp.invoice_id = inv2;
	tb_assert_rc(billing_payment_list(&page, f.w->ctx, &f.admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	snprintf(pay2, sizeof(pay2), "%s", billing_payment_id(billing_page_payment(page, 0)));
	snprintf(ref2, sizeof(ref2), "%s",
		billing_payment_provider_ref(billing_page_payment(page, 0)));
	billing_page_free(page);

	/* The provider's dispute dp_test_1 said to be about that one. */
	snprintf(body, sizeof(body), "{\"id\":\"evt_m2\",\"object\":\"event\","
		"\"type\":\"charge.dispute.updated\",\"created\":%lld,\"data\":{\"object\":{"
		"\"id\":\"dp_test_1\",\"object\":\"dispute\",\"payment_intent\":\"%s\","
		"\"amount\":100,\"currency\":\"eur\",\"status\":\"lost\","
		"\"metadata\":{\"tenant_id\":\"%s\",\"payment_id\":\"%s\"}}}}",
		(long long)f.w->now + 5, ref2, f.t, pay2);
	tb_assert_rc(deliver(&f, body, &res), BILLING_EINVALID);
	tbb_assert_reason("payment_mismatch");
	d = the_dispute(&f);
	assert_int_equal(billing_dispute_status_of(d), BILLING_DISPUTE_NEEDS_RESPONSE);
	assert_int_equal(billing_dispute_version(d), 1);
	billing_dispute_free(d);
	assert_int_equal(count(&f, "disputes"), 1);
	/* Refused, so not recorded as seen: a fixed retry would be applied. */
	assert_int_equal(count(&f, "provider_events WHERE event_id = 'evt_m2'"), 0);
	tb_world_free(f.w);
}

/* ------------------------------------------------------------ concurrency */

struct racer {
	fx *f;
	pthread_barrier_t *start;
	char body[2048];
	char sig[256];
	billing_webhook_result res;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	billing_header h = { "Stripe-Signature", r->sig };
	pthread_barrier_wait(r->start);
	r->rc = billing_provider_webhook_handle(r->f->w->ctx, &h, 1, r->body, strlen(r->body),
		&r->res);
	return NULL;
}

/* Stripe sends a new dispute's events at once, to two workers. Each event
 * reads its payment for update first, so the two run one after the other
 * and the second finds the dispute the first created: both are applied,
 * neither fails on the unique provider dispute id (PostgreSQL: READ
 * COMMITTED; SQLite serializes writers anyway). */
static void concurrent__first_events_of_one_dispute_both_apply(void **state)
{
	static const char *const kinds[2] = { "updated", "closed" };
	static const char *const statuses[2] = { "under_review", "lost" };
	pthread_barrier_t start;
	struct racer r[2];
	pthread_t t[2];
	char where[128];
	int round, i;
	fx f;
	(void)state;
	fx_init(&f);
	for (round = 0; round < 8; round++) {
		assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
		for (i = 0; i < 2; i++) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].f = &f;
			r[i].start = &start;
			snprintf(r[i].body, sizeof(r[i].body), "{\"id\":\"evt_race_%d_%d\","
				"\"object\":\"event\",\"type\":\"charge.dispute.%s\",\"created\":%lld,"
				"\"data\":{\"object\":{\"id\":\"dp_race_%d\",\"object\":\"dispute\","
				"\"payment_intent\":\"%s\",\"amount\":100,\"currency\":\"eur\","
				"\"status\":\"%s\",\"metadata\":{\"tenant_id\":\"%s\","
				"\"payment_id\":\"%s\"}}}}", round, i, kinds[i],
				(long long)f.w->now + i, round, f.ref, statuses[i], f.t, f.payment_id);
			tb_assert_rc(billing__stripe_webhook_sign(r[i].sig, sizeof(r[i].sig), SECRET,
				f.w->now, r[i].body, strlen(r[i].body)), BILLING_OK);
		}
		for (i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
		for (i = 0; i < 2; i++)
			assert_int_equal(pthread_join(t[i], NULL), 0);
		pthread_barrier_destroy(&start);
		for (i = 0; i < 2; i++)
			tb_assert_rc(r[i].rc, BILLING_OK);
		/* Whatever the order, one dispute, closed as lost. */
		snprintf(where, sizeof(where), "disputes WHERE provider_ref = 'dp_race_%d'", round);
		assert_int_equal(count(&f, where), 1);
		snprintf(where, sizeof(where), "disputes WHERE provider_ref = 'dp_race_%d' AND "
			"status = %d", round, (int)BILLING_DISPUTE_LOST);
		assert_int_equal(count(&f, where), 1);
	}
	tb_world_free(f.w);
}

/* ------------------------------------------------------------ reads */

static void reads__filters_roles_tenants_and_no_writes(void **state)
{
	billing_dispute_list_params lp = BILLING_DISPUTE_LIST_PARAMS_INIT;
	billing_principal user, other;
	const billing__rules *rules = billing__rules_find("disputes");
	billing_dispute *d = NULL, *got = NULL;
	billing_page *page = NULL;
	const char *t2;
	fx f;
	(void)state;
	fx_init(&f);
	assert_int_equal(send(&f, &(dspec){ "evt_f1", "created", 0, "needs_response", 0, 0,
		"dp_a", NULL, NULL }), BILLING_WEBHOOK_APPLIED);
	assert_int_equal(send(&f, &(dspec){ "evt_f2", "closed", 1, "won", 0, 0, "dp_b", NULL,
		NULL }), BILLING_WEBHOOK_APPLIED);

	lp.status = BILLING_DISPUTE_WON;
	tb_assert_rc(billing_dispute_list(&page, f.w->ctx, &f.admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_dispute_provider_ref(billing_page_dispute(page, 0)), "dp_b");
	assert_null(billing_page_dispute(page, 1));
	billing_page_free(page);
	lp.status = 0;
	lp.customer_id = f.customer_id;
	tb_assert_rc(billing_dispute_list(&page, f.w->ctx, &f.admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2);
	billing_page_free(page);
	lp.customer_id = "cus_nobody";
	tb_assert_rc(billing_dispute_list(&page, f.w->ctx, &f.admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	lp.customer_id = NULL;
	lp.status = (billing_dispute_status)9;
	tb_assert_rc(billing_dispute_list(&page, f.w->ctx, &f.admin, &lp), BILLING_EINVALID);
	tb_assert_field("status");
	lp.status = 0;
	lp.version = 99;
	tb_assert_rc(billing_dispute_list(&page, f.w->ctx, &f.admin, &lp), BILLING_EINVALID);
	tb_assert_field("version");

	/* USER reads; NULL params list all. */
	user = tb_user(f.t);
	tb_assert_rc(billing_dispute_list(&page, f.w->ctx, &user, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2);
	tb_assert_rc(billing_dispute_get(&d, f.w->ctx, &user,
		billing_dispute_id(billing_page_dispute(page, 0))), BILLING_OK);
	billing_page_free(page);

	/* Another tenant sees nothing. */
	t2 = tb_tenant(f.w, "Other");
	other = tb_admin(t2);
	tb_assert_rc(billing_dispute_get(&got, f.w->ctx, &other, billing_dispute_id(d)),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_dispute_list(&page, f.w->ctx, &other, NULL), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
	tb_assert_rc(billing_dispute_get(&got, f.w->ctx, &f.admin, "dp_nothing"),
		BILLING_ENOTFOUND);

	/* Read-only: no create, update or delete, for anyone. */
	assert_non_null(rules);
	assert_int_equal(rules->res->ops, BILLING_RESOURCE_OP_GET | BILLING_RESOURCE_OP_LIST);
	tb_assert_rc(billing__resource_delete(rules, f.w->ctx, &f.admin, billing_dispute_id(d), 0),
		BILLING_EFORBIDDEN);
	assert_string_equal(billing_dispute_status_name(BILLING_DISPUTE_LOST), "lost");
	assert_string_equal(billing_dispute_status_name(BILLING_DISPUTE_WARNING_NEEDS_RESPONSE),
		"warning_needs_response");
	assert_null(billing_dispute_status_name((billing_dispute_status)0));
	assert_null(billing_dispute_status_name((billing_dispute_status)8));
	billing_dispute_free(d);
	tb_world_free(f.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(created__records_the_dispute_and_writes_events),
		cmocka_unit_test(replay__of_any_event_changes_nothing),
		cmocka_unit_test(out_of_order__updated_before_created_creates_it),
		cmocka_unit_test(closed__lost_is_final_and_leaves_payment_and_invoice),
		cmocka_unit_test(closed__won_first_heard_of_is_created_closed),
		cmocka_unit_test(updated__reason_amount_due_date_and_unknown_status),
		cmocka_unit_test(mismatch__a_dispute_of_another_payment_is_refused),
		cmocka_unit_test(concurrent__first_events_of_one_dispute_both_apply),
		cmocka_unit_test(reads__filters_roles_tenants_and_no_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
