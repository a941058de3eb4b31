/*
 * The shared get / create / update / delete / list flows (see entity.h).
 */
#include <stdio.h>

#include "core/assert.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/resource.h"

/* ---- an entity's items and storage: its hooks, or its descriptor's */

static void *item_new(const billing__entity *e, const void *record)
{
	return e->res ? billing__record_dup(e->res, record) : e->from_record(record);
}

/* Accepts NULL, as every entity's free does. */
static void item_free(const billing__entity *e, void *item)
{
	if (e->res)
		billing__free(item);
	else
		e->free(item);
}

static int64_t item_version(const billing__entity *e, const void *item)
{
	if (e->res)
		return billing__record_int(billing__field_with(e->res, BILLING_FIELD_VERSION), item);
	return e->version(item);
}

static bool item_visible(const billing__entity *e, const void *item)
{
	const billing_field *del;
	if (e->res)
		return !(del = billing__field_with(e->res, BILLING_FIELD_DELETED)) ||
			billing__record_int(del, item) == 0;
	return !e->visible || e->visible(item);
}

static const char *item_id(const billing__entity *e, const void *item)
{
	if (e->res)
		return billing__record_text(billing__field_with(e->res, BILLING_FIELD_ID), item);
	return e->id_of(item);
}

/* A descriptor object's JSON through the one-argument to_json of events. */
struct res_item {
	const billing_resource *res;
	const void *rec;
};

static cJSON *res_item_json(const void *p)
{
	const struct res_item *ri = p;
	return billing__record_json(ri->res, ri->rec);
}

static int st_get(const billing__entity *e, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id, billing_row_cb cb, void *payload)
{
	/* In a READ transaction nothing is locked; in a WRITE one the row is
	 * the call's to change, as with the entities' *_get methods. */
	if (e->res)
		return ctx->st->record_read(tx, e->res, tenant_id, id, BILLING_LOCK_UPDATE, cb,
			payload);
	return e->get(ctx->st, tx, tenant_id, id, cb, payload);
}

static int st_insert(const billing__entity *e, billing_ctx *ctx, billing_txn *tx,
	const void *record)
{
	return e->res ? ctx->st->record_insert(tx, e->res, record) :
		e->insert(ctx->st, tx, record);
}

static int st_update(const billing__entity *e, billing_ctx *ctx, billing_txn *tx,
	const void *record, int64_t old_version)
{
	return e->res ? ctx->st->record_update(tx, e->res, record, old_version) :
		e->update(ctx->st, tx, record, old_version);
}

/* A soft delete writes record; a hard one removes the row. */
static int st_remove(const billing__entity *e, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id, const void *record, int64_t old_version)
{
	if (e->res) {
		if (billing__field_with(e->res, BILLING_FIELD_DELETED))
			return ctx->st->record_update(tx, e->res, record, old_version);
		return ctx->st->record_delete(tx, e->res, tenant_id, id);
	}
	return e->remove ? e->remove(ctx->st, tx, tenant_id, id) :
		e->update(ctx->st, tx, record, old_version);
}

static int st_list(const billing__entity *e, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return e->res ? billing__list_records(ctx->st, tx, e->res, tenant_id, q, cb, payload) :
		e->list(ctx->st, tx, tenant_id, q, cb, payload);
}

struct capture {
	const billing__entity *e;
	void *item;
};

static int capture_row(void *payload, const void *record)
{
	struct capture *c = payload;
	if ((c->item = item_new(c->e, record)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

int billing__entity_get_in(void **out, const billing__entity *e, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *id)
{
	struct capture c = { e, NULL };
	int rc = st_get(e, ctx, tx, tenant_id, id, capture_row, &c);
	if (rc == BILLING_OK && !item_visible(e, c.item))
		rc = BILLING_ENOTFOUND;
	if (rc < 0) {
		item_free(e, c.item);
		return rc == BILLING_ENOTFOUND ? billing__not_found(e->noun) : rc;
	}
	*out = c.item;
	return BILLING_OK;
}

int billing__entity_get(void **out, const billing__entity *e, billing_ctx *ctx,
	const billing_principal *who, billing__op op, const char *prefix, const char *id)
{
	int rc;

	if ((rc = billing__authorize(ctx, who, op)) < 0)
		return rc;
	return billing__entity_read(out, e, ctx, who->tenant_id, prefix, id);
}

int billing__entity_read(void **out, const billing__entity *e, billing_ctx *ctx,
	const char *tenant_id, const char *prefix, const char *id)
{
	billing_txn *tx;
	void *item = NULL;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	if (!billing__id_arg_ok(id, prefix))
		return billing__not_found(e->noun);
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__end(ctx, tx, billing__entity_get_in(&item, e, ctx, tx, tenant_id, id));
	if (rc < 0) {
		item_free(e, item);
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
	if (e->res) {
		/* A descriptor object's events are named and typed by its name. */
		struct res_item ri = { e->res, item };
		n = snprintf(type, sizeof(type), "%s.%s", e->res->name, what);
		BILLING_ASSERT(n > 0 && (size_t)n < sizeof(type));
		(void)n;
		return billing__event_emit(ctx, tx, tenant_id, type, e->res->name, item_id(e, item),
			res_item_json, &ri);
	}
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
		"the %s is at version %lld, not %lld", e->noun, (long long)item_version(e, cur),
		(long long)expected);
}

/* Ends tx and hands the result over only when the commit went through. */
static int finish(void **out, const billing__entity *e, billing_ctx *ctx, billing_txn *tx,
	int rc, void *result)
{
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		item_free(e, result);
		return rc;
	}
	*out = result;
	return BILLING_OK;
}

static int create_in(void **out, const billing__entity *e, billing_ctx *ctx,
	const char *tenant_id, billing__idem *idem, bool look_up_key, void *record,
	const char *id, billing__step_fn before, billing__step_fn after, void *payload)
{
	void *result = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if (look_up_key && (rc = billing__idem_check(ctx, tx, tenant_id, idem)) < 0)
		return finish(out, e, ctx, tx, rc, NULL);
	if (idem->replay) {
		rc = billing__entity_get_in(&result, e, ctx, tx, tenant_id, idem->resource_id);
		return finish(out, e, ctx, tx, rc, result);
	}
	if ((!before || (rc = before(payload, ctx, tx, NULL, record)) == BILLING_OK) &&
	    (rc = st_insert(e, ctx, tx, record)) == BILLING_OK &&
	    (!after || (rc = after(payload, ctx, tx, NULL, record)) == BILLING_OK) &&
	    (rc = billing__idem_record(ctx, tx, tenant_id, idem, id)) == BILLING_OK) {
		if ((result = item_new(e, record)) == NULL)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		else
			rc = emit(e, ctx, tx, tenant_id, "created", result);
	}
	return finish(out, e, ctx, tx, rc, result);
}

/* After a keyed create failed: was the key used already? In a transaction
 * of its own, a stored key answers as a replay does (the resource as it is
 * now, or 409 idempotency_mismatch); a key not stored leaves the call's own
 * error, failed, as the answer. */
static int key_after_failure(void **out, const billing__entity *e, billing_ctx *ctx,
	const char *tenant_id, billing__idem *idem, int failed)
{
	void *result = NULL;
	billing_txn *tx;
	int rc;

	billing__error_stash();
	if (billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ) < 0)
		goto own_error;
	rc = billing__idem_check(ctx, tx, tenant_id, idem);
	if (rc == BILLING_OK && idem->replay) {
		rc = billing__entity_get_in(&result, e, ctx, tx, tenant_id, idem->resource_id);
		return finish(out, e, ctx, tx, rc, result);
	}
	if (rc == BILLING_ECONFLICT)    /* idempotency_mismatch, its own error */
		return finish(out, e, ctx, tx, rc, NULL);
	/* Not stored (or the look-up failed): the call's own error stands,
	 * even when it is itself a conflict. */
	(void)billing__end(ctx, tx, rc);
own_error:
	billing__error_unstash();
	return failed;
}

/* With an idempotency key, the create runs first as if the key were new:
 * the key's row is written with the resource, in its transaction (on
 * PostgreSQL its insert goes with the COMMIT), so a new key costs no round
 * trip of its own. A key used before makes the call fail (the key's row,
 * or the resource's own unique fields, already exist) and is then looked
 * up; a replay is rare, and it wrote nothing. */
int billing__entity_create(void **out, const billing__entity *e, billing_ctx *ctx,
	const char *tenant_id, billing__idem *idem, void *record, const char *id,
	billing__step_fn before, billing__step_fn after, void *payload)
{
	int rc = create_in(out, e, ctx, tenant_id, idem, false, record, id, before, after,
		payload);
	if (rc >= 0 || !idem->key || rc == BILLING_ENOMEM)
		return rc;
	return key_after_failure(out, e, ctx, tenant_id, idem, rc);
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
	item_free(e, *cur);
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
	if (expected_version && expected_version != item_version(e, cur))
		rc = stale(e, cur, expected_version);
	else if ((rc = catch_up(e, ctx, tx, tenant_id, id, &cur)) < 0)
		;
	else if ((rc = step(payload, ctx, tx, cur, record)) == BILLING_OK &&
	    (rc = st_update(e, ctx, tx, record, item_version(e, cur))) == BILLING_OK &&
	    (rc = billing__idem_record(ctx, tx, tenant_id, idem, id)) == BILLING_OK) {
		if ((result = item_new(e, record)) == NULL)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		else
			rc = emit(e, ctx, tx, tenant_id, "updated", result);
	}
	/* record may point into cur: free it only after the write. */
	item_free(e, cur);
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
	if (expected_version && expected_version != item_version(e, cur))
		rc = stale(e, cur, expected_version);
	else if (!step || (rc = step(payload, ctx, tx, cur, record)) == BILLING_OK)
		rc = st_remove(e, ctx, tx, tenant_id, id, record, item_version(e, cur));
	if (rc == BILLING_ENOTFOUND)
		rc = billing__not_found(e->noun);
	/* The event shows the resource as it was when deleted. */
	if (rc == BILLING_OK)
		rc = emit(e, ctx, tx, tenant_id, "deleted", cur);
	if (rc == BILLING_OK)
		rc = billing__audit_record(ctx, tx, tenant_id, id);
	item_free(e, cur);
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
			rc = st_list(e, ctx, tx, tenant_id, &l->q, billing__list_row, l);
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
		rc = filter_missing(st->record_read(tx, &billing__res_customer, f->tenant_id,
			f->customer_id, BILLING_LOCK_UPDATE, exists_row, NULL), "customerId", "customer");
	if (rc == BILLING_OK && f->plan_id)
		rc = filter_missing(st->record_read(tx, &billing__res_plan, f->tenant_id, f->plan_id,
			BILLING_LOCK_UPDATE, exists_row, NULL),
			"planId", "plan");
	if (rc == BILLING_OK && f->subscription_id)
		rc = filter_missing(st->record_read(tx, &billing__res_subscription, f->tenant_id,
			f->subscription_id, BILLING_LOCK_UPDATE, exists_row, NULL), "subscriptionId", "subscription");
	if (rc == BILLING_OK && f->invoice_id)
		rc = filter_missing(st->record_read(tx, &billing__res_invoice, f->tenant_id,
			f->invoice_id, BILLING_LOCK_UPDATE, exists_row, NULL), "invoiceId", "invoice");
	if (rc == BILLING_OK && f->endpoint_id)
		rc = filter_missing(st->record_read(tx, &billing__res_webhook_endpoint, f->tenant_id,
			f->endpoint_id, BILLING_LOCK_UPDATE, exists_row, NULL), "endpointId", "webhook endpoint");
	if (rc == BILLING_OK && f->event_id)
		rc = filter_missing(st->record_read(tx, &billing__res_event, f->tenant_id, f->event_id,
			BILLING_LOCK_NONE, exists_row, NULL),
			"eventId", "event");
	return rc;
}

int billing__check_filter_ids_cb(const void *payload, billing_ctx *ctx, billing_txn *tx)
{
	return billing__check_filter_ids(payload, ctx, tx);
}
