/*
 * Tenant settings (core/settings.h): the one read and put of every
 * per-tenant settings record.
 */
#include <string.h>

#include "core/events.h"
#include "core/settings.h"
#include "core/txn.h"

struct reading {
	const billing__settings *s;
	void *rec;
};

static int settings_row(void *payload, const void *record)
{
	struct reading *rd = payload;
	memcpy(rd->rec, record, rd->s->res->record_size);
	return BILLING_OK;
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
	/* No renewal writes settings: a batch of the billing run reads a
	 * tenant's once, even when it has none (store_deferred.c). */
	rc = lock == BILLING_LOCK_NONE ?
		billing__read_settled(ctx->st, tx, s->res, tenant_id, tenant_id, settings_row, &rd) :
		ctx->st->record_read(tx, s->res, tenant_id, tenant_id, lock, settings_row, &rd);
	/* The row's strings were the read's: the key is the caller's. */
	*(const char **)rec = tenant_id;
	return rc == BILLING_ENOTFOUND ? BILLING_OK : rc;
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
	return billing__end(ctx, tx, billing__settings_read(rec, s, ctx, tx, who->tenant_id));
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
	return billing__end(ctx, tx, rc);
}

int billing__settings_update(void *rec, const billing__settings *s, billing_ctx *ctx,
	const billing_principal *who, billing__settings_change change, const void *arg)
{
	int rc;

	if ((rc = billing__authorize(ctx, who, s->op_set)) < 0)
		return rc;
	BILLING__RETRY(update_once(rec, s, ctx, who, change, arg));
}
