/**
 * @file billing/usage.h
 * @brief Usage events and their aggregates (issue #23; docs/usage.md).
 *
 * A usage event says that a customer used something at a time:
 * event_name ("api.call"), customer_id, timestamp, properties (a JSON
 * object: {"gb": 12, "region": "eu"}) and transaction_id, the client's
 * unique key in the tenant. Meters (mtr_, the generic flow: "meters.*" in
 * the JSON layer, /v1/meters) say which events count and how a period's
 * events add up.
 *
 * Ingestion takes a batch of up to BILLING_USAGE_BATCH_MAX events and
 * answers per event: accepted, duplicate (its transaction id was stored
 * already, or came earlier in the batch: a resend is no error) or refused
 * (code, field, message). The accepted events of a batch are written in
 * one transaction with one domain event ("usage.ingested") and one audit
 * row: a batch that fails leaves nothing behind, and can be sent again.
 *
 * The period of an event is the current period of the customer's live
 * subscription. An event of an earlier period is refused ("late_event")
 * once the tenant's grace window after that period's end has passed
 * (billing_usage_grace_set; default BILLING_USAGE_GRACE_DEFAULT), or when
 * it is older than the previous period. An event of a customer with no live
 * subscription is kept and reported (accepted, code "no_subscription").
 */
#ifndef BILLING_USAGE_H
#define BILLING_USAGE_H

#include "common.h"
#include "principal.h"

BILLING_BEGIN_DECL

/** The most events one ingestion takes. */
#define BILLING_USAGE_BATCH_MAX 1000
/** The grace window of a tenant that set none: an hour after a period's end. */
#define BILLING_USAGE_GRACE_DEFAULT 3600
/** The longest grace window: a day, the shortest period. */
#define BILLING_USAGE_GRACE_MAX 86400
/** How far in the future a timestamp may be (clock skew): five minutes. */
#define BILLING_USAGE_FUTURE_SKEW 300

#define BILLING_USAGE_EVENT_VERSION 1

/**
 * One usage event. Every event of one call has the same version (it sets
 * the array's stride). Strings are borrowed for the call.
 */
typedef struct {
	unsigned int version;        /**< BILLING_USAGE_EVENT_VERSION */
	const char *transaction_id;  /**< required: 1..255 printable ASCII, unique in the tenant */
	const char *event_name;      /**< required: 1..100 of [A-Za-z0-9._:-] */
	const char *customer_id;     /**< required: a customer of the tenant */
	int64_t timestamp;           /**< when it happened (UTC seconds); 0: now */
	const char *properties_json; /**< a JSON object; NULL: {} */
} billing_usage_event;

#define BILLING_USAGE_EVENT_INIT { BILLING_USAGE_EVENT_VERSION, 0, 0, 0, 0, 0 }

/** What became of one event (or, for billing_usage_void, one transaction id). */
typedef enum {
	BILLING_USAGE_ACCEPTED = 1,  /**< stored */
	BILLING_USAGE_DUPLICATE = 2, /**< its transaction id was stored already: nothing changed */
	BILLING_USAGE_REFUSED = 3,   /**< not stored: see code, field and message */
	BILLING_USAGE_VOIDED = 4     /**< billing_usage_void: voided (now or before) */
} billing_usage_status;

/** The answer of billing_usage_ingest / billing_usage_void, item by item
 *  in the order of the input. */
typedef struct billing_usage_result billing_usage_result;

/**
 * Ingests count events (1..BILLING_USAGE_BATCH_MAX) for who's tenant.
 *
 * Refusals, per event (the others are still taken): "invalid" naming the
 * field (a transaction id, event name or customer id missing or malformed,
 * properties not a JSON object, a timestamp before 1970 or past
 * BILLING_USAGE_FUTURE_SKEW from now); "resource_missing" (customerId names
 * no customer of the tenant); "late_event" (timestamp); "invalid_value"
 * (an active meter of the event aggregates a property the event lacks, or
 * sum / max / last one that is not an integer of at most 2^53 in size);
 * "period_pruned" (timestamp: before the cutoff of billing_usage_prune).
 *
 * @param out receives the answer (new; billing_usage_result_free), also
 *        when every event was refused
 * @return BILLING_OK; BILLING_EFORBIDDEN (not ADMIN); BILLING_EINVALID for
 *         the call itself (count 0 or over the maximum, events NULL, a bad
 *         version: field "events"); BILLING_ESTORAGE / BILLING_EBUSY (then
 *         nothing of the batch was stored); BILLING_ECONFLICT
 *         "storage_unsupported" (field "storage") when the storage backend
 *         was built for a vtable older than version 12 (so are every
 *         aggregate and, before version 13, billing_usage_prune)
 */
BILLING_EXTERN(int) billing_usage_ingest(billing_usage_result **out, billing_ctx *ctx,
	const billing_principal *who, const billing_usage_event *events, size_t count);

/**
 * Voids the events of count transaction ids (1..BILLING_USAGE_BATCH_MAX)
 * in one transaction: aggregates leave them out from then on. Per id:
 * BILLING_USAGE_VOIDED (code "already_voided" when it was void before);
 * BILLING_USAGE_REFUSED with "resource_missing" (no such event) or
 * "period_closed" (its period's aggregate is stored: it was billed).
 * Writes the event "usage.voided" and one audit row when any was voided.
 * @return as billing_usage_ingest
 */
BILLING_EXTERN(int) billing_usage_void(billing_usage_result **out, billing_ctx *ctx,
	const billing_principal *who, const char *const *transaction_ids, size_t count);

BILLING_EXTERN(size_t) billing_usage_result_count(const billing_usage_result *r);
/** How many items have status s. */
BILLING_EXTERN(size_t) billing_usage_result_tally(const billing_usage_result *r,
	billing_usage_status s);
/** 0 when i is out of range. */
BILLING_EXTERN(billing_usage_status) billing_usage_result_status(const billing_usage_result *r,
	size_t i);
/** The input's transaction id (borrowed; NULL when it had none). */
BILLING_EXTERN(const char *) billing_usage_result_transaction_id(const billing_usage_result *r,
	size_t i);
/** A refusal's code, or a note on an accepted event ("no_subscription");
 *  NULL when none. Borrowed. */
BILLING_EXTERN(const char *) billing_usage_result_code(const billing_usage_result *r, size_t i);
/** The field a refusal is about ("customerId", "timestamp", ...); NULL: none. */
BILLING_EXTERN(const char *) billing_usage_result_field(const billing_usage_result *r, size_t i);
/** A sentence for people; NULL when none. */
BILLING_EXTERN(const char *) billing_usage_result_message(const billing_usage_result *r, size_t i);
/** The subscription an accepted event counts for; NULL: none. */
BILLING_EXTERN(const char *) billing_usage_result_subscription_id(const billing_usage_result *r,
	size_t i);
/** Accepts NULL. */
BILLING_EXTERN(void) billing_usage_result_free(billing_usage_result *r);

/**
 * The aggregate of meter_id over customer_id's events with timestamp in
 * [period_start, period_end), voided events left out. A closed period (its
 * end plus the tenant's grace window is past) is computed once and stored;
 * later calls read the stored aggregate (and voids of its events are
 * refused). An open period is computed on every call.
 * @param value receives the aggregate (count: events; sum, max, last: of
 *        the integer property; uniqueCount: distinct values)
 * @param events receives how many events it counted (may be NULL)
 * @return BILLING_OK; BILLING_ENOTFOUND (meter or customer); BILLING_EINVALID
 *         (period_end <= period_start); BILLING_ECONFLICT "period_pruned"
 *         (field "periodStart": a period not stored that starts before the
 *         cutoff of billing_usage_prune: its events are gone);
 *         BILLING_EFORBIDDEN
 */
BILLING_EXTERN(int) billing_usage_aggregate(int64_t *value, int64_t *events, billing_ctx *ctx,
	const billing_principal *who, const char *meter_id, const char *customer_id,
	int64_t period_start, int64_t period_end);

/** The running usage of a subscription's current period, per active meter. */
typedef struct billing_usage_summary billing_usage_summary;

/**
 * The usage of subscription_id's current period so far: for every active
 * meter of the tenant, the aggregate of the subscription's customer's
 * events in [current period start, current period end).
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_EFORBIDDEN
 */
BILLING_EXTERN(int) billing_usage_summary_get(billing_usage_summary **out, billing_ctx *ctx,
	const billing_principal *who, const char *subscription_id);
BILLING_EXTERN(const char *) billing_usage_summary_subscription_id(const billing_usage_summary *s);
BILLING_EXTERN(int64_t) billing_usage_summary_period_start(const billing_usage_summary *s);
BILLING_EXTERN(int64_t) billing_usage_summary_period_end(const billing_usage_summary *s);
BILLING_EXTERN(size_t) billing_usage_summary_count(const billing_usage_summary *s);
/** Meter i's id (borrowed), NULL when out of range. */
BILLING_EXTERN(const char *) billing_usage_summary_meter_id(const billing_usage_summary *s,
	size_t i);
BILLING_EXTERN(int64_t) billing_usage_summary_value(const billing_usage_summary *s, size_t i);
BILLING_EXTERN(int64_t) billing_usage_summary_events(const billing_usage_summary *s, size_t i);
/** What meter i's value so far would bill now, in the subscription's
 *  currency: the subscription's metered items on that meter priced by
 *  their plans' models (as the period's end bills them); 0 when no item of
 *  the subscription bills the meter, or during a trial. */
BILLING_EXTERN(int64_t) billing_usage_summary_amount(const billing_usage_summary *s, size_t i);
/** Of that amount, what spend-threshold invoices of the current period
 *  billed already (their non-void usage lines of the meter's items;
 *  docs/usage.md, "Spend thresholds"): the period's end bills amount less
 *  this. 0 when none did. */
BILLING_EXTERN(int64_t) billing_usage_summary_billed_amount(const billing_usage_summary *s,
	size_t i);
/** Accepts NULL. */
BILLING_EXTERN(void) billing_usage_summary_free(billing_usage_summary *s);

/**
 * The tenant's grace window: seconds after a period's end during which
 * its events are still taken (0..BILLING_USAGE_GRACE_MAX). ADMIN. The
 * tenant's other usage settings (the retention, the last prune's cutoff)
 * are kept.
 * @return BILLING_OK; BILLING_EINVALID (field "usageGraceSeconds");
 *         BILLING_EFORBIDDEN
 */
BILLING_EXTERN(int) billing_usage_grace_set(billing_ctx *ctx, const billing_principal *who,
	int64_t seconds);
/** The tenant's grace window (BILLING_USAGE_GRACE_DEFAULT when never set). */
BILLING_EXTERN(int) billing_usage_grace_get(int64_t *seconds, billing_ctx *ctx,
	const billing_principal *who);

/** The longest retention a tenant may set: ten years of days. */
#define BILLING_USAGE_RETENTION_MAX 3660

/**
 * The tenant's retention of raw usage events, in days (0: keep them
 * forever, the default; 1..BILLING_USAGE_RETENTION_MAX). Nothing is deleted
 * when it is set: billing_usage_prune deletes. ADMIN. The grace window is
 * kept.
 * @return BILLING_OK; BILLING_EINVALID (field "usageRetentionDays");
 *         BILLING_EFORBIDDEN
 */
BILLING_EXTERN(int) billing_usage_retention_set(billing_ctx *ctx, const billing_principal *who,
	int64_t days);
/** The tenant's retention in days (0 when never set: events are kept). */
BILLING_EXTERN(int) billing_usage_retention_get(int64_t *days, billing_ctx *ctx,
	const billing_principal *who);

/**
 * Deletes the tenant's raw usage events older than the cutoff, an explicit
 * maintenance call (the billing run does not prune; a host calls it, say,
 * daily). The cutoff is the earlier of now minus the retention and the
 * start of the oldest period not yet billed (the current period of every
 * subscription that has not ended), so an event a future invoice may still
 * bill is never deleted. Stored aggregates and invoices are not touched.
 * From then on the tenant refuses events (and aggregates of periods not
 * stored) from before the cutoff: code "period_pruned".
 *
 * The cutoff is written in one transaction with the event "usage.pruned"
 * and an audit row; the events are then deleted in transactions of at most
 * BILLING_USAGE_PRUNE_BATCH rows (a failure part way leaves the cutoff set
 * and some events to delete: call again). With retention 0 nothing is done.
 * @param deleted receives how many events were deleted (may be NULL)
 * @param cutoff receives the cutoff (UTC seconds; 0 with retention 0; may
 *        be NULL)
 * @return BILLING_OK; BILLING_EFORBIDDEN (not ADMIN); BILLING_ESTORAGE /
 *         BILLING_EBUSY; BILLING_ECONFLICT "storage_unsupported" (a storage
 *         vtable older than version 13)
 */
BILLING_EXTERN(int) billing_usage_prune(int64_t *deleted, int64_t *cutoff, billing_ctx *ctx,
	const billing_principal *who);

/** The most events billing_usage_prune deletes in one transaction. */
#define BILLING_USAGE_PRUNE_BATCH 10000

BILLING_END_DECL

#endif
