/*
 * Internal invariants (SQLite's assert() discipline).
 *
 * BILLING_ASSERT(cond) states what the code believes at that point: a
 * transition already validated, a count that cannot go below zero, an index
 * inside its array. It never checks input: bad input from a caller, a
 * database or a provider stays an error with a code. A failed assertion
 * prints file:line and the condition to stderr and aborts, so that ASan,
 * UBSan and libFuzzer report it with a stack.
 *
 * On (BILLING_ASSERTS_ENABLED == 1) in Debug builds (the sanitize preset),
 * in the tsan and fuzz presets, and with -DBILLING_ASSERTS=ON; CMake defines
 * the macro. Off otherwise: the condition is not evaluated (a short-circuited && keeps it
 * type-checked and its variables used), so it must have no side effect the
 * code relies on. Where a violation would corrupt memory in a build without
 * asserts (a bound of a fixed array), check it with a real error instead.
 */
#ifndef BILLING_CORE_ASSERT_H
#define BILLING_CORE_ASSERT_H

#ifndef BILLING_ASSERTS_ENABLED
# define BILLING_ASSERTS_ENABLED 0
#endif

#if BILLING_ASSERTS_ENABLED
# include <stdio.h>
# include <stdlib.h>

__attribute__((noreturn)) static inline void billing__assert_fail(const char *cond, const char *file, int line)
{
	fprintf(stderr, "%s:%d: libbilling assertion failed: %s\n", file, line, cond);
	fflush(stderr);
	abort();
}

# define BILLING_ASSERT(cond) \
	((cond) ? (void)0 : billing__assert_fail(#cond, __FILE__, __LINE__))
#else
# define BILLING_ASSERT(cond) ((void)(0 && (cond)))
#endif

/* 1 when the library itself was built with assertions on. */
int billing__asserts_enabled(void);

#endif
