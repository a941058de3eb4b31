/*
 * The fuzz targets' world (world.h). Anything unexpected while building it
 * aborts: the targets must not run against a half-built world and report
 * its failures as findings.
 */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include <billing/providers.h>

static world the_world;

static void die(const char *what)
{
	fprintf(stderr, "fuzz world: %s: %s\n", what, billing_error_last()->message);
	abort();
}

/* Runs op as who and copies the "id" of the result (or of the first item
 * of a list) into id. */
static void call_for_id(world *w, const billing_principal *who, const char *op,
	const char *in, char *id, size_t size)
{
	char *out = NULL;
	cJSON *root, *item;

	if (billing_call_json(&out, w->ctx, who, op, in, strlen(in), NULL) < 0) {
		fprintf(stderr, "fuzz world: %s: %s\n", op, out ? out : "(no output)");
		abort();
	}
	root = cJSON_Parse(out);
	item = cJSON_GetObjectItemCaseSensitive(root, "data");
	item = item ? cJSON_GetArrayItem(item, 0) : root;
	item = cJSON_GetObjectItemCaseSensitive(item, "id");
	if (!cJSON_IsString(item) || strlen(item->valuestring) >= size) {
		fprintf(stderr, "fuzz world: %s: no id in %s\n", op, out);
		abort();
	}
	memcpy(id, item->valuestring, strlen(item->valuestring) + 1);
	cJSON_Delete(root);
	billing_free(out);
}

static void build(world *w)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_test_provider_options to = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_principal platform = { NULL, NULL, BILLING_ROLE_PLATFORM };
	billing_provider *pay = NULL;
	char in[512], customer2[64], other[64];

	memset(w, 0, sizeof(*w));
	to.webhook_secret = "whsec_fuzz";
	if (billing_test_provider_new(&pay, &to) < 0)
		die("test provider");
	o.provider = pay;
	if (billing_ctx_open_url(&w->ctx, "sqlite::memory:", &o) < 0)
		die("open");
	if (billing_migrate(w->ctx) < 0)
		die("migrate");
	call_for_id(w, &platform, "tenants.create", "{\"name\":\"Fuzz\"}", w->tenant,
		sizeof(w->tenant));
	w->admin.tenant_id = w->tenant;
	w->admin.user_id = "usr_fuzz";
	w->admin.role = BILLING_ROLE_ADMIN;
	call_for_id(w, &w->admin, "customers.create", "{\"name\":\"Ada\",\"email\":"
		"\"ada@example.com\",\"defaultPaymentMethod\":\"pm_card_visa\"}", w->customer,
		sizeof(w->customer));
	call_for_id(w, &w->admin, "products.create", "{\"name\":\"Pro\",\"sku\":\"pro\","
		"\"priceCents\":2900}", w->product, sizeof(w->product));
	snprintf(in, sizeof(in), "{\"productId\":\"%s\",\"code\":\"PRO_M\",\"name\":\"Pro\","
		"\"amount\":2900,\"currency\":\"EUR\",\"interval\":\"MONTH\"}", w->product);
	call_for_id(w, &w->admin, "plans.create", in, w->plan, sizeof(w->plan));
	snprintf(in, sizeof(in), "{\"customerId\":\"%s\",\"planId\":\"%s\"}", w->customer,
		w->plan);
	call_for_id(w, &w->admin, "subscriptions.create", in, w->subscription,
		sizeof(w->subscription));
	call_for_id(w, &w->admin, "invoices.list", "{}", w->invoice, sizeof(w->invoice));
	call_for_id(w, &w->admin, "payments.list", "{}", w->payment, sizeof(w->payment));
	call_for_id(w, &w->admin, "webhook_endpoints.create",
		"{\"url\":\"https://hooks.example.com/billing\"}", w->endpoint, sizeof(w->endpoint));
	call_for_id(w, &w->admin, "events.list", "{}", w->event, sizeof(w->event));

	/* A second of everything, so that every list has a next page and a
	 * real cursor to start from (fuzz_cursor). */
	call_for_id(w, &platform, "tenants.create", "{\"name\":\"Other\"}", other,
		sizeof(other));
	call_for_id(w, &w->admin, "customers.create", "{\"name\":\"Bob\",\"email\":"
		"\"bob@example.com\"}", customer2, sizeof(customer2));
	call_for_id(w, &w->admin, "products.create", "{\"name\":\"Basic\",\"sku\":\"basic\","
		"\"priceCents\":900}", other, sizeof(other));
	snprintf(in, sizeof(in), "{\"productId\":\"%s\",\"code\":\"PRO_Y\",\"name\":\"Pro\","
		"\"amount\":29000,\"currency\":\"EUR\",\"interval\":\"YEAR\"}", w->product);
	call_for_id(w, &w->admin, "plans.create", in, other, sizeof(other));
	snprintf(in, sizeof(in), "{\"customerId\":\"%s\",\"planId\":\"%s\"}", customer2,
		w->plan);
	call_for_id(w, &w->admin, "subscriptions.create", in, other, sizeof(other));
	snprintf(in, sizeof(in), "{\"subscriptionId\":\"%s\"}", other);
	call_for_id(w, &w->admin, "invoices.list", in, other, sizeof(other));
	snprintf(in, sizeof(in), "{\"id\":\"%s\",\"paymentMethod\":\"pm_card_visa\"}", other);
	call_for_id(w, &w->admin, "invoices.pay", in, other, sizeof(other));
	call_for_id(w, &w->admin, "webhook_endpoints.create",
		"{\"url\":\"https://hooks.example.com/other\",\"events\":[\"invoice.*\"]}", other,
		sizeof(other));
}

world *world_get(void)
{
	world *w = &the_world;

	if (w->ctx != NULL && w->calls >= WORLD_CALLS) {
		billing_ctx_close(w->ctx);
		w->ctx = NULL;
	}
	if (w->ctx == NULL) {
		unsigned long generation = w->generation;
		build(w);
		w->generation = generation + 1;
	}
	w->calls++;
	return w;
}

char *world_expand(const world *w, const char *data, size_t size, size_t *len)
{
	const struct {
		const char *name;
		const char *value;
	} subst[] = {
		{ "$ten", w->tenant }, { "$cus", w->customer }, { "$prd", w->product },
		{ "$pln", w->plan }, { "$sub", w->subscription }, { "$inv", w->invoice },
		{ "$pay", w->payment }, { "$whe", w->endpoint },
		{ "$evt", w->event },
	};
	/* Every placeholder is 4 bytes and every id shorter than 64. */
	char *out = malloc(size / 4 * 64 + size % 4 + 1);
	size_t i = 0, o = 0, k;

	if (out == NULL)
		abort();
	while (i < size) {
		for (k = 0; k < sizeof(subst) / sizeof(subst[0]); k++)
			if (size - i >= 4 && memcmp(data + i, subst[k].name, 4) == 0)
				break;
		if (k < sizeof(subst) / sizeof(subst[0])) {
			memcpy(out + o, subst[k].value, strlen(subst[k].value));
			o += strlen(subst[k].value);
			i += 4;
		} else {
			out[o++] = data[i++];
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

void world_check_json(const char *out, int rc, const char *operation)
{
	const char *end = NULL;
	cJSON *root;
	int has_error;

	if (out == NULL) {
		fprintf(stderr, "%s: no output (out of memory is not expected here)\n", operation);
		abort();
	}
	root = cJSON_ParseWithOpts(out, &end, 1);
	if (root == NULL || !cJSON_IsObject(root)) {
		fprintf(stderr, "%s: the output is not a JSON object: %s\n", operation, out);
		abort();
	}
	/* An error is {"error":{...}} with the code returned; a result is not. */
	has_error = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "error"));
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "%s -> %d %.300s\n", operation, rc, out);
	if ((rc < 0) != has_error) {
		fprintf(stderr, "%s: returned %d with output %s\n", operation, rc, out);
		abort();
	}
	cJSON_Delete(root);
}
