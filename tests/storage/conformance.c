/*
 * Storage conformance: what every backend must do, checked only through the
 * billing_storage vtable (include/billing/sys/storage.h). The one place that
 * knows concrete backends is tb_storage_open() and the tb_raw_* helpers in tests/support,
 * which switch on tb_backend(); a new backend adds a case there and the
 * whole suite runs on it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "tb.h"
#include "core/resources.h"
#include "core/txn.h"
#include "billing/sqlite.h"

/* ------------------------------------------------------------ backends */

/* ------------------------------------------------------------ fixture */

typedef struct {
	billing_storage *st;
	char url[512];
	char dir[256];
} fx;


/* The plans, deleted or not, that name the product: a record_list total. */
static int plan_count(billing_storage *st, billing_txn *tx, const char *tenant,
	const char *product_id, int64_t *n)
{
	const billing_filter of_product = { billing_resource_field(&billing__res_plan,
		"product_id"), BILLING_FILTER_EQ, product_id, 0, NULL };
	return billing__count_records(st, tx, &billing__res_plan, tenant, &of_product, 1, 1, n);
}

static const char *A = "ten_a";
static const char *B = "ten_b";

static void remove_dir(const char *dir)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static billing_txn *begin(fx *f, const char *tenant, unsigned int kind)
{
	billing_txn *tx = NULL;
	tb_assert_rc(f->st->begin(f->st, &tx, tenant, kind), BILLING_OK);
	assert_non_null(tx);
	return tx;
}

static void commit(fx *f, billing_txn *tx)
{
	tb_assert_rc(f->st->commit(tx), BILLING_OK);
}

static void insert_tenant(fx *f, const char *id, const char *name, int64_t created)
{
	billing_tenant_record r = { id, name, "INV-", created, created, 1, "CN-", 0 };
	billing_txn *tx = begin(f, NULL, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_insert(tx, &billing__res_tenant, &r), BILLING_OK);
	commit(f, tx);
}

/* A fresh, unmigrated database. */
static int setup_empty(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	tb_database_new(f->url, sizeof(f->url), f->dir, sizeof(f->dir));
	f->st = tb_storage_open(f->url, 0);
	*state = f;
	return 0;
}

/* A migrated database (a copy of the template: the migration tests use
 * setup_empty) with tenants A and B. */
static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	int pending = -1;
	assert_non_null(f);
	tb_database_new_migrated(f->url, sizeof(f->url), f->dir, sizeof(f->dir));
	f->st = tb_storage_open(f->url, 0);
	*state = f;
	tb_assert_rc(f->st->schema_status(f->st, &pending), BILLING_OK);
	assert_int_equal(pending, 0);
	insert_tenant(f, A, "Acme", 1000);
	insert_tenant(f, B, "Bolt", 1001);
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	f->st->free(f->st);
	tb_database_drop(f->url);
	remove_dir(f->dir);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ rows seen */

#define MAX_ROWS 64

/* What a row callback saw, copied (the record's strings die with the call). */
typedef struct {
	size_t n;
	size_t stop_at;              /* > 0: the callback fails on that row */
	char id[MAX_ROWS][64];
	char tenant[MAX_ROWS][64];
	char s1[MAX_ROWS][128];      /* name */
	char s2[MAX_ROWS][128];      /* email / sku / code / operation */
	char s3[MAX_ROWS][128];      /* email_key / product_id / request_hash */
	char s4[MAX_ROWS][128];      /* payment method / description / resource id; "(null)" */
	char s5[MAX_ROWS][128];      /* metadata / currency / invoice prefix */
	int64_t i1[MAX_ROWS];        /* version */
	int64_t i2[MAX_ROWS];        /* created_at */
	int64_t i3[MAX_ROWS];        /* updated_at / price / amount */
	int64_t i4[MAX_ROWS];        /* deleted_at / is_active */
} seen;

static void put(char *dst, const char *s)
{
	snprintf(dst, 128, "%s", s ? s : "(null)");
}

static int seen_next(seen *v, size_t *i)
{
	assert_true(v->n < MAX_ROWS);
	*i = v->n++;
	if (v->stop_at && v->n == v->stop_at)
		return BILLING_ENOMEM;
	return 0;
}

static int on_tenant(void *payload, const void *record)
{
	const billing_tenant_record *r = record;
	seen *v = payload;
	size_t i;
	int rc = seen_next(v, &i);
	snprintf(v->id[i], 64, "%s", r->id);
	put(v->s1[i], r->name);
	put(v->s5[i], r->invoice_prefix);
	v->i1[i] = r->version;
	v->i2[i] = r->created_at;
	v->i3[i] = r->updated_at;
	return rc;
}

static int on_customer(void *payload, const void *record)
{
	const billing_customer_record *r = record;
	seen *v = payload;
	size_t i;
	int rc = seen_next(v, &i);
	snprintf(v->id[i], 64, "%s", r->id);
	snprintf(v->tenant[i], 64, "%s", r->tenant_id);
	put(v->s1[i], r->name);
	put(v->s2[i], r->email);
	put(v->s3[i], r->email_key);
	put(v->s4[i], r->default_payment_method);
	put(v->s5[i], r->metadata_json);
	v->i1[i] = r->version;
	v->i2[i] = r->created_at;
	v->i3[i] = r->updated_at;
	return rc;
}

static int on_product(void *payload, const void *record)
{
	const billing_product_record *r = record;
	seen *v = payload;
	size_t i;
	int rc = seen_next(v, &i);
	snprintf(v->id[i], 64, "%s", r->id);
	snprintf(v->tenant[i], 64, "%s", r->tenant_id);
	put(v->s1[i], r->name);
	put(v->s2[i], r->sku);
	put(v->s4[i], r->description);
	put(v->s5[i], r->currency);
	v->i1[i] = r->version;
	v->i2[i] = r->created_at;
	v->i3[i] = r->price_cents;
	v->i4[i] = r->is_active;
	return rc;
}

static int on_plan(void *payload, const void *record)
{
	const billing_plan_record *r = record;
	seen *v = payload;
	size_t i;
	int rc = seen_next(v, &i);
	snprintf(v->id[i], 64, "%s", r->id);
	snprintf(v->tenant[i], 64, "%s", r->tenant_id);
	put(v->s1[i], r->name);
	put(v->s2[i], r->code);
	put(v->s3[i], r->product_id);
	put(v->s4[i], r->description);
	put(v->s5[i], r->currency);
	v->i1[i] = r->version;
	v->i2[i] = r->created_at;
	v->i3[i] = r->amount;
	v->i4[i] = r->deleted_at;
	return rc;
}

static int on_idem(void *payload, const void *record)
{
	const billing_idempotency_record *r = record;
	seen *v = payload;
	size_t i;
	int rc = seen_next(v, &i);
	snprintf(v->id[i], 64, "%s", r->key);
	snprintf(v->tenant[i], 64, "%s", r->tenant_id);
	put(v->s2[i], r->operation);
	put(v->s3[i], r->request_hash);
	put(v->s4[i], r->resource_id);
	v->i2[i] = r->created_at;
	return rc;
}

/* ------------------------------------------------------------ records */

static billing_customer_record customer_rec(const char *tenant, const char *id,
	const char *name, const char *email, int64_t created)
{
	billing_customer_record r;
	memset(&r, 0, sizeof(r));
	r.tenant_id = tenant;
	r.id = id;
	r.name = name;
	r.email = email;
	r.email_key = email; /* callers pass lower-case addresses */
	r.metadata_json = "{}";
	r.tax_ids_json = "[]"; /* NOT NULL since schema step 26, as customer.c writes it */
	r.created_at = r.updated_at = created;
	r.version = 1;
	return r;
}

static void insert_customer(fx *f, const char *tenant, const char *id, const char *name,
	const char *email, int64_t created)
{
	billing_customer_record r = customer_rec(tenant, id, name, email, created);
	billing_txn *tx = begin(f, tenant, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_insert(tx, &billing__res_customer, &r), BILLING_OK);
	commit(f, tx);
}

static billing_product_record product_rec(const char *tenant, const char *id,
	const char *sku, int64_t price, int64_t created)
{
	billing_product_record r;
	memset(&r, 0, sizeof(r));
	r.tenant_id = tenant;
	r.id = id;
	r.name = sku;
	r.sku = sku;
	r.price_cents = price;
	r.currency = "EUR";
	r.is_active = 1;
	r.metadata_json = "{}";
	r.created_at = r.updated_at = created;
	r.version = 1;
	return r;
}

static void insert_product(fx *f, const char *tenant, const char *id, const char *sku,
	int64_t price, int64_t created)
{
	billing_product_record r = product_rec(tenant, id, sku, price, created);
	billing_txn *tx = begin(f, tenant, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_insert(tx, &billing__res_product, &r), BILLING_OK);
	commit(f, tx);
}

static billing_plan_record plan_rec(const char *tenant, const char *id, const char *product,
	const char *code, int64_t amount, int64_t created)
{
	billing_plan_record r;
	memset(&r, 0, sizeof(r));
	r.tenant_id = tenant;
	r.id = id;
	r.product_id = product;
	r.code = code;
	r.name = code;
	r.amount = amount;
	r.currency = "EUR";
	r.interval = 3;
	r.interval_count = 1;
	r.active = 1;
	r.metadata_json = "{}";
	r.created_at = r.updated_at = created;
	r.version = 1;
	return r;
}

static void insert_plan(fx *f, const billing_plan_record *r)
{
	billing_txn *tx = begin(f, r->tenant_id, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_insert(tx, &billing__res_plan, r), BILLING_OK);
	commit(f, tx);
}

static billing_list_query keyset(unsigned int limit)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	q.limit = limit;
	q.offset = -1;
	return q;
}

static void list_customers(fx *f, const char *tenant, const billing_list_query *q, seen *v)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	memset(v, 0, sizeof(*v));
	tb_assert_rc(billing__list_records(f->st, tx, &billing__res_customer, tenant, q, on_customer, v), BILLING_OK);
	f->st->rollback(tx);
}

static void list_products(fx *f, const char *tenant, const billing_list_query *q, seen *v)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	memset(v, 0, sizeof(*v));
	tb_assert_rc(billing__list_records(f->st, tx, &billing__res_product, tenant, q, on_product, v), BILLING_OK);
	f->st->rollback(tx);
}

static void list_plans(fx *f, const char *tenant, const billing_list_query *q, seen *v)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	memset(v, 0, sizeof(*v));
	tb_assert_rc(billing__list_records(f->st, tx, &billing__res_plan, tenant, q, on_plan, v), BILLING_OK);
	f->st->rollback(tx);
}

/* rc of customer_get, with what it saw in v. */
static int get_customer(fx *f, const char *tenant, const char *id, seen *v)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	int rc;
	memset(v, 0, sizeof(*v));
	rc = f->st->record_read(tx, &billing__res_customer, tenant, id, BILLING_LOCK_UPDATE, on_customer, v);
	f->st->rollback(tx);
	return rc;
}

static int get_product(fx *f, const char *tenant, const char *id, seen *v)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	int rc;
	memset(v, 0, sizeof(*v));
	rc = f->st->record_read(tx, &billing__res_product, tenant, id, BILLING_LOCK_UPDATE, on_product, v);
	f->st->rollback(tx);
	return rc;
}

static int get_plan(fx *f, const char *tenant, const char *id, seen *v)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	int rc;
	memset(v, 0, sizeof(*v));
	rc = f->st->record_read(tx, &billing__res_plan, tenant, id, BILLING_LOCK_UPDATE, on_plan, v);
	f->st->rollback(tx);
	return rc;
}

static int on_due_count(void *payload, const void *record)
{
	(void)record;
	(*(int64_t *)payload)++;
	return BILLING_OK;
}

static void assert_ids(const seen *v, size_t n, const char *const *ids)
{
	size_t i;
	assert_int_equal(v->n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(v->id[i], ids[i]);
}

static void assert_error(int code, const char *reason, const char *field)
{
	const billing_error *e = billing_error_last();
	assert_int_equal(e->code, code);
	if (reason) {
		assert_non_null(e->reason);
		assert_string_equal(e->reason, reason);
	}
	if (field) {
		assert_non_null(e->field);
		assert_string_equal(e->field, field);
	}
}

/* ------------------------------------------------------------ vtable shape */

static void storage__vtable_is_complete_and_versioned(void **state)
{
	fx *f = *state;
	billing_storage *st = f->st;
	/* Version 14, the narrow vtable of version 8, due_claim_many (9),
	 * the optional endpoints_version (10), record_insert_many (11) and
	 * usage_insert / usage_aggregate (12), usage_prune (13), events_latest (14):
	 * every one of the 30 required methods is set; PostgreSQL has
	 * endpoints_version, SQLite (whose endpoint reads cost no round trip)
	 * does without. */
	assert_int_equal(st->version, BILLING_STORAGE_VERSION);
	assert_int_equal(BILLING_STORAGE_VERSION, 14);
	assert_non_null(st->name);
	assert_string_equal(st->name, tb_backend());
	assert_non_null(st->free);
	assert_non_null(st->schema_status);
	assert_non_null(st->migrate);
	assert_non_null(st->begin);
	assert_non_null(st->commit);
	assert_non_null(st->rollback);
	assert_non_null(st->set_tenant);
	assert_non_null(st->record_insert);
	assert_non_null(st->record_update);
	assert_non_null(st->record_read);
	assert_non_null(st->record_delete);
	assert_non_null(st->record_list);
	assert_non_null(st->meta_get);
	assert_non_null(st->meta_put);
	assert_non_null(st->meta_set);
	assert_non_null(st->idempotency_get);
	assert_non_null(st->idempotency_insert);
	assert_non_null(st->invoice_number_next);
	assert_non_null(st->due_set);
	assert_non_null(st->due_clear);
	assert_non_null(st->due_lock);
	assert_non_null(st->due_claim);
	assert_non_null(st->due_count);
	assert_non_null(st->provider_event_insert);
	assert_non_null(st->events_prune);
	assert_non_null(st->due_claim_many);
	if (strcmp(tb_backend(), "postgres") == 0)
		assert_non_null(st->endpoints_version);
	else
		assert_null(st->endpoints_version);
	assert_non_null(st->record_insert_many);
	assert_non_null(st->usage_insert);
	assert_non_null(st->usage_aggregate);
	assert_non_null(st->usage_prune);
	assert_non_null(st->events_latest);
	/* nothing else: the struct is the name, the version and these 32 */
	assert_int_equal(sizeof(*st), offsetof(billing_storage, events_latest) +
		sizeof(st->events_latest));
}

/* ------------------------------------------------------------ history (version 14) */

static void insert_event(fx *f, const char *tenant, const char *id, const char *rtype,
	const char *rid, const char *data, int64_t at)
{
	billing_event_record e = { .tenant_id = tenant, .id = id, .type = "x.updated",
		.resource_type = rtype, .resource_id = rid, .data_json = data, .created_at = at };
	billing_txn *tx = begin(f, tenant, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_insert(tx, &billing__res_event, &e), BILLING_OK);
	commit(f, tx);
}

typedef struct {
	size_t n;
	char rows[8][64];
} latest_seen;

static int latest_row(void *payload, const void *record)
{
	latest_seen *s = payload;
	const billing_event_state_record *r = record;
	assert_true(s->n < 8);
	snprintf(s->rows[s->n++], sizeof(s->rows[0]), "%s=%s@%lld", r->resource_id, r->data,
		(long long)r->created_at);
	return BILLING_OK;
}

static latest_seen latest(fx *f, const char *tenant, const char *rtype, int64_t at)
{
	latest_seen s;
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	memset(&s, 0, sizeof(s));
	tb_assert_rc(f->st->events_latest(tx, tenant, rtype, at, latest_row, &s), BILLING_OK);
	f->st->rollback(tx);
	return s;
}

/* Each resource's latest event at or before at: by time, then id within a
 * second; of the type asked, of the tenant asked, in resource id order. */
static void events_latest__each_resources_last_event_up_to_a_time(void **state)
{
	fx *f = *state;
	latest_seen s;

	insert_event(f, A, "evt_04", "subscription", "sub_1", "4", 300);
	insert_event(f, A, "evt_01", "subscription", "sub_1", "1", 100);
	insert_event(f, A, "evt_03", "subscription", "sub_1", "3", 200);
	insert_event(f, A, "evt_02", "subscription", "sub_1", "2", 200);
	insert_event(f, A, "evt_05", "subscription", "sub_0", "x", 150);
	insert_event(f, A, "evt_06", "plan", "plan_1", "p", 100);
	insert_event(f, B, "evt_07", "subscription", "sub_9", "b", 100);

	s = latest(f, A, "subscription", 250);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rows[0], "sub_0=x@150");
	assert_string_equal(s.rows[1], "sub_1=3@200");
	s = latest(f, A, "subscription", 300);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rows[1], "sub_1=4@300");
	s = latest(f, A, "subscription", 100);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rows[0], "sub_1=1@100");
	assert_int_equal(latest(f, A, "subscription", 99).n, 0);
	s = latest(f, A, "plan", 1000);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rows[0], "plan_1=p@100");
	s = latest(f, B, "subscription", 1000);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rows[0], "sub_9=b@100");
}

/* ------------------------------------------------------------ schema */

static void schema_status__counts_pending_before_migrate_and_none_after(void **state)
{
	fx *f = *state;
	int pending = -1, applied = -1;

	tb_assert_rc(f->st->schema_status(f->st, &pending), BILLING_OK);
	assert_true(pending > 0);
	tb_assert_rc(f->st->migrate(f->st, &applied, 1000), BILLING_OK);
	assert_int_equal(applied, pending);
	pending = -1;
	tb_assert_rc(f->st->schema_status(f->st, &pending), BILLING_OK);
	assert_int_equal(pending, 0);
}

static void migrate__second_run_applies_nothing(void **state)
{
	fx *f = *state;
	int applied = -1, pending = -1;

	tb_assert_rc(f->st->migrate(f->st, &applied, 1000), BILLING_OK);
	assert_true(applied > 0);
	applied = -1;
	tb_assert_rc(f->st->migrate(f->st, &applied, 2000), BILLING_OK);
	assert_int_equal(applied, 0);
	tb_assert_rc(f->st->schema_status(f->st, &pending), BILLING_OK);
	assert_int_equal(pending, 0);
}

static void migrate__keeps_rows_written_before_a_rerun(void **state)
{
	fx *f = *state;
	int applied = -1;
	seen v;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	tb_assert_rc(f->st->migrate(f->st, &applied, 3000), BILLING_OK);
	assert_int_equal(applied, 0);
	tb_assert_rc(get_customer(f, A, "cus_1", &v), BILLING_OK);
}

static void schema_status__changed_checksum_is_migration_checksum(void **state)
{
	fx *f = *state;
	int applied = -1, pending = -1;

	tb_assert_rc(f->st->migrate(f->st, &applied, 1000), BILLING_OK);
	tb_raw_exec(f->url, "UPDATE billing_migrations SET checksum = "
		"'0000000000000000000000000000000000000000000000000000000000000000' "
		"WHERE version = 1");
	billing_error_clear();
	tb_assert_rc(f->st->schema_status(f->st, &pending), BILLING_ESTORAGE);
	assert_error(BILLING_ESTORAGE, "migration_checksum", NULL);
}

static void migrate__refuses_a_changed_checksum(void **state)
{
	fx *f = *state;
	int applied = -1;

	tb_assert_rc(f->st->migrate(f->st, &applied, 1000), BILLING_OK);
	tb_raw_exec(f->url, "UPDATE billing_migrations SET checksum = 'x' WHERE version = 1");
	tb_assert_rc(f->st->migrate(f->st, &applied, 2000), BILLING_ESTORAGE);
	assert_error(BILLING_ESTORAGE, "migration_checksum", NULL);
}

/* ------------------------------------------------------------ transactions */

static void rollback__insert_is_gone(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer_rec(A, "cus_1", "Ada", "ada@example.com", 10);
	billing_txn *tx = begin(f, A, BILLING_TXN_WRITE);
	seen v;

	tb_assert_rc(f->st->record_insert(tx, &billing__res_customer, &r), BILLING_OK);
	memset(&v, 0, sizeof(v));
	tb_assert_rc(f->st->record_read(tx, &billing__res_customer, A, "cus_1", BILLING_LOCK_UPDATE, on_customer, &v), BILLING_OK);
	f->st->rollback(tx);
	assert_int_equal(get_customer(f, A, "cus_1", &v), BILLING_ENOTFOUND);
	assert_int_equal(v.n, 0);
}

static void commit__insert_is_seen_by_the_next_transaction(void **state)
{
	fx *f = *state;
	seen v;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	tb_assert_rc(get_customer(f, A, "cus_1", &v), BILLING_OK);
	assert_int_equal(v.n, 1);
}

/* A writer waits for another writer of the same data, then reports busy
 * (BILLING_EBUSY) when its timeout runs out. SQLite locks the database at
 * BEGIN IMMEDIATE; PostgreSQL locks the row a write transaction reads. */
static void begin__write_waits_then_reports_busy(void **state)
{
	fx *f = *state;
	billing_storage *other = tb_storage_open(f->url, 50);
	billing_txn *held, *tx = NULL;
	seen v;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	held = begin(f, A, BILLING_TXN_WRITE);
	memset(&v, 0, sizeof(v));
	tb_assert_rc(f->st->record_read(held, &billing__res_customer, A, "cus_1", BILLING_LOCK_UPDATE, on_customer, &v), BILLING_OK);
	if (strcmp(tb_backend(), "postgres") == 0) {
		seen w;
		memset(&w, 0, sizeof(w));
		tb_assert_rc(other->begin(other, &tx, A, BILLING_TXN_WRITE), BILLING_OK);
		assert_int_equal(other->record_read(tx, &billing__res_customer, A, "cus_1",
			BILLING_LOCK_UPDATE, on_customer, &w), BILLING_EBUSY);
		other->rollback(tx);
	} else {
		assert_int_equal(other->begin(other, &tx, A, BILLING_TXN_WRITE), BILLING_EBUSY);
	}
	assert_error(BILLING_EBUSY, NULL, NULL);
	f->st->rollback(held);
	tb_assert_rc(other->begin(other, &tx, A, BILLING_TXN_WRITE), BILLING_OK);
	other->rollback(tx);
	other->free(other);
}

/* ------------------------------------------------------------ meta */

static void meta_get__unknown_key_is_not_found(void **state)
{
	fx *f = *state;
	char buf[64] = "untouched";
	billing_txn *tx = begin(f, NULL, BILLING_TXN_READ);
	assert_int_equal(f->st->meta_get(tx, "nope", buf, sizeof(buf)), BILLING_ENOTFOUND);
	f->st->rollback(tx);
}

static void meta_put__does_not_overwrite(void **state)
{
	fx *f = *state;
	char buf[64];
	billing_txn *tx = begin(f, NULL, BILLING_TXN_WRITE);

	tb_assert_rc(f->st->meta_put(tx, "k", "first"), BILLING_OK);
	tb_assert_rc(f->st->meta_put(tx, "k", "second"), BILLING_OK);
	commit(f, tx);
	tx = begin(f, NULL, BILLING_TXN_READ);
	tb_assert_rc(f->st->meta_get(tx, "k", buf, sizeof(buf)), BILLING_OK);
	f->st->rollback(tx);
	assert_string_equal(buf, "first");
}

/* ------------------------------------------------------------ tenants */

static void tenant_get__returns_the_inserted_row(void **state)
{
	fx *f = *state;
	billing_tenant_record r = { "ten_c", "Cog", "CG-", 5000, 5001, 3, "CGC-", 3600 };
	billing_txn *tx = begin(f, NULL, BILLING_TXN_WRITE);
	seen v;

	tb_assert_rc(f->st->record_insert(tx, &billing__res_tenant, &r), BILLING_OK);
	commit(f, tx);
	memset(&v, 0, sizeof(v));
	tx = begin(f, "ten_c", BILLING_TXN_READ);
	tb_assert_rc(f->st->record_read(tx, &billing__res_tenant, NULL, "ten_c", BILLING_LOCK_NONE, on_tenant, &v), BILLING_OK);
	f->st->rollback(tx);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.id[0], "ten_c");
	assert_string_equal(v.s1[0], "Cog");
	assert_string_equal(v.s5[0], "CG-");
	assert_int_equal(v.i2[0], 5000);
	assert_int_equal(v.i3[0], 5001);
	assert_int_equal(v.i1[0], 3);
}

static void tenant_get__unknown_is_not_found(void **state)
{
	fx *f = *state;
	billing_txn *tx = begin(f, NULL, BILLING_TXN_READ);
	seen v;
	memset(&v, 0, sizeof(v));
	assert_int_equal(f->st->record_read(tx, &billing__res_tenant, NULL, "ten_zzz", BILLING_LOCK_NONE, on_tenant, &v), BILLING_ENOTFOUND);
	f->st->rollback(tx);
	assert_int_equal(v.n, 0);
}

static void tenant_insert__duplicate_id_is_exists(void **state)
{
	fx *f = *state;
	billing_tenant_record r = { A, "Again", "INV-", 1, 1, 1, "CN-", 0 };
	billing_txn *tx = begin(f, NULL, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_insert(tx, &billing__res_tenant, &r), BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, NULL, NULL);
	f->st->rollback(tx);
}

static void tenant_list__pages_by_name_with_keyset_and_total(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	int64_t total = -1;
	billing_txn *tx;
	seen v;

	insert_tenant(f, "ten_c", "Cog", 1002);
	q.sort = BILLING_SORT_NAME;
	q.has_after = 1;
	q.after_text = "Acme";
	q.after_id = A;
	tx = begin(f, NULL, BILLING_TXN_READ);
	memset(&v, 0, sizeof(v));
	tb_assert_rc(billing__list_records(f->st, tx, &billing__res_tenant, NULL, &q, on_tenant, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ B, "ten_c" });

	q = keyset(1);
	q.offset = 1;
	q.total = &total;
	q.search = "O"; /* Bolt, Cog */
	memset(&v, 0, sizeof(v));
	tb_assert_rc(billing__list_records(f->st, tx, &billing__res_tenant, NULL, &q, on_tenant, &v), BILLING_OK);
	f->st->rollback(tx);
	assert_ids(&v, 1, (const char *const[]){ "ten_c" });
	assert_int_equal(total, 2);
}

/* ------------------------------------------------------------ customers */

static void customer_get__returns_every_field_inserted(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer_rec(A, "cus_1", "Ada", "Ada@Example.com", 10);
	billing_txn *tx = begin(f, A, BILLING_TXN_WRITE);
	seen v;

	r.email_key = "ada@example.com";
	r.default_payment_method = "pm_card_visa";
	r.metadata_json = "{\"k\":\"v\"}";
	r.updated_at = 11;
	r.version = 4;
	tb_assert_rc(f->st->record_insert(tx, &billing__res_customer, &r), BILLING_OK);
	commit(f, tx);
	tb_assert_rc(get_customer(f, A, "cus_1", &v), BILLING_OK);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.tenant[0], A);
	assert_string_equal(v.id[0], "cus_1");
	assert_string_equal(v.s1[0], "Ada");
	assert_string_equal(v.s2[0], "Ada@Example.com");
	assert_string_equal(v.s3[0], "ada@example.com");
	assert_string_equal(v.s4[0], "pm_card_visa");
	assert_string_equal(v.s5[0], "{\"k\":\"v\"}");
	assert_int_equal(v.i2[0], 10);
	assert_int_equal(v.i3[0], 11);
	assert_int_equal(v.i1[0], 4);
}

static void customer_get__absent_payment_method_reads_back_null(void **state)
{
	fx *f = *state;
	seen v;
	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	tb_assert_rc(get_customer(f, A, "cus_1", &v), BILLING_OK);
	assert_string_equal(v.s4[0], "(null)");
}

static void customer_get__unknown_is_not_found(void **state)
{
	fx *f = *state;
	seen v;
	assert_int_equal(get_customer(f, A, "cus_nope", &v), BILLING_ENOTFOUND);
	assert_int_equal(v.n, 0);
}

static void customer_update__replaces_the_row_at_old_version(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer_rec(A, "cus_1", "Ada B", "ada.b@example.com", 10);
	billing_txn *tx;
	seen v;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	r.updated_at = 20;
	r.version = 2;
	r.default_payment_method = "pm_1";
	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_update(tx, &billing__res_customer, &r, 1), BILLING_OK);
	commit(f, tx);
	tb_assert_rc(get_customer(f, A, "cus_1", &v), BILLING_OK);
	assert_string_equal(v.s1[0], "Ada B");
	assert_string_equal(v.s2[0], "ada.b@example.com");
	assert_string_equal(v.s4[0], "pm_1");
	assert_int_equal(v.i1[0], 2);
	assert_int_equal(v.i3[0], 20);
}

static void customer_update__wrong_old_version_is_stale_and_changes_nothing(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer_rec(A, "cus_1", "Changed", "ada@example.com", 10);
	billing_txn *tx;
	seen v;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	r.version = 3;
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_update(tx, &billing__res_customer, &r, 2), BILLING_ESTALE);
	assert_error(BILLING_ESTALE, "stale_version", NULL);
	f->st->rollback(tx);
	tb_assert_rc(get_customer(f, A, "cus_1", &v), BILLING_OK);
	assert_string_equal(v.s1[0], "Ada");
	assert_int_equal(v.i1[0], 1);
}

static void customer_update__to_a_taken_email_is_exists(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer_rec(A, "cus_2", "Bob", "ada@example.com", 11);
	billing_txn *tx;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	insert_customer(f, A, "cus_2", "Bob", "bob@example.com", 11);
	r.version = 2;
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_update(tx, &billing__res_customer, &r, 1), BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, NULL, "email");
	f->st->rollback(tx);
}

static void customer_delete__removes_the_row(void **state)
{
	fx *f = *state;
	billing_txn *tx;
	seen v;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_delete(tx, &billing__res_customer, A, "cus_1"), BILLING_OK);
	commit(f, tx);
	assert_int_equal(get_customer(f, A, "cus_1", &v), BILLING_ENOTFOUND);
}

static void customer_delete__unknown_is_not_found(void **state)
{
	fx *f = *state;
	billing_txn *tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_delete(tx, &billing__res_customer, A, "cus_nope"), BILLING_ENOTFOUND);
	f->st->rollback(tx);
}

static void customer_insert__taken_email_key_is_exists_naming_email(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer_rec(A, "cus_2", "Ada 2", "ADA@example.com", 11);
	billing_txn *tx;
	seen v;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	r.email_key = "ada@example.com";
	billing_error_clear();
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_insert(tx, &billing__res_customer, &r), BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, NULL, "email");
	f->st->rollback(tx);
	assert_int_equal(get_customer(f, A, "cus_2", &v), BILLING_ENOTFOUND);
}

/* The tenant's customers, counted. */
static int64_t count_customers(fx *f, const char *tenant)
{
	billing_list_query q = keyset(0);
	int64_t total = -1;
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	seen v;
	memset(&v, 0, sizeof(v));
	q.total = &total;
	tb_assert_rc(billing__list_records(f->st, tx, &billing__res_customer, tenant, &q, on_customer,
		&v), BILLING_OK);
	f->st->rollback(tx);
	return total;
}

static void record_insert_many__writes_every_row_as_record_insert_would(void **state)
{
	fx *f = *state;
	billing_customer_record r[3];
	const void *recs[3] = { &r[0], &r[1], &r[2] };
	billing_txn *tx;
	seen v;

	r[0] = customer_rec(A, "cus_1", "Zo\xc3\xab \"the\" \\ one\nand\ttab", "zoe@example.com", 10);
	r[0].metadata_json = "{\"k\":\"v \\\" w\"}";
	r[1] = customer_rec(A, "cus_2", "Bo", "bo@example.com", INT64_C(9007199254740993));
	r[1].default_payment_method = "pm_1";
	r[1].version = INT64_MAX;
	r[2] = customer_rec(A, "cus_3", "", "cy@example.com", 12);

	tx = begin(f, A, BILLING_TXN_WRITE);
	/* Nothing to write is no error, and writes nothing. */
	tb_assert_rc(f->st->record_insert_many(tx, &billing__res_customer, recs, 0), BILLING_OK);
	tb_assert_rc(f->st->record_insert_many(tx, &billing__res_customer, recs, 3), BILLING_OK);
	commit(f, tx);

	/* Each row as record_insert leaves it: text with quotes, backslashes,
	 * control characters and UTF-8 exact; NULL stays NULL; integers past
	 * 2^53 exact. */
	tb_assert_rc(get_customer(f, A, "cus_1", &v), BILLING_OK);
	assert_string_equal(v.tenant[0], A);
	assert_string_equal(v.s1[0], "Zo\xc3\xab \"the\" \\ one\nand\ttab");
	assert_string_equal(v.s2[0], "zoe@example.com");
	assert_string_equal(v.s3[0], "zoe@example.com");
	assert_string_equal(v.s4[0], "(null)");
	assert_string_equal(v.s5[0], "{\"k\":\"v \\\" w\"}");
	assert_int_equal(v.i1[0], 1);
	assert_int_equal(v.i2[0], 10);
	tb_assert_rc(get_customer(f, A, "cus_2", &v), BILLING_OK);
	assert_string_equal(v.s4[0], "pm_1");
	assert_true(v.i1[0] == INT64_MAX);
	assert_true(v.i2[0] == INT64_C(9007199254740993));
	tb_assert_rc(get_customer(f, A, "cus_3", &v), BILLING_OK);
	assert_string_equal(v.s1[0], "");
	assert_int_equal(count_customers(f, A), 3);
}

static void record_insert_many__a_taken_unique_field_or_null_row_writes_nothing(void **state)
{
	fx *f = *state;
	billing_customer_record r[2];
	const void *recs[2] = { &r[0], &r[1] };
	billing_txn *tx;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	r[0] = customer_rec(A, "cus_2", "Bo", "bo@example.com", 11);
	r[1] = customer_rec(A, "cus_3", "Ada again", "ada@example.com", 12);
	billing_error_clear();
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_insert_many(tx, &billing__res_customer, recs, 2),
		BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, NULL, "email");
	f->st->rollback(tx);
	assert_int_equal(count_customers(f, A), 1);

	recs[1] = NULL;
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_insert_many(tx, &billing__res_customer, recs, 2),
		BILLING_EINVALID);
	f->st->rollback(tx);
	assert_int_equal(count_customers(f, A), 1);
}

/* More rows than one statement takes (500): all of them, in any number of
 * statements, in the tenant the records name. */
static void record_insert_many__more_rows_than_one_statement_takes(void **state)
{
	fx *f = *state;
	enum { N = 1203 };
	billing_customer_record *r = calloc(N, sizeof(*r));
	const void **recs = calloc(N, sizeof(*recs));
	char (*ids)[32] = calloc(N, sizeof(*ids)), (*emails)[64] = calloc(N, sizeof(*emails));
	billing_txn *tx;
	seen v;
	size_t i;

	assert_non_null(r);
	assert_non_null(recs);
	assert_non_null(ids);
	assert_non_null(emails);
	for (i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "cus_%zu", i);
		snprintf(emails[i], sizeof(emails[i]), "c%zu@example.com", i);
		r[i] = customer_rec(B, ids[i], ids[i], emails[i], (int64_t)i);
		recs[i] = &r[i];
	}
	tx = begin(f, B, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_insert_many(tx, &billing__res_customer, recs, N), BILLING_OK);
	commit(f, tx);
	assert_int_equal(count_customers(f, B), N);
	assert_int_equal(count_customers(f, A), 0);
	tb_assert_rc(get_customer(f, B, "cus_1202", &v), BILLING_OK);
	assert_string_equal(v.s2[0], "c1202@example.com");
	assert_int_equal(v.i2[0], 1202);
	free(r);
	free(recs);
	free(ids);
	free(emails);
}

static void customer_insert__same_email_in_another_tenant_is_fine(void **state)
{
	fx *f = *state;
	seen v;
	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	insert_customer(f, B, "cus_2", "Ada", "ada@example.com", 10);
	tb_assert_rc(get_customer(f, B, "cus_2", &v), BILLING_OK);
}

static void customer_insert__unknown_tenant_is_refused(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer_rec("ten_zzz", "cus_1", "Ada", "ada@example.com", 10);
	billing_txn *tx = begin(f, "ten_zzz", BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_insert(tx, &billing__res_customer, &r), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, "resource_missing", NULL);
	f->st->rollback(tx);
}

/* Five customers of A: cus_1 at 10; cus_2, cus_3, cus_4 tied at 20; cus_5 at 30. */
static void five_customers(fx *f)
{
	insert_customer(f, A, "cus_1", "Eve", "eve@example.com", 10);
	insert_customer(f, A, "cus_3", "Carl", "carl@example.com", 20);
	insert_customer(f, A, "cus_2", "Dora", "dora@example.com", 20);
	insert_customer(f, A, "cus_4", "Bea", "bea@example.com", 20);
	insert_customer(f, A, "cus_5", "Abe", "abe@example.com", 30);
}

static void customer_list__orders_by_created_then_id(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	seen v;
	five_customers(f);
	list_customers(f, A, &q, &v);
	assert_ids(&v, 5, (const char *const[]){ "cus_1", "cus_2", "cus_3", "cus_4", "cus_5" });
}

static void customer_list__keyset_returns_rows_strictly_after(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(2);
	seen v;

	five_customers(f);
	q.has_after = 1;
	q.after_int = 20;
	q.after_id = "cus_2";
	list_customers(f, A, &q, &v);
	assert_ids(&v, 2, (const char *const[]){ "cus_3", "cus_4" });
}

static void customer_list__keyset_descending_returns_rows_strictly_before(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	seen v;

	five_customers(f);
	q.descending = 1;
	list_customers(f, A, &q, &v);
	assert_ids(&v, 5, (const char *const[]){ "cus_5", "cus_4", "cus_3", "cus_2", "cus_1" });
	q.has_after = 1;
	q.after_int = 20;
	q.after_id = "cus_3";
	list_customers(f, A, &q, &v);
	assert_ids(&v, 2, (const char *const[]){ "cus_2", "cus_1" });
}

static void customer_list__keyset_on_a_text_column(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	seen v;

	five_customers(f);
	q.sort = BILLING_SORT_NAME;
	q.has_after = 1;
	q.after_text = "Bea";
	q.after_id = "cus_4";
	list_customers(f, A, &q, &v);
	assert_ids(&v, 3, (const char *const[]){ "cus_3", "cus_2", "cus_1" });
	q = keyset(10);
	q.sort = BILLING_SORT_EMAIL;
	q.descending = 1;
	q.has_after = 1;
	q.after_text = "carl@example.com";
	q.after_id = "cus_3";
	list_customers(f, A, &q, &v);
	assert_ids(&v, 2, (const char *const[]){ "cus_4", "cus_5" });
}

static void customer_list__offset_page_reports_the_total(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(2);
	int64_t total = -1;
	seen v;

	five_customers(f);
	insert_customer(f, B, "cus_9", "Other", "other@example.com", 15);
	q.offset = 2;
	q.total = &total;
	list_customers(f, A, &q, &v);
	assert_ids(&v, 2, (const char *const[]){ "cus_3", "cus_4" });
	assert_int_equal(total, 5);
	q.offset = 4;
	list_customers(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "cus_5" });
	q.offset = 9;
	total = -1;
	list_customers(f, A, &q, &v);
	assert_int_equal(v.n, 0);
	assert_int_equal(total, 5);
}

static void customer_list__search_takes_percent_and_underscore_literally(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	int64_t total = -1;
	seen v;

	insert_customer(f, A, "cus_1", "100% Cotton", "c1@example.com", 10);
	insert_customer(f, A, "cus_2", "1000 Cotton", "c2@example.com", 11);
	insert_customer(f, A, "cus_3", "snake_case", "c3@example.com", 12);
	insert_customer(f, A, "cus_4", "snakeXcase", "c4@example.com", 13);
	insert_customer(f, A, "cus_5", "back\\slash", "c5@example.com", 14);
	insert_customer(f, A, "cus_6", "backXslash", "c6@example.com", 15);
	q.search = "100%";
	list_customers(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "cus_1" });
	q.search = "e_c";
	list_customers(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "cus_3" });
	q.search = "k\\s";
	list_customers(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "cus_5" });
	q.search = "%";
	q.offset = 0;
	q.total = &total;
	list_customers(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "cus_1" });
	assert_int_equal(total, 1);
}

static void customer_list__search_folds_ascii_case_in_name_and_email(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	seen v;

	insert_customer(f, A, "cus_1", "Ada Lovelace", "ada@example.com", 10);
	insert_customer(f, A, "cus_2", "Grace", "grace@navy.mil", 11);
	insert_customer(f, A, "cus_3", "Someone", "someone@example.com", 12);
	q.search = "LOVE";
	list_customers(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "cus_1" });
	q.search = "NaVy";
	list_customers(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "cus_2" });
	q.search = "nobody";
	list_customers(f, A, &q, &v);
	assert_int_equal(v.n, 0);
}

static void customer_list__callback_failure_stops_with_its_code(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	billing_txn *tx;
	seen v;

	five_customers(f);
	memset(&v, 0, sizeof(v));
	v.stop_at = 2;
	tx = begin(f, A, BILLING_TXN_READ);
	assert_int_equal(billing__list_records(f->st, tx, &billing__res_customer, A, &q, on_customer, &v), BILLING_ENOMEM);
	f->st->rollback(tx);
	assert_int_equal(v.n, 2);
}

/* Every filter of billing_list_query at once, keyset and total too: more
 * bound values than any one entity's list uses. The backend answers with an
 * error (the filters name columns customers lack), never by writing past its
 * list of bound values, and stays usable. */
static void customer_list__every_filter_at_once_fails_cleanly(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	int64_t total = -1;
	billing_txn *tx;
	seen v;
	int rc;
	five_customers(f);
	q.has_after = 1;
	q.after_int = 0;
	q.after_id = "cus_0";
	q.total = &total;
	q.search = "a";
	q.active = 1;
	q.has_min_amount = q.has_max_amount = 1;
	q.max_amount = 100;
	q.currency = "USD";
	q.product_id = "prod_1";
	q.customer_id = "cus_1";
	q.plan_id = "plan_1";
	q.subscription_id = "sub_1";
	q.status = 1;
	q.has_period_from = q.has_period_to = 1;
	q.period_to = 100;
	q.type = "t";
	q.has_created_after = 1;
	q.invoice_id = "in_1";
	q.endpoint_id = "we_1";
	q.event_id = "evt_1";
	tx = begin(f, A, BILLING_TXN_READ);
	memset(&v, 0, sizeof(v));
	rc = billing__list_records(f->st, tx, &billing__res_customer, A, &q, on_customer, &v);
	f->st->rollback(tx);
	assert_true(rc < 0);
	assert_int_equal(billing_error_last()->code, rc);
	assert_int_equal((int)v.n, 0);

	q = keyset(10);
	list_customers(f, A, &q, &v);
	assert_int_equal((int)v.n, 5);
}

static void customer_list__limit_caps_the_rows(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(3);
	seen v;
	five_customers(f);
	list_customers(f, A, &q, &v);
	assert_int_equal(v.n, 3);
}

/* ------------------------------------------------------------ products */

static void product_get__returns_the_inserted_row(void **state)
{
	fx *f = *state;
	billing_product_record r = product_rec(A, "prod_1", "SKU-1", 1500, 10);
	billing_txn *tx = begin(f, A, BILLING_TXN_WRITE);
	seen v;

	r.description = "A thing";
	r.currency = "USD";
	r.is_active = 0;
	tb_assert_rc(f->st->record_insert(tx, &billing__res_product, &r), BILLING_OK);
	commit(f, tx);
	tb_assert_rc(get_product(f, A, "prod_1", &v), BILLING_OK);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.s2[0], "SKU-1");
	assert_string_equal(v.s4[0], "A thing");
	assert_string_equal(v.s5[0], "USD");
	assert_int_equal(v.i3[0], 1500);
	assert_int_equal(v.i4[0], 0);
}

static void product_update__at_old_version_and_stale_otherwise(void **state)
{
	fx *f = *state;
	billing_product_record r = product_rec(A, "prod_1", "SKU-1", 2500, 10);
	billing_txn *tx;
	seen v;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	r.version = 2;
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_update(tx, &billing__res_product, &r, 7), BILLING_ESTALE);
	assert_error(BILLING_ESTALE, "stale_version", NULL);
	f->st->rollback(tx);
	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_update(tx, &billing__res_product, &r, 1), BILLING_OK);
	commit(f, tx);
	tb_assert_rc(get_product(f, A, "prod_1", &v), BILLING_OK);
	assert_int_equal(v.i3[0], 2500);
	assert_int_equal(v.i1[0], 2);
}

static void product_insert__taken_sku_is_exists_naming_sku(void **state)
{
	fx *f = *state;
	billing_product_record r = product_rec(A, "prod_2", "SKU-1", 1, 11);
	billing_txn *tx;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	insert_product(f, B, "prod_3", "SKU-1", 1500, 10); /* another tenant: fine */
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_insert(tx, &billing__res_product, &r), BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, NULL, "sku");
	f->st->rollback(tx);
}

static void product_delete__referenced_by_a_plan_is_conflict(void **state)
{
	fx *f = *state;
	billing_plan_record p = plan_rec(A, "plan_1", "prod_1", "GOLD", 100, 10);
	billing_txn *tx;
	seen v;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	insert_plan(f, &p);
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_delete(tx, &billing__res_product, A, "prod_1"), BILLING_ECONFLICT);
	assert_error(BILLING_ECONFLICT, "referenced", NULL);
	f->st->rollback(tx);
	tb_assert_rc(get_product(f, A, "prod_1", &v), BILLING_OK);
}

static void product_delete__unreferenced_removes_the_row(void **state)
{
	fx *f = *state;
	billing_txn *tx;
	seen v;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_delete(tx, &billing__res_product, A, "prod_1"), BILLING_OK);
	assert_int_equal(f->st->record_delete(tx, &billing__res_product, A, "prod_1"), BILLING_ENOTFOUND);
	commit(f, tx);
	assert_int_equal(get_product(f, A, "prod_1", &v), BILLING_ENOTFOUND);
}

static void product_plan_count__counts_deleted_plans_too(void **state)
{
	fx *f = *state;
	billing_plan_record p1 = plan_rec(A, "plan_1", "prod_1", "GOLD", 100, 10);
	billing_plan_record p2 = plan_rec(A, "plan_2", "prod_1", "SILVER", 100, 11);
	billing_plan_record p3 = plan_rec(A, "plan_3", "prod_2", "BRONZE", 100, 12);
	int64_t n = -1;
	billing_txn *tx;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	insert_product(f, A, "prod_2", "SKU-2", 1500, 10);
	p2.deleted_at = 50;
	p2.active = 0;
	insert_plan(f, &p1);
	insert_plan(f, &p2);
	insert_plan(f, &p3);
	tx = begin(f, A, BILLING_TXN_READ);
	tb_assert_rc(plan_count(f->st, tx, A, "prod_1", &n), BILLING_OK);
	assert_int_equal(n, 2);
	tb_assert_rc(plan_count(f->st, tx, A, "prod_none", &n), BILLING_OK);
	assert_int_equal(n, 0);
	f->st->rollback(tx);
}

static void product_list__filters_by_active_and_price(void **state)
{
	fx *f = *state;
	billing_product_record r = product_rec(A, "prod_3", "SKU-3", 300, 12);
	billing_list_query q = keyset(10);
	billing_txn *tx;
	seen v;

	insert_product(f, A, "prod_1", "SKU-1", 100, 10);
	insert_product(f, A, "prod_2", "SKU-2", 200, 11);
	r.is_active = 0;
	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_insert(tx, &billing__res_product, &r), BILLING_OK);
	commit(f, tx);
	q.active = 1;
	list_products(f, A, &q, &v);
	assert_ids(&v, 2, (const char *const[]){ "prod_1", "prod_2" });
	q.active = 2;
	list_products(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "prod_3" });
	q.active = 0;
	q.has_min_amount = 1;
	q.min_amount = 150;
	q.has_max_amount = 1;
	q.max_amount = 250;
	list_products(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "prod_2" });
	q = keyset(10);
	q.sort = BILLING_SORT_PRICE;
	q.descending = 1;
	q.search = "sku-";
	list_products(f, A, &q, &v);
	assert_ids(&v, 3, (const char *const[]){ "prod_3", "prod_2", "prod_1" });
}

/* ------------------------------------------------------------ plans */

static void plan_insert__taken_code_is_exists_naming_code(void **state)
{
	fx *f = *state;
	billing_plan_record p1 = plan_rec(A, "plan_1", "prod_1", "GOLD", 100, 10);
	billing_plan_record p2 = plan_rec(A, "plan_2", "prod_1", "GOLD", 200, 11);
	billing_txn *tx;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	p1.deleted_at = 20; /* a deleted plan's code stays taken */
	p1.active = 0;
	insert_plan(f, &p1);
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_insert(tx, &billing__res_plan, &p2), BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, NULL, "code");
	f->st->rollback(tx);
}

static void plan_insert__product_of_another_tenant_is_resource_missing(void **state)
{
	fx *f = *state;
	billing_plan_record p = plan_rec(B, "plan_1", "prod_1", "GOLD", 100, 10);
	billing_txn *tx;
	seen v;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	tx = begin(f, B, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_insert(tx, &billing__res_plan, &p), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, "resource_missing", NULL);
	f->st->rollback(tx);
	assert_int_equal(get_plan(f, B, "plan_1", &v), BILLING_ENOTFOUND);
}

static void plan_get__returns_a_soft_deleted_plan(void **state)
{
	fx *f = *state;
	billing_plan_record p = plan_rec(A, "plan_1", "prod_1", "GOLD", 100, 10);
	seen v;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	p.deleted_at = 99;
	p.active = 0;
	p.description = "gone";
	insert_plan(f, &p);
	tb_assert_rc(get_plan(f, A, "plan_1", &v), BILLING_OK);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.i4[0], 99);
	assert_string_equal(v.s2[0], "GOLD");
	assert_string_equal(v.s3[0], "prod_1");
	assert_string_equal(v.s4[0], "gone");
}

/* ------------------------------------------------------------ version 4 */

static void reads__return_the_row_under_every_lock_and_transaction(void **state)
{
	static const unsigned int locks[] = { BILLING_LOCK_NONE, BILLING_LOCK_SHARE,
		BILLING_LOCK_UPDATE };
	fx *f = *state;
	billing_plan_record p = plan_rec(A, "plan_1", "prod_1", "GOLD", 100, 10);
	unsigned int kind;
	size_t i;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	insert_plan(f, &p);
	assert_true(f->st->version >= 4);
	for (kind = BILLING_TXN_READ; kind <= BILLING_TXN_WRITE; kind++) {
		for (i = 0; i < sizeof(locks) / sizeof(locks[0]); i++) {
			billing_txn *tx = begin(f, A, kind);
			seen c, d, e;
			memset(&c, 0, sizeof(c));
			memset(&d, 0, sizeof(d));
			memset(&e, 0, sizeof(e));
			tb_assert_rc(f->st->record_read(tx, &billing__res_customer, A, "cus_1", locks[i], on_customer, &c),
				BILLING_OK);
			tb_assert_rc(f->st->record_read(tx, &billing__res_product, A, "prod_1", locks[i], on_product, &d),
				BILLING_OK);
			tb_assert_rc(f->st->record_read(tx, &billing__res_plan, A, "plan_1", locks[i], on_plan, &e),
				BILLING_OK);
			assert_int_equal(c.n, 1);
			assert_string_equal(c.id[0], "cus_1");
			assert_int_equal(d.n, 1);
			assert_string_equal(d.id[0], "prod_1");
			assert_int_equal(e.n, 1);
			assert_string_equal(e.id[0], "plan_1");
			assert_int_equal(f->st->record_read(tx, &billing__res_plan, A, "plan_2", locks[i], on_plan, &e),
				BILLING_ENOTFOUND);
			assert_int_equal(f->st->record_read(tx, &billing__res_plan, B, "plan_1", locks[i], on_plan, &e),
				BILLING_ENOTFOUND);
			f->st->rollback(tx);
		}
	}
}

/* The resource ids of claimed due work, in order; stop_after > 0 stops the
 * rows after that many. */
typedef struct {
	int n, stop_after;
	char id[8][32];
} claimed_ids;

static int on_due_id(void *payload, const void *record)
{
	claimed_ids *c = payload;
	const billing_due_record *r = record;
	assert_true(c->n < 8);
	snprintf(c->id[c->n], sizeof(c->id[0]), "%s", r->resource_id);
	c->n++;
	return c->stop_after && c->n >= c->stop_after ? 1 : BILLING_OK;
}

static void due_claim_many__takes_a_batch_in_claim_order_and_skips_held_rows(void **state)
{
	fx *f = *state;
	billing_due_record rows[] = {
		{ A, "subscription", "sub_1", 100 }, { A, "collect", "in_1", 100 },
		{ B, "subscription", "sub_2", 50 }, { A, "subscription", "sub_3", 2000 },
	};
	claimed_ids c;
	billing_txn *tx, *other;
	size_t i;

	tx = begin(f, NULL, BILLING_TXN_WRITE);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		tb_assert_rc(f->st->due_set(tx, &rows[i]), BILLING_OK);
	commit(f, tx);

	tx = begin(f, NULL, BILLING_TXN_WRITE);
	/* Nothing due yet, and a batch of nothing is refused. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(f->st->due_claim_many(tx, 10, 5, on_due_id, &c), BILLING_ENOTFOUND);
	assert_int_equal(c.n, 0);
	assert_int_equal(f->st->due_claim_many(tx, 1000, 0, on_due_id, &c), BILLING_EINVALID);
	/* due_claim's order (due_at, tenant, kind, resource), at most limit,
	 * never what is not due. */
	memset(&c, 0, sizeof(c));
	tb_assert_rc(f->st->due_claim_many(tx, 1000, 10, on_due_id, &c), BILLING_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.id[0], "sub_2");
	assert_string_equal(c.id[1], "in_1");
	assert_string_equal(c.id[2], "sub_1");
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	tb_assert_rc(f->st->due_claim_many(tx, 1000, 10, on_due_id, &c), BILLING_OK);
	assert_int_equal(c.n, 1);
	f->st->rollback(tx);

	tx = begin(f, NULL, BILLING_TXN_WRITE);
	memset(&c, 0, sizeof(c));
	tb_assert_rc(f->st->due_claim_many(tx, 1000, 2, on_due_id, &c), BILLING_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.id[0], "sub_2");
	assert_string_equal(c.id[1], "in_1");
	if (strcmp(tb_backend(), "postgres") == 0) {
		/* Another worker's batch skips the rows this one holds. */
		other = begin(f, NULL, BILLING_TXN_WRITE);
		memset(&c, 0, sizeof(c));
		tb_assert_rc(f->st->due_claim_many(other, 1000, 10, on_due_id, &c), BILLING_OK);
		assert_int_equal(c.n, 1);
		assert_string_equal(c.id[0], "sub_1");
		f->st->rollback(other);
	}
	f->st->rollback(tx);
}

static void due_lock__finds_the_row_and_skips_one_another_holds(void **state)
{
	fx *f = *state;
	billing_due_record d = { A, "collect", "in_1", 100 };
	billing_txn *tx, *other;

	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->due_set(tx, &d), BILLING_OK);
	commit(f, tx);

	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->due_lock(tx, A, "collect", "in_1", 0), BILLING_OK);
	tb_assert_rc(f->st->due_lock(tx, A, "collect", "in_1", 1), BILLING_OK); /* its own */
	assert_int_equal(f->st->due_lock(tx, A, "collect", "in_2", 0), BILLING_ENOTFOUND);
	assert_int_equal(f->st->due_lock(tx, A, "subscription", "in_1", 1), BILLING_ENOTFOUND);
	assert_int_equal(f->st->due_lock(tx, B, "collect", "in_1", 0), BILLING_ENOTFOUND);
	if (strcmp(tb_backend(), "postgres") == 0) {
		/* Another transaction skips the held row; the claim does too. */
		int64_t claimed = 0;
		other = begin(f, A, BILLING_TXN_WRITE);
		assert_int_equal(f->st->due_lock(other, A, "collect", "in_1", 1), BILLING_ENOTFOUND);
		assert_int_equal(f->st->due_claim(other, 1000, on_due_count, &claimed),
			BILLING_ENOTFOUND);
		assert_int_equal(claimed, 0);
		f->st->rollback(other);
	}
	f->st->rollback(tx);

	/* A read transaction locks nothing and answers OK. */
	tx = begin(f, A, BILLING_TXN_READ);
	tb_assert_rc(f->st->due_lock(tx, A, "collect", "in_1", 0), BILLING_OK);
	tb_assert_rc(f->st->due_lock(tx, A, "collect", "in_9", 1), BILLING_OK);
	f->st->rollback(tx);
}

static void plan_list__never_returns_soft_deleted_plans(void **state)
{
	fx *f = *state;
	billing_plan_record p1 = plan_rec(A, "plan_1", "prod_1", "GOLD", 100, 10);
	billing_plan_record p2 = plan_rec(A, "plan_2", "prod_1", "GOLD_OLD", 100, 11);
	billing_list_query q = keyset(10);
	int64_t total = -1;
	seen v;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	p2.deleted_at = 50;
	p2.active = 0;
	insert_plan(f, &p1);
	insert_plan(f, &p2);
	list_plans(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "plan_1" });
	q.search = "GOLD";
	q.offset = 0;
	q.total = &total;
	q.active = 2;
	list_plans(f, A, &q, &v);
	assert_int_equal(v.n, 0);
	assert_int_equal(total, 0);
}

static void plan_update__soft_delete_hides_it_from_lists(void **state)
{
	fx *f = *state;
	billing_plan_record p = plan_rec(A, "plan_1", "prod_1", "GOLD", 100, 10);
	billing_list_query q = keyset(10);
	billing_txn *tx;
	seen v;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	insert_plan(f, &p);
	p.deleted_at = 40;
	p.active = 0;
	p.version = 2;
	tx = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_update(tx, &billing__res_plan, &p, 5), BILLING_ESTALE);
	tb_assert_rc(f->st->record_update(tx, &billing__res_plan, &p, 1), BILLING_OK);
	commit(f, tx);
	list_plans(f, A, &q, &v);
	assert_int_equal(v.n, 0);
	tb_assert_rc(get_plan(f, A, "plan_1", &v), BILLING_OK);
	assert_int_equal(v.i4[0], 40);
	assert_int_equal(v.i1[0], 2);
}

static void plan_list__filters_by_product_currency_and_amount(void **state)
{
	fx *f = *state;
	billing_plan_record p1 = plan_rec(A, "plan_1", "prod_1", "P1", 100, 10);
	billing_plan_record p2 = plan_rec(A, "plan_2", "prod_2", "P2", 200, 11);
	billing_plan_record p3 = plan_rec(A, "plan_3", "prod_2", "P3", 300, 12);
	billing_list_query q = keyset(10);
	seen v;

	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	insert_product(f, A, "prod_2", "SKU-2", 1500, 10);
	p3.currency = "USD";
	insert_plan(f, &p1);
	insert_plan(f, &p2);
	insert_plan(f, &p3);
	q.product_id = "prod_2";
	list_plans(f, A, &q, &v);
	assert_ids(&v, 2, (const char *const[]){ "plan_2", "plan_3" });
	q.currency = "USD";
	list_plans(f, A, &q, &v);
	assert_ids(&v, 1, (const char *const[]){ "plan_3" });
	q = keyset(10);
	q.has_min_amount = 1;
	q.min_amount = 200;
	q.sort = BILLING_SORT_AMOUNT;
	q.descending = 1;
	list_plans(f, A, &q, &v);
	assert_ids(&v, 2, (const char *const[]){ "plan_3", "plan_2" });
	q = keyset(10);
	q.sort = BILLING_SORT_CODE;
	q.has_after = 1;
	q.after_text = "P1";
	q.after_id = "plan_1";
	list_plans(f, A, &q, &v);
	assert_ids(&v, 2, (const char *const[]){ "plan_2", "plan_3" });
}

/* ------------------------------------------------------------ idempotency */

static void idempotency_get__returns_the_inserted_key(void **state)
{
	fx *f = *state;
	billing_idempotency_record r = { A, "key-1", "customers.create", "abc123", "cus_1", 77 };
	billing_txn *tx = begin(f, A, BILLING_TXN_WRITE);
	seen v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(f->st->idempotency_get(tx, A, "key-1", on_idem, &v), BILLING_ENOTFOUND);
	tb_assert_rc(f->st->idempotency_insert(tx, &r), BILLING_OK);
	commit(f, tx);
	tx = begin(f, A, BILLING_TXN_READ);
	tb_assert_rc(f->st->idempotency_get(tx, A, "key-1", on_idem, &v), BILLING_OK);
	f->st->rollback(tx);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.tenant[0], A);
	assert_string_equal(v.id[0], "key-1");
	assert_string_equal(v.s2[0], "customers.create");
	assert_string_equal(v.s3[0], "abc123");
	assert_string_equal(v.s4[0], "cus_1");
	assert_int_equal(v.i2[0], 77);
}

static void idempotency_insert__used_key_is_exists(void **state)
{
	fx *f = *state;
	billing_idempotency_record r = { A, "key-1", "customers.create", "abc", "cus_1", 77 };
	billing_txn *tx = begin(f, A, BILLING_TXN_WRITE);
	seen v;
	int rc;

	memset(&v, 0, sizeof(v));
	tb_assert_rc(f->st->idempotency_insert(tx, &r), BILLING_OK);
	r.request_hash = "def";
	rc = f->st->idempotency_insert(tx, &r);
	if (rc == BILLING_OK)   /* sent with the commit (PostgreSQL) */
		rc = f->st->commit(tx);
	else
		f->st->rollback(tx);
	assert_int_equal(rc, BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, NULL, "idempotencyKey");
	/* Either way nothing of the transaction stays. */
	tx = begin(f, A, BILLING_TXN_READ);
	assert_int_equal(f->st->idempotency_get(tx, A, "key-1", on_idem, &v), BILLING_ENOTFOUND);
	f->st->rollback(tx);
}

/* ------------------------------------------------------------ tenant scoping */

/* Rows in A; every call below names B. */
static void rows_in_a(fx *f)
{
	billing_plan_record p = plan_rec(A, "plan_1", "prod_1", "GOLD", 100, 10);
	billing_idempotency_record k = { A, "key-1", "customers.create", "abc", "cus_1", 77 };
	billing_txn *tx;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	insert_plan(f, &p);
	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->idempotency_insert(tx, &k), BILLING_OK);
	commit(f, tx);
}

static void get__other_tenants_rows_are_not_found(void **state)
{
	fx *f = *state;
	billing_txn *tx;
	seen v;

	rows_in_a(f);
	assert_int_equal(get_customer(f, B, "cus_1", &v), BILLING_ENOTFOUND);
	assert_int_equal(v.n, 0);
	assert_int_equal(get_product(f, B, "prod_1", &v), BILLING_ENOTFOUND);
	assert_int_equal(v.n, 0);
	assert_int_equal(get_plan(f, B, "plan_1", &v), BILLING_ENOTFOUND);
	assert_int_equal(v.n, 0);
	tx = begin(f, B, BILLING_TXN_READ);
	assert_int_equal(f->st->idempotency_get(tx, B, "key-1", on_idem, &v), BILLING_ENOTFOUND);
	f->st->rollback(tx);
	assert_int_equal(v.n, 0);
}

static void update__other_tenants_rows_are_untouched(void **state)
{
	fx *f = *state;
	billing_customer_record c = customer_rec(B, "cus_1", "Hijack", "ada@example.com", 10);
	billing_product_record pr = product_rec(B, "prod_1", "SKU-1", 1, 10);
	billing_plan_record pl = plan_rec(B, "plan_1", "prod_1", "GOLD", 1, 10);
	billing_txn *tx;
	seen v;

	rows_in_a(f);
	c.version = pr.version = pl.version = 2;
	pr.name = pl.name = "Hijack";
	tx = begin(f, B, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_update(tx, &billing__res_customer, &c, 1), BILLING_ESTALE);
	assert_int_equal(f->st->record_update(tx, &billing__res_product, &pr, 1), BILLING_ESTALE);
	assert_int_equal(f->st->record_update(tx, &billing__res_plan, &pl, 1), BILLING_ESTALE);
	commit(f, tx);
	tb_assert_rc(get_customer(f, A, "cus_1", &v), BILLING_OK);
	assert_string_equal(v.s1[0], "Ada");
	assert_int_equal(v.i1[0], 1);
	tb_assert_rc(get_product(f, A, "prod_1", &v), BILLING_OK);
	assert_string_equal(v.s1[0], "SKU-1");
	assert_int_equal(v.i1[0], 1);
	tb_assert_rc(get_plan(f, A, "plan_1", &v), BILLING_OK);
	assert_string_equal(v.s1[0], "GOLD");
	assert_int_equal(v.i1[0], 1);
}

static void delete__other_tenants_rows_are_not_found_and_stay(void **state)
{
	fx *f = *state;
	billing_txn *tx;
	seen v;

	insert_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	insert_product(f, A, "prod_1", "SKU-1", 1500, 10);
	tx = begin(f, B, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_delete(tx, &billing__res_customer, B, "cus_1"), BILLING_ENOTFOUND);
	assert_int_equal(f->st->record_delete(tx, &billing__res_product, B, "prod_1"), BILLING_ENOTFOUND);
	commit(f, tx);
	tb_assert_rc(get_customer(f, A, "cus_1", &v), BILLING_OK);
	tb_assert_rc(get_product(f, A, "prod_1", &v), BILLING_OK);
}

static void list__never_returns_other_tenants_rows(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	int64_t total = -1, n = -1;
	billing_txn *tx;
	seen v;

	rows_in_a(f);
	list_customers(f, B, &q, &v);
	assert_int_equal(v.n, 0);
	list_products(f, B, &q, &v);
	assert_int_equal(v.n, 0);
	list_plans(f, B, &q, &v);
	assert_int_equal(v.n, 0);
	q.offset = 0;
	q.total = &total;
	q.search = "a";
	list_customers(f, B, &q, &v);
	assert_int_equal(v.n, 0);
	assert_int_equal(total, 0);
	total = -1;
	q.search = "SKU";
	list_products(f, B, &q, &v);
	assert_int_equal(total, 0);
	total = -1;
	q.search = "GOLD";
	list_plans(f, B, &q, &v);
	assert_int_equal(total, 0);
	tx = begin(f, B, BILLING_TXN_READ);
	tb_assert_rc(plan_count(f->st, tx, B, "prod_1", &n), BILLING_OK);
	f->st->rollback(tx);
	assert_int_equal(n, 0);
	/* and A still sees its own: the lists above were empty for B's sake */
	q = keyset(10);
	list_customers(f, A, &q, &v);
	assert_int_equal(v.n, 1);
	list_products(f, A, &q, &v);
	assert_int_equal(v.n, 1);
	list_plans(f, A, &q, &v);
	assert_int_equal(v.n, 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define T_EMPTY(name) cmocka_unit_test_setup_teardown(name, setup_empty, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_EMPTY(storage__vtable_is_complete_and_versioned),
		T(events_latest__each_resources_last_event_up_to_a_time),
		T_EMPTY(schema_status__counts_pending_before_migrate_and_none_after),
		T_EMPTY(migrate__second_run_applies_nothing),
		T_EMPTY(schema_status__changed_checksum_is_migration_checksum),
		T_EMPTY(migrate__refuses_a_changed_checksum),
		T(migrate__keeps_rows_written_before_a_rerun),
		T(rollback__insert_is_gone),
		T(commit__insert_is_seen_by_the_next_transaction),
		T(begin__write_waits_then_reports_busy),
		T(meta_get__unknown_key_is_not_found),
		T(meta_put__does_not_overwrite),
		T(tenant_get__returns_the_inserted_row),
		T(tenant_get__unknown_is_not_found),
		T(tenant_insert__duplicate_id_is_exists),
		T(tenant_list__pages_by_name_with_keyset_and_total),
		T(customer_get__returns_every_field_inserted),
		T(customer_get__absent_payment_method_reads_back_null),
		T(customer_get__unknown_is_not_found),
		T(customer_update__replaces_the_row_at_old_version),
		T(customer_update__wrong_old_version_is_stale_and_changes_nothing),
		T(customer_update__to_a_taken_email_is_exists),
		T(customer_delete__removes_the_row),
		T(customer_delete__unknown_is_not_found),
		T(customer_insert__taken_email_key_is_exists_naming_email),
		T(customer_insert__same_email_in_another_tenant_is_fine),
		T(customer_insert__unknown_tenant_is_refused),
		T(customer_list__orders_by_created_then_id),
		T(customer_list__keyset_returns_rows_strictly_after),
		T(customer_list__keyset_descending_returns_rows_strictly_before),
		T(customer_list__keyset_on_a_text_column),
		T(customer_list__offset_page_reports_the_total),
		T(customer_list__search_takes_percent_and_underscore_literally),
		T(customer_list__search_folds_ascii_case_in_name_and_email),
		T(customer_list__callback_failure_stops_with_its_code),
		T(customer_list__limit_caps_the_rows),
		T(customer_list__every_filter_at_once_fails_cleanly),
		T(product_get__returns_the_inserted_row),
		T(product_update__at_old_version_and_stale_otherwise),
		T(product_insert__taken_sku_is_exists_naming_sku),
		T(product_delete__referenced_by_a_plan_is_conflict),
		T(product_delete__unreferenced_removes_the_row),
		T(product_plan_count__counts_deleted_plans_too),
		T(product_list__filters_by_active_and_price),
		T(plan_insert__taken_code_is_exists_naming_code),
		T(plan_insert__product_of_another_tenant_is_resource_missing),
		T(plan_get__returns_a_soft_deleted_plan),
		T(plan_list__never_returns_soft_deleted_plans),
		T(reads__return_the_row_under_every_lock_and_transaction),
		T(due_lock__finds_the_row_and_skips_one_another_holds),
		T(due_claim_many__takes_a_batch_in_claim_order_and_skips_held_rows),
		T(record_insert_many__writes_every_row_as_record_insert_would),
		T(record_insert_many__a_taken_unique_field_or_null_row_writes_nothing),
		T(record_insert_many__more_rows_than_one_statement_takes),
		T(plan_update__soft_delete_hides_it_from_lists),
		T(plan_list__filters_by_product_currency_and_amount),
		T(idempotency_get__returns_the_inserted_key),
		T(idempotency_insert__used_key_is_exists),
		T(get__other_tenants_rows_are_not_found),
		T(update__other_tenants_rows_are_untouched),
		T(delete__other_tenants_rows_are_not_found_and_stay),
		T(list__never_returns_other_tenants_rows),
	};
	return cmocka_run_group_tests_name(tb_backend(), tests, NULL, NULL);
}
