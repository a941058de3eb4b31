/*
 * The JSON operations of the revenue reports (billing/report.h; issue #25;
 * docs/reports.md): reports.mrr, GET /v1/reports/mrr over HTTP.
 */
#include <cJSON.h>
#include <string.h>

#include "billing/report.h"
#include "core/calendar.h"
#include "core/core.h"
#include "core/json_ops.h"
#include "core/json_out.h"

static const field_spec f_mrr[] = {
	{ "currency", T_STRING, true, false, "ISO 4217: the currency reported" },
	{ "at", T_STRING, false, false, "RFC 3339: the time the MRR is of (not after now); "
		"now when absent" },
	{ NULL, 0, false, false, NULL }
};

static void add_time(cJSON *o, const char *name, int64_t t)
{
	char buf[BILLING_TIME_FORMAT_SIZE];
	if (billing__time_format(buf, sizeof(buf), t) == BILLING_OK)
		cJSON_AddStringToObject(o, name, buf);
}

static int op_mrr(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_mrr m;
	int64_t at = 0;
	cJSON *o;
	int rc;
	(void)opts;

	if (jhas(in, "at") && billing__time_parse(&at, jstr(in, "at")) < 0)
		return field_error("at", "at must be an RFC 3339 UTC time");
	if (jhas(in, "at") && at == 0)
		at = -1;              /* 1970-01-01T00:00:00Z: none of the times 0 means now */
	if ((rc = billing_report_mrr(&m, ctx, who, jstr(in, "currency"), at)) < 0)
		return rc;
	if (!(o = cJSON_CreateObject()))
		return nomem();
	cJSON_AddStringToObject(o, "object", "mrr_report");
	cJSON_AddStringToObject(o, "currency", m.currency);
	add_time(o, "at", m.at);
	cJSON_AddItemToObject(o, "mrr", billing__jx_int_new(m.mrr));
	cJSON_AddItemToObject(o, "arr", billing__jx_int_new(m.arr));
	cJSON_AddNumberToObject(o, "subscriptions", (double)m.subscriptions);
	cJSON_AddNumberToObject(o, "customers", (double)m.customers);
	*res = o;
	return BILLING_OK;
}

const op_entry billing__json_ops_report[] = {
	{ BILLING_OP_REPORTS_MRR, op_mrr,
		"MRR and ARR of one currency at a time (now by default), rebuilt from the "
		"subscriptions' and plans' history: every active or past_due subscription's "
		"recurring amount after discounts, normalized to a month, rounded once per "
		"subscription (docs/reports.md).", f_mrr, OUT_OBJECT, "MrrReport" },
};
BILLING__JSON_AREA_END(report);
