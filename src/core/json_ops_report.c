/*
 * The JSON operations of the revenue reports (billing/report.h; issue #25;
 * docs/reports.md): reports.mrr (GET /v1/reports/mrr over HTTP) and
 * reports.mrr_movements (GET /v1/reports/mrr-movements), reports.receivables_aging
 * (GET /v1/reports/receivables-aging), reports.churn (GET /v1/reports/churn),
 * reports.arpa (GET /v1/reports/arpa), reports.trial_conversion
 * (GET /v1/reports/trial-conversion), reports.revenue (GET
 * /v1/reports/revenue) and reports.payment_recovery (GET
 * /v1/reports/payment-recovery).
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
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

/* The optional "at" of a report at one moment: 0 (now) when absent. */
static int at_arg(int64_t *at, const cJSON *in)
{
	*at = 0;
	if (!jhas(in, "at"))
		return BILLING_OK;
	if (billing__time_parse(at, jstr(in, "at")) < 0)
		return field_error("at", "at must be an RFC 3339 UTC time");
	if (*at == 0)
		*at = -1;             /* 1970-01-01T00:00:00Z: none of the times 0 means now */
	return BILLING_OK;
}

static int op_mrr(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_mrr m;
	int64_t at = 0;
	cJSON *o;
	int rc;
	(void)opts;

	if ((rc = at_arg(&at, in)) < 0)
		return rc;
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

static const field_spec f_movements[] = {
	{ "currency", T_STRING, true, false, "ISO 4217: the currency reported" },
	{ "from", T_STRING, true, false, "RFC 3339: the first month's start (the first second "
		"of a month, UTC; not after now)" },
	{ "to", T_STRING, true, false, "RFC 3339: the end, a later month's first second, at "
		"most 36 months after from and at most the next month's (the current month ends "
		"now)" },
	{ NULL, 0, false, false, NULL }
};

/* A required time input into *t, or the field's error. */
static int time_in(int64_t *t, const cJSON *in, const char *name)
{
	if (billing__time_parse(t, jstr(in, name)) < 0)
		return field_error(name, "%s must be an RFC 3339 UTC time", name);
	return BILLING_OK;
}

static void add_int(cJSON *o, const char *name, int64_t v)
{
	cJSON_AddItemToObject(o, name, billing__jx_int_new(v));
}

static cJSON *month_json(const billing_mrr_month *m)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	add_time(o, "start", m->start);
	add_time(o, "end", m->end);
	add_int(o, "startMrr", m->start_mrr);
	add_int(o, "new", m->new_mrr);
	add_int(o, "expansion", m->expansion);
	add_int(o, "contraction", m->contraction);
	add_int(o, "churned", m->churned);
	add_int(o, "reactivated", m->reactivated);
	add_int(o, "endMrr", m->end_mrr);
	add_int(o, "startCustomers", m->start_customers);
	add_int(o, "newCustomers", m->new_customers);
	add_int(o, "expansionCustomers", m->expansion_customers);
	add_int(o, "contractionCustomers", m->contraction_customers);
	add_int(o, "churnedCustomers", m->churned_customers);
	add_int(o, "reactivatedCustomers", m->reactivated_customers);
	add_int(o, "endCustomers", m->end_customers);
	return o;
}

/* A report of months as JSON: {object, currency, from, to, months: [...]},
 * each month by month(months, i). */
typedef cJSON *(*month_out)(const void *months, size_t i);

static int months_report(cJSON **res, const char *object, const char *currency, int64_t from,
	int64_t to, const void *months, size_t count, month_out month)
{
	cJSON *o, *arr = NULL, *item;
	size_t i;

	if ((o = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(o, "object", object);
		cJSON_AddStringToObject(o, "currency", currency);
		add_time(o, "from", from);
		add_time(o, "to", to);
	}
	if (!o || (arr = cJSON_AddArrayToObject(o, "months")) == NULL) {
		cJSON_Delete(o);
		return nomem();
	}
	for (i = 0; i < count; i++) {
		if ((item = month(months, i)) == NULL) {
			cJSON_Delete(o);
			return nomem();
		}
		cJSON_AddItemToArray(arr, item);
	}
	*res = o;
	return BILLING_OK;
}

static cJSON *movement_at(const void *months, size_t i)
{
	return month_json(&((const billing_mrr_month *)months)[i]);
}

static int op_movements(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_mrr_movements *m;
	int64_t from = 0, to = 0;
	int rc;
	(void)opts;

	if ((rc = time_in(&from, in, "from")) < 0 || (rc = time_in(&to, in, "to")) < 0)
		return rc;
	if ((m = billing__calloc(1, sizeof(*m))) == NULL)
		return nomem();
	if ((rc = billing_report_mrr_movements(m, ctx, who, jstr(in, "currency"), from, to)) >= 0)
		rc = months_report(res, "mrr_movements_report", m->currency, m->from, m->to,
			m->months, m->month_count, movement_at);
	billing__free(m);
	return rc;
}

static const field_spec f_aging[] = {
	{ "currency", T_STRING, true, false, "ISO 4217: the currency reported" },
	{ "at", T_STRING, false, false, "RFC 3339: the time the receivables are of (not after "
		"now); now when absent" },
	{ NULL, 0, false, false, NULL }
};

static int op_aging(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_receivables_aging a;
	int64_t at = 0;
	cJSON *o;
	int rc;
	(void)opts;

	if ((rc = at_arg(&at, in)) < 0)
		return rc;
	if ((rc = billing_report_receivables_aging(&a, ctx, who, jstr(in, "currency"), at)) < 0)
		return rc;
	if (!(o = cJSON_CreateObject()))
		return nomem();
	cJSON_AddStringToObject(o, "object", "receivables_aging_report");
	cJSON_AddStringToObject(o, "currency", a.currency);
	add_time(o, "at", a.at);
	add_int(o, "current", a.current);
	add_int(o, "days1To30", a.days_1_30);
	add_int(o, "days31To60", a.days_31_60);
	add_int(o, "days61To90", a.days_61_90);
	add_int(o, "daysOver90", a.days_over_90);
	add_int(o, "total", a.total);
	add_int(o, "invoices", a.invoices);
	add_int(o, "invoicesPastDue", a.invoices_past_due);
	*res = o;
	return BILLING_OK;
}

static const field_spec f_churn[] = {
	{ "currency", T_STRING, true, false, "ISO 4217: the currency of the revenue churn "
		"(customer churn counts every currency)" },
	{ "from", T_STRING, true, false, "RFC 3339: the range's start; its customers are "
		"the cohort" },
	{ "to", T_STRING, true, false, "RFC 3339: the range's end, after from, not after now" },
	{ NULL, 0, false, false, NULL }
};

/* A rate in hundredths of a percent as a percentage with two decimals
 * ("-12.50"), or null when its base is 0. */
static void add_rate(cJSON *o, const char *name, int64_t bp, int64_t base)
{
	char buf[32];
	uint64_t m = bp < 0 ? 0 - (uint64_t)bp : (uint64_t)bp;
	if (base == 0) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	snprintf(buf, sizeof(buf), "%s%llu.%02llu", bp < 0 ? "-" : "",
		(unsigned long long)(m / 100), (unsigned long long)(m % 100));
	cJSON_AddStringToObject(o, name, buf);
}

static int op_churn(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_churn c;
	int64_t from = 0, to = 0;
	cJSON *o;
	int rc;
	(void)opts;

	if ((rc = time_in(&from, in, "from")) < 0 || (rc = time_in(&to, in, "to")) < 0)
		return rc;
	if ((rc = billing_report_churn(&c, ctx, who, jstr(in, "currency"), from, to)) < 0)
		return rc;
	if (!(o = cJSON_CreateObject()))
		return nomem();
	cJSON_AddStringToObject(o, "object", "churn_report");
	cJSON_AddStringToObject(o, "currency", c.currency);
	add_time(o, "from", c.from);
	add_time(o, "to", c.to);
	add_int(o, "startCustomers", c.start_customers);
	add_int(o, "churnedCustomers", c.churned_customers);
	add_rate(o, "customerChurnRate", c.customer_churn_bp, c.start_customers);
	add_int(o, "startMrr", c.start_mrr);
	add_int(o, "churnedMrr", c.churned_mrr);
	add_int(o, "contractionMrr", c.contraction_mrr);
	add_int(o, "expansionMrr", c.expansion_mrr);
	add_rate(o, "grossRevenueChurnRate", c.gross_revenue_churn_bp, c.start_mrr);
	add_rate(o, "netRevenueChurnRate", c.net_revenue_churn_bp, c.start_mrr);
	*res = o;
	return BILLING_OK;
}

static const field_spec f_arpa[] = {
	{ "currency", T_STRING, true, false, "ISO 4217: the currency reported" },
	{ "at", T_STRING, false, false, "RFC 3339: the time the ARPA is of (not after now); "
		"now when absent" },
	{ NULL, 0, false, false, NULL }
};

static int op_arpa(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_arpa a;
	int64_t at = 0;
	cJSON *o;
	int rc;
	(void)opts;

	if ((rc = at_arg(&at, in)) < 0)
		return rc;
	if ((rc = billing_report_arpa(&a, ctx, who, jstr(in, "currency"), at)) < 0)
		return rc;
	if (!(o = cJSON_CreateObject()))
		return nomem();
	cJSON_AddStringToObject(o, "object", "arpa_report");
	cJSON_AddStringToObject(o, "currency", a.currency);
	add_time(o, "at", a.at);
	add_int(o, "mrr", a.mrr);
	add_int(o, "payingCustomers", a.paying_customers);
	if (a.paying_customers)
		add_int(o, "arpa", a.arpa);
	else
		cJSON_AddNullToObject(o, "arpa");
	*res = o;
	return BILLING_OK;
}

static const field_spec f_trials[] = {
	{ "from", T_STRING, true, false, "RFC 3339: the range's start" },
	{ "to", T_STRING, true, false, "RFC 3339: the range's end, after from, not after now" },
	{ NULL, 0, false, false, NULL }
};

static int op_trials(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_trial_conversion t;
	int64_t from = 0, to = 0;
	cJSON *o;
	int rc;
	(void)opts;

	if ((rc = time_in(&from, in, "from")) < 0 || (rc = time_in(&to, in, "to")) < 0)
		return rc;
	if ((rc = billing_report_trial_conversion(&t, ctx, who, from, to)) < 0)
		return rc;
	if (!(o = cJSON_CreateObject()))
		return nomem();
	cJSON_AddStringToObject(o, "object", "trial_conversion_report");
	add_time(o, "from", t.from);
	add_time(o, "to", t.to);
	add_int(o, "trialsEnded", t.trials_ended);
	add_int(o, "converted", t.converted);
	add_int(o, "canceledDuringTrial", t.canceled_during_trial);
	add_int(o, "endedUnpaid", t.ended_unpaid);
	add_rate(o, "conversionRate", t.conversion_bp, t.trials_ended);
	*res = o;
	return BILLING_OK;
}

static const field_spec f_revenue[] = {
	{ "currency", T_STRING, true, false, "ISO 4217: the currency reported" },
	{ "from", T_STRING, true, false, "RFC 3339: the first month's start (the first second "
		"of a month, UTC; not after now)" },
	{ "to", T_STRING, true, false, "RFC 3339: the end, a later month's first second, at "
		"most 36 months after from and at most the next month's (the current month ends "
		"now)" },
	{ NULL, 0, false, false, NULL }
};

static cJSON *revenue_month_json(const billing_revenue_month *m)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	add_time(o, "start", m->start);
	add_time(o, "end", m->end);
	add_int(o, "finalized", m->finalized);
	add_int(o, "voided", m->voided);
	add_int(o, "invoiced", m->invoiced);
	add_int(o, "paid", m->paid);
	add_int(o, "refunded", m->refunded);
	add_int(o, "collected", m->collected);
	add_int(o, "outstanding", m->outstanding);
	return o;
}

static cJSON *revenue_at(const void *months, size_t i)
{
	return revenue_month_json(&((const billing_revenue_month *)months)[i]);
}

static int op_revenue(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_revenue *r;
	int64_t from = 0, to = 0;
	int rc;
	(void)opts;

	if ((rc = time_in(&from, in, "from")) < 0 || (rc = time_in(&to, in, "to")) < 0)
		return rc;
	if ((r = billing__calloc(1, sizeof(*r))) == NULL)
		return nomem();
	if ((rc = billing_report_revenue(r, ctx, who, jstr(in, "currency"), from, to)) >= 0)
		rc = months_report(res, "revenue_report", r->currency, r->from, r->to, r->months,
			r->month_count, revenue_at);
	billing__free(r);
	return rc;
}

static const field_spec f_recovery[] = {
	{ "currency", T_STRING, true, false, "ISO 4217: the currency reported" },
	{ "from", T_STRING, true, false, "RFC 3339: the range's start" },
	{ "to", T_STRING, true, false, "RFC 3339: the range's end, after from, not after now" },
	{ NULL, 0, false, false, NULL }
};

static int op_recovery(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_payment_recovery r;
	int64_t from = 0, to = 0;
	cJSON *o;
	int rc;
	(void)opts;

	if ((rc = time_in(&from, in, "from")) < 0 || (rc = time_in(&to, in, "to")) < 0)
		return rc;
	if ((rc = billing_report_payment_recovery(&r, ctx, who, jstr(in, "currency"), from,
		to)) < 0)
		return rc;
	if (!(o = cJSON_CreateObject()))
		return nomem();
	cJSON_AddStringToObject(o, "object", "payment_recovery_report");
	cJSON_AddStringToObject(o, "currency", r.currency);
	add_time(o, "from", r.from);
	add_time(o, "to", r.to);
	add_int(o, "failedInvoices", r.failed_invoices);
	add_int(o, "failedAmount", r.failed_amount);
	add_int(o, "recovered", r.recovered);
	add_int(o, "recoveredAmount", r.recovered_amount);
	add_int(o, "open", r.open);
	add_int(o, "uncollectible", r.uncollectible);
	add_int(o, "voided", r.voided);
	add_rate(o, "recoveryRate", r.recovery_bp, r.failed_invoices);
	*res = o;
	return BILLING_OK;
}

const op_entry billing__json_ops_report[] = {
	{ BILLING_OP_REPORTS_MRR, op_mrr,
		"MRR and ARR of one currency at a time (now by default), rebuilt from the "
		"subscriptions' and plans' history: every active or past_due subscription's "
		"recurring amount after discounts, normalized to a month, rounded once per "
		"subscription (docs/reports.md).", f_mrr, OUT_OBJECT, "MrrReport" },
	{ BILLING_OP_REPORTS_MRR_MOVEMENTS, op_movements,
		"MRR movements of one currency per calendar month (UTC) of [from, to): each "
		"customer's MRR at the month's start against its end, as new, expansion, "
		"contraction, churned or reactivated, so that startMrr plus the movements is "
		"endMrr (docs/reports.md).", f_movements, OUT_OBJECT, "MrrMovementsReport" },
	{ BILLING_OP_REPORTS_RECEIVABLES_AGING, op_aging,
		"Receivables ageing of one currency at a time (now by default): the amount due of "
		"the invoices open then, by whole days past due (current, 1-30, 31-60, 61-90, "
		"over 90; a charge_automatically invoice is due when finalized), from the "
		"invoices' history (docs/reports.md).", f_aging, OUT_OBJECT, "ReceivablesAgingReport" },
	{ BILLING_OP_REPORTS_CHURN, op_churn,
		"Churn over [from, to) of the customers there at from: customer (logo) churn "
		"counts customers with an active or past_due subscription in any currency; "
		"revenue churn compares each customer's MRR in currency at from and at to "
		"(churned, contraction, expansion); rates in percent, null when their base is 0 "
		"(docs/reports.md).", f_churn, OUT_OBJECT, "ChurnReport" },
	{ BILLING_OP_REPORTS_ARPA, op_arpa,
		"ARPA (average revenue per account) of one currency at a time (now by default): "
		"the MRR then divided by the customers whose MRR was above 0, in minor units "
		"rounded half away from zero; null when no customer paid (docs/reports.md).",
		f_arpa, OUT_OBJECT, "ArpaReport" },
	{ BILLING_OP_REPORTS_TRIAL_CONVERSION, op_trials,
		"Trial conversion over [from, to): of the trials that ended in the range, those "
		"whose first charged invoice (issued at the trial's end) was paid before to "
		"(converted), those canceled during the trial, and those that ended unpaid; the "
		"rate converted / trialsEnded in percent, null when none ended "
		"(docs/reports.md).", f_trials, OUT_OBJECT, "TrialConversionReport" },
	{ BILLING_OP_REPORTS_REVENUE, op_revenue,
		"Invoiced against collected revenue of one currency per calendar month (UTC) of "
		"[from, to): the totals of the invoices finalized in the month less those voided "
		"in it (invoiced), the payments that succeeded in it and the invoices paid out "
		"of band less the refunds (collected), and the receivables at its end "
		"(docs/reports.md).", f_revenue, OUT_OBJECT, "RevenueReport" },
	{ BILLING_OP_REPORTS_PAYMENT_RECOVERY, op_recovery,
		"Failed-payment recovery over [from, to): the invoices of one currency whose "
		"first failed payment was in the range, and by to how many were paid "
		"(recovered), are still open, written off or voided; the rate recovered / "
		"failedInvoices in percent, null when none failed (docs/reports.md).",
		f_recovery, OUT_OBJECT, "PaymentRecoveryReport" },
};
BILLING__JSON_AREA_END(report);
