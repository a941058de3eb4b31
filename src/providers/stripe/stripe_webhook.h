/*
 * Stripe's webhook signature scheme and event format, shared by the Stripe
 * provider and the test provider (which speaks the same format so that
 * tests and development exercise the same path).
 *
 * Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>[,v1=...]
 * The secret is used as given ("whsec_..." bytes). Any v1 candidate may
 * match any of the configured secrets (rotation); comparisons are constant
 * time; |now - t| must be within tolerance seconds.
 */
#ifndef BILLING_PROVIDERS_STRIPE_WEBHOOK_H
#define BILLING_PROVIDERS_STRIPE_WEBHOOK_H

#include "billing/sys/provider.h"

/*
 * Verifies the Stripe-Signature header of headers over body, then parses
 * the event (payment_intent.* with our metadata tenant_id / payment_id /
 * invoice_id, charge.refunded, charge.dispute.created / .updated / .closed
 * (with status and evidence_details.due_by); any other type is
 * BILLING_PROVIDER_EVENT_IGNORED with id, type_name and created set).
 * Returns BILLING_OK; BILLING_EINVALID with reason "signature" (missing or
 * malformed header, no matching candidate, outside the tolerance) or
 * "malformed" (not a JSON event object). Sets the thread's error; never
 * puts a secret or a signature in a message.
 */
int billing__stripe_webhook_parse(const char *const *secrets, size_t nsecrets, long tolerance,
	const billing_header *headers, size_t nheaders, const char *body, size_t len, int64_t now,
	billing_provider_event *out);

/*
 * Writes the Stripe-Signature header value for body signed with secret at
 * time t ("t=...,v1=..."), as Stripe would: for tests and the test
 * provider. BILLING_OK, or BILLING_EINVALID when out is too small.
 */
int billing__stripe_webhook_sign(char *out, size_t size, const char *secret, int64_t t,
	const char *body, size_t len);

#endif
