/*
 * Writing domain events with the change that causes them (see events.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/validate.h"
#include "core/webhook_internal.h"

/* ------------------------------------------------------------ the call's scope */

static _Thread_local struct {
	const billing_principal *who;
	char op_name[64];           /* "customers.create", "tax_rates.update" */
	bool mutating;
	bool has_op;
	const char *idempotency_key;
	const char *request_id;
	bool pinned;
	const char *pinned_key;
	const char *pinned_request_id;
} scope;

void billing__scope_call_named(const billing_principal *who, const char *name, bool mutating)
{
	scope.who = who;
	/* Names are the library's own: the op table's and "<plural>.<verb>". */
	BILLING_ASSERT(strlen(name) < sizeof(scope.op_name));
	snprintf(scope.op_name, sizeof(scope.op_name), "%s", name);
	scope.mutating = mutating;
	scope.has_op = true;
	scope.idempotency_key = scope.pinned ? scope.pinned_key : NULL;
	scope.request_id = scope.pinned ? scope.pinned_request_id : NULL;
}

void billing__scope_call(const billing_principal *who, billing__op op)
{
	const billing__op_info *info = billing__op_get(op);
	if (!info) {
		/* An unknown op is refused by billing__authorize: audit nothing. */
		scope.has_op = false;
		return;
	}
	billing__scope_call_named(who, info->name, info->mutating);
}

void billing__scope_options(const char *idempotency_key, const char *request_id)
{
	if (scope.pinned)
		return;
	scope.idempotency_key = idempotency_key;
	scope.request_id = request_id;
}

void billing__scope_clear(void)
{
	bool pinned = scope.pinned;
	const char *k = scope.pinned_key, *r = scope.pinned_request_id;
	memset(&scope, 0, sizeof(scope));
	scope.pinned = pinned;
	scope.pinned_key = k;
	scope.pinned_request_id = r;
}

void billing__scope_pin(const char *idempotency_key, const char *request_id)
{
	scope.pinned = true;
	scope.pinned_key = idempotency_key;
	scope.pinned_request_id = request_id;
}

void billing__scope_unpin(void)
{
	memset(&scope, 0, sizeof(scope));
}

int billing__audit_record(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *resource_id)
{
	billing_audit_record r;
	char id[BILLING_ID_MAX];

	if (!scope.has_op || !scope.mutating || !scope.who || !tenant_id)
		return BILLING_OK;
	r.at = billing__now(ctx);
	if (billing__id_new(id, "aud", r.at * 1000) < 0)
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	r.tenant_id = tenant_id;
	r.id = id;
	r.user_id = scope.who->user_id;
	r.role = (int)scope.who->role;
	r.operation = scope.op_name;
	r.resource_id = resource_id;
	r.request_id = scope.request_id;
	r.idempotency_key = scope.idempotency_key;
	return ctx->st->record_insert(tx, &billing__res_audit, &r);
}

/* ------------------------------------------------------------ writing */

/* Events of the transaction in progress on this thread, for the
 * subscribers after its commit. */
static _Thread_local struct {
	billing_event **items;
	size_t count, cap;
} pending;

static void *from_record(const void *record);

static void pending_drop(void)
{
	size_t i;
	for (i = 0; i < pending.count; i++)
		billing_event_free(pending.items[i]);
	billing__free(pending.items);
	memset(&pending, 0, sizeof(pending));
}

static bool pending_grow(void)
{
	size_t cap = pending.cap ? pending.cap * 2 : 8;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	billing_event **items = billing__realloc(pending.items, cap * sizeof(*items));
	if (!items)
		return false;
	pending.items = items;
	pending.cap = cap;
	return true;
}

void billing__events_txn_begin(void)
{
	pending_drop();
}

void billing__events_txn_end(billing_ctx *ctx, int committed)
{
	size_t i, j, n;
	billing__subscriber subs[BILLING__MAX_SUBSCRIBERS];

	if (!pending.count)
		return;
	if (committed) {
		pthread_mutex_lock(&ctx->subscribers_mu);
		n = __atomic_load_n(&ctx->subscriber_count, __ATOMIC_ACQUIRE);
		memcpy(subs, ctx->subscribers, n * sizeof(subs[0]));
		pthread_mutex_unlock(&ctx->subscribers_mu);
		/* Taken off the list first: a subscriber may call the library. */
		{
			billing_event **items = pending.items;
			size_t count = pending.count;
			memset(&pending, 0, sizeof(pending));
			for (i = 0; i < count; i++) {
				for (j = 0; j < n; j++)
					subs[j].fn(subs[j].user_data, items[i]);
				billing_event_free(items[i]);
			}
			billing__free(items);
		}
		return;
	}
	pending_drop();
}

int billing__event_emit(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *type, const char *resource_type, const char *resource_id,
	cJSON *(*to_json)(const void *item), const void *item)
{
	billing_event_record r;
	char id[BILLING_ID_MAX], customer[BILLING_ID_MAX];
	char *data;
	int rc;

	/* The customer it is about, for a customer's event list: the
	 * customer's own events, else the customerId its resource shows
	 * (subscriptions, invoices, payments, credit notes, payment methods,
	 * discounts, ...). The same rule as step 40's backfill. */
	if ((data = billing__json_text_member(to_json, item, "customerId", customer,
		sizeof(customer))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (strcmp(resource_type, "customer") == 0)
		r.customer_id = resource_id;
	else
		r.customer_id = customer[0] ? customer : NULL;
	r.created_at = billing__now(ctx);
	if (billing__id_new(id, "evt", r.created_at * 1000) < 0) {
		billing__free(data);
		return billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
	}
	r.tenant_id = tenant_id;
	r.id = id;
	r.type = type;
	r.resource_type = resource_type;
	r.resource_id = resource_id;
	r.data_json = data;
	r.request_id = scope.request_id;
	r.idempotency_key = scope.idempotency_key;
	rc = billing__insert(ctx->st, tx, &billing__res_event, &r);
	/* The outbox: a delivery per endpoint that wants it, in this transaction. */
	if (rc == BILLING_OK)
		rc = billing__webhook_fanout(ctx, tx, tenant_id, id, type, resource_id,
			r.created_at);
	if (rc == BILLING_OK && __atomic_load_n(&ctx->subscriber_count, __ATOMIC_ACQUIRE)) {
		billing_event *e = from_record(&r);
		if (!e || (pending.count == pending.cap && !pending_grow())) {
			billing_event_free(e);
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		} else {
			pending.items[pending.count++] = e;
		}
	}
	billing__free(data);
	return rc;
}

/* ------------------------------------------------------------ reading */

struct billing_event {
	char *tenant_id;
	char *id;
	char *type;
	char *resource_type;
	char *resource_id;
	char *data_json;
	char *request_id;
	char *idempotency_key;
	int64_t created_at;
};

void billing_event_free(billing_event *e)
{
	billing__free(e);
}

static void free_item(void *item)
{
	billing_event_free(item);
}

static void *from_record(const void *record)
{
	const billing_event_record *r = record;
	billing_event *e;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->type) + billing__strsize(r->resource_type) +
		billing__strsize(r->resource_id) + billing__strsize(r->data_json) +
		billing__strsize(r->request_id) + billing__strsize(r->idempotency_key);

	if ((e = billing__calloc(1, sizeof(*e) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(e + 1);
	e->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	e->id = billing__strpack_put(&sp, r->id);
	e->type = billing__strpack_put(&sp, r->type);
	e->resource_type = billing__strpack_put(&sp, r->resource_type);
	e->resource_id = billing__strpack_put(&sp, r->resource_id);
	e->data_json = billing__strpack_put(&sp, r->data_json);
	e->request_id = billing__strpack_put(&sp, r->request_id);
	e->idempotency_key = billing__strpack_put(&sp, r->idempotency_key);
	e->created_at = r->created_at;
	return e;
}

static int64_t version_of(const void *item)
{
	(void)item;
	return 1; /* events never change */
}

static int st_get(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return st->record_read(tx, &billing__res_event, tenant_id, id, BILLING_LOCK_NONE, cb, payload);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_event, tenant_id, q, cb, payload);
}

/* Events are written by billing__event_emit only, and never change. */
static const billing__entity entity = {
	"event", from_record, free_item, version_of, NULL,
	st_get, NULL, NULL, NULL, st_list,
	NULL, NULL, NULL, NULL
};

int billing_event_get(billing_event **out, billing_ctx *ctx, const billing_principal *who,
	const char *id)
{
	return billing__entity_get((void **)out, &entity, ctx, who, BILLING_OP_EVENTS_GET, "evt", id);
}

static void sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_event *e = item;
	*text = NULL;
	*num = e->created_at;
	*id = e->id;
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ NULL, 0, false }
};

static int any_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

/* BILLING_OK when id names a customer of the tenant, or one that some
 * event is about (a deleted customer's); else resource_missing. */
static int customer_known(billing_ctx *ctx, const char *tenant_id, const char *id)
{
	billing__filter_ids ids = { 0 };
	billing_filter about;
	billing_txn *tx;
	int rc;

	ids.tenant_id = tenant_id;
	ids.customer_id = id;
	memset(&about, 0, sizeof(about));
	about.field = billing_resource_field(&billing__res_event, "customer_id");
	about.op = BILLING_FILTER_EQ;
	about.text = id;
	BILLING_ASSERT(about.field != NULL);
	if ((rc = billing__begin(&tx, ctx, tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__find(ctx->st, tx, &billing__res_event, tenant_id, &about, 1,
		BILLING_LOCK_NONE, any_row, NULL);
	if (rc == BILLING_ENOTFOUND)
		rc = billing__check_filter_ids(&ids, ctx, tx);
	return billing__end(ctx, tx, rc);
}

int billing_event_list(billing_page **out, billing_ctx *ctx, const billing_principal *who,
	const billing_event_list_params *params)
{
	billing_event_list_params none = BILLING_EVENT_LIST_PARAMS_INIT;
	const billing_event_list_params *p = params ? params : &none;
	const char *customer_id;
	char filters[200 + BILLING_ID_MAX];
	billing_page *page = NULL;
	billing__list l;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_EVENTS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (p->version == 0 || p->version > BILLING_EVENT_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_event_list_params version %u", p->version);
	if (p->type && (strlen(p->type) == 0 || strlen(p->type) > 100))
		return billing__error_field(BILLING_EINVALID, "invalid", "type",
			"type must be 1 to 100 characters");
	customer_id = p->version >= 2 ? p->customer_id : NULL;
	if (customer_id && !billing__id_arg_ok(customer_id, "cus"))
		return billing__error_field(BILLING_EINVALID, "resource_missing", "customerId",
			"no such customer in this tenant");
	snprintf(filters, sizeof(filters), "events|t=%.100s|a=%d:%lld|c=%s",
		p->type ? p->type : "-", p->has_created_after != 0, (long long)p->created_after,
		customer_id ? customer_id : "-");
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, sorts, filters,
		BILLING__PAGE_EVENT, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = sort_key;
	l.q.type = p->type;
	l.q.has_created_after = p->has_created_after != 0;
	l.q.created_after = p->created_after;
	l.q.customer_id = customer_id;
	/* The customer is not looked up first: a deleted customer's events
	 * stay listable by its id (as a deleted endpoint's deliveries). An id
	 * that names neither a customer nor any event is refused below. */
	if ((rc = billing__entity_list(&page, &entity, &l, ctx, who->tenant_id)) < 0)
		return rc;
	if (page->count == 0 && customer_id &&
	    (rc = customer_known(ctx, who->tenant_id, customer_id)) < 0) {
		billing_page_free(page);
		return rc;
	}
	*out = page;
	return BILLING_OK;
}

const billing_event *billing_page_event(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_EVENT, i);
}

const char *billing_event_id(const billing_event *e) { return e ? e->id : NULL; }
const char *billing_event_type(const billing_event *e) { return e ? e->type : NULL; }
const char *billing_event_resource_type(const billing_event *e)
{
	return e ? e->resource_type : NULL;
}
const char *billing_event_resource_id(const billing_event *e) { return e ? e->resource_id : NULL; }
const char *billing_event_data_json(const billing_event *e) { return e ? e->data_json : NULL; }
int64_t billing_event_created_at(const billing_event *e) { return e ? e->created_at : 0; }
const char *billing_event_request_id(const billing_event *e) { return e ? e->request_id : NULL; }
const char *billing_event_idempotency_key(const billing_event *e)
{
	return e ? e->idempotency_key : NULL;
}
const char *billing_event_tenant_id(const billing_event *e) { return e ? e->tenant_id : NULL; }
