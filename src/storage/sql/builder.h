/*
 * The SQL builder: statement texts, binds and row reads of the generic
 * record methods (storage version 7), made from a billing_resource.
 *
 * The texts that do not depend on the query (insert, update, the select
 * by key under each lock, delete) are built once per (resource, driver)
 * and kept for the life of the process at a stable address, so the
 * drivers' statement caches find them by address as they find literals.
 * A list query depends on its filters: it is built per call and prepared
 * as dynamic SQL (the drivers cache it by its text).
 */
#ifndef BILLING_STORAGE_SQL_BUILDER_H
#define BILLING_STORAGE_SQL_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "billing/sys/resource.h"
#include "billing/sys/storage.h"
#include "storage/sql/sql.h"

/* The statements built once per (resource, driver). */
typedef enum {
	SQLB_INSERT = 0,     /* ?1..?n: the fields in descriptor order */
	SQLB_UPDATE,         /* the same, and ?n+1 the old version (if a VERSION field) */
	SQLB_SELECT,         /* the key: ?1 tenant, ?2 id (?1 id when not tenant-scoped) */
	SQLB_SELECT_SHARE,   /* ... FOR SHARE (only where the dialect locks rows) */
	SQLB_SELECT_UPDATE,  /* ... FOR UPDATE (idem) */
	SQLB_DELETE,         /* the key, as SQLB_SELECT */
	SQLB_INSERT_ROWS,    /* ?1: many rows as one JSON text (billing__sqlb_rows_json) */
	SQLB_KINDS
} sqlb_kind;

/* What the builder knows of one resource for one driver. Immutable once
 * made; lives as long as the process. */
typedef struct {
	const billing_resource *res;
	const sql_driver *drv;
	const char *text[SQLB_KINDS];
	const char *columns;         /* "a, b, c": every column in field order */
	const billing_field *tenant; /* NULL: the table is not tenant-scoped */
	const billing_field *id;
	const billing_field *version; /* NULL: updates are not versioned */
	const billing_field *created; /* the default sort: created_at, else id */
} sqlb_shape;

/* The shape of res for drv, built and validated on first use (a descriptor
 * that is malformed is BILLING_ERROR "invalid_resource"). Thread-safe. */
int billing__sqlb_shape(const sqlb_shape **out, const billing_resource *res,
	const sql_driver *drv);

/* The select text for a lock (BILLING_LOCK_*) in a transaction of kind;
 * locks are taken only in a WRITE transaction of a dialect that locks rows. */
const char *billing__sqlb_select(const sqlb_shape *sh, unsigned int txn_kind,
	unsigned int lock);

/* Binds every field of rec as ?1..?n (the insert and update texts). */
void billing__sqlb_bind_record(sql_stmt *s, const sqlb_shape *sh, const void *rec);

/* The rows recs[0..count) as the JSON text SQLB_INSERT_ROWS reads: an
 * array of one array per row, of its fields in descriptor order (integers
 * as exact JSON numbers, NULL as null, each value as bind_record binds it).
 * One parameter carries any number of rows, so the statement text is the
 * same for every count (one prepared statement per resource) and neither
 * driver's limit on parameters applies. *out is new (cJSON_free), or
 * NULL with BILLING_ENOMEM. */
int billing__sqlb_rows_json(char **out, const sqlb_shape *sh, const void *const *recs,
	size_t count);

/* Binds the key of the select and delete texts. */
void billing__sqlb_bind_key(sql_stmt *s, const sqlb_shape *sh, const char *tenant_id,
	const char *id);

/* Reads the current row into rec (zeroed first; record_size bytes). */
void billing__sqlb_read(sql_stmt *s, const sqlb_shape *sh, void *rec);

/* A text that grows as it is written (on the heap, up to a bound). */
typedef struct {
	char *s;
	size_t len, cap;
	int err;                     /* 0, or why it stopped: BILLING_ENOMEM / BILLING_ERROR */
} sqlb_buf;

/* A list query: its text and bound values, built per call. */
typedef struct {
	sqlb_buf sql;
	struct sqlb_value { const char *text; int64_t num; int is_text; } *binds;
	int nbinds, cap_binds;
	char *pattern;               /* the escaped search pattern, bound by address */
} sqlb_list;

/* Builds the page query (count = 0) or the count query (count = 1) of q
 * over sh for tenant_id. Bad filters are BILLING_EINVALID naming them;
 * *l is to be released with billing__sqlb_list_free either way. */
int billing__sqlb_list(sqlb_list *l, const sqlb_shape *sh, const char *tenant_id,
	const billing_list_query *q, int count);
void billing__sqlb_list_bind(sql_stmt *s, const sqlb_list *l);
void billing__sqlb_list_free(sqlb_list *l);

/* After a unique violation on sh's table: re-sets the thread's error to
 * BILLING_EEXISTS naming the UNIQUE field the driver's report points at
 * (its column, its JSON name or a constraint "<table>_..._<column>_key"),
 * and returns BILLING_EEXISTS. The driver's report stands when no UNIQUE
 * field matches. */
int billing__sqlb_unique_error(const sqlb_shape *sh);

#endif
