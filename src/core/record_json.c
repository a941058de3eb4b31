/*
 * The JSON of a descriptor object's record (billing__record_json in
 * resource.h): the one writer of that JSON, for answers, events and the
 * bindings, so that they cannot show one object two ways.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/json_exact.h"
#include "core/json_out.h"
#include "core/resource.h"

/* v / 10^scale as an exact decimal: "7.25" for 72500 at scale 4, "7" for
 * 70000, "-0.5" for -5000; never through a double. A string, or with
 * number the same text as a JSON number (BILLING_API_NUMBER: as
 * billing_rate_format writes a rate). */
static cJSON *decimal(int64_t v, int scale, bool number)
{
	char buf[48];
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, unit = 1;
	uint64_t whole, frac;
	int places = scale, n;

	while (places-- > 0)
		unit *= 10;
	whole = mag / unit;
	frac = mag % unit;
	n = snprintf(buf, sizeof(buf), "%s%" PRIu64, v < 0 ? "-" : "", whole);
	if (frac) {
		/* scale digits with leading zeros, then no trailing ones */
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%0*" PRIu64, scale, frac);
		while (buf[n - 1] == '0')
			buf[--n] = '\0';
	}
	return number ? cJSON_CreateRaw(buf) : cJSON_CreateString(buf);
}

static cJSON *text_json(const billing_field *f, const char *s)
{
	cJSON *v;
	if (f->json_kind == BILLING_JSON_METADATA || f->json_kind == BILLING_JSON_OBJECT ||
	    f->json_kind == BILLING_JSON_ARRAY || f->json_kind == BILLING_JSON_STRINGS) {
		if (!s && f->json_kind == BILLING_JSON_STRINGS)
			return cJSON_CreateArray();
		if (!s)
			return f->json_kind == BILLING_JSON_METADATA ||
				(f->api & BILLING_API_COMPUTED) ? cJSON_CreateObject() :
				cJSON_CreateNull();
		/* Stored canonical by the flow; the exact parser keeps numbers
		 * of an OBJECT as they were written. */
		if ((v = billing__jx_parse(s, strlen(s), NULL)) != NULL)
			return v;
		/* A value the flow did not write (by hand in the database): shown
		 * as null rather than failing every read of the object. */
		return cJSON_CreateNull();
	}
	return billing__json_str_or_null(s);
}

static cJSON *int_json(const billing_field *f, int64_t v)
{
	size_t n = 0;

	if (v == 0 && (f->flags & BILLING_FIELD_ZERO_NULL))
		return cJSON_CreateNull();
	switch (f->json_kind) {
	case BILLING_JSON_BOOLEAN:
		return cJSON_CreateBool(v != 0);
	case BILLING_JSON_TIME:
		return billing__json_time(v);
	case BILLING_JSON_DECIMAL:
		return decimal(v, f->scale, (f->api & BILLING_API_NUMBER) != 0);
	case BILLING_JSON_ENUM:
		while (f->names && f->names[n])
			n++;
		return v >= 0 && (size_t)v < n ? cJSON_CreateString(f->names[v]) :
			cJSON_CreateNull();
	default:
		return billing__jx_int_new(v);
	}
}

cJSON *billing__record_json(const billing_resource *res, const void *rec)
{
	const billing_field *id = billing__field_with(res, BILLING_FIELD_ID);
	billing__jb b = { cJSON_CreateObject(), false };
	size_t i;

	billing__jb_add(&b, "id", cJSON_CreateString(billing__record_text(id, rec)));
	billing__jb_add(&b, "object", cJSON_CreateString(res->name));
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		if (!f->json || f->json_kind == BILLING_JSON_NONE || f == id)
			continue;
		billing__jb_add(&b, f->json, f->type == BILLING_FIELD_TEXT ?
			text_json(f, billing__record_text(f, rec)) :
			int_json(f, billing__record_int(f, rec)));
	}
	return billing__jb_done(&b);
}
