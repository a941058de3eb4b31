/**
 * @file billing/errors.h
 * @brief Status codes and the per-thread last error.
 *
 * Every call that can fail returns an int: BILLING_OK (0) or a negative
 * billing_status. The details of the last failure on the calling thread are
 * in billing_error_last(). Codes are never renumbered; a retired code keeps
 * its number.
 */
#ifndef BILLING_ERRORS_H
#define BILLING_ERRORS_H

#include "common.h"

BILLING_BEGIN_DECL

/*
 * X-macro: code, value, stable lower-case name used in JSON and HTTP,
 * default message. The single source of codes, names and messages.
 */
#define BILLING_STATUS_MAP(X) \
	X(BILLING_OK,        0, "ok",         "success") \
	X(BILLING_ERROR,    -1, "internal",   "unexpected internal error") \
	X(BILLING_ENOTFOUND,-2, "not_found",  "no such resource in this tenant") \
	X(BILLING_EEXISTS,  -3, "already_exists", "a unique field is already taken") \
	X(BILLING_EINVALID, -4, "invalid",    "input failed validation") \
	X(BILLING_EFORBIDDEN,-5,"forbidden",  "the principal's role may not do this") \
	X(BILLING_ECONFLICT,-6, "conflict",   "the request conflicts with the current state") \
	X(BILLING_EDECLINED,-7, "declined",   "the payment provider declined the payment") \
	X(BILLING_EUNKNOWN_OUTCOME,-8, "unknown_outcome", "the provider did not answer; retry with the same key") \
	X(BILLING_ESTORAGE, -9, "storage",    "the storage backend failed") \
	X(BILLING_EBUSY,   -10, "busy",       "the database is busy; try again") \
	X(BILLING_ENOMEM,  -11, "out_of_memory", "out of memory") \
	X(BILLING_ESTALE,  -12, "stale_version", "the resource changed since the expected version") \
	X(BILLING_EOVERFLOW,-13, "overflow",  "an amount or count is out of range")

/** Status codes. BILLING_ESTALE is split from BILLING_ECONFLICT because a
 *  host maps codes to transport statuses one to one (HTTP 412 vs 409). */
typedef enum {
/* NOLINTNEXTLINE(bugprone-macro-parentheses): code is the name being declared */
#define BILLING__STATUS_ENUM(code, value, name, msg) code = value,
	BILLING_STATUS_MAP(BILLING__STATUS_ENUM)
#undef BILLING__STATUS_ENUM
	BILLING__STATUS_LAST = -13
} billing_status;

/** One field that failed validation. */
typedef struct {
	const char *field;    /**< camelCase name of the field, as in JSON */
	const char *message;  /**< human-readable reason */
} billing_field_error;

/**
 * The details of a failure. Borrowed: valid until the next library call on
 * the same thread. Never carries secrets or card data.
 */
typedef struct {
	int code;                 /**< a billing_status */
	const char *name;         /**< "BILLING_EINVALID" */
	const char *reason;       /**< stable machine code: "invalid", "resource_missing",
	                               "referenced", "stale_version", ... */
	const char *message;      /**< what went wrong, for humans */
	const char *field;        /**< first failing field, or NULL */
	size_t field_error_count;
	const billing_field_error *field_errors;
	const char *provider_code; /**< the payment provider's own code, or NULL */
	const char *resource_id;  /**< what a failed call left behind, or NULL: a
	                               subscription created error_if_incomplete
	                               whose first charge failed */
} billing_error;

/**
 * The last error on the calling thread. Never NULL: after a success the code
 * is BILLING_OK.
 */
BILLING_EXTERN(const billing_error *) billing_error_last(void);

/** Resets the calling thread's last error to BILLING_OK. */
BILLING_EXTERN(void) billing_error_clear(void);

/** "BILLING_ENOTFOUND" for BILLING_ENOTFOUND; "BILLING_UNKNOWN" for others. */
BILLING_EXTERN(const char *) billing_error_name(int code);

/** The default message of a code ("no such resource in this tenant"). */
BILLING_EXTERN(const char *) billing_strerror(int code);

/** The stable lower-case name of a code ("not_found"), for wire formats. */
BILLING_EXTERN(const char *) billing_error_code_string(int code);

BILLING_END_DECL

#endif
