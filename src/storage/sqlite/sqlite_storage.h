/*
 * Internals of the SQLite backend that tests look at: how the writers of
 * this process shared their commits (see "Writers" in sqlite_storage.c).
 */
#ifndef BILLING_STORAGE_SQLITE_STORAGE_H
#define BILLING_STORAGE_SQLITE_STORAGE_H

#include <stdint.h>

#include "billing/sys/storage.h"

typedef struct {
	uint64_t calls;         /* write transactions that committed their work */
	uint64_t commits;       /* COMMITs of the database they took */
	unsigned int waiting;   /* writers waiting for their turn right now */
} billing__sqlite_writer_stats;

/* The figures of st, a storage made by billing_sqlite_storage_new. */
void billing__sqlite_writer_stats_get(billing_storage *st, billing__sqlite_writer_stats *out);

#endif
