/*
 * Structured logs: one JSON object per line on stderr. Callers pass
 * already-safe values; nothing here knows about tokens or passwords, so
 * callers must never hand them over.
 */
#ifndef BS_LOG_H
#define BS_LOG_H

#include <stdint.h>

typedef enum { LOG_ERROR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4 } log_level;

/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int log_level_parse(const char *s);
void log_set_level(log_level level);
int log_enabled(log_level level);

/* The end of a list of fields: a null pointer of the type read (a bare NULL
 * may be an int 0, which va_arg(ap, const char *) must not read). */
#define LOG_END ((const char *)NULL)

/* A message with optional string fields given as name/value pairs,
 * ending with LOG_END: log_msg(LOG_INFO, "started", "listen", addr, LOG_END). */
void log_msg(log_level level, const char *msg, ...);

/* Like log_msg, but after the string pairs come integer pairs: a name and a
 * long long each, ending with LOG_END:
 * log_counts(LOG_INFO, "billing run", "source", "worker", LOG_END, "processed", 3LL, LOG_END). */
void log_counts(log_level level, const char *msg, ...);

typedef struct {
	const char *request_id;
	const char *method;
	const char *route;
	int status;
	uint64_t duration_us;
	const char *tenant_id;  /* NULL when unauthenticated */
	const char *note;       /* NULL, or why no response was sent */
} log_request;

void log_request_line(const log_request *r);

/* Microseconds of a monotonic clock; and UTC wall time in seconds. */
uint64_t now_monotonic_us(void);
int64_t now_unix(void);

#endif
