/*
 * Storage conformance of the generic record methods (storage version 7:
 * record_insert / update / read / delete / list over a billing_resource),
 * on every backend, through the vtable only.
 *
 * The descriptors here are test-only, over tables that exist (customers,
 * products, plans), so the suite needs no migration of its own; one table
 * made behind the library's back (gadgets) has a unique constraint no
 * backend's error map knows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/sql/sql.h"
#include "tb.h"
#include "core/resources.h"

typedef struct {
	billing_storage *st;
	char url[512];
	char dir[256];
} fx;

static const char *A = "ten_a";
static const char *B = "ten_b";

/* ------------------------------------------------------------ descriptors */

#define CF(col, type, member, flags, json) \
	{ col, BILLING_FIELD_##type, offsetof(billing_customer_record, member), flags, json, \
	  BILLING_JSON_NONE, 0, NULL, 0, NULL }

static const billing_field customer_fields[] = {
	CF("tenant_id", TEXT, tenant_id, BILLING_FIELD_TENANT, NULL),
	CF("id", TEXT, id, BILLING_FIELD_ID, "id"),
	CF("name", TEXT, name, BILLING_FIELD_FILTER | BILLING_FIELD_SORT | BILLING_FIELD_SEARCH,
		"name"),
	CF("email", TEXT, email, BILLING_FIELD_SEARCH, "email"),
	CF("email_key", TEXT, email_key, BILLING_FIELD_UNIQUE | BILLING_FIELD_SORT, NULL),
	CF("default_payment_method", TEXT, default_payment_method, BILLING_FIELD_FILTER,
		"defaultPaymentMethod"),
	CF("metadata", TEXT, metadata_json, 0, "metadata"),
	CF("created_at", INT64, created_at, BILLING_FIELD_FIXED | BILLING_FIELD_RANGE |
		BILLING_FIELD_SORT, "created"),
	CF("updated_at", INT64, updated_at, BILLING_FIELD_RANGE, "updated"),
	CF("version", INT64, version, BILLING_FIELD_VERSION, "version"),
};

static const billing_resource customers = {
	.name = "customer", .plural = "customers", .table = "customers", .prefix = "cus",
	.record_size = sizeof(billing_customer_record),
	.fields = customer_fields,
	.field_count = sizeof(customer_fields) / sizeof(customer_fields[0]),
};

#define PF(col, type, member, flags, json) \
	{ col, BILLING_FIELD_##type, offsetof(billing_plan_record, member), flags, json, \
	  BILLING_JSON_NONE, 0, NULL, 0, NULL }

static const billing_field plan_fields[] = {
	PF("tenant_id", TEXT, tenant_id, BILLING_FIELD_TENANT, NULL),
	PF("id", TEXT, id, BILLING_FIELD_ID, "id"),
	PF("product_id", TEXT, product_id, BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "productId"),
	PF("code", TEXT, code, BILLING_FIELD_UNIQUE | BILLING_FIELD_SEARCH | BILLING_FIELD_SORT,
		"planCode"),
	PF("name", TEXT, name, BILLING_FIELD_SEARCH, "name"),
	PF("description", TEXT, description, 0, "description"),
	PF("amount", INT64, amount, BILLING_FIELD_RANGE | BILLING_FIELD_SORT, "amount"),
	PF("currency", TEXT, currency, BILLING_FIELD_FILTER, "currency"),
	PF("billing_interval", INT, interval, BILLING_FIELD_FILTER, "interval"),
	PF("interval_count", INT32, interval_count, 0, "intervalCount"),
	PF("trial_days", INT32, trial_days, 0, "trialDays"),
	PF("term_count", INT32, term_count, BILLING_FIELD_ZERO_NULL | BILLING_FIELD_FILTER,
		"termCount"),
	PF("active", INT, active, BILLING_FIELD_FILTER, "active"),
	PF("deleted_at", INT64, deleted_at, BILLING_FIELD_ZERO_NULL | BILLING_FIELD_DELETED, NULL),
	PF("metadata", TEXT, metadata_json, 0, "metadata"),
	PF("created_at", INT64, created_at, BILLING_FIELD_FIXED | BILLING_FIELD_SORT, "created"),
	PF("updated_at", INT64, updated_at, 0, "updated"),
	PF("version", INT64, version, BILLING_FIELD_VERSION, "version"),
};

static const billing_resource plans = {
	.name = "plan", .plural = "plans", .table = "plans", .prefix = "plan",
	.record_size = sizeof(billing_plan_record),
	.fields = plan_fields,
	.field_count = sizeof(plan_fields) / sizeof(plan_fields[0]),
};

#define RF(col, type, member, flags) \
	{ col, BILLING_FIELD_##type, offsetof(billing_product_record, member), flags, NULL, \
	  BILLING_JSON_NONE, 0, NULL, 0, NULL }

static const billing_field product_fields[] = {
	RF("tenant_id", TEXT, tenant_id, BILLING_FIELD_TENANT),
	RF("id", TEXT, id, BILLING_FIELD_ID),
	RF("name", TEXT, name, 0),
	RF("sku", TEXT, sku, BILLING_FIELD_UNIQUE),
	RF("description", TEXT, description, 0),
	RF("price_cents", INT64, price_cents, 0),
	RF("currency", TEXT, currency, 0),
	RF("tax_rate_bp", INT32, tax_rate_bp, 0),
	RF("is_active", INT, is_active, 0),
	RF("stock", INT64, stock, 0),
	RF("low_stock_threshold", INT64, low_stock_threshold, 0),
	RF("metadata", TEXT, metadata_json, 0),
	RF("created_at", INT64, created_at, BILLING_FIELD_FIXED),
	RF("updated_at", INT64, updated_at, 0),
	RF("version", INT64, version, BILLING_FIELD_VERSION),
};

static const billing_resource products = {
	.name = "product", .table = "products", .record_size = sizeof(billing_product_record),
	.fields = product_fields,
	.field_count = sizeof(product_fields) / sizeof(product_fields[0]),
};

/* A table of the test's own (made in setup), whose unique constraint on
 * code no backend's error map knows. */
typedef struct {
	const char *tenant_id;
	const char *id;
	const char *code;
	int64_t created_at;
	int64_t version;
} gadget_record;

static const billing_field gadget_fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(gadget_record, tenant_id),
	  BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "id", BILLING_FIELD_TEXT, offsetof(gadget_record, id), BILLING_FIELD_ID, "id",
	  BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "code", BILLING_FIELD_TEXT, offsetof(gadget_record, code), BILLING_FIELD_UNIQUE,
	  "gadgetCode", BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "created_at", BILLING_FIELD_INT64, offsetof(gadget_record, created_at),
	  BILLING_FIELD_FIXED, "created", BILLING_JSON_TIME, 0, NULL, 0, NULL },
	{ "version", BILLING_FIELD_INT64, offsetof(gadget_record, version),
	  BILLING_FIELD_VERSION, "version", BILLING_JSON_INTEGER, 0, NULL, 0, NULL },
};

static const billing_resource gadgets = {
	.name = "gadget", .table = "test_gadgets", .record_size = sizeof(gadget_record),
	.fields = gadget_fields, .field_count = 5,
};

/* ------------------------------------------------------------ fixture */

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

static void insert_tenant(fx *f, const char *id, int64_t created)
{
	billing_tenant_record r = { id, id, "INV-", created, created, 1, "CN-", 0 };
	billing_txn *tx = begin(f, NULL, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_insert(tx, &billing__res_tenant, &r), BILLING_OK);
	commit(f, tx);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	int applied = -1;
	assert_non_null(f);
	tb_database_new(f->url, sizeof(f->url), f->dir, sizeof(f->dir));
	/* Migrated without a time limit: on PostgreSQL the 300 ms below is a
	 * statement timeout, and under the sanitizers with other suites
	 * migrating their schemas at once a migration statement took longer
	 * (the README command failed on it once, 'migration 3 failed: statement
	 * timeout'). */
	f->st = tb_storage_open(f->url, 0);
	tb_assert_rc(f->st->migrate(f->st, &applied, 1000), BILLING_OK);
	billing_storage_free(f->st);
	/* A short lock wait: a lock test that would wait reports busy. */
	f->st = tb_storage_open(f->url, 300);
	insert_tenant(f, A, 1000);
	insert_tenant(f, B, 1001);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	f->st->free(f->st);
	remove_dir(f->dir);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ rows seen */

#define MAX_ROWS 32

typedef struct {
	size_t n;
	int stop;                    /* what the callback returns on the first row */
	char id[MAX_ROWS][64];
	char s1[MAX_ROWS][128];      /* name / code */
	char s2[MAX_ROWS][128];      /* email / product_id */
	char s3[MAX_ROWS][128];      /* payment method / description; "(null)" */
	int64_t i1[MAX_ROWS];        /* version */
	int64_t i2[MAX_ROWS];        /* created_at / term_count */
	int64_t i3[MAX_ROWS];        /* interval / deleted_at */
} seen;

static void put(char *dst, const char *s)
{
	snprintf(dst, 128, "%s", s ? s : "(null)");
}

static int on_customer(void *payload, const void *record)
{
	const billing_customer_record *r = record;
	seen *v = payload;
	size_t i = v->n++;
	assert_true(i < MAX_ROWS);
	assert_non_null(r->tenant_id);
	snprintf(v->id[i], 64, "%s", r->id);
	put(v->s1[i], r->name);
	put(v->s2[i], r->email);
	put(v->s3[i], r->default_payment_method);
	v->i1[i] = r->version;
	v->i2[i] = r->created_at;
	assert_string_equal(r->metadata_json, "{}");
	return v->stop;
}

static int on_plan(void *payload, const void *record)
{
	const billing_plan_record *r = record;
	seen *v = payload;
	size_t i = v->n++;
	assert_true(i < MAX_ROWS);
	snprintf(v->id[i], 64, "%s", r->id);
	put(v->s1[i], r->code);
	put(v->s2[i], r->product_id);
	put(v->s3[i], r->description);
	v->i1[i] = r->version;
	v->i2[i] = r->term_count;
	v->i3[i] = r->deleted_at;
	return v->stop;
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

/* ------------------------------------------------------------ records */

static billing_customer_record customer(const char *tenant, const char *id, const char *name,
	const char *email, int64_t created)
{
	billing_customer_record r;
	memset(&r, 0, sizeof(r));
	r.tenant_id = tenant;
	r.id = id;
	r.name = name;
	r.email = email;
	r.email_key = email;
	r.metadata_json = "{}";
	r.created_at = r.updated_at = created;
	r.version = 1;
	return r;
}

static int insert(fx *f, const billing_resource *res, const char *tenant, const void *rec)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_WRITE);
	int rc = f->st->record_insert(tx, res, rec);
	if (rc == BILLING_OK)
		commit(f, tx);
	else
		f->st->rollback(tx);
	return rc;
}

static void add_customer(fx *f, const char *tenant, const char *id, const char *name,
	const char *email, int64_t created)
{
	billing_customer_record r = customer(tenant, id, name, email, created);
	tb_assert_rc(insert(f, &customers, tenant, &r), BILLING_OK);
}

/* A user of tenant, written in a platform transaction as the library does. */
static void add_user(fx *f, const char *tenant, const char *id, const char *email,
	int64_t created)
{
	billing_user_record r;
	memset(&r, 0, sizeof(r));
	r.tenant_id = tenant;
	r.id = id;
	r.email = r.email_key = email;
	r.role = 2;
	r.password_hash = "x";
	r.created_at = r.updated_at = created;
	r.version = 1;
	tb_assert_rc(insert(f, &billing__res_user, NULL, &r), BILLING_OK);
}

static int on_user(void *payload, const void *record)
{
	const billing_user_record *r = record;
	seen *v = payload;
	size_t i = v->n++;
	assert_true(i < MAX_ROWS);
	snprintf(v->id[i], 64, "%s", r->id);
	return v->stop;
}

static int read_rec(fx *f, const billing_resource *res, const char *tenant, const char *id,
	unsigned int lock, billing_row_cb cb, seen *v)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	int rc;
	memset(v, 0, sizeof(*v));
	rc = f->st->record_read(tx, res, tenant, id, lock, cb, v);
	f->st->rollback(tx);
	return rc;
}

static int update_rec(fx *f, const billing_resource *res, const char *tenant, const void *rec,
	int64_t old)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_WRITE);
	int rc = f->st->record_update(tx, res, rec, old);
	if (rc == BILLING_OK)
		commit(f, tx);
	else
		f->st->rollback(tx);
	return rc;
}

static int delete_rec(fx *f, const billing_resource *res, const char *tenant, const char *id)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_WRITE);
	int rc = f->st->record_delete(tx, res, tenant, id);
	if (rc == BILLING_OK)
		commit(f, tx);
	else
		f->st->rollback(tx);
	return rc;
}

static int list_rec(fx *f, const billing_resource *res, const char *tenant,
	const billing_list_query *q, billing_row_cb cb, seen *v)
{
	billing_txn *tx = begin(f, tenant, BILLING_TXN_READ);
	int rc;
	memset(v, 0, sizeof(*v));
	rc = f->st->record_list(tx, res, tenant, q, cb, v);
	f->st->rollback(tx);
	return rc;
}

static billing_list_query keyset(unsigned int limit)
{
	billing_list_query q;
	memset(&q, 0, sizeof(q));
	q.limit = limit;
	q.offset = -1;
	return q;
}

static const billing_field *field(const billing_resource *res, const char *column)
{
	const billing_field *fl = billing_resource_field(res, column);
	assert_non_null(fl);
	return fl;
}

/* Product prod_1 and plans: p1 (month, 100), p2 (year, 200, term 12),
 * p3 (month, 300, soft-deleted), p4 (week, 400). */
static void some_plans(fx *f)
{
	billing_product_record pr;
	static const struct { const char *id, *code; int64_t amount; int interval, term;
		int64_t deleted; } p[] = {
		{ "plan_1", "ALPHA", 100, 3, 0, 0 },
		{ "plan_2", "BETA", 200, 4, 12, 0 },
		{ "plan_3", "GAMMA", 300, 3, 0, 50 },
		{ "plan_4", "DELTA", 400, 2, 0, 0 },
	};
	size_t i;

	memset(&pr, 0, sizeof(pr));
	pr.tenant_id = A;
	pr.id = "prod_1";
	pr.name = pr.sku = "SKU-1";
	pr.currency = "EUR";
	pr.is_active = 1;
	pr.metadata_json = "{}";
	pr.created_at = pr.updated_at = 5;
	pr.version = 1;
	tb_assert_rc(insert(f, &products, A, &pr), BILLING_OK);
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		billing_plan_record r;
		memset(&r, 0, sizeof(r));
		r.tenant_id = A;
		r.id = p[i].id;
		r.product_id = "prod_1";
		r.code = p[i].code;
		r.name = p[i].code;
		r.amount = p[i].amount;
		r.currency = "EUR";
		r.interval = p[i].interval;
		r.interval_count = 1;
		r.term_count = p[i].term;
		r.active = 1;
		r.deleted_at = p[i].deleted;
		r.metadata_json = "{}";
		r.created_at = r.updated_at = 10 + (int64_t)i;
		r.version = 1;
		tb_assert_rc(insert(f, &plans, A, &r), BILLING_OK);
	}
}

/* ------------------------------------------------------------ tests */

static void storage__is_the_current_version_with_the_record_methods(void **state)
{
	fx *f = *state;
	assert_true(BILLING_STORAGE_VERSION >= 8);   /* 8: the narrow vtable, the floor */
	assert_int_equal(f->st->version, BILLING_STORAGE_VERSION);
	assert_non_null(f->st->record_insert);
	assert_non_null(f->st->record_update);
	assert_non_null(f->st->record_read);
	assert_non_null(f->st->record_delete);
	assert_non_null(f->st->record_list);
}

static void resource_field__finds_by_column_and_null_otherwise(void **state)
{
	(void)state;
	assert_ptr_equal(billing_resource_field(&customers, "email_key"), &customer_fields[4]);
	assert_ptr_equal(billing_resource_field(&customers, "tenant_id"), &customer_fields[0]);
	assert_null(billing_resource_field(&customers, "emailKey"));
	assert_null(billing_resource_field(&customers, NULL));
	assert_null(billing_resource_field(NULL, "id"));
}

static void record_read__returns_every_field_inserted(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer(A, "cus_1", "Ada", "ada@example.com", 10);
	seen v;

	r.default_payment_method = "pm_card";
	r.version = 3;
	tb_assert_rc(insert(f, &customers, A, &r), BILLING_OK);
	add_customer(f, A, "cus_2", "Bob", "bob@example.com", 11);
	tb_assert_rc(read_rec(f, &customers, A, "cus_1", BILLING_LOCK_NONE, on_customer, &v),
		BILLING_OK);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.id[0], "cus_1");
	assert_string_equal(v.s1[0], "Ada");
	assert_string_equal(v.s2[0], "ada@example.com");
	assert_string_equal(v.s3[0], "pm_card");
	assert_int_equal(v.i1[0], 3);
	assert_int_equal(v.i2[0], 10);
	/* An absent text reads back NULL. */
	tb_assert_rc(read_rec(f, &customers, A, "cus_2", BILLING_LOCK_NONE, on_customer, &v),
		BILLING_OK);
	assert_string_equal(v.s3[0], "(null)");
	/* The same row through the per-entity method: one table, one truth. */
	{
		billing_txn *tx = begin(f, A, BILLING_TXN_READ);
		memset(&v, 0, sizeof(v));
		tb_assert_rc(f->st->record_read(tx, &billing__res_customer, A, "cus_1", BILLING_LOCK_UPDATE, on_customer, &v), BILLING_OK);
		f->st->rollback(tx);
		assert_string_equal(v.s3[0], "pm_card");
	}
}

static void record_read__unknown_is_not_found(void **state)
{
	fx *f = *state;
	seen v;
	assert_int_equal(read_rec(f, &customers, A, "cus_9", BILLING_LOCK_NONE, on_customer, &v),
		BILLING_ENOTFOUND);
	assert_int_equal(v.n, 0);
}

static void record_insert__zero_null_fields_store_null_and_read_back_zero(void **state)
{
	fx *f = *state;
	seen v;

	some_plans(f);
	assert_int_equal(tb_raw_count(f->url,
		"SELECT count(*) FROM plans WHERE term_count IS NULL AND deleted_at IS NULL"), 2);
	assert_int_equal(tb_raw_count(f->url,
		"SELECT count(*) FROM plans WHERE term_count = 12"), 1);
	tb_assert_rc(read_rec(f, &plans, A, "plan_1", BILLING_LOCK_NONE, on_plan, &v), BILLING_OK);
	assert_int_equal(v.i2[0], 0);
	assert_int_equal(v.i3[0], 0);
	assert_string_equal(v.s3[0], "(null)");
	/* A soft-deleted row is read (the core decides), never listed. */
	tb_assert_rc(read_rec(f, &plans, A, "plan_3", BILLING_LOCK_NONE, on_plan, &v), BILLING_OK);
	assert_int_equal(v.i3[0], 50);
}

static void record_update__at_old_version_replaces_the_row(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer(A, "cus_1", "Ada", "ada@example.com", 10);
	seen v;

	tb_assert_rc(insert(f, &customers, A, &r), BILLING_OK);
	r.name = "Ada L.";
	r.email = r.email_key = "ada@new.example";
	r.default_payment_method = "pm_2";
	r.updated_at = 20;
	r.version = 2;
	tb_assert_rc(update_rec(f, &customers, A, &r, 1), BILLING_OK);
	tb_assert_rc(read_rec(f, &customers, A, "cus_1", BILLING_LOCK_NONE, on_customer, &v),
		BILLING_OK);
	assert_string_equal(v.s1[0], "Ada L.");
	assert_string_equal(v.s2[0], "ada@new.example");
	assert_string_equal(v.s3[0], "pm_2");
	assert_int_equal(v.i1[0], 2);
	assert_int_equal(v.i2[0], 10);
}

static void record_update__stale_version_or_changed_fixed_field_is_stale(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer(A, "cus_1", "Ada", "ada@example.com", 10);
	seen v;

	tb_assert_rc(insert(f, &customers, A, &r), BILLING_OK);
	r.name = "Eve";
	r.version = 3;
	assert_int_equal(update_rec(f, &customers, A, &r, 2), BILLING_ESTALE);
	assert_error(BILLING_ESTALE, "stale_version", NULL);
	/* A FIXED field is matched, never written. */
	r.created_at = 99;
	assert_int_equal(update_rec(f, &customers, A, &r, 1), BILLING_ESTALE);
	/* Gone is stale too. */
	r = customer(A, "cus_9", "Nobody", "no@example.com", 10);
	assert_int_equal(update_rec(f, &customers, A, &r, 1), BILLING_ESTALE);
	tb_assert_rc(read_rec(f, &customers, A, "cus_1", BILLING_LOCK_NONE, on_customer, &v),
		BILLING_OK);
	assert_string_equal(v.s1[0], "Ada");
	assert_int_equal(v.i1[0], 1);
	assert_int_equal(v.i2[0], 10);
}

static void record_update__matches_a_null_fixed_field(void **state)
{
	fx *f = *state;
	static const billing_field fields[] = {
		{ "tenant_id", BILLING_FIELD_TEXT, offsetof(billing_customer_record, tenant_id),
		  BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
		{ "id", BILLING_FIELD_TEXT, offsetof(billing_customer_record, id),
		  BILLING_FIELD_ID, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
		{ "name", BILLING_FIELD_TEXT, offsetof(billing_customer_record, name), 0, NULL,
		  BILLING_JSON_NONE, 0, NULL, 0, NULL },
		{ "default_payment_method", BILLING_FIELD_TEXT,
		  offsetof(billing_customer_record, default_payment_method), BILLING_FIELD_FIXED,
		  NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
		{ "version", BILLING_FIELD_INT64, offsetof(billing_customer_record, version),
		  BILLING_FIELD_VERSION, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	};
	static const billing_resource fixed_pm = {
		.name = "customer", .table = "customers",
		.record_size = sizeof(billing_customer_record), .fields = fields, .field_count = 5,
	};
	billing_customer_record r = customer(A, "cus_1", "Ada", "ada@example.com", 10);
	seen v;

	tb_assert_rc(insert(f, &customers, A, &r), BILLING_OK);
	r.name = "Ada B.";
	r.version = 2;
	tb_assert_rc(update_rec(f, &fixed_pm, A, &r, 1), BILLING_OK);
	r.default_payment_method = "pm_x";
	r.version = 3;
	assert_int_equal(update_rec(f, &fixed_pm, A, &r, 2), BILLING_ESTALE);
	tb_assert_rc(read_rec(f, &customers, A, "cus_1", BILLING_LOCK_NONE, on_customer, &v),
		BILLING_OK);
	assert_string_equal(v.s1[0], "Ada B.");
	assert_string_equal(v.s3[0], "(null)");
}

static void record_insert__taken_unique_field_is_exists_naming_it(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer(A, "cus_2", "Ada 2", "ada@example.com", 11);
	billing_plan_record p;
	seen v;

	add_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	assert_int_equal(insert(f, &customers, A, &r), BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, "already_exists", "email");
	/* Another tenant may use it. */
	r.tenant_id = B;
	tb_assert_rc(insert(f, &customers, B, &r), BILLING_OK);
	/* The field's JSON name, not the column. */
	some_plans(f);
	memset(&p, 0, sizeof(p));
	tb_assert_rc(read_rec(f, &plans, A, "plan_1", BILLING_LOCK_NONE, on_plan, &v), BILLING_OK);
	p.tenant_id = A;
	p.id = "plan_9";
	p.product_id = "prod_1";
	p.code = "ALPHA";
	p.name = "x";
	p.amount = 1;
	p.currency = "EUR";
	p.interval = 3;
	p.interval_count = 1;
	p.active = 1;
	p.metadata_json = "{}";
	p.version = 1;
	assert_int_equal(insert(f, &plans, A, &p), BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, "already_exists", "planCode");
	/* An update onto a taken value too. */
	{
		billing_customer_record c = customer(A, "cus_3", "Cy", "cy@example.com", 12);
		tb_assert_rc(insert(f, &customers, A, &c), BILLING_OK);
		c.email = c.email_key = "ada@example.com";
		c.version = 2;
		assert_int_equal(update_rec(f, &customers, A, &c, 1), BILLING_EEXISTS);
		assert_error(BILLING_EEXISTS, "already_exists", "email");
	}
}

static void record_insert__unique_constraint_no_backend_knows_names_the_field(void **state)
{
	fx *f = *state;
	gadget_record g = { A, "gad_1", "G-1", 10, 1 };

	tb_raw_exec(f->url, "CREATE TABLE test_gadgets (tenant_id TEXT NOT NULL, id TEXT NOT NULL,"
		" code TEXT NOT NULL, created_at BIGINT NOT NULL, version BIGINT NOT NULL,"
		" PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, code))");
	if (strcmp(tb_backend(), "postgres") == 0)
		tb_raw_exec(f->url, "GRANT SELECT, INSERT, UPDATE, DELETE ON test_gadgets TO PUBLIC");
	tb_assert_rc(insert(f, &gadgets, A, &g), BILLING_OK);
	g.id = "gad_2";
	assert_int_equal(insert(f, &gadgets, A, &g), BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, "already_exists", "gadgetCode");
	/* A taken id is the id. */
	g.code = "G-2";
	g.id = "gad_1";
	assert_int_equal(insert(f, &gadgets, A, &g), BILLING_EEXISTS);
	assert_error(BILLING_EEXISTS, "already_exists", "id");
}

static void record_insert__unknown_tenant_or_owner_is_resource_missing(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer("ten_zz", "cus_1", "Ada", "ada@example.com", 10);
	billing_plan_record p;

	assert_int_equal(insert(f, &customers, "ten_zz", &r), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, "resource_missing", NULL);
	memset(&p, 0, sizeof(p));
	p.tenant_id = A;
	p.id = "plan_1";
	p.product_id = "prod_none";
	p.code = p.name = "X";
	p.amount = 100;
	p.currency = "EUR";
	p.interval = 3;
	p.interval_count = 1;
	p.metadata_json = "{}";
	p.version = 1;
	assert_int_equal(insert(f, &plans, A, &p), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, "resource_missing", NULL);
}

static void record_delete__removes_the_row_and_unknown_is_not_found(void **state)
{
	fx *f = *state;
	seen v;

	add_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	tb_assert_rc(delete_rec(f, &customers, A, "cus_1"), BILLING_OK);
	assert_int_equal(read_rec(f, &customers, A, "cus_1", BILLING_LOCK_NONE, on_customer, &v),
		BILLING_ENOTFOUND);
	assert_int_equal(delete_rec(f, &customers, A, "cus_1"), BILLING_ENOTFOUND);
}

static void record_delete__referenced_row_is_conflict(void **state)
{
	fx *f = *state;

	some_plans(f);
	assert_int_equal(delete_rec(f, &products, A, "prod_1"), BILLING_ECONFLICT);
	assert_error(BILLING_ECONFLICT, "referenced", NULL);
	assert_int_equal(tb_raw_count(f->url, "SELECT count(*) FROM products"), 1);
}

static void tenant_isolation__another_tenants_row_is_never_touched(void **state)
{
	fx *f = *state;
	billing_customer_record r = customer(A, "cus_1", "Ada", "ada@example.com", 10);
	billing_list_query q = keyset(10);
	seen v;

	tb_assert_rc(insert(f, &customers, A, &r), BILLING_OK);
	add_customer(f, B, "cus_2", "Bob", "bob@example.com", 11);
	/* read */
	assert_int_equal(read_rec(f, &customers, B, "cus_1", BILLING_LOCK_NONE, on_customer, &v),
		BILLING_ENOTFOUND);
	/* update: the record says tenant B, the row is A's */
	r.tenant_id = B;
	r.name = "Mallory";
	r.version = 2;
	assert_int_equal(update_rec(f, &customers, B, &r, 1), BILLING_ESTALE);
	/* delete */
	assert_int_equal(delete_rec(f, &customers, B, "cus_1"), BILLING_ENOTFOUND);
	/* list */
	tb_assert_rc(list_rec(f, &customers, B, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "cus_2" });
	q.search = "ada";
	tb_assert_rc(list_rec(f, &customers, B, &q, on_customer, &v), BILLING_OK);
	assert_int_equal(v.n, 0);
	/* A's row is as it was. */
	tb_assert_rc(read_rec(f, &customers, A, "cus_1", BILLING_LOCK_NONE, on_customer, &v),
		BILLING_OK);
	assert_string_equal(v.s1[0], "Ada");
	assert_int_equal(v.i1[0], 1);
}

static void five_customers(fx *f)
{
	add_customer(f, A, "cus_1", "Eve", "eve@example.com", 10);
	add_customer(f, A, "cus_2", "Ada", "ada@example.com", 20);
	add_customer(f, A, "cus_3", "Cy", "cy@example.com", 20);
	add_customer(f, A, "cus_4", "Bob", "bob@example.com", 30);
	add_customer(f, A, "cus_5", "Dee", "dee@example.com", 40);
	add_customer(f, B, "cus_6", "Ann", "ann@example.com", 5);
}

static void record_list__orders_by_created_then_id_and_pages_by_keyset(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(2);
	seen v;

	five_customers(f);
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "cus_1", "cus_2" });
	q.has_after = 1;
	q.after_int = 20;
	q.after_id = "cus_2";
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "cus_3", "cus_4" });
	q.descending = 1;
	q.after_int = 30;
	q.after_id = "cus_4";
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "cus_3", "cus_2" });
}

static void record_list__sorts_by_a_text_field_with_keyset(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	seen v;

	five_customers(f);
	q.sort_field = field(&customers, "name");
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 5, (const char *const[]){ "cus_2", "cus_4", "cus_3", "cus_5", "cus_1" });
	q.has_after = 1;
	q.after_text = "Cy";
	q.after_id = "cus_3";
	q.limit = 2;
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "cus_5", "cus_1" });
	q.descending = 1;
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "cus_4", "cus_2" });
}

static void record_list__page_mode_counts_every_match(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(2);
	int64_t total = -1;
	seen v;

	five_customers(f);
	q.offset = 2;
	q.total = &total;
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "cus_3", "cus_4" });
	assert_int_equal(total, 5);
	q.offset = 4;
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "cus_5" });
	assert_int_equal(total, 5);
	/* The count sees the filters. */
	{
		billing_filter fl = { field(&customers, "created_at"), BILLING_FILTER_GE, NULL, 20,
			NULL };
		q.filters = &fl;
		q.filter_count = 1;
		q.offset = 0;
		tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
		assert_int_equal(total, 4);
		assert_ids(&v, 2, (const char *const[]){ "cus_2", "cus_3" });
	}
}

static void record_list__each_range_and_equality_filter(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	billing_filter fl = { field(&customers, "created_at"), BILLING_FILTER_GE, NULL, 20, NULL };
	seen v;

	five_customers(f);
	q.filters = &fl;
	q.filter_count = 1;
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 4, (const char *const[]){ "cus_2", "cus_3", "cus_4", "cus_5" });
	fl.op = BILLING_FILTER_GT;
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "cus_4", "cus_5" });
	fl.op = BILLING_FILTER_LE;
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 3, (const char *const[]){ "cus_1", "cus_2", "cus_3" });
	fl.op = BILLING_FILTER_LT;
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "cus_1" });
	fl.op = BILLING_FILTER_EQ;
	fl.field = field(&customers, "name");
	fl.text = "Bob";
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "cus_4" });
	/* Equality with no text is "none". */
	{
		billing_customer_record r = customer(A, "cus_7", "Gus", "gus@example.com", 50);
		r.default_payment_method = "pm_1";
		tb_assert_rc(insert(f, &customers, A, &r), BILLING_OK);
	}
	fl.field = field(&customers, "default_payment_method");
	fl.text = NULL;
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_int_equal(v.n, 5);
	fl.text = "pm_1";
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "cus_7" });
}

static void record_list__status_sets_and_integer_filters_never_list_deleted(void **state)
{
	fx *f = *state;
	/* billing_interval: 2 week, 3 month, 4 year */
	static const billing_status_set monthly_or_yearly = { "long", (1u << 3) | (1u << 4) };
	static const billing_status_set none = { "none", 0 };
	billing_list_query q = keyset(10);
	billing_filter fl[2] = {
		{ field(&plans, "billing_interval"), BILLING_FILTER_IN_SET, NULL, 0,
		  &monthly_or_yearly },
		{ field(&plans, "amount"), BILLING_FILTER_LE, NULL, 150, NULL },
	};
	seen v;

	some_plans(f);
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_ids(&v, 3, (const char *const[]){ "plan_1", "plan_2", "plan_4" });
	q.filters = fl;
	q.filter_count = 1;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "plan_1", "plan_2" });
	fl[0].op = BILLING_FILTER_NOT_IN_SET;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "plan_4" });
	fl[0].set = &none;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_int_equal(v.n, 3);
	fl[0].op = BILLING_FILTER_IN_SET;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_int_equal(v.n, 0);
	/* Two filters: both hold. */
	fl[0].set = &monthly_or_yearly;
	q.filter_count = 2;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "plan_1" });
	/* ZERO_NULL: equality with 0 is "none". */
	fl[0].field = field(&plans, "term_count");
	fl[0].op = BILLING_FILTER_EQ;
	fl[0].num = 0;
	q.filter_count = 1;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "plan_1", "plan_4" });
	fl[0].num = 12;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "plan_2" });
	/* An integer sort with keyset. */
	q.filter_count = 0;
	q.sort_field = field(&plans, "amount");
	q.descending = 1;
	q.has_after = 1;
	q.after_int = 400;
	q.after_id = "plan_4";
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_ids(&v, 2, (const char *const[]){ "plan_2", "plan_1" });
}

/* with_deleted: soft-deleted rows are listed and counted too. all_tenants:
 * with no tenant, the rows of every tenant, with filters and keysets as
 * in one tenant. Each is refused where it cannot apply. */
static void record_list__with_deleted_and_all_tenants(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	billing_filter fl = { NULL, BILLING_FILTER_EQ, "bob@b.test", 0, NULL };
	int64_t total = -1;
	seen v;

	some_plans(f);
	q.with_deleted = 1;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_ids(&v, 4, (const char *const[]){ "plan_1", "plan_2", "plan_3", "plan_4" });
	assert_int_equal(v.i3[2], 50);
	q.offset = 0;
	q.total = &total;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_int_equal(total, 4);
	q.with_deleted = 0;
	tb_assert_rc(list_rec(f, &plans, A, &q, on_plan, &v), BILLING_OK);
	assert_int_equal(total, 3);
	assert_ids(&v, 3, (const char *const[]){ "plan_1", "plan_2", "plan_4" });

	/* Every tenant's rows: a platform table (on PostgreSQL a platform
	 * transaction sees no row of a tenant table: row-level security). */
	add_user(f, A, "usr_a1", "ann@a.test", 10);
	add_user(f, B, "usr_b1", "bob@b.test", 11);
	add_user(f, A, "usr_a2", "ada@a.test", 12);
	q = keyset(10);
	q.all_tenants = 1;
	tb_assert_rc(list_rec(f, &billing__res_user, NULL, &q, on_user, &v), BILLING_OK);
	assert_ids(&v, 3, (const char *const[]){ "usr_a1", "usr_b1", "usr_a2" });
	/* A filter and a keyset page across tenants. */
	fl.field = field(&billing__res_user, "email_key");
	q.filters = &fl;
	q.filter_count = 1;
	tb_assert_rc(list_rec(f, &billing__res_user, NULL, &q, on_user, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "usr_b1" });
	q.filter_count = 0;
	q.has_after = 1;
	q.after_int = 11;
	q.after_id = "usr_b1";
	tb_assert_rc(list_rec(f, &billing__res_user, NULL, &q, on_user, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "usr_a2" });
	/* One tenant's list stays one tenant's. */
	q = keyset(10);
	tb_assert_rc(list_rec(f, &billing__res_user, B, &q, on_user, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "usr_b1" });
	/* all_tenants with a tenant, or no tenant without it: refused. */
	q.all_tenants = 1;
	tb_assert_rc(list_rec(f, &billing__res_user, A, &q, on_user, &v), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, NULL, "tenant_id");
	assert_int_equal(v.n, 0);
	q.all_tenants = 0;
	tb_assert_rc(list_rec(f, &billing__res_user, NULL, &q, on_user, &v), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, NULL, "tenant_id");
	assert_int_equal(v.n, 0);
}

static void record_list__search_takes_wildcards_literally_and_folds_case(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	seen v;

	add_customer(f, A, "cus_1", "100% Pure", "pure@example.com", 10);
	add_customer(f, A, "cus_2", "1000 Pure", "thousand@example.com", 11);
	add_customer(f, A, "cus_3", "snake_case", "snake@example.com", 12);
	add_customer(f, A, "cus_4", "snakeXcase", "x@example.com", 13);
	add_customer(f, A, "cus_5", "back\\slash", "bs@example.com", 14);
	add_customer(f, A, "cus_6", "Other", "SNAKE@shout.example", 15);
	q.search = "0%";
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "cus_1" });
	q.search = "e_c";
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "cus_3" });
	q.search = "k\\s";
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 1, (const char *const[]){ "cus_5" });
	/* name or email, any ASCII case */
	q.search = "SnAkE";
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 3, (const char *const[]){ "cus_3", "cus_4", "cus_6" });
	/* with a filter after it */
	{
		billing_filter fl = { field(&customers, "created_at"), BILLING_FILTER_GT, NULL, 12,
			NULL };
		q.filters = &fl;
		q.filter_count = 1;
		tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
		assert_ids(&v, 2, (const char *const[]){ "cus_4", "cus_6" });
	}
}

static void record_list__callback_stops_the_rows(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	billing_txn *tx;
	seen v;

	five_customers(f);
	tx = begin(f, A, BILLING_TXN_READ);
	memset(&v, 0, sizeof(v));
	v.stop = 1;
	tb_assert_rc(f->st->record_list(tx, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_int_equal(v.n, 1);
	memset(&v, 0, sizeof(v));
	v.stop = BILLING_ENOMEM;
	assert_int_equal(f->st->record_list(tx, &customers, A, &q, on_customer, &v),
		BILLING_ENOMEM);
	assert_int_equal(v.n, 1);
	memset(&v, 0, sizeof(v));
	v.stop = BILLING_ECONFLICT;
	assert_int_equal(f->st->record_read(tx, &customers, A, "cus_1", BILLING_LOCK_NONE,
		on_customer, &v), BILLING_ECONFLICT);
	/* The transaction still works. */
	memset(&v, 0, sizeof(v));
	tb_assert_rc(f->st->record_list(tx, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_int_equal(v.n, 5);
	f->st->rollback(tx);
}

static void record_list__bad_filters_and_sorts_are_invalid(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	billing_filter fl = { field(&customers, "email"), BILLING_FILTER_EQ, "a@b", 0, NULL };
	seen v;

	five_customers(f);
	q.filters = &fl;
	q.filter_count = 1;
	/* email is searchable, not filterable */
	assert_int_equal(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, "invalid_filter", "email");
	/* no range on a text field; no range where RANGE is not set */
	fl.field = field(&customers, "name");
	fl.op = BILLING_FILTER_GE;
	assert_int_equal(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_EINVALID);
	fl.field = field(&plans, "amount");
	assert_int_equal(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, "invalid_filter", NULL);
	/* a set filter needs its set */
	fl.field = field(&customers, "created_at");
	fl.op = BILLING_FILTER_IN_SET;
	assert_int_equal(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_EINVALID);
	fl.op = (billing_filter_op)99;
	assert_int_equal(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_EINVALID);
	q.filter_count = 0;
	q.sort_field = field(&customers, "metadata");
	assert_int_equal(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, "invalid_sort", "sort");
	q.sort_field = field(&plans, "code");
	assert_int_equal(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_EINVALID);
	q.sort_field = NULL;
	q.has_after = 1;
	assert_int_equal(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, "invalid_cursor", NULL);
	/* no SEARCH field: a search is refused, not ignored */
	q.has_after = 0;
	q.search = "x";
	assert_int_equal(list_rec(f, &products, A, &q, on_customer, &v), BILLING_EINVALID);
	assert_error(BILLING_EINVALID, "invalid_filter", "search");
}

static void record_list__many_filters_bind_every_value(void **state)
{
	fx *f = *state;
	billing_list_query q = keyset(10);
	billing_filter fl[20];
	size_t i;
	seen v;

	five_customers(f);
	for (i = 0; i < 20; i++) {
		fl[i].field = field(&customers, "created_at");
		fl[i].op = i % 2 ? BILLING_FILTER_GE : BILLING_FILTER_LE;
		fl[i].text = NULL;
		fl[i].num = i % 2 ? 20 : 30;
		fl[i].set = NULL;
	}
	q.filters = fl;
	q.filter_count = 20;
	q.search = "e";
	tb_assert_rc(list_rec(f, &customers, A, &q, on_customer, &v), BILLING_OK);
	assert_ids(&v, 3, (const char *const[]){ "cus_2", "cus_3", "cus_4" });
}

static void record_methods__bad_descriptors_and_arguments_fail_cleanly(void **state)
{
	fx *f = *state;
	static const billing_field evil[] = {
		{ "tenant_id", BILLING_FIELD_TEXT, 0, BILLING_FIELD_TENANT, NULL,
		  BILLING_JSON_NONE, 0, NULL, 0, NULL },
		{ "id; DROP TABLE customers", BILLING_FIELD_TEXT, sizeof(char *), BILLING_FIELD_ID,
		  NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	};
	static const billing_field outside[] = {
		{ "id", BILLING_FIELD_TEXT, 0, BILLING_FIELD_ID, NULL, BILLING_JSON_NONE, 0, NULL,
		  0, NULL },
		{ "version", BILLING_FIELD_INT64, 64, BILLING_FIELD_VERSION, NULL,
		  BILLING_JSON_NONE, 0, NULL, 0, NULL },
	};
	static const billing_field keyless[] = {
		{ "name", BILLING_FIELD_TEXT, 0, 0, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	};
	static const billing_resource bad[] = {
		{ .name = "evil", .table = "customers", .record_size = 2 * sizeof(char *),
		  .fields = evil, .field_count = 2 },
		{ .name = "outside", .table = "customers", .record_size = 16,
		  .fields = outside, .field_count = 2 },
		{ .name = "keyless", .table = "customers", .record_size = sizeof(char *),
		  .fields = keyless, .field_count = 1 },
		{ .name = "table", .table = "customers c", .record_size = sizeof(char *),
		  .fields = keyless, .field_count = 1 },
	};
	billing_customer_record r = customer(A, "cus_1", "Ada", "ada@example.com", 10);
	billing_txn *tx;
	seen v;
	size_t i;

	tx = begin(f, A, BILLING_TXN_WRITE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(f->st->record_insert(tx, &bad[i], &r), BILLING_ERROR);
		assert_error(BILLING_ERROR, "invalid_resource", NULL);
		assert_int_equal(f->st->record_read(tx, &bad[i], A, "x", BILLING_LOCK_NONE,
			on_customer, &v), BILLING_ERROR);
	}
	assert_int_equal(f->st->record_insert(tx, NULL, &r), BILLING_EINVALID);
	assert_int_equal(f->st->record_insert(tx, &customers, NULL), BILLING_EINVALID);
	assert_int_equal(f->st->record_update(tx, &customers, NULL, 1), BILLING_EINVALID);
	assert_int_equal(f->st->record_read(tx, &customers, A, NULL, BILLING_LOCK_NONE,
		on_customer, &v), BILLING_EINVALID);
	assert_int_equal(f->st->record_read(tx, &customers, NULL, "cus_1", BILLING_LOCK_NONE,
		on_customer, &v), BILLING_EINVALID);
	assert_int_equal(f->st->record_read(tx, &customers, A, "cus_1", 7, on_customer, &v),
		BILLING_EINVALID);
	assert_int_equal(f->st->record_delete(tx, &customers, A, NULL), BILLING_EINVALID);
	assert_int_equal(f->st->record_list(tx, &customers, A, NULL, on_customer, &v),
		BILLING_EINVALID);
	assert_int_equal(f->st->record_list(tx, &customers, NULL, &(billing_list_query){
		.limit = 1, .offset = -1 }, on_customer, &v), BILLING_EINVALID);
	/* Nothing was written, and the transaction still works. */
	tb_assert_rc(f->st->record_insert(tx, &customers, &r), BILLING_OK);
	commit(f, tx);
	assert_int_equal(tb_raw_count(f->url, "SELECT count(*) FROM customers"), 1);
}

static void record_read__returns_the_row_under_every_lock(void **state)
{
	static const unsigned int locks[] = { BILLING_LOCK_NONE, BILLING_LOCK_SHARE,
		BILLING_LOCK_UPDATE };
	fx *f = *state;
	unsigned int kind;
	size_t i;

	add_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	for (kind = BILLING_TXN_READ; kind <= BILLING_TXN_SNAPSHOT; kind++) {
		for (i = 0; i < sizeof(locks) / sizeof(locks[0]); i++) {
			billing_txn *tx = begin(f, A, kind);
			seen v;
			memset(&v, 0, sizeof(v));
			tb_assert_rc(f->st->record_read(tx, &customers, A, "cus_1", locks[i],
				on_customer, &v), BILLING_OK);
			assert_int_equal(v.n, 1);
			assert_int_equal(f->st->record_read(tx, &customers, B, "cus_1", locks[i],
				on_customer, &v), BILLING_ENOTFOUND);
			f->st->rollback(tx);
		}
	}
}

/* PostgreSQL: a share lock lets another share it and keeps an update
 * lock waiting; an update lock keeps both waiting (300 ms, then busy). */
static void record_read__share_and_update_locks_hold_as_they_say(void **state)
{
	fx *f = *state;
	billing_txn *tx, *other;
	seen v;

	/* on_customer counts rows into v: it starts empty (uninitialized, its
	 * count failed on_customer's bound inside the read under clang, and the
	 * jump out of the callback left both transactions open). */
	memset(&v, 0, sizeof(v));
	if (strcmp(tb_backend(), "postgres") != 0) {
		/* SQLite: one writer holds the database; nothing row-level to see. */
		assert_false(strcmp(tb_backend(), "sqlite") != 0);
		return;
	}
	add_customer(f, A, "cus_1", "Ada", "ada@example.com", 10);
	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_read(tx, &customers, A, "cus_1", BILLING_LOCK_SHARE,
		on_customer, &v), BILLING_OK);
	other = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_read(other, &customers, A, "cus_1", BILLING_LOCK_SHARE,
		on_customer, &v), BILLING_OK);
	f->st->rollback(other);
	other = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_read(other, &customers, A, "cus_1", BILLING_LOCK_UPDATE,
		on_customer, &v), BILLING_EBUSY);
	f->st->rollback(other);
	/* A plain read never waits. */
	other = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_read(other, &customers, A, "cus_1", BILLING_LOCK_NONE,
		on_customer, &v), BILLING_OK);
	f->st->rollback(other);
	f->st->rollback(tx);

	tx = begin(f, A, BILLING_TXN_WRITE);
	tb_assert_rc(f->st->record_read(tx, &customers, A, "cus_1", BILLING_LOCK_UPDATE,
		on_customer, &v), BILLING_OK);
	other = begin(f, A, BILLING_TXN_WRITE);
	assert_int_equal(f->st->record_read(other, &customers, A, "cus_1", BILLING_LOCK_SHARE,
		on_customer, &v), BILLING_EBUSY);
	f->st->rollback(other);
	f->st->rollback(tx);
}

/*
 * A row callback that runs other statements (the webhook fan-out inserts a
 * delivery for each endpoint it reads) must not take the statement cache
 * slot of the statement whose rows it is in: the outer statement was then
 * evicted, and its next step ran the inner statement again, unbound (on
 * PostgreSQL: "new row violates row-level security policy for table
 * webhook_deliveries", the crash suite's intermittent failure). A thousand
 * distinct inner statements cover every slot of the cache.
 */
static void statement_cache__a_statement_being_read_is_never_evicted(void **state)
{
	fx *f = *state;
	billing_txn *tx = begin(f, A, BILLING_TXN_READ);
	sql_stmt *outer, *inner;
	char sql[64];
	int k, rows = 0;

	tb_assert_rc(tx->drv->prepare(tx, "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3", true,
		&outer), BILLING_OK);
	while (tx->drv->step(outer, 0) == 1) {
		assert_int_equal(tx->drv->col_int(outer, 0), ++rows);
		for (k = 0; k < 1000; k++) {
			snprintf(sql, sizeof(sql), "SELECT %d AS inner_value", rows * 1000 + k);
			tb_assert_rc(tx->drv->prepare(tx, sql, true, &inner), BILLING_OK);
			assert_ptr_not_equal(inner, outer);
			assert_int_equal(tx->drv->step(inner, 0), 1);
			assert_int_equal(tx->drv->col_int(inner, 0), rows * 1000 + k);
			tx->drv->reset(inner);
		}
	}
	tx->drv->reset(outer);
	assert_int_equal(rows, 3);
	f->st->rollback(tx);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(storage__is_the_current_version_with_the_record_methods),
		T(statement_cache__a_statement_being_read_is_never_evicted),
		T(resource_field__finds_by_column_and_null_otherwise),
		T(record_read__returns_every_field_inserted),
		T(record_read__unknown_is_not_found),
		T(record_insert__zero_null_fields_store_null_and_read_back_zero),
		T(record_update__at_old_version_replaces_the_row),
		T(record_update__stale_version_or_changed_fixed_field_is_stale),
		T(record_update__matches_a_null_fixed_field),
		T(record_insert__taken_unique_field_is_exists_naming_it),
		T(record_insert__unique_constraint_no_backend_knows_names_the_field),
		T(record_insert__unknown_tenant_or_owner_is_resource_missing),
		T(record_delete__removes_the_row_and_unknown_is_not_found),
		T(record_delete__referenced_row_is_conflict),
		T(tenant_isolation__another_tenants_row_is_never_touched),
		T(record_list__orders_by_created_then_id_and_pages_by_keyset),
		T(record_list__sorts_by_a_text_field_with_keyset),
		T(record_list__page_mode_counts_every_match),
		T(record_list__each_range_and_equality_filter),
		T(record_list__status_sets_and_integer_filters_never_list_deleted),
		T(record_list__with_deleted_and_all_tenants),
		T(record_list__search_takes_wildcards_literally_and_folds_case),
		T(record_list__callback_stops_the_rows),
		T(record_list__bad_filters_and_sorts_are_invalid),
		T(record_list__many_filters_bind_every_value),
		T(record_methods__bad_descriptors_and_arguments_fail_cleanly),
		T(record_read__returns_the_row_under_every_lock),
		T(record_read__share_and_update_locks_hold_as_they_say),
	};
	return cmocka_run_group_tests_name(tb_backend(), tests, NULL, NULL);
}
