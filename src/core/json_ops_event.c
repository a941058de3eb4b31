/*
 * The JSON operations of the two logs (json_ops.h): domain events (get,
 * list) and the audit log (list), with their entries of the catalog.
 */
#include <cJSON.h>

#include "core/calendar.h"
#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"

static const field_spec f_event_list[] = {
	LIST_FIELDS,
	{ "type", T_STRING, false, false, "only events of this type, e.g. invoice.finalized" },
	{ "createdAfter", T_STRING, false, false, "RFC 3339: only events created after it" },
	{ "customerId", T_STRING, false, false,
		"only the events about this customer: its own and its subscriptions', invoices', "
		"payments', credit notes', payment methods' and discounts'" },
	{ NULL, 0, false, false, NULL }
};

/* Typed page accessors and destructors with one signature. */
static void free_event(void *p) { billing_event_free(p); }
static const void *at_event(const billing_page *p, size_t i) { return billing_page_event(p, i); }

static const void *at_audit(const billing_page *p, size_t i)
{
	return billing_page_audit_entry(p, i);
}

static int op_event_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_event *e = NULL;
	int rc;
	(void)opts;
	rc = billing_event_get(&e, ctx, who, jstr(in, "id"));
	return item_out(res, rc, e, billing__json_event, free_event);
}

static int op_event_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0)
		return rc;
	p.type = jstr(in, "type");
	p.customer_id = jstr(in, "customerId");
	if ((p.has_created_after = jhas(in, "createdAfter")) &&
	    billing__time_parse(&p.created_after, jstr(in, "createdAfter")) < 0)
		return field_error("createdAfter", "createdAfter must be an RFC 3339 UTC time");
	rc = billing_event_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_event, billing__json_event);
}

static int op_audit_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p, in);
	(void)opts;
	if (rc < 0)
		return rc;
	rc = billing_audit_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_audit, billing__json_audit_entry);
}

const op_entry billing__json_ops_event[] = {
	{ BILLING_OP_EVENTS_GET, op_event_get, "Fetch a domain event.", f_id_only,
		OUT_OBJECT, "Event" },
	{ BILLING_OP_EVENTS_LIST, op_event_list,
		"The domain-event log, oldest first; filter by type, createdAfter and customerId.",
		f_event_list,
		OUT_PAGE, "Event" },
};
BILLING__JSON_AREA_END(event);

const op_entry billing__json_ops_audit[] = {
	{ BILLING_OP_AUDIT_LIST, op_audit_list,
		"The audit log: who changed what, when, in which request.", f_list_only,
		OUT_PAGE, "AuditEntry" },
};
BILLING__JSON_AREA_END(audit);
