/*
 * Setting the per-thread error, and collecting field errors while a call
 * validates its input so that one failure reports every bad field.
 */
#ifndef BILLING_CORE_ERRORS_H
#define BILLING_CORE_ERRORS_H

#include <stddef.h>
#include "billing/errors.h"

#if defined(__GNUC__)
# define BILLING__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
# define BILLING__PRINTF(f, a)
#endif

#define BILLING__MAX_FIELD_ERRORS 32

/* Sets the calling thread's error and returns code (so callers can
 * `return billing__error_set(...)`). reason is a static string: the
 * stable machine code ("invalid", "referenced", ...); NULL means the
 * code's own name. fmt may be NULL for the code's default message.
 *
 * Macros, so that the value returned is code itself where the call is
 * written: a static analyser looking at one file at a time (clang-tidy)
 * then sees `return billing__error_set(BILLING_E..., ...)` as a failure
 * instead of guessing what a function in errors.c returns. code must be
 * free of side effects (a constant or a variable), as it is everywhere. */
#define billing__error_set(code, ...) \
	(billing__error_record((code), __VA_ARGS__), (code))
#define billing__error_field(code, ...) \
	(billing__error_record_field((code), __VA_ARGS__), (code))

void billing__error_record(int code, const char *reason, const char *fmt, ...)
	BILLING__PRINTF(3, 4);
void billing__error_record_field(int code, const char *reason, const char *field,
	const char *fmt, ...) BILLING__PRINTF(4, 5);

/* Records the provider's own error code on the current error. */
void billing__error_provider_code(const char *code);

/* Records on the current error the object the failed call left behind. */
void billing__error_resource_id(const char *id);

/* Keeps a copy of the calling thread's error (one level), so that a call
 * can look something up after a failure and still report the failure:
 * billing__error_stash(), other library work, billing__error_unstash(). */
void billing__error_stash(void);
void billing__error_unstash(void);

/* Field errors gathered during validation. Lives on the stack. */
typedef struct {
	size_t count;
	struct {
		const char *field;     /* static string */
		char message[160];
	} items[BILLING__MAX_FIELD_ERRORS];
} billing__checks;

#define BILLING__CHECKS_INIT { 0 }

/* Adds a field error (the message is formatted into the collector). */
void billing__check_fail(billing__checks *c, const char *field,
	const char *fmt, ...) BILLING__PRINTF(3, 4);

/* BILLING_OK when nothing failed; otherwise sets BILLING_EINVALID with every
 * field error on the thread's error and returns BILLING_EINVALID. */
int billing__checks_finish(billing__checks *c, const char *what);

/* Shorthand for argument checks at the API boundary. */
#define BILLING__ASSERT_ARG(expr, name) do { \
	if (!(expr)) \
		return billing__error_field(BILLING_EINVALID, "invalid_argument", name, \
			"%s must not be NULL", name); \
	} while (0)

#endif
