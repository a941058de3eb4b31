/**
 * @file billing/credit_note.h
 * @brief Credit notes (ids "cn_..."): lowering what a finalized invoice
 *        asks for, as in Stripe.
 *
 * A credit note is issued against a finalized invoice (pending, paid,
 * failed or uncollectible; never a draft or a void one), for some of its
 * lines (an amount, or a quantity times the line's unit amount, each
 * before tax) or for a lump amount (tax included). The tax of a line is
 * credited as the invoice computed it: the credited amount times the
 * line's rate, rounded half away from zero (the invoice's one rule), and
 * the credit that completes a line credits exactly the rest of its tax;
 * a lump amount carries the invoice's tax in proportion, by the same rule.
 *
 * Before payment (an unpaid invoice: type pre_payment) the note lowers the
 * invoice's amount due by its total, which must not exceed what is due;
 * an invoice left with nothing due is paid. After payment (a paid
 * invoice: type post_payment) the total is split, to the minor unit, into
 * refund_amount (refunded through the payment provider on the invoice's
 * captured payment, as billing_payment_refund does), credit_amount (to
 * the customer's balance: a balance transaction of type credit_note, a
 * negative amount) and out_of_band_amount (settled outside); without any
 * of the three the whole total is credit_amount. The notes of an invoice
 * never exceed its total; refunds never exceed what was captured less
 * earlier refunds.
 *
 * Numbers are the tenant's own gapless sequence, the tenant's credit-note
 * prefix ("CN-" unless set at its creation) and a counter zero-padded to
 * six digits ("CN-000001"), taken in the transaction that writes the note.
 *
 * Voiding reverses the note: the invoice's amounts and the credit to the
 * balance (a balance transaction back); refused (BILLING_ECONFLICT) when
 * the note refunded anything through the provider ("credit_note_refunded")
 * or when a pre-payment note's invoice has been paid since
 * ("invoice_paid").
 *
 * Every change writes the events "credit_note.created" / "credit_note.voided"
 * (data: the note's JSON), "invoice.updated", and
 * "customer.balance_changed" when the balance moves, and an audit row.
 */
#ifndef BILLING_CREDIT_NOTE_H
#define BILLING_CREDIT_NOTE_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_credit_note billing_credit_note;

typedef enum {
	BILLING_CREDIT_NOTE_ISSUED = 1,
	BILLING_CREDIT_NOTE_VOID
} billing_credit_note_status;

typedef enum {
	BILLING_CREDIT_NOTE_PRE_PAYMENT = 1,  /**< lowered an unpaid invoice's amount due */
	BILLING_CREDIT_NOTE_POST_PAYMENT      /**< refunded, credited or settled outside */
} billing_credit_note_type;

typedef enum {
	BILLING_CREDIT_NOTE_REASON_NONE = 0,
	BILLING_CREDIT_NOTE_DUPLICATE,
	BILLING_CREDIT_NOTE_FRAUDULENT,
	BILLING_CREDIT_NOTE_ORDER_CHANGE,
	BILLING_CREDIT_NOTE_PRODUCT_UNSATISFACTORY
} billing_credit_note_reason;

/** "issued" or "void"; NULL otherwise. */
BILLING_EXTERN(const char *) billing_credit_note_status_name(billing_credit_note_status s);
/** "duplicate", "fraudulent", "order_change", "product_unsatisfactory";
 *  NULL otherwise (and for none). */
BILLING_EXTERN(const char *) billing_credit_note_reason_name(billing_credit_note_reason r);

/** The most lines one credit note takes (billing_credit_note_params.lines). */
#define BILLING_CREDIT_NOTE_LINES_MAX 16

/** One line of a credit note: the invoice line (its id as the invoice's
 *  JSON shows it, "il_...") and either an amount (> 0, before tax) or a
 *  quantity (> 0; times the line's unit amount). */
typedef struct {
	const char *invoice_line_id;
	int64_t amount;              /**< 0: by quantity */
	int32_t quantity;            /**< 0: by amount */
} billing_credit_note_line_params;

/** Field bits for billing_credit_note_params.fields: which of the split's
 *  amounts were given (none: the whole total is credit_amount). */
enum {
	BILLING_CREDIT_NOTE_REFUND_AMOUNT = 1u << 0,
	BILLING_CREDIT_NOTE_CREDIT_AMOUNT = 1u << 1,
	BILLING_CREDIT_NOTE_OUT_OF_BAND_AMOUNT = 1u << 2
};

#define BILLING_CREDIT_NOTE_PARAMS_VERSION 2

typedef struct {
	unsigned int version;        /**< BILLING_CREDIT_NOTE_PARAMS_VERSION */
	unsigned int fields;         /**< BILLING_CREDIT_NOTE_*_AMOUNT bits given */
	const char *invoice_id;      /**< required */
	/** The lines (borrowed for the call, at most
	 *  BILLING_CREDIT_NOTE_LINES_MAX), or none and a lump amount. */
	const billing_credit_note_line_params *lines;
	size_t line_count;
	int64_t amount;              /**< without lines: the total, tax included, > 0 */
	billing_credit_note_reason reason; /**< optional */
	const char *memo;            /**< optional, up to 5000 characters */
	int64_t refund_amount;       /**< after payment only */
	int64_t credit_amount;       /**< after payment only */
	int64_t out_of_band_amount;  /**< after payment only */
	/** Version 2: your own string map, the same rules as every object's
	 *  (billing_metadata_entry); fixed once issued. */
	const billing_metadata_entry *metadata;
	size_t metadata_count;
} billing_credit_note_params;

#define BILLING_CREDIT_NOTE_PARAMS_INIT { BILLING_CREDIT_NOTE_PARAMS_VERSION, 0, NULL, NULL, \
	0, 0, BILLING_CREDIT_NOTE_REASON_NONE, NULL, 0, 0, 0, NULL, 0 }

/**
 * Issues a credit note (ADMIN). With a refund, the provider is asked after
 * the note is written (as billing_payment_refund: a lost answer is left to
 * the billing run, and the note stands).
 * @param out receives the note (caller frees)
 * @return BILLING_OK; BILLING_EINVALID naming the field (invoiceId,
 *         lines[i].invoiceLineId / .amount / .quantity, amount, reason,
 *         memo, refundAmount, creditAmount, outOfBandAmount, metadata) and
 *         nothing written (reason "credit_by_amount" for a quantity on a
 *         line whose amount is not its unit amount x quantity: a tiered,
 *         volume, package or proration line is credited by amount); BILLING_ECONFLICT (a draft or void invoice:
 *         "invalid_transition"; an attempt of the unpaid invoice in flight:
 *         "payment_in_progress"; "refund_in_progress"; no provider:
 *         "no_provider"; an idempotency key reused with other input)
 */
BILLING_EXTERN(int) billing_credit_note_create(billing_credit_note **out, billing_ctx *ctx,
	const billing_principal *who, const billing_credit_note_params *p,
	const billing_call_options *opts);

/** The note create would issue, computed in a read transaction and not
 *  written (no id, no number; ADMIN or USER). Errors as create. */
BILLING_EXTERN(int) billing_credit_note_preview(billing_credit_note **out, billing_ctx *ctx,
	const billing_principal *who, const billing_credit_note_params *p);

/** Voids a credit note (ADMIN); see the file comment. */
BILLING_EXTERN(int) billing_credit_note_void(billing_credit_note **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts);

BILLING_EXTERN(int) billing_credit_note_get(billing_credit_note **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

/** Lists the tenant's credit notes, oldest first (createdAt) unless params say; only
 *  an invoice's or a customer's when invoice_id / customer_id are set.
 *  Items via billing_page_credit_note(). */
BILLING_EXTERN(int) billing_credit_note_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const char *invoice_id, const char *customer_id,
	const billing_list_params *params);

BILLING_EXTERN(const billing_credit_note *) billing_page_credit_note(const billing_page *page,
	size_t i);

/** NULL for a preview. */
BILLING_EXTERN(const char *) billing_credit_note_id(const billing_credit_note *n);
/** NULL for a preview. */
BILLING_EXTERN(const char *) billing_credit_note_number(const billing_credit_note *n);
BILLING_EXTERN(const char *) billing_credit_note_invoice_id(const billing_credit_note *n);
BILLING_EXTERN(const char *) billing_credit_note_customer_id(const billing_credit_note *n);
BILLING_EXTERN(const char *) billing_credit_note_currency(const billing_credit_note *n);
BILLING_EXTERN(billing_credit_note_status) billing_credit_note_status_of(
	const billing_credit_note *n);
BILLING_EXTERN(billing_credit_note_type) billing_credit_note_type_of(
	const billing_credit_note *n);
BILLING_EXTERN(int64_t) billing_credit_note_subtotal(const billing_credit_note *n);
BILLING_EXTERN(int64_t) billing_credit_note_tax(const billing_credit_note *n);
BILLING_EXTERN(int64_t) billing_credit_note_total(const billing_credit_note *n);
BILLING_EXTERN(int64_t) billing_credit_note_refund_amount(const billing_credit_note *n);
BILLING_EXTERN(int64_t) billing_credit_note_credit_amount(const billing_credit_note *n);
BILLING_EXTERN(int64_t) billing_credit_note_out_of_band_amount(const billing_credit_note *n);
/** The refund asked of the provider ("re_..."); NULL when none. */
BILLING_EXTERN(const char *) billing_credit_note_refund_id(const billing_credit_note *n);
/** The lines as JSON, {"object":"list","data":[{invoiceLineId, description,
 *  quantity, amount, taxAmount}, ...]} (borrowed). */
BILLING_EXTERN(const char *) billing_credit_note_lines_json(const billing_credit_note *n);
/** The metadata as a canonical JSON object of strings ("{}" when none;
 *  borrowed). */
BILLING_EXTERN(const char *) billing_credit_note_metadata_json(const billing_credit_note *n);
BILLING_EXTERN(void) billing_credit_note_free(billing_credit_note *n);

BILLING_END_DECL

#endif
