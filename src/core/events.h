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

#endif
