/**
 * @file billing/dispute.h
 * @brief Disputes of payments (ids "dp_..."), as the provider reports them.
 *
 * A dispute (a chargeback) is opened by the cardholder's bank, never by the
 * API: the library records one from the provider's events
 * charge.dispute.created, charge.dispute.updated and charge.dispute.closed
 * (billing_provider_webhook_handle), and the API only reads them. One
 * dispute per provider dispute id (provider_ref), of one payment.
 *
 * Events are idempotent and order-safe: a replayed provider event changes
 * nothing (it is a duplicate by its event id); an event older than the last
 * one applied to the dispute changes nothing; an "updated" or "closed" that
 * arrives before "created" creates the dispute, and a late "created" then
 * changes nothing; a closed dispute (won, lost, warning_closed) is never
 * reopened by a late event.
 *
 * Every change writes "dispute.created", "dispute.updated" or, when the
 * dispute reaches won, lost or warning_closed, "dispute.closed" (data: the
 * dispute's JSON, its status saying won or lost). The first event of a
 * dispute also writes "payment.disputed" (the payment's JSON), as before.
 *
 * Effects, as in Stripe: the payment's status and refunded amount and the
 * invoice (paid) do not change, whatever the outcome; a lost dispute's
 * amount is money taken back by the bank, recorded on the dispute (status
 * lost, amount), not a refund. The disputes of a payment are listed with
 * billing_dispute_list (payment_id).
 */
#ifndef BILLING_DISPUTE_H
#define BILLING_DISPUTE_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_dispute billing_dispute;

/** Stripe's dispute statuses. */
typedef enum {
	BILLING_DISPUTE_WARNING_NEEDS_RESPONSE = 1, /**< an inquiry, not yet a chargeback */
	BILLING_DISPUTE_WARNING_UNDER_REVIEW,
	BILLING_DISPUTE_WARNING_CLOSED,             /**< the inquiry ended without a chargeback */
	BILLING_DISPUTE_NEEDS_RESPONSE,             /**< evidence is due (evidence_due_by) */
	BILLING_DISPUTE_UNDER_REVIEW,
	BILLING_DISPUTE_WON,                        /**< the money stays with the merchant */
	BILLING_DISPUTE_LOST                        /**< the bank took the amount back */
} billing_dispute_status;

/** "needs_response", ...; NULL for a value that is not a status. */
BILLING_EXTERN(const char *) billing_dispute_status_name(billing_dispute_status status);

/** Fetches a dispute; BILLING_ENOTFOUND when the id names nothing in the
 *  principal's tenant. USER and ADMIN. */
BILLING_EXTERN(int) billing_dispute_get(billing_dispute **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

#define BILLING_DISPUTE_LIST_PARAMS_VERSION 1

/** Filters of billing_dispute_list; unset members filter nothing. */
typedef struct {
	unsigned int version;            /**< BILLING_DISPUTE_LIST_PARAMS_VERSION */
	billing_list_params list;
	const char *payment_id;
	const char *customer_id;
	billing_dispute_status status;   /**< 0: any */
} billing_dispute_list_params;

#define BILLING_DISPUTE_LIST_PARAMS_INIT \
	{ BILLING_DISPUTE_LIST_PARAMS_VERSION, BILLING_LIST_PARAMS_INIT, 0, 0, 0 }

/** Lists disputes, newest first by default; sort_by "createdAt", "amount" or
 *  "evidenceDueBy". params may be NULL. Items via billing_page_dispute(). */
BILLING_EXTERN(int) billing_dispute_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_dispute_list_params *params);

/** Item i of a dispute page (borrowed); NULL when out of range or the page
 *  holds something else. */
BILLING_EXTERN(const billing_dispute *) billing_page_dispute(const billing_page *page, size_t i);

BILLING_EXTERN(const char *) billing_dispute_id(const billing_dispute *d);
BILLING_EXTERN(const char *) billing_dispute_tenant_id(const billing_dispute *d);
BILLING_EXTERN(const char *) billing_dispute_payment_id(const billing_dispute *d);
BILLING_EXTERN(const char *) billing_dispute_invoice_id(const billing_dispute *d);
BILLING_EXTERN(const char *) billing_dispute_customer_id(const billing_dispute *d);
/** The provider's name ("stripe", "test"). */
BILLING_EXTERN(const char *) billing_dispute_provider(const billing_dispute *d);
/** The provider's dispute id ("dp_..." at Stripe). */
BILLING_EXTERN(const char *) billing_dispute_provider_ref(const billing_dispute *d);
/** Minor units of currency: what the bank disputes (or, once lost, took). */
BILLING_EXTERN(int64_t) billing_dispute_amount(const billing_dispute *d);
BILLING_EXTERN(const char *) billing_dispute_currency(const billing_dispute *d);
/** The provider's reason ("fraudulent", "product_not_received", ...). */
BILLING_EXTERN(const char *) billing_dispute_reason(const billing_dispute *d);
BILLING_EXTERN(billing_dispute_status) billing_dispute_status_of(const billing_dispute *d);
/** When evidence is due (UTC seconds); 0 when the provider named no date. */
BILLING_EXTERN(int64_t) billing_dispute_evidence_due_by(const billing_dispute *d);
/** When it was won, lost or warning_closed; 0 while open. */
BILLING_EXTERN(int64_t) billing_dispute_closed_at(const billing_dispute *d);
BILLING_EXTERN(const char *) billing_dispute_metadata_json(const billing_dispute *d);
BILLING_EXTERN(int64_t) billing_dispute_created_at(const billing_dispute *d);
BILLING_EXTERN(int64_t) billing_dispute_updated_at(const billing_dispute *d);
BILLING_EXTERN(int64_t) billing_dispute_version(const billing_dispute *d);
/** Accepts NULL. */
BILLING_EXTERN(void) billing_dispute_free(billing_dispute *d);

BILLING_END_DECL

#endif
