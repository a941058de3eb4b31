/**
 * @file billing/customer_balance.h
 * @brief A customer's balance per currency and its transactions ("cbtxn_...").
 *
 * Each customer has a balance per currency, in minor units. A negative
 * balance is credit owed to the customer; a positive one is owed by the
 * customer. It changes only through append-only balance transactions
 * (never updated or deleted), each with the balance it left
 * (ending_balance), so the balance is the sum of the customer's
 * transactions in that currency (billing_check verifies it):
 *
 * - adjustment: a manual change (billing_customer_balance_adjust, ADMIN,
 *   with a description);
 * - applied_to_invoice: written when an invoice is issued (finalized) with
 *   a balance to apply or a negative total. As Stripe does: with the
 *   balance before it B (starting_balance) and its total T, the invoice's
 *   amount due is max(0, T + B) and the balance after it (ending_balance)
 *   min(0, T + B); the transaction's amount is ending - starting. An
 *   invoice whose total is negative is never "paid negative": its credit
 *   goes to the balance and its amount due is 0;
 * - unapplied_from_invoice: a voided invoice gives back what it took from
 *   (or gave to) the balance;
 * - proration_credit: credit for days already paid that a pause with
 *   prorations leaves unused (billing_subscription_pause);
 * - credit_note, invoice_overpaid: reserved for credit notes and
 *   overpayments.
 *
 * Concurrency: every change holds the customer's row (PostgreSQL: FOR
 * UPDATE) from reading the balance to writing it, so two concurrent
 * changes never lose one.
 *
 * Events: every change writes "customer_balance_transaction.created" (data:
 * the transaction's JSON) and "customer.balance_changed" (the same data;
 * resource: the customer). The customer's balances are shown on the
 * customer (billing_customer_balance, JSON "balances": {"EUR": -1189}).
 */
#ifndef BILLING_CUSTOMER_BALANCE_H
#define BILLING_CUSTOMER_BALANCE_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_balance_transaction billing_balance_transaction;

/** Kinds of balance transactions, Stripe's names. */
typedef enum {
	BILLING_BALANCE_ADJUSTMENT = 1,
	BILLING_BALANCE_APPLIED_TO_INVOICE,
	BILLING_BALANCE_CREDIT_NOTE,
	BILLING_BALANCE_PRORATION_CREDIT,
	BILLING_BALANCE_INVOICE_OVERPAID,
	BILLING_BALANCE_UNAPPLIED_FROM_INVOICE
} billing_balance_transaction_type;

/** "adjustment", ...; NULL for a value that is not a type. */
BILLING_EXTERN(const char *) billing_balance_transaction_type_name(
	billing_balance_transaction_type type);

#define BILLING_BALANCE_ADJUSTMENT_PARAMS_VERSION 1

/** A manual adjustment. */
typedef struct {
	unsigned int version;        /**< BILLING_BALANCE_ADJUSTMENT_PARAMS_VERSION */
	const char *customer_id;     /**< required */
	int64_t amount;              /**< minor units, not 0; negative: credit to the customer */
	const char *currency;        /**< ISO 4217 ("EUR"; case-insensitive) */
	const char *description;     /**< required, 1-500 characters */
	const char *metadata_json;   /**< NULL: none; else a JSON object of strings */
} billing_balance_adjustment_params;

#define BILLING_BALANCE_ADJUSTMENT_PARAMS_INIT \
	{ BILLING_BALANCE_ADJUSTMENT_PARAMS_VERSION, NULL, 0, NULL, NULL, NULL }

/**
 * Adds amount to the customer's balance in currency (type adjustment).
 * ADMIN. *out receives the new transaction (owned).
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID naming the field
 * (customerId that names no customer of the tenant, amount 0, an unknown
 * currency, a missing description); BILLING_EOVERFLOW when the balance
 * would not fit an int64; BILLING_ECONFLICT (idempotency key reused for
 * another request).
 */
BILLING_EXTERN(int) billing_customer_balance_adjust(billing_balance_transaction **out,
	billing_ctx *ctx, const billing_principal *who, const billing_balance_adjustment_params *p,
	const billing_call_options *opts);

/**
 * The customer's balance transactions, newest first by default (sort_by
 * "createdAt"). USER and ADMIN. params may be NULL. Items via
 * billing_page_balance_transaction().
 * @return BILLING_OK (an unknown customer has none); BILLING_EFORBIDDEN;
 * BILLING_EINVALID.
 */
BILLING_EXTERN(int) billing_customer_balance_transaction_list(billing_page **out,
	billing_ctx *ctx, const billing_principal *who, const char *customer_id,
	const billing_list_params *params);

/** Item i of a page (borrowed); NULL when out of range or another kind. */
BILLING_EXTERN(const billing_balance_transaction *) billing_page_balance_transaction(
	const billing_page *page, size_t i);

BILLING_EXTERN(const char *) billing_balance_transaction_id(const billing_balance_transaction *t);
BILLING_EXTERN(const char *) billing_balance_transaction_customer_id(
	const billing_balance_transaction *t);
BILLING_EXTERN(billing_balance_transaction_type) billing_balance_transaction_type_of(
	const billing_balance_transaction *t);
/** Minor units: negative credits the customer. */
BILLING_EXTERN(int64_t) billing_balance_transaction_amount(const billing_balance_transaction *t);
BILLING_EXTERN(const char *) billing_balance_transaction_currency(
	const billing_balance_transaction *t);
/** NULL: none. */
BILLING_EXTERN(const char *) billing_balance_transaction_description(
	const billing_balance_transaction *t);
/** The invoice it was applied to or unapplied from; NULL: none. */
BILLING_EXTERN(const char *) billing_balance_transaction_invoice_id(
	const billing_balance_transaction *t);
/** The customer's balance in the currency after it. */
BILLING_EXTERN(int64_t) billing_balance_transaction_ending_balance(
	const billing_balance_transaction *t);
BILLING_EXTERN(int64_t) billing_balance_transaction_created_at(
	const billing_balance_transaction *t);
/** Accepts NULL. */
BILLING_EXTERN(void) billing_balance_transaction_free(billing_balance_transaction *t);

BILLING_END_DECL

#endif
