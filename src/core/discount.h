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

#include "billing/invoice.h"
#include "billing/sys/resource.h"
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

/* ------------------------------------------------------------ discounts */

/* The row of the discounts table (discount_object.c; schema step 27). */
struct billing__discount_rec {
	const char *tenant_id;
	const char *id;
	const char *customer_id;
	const char *subscription_id;    /* NULL: the customer's discount */
	const char *invoice_id;         /* a draft invoice's own discount (schema
	                                   step 37; subscription_id NULL); NULL: none */
	const char *coupon_id;
	const char *promotion_code_id;  /* NULL: made from the coupon's id */
	int64_t start_at;
	int64_t end_at;                 /* 0: no end (yet) */
	int64_t deleted_at;             /* 0: live */
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

extern const billing_resource billing__res_discount;

/* A discount as the core keeps it in hand (no borrowed strings). */
struct billing__discount_info {
	char id[BILLING_ID_MAX];
	char customer_id[BILLING_ID_MAX];
	char subscription_id[BILLING_ID_MAX];    /* "": the customer's */
	char invoice_id[BILLING_ID_MAX];         /* "": not an invoice's */
	char coupon_id[BILLING_ID_MAX];
	char promotion_code_id[BILLING_ID_MAX];  /* "": none */
	int64_t start_at, end_at, created_at, version;
	int64_t deleted_at;                      /* 0: live */
};

/* What a discount's creation is made of. */
typedef struct {
	const char *customer_id;
	const char *subscription_id;    /* NULL: the customer's */
	const char *coupon;             /* a coupon id, or */
	const char *promotion_code;     /* a code's text */
	int64_t now;                    /* the start */
	int interval;                   /* the subscription's plan (a repeating
	                                   coupon's end); 0: months (a customer's) */
	int32_t interval_count;
	int64_t amount;                 /* the first invoice's subtotal (a code's */
	const char *currency;           /* minimumAmount); NULL: no first invoice */
	/* A draft invoice's own discount (subscription_id NULL): the level is
	 * the invoice. invoice_currency: the draft's (an amountOff coupon in
	 * another is refused, reason currency_mismatch); invoice_written: the
	 * draft is stored already (it does not count against
	 * firstTimeTransaction). */
	const char *invoice_id;
	const char *invoice_currency;
	bool invoice_written;
} billing__attach_params;

/*
 * In tx: redeems the coupon or code (billing__discount_redeem; first_time
 * when the customer has no invoice yet), deletes the level's discount
 * before it and writes the new one with its end (repeating:
 * durationInPeriods intervals after now), the event
 * customer.discount.created, or customer.discount.updated (data: the new
 * discount) when it replaced one. The caller has checked that the
 * customer and subscription exist and belong together.
 */
int billing__discount_attach(struct billing__discount_info *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const billing__attach_params *p);

/* The live (not deleted) discount of a level, into out; BILLING_ENOTFOUND
 * when there is none. With lock, its row is held for update. */
int billing__discount_current(struct billing__discount_info *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *customer_id,
	const char *subscription_id, bool lock);

/* The live discount of a draft invoice (its own, not the customer's or
 * subscription's it may take), into out; BILLING_ENOTFOUND when it has
 * none. With lock, its row is held for update. */
int billing__discount_of_invoice(struct billing__discount_info *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *invoice_id, bool lock);

/* Room for the JSON of a shown discount (billing__discount_text). */
#define BILLING__DISCOUNT_TEXT_MAX 256

/* The discount as customers and subscriptions show it (their discount
 * column, schema step 32): {"id","couponId","promotionCodeId","start",
 * "end"}, times as the API writes them, null for no code or no end.
 * attach, remove and used write it to their level's row in their
 * transaction, so the column is the level's live discount. */
int billing__discount_text(char out[BILLING__DISCOUNT_TEXT_MAX],
	const struct billing__discount_info *d);

/* In tx: the level's live discount (the caller just made one) as
 * billing__discount_text writes it, into out, and *json pointing at out.
 * For the object a call answers with, after the call changed the discount
 * (the column was written by then, the record in hand was read before). */
int billing__discount_shown(char out[BILLING__DISCOUNT_TEXT_MAX], const char **json,
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *customer_id,
	const char *subscription_id);

/* In tx: marks the discount deleted now, event customer.discount.deleted. */
int billing__discount_remove(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const struct billing__discount_info *d);

/* In tx: sets the end of a once discount its first invoice took (now). */
int billing__discount_used(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const struct billing__discount_info *d, int64_t now);

/* ------------------------------------------------------------ invoices */

/* What the invoice discount pass took off. */
typedef struct {
	char discount_id[BILLING_ID_MAX];   /* "": none */
	int64_t total;
} billing__invoice_discount_result;

/*
 * The discount pass (invoice_discount.c), run by the one place that sums
 * an invoice's lines (invoice.c), before tax: which discount applies to an
 * invoice of the customer (and subscription, NULL for none) whose period
 * starts at `at` (the subscription's live discount if it is in effect at
 * at, else the customer's), then billing__discount_apply over the lines
 * (a line's product: its plan's). Sets each line's discount_id (pointing
 * into out) and discount_amount, and out. With commit (an invoice that is
 * written, not a preview), a once discount that took something is ended.
 * keep_id (NULL: none): a draft discounted again takes the discount it
 * took when it was made (keep_id), in effect or not.
 */
int billing__invoice_discount(billing__invoice_discount_result *out, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *customer_id,
	const char *subscription_id, const char *currency, int64_t at,
	billing_invoice_line *lines, size_t n, const char *keep_id, bool commit);

/* A draft that took discount_id finalized at `at`: a once discount is
 * then ended (drafts are discounted without commit). */
int billing__invoice_discount_finalized(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *discount_id, int64_t at);

/* For billing_check: a problem of kind about resource_id. */
typedef void (*billing__discount_report_fn)(void *payload, const char *kind,
	const char *resource_id, const char *detail);

/* billing_check's rule "discount_shown": each customer's and
 * subscription's discount column (the discount it shows) is its level's
 * live discount as billing__discount_text writes it, or NULL when the
 * level has none. Calls report for each row that differs. */
int billing__discount_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__discount_report_fn report, void *payload);

/* billing_check's rule "coupon_redemptions" (issue #22 item 6), in three
 * statements (coupons and discounts with the deleted ones, promotion
 * codes): each coupon's and promotion code's timesRedeemed is at most its
 * maxRedemptions when it has one, and is the number of discounts made from
 * it, deleted ones too (billing__discount_redeem counts each discount
 * written in its transaction, and nothing gives a use back after the
 * commit: a deleted discount stays counted). Calls report once per coupon
 * or code that differs, with its id. */
int billing__redemption_check(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	billing__discount_report_fn report, void *payload);

#endif
