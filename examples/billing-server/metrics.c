/*
 * Metrics in a fixed table under one mutex: the label sets are bounded
 * (route templates, not paths), so the table never grows past a few
 * hundred rows. Durations are integer microseconds, printed as seconds.
 */
#include "metrics.h"

#include <billing/billing.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 512
#define NBUCKETS 12

static const uint64_t bucket_us[NBUCKETS] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
	10000000
};

typedef struct {
	char method[8];
	const char *route;
	int status;
	uint64_t count;
	uint64_t sum_us;
	uint64_t buckets[NBUCKETS];
} series;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static series table[MAX_SERIES];
static size_t nseries;
static int64_t started;
static long in_flight;
static uint64_t dropped;

void metrics_init(int64_t start_time)
{
	started = start_time;
}

void metrics_in_flight(int delta)
{
	pthread_mutex_lock(&lock);
	in_flight += delta;
	pthread_mutex_unlock(&lock);
}

void metrics_observe(const char *method, const char *route, int status, uint64_t duration_us)
{
	size_t i, b;
	series *s = NULL;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nseries; i++)
		if (table[i].route == route && table[i].status == status &&
		    strcmp(table[i].method, method) == 0) {
			s = &table[i];
			break;
		}
	if (!s && nseries < MAX_SERIES) {
		s = &table[nseries++];
		snprintf(s->method, sizeof(s->method), "%s", method);
		s->route = route;
		s->status = status;
	}
	if (s) {
		s->count++;
		s->sum_us += duration_us;
		for (b = 0; b < NBUCKETS; b++)
			if (duration_us <= bucket_us[b])
				s->buckets[b]++;
	} else {
		dropped++;
	}
	pthread_mutex_unlock(&lock);
}

typedef struct {
	char *s;
	size_t len, cap;
	int failed;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if (b->s && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
			char *s = realloc(b->s, cap);
			if (!s) {
				b->failed = 1;
				return;
			}
			b->s = s;
			b->cap = cap;
		}
	}
}

static void seconds(char *buf, size_t size, uint64_t us)
{
	snprintf(buf, size, "%llu.%06llu", (unsigned long long)(us / 1000000),
		(unsigned long long)(us % 1000000));
}

/* The payment provider's health (issue #18 item 2), from the library: the
 * tenants whose collection is paused (stored, shared by every process of
 * the database) and this process's failed provider answers by class. */
static void put_provider(sbuf *b, billing_ctx *ctx)
{
	billing_provider_error_counts c;
	int64_t paused = 0;

	if (!ctx)
		return;
	if (billing_provider_health_unhealthy_count(ctx, &paused) == BILLING_OK)
		put(b, "# HELP billing_provider_unhealthy_tenants Tenants whose collection is paused "
			"because the payment provider refuses the merchant's requests (a revoked key, "
			"a missing permission).\n# TYPE billing_provider_unhealthy_tenants gauge\n"
			"billing_provider_unhealthy_tenants %lld\n", (long long)paused);
	billing_provider_error_counts_get(ctx, &c);
	put(b, "# HELP billing_provider_errors_total Failed answers of the payment provider, by "
		"class: decline (the customer's), config (the merchant's: key, permission, "
		"request), unknown (no answer).\n# TYPE billing_provider_errors_total counter\n"
		"billing_provider_errors_total{class=\"decline\"} %lld\n"
		"billing_provider_errors_total{class=\"config\"} %lld\n"
		"billing_provider_errors_total{class=\"unknown\"} %lld\n",
		(long long)c.declined, (long long)c.config, (long long)c.unknown);
}

char *metrics_render(billing_ctx *ctx)
{
	sbuf b = { NULL, 0, 0, 0 };
	size_t i, k;
	char le[32];

	/* Asks the database: before taking the series' lock. */
	put_provider(&b, ctx);

	pthread_mutex_lock(&lock);
	put(&b, "# HELP billing_http_requests_total HTTP requests answered, by method, route "
		"template and status.\n# TYPE billing_http_requests_total counter\n");
	for (i = 0; i < nseries; i++)
		put(&b, "billing_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
			table[i].method, table[i].route, table[i].status,
			(unsigned long long)table[i].count);
	put(&b, "# HELP billing_http_request_duration_seconds Time from the request's first byte "
		"to its answer.\n# TYPE billing_http_request_duration_seconds histogram\n");
	for (i = 0; i < nseries; i++) {
		const series *s = &table[i];
		for (k = 0; k < NBUCKETS; k++) {
			seconds(le, sizeof(le), bucket_us[k]);
			put(&b, "billing_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
				"status=\"%d\",le=\"%s\"} %llu\n", s->method, s->route, s->status, le,
				(unsigned long long)s->buckets[k]);
		}
		put(&b, "billing_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
			"status=\"%d\",le=\"+Inf\"} %llu\n", s->method, s->route, s->status,
			(unsigned long long)s->count);
		seconds(le, sizeof(le), s->sum_us);
		put(&b, "billing_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\","
			"status=\"%d\"} %s\n", s->method, s->route, s->status, le);
		put(&b, "billing_http_request_duration_seconds_count{method=\"%s\",route=\"%s\","
			"status=\"%d\"} %llu\n", s->method, s->route, s->status,
			(unsigned long long)s->count);
	}
	put(&b, "# HELP billing_http_requests_in_flight Requests being received or answered.\n"
		"# TYPE billing_http_requests_in_flight gauge\nbilling_http_requests_in_flight %ld\n",
		in_flight);
	put(&b, "# HELP billing_metrics_series_dropped_total Observations not recorded because "
		"the series table was full.\n# TYPE billing_metrics_series_dropped_total counter\n"
		"billing_metrics_series_dropped_total %llu\n", (unsigned long long)dropped);
	put(&b, "# HELP process_start_time_seconds Start time of the process since the Unix epoch "
		"in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds "
		"%lld\n", (long long)started);
	pthread_mutex_unlock(&lock);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
