/*
 * Every data method of the storage vtable, written once for the SQL that
 * SQLite and PostgreSQL share (see sql.h): the record methods, whose
 * statements the builder makes from a resource descriptor (builder.c), the
 * special operations (meta, idempotency, the invoice counter, due work,
 * provider events, the events prune) and the migration runner.
 *
 * Statements are string literals with ?N placeholders, or the builder's
 * texts; each is prepared once per connection.
 *
 * Why one file of over 800 lines: it is the whole vtable of the shared
 * SQL backend, method by method, each short and over the same statement
 * and binding helpers; split, the helpers would have to be shared across
 * files for no gain in what one reader must hold.
 */
#include <cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/errors.h"
#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"
#include "core/resources.h"
#include "storage/migrations.h"
#include "storage/sql/builder.h"
#include "storage/sql/sql.h"

#define SQL_MAX 2048

/* ------------------------------------------------------------ driver calls */

/* Every statement starts here: the place a test injects a storage failure. */
/* On success *out is a statement; on failure NULL. */
static int prepare_as(sql_stmt **out, billing_txn *tx, const char *sql, bool dynamic)
{
	int rc;

	*out = NULL;
	if (billing__storage_fault())
		return billing__error_set(BILLING_ESTORAGE, "injected", "injected storage failure");
	rc = tx->drv->prepare(tx, sql, dynamic, out);
	if (rc < 0)
		return rc;
	if (*out == NULL)
		return billing__error_set(BILLING_ESTORAGE, "storage", "the driver made no statement");
	return BILLING_OK;
}

static int prepare(sql_stmt **out, billing_txn *tx, const char *sql)
{
	return prepare_as(out, tx, sql, false);
}

static int prepare_dynamic(sql_stmt **out, billing_txn *tx, const char *sql)
{
	return prepare_as(out, tx, sql, true);
}

static int step(sql_stmt *s, int fk_code)
{
	return s->drv->step(s, fk_code);
}

static void bind_text(sql_stmt *s, int i, const char *v)
{
	s->drv->bind_text(s, i, v);
}

static void bind_int(sql_stmt *s, int i, int64_t v)
{
	s->drv->bind_int(s, i, v);
}

static const char *col_text(sql_stmt *s, int i)
{
	return s->drv->col_text(s, i);
}

static int64_t col_int(sql_stmt *s, int i)
{
	return s->drv->col_int(s, i);
}

/* Steps a statement that returns no rows. */
static int exec_stmt(sql_stmt *s, int fk_code, int *changes)
{
	int rc = step(s, fk_code);
	if (rc > 0)
		rc = billing__error_set(BILLING_ESTORAGE, "storage", "statement returned rows");
	if (rc == 0 && changes)
		*changes = (int)s->drv->changes(s);
	s->drv->reset(s);
	return rc < 0 ? rc : BILLING_OK;
}

/* Queues a write whose answer only reports errors where the driver can
 * (PostgreSQL: it goes with the next statement; see pg_storage.c, "Round
 * trips"), else runs it now. */
static int exec_deferred(sql_stmt *s, int fk_code)
{
	int rc;
	if (!s->drv->defer)
		return exec_stmt(s, fk_code, NULL);
	rc = s->drv->defer(s, fk_code);
	s->drv->reset(s);
	return rc;
}

/* In a write transaction a get locks the row it reads, where the dialect
 * can (PostgreSQL; SQLite's write transaction holds the database lock
 * already), so an update's read-modify-write never interleaves with
 * another's. FOR NO KEY UPDATE, the lock an UPDATE of other columns than
 * the key takes: it does not wait for the foreign-key checks of rows that
 * refer to this one (FOR KEY SHARE), which FOR UPDATE would (txn.h). */
#define LOCKED(tx, sql) \
	((tx)->kind == BILLING_TXN_WRITE && (tx)->drv->for_update ? sql " FOR NO KEY UPDATE" : sql) /* NOLINT(bugprone-macro-parentheses): a literal */

/* The same, as a BILLING_LOCK_* says (the *_read methods). */
#define LOCKED_AS(tx, lock, sql) \
	((tx)->kind != BILLING_TXN_WRITE || !(tx)->drv->for_update || (lock) == BILLING_LOCK_NONE ? \
	sql : (lock) == BILLING_LOCK_SHARE ? sql " FOR SHARE" : sql " FOR NO KEY UPDATE") /* NOLINT(bugprone-macro-parentheses): a literal */

/* ------------------------------------------------------------ migrations */

static const char migrations_table[] =
	"CREATE TABLE IF NOT EXISTS billing_migrations ("
	" version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/* Counts pending steps, checking the checksum of each applied one. */
static int check_applied(billing_txn *tx, int *pending)
{
	size_t n, i;
	const billing__migration *m = billing__migrations(&n);
	sql_stmt *s;
	int rc, applied = 0;

	rc = prepare(&s, tx, "SELECT version, checksum FROM billing_migrations ORDER BY version");
	if (rc < 0)
		return rc;
	while ((rc = step(s, 0)) == 1) {
		int v = (int)col_int(s, 0);
		const char *sum = col_text(s, 1);
		char want[65];
		for (i = 0; i < n && m[i].version != v; i++)
			;
		if (i == n) {
			s->drv->reset(s);
			return billing__error_set(BILLING_ESTORAGE, "schema_too_new",
				"database has migration %d, which this library does not know; "
				"upgrade the library", v);
		}
		if (billing__migration_checksum(want, &m[i]) < 0 || !sum || strcmp(want, sum) != 0) {
			s->drv->reset(s);
			return billing__error_set(BILLING_ESTORAGE, "migration_checksum",
				"applied migration %d (%s) differs from the library's copy",
				v, m[i].name);
		}
		applied++;
	}
	s->drv->reset(s);
	if (rc < 0)
		return rc;
	*pending = (int)n - applied;
	return BILLING_OK;
}

int billing__sql_schema_status(billing_txn *tx, int *pending)
{
	return check_applied(tx, pending);
}

int billing__sql_migrate(billing_txn *tx, int64_t now, int *applied_out)
{
	const billing__migration *m;
	size_t n, i;
	int rc, pending = 0, applied = 0;
	bool postgres = strcmp(tx->drv->dialect, "postgres") == 0;

	m = billing__migrations(&n);
	if ((rc = tx->drv->exec_script(tx, migrations_table)) < 0 ||
	    (rc = check_applied(tx, &pending)) < 0)
		return rc;
	for (i = n - (size_t)pending; i < n; i++) {
		char sum[65];
		sql_stmt *s;

		if ((m[i].sql[0] && (rc = tx->drv->exec_script(tx, m[i].sql)) < 0) ||
		    (postgres && m[i].postgres_sql && (rc = tx->drv->exec_script(tx, m[i].postgres_sql)) < 0) ||
		    (!postgres && m[i].sqlite_sql && (rc = tx->drv->exec_script(tx, m[i].sqlite_sql)) < 0))
			return billing__error_set(rc, "migration_failed", "migration %d failed: %s",
				m[i].version, billing_error_last()->message);
		if (billing__migration_checksum(sum, &m[i]) < 0)
			return billing__error_set(BILLING_ERROR, NULL, "cannot checksum migration");
		if ((rc = prepare(&s, tx, "INSERT INTO billing_migrations "
				"(version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)")) < 0)
			return rc;
		bind_int(s, 1, m[i].version);
		bind_text(s, 2, m[i].name);
		bind_text(s, 3, sum);
		bind_int(s, 4, now);
		if ((rc = exec_stmt(s, 0, NULL)) < 0)
			return rc;
		applied++;
	}
	*applied_out = applied;
	return BILLING_OK;
}

/* ------------------------------------------------------------ meta */

static int rec_meta_get(billing_txn *tx, const char *key, char *buf, size_t size)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT meta_value FROM billing_meta WHERE meta_key = ?1");
	if (rc < 0)
		return rc;
	bind_text(s, 1, key);
	rc = step(s, 0);
	if (rc == 1) {
		snprintf(buf, size, "%s", col_text(s, 0));
		rc = BILLING_OK;
	} else if (rc == 0) {
		rc = BILLING_ENOTFOUND;
	}
	s->drv->reset(s);
	return rc;
}

static int rec_meta_put(billing_txn *tx, const char *key, const char *value)
{
	sql_stmt *s;
	int rc = prepare(&s, tx,
		"INSERT INTO billing_meta (meta_key, meta_value) VALUES (?1, ?2) "
		"ON CONFLICT (meta_key) DO NOTHING");
	if (rc < 0)
		return rc;
	bind_text(s, 1, key);
	bind_text(s, 2, value);
	return exec_stmt(s, 0, NULL);
}

static int rec_meta_set(billing_txn *tx, const char *key, const char *value)
{
	sql_stmt *s;
	int rc = prepare(&s, tx,
		"INSERT INTO billing_meta (meta_key, meta_value) VALUES (?1, ?2) "
		"ON CONFLICT (meta_key) DO UPDATE SET meta_value = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, key);
	bind_text(s, 2, value);
	return exec_stmt(s, 0, NULL);
}

/* ------------------------------------------------------------ rows */

/* Steps s and hands each row, read by reader into a record, to cb.
 * want_one: ENOTFOUND when there is no row. */
typedef void (*row_reader)(sql_stmt *s, void *record);

static int emit_rows(sql_stmt *s, row_reader reader, void *record,
	billing_row_cb cb, void *payload, int want_one)
{
	int rc, rows = 0;
	while ((rc = step(s, 0)) == 1) {
		int cbrc;
		reader(s, record);
		rows++;
		if ((cbrc = cb(payload, record)) != 0) {
			s->drv->reset(s);
			return cbrc < 0 ? cbrc : BILLING_OK;
		}
	}
	s->drv->reset(s);
	if (rc < 0)
		return rc;
	if (want_one && rows == 0)
		return BILLING_ENOTFOUND;
	return BILLING_OK;
}

/* Reads the one row of a get by (tenant, id) into record for cb. */
static void read_idempotency(sql_stmt *s, void *record)
{
	billing_idempotency_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->key = col_text(s, 1);
	r->operation = col_text(s, 2);
	r->request_hash = col_text(s, 3);
	r->resource_id = col_text(s, 4);
	r->created_at = col_int(s, 5);
}

/* ------------------------------------------------------------ generic records (version 7) */

/* The builder's statements for one resource: texts built once per
 * (resource, driver) and cached, so they are prepared as literals (by
 * address); only a list's text is built per call. */

static int record_shape(const sqlb_shape **sh, billing_txn *tx, const billing_resource *res,
	const void *rec)
{
	int rc = billing__sqlb_shape(sh, res, tx->drv);
	if (rc < 0)
		return rc;
	if (!rec)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "rec",
			"rec must not be NULL");
	return BILLING_OK;
}

static int key_ok(const sqlb_shape *sh, const char *tenant_id, const char *id)
{
	if (sh->tenant && !tenant_id)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "tenant_id",
			"tenant_id must not be NULL");
	if (!id)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "id",
			"id must not be NULL");
	return BILLING_OK;
}

/* Rows only ever inserted, with new ids, whose insert reports nothing but
 * an error: their inserts may be deferred (exec_deferred). */
static bool append_only(const billing_resource *res)
{
	return strcmp(res->table, "events") == 0 || strcmp(res->table, "audit_log") == 0 ||
		strcmp(res->table, "webhook_deliveries") == 0;
}

static void note_write(billing_txn *tx, const billing_resource *res)
{
	if (strcmp(res->table, "webhook_endpoints") == 0)
		tx->endpoints_changed = true;
}

static int rec_record_insert(billing_txn *tx, const billing_resource *res, const void *rec)
{
	const sqlb_shape *sh;
	sql_stmt *s;
	int rc;

	if ((rc = record_shape(&sh, tx, res, rec)) < 0 ||
	    (rc = prepare(&s, tx, sh->text[SQLB_INSERT])) < 0)
		return rc;
	note_write(tx, res);
	billing__sqlb_bind_record(s, sh, rec);
	if (append_only(res))
		return exec_deferred(s, BILLING_EINVALID);
	rc = exec_stmt(s, BILLING_EINVALID, NULL);
	return rc == BILLING_EEXISTS ? billing__sqlb_unique_error(sh) : rc;
}

/* Rows per statement of record_insert_many: bounds the JSON text of one
 * statement (events carry their payload). */
#define INSERT_ROWS_MAX 500

static int rec_record_insert_many(billing_txn *tx, const billing_resource *res,
	const void *const *recs, size_t count)
{
	const sqlb_shape *sh;
	size_t done, i, n;
	int rc;

	if (count == 0)
		return BILLING_OK;
	if ((rc = record_shape(&sh, tx, res, recs)) < 0)
		return rc;
	for (i = 0; i < count; i++) {
		if (!recs[i])
			return billing__error_field(BILLING_EINVALID, "invalid_argument", "recs",
				"recs[%zu] is NULL", i);
	}
	if (strcmp(tx->drv->dialect, "sqlite") == 0) {
		/* In process there is no round trip to save, and SQLite reads
		 * rows out of one JSON text for more than it binds them: the
		 * rows' JSON and json_each were 63 % of a billing run's
		 * instructions (callgrind, bench/README.md). One prepared
		 * single-row insert per row instead, in the same transaction. */
		sql_stmt *s;
		if ((rc = prepare(&s, tx, sh->text[SQLB_INSERT])) < 0)
			return rc;
		for (i = 0; i < count; i++) {
			billing__sqlb_bind_record(s, sh, recs[i]);
			if ((rc = exec_stmt(s, BILLING_EINVALID, NULL)) == BILLING_EEXISTS)
				return billing__sqlb_unique_error(sh);
			if (rc < 0)
				return rc;
		}
		return BILLING_OK;
	}
	for (done = 0; done < count; done += n) {
		char *json = NULL;
		sql_stmt *s;
		n = count - done < INSERT_ROWS_MAX ? count - done : INSERT_ROWS_MAX;
		if ((rc = billing__sqlb_rows_json(&json, sh, recs + done, n)) < 0)
			return rc;
		if ((rc = prepare(&s, tx, sh->text[SQLB_INSERT_ROWS])) == BILLING_OK) {
			bind_text(s, 1, json);
			rc = exec_stmt(s, BILLING_EINVALID, NULL);
		}
		cJSON_free(json);
		if (rc == BILLING_EEXISTS)
			return billing__sqlb_unique_error(sh);
		if (rc < 0)
			return rc;
	}
	return BILLING_OK;
}

static int rec_record_update(billing_txn *tx, const billing_resource *res, const void *rec,
	int64_t old_version)
{
	const sqlb_shape *sh;
	sql_stmt *s;
	int rc, changes = 0;

	if ((rc = record_shape(&sh, tx, res, rec)) < 0)
		return rc;
	if (!sh->text[SQLB_UPDATE])
		return billing__error_set(BILLING_EINVALID, "not_updatable",
			"%s has no field an update could change", res->name ? res->name : res->table);
	if ((rc = prepare(&s, tx, sh->text[SQLB_UPDATE])) < 0)
		return rc;
	note_write(tx, res);
	billing__sqlb_bind_record(s, sh, rec);
	if (sh->version)
		bind_int(s, (int)res->field_count + 1, old_version);
	rc = exec_stmt(s, BILLING_EINVALID, &changes);
	if (rc == BILLING_EEXISTS)
		return billing__sqlb_unique_error(sh);
	if (rc < 0)
		return rc;
	return changes == 1 ? BILLING_OK : billing__error_set(BILLING_ESTALE, "stale_version",
		"the %s changed since it was read", res->name ? res->name : res->table);
}

/* Steps s and hands each row, read by the builder into rec, to cb.
 * want_one: BILLING_ENOTFOUND when there is no row. */
static int emit_records(sql_stmt *s, const sqlb_shape *sh, void *rec, billing_row_cb cb,
	void *payload, int want_one)
{
	int rc, rows = 0;
	while ((rc = step(s, 0)) == 1) {
		billing__sqlb_read(s, sh, rec);
		rows++;
		if ((rc = cb(payload, rec)) != 0)
			break;
	}
	s->drv->reset(s);
	if (rc > 0)
		return BILLING_OK;
	if (rc == 0 && want_one && rows == 0)
		return billing__error_set(BILLING_ENOTFOUND, NULL, "no such %s",
			sh->res->name ? sh->res->name : sh->res->table);
	return rc;
}

/* A record buffer: on the stack when the record fits, else the heap. */
union record_buf { max_align_t align; unsigned char bytes[512]; };

static void *record_buf(union record_buf *local, const billing_resource *res)
{
	return res->record_size <= sizeof(*local) ? (void *)local : billing__malloc(res->record_size);
}

static void record_buf_free(union record_buf *local, void *rec)
{
	if (rec != (void *)local)
		billing__free(rec);
}

/* The rows of res that meet where (?1..?nargs: args), locked for update
 * in a write transaction when lock is set: the few reads by something
 * other than the key. */
static int rec_record_read(billing_txn *tx, const billing_resource *res, const char *tenant_id,
	const char *id, unsigned int lock, billing_row_cb cb, void *payload)
{
	union record_buf local;
	const sqlb_shape *sh;
	sql_stmt *s;
	void *rec;
	int rc;

	if ((rc = billing__sqlb_shape(&sh, res, tx->drv)) < 0 || (rc = key_ok(sh, tenant_id, id)) < 0)
		return rc;
	if (lock > BILLING_LOCK_UPDATE)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "lock",
			"unknown lock %u", lock);
	if ((rc = prepare(&s, tx, billing__sqlb_select(sh, tx->kind, lock))) < 0)
		return rc;
	if ((rec = record_buf(&local, res)) == NULL) {
		s->drv->reset(s);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	billing__sqlb_bind_key(s, sh, tenant_id, id);
	rc = emit_records(s, sh, rec, cb, payload, 1);
	record_buf_free(&local, rec);
	return rc;
}

static int rec_record_delete(billing_txn *tx, const billing_resource *res,
	const char *tenant_id, const char *id)
{
	const sqlb_shape *sh;
	sql_stmt *s;
	int rc, changes = 0;

	if ((rc = billing__sqlb_shape(&sh, res, tx->drv)) < 0 ||
	    (rc = key_ok(sh, tenant_id, id)) < 0 ||
	    (rc = prepare(&s, tx, sh->text[SQLB_DELETE])) < 0)
		return rc;
	note_write(tx, res);
	billing__sqlb_bind_key(s, sh, tenant_id, id);
	if ((rc = exec_stmt(s, BILLING_ECONFLICT, &changes)) < 0)
		return rc;
	/* Rows keyed by their owner (invoice lines) share the id: all go. */
	return changes >= 1 ? BILLING_OK : billing__error_set(BILLING_ENOTFOUND, NULL,
		"no %s %s", res->name ? res->name : res->table, id);
}

/* Runs a built list query: the count into *q->total, or the rows to cb. */
static int run_record_list(billing_txn *tx, const sqlb_shape *sh, const char *tenant_id,
	const billing_list_query *q, int count, billing_row_cb cb, void *payload, void *rec)
{
	sqlb_list l;
	sql_stmt *s;
	int rc;

	if ((rc = billing__sqlb_list(&l, sh, tenant_id, q, count)) < 0 ||
	    (rc = prepare_dynamic(&s, tx, l.sql.s)) < 0) {
		billing__sqlb_list_free(&l);
		return rc;
	}
	billing__sqlb_list_bind(s, &l);
	if (count) {
		if ((rc = step(s, 0)) == 1) {
			*q->total = col_int(s, 0);
			rc = BILLING_OK;
		} else if (rc == 0) {
			rc = billing__error_set(BILLING_ESTORAGE, "storage", "count returned no row");
		}
	} else {
		while ((rc = step(s, 0)) == 1) {
			billing__sqlb_read(s, sh, rec);
			if ((rc = cb(payload, rec)) != 0)
				break;
		}
		if (rc > 0)
			rc = BILLING_OK;
	}
	s->drv->reset(s);
	billing__sqlb_list_free(&l);
	return rc;
}

static int rec_record_list(billing_txn *tx, const billing_resource *res, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	union record_buf local;
	const sqlb_shape *sh;
	void *rec;
	int rc;

	if ((rc = billing__sqlb_shape(&sh, res, tx->drv)) < 0)
		return rc;
	if (!q)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "q",
			"q must not be NULL");
	if ((rec = record_buf(&local, res)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (q->total)
		rc = run_record_list(tx, sh, tenant_id, q, 1, cb, payload, rec);
	/* limit 0 with a total: a count, no rows to read */
	if (rc >= 0 && (q->limit > 0 || !q->total))
		rc = run_record_list(tx, sh, tenant_id, q, 0, cb, payload, rec);
	record_buf_free(&local, rec);
	return rc;
}

/* ------------------------------------------------------------ idempotency */

static int rec_idempotency_get(billing_txn *tx, const char *tenant_id, const char *key,
	billing_row_cb cb, void *payload)
{
	billing_idempotency_record r;
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT tenant_id, idem_key, operation, request_hash, "
		"resource_id, created_at FROM idempotency_keys WHERE tenant_id = ?1 AND idem_key = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, key);
	return emit_rows(s, read_idempotency, &r, cb, payload, 1);
}

static int rec_idempotency_insert(billing_txn *tx, const billing_idempotency_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO idempotency_keys (tenant_id, idem_key, "
		"operation, request_hash, resource_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->key);
	bind_text(s, 3, r->operation);
	bind_text(s, 4, r->request_hash);
	bind_text(s, 5, r->resource_id);
	bind_int(s, 6, r->created_at);
	/* Its answer is only an error (a key used at once by another call):
	 * on PostgreSQL it goes with the COMMIT, which then fails with it. */
	return exec_deferred(s, BILLING_EINVALID);
}

/* ------------------------------------------------------------ invoice numbers */

static int rec_invoice_number_next(billing_txn *tx, const char *tenant_id, int64_t *number)
{
	sql_stmt *s;
	int rc;
	/* The upsert takes the counter row's lock until the transaction ends:
	 * a concurrent finalization waits, so numbers come out 1, 2, 3 ... with
	 * no gap (a rolled-back transaction gives its number back). */
	rc = prepare(&s, tx, "INSERT INTO invoice_numbers (tenant_id, last_number) VALUES (?1, 1) "
		"ON CONFLICT (tenant_id) DO UPDATE SET last_number = invoice_numbers.last_number + 1 "
		"RETURNING last_number");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	if (s->drv->defer && strcmp(tx->number_tenant, tenant_id) == 0) {
		/* The counter is this transaction's since its first number here
		 * (a batch of the billing run numbers a tenant's renewals one
		 * after the other): the next is the last plus one, and the
		 * upsert that moves the row there goes with the next statement
		 * that waits (no round trip of its own; same effect, same lock). */
		if ((rc = exec_deferred(s, 0)) < 0)
			return rc;
		*number = ++tx->number_last;
		return BILLING_OK;
	}
	if ((rc = step(s, 0)) != 1) {
		s->drv->reset(s);
		return rc < 0 ? rc : billing__error_set(BILLING_ESTORAGE, "storage",
			"the invoice counter returned nothing");
	}
	*number = col_int(s, 0);
	s->drv->reset(s);
	if (s->drv->defer && strlen(tenant_id) < sizeof(tx->number_tenant)) {
		memcpy(tx->number_tenant, tenant_id, strlen(tenant_id) + 1);
		tx->number_last = *number;
	}
	return BILLING_OK;
}

/* ------------------------------------------------------------ due work */

static int rec_due_set(billing_txn *tx, const billing_due_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO due_work (tenant_id, kind, resource_id, due_at) "
		"VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, kind, resource_id) "
		"DO UPDATE SET due_at = ?4");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->kind);
	bind_text(s, 3, r->resource_id);
	bind_int(s, 4, r->due_at);
	/* Its answer only reports errors, and no caller acts on one but by
	 * failing: it goes with the next statement that waits (PostgreSQL),
	 * which the server runs after it, so the statements' order, and the
	 * order their locks are taken in, stay the code's. */
	return exec_deferred(s, BILLING_EINVALID);
}

int billing__sql_endpoints_version(billing_txn *tx, const char *tenant_id, int64_t *version)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT version FROM webhook_endpoint_versions "
		"WHERE tenant_id = ?1");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	rc = step(s, 0);
	*version = rc == 1 ? col_int(s, 0) : 0;
	s->drv->reset(s);
	return rc < 0 ? rc : BILLING_OK;
}

static int rec_due_clear(billing_txn *tx, const char *tenant_id, const char *kind,
	const char *resource_id)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "DELETE FROM due_work WHERE tenant_id = ?1 AND kind = ?2 "
		"AND resource_id = ?3");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, kind);
	bind_text(s, 3, resource_id);
	return exec_stmt(s, 0, NULL);
}

#define DUE_LOCK "SELECT due_at FROM due_work WHERE tenant_id = ?1 AND kind = ?2 " \
	"AND resource_id = ?3"

static int rec_due_lock(billing_txn *tx, const char *tenant_id, const char *kind,
	const char *resource_id, int skip_locked)
{
	sql_stmt *s;
	int rc;
	/* SQLite: the write transaction holds the database's write lock, so
	 * the row is this transaction's already; a read locks nothing. */
	if (tx->kind != BILLING_TXN_WRITE)
		return BILLING_OK;
	rc = prepare(&s, tx, !tx->drv->for_update ? DUE_LOCK : skip_locked ?
		DUE_LOCK " FOR UPDATE SKIP LOCKED" : DUE_LOCK " FOR UPDATE");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, kind);
	bind_text(s, 3, resource_id);
	rc = step(s, 0);
	s->drv->reset(s);
	if (rc < 0)
		return rc;
	return rc == 1 ? BILLING_OK : BILLING_ENOTFOUND;
}

static void read_due(sql_stmt *s, void *record)
{
	billing_due_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->kind = col_text(s, 1);
	r->resource_id = col_text(s, 2);
	r->due_at = col_int(s, 3);
}

#define DUE_CLAIM "SELECT tenant_id, kind, resource_id, due_at FROM due_work " \
	"WHERE due_at <= ?1 ORDER BY due_at, tenant_id, kind, resource_id LIMIT 1"

static int rec_due_claim(billing_txn *tx, int64_t now, billing_row_cb cb, void *payload)
{
	billing_due_record r;
	sql_stmt *s;
	/* PostgreSQL: skip what another worker holds, so workers never wait on
	 * or repeat each other's items. SQLite: the write lock serializes runs. */
	int rc = prepare(&s, tx, tx->drv->for_update ? DUE_CLAIM " FOR UPDATE SKIP LOCKED" :
		DUE_CLAIM);
	if (rc < 0)
		return rc;
	bind_int(s, 1, now);
	return emit_rows(s, read_due, &r, cb, payload, 1);
}

#define DUE_CLAIM_MANY "SELECT tenant_id, kind, resource_id, due_at FROM due_work " \
	"WHERE due_at <= ?1 ORDER BY due_at, tenant_id, kind, resource_id LIMIT ?2"

/* The batch of the billing run: one statement, the same order and locks as
 * due_claim. */
static int rec_due_claim_many(billing_txn *tx, int64_t now, unsigned int limit,
	billing_row_cb cb, void *payload)
{
	billing_due_record r;
	sql_stmt *s;
	int rc;

	if (limit == 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "limit", "must be at least 1");
	rc = prepare(&s, tx, tx->drv->for_update ? DUE_CLAIM_MANY " FOR UPDATE SKIP LOCKED" :
		DUE_CLAIM_MANY);
	if (rc < 0)
		return rc;
	bind_int(s, 1, now);
	bind_int(s, 2, (int64_t)limit);
	return emit_rows(s, read_due, &r, cb, payload, 1);
}

static int rec_due_count(billing_txn *tx, int64_t now, int64_t *count)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT count(*) FROM due_work WHERE due_at <= ?1");
	if (rc < 0)
		return rc;
	bind_int(s, 1, now);
	if ((rc = step(s, 0)) != 1) {
		s->drv->reset(s);
		return rc < 0 ? rc : billing__error_set(BILLING_ESTORAGE, "storage",
			"count returned no row");
	}
	*count = col_int(s, 0);
	s->drv->reset(s);
	return BILLING_OK;
}

static int rec_set_tenant(billing_txn *tx, const char *tenant_id)
{
	return tx->drv->set_tenant(tx, tenant_id);
}

/* ------------------------------------------------------------ provider events */

static int rec_provider_event_insert(billing_txn *tx, const char *tenant_id,
	const char *provider, const char *event_id, const char *type, int64_t received_at)
{
	sql_stmt *s;
	int changes = 0, rc;
	/* DO NOTHING rather than a unique violation: on PostgreSQL a violation
	 * would abort the whole transaction, and a duplicate is not an error
	 * of the transaction, only of this event. */
	rc = prepare(&s, tx, "INSERT INTO provider_events (tenant_id, provider, event_id, type, "
		"received_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, provider);
	bind_text(s, 3, event_id);
	bind_text(s, 4, type);
	bind_int(s, 5, received_at);
	if ((rc = exec_stmt(s, BILLING_EINVALID, &changes)) < 0)
		return rc;
	return changes == 1 ? BILLING_OK : BILLING_EEXISTS;
}

/* ------------------------------------------------------------ retention */

static int rec_events_prune(billing_txn *tx, const char *tenant_id, int64_t before,
	unsigned int limit, int64_t *deleted)
{
	/* Each statement in parentheses: one element each, written on lines. */
	static const char *const steps[] = {
		("DELETE FROM webhook_attempts WHERE tenant_id = ?1 AND delivery_id IN "
		"(SELECT id FROM webhook_deliveries WHERE tenant_id = ?1 AND event_id IN "
		"(SELECT id FROM events WHERE tenant_id = ?1 AND created_at < ?2 "
		"ORDER BY created_at, id LIMIT ?3))"),
		("DELETE FROM webhook_deliveries WHERE tenant_id = ?1 AND event_id IN "
		"(SELECT id FROM events WHERE tenant_id = ?1 AND created_at < ?2 "
		"ORDER BY created_at, id LIMIT ?3)"),
		("DELETE FROM events WHERE tenant_id = ?1 AND id IN (SELECT id FROM events "
		"WHERE tenant_id = ?1 AND created_at < ?2 ORDER BY created_at, id LIMIT ?3)"),
	};
	size_t i;
	int changes = 0, rc = BILLING_OK;

	for (i = 0; rc == BILLING_OK && i < sizeof(steps) / sizeof(steps[0]); i++) {
		sql_stmt *s;
		if ((rc = prepare(&s, tx, steps[i])) < 0)
			break;
		bind_text(s, 1, tenant_id);
		bind_int(s, 2, before);
		bind_int(s, 3, limit);
		rc = exec_stmt(s, BILLING_ECONFLICT, &changes);
	}
	*deleted = changes;
	return rc;
}

/* ------------------------------------------------------------ history (version 14) */

static void read_state(sql_stmt *s, void *record)
{
	billing_event_state_record *r = record;
	r->resource_id = col_text(s, 0);
	r->type = col_text(s, 1);
	r->data = col_text(s, 2);
	r->created_at = col_int(s, 3);
}

/* The same text on both dialects: window functions are in SQLite since
 * 3.25 and in every supported PostgreSQL. The scan is the tenant's events
 * of one resource type up to at (events_created covers tenant and time). */
#define EVENTS_LATEST "SELECT resource_id, type, data, created_at FROM (" \
	"SELECT resource_id, type, data, created_at, ROW_NUMBER() OVER (" \
	"PARTITION BY resource_id ORDER BY created_at DESC, id DESC) AS rn " \
	"FROM events WHERE tenant_id = ?1 AND resource_type = ?2 AND created_at <= ?3" \
	") latest WHERE rn = 1 ORDER BY resource_id"

static int rec_events_latest(billing_txn *tx, const char *tenant_id, const char *resource_type,
	int64_t at, billing_row_cb cb, void *payload)
{
	billing_event_state_record r;
	sql_stmt *s;
	int rc;

	if (!tenant_id || !resource_type)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "resource_type",
			"events_latest needs a tenant and a resource type");
	if ((rc = prepare(&s, tx, EVENTS_LATEST)) < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, resource_type);
	bind_int(s, 3, at);
	return emit_rows(s, read_state, &r, cb, payload, 0);
}


void billing__sql_install(billing_storage *st)
{
	st->set_tenant = rec_set_tenant;
	st->record_insert = rec_record_insert;
	st->record_update = rec_record_update;
	st->record_read = rec_record_read;
	st->record_delete = rec_record_delete;
	st->record_list = rec_record_list;
	st->meta_get = rec_meta_get;
	st->meta_put = rec_meta_put;
	st->meta_set = rec_meta_set;
	st->idempotency_get = rec_idempotency_get;
	st->idempotency_insert = rec_idempotency_insert;
	st->invoice_number_next = rec_invoice_number_next;
	st->due_set = rec_due_set;
	st->due_clear = rec_due_clear;
	st->due_lock = rec_due_lock;
	st->due_claim = rec_due_claim;
	st->due_count = rec_due_count;
	st->provider_event_insert = rec_provider_event_insert;
	st->events_prune = rec_events_prune;
	st->due_claim_many = rec_due_claim_many;
	st->record_insert_many = rec_record_insert_many;
	st->events_latest = rec_events_latest;
	billing__sql_usage_install(st);
}
