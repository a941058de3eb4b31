/*
 * The context (struct billing_ctx) as the core's modules see it, its clock,
 * its logger, and whether its schema is current.
 */
#ifndef BILLING_CORE_CTX_H
#define BILLING_CORE_CTX_H

#include <pthread.h>
#include <stdint.h>

#include "billing/billing.h"
#include "billing/sys/storage.h"
#include "billing/sys/transport.h"
#include "core/errors.h"
#include "core/ids.h"

#define BILLING__MAX_SUBSCRIBERS 16
#define BILLING__CIRCUITS 64

/* A webhook endpoint whose exchanges timed out (webhook_delivery_circuit.c);
 * endpoint_id "" is a free slot. */
typedef struct {
	char endpoint_id[BILLING_ID_MAX];
	int32_t timeouts;           /* in a row */
	int trial;                  /* half open: one exchange under way */
	int64_t open_until;         /* 0: closed */
	int64_t open_for;           /* seconds of the last opening */
} billing__circuit;

typedef struct {
	billing_event_fn fn;
	void *user_data;
} billing__subscriber;

struct billing_ctx {
	billing_storage *st;
	billing_clock_fn clock;
	void *clock_payload;
	billing_log_fn logger;
	void *logger_payload;
	billing_log_level log_level;
	unsigned int default_page_size;
	unsigned int max_page_size;
	struct billing__hmac_key *cursor_mac; /* signs list cursors; key kept in the database */
	int schema_current;         /* no pending migrations */
	billing_provider *provider; /* NULL: no collection */
	/* version 3 options */
	int webhook_allow_http;
	int webhook_allow_private;
	long webhook_timeout_ms;
	int64_t event_retention;    /* seconds; 0: kept for ever */
	billing_transport *transport; /* version 4; NULL: billing_transport_default() */
	int64_t payment_action_expiry; /* version 5; 0: BILLING__PAYMENT_ACTION_EXPIRY */
	/* version 6: the keys sealing tenants' provider secrets (core/seal.h) */
	int has_secrets_key;
	int has_secrets_key_old;
	unsigned char secrets_key[32];
	unsigned char secrets_key_old[32];
	pthread_mutex_t subscribers_mu;
	billing__subscriber subscribers[BILLING__MAX_SUBSCRIBERS];
	size_t subscriber_count;    /* read without the lock: it only grows */
	/* provider answers that failed, by class, since open (__atomic) */
	int64_t provider_declines, provider_config_errors, provider_unknown;
	/* the outbox's enabled endpoints per tenant (webhook_endpoint_cache.c);
	 * NULL: none (out of memory at open) */
	struct billing__endpoint_cache *endpoint_cache;
	/* webhook endpoints set aside after timeouts (webhook_delivery_circuit.c) */
	pthread_mutex_t circuit_mu;
	billing__circuit circuits[BILLING__CIRCUITS];
};

int64_t billing__now(billing_ctx *ctx);

/* billing_check() of one tenant (the fault-injection tests). */
int billing__check_tenant(billing_ctx *ctx, const char *tenant_id, billing_check_fn fn,
	void *user_data, int64_t *problems);
void billing__log(billing_ctx *ctx, billing_log_level level, const char *fmt, ...)
	BILLING__PRINTF(3, 4);

/* BILLING_OK when the schema is current, else BILLING_ESTORAGE. */
int billing__ready(billing_ctx *ctx);

#endif
