/*
 * Storage operations the core composes from the record methods (see
 * txn.h): rows that belong to an owner and have no id of their own
 * (invoice lines, pending lines, a delivery's attempts: the owner's id is
 * their ID field, see resources.c), and the write of a row without a
 * version (the dunning policy). A backend implements none of this: it
 * serves the record methods, and these calls are made of them.
 */
#include <limits.h>
#include <string.h>

#include "core/assert.h"
#include "core/core.h"
#include "core/resource.h"

/* The field a list of an owner's rows is ordered by: its SORT field. */
static const billing_field *order_field(const billing_resource *res)
{
	size_t i;
	for (i = 0; i < res->field_count; i++)
		if (res->fields[i].flags & BILLING_FIELD_SORT)
			return &res->fields[i];
	return NULL;
}

int billing__list_owned(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *owner_id, billing_row_cb cb, void *payload)
{
	const billing_filter owner = { billing__field_with(res, BILLING_FIELD_ID),
		BILLING_FILTER_EQ, owner_id, 0, NULL };
	billing_list_query q;

	memset(&q, 0, sizeof(q));
	q.limit = UINT_MAX;
	q.filters = &owner;
	q.filter_count = 1;
	q.sort_field = order_field(res);
	return billing__list_records(st, tx, res, tenant_id, &q, cb, payload);
}

int billing__owned_delete(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *owner_id)
{
	int rc = st->record_delete(tx, res, tenant_id, owner_id);
	if (rc == BILLING_ENOTFOUND) {
		billing_error_clear();
		rc = BILLING_OK;
	}
	return rc;
}

int billing__lines_insert(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *owner_id, const billing_invoice_line *lines,
	size_t count, int32_t first_no)
{
	billing_line_record r;
	size_t i;
	int rc = BILLING_OK;

	for (i = 0; rc == BILLING_OK && i < count; i++) {
		memset(&r, 0, sizeof(r));
		r.line = lines[i];
		r.line.proration = lines[i].proration ? 1 : 0;
		r.tenant_id = tenant_id;
		r.owner_id = owner_id;
		r.line_no = first_no + (int32_t)i;
		rc = billing__insert(st, tx, res, &r);
	}
	return rc;
}

int billing__pending_line_add(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const char *subscription_id, const billing_invoice_line *line)
{
	const billing_resource *res = &billing__res_pending_line;
	const billing_filter owner = { billing__field_with(res, BILLING_FIELD_ID),
		BILLING_FILTER_EQ, subscription_id, 0, NULL };
	int64_t waiting = 0;
	int rc;

	/* Numbered after the lines waiting: they are only ever added one by
	 * one under the subscription's lock and cleared all at once, so they
	 * are 1..waiting. */
	if ((rc = billing__count_records(st, tx, res, tenant_id, &owner, 1, 0, &waiting)) < 0)
		return rc;
	if (waiting >= INT32_MAX)
		return billing__error_set(BILLING_ECONFLICT, "too_many_lines",
			"the subscription has too many lines waiting");
	return billing__lines_insert(st, tx, res, tenant_id, subscription_id, line, 1,
		(int32_t)waiting + 1);
}

int billing__record_put(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const void *rec)
{
	int rc;
	BILLING_ASSERT(billing__field_with(res, BILLING_FIELD_VERSION) == NULL);
	/* Without a version field the update takes the row whatever it holds;
	 * no row is the stale answer. */
	if ((rc = st->record_update(tx, res, rec, 0)) != BILLING_ESTALE)
		return rc;
	billing_error_clear();
	/* A row inserted meanwhile by another transaction: our update did not
	 * see it, and on PostgreSQL the failed insert has aborted this
	 * transaction. That is a serialization conflict: the whole call runs
	 * again (BILLING__RETRY) and its update then finds the row. */
	if ((rc = st->record_insert(tx, res, rec)) == BILLING_EEXISTS)
		return billing_storage_error(BILLING_EBUSY, "serialization_failure",
			"the row was written at the same time by another transaction");
	return rc;
}
