/*
 * The SQL that the SQLite and PostgreSQL backends share.
 *
 * Both backends implement a small driver (prepare, bind, step, read a
 * column) and a transaction; everything that talks in records — every data
 * method of the storage vtable, the list query builder and the migration
 * runner — is written once, in records.c, against that driver. Statements
 * are written with ?N placeholders; the PostgreSQL driver rewrites them to
 * $N when it prepares them.
 */
#ifndef BILLING_STORAGE_SQL_H
#define BILLING_STORAGE_SQL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "billing/sys/storage.h"

typedef struct sql_stmt sql_stmt;
typedef struct sql_driver sql_driver;

/* A backend's statement starts with this. */
struct sql_stmt {
	const sql_driver *drv;
};

/* Months a transaction remembers (usage.c): a batch of more new months
 * than this asks again next time. */
#define SQL_MONTHS_NEW 16

/* The months (UTC, year * 12 + month - 1) whose usage_events partition a
 * PostgreSQL storage knows exist, shared by its connections: a batch
 * whose months are all here costs nothing more; a miss asks the database
 * once (billing_usage_partition). Sorted; under mu. */
struct sql_usage_months {
	pthread_mutex_t mu;
	int32_t *month;
	size_t count, cap;
};

/* A backend's transaction: both backends use this struct. */
struct billing_txn {
	const sql_driver *drv;
	unsigned int kind;          /* BILLING_TXN_READ, _WRITE or _SNAPSHOT (a READ) */
	void *conn;                 /* the backend's connection */
	/* This transaction wrote a webhook endpoint (records.c sets it; the
	 * backend clears it at begin): the outbox's cache must not keep what
	 * the transaction reads of them (billing_storage.endpoints_version). */
	bool endpoints_changed;
	/* The tenant whose invoice counter row this transaction has locked
	 * with its upsert ("": none yet), and the number it last took. Used
	 * where the driver defers writes (PostgreSQL; the backend clears it at
	 * begin): nobody else can move a locked counter, so the transaction's
	 * next number is known without asking (rec_invoice_number_next). */
	char number_tenant[64];
	int64_t number_last;
	/* PostgreSQL: the months whose usage_events partition the storage
	 * knows exist (NULL on SQLite: nothing is partitioned), and the months
	 * this transaction made or found (usage.c), which join them only when
	 * it commits (billing__sql_usage_months_commit): a rolled-back
	 * partition is not known. The backend sets months and clears
	 * months_new at begin. */
	struct sql_usage_months *months;
	int32_t months_new[SQL_MONTHS_NEW];
	unsigned int months_new_count;
};

struct sql_driver {
	const char *dialect;        /* "sqlite" or "postgres" */
	const char *like;           /* case-insensitive LIKE: "LIKE" or "ILIKE" */
	bool for_update;            /* SELECT ... FOR UPDATE locks rows */

	/* A reset, unbound statement for sql, from the connection's cache.
	 * sql is a string literal (stable address) unless dynamic is set. */
	int (*prepare)(billing_txn *tx, const char *sql, bool dynamic, sql_stmt **out);
	void (*bind_text)(sql_stmt *s, int i, const char *v);  /* NULL binds NULL */
	void (*bind_int)(sql_stmt *s, int i, int64_t v);
	void (*bind_null)(sql_stmt *s, int i);
	/* 1: a row is ready; 0: done; < 0: failed, with the error set.
	 * fk_code: what a foreign-key violation means here (BILLING_ECONFLICT
	 * on delete: still referenced; BILLING_EINVALID on insert: a
	 * referenced row is missing). */
	int (*step)(sql_stmt *s, int fk_code);
	const char *(*col_text)(sql_stmt *s, int i);          /* NULL for SQL NULL */
	int64_t (*col_int)(sql_stmt *s, int i);               /* 0 for SQL NULL */
	int64_t (*changes)(sql_stmt *s);                      /* rows a write changed */
	void (*reset)(sql_stmt *s);                           /* after every use */
	/* Runs a script of several statements without parameters. */
	int (*exec_script)(billing_txn *tx, const char *sql);
	/* Moves the transaction to another tenant (row-level security). */
	int (*set_tenant)(billing_txn *tx, const char *tenant_id);
	/* Optional. Runs s (bound, returning no rows) later, with the next
	 * statement whose answer is waited for or the COMMIT; its failure is
	 * that statement's (mapped with fk_code). For writes whose answer
	 * only reports errors; the caller resets s after it. */
	int (*defer)(sql_stmt *s, int fk_code);
};

/* Fills every data method of st (meta, tenants, customers, products, plans,
 * idempotency keys, users) with the shared implementations. */
void billing__sql_install(billing_storage *st);

/* Fills the usage methods (version 12: usage_insert, usage_aggregate;
 * usage.c); billing__sql_install calls it. */
void billing__sql_usage_install(billing_storage *st);

/* PostgreSQL: the months tx made or found join its storage's known ones;
 * the backend calls it once the transaction has committed. */
void billing__sql_usage_months_commit(billing_txn *tx);
/* Frees the known months (the mutex and the array), when the storage is
 * closed. */
void billing__sql_usage_months_free(struct sql_usage_months *m);

/* The tenant's endpoints version (webhook_endpoint_versions, bumped by a
 * trigger on every change of its webhook endpoints; 0 when none): one
 * SELECT. */
int billing__sql_endpoints_version(billing_txn *tx, const char *tenant_id, int64_t *version);

/* Migrations, inside a transaction the backend opened (and locked). */
int billing__sql_schema_status(billing_txn *tx, int *pending);
int billing__sql_migrate(billing_txn *tx, int64_t now, int *applied);

#endif
