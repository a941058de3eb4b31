/*
 * The JSON operation layer's shared parts (json_ops.c: the catalog, the
 * dispatch and the input checking; json_record.c: the generic adapter of
 * the objects on the generic flow). Not for other modules.
 */
#ifndef BILLING_CORE_JSON_OPS_H
#define BILLING_CORE_JSON_OPS_H

#include <cJSON.h>
#include <stdbool.h>

#include "billing/billing.h"
#include "core/resource.h"

/* The JSON type of an input field, as the catalog names it (type_name). */
typedef enum { T_STRING, T_INTEGER, T_BOOLEAN, T_OBJECT, T_RATE, T_INT_ARRAY, T_STR_ARRAY } field_type;

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

/* ---- the generic adapter (json_record.c) */

/*
 * The input fields of a generic operation of res (BILLING_RESOURCE_OP_*):
 * a new array ending with { NULL } (billing__free), made from the
 * descriptor's api and FILTER / RANGE flags, or NULL when out of memory.
 */
field_spec *billing__json_record_spec(const billing_resource *res, unsigned int op);

/* Runs a generic operation of rules' object with in (checked against
 * billing__json_record_spec already). */
int billing__json_record_call(cJSON **result, const billing__rules *rules, unsigned int op,
	billing_ctx *ctx, const billing_principal *who, const cJSON *in,
	const billing_call_options *opts);

/* The catalog's shape of a descriptor object into list (json.h). */
bool billing__json_record_shape(cJSON *list, const billing_resource *res);

#endif
