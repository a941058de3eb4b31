/*
 * Provider health (issue #18 item 2): a configuration error of the
 * provider (billing_provider_result.failure_class CONFIG: a revoked key, a
 * missing permission, a request it never accepts) is the merchant's, not
 * the customer's. It pauses automatic collection for the tenant whose
 * request was refused, never feeds dunning, and is written down so that
 * every process and a restart see it; the billing run probes with one
 * attempt after a back-off (1 minute, doubling to 1 hour) and the first
 * answer about a payment ends the pause.
 *
 * The state is one platform meta value, "provider_health": a JSON object
 * of the paused tenants only ({"ten_...": [since, nextProbeAt, backoff,
 * httpStatus, "code"]}), so that counting them (/readyz, /metrics) is one
 * read. Changes read, modify and write it after taking the row lock of
 * "provider_health_lock" (an update, held to the commit), so two tenants'
 * transitions at once do not lose one another's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "billing/provider_health.h"
#include "core/core.h"
#include "core/events.h"
#include "core/payment_internal.h"

#define HEALTH_KEY "provider_health"
#define HEALTH_LOCK_KEY "provider_health_lock"
#define HEALTH_MAX (256 * 1024)      /* the value's size: thousands of paused tenants */
#define BACKOFF_MIN 60
#define BACKOFF_MAX 3600

typedef struct {
	const char *tenant_id;
	const char *provider;
	billing_provider_health h;
} health_event;

/* The stored object (new), or NULL when out of memory or unreadable
 * (with the error set). A missing value is an empty object. */
static int doc_load(cJSON **out, billing_ctx *ctx, billing_txn *tx)
{
	char *buf = billing__malloc(HEALTH_MAX);
	int rc;

	*out = NULL;
	if (!buf)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	rc = ctx->st->meta_get(tx, HEALTH_KEY, buf, HEALTH_MAX);
	if (rc == BILLING_ENOTFOUND) {
		snprintf(buf, HEALTH_MAX, "{}");
		rc = BILLING_OK;
	}
	if (rc == BILLING_OK && (*out = cJSON_Parse(buf)) == NULL)
		rc = billing__error_set(BILLING_ERROR, "provider_health",
			"the stored provider health cannot be read");
	billing__free(buf);
	return rc;
}

static int doc_save(billing_ctx *ctx, billing_txn *tx, const cJSON *doc)
{
	char *text = cJSON_PrintUnformatted(doc);
	int rc;

	if (!text)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (strlen(text) >= HEALTH_MAX)
		rc = billing__error_set(BILLING_ERROR, "provider_health",
			"too many tenants are paused to store their provider health");
	else
		rc = ctx->st->meta_set(tx, HEALTH_KEY, text);
	cJSON_free(text);
	return rc;
}

/* The tenant's entry of doc into h; 1 when paused, 0 when healthy. */
static int entry_get(const cJSON *doc, const char *tenant_id, billing_provider_health *h,
	int64_t *backoff)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, tenant_id);

	memset(h, 0, sizeof(*h));
	h->healthy = 1;
	*backoff = 0;
	if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 5)
		return 0;
	h->healthy = 0;
	h->since = (int64_t)cJSON_GetArrayItem(e, 0)->valuedouble;
	h->next_probe_at = (int64_t)cJSON_GetArrayItem(e, 1)->valuedouble;
	*backoff = (int64_t)cJSON_GetArrayItem(e, 2)->valuedouble;
	h->http_status = (int)cJSON_GetArrayItem(e, 3)->valuedouble;
	snprintf(h->code, sizeof(h->code), "%s",
		cJSON_IsString(cJSON_GetArrayItem(e, 4)) ? cJSON_GetArrayItem(e, 4)->valuestring : "");
	return 1;
}

static int entry_set(cJSON *doc, const char *tenant_id, const billing_provider_health *h,
	int64_t backoff)
{
	cJSON *e = cJSON_CreateArray();

	if (!e)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	cJSON_AddItemToArray(e, cJSON_CreateNumber((double)h->since));
	cJSON_AddItemToArray(e, cJSON_CreateNumber((double)h->next_probe_at));
	cJSON_AddItemToArray(e, cJSON_CreateNumber((double)backoff));
	cJSON_AddItemToArray(e, cJSON_CreateNumber(h->http_status));
	cJSON_AddItemToArray(e, cJSON_CreateString(h->code));
	if (cJSON_GetArraySize(e) != 5) {
		cJSON_Delete(e);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(doc, tenant_id);
	if (!cJSON_AddItemToObject(doc, tenant_id, e)) {
		cJSON_Delete(e);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	return BILLING_OK;
}

/* The document under the lock, for a change. */
static int doc_lock_load(cJSON **out, billing_ctx *ctx, billing_txn *tx, const char *tenant_id)
{
	int rc = ctx->st->meta_set(tx, HEALTH_LOCK_KEY, tenant_id);
	if (rc < 0) {
		*out = NULL;
		return rc;
	}
	return doc_load(out, ctx, tx);
}

static cJSON *health_json(const void *item)
{
	const health_event *ev = item;
	billing__jb b = { cJSON_CreateObject(), false };

	billing__jb_add(&b, "object", cJSON_CreateString("provider_health"));
	billing__jb_add(&b, "tenantId", cJSON_CreateString(ev->tenant_id));
	billing__jb_add(&b, "provider", cJSON_CreateString(ev->provider));
	billing__jb_add(&b, "status", cJSON_CreateString(ev->h.healthy ? "healthy" : "unhealthy"));
	billing__jb_add(&b, "since", billing__json_time_or_null(ev->h.since));
	billing__jb_add(&b, "nextProbeAt", billing__json_time_or_null(ev->h.next_probe_at));
	if (ev->h.http_status)
		billing__jb_num(&b, "httpStatus", ev->h.http_status);
	else
		billing__jb_add(&b, "httpStatus", cJSON_CreateNull());
	billing__jb_add(&b, "code", billing__json_str_or_null(ev->h.code[0] ? ev->h.code : NULL));
	return billing__jb_done(&b);
}

static int emit(billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *type,
	const billing_provider_health *h)
{
	health_event ev;

	ev.tenant_id = tenant_id;
	ev.provider = ctx->provider ? ctx->provider->name : "";
	ev.h = *h;
	return billing__event_emit(ctx, tx, tenant_id, type, "provider", ev.provider,
		health_json, &ev);
}

int billing__provider_health_gate(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	int64_t now, int64_t *defer_until)
{
	billing_provider_health h;
	cJSON *doc = NULL;
	int64_t backoff;
	int rc;

	*defer_until = 0;
	if ((rc = doc_load(&doc, ctx, tx)) < 0)
		return rc;
	if (entry_get(doc, tenant_id, &h, &backoff) && now < h.next_probe_at) {
		*defer_until = h.next_probe_at;
	} else if (!h.healthy) {
		/* This attempt is the probe; the tenant's others wait for its
		 * answer, at most one back-off. */
		cJSON_Delete(doc);
		if ((rc = doc_lock_load(&doc, ctx, tx, tenant_id)) < 0)
			goto out;
		if (entry_get(doc, tenant_id, &h, &backoff)) {
			if (now < h.next_probe_at) {
				*defer_until = h.next_probe_at;   /* another process probes */
			} else {
				h.next_probe_at = now + backoff;
				if ((rc = entry_set(doc, tenant_id, &h, backoff)) == BILLING_OK)
					rc = doc_save(ctx, tx, doc);
				billing__log(ctx, BILLING_LOG_INFO, "tenant %s: collection is paused "
					"(provider %s); probing with one attempt", tenant_id,
					h.code);
			}
		}
	}
out:
	cJSON_Delete(doc);
	return rc;
}

int billing__provider_health_failed(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const billing_provider_result *res, int64_t now, int64_t *next_probe_at)
{
	billing_provider_health h;
	cJSON *doc = NULL;
	int64_t backoff;
	int was_paused, rc;

	if ((rc = doc_lock_load(&doc, ctx, tx, tenant_id)) < 0)
		return rc;
	was_paused = entry_get(doc, tenant_id, &h, &backoff);
	if (!was_paused) {
		h.since = now;
		backoff = BACKOFF_MIN;
	} else {
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
			(backoff < BACKOFF_MIN ? BACKOFF_MIN : backoff * 2);
	}
	h.healthy = 0;
	h.next_probe_at = now + backoff;
	h.http_status = res->http_status;
	snprintf(h.code, sizeof(h.code), "%s", res->failure_code[0] ? res->failure_code :
		"provider_error");
	*next_probe_at = h.next_probe_at;
	if ((rc = entry_set(doc, tenant_id, &h, backoff)) == BILLING_OK &&
	    (rc = doc_save(ctx, tx, doc)) == BILLING_OK && !was_paused) {
		billing__log(ctx, BILLING_LOG_ERROR, "tenant %s: provider %s refused the "
			"merchant's request (HTTP %d, %s): a configuration error, not a decline; "
			"automatic collection for this tenant is paused, next try in %lld s",
			tenant_id, ctx->provider ? ctx->provider->name : "", h.http_status, h.code,
			(long long)backoff);
		rc = emit(ctx, tx, tenant_id, "provider.unhealthy", &h);
	}
	cJSON_Delete(doc);
	return rc;
}

int billing__provider_health_answered(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	int64_t now)
{
	billing_provider_health h;
	cJSON *doc = NULL;
	int64_t backoff;
	int rc;

	/* The common case, a healthy tenant, takes no lock. */
	if ((rc = doc_load(&doc, ctx, tx)) < 0)
		return rc;
	if (!entry_get(doc, tenant_id, &h, &backoff))
		goto out;
	cJSON_Delete(doc);
	if ((rc = doc_lock_load(&doc, ctx, tx, tenant_id)) < 0 ||
	    !entry_get(doc, tenant_id, &h, &backoff))
		goto out;
	cJSON_DeleteItemFromObjectCaseSensitive(doc, tenant_id);
	if ((rc = doc_save(ctx, tx, doc)) < 0)
		goto out;
	billing__log(ctx, BILLING_LOG_INFO, "tenant %s: provider %s answers again after %lld s; "
		"collection resumes", tenant_id, ctx->provider ? ctx->provider->name : "",
		(long long)(now - h.since));
	memset(&h, 0, sizeof(h));
	h.healthy = 1;
	rc = emit(ctx, tx, tenant_id, "provider.healthy", &h);
out:
	cJSON_Delete(doc);
	return rc;
}

void billing__provider_count(billing_ctx *ctx, const billing_provider_result *res)
{
	int64_t *n = NULL;

	if (res->status == BILLING_PAYMENT_UNKNOWN)
		n = &ctx->provider_unknown;
	else if (res->status == BILLING_PAYMENT_FAILED)
		n = res->failure_class == BILLING_PROVIDER_FAILURE_CONFIG ?
			&ctx->provider_config_errors : &ctx->provider_declines;
	if (n)
		__atomic_add_fetch(n, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ calls */

int billing_provider_health_get(billing_provider_health *out, billing_ctx *ctx,
	const billing_principal *who)
{
	billing_txn *tx;
	cJSON *doc = NULL;
	int64_t backoff;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PAYMENTS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	if ((rc = doc_load(&doc, ctx, tx)) == BILLING_OK)
		(void)entry_get(doc, who->tenant_id, out, &backoff);
	cJSON_Delete(doc);
	return billing__end(ctx, tx, rc);
}

int billing_provider_health_unhealthy_count(billing_ctx *ctx, int64_t *count)
{
	billing_txn *tx;
	cJSON *doc = NULL;
	int rc;

	BILLING__ASSERT_ARG(ctx, "ctx");
	BILLING__ASSERT_ARG(count, "count");
	*count = 0;
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_READ)) < 0)
		return rc;
	if ((rc = doc_load(&doc, ctx, tx)) == BILLING_OK)
		*count = cJSON_GetArraySize(doc);
	cJSON_Delete(doc);
	return billing__end(ctx, tx, rc);
}

void billing_provider_error_counts_get(billing_ctx *ctx, billing_provider_error_counts *out)
{
	if (!ctx || !out)
		return;
	out->declined = __atomic_load_n(&ctx->provider_declines, __ATOMIC_RELAXED);
	out->config = __atomic_load_n(&ctx->provider_config_errors, __ATOMIC_RELAXED);
	out->unknown = __atomic_load_n(&ctx->provider_unknown, __ATOMIC_RELAXED);
}
