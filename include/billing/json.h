/**
 * @file billing/json.h
 * @brief The JSON operation layer: every domain call by name, JSON in and out.
 *
 * This is how the HTTP server and the language bindings reach the library,
 * so that each operation is mapped once. Field names are camelCase exactly
 * as in the HTTP API; unknown fields and wrong types are BILLING_EINVALID.
 * So are a NUL or raw control character in any string or key and a key
 * given twice (the error names the field: "name", "metadata.foo").
 * Integers are exact int64 in both directions, never rounded through a
 * double.
 *
 * @code
 * char *out = NULL;
 * const char *in = "{\"name\":\"Ada\",\"email\":\"ada@example.com\"}";
 * int rc = billing_call_json(&out, ctx, &who, "customers.create", in, strlen(in), NULL);
 * puts(out);            // the customer, or {"error":{...}} when rc < 0
 * billing_free(out);
 * @endcode
 */
#ifndef BILLING_JSON_H
#define BILLING_JSON_H

#include "common.h"
#include "principal.h"

BILLING_BEGIN_DECL

/**
 * Runs one operation.
 *
 * @param out      receives a new NUL-terminated JSON text (free with
 *                 billing_free()), also on failure: on success the result
 *                 (a resource; a list envelope {"data":[...],"hasMore",
 *                 "nextCursor",...}; or {"id","deleted":true}); on failure
 *                 {"error":{"status","name","code","message","field",
 *                 "errors":[{"field","message"}]}} with the same content as
 *                 billing_error_last(). NULL only when out of memory.
 * @param operation a name from the catalog, such as "customers.create"
 * @param json     the input object (may be NULL or empty for "{}")
 * @param len      its length in bytes
 * @param opts     idempotency key for mutating operations, or NULL
 * @return BILLING_OK or the operation's error code; BILLING_ENOTFOUND
 *         (reason "unknown_operation") for an operation not in the catalog
 */
BILLING_EXTERN(int) billing_call_json(char **out, billing_ctx *ctx,
	const billing_principal *who, const char *operation,
	const char *json, size_t len, const billing_call_options *opts);

/**
 * The operation catalog as JSON: {"version", "operations":[{"name",
 * "roles":[...], "mutating", "description", "input":[{"name","type",
 * "required","nullable","description"}], "output":{"kind","shape"}}],
 * "shapes":[{"name","doc","extends","fields":[{"name","type","optional"}]}],
 * "resources":[{"name","plural","path","title","description",
 * "operations":["create","get","update","delete","list"]}]}.
 * An output's kind is "object" (one object of the shape) or "page" (a
 * list envelope whose data are of the shape). A shape's fields are in the
 * order the answers write them; "extends" (absent for most) names a shape
 * whose fields come first, a field of the same name replaced. A field's
 * type is one of string, integer, number, boolean, time (RFC 3339 UTC),
 * metadata (an object of strings), object, true, null, 'a' | 'b' (one of
 * these strings) or a shape's name, followed by [] for an array of it and
 * ? when it may be null. A field with "optional": true may be left out of
 * an answer (a webhook endpoint's secret in an idempotent replay); the
 * others are always there. A resource's operations are the standard ones
 * it offers, named "<plural>.<verb>" in "operations" and answering with
 * the shape named by its title; its path is its HTTP collection
 * ("tax-rates": /v1/tax-rates). Members may be added in later versions of the
 * library; the version changes only when a member changes meaning.
 * Bindings generate their methods and types from it, the example server
 * its routes and OpenAPI document.
 *
 * @param out receives a new string (billing_free())
 * @return BILLING_OK or BILLING_ENOMEM
 */
BILLING_EXTERN(int) billing_catalog_json(char **out);

BILLING_END_DECL

#endif
