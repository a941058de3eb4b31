/*
 * Tenant settings: a per-tenant singleton record (usage settings, tax
 * settings), keyed by the tenant, with a default while
 * the tenant has no row. One descriptor says where it lives and who may
 * read or write it; the read, and the put with its audit row under
 * BILLING__RETRY, are written once here.
 */
#ifndef BILLING_CORE_SETTINGS_H
#define BILLING_CORE_SETTINGS_H

#include "core/core.h"
#include "core/permissions.h"

typedef struct {
	/* The row: a record whose first member is `const char *tenant_id`
	 * (the key, a field ID | TENANT) and which has an int64 updated_at
	 * (at updated_at_offset). No version field: a put takes the row
	 * whatever it holds (billing__record_put). */
	const billing_resource *res;
	size_t updated_at_offset;
	/* The record while the tenant has no row (res->record_size bytes;
	 * its tenant_id is not read). */
	const void *defaults;
	/* Who may read it and who may write it (permissions.c). */
	billing__op op_get, op_set;
	/* The form of a record to put: BILLING_OK, or BILLING_EINVALID naming
	 * the field (nothing written). */
	int (*check)(const void *rec);
} billing__settings;

/* *rec (res->record_size bytes) receives the tenant's settings, read in tx
 * without a lock, or the defaults when it has none; its tenant_id is then
 * tenant_id (borrowed) and each of its other strings (BILLING_FIELD_TEXT)
 * a copy of its own, released by billing__settings_clear (a record whose
 * only string is the key owns nothing). On failure *rec owns nothing. */
int billing__settings_read(void *rec, const billing__settings *s, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id);

/* Releases the strings of a record that billing__settings_read, _lock,
 * _get or _update filled (all but the key) and sets them NULL. */
void billing__settings_clear(void *rec, const billing__settings *s);

/* As billing__settings_read, the row locked for update (a write
 * transaction that changes it). */
int billing__settings_lock(void *rec, const billing__settings *s, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id);

/* The principal's tenant's settings into *rec, in a read transaction of
 * their own; s->op_get authorized first, then the caller's out-parameter
 * out (BILLING_EINVALID naming out_name when NULL). */
int billing__settings_get(void *rec, const billing__settings *s, billing_ctx *ctx,
	const billing_principal *who, const void *out, const char *out_name);

/* Writes *rec as the principal's tenant's settings (its tenant_id and
 * updated_at are set here), with an audit row, in one write transaction run
 * again on a serialization failure; s->op_set authorized, then s->check,
 * before anything is written. */
int billing__settings_put(void *rec, const billing__settings *s, billing_ctx *ctx,
	const billing_principal *who);

/* Sets the fields of *rec (the tenant's current record) that an update
 * changes; the others are kept. */
typedef void (*billing__settings_change)(void *rec, const void *arg);

/* Changes some fields of the principal's tenant's settings and keeps the
 * others: in one write transaction (run again on a serialization failure)
 * the current record (or the defaults) is read locked into *rec,
 * change(rec, arg) applied, s->check run on the whole record (a refusal
 * writes nothing), and the record written with an audit row. s->op_set is
 * authorized first. *rec receives the record written (its strings as
 * billing__settings_read says; change() replaces a string it changes with
 * one of the record's own, freeing the old one). */
int billing__settings_update(void *rec, const billing__settings *s, billing_ctx *ctx,
	const billing_principal *who, billing__settings_change change, const void *arg);

#endif
