/*
 * Internals of the PostgreSQL backend that tests and benchmarks look at.
 */
#ifndef BILLING_STORAGE_POSTGRES_PG_STORAGE_H
#define BILLING_STORAGE_POSTGRES_PG_STORAGE_H

#include <stdint.h>

#include "billing/sys/storage.h"

/* How many times st's connections have waited for the server's answer
 * (round trips) since st was made: a pipeline of several statements counts
 * once. st is a storage made by billing_postgres_storage_new. */
uint64_t billing__pg_round_trips(billing_storage *st);

/* How many statements st's connections have sent since st was made, each
 * once whether it went alone or in a pipeline (a PREPARE, a ROLLBACK
 * count too). */
uint64_t billing__pg_statements(billing_storage *st);

#endif
