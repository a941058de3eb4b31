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

#endif
