/**
 * @file billing/report.h
 * @brief Revenue reports computed from the billing history (issue #25;
 *        docs/reports.md).
 *
 * MRR (monthly recurring revenue) at a time `at`, in one currency: the sum,
 * over the tenant's subscriptions that were `active` or `past_due` at `at`,
 * of each subscription's recurring amount after its discount, normalized
 * to a month, in minor units. The subscription, its items and quantities,
 * and its plans' amounts are those in force at `at`, rebuilt from the
 * domain events (each event holds the object after the change); its
 * discount is the one in effect at `at` (the discounts table keeps start,
 * end and removal). Metered items are left out; a tiered item is priced at
 * its quantity by the plan's price model. Per item, the period amount a is
 * made a month's as a / count (MONTH), a / (12 count) (YEAR),
 * 52 a / (12 count) (WEEK), 365 a / (12 count) (DAY); the items' fractions
 * are added exactly (integers over a common denominator) and the sum is
 * rounded once per subscription, half away from zero. ARR = 12 x MRR.
 *
 * A report reads in one snapshot transaction and changes nothing. USER and
 * ADMIN may read reports.
 */
#ifndef BILLING_REPORT_H
#define BILLING_REPORT_H

#include "common.h"
#include "principal.h"

BILLING_BEGIN_DECL

/** MRR and ARR of one currency at one time. A plain value: the caller
 *  owns it (usually on the stack); nothing to free. */
typedef struct {
	int64_t at;                  /**< the time the report is of (UTC seconds) */
	char currency[4];            /**< ISO 4217, upper case */
	int64_t mrr;                 /**< minor units */
	int64_t arr;                 /**< 12 x mrr */
	int64_t subscriptions;       /**< active or past_due subscriptions in the currency */
	int64_t customers;           /**< distinct customers of those subscriptions */
} billing_mrr;

/**
 * MRR of the tenant in currency as it was at `at` (docs/reports.md).
 *
 * @param out      receives the report; zeroed first (at and currency set
 *                 once the arguments are checked)
 * @param ctx      the context
 * @param who      the principal (USER or ADMIN of a tenant)
 * @param currency ISO 4217 code in any case; required
 * @param at       the time (UTC seconds, >= 0); 0 means now
 * @return BILLING_OK; BILLING_EFORBIDDEN for a role that may not read;
 *         BILLING_EINVALID naming "currency" (missing or not a currency) or
 *         "at" (negative, or later than now), or reason "not_supported"
 *         when the storage has no events_latest (vtable before version 14);
 *         BILLING_EOVERFLOW when a sum does not fit; BILLING_ESTORAGE.
 */
BILLING_EXTERN(int) billing_report_mrr(billing_mrr *out, billing_ctx *ctx,
	const billing_principal *who, const char *currency, int64_t at);

BILLING_END_DECL

#endif
