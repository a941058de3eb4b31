/*
 * Discounts (issue #22 items 3 and 4): redeeming a coupon or promotion
 * code (discount.c) and the one pass that takes a coupon's terms off an
 * invoice's lines, before tax (discount_apply.c; pure: the caller reads
 * the discount, its coupon and the lines' products).
 */
#ifndef BILLING_CORE_DISCOUNT_H
#define BILLING_CORE_DISCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* What a discount takes off (its coupon's terms). */
typedef struct {
	int64_t percent_off;               /* hundredths of a percent; 0: amount_off */
	int64_t amount_off;                /* minor units of currency */
	const char *currency;              /* amount_off's */
	const char *const *product_ids;    /* appliesTo; NULL / 0: every line */
	size_t product_count;
} billing__discount_terms;

/* One line as the pass sees it. */
typedef struct {
	int64_t amount;                    /* signed: a proration credit is negative */
	const char *product_id;            /* NULL: of no product (then only an
	                                      unrestricted discount applies) */
} billing__discount_line;

/*
 * The discount of each of the n lines of an invoice in currency, into
 * out[n] (minor units, of the line's sign, never more than the line):
 * - percent_off: each eligible line's amount times the percentage, rounded
 *   half away from zero per line (a negative proration credit of a
 *   discounted period is reduced the same way, so a credit gives back what
 *   was paid);
 * - amount_off (in the invoice's currency only, else nothing): at most the
 *   sum of the eligible positive lines, spread over them in proportion to
 *   their amounts so that the parts sum exactly (billing_amount_allocate),
 *   no line below zero; credits are left alone.
 * Eligible: every line, or with product_ids only lines of those products.
 * Returns BILLING_OK; BILLING_EOVERFLOW when a sum does not fit.
 */
int billing__discount_apply(int64_t *out, const billing__discount_line *lines, size_t n,
	const char *currency, const billing__discount_terms *terms);

/* What a discount's creation redeems. */
typedef struct {
	const char *coupon_id;             /* a coupon by id, or */
	const char *promotion_code;        /* the text of an active code (any case) */
	const char *customer_id;           /* who redeems (a code for one customer) */
	int64_t now;
	int first_time;                    /* the customer has no invoice yet */
	int64_t amount;                    /* the first invoice's subtotal, in */
	const char *currency;              /* its currency (a code's minimumAmount) */
} billing__redeem_params;

/* The coupon redeemed (its terms) and the code, when one was. */
struct billing__redemption {
	char coupon_id[BILLING_ID_MAX];
	char promotion_code_id[BILLING_ID_MAX];   /* "" without a code */
	int64_t percent_off, amount_off;
	char currency[4];
	int duration;
	int64_t duration_in_periods;
	int64_t coupon_times_redeemed;            /* after this redemption */
	int64_t coupon_max_redemptions, coupon_redeem_by;
	int coupon_deleted;
};

/*
 * Redeems in tx: the code (when given) and its coupon are read for update,
 * checked, and their timesRedeemed raised by one; the caller then writes
 * the discount in the same transaction, so that a rollback gives the use
 * back. Refusals are BILLING_EINVALID naming "coupon" or "promotionCode"
 * with a reason: resource_missing (unknown, deleted, or an archived code),
 * coupon_expired (redeemBy), coupon_exhausted (maxRedemptions),
 * promotion_code_expired, promotion_code_exhausted,
 * promotion_code_customer, promotion_code_first_time,
 * promotion_code_minimum. Two redemptions of a last use at once: exactly
 * one succeeds (the rows' locks; see discount.c).
 */
int billing__discount_redeem(struct billing__redemption *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const billing__redeem_params *in);

#endif
