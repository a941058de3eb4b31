/**
 * @file billing/payment_method.h
 * @brief A customer's stored payment methods (ids "cpm_..."), by reference.
 *
 * The library never sees a card number. A front end confirms a SetupIntent
 * (billing_setup_intent_create) with the provider's client secret; the
 * provider then holds the card as a payment method ("pm_..." at Stripe),
 * and billing_payment_method_attach stores a reference to it: the
 * provider's id, type "card", and what the provider reports of the card
 * (brand, last four digits, expiry month and year).
 *
 * The customer's default payment method stays the customer's
 * defaultPaymentMethod (billing/customer.h): the provider's id, which
 * renewals charge off-session. An update of it may name a stored payment
 * method by its id ("cpm_..."): the library stores the provider's id it
 * stands for. A provider's id given directly is taken as before.
 *
 * Events (and audit rows): "payment_method.created" when one is attached,
 * "payment_method.deleted" when detached, "customer.updated" when the
 * customer's default changes or the provider's customer is made for it
 * (metadata provider_customer_id), and "payment_method.expiring" from the
 * billing run at the start of the card's expiry month (UTC), once.
 */
#ifndef BILLING_PAYMENT_METHOD_H
#define BILLING_PAYMENT_METHOD_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

/* "billing_stored_payment_method", not "billing_payment_method": that name
 * is the getter of a payment's method (billing/payment.h). */
typedef struct billing_payment_method billing_stored_payment_method;

#define BILLING_PAYMENT_METHOD_PARAMS_VERSION 1

/** What billing_payment_method_attach stores. */
typedef struct {
	unsigned int version;          /**< BILLING_PAYMENT_METHOD_PARAMS_VERSION */
	const char *customer_id;       /**< required: our customer ("cus_...") */
	const char *provider_ref;      /**< required: the provider's payment method ("pm_...") */
} billing_payment_method_params;

#define BILLING_PAYMENT_METHOD_PARAMS_INIT { BILLING_PAYMENT_METHOD_PARAMS_VERSION, 0, 0 }

/**
 * Stores the provider's payment method provider_ref for the customer
 * (ADMIN). The provider is asked first (outside any transaction) for the
 * card's details and attaches it to the provider's customer, which is made
 * when the customer has none yet. Idempotent by opts' key.
 * @param out receives the stored payment method (free with billing_payment_method_free)
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID naming the field
 *         (customerId that names no customer of the tenant: resource_missing;
 *         providerPaymentMethodId malformed, or unknown to the provider:
 *         resource_missing; expired_card); BILLING_EEXISTS
 *         (providerPaymentMethodId stored already); BILLING_ECONFLICT
 *         (attached_elsewhere: another customer's at the provider; no_provider:
 *         the context has none; provider_unsupported: it stores no payment
 *         methods; an idempotency mismatch); BILLING_EDECLINED
 *         (the provider refused the card); BILLING_EUNKNOWN_OUTCOME (the
 *         provider did not answer: try again)
 */
BILLING_EXTERN(int) billing_payment_method_attach(billing_stored_payment_method **out, billing_ctx *ctx,
	const billing_principal *who, const billing_payment_method_params *params,
	const billing_call_options *opts);

/** Fetches a stored payment method of the principal's tenant. */
BILLING_EXTERN(int) billing_payment_method_get(billing_stored_payment_method **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

/** Lists the tenant's stored payment methods; customer_id NULL: all. */
BILLING_EXTERN(int) billing_payment_method_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const char *customer_id, const billing_list_params *params);

/** Item i of a page from billing_payment_method_list (borrowed). */
BILLING_EXTERN(const billing_stored_payment_method *) billing_page_payment_method(
	const billing_page *page, size_t i);

/**
 * Detaches the payment method at the provider, then deletes it (ADMIN).
 * The customer's default is refused: BILLING_ECONFLICT with reason
 * payment_method_is_default (set another default, or clear it, first), so
 * renewals never lose their card silently.
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ECONFLICT;
 *         BILLING_EUNKNOWN_OUTCOME (the provider did not answer: nothing was
 *         deleted, try again)
 */
BILLING_EXTERN(int) billing_payment_method_detach(billing_ctx *ctx, const billing_principal *who,
	const char *id);

BILLING_EXTERN(void) billing_payment_method_free(billing_stored_payment_method *pm);

BILLING_EXTERN(const char *) billing_payment_method_id(const billing_stored_payment_method *pm);
BILLING_EXTERN(const char *) billing_payment_method_customer_id(const billing_stored_payment_method *pm);
BILLING_EXTERN(const char *) billing_payment_method_provider_ref(const billing_stored_payment_method *pm);
BILLING_EXTERN(const char *) billing_payment_method_brand(const billing_stored_payment_method *pm);
BILLING_EXTERN(const char *) billing_payment_method_last4(const billing_stored_payment_method *pm);
BILLING_EXTERN(int) billing_payment_method_exp_month(const billing_stored_payment_method *pm);
BILLING_EXTERN(int) billing_payment_method_exp_year(const billing_stored_payment_method *pm);

/** A SetupIntent the front end confirms (strings owned by the struct). */
typedef struct {
	char id[128];                  /**< the provider's id ("seti_...") */
	char client_secret[256];       /**< hand it to the customer's browser only */
	char status[64];               /**< "requires_payment_method", ... */
} billing_setup_intent;

/**
 * Makes a SetupIntent at the provider for off-session use by the customer
 * (ADMIN), making the provider's customer first when it has none. Nothing
 * is stored but, the first time, the provider's customer id (customer
 * metadata provider_customer_id).
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID (customerId:
 *         resource_missing); BILLING_ECONFLICT (no_provider,
 *         provider_unsupported); BILLING_EUNKNOWN_OUTCOME
 */
BILLING_EXTERN(int) billing_setup_intent_create(billing_setup_intent *out, billing_ctx *ctx,
	const billing_principal *who, const char *customer_id, const billing_call_options *opts);

BILLING_END_DECL

#endif
