/**
 * @file billing/check.h
 * @brief The consistency checker: finds half-written state.
 *
 * billing_check() reads every tenant and reports what a correct library
 * never leaves behind: an invoice whose totals are not the sums of its
 * lines; finalized invoice numbers of a tenant that are not 1, 2, 3, ...
 * without a gap; a paid invoice with an amount paid but no captured
 * payment, or a captured payment whose invoice is not paid; an incomplete
 * subscription whose first invoice is paid ("incomplete_invoice_paid") or
 * an incomplete_expired one whose invoice is not void
 * ("incomplete_expired_invoice_not_void"); a plan's full-period invoice
 * line whose amount is not the plan's price model applied to its quantity
 * ("plan_line_amount"; a perUnit line at the unit amount it recorded,
 * prorations not recomputed); a metered plan's line (usage billed in
 * arrears) whose quantity is not the aggregate stored for its meter,
 * customer and period ("usage_line_aggregate"); a customer or
 * subscription whose discount (the object it shows, issue #22) is not the
 * live discount of its level in the discounts table ("discount_shown");
 * a coupon or promotion code whose timesRedeemed is above its
 * maxRedemptions or is not the number of discounts made from it, deleted
 * ones included ("coupon_redemptions").
 * Every stored
 * object (customers, plans, tax rates, ...) is also checked as its
 * descriptor describes it (billing/sys/resource.h), so a new object is
 * checked without code here: its tenant and id prefix, a version of at
 * least 1, booleans 0 or 1, enums and statuses among their values,
 * BILLING_FIELD_NONNEGATIVE integers not below 0, metadata and other JSON
 * fields that are JSON objects ("invalid_field"); each billing_reference
 * naming an existing object of the tenant ("dangling_reference"); and an
 * object whose creation writes an event (BILLING_RESOURCE_CREATE_EVENT,
 * the generic flow) having it, unless retention pruned it
 * ("missing_event"). The fault-injection tests run it after every injected
 * failure; hosts can run it (billing-server check).
 *
 * It reads each tenant in one transaction; run it on a quiet database
 * (PostgreSQL's READ COMMITTED may show a change in flight as a problem).
 */
#ifndef BILLING_CHECK_H
#define BILLING_CHECK_H

#include "common.h"

BILLING_BEGIN_DECL

/** One problem found. Strings valid during the callback only. */
typedef struct {
	const char *tenant_id;
	const char *kind;        /**< "invoice_sums", "invoice_number_gap",
	                              "paid_without_payment", "payment_invoice_unpaid",
	                              "incomplete_invoice_paid",
	                              "incomplete_expired_invoice_not_void",
	                              "missing_event", "invalid_field",
	                              "dangling_reference", "plan_line_amount",
	                              "usage_line_aggregate", "discount_shown",
	                              "coupon_redemptions" */
	const char *resource_id; /**< the resource it is about, or NULL */
	const char *detail;      /**< for humans */
} billing_check_problem;

typedef void (*billing_check_fn)(void *user_data, const billing_check_problem *problem);

/**
 * Checks the whole database (no principal: a host's maintenance call).
 * @param fn        receives each problem (may be NULL)
 * @param problems  receives how many were found (may be NULL)
 * @return BILLING_OK (also when problems were found); BILLING_ESTORAGE
 */
BILLING_EXTERN(int) billing_check(billing_ctx *ctx, billing_check_fn fn, void *user_data,
	int64_t *problems);

BILLING_END_DECL

#endif
