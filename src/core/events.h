/*
 * Domain events: every state change writes one, in the transaction of the
 * change (a transactional outbox: a rolled-back change leaves no event).
 * The event carries the resource as the JSON layer shows it.
 */
#ifndef BILLING_CORE_EVENTS_H
#define BILLING_CORE_EVENTS_H

#include "core/core.h"
#include "core/json_out.h"

/* Writes "<type>" for the item, whose JSON form to_json makes. */
int billing__event_emit(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *type, const char *resource_type, const char *resource_id,
	cJSON *(*to_json)(const void *item), const void *item);

/*
 * The call in progress on this thread, for what its writes record beside
 * the change: events carry its request id and idempotency key, the audit
 * log its principal and operation. Set by billing__authorize (principal,
 * operation: it starts every public call) and billing__idem_init (the
 * call's options); cleared by calls that act for nobody (the billing run,
 * inbound provider webhooks).
 */
void billing__scope_call(const billing_principal *who, billing__op op);
/* The same for an operation outside the op table (a descriptor's). */
void billing__scope_call_named(const billing_principal *who, const char *name, bool mutating);
void billing__scope_options(const char *idempotency_key, const char *request_id);
void billing__scope_clear(void);
/* The JSON layer pins its call's options for everything the call does;
 * unpin when it returns. */
void billing__scope_pin(const char *idempotency_key, const char *request_id);
void billing__scope_unpin(void);

/* Inside tx, after a mutating call's change: its audit-log row (tenant
 * calls only; the principal and operation come from the scope). */
int billing__audit_record(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *resource_id);

/* Transactions and in-process subscribers: events written in a transaction
 * are handed to the context's subscribers after it commits, and dropped
 * when it rolls back. */
void billing__events_txn_begin(void);
void billing__events_txn_end(billing_ctx *ctx, int committed);

#endif
