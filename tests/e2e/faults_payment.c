/*
 * Issue #26, the other explanation ruled out: can a crash leave a payment
 * captured and its invoice unpaid? The provider's answer and its effect on
 * the invoice are recorded in one transaction; this sweep fails every
 * storage statement (and the commit) after the provider answered, one
 * at a time, n = 1, 2, ... until the recording runs out of statements:
 *
 *  - right after the failure (what a crash there leaves in the database),
 *    billing_check finds nothing: no captured payment on an unpaid
 *    invoice, no paid invoice without its payment;
 *  - then, as a restarted process would, the billing run after the
 *    payment's lease asks the provider again with the same key: the
 *    invoice ends paid by its one captured payment, charged once.
 *
 * For the three ways a charge is made: paid by hand, collected when a
 * subscription is created, collected by the billing run at renewal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"
#include "billing/sys/provider.h"
#include "core/alloc.h"
#include "core/core.h"

/* ------------------------------------------------------------ the provider */

/* The test provider, arming the storage fault injector when it answers. */
typedef struct {
	billing_provider base;
	billing_provider *inner;
	long arm_at;                 /* > 0: fail the nth statement after the next answer */
	int armed;
	const char *tenant_id;       /* whose charges are counted */
	char keys[4][BILLING_ID_MAX];   /* distinct idempotency keys it charged */
	int nkeys;
} arming;

static void arm_now(arming *a)
{
	if (a->arm_at > 0) {
		billing__storage_fail_at(a->arm_at);
		a->arm_at = 0;
		a->armed = 1;
	}
}

static int a_charge(billing_provider *p, const billing_provider_charge *req, int64_t now,
	billing_provider_result *out)
{
	arming *a = (arming *)p;
	int i, rc = a->inner->charge(a->inner, req, now, out);
	if (!a->tenant_id || strcmp(req->tenant_id, a->tenant_id) != 0)
		return rc;              /* another try's tenant, collected by the same run */
	for (i = 0; i < a->nkeys && strcmp(a->keys[i], req->idempotency_key) != 0; i++)
		;
	if (i == a->nkeys && a->nkeys < 4)
		snprintf(a->keys[a->nkeys++], BILLING_ID_MAX, "%s", req->idempotency_key);
	arm_now(a);
	return rc;
}

static int a_retrieve(billing_provider *p, const char *ref, int64_t now,
	billing_provider_result *out)
{
	arming *a = (arming *)p;
	int rc = a->inner->retrieve(a->inner, ref, now, out);
	arm_now(a);
	return rc;
}

static void a_free(billing_provider *p)
{
	arming *a = (arming *)p;
	a->inner->free(a->inner);
	free(a);
}

static arming *arming_new(void)
{
	billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	arming *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	tb_assert_rc(billing_test_provider_new(&a->inner, &o), BILLING_OK);
	a->base = *a->inner;
	a->base.charge = a_charge;
	a->base.retrieve = a_retrieve;
	a->base.free = a_free;
	return a;
}

/* ------------------------------------------------------------ the world */

typedef struct {
	tb_world *w;
	arming *pv;
	const char *t;
	billing_principal admin;
	char plan_id[64];
	char customer_id[64];
	char invoice_id[64];        /* the invoice the try charges */
} fx;

static void report(void *user_data, const billing_check_problem *p)
{
	(void)user_data;
	print_error("check: %s %s: %s\n", p->kind, p->resource_id ? p->resource_id : "-",
		p->detail);
}

static void assert_consistent(fx *f)
{
	int64_t problems = -1;
	tb_assert_rc(billing__check_tenant(f->w->ctx, f->t, report, NULL, &problems), BILLING_OK);
	assert_int_equal(problems, 0);
}

/* A fresh tenant, a plan of two periods and a customer (with a card or
 * not): each try starts from nothing of the tries before. */
static void fresh_tenant(fx *f, const char *card)
{
	billing_plan *plan;
	billing_customer *c;
	f->t = tb_tenant(f->w, "Faults");
	f->admin = tb_admin(f->t);
	plan = tb_plan(f->w, f->t, &(tb_plan_spec){ .amount = 2900, .term_count = 2 });
	snprintf(f->plan_id, sizeof(f->plan_id), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ .default_payment_method = card });
	snprintf(f->customer_id, sizeof(f->customer_id), "%s", billing_customer_id(c));
	billing_customer_free(c);
}

static void subscribe(fx *f)
{
	billing_subscription *s = tbb_subscribe(f->w, f->t, f->customer_id, f->plan_id, 1);
	snprintf(f->invoice_id, sizeof(f->invoice_id), "%s",
		billing_subscription_latest_invoice_id(s));
	billing_subscription_free(s);
}

/* The invoice's status and its payments: how many, how many captured. */
static void invoice_state(fx *f, const char *invoice_id, int *status, size_t *payments,
	size_t *captured)
{
	billing_payment_list_params lp = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_invoice *inv = NULL;
	billing_page *page = NULL;
	size_t i;
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, invoice_id), BILLING_OK);
	*status = (int)billing_invoice_status_of(inv);
	billing_invoice_free(inv);
	lp.invoice_id = invoice_id;
	tb_assert_rc(billing_payment_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	*payments = billing_page_count(page);
	*captured = 0;
	for (i = 0; i < *payments; i++)
		if (billing_payment_status_of(billing_page_payment(page, i)) ==
		    BILLING_PAYMENT_SUCCEEDED)
			(*captured)++;
	billing_page_free(page);
}

/* ------------------------------------------------------------ the charges */

typedef struct {
	const char *name;
	void (*prepare)(fx *f);     /* outside the injection */
	void (*run)(fx *f);         /* the provider answers inside */
} charge_way;

static void prep_unpaid(fx *f)
{
	fresh_tenant(f, NULL);
	subscribe(f);
}

static void run_pay(fx *f)
{
	billing_pay_params pp = BILLING_PAY_PARAMS_INIT;
	billing_payment *p = NULL;
	pp.payment_method = "pm_card_visa";
	(void)billing_invoice_pay(&p, f->w->ctx, &f->admin, f->invoice_id, &pp, NULL);
	billing_payment_free(p);
}

static void prep_card(fx *f)
{
	fresh_tenant(f, "pm_card_visa");
}

static void run_subscribe(fx *f)
{
	/* The invoice is issued and committed before the collection. */
	subscribe(f);
}

static void prep_renewal(fx *f)
{
	billing_run_report rep;
	int status;
	size_t payments, captured;
	/* Earlier tries' work first, without faults. */
	tb_assert_rc(billing_run_due(f->w->ctx, f->w->now, NULL, &rep), BILLING_OK);
	fresh_tenant(f, "pm_card_visa");
	subscribe(f);
	invoice_state(f, f->invoice_id, &status, &payments, &captured);
	assert_int_equal(status, BILLING_INVOICE_PAID);
	f->invoice_id[0] = '\0';
	f->w->now += 31 * TBB_DAY;  /* the renewal is due */
}

static void run_renewal(fx *f)
{
	billing_run_report rep;
	(void)billing_run_due(f->w->ctx, f->w->now, NULL, &rep);
}

static const charge_way ways[] = {
	{ "invoices.pay", prep_unpaid, run_pay },
	{ "subscriptions.create collection", prep_card, run_subscribe },
	{ "billing_run_due renewal collection", prep_renewal, run_renewal },
};

/* The tenant's newest invoice (the renewal's, which the run made). */
static void newest_invoice(fx *f)
{
	billing_invoice_list_params lp = BILLING_INVOICE_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	size_t i;
	int64_t best = -1;
	tb_assert_rc(billing_invoice_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	for (i = 0; i < billing_page_count(page); i++) {
		const billing_invoice *inv = billing_page_invoice(page, i);
		if (billing_invoice_created_at(inv) > best ||
		    (billing_invoice_created_at(inv) == best &&
		     strcmp(billing_invoice_id(inv), f->invoice_id) > 0)) {
			best = billing_invoice_created_at(inv);
			snprintf(f->invoice_id, sizeof(f->invoice_id), "%s", billing_invoice_id(inv));
		}
	}
	billing_page_free(page);
}

static void sweep(fx *f, const charge_way *way)
{
	long n;
	for (n = 1; n < 1000; n++) {
		billing_run_report rep;
		int status;
		size_t payments, captured;
		long made;

		way->prepare(f);
		f->pv->tenant_id = f->t;
		f->pv->nkeys = 0;
		f->pv->armed = 0;
		f->pv->arm_at = n;
		way->run(f);
		made = billing__storage_fail_at(0);
		f->pv->arm_at = 0;
		assert_true(f->pv->armed);          /* the provider was asked */
		if (!f->invoice_id[0])
			newest_invoice(f);

		/* What a crash at the nth statement after the answer leaves. */
		assert_consistent(f);
		invoice_state(f, f->invoice_id, &status, &payments, &captured);
		if (made < n) {
			/* Beyond the recording: it ran whole. */
			assert_int_equal(status, BILLING_INVOICE_PAID);
			assert_int_equal(captured, 1);
			print_message("%s: the answer is recorded in %ld statements, each failed "
				"once\n", way->name, n - 1);
			return;
		}
		assert_true(status != BILLING_INVOICE_PAID || captured == 1);
		assert_true(captured == 0 || status == BILLING_INVOICE_PAID);

		/* The restarted process: the run after the lease asks again. */
		f->w->now += 301;
		tb_assert_rc(billing_run_due(f->w->ctx, f->w->now, NULL, &rep), BILLING_OK);
		assert_int_equal(rep.failed, 0);
		assert_consistent(f);
		invoice_state(f, f->invoice_id, &status, &payments, &captured);
		if (status != BILLING_INVOICE_PAID || payments != 1 || captured != 1)
			fail_msg("%s, statement %ld failed: after the run the invoice is %d with %zu "
				"payments, %zu captured", way->name, n, status, payments, captured);
		assert_int_equal(f->pv->nkeys, 1);  /* asked again with the same key */
	}
	fail_msg("%s: more than 1000 statements after the answer", way->name);
}

static void faults_after_the_answer__never_leave_a_capture_on_an_unpaid_invoice(void **state)
{
	fx f;
	size_t i;
	(void)state;
	memset(&f, 0, sizeof(f));
	f.pv = arming_new();
	f.w = tb_world_new_with_provider(&f.pv->base);
	for (i = 0; i < sizeof(ways) / sizeof(ways[0]); i++)
		sweep(&f, &ways[i]);
	tb_world_free(f.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(faults_after_the_answer__never_leave_a_capture_on_an_unpaid_invoice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
