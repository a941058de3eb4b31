/**
 * @file billing/providers.h
 * @brief The payment providers that come with the library.
 *
 * A provider is handed to billing_ctx_open() in billing_ctx_options.provider
 * and the context owns it from then on.
 *
 * @code
 * billing_provider *pay = NULL;
 * billing_stripe_options so = BILLING_STRIPE_OPTIONS_INIT;
 * so.api_key = getenv("STRIPE_API_KEY");
 * so.webhook_secrets = (const char *[]){ getenv("STRIPE_WEBHOOK_SECRET") };
 * so.webhook_secret_count = 1;
 * if (billing_stripe_provider_new(&pay, &so) < 0) ...
 * opts.provider = pay;
 * @endcode
 */
#ifndef BILLING_PROVIDERS_H
#define BILLING_PROVIDERS_H

#include "common.h"
#include "ctx.h"

BILLING_BEGIN_DECL



/* ------------------------------------------------------------ test provider */

#define BILLING_TEST_PROVIDER_OPTIONS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_TEST_PROVIDER_OPTIONS_VERSION */
	/** Secret for its inbound webhooks (the Stripe-Signature scheme), or NULL. */
	const char *webhook_secret;
} billing_test_provider_options;

#define BILLING_TEST_PROVIDER_OPTIONS_INIT { BILLING_TEST_PROVIDER_OPTIONS_VERSION, 0 }

/**
 * The deterministic in-process provider, for development and tests. Its
 * outcome depends on the payment method token:
 *
 * | token                             | outcome                                   |
 * |-----------------------------------|-------------------------------------------|
 * | pm_card_visa (and any other pm_)  | succeeded                                 |
 * | pm_card_chargeDeclined            | failed, code card_declined                |
 * | pm_card_insufficientFunds         | failed, code insufficient_funds           |
 * | pm_card_authenticationRequired    | requires_action until completed           |
 * | pm_card_processing                | pending; succeeded one hour (clock) later |
 * | pm_card_timeout                   | the answer is lost (the payment succeeds  |
 * |                                   | at the provider: asking again says so)    |
 *
 * Tokens not starting with "pm_" fail with code invalid_payment_method.
 *
 * Stored payment methods: customers ("cus_test_...") and SetupIntents
 * ("seti_test_...", client secret "<id>_secret_test") are made by
 * idempotency key. The tokens above can be attached to one customer each
 * in a tenant
 * (pm_card_visa: visa 4242, pm_card_mastercard: mastercard 4444,
 * pm_card_amex: amex 8431, the others visa), expiring 12/2099; a token of
 * the first three followed by "_exp_YYYY_MM" (pm_card_visa_exp_2027_12)
 * expires then. Any other token is unknown (resource_missing).
 * Charges are remembered by idempotency key, so a repeated charge returns
 * the first outcome and no second payment exists; as at Stripe, a key is
 * forgotten 24 hours (of the context's clock) after its charge, and find()
 * looks a charge up by our payment id. Refunds succeed.
 */
BILLING_EXTERN(int) billing_test_provider_new(billing_provider **out,
	const billing_test_provider_options *opts);

/** Completes a requires_action payment of the test provider (the customer
 *  authenticated, or failed to): it becomes succeeded or failed. */
BILLING_EXTERN(int) billing_test_provider_complete_action(billing_provider *p, const char *ref,
	int succeed);

/**
 * Makes the test provider refuse every charge and refund of a tenant (NULL:
 * of every tenant) as Stripe refuses a revoked key (401), a key without
 * the permission (403), a request it never accepts (400) or a missing
 * resource (404): a configuration error (provider.h), nothing made or
 * remembered. http_status 0 ends it (the key was fixed).
 *
 * @return BILLING_OK; BILLING_EINVALID for another status, an empty tenant
 *         id, or more than 16 refused tenants
 */
BILLING_EXTERN(int) billing_test_provider_refuse(billing_provider *p, const char *tenant_id,
	int http_status);

/** How many payments the test provider holds (money moved), for tests. */
BILLING_EXTERN(size_t) billing_test_provider_charge_count(billing_provider *p);

/** The refunds the test provider made, for tests: *count receives how
 *  many (when not NULL); returns their sum. */
BILLING_EXTERN(int64_t) billing_test_provider_refunds(billing_provider *p, size_t *count);

/* ------------------------------------------------------------ Stripe */

#define BILLING_STRIPE_OPTIONS_VERSION 2

typedef struct {
	unsigned int version;          /**< BILLING_STRIPE_OPTIONS_VERSION */
	const char *api_key;           /**< required: sk_live_... or sk_test_... (copied) */
	/** Webhook signing secrets (whsec_...); several while rotating. */
	const char *const *webhook_secrets;
	size_t webhook_secret_count;
	const char *api_base;          /**< NULL: https://api.stripe.com */
	const char *stripe_version;    /**< NULL: the version the library is written for */
	long connect_timeout_ms;       /**< 0: 5000 */
	long timeout_ms;               /**< 0: 30000, the whole request */
	unsigned int max_retries;      /**< 0: 3 (network errors, 409 lock, 429, 5xx) */
	long retry_base_ms;            /**< 0: 500; doubled each retry, with jitter */
	long webhook_tolerance;        /**< seconds; 0: 300 */
	/** Version 2. How requests are sent (billing/sys/transport.h), or NULL:
	 *  libcurl, billing_transport_default(). Borrowed: it must outlive the
	 *  provider (and the context that owns it). */
	struct billing_transport *transport;
} billing_stripe_options;

#define BILLING_STRIPE_OPTIONS_INIT { BILLING_STRIPE_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/** A provider for Stripe's PaymentIntents API.
 *  @return BILLING_OK; BILLING_EINVALID (field "apiKey", "apiBase",
 *          "transport": a vtable version this library does not know) */
BILLING_EXTERN(int) billing_stripe_provider_new(billing_provider **out,
	const billing_stripe_options *opts);

BILLING_END_DECL

#endif
