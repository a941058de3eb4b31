/*
 * OpenAPI generation. Inputs (request bodies, query parameters) come from
 * the catalog's field lists; each operation's answer from its catalog
 * output: components.schemas holds the shapes the library declares
 * (billing_catalog_json "shapes"), field by field, and a list answers with
 * the HTTP list envelope around its shape.
 */
#include "openapi.h"

#include <billing/billing.h>
#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "router.h"

static cJSON *ref(const char *target)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "$ref", target);
	return o;
}

static cJSON *field_schema(const cJSON *f)
{
	const char *type = catalog_str(f, "type");
	cJSON *s = cJSON_CreateObject(), *types = cJSON_CreateArray();
	size_t len = strlen(type);
	if (len > 2 && strcmp(type + len - 2, "[]") == 0) {
		/* "integer[]": an array of integers */
		cJSON *items = cJSON_CreateObject();
		char item[32];
		snprintf(item, sizeof(item), "%.*s", (int)(len - 2), type);
		cJSON_AddStringToObject(items, "type", item);
		cJSON_AddItemToArray(types, cJSON_CreateString("array"));
		cJSON_AddItemToObject(s, "items", items);
	} else if (strcmp(type, "decimal") == 0) {
		cJSON_AddItemToArray(types, cJSON_CreateString("number"));
		cJSON_AddItemToArray(types, cJSON_CreateString("string"));
	} else {
		cJSON_AddItemToArray(types, cJSON_CreateString(type));
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "nullable")))
		cJSON_AddItemToArray(types, cJSON_CreateString("null"));
	if (cJSON_GetArraySize(types) == 1) {
		cJSON_AddStringToObject(s, "type", cJSON_GetArrayItem(types, 0)->valuestring);
		cJSON_Delete(types);
	} else {
		cJSON_AddItemToObject(s, "type", types);
	}
	if (strcmp(type, "object") == 0)
		cJSON_AddItemToObject(s, "additionalProperties",
			cJSON_CreateRaw("{\"type\":\"string\"}"));
	cJSON_AddStringToObject(s, "description", catalog_str(f, "description"));
	return s;
}

static cJSON *body_schema(const cJSON *op, const char *required_input, const char *path_input)
{
	cJSON *s = cJSON_CreateObject(), *props = cJSON_CreateObject(), *req = cJSON_CreateArray();
	const cJSON *f;
	cJSON_AddStringToObject(s, "type", "object");
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(op, "input")) {
		const char *name = catalog_str(f, "name");
		if (strcmp(name, "id") == 0 || strcmp(name, "expectedVersion") == 0 ||
		    (path_input && strcmp(name, path_input) == 0))
			continue;   /* from the path and If-Match */
		cJSON_AddItemToObject(props, name, field_schema(f));
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "required")) ||
		    (required_input && strcmp(name, required_input) == 0))
			cJSON_AddItemToArray(req, cJSON_CreateString(name));
	}
	cJSON_AddItemToObject(s, "properties", props);
	if (cJSON_GetArraySize(req) > 0)
		cJSON_AddItemToObject(s, "required", req);
	else
		cJSON_Delete(req);
	cJSON_AddFalseToObject(s, "additionalProperties");
	return s;
}

static cJSON *json_content(const char *type, cJSON *schema)
{
	cJSON *c = cJSON_CreateObject(), *m = cJSON_CreateObject();
	cJSON_AddItemToObject(m, "schema", schema);
	cJSON_AddItemToObject(c, type, m);
	return c;
}

static void add_response(cJSON *responses, const char *code, const char *description,
	cJSON *content)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "description", description);
	if (content)
		cJSON_AddItemToObject(r, "content", content);
	cJSON_AddItemToObject(responses, code, r);
}

static void add_problem(cJSON *responses, const char *code)
{
	char target[64];
	snprintf(target, sizeof(target), "#/components/responses/Problem%s", code);
	cJSON_AddItemToObject(responses, code, ref(target));
}

static cJSON *query_param(const cJSON *f)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "name", catalog_str(f, "name"));
	cJSON_AddStringToObject(p, "in", "query");
	cJSON_AddBoolToObject(p, "required",
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "required")));
	cJSON_AddItemToObject(p, "schema", field_schema(f));
	return p;
}

/* Operations that ask the payment provider: a refusal is 402 (with
 * providerCode), a lost answer 502. subscriptions.create answers them
 * only with paymentBehavior error_if_incomplete (with resourceId). */
static int asks_provider(const char *operation)
{
	return operation && (strcmp(operation, "invoices.pay") == 0 ||
		strcmp(operation, "subscriptions.create") == 0 ||
		strcmp(operation, "payments.refund") == 0 ||
		strcmp(operation, "payments.cancel") == 0);
}

/* An operation behind two routes (events.redeliver: one event by path id,
 * or every dead delivery since a time) needs a second operationId. */
static void operation_id(char *out, size_t size, const route *rt)
{
	size_t i;
	for (i = 0; &routes[i] != rt; i++)
		if (routes[i].operation && strcmp(routes[i].operation, rt->operation) == 0) {
			snprintf(out, size, "%s_%s", rt->operation,
				rt->required_input ? rt->required_input : rt->method);
			return;
		}
	snprintf(out, size, "%s", rt->operation);
}

static int is_redelivery(const route *rt)
{
	return rt->operation && strcmp(rt->operation, "events.redeliver") == 0;
}

static int op_is(const route *rt, const char *name)
{
	return rt->operation && strcmp(rt->operation, name) == 0;
}

/* ------------------------------------------------------------ answers */

/* The shapes the document's answers name, filled while the paths are
 * made and written to components.schemas at the end: only shapes some
 * answer uses (redocly's no-unused-components), and with them the shapes
 * theirs name (InvoiceLine in Invoice). */
#define MAX_SHAPES 64
static const char *used[MAX_SHAPES];
static size_t used_count;

static cJSON *shape_ref(const char *name)
{
	char target[128];
	size_t i;
	for (i = 0; i < used_count && strcmp(used[i], name) != 0; i++)
		;
	/* The catalog's own copy of the name: name may be the caller's buffer. */
	if (i == used_count && used_count < MAX_SHAPES && catalog_shape(name))
		used[used_count++] = catalog_str(catalog_shape(name), "name");
	snprintf(target, sizeof(target), "#/components/schemas/%s", name);
	return ref(target);
}

/* The JSON schema of a catalog field type (billing/json.h: string, time,
 * 'a' | 'b', Shape[], integer?, ...). */
static cJSON *type_schema(const char *type)
{
	char base[256];
	size_t n = strlen(type);
	int nullable = 0, array = 0;
	cJSON *s;

	while (n > 0 && type[n - 1] == ' ')
		n--;
	if (n > 0 && type[n - 1] == '?')
		n--, nullable = 1;
	if (n > 2 && strncmp(type + n - 2, "[]", 2) == 0)
		n -= 2, array = 1;
	snprintf(base, sizeof(base), "%.*s", (int)n, type);
	if (array) {
		s = cJSON_CreateObject();
		cJSON_AddItemToObject(s, "type", nullable ? cJSON_CreateRaw("[\"array\",\"null\"]") :
			cJSON_CreateString("array"));
		cJSON_AddItemToObject(s, "items", type_schema(base));
		return s;
	}
	if (base[0] == '\'') {
		/* 'a' | 'b': the strings between the quotes */
		cJSON *e = cJSON_CreateArray();
		const char *p = base;
		s = cJSON_CreateObject();
		while ((p = strchr(p, '\'')) != NULL) {
			const char *q = strchr(p + 1, '\'');
			char lit[128];
			if (!q)
				break;
			snprintf(lit, sizeof(lit), "%.*s", (int)(q - p - 1), p + 1);
			cJSON_AddItemToArray(e, cJSON_CreateString(lit));
			p = q + 1;
		}
		if (nullable)
			cJSON_AddItemToArray(e, cJSON_CreateNull());
		cJSON_AddItemToObject(s, "enum", e);
		return s;
	}
	s = cJSON_CreateObject();
	if (strcmp(base, "time") == 0) {
		cJSON_AddItemToObject(s, "type", nullable ? cJSON_CreateRaw("[\"string\",\"null\"]") :
			cJSON_CreateString("string"));
		cJSON_AddStringToObject(s, "format", "date-time");
	} else if (strcmp(base, "true") == 0) {
		cJSON_AddTrueToObject(s, "const");
	} else if (strcmp(base, "metadata") == 0 || strcmp(base, "object") == 0) {
		cJSON_AddItemToObject(s, "type", nullable ? cJSON_CreateRaw("[\"object\",\"null\"]") :
			cJSON_CreateString("object"));
		if (base[0] == 'm')
			cJSON_AddItemToObject(s, "additionalProperties",
				cJSON_CreateRaw("{\"type\":\"string\"}"));
	} else if (strcmp(base, "string") == 0 || strcmp(base, "integer") == 0 ||
	    strcmp(base, "number") == 0 || strcmp(base, "boolean") == 0 ||
	    strcmp(base, "null") == 0) {
		if (nullable && strcmp(base, "null") != 0) {
			cJSON *t = cJSON_CreateArray();
			cJSON_AddItemToArray(t, cJSON_CreateString(base));
			cJSON_AddItemToArray(t, cJSON_CreateString("null"));
			cJSON_AddItemToObject(s, "type", t);
		} else {
			cJSON_AddStringToObject(s, "type", base);
		}
	} else {
		/* another shape */
		cJSON_Delete(s);
		if (!nullable)
			return shape_ref(base);
		s = cJSON_CreateObject();
		cJSON *any = cJSON_AddArrayToObject(s, "anyOf");
		cJSON_AddItemToArray(any, shape_ref(base));
		cJSON_AddItemToArray(any, cJSON_CreateRaw("{\"type\":\"null\"}"));
	}
	return s;
}

/* Adds the fields of the shape named name (its parent's first) to props
 * and req; a field of the same name replaces the parent's. */
static void shape_fields(cJSON *props, cJSON *req, const char *name)
{
	const cJSON *sh = catalog_shape(name), *f;
	const char *parent = catalog_str(sh, "extends");
	if (*parent)
		shape_fields(props, req, parent);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(sh, "fields")) {
		const char *field = catalog_str(f, "name");
		if (cJSON_GetObjectItemCaseSensitive(props, field)) {
			cJSON_ReplaceItemInObjectCaseSensitive(props, field,
				type_schema(catalog_str(f, "type")));
			continue;
		}
		cJSON_AddItemToObject(props, field, type_schema(catalog_str(f, "type")));
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "optional")))
			cJSON_AddItemToArray(req, cJSON_CreateString(field));
	}
}

/* components.schemas.<name>: every field but the optional ones required, no
 * other allowed. */
static cJSON *shape_schema(const char *name)
{
	cJSON *s = cJSON_CreateObject(), *props = cJSON_CreateObject(), *req = cJSON_CreateArray();
	cJSON_AddStringToObject(s, "type", "object");
	cJSON_AddStringToObject(s, "description", catalog_str(catalog_shape(name), "doc"));
	shape_fields(props, req, name);
	cJSON_AddItemToObject(s, "required", req);
	cJSON_AddItemToObject(s, "properties", props);
	cJSON_AddFalseToObject(s, "additionalProperties");
	return s;
}

/* The list envelope's members after data (API-HTTP.md, Lists). */
#define LIST_PAGING \
	"\"total\":{\"type\":\"integer\",\"description\":\"page mode (no startingAfter) only\"}," \
	"\"page\":{\"type\":\"integer\",\"description\":\"page mode (no startingAfter) only\"}," \
	"\"pageSize\":{\"type\":\"integer\"}," \
	"\"totalPages\":{\"type\":\"integer\",\"description\":\"page mode (no startingAfter) only\"}," \
	"\"hasMore\":{\"type\":\"boolean\"},\"nextCursor\":{\"type\":[\"string\",\"null\"]}"

/* The schema of what an operation answers, from its catalog "output": its
 * shape, or a page of it in the HTTP list envelope (router.c). */
static cJSON *result_schema(const cJSON *op)
{
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(op, "output");
	cJSON *s, *props, *data;
	if (strcmp(catalog_str(out, "kind"), "page") != 0) {
		const char *alt = catalog_str(out, "orShape");
		cJSON *any;
		if (!*alt)
			return shape_ref(catalog_str(out, "shape"));
		/* The input chooses the answer (invoices.pay: paidOutOfBand). */
		s = cJSON_CreateObject();
		any = cJSON_AddArrayToObject(s, "oneOf");
		cJSON_AddItemToArray(any, shape_ref(catalog_str(out, "shape")));
		cJSON_AddItemToArray(any, shape_ref(alt));
		return s;
	}
	s = cJSON_Parse("{\"type\":\"object\",\"required\":[\"data\",\"pageSize\",\"hasMore\","
		"\"nextCursor\"],\"properties\":{" LIST_PAGING "},\"additionalProperties\":false}");
	props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	data = cJSON_CreateObject();
	cJSON_AddStringToObject(data, "type", "array");
	cJSON_AddItemToObject(data, "items", shape_ref(catalog_str(out, "shape")));
	cJSON_AddItemToObject(props, "data", data);
	return s;
}

static cJSON *operation(const route *rt)
{
	const cJSON *op = rt->operation ? catalog_op(rt->operation) : NULL;
	cJSON *o = cJSON_CreateObject(), *params = cJSON_CreateArray(),
		*responses = cJSON_CreateObject(), *tags = cJSON_CreateArray();
	char opid[96];
	const cJSON *f;
	int authed = route_needs_token(rt->kind);
	int is_op = rt->kind <= H_OP_ACTION;

	if (op) {
		operation_id(opid, sizeof(opid), rt);
	} else {
		const char *last = strrchr(rt->path, '/');
		if (last && last[1] == '{' && last > rt->path) {
			/* ".../stripe/{id}": "webhooks.stripeById"; an operationId
			 * holds no braces */
			const char *prev = last - 1;
			while (prev > rt->path && *prev != '/')
				prev--;
			snprintf(opid, sizeof(opid), "%s.%.*sBy%c%.*s", rt->tag,
				(int)(last - prev - 1), prev + 1, toupper((unsigned char)last[2]),
				(int)strcspn(last + 3, "}"), last + 3);
		} else {
			snprintf(opid, sizeof(opid), "%s.%s", rt->tag, last ? last + 1 : rt->path);
		}
	}
	cJSON_AddStringToObject(o, "operationId", opid);
	cJSON_AddStringToObject(o, "summary", op ? catalog_str(op, "description") : rt->summary);
	cJSON_AddItemToArray(tags, cJSON_CreateString(rt->tag));
	cJSON_AddItemToObject(o, "tags", tags);
	if (op)
		cJSON_AddItemToObject(o, "x-roles", cJSON_Duplicate(
			cJSON_GetObjectItemCaseSensitive(op, "roles"), 1));
	else if (route_is_test_clock(rt->kind))
		cJSON_AddItemToObject(o, "x-roles", cJSON_CreateRaw("[\"ADMIN\"]"));
	else if (rt->kind == H_DOCUMENT_HTML || rt->kind == H_DOCUMENT_PDF ||
	    rt->kind == H_DOCUMENT_CII || rt->kind == H_DOCUMENT_FACTURX)
		/* as invoices.get, credit_notes.get */
		cJSON_AddItemToObject(o, "x-roles", cJSON_CreateRaw("[\"ADMIN\",\"USER\"]"));
	if (!authed)
		cJSON_AddItemToObject(o, "security", cJSON_CreateArray());

	if (strstr(rt->path, "{id}"))
		cJSON_AddItemToArray(params, ref("#/components/parameters/Id"));
	if (rt->kind == H_OP_LIST || rt->kind == H_OP_QUERY)
		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(op, "input"))
			if (!rt->path_input || strcmp(catalog_str(f, "name"), rt->path_input) != 0)
				cJSON_AddItemToArray(params, query_param(f));
	if (rt->kind == H_OP_UPDATE || rt->kind == H_OP_DELETE)
		cJSON_AddItemToArray(params, ref("#/components/parameters/IfMatch"));
	if (rt->kind == H_OP_CREATE || rt->kind == H_OP_UPDATE || rt->kind == H_OP_ACTION ||
	    rt->kind == H_OP_ACTION_NEW || rt->kind == H_OP_POST)
		/* Redelivery queues anew on every call: it takes no key and
		 * promises no replay (docs/http-api.md, Idempotency). */
		if (!is_redelivery(rt))
			cJSON_AddItemToArray(params, ref("#/components/parameters/IdempotencyKey"));
	if (rt->kind == H_WEBHOOK_STRIPE)
		cJSON_AddItemToArray(params, ref("#/components/parameters/StripeSignature"));
	if (rt->kind == H_DOCUMENT_HTML || rt->kind == H_DOCUMENT_PDF ||
	    rt->kind == H_DOCUMENT_FACTURX) {
		cJSON_AddItemToArray(params, cJSON_CreateRaw("{\"name\":\"locale\",\"in\":\"query\","
			"\"required\":false,\"schema\":{\"type\":\"string\",\"enum\":[\"en-US\","
			"\"en-GB\",\"de-DE\",\"fr-FR\",\"es-ES\",\"ja-JP\"]},\"description\":"
			"\"The document's locale (case-insensitive); default the customer's "
			"preferredLocale, else en-US; another is 400 "
			"unsupported_locale.\"}"));
	}
	if (rt->kind == H_DOCUMENT_HTML || rt->kind == H_DOCUMENT_PDF || rt->kind == H_DOCUMENT_CII ||
	    rt->kind == H_DOCUMENT_FACTURX)
		cJSON_AddItemToArray(params, cJSON_CreateRaw("{\"name\":\"If-None-Match\","
			"\"in\":\"header\",\"required\":false,\"schema\":{\"type\":\"string\"},"
			"\"description\":\"An ETag of this document: 304 when it is still the same.\"}"));
	cJSON_AddItemToArray(params, ref("#/components/parameters/RequestId"));
	cJSON_AddItemToObject(o, "parameters", params);

	if (rt->kind == H_OP_CREATE || rt->kind == H_OP_UPDATE || rt->kind == H_OP_ACTION ||
	    rt->kind == H_OP_ACTION_NEW || rt->kind == H_OP_REPLACE || rt->kind == H_OP_POST ||
	    rt->kind == H_LOGIN || rt->kind == H_CLOCK_ADVANCE || rt->kind == H_WEBHOOK_STRIPE) {
		cJSON *body = cJSON_CreateObject();
		cJSON_AddBoolToObject(body, "required", rt->kind != H_OP_ACTION &&
			rt->kind != H_OP_ACTION_NEW);
		cJSON_AddItemToObject(body, "content", json_content("application/json",
			op ? body_schema(op, rt->required_input, rt->path_input) : ref(rt->kind == H_LOGIN ?
				"#/components/schemas/LoginRequest" : rt->kind == H_WEBHOOK_STRIPE ?
				"#/components/schemas/StripeEvent" :
				"#/components/schemas/TestClockAdvance")));
		cJSON_AddItemToObject(o, "requestBody", body);
	}

	switch (rt->kind) {
	case H_OP_CREATE:
		add_response(responses, "201", rt->path_input ? "Created; ETag carries its version." :
			"Created; Location and ETag name the new resource.",
			json_content("application/json", result_schema(op)));
		break;
	case H_OP_LIST:
		add_response(responses, "200", "One page.",
			json_content("application/json", result_schema(op)));
		break;
	case H_OP_DELETE:
		add_response(responses, "204", "Deleted.", NULL);
		break;
	case H_OP_GET: case H_OP_UPDATE: case H_OP_ACTION:
		add_response(responses, "200", is_redelivery(rt) ?
			"How many deliveries were queued (due now)." : op_is(rt, "events.get") ?
			"The event." : "The resource; ETag carries its version.",
			json_content("application/json", result_schema(op)));
		break;
	case H_OP_POST:
		add_response(responses, "200", is_redelivery(rt) ?
			"How many deliveries were queued (due now)." : "The operation's answer.",
			json_content("application/json", result_schema(op)));
		break;
	case H_OP_ACTION_NEW:
		add_response(responses, "201", "Created: the resource the action made (a payment); "
			"Location names it, ETag carries its version.",
			json_content("application/json", result_schema(op)));
		break;
	case H_OP_REPLACE:
		add_response(responses, "200", "The object as it now is.",
			json_content("application/json", result_schema(op)));
		break;
	case H_WEBHOOK_STRIPE:
		add_response(responses, "200", "Accepted: applied, a duplicate, or of no interest.",
			json_content("application/json", ref("#/components/schemas/WebhookReceived")));
		add_problem(responses, "400");
		add_problem(responses, "413");
		add_problem(responses, "503");
		break;
	case H_OP_QUERY:
		add_response(responses, "200", "The object (computed; nothing is written).",
			json_content("application/json", result_schema(op)));
		break;
	case H_CLOCK_GET: case H_CLOCK_ADVANCE:
		add_response(responses, "200", rt->kind == H_CLOCK_GET ? "The test clock's time." :
			"The new time, after all the work due up to it has run.",
			json_content("application/json", ref("#/components/schemas/TestClock")));
		break;
	case H_LOGIN:
		add_response(responses, "201", "A bearer token.",
			json_content("application/json", ref("#/components/schemas/Token")));
		/* Too many failures for the e-mail or address; the password-check
		 * queue full (login.c). Both with Retry-After. */
		add_problem(responses, "429");
		add_problem(responses, "503");
		break;
	case H_METRICS:
		add_response(responses, "200", "Prometheus text exposition format.",
			json_content("text/plain", cJSON_CreateRaw("{\"type\":\"string\"}")));
		break;
	case H_OPENAPI:
		add_response(responses, "200", "This document.",
			json_content("application/json", cJSON_CreateRaw("{\"type\":\"object\"}")));
		break;
	case H_DOCUMENT_HTML:
		add_response(responses, "200", "The document; ETag is a strong hash of its content.",
			json_content("text/html", cJSON_CreateRaw("{\"type\":\"string\"}")));
		add_response(responses, "304", "Not modified (If-None-Match names the ETag).", NULL);
		add_problem(responses, "404");
		break;
	case H_CONSOLE:
		add_response(responses, "200", "The console's page; its files are below /console/.",
			json_content("text/html", cJSON_CreateRaw("{\"type\":\"string\"}")));
		add_response(responses, "304", "Not modified (If-None-Match names the ETag).", NULL);
		break;
	case H_DOCUMENT_PDF:
		add_response(responses, "200", "The PDF; ETag is a strong hash of its bytes.",
			json_content("application/pdf", cJSON_CreateRaw("{\"type\":\"string\","
				"\"contentMediaType\":\"application/pdf\"}")));
		add_response(responses, "304", "Not modified (If-None-Match names the ETag).", NULL);
		add_problem(responses, "404");
		break;
	case H_DOCUMENT_FACTURX:
		add_response(responses, "200", "The Factur-X PDF/A-3 (the CII XML attached as "
			"factur-x.xml); ETag is a strong hash of its bytes.",
			json_content("application/pdf", cJSON_CreateRaw("{\"type\":\"string\","
				"\"contentMediaType\":\"application/pdf\"}")));
		add_response(responses, "304", "Not modified (If-None-Match names the ETag).", NULL);
		add_problem(responses, "404");
		add_problem(responses, "409");
		break;
	case H_DOCUMENT_CII:
		add_response(responses, "200", "The CII XML; ETag is a strong hash of its bytes.",
			json_content("application/xml", cJSON_CreateRaw("{\"type\":\"string\"}")));
		add_response(responses, "304", "Not modified (If-None-Match names the ETag).", NULL);
		add_problem(responses, "404");
		add_problem(responses, "409");
		break;
	case H_HOSTED_HTML:
		add_response(responses, "200", "The invoice's page (Cache-Control: no-store).",
			json_content("text/html", cJSON_CreateRaw("{\"type\":\"string\"}")));
		add_problem(responses, "404");
		break;
	case H_HOSTED_PDF:
		add_response(responses, "200", "The invoice's PDF (Cache-Control: no-store).",
			json_content("application/pdf", cJSON_CreateRaw("{\"type\":\"string\","
				"\"contentMediaType\":\"application/pdf\"}")));
		add_problem(responses, "404");
		break;
	case H_HEALTHZ: case H_READYZ:
		add_response(responses, "200", "Up (ready).", json_content("application/json",
			cJSON_CreateRaw("{\"type\":\"object\",\"properties\":{\"status\":"
				"{\"type\":\"string\"}}}")));
		break;
	}
	if (rt->kind == H_READYZ)
		add_problem(responses, "503");
	if (authed || rt->kind == H_LOGIN) {
		add_problem(responses, "400");
		add_problem(responses, "401");
	}
	if (authed) {
		add_problem(responses, "403");
		if (is_op && ((rt->kind != H_OP_CREATE && rt->kind != H_OP_LIST &&
		    rt->kind != H_OP_REPLACE && rt->kind != H_OP_POST) || rt->path_input))
			add_problem(responses, "404");
		if (rt->kind == H_OP_CREATE || rt->kind == H_OP_UPDATE || rt->kind == H_OP_DELETE ||
		    rt->kind == H_OP_ACTION || rt->kind == H_OP_ACTION_NEW || rt->kind == H_OP_POST ||
		    op_is(rt, "invoices.preview") ||  /* a subscription with no next invoice */
		    op_is(rt, "usage.aggregate") ||  /* a pruned period never stored */
		    op_is(rt, "provider_account.set"))  /* no secrets key, another provider */
			add_problem(responses, "409");
		if (asks_provider(rt->operation)) {
			add_problem(responses, "402");
			add_problem(responses, "502");
		}
		if (rt->kind == H_OP_UPDATE || rt->kind == H_OP_DELETE)
			add_problem(responses, "412");
	}
	/* A body over the limit is refused before routing, on every route
	 * (server.c), a GET's included; so are headers over 16 KiB and a
	 * request slower to arrive than BILLING_REQUEST_READ_TIMEOUT. */
	if (rt->kind != H_WEBHOOK_STRIPE)
		add_problem(responses, "413");
	add_problem(responses, "408");
	add_problem(responses, "431");
	if (rt->kind == H_OP_CREATE || rt->kind == H_OP_UPDATE || rt->kind == H_OP_ACTION ||
	    rt->kind == H_OP_ACTION_NEW || rt->kind == H_OP_REPLACE || rt->kind == H_OP_POST ||
	    rt->kind == H_LOGIN || rt->kind == H_CLOCK_ADVANCE)
		add_problem(responses, "415");
	cJSON_AddItemToObject(o, "responses", responses);
	return o;
}

static const char components_json[] =
"{"
"\"securitySchemes\":{\"bearerAuth\":{\"type\":\"http\",\"scheme\":\"bearer\","
	"\"bearerFormat\":\"JWT\"}},"
"\"parameters\":{"
	"\"Id\":{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":\"string\"},"
		"\"description\":\"The resource id; one that names nothing in your tenant is 404.\"},"
	"\"IfMatch\":{\"name\":\"If-Match\",\"in\":\"header\",\"required\":false,"
		"\"schema\":{\"type\":\"string\"},"
		"\"description\":\"An ETag of this resource (W/\\\"3\\\"): 412 when it changed since.\"},"
	"\"IdempotencyKey\":{\"name\":\"Idempotency-Key\",\"in\":\"header\",\"required\":false,"
		"\"schema\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":255},"
		"\"description\":\"A replay answers as the first call did, with Idempotent-Replayed: "
		"true; the same key with another body is 409.\"},"
	"\"RequestId\":{\"name\":\"X-Request-Id\",\"in\":\"header\",\"required\":false,"
		"\"schema\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9._:-]{1,128}$\"},"
		"\"description\":\"Echoed on the response; a new one is made when absent.\"},"
	"\"StripeSignature\":{\"name\":\"Stripe-Signature\",\"in\":\"header\",\"required\":true,"
		"\"schema\":{\"type\":\"string\"},"
		"\"description\":\"t=<unix time>,v1=<hex HMAC-SHA256 of \\\"<t>.<raw body>\\\" with "
		"STRIPE_WEBHOOK_SECRET>; t within 300 s of the server's clock.\"}"
"},"
"\"schemas\":{"
	"\"LoginRequest\":{\"type\":\"object\",\"required\":[\"email\",\"password\"],"
		"\"properties\":{\"email\":{\"type\":\"string\",\"format\":\"email\"},"
		"\"password\":{\"type\":\"string\",\"minLength\":8}},\"additionalProperties\":false},"
	"\"TestClockAdvance\":{\"type\":\"object\",\"description\":\"Exactly one of seconds "
		"and to.\",\"properties\":{\"seconds\":{\"type\":\"integer\",\"minimum\":0,"
		"\"description\":\"how far to move the clock\"},\"to\":{\"type\":\"string\","
		"\"format\":\"date-time\",\"description\":\"RFC 3339 UTC, not before the clock's "
		"time (else 400 clock_backwards)\"}},\"additionalProperties\":false},"
	"\"TestClock\":{\"type\":\"object\",\"required\":[\"now\"],"
		"\"properties\":{\"now\":{\"type\":\"string\",\"format\":\"date-time\"},"
		"\"processed\":{\"type\":\"integer\",\"description\":\"items of due work run by "
		"this advance\"},\"invoiced\":{\"type\":\"integer\"},\"failed\":{\"type\":\"integer\"}}},"
	"\"WebhookReceived\":{\"type\":\"object\",\"required\":[\"received\",\"outcome\"],"
		"\"properties\":{\"received\":{\"const\":true},\"outcome\":{\"enum\":"
		"[\"applied\",\"duplicate\",\"ignored\"]}}},"
	"\"StripeEvent\":{\"type\":\"object\",\"description\":\"A Stripe event as Stripe "
		"sends it (read raw: the signature covers the exact bytes).\","
		"\"required\":[\"id\",\"type\",\"created\"],\"properties\":{\"id\":"
		"{\"type\":\"string\"},\"type\":{\"type\":\"string\"},\"created\":"
		"{\"type\":\"integer\"},\"data\":{\"type\":\"object\"}}},"
	"\"Token\":{\"type\":\"object\",\"required\":[\"accessToken\",\"tokenType\",\"expiresIn\"],"
		"\"properties\":{\"accessToken\":{\"type\":\"string\"},\"tokenType\":{\"const\":\"Bearer\"},"
		"\"expiresIn\":{\"type\":\"integer\"}}},"
	"\"Problem\":{\"type\":\"object\",\"required\":[\"type\",\"title\",\"status\",\"detail\","
		"\"code\",\"errors\",\"requestId\"],"
		"\"properties\":{\"type\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"
		"\"status\":{\"type\":\"integer\"},\"detail\":{\"type\":\"string\"},"
		"\"code\":{\"type\":\"string\"},\"errors\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
		"\"properties\":{\"field\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"}}}},"
		"\"requestId\":{\"type\":\"string\"},\"statusCode\":{\"type\":\"integer\"},"
		"\"error\":{\"type\":\"string\"},\"message\":{\"type\":[\"string\",\"array\"]},"
		"\"providerCode\":{\"type\":\"string\"},\"resourceId\":{\"type\":\"string\"}}}"
"}"
"}";

static const char *const problem_codes[] = {
	"400", "401", "402", "403", "404", "408", "409", "412", "413", "415", "429", "431", "502",
	"503"
};

char *openapi_build(int test_clock)
{
	cJSON *doc = cJSON_CreateObject(), *info = cJSON_CreateObject(), *paths,
		*components = cJSON_Parse(components_json), *responses, *sec, *req, *schemas;
	char *text;
	size_t i;

	if (!components) {
		cJSON_Delete(doc);
		cJSON_Delete(info);
		return NULL;
	}
	used_count = 0;
	cJSON_AddStringToObject(doc, "openapi", "3.1.0");
	cJSON_AddStringToObject(info, "title", "libbilling example server");
	cJSON_AddStringToObject(info, "version", billing_version_string());
	cJSON_AddStringToObject(info, "description", "REST over libbilling's JSON operation "
		"layer; see docs/http-api.md. Errors are application/problem+json (RFC 9457).");
	cJSON_AddItemToObject(doc, "info", info);
	/* Relative: the document describes the server that serves it. */
	cJSON_AddItemToObject(doc, "servers", cJSON_CreateRaw("[{\"url\":\"/\","
		"\"description\":\"the server that serves this document\"}]"));
	sec = cJSON_CreateArray();
	req = cJSON_CreateObject();
	cJSON_AddItemToObject(req, "bearerAuth", cJSON_CreateArray());
	cJSON_AddItemToArray(sec, req);
	cJSON_AddItemToObject(doc, "security", sec);

	responses = cJSON_CreateObject();
	for (i = 0; i < sizeof(problem_codes) / sizeof(problem_codes[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "Problem%s", problem_codes[i]);
		add_response(responses, name, "A problem (RFC 9457).",
			json_content("application/problem+json", ref("#/components/schemas/Problem")));
	}
	cJSON_AddItemToObject(components, "responses", responses);

	paths = cJSON_CreateObject();
	for (i = 0; i < route_count; i++) {
		const route *rt = &routes[i];
		cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, rt->path);
		char method[8];
		size_t k;
		if (route_is_test_clock(rt->kind) && !test_clock)
			continue;
		if (!item) {
			item = cJSON_CreateObject();
			cJSON_AddItemToObject(paths, rt->path, item);
		}
		for (k = 0; rt->method[k] && k + 1 < sizeof(method); k++)
			method[k] = (char)(rt->method[k] | 0x20);   /* lower case */
		method[k] = '\0';
		cJSON_AddItemToObject(item, method, operation(rt));
	}
	cJSON_AddItemToObject(doc, "paths", paths);
	/* The shapes the answers named; a shape's own fields may name more,
	 * which join the end of the list as it is walked. */
	schemas = cJSON_GetObjectItemCaseSensitive(components, "schemas");
	for (i = 0; i < used_count; i++)
		cJSON_AddItemToObject(schemas, used[i], shape_schema(used[i]));
	cJSON_AddItemToObject(doc, "components", components);
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}
