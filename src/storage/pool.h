/*
 * A connection pool for the storage backends: up to max connections, made
 * on demand, each used by one thread at a time; a caller beyond max waits
 * for a connection to come back. A connection handed back broken is closed
 * rather than reused, so the next caller gets a fresh one.
 */
#ifndef BILLING_STORAGE_POOL_H
#define BILLING_STORAGE_POOL_H

#include <pthread.h>
#include <stdbool.h>

/* Embedded in a backend's connection. */
typedef struct billing__pool_item {
	struct billing__pool_item *next;
} billing__pool_item;

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	billing__pool_item *idle;
	unsigned int open;
	unsigned int max;
	/* Makes a connection (sets the error on failure), and closes one. */
	int (*connect)(void *backend, billing__pool_item **out);
	void (*close)(billing__pool_item *item);
	void *backend;
} billing__pool;

void billing__pool_init(billing__pool *p, unsigned int max,
	int (*connect)(void *backend, billing__pool_item **out),
	void (*close)(billing__pool_item *item), void *backend);

/* An idle connection, a new one, or (at max) the next one handed back. */
int billing__pool_acquire(billing__pool *p, billing__pool_item **out);

/* Hands a connection back; a broken one is closed. */
void billing__pool_release(billing__pool *p, billing__pool_item *item, bool broken);

/* Closes every idle connection. None may be in use. */
void billing__pool_destroy(billing__pool *p);

#endif
