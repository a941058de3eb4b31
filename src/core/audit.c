/*
 * Reading the audit log (billing/audit.h). Rows are written by
 * billing__audit_record (events.c) in each mutating call's transaction.
 */
#include <string.h>

#include "core/core.h"
#include "core/entity.h"

struct billing_audit_entry {
	char *tenant_id;
	char *id;
	char *user_id;
	char *operation;
	char *resource_id;
	char *request_id;
	char *idempotency_key;
	billing_role role;
	int64_t at;
};

static void free_item(void *item)
{
	billing__free(item);
}

static void *from_record(const void *record)
{
	const billing_audit_record *r = record;
	billing_audit_entry *a;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->user_id) + billing__strsize(r->operation) +
		billing__strsize(r->resource_id) + billing__strsize(r->request_id) +
		billing__strsize(r->idempotency_key);

	if ((a = billing__calloc(1, sizeof(*a) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(a + 1);
	a->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	a->id = billing__strpack_put(&sp, r->id);
	a->user_id = billing__strpack_put(&sp, r->user_id);
	a->operation = billing__strpack_put(&sp, r->operation);
	a->resource_id = billing__strpack_put(&sp, r->resource_id);
	a->request_id = billing__strpack_put(&sp, r->request_id);
	a->idempotency_key = billing__strpack_put(&sp, r->idempotency_key);
	a->role = (billing_role)r->role;
	a->at = r->at;
	return a;
}

static int64_t version_of(const void *item)
{
	(void)item;
	return 1;
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_audit, tenant_id, q, cb, payload);
}

static const billing__entity entity = {
	"audit entry", from_record, free_item, version_of, NULL,
	NULL, NULL, NULL, NULL, st_list,
	NULL, NULL, NULL, NULL
};

static void sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_audit_entry *a = item;
	*text = NULL;
	*num = a->at;
	*id = a->id;
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ NULL, 0, false }
};

int billing_audit_list(billing_page **out, billing_ctx *ctx, const billing_principal *who,
	const billing_list_params *params)
{
	billing_list_params none = BILLING_LIST_PARAMS_INIT;
	billing__list l;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_AUDIT_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, params ? params : &none, sorts,
		"audit", BILLING__PAGE_AUDIT, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = sort_key;
	return billing__entity_list(out, &entity, &l, ctx, who->tenant_id);
}

const billing_audit_entry *billing_page_audit_entry(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_AUDIT, i);
}

const char *billing_audit_entry_id(const billing_audit_entry *a) { return a ? a->id : NULL; }
int64_t billing_audit_entry_at(const billing_audit_entry *a) { return a ? a->at : 0; }
const char *billing_audit_entry_user_id(const billing_audit_entry *a)
{
	return a ? a->user_id : NULL;
}
billing_role billing_audit_entry_role(const billing_audit_entry *a)
{
	return a ? a->role : (billing_role)0;
}
const char *billing_audit_entry_operation(const billing_audit_entry *a)
{
	return a ? a->operation : NULL;
}
const char *billing_audit_entry_resource_id(const billing_audit_entry *a)
{
	return a ? a->resource_id : NULL;
}
const char *billing_audit_entry_request_id(const billing_audit_entry *a)
{
	return a ? a->request_id : NULL;
}
const char *billing_audit_entry_idempotency_key(const billing_audit_entry *a)
{
	return a ? a->idempotency_key : NULL;
}
