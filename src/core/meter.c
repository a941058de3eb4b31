/*
 * Meters (mtr_, issue #23): what usage a tenant bills by. A meter names
 * the usage events it counts (eventName), how it aggregates them over a
 * period (count, sum, max, uniqueCount or last), the event property that
 * holds the value (valueProperty; none for count) and optional filters:
 * property = string equality, all of them. On the generic flow: this
 * file is the descriptor and its rules; the JSON layer, the HTTP routes
 * (/v1/meters), OpenAPI and the bindings read the descriptor. usage.c
 * reads the tenant's meters through billing__meter_list_event.
 *
 * What a meter measures is fixed at creation (eventName, aggregation,
 * valueProperty, filters): invoices and stored aggregates keep pointing at
 * it, so a different measure is a new meter. It is never deleted; it is
 * deactivated (active false), and usage.c ignores inactive meters.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/meter.h"
#include "core/resource.h"
#include "core/text.h"

#define F(member) offsetof(billing__meter, member)

/* Indexes into fields[], the bits of a given mask. */
enum {
	TENANT, ID, EVENT_NAME, AGGREGATION, VALUE_PROPERTY, FILTERS, ACTIVE, METADATA,
	CREATED_AT, UPDATED_AT, VERSION, FIELD_COUNT
};

/* billing__meter_aggregation by value. */
static const char *const aggregation_names[] = {
	"", "count", "sum", "max", "uniqueCount", "last", NULL
};

#define NAME_MAX_LEN 100
#define PROPERTY_MAX 100

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, 0, NULL, 0, "The meter's id (mtr_...)." },
	[EVENT_NAME] = { "event_name", BILLING_FIELD_TEXT, F(event_name),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER | BILLING_FIELD_SORT |
		BILLING_FIELD_SEARCH, "eventName", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_REQUIRED | BILLING_API_VERBATIM, NULL, 0,
		"The eventName of the usage events it measures (1-100 characters: letters, "
		"digits and . _ : -); fixed at creation." },
	[AGGREGATION] = { "aggregation", BILLING_FIELD_INT, F(aggregation),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "aggregation", BILLING_JSON_ENUM,
		BILLING_API_CREATE | BILLING_API_REQUIRED, aggregation_names, 0,
		"How a period's events add up: count (events), sum, max or last (the latest "
		"event's) of the integer valueProperty, uniqueCount (distinct values of it); "
		"fixed at creation." },
	[VALUE_PROPERTY] = { "value_property", BILLING_FIELD_TEXT, F(value_property),
		BILLING_FIELD_FIXED, "valueProperty", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_NULLABLE | BILLING_API_VERBATIM, NULL, 0,
		"The event property aggregated (1-100 characters); required but for count, "
		"where it must be absent; fixed at creation." },
	[FILTERS] = { "filters", BILLING_FIELD_TEXT, F(filters_json), BILLING_FIELD_FIXED,
		"filters", BILLING_JSON_METADATA, BILLING_API_CREATE, NULL, 0,
		"Only events whose properties hold these string values count ({\"region\":\"eu\"}; "
		"at most 5); fixed at creation." },
	[ACTIVE] = { "active", BILLING_FIELD_INT, F(active), BILLING_FIELD_FILTER, "active",
		BILLING_JSON_BOOLEAN, BILLING_API_CREATE | BILLING_API_UPDATE, NULL, 0,
		"False once deactivated: its events are no longer aggregated. Default true." },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), 0, "metadata",
		BILLING_JSON_METADATA, BILLING_API_CREATE | BILLING_API_UPDATE, NULL, 0,
		"Your own string keys and values." },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was created." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it last changed." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0,
		"1 at creation, +1 on every change (If-Match / expectedVersion)." },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

static const billing_resource meter = {
	"meter", "meters", "meters", "Meter",
	"A meter: which usage events count toward metered billing and how a period's "
	"events aggregate.",
	"meters", "mtr", sizeof(billing__meter), fields, FIELD_COUNT,
	NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_CREATE | BILLING_RESOURCE_OP_GET | BILLING_RESOURCE_OP_UPDATE |
		BILLING_RESOURCE_OP_LIST,
	R_READ, R_WRITE, 0, NULL, 0
};

const billing_resource *const billing__res_meter = &meter;

#define BIT(i) (UINT64_C(1) << (i))

/* ------------------------------------------------------------ rules */

/* Names of events and properties: what a client puts in JSON keys and
 * identifiers, without white space or quotes (the aggregation's SQL names
 * a property in a JSON path). */
bool billing__meter_name_ok(const char *s, size_t max)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return n >= 1 && n <= max;
}

static int check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	billing__meter *m = rec;
	billing__checks ck = BILLING__CHECKS_INIT;
	(void)ctx;
	(void)tx;

	if ((given & BIT(EVENT_NAME)) && !billing__meter_name_ok(m->event_name, NAME_MAX_LEN))
		billing__check_fail(&ck, "eventName",
			"must be 1-100 characters: letters, digits and . _ : -");
	if (!current) {
		if (m->aggregation == BILLING__METER_COUNT && m->value_property)
			billing__check_fail(&ck, "valueProperty",
				"must be absent for aggregation count (it counts events)");
		else if (m->aggregation > BILLING__METER_COUNT && !m->value_property)
			billing__check_fail(&ck, "valueProperty",
				"is required for aggregation sum, max, uniqueCount and last");
		else if (m->value_property &&
			 !billing__meter_name_ok(m->value_property, PROPERTY_MAX))
			billing__check_fail(&ck, "valueProperty",
				"must be 1-100 characters: letters, digits and . _ : -");
		if (m->filters_json && !billing__meter_filters_ok(m->filters_json))
			billing__check_fail(&ck, "filters",
				"at most 5 filters, keys property names (letters, digits and . _ : -)");
	}
	/* Active unless the create says otherwise. */
	if (!current && !(given & BIT(ACTIVE)))
		m->active = 1;
	return billing__checks_finish(&ck, "meter");
}

const billing__rules billing__meter_rules = { &meter, check, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };

/* ------------------------------------------------------------ for usage.c */

bool billing__meter_filters_ok(const char *filters_json)
{
	billing__metadata m;
	size_t i;
	bool ok = true;

	memset(&m, 0, sizeof(m));
	if (billing__metadata_decode(&m, filters_json) < 0)
		return false;
	ok = m.count <= BILLING__METER_FILTERS_MAX;
	for (i = 0; ok && i < m.count; i++)
		ok = billing__meter_name_ok(m.entries[i].key, PROPERTY_MAX);
	billing__metadata_free(&m);
	return ok;
}

int billing__meter_read(billing__meter **out, billing_ctx *ctx, const billing_principal *who,
	const char *id)
{
	return billing__resource_get((void **)out, &billing__meter_rules, ctx, who, id);
}

const char *billing__meter_aggregation_name(int aggregation)
{
	return aggregation >= BILLING__METER_COUNT && aggregation <= BILLING__METER_LAST ?
		aggregation_names[aggregation] : "";
}
