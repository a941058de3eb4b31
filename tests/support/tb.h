/*
 * Test builders. A world is a context on a fresh database of the backend
 * under test, with a clock the test moves. Builders give every field a
 * sensible, unique default, so a test names only what it is about:
 *
 *	tb_world *w = tb_world_new();
 *	const char *acme = tb_tenant(w, "Acme");
 *	billing_customer *ada = tb_customer(w, acme, &(tb_customer_spec){ .name = "Ada" });
 *
 * Builders assert success (cmocka), so a broken builder fails the test
 * that used it, with the library's message.
 */
#ifndef BILLING_TESTS_TB_H
#define BILLING_TESTS_TB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "billing/billing.h"
#include "billing/sys/storage.h"

typedef struct {
	billing_ctx *ctx;
	int64_t now;          /* the context's clock: UTC seconds */
	char dir[256];        /* scratch directory, removed by tb_world_free */
	char url[512];        /* the URL the world runs on (runtime role) */
	char owner_url[512];  /* the URL of the database's owner */
	char *strings[4096];  /* ids handed out by tb_tenant, freed with the world */
	size_t nstrings;
	unsigned int seq;     /* makes default names and e-mails unique */
	billing_provider *provider; /* the context's, or NULL */
	unsigned int batch_fallbacks; /* the billing run's batches that failed and were
	                                 done one renewal at a time (its log says so) */
	unsigned int rolled_back;     /* transactions PostgreSQL rolled back for a deadlock
	                                 or a serialization failure (logged, then retried) */
} tb_world;

/* The backend under test: $BILLING_TEST_BACKEND ("sqlite" by default). */
const char *tb_backend(void);

/* A migrated context on a new, empty database of tb_backend(), clock at
 * 2026-01-01T00:00:00Z. */
tb_world *tb_world_new(void);

/* As tb_world_new, with a payment provider the world's context owns
 * (w->provider borrows it). */
tb_world *tb_world_new_with_provider(billing_provider *provider);

/* As tb_world_new, with these options for the world's context (its clock
 * and logger are the world's; opts->provider, if any, is owned by it). */
tb_world *tb_world_new_with(const billing_ctx_options *opts);

/* Opens another context on the same database (another "process"). */
billing_ctx *tb_world_open_again(tb_world *w);

void tb_world_free(tb_world *w);

/* Creates an empty database for tb_backend() and writes the URL of its
 * owner (who may migrate it). dir receives a scratch directory, if any. */
void tb_database_new(char *url, size_t size, char *dir, size_t dirsize);

/* As tb_database_new, but the database is already migrated to the
 * library's schema: a copy of a template migrated once (SQLite: once per
 * test process; PostgreSQL: once per server and schema version, and the
 * copy is a database of its own rather than a schema). Migrations
 * recorded at 2026-01-01T00:00:00Z; no cursor key yet. Tests of migrations
 * themselves use tb_database_new(). BILLING_TEST_TEMPLATE=0: migrates this
 * database for real instead. */
void tb_database_new_migrated(char *url, size_t size, char *dir, size_t dirsize);

/* Removes a scratch directory made by tb_database_new* and the files in it
 * (it has no subdirectories), without a shell: a world is made and freed
 * hundreds of times per suite. */
void tb_remove_dir(const char *dir);

/* PostgreSQL: the libpq conninfo of user on the database (and schema) of
 * a URL made by tb_database_new*(); the database "billing" if url is NULL. */
void tb_pg_conninfo(char *out, size_t size, const char *url, const char *user);

/* The URL a host runs with after migrating: on PostgreSQL the runtime role
 * (not the owner); on SQLite the same URL. */
void tb_runtime_url(char *out, size_t size, const char *owner_url);

/* Drops a database made by tb_database_new* (PostgreSQL: its schema or
 * its database). */
void tb_database_drop(const char *url);

/* A storage on url for the backend under test. busy_ms 0: its default. */
billing_storage *tb_storage_open(const char *url, unsigned int busy_ms);

/* SQL run behind the library's back (PostgreSQL: as the superuser, which
 * row-level security does not bind). */
void tb_raw_exec(const char *url, const char *sql);
int64_t tb_raw_count(const char *url, const char *sql);

/* Copies, behind the library's back, every row of every table the database
 * behind dst_url has from the one behind src_url (made by tb_database_new()
 * for the same backend), the columns both have; not the migration ledger
 * nor billing_meta (the cursor key is the database's own). So a test of a
 * schema step makes its data with the current library on a fully migrated
 * database and copies it into one stopped before the step, and stays true
 * when later steps add columns the library reads. */
void tb_raw_copy_rows(const char *dst_url, const char *src_url);

/* Principals (strings borrowed from the caller). */
billing_principal tb_admin(const char *tenant_id);
billing_principal tb_user(const char *tenant_id);
billing_principal tb_platform(void);

/* A new tenant; the id lives as long as the world. */
const char *tb_tenant(tb_world *w, const char *name);

/* The one-tenant fixture many suites share: a world, tenant "Acme" and its
 * ADMIN. cmocka setup and teardown: *state is the tb_fx. */
typedef struct {
	tb_world *w;
	const char *tenant;
	billing_principal admin;
} tb_fx;

int tb_fx_setup(void **state);
int tb_fx_teardown(void **state);

typedef struct {
	const char *name;               /* default "Customer N" */
	const char *email;              /* default "customerN@example.com" */
	const char *default_payment_method;
} tb_customer_spec;

billing_customer *tb_customer(tb_world *w, const char *tenant, const tb_customer_spec *spec);

typedef struct {
	const char *name;               /* default "Product N" */
	const char *sku;                /* default "SKU-N" */
	int64_t price_cents;            /* default 1000 */
	const char *currency;           /* default EUR */
	int32_t tax_rate_bp;
	billing_tristate is_active;
} tb_product_spec;

billing_product *tb_product(tb_world *w, const char *tenant, const tb_product_spec *spec);

typedef struct {
	const char *product_id;         /* default: a new product */
	const char *code;               /* default "PLAN-N" */
	const char *name;               /* default "Plan N" */
	int64_t amount;                 /* default 2900 */
	const char *currency;           /* default: the product's */
	billing_interval interval;      /* default MONTH */
	int32_t interval_count;
	int32_t trial_days;
	int32_t term_count;
	billing_tristate active;
	/* The price model (core/price.h) as JSON members, made through
	 * plans.create: "\"billingScheme\":\"tiered\",..." (amount then not
	 * given unless it is set); NULL: a perUnit plan of amount. */
	const char *price_json;
} tb_plan_spec;

billing_plan *tb_plan(tb_world *w, const char *tenant, const tb_plan_spec *spec);

/* Asserts rc == want, printing the library's last error otherwise. */
#define tb_assert_rc(rc, want) tb__assert_rc((rc), (want), __FILE__, __LINE__)
void tb__assert_rc(int rc, int want, const char *file, int line);

/* Asserts the last error names field. */
void tb_assert_field(const char *field);

#endif
