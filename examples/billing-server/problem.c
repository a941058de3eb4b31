/*
 * Problem details. Members: type, title, status, detail, code, errors,
 * requestId (RFC 9457 plus our stable code), providerCode on a payment the
 * provider refused, and statusCode, error and message that clients of the
 * earlier service read.
 */
#include "problem.h"

#include <billing/billing.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row per library status; a code without a row is 500. */
static const struct {
	int code;
	int http;
} status_table[] = {
	{ BILLING_ERROR, 500 },
	{ BILLING_ENOTFOUND, 404 },
	{ BILLING_EEXISTS, 409 },
	{ BILLING_EINVALID, 400 },   /* includes resource_missing: ids in bodies/queries */
	{ BILLING_EFORBIDDEN, 403 },
	{ BILLING_ECONFLICT, 409 },
	{ BILLING_EDECLINED, 402 },  /* the provider refused: providerCode says why */
	/* The provider's answer was lost: the attempt is recorded and the
	 * billing run asks again. 502, not 504: nothing of ours timed out in
	 * front of the client, an upstream gave no usable answer (a timeout
	 * among other causes), and a 504 reads as a proxy's timeout. */
	{ BILLING_EUNKNOWN_OUTCOME, 502 },
	{ BILLING_ESTORAGE, 503 },   /* the database failed or is not migrated: retry later */
	{ BILLING_EBUSY, 503 },
	{ BILLING_ENOMEM, 500 },
	{ BILLING_ESTALE, 412 },
	{ BILLING_EOVERFLOW, 400 },  /* an amount or count in the input is out of range */
};

int problem_http_status(int billing_code)
{
	size_t i;
	for (i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
		if (status_table[i].code == billing_code)
			return status_table[i].http;
	return 500;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

static char *finish(cJSON *p, int status, const char *code, const char *detail, cJSON *errors,
	const char *provider_code, const char *resource_id, const char *request_id)
{
	char type[128], *text;
	cJSON *message;
	int n = cJSON_GetArraySize(errors);

	snprintf(type, sizeof(type), "urn:libbilling:problem:%s", code);
	cJSON_AddStringToObject(p, "type", type);
	cJSON_AddStringToObject(p, "title", http_reason(status));
	cJSON_AddNumberToObject(p, "status", status);
	cJSON_AddStringToObject(p, "detail", detail);
	cJSON_AddStringToObject(p, "code", code);
	/* A decline: the provider's own code (card_declined, ...) for clients
	 * that show it or act on it. */
	if (provider_code && *provider_code)
		cJSON_AddStringToObject(p, "providerCode", provider_code);
	/* What the failed call left behind (a subscription created with
	 * error_if_incomplete whose first charge failed). */
	if (resource_id && *resource_id)
		cJSON_AddStringToObject(p, "resourceId", resource_id);
	cJSON_AddItemToObject(p, "errors", errors);
	cJSON_AddStringToObject(p, "requestId", request_id);
	cJSON_AddNumberToObject(p, "statusCode", status);
	cJSON_AddStringToObject(p, "error", http_reason(status));
	/* The earlier service's "message": the field messages of a validation
	 * error, else the detail. */
	if (status == 400 && n > 0) {
		int i;
		message = cJSON_CreateArray();
		for (i = 0; i < n; i++) {
			const cJSON *e = cJSON_GetArrayItem(errors, i);
			const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
			cJSON_AddItemToArray(message, cJSON_CreateString(m ? m : ""));
		}
	} else {
		message = cJSON_CreateString(detail);
	}
	cJSON_AddItemToObject(p, "message", message);
	text = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	return text;
}

static cJSON *field_errors(const char *field, const char *message)
{
	cJSON *arr = cJSON_CreateArray();
	if (field) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "field", field);
		cJSON_AddStringToObject(e, "message", message);
		cJSON_AddItemToArray(arr, e);
	}
	return arr;
}

char *problem_make(int status, const char *code, const char *detail, const char *field,
	const char *request_id)
{
	return finish(cJSON_CreateObject(), status, code, detail, field_errors(field, detail), NULL,
		NULL, request_id);
}

char *problem_from_library(int *status, const char *error_json, const char *request_id)
{
	cJSON *root = error_json ? cJSON_Parse(error_json) : NULL;
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(err, "status");
	const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "code"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "message"));
	const char *field = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "field"));
	const char *provider_code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err,
		"providerCode"));
	const char *resource_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err,
		"resourceId"));
	cJSON *errors = cJSON_DetachItemFromObjectCaseSensitive((cJSON *)err, "errors");
	char *text;

	*status = cJSON_IsNumber(st) ? problem_http_status((int)st->valuedouble) : 500;
	if (!code)
		code = "internal";
	if (!msg || !*msg)
		msg = http_reason(*status);
	if (!cJSON_IsArray(errors) || cJSON_GetArraySize(errors) == 0) {
		cJSON_Delete(errors);
		errors = field_errors(field, msg);
	}
	/* 5xx details may describe internals (a storage message); keep them
	 * in the log, not in the answer. A lost provider answer (502) and an
	 * unavailable database (503) say what the client should do. */
	if (*status >= 500 && *status != 503 && *status != 502)
		msg = "the server failed to complete the request";
	text = finish(cJSON_CreateObject(), *status, code, msg, errors, provider_code, resource_id,
		request_id);
	cJSON_Delete(root);
	return text;
}
