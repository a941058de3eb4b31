/*
 * The JSON form of each resource, shared by the JSON operation layer (its
 * answers) and domain events (their snapshots), so both show a resource
 * the same way. Field names are API-HTTP.md's.
 */
#ifndef BILLING_CORE_JSON_OUT_H
#define BILLING_CORE_JSON_OUT_H

#include <cJSON.h>
#include <stdbool.h>

#include "billing/billing.h"

/* Builders add members and remember a failed allocation, checked once. */
typedef struct {
	cJSON *obj;
	bool failed;
} billing__jb;

void billing__jb_add(billing__jb *b, const char *name, cJSON *v);
void billing__jb_num(billing__jb *b, const char *name, int64_t v);
/* The object, or NULL (freed) when anything failed. */
cJSON *billing__jb_done(billing__jb *b);

/* RFC 3339 UTC with whole seconds; JSON null for 0 when zero_is_null. */
cJSON *billing__json_time(int64_t t);
cJSON *billing__json_time_or_null(int64_t t);
cJSON *billing__json_str_or_null(const char *s);

/* Each returns a new object, or NULL when out of memory. */
cJSON *billing__json_tenant(const void *tenant);
cJSON *billing__json_subscription(const void *subscription);
cJSON *billing__json_invoice(const void *invoice);
cJSON *billing__json_event(const void *event);
cJSON *billing__json_payment(const void *payment);
/* Never the secret: see billing_webhook_endpoint_secret(). */
cJSON *billing__json_webhook_endpoint(const void *endpoint);
cJSON *billing__json_webhook_delivery(const void *delivery);
cJSON *billing__json_audit_entry(const void *entry);

/*
 * The shapes of the objects the writers above answer with, for the
 * catalog (billing_catalog_json "shapes"), the OpenAPI document and the
 * bindings' types. A field's type is a string:
 *   string, integer, number (a decimal such as taxRate), boolean,
 *   time (RFC 3339 UTC text), metadata (string values by the caller's
 *   keys), object (any JSON object), 'a' | 'b' (one of these strings),
 *   true, null, or the name of another shape; a trailing [] makes an
 *   array of it, a trailing ? adds null.
 * A shape with extends has its parent's fields, then its own (which
 * replace a parent's field of the same name).
 */
typedef struct {
	const char *name;
	const char *type;
	bool optional;               /* some answers leave it out */
} billing__shape_field;

typedef struct {
	const char *name;            /* "Customer" */
	const char *doc;             /* one sentence */
	const char *extends;         /* NULL, or the parent shape */
	const billing__shape_field *fields; /* ends with { NULL, NULL } */
} billing__shape;

/* Every shape, in a fixed order; *count receives how many. */
const billing__shape *billing__json_shapes(size_t *count);

/* The resource as unformatted JSON text (billing__free), or NULL. */
char *billing__json_text(cJSON *(*to_json)(const void *item), const void *item);

/* The same, and the text of its top-level string member `member` copied
 * into out (cap bytes; "" when the member is absent, not a string, or too
 * long for out). */
char *billing__json_text_member(cJSON *(*to_json)(const void *item), const void *item,
	const char *member, char *out, size_t cap);

#endif
