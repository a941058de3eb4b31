/*
 * The SQL builder (see builder.h): one set of statements per resource
 * descriptor, for SQLite and PostgreSQL alike, and the values bound and
 * read through the descriptor's field offsets.
 *
 * The per-resource texts are cached in a list that only grows: a reader
 * walks it without a lock (each node is complete before an atomic store
 * publishes it); a writer builds under a mutex, so two threads meeting
 * a new descriptor build it once. Nodes are never freed: a descriptor is
 * static data of the library, and the drivers key their prepared
 * statements by the texts' addresses.
 *
 * Why one file of about 800 lines: every statement of a descriptor is
 * built here and must agree with the others on the binds' order and the
 * columns read back (insert, update, read, delete, list, count, the
 * set-based insert); one file keeps that agreement in one place.
 */
#include <cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "billing/errors.h"
#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"
#include "storage/sql/builder.h"

/* No statement the builder makes is longer: a descriptor or a list query
 * that would need more is refused, not truncated. */
#define SQLB_TEXT_MAX (64u * 1024u)

/* ------------------------------------------------------------ texts */

static void buf_add(sqlb_buf *b, const char *fmt, ...) BILLING__PRINTF(2, 3);

static void buf_add(sqlb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = BILLING_ERROR;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t want = b->len + (size_t)n + 1, cap = b->cap ? b->cap : 256;
			char *p;
			while (cap < want)
				cap *= 2;
			if (want > SQLB_TEXT_MAX) {
				b->err = BILLING_ERROR;
				return;
			}
			if (cap > SQLB_TEXT_MAX)
				cap = SQLB_TEXT_MAX;
			if ((p = billing__realloc(b->s, cap)) == NULL) {
				b->err = BILLING_ENOMEM;
				return;
			}
			b->s = p;
			b->cap = cap;
		}
	}
}

static int buf_error(const sqlb_buf *b, const char *what)
{
	if (b->err == BILLING_ENOMEM)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return billing__error_set(BILLING_ERROR, "statement_too_long",
		"the %s statement would be longer than %u bytes", what, SQLB_TEXT_MAX);
}

/* ------------------------------------------------------------ descriptors */

/* Table and column names go into SQL text as they are: only plain
 * lower-case identifiers are accepted. */
static int ident_ok(const char *s)
{
	size_t i;
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') || i >= 63)
			return 0;
	}
	return 1;
}

static size_t type_size(billing_field_type t)
{
	switch (t) {
	case BILLING_FIELD_TEXT: return sizeof(const char *);
	case BILLING_FIELD_INT64: return sizeof(int64_t);
	case BILLING_FIELD_INT32: return sizeof(int32_t);
	case BILLING_FIELD_INT: return sizeof(int);
	default: return 0;
	}
}

static int invalid_resource(const billing_resource *res, const char *why)
{
	return billing__error_set(BILLING_ERROR, "invalid_resource",
		"resource descriptor %s: %s", res && res->name ? res->name : "(unnamed)", why);
}

/* Checks what the builder relies on, and finds the key fields. */
static int validate(sqlb_shape *sh, const billing_resource *res)
{
	size_t i;

	if (!res->fields || res->field_count == 0 || res->record_size == 0)
		return invalid_resource(res, "no fields or no record size");
	if (!ident_ok(res->table))
		return invalid_resource(res, "the table name is not a plain identifier");
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		size_t size = type_size(f->type);
		if (!ident_ok(f->column))
			return invalid_resource(res, "a column name is not a plain identifier");
		if (size == 0 || size > res->record_size || f->offset > res->record_size - size)
			return invalid_resource(res, "a field's type or offset does not fit the record");
		if ((f->flags & (BILLING_FIELD_VERSION | BILLING_FIELD_DELETED |
				BILLING_FIELD_RANGE | BILLING_FIELD_ZERO_NULL)) &&
		    f->type == BILLING_FIELD_TEXT)
			return invalid_resource(res, "a text field is flagged as an integer");
		if (f->flags & BILLING_FIELD_ID) {
			if (sh->id)
				return invalid_resource(res, "two ID fields");
			if (f->type != BILLING_FIELD_TEXT)
				return invalid_resource(res, "the ID field is not text");
			sh->id = f;
		}
		if (f->flags & BILLING_FIELD_TENANT) {
			if (sh->tenant)
				return invalid_resource(res, "two TENANT fields");
			if (f->type != BILLING_FIELD_TEXT)
				return invalid_resource(res, "the TENANT field is not text");
			sh->tenant = f;
		}
		if (f->flags & BILLING_FIELD_VERSION) {
			if (sh->version)
				return invalid_resource(res, "two VERSION fields");
			sh->version = f;
		}
		if (strcmp(f->column, "created_at") == 0 && f->type != BILLING_FIELD_TEXT)
			sh->created = f;
	}
	if (!sh->id)
		return invalid_resource(res, "no ID field");
	/* The tenants table: its id is its tenant. */
	if (sh->tenant == sh->id)
		sh->tenant = NULL;
	if (sh->version && (sh->version->flags & (BILLING_FIELD_FIXED | BILLING_FIELD_ID |
			BILLING_FIELD_TENANT)))
		return invalid_resource(res, "the VERSION field is a key or FIXED");
	if (!sh->created)
		sh->created = sh->id;
	return BILLING_OK;
}

/* "WHERE tenant_id = ?1 AND id = ?2" (the key of a select or delete). */
static void add_key(sqlb_buf *b, const sqlb_shape *sh)
{
	if (sh->tenant)
		buf_add(b, " WHERE %s = ?1 AND %s = ?2", sh->tenant->column, sh->id->column);
	else
		buf_add(b, " WHERE %s = ?1", sh->id->column);
}

static int is_key(const sqlb_shape *sh, const billing_field *f)
{
	return f == sh->id || f == sh->tenant || (f->flags & (BILLING_FIELD_TENANT | BILLING_FIELD_ID));
}

/* Builds every text of sh into texts[] (heap); on failure frees them. */
static int build_texts(sqlb_shape *sh, char *texts[SQLB_KINDS], char **columns)
{
	const billing_resource *res = sh->res;
	bool pg = strcmp(sh->drv->dialect, "postgres") == 0;
	const char *is = pg ? "IS NOT DISTINCT FROM" : "IS";
	sqlb_buf b[SQLB_KINDS + 1];
	size_t i;
	int k, sets = 0;

	memset(b, 0, sizeof(b));
	for (i = 0; i < res->field_count; i++)
		buf_add(&b[SQLB_KINDS], "%s%s", i ? ", " : "", res->fields[i].column);

	buf_add(&b[SQLB_INSERT], "INSERT INTO %s (%s) VALUES (", res->table,
		b[SQLB_KINDS].s ? b[SQLB_KINDS].s : "");
	for (i = 0; i < res->field_count; i++)
		buf_add(&b[SQLB_INSERT], "%s?%zu", i ? ", " : "", i + 1);
	buf_add(&b[SQLB_INSERT], ")");

	buf_add(&b[SQLB_UPDATE], "UPDATE %s SET ", res->table);
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		if (is_key(sh, f) || (f->flags & (BILLING_FIELD_FIXED | BILLING_FIELD_APART)))
			continue;
		buf_add(&b[SQLB_UPDATE], "%s%s = ?%zu", sets++ ? ", " : "", f->column, i + 1);
	}
	if (sh->tenant)
		buf_add(&b[SQLB_UPDATE], " WHERE %s = ?%zu AND %s = ?%zu", sh->tenant->column,
			(size_t)(sh->tenant - res->fields) + 1, sh->id->column,
			(size_t)(sh->id - res->fields) + 1);
	else
		buf_add(&b[SQLB_UPDATE], " WHERE %s = ?%zu", sh->id->column,
			(size_t)(sh->id - res->fields) + 1);
	if (sh->version)
		buf_add(&b[SQLB_UPDATE], " AND %s = ?%zu", sh->version->column,
			res->field_count + 1);
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		if (is_key(sh, f) || !(f->flags & BILLING_FIELD_FIXED))
			continue;
		/* A FIXED field may be NULL (a subscription-less invoice):
		 * NULL matches NULL. */
		buf_add(&b[SQLB_UPDATE], " AND %s %s ?%zu", f->column, is, i + 1);
	}
	for (i = 0; i < res->field_count; i++) {
		/* An APART field is bound with the record but neither set nor
		 * matched: named once, typed, so that PostgreSQL knows every
		 * parameter's type. */
		const billing_field *f = &res->fields[i];
		if (is_key(sh, f) || !(f->flags & BILLING_FIELD_APART))
			continue;
		buf_add(&b[SQLB_UPDATE], " AND (CAST(?%zu AS %s) IS NULL OR 1 = 1)", i + 1,
			f->type == BILLING_FIELD_TEXT ? "TEXT" : "BIGINT");
	}

	for (k = SQLB_SELECT; k <= SQLB_SELECT_UPDATE; k++) {
		buf_add(&b[k], "SELECT %s FROM %s", b[SQLB_KINDS].s ? b[SQLB_KINDS].s : "",
			res->table);
		add_key(&b[k], sh);
	}
	if (sh->drv->for_update) {
		buf_add(&b[SQLB_SELECT_SHARE], " FOR SHARE");
		/* Not FOR UPDATE: that also waits for the rows whose foreign keys
		 * hold this one (FOR KEY SHARE), so two writers that each inserted a
		 * child of the row and then lock it deadlock (txn.h). */
		buf_add(&b[SQLB_SELECT_UPDATE], " FOR NO KEY UPDATE");
	}
	buf_add(&b[SQLB_DELETE], "DELETE FROM %s", res->table);
	add_key(&b[SQLB_DELETE], sh);

	/* Many rows from one JSON parameter (see billing__sqlb_rows_json):
	 * SQLite's json_each, PostgreSQL's json_array_elements, each row an
	 * array whose element i is field i. */
	buf_add(&b[SQLB_INSERT_ROWS], "INSERT INTO %s (%s) SELECT ", res->table,
		b[SQLB_KINDS].s ? b[SQLB_KINDS].s : "");
	for (i = 0; i < res->field_count; i++) {
		const char *sep = i ? ", " : "";
		if (!pg)
			buf_add(&b[SQLB_INSERT_ROWS], "%sjson_extract(value, '$[%zu]')", sep, i);
		else if (res->fields[i].type == BILLING_FIELD_TEXT)
			buf_add(&b[SQLB_INSERT_ROWS], "%sr->>%zu", sep, i);
		else
			buf_add(&b[SQLB_INSERT_ROWS], "%s(r->>%zu)::bigint", sep, i);
	}
	buf_add(&b[SQLB_INSERT_ROWS], pg ? " FROM json_array_elements(?1::json) AS r" :
		" FROM json_each(?1) ORDER BY key");

	for (k = 0; k <= SQLB_KINDS; k++) {
		if (b[k].err || !b[k].s) {
			int rc = b[k].err ? buf_error(&b[k], res->table) :
				billing__error_set(BILLING_ENOMEM, NULL, NULL);
			for (k = 0; k <= SQLB_KINDS; k++)
				billing__free(b[k].s);
			return rc;
		}
	}
	for (k = 0; k < SQLB_KINDS; k++)
		texts[k] = b[k].s;
	*columns = b[SQLB_KINDS].s;
	if (sets == 0) {
		/* Nothing an update could change: no update statement. */
		billing__free(texts[SQLB_UPDATE]);
		texts[SQLB_UPDATE] = NULL;
	}
	return BILLING_OK;
}

/* ------------------------------------------------------------ the cache */

struct shape_node {
	sqlb_shape sh;
	struct shape_node *next;
};

static struct shape_node *_Atomic shapes;
static pthread_mutex_t shapes_mu = PTHREAD_MUTEX_INITIALIZER;

static const sqlb_shape *find(struct shape_node *n, const billing_resource *res,
	const sql_driver *drv)
{
	for (; n; n = n->next)
		if (n->sh.res == res && n->sh.drv == drv)
			return &n->sh;
	return NULL;
}

int billing__sqlb_shape(const sqlb_shape **out, const billing_resource *res,
	const sql_driver *drv)
{
	struct shape_node *n;
	const sqlb_shape *found;
	char *texts[SQLB_KINDS], *columns = NULL;
	int rc, k;

	*out = NULL;
	if (!res)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "res",
			"res must not be NULL");
	if ((found = find(atomic_load_explicit(&shapes, memory_order_acquire), res, drv))) {
		*out = found;
		return BILLING_OK;
	}
	pthread_mutex_lock(&shapes_mu);
	if ((found = find(atomic_load_explicit(&shapes, memory_order_relaxed), res, drv))) {
		pthread_mutex_unlock(&shapes_mu);
		*out = found;
		return BILLING_OK;
	}
	if ((n = billing__calloc(1, sizeof(*n))) == NULL) {
		pthread_mutex_unlock(&shapes_mu);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	n->sh.res = res;
	n->sh.drv = drv;
	if ((rc = validate(&n->sh, res)) < 0 ||
	    (rc = build_texts(&n->sh, texts, &columns)) < 0) {
		pthread_mutex_unlock(&shapes_mu);
		billing__free(n);
		return rc;
	}
	for (k = 0; k < SQLB_KINDS; k++)
		n->sh.text[k] = texts[k];
	if (!drv->for_update) {
		/* The dialect does not lock rows: the locked selects are the plain one
		 * (one prepared statement, not three). */
		billing__free(texts[SQLB_SELECT_SHARE]);
		billing__free(texts[SQLB_SELECT_UPDATE]);
		n->sh.text[SQLB_SELECT_SHARE] = n->sh.text[SQLB_SELECT];
		n->sh.text[SQLB_SELECT_UPDATE] = n->sh.text[SQLB_SELECT];
	}
	n->sh.columns = columns;
	n->next = atomic_load_explicit(&shapes, memory_order_relaxed);
	atomic_store_explicit(&shapes, n, memory_order_release);
	pthread_mutex_unlock(&shapes_mu);
	*out = &n->sh;
	return BILLING_OK;
}

const char *billing__sqlb_select(const sqlb_shape *sh, unsigned int txn_kind,
	unsigned int lock)
{
	if (txn_kind != BILLING_TXN_WRITE || lock == BILLING_LOCK_NONE)
		return sh->text[SQLB_SELECT];
	return sh->text[lock == BILLING_LOCK_SHARE ? SQLB_SELECT_SHARE : SQLB_SELECT_UPDATE];
}

/* ------------------------------------------------------------ values */

/* The integer a field of rec stores; false: SQL NULL (a ZERO_NULL 0). */
static bool int_value(int64_t *out, const billing_field *f, const void *rec)
{
	const char *p = (const char *)rec + f->offset;
	int64_t v;

	switch (f->type) {
	case BILLING_FIELD_INT64: {
		int64_t x;
		memcpy(&x, p, sizeof(x));
		v = x;
		break;
	}
	case BILLING_FIELD_INT32: {
		int32_t x;
		memcpy(&x, p, sizeof(x));
		v = x;
		break;
	}
	case BILLING_FIELD_INT:
	default: {
		int x;
		memcpy(&x, p, sizeof(x));
		v = x;
		break;
	}
	}
	if (f->json_kind == BILLING_JSON_BOOLEAN)
		v = v != 0; /* a flag is stored as 0 / 1, whatever true the caller used */
	*out = v;
	return !(v == 0 && (f->flags & BILLING_FIELD_ZERO_NULL));
}

static const char *text_value(const billing_field *f, const void *rec)
{
	const char *t;
	memcpy(&t, (const char *)rec + f->offset, sizeof(t));
	return t;
}

static void bind_field(sql_stmt *s, int i, const billing_field *f, const void *rec)
{
	int64_t v;

	if (f->type == BILLING_FIELD_TEXT)
		s->drv->bind_text(s, i, text_value(f, rec));
	else if (int_value(&v, f, rec))
		s->drv->bind_int(s, i, v);
	else
		s->drv->bind_null(s, i);
}

int billing__sqlb_rows_json(char **out, const sqlb_shape *sh, const void *const *recs,
	size_t count)
{
	const billing_resource *res = sh->res;
	cJSON *rows, *row, *v;
	char num[24];
	size_t r, i;

	*out = NULL;
	if ((rows = cJSON_CreateArray()) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (r = 0; r < count; r++) {
		if ((row = cJSON_CreateArray()) == NULL || !cJSON_AddItemToArray(rows, row))
			goto nomem;
		for (i = 0; i < res->field_count; i++) {
			const billing_field *f = &res->fields[i];
			int64_t x;
			if (f->type == BILLING_FIELD_TEXT) {
				const char *t = text_value(f, recs[r]);
				v = t ? cJSON_CreateString(t) : cJSON_CreateNull();
			} else if (int_value(&x, f, recs[r])) {
				/* Raw: a double would round integers past 2^53. */
				snprintf(num, sizeof(num), "%lld", (long long)x);
				v = cJSON_CreateRaw(num);
			} else {
				v = cJSON_CreateNull();
			}
			if (!v || !cJSON_AddItemToArray(row, v)) {
				cJSON_Delete(v);
				goto nomem;
			}
		}
	}
	*out = cJSON_PrintUnformatted(rows);
	cJSON_Delete(rows);
	return *out ? BILLING_OK : billing__error_set(BILLING_ENOMEM, NULL, NULL);
nomem:
	cJSON_Delete(rows);
	return billing__error_set(BILLING_ENOMEM, NULL, NULL);
}

void billing__sqlb_bind_record(sql_stmt *s, const sqlb_shape *sh, const void *rec)
{
	size_t i;
	for (i = 0; i < sh->res->field_count; i++)
		bind_field(s, (int)i + 1, &sh->res->fields[i], rec);
}

void billing__sqlb_bind_key(sql_stmt *s, const sqlb_shape *sh, const char *tenant_id,
	const char *id)
{
	if (sh->tenant) {
		s->drv->bind_text(s, 1, tenant_id);
		s->drv->bind_text(s, 2, id);
	} else {
		s->drv->bind_text(s, 1, id);
	}
}

void billing__sqlb_read(sql_stmt *s, const sqlb_shape *sh, void *rec)
{
	const billing_resource *res = sh->res;
	size_t i;

	memset(rec, 0, res->record_size);
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		char *p = (char *)rec + f->offset;
		switch (f->type) {
		case BILLING_FIELD_TEXT: {
			const char *t = s->drv->col_text(s, (int)i);
			memcpy(p, &t, sizeof(t));
			break;
		}
		case BILLING_FIELD_INT64: {
			int64_t x = s->drv->col_int(s, (int)i);
			memcpy(p, &x, sizeof(x));
			break;
		}
		case BILLING_FIELD_INT32: {
			int32_t x = (int32_t)s->drv->col_int(s, (int)i);
			memcpy(p, &x, sizeof(x));
			break;
		}
		case BILLING_FIELD_INT:
		default: {
			int x = (int)s->drv->col_int(s, (int)i);
			memcpy(p, &x, sizeof(x));
			break;
		}
		}
	}
}

/* ------------------------------------------------------------ lists */

/* The next placeholder's number; the array was sized for every value a
 * query can bind, so running out is a bug in the count below. */
static int bind_add(sqlb_list *l, int is_text, const char *text, int64_t num)
{
	BILLING_ASSERT(l->nbinds < l->cap_binds);
	if (l->nbinds >= l->cap_binds) {
		l->sql.err = BILLING_ERROR;
		return l->cap_binds;
	}
	l->binds[l->nbinds].is_text = is_text;
	l->binds[l->nbinds].text = text;
	l->binds[l->nbinds].num = num;
	return ++l->nbinds;
}

static int has_field(const billing_resource *res, const billing_field *f)
{
	size_t i;
	for (i = 0; i < res->field_count; i++)
		if (&res->fields[i] == f)
			return 1;
	return 0;
}

static int bad_filter(const billing_field *f, const char *why)
{
	const char *name = f && f->json ? f->json : f ? f->column : "filters";
	return billing__error_field(BILLING_EINVALID, "invalid_filter", name,
		"cannot filter on %s: %s", name, why);
}

/* Appends one filter's condition. */
static int add_filter(sqlb_list *l, const sqlb_shape *sh, const billing_filter *fl)
{
	const billing_field *f = fl->field;
	static const char *const cmp[] = { NULL, "=", ">=", "<=", ">", "<" };

	if (!f || !has_field(sh->res, f))
		return bad_filter(NULL, "not a field of this resource");
	switch (fl->op) {
	case BILLING_FILTER_EQ:
		if (!(f->flags & (BILLING_FIELD_FILTER | BILLING_FIELD_RANGE)))
			return bad_filter(f, "the field is not filterable");
		if (f->type == BILLING_FIELD_TEXT) {
			if (!fl->text)
				buf_add(&l->sql, "%s IS NULL", f->column);
			else
				buf_add(&l->sql, "%s = ?%d", f->column, bind_add(l, 1, fl->text, 0));
		} else if (fl->num == 0 && (f->flags & BILLING_FIELD_ZERO_NULL)) {
			buf_add(&l->sql, "%s IS NULL", f->column);
		} else {
			buf_add(&l->sql, "%s = ?%d", f->column, bind_add(l, 0, NULL, fl->num));
		}
		return BILLING_OK;
	case BILLING_FILTER_GE:
	case BILLING_FILTER_LE:
	case BILLING_FILTER_GT:
	case BILLING_FILTER_LT:
		if (!(f->flags & BILLING_FIELD_RANGE) || f->type == BILLING_FIELD_TEXT)
			return bad_filter(f, "the field has no range filter");
		buf_add(&l->sql, "%s %s ?%d", f->column, cmp[fl->op],
			bind_add(l, 0, NULL, fl->num));
		return BILLING_OK;
	case BILLING_FILTER_IN_SET:
	case BILLING_FILTER_NOT_IN_SET: {
		/* The set's values are the library's own data (a status set), so
		 * they are written into the text: a set is one statement. */
		int v, n = 0;
		if (!fl->set || f->type == BILLING_FIELD_TEXT || !(f->flags & BILLING_FIELD_FILTER))
			return bad_filter(f, "a set filter needs a set and a filterable integer field");
		if (fl->set->values == 0) {
			buf_add(&l->sql, fl->op == BILLING_FILTER_IN_SET ? "1 = 0" : "1 = 1");
			return BILLING_OK;
		}
		buf_add(&l->sql, "%s %sIN (", f->column, fl->op == BILLING_FILTER_IN_SET ? "" : "NOT ");
		for (v = 0; v < 64; v++)
			if (fl->set->values & ((uint64_t)1 << v))
				buf_add(&l->sql, "%s%d", n++ ? ", " : "", v);
		buf_add(&l->sql, ")");
		return BILLING_OK;
	}
	default:
		return bad_filter(f, "unknown comparison");
	}
}

/* The WHERE clause the page query and the count share. */
static int add_where(sqlb_list *l, const sqlb_shape *sh, const char *tenant_id,
	const billing_list_query *q, const char **sep)
{
	const billing_resource *res = sh->res;
	size_t i;
	int rc;

	*sep = " WHERE ";
	if (sh->tenant && tenant_id) {
		buf_add(&l->sql, "%s%s = ?%d", *sep, sh->tenant->column,
			bind_add(l, 1, tenant_id, 0));
		*sep = " AND ";
	}
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		if (!(f->flags & BILLING_FIELD_DELETED) || q->with_deleted)
			continue;
		buf_add(&l->sql, (f->flags & BILLING_FIELD_ZERO_NULL) ? "%s%s IS NULL" : "%s%s = 0",
			*sep, f->column);
		*sep = " AND ";
	}
	if (q->search && *q->search) {
		/* LIKE with the search text's wildcards escaped, folding case:
		 * SQLite's LIKE folds ASCII, PostgreSQL's ILIKE folds per locale. */
		size_t n = strlen(q->search), j = 0, searched = 0;
		const char *p;
		int k;
		if ((l->pattern = billing__malloc(2 * n + 3)) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		l->pattern[j++] = '%';
		for (p = q->search; *p; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				l->pattern[j++] = '\\';
			l->pattern[j++] = *p;
		}
		l->pattern[j++] = '%';
		l->pattern[j] = '\0';
		k = bind_add(l, 1, l->pattern, 0);
		buf_add(&l->sql, "%s(", *sep);
		for (i = 0; i < res->field_count; i++) {
			const billing_field *f = &res->fields[i];
			if (!(f->flags & BILLING_FIELD_SEARCH))
				continue;
			buf_add(&l->sql, "%s%s %s ?%d ESCAPE '\\'", searched++ ? " OR " : "",
				f->column, sh->drv->like, k);
		}
		if (!searched)
			return billing__error_field(BILLING_EINVALID, "invalid_filter", "search",
				"%s has no searchable field", res->name ? res->name : res->table);
		buf_add(&l->sql, ")");
		*sep = " AND ";
	}
	for (i = 0; i < q->filter_count; i++) {
		buf_add(&l->sql, "%s", *sep);
		if ((rc = add_filter(l, sh, &q->filters[i])) < 0)
			return rc;
		*sep = " AND ";
	}
	return BILLING_OK;
}

int billing__sqlb_list(sqlb_list *l, const sqlb_shape *sh, const char *tenant_id,
	const billing_list_query *q, int count)
{
	const billing_resource *res = sh->res;
	const billing_field *sort = sh->created;
	const char *sep, *dir = q->descending ? "DESC" : "ASC";
	int rc;

	memset(l, 0, sizeof(*l));
	if (q->filter_count && !q->filters)
		return billing__error_field(BILLING_EINVALID, "invalid_filter", "filters",
			"filter_count is set without filters");
	if (sh->tenant && !tenant_id && !q->all_tenants)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "tenant_id",
			"tenant_id must not be NULL");
	if (tenant_id && q->all_tenants)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "tenant_id",
			"a list of every tenant takes no tenant_id");
	/* The tenant, the search, one per filter, the keyset's two, the limit
	 * and the offset. */
	if (q->filter_count > 1024)
		return billing__error_field(BILLING_EINVALID, "invalid_filter", "filters",
			"too many filters");
	l->cap_binds = (int)q->filter_count + 6;
	if ((l->binds = billing__calloc((size_t)l->cap_binds, sizeof(*l->binds))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);

	if (q->sort_field) {
		sort = q->sort_field;
		if (!has_field(res, sort) || (sort != sh->created && sort != sh->id &&
				!(sort->flags & BILLING_FIELD_SORT)))
			return billing__error_field(BILLING_EINVALID, "invalid_sort", "sort",
				"cannot sort on %s", has_field(res, sort) ? sort->column : "a field of another resource");
	}
	if (count)
		buf_add(&l->sql, "SELECT count(*) FROM %s", res->table);
	else
		buf_add(&l->sql, "SELECT %s FROM %s", sh->columns, res->table);
	if ((rc = add_where(l, sh, tenant_id, q, &sep)) < 0)
		return rc;
	if (!count) {
		if (q->offset < 0 && q->has_after) {
			/* Keyset: strictly after the last row, in sort order (row values
			 * use the (tenant, col, id) indexes). */
			const char *op = q->descending ? "<" : ">";
			if (!q->after_id)
				return billing__error_field(BILLING_EINVALID, "invalid_cursor", "after_id",
					"a keyset page needs the last row's id");
			if (sort == sh->id) {
				buf_add(&l->sql, "%s%s %s ?%d", sep, sh->id->column, op,
					bind_add(l, 1, q->after_id, 0));
			} else {
				int a = sort->type == BILLING_FIELD_TEXT ? bind_add(l, 1, q->after_text, 0) :
					bind_add(l, 0, NULL, q->after_int);
				int b = bind_add(l, 1, q->after_id, 0);
				buf_add(&l->sql, "%s(%s, %s) %s (?%d, ?%d)", sep, sort->column,
					sh->id->column, op, a, b);
			}
		}
		if (sort == sh->id)
			buf_add(&l->sql, " ORDER BY %s %s", sh->id->column, dir);
		else
			buf_add(&l->sql, " ORDER BY %s %s, %s %s", sort->column, dir,
				sh->id->column, dir);
		buf_add(&l->sql, " LIMIT ?%d", bind_add(l, 0, NULL, q->limit));
		if (q->offset >= 0)
			buf_add(&l->sql, " OFFSET ?%d", bind_add(l, 0, NULL, q->offset));
	}
	if (l->sql.err || !l->sql.s)
		return l->sql.s || l->sql.err ? buf_error(&l->sql, "list") :
			billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

void billing__sqlb_list_bind(sql_stmt *s, const sqlb_list *l)
{
	int i;
	BILLING_ASSERT(l->nbinds <= l->cap_binds);
	for (i = 0; i < l->nbinds; i++) {
		if (l->binds[i].is_text)
			s->drv->bind_text(s, i + 1, l->binds[i].text);
		else
			s->drv->bind_int(s, i + 1, l->binds[i].num);
	}
}

void billing__sqlb_list_free(sqlb_list *l)
{
	billing__free(l->sql.s);
	billing__free(l->binds);
	billing__free(l->pattern);
	memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------ errors */

/* PostgreSQL names a unique constraint "<table>_<column>_key" (ours by
 * convention, its own as "<table>_<col1>_<col2>_key"): a name that starts
 * with the table and ends with the column and "_key". */
static int constraint_names(const char *name, const char *table, const char *column)
{
	size_t n = strlen(name), t = strlen(table), c = strlen(column);
	return n >= t + c + 5 && strncmp(name, table, t) == 0 && name[t] == '_' &&
		strcmp(name + n - 4, "_key") == 0 && name[n - 5 - c] == '_' &&
		strncmp(name + n - 4 - c, column, c) == 0;
}

int billing__sqlb_unique_error(const sqlb_shape *sh)
{
	const billing_resource *res = sh->res;
	const billing_error *e = billing_error_last();
	char reported[64];
	size_t i;

	if (e->code != BILLING_EEXISTS || !e->field)
		return BILLING_EEXISTS;
	snprintf(reported, sizeof(reported), "%s", e->field);
	for (i = 0; i < res->field_count; i++) {
		const billing_field *f = &res->fields[i];
		const char *name;
		if (!(f->flags & BILLING_FIELD_UNIQUE))
			continue;
		if (strcmp(reported, f->column) != 0 && !(f->json && strcmp(reported, f->json) == 0) &&
		    !constraint_names(reported, res->table, f->column))
			continue;
		name = f->json ? f->json : f->column;
		return billing__error_field(BILLING_EEXISTS, "already_exists", name,
			"%s is already taken in this tenant", name);
	}
	return BILLING_EEXISTS;
}

/* ------------------------------------------------------------ public */

const billing_field *billing_resource_field(const billing_resource *res, const char *column)
{
	size_t i;
	if (!res || !column || !res->fields)
		return NULL;
	for (i = 0; i < res->field_count; i++)
		if (res->fields[i].column && strcmp(res->fields[i].column, column) == 0)
			return &res->fields[i];
	return NULL;
}
