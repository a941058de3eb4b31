/*
 * Usage events (billing/usage.h; issue #23): ingestion in batches, voids,
 * aggregates per (customer, meter, period) and the running usage of a
 * subscription, and the tenant's grace window.
 *
 * Ingestion checks what it can without storage first (names, ids, JSON,
 * times, duplicates inside the batch), then, in ONE write transaction,
 * what needs the database (the customers, their live subscriptions and
 * periods, the grace window, the tenant's active meters, stored closed
 * periods) and writes every accepted event with the storage's bulk
 * usage_insert, which reports a transaction id stored already as a
 * duplicate. One domain event ("usage.ingested") and one audit row stand
 * for the batch. A failure anywhere rolls the whole batch back.
 *
 * Aggregates are the storage's set-based usage_aggregate; a closed
 * period's (its end plus the grace window is past) is stored in
 * usage_aggregates the first time it is asked for and read from there
 * afterwards, never computed again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "billing/usage.h"
#include "core/calendar.h"
#include "core/events.h"
#include "core/ids.h"
#include "core/meter.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/settings.h"
#include "core/subscription_internal.h"
#include "core/txn.h"
#include "core/validate.h"

/* ------------------------------------------------------------ descriptors */

#define UE(col, type, member, flags, json, kind) \
	{ col, BILLING_FIELD_##type, offsetof(billing_usage_event_record, member), (flags), json, \
	  BILLING_JSON_##kind, 0, NULL, 0, NULL }

static const billing_field event_fields[] = {
	UE("tenant_id", TEXT, tenant_id, BILLING_FIELD_TENANT, NULL, NONE),
	UE("transaction_id", TEXT, transaction_id, BILLING_FIELD_ID, "transactionId", STRING),
	UE("event_name", TEXT, event_name, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "eventName",
		STRING),
	UE("customer_id", TEXT, customer_id, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER,
		"customerId", STRING),
	UE("subscription_id", TEXT, subscription_id, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER,
		"subscriptionId", STRING),
	UE("occurred_at", INT64, timestamp, BILLING_FIELD_FIXED | BILLING_FIELD_RANGE |
		BILLING_FIELD_SORT, "timestamp", TIME),
	UE("properties", TEXT, properties, BILLING_FIELD_FIXED, "properties", OBJECT),
	UE("received_at", INT64, received_at, BILLING_FIELD_FIXED, "receivedAt", TIME),
	UE("voided_at", INT64, voided_at, BILLING_FIELD_ZERO_NULL, "voidedAt", TIME),
	UE("version", INT64, version, BILLING_FIELD_VERSION, NULL, NONE),
};

static const billing_resource usage_event_res = {
	.name = "usage_event", .plural = "usage_events", .table = "usage_events",
	.record_size = sizeof(billing_usage_event_record), .fields = event_fields,
	.field_count = sizeof(event_fields) / sizeof(event_fields[0])
};

/* A closed period's aggregate of a meter for a customer. */
typedef struct {
	const char *tenant_id;
	const char *id;              /* "<meter>/<customer>/<period start>/<period end>" */
	const char *meter_id;
	const char *customer_id;
	int64_t period_start;
	int64_t period_end;
	int64_t value;
	int64_t events;
	int64_t created_at;
} aggregate_record;

#define AG(col, type, member, flags) \
	{ col, BILLING_FIELD_##type, offsetof(aggregate_record, member), (flags), NULL, \
	  BILLING_JSON_NONE, 0, NULL, 0, NULL }

static const billing_field aggregate_fields[] = {
	AG("tenant_id", TEXT, tenant_id, BILLING_FIELD_TENANT),
	AG("id", TEXT, id, BILLING_FIELD_ID),
	AG("meter_id", TEXT, meter_id, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER),
	AG("customer_id", TEXT, customer_id, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER),
	AG("period_start", INT64, period_start, BILLING_FIELD_FIXED | BILLING_FIELD_RANGE),
	AG("period_end", INT64, period_end, BILLING_FIELD_FIXED | BILLING_FIELD_RANGE),
	AG("value", INT64, value, BILLING_FIELD_FIXED),
	AG("events", INT64, events, BILLING_FIELD_FIXED | BILLING_FIELD_NONNEGATIVE),
	AG("created_at", INT64, created_at, BILLING_FIELD_FIXED),
};

static const billing_resource aggregate_res = {
	.name = "usage_aggregate", .plural = "usage_aggregates", .table = "usage_aggregates",
	.record_size = sizeof(aggregate_record), .fields = aggregate_fields,
	.field_count = sizeof(aggregate_fields) / sizeof(aggregate_fields[0])
};

/* What a subscription item's threshold invoices billed of a period (step
 * 41; meter.h). */
#define UB(col, type, member, flags) \
	{ col, BILLING_FIELD_##type, offsetof(billing__usage_billed_record, member), (flags), \
	  NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL }

static const billing_field billed_fields[] = {
	UB("tenant_id", TEXT, tenant_id, BILLING_FIELD_TENANT),
	UB("id", TEXT, id, BILLING_FIELD_ID),
	UB("subscription_id", TEXT, subscription_id, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER),
	UB("item_id", TEXT, item_id, BILLING_FIELD_FIXED),
	UB("meter_id", TEXT, meter_id, BILLING_FIELD_FIXED),
	UB("period_start", INT64, period_start, BILLING_FIELD_FIXED | BILLING_FIELD_RANGE),
	UB("amount", INT64, amount, 0),
	UB("quantity", INT64, quantity, 0),
	UB("updated_at", INT64, updated_at, 0),
	UB("version", INT64, version, BILLING_FIELD_VERSION),
};

const billing_resource billing__res_usage_billed = {
	.name = "usage_billed", .plural = "usage_billed", .table = "usage_billed",
	.record_size = sizeof(billing__usage_billed_record), .fields = billed_fields,
	.field_count = sizeof(billed_fields) / sizeof(billed_fields[0])
};

/* The tenant's usage settings: one row, keyed by the tenant (as dunning). */
typedef struct {
	const char *tenant_id;
	int64_t grace_seconds;
	int64_t updated_at;
	int64_t retention_days;      /* 0: raw events are kept forever */
	int64_t pruned_before;       /* the last prune's cutoff: events before it are gone */
} settings_record;

static const billing_field settings_fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(settings_record, tenant_id),
	  BILLING_FIELD_ID | BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "grace_seconds", BILLING_FIELD_INT64, offsetof(settings_record, grace_seconds), 0,
	  "usageGraceSeconds", BILLING_JSON_INTEGER, 0, NULL, 0, NULL },
	{ "updated_at", BILLING_FIELD_INT64, offsetof(settings_record, updated_at), 0,
	  "updatedAt", BILLING_JSON_TIME, 0, NULL, 0, NULL },
	{ "retention_days", BILLING_FIELD_INT64, offsetof(settings_record, retention_days), 0,
	  "usageRetentionDays", BILLING_JSON_INTEGER, 0, NULL, 0, NULL },
	{ "pruned_before", BILLING_FIELD_INT64, offsetof(settings_record, pruned_before), 0,
	  NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
};

static const billing_resource settings_res = {
	.name = "usage_settings", .plural = "usage_settings", .table = "usage_settings",
	.record_size = sizeof(settings_record), .fields = settings_fields,
	.field_count = sizeof(settings_fields) / sizeof(settings_fields[0])
};

static const billing_field *field_of(const billing_resource *res, const char *column)
{
	return billing_resource_field(res, column);
}

/* ------------------------------------------------------------ results */

struct item {
	char *transaction_id;        /* owned copy; NULL when the input had none */
	billing_usage_status status;
	const char *code;            /* static */
	const char *field;           /* static */
	const char *message;         /* static */
	char *subscription_id;       /* owned */
};

struct billing_usage_result {
	size_t count;
	struct item *items;
};

void billing_usage_result_free(billing_usage_result *r)
{
	size_t i;
	if (!r)
		return;
	for (i = 0; i < r->count; i++) {
		billing__free(r->items[i].transaction_id);
		billing__free(r->items[i].subscription_id);
	}
	billing__free(r->items);
	billing__free(r);
}

static billing_usage_result *result_new(size_t count)
{
	billing_usage_result *r = billing__calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (!(r->items = billing__calloc(count, sizeof(*r->items)))) {
		billing__free(r);
		return NULL;
	}
	r->count = count;
	return r;
}

static void refuse(struct item *it, const char *code, const char *field, const char *message)
{
	it->status = BILLING_USAGE_REFUSED;
	it->code = code;
	it->field = field;
	it->message = message;
}

static const struct item *item_at(const billing_usage_result *r, size_t i)
{
	return r && i < r->count ? &r->items[i] : NULL;
}

size_t billing_usage_result_count(const billing_usage_result *r)
{
	return r ? r->count : 0;
}

size_t billing_usage_result_tally(const billing_usage_result *r, billing_usage_status s)
{
	size_t i, n = 0;
	for (i = 0; r && i < r->count; i++)
		n += r->items[i].status == s;
	return n;
}

billing_usage_status billing_usage_result_status(const billing_usage_result *r, size_t i)
{
	const struct item *it = item_at(r, i);
	return it ? it->status : (billing_usage_status)0;
}

const char *billing_usage_result_transaction_id(const billing_usage_result *r, size_t i)
{
	const struct item *it = item_at(r, i);
	return it ? it->transaction_id : NULL;
}

const char *billing_usage_result_code(const billing_usage_result *r, size_t i)
{
	const struct item *it = item_at(r, i);
	return it ? it->code : NULL;
}

const char *billing_usage_result_field(const billing_usage_result *r, size_t i)
{
	const struct item *it = item_at(r, i);
	return it ? it->field : NULL;
}

const char *billing_usage_result_message(const billing_usage_result *r, size_t i)
{
	const struct item *it = item_at(r, i);
	return it ? it->message : NULL;
}

const char *billing_usage_result_subscription_id(const billing_usage_result *r, size_t i)
{
	const struct item *it = item_at(r, i);
	return it ? it->subscription_id : NULL;
}

/* ------------------------------------------------------------ storage */

/* The storage's usage methods came with vtable versions 12 (usage_insert,
 * usage_aggregate) and 13 (usage_prune): a backend built for an older one
 * has none, and its vtable ends before them (storage.h), so they are not
 * read; the call is refused instead. */
static int storage_has(billing_ctx *ctx, unsigned int version, const char *what)
{
	if (ctx->st->version >= version)
		return BILLING_OK;
	return billing__error_field(BILLING_ECONFLICT, "storage_unsupported", "storage",
		"the storage backend (vtable version %u) has no %s: it needs version %u",
		ctx->st->version, what, version);
}

/* ------------------------------------------------------------ settings */

/* The record as a whole: both numbers in range (a stored row always is). */
static int settings_check(const void *rec)
{
	const settings_record *r = rec;
	if (r->grace_seconds < 0 || r->grace_seconds > BILLING_USAGE_GRACE_MAX)
		return billing__error_field(BILLING_EINVALID, "invalid", "usageGraceSeconds",
			"must be from 0 to %d seconds", BILLING_USAGE_GRACE_MAX);
	if (r->retention_days < 0 || r->retention_days > BILLING_USAGE_RETENTION_MAX)
		return billing__error_field(BILLING_EINVALID, "invalid", "usageRetentionDays",
			"must be from 0 (keep forever) to %d days", BILLING_USAGE_RETENTION_MAX);
	return BILLING_OK;
}

static const settings_record settings_default = {
	NULL, BILLING_USAGE_GRACE_DEFAULT, 0, 0, 0
};

/* The tenant-settings helper's descriptor (core/settings.h). */
static const billing__settings usage_settings = {
	&settings_res, offsetof(settings_record, updated_at), &settings_default,
	BILLING_OP_USAGE_GRACE_GET, BILLING_OP_USAGE_GRACE_SET, settings_check
};

/* The tenant's settings, the defaults when it set none (no lock). */
static int settings_read(settings_record *r, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	return billing__settings_read(r, &usage_settings, ctx, tx, tenant_id);
}

static int grace_read(int64_t *grace, billing_ctx *ctx, billing_txn *tx, const char *tenant_id)
{
	settings_record r;
	int rc = settings_read(&r, ctx, tx, tenant_id);
	*grace = r.grace_seconds;
	return rc;
}

/* What an update of the settings changes: BILLING__USAGE_KEEP keeps a
 * field as it is (pruned_before is only the prune's). */
struct settings_change {
	int64_t grace, retention;
};

static void settings_apply(void *rec, const void *arg)
{
	settings_record *r = rec;
	const struct settings_change *c = arg;
	if (c->grace != BILLING__USAGE_KEEP)
		r->grace_seconds = c->grace;
	if (c->retention != BILLING__USAGE_KEEP)
		r->retention_days = c->retention;
}

/* Changes the fields c names, keeps the others; *written receives the
 * record written. */
static int settings_change(settings_record *written, billing_ctx *ctx,
	const billing_principal *who, int64_t grace, int64_t retention)
{
	struct settings_change c;
	c.grace = grace;
	c.retention = retention;
	return billing__settings_update(written, &usage_settings, ctx, who, settings_apply, &c);
}

int billing__usage_settings_set(int64_t *retention_out, billing_ctx *ctx,
	const billing_principal *who, int64_t grace, int64_t retention_days)
{
	settings_record r;
	int rc = settings_change(&r, ctx, who, grace, retention_days);
	if (rc == BILLING_OK)
		*retention_out = r.retention_days;
	return rc;
}

int billing__usage_settings_get(int64_t *grace, int64_t *retention_days, billing_ctx *ctx,
	const billing_principal *who)
{
	settings_record r;
	int rc = billing__settings_get(&r, &usage_settings, ctx, who, grace, "grace");
	if (rc == BILLING_OK) {
		*grace = r.grace_seconds;
		*retention_days = r.retention_days;
	}
	return rc;
}

int billing_usage_retention_set(billing_ctx *ctx, const billing_principal *who, int64_t days)
{
	settings_record r;
	/* A value no field can hold is refused as out of range, not kept. */
	return settings_change(&r, ctx, who, BILLING__USAGE_KEEP,
		days == BILLING__USAGE_KEEP ? -1 : days);
}

int billing_usage_retention_get(int64_t *days, billing_ctx *ctx, const billing_principal *who)
{
	settings_record r;
	int rc = billing__settings_get(&r, &usage_settings, ctx, who, days, "days");
	if (rc == BILLING_OK)
		*days = r.retention_days;
	return rc;
}

int billing_usage_grace_set(billing_ctx *ctx, const billing_principal *who, int64_t seconds)
{
	settings_record r;
	return settings_change(&r, ctx, who, seconds == BILLING__USAGE_KEEP ? -1 : seconds,
		BILLING__USAGE_KEEP);
}

int billing_usage_grace_get(int64_t *seconds, billing_ctx *ctx, const billing_principal *who)
{
	settings_record r;
	int rc = billing__settings_get(&r, &usage_settings, ctx, who, seconds, "seconds");
	if (rc == BILLING_OK)
		*seconds = r.grace_seconds;
	return rc;
}

/* ------------------------------------------------------------ meters */

/* The tenant's active meters, their filters decoded. */
struct meters {
	billing__meter **m;
	billing__metadata *filters;
	size_t count, cap;
};

static void meters_free(struct meters *ms)
{
	size_t i;
	for (i = 0; i < ms->count; i++) {
		billing__free(ms->m[i]);
		billing__metadata_free(&ms->filters[i]);
	}
	billing__free(ms->m);
	billing__free(ms->filters);
	memset(ms, 0, sizeof(*ms));
}

static int meter_row(void *payload, const void *record)
{
	struct meters *ms = payload;
	billing__meter *m;
	if (ms->count == ms->cap) {
		size_t cap = ms->cap ? ms->cap * 2 : 8;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		billing__meter **mm = billing__realloc(ms->m, cap * sizeof(*mm));
		billing__metadata *ff;
		if (!mm)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		ms->m = mm;
		if (!(ff = billing__realloc(ms->filters, cap * sizeof(*ff))))
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		ms->filters = ff;
		ms->cap = cap;
	}
	if (!(m = billing__record_dup(billing__res_meter, record)))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	memset(&ms->filters[ms->count], 0, sizeof(ms->filters[0]));
	ms->m[ms->count] = m;
	if (billing__metadata_decode(&ms->filters[ms->count], m->filters_json ?
		m->filters_json : "{}") < 0) {
		billing__free(m);
		return billing__error_set(BILLING_ESTORAGE, "corrupt", "a meter's filters are not "
			"a JSON object of strings");
	}
	ms->count++;
	return BILLING_OK;
}

static int meter_row_one(void *payload, const void *record)
{
	billing__meter **m = payload;
	billing__free(*m);
	*m = billing__record_dup(billing__res_meter, record);
	return *m ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

static int meters_load(struct meters *ms, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	billing_filter f;
	memset(&f, 0, sizeof(f));
	f.field = field_of(billing__res_meter, "active");
	f.op = BILLING_FILTER_EQ;
	f.num = 1;
	return billing__list_all(ctx->st, tx, billing__res_meter, tenant_id, &f, 1, meter_row, ms);
}

/* Whether the event's properties hold every filter of meter i. */
static bool filters_match(const struct meters *ms, size_t i, const cJSON *props)
{
	const billing__metadata *f = &ms->filters[i];
	size_t k;
	for (k = 0; k < f->count; k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(props, f->entries[k].key);
		if (!cJSON_IsString(v) || strcmp(v->valuestring, f->entries[k].value) != 0)
			return false;
	}
	return true;
}

/* 2^53: the integers a JSON number carries exactly. */
#define EXACT_MAX 9007199254740992.0

/* What the active meters of the event need of its properties: NULL when
 * it has it, else the message of the refusal. */
static const char *value_problem(const struct meters *ms, const char *event_name,
	const cJSON *props)
{
	size_t i;
	for (i = 0; i < ms->count; i++) {
		const billing__meter *m = ms->m[i];
		const cJSON *v;
		if (strcmp(m->event_name, event_name) != 0 || m->aggregation == BILLING__METER_COUNT ||
		    !filters_match(ms, i, props))
			continue;
		v = cJSON_GetObjectItemCaseSensitive(props, m->value_property);
		if (m->aggregation == BILLING__METER_UNIQUE_COUNT) {
			if (!cJSON_IsString(v) && !cJSON_IsNumber(v))
				return "a meter of this event counts distinct values of a property the "
					"event lacks (a string or a number)";
			continue;
		}
		if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble ||
		    v->valuedouble > EXACT_MAX || v->valuedouble < -EXACT_MAX)
			return "a meter of this event adds up a property that must be an integer "
				"(at most 2^53 in size)";
	}
	return NULL;
}

/* ------------------------------------------------------------ ingestion */

/* One event of the batch as checked before storage. */
struct ev {
	size_t index;                /* in the input */
	const billing_usage_event *in;
	int64_t timestamp;
	cJSON *props;                /* parsed properties */
	char *props_text;            /* canonical text */
	bool ok;                     /* passed the checks before storage */
};

/* A customer of the batch, as the transaction finds it. */
struct cust {
	const char *id;              /* borrowed from the input */
	bool exists;
	char *subscription_id;       /* the live subscription, NULL: none */
	int64_t period_start;        /* its current period */
	int64_t prev_start;          /* the previous period's start (period_start: none) */
	int64_t closed_until;        /* events before it fall in a stored period */
	bool threshold;              /* the subscription has a spend threshold */
};

static const billing_usage_event *event_at(const billing_usage_event *events, size_t i)
{
	/* Version 1 is the only layout: its stride is the struct's size. */
	return &events[i];
}

static bool transaction_id_ok(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
			return false;
	return n >= 1 && n <= 255;
}

static int by_tid(const void *a, const void *b)
{
	const struct ev *x = *(const struct ev *const *)a, *y = *(const struct ev *const *)b;
	int c = strcmp(x->in->transaction_id, y->in->transaction_id);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int by_customer(const void *a, const void *b)
{
	const struct ev *x = *(const struct ev *const *)a, *y = *(const struct ev *const *)b;
	return strcmp(x->in->customer_id, y->in->customer_id);
}

/* The checks that need no storage; a later duplicate of a transaction id
 * in the batch is a duplicate. */
static int precheck(struct ev *evs, struct item *items, size_t count, int64_t now)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct ev **order = billing__calloc(count ? count : 1, sizeof(*order));
	size_t i, n = 0;

	if (!order)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (i = 0; i < count; i++) {
		struct ev *e = &evs[i];
		const billing_usage_event *in = e->in;
		struct item *it = &items[i];
		e->ok = false;
		if (in->transaction_id && !(it->transaction_id = billing__strdup(in->transaction_id))) {
			billing__free(order);
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		}
		if (!transaction_id_ok(in->transaction_id)) {
			refuse(it, "invalid", "transactionId", "must be 1-255 printable ASCII characters "
				"without spaces");
			continue;
		}
		if (!billing__meter_name_ok(in->event_name, 100)) {
			refuse(it, "invalid", "eventName", "must be 1-100 characters: letters, digits "
				"and . _ : -");
			continue;
		}
		if (!billing__id_arg_ok(in->customer_id, "cus")) {
			refuse(it, "invalid", "customerId", "must be a customer id (cus_...)");
			continue;
		}
		e->timestamp = in->timestamp ? in->timestamp : now;
		if (e->timestamp < 0 || e->timestamp > now + BILLING_USAGE_FUTURE_SKEW) {
			refuse(it, "invalid", "timestamp", "must not be more than 5 minutes in the "
				"future");
			continue;
		}
		e->props = cJSON_Parse(in->properties_json ? in->properties_json : "{}");
		if (!cJSON_IsObject(e->props)) {
			refuse(it, "invalid", "properties", "must be a JSON object");
			continue;
		}
		if (!(e->props_text = cJSON_PrintUnformatted(e->props))) {
			billing__free(order);
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		}
		e->ok = true;
		order[n++] = e;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	qsort(order, n, sizeof(*order), by_tid);
	for (i = 1; i < n; i++)
		if (strcmp(order[i]->in->transaction_id, order[i - 1]->in->transaction_id) == 0) {
			order[i]->ok = false;
			items[order[i]->index].status = BILLING_USAGE_DUPLICATE;
			items[order[i]->index].code = "duplicate";
			items[order[i]->index].message = "this transaction id came earlier in the batch";
		}
	billing__free(order);
	return BILLING_OK;
}

static int exists_row(void *payload, const void *record)
{
	(void)record;
	*(bool *)payload = true;
	return BILLING_OK;
}

struct sub_pick {
	billing_subscription_record *best;
};

static int sub_row(void *payload, const void *record)
{
	struct sub_pick *p = payload;
	const billing_subscription_record *s = record;
	if (p->best && p->best->created_at > s->created_at)
		return BILLING_OK;
	billing__free(p->best);
	if (!(p->best = billing__record_dup(&billing__res_subscription, s)))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

static int plan_row(void *payload, const void *record)
{
	billing_plan_record *out = payload;
	const billing_plan_record *p = record;
	out->interval = p->interval;
	out->interval_count = p->interval_count;
	return BILLING_OK;
}

static int closed_row(void *payload, const void *record)
{
	int64_t *until = payload;
	const aggregate_record *a = record;
	if (a->period_end > *until)
		*until = a->period_end;
	return BILLING_OK;
}

/* What the transaction needs to know of customer c: does it exist, its
 * live subscription and that subscription's periods, and the end of the
 * latest stored period of its events (min_ts: its earliest event here). */
static int customer_load(struct cust *c, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, int64_t min_ts)
{
	struct sub_pick pick = { NULL };
	billing_filter f[2];
	int rc;

	c->exists = false;
	c->subscription_id = NULL;
	c->closed_until = 0;
	c->threshold = false;
	rc = billing__read(ctx->st, tx, &billing__res_customer, tenant_id, c->id,
		BILLING_LOCK_SHARE, exists_row, &c->exists);
	if (rc == BILLING_ENOTFOUND)
		return BILLING_OK;
	if (rc < 0)
		return rc;
	memset(f, 0, sizeof(f));
	f[0].field = field_of(&billing__res_subscription, "customer_id");
	f[0].op = BILLING_FILTER_EQ;
	f[0].text = c->id;
	f[1].field = field_of(&billing__res_subscription, "status");
	f[1].op = BILLING_FILTER_NOT_IN_SET;
	f[1].set = &billing__sub_ended;
	if ((rc = billing__list_all(ctx->st, tx, &billing__res_subscription, tenant_id, f, 2,
		sub_row, &pick)) < 0)
		goto done;
	if (pick.best) {
		billing_plan_record plan;
		memset(&plan, 0, sizeof(plan));
		c->period_start = pick.best->current_period_start;
		c->prev_start = c->period_start;
		if ((rc = billing__read(ctx->st, tx, &billing__res_plan, tenant_id,
			pick.best->plan_id, BILLING_LOCK_NONE, plan_row, &plan)) < 0)
			goto done;
		/* The previous period of the anchor's schedule, when the
		 * subscription had one (index 0 is its first; -1 a trial). */
		if (pick.best->period_index >= 1 &&
		    (rc = billing__period_start(&c->prev_start, pick.best->anchor,
			(billing_interval)plan.interval, plan.interval_count,
			pick.best->period_index - 1)) < 0)
			goto done;
		c->threshold = pick.best->threshold_amount_gte > 0;
		if (!(c->subscription_id = billing__strdup(pick.best->id))) {
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			goto done;
		}
	}
	/* Stored (closed) periods that reach the batch's events. */
	f[0].field = field_of(&aggregate_res, "customer_id");
	f[1].field = field_of(&aggregate_res, "period_end");
	f[1].op = BILLING_FILTER_GT;
	f[1].set = NULL;
	f[1].num = min_ts;
	rc = billing__list_all(ctx->st, tx, &aggregate_res, tenant_id, f, 2, closed_row,
		&c->closed_until);
	c->exists = true;
done:
	billing__free(pick.best);
	return rc;
}

struct batch_counts {
	const char *id;
	size_t accepted, duplicates, refused;
};

static cJSON *batch_json(const void *item)
{
	const struct batch_counts *b = item;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", b->id);
	cJSON_AddStringToObject(o, "object", "usage_batch");
	cJSON_AddNumberToObject(o, "accepted", (double)b->accepted);
	cJSON_AddNumberToObject(o, "duplicates", (double)b->duplicates);
	cJSON_AddNumberToObject(o, "refused", (double)b->refused);
	return o;
}

struct ingest {
	struct ev *evs;
	size_t count;
	struct item *pre;            /* the results of precheck */
	billing_usage_result *out;   /* this attempt's results */
	/* The subscriptions with a spend threshold that this attempt gave
	 * events (owned): evaluated once it commits. */
	char **thresholds;
	size_t nthresholds;
};

static void thresholds_free(struct ingest *in)
{
	size_t i;
	for (i = 0; i < in->nthresholds; i++)
		billing__free(in->thresholds[i]);
	in->nthresholds = 0;
}

/* The subscriptions of custs with a spend threshold that got accepted
 * events: each gets due work BILLING__DUE_THRESHOLD in the batch's
 * transaction (so the billing run evaluates it should the evaluation after
 * the commit not run or fail), and is kept for that evaluation. */
static int thresholds_due(billing_ctx *ctx, billing_txn *tx, struct ingest *in,
	const char *tenant_id, const struct cust *custs, size_t ncust,
	const billing_usage_event_record *recs, const unsigned char *inserted, size_t nrec,
	int64_t now)
{
	size_t i, k;
	int rc;

	for (k = 0; k < ncust; k++) {
		const struct cust *c = &custs[k];
		billing_due_record d;
		bool got = false;
		if (!c->subscription_id || !c->threshold)
			continue;
		for (i = 0; !got && i < nrec; i++)
			got = inserted[i] && recs[i].subscription_id == c->subscription_id;
		if (!got)
			continue;
		d.tenant_id = tenant_id;
		d.kind = BILLING__DUE_THRESHOLD;
		d.resource_id = c->subscription_id;
		d.due_at = now;
		if ((rc = ctx->st->due_set(tx, &d)) < 0)
			return rc;
		if (!(in->thresholds[in->nthresholds] = billing__strdup(c->subscription_id)))
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		in->nthresholds++;
	}
	return BILLING_OK;
}

static int ingest_once(billing_ctx *ctx, const billing_principal *who, struct ingest *in)
{
	struct meters ms = { NULL, NULL, 0, 0 };
	struct ev **order = NULL;
	struct cust *custs = NULL;
	billing_usage_event_record *recs = NULL;
	size_t *rec_of = NULL, ncust = 0, nrec = 0, i, j;
	unsigned char *inserted = NULL;
	struct item *items = in->out->items;
	int64_t now = billing__now(ctx), grace;
	settings_record settings;
	struct batch_counts counts = { NULL, 0, 0, 0 };
	char batch_id[BILLING_ID_MAX];
	billing_txn *tx;
	int rc;

	/* This attempt starts from the checks before storage. */
	thresholds_free(in);
	for (i = 0; i < in->count; i++) {
		billing__free(items[i].subscription_id);
		items[i].subscription_id = NULL;
		items[i].status = in->pre[i].status;
		items[i].code = in->pre[i].code;
		items[i].field = in->pre[i].field;
		items[i].message = in->pre[i].message;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	if (!(order = billing__calloc(in->count, sizeof(*order))) ||
	    !(custs = billing__calloc(in->count, sizeof(*custs))) ||
	    !(recs = billing__calloc(in->count, sizeof(*recs))) ||
	    !(rec_of = billing__calloc(in->count, sizeof(*rec_of))) ||
	    !(inserted = billing__calloc(in->count, 1))) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		goto out;
	if ((rc = settings_read(&settings, ctx, tx, who->tenant_id)) < 0 ||
	    (rc = meters_load(&ms, ctx, tx, who->tenant_id)) < 0)
		goto end;
	grace = settings.grace_seconds;

	/* The customers, each once, in id order (a stable lock order). */
	for (i = 0, j = 0; i < in->count; i++)
		if (in->evs[i].ok)
			order[j++] = &in->evs[i];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	qsort(order, j, sizeof(*order), by_customer);
	for (i = 0; i < j; i = i + 1) {
		size_t k = i;
		int64_t min_ts = order[i]->timestamp;
		struct cust *c = &custs[ncust++];
		while (k + 1 < j && strcmp(order[k + 1]->in->customer_id,
			order[i]->in->customer_id) == 0) {
			k++;
			if (order[k]->timestamp < min_ts)
				min_ts = order[k]->timestamp;
		}
		c->id = order[i]->in->customer_id;
		if ((rc = customer_load(c, ctx, tx, who->tenant_id, min_ts)) < 0)
			goto end;
		for (; i <= k; i++) {
			struct ev *e = order[i];
			struct item *it = &items[e->index];
			const char *problem;
			billing_usage_event_record *r;
			if (!c->exists) {
				refuse(it, "resource_missing", "customerId",
					"no customer of the tenant has this id");
				continue;
			}
			if (e->timestamp < settings.pruned_before) {
				refuse(it, "period_pruned", "timestamp", "the events of this time were "
					"deleted by the tenant's retention: it takes none before the cutoff");
				continue;
			}
			if (e->timestamp < c->closed_until) {
				refuse(it, "late_event", "timestamp",
					"the event's period is closed: its usage was billed");
				continue;
			}
			if (c->subscription_id && e->timestamp < c->period_start &&
			    (e->timestamp < c->prev_start || now >= c->period_start + grace)) {
				refuse(it, "late_event", "timestamp",
					"the event is older than the current period's grace window");
				continue;
			}
			if ((problem = value_problem(&ms, e->in->event_name, e->props))) {
				refuse(it, "invalid_value", "properties", problem);
				continue;
			}
			r = &recs[nrec];
			r->tenant_id = who->tenant_id;
			r->transaction_id = e->in->transaction_id;
			r->event_name = e->in->event_name;
			r->customer_id = c->id;
			r->subscription_id = c->subscription_id;
			r->timestamp = e->timestamp;
			r->properties = e->props_text;
			r->received_at = now;
			r->version = 1;
			rec_of[nrec++] = e->index;
			if (c->subscription_id &&
			    !(it->subscription_id = billing__strdup(c->subscription_id))) {
				rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
				goto end;
			}
			if (!c->subscription_id) {
				it->code = "no_subscription";
				it->message = "the customer has no live subscription: the event is kept";
			}
		}
		i = k;
	}
	if (nrec && (rc = ctx->st->usage_insert(tx, recs, nrec, inserted)) < 0)
		goto end;
	for (i = 0; i < nrec; i++) {
		struct item *it = &items[rec_of[i]];
		if (inserted[i]) {
			it->status = BILLING_USAGE_ACCEPTED;
		} else {
			it->status = BILLING_USAGE_DUPLICATE;
			it->code = "duplicate";
			it->message = "an event with this transaction id was stored already";
			billing__free(it->subscription_id);
			it->subscription_id = NULL;
		}
	}
	if ((rc = thresholds_due(ctx, tx, in, who->tenant_id, custs, ncust, recs, inserted, nrec,
		now)) < 0)
		goto end;
	counts.accepted = billing_usage_result_tally(in->out, BILLING_USAGE_ACCEPTED);
	counts.duplicates = billing_usage_result_tally(in->out, BILLING_USAGE_DUPLICATE);
	counts.refused = billing_usage_result_tally(in->out, BILLING_USAGE_REFUSED);
	if (counts.accepted) {
		if (billing__id_new(batch_id, "ub", now * 1000) < 0) {
			rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
			goto end;
		}
		counts.id = batch_id;
		if ((rc = billing__event_emit(ctx, tx, who->tenant_id, "usage.ingested",
			"usage_batch", batch_id, batch_json, &counts)) < 0 ||
		    (rc = billing__audit_record(ctx, tx, who->tenant_id, batch_id)) < 0)
			goto end;
	}
end:
	rc = billing__end(ctx, tx, rc);
out:
	for (i = 0; i < ncust; i++)
		billing__free(custs[i].subscription_id);
	meters_free(&ms);
	billing__free(order);
	billing__free(custs);
	billing__free(recs);
	billing__free(rec_of);
	billing__free(inserted);
	return rc;
}

static int ingest_retry(billing_ctx *ctx, const billing_principal *who, struct ingest *in)
{
	BILLING__RETRY(ingest_once(ctx, who, in));
}

static int batch_args(const void *list, size_t count)
{
	if (!list || count == 0 || count > BILLING_USAGE_BATCH_MAX)
		return billing__error_field(BILLING_EINVALID, "invalid", "events",
			"a batch holds 1 to %d items", BILLING_USAGE_BATCH_MAX);
	return BILLING_OK;
}

int billing_usage_ingest(billing_usage_result **out, billing_ctx *ctx,
	const billing_principal *who, const billing_usage_event *events, size_t count)
{
	struct ingest in = { NULL, count, NULL, NULL, NULL, 0 };
	billing_usage_result *pre = NULL;
	size_t i;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_USAGE_INGEST)) < 0)
		return rc;
	if ((rc = storage_has(ctx, 12, "usage events")) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if ((rc = batch_args(events, count)) < 0)
		return rc;
	if (events[0].version != BILLING_USAGE_EVENT_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "events",
			"unknown billing_usage_event version %u", events[0].version);
	for (i = 1; i < count; i++)
		if (events[i].version != events[0].version)
			return billing__error_field(BILLING_EINVALID, "invalid_version", "events",
				"every event of a batch has the same version");
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	if (!(in.evs = billing__calloc(count, sizeof(*in.evs))) || !(pre = result_new(count)) ||
	    !(in.thresholds = billing__calloc(count, sizeof(*in.thresholds))) ||
	    !(in.out = result_new(count))) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	for (i = 0; i < count; i++) {
		in.evs[i].index = i;
		in.evs[i].in = event_at(events, i);
	}
	in.pre = pre->items;
	if ((rc = precheck(in.evs, pre->items, count, billing__now(ctx))) < 0)
		goto done;
	for (i = 0; i < count; i++) {
		in.out->items[i].transaction_id = pre->items[i].transaction_id;
		pre->items[i].transaction_id = NULL;
	}
	if ((rc = ingest_retry(ctx, who, &in)) < 0)
		goto done;
	/* The events are committed. Each subscription with a spend threshold
	 * that got some is evaluated now, in a transaction of its own; a
	 * failure is not the ingest's: the due work the batch wrote stays, and
	 * the billing run evaluates it (docs/usage.md, "Spend thresholds"). */
	for (i = 0; i < in.nthresholds; i++) {
		bool issued = false;
		if (billing__usage_threshold_run(ctx, who->tenant_id, in.thresholds[i], &issued) < 0) {
			billing__log(ctx, BILLING_LOG_WARN, "spend threshold of %s: %s (the billing "
				"run evaluates it again)", in.thresholds[i], billing_error_last()->message);
			billing_error_clear();
		}
	}
	*out = in.out;
	in.out = NULL;
done:
	thresholds_free(&in);
	billing__free(in.thresholds);
	for (i = 0; in.evs && i < count; i++) {
		cJSON_Delete(in.evs[i].props);
		cJSON_free(in.evs[i].props_text);
	}
	billing__free(in.evs);
	billing_usage_result_free(pre);
	billing_usage_result_free(in.out);
	return rc;
}

/* ------------------------------------------------------------ void */

static int event_row(void *payload, const void *record)
{
	billing_usage_event_record **e = payload;
	billing__free(*e);
	*e = billing__record_dup(&usage_event_res, record);
	return *e ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

struct covered {
	int64_t at;
	bool hit;
};

static int covered_row(void *payload, const void *record)
{
	struct covered *c = payload;
	const aggregate_record *a = record;
	if (a->period_start <= c->at && c->at < a->period_end)
		c->hit = true;
	return BILLING_OK;
}

static int void_once(billing_ctx *ctx, const billing_principal *who,
	const char *const *tids, billing_usage_result *r)
{
	int64_t now = billing__now(ctx);
	size_t i, voided = 0;
	billing_txn *tx;
	int rc;

	for (i = 0; i < r->count; i++) {
		r->items[i].status = 0;
		r->items[i].code = r->items[i].field = r->items[i].message = NULL;
	}
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	for (i = 0; i < r->count && rc >= 0; i++) {
		billing_usage_event_record *e = NULL;
		struct item *it = &r->items[i];
		struct covered cov = { 0, false };
		billing_filter f[2];

		if (!transaction_id_ok(tids[i])) {
			refuse(it, "invalid", "transactionIds", "a transaction id is 1-255 printable "
				"ASCII characters without spaces");
			continue;
		}
		rc = ctx->st->record_read(tx, &usage_event_res, who->tenant_id, tids[i],
			BILLING_LOCK_UPDATE, event_row, &e);
		if (rc == BILLING_ENOTFOUND) {
			rc = BILLING_OK;
			refuse(it, "resource_missing", "transactionIds", "no usage event has this "
				"transaction id");
			continue;
		}
		if (rc < 0)
			break;
		if (e->voided_at) {
			it->status = BILLING_USAGE_VOIDED;
			it->code = "already_voided";
			it->message = "the event was voided before";
			billing__free(e);
			continue;
		}
		memset(f, 0, sizeof(f));
		f[0].field = field_of(&aggregate_res, "customer_id");
		f[0].op = BILLING_FILTER_EQ;
		f[0].text = e->customer_id;
		f[1].field = field_of(&aggregate_res, "period_end");
		f[1].op = BILLING_FILTER_GT;
		f[1].num = e->timestamp;
		cov.at = e->timestamp;
		if ((rc = billing__list_all(ctx->st, tx, &aggregate_res, who->tenant_id, f, 2,
			covered_row, &cov)) < 0) {
			billing__free(e);
			break;
		}
		if (cov.hit) {
			refuse(it, "period_closed", "transactionIds", "the event's period is closed "
				"and billed: it can no longer be voided");
			billing__free(e);
			continue;
		}
		e->voided_at = now;
		e->version = 2;
		rc = ctx->st->record_update(tx, &usage_event_res, e, 1);
		billing__free(e);
		if (rc < 0)
			break;
		it->status = BILLING_USAGE_VOIDED;
		voided++;
	}
	if (rc >= 0 && voided) {
		struct batch_counts counts = { NULL, voided, 0, r->count - voided };
		char id[BILLING_ID_MAX];
		if (billing__id_new(id, "ub", now * 1000) < 0) {
			rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		} else {
			counts.id = id;
			if ((rc = billing__event_emit(ctx, tx, who->tenant_id, "usage.voided",
				"usage_batch", id, batch_json, &counts)) >= 0)
				rc = billing__audit_record(ctx, tx, who->tenant_id, id);
		}
	}
	return billing__end(ctx, tx, rc);
}

static int void_retry(billing_ctx *ctx, const billing_principal *who, const char *const *tids,
	billing_usage_result *r)
{
	BILLING__RETRY(void_once(ctx, who, tids, r));
}

int billing_usage_void(billing_usage_result **out, billing_ctx *ctx,
	const billing_principal *who, const char *const *transaction_ids, size_t count)
{
	billing_usage_result *r;
	size_t i;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_USAGE_VOID)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if ((rc = batch_args(transaction_ids, count)) < 0)
		return rc;
	if (!(r = result_new(count)))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (i = 0; i < count; i++)
		if (transaction_ids[i] &&
		    !(r->items[i].transaction_id = billing__strdup(transaction_ids[i]))) {
			billing_usage_result_free(r);
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		}
	if ((rc = void_retry(ctx, who, transaction_ids, r)) < 0) {
		billing_usage_result_free(r);
		return rc;
	}
	*out = r;
	return BILLING_OK;
}

/* ------------------------------------------------------------ aggregates */

/* The aggregate of meter m for customer over [from, to), by storage. */
static int compute(int64_t *value, int64_t *events, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const billing__meter *m, const char *customer_id, int64_t from,
	int64_t to)
{
	billing__metadata f;
	const char **keys = NULL, **values = NULL;
	billing_usage_query q;
	size_t i;
	int rc;

	if ((rc = storage_has(ctx, 12, "usage aggregation")) < 0)
		return rc;
	memset(&f, 0, sizeof(f));
	if (billing__metadata_decode(&f, m->filters_json ? m->filters_json : "{}") < 0)
		return billing__error_set(BILLING_ESTORAGE, "corrupt", "a meter's filters are not a "
			"JSON object of strings");
	if (f.count && (!(keys = billing__calloc(f.count, sizeof(*keys))) ||
	    !(values = billing__calloc(f.count, sizeof(*values))))) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	for (i = 0; i < f.count; i++) {
		keys[i] = f.entries[i].key;
		values[i] = f.entries[i].value;
	}
	memset(&q, 0, sizeof(q));
	q.event_name = m->event_name;
	q.customer_id = customer_id;
	q.from = from;
	q.to = to;
	q.aggregation = m->aggregation;
	q.value_property = m->value_property;
	q.filter_keys = keys;
	q.filter_values = values;
	q.filter_count = f.count;
	rc = ctx->st->usage_aggregate(tx, tenant_id, &q, value, events);
done:
	billing__free(keys);
	billing__free(values);
	billing__metadata_free(&f);
	return rc;
}

static int aggregate_row(void *payload, const void *record)
{
	aggregate_record *out = payload;
	const aggregate_record *a = record;
	out->period_end = a->period_end;
	out->value = a->value;
	out->events = a->events;
	return BILLING_OK;
}

/* A stored span's key: spans of one start with other ends are other rows
 * (a client may close [start, start + 5 days) while the subscription's
 * period [start, end) is open; its renewal then stores its own). */
static void aggregate_id(char *id, size_t size, const char *meter_id, const char *customer_id,
	int64_t from, int64_t to)
{
	snprintf(id, size, "%s/%s/%lld/%lld", meter_id, customer_id, (long long)from,
		(long long)to);
}

/* A period not stored that starts before the tenant's prune cutoff. */
static int pruned_period(void)
{
	return billing__error_field(BILLING_ECONFLICT, "period_pruned", "periodStart",
		"the events of this period were deleted by the tenant's retention and its "
		"aggregate was never stored");
}

static int aggregate_once(int64_t *value, int64_t *events, billing_ctx *ctx,
	const billing_principal *who, const char *meter_id, const char *customer_id,
	int64_t from, int64_t to)
{
	billing__meter *m = NULL;
	aggregate_record a;
	settings_record settings;
	int64_t now = billing__now(ctx), grace;
	char id[256];
	bool exists = false;
	billing_txn *tx;
	int rc;

	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	rc = ctx->st->record_read(tx, billing__res_meter, who->tenant_id, meter_id,
		BILLING_LOCK_NONE, meter_row_one, &m);
	if (rc == BILLING_ENOTFOUND)
		rc = billing__not_found("meter");
	if (rc < 0)
		goto end;
	rc = billing__read(ctx->st, tx, &billing__res_customer, who->tenant_id, customer_id,
		BILLING_LOCK_SHARE, exists_row, &exists);
	if (rc == BILLING_ENOTFOUND)
		rc = billing__not_found("customer");
	if (rc < 0 || (rc = settings_read(&settings, ctx, tx, who->tenant_id)) < 0)
		goto end;
	grace = settings.grace_seconds;
	if (now < to + grace) {
		/* Open: computed every time (a period of a live subscription
		 * starts after any cutoff: billing_usage_prune keeps it). */
		if (from < settings.pruned_before)
			rc = pruned_period();
		else
			rc = compute(value, events, ctx, tx, who->tenant_id, m, customer_id, from,
				to);
		goto end;
	}
	aggregate_id(id, sizeof(id), meter_id, customer_id, from, to);
	memset(&a, 0, sizeof(a));
	rc = ctx->st->record_read(tx, &aggregate_res, who->tenant_id, id, BILLING_LOCK_NONE,
		aggregate_row, &a);
	if (rc == BILLING_OK) {
		*value = a.value;
		*events = a.events;
		goto end;
	}
	if (rc != BILLING_ENOTFOUND)
		goto end;
	if (from < settings.pruned_before) {
		/* Its events are gone: a sum now would be wrong, not old. */
		rc = pruned_period();
		goto end;
	}
	if ((rc = compute(value, events, ctx, tx, who->tenant_id, m, customer_id, from, to)) < 0)
		goto end;
	a.tenant_id = who->tenant_id;
	a.id = id;
	a.meter_id = meter_id;
	a.customer_id = customer_id;
	a.period_start = from;
	a.period_end = to;
	a.value = *value;
	a.events = *events;
	a.created_at = now;
	rc = ctx->st->record_insert(tx, &aggregate_res, &a);
end:
	billing__free(m);
	return billing__end(ctx, tx, rc);
}

static int aggregate_retry(int64_t *value, int64_t *events, billing_ctx *ctx,
	const billing_principal *who, const char *meter_id, const char *customer_id,
	int64_t from, int64_t to)
{
	BILLING__RETRY(aggregate_once(value, events, ctx, who, meter_id, customer_id, from, to));
}

int billing_usage_aggregate(int64_t *value, int64_t *events, billing_ctx *ctx,
	const billing_principal *who, const char *meter_id, const char *customer_id,
	int64_t period_start, int64_t period_end)
{
	int64_t v = 0, n = 0;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_USAGE_AGGREGATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(value, "value");
	*value = 0;
	if (events)
		*events = 0;
	if (!billing__id_arg_ok(meter_id, "mtr"))
		return billing__not_found("meter");
	if (!billing__id_arg_ok(customer_id, "cus"))
		return billing__not_found("customer");
	if (period_start < 0 || period_end <= period_start)
		return billing__error_field(BILLING_EINVALID, "invalid", "periodEnd",
			"the period must end after it starts");
	if ((rc = aggregate_retry(&v, &n, ctx, who, meter_id, customer_id, period_start,
		period_end)) < 0)
		return rc;
	*value = v;
	if (events)
		*events = n;
	return BILLING_OK;
}

/* ------------------------------------------------------------ retention */

/* The earliest current period start of the subscriptions that have not
 * ended: their periods are not billed yet. */
static int unbilled_row(void *payload, const void *record)
{
	int64_t *at = payload;
	const billing_subscription_record *r = record;
	if (r->current_period_start < *at)
		*at = r->current_period_start;
	return BILLING_OK;
}

struct prune_counts {
	const char *id;
	int64_t cutoff;
	int64_t retention_days;
};

static cJSON *prune_json(const void *item)
{
	const struct prune_counts *p = item;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", p->id);
	cJSON_AddStringToObject(o, "object", "usage_prune");
	cJSON_AddNumberToObject(o, "cutoff", (double)p->cutoff);
	cJSON_AddNumberToObject(o, "retentionDays", (double)p->retention_days);
	return o;
}

/* Sets the tenant's cutoff (0 with no retention) in one transaction: the
 * earlier of now less the retention and the oldest unbilled period's
 * start, never lower than the last prune's. */
static int prune_mark_once(int64_t *cutoff, billing_ctx *ctx, const billing_principal *who)
{
	int64_t now = billing__now(ctx), at;
	struct prune_counts counts = { NULL, 0, 0 };
	char id[BILLING_ID_MAX];
	settings_record r;
	billing_filter f;
	billing_txn *tx;
	int rc;

	*cutoff = 0;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__settings_lock(&r, &usage_settings, ctx, tx, who->tenant_id)) < 0 ||
	    r.retention_days == 0)
		goto end;
	at = now - r.retention_days * 86400;
	memset(&f, 0, sizeof(f));
	f.field = field_of(&billing__res_subscription, "status");
	f.op = BILLING_FILTER_NOT_IN_SET;
	f.set = &billing__sub_ended;
	if ((rc = billing__list_all(ctx->st, tx, &billing__res_subscription, who->tenant_id, &f, 1,
		unbilled_row, &at)) < 0)
		goto end;
	if (at < r.pruned_before)
		at = r.pruned_before;
	if (at < 0)
		at = 0;
	*cutoff = at;
	r.pruned_before = at;
	r.updated_at = now;
	if (billing__id_new(id, "ub", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto end;
	}
	counts.id = id;
	counts.cutoff = at;
	counts.retention_days = r.retention_days;
	if ((rc = billing__record_put(ctx->st, tx, &settings_res, &r)) < 0 ||
	    (rc = billing__event_emit(ctx, tx, who->tenant_id, "usage.pruned", "usage_prune", id,
		prune_json, &counts)) < 0)
		goto end;
	rc = billing__audit_record(ctx, tx, who->tenant_id, id);
end:
	return billing__end(ctx, tx, rc);
}

static int prune_mark(int64_t *cutoff, billing_ctx *ctx, const billing_principal *who)
{
	BILLING__RETRY(prune_mark_once(cutoff, ctx, who));
}

static int prune_batch_once(int64_t *deleted, billing_ctx *ctx, const billing_principal *who,
	int64_t cutoff)
{
	billing_txn *tx;
	int rc;
	*deleted = 0;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	return billing__end(ctx, tx, ctx->st->usage_prune(tx, who->tenant_id, cutoff,
		BILLING_USAGE_PRUNE_BATCH, deleted));
}

static int prune_batch(int64_t *deleted, billing_ctx *ctx, const billing_principal *who,
	int64_t cutoff)
{
	BILLING__RETRY(prune_batch_once(deleted, ctx, who, cutoff));
}

int billing_usage_prune(int64_t *deleted, int64_t *cutoff, billing_ctx *ctx,
	const billing_principal *who)
{
	int64_t at = 0, total = 0, n = 0;
	int rc;

	if (deleted)
		*deleted = 0;
	if (cutoff)
		*cutoff = 0;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_USAGE_PRUNE)) < 0)
		return rc;
	if ((rc = storage_has(ctx, 13, "usage prune")) < 0)
		return rc;
	if ((rc = prune_mark(&at, ctx, who)) < 0)
		return rc;
	/* Batches in their own transactions: short locks, bounded work; the
	 * cutoff is set already, so a failure here leaves events that a later
	 * call deletes, and none that a new event could join. */
	do {
		if (at == 0 || (rc = prune_batch(&n, ctx, who, at)) < 0)
			break;
		total += n;
	} while (n == BILLING_USAGE_PRUNE_BATCH);
	if (deleted)
		*deleted = total;
	if (cutoff)
		*cutoff = at;
	return rc;
}

/* ------------------------------------------------------------ billing in arrears */

int billing__usage_grace_in(int64_t *grace, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	return grace_read(grace, ctx, tx, tenant_id);
}


int billing__usage_stored(int64_t *value, int64_t *period_end, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *meter_id, const char *customer_id,
	int64_t from, int64_t to)
{
	aggregate_record a;
	char id[256];
	int rc;

	aggregate_id(id, sizeof(id), meter_id, customer_id, from, to);
	memset(&a, 0, sizeof(a));
	if ((rc = ctx->st->record_read(tx, &aggregate_res, tenant_id, id, BILLING_LOCK_NONE,
		aggregate_row, &a)) < 0)
		return rc;
	*value = a.value;
	*period_end = a.period_end;
	return BILLING_OK;
}

int billing__usage_value(int64_t *value, int64_t *events, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *meter_id, const char *customer_id, int64_t from,
	int64_t to, bool close)
{
	billing__meter *m = NULL;
	aggregate_record a;
	char id[256];
	int rc;

	*value = *events = 0;
	if (close) {
		aggregate_id(id, sizeof(id), meter_id, customer_id, from, to);
		memset(&a, 0, sizeof(a));
		rc = ctx->st->record_read(tx, &aggregate_res, tenant_id, id, BILLING_LOCK_NONE,
			aggregate_row, &a);
		if (rc == BILLING_OK) {
			*value = a.value;
			*events = a.events;
			return BILLING_OK;
		}
		if (rc != BILLING_ENOTFOUND)
			return rc;
	}
	rc = billing__read(ctx->st, tx, billing__res_meter, tenant_id, meter_id, BILLING_LOCK_NONE,
		meter_row_one, &m);
	if (rc == BILLING_ENOTFOUND)
		rc = billing__error_set(BILLING_ERROR, "corrupt", "the meter %s of a metered plan "
			"is missing", meter_id);
	if (rc < 0 ||
	    (rc = compute(value, events, ctx, tx, tenant_id, m, customer_id, from, to)) < 0 ||
	    !close)
		goto done;
	a.tenant_id = tenant_id;
	a.id = id;
	a.meter_id = meter_id;
	a.customer_id = customer_id;
	a.period_start = from;
	a.period_end = to;
	a.value = *value;
	a.events = *events;
	a.created_at = billing__now(ctx);
	rc = ctx->st->record_insert(tx, &aggregate_res, &a);
done:
	billing__free(m);
	return rc;
}

/* ------------------------------------------------------------ spend thresholds */

static void billed_id(char *out, size_t size, const char *subscription_id, const char *item_id,
	const char *meter_id, int64_t period_start)
{
	snprintf(out, size, "%s/%s/%s/%lld", subscription_id, item_id, meter_id,
		(long long)period_start);
}

static int billed_row(void *payload, const void *record)
{
	const billing__usage_billed_record *b = record;
	int64_t *out = payload;
	out[0] = b->amount;
	out[1] = b->quantity;
	out[2] = b->version;
	return BILLING_OK;
}

int billing__usage_billed_get(int64_t *amount, int64_t *quantity, billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *subscription_id, const char *item_id,
	const char *meter_id, int64_t period_start, int lock)
{
	char id[256];
	int64_t v[3] = { 0, 0, 0 };
	int rc;

	billed_id(id, sizeof(id), subscription_id, item_id, meter_id, period_start);
	rc = ctx->st->record_read(tx, &billing__res_usage_billed, tenant_id, id, lock, billed_row,
		v);
	if (rc < 0 && rc != BILLING_ENOTFOUND)
		return rc;
	*amount = v[0];
	*quantity = v[1];
	return BILLING_OK;
}

int billing__usage_billed_set(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *subscription_id, const char *item_id, const char *meter_id,
	int64_t period_start, int64_t amount, int64_t quantity)
{
	billing__usage_billed_record b;
	char id[256];
	int64_t v[3] = { 0, 0, 0 };
	int rc;

	billed_id(id, sizeof(id), subscription_id, item_id, meter_id, period_start);
	rc = ctx->st->record_read(tx, &billing__res_usage_billed, tenant_id, id,
		BILLING_LOCK_UPDATE, billed_row, v);
	if (rc < 0 && rc != BILLING_ENOTFOUND)
		return rc;
	memset(&b, 0, sizeof(b));
	b.tenant_id = tenant_id;
	b.id = id;
	b.subscription_id = subscription_id;
	b.item_id = item_id;
	b.meter_id = meter_id;
	b.period_start = period_start;
	b.amount = amount;
	b.quantity = quantity;
	b.updated_at = billing__now(ctx);
	if (rc == BILLING_ENOTFOUND) {
		b.version = 1;
		return ctx->st->record_insert(tx, &billing__res_usage_billed, &b);
	}
	b.version = v[2] + 1;
	return ctx->st->record_update(tx, &billing__res_usage_billed, &b, v[2]);
}

/* ------------------------------------------------------------ summary */

struct summary_item {
	char *meter_id;
	int64_t value;
	int64_t events;
	int64_t amount;              /* what the subscription's metered items would bill */
	int64_t billed_amount;       /* what threshold invoices of the period billed of it */
};

struct billing_usage_summary {
	char *subscription_id;
	int64_t period_start;
	int64_t period_end;
	size_t count;
	struct summary_item *items;
};

void billing_usage_summary_free(billing_usage_summary *s)
{
	size_t i;
	if (!s)
		return;
	for (i = 0; i < s->count; i++)
		billing__free(s->items[i].meter_id);
	billing__free(s->items);
	billing__free(s->subscription_id);
	billing__free(s);
}

static int subscription_row(void *payload, const void *record)
{
	billing_subscription_record **s = payload;
	billing__free(*s);
	*s = billing__record_dup(&billing__res_subscription, record);
	return *s ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

/* What each meter's running value would bill: for every metered item of
 * sub, the line its period's end would bill (billing__plan_line, the
 * plan's model, as billing__subscription_usage_lines). */
static int summary_amounts(billing_usage_summary *s, billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *sub)
{
	billing__sub_items it;
	billing__plan_info plan;
	billing_invoice_line line;
	char *desc;
	size_t i, k;
	int rc;

	if (!(desc = billing__malloc(BILLING__PLAN_LINE_TEXT)))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((rc = billing__sub_items_load(&it, ctx, tx, sub->tenant_id, sub->id)) < 0) {
		billing__free(desc);
		return rc;
	}
	for (i = 0; rc == BILLING_OK && i < it.n; i++) {
		if ((rc = billing__plan_info_get(&plan, ctx, tx, sub->tenant_id, it.v[i]->plan_id)) < 0)
			break;
		if (plan.usage_type != BILLING__USAGE_METERED)
			continue;
		for (k = 0; k < s->count; k++) {
			struct summary_item *m = &s->items[k];
			if (strcmp(m->meter_id, plan.meter_id) != 0)
				continue;
			if (m->value > INT32_MAX) {
				rc = billing__error_set(BILLING_EOVERFLOW, "usage_too_large",
					"the usage of item %s does not fit a line's quantity", it.v[i]->id);
				break;
			}
			if ((rc = billing__plan_line(&line, &plan, m->value < 0 ? 0 : (int32_t)m->value,
				s->period_start, s->period_end, desc, BILLING__PLAN_LINE_TEXT, NULL)) < 0)
				break;
			/* At most 20 items of at most BILLING_AMOUNT_MAX each: no overflow. */
			m->amount += line.amount;
			{
				int64_t billed = 0, quantity = 0;
				if ((rc = billing__usage_billed_get(&billed, &quantity, ctx, tx,
					sub->tenant_id, sub->id, it.v[i]->id, plan.meter_id,
					s->period_start, BILLING_LOCK_NONE)) < 0)
					break;
				m->billed_amount += billed;
			}
		}
	}
	billing__sub_items_free(&it);
	billing__free(desc);
	return rc;
}

int billing_usage_summary_get(billing_usage_summary **out, billing_ctx *ctx,
	const billing_principal *who, const char *subscription_id)
{
	billing_subscription_record *sub = NULL;
	struct meters ms = { NULL, NULL, 0, 0 };
	billing_usage_summary *s = NULL;
	billing_txn *tx;
	size_t i;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_USAGE_SUMMARY)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if (!billing__id_arg_ok(subscription_id, billing__res_subscription.prefix))
		return billing__not_found("subscription");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_SNAPSHOT)) < 0)
		return rc;
	rc = billing__read(ctx->st, tx, &billing__res_subscription, who->tenant_id,
		subscription_id, BILLING_LOCK_NONE, subscription_row, &sub);
	if (rc == BILLING_ENOTFOUND)
		rc = billing__not_found("subscription");
	if (rc < 0 || (rc = meters_load(&ms, ctx, tx, who->tenant_id)) < 0)
		goto end;
	if (!(s = billing__calloc(1, sizeof(*s))) ||
	    (ms.count && !(s->items = billing__calloc(ms.count, sizeof(*s->items)))) ||
	    !(s->subscription_id = billing__strdup(sub->id))) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto end;
	}
	s->period_start = sub->current_period_start;
	s->period_end = sub->current_period_end;
	for (i = 0; i < ms.count; i++) {
		struct summary_item *it = &s->items[i];
		if (!(it->meter_id = billing__strdup(ms.m[i]->id))) {
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			goto end;
		}
		s->count++;
		if ((rc = compute(&it->value, &it->events, ctx, tx, who->tenant_id, ms.m[i],
			sub->customer_id, s->period_start, s->period_end)) < 0)
			goto end;
	}
	/* The amount each meter's usage would bill now: the lines the period's
	 * end would bill (billing__subscription_usage_lines, the plan's model),
	 * from the running aggregates. */
	if (sub->status != BILLING_SUB_TRIALING && !billing__subscription_ended(sub->status))
		rc = summary_amounts(s, ctx, tx, sub);
end:
	rc = billing__end(ctx, tx, rc);
	meters_free(&ms);
	billing__free(sub);
	if (rc < 0) {
		billing_usage_summary_free(s);
		return rc;
	}
	*out = s;
	return BILLING_OK;
}

static const struct summary_item *summary_at(const billing_usage_summary *s, size_t i)
{
	return s && i < s->count ? &s->items[i] : NULL;
}

const char *billing_usage_summary_subscription_id(const billing_usage_summary *s)
{
	return s ? s->subscription_id : NULL;
}

int64_t billing_usage_summary_period_start(const billing_usage_summary *s)
{
	return s ? s->period_start : 0;
}

int64_t billing_usage_summary_period_end(const billing_usage_summary *s)
{
	return s ? s->period_end : 0;
}

size_t billing_usage_summary_count(const billing_usage_summary *s)
{
	return s ? s->count : 0;
}

const char *billing_usage_summary_meter_id(const billing_usage_summary *s, size_t i)
{
	const struct summary_item *it = summary_at(s, i);
	return it ? it->meter_id : NULL;
}

int64_t billing_usage_summary_value(const billing_usage_summary *s, size_t i)
{
	const struct summary_item *it = summary_at(s, i);
	return it ? it->value : 0;
}

int64_t billing_usage_summary_events(const billing_usage_summary *s, size_t i)
{
	const struct summary_item *it = summary_at(s, i);
	return it ? it->events : 0;
}

int64_t billing_usage_summary_amount(const billing_usage_summary *s, size_t i)
{
	const struct summary_item *it = summary_at(s, i);
	return it ? it->amount : 0;
}

int64_t billing_usage_summary_billed_amount(const billing_usage_summary *s, size_t i)
{
	const struct summary_item *it = summary_at(s, i);
	return it ? it->billed_amount : 0;
}
