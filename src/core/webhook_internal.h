/*
 * What events and the billing run need from outbound webhooks: the outbox
 * fan-out in the transaction of an event, and the due work that delivers
 * ("delivery") and prunes ("prune").
 */
#ifndef BILLING_CORE_WEBHOOK_INTERNAL_H
#define BILLING_CORE_WEBHOOK_INTERNAL_H

#include "core/core.h"

#define BILLING__DUE_DELIVERY "delivery"

#define BILLING__WEBHOOK_URL_MAX 2048
#define BILLING__WEBHOOK_SECRET_MAX 64   /* "whsec_" + base64 of 32 bytes + NUL */

/* An endpoint as the library holds it (opaque in billing/webhook.h). */
struct billing_webhook_endpoint {
	char *tenant_id;
	char *id;
	char *url;
	char *event_types;           /* ",a,b," */
	char *description;
	char *disabled_reason;
	char *secret_stored;         /* never shown through the getters */
	char *previous_secret;
	int64_t previous_secret_until;
	int32_t dead_in_row;
	int enabled;
	int64_t created_at, updated_at, version;
	char **types;                /* split event_types */
	size_t type_count;
	char *shown_secret;          /* owned: set by create and rotate only */
};

/*
 * Secrets still inside a rotation's overlap. Each rotation promises its
 * old secret an overlap, so after rotations in quick succession several old
 * secrets may be live at once: the endpoint's previous_secret holds them
 * all, newest first, as "whsec_...:UNTIL" separated by spaces (a lone
 * "whsec_..." without ":UNTIL", as written before, lives until
 * previous_secret_until, which is always the latest of them). At most
 * BILLING__WEBHOOK_OLD_SECRETS: a rotation that would need more is refused.
 */
#define BILLING__WEBHOOK_OLD_SECRETS 4
typedef struct {
	char secret[BILLING__WEBHOOK_SECRET_MAX];
	int64_t until;
} billing__webhook_old_secret;
/* The old secrets of e still live at now, newest first; how many. */
size_t billing__webhook_old_secrets(billing__webhook_old_secret *out, const char *packed,
	int64_t legacy_until, int64_t now);

/* What webhook_endpoint.c, webhook_outbox.c and webhook_delivery.c share.
 * A new endpoint (billing_webhook_endpoint_free) made from a
 * billing_webhook_endpoint_record, or NULL (out of memory): */
void *billing__webhook_endpoint_from_record(const void *record);
/* The record of e, borrowing e's strings. */
void billing__webhook_endpoint_record(billing_webhook_endpoint_record *r,
	const billing_webhook_endpoint *e);
/* Endpoints and deliveries sort by creation only. */
extern const billing__sort_spec billing__webhook_sorts[];
/* Due work of kind for id at when (replacing any). */
int billing__webhook_due_at(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *kind, const char *id, int64_t when);

/* Inside the event's transaction: one delivery, due now, per enabled
 * endpoint of the tenant that wants type — except to the endpoint the event
 * is about (its own creation or change). */
int billing__webhook_fanout(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *event_id, const char *type, const char *resource_id, int64_t now);

/*
 * The fan-out's cache of enabled endpoints (webhook_endpoint_cache.c), one
 * per context: a tenant's endpoints as (id, event types) pairs, packed in
 * blob as "id\0types\0" count times, kept under the tenant's endpoints
 * version (billing_storage.endpoints_version). get copies the entry of
 * (tenant, version) into *out (free it with billing__endpoint_list_free);
 * false when there is none. put keeps a copy of l under (tenant, version).
 */
typedef struct billing__endpoint_cache billing__endpoint_cache;
typedef struct {
	char *blob;
	size_t len, cap, count;
} billing__endpoint_list;
billing__endpoint_cache *billing__endpoint_cache_new(void);
void billing__endpoint_cache_free(billing__endpoint_cache *c);
int billing__endpoint_list_add(billing__endpoint_list *l, const char *id, const char *types);
void billing__endpoint_list_free(billing__endpoint_list *l);
bool billing__endpoint_cache_get(billing__endpoint_cache *c, const char *tenant_id,
	int64_t version, billing__endpoint_list *out);
void billing__endpoint_cache_put(billing__endpoint_cache *c, const char *tenant_id,
	int64_t version, const billing__endpoint_list *l);

/* A delivery ready to send, made inside the run's transaction (with a lease
 * on its due work); sent and recorded after the commit. */
typedef struct billing__delivery_job billing__delivery_job;

/* *job is NULL when there is nothing to send (delivered, dead, endpoint
 * gone: recorded here). */
int billing__delivery_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *delivery_id, int64_t now, billing__delivery_job **job);

void billing__delivery_job_free(billing__delivery_job *job);

/*
 * Deliveries sent concurrently (no transaction held), as a sliding window:
 * at most BILLING__DELIVERY_IN_FLIGHT exchanges at once, at most
 * BILLING__DELIVERY_PER_ENDPOINT of them to one endpoint, so one slow
 * receiver holds only its own slots; as each exchange ends another starts,
 * from the queued deliveries or, when none of them can start, from the
 * batch's refill (the run claims the next due delivery), so a hanging
 * exchange delays nothing but its own endpoint's. A delivery is stamped
 * and signed when its exchange starts, and read again (and leased anew)
 * first when it is a retry, when an outcome of the batch changed an
 * endpoint since its claim, or when the claim is more than
 * BILLING__DELIVERY_FRESH seconds old; its attempt is recorded when it ends; a first
 * retry due within BILLING__DELIVERY_RETRY_IN_BATCH seconds is made in the
 * same batch while other exchanges are under way. An endpoint whose
 * circuit is open (billing__circuit_admit) is not sent to: its deliveries
 * wait without an attempt. Through the transport's send_batch (version 2),
 * or one after another.
 */
#define BILLING__DELIVERY_BATCH 64      /* queued before the window starts */
#define BILLING__DELIVERY_WINDOW 128    /* queued and in flight at most */
#define BILLING__DELIVERY_IN_FLIGHT 64
#define BILLING__DELIVERY_PER_ENDPOINT 16
#define BILLING__DELIVERY_RETRY_IN_BATCH 10
#define BILLING__DELIVERY_FRESH 30      /* seconds a claim is sent without a read */
typedef struct billing__delivery_batch billing__delivery_batch;
/*
 * The window's refill: the next due delivery claimed and leased into *job
 * (NULL: the claimed item needed no exchange). 1: an item was claimed; 0:
 * none (nothing due at the queue's head is a delivery, or the run's budget
 * is spent): the window then drains.
 */
typedef int (*billing__delivery_refill_fn)(void *payload, billing__delivery_job **job);
/* NULL: out of memory (error set). run_now: the run's time. refill may be
 * NULL (only what is added is sent). */
billing__delivery_batch *billing__delivery_batch_new(billing_ctx *ctx, int64_t run_now,
	billing__delivery_refill_fn refill, void *refill_payload);
/* Takes job; returns how many are queued (at most BILLING__DELIVERY_BATCH:
 * send before adding more). */
size_t billing__delivery_batch_add(billing__delivery_batch *b, billing__delivery_job *job);
/* Sends and records every queued delivery, and what the refill claims
 * while the window has room; the batch is empty after. */
void billing__delivery_batch_send(billing__delivery_batch *b);
void billing__delivery_batch_free(billing__delivery_batch *b);

/*
 * The circuit of an endpoint (webhook_delivery_circuit.c, state in the
 * context): BILLING__CIRCUIT_TIMEOUTS timeouts in a row open it for
 * BILLING__CIRCUIT_OPEN seconds, then one delivery is let through as a
 * trial; an answer closes it, a timeout of the trial opens it again for
 * twice as long, up to BILLING__CIRCUIT_OPEN_MAX.
 * admit: 1 when a delivery to endpoint_id may be sent now, 2 when it may
 * as the circuit's trial; 0 when it must wait, until *until (the context's
 * clock).
 * outcome: the end of an exchange sent to endpoint_id.
 * cancel: the trial admitted was not sent after all.
 */
#define BILLING__CIRCUIT_TIMEOUTS 3
#define BILLING__CIRCUIT_OPEN 60
#define BILLING__CIRCUIT_OPEN_MAX 3600
int billing__circuit_admit(billing_ctx *ctx, const char *endpoint_id, int64_t now,
	int64_t *until);
void billing__circuit_outcome(billing_ctx *ctx, const char *endpoint_id, int timed_out,
	int64_t now);
void billing__circuit_cancel(billing_ctx *ctx, const char *endpoint_id);

/* Deletes every tenant's events older than the context's retention (with
 * their deliveries), in batches of their own transactions. */
int billing__prune_all(billing_ctx *ctx, int64_t now);

#endif
