/*
 * billing_check on a live database (issue #26): while another thread pays
 * hundreds of invoices, the checker runs again and again, and every
 * problem it reports must still be there in a check after the load. A
 * check that reads a tenant's invoices and its payments in two snapshots
 * (PostgreSQL's READ COMMITTED) sees a payment captured after it read its
 * invoice as unpaid, and reports "payment_invoice_unpaid" for a state that
 * never existed. The checker asks a backend of version 5 for a snapshot
 * (BILLING_TXN_SNAPSHOT) and an older backend for what it has.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"
#include "tb_billing.h"

#define INVOICES 300
#define SEEN_MAX 4096

typedef struct {
	char kind[48];
	char resource_id[64];
} seen_problem;

typedef struct {
	seen_problem v[SEEN_MAX];
	size_t n;
	int64_t dropped;
} seen_list;

static void collect(void *user_data, const billing_check_problem *p)
{
	seen_list *s = user_data;
	size_t i;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].kind, p->kind) == 0 &&
		    strcmp(s->v[i].resource_id, p->resource_id ? p->resource_id : "-") == 0)
			return;
	if (s->n == SEEN_MAX) {
		s->dropped++;
		return;
	}
	snprintf(s->v[s->n].kind, sizeof(s->v[s->n].kind), "%s", p->kind);
	snprintf(s->v[s->n].resource_id, sizeof(s->v[s->n].resource_id), "%s",
		p->resource_id ? p->resource_id : "-");
	s->n++;
}

typedef struct {
	billing_ctx *ctx;
	billing_principal admin;
	char (*invoice_ids)[64];
	size_t n;
	volatile int done;
	int failures;
	int first_rc;
} payer;

static void *pay_all(void *arg)
{
	payer *p = arg;
	size_t i;
	for (i = 0; i < p->n; i++) {
		billing_pay_params pp = BILLING_PAY_PARAMS_INIT;
		billing_payment *pay = NULL;
		int rc;
		pp.payment_method = "pm_card_visa";
		rc = billing_invoice_pay(&pay, p->ctx, &p->admin, p->invoice_ids[i], &pp, NULL);
		if (rc != BILLING_OK && p->failures++ == 0)
			p->first_rc = rc;
		billing_payment_free(pay);
	}
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void check__while_invoices_are_paid_reports_only_what_stays(void **state)
{
	billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_provider *pv = NULL;
	tb_world *w;
	const char *t;
	billing_plan *plan;
	char (*invoice_ids)[64] = calloc(INVOICES, 64);
	seen_list *during = calloc(1, sizeof(*during)), *after = calloc(1, sizeof(*after));
	payer p;
	pthread_t th;
	int64_t problems;
	size_t i, j;
	int checks = 0;

	(void)state;
	assert_non_null(invoice_ids);
	assert_non_null(during);
	assert_non_null(after);
	tb_assert_rc(billing_test_provider_new(&pv, &o), BILLING_OK);
	w = tb_world_new_with_provider(pv);
	t = tb_tenant(w, "Live");
	plan = tb_plan(w, t, &(tb_plan_spec){ .amount = 2900 });

	/* Unpaid invoices: customers without a payment method. */
	for (i = 0; i < INVOICES; i++) {
		billing_customer *c = tb_customer(w, t, &(tb_customer_spec){ .name = "Live" });
		billing_subscription *s = tbb_subscribe(w, t, billing_customer_id(c),
			billing_plan_id(plan), 1);
		snprintf(invoice_ids[i], 64, "%s", billing_subscription_latest_invoice_id(s));
		billing_subscription_free(s);
		billing_customer_free(c);
	}
	billing_plan_free(plan);

	/* Quiet before the load: nothing to report. */
	tb_assert_rc(billing_check(w->ctx, collect, after, &problems), BILLING_OK);
	assert_int_equal(problems, 0);

	memset(&p, 0, sizeof(p));
	p.ctx = w->ctx;
	p.admin = tb_admin(t);
	p.invoice_ids = invoice_ids;
	p.n = INVOICES;
	assert_int_equal(pthread_create(&th, NULL, pay_all, &p), 0);
	while (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE)) {
		tb_assert_rc(billing_check(w->ctx, collect, during, &problems), BILLING_OK);
		checks++;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	if (p.failures)
		fail_msg("%d payments failed, the first with %s", p.failures,
			billing_error_name(p.first_rc));

	tb_assert_rc(billing_check(w->ctx, collect, after, &problems), BILLING_OK);
	print_message("%d checks during the load reported %zu problems; %lld after it\n", checks,
		during->n, (long long)problems);
	assert_true(checks >= 2);        /* the load lasted long enough to be checked */
	assert_int_equal(during->dropped, 0);
	for (i = 0; i < during->n; i++) {
		bool stays = false;
		for (j = 0; j < after->n && !stays; j++)
			stays = strcmp(during->v[i].kind, after->v[j].kind) == 0 &&
				strcmp(during->v[i].resource_id, after->v[j].resource_id) == 0;
		if (!stays)
			fail_msg("during the load, check reported %s %s; after it, not",
				during->v[i].kind, during->v[i].resource_id);
	}
	tb_world_free(w);
	free(invoice_ids);
	free(during);
	free(after);
}

/* The backend under test behind a vtable of another version, recording
 * the kinds of the tenant transactions begun. */
typedef struct {
	billing_storage base;
	billing_storage *inner;
	unsigned int tenant_kinds;      /* bit 1 << kind */
} versioned;

static int v_begin(billing_storage *st, billing_txn **out, const char *tenant_id,
	unsigned int kind)
{
	versioned *v = (versioned *)st;
	if (tenant_id)
		v->tenant_kinds |= 1u << kind;
	return v->inner->begin(v->inner, out, tenant_id, kind);
}

static void v_free(billing_storage *st)
{
	versioned *v = (versioned *)st;
	v->inner->free(v->inner);
	free(v);
}

static int v_schema_status(billing_storage *st, int *pending)
{
	versioned *v = (versioned *)st;
	return v->inner->schema_status(v->inner, pending);
}

static int v_migrate(billing_storage *st, int *applied, int64_t now)
{
	versioned *v = (versioned *)st;
	return v->inner->migrate(v->inner, applied, now);
}

static billing_ctx *open_versioned(tb_world *w, unsigned int version, versioned **out)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_ctx *ctx = NULL;
	versioned *v = calloc(1, sizeof(*v));
	assert_non_null(v);
	v->inner = tb_storage_open(w->url, 5000);
	v->base = *v->inner;
	v->base.version = version;
	v->base.begin = v_begin;
	v->base.free = v_free;
	v->base.schema_status = v_schema_status;
	v->base.migrate = v_migrate;
	o.storage = &v->base;
	tb_assert_rc(billing_ctx_open(&ctx, &o), BILLING_OK);
	*out = v;
	return ctx;
}

static void check__asks_for_a_snapshot_only_from_a_backend_that_has_it(void **state)
{
	billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_provider *pv = NULL;
	billing_customer *c;
	billing_plan *plan;
	billing_ctx *ctx;
	versioned *v;
	tb_world *w;
	const char *t;
	int64_t problems = -1;

	(void)state;
	tb_assert_rc(billing_test_provider_new(&pv, &o), BILLING_OK);
	w = tb_world_new_with_provider(pv);
	t = tb_tenant(w, "Versions");
	plan = tb_plan(w, t, &(tb_plan_spec){ .amount = 2900 });
	c = tb_customer(w, t, &(tb_customer_spec){ .default_payment_method = "pm_card_visa" });
	billing_subscription_free(tbb_subscribe(w, t, billing_customer_id(c),
		billing_plan_id(plan), 1));
	billing_customer_free(c);
	billing_plan_free(plan);

	/* (A backend before version 5 knew no BILLING_TXN_SNAPSHOT; the ctx
	 * no longer opens on one older than 7, see unit/ctx_options.) */
	ctx = open_versioned(w, BILLING_STORAGE_VERSION, &v);
	problems = -1;
	tb_assert_rc(billing_check(ctx, NULL, NULL, &problems), BILLING_OK);
	assert_int_equal(problems, 0);
	assert_int_equal(v->tenant_kinds, 1u << BILLING_TXN_SNAPSHOT);
	billing_ctx_close(ctx);
	tb_world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check__while_invoices_are_paid_reports_only_what_stays),
		cmocka_unit_test(check__asks_for_a_snapshot_only_from_a_backend_that_has_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
