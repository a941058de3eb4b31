/*
 * What invoices and subscriptions need of invoice items (invoice_item.c):
 * the items waiting for an invoice, or on a draft, as invoice lines, and
 * moving them onto an invoice or back to waiting.
 */
#ifndef BILLING_CORE_INVOICE_ITEM_H
#define BILLING_CORE_INVOICE_ITEM_H

#include "core/core.h"

/* Items read in a transaction: owned records, and one line per item
 * whose strings are borrowed from its record. */
typedef struct {
	void **items;
	billing_invoice_line *lines;
	size_t n, cap;
} billing__items;

void billing__items_free(billing__items *it);

/* The items on invoice invoice_id, oldest first. */
int billing__items_of_invoice(billing__items *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *invoice_id);

/* The items waiting for an invoice (on none) of the subscription, or, with
 * subscription_id NULL, those of the customer that belong to no
 * subscription, in currency; oldest first. */
int billing__items_pending(billing__items *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id, const char *subscription_id,
	const char *currency);

/* Puts every item of it on invoice_id (NULL: waiting again), version + 1,
 * each with the event invoice_item.updated. */
int billing__items_attach(billing_ctx *ctx, billing_txn *tx, billing__items *it,
	const char *invoice_id);

/* The tenant's items waiting for an invoice (at most limit of them):
 * cb gets each one's subscription id (NULL: the customer's next draft);
 * *total receives how many wait. The billing run's batch reads this once
 * per tenant (store_deferred.c). */
int billing__items_waiting_scan(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	unsigned int limit, int (*cb)(void *payload, const char *subscription_id),
	void *payload, int64_t *total);

/*
 * A draft's lines and sums made again from its items (invoice_draft.c),
 * with the event invoice.updated. BILLING_ECONFLICT "invoice_not_draft"
 * when it is finalized.
 */
int billing__invoice_draft_refresh(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, const billing__items *it);

#endif
