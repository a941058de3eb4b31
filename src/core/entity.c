/*
 * The shared get / create / update / delete / list flows (see entity.h).
 */
#include <stdio.h>

#include "core/assert.h"
#include "core/entity.h"
#include "core/events.h"

struct capture {
	const billing__entity *e;
	void *item;
};

static int capture_row(void *payload, const void *record)
{
	struct capture *c = payload;
	if ((c->item = c->e->from_record(record)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

int billing__entity_get_in(void **out, const billing__entity *e, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *id)
{
	struct capture c = { e, NULL };
	int rc = e->get(ctx->st, tx, tenant_id, id, capture_row, &c);
	if (rc == BILLING_OK && e->visible && !e->visible(c.item))
		rc = BILLING_ENOTFOUND;
	if (rc < 0) {
		e->free(c.item);
		return rc == BILLING_ENOTFOUND ? billing__not_found(e->noun) : rc;
	}
	*out = c.item;
	return BILLING_OK;
}

int billing__entity_get(void **out, const billing__entity *e, billing_ctx *ctx,
	const billing_principal *who, billing__op op, const char *prefix, const char *id)
{
	billing_txn *tx;
	void *item = NULL;
	int rc;

	if ((rc = billing__authorize(ctx, who, op)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (!billing__id_arg_ok(id, prefix))
		return billing__not_found(e->noun);
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__end(ctx, tx, billing__entity_get_in(&item, e, ctx, tx, who->tenant_id, id));
	if (rc < 0) {
		e->free(item);
		return rc;
	}
	*out = item;
	return BILLING_OK;
}

/* "<noun>.<what>" for item, in tx, when the entity has events here. */
static int emit(const billing__entity *e, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *what, const void *item)
{
	char type[64];
	int n;
	if (!e->to_json)
		return BILLING_OK;
	n = snprintf(type, sizeof(type), "%s.%s", e->noun, what);
	/* Nouns and whats are the library's own short literals: never cut. */
	BILLING_ASSERT(n > 0 && (size_t)n < sizeof(type));
	(void)n;
	return billing__event_emit(ctx, tx, tenant_id, type, e->noun, e->id_of(item), e->to_json,
		item);
}

static int stale(const billing__entity *e, const void *cur, int64_t expected)
{
	return billing__error_field(BILLING_ESTALE, "stale_version", "expectedVersion",
		"the %s is at version %lld, not %lld", e->noun, (long long)e->version(cur),
		(long long)expected);
}

/* Ends tx and hands the result over only when the commit went through. */
static int finish(void **out, const billing__entity *e, billing_ctx *ctx, billing_txn *tx,
	int rc, void *result)
{
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		e->free(result);
		return rc;
	}
	*out = result;
	return BILLING_OK;
}

int billing__entity_create(void **out, const billing__entity *e, billing_ctx *ctx,
	const char *tenant_id, billing__idem *idem, void *record, const char *id,
	billing__step_fn before, billing__step_fn after, void *payload)
{
	void *result = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, tenant_id, idem)) < 0)
		return finish(out, e, ctx, tx, rc, NULL);
	if (idem->replay) {
		rc = billing__entity_get_in(&result, e, ctx, tx, tenant_id, idem->resource_id);
		return finish(out, e, ctx, tx, rc, result);
	}
	if ((!before || (rc = before(payload, ctx, tx, NULL, record)) == BILLING_OK) &&
	    (rc = e->insert(ctx->st, tx, record)) == BILLING_OK &&
	    (!after || (rc = after(payload, ctx, tx, NULL, record)) == BILLING_OK) &&
	    (rc = billing__idem_record(ctx, tx, tenant_id, idem, id)) == BILLING_OK) {
		if ((result = e->from_record(record)) == NULL)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		else
			rc = emit(e, ctx, tx, tenant_id, "created", result);
	}
	return finish(out, e, ctx, tx, rc, result);
}

/* The entity's due work up to now (see billing__entity.catch_up), after
 * the caller's expected version was checked against what it saw; *cur is
 * read again when that wrote. */
static int catch_up(const billing__entity *e, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id, void **cur)
{
	bool changed = false;
	int rc;

	if (!e->catch_up)
		return BILLING_OK;
	if ((rc = e->catch_up(ctx, tx, *cur, &changed)) < 0 || !changed)
		return rc;
	e->free(*cur);
	*cur = NULL;
	return billing__entity_get_in(cur, e, ctx, tx, tenant_id, id);
}

int billing__entity_update(void **out, const billing__entity *e, billing_ctx *ctx,
	const char *tenant_id, const char *id, billing__idem *idem, int64_t expected_version,
	void *record, billing__step_fn step, void *payload)
{
	void *cur = NULL, *result = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, tenant_id, idem)) < 0 ||
	    (rc = billing__entity_get_in(&cur, e, ctx, tx, tenant_id, id)) < 0)
		return finish(out, e, ctx, tx, rc, NULL);
	if (idem->replay)
		return finish(out, e, ctx, tx, BILLING_OK, cur);
	if (expected_version && expected_version != e->version(cur))
		rc = stale(e, cur, expected_version);
	else if ((rc = catch_up(e, ctx, tx, tenant_id, id, &cur)) < 0)
		;
	else if ((rc = step(payload, ctx, tx, cur, record)) == BILLING_OK &&
	    (rc = e->update(ctx->st, tx, record, e->version(cur))) == BILLING_OK &&
	    (rc = billing__idem_record(ctx, tx, tenant_id, idem, id)) == BILLING_OK) {
		if ((result = e->from_record(record)) == NULL)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		else
			rc = emit(e, ctx, tx, tenant_id, "updated", result);
	}
	/* record may point into cur: free it only after the write. */
	e->free(cur);
	return finish(out, e, ctx, tx, rc, result);
}

int billing__entity_delete(const billing__entity *e, billing_ctx *ctx, const char *tenant_id,
	const char *id, int64_t expected_version, void *record, billing__step_fn step,
	void *payload)
{
	void *cur = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__entity_get_in(&cur, e, ctx, tx, tenant_id, id)) < 0)
		return billing__end(ctx, tx, rc);
	if (expected_version && expected_version != e->version(cur))
		rc = stale(e, cur, expected_version);
	else if (!step || (rc = step(payload, ctx, tx, cur, record)) == BILLING_OK)
		rc = e->remove ? e->remove(ctx->st, tx, tenant_id, id) :
			e->update(ctx->st, tx, record, e->version(cur));
	if (rc == BILLING_ENOTFOUND)
		rc = billing__not_found(e->noun);
	/* The event shows the resource as it was when deleted. */
	if (rc == BILLING_OK)
		rc = emit(e, ctx, tx, tenant_id, "deleted", cur);
	if (rc == BILLING_OK)
		rc = billing__audit_record(ctx, tx, tenant_id, id);
	e->free(cur);
	return billing__end(ctx, tx, rc);
}

int billing__entity_list(billing_page **out, const billing__entity *e, billing__list *l,
	billing_ctx *ctx, const char *tenant_id)
{
	billing_txn *tx;
	int64_t total = 0;
	int rc;

	if (l->q.offset >= 0)
		l->q.total = &total;
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) == BILLING_OK) {
		if (l->check)
			rc = l->check(l->check_payload, ctx, tx);
		if (rc == BILLING_OK)
			rc = e->list(ctx->st, tx, tenant_id, &l->q, billing__list_row, l);
		rc = billing__end(ctx, tx, rc);
	}
	return billing__list_end(l, rc, out);
}

int billing__check_update(unsigned int fields, unsigned int known, int64_t expected_version)
{
	if (fields == 0 || (fields & ~known))
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			fields ? "unknown field bits" : "no field to update");
	return billing__check_expected_version(expected_version);
}

int billing__check_expected_version(int64_t expected_version)
{
	if (expected_version < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "expectedVersion",
			"must be positive");
	return BILLING_OK;
}

static int exists_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

static int filter_missing(int rc, const char *field, const char *what)
{
	if (rc == BILLING_ENOTFOUND)
		return billing__error_field(BILLING_EINVALID, "resource_missing", field,
			"no such %s in this tenant", what);
	return rc;
}

int billing__check_filter_ids(const billing__filter_ids *f, billing_ctx *ctx, billing_txn *tx)
{
	billing_storage *st = ctx->st;
	int rc = BILLING_OK;

	if (f->customer_id)
		rc = filter_missing(st->customer_get(tx, f->tenant_id, f->customer_id, exists_row,
			NULL), "customerId", "customer");
	if (rc == BILLING_OK && f->plan_id)
		rc = filter_missing(st->plan_get(tx, f->tenant_id, f->plan_id, exists_row, NULL),
			"planId", "plan");
	if (rc == BILLING_OK && f->subscription_id)
		rc = filter_missing(st->subscription_get(tx, f->tenant_id, f->subscription_id,
			exists_row, NULL), "subscriptionId", "subscription");
	if (rc == BILLING_OK && f->invoice_id)
		rc = filter_missing(st->invoice_get(tx, f->tenant_id, f->invoice_id, exists_row,
			NULL), "invoiceId", "invoice");
	if (rc == BILLING_OK && f->endpoint_id)
		rc = filter_missing(st->webhook_endpoint_get(tx, f->tenant_id, f->endpoint_id,
			exists_row, NULL), "endpointId", "webhook endpoint");
	if (rc == BILLING_OK && f->event_id)
		rc = filter_missing(st->event_get(tx, f->tenant_id, f->event_id, exists_row, NULL),
			"eventId", "event");
	return rc;
}

int billing__check_filter_ids_cb(const void *payload, billing_ctx *ctx, billing_txn *tx)
{
	return billing__check_filter_ids(payload, ctx, tx);
}
