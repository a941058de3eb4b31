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
#include "core/resources.h"

/* The oldest storage vtable the core calls: version 8, the narrow one
 * (records and the special operations; see billing/sys/storage.h). */
#define BILLING__STORAGE_VERSION_MIN 8u

/* Starts a transaction; sets the error on failure. */
int billing__begin(billing_txn **tx, billing_ctx *ctx, const char *tenant_id, unsigned int kind);

/* Ends tx. rc < 0: rolls back and returns rc, keeping the error the call
 * failed with. rc >= 0: commits and returns BILLING_OK (a positive rc is not
 * passed on), or the commit's negative code when it failed (the backend has
 * rolled back; an injected commit failure is BILLING_ESTORAGE), with its
 * error set. Inline, so that "a failure stays a failure" is visible to
 * static analysis of the calling file (see billing__error_set). */
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
 * On PostgreSQL a get in a write transaction locks its row (FOR NO KEY
 * UPDATE: as FOR UPDATE, but it does not wait for the foreign-key checks of
 * rows that refer to it, which hold FOR KEY SHARE; with FOR UPDATE two
 * writers that each insert a subscription of one customer and then lock
 * that customer's balance deadlock every time) until the transaction ends; two transactions that take the same rows in
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
 *     invoice takes and holds to the end; or the tenant's credit-note
 *     counter (the credit_note_counters row, credit_note.c), which every
 *     new credit note takes after its payment (3, only when it refunds)
 *     and its invoice (3) and holds to the end. No write takes both
 *     counters, so the two never wait for each other; the credit-note
 *     counter comes after the invoice because a note is about one
 *     invoice, which its checks must hold (the credit left on it) before
 *     it takes a number that a failed check would have to give back.
 *  5. The balance of the invoice's customer (the customer row), which
 *     every new invoice takes after its number, and a credit note that
 *     credits the balance (or its void, which takes the credit back)
 *     after its counter; a balance change without an invoice (an
 *     adjustment, a void's give-back, a pause's credit) takes it without
 *     a counter. After it, only new rows and rows read without a lock.
 *
 * A batch of the billing run (run.c run_batch) is one transaction that
 * follows the same order per renewal, with the claim of the whole batch
 * first: (1) due_claim_many locks up to RUN_BATCH due rows at once, SKIP
 * LOCKED, so it never waits and two workers' batches are disjoint; then,
 * renewal after renewal in the claim's (due_at, tenant) order, (2) the
 * subscription's due row is the batch's own already (not asked again), (3)
 * the subscription FOR UPDATE and its plan FOR SHARE (read once per batch;
 * the share lock is held to the commit), (4) the tenant's invoice counter,
 * held from the tenant's first renewal of the batch to the commit, (5) the
 * renewal's customer (its balance), after the counter as everywhere. The
 * deferred inserts at the end (store_deferred.c) lock no existing row but
 * the parents their foreign keys check, which are the batch's own new
 * invoices and events. Why it cannot deadlock: any other write that
 * would lock a subscription of the batch takes its due row first (2) and
 * waits for the whole batch without holding anything the batch still
 * needs; another worker's batch holds other subscriptions, and where two
 * batches meet on one tenant's counter the second waits for the first's
 * commit while the first needs nothing the second holds (its own claimed
 * rows, shared plans, the counter it has). So one tenant's renewals are
 * serial across workers (the counter keeps numbers gapless); tenants
 * renew in parallel.
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

/* ------------------------------------------------------------ records */

/* The row (tenant, id) of res, held as lock says (BILLING_LOCK_*):
 * BILLING_LOCK_UPDATE for a row the write changes, a weaker lock for rows
 * it only depends on (above). */
int billing__read_batch(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb,
	void *payload);
/* As billing__read without a lock, for a row no renewal writes (a
 * tenant's settings): in a batch, a row found missing is remembered as
 * missing too, so a tenant that never set them is asked once per batch. */
int billing__read_settled(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, billing_row_cb cb, void *payload);
static inline int billing__read(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, unsigned int lock, billing_row_cb cb, void *payload)
{
	/* In a batch of the billing run, a row read without a lock for update
	 * is read once per batch (store_deferred.c). */
	return billing__read_batch(st, tx, res, tenant_id, id, lock, cb, payload);
}

/* As billing__read, the row locked for update in a write transaction. */
static inline int billing__get(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id, billing_row_cb cb, void *payload)
{
	return st->record_read(tx, res, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

/*
 * Lists (list_filters.c): every list reaches storage's record_list through
 * these. billing__list_records turns q's named filters (active, amounts,
 * currency, owner ids, status, period, type, created_after) and its sort
 * column into billing_filters and a sort field of res, after any filters q
 * has already; a named filter res cannot serve is BILLING_EINVALID
 * "invalid_filter". billing__list_query_resolve does only that, into out
 * (filters: room for cap of them).
 */
int billing__list_query_resolve(billing_list_query *out, billing_filter *filters,
	size_t cap, const billing_resource *res, const billing_list_query *q);
int billing__list_records(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const billing_list_query *q, billing_row_cb cb, void *payload);
/* Every row of the tenant (tenant_id NULL: of every tenant, in a platform
 * transaction) that meets the filters, in creation order. */
int billing__list_all(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const billing_filter *filters, size_t filter_count,
	billing_row_cb cb, void *payload);
/* Every row of the tenant, soft-deleted ones too, in creation order, in one
 * statement (the checks and reports that count what was ever made). */
int billing__list_all_with_deleted(billing_storage *st, billing_txn *tx,
	const billing_resource *res, const char *tenant_id, billing_row_cb cb, void *payload);
/* How many rows meet the filters (with_deleted: soft-deleted ones too). */
int billing__count_records(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const billing_filter *filters, size_t filter_count,
	int with_deleted, int64_t *count);
/* The one row that meets the filters, read again by its id as lock says:
 * BILLING_ENOTFOUND when there is none (a lookup by a unique pair of
 * fields, such as a payment by its provider's reference). */
int billing__find(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const billing_filter *filters, size_t filter_count,
	unsigned int lock, billing_row_cb cb, void *payload);
/*
 * Rows keyed by their owner (store.c): invoice lines and pending lines
 * (billing_line_record), a delivery's attempts. list_owned hands the
 * owner's rows to cb in their order (line_no, attempt_no);
 * owned_delete removes them all (none is no error); lines_insert writes
 * count lines numbered from first_no; pending_line_add numbers the line
 * after those waiting. record_put writes a row that has no version (the
 * dunning policy): the update, or the insert when there is no row yet.
 */
int billing__list_owned(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *owner_id, billing_row_cb cb, void *payload);
int billing__owned_delete(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *owner_id);
int billing__lines_insert(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *owner_id, const billing_invoice_line *lines,
	size_t count, int32_t first_no);
int billing__pending_line_add(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const char *subscription_id, const billing_invoice_line *line);
/* Writes the one row of a resource without a version (update, else
 * insert). Two first writes at once: the loser gets BILLING_EBUSY
 * "serialization_failure", so call it inside BILLING__RETRY. */
int billing__record_put(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const void *rec);

/*
 * Deferred inserts (store_deferred.c), the set-based writes of the billing
 * run's batches. billing__insert is record_insert, except between
 * billing__defer_begin(tx) and the flush or end: then the rows of tx for
 * the invoices, invoice lines, events and webhook deliveries are copied
 * and kept, and billing__defer_flush writes them, one record_insert_many
 * per table (parents first), and ends the deferral, whatever it returns.
 * A row of another table inserted through billing__insert while rows wait
 * whose descriptor refers to a deferred table (a balance transaction's
 * invoice) has the waiting rows written first, so its foreign key holds.
 * billing__defer_end drops what is kept (a batch that failed). Only code
 * that never reads those rows back in the same transaction may run while
 * they are deferred: the renewal (billing__subscription_advance) does not.
 * Per thread; one transaction at a time.
 */
int billing__insert(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const void *rec);
void billing__defer_begin(billing_txn *tx);
int billing__defer_flush(billing_storage *st, billing_txn *tx);
void billing__defer_end(void);
/*
 * Also in a batch (store_deferred.c): billing__read (above) hands out rows
 * read shared or without a lock again from memory; billing__batch_hold
 * names the renewal in hand, whose due work the batch claimed, and
 * billing__batch_holds says so (billing__due_lock then asks nothing);
 * billing__batch_no_pending sets *none when the subscription surely has
 * no pending lines (one read of the tenant's per batch), else leaves it
 * false. Outside a batch's transaction they do nothing.
 */
void billing__batch_hold(billing_txn *tx, const char *tenant_id, const char *id);
bool billing__batch_holds(billing_txn *tx, const char *tenant_id, const char *kind,
	const char *id);
int billing__batch_no_pending(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *subscription_id, bool *none);
/* The same for a customer's live discounts, at either level
 * (invoice_discount.c): *none when the customer surely has none. */
int billing__batch_no_discount(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, bool *none);
/* The same for a customer's taxExempt (invoice_tax.c): *none when the
 * customer is surely taxed as usual ("none"). */
int billing__batch_not_exempt(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, bool *none);
/* The same for the subscription's invoice items waiting (invoice_item.c). */
int billing__batch_no_items(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *subscription_id, bool *none);
/* record_update; in a batch, a row whose descriptor refers to a deferred
 * table has the waiting rows written first (as billing__insert). */
int billing__update(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const void *rec, int64_t old_version);

/* Locks the due work (kind, resource) of the transaction's tenant, step 2
 * above: BILLING_OK also when there is none. With skip_locked,
 * BILLING_ENOTFOUND when there is none or another transaction holds it. */
static inline int billing__due_lock(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const char *kind, const char *resource_id, int skip_locked)
{
	int rc;
	/* The batch's claim holds the due work of the renewal in hand. */
	if (billing__batch_holds(tx, tenant_id, kind, resource_id))
		return BILLING_OK;
	rc = st->due_lock(tx, tenant_id, kind, resource_id, skip_locked);
	return rc == BILLING_ENOTFOUND && !skip_locked ? BILLING_OK : rc;
}

#endif
