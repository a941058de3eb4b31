/**
 * @file billing/payment.h
 * @brief Payments: attempts to collect an invoice through a provider.
 *
 * One payment is one attempt. It is written (status pending) and committed
 * before the provider is asked, and the provider's answer is recorded in a
 * second transaction, so a crash in between leaves an attempt that the
 * billing run resolves by asking the provider again with the same
 * idempotency key ("pay_<attempt id>"): money never moves twice, and a lost
 * answer is never guessed.
 *
 * States (billing_payment_transitions()): pending -> succeeded | failed |
 * requires_action | unknown; requires_action and unknown resolve to any of
 * the others; requires_action -> canceled (billing_payment_cancel);
 * succeeded -> partially_refunded -> refunded. An invoice has at
 * most one attempt in flight (pending, requires_action or unknown) and is
 * paid once; refunds never exceed what was captured.
 *
 * Collection: when an invoice with an amount due is issued and its customer
 * has a default payment method, the invoice is charged (off session) right
 * after the call that issued it commits, and again by billing_run_due()
 * should that fail to happen. A failed renewal puts the subscription
 * past_due and the invoice on the tenant's dunning schedule
 * (billing_dunning_policy); a later success makes it active again; the last
 * failed retry cancels it, marks it unpaid or leaves it past_due, as the
 * policy says.
 */
#ifndef BILLING_PAYMENT_H
#define BILLING_PAYMENT_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_payment billing_payment;

typedef enum {
	BILLING_PAYMENT_PENDING = 1,            /**< asked for, or processing */
	BILLING_PAYMENT_REQUIRES_ACTION = 2,    /**< the customer must authenticate */
	BILLING_PAYMENT_SUCCEEDED = 3,
	BILLING_PAYMENT_FAILED = 4,
	BILLING_PAYMENT_REFUNDED = 5,
	BILLING_PAYMENT_PARTIALLY_REFUNDED = 6,
	BILLING_PAYMENT_UNKNOWN = 7,            /**< the answer was lost: being resolved */
	BILLING_PAYMENT_CANCELED = 8            /**< awaited action, canceled at the provider
	                                             (by hand, superseded, or the invoice voided) */
} billing_payment_status;

/** "pending", "requires_action", "succeeded", "failed", "refunded",
 *  "partially_refunded", "unknown", "canceled"; NULL otherwise. */
BILLING_EXTERN(const char *) billing_payment_status_name(billing_payment_status s);

typedef struct {
	billing_payment_status from;
	billing_payment_status to;
	const char *why;
} billing_payment_transition;

/** The transition table (static storage); *count receives its length. */
BILLING_EXTERN(const billing_payment_transition *) billing_payment_transitions(size_t *count);

#define BILLING_PAY_PARAMS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_PAY_PARAMS_VERSION */
	const char *payment_method;    /**< NULL: the customer's default */
	int64_t amount;                /**< 0: the amount due; else must equal it */
	const char *currency;          /**< NULL: the invoice's; else must equal it */
} billing_pay_params;

#define BILLING_PAY_PARAMS_INIT { BILLING_PAY_PARAMS_VERSION, 0, 0, 0 }

/**
 * Charges a pending or failed invoice now (on session).
 *
 * A decline and a lost answer are outcomes that are recorded: the attempt is
 * committed either way and *out receives it, with the code saying which.
 *
 * @param out receives the attempt (also with BILLING_EDECLINED and
 *            BILLING_EUNKNOWN_OUTCOME)
 * @return BILLING_OK (succeeded, pending or requires_action: see its status);
 *         BILLING_EDECLINED (the provider's code in billing_error_last()->
 *         provider_code); BILLING_EUNKNOWN_OUTCOME (the run will ask again);
 *         BILLING_ENOTFOUND; BILLING_ECONFLICT (reason "invalid_transition"
 *         when the invoice is not pending or failed (also when an attempt
 *         awaiting action, canceled first, had succeeded meanwhile),
 *         "payment_in_progress" while another attempt is pending or
 *         unknown (one awaiting the customer's action is canceled at the
 *         provider first and superseded), "no_provider" without a
 *         provider); BILLING_EINVALID (field "paymentMethod" when there is
 *         none, "amount" / "currency" when they differ from the invoice's)
 */
BILLING_EXTERN(int) billing_invoice_pay(billing_payment **out, billing_ctx *ctx,
	const billing_principal *who, const char *invoice_id, const billing_pay_params *params,
	const billing_call_options *opts);

BILLING_EXTERN(int) billing_payment_get(billing_payment **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

#define BILLING_PAYMENT_LIST_PARAMS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_PAYMENT_LIST_PARAMS_VERSION */
	billing_list_params list;      /**< sort_by "createdAt" */
	const char *invoice_id;        /**< NULL: any */
	billing_payment_status status; /**< 0: any */
} billing_payment_list_params;

#define BILLING_PAYMENT_LIST_PARAMS_INIT { BILLING_PAYMENT_LIST_PARAMS_VERSION, \
	BILLING_LIST_PARAMS_INIT, 0, 0 }

BILLING_EXTERN(int) billing_payment_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_payment_list_params *params);

BILLING_EXTERN(const billing_payment *) billing_page_payment(const billing_page *page, size_t i);

/**
 * Refunds amount (0: all that is left) of a succeeded payment.
 * @param out receives the payment after the refund
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ECONFLICT (reason
 *         "invalid_transition" unless succeeded or partially refunded,
 *         "refund_in_progress"); BILLING_EINVALID (field "amount" above what
 *         is left); BILLING_EDECLINED when the provider refused it;
 *         BILLING_EUNKNOWN_OUTCOME (the run asks again)
 */
BILLING_EXTERN(int) billing_payment_refund(billing_payment **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t amount,
	const billing_call_options *opts);

/**
 * Cancels a payment that awaits the customer's action (requires_action,
 * 3-D Secure) at the provider (Stripe: cancels the PaymentIntent); it
 * becomes canceled (event payment.canceled) and its invoice can be paid
 * again. Canceling a canceled payment answers it as it is. The provider is
 * asked outside any transaction; if it answers that the payment succeeded
 * meanwhile, the success is recorded (the invoice is paid) and the call
 * answers BILLING_ECONFLICT.
 *
 * billing_invoice_pay() of an invoice whose attempt awaits action cancels
 * that attempt this way before it makes the new one, and
 * billing_invoice_void() cancels it before it voids.
 *
 * @param out receives the canceled payment
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ECONFLICT (reason
 *         "invalid_transition" unless it awaits action, or when it
 *         succeeded at the provider first; "cancel_unsupported" when the
 *         provider cannot cancel; "no_provider"); the provider's error when
 *         it could not be asked (nothing changed)
 */
BILLING_EXTERN(int) billing_payment_cancel(billing_payment **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts);

BILLING_EXTERN(const char *) billing_payment_id(const billing_payment *p);
BILLING_EXTERN(const char *) billing_payment_invoice_id(const billing_payment *p);
BILLING_EXTERN(const char *) billing_payment_customer_id(const billing_payment *p);
BILLING_EXTERN(billing_payment_status) billing_payment_status_of(const billing_payment *p);
BILLING_EXTERN(int64_t) billing_payment_amount(const billing_payment *p);
BILLING_EXTERN(const char *) billing_payment_currency(const billing_payment *p);
BILLING_EXTERN(int64_t) billing_payment_refunded_amount(const billing_payment *p);
/** "test", "stripe". */
BILLING_EXTERN(const char *) billing_payment_provider(const billing_payment *p);
/** The provider's id ("pi_..."); NULL until it gave one. */
BILLING_EXTERN(const char *) billing_payment_provider_ref(const billing_payment *p);
BILLING_EXTERN(const char *) billing_payment_method(const billing_payment *p);
/** The decline or error code; NULL unless failed. */
BILLING_EXTERN(const char *) billing_payment_failure_code(const billing_payment *p);
BILLING_EXTERN(const char *) billing_payment_failure_message(const billing_payment *p);
BILLING_EXTERN(int64_t) billing_payment_created_at(const billing_payment *p);
BILLING_EXTERN(int64_t) billing_payment_updated_at(const billing_payment *p);
BILLING_EXTERN(int64_t) billing_payment_version(const billing_payment *p);
/** While the payment awaits the customer's action (requires_action), what
 *  the front end must do, as the provider said; NULL otherwise (and with a
 *  provider older than vtable version 3): "use_stripe_sdk" (Stripe.js
 *  handleNextAction with the client secret) or "redirect_to_url". */
BILLING_EXTERN(const char *) billing_payment_next_action_type(const billing_payment *p);
/** redirect_to_url: where to send the customer; NULL otherwise. */
BILLING_EXTERN(const char *) billing_payment_next_action_url(const billing_payment *p);
/** The provider's client secret of this payment (Stripe: the
 *  PaymentIntent's client_secret), while it awaits action; NULL otherwise.
 *  A credential of this payment only: give it to the customer's front end,
 *  never log it. */
BILLING_EXTERN(const char *) billing_payment_client_secret(const billing_payment *p);
BILLING_EXTERN(void) billing_payment_free(billing_payment *p);

/* ------------------------------------------------------------ dunning */

#define BILLING_DUNNING_MAX_RETRIES 12

typedef enum {
	BILLING_DUNNING_CANCEL = 1,        /**< cancel the subscription (default) */
	BILLING_DUNNING_UNPAID = 2,        /**< mark it unpaid: renewals go on, their
	                                        invoices are not collected automatically;
	                                        paying an invoice makes it active */
	BILLING_DUNNING_KEEP_PAST_DUE = 3  /**< leave it past_due: no more automatic
	                                        tries of this invoice; it can still be
	                                        paid by hand, and renewals are collected */
} billing_dunning_action;

/** A tenant's retry policy for failed renewals. */
typedef struct {
	size_t retry_count;                              /**< 0..BILLING_DUNNING_MAX_RETRIES */
	int32_t retry_days[BILLING_DUNNING_MAX_RETRIES]; /**< days after the first failure,
	                                                      increasing, 1..365 */
	billing_dunning_action final_action;
} billing_dunning_policy;

/** The tenant's policy; the default (retries after 1, 3, 5 and 7 days, then
 *  cancel) until one is set. */
BILLING_EXTERN(int) billing_dunning_get(billing_dunning_policy *out, billing_ctx *ctx,
	const billing_principal *who);

/** Sets the tenant's policy (ADMIN). Invoices already failing keep the
 *  retry times they were given. BILLING_EINVALID with field "retryDays" or
 *  "finalAction". */
BILLING_EXTERN(int) billing_dunning_set(billing_ctx *ctx, const billing_principal *who,
	const billing_dunning_policy *policy);

/** Longest expiry a tenant may set for payments awaiting action: 30 days. */
#define BILLING_DUNNING_ACTION_EXPIRY_MAX (30 * 86400)

/** The tenant's own time, in seconds, that a payment may await the
 *  customer's action (3-D Secure) before the billing run cancels it at the
 *  provider as failed (authentication_expired) and dunning goes on; *out
 *  is 0 when the tenant set none: then the host's
 *  billing_ctx_options.payment_action_expiry applies (else 23 hours). Part
 *  of the tenant's collection settings beside billing_dunning_policy
 *  (which has no version to grow by: hence its own calls). */
BILLING_EXTERN(int) billing_dunning_action_expiry(int64_t *out, billing_ctx *ctx,
	const billing_principal *who);

/** Sets it (ADMIN): 60..BILLING_DUNNING_ACTION_EXPIRY_MAX seconds, or 0 for
 *  the host's default; BILLING_EINVALID with field "actionExpirySeconds".
 *  Applies to payments awaiting action now and later: one older than the
 *  new time expires at the next billing run. billing_dunning_set() keeps it. */
BILLING_EXTERN(int) billing_dunning_set_action_expiry(billing_ctx *ctx,
	const billing_principal *who, int64_t seconds);

/* ------------------------------------------------------------ inbound webhooks */

/** One header of an inbound request (names compare case-insensitively). */
typedef struct billing_header {
	const char *name;
	const char *value;
} billing_header;

/** What billing_provider_webhook_handle() did. */
typedef enum {
	BILLING_WEBHOOK_APPLIED = 1,    /**< the event changed a payment */
	BILLING_WEBHOOK_DUPLICATE = 2,  /**< seen before: nothing done */
	BILLING_WEBHOOK_IGNORED = 3     /**< a type or a state change that needs nothing */
} billing_webhook_outcome;

typedef struct {
	billing_webhook_outcome outcome;
	char event_id[128];
	char tenant_id[64];             /**< "" when the event named none */
	char payment_id[64];
} billing_webhook_result;

/**
 * Verifies an inbound provider webhook (raw body, request headers) with the
 * context's provider, and applies it: deduplicated by the provider's event
 * id in the same transaction that applies it; the tenant comes from our
 * metadata on the payment, and the payment's invoice, amount and currency
 * must match it before anything changes.
 *
 * @return BILLING_OK (see result->outcome); BILLING_EINVALID (reason
 *         "signature": not from the provider, or too old or too new;
 *         "malformed"; "amount_mismatch" / "currency_mismatch" /
 *         "invoice_mismatch": nothing was changed); BILLING_ENOTFOUND when
 *         the payment it names is not one of that tenant's
 */
BILLING_EXTERN(int) billing_provider_webhook_handle(billing_ctx *ctx,
	const billing_header *headers, size_t nheaders, const char *body, size_t len,
	billing_webhook_result *result);

/**
 * The same for a tenant's own webhook route: verified with that tenant's
 * provider account (its own webhook secret; the server's when it has
 * none, billing/provider_account.h), and applied to that tenant only. On
 * both routes an event from a connected account must come from the
 * account the tenant's provider account names, and a tenant with its own
 * webhook secret takes events only here.
 *
 * @return as billing_provider_webhook_handle, plus BILLING_EINVALID reason
 *         "tenant_mismatch" (the event names another tenant),
 *         "account_mismatch" (from another connected account than the
 *         tenant's), "tenant_route_required" (server-wide route for a
 *         tenant with its own secret), "secret_unreadable";
 *         BILLING_ENOTFOUND for an ill-formed tenant id
 */
BILLING_EXTERN(int) billing_provider_webhook_handle_tenant(billing_ctx *ctx,
	const char *tenant_id, const billing_header *headers, size_t nheaders, const char *body,
	size_t len, billing_webhook_result *result);

BILLING_END_DECL

#endif
