/*
 * Renewal drafts (issue #20 item 2): a tenant's renewalDraftDelay keeps a
 * renewal's invoice a draft for that many seconds, so invoice items can be
 * added to it or removed; the billing run then finalizes it once (number,
 * balance, collection) through the finalization every invoice shares. The
 * period advances at the renewal all the same. A delay of 0 (the default)
 * finalizes at once, as before. On the simulated clock, both backends.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "billing/check.h"
#include "billing/customer_balance.h"
#include "tb.h"
#include "tb_billing.h"

#define HOUR 3600

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	billing_customer *cus;
	const char *cus_id;
	billing_plan *plan;
} fx;

static int setup(void **state)
{
	billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_provider *p = NULL;
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	tb_assert_rc(billing_test_provider_new(&p, &o), BILLING_OK);
	f->w = tb_world_new_with_provider(p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	billing_plan_free(f->plan);
	billing_customer_free(f->cus);
	tb_world_free(f->w);
	free(f);
	return 0;
}

/* A tenant with the given renewal draft delay, a customer paying by card,
 * a monthly plan of 29.00; the clock at 2025-01-01. */
static void begin(fx *f, int64_t delay)
{
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	billing_principal op = tb_platform();
	billing_tenant *t = NULL;

	f->w->now = tbb_ts(2025, 1, 1, 0, 0, 0);
	p.name = "Acme";
	p.renewal_draft_delay = delay;
	tb_assert_rc(billing_tenant_create(&t, f->w->ctx, &op, &p, NULL), BILLING_OK);
	assert_int_equal(billing_tenant_renewal_draft_delay(t), delay);
	assert_true(f->w->nstrings < sizeof(f->w->strings) / sizeof(f->w->strings[0]));
	f->t = f->w->strings[f->w->nstrings++] = strdup(billing_tenant_id(t));
	billing_tenant_free(t);
	f->admin = tb_admin(f->t);
	f->cus = tb_customer(f->w, f->t,
		&(tb_customer_spec){ .default_payment_method = "pm_card_visa" });
	f->cus_id = billing_customer_id(f->cus);
	f->plan = tb_plan(f->w, f->t, &(tb_plan_spec){ .amount = 2900 });
}

static void print_problem(void *payload, const billing_check_problem *p)
{
	(void)payload;
	fprintf(stderr, "billing_check: %s %s: %s\n", p->kind, p->resource_id ? p->resource_id : "-",
		p->detail);
}

static void assert_check_clean(fx *f)
{
	int64_t n = 99;
	tb_assert_rc(billing_check(f->w->ctx, print_problem, NULL, &n), BILLING_OK);
	assert_int_equal(n, 0);
}

/* Rows of a query where "%s" stands for one id. */
static int64_t count(fx *f, const char *pre, const char *id, const char *post)
{
	char sql[512];
	snprintf(sql, sizeof(sql), "%s'%s'%s", pre, id, post);
	return tb_raw_count(f->w->url, sql);
}

/* An invoice item of amount on invoice_id (a draft), through the JSON
 * operation the HTTP route uses. */
static void item_on(fx *f, const char *invoice_id, int64_t amount)
{
	char in[512], *out = NULL;
	snprintf(in, sizeof(in), "{\"customerId\":\"%s\",\"invoiceId\":\"%s\",\"currency\":\"EUR\","
		"\"description\":\"Extra seats\",\"amount\":%lld}", f->cus_id, invoice_id,
		(long long)amount);
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "invoice_items.create", in,
		strlen(in), NULL), BILLING_OK);
	billing_free(out);
}

static billing_invoice *invoice(fx *f, const char *id)
{
	billing_invoice *inv = NULL;
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, id), BILLING_OK);
	return inv;
}

/* The renewal is a draft for an hour: no number, the period advanced, an
 * item added to it lands after the plan's line; the draft cannot be
 * deleted; a run inside the hour leaves it; the run after the hour
 * finalizes it with the next number, applies the balance and collects it;
 * a later run does nothing more. */
static void renewal_draft__stays_a_draft_for_the_delay_then_the_run_finalizes_it_once(
	void **state)
{
	fx *f = *state;
	billing_subscription *s, *now;
	billing_invoice *inv;
	billing_run_report rep;
	char draft_id[64];

	begin(f, HOUR);
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(f->plan), 1);
	/* the first invoice is finalized at creation: only renewals wait */
	assert_int_equal(count(f, "SELECT count(*) FROM invoices WHERE subscription_id = ",
		billing_subscription_id(s), " AND number IS NOT NULL"), 1);

	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 30);
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 0);
	assert_int_equal(rep.invoiced, 1);
	now = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	tbb_assert_time(billing_subscription_current_period_start(now), tbb_ts(2025, 2, 1, 0, 0, 0));
	tbb_assert_time(billing_subscription_current_period_end(now), tbb_ts(2025, 3, 1, 0, 0, 0));
	snprintf(draft_id, sizeof(draft_id), "%s", billing_subscription_latest_invoice_id(now));
	billing_subscription_free(now);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_DRAFT);
	assert_null(billing_invoice_number(inv));
	assert_int_equal(billing_invoice_total(inv), 2900);
	billing_invoice_free(inv);
	assert_int_equal(count(f, "SELECT count(*) FROM payments WHERE invoice_id = ",
		draft_id, ""), 0);

	/* an item added to the draft: the plan's line stays first */
	f->w->now += 60;
	item_on(f, draft_id, 1500);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	assert_string_equal(billing_invoice_line_at(inv, 0)->plan_id, billing_plan_id(f->plan));
	assert_null(billing_invoice_line_at(inv, 1)->plan_id);
	assert_int_equal(billing_invoice_line_at(inv, 1)->amount, 1500);
	assert_int_equal(billing_invoice_total(inv), 4400);
	billing_invoice_free(inv);
	/* a subscription's draft is finalized, never deleted */
	assert_int_equal(billing_invoice_delete(f->w->ctx, &f->admin, draft_id), BILLING_ECONFLICT);
	tbb_assert_reason("subscription_invoice");

	/* inside the hour: nothing */
	f->w->now = tbb_ts(2025, 2, 1, 0, 59, 0);
	rep = tbb_run(f->w);
	assert_int_equal(rep.processed, 0);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_DRAFT);
	billing_invoice_free(inv);

	/* after it: finalized, numbered next, collected */
	f->w->now = tbb_ts(2025, 2, 1, 1, 0, 30);
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 0);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	assert_string_equal(billing_invoice_number(inv), "INV-000002");
	assert_int_equal(billing_invoice_total(inv), 4400);
	assert_int_equal(billing_invoice_amount_paid(inv), 4400);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	billing_invoice_free(inv);
	assert_int_equal(count(f, "SELECT count(*) FROM events WHERE type = 'invoice.finalized' "
		"AND resource_id = ", draft_id, ""), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM due_work WHERE resource_id = ",
		draft_id, ""), 0);

	f->w->now += 2 * HOUR;
	rep = tbb_run(f->w);
	assert_int_equal(rep.processed, 0);
	assert_int_equal(count(f, "SELECT count(*) FROM events WHERE type = 'invoice.finalized' "
		"AND resource_id = ", draft_id, ""), 1);
	assert_check_clean(f);
	billing_subscription_free(s);
}

/* A draft finalized by hand before the delay is over: the run later finds
 * nothing to do, and the invoice is finalized once. The customer's credit
 * is applied at finalization, not at the renewal. */
static void renewal_draft__finalized_by_hand_first_the_run_leaves_it(void **state)
{
	fx *f = *state;
	billing_subscription *s, *now;
	billing_invoice *inv, *done = NULL;
	billing_balance_transaction *bt = NULL;
	billing_balance_adjustment_params ap = BILLING_BALANCE_ADJUSTMENT_PARAMS_INIT;
	char draft_id[64];

	begin(f, HOUR);
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(f->plan), 1);
	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 30);
	tbb_run(f->w);
	now = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	snprintf(draft_id, sizeof(draft_id), "%s", billing_subscription_latest_invoice_id(now));
	billing_subscription_free(now);

	/* a credit of 10.00 given while the renewal is a draft */
	ap.customer_id = f->cus_id;
	ap.amount = -1000;
	ap.currency = "EUR";
	ap.description = "goodwill";
	tb_assert_rc(billing_customer_balance_adjust(&bt, f->w->ctx, &f->admin, &ap, NULL),
		BILLING_OK);
	billing_balance_transaction_free(bt);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_starting_balance(inv), 0);
	billing_invoice_free(inv);

	f->w->now += 600;
	tb_assert_rc(billing_invoice_finalize(&done, f->w->ctx, &f->admin, draft_id, NULL),
		BILLING_OK);
	assert_string_equal(billing_invoice_number(done), "INV-000002");
	assert_int_equal(billing_invoice_starting_balance(done), -1000);
	assert_int_equal(billing_invoice_amount_due(done), 1900);
	billing_invoice_free(done);
	assert_int_equal(count(f, "SELECT count(*) FROM due_work WHERE kind = 'invoice_draft' "
		"AND resource_id = ", draft_id, ""), 0);

	f->w->now = tbb_ts(2025, 2, 1, 2, 0, 0);
	tbb_run(f->w);
	assert_int_equal(count(f, "SELECT count(*) FROM events WHERE type = 'invoice.finalized' "
		"AND resource_id = ", draft_id, ""), 1);
	inv = invoice(f, draft_id);
	assert_string_equal(billing_invoice_number(inv), "INV-000002");
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	assert_int_equal(billing_invoice_amount_paid(inv), 1900);
	billing_invoice_free(inv);
	assert_check_clean(f);
	billing_subscription_free(s);
}

typedef struct {
	billing_ctx *ctx;
	pthread_barrier_t *go;
	billing_run_report rep;
	int rc;
} runner;

static int64_t world_clock(void *payload)
{
	return ((tb_world *)payload)->now;
}

/* Another context on the world's database, clock and a test provider of
 * its own, as a second process would have. */
static billing_ctx *open_again(tb_world *w)
{
	billing_test_provider_options po = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_ctx *ctx = NULL;
	tb_assert_rc(billing_test_provider_new(&o.provider, &po), BILLING_OK);
	o.clock = world_clock;
	o.clock_payload = w;
	tb_assert_rc(billing_ctx_open_url(&ctx, w->url, &o), BILLING_OK);
	return ctx;
}

static void *run_thread(void *arg)
{
	runner *r = arg;
	pthread_barrier_wait(r->go);
	r->rc = billing_run_due(r->ctx, 0, NULL, &r->rep);
	return NULL;
}

/* Two runs at once after the delay: every draft is finalized once, the
 * numbers follow on without a gap, each invoice is charged once. */
static void renewal_draft__two_concurrent_runs_finalize_each_once_numbers_gapless(void **state)
{
	enum { SUBS = 12 };
	fx *f = *state;
	billing_subscription *subs[SUBS];
	pthread_barrier_t go;
	pthread_t th[2];
	runner r[2];
	tbb_invoice *inv = NULL;
	int64_t paid, finalized;
	size_t i, n;
	int k;

	begin(f, HOUR);
	for (i = 0; i < SUBS; i++)
		subs[i] = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(f->plan), 1);
	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 30);
	tbb_run(f->w);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM invoices WHERE status = 1"),
		SUBS);

	paid = tb_raw_count(f->w->url, "SELECT count(*) FROM payments");
	finalized = tb_raw_count(f->w->url, "SELECT count(*) FROM events WHERE type = "
		"'invoice.finalized'");
	f->w->now = tbb_ts(2025, 2, 1, 1, 1, 0);
	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	for (k = 0; k < 2; k++) {
		r[k].ctx = open_again(f->w);
		r[k].go = &go;
		assert_int_equal(pthread_create(&th[k], NULL, run_thread, &r[k]), 0);
	}
	for (k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	for (k = 0; k < 2; k++) {
		tb_assert_rc(r[k].rc, BILLING_OK);
		assert_int_equal(r[k].rep.failed, 0);
		billing_ctx_close(r[k].ctx);
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM invoices WHERE status = 1"),
		0);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM events WHERE type = "
		"'invoice.finalized'"), finalized + SUBS);
	/* one payment per renewal, none twice */
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM payments"), paid + SUBS);
	n = tbb_invoices(f->w, f->t, NULL, &inv);
	assert_int_equal(n, 2 * SUBS);
	if (inv == NULL)
		abort();
	tbb_assert_numbers_gapless(inv, n);
	for (i = 0; i < n; i++)
		assert_int_equal(inv[i].status, BILLING_INVOICE_PAID);
	free(inv);
	assert_check_clean(f);
	for (i = 0; i < SUBS; i++)
		billing_subscription_free(subs[i]);
}

/* Items waiting for the subscription's next invoice land on the renewal's
 * draft and are billed when it is finalized; removing one from the draft
 * before then takes it off. The delay of 0 (default) finalizes at once. */
static void renewal_draft__waiting_items_land_on_it_and_can_be_removed(void **state)
{
	fx *f = *state;
	billing_subscription *s, *now;
	billing_invoice *inv;
	char in[512], *out = NULL, draft_id[64], item_id[64];
	cJSON *j;

	begin(f, HOUR);
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(f->plan), 1);
	f->w->now = tbb_ts(2025, 1, 15, 0, 0, 0);
	snprintf(in, sizeof(in), "{\"customerId\":\"%s\",\"subscriptionId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Setup fee\",\"amount\":5000}", f->cus_id,
		billing_subscription_id(s));
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "invoice_items.create", in,
		strlen(in), NULL), BILLING_OK);
	j = cJSON_Parse(out);
	assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
	snprintf(item_id, sizeof(item_id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
	cJSON_Delete(j);
	billing_free(out);

	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 30);
	tbb_run(f->w);
	now = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	snprintf(draft_id, sizeof(draft_id), "%s", billing_subscription_latest_invoice_id(now));
	billing_subscription_free(now);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_DRAFT);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	assert_int_equal(billing_invoice_total(inv), 7900);
	billing_invoice_free(inv);

	snprintf(in, sizeof(in), "{\"id\":\"%s\"}", item_id);
	out = NULL;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "invoice_items.delete", in,
		strlen(in), NULL), BILLING_OK);
	billing_free(out);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_string_equal(billing_invoice_line_at(inv, 0)->plan_id, billing_plan_id(f->plan));
	assert_int_equal(billing_invoice_total(inv), 2900);
	billing_invoice_free(inv);

	f->w->now = tbb_ts(2025, 2, 1, 1, 0, 30);
	tbb_run(f->w);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	assert_int_equal(billing_invoice_amount_paid(inv), 2900);
	billing_invoice_free(inv);
	assert_check_clean(f);
	billing_subscription_free(s);
}

/* Canceled now with prorations while the renewal is still a draft (issue
 * #20): nothing of the period was charged, so nothing is credited. The
 * draft's plan line gives way to the charge for the used time, prorated by
 * the plan's rule (2900 x 10 of February's 28 days = 1035.71 -> 1036), the
 * item on it stays, no credit invoice is issued and the balance does not
 * move; the run finalizes the draft after the delay and charges 2536. */
static void cancel_prorated_while_renewal_is_a_draft__bills_the_used_time_credits_nothing(
	void **state)
{
	fx *f = *state;
	billing_subscription *s, *now, *c = NULL;
	billing_invoice *inv;
	const billing_invoice_line *l;
	char draft_id[64];

	begin(f, 20 * 86400);
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(f->plan), 1);
	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 0);
	tbb_run(f->w);
	now = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	snprintf(draft_id, sizeof(draft_id), "%s", billing_subscription_latest_invoice_id(now));
	billing_subscription_free(now);
	f->w->now = tbb_ts(2025, 2, 5, 0, 0, 0);
	item_on(f, draft_id, 1500);

	f->w->now = tbb_ts(2025, 2, 11, 0, 0, 0);
	tb_assert_rc(billing_subscription_cancel(&c, f->w->ctx, &f->admin,
		billing_subscription_id(s), BILLING_CANCEL_PRORATE, NULL), BILLING_OK);
	assert_int_equal(billing_subscription_status_of(c), BILLING_SUB_CANCELED);
	assert_string_equal(billing_subscription_latest_invoice_id(c), draft_id);
	billing_subscription_free(c);
	/* no credit invoice, no balance transaction */
	assert_int_equal(count(f, "SELECT count(*) FROM invoices WHERE subscription_id = ",
		billing_subscription_id(s), ""), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM customer_balance_transactions WHERE "
		"customer_id = ", f->cus_id, ""), 0);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_DRAFT);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	l = billing_invoice_line_at(inv, 0);
	assert_string_equal(l->plan_id, billing_plan_id(f->plan));
	assert_non_null(l->subscription_item_id);
	assert_int_equal(l->amount, 1036);
	assert_int_equal(l->proration, 1);
	tbb_assert_time(l->period_start, tbb_ts(2025, 2, 1, 0, 0, 0));
	tbb_assert_time(l->period_end, tbb_ts(2025, 2, 11, 0, 0, 0));
	l = billing_invoice_line_at(inv, 1);
	assert_null(l->plan_id);
	assert_int_equal(l->amount, 1500);
	assert_int_equal(billing_invoice_subtotal(inv), 2536);
	assert_int_equal(billing_invoice_total(inv), 2536);
	billing_invoice_free(inv);
	assert_check_clean(f);

	/* the run finalizes it once the delay is over and charges it */
	f->w->now = tbb_ts(2025, 2, 21, 0, 0, 30);
	tbb_run(f->w);
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	assert_string_equal(billing_invoice_number(inv), "INV-000002");
	assert_int_equal(billing_invoice_starting_balance(inv), 0);
	assert_int_equal(billing_invoice_amount_paid(inv), 2536);
	billing_invoice_free(inv);
	assert_int_equal(count(f, "SELECT count(*) FROM customer_balance_transactions WHERE "
		"customer_id = ", f->cus_id, ""), 0);
	assert_check_clean(f);
	billing_subscription_free(s);
}

/* The same cancellation once the draft is finalized (and paid): the
 * period was charged, so its unused part is credited on an invoice of its
 * own, as without drafts (2900 x 18/28 = 1864.29 -> -1864 on the balance). */
static void cancel_prorated_after_the_draft_is_finalized__credits_the_unused_time(void **state)
{
	fx *f = *state;
	billing_subscription *s, *now, *c = NULL;
	billing_invoice *inv, *done = NULL;
	char draft_id[64];

	begin(f, 20 * 86400);
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(f->plan), 1);
	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 0);
	tbb_run(f->w);
	now = tbb_sub_get(f->w, f->t, billing_subscription_id(s));
	snprintf(draft_id, sizeof(draft_id), "%s", billing_subscription_latest_invoice_id(now));
	billing_subscription_free(now);
	f->w->now = tbb_ts(2025, 2, 2, 0, 0, 0);
	tb_assert_rc(billing_invoice_finalize(&done, f->w->ctx, &f->admin, draft_id, NULL),
		BILLING_OK);
	billing_invoice_free(done);
	tbb_run(f->w);                  /* its collection */
	inv = invoice(f, draft_id);
	assert_int_equal(billing_invoice_amount_paid(inv), 2900);
	billing_invoice_free(inv);

	f->w->now = tbb_ts(2025, 2, 11, 0, 0, 0);
	tb_assert_rc(billing_subscription_cancel(&c, f->w->ctx, &f->admin,
		billing_subscription_id(s), BILLING_CANCEL_PRORATE, NULL), BILLING_OK);
	assert_string_not_equal(billing_subscription_latest_invoice_id(c), draft_id);
	inv = invoice(f, billing_subscription_latest_invoice_id(c));
	assert_int_equal(billing_invoice_total(inv), -1864);
	assert_int_equal(billing_invoice_ending_balance(inv), -1864);
	billing_invoice_free(inv);
	billing_subscription_free(c);
	assert_int_equal(count(f, "SELECT count(*) FROM invoices WHERE subscription_id = ",
		billing_subscription_id(s), ""), 3);
	assert_check_clean(f);
	billing_subscription_free(s);
}

static void renewal_draft__delay_zero_finalizes_at_once(void **state)
{
	fx *f = *state;
	billing_subscription *s;
	tbb_invoice *inv = NULL;
	size_t n;

	begin(f, 0);
	s = tbb_subscribe(f->w, f->t, f->cus_id, billing_plan_id(f->plan), 1);
	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 30);
	tbb_run(f->w);
	n = tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv);
	assert_int_equal(n, 2);
	if (inv == NULL)
		abort();
	assert_string_equal(inv[1].number, "INV-000002");
	assert_int_equal(inv[1].status, BILLING_INVOICE_PAID);
	free(inv);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM due_work WHERE kind = "
		"'invoice_draft'"), 0);
	billing_subscription_free(s);
}

/* The setting is checked (0 to 30 days) and bad input makes no tenant; an
 * older params struct (version 2) has no delay. */
static void tenant_renewal_draft_delay__checked_and_versioned(void **state)
{
	fx *f = *state;
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	billing_principal op = tb_platform();
	billing_tenant *t = NULL;
	const billing_error *e;

	p.name = "Bad";
	p.renewal_draft_delay = -1;
	assert_int_equal(billing_tenant_create(&t, f->w->ctx, &op, &p, NULL), BILLING_EINVALID);
	e = billing_error_last();
	assert_true(e->field_error_count >= 1);
	assert_string_equal(e->field_errors[0].field, "renewalDraftDelay");
	p.renewal_draft_delay = 30 * 86400 + 1;
	assert_int_equal(billing_tenant_create(&t, f->w->ctx, &op, &p, NULL), BILLING_EINVALID);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM tenants"), 0);

	p.version = 2;  /* the field is past the end of a version 2 struct */
	tb_assert_rc(billing_tenant_create(&t, f->w->ctx, &op, &p, NULL), BILLING_OK);
	assert_int_equal(billing_tenant_renewal_draft_delay(t), 0);
	billing_tenant_free(t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(renewal_draft__stays_a_draft_for_the_delay_then_the_run_finalizes_it_once),
		T(renewal_draft__finalized_by_hand_first_the_run_leaves_it),
		T(renewal_draft__two_concurrent_runs_finalize_each_once_numbers_gapless),
		T(renewal_draft__waiting_items_land_on_it_and_can_be_removed),
		T(renewal_draft__delay_zero_finalizes_at_once),
		T(cancel_prorated_while_renewal_is_a_draft__bills_the_used_time_credits_nothing),
		T(cancel_prorated_after_the_draft_is_finalized__credits_the_unused_time),
		T(tenant_renewal_draft_delay__checked_and_versioned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
