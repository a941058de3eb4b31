/**
 * @file billing/run.h
 * @brief The billing run: the time-driven work, done when the host asks.
 *
 * The library starts no threads. A host calls billing_run_due() on a short
 * interval (the example server does, from a worker thread); a test moves
 * its clock and calls it. Each item of due work (a trial end, a renewal, a
 * period-end cancellation, an expiry) runs exactly once, even when several
 * threads or processes run at once: an item is claimed with a row lock
 * (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write lock). Renewals
 * are done up to 100 to a transaction (one commit for them all); when one
 * of them fails, the batch is rolled back and its items are done again
 * each in a transaction of its own, so a bad one is set aside alone. Other
 * work (collections, payments, deliveries) goes one item to a transaction.
 * After a crash the next run simply finds the work still due. A subscription that missed several periods (the host was
 * down) is invoiced once per missed period, in order.
 */
#ifndef BILLING_RUN_H
#define BILLING_RUN_H

#include "common.h"

BILLING_BEGIN_DECL

#define BILLING_RUN_LIMITS_VERSION 2

typedef struct {
	unsigned int version;          /**< BILLING_RUN_LIMITS_VERSION */
	unsigned int max_items;        /**< items per call; 0: 1000 */
	/** Version 2. Threads doing the work: 0 or 1, the calling thread
	 *  alone; n (at most 64): the calling thread and n - 1 threads this
	 *  call starts and joins, each on a pooled connection of its own (the
	 *  backend's max_connections, 8 by default, bounds how many work at
	 *  once). Worth it
	 *  on PostgreSQL, where a renewal waits on round trips and the claim
	 *  skips what other workers hold; on SQLite writers take turns on the
	 *  database's one write lock, so one worker is as fast. */
	unsigned int workers;
} billing_run_limits;

#define BILLING_RUN_LIMITS_INIT { BILLING_RUN_LIMITS_VERSION, 0, 0 }

typedef struct {
	int64_t processed;             /**< items done (each period of a subscription is one) */
	int64_t invoiced;              /**< invoices made */
	int64_t failed;                /**< items that failed: nothing of them was kept;
	                                    each is set aside for a minute, then a
	                                    later run tries it again */
	int64_t remaining;             /**< work items still due at now after this call
	                                    (a subscription counts once, however many
	                                    periods behind it is) */
} billing_run_report;

/**
 * Runs the work due at or before now, across every tenant.
 *
 * @param now    UTC seconds; 0: the context's clock. A time before the latest
 *               run's is BILLING_EINVALID (reason "clock_backwards").
 * @param limits NULL for defaults
 * @param report receives the counts (may be NULL)
 * @return BILLING_OK (also when some items failed: see report->failed);
 *         BILLING_EINVALID; BILLING_ESTORAGE when the work cannot be read
 */
BILLING_EXTERN(int) billing_run_due(billing_ctx *ctx, int64_t now,
	const billing_run_limits *limits, billing_run_report *report);

BILLING_END_DECL

#endif
