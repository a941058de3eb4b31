/*
 * A tenant's own provider account, inside the core: what every provider
 * call made for a tenant resolves first, and the JSON of its view.
 */
#ifndef BILLING_CORE_PROVIDER_ACCOUNT_H
#define BILLING_CORE_PROVIDER_ACCOUNT_H

#include <cJSON.h>
#include <stdbool.h>

#include "core/core.h"
#include "billing/provider_account.h"
#include "billing/sys/provider.h"

/*
 * The provider to call for tenant_id: *out is ctx->provider when the
 * tenant has no account of its own (*owned NULL), else a provider made
 * for its account by the provider's with_account, which the caller frees
 * with billing__provider_release(*owned) once the call is done. Reads the
 * tenant's row in a transaction of its own: call it outside any. Errors
 * (nothing to call): BILLING_EINVALID reason "secret_unreadable" (the
 * host's secrets key does not open what is stored), storage errors.
 */
int billing__provider_for(billing_ctx *ctx, const char *tenant_id, billing_provider **out,
	billing_provider **owned);
void billing__provider_release(billing_provider *owned);

/*
 * Inside the transaction applying an inbound event for tenant_id: the
 * connected account the event came from must be the one the tenant's
 * provider account names ("" and none alike), else BILLING_EINVALID
 * reason "account_mismatch"; and a tenant with its own webhook secret
 * takes events only on its own route (tenant_route), else reason
 * "tenant_route_required".
 */
int billing__provider_account_matches(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *event_account, bool tenant_route);

cJSON *billing__json_provider_account(const void *view);

#endif
