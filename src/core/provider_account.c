/*
 * A tenant's own provider account (billing/provider_account.h; issue #18
 * item 8): one row per tenant (the tenant is the key, as for the dunning
 * policy) holding the provider's name, a connected account id, and the
 * tenant's secret key and webhook secret sealed with the host's key
 * (core/seal.h: AES-256-GCM, the tenant id and the column as associated
 * data). Only the key's last four characters are kept in clear, to show.
 *
 * Every provider call made for a tenant goes through billing__provider_for:
 * it reads the row (no cache: a provider call is a network round trip, the
 * read is one primary-key lookup, and a cache in one process would miss a
 * change made through another), opens the secrets, and has the context's
 * provider make a copy acting for that account (with_account).
 */
#include "core/provider_account.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/events.h"
#include "core/json_out.h"
#include "core/seal.h"

typedef struct {
	const char *tenant_id;
	const char *provider;
	const char *account;               /* NULL: none */
	const char *api_key_sealed;        /* NULL: the host's key */
	const char *api_key_last4;
	const char *webhook_secret_sealed; /* NULL: the host's secrets */
	int64_t created_at;
	int64_t updated_at;
} account_record;

#define F(member) offsetof(account_record, member)
#define TEXT_FIELD(col, member) \
	{ col, BILLING_FIELD_TEXT, F(member), 0, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL }

static const billing_field fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, F(tenant_id), BILLING_FIELD_ID | BILLING_FIELD_TENANT,
	  NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	TEXT_FIELD("provider", provider),
	TEXT_FIELD("account", account),
	TEXT_FIELD("api_key_sealed", api_key_sealed),
	TEXT_FIELD("api_key_last4", api_key_last4),
	TEXT_FIELD("webhook_secret_sealed", webhook_secret_sealed),
	{ "created_at", BILLING_FIELD_INT64, F(created_at), BILLING_FIELD_FIXED, NULL,
	  BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, NULL, BILLING_JSON_NONE, 0, NULL, 0,
	  NULL },
};

/* Not on the generic flow (no ops): its API is this file's. */
static const billing_resource res = {
	"provider_account", "provider_accounts", NULL, "ProviderAccount",
	"A tenant's own payment provider account; secrets sealed, never shown.",
	"provider_accounts", NULL, sizeof(account_record), fields,
	sizeof(fields) / sizeof(fields[0]), NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, NULL, 0
};

/* A row read: its strings copied into one allocation. */
typedef struct {
	account_record r;
	char buf[];
} account_row;

static int row_cb(void *payload, const void *record)
{
	const account_record *r = record;
	account_row **out = payload, *a;
	const char *const src[] = { r->tenant_id, r->provider, r->account, r->api_key_sealed,
		r->api_key_last4, r->webhook_secret_sealed };
	const char **dst[6];
	size_t n = 0, i;
	char *p;

	for (i = 0; i < 6; i++)
		n += src[i] ? strlen(src[i]) + 1 : 0;
	if ((a = billing__calloc(1, sizeof(*a) + n)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	dst[0] = &a->r.tenant_id;
	dst[1] = &a->r.provider;
	dst[2] = &a->r.account;
	dst[3] = &a->r.api_key_sealed;
	dst[4] = &a->r.api_key_last4;
	dst[5] = &a->r.webhook_secret_sealed;
	p = a->buf;
	for (i = 0; i < 6; i++) {
		if (!src[i])
			continue;
		memcpy(p, src[i], strlen(src[i]) + 1);
		*dst[i] = p;
		p += strlen(src[i]) + 1;
	}
	a->r.created_at = r->created_at;
	a->r.updated_at = r->updated_at;
	billing__free(*out);
	*out = a;
	return BILLING_OK;
}

/* The tenant's row (NULL when none). */
static int row_read(account_row **out, billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	unsigned int lock)
{
	int rc;

	*out = NULL;
	rc = ctx->st->record_read(tx, &res, NULL, tenant_id, lock, row_cb, out);
	if (rc == BILLING_ENOTFOUND) {
		billing_error_clear();
		return BILLING_OK;
	}
	return rc;
}

static void view_of(billing_provider_account_view *v, const account_record *r)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->provider, sizeof(v->provider), "%s", r->provider ? r->provider : "");
	snprintf(v->account, sizeof(v->account), "%s", r->account ? r->account : "");
	snprintf(v->api_key_last4, sizeof(v->api_key_last4), "%s",
		r->api_key_last4 ? r->api_key_last4 : "");
	v->webhook_secret_set = r->webhook_secret_sealed != NULL;
	v->updated_at = r->updated_at;
}

cJSON *billing__json_provider_account(const void *item)
{
	const billing_provider_account_view *v = item;
	billing__jb b = { cJSON_CreateObject(), false };

	billing__jb_add(&b, "object", cJSON_CreateString("provider_account"));
	billing__jb_add(&b, "provider", cJSON_CreateString(v->provider));
	billing__jb_add(&b, "account", v->account[0] ? cJSON_CreateString(v->account)
		: cJSON_CreateNull());
	billing__jb_add(&b, "apiKeyLast4", v->api_key_last4[0]
		? cJSON_CreateString(v->api_key_last4) : cJSON_CreateNull());
	billing__jb_add(&b, "webhookSecretSet", cJSON_CreateBool(v->webhook_secret_set));
	billing__jb_add(&b, "updatedAt", billing__json_time(v->updated_at));
	return billing__jb_done(&b);
}

/* ------------------------------------------------------------ set, get, delete */

static const uint8_t *old_key(billing_ctx *ctx)
{
	return ctx->has_secrets_key_old ? ctx->secrets_key_old : NULL;
}

/* Checks params; the provider checks what it will use. */
static int check(billing_ctx *ctx, const billing_provider_account_params *p)
{
	billing__checks c = BILLING__CHECKS_INIT;
	billing_provider_account acct = { BILLING_PROVIDER_ACCOUNT_VERSION, NULL, NULL, 0, NULL };
	billing_provider *made = NULL;
	int rc;

	if (p->version == 0 || p->version > BILLING_PROVIDER_ACCOUNT_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_provider_account_params version %u", p->version);
	if (!p->provider || !p->provider[0])
		return billing__error_field(BILLING_EINVALID, "invalid", "provider", "is required");
	if (!ctx->provider || strcmp(p->provider, ctx->provider->name) != 0)
		return billing__error_field(BILLING_ECONFLICT, "provider_mismatch", "provider",
			"this server's payment provider is %s", ctx->provider ? ctx->provider->name
			: "none");
	if (ctx->provider->version < 3 || !ctx->provider->with_account)
		return billing__error_field(BILLING_ECONFLICT, "provider_accounts_unsupported",
			"provider", "the %s provider has no accounts per tenant", ctx->provider->name);
	if (!p->api_key && !p->webhook_secret && !p->account)
		return billing__error_field(BILLING_EINVALID, "invalid", "apiKey",
			"give at least one of apiKey, webhookSecret and account");
	if (p->api_key && p->api_key[0] == '\0')
		billing__check_fail(&c, "apiKey", "must not be empty");
	if (p->webhook_secret && p->webhook_secret[0] == '\0')
		billing__check_fail(&c, "webhookSecret", "must not be empty");
	if ((rc = billing__checks_finish(&c, "provider account")) < 0)
		return rc;
	if ((p->api_key || p->webhook_secret) && !ctx->has_secrets_key)
		return billing__error_field(BILLING_ECONFLICT, "secrets_key_missing",
			p->api_key ? "apiKey" : "webhookSecret",
			"the host configured no secrets key (BILLING_SECRETS_KEY): a tenant's own "
			"secrets cannot be stored");
	acct.api_key = p->api_key;
	acct.webhook_secrets = p->webhook_secret ? &p->webhook_secret : NULL;
	acct.webhook_secret_count = p->webhook_secret ? 1 : 0;
	acct.account = p->account;
	if ((rc = ctx->provider->with_account(ctx->provider, &acct, &made)) < 0)
		return rc;
	made->free(made);
	return BILLING_OK;
}

static int set_once(billing_ctx *ctx, const billing_principal *who,
	const billing_provider_account_params *p, billing_provider_account_view *view)
{
	account_record r;
	account_row *cur = NULL;
	char *key_sealed = NULL, *whsec_sealed = NULL, last4[5] = "";
	billing_provider_account_view v;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PROVIDER_ACCOUNT_SET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(p, "params");
	if ((rc = check(ctx, p)) < 0)
		return rc;
	if (p->api_key) {
		size_t n = strlen(p->api_key);
		snprintf(last4, sizeof(last4), "%s", n > 4 ? p->api_key + n - 4 : "");
		if ((rc = billing__seal(&key_sealed, ctx->secrets_key, who->tenant_id, "api_key",
			p->api_key)) < 0)
			return rc;
	}
	if (p->webhook_secret && (rc = billing__seal(&whsec_sealed, ctx->secrets_key,
		who->tenant_id, "webhook_secret", p->webhook_secret)) < 0) {
		billing__free(key_sealed);
		return rc;
	}
	memset(&r, 0, sizeof(r));
	r.tenant_id = who->tenant_id;
	r.provider = ctx->provider->name;
	r.account = p->account;
	r.api_key_sealed = key_sealed;
	r.api_key_last4 = key_sealed ? last4 : NULL;
	r.webhook_secret_sealed = whsec_sealed;
	r.created_at = r.updated_at = billing__now(ctx);
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) == BILLING_OK) {
		rc = row_read(&cur, ctx, tx, who->tenant_id, BILLING_LOCK_UPDATE);
		if (rc == BILLING_OK && cur) {
			r.created_at = cur->r.created_at;
			rc = ctx->st->record_update(tx, &res, &r, 0);
		} else if (rc == BILLING_OK) {
			rc = ctx->st->record_insert(tx, &res, &r);
			if (rc == BILLING_EEXISTS)
				rc = billing_storage_error(BILLING_EBUSY, "serialization_failure",
					"the row was written at the same time by another transaction");
		}
		view_of(&v, &r);
		if (rc == BILLING_OK)
			rc = billing__event_emit(ctx, tx, who->tenant_id, "provider_account.updated",
				res.name, who->tenant_id, billing__json_provider_account, &v);
		if (rc == BILLING_OK)
			rc = billing__audit_record(ctx, tx, who->tenant_id, NULL);
		rc = billing__end(ctx, tx, rc);
	}
	billing__free(cur);
	billing__free(key_sealed);
	billing__free(whsec_sealed);
	if (rc == BILLING_OK) {
		billing__log(ctx, BILLING_LOG_INFO, "tenant %s: provider account set (%s%s%s%s)",
			who->tenant_id, r.provider, p->account ? ", account " : "",
			p->account ? p->account : "", p->api_key ? ", own key" : "");
		if (view)
			*view = v;
	}
	return rc;
}

int billing_provider_account_set(billing_ctx *ctx, const billing_principal *who,
	const billing_provider_account_params *params, billing_provider_account_view *view)
{
	BILLING__RETRY(set_once(ctx, who, params, view));
}

int billing_provider_account_get(billing_provider_account_view *out, billing_ctx *ctx,
	const billing_principal *who)
{
	account_row *row = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PROVIDER_ACCOUNT_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__end(ctx, tx, row_read(&row, ctx, tx, who->tenant_id, BILLING_LOCK_NONE));
	if (rc == BILLING_OK && !row)
		return billing__not_found("provider account");
	if (rc == BILLING_OK)
		view_of(out, &row->r);
	billing__free(row);
	return rc;
}

static int delete_once(billing_ctx *ctx, const billing_principal *who)
{
	billing_provider_account_view v;
	account_row *row = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PROVIDER_ACCOUNT_DELETE)) < 0)
		return rc;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	rc = row_read(&row, ctx, tx, who->tenant_id, BILLING_LOCK_UPDATE);
	if (rc == BILLING_OK && !row)
		rc = billing__not_found("provider account");
	if (rc == BILLING_OK) {
		view_of(&v, &row->r);
		rc = ctx->st->record_delete(tx, &res, NULL, who->tenant_id);
	}
	if (rc == BILLING_OK)
		rc = billing__event_emit(ctx, tx, who->tenant_id, "provider_account.deleted", res.name,
			who->tenant_id, billing__json_provider_account, &v);
	if (rc == BILLING_OK)
		rc = billing__audit_record(ctx, tx, who->tenant_id, NULL);
	billing__free(row);
	return billing__end(ctx, tx, rc);
}

int billing_provider_account_delete(billing_ctx *ctx, const billing_principal *who)
{
	BILLING__RETRY(delete_once(ctx, who));
}

/* ------------------------------------------------------------ resolution */

int billing__provider_for(billing_ctx *ctx, const char *tenant_id, billing_provider **out,
	billing_provider **owned)
{
	billing_provider_account acct = { BILLING_PROVIDER_ACCOUNT_VERSION, NULL, NULL, 0, NULL };
	account_row *row = NULL;
	char *key = NULL, *whsec = NULL;
	billing_txn *tx;
	int rc;

	*out = ctx->provider;
	*owned = NULL;
	if (!ctx->provider || ctx->provider->version < 3 || !ctx->provider->with_account)
		return BILLING_OK;
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	if ((rc = billing__end(ctx, tx, row_read(&row, ctx, tx, tenant_id, BILLING_LOCK_NONE))) < 0
	    || !row)
		return rc;
	if (strcmp(row->r.provider, ctx->provider->name) != 0) {
		/* Set for another provider than this server runs: not usable. */
		rc = billing__error_set(BILLING_ECONFLICT, "provider_mismatch",
			"tenant %s's provider account is for %s, this server's provider is %s",
			tenant_id, row->r.provider, ctx->provider->name);
		goto done;
	}
	if (row->r.api_key_sealed && (rc = billing__unseal(&key, ctx->has_secrets_key ?
		ctx->secrets_key : NULL, old_key(ctx), tenant_id, "api_key",
		row->r.api_key_sealed)) < 0)
		goto done;
	if (row->r.webhook_secret_sealed && (rc = billing__unseal(&whsec, ctx->has_secrets_key ?
		ctx->secrets_key : NULL, old_key(ctx), tenant_id, "webhook_secret",
		row->r.webhook_secret_sealed)) < 0)
		goto done;
	acct.api_key = key;
	acct.webhook_secrets = whsec ? (const char *const *)&whsec : NULL;
	acct.webhook_secret_count = whsec ? 1 : 0;
	acct.account = row->r.account;
	if ((rc = ctx->provider->with_account(ctx->provider, &acct, owned)) == BILLING_OK)
		*out = *owned;
done:
	if (rc < 0)
		billing__log(ctx, BILLING_LOG_ERROR, "tenant %s: its provider account cannot be "
			"used: %s", tenant_id, billing_error_last()->message);
	billing__seal_free(key);
	billing__seal_free(whsec);
	billing__free(row);
	return rc;
}

void billing__provider_release(billing_provider *owned)
{
	if (owned)
		owned->free(owned);
}

int billing__provider_account_matches(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *event_account, bool tenant_route)
{
	account_row *row = NULL;
	const char *want;
	int rc;

	if ((rc = row_read(&row, ctx, tx, tenant_id, BILLING_LOCK_NONE)) < 0)
		return rc;
	want = row && row->r.account ? row->r.account : "";
	if (strcmp(want, event_account ? event_account : "") != 0)
		rc = billing__error_set(BILLING_EINVALID, "account_mismatch",
			"the event comes from another provider account than the tenant's");
	else if (!tenant_route && row && row->r.webhook_secret_sealed)
		rc = billing__error_set(BILLING_EINVALID, "tenant_route_required",
			"the tenant has its own webhook secret: its events go to its own route");
	billing__free(row);
	return rc;
}
