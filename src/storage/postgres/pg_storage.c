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
 */
#include <libpq-fe.h>
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

struct conn {
	billing__pool_item item;    /* first: the pool's link */
	struct billing_txn tx;
	PGconn *pg;
	struct pg_storage *st;
	unsigned int generation;    /* names prepared statements uniquely */
	/* The transaction's BEGIN and tenant, not sent yet (see pg_begin). */
	bool begin_pending;
	unsigned int begin_kind;
	bool begin_platform;
	char *begin_tenant;
	size_t begin_tenant_size;
	struct pg_stmt cache[STMT_CACHE_SLOTS];
};

struct pg_storage {
	billing_storage base;
	char *conninfo;             /* secret: never logged */
	unsigned int statement_timeout_ms;
	billing__pool pool;
	uint64_t round_trips;       /* answers waited for (tests, benchmarks) */
};

static const sql_driver pg_driver;

/* Counts a wait for the server's answer r (returned). */
static PGresult *round_trip(struct conn *c, PGresult *r);

static PGresult *round_trip(struct conn *c, PGresult *r)
{
	__atomic_add_fetch(&c->st->round_trips, 1, __ATOMIC_RELAXED);
	return r;
}

uint64_t billing__pg_round_trips(billing_storage *base)
{
	return __atomic_load_n(&((struct pg_storage *)base)->round_trips, __ATOMIC_RELAXED);
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
	int n;

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
	stmt_forget(q);
	if ((n = to_dollars(text, sizeof(text), sql)) < 0 || n > PARAMS_MAX)
		return billing__error_set(BILLING_ERROR, NULL, "statement too long or too many parameters");
	if (dynamic && (q->text = billing__strdup(sql)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	snprintf(q->name, sizeof(q->name), "b%u", ++c->generation);
	r = round_trip(c, PQprepare(c->pg, q->name, text, n, NULL));
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		int rc = pg_fail(c->pg, r, 0);
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

static int begin_flush(struct conn *c);
static PGresult *run_prepared(struct conn *c, struct pg_stmt *q);

static int drv_step(sql_stmt *s, int fk_code)
{
	struct pg_stmt *q = (struct pg_stmt *)s;
	if (!q->res) {
		ExecStatusType st;
		q->res = run_prepared(q->conn, q);
		st = PQresultStatus(q->res);
		if (st == PGRES_TUPLES_OK) {
			q->nrows = PQntuples(q->res);
		} else if (st == PGRES_COMMAND_OK) {
			q->nrows = 0;
		} else {
			int rc = pg_fail(q->conn->pg, q->res, fk_code);
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
	if ((rc = begin_flush(c)) < 0) {
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
	int rc = begin_flush(c);
	PGresult *r;

	if (rc < 0)
		return rc;
	r = round_trip(c, PQexecParams(c->pg, "SELECT set_config('billing.tenant_id', $1, true), "
		"set_config('billing.platform', 'off', true)", 1, NULL, values, NULL, NULL, 0));
	rc = PQresultStatus(r) == PGRES_TUPLES_OK ? BILLING_OK : pg_fail(c->pg, r, 0);
	PQclear(r);
	return rc;
}

static const sql_driver pg_driver = {
	"postgres", "ILIKE", true,
	drv_prepare, drv_bind_text, drv_bind_int, drv_bind_null, drv_step,
	drv_col_text, drv_col_int, drv_changes, drv_reset, drv_exec_script, drv_set_tenant
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
	billing__free(c->begin_tenant);
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
		PQtransactionStatus(c->pg) != PQTRANS_IDLE;
	billing__pool_release(&c->st->pool, &c->item, broken);
}

/* ------------------------------------------------------------ transactions */

/*
 * Round trips. pg_begin sends nothing: it notes the BEGIN and the tenant,
 * and the transaction's first statement carries them to the server in one
 * pipeline (libpq's pipeline mode, PostgreSQL 14+): BEGIN, the set_config
 * of the tenant the policies act on, and the statement, then one sync; the
 * three answers come back together. So a transaction costs one round trip
 * per statement plus its COMMIT, and one that runs no statement costs none.
 * A statement that cannot go in a pipeline (a script, a plain query) sends
 * the pending BEGIN first, on its own (begin_flush).
 */
#define BEGIN_TENANT_SQL "SELECT set_config('billing.tenant_id', $1, true), " \
	"set_config('billing.platform', $2, true)"

static const char *begin_sql(unsigned int kind)
{
	/* READ and WRITE are READ COMMITTED (each statement its own snapshot;
	 * writes lock what they read). A SNAPSHOT reads everything as of its
	 * first statement, and as READ ONLY never fails to serialize. */
	return kind == BILLING_TXN_SNAPSHOT ?
		"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
}

static void begin_values(const struct conn *c, const char *values[2])
{
	values[0] = c->begin_platform ? "" : c->begin_tenant;
	values[1] = c->begin_platform ? "on" : "off";
}

/* Sends the pending BEGIN and tenant on their own: one round trip (two
 * statements in one simple query, the tenant as an escaped literal). */
static int begin_flush(struct conn *c)
{
	char *lit = NULL, sql[320];
	PGresult *r;
	int rc = BILLING_OK;

	if (!c->begin_pending)
		return BILLING_OK;
	c->begin_pending = false;
	if (!c->begin_platform &&
	    (lit = PQescapeLiteral(c->pg, c->begin_tenant, strlen(c->begin_tenant))) == NULL)
		return pg_fail(c->pg, NULL, 0);
	snprintf(sql, sizeof(sql), "%s; SELECT set_config('billing.tenant_id', %s, true), "
		"set_config('billing.platform', '%s', true)", begin_sql(c->begin_kind),
		lit ? lit : "''", lit ? "off" : "on");
	PQfreemem(lit);
	r = round_trip(c, PQexec(c->pg, sql));
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(c->pg, r, 0);
	PQclear(r);
	return rc;
}

/* The result of q, run with the pending BEGIN in one pipeline when there is
 * one. A failed BEGIN or set_config answers for the statement (which the
 * server then skipped); NULL when the connection failed. */
static PGresult *run_prepared(struct conn *c, struct pg_stmt *q)
{
	PGresult *res[3] = { NULL, NULL, NULL }, *r, *out;
	const char *values[2];
	int k = 0, nulls = 0, i;

	if (!c->begin_pending)
		return round_trip(c, PQexecPrepared(c->pg, q->name, q->nparams, q->values,
			NULL, NULL, 0));
	if (PQenterPipelineMode(c->pg) != 1) {
		if (begin_flush(c) < 0)
			return NULL;
		return round_trip(c, PQexecPrepared(c->pg, q->name, q->nparams, q->values,
			NULL, NULL, 0));
	}
	c->begin_pending = false;
	begin_values(c, values);
	/* A send fails only with the connection: the queries not sent then
	 * have no result below, which fails the statement. */
	(void)(PQsendQueryParams(c->pg, begin_sql(c->begin_kind), 0, NULL, NULL, NULL, NULL, 0) == 1 &&
	    PQsendQueryParams(c->pg, BEGIN_TENANT_SQL, 2, NULL, values, NULL, NULL, 0) == 1 &&
	    PQsendQueryPrepared(c->pg, q->name, q->nparams, q->values, NULL, NULL, 0) == 1);
	PQpipelineSync(c->pg);
	round_trip(c, NULL);
	/* Each query answers with one result and a NULL; then the sync. */
	for (;;) {
		r = PQgetResult(c->pg);
		if (r == NULL) {
			if (PQstatus(c->pg) != CONNECTION_OK || ++nulls > 3)
				break;
			k++;
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (k < 3 && !res[k])
			res[k] = r;
		else
			PQclear(r);
	}
	PQexitPipelineMode(c->pg);
	out = res[2];
	if (PQresultStatus(res[0]) != PGRES_COMMAND_OK)
		out = res[0];
	else if (PQresultStatus(res[1]) != PGRES_TUPLES_OK)
		out = res[1];
	for (i = 0; i < 3; i++)
		if (res[i] != out)
			PQclear(res[i]);
	return out;
}

static int pg_begin(billing_storage *base, billing_txn **out, const char *tenant_id,
	unsigned int kind)
{
	struct pg_storage *st = (struct pg_storage *)base;
	billing__pool_item *it = NULL;
	struct conn *c;
	int rc;

	if ((rc = billing__pool_acquire(&st->pool, &it)) < 0)
		return rc;
	c = (struct conn *)it;
	c->begin_kind = kind;
	c->begin_platform = tenant_id == NULL;
	c->begin_pending = true;
	c->tx.kind = kind;
	if (tenant_id) {
		size_t n = strlen(tenant_id) + 1;
		if (n > c->begin_tenant_size) {
			char *p = billing__realloc(c->begin_tenant, n < 64 ? 64 : n);
			if (!p) {
				c->begin_pending = false;
				conn_release(c);
				return billing__error_set(BILLING_ENOMEM, NULL, NULL);
			}
			c->begin_tenant = p;
			c->begin_tenant_size = n < 64 ? 64 : n;
		}
		memcpy(c->begin_tenant, tenant_id, n);
	}
	*out = &c->tx;
	return BILLING_OK;
}

static void pg_rollback(billing_txn *tx)
{
	struct conn *c = tx->conn;
	c->begin_pending = false;
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(round_trip(c, PQexec(c->pg, "ROLLBACK")));
	conn_release(c);
}

static int pg_commit(billing_txn *tx)
{
	struct conn *c = tx->conn;
	PGresult *r;
	int rc = BILLING_OK;

	if (c->begin_pending) {
		/* Nothing ran: there is no transaction on the server to end. */
		c->begin_pending = false;
		conn_release(c);
		return BILLING_OK;
	}
	r = round_trip(c, PQexec(c->pg, "COMMIT"));
	/* A transaction that failed inside answers COMMIT with ROLLBACK. */
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_fail(c->pg, r, 0);
	else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
		rc = billing__error_set(BILLING_ESTORAGE, "storage",
			"postgres: the transaction was rolled back");
	PQclear(r);
	if (rc < 0)
		pg_rollback(tx);
	else
		conn_release(c);
	return rc;
}

/* ------------------------------------------------------------ migrations */

static int exec_one(struct conn *c, const char *sql, int *value)
{
	PGresult *r;
	int rc = begin_flush(c);
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

	/* Connect now, so an unreachable server fails here, clearly. */
	if ((rc = billing__pool_acquire(&st->pool, &it)) < 0) {
		pg_free(&st->base);
		return rc;
	}
	billing__pool_release(&st->pool, it, false);
	*out = &st->base;
	return BILLING_OK;
}
