/*
 * The JSON operations of a tenant's own provider account
 * (billing/provider_account.h): get, set (PUT: replaces it) and delete,
 * with their entries of the catalog. Secrets go in, never out.
 */
#include <cJSON.h>
#include <string.h>

#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"
#include "core/provider_account.h"

static const field_spec f_set[] = {
	{ "provider", T_STRING, true, false, "the server's payment provider: stripe" },
	{ "apiKey", T_STRING, false, true,
		"the tenant's own secret key (sk_ or rk_); sealed, never shown again" },
	{ "webhookSecret", T_STRING, false, true,
		"the tenant's own webhook signing secret (whsec_); sealed, never shown again" },
	{ "account", T_STRING, false, true, "a connected account id (acct_...), sent as "
		"Stripe-Account on every request made for the tenant" },
	{ NULL, 0, false, false, NULL }
};

static int out(cJSON **res, const billing_provider_account_view *v)
{
	return (*res = billing__json_provider_account(v)) ? BILLING_OK
		: billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

static int op_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_provider_account_view v;
	int rc;
	(void)in;
	(void)opts;
	if ((rc = billing_provider_account_get(&v, ctx, who)) < 0)
		return rc;
	return out(res, &v);
}

static int op_set(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_provider_account_params p = BILLING_PROVIDER_ACCOUNT_PARAMS_INIT;
	billing_provider_account_view v;
	int rc;
	(void)opts;
	p.provider = jstr(in, "provider");
	p.api_key = jstr(in, "apiKey");
	p.webhook_secret = jstr(in, "webhookSecret");
	p.account = jstr(in, "account");
	if ((rc = billing_provider_account_set(ctx, who, &p, &v)) < 0)
		return rc;
	return out(res, &v);
}

static int op_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)in;
	(void)opts;
	return billing__json_deleted_out(res, billing_provider_account_delete(ctx, who),
		"provider_account");
}

const op_entry billing__json_ops_provider_account[] = {
	{ BILLING_OP_PROVIDER_ACCOUNT_GET, op_get,
		"The tenant's own payment provider account; secrets are never shown.",
		billing__json_f_none, OUT_OBJECT, "ProviderAccount" },
	{ BILLING_OP_PROVIDER_ACCOUNT_SET, op_set,
		"Set (replace) the tenant's own payment provider account.", f_set,
		OUT_OBJECT, "ProviderAccount" },
	{ BILLING_OP_PROVIDER_ACCOUNT_DELETE, op_delete,
		"Remove it: the tenant uses the server's provider configuration again.",
		billing__json_f_none, OUT_OBJECT, "Deleted" },
};
BILLING__JSON_AREA_END(provider_account);
