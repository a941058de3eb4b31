/*
 * The outbox's cache of each tenant's enabled webhook endpoints (issue #19
 * item 2). An event's fan-out needs the tenant's enabled endpoints and the
 * types each wants; they rarely change, and reading them is a round trip
 * on PostgreSQL. The cache keeps them per tenant under the tenant's
 * endpoints version (billing_storage.endpoints_version: a counter in the
 * database that a trigger bumps on every change of one of the tenant's
 * endpoints, by any process), and an entry serves only a transaction that
 * reads the same version. See docs/architecture.md, "The outbox's endpoint
 * cache".
 */
#include <pthread.h>
#include <string.h>

#include "core/alloc.h"
#include "core/webhook_internal.h"

#define CACHE_SLOTS 256        /* tenants kept; a new one takes its slot */
#define TENANT_MAX 64

struct entry {
	char tenant[TENANT_MAX];   /* "" : free */
	int64_t version;
	billing__endpoint_list list;
};

struct billing__endpoint_cache {
	pthread_mutex_t mu;
	struct entry slots[CACHE_SLOTS];
};

billing__endpoint_cache *billing__endpoint_cache_new(void)
{
	billing__endpoint_cache *c = billing__calloc(1, sizeof(*c));
	if (c)
		pthread_mutex_init(&c->mu, NULL);
	return c;
}

void billing__endpoint_cache_free(billing__endpoint_cache *c)
{
	size_t i;
	if (!c)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		billing__free(c->slots[i].list.blob);
	pthread_mutex_destroy(&c->mu);
	billing__free(c);
}

static struct entry *slot(billing__endpoint_cache *c, const char *tenant_id)
{
	uint64_t h = 1469598103934665603ull;
	const char *p;
	for (p = tenant_id; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ull;
	}
	return &c->slots[h % CACHE_SLOTS];
}

int billing__endpoint_list_add(billing__endpoint_list *l, const char *id, const char *types)
{
	size_t a = strlen(id) + 1, b = strlen(types) + 1;
	if (l->len + a + b > l->cap) {
		size_t cap = l->cap ? l->cap : 256;
		char *p;
		while (cap < l->len + a + b)
			cap *= 2;
		if ((p = billing__realloc(l->blob, cap)) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		l->blob = p;
		l->cap = cap;
	}
	memcpy(l->blob + l->len, id, a);
	memcpy(l->blob + l->len + a, types, b);
	l->len += a + b;
	l->count++;
	return BILLING_OK;
}

void billing__endpoint_list_free(billing__endpoint_list *l)
{
	billing__free(l->blob);
	memset(l, 0, sizeof(*l));
}

bool billing__endpoint_cache_get(billing__endpoint_cache *c, const char *tenant_id,
	int64_t version, billing__endpoint_list *out)
{
	struct entry *e;
	bool hit = false;

	memset(out, 0, sizeof(*out));
	if (!c || version < 0 || strlen(tenant_id) >= TENANT_MAX)
		return false;
	pthread_mutex_lock(&c->mu);
	e = slot(c, tenant_id);
	if (e->version == version && strcmp(e->tenant, tenant_id) == 0) {
		hit = true;
		if (e->list.len && (out->blob = billing__malloc(e->list.len)) == NULL) {
			hit = false;  /* out of memory: read them again */
		} else if (e->list.len) {
			memcpy(out->blob, e->list.blob, e->list.len);
			out->len = out->cap = e->list.len;
		}
		out->count = hit ? e->list.count : 0;
	}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

void billing__endpoint_cache_put(billing__endpoint_cache *c, const char *tenant_id,
	int64_t version, const billing__endpoint_list *l)
{
	struct entry *e;
	char *copy = NULL;

	if (!c || version < 0 || strlen(tenant_id) >= TENANT_MAX)
		return;
	if (l->len && (copy = billing__malloc(l->len)) == NULL)
		return;
	if (copy)
		memcpy(copy, l->blob, l->len);
	pthread_mutex_lock(&c->mu);
	e = slot(c, tenant_id);
	billing__free(e->list.blob);
	memcpy(e->tenant, tenant_id, strlen(tenant_id) + 1);
	e->version = version;
	e->list.blob = copy;
	e->list.len = e->list.cap = l->len;
	e->list.count = l->count;
	pthread_mutex_unlock(&c->mu);
}
