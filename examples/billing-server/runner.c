/* The billing-run worker thread and the test clock (runner.h). */
#include "runner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

int runner_init(runner *r, unsigned int interval_s, int test_clock)
{
	pthread_condattr_t attr;

	memset(r, 0, sizeof(*r));
	r->interval_s = interval_s;
	r->test_clock = test_clock;
	atomic_store(&r->clock_now, (long long)now_unix());
	if (pthread_mutex_init(&r->run_lock, NULL) != 0)
		return -1;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		pthread_mutex_destroy(&r->run_lock);
		return -1;
	}
	if (pthread_condattr_init(&attr) != 0 ||
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&r->wake, &attr) != 0) {
		pthread_mutex_destroy(&r->lock);
		pthread_mutex_destroy(&r->run_lock);
		return -1;
	}
	pthread_condattr_destroy(&attr);
	return 0;
}

void runner_destroy(runner *r)
{
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->run_lock);
}

int64_t runner_clock(void *payload)
{
	runner *r = payload;
	return (int64_t)atomic_load(&r->clock_now);
}

int64_t runner_now(runner *r)
{
	return r->test_clock ? runner_clock(r) : now_unix();
}

static int stopping(runner *r)
{
	int s;
	pthread_mutex_lock(&r->lock);
	s = r->stopping;
	pthread_mutex_unlock(&r->lock);
	return s;
}

static void log_failure(const char *what)
{
	const billing_error *e = billing_error_last();
	log_msg(LOG_WARN, what, "reason", e->reason ? e->reason : "", "error",
		e->message ? e->message : "", LOG_END);
}

static void log_report(const char *source, int64_t now, const billing_run_report *rep)
{
	char when[32];
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_counts(rep->failed ? LOG_WARN : LOG_INFO, "billing run", "source", source, "at", when,
		LOG_END, "processed", (long long)rep->processed, "invoiced", (long long)rep->invoiced,
		"failed", (long long)rep->failed, "remaining", (long long)rep->remaining, LOG_END);
}

/* One batch (at most the library's default item count) under the run lock. */
static int run_batch(runner *r, int64_t now, billing_run_report *rep)
{
	int rc;
	memset(rep, 0, sizeof(*rep));
	pthread_mutex_lock(&r->run_lock);
	if (now == 0)
		now = runner_now(r);
	rc = billing_run_due(r->ctx, now, NULL, rep);
	pthread_mutex_unlock(&r->run_lock);
	if (rc == BILLING_OK && (rep->processed > 0 || rep->failed > 0))
		log_report(r->test_clock ? "worker (test clock)" : "worker", now, rep);
	return rc;
}

static void *worker(void *arg)
{
	runner *r = arg;
	struct timespec deadline;
	int failing = 0;

	for (;;) {
		billing_run_report rep;
		/* Batches back to back while work remains and progress is made. */
		while (!stopping(r)) {
			if (run_batch(r, 0, &rep) < 0) {
				/* Once per streak, not every interval (a clock_backwards
				 * lasts until the clock passes the latest run's time). */
				if (!failing)
					log_failure("billing run failed; retrying every interval");
				failing = 1;
				break;
			}
			if (failing)
				log_msg(LOG_INFO, "billing run works again", LOG_END);
			failing = 0;
			if (rep.remaining == 0 || (rep.processed == 0 && rep.failed == 0))
				break;
		}
		pthread_mutex_lock(&r->lock);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += (time_t)r->interval_s;
		while (!r->stopping &&
		       pthread_cond_timedwait(&r->wake, &r->lock, &deadline) != ETIMEDOUT)
			;
		if (r->stopping) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

int runner_start(runner *r, billing_ctx *ctx)
{
	sigset_t all, old;
	int rc;

	r->ctx = ctx;
	/* The worker must not take SIGTERM/SIGINT: only the main thread's sigwait does. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&r->thread, NULL, worker, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	r->started = 1;
	return 0;
}

void runner_stop(runner *r)
{
	if (!r->started)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->started = 0;
}

int runner_advance(runner *r, int64_t to, runner_totals *totals)
{
	billing_run_report rep;
	int rc = BILLING_OK;

	memset(totals, 0, sizeof(*totals));
	pthread_mutex_lock(&r->run_lock);
	if (to < (int64_t)atomic_load(&r->clock_now)) {
		pthread_mutex_unlock(&r->run_lock);
		return 1;
	}
	atomic_store(&r->clock_now, (long long)to);
	for (;;) {
		memset(&rep, 0, sizeof(rep));
		if ((rc = billing_run_due(r->ctx, to, NULL, &rep)) < 0)
			break;
		totals->processed += rep.processed;
		totals->invoiced += rep.invoiced;
		totals->failed += rep.failed;
		totals->remaining = rep.remaining;
		if (rep.processed > 0 || rep.failed > 0)
			log_report("test clock advance", to, &rep);
		if (rep.remaining == 0 || (rep.processed == 0 && rep.failed == 0) || stopping(r))
			break;
	}
	pthread_mutex_unlock(&r->run_lock);
	return rc;
}
