/*
 * The billing run and the development test clock.
 *
 * The library starts no threads (billing/run.h): the server calls
 * billing_run_due() from one worker thread every BILLING_RUN_INTERVAL
 * seconds, and logs one line per call that did something. With
 * BILLING_TEST_CLOCK=1 the library context reads its time from here: a
 * server-held time that starts at real time and moves only when advanced
 * (POST /v1/test-clock/advance), which then runs all the work due up to the
 * new time before answering. Runs are serialized by one lock, so the time a
 * run sees never goes backwards between the worker and an advance.
 */
#ifndef BS_RUNNER_H
#define BS_RUNNER_H

#include <billing/billing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* The latest time RFC 3339 can carry with four-digit years. */
#define RUNNER_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

typedef struct {
	billing_ctx *ctx;            /* set by runner_start */
	unsigned int interval_s;     /* BILLING_RUN_INTERVAL */
	int test_clock;              /* BILLING_TEST_CLOCK=1 */
	atomic_llong clock_now;      /* the test clock's time (UTC seconds) */
	pthread_mutex_t run_lock;    /* one billing run at a time */
	pthread_mutex_t lock;        /* guards stopping */
	pthread_cond_t wake;         /* on CLOCK_MONOTONIC */
	int stopping;
	int started;
	pthread_t thread;
} runner;

typedef struct {
	int64_t processed, invoiced, failed, remaining;
} runner_totals;

/* Before the context is opened (its clock is runner_clock with payload r
 * when test_clock is set). The test clock starts at real time. */
int runner_init(runner *r, unsigned int interval_s, int test_clock);
void runner_destroy(runner *r);

/* A billing_clock_fn reading the test clock. */
int64_t runner_clock(void *payload);

/* The time the library sees: the test clock's, or real time. */
int64_t runner_now(runner *r);

/* Starts the worker thread (a first run at once, then every interval).
 * Returns 0 or -1. */
int runner_start(runner *r, billing_ctx *ctx);

/* Stops the worker: a run in progress finishes, then the thread is joined. */
void runner_stop(runner *r);

/* Test clock: moves to `to` and runs billing_run_due() until nothing
 * remains due at that time (or no progress is made). Returns BILLING_OK;
 * 1 when `to` is before the clock's time (nothing changed); or the
 * library's error (billing_error_last() describes it). *totals sums the
 * runs. */
int runner_advance(runner *r, int64_t to, runner_totals *totals);

#endif
