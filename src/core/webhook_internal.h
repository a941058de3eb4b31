/*
 * What events and the billing run need from outbound webhooks: the outbox
 * fan-out in the transaction of an event, and the due work that delivers
 * ("delivery") and prunes ("prune").
 */
#ifndef BILLING_CORE_WEBHOOK_INTERNAL_H
#define BILLING_CORE_WEBHOOK_INTERNAL_H

#include "core/core.h"

#define BILLING__DUE_DELIVERY "delivery"

/* Inside the event's transaction: one delivery, due now, per enabled
 * endpoint of the tenant that wants type — except to the endpoint the event
 * is about (its own creation or change). */
int billing__webhook_fanout(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *event_id, const char *type, const char *resource_id, int64_t now);

/* A delivery ready to send, made inside the run's transaction (with a lease
 * on its due work); sent and recorded after the commit. */
typedef struct billing__delivery_job billing__delivery_job;

/* *job is NULL when there is nothing to send (delivered, dead, endpoint
 * gone: recorded here). */
int billing__delivery_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *delivery_id, int64_t now, billing__delivery_job **job);

/* Sends the POST (no transaction held) and records the attempt; frees job. */
int billing__delivery_run(billing_ctx *ctx, billing__delivery_job *job);
void billing__delivery_job_free(billing__delivery_job *job);

/* Deletes every tenant's events older than the context's retention (with
 * their deliveries), in batches of their own transactions. */
int billing__prune_all(billing_ctx *ctx, int64_t now);

#endif
