/*
 * Disputes inside the library (the public API is billing/dispute.h): the
 * hook the inbound provider events call.
 */
#ifndef BILLING_CORE_DISPUTE_H
#define BILLING_CORE_DISPUTE_H

#include "billing/sys/provider.h"
#include "core/core.h"

struct billing_payment;

/*
 * Inside the webhook's transaction: records what a charge.dispute.* event
 * (ev) says of a dispute of payment p (the event already matched to it).
 * Creates the dispute when it is new (from any of the three events: an
 * "updated" before "created" creates it; also writes "payment.disputed"),
 * else applies the event unless it is older than the last one applied, a
 * late "created", or the dispute is closed already. *applied is set to 1
 * when something changed (events "dispute.created", "dispute.updated",
 * "dispute.closed"). BILLING_EINVALID "payment_mismatch" when the provider's
 * dispute is recorded against another payment.
 */
int billing__dispute_apply(billing_ctx *ctx, billing_txn *tx, const struct billing_payment *p,
	const billing_provider_event *ev, int *applied);

#endif
