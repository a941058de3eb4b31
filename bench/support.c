/* bench/support.c: see support.h. */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <billing/billing.h>

void bench_die(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		detail ? detail : "(no detail)");
	exit(1);
}

void bench_die_lib(const char *what)
{
	bench_die(what, billing_error_last()->message);
}

double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
