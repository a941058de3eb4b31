/*
 * Every data method of the storage vtable, written once for the SQL that
 * SQLite and PostgreSQL share (see sql.h), plus the list query builder and
 * the migration runner.
 *
 * Statements are string literals with ?N placeholders; a list query is
 * built from a fixed set of clauses, so the number of distinct texts is
 * small and each is prepared once per connection.
 */
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

/* In a write transaction a get locks the row it reads, where the dialect
 * can (PostgreSQL; SQLite's write transaction holds the database lock
 * already), so an update's read-modify-write never interleaves with
 * another's. */
#define LOCKED(tx, sql) \
	((tx)->kind == BILLING_TXN_WRITE && (tx)->drv->for_update ? sql " FOR UPDATE" : sql) /* NOLINT(bugprone-macro-parentheses): a literal */

/* The same, as a BILLING_LOCK_* says (the *_read methods). */
#define LOCKED_AS(tx, lock, sql) \
	((tx)->kind != BILLING_TXN_WRITE || !(tx)->drv->for_update || (lock) == BILLING_LOCK_NONE ? \
	sql : (lock) == BILLING_LOCK_SHARE ? sql " FOR SHARE" : sql " FOR UPDATE") /* NOLINT(bugprone-macro-parentheses): a literal */

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

static int rec_record_insert(billing_txn *tx, const billing_resource *res, const void *rec)
{
	const sqlb_shape *sh;
	sql_stmt *s;
	int rc;

	if ((rc = record_shape(&sh, tx, res, rec)) < 0 ||
	    (rc = prepare(&s, tx, sh->text[SQLB_INSERT])) < 0)
		return rc;
	billing__sqlb_bind_record(s, sh, rec);
	rc = exec_stmt(s, BILLING_EINVALID, NULL);
	return rc == BILLING_EEXISTS ? billing__sqlb_unique_error(sh) : rc;
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
static int select_where(billing_txn *tx, const billing_resource *res, const char *where,
	int lock, const char *const *args, int nargs, billing_row_cb cb, void *payload,
	int want_one)
{
	union record_buf local;
	const sqlb_shape *sh;
	char sql[SQL_MAX];
	sql_stmt *s;
	void *rec;
	int rc, i, n;

	if ((rc = billing__sqlb_shape(&sh, res, tx->drv)) < 0)
		return rc;
	n = snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s%s", sh->columns, res->table,
		where, lock && tx->kind == BILLING_TXN_WRITE && tx->drv->for_update ?
		" FOR UPDATE" : "");
	if (n < 0 || (size_t)n >= sizeof(sql))
		return billing__error_set(BILLING_ERROR, "statement_too_long",
			"the %s query is too long", res->table);
	if ((rc = prepare_dynamic(&s, tx, sql)) < 0)
		return rc;
	if ((rec = record_buf(&local, res)) == NULL) {
		s->drv->reset(s);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	for (i = 0; i < nargs; i++)
		bind_text(s, i + 1, args[i]);
	rc = emit_records(s, sh, rec, cb, payload, want_one);
	record_buf_free(&local, rec);
	return rc;
}

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

/* ------------------------------------------------------------ lists */

/* What differs between the entities' list queries. */
struct list_shape {
	const billing_resource *res; /* the table, its columns and how a row reads */
	const char *id_col;          /* the id column (tenants: tenant_id) */
	int tenant_scoped;
	const char *search[2];       /* columns the search matches */
	const char *extra_where;     /* always applied, or NULL */
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
	case BILLING_SORT_PERIOD_END: *is_text = 0; return "current_period_end";
	case BILLING_SORT_CREATED:
	default: *is_text = 0; return "created_at";
	}
}

/*
 * Bound values of a dynamic query, numbered ?1.. in order of appending. A
 * list query binds at most 17 values in where_filters (the tenant, the
 * search and 15 filters) and 3 more in run_list (the keyset's two, or the
 * offset, and the limit): 20. BINDS_MAX leaves room for a filter or two
 * more; one beyond it is refused, never written past the array: the value
 * is dropped, the list fails with "list query too long".
 */
#define BINDS_MAX 24

struct binds {
	int n;
	int overflow;
	struct { int is_text; const char *text; int64_t i; } v[BINDS_MAX];
};

static int bind_add(struct binds *b, int is_text, const char *t, int64_t i)
{
	if (b->n >= BINDS_MAX) {
		b->overflow = 1;
		return BINDS_MAX;
	}
	b->v[b->n].is_text = is_text;
	b->v[b->n].text = t;
	b->v[b->n].i = i;
	return ++b->n;
}

static int bind_add_text(struct binds *b, const char *t)
{
	return bind_add(b, 1, t, 0);
}

static int bind_add_int(struct binds *b, int64_t i)
{
	return bind_add(b, 0, NULL, i);
}

static void binds_apply(sql_stmt *s, const struct binds *b)
{
	int i;
	BILLING_ASSERT(!b->overflow && b->n >= 0 && b->n <= BINDS_MAX);
	for (i = 0; i < b->n; i++) {
		if (b->v[i].is_text)
			bind_text(s, i + 1, b->v[i].text);
		else
			bind_int(s, i + 1, b->v[i].i);
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
	const char *tenant_id, const billing_list_query *lq, char *pattern, size_t patsize,
	const char *like)
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
		/* LIKE with the wildcards of the search text escaped, folding case:
		 * SQLite's LIKE folds ASCII, PostgreSQL's ILIKE folds per locale. */
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
			sql_add(q, "%s(%s %s ?%d ESCAPE '\\' OR %s %s ?%d ESCAPE '\\')",
				sep, sh->search[0], like, n, sh->search[1], like, n);
		else
			sql_add(q, "%s%s %s ?%d ESCAPE '\\'", sep, sh->search[0], like, n);
		sep = " AND ";
	}
	if (lq->active == 1 || lq->active == 2) {
		const char *col = strcmp(sh->res->table, "products") == 0 ? "is_active" : "active";
		sql_add(q, "%s%s = %d", sep, col, lq->active == 1 ? 1 : 0);
		sep = " AND ";
	}
	if (lq->has_min_amount || lq->has_max_amount) {
		const char *col = strcmp(sh->res->table, "products") == 0 ? "price_cents" : "amount";
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
	if (lq->customer_id) {
		sql_add(q, "%scustomer_id = ?%d", sep, bind_add_text(b, lq->customer_id));
		sep = " AND ";
	}
	if (lq->plan_id) {
		sql_add(q, "%splan_id = ?%d", sep, bind_add_text(b, lq->plan_id));
		sep = " AND ";
	}
	if (lq->subscription_id) {
		sql_add(q, "%ssubscription_id = ?%d", sep, bind_add_text(b, lq->subscription_id));
		sep = " AND ";
	}
	if (lq->status) {
		sql_add(q, "%sstatus = ?%d", sep, bind_add_int(b, lq->status));
		sep = " AND ";
	}
	if (lq->has_period_from) {
		sql_add(q, "%speriod_start >= ?%d", sep, bind_add_int(b, lq->period_from));
		sep = " AND ";
	}
	if (lq->has_period_to) {
		sql_add(q, "%speriod_start < ?%d", sep, bind_add_int(b, lq->period_to));
		sep = " AND ";
	}
	if (lq->type) {
		sql_add(q, "%stype = ?%d", sep, bind_add_text(b, lq->type));
		sep = " AND ";
	}
	if (lq->has_created_after) {
		sql_add(q, "%screated_at > ?%d", sep, bind_add_int(b, lq->created_after));
		sep = " AND ";
	}
	if (lq->invoice_id) {
		sql_add(q, "%sinvoice_id = ?%d", sep, bind_add_text(b, lq->invoice_id));
		sep = " AND ";
	}
	if (lq->endpoint_id) {
		sql_add(q, "%sendpoint_id = ?%d", sep, bind_add_text(b, lq->endpoint_id));
		sep = " AND ";
	}
	if (lq->event_id) {
		sql_add(q, "%sevent_id = ?%d", sep, bind_add_text(b, lq->event_id));
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
	const sqlb_shape *bsh;
	union record_buf local;
	sql_stmt *s;
	void *rec;
	int is_text, rc, has_where;

	if ((rc = billing__sqlb_shape(&bsh, sh->res, tx->drv)) < 0)
		return rc;
	col = sort_column(lq->sort, &is_text);

	if (lq->total) {
		struct sqlbuf cq = { .len = 0 };
		struct binds cb_ = { .n = 0 };
		sql_add(&cq, "SELECT count(*) FROM %s", sh->res->table);
		where_filters(&cq, &cb_, sh, tenant_id, lq, pattern, sizeof(pattern),
			tx->drv->like);
		if (cq.overflow || cb_.overflow)
			return billing__error_set(BILLING_ERROR, NULL, "list query too long");
		if ((rc = prepare_dynamic(&s, tx, cq.s)) < 0)
			return rc;
		binds_apply(s, &cb_);
		if ((rc = step(s, 0)) != 1) {
			s->drv->reset(s);
			return rc < 0 ? rc : billing__error_set(BILLING_ESTORAGE, "storage", "count returned no row");
		}
		*lq->total = col_int(s, 0);
		s->drv->reset(s);
	}

	sql_add(&q, "SELECT %s FROM %s", bsh->columns, sh->res->table);
	has_where = where_filters(&q, &b, sh, tenant_id, lq, pattern, sizeof(pattern),
		tx->drv->like);
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
	if (q.overflow || b.overflow)
		return billing__error_set(BILLING_ERROR, NULL, "list query too long");

	if ((rc = prepare_dynamic(&s, tx, q.s)) < 0)
		return rc;
	if ((rec = record_buf(&local, sh->res)) == NULL) {
		s->drv->reset(s);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	binds_apply(s, &b);
	rc = emit_records(s, bsh, rec, cb, payload, 0);
	record_buf_free(&local, rec);
	return rc;
}

static const struct list_shape tenant_shape = {
	&billing__res_tenant, "tenant_id", 0, { "name", NULL }, NULL
};
static const struct list_shape customer_shape = {
	&billing__res_customer, "id", 1, { "name", "email" }, NULL
};
static const struct list_shape product_shape = {
	&billing__res_product, "id", 1, { "name", "sku" }, NULL
};
static const struct list_shape plan_shape = {
	&billing__res_plan, "id", 1, { "name", "code" }, "deleted_at IS NULL"
};

/* ------------------------------------------------------------ tenants */

static int rec_tenant_insert(billing_txn *tx, const billing_tenant_record *r)
{
	return rec_record_insert(tx, &billing__res_tenant, r);
}

static int rec_tenant_get(billing_txn *tx, const char *tenant_id, billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_tenant, NULL, tenant_id, BILLING_LOCK_NONE, cb,
		payload);
}

static int rec_tenant_list(billing_txn *tx, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &tenant_shape, NULL, q, cb, payload);
}

/* ------------------------------------------------------------ customers */

static int rec_customer_insert(billing_txn *tx, const billing_customer_record *r)
{
	return rec_record_insert(tx, &billing__res_customer, r);
}

static int rec_customer_update(billing_txn *tx, const billing_customer_record *r,
	int64_t old_version)
{
	return rec_record_update(tx, &billing__res_customer, r, old_version);
}

static int rec_customer_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_customer, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int rec_customer_read(billing_txn *tx, const char *tenant_id, const char *id,
	unsigned int lock, billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_customer, tenant_id, id, lock, cb, payload);
}

static int rec_customer_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return rec_record_delete(tx, &billing__res_customer, tenant_id, id);
}

static int rec_customer_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &customer_shape, tenant_id, q, cb, payload);
}

/* ------------------------------------------------------------ products */

static int rec_product_insert(billing_txn *tx, const billing_product_record *r)
{
	return rec_record_insert(tx, &billing__res_product, r);
}

static int rec_product_update(billing_txn *tx, const billing_product_record *r,
	int64_t old_version)
{
	return rec_record_update(tx, &billing__res_product, r, old_version);
}

static int rec_product_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_product, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int rec_product_read(billing_txn *tx, const char *tenant_id, const char *id,
	unsigned int lock, billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_product, tenant_id, id, lock, cb, payload);
}

static int rec_product_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return rec_record_delete(tx, &billing__res_product, tenant_id, id);
}

static int rec_product_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &product_shape, tenant_id, q, cb, payload);
}

static int rec_product_plan_count(billing_txn *tx, const char *tenant_id, const char *product_id,
	int64_t *count)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT count(*) FROM plans "
		"WHERE tenant_id = ?1 AND product_id = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, product_id);
	if ((rc = step(s, 0)) != 1) {
		s->drv->reset(s);
		return rc < 0 ? rc : billing__error_set(BILLING_ESTORAGE, "storage", "count returned no row");
	}
	*count = col_int(s, 0);
	s->drv->reset(s);
	return BILLING_OK;
}

/* ------------------------------------------------------------ plans */

static int rec_plan_insert(billing_txn *tx, const billing_plan_record *r)
{
	return rec_record_insert(tx, &billing__res_plan, r);
}

static int rec_plan_update(billing_txn *tx, const billing_plan_record *r,
	int64_t old_version)
{
	return rec_record_update(tx, &billing__res_plan, r, old_version);
}

static int rec_plan_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_plan, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int rec_plan_read(billing_txn *tx, const char *tenant_id, const char *id,
	unsigned int lock, billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_plan, tenant_id, id, lock, cb, payload);
}

static int rec_plan_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &plan_shape, tenant_id, q, cb, payload);
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
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

/* ------------------------------------------------------------ users */

static int rec_user_insert(billing_txn *tx, const billing_user_record *r)
{
	return rec_record_insert(tx, &billing__res_user, r);
}

static int rec_user_get_by_email(billing_txn *tx, const char *email_key,
	billing_row_cb cb, void *payload)
{
	const char *args[] = { email_key };
	return select_where(tx, &billing__res_user, "email_key = ?1", 0, args, 1, cb, payload, 1);
}

static int rec_user_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_user, tenant_id, id, BILLING_LOCK_NONE, cb, payload);
}

static int rec_user_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return rec_record_delete(tx, &billing__res_user, tenant_id, id);
}


/* ------------------------------------------------------------ subscriptions */

static int rec_subscription_insert(billing_txn *tx, const billing_subscription_record *r)
{
	return rec_record_insert(tx, &billing__res_subscription, r);
}

static int rec_subscription_update(billing_txn *tx, const billing_subscription_record *r,
	int64_t old_version)
{
	return rec_record_update(tx, &billing__res_subscription, r, old_version);
}

static int rec_subscription_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_subscription, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int count_one(billing_txn *tx, const char *sql, const char *a, const char *b,
	int64_t *count)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, sql);
	if (rc < 0)
		return rc;
	bind_text(s, 1, a);
	bind_text(s, 2, b);
	if ((rc = step(s, 0)) != 1) {
		s->drv->reset(s);
		return rc < 0 ? rc : billing__error_set(BILLING_ESTORAGE, "storage",
			"count returned no row");
	}
	*count = col_int(s, 0);
	s->drv->reset(s);
	return BILLING_OK;
}

static const struct list_shape subscription_shape = {
	&billing__res_subscription, "id", 1, { "id", NULL }, NULL
};

static int rec_subscription_list(billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return run_list(tx, &subscription_shape, tenant_id, q, cb, payload);
}

static char sql_live_count[256];

static void live_count_sql_init(void)
{
	char set[192];
	size_t n = 0;
	int v, w;

	set[0] = '\0';
	for (v = 0; v < 64; v++) {
		if (!billing__status_in(&billing__sub_ended, v))
			continue;
		w = snprintf(set + n, sizeof(set) - n, "%s%d", n ? ", " : "", v);
		if (w < 0 || (size_t)w >= sizeof(set) - n)
			return; /* left empty: the count reports the error */
		n += (size_t)w;
	}
	w = snprintf(sql_live_count, sizeof(sql_live_count), "SELECT count(*) FROM subscriptions "
		"WHERE tenant_id = ?1 AND (plan_id = ?2 OR pending_plan_id = ?2)%s%s%s",
		n ? " AND status NOT IN (" : "", set, n ? ")" : "");
	if (w < 0 || (size_t)w >= sizeof(sql_live_count))
		sql_live_count[0] = '\0';
}

static int rec_plan_live_subscription_count(billing_txn *tx, const char *tenant_id,
	const char *plan_id, int64_t *count)
{
	/* Not ended: the set the core's rules use (core/resources.c), written
	 * into the text once. */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, live_count_sql_init);
	if (!sql_live_count[0])
		return billing__error_set(BILLING_ERROR, NULL, "live subscription count query too long");
	return count_one(tx, sql_live_count, tenant_id, plan_id, count);
}

/* ------------------------------------------------------------ invoices */

static int rec_invoice_insert(billing_txn *tx, const billing_invoice_record *r)
{
	sql_stmt *s;
	size_t i;
	int rc = rec_record_insert(tx, &billing__res_invoice, r);
	if (rc < 0)
		return rc;
	for (i = 0; i < r->line_count; i++) {
		const billing_invoice_line *l = &r->lines[i];
		if ((rc = prepare(&s, tx, "INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, "
				"description, plan_id, period_start, period_end, quantity, unit_amount, "
				"amount, tax_rate_bp, tax_amount, proration) VALUES (?1, ?2, ?3, ?4, ?5, "
				"?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")) < 0)
			return rc;
		bind_text(s, 1, r->tenant_id);
		bind_text(s, 2, r->id);
		bind_int(s, 3, (int64_t)i + 1);
		bind_text(s, 4, l->description);
		bind_text(s, 5, l->plan_id);
		bind_int(s, 6, l->period_start);
		bind_int(s, 7, l->period_end);
		bind_int(s, 8, l->quantity);
		bind_int(s, 9, l->unit_amount);
		bind_int(s, 10, l->amount);
		bind_int(s, 11, l->tax_rate_bp);
		bind_int(s, 12, l->tax_amount);
		bind_int(s, 13, l->proration ? 1 : 0);
		if ((rc = exec_stmt(s, BILLING_EINVALID, NULL)) < 0)
			return rc;
	}
	return BILLING_OK;
}

static int rec_invoice_update(billing_txn *tx, const billing_invoice_record *r,
	int64_t old_version)
{
	return rec_record_update(tx, &billing__res_invoice, r, old_version);
}

static const struct list_shape invoice_shape = {
	&billing__res_invoice, "id", 1, { "number", NULL }, NULL
};

static int rec_invoice_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &invoice_shape, tenant_id, q, cb, payload);
}

static int rec_invoice_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_invoice, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static void read_line(sql_stmt *s, void *record)
{
	billing_invoice_line *l = record;
	l->description = col_text(s, 0);
	l->plan_id = col_text(s, 1);
	l->period_start = col_int(s, 2);
	l->period_end = col_int(s, 3);
	l->quantity = (int32_t)col_int(s, 4);
	l->unit_amount = col_int(s, 5);
	l->amount = col_int(s, 6);
	l->tax_rate_bp = (int32_t)col_int(s, 7);
	l->tax_amount = col_int(s, 8);
	l->proration = (int)col_int(s, 9);
}

/* Lines of an invoice or waiting for one: the same columns, owner_id
 * names the invoice or the subscription. */
static int select_lines(billing_txn *tx, const char *sql, const char *tenant_id,
	const char *owner_id, billing_row_cb cb, void *payload)
{
	billing_invoice_line l;
	sql_stmt *s;
	int rc = prepare(&s, tx, sql);
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, owner_id);
	return emit_rows(s, read_line, &l, cb, payload, 0);
}

static int rec_invoice_lines(billing_txn *tx, const char *tenant_id, const char *invoice_id,
	billing_row_cb cb, void *payload)
{
	return select_lines(tx, "SELECT description, plan_id, period_start, period_end, quantity, "
		"unit_amount, amount, tax_rate_bp, tax_amount, proration FROM invoice_lines "
		"WHERE tenant_id = ?1 AND invoice_id = ?2 ORDER BY line_no", tenant_id, invoice_id,
		cb, payload);
}

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
	if ((rc = step(s, 0)) != 1) {
		s->drv->reset(s);
		return rc < 0 ? rc : billing__error_set(BILLING_ESTORAGE, "storage",
			"the invoice counter returned nothing");
	}
	*number = col_int(s, 0);
	s->drv->reset(s);
	return BILLING_OK;
}

/* ------------------------------------------------------------ pending lines */

static int rec_pending_line_add(billing_txn *tx, const char *tenant_id,
	const char *subscription_id, const billing_invoice_line *l)
{
	sql_stmt *s;
	/* Numbered after the lines already waiting, in the same statement. */
	int rc = prepare(&s, tx, "INSERT INTO pending_lines (tenant_id, subscription_id, line_no, "
		"description, plan_id, period_start, period_end, quantity, unit_amount, amount, "
		"tax_rate_bp, proration) SELECT ?1, ?2, coalesce(max(line_no), 0) + 1, ?3, ?4, "
		"CAST(?5 AS BIGINT), CAST(?6 AS BIGINT), CAST(?7 AS INTEGER), CAST(?8 AS BIGINT), "
		"CAST(?9 AS BIGINT), CAST(?10 AS INTEGER), CAST(?11 AS INTEGER) FROM pending_lines "
		"WHERE tenant_id = ?1 AND subscription_id = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, subscription_id);
	bind_text(s, 3, l->description);
	bind_text(s, 4, l->plan_id);
	bind_int(s, 5, l->period_start);
	bind_int(s, 6, l->period_end);
	bind_int(s, 7, l->quantity);
	bind_int(s, 8, l->unit_amount);
	bind_int(s, 9, l->amount);
	bind_int(s, 10, l->tax_rate_bp);
	bind_int(s, 11, l->proration ? 1 : 0);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_pending_lines(billing_txn *tx, const char *tenant_id, const char *subscription_id,
	billing_row_cb cb, void *payload)
{
	/* Their tax is computed when they go on an invoice. */
	return select_lines(tx, "SELECT description, plan_id, period_start, period_end, quantity, "
		"unit_amount, amount, tax_rate_bp, 0, proration FROM pending_lines "
		"WHERE tenant_id = ?1 AND subscription_id = ?2 ORDER BY line_no", tenant_id,
		subscription_id, cb, payload);
}

static int rec_pending_lines_clear(billing_txn *tx, const char *tenant_id,
	const char *subscription_id)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "DELETE FROM pending_lines WHERE tenant_id = ?1 "
		"AND subscription_id = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, subscription_id);
	return exec_stmt(s, 0, NULL);
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
	return exec_stmt(s, BILLING_EINVALID, NULL);
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

/* ------------------------------------------------------------ events */

static int rec_event_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_event, tenant_id, id, BILLING_LOCK_NONE, cb, payload);
}

static const struct list_shape event_shape = {
	&billing__res_event, "id", 1, { "type", NULL }, NULL
};

static int rec_event_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &event_shape, tenant_id, q, cb, payload);
}

static int rec_event_insert(billing_txn *tx, const billing_event_record *r)
{
	return rec_record_insert(tx, &billing__res_event, r);
}

/* ------------------------------------------------------------ payments */

static int rec_payment_insert(billing_txn *tx, const billing_payment_record *r)
{
	return rec_record_insert(tx, &billing__res_payment, r);
}

static int rec_payment_update(billing_txn *tx, const billing_payment_record *r,
	int64_t old_version)
{
	return rec_record_update(tx, &billing__res_payment, r, old_version);
}

static int rec_payment_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_payment, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int rec_payment_get_by_ref(billing_txn *tx, const char *tenant_id, const char *provider,
	const char *ref, billing_row_cb cb, void *payload)
{
	const char *args[] = { tenant_id, provider, ref };
	return select_where(tx, &billing__res_payment,
		"tenant_id = ?1 AND provider = ?2 AND provider_ref = ?3", 1, args, 3, cb, payload, 1);
}

static const struct list_shape payment_shape = {
	&billing__res_payment, "id", 1, { "provider_ref", NULL }, NULL
};

static int rec_payment_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &payment_shape, tenant_id, q, cb, payload);
}

static int rec_refund_insert(billing_txn *tx, const billing_refund_record *r)
{
	return rec_record_insert(tx, &billing__res_refund, r);
}

static int rec_refund_update(billing_txn *tx, const billing_refund_record *r,
	int64_t old_version)
{
	return rec_record_update(tx, &billing__res_refund, r, old_version);
}

static int rec_refund_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_refund, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

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

static void read_dunning(sql_stmt *s, void *record)
{
	billing_dunning_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->retry_days = col_text(s, 1);
	r->final_action = (int)col_int(s, 2);
	r->updated_at = col_int(s, 3);
}

static int rec_dunning_get(billing_txn *tx, const char *tenant_id, billing_row_cb cb,
	void *payload)
{
	billing_dunning_record r;
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT tenant_id, retry_days, final_action, updated_at "
		"FROM dunning_policies WHERE tenant_id = ?1");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	return emit_rows(s, read_dunning, &r, cb, payload, 1);
}

static int rec_dunning_set(billing_txn *tx, const billing_dunning_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO dunning_policies (tenant_id, retry_days, "
		"final_action, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id) "
		"DO UPDATE SET retry_days = ?2, final_action = ?3, updated_at = ?4");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->retry_days);
	bind_int(s, 3, r->final_action);
	bind_int(s, 4, r->updated_at);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

/* ------------------------------------------------------------ webhooks */

static int rec_endpoint_insert(billing_txn *tx, const billing_webhook_endpoint_record *r)
{
	return rec_record_insert(tx, &billing__res_webhook_endpoint, r);
}

static int rec_endpoint_update(billing_txn *tx, const billing_webhook_endpoint_record *r,
	int64_t old_version)
{
	return rec_record_update(tx, &billing__res_webhook_endpoint, r, old_version);
}

static int rec_endpoint_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_webhook_endpoint, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int rec_endpoint_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return rec_record_delete(tx, &billing__res_webhook_endpoint, tenant_id, id);
}

static const struct list_shape endpoint_shape = {
	&billing__res_webhook_endpoint, "id", 1, { "url", NULL }, NULL
};

static int rec_endpoint_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &endpoint_shape, tenant_id, q, cb, payload);
}

static int rec_endpoints_enabled(billing_txn *tx, const char *tenant_id, billing_row_cb cb,
	void *payload)
{
	const char *args[] = { tenant_id };
	return select_where(tx, &billing__res_webhook_endpoint, "tenant_id = ?1 AND enabled = 1",
		0, args, 1, cb, payload, 0);
}

static int rec_delivery_insert(billing_txn *tx, const billing_delivery_record *r)
{
	return rec_record_insert(tx, &billing__res_delivery, r);
}

static int rec_delivery_update(billing_txn *tx, const billing_delivery_record *r,
	int64_t old_version)
{
	return rec_record_update(tx, &billing__res_delivery, r, old_version);
}

static int rec_delivery_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return rec_record_read(tx, &billing__res_delivery, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static const struct list_shape delivery_shape = {
	&billing__res_delivery, "id", 1, { "event_id", NULL }, NULL
};

static int rec_delivery_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &delivery_shape, tenant_id, q, cb, payload);
}

static int rec_attempt_insert(billing_txn *tx, const billing_delivery_attempt_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt_no, "
		"attempted_at, status_code, error, response, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, "
		"?6, ?7, ?8)");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->delivery_id);
	bind_int(s, 3, r->attempt_no);
	bind_int(s, 4, r->attempted_at);
	bind_int(s, 5, r->status_code);
	bind_text(s, 6, r->error);
	bind_text(s, 7, r->response);
	bind_int(s, 8, r->duration_ms);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static void read_attempt(sql_stmt *s, void *record)
{
	billing_delivery_attempt_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->delivery_id = col_text(s, 1);
	r->attempt_no = (int32_t)col_int(s, 2);
	r->attempted_at = col_int(s, 3);
	r->status_code = (int32_t)col_int(s, 4);
	r->error = col_text(s, 5);
	r->response = col_text(s, 6);
	r->duration_ms = col_int(s, 7);
}

static int rec_attempts(billing_txn *tx, const char *tenant_id, const char *delivery_id,
	billing_row_cb cb, void *payload)
{
	billing_delivery_attempt_record r;
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT tenant_id, delivery_id, attempt_no, attempted_at, "
		"status_code, error, response, duration_ms FROM webhook_attempts "
		"WHERE tenant_id = ?1 AND delivery_id = ?2 ORDER BY attempt_no");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, delivery_id);
	return emit_rows(s, read_attempt, &r, cb, payload, 0);
}

static int rec_audit_insert(billing_txn *tx, const billing_audit_record *r)
{
	return rec_record_insert(tx, &billing__res_audit, r);
}

static const struct list_shape audit_shape = {
	&billing__res_audit, "id", 1, { "operation", NULL }, NULL
};

static int rec_audit_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &audit_shape, tenant_id, q, cb, payload);
}

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


void billing__sql_install(billing_storage *st)
{
	st->meta_get = rec_meta_get;
	st->meta_put = rec_meta_put;
	st->tenant_insert = rec_tenant_insert;
	st->tenant_get = rec_tenant_get;
	st->tenant_list = rec_tenant_list;
	st->customer_insert = rec_customer_insert;
	st->customer_update = rec_customer_update;
	st->customer_get = rec_customer_get;
	st->customer_delete = rec_customer_delete;
	st->customer_list = rec_customer_list;
	st->product_insert = rec_product_insert;
	st->product_update = rec_product_update;
	st->product_get = rec_product_get;
	st->product_delete = rec_product_delete;
	st->product_list = rec_product_list;
	st->product_plan_count = rec_product_plan_count;
	st->plan_insert = rec_plan_insert;
	st->plan_update = rec_plan_update;
	st->plan_get = rec_plan_get;
	st->plan_list = rec_plan_list;
	st->idempotency_get = rec_idempotency_get;
	st->idempotency_insert = rec_idempotency_insert;
	st->user_insert = rec_user_insert;
	st->user_get_by_email = rec_user_get_by_email;
	st->user_get = rec_user_get;
	st->user_delete = rec_user_delete;
	st->subscription_insert = rec_subscription_insert;
	st->subscription_update = rec_subscription_update;
	st->subscription_get = rec_subscription_get;
	st->subscription_list = rec_subscription_list;
	st->plan_live_subscription_count = rec_plan_live_subscription_count;
	st->invoice_insert = rec_invoice_insert;
	st->invoice_update = rec_invoice_update;
	st->invoice_get = rec_invoice_get;
	st->invoice_list = rec_invoice_list;
	st->invoice_lines = rec_invoice_lines;
	st->invoice_number_next = rec_invoice_number_next;
	st->due_set = rec_due_set;
	st->due_clear = rec_due_clear;
	st->due_claim = rec_due_claim;
	st->due_count = rec_due_count;
	st->set_tenant = rec_set_tenant;
	st->event_insert = rec_event_insert;
	st->meta_set = rec_meta_set;
	st->pending_line_add = rec_pending_line_add;
	st->pending_lines = rec_pending_lines;
	st->pending_lines_clear = rec_pending_lines_clear;
	st->event_get = rec_event_get;
	st->event_list = rec_event_list;
	st->payment_insert = rec_payment_insert;
	st->payment_update = rec_payment_update;
	st->payment_get = rec_payment_get;
	st->payment_list = rec_payment_list;
	st->payment_get_by_ref = rec_payment_get_by_ref;
	st->refund_insert = rec_refund_insert;
	st->refund_update = rec_refund_update;
	st->refund_get = rec_refund_get;
	st->provider_event_insert = rec_provider_event_insert;
	st->dunning_get = rec_dunning_get;
	st->dunning_set = rec_dunning_set;
	st->webhook_endpoint_insert = rec_endpoint_insert;
	st->webhook_endpoint_update = rec_endpoint_update;
	st->webhook_endpoint_get = rec_endpoint_get;
	st->webhook_endpoint_delete = rec_endpoint_delete;
	st->webhook_endpoint_list = rec_endpoint_list;
	st->webhook_endpoints_enabled = rec_endpoints_enabled;
	st->delivery_insert = rec_delivery_insert;
	st->delivery_update = rec_delivery_update;
	st->delivery_get = rec_delivery_get;
	st->delivery_list = rec_delivery_list;
	st->delivery_attempt_insert = rec_attempt_insert;
	st->delivery_attempts = rec_attempts;
	st->audit_insert = rec_audit_insert;
	st->audit_list = rec_audit_list;
	st->events_prune = rec_events_prune;
	st->customer_read = rec_customer_read;
	st->product_read = rec_product_read;
	st->plan_read = rec_plan_read;
	st->due_lock = rec_due_lock;
	st->record_insert = rec_record_insert;
	st->record_update = rec_record_update;
	st->record_read = rec_record_read;
	st->record_delete = rec_record_delete;
	st->record_list = rec_record_list;
}
