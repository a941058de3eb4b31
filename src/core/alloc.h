/*
 * The library's allocator. Every allocation in src/ goes through here so a
 * test can make the Nth allocation fail and check that the caller unwinds
 * cleanly (no leak, nothing half-written).
 */
#ifndef BILLING_CORE_ALLOC_H
#define BILLING_CORE_ALLOC_H

#include <stddef.h>

void *billing__malloc(size_t size);
void *billing__calloc(size_t n, size_t size);
void *billing__realloc(void *ptr, size_t size);
char *billing__strdup(const char *s);
char *billing__strndup(const char *s, size_t n);
void billing__free(void *ptr);

/*
 * Makes *items, an array of *cap elements of size bytes each, hold at least
 * need elements: *cap doubles (from 16) until it does. BILLING_OK, also
 * when it held them already; BILLING_ENOMEM (the error set) when the
 * allocation fails or the bytes would not fit a size_t, and then *items and
 * *cap are as they were (the array is still the caller's to free).
 */
int billing__grow(void **items, size_t *cap, size_t need, size_t size);

/*
 * Fault injection for tests: the nth allocation from now fails (1 = the
 * next one); 0 turns injection off. Thread-local, so a test only affects
 * the allocations of its own thread. Returns how many allocations were
 * made since the last call (to size the loop N = 1, 2, ...).
 */
long billing__alloc_fail_at(long nth);

/*
 * The same for storage: the nth storage statement from now (a prepare in
 * the shared SQL layer, or a commit) fails with BILLING_ESTORAGE, reason
 * "injected". Thread-local; returns how many were counted since the last
 * call. billing__storage_fault() counts one and says whether it fails.
 */
long billing__storage_fail_at(long nth);
int billing__storage_fault(void);

#endif
