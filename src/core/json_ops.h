/*
 * The JSON operation layer's shared parts: json_ops.c (the catalog and
 * the dispatch), json_ops_io.c (input checking and the answers' common
 * shapes), json_ops_<area>.c (the hand-written operations of an area, each
 * with its table of entries) and json_record.c (the generic adapter of the
 * objects on the generic flow). Not for other modules.
 */
#ifndef BILLING_CORE_JSON_OPS_H
#define BILLING_CORE_JSON_OPS_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "billing/billing.h"
#include "core/json_exact.h"
#include "core/permissions.h"
#include "core/resource.h"

/* The JSON type of an input field, as the catalog names it (type_name). */
typedef enum {
	T_STRING, T_INTEGER, T_BOOLEAN, T_OBJECT, T_RATE, T_INT_ARRAY, T_STR_ARRAY,
	T_OBJ_ARRAY               /* an array of objects (credit notes' lines) */
} field_type;

/* One input field of an operation; a list of them ends with { NULL }. */
typedef struct {
	const char *name;
	field_type type;
	bool required;
	bool nullable;
	const char *description;
} field_spec;

/* The input fields of every list (paging, search, sort). */
#define LIST_FIELDS \
	{ "limit", T_INTEGER, false, false, "page size, 1-100 (default 20)" }, \
	{ "pageSize", T_INTEGER, false, false, "alias of limit" }, \
	{ "page", T_INTEGER, false, false, \
		"page number from 1 (default 1 without startingAfter): page mode, with totals" }, \
	{ "startingAfter", T_STRING, false, false, \
		"cursor: the nextCursor of the previous page; keyset mode, without totals" }, \
	{ "search", T_STRING, false, false, "case-insensitive substring" }, \
	{ "q", T_STRING, false, false, "alias of search" }, \
	{ "sortBy", T_STRING, false, false, "field to sort by" }, \
	{ "sort", T_STRING, false, false, "alias of sortBy" }, \
	{ "order", T_STRING, false, false, "asc or desc" }
#define LIST_FIELD_COUNT 9

/* ---- hand-written operations (json_ops.c and json_ops_<area>.c) */

/* Runs an operation with its input, checked against its fields already;
 * *result receives the answer (new). */
typedef int (*op_fn)(cJSON **result, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts);

/* What an operation answers with: one object of a shape (json_out.h), or
 * a page of them. */
typedef enum { OUT_OBJECT, OUT_PAGE } out_kind;

/* A hand-written operation's catalog entry. */
typedef struct {
	billing__op op;
	op_fn run;
	const char *description;
	const field_spec *fields; /* ends with { NULL } */
	out_kind out;
	const char *shape;        /* billing__json_shapes() name */
} op_entry;

/* The entries of each area, in the catalog's order (json_ops.c lists the
 * areas); together exactly one per billing__op. */
#define BILLING__JSON_AREA(name) \
	extern const op_entry billing__json_ops_##name[]; \
	extern const size_t billing__json_ops_##name##_count
BILLING__JSON_AREA(customer);     /* tenants (customers: the generic flow) */
BILLING__JSON_AREA(subscription);
BILLING__JSON_AREA(invoice);
BILLING__JSON_AREA(event);
BILLING__JSON_AREA(payment);      /* invoices.pay, payments, dunning */
BILLING__JSON_AREA(webhook);      /* endpoints, deliveries, redelivery */
BILLING__JSON_AREA(audit);
BILLING__JSON_AREA(payment_method); /* payment methods' writes, setup intents */
BILLING__JSON_AREA(provider_account);
BILLING__JSON_AREA(credit_note);  /* credit notes' create, void, preview */
BILLING__JSON_AREA(usage);        /* usage events, aggregates, the grace window */
BILLING__JSON_AREA(subscription_item); /* items' create, update, delete, preview */
BILLING__JSON_AREA(report);       /* revenue reports (MRR) */
BILLING__JSON_AREA(document);     /* the tenant's branding */

/* After an area's table: defines its count. */
#define BILLING__JSON_AREA_END(name) \
	const size_t billing__json_ops_##name##_count = \
		sizeof(billing__json_ops_##name) / sizeof(billing__json_ops_##name[0])

/* Input fields several operations share (json_ops.c): the id alone; id
 * and expectedVersion (deletes); a list's alone; none. */
extern const field_spec billing__json_f_id_only[];
extern const field_spec billing__json_f_delete[];
extern const field_spec billing__json_f_list_only[];
extern const field_spec billing__json_f_none[];

/* ---- input (json_ops_io.c) */

/* Member name of in, or NULL. */
static inline const cJSON *jget(const cJSON *in, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(in, name);
}

/* Whether in has the member name (null included). */
static inline bool jhas(const cJSON *in, const char *name)
{
	return jget(in, name) != NULL;
}

/* The string member name of in, or NULL. */
static inline const char *jstr(const cJSON *in, const char *name)
{
	const cJSON *v = jget(in, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An integer member (0 when absent): billing__json_check_fields has made
 * sure an integer field holds an exact int64. */
static inline int64_t ji64(const cJSON *in, const char *name)
{
	int64_t v = 0;
	if (billing__jx_int(jget(in, name), &v) != BILLING__JX_INT_OK)
		return 0;
	return v;
}

/* An int32 member: out-of-range values become a value the typed call
 * rejects with its own message, never a silent wrap. */
static inline int32_t ji32(const cJSON *in, const char *name)
{
	int64_t v = ji64(in, name);
	if (v > INT32_MAX)
		return INT32_MAX;
	if (v < INT32_MIN)
		return INT32_MIN;
	return (int32_t)v;
}

/* A boolean member as a tristate (BILLING_UNSET when absent). */
static inline billing_tristate jtri(const cJSON *in, const char *name)
{
	const cJSON *v = jget(in, name);
	if (!cJSON_IsBool(v))
		return BILLING_UNSET;
	return cJSON_IsTrue(v) ? BILLING_TRUE : BILLING_FALSE;
}

/* Metadata entries borrowed from an input's "metadata" object. */
typedef struct {
	billing_metadata_entry items[BILLING_METADATA_MAX_KEYS + 1];
	size_t count;
} billing__json_md;

/* The "metadata" member of in into m (count 0 when absent or null);
 * BILLING_EINVALID for a value that is not a string or too many keys. */
int billing__json_metadata_in(billing__json_md *m, const cJSON *in);

/* A rate member (a decimal 0 <= r < 1 with at most 4 places, as a string
 * or a JSON number) in basis points of 10^-4; 0 when absent. */
int billing__json_rate_in(int32_t *bp, const cJSON *in, const char *name);

/* A "status" filter given by name: the value v in first..last whose
 * name(v) it is into *out (0 when absent); else BILLING_EINVALID "status
 * must be <choices>". */
int billing__json_status_in(const cJSON *in, int first, int last, const char *(*name)(int),
	int *out, const char *choices);

/* BILLING_EINVALID naming field, with a formatted message. */
int billing__json_field_error(const char *field, const char *fmt, ...) BILLING__PRINTF(2, 3);

/* BILLING_ENOMEM. */
int billing__json_nomem(void);

/* Checks in against spec: unknown fields, nulls, JSON types, and every
 * missing required field in one answer; BILLING_EINVALID naming them. */
int billing__json_check_fields(const cJSON *in, const field_spec *spec);

/* The paging, search and sort members of a list's input. */
int billing__json_list_in(billing_list_params *p, const cJSON *in);

/* The list envelope of page around data (taken); frees page. */
int billing__json_page_wrap(cJSON **result, billing_page *page, cJSON *data);

/* {"id": id, "deleted": true}. */
int billing__json_deleted(cJSON **result, const char *id);

/* ---- output of the typed calls (json_ops_io.c); rc is the call's: an
 * error passes through (and the item or page, NULL then, is not read). */

/* *result = to_json(item); frees item with free_fn. */
int billing__json_item_out(cJSON **result, int rc, void *item, cJSON *(*to_json)(const void *),
	void (*free_fn)(void *));

/* The list envelope of page, each item by at() and to_json(); frees page. */
int billing__json_page_out(cJSON **result, int rc, billing_page *page,
	const void *(*at)(const billing_page *, size_t), cJSON *(*to_json)(const void *));

/* billing__json_deleted of id when rc is not an error. */
int billing__json_deleted_out(cJSON **result, int rc, const char *id);

/* ---- the generic adapter (json_record.c) */

/*
 * The input fields of a generic operation of res (BILLING_RESOURCE_OP_*):
 * a new array ending with { NULL } (billing__free), made from the
 * descriptor's api and FILTER / RANGE flags, or NULL when out of memory.
 */
field_spec *billing__json_record_spec(const billing_resource *res, unsigned int op);

/* The same for an object on the generic flow, with what its rules add:
 * its own list filters and id line (billing__rules). */
field_spec *billing__json_rules_spec(const billing__rules *rules, unsigned int op);

/* Runs a generic operation of rules' object with in (checked against
 * billing__json_record_spec already). */
int billing__json_record_call(cJSON **result, const billing__rules *rules, unsigned int op,
	billing_ctx *ctx, const billing_principal *who, const cJSON *in,
	const billing_call_options *opts);

/* The catalog's shape of a descriptor object into list (json.h). */
bool billing__json_record_shape(cJSON *list, const billing_resource *res);

/* Short names inside the json_ops*.c files. */
#define field_error billing__json_field_error
#define check_fields billing__json_check_fields
#define list_in billing__json_list_in
#define nomem billing__json_nomem
#define metadata_in billing__json_metadata_in
#define md_in billing__json_md
#define rate_in billing__json_rate_in
#define status_in billing__json_status_in
#define item_out billing__json_item_out
#define page_out billing__json_page_out
#define deleted_out billing__json_deleted_out
#define f_id_only billing__json_f_id_only
#define f_delete billing__json_f_delete
#define f_list_only billing__json_f_list_only
#define f_none billing__json_f_none

#endif
