/*
 * Transactions: beginning and ending one, running a write again after a
 * serialization failure or deadlock (BILLING__RETRY), the order in which
 * every write takes its row locks, and the storage reads that follow it.
 */
#ifndef BILLING_CORE_TXN_H
#define BILLING_CORE_TXN_H

#include <stdbool.h>

#include "billing/billing.h"
#include "billing/sys/storage.h"

/* Starts a transaction; sets the error on failure. */
int billing__begin(billing_txn **tx, billing_ctx *ctx, const char *tenant_id, unsigned int kind);

/* Ends tx: commits when rc >= 0, else rolls back. Returns rc or the commit's
 * failure. Inline, so that "a failure stays a failure" is visible to static
 * analysis of the calling file (see billing__error_set). */
int billing__end_txn(billing_ctx *ctx, billing_txn *tx, int rc);
static inline int billing__end(billing_ctx *ctx, billing_txn *tx, int rc)
{
	int ended = billing__end_txn(ctx, tx, rc);
	return rc < 0 ? rc : ended;
}

/*
 * A write that PostgreSQL aborted for a serialization failure or a deadlock
 * did nothing and may simply run again: the public write calls run their
 * body through BILLING__RETRY, up to BILLING__RETRIES times in all.
 */
#define BILLING__RETRIES 3
bool billing__retryable(int rc);
#define BILLING__RETRY(call) do { \
		int rc_, n_ = 0; \
		do \
			rc_ = (call); \
		while (billing__retryable(rc_) && ++n_ < BILLING__RETRIES); \
		return rc_; \
	} while (0)

/* ------------------------------------------------------------ lock order */

/*
 * On PostgreSQL a get in a write transaction locks its row (FOR UPDATE)
 * until the transaction ends; two transactions that take the same rows in
 * different orders deadlock, one of them is rolled back after the server's
 * deadlock timeout (a second) and BILLING__RETRY runs it again. SQLite's
 * write transaction holds the database lock, so none of this arises there.
 * Every write takes the rows it locks in this order:
 *
 *  1. The due work the billing run claims (due_claim: FOR UPDATE SKIP
 *     LOCKED, so the claim itself never waits).
 *  2. For each resource it changes, the resource's own due work before the
 *     resource: a subscription's "subscription" row, an invoice's "collect"
 *     row (billing__due_lock, called by the subscription and invoice
 *     entities' gets). The run holds the row it claimed while it reads the
 *     resource; a call that changes the resource and then reschedules it
 *     would otherwise hold the resource while waiting for that row. A call
 *     that only offers to do the run's work (the collection right after a
 *     call) skips a row the run holds instead of waiting for it.
 *  3. Resources along the chain payment -> invoice -> subscription (the
 *     answer to a payment moves its invoice, which moves its subscription),
 *     each with its due work first (2). Paths that start from a
 *     subscription only ever lock the invoices they insert.
 *  4. The tenant's invoice counter (invoice_number_next), which every new
 *     invoice takes and holds to the end: after it, only new rows and rows
 *     read without a lock.
 *
 * Rows a write depends on but does not change are not locked for update
 * (the *_read helpers below): a plan is read FOR SHARE, which keeps a plan
 * delete (which counts the plan's live subscriptions under its own lock)
 * and a plan update waiting until the subscription is written, while any
 * number of subscription writes share the plan. Products and customers are
 * read without a lock: a product cannot be deleted while a plan uses it, a
 * customer not while a subscription or invoice refers to it (the foreign
 * keys refuse it), and what a write copies from them (a tax rate, a payment
 * method) is a snapshot the write may take from either side of a
 * concurrent update.
 */

/* Storage before version 4 has no *_read methods: its gets lock for update. */
static inline int billing__customer_read(billing_storage *st, billing_txn *tx,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb, void *payload)
{
	return st->version >= 4 ? st->customer_read(tx, tenant_id, id, lock, cb, payload) :
		st->customer_get(tx, tenant_id, id, cb, payload);
}

static inline int billing__product_read(billing_storage *st, billing_txn *tx,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb, void *payload)
{
	return st->version >= 4 ? st->product_read(tx, tenant_id, id, lock, cb, payload) :
		st->product_get(tx, tenant_id, id, cb, payload);
}

static inline int billing__plan_read(billing_storage *st, billing_txn *tx,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb, void *payload)
{
	return st->version >= 4 ? st->plan_read(tx, tenant_id, id, lock, cb, payload) :
		st->plan_get(tx, tenant_id, id, cb, payload);
}

/* Locks the due work (kind, resource) of the transaction's tenant, step 2
 * above: BILLING_OK also when there is none. With skip_locked,
 * BILLING_ENOTFOUND when there is none or another transaction holds it. */
static inline int billing__due_lock(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const char *kind, const char *resource_id, int skip_locked)
{
	int rc;
	if (st->version < 4)
		return BILLING_OK;
	rc = st->due_lock(tx, tenant_id, kind, resource_id, skip_locked);
	return rc == BILLING_ENOTFOUND && !skip_locked ? BILLING_OK : rc;
}

#endif
