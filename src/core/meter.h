/*
 * Meters (core/meter.c) as usage.c reads them: the record the descriptor
 * describes, and the checks ingestion shares with the meter's rules.
 */
#ifndef BILLING_CORE_METER_H
#define BILLING_CORE_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "billing/sys/resource.h"
#include "core/core.h"

/* The aggregation of a meter (its JSON names in meter.c). */
enum {
	BILLING__METER_COUNT = 1,
	BILLING__METER_SUM,
	BILLING__METER_MAX,
	BILLING__METER_UNIQUE_COUNT,
	BILLING__METER_LAST
};

/* The most filters a meter has (the aggregate's statement grows with them). */
#define BILLING__METER_FILTERS_MAX 5

/* The stored meter, in the descriptor's order. */
typedef struct {
	const char *tenant_id;
	const char *id;
	const char *event_name;
	int aggregation;             /* BILLING__METER_* */
	const char *value_property;  /* NULL for count */
	const char *filters_json;    /* canonical JSON object of strings ("{}": none) */
	int active;
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
} billing__meter;

extern const billing_resource *const billing__res_meter;

/* s is 1..max characters of [A-Za-z0-9._:-] (event and property names). */
bool billing__meter_name_ok(const char *s, size_t max);

/* filters_json is a JSON object of strings whose keys are property names. */
bool billing__meter_filters_ok(const char *filters_json);

/* The meter id names in who's tenant (an owned record: billing__free). */
int billing__meter_read(billing__meter **out, billing_ctx *ctx, const billing_principal *who,
	const char *id);

/* "count", "sum", ...; "" for a value that is none. */
const char *billing__meter_aggregation_name(int aggregation);

/* ------------------------------------------------------------ usage.c, settings */

/* retention_days of billing__usage_settings_set: leave it as it is. */
#define BILLING__USAGE_KEEP INT64_MIN

/* The JSON layer's usage_settings.set: the grace window and the retention
 * (BILLING__USAGE_KEEP: unchanged), one transaction; *retention_out
 * receives the retention now set. */
int billing__usage_settings_set(int64_t *retention_out, billing_ctx *ctx,
	const billing_principal *who, int64_t grace, int64_t retention_days);
/* usage_settings.get: both, one transaction. */
int billing__usage_settings_get(int64_t *grace, int64_t *retention_days, billing_ctx *ctx,
	const billing_principal *who);

/* ------------------------------------------------------------ usage.c, for billing in arrears */

/* The tenant's grace window (usageGraceSeconds), read in tx; in a batch of
 * the billing run it is read once (billing__read). */
int billing__usage_grace_in(int64_t *grace, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id);

/*
 * The aggregate of meter_id over customer_id's events in [from, to), in tx.
 * close false: computed (the running usage of an open period). close true:
 * the period is closed for good: its stored row in usage_aggregates is
 * read, or computed once and stored now (in tx), so the caller bills
 * exactly what is stored and ingestion refuses later events of the period
 * (late_event). Rows are keyed by start and end: a span of the same start
 * stored with another end (a client's billing_usage_aggregate) is another
 * row and does not stand in the way.
 */
int billing__usage_value(int64_t *value, int64_t *events, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *meter_id, const char *customer_id, int64_t from,
	int64_t to, bool close);

/*
 * Spend thresholds (schema step 41; docs/usage.md "Spend thresholds"):
 * what the threshold invoices of the period starting at period_start
 * billed of a subscription item's usage of a meter, the amount (the sum of
 * those non-void lines) and the aggregate they billed through (for the
 * lines' quantities). The row is read, and written, by whoever holds the
 * subscription (its lock): a threshold invoice moves it to the running
 * values, a void of one takes its lines back out.
 */
typedef struct {
	const char *tenant_id;
	const char *id;              /* "<subscription>/<item>/<meter>/<period start>" */
	const char *subscription_id;
	const char *item_id;
	const char *meter_id;
	int64_t period_start;
	int64_t amount;
	int64_t quantity;
	int64_t updated_at;
	int64_t version;
} billing__usage_billed_record;

extern const billing_resource billing__res_usage_billed;

/* The row of (subscription, item, meter, period_start) into *amount and
 * *quantity, 0 and 0 when there is none; lock: BILLING_LOCK_UPDATE in a
 * write that changes it. */
int billing__usage_billed_get(int64_t *amount, int64_t *quantity, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *subscription_id, const char *item_id,
	const char *meter_id, int64_t period_start, int lock);

/* Sets the row to amount and quantity (inserted the first time). */
int billing__usage_billed_set(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *subscription_id, const char *item_id, const char *meter_id,
	int64_t period_start, int64_t amount, int64_t quantity);

/* Due work of the billing run: evaluate the spend threshold of a
 * subscription that got usage while the evaluation after its ingest did
 * not run or failed (written by the ingest, cleared by the evaluation). */
#define BILLING__DUE_THRESHOLD "usage_threshold"

/* The evaluation of subscription id's spend threshold in its own write
 * transaction (core/subscription_calendar.c has the rule): its due work
 * and the subscription locked, as the billing run holds a renewal; the
 * threshold invoice, when one is due, collected after the commit. */
int billing__usage_threshold_run(billing_ctx *ctx, const char *tenant_id, const char *id,
	bool *issued);

/* The same in tx (the billing run's, which claimed the due work): the
 * evaluation, and the due work cleared. */
int billing__usage_threshold_due(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now, char invoice_id[BILLING_ID_MAX], bool *issued);

/* The stored aggregate of meter_id for customer_id's period [from, to)
 * (billing_check), and the end the row holds: BILLING_ENOTFOUND when none
 * is stored. */
int billing__usage_stored(int64_t *value, int64_t *period_end, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *meter_id, const char *customer_id,
	int64_t from, int64_t to);

#endif
