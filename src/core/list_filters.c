/*
 * Lists onto storage's generic record_list: the named filters of a
 * billing_list_query (active, amount range, currency, owner ids, status,
 * invoice period, event type, created after) and its billing_sort_column
 * become billing_filters and a sort field of the resource's descriptor.
 * Every list of the library reaches storage through billing__list_records,
 * so a backend only ever sees filters and a sort field; the named members
 * stay in the query for the core's own parsing (list.c and the modules
 * fill them from the public params), never for storage.
 *
 * A named filter names a column, not a field: "active" is is_active on
 * products and active on plans, the amount range is price_cents on products
 * and amount on plans. A filter set on a resource that has no such column,
 * or whose descriptor does not flag the column for it, is refused
 * (BILLING_EINVALID "invalid_filter"), never dropped.
 */
#include <limits.h>
#include <string.h>

#include "core/assert.h"
#include "core/core.h"
#include "core/resource.h"
#include "core/resources.h"

/* Named filters and explicit ones: the named ones are at most 18. */
#define NAMED_MAX 20

struct filters {
	const billing_resource *res;
	billing_filter v[NAMED_MAX];
	size_t n;
};

/* The first of columns (NULL-ended) that res has. */
static const billing_field *field_of(const billing_resource *res, const char *const *columns)
{
	const billing_field *f = NULL;
	for (; *columns && !f; columns++)
		f = billing_resource_field(res, *columns);
	return f;
}

static int add(struct filters *fs, const char *const *columns, billing_filter_op op,
	const char *text, int64_t num)
{
	const billing_field *f = field_of(fs->res, columns);
	billing_filter *fl;
	if (!f)
		return billing__error_field(BILLING_EINVALID, "invalid_filter", columns[0],
			"%s cannot be filtered on %s", fs->res->name ? fs->res->name : fs->res->table,
			columns[0]);
	BILLING_ASSERT(fs->n < NAMED_MAX);
	fl = &fs->v[fs->n++];
	memset(fl, 0, sizeof(*fl));
	fl->field = f;
	fl->op = op;
	fl->text = text;
	fl->num = num;
	return BILLING_OK;
}

#define COLS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static int add_text(struct filters *fs, const char *column, const char *value)
{
	return value ? add(fs, COLS(column), BILLING_FILTER_EQ, value, 0) : BILLING_OK;
}

/* The named filters of q, in the order the storage of version 7 and
 * before applied them. */
static int named_filters(struct filters *fs, const billing_list_query *q)
{
	static const char *const active[] = { "active", "is_active", NULL };
	static const char *const amount[] = { "amount", "price_cents", NULL };
	int rc = BILLING_OK;

	if (q->active == 1 || q->active == 2)
		rc = add(fs, active, BILLING_FILTER_EQ, NULL, q->active == 1 ? 1 : 0);
	if (rc == BILLING_OK && q->has_min_amount)
		rc = add(fs, amount, BILLING_FILTER_GE, NULL, q->min_amount);
	if (rc == BILLING_OK && q->has_max_amount)
		rc = add(fs, amount, BILLING_FILTER_LE, NULL, q->max_amount);
	if (rc == BILLING_OK)
		rc = add_text(fs, "currency", q->currency);
	if (rc == BILLING_OK)
		rc = add_text(fs, "product_id", q->product_id);
	if (rc == BILLING_OK)
		rc = add_text(fs, "customer_id", q->customer_id);
	if (rc == BILLING_OK)
		rc = add_text(fs, "plan_id", q->plan_id);
	if (rc == BILLING_OK)
		rc = add_text(fs, "subscription_id", q->subscription_id);
	if (rc == BILLING_OK && q->status)
		rc = add(fs, COLS("status"), BILLING_FILTER_EQ, NULL, q->status);
	if (rc == BILLING_OK && q->has_period_from)
		rc = add(fs, COLS("period_start"), BILLING_FILTER_GE, NULL, q->period_from);
	if (rc == BILLING_OK && q->has_period_to)
		rc = add(fs, COLS("period_start"), BILLING_FILTER_LT, NULL, q->period_to);
	if (rc == BILLING_OK)
		rc = add_text(fs, "type", q->type);
	if (rc == BILLING_OK && q->has_created_after)
		rc = add(fs, COLS("created_at"), BILLING_FILTER_GT, NULL, q->created_after);
	if (rc == BILLING_OK)
		rc = add_text(fs, "invoice_id", q->invoice_id);
	if (rc == BILLING_OK)
		rc = add_text(fs, "endpoint_id", q->endpoint_id);
	if (rc == BILLING_OK)
		rc = add_text(fs, "event_id", q->event_id);
	return rc;
}

/* The column of a billing_sort_column. */
static const char *sort_column(billing_sort_column sort)
{
	switch (sort) {
	case BILLING_SORT_NAME: return "name";
	case BILLING_SORT_EMAIL: return "email_key";
	case BILLING_SORT_SKU: return "sku";
	case BILLING_SORT_CODE: return "code";
	case BILLING_SORT_PRICE: return "price_cents";
	case BILLING_SORT_AMOUNT: return "amount";
	case BILLING_SORT_PERIOD_END: return "current_period_end";
	case BILLING_SORT_CREATED:
	default: return "created_at";
	}
}

int billing__list_query_resolve(billing_list_query *out, billing_filter *filters,
	size_t cap, const billing_resource *res, const billing_list_query *q)
{
	struct filters fs;
	int rc;

	fs.res = res;
	fs.n = 0;
	if ((rc = named_filters(&fs, q)) < 0)
		return rc;
	if (fs.n + q->filter_count > cap)
		return billing__error_field(BILLING_EINVALID, "invalid_filter", "filters",
			"too many filters");
	*out = *q;
	if (fs.n)
		memcpy(filters, fs.v, fs.n * sizeof(*filters));
	if (q->filter_count)
		memcpy(filters + fs.n, q->filters, q->filter_count * sizeof(*filters));
	out->filters = filters;
	out->filter_count = fs.n + q->filter_count;
	if (!out->sort_field && q->sort != BILLING_SORT_CREATED) {
		/* (created: the builder's default, created_at or else the id) */
		const char *col = sort_column(q->sort);
		if ((out->sort_field = billing_resource_field(res, col)) == NULL)
			return billing__error_field(BILLING_EINVALID, "invalid_sort", "sort",
				"%s cannot be sorted on %s", res->name ? res->name : res->table, col);
	}
	return BILLING_OK;
}

int billing__list_records(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const billing_list_query *q, billing_row_cb cb, void *payload)
{
	billing_filter stack[NAMED_MAX + 8], *filters = stack;
	size_t cap = sizeof(stack) / sizeof(stack[0]);
	billing_list_query rq;
	int rc;

	if (q->filter_count > 8) {
		cap = NAMED_MAX + q->filter_count;
		if ((filters = billing__calloc(cap, sizeof(*filters))) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	rc = billing__list_query_resolve(&rq, filters, cap, res, q);
	if (rc == BILLING_OK)
		rc = st->record_list(tx, res, tenant_id, &rq, cb, payload);
	if (filters != stack)
		billing__free(filters);
	return rc;
}

int billing__list_all(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const billing_filter *filters, size_t filter_count,
	billing_row_cb cb, void *payload)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	q.limit = UINT_MAX;
	q.filters = filters;
	q.filter_count = filter_count;
	q.all_tenants = tenant_id == NULL;
	return billing__list_records(st, tx, res, tenant_id, &q, cb, payload);
}

int billing__list_all_with_deleted(billing_storage *st, billing_txn *tx,
	const billing_resource *res, const char *tenant_id, billing_row_cb cb, void *payload)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	q.limit = UINT_MAX;
	q.with_deleted = 1;
	return billing__list_records(st, tx, res, tenant_id, &q, cb, payload);
}

static int count_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

int billing__count_records(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const billing_filter *filters, size_t filter_count,
	int with_deleted, int64_t *count)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	q.limit = 0;
	q.total = count;
	q.filters = filters;
	q.filter_count = filter_count;
	q.with_deleted = with_deleted;
	*count = 0;
	return billing__list_records(st, tx, res, tenant_id, &q, count_row, NULL);
}

struct found {
	const billing_field *id;
	char buf[BILLING_ID_MAX];
	int n;
	billing_row_cb cb;      /* set: rows go straight to it (no lock to take) */
	void *payload;
};

static int found_row(void *payload, const void *record)
{
	struct found *f = payload;
	const char *id = billing__record_text(f->id, record);
	f->n++;
	if (f->cb)
		return f->cb(f->payload, record);
	if (!id || strlen(id) >= sizeof(f->buf))
		return billing__error_set(BILLING_ESTORAGE, "storage", "a row with a malformed id");
	memcpy(f->buf, id, strlen(id) + 1);
	return 1;
}

int billing__find(billing_storage *st, billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const billing_filter *filters, size_t filter_count,
	unsigned int lock, billing_row_cb cb, void *payload)
{
	struct found f;
	billing_list_query q;
	int rc;

	memset(&f, 0, sizeof(f));
	f.id = billing__field_with(res, BILLING_FIELD_ID);
	BILLING_ASSERT(f.id != NULL);
	if (lock == BILLING_LOCK_NONE || !tenant_id) {
		f.cb = cb;
		f.payload = payload;
	}
	memset(&q, 0, sizeof(q));
	q.limit = 1;
	q.filters = filters;
	q.filter_count = filter_count;
	q.all_tenants = tenant_id == NULL;
	if ((rc = billing__list_records(st, tx, res, tenant_id, &q, found_row, &f)) < 0)
		return rc;
	if (!f.n)
		return billing__error_set(BILLING_ENOTFOUND, NULL, "no such %s",
			res->name ? res->name : res->table);
	if (f.cb)
		return rc;
	/* Read again by the key, to hold it as lock says (a list locks nothing). */
	return st->record_read(tx, res, tenant_id, f.buf, lock, cb, payload);
}
