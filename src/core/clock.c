/*
 * The default clock: the system's UTC time in whole seconds.
 */
#include <time.h>

#include "core/core.h"

static int64_t system_clock(void *payload)
{
	struct timespec ts;
	(void)payload;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int64_t billing__now(billing_ctx *ctx)
{
	return ctx->clock ? ctx->clock(ctx->clock_payload) : system_clock(NULL);
}

int64_t billing_ctx_now(billing_ctx *ctx)
{
	return ctx ? billing__now(ctx) : system_clock(NULL);
}
