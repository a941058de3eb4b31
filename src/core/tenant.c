/*
 * Tenants: made by the platform operator, read by their own principals.
 */
#include <string.h>

#include "core/core.h"
#include "core/text.h"

#define RENEWAL_DRAFT_DELAY_MAX BILLING_RENEWAL_DRAFT_DELAY_MAX  /* billing/invoice.h */

struct billing_tenant {
	char *id;
	char *name;
	char *invoice_prefix;
	char *credit_note_prefix;
	int64_t renewal_draft_delay;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

void billing_tenant_free(billing_tenant *t)
{
	if (!t)
		return;
	billing__free(t);
}

static void free_item(void *item)
{
	billing_tenant_free(item);
}

static void *from_record(const void *record)
{
	const billing_tenant_record *r = record;
	billing_tenant *t;
	billing__strpack sp;
	size_t strings = billing__strsize(r->id) +
		billing__strsize(r->name) +
		billing__strsize(r->invoice_prefix) +
		billing__strsize(r->credit_note_prefix ? r->credit_note_prefix : "CN-");
	if ((t = billing__calloc(1, sizeof(*t) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(t + 1);
	t->id = billing__strpack_put(&sp, r->id);
	t->name = billing__strpack_put(&sp, r->name);
	t->invoice_prefix = billing__strpack_put(&sp, r->invoice_prefix);
	t->credit_note_prefix = billing__strpack_put(&sp, r->credit_note_prefix ?
		r->credit_note_prefix : "CN-");
	t->renewal_draft_delay = r->renewal_draft_delay;
	t->created_at = r->created_at;
	t->updated_at = r->updated_at;
	t->version = r->version;
	return t;
}

static void sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_tenant *t = item;
	*text = t->name;
	*num = t->created_at;
	*id = t->id;
}

/* 1..16 of [A-Za-z0-9._-], where "{YYYY}" (the finalization year) counts
 * as one character. */
static bool prefix_ok(const char *s)
{
	size_t len = 0;
	while (*s) {
		char ch = *s;
		if (strncmp(s, "{YYYY}", 6) == 0) {
			s += 6;
		} else if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-') {
			s++;
		} else {
			return false;
		}
		len++;
	}
	return len >= 1 && len <= 16;
}

static int tenant_create_once(billing_tenant **out, billing_ctx *ctx,
	const billing_principal *who, const billing_tenant_params *p,
	const billing_call_options *opts)
{
	billing__checks c = BILLING__CHECKS_INIT;
	billing_tenant_record r;
	char id[BILLING_ID_MAX], *name = NULL;
	billing_txn *tx;
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_TENANTS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_TENANT_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_tenant_params version %u", p->version);
	/* Tenant creation is the operator's, outside any tenant: idempotency
	 * keys are scoped to a tenant, so they do not apply here. */
	if (opts && opts->version >= 1 && opts->idempotency_key)
		return billing__error_field(BILLING_EINVALID, "invalid", "idempotencyKey",
			"tenant creation does not take an idempotency key");
	if ((rc = billing__check_text(&c, "name", p->name, BILLING__TEXT_REQUIRED, 1, 120,
		&name)) < 0)
		return rc;
	if (p->invoice_prefix && !prefix_ok(p->invoice_prefix))
		billing__check_fail(&c, "invoicePrefix",
			"must be 1 to 16 of A-Z a-z 0-9 . _ - and {YYYY}");
	/* Version 2 added the credit-note prefix (the older struct ends before). */
	if (p->version >= 2 && p->credit_note_prefix && !prefix_ok(p->credit_note_prefix))
		billing__check_fail(&c, "creditNotePrefix",
			"must be 1 to 16 of A-Z a-z 0-9 . _ - and {YYYY}");
	/* Version 3 added the renewal draft delay. */
	if (p->version >= 3 && (p->renewal_draft_delay < 0 ||
	    p->renewal_draft_delay > RENEWAL_DRAFT_DELAY_MAX))
		billing__check_fail(&c, "renewalDraftDelay",
			"must be 0 to 2592000 seconds (30 days)");
	if ((rc = billing__checks_finish(&c, "tenant")) < 0)
		goto out;

	now = billing__now(ctx);
	if (billing__id_new(id, "ten", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}
	r.id = id;
	r.name = name;
	r.invoice_prefix = p->invoice_prefix ? p->invoice_prefix : "INV-";
	r.credit_note_prefix = p->version >= 2 && p->credit_note_prefix ? p->credit_note_prefix :
		"CN-";
	r.renewal_draft_delay = p->version >= 3 ? p->renewal_draft_delay : 0;
	r.created_at = r.updated_at = now;
	r.version = 1;
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_WRITE)) < 0)
		goto out;
	if ((rc = billing__end(ctx, tx, ctx->st->record_insert(tx, &billing__res_tenant, &r))) < 0)
		goto out;
	if ((*out = from_record(&r)) == NULL)
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
out:
	billing__free(name);
	return rc;
}

int billing_tenant_create(billing_tenant **out, billing_ctx *ctx,
	const billing_principal *who, const billing_tenant_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(tenant_create_once(out, ctx, who, p, opts));
}

int billing_tenant_get(billing_tenant **out, billing_ctx *ctx,
	const billing_principal *who, const char *tenant_id)
{
	billing__capture cap = { from_record, NULL };
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_TENANTS_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (!billing__id_arg_ok(tenant_id, "ten") ||
	    (who->role != BILLING_ROLE_PLATFORM && strcmp(tenant_id, who->tenant_id) != 0))
		return billing__not_found("tenant");
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = ctx->st->record_read(tx, &billing__res_tenant, NULL, tenant_id, BILLING_LOCK_NONE, billing__capture_row, &cap);
	if (rc == BILLING_ENOTFOUND)
		rc = billing__not_found("tenant");
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing_tenant_free(cap.item);
		return rc;
	}
	*out = cap.item;
	return BILLING_OK;
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ "name", BILLING_SORT_NAME, true },
	{ NULL, 0, false }
};

int billing_tenant_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params)
{
	billing__list l;
	billing_txn *tx;
	int64_t total = 0;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_TENANTS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = billing__list_begin(&l, ctx, NULL, params, sorts, "tenants",
		BILLING__PAGE_TENANT, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = sort_key;
	if (l.q.offset >= 0)
		l.q.total = &total;
	if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_READ)) == BILLING_OK) {
		rc = billing__list_records(ctx->st, tx, &billing__res_tenant, NULL, &l.q, billing__list_row, &l);
		rc = billing__end(ctx, tx, rc);
	}
	return billing__list_end(&l, rc, out);
}

const billing_tenant *billing_page_tenant(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_TENANT, i);
}

const char *billing_tenant_id(const billing_tenant *t) { return t ? t->id : NULL; }
const char *billing_tenant_name(const billing_tenant *t) { return t ? t->name : NULL; }
const char *billing_tenant_credit_note_prefix(const billing_tenant *t)
{
	return t ? t->credit_note_prefix : NULL;
}

const char *billing_tenant_invoice_prefix(const billing_tenant *t)
{
	return t ? t->invoice_prefix : NULL;
}
int64_t billing_tenant_renewal_draft_delay(const billing_tenant *t)
{
	return t ? t->renewal_draft_delay : 0;
}

int64_t billing_tenant_created_at(const billing_tenant *t) { return t ? t->created_at : 0; }
