/*
 * Tenant settings (core/settings.h): the one read and put of every
 * per-tenant settings record.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/events.h"
#include "core/settings.h"
#include "core/txn.h"

struct reading {
	const billing__settings *s;
	void *rec;
};

/* The string slot of field f in rec. */
static const char **slot(void *rec, const billing_field *f)
{
	return (const char **)(void *)((char *)rec + f->offset);
}

static bool owned(const billing_field *f)
{
	return f->type == BILLING_FIELD_TEXT && !(f->flags & BILLING_FIELD_TENANT);
}

/* Makes each string of *rec but the key a copy of its own; once a copy
 * fails the remaining ones are NULL, so the record can be cleared. */
static int own_strings(void *rec, const billing__settings *s)
{
	int rc = BILLING_OK;
	size_t i;

	for (i = 0; i < s->res->field_count; i++) {
		const billing_field *f = &s->res->fields[i];
		const char **p;
		if (!owned(f))
			continue;
		p = slot(rec, f);
		if (!*p)
			continue;
		if (rc < 0) {
			*p = NULL;
			continue;
		}
		if ((*p = billing__strdup(*p)) == NULL)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	return rc;
}

void billing__settings_clear(void *rec, const billing__settings *s)
{
	size_t i;

	for (i = 0; i < s->res->field_count; i++) {
		const billing_field *f = &s->res->fields[i];
		if (owned(f)) {
			billing__free((char *)(uintptr_t)*slot(rec, f));
			*slot(rec, f) = NULL;
		}
	}
}

/* The row replaces the defaults; its strings are copied, since they live
 * only as long as the read. */
static int settings_row(void *payload, const void *record)
{
	struct reading *rd = payload;
	billing__settings_clear(rd->rec, rd->s);
	memcpy(rd->rec, record, rd->s->res->record_size);
	return own_strings(rd->rec, rd->s);
}

/* The row held as lock says (BILLING_LOCK_NONE: through the batch's cache
 * of settled rows), or the defaults. */
static int read_row(void *rec, const billing__settings *s, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, unsigned int lock)
{
	struct reading rd;
	int rc;

	rd.s = s;
	rd.rec = rec;
	memcpy(rec, s->defaults, s->res->record_size);
	if ((rc = own_strings(rec, s)) < 0) {
		billing__settings_clear(rec, s);
		return rc;
	}
	/* No renewal writes settings: a batch of the billing run reads a
	 * tenant's once, even when it has none (store_deferred.c). */
	rc = lock == BILLING_LOCK_NONE ?
		billing__read_settled(ctx->st, tx, s->res, tenant_id, tenant_id, settings_row, &rd) :
		ctx->st->record_read(tx, s->res, tenant_id, tenant_id, lock, settings_row, &rd);
	/* The key is the caller's. */
	*(const char **)rec = tenant_id;
	if (rc == BILLING_ENOTFOUND)
		return BILLING_OK;
	if (rc < 0)
		billing__settings_clear(rec, s);
	return rc;
}

int billing__settings_read(void *rec, const billing__settings *s, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id)
{
	return read_row(rec, s, ctx, tx, tenant_id, BILLING_LOCK_NONE);
}

int billing__settings_lock(void *rec, const billing__settings *s, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id)
{
	return read_row(rec, s, ctx, tx, tenant_id, BILLING_LOCK_UPDATE);
}

int billing__settings_get(void *rec, const billing__settings *s, billing_ctx *ctx,
	const billing_principal *who, const void *out, const char *out_name)
{
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, s->op_get)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, out_name);
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__end(ctx, tx, billing__settings_read(rec, s, ctx, tx, who->tenant_id));
	if (rc < 0)
		billing__settings_clear(rec, s);
	return rc;
}

static int put_once(void *rec, const billing__settings *s, billing_ctx *ctx,
	const billing_principal *who)
{
	billing_txn *tx;
	int64_t now = billing__now(ctx);
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	*(const char **)rec = who->tenant_id;
	memcpy((char *)rec + s->updated_at_offset, &now, sizeof(now));
	if ((rc = billing__record_put(ctx->st, tx, s->res, rec)) == BILLING_OK)
		rc = billing__audit_record(ctx, tx, who->tenant_id, NULL);
	return billing__end(ctx, tx, rc);
}

int billing__settings_put(void *rec, const billing__settings *s, billing_ctx *ctx,
	const billing_principal *who)
{
	int rc;

	if ((rc = billing__authorize(ctx, who, s->op_set)) < 0)
		return rc;
	if ((rc = s->check(rec)) < 0)
		return rc;
	BILLING__RETRY(put_once(rec, s, ctx, who));
}

static int update_once(void *rec, const billing__settings *s, billing_ctx *ctx,
	const billing_principal *who, billing__settings_change change, const void *arg)
{
	billing_txn *tx;
	int64_t now = billing__now(ctx);
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__settings_lock(rec, s, ctx, tx, who->tenant_id)) == BILLING_OK) {
		change(rec, arg);
		memcpy((char *)rec + s->updated_at_offset, &now, sizeof(now));
		if ((rc = s->check(rec)) == BILLING_OK &&
		    (rc = billing__record_put(ctx->st, tx, s->res, rec)) == BILLING_OK)
			rc = billing__audit_record(ctx, tx, who->tenant_id, NULL);
	}
	/* A refusal or a failed commit leaves *rec owning nothing (a retry
	 * reads it again). */
	if ((rc = billing__end(ctx, tx, rc)) < 0)
		billing__settings_clear(rec, s);
	return rc;
}

int billing__settings_update(void *rec, const billing__settings *s, billing_ctx *ctx,
	const billing_principal *who, billing__settings_change change, const void *arg)
{
	int rc;

	if ((rc = billing__authorize(ctx, who, s->op_set)) < 0)
		return rc;
	BILLING__RETRY(update_once(rec, s, ctx, who, change, arg));
}
