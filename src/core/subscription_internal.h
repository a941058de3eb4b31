/*
 * What the billing run and plans need from subscriptions.
 */
#ifndef BILLING_CORE_SUBSCRIPTION_INTERNAL_H
#define BILLING_CORE_SUBSCRIPTION_INTERNAL_H

#include "core/core.h"

/* BILLING_OK when the transition table allows from -> to, else
 * BILLING_ECONFLICT "invalid_transition". */
int billing__subscription_transition(int from, int to);

/*
 * Inside the run's transaction (already moved to tenant_id): does the one
 * step due at the subscription's current period end, if it is due at now:
 * ends a trial, renews (invoicing the new period), cancels at period end or
 * expires at the end of the term. *invoiced is 1 when an invoice was made.
 */
int billing__subscription_advance(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now, int *invoiced);

#endif
