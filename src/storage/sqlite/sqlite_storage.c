/*
 * The SQLite storage backend.
 *
 * Connections: a pool, one connection per concurrently calling thread up to
 * max_connections (a connection is used by one thread at a time, so SQLite
 * runs in its multi-thread mode without per-connection mutexes). Every
 * connection keeps its prepared statements in a small cache keyed by the SQL
 * text, so a hot call binds and steps without parsing.
 *
 * Durability: WAL with synchronous=FULL. Concurrency: write transactions
 * begin IMMEDIATE, so two writers queue on the busy timeout instead of one
 * failing when it upgrades its read lock.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/errors.h"
#include "billing/sqlite.h"
#include "billing/sys/storage.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "storage/migrations.h"

#define STMT_CACHE_SLOTS 64
#define SQL_MAX 2048

struct cached_stmt {
	uint64_t hash;
	sqlite3_stmt *stmt;
};

struct sqlite_storage;

struct billing_txn {
	struct sqlite_storage *st;
	struct conn *conn;
	unsigned int kind;
};

struct conn {
	sqlite3 *db;
	struct conn *next;
	struct billing_txn tx;
	struct cached_stmt cache[STMT_CACHE_SLOTS];
};

struct sqlite_storage {
	billing_storage base;
	char *path;
	unsigned int max_conns;
	unsigned int busy_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct conn *idle;
	unsigned int open_conns;
};

/* ------------------------------------------------------------ errors */

static const char *column_field(const char *column)
{
	static const struct { const char *column, *field; } map[] = {
		{ "email_key", "email" },
		{ "idem_key", "idempotencyKey" },
		{ "tenant_id", "tenantId" },
		{ "product_id", "productId" },
	};
	size_t i;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].column, column) == 0)
			return map[i].field;
	return column;
}

/* Maps a failed SQLite call to a billing status. fk_code says what a
 * foreign-key failure means to the caller: on delete, the row is still
 * referenced (ECONFLICT); on insert, a referenced row is missing. */
static int db_fail(sqlite3 *db, int rc, int fk_code)
{
	int ext = sqlite3_extended_errcode(db);
	const char *msg = sqlite3_errmsg(db);
	(void)rc;

	switch (ext) {
	case SQLITE_BUSY:
	case SQLITE_BUSY_SNAPSHOT:
	case SQLITE_BUSY_RECOVERY:
	case SQLITE_LOCKED:
	case SQLITE_LOCKED_SHAREDCACHE:
		return billing__error_set(BILLING_EBUSY, "busy", "database is busy: %s", msg);
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY: {
		/* "UNIQUE constraint failed: customers.tenant_id, customers.email_key":
		 * the last column names the field. */
		static _Thread_local char field[64];
		const char *dot = strrchr(msg, '.');
		snprintf(field, sizeof(field), "%s", column_field(dot ? dot + 1 : "id"));
		return billing__error_field(BILLING_EEXISTS, "already_exists", field,
			"%s is already taken in this tenant", field);
	}
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		if (fk_code == BILLING_ECONFLICT)
			return billing__error_set(BILLING_ECONFLICT, "referenced",
				"the resource is still referenced by other resources");
		return billing__error_set(BILLING_EINVALID, "resource_missing",
			"a referenced resource does not exist in this tenant");
	default:
		return billing__error_set(BILLING_ESTORAGE, "storage", "sqlite: %s", msg);
	}
}

int billing_storage_error(int code, const char *reason, const char *message)
{
	return billing__error_set(code, reason, "%s", message ? message : billing_strerror(code));
}

int billing_storage_error_field(int code, const char *reason, const char *field,
	const char *message)
{
	return billing__error_field(code, reason, field, "%s",
		message ? message : billing_strerror(code));
}

/* ------------------------------------------------------------ statements */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* A reset, unbound statement for sql from the connection's cache. */
static int stmt_get(sqlite3_stmt **out, struct conn *c, const char *sql)
{
	uint64_t h = fnv1a(sql);
	struct cached_stmt *slot = &c->cache[h % STMT_CACHE_SLOTS];
	int rc;

	if (slot->stmt && slot->hash == h && strcmp(sqlite3_sql(slot->stmt), sql) == 0) {
		*out = slot->stmt;
		return BILLING_OK;
	}
	if (slot->stmt) {
		sqlite3_finalize(slot->stmt);
		slot->stmt = NULL;
	}
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->stmt, NULL);
	if (rc != SQLITE_OK)
		return db_fail(c->db, rc, 0);
	slot->hash = h;
	*out = slot->stmt;
	return BILLING_OK;
}

static void stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static void bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(s, i, v);
}

/* An integer column that is NULL for "none" (0 in records). */
static void bind_i64_or_null(sqlite3_stmt *s, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* Steps a statement that returns no rows. */
static int exec_stmt(struct conn *c, sqlite3_stmt *s, int fk_code, int *changes)
{
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		rc = db_fail(c->db, rc, fk_code);
		stmt_done(s);
		return rc;
	}
	if (changes)
		*changes = sqlite3_changes(c->db);
	stmt_done(s);
	return BILLING_OK;
}

static int exec_sql(struct conn *c, const char *sql)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, c, sql);
	return rc < 0 ? rc : exec_stmt(c, s, 0, NULL);
}

/* ------------------------------------------------------------ pool */

static void conn_close(struct conn *c)
{
	size_t i;
	if (!c)
		return;
	for (i = 0; i < STMT_CACHE_SLOTS; i++)
		if (c->cache[i].stmt)
			sqlite3_finalize(c->cache[i].stmt);
	sqlite3_close(c->db);
	billing__free(c);
}

/* Switching a new file to WAL needs its exclusive lock, and SQLite returns
 * SQLITE_BUSY for that without calling the busy handler, so two processes
 * opening a new database at once would see "database is locked". The mode
 * is persistent: retry, within the busy timeout, until one of them has
 * switched the file (then the pragma only reads it). */
static int set_wal(sqlite3 *db, unsigned int busy_ms)
{
	unsigned int waited = 0;
	for (;;) {
		int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
		if ((rc & 0xff) != SQLITE_BUSY || waited >= busy_ms)
			return rc;
		sqlite3_sleep(5);
		waited += 5;
	}
}

static int conn_open(struct conn **out, struct sqlite_storage *st)
{
	struct conn *c = billing__calloc(1, sizeof(*c));
	char pragmas[160];
	int rc;

	if (!c)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	rc = sqlite3_open_v2(st->path, &c->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = billing__error_set(BILLING_ESTORAGE, "storage", "sqlite: cannot open database: %s",
			c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		sqlite3_close(c->db);
		billing__free(c);
		return rc;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, (int)st->busy_ms);
	rc = set_wal(c->db, st->busy_ms);
	if (rc == SQLITE_OK) {
		snprintf(pragmas, sizeof(pragmas), "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
		rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		rc = db_fail(c->db, rc, 0);
		conn_close(c);
		return rc;
	}
	c->tx.st = st;
	c->tx.conn = c;
	*out = c;
	return BILLING_OK;
}

static int conn_acquire(struct conn **out, struct sqlite_storage *st)
{
	int rc;
	pthread_mutex_lock(&st->mu);
	for (;;) {
		if (st->idle) {
			*out = st->idle;
			st->idle = st->idle->next;
			pthread_mutex_unlock(&st->mu);
			return BILLING_OK;
		}
		if (st->open_conns < st->max_conns)
			break;
		pthread_cond_wait(&st->cv, &st->mu);
	}
	st->open_conns++;
	pthread_mutex_unlock(&st->mu);

	rc = conn_open(out, st);
	if (rc < 0) {
		pthread_mutex_lock(&st->mu);
		st->open_conns--;
		pthread_cond_signal(&st->cv);
		pthread_mutex_unlock(&st->mu);
	}
	return rc;
}

static void conn_release(struct sqlite_storage *st, struct conn *c)
{
	pthread_mutex_lock(&st->mu);
	c->next = st->idle;
	st->idle = c;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

/* ------------------------------------------------------------ transactions */

static int sq_begin(billing_storage *base, billing_txn **out, const char *tenant_id,
	unsigned int kind)
{
	struct sqlite_storage *st = (struct sqlite_storage *)base;
	struct conn *c;
	int rc;
	(void)tenant_id; /* SQLite has no row-level security: keys carry the tenant */

	if ((rc = conn_acquire(&c, st)) < 0)
		return rc;
	rc = exec_sql(c, kind == BILLING_TXN_WRITE ? "BEGIN IMMEDIATE" : "BEGIN");
	if (rc < 0) {
		conn_release(st, c);
		return rc;
	}
	c->tx.kind = kind;
	*out = &c->tx;
	return BILLING_OK;
}

static void sq_rollback(billing_txn *tx)
{
	struct conn *c = tx->conn;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	conn_release(tx->st, c);
}

static int sq_commit(billing_txn *tx)
{
	struct conn *c = tx->conn;
	int rc = exec_sql(c, "COMMIT");
	if (rc < 0) {
		sq_rollback(tx);
		return rc;
	}
	conn_release(tx->st, c);
	return BILLING_OK;
}

/* ------------------------------------------------------------ migrations */

static const char migrations_table[] =
	"CREATE TABLE IF NOT EXISTS billing_migrations ("
	" version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/* Counts pending steps, checking the checksum of each applied one.
 * The connection must be inside a transaction. */
static int check_applied(struct conn *c, int *pending)
{
	size_t n, i;
	const billing__migration *m = billing__migrations(&n);
	sqlite3_stmt *s;
	int rc, applied = 0;

	rc = stmt_get(&s, c, "SELECT version, checksum FROM billing_migrations ORDER BY version");
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int v = sqlite3_column_int(s, 0);
		const char *sum = col_text(s, 1);
		char want[65];
		for (i = 0; i < n && m[i].version != v; i++)
			;
		if (i == n) {
			stmt_done(s);
			return billing__error_set(BILLING_ESTORAGE, "schema_too_new",
				"database has migration %d, which this library does not know; "
				"upgrade the library", v);
		}
		if (billing__migration_checksum(want, &m[i]) < 0 || !sum || strcmp(want, sum) != 0) {
			stmt_done(s);
			return billing__error_set(BILLING_ESTORAGE, "migration_checksum",
				"applied migration %d (%s) differs from the library's copy",
				v, m[i].name);
		}
		applied++;
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(c->db, rc, 0);
		stmt_done(s);
		return rc;
	}
	stmt_done(s);
	*pending = (int)n - applied;
	return BILLING_OK;
}

static int sq_schema_status(billing_storage *base, int *pending)
{
	struct sqlite_storage *st = (struct sqlite_storage *)base;
	struct conn *c;
	sqlite3_stmt *s;
	int rc, exists;
	size_t n;

	billing__migrations(&n);
	if ((rc = conn_acquire(&c, st)) < 0)
		return rc;
	if ((rc = exec_sql(c, "BEGIN")) < 0)
		goto out;
	rc = stmt_get(&s, c, "SELECT count(*) FROM sqlite_master "
		"WHERE type = 'table' AND name = 'billing_migrations'");
	if (rc < 0)
		goto rollback;
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = db_fail(c->db, SQLITE_ERROR, 0);
		stmt_done(s);
		goto rollback;
	}
	exists = sqlite3_column_int(s, 0);
	stmt_done(s);
	if (!exists)
		*pending = (int)n;
	else
		rc = check_applied(c, pending);
rollback:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
out:
	conn_release(st, c);
	return rc;
}

static int sq_migrate(billing_storage *base, int *applied_out, int64_t now)
{
	struct sqlite_storage *st = (struct sqlite_storage *)base;
	const billing__migration *m;
	struct conn *c;
	size_t n, i;
	int rc, pending = 0, applied = 0;

	m = billing__migrations(&n);
	if ((rc = conn_acquire(&c, st)) < 0)
		return rc;
	/* BEGIN IMMEDIATE takes the database's write lock: a second process
	 * migrating at the same time waits, then finds nothing pending. */
	if ((rc = exec_sql(c, "BEGIN IMMEDIATE")) < 0)
		goto out;
	if ((rc = exec_sql(c, migrations_table)) < 0 || (rc = check_applied(c, &pending)) < 0)
		goto rollback;
	for (i = n - (size_t)pending; i < n; i++) {
		char sum[65];
		sqlite3_stmt *s;
		char *err = NULL;

		if (sqlite3_exec(c->db, m[i].sql, NULL, NULL, &err) != SQLITE_OK) {
			rc = billing__error_set(BILLING_ESTORAGE, "migration_failed",
				"migration %d failed: %s", m[i].version, err ? err : "?");
			sqlite3_free(err);
			goto rollback;
		}
		if (billing__migration_checksum(sum, &m[i]) < 0) {
			rc = billing__error_set(BILLING_ERROR, NULL, "cannot checksum migration");
			goto rollback;
		}
		if ((rc = stmt_get(&s, c, "INSERT INTO billing_migrations "
				"(version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)")) < 0)
			goto rollback;
		sqlite3_bind_int(s, 1, m[i].version);
		bind_text(s, 2, m[i].name);
		bind_text(s, 3, sum);
		bind_i64(s, 4, now);
		if ((rc = exec_stmt(c, s, 0, NULL)) < 0)
			goto rollback;
		applied++;
	}
	if ((rc = exec_sql(c, "COMMIT")) < 0)
		goto rollback;
	*applied_out = applied;
	goto out;
rollback:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
out:
	conn_release(st, c);
	return rc;
}

/* ------------------------------------------------------------ meta */

static int sq_meta_get(billing_txn *tx, const char *key, char *buf, size_t size)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "SELECT meta_value FROM billing_meta WHERE meta_key = ?1");
	if (rc < 0)
		return rc;
	bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		snprintf(buf, size, "%s", col_text(s, 0));
		rc = BILLING_OK;
	} else if (rc == SQLITE_DONE) {
		rc = BILLING_ENOTFOUND;
	} else {
		rc = db_fail(tx->conn->db, rc, 0);
	}
	stmt_done(s);
	return rc;
}

static int sq_meta_put(billing_txn *tx, const char *key, const char *value)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn,
		"INSERT INTO billing_meta (meta_key, meta_value) VALUES (?1, ?2) "
		"ON CONFLICT (meta_key) DO NOTHING");
	if (rc < 0)
		return rc;
	bind_text(s, 1, key);
	bind_text(s, 2, value);
	return exec_stmt(tx->conn, s, 0, NULL);
}

/* ------------------------------------------------------------ rows */

/* Steps s and hands each row, read by reader into a record, to cb.
 * want_one: ENOTFOUND when there is no row. */
typedef void (*row_reader)(sqlite3_stmt *s, void *record);

static int emit_rows(struct conn *c, sqlite3_stmt *s, row_reader reader, void *record,
	billing_row_cb cb, void *payload, int want_one)
{
	int rc, rows = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int cbrc;
		reader(s, record);
		rows++;
		if ((cbrc = cb(payload, record)) != 0) {
			stmt_done(s);
			return cbrc < 0 ? cbrc : BILLING_OK;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(c->db, rc, 0);
		stmt_done(s);
		return rc;
	}
	stmt_done(s);
	if (want_one && rows == 0)
		return BILLING_ENOTFOUND;
	return BILLING_OK;
}

#define TENANT_COLS "tenant_id, name, invoice_prefix, created_at, updated_at, version"

static void read_tenant(sqlite3_stmt *s, void *record)
{
	billing_tenant_record *r = record;
	r->id = col_text(s, 0);
	r->name = col_text(s, 1);
	r->invoice_prefix = col_text(s, 2);
	r->created_at = sqlite3_column_int64(s, 3);
	r->updated_at = sqlite3_column_int64(s, 4);
	r->version = sqlite3_column_int64(s, 5);
}

#define CUSTOMER_COLS "tenant_id, id, name, email, email_key, default_payment_method, " \
	"metadata, created_at, updated_at, version"

static void read_customer(sqlite3_stmt *s, void *record)
{
	billing_customer_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->name = col_text(s, 2);
	r->email = col_text(s, 3);
	r->email_key = col_text(s, 4);
	r->default_payment_method = col_text(s, 5);
	r->metadata_json = col_text(s, 6);
	r->created_at = sqlite3_column_int64(s, 7);
	r->updated_at = sqlite3_column_int64(s, 8);
	r->version = sqlite3_column_int64(s, 9);
}

#define PRODUCT_COLS "tenant_id, id, name, sku, description, price_cents, currency, " \
	"tax_rate_bp, is_active, stock, low_stock_threshold, metadata, created_at, " \
	"updated_at, version"

static void read_product(sqlite3_stmt *s, void *record)
{
	billing_product_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->name = col_text(s, 2);
	r->sku = col_text(s, 3);
	r->description = col_text(s, 4);
	r->price_cents = sqlite3_column_int64(s, 5);
	r->currency = col_text(s, 6);
	r->tax_rate_bp = sqlite3_column_int(s, 7);
	r->is_active = sqlite3_column_int(s, 8);
	r->stock = sqlite3_column_int64(s, 9);
	r->low_stock_threshold = sqlite3_column_int64(s, 10);
	r->metadata_json = col_text(s, 11);
	r->created_at = sqlite3_column_int64(s, 12);
	r->updated_at = sqlite3_column_int64(s, 13);
	r->version = sqlite3_column_int64(s, 14);
}

#define PLAN_COLS "tenant_id, id, product_id, code, name, description, amount, currency, " \
	"billing_interval, interval_count, trial_days, term_count, active, deleted_at, " \
	"metadata, created_at, updated_at, version"

static void read_plan(sqlite3_stmt *s, void *record)
{
	billing_plan_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->product_id = col_text(s, 2);
	r->code = col_text(s, 3);
	r->name = col_text(s, 4);
	r->description = col_text(s, 5);
	r->amount = sqlite3_column_int64(s, 6);
	r->currency = col_text(s, 7);
	r->interval = sqlite3_column_int(s, 8);
	r->interval_count = sqlite3_column_int(s, 9);
	r->trial_days = sqlite3_column_int(s, 10);
	r->term_count = sqlite3_column_int(s, 11);
	r->active = sqlite3_column_int(s, 12);
	r->deleted_at = sqlite3_column_int64(s, 13);
	r->metadata_json = col_text(s, 14);
	r->created_at = sqlite3_column_int64(s, 15);
	r->updated_at = sqlite3_column_int64(s, 16);
	r->version = sqlite3_column_int64(s, 17);
}

static void read_idempotency(sqlite3_stmt *s, void *record)
{
	billing_idempotency_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->key = col_text(s, 1);
	r->operation = col_text(s, 2);
	r->request_hash = col_text(s, 3);
	r->resource_id = col_text(s, 4);
	r->created_at = sqlite3_column_int64(s, 5);
}

/* ------------------------------------------------------------ lists */

/* What differs between the entities' list queries. */
struct list_shape {
	const char *table;
	const char *columns;
	const char *id_col;          /* the id column (tenants: tenant_id) */
	int tenant_scoped;
	const char *search[2];       /* columns the search matches */
	const char *extra_where;     /* always applied, or NULL */
	row_reader reader;
};

static const char *sort_column(billing_sort_column sort, int *is_text)
{
	*is_text = 1;
	switch (sort) {
	case BILLING_SORT_NAME: return "name";
	case BILLING_SORT_EMAIL: return "email_key";
	case BILLING_SORT_SKU: return "sku";
	case BILLING_SORT_CODE: return "code";
	case BILLING_SORT_PRICE: *is_text = 0; return "price_cents";
	case BILLING_SORT_AMOUNT: *is_text = 0; return "amount";
	case BILLING_SORT_CREATED:
	default: *is_text = 0; return "created_at";
	}
}

/* Bound values of a dynamic query, numbered ?1.. in order of appending. */
struct binds {
	int n;
	struct { int is_text; const char *text; int64_t i; } v[16];
};

static int bind_add_text(struct binds *b, const char *t)
{
	b->v[b->n].is_text = 1;
	b->v[b->n].text = t;
	return ++b->n;
}

static int bind_add_int(struct binds *b, int64_t i)
{
	b->v[b->n].is_text = 0;
	b->v[b->n].i = i;
	return ++b->n;
}

static void binds_apply(sqlite3_stmt *s, const struct binds *b)
{
	int i;
	for (i = 0; i < b->n; i++) {
		if (b->v[i].is_text)
			bind_text(s, i + 1, b->v[i].text);
		else
			bind_i64(s, i + 1, b->v[i].i);
	}
}

/* Appends to a fixed buffer; the query shapes are bounded, so overflow
 * is a programming error reported as such. */
struct sqlbuf {
	char s[SQL_MAX];
	size_t len;
	int overflow;
};

static void sql_add(struct sqlbuf *q, const char *fmt, ...) BILLING__PRINTF(2, 3);

static void sql_add(struct sqlbuf *q, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (q->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(q->s + q->len, sizeof(q->s) - q->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(q->s) - q->len)
		q->overflow = 1;
	else
		q->len += (size_t)n;
}

/* The WHERE clause shared by the page query and the count query; returns
 * whether it wrote one. */
static int where_filters(struct sqlbuf *q, struct binds *b, const struct list_shape *sh,
	const char *tenant_id, const billing_list_query *lq, char *pattern, size_t patsize)
{
	const char *sep = " WHERE ";
	if (sh->tenant_scoped) {
		sql_add(q, "%stenant_id = ?%d", sep, bind_add_text(b, tenant_id));
		sep = " AND ";
	}
	if (sh->extra_where) {
		sql_add(q, "%s%s", sep, sh->extra_where);
		sep = " AND ";
	}
	if (lq->search && *lq->search) {
		/* LIKE with the wildcards of the search text escaped; SQLite's LIKE
		 * folds ASCII case. */
		size_t j = 0;
		const char *p;
		int n;
		pattern[j++] = '%';
		for (p = lq->search; *p && j + 3 < patsize; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				pattern[j++] = '\\';
			pattern[j++] = *p;
		}
		pattern[j++] = '%';
		pattern[j] = '\0';
		n = bind_add_text(b, pattern);
		if (sh->search[1])
			sql_add(q, "%s(%s LIKE ?%d ESCAPE '\\' OR %s LIKE ?%d ESCAPE '\\')",
				sep, sh->search[0], n, sh->search[1], n);
		else
			sql_add(q, "%s%s LIKE ?%d ESCAPE '\\'", sep, sh->search[0], n);
		sep = " AND ";
	}
	if (lq->active == 1 || lq->active == 2) {
		const char *col = strcmp(sh->table, "products") == 0 ? "is_active" : "active";
		sql_add(q, "%s%s = %d", sep, col, lq->active == 1 ? 1 : 0);
		sep = " AND ";
	}
	if (lq->has_min_amount || lq->has_max_amount) {
		const char *col = strcmp(sh->table, "products") == 0 ? "price_cents" : "amount";
		if (lq->has_min_amount) {
			sql_add(q, "%s%s >= ?%d", sep, col, bind_add_int(b, lq->min_amount));
			sep = " AND ";
		}
		if (lq->has_max_amount) {
			sql_add(q, "%s%s <= ?%d", sep, col, bind_add_int(b, lq->max_amount));
			sep = " AND ";
		}
	}
	if (lq->currency) {
		sql_add(q, "%scurrency = ?%d", sep, bind_add_text(b, lq->currency));
		sep = " AND ";
	}
	if (lq->product_id) {
		sql_add(q, "%sproduct_id = ?%d", sep, bind_add_text(b, lq->product_id));
		sep = " AND ";
	}
	return sep[1] == 'A';
}

static int run_list(billing_txn *tx, const struct list_shape *sh, const char *tenant_id,
	const billing_list_query *lq, billing_row_cb cb, void *payload)
{
	struct sqlbuf q = { .len = 0 };
	struct binds b = { .n = 0 };
	char pattern[512];
	const char *col, *dir = lq->descending ? "DESC" : "ASC";
	sqlite3_stmt *s;
	int is_text, rc, has_where;
	union {
		billing_tenant_record t;
		billing_customer_record c;
		billing_product_record p;
		billing_plan_record pl;
	} record;

	col = sort_column(lq->sort, &is_text);

	if (lq->total) {
		struct sqlbuf cq = { .len = 0 };
		struct binds cb_ = { .n = 0 };
		sql_add(&cq, "SELECT count(*) FROM %s", sh->table);
		where_filters(&cq, &cb_, sh, tenant_id, lq, pattern, sizeof(pattern));
		if (cq.overflow)
			return billing__error_set(BILLING_ERROR, NULL, "list query too long");
		if ((rc = stmt_get(&s, tx->conn, cq.s)) < 0)
			return rc;
		binds_apply(s, &cb_);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			rc = db_fail(tx->conn->db, rc, 0);
			stmt_done(s);
			return rc;
		}
		*lq->total = sqlite3_column_int64(s, 0);
		stmt_done(s);
	}

	sql_add(&q, "SELECT %s FROM %s", sh->columns, sh->table);
	has_where = where_filters(&q, &b, sh, tenant_id, lq, pattern, sizeof(pattern));
	if (lq->offset < 0 && lq->has_after) {
		/* Keyset: strictly after the last row, in sort order. Row values
		 * use the (tenant_id, col, id) indexes. */
		int vi = is_text ? bind_add_text(&b, lq->after_text) : bind_add_int(&b, lq->after_int);
		int ii = bind_add_text(&b, lq->after_id);
		sql_add(&q, "%s(%s, %s) %s (?%d, ?%d)", has_where ? " AND " : " WHERE ",
			col, sh->id_col, lq->descending ? "<" : ">", vi, ii);
	}
	sql_add(&q, " ORDER BY %s %s, %s %s LIMIT ?%d", col, dir, sh->id_col, dir,
		bind_add_int(&b, lq->limit));
	if (lq->offset >= 0)
		sql_add(&q, " OFFSET ?%d", bind_add_int(&b, lq->offset));
	if (q.overflow)
		return billing__error_set(BILLING_ERROR, NULL, "list query too long");

	if ((rc = stmt_get(&s, tx->conn, q.s)) < 0)
		return rc;
	binds_apply(s, &b);
	memset(&record, 0, sizeof(record));
	return emit_rows(tx->conn, s, sh->reader, &record, cb, payload, 0);
}

static const struct list_shape tenant_shape = {
	"tenants", TENANT_COLS, "tenant_id", 0, { "name", NULL }, NULL,
	read_tenant
};
static const struct list_shape customer_shape = {
	"customers", CUSTOMER_COLS, "id", 1, { "name", "email" }, NULL,
	read_customer
};
static const struct list_shape product_shape = {
	"products", PRODUCT_COLS, "id", 1, { "name", "sku" }, NULL,
	read_product
};
static const struct list_shape plan_shape = {
	"plans", PLAN_COLS, "id", 1, { "name", "code" }, "deleted_at IS NULL",
	read_plan
};

/* ------------------------------------------------------------ tenants */

static int sq_tenant_insert(billing_txn *tx, const billing_tenant_record *r)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "INSERT INTO tenants (" TENANT_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->id);
	bind_text(s, 2, r->name);
	bind_text(s, 3, r->invoice_prefix);
	bind_i64(s, 4, r->created_at);
	bind_i64(s, 5, r->updated_at);
	bind_i64(s, 6, r->version);
	return exec_stmt(tx->conn, s, BILLING_EINVALID, NULL);
}

static int sq_tenant_get(billing_txn *tx, const char *tenant_id, billing_row_cb cb, void *payload)
{
	billing_tenant_record r;
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "SELECT " TENANT_COLS " FROM tenants WHERE tenant_id = ?1");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	return emit_rows(tx->conn, s, read_tenant, &r, cb, payload, 1);
}

static int sq_tenant_list(billing_txn *tx, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &tenant_shape, NULL, q, cb, payload);
}

/* ------------------------------------------------------------ customers */

static void bind_customer(sqlite3_stmt *s, const billing_customer_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->name);
	bind_text(s, 4, r->email);
	bind_text(s, 5, r->email_key);
	bind_text(s, 6, r->default_payment_method);
	bind_text(s, 7, r->metadata_json);
	bind_i64(s, 8, r->created_at);
	bind_i64(s, 9, r->updated_at);
	bind_i64(s, 10, r->version);
}

static int sq_customer_insert(billing_txn *tx, const billing_customer_record *r)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "INSERT INTO customers (" CUSTOMER_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
	if (rc < 0)
		return rc;
	bind_customer(s, r);
	return exec_stmt(tx->conn, s, BILLING_EINVALID, NULL);
}

static int sq_customer_update(billing_txn *tx, const billing_customer_record *r,
	int64_t old_version)
{
	sqlite3_stmt *s;
	int rc, changes = 0;
	rc = stmt_get(&s, tx->conn, "UPDATE customers SET name = ?3, email = ?4, email_key = ?5, "
		"default_payment_method = ?6, metadata = ?7, updated_at = ?9, version = ?10 "
		"WHERE tenant_id = ?1 AND id = ?2 AND version = ?11 AND created_at = ?8");
	if (rc < 0)
		return rc;
	bind_customer(s, r);
	bind_i64(s, 11, old_version);
	if ((rc = exec_stmt(tx->conn, s, BILLING_EINVALID, &changes)) < 0)
		return rc;
	return changes == 1 ? BILLING_OK : billing__error_set(BILLING_ESTALE, "stale_version",
		"the customer changed since it was read");
}

static int sq_customer_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_customer_record r;
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "SELECT " CUSTOMER_COLS " FROM customers "
		"WHERE tenant_id = ?1 AND id = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, id);
	return emit_rows(tx->conn, s, read_customer, &r, cb, payload, 1);
}

static int delete_row(billing_txn *tx, const char *sql, const char *tenant_id, const char *id)
{
	sqlite3_stmt *s;
	int rc, changes = 0;
	if ((rc = stmt_get(&s, tx->conn, sql)) < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, id);
	if ((rc = exec_stmt(tx->conn, s, BILLING_ECONFLICT, &changes)) < 0)
		return rc;
	return changes == 1 ? BILLING_OK : BILLING_ENOTFOUND;
}

static int sq_customer_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return delete_row(tx, "DELETE FROM customers WHERE tenant_id = ?1 AND id = ?2",
		tenant_id, id);
}

static int sq_customer_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &customer_shape, tenant_id, q, cb, payload);
}

/* ------------------------------------------------------------ products */

static void bind_product(sqlite3_stmt *s, const billing_product_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->name);
	bind_text(s, 4, r->sku);
	bind_text(s, 5, r->description);
	bind_i64(s, 6, r->price_cents);
	bind_text(s, 7, r->currency);
	bind_i64(s, 8, r->tax_rate_bp);
	bind_i64(s, 9, r->is_active ? 1 : 0);
	bind_i64(s, 10, r->stock);
	bind_i64(s, 11, r->low_stock_threshold);
	bind_text(s, 12, r->metadata_json);
	bind_i64(s, 13, r->created_at);
	bind_i64(s, 14, r->updated_at);
	bind_i64(s, 15, r->version);
}

static int sq_product_insert(billing_txn *tx, const billing_product_record *r)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "INSERT INTO products (" PRODUCT_COLS ") VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
	if (rc < 0)
		return rc;
	bind_product(s, r);
	return exec_stmt(tx->conn, s, BILLING_EINVALID, NULL);
}

static int sq_product_update(billing_txn *tx, const billing_product_record *r,
	int64_t old_version)
{
	sqlite3_stmt *s;
	int rc, changes = 0;
	rc = stmt_get(&s, tx->conn, "UPDATE products SET name = ?3, sku = ?4, description = ?5, "
		"price_cents = ?6, currency = ?7, tax_rate_bp = ?8, is_active = ?9, stock = ?10, "
		"low_stock_threshold = ?11, metadata = ?12, updated_at = ?14, version = ?15 "
		"WHERE tenant_id = ?1 AND id = ?2 AND version = ?16 AND created_at = ?13");
	if (rc < 0)
		return rc;
	bind_product(s, r);
	bind_i64(s, 16, old_version);
	if ((rc = exec_stmt(tx->conn, s, BILLING_EINVALID, &changes)) < 0)
		return rc;
	return changes == 1 ? BILLING_OK : billing__error_set(BILLING_ESTALE, "stale_version",
		"the product changed since it was read");
}

static int sq_product_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_product_record r;
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "SELECT " PRODUCT_COLS " FROM products "
		"WHERE tenant_id = ?1 AND id = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, id);
	return emit_rows(tx->conn, s, read_product, &r, cb, payload, 1);
}

static int sq_product_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return delete_row(tx, "DELETE FROM products WHERE tenant_id = ?1 AND id = ?2",
		tenant_id, id);
}

static int sq_product_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &product_shape, tenant_id, q, cb, payload);
}

static int sq_product_plan_count(billing_txn *tx, const char *tenant_id, const char *product_id,
	int64_t *count)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "SELECT count(*) FROM plans "
		"WHERE tenant_id = ?1 AND product_id = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, product_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = db_fail(tx->conn->db, rc, 0);
		stmt_done(s);
		return rc;
	}
	*count = sqlite3_column_int64(s, 0);
	stmt_done(s);
	return BILLING_OK;
}

/* ------------------------------------------------------------ plans */

static void bind_plan(sqlite3_stmt *s, const billing_plan_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->product_id);
	bind_text(s, 4, r->code);
	bind_text(s, 5, r->name);
	bind_text(s, 6, r->description);
	bind_i64(s, 7, r->amount);
	bind_text(s, 8, r->currency);
	bind_i64(s, 9, r->interval);
	bind_i64(s, 10, r->interval_count);
	bind_i64(s, 11, r->trial_days);
	bind_i64_or_null(s, 12, r->term_count);
	bind_i64(s, 13, r->active ? 1 : 0);
	bind_i64_or_null(s, 14, r->deleted_at);
	bind_text(s, 15, r->metadata_json);
	bind_i64(s, 16, r->created_at);
	bind_i64(s, 17, r->updated_at);
	bind_i64(s, 18, r->version);
}

static int sq_plan_insert(billing_txn *tx, const billing_plan_record *r)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "INSERT INTO plans (" PLAN_COLS ") VALUES (?1, ?2, ?3, "
		"?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
	if (rc < 0)
		return rc;
	bind_plan(s, r);
	return exec_stmt(tx->conn, s, BILLING_EINVALID, NULL);
}

static int sq_plan_update(billing_txn *tx, const billing_plan_record *r, int64_t old_version)
{
	sqlite3_stmt *s;
	int rc, changes = 0;
	/* Product, code, currency, interval and term are fixed at creation:
	 * the statement cannot change them. */
	rc = stmt_get(&s, tx->conn, "UPDATE plans SET name = ?5, description = ?6, amount = ?7, "
		"trial_days = ?11, active = ?13, deleted_at = ?14, metadata = ?15, updated_at = ?17, "
		"version = ?18 WHERE tenant_id = ?1 AND id = ?2 AND version = ?19 "
		"AND product_id = ?3 AND code = ?4 AND currency = ?8 AND billing_interval = ?9 "
		"AND interval_count = ?10 AND term_count IS ?12 AND created_at = ?16");
	if (rc < 0)
		return rc;
	bind_plan(s, r);
	bind_i64(s, 19, old_version);
	if ((rc = exec_stmt(tx->conn, s, BILLING_EINVALID, &changes)) < 0)
		return rc;
	return changes == 1 ? BILLING_OK : billing__error_set(BILLING_ESTALE, "stale_version",
		"the plan changed since it was read");
}

static int sq_plan_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_plan_record r;
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "SELECT " PLAN_COLS " FROM plans "
		"WHERE tenant_id = ?1 AND id = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, id);
	return emit_rows(tx->conn, s, read_plan, &r, cb, payload, 1);
}

static int sq_plan_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &plan_shape, tenant_id, q, cb, payload);
}

/* ------------------------------------------------------------ idempotency */

static int sq_idempotency_get(billing_txn *tx, const char *tenant_id, const char *key,
	billing_row_cb cb, void *payload)
{
	billing_idempotency_record r;
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "SELECT tenant_id, idem_key, operation, request_hash, "
		"resource_id, created_at FROM idempotency_keys WHERE tenant_id = ?1 AND idem_key = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, key);
	return emit_rows(tx->conn, s, read_idempotency, &r, cb, payload, 1);
}

static int sq_idempotency_insert(billing_txn *tx, const billing_idempotency_record *r)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "INSERT INTO idempotency_keys (tenant_id, idem_key, "
		"operation, request_hash, resource_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->key);
	bind_text(s, 3, r->operation);
	bind_text(s, 4, r->request_hash);
	bind_text(s, 5, r->resource_id);
	bind_i64(s, 6, r->created_at);
	return exec_stmt(tx->conn, s, BILLING_EINVALID, NULL);
}

/* ------------------------------------------------------------ users */

#define USER_COLS "tenant_id, id, email, email_key, role, password_hash, created_at, " \
	"updated_at, version"

static void read_user(sqlite3_stmt *s, void *record)
{
	billing_user_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->email = col_text(s, 2);
	r->email_key = col_text(s, 3);
	r->role = sqlite3_column_int(s, 4);
	r->password_hash = col_text(s, 5);
	r->created_at = sqlite3_column_int64(s, 6);
	r->updated_at = sqlite3_column_int64(s, 7);
	r->version = sqlite3_column_int64(s, 8);
}

static int sq_user_insert(billing_txn *tx, const billing_user_record *r)
{
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "INSERT INTO users (" USER_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->email);
	bind_text(s, 4, r->email_key);
	bind_i64(s, 5, r->role);
	bind_text(s, 6, r->password_hash);
	bind_i64(s, 7, r->created_at);
	bind_i64(s, 8, r->updated_at);
	bind_i64(s, 9, r->version);
	return exec_stmt(tx->conn, s, BILLING_EINVALID, NULL);
}

static int sq_user_get_by_email(billing_txn *tx, const char *email_key,
	billing_row_cb cb, void *payload)
{
	billing_user_record r;
	sqlite3_stmt *s;
	int rc = stmt_get(&s, tx->conn, "SELECT " USER_COLS " FROM users WHERE email_key = ?1");
	if (rc < 0)
		return rc;
	bind_text(s, 1, email_key);
	return emit_rows(tx->conn, s, read_user, &r, cb, payload, 1);
}

/* ------------------------------------------------------------ lifecycle */

static void sq_free(billing_storage *base)
{
	struct sqlite_storage *st = (struct sqlite_storage *)base;
	struct conn *c, *next;
	if (!st)
		return;
	for (c = st->idle; c; c = next) {
		next = c->next;
		conn_close(c);
	}
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->cv);
	billing__free(st->path);
	billing__free(st);
}

void billing_storage_free(billing_storage *storage)
{
	if (storage && storage->free)
		storage->free(storage);
}

int billing_sqlite_storage_new(billing_storage **out, const char *path,
	const billing_sqlite_options *opts)
{
	struct sqlite_storage *st;
	struct conn *c;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(path, "path");
	if (!*path)
		return billing__error_field(BILLING_EINVALID, "invalid", "path",
			"path must not be empty");
	if (opts && (opts->version == 0 || opts->version > BILLING_SQLITE_OPTIONS_VERSION))
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_sqlite_options version %u", opts->version);

	if ((st = billing__calloc(1, sizeof(*st))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((st->path = billing__strdup(path)) == NULL) {
		billing__free(st);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	st->max_conns = opts && opts->max_connections ? opts->max_connections : 8;
	st->busy_ms = opts && opts->busy_timeout_ms ? opts->busy_timeout_ms : 5000;
	/* Every connection to ":memory:" is a database of its own. */
	if (strcmp(path, ":memory:") == 0)
		st->max_conns = 1;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);

	st->base.version = BILLING_STORAGE_VERSION;
	st->base.name = "sqlite";
	st->base.free = sq_free;
	st->base.schema_status = sq_schema_status;
	st->base.migrate = sq_migrate;
	st->base.begin = sq_begin;
	st->base.commit = sq_commit;
	st->base.rollback = sq_rollback;
	st->base.meta_get = sq_meta_get;
	st->base.meta_put = sq_meta_put;
	st->base.tenant_insert = sq_tenant_insert;
	st->base.tenant_get = sq_tenant_get;
	st->base.tenant_list = sq_tenant_list;
	st->base.customer_insert = sq_customer_insert;
	st->base.customer_update = sq_customer_update;
	st->base.customer_get = sq_customer_get;
	st->base.customer_delete = sq_customer_delete;
	st->base.customer_list = sq_customer_list;
	st->base.product_insert = sq_product_insert;
	st->base.product_update = sq_product_update;
	st->base.product_get = sq_product_get;
	st->base.product_delete = sq_product_delete;
	st->base.product_list = sq_product_list;
	st->base.product_plan_count = sq_product_plan_count;
	st->base.plan_insert = sq_plan_insert;
	st->base.plan_update = sq_plan_update;
	st->base.plan_get = sq_plan_get;
	st->base.plan_list = sq_plan_list;
	st->base.idempotency_get = sq_idempotency_get;
	st->base.idempotency_insert = sq_idempotency_insert;
	st->base.user_insert = sq_user_insert;
	st->base.user_get_by_email = sq_user_get_by_email;

	/* Open the first connection now, so a bad path fails here, clearly. */
	if ((rc = conn_acquire(&c, st)) < 0) {
		sq_free(&st->base);
		return rc;
	}
	conn_release(st, c);
	*out = &st->base;
	return BILLING_OK;
}
