/*
 * Allocation wrappers with a per-thread failure injector (see alloc.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/errors.h"

static _Thread_local long fail_countdown; /* 0: off */
static _Thread_local long alloc_count;

static int should_fail(void)
{
	alloc_count++;
	if (fail_countdown == 0)
		return 0;
	return --fail_countdown == 0;
}

long billing__alloc_fail_at(long nth)
{
	long n = alloc_count;
	alloc_count = 0;
	fail_countdown = nth > 0 ? nth : 0;
	return n;
}

void *billing__malloc(size_t size)
{
	return should_fail() ? NULL : malloc(size ? size : 1);
}

void *billing__calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *billing__realloc(void *ptr, size_t size)
{
	return should_fail() ? NULL : realloc(ptr, size ? size : 1);
}

char *billing__strndup(const char *s, size_t n)
{
	char *p;
	if (!s)
		return NULL;
	if ((p = billing__malloc(n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *billing__strdup(const char *s)
{
	return s ? billing__strndup(s, strlen(s)) : NULL;
}

void billing__free(void *ptr)
{
	free(ptr);
}

int billing__grow(void **items, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return BILLING_OK;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		c *= 2;
	}
	if (size && c > SIZE_MAX / size)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((p = billing__realloc(*items, c * size)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	*items = p;
	*cap = c;
	return BILLING_OK;
}

static _Thread_local long storage_countdown; /* 0: off */
static _Thread_local long storage_count;

long billing__storage_fail_at(long nth)
{
	long n = storage_count;
	storage_count = 0;
	storage_countdown = nth > 0 ? nth : 0;
	return n;
}

int billing__storage_fault(void)
{
	storage_count++;
	if (storage_countdown == 0)
		return 0;
	return --storage_countdown == 0;
}
