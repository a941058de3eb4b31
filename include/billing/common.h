/**
 * @file billing/common.h
 * @brief Export macros and the few types every other header uses.
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
