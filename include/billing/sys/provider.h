/**
 * @file billing/sys/provider.h
 * @brief The payment provider vtable, for authors of payment providers.
 *
 * A provider moves money; it knows no billing rule. The core calls it
 * outside any storage transaction: it writes the payment attempt first
 * (committed), then asks the provider, then records the answer in a second
 * transaction. Every call that can move money carries an idempotency key
 * derived from the attempt, and a provider must make a repeated call with
 * the same key return the first call's outcome without moving money again
 * (Stripe's Idempotency-Key; the test provider keeps its own table). That
 * is what lets the core resolve a lost answer by asking again.
 *
 * Outcomes, not errors: charge() and refund() return BILLING_OK whenever the
 * provider reached a decision or may have reached one, and put it in the
 * result: SUCCEEDED, FAILED (a decline or a refused request, with the
 * provider's code), PENDING (processing; retrieve() later),
 * REQUIRES_ACTION (the customer must authenticate), or UNKNOWN (the answer
 * was lost after the request may have arrived: a timeout, a dropped
 * connection, retries exhausted). A negative return means the request was
 * certainly not made (out of memory, a request the provider cannot
 * express); the core then records the attempt as failed with the error's
 * reason as its code.
 *
 * Versioning: the vtable starts with its version and only grows at its end.
 * A provider never logs or returns its secret keys.
 */
#ifndef BILLING_SYS_PROVIDER_H
#define BILLING_SYS_PROVIDER_H

#include "../common.h"
#include "../ctx.h"
#include "../payment.h"

BILLING_BEGIN_DECL

/* 1: charge, retrieve, refund, webhook_parse. 2: find; results carry our
 * metadata (payment_id, tenant_id). 3: stored payment methods
 * (customer_create, setup_intent_create, payment_method_attach,
 * payment_method_detach); results say why a payment failed (failure_class,
 * http_status); with_account (a provider account per tenant), events carry
 * the connected account they came from; cancel (a payment awaiting the
 * customer's action); later additions of this session append to 3. */
#define BILLING_PROVIDER_VERSION 3

/** Sizes of the fixed buffers of results and events. */
#define BILLING_PROVIDER_REF_MAX 128
#define BILLING_PROVIDER_CODE_MAX 64
#define BILLING_PROVIDER_MESSAGE_MAX 256

/** One payment to make. Strings are borrowed for the call. */
typedef struct {
	const char *tenant_id;
	const char *payment_id;        /**< our attempt id: metadata[payment_id] */
	const char *invoice_id;        /**< metadata[invoice_id] */
	const char *customer_id;       /**< our customer id */
	const char *customer_ref;      /**< the provider's customer id, or NULL */
	const char *payment_method;    /**< the payment method token */
	int64_t amount;                /**< minor units, > 0 */
	const char *currency;          /**< ISO 4217, upper case */
	const char *idempotency_key;   /**< the same for every try of this attempt */
	int off_session;               /**< 1 when the customer is not present (renewals) */
	const char *description;       /**< "Invoice INV-000042", or NULL */
} billing_provider_charge;

/** One refund to make of a succeeded payment. */
typedef struct {
	const char *tenant_id;
	const char *payment_id;
	const char *refund_id;         /**< our refund id */
	const char *payment_ref;       /**< the provider's payment id */
	int64_t amount;                /**< minor units, > 0 */
	const char *currency;
	const char *idempotency_key;
} billing_provider_refund;

/**
 * Version 3: why a FAILED result failed. A decline is the customer's
 * (the card was refused: dunning follows); a configuration error is the
 * merchant's (the provider refused *us*: a revoked or wrong key, a missing
 * permission, a request it will never accept, a currency the account cannot
 * take). The core never feeds the customer's dunning with the second: the
 * attempt stays retryable and collection for the tenant pauses until the
 * provider accepts a probe (docs/payments.md, "Provider health").
 */
typedef enum {
	BILLING_PROVIDER_FAILURE_UNSPECIFIED = 0, /**< not said (versions 1, 2): a decline */
	BILLING_PROVIDER_FAILURE_DECLINE = 1,     /**< the payment was refused */
	BILLING_PROVIDER_FAILURE_CONFIG = 2       /**< the provider refused the merchant's request */
} billing_provider_failure;

/** What the provider said. */
typedef struct {
	billing_payment_status status; /**< PENDING, REQUIRES_ACTION, SUCCEEDED, FAILED, UNKNOWN
	                                    (CANCELED: cancel() only) */
	char ref[BILLING_PROVIDER_REF_MAX];               /**< its id ("pi_..."), "" if none */
	char failure_code[BILLING_PROVIDER_CODE_MAX];     /**< decline code or error type */
	char failure_message[BILLING_PROVIDER_MESSAGE_MAX]; /**< for humans, no secrets */
	int64_t amount;                /**< the amount it reports, 0 when it said none */
	char currency[4];              /**< upper case, "" when it said none */
	/* Version 2: our metadata on the provider's payment as it reports it,
	 * "" when it said none. The core compares them (and amount and
	 * currency) with what it asked for before believing an answer. */
	char payment_id[64];           /**< metadata[payment_id] */
	char tenant_id[64];            /**< metadata[tenant_id] */
	/* Version 3. */
	billing_provider_failure failure_class; /**< FAILED: a decline or a configuration error */
	int http_status;               /**< the provider's HTTP status of the answer, 0 when none */
	/* Version 3, REQUIRES_ACTION: what the front end needs to let the
	 * customer authenticate ("" when the provider said none). The client
	 * secret is a credential of this payment only: the core stores it on
	 * the payment and returns it to the tenant's callers, never logs it. */
	char next_action_type[32];     /**< "use_stripe_sdk", "redirect_to_url" */
	char client_secret[BILLING_PROVIDER_MESSAGE_MAX]; /**< Stripe's client_secret */
	char redirect_url[512];        /**< redirect_to_url.url */
} billing_provider_result;

/** The provider-neutral kinds of inbound events. */
typedef enum {
	BILLING_PROVIDER_EVENT_IGNORED = 0,    /**< a type the library does not act on */
	BILLING_PROVIDER_EVENT_PAYMENT_SUCCEEDED,
	BILLING_PROVIDER_EVENT_PAYMENT_FAILED,
	BILLING_PROVIDER_EVENT_PAYMENT_PROCESSING,
	BILLING_PROVIDER_EVENT_PAYMENT_REQUIRES_ACTION,
	BILLING_PROVIDER_EVENT_PAYMENT_CANCELED,
	BILLING_PROVIDER_EVENT_CHARGE_REFUNDED,
	BILLING_PROVIDER_EVENT_DISPUTE_CREATED,
	BILLING_PROVIDER_EVENT_DISPUTE_UPDATED, /**< charge.dispute.updated */
	BILLING_PROVIDER_EVENT_DISPUTE_CLOSED   /**< charge.dispute.closed: won or lost */
} billing_provider_event_type;

/** An inbound event, verified and parsed. Fixed buffers: no allocation. */
typedef struct {
	char id[BILLING_PROVIDER_REF_MAX];          /**< the provider's event id: the dedup key */
	char type_name[BILLING_PROVIDER_CODE_MAX];  /**< "payment_intent.succeeded" */
	billing_provider_event_type type;
	int64_t created;                            /**< when the provider made it */
	char ref[BILLING_PROVIDER_REF_MAX];         /**< the payment's id at the provider */
	/* Our metadata on the payment, "" when absent. */
	char tenant_id[64];
	char payment_id[64];
	char invoice_id[64];
	int64_t amount;                             /**< the payment's amount */
	char currency[4];                           /**< upper case */
	int64_t amount_refunded;                    /**< charge.refunded: all refunded so far */
	char failure_code[BILLING_PROVIDER_CODE_MAX];
	char failure_message[BILLING_PROVIDER_MESSAGE_MAX];
	char dispute_id[BILLING_PROVIDER_REF_MAX];  /**< charge.dispute.* */
	char dispute_reason[BILLING_PROVIDER_CODE_MAX];
	int64_t dispute_amount;
	/* charge.dispute.* (appended): Stripe's dispute status
	 * ("needs_response", "won", ...; "" when absent) and
	 * evidence_details.due_by (UTC seconds; 0 when none). */
	char dispute_status[BILLING_PROVIDER_CODE_MAX];
	int64_t dispute_evidence_due_by;
	/* Version 3: the connected account the event happened on (Stripe's
	 * top-level "account" of a Connect event), "" when none. */
	char account[BILLING_PROVIDER_REF_MAX];
} billing_provider_event;

/** Version 3: a customer, a SetupIntent or a payment method of one of our
 *  customers at the provider. Strings are borrowed for the call. */
typedef struct {
	const char *tenant_id;         /**< metadata[tenant_id] */
	const char *customer_id;       /**< our customer id: metadata[customer_id] */
	const char *customer_ref;      /**< the provider's customer id ("cus_..."), or NULL */
	const char *email;             /**< the customer's e-mail (customer_create), or NULL */
	const char *idempotency_key;   /**< the same for every try of this call */
} billing_provider_customer;

/** Version 3: what the provider said about a SetupIntent. */
typedef struct {
	char ref[BILLING_PROVIDER_REF_MAX];           /**< "seti_..." */
	/** What the front end confirms the SetupIntent with. A secret of the
	 *  customer's: handed to the caller, never logged or stored. */
	char client_secret[BILLING_PROVIDER_MESSAGE_MAX];
	char status[BILLING_PROVIDER_CODE_MAX];       /**< "requires_payment_method", ... */
} billing_provider_setup_intent;

/** Version 3: a stored payment method as the provider describes it; never
 *  the card number. */
typedef struct {
	char ref[BILLING_PROVIDER_REF_MAX];           /**< "pm_..." */
	char type[BILLING_PROVIDER_CODE_MAX];         /**< "card" */
	char brand[BILLING_PROVIDER_CODE_MAX];        /**< "visa", "mastercard", ... */
	char last4[8];                                /**< the last four digits */
	int exp_month;                                /**< 1..12 */
	int exp_year;                                 /**< four digits */
	char customer_ref[BILLING_PROVIDER_REF_MAX];  /**< the customer it is attached to */
} billing_provider_payment_method;

#define BILLING_PROVIDER_ACCOUNT_VERSION 1

/**
 * Version 3. One tenant's own configuration at the provider, as the core
 * resolves it for every call made for that tenant (billing/provider_account.h).
 * NULL / 0 members keep the provider's own (server-wide) setting. Strings
 * are borrowed for the with_account() call; the provider copies them.
 */
typedef struct {
	unsigned int version;          /**< BILLING_PROVIDER_ACCOUNT_VERSION */
	const char *api_key;           /**< the tenant's own secret key, or NULL */
	/** the tenant's own webhook signing secrets, or none */
	const char *const *webhook_secrets;
	size_t webhook_secret_count;
	/** a connected account the provider acts on (Stripe-Account), or NULL */
	const char *account;
} billing_provider_account;



/** The provider vtable. Embed it as the first member of the provider's struct.
 *  Every method may be called from several threads at once. `now` is the
 *  context's clock (UTC seconds). */
struct billing_provider {
	unsigned int version;          /**< BILLING_PROVIDER_VERSION it was built for */
	const char *name;              /**< "test", "stripe": stored on each payment */

	/** Releases everything. Called by billing_ctx_close(). */
	void (*free)(billing_provider *p);

	/** Creates and confirms a payment (idempotent by req->idempotency_key). */
	int (*charge)(billing_provider *p, const billing_provider_charge *req, int64_t now,
		billing_provider_result *out);

	/** The current state of a payment by the provider's id. */
	int (*retrieve)(billing_provider *p, const char *ref, int64_t now,
		billing_provider_result *out);

	/** Refunds part or all of a payment (idempotent by the key). out->ref is
	 *  the refund's id at the provider. */
	int (*refund)(billing_provider *p, const billing_provider_refund *req, int64_t now,
		billing_provider_result *out);

	/**
	 * Verifies an inbound webhook request against the provider's secrets and
	 * parses it. BILLING_EINVALID with reason "signature" when the signature
	 * is missing, wrong or outside the tolerance of now; reason "malformed"
	 * when the body is not an event. The body is the raw request body.
	 */
	int (*webhook_parse)(billing_provider *p, const billing_header *headers, size_t nheaders,
		const char *body, size_t len, int64_t now, billing_provider_event *out);

	/**
	 * Version 2; NULL: not supported. Finds the payment the provider holds
	 * for our attempt req->payment_id (our metadata on it), without making
	 * one: how the core resolves an attempt whose answer was lost once the
	 * idempotency key may have expired at the provider (Stripe keeps keys
	 * about 24 hours; after that the same key would charge again).
	 * BILLING_OK with out filled when found; BILLING_ENOTFOUND when the
	 * provider certainly holds none; any other negative code when it could
	 * not be asked (the core asks again later).
	 */
	int (*find)(billing_provider *p, const billing_provider_charge *req, int64_t now,
		billing_provider_result *out);

	/**
	 * Version 3; NULL: not supported (stored payment methods are then
	 * refused). Makes the provider's customer for our customer req->customer_id
	 * (metadata customer_id, tenant_id), idempotent by req->idempotency_key;
	 * its id goes to ref (at least BILLING_PROVIDER_REF_MAX bytes).
	 */
	int (*customer_create)(billing_provider *p, const billing_provider_customer *req,
		int64_t now, char *ref);

	/**
	 * Version 3; NULL: not supported. Makes a SetupIntent for off-session
	 * use by the provider's customer req->customer_ref (required), which
	 * the front end confirms with the client secret to store a card.
	 */
	int (*setup_intent_create)(billing_provider *p, const billing_provider_customer *req,
		int64_t now, billing_provider_setup_intent *out);

	/**
	 * Version 3; NULL: not supported. Reads the payment method ref and
	 * attaches it to req->customer_ref unless it is attached to it already.
	 * BILLING_ENOTFOUND (reason resource_missing) when the provider has no
	 * such payment method; BILLING_ECONFLICT (reason attached_elsewhere)
	 * when it belongs to another customer; BILLING_EDECLINED when the
	 * provider refuses it (an expired card).
	 */
	int (*payment_method_attach)(billing_provider *p, const billing_provider_customer *req,
		const char *ref, int64_t now, billing_provider_payment_method *out);

	/**
	 * Version 3; NULL: not supported. Detaches the payment method ref from
	 * req->customer_ref (idempotent by req->idempotency_key); one that is
	 * unknown or attached to none is BILLING_OK (detaching is what the
	 * caller wanted).
	 */
	int (*payment_method_detach)(billing_provider *p, const billing_provider_customer *req,
		const char *ref, int64_t now);

	/**
	 * Version 3; NULL: the provider has no accounts per tenant. A new
	 * provider like p (same API base, transport, timeouts, retries) that
	 * acts with acct's settings where acct gives them: its key, its webhook
	 * secrets, and for a connected account every request on that account
	 * (Stripe: the Stripe-Account header). The caller frees it with its
	 * free(); p must outlive it. BILLING_EINVALID naming the member
	 * ("apiKey", "account", "webhookSecret") when acct is unusable.
	 */
	int (*with_account)(billing_provider *p, const billing_provider_account *acct,
		billing_provider **out);

	/**
	 * Version 3; NULL: not supported. Cancels the payment ref (Stripe:
	 * cancel the PaymentIntent) that awaits the customer's action, so that
	 * it can never be captured. BILLING_OK with out filled: status
	 * BILLING_PAYMENT_CANCELED when it is canceled (or was already), or
	 * the payment's own status when it moved on and can no longer be
	 * canceled (it succeeded just before: the core records that instead);
	 * a negative code when the provider could not be asked (nothing is
	 * known to have changed; the core does not record anything).
	 * idempotency_key is the same for every try of one cancellation.
	 */
	int (*cancel)(billing_provider *p, const char *ref, const char *idempotency_key,
		int64_t now, billing_provider_result *out);

	/* later versions append methods here */
};

BILLING_END_DECL

#endif
