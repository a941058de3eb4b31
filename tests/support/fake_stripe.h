/*
 * A fake Stripe API for tests: libmicrohttpd on 127.0.0.1 with an
 * ephemeral port, in the test's own process (one thread per connection).
 *
 * It serves what the Stripe provider calls, checking what real Stripe
 * would (and a little more, to catch a client that forgets something):
 *   POST /v1/payment_intents        form body; amount, currency,
 *                                   payment_method, confirm=true required;
 *                                   customer, off_session, description,
 *                                   metadata[...] allowed; anything else is
 *                                   400 parameter_unknown; as at Stripe,
 *                                   BHD, JOD, KWD, OMR, TND amounts must end
 *                                   in 0 and ISK amounts be multiples of 100
 *                                   (else 400)
 *   GET  /v1/payment_intents/{id}   404 resource_missing when unknown
 *   GET  /v1/payment_intents/search query=metadata['payment_id']:'<id>' only
 *                                   (anything else 400): a search_result of
 *                                   the PaymentIntents with that metadata
 *   POST /v1/payment_intents/{id}/cancel  cancellation_reason only; a
 *                                   PaymentIntent succeeded or canceled already
 *                                   is 400 payment_intent_unexpected_state (with
 *                                   the PaymentIntent in the error), as Stripe
 *   POST /v1/refunds                payment_intent, amount (default: what is
 *                                   left), metadata[...]; more than is left is
 *                                   400 invalid_request_error (param amount)
 *   POST /v1/customers              email, metadata[...]: cus_fake_<n>
 *   POST /v1/setup_intents          customer (must exist: else 400
 *                                   resource_missing), usage (off_session or
 *                                   on_session), payment_method_types[] (card)
 *   GET  /v1/payment_methods/{id}   the test PaymentMethods below (brand,
 *                                   last4, exp_month, exp_year, customer);
 *                                   unknown: 404 resource_missing; the first
 *                                   three with "_exp_YYYY_MM" expire then
 *                                   (else 12/2099)
 *   POST .../{id}/attach            customer (must exist); attached to
 *                                   another: 400 payment_method_unexpected_state
 *   POST .../{id}/detach            not attached: 400
 *                                   payment_method_unexpected_state
 * A PaymentIntent of an attached PaymentMethod needs its customer (400).
 * Every request needs "Authorization: Bearer <key>" (else 401, with a
 * masked key in the message, as Stripe does) and a Stripe-Version header;
 * the key is the one given to fake_stripe_start or one added with
 * fake_stripe_add_key (another Stripe account's). As at Stripe, what a
 * request makes belongs to its key and Stripe-Account header together:
 * PaymentIntents, refunds of them, searches and idempotency keys of one
 * (key, account) are invisible to every other ("No such payment_intent");
 * every POST needs an Idempotency-Key and a form Content-Type (else 400).
 *
 * Outcomes follow the payment method, as with the test provider:
 *   pm_card_visa, any other pm_...   succeeded
 *   pm_card_chargeDeclined           402 card_error, code and decline_code
 *                                    card_declined
 *   pm_card_insufficientFunds        402 card_error, code card_declined,
 *                                    decline_code insufficient_funds
 *   pm_card_authenticationRequired   200, status requires_action, with
 *                                    next_action (use_stripe_sdk); every
 *                                    PaymentIntent carries a client_secret
 *   pm_card_threeDSecureRedirect     200, requires_action, next_action
 *                                    redirect_to_url (a url)
 *   pm_card_processing               200, status processing
 *   not pm_...                       400 resource_missing (param payment_method)
 * A declined PaymentIntent exists too (status requires_payment_method), as
 * at Stripe. Idempotency as Stripe: a key seen before with the same method,
 * path and parameters replays the stored answer (header
 * Idempotent-Replayed: true; 2xx and 402 answers are stored); with other
 * parameters it is 400 idempotency_error. Keys are
 * kept FAKE_STRIPE_KEY_SECONDS (24 h, as Stripe) of the fake's clock
 * (fake_stripe_set_now): after that the same key creates a new
 * PaymentIntent, as at Stripe. Every answer carries
 * "Connection: close", so each try is one connection and counts are exact.
 *
 * All functions may be called from the test's thread while the server
 * runs; the state is behind one mutex.
 */
#ifndef BILLING_TESTS_FAKE_STRIPE_H
#define BILLING_TESTS_FAKE_STRIPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fake_stripe fake_stripe;
struct billing_provider;

/* Starts a server that accepts api_key (copied). NULL when it cannot start. */
fake_stripe *fake_stripe_start(const char *api_key);

/* Stops the server (waking any slow answer) and frees everything. NULL is fine. */
void fake_stripe_stop(fake_stripe *fs);

/* "http://127.0.0.1:<port>": billing_stripe_options.api_base. Borrowed. */
const char *fake_stripe_url(const fake_stripe *fs);

/*
 * *out: a Stripe provider (billing_stripe_provider_new's result) that talks
 * to fs with api_key, as the suites want it: answers within 2 s, two retries
 * 1 ms apart; webhook_secret (may be NULL) verifies inbound events. The
 * caller owns it (usually through a world).
 */
int fake_stripe_provider(struct billing_provider **out, const fake_stripe *fs,
	const char *api_key, const char *webhook_secret);

/* Rolls the key the fake accepts (as a dashboard rolling the secret
 * key): a client still sending the old one gets 401 (issue #18 item 2);
 * setting the old one again lets it back in. */
void fake_stripe_set_api_key(fake_stripe *fs, const char *api_key);

/* How long the fake (and Stripe) keeps an idempotency key. */
#define FAKE_STRIPE_KEY_SECONDS (24 * 3600)

/* Sets the fake's clock (UTC seconds; 0: the system's): the time stamps
 * of idempotency keys and PaymentIntents. Tests set it with their
 * context's clock. */
void fake_stripe_set_now(fake_stripe *fs, int64_t now);

/* ------------------------------------------------------------ faults */

typedef enum {
	/* Answered without processing (nothing is created or stored): */
	FAKE_STRIPE_RATE_LIMIT = 1,    /* 429 rate_limit_error, code rate_limit */
	FAKE_STRIPE_SERVER_ERROR,      /* 500 api_error */
	FAKE_STRIPE_LOCK_TIMEOUT,      /* 409 invalid_request_error, code lock_timeout */
	FAKE_STRIPE_RAW,               /* status and body as given */
	/* The connection is closed with no answer: */
	FAKE_STRIPE_DROP_BEFORE,       /* the request is read, NOT processed */
	FAKE_STRIPE_DROP_AFTER,        /* the request IS processed (the PaymentIntent
	                                  or refund exists, the idempotency key holds
	                                  the answer), then the answer is lost */
	/* Processed, then answered late: */
	FAKE_STRIPE_SLOW               /* waits delay_ms after processing (longer
	                                  than the client's timeout: the client gives
	                                  up, the PaymentIntent exists) */
} fake_stripe_fault_kind;

/* The Stripe-Should-Retry header on a fault's answer (RATE_LIMIT,
 * SERVER_ERROR, LOCK_TIMEOUT, RAW). */
typedef enum {
	FAKE_STRIPE_NO_HEADER = 0,
	FAKE_STRIPE_RETRY_TRUE,        /* "Stripe-Should-Retry: true" */
	FAKE_STRIPE_RETRY_FALSE        /* "Stripe-Should-Retry: false" */
} fake_stripe_should_retry;

typedef struct {
	fake_stripe_fault_kind kind;
	fake_stripe_should_retry should_retry;
	long delay_ms;       /* SLOW */
	int status;          /* RAW */
	const char *body;    /* RAW (copied); NULL: "{}" */
} fake_stripe_fault;

/* The next n requests (of any kind, after those already scripted) get
 * fault; each is counted in fake_stripe_request_count(). */
void fake_stripe_fail_next(fake_stripe *fs, unsigned int n, const fake_stripe_fault *fault);

/* Forgets the faults not yet used. */
void fake_stripe_clear_faults(fake_stripe *fs);

/* ------------------------------------------------------------ what it saw */

/* Requests received (faulted ones too). */
size_t fake_stripe_request_count(fake_stripe *fs);

/* PaymentIntents created (declined ones too; replays create none). */
size_t fake_stripe_payment_intent_count(fake_stripe *fs);

/* The Idempotency-Key header of the n-th request (0-based; "" when it had
 * none). 1 if there was such a request. */
int fake_stripe_request_idempotency_key(fake_stripe *fs, size_t n, char *out, size_t size);

/* Accepts api_key (copied) too, as another Stripe account's key. */
void fake_stripe_add_key(fake_stripe *fs, const char *api_key);

/* The bearer key and the Stripe-Account header of the n-th request
 * (0-based; "" when it had none). 1 if there was such a request. */
int fake_stripe_request_auth(fake_stripe *fs, size_t n, char *key, size_t key_size,
	char *account, size_t account_size);

/* Who made a PaymentIntent: "<key>|<Stripe-Account>". 1 if it exists. */
int fake_stripe_payment_intent_owner(fake_stripe *fs, const char *pi_id, char *out,
	size_t size);

/* Searches answered (GET /v1/payment_intents/search). */
size_t fake_stripe_search_count(fake_stripe *fs);
/* Number of PaymentIntents canceled by POST .../cancel. */
size_t fake_stripe_cancel_count(fake_stripe *fs);

/* Customers created (POST /v1/customers, replays excluded). */
size_t fake_stripe_customer_count(fake_stripe *fs);

/* The customer PaymentMethod pm is attached to; 1 when attached, else 0. */
int fake_stripe_payment_method_customer(fake_stripe *fs, const char *pm, char *out, size_t size);

/* Refunds created. */
size_t fake_stripe_refund_count(fake_stripe *fs);

/* The last request (complete, faulted or not): method and path, a header
 * by name (case-insensitive) and a decoded form field by name
 * ("metadata[tenant_id]"). Each copies into out (NUL-terminated, cut to
 * size) and returns 1, or returns 0 when absent. */
int fake_stripe_last_method(fake_stripe *fs, char *out, size_t size);
int fake_stripe_last_path(fake_stripe *fs, char *out, size_t size);
int fake_stripe_last_header(fake_stripe *fs, const char *name, char *out, size_t size);
int fake_stripe_last_form(fake_stripe *fs, const char *name, char *out, size_t size);
/* Number of form fields of the last request. */
size_t fake_stripe_last_form_count(fake_stripe *fs);
/* The raw body of the last request ("" for GET). */
int fake_stripe_last_body(fake_stripe *fs, char *out, size_t size);

/* ------------------------------------------------------------ PaymentIntents */

/* Sets a PaymentIntent's status ("succeeded", "canceled", ...) as Stripe
 * would later (processing -> succeeded, the customer authenticated, ...).
 * failure_code, when not NULL, becomes last_payment_error.code (and its
 * decline_code). 1 when the PaymentIntent exists, else 0. */
int fake_stripe_set_status(fake_stripe *fs, const char *pi_id, const char *status,
	const char *failure_code);

/* A PaymentIntent's status and amount refunded so far. 1 if it exists. */
int fake_stripe_payment_intent(fake_stripe *fs, const char *pi_id, char *status,
	size_t size, int64_t *amount, int64_t *amount_refunded);

/* The id of the n-th PaymentIntent created (0-based). 1 if it exists. */
int fake_stripe_payment_intent_id(fake_stripe *fs, size_t n, char *out, size_t size);

/* ------------------------------------------------------------ webhooks */

/* An event as Stripe would post it. Zero / NULL fields come from the
 * fake's PaymentIntent named by payment_intent (when fs holds it), so a
 * test names only what it is about; fs may be NULL (a PaymentIntent of
 * the test provider, or an invented one: then give every field). */
typedef struct {
	const char *type;              /* "payment_intent.succeeded", "charge.refunded",
	                                  "charge.dispute.created" / ".updated" / ".closed",
	                                  or any other */
	const char *payment_intent;    /* "pi_..." the event is about */
	const char *event_id;          /* NULL: "evt_fake_<n>" */
	int64_t created;               /* the event's time: the test clock */
	int64_t amount;                /* 0: the PaymentIntent's */
	const char *currency;          /* NULL: the PaymentIntent's (sent lower case) */
	const char *tenant_id;         /* metadata; NULL: the PaymentIntent's */
	const char *payment_id;
	const char *invoice_id;
	int64_t amount_refunded;       /* charge.refunded; 0: the fake's refunds so far */
	const char *failure_code;      /* payment_failed: last_payment_error.decline_code */
	const char *failure_message;
	const char *dispute_reason;    /* charge.dispute.*; NULL: "fraudulent" */
	const char *dispute_status;    /* charge.dispute.*; NULL: "needs_response" */
	int64_t dispute_due_by;        /* evidence_details.due_by; 0: null */
	const char *account;           /* a Connect event's "account"; NULL: none */
} fake_stripe_event;

/* The event's JSON body (new: free() it), or NULL when out of memory. */
char *fake_stripe_event_json(fake_stripe *fs, const fake_stripe_event *ev);

/* Its Stripe-Signature header value, signed with secret at t (as Stripe:
 * billing__stripe_webhook_sign). 0, or -1 when out is too small. */
int fake_stripe_event_sign(char *out, size_t size, const char *secret, int64_t t,
	const char *body);

#endif
