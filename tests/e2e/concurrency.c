/*
 * Concurrency end to end: racing creators of the same unique value, many
 * writers on one context, and two processes (contexts) migrating a new
 * database at once. Threads only record what they got; every assertion runs
 * on the main thread (cmocka's failure path is not thread-safe).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "tb.h"
#include "storage/migrations.h"

/* ------------------------------------------------------------ raw access */

/* Customers of tenant, counted through the API. */
static int64_t customer_total(billing_ctx *ctx, const char *tenant, const char *search)
{
	billing_principal who = tb_admin(tenant);
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t n;

	lp.page = 1;
	lp.search = search;
	tb_assert_rc(billing_customer_list(&page, ctx, &who, &lp), BILLING_OK);
	n = billing_page_total(page);
	billing_page_free(page);
	return n;
}

/* ------------------------------------------------------------ same e-mail race */

typedef struct {
	billing_ctx *ctx;
	const char *tenant;
	const char *email;
	pthread_barrier_t *start;
	int rc;
	char field[32];
} racer;

static void *race_create(void *arg)
{
	racer *r = arg;
	billing_principal who = tb_admin(r->tenant);
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	const billing_error *e;

	p.name = "Racer";
	p.email = r->email;
	pthread_barrier_wait(r->start);
	r->rc = billing_customer_create(&c, r->ctx, &who, &p, NULL);
	e = billing_error_last();
	snprintf(r->field, sizeof(r->field), "%s", e->field ? e->field : "");
	billing_customer_free(c);
	return NULL;
}

static void customer_create__same_email_from_two_processes_makes_one_row(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	billing_ctx *other = tb_world_open_again(w);
	pthread_barrier_t start;
	int round;
	(void)state;

	assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
	for (round = 0; round < 50; round++) {
		char email[64];
		racer r[2];
		pthread_t th[2];
		int i, ok = 0, exists = 0;

		snprintf(email, sizeof(email), "race%d@example.com", round);
		for (i = 0; i < 2; i++) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].ctx = i == 0 ? w->ctx : other;
			r[i].tenant = t;
			r[i].email = email;
			r[i].start = &start;
			assert_int_equal(pthread_create(&th[i], NULL, race_create, &r[i]), 0);
		}
		for (i = 0; i < 2; i++)
			assert_int_equal(pthread_join(th[i], NULL), 0);
		for (i = 0; i < 2; i++) {
			if (r[i].rc == BILLING_OK) {
				ok++;
			} else if (r[i].rc == BILLING_EEXISTS) {
				exists++;
				assert_string_equal(r[i].field, "email");
			} else {
				fail_msg("round %d: thread %d got %s", round, i, billing_error_name(r[i].rc));
			}
		}
		assert_int_equal(ok, 1);
		assert_int_equal(exists, 1);
		assert_int_equal(customer_total(w->ctx, t, email), 1);
	}
	assert_int_equal(customer_total(other, t, NULL), 50);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(*) FROM customers"), 50);
	pthread_barrier_destroy(&start);
	billing_ctx_close(other);
	tb_world_free(w);
}

/* ------------------------------------------------------------ first dunning policy race */

typedef struct {
	billing_ctx *ctx;
	const char *tenant;
	int32_t first_day;
	pthread_barrier_t *start;
	int rc;
	char reason[64];
} policy_setter;

static void *race_dunning_set(void *arg)
{
	policy_setter *r = arg;
	billing_principal who = tb_admin(r->tenant);
	billing_dunning_policy pol;

	memset(&pol, 0, sizeof(pol));
	pol.retry_count = 2;
	pol.retry_days[0] = r->first_day;
	pol.retry_days[1] = r->first_day + 5;
	pol.final_action = BILLING_DUNNING_UNPAID;
	pthread_barrier_wait(r->start);
	r->rc = billing_dunning_set(r->ctx, &who, &pol);
	snprintf(r->reason, sizeof(r->reason), "%s", billing_error_last()->reason);
	return NULL;
}

/* A tenant's policy is one row, written the first time by an insert: two
 * first-time sets at once must both succeed (the later one wins), never
 * answer that the policy already exists. */
static void dunning_set__two_first_sets_at_once_both_succeed(void **state)
{
	tb_world *w = tb_world_new();
	billing_ctx *other = tb_world_open_again(w);
	pthread_barrier_t start;
	int round;
	(void)state;

	assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
	for (round = 0; round < 20; round++) {
		char name[32];
		const char *t;
		policy_setter r[2];
		pthread_t th[2];
		billing_principal who;
		billing_dunning_policy got;
		int i;

		snprintf(name, sizeof(name), "Tenant %d", round);
		t = tb_tenant(w, name);
		for (i = 0; i < 2; i++) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].ctx = i == 0 ? w->ctx : other;
			r[i].tenant = t;
			r[i].first_day = 1 + i;
			r[i].start = &start;
			assert_int_equal(pthread_create(&th[i], NULL, race_dunning_set, &r[i]), 0);
		}
		for (i = 0; i < 2; i++)
			assert_int_equal(pthread_join(th[i], NULL), 0);
		for (i = 0; i < 2; i++)
			if (r[i].rc != BILLING_OK)
				fail_msg("round %d: thread %d got %s (%s)", round, i,
					billing_error_name(r[i].rc), r[i].reason);
		who = tb_admin(t);
		tb_assert_rc(billing_dunning_get(&got, w->ctx, &who), BILLING_OK);
		assert_int_equal(got.retry_count, 2);
		assert_true(got.retry_days[0] == 1 || got.retry_days[0] == 2);
	}
	pthread_barrier_destroy(&start);
	billing_ctx_close(other);
	tb_world_free(w);
}

/* ------------------------------------------------------------ many writers */

#define WRITERS 4
#define CREATES 200

typedef struct {
	billing_ctx *ctx;
	const char *tenant;
	int n;
	pthread_barrier_t *start;
	int ok;
	int first_failure;
} writer;

static void *write_many(void *arg)
{
	writer *wr = arg;
	billing_principal who = tb_admin(wr->tenant);
	int i;

	pthread_barrier_wait(wr->start);
	for (i = 0; i < CREATES; i++) {
		billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
		billing_customer *c = NULL;
		char email[64];
		int rc;

		snprintf(email, sizeof(email), "w%d-%d@example.com", wr->n, i);
		p.name = "Writer";
		p.email = email;
		rc = billing_customer_create(&c, wr->ctx, &who, &p, NULL);
		if (rc == BILLING_OK)
			wr->ok++;
		else if (!wr->first_failure)
			wr->first_failure = rc;
		billing_customer_free(c);
	}
	return NULL;
}

static void customer_create__many_threads_on_one_context_all_succeed(void **state)
{
	tb_world *w = tb_world_new();
	const char *t = tb_tenant(w, "Acme");
	pthread_barrier_t start;
	pthread_t th[WRITERS];
	writer wr[WRITERS];
	int i;
	(void)state;

	assert_int_equal(pthread_barrier_init(&start, NULL, WRITERS), 0);
	for (i = 0; i < WRITERS; i++) {
		memset(&wr[i], 0, sizeof(wr[i]));
		wr[i].ctx = w->ctx;
		wr[i].tenant = t;
		wr[i].n = i;
		wr[i].start = &start;
		assert_int_equal(pthread_create(&th[i], NULL, write_many, &wr[i]), 0);
	}
	for (i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < WRITERS; i++) {
		if (wr[i].first_failure)
			fail_msg("writer %d: %s", i, billing_error_name(wr[i].first_failure));
		assert_int_equal(wr[i].ok, CREATES);
	}
	assert_int_equal(customer_total(w->ctx, t, NULL), WRITERS * CREATES);
	assert_int_equal(tb_raw_count(w->url, "SELECT count(DISTINCT id) FROM customers"),
		WRITERS * CREATES);
	pthread_barrier_destroy(&start);
	tb_world_free(w);
}

/* ------------------------------------------------------------ racing migrations */

typedef struct {
	const char *url;
	pthread_barrier_t *start;
	billing_ctx *ctx;
	int open_rc;
	int migrate_rc;
	char message[256];
} migrator;

static void *open_and_migrate(void *arg)
{
	migrator *m = arg;
	pthread_barrier_wait(m->start);
	m->open_rc = billing_ctx_open_url(&m->ctx, m->url, NULL);
	if (m->open_rc == BILLING_OK)
		m->migrate_rc = billing_migrate(m->ctx);
	snprintf(m->message, sizeof(m->message), "%s", billing_error_last()->message);
	return NULL;
}

static void migrate__two_processes_at_once_migrate_once(void **state)
{
	size_t steps;
	int round;
	(void)state;

	billing__migrations(&steps);
	for (round = 0; round < 20; round++) {
		char url[512], dir[256], cmd[300];
		pthread_barrier_t start;
		pthread_t th[2];
		migrator m[2];
		int i;

		tb_database_new(url, sizeof(url), dir, sizeof(dir));
		assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
		for (i = 0; i < 2; i++) {
			memset(&m[i], 0, sizeof(m[i]));
			m[i].url = url;
			m[i].start = &start;
			assert_int_equal(pthread_create(&th[i], NULL, open_and_migrate, &m[i]), 0);
		}
		for (i = 0; i < 2; i++)
			assert_int_equal(pthread_join(th[i], NULL), 0);
		for (i = 0; i < 2; i++) {
			if (m[i].open_rc != BILLING_OK || m[i].migrate_rc != BILLING_OK)
				fail_msg("round %d, context %d: open %s, migrate %s: %s", round, i,
					billing_error_name(m[i].open_rc), billing_error_name(m[i].migrate_rc),
					m[i].message);
		}
		assert_int_equal(tb_raw_count(url, "SELECT count(*) FROM billing_migrations"),
			(int64_t)steps);
		assert_int_equal(tb_raw_count(url, "SELECT count(DISTINCT version) FROM billing_migrations"),
			(int64_t)steps);
		assert_int_equal(tb_raw_count(url, "SELECT count(*) FROM billing_meta "
			"WHERE meta_key = 'cursor_key'"), 1);
		/* both contexts work on the migrated database */
		for (i = 0; i < 2; i++) {
			billing_principal op = tb_platform();
			billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
			billing_tenant *t = NULL;
			tp.name = "After";
			tb_assert_rc(billing_tenant_create(&t, m[i].ctx, &op, &tp, NULL), BILLING_OK);
			billing_tenant_free(t);
			billing_ctx_close(m[i].ctx);
		}
		pthread_barrier_destroy(&start);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(customer_create__same_email_from_two_processes_makes_one_row),
		cmocka_unit_test(customer_create__many_threads_on_one_context_all_succeed),
		cmocka_unit_test(dunning_set__two_first_sets_at_once_both_succeed),
		cmocka_unit_test(migrate__two_processes_at_once_migrate_once),
	};
	return cmocka_run_group_tests_name(tb_backend(), tests, NULL, NULL);
}
