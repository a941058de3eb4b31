/*
 * What the billing run needs from payments, and what the files of payments
 * share (payment.c, payment_attempt.c, payment_ask.c, payment_action.c, payment_refund.c,
 * payment_events.c, dunning.c).
 *
 * The run's part: the three kinds of due work
 * that talk to the provider ("collect" an invoice, resolve a "payment"
 * whose answer is pending or lost, resolve a "refund"), each split in two
 * around the provider call, which never runs inside a transaction.
 *
 * begin: inside the run's transaction (already claimed and moved to the
 * tenant): writes what is about to be asked (the attempt, and a lease: the
 * item's due time moved BILLING__PAYMENT_LEASE seconds ahead, so that a crash before the
 * answer is recorded leaves work that asks again with the same key) and
 * fills the attempt. attempt->what is BILLING__ATTEMPT_NONE when there is
 * nothing to ask. After the commit, billing__attempt_run asks and records.
 */
#ifndef BILLING_CORE_PAYMENT_INTERNAL_H
#define BILLING_CORE_PAYMENT_INTERNAL_H

#include "core/core.h"
#include "billing/sys/provider.h"

#define BILLING__DUE_COLLECT "collect"
#define BILLING__DUE_PAYMENT "payment"
#define BILLING__DUE_REFUND "refund"

#define BILLING__PAYMENT_LEASE 300  /* seconds an attempt being asked is held */
/* An attempt whose answer was lost is asked again with its key only this
 * long after it was made: providers forget keys (Stripe after about 24 h,
 * and then the same key charges again). Later it is found by our metadata
 * (provider find()), never charged again. Issue #18 item 1. */
#define BILLING__PAYMENT_SAFE_WINDOW (20 * 3600)

typedef enum {
	BILLING__ATTEMPT_NONE = 0,
	BILLING__ATTEMPT_CHARGE,       /* create/confirm (again, same key) */
	BILLING__ATTEMPT_RETRIEVE,     /* ask for the state of a known payment */
	BILLING__ATTEMPT_REFUND,
	BILLING__ATTEMPT_FIND,         /* look the attempt up by our metadata (lost
	                                  answer older than the safe window) */
	BILLING__ATTEMPT_CANCEL        /* cancel an attempt awaiting action */
} billing__attempt_what;

/* How long an attempt may await the customer's action (3-D Secure) before
 * the billing run cancels it as failed, authentication_expired (issue #18
 * item 4); billing_ctx_options.payment_action_expiry overrides it, and the
 * tenant's own time (billing_dunning_set_action_expiry) overrides that. */
#define BILLING__PAYMENT_ACTION_EXPIRY (23 * 3600)

typedef struct {
	billing__attempt_what what;
	char tenant_id[BILLING_ID_MAX];
	char payment_id[BILLING_ID_MAX];
	char invoice_id[BILLING_ID_MAX];
	char customer_id[BILLING_ID_MAX];
	char refund_id[BILLING_ID_MAX];
	char currency[4];
	char payment_method[256];
	char customer_ref[256];
	char ref[BILLING_PROVIDER_REF_MAX];
	char key[BILLING_ID_MAX];
	char description[200];
	int64_t amount;
	int off_session;
	/* CANCEL: 1 when the attempt expired (recorded as failed,
	 * authentication_expired, when the provider canceled it). */
	int expire;
	/* billing_invoice_pay refused with payment_in_progress: this attempt
	 * awaits action and is superseded (canceled first); "" otherwise. */
	char supersede[BILLING_ID_MAX];
} billing__attempt;

int billing__collect_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, int64_t now, billing__attempt *a);
int billing__payment_resolve_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *payment_id, int64_t now, billing__attempt *a);
/* Inside tx: a refund of amount (0: all that is left) of the succeeded
 * payment, written pending with its due work (the promise that the
 * billing run asks the provider should the caller not), the payment held
 * for update; *a receives the attempt to run (billing__attempt_run) once
 * tx commits, keyed by the refund's id. BILLING_ECONFLICT
 * ("invalid_transition", "refund_in_progress", "no_provider_ref"),
 * BILLING_EINVALID (field "amount": more than is left). billing_payment_refund
 * and credit notes (credit_note.c). */
int billing__refund_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *payment_id, int64_t amount, int64_t now, billing__attempt *a);
int billing__refund_resolve_begin(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *refund_id, int64_t now, billing__attempt *a);

/* Asks the provider (no transaction held) and records the answer in a
 * transaction of its own. res (may be NULL) receives the answer. */
/* The provider has find() (vtable version 2). */
int billing__provider_can_find(const billing_provider *pv);
/* The provider has cancel() (vtable version 3). */
int billing__provider_can_cancel(const billing_provider *pv);
/* Sets a->key to the key of a cancellation of a->payment_id. */
void billing__attempt_cancel_key(billing__attempt *a);
int billing__attempt_run(billing_ctx *ctx, const billing__attempt *a,
	billing_provider_result *res);

/* Inline collection right after a call that issued an invoice committed:
 * the same as the run's "collect" work for that invoice, if it is due. */
void billing__collect_now(billing_ctx *ctx, const char *tenant_id, const char *invoice_id);

/* Inside a transaction: BILLING_ECONFLICT "payment_in_progress" when an
 * attempt of the invoice is in flight (a void must wait for it, or
 * cancel it first: billing__invoice_cancel_action). */
int billing__invoice_payments_settled(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id);

/* Cancels at the provider the attempt of the invoice that awaits the
 * customer's action, if there is one (a void supersedes it). 1 when it
 * was canceled (or found settled at the provider: the outcome is
 * recorded), 0 when there was none, < 0 on error. */
int billing__invoice_cancel_action(billing_ctx *ctx, const char *tenant_id,
	const char *invoice_id);

/* The attempts of an invoice that are in flight (inside a transaction). */
typedef struct {
	int count;
	int status;                    /* of the last one seen */
	char id[BILLING_ID_MAX];
} billing__in_flight;
int billing__invoice_in_flight(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, billing__in_flight *f);

/* payment_action.c: attempts that await the customer's action. */
/* Inside tx: the seconds an attempt of the tenant may await action before
 * it expires. */
int billing__payment_action_expiry(int64_t *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id);
/* Inside tx: 1 when p awaits action past the expiry and the provider can
 * cancel it, 0 when not, < 0 on error. */
int billing__payment_action_expired(billing_ctx *ctx, billing_txn *tx, const billing_payment *p,
	int64_t now);
/* dunning.c: writes the tenant's policy (NULL: keeps it) and its expiry of
 * payments awaiting action (< 0: keeps it) in one transaction. */
int billing__dunning_put(billing_ctx *ctx, const billing_principal *who,
	const billing_dunning_policy *policy, int64_t action_expiry);
/* dunning.c: the tenant's own expiry (0: none set), read in tx. */
int billing__dunning_action_expiry(int64_t *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id);
/* The provider's answer to the cancellation of an expired attempt: a
 * cancellation becomes a failure, authentication_expired. */
void billing__payment_action_expired_result(billing_provider_result *res);
/* Inside tx: loads into inv->action the attempt of inv in flight that
 * awaits the customer's action, if there is one (an open invoice that was
 * attempted); else leaves it NULL. */
int billing__invoice_action_load(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv);
/* Cancels payment_id (awaiting action) at the provider and records the
 * outcome; idem may be NULL. */
int billing__payment_cancel_run(billing_ctx *ctx, const char *tenant_id, const char *payment_id,
	billing__idem *idem);

/* ------------------------------------------------------------ shared by payments */

struct billing_payment {
	char *tenant_id;
	char *id;
	char *invoice_id;
	char *customer_id;
	char *currency;
	char *provider;
	char *provider_ref;
	char *payment_method;
	char *failure_code;
	char *failure_message;
	char *next_action_type;        /* requires_action only, else NULL */
	char *next_action_url;
	char *client_secret;
	billing_payment_status status;
	int64_t amount, amount_refunded, amount_refunding;
	int off_session;
	int64_t created_at, updated_at, version;
};

/* payment.c: the record. */

/* Pending, requiring action or unknown: an answer is still to come. */
bool billing__payment_in_flight(int status);
/* A new billing_payment (one block) from a billing_payment_record; NULL
 * when out of memory. */
void *billing__payment_from_record(const void *record);
/* BILLING_ECONFLICT "no_provider". */
int billing__payment_no_provider(void);
int billing__payment_save(billing_ctx *ctx, billing_txn *tx, billing_payment *p,
	const char *event);
int billing__payment_load(billing_payment **out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id);
/* In its own read transaction. */
int billing__payment_read(billing_payment **out, billing_ctx *ctx, const char *tenant_id,
	const char *id);
int billing__payment_due(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *kind, const char *id, int64_t when);
int64_t billing__payment_ask_again_at(int64_t created, int64_t now);
int billing__payment_move(billing_ctx *ctx, billing_txn *tx, billing_payment *p,
	const billing_provider_result *res, int64_t now);

/* dunning.c: after a failed automatic attempt of inv, the policy's next
 * retry or its final action. */
int billing__dunning_next(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv, int64_t now);

/* payment_attempt.c: what a charge (or refund) of p asks, into a. */
void billing__attempt_fill(billing__attempt *a, billing__attempt_what what,
	const billing_payment *p, const char *customer_ref, const char *number);

/* payment_refund.c: records what the provider said of a->refund_id. */
int billing__refund_apply(billing_ctx *ctx, billing_txn *tx, const billing__attempt *a,
	const billing_provider_result *res, int64_t now);

/* ------------------------------------------------------------ provider health */

/* provider_health.c (issue #18 item 2). Inside the tenant's transaction:
 * *defer_until is 0 when the tenant's collection may ask the provider now
 * (healthy, or this attempt is the probe of a paused tenant), else when to
 * come back. */
int billing__provider_health_gate(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	int64_t now, int64_t *defer_until);
/* A configuration error (res): the tenant is paused (provider.unhealthy
 * on the transition), *next_probe_at is when to try again. */
int billing__provider_health_failed(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const billing_provider_result *res, int64_t now, int64_t *next_probe_at);
/* The provider answered a question of the tenant: a paused tenant is
 * healthy again (provider.healthy). */
int billing__provider_health_answered(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	int64_t now);
/* Counts a failed answer by class for billing_provider_error_counts_get. */
void billing__provider_count(billing_ctx *ctx, const billing_provider_result *res);
/* A pending attempt the provider refused as a configuration error: it
 * was never made there, and waits for the tenant's probe. */
bool billing__payment_config_paused(const billing_payment *p);

#endif
