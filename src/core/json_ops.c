/*
 * The JSON operation layer: every operation mapped once, from its catalog
 * entry (name, roles, input fields) to the typed call and back to JSON.
 * The HTTP server and the bindings are thin wrappers over this file, so
 * field names here are the wire names of API-HTTP.md.
 *
 * Input checking is driven by the catalog: a field the operation does not
 * declare, or of the wrong JSON type, is BILLING_EINVALID naming it, before
 * the typed call sees anything. The input is parsed by json_exact.c: a NUL
 * or raw control character in any string or key, or a key given twice, is
 * BILLING_EINVALID naming the field. Integers are read from their literal,
 * exactly, over the whole int64_t range (out of it: BILLING_EINVALID); the
 * output prints them exactly too.
 */
#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "billing/sys/resource.h"
#include "core/core.h"
#include "core/calendar.h"
#include "core/json_exact.h"
#include "core/json_ops.h"
#include "core/json_out.h"
#include "core/events.h"

/* ------------------------------------------------------------ catalog */

/* The generic operations' verbs, bit i of BILLING_RESOURCE_OP_* each. */
static const char *const op_verbs[] = { "create", "get", "update", "delete", "list" };

typedef int (*op_fn)(cJSON **result, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts);

/* What an operation answers with: one object of a shape (json_out.h), or
 * a page of them. */
typedef enum { OUT_OBJECT, OUT_PAGE } out_kind;

typedef struct {
	billing__op op;
	op_fn run;
	const char *description;
	const field_spec *fields; /* ends with { NULL } */
	out_kind out;
	const char *shape;        /* billing__json_shapes() name */
} op_entry;

static const char *type_name(field_type t)
{
	switch (t) {
	case T_STRING: return "string";
	case T_INTEGER: return "integer";
	case T_BOOLEAN: return "boolean";
	case T_OBJECT: return "object";
	case T_RATE: return "decimal";
	case T_INT_ARRAY: return "integer[]";
	case T_STR_ARRAY: return "string[]";
	}
	return "?";
}

static const field_spec f_id_only[] = {
	{ "id", T_STRING, true, false, "the resource id" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_delete[] = {
	{ "id", T_STRING, true, false, "the resource id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_tenant_create[] = {
	{ "name", T_STRING, true, false, "1-120 characters" },
	{ "invoicePrefix", T_STRING, false, false, "invoice number prefix, default INV-" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_tenant_list[] = { LIST_FIELDS, { NULL, 0, false, false, NULL } };

/* req: whether the fields a create needs are required (false in a PATCH). */
#define CUSTOMER_BODY(req) \
	{ "name", T_STRING, req, false, "1-120 characters, trimmed" }, \
	{ "email", T_STRING, req, false, "valid address, unique in the tenant ignoring case" }, \
	{ "defaultPaymentMethod", T_STRING, false, true, "payment method token" }, \
	{ "metadata", T_OBJECT, false, true, "string map" }
static const field_spec f_customer_create[] = {
	CUSTOMER_BODY(true), { NULL, 0, false, false, NULL }
};
static const field_spec f_customer_update[] = {
	{ "id", T_STRING, true, false, "the customer id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	CUSTOMER_BODY(false), { NULL, 0, false, false, NULL }
};
static const field_spec f_customer_list[] = { LIST_FIELDS, { NULL, 0, false, false, NULL } };

#define PRODUCT_BODY(req) \
	{ "name", T_STRING, req, false, "1-200 characters" }, \
	{ "sku", T_STRING, req, false, "[A-Za-z0-9._-]{1,64}, unique in the tenant" }, \
	{ "description", T_STRING, false, true, "at most 2000 characters" }, \
	{ "priceCents", T_INTEGER, false, false, "price in minor units, >= 0" }, \
	{ "currency", T_STRING, false, false, "ISO 4217 code, default EUR" }, \
	{ "taxRate", T_RATE, false, false, "decimal 0 <= r < 1, at most 4 places" }, \
	{ "isActive", T_BOOLEAN, false, false, "default true" }, \
	{ "stock", T_INTEGER, false, false, ">= 0" }, \
	{ "lowStockThreshold", T_INTEGER, false, false, ">= 0" }, \
	{ "metadata", T_OBJECT, false, true, "string map" }
static const field_spec f_product_create[] = {
	PRODUCT_BODY(true), { NULL, 0, false, false, NULL }
};
static const field_spec f_product_update[] = {
	{ "id", T_STRING, true, false, "the product id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	PRODUCT_BODY(false), { NULL, 0, false, false, NULL }
};
static const field_spec f_product_list[] = {
	LIST_FIELDS,
	{ "minPriceCents", T_INTEGER, false, false, "lowest price" },
	{ "maxPriceCents", T_INTEGER, false, false, "highest price" },
	{ "isActive", T_BOOLEAN, false, false, "only active or inactive products" },
	{ NULL, 0, false, false, NULL }
};

#define PLAN_BODY(req) \
	{ "productId", T_STRING, req, false, "product of the same tenant; fixed" }, \
	{ "code", T_STRING, req, false, "^[A-Z0-9_-]{3,64}$, unique in the tenant; fixed" }, \
	{ "name", T_STRING, req, false, "2-100 characters" }, \
	{ "description", T_STRING, false, true, "at most 2000 characters" }, \
	{ "amount", T_INTEGER, req, false, "minor units, > 0" }, \
	{ "currency", T_STRING, false, false, "ISO 4217, default the product's; fixed" }, \
	{ "interval", T_STRING, req, false, "DAY, WEEK, MONTH or YEAR; fixed" }, \
	{ "intervalCount", T_INTEGER, false, false, ">= 1, default 1; fixed" }, \
	{ "trialDays", T_INTEGER, false, false, "0-730" }, \
	{ "termCount", T_INTEGER, false, true, "periods until expiry; fixed" }, \
	{ "active", T_BOOLEAN, false, false, "default true" }, \
	{ "metadata", T_OBJECT, false, true, "string map" }
static const field_spec f_plan_create[] = { PLAN_BODY(true), { NULL, 0, false, false, NULL } };
static const field_spec f_plan_update[] = {
	{ "id", T_STRING, true, false, "the plan id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	PLAN_BODY(false), { NULL, 0, false, false, NULL }
};
static const field_spec f_plan_list[] = {
	LIST_FIELDS,
	{ "active", T_BOOLEAN, false, false, "only active or inactive plans" },
	{ "currency", T_STRING, false, false, "ISO 4217 code" },
	{ "productId", T_STRING, false, false, "plans of this product" },
	{ NULL, 0, false, false, NULL }
};

static const field_spec f_subscription_create[] = {
	{ "customerId", T_STRING, true, false, "customer of the same tenant" },
	{ "planId", T_STRING, true, false, "an active plan of the same tenant" },
	{ "quantity", T_INTEGER, false, false, "1-10000, default 1" },
	{ "trialDays", T_INTEGER, false, false, "0-730; overrides the plan's" },
	{ "startAt", T_STRING, false, false, "RFC 3339 UTC, not in the future; default now" },
	{ "metadata", T_OBJECT, false, true, "string map" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_subscription_list[] = {
	LIST_FIELDS,
	{ "customerId", T_STRING, false, false, "subscriptions of this customer" },
	{ "planId", T_STRING, false, false, "subscriptions on this plan" },
	{ "status", T_STRING, false, false,
		"trialing, active, past_due, unpaid, paused, canceled, expired" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_subscription_cancel[] = {
	{ "id", T_STRING, true, false, "the subscription id" },
	{ "atPeriodEnd", T_BOOLEAN, false, false, "end when the period ends (default false: now)" },
	{ "prorate", T_BOOLEAN, false, false,
		"with a cancellation now: credit the unused rest of the period" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_subscription_update[] = {
	{ "id", T_STRING, true, false, "the subscription id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	{ "cancelAtPeriodEnd", T_BOOLEAN, false, false, "false undoes a scheduled cancellation" },
	{ "quantity", T_INTEGER, false, false, "1-10000, from the next period" },
	{ "metadata", T_OBJECT, false, true, "string map" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_subscription_change[] = {
	{ "id", T_STRING, true, false, "the subscription id" },
	{ "planId", T_STRING, true, false, "an active plan in the same currency" },
	{ "prorationBehavior", T_STRING, false, false,
		"create_prorations (default), always_invoice or none" },
	{ "quantity", T_INTEGER, false, false, "1-10000; default the current quantity" },
	{ "atPeriodEnd", T_BOOLEAN, false, false, "change when the current period ends" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_invoice_list[] = {
	LIST_FIELDS,
	{ "customerId", T_STRING, false, false, "invoices of this customer" },
	{ "subscriptionId", T_STRING, false, false, "invoices of this subscription" },
	{ "status", T_STRING, false, false, "draft, pending, paid, failed or void" },
	{ "periodFrom", T_STRING, false, false, "RFC 3339: invoices whose period starts then or later" },
	{ "periodTo", T_STRING, false, false, "RFC 3339: invoices whose period starts before then" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_event_list[] = {
	LIST_FIELDS,
	{ "type", T_STRING, false, false, "only events of this type, e.g. invoice.finalized" },
	{ "createdAfter", T_STRING, false, false, "RFC 3339: only events created after it" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_invoice_pay[] = {
	{ "id", T_STRING, true, false, "the invoice id" },
	{ "paymentMethod", T_STRING, false, false, "payment method token; default the customer's" },
	{ "amount", T_INTEGER, false, false, "must equal the amount due when given" },
	{ "currency", T_STRING, false, false, "must equal the invoice's when given" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_payment_list[] = {
	LIST_FIELDS,
	{ "invoiceId", T_STRING, false, false, "payments of this invoice" },
	{ "status", T_STRING, false, false,
		"pending, requires_action, succeeded, failed, refunded, partially_refunded, unknown" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_payment_refund[] = {
	{ "id", T_STRING, true, false, "the payment id" },
	{ "amount", T_INTEGER, false, false, "minor units; default all that is left" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_none[] = {
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_dunning_set[] = {
	{ "retryDays", T_INT_ARRAY, true, false,
		"days after finalization of each retry, increasing, 1-365, at most 12" },
	{ "finalAction", T_STRING, false, false,
		"cancel (default), unpaid or keep_past_due, when the retries are exhausted" },
	{ NULL, 0, false, false, NULL }
};
#define ENDPOINT_FIELDS(req) \
	{ "url", T_STRING, req, false, "https URL (at most 2048 characters)" }, \
	{ "events", T_STR_ARRAY, false, false, \
		"event types wanted: invoice.paid, invoice.* or *; default all" }, \
	{ "enabled", T_BOOLEAN, false, false, "default true" }, \
	{ "description", T_STRING, false, true, "at most 500 characters" }
static const field_spec f_endpoint_create[] = {
	ENDPOINT_FIELDS(true),
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_endpoint_update[] = {
	{ "id", T_STRING, true, false, "the webhook endpoint id" },
	{ "expectedVersion", T_INTEGER, false, false, "refuse (stale) unless at this version" },
	ENDPOINT_FIELDS(false),
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_endpoint_rotate[] = {
	{ "id", T_STRING, true, false, "the webhook endpoint id" },
	{ "overlapSeconds", T_INTEGER, false, false,
		"how long the old secret still signs; default 86400, at most 604800" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_list_only[] = {
	LIST_FIELDS,
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_delivery_list[] = {
	LIST_FIELDS,
	{ "endpointId", T_STRING, false, false, "deliveries to this endpoint" },
	{ "eventId", T_STRING, false, false, "deliveries of this event" },
	{ "status", T_STRING, false, false, "pending, succeeded or dead" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_redeliver[] = {
	{ "id", T_STRING, false, false, "deliver this event again to every endpoint that wants it" },
	{ "since", T_STRING, false, false,
		"RFC 3339: without id, every dead delivery created since then again" },
	{ NULL, 0, false, false, NULL }
};
static const field_spec f_invoice_preview[] = {
	{ "subscriptionId", T_STRING, true, false, "the subscription whose next invoice to show" },
	{ NULL, 0, false, false, NULL }
};

/* ------------------------------------------------------------ JSON input */

/* Short names inside this file for the parts json_record.c shares. */
#define field_error billing__json_field_error
#define check_fields billing__json_check_fields
#define list_in billing__json_list_in
#define nomem billing__json_nomem

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

static const cJSON *get(const cJSON *in, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(in, name);
}

static bool has(const cJSON *in, const char *name)
{
	return get(in, name) != NULL;
}

static const char *str(const cJSON *in, const char *name)
{
	const cJSON *v = get(in, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* check_fields has made sure an integer field holds an exact int64. */
static int64_t i64(const cJSON *in, const char *name)
{
	int64_t v = 0;
	if (billing__jx_int(get(in, name), &v) != BILLING__JX_INT_OK)
		return 0;
	return v;
}

/* An int32 field: out-of-range values become a value the typed call
 * rejects with its own message, never a silent wrap. */
static int32_t i32(const cJSON *in, const char *name)
{
	int64_t v = i64(in, name);
	if (v > INT32_MAX)
		return INT32_MAX;
	if (v < INT32_MIN)
		return INT32_MIN;
	return (int32_t)v;
}

static billing_tristate tri(const cJSON *in, const char *name)
{
	const cJSON *v = get(in, name);
	if (!cJSON_IsBool(v))
		return BILLING_UNSET;
	return cJSON_IsTrue(v) ? BILLING_TRUE : BILLING_FALSE;
}

/* Metadata entries borrowed from the JSON object. */
typedef struct {
	billing_metadata_entry items[BILLING_METADATA_MAX_KEYS + 1];
	size_t count;
} md_in;

static int metadata_in(md_in *m, const cJSON *in)
{
	const cJSON *obj = get(in, "metadata"), *it;
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

static int rate_in(int32_t *bp, const cJSON *in, const char *name)
{
	const cJSON *v = get(in, name);
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
	const char *order = str(in, "order");
	int64_t limit = has(in, "limit") ? i64(in, "limit") : i64(in, "pageSize");
	int64_t page = i64(in, "page");

	if (has(in, "limit") && has(in, "pageSize"))
		return field_error("pageSize", "%s cannot be combined with limit", "pageSize");
	if ((has(in, "limit") || has(in, "pageSize")) && (limit < 1 || limit > 100))
		return field_error(has(in, "limit") ? "limit" : "pageSize",
			"%s must be between 1 and 100", has(in, "limit") ? "limit" : "pageSize");
	if (has(in, "page") && (page < 1 || page > 1000000000))
		return field_error("page", "%s must be a positive integer", "page");
	p->limit = (unsigned int)limit;
	p->starting_after = str(in, "startingAfter");
	/* API-HTTP.md: without a cursor a list is in page mode, with totals;
	 * startingAfter switches to keyset mode (the typed API's page 0). */
	p->page = has(in, "page") ? (unsigned int)page : p->starting_after ? 0 : 1;
	p->search = has(in, "search") ? str(in, "search") : str(in, "q");
	p->sort_by = has(in, "sortBy") ? str(in, "sortBy") : str(in, "sort");
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

/* ------------------------------------------------------------ JSON output */

/* ------------------------------------------------------------ output */

int billing__json_nomem(void)
{
	return billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

/* Wraps a typed result; frees the item. */
static int item_out(cJSON **result, int rc, void *item, cJSON *(*to_json)(const void *),
	void (*free_fn)(void *))
{
	if (rc < 0)
		return rc;
	*result = to_json(item);
	free_fn(item);
	return *result ? BILLING_OK : nomem();
}

static int page_out(cJSON **result, int rc, billing_page *page,
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

static int deleted_out(cJSON **result, int rc, const char *id)
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

/* Typed page accessors with one signature. */
static const void *at_tenant(const billing_page *p, size_t i) { return billing_page_tenant(p, i); }
static const void *at_customer(const billing_page *p, size_t i) { return billing_page_customer(p, i); }
static const void *at_product(const billing_page *p, size_t i) { return billing_page_product(p, i); }
static const void *at_plan(const billing_page *p, size_t i) { return billing_page_plan(p, i); }
static const void *at_subscription(const billing_page *p, size_t i)
{
	return billing_page_subscription(p, i);
}
static const void *at_invoice(const billing_page *p, size_t i) { return billing_page_invoice(p, i); }

static void free_tenant(void *p) { billing_tenant_free(p); }
static void free_customer(void *p) { billing_customer_free(p); }
static void free_product(void *p) { billing_product_free(p); }
static void free_plan(void *p) { billing_plan_free(p); }
static void free_subscription(void *p) { billing_subscription_free(p); }
static void free_invoice(void *p) { billing_invoice_free(p); }

/* ------------------------------------------------------------ tenants */

static int op_tenant_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	billing_tenant *t = NULL;
	p.name = str(in, "name");
	p.invoice_prefix = str(in, "invoicePrefix");
	rc = billing_tenant_create(&t, ctx, who, &p, opts);
	return item_out(res, rc, t, billing__json_tenant,
		free_tenant);
}

static int op_tenant_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_tenant *t = NULL;
	(void)opts;
	rc = billing_tenant_get(&t, ctx, who, str(in, "id"));
	return item_out(res, rc, t, billing__json_tenant,
		free_tenant);
}

static int op_tenant_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p, in);
	(void)opts;
	if (rc < 0)
		return rc;
	rc = billing_tenant_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_tenant,
		billing__json_tenant);
}

/* ------------------------------------------------------------ customers */

static int customer_in(billing_customer_params *p, md_in *md, const cJSON *in)
{
	if (has(in, "name")) { p->fields |= BILLING_CUSTOMER_NAME; p->name = str(in, "name"); }
	if (has(in, "email")) { p->fields |= BILLING_CUSTOMER_EMAIL; p->email = str(in, "email"); }
	if (has(in, "defaultPaymentMethod")) {
		p->fields |= BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD;
		p->default_payment_method = str(in, "defaultPaymentMethod");
	}
	if (has(in, "metadata")) {
		int rc = metadata_in(md, in);
		if (rc < 0)
			return rc;
		p->fields |= BILLING_CUSTOMER_METADATA;
		p->metadata = md->items;
		p->metadata_count = md->count;
	}
	p->expected_version = i64(in, "expectedVersion");
	return BILLING_OK;
}

static int op_customer_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	md_in md;
	int rc = customer_in(&p, &md, in);
	if (rc < 0)
		return rc;
	rc = billing_customer_create(&c, ctx, who, &p, opts);
	return item_out(res, rc, c, billing__json_customer,
		free_customer);
}

static int op_customer_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_customer *c = NULL;
	(void)opts;
	rc = billing_customer_get(&c, ctx, who, str(in, "id"));
	return item_out(res, rc, c, billing__json_customer,
		free_customer);
}

static int op_customer_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	md_in md;
	int rc = customer_in(&p, &md, in);
	if (rc < 0)
		return rc;
	rc = billing_customer_update(&c, ctx, who, str(in, "id"), &p, opts);
	return item_out(res, rc, c,
		billing__json_customer, free_customer);
}

static int op_customer_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return deleted_out(res, billing_customer_delete(ctx, who, str(in, "id"),
		i64(in, "expectedVersion")), str(in, "id"));
}

static int op_customer_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p, in);
	(void)opts;
	if (rc < 0)
		return rc;
	rc = billing_customer_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_customer,
		billing__json_customer);
}

/* ------------------------------------------------------------ products */

static int product_in(billing_product_params *p, md_in *md, const cJSON *in)
{
	int rc;
	if (has(in, "name")) { p->fields |= BILLING_PRODUCT_NAME; p->name = str(in, "name"); }
	if (has(in, "sku")) { p->fields |= BILLING_PRODUCT_SKU; p->sku = str(in, "sku"); }
	if (has(in, "description")) {
		p->fields |= BILLING_PRODUCT_DESCRIPTION;
		p->description = str(in, "description");
	}
	if (has(in, "priceCents")) {
		p->fields |= BILLING_PRODUCT_PRICE;
		p->price_cents = i64(in, "priceCents");
	}
	if (has(in, "currency")) {
		p->fields |= BILLING_PRODUCT_CURRENCY;
		p->currency = str(in, "currency");
	}
	if (has(in, "taxRate")) {
		if ((rc = rate_in(&p->tax_rate_bp, in, "taxRate")) < 0)
			return rc;
		p->fields |= BILLING_PRODUCT_TAX_RATE;
	}
	if (has(in, "isActive")) {
		p->fields |= BILLING_PRODUCT_ACTIVE;
		p->is_active = tri(in, "isActive");
	}
	if (has(in, "stock")) { p->fields |= BILLING_PRODUCT_STOCK; p->stock = i64(in, "stock"); }
	if (has(in, "lowStockThreshold")) {
		p->fields |= BILLING_PRODUCT_LOW_STOCK_THRESHOLD;
		p->low_stock_threshold = i64(in, "lowStockThreshold");
	}
	if (has(in, "metadata")) {
		if ((rc = metadata_in(md, in)) < 0)
			return rc;
		p->fields |= BILLING_PRODUCT_METADATA;
		p->metadata = md->items;
		p->metadata_count = md->count;
	}
	p->expected_version = i64(in, "expectedVersion");
	return BILLING_OK;
}

static int op_product_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_product_params p = BILLING_PRODUCT_PARAMS_INIT;
	billing_product *prod = NULL;
	md_in md;
	int rc = product_in(&p, &md, in);
	if (rc < 0)
		return rc;
	rc = billing_product_create(&prod, ctx, who, &p, opts);
	return item_out(res, rc, prod,
		billing__json_product, free_product);
}

static int op_product_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_product *prod = NULL;
	(void)opts;
	rc = billing_product_get(&prod, ctx, who, str(in, "id"));
	return item_out(res, rc, prod,
		billing__json_product, free_product);
}

static int op_product_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_product_params p = BILLING_PRODUCT_PARAMS_INIT;
	billing_product *prod = NULL;
	md_in md;
	int rc = product_in(&p, &md, in);
	if (rc < 0)
		return rc;
	/* The call first: the order in which arguments are evaluated is
	 * unspecified, so prod must not be read in the same call. */
	rc = billing_product_update(&prod, ctx, who, str(in, "id"), &p, opts);
	return item_out(res, rc, prod, billing__json_product, free_product);
}

static int op_product_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return deleted_out(res, billing_product_delete(ctx, who, str(in, "id"),
		i64(in, "expectedVersion")), str(in, "id"));
}

static int op_product_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_product_list_params p = BILLING_PRODUCT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0)
		return rc;
	p.has_min_price = has(in, "minPriceCents");
	p.min_price_cents = i64(in, "minPriceCents");
	p.has_max_price = has(in, "maxPriceCents");
	p.max_price_cents = i64(in, "maxPriceCents");
	p.is_active = tri(in, "isActive");
	rc = billing_product_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_product,
		billing__json_product);
}

/* ------------------------------------------------------------ plans */

static int plan_in(billing_plan_params *p, md_in *md, const cJSON *in)
{
	int rc;
	if (has(in, "productId")) {
		p->fields |= BILLING_PLAN_PRODUCT;
		p->product_id = str(in, "productId");
	}
	if (has(in, "code")) { p->fields |= BILLING_PLAN_CODE; p->code = str(in, "code"); }
	if (has(in, "name")) { p->fields |= BILLING_PLAN_NAME; p->name = str(in, "name"); }
	if (has(in, "description")) {
		p->fields |= BILLING_PLAN_DESCRIPTION;
		p->description = str(in, "description");
	}
	if (has(in, "amount")) { p->fields |= BILLING_PLAN_AMOUNT; p->amount = i64(in, "amount"); }
	if (has(in, "currency")) {
		p->fields |= BILLING_PLAN_CURRENCY;
		p->currency = str(in, "currency");
	}
	if (has(in, "interval")) {
		billing_interval iv;
		if (billing_interval_parse(&iv, str(in, "interval")) < 0)
			return field_error("interval", "%s must be DAY, WEEK, MONTH or YEAR", "interval");
		p->fields |= BILLING_PLAN_INTERVAL;
		p->interval = iv;
	}
	if (has(in, "intervalCount")) {
		p->fields |= BILLING_PLAN_INTERVAL_COUNT;
		p->interval_count = i32(in, "intervalCount");
		if (p->interval_count == 0)
			p->interval_count = -1; /* 0 means "default" in C; in JSON it is wrong */
	}
	if (has(in, "trialDays")) {
		p->fields |= BILLING_PLAN_TRIAL_DAYS;
		p->trial_days = i32(in, "trialDays");
	}
	if (has(in, "termCount")) {
		p->fields |= BILLING_PLAN_TERM_COUNT;
		p->term_count = cJSON_IsNull(get(in, "termCount")) ? 0 : i32(in, "termCount");
		if (!cJSON_IsNull(get(in, "termCount")) && p->term_count == 0)
			p->term_count = -1;
	}
	if (has(in, "active")) { p->fields |= BILLING_PLAN_ACTIVE; p->active = tri(in, "active"); }
	if (has(in, "metadata")) {
		if ((rc = metadata_in(md, in)) < 0)
			return rc;
		p->fields |= BILLING_PLAN_METADATA;
		p->metadata = md->items;
		p->metadata_count = md->count;
	}
	p->expected_version = i64(in, "expectedVersion");
	return BILLING_OK;
}

static int op_plan_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_plan_params p = BILLING_PLAN_PARAMS_INIT;
	billing_plan *plan = NULL;
	md_in md;
	int rc = plan_in(&p, &md, in);
	if (rc < 0)
		return rc;
	rc = billing_plan_create(&plan, ctx, who, &p, opts);
	return item_out(res, rc, plan, billing__json_plan,
		free_plan);
}

static int op_plan_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	billing_plan *plan = NULL;
	(void)opts;
	rc = billing_plan_get(&plan, ctx, who, str(in, "id"));
	return item_out(res, rc, plan, billing__json_plan,
		free_plan);
}

static int op_plan_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_plan_params p = BILLING_PLAN_PARAMS_INIT;
	billing_plan *plan = NULL;
	md_in md;
	int rc = plan_in(&p, &md, in);
	if (rc < 0)
		return rc;
	rc = billing_plan_update(&plan, ctx, who, str(in, "id"), &p, opts);
	return item_out(res, rc, plan,
		billing__json_plan, free_plan);
}

static int op_plan_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return deleted_out(res, billing_plan_delete(ctx, who, str(in, "id"),
		i64(in, "expectedVersion")), str(in, "id"));
}

static int op_plan_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_plan_list_params p = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0)
		return rc;
	p.active = tri(in, "active");
	p.currency = str(in, "currency");
	p.product_id = str(in, "productId");
	rc = billing_plan_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_plan, billing__json_plan);
}

/* ------------------------------------------------------------ subscriptions */

static int sub_status_in(billing_subscription_status *out, const cJSON *in)
{
	const char *name = str(in, "status");
	int st;
	*out = 0;
	if (!name)
		return BILLING_OK;
	for (st = BILLING_SUB_INCOMPLETE; st <= BILLING_SUB_UNPAID; st++) {
		if (strcmp(billing_subscription_status_name((billing_subscription_status)st), name) == 0) {
			*out = (billing_subscription_status)st;
			return BILLING_OK;
		}
	}
	return field_error("status", "status is not a subscription status");
}

static int op_subscription_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *sub = NULL;
	md_in md;
	int rc;
	p.customer_id = str(in, "customerId");
	p.plan_id = str(in, "planId");
	p.quantity = has(in, "quantity") ? i32(in, "quantity") : 1;
	if (p.quantity == 0)
		p.quantity = -1; /* 0 means "default" in C; in JSON it is wrong */
	p.has_trial_days = has(in, "trialDays");
	p.trial_days = i32(in, "trialDays");
	if (has(in, "startAt") && billing__time_parse(&p.start_at, str(in, "startAt")) < 0)
		return field_error("startAt", "startAt must be an RFC 3339 UTC time");
	if ((rc = metadata_in(&md, in)) < 0)
		return rc;
	p.metadata = md.items;
	p.metadata_count = md.count;
	rc = billing_subscription_create(&sub, ctx, who, &p, opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription *sub = NULL;
	int rc;
	(void)opts;
	rc = billing_subscription_get(&sub, ctx, who, str(in, "id"));
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_list_params p = BILLING_SUBSCRIPTION_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0 || (rc = sub_status_in(&p.status, in)) < 0)
		return rc;
	p.customer_id = str(in, "customerId");
	p.plan_id = str(in, "planId");
	rc = billing_subscription_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_subscription, billing__json_subscription);
}

static int op_subscription_cancel(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription *sub = NULL;
	unsigned int flags = (tri(in, "atPeriodEnd") == BILLING_TRUE ? BILLING_CANCEL_AT_PERIOD_END : 0) |
		(tri(in, "prorate") == BILLING_TRUE ? BILLING_CANCEL_PRORATE : 0);
	int rc = billing_subscription_cancel(&sub, ctx, who, str(in, "id"), flags, opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_update_params p = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_subscription *sub = NULL;
	md_in md;
	int rc;
	if (has(in, "cancelAtPeriodEnd")) {
		p.fields |= BILLING_SUBSCRIPTION_CANCEL_AT_PERIOD_END;
		p.cancel_at_period_end = tri(in, "cancelAtPeriodEnd") == BILLING_TRUE;
	}
	if (has(in, "quantity")) {
		p.fields |= BILLING_SUBSCRIPTION_QUANTITY;
		p.quantity = i32(in, "quantity");
	}
	if (has(in, "metadata")) {
		if ((rc = metadata_in(&md, in)) < 0)
			return rc;
		p.fields |= BILLING_SUBSCRIPTION_METADATA;
		p.metadata = md.items;
		p.metadata_count = md.count;
	}
	p.expected_version = i64(in, "expectedVersion");
	rc = billing_subscription_update(&sub, ctx, who, str(in, "id"), &p, opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_change(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription_change_params p = BILLING_SUBSCRIPTION_CHANGE_INIT;
	billing_subscription *sub = NULL;
	const char *behavior = str(in, "prorationBehavior");
	int rc;
	p.plan_id = str(in, "planId");
	if (behavior) {
		int b;
		p.proration = (billing_proration_behavior)-1;
		for (b = BILLING_PRORATE_CREATE; b <= BILLING_PRORATE_NONE; b++)
			if (strcmp(billing_proration_behavior_name((billing_proration_behavior)b),
				behavior) == 0)
				p.proration = (billing_proration_behavior)b;
	}
	p.quantity = i32(in, "quantity");
	if (has(in, "quantity") && p.quantity == 0)
		p.quantity = -1; /* 0 means "keep" in C; in JSON it is wrong */
	p.at_period_end = tri(in, "atPeriodEnd") == BILLING_TRUE;
	rc = billing_subscription_change_plan(&sub, ctx, who, str(in, "id"), &p, opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_pause(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription *sub = NULL;
	int rc = billing_subscription_pause(&sub, ctx, who, str(in, "id"), opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

static int op_subscription_resume(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_subscription *sub = NULL;
	int rc = billing_subscription_resume(&sub, ctx, who, str(in, "id"), opts);
	return item_out(res, rc, sub, billing__json_subscription, free_subscription);
}

/* A status filter given by name: *out receives its value (0 when absent). */
static int status_in(const cJSON *in, int first, int last, const char *(*name)(int), int *out,
	const char *choices)
{
	const char *given = str(in, "status");
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

static const char *invoice_status(int s)
{
	return billing_invoice_status_name((billing_invoice_status)s);
}
static const char *payment_status(int s)
{
	return billing_payment_status_name((billing_payment_status)s);
}
static const char *delivery_status(int s)
{
	return billing_delivery_status_name((billing_delivery_status)s);
}

/* ------------------------------------------------------------ invoices */

static int op_invoice_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc;
	(void)opts;
	rc = billing_invoice_get(&inv, ctx, who, str(in, "id"));
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

static int op_invoice_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice_list_params p = BILLING_INVOICE_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int st, rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0 || (rc = status_in(in, BILLING_INVOICE_DRAFT, BILLING_INVOICE_VOID,
		invoice_status, &st, "draft, pending, paid, failed or void")) < 0)
		return rc;
	p.status = (billing_invoice_status)st;
	p.customer_id = str(in, "customerId");
	p.subscription_id = str(in, "subscriptionId");
	if ((p.has_period_from = has(in, "periodFrom")) &&
	    billing__time_parse(&p.period_from, str(in, "periodFrom")) < 0)
		return field_error("periodFrom", "periodFrom must be an RFC 3339 UTC time");
	if ((p.has_period_to = has(in, "periodTo")) &&
	    billing__time_parse(&p.period_to, str(in, "periodTo")) < 0)
		return field_error("periodTo", "periodTo must be an RFC 3339 UTC time");
	rc = billing_invoice_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_invoice, billing__json_invoice);
}

static int op_invoice_void(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc = billing_invoice_void(&inv, ctx, who, str(in, "id"), opts);
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

static int op_invoice_preview(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_invoice *inv = NULL;
	int rc;
	(void)opts;
	rc = billing_invoice_preview(&inv, ctx, who, str(in, "subscriptionId"));
	return item_out(res, rc, inv, billing__json_invoice, free_invoice);
}

/* ------------------------------------------------------------ payments */

static void free_payment(void *p) { billing_payment_free(p); }
static const void *at_payment(const billing_page *p, size_t i)
{
	return billing_page_payment(p, i);
}

static int op_invoice_pay(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_pay_params p = BILLING_PAY_PARAMS_INIT;
	billing_payment *pay = NULL;
	int rc;
	p.payment_method = str(in, "paymentMethod");
	p.amount = i64(in, "amount");
	if (has(in, "amount") && p.amount <= 0)
		return field_error("amount", "amount must be > 0");
	p.currency = str(in, "currency");
	rc = billing_invoice_pay(&pay, ctx, who, str(in, "id"), &p, opts);
	if (rc < 0) {
		/* A decline or a lost answer still made an attempt: the error
		 * says so, and the attempt is listed under the invoice. */
		billing_payment_free(pay);
		return rc;
	}
	return item_out(res, rc, pay, billing__json_payment, free_payment);
}

static int op_payment_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_payment *pay = NULL;
	int rc;
	(void)opts;
	rc = billing_payment_get(&pay, ctx, who, str(in, "id"));
	return item_out(res, rc, pay, billing__json_payment, free_payment);
}

static int op_payment_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_payment_list_params p = BILLING_PAYMENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int st, rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0 || (rc = status_in(in, BILLING_PAYMENT_PENDING, BILLING_PAYMENT_UNKNOWN,
		payment_status, &st, "a payment status")) < 0)
		return rc;
	p.status = (billing_payment_status)st;
	p.invoice_id = str(in, "invoiceId");
	rc = billing_payment_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_payment, billing__json_payment);
}

static int op_payment_refund(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_payment *pay = NULL;
	int64_t amount = i64(in, "amount");
	int rc;
	if (has(in, "amount") && amount <= 0)
		return field_error("amount", "amount must be > 0");
	rc = billing_payment_refund(&pay, ctx, who, str(in, "id"), amount, opts);
	if (rc < 0) {
		billing_payment_free(pay);
		return rc;
	}
	return item_out(res, rc, pay, billing__json_payment, free_payment);
}

static cJSON *dunning_json(const billing_dunning_policy *pol)
{
	billing__jb b = { cJSON_CreateObject(), false };
	cJSON *days = cJSON_CreateArray();
	size_t i;
	for (i = 0; days && i < pol->retry_count; i++)
		if (!cJSON_AddItemToArray(days, billing__jx_int_new(pol->retry_days[i])))
			b.failed = true;
	billing__jb_add(&b, "object", cJSON_CreateString("dunning_policy"));
	billing__jb_add(&b, "retryDays", days);
	billing__jb_add(&b, "finalAction", cJSON_CreateString(
		pol->final_action == BILLING_DUNNING_KEEP_PAST_DUE ? "keep_past_due" :
		pol->final_action == BILLING_DUNNING_UNPAID ? "unpaid" : "cancel"));
	return billing__jb_done(&b);
}

static int op_dunning_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_dunning_policy pol;
	int rc;
	(void)in;
	(void)opts;
	if ((rc = billing_dunning_get(&pol, ctx, who)) < 0)
		return rc;
	return (*res = dunning_json(&pol)) ? BILLING_OK : nomem();
}

static int op_dunning_set(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_dunning_policy pol;
	const char *action = str(in, "finalAction");
	const cJSON *e;
	int rc;
	(void)opts;
	memset(&pol, 0, sizeof(pol));
	cJSON_ArrayForEach(e, get(in, "retryDays")) {
		if (pol.retry_count == BILLING_DUNNING_MAX_RETRIES)
			return field_error("retryDays", "at most %d retries",
				BILLING_DUNNING_MAX_RETRIES);
		int64_t d = 0;
		(void)billing__jx_int(e, &d);   /* checked: within +-1e9 */
		pol.retry_days[pol.retry_count++] = (int32_t)d;
	}
	if (!action || strcmp(action, "cancel") == 0)
		pol.final_action = BILLING_DUNNING_CANCEL;
	else if (strcmp(action, "unpaid") == 0)
		pol.final_action = BILLING_DUNNING_UNPAID;
	else if (strcmp(action, "keep_past_due") == 0)
		pol.final_action = BILLING_DUNNING_KEEP_PAST_DUE;
	else
		return field_error("finalAction",
			"finalAction must be cancel, unpaid or keep_past_due");
	if ((rc = billing_dunning_set(ctx, who, &pol)) < 0 ||
	    (rc = billing_dunning_get(&pol, ctx, who)) < 0)
		return rc;
	return (*res = dunning_json(&pol)) ? BILLING_OK : nomem();
}


/* ------------------------------------------------------------ webhooks */

static const void *at_endpoint(const billing_page *p, size_t i)
{
	return billing_page_webhook_endpoint(p, i);
}
static const void *at_delivery(const billing_page *p, size_t i)
{
	return billing_page_webhook_delivery(p, i);
}
static const void *at_audit(const billing_page *p, size_t i)
{
	return billing_page_audit_entry(p, i);
}

/* The endpoint, with its secret when this call made one (create, rotate). */
static int endpoint_out(cJSON **res, int rc, billing_webhook_endpoint *e)
{
	cJSON *o;
	if (rc < 0)
		return rc;
	o = billing__json_webhook_endpoint(e);
	if (o && billing_webhook_endpoint_secret(e) &&
	    !cJSON_AddStringToObject(o, "secret", billing_webhook_endpoint_secret(e))) {
		cJSON_Delete(o);
		o = NULL;
	}
	billing_webhook_endpoint_free(e);
	return (*res = o) ? BILLING_OK : nomem();
}

/* Input of create and update; types borrowed from in. */
static int endpoint_in(billing_webhook_endpoint_params *p, const cJSON *in, const char **types)
{
	const cJSON *e, *list = get(in, "events");
	if (has(in, "url")) { p->fields |= BILLING_WEBHOOK_URL; p->url = str(in, "url"); }
	if (list) {
		p->fields |= BILLING_WEBHOOK_EVENT_TYPES;
		cJSON_ArrayForEach(e, list) {
			if (p->event_type_count == BILLING_WEBHOOK_MAX_EVENT_TYPES)
				return field_error("events", "at most %d event types",
					BILLING_WEBHOOK_MAX_EVENT_TYPES);
			types[p->event_type_count++] = e->valuestring;
		}
		p->event_types = types;
	}
	if (has(in, "enabled")) {
		p->fields |= BILLING_WEBHOOK_ENABLED;
		p->enabled = cJSON_IsTrue(get(in, "enabled")) ? BILLING_TRUE : BILLING_FALSE;
	}
	if (has(in, "description")) {
		p->fields |= BILLING_WEBHOOK_DESCRIPTION;
		p->description = str(in, "description");
	}
	return BILLING_OK;
}

static int op_endpoint_create(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	const char *types[BILLING_WEBHOOK_MAX_EVENT_TYPES];
	billing_webhook_endpoint *e = NULL;
	int rc = endpoint_in(&p, in, types);
	if (rc < 0)
		return rc;
	if (!has(in, "url"))
		return field_error("url", "url is required");
	rc = billing_webhook_endpoint_create(&e, ctx, who, &p, opts);
	return endpoint_out(res, rc, e);
}

static int op_endpoint_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_webhook_endpoint *e = NULL;
	int rc;
	(void)opts;
	/* rc first: the arguments of one call are evaluated in no set order. */
	rc = billing_webhook_endpoint_get(&e, ctx, who, str(in, "id"));
	return endpoint_out(res, rc, e);
}

static int op_endpoint_update(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	const char *types[BILLING_WEBHOOK_MAX_EVENT_TYPES];
	billing_webhook_endpoint *e = NULL;
	int rc = endpoint_in(&p, in, types);
	if (rc < 0)
		return rc;
	p.expected_version = i64(in, "expectedVersion");
	rc = billing_webhook_endpoint_update(&e, ctx, who, str(in, "id"), &p, opts);
	return endpoint_out(res, rc, e);
}

static int op_endpoint_delete(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	(void)opts;
	return deleted_out(res, billing_webhook_endpoint_delete(ctx, who, str(in, "id"),
		i64(in, "expectedVersion")), str(in, "id"));
}

static int op_endpoint_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p, in);
	(void)opts;
	if (rc < 0)
		return rc;
	rc = billing_webhook_endpoint_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_endpoint, billing__json_webhook_endpoint);
}

static int op_endpoint_rotate(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_webhook_endpoint *e = NULL;
	int rc = billing_webhook_endpoint_rotate_secret(&e, ctx, who, str(in, "id"),
		i64(in, "overlapSeconds"), opts);
	return endpoint_out(res, rc, e);
}

static int op_delivery_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_delivery_list_params p = BILLING_DELIVERY_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int st, rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0 || (rc = status_in(in, BILLING_DELIVERY_PENDING, BILLING_DELIVERY_DEAD,
		delivery_status, &st, "pending, succeeded or dead")) < 0)
		return rc;
	p.status = (billing_delivery_status)st;
	p.endpoint_id = str(in, "endpointId");
	p.event_id = str(in, "eventId");
	rc = billing_webhook_delivery_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_delivery, billing__json_webhook_delivery);
}

static int op_redeliver(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing__jb b;
	int64_t since = 0, count = 0;
	int rc;
	(void)opts;
	if (!has(in, "id") && !has(in, "since"))
		return field_error("id", "give the event's id, or since");
	if (has(in, "id") && has(in, "since"))
		return field_error("since", "give the event's id or since, not both");
	if (has(in, "since") && billing__time_parse(&since, str(in, "since")) < 0)
		return field_error("since", "since must be an RFC 3339 UTC time");
	if ((rc = billing_webhook_redeliver(ctx, who, str(in, "id"), since, &count)) < 0)
		return rc;
	b.obj = cJSON_CreateObject();
	b.failed = false;
	billing__jb_add(&b, "object", cJSON_CreateString("redelivery"));
	billing__jb_num(&b, "deliveries", count);
	return (*res = billing__jb_done(&b)) ? BILLING_OK : nomem();
}

static int op_audit_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_list_params p = BILLING_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p, in);
	(void)opts;
	if (rc < 0)
		return rc;
	rc = billing_audit_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_audit, billing__json_audit_entry);
}

/* ------------------------------------------------------------ events */

static void free_event(void *p) { billing_event_free(p); }
static const void *at_event(const billing_page *p, size_t i) { return billing_page_event(p, i); }

static int op_event_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_event *e = NULL;
	int rc;
	(void)opts;
	rc = billing_event_get(&e, ctx, who, str(in, "id"));
	return item_out(res, rc, e, billing__json_event, free_event);
}

static int op_event_list(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_event_list_params p = BILLING_EVENT_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int rc = list_in(&p.list, in);
	(void)opts;
	if (rc < 0)
		return rc;
	p.type = str(in, "type");
	if ((p.has_created_after = has(in, "createdAfter")) &&
	    billing__time_parse(&p.created_after, str(in, "createdAfter")) < 0)
		return field_error("createdAfter", "createdAfter must be an RFC 3339 UTC time");
	rc = billing_event_list(&page, ctx, who, &p);
	return page_out(res, rc, page, at_event, billing__json_event);
}

/* ------------------------------------------------------------ dispatch */

static const op_entry entries[] = {
	{ BILLING_OP_TENANTS_CREATE, op_tenant_create, "Create a tenant (platform operator).",
		f_tenant_create,
		OUT_OBJECT, "Tenant" },
	{ BILLING_OP_TENANTS_GET, op_tenant_get, "Fetch a tenant.", f_id_only,
		OUT_OBJECT, "Tenant" },
	{ BILLING_OP_TENANTS_LIST, op_tenant_list, "List tenants (platform operator).",
		f_tenant_list,
		OUT_PAGE, "Tenant" },
	{ BILLING_OP_CUSTOMERS_CREATE, op_customer_create, "Create a customer.",
		f_customer_create,
		OUT_OBJECT, "Customer" },
	{ BILLING_OP_CUSTOMERS_GET, op_customer_get, "Fetch a customer.", f_id_only,
		OUT_OBJECT, "Customer" },
	{ BILLING_OP_CUSTOMERS_UPDATE, op_customer_update,
		"Change the fields given; the others stay.", f_customer_update,
		OUT_OBJECT, "Customer" },
	{ BILLING_OP_CUSTOMERS_DELETE, op_customer_delete,
		"Delete a customer nothing references.", f_delete,
		OUT_OBJECT, "Deleted" },
	{ BILLING_OP_CUSTOMERS_LIST, op_customer_list,
		"List customers; search on name or email; sortBy name, email, createdAt.",
		f_customer_list,
		OUT_PAGE, "Customer" },
	{ BILLING_OP_PRODUCTS_CREATE, op_product_create, "Create a product.", f_product_create,
		OUT_OBJECT, "Product" },
	{ BILLING_OP_PRODUCTS_GET, op_product_get, "Fetch a product.", f_id_only,
		OUT_OBJECT, "Product" },
	{ BILLING_OP_PRODUCTS_UPDATE, op_product_update,
		"Change the fields given; the others stay.", f_product_update,
		OUT_OBJECT, "Product" },
	{ BILLING_OP_PRODUCTS_DELETE, op_product_delete,
		"Delete a product no plan (deleted or not) references.", f_delete,
		OUT_OBJECT, "Deleted" },
	{ BILLING_OP_PRODUCTS_LIST, op_product_list,
		"List products; search on name or sku; sortBy name, sku, priceCents, createdAt.",
		f_product_list,
		OUT_PAGE, "Product" },
	{ BILLING_OP_PLANS_CREATE, op_plan_create, "Create a plan.", f_plan_create,
		OUT_OBJECT, "Plan" },
	{ BILLING_OP_PLANS_GET, op_plan_get, "Fetch a plan (deleted plans are not found).",
		f_id_only,
		OUT_OBJECT, "Plan" },
	{ BILLING_OP_PLANS_UPDATE, op_plan_update,
		"Change name, description, amount, trialDays, active or metadata.", f_plan_update,
		OUT_OBJECT, "Plan" },
	{ BILLING_OP_PLANS_DELETE, op_plan_delete,
		"Soft-delete a plan; its code stays reserved.", f_delete,
		OUT_OBJECT, "Deleted" },
	{ BILLING_OP_PLANS_LIST, op_plan_list,
		"List plans; search on name or code; sortBy name, code, amount, createdAt.",
		f_plan_list,
		OUT_PAGE, "Plan" },
	{ BILLING_OP_SUBSCRIPTIONS_CREATE, op_subscription_create,
		"Subscribe a customer to a plan; the first invoice is issued at once.",
		f_subscription_create,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_GET, op_subscription_get, "Fetch a subscription.", f_id_only,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_LIST, op_subscription_list,
		"List subscriptions; sortBy createdAt or currentPeriodEnd.", f_subscription_list,
		OUT_PAGE, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_CANCEL, op_subscription_cancel,
		"Cancel now, or at the end of the current period.", f_subscription_cancel,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_UPDATE, op_subscription_update,
		"Undo a period-end cancellation, change quantity or metadata.", f_subscription_update,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_CHANGE_PLAN, op_subscription_change,
		"Move to another plan now, with proration.", f_subscription_change,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_PAUSE, op_subscription_pause,
		"Pause billing until resumed.", f_id_only,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_SUBSCRIPTIONS_RESUME, op_subscription_resume,
		"Resume: a new cycle starts now and is invoiced at once.", f_id_only,
		OUT_OBJECT, "Subscription" },
	{ BILLING_OP_INVOICES_GET, op_invoice_get, "Fetch an invoice with its lines.", f_id_only,
		OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_LIST, op_invoice_list, "List invoices, newest last by default.",
		f_invoice_list,
		OUT_PAGE, "Invoice" },
	{ BILLING_OP_INVOICES_VOID, op_invoice_void, "Void a draft or pending invoice.", f_id_only,
		OUT_OBJECT, "Invoice" },
	{ BILLING_OP_INVOICES_PREVIEW, op_invoice_preview,
		"The next invoice of a subscription; nothing is written.", f_invoice_preview,
		OUT_OBJECT, "InvoicePreview" },
	{ BILLING_OP_EVENTS_GET, op_event_get, "Fetch a domain event.", f_id_only,
		OUT_OBJECT, "Event" },
	{ BILLING_OP_EVENTS_LIST, op_event_list,
		"The domain-event log, oldest first; filter by type and createdAfter.", f_event_list,
		OUT_PAGE, "Event" },
	{ BILLING_OP_INVOICES_PAY, op_invoice_pay,
		"Charge a pending or failed invoice now; a decline is BILLING_EDECLINED.",
		f_invoice_pay,
		OUT_OBJECT, "Payment" },
	{ BILLING_OP_PAYMENTS_GET, op_payment_get, "Fetch a payment attempt.", f_id_only,
		OUT_OBJECT, "Payment" },
	{ BILLING_OP_PAYMENTS_LIST, op_payment_list,
		"List payment attempts; filter by invoiceId and status.", f_payment_list,
		OUT_PAGE, "Payment" },
	{ BILLING_OP_PAYMENTS_REFUND, op_payment_refund,
		"Refund all or part of a succeeded payment.", f_payment_refund,
		OUT_OBJECT, "Payment" },
	{ BILLING_OP_DUNNING_GET, op_dunning_get, "The tenant's retry policy for failed renewals.",
		f_none,
		OUT_OBJECT, "DunningPolicy" },
	{ BILLING_OP_DUNNING_SET, op_dunning_set, "Set the tenant's retry policy.",
		f_dunning_set,
		OUT_OBJECT, "DunningPolicy" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_CREATE, op_endpoint_create,
		"Register a webhook endpoint; its signing secret is in this answer only.",
		f_endpoint_create,
		OUT_OBJECT, "WebhookEndpointWithSecret" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_GET, op_endpoint_get, "Fetch a webhook endpoint.",
		f_id_only,
		OUT_OBJECT, "WebhookEndpoint" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_UPDATE, op_endpoint_update,
		"Change url, events, enabled or description.", f_endpoint_update,
		OUT_OBJECT, "WebhookEndpoint" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_DELETE, op_endpoint_delete,
		"Delete a webhook endpoint; its queued deliveries die.", f_delete,
		OUT_OBJECT, "Deleted" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_LIST, op_endpoint_list, "List webhook endpoints.",
		f_list_only,
		OUT_PAGE, "WebhookEndpoint" },
	{ BILLING_OP_WEBHOOK_ENDPOINTS_ROTATE, op_endpoint_rotate,
		"A new signing secret; the old one still signs for overlapSeconds.",
		f_endpoint_rotate,
		OUT_OBJECT, "WebhookEndpointWithSecret" },
	{ BILLING_OP_WEBHOOK_DELIVERIES_LIST, op_delivery_list,
		"Deliveries with every attempt; filter by endpointId, eventId, status.",
		f_delivery_list,
		OUT_PAGE, "WebhookDelivery" },
	{ BILLING_OP_EVENTS_REDELIVER, op_redeliver,
		"Deliver an event again, or every dead delivery since a time.", f_redeliver,
		OUT_OBJECT, "Redelivery" },
	{ BILLING_OP_AUDIT_LIST, op_audit_list,
		"The audit log: who changed what, when, in which request.", f_list_only,
		OUT_PAGE, "AuditEntry" },
};

_Static_assert(sizeof(entries) / sizeof(entries[0]) == BILLING_OP__JSON_COUNT,
	"every operation needs its JSON entry");

static char *error_json(void)
{
	const billing_error *e = billing_error_last();
	cJSON *root = cJSON_CreateObject(), *err = cJSON_CreateObject(), *list;
	char *text;
	size_t i;

	if (!root || !err || !cJSON_AddItemToObject(root, "error", err)) {
		cJSON_Delete(root);
		cJSON_Delete(err);
		return NULL;
	}
	cJSON_AddNumberToObject(err, "status", e->code);
	cJSON_AddStringToObject(err, "name", e->name);
	cJSON_AddStringToObject(err, "code", e->reason);
	cJSON_AddStringToObject(err, "message", e->message);
	if (e->field)
		cJSON_AddStringToObject(err, "field", e->field);
	else
		cJSON_AddNullToObject(err, "field");
	if ((list = cJSON_AddArrayToObject(err, "errors")) != NULL) {
		for (i = 0; i < e->field_error_count; i++) {
			cJSON *fe = cJSON_CreateObject();
			cJSON_AddStringToObject(fe, "field", e->field_errors[i].field);
			cJSON_AddStringToObject(fe, "message", e->field_errors[i].message);
			cJSON_AddItemToArray(list, fe);
		}
	}
	if (e->provider_code)
		cJSON_AddStringToObject(err, "providerCode", e->provider_code);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

static char *dup_json(cJSON *v)
{
	char *text = billing__jx_print(v);
	char *copy = text ? billing__strdup(text) : NULL;
	cJSON_free(text);
	return copy;
}

static char *dup_error_json(void)
{
	char *text = error_json();
	char *copy = text ? billing__strdup(text) : NULL;
	cJSON_free(text);
	return copy;
}

/* The object on the generic flow and the operation (BILLING_RESOURCE_OP_*)
 * a name "<plural>.<verb>" stands for, where the object offers it; NULL
 * for any other name. */
static const billing__rules *generic_find(const char *operation, unsigned int *op)
{
	const char *dot = strrchr(operation, '.');
	const billing__rules *rules;
	char plural[64];
	size_t i;

	if (!dot || (size_t)(dot - operation) >= sizeof(plural))
		return NULL;
	snprintf(plural, sizeof(plural), "%.*s", (int)(dot - operation), operation);
	if ((rules = billing__rules_find(plural)) == NULL || strcmp(rules->res->plural, plural) != 0)
		return NULL;
	for (i = 0; i < sizeof(op_verbs) / sizeof(op_verbs[0]); i++)
		if (strcmp(dot + 1, op_verbs[i]) == 0 && (rules->res->ops & (1u << i))) {
			*op = 1u << i;
			return rules;
		}
	return NULL;
}

int billing_call_json(char **out, billing_ctx *ctx, const billing_principal *who,
	const char *operation, const char *json, size_t len, const billing_call_options *opts)
{
	const op_entry *e = NULL;
	const billing__rules *rules = NULL;
	field_spec *spec = NULL;
	unsigned int gop = 0;
	cJSON *in = NULL, *result = NULL;
	size_t i;
	int rc;

	billing_error_clear();
	if (!out)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "out",
			"out must not be NULL");
	*out = NULL;
	for (i = 0; operation && i < sizeof(entries) / sizeof(entries[0]); i++)
		if (strcmp(billing__op_get(entries[i].op)->name, operation) == 0)
			e = &entries[i];
	if (!e && operation)
		rules = generic_find(operation, &gop);
	if (!e && !rules) {
		rc = billing__error_set(BILLING_ENOTFOUND, "unknown_operation",
			"no operation named \"%.60s\"", operation ? operation : "(null)");
		goto done;
	}
	/* The call's request id and key reach every write it makes, also those
	 * of C calls that take no options (deletes, dunning.set, redelivery). */
	if (opts && opts->version >= 1 && opts->version <= BILLING_CALL_OPTIONS_VERSION)
		billing__scope_pin(opts->idempotency_key,
			opts->version >= 3 ? opts->request_id : NULL);
	/* Roles first: a forbidden caller learns nothing about its input. */
	if ((rc = e ? billing__authorize(ctx, who, e->op) :
	    billing__authorize_resource(ctx, who, rules->res, gop)) < 0)
		goto done;
	if (json && len > 0) {
		billing__jx_error jerr;
		if ((in = billing__jx_parse(json, len, &jerr)) == NULL) {
			if (strcmp(jerr.reason, "out_of_memory") == 0)
				rc = nomem();
			else
				rc = billing__error_field(BILLING_EINVALID, jerr.reason,
					jerr.field[0] ? jerr.field : "body", "%s", jerr.message);
			goto done;
		}
	} else if ((in = cJSON_CreateObject()) == NULL) {
		rc = nomem();
		goto done;
	}
	if (!e && (spec = billing__json_record_spec(rules->res, gop)) == NULL) {
		rc = nomem();
		goto done;
	}
	if ((rc = check_fields(in, e ? e->fields : spec)) < 0)
		goto done;
	rc = e ? e->run(&result, ctx, who, in, opts) :
		billing__json_record_call(&result, rules, gop, ctx, who, in, opts);
done:
	billing__free(spec);
	billing__scope_unpin();
	cJSON_Delete(in);
	if (rc < 0) {
		cJSON_Delete(result);
		*out = dup_error_json();
		return rc;
	}
	*out = dup_json(result);
	cJSON_Delete(result);
	if (!*out)
		return nomem();
	return BILLING_OK;
}

/* op's "output": {"kind": "object" | "page", "shape": name}. */
static bool output_json(cJSON *op, const char *kind, const char *shape)
{
	cJSON *o = cJSON_AddObjectToObject(op, "output");
	return o && cJSON_AddStringToObject(o, "kind", kind) &&
		cJSON_AddStringToObject(o, "shape", shape);
}

static bool shape_json(cJSON *list, const billing__shape *sh)
{
	cJSON *o = cJSON_CreateObject(), *fields;
	const billing__shape_field *f;

	if (!o || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return false;
	}
	if (!cJSON_AddStringToObject(o, "name", sh->name) ||
	    !cJSON_AddStringToObject(o, "doc", sh->doc) ||
	    (sh->extends && !cJSON_AddStringToObject(o, "extends", sh->extends)) ||
	    (fields = cJSON_AddArrayToObject(o, "fields")) == NULL)
		return false;
	for (f = sh->fields; f->name; f++) {
		cJSON *fo = cJSON_CreateObject();
		if (!fo || !cJSON_AddItemToArray(fields, fo)) {
			cJSON_Delete(fo);
			return false;
		}
		if (!cJSON_AddStringToObject(fo, "name", f->name) ||
		    !cJSON_AddStringToObject(fo, "type", f->type) ||
		    (f->optional && !cJSON_AddTrueToObject(fo, "optional")))
			return false;
	}
	return true;
}

/*
 * The objects whose operations follow the standard shapes (create, get,
 * update, delete and list under one plural), for the catalog's
 * "resources": the HTTP server adds their routes from it. These three
 * have hand-written operations above; the objects on the generic flow
 * (billing__rules_all) follow them, from their descriptors.
 */
static const struct {
	const char *name, *plural, *path, *title, *description;
	unsigned int ops;
} crud_objects[] = {
	{ "customer", "customers", "customers", "Customer", "A customer of a tenant.",
		BILLING_RESOURCE_OP_CRUD },
	{ "product", "products", "products", "Product",
		"A product; prices in minor units of its currency.", BILLING_RESOURCE_OP_CRUD },
	{ "plan", "plans", "plans", "Plan",
		"A price of a product per interval; amount in minor units.", BILLING_RESOURCE_OP_CRUD },
};


/* One entry of "resources": {"name","plural","path","title","description",
 * "operations":["create",...]} (the verbs in ops, BILLING_RESOURCE_OP_*). */
static bool resource_json(cJSON *list, const char *name, const char *plural, const char *path,
	const char *title, const char *description, unsigned int ops)
{
	cJSON *o = cJSON_CreateObject(), *verbs;
	size_t i;

	if (!o || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return false;
	}
	if (!cJSON_AddStringToObject(o, "name", name) ||
	    !cJSON_AddStringToObject(o, "plural", plural) ||
	    !cJSON_AddStringToObject(o, "path", path) ||
	    !cJSON_AddStringToObject(o, "title", title) ||
	    !cJSON_AddStringToObject(o, "description", description) ||
	    (verbs = cJSON_AddArrayToObject(o, "operations")) == NULL)
		return false;
	for (i = 0; i < sizeof(op_verbs) / sizeof(op_verbs[0]); i++)
		if ((ops & (1u << i)) && !cJSON_AddItemToArray(verbs, cJSON_CreateString(op_verbs[i])))
			return false;
	return true;
}

/* root's "resources": the objects whose operations are the standard ones. */
static bool resources_json(cJSON *root)
{
	cJSON *list = cJSON_AddArrayToObject(root, "resources");
	size_t i;

	const billing__rules *const *all;
	size_t n;

	for (i = 0; list && i < sizeof(crud_objects) / sizeof(crud_objects[0]); i++)
		if (!resource_json(list, crud_objects[i].name, crud_objects[i].plural,
			crud_objects[i].path, crud_objects[i].title, crud_objects[i].description,
			crud_objects[i].ops))
			return false;
	all = billing__rules_all(&n);
	for (i = 0; list && i < n; i++)
		if (!resource_json(list, all[i]->res->name, all[i]->res->plural, all[i]->res->path,
			all[i]->res->title, all[i]->res->description, all[i]->res->ops))
			return false;
	return list != NULL;
}

/* root's "shapes": every object an operation answers with (json_out.h). */
static bool shapes_json(cJSON *root)
{
	cJSON *list = cJSON_AddArrayToObject(root, "shapes");
	size_t i, n;
	const billing__shape *sh = billing__json_shapes(&n);

	const billing__rules *const *all;

	for (i = 0; list && i < n; i++)
		if (!shape_json(list, &sh[i]))
			return false;
	all = billing__rules_all(&n);
	for (i = 0; list && i < n; i++)
		if (!billing__json_record_shape(list, all[i]->res))
			return false;
	return list != NULL;
}

/* One operation of the catalog into ops. */
static bool op_json(cJSON *ops, const char *name, bool mutating, const char *description,
	unsigned int role_bits, const field_spec *fields, const char *kind, const char *shape)
{
	cJSON *op = cJSON_CreateObject(), *roles, *input;
	const field_spec *f;
	billing_role r;

	if (!op || !cJSON_AddItemToArray(ops, op)) {
		cJSON_Delete(op);
		return false;
	}
	if (!cJSON_AddStringToObject(op, "name", name) ||
	    !cJSON_AddBoolToObject(op, "mutating", mutating) ||
	    !cJSON_AddStringToObject(op, "description", description) ||
	    (roles = cJSON_AddArrayToObject(op, "roles")) == NULL)
		return false;
	for (r = BILLING_ROLE_USER; r <= BILLING_ROLE_PLATFORM; r++)
		if ((role_bits & BILLING__ROLE_BIT(r)) &&
		    !cJSON_AddItemToArray(roles, cJSON_CreateString(billing_role_name(r))))
			return false;
	if ((input = cJSON_AddArrayToObject(op, "input")) == NULL)
		return false;
	for (f = fields; f->name; f++) {
		cJSON *fo = cJSON_CreateObject();
		if (!fo || !cJSON_AddItemToArray(input, fo)) {
			cJSON_Delete(fo);
			return false;
		}
		if (!cJSON_AddStringToObject(fo, "name", f->name) ||
		    !cJSON_AddStringToObject(fo, "type", type_name(f->type)) ||
		    !cJSON_AddBoolToObject(fo, "required", f->required) ||
		    !cJSON_AddBoolToObject(fo, "nullable", f->nullable) ||
		    !cJSON_AddStringToObject(fo, "description", f->description))
			return false;
	}
	return output_json(op, kind, shape);
}

/* The generic operations of a descriptor object (json_record.c). */
static bool generic_ops_json(cJSON *ops, const billing_resource *res)
{
	static const char *const what[][2] = {
		{ "Create a ", "." }, { "Fetch a ", "." },
		{ "Change the fields given of a ", "; the others stay." }, { "Delete a ", "." },
		{ "List the ", "; search, filters and sortBy as its fields say." }
	};
	size_t i;

	for (i = 0; i < sizeof(op_verbs) / sizeof(op_verbs[0]); i++) {
		unsigned int bit = 1u << i;
		bool reads = bit == BILLING_RESOURCE_OP_GET || bit == BILLING_RESOURCE_OP_LIST;
		char name[96], description[300];
		field_spec *spec;
		bool ok;

		if (!(res->ops & bit))
			continue;
		snprintf(name, sizeof(name), "%s.%s", res->plural, op_verbs[i]);
		snprintf(description, sizeof(description), "%s%s%s", what[i][0],
			bit == BILLING_RESOURCE_OP_LIST ? res->plural : res->name, what[i][1]);
		if ((spec = billing__json_record_spec(res, bit)) == NULL)
			return false;
		ok = op_json(ops, name, !reads, description,
			reads ? res->read_roles : res->write_roles, spec,
			bit == BILLING_RESOURCE_OP_LIST ? "page" : "object",
			bit == BILLING_RESOURCE_OP_DELETE ? "Deleted" : res->title);
		billing__free(spec);
		if (!ok)
			return false;
	}
	return true;
}

int billing_catalog_json(char **out)
{
	const billing__rules *const *all;
	cJSON *root, *ops;
	size_t i, n;
	bool failed;

	/* Before allocating: an early return must not leak root. */
	BILLING__ASSERT_ARG(out, "out");
	root = cJSON_CreateObject();
	failed = root == NULL;
	ops = cJSON_AddArrayToObject(root, "operations");
	failed |= !cJSON_AddNumberToObject(root, "version", 1) || !ops;
	for (i = 0; !failed && i < sizeof(entries) / sizeof(entries[0]); i++) {
		const billing__op_info *info = billing__op_get(entries[i].op);
		failed = !op_json(ops, info->name, info->mutating, entries[i].description,
			info->roles, entries[i].fields, entries[i].out == OUT_PAGE ? "page" : "object",
			entries[i].shape);
	}
	all = billing__rules_all(&n);
	for (i = 0; !failed && i < n; i++)
		failed = !generic_ops_json(ops, all[i]->res);
	failed |= !failed && (!shapes_json(root) || !resources_json(root));
	*out = failed ? NULL : dup_json(root);
	cJSON_Delete(root);
	return *out ? BILLING_OK : nomem();
}
