/*
 * Metadata: a small string map on customers, products and plans. Stored as
 * canonical JSON (keys sorted by bytes), so equal maps are equal texts.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/text.h"

static int cmp_entry(const void *a, const void *b)
{
	const billing_metadata_entry *x = a, *y = b;
	return strcmp(x->key, y->key);
}

static bool text_ok(const char *s, size_t min, size_t max)
{
	size_t len = strlen(s), chars;
	if (!billing__utf8_valid(s, len) || billing__has_control(s, len))
		return false;
	chars = billing__utf8_count(s, len);
	return chars >= min && chars <= max;
}

int billing__metadata_encode(billing__checks *c, const billing_metadata_entry *entries,
	size_t n, char **json)
{
	billing_metadata_entry *sorted = NULL;
	cJSON *obj = NULL;
	size_t i;
	int rc = BILLING_OK;

	*json = NULL;
	if (n > 0 && !entries) {
		billing__check_fail(c, "metadata", "entries are missing");
		return BILLING_OK;
	}
	if (n > BILLING_METADATA_MAX_KEYS) {
		billing__check_fail(c, "metadata", "must have at most %d keys",
			BILLING_METADATA_MAX_KEYS);
		return BILLING_OK;
	}
	for (i = 0; i < n; i++) {
		if (!entries[i].key || !text_ok(entries[i].key, 1, BILLING_METADATA_KEY_MAX)) {
			billing__check_fail(c, "metadata", "keys must be 1 to %d characters "
				"without control characters", BILLING_METADATA_KEY_MAX);
			return BILLING_OK;
		}
		if (!entries[i].value || !text_ok(entries[i].value, 0, BILLING_METADATA_VALUE_MAX)) {
			billing__check_fail(c, "metadata", "value of \"%.40s\" must be a string of at "
				"most %d characters without control characters", entries[i].key,
				BILLING_METADATA_VALUE_MAX);
			return BILLING_OK;
		}
	}
	if (n && (sorted = billing__malloc(n * sizeof(*sorted))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (n)
		memcpy(sorted, entries, n * sizeof(*sorted));
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), cmp_entry);
	for (i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1].key, sorted[i].key) == 0) {
			billing__check_fail(c, "metadata", "key \"%.40s\" appears twice", sorted[i].key);
			goto out;
		}
	}
	if ((obj = cJSON_CreateObject()) == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		if (!cJSON_AddStringToObject(obj, sorted[i].key, sorted[i].value))
			goto nomem;
	if ((*json = cJSON_PrintUnformatted(obj)) == NULL)
		goto nomem;
	goto out;
nomem:
	rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
out:
	cJSON_Delete(obj);
	billing__free(sorted);
	return rc;
}

int billing__metadata_decode(billing__metadata *m, const char *json)
{
	cJSON *obj, *it;
	size_t n = 0, bytes = 0, i = 0;
	char *p;

	memset(m, 0, sizeof(*m));
	if (!json || strcmp(json, "{}") == 0)
		return BILLING_OK;
	if ((obj = cJSON_Parse(json)) == NULL || !cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return billing__error_set(BILLING_ESTORAGE, "storage", "stored metadata is not JSON");
	}
	cJSON_ArrayForEach(it, obj) {
		if (!cJSON_IsString(it)) {
			cJSON_Delete(obj);
			return billing__error_set(BILLING_ESTORAGE, "storage",
				"stored metadata holds a non-string");
		}
		n++;
		bytes += strlen(it->string) + strlen(it->valuestring) + 2;
	}
	m->entries = billing__calloc(n, sizeof(*m->entries));
	m->storage = billing__malloc(bytes ? bytes : 1);
	if (!m->entries || !m->storage) {
		cJSON_Delete(obj);
		billing__metadata_free(m);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	p = m->storage;
	cJSON_ArrayForEach(it, obj) {
		size_t kl = strlen(it->string) + 1, vl = strlen(it->valuestring) + 1;
		memcpy(p, it->string, kl);
		m->entries[i].key = p;
		p += kl;
		memcpy(p, it->valuestring, vl);
		m->entries[i].value = p;
		p += vl;
		i++;
	}
	m->count = n;
	cJSON_Delete(obj);
	if (n > 1)
		qsort(m->entries, n, sizeof(*m->entries), cmp_entry);
	return BILLING_OK;
}

void billing__metadata_free(billing__metadata *m)
{
	billing__free(m->entries);
	billing__free(m->storage);
	memset(m, 0, sizeof(*m));
}

const char *billing__metadata_get(const billing__metadata *m, const char *key)
{
	billing_metadata_entry probe, *hit;
	if (!key || m->count == 0)
		return NULL;
	probe.key = key;
	probe.value = NULL;
	hit = bsearch(&probe, m->entries, m->count, sizeof(*m->entries), cmp_entry);
	return hit ? hit->value : NULL;
}
