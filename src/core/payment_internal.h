/*
 * What the billing run needs from payments: the three kinds of due work
 * that talk to the provider ("collect" an invoice, resolve a "payment"
 * whose answer is pending or lost, resolve a "refund"), each split in two
 * around the provider call, which never runs inside a transaction.
 *
 * begin: inside the run's transaction (already claimed and moved to the
 * tenant): writes what is about to be asked (the attempt, and a lease: the
 * item's due time moved LEASE seconds ahead, so that a crash before the
 * answer is recorded leaves work that asks again with the same key) and
 * fills the attempt. attempt->what is BILLING__ATTEMPT_NONE when there is
 * nothing to ask. After the commit, billing__attempt_run asks and records.
 */
#ifndef BILLING_CORE_PAYMENT_INTERNAL_H
#define BILLING_CORE_PAYMENT_INTERNAL_H

#include "core/core.h"
#include "billing/sys/provider.h"

#define BILLING__DUE_COLLECT "collect"
#define BILLING__DUE_PAYMENT "payment"
#define BILLING__DUE_REFUND "refund"

typedef enum {
	BILLING__ATTEMPT_NONE = 0,
	BILLING__ATTEMPT_CHARGE,       /* create/confirm (again, same key) */
	BILLING__ATTEMPT_RETRIEVE,     /* ask for the state of a known payment */
	BILLING__ATTEMPT_REFUND
} billing__attempt_what;

typedef struct {
	billing__attempt_what what;
	char tenant_id[BILLING_ID_MAX];
	char payment_id[BILLING_ID_MAX];
	char invoice_id[BILLING_ID_MAX];
	char customer_id[BILLING_ID_MAX];
	char refund_id[BILLING_ID_MAX];
	char currency[4];
	char payment_method[256];
	char customer_ref[256];
	char ref[BILLING_PROVIDER_REF_MAX];
	char key[BILLING_ID_MAX];
	char description[200];
	int64_t amount;
	int off_session;
} billing__attempt;

int billing__collect_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, int64_t now, billing__attempt *a);
int billing__payment_resolve_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *payment_id, int64_t now, billing__attempt *a);
int billing__refund_resolve_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *refund_id, int64_t now, billing__attempt *a);

/* Asks the provider (no transaction held) and records the answer in a
 * transaction of its own. res (may be NULL) receives the answer. */
int billing__attempt_run(billing_ctx *ctx, const billing__attempt *a,
	billing_provider_result *res);

/* Inline collection right after a call that issued an invoice committed:
 * the same as the run's "collect" work for that invoice, if it is due. */
void billing__collect_now(billing_ctx *ctx, const char *tenant_id, const char *invoice_id);

/* Inside a transaction: BILLING_ECONFLICT "payment_in_progress" when an
 * attempt of the invoice is in flight (a void must wait for it). */
int billing__invoice_payments_settled(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id);

#endif
