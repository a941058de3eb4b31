/**
 * @file billing/check.h
 * @brief The consistency checker: finds half-written state.
 *
 * billing_check() reads every tenant and reports what a correct library
 * never leaves behind: an invoice whose totals are not the sums of its
 * lines; finalized invoice numbers of a tenant that are not 1, 2, 3, ...
 * without a gap; a paid invoice with an amount paid but no captured
 * payment, or a captured payment whose invoice is not paid; a customer,
 * product, plan, subscription, invoice or payment without the event of its
 * creation (unless retention pruned it). The fault-injection tests run it
 * after every injected failure; hosts can run it (billing-server check).
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
	                              "missing_event" */
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
