/*
 * The PostgreSQL storage backend: connections, transactions, error mapping
 * and the driver the shared SQL (storage/sql/records.c) runs on.
 *
 * Statements are prepared once per connection (PQprepare) under a name of
 * their cache slot and run with PQexecPrepared, parameters and results in
 * text form. The shared SQL's ?N placeholders become $N here.
 *
 * Tenancy: every transaction starts with set_config('billing.tenant_id')
 * (or 'billing.platform' for platform work), local to the transaction,
 * sent with BEGIN in the same round trip as the transaction's first
 * statement (see "Round trips"); the schema's row-level security policies
 * act on it.
 *
 * Why one file of about a thousand lines: the driver, the pipeline queue
 * (statements sent ahead of the one that waits for an answer) and the
 * transaction control all read and change one connection's state (struct
 * conn: what is queued, what was sent, which fixed statements this
 * connection has prepared, the last invoice number its transaction took). Its rules hold
 * across those parts (a queued write fails the statement or COMMIT after
 * it; a rollback sends nothing queued), and keeping them in one file keeps
 * that state private to the code that keeps the rules.
 */
#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/errors.h"
#include "billing/postgres.h"
#include "billing/sys/storage.h"
#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"
#include "storage/migrations.h"
#include "storage/pool.h"
#include "storage/postgres/pg_storage.h"
#include "storage/sql/sql.h"

#define STMT_CACHE_SLOTS 64
#define PARAMS_MAX 64  /* an invoice update binds its columns and the FIXED ones it matches */
#define QUEUE_MAX 32
#define SQL_MAX 4096

/* Key of the advisory lock migrations hold (with the schema's hash). */
#define MIGRATION_LOCK_CLASS 0x62696c6c /* "bill" */

struct pg_storage;
struct conn;

struct pg_stmt {
	sql_stmt base;              /* first: the shared code's handle */
	struct conn *conn;
	const char *literal;        /* the SQL's address when it is a literal */
	char *text;                 /* else a copy of its text */
	uint64_t hash;
	char name[16];
	int nparams;
	const char *values[PARAMS_MAX];
	char ints[PARAMS_MAX][24];
	PGresult *res;
	int row;
	int nrows;
};

/* A statement queued on a connection: a text (a literal) or a prepared
 * statement, its parameters at offsets of the connection's arena (-1:
 * NULL), the fk_code its failure maps with. begin: part of the
 * transaction's BEGIN (nothing has run while only those are queued);
 * version: its answer is the tenant's endpoints version. */
struct queued {
	const char *text;
	char name[16];
	int nparams;
	int fk_code;
	bool begin;
	bool version;
	unsigned int prepare;       /* 1 << FIXED_*: that statement's PREPARE */
	ptrdiff_t off[PARAMS_MAX];
};

struct conn {
	billing__pool_item item;    /* first: the pool's link */
	struct billing_txn tx;
	PGconn *pg;
	struct pg_storage *st;
	unsigned int generation;    /* names prepared statements uniquely */
	/* Statements not sent yet: they go with the next one that waits for
	 * its answer (see "Round trips"). Parameters are copied into arena. */
	struct queued queue[QUEUE_MAX];
	int queued;
	char *arena;
	size_t arena_len, arena_cap;
	/* The tenant the transaction acts for (tenant_bound: a tenant's
	 * transaction, or after set_tenant) and its endpoints version, once
	 * read (ep_known; see pg_endpoints_version). */
	bool tenant_bound;
	bool ep_known;
	int64_t ep_version;
	char ep_tenant[64];
	/* The FIXED_* statements prepared on this connection (1 << each). */
	unsigned int fixed;
	struct pg_stmt cache[STMT_CACHE_SLOTS];
};

struct pg_storage {
	billing_storage base;
	char *conninfo;             /* secret: never logged */
	unsigned int statement_timeout_ms;
	billing__pool pool;
	uint64_t round_trips;       /* answers waited for (tests, benchmarks) */
	uint64_t statements;        /* statements sent, in a pipeline or not */
	/* The schema has webhook_endpoint_versions (a read of it succeeded):
	 * a tenant's write transaction then reads the version with its BEGIN. */
	bool versions;
	/* The months whose usage_events partition exists (sql/usage.c). */
	struct sql_usage_months months;
};

static const sql_driver pg_driver;

static int queue_flush(struct conn *c);
static int queue_push(struct conn *c, const char *text, const char *name, int nparams,
	const char *const *values, int fk_code, bool begin);
static int pipeline_run(struct conn *c, const struct pg_stmt *q, const char *text,
	PGresult **out);

/* The statements prepared once per connection (see "Round trips"). */
#define FIXED_BEGIN_TENANT 0
#define FIXED_SET_TENANT   1
#define FIXED_VERSION      2
static int fixed_push(struct conn *c, int k, const char *const *values, int nvalues,
	bool begin, struct queued **entry);


static void sent(struct conn *c);

/* Counts a wait for the server's answer r (returned); r set: the answer
 * of one statement sent on its own. */
static PGresult *round_trip(struct conn *c, PGresult *r)
{
	__atomic_add_fetch(&c->st->round_trips, 1, __ATOMIC_RELAXED);
	if (r)
		sent(c);
	return r;
}

/* Counts a statement sent to the server (c's), waited for or not. */
static void sent(struct conn *c)
{
	__atomic_add_fetch(&c->st->statements, 1, __ATOMIC_RELAXED);
}

uint64_t billing__pg_round_trips(billing_storage *base)
{
	return __atomic_load_n(&((struct pg_storage *)base)->round_trips, __ATOMIC_RELAXED);
}

uint64_t billing__pg_statements(billing_storage *base)
{
	return __atomic_load_n(&((struct pg_storage *)base)->statements, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ errors */

/* Unique constraints name the field they protect. A constraint the map
 * does not know is reported by its name (the generic record methods find
 * the field in it: "<table>_<column>_key"), a primary key as "id". */
static const char *constraint_field(const char *constraint)
{
	static const struct { const char *constraint, *field; } map[] = {
		{ "customers_email_key", "email" },
		{ "users_email_key", "email" },
		{ "products_sku_key", "sku" },
		{ "plans_code_key", "code" },
		{ "invoices_number_key", "number" },
		{ "idempotency_keys_pkey", "idempotencyKey" },
	};
	size_t i;
	for (i = 0; constraint && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].constraint, constraint) == 0)
			return map[i].field;
	if (!constraint || (strlen(constraint) > 5 &&
			strcmp(constraint + strlen(constraint) - 5, "_pkey") == 0))
		return "id";
	return constraint;
}

/* Maps a failed result (or a lost connection) to a billing status. The
 * message is the server's primary message only: details can quote row
 * values, and nothing here may quote the connection string. */
static int pg_fail(PGconn *pg, const PGresult *res, int fk_code)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (PQstatus(pg) != CONNECTION_OK)
		return billing__error_set(BILLING_ESTORAGE, "connection_lost",
			"postgres: the connection to the server was lost");
	if (!msg)
		msg = PQerrorMessage(pg);
	if (!state)
		return billing__error_set(BILLING_ESTORAGE, "storage", "postgres: %s", msg);
	if (strcmp(state, "23505") == 0) {
		const char *field = constraint_field(res ?
			PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL);
		return billing__error_field(BILLING_EEXISTS, "already_exists", field,
			"%s is already taken in this tenant", field);
	}
	if (strcmp(state, "23503") == 0) {
		if (fk_code == BILLING_ECONFLICT)
			return billing__error_set(BILLING_ECONFLICT, "referenced",
				"the resource is still referenced by other resources");
		return billing__error_set(BILLING_EINVALID, "resource_missing",
			"a referenced resource does not exist in this tenant");
	}
	if (strcmp(state, "40001") == 0)
		return billing__error_set(BILLING_EBUSY, "serialization_failure",
			"postgres: %s", msg);
	if (strcmp(state, "40P01") == 0)
		return billing__error_set(BILLING_EBUSY, "deadlock", "postgres: %s", msg);
	if (strcmp(state, "57014") == 0)
		return billing__error_set(BILLING_EBUSY, "statement_timeout", "postgres: %s", msg);
	if (strcmp(state, "55P03") == 0)
		return billing__error_set(BILLING_EBUSY, "busy", "postgres: %s", msg);
	return billing__error_set(BILLING_ESTORAGE, "storage", "postgres: %s (SQLSTATE %s)",
		msg, state);
}

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

/* ?N -> $N; returns the highest N, or -1 when it does not fit. */
static int to_dollars(char *out, size_t size, const char *sql)
{
	size_t j = 0;
	int max = 0;
	for (; *sql; sql++) {
		if (j + 1 >= size)
			return -1;
		if (*sql == '?' && sql[1] >= '0' && sql[1] <= '9') {
			int n = (int)strtol(sql + 1, NULL, 10);
			if (n > max)
				max = n;
			out[j++] = '$';
		} else {
			out[j++] = *sql;
		}
	}
	out[j] = '\0';
	return max;
}

static void stmt_forget(struct pg_stmt *q)
{
	char sql[48];
	PGresult *r;
	if (!q->name[0])
		return;
	if (q->conn->pg && PQstatus(q->conn->pg) == CONNECTION_OK) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", q->name);
		r = round_trip(q->conn, PQexec(q->conn->pg, sql));
		PQclear(r);
	}
	billing__free(q->text);
	q->text = NULL;
	q->literal = NULL;
	q->name[0] = '\0';
}

static int drv_prepare(billing_txn *tx, const char *sql, bool dynamic, sql_stmt **out)
{
	struct conn *c = tx->conn;
	uint64_t h = dynamic ? fnv1a(sql) : (uint64_t)(uintptr_t)sql * 0x9e3779b97f4a7c15ull;
	size_t home = (size_t)(h >> 32) % STMT_CACHE_SLOTS, i;
	struct pg_stmt *q = NULL;
	char text[SQL_MAX];
	PGresult *r;
	int n, rc;

	/* Open addressing over the whole cache. A statement whose rows are
	 * still being read (res set: a row callback runs another statement,
	 * as the webhook fan-out inserts a delivery per endpoint it reads) is
	 * never the one evicted: reusing its slot would run the new statement
	 * again, unbound, on the outer one's next step. */
	for (i = 0; i < STMT_CACHE_SLOTS; i++) {
		struct pg_stmt *p = &c->cache[(home + i) % STMT_CACHE_SLOTS];
		if (p->name[0] && (dynamic ? p->text && p->hash == h && strcmp(p->text, sql) == 0 :
				p->literal == sql)) {
			*out = &p->base;
			return BILLING_OK;
		}
		if (!p->res && (!q || (q->name[0] && !p->name[0])))
			q = p;  /* the first free slot, else the first idle one */
	}
	if (!q)
		return billing__error_set(BILLING_ERROR, NULL, "every cached statement is in use");
	/* A queued statement may be the one evicted: send the queue first. */
	if (q->name[0] && c->queued && (rc = queue_flush(c)) < 0)
		return rc;
	stmt_forget(q);
	if ((n = to_dollars(text, sizeof(text), sql)) < 0 || n > PARAMS_MAX)
		return billing__error_set(BILLING_ERROR, NULL, "statement too long or too many parameters");
	if (dynamic && (q->text = billing__strdup(sql)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	snprintf(q->name, sizeof(q->name), "b%u", ++c->generation);
	r = round_trip(c, PQprepare(c->pg, q->name, text, n, NULL));
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = pg_fail(c->pg, r, 0);
		PQclear(r);
		billing__free(q->text);
		q->text = NULL;
		q->name[0] = '\0';
		return rc;
	}
	PQclear(r);
	q->base.drv = &pg_driver;
	q->conn = c;
	q->literal = dynamic ? NULL : sql;
	q->hash = h;
	q->nparams = n;
	q->res = NULL;
	memset(q->values, 0, sizeof(q->values));
	*out = &q->base;
	return BILLING_OK;
}

static void drv_bind_text(sql_stmt *s, int i, const char *v)
{
	struct pg_stmt *q = (struct pg_stmt *)s;
	/* The shared code binds only the placeholders its statement has. */
	BILLING_ASSERT(i >= 1 && i <= q->nparams);
	if (i >= 1 && i <= PARAMS_MAX)
		q->values[i - 1] = v;
}

static void drv_bind_int(sql_stmt *s, int i, int64_t v)
{
	struct pg_stmt *q = (struct pg_stmt *)s;
	BILLING_ASSERT(i >= 1 && i <= q->nparams);
	if (i < 1 || i > PARAMS_MAX)
		return;
	snprintf(q->ints[i - 1], sizeof(q->ints[i - 1]), "%lld", (long long)v);
	q->values[i - 1] = q->ints[i - 1];
}

static void drv_bind_null(sql_stmt *s, int i)
{
	drv_bind_text(s, i, NULL);
}


/* Queues s (bound): it goes to the server with the next statement that
 * waits for its answer, or the COMMIT. Its failure is then the failure of
 * that statement (or of the COMMIT), mapped with fk_code. */
static int drv_defer(sql_stmt *s, int fk_code)
{
	struct pg_stmt *q = (struct pg_stmt *)s;
	return queue_push(q->conn, NULL, q->name, q->nparams, q->values, fk_code, false);
}

static int drv_step(sql_stmt *s, int fk_code)
{
	struct pg_stmt *q = (struct pg_stmt *)s;
	if (!q->res) {
		ExecStatusType st;
		int rc = pipeline_run(q->conn, q, NULL, &q->res);
		if (rc < 0)
			return rc;
		st = PQresultStatus(q->res);
		if (st == PGRES_TUPLES_OK) {
			q->nrows = PQntuples(q->res);
		} else if (st == PGRES_COMMAND_OK) {
			q->nrows = 0;
		} else {
			rc = pg_fail(q->conn->pg, q->res, fk_code);
			PQclear(q->res);
			q->res = NULL;
			return rc;
		}
		q->row = -1;
	}
	return ++q->row < q->nrows ? 1 : 0;
}

static const char *drv_col_text(sql_stmt *s, int i)
{
	struct pg_stmt *q = (struct pg_stmt *)s;
	if (PQgetisnull(q->res, q->row, i))
		return NULL;
	return PQgetvalue(q->res, q->row, i);
}

static int64_t drv_col_int(sql_stmt *s, int i)
{
	const char *v = drv_col_text(s, i);
	return v ? (int64_t)strtoll(v, NULL, 10) : 0;
}

static int64_t drv_changes(sql_stmt *s)
{
	struct pg_stmt *q = (struct pg_stmt *)s;
	return q->res ? (int64_t)strtoll(PQcmdTuples(q->res), NULL, 10) : 0;
}

static void drv_reset(sql_stmt *s)
{
	struct pg_stmt *q = (struct pg_stmt *)s;
	PQclear(q->res);
	q->res = NULL;
	memset(q->values, 0, (size_t)q->nparams * sizeof(q->values[0]));
}

/* Runs a script; the migrations' COLLATE_C markers become COLLATE "C". */
static int drv_exec_script(billing_txn *tx, const char *sql)
{
	static const char marker[] = "/*COLLATE_C*/";
	struct conn *c = tx->conn;
	size_t len = strlen(sql), j = 0;
	const char *p;
	char *text = billing__malloc(len * 2 + 1);
	PGresult *r;
	int rc = BILLING_OK;

	if (!text)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (p = sql; *p;) {
		if (strncmp(p, marker, sizeof(marker) - 1) == 0) {
			memcpy(text + j, "COLLATE \"C\"", 11);
			j += 11;
			p += sizeof(marker) - 1;
		} else {
			text[j++] = *p++;
		}
	}
	text[j] = '\0';
	if ((rc = queue_flush(c)) < 0) {
		billing__free(text);
		return rc;
	}
	r = round_trip(c, PQexec(c->pg, text));
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(c->pg, r, 0);
	PQclear(r);
	billing__free(text);
	return rc;
}

/* After a platform claim, the rest of the transaction acts for one tenant:
 * the policies then bind it like any tenant call. */
static int drv_set_tenant(billing_txn *tx, const char *tenant_id)
{
	struct conn *c = tx->conn;
	const char *values[1] = { tenant_id };

	c->ep_known = false;
	c->tenant_bound = strlen(tenant_id) < sizeof(c->ep_tenant);
	if (c->tenant_bound)
		memcpy(c->ep_tenant, tenant_id, strlen(tenant_id) + 1);
	/* Queued: it goes with the next statement, which it binds. */
	return fixed_push(c, FIXED_SET_TENANT, values, 1, false, NULL);
}

static const sql_driver pg_driver = {
	"postgres", "ILIKE", true,
	drv_prepare, drv_bind_text, drv_bind_int, drv_bind_null, drv_step,
	drv_col_text, drv_col_int, drv_changes, drv_reset, drv_exec_script, drv_set_tenant,
	drv_defer
};

/* ------------------------------------------------------------ pool */

static void conn_close(billing__pool_item *item)
{
	struct conn *c = (struct conn *)item;
	size_t i;
	if (!c)
		return;
	for (i = 0; i < STMT_CACHE_SLOTS; i++) {
		PQclear(c->cache[i].res);
		billing__free(c->cache[i].text);
	}
	PQfinish(c->pg);
	billing__free(c->arena);
	billing__free(c);
}

static int conn_open(void *backend, billing__pool_item **out)
{
	struct pg_storage *st = backend;
	struct conn *c = billing__calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	c->pg = PQconnectdb(st->conninfo);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		/* libpq's message names the server and user, never the password. */
		rc = billing__error_set(BILLING_ESTORAGE, "connection_failed",
			"postgres: cannot connect: %s", c->pg ? PQerrorMessage(c->pg) : "out of memory");
		conn_close(&c->item);
		return rc;
	}
	if (st->statement_timeout_ms) {
		char sql[64];
		PGresult *r;
		snprintf(sql, sizeof(sql), "SET statement_timeout = %u", st->statement_timeout_ms);
		r = PQexec(c->pg, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			rc = pg_fail(c->pg, r, 0);
			PQclear(r);
			conn_close(&c->item);
			return rc;
		}
		PQclear(r);
	}
	c->tx.drv = &pg_driver;
	c->tx.conn = c;
	c->st = st;
	*out = &c->item;
	return BILLING_OK;
}

/* A connection goes back to the pool only when it is healthy and idle. */
static void conn_release(struct conn *c)
{
	bool broken = PQstatus(c->pg) != CONNECTION_OK ||
		PQtransactionStatus(c->pg) != PQTRANS_IDLE ||
		PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF;
	c->queued = 0;
	c->arena_len = 0;
	billing__pool_release(&c->st->pool, &c->item, broken);
}

/* ------------------------------------------------------------ transactions */

/*
 * Round trips. Statements whose answer the caller does not wait for are
 * queued on the connection, not sent: the transaction's BEGIN, the
 * set_config of the tenant the policies act on and (in a tenant's write
 * transaction) the read of the tenant's endpoints version, pushed by
 * pg_begin; the writes whose answer only reports errors (drv_defer: events,
 * audit rows, outbox deliveries; set_tenant). The next statement that
 * waits for its answer, or the COMMIT, takes the queue with it to the
 * server in one pipeline (libpq's pipeline mode, PostgreSQL 14+) with one
 * sync, and the answers come back together: one round trip. So a create
 * costs two (its INSERT with the BEGIN; its event and audit row with the
 * COMMIT), a get two, and a transaction that runs nothing costs none. A
 * queued statement that fails fails the statement (or COMMIT) it went
 * with, with the error it would have had on its own (the server skips the
 * rest of the pipeline, and the transaction is rolled back). A rollback
 * drops the queue unsent. A statement that cannot go in a pipeline (a
 * script, a plain query) sends the queue first, on its own (queue_flush).
 */
#define BEGIN_TENANT_SQL "SELECT set_config('billing.tenant_id', $1, true), " \
	"set_config('billing.platform', $2, true)"
#define ENDPOINTS_VERSION_SQL "SELECT version FROM webhook_endpoint_versions " \
	"WHERE tenant_id = $1"

/*
 * The statements every transaction runs (the tenant's set_config with the
 * BEGIN, the endpoints version read) are prepared once per connection,
 * under fixed names, so the server parses and plans them once, not per
 * transaction: the first use queues the PREPARE (Parse) before the
 * statement in the same pipeline (no round trip of its own), and marks
 * the connection once it succeeded. A PREPARE that fails (the version
 * read before migration 14) fails its transaction, as the statement
 * would have, and is tried again by the next.
 */
static const struct {
	const char *name, *sql;
	int nparams;
} fixed_stmts[] = {
	[FIXED_BEGIN_TENANT] = { "fb", BEGIN_TENANT_SQL, 2 },
	[FIXED_SET_TENANT] = { "fs", "SELECT set_config('billing.tenant_id', $1, true), "
		"set_config('billing.platform', 'off', true)", 1 },
	[FIXED_VERSION] = { "fv", ENDPOINTS_VERSION_SQL, 1 },
};

/* Queues the fixed statement k with its nvalues parameters (its PREPARE
 * first when the connection does not have it yet); the entry is
 * returned. */
static int fixed_push(struct conn *c, int k, const char *const *values, int nvalues,
	bool begin, struct queued **entry)
{
	unsigned int bit = 1u << k;
	int rc;
	BILLING_ASSERT(nvalues == fixed_stmts[k].nparams);
	if (!(c->fixed & bit)) {
		if ((rc = queue_push(c, fixed_stmts[k].sql, fixed_stmts[k].name,
			fixed_stmts[k].nparams, NULL, 0, begin)) < 0)
			return rc;
		c->queue[c->queued - 1].prepare = bit;
	}
	if ((rc = queue_push(c, NULL, fixed_stmts[k].name, nvalues, values, 0, begin)) < 0)
		return rc;
	if (entry)
		*entry = &c->queue[c->queued - 1];
	return BILLING_OK;
}

static const char *begin_sql(unsigned int kind)
{
	/* READ and WRITE are READ COMMITTED (each statement its own snapshot;
	 * writes lock what they read). A SNAPSHOT reads everything as of its
	 * first statement, and as READ ONLY never fails to serialize. */
	return kind == BILLING_TXN_SNAPSHOT ?
		"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
}

static void queue_drop(struct conn *c)
{
	c->queued = 0;
	c->arena_len = 0;
}

/* Copies v into the arena; its offset in *off (-1 for NULL). */
static int arena_add(struct conn *c, const char *v, ptrdiff_t *off)
{
	size_t n;
	if (!v) {
		*off = -1;
		return BILLING_OK;
	}
	n = strlen(v) + 1;
	if (c->arena_len + n > c->arena_cap) {
		size_t cap = c->arena_cap ? c->arena_cap : 1024;
		char *p;
		while (cap < c->arena_len + n)
			cap *= 2;
		if ((p = billing__realloc(c->arena, cap)) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		c->arena = p;
		c->arena_cap = cap;
	}
	memcpy(c->arena + c->arena_len, v, n);
	*off = (ptrdiff_t)c->arena_len;
	c->arena_len += n;
	return BILLING_OK;
}

static int queue_push(struct conn *c, const char *text, const char *name, int nparams,
	const char *const *values, int fk_code, bool begin)
{
	struct queued *e;
	int i, rc;

	BILLING_ASSERT(nparams >= 0 && nparams <= PARAMS_MAX);
	if (nparams < 0 || nparams > PARAMS_MAX)
		return billing__error_set(BILLING_ERROR, NULL, "too many parameters");
	if (c->queued == QUEUE_MAX && (rc = queue_flush(c)) < 0)
		return rc;
	e = &c->queue[c->queued];
	memset(e, 0, sizeof(*e));
	e->text = text;
	if (name)
		snprintf(e->name, sizeof(e->name), "%s", name);
	e->nparams = nparams;
	e->fk_code = fk_code;
	e->begin = begin;
	for (i = 0; values && i < nparams; i++)
		if ((rc = arena_add(c, values[i], &e->off[i])) < 0)
			return rc;
	c->queued++;
	return BILLING_OK;
}

static int queue_send(struct conn *c, const struct queued *e)
{
	const char *values[PARAMS_MAX];
	int i;
	sent(c);
	if (e->prepare)
		return PQsendPrepare(c->pg, e->name, e->text, e->nparams, NULL);
	for (i = 0; i < e->nparams; i++)
		values[i] = e->off[i] < 0 ? NULL : c->arena + e->off[i];
	if (e->text)
		return PQsendQueryParams(c->pg, e->text, e->nparams, NULL, values, NULL, NULL, 0);
	return PQsendQueryPrepared(c->pg, e->name, e->nparams, values, NULL, NULL, 0);
}

static bool result_ok(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	return r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

/* An answer to the version read: the tenant's endpoints version. */
static void version_take(struct conn *c, const PGresult *r)
{
	c->ep_version = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ?
		(int64_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	c->ep_known = true;
}

/*
 * Sends the queue, then the prepared statement q or the text (either, or
 * neither), in one pipeline, and waits once. *out (when out is set)
 * receives the last statement's result, NULL when the connection failed.
 * When a queued statement failed, that is the error returned (< 0) and
 * *out is NULL. With nothing queued, the statement goes on its own.
 */
static int pipeline_run(struct conn *c, const struct pg_stmt *q, const char *text,
	PGresult **out)
{
	PGresult *res[QUEUE_MAX + 1], *r;
	int n = c->queued + (q || text ? 1 : 0), k = 0, nulls = 0, i, rc = BILLING_OK;
	bool ok = true;

	if (out)
		*out = NULL;
	if (c->queued == 0) {
		if (q)
			*out = round_trip(c, PQexecPrepared(c->pg, q->name, q->nparams, q->values,
				NULL, NULL, 0));
		else if (text)
			*out = round_trip(c, PQexec(c->pg, text));
		return BILLING_OK;
	}
	if (PQenterPipelineMode(c->pg) != 1) {
		queue_drop(c);
		return pg_fail(c->pg, NULL, 0);
	}
	memset(res, 0, sizeof(res));
	/* A send fails only with the connection: the queries not sent then
	 * have no result below, which fails them. */
	for (i = 0; ok && i < c->queued; i++)
		ok = queue_send(c, &c->queue[i]) == 1;
	if (ok && (q || text))
		sent(c);
	if (ok && q)
		(void)PQsendQueryPrepared(c->pg, q->name, q->nparams, q->values, NULL, NULL, 0);
	else if (ok && text)
		(void)PQsendQueryParams(c->pg, text, 0, NULL, NULL, NULL, NULL, 0);
	PQpipelineSync(c->pg);
	round_trip(c, NULL);
	/* Each query answers with one result and a NULL; then the sync. */
	for (;;) {
		r = PQgetResult(c->pg);
		if (r == NULL) {
			if (PQstatus(c->pg) != CONNECTION_OK || ++nulls > n)
				break;
			k++;
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (k < n && !res[k])
			res[k] = r;
		else
			PQclear(r);
	}
	PQexitPipelineMode(c->pg);
	/* The first queued statement that failed is the error; those after it
	 * were skipped (PGRES_PIPELINE_ABORTED). */
	for (i = 0; i < c->queued; i++) {
		if (!result_ok(res[i])) {
			rc = pg_fail(c->pg, res[i], c->queue[i].fk_code);
			break;
		}
		if (c->queue[i].version)
			version_take(c, res[i]);
		c->fixed |= c->queue[i].prepare;
	}
	for (i = 0; i < c->queued; i++)
		PQclear(res[i]);
	if (q || text) {
		if (rc == BILLING_OK && out)
			*out = res[n - 1];
		else
			PQclear(res[n - 1]);
	}
	queue_drop(c);
	return rc;
}

/* Sends the queue on its own (one round trip), if there is one. */
static int queue_flush(struct conn *c)
{
	return c->queued ? pipeline_run(c, NULL, NULL, NULL) : BILLING_OK;
}

/* Only the BEGIN is queued: no statement of the transaction has run. */
static bool nothing_ran(const struct conn *c)
{
	int i;
	for (i = 0; i < c->queued; i++)
		if (!c->queue[i].begin)
			return false;
	return c->queued > 0;
}

static int pg_begin(billing_storage *base, billing_txn **out, const char *tenant_id,
	unsigned int kind)
{
	struct pg_storage *st = (struct pg_storage *)base;
	billing__pool_item *it = NULL;
	const char *values[2];
	struct conn *c;
	int rc;

	if ((rc = billing__pool_acquire(&st->pool, &it)) < 0)
		return rc;
	c = (struct conn *)it;
	queue_drop(c);
	c->tx.kind = kind;
	c->tx.endpoints_changed = false;
	c->tx.number_tenant[0] = '\0';
	c->tx.months = &st->months;
	c->tx.months_new_count = 0;
	c->ep_known = false;
	c->tenant_bound = tenant_id && strlen(tenant_id) < sizeof(c->ep_tenant);
	if (c->tenant_bound)
		memcpy(c->ep_tenant, tenant_id, strlen(tenant_id) + 1);
	values[0] = tenant_id ? tenant_id : "";
	values[1] = tenant_id ? "off" : "on";
	if ((rc = queue_push(c, begin_sql(kind), NULL, 0, NULL, 0, true)) < 0 ||
	    (rc = fixed_push(c, FIXED_BEGIN_TENANT, values, 2, true, NULL)) < 0) {
		conn_release(c);
		return rc;
	}
	if (c->tenant_bound && kind == BILLING_TXN_WRITE &&
	    __atomic_load_n(&st->versions, __ATOMIC_RELAXED)) {
		struct queued *e;
		/* Read now, for the outbox's cache (pg_endpoints_version). */
		if ((rc = fixed_push(c, FIXED_VERSION, values, 1, true, &e)) < 0) {
			conn_release(c);
			return rc;
		}
		e->version = true;
	}
	*out = &c->tx;
	return BILLING_OK;
}

static void pg_rollback(billing_txn *tx)
{
	struct conn *c = tx->conn;
	queue_drop(c);
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(round_trip(c, PQexec(c->pg, "ROLLBACK")));
	conn_release(c);
}

static int pg_commit(billing_txn *tx)
{
	struct conn *c = tx->conn;
	PGresult *r = NULL;
	int rc;

	if (nothing_ran(c)) {
		/* There is no transaction on the server to end. */
		queue_drop(c);
		conn_release(c);
		return BILLING_OK;
	}
	/* A queued write that fails is this COMMIT's failure. */
	rc = pipeline_run(c, NULL, "COMMIT", &r);
	/* A transaction that failed inside answers COMMIT with ROLLBACK. */
	if (rc == BILLING_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_fail(c->pg, r, 0);
	else if (rc == BILLING_OK && strcmp(PQcmdStatus(r), "COMMIT") != 0)
		rc = billing__error_set(BILLING_ESTORAGE, "storage",
			"postgres: the transaction was rolled back");
	PQclear(r);
	if (rc < 0) {
		pg_rollback(tx);
	} else {
		billing__sql_usage_months_commit(tx);
		conn_release(c);
	}
	return rc;
}

/*
 * The tenant's endpoints version for the outbox's cache
 * (billing_storage.endpoints_version): read with the BEGIN of a tenant's
 * write transaction, so it costs no round trip of its own, else now.
 * -1 (do not cache) when this transaction changed an endpoint itself
 * (what it reads is not committed) or acts for no tenant.
 */
static int pg_endpoints_version(billing_txn *tx, const char *tenant_id, int64_t *version)
{
	struct conn *c = tx->conn;
	int rc;

	*version = -1;
	if (tx->endpoints_changed || !c->tenant_bound || !tenant_id ||
	    strcmp(c->ep_tenant, tenant_id) != 0)
		return BILLING_OK;
	/* Queued with the BEGIN (answered by now, or with the queue), or
	 * read before in this transaction. */
	if (!c->ep_known && c->queued && (rc = queue_flush(c)) < 0)
		return rc;
	if (!c->ep_known) {
		if ((rc = billing__sql_endpoints_version(tx, tenant_id, &c->ep_version)) < 0)
			return rc;
		c->ep_known = true;
		__atomic_store_n(&c->st->versions, true, __ATOMIC_RELAXED);
	}
	*version = c->ep_version;
	return BILLING_OK;
}

/* ------------------------------------------------------------ migrations */

static int exec_one(struct conn *c, const char *sql, int *value)
{
	PGresult *r;
	int rc = queue_flush(c);
	if (rc < 0)
		return rc;
	r = round_trip(c, PQexec(c->pg, sql));
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(c->pg, r, 0);
	else if (value)
		*value = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ?
			(int)strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return rc;
}

static int pg_schema_status(billing_storage *base, int *pending)
{
	billing_txn *tx;
	int rc, exists = 0;
	size_t n;

	billing__migrations(&n);
	if ((rc = pg_begin(base, &tx, NULL, BILLING_TXN_READ)) < 0)
		return rc;
	rc = exec_one(tx->conn, "SELECT (to_regclass('billing_migrations') IS NOT NULL)::int",
		&exists);
	if (rc == BILLING_OK && !exists)
		*pending = (int)n;
	else if (rc == BILLING_OK)
		rc = billing__sql_schema_status(tx, pending);
	pg_rollback(tx);
	return rc;
}

static int pg_migrate(billing_storage *base, int *applied, int64_t now)
{
	billing_txn *tx;
	char sql[128];
	int rc;

	if ((rc = pg_begin(base, &tx, NULL, BILLING_TXN_WRITE)) < 0)
		return rc;
	/* Two processes starting at once: the second waits here, then finds
	 * every step applied. Keyed by schema, so schemas migrate apart. */
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, hashtext(current_schema()))",
		MIGRATION_LOCK_CLASS);
	if ((rc = exec_one(tx->conn, sql, NULL)) < 0 ||
	    (rc = billing__sql_migrate(tx, now, applied)) < 0) {
		pg_rollback(tx);
		return rc;
	}
	return pg_commit(tx);
}

/* ------------------------------------------------------------ lifecycle */

static void pg_free(billing_storage *base)
{
	struct pg_storage *st = (struct pg_storage *)base;
	if (!st)
		return;
	billing__pool_destroy(&st->pool);
	billing__sql_usage_months_free(&st->months);
	if (st->conninfo) {
		/* It may hold a password: do not leave it in freed memory. */
		memset(st->conninfo, 0, strlen(st->conninfo));
		billing__free(st->conninfo);
	}
	billing__free(st);
}

int billing_postgres_storage_new(billing_storage **out, const char *conninfo,
	const billing_postgres_options *opts)
{
	struct pg_storage *st;
	billing__pool_item *it = NULL;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(conninfo, "conninfo");
	if (opts && (opts->version == 0 || opts->version > BILLING_POSTGRES_OPTIONS_VERSION))
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_postgres_options version %u", opts->version);
	if ((st = billing__calloc(1, sizeof(*st))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((st->conninfo = billing__strdup(conninfo)) == NULL) {
		billing__free(st);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	st->statement_timeout_ms = opts ? opts->statement_timeout_ms : 0;
	pthread_mutex_init(&st->months.mu, NULL);
	billing__pool_init(&st->pool, opts && opts->max_connections ? opts->max_connections : 8,
		conn_open, conn_close, st);

	st->base.version = BILLING_STORAGE_VERSION;
	st->base.name = "postgres";
	st->base.free = pg_free;
	st->base.schema_status = pg_schema_status;
	st->base.migrate = pg_migrate;
	st->base.begin = pg_begin;
	st->base.commit = pg_commit;
	st->base.rollback = pg_rollback;
	billing__sql_install(&st->base);
	st->base.endpoints_version = pg_endpoints_version;

	/* Connect now, so an unreachable server fails here, clearly. */
	if ((rc = billing__pool_acquire(&st->pool, &it)) < 0) {
		pg_free(&st->base);
		return rc;
	}
	billing__pool_release(&st->pool, it, false);
	*out = &st->base;
	return BILLING_OK;
}
