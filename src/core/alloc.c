/*
 * Allocation wrappers with a per-thread failure injector (see alloc.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

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
