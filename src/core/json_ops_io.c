/*
 * The JSON operation layer's input and output (json_ops.h): checking an
 * input against an operation's fields, the parts every operation reads
 * (lists' paging, metadata, rates, status names) and the answers' shapes
 * every operation writes (an object, a page, a deletion).
 */
#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/json_exact.h"
#include "core/json_ops.h"
#include "core/json_out.h"

/* ------------------------------------------------------------ input */

int billing__json_field_error(const char *field, const char *fmt, ...)
{
	char message[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return billing__error_field(BILLING_EINVALID, "invalid", field, "%s", message);
}

int billing__json_check_fields(const cJSON *in, const field_spec *spec)
{
	billing__checks missing = BILLING__CHECKS_INIT;
	const cJSON *it;
	const field_spec *f;

	if (!cJSON_IsObject(in))
		return billing__error_field(BILLING_EINVALID, "invalid", "body",
			"the input must be a JSON object");
	cJSON_ArrayForEach(it, in) {
		for (f = spec; f->name && strcmp(f->name, it->string) != 0; f++)
			;
		if (!f->name)
			return billing__error_field(BILLING_EINVALID, "unknown_field", it->string,
				"%.60s is not a field of this operation", it->string);
		if (cJSON_IsNull(it)) {
			if (!f->nullable)
				return field_error(f->name, "%s must not be null", f->name);
			continue;
		}
		switch (f->type) {
		case T_STRING:
			if (!cJSON_IsString(it))
				return field_error(f->name, "%s must be a string", f->name);
			break;
		case T_BOOLEAN:
			if (!cJSON_IsBool(it))
				return field_error(f->name, "%s must be true or false", f->name);
			break;
		case T_OBJECT:
			if (!cJSON_IsObject(it))
				return field_error(f->name, "%s must be an object", f->name);
			break;
		case T_RATE:
			if (!cJSON_IsNumber(it) && !cJSON_IsString(it))
				return field_error(f->name, "%s must be a decimal number", f->name);
			break;
		case T_STR_ARRAY: {
			const cJSON *e;
			if (!cJSON_IsArray(it))
				return field_error(f->name, "%s must be an array of strings", f->name);
			cJSON_ArrayForEach(e, it)
				if (!cJSON_IsString(e))
					return field_error(f->name, "%s must be an array of strings",
						f->name);
			break;
		}
		case T_OBJ_ARRAY: {
			const cJSON *e;
			if (!cJSON_IsArray(it))
				return field_error(f->name, "%s must be an array of objects", f->name);
			cJSON_ArrayForEach(e, it)
				if (!cJSON_IsObject(e))
					return field_error(f->name, "%s must be an array of objects",
						f->name);
			break;
		}
		case T_INT_ARRAY: {
			const cJSON *e;
			int64_t v;
			if (!cJSON_IsArray(it))
				return field_error(f->name, "%s must be an array of integers", f->name);
			cJSON_ArrayForEach(e, it)
				if (billing__jx_int(e, &v) != BILLING__JX_INT_OK ||
				    v > 1000000000 || v < -1000000000)
					return field_error(f->name, "%s must be an array of integers",
						f->name);
			break;
		}
		case T_INTEGER: {
			int64_t v;
			/* Read from the literal: 1.5, 1e3 and 1.0 are not integers,
			 * and nothing passes through a double. */
			switch (billing__jx_int(it, &v)) {
			case BILLING__JX_INT_OK:
				break;
			case BILLING__JX_INT_RANGE:
				return field_error(f->name, "%s is out of range (a 64-bit signed "
					"integer)", f->name);
			default:
				return field_error(f->name, "%s must be an integer", f->name);
			}
			break;
		}
		}
	}
	/* Every missing required field in one answer, as the typed calls'
	 * validation names every invalid field. */
	for (f = spec; f->name; f++)
		if (f->required && !cJSON_GetObjectItemCaseSensitive(in, f->name))
			billing__check_fail(&missing, f->name, "is required");
	return billing__checks_finish(&missing, "input");
}

int billing__json_metadata_in(billing__json_md *m, const cJSON *in)
{
	const cJSON *obj = jget(in, "metadata"), *it;
	m->count = 0;
	if (!cJSON_IsObject(obj))
		return BILLING_OK;
	cJSON_ArrayForEach(it, obj) {
		if (!cJSON_IsString(it))
			return billing__error_field(BILLING_EINVALID, "invalid", "metadata",
				"metadata values must be strings");
		if (m->count == BILLING_METADATA_MAX_KEYS)
			return billing__error_field(BILLING_EINVALID, "invalid", "metadata",
				"metadata must have at most %d keys", BILLING_METADATA_MAX_KEYS);
		m->items[m->count].key = it->string;
		m->items[m->count].value = it->valuestring;
		m->count++;
	}
	return BILLING_OK;
}

int billing__json_rate_in(int32_t *bp, const cJSON *in, const char *name)
{
	const cJSON *v = jget(in, name);
	int32_t k;
	*bp = 0;
	if (!v)
		return BILLING_OK;
	if (cJSON_IsString(v)) {
		if (billing_rate_parse(bp, v->valuestring) < 0)
			goto bad;
		return BILLING_OK;
	}
	/* A JSON number: the decimal with at most 4 places that it denotes is
	 * k / 10000 for the k nearest to it, and only if that quotient is the
	 * very same double (IEEE division is correctly rounded, and so is the
	 * parser's reading of the text). */
	if (v->valuedouble < 0 || v->valuedouble >= 1)
		goto bad;
	k = (int32_t)(v->valuedouble * BILLING_RATE_SCALE + 0.5);
	if ((double)k / BILLING_RATE_SCALE != v->valuedouble || k >= BILLING_RATE_SCALE)
		goto bad;
	*bp = k;
	return BILLING_OK;
bad:
	return billing__error_field(BILLING_EINVALID, "invalid", name,
		"%s must be a decimal 0 <= r < 1 with at most 4 places", name);
}

int billing__json_list_in(billing_list_params *p, const cJSON *in)
{
	const char *order = jstr(in, "order");
	int64_t limit = jhas(in, "limit") ? ji64(in, "limit") : ji64(in, "pageSize");
	int64_t page = ji64(in, "page");

	if (jhas(in, "limit") && jhas(in, "pageSize"))
		return field_error("pageSize", "%s cannot be combined with limit", "pageSize");
	if ((jhas(in, "limit") || jhas(in, "pageSize")) && (limit < 1 || limit > 100))
		return field_error(jhas(in, "limit") ? "limit" : "pageSize",
			"%s must be between 1 and 100", jhas(in, "limit") ? "limit" : "pageSize");
	if (jhas(in, "page") && (page < 1 || page > 1000000000))
		return field_error("page", "%s must be a positive integer", "page");
	p->limit = (unsigned int)limit;
	p->starting_after = jstr(in, "startingAfter");
	/* API-HTTP.md: without a cursor a list is in page mode, with totals;
	 * startingAfter switches to keyset mode (the typed API's page 0). */
	p->page = jhas(in, "page") ? (unsigned int)page : p->starting_after ? 0 : 1;
	p->search = jhas(in, "search") ? jstr(in, "search") : jstr(in, "q");
	p->sort_by = jhas(in, "sortBy") ? jstr(in, "sortBy") : jstr(in, "sort");
	if (!order)
		p->order = BILLING_ORDER_DEFAULT;
	else if (strcmp(order, "asc") == 0)
		p->order = BILLING_ORDER_ASC;
	else if (strcmp(order, "desc") == 0)
		p->order = BILLING_ORDER_DESC;
	else
		return field_error("order", "%s must be asc or desc", "order");
	return BILLING_OK;
}

int billing__json_status_in(const cJSON *in, int first, int last, const char *(*name)(int),
	int *out, const char *choices)
{
	const char *given = jstr(in, "status");
	int st;
	*out = 0;
	if (!given)
		return BILLING_OK;
	for (st = first; st <= last; st++)
		if (strcmp(name(st), given) == 0) {
			*out = st;
			return BILLING_OK;
		}
	return field_error("status", "status must be %s", choices);
}

int billing__json_nomem(void)
{
	return billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

/* Wraps a typed result; frees the item. */
int billing__json_item_out(cJSON **result, int rc, void *item, cJSON *(*to_json)(const void *),
	void (*free_fn)(void *))
{
	if (rc < 0)
		return rc;
	*result = to_json(item);
	free_fn(item);
	return *result ? BILLING_OK : nomem();
}

int billing__json_page_out(cJSON **result, int rc, billing_page *page,
	const void *(*at)(const billing_page *, size_t), cJSON *(*to_json)(const void *))
{
	billing__jb b;
	cJSON *data;
	size_t i;

	if (rc < 0)
		return rc;
	b.obj = cJSON_CreateObject();
	b.failed = false;
	data = cJSON_CreateArray();
	for (i = 0; data && i < billing_page_count(page); i++) {
		cJSON *item = to_json(at(page, i));
		if (!item || !cJSON_AddItemToArray(data, item)) {
			cJSON_Delete(item);
			b.failed = true;
			break;
		}
	}
	if (b.failed) {
		cJSON_Delete(b.obj);
		cJSON_Delete(data);
		billing_page_free(page);
		return nomem();
	}
	cJSON_Delete(b.obj);
	return billing__json_page_wrap(result, page, data);
}

int billing__json_page_wrap(cJSON **result, billing_page *page, cJSON *data)
{
	billing__jb b = { cJSON_CreateObject(), false };

	billing__jb_add(&b, "object", cJSON_CreateString("list"));
	billing__jb_add(&b, "data", data);
	billing__jb_add(&b, "hasMore", cJSON_CreateBool(billing_page_has_more(page)));
	billing__jb_add(&b, "nextCursor", billing__json_str_or_null(billing_page_next_cursor(page)));
	billing__jb_num(&b, "pageSize", billing_page_limit(page));
	if (billing_page_number(page) > 0) {
		int64_t total = billing_page_total(page), size = billing_page_limit(page);
		billing__jb_num(&b, "total", total);
		billing__jb_num(&b, "page", billing_page_number(page));
		billing__jb_num(&b, "totalPages", (total + size - 1) / size);
	}
	billing_page_free(page);
	*result = billing__jb_done(&b);
	return *result ? BILLING_OK : nomem();
}

int billing__json_deleted_out(cJSON **result, int rc, const char *id)
{
	if (rc < 0)
		return rc;
	return billing__json_deleted(result, id);
}

int billing__json_deleted(cJSON **result, const char *id)
{
	billing__jb b;
	b.obj = cJSON_CreateObject();
	b.failed = false;
	billing__jb_add(&b, "id", cJSON_CreateString(id));
	billing__jb_add(&b, "deleted", cJSON_CreateBool(1));
	*result = billing__jb_done(&b);
	return *result ? BILLING_OK : nomem();
}
