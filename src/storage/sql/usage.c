/*
 * Usage events at volume (issue #23), for both SQL backends: the bulk
 * insert (usage_insert) and the set-based aggregate (usage_aggregate) of
 * the storage vtable's version 12.
 *
 * The insert writes up to ROWS rows a statement with one multi-row
 * INSERT ... ON CONFLICT DO NOTHING RETURNING transaction_id: a
 * transaction id already stored is a duplicate the caller reports, not an
 * error (a unique violation would abort a PostgreSQL transaction), and
 * the rows RETURNING names are the ones written. SQLite: INSERT ... VALUES
 * (?1, ..., ?9), (?10, ...) ..., the text of a full statement built once
 * and prepared once per connection (a shorter tail is built per call).
 * PostgreSQL: INSERT ... SELECT from json_array_elements of one parameter,
 * the rows as one JSON text (the driver binds at most 64 parameters, and
 * one parameter is one round trip's worth of rows either way).
 *
 * On PostgreSQL usage_events is partitioned by month (schema step 42) and
 * holds no unique key: the dedupe key is usage_event_keys, and one
 * statement writes a chunk's keys (ON CONFLICT DO NOTHING RETURNING) and
 * the events of the keys it wrote. Before it, a chunk with a month the
 * storage does not know has a partition asks billing_usage_partition for
 * those months, in one statement (the only extra round trip, once per
 * month and storage); the DEFAULT partition takes any row regardless.
 *
 * The aggregate is one SELECT over the events of one customer, event name
 * and period; the dialects differ only in how they read a JSON property
 * (SQLite json_extract / json_type on the stored text, PostgreSQL jsonb
 * operators), so the statement is put together from the dialect's pieces.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/errors.h"
#include "core/alloc.h"
#include "core/errors.h"
#include "storage/sql/sql.h"

/* Rows per INSERT: 9 parameters a row stays well under SQLite's 32766
 * and PostgreSQL's 65535 parameters. */
#define ROWS 500
#define COLS 9

static int prepare(sql_stmt **out, billing_txn *tx, const char *sql, bool dynamic)
{
	int rc;
	*out = NULL;
	if (billing__storage_fault())
		return billing__error_set(BILLING_ESTORAGE, "injected", "injected storage failure");
	if ((rc = tx->drv->prepare(tx, sql, dynamic, out)) < 0)
		return rc;
	if (!*out)
		return billing__error_set(BILLING_ESTORAGE, "storage", "the driver made no statement");
	return BILLING_OK;
}

/* "INSERT ... VALUES (?1..?9), ... (rows) ON CONFLICT DO NOTHING RETURNING
 * transaction_id", new (billing__free). */
static char *insert_text(size_t rows)
{
	static const char head[] = "INSERT INTO usage_events (tenant_id, transaction_id, "
		"event_name, customer_id, subscription_id, occurred_at, properties, received_at, "
		"version) VALUES ";
	static const char tail[] = " ON CONFLICT DO NOTHING RETURNING transaction_id";
	size_t cap = sizeof(head) + sizeof(tail) + rows * (COLS * 8 + 4), len, r, c;
	char *s = billing__malloc(cap);

	if (!s)
		return NULL;
	len = (size_t)snprintf(s, cap, "%s", head);
	for (r = 0; r < rows; r++) {
		len += (size_t)snprintf(s + len, cap - len, "%s(", r ? ", " : "");
		for (c = 0; c < COLS; c++)
			len += (size_t)snprintf(s + len, cap - len, "%s?%zu", c ? ", " : "",
				r * COLS + c + 1);
		len += (size_t)snprintf(s + len, cap - len, ")");
	}
	snprintf(s + len, cap - len, "%s", tail);
	return s;
}

static pthread_once_t full_once = PTHREAD_ONCE_INIT;
static char *full_text;              /* a full statement's text, built once, never freed */

static void full_build(void)
{
	full_text = insert_text(ROWS);
}

/* Index of recs[] by transaction id, for the rows RETURNING names. */
static const billing_usage_event_record *sort_base;

static int by_tid(const void *a, const void *b)
{
	return strcmp(sort_base[*(const size_t *)a].transaction_id,
		sort_base[*(const size_t *)b].transaction_id);
}

struct key {
	const billing_usage_event_record *recs;
	const char *tid;
};

static int find_tid(const void *k, const void *e)
{
	const struct key *key = k;
	return strcmp(key->tid, key->recs[*(const size_t *)e].transaction_id);
}

static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER;

/* The keys first: the events written are those whose key was new. A
 * transaction id twice in one chunk (the core sends none) would be one
 * key: DISTINCT ON keeps its first row, so it is one event too. COLLATE
 * "C" as the columns, so the join compares like with like. */
static const char pg_insert[] =
	"WITH r AS (SELECT DISTINCT ON (e->>1) (e->>0) COLLATE \"C\" AS tenant_id, "
	"(e->>1) COLLATE \"C\" AS transaction_id, e->>2 AS event_name, e->>3 AS customer_id, "
	"e->>4 AS subscription_id, (e->>5)::bigint AS occurred_at, (e->6)::text AS properties, "
	"(e->>7)::bigint AS received_at FROM json_array_elements(?1::json) WITH ORDINALITY "
	"AS j (e, n) ORDER BY e->>1, n), "
	"k AS (INSERT INTO usage_event_keys (tenant_id, transaction_id, occurred_at) "
	"SELECT tenant_id, transaction_id, occurred_at FROM r "
	"ON CONFLICT DO NOTHING RETURNING tenant_id, transaction_id) "
	"INSERT INTO usage_events (tenant_id, transaction_id, event_name, customer_id, "
	"subscription_id, occurred_at, properties, received_at, version) "
	"SELECT r.tenant_id, r.transaction_id, r.event_name, r.customer_id, r.subscription_id, "
	"r.occurred_at, r.properties, r.received_at, 1 FROM r JOIN k "
	"ON k.tenant_id = r.tenant_id AND k.transaction_id = r.transaction_id "
	"RETURNING transaction_id";

/* ------------------------------------------------------------ months (PostgreSQL) */

/* Timestamps a partition is asked for: years 1970 to 9999 (the rest goes
 * to the DEFAULT partition, as any row with no month of its own). */
#define MONTHS_FROM 0
#define MONTHS_TO INT64_C(253402300800)

/* The UTC month of t (MONTHS_FROM <= t < MONTHS_TO): year * 12 + month - 1,
 * from its day by the civil calendar (H. Hinnant's civil_from_days). */
static int32_t month_of(int64_t t)
{
	int64_t z = t / 86400 + 719468, era = z / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
	return (int32_t)(y * 12 + m - 1);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static bool month_known(struct sql_usage_months *m, int32_t month)
{
	bool hit;
	pthread_mutex_lock(&m->mu);
	hit = m->count && bsearch(&month, m->month, m->count, sizeof(month), cmp_i32);
	pthread_mutex_unlock(&m->mu);
	return hit;
}

void billing__sql_usage_months_commit(billing_txn *tx)
{
	struct sql_usage_months *m = tx->months;
	unsigned int i;

	if (!m || !tx->months_new_count)
		return;
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < tx->months_new_count; i++) {
		int32_t month = tx->months_new[i];
		size_t at = 0;
		if (m->count && bsearch(&month, m->month, m->count, sizeof(month), cmp_i32))
			continue;
		if (m->count == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 32;
			int32_t *p = billing__realloc(m->month, cap * sizeof(*p));
			if (!p)
				break;         /* not remembered: asked again next time */
			m->month = p;
			m->cap = cap;
		}
		while (at < m->count && m->month[at] < month)
			at++;
		memmove(m->month + at + 1, m->month + at, (m->count - at) * sizeof(*m->month));
		m->month[at] = month;
		m->count++;
	}
	pthread_mutex_unlock(&m->mu);
	tx->months_new_count = 0;
}

void billing__sql_usage_months_free(struct sql_usage_months *m)
{
	billing__free(m->month);
	m->month = NULL;
	m->count = m->cap = 0;
	pthread_mutex_destroy(&m->mu);
}

static const char pg_partitions[] =
	"SELECT billing_usage_partition(CAST(t AS BIGINT)) "
	"FROM unnest(string_to_array(?1, ',')) AS u (t)";

/* Makes sure every month of recs[0..n) has its partition, asking the
 * database (one statement) for those the storage does not know; they
 * are known once tx commits. */
static int months_ensure(billing_txn *tx, const billing_usage_event_record *recs, size_t n)
{
	int32_t miss[SQL_MONTHS_NEW];
	int64_t at[SQL_MONTHS_NEW];
	char list[SQL_MONTHS_NEW * 24];
	size_t nmiss = 0, i, j, len = 0;
	int32_t last = -1;               /* the previous row's month, known */
	sql_stmt *s;
	int rc;

	for (i = 0; i < n && nmiss < SQL_MONTHS_NEW; i++) {
		int64_t t = recs[i].timestamp;
		int32_t month;
		if (t < MONTHS_FROM || t >= MONTHS_TO || (month = month_of(t)) == last)
			continue;
		for (j = 0; j < nmiss && miss[j] != month; j++)
			;
		if (j < nmiss)
			continue;
		for (j = 0; j < tx->months_new_count && tx->months_new[j] != month; j++)
			;
		if (j < tx->months_new_count || month_known(tx->months, month)) {
			last = month;
			continue;
		}
		miss[nmiss] = month;
		at[nmiss++] = t;
	}
	if (!nmiss)
		return BILLING_OK;
	for (i = 0; i < nmiss; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%lld", i ? "," : "",
			(long long)at[i]);
	if ((rc = prepare(&s, tx, pg_partitions, false)) < 0)
		return rc;
	s->drv->bind_text(s, 1, list);
	while ((rc = s->drv->step(s, BILLING_EINVALID)) > 0)
		;
	s->drv->reset(s);
	if (rc < 0)
		return rc;
	for (i = 0; i < nmiss && tx->months_new_count < SQL_MONTHS_NEW; i++)
		tx->months_new[tx->months_new_count++] = miss[i];
	return BILLING_OK;
}

/* Appends s as a JSON string (or null); the strings here are printable
 * ASCII (the core checks), so only " and \ need escaping. */
static size_t json_str(char *out, const char *s)
{
	size_t n = 0;
	if (!s) {
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a piece of a longer text */
		memcpy(out, "null", 4);
		return 4;
	}
	out[n++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '"';
	return n;
}

/* The rows as one JSON array of arrays (new), for pg_insert. */
static char *rows_json(const billing_usage_event_record *recs, size_t n)
{
	size_t cap = 3, i, len = 0;
	char *s;
	for (i = 0; i < n; i++)
		cap += 2 * (strlen(recs[i].tenant_id) + strlen(recs[i].transaction_id) +
			strlen(recs[i].event_name) + strlen(recs[i].customer_id) +
			(recs[i].subscription_id ? strlen(recs[i].subscription_id) : 0)) +
			strlen(recs[i].properties) + 120;
	if (!(s = billing__malloc(cap)))
		return NULL;
	s[len++] = '[';
	for (i = 0; i < n; i++) {
		const billing_usage_event_record *r = &recs[i];
		if (i)
			s[len++] = ',';
		s[len++] = '[';
		len += json_str(s + len, r->tenant_id);
		s[len++] = ',';
		len += json_str(s + len, r->transaction_id);
		s[len++] = ',';
		len += json_str(s + len, r->event_name);
		s[len++] = ',';
		len += json_str(s + len, r->customer_id);
		s[len++] = ',';
		len += json_str(s + len, r->subscription_id);
		len += (size_t)snprintf(s + len, cap - len, ",%lld,%s,%lld]",
			(long long)r->timestamp, r->properties, (long long)r->received_at);
	}
	s[len++] = ']';
	s[len] = '\0';
	return s;
}

/* One statement: recs[0..n) written, inserted[] set from RETURNING. */
static int insert_chunk(billing_txn *tx, const billing_usage_event_record *recs, size_t n,
	unsigned char *inserted)
{
	size_t *order = billing__malloc(n * sizeof(*order)), i;
	char *text = NULL, *json = NULL;
	sql_stmt *s;
	int rc;

	if (!order)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (i = 0; i < n; i++) {
		order[i] = i;
		inserted[i] = 0;
	}
	/* qsort has no payload argument: the records go through sort_base,
	 * under a lock (the sort is short). */
	pthread_mutex_lock(&sort_mu);
	sort_base = recs;
	qsort(order, n, sizeof(*order), by_tid);
	sort_base = NULL;
	pthread_mutex_unlock(&sort_mu);

	if (strcmp(tx->drv->dialect, "sqlite") != 0) {
		if (tx->months && (rc = months_ensure(tx, recs, n)) < 0) {
			billing__free(order);
			return rc;
		}
		json = rows_json(recs, n);
		text = (char *)(uintptr_t)pg_insert;
	} else if (n == ROWS) {
		pthread_once(&full_once, full_build);
		text = full_text;
	} else {
		text = insert_text(n);
	}
	if (!text || (text == pg_insert && !json)) {
		if (text != full_text && text != pg_insert)
			billing__free(text);
		billing__free(order);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	rc = prepare(&s, tx, text, text != full_text && text != pg_insert);
	if (rc == BILLING_OK) {
		const sql_driver *d = s->drv;
		if (json)
			d->bind_text(s, 1, json);
		for (i = 0; !json && i < n; i++) {
			const billing_usage_event_record *r = &recs[i];
			int b = (int)(i * COLS);
			d->bind_text(s, b + 1, r->tenant_id);
			d->bind_text(s, b + 2, r->transaction_id);
			d->bind_text(s, b + 3, r->event_name);
			d->bind_text(s, b + 4, r->customer_id);
			d->bind_text(s, b + 5, r->subscription_id);
			d->bind_int(s, b + 6, r->timestamp);
			d->bind_text(s, b + 7, r->properties);
			d->bind_int(s, b + 8, r->received_at);
			d->bind_int(s, b + 9, 1);
		}
		while ((rc = d->step(s, BILLING_EINVALID)) > 0) {
			struct key k = { recs, d->col_text(s, 0) };
			const size_t *hit = k.tid ? bsearch(&k, order, n, sizeof(*order), find_tid) :
				NULL;
			if (hit)
				inserted[*hit] = 1;
		}
		d->reset(s);
	}
	if (text != full_text && text != pg_insert)
		billing__free(text);
	billing__free(json);
	billing__free(order);
	return rc < 0 ? rc : BILLING_OK;
}

static int usage_insert(billing_txn *tx, const billing_usage_event_record *recs, size_t count,
	unsigned char *inserted)
{
	size_t done, n;
	int rc;

	if (count && (!recs || !inserted))
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "recs",
			"recs and inserted must not be NULL");
	for (done = 0; done < count; done += n) {
		n = count - done < ROWS ? count - done : ROWS;
		if ((rc = insert_chunk(tx, recs + done, n, inserted + done)) < 0)
			return rc;
	}
	return BILLING_OK;
}

/* ------------------------------------------------------------ aggregate */

/* A dialect's ways to read a property of the row's properties: templates
 * where '#' stands for the parameter that holds the property's path. */
struct dialect {
	const char *is_int;          /* it holds a JSON integer */
	const char *is_string;       /* it holds a JSON string */
	const char *is_scalar;       /* it holds a string or a number */
	const char *as_int;          /* its value as an integer */
	const char *as_text;         /* its value as text */
};

static const struct dialect sqlite_d = {
	"json_type(properties, #) = 'integer'",
	"json_type(properties, #) = 'text'",
	"json_type(properties, #) IN ('integer', 'real', 'text')",
	"json_extract(properties, #)",
	"CAST(json_extract(properties, #) AS TEXT)",
};

/* PostgreSQL: properties is TEXT (the schema both dialects share), read
 * as jsonb. An integer is a JSON number written as one (up to 18 digits:
 * a bigint never overflows). */
static const struct dialect pg_d = {
	"jsonb_typeof(properties::jsonb -> CAST(# AS TEXT)) = 'number' AND "
	"(properties::jsonb ->> CAST(# AS TEXT)) ~ '^-?[0-9]{1,18}$'",
	"jsonb_typeof(properties::jsonb -> CAST(# AS TEXT)) = 'string'",
	"jsonb_typeof(properties::jsonb -> CAST(# AS TEXT)) IN ('number', 'string')",
	"CAST(properties::jsonb ->> CAST(# AS TEXT) AS BIGINT)",
	"(properties::jsonb ->> CAST(# AS TEXT))",
};

struct buf {
	char *s;
	size_t len, cap;
	bool failed;
};

/* Appends tmpl with every '#' replaced by the parameter ?n. */
static void put(struct buf *b, const char *tmpl, int n)
{
	char param[16];
	size_t plen = (size_t)snprintf(param, sizeof(param), "?%d", n);
	for (; *tmpl && !b->failed; tmpl++) {
		const char *piece = *tmpl == '#' ? param : tmpl;
		size_t len = *tmpl == '#' ? plen : 1;
		if (b->len + len >= b->cap) {
			b->failed = true;
			break;
		}
		memcpy(b->s + b->len, piece, len);
		b->len += len;
	}
	if (!b->failed)
		b->s[b->len] = '\0';
}

/* The path of property key as the dialect binds it: SQLite a JSON path
 * ($."key"; the core allows no quote in a key), PostgreSQL the key. */
static void path_of(char *out, size_t size, const sql_driver *d, const char *key)
{
	if (strcmp(d->dialect, "sqlite") == 0)
		snprintf(out, size, "$.\"%s\"", key);
	else
		snprintf(out, size, "%s", key);
}

#define FILTERS_MAX 5
#define PATH_MAX_LEN 112

static int usage_aggregate(billing_txn *tx, const char *tenant_id, const billing_usage_query *q,
	int64_t *value, int64_t *events)
{
	const struct dialect *dl = strcmp(tx->drv->dialect, "sqlite") == 0 ? &sqlite_d : &pg_d;
	char where[8192], sql[20480], path[PATH_MAX_LEN], num[128], txt[128];
	char (*fpaths)[PATH_MAX_LEN] = NULL;
	struct buf w = { where, 0, sizeof(where), false };
	struct buf nb = { num, 0, sizeof(num), false }, tb = { txt, 0, sizeof(txt), false };
	int n;
	sql_stmt *s;
	size_t i;
	int rc;

	*value = *events = 0;
	if (!tenant_id || !q || !q->event_name || !q->customer_id ||
	    (q->aggregation != 1 && !q->value_property) || q->aggregation < 1 ||
	    q->aggregation > 5 || q->filter_count > FILTERS_MAX)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "q",
			"an aggregate needs a tenant, customer, event name, aggregation and property");
	/* ?1 tenant, ?2 customer, ?3 event name, ?4 from, ?5 to, ?6 the value
	 * property's path, then two a filter: ?7 ?8, ?9 ?10, ... */
	put(&w, "tenant_id = ?1 AND customer_id = ?2 AND event_name = ?3 AND occurred_at >= ?4 "
		"AND occurred_at < ?5 AND voided_at IS NULL AND ", 0);
	if (q->aggregation == 2 || q->aggregation == 3 || q->aggregation == 5)
		put(&w, dl->is_int, 6);
	else if (q->aggregation == 4)
		put(&w, dl->is_scalar, 6);
	else
		put(&w, "CAST(# AS TEXT) IS NOT NULL", 6); /* ?6 typed and used everywhere */
	for (i = 0; i < q->filter_count; i++) {
		int k = (int)(7 + 2 * i);
		put(&w, " AND ", 0);
		put(&w, dl->is_string, k);
		put(&w, " AND ", 0);
		put(&w, dl->as_text, k);
		put(&w, " = #", k + 1);
	}
	if (w.failed)
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"the aggregate's statement is too long");
	put(&nb, dl->as_int, 6);
	put(&tb, dl->as_text, 6);
	switch (q->aggregation) {
	case 1:
		n = snprintf(sql, sizeof(sql), "SELECT COUNT(*), COUNT(*) FROM usage_events WHERE %s",
			where);
		break;
	case 2:
		n = snprintf(sql, sizeof(sql), "SELECT CAST(COALESCE(SUM(%s), 0) AS BIGINT), "
			"COUNT(*) FROM usage_events WHERE %s", num, where);
		break;
	case 3:
		n = snprintf(sql, sizeof(sql), "SELECT COALESCE(MAX(%s), 0), COUNT(*) FROM "
			"usage_events WHERE %s", num, where);
		break;
	case 4:
		n = snprintf(sql, sizeof(sql), "SELECT COUNT(DISTINCT %s), COUNT(*) FROM "
			"usage_events WHERE %s", txt, where);
		break;
	default:
		/* The latest event's value: by occurrence, then arrival, then
		 * transaction id, so that ties resolve the same everywhere. */
		n = snprintf(sql, sizeof(sql), "SELECT COALESCE((SELECT %s FROM usage_events "
			"WHERE %s ORDER BY occurred_at DESC, received_at DESC, transaction_id DESC "
			"LIMIT 1), 0), COUNT(*) FROM usage_events WHERE %s", num, where, where);
		break;
	}
	if (n < 0 || (size_t)n >= sizeof(sql))
		return billing__error_set(BILLING_EINVALID, "invalid_argument",
			"the aggregate's statement is too long");
	if (q->filter_count &&
	    !(fpaths = billing__malloc(q->filter_count * sizeof(*fpaths))))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((rc = prepare(&s, tx, sql, true)) == BILLING_OK) {
		const sql_driver *d = s->drv;
		d->bind_text(s, 1, tenant_id);
		d->bind_text(s, 2, q->customer_id);
		d->bind_text(s, 3, q->event_name);
		d->bind_int(s, 4, q->from);
		d->bind_int(s, 5, q->to);
		path_of(path, sizeof(path), d, q->value_property ? q->value_property : "");
		d->bind_text(s, 6, path);
		for (i = 0; i < q->filter_count; i++) {
			path_of(fpaths[i], sizeof(fpaths[i]), d, q->filter_keys[i]);
			d->bind_text(s, (int)(7 + 2 * i), fpaths[i]);
			d->bind_text(s, (int)(8 + 2 * i), q->filter_values[i]);
		}
		if ((rc = d->step(s, BILLING_EINVALID)) > 0) {
			*value = d->col_int(s, 0);
			*events = d->col_int(s, 1);
			rc = BILLING_OK;
		} else if (rc == 0) {
			rc = billing__error_set(BILLING_ESTORAGE, "storage",
				"the aggregate returned no row");
		}
		d->reset(s);
	}
	billing__free(fpaths);
	return rc;
}

/* ------------------------------------------------------------ prune */

/* SQLite: the oldest events first, limit at a time, picked by the
 * primary key. */
static const char prune_sql[] =
	"DELETE FROM usage_events WHERE tenant_id = ?1 AND transaction_id IN "
	"(SELECT transaction_id FROM usage_events WHERE tenant_id = ?1 AND occurred_at < ?2 "
	"ORDER BY occurred_at, transaction_id LIMIT ?3) RETURNING transaction_id";

/* PostgreSQL: the oldest keys first, and their events with them; the
 * events' DELETE names the cutoff, so it visits only the partitions before
 * it. A data-modifying WITH runs whether or not the statement reads it. */
static const char pg_prune_sql[] =
	"WITH v AS (SELECT transaction_id FROM usage_event_keys WHERE tenant_id = ?1 "
	"AND occurred_at < ?2 ORDER BY occurred_at, transaction_id LIMIT ?3), "
	"e AS (DELETE FROM usage_events u USING v WHERE u.tenant_id = ?1 AND u.occurred_at < ?2 "
	"AND u.transaction_id = v.transaction_id) "
	"DELETE FROM usage_event_keys k USING v WHERE k.tenant_id = ?1 "
	"AND k.transaction_id = v.transaction_id RETURNING k.transaction_id";

static int usage_prune(billing_txn *tx, const char *tenant_id, int64_t before,
	unsigned int limit, int64_t *deleted)
{
	bool sqlite = strcmp(tx->drv->dialect, "sqlite") == 0;
	sql_stmt *s;
	int rc;

	*deleted = 0;
	if (!tenant_id || limit == 0)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "limit",
			"a prune needs a tenant and a limit of at least 1");
	if ((rc = prepare(&s, tx, sqlite ? prune_sql : pg_prune_sql, false)) < 0)
		return rc;
	s->drv->bind_text(s, 1, tenant_id);
	s->drv->bind_int(s, 2, before);
	s->drv->bind_int(s, 3, limit);
	while ((rc = s->drv->step(s, BILLING_ECONFLICT)) > 0)
		++*deleted;
	s->drv->reset(s);
	return rc < 0 ? rc : BILLING_OK;
}

void billing__sql_usage_install(billing_storage *st)
{
	st->usage_insert = usage_insert;
	st->usage_aggregate = usage_aggregate;
	st->usage_prune = usage_prune;
}
