/*
 * billing_call_json with arbitrary input for every operation of the
 * catalog, as the tenant's ADMIN (or USER) on the world of world.h.
 *
 * Input: byte 0 picks the operation (modulo the catalog's size), byte 1
 * holds flags (bit 0: send an idempotency key, bits 1-2: which of four;
 * bit 3: call as USER), the rest is the JSON input with the world's
 * placeholders ($cus, $sub, ...) replaced by ids. Whatever comes back must
 * be a JSON object, with "error" exactly when the call failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char **ops;
static size_t nops;

/* The operation names, from the catalog the bindings use. */
static void load_catalog(void)
{
	char *text = NULL;
	cJSON *root, *list, *op;

	if (billing_catalog_json(&text) < 0 || (root = cJSON_Parse(text)) == NULL)
		abort();
	list = cJSON_GetObjectItemCaseSensitive(root, "operations");
	ops = calloc((size_t)cJSON_GetArraySize(list), sizeof(*ops));
	if (ops == NULL)
		abort();
	cJSON_ArrayForEach(op, list) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "name"));
		if (name == NULL || (ops[nops++] = strdup(name)) == NULL)
			abort();
	}
	cJSON_Delete(root);
	billing_free(text);
	if (nops == 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	load_catalog();
	world_get();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	billing_call_options opts = BILLING_CALL_OPTIONS_INIT;
	world *w;
	billing_principal who;
	const char *op;
	char key[8], *json, *out = NULL;
	size_t len;
	int rc;

	if (size < 2)
		return 0;
	w = world_get();
	op = ops[data[0] % nops];
	who = w->admin;
	if (data[1] & 8)
		who.role = BILLING_ROLE_USER;
	if (data[1] & 1) {
		snprintf(key, sizeof(key), "fz-%d", (data[1] >> 1) & 3);
		opts.idempotency_key = key;
	}
	json = world_expand(w, (const char *)data + 2, size - 2, &len);
	rc = billing_call_json(&out, w->ctx, &who, op, json, len, &opts);
	world_check_json(out, rc, op);
	billing_free(out);
	free(json);
	return 0;
}
