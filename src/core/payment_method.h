/*
 * Stored payment methods inside the library (the public API is
 * billing/payment_method.h): the hooks of customer updates and of the
 * billing run.
 */
#ifndef BILLING_CORE_PAYMENT_METHOD_H
#define BILLING_CORE_PAYMENT_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Due work: a stored card's "payment_method.expiring" reminder. */
#define BILLING__DUE_CARD_EXPIRY "card_expiry"

/*
 * A customer's defaultPaymentMethod as given to an update (inside its
 * transaction), into out: a stored payment method's id ("cpm_...") becomes
 * the provider's id it stands for, and must be one of this customer's
 * (else BILLING_EINVALID resource_missing on defaultPaymentMethod); any
 * other value (a provider's id, as before stored methods) is kept as given.
 */
int billing__payment_method_default(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *given, char *out, size_t size);

/* The billing run's step for due work BILLING__DUE_CARD_EXPIRY of id:
 * writes "payment_method.expiring" unless the card is gone or expired
 * already, and clears the item (so the event is written once). */
int billing__payment_method_expiring(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now);

#endif
