/*
 * Writing domain events with the change that causes them (see events.h).
 */
#include <stdio.h>
#include <string.h>

#include "core/entity.h"
#include "core/events.h"

int billing__event_emit(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *type, const char *resource_type, const char *resource_id,
	cJSON *(*to_json)(const void *item), const void *item)
{
	billing_event_record r;
	char id[BILLING_ID_MAX];
	char *data;
	int rc;

	if ((data = billing__json_text(to_json, item)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
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
	rc = ctx->st->event_insert(tx, &r);
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
		billing__strsize(r->resource_id) + billing__strsize(r->data_json);

	if ((e = billing__calloc(1, sizeof(*e) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(e + 1);
	e->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	e->id = billing__strpack_put(&sp, r->id);
	e->type = billing__strpack_put(&sp, r->type);
	e->resource_type = billing__strpack_put(&sp, r->resource_type);
	e->resource_id = billing__strpack_put(&sp, r->resource_id);
	e->data_json = billing__strpack_put(&sp, r->data_json);
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
	return st->event_get(tx, tenant_id, id, cb, payload);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return st->event_list(tx, tenant_id, q, cb, payload);
}

/* Events are written by billing__event_emit only, and never change. */
static const billing__entity entity = {
	"event", from_record, free_item, version_of, NULL,
	st_get, NULL, NULL, NULL, st_list,
	NULL, NULL
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

int billing_event_list(billing_page **out, billing_ctx *ctx, const billing_principal *who,
	const billing_event_list_params *params)
{
	billing_event_list_params none = BILLING_EVENT_LIST_PARAMS_INIT;
	const billing_event_list_params *p = params ? params : &none;
	char filters[200];
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
	snprintf(filters, sizeof(filters), "events|t=%.100s|a=%d:%lld", p->type ? p->type : "-",
		p->has_created_after != 0, (long long)p->created_after);
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, sorts, filters,
		BILLING__PAGE_EVENT, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = sort_key;
	l.q.type = p->type;
	l.q.has_created_after = p->has_created_after != 0;
	l.q.created_after = p->created_after;
	return billing__entity_list(out, &entity, &l, ctx, who->tenant_id);
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
