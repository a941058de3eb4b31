/*
 * Customer balances inside the library (the public API is
 * billing/customer_balance.h): what invoicing and subscriptions call, in
 * their own transaction, to apply a customer's balance to an invoice and
 * to credit or debit it.
 *
 * Lock order (txn.h): the customer's row is held for update from the
 * first read of its balance to the end of the transaction. Invoicing takes
 * it after the subscription and before the tenant's invoice counter.
 */
#ifndef BILLING_CORE_CUSTOMER_BALANCE_H
#define BILLING_CORE_CUSTOMER_BALANCE_H

#include "billing/customer_balance.h"
#include "core/core.h"

/* The customer's balance in currency (0 when it never had one), its row
 * held for update. BILLING_ENOTFOUND when the tenant has no such customer. */
int billing__balance_get(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *currency, int64_t *balance);

/* The same read without a lock, for a preview (a read-only transaction):
 * nothing is held, nothing written. */
int billing__balance_peek(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *currency, int64_t *balance);

/*
 * Stripe's application of a balance to an invoice of total `total` that
 * starts at balance `starting`: *amount_due = max(0, total + starting),
 * *ending = min(0, total + starting). BILLING_EOVERFLOW when the sum does
 * not fit.
 */
int billing__balance_split(int64_t total, int64_t starting, int64_t *amount_due,
	int64_t *ending);

/*
 * Writes a balance transaction of amount (not 0) in currency for the
 * customer: the customer's balance moves by amount, the transaction
 * records the balance after it (*ending, when not NULL), the events
 * "customer_balance_transaction.created" and "customer.balance_changed" are
 * written. invoice_id and description may be NULL. BILLING_ENOTFOUND (no
 * such customer), BILLING_EOVERFLOW.
 */
int billing__balance_record(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *currency, billing_balance_transaction_type type,
	int64_t amount, const char *invoice_id, const char *description, int64_t *ending);

/* The same for a credit note (credit_note.c): type credit_note, naming the
 * note and its invoice; amount < 0 when the note credits the balance, > 0
 * when its void takes the credit back. */
int billing__balance_record_credit_note(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id, const char *currency, int64_t amount,
	const char *invoice_id, const char *credit_note_id);

/*
 * For an invoice being finalized whose row exists already (a draft): reads
 * the customer's balance in the invoice's currency (locking it), applies
 * it to total as billing__balance_split says and, when the balance moves,
 * writes the applied_to_invoice transaction. *starting, *ending and
 * *amount_due receive what the invoice shows. Call it before taking the
 * invoice number (lock order). billing__invoice_issue does the same for
 * the invoices it makes.
 */
int billing__balance_apply_to_invoice(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id, const char *currency,
	const char *invoice_id, int64_t total, int64_t *starting, int64_t *ending,
	int64_t *amount_due);

/* For billing_check: a balance that is not the sum of its transactions
 * (balance, sum), or a malformed one (what: why; else NULL). */
typedef void (*billing__balance_report_fn)(void *payload, const char *customer_id,
	const char *currency, int64_t balance, int64_t sum, const char *what);

/* Compares every balance of the tenant's customers with the sum of their
 * transactions, calling report for each that differs. */
int billing__balance_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__balance_report_fn report, void *payload);

#endif
