/*
 * The JSON operations of usage (billing/usage.h; issue #23): ingestion
 * (one event, or {events:[...]} up to 1,000), voids by transaction id, a
 * meter's aggregate over a period, a subscription's running usage and the
 * tenant's grace window. Meters themselves come from their descriptor
 * (json_record.c).
 */
#include <cJSON.h>
#include <string.h>

#include "billing/usage.h"
#include "core/calendar.h"
#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"
#include "core/meter.h"

#define EVENT_FIELDS \
	{ "transactionId", T_STRING, false, false, \
		"one event: the client's unique key in the tenant (1-255 printable ASCII); a " \
		"resend is reported as duplicate" }, \
	{ "eventName", T_STRING, false, false, "one event: the meters' eventName it counts for" }, \
	{ "customerId", T_STRING, false, false, "one event: the customer (cus_...)" }, \
	{ "timestamp", T_STRING, false, false, "one event: when it happened (RFC 3339); now when " \
		"absent" }, \
	{ "properties", T_OBJECT, false, false, "one event: a JSON object (the meters' " \
		"valueProperty and filters read it)" }

static const field_spec f_ingest[] = {
	EVENT_FIELDS,
	{ "events", T_OBJ_ARRAY, false, false, "a batch instead of one event: up to 1000 objects "
		"{transactionId, eventName, customerId, timestamp?, properties?}" },
	{ NULL, 0, false, false, NULL }
};

static const field_spec f_void[] = {
	{ "transactionIds", T_STR_ARRAY, true, false, "the events to void (1 to 1000)" },
	{ NULL, 0, false, false, NULL }
};

static const field_spec f_aggregate[] = {
	{ "meterId", T_STRING, true, false, "the meter (mtr_...)" },
	{ "customerId", T_STRING, true, false, "the customer (cus_...)" },
	{ "periodStart", T_STRING, true, false, "RFC 3339: the first second counted" },
	{ "periodEnd", T_STRING, true, false, "RFC 3339: the end, not counted" },
	{ NULL, 0, false, false, NULL }
};

static const field_spec f_grace_set[] = {
	{ "usageGraceSeconds", T_INTEGER, true, false,
		"seconds after a period's end during which its events are still taken (0-86400)" },
	{ "usageRetentionDays", T_INTEGER, false, false,
		"days raw usage events are kept (0: forever; up to 3660); absent: unchanged. "
		"POST /v1/usage-events/prune deletes the older ones" },
	{ NULL, 0, false, false, NULL }
};

static const char *const status_names[] = { "", "accepted", "duplicate", "refused", "voided" };

static int result_out(cJSON **res, const billing_usage_result *r)
{
	cJSON *o = cJSON_CreateObject(), *data = cJSON_CreateArray();
	size_t i;

	if (!o || !data || !cJSON_AddItemToObject(o, "data", data)) {
		cJSON_Delete(o);
		cJSON_Delete(data);
		return nomem();
	}
	cJSON_AddStringToObject(o, "object", "usage_result");
	cJSON_AddNumberToObject(o, "accepted",
		(double)billing_usage_result_tally(r, BILLING_USAGE_ACCEPTED));
	cJSON_AddNumberToObject(o, "duplicates",
		(double)billing_usage_result_tally(r, BILLING_USAGE_DUPLICATE));
	cJSON_AddNumberToObject(o, "refused",
		(double)billing_usage_result_tally(r, BILLING_USAGE_REFUSED));
	cJSON_AddNumberToObject(o, "voided",
		(double)billing_usage_result_tally(r, BILLING_USAGE_VOIDED));
	for (i = 0; i < billing_usage_result_count(r); i++) {
		cJSON *it = cJSON_CreateObject();
		const char *tid = billing_usage_result_transaction_id(r, i);
		const char *code = billing_usage_result_code(r, i);
		const char *field = billing_usage_result_field(r, i);
		const char *msg = billing_usage_result_message(r, i);
		const char *sub = billing_usage_result_subscription_id(r, i);
		if (!it || !cJSON_AddItemToArray(data, it)) {
			cJSON_Delete(it);
			cJSON_Delete(o);
			return nomem();
		}
		if (tid)
			cJSON_AddStringToObject(it, "transactionId", tid);
		else
			cJSON_AddNullToObject(it, "transactionId");
		cJSON_AddStringToObject(it, "status", status_names[billing_usage_result_status(r, i)]);
		if (code)
			cJSON_AddStringToObject(it, "code", code);
		else
			cJSON_AddNullToObject(it, "code");
		if (field)
			cJSON_AddStringToObject(it, "field", field);
		else
			cJSON_AddNullToObject(it, "field");
		if (msg)
			cJSON_AddStringToObject(it, "message", msg);
		else
			cJSON_AddNullToObject(it, "message");
		if (sub)
			cJSON_AddStringToObject(it, "subscriptionId", sub);
		else
			cJSON_AddNullToObject(it, "subscriptionId");
	}
	*res = o;
	return BILLING_OK;
}

/* The JSON name of member m of an event object: m's own. */
static int event_in(billing_usage_event *e, const cJSON *o, char **props, const char *where)
{
	static const char *const allowed[] = { "transactionId", "eventName", "customerId",
		"timestamp", "properties" };
	const cJSON *m, *ts, *p;
	size_t k;

	if (!cJSON_IsObject(o))
		return field_error(where, "%s must be an object", where);
	cJSON_ArrayForEach(m, o) {
		for (k = 0; k < sizeof(allowed) / sizeof(allowed[0]) &&
		     strcmp(allowed[k], m->string) != 0; k++)
			;
		if (k == sizeof(allowed) / sizeof(allowed[0]))
			return billing__error_field(BILLING_EINVALID, "unknown_field", where,
				"%.60s is not a field of a usage event", m->string);
	}
	e->transaction_id = jstr(o, "transactionId");
	e->event_name = jstr(o, "eventName");
	e->customer_id = jstr(o, "customerId");
	ts = jget(o, "timestamp");
	if (ts && !cJSON_IsNull(ts)) {
		int64_t t = 0;
		/* A bad time is the event's refusal, not the batch's: -1 is
		 * refused by the library with the field named. */
		if (!cJSON_IsString(ts) || billing__time_parse(&t, ts->valuestring) < 0)
			t = -1;
		e->timestamp = t;
	}
	p = jget(o, "properties");
	if (p && !cJSON_IsNull(p)) {
		if (!(*props = cJSON_PrintUnformatted(p)))
			return nomem();
		e->properties_json = *props;
	}
	return BILLING_OK;
}

static int op_ingest(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	const cJSON *arr = jget(in, "events"), *o;
	billing_usage_event *events = NULL;
	billing_usage_result *r = NULL;
	char **props = NULL;
	size_t n, i = 0;
	int rc;
	(void)opts;

	if (arr && (jhas(in, "transactionId") || jhas(in, "eventName") ||
	    jhas(in, "customerId") || jhas(in, "timestamp") || jhas(in, "properties")))
		return field_error("events", "send one event or {events:[...]}, not both");
	n = arr ? (size_t)cJSON_GetArraySize(arr) : 1;
	if (n == 0 || n > BILLING_USAGE_BATCH_MAX)
		return field_error("events", "a batch holds 1 to %d events", BILLING_USAGE_BATCH_MAX);
	if (!(events = billing__calloc(n, sizeof(*events))) ||
	    !(props = billing__calloc(n, sizeof(*props)))) {
		rc = nomem();
		goto done;
	}
	if (arr) {
		cJSON_ArrayForEach(o, arr) {
			billing_usage_event e = BILLING_USAGE_EVENT_INIT;
			if ((rc = event_in(&e, o, &props[i], "events")) < 0)
				goto done;
			events[i++] = e;
		}
	} else {
		billing_usage_event e = BILLING_USAGE_EVENT_INIT;
		if ((rc = event_in(&e, in, &props[0], "events")) < 0)
			goto done;
		events[0] = e;
	}
	if ((rc = billing_usage_ingest(&r, ctx, who, events, n)) == BILLING_OK)
		rc = result_out(res, r);
done:
	for (i = 0; props && i < n; i++)
		cJSON_free(props[i]);
	billing__free(props);
	billing__free(events);
	billing_usage_result_free(r);
	return rc;
}

static int op_void(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	const cJSON *arr = jget(in, "transactionIds"), *v;
	billing_usage_result *r = NULL;
	const char **ids;
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	int rc;
	(void)opts;

	if (n == 0 || n > BILLING_USAGE_BATCH_MAX)
		return field_error("transactionIds", "1 to %d transaction ids",
			BILLING_USAGE_BATCH_MAX);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	if (!(ids = billing__calloc(n, sizeof(*ids))))
		return nomem();
	cJSON_ArrayForEach(v, arr)
		ids[i++] = v->valuestring;
	if ((rc = billing_usage_void(&r, ctx, who, ids, n)) == BILLING_OK)
		rc = result_out(res, r);
	billing_usage_result_free(r);
	billing__free(ids);
	return rc;
}

static int time_in(int64_t *out, const cJSON *in, const char *name)
{
	if (billing__time_parse(out, jstr(in, name)) < 0)
		return field_error(name, "%s must be an RFC 3339 UTC time", name);
	return BILLING_OK;
}

static void add_time(cJSON *o, const char *name, int64_t t)
{
	char buf[BILLING_TIME_FORMAT_SIZE];
	if (billing__time_format(buf, sizeof(buf), t) == BILLING_OK)
		cJSON_AddStringToObject(o, name, buf);
}

static int op_aggregate(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int64_t from = 0, to = 0, value = 0, events = 0;
	cJSON *o;
	int rc;
	(void)opts;

	if ((rc = time_in(&from, in, "periodStart")) < 0 || (rc = time_in(&to, in, "periodEnd")) < 0)
		return rc;
	if ((rc = billing_usage_aggregate(&value, &events, ctx, who, jstr(in, "meterId"),
		jstr(in, "customerId"), from, to)) < 0)
		return rc;
	if (!(o = cJSON_CreateObject()))
		return nomem();
	cJSON_AddStringToObject(o, "object", "usage_aggregate");
	cJSON_AddStringToObject(o, "meterId", jstr(in, "meterId"));
	cJSON_AddStringToObject(o, "customerId", jstr(in, "customerId"));
	add_time(o, "periodStart", from);
	add_time(o, "periodEnd", to);
	cJSON_AddNumberToObject(o, "value", (double)value);
	cJSON_AddNumberToObject(o, "events", (double)events);
	*res = o;
	return BILLING_OK;
}

static int op_summary(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_usage_summary *s = NULL;
	cJSON *o, *data;
	size_t i;
	int rc;
	(void)opts;

	if ((rc = billing_usage_summary_get(&s, ctx, who, jstr(in, "id"))) < 0)
		return rc;
	o = cJSON_CreateObject();
	data = cJSON_CreateArray();
	if (!o || !data || !cJSON_AddItemToObject(o, "data", data)) {
		cJSON_Delete(o);
		cJSON_Delete(data);
		billing_usage_summary_free(s);
		return nomem();
	}
	cJSON_AddStringToObject(o, "object", "subscription_usage");
	cJSON_AddStringToObject(o, "subscriptionId", billing_usage_summary_subscription_id(s));
	add_time(o, "periodStart", billing_usage_summary_period_start(s));
	add_time(o, "periodEnd", billing_usage_summary_period_end(s));
	for (i = 0; i < billing_usage_summary_count(s); i++) {
		cJSON *it = cJSON_CreateObject();
		if (!it || !cJSON_AddItemToArray(data, it)) {
			cJSON_Delete(it);
			cJSON_Delete(o);
			billing_usage_summary_free(s);
			return nomem();
		}
		cJSON_AddStringToObject(it, "meterId", billing_usage_summary_meter_id(s, i));
		cJSON_AddNumberToObject(it, "value", (double)billing_usage_summary_value(s, i));
		cJSON_AddNumberToObject(it, "events", (double)billing_usage_summary_events(s, i));
		cJSON_AddNumberToObject(it, "amount", (double)billing_usage_summary_amount(s, i));
		cJSON_AddNumberToObject(it, "billedAmount",
			(double)billing_usage_summary_billed_amount(s, i));
	}
	billing_usage_summary_free(s);
	*res = o;
	return BILLING_OK;
}

static int grace_out(cJSON **res, int64_t seconds, int64_t retention_days)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return nomem();
	cJSON_AddStringToObject(o, "object", "usage_settings");
	cJSON_AddNumberToObject(o, "usageGraceSeconds", (double)seconds);
	cJSON_AddNumberToObject(o, "usageRetentionDays", (double)retention_days);
	*res = o;
	return BILLING_OK;
}

static int op_grace_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int64_t s = 0, days = 0;
	int rc;
	(void)in;
	(void)opts;
	if ((rc = billing__usage_settings_get(&s, &days, ctx, who)) < 0)
		return rc;
	return grace_out(res, s, days);
}

static int op_grace_set(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int64_t s = ji64(in, "usageGraceSeconds"), days = 0;
	int rc;
	(void)opts;
	if ((rc = billing__usage_settings_set(&days, ctx, who, s, jhas(in, "usageRetentionDays") ?
		ji64(in, "usageRetentionDays") : BILLING__USAGE_KEEP)) < 0)
		return rc;
	return grace_out(res, s, days);
}

static int op_prune(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int64_t deleted = 0, cutoff = 0;
	cJSON *o;
	int rc;
	(void)in;
	(void)opts;
	if ((rc = billing_usage_prune(&deleted, &cutoff, ctx, who)) < 0)
		return rc;
	if (!(o = cJSON_CreateObject()))
		return nomem();
	cJSON_AddStringToObject(o, "object", "usage_prune");
	cJSON_AddNumberToObject(o, "deleted", (double)deleted);
	if (cutoff)
		add_time(o, "cutoff", cutoff);
	else
		cJSON_AddNullToObject(o, "cutoff");
	*res = o;
	return BILLING_OK;
}

const op_entry billing__json_ops_usage[] = {
	{ BILLING_OP_USAGE_INGEST, op_ingest,
		"Ingest usage events: one event, or {events:[...]} up to 1000, in one transaction; "
		"each is accepted, a duplicate (its transactionId was seen) or refused with a code.",
		f_ingest, OUT_OBJECT, "UsageResult" },
	{ BILLING_OP_USAGE_VOID, op_void,
		"Void usage events by transactionId; refused per event once its period is billed.",
		f_void, OUT_OBJECT, "UsageResult" },
	{ BILLING_OP_USAGE_AGGREGATE, op_aggregate,
		"A meter's aggregate of a customer's events over a period; a closed period's is "
		"stored and never computed again.", f_aggregate, OUT_OBJECT, "UsageAggregate" },
	{ BILLING_OP_USAGE_SUMMARY, op_summary,
		"A subscription's usage in its current period so far, per active meter.",
		f_id_only, OUT_OBJECT, "SubscriptionUsage" },
	{ BILLING_OP_USAGE_GRACE_GET, op_grace_get,
		"The tenant's usage grace window (seconds after a period's end).",
		billing__json_f_none, OUT_OBJECT, "UsageSettings" },
	{ BILLING_OP_USAGE_GRACE_SET, op_grace_set,
		"Set the tenant's usage grace window and raw event retention.", f_grace_set,
		OUT_OBJECT, "UsageSettings" },
	{ BILLING_OP_USAGE_PRUNE, op_prune,
		"Delete the raw usage events older than the tenant's retention, never those of a "
		"period not yet billed; events before the cutoff are refused from then on.",
		billing__json_f_none, OUT_OBJECT, "UsagePrune" },
};
BILLING__JSON_AREA_END(usage);
