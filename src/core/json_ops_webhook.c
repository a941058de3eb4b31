/*
 * The JSON operations of outbound webhooks (json_ops.h): endpoints (with
 * the signing secret in the answers of create and rotate only), the
 * deliveries and redelivery, with their entries of the catalog.
 */
#include <cJSON.h>

#include "core/calendar.h"
#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"

#define ENDPOINT_FIELDS(req) \
	{ "url", T_STRING, req, false, "https URL (at most 2048 characters)" }, \
	{ "events", T_STR_ARRAY, false, false, \
		"event types wanted: invoice.paid, invoice.* or *; default all" }, \
	{ "enabled", T_BOOLEAN, false, false, "default true" }, \
	{ "description", T_STRING, false, true, "at most 500 characters" }
static const field_spec f_endpoint_create[] = {
	ENDPOINT_FIELDS(true),
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_endpoint_update[] = {
	{ "id", T_STRING, true, false, "the webhook endpoint id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	ENDPOINT_FIELDS(false),
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_endpoint_rotate[] = {
	{ "id", T_STRING, true, false, "the webhook endpoint id" },
	{ "overlapSeconds", T_INTEGER, false, false,
		"how long the old secret still signs; default 86400, at most 604800" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_delivery_list[] = {
	LIST_FIELDS,
	{ "endpointId", T_STRING, false, false, "deliveries to this endpoint" },
	{ "eventId", T_STRING, false, false, "deliveries of this event" },
	{ "status", T_STRING, false, false, "pending, succeeded or dead" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_redeliver[] = {
	{ "id", T_STRING, false, false, "deliver this event again to every endpoint that wants it" },
	{ "since", T_STRING, false, false,
		"RFC 3339: without id, every dead delivery created since then again" },
	{ NULL, 0, false, false, NULL }
};

/* Typed page accessors and destructors with one signature. */
static const void *at_endpoint(const billing_page *p, size_t i)
{
	return billing_page_webhook_endpoint(p, i);
}

static const void *at_delivery(const billing_page *p, size_t i)
{
	return billing_page_webhook_delivery(p, i);
}

static const char *delivery_status(int s)
{
	return billing_delivery_status_name((billing_delivery_status)s);
}

/* The endpoint, with its secret when this call made one (create, rotate). */
static int endpoint_out(cJSON **res, int rc, billing_webhook_endpoint *e)
{
	cJSON *o;
	if (rc < 0)
		return rc;
	o = billing__json_webhook_endpoint(e);
	if (o && billing_webhook_endpoint_secret(e) &&
	    !cJSON_AddStringToObject(o, "secret", billing_webhook_endpoint_secret(e))) {
		cJSON_Delete(o);
		o = NULL;
	}
	billing_webhook_endpoint_free(e);
	return (*res = o) ? BILLING_OK : nomem();
}

/* Input of create and update; types borrowed from in. */
static int endpoint_in(billing_webhook_endpoint_params *p, const cJSON *in, const char **types)
{
	const cJSON *e, *list = jget(in, "events");
	if (jhas(in, "url")) { p->fields |= BILLING_WEBHOOK_URL; p->url = jstr(in, "url"); }
	if (list) {
		p->fields |= BILLING_WEBHOOK_EVENT_TYPES;
		cJSON_ArrayForEach(e, list) {
			if (p->event_type_count == BILLING_WEBHOOK_MAX_EVENT_TYPES)
				return field_error("events", "at most %d event types",
					BILLING_WEBHOOK_MAX_EVENT_TYPES);
			types[p->event_type_count++] = e->valuestring;
		}
		p->event_types = types;
	}
	if (jhas(in, "enabled")) {
		p->fields |= BILLING_WEBHOOK_ENABLED;
		p->enabled = cJSON_IsTrue(jget(in, "enabled")) ? BILLING_TRUE : BILLING_FALSE;
	}
	if (jhas(in, "description")) {
		p->fields |= BILLING_WEBHOOK_DESCRIPTION;
		p->description = jstr(in, "description");
	}
	return BILLING_OK;
}

static int op_endpoint_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	const char *types[BILLING_WEBHOOK_MAX_EVENT_TYPES];
	billing_webhook_endpoint *e = NULL;
	int rc = endpoint_in(&p, in, types);
	if (rc < 0)
		return rc;
	if (!jhas(in, "url"))
		return field_error("url", "url is required");
	rc = billing_webhook_endpoint_create(&e, ctx, who, &p, opts);
	return endpoint_out(res, rc, e);
}

static int op_endpoint_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_webhook_endpoint *e = NULL;
	int rc;
	(void)opts;
	/* rc first: the arguments of one call are evaluated in no set order. */
	rc = billing_webhook_endpoint_get(&e, ctx, who, jstr(in, "id"));
	return endpoint_out(res, rc, e);
}

static int op_endpoint_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	const char *types[BILLING_WEBHOOK_MAX_EVENT_TYPES];
	billing_webhook_endpoint *e = NULL;
	int rc = endpoint_in(&p, in, types);
	if (rc < 0)
		return rc;
	p.expected_version = ji64(in, "expectedVersion");
	rc = billing_webhook_endpoint_update(&e, ctx, who, jstr(in, "id"), &p, opts);
	return endpoint_out(res, rc, e);
}

static int op_endpoint_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return deleted_out(res, billing_webhook_endpoint_delete(ctx, who, jstr(in, "id"),
		ji64(in, "expectedVersion")), jstr(in, "id"));
}

static int op_endpoint_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p, in);
	(void)opts;
	if (rc < 0)
		return rc;
	rc = billing_webhook_endpoint_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_endpoint, billing__json_webhook_endpoint);
}

static int op_endpoint_rotate(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_webhook_endpoint *e = NULL;
	int rc = billing_webhook_endpoint_rotate_secret(&e, ctx, who, jstr(in, "id"),
		ji64(in, "overlapSeconds"), opts);
	return endpoint_out(res, rc, e);
}

static int op_delivery_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_delivery_list_params p = BILLING_DELIVERY_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int st, rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0 || (rc = status_in(in, BILLING_DELIVERY_PENDING, BILLING_DELIVERY_DEAD,
		delivery_status, &st, "pending, succeeded or dead")) < 0)
		return rc;
	p.status = (billing_delivery_status)st;
	p.endpoint_id = jstr(in, "endpointId");
	p.event_id = jstr(in, "eventId");
	rc = billing_webhook_delivery_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_delivery, billing__json_webhook_delivery);
}

static int op_redeliver(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing__jb b;
	int64_t since = 0, count = 0;
	int rc;
	(void)opts;
	if (!jhas(in, "id") && !jhas(in, "since"))
		return field_error("id", "give the event's id, or since");
	if (jhas(in, "id") && jhas(in, "since"))
		return field_error("since", "give the event's id or since, not both");
	if (jhas(in, "since") && billing__time_parse(&since, jstr(in, "since")) < 0)
		return field_error("since", "since must be an RFC 3339 UTC time");
	if ((rc = billing_webhook_redeliver(ctx, who, jstr(in, "id"), since, &count)) < 0)
		return rc;
	b.obj = cJSON_CreateObject();
	b.failed = false;
	billing__jb_add(&b, "object", cJSON_CreateString("redelivery"));
	billing__jb_num(&b, "deliveries", count);
	return (*res = billing__jb_done(&b)) ? BILLING_OK : nomem();
}

const op_entry billing__json_ops_webhook[] = {
	{ BILLING_OP_WEBHOOK_ENDPOINTS_CREATE, op_endpoint_create,
		"Register a webhook endpoint; its signing secret is in this answer only.",
		f_endpoint_create,
		OUT_OBJECT, "WebhookEndpointWithSecret" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_GET, op_endpoint_get, "Fetch a webhook endpoint.",
		f_id_only,
		OUT_OBJECT, "WebhookEndpoint" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_UPDATE, op_endpoint_update,
		"Change url, events, enabled or description.", f_endpoint_update,
		OUT_OBJECT, "WebhookEndpoint" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_DELETE, op_endpoint_delete,
		"Delete a webhook endpoint; its queued deliveries die.", f_delete,
		OUT_OBJECT, "Deleted" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_LIST, op_endpoint_list, "List webhook endpoints.",
		f_list_only,
		OUT_PAGE, "WebhookEndpoint" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_ROTATE, op_endpoint_rotate,
		"A new signing secret; the old one still signs for overlapSeconds.",
		f_endpoint_rotate,
		OUT_OBJECT, "WebhookEndpointWithSecret" },
	{ BILLING_OP_WEBHOOK_DELIVERIES_LIST, op_delivery_list,
		"Deliveries with every attempt; filter by endpointId, eventId, status.",
		f_delivery_list,
		OUT_PAGE, "WebhookDelivery" },
	{ BILLING_OP_EVENTS_REDELIVER, op_redeliver,
		"Deliver an event again, or every dead delivery since a time.", f_redeliver,
		OUT_OBJECT, "Redelivery" },
};
BILLING__JSON_AREA_END(webhook);
