/*
 * The error table (from BILLING_STATUS_MAP, so codes, names and messages
 * cannot drift) and the per-thread last error. The last error lives in
 * fixed thread-local buffers: reporting a failure never allocates, so it
 * works when memory is what ran out.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "billing/errors.h"
#include "core/errors.h"

struct status_entry {
	int code;
	const char *name;
	const char *wire;
	const char *message;
};

static const struct status_entry status_table[] = {
#define BILLING__STATUS_ROW(code, value, wire, msg) { value, #code, wire, msg },
	BILLING_STATUS_MAP(BILLING__STATUS_ROW)
#undef BILLING__STATUS_ROW
};

#define STATUS_COUNT (sizeof(status_table) / sizeof(status_table[0]))

/* Codes are dense from 0 down to BILLING__STATUS_LAST: the table must have
 * exactly one row per code, in order. */
_Static_assert(STATUS_COUNT == (size_t)(1 - BILLING__STATUS_LAST),
	"every billing_status needs exactly one row in BILLING_STATUS_MAP");

static const struct status_entry *status_find(int code)
{
	if (code > 0 || code < BILLING__STATUS_LAST)
		return NULL;
	return &status_table[-code];
}

const char *billing_error_name(int code)
{
	const struct status_entry *e = status_find(code);
	return e ? e->name : "BILLING_UNKNOWN";
}

const char *billing_strerror(int code)
{
	const struct status_entry *e = status_find(code);
	return e ? e->message : "unknown error code";
}

const char *billing_error_code_string(int code)
{
	const struct status_entry *e = status_find(code);
	return e ? e->wire : "unknown";
}

struct error_state {
	billing_error pub;
	char message[512];
	char provider_code[64];
	char resource_id[64];
	billing_field_error fields[BILLING__MAX_FIELD_ERRORS];
	char field_messages[BILLING__MAX_FIELD_ERRORS][160];
	char field_names[BILLING__MAX_FIELD_ERRORS][64];
};

static _Thread_local struct error_state tls, stash;

static void state_reset(int code, const char *reason)
{
	tls.pub.code = code;
	tls.pub.name = billing_error_name(code);
	tls.pub.reason = reason ? reason : billing_error_code_string(code);
	tls.pub.message = tls.message;
	tls.pub.field = NULL;
	tls.pub.field_error_count = 0;
	tls.pub.field_errors = tls.fields;
	tls.pub.provider_code = NULL;
	tls.pub.resource_id = NULL;
	tls.message[0] = '\0';
	tls.provider_code[0] = '\0';
	tls.resource_id[0] = '\0';
}

void billing__error_stash(void)
{
	stash = tls;
}

/* p, pointing into stash, moved to the same place in tls; other pointers
 * (static strings) stay. */
static const char *rebase(const char *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)&stash;
	if (p == NULL || a < lo || a >= lo + sizeof(stash))
		return p;
	return (const char *)&tls + (a - lo);
}

void billing__error_unstash(void)
{
	size_t i;
	tls = stash;
	tls.pub.message = rebase(tls.pub.message);
	tls.pub.field = rebase(tls.pub.field);
	tls.pub.provider_code = rebase(tls.pub.provider_code);
	tls.pub.resource_id = rebase(tls.pub.resource_id);
	tls.pub.field_errors = tls.fields;
	for (i = 0; i < BILLING__MAX_FIELD_ERRORS; i++) {
		tls.fields[i].field = rebase(tls.fields[i].field);
		tls.fields[i].message = rebase(tls.fields[i].message);
	}
}

const billing_error *billing_error_last(void)
{
	if (tls.pub.name == NULL)
		state_reset(BILLING_OK, NULL);
	if (tls.pub.code == BILLING_OK)
		tls.pub.message = billing_strerror(BILLING_OK);
	return &tls.pub;
}

void billing_error_clear(void)
{
	state_reset(BILLING_OK, NULL);
}

static void format_message(const char *fmt, va_list ap, int code) BILLING__PRINTF(1, 0);

static void format_message(const char *fmt, va_list ap, int code)
{
	if (fmt)
		vsnprintf(tls.message, sizeof(tls.message), fmt, ap);
	else
		snprintf(tls.message, sizeof(tls.message), "%s", billing_strerror(code));
}

static void add_field(const char *field, const char *message)
{
	size_t i = tls.pub.field_error_count;
	if (i >= BILLING__MAX_FIELD_ERRORS)
		return;
	snprintf(tls.field_names[i], sizeof(tls.field_names[i]), "%.63s", field);
	snprintf(tls.field_messages[i], sizeof(tls.field_messages[i]), "%.159s", message);
	tls.fields[i].field = tls.field_names[i];
	tls.fields[i].message = tls.field_messages[i];
	tls.pub.field_error_count = i + 1;
	if (i == 0)
		tls.pub.field = tls.field_names[0];
}

void billing__error_record(int code, const char *reason, const char *fmt, ...)
{
	va_list ap;
	state_reset(code, reason);
	va_start(ap, fmt);
	format_message(fmt, ap, code);
	va_end(ap);
}

void billing__error_record_field(int code, const char *reason, const char *field,
	const char *fmt, ...)
{
	va_list ap;
	state_reset(code, reason);
	va_start(ap, fmt);
	format_message(fmt, ap, code);
	va_end(ap);
	if (field)
		add_field(field, tls.message);
}

void billing__error_provider_code(const char *code)
{
	if (!code)
		return;
	snprintf(tls.provider_code, sizeof(tls.provider_code), "%s", code);
	tls.pub.provider_code = tls.provider_code;
}

void billing__error_resource_id(const char *id)
{
	if (!id)
		return;
	snprintf(tls.resource_id, sizeof(tls.resource_id), "%s", id);
	tls.pub.resource_id = tls.resource_id;
}

void billing__check_fail(billing__checks *c, const char *field, const char *fmt, ...)
{
	va_list ap;
	if (c->count >= BILLING__MAX_FIELD_ERRORS)
		return;
	c->items[c->count].field = field;
	va_start(ap, fmt);
	vsnprintf(c->items[c->count].message, sizeof(c->items[c->count].message), fmt, ap);
	va_end(ap);
	c->count++;
}

int billing__checks_finish(billing__checks *c, const char *what)
{
	size_t i;
	if (c->count == 0)
		return BILLING_OK;
	state_reset(BILLING_EINVALID, "invalid");
	if (c->count == 1)
		snprintf(tls.message, sizeof(tls.message), "%s: %s %s", what,
			c->items[0].field, c->items[0].message);
	else
		snprintf(tls.message, sizeof(tls.message), "%s: %zu fields are invalid (%s %s, ...)",
			what, c->count, c->items[0].field, c->items[0].message);
	for (i = 0; i < c->count; i++)
		add_field(c->items[i].field, c->items[i].message);
	return BILLING_EINVALID;
}
