/*
 * Unit tests for payment.c's input checking: billing_invoice_pay,
 * billing_payment_list, billing_payment_refund and billing_dunning_set with
 * a bad value each (the code, the field, and that nothing was charged or
 * written), the limits at their boundaries, the list filters, and the
 * payment transition table against what payment.h promises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"

#define AMOUNT 2900

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char invoice_id[64];
} fx;

/* A tenant with the test provider and a pending invoice of AMOUNT (its
 * customer has no payment method: nothing is collected by itself). */
static int setup(void **state)
{
	billing_provider *p = NULL;
	billing_subscription *s;
	billing_customer *c;
	billing_plan *plan;
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	tb_assert_rc(billing_test_provider_new(&p, NULL), BILLING_OK);
	f->w = tb_world_new_with_provider(p);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	plan = tb_plan(f->w, f->t, &(tb_plan_spec){ .amount = AMOUNT });
	c = tb_customer(f->w, f->t, NULL);
	s = tbb_subscribe(f->w, f->t, billing_customer_id(c), billing_plan_id(plan), 1);
	snprintf(f->invoice_id, sizeof(f->invoice_id), "%s",
		billing_subscription_latest_invoice_id(s));
	billing_subscription_free(s);
	billing_customer_free(c);
	billing_plan_free(plan);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	tb_world_free(f->w);
	free(f);
	return 0;
}

static int64_t rows(fx *f, const char *table)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return tb_raw_count(f->w->url, sql);
}

static billing_invoice_status invoice_status(fx *f)
{
	billing_invoice *inv = NULL;
	billing_invoice_status st;
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, f->invoice_id), BILLING_OK);
	st = billing_invoice_status_of(inv);
	billing_invoice_free(inv);
	return st;
}

/* Asserts pay fails with want naming field, and that nothing was charged
 * or written. */
static void pay_refused(fx *f, const billing_pay_params *pp, int want, const char *field)
{
	billing_payment *p = (billing_payment *)1;
	int64_t payments = rows(f, "payments"), events = rows(f, "events");
	tb_assert_rc(billing_invoice_pay(&p, f->w->ctx, &f->admin, f->invoice_id, pp, NULL), want);
	assert_null(p);
	if (field)
		tb_assert_field(field);
	assert_int_equal(rows(f, "payments"), payments);
	assert_int_equal(rows(f, "events"), events);
	assert_int_equal(billing_test_provider_charge_count(f->w->provider), 0);
	assert_int_equal(invoice_status(f), BILLING_INVOICE_PENDING);
}

/* ------------------------------------------------------------ pay */

static void invoice_pay__bad_params_name_their_field_and_charge_nothing(void **state)
{
	fx *f = *state;
	billing_pay_params pp = BILLING_PAY_PARAMS_INIT;
	char method[300];

	pp.payment_method = "pm_card_visa";
	pp.version = 0;
	pay_refused(f, &pp, BILLING_EINVALID, "version");
	pp.version = BILLING_PAY_PARAMS_VERSION + 1;
	pay_refused(f, &pp, BILLING_EINVALID, "version");
	pp.version = BILLING_PAY_PARAMS_VERSION;

	pp.payment_method = "";
	pay_refused(f, &pp, BILLING_EINVALID, "paymentMethod");
	memset(method, 'x', 256);
	memcpy(method, "pm_", 3);
	method[256] = '\0';
	pp.payment_method = method;
	pay_refused(f, &pp, BILLING_EINVALID, "paymentMethod");
	pp.payment_method = "pm_card_visa";

	pp.amount = -1;
	pay_refused(f, &pp, BILLING_EINVALID, "amount");
	pp.amount = 0;

	/* An id that cannot name an invoice is not found. */
	{
		billing_payment *p = NULL;
		tb_assert_rc(billing_invoice_pay(&p, f->w->ctx, &f->admin, "sub_x", &pp, NULL),
			BILLING_ENOTFOUND);
		assert_null(p);
	}
}

static void invoice_pay__a_method_of_255_characters_is_accepted(void **state)
{
	fx *f = *state;
	billing_pay_params pp = BILLING_PAY_PARAMS_INIT;
	billing_payment *p = NULL;
	char method[256];

	memset(method, 'x', 255);
	memcpy(method, "pm_", 3);
	method[255] = '\0';
	pp.payment_method = method;
	tb_assert_rc(billing_invoice_pay(&p, f->w->ctx, &f->admin, f->invoice_id, &pp, NULL),
		BILLING_OK);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_SUCCEEDED);
	/* stored whole, read back from the database */
	{
		billing_payment *again = NULL;
		tb_assert_rc(billing_payment_get(&again, f->w->ctx, &f->admin, billing_payment_id(p)),
			BILLING_OK);
		assert_string_equal(billing_payment_method(again), method);
		billing_payment_free(again);
	}
	billing_payment_free(p);
	assert_int_equal(invoice_status(f), BILLING_INVOICE_PAID);
}

/* ------------------------------------------------------------ list */

static void payment_list__bad_filters_name_their_field(void **state)
{
	fx *f = *state;
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;

	lp.version = 0;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("version");
	lp.version = BILLING_PAYMENT_LIST_PARAMS_VERSION + 1;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("version");
	lp.version = BILLING_PAYMENT_LIST_PARAMS_VERSION;

	lp.status = (billing_payment_status)9;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("status");
	lp.status = 0;

	lp.invoice_id = "garbage";
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_EINVALID);
	tb_assert_field("invoiceId");
	tbb_assert_reason("resource_missing");
	assert_null(page);
}

static void payment_list__filters_by_invoice_and_status(void **state)
{
	fx *f = *state;
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_pay_params pp = BILLING_PAY_PARAMS_INIT;
	billing_payment *p = NULL;
	billing_page *page = NULL;
	char failed_id[64], paid_id[64];

	pp.payment_method = "pm_card_chargeDeclined";
	tb_assert_rc(billing_invoice_pay(&p, f->w->ctx, &f->admin, f->invoice_id, &pp, NULL),
		BILLING_EDECLINED);
	snprintf(failed_id, sizeof(failed_id), "%s", billing_payment_id(p));
	billing_payment_free(p);
	pp.payment_method = "pm_card_visa";
	tb_assert_rc(billing_invoice_pay(&p, f->w->ctx, &f->admin, f->invoice_id, &pp, NULL),
		BILLING_OK);
	snprintf(paid_id, sizeof(paid_id), "%s", billing_payment_id(p));
	billing_payment_free(p);

	lp.invoice_id = f->invoice_id;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 2);
	billing_page_free(page);

	lp.status = BILLING_PAYMENT_FAILED;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_payment_id(billing_page_payment(page, 0)), failed_id);
	billing_page_free(page);

	lp.status = BILLING_PAYMENT_SUCCEEDED;
	lp.invoice_id = NULL;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 1);
	assert_string_equal(billing_payment_id(billing_page_payment(page, 0)), paid_id);
	billing_page_free(page);

	lp.status = BILLING_PAYMENT_REFUNDED;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
}

/* ------------------------------------------------------------ refund */

static void payment_refund__negative_amount_or_unknown_id_change_nothing(void **state)
{
	fx *f = *state;
	billing_pay_params pp = BILLING_PAY_PARAMS_INIT;
	billing_payment *p = NULL, *q = (billing_payment *)1;
	char id[64];
	int64_t v;

	pp.payment_method = "pm_card_visa";
	tb_assert_rc(billing_invoice_pay(&p, f->w->ctx, &f->admin, f->invoice_id, &pp, NULL),
		BILLING_OK);
	snprintf(id, sizeof(id), "%s", billing_payment_id(p));
	v = billing_payment_version(p);
	billing_payment_free(p);

	tb_assert_rc(billing_payment_refund(&q, f->w->ctx, &f->admin, id, -1, NULL),
		BILLING_EINVALID);
	tb_assert_field("amount");
	assert_null(q);
	tb_assert_rc(billing_payment_refund(&q, f->w->ctx, &f->admin, "in_1", 0, NULL),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_payment_refund(&q, f->w->ctx, &f->admin,
		"pay_00000000000000000000000000", 0, NULL), BILLING_ENOTFOUND);
	{
		billing_principal user = tb_user(f->t);
		tb_assert_rc(billing_payment_refund(&q, f->w->ctx, &user, id, 0, NULL),
			BILLING_EFORBIDDEN);
	}
	tb_assert_rc(billing_payment_get(&p, f->w->ctx, &f->admin, id), BILLING_OK);
	assert_int_equal(billing_payment_status_of(p), BILLING_PAYMENT_SUCCEEDED);
	assert_int_equal(billing_payment_refunded_amount(p), 0);
	assert_int_equal(billing_payment_version(p), v);
	billing_payment_free(p);
	assert_int_equal(rows(f, "refunds"), 0);
}

/* ------------------------------------------------------------ dunning */

static void assert_default_policy(fx *f)
{
	billing_dunning_policy pol;
	static const int32_t want[] = { 1, 3, 5, 7 };
	size_t i;
	memset(&pol, 0xab, sizeof(pol));
	tb_assert_rc(billing_dunning_get(&pol, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(pol.retry_count, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(pol.retry_days[i], want[i]);
	assert_int_equal(pol.final_action, BILLING_DUNNING_CANCEL);
}

static void dunning_set__bad_policies_name_their_field_and_keep_the_default(void **state)
{
	fx *f = *state;
	billing_dunning_policy pol;
	billing_principal user = tb_user(f->t);
	size_t i;

	memset(&pol, 0, sizeof(pol));
	pol.final_action = BILLING_DUNNING_UNPAID;
	pol.retry_count = BILLING_DUNNING_MAX_RETRIES + 1;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &f->admin, &pol), BILLING_EINVALID);
	tb_assert_field("retryDays");

	pol.retry_count = 2;
	pol.retry_days[0] = 0;
	pol.retry_days[1] = 3;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &f->admin, &pol), BILLING_EINVALID);
	tb_assert_field("retryDays");
	pol.retry_days[0] = 2;
	pol.retry_days[1] = 366;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &f->admin, &pol), BILLING_EINVALID);
	tb_assert_field("retryDays");
	pol.retry_days[1] = 2;              /* not increasing */
	tb_assert_rc(billing_dunning_set(f->w->ctx, &f->admin, &pol), BILLING_EINVALID);
	tb_assert_field("retryDays");
	pol.retry_days[1] = 365;

	pol.final_action = (billing_dunning_action)0;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &f->admin, &pol), BILLING_EINVALID);
	tb_assert_field("finalAction");
	pol.final_action = (billing_dunning_action)4;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &f->admin, &pol), BILLING_EINVALID);
	tb_assert_field("finalAction");

	/* Both wrong: both named. */
	pol.retry_count = BILLING_DUNNING_MAX_RETRIES + 1;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &f->admin, &pol), BILLING_EINVALID);
	{
		const billing_error *e = billing_error_last();
		assert_int_equal(e->field_error_count, 2);
		assert_string_equal(e->field_errors[0].field, "retryDays");
		assert_string_equal(e->field_errors[1].field, "finalAction");
	}

	/* A valid policy, from a USER: forbidden. */
	pol.retry_count = 1;
	pol.final_action = BILLING_DUNNING_UNPAID;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &user, &pol), BILLING_EFORBIDDEN);

	assert_default_policy(f);

	/* The limits themselves are accepted: twelve retries, day 1 to day 365. */
	pol.retry_count = BILLING_DUNNING_MAX_RETRIES;
	for (i = 0; i < BILLING_DUNNING_MAX_RETRIES; i++)
		pol.retry_days[i] = (int32_t)(i + 1);
	pol.retry_days[BILLING_DUNNING_MAX_RETRIES - 1] = 365;
	pol.final_action = BILLING_DUNNING_KEEP_PAST_DUE;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &f->admin, &pol), BILLING_OK);
	memset(&pol, 0, sizeof(pol));
	tb_assert_rc(billing_dunning_get(&pol, f->w->ctx, &user), BILLING_OK);
	assert_int_equal(pol.retry_count, BILLING_DUNNING_MAX_RETRIES);
	assert_int_equal(pol.retry_days[0], 1);
	assert_int_equal(pol.retry_days[10], 11);
	assert_int_equal(pol.retry_days[11], 365);
	assert_int_equal(pol.final_action, BILLING_DUNNING_KEEP_PAST_DUE);

	/* No retries at all is a policy too. */
	pol.retry_count = 0;
	pol.final_action = BILLING_DUNNING_CANCEL;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &f->admin, &pol), BILLING_OK);
	memset(&pol, 0xab, sizeof(pol));
	tb_assert_rc(billing_dunning_get(&pol, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(pol.retry_count, 0);
	assert_int_equal(pol.final_action, BILLING_DUNNING_CANCEL);
}

static void dunning__policies_are_per_tenant(void **state)
{
	fx *f = *state;
	billing_dunning_policy pol;
	const char *other = tb_tenant(f->w, "Other");
	billing_principal them = tb_admin(other);

	memset(&pol, 0, sizeof(pol));
	pol.retry_count = 1;
	pol.retry_days[0] = 10;
	pol.final_action = BILLING_DUNNING_UNPAID;
	tb_assert_rc(billing_dunning_set(f->w->ctx, &them, &pol), BILLING_OK);
	assert_default_policy(f);
}

/* ------------------------------------------------------------ table */

static int has(const billing_payment_transition *t, size_t n, billing_payment_status from,
	billing_payment_status to)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (t[i].from == from && t[i].to == to)
			return 1;
	return 0;
}

static void payment_transitions__hold_what_payment_h_promises(void **state)
{
	const billing_payment_transition *t;
	size_t n = 0, i;
	billing_payment_status s, u;
	(void)state;

	t = billing_payment_transitions(&n);
	assert_non_null(t);
	assert_true(n > 0);
	assert_ptr_equal(billing_payment_transitions(NULL), t);
	for (i = 0; i < n; i++) {
		assert_non_null(billing_payment_status_name(t[i].from));
		assert_non_null(billing_payment_status_name(t[i].to));
		assert_non_null(t[i].why);
		assert_true(t[i].why[0] != '\0');
	}
	/* pending -> succeeded | failed | requires_action | unknown */
	assert_true(has(t, n, BILLING_PAYMENT_PENDING, BILLING_PAYMENT_SUCCEEDED));
	assert_true(has(t, n, BILLING_PAYMENT_PENDING, BILLING_PAYMENT_FAILED));
	assert_true(has(t, n, BILLING_PAYMENT_PENDING, BILLING_PAYMENT_REQUIRES_ACTION));
	assert_true(has(t, n, BILLING_PAYMENT_PENDING, BILLING_PAYMENT_UNKNOWN));
	/* requires_action and unknown resolve to succeeded, failed, pending */
	for (s = BILLING_PAYMENT_PENDING; s <= BILLING_PAYMENT_UNKNOWN; s++) {
		if (s != BILLING_PAYMENT_REQUIRES_ACTION && s != BILLING_PAYMENT_UNKNOWN)
			continue;
		assert_true(has(t, n, s, BILLING_PAYMENT_SUCCEEDED));
		assert_true(has(t, n, s, BILLING_PAYMENT_FAILED));
		assert_true(has(t, n, s, BILLING_PAYMENT_PENDING));
	}
	/* succeeded -> partially_refunded -> refunded */
	assert_true(has(t, n, BILLING_PAYMENT_SUCCEEDED, BILLING_PAYMENT_PARTIALLY_REFUNDED));
	assert_true(has(t, n, BILLING_PAYMENT_SUCCEEDED, BILLING_PAYMENT_REFUNDED));
	assert_true(has(t, n, BILLING_PAYMENT_PARTIALLY_REFUNDED, BILLING_PAYMENT_REFUNDED));
	/* Money never moves back: refunded is final, and a captured payment
	 * never becomes pending, failed or unknown again. */
	for (u = BILLING_PAYMENT_PENDING; u <= BILLING_PAYMENT_UNKNOWN; u++) {
		assert_false(has(t, n, BILLING_PAYMENT_REFUNDED, u));
		if (u != BILLING_PAYMENT_REFUNDED && u != BILLING_PAYMENT_PARTIALLY_REFUNDED) {
			assert_false(has(t, n, BILLING_PAYMENT_SUCCEEDED, u));
			assert_false(has(t, n, BILLING_PAYMENT_PARTIALLY_REFUNDED, u));
		}
	}
	/* Only an attempt awaiting action is canceled, and canceled is final. */
	assert_true(has(t, n, BILLING_PAYMENT_REQUIRES_ACTION, BILLING_PAYMENT_CANCELED));
	for (u = BILLING_PAYMENT_PENDING; u <= BILLING_PAYMENT_CANCELED; u++) {
		assert_false(has(t, n, BILLING_PAYMENT_CANCELED, u));
		if (u != BILLING_PAYMENT_REQUIRES_ACTION)
			assert_false(has(t, n, u, BILLING_PAYMENT_CANCELED));
	}
	/* Nothing goes back to unknown but a pending attempt. */
	for (s = BILLING_PAYMENT_PENDING; s <= BILLING_PAYMENT_UNKNOWN; s++)
		if (s != BILLING_PAYMENT_PENDING)
			assert_false(has(t, n, s, BILLING_PAYMENT_UNKNOWN));
}

static void payment_status_name__every_status_and_nothing_else(void **state)
{
	static const char *const want[] = { NULL, "pending", "requires_action", "succeeded",
		"failed", "refunded", "partially_refunded", "unknown", "canceled", NULL };
	int s;
	(void)state;
	for (s = 0; s <= 9; s++) {
		const char *got = billing_payment_status_name((billing_payment_status)s);
		if (want[s])
			assert_string_equal(got, want[s]);
		else
			assert_null(got);
	}
	assert_null(billing_payment_status_name((billing_payment_status)-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(invoice_pay__bad_params_name_their_field_and_charge_nothing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(invoice_pay__a_method_of_255_characters_is_accepted,
			setup, teardown),
		cmocka_unit_test_setup_teardown(payment_list__bad_filters_name_their_field,
			setup, teardown),
		cmocka_unit_test_setup_teardown(payment_list__filters_by_invoice_and_status,
			setup, teardown),
		cmocka_unit_test_setup_teardown(payment_refund__negative_amount_or_unknown_id_change_nothing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			dunning_set__bad_policies_name_their_field_and_keep_the_default, setup, teardown),
		cmocka_unit_test_setup_teardown(dunning__policies_are_per_tenant, setup, teardown),
		cmocka_unit_test(payment_transitions__hold_what_payment_h_promises),
		cmocka_unit_test(payment_status_name__every_status_and_nothing_else),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
