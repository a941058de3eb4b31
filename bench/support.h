/*
 * bench/support.h: what every benchmark in bench/ shares.
 *
 * A benchmark stops at the first failure: it reports figures, and a figure
 * measured after a failed step would mean nothing. Its atexit handlers (a
 * temporary directory, a PostgreSQL schema) still run.
 */
#ifndef BENCH_SUPPORT_H
#define BENCH_SUPPORT_H

/* Prints "<program>: <what>: <detail>" to stderr and exits with status 1. */
__attribute__((noreturn)) void bench_die(const char *what, const char *detail);

/* bench_die with the library's last error message as the detail. */
__attribute__((noreturn)) void bench_die_lib(const char *what);

/* Seconds on the monotonic clock: for intervals, never for dates. */
double bench_now_s(void);

#endif
