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

/* What a payment of one of its invoices means for a subscription. */
typedef enum {
	BILLING__SUB_PAYMENT_FAILED = 1,  /* active -> past_due */
	BILLING__SUB_PAYMENT_RECOVERED,   /* past_due or unpaid -> active */
	BILLING__SUB_RETRIES_EXHAUSTED,   /* -> canceled now (the dunning policy's cancel) */
	BILLING__SUB_RETRIES_EXHAUSTED_UNPAID /* past_due -> unpaid (the policy's unpaid) */
} billing__sub_payment;

/* Inside the payment's transaction: applies what to the subscription (no
 * change when its status does not take it) with its event. at is when it
 * took effect: the scheduled time of the attempt that decided it (a late
 * run applies it later); a cancellation ends the subscription then, or at
 * the start of its current period when it was renewed after that time. */
int billing__subscription_payment(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, billing__sub_payment what, int64_t at, int64_t now);

/* The subscription's status, read in tx; 0 when it does not exist. */
int billing__subscription_status_in(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int *status);

#endif
