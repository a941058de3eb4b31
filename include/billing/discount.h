/**
 * @file billing/discount.h
 * @brief Discounts ("di_..."): a coupon redeemed for a customer or for one
 * of its subscriptions (issue #22 item 3). A draft invoice's own discount
 * is made and deleted through the invoice (billing/invoice.h,
 * billing_invoice_params version 3, billing_invoice_delete_discount).
 *
 * A discount is made from a coupon, named by its id or by an active
 * promotion code's text; making it redeems them (their limits and the
 * code's restrictions are checked and their timesRedeemed counted, in the
 * same transaction). There is at most one discount per level: a new one
 * replaces the one before (which is deleted). Invoices take it before tax
 * (docs/billing.md "Discounts"): a draft's own discount, else a
 * subscription's invoices take the subscription's discount, else the
 * customer's. Discounts never stack.
 *
 * How long it lasts, from its start: a once coupon's discount is taken by
 * the first invoice it takes something off, and then ends; a repeating
 * coupon's (durationInPeriods N) ends N intervals of the subscription's
 * plan after its start (a customer's: N months after it), and an invoice
 * whose period starts before the end is discounted; a forever one never
 * ends. Deleting the coupon leaves its discounts working.
 *
 * Events: "customer.discount.created", "customer.discount.updated" (a
 * discount replaced by another: data the new one, the old one deleted
 * without an event of its own, as Stripe does) and
 * "customer.discount.deleted" (data: the discount) for both levels, as
 * Stripe names them.
 */
#ifndef BILLING_DISCOUNT_H
#define BILLING_DISCOUNT_H

#include "common.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_discount billing_discount;

#define BILLING_DISCOUNT_PARAMS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_DISCOUNT_PARAMS_VERSION */
	const char *customer_id;       /**< required; NULL with a subscription_id:
	                                    the subscription's customer */
	const char *subscription_id;   /**< NULL: the customer's discount; else one
	                                    of the customer's subscriptions, not ended */
	const char *coupon;            /**< a coupon's id, or */
	const char *promotion_code;    /**< the text of an active promotion code
	                                    (any case); exactly one of the two */
} billing_discount_params;

#define BILLING_DISCOUNT_PARAMS_INIT { BILLING_DISCOUNT_PARAMS_VERSION, 0, 0, 0, 0 }

/**
 * Makes the discount of a customer or subscription, replacing the one
 * it had. ADMIN.
 * @param out receives the discount (new; billing_discount_free)
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID with the field
 *         ("customerId", "subscriptionId": reason "resource_missing";
 *         "coupon" or "promotionCode": resource_missing, coupon_expired,
 *         coupon_exhausted, promotion_code_expired, promotion_code_exhausted,
 *         promotion_code_customer, promotion_code_first_time,
 *         promotion_code_minimum: a code with a minimumAmount is redeemed
 *         only with a subscription's creation); BILLING_ECONFLICT (an ended
 *         subscription, reason "invalid_transition"; an idempotency key
 *         used with other input)
 */
BILLING_EXTERN(int) billing_discount_create(billing_discount **out, billing_ctx *ctx,
	const billing_principal *who, const billing_discount_params *params,
	const billing_call_options *opts);

/**
 * Deletes the discount of the customer (subscription_id NULL) or of its
 * subscription (customer_id NULL: the subscription's customer). ADMIN. Invoices already made keep what it took off.
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_ENOTFOUND when that
 *         level has no discount
 */
BILLING_EXTERN(int) billing_discount_delete(billing_ctx *ctx, const billing_principal *who,
	const char *customer_id, const char *subscription_id);

/**
 * The discount of the customer (subscription_id NULL) or of its
 * subscription (customer_id NULL: the subscription's customer), ended or
 * not, that is not deleted.
 * @return BILLING_OK; BILLING_ENOTFOUND when there is none
 */
BILLING_EXTERN(int) billing_discount_get(billing_discount **out, billing_ctx *ctx,
	const billing_principal *who, const char *customer_id, const char *subscription_id);

/** Releases a discount; NULL is ignored. */
BILLING_EXTERN(void) billing_discount_free(billing_discount *d);

/* Getters: borrowed strings, valid until billing_discount_free; NULL / 0
 * for a NULL discount. */
BILLING_EXTERN(const char *) billing_discount_id(const billing_discount *d);
BILLING_EXTERN(const char *) billing_discount_customer_id(const billing_discount *d);
/** NULL for a customer's discount. */
BILLING_EXTERN(const char *) billing_discount_subscription_id(const billing_discount *d);
BILLING_EXTERN(const char *) billing_discount_coupon_id(const billing_discount *d);
/** NULL when made from the coupon's id. */
BILLING_EXTERN(const char *) billing_discount_promotion_code_id(const billing_discount *d);
BILLING_EXTERN(int64_t) billing_discount_start(const billing_discount *d);
/** 0: no end (yet). */
BILLING_EXTERN(int64_t) billing_discount_end(const billing_discount *d);

BILLING_END_DECL

#endif
