/*
 * JSON log lines on stderr. Each line is built in memory and written with
 * one stdio call, so lines from different worker threads never interleave.
 */
#include "log.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int current_level = LOG_INFO;

static const char *const level_names[] = { "", "error", "warn", "info", "debug" };

int log_level_parse(const char *s)
{
	int i;
	for (i = LOG_ERROR; i <= LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void log_set_level(log_level level)
{
	atomic_store(&current_level, (int)level);
}

int log_enabled(log_level level)
{
	return (int)level <= atomic_load(&current_level);
}

uint64_t now_monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t now_unix(void)
{
	return (int64_t)time(NULL);
}

static cJSON *line_start(log_level level, const char *msg)
{
	char when[40];
	struct timespec ts;
	struct tm tm;
	cJSON *o = cJSON_CreateObject();

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddStringToObject(o, "level", level_names[level]);
	cJSON_AddStringToObject(o, "msg", msg);
	return o;
}

static void line_emit(cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	/* One call: stdio locks the stream for its duration. */
	if (text) {
		fprintf(stderr, "%s\n", text);
		fflush(stderr);
	}
	cJSON_free(text);
	cJSON_Delete(o);
}

void log_msg(log_level level, const char *msg, ...)
{
	va_list ap;
	const char *name;
	cJSON *o;

	if (!log_enabled(level))
		return;
	o = line_start(level, msg);
	va_start(ap, msg);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);
		cJSON_AddStringToObject(o, name, value ? value : "");
	}
	va_end(ap);
	line_emit(o);
}

void log_counts(log_level level, const char *msg, ...)
{
	va_list ap;
	const char *name;
	cJSON *o;

	if (!log_enabled(level))
		return;
	o = line_start(level, msg);
	va_start(ap, msg);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);
		cJSON_AddStringToObject(o, name, value ? value : "");
	}
	while ((name = va_arg(ap, const char *)) != NULL) {
		char num[32];
		snprintf(num, sizeof(num), "%lld", va_arg(ap, long long));
		cJSON_AddRawToObject(o, name, num);
	}
	va_end(ap);
	line_emit(o);
}

void log_request_line(const log_request *r)
{
	char ms[32];
	cJSON *o;
	log_level level = r->status >= 500 || r->status == 0 ? LOG_WARN : LOG_INFO;

	if (!log_enabled(level))
		return;
	o = line_start(level, "request");
	cJSON_AddStringToObject(o, "requestId", r->request_id);
	cJSON_AddStringToObject(o, "method", r->method);
	cJSON_AddStringToObject(o, "route", r->route);
	cJSON_AddNumberToObject(o, "status", r->status);
	/* Integer microseconds printed as milliseconds with 3 places. */
	snprintf(ms, sizeof(ms), "%llu.%03llu", (unsigned long long)(r->duration_us / 1000),
		(unsigned long long)(r->duration_us % 1000));
	cJSON_AddRawToObject(o, "durationMs", ms);
	if (r->tenant_id)
		cJSON_AddStringToObject(o, "tenantId", r->tenant_id);
	else
		cJSON_AddNullToObject(o, "tenantId");
	if (r->note)
		cJSON_AddStringToObject(o, "note", r->note);
	line_emit(o);
}
