/**
 * @file billing/sqlite.h
 * @brief The SQLite storage backend, for hosts that want its options.
 *
 * billing_ctx_open_url(&ctx, "sqlite:PATH", NULL) is the usual way in; this
 * header is for setting the pool size or busy timeout.
 *
 * The backend keeps a pool of connections (one per concurrently calling
 * thread, up to max_connections; callers beyond that wait). The database runs
 * in WAL mode with synchronous=FULL (a committed call survives power loss)
 * and foreign keys on. The write calls of one process take turns and share
 * their commits (group commit): each runs in a savepoint of a transaction
 * that several calls join, so a failing call takes back only its own work,
 * and a call returns only once the shared COMMIT is durable. That
 * transaction is taken with BEGIN IMMEDIATE, so writers of other processes
 * queue on the busy timeout instead of deadlocking. Readers never wait for
 * writers. An in-memory database uses one connection.
 */
#ifndef BILLING_SQLITE_H
#define BILLING_SQLITE_H

#include "common.h"
#include "ctx.h"

BILLING_BEGIN_DECL

#define BILLING_SQLITE_OPTIONS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_SQLITE_OPTIONS_VERSION */
	unsigned int max_connections;  /**< 0: 8 */
	unsigned int busy_timeout_ms;  /**< 0: 5000 */
} billing_sqlite_options;

#define BILLING_SQLITE_OPTIONS_INIT { BILLING_SQLITE_OPTIONS_VERSION, 0, 0 }

/**
 * Creates a SQLite storage for path (":memory:" for a private in-memory
 * database). The file is created if missing; nothing is read until a
 * context opens on it.
 *
 * @param out  receives the storage; hand it to billing_ctx_open() (which
 *             then owns it) or free it with billing_storage_free()
 *             (billing/ctx.h)
 * @param opts NULL for defaults
 * @return BILLING_OK; BILLING_EINVALID; BILLING_ESTORAGE when the file cannot
 *         be opened
 */
BILLING_EXTERN(int) billing_sqlite_storage_new(billing_storage **out, const char *path,
	const billing_sqlite_options *opts);

BILLING_END_DECL

#endif
