/*
 * Copying rows into the objects the public API hands out: the row of a get,
 * an entity and its strings in one allocation, and "no such <what>".
 */
#ifndef BILLING_CORE_COPY_H
#define BILLING_CORE_COPY_H

#include <stddef.h>

#include "core/errors.h"

/* Captures the one row of a get as an item made by from_record. */
typedef struct {
	void *(*from_record)(const void *record);
	void *item;
} billing__capture;

int billing__capture_row(void *payload, const void *record);

/* "no such <what>" as BILLING_ENOTFOUND (a macro for the reason given at
 * billing__error_set). */
#define billing__not_found(what) \
	billing__error_set(BILLING_ENOTFOUND, "not_found", "no such %s in this tenant", (what))

/*
 * An entity and its strings in one allocation: size the strings with
 * billing__strsize, allocate sizeof(entity) + the sum, then copy each with
 * billing__strpack_put into the space after the struct. NULL stays NULL.
 */
typedef struct {
	char *next;
} billing__strpack;

size_t billing__strsize(const char *s);
char *billing__strpack_put(billing__strpack *p, const char *s);

#endif
