/*
 * The generic JSON adapter: every object on the generic flow (resource.h,
 * registered in billing__rules_all) gets its create, get, update, delete
 * and list operations here, from its descriptor alone (billing/sys/
 * resource.h): the input fields of each (json_ops.h field specs, made from
 * the fields' api and FILTER / RANGE flags), JSON -> record plus the mask
 * of the fields given, by each field's json kind, and the answers through
 * billing__record_json. Errors name the field by its JSON name and change
 * nothing.
 *
 * JSON -> record, per kind: STRING a string; INTEGER an exact int64 read
 * from its literal (json_exact.c), within the C type of the field;
 * BOOLEAN true / false; ENUM one of its names; DECIMAL a string or number
 * literal with at most scale places, scaled to an integer exactly (never
 * through a double); TIME RFC 3339 UTC text; METADATA an object of
 * strings, OBJECT any object, ARRAY an array of objects, all handed to the
 * flow as JSON text (which
 * checks metadata as everywhere and makes it canonical). null only where
 * the field is BILLING_API_NULLABLE.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/assert.h"
#include "core/calendar.h"
#include "core/json_exact.h"
#include "core/json_ops.h"
#include "core/json_out.h"

/* ------------------------------------------------------------ specs */

static field_type spec_type(const billing_field *f)
{
	switch (f->json_kind) {
	case BILLING_JSON_INTEGER: return T_INTEGER;
	case BILLING_JSON_BOOLEAN: return T_BOOLEAN;
	case BILLING_JSON_DECIMAL: return T_RATE;
	case BILLING_JSON_OBJECT:
	case BILLING_JSON_METADATA: return T_OBJECT;
	case BILLING_JSON_ARRAY: return T_OBJ_ARRAY;
	case BILLING_JSON_STRINGS: return T_STR_ARRAY;
	default: return T_STRING;   /* STRING, TIME, ENUM */
	}
}

static const char *describe(const billing_field *f)
{
	return f->description ? f->description : f->json;
}

/* Whether a field is shown and read by the API at all (the id is the
 * operation's own input, but where a create takes the tenant's own id:
 * BILLING_API_CREATE on the ID field, coupons). */
static bool shown(const billing_field *f)
{
	return f->json && f->json_kind != BILLING_JSON_NONE &&
		!(f->flags & BILLING_FIELD_TENANT) &&
		(!(f->flags & BILLING_FIELD_ID) || (f->api & BILLING_API_CREATE));
}

/* The names of a range filter's bounds: "<json>From" (>=), "<json>To" (<),
 * as invoices' periodFrom / periodTo. */
static void bound_name(char *out, size_t size, const billing_field *f, bool upper)
{
	snprintf(out, size, "%s%s", f->json, upper ? "To" : "From");
}

/* The spec of op; filters: NULL, or the list filters the object names
 * itself (billing__rules.filters); id_doc: the id's line. */
static field_spec *spec_make(const billing_resource *res, unsigned int op,
	const billing__list_filter *filters, const char *id_doc)
{
	static const field_spec list[] = { LIST_FIELDS };
	/* The names of range bounds live beside the specs, in one block. */
	size_t n = 0, i, max = res->field_count * 2 + LIST_FIELD_COUNT + 3;
	field_spec *spec = billing__calloc(max + 1, sizeof(*spec) + 64);
	char *names = spec ? (char *)(spec + max + 1) : NULL;

	if (!spec)
		return NULL;
	if (op != BILLING_RESOURCE_OP_CREATE && op != BILLING_RESOURCE_OP_LIST)
		spec[n++] = (field_spec){ "id", T_STRING, true, false, id_doc };
	if (op == BILLING_RESOURCE_OP_UPDATE || op == BILLING_RESOURCE_OP_DELETE)
		spec[n++] = (field_spec){ "expectedVersion", T_INTEGER, false, false,
			"refuse (stale) unless at this version" };
	if (op == BILLING_RESOURCE_OP_LIST)
		for (i = 0; i < LIST_FIELD_COUNT; i++)
			spec[n++] = list[i];
	if (op == BILLING_RESOURCE_OP_LIST && filters) {
		const billing__list_filter *lf;
		for (lf = filters; lf->name && n < max; lf++) {
			const billing_field *f = billing_resource_field(res, lf->column);
			BILLING_ASSERT(f != NULL);
			spec[n++] = (field_spec){ lf->name, spec_type(f), false, false,
				lf->description };
		}
		/* No filter from the fields' flags then. */
		op = 0;
	}
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		if (!shown(f))
			continue;
		if (op == BILLING_RESOURCE_OP_CREATE && (f->api & BILLING_API_CREATE))
			spec[n++] = (field_spec){ f->json, spec_type(f),
				(f->api & BILLING_API_REQUIRED) != 0,
				(f->api & BILLING_API_NULLABLE) != 0, describe(f) };
		else if (op == BILLING_RESOURCE_OP_UPDATE &&
		    (f->api & (BILLING_API_UPDATE | BILLING_API_FIXED)))
			spec[n++] = (field_spec){ f->json, spec_type(f), false,
				(f->api & BILLING_API_NULLABLE) != 0, describe(f) };
		else if (op == BILLING_RESOURCE_OP_LIST && (f->flags & BILLING_FIELD_FILTER))
			spec[n++] = (field_spec){ f->json, spec_type(f), false, false,
				"only those with this value" };
		if (op == BILLING_RESOURCE_OP_LIST && (f->flags & BILLING_FIELD_RANGE)) {
			int up;
			for (up = 0; up <= 1; up++, names += 64) {
				bound_name(names, 64, f, up);
				spec[n++] = (field_spec){ names, f->json_kind == BILLING_JSON_TIME ?
					T_STRING : spec_type(f), false, false, up ?
					"only those below this value" : "only those at or above this value" };
			}
		}
	}
	BILLING_ASSERT(n <= max);
	return spec;
}

field_spec *billing__json_record_spec(const billing_resource *res, unsigned int op)
{
	return spec_make(res, op, NULL, "the resource id");
}

field_spec *billing__json_rules_spec(const billing__rules *rules, unsigned int op)
{
	const billing__rules_op *link = billing__rules_op_of(rules, op);
	field_spec *spec = spec_make(rules->res, op, rules->filters,
		link && link->id_description ? link->id_description : "the resource id");
	const billing__rules_extra *x;
	size_t n = 0;

	/* An update's extras follow the fields (spec_make leaves room: an
	 * update takes at most field_count + 2 of its entries). */
	if (!spec || op != BILLING_RESOURCE_OP_UPDATE || !rules->update_extras)
		return spec;
	while (spec[n].name)
		n++;
	for (x = rules->update_extras; x->name; x++)
		spec[n++] = (field_spec){ x->name, T_STRING, false, false, x->description };
	return spec;
}

/* ------------------------------------------------------------ JSON -> record */

/* The integer a DECIMAL field holds for text ("7.25" at scale 4: 72500):
 * an optional -, digits, and at most scale places (more only as trailing
 * zeros: "0.20000" is 0.2); exact over int64. */
static int decimal_in(int64_t *out, const char *text, int scale)
{
	const char *p = text;
	bool neg = *p == '-', digits = false;
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	int places = -1;

	if (neg)
		p++;
	for (; *p; p++) {
		if (*p == '.' && places < 0 && digits) {
			places = 0;
			continue;
		}
		if (*p == '0' && places >= scale) {
			places++;
			continue;
		}
		if (*p < '0' || *p > '9' || (places >= 0 && ++places > scale))
			return -1;
		if (v > (limit - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		digits = true;
	}
	if (!digits || places == 0)
		return -1;
	for (places = places < 0 ? 0 : places; places < scale; places++) {
		if (v > limit / 10)
			return -1;
		v *= 10;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* The JSON texts an input made (metadata, objects), freed after the call. */
typedef struct {
	char *texts[16];
	size_t count;
} owned;

static void owned_free(owned *o)
{
	while (o->count > 0)
		cJSON_free(o->texts[--o->count]);
}

/* The C range of an integer field. */
static bool fits(const billing_field *f, int64_t v)
{
	if (f->type == BILLING_FIELD_INT32 || f->type == BILLING_FIELD_INT)
		return v >= INT32_MIN && v <= INT32_MAX;
	return true;
}

/* One field's JSON value v into rec. */
static int value_in(void *rec, const billing_field *f, const cJSON *v, owned *keep)
{
	int64_t n = 0;
	size_t i;

	if (cJSON_IsNull(v)) {
		/* check_fields let it through: the field is nullable */
		if (f->type == BILLING_FIELD_TEXT)
			billing__record_set_text(f, rec, NULL);
		else
			billing__record_set_int(f, rec, 0);
		return BILLING_OK;
	}
	switch (f->json_kind) {
	case BILLING_JSON_STRING:
		billing__record_set_text(f, rec, v->valuestring);
		return BILLING_OK;
	case BILLING_JSON_INTEGER:
		if (billing__jx_int(v, &n) != BILLING__JX_INT_OK || !fits(f, n))
			return billing__json_field_error(f->json, "%s is out of range", f->json);
		/* A nullable ZERO_NULL integer's "none" is null, its 0 (plans'
		 * termCount): a 0 would read as none. */
		if (n == 0 && (f->flags & BILLING_FIELD_ZERO_NULL) &&
		    (f->api & BILLING_API_NULLABLE))
			return billing__json_field_error(f->json, "%s must be null for none, not 0",
				f->json);
		break;
	case BILLING_JSON_BOOLEAN:
		n = cJSON_IsTrue(v);
		break;
	case BILLING_JSON_TIME:
		if (billing__time_parse(&n, v->valuestring) < 0)
			return billing__json_field_error(f->json, "%s must be an RFC 3339 UTC time",
				f->json);
		break;
	case BILLING_JSON_ENUM:
		for (i = 0; f->names && f->names[i]; i++)
			if (strcmp(f->names[i], v->valuestring) == 0)
				break;
		if (!f->names || !f->names[i])
			return billing__json_field_error(f->json, "%s is not one of its values",
				f->json);
		n = (int64_t)i;
		break;
	case BILLING_JSON_DECIMAL:
		/* A number's literal (json_exact.c keeps it) or a string. */
		if (!v->valuestring || decimal_in(&n, v->valuestring, f->scale) < 0 || !fits(f, n))
			return billing__json_field_error(f->json, "%s must be a decimal number with "
				"at most %d decimal places", f->json, f->scale);
		break;
	case BILLING_JSON_METADATA:
	case BILLING_JSON_ARRAY:
	case BILLING_JSON_STRINGS:
	case BILLING_JSON_OBJECT: {
		const cJSON *e;
		char *text;
		if (f->json_kind == BILLING_JSON_METADATA)
			cJSON_ArrayForEach(e, v)
				if (!cJSON_IsString(e))
					return billing__json_field_error(f->json, "%s values must be "
						"strings", f->json);
		if (keep->count == sizeof(keep->texts) / sizeof(keep->texts[0]) ||
		    (text = billing__jx_print((cJSON *)(uintptr_t)v)) == NULL)
			return billing__json_nomem();
		keep->texts[keep->count++] = text;
		billing__record_set_text(f, rec, text);
		return BILLING_OK;
	}
	default:
		return billing__json_field_error(f->json, "%s cannot be set", f->json);
	}
	billing__record_set_int(f, rec, n);
	return BILLING_OK;
}

/* The fields of in that the operation takes (take: BILLING_API_CREATE or
 * _UPDATE) into rec, their bits into *given. check_fields has checked
 * names, types and nulls. */
static int record_in(void *rec, uint64_t *given, const billing_resource *res, const cJSON *in,
	unsigned int take, owned *keep)
{
	size_t i;
	int rc;

	*given = 0;
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		const cJSON *v;
		if (!shown(f) || !(f->api & take) ||
		    (v = cJSON_GetObjectItemCaseSensitive(in, f->json)) == NULL)
			continue;
		if ((rc = value_in(rec, f, v, keep)) < 0)
			return rc;
		*given |= BILLING__FIELD_BIT(res, f);
	}
	return BILLING_OK;
}

/* A filter's value as the flow compares it: a BILLING_API_UPPER field's
 * text upper-cased (as the flow writes it), in a copy kept in keep. */
static int filter_value(billing_filter *out, const billing_field *f, billing_filter_op op,
	const void *scratch, owned *keep)
{
	const char *text = f->type == BILLING_FIELD_TEXT ? billing__record_text(f, scratch) : NULL;
	char *up;
	size_t k, len;

	*out = (billing_filter){ f, op, text,
		f->type == BILLING_FIELD_TEXT ? 0 : billing__record_int(f, scratch), NULL };
	if (!text || !(f->api & BILLING_API_UPPER))
		return BILLING_OK;
	len = strlen(text);
	if (keep->count == sizeof(keep->texts) / sizeof(keep->texts[0]) ||
	    (up = cJSON_malloc(len + 1)) == NULL)
		return billing__json_nomem();
	for (k = 0; k <= len; k++)
		up[k] = text[k] >= 'a' && text[k] <= 'z' ? (char)(text[k] - 'a' + 'A') : text[k];
	keep->texts[keep->count++] = up;
	out->text = up;
	return BILLING_OK;
}

/* The list filters of in by the names the object gives them
 * (billing__rules.filters). */
static int named_filters_in(billing_filter *out, size_t *count, const billing__rules *rules,
	const cJSON *in, void *scratch, owned *keep)
{
	const billing__list_filter *lf;
	size_t n = 0;
	int rc;

	for (lf = rules->filters; lf->name; lf++) {
		const billing_field *f = billing_resource_field(rules->res, lf->column);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, lf->name);
		if (!v)
			continue;
		if ((rc = value_in(scratch, f, v, keep)) < 0)
			return rc == BILLING_EINVALID ? billing__json_field_error(lf->name,
				"%s is not a value of %s", lf->name, f->json) : rc;
		if ((rc = filter_value(&out[n++], f, lf->op, scratch, keep)) < 0)
			return rc;
	}
	*count = n;
	return BILLING_OK;
}

/* The list filters of in: equality on FILTER fields, bounds on RANGE
 * fields. */
static int filters_in(billing_filter *out, size_t *count, const billing__rules *rules,
	const cJSON *in, void *scratch, owned *keep)
{
	const billing_resource *res = rules->res;
	size_t i, n = 0;
	int rc;

	if (rules->filters)
		return named_filters_in(out, count, rules, in, scratch, keep);
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		const cJSON *v;
		int up;
		if (!shown(f))
			continue;
		if ((f->flags & BILLING_FIELD_FILTER) &&
		    (v = cJSON_GetObjectItemCaseSensitive(in, f->json)) != NULL) {
			if ((rc = value_in(scratch, f, v, keep)) < 0 ||
			    (rc = filter_value(&out[n++], f, BILLING_FILTER_EQ, scratch, keep)) < 0)
				return rc;
		}
		for (up = 0; (f->flags & BILLING_FIELD_RANGE) && up <= 1; up++) {
			char name[64];
			bound_name(name, sizeof(name), f, up);
			if ((v = cJSON_GetObjectItemCaseSensitive(in, name)) == NULL)
				continue;
			if ((rc = value_in(scratch, f, v, keep)) < 0)
				return rc == BILLING_EINVALID ? billing__json_field_error(name,
					"%s is not a value of %s", name, f->json) : rc;
			out[n] = (billing_filter){ f, up ? BILLING_FILTER_LT : BILLING_FILTER_GE,
				NULL, billing__record_int(f, scratch), NULL };
			n++;
		}
	}
	*count = n;
	return BILLING_OK;
}

/* ------------------------------------------------------------ calls */

static int object_out(cJSON **result, int rc, const billing_resource *res, void *rec)
{
	if (rc < 0) {
		billing__free(rec);
		return rc;
	}
	*result = billing__record_json(res, rec);
	billing__free(rec);
	return *result ? BILLING_OK : billing__json_nomem();
}

static int list_call(cJSON **result, const billing__rules *rules, billing_ctx *ctx,
	const billing_principal *who, const cJSON *in, owned *keep)
{
	const billing_resource *res = rules->res;
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_filter *filters;
	void *scratch;
	billing_page *page = NULL;
	cJSON *data = NULL;
	size_t n = 0, i, named = 0;
	int rc;

	while (rules->filters && rules->filters[named].name)
		named++;
	filters = billing__calloc(res->field_count * 2 + named + 1, sizeof(*filters));
	scratch = billing__calloc(1, res->record_size);
	if (!filters || !scratch) {
		rc = billing__json_nomem();
		goto out;
	}
	if ((rc = billing__json_list_in(&p, in)) < 0 ||
	    (rc = filters_in(filters, &n, rules, in, scratch, keep)) < 0 ||
	    (rc = billing__resource_list(&page, rules, ctx, who, &p, filters, n)) < 0)
		goto out;
	if ((data = cJSON_CreateArray()) == NULL) {
		rc = billing__json_nomem();
		goto out;
	}
	for (i = 0; i < billing_page_count(page); i++) {
		cJSON *item = billing__record_json(res, billing__resource_page_item(page, res, i));
		if (!item || !cJSON_AddItemToArray(data, item)) {
			cJSON_Delete(item);
			rc = billing__json_nomem();
			goto out;
		}
	}
	rc = billing__json_page_wrap(result, page, data);
	page = NULL;
	data = NULL;
out:
	cJSON_Delete(data);
	billing_page_free(page);
	billing__free(scratch);
	billing__free(filters);
	return rc;
}

static int64_t version_in(const cJSON *in)
{
	int64_t v = 0;
	if (billing__jx_int(cJSON_GetObjectItemCaseSensitive(in, "expectedVersion"), &v) !=
	    BILLING__JX_INT_OK)
		return 0;
	return v;
}

int billing__json_record_call(cJSON **result, const billing__rules *rules, unsigned int op,
	billing_ctx *ctx, const billing_principal *who, const cJSON *in,
	const billing_call_options *opts)
{
	const billing_resource *res = rules->res;
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "id"));
	void *rec = NULL, *out = NULL;
	uint64_t given = 0;
	owned keep = { { NULL }, 0 };
	int rc;

	switch (op) {
	case BILLING_RESOURCE_OP_GET:
		rc = billing__resource_get(&out, rules, ctx, who, id);
		return object_out(result, rc, res, out);
	case BILLING_RESOURCE_OP_DELETE:
		rc = billing__resource_delete(rules, ctx, who, id, version_in(in));
		return rc < 0 ? rc : billing__json_deleted(result, id);
	case BILLING_RESOURCE_OP_LIST:
		rc = list_call(result, rules, ctx, who, in, &keep);
		owned_free(&keep);
		return rc;
	default:
		break;
	}
	if ((rec = billing__calloc(1, res->record_size)) == NULL)
		return billing__json_nomem();
	/* An update reads a BILLING_API_FIXED field too, for the flow to
	 * refuse it by name. */
	rc = record_in(rec, &given, res, in, op == BILLING_RESOURCE_OP_CREATE ?
		BILLING_API_CREATE : BILLING_API_UPDATE | BILLING_API_FIXED, &keep);
	if (rc == BILLING_OK && op == BILLING_RESOURCE_OP_CREATE) {
		rc = billing__resource_create(&out, rules, ctx, who, rec, given, opts);
	} else if (rc == BILLING_OK) {
		const char *extras[BILLING__EXTRAS_MAX] = { NULL };
		size_t i;
		/* check_fields took them as strings (the spec's T_STRING). */
		for (i = 0; rules->update_extras && rules->update_extras[i].name; i++)
			extras[i] = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in,
				rules->update_extras[i].name));
		rc = billing__resource_update_extra(&out, rules, ctx, who, id, rec, given,
			version_in(in), extras, opts);
	}
	owned_free(&keep);
	billing__free(rec);
	return object_out(result, rc, res, out);
}

/* ------------------------------------------------------------ shapes */

/* The catalog type of a field as billing__record_json writes it. */
static void shape_type(char *out, size_t size, const billing_field *f)
{
	const char *nul = (f->api & BILLING_API_NULLABLE) || (f->flags & BILLING_FIELD_ZERO_NULL) ||
		(f->json_kind == BILLING_JSON_OBJECT) ? "?" : "";
	size_t i, n;

	switch (f->json_kind) {
	case BILLING_JSON_INTEGER: snprintf(out, size, "integer%s", nul); return;
	case BILLING_JSON_BOOLEAN: snprintf(out, size, "boolean%s", nul); return;
	case BILLING_JSON_TIME: snprintf(out, size, "time%s", nul); return;
	case BILLING_JSON_METADATA: snprintf(out, size, "metadata"); return;
	case BILLING_JSON_OBJECT:
		snprintf(out, size, "object%s", (f->api & BILLING_API_COMPUTED) ? "" : "?");
		return;
	case BILLING_JSON_ARRAY:
		snprintf(out, size, "object[]?");
		return;
	case BILLING_JSON_STRINGS:
		snprintf(out, size, "string[]");
		return;
	case BILLING_JSON_ENUM:
		/* A value without a name ("") is none: never shown. */
		for (i = 0, n = 0; f->names && f->names[i] && n + 1 < size; i++)
			if (*f->names[i])
				n += (size_t)snprintf(out + n, size - n, "%s'%s'", n ? " | " : "",
					f->names[i]);
		if (n + 1 < size)
			snprintf(out + n, size - n, "%s", nul);
		return;
	case BILLING_JSON_DECIMAL:
		snprintf(out, size, "%s%s", (f->api & BILLING_API_NUMBER) ? "number" : "string", nul);
		return;
	default:
		/* STRING, and DECIMAL as its exact decimal text */
		snprintf(out, size, "string%s", nul);
		return;
	}
}

bool billing__json_record_shape(cJSON *list, const billing_resource *res)
{
	cJSON *o = cJSON_CreateObject(), *fields, *fo;
	const billing_field *idf;
	char type[512];
	size_t i;

	if (!o || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return false;
	}
	if (!cJSON_AddStringToObject(o, "name", res->title) ||
	    !cJSON_AddStringToObject(o, "doc", res->description) ||
	    (fields = cJSON_AddArrayToObject(o, "fields")) == NULL)
		return false;
	snprintf(type, sizeof(type), "'%s'", res->name);
	idf = billing__field_with(res, BILLING_FIELD_ID);
	/* An id is null only on an object computed and not written (a credit
	 * note's preview), which its ID field then says (NULLABLE). */
	if (!(fo = cJSON_CreateObject()) || !cJSON_AddItemToArray(fields, fo) ||
	    !cJSON_AddStringToObject(fo, "name", "id") ||
	    !cJSON_AddStringToObject(fo, "type",
		idf && (idf->api & BILLING_API_NULLABLE) ? "string?" : "string") ||
	    !(fo = cJSON_CreateObject()) || !cJSON_AddItemToArray(fields, fo) ||
	    !cJSON_AddStringToObject(fo, "name", "object") ||
	    !cJSON_AddStringToObject(fo, "type", type))
		return false;
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		if (!f->json || f->json_kind == BILLING_JSON_NONE || (f->flags & BILLING_FIELD_ID))
			continue;
		shape_type(type, sizeof(type), f);
		if (!(fo = cJSON_CreateObject()) || !cJSON_AddItemToArray(fields, fo) ||
		    !cJSON_AddStringToObject(fo, "name", f->json) ||
		    !cJSON_AddStringToObject(fo, "type", type))
			return false;
	}
	return true;
}
