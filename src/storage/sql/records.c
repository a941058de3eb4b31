/*
 * Every data method of the storage vtable, written once for the SQL that
 * SQLite and PostgreSQL share (see sql.h), plus the list query builder and
 * the migration runner.
 *
 * Statements are string literals with ?N placeholders; a list query is
 * built from a fixed set of clauses, so the number of distinct texts is
 * small and each is prepared once per connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/errors.h"
#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"
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

/* An integer column that is NULL for "none" (0 in records). */
static void bind_int_or_null(sql_stmt *s, int i, int64_t v)
{
	if (v)
		s->drv->bind_int(s, i, v);
	else
		s->drv->bind_null(s, i);
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

/* Steps an update guarded by "version = old": no row changed means the
 * row moved on since it was read (or is gone): BILLING_ESTALE. */
static int exec_versioned(sql_stmt *s, const char *noun)
{
	int changes = 0, rc = exec_stmt(s, BILLING_EINVALID, &changes);
	if (rc < 0)
		return rc;
	return changes == 1 ? BILLING_OK : billing__error_set(BILLING_ESTALE, "stale_version",
		"the %s changed since it was read", noun);
}

/* Reads the one row of a get by (tenant, id) into record for cb. */
static int get_by_id(billing_txn *tx, const char *sql, row_reader reader, void *record,
	const char *tenant_id, const char *id, billing_row_cb cb, void *payload)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, sql);
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, id);
	return emit_rows(s, reader, record, cb, payload, 1);
}

#define TENANT_COLS "tenant_id, name, invoice_prefix, created_at, updated_at, version"

static void read_tenant(sql_stmt *s, void *record)
{
	billing_tenant_record *r = record;
	r->id = col_text(s, 0);
	r->name = col_text(s, 1);
	r->invoice_prefix = col_text(s, 2);
	r->created_at = col_int(s, 3);
	r->updated_at = col_int(s, 4);
	r->version = col_int(s, 5);
}

#define CUSTOMER_COLS "tenant_id, id, name, email, email_key, default_payment_method, " \
	"metadata, created_at, updated_at, version"

static void read_customer(sql_stmt *s, void *record)
{
	billing_customer_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->name = col_text(s, 2);
	r->email = col_text(s, 3);
	r->email_key = col_text(s, 4);
	r->default_payment_method = col_text(s, 5);
	r->metadata_json = col_text(s, 6);
	r->created_at = col_int(s, 7);
	r->updated_at = col_int(s, 8);
	r->version = col_int(s, 9);
}

#define PRODUCT_COLS "tenant_id, id, name, sku, description, price_cents, currency, " \
	"tax_rate_bp, is_active, stock, low_stock_threshold, metadata, created_at, " \
	"updated_at, version"

static void read_product(sql_stmt *s, void *record)
{
	billing_product_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->name = col_text(s, 2);
	r->sku = col_text(s, 3);
	r->description = col_text(s, 4);
	r->price_cents = col_int(s, 5);
	r->currency = col_text(s, 6);
	r->tax_rate_bp = (int)col_int(s, 7);
	r->is_active = (int)col_int(s, 8);
	r->stock = col_int(s, 9);
	r->low_stock_threshold = col_int(s, 10);
	r->metadata_json = col_text(s, 11);
	r->created_at = col_int(s, 12);
	r->updated_at = col_int(s, 13);
	r->version = col_int(s, 14);
}

#define PLAN_COLS "tenant_id, id, product_id, code, name, description, amount, currency, " \
	"billing_interval, interval_count, trial_days, term_count, active, deleted_at, " \
	"metadata, created_at, updated_at, version"

static void read_plan(sql_stmt *s, void *record)
{
	billing_plan_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->product_id = col_text(s, 2);
	r->code = col_text(s, 3);
	r->name = col_text(s, 4);
	r->description = col_text(s, 5);
	r->amount = col_int(s, 6);
	r->currency = col_text(s, 7);
	r->interval = (int)col_int(s, 8);
	r->interval_count = (int)col_int(s, 9);
	r->trial_days = (int)col_int(s, 10);
	r->term_count = (int)col_int(s, 11);
	r->active = (int)col_int(s, 12);
	r->deleted_at = col_int(s, 13);
	r->metadata_json = col_text(s, 14);
	r->created_at = col_int(s, 15);
	r->updated_at = col_int(s, 16);
	r->version = col_int(s, 17);
}

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
	sql_stmt *s;
	int is_text, rc, has_where;
	union {
		billing_tenant_record t;
		billing_customer_record c;
		billing_product_record p;
		billing_plan_record pl;
		billing_subscription_record sub;
		billing_invoice_record inv;
		billing_event_record ev;
	} record;

	col = sort_column(lq->sort, &is_text);

	if (lq->total) {
		struct sqlbuf cq = { .len = 0 };
		struct binds cb_ = { .n = 0 };
		sql_add(&cq, "SELECT count(*) FROM %s", sh->table);
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

	sql_add(&q, "SELECT %s FROM %s", sh->columns, sh->table);
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
	binds_apply(s, &b);
	memset(&record, 0, sizeof(record));
	return emit_rows(s, sh->reader, &record, cb, payload, 0);
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

static int rec_tenant_insert(billing_txn *tx, const billing_tenant_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO tenants (" TENANT_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->id);
	bind_text(s, 2, r->name);
	bind_text(s, 3, r->invoice_prefix);
	bind_int(s, 4, r->created_at);
	bind_int(s, 5, r->updated_at);
	bind_int(s, 6, r->version);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_tenant_get(billing_txn *tx, const char *tenant_id, billing_row_cb cb, void *payload)
{
	billing_tenant_record r;
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT " TENANT_COLS " FROM tenants WHERE tenant_id = ?1");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	return emit_rows(s, read_tenant, &r, cb, payload, 1);
}

static int rec_tenant_list(billing_txn *tx, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &tenant_shape, NULL, q, cb, payload);
}

/* ------------------------------------------------------------ customers */

static void bind_customer(sql_stmt *s, const billing_customer_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->name);
	bind_text(s, 4, r->email);
	bind_text(s, 5, r->email_key);
	bind_text(s, 6, r->default_payment_method);
	bind_text(s, 7, r->metadata_json);
	bind_int(s, 8, r->created_at);
	bind_int(s, 9, r->updated_at);
	bind_int(s, 10, r->version);
}

static int rec_customer_insert(billing_txn *tx, const billing_customer_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO customers (" CUSTOMER_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
	if (rc < 0)
		return rc;
	bind_customer(s, r);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_customer_update(billing_txn *tx, const billing_customer_record *r,
	int64_t old_version)
{
	sql_stmt *s;
	int rc;
	rc = prepare(&s, tx, "UPDATE customers SET name = ?3, email = ?4, email_key = ?5, "
		"default_payment_method = ?6, metadata = ?7, updated_at = ?9, version = ?10 "
		"WHERE tenant_id = ?1 AND id = ?2 AND version = ?11 AND created_at = ?8");
	if (rc < 0)
		return rc;
	bind_customer(s, r);
	bind_int(s, 11, old_version);
	return exec_versioned(s, "customer");
}

static int rec_customer_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_customer_record r;
	return get_by_id(tx, LOCKED(tx, "SELECT " CUSTOMER_COLS " FROM customers "
		"WHERE tenant_id = ?1 AND id = ?2"), read_customer, &r, tenant_id, id, cb, payload);
}

static int rec_customer_read(billing_txn *tx, const char *tenant_id, const char *id,
	unsigned int lock, billing_row_cb cb, void *payload)
{
	billing_customer_record r;
	return get_by_id(tx, LOCKED_AS(tx, lock, "SELECT " CUSTOMER_COLS " FROM customers "
		"WHERE tenant_id = ?1 AND id = ?2"), read_customer, &r, tenant_id, id, cb, payload);
}

static int delete_row(billing_txn *tx, const char *sql, const char *tenant_id, const char *id)
{
	sql_stmt *s;
	int rc, changes = 0;
	if ((rc = prepare(&s, tx, sql)) < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, id);
	if ((rc = exec_stmt(s, BILLING_ECONFLICT, &changes)) < 0)
		return rc;
	return changes == 1 ? BILLING_OK : BILLING_ENOTFOUND;
}

static int rec_customer_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return delete_row(tx, "DELETE FROM customers WHERE tenant_id = ?1 AND id = ?2",
		tenant_id, id);
}

static int rec_customer_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &customer_shape, tenant_id, q, cb, payload);
}

/* ------------------------------------------------------------ products */

static void bind_product(sql_stmt *s, const billing_product_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->name);
	bind_text(s, 4, r->sku);
	bind_text(s, 5, r->description);
	bind_int(s, 6, r->price_cents);
	bind_text(s, 7, r->currency);
	bind_int(s, 8, r->tax_rate_bp);
	bind_int(s, 9, r->is_active ? 1 : 0);
	bind_int(s, 10, r->stock);
	bind_int(s, 11, r->low_stock_threshold);
	bind_text(s, 12, r->metadata_json);
	bind_int(s, 13, r->created_at);
	bind_int(s, 14, r->updated_at);
	bind_int(s, 15, r->version);
}

static int rec_product_insert(billing_txn *tx, const billing_product_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO products (" PRODUCT_COLS ") VALUES "
		"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
	if (rc < 0)
		return rc;
	bind_product(s, r);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_product_update(billing_txn *tx, const billing_product_record *r,
	int64_t old_version)
{
	sql_stmt *s;
	int rc;
	rc = prepare(&s, tx, "UPDATE products SET name = ?3, sku = ?4, description = ?5, "
		"price_cents = ?6, currency = ?7, tax_rate_bp = ?8, is_active = ?9, stock = ?10, "
		"low_stock_threshold = ?11, metadata = ?12, updated_at = ?14, version = ?15 "
		"WHERE tenant_id = ?1 AND id = ?2 AND version = ?16 AND created_at = ?13");
	if (rc < 0)
		return rc;
	bind_product(s, r);
	bind_int(s, 16, old_version);
	return exec_versioned(s, "product");
}

static int rec_product_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_product_record r;
	return get_by_id(tx, LOCKED(tx, "SELECT " PRODUCT_COLS " FROM products "
		"WHERE tenant_id = ?1 AND id = ?2"), read_product, &r, tenant_id, id, cb, payload);
}

static int rec_product_read(billing_txn *tx, const char *tenant_id, const char *id,
	unsigned int lock, billing_row_cb cb, void *payload)
{
	billing_product_record r;
	return get_by_id(tx, LOCKED_AS(tx, lock, "SELECT " PRODUCT_COLS " FROM products "
		"WHERE tenant_id = ?1 AND id = ?2"), read_product, &r, tenant_id, id, cb, payload);
}

static int rec_product_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return delete_row(tx, "DELETE FROM products WHERE tenant_id = ?1 AND id = ?2",
		tenant_id, id);
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

static void bind_plan(sql_stmt *s, const billing_plan_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->product_id);
	bind_text(s, 4, r->code);
	bind_text(s, 5, r->name);
	bind_text(s, 6, r->description);
	bind_int(s, 7, r->amount);
	bind_text(s, 8, r->currency);
	bind_int(s, 9, r->interval);
	bind_int(s, 10, r->interval_count);
	bind_int(s, 11, r->trial_days);
	bind_int_or_null(s, 12, r->term_count);
	bind_int(s, 13, r->active ? 1 : 0);
	bind_int_or_null(s, 14, r->deleted_at);
	bind_text(s, 15, r->metadata_json);
	bind_int(s, 16, r->created_at);
	bind_int(s, 17, r->updated_at);
	bind_int(s, 18, r->version);
}

static int rec_plan_insert(billing_txn *tx, const billing_plan_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO plans (" PLAN_COLS ") VALUES (?1, ?2, ?3, "
		"?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
	if (rc < 0)
		return rc;
	bind_plan(s, r);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_plan_update(billing_txn *tx, const billing_plan_record *r, int64_t old_version)
{
	sql_stmt *s;
	int rc;
	/* Product, code, currency, interval and term are fixed at creation:
	 * the statement cannot change them. */
	rc = prepare(&s, tx, "UPDATE plans SET name = ?5, description = ?6, amount = ?7, "
		"trial_days = ?11, active = ?13, deleted_at = ?14, metadata = ?15, updated_at = ?17, "
		"version = ?18 WHERE tenant_id = ?1 AND id = ?2 AND version = ?19 "
		"AND product_id = ?3 AND code = ?4 AND currency = ?8 AND billing_interval = ?9 "
		"AND interval_count = ?10 AND term_count IS NOT DISTINCT FROM ?12 AND created_at = ?16");
	if (rc < 0)
		return rc;
	bind_plan(s, r);
	bind_int(s, 19, old_version);
	return exec_versioned(s, "plan");
}

static int rec_plan_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_plan_record r;
	return get_by_id(tx, LOCKED(tx, "SELECT " PLAN_COLS " FROM plans "
		"WHERE tenant_id = ?1 AND id = ?2"), read_plan, &r, tenant_id, id, cb, payload);
}

static int rec_plan_read(billing_txn *tx, const char *tenant_id, const char *id,
	unsigned int lock, billing_row_cb cb, void *payload)
{
	billing_plan_record r;
	return get_by_id(tx, LOCKED_AS(tx, lock, "SELECT " PLAN_COLS " FROM plans "
		"WHERE tenant_id = ?1 AND id = ?2"), read_plan, &r, tenant_id, id, cb, payload);
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

#define USER_COLS "tenant_id, id, email, email_key, role, password_hash, created_at, " \
	"updated_at, version"

static void read_user(sql_stmt *s, void *record)
{
	billing_user_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->email = col_text(s, 2);
	r->email_key = col_text(s, 3);
	r->role = (int)col_int(s, 4);
	r->password_hash = col_text(s, 5);
	r->created_at = col_int(s, 6);
	r->updated_at = col_int(s, 7);
	r->version = col_int(s, 8);
}

static int rec_user_insert(billing_txn *tx, const billing_user_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO users (" USER_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->email);
	bind_text(s, 4, r->email_key);
	bind_int(s, 5, r->role);
	bind_text(s, 6, r->password_hash);
	bind_int(s, 7, r->created_at);
	bind_int(s, 8, r->updated_at);
	bind_int(s, 9, r->version);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_user_get_by_email(billing_txn *tx, const char *email_key,
	billing_row_cb cb, void *payload)
{
	billing_user_record r;
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT " USER_COLS " FROM users WHERE email_key = ?1");
	if (rc < 0)
		return rc;
	bind_text(s, 1, email_key);
	return emit_rows(s, read_user, &r, cb, payload, 1);
}

static int rec_user_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_user_record r;
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT " USER_COLS " FROM users WHERE tenant_id = ?1 AND id = ?2");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, id);
	return emit_rows(s, read_user, &r, cb, payload, 1);
}

static int rec_user_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return delete_row(tx, "DELETE FROM users WHERE tenant_id = ?1 AND id = ?2", tenant_id, id);
}


/* ------------------------------------------------------------ subscriptions */

#define SUBSCRIPTION_COLS "tenant_id, id, customer_id, plan_id, status, quantity, currency, " \
	"anchor, period_index, current_period_start, current_period_end, trial_end, " \
	"cancel_at_period_end, canceled_at, ended_at, latest_invoice_id, metadata, created_at, " \
	"updated_at, version, pending_plan_id"

static void read_subscription(sql_stmt *s, void *record)
{
	billing_subscription_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->customer_id = col_text(s, 2);
	r->plan_id = col_text(s, 3);
	r->status = (int)col_int(s, 4);
	r->quantity = (int32_t)col_int(s, 5);
	r->currency = col_text(s, 6);
	r->anchor = col_int(s, 7);
	r->period_index = col_int(s, 8);
	r->current_period_start = col_int(s, 9);
	r->current_period_end = col_int(s, 10);
	r->trial_end = col_int(s, 11);
	r->cancel_at_period_end = (int)col_int(s, 12);
	r->canceled_at = col_int(s, 13);
	r->ended_at = col_int(s, 14);
	r->latest_invoice_id = col_text(s, 15);
	r->metadata_json = col_text(s, 16);
	r->created_at = col_int(s, 17);
	r->updated_at = col_int(s, 18);
	r->version = col_int(s, 19);
	r->pending_plan_id = col_text(s, 20);
}

static void bind_subscription(sql_stmt *s, const billing_subscription_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->customer_id);
	bind_text(s, 4, r->plan_id);
	bind_int(s, 5, r->status);
	bind_int(s, 6, r->quantity);
	bind_text(s, 7, r->currency);
	bind_int(s, 8, r->anchor);
	bind_int(s, 9, r->period_index);
	bind_int(s, 10, r->current_period_start);
	bind_int(s, 11, r->current_period_end);
	bind_int_or_null(s, 12, r->trial_end);
	bind_int(s, 13, r->cancel_at_period_end ? 1 : 0);
	bind_int_or_null(s, 14, r->canceled_at);
	bind_int_or_null(s, 15, r->ended_at);
	bind_text(s, 16, r->latest_invoice_id);
	bind_text(s, 17, r->metadata_json);
	bind_int(s, 18, r->created_at);
	bind_int(s, 19, r->updated_at);
	bind_int(s, 20, r->version);
	bind_text(s, 21, r->pending_plan_id);
}

static int rec_subscription_insert(billing_txn *tx, const billing_subscription_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO subscriptions (" SUBSCRIPTION_COLS ") VALUES (?1, ?2, "
		"?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)");
	if (rc < 0)
		return rc;
	bind_subscription(s, r);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_subscription_update(billing_txn *tx, const billing_subscription_record *r,
	int64_t old_version)
{
	sql_stmt *s;
	int rc;
	/* The customer and the start are fixed; everything that moves with the
	 * calendar or a change of plan is written. */
	rc = prepare(&s, tx, "UPDATE subscriptions SET plan_id = ?4, status = ?5, quantity = ?6, "
		"currency = ?7, anchor = ?8, period_index = ?9, current_period_start = ?10, "
		"current_period_end = ?11, trial_end = ?12, cancel_at_period_end = ?13, "
		"canceled_at = ?14, ended_at = ?15, latest_invoice_id = ?16, metadata = ?17, "
		"updated_at = ?19, version = ?20, pending_plan_id = ?21 WHERE tenant_id = ?1 AND "
		"id = ?2 AND customer_id = ?3 AND created_at = ?18 AND version = ?22");
	if (rc < 0)
		return rc;
	bind_subscription(s, r);
	bind_int(s, 22, old_version);
	return exec_versioned(s, "subscription");
}

static int rec_subscription_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_subscription_record r;
	return get_by_id(tx, LOCKED(tx, "SELECT " SUBSCRIPTION_COLS " FROM subscriptions "
		"WHERE tenant_id = ?1 AND id = ?2"), read_subscription, &r, tenant_id, id, cb, payload);
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
	"subscriptions", SUBSCRIPTION_COLS, "id", 1, { "id", NULL }, NULL,
	read_subscription
};

static int rec_subscription_list(billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return run_list(tx, &subscription_shape, tenant_id, q, cb, payload);
}

static int rec_plan_live_subscription_count(billing_txn *tx, const char *tenant_id,
	const char *plan_id, int64_t *count)
{
	/* 6 and 7: canceled and expired (billing_subscription_status). */
	return count_one(tx, "SELECT count(*) FROM subscriptions WHERE tenant_id = ?1 "
		"AND (plan_id = ?2 OR pending_plan_id = ?2) AND status NOT IN (6, 7)",
		tenant_id, plan_id, count);
}

/* ------------------------------------------------------------ invoices */

#define INVOICE_COLS "tenant_id, id, customer_id, subscription_id, number, status, currency, " \
	"subtotal, tax, total, amount_paid, amount_due, period_start, period_end, created_at, " \
	"finalized_at, paid_at, voided_at, updated_at, version, attempt_count, next_attempt_at"

static void read_invoice(sql_stmt *s, void *record)
{
	billing_invoice_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->customer_id = col_text(s, 2);
	r->subscription_id = col_text(s, 3);
	r->number = col_text(s, 4);
	r->status = (int)col_int(s, 5);
	r->currency = col_text(s, 6);
	r->subtotal = col_int(s, 7);
	r->tax = col_int(s, 8);
	r->total = col_int(s, 9);
	r->amount_paid = col_int(s, 10);
	r->amount_due = col_int(s, 11);
	r->period_start = col_int(s, 12);
	r->period_end = col_int(s, 13);
	r->created_at = col_int(s, 14);
	r->finalized_at = col_int(s, 15);
	r->paid_at = col_int(s, 16);
	r->voided_at = col_int(s, 17);
	r->updated_at = col_int(s, 18);
	r->version = col_int(s, 19);
	r->line_count = 0;
	r->lines = NULL;
	r->attempt_count = (int32_t)col_int(s, 20);
	r->next_attempt_at = col_int(s, 21);
}

static void bind_invoice(sql_stmt *s, const billing_invoice_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->customer_id);
	bind_text(s, 4, r->subscription_id);
	bind_text(s, 5, r->number);
	bind_int(s, 6, r->status);
	bind_text(s, 7, r->currency);
	bind_int(s, 8, r->subtotal);
	bind_int(s, 9, r->tax);
	bind_int(s, 10, r->total);
	bind_int(s, 11, r->amount_paid);
	bind_int(s, 12, r->amount_due);
	bind_int(s, 13, r->period_start);
	bind_int(s, 14, r->period_end);
	bind_int(s, 15, r->created_at);
	bind_int_or_null(s, 16, r->finalized_at);
	bind_int_or_null(s, 17, r->paid_at);
	bind_int_or_null(s, 18, r->voided_at);
	bind_int(s, 19, r->updated_at);
	bind_int(s, 20, r->version);
	bind_int(s, 21, r->attempt_count);
	bind_int_or_null(s, 22, r->next_attempt_at);
}

static int rec_invoice_insert(billing_txn *tx, const billing_invoice_record *r)
{
	sql_stmt *s;
	size_t i;
	int rc = prepare(&s, tx, "INSERT INTO invoices (" INVOICE_COLS ") VALUES (?1, ?2, ?3, ?4, "
		"?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)");
	if (rc < 0)
		return rc;
	bind_invoice(s, r);
	if ((rc = exec_stmt(s, BILLING_EINVALID, NULL)) < 0)
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
	sql_stmt *s;
	int rc;
	/* Lines, amounts billed, currency and period never change after
	 * creation: the statement cannot change them. */
	rc = prepare(&s, tx, "UPDATE invoices SET number = ?5, status = ?6, amount_paid = ?11, "
		"amount_due = ?12, finalized_at = ?16, paid_at = ?17, voided_at = ?18, "
		"updated_at = ?19, version = ?20, attempt_count = ?21, next_attempt_at = ?22 "
		"WHERE tenant_id = ?1 AND id = ?2 AND "
		"customer_id = ?3 AND subscription_id IS NOT DISTINCT FROM ?4 AND currency = ?7 AND "
		"subtotal = ?8 AND tax = ?9 AND total = ?10 AND period_start = ?13 AND "
		"period_end = ?14 AND created_at = ?15 AND version = ?23");
	if (rc < 0)
		return rc;
	bind_invoice(s, r);
	bind_int(s, 23, old_version);
	return exec_versioned(s, "invoice");
}

static const struct list_shape invoice_shape = {
	"invoices", INVOICE_COLS, "id", 1, { "number", NULL }, NULL,
	read_invoice
};

static int rec_invoice_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &invoice_shape, tenant_id, q, cb, payload);
}

static int rec_invoice_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_invoice_record r;
	return get_by_id(tx, LOCKED(tx, "SELECT " INVOICE_COLS " FROM invoices "
		"WHERE tenant_id = ?1 AND id = ?2"), read_invoice, &r, tenant_id, id, cb, payload);
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

#define EVENT_COLS "tenant_id, id, type, resource_type, resource_id, data, created_at, " \
	"request_id, idempotency_key"

static void read_event(sql_stmt *s, void *record)
{
	billing_event_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->type = col_text(s, 2);
	r->resource_type = col_text(s, 3);
	r->resource_id = col_text(s, 4);
	r->data_json = col_text(s, 5);
	r->created_at = col_int(s, 6);
	r->request_id = col_text(s, 7);
	r->idempotency_key = col_text(s, 8);
}

static int rec_event_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_event_record r;
	return get_by_id(tx, "SELECT " EVENT_COLS " FROM events WHERE tenant_id = ?1 AND id = ?2",
		read_event, &r, tenant_id, id, cb, payload);
}

static const struct list_shape event_shape = {
	"events", EVENT_COLS, "id", 1, { "type", NULL }, NULL,
	read_event
};

static int rec_event_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &event_shape, tenant_id, q, cb, payload);
}

static int rec_event_insert(billing_txn *tx, const billing_event_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO events (" EVENT_COLS ") VALUES (?1, ?2, ?3, ?4, "
		"?5, ?6, ?7, ?8, ?9)");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->type);
	bind_text(s, 4, r->resource_type);
	bind_text(s, 5, r->resource_id);
	bind_text(s, 6, r->data_json);
	bind_int(s, 7, r->created_at);
	bind_text(s, 8, r->request_id);
	bind_text(s, 9, r->idempotency_key);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

/* ------------------------------------------------------------ payments */

#define PAYMENT_COLS "tenant_id, id, invoice_id, customer_id, status, amount, currency, " \
	"amount_refunded, amount_refunding, provider, provider_ref, payment_method, off_session, " \
	"failure_code, failure_message, created_at, updated_at, version"

static void read_payment(sql_stmt *s, void *record)
{
	billing_payment_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->invoice_id = col_text(s, 2);
	r->customer_id = col_text(s, 3);
	r->status = (int)col_int(s, 4);
	r->amount = col_int(s, 5);
	r->currency = col_text(s, 6);
	r->amount_refunded = col_int(s, 7);
	r->amount_refunding = col_int(s, 8);
	r->provider = col_text(s, 9);
	r->provider_ref = col_text(s, 10);
	r->payment_method = col_text(s, 11);
	r->off_session = (int)col_int(s, 12);
	r->failure_code = col_text(s, 13);
	r->failure_message = col_text(s, 14);
	r->created_at = col_int(s, 15);
	r->updated_at = col_int(s, 16);
	r->version = col_int(s, 17);
}

static void bind_payment(sql_stmt *s, const billing_payment_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->invoice_id);
	bind_text(s, 4, r->customer_id);
	bind_int(s, 5, r->status);
	bind_int(s, 6, r->amount);
	bind_text(s, 7, r->currency);
	bind_int(s, 8, r->amount_refunded);
	bind_int(s, 9, r->amount_refunding);
	bind_text(s, 10, r->provider);
	bind_text(s, 11, r->provider_ref);
	bind_text(s, 12, r->payment_method);
	bind_int(s, 13, r->off_session ? 1 : 0);
	bind_text(s, 14, r->failure_code);
	bind_text(s, 15, r->failure_message);
	bind_int(s, 16, r->created_at);
	bind_int(s, 17, r->updated_at);
	bind_int(s, 18, r->version);
}

static int rec_payment_insert(billing_txn *tx, const billing_payment_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO payments (" PAYMENT_COLS ") VALUES (?1, ?2, ?3, "
		"?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
	if (rc < 0)
		return rc;
	bind_payment(s, r);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_payment_update(billing_txn *tx, const billing_payment_record *r,
	int64_t old_version)
{
	sql_stmt *s;
	/* What was asked for (invoice, customer, amount, currency, provider)
	 * never changes: the statement cannot change it. */
	int rc = prepare(&s, tx, "UPDATE payments SET status = ?5, amount_refunded = ?8, "
		"amount_refunding = ?9, provider_ref = ?11, payment_method = ?12, "
		"failure_code = ?14, failure_message = ?15, updated_at = ?17, version = ?18 "
		"WHERE tenant_id = ?1 AND id = ?2 AND invoice_id = ?3 AND customer_id = ?4 AND "
		"amount = ?6 AND currency = ?7 AND provider = ?10 AND off_session = ?13 AND "
		"created_at = ?16 AND version = ?19");
	if (rc < 0)
		return rc;
	bind_payment(s, r);
	bind_int(s, 19, old_version);
	return exec_versioned(s, "payment");
}

static int rec_payment_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_payment_record r;
	return get_by_id(tx, LOCKED(tx, "SELECT " PAYMENT_COLS " FROM payments "
		"WHERE tenant_id = ?1 AND id = ?2"), read_payment, &r, tenant_id, id, cb, payload);
}

static int rec_payment_get_by_ref(billing_txn *tx, const char *tenant_id, const char *provider,
	const char *ref, billing_row_cb cb, void *payload)
{
	billing_payment_record r;
	sql_stmt *s;
	int rc = prepare(&s, tx, LOCKED(tx, "SELECT " PAYMENT_COLS " FROM payments "
		"WHERE tenant_id = ?1 AND provider = ?2 AND provider_ref = ?3"));
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	bind_text(s, 2, provider);
	bind_text(s, 3, ref);
	return emit_rows(s, read_payment, &r, cb, payload, 1);
}

static const struct list_shape payment_shape = {
	"payments", PAYMENT_COLS, "id", 1, { "provider_ref", NULL }, NULL,
	read_payment
};

static int rec_payment_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &payment_shape, tenant_id, q, cb, payload);
}

#define REFUND_COLS "tenant_id, id, payment_id, amount, status, provider_ref, failure_code, " \
	"created_at, updated_at, version"

static void read_refund(sql_stmt *s, void *record)
{
	billing_refund_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->payment_id = col_text(s, 2);
	r->amount = col_int(s, 3);
	r->status = (int)col_int(s, 4);
	r->provider_ref = col_text(s, 5);
	r->failure_code = col_text(s, 6);
	r->created_at = col_int(s, 7);
	r->updated_at = col_int(s, 8);
	r->version = col_int(s, 9);
}

static void bind_refund(sql_stmt *s, const billing_refund_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->payment_id);
	bind_int(s, 4, r->amount);
	bind_int(s, 5, r->status);
	bind_text(s, 6, r->provider_ref);
	bind_text(s, 7, r->failure_code);
	bind_int(s, 8, r->created_at);
	bind_int(s, 9, r->updated_at);
	bind_int(s, 10, r->version);
}

static int rec_refund_insert(billing_txn *tx, const billing_refund_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO refunds (" REFUND_COLS ") VALUES (?1, ?2, ?3, ?4, "
		"?5, ?6, ?7, ?8, ?9, ?10)");
	if (rc < 0)
		return rc;
	bind_refund(s, r);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_refund_update(billing_txn *tx, const billing_refund_record *r,
	int64_t old_version)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "UPDATE refunds SET status = ?5, provider_ref = ?6, "
		"failure_code = ?7, updated_at = ?9, version = ?10 WHERE tenant_id = ?1 AND id = ?2 "
		"AND payment_id = ?3 AND amount = ?4 AND created_at = ?8 AND version = ?11");
	if (rc < 0)
		return rc;
	bind_refund(s, r);
	bind_int(s, 11, old_version);
	return exec_versioned(s, "refund");
}

static int rec_refund_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_refund_record r;
	return get_by_id(tx, LOCKED(tx, "SELECT " REFUND_COLS " FROM refunds "
		"WHERE tenant_id = ?1 AND id = ?2"), read_refund, &r, tenant_id, id, cb, payload);
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

#define ENDPOINT_COLS "tenant_id, id, url, event_types, enabled, description, secret, " \
	"previous_secret, previous_secret_until, dead_in_row, disabled_reason, created_at, " \
	"updated_at, version"

static void read_endpoint(sql_stmt *s, void *record)
{
	billing_webhook_endpoint_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->url = col_text(s, 2);
	r->event_types = col_text(s, 3);
	r->enabled = (int)col_int(s, 4);
	r->description = col_text(s, 5);
	r->secret = col_text(s, 6);
	r->previous_secret = col_text(s, 7);
	r->previous_secret_until = col_int(s, 8);
	r->dead_in_row = (int32_t)col_int(s, 9);
	r->disabled_reason = col_text(s, 10);
	r->created_at = col_int(s, 11);
	r->updated_at = col_int(s, 12);
	r->version = col_int(s, 13);
}

static void bind_endpoint(sql_stmt *s, const billing_webhook_endpoint_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->url);
	bind_text(s, 4, r->event_types);
	bind_int(s, 5, r->enabled ? 1 : 0);
	bind_text(s, 6, r->description);
	bind_text(s, 7, r->secret);
	bind_text(s, 8, r->previous_secret);
	bind_int_or_null(s, 9, r->previous_secret_until);
	bind_int(s, 10, r->dead_in_row);
	bind_text(s, 11, r->disabled_reason);
	bind_int(s, 12, r->created_at);
	bind_int(s, 13, r->updated_at);
	bind_int(s, 14, r->version);
}

static int rec_endpoint_insert(billing_txn *tx, const billing_webhook_endpoint_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO webhook_endpoints (" ENDPOINT_COLS ") VALUES (?1, ?2, "
		"?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
	if (rc < 0)
		return rc;
	bind_endpoint(s, r);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_endpoint_update(billing_txn *tx, const billing_webhook_endpoint_record *r,
	int64_t old_version)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "UPDATE webhook_endpoints SET url = ?3, event_types = ?4, "
		"enabled = ?5, description = ?6, secret = ?7, previous_secret = ?8, "
		"previous_secret_until = ?9, dead_in_row = ?10, disabled_reason = ?11, "
		"updated_at = ?13, version = ?14 WHERE tenant_id = ?1 AND id = ?2 AND "
		"created_at = ?12 AND version = ?15");
	if (rc < 0)
		return rc;
	bind_endpoint(s, r);
	bind_int(s, 15, old_version);
	return exec_versioned(s, "webhook endpoint");
}

static int rec_endpoint_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_webhook_endpoint_record r;
	return get_by_id(tx, LOCKED(tx, "SELECT " ENDPOINT_COLS " FROM webhook_endpoints "
		"WHERE tenant_id = ?1 AND id = ?2"), read_endpoint, &r, tenant_id, id, cb, payload);
}

static int rec_endpoint_delete(billing_txn *tx, const char *tenant_id, const char *id)
{
	return delete_row(tx, "DELETE FROM webhook_endpoints WHERE tenant_id = ?1 AND id = ?2",
		tenant_id, id);
}

static const struct list_shape endpoint_shape = {
	"webhook_endpoints", ENDPOINT_COLS, "id", 1, { "url", NULL }, NULL,
	read_endpoint
};

static int rec_endpoint_list(billing_txn *tx, const char *tenant_id, const billing_list_query *q,
	billing_row_cb cb, void *payload)
{
	return run_list(tx, &endpoint_shape, tenant_id, q, cb, payload);
}

static int rec_endpoints_enabled(billing_txn *tx, const char *tenant_id, billing_row_cb cb,
	void *payload)
{
	billing_webhook_endpoint_record r;
	sql_stmt *s;
	int rc = prepare(&s, tx, "SELECT " ENDPOINT_COLS " FROM webhook_endpoints "
		"WHERE tenant_id = ?1 AND enabled = 1");
	if (rc < 0)
		return rc;
	bind_text(s, 1, tenant_id);
	return emit_rows(s, read_endpoint, &r, cb, payload, 0);
}

#define DELIVERY_COLS "tenant_id, id, endpoint_id, event_id, status, attempt_count, " \
	"next_attempt_at, created_at, updated_at, version"

static void read_delivery(sql_stmt *s, void *record)
{
	billing_delivery_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->endpoint_id = col_text(s, 2);
	r->event_id = col_text(s, 3);
	r->status = (int)col_int(s, 4);
	r->attempt_count = (int32_t)col_int(s, 5);
	r->next_attempt_at = col_int(s, 6);
	r->created_at = col_int(s, 7);
	r->updated_at = col_int(s, 8);
	r->version = col_int(s, 9);
}

static void bind_delivery(sql_stmt *s, const billing_delivery_record *r)
{
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_text(s, 3, r->endpoint_id);
	bind_text(s, 4, r->event_id);
	bind_int(s, 5, r->status);
	bind_int(s, 6, r->attempt_count);
	bind_int_or_null(s, 7, r->next_attempt_at);
	bind_int(s, 8, r->created_at);
	bind_int(s, 9, r->updated_at);
	bind_int(s, 10, r->version);
}

static int rec_delivery_insert(billing_txn *tx, const billing_delivery_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO webhook_deliveries (" DELIVERY_COLS ") VALUES (?1, "
		"?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
	if (rc < 0)
		return rc;
	bind_delivery(s, r);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static int rec_delivery_update(billing_txn *tx, const billing_delivery_record *r,
	int64_t old_version)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "UPDATE webhook_deliveries SET status = ?5, attempt_count = ?6, "
		"next_attempt_at = ?7, updated_at = ?9, version = ?10 WHERE tenant_id = ?1 AND "
		"id = ?2 AND endpoint_id = ?3 AND event_id = ?4 AND created_at = ?8 AND "
		"version = ?11");
	if (rc < 0)
		return rc;
	bind_delivery(s, r);
	bind_int(s, 11, old_version);
	return exec_versioned(s, "delivery");
}

static int rec_delivery_get(billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	billing_delivery_record r;
	return get_by_id(tx, LOCKED(tx, "SELECT " DELIVERY_COLS " FROM webhook_deliveries "
		"WHERE tenant_id = ?1 AND id = ?2"), read_delivery, &r, tenant_id, id, cb, payload);
}

static const struct list_shape delivery_shape = {
	"webhook_deliveries", DELIVERY_COLS, "id", 1, { "event_id", NULL }, NULL,
	read_delivery
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

#define AUDIT_COLS "tenant_id, id, created_at, user_id, role, operation, resource_id, " \
	"request_id, idempotency_key"

static void read_audit(sql_stmt *s, void *record)
{
	billing_audit_record *r = record;
	r->tenant_id = col_text(s, 0);
	r->id = col_text(s, 1);
	r->at = col_int(s, 2);
	r->user_id = col_text(s, 3);
	r->role = (int)col_int(s, 4);
	r->operation = col_text(s, 5);
	r->resource_id = col_text(s, 6);
	r->request_id = col_text(s, 7);
	r->idempotency_key = col_text(s, 8);
}

static int rec_audit_insert(billing_txn *tx, const billing_audit_record *r)
{
	sql_stmt *s;
	int rc = prepare(&s, tx, "INSERT INTO audit_log (" AUDIT_COLS ") VALUES (?1, ?2, ?3, ?4, "
		"?5, ?6, ?7, ?8, ?9)");
	if (rc < 0)
		return rc;
	bind_text(s, 1, r->tenant_id);
	bind_text(s, 2, r->id);
	bind_int(s, 3, r->at);
	bind_text(s, 4, r->user_id);
	bind_int(s, 5, r->role);
	bind_text(s, 6, r->operation);
	bind_text(s, 7, r->resource_id);
	bind_text(s, 8, r->request_id);
	bind_text(s, 9, r->idempotency_key);
	return exec_stmt(s, BILLING_EINVALID, NULL);
}

static const struct list_shape audit_shape = {
	"audit_log", AUDIT_COLS, "id", 1, { "operation", NULL }, NULL,
	read_audit
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

static int rec_record_read(billing_txn *tx, const billing_resource *res, const char *tenant_id,
	const char *id, unsigned int lock, billing_row_cb cb, void *payload)
{
	union { max_align_t align; unsigned char bytes[512]; } local;
	const sqlb_shape *sh;
	void *rec = &local;
	sql_stmt *s;
	int rc;

	if ((rc = billing__sqlb_shape(&sh, res, tx->drv)) < 0 || (rc = key_ok(sh, tenant_id, id)) < 0)
		return rc;
	if (lock > BILLING_LOCK_UPDATE)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "lock",
			"unknown lock %u", lock);
	if (res->record_size > sizeof(local) && (rec = billing__malloc(res->record_size)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((rc = prepare(&s, tx, billing__sqlb_select(sh, tx->kind, lock))) >= 0) {
		int rows = 0;
		billing__sqlb_bind_key(s, sh, tenant_id, id);
		while ((rc = step(s, 0)) == 1) {
			billing__sqlb_read(s, sh, rec);
			rows++;
			if ((rc = cb(payload, rec)) != 0)
				break;
		}
		s->drv->reset(s);
		if (rc > 0)
			rc = BILLING_OK;
		else if (rc == 0 && rows == 0)
			rc = billing__error_set(BILLING_ENOTFOUND, NULL, "no %s %s",
				res->name ? res->name : res->table, id);
	}
	if (rec != (void *)&local)
		billing__free(rec);
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
	return changes == 1 ? BILLING_OK : billing__error_set(BILLING_ENOTFOUND, NULL,
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
	union { max_align_t align; unsigned char bytes[512]; } local;
	const sqlb_shape *sh;
	void *rec = &local;
	int rc;

	if ((rc = billing__sqlb_shape(&sh, res, tx->drv)) < 0)
		return rc;
	if (!q)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "q",
			"q must not be NULL");
	if (res->record_size > sizeof(local) && (rec = billing__malloc(res->record_size)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (q->total)
		rc = run_record_list(tx, sh, tenant_id, q, 1, cb, payload, rec);
	if (rc >= 0)
		rc = run_record_list(tx, sh, tenant_id, q, 0, cb, payload, rec);
	if (rec != (void *)&local)
		billing__free(rec);
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
