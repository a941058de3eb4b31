/**
 * @file billing/postgres.h
 * @brief The PostgreSQL storage backend, for hosts that want its options.
 *
 * billing_ctx_open_url(&ctx, "postgres://user@host/db", NULL) is the usual
 * way in ("postgresql://..." too, or "postgres:" followed by a libpq
 * key=value conninfo). Many processes on many machines may share one
 * database: work that must happen once is claimed with row locks, and
 * migrations run under an advisory lock.
 *
 * Connections: a pool of up to max_connections, made on demand, each used
 * by one thread at a time; a connection found broken is closed and the next
 * call makes a fresh one. Transactions run at READ COMMITTED, and rows an
 * update reads are locked (SELECT ... FOR UPDATE). Every transaction sets
 * billing.tenant_id (or billing.platform) with set_config(..., true), on
 * which the row-level security policies of the schema act: see
 * docs/postgres.md for the owner and runtime roles. BEGIN and that
 * set_config go to the server with the transaction's first statement, in
 * one pipeline (libpq's pipeline mode, libpq 14 or later), so they cost no
 * round trip of their own; a transaction that runs nothing costs none.
 *
 * The connection string may hold a password; it is never logged nor put in
 * an error message.
 */
#ifndef BILLING_POSTGRES_H
#define BILLING_POSTGRES_H

#include "common.h"
#include "ctx.h"

BILLING_BEGIN_DECL

#define BILLING_POSTGRES_OPTIONS_VERSION 1

typedef struct {
	unsigned int version;              /**< BILLING_POSTGRES_OPTIONS_VERSION */
	unsigned int max_connections;      /**< 0: 8 */
	unsigned int statement_timeout_ms; /**< 0: none; a statement running longer
	                                        fails with BILLING_EBUSY, reason
	                                        "statement_timeout" */
} billing_postgres_options;

#define BILLING_POSTGRES_OPTIONS_INIT { BILLING_POSTGRES_OPTIONS_VERSION, 0, 0 }

/**
 * Creates a PostgreSQL storage and makes its first connection.
 *
 * @param out      receives the storage; hand it to billing_ctx_open() (which
 *                 then owns it) or free it with billing_storage_free()
 *                 (billing/ctx.h)
 * @param conninfo a libpq connection URI or key=value string
 * @param opts     NULL for defaults
 * @return BILLING_OK; BILLING_EINVALID; BILLING_ESTORAGE when the server
 *         cannot be reached (the message names the server, never the password)
 */
BILLING_EXTERN(int) billing_postgres_storage_new(billing_storage **out, const char *conninfo,
	const billing_postgres_options *opts);

BILLING_END_DECL

#endif
