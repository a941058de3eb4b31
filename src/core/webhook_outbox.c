/*
 * The webhook outbox: in the transaction of each event, one delivery per
 * enabled endpoint that wants it (the fan-out); deliveries queued anew on
 * request (redelivery); and the pruning of old events with their
 * deliveries (retention). Sending them is webhook_delivery.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/entity.h"
#include "core/events.h"
#include "core/webhook_internal.h"

#define PRUNE_BATCH 1000

/* ------------------------------------------------------------ the outbox */

/* ",a,b," wants type: "*", the type itself, or "prefix.*". */
static bool wants(const char *types, const char *type)
{
	char probe[80];
	const char *dot;
	if (strstr(types, ",*,"))
		return true;
	snprintf(probe, sizeof(probe), ",%s,", type);
	if (strstr(types, probe))
		return true;
	if ((dot = strchr(type, '.')) != NULL) {
		snprintf(probe, sizeof(probe), ",%.*s.*,", (int)(dot - type), type);
		return strstr(types, probe) != NULL;
	}
	return false;
}

struct fanout {
	billing_ctx *ctx;
	billing_txn *tx;
	const char *event_id;
	const char *type;
	const char *resource_id;
	int64_t now;
};

int billing__webhook_due_at(billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *kind,
	const char *id, int64_t when)
{
	billing_due_record d;
	d.tenant_id = tenant_id;
	d.kind = kind;
	d.resource_id = id;
	d.due_at = when;
	return ctx->st->due_set(tx, &d);
}

static int new_delivery(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *endpoint_id, const char *event_id, int64_t now)
{
	billing_delivery_record d;
	char id[BILLING_ID_MAX];
	int rc;
	if (billing__id_new(id, "whd", now * 1000) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	memset(&d, 0, sizeof(d));
	d.tenant_id = tenant_id;
	d.id = id;
	d.endpoint_id = endpoint_id;
	d.event_id = event_id;
	d.status = BILLING_DELIVERY_PENDING;
	d.next_attempt_at = now;
	d.created_at = d.updated_at = now;
	d.version = 1;
	if ((rc = billing__insert(ctx->st, tx, &billing__res_delivery, &d)) < 0)
		return rc;
	return billing__webhook_due_at(ctx, tx, tenant_id, BILLING__DUE_DELIVERY, id, now);
}

static int fanout_row(void *payload, const void *record)
{
	struct fanout *f = payload;
	const billing_webhook_endpoint_record *r = record;
	if (!wants(r->event_types, f->type) || strcmp(r->id, f->resource_id) == 0)
		return BILLING_OK;
	return new_delivery(f->ctx, f->tx, r->tenant_id, r->id, f->event_id, f->now);
}

/* Every enabled endpoint of the tenant. */
static int enabled_endpoints(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing_row_cb cb, void *payload)
{
	const billing_filter enabled = { billing_resource_field(&billing__res_webhook_endpoint,
		"enabled"), BILLING_FILTER_EQ, NULL, 1, NULL };
	return billing__list_all(ctx->st, tx, &billing__res_webhook_endpoint, tenant_id, &enabled,
		1, cb, payload);
}

static int collect_row(void *payload, const void *record)
{
	const billing_webhook_endpoint_record *r = record;
	return billing__endpoint_list_add(payload, r->id, r->event_types);
}

/* The tenant's enabled endpoints come from the context's cache when the
 * storage tells the tenant's endpoints version (webhook_endpoint_cache.c):
 * on a hit the fan-out reads nothing, on a miss it reads them and keeps
 * them under that version. */
int billing__webhook_fanout(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *event_id, const char *type, const char *resource_id, int64_t now)
{
	struct fanout f = { ctx, tx, event_id, type, resource_id, now };
	billing__endpoint_list l;
	int64_t version = -1;
	const char *p;
	size_t i;
	int rc;

	if (!ctx->endpoint_cache || ctx->st->version < 10 || !ctx->st->endpoints_version)
		return enabled_endpoints(ctx, tx, tenant_id, fanout_row, &f);
	if ((rc = ctx->st->endpoints_version(tx, tenant_id, &version)) < 0)
		return rc;
	if (version < 0)
		return enabled_endpoints(ctx, tx, tenant_id, fanout_row, &f);
	if (!billing__endpoint_cache_get(ctx->endpoint_cache, tenant_id, version, &l)) {
		if ((rc = enabled_endpoints(ctx, tx, tenant_id, collect_row, &l)) < 0) {
			billing__endpoint_list_free(&l);
			return rc;
		}
		billing__endpoint_cache_put(ctx->endpoint_cache, tenant_id, version, &l);
	}
	for (i = 0, p = l.blob; rc == BILLING_OK && i < l.count; i++) {
		const char *id = p, *types = p + strlen(p) + 1;
		p = types + strlen(types) + 1;
		if (wants(types, type) && strcmp(id, resource_id) != 0)
			rc = new_delivery(ctx, tx, tenant_id, id, event_id, now);
	}
	billing__endpoint_list_free(&l);
	return rc;
}

/* ------------------------------------------------------------ redelivery */

struct redeliver {
	billing_ctx *ctx;
	billing_txn *tx;
	const char *type;             /* one event: its type */
	const char *event_id;
	int64_t now;
	int64_t count;
};

static int redeliver_endpoint(void *payload, const void *record)
{
	struct redeliver *r = payload;
	const billing_webhook_endpoint_record *e = record;
	int rc;
	if (!wants(e->event_types, r->type))
		return BILLING_OK;
	if ((rc = new_delivery(r->ctx, r->tx, e->tenant_id, e->id, r->event_id, r->now)) == 0)
		r->count++;
	return rc;
}

static int event_type_row(void *payload, const void *record)
{
	snprintf(payload, 128, "%s", ((const billing_event_record *)record)->type);
	return BILLING_OK;
}

struct dead_list {
	size_t n, cap;
	struct { char endpoint_id[BILLING_ID_MAX], event_id[BILLING_ID_MAX]; } *v;
	int64_t since;
};

static int dead_row(void *payload, const void *record)
{
	struct dead_list *l = payload;
	const billing_delivery_record *r = record;
	if (r->created_at < l->since)
		return BILLING_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *v = billing__realloc(l->v, cap * sizeof(*l->v));
		if (!v)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n].endpoint_id, BILLING_ID_MAX, "%s", r->endpoint_id);
	snprintf(l->v[l->n].event_id, BILLING_ID_MAX, "%s", r->event_id);
	l->n++;
	return BILLING_OK;
}

static int redeliver_once(billing_ctx *ctx, const billing_principal *who, const char *event_id,
	int64_t since, int64_t *count)
{
	struct redeliver r;
	char type[128] = "";
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.tx = tx;
	r.now = billing__now(ctx);
	if (event_id) {
		rc = ctx->st->record_read(tx, &billing__res_event, who->tenant_id, event_id, BILLING_LOCK_NONE, event_type_row, type);
		if (rc == BILLING_ENOTFOUND)
			rc = billing__not_found("event");
		r.type = type;
		r.event_id = event_id;
		if (rc == BILLING_OK)
			rc = enabled_endpoints(ctx, tx, who->tenant_id, redeliver_endpoint, &r);
	} else {
		struct dead_list l = { 0, 0, NULL, since };
		billing_list_query q;
		size_t i;
		memset(&q, 0, sizeof(q));
		q.offset = -1;
		q.limit = 1000;
		q.status = BILLING_DELIVERY_DEAD;
		q.has_created_after = 1;
		q.created_after = since - 1;
		rc = billing__list_records(ctx->st, tx, &billing__res_delivery, who->tenant_id, &q, dead_row, &l);
		for (i = 0; rc == BILLING_OK && i < l.n; i++) {
			billing__capture ec = { billing__webhook_endpoint_from_record, NULL };
			int erc = billing__get(ctx->st, tx, &billing__res_webhook_endpoint,
				who->tenant_id, l.v[i].endpoint_id, billing__capture_row, &ec);
			billing_webhook_endpoint *e = ec.item;
			if (erc == BILLING_ENOTFOUND)
				continue;
			if (erc < 0) {
				rc = erc;
			} else if (e && e->enabled) {
				if ((rc = new_delivery(ctx, tx, who->tenant_id, e->id, l.v[i].event_id,
					r.now)) == BILLING_OK)
					r.count++;
			}
			billing_webhook_endpoint_free(e);
		}
		billing__free(l.v);
	}
	if (rc == BILLING_OK)
		rc = billing__audit_record(ctx, tx, who->tenant_id, event_id);
	if ((rc = billing__end(ctx, tx, rc)) == BILLING_OK && count)
		*count = r.count;
	return rc;
}

int billing_webhook_redeliver(billing_ctx *ctx, const billing_principal *who,
	const char *event_id, int64_t since, int64_t *count)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_EVENTS_REDELIVER)) < 0)
		return rc;
	if (event_id && !billing__id_arg_ok(event_id, "evt"))
		return billing__not_found("event");
	BILLING__RETRY(redeliver_once(ctx, who, event_id, since, count));
}

/* ------------------------------------------------------------ retention */

struct tenant_ids {
	size_t n, cap;
	char (*v)[BILLING_ID_MAX];
};

static int tenant_row(void *payload, const void *record)
{
	struct tenant_ids *t = payload;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		void *v = billing__realloc(t->v, cap * sizeof(*t->v));
		if (!v)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		t->v = v;
		t->cap = cap;
	}
	snprintf(t->v[t->n++], BILLING_ID_MAX, "%s", ((const billing_tenant_record *)record)->id);
	return BILLING_OK;
}

int billing__prune_all(billing_ctx *ctx, int64_t now)
{
	struct tenant_ids t = { 0, 0, NULL };
	billing_list_query q;
	billing_txn *tx;
	int64_t page = 0;
	size_t i;
	int rc = BILLING_OK;

	if (ctx->event_retention <= 0)
		return BILLING_OK;
	{
		/* At most hourly, across every process sharing the database. */
		char text[32];
		long long last = 0;
		if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_WRITE)) < 0)
			return rc;
		rc = ctx->st->meta_get(tx, "last_prune_at", text, sizeof(text));
		if (rc == BILLING_OK)
			last = strtoll(text, NULL, 10);
		else if (rc == BILLING_ENOTFOUND)
			rc = BILLING_OK;
		if (rc == BILLING_OK && now - last < 3600) {
			ctx->st->rollback(tx);
			return BILLING_OK;
		}
		snprintf(text, sizeof(text), "%lld", (long long)now);
		if (rc == BILLING_OK)
			rc = ctx->st->meta_set(tx, "last_prune_at", text);
		if ((rc = billing__end(ctx, tx, rc)) < 0)
			return rc;
	}
	memset(&q, 0, sizeof(q));
	q.limit = 1000;
	do {
		/* The tenants, a page at a time, in platform transactions. */
		size_t before = t.n;
		q.offset = page * 1000;
		if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_READ)) < 0 ||
		    (rc = billing__end(ctx, tx, billing__list_records(ctx->st, tx, &billing__res_tenant, NULL, &q, tenant_row, &t))) < 0)
			break;
		if (t.n - before < 1000)
			break;
		page++;
	} while (1);
	for (i = 0; rc == BILLING_OK && i < t.n; i++) {
		int64_t deleted;
		do {
			/* A batch per transaction: short locks, bounded memory. */
			if ((rc = billing__begin(&tx, ctx, t.v[i], BILLING_TXN_WRITE)) < 0)
				break;
			deleted = 0;
			rc = billing__end(ctx, tx, ctx->st->events_prune(tx, t.v[i],
				now - ctx->event_retention, PRUNE_BATCH, &deleted));
			if (rc == BILLING_OK && deleted)
				billing__log(ctx, BILLING_LOG_INFO, "pruned %lld event(s) of tenant %s",
					(long long)deleted, t.v[i]);
		} while (rc == BILLING_OK && deleted == PRUNE_BATCH);
	}
	billing__free(t.v);
	return rc;
}
