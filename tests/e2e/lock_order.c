/*
 * Lock order under load: threads that change plans, create subscriptions
 * (each collected right after the call) and run the billing run at once, on
 * the same plans, product, subscriptions and invoices. On PostgreSQL a get
 * in a write transaction locks its row, so two paths that take the same rows
 * in different orders deadlock; the library retries a deadlock a few times,
 * logs it, and a call that still loses fails with BILLING_EBUSY. Every call
 * here must succeed and no deadlock may be logged at all, retried or not.
 *
 * Threads only record what they got; every assertion runs on the main
 * thread (cmocka's failure path is not thread-safe).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

#define T0 INT64_C(1767225600)      /* 2026-01-01T00:00:00Z */
#define DAY INT64_C(86400)

/* ------------------------------------------------------------ the world */

typedef struct {
	pthread_mutex_t mu;
	int deadlocks;              /* log lines naming a deadlock */
	int warnings;
	char first[512];            /* the first of them */
} log_sink;

static void sink_log(void *payload, billing_log_level level, const char *message)
{
	log_sink *s = payload;
	if (level > BILLING_LOG_WARN)
		return;
	if (getenv("BILLING_TEST_LOG"))
		fprintf(stderr, "billing: %s\n", message);
	pthread_mutex_lock(&s->mu);
	s->warnings++;
	if (strstr(message, "deadlock")) {
		if (!s->deadlocks++)
			snprintf(s->first, sizeof(s->first), "%s", message);
	}
	pthread_mutex_unlock(&s->mu);
}

static int64_t now_at;          /* the context's clock; set only between phases */

static int64_t clock_now(void *payload)
{
	(void)payload;
	return now_at;
}

typedef struct {
	tb_world *w;                /* the database */
	billing_ctx *ctx;           /* with the test provider and the sink */
	log_sink log;
	const char *tenant;
	billing_principal admin;
	char plan[2][64];           /* two monthly plans of one product */
	char (*customer)[64];
	char (*sub)[64];
	int ncustomers, nsubs;
} fx;

static void fx_init(fx *f, int ncustomers)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_product *prod;
	int i;

	memset(f, 0, sizeof(*f));
	assert_int_equal(pthread_mutex_init(&f->log.mu, NULL), 0);
	now_at = T0;
	f->w = tb_world_new();
	f->tenant = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->tenant);
	tb_assert_rc(billing_test_provider_new(&o.provider, NULL), BILLING_OK);
	o.clock = clock_now;
	o.logger = sink_log;
	o.logger_payload = &f->log;
	o.log_level = BILLING_LOG_WARN;
	tb_assert_rc(billing_ctx_open_url(&f->ctx, f->w->url, &o), BILLING_OK);

	prod = tb_product(f->w, f->tenant, &(tb_product_spec){ .tax_rate_bp = 2000 });
	for (i = 0; i < 2; i++) {
		billing_plan *p = tb_plan(f->w, f->tenant, &(tb_plan_spec){
			.product_id = billing_product_id(prod), .amount = i ? 4900 : 2900 });
		snprintf(f->plan[i], sizeof(f->plan[i]), "%s", billing_plan_id(p));
		billing_plan_free(p);
	}
	billing_product_free(prod);
	f->ncustomers = ncustomers;
	f->customer = calloc((size_t)ncustomers, sizeof(*f->customer));
	f->sub = calloc((size_t)ncustomers, sizeof(*f->sub));
	assert_non_null(f->customer);
	assert_non_null(f->sub);
	for (i = 0; i < ncustomers; i++) {
		billing_customer *c = tb_customer(f->w, f->tenant,
			&(tb_customer_spec){ .default_payment_method = "pm_card_visa" });
		snprintf(f->customer[i], sizeof(f->customer[i]), "%s", billing_customer_id(c));
		billing_customer_free(c);
	}
}

/* One subscription per customer, on the plans in turn, at T0. */
static void fx_subscribe_all(fx *f)
{
	int i;
	for (i = 0; i < f->ncustomers; i++) {
		billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
		billing_subscription *s = NULL;
		p.customer_id = f->customer[i];
		p.plan_id = f->plan[i % 2];
		tb_assert_rc(billing_subscription_create(&s, f->ctx, &f->admin, &p, NULL), BILLING_OK);
		snprintf(f->sub[i], sizeof(f->sub[i]), "%s", billing_subscription_id(s));
		billing_subscription_free(s);
	}
	f->nsubs = f->ncustomers;
}

static void problem(void *user_data, const billing_check_problem *p)
{
	(void)user_data;
	print_error("billing_check: %s\n", p->detail);
}

/* Nothing half-written, nothing logged about a deadlock. */
static void fx_finish(fx *f)
{
	int64_t problems = -1;
	tb_assert_rc(billing_check(f->ctx, problem, NULL, &problems), BILLING_OK);
	assert_int_equal(problems, 0);
	if (f->log.deadlocks)
		fail_msg("%d deadlock(s) logged; the first: %s", f->log.deadlocks, f->log.first);
	billing_ctx_close(f->ctx);
	tb_world_free(f->w);
	free(f->customer);
	free(f->sub);
	pthread_mutex_destroy(&f->log.mu);
}

/* ------------------------------------------------------------ the threads */

typedef struct {
	fx *f;
	int n, of;                  /* this thread's share: items i with i % of == n */
	int rounds;
	pthread_barrier_t *start;
	volatile int *writers_left; /* the runner stops when none is left */
	int calls, failures;
	int first_rc;
	char first[512];
} worker;

static void note(worker *wk, int rc, const char *what)
{
	wk->calls++;
	if (rc == BILLING_OK)
		return;
	if (!wk->failures++) {
		wk->first_rc = rc;
		snprintf(wk->first, sizeof(wk->first), "%s: %s (%s)", what, billing_error_name(rc),
			billing_error_last()->message);
	}
}

static void writer_done(worker *wk)
{
	__atomic_sub_fetch(wk->writers_left, 1, __ATOMIC_SEQ_CST);
}

/* Moves each of its subscriptions to the other plan, rounds times. */
static void *change_plans(void *arg)
{
	worker *wk = arg;
	fx *f = wk->f;
	int r, i;

	pthread_barrier_wait(wk->start);
	for (r = 0; r < wk->rounds; r++) {
		for (i = wk->n; i < f->nsubs; i += wk->of) {
			billing_subscription_change_params p = BILLING_SUBSCRIPTION_CHANGE_INIT;
			billing_subscription *s = NULL;
			p.plan_id = f->plan[(i + r + 1) % 2];
			p.proration = BILLING_PRORATE_ALWAYS_INVOICE;
			note(wk, billing_subscription_change_plan(&s, f->ctx, &f->admin, f->sub[i], &p,
				NULL), "change_plan");
			billing_subscription_free(s);
		}
	}
	writer_done(wk);
	return NULL;
}

/* New subscriptions on both plans, each collected right after the call. */
static void *create_subscriptions(void *arg)
{
	worker *wk = arg;
	fx *f = wk->f;
	int r, i;

	pthread_barrier_wait(wk->start);
	for (r = 0; r < wk->rounds; r++) {
		for (i = wk->n; i < f->ncustomers; i += wk->of) {
			billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
			billing_subscription *s = NULL;
			p.customer_id = f->customer[i];
			p.plan_id = f->plan[(i + r) % 2];
			note(wk, billing_subscription_create(&s, f->ctx, &f->admin, &p, NULL),
				"subscription_create");
			billing_subscription_free(s);
		}
	}
	writer_done(wk);
	return NULL;
}

/* Runs the billing run until the writers are done and nothing is due. */
static void *run_due(void *arg)
{
	worker *wk = arg;
	fx *f = wk->f;
	int idle = 0;

	pthread_barrier_wait(wk->start);
	while (idle < 2) {
		billing_run_report rep;
		int left = __atomic_load_n(wk->writers_left, __ATOMIC_SEQ_CST);
		int rc = billing_run_due(f->ctx, 0, NULL, &rep);
		note(wk, rc, "billing_run_due");
		if (rc == BILLING_OK && rep.failed) {
			wk->failures += (int)rep.failed;
			if (!wk->first[0])
				snprintf(wk->first, sizeof(wk->first), "billing_run_due: %lld item(s) failed",
					(long long)rep.failed);
		}
		if (rc < 0)
			break;
		idle = left == 0 && rep.processed == 0 && rep.remaining == 0 ? idle + 1 : 0;
	}
	return NULL;
}

typedef void *(*thread_fn)(void *);

/* Runs the threads to the end and asserts that every call succeeded. */
static void run_threads(fx *f, const thread_fn *fns, const int *rounds, int n)
{
	pthread_barrier_t start;
	pthread_t th[8];
	worker wk[8];
	volatile int writers_left = 0;
	int i, of[8] = { 0 }, k[8] = { 0 };

	assert_true(n <= 8);
	for (i = 0; i < n; i++)
		if (fns[i] != run_due) {
			writers_left++;
			of[fns[i] == change_plans]++;
		}
	assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)n), 0);
	for (i = 0; i < n; i++) {
		int kind = fns[i] == change_plans;
		memset(&wk[i], 0, sizeof(wk[i]));
		wk[i].f = f;
		wk[i].rounds = rounds[i];
		wk[i].start = &start;
		wk[i].writers_left = &writers_left;
		if (fns[i] != run_due) {
			wk[i].n = k[kind]++;
			wk[i].of = of[kind];
		}
		assert_int_equal(pthread_create(&th[i], NULL, fns[i], &wk[i]), 0);
	}
	for (i = 0; i < n; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start);
	for (i = 0; i < n; i++)
		if (wk[i].failures)
			fail_msg("thread %d: %d of %d call(s) failed; the first: %s", i, wk[i].failures,
				wk[i].calls, wk[i].first);
}

/* ------------------------------------------------------------ the tests */

/*
 * Plan changes back and forth between two plans of one product, beside new
 * subscriptions on those plans and the renewals of the run: each of them
 * reads both plans or one plan and the product.
 */
static void change_plan__beside_creates_and_renewals_never_deadlocks(void **state)
{
	static const thread_fn fns[] = { change_plans, change_plans, create_subscriptions,
		create_subscriptions, run_due };
	static const int rounds[] = { 4, 4, 2, 2, 0 };
	fx f;
	(void)state;

	fx_init(&f, 24);
	fx_subscribe_all(&f);
	now_at = T0 + 31 * DAY + 3600;  /* every subscription is due for its renewal */
	run_threads(&f, fns, rounds, 5);
	fx_finish(&f);
}

/*
 * Each new subscription's first invoice is due for collection at once: the
 * call collects it right after it commits, and the run, polling all along,
 * claims the same work. One of them collects it, once.
 */
static void collection__after_a_call_beside_the_run_never_deadlocks(void **state)
{
	static const thread_fn fns[] = { create_subscriptions, create_subscriptions,
		create_subscriptions, run_due };
	static const int rounds[] = { 3, 3, 3, 0 };
	fx f;
	int64_t paid;
	(void)state;

	fx_init(&f, 30);
	run_threads(&f, fns, rounds, 4);
	/* 90 first invoices, each paid by exactly one payment. */
	paid = tb_raw_count(f.w->url, "SELECT count(*) FROM invoices WHERE status = 3");
	assert_int_equal(tb_raw_count(f.w->url, "SELECT count(*) FROM invoices"), 90);
	assert_int_equal(tb_raw_count(f.w->url, "SELECT count(*) FROM payments"), paid);
	assert_int_equal(tb_raw_count(f.w->url, "SELECT count(DISTINCT invoice_id) FROM payments"),
		paid);
	fx_finish(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(change_plan__beside_creates_and_renewals_never_deadlocks),
		cmocka_unit_test(collection__after_a_call_beside_the_run_never_deadlocks),
	};
	return cmocka_run_group_tests_name(tb_backend(), tests, NULL, NULL);
}
