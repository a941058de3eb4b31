/**
 * @file billing/webhook.h
 * @brief Outbound webhooks: a tenant's endpoints receive its events, signed.
 *
 * Every event of a tenant (billing/event.h) is queued, in the transaction
 * that wrote it, for each enabled endpoint of that tenant that wants its
 * type (a transactional outbox: a rolled-back change queues nothing).
 * billing_run_due() delivers the queue, each delivery claimed by one worker
 * across threads and processes: an HTTP POST of
 * `{"id","type","createdAt","data"}` with the Standard Webhooks headers
 * `webhook-id` (the event id), `webhook-timestamp` and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
 * (one signature per secret while a rotated secret overlaps). A 2xx answer
 * is delivered; anything else, a timeout or a connection error is tried
 * again 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h and 10 h later (with up to
 * 10% jitter; 37.6 hours in all), then the delivery is dead. An endpoint whose deliveries die
 * five times in a row, with none delivered in between, is disabled, with
 * the event "webhook_endpoint.disabled".
 *
 * Safety: endpoint URLs must be https unless the context allows http
 * (billing_ctx_options.webhook_allow_http); hosts that resolve to loopback,
 * private, link-local, multicast or cloud metadata addresses are refused at
 * delivery (the address connected to is the address checked) unless the
 * context allows them (webhook_allow_private); redirects are not followed;
 * at most 1 KiB of each answer is kept. Secrets never appear in logs,
 * errors or events.
 */
#ifndef BILLING_WEBHOOK_H
#define BILLING_WEBHOOK_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_webhook_endpoint billing_webhook_endpoint;
typedef struct billing_webhook_delivery billing_webhook_delivery;

/** Field bits for billing_webhook_endpoint_params.fields (updates). */
enum {
	BILLING_WEBHOOK_URL = 1u << 0,
	BILLING_WEBHOOK_EVENT_TYPES = 1u << 1,
	BILLING_WEBHOOK_ENABLED = 1u << 2,
	BILLING_WEBHOOK_DESCRIPTION = 1u << 3
};

#define BILLING_WEBHOOK_ENDPOINT_PARAMS_VERSION 1
#define BILLING_WEBHOOK_MAX_EVENT_TYPES 64

typedef struct {
	unsigned int version;        /**< BILLING_WEBHOOK_ENDPOINT_PARAMS_VERSION */
	unsigned int fields;         /**< update: BILLING_WEBHOOK_* bits */
	const char *url;             /**< required on create: https://... (at most 2048) */
	/** Event types wanted ("invoice.paid"), or "*" for all; none: all. A type
	 *  may end in ".*" ("invoice.*"). */
	const char *const *event_types;
	size_t event_type_count;
	billing_tristate enabled;    /**< default enabled */
	const char *description;     /**< optional, at most 500 characters */
	int64_t expected_version;    /**< update: 0 = any */
} billing_webhook_endpoint_params;

#define BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT { BILLING_WEBHOOK_ENDPOINT_PARAMS_VERSION, \
	0, 0, 0, 0, 0, 0, 0 }

/**
 * Registers an endpoint (ADMIN). The library makes its signing secret
 * ("whsec_" + base64 of 32 random bytes): billing_webhook_endpoint_secret()
 * on the object this call returns is the only time it is shown.
 * @return BILLING_OK; BILLING_EINVALID (field "url", "events")
 */
BILLING_EXTERN(int) billing_webhook_endpoint_create(billing_webhook_endpoint **out,
	billing_ctx *ctx, const billing_principal *who,
	const billing_webhook_endpoint_params *params, const billing_call_options *opts);

BILLING_EXTERN(int) billing_webhook_endpoint_get(billing_webhook_endpoint **out,
	billing_ctx *ctx, const billing_principal *who, const char *id);

/** Changes the fields given. Enabling an endpoint resets its failure count. */
BILLING_EXTERN(int) billing_webhook_endpoint_update(billing_webhook_endpoint **out,
	billing_ctx *ctx, const billing_principal *who, const char *id,
	const billing_webhook_endpoint_params *params, const billing_call_options *opts);

/** Deletes it; its queued deliveries die (reason "endpoint_deleted"). */
BILLING_EXTERN(int) billing_webhook_endpoint_delete(billing_ctx *ctx,
	const billing_principal *who, const char *id, int64_t expected_version);

BILLING_EXTERN(int) billing_webhook_endpoint_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params);

BILLING_EXTERN(const billing_webhook_endpoint *) billing_page_webhook_endpoint(
	const billing_page *page, size_t i);

/**
 * Gives the endpoint a new secret; the old one still signs (a second
 * signature) for overlap_seconds (0: 24 hours, at most 7 days). The new
 * secret is on the returned object, shown this once.
 */
BILLING_EXTERN(int) billing_webhook_endpoint_rotate_secret(billing_webhook_endpoint **out,
	billing_ctx *ctx, const billing_principal *who, const char *id, int64_t overlap_seconds,
	const billing_call_options *opts);

BILLING_EXTERN(const char *) billing_webhook_endpoint_id(const billing_webhook_endpoint *e);
BILLING_EXTERN(const char *) billing_webhook_endpoint_url(const billing_webhook_endpoint *e);
BILLING_EXTERN(size_t) billing_webhook_endpoint_event_type_count(const billing_webhook_endpoint *e);
BILLING_EXTERN(const char *) billing_webhook_endpoint_event_type_at(const billing_webhook_endpoint *e,
	size_t i);
BILLING_EXTERN(int) billing_webhook_endpoint_enabled(const billing_webhook_endpoint *e);
BILLING_EXTERN(const char *) billing_webhook_endpoint_description(const billing_webhook_endpoint *e);
/** The signing secret: only on the object returned by create and rotate;
 *  NULL on every other read. */
BILLING_EXTERN(const char *) billing_webhook_endpoint_secret(const billing_webhook_endpoint *e);
/** Why it was disabled by the library ("failing": deliveries kept dying;
 *  "gone": the receiver answered 410), or NULL. */
BILLING_EXTERN(const char *) billing_webhook_endpoint_disabled_reason(const billing_webhook_endpoint *e);
BILLING_EXTERN(int64_t) billing_webhook_endpoint_created_at(const billing_webhook_endpoint *e);
BILLING_EXTERN(int64_t) billing_webhook_endpoint_updated_at(const billing_webhook_endpoint *e);
BILLING_EXTERN(int64_t) billing_webhook_endpoint_version(const billing_webhook_endpoint *e);
BILLING_EXTERN(void) billing_webhook_endpoint_free(billing_webhook_endpoint *e);

/* ------------------------------------------------------------ deliveries */

typedef enum {
	BILLING_DELIVERY_PENDING = 1,   /**< queued, or failed and waiting for a retry */
	BILLING_DELIVERY_SUCCEEDED = 2,
	BILLING_DELIVERY_DEAD = 3       /**< every try failed, or the endpoint is gone */
} billing_delivery_status;

/** "pending", "succeeded", "dead"; NULL otherwise. */
BILLING_EXTERN(const char *) billing_delivery_status_name(billing_delivery_status s);

#define BILLING_DELIVERY_LIST_PARAMS_VERSION 1

typedef struct {
	unsigned int version;           /**< BILLING_DELIVERY_LIST_PARAMS_VERSION */
	billing_list_params list;       /**< sort_by "createdAt" */
	const char *endpoint_id;        /**< NULL: any */
	const char *event_id;           /**< NULL: any */
	billing_delivery_status status; /**< 0: any */
} billing_delivery_list_params;

#define BILLING_DELIVERY_LIST_PARAMS_INIT { BILLING_DELIVERY_LIST_PARAMS_VERSION, \
	BILLING_LIST_PARAMS_INIT, 0, 0, 0 }

/** Deliveries with their attempts (each: time, HTTP status or 0, error,
 *  the first bytes of the answer). */
BILLING_EXTERN(int) billing_webhook_delivery_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_delivery_list_params *params);

BILLING_EXTERN(const billing_webhook_delivery *) billing_page_webhook_delivery(
	const billing_page *page, size_t i);

/**
 * Delivers again (ADMIN): one event (event_id) to every enabled endpoint
 * that wants it, or, with event_id NULL, every dead delivery created at or
 * after since. New deliveries, due now; *count (may be NULL) says how many.
 */
BILLING_EXTERN(int) billing_webhook_redeliver(billing_ctx *ctx, const billing_principal *who,
	const char *event_id, int64_t since, int64_t *count);

typedef struct {
	int64_t at;
	int32_t status_code;           /**< 0: no HTTP answer */
	const char *error;             /**< "timeout", "connect", "refused_address", ...; NULL */
	const char *response;          /**< the first bytes of the answer's body, or NULL */
	int64_t duration_ms;
} billing_delivery_attempt;

BILLING_EXTERN(const char *) billing_webhook_delivery_id(const billing_webhook_delivery *d);
BILLING_EXTERN(const char *) billing_webhook_delivery_endpoint_id(const billing_webhook_delivery *d);
BILLING_EXTERN(const char *) billing_webhook_delivery_event_id(const billing_webhook_delivery *d);
BILLING_EXTERN(billing_delivery_status) billing_webhook_delivery_status_of(
	const billing_webhook_delivery *d);
BILLING_EXTERN(int32_t) billing_webhook_delivery_attempt_count(const billing_webhook_delivery *d);
/** When the next try is due; 0 when none is. */
BILLING_EXTERN(int64_t) billing_webhook_delivery_next_attempt_at(const billing_webhook_delivery *d);
BILLING_EXTERN(int64_t) billing_webhook_delivery_created_at(const billing_webhook_delivery *d);
BILLING_EXTERN(size_t) billing_webhook_delivery_attempts(const billing_webhook_delivery *d);
BILLING_EXTERN(const billing_delivery_attempt *) billing_webhook_delivery_attempt_at(
	const billing_webhook_delivery *d, size_t i);

/* ------------------------------------------------------------ signatures */

/** Bytes a signature needs: "v1," + base64 of 32 bytes + NUL. */
#define BILLING_WEBHOOK_SIGNATURE_SIZE 48

/**
 * Signs as deliveries are signed (Standard Webhooks): writes "v1," and the
 * base64 of HMAC-SHA256(key, msg_id "." timestamp "." body) to out, the key
 * being the base64 after "whsec_" (a secret without that prefix is read as
 * base64 whole). For receivers' tests and for hosts that relay.
 * @return BILLING_OK; BILLING_EINVALID: field "secret" (not standard base64
 *   of 24 to 64 bytes), "msgId" (empty or over 255 bytes), "timestamp"
 *   (negative), "size" (out smaller than BILLING_WEBHOOK_SIGNATURE_SIZE).
 *   Errors never quote the secret.
 */
BILLING_EXTERN(int) billing_webhook_sign(char *out, size_t size, const char *secret,
	const char *msg_id, int64_t timestamp, const void *body, size_t body_len);

/**
 * Verifies a delivery on the receiving side: the values of the headers
 * webhook-id, webhook-timestamp and webhook-signature, and the raw body as
 * received. Accepts when one "v1,..." signature of the space-separated signature
 * list matches (compared in constant time; other versions are skipped) and
 * the timestamp is within tolerance_s seconds of now either way (a replay
 * window: 300 is the usual choice).
 * @return BILLING_OK; BILLING_EINVALID with reason "signature" and field
 *   "webhook-signature" (no signature matches), "webhook-timestamp" (not
 *   decimal seconds, or outside the window), "webhook-id" (empty or over 255
 *   bytes), "secret" (malformed, as for billing_webhook_sign).
 */
BILLING_EXTERN(int) billing_webhook_verify(const char *secret, const char *msg_id,
	const char *timestamp, const char *signature, const void *body, size_t body_len,
	int64_t now, int64_t tolerance_s);

BILLING_END_DECL

#endif
