/*
 * The SQLite storage backend: connections, transactions and the driver the
 * shared SQL (storage/sql/records.c) runs on.
 *
 * Connections: a pool, one connection per concurrently calling thread up to
 * max_connections (a connection is used by one thread at a time, so SQLite
 * runs in its multi-thread mode without per-connection mutexes). Every
 * connection keeps its prepared statements in a small cache: literal SQL is
 * found by its address, built SQL by its text, so a hot call binds and
 * steps without parsing. At most one statement of a connection is in use
 * at a time (the shared code resets each before the next), which is what
 * lets a cache slot be reused.
 *
 * Durability: WAL with synchronous=FULL. Concurrency: the writers of a
 * process take turns and share their COMMITs (group commit, see "Writers"
 * below); a group's transaction begins IMMEDIATE, so writers of other
 * processes queue on the busy timeout instead of one failing when it
 * upgrades its read lock. Readers never wait for writers (WAL).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/errors.h"
#include "billing/sqlite.h"
#include "billing/sys/storage.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "storage/migrations.h"
#include "storage/pool.h"
#include "storage/sql/sql.h"
#include "storage/sqlite/sqlite_storage.h"

#define STMT_CACHE_SLOTS 64

struct sqlite_storage;

struct sq_stmt {
	sql_stmt base;              /* first: the shared code's handle */
	sqlite3_stmt *st;
	sqlite3 *db;
	const char *literal;        /* the SQL's address when it is a literal */
	uint64_t hash;              /* else the hash of its text */
};

struct conn {
	billing__pool_item item;    /* first: the pool's link */
	struct billing_txn tx;      /* the one transaction a connection runs */
	sqlite3 *db;
	struct sqlite_storage *st;
	struct sq_stmt cache[STMT_CACHE_SLOTS];
};

struct sqlite_storage {
	billing_storage base;
	char *path;
	unsigned int busy_ms;
	billing__pool pool;
	/* The writers of this process (see "Writers" below): the baton, the
	 * open group and its connection. The baton's holder alone uses
	 * wconn and changes group; wmu guards the rest. */
	pthread_mutex_t wmu;
	pthread_cond_t wcv;
	bool wbusy;
	struct conn *wconn;
	struct group *group;
	billing__sqlite_writer_stats stats;
};

static const sql_driver sqlite_driver;

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

/* ------------------------------------------------------------ driver */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static int drv_prepare(billing_txn *tx, const char *sql, bool dynamic, sql_stmt **out)
{
	struct conn *c = tx->conn;
	uint64_t h = dynamic ? fnv1a(sql) : (uint64_t)(uintptr_t)sql * 0x9e3779b97f4a7c15ull;
	size_t home = (size_t)(h >> 32) % STMT_CACHE_SLOTS, i;
	struct sq_stmt *slot = NULL;
	int rc;

	/* Open addressing over the whole cache. A statement still being
	 * stepped (a row callback runs another statement) is never the one
	 * finalized to make room: its caller steps it again afterwards. */
	for (i = 0; i < STMT_CACHE_SLOTS; i++) {
		struct sq_stmt *p = &c->cache[(home + i) % STMT_CACHE_SLOTS];
		if (p->st && (dynamic ? !p->literal && p->hash == h &&
				strcmp(sqlite3_sql(p->st), sql) == 0 : p->literal == sql)) {
			*out = &p->base;
			return BILLING_OK;
		}
		if ((!p->st || !sqlite3_stmt_busy(p->st)) && (!slot || (slot->st && !p->st)))
			slot = p;  /* the first free slot, else the first idle one */
	}
	if (!slot)
		return billing__error_set(BILLING_ERROR, NULL, "every cached statement is in use");
	if (slot->st) {
		sqlite3_finalize(slot->st);
		slot->st = NULL;
	}
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(c->db, rc, 0);
	slot->base.drv = &sqlite_driver;
	slot->db = c->db;
	slot->literal = dynamic ? NULL : sql;
	slot->hash = h;
	*out = &slot->base;
	return BILLING_OK;
}

static void drv_bind_text(sql_stmt *s, int i, const char *v)
{
	struct sq_stmt *q = (struct sq_stmt *)s;
	if (v)
		sqlite3_bind_text(q->st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q->st, i);
}

static void drv_bind_int(sql_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(((struct sq_stmt *)s)->st, i, v);
}

static void drv_bind_null(sql_stmt *s, int i)
{
	sqlite3_bind_null(((struct sq_stmt *)s)->st, i);
}

static int drv_step(sql_stmt *s, int fk_code)
{
	struct sq_stmt *q = (struct sq_stmt *)s;
	int rc = sqlite3_step(q->st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(q->db, rc, fk_code);
}

static const char *drv_col_text(sql_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(((struct sq_stmt *)s)->st, i);
}

static int64_t drv_col_int(sql_stmt *s, int i)
{
	return sqlite3_column_int64(((struct sq_stmt *)s)->st, i);
}

static int64_t drv_changes(sql_stmt *s)
{
	return sqlite3_changes(((struct sq_stmt *)s)->db);
}

static void drv_reset(sql_stmt *s)
{
	struct sq_stmt *q = (struct sq_stmt *)s;
	sqlite3_reset(q->st);
	sqlite3_clear_bindings(q->st);
}

static int drv_exec_script(billing_txn *tx, const char *sql)
{
	struct conn *c = tx->conn;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? BILLING_OK : db_fail(c->db, rc, 0);
}

/* SQLite has no row-level security: every key carries the tenant. */
static int drv_set_tenant(billing_txn *tx, const char *tenant_id)
{
	(void)tx;
	(void)tenant_id;
	return BILLING_OK;
}

static const sql_driver sqlite_driver = {
	"sqlite", "LIKE", false,
	drv_prepare, drv_bind_text, drv_bind_int, drv_bind_null, drv_step,
	drv_col_text, drv_col_int, drv_changes, drv_reset, drv_exec_script, drv_set_tenant,
	NULL /* defer: every statement runs when called */
};

/* A literal statement, prepared (cached) by the driver; NULL when it
 * cannot be, with the error set. */
static sql_stmt *literal_stmt(billing_txn *tx, const char *sql)
{
	sql_stmt *s = NULL;
	return drv_prepare(tx, sql, false, &s) < 0 ? NULL : s;
}

/* A literal statement that returns nothing (BEGIN, COMMIT). */
static int exec_sql(struct conn *c, const char *sql)
{
	sql_stmt *s = literal_stmt(&c->tx, sql);
	int rc;

	if (s == NULL)
		return billing_error_last()->code;
	rc = drv_step(s, 0);
	drv_reset(s);
	return rc < 0 ? rc : BILLING_OK;
}

/* ------------------------------------------------------------ pool */

static void conn_close(billing__pool_item *item)
{
	struct conn *c = (struct conn *)item;
	size_t i;
	if (!c)
		return;
	for (i = 0; i < STMT_CACHE_SLOTS; i++)
		if (c->cache[i].st)
			sqlite3_finalize(c->cache[i].st);
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

static int conn_open(void *backend, billing__pool_item **out)
{
	struct sqlite_storage *st = backend;
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
		conn_close(&c->item);
		return rc;
	}
	c->tx.drv = &sqlite_driver;
	c->tx.conn = c;
	c->st = st;
	*out = &c->item;
	return BILLING_OK;
}

static int conn_acquire(struct conn **out, struct sqlite_storage *st)
{
	billing__pool_item *it = NULL;
	int rc = billing__pool_acquire(&st->pool, &it);
	*out = (struct conn *)it;
	return rc;
}

static void conn_release(struct sqlite_storage *st, struct conn *c)
{
	billing__pool_release(&st->pool, &c->item, false);
}

/* ------------------------------------------------------------ writers */

/*
 * Writers: group commit. The write transactions of this process take turns
 * (a baton under st->wmu, not SQLite's busy handler, whose sleeps grow to
 * 100 ms) and share one SQLite transaction, the group's, on one pooled
 * connection. The first writer of a group begins it (BEGIN IMMEDIATE: other
 * processes still queue on the busy timeout); every call runs inside it in
 * a SAVEPOINT of its own. A call that fails rolls back to its savepoint:
 * its work goes, the group's stays. A call that succeeds releases its
 * savepoint and hands the baton to the next writer waiting, if any (and
 * the group is not full), else it COMMITs the group; either way its commit
 * returns only when the group's COMMIT has returned, with that COMMIT's
 * result. So a caller is told "done" only once its work is durable, a
 * crash before the COMMIT loses the whole group and no call of it was
 * reported, and one fsync serves every call that queued while the last
 * one was being made. A COMMIT that fails fails every call of the group.
 * An error that makes SQLite roll back the whole transaction (I/O, full
 * disk, out of memory) in one call takes the others' work with it: they
 * fail as "serialization_failure", which BILLING__RETRY runs again.
 * Readers use other connections of the pool and see committed groups only
 * (WAL), never waiting for the writer.
 */
#define GROUP_MAX 64

struct group {
	unsigned int members;   /* calls whose work is in the transaction */
	unsigned int refs;      /* the open transaction + members waiting */
	int done;
	int rc;                 /* the COMMIT's result, for every member */
	const char *reason;     /* static, as the error's reason is */
	char message[200];
};

static void group_unref(struct group *g)
{
	if (--g->refs == 0)
		billing__free(g);
}

/* Waits for the baton. */
static void writer_take(struct sqlite_storage *st)
{
	pthread_mutex_lock(&st->wmu);
	st->stats.waiting++;
	while (st->wbusy)
		pthread_cond_wait(&st->wcv, &st->wmu);
	st->stats.waiting--;
	st->wbusy = true;
	pthread_mutex_unlock(&st->wmu);
}

/* Ends the open transaction (the baton holder, wmu not held): COMMITs the
 * group's work, or rolls back a transaction without any; the group learns
 * the result and the connection goes back to the pool. */
static void group_end(struct sqlite_storage *st)
{
	struct conn *c = st->wconn;
	struct group *g = st->group;
	int rc = BILLING_OK;

	if (g->members > 0 && (rc = exec_sql(c, "COMMIT")) < 0) {
		const billing_error *e = billing_error_last();
		g->reason = e->reason;
		snprintf(g->message, sizeof(g->message), "%s", e->message);
	}
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	conn_release(st, c);
	pthread_mutex_lock(&st->wmu);
	if (g->members > 0 && rc == BILLING_OK)
		st->stats.commits++;
	if (g->rc == BILLING_OK)
		g->rc = rc;
	g->done = 1;
	st->wconn = NULL;
	st->group = NULL;
	group_unref(g);
	pthread_cond_broadcast(&st->wcv);
	pthread_mutex_unlock(&st->wmu);
}

/* Ends the holder's turn: hands the baton to a waiting writer while the
 * group has room, else ends the group first. */
static void writer_give(struct sqlite_storage *st)
{
	bool end;
	pthread_mutex_lock(&st->wmu);
	end = st->group && (st->stats.waiting == 0 || st->group->members >= GROUP_MAX);
	pthread_mutex_unlock(&st->wmu);
	if (end)
		group_end(st);
	pthread_mutex_lock(&st->wmu);
	st->wbusy = false;
	pthread_cond_broadcast(&st->wcv);
	pthread_mutex_unlock(&st->wmu);
}

/* The group's transaction is gone (SQLite rolled it back for an error in
 * the holder's call): its members learn it, and none of their work was
 * kept. The holder's own error stays the thread's. */
static void group_lost(struct sqlite_storage *st)
{
	struct group *g = st->group;
	pthread_mutex_lock(&st->wmu);
	g->members = 0;
	g->rc = BILLING_EBUSY;
	g->reason = "serialization_failure";
	snprintf(g->message, sizeof(g->message),
		"another call's failure rolled back the transaction this call's work was in");
	pthread_mutex_unlock(&st->wmu);
	group_end(st);
}

static int write_begin(struct sqlite_storage *st, billing_txn **out)
{
	struct group *g;
	int rc;

	writer_take(st);
	if (!st->group) {
		if ((g = billing__calloc(1, sizeof(*g))) == NULL) {
			writer_give(st);
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		}
		if ((rc = conn_acquire(&st->wconn, st)) < 0) {
			billing__free(g);
			writer_give(st);
			return rc;
		}
		if ((rc = exec_sql(st->wconn, "BEGIN IMMEDIATE")) < 0) {
			conn_release(st, st->wconn);
			st->wconn = NULL;
			billing__free(g);
			writer_give(st);
			return rc;
		}
		g->refs = 1;
		pthread_mutex_lock(&st->wmu);
		st->group = g;
		pthread_mutex_unlock(&st->wmu);
	}
	if ((rc = exec_sql(st->wconn, "SAVEPOINT billing_call")) < 0) {
		if (sqlite3_get_autocommit(st->wconn->db))
			group_lost(st);
		writer_give(st);
		return rc;
	}
	st->wconn->tx.kind = BILLING_TXN_WRITE;
	st->wconn->tx.endpoints_changed = false;
	*out = &st->wconn->tx;
	return BILLING_OK;
}

/* Takes back the holder's call: its savepoint, or (when SQLite has rolled
 * back the whole transaction) the group. */
static void write_rollback(struct sqlite_storage *st)
{
	struct conn *c = st->wconn;
	if (sqlite3_get_autocommit(c->db) ||
	    sqlite3_exec(c->db, "ROLLBACK TO billing_call; RELEASE billing_call",
		    NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_get_autocommit(c->db))
		group_lost(st);
	writer_give(st);
}

static int write_commit(struct sqlite_storage *st)
{
	struct group *g = st->group;
	int rc = exec_sql(st->wconn, "RELEASE billing_call");

	if (rc < 0) {
		write_rollback(st);
		return rc;
	}
	pthread_mutex_lock(&st->wmu);
	g->members++;
	g->refs++;
	pthread_mutex_unlock(&st->wmu);
	writer_give(st);

	pthread_mutex_lock(&st->wmu);
	while (!g->done)
		pthread_cond_wait(&st->wcv, &st->wmu);
	rc = g->rc;
	if (rc == BILLING_OK)
		st->stats.calls++;
	else
		billing__error_record(rc, g->reason, "%s", g->message);
	group_unref(g);
	pthread_mutex_unlock(&st->wmu);
	return rc;
}

/* ------------------------------------------------------------ transactions */

static int sq_begin(billing_storage *base, billing_txn **out, const char *tenant_id,
	unsigned int kind)
{
	struct sqlite_storage *st = (struct sqlite_storage *)base;
	struct conn *c;
	int rc;
	(void)tenant_id; /* SQLite has no row-level security: keys carry the tenant */

	if (kind == BILLING_TXN_WRITE)
		return write_begin(st, out);
	if ((rc = conn_acquire(&c, st)) < 0)
		return rc;
	/* A deferred BEGIN reads one snapshot (WAL) from its first statement
	 * to its end: BILLING_TXN_READ and BILLING_TXN_SNAPSHOT alike. */
	if ((rc = exec_sql(c, "BEGIN")) < 0) {
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
	if (tx->kind == BILLING_TXN_WRITE) {
		write_rollback(c->st);
		return;
	}
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	conn_release(c->st, c);
}

static int sq_commit(billing_txn *tx)
{
	struct conn *c = tx->conn;
	int rc;

	if (tx->kind == BILLING_TXN_WRITE)
		return write_commit(c->st);
	if ((rc = exec_sql(c, "COMMIT")) < 0) {
		sq_rollback(tx);
		return rc;
	}
	conn_release(c->st, c);
	return BILLING_OK;
}

void billing__sqlite_writer_stats_get(billing_storage *base, billing__sqlite_writer_stats *out)
{
	struct sqlite_storage *st = (struct sqlite_storage *)base;
	pthread_mutex_lock(&st->wmu);
	*out = st->stats;
	pthread_mutex_unlock(&st->wmu);
}

/* ------------------------------------------------------------ migrations */

static int sq_schema_status(billing_storage *base, int *pending)
{
	struct sqlite_storage *st = (struct sqlite_storage *)base;
	billing_txn *tx;
	sql_stmt *s;
	int rc;
	size_t n;

	billing__migrations(&n);
	if ((rc = sq_begin(base, &tx, NULL, BILLING_TXN_READ)) < 0)
		return rc;
	rc = drv_prepare(tx, "SELECT count(*) FROM sqlite_master "
		"WHERE type = 'table' AND name = 'billing_migrations'", false, &s);
	if (rc == BILLING_OK) {
		rc = drv_step(s, 0);
		if (rc == 1 && drv_col_int(s, 0) == 0) {
			*pending = (int)n;
			rc = BILLING_OK;
			drv_reset(s);
		} else if (rc == 1) {
			drv_reset(s);
			rc = billing__sql_schema_status(tx, pending);
		} else {
			drv_reset(s);
		}
	}
	(void)st;
	sq_rollback(tx);
	return rc < 0 ? rc : BILLING_OK;
}

/* PRAGMA foreign_key_check: BILLING_OK when it reports nothing. */
static int foreign_keys_hold(billing_txn *tx)
{
	sql_stmt *s = literal_stmt(tx, "PRAGMA foreign_key_check");
	int rc;

	if (s == NULL)
		return billing_error_last()->code;
	rc = drv_step(s, 0);
	drv_reset(s);
	if (rc == 1)
		return billing__error_set(BILLING_ESTORAGE, "migration_failed",
			"a migration left rows whose references do not hold");
	return rc;
}

static int sq_migrate(billing_storage *base, int *applied, int64_t now)
{
	struct sqlite_storage *st = (struct sqlite_storage *)base;
	struct conn *c;
	int rc;

	/* A step may rebuild a table (SQLite changes no constraint in place):
	 * foreign keys are off for the migration's transaction, as SQLite's
	 * documented procedure says, and checked before it commits. The pragma
	 * only takes effect outside a transaction. The migration holds this
	 * process's writer baton (a group still open is committed first), and
	 * BEGIN IMMEDIATE takes the database's write lock: a second process
	 * migrating at the same time waits, then finds nothing pending. */
	writer_take(st);
	if (st->group)
		group_end(st);
	if ((rc = conn_acquire(&c, st)) < 0) {
		writer_give(st);
		return rc;
	}
	c->tx.kind = BILLING_TXN_READ;
	if ((rc = exec_sql(c, "PRAGMA foreign_keys=OFF")) == BILLING_OK &&
	    (rc = exec_sql(c, "BEGIN IMMEDIATE")) == BILLING_OK) {
		if ((rc = billing__sql_migrate(&c->tx, now, applied)) == BILLING_OK &&
		    (rc = foreign_keys_hold(&c->tx)) == BILLING_OK)
			rc = exec_sql(c, "COMMIT");
		if (rc < 0 && !sqlite3_get_autocommit(c->db))
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	if (exec_sql(c, "PRAGMA foreign_keys=ON") < 0 && rc == BILLING_OK)
		rc = billing__error_set(BILLING_ESTORAGE, "storage", "cannot turn foreign keys on");
	conn_release(st, c);
	writer_give(st);
	return rc;
}

/* ------------------------------------------------------------ lifecycle */

static void sq_free(billing_storage *base)
{
	struct sqlite_storage *st = (struct sqlite_storage *)base;
	if (!st)
		return;
	billing__pool_destroy(&st->pool);
	pthread_mutex_destroy(&st->wmu);
	pthread_cond_destroy(&st->wcv);
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
	st->busy_ms = opts && opts->busy_timeout_ms ? opts->busy_timeout_ms : 5000;
	/* Every connection to ":memory:" is a database of its own: one only. */
	pthread_mutex_init(&st->wmu, NULL);
	pthread_cond_init(&st->wcv, NULL);
	billing__pool_init(&st->pool, strcmp(path, ":memory:") == 0 ? 1 :
		opts && opts->max_connections ? opts->max_connections : 8,
		conn_open, conn_close, st);

	st->base.version = BILLING_STORAGE_VERSION;
	st->base.name = "sqlite";
	st->base.free = sq_free;
	st->base.schema_status = sq_schema_status;
	st->base.migrate = sq_migrate;
	st->base.begin = sq_begin;
	st->base.commit = sq_commit;
	st->base.rollback = sq_rollback;
	billing__sql_install(&st->base);

	/* Open the first connection now, so a bad path fails here, clearly. */
	if ((rc = conn_acquire(&c, st)) < 0) {
		sq_free(&st->base);
		return rc;
	}
	conn_release(st, c);
	*out = &st->base;
	return BILLING_OK;
}
