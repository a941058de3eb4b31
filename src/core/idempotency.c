/*
 * Idempotency keys: a mutating call made with a key records (key, operation,
 * digest of its normalized input, resulting resource) in its own
 * transaction, so a retry after a lost answer changes nothing and returns
 * the same resource, and a key reused for something else is refused.
 */
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/core.h"
#include "core/events.h"
#include "core/encode.h"

int billing__idem_init(billing__idem *i, const billing_call_options *opts, billing__op op,
	const char *input_text, size_t input_len)
{
	uint8_t digest[32];
	size_t k, len;

	memset(i, 0, sizeof(*i));
	i->op = op;
	snprintf(i->op_name, sizeof(i->op_name), "%s", billing__op_get(op)->name);
	if (!opts)
		return BILLING_OK;
	if (opts->version == 0 || opts->version > BILLING_CALL_OPTIONS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_call_options version %u", opts->version);
	if (opts->version >= 3 && opts->request_id) {
		const char *p;
		size_t n = strlen(opts->request_id);
		if (n == 0 || n > 128)
			return billing__error_field(BILLING_EINVALID, "invalid", "requestId",
				"must be 1 to 128 characters");
		for (p = opts->request_id; *p; p++)
			if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
				return billing__error_field(BILLING_EINVALID, "invalid", "requestId",
					"must be printable ASCII without spaces");
	}
	billing__scope_options(opts->idempotency_key,
		opts->version >= 3 ? opts->request_id : NULL);
	if (!opts->idempotency_key)
		return BILLING_OK;
	len = strlen(opts->idempotency_key);
	if (len == 0 || len > 255)
		return billing__error_field(BILLING_EINVALID, "invalid", "idempotencyKey",
			"must be 1 to 255 characters");
	for (k = 0; k < len; k++) {
		unsigned char ch = (unsigned char)opts->idempotency_key[k];
		if (ch < 0x21 || ch > 0x7e)
			return billing__error_field(BILLING_EINVALID, "invalid", "idempotencyKey",
				"must be printable ASCII without spaces");
	}
	i->key = opts->idempotency_key;
	if (opts->version >= 2 && opts->replayed) {
		i->replayed_out = opts->replayed;
		*i->replayed_out = 0;
	}
	if (billing__sha256(digest, input_text ? input_text : "", input_text ? input_len : 0) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "cannot hash the request");
	billing__hex_encode(i->hash, digest, sizeof(digest));
	return BILLING_OK;
}

int billing__idem_init_buf(billing__idem *i, const billing_call_options *opts, billing__op op,
	billing__buf *b)
{
	int rc = b->failed ? billing__error_set(BILLING_ENOMEM, NULL, NULL) :
		billing__idem_init(i, opts, op, b->s, b->len);
	billing__buf_free(b);
	return rc;
}

int billing__idem_init_named(billing__idem *i, const billing_call_options *opts,
	const char *name, billing__buf *b)
{
	int rc = billing__idem_init_buf(i, opts, BILLING_OP__JSON_COUNT, b);
	/* Names are "<plural>.<verb>" of the library's own descriptors. */
	BILLING_ASSERT(strlen(name) < sizeof(i->op_name));
	snprintf(i->op_name, sizeof(i->op_name), "%s", name);
	return rc;
}

struct idem_found {
	billing__idem *i;
	int mismatch;
};

static int on_idem(void *payload, const void *record)
{
	struct idem_found *f = payload;
	const billing_idempotency_record *r = record;
	if (strcmp(r->operation, f->i->op_name) != 0 || strcmp(r->request_hash, f->i->hash) != 0) {
		f->mismatch = 1;
		return BILLING_OK;
	}
	if (strlen(r->resource_id) >= sizeof(f->i->resource_id))
		return billing__error_set(BILLING_ESTORAGE, "storage", "stored resource id too long");
	strcpy(f->i->resource_id, r->resource_id);
	f->i->replay = true;
	return BILLING_OK;
}

int billing__idem_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__idem *i)
{
	struct idem_found f = { i, 0 };
	int rc;
	if (!i->key)
		return BILLING_OK;
	rc = ctx->st->idempotency_get(tx, tenant_id, i->key, on_idem, &f);
	if (rc == BILLING_ENOTFOUND)
		return BILLING_OK;
	if (rc < 0)
		return rc;
	if (f.mismatch)
		return billing__error_field(BILLING_ECONFLICT, "idempotency_mismatch", "idempotencyKey",
			"this idempotency key was used with a different request");
	if (i->replay && i->replayed_out)
		*i->replayed_out = 1;
	return BILLING_OK;
}

int billing__idem_record(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__idem *i, const char *resource_id)
{
	billing_idempotency_record r;
	int rc;
	/* Every mutating call records itself here, in its transaction. */
	if ((rc = billing__audit_record(ctx, tx, tenant_id, resource_id)) < 0 || !i->key)
		return rc;
	r.tenant_id = tenant_id;
	r.key = i->key;
	r.operation = i->op_name;
	r.request_hash = i->hash;
	r.resource_id = resource_id;
	r.created_at = billing__now(ctx);
	return ctx->st->idempotency_insert(tx, &r);
}
