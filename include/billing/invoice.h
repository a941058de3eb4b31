/**
 * @file billing/invoice.h
 * @brief Invoices: what a period of a subscription costs, line by line.
 *
 * States: draft -> pending (finalized, awaiting payment) -> paid | failed,
 * failed -> paid (a retry), void from pending or failed, and
 * uncollectible (written off) from pending or failed, which may still be
 * paid or voided (billing_invoice_transitions()). A draft (made by
 * billing_invoice_create) has no number and changes until it is
 * finalized; it is deleted, not voided, and consumes no number.
 * Collection: see billing/payment.h. A subscription's invoice is
 * finalized when its period begins; finalization gives it the
 * tenant's next number, gapless: prefix (the tenant's, "INV-" by default)
 * and a counter from 1 that never resets, zero-padded to 6 digits
 * ("INV-000042"). A finalized invoice never changes: corrections are a void
 * and a new invoice. A zero-total invoice (a trial's) is paid at once.
 *
 * Amounts are integer minor units. A line's amount excludes tax; its tax is
 * amount x rate rounded half away from zero, line by line; subtotal is the
 * sum of the lines' amounts, tax the sum of their taxes, total = subtotal
 * + tax, amount due = total - amount paid. The storage checks these sums
 * at every write.
 */
#ifndef BILLING_INVOICE_H
#define BILLING_INVOICE_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_invoice billing_invoice;

typedef enum {
	BILLING_INVOICE_DRAFT = 1,
	BILLING_INVOICE_PENDING = 2,
	BILLING_INVOICE_PAID = 3,
	BILLING_INVOICE_FAILED = 4,
	BILLING_INVOICE_VOID = 5,
	BILLING_INVOICE_UNCOLLECTIBLE = 6  /**< written off; may still be paid */
} billing_invoice_status;

/** How a finalized invoice is collected. */
typedef enum {
	BILLING_CHARGE_AUTOMATICALLY = 1,  /**< the customer's default payment method */
	BILLING_SEND_INVOICE = 2           /**< sent; paid by the customer by its due date */
} billing_collection_method;

/** "draft", "pending", "paid", "failed", "void", "uncollectible"; NULL
 *  otherwise. */
BILLING_EXTERN(const char *) billing_invoice_status_name(billing_invoice_status s);

typedef struct {
	billing_invoice_status from;
	billing_invoice_status to;
	const char *why;
} billing_invoice_transition;

/** The transition table (static storage); *count receives its length. */
BILLING_EXTERN(const billing_invoice_transition *) billing_invoice_transitions(size_t *count);

/** One line. Borrowed from its invoice. */
typedef struct {
	const char *description;
	const char *plan_id;           /**< NULL when not from a plan */
	int64_t period_start;
	int64_t period_end;
	int32_t quantity;
	int64_t unit_amount;
	int64_t amount;                /**< signed: a credit is negative */
	int32_t tax_rate_bp;
	int64_t tax_amount;
	int proration;                 /**< 1 for a proration line */
	/** The subscription item (si_...) the line bills; NULL for a line of
	 *  no item (an invoice item, a draft's line). Appended in #21: the
	 *  lines are always the library's, read through billing_invoice_line_at. */
	const char *subscription_item_id;
	/** A tiered plan's full-period line: the tiers its quantity used, JSON
	 *  [{upTo (null: open-ended), quantity, unitAmount (or
	 *  unitAmountDecimal, text), flatAmount, amount}] whose amounts add up
	 *  to amount; NULL on other lines. */
	const char *tiers;
	/** The discount (di_...) the line took (issue #22), NULL for none;
	 *  discount_amount is what it took, of the line's sign and never more
	 *  than amount: the line's tax is on amount - discount_amount.
	 *  Appended in #22 (shown as discountAmounts[{discountId, amount}]). */
	const char *discount_id;
	int64_t discount_amount;
	/** Taxes (issue #22; core/invoice_tax.c). The line's net: amount less
	 *  the tax an inclusive rate holds (amount when none). An invoice's
	 *  subtotal is the sum of its lines' nets, tax_amount their tax. */
	int64_t taxable_amount;
	/** The line's tax per rate, JSON [{taxRateId, amount, inclusive,
	 *  taxableAmount}]; NULL when the line is untaxed or taxed by its
	 *  product's taxRate (tax_rate_bp). */
	const char *tax_amounts;
	/** The tax rates (JSON array of txr_ ids) of an invoice item's line;
	 *  NULL: the invoice's or the subscription's defaults apply. */
	const char *tax_rates;
} billing_invoice_line;

BILLING_EXTERN(int) billing_invoice_get(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

#define BILLING_INVOICE_LIST_PARAMS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_INVOICE_LIST_PARAMS_VERSION */
	billing_list_params list;      /**< sort_by "createdAt" */
	const char *customer_id;
	const char *subscription_id;
	billing_invoice_status status; /**< 0: any */
	int has_period_from;           /**< only invoices whose period starts ... */
	int64_t period_from;           /**< ... at or after this time */
	int has_period_to;
	int64_t period_to;             /**< ... and before this one */
} billing_invoice_list_params;

#define BILLING_INVOICE_LIST_PARAMS_INIT { BILLING_INVOICE_LIST_PARAMS_VERSION, \
	BILLING_LIST_PARAMS_INIT, 0, 0, 0, 0, 0, 0, 0 }

/** Lists invoices; items via billing_page_invoice() (with their lines).
 *  A customer or subscription id that names nothing in the tenant is
 *  BILLING_EINVALID, reason "resource_missing", with the field. */
BILLING_EXTERN(int) billing_invoice_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_invoice_list_params *params);

BILLING_EXTERN(const billing_invoice *) billing_page_invoice(const billing_page *page, size_t i);

/**
 * Voids a pending, failed or uncollectible invoice (a draft is deleted).
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ECONFLICT (reason
 *         "invalid_transition") when it is a draft, paid or void
 */
BILLING_EXTERN(int) billing_invoice_void(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts);

/**
 * The invoice the subscription's next period will get, computed from the
 * current plan, quantity and tax rate, with the proration lines and the
 * subscription's invoice items waiting for it (one line each), and the
 * customer's balance in its currency applied as finalizing would
 * (starting balance, ending balance, amount due; the balance is read as of
 * now, not held); nothing is written. Status draft, no id and no number.
 * @return BILLING_OK; BILLING_EINVALID (reason "resource_missing", field
 *         "subscriptionId") when the id names no subscription of the
 *         tenant; BILLING_ECONFLICT when the subscription will not be
 *         invoiced again (ended, or ending at its period end, or at the end
 *         of its term)
 */
BILLING_EXTERN(int) billing_invoice_preview(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *subscription_id);

/* ------------------------------------------------------------ drafts */

#define BILLING_INVOICE_PARAMS_VERSION 3

/* billing_invoice_params.fields on update: which fields to change. */
#define BILLING_INVOICE_MEMO              (1u << 0)
#define BILLING_INVOICE_FOOTER            (1u << 1)
#define BILLING_INVOICE_DAYS_UNTIL_DUE    (1u << 2)
#define BILLING_INVOICE_COLLECTION_METHOD (1u << 3)
#define BILLING_INVOICE_DEFAULT_TAX_RATES (1u << 4)   /**< version 2 */
#define BILLING_INVOICE_DISCOUNT          (1u << 5)   /**< version 3: coupon or
                                                           promotion_code */

/** A draft invoice's fields. Strings are copied. */
typedef struct {
	unsigned int version;          /**< BILLING_INVOICE_PARAMS_VERSION */
	const char *customer_id;       /**< create: required */
	const char *currency;          /**< create: required, ISO 4217 */
	billing_collection_method collection_method; /**< 0: charge_automatically */
	int32_t days_until_due;        /**< send_invoice: required (0-3650) */
	const char *memo;              /**< NULL: none (at most 5000 characters) */
	const char *footer;            /**< NULL: none (at most 5000 characters) */
	unsigned int fields;           /**< update: BILLING_INVOICE_* bits to change */
	int64_t expected_version;      /**< update: 0 any */
	/** Version 2 (issue #22): the draft's default tax rates (ids of the
	 *  tenant's active txr_ rates, at most 5, at most one inclusive): they
	 *  tax its lines that have no rates of their own, in place of the
	 *  subscription's or plan's. Create: given when the count is not 0;
	 *  update: with BILLING_INVOICE_DEFAULT_TAX_RATES, a count of 0 clears
	 *  them. */
	const char *const *default_tax_rates;
	size_t default_tax_rate_count;
	/** Version 3 (issue #22): the draft's own discount, from a coupon's id
	 *  or an active promotion code's text (any case), at most one of the
	 *  two. It replaces, on this invoice, the customer's and the
	 *  subscription's discounts. Create: given when not NULL; update: with
	 *  BILLING_INVOICE_DISCOUNT, replacing the draft's own discount. */
	const char *coupon;
	const char *promotion_code;
} billing_invoice_params;

#define BILLING_INVOICE_PARAMS_INIT { BILLING_INVOICE_PARAMS_VERSION, NULL, NULL, \
	(billing_collection_method)0, 0, NULL, NULL, 0, 0, NULL, 0, NULL, NULL }

/**
 * Creates a draft invoice for a customer in a currency, with the
 * customer's pending invoice items in that currency that belong to no
 * subscription as its lines (they are then on the draft). A draft has no
 * number. Event invoice.created.
 * @return BILLING_OK; BILLING_EINVALID (customerId, currency,
 *         collectionMethod, daysUntilDue: required for send_invoice and
 *         refused for charge_automatically, memo, footer, defaultTaxRates:
 *         reason "resource_missing" for an id that names no active tax
 *         rate of the tenant; coupon or promotionCode: the reasons of
 *         billing_discount_create, and "currency_mismatch" for an amountOff
 *         coupon in another currency than the draft's; nothing is written)
 */
BILLING_EXTERN(int) billing_invoice_create(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const billing_invoice_params *p,
	const billing_call_options *opts);

/**
 * Changes a draft's memo, footer, daysUntilDue, collectionMethod,
 * defaultTaxRates or own discount (p->fields; new rates or a new discount
 * make its lines' discounts and taxes again in the same transaction).
 * Event invoice.updated.
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_EINVALID; BILLING_ESTALE;
 *         BILLING_ECONFLICT (reason "invoice_not_draft") once finalized
 */
BILLING_EXTERN(int) billing_invoice_update(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_invoice_params *p,
	const billing_call_options *opts);

/**
 * Deletes a draft's own discount (DELETE /v1/invoices/{id}/discount): its
 * lines are discounted again as if it had none (by the subscription's or
 * the customer's discount in effect), in the same transaction. The
 * coupon's redemption stays counted. Events customer.discount.deleted
 * and invoice.updated. ADMIN.
 * @param out receives the draft as it then is
 * @return BILLING_OK; BILLING_ENOTFOUND (no such invoice, or it has no
 *         discount of its own); BILLING_ECONFLICT (reason
 *         "invoice_not_draft")
 */
BILLING_EXTERN(int) billing_invoice_delete_discount(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts);

/**
 * Deletes a draft; its invoice items are pending again, its own discount
 * is deleted. No number was taken, none is lost. Event invoice.deleted.
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ECONFLICT (reason
 *         "invoice_not_draft")
 */
BILLING_EXTERN(int) billing_invoice_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id);

/** The most seconds a renewal's invoice may stay a draft (30 days). */
#define BILLING_RENEWAL_DRAFT_DELAY_MAX 2592000

/**
 * The tenant's renewal draft delay (GET /v1/invoice-settings): the seconds a
 * subscription's renewal invoice stays a draft before the billing run
 * finalizes it; 0 (the default) finalizes it at once. The same value as
 * billing_tenant_renewal_draft_delay: one column of the tenant's row.
 * Any role of the tenant may read it.
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID (a NULL out)
 */
BILLING_EXTERN(int) billing_invoice_settings_get(int64_t *renewal_draft_delay,
	billing_ctx *ctx, const billing_principal *who);

/**
 * Sets it (ADMIN; an audit row) for the renewals made from now on: a draft
 * already waiting keeps the time it was given.
 * @return BILLING_OK; BILLING_EFORBIDDEN (not ADMIN); BILLING_EINVALID
 *         (field renewalDraftDelay: 0 to BILLING_RENEWAL_DRAFT_DELAY_MAX),
 *         nothing written
 */
BILLING_EXTERN(int) billing_invoice_settings_set(billing_ctx *ctx, const billing_principal *who,
	int64_t renewal_draft_delay);

/**
 * Finalizes a draft: the tenant's next number (the same gapless sequence
 * as every invoice), then charge_automatically collects it from the
 * customer's default payment method as subscription invoices are, and
 * send_invoice leaves it pending with dueDate = now + daysUntilDue days.
 * A total of 0 or less is paid at once. Its taxes (and discount) are
 * computed again first, from the rates, the customer's taxExempt and the
 * tenant's tax settings as they are then (a rate archived since a line or
 * the draft named it still applies). Events invoice.finalized (and
 * invoice.paid).
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ECONFLICT (reason
 *         "invoice_not_draft")
 */
BILLING_EXTERN(int) billing_invoice_finalize(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts);

/**
 * Writes off a pending or failed invoice: status uncollectible, no more
 * automatic attempts. It may still be paid (by card or out of band) or
 * voided. Event invoice.marked_uncollectible.
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ECONFLICT (reason
 *         "invalid_transition"; "payment_in_progress" while a payment is in
 *         flight)
 */
BILLING_EXTERN(int) billing_invoice_mark_uncollectible(billing_invoice **out,
	billing_ctx *ctx, const billing_principal *who, const char *id,
	const billing_call_options *opts);

/**
 * Records that a pending, failed or uncollectible invoice was paid outside
 * the payment provider (a bank transfer, a cheque): status paid,
 * amountPaid = total, paidOutOfBand; no provider call. Event invoice.paid.
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ECONFLICT (reason
 *         "invalid_transition"; "payment_in_progress" while a payment is in
 *         flight)
 */
BILLING_EXTERN(int) billing_invoice_pay_out_of_band(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts);

/** NULL for a preview. */
BILLING_EXTERN(const char *) billing_invoice_id(const billing_invoice *inv);
/** NULL until finalized. */
BILLING_EXTERN(const char *) billing_invoice_number(const billing_invoice *inv);
BILLING_EXTERN(billing_invoice_status) billing_invoice_status_of(const billing_invoice *inv);
BILLING_EXTERN(const char *) billing_invoice_customer_id(const billing_invoice *inv);
BILLING_EXTERN(const char *) billing_invoice_subscription_id(const billing_invoice *inv);
BILLING_EXTERN(const char *) billing_invoice_currency(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_subtotal(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_tax(const billing_invoice *inv);
/** What the invoice's discount took off its lines (issue #22): total =
 *  subtotal - this + tax; 0 without a discount. */
BILLING_EXTERN(int64_t) billing_invoice_total_discount(const billing_invoice *inv);
/** The discount (di_...) its lines took; NULL: none. Borrowed. */
BILLING_EXTERN(const char *) billing_invoice_discount_id(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_total(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_amount_paid(const billing_invoice *inv);
/** What is left to collect: total + starting balance - ending balance -
 *  amount paid; never negative (billing/customer_balance.h). */
BILLING_EXTERN(int64_t) billing_invoice_amount_due(const billing_invoice *inv);
/** The customer's balance in the invoice's currency when it was finalized
 *  (negative: credit), and after the invoice applied it: amount due =
 *  max(0, total + starting), ending = min(0, total + starting). */
BILLING_EXTERN(int64_t) billing_invoice_starting_balance(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_ending_balance(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_period_start(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_period_end(const billing_invoice *inv);
BILLING_EXTERN(size_t) billing_invoice_line_count(const billing_invoice *inv);
BILLING_EXTERN(const billing_invoice_line *) billing_invoice_line_at(const billing_invoice *inv,
	size_t i);
BILLING_EXTERN(int64_t) billing_invoice_created_at(const billing_invoice *inv);
/** 0 when not (yet) finalized / paid / voided. */
BILLING_EXTERN(int64_t) billing_invoice_finalized_at(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_paid_at(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_voided_at(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_version(const billing_invoice *inv);
/** Payment attempts made for the invoice. */
BILLING_EXTERN(int32_t) billing_invoice_attempt_count(const billing_invoice *inv);
/** When the next automatic attempt is due (dunning); 0 when none is. */
BILLING_EXTERN(int64_t) billing_invoice_next_attempt_at(const billing_invoice *inv);
/** The invoice's payment that awaits the customer's action (3-D Secure):
 *  its billing_payment_next_action_type(), billing_payment_client_secret()
 *  and billing_payment_next_action_url() are what a front end needs to
 *  finish the payment. Borrowed, valid until billing_invoice_free(); NULL
 *  when no payment of the invoice awaits action. (billing_payment is
 *  billing/payment.h's.) */
BILLING_EXTERN(const struct billing_payment *) billing_invoice_action_payment(
	const billing_invoice *inv);
/** charge_automatically (subscription invoices) or send_invoice; 0 for
 *  NULL. */
BILLING_EXTERN(billing_collection_method) billing_invoice_collection_method(
	const billing_invoice *inv);
/** send_invoice: the days from finalization to the due date; 0: none. */
BILLING_EXTERN(int32_t) billing_invoice_days_until_due(const billing_invoice *inv);
/** send_invoice: when payment is due, set at finalization; 0: none. */
BILLING_EXTERN(int64_t) billing_invoice_due_date(const billing_invoice *inv);
/** Borrowed; NULL when none. */
BILLING_EXTERN(const char *) billing_invoice_memo(const billing_invoice *inv);
BILLING_EXTERN(const char *) billing_invoice_footer(const billing_invoice *inv);
/** 1 when it was marked paid without a payment (paidOutOfBand). */
BILLING_EXTERN(int) billing_invoice_paid_out_of_band(const billing_invoice *inv);
/** Taxes (issue #22, docs/billing.md "Taxes on invoices"). The breakdown
 *  per rate, JSON [{taxRateId (null: a product's taxRate), amount,
 *  inclusive, taxableAmount}], borrowed; "[]" when the invoice is untaxed
 *  (NULL for NULL). Its amounts add up to billing_invoice_tax. */
BILLING_EXTERN(const char *) billing_invoice_total_tax_amounts(const billing_invoice *inv);
/** The customer's taxExempt the taxes were computed with: 0 none, 1
 *  exempt, 2 reverse (reverse charge: no tax, and the invoice carries
 *  billing_invoice_tax_note); 0 for NULL. */
BILLING_EXTERN(int) billing_invoice_customer_tax_exempt(const billing_invoice *inv);
/** The reverse-charge note of a reverse-charge invoice (static text);
 *  NULL otherwise. */
BILLING_EXTERN(const char *) billing_invoice_tax_note(const billing_invoice *inv);
/** A draft invoice's default tax rates (JSON array of txr_ ids), borrowed;
 *  NULL when none. */
BILLING_EXTERN(const char *) billing_invoice_default_tax_rates(const billing_invoice *inv);
/** Why the invoice was made (Stripe's billing_reason), static or borrowed:
 *  "subscription_threshold" for a spend threshold's early invoice of a
 *  subscription's usage (docs/usage.md, "Spend thresholds"); NULL for
 *  every other invoice (a period's, a cancellation's, one made by hand). */
BILLING_EXTERN(const char *) billing_invoice_billing_reason(const billing_invoice *inv);
/** The totals of the invoice's credit notes that are not void
 *  (billing/credit_note.h): issued before payment (they lowered the amount
 *  due) and after it. */
BILLING_EXTERN(int64_t) billing_invoice_pre_credit_notes_amount(const billing_invoice *inv);
BILLING_EXTERN(int64_t) billing_invoice_post_payment_credit_notes_amount(
	const billing_invoice *inv);
BILLING_EXTERN(void) billing_invoice_free(billing_invoice *inv);

BILLING_END_DECL

#endif
