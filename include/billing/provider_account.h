/**
 * @file billing/provider_account.h
 * @brief A tenant's own payment provider account (issue #18 item 8).
 *
 * A platform that bills for many businesses lets each tenant use its own
 * provider configuration: its own Stripe secret key and webhook signing
 * secret, or a connected account (Stripe Connect) that every request made
 * for the tenant names in the Stripe-Account header. A tenant without one
 * uses the context's provider as configured by the host.
 *
 * Secrets are sealed at rest with AES-256-GCM under the host's key
 * (billing_ctx_options.secrets_key; the tenant id is bound to each sealed
 * value) and never come back out of the library: reads show the
 * provider, the account, the key's last four characters and whether a
 * webhook secret is set. Events (provider_account.updated / .deleted) and
 * audit rows carry no secret.
 */
#ifndef BILLING_PROVIDER_ACCOUNT_H
#define BILLING_PROVIDER_ACCOUNT_H

#include "common.h"
#include "ctx.h"
#include "principal.h"

BILLING_BEGIN_DECL

#define BILLING_PROVIDER_ACCOUNT_PARAMS_VERSION 1

/** What billing_provider_account_set() stores; it replaces what was there. */
typedef struct {
	unsigned int version;          /**< BILLING_PROVIDER_ACCOUNT_PARAMS_VERSION */
	const char *provider;          /**< required: the context's provider ("stripe") */
	const char *api_key;           /**< the tenant's secret key (sk_ / rk_), or NULL */
	const char *webhook_secret;    /**< the tenant's webhook signing secret, or NULL */
	const char *account;           /**< a connected account id (acct_...), or NULL */
} billing_provider_account_params;

#define BILLING_PROVIDER_ACCOUNT_PARAMS_INIT { BILLING_PROVIDER_ACCOUNT_PARAMS_VERSION, 0, 0, 0, 0 }

/** A tenant's provider account as it may be shown: never a secret. */
typedef struct {
	char provider[16];
	char account[72];              /**< "" when none */
	char api_key_last4[8];         /**< "" when the tenant has no key of its own */
	int webhook_secret_set;        /**< 1 when the tenant has its own webhook secret */
	int64_t updated_at;
} billing_provider_account_view;

/**
 * Sets the principal's tenant's provider account (ADMIN). At least one of
 * api_key, webhook_secret, account. The provider validates them
 * (BILLING_EINVALID naming apiKey, webhookSecret or account; the message
 * never repeats a secret).
 * @return BILLING_OK (view filled when not NULL); BILLING_EINVALID;
 *         BILLING_ECONFLICT reason "secrets_key_missing" (a key or secret
 *         given but the host configured no secrets key), reason
 *         "provider_mismatch" (another provider than the context's) or
 *         "provider_accounts_unsupported" (the context's provider cannot
 *         act per tenant); BILLING_EFORBIDDEN.
 */
BILLING_EXTERN(int) billing_provider_account_set(billing_ctx *ctx, const billing_principal *who,
	const billing_provider_account_params *params, billing_provider_account_view *view);

/** The tenant's provider account (ADMIN). BILLING_ENOTFOUND when it has none. */
BILLING_EXTERN(int) billing_provider_account_get(billing_provider_account_view *out,
	billing_ctx *ctx, const billing_principal *who);

/** Removes it (ADMIN): the tenant uses the host's configuration again.
 *  BILLING_ENOTFOUND when it had none. */
BILLING_EXTERN(int) billing_provider_account_delete(billing_ctx *ctx,
	const billing_principal *who);

BILLING_END_DECL

#endif
