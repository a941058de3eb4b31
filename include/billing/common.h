/**
 * @file billing/common.h
 * @brief Export macros and the few types every other header uses.
 *
 * NULL objects: every getter and accessor of the API accepts NULL and
 * never crashes on it, as every _free function does, so a host may call
 * one on the out-parameter of a call that failed:
 * - a getter of a string or object (billing_customer_email) returns NULL;
 * - a getter of an integer, time, amount, count, flag or enum returns 0;
 *   for an enum 0 is its "none" value (billing_invoice_status_of gives 0,
 *   billing_plan_interval BILLING_INTERVAL_NONE, billing_user_role
 *   BILLING_ROLE_NONE), never a real state. The one exception is
 *   billing_page_total(NULL), which is -1 ("no total", as in cursor mode);
 * - an item accessor (billing_page_customer(page, i),
 *   billing_customer_metadata_at(c, i), billing_invoice_line_at(inv, i))
 *   returns NULL for a NULL object, for i at or past its count (SIZE_MAX
 *   included), and for a page that holds another kind of item;
 *   _metadata_get returns NULL for a NULL object or key.
 * A 0 from a getter does not tell a NULL object from a field that is 0:
 * check the object. See docs/api.md.
 */
#ifndef BILLING_COMMON_H
#define BILLING_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
# define BILLING_BEGIN_DECL extern "C" {
# define BILLING_END_DECL   }
#else
# define BILLING_BEGIN_DECL
# define BILLING_END_DECL
#endif

#if defined(BILLING_BUILDING_LIBRARY) && defined(__GNUC__)
# define BILLING_EXTERN(type) __attribute__((visibility("default"))) type
#else
# define BILLING_EXTERN(type) extern type
#endif

BILLING_BEGIN_DECL

/** An opened library context: one per database. Thread-safe. */
typedef struct billing_ctx billing_ctx;

/** One entry of a metadata map: a string key and a string value. At most
 *  50 keys; a key is 1..40 characters, a value at most 500 (UTF-8,
 *  counted in characters, no control characters). */
typedef struct {
	const char *key;
	const char *value;
} billing_metadata_entry;

#define BILLING_METADATA_MAX_KEYS 50
#define BILLING_METADATA_KEY_MAX 40
#define BILLING_METADATA_VALUE_MAX 500

#define BILLING_CALL_OPTIONS_VERSION 3

/** Options of one mutating call. NULL means none. */
typedef struct {
	unsigned int version;        /**< BILLING_CALL_OPTIONS_VERSION */
	/** Makes the call safe to retry: a replay with the same key and the same
	 *  input returns the resource the first call produced (as it is now)
	 *  without changing anything; the same key with different input or for
	 *  another operation is BILLING_ECONFLICT (reason "idempotency_mismatch").
	 *  1..255 printable ASCII characters; scoped to the tenant. */
	const char *idempotency_key;
	/** Version 2. Optional out: when not NULL, a call that takes an
	 *  idempotency key sets it to 1 if it was answered as a replay of an
	 *  earlier call with the same key, else to 0 (so a host can say so, as
	 *  HTTP's Idempotent-Replayed does). Calls without a key leave it alone. */
	int *replayed;
	/** Version 3. The host's id of the request (HTTP X-Request-Id), at most
	 *  128 printable ASCII characters: kept on the events and the audit-log
	 *  row the call writes. NULL: none. */
	const char *request_id;
} billing_call_options;

#define BILLING_CALL_OPTIONS_INIT { BILLING_CALL_OPTIONS_VERSION, 0, 0, 0 }

/**
 * Frees memory the library handed to the caller as a plain buffer
 * (JSON strings from billing_call_json() and billing_catalog_json()).
 * Accepts NULL.
 */
BILLING_EXTERN(void) billing_free(void *ptr);

BILLING_END_DECL

#endif
