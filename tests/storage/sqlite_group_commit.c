/*
 * SQLite group commit (issue #19 item 1): the write transactions of one
 * process take turns on one writer connection and share COMMITs. Each
 * call runs in a savepoint of the group's transaction: a call that fails
 * takes back its own work only, and a call's commit returns only once the
 * group's COMMIT is done. Driven through the storage vtable, so the
 * interleavings are the test's own; threads only record what they got,
 * every assertion runs on the main thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tb.h"
#include "billing/sqlite.h"
#include "storage/sqlite/sqlite_storage.h"

typedef struct {
	char dir[256];
	char path[300];
	billing_storage *st;
} gc_db;

static void gc_open(gc_db *d)
{
	const char *tmp = getenv("TMPDIR");
	int applied = 0;

	snprintf(d->dir, sizeof(d->dir), "%s/billing-gc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/test.db", d->dir);
	tb_assert_rc(billing_sqlite_storage_new(&d->st, d->path, NULL), BILLING_OK);
	tb_assert_rc(d->st->migrate(d->st, &applied, 1767225600), BILLING_OK);
}

static void gc_close(gc_db *d)
{
	billing_storage_free(d->st);
	tb_remove_dir(d->dir);
}

/* Whether key is in the database, read through a storage of its own (a
 * second "process"): only what was committed. */
static int gc_committed(const gc_db *d, const char *key)
{
	billing_storage *other = NULL;
	billing_txn *tx = NULL;
	char buf[64];
	int rc;

	tb_assert_rc(billing_sqlite_storage_new(&other, d->path, NULL), BILLING_OK);
	tb_assert_rc(other->begin(other, &tx, NULL, BILLING_TXN_READ), BILLING_OK);
	rc = other->meta_get(tx, key, buf, sizeof(buf));
	other->rollback(tx);
	billing_storage_free(other);
	assert_true(rc == BILLING_OK || rc == BILLING_ENOTFOUND);
	return rc == BILLING_OK;
}

static void gc_stats(const gc_db *d, billing__sqlite_writer_stats *s)
{
	billing__sqlite_writer_stats_get(d->st, s);
}

/* ------------------------------------------------------------ many writers */

#define WRITERS 16
#define WRITES 40

typedef struct {
	billing_storage *st;
	int id;
	pthread_barrier_t *start;
	int failures;
} writer;

static void *write_many(void *arg)
{
	writer *w = arg;
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < WRITES; i++) {
		billing_txn *tx = NULL;
		char key[32];
		int rc;

		snprintf(key, sizeof(key), "w%d-%d", w->id, i);
		if (w->st->begin(w->st, &tx, NULL, BILLING_TXN_WRITE) < 0) {
			w->failures++;
			continue;
		}
		rc = w->st->meta_put(tx, key, "v");
		if (rc < 0) {
			w->st->rollback(tx);
			w->failures++;
		} else if (w->st->commit(tx) < 0) {
			w->failures++;
		}
	}
	return NULL;
}

static void group_commit__concurrent_writers_share_commits_and_all_land(void **state)
{
	gc_db d;
	writer w[WRITERS];
	pthread_t th[WRITERS];
	pthread_barrier_t start;
	billing__sqlite_writer_stats before, after;
	int i, j;
	(void)state;

	gc_open(&d);
	gc_stats(&d, &before);
	assert_int_equal(pthread_barrier_init(&start, NULL, WRITERS), 0);
	for (i = 0; i < WRITERS; i++) {
		w[i] = (writer){ d.st, i, &start, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
	}
	for (i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	gc_stats(&d, &after);

	for (i = 0; i < WRITERS; i++)
		assert_int_equal(w[i].failures, 0);
	/* Every call committed, each in the database for another reader. */
	assert_int_equal(after.calls - before.calls, WRITERS * WRITES);
	for (i = 0; i < WRITERS; i += 5)
		for (j = 0; j < WRITES; j += 7) {
			char key[32];
			snprintf(key, sizeof(key), "w%d-%d", i, j);
			assert_true(gc_committed(&d, key));
		}
	/* Sixteen writers at once share their COMMITs: far fewer than one
	 * per call (one per call is what a writer lock alone gives). */
	assert_true(after.commits - before.commits <= (after.calls - before.calls) / 2);
	gc_close(&d);
}

/* ------------------------------------------------------------ one group, two calls */

typedef struct {
	billing_storage *st;
	const char *key;
	int fail;               /* roll the call back instead of committing */
	int begun, rc;
	int done;
	pthread_mutex_t mu;
} call;

static void *run_call(void *arg)
{
	call *c = arg;
	billing_txn *tx = NULL;
	int rc = c->st->begin(c->st, &tx, NULL, BILLING_TXN_WRITE);

	if (rc == BILLING_OK && (rc = c->st->meta_put(tx, c->key, "v")) == BILLING_OK) {
		if (c->fail) {
			c->st->rollback(tx);
			rc = BILLING_EINVALID;
		} else {
			rc = c->st->commit(tx);
		}
	} else if (rc == BILLING_OK) {
		c->st->rollback(tx);
	}
	pthread_mutex_lock(&c->mu);
	c->rc = rc;
	c->done = 1;
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static int call_done(call *c)
{
	int done;
	pthread_mutex_lock(&c->mu);
	done = c->done;
	pthread_mutex_unlock(&c->mu);
	return done;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Waits (up to 5 s) until n writers wait for their turn. */
static void wait_for_waiting(const gc_db *d, unsigned int n)
{
	billing__sqlite_writer_stats s;
	int i;
	for (i = 0; i < 5000; i++) {
		gc_stats(d, &s);
		if (s.waiting >= n)
			return;
		pause_ms(1);
	}
	fail_msg("no writer waited for its turn");
}

/*
 * The main thread holds a write transaction with its own row; a second
 * call (in a thread) waits for its turn. The main thread's commit hands the
 * writer to it and waits: its result comes only with the group's COMMIT,
 * which the second call makes when it ends. fail_second: the second call
 * rolls back, which takes back its row only.
 */
static void one_group(int fail_second)
{
	gc_db d;
	billing__sqlite_writer_stats before, after;
	billing_txn *tx = NULL;
	call second = { NULL, "second", fail_second, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER };
	pthread_t th;

	gc_open(&d);
	second.st = d.st;
	gc_stats(&d, &before);
	tb_assert_rc(d.st->begin(d.st, &tx, NULL, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(d.st->meta_put(tx, "first", "v"), BILLING_OK);
	assert_int_equal(pthread_create(&th, NULL, run_call, &second), 0);
	wait_for_waiting(&d, 1);
	assert_false(call_done(&second));

	tb_assert_rc(d.st->commit(tx), BILLING_OK);
	/* Our commit returned only with the group's COMMIT, which the second
	 * call made when it ended: its work is already in the database (or,
	 * rolled back, is not and never will be). */
	assert_int_equal(gc_committed(&d, "second"), !fail_second);
	pthread_join(th, NULL);
	gc_stats(&d, &after);

	assert_true(gc_committed(&d, "first"));
	if (fail_second) {
		assert_int_equal(second.rc, BILLING_EINVALID);
		assert_false(gc_committed(&d, "second"));
		assert_int_equal(after.calls - before.calls, 1);
	} else {
		tb_assert_rc(second.rc, BILLING_OK);
		assert_true(gc_committed(&d, "second"));
		assert_int_equal(after.calls - before.calls, 2);
	}
	assert_int_equal(after.commits - before.commits, 1);
	gc_close(&d);
}

static void group_commit__two_calls_share_one_commit(void **state)
{
	(void)state;
	one_group(0);
}

static void group_commit__a_failed_call_takes_back_only_its_own_work(void **state)
{
	(void)state;
	one_group(1);
}

/* A read transaction does not wait for the writer and does not see the
 * group's work before its COMMIT. */
static void group_commit__readers_see_only_committed_groups(void **state)
{
	gc_db d;
	billing_txn *w = NULL, *r = NULL;
	char buf[16];
	(void)state;

	gc_open(&d);
	tb_assert_rc(d.st->begin(d.st, &w, NULL, BILLING_TXN_WRITE), BILLING_OK);
	tb_assert_rc(d.st->meta_put(w, "pending", "v"), BILLING_OK);
	tb_assert_rc(d.st->begin(d.st, &r, NULL, BILLING_TXN_READ), BILLING_OK);
	tb_assert_rc(d.st->meta_get(r, "pending", buf, sizeof(buf)), BILLING_ENOTFOUND);
	d.st->rollback(r);
	tb_assert_rc(d.st->commit(w), BILLING_OK);
	tb_assert_rc(d.st->begin(d.st, &r, NULL, BILLING_TXN_READ), BILLING_OK);
	tb_assert_rc(d.st->meta_get(r, "pending", buf, sizeof(buf)), BILLING_OK);
	d.st->rollback(r);
	gc_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(group_commit__concurrent_writers_share_commits_and_all_land),
		cmocka_unit_test(group_commit__two_calls_share_one_commit),
		cmocka_unit_test(group_commit__a_failed_call_takes_back_only_its_own_work),
		cmocka_unit_test(group_commit__readers_see_only_committed_groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
