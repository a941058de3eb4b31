/*
 * Prometheus metrics: request counts and latency histograms by method,
 * route template and status; requests in flight; process start time; the
 * payment provider's health (paused tenants, failed answers by class).
 */
#ifndef BS_METRICS_H
#define BS_METRICS_H

#include <stdint.h>

void metrics_init(int64_t start_time);
void metrics_in_flight(int delta);
/* route must be a static string (a route template or "unmatched"). */
void metrics_observe(const char *method, const char *route, int status, uint64_t duration_us);
typedef struct billing_ctx billing_ctx;

/* The exposition text (free()); ctx (may be NULL) adds the payment
 * provider's health. */
char *metrics_render(billing_ctx *ctx);

#endif
