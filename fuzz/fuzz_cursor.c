/*
 * List cursors: arbitrary startingAfter values for every list, through
 * billing_call_json, on the world of world.h.
 *
 * A cursor is base64url(payload) "." base64url(tag), the tag an HMAC under
 * the context's key, so random text stops at the tag. To reach the payload
 * parser behind it, two of the modes sign what the fuzzer wrote with the
 * context's own key (core.h; the static library exposes it):
 *
 *   byte 0   the list (modulo the number of lists)
 *   byte 1   bits 0-1: mode — 0 and 3: the rest is the cursor as sent;
 *              1: the rest is a payload ("c1\n$ten\ncreatedAt\n..."), signed;
 *              2: the rest follows the first five fields of a real cursor of
 *                 that list (version, tenant, sort, order, filters), signed;
 *            bit 2: order desc; bits 3-5: sortBy (none or one of sorts[])
 *
 * Properties: the output is JSON with "error" exactly on failure, and an
 * unsigned cursor (mode 0) is never accepted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/core.h"
#include "core/encode.h"
#include "world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG_LEN 16          /* list.c's CURSOR_TAG_LEN */

static const char *const lists[] = {
	"tenants.list", "customers.list", "products.list", "plans.list", "subscriptions.list",
	"invoices.list", "events.list", "payments.list", "webhook_endpoints.list",
	"webhook_deliveries.list", "audit.list",
};
#define NLISTS (sizeof(lists) / sizeof(lists[0]))
static const char *const sorts[] = {
	NULL, "name", "email", "amount", "code", "sku", "priceCents", "currentPeriodEnd",
};

/* The first five fields of a real cursor, per list, sort and order;
 * rebuilt with the world (its tenant is in them). "" when the list gave
 * no cursor. */
static char *prefixes[NLISTS][8][2];
static unsigned long prefixes_generation;

static const billing_principal *principal(const world *w, size_t list)
{
	static const billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	return list == 0 ? &platform : &w->admin;
}

/* {"startingAfter": cursor, "sortBy": ..., "order": ...} or, without a
 * cursor, {"limit": 1, ...}. */
static char *list_input(const char *cursor, size_t sort, int desc)
{
	cJSON *in = cJSON_CreateObject();
	char *text;

	if (cursor)
		cJSON_AddStringToObject(in, "startingAfter", cursor);
	else
		cJSON_AddNumberToObject(in, "limit", 1);
	if (sorts[sort])
		cJSON_AddStringToObject(in, "sortBy", sorts[sort]);
	if (desc)
		cJSON_AddStringToObject(in, "order", "desc");
	text = cJSON_PrintUnformatted(in);
	cJSON_Delete(in);
	if (text == NULL)
		abort();
	return text;
}

static char *real_prefix(world *w, size_t list, size_t sort, int desc)
{
	char *in = list_input(NULL, sort, desc), *out = NULL, *prefix;
	uint8_t payload[1100];
	cJSON *root;
	const char *cursor, *dot;
	long n = -1;
	size_t len = 0, fields = 0;

	billing_call_json(&out, w->ctx, principal(w, list), lists[list], in, strlen(in), NULL);
	root = cJSON_Parse(out);
	cursor = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "nextCursor"));
	if (cursor && (dot = strchr(cursor, '.')) != NULL)
		n = billing__b64url_decode(payload, sizeof(payload) - 1, cursor,
			(size_t)(dot - cursor));
	while (n > 0 && len < (size_t)n && fields < 5)
		if (payload[len++] == '\n')
			fields++;
	prefix = strndup(fields == 5 ? (const char *)payload : "", fields == 5 ? len : 0);
	cJSON_Delete(root);
	billing_free(out);
	free(in);
	if (prefix == NULL)
		abort();
	return prefix;
}

static const char *prefix_for(world *w, size_t list, size_t sort, int desc)
{
	size_t i, j, k;

	if (prefixes_generation != w->generation) {
		for (i = 0; i < NLISTS; i++)
			for (j = 0; j < 8; j++)
				for (k = 0; k < 2; k++) {
					free(prefixes[i][j][k]);
					prefixes[i][j][k] = NULL;
				}
		prefixes_generation = w->generation;
	}
	if (prefixes[list][sort][desc] == NULL)
		prefixes[list][sort][desc] = real_prefix(w, list, sort, desc);
	return prefixes[list][sort][desc];
}

/* base64url(payload) "." base64url(first TAG_LEN bytes of its HMAC). */
static char *sign(world *w, const char *payload, size_t len)
{
	uint8_t tag[32];
	char *out = malloc(billing__b64url_len(len) + 1 + billing__b64url_len(TAG_LEN) + 1);

	if (out == NULL || billing__hmac_sha256_keyed(tag, w->ctx->cursor_mac, payload, len) < 0)
		abort();
	billing__b64url_encode(out, (const uint8_t *)payload, len);
	strcat(out, ".");
	billing__b64url_encode(out + strlen(out), tag, TAG_LEN);
	return out;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	world_get();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	world *w;
	size_t list, sort, len;
	int mode, desc, rc;
	char *text, *cursor, *in, *out = NULL;

	if (size < 2)
		return 0;
	w = world_get();
	list = data[0] % NLISTS;
	mode = data[1] & 3;
	desc = (data[1] >> 2) & 1;
	sort = (size_t)(data[1] >> 3) & 7;
	text = world_expand(w, (const char *)data + 2, size - 2, &len);

	if (mode == 1) {
		cursor = sign(w, text, len);
	} else if (mode == 2) {
		const char *prefix = prefix_for(w, list, sort, desc);
		size_t plen = strlen(prefix);
		char *payload = malloc(plen + len + 1);
		if (payload == NULL)
			abort();
		memcpy(payload, prefix, plen);
		memcpy(payload + plen, text, len);
		cursor = sign(w, payload, plen + len);
		free(payload);
	} else {
		cursor = strdup(text);
		if (cursor == NULL)
			abort();
	}

	in = list_input(cursor, sort, desc);
	rc = billing_call_json(&out, w->ctx, principal(w, list), lists[list], in, strlen(in),
		NULL);
	world_check_json(out, rc, lists[list]);
	if ((mode == 0 || mode == 3) && cursor[0] != '\0' && rc >= 0) {
		fprintf(stderr, "%s: an unsigned cursor was accepted: %s\n", lists[list], cursor);
		abort();
	}
	billing_free(out);
	free(in);
	free(cursor);
	free(text);
	return 0;
}
