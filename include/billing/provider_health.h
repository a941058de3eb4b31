/**
 * @file billing/provider_health.h
 * @brief Whether the payment provider accepts a tenant's requests.
 *
 * A provider answer that is the merchant's fault, not the customer's (a
 * revoked or wrong key, a missing permission, a request the provider will
 * never accept, a currency the account cannot take: a configuration error,
 * billing/sys/provider.h) pauses automatic collection for that tenant only.
 * The attempt stays pending (retryable), the invoice, the subscription and
 * the customer's dunning are untouched, and the event provider.unhealthy is
 * written once. The billing run then probes with one attempt after 1
 * minute, the wait doubling up to 1 hour; the first answer the provider
 * gives about a payment (a success or a decline alike) ends the pause,
 * with the event provider.healthy. The state is stored, so it survives a
 * restart and is shared by every process of the database.
 */
#ifndef BILLING_PROVIDER_HEALTH_H
#define BILLING_PROVIDER_HEALTH_H

#include "common.h"
#include "ctx.h"
#include "principal.h"

BILLING_BEGIN_DECL

/** A tenant's provider health: a value, nothing to free. */
typedef struct {
	int healthy;              /**< 1: collection runs; 0: paused */
	int64_t since;            /**< paused since (UTC seconds); 0 when healthy */
	int64_t next_probe_at;    /**< when the run tries one attempt again; 0 when healthy */
	int http_status;          /**< the provider's HTTP status that paused it (401...) */
	char code[64];            /**< the provider's error code ("authentication_error") */
} billing_provider_health;

/**
 * The provider health of the principal's tenant. Any role that may read
 * payments may read it.
 *
 * @param out filled on success
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_ESTORAGE or BILLING_ERROR
 */
BILLING_EXTERN(int) billing_provider_health_get(billing_provider_health *out, billing_ctx *ctx,
	const billing_principal *who);

/**
 * How many tenants have collection paused, across the database: for a
 * host's readiness report and metrics (the operator's view; no principal).
 *
 * @param count receives the number
 * @return BILLING_OK; BILLING_ESTORAGE or BILLING_ERROR
 */
BILLING_EXTERN(int) billing_provider_health_unhealthy_count(billing_ctx *ctx, int64_t *count);

/** Failed provider answers this context has seen since it was opened, by
 *  class (the process's own counts, for metrics). */
typedef struct {
	int64_t declined;         /**< the payment was refused (the customer's) */
	int64_t config;           /**< configuration errors (the merchant's) */
	int64_t unknown;          /**< no answer: timeouts, lost connections */
} billing_provider_error_counts;

/** Fills out with the counts; a NULL ctx or out does nothing. */
BILLING_EXTERN(void) billing_provider_error_counts_get(billing_ctx *ctx,
	billing_provider_error_counts *out);

BILLING_END_DECL

#endif
