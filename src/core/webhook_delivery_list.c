/*
 * Webhook deliveries as objects: a delivery with its attempts, as the
 * deliveries' list and its getters hand them out (billing/webhook.h). The
 * sending itself is in webhook_delivery.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/entity.h"
#include "core/webhook_internal.h"

struct billing_webhook_delivery {
	char *tenant_id;
	char *id;
	char *endpoint_id;
	char *event_id;
	billing_delivery_status status;
	int32_t attempt_count;
	int64_t next_attempt_at, created_at, version;
	billing_delivery_attempt *attempts;
	char **attempt_strings;
	size_t attempt_n;
};

const char *billing_delivery_status_name(billing_delivery_status s)
{
	switch (s) {
	case BILLING_DELIVERY_PENDING: return "pending";
	case BILLING_DELIVERY_SUCCEEDED: return "succeeded";
	case BILLING_DELIVERY_DEAD: return "dead";
	default: return NULL;
	}
}

static void free_delivery(void *item)
{
	billing_webhook_delivery *d = item;
	size_t i;
	if (!d)
		return;
	for (i = 0; i < d->attempt_n * 2; i++)
		billing__free(d->attempt_strings[i]);
	billing__free(d->attempt_strings);
	billing__free(d->attempts);
	billing__free(d);
}

static void *delivery_from_record(const void *record)
{
	const billing_delivery_record *r = record;
	billing_webhook_delivery *d;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->endpoint_id) + billing__strsize(r->event_id);
	if ((d = billing__calloc(1, sizeof(*d) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(d + 1);
	d->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	d->id = billing__strpack_put(&sp, r->id);
	d->endpoint_id = billing__strpack_put(&sp, r->endpoint_id);
	d->event_id = billing__strpack_put(&sp, r->event_id);
	d->status = (billing_delivery_status)r->status;
	d->attempt_count = r->attempt_count;
	d->next_attempt_at = r->next_attempt_at;
	d->created_at = r->created_at;
	d->version = r->version;
	return d;
}

static int attempt_row(void *payload, const void *record)
{
	billing_webhook_delivery *d = payload;
	const billing_delivery_attempt_record *r = record;
	billing_delivery_attempt *a;
	char **s;
	size_t n = d->attempt_n + 1;

	if ((a = billing__realloc(d->attempts, n * sizeof(*a))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	d->attempts = a;
	if ((s = billing__realloc(d->attempt_strings, n * 2 * sizeof(*s))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	d->attempt_strings = s;
	s[2 * d->attempt_n] = r->error ? billing__strdup(r->error) : NULL;
	s[2 * d->attempt_n + 1] = r->response ? billing__strdup(r->response) : NULL;
	a = &d->attempts[d->attempt_n];
	a->at = r->attempted_at;
	a->status_code = r->status_code;
	a->error = s[2 * d->attempt_n];
	a->response = s[2 * d->attempt_n + 1];
	a->duration_ms = r->duration_ms;
	d->attempt_n = n;
	if ((r->error && !a->error) || (r->response && !a->response))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

static int64_t delivery_version(const void *item)
{
	return ((const billing_webhook_delivery *)item)->version;
}

static int st_delivery_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_delivery, tenant_id, q, cb, payload);
}

static const billing__entity delivery_entity = {
	"delivery", delivery_from_record, free_delivery, delivery_version, NULL,
	NULL, NULL, NULL, NULL, st_delivery_list,
	NULL, NULL, NULL, NULL
};

static void delivery_sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_webhook_delivery *d = item;
	*text = NULL;
	*num = d->created_at;
	*id = d->id;
}

int billing_webhook_delivery_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_delivery_list_params *params)
{
	billing_delivery_list_params none = BILLING_DELIVERY_LIST_PARAMS_INIT;
	const billing_delivery_list_params *p = params ? params : &none;
	billing__filter_ids ids = { 0 };
	billing_page *page = NULL;
	billing_txn *tx;
	char filters[160];
	billing__list l;
	size_t i;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_WEBHOOK_DELIVERIES_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (p->version == 0 || p->version > BILLING_DELIVERY_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_delivery_list_params version %u", p->version);
	if (p->status && !billing_delivery_status_name(p->status))
		return billing__error_field(BILLING_EINVALID, "invalid", "status",
			"status must be pending, succeeded or dead");
	if (p->endpoint_id && !billing__id_arg_ok(p->endpoint_id, "we"))
		return billing__error_field(BILLING_EINVALID, "resource_missing", "endpointId",
			"no such webhook endpoint in this tenant");
	if (p->event_id && !billing__id_arg_ok(p->event_id, "evt"))
		return billing__error_field(BILLING_EINVALID, "resource_missing", "eventId",
			"no such event in this tenant");
	snprintf(filters, sizeof(filters), "deliveries|w=%s|e=%s|st=%d",
		p->endpoint_id ? p->endpoint_id : "-", p->event_id ? p->event_id : "-",
		(int)p->status);
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, billing__webhook_sorts, filters,
		BILLING__PAGE_WEBHOOK_DELIVERY, free_delivery)) < 0)
		return rc;
	l.from_record = delivery_from_record;
	l.sort_key = delivery_sort_key;
	l.q.endpoint_id = p->endpoint_id;
	l.q.event_id = p->event_id;
	l.q.status = (int)p->status;
	/* The endpoint is not looked up first: the deliveries of a deleted
	 * endpoint stay listable by its id (they have no reference to it). An
	 * id that names neither an endpoint nor any delivery is refused below. */
	ids.tenant_id = who->tenant_id;
	ids.event_id = p->event_id;
	l.check = billing__check_filter_ids_cb;
	l.check_payload = &ids;
	if ((rc = billing__entity_list(&page, &delivery_entity, &l, ctx, who->tenant_id)) < 0)
		return rc;
	if (page->count == 0 && p->endpoint_id) {
		billing__filter_ids endpoint = { 0 };
		endpoint.tenant_id = who->tenant_id;
		endpoint.endpoint_id = p->endpoint_id;
		if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) == BILLING_OK)
			rc = billing__end(ctx, tx, billing__check_filter_ids(&endpoint, ctx, tx));
		if (rc < 0) {
			billing_page_free(page);
			return rc;
		}
	}
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) == BILLING_OK) {
		for (i = 0; rc == BILLING_OK && i < page->count; i++) {
			billing_webhook_delivery *d = page->items[i];
			rc = billing__list_owned(ctx->st, tx, &billing__res_delivery_attempt,
				who->tenant_id, d->id, attempt_row, d);
		}
		rc = billing__end(ctx, tx, rc);
	}
	if (rc < 0) {
		billing_page_free(page);
		return rc;
	}
	*out = page;
	return BILLING_OK;
}

const billing_webhook_delivery *billing_page_webhook_delivery(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_WEBHOOK_DELIVERY, i);
}

const char *billing_webhook_delivery_id(const billing_webhook_delivery *d)
{
	return d ? d->id : NULL;
}
const char *billing_webhook_delivery_endpoint_id(const billing_webhook_delivery *d)
{
	return d ? d->endpoint_id : NULL;
}
const char *billing_webhook_delivery_event_id(const billing_webhook_delivery *d)
{
	return d ? d->event_id : NULL;
}
billing_delivery_status billing_webhook_delivery_status_of(const billing_webhook_delivery *d)
{
	return d ? d->status : (billing_delivery_status)0;
}
int32_t billing_webhook_delivery_attempt_count(const billing_webhook_delivery *d)
{
	return d ? d->attempt_count : 0;
}
int64_t billing_webhook_delivery_next_attempt_at(const billing_webhook_delivery *d)
{
	return d ? d->next_attempt_at : 0;
}
int64_t billing_webhook_delivery_created_at(const billing_webhook_delivery *d)
{
	return d ? d->created_at : 0;
}
size_t billing_webhook_delivery_attempts(const billing_webhook_delivery *d)
{
	return d ? d->attempt_n : 0;
}
const billing_delivery_attempt *billing_webhook_delivery_attempt_at(
	const billing_webhook_delivery *d, size_t i)
{
	return d && i < d->attempt_n ? &d->attempts[i] : NULL;
}
