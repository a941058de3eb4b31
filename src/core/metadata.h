/*
 * Metadata (key-value pairs on customers, products, plans, subscriptions):
 * validated into canonical JSON for storage, decoded for the getters
 * (metadata.c).
 */
#ifndef BILLING_CORE_METADATA_H
#define BILLING_CORE_METADATA_H

#include <stddef.h>

#include "billing/billing.h"
#include "core/errors.h"

typedef struct {
	size_t count;
	billing_metadata_entry *entries; /* keys in byte order */
	char *storage;                   /* the strings, one block */
} billing__metadata;

/* Validates entries (limits in common.h) into canonical JSON (keys sorted,
 * duplicates an error). *json is new; "{}" when n == 0. */
int billing__metadata_encode(billing__checks *c, const billing_metadata_entry *entries,
	size_t n, char **json);

/* Loads canonical JSON (from storage) for the getters. */
int billing__metadata_decode(billing__metadata *m, const char *json);
void billing__metadata_free(billing__metadata *m);
const char *billing__metadata_get(const billing__metadata *m, const char *key);

#endif
