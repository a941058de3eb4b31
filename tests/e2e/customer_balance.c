/*
 * Customer balances (billing/customer_balance.h, issue #20 items 1 and 3)
 * on a simulated clock: a prorated cancel-now credit goes to the balance
 * and pays the customer's next invoice (the case: charged 0, the
 * balance back to 0); a partly covered invoice collects only what is left;
 * the preview of the next invoice shows the invoice items waiting for it
 * and applies the balance as finalizing will; manual adjustments and what
 * they refuse; a voided invoice gives back
 * what it took; concurrent adjustments lose none; and a property test over
 * random histories of charges, credits and adjustments: billing_check
 * finds nothing (every balance is the sum of its transactions), no amount
 * due is negative, and money is conserved.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "tb.h"
#include "tb_billing.h"
#include "core/subscription_internal.h"

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char cus[64];
} fx;

static int setup_with(void **state, const char *method)
{
	billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_provider *p = NULL;
	billing_customer *c;
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tb_assert_rc(billing_test_provider_new(&p, &o), BILLING_OK);
	f->w = tb_world_new_with_provider(p);
	f->w->now = tbb_ts(2025, 1, 1, 0, 0, 0);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ .default_payment_method = method });
	snprintf(f->cus, sizeof(f->cus), "%s", billing_customer_id(c));
	billing_customer_free(c);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, "pm_card_visa");
}

static int teardown(void **state)
{
	fx *f = *state;
	tb_world_free(f->w);
	free(f);
	return 0;
}

static const char *plan(fx *f, int64_t amount, char out[64])
{
	billing_plan *p = tb_plan(f->w, f->t, &(tb_plan_spec){ .amount = amount });
	snprintf(out, 64, "%s", billing_plan_id(p));
	billing_plan_free(p);
	return out;
}

/* The customer's balance in currency, as the customer shows it (0: none). */
static int64_t balance(fx *f, const char *currency)
{
	billing_customer *c = NULL;
	cJSON *obj, *v;
	int64_t n = 0;
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, f->cus), BILLING_OK);
	obj = cJSON_Parse(billing_customer_balances_json(c));
	assert_true(cJSON_IsObject(obj));
	v = cJSON_GetObjectItemCaseSensitive(obj, currency);
	if (v) {
		assert_true(cJSON_IsNumber(v));
		n = (int64_t)v->valuedouble;
	}
	cJSON_Delete(obj);
	billing_customer_free(c);
	return n;
}

static int64_t problems(fx *f)
{
	int64_t n = -1;
	tb_assert_rc(billing_check(f->w->ctx, NULL, NULL, &n), BILLING_OK);
	return n;
}

/* The customer's transactions, oldest first: types and amounts. */
static size_t txns(fx *f, int *types, int64_t *amounts, int64_t *endings, size_t cap)
{
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	size_t i, n;

	lp.limit = 100;
	lp.order = BILLING_ORDER_ASC;
	tb_assert_rc(billing_customer_balance_transaction_list(&page, f->w->ctx, &f->admin, f->cus,
		&lp), BILLING_OK);
	n = billing_page_count(page);
	for (i = 0; i < n && i < cap; i++) {
		const billing_balance_transaction *t = billing_page_balance_transaction(page, i);
		assert_string_equal(billing_balance_transaction_customer_id(t), f->cus);
		types[i] = (int)billing_balance_transaction_type_of(t);
		amounts[i] = billing_balance_transaction_amount(t);
		endings[i] = billing_balance_transaction_ending_balance(t);
	}
	billing_page_free(page);
	return n;
}

static billing_balance_transaction *adjust(fx *f, int64_t amount, const char *currency,
	int want)
{
	billing_balance_adjustment_params p = BILLING_BALANCE_ADJUSTMENT_PARAMS_INIT;
	billing_balance_transaction *t = NULL;
	p.customer_id = f->cus;
	p.amount = amount;
	p.currency = currency;
	p.description = "Goodwill";
	tb_assert_rc(billing_customer_balance_adjust(&t, f->w->ctx, &f->admin, &p, NULL), want);
	return t;
}

static void cancel_prorated(fx *f, const char *sub_id)
{
	billing_subscription *c = NULL;
	tb_assert_rc(billing_subscription_cancel(&c, f->w->ctx, &f->admin, sub_id,
		BILLING_CANCEL_PRORATE, NULL), BILLING_OK);
	billing_subscription_free(c);
}

/* ------------------------------------------------------------ the case */

/* Cancel now with prorate makes a negative invoice: not "paid negative" but
 * its credit on the balance, which then pays the customer's next invoice:
 * charged 0, the balance back to 0. */
static void cancel_with_credit__next_invoice_charged_0_and_balance_back_to_0(void **state)
{
	fx *f = *state;
	char a[64], b[64];
	billing_subscription *s, *s2;
	tbb_invoice *inv = NULL;
	int types[8];
	int64_t amounts[8], endings[8];

	s = tbb_subscribe(f->w, f->t, f->cus, plan(f, 3100, a), 1);
	f->w->now = tbb_ts(2025, 1, 11, 0, 0, 0);          /* 21 of 31 days unused */
	cancel_prorated(f, billing_subscription_id(s));
	assert_int_equal(tbb_invoices(f->w, f->t, billing_subscription_id(s), &inv), 2);
	assert_int_equal(inv[1].total, -2100);
	assert_int_equal(inv[1].amount_due, 0);
	assert_int_equal(inv[1].amount_paid, 0);
	assert_int_equal(inv[1].status, BILLING_INVOICE_PAID);
	free(inv);
	inv = NULL;
	assert_int_equal(balance(f, "EUR"), -2100);

	/* The next invoice (a new subscription of 2100) is covered in full. */
	s2 = tbb_subscribe(f->w, f->t, f->cus, plan(f, 2100, b), 1);
	assert_int_equal(tbb_invoices(f->w, f->t, billing_subscription_id(s2), &inv), 1);
	assert_int_equal(inv[0].total, 2100);
	assert_int_equal(inv[0].amount_due, 0);
	assert_int_equal(inv[0].amount_paid, 0);
	assert_int_equal(inv[0].status, BILLING_INVOICE_PAID);
	free(inv);
	inv = NULL;
	assert_int_equal(balance(f, "EUR"), 0);
	assert_int_equal(billing_subscription_status_of(s2), BILLING_SUB_ACTIVE);

	/* The renewal is charged in full: nothing is left on the balance. */
	f->w->now = tbb_ts(2025, 2, 11, 0, 0, 0);
	(void)tbb_run(f->w);
	assert_int_equal(tbb_invoices(f->w, f->t, billing_subscription_id(s2), &inv), 2);
	assert_int_equal(inv[1].total, 2100);
	assert_int_equal(inv[1].amount_due, 0);
	assert_int_equal(inv[1].amount_paid, 2100);
	assert_int_equal(inv[1].status, BILLING_INVOICE_PAID);
	free(inv);

	assert_int_equal(txns(f, types, amounts, endings, 8), 2);
	assert_int_equal(types[0], BILLING_BALANCE_APPLIED_TO_INVOICE);
	assert_int_equal(amounts[0], -2100);
	assert_int_equal(endings[0], -2100);
	assert_int_equal(types[1], BILLING_BALANCE_APPLIED_TO_INVOICE);
	assert_int_equal(amounts[1], 2100);
	assert_int_equal(endings[1], 0);
	assert_int_equal(problems(f), 0);
	billing_subscription_free(s2);
	billing_subscription_free(s);
}

/* A credit smaller than the next invoice: only the rest is collected. */
static void credit_smaller_than_the_invoice__only_the_rest_is_collected(void **state)
{
	fx *f = *state;
	char a[64];
	billing_subscription *s;
	billing_invoice *inv = NULL;
	billing_balance_transaction *t;

	t = adjust(f, -1000, "EUR", BILLING_OK);
	assert_int_equal(billing_balance_transaction_type_of(t), BILLING_BALANCE_ADJUSTMENT);
	assert_int_equal(billing_balance_transaction_ending_balance(t), -1000);
	assert_string_equal(billing_balance_transaction_description(t), "Goodwill");
	billing_balance_transaction_free(t);
	s = tbb_subscribe(f->w, f->t, f->cus, plan(f, 3100, a), 1);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	assert_int_equal(billing_invoice_total(inv), 3100);
	assert_int_equal(billing_invoice_starting_balance(inv), -1000);
	assert_int_equal(billing_invoice_ending_balance(inv), 0);
	assert_int_equal(billing_invoice_amount_paid(inv), 2100);
	assert_int_equal(billing_invoice_amount_due(inv), 0);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	billing_invoice_free(inv);
	assert_int_equal(balance(f, "EUR"), 0);
	assert_int_equal(problems(f), 0);
	billing_subscription_free(s);
}

/* A positive balance (owed by the customer) is added to the next invoice. */
static void debit_balance__added_to_the_next_invoice(void **state)
{
	fx *f = *state;
	char a[64];
	billing_subscription *s;
	billing_invoice *inv = NULL;

	billing_balance_transaction_free(adjust(f, 500, "EUR", BILLING_OK));
	billing_balance_transaction_free(adjust(f, 250, "USD", BILLING_OK));
	s = tbb_subscribe(f->w, f->t, f->cus, plan(f, 3100, a), 1);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	assert_int_equal(billing_invoice_starting_balance(inv), 500);
	assert_int_equal(billing_invoice_ending_balance(inv), 0);
	assert_int_equal(billing_invoice_amount_paid(inv), 3600);
	billing_invoice_free(inv);
	/* Another currency's balance is not touched by a EUR invoice. */
	assert_int_equal(balance(f, "EUR"), 0);
	assert_int_equal(balance(f, "USD"), 250);
	assert_int_equal(problems(f), 0);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ the preview */

static billing_invoice *preview(fx *f, const char *sub_id)
{
	billing_invoice *inv = NULL;
	tb_assert_rc(billing_invoice_preview(&inv, f->w->ctx, &f->admin, sub_id), BILLING_OK);
	return inv;
}

static void sub_item(fx *f, const char *sub_id, const char *description, int64_t amount)
{
	billing_invoice_item_params p = BILLING_INVOICE_ITEM_PARAMS_INIT;
	billing_invoice_item *it = NULL;
	p.customer_id = f->cus;
	p.subscription_id = sub_id;
	p.currency = "EUR";
	p.description = description;
	p.amount = amount;
	tb_assert_rc(billing_invoice_item_create(&it, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	billing_invoice_item_free(it);
}

/* Each line and sum of a preview equal the invoice the renewal then
 * issued, and the balance applied the same way. */
static void assert_same_invoice(const billing_invoice *pv, const billing_invoice *inv)
{
	size_t i;
	assert_int_equal(billing_invoice_line_count(pv), billing_invoice_line_count(inv));
	for (i = 0; i < billing_invoice_line_count(pv); i++) {
		const billing_invoice_line *a = billing_invoice_line_at(pv, i);
		const billing_invoice_line *b = billing_invoice_line_at(inv, i);
		assert_string_equal(a->description, b->description);
		assert_int_equal(a->amount, b->amount);
		assert_int_equal(a->quantity, b->quantity);
		assert_int_equal(a->unit_amount, b->unit_amount);
		assert_int_equal(a->period_start, b->period_start);
		assert_int_equal(a->period_end, b->period_end);
	}
	assert_int_equal(billing_invoice_total(pv), billing_invoice_total(inv));
	assert_int_equal(billing_invoice_starting_balance(pv), billing_invoice_starting_balance(inv));
	assert_int_equal(billing_invoice_ending_balance(pv), billing_invoice_ending_balance(inv));
}

/* The preview of the next invoice shows the invoice items waiting for it
 * (one line each) and applies the customer's balance as finalizing will:
 * a credit of 1000 on 3100 + 500 leaves 2600 due; the renewal then issues
 * exactly that. Nothing is written by the preview. */
static void preview__shows_waiting_items_and_applies_the_balance(void **state)
{
	fx *f = *state;
	char a[64];
	billing_subscription *s;
	billing_invoice *pv, *inv = NULL;
	const billing_invoice_line *l;
	char sub[64];
	int64_t txn_rows;

	s = tbb_subscribe(f->w, f->t, f->cus, plan(f, 3100, a), 1);
	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	f->w->now = tbb_ts(2025, 1, 10, 0, 0, 0);
	sub_item(f, sub, "Setup fee", 500);
	billing_balance_transaction_free(adjust(f, -1000, "EUR", BILLING_OK));
	txn_rows = tb_raw_count(f->w->url, "SELECT count(*) FROM customer_balance_transactions");

	pv = preview(f, sub);
	assert_null(billing_invoice_id(pv));
	assert_int_equal(billing_invoice_line_count(pv), 2);
	l = billing_invoice_line_at(pv, 0);
	assert_string_equal(l->plan_id, a);
	assert_int_equal(l->amount, 3100);
	assert_int_equal(l->period_start, tbb_ts(2025, 2, 1, 0, 0, 0));
	l = billing_invoice_line_at(pv, 1);
	assert_string_equal(l->description, "Setup fee");
	assert_null(l->plan_id);
	assert_int_equal(l->amount, 500);
	assert_int_equal(billing_invoice_total(pv), 3600);
	assert_int_equal(billing_invoice_starting_balance(pv), -1000);
	assert_int_equal(billing_invoice_ending_balance(pv), 0);
	assert_int_equal(billing_invoice_amount_due(pv), 2600);
	/* a preview moves no balance and takes no item */
	assert_int_equal(balance(f, "EUR"), -1000);
	assert_int_equal(tb_raw_count(f->w->url,
		"SELECT count(*) FROM customer_balance_transactions"), txn_rows);
	assert_int_equal(tb_raw_count(f->w->url,
		"SELECT count(*) FROM invoice_items WHERE invoice_id IS NULL"), 1);

	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 0);
	(void)tbb_run(f->w);
	billing_subscription_free(s);
	s = tbb_sub_get(f->w, f->t, sub);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	assert_same_invoice(pv, inv);
	assert_int_equal(billing_invoice_amount_paid(inv), 2600);
	billing_invoice_free(inv);
	billing_invoice_free(pv);
	assert_int_equal(balance(f, "EUR"), 0);
	billing_subscription_free(s);
}

/* A credit larger than the next invoice: the preview's amount due is 0 and
 * what is left stays on the balance (endingBalance); a balance in another
 * currency is not applied. */
static void preview__a_larger_credit_leaves_the_rest_on_the_balance(void **state)
{
	fx *f = *state;
	char a[64];
	billing_subscription *s;
	billing_invoice *pv, *inv = NULL;
	char sub[64];

	s = tbb_subscribe(f->w, f->t, f->cus, plan(f, 3100, a), 1);
	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_balance_transaction_free(adjust(f, -5000, "EUR", BILLING_OK));
	billing_balance_transaction_free(adjust(f, -700, "USD", BILLING_OK));
	pv = preview(f, sub);
	assert_int_equal(billing_invoice_line_count(pv), 1);
	assert_int_equal(billing_invoice_total(pv), 3100);
	assert_int_equal(billing_invoice_starting_balance(pv), -5000);
	assert_int_equal(billing_invoice_ending_balance(pv), -1900);
	assert_int_equal(billing_invoice_amount_due(pv), 0);

	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 0);
	(void)tbb_run(f->w);
	billing_subscription_free(s);
	s = tbb_sub_get(f->w, f->t, sub);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	assert_same_invoice(pv, inv);
	assert_int_equal(billing_invoice_amount_due(inv), 0);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	billing_invoice_free(inv);
	billing_invoice_free(pv);
	assert_int_equal(balance(f, "EUR"), -1900);
	assert_int_equal(balance(f, "USD"), -700);
	assert_int_equal(problems(f), 0);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ adjustments */

static void adjust__refuses_bad_input_and_changes_nothing(void **state)
{
	fx *f = *state;
	billing_balance_adjustment_params p = BILLING_BALANCE_ADJUSTMENT_PARAMS_INIT;
	billing_balance_transaction *t = NULL;
	billing_principal user = tb_user(f->t);
	int types[4];
	int64_t amounts[4], endings[4];

	billing_balance_transaction_free(adjust(f, 0, "EUR", BILLING_EINVALID));
	tb_assert_field("amount");
	billing_balance_transaction_free(adjust(f, 100, "XYZ", BILLING_EINVALID));
	tb_assert_field("currency");
	p.customer_id = f->cus;
	p.amount = 100;
	p.currency = "EUR";
	p.description = "   ";
	tb_assert_rc(billing_customer_balance_adjust(&t, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("description");
	p.description = NULL;
	tb_assert_rc(billing_customer_balance_adjust(&t, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("description");
	p.description = "x";
	p.customer_id = "cus_01jbzzzzzzzzzzzzzzzzzzzzzz";
	tb_assert_rc(billing_customer_balance_adjust(&t, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("customerId");
	p.customer_id = f->cus;
	tb_assert_rc(billing_customer_balance_adjust(&t, f->w->ctx, &user, &p, NULL),
		BILLING_EFORBIDDEN);
	p.amount = INT64_MAX;
	billing_balance_transaction_free(adjust(f, 1, "EUR", BILLING_OK));
	tb_assert_rc(billing_customer_balance_adjust(&t, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EOVERFLOW);
	assert_null(t);
	assert_int_equal(balance(f, "EUR"), 1);
	assert_int_equal(txns(f, types, amounts, endings, 4), 1);
	assert_int_equal(problems(f), 0);
}

static void adjust__replayed_with_its_idempotency_key_moves_the_balance_once(void **state)
{
	fx *f = *state;
	billing_balance_adjustment_params p = BILLING_BALANCE_ADJUSTMENT_PARAMS_INIT;
	billing_call_options o = BILLING_CALL_OPTIONS_INIT;
	billing_balance_transaction *t1 = NULL, *t2 = NULL;

	p.customer_id = f->cus;
	p.amount = -700;
	p.currency = "EUR";
	p.description = "Refund as credit";
	o.idempotency_key = "adj-1";
	tb_assert_rc(billing_customer_balance_adjust(&t1, f->w->ctx, &f->admin, &p, &o),
		BILLING_OK);
	tb_assert_rc(billing_customer_balance_adjust(&t2, f->w->ctx, &f->admin, &p, &o),
		BILLING_OK);
	assert_string_equal(billing_balance_transaction_id(t1), billing_balance_transaction_id(t2));
	assert_int_equal(balance(f, "EUR"), -700);
	p.amount = -701;
	billing_balance_transaction_free(t2);
	t2 = NULL;
	tb_assert_rc(billing_customer_balance_adjust(&t2, f->w->ctx, &f->admin, &p, &o),
		BILLING_ECONFLICT);
	assert_int_equal(balance(f, "EUR"), -700);
	billing_balance_transaction_free(t1);
	billing_balance_transaction_free(t2);
}

/* ------------------------------------------------------------ void */

/* Voiding an invoice that took credit gives the credit back. */
static int setup_no_card(void **state)
{
	return setup_with(state, NULL);
}

static void void_invoice__gives_back_the_credit_it_took(void **state)
{
	fx *f = *state;
	char a[64];
	billing_subscription *s;
	billing_invoice *inv = NULL, *v = NULL;
	int types[8];
	int64_t amounts[8], endings[8];

	billing_balance_transaction_free(adjust(f, -1000, "EUR", BILLING_OK));
	s = tbb_subscribe(f->w, f->t, f->cus, plan(f, 3100, a), 1);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PENDING);
	assert_int_equal(billing_invoice_amount_due(inv), 2100);
	assert_int_equal(balance(f, "EUR"), 0);
	tb_assert_rc(billing_invoice_void(&v, f->w->ctx, &f->admin, billing_invoice_id(inv), NULL),
		BILLING_OK);
	assert_int_equal(balance(f, "EUR"), -1000);
	assert_int_equal(txns(f, types, amounts, endings, 8), 3);
	assert_int_equal(types[2], BILLING_BALANCE_UNAPPLIED_FROM_INVOICE);
	assert_int_equal(amounts[2], -1000);
	assert_int_equal(endings[2], -1000);
	assert_int_equal(problems(f), 0);
	billing_invoice_free(v);
	billing_invoice_free(inv);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ pause */

/* A pause with prorations (the public C call, billing_subscription_pause_ext)
 * credits the paid, unused rest of the period; the resume's invoice takes
 * it, so no day is billed twice. Without it (the default), nothing is
 * credited, as before; always_invoice and an unknown version are refused
 * and change nothing. */
static void pause_with_prorations__credits_the_paid_days_the_resume_takes_them(void **state)
{
	fx *f = *state;
	char a[64];
	billing_subscription_pause_params pp = BILLING_SUBSCRIPTION_PAUSE_PARAMS_INIT;
	billing_subscription *s, *p = NULL, *r = NULL;
	billing_invoice *inv = NULL;
	int types[8] = { 0 };
	int64_t amounts[8] = { 0 }, endings[8] = { 0 };

	s = tbb_subscribe(f->w, f->t, f->cus, plan(f, 3100, a), 1);   /* Jan 1, paid */
	f->w->now = tbb_ts(2025, 1, 11, 0, 0, 0);                    /* 21 of 31 days left */
	pp.proration = BILLING_PRORATE_ALWAYS_INVOICE;
	assert_int_equal(billing_subscription_pause_ext(&p, f->w->ctx, &f->admin,
		billing_subscription_id(s), &pp, NULL), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field_errors[0].field, "prorationBehavior");
	pp.version = 9;
	pp.proration = BILLING_PRORATE_CREATE;
	assert_int_equal(billing_subscription_pause_ext(&p, f->w->ctx, &f->admin,
		billing_subscription_id(s), &pp, NULL), BILLING_EINVALID);
	assert_null(p);
	assert_int_equal(balance(f, "EUR"), 0);
	pp.version = BILLING_SUBSCRIPTION_PAUSE_PARAMS_VERSION;
	tb_assert_rc(billing_subscription_pause_ext(&p, f->w->ctx, &f->admin,
		billing_subscription_id(s), &pp, NULL), BILLING_OK);
	assert_int_equal(billing_subscription_status_of(p), BILLING_SUB_PAUSED);
	assert_int_equal(balance(f, "EUR"), -2100);
	assert_int_equal(txns(f, types, amounts, endings, 8), 1);
	assert_int_equal(types[0], BILLING_BALANCE_PRORATION_CREDIT);
	assert_int_equal(amounts[0], -2100);

	f->w->now = tbb_ts(2025, 1, 21, 0, 0, 0);
	tb_assert_rc(billing_subscription_resume(&r, f->w->ctx, &f->admin,
		billing_subscription_id(s), NULL), BILLING_OK);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(r)), BILLING_OK);
	assert_int_equal(billing_invoice_total(inv), 3100);
	assert_int_equal(billing_invoice_starting_balance(inv), -2100);
	assert_int_equal(billing_invoice_amount_paid(inv), 1000);
	assert_int_equal(balance(f, "EUR"), 0);
	assert_int_equal(problems(f), 0);
	billing_invoice_free(inv);
	billing_subscription_free(r);
	billing_subscription_free(p);
	p = r = NULL;

	/* Without prorations (params NULL: the default none): nothing credited. */
	f->w->now = tbb_ts(2025, 1, 25, 0, 0, 0);
	tb_assert_rc(billing_subscription_pause_ext(&p, f->w->ctx, &f->admin,
		billing_subscription_id(s), NULL, NULL), BILLING_OK);
	assert_int_equal(balance(f, "EUR"), 0);
	billing_subscription_free(p);
	billing_subscription_free(s);
}

/* Over the JSON layer: prorationBehavior none or create_prorations only. */
static void pause_json__refuses_an_unknown_proration_behavior(void **state)
{
	fx *f = *state;
	char a[64], in[256];
	char *out = NULL;
	billing_subscription *s = tbb_subscribe(f->w, f->t, f->cus, plan(f, 3100, a), 1);

	f->w->now = tbb_ts(2025, 1, 11, 0, 0, 0);
	snprintf(in, sizeof(in), "{\"id\":\"%s\",\"prorationBehavior\":\"always_invoice\"}",
		billing_subscription_id(s));
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "subscriptions.pause", in,
		strlen(in), NULL), BILLING_EINVALID);
	billing_free(out);
	out = NULL;
	snprintf(in, sizeof(in), "{\"id\":\"%s\",\"prorationBehavior\":\"create_prorations\"}",
		billing_subscription_id(s));
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "subscriptions.pause", in,
		strlen(in), NULL), BILLING_OK);
	billing_free(out);
	assert_int_equal(balance(f, "EUR"), -2100);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ billing_check */

struct drift {
	int drift;
	char resource[64];
};

static void on_problem(void *user_data, const billing_check_problem *p)
{
	struct drift *d = user_data;
	if (strcmp(p->kind, "balance_drift") == 0) {
		d->drift++;
		snprintf(d->resource, sizeof(d->resource), "%s", p->resource_id ? p->resource_id : "");
	}
}

/* A balance changed behind the library's back no longer equals the sum of
 * its transactions: billing_check says so, once, about the customer; so
 * does a transaction whose balance is gone, and balances that are not an
 * object. */
static void check__reports_a_balance_that_drifted_from_its_transactions(void **state)
{
	fx *f = *state;
	struct drift d = { 0, "" };
	char sql[256];
	int64_t n = 0;

	billing_balance_transaction_free(adjust(f, -300, "EUR", BILLING_OK));
	tb_assert_rc(billing_check(f->w->ctx, on_problem, &d, &n), BILLING_OK);
	assert_int_equal(d.drift, 0);
	snprintf(sql, sizeof(sql), "UPDATE customers SET balances = '{\"EUR\":-299}' WHERE id = '%s'",
		f->cus);
	tb_raw_exec(f->w->url, sql);
	tb_assert_rc(billing_check(f->w->ctx, on_problem, &d, &n), BILLING_OK);
	assert_int_equal(d.drift, 1);
	assert_string_equal(d.resource, f->cus);
	snprintf(sql, sizeof(sql), "UPDATE customers SET balances = '{}' WHERE id = '%s'", f->cus);
	tb_raw_exec(f->w->url, sql);
	d.drift = 0;
	tb_assert_rc(billing_check(f->w->ctx, on_problem, &d, &n), BILLING_OK);
	assert_int_equal(d.drift, 1);
	snprintf(sql, sizeof(sql), "UPDATE customers SET balances = '{\"EUR\":\"x\"}' WHERE id = '%s'",
		f->cus);
	tb_raw_exec(f->w->url, sql);
	d.drift = 0;
	tb_assert_rc(billing_check(f->w->ctx, on_problem, &d, &n), BILLING_OK);
	assert_true(d.drift >= 1);
}

/* ------------------------------------------------------------ concurrency */

#define THREADS 4
#define PER_THREAD 15

struct worker {
	fx *f;
	pthread_barrier_t *start;
	int failures;
};

static void *adjust_many(void *arg)
{
	struct worker *wk = arg;
	billing_balance_adjustment_params p = BILLING_BALANCE_ADJUSTMENT_PARAMS_INIT;
	int i;

	p.customer_id = wk->f->cus;
	p.amount = 3;
	p.currency = "EUR";
	p.description = "concurrent";
	pthread_barrier_wait(wk->start);
	for (i = 0; i < PER_THREAD; i++) {
		billing_balance_transaction *t = NULL;
		if (billing_customer_balance_adjust(&t, wk->f->w->ctx, &wk->f->admin, &p, NULL) < 0)
			wk->failures++;
		billing_balance_transaction_free(t);
	}
	return NULL;
}

/* Concurrent adjustments of one customer never lose one: the balance is
 * the sum of all of them and of the transactions written. */
static void concurrent_adjustments__none_is_lost(void **state)
{
	fx *f = *state;
	pthread_t th[THREADS];
	struct worker wk[THREADS];
	pthread_barrier_t start;
	int types[THREADS * PER_THREAD];
	int64_t amounts[THREADS * PER_THREAD], endings[THREADS * PER_THREAD];
	size_t i, n;
	int seen[THREADS * PER_THREAD + 1];

	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++) {
		wk[i] = (struct worker){ f, &start, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, adjust_many, &wk[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(wk[i].failures, 0);
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(balance(f, "EUR"), 3 * THREADS * PER_THREAD);
	n = txns(f, types, amounts, endings, THREADS * PER_THREAD);
	assert_int_equal(n, THREADS * PER_THREAD);
	/* Each transaction left a different balance: 3, 6, ... in some order. */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		assert_int_equal(endings[i] % 3, 0);
		assert_true(endings[i] >= 3 && endings[i] <= 3 * THREADS * PER_THREAD);
		assert_int_equal(seen[endings[i] / 3]++, 0);
	}
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ property */

/* Random histories: subscriptions to random plans, prorated cancels,
 * renewals, adjustments both ways. After each step billing_check finds
 * nothing; at the end no invoice has a negative amount due and money is
 * conserved: what was billed plus the adjustments equals what was
 * collected or is still due plus the balance left. */
static void random_histories__balances_never_drift_and_money_is_conserved(void **state)
{
	fx *f = *state;
	char plans[3][64], subs[16][64];
	size_t nsubs = 0, i, n;
	int64_t adjustments = 0, billed = 0, collected = 0;
	unsigned int seed = 20251206u;
	int step;

	plan(f, 1000, plans[0]);
	plan(f, 2900, plans[1]);
	plan(f, 4999, plans[2]);
	for (step = 0; step < 40; step++) {
		int what = rand_r(&seed) % 4;
		f->w->now += (int64_t)(rand_r(&seed) % (9 * 86400)) + 3600;
		if (what == 0 && nsubs < 16) {
			billing_subscription *s = tbb_subscribe(f->w, f->t, f->cus,
				plans[rand_r(&seed) % 3], 1 + (int32_t)(rand_r(&seed) % 2));
			snprintf(subs[nsubs++], 64, "%s", billing_subscription_id(s));
			billing_subscription_free(s);
		} else if (what == 1 && nsubs) {
			billing_subscription *c = NULL;
			int rc = billing_subscription_cancel(&c, f->w->ctx, &f->admin,
				subs[rand_r(&seed) % nsubs], BILLING_CANCEL_PRORATE, NULL);
			assert_true(rc == BILLING_OK || rc == BILLING_ECONFLICT);
			billing_subscription_free(c);
		} else if (what == 2) {
			int64_t amount = (int64_t)(rand_r(&seed) % 4000) - 2500;
			if (amount == 0)
				amount = 1;
			billing_balance_transaction_free(adjust(f, amount, "EUR", BILLING_OK));
			adjustments += amount;
		} else {
			(void)tbb_run(f->w);
		}
		assert_int_equal(problems(f), 0);
	}
	for (i = 0; i < nsubs; i++) {
		tbb_invoice *inv = NULL;
		size_t k;
		n = tbb_invoices(f->w, f->t, subs[i], &inv);
		for (k = 0; k < n; k++) {
			assert_true(inv[k].amount_due >= 0);
			if (inv[k].status == BILLING_INVOICE_VOID)
				continue;
			billed += inv[k].total;
			collected += inv[k].amount_paid + inv[k].amount_due;
		}
		free(inv);
	}
	assert_int_equal(billed + adjustments, collected + balance(f, "EUR"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			cancel_with_credit__next_invoice_charged_0_and_balance_back_to_0, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			credit_smaller_than_the_invoice__only_the_rest_is_collected, setup, teardown),
		cmocka_unit_test_setup_teardown(debit_balance__added_to_the_next_invoice, setup,
			teardown),
		cmocka_unit_test_setup_teardown(preview__shows_waiting_items_and_applies_the_balance,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			preview__a_larger_credit_leaves_the_rest_on_the_balance, setup, teardown),
		cmocka_unit_test_setup_teardown(adjust__refuses_bad_input_and_changes_nothing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			adjust__replayed_with_its_idempotency_key_moves_the_balance_once, setup,
			teardown),
		cmocka_unit_test_setup_teardown(void_invoice__gives_back_the_credit_it_took,
			setup_no_card, teardown),
		cmocka_unit_test_setup_teardown(
			pause_with_prorations__credits_the_paid_days_the_resume_takes_them, setup,
			teardown),
		cmocka_unit_test_setup_teardown(pause_json__refuses_an_unknown_proration_behavior,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			check__reports_a_balance_that_drifted_from_its_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_adjustments__none_is_lost, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			random_histories__balances_never_drift_and_money_is_conserved, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
