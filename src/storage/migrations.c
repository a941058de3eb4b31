/*
 * Schema steps. Rules every step follows:
 * - every primary key starts with tenant_id, every foreign key is composite
 *   (tenant_id, ...), every unique constraint is per tenant, so a row can
 *   never point into another tenant and the schema can be distributed by
 *   tenant without change;
 * - only types and syntax that SQLite and PostgreSQL read alike (TEXT,
 *   INTEGER, BIGINT, CHECK, named constraints); text columns carry the
 *   comment COLLATE_C, which the PostgreSQL driver turns into COLLATE "C"
 *   so both backends sort text by bytes;
 * - a shipped step is never edited: add a new one.
 *
 * Why one file of over 800 lines: it is the schema's history, step after
 * step, nearly all SQL text; the order of the steps is the file's order,
 * and a step read beside the ones before it is what a reviewer needs.
 */
#include "core/encode.h"
#include "storage/migrations.h"

#include <stdlib.h>
#include <string.h>

static const char step1_catalog[] =
	"CREATE TABLE billing_meta (\n"
	"  meta_key TEXT /*COLLATE_C*/ PRIMARY KEY,\n"
	"  meta_value TEXT /*COLLATE_C*/ NOT NULL\n"
	");\n"
	"CREATE TABLE tenants (\n"
	"  tenant_id TEXT /*COLLATE_C*/ PRIMARY KEY,\n"
	"  name TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  invoice_prefix TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL\n"
	");\n"
	"CREATE INDEX tenants_created ON tenants (created_at, tenant_id);\n"
	"CREATE INDEX tenants_name ON tenants (name, tenant_id);\n"
	"CREATE TABLE customers (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  name TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  email TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  email_key TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  default_payment_method TEXT /*COLLATE_C*/,\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT customers_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT customers_email_key UNIQUE (tenant_id, email_key)\n"
	");\n"
	"CREATE INDEX customers_created ON customers (tenant_id, created_at, id);\n"
	"CREATE INDEX customers_name ON customers (tenant_id, name, id);\n"
	"CREATE TABLE products (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  name TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  sku TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  description TEXT /*COLLATE_C*/,\n"
	"  price_cents BIGINT NOT NULL CHECK (price_cents >= 0),\n"
	"  currency TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  tax_rate_bp INTEGER NOT NULL CHECK (tax_rate_bp >= 0 AND tax_rate_bp < 10000),\n"
	"  is_active INTEGER NOT NULL CHECK (is_active IN (0, 1)),\n"
	"  stock BIGINT NOT NULL CHECK (stock >= 0),\n"
	"  low_stock_threshold BIGINT NOT NULL CHECK (low_stock_threshold >= 0),\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT products_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT products_sku_key UNIQUE (tenant_id, sku)\n"
	");\n"
	"CREATE INDEX products_created ON products (tenant_id, created_at, id);\n"
	"CREATE INDEX products_name ON products (tenant_id, name, id);\n"
	"CREATE INDEX products_price ON products (tenant_id, price_cents, id);\n"
	"CREATE TABLE plans (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  product_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  code TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  name TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  description TEXT /*COLLATE_C*/,\n"
	"  amount BIGINT NOT NULL CHECK (amount > 0),\n"
	"  currency TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  billing_interval INTEGER NOT NULL CHECK (billing_interval BETWEEN 1 AND 4),\n"
	"  interval_count INTEGER NOT NULL CHECK (interval_count >= 1),\n"
	"  trial_days INTEGER NOT NULL CHECK (trial_days >= 0),\n"
	"  term_count INTEGER CHECK (term_count IS NULL OR term_count >= 1),\n"
	"  active INTEGER NOT NULL CHECK (active IN (0, 1)),\n"
	"  deleted_at BIGINT,\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT plans_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT plans_code_key UNIQUE (tenant_id, code),\n"
	"  CONSTRAINT plans_product_fkey FOREIGN KEY (tenant_id, product_id)\n"
	"    REFERENCES products (tenant_id, id)\n"
	");\n"
	"CREATE INDEX plans_product ON plans (tenant_id, product_id);\n"
	"CREATE INDEX plans_created ON plans (tenant_id, created_at, id);\n"
	"CREATE INDEX plans_name ON plans (tenant_id, name, id);\n"
	"CREATE INDEX plans_amount ON plans (tenant_id, amount, id);\n"
	"CREATE TABLE idempotency_keys (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  idem_key TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  operation TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  request_hash TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  resource_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, idem_key)\n"
	");\n";

/* Users log in with an e-mail and no tenant, so the address identifies a
 * login across the platform: the one unique constraint that is not per
 * tenant. */
static const char step2_users[] =
	"CREATE TABLE users (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  email TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  email_key TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  role INTEGER NOT NULL CHECK (role IN (1, 2)),\n"
	"  password_hash TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT users_email_key UNIQUE (email_key)\n"
	");\n";

/*
 * PostgreSQL only: row-level security as a second wall behind the tenant in
 * every key. The library sets billing.tenant_id (or billing.platform for
 * platform work) per transaction with set_config(..., true); a query that
 * forgot its tenant filter still sees only the current tenant's rows.
 * FORCE makes the policies bind the tables' owner too. Privileges go to the
 * group role billing_runtime when it exists (the two-role setup in
 * docs/postgres.md); without it the owner runs the library alone.
 */
#define TENANT_POLICY(t) \
	"ALTER TABLE " t " ENABLE ROW LEVEL SECURITY;\n" \
	"ALTER TABLE " t " FORCE ROW LEVEL SECURITY;\n" \
	"CREATE POLICY " t "_tenant ON " t "\n" \
	"  USING (tenant_id = current_setting('billing.tenant_id', true))\n" \
	"  WITH CHECK (tenant_id = current_setting('billing.tenant_id', true));\n"

#define PLATFORM_POLICY(t) \
	"ALTER TABLE " t " ENABLE ROW LEVEL SECURITY;\n" \
	"ALTER TABLE " t " FORCE ROW LEVEL SECURITY;\n" \
	"CREATE POLICY " t "_access ON " t "\n" \
	"  USING (current_setting('billing.platform', true) = 'on'\n" \
	"         OR tenant_id = current_setting('billing.tenant_id', true))\n" \
	"  WITH CHECK (current_setting('billing.platform', true) = 'on');\n"

#define GRANT_RUNTIME(what) \
	"DO $grant$ BEGIN\n" \
	"  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billing_runtime') THEN\n" \
	"    EXECUTE format('GRANT USAGE ON SCHEMA %I TO billing_runtime', current_schema());\n" \
	"    " what "\n" \
	"  END IF;\n" \
	"END $grant$;\n"

static const char step1_postgres[] =
	TENANT_POLICY("customers")
	TENANT_POLICY("products")
	TENANT_POLICY("plans")
	TENANT_POLICY("idempotency_keys")
	PLATFORM_POLICY("tenants")
	GRANT_RUNTIME(
		"GRANT SELECT ON billing_migrations, billing_meta TO billing_runtime;\n"
		"    GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, customers, products, plans,"
		" idempotency_keys TO billing_runtime;");

static const char step2_postgres[] =
	PLATFORM_POLICY("users")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE, DELETE ON users TO billing_runtime;");


/* Subscriptions, their invoices (numbered per tenant without gaps), the
 * lines waiting for a subscription's next invoice (prorations), the queue
 * of time-driven work, and the domain events written with every change.
 * Invoice sums are checked by the schema too. */
static const char step3_billing[] =
	"CREATE TABLE subscriptions (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  plan_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 7),\n"
	"  quantity INTEGER NOT NULL CHECK (quantity >= 1),\n"
	"  currency TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  anchor BIGINT NOT NULL,\n"
	"  period_index BIGINT NOT NULL,\n"
	"  current_period_start BIGINT NOT NULL,\n"
	"  current_period_end BIGINT NOT NULL CHECK (current_period_end > current_period_start),\n"
	"  trial_end BIGINT,\n"
	"  cancel_at_period_end INTEGER NOT NULL CHECK (cancel_at_period_end IN (0, 1)),\n"
	"  canceled_at BIGINT,\n"
	"  ended_at BIGINT,\n"
	"  latest_invoice_id TEXT /*COLLATE_C*/,\n"
	"  pending_plan_id TEXT /*COLLATE_C*/,\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT subscriptions_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT subscriptions_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id),\n"
	"  CONSTRAINT subscriptions_plan_fkey FOREIGN KEY (tenant_id, plan_id)\n"
	"    REFERENCES plans (tenant_id, id),\n"
	"  CONSTRAINT subscriptions_pending_plan_fkey FOREIGN KEY (tenant_id, pending_plan_id)\n"
	"    REFERENCES plans (tenant_id, id)\n"
	");\n"
	"CREATE INDEX subscriptions_created ON subscriptions (tenant_id, created_at, id);\n"
	"CREATE INDEX subscriptions_period_end ON subscriptions (tenant_id, current_period_end, id);\n"
	"CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id);\n"
	"CREATE INDEX subscriptions_plan ON subscriptions (tenant_id, plan_id, status);\n"
	"CREATE TABLE invoice_numbers (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  last_number BIGINT NOT NULL CHECK (last_number >= 1),\n"
	"  CONSTRAINT invoice_numbers_pkey PRIMARY KEY (tenant_id)\n"
	");\n"
	"CREATE TABLE invoices (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subscription_id TEXT /*COLLATE_C*/,\n"
	"  number TEXT /*COLLATE_C*/,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),\n"
	"  currency TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subtotal BIGINT NOT NULL,\n"
	"  tax BIGINT NOT NULL,\n"
	"  total BIGINT NOT NULL,\n"
	"  amount_paid BIGINT NOT NULL,\n"
	"  amount_due BIGINT NOT NULL,\n"
	"  period_start BIGINT NOT NULL,\n"
	"  period_end BIGINT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  finalized_at BIGINT,\n"
	"  paid_at BIGINT,\n"
	"  voided_at BIGINT,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT invoices_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT invoices_number_key UNIQUE (tenant_id, number),\n"
	"  CONSTRAINT invoices_sums CHECK (total = subtotal + tax AND amount_due = total - amount_paid),\n"
	"  CONSTRAINT invoices_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id),\n"
	"  CONSTRAINT invoices_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id)\n"
	");\n"
	"CREATE INDEX invoices_created ON invoices (tenant_id, created_at, id);\n"
	"CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id);\n"
	"CREATE INDEX invoices_subscription ON invoices (tenant_id, subscription_id);\n"
	"CREATE TABLE invoice_lines (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  invoice_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  line_no INTEGER NOT NULL,\n"
	"  description TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  plan_id TEXT /*COLLATE_C*/,\n"
	"  period_start BIGINT NOT NULL,\n"
	"  period_end BIGINT NOT NULL,\n"
	"  quantity INTEGER NOT NULL,\n"
	"  unit_amount BIGINT NOT NULL,\n"
	"  amount BIGINT NOT NULL,\n"
	"  tax_rate_bp INTEGER NOT NULL CHECK (tax_rate_bp >= 0 AND tax_rate_bp < 10000),\n"
	"  tax_amount BIGINT NOT NULL,\n"
	"  proration INTEGER NOT NULL CHECK (proration IN (0, 1)),\n"
	"  CONSTRAINT invoice_lines_pkey PRIMARY KEY (tenant_id, invoice_id, line_no),\n"
	"  CONSTRAINT invoice_lines_invoice_fkey FOREIGN KEY (tenant_id, invoice_id)\n"
	"    REFERENCES invoices (tenant_id, id)\n"
	");\n"
	"CREATE TABLE pending_lines (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subscription_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  line_no INTEGER NOT NULL,\n"
	"  description TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  plan_id TEXT /*COLLATE_C*/,\n"
	"  period_start BIGINT NOT NULL,\n"
	"  period_end BIGINT NOT NULL,\n"
	"  quantity INTEGER NOT NULL,\n"
	"  unit_amount BIGINT NOT NULL,\n"
	"  amount BIGINT NOT NULL,\n"
	"  tax_rate_bp INTEGER NOT NULL,\n"
	"  proration INTEGER NOT NULL,\n"
	"  CONSTRAINT pending_lines_pkey PRIMARY KEY (tenant_id, subscription_id, line_no),\n"
	"  CONSTRAINT pending_lines_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id)\n"
	");\n"
	"CREATE TABLE due_work (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  kind TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  resource_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  due_at BIGINT NOT NULL,\n"
	"  CONSTRAINT due_work_pkey PRIMARY KEY (tenant_id, kind, resource_id)\n"
	");\n"
	"CREATE INDEX due_work_due ON due_work (due_at, tenant_id, kind, resource_id);\n"
	"CREATE TABLE events (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  type TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  resource_type TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  resource_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  data TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  CONSTRAINT events_pkey PRIMARY KEY (tenant_id, id)\n"
	");\n"
	"CREATE INDEX events_created ON events (tenant_id, created_at, id);\n";

/* The billing run claims due work across tenants in platform mode, then
 * switches the transaction to the item's tenant for everything else. */
static const char step3_postgres[] =
	TENANT_POLICY("subscriptions")
	TENANT_POLICY("invoice_numbers")
	TENANT_POLICY("invoices")
	TENANT_POLICY("invoice_lines")
	TENANT_POLICY("pending_lines")
	TENANT_POLICY("events")
	"ALTER TABLE due_work ENABLE ROW LEVEL SECURITY;\n"
	"ALTER TABLE due_work FORCE ROW LEVEL SECURITY;\n"
	"CREATE POLICY due_work_access ON due_work\n"
	"  USING (current_setting('billing.platform', true) = 'on'\n"
	"         OR tenant_id = current_setting('billing.tenant_id', true))\n"
	"  WITH CHECK (current_setting('billing.platform', true) = 'on'\n"
	"         OR tenant_id = current_setting('billing.tenant_id', true));\n"
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE, DELETE ON subscriptions, invoice_numbers,"
		" invoices, invoice_lines, pending_lines, due_work, events TO billing_runtime;\n"
		"    GRANT INSERT, UPDATE ON billing_meta TO billing_runtime;");


/* Payments: one row per attempt; at most one attempt in flight (pending,
 * requires_action, unknown: statuses 1, 2, 7) per invoice, by a partial
 * unique index; refunds never exceed what was captured, by checks. */
static const char step4_payments[] =
	"ALTER TABLE invoices ADD COLUMN attempt_count INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE invoices ADD COLUMN next_attempt_at BIGINT;\n"
	"CREATE TABLE payments (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  invoice_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 7),\n"
	"  amount BIGINT NOT NULL CHECK (amount > 0),\n"
	"  currency TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  amount_refunded BIGINT NOT NULL CHECK (amount_refunded >= 0),\n"
	"  amount_refunding BIGINT NOT NULL CHECK (amount_refunding >= 0),\n"
	"  provider TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  provider_ref TEXT /*COLLATE_C*/,\n"
	"  payment_method TEXT /*COLLATE_C*/,\n"
	"  off_session INTEGER NOT NULL CHECK (off_session IN (0, 1)),\n"
	"  failure_code TEXT /*COLLATE_C*/,\n"
	"  failure_message TEXT /*COLLATE_C*/,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT payments_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT payments_refunds CHECK (amount_refunded + amount_refunding <= amount),\n"
	"  CONSTRAINT payments_invoice_fkey FOREIGN KEY (tenant_id, invoice_id)\n"
	"    REFERENCES invoices (tenant_id, id),\n"
	"  CONSTRAINT payments_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id)\n"
	");\n"
	"CREATE INDEX payments_created ON payments (tenant_id, created_at, id);\n"
	"CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id);\n"
	"CREATE INDEX payments_ref ON payments (tenant_id, provider, provider_ref);\n"
	/* (1, 2, 7) is the payments' "in flight" set, billing__payment_in_flight_set
	 * in core/resources.c. This script is checksummed history: its text
	 * never changes; a new constraint is generated from the set. */
	"CREATE UNIQUE INDEX payments_in_flight ON payments (tenant_id, invoice_id)\n"
	"  WHERE status IN (1, 2, 7);\n"
	"CREATE TABLE refunds (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  payment_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  amount BIGINT NOT NULL CHECK (amount > 0),\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 7),\n"
	"  provider_ref TEXT /*COLLATE_C*/,\n"
	"  failure_code TEXT /*COLLATE_C*/,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT refunds_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT refunds_payment_fkey FOREIGN KEY (tenant_id, payment_id)\n"
	"    REFERENCES payments (tenant_id, id)\n"
	");\n"
	"CREATE INDEX refunds_payment ON refunds (tenant_id, payment_id);\n"
	"CREATE TABLE provider_events (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  provider TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  event_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  type TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  received_at BIGINT NOT NULL,\n"
	"  CONSTRAINT provider_events_pkey PRIMARY KEY (tenant_id, provider, event_id)\n"
	");\n"
	"CREATE TABLE dunning_policies (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  retry_days TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  final_action INTEGER NOT NULL CHECK (final_action IN (1, 2, 3)),\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  CONSTRAINT dunning_policies_pkey PRIMARY KEY (tenant_id)\n"
	");\n";

static const char step4_postgres[] =
	TENANT_POLICY("payments")
	TENANT_POLICY("refunds")
	TENANT_POLICY("provider_events")
	TENANT_POLICY("dunning_policies")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE, DELETE ON payments, refunds, provider_events,"
		" dunning_policies TO billing_runtime;");

/* Subscriptions gain the status unpaid (8): the CHECK of step 3 widens.
 * PostgreSQL changes the constraint in place; SQLite cannot, so the table
 * is rebuilt as SQLite's documented procedure says (foreign keys off for
 * the migration's transaction, checked before it commits). */
static const char step5_postgres[] =
	"ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_check;\n"
	"ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check\n"
	"  CHECK (status BETWEEN 1 AND 8);\n";

#define SUBSCRIPTION_COLUMNS "tenant_id, id, customer_id, plan_id, status, quantity, " \
	"currency, anchor, period_index, current_period_start, current_period_end, trial_end, " \
	"cancel_at_period_end, canceled_at, ended_at, latest_invoice_id, pending_plan_id, " \
	"metadata, created_at, updated_at, version"

/* SQLite's rebuild of subscriptions with status values 1..max (steps 5
 * and 16): a new table, the rows copied, the old one dropped, the new one
 * renamed, its indexes again (foreign keys off for the migration). */
#define SUBSCRIPTIONS_SQLITE_REBUILD(v, max) \
	"CREATE TABLE subscriptions_" v " (\n" \
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n" \
	"  id TEXT NOT NULL,\n" \
	"  customer_id TEXT NOT NULL,\n" \
	"  plan_id TEXT NOT NULL,\n" \
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND " max "),\n" \
	"  quantity INTEGER NOT NULL CHECK (quantity >= 1),\n" \
	"  currency TEXT NOT NULL,\n" \
	"  anchor BIGINT NOT NULL,\n" \
	"  period_index BIGINT NOT NULL,\n" \
	"  current_period_start BIGINT NOT NULL,\n" \
	"  current_period_end BIGINT NOT NULL CHECK (current_period_end > current_period_start),\n" \
	"  trial_end BIGINT,\n" \
	"  cancel_at_period_end INTEGER NOT NULL CHECK (cancel_at_period_end IN (0, 1)),\n" \
	"  canceled_at BIGINT,\n" \
	"  ended_at BIGINT,\n" \
	"  latest_invoice_id TEXT,\n" \
	"  pending_plan_id TEXT,\n" \
	"  metadata TEXT NOT NULL,\n" \
	"  created_at BIGINT NOT NULL,\n" \
	"  updated_at BIGINT NOT NULL,\n" \
	"  version BIGINT NOT NULL,\n" \
	"  CONSTRAINT subscriptions_pkey PRIMARY KEY (tenant_id, id),\n" \
	"  CONSTRAINT subscriptions_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n" \
	"    REFERENCES customers (tenant_id, id),\n" \
	"  CONSTRAINT subscriptions_plan_fkey FOREIGN KEY (tenant_id, plan_id)\n" \
	"    REFERENCES plans (tenant_id, id),\n" \
	"  CONSTRAINT subscriptions_pending_plan_fkey FOREIGN KEY (tenant_id, pending_plan_id)\n" \
	"    REFERENCES plans (tenant_id, id)\n" \
	");\n" \
	"INSERT INTO subscriptions_" v " (" SUBSCRIPTION_COLUMNS ")\n" \
	"  SELECT " SUBSCRIPTION_COLUMNS " FROM subscriptions;\n" \
	"DROP TABLE subscriptions;\n" \
	"ALTER TABLE subscriptions_" v " RENAME TO subscriptions;\n" \
	"CREATE INDEX subscriptions_created ON subscriptions (tenant_id, created_at, id);\n" \
	"CREATE INDEX subscriptions_period_end ON subscriptions (tenant_id, current_period_end, id);\n" \
	"CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id);\n" \
	"CREATE INDEX subscriptions_plan ON subscriptions (tenant_id, plan_id, status);\n"

static const char step5_sqlite[] = SUBSCRIPTIONS_SQLITE_REBUILD("v5", "8");

/* Outbound webhooks (endpoints, the delivery outbox and its attempts), the
 * audit log, and the call's request id and idempotency key on events. */
static const char step6_webhooks[] =
	"ALTER TABLE events ADD COLUMN request_id TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE events ADD COLUMN idempotency_key TEXT /*COLLATE_C*/;\n"
	"CREATE TABLE webhook_endpoints (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  url TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  event_types TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),\n"
	"  description TEXT /*COLLATE_C*/,\n"
	"  secret TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  previous_secret TEXT /*COLLATE_C*/,\n"
	"  previous_secret_until BIGINT,\n"
	"  dead_in_row INTEGER NOT NULL CHECK (dead_in_row >= 0),\n"
	"  disabled_reason TEXT /*COLLATE_C*/,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (tenant_id, id)\n"
	");\n"
	"CREATE INDEX webhook_endpoints_created ON webhook_endpoints (tenant_id, created_at, id);\n"
	"CREATE TABLE webhook_deliveries (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  endpoint_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  event_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 3),\n"
	"  attempt_count INTEGER NOT NULL CHECK (attempt_count >= 0),\n"
	"  next_attempt_at BIGINT,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT webhook_deliveries_event_fkey FOREIGN KEY (tenant_id, event_id)\n"
	"    REFERENCES events (tenant_id, id)\n"
	");\n"
	"CREATE INDEX webhook_deliveries_created ON webhook_deliveries (tenant_id, created_at, id);\n"
	"CREATE INDEX webhook_deliveries_event ON webhook_deliveries (tenant_id, event_id);\n"
	"CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id);\n"
	"CREATE TABLE webhook_attempts (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  delivery_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  attempt_no INTEGER NOT NULL,\n"
	"  attempted_at BIGINT NOT NULL,\n"
	"  status_code INTEGER NOT NULL,\n"
	"  error TEXT /*COLLATE_C*/,\n"
	"  response TEXT /*COLLATE_C*/,\n"
	"  duration_ms BIGINT NOT NULL,\n"
	"  CONSTRAINT webhook_attempts_pkey PRIMARY KEY (tenant_id, delivery_id, attempt_no),\n"
	"  CONSTRAINT webhook_attempts_delivery_fkey FOREIGN KEY (tenant_id, delivery_id)\n"
	"    REFERENCES webhook_deliveries (tenant_id, id)\n"
	");\n"
	"CREATE TABLE audit_log (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  user_id TEXT /*COLLATE_C*/,\n"
	"  role INTEGER NOT NULL,\n"
	"  operation TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  resource_id TEXT /*COLLATE_C*/,\n"
	"  request_id TEXT /*COLLATE_C*/,\n"
	"  idempotency_key TEXT /*COLLATE_C*/,\n"
	"  CONSTRAINT audit_log_pkey PRIMARY KEY (tenant_id, id)\n"
	");\n"
	"CREATE INDEX audit_log_created ON audit_log (tenant_id, created_at, id);\n";

static const char step6_postgres[] =
	TENANT_POLICY("webhook_endpoints")
	TENANT_POLICY("webhook_deliveries")
	TENANT_POLICY("webhook_attempts")
	TENANT_POLICY("audit_log")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints,"
		" webhook_deliveries, webhook_attempts, audit_log TO billing_runtime;");

/* Tax rates, the first object on the generic flow (src/core/tax_rate.c:
 * its descriptor names these columns). A tax rate is never deleted
 * (invoices keep pointing at it; it is archived with active = 0), so the
 * runtime role gets no DELETE on it. percentage is in 10^-4 percent. */
static const char step7_tax_rates[] =
	"CREATE TABLE tax_rates (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  display_name TEXT /*COLLATE_C*/ NOT NULL CHECK (length(display_name) >= 1),\n"
	"  description TEXT /*COLLATE_C*/,\n"
	"  percentage BIGINT NOT NULL CHECK (percentage BETWEEN 0 AND 1000000),\n"
	"  inclusive INTEGER NOT NULL CHECK (inclusive IN (0, 1)),\n"
	"  country TEXT /*COLLATE_C*/ CHECK (country IS NULL OR length(country) = 2),\n"
	"  region TEXT /*COLLATE_C*/,\n"
	"  active INTEGER NOT NULL CHECK (active IN (0, 1)),\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT tax_rates_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT tax_rates_region_country CHECK (region IS NULL OR country IS NOT NULL)\n"
	");\n"
	"CREATE INDEX tax_rates_created ON tax_rates (tenant_id, created_at, id);\n"
	"CREATE INDEX tax_rates_display_name ON tax_rates (tenant_id, display_name, id);\n"
	"CREATE INDEX tax_rates_percentage ON tax_rates (tenant_id, percentage, id);\n";

static const char step7_postgres[] =
	TENANT_POLICY("tax_rates")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON tax_rates TO billing_runtime;");

/* Disputes of payments (src/core/dispute.c: its descriptor names these
 * columns), written only from the provider's events: one row per provider
 * dispute id in a tenant. Never deleted: the runtime role gets no DELETE.
 * status is billing_dispute_status (1..7); provider_event_at is the
 * created time of the last provider event applied (order-safety). */
static const char step8_disputes[] =
	"CREATE TABLE disputes (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  payment_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  invoice_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  provider TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  provider_ref TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  amount BIGINT NOT NULL CHECK (amount >= 0),\n"
	"  currency TEXT /*COLLATE_C*/ NOT NULL CHECK (length(currency) = 3),\n"
	"  reason TEXT /*COLLATE_C*/,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 7),\n"
	"  evidence_due_by BIGINT,\n"
	"  closed_at BIGINT,\n"
	"  provider_event_at BIGINT NOT NULL,\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT disputes_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT disputes_provider_ref UNIQUE (tenant_id, provider_ref),\n"
	"  CONSTRAINT disputes_payment_fkey FOREIGN KEY (tenant_id, payment_id)\n"
	"    REFERENCES payments (tenant_id, id)\n"
	");\n"
	"CREATE INDEX disputes_created ON disputes (tenant_id, created_at, id);\n"
	"CREATE INDEX disputes_payment ON disputes (tenant_id, payment_id, created_at, id);\n"
	"CREATE INDEX disputes_customer ON disputes (tenant_id, customer_id, created_at, id);\n";

static const char step8_postgres[] =
	TENANT_POLICY("disputes")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON disputes TO billing_runtime;");

/* Payments gain the status canceled (8): an attempt awaiting the
 * customer's action canceled at the provider (issue #18 item 4). As in
 * step 5, PostgreSQL widens the CHECK in place; SQLite rebuilds the table
 * (refunds and disputes refer to it by name, which the rename keeps). */
static const char step9_postgres[] =
	"ALTER TABLE payments DROP CONSTRAINT payments_status_check;\n"
	"ALTER TABLE payments ADD CONSTRAINT payments_status_check\n"
	"  CHECK (status BETWEEN 1 AND 8);\n";

#define PAYMENT_COLUMNS "tenant_id, id, invoice_id, customer_id, status, amount, currency, " \
	"amount_refunded, amount_refunding, provider, provider_ref, payment_method, off_session, " \
	"failure_code, failure_message, created_at, updated_at, version"

static const char step9_sqlite[] =
	"CREATE TABLE payments_v9 (\n"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  invoice_id TEXT NOT NULL,\n"
	"  customer_id TEXT NOT NULL,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 8),\n"
	"  amount BIGINT NOT NULL CHECK (amount > 0),\n"
	"  currency TEXT NOT NULL,\n"
	"  amount_refunded BIGINT NOT NULL CHECK (amount_refunded >= 0),\n"
	"  amount_refunding BIGINT NOT NULL CHECK (amount_refunding >= 0),\n"
	"  provider TEXT NOT NULL,\n"
	"  provider_ref TEXT,\n"
	"  payment_method TEXT,\n"
	"  off_session INTEGER NOT NULL CHECK (off_session IN (0, 1)),\n"
	"  failure_code TEXT,\n"
	"  failure_message TEXT,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT payments_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT payments_refunds CHECK (amount_refunded + amount_refunding <= amount),\n"
	"  CONSTRAINT payments_invoice_fkey FOREIGN KEY (tenant_id, invoice_id)\n"
	"    REFERENCES invoices (tenant_id, id),\n"
	"  CONSTRAINT payments_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id)\n"
	");\n"
	"INSERT INTO payments_v9 (" PAYMENT_COLUMNS ")\n"
	"  SELECT " PAYMENT_COLUMNS " FROM payments;\n"
	"DROP TABLE payments;\n"
	"ALTER TABLE payments_v9 RENAME TO payments;\n"
	"CREATE INDEX payments_created ON payments (tenant_id, created_at, id);\n"
	"CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id);\n"
	"CREATE INDEX payments_ref ON payments (tenant_id, provider, provider_ref);\n"
	"CREATE UNIQUE INDEX payments_in_flight ON payments (tenant_id, invoice_id)\n"
	"  WHERE status IN (1, 2, 7);\n";

/* Stored payment methods (#18 item 7): references to the provider's, with
 * what it reports of the card. A customer with stored methods is not
 * deleted (detach them first). */
static const char step10_payment_methods[] =
	"CREATE TABLE payment_methods (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  provider TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  provider_ref TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  type TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  card TEXT NOT NULL,\n"
	"  brand TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  last4 TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  exp_month BIGINT NOT NULL CHECK (exp_month BETWEEN 1 AND 12),\n"
	"  exp_year BIGINT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT payment_methods_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT payment_methods_provider_ref_key UNIQUE (tenant_id, provider_ref),\n"
	"  CONSTRAINT payment_methods_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id)\n"
	");\n"
	"CREATE INDEX payment_methods_created ON payment_methods (tenant_id, created_at, id);\n"
	"CREATE INDEX payment_methods_customer ON payment_methods\n"
	"  (tenant_id, customer_id, created_at, id);\n";

static const char step10_postgres[] =
	TENANT_POLICY("payment_methods")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE, DELETE ON payment_methods TO billing_runtime;");

/* A tenant's own provider account (src/core/provider_account.c names these
 * columns): one row per tenant. The key and the webhook secret are sealed
 * by the core (AES-256-GCM under the host's key, core/seal.h); only the
 * key's last four characters are in clear. */
static const char step11_provider_accounts[] =
	"CREATE TABLE provider_accounts (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  provider TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  account TEXT /*COLLATE_C*/,\n"
	"  api_key_sealed TEXT /*COLLATE_C*/,\n"
	"  api_key_last4 TEXT /*COLLATE_C*/,\n"
	"  webhook_secret_sealed TEXT /*COLLATE_C*/,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  CONSTRAINT provider_accounts_pkey PRIMARY KEY (tenant_id)\n"
	");\n";

static const char step11_postgres[] =
	TENANT_POLICY("provider_accounts")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE, DELETE ON provider_accounts TO billing_runtime;");

/* What a payment awaiting the customer's action needs done (3-D Secure:
 * the provider's next action and the PaymentIntent's client secret),
 * shown as the payment's nextAction (issue #18 item 4). */
static const char step12_next_action[] =
	"ALTER TABLE payments ADD COLUMN next_action_type TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE payments ADD COLUMN next_action_url TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE payments ADD COLUMN client_secret TEXT /*COLLATE_C*/;\n";

/* Customer balances (issue #20 item 1; src/core/customer_balance.c names
 * these columns): the balance per currency on the customer's row, a JSON
 * object of integers written only by balance changes (NULL: none, as for
 * customers written before it); the append-only
 * balance transactions; and on invoices the balance applied when one is
 * finalized, which the invoice's sums now include: amount_due = total +
 * starting_balance - ending_balance - amount_paid. PostgreSQL changes the
 * check in place; SQLite rebuilds the table as in step 5 (invoice lines,
 * payments and balance transactions refer to it by name, which the rename
 * keeps). */
static const char step13_customer_balances[] =
	"ALTER TABLE customers ADD COLUMN balances TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE invoices ADD COLUMN starting_balance BIGINT NOT NULL DEFAULT 0;\n"
	"ALTER TABLE invoices ADD COLUMN ending_balance BIGINT NOT NULL DEFAULT 0;\n"
	"CREATE TABLE customer_balance_transactions (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 6),\n"
	"  amount BIGINT NOT NULL CHECK (amount <> 0),\n"
	"  currency TEXT /*COLLATE_C*/ NOT NULL CHECK (length(currency) = 3),\n"
	"  description TEXT /*COLLATE_C*/,\n"
	"  invoice_id TEXT /*COLLATE_C*/,\n"
	"  credit_note_id TEXT /*COLLATE_C*/,\n"
	"  ending_balance BIGINT NOT NULL,\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT customer_balance_transactions_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT customer_balance_transactions_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id),\n"
	"  CONSTRAINT customer_balance_transactions_invoice_fkey FOREIGN KEY (tenant_id, invoice_id)\n"
	"    REFERENCES invoices (tenant_id, id)\n"
	");\n"
	"CREATE INDEX customer_balance_transactions_created ON customer_balance_transactions\n"
	"  (tenant_id, created_at, id);\n"
	"CREATE INDEX customer_balance_transactions_customer ON customer_balance_transactions\n"
	"  (tenant_id, customer_id, created_at, id);\n"
	"CREATE INDEX customer_balance_transactions_invoice ON customer_balance_transactions\n"
	"  (tenant_id, invoice_id);\n";

static const char step13_postgres[] =
	"ALTER TABLE invoices DROP CONSTRAINT invoices_sums;\n"
	"ALTER TABLE invoices ADD CONSTRAINT invoices_sums CHECK (total = subtotal + tax AND\n"
	"  amount_due = total + starting_balance - ending_balance - amount_paid);\n"
	TENANT_POLICY("customer_balance_transactions")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON customer_balance_transactions TO billing_runtime;");

#define INVOICE_COLUMNS "tenant_id, id, customer_id, subscription_id, number, status, " \
	"currency, subtotal, tax, total, amount_paid, amount_due, period_start, period_end, " \
	"created_at, finalized_at, paid_at, voided_at, updated_at, version, attempt_count, " \
	"next_attempt_at, starting_balance, ending_balance"

static const char step13_sqlite[] =
	"CREATE TABLE invoices_v13 (\n"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  customer_id TEXT NOT NULL,\n"
	"  subscription_id TEXT,\n"
	"  number TEXT,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),\n"
	"  currency TEXT NOT NULL,\n"
	"  subtotal BIGINT NOT NULL,\n"
	"  tax BIGINT NOT NULL,\n"
	"  total BIGINT NOT NULL,\n"
	"  amount_paid BIGINT NOT NULL,\n"
	"  amount_due BIGINT NOT NULL,\n"
	"  period_start BIGINT NOT NULL,\n"
	"  period_end BIGINT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  finalized_at BIGINT,\n"
	"  paid_at BIGINT,\n"
	"  voided_at BIGINT,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  attempt_count INTEGER NOT NULL DEFAULT 0,\n"
	"  next_attempt_at BIGINT,\n"
	"  starting_balance BIGINT NOT NULL DEFAULT 0,\n"
	"  ending_balance BIGINT NOT NULL DEFAULT 0,\n"
	"  CONSTRAINT invoices_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT invoices_number_key UNIQUE (tenant_id, number),\n"
	"  CONSTRAINT invoices_sums CHECK (total = subtotal + tax AND\n"
	"    amount_due = total + starting_balance - ending_balance - amount_paid),\n"
	"  CONSTRAINT invoices_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id),\n"
	"  CONSTRAINT invoices_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id)\n"
	");\n"
	"INSERT INTO invoices_v13 (" INVOICE_COLUMNS ")\n"
	"  SELECT " INVOICE_COLUMNS " FROM invoices;\n"
	"DROP TABLE invoices;\n"
	"ALTER TABLE invoices_v13 RENAME TO invoices;\n"
	"CREATE INDEX invoices_created ON invoices (tenant_id, created_at, id);\n"
	"CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id);\n"
	"CREATE INDEX invoices_subscription ON invoices (tenant_id, subscription_id);\n";

/* A per-tenant version of the webhook endpoints, bumped by a trigger on
 * every insert, update and delete of one (any process, any path): the
 * outbox caches a tenant's enabled endpoints under it (issue #19 item 2;
 * docs/architecture.md, "The outbox's endpoint cache"). */
static const char step14_endpoint_versions[] =
	"CREATE TABLE webhook_endpoint_versions (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT webhook_endpoint_versions_pkey PRIMARY KEY (tenant_id)\n"
	");\n";

static const char step14_postgres[] =
	TENANT_POLICY("webhook_endpoint_versions")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON webhook_endpoint_versions TO billing_runtime;")
	"CREATE FUNCTION webhook_endpoint_version_bump() RETURNS trigger\n"
	"LANGUAGE plpgsql AS $bump$\n"
	"DECLARE t TEXT;\n"
	"BEGIN\n"
	"  IF TG_OP = 'DELETE' THEN t := OLD.tenant_id; ELSE t := NEW.tenant_id; END IF;\n"
	"  INSERT INTO webhook_endpoint_versions (tenant_id, version) VALUES (t, 1)\n"
	"    ON CONFLICT (tenant_id)\n"
	"    DO UPDATE SET version = webhook_endpoint_versions.version + 1;\n"
	"  RETURN NULL;\n"
	"END $bump$;\n"
	"CREATE TRIGGER webhook_endpoints_version AFTER INSERT OR UPDATE OR DELETE\n"
	"  ON webhook_endpoints FOR EACH ROW EXECUTE FUNCTION webhook_endpoint_version_bump();\n";

#define SQLITE_VERSION_BUMP(op, row) \
	"CREATE TRIGGER webhook_endpoints_version_" op " AFTER " op " ON webhook_endpoints\n" \
	"BEGIN\n" \
	"  INSERT OR IGNORE INTO webhook_endpoint_versions (tenant_id, version)\n" \
	"    VALUES (" row ".tenant_id, 0);\n" \
	"  UPDATE webhook_endpoint_versions SET version = version + 1\n" \
	"    WHERE tenant_id = " row ".tenant_id;\n" \
	"END;\n"

static const char step14_sqlite[] =
	SQLITE_VERSION_BUMP("INSERT", "NEW")
	SQLITE_VERSION_BUMP("UPDATE", "NEW")
	SQLITE_VERSION_BUMP("DELETE", "OLD");

/* The tenant's own time a payment may await the customer's action before
 * it expires (issue #18 item 4); 0: the host's default. */
static const char step15_action_expiry[] =
	"ALTER TABLE dunning_policies ADD COLUMN action_expiry BIGINT NOT NULL DEFAULT 0;\n";
/* Subscriptions gain the status incomplete_expired (9): the end of an
 * incomplete subscription whose first invoice was not paid (issue #18 item
 * 5). As in step 5: PostgreSQL widens the CHECK in place, SQLite rebuilds
 * the table (every column it has since step 5; invoices, pending lines and
 * invoice items refer to it by name, which the rename keeps). */
static const char step16_postgres[] =
	"ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_check;\n"
	"ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check\n"
	"  CHECK (status BETWEEN 1 AND 9);\n";

static const char step16_sqlite[] = SUBSCRIPTIONS_SQLITE_REBUILD("v16", "9");

/* Invoice items and draft invoices (issue #20 item 2). Invoices gain how
 * they are collected (1 charge_automatically, 2 send_invoice), the days
 * until a sent one is due and its due date, a memo and a footer, whether
 * it was paid outside the provider, and the status uncollectible (6).
 * A draft has no number (NULL; the unique key allows many). As in steps 5,
 * 9 and 13, PostgreSQL widens the status CHECK in place and SQLite rebuilds
 * the table (its lines and payments refer to it by name, which the
 * rename keeps). Invoice items: a one-off charge waiting (invoice_id
 * NULL) or on an invoice (a draft while it can change). */
static const char step17_invoice_items[] =
	"CREATE TABLE invoice_items (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subscription_id TEXT /*COLLATE_C*/,\n"
	"  invoice_id TEXT /*COLLATE_C*/,\n"
	"  description TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  currency TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  amount BIGINT NOT NULL,\n"
	"  unit_amount BIGINT NOT NULL,\n"
	"  quantity INTEGER NOT NULL CHECK (quantity > 0),\n"
	"  period_start BIGINT,\n"
	"  period_end BIGINT,\n"
	"  metadata TEXT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT invoice_items_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT invoice_items_amount CHECK (amount = unit_amount * quantity),\n"
	"  CONSTRAINT invoice_items_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id),\n"
	"  CONSTRAINT invoice_items_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id),\n"
	"  CONSTRAINT invoice_items_invoice_fkey FOREIGN KEY (tenant_id, invoice_id)\n"
	"    REFERENCES invoices (tenant_id, id)\n"
	");\n"
	"CREATE INDEX invoice_items_created ON invoice_items (tenant_id, created_at, id);\n"
	"CREATE INDEX invoice_items_customer ON invoice_items (tenant_id, customer_id, created_at, id);\n"
	"CREATE INDEX invoice_items_subscription ON invoice_items\n"
	"  (tenant_id, subscription_id, created_at, id);\n"
	"CREATE INDEX invoice_items_invoice ON invoice_items (tenant_id, invoice_id, created_at, id);\n";

static const char step17_postgres[] =
	"ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;\n"
	"ALTER TABLE invoices ADD CONSTRAINT invoices_status_check\n"
	"  CHECK (status BETWEEN 1 AND 6);\n"
	"ALTER TABLE invoices ADD COLUMN collection_method INTEGER NOT NULL DEFAULT 1\n"
	"  CHECK (collection_method IN (1, 2));\n"
	"ALTER TABLE invoices ADD COLUMN days_until_due INTEGER CHECK (days_until_due >= 0);\n"
	"ALTER TABLE invoices ADD COLUMN due_date BIGINT;\n"
	"ALTER TABLE invoices ADD COLUMN memo TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE invoices ADD COLUMN footer TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE invoices ADD COLUMN paid_out_of_band INTEGER NOT NULL DEFAULT 0\n"
	"  CHECK (paid_out_of_band IN (0, 1));\n"
	TENANT_POLICY("invoice_items")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE, DELETE ON invoice_items TO billing_runtime;");

#define INVOICE_COLUMNS_V17 "tenant_id, id, customer_id, subscription_id, number, status, " \
	"currency, subtotal, tax, total, amount_paid, amount_due, period_start, period_end, " \
	"created_at, finalized_at, paid_at, voided_at, updated_at, version, attempt_count, " \
	"next_attempt_at, starting_balance, ending_balance"

static const char step17_sqlite[] =
	"CREATE TABLE invoices_v17 (\n"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  customer_id TEXT NOT NULL,\n"
	"  subscription_id TEXT,\n"
	"  number TEXT,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 6),\n"
	"  currency TEXT NOT NULL,\n"
	"  subtotal BIGINT NOT NULL,\n"
	"  tax BIGINT NOT NULL,\n"
	"  total BIGINT NOT NULL,\n"
	"  amount_paid BIGINT NOT NULL,\n"
	"  amount_due BIGINT NOT NULL,\n"
	"  period_start BIGINT NOT NULL,\n"
	"  period_end BIGINT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  finalized_at BIGINT,\n"
	"  paid_at BIGINT,\n"
	"  voided_at BIGINT,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  attempt_count INTEGER NOT NULL DEFAULT 0,\n"
	"  next_attempt_at BIGINT,\n"
	"  collection_method INTEGER NOT NULL DEFAULT 1 CHECK (collection_method IN (1, 2)),\n"
	"  days_until_due INTEGER CHECK (days_until_due >= 0),\n"
	"  due_date BIGINT,\n"
	"  memo TEXT,\n"
	"  footer TEXT,\n"
	"  starting_balance BIGINT NOT NULL DEFAULT 0,\n"
	"  ending_balance BIGINT NOT NULL DEFAULT 0,\n"
	"  paid_out_of_band INTEGER NOT NULL DEFAULT 0 CHECK (paid_out_of_band IN (0, 1)),\n"
	"  CONSTRAINT invoices_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT invoices_number_key UNIQUE (tenant_id, number),\n"
	"  CONSTRAINT invoices_sums CHECK (total = subtotal + tax AND\n"
	"    amount_due = total + starting_balance - ending_balance - amount_paid),\n"
	"  CONSTRAINT invoices_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id),\n"
	"  CONSTRAINT invoices_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id)\n"
	");\n"
	"INSERT INTO invoices_v17 (" INVOICE_COLUMNS_V17 ")\n"
	"  SELECT " INVOICE_COLUMNS_V17 " FROM invoices;\n"
	"DROP TABLE invoices;\n"
	"ALTER TABLE invoices_v17 RENAME TO invoices;\n"
	"CREATE INDEX invoices_created ON invoices (tenant_id, created_at, id);\n"
	"CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id);\n"
	"CREATE INDEX invoices_subscription ON invoices (tenant_id, subscription_id);\n";

/* Credit notes (issue #20 item 3; src/core/credit_note.c names these
 * columns). A credit note ("cn_") lowers what an invoice asks for after it
 * was finalized: before payment (type 1, pre_payment) its total lowers the
 * invoice's amount due; after (type 2, post_payment) it is split into a
 * refund through the provider, a credit to the customer's balance and an
 * amount settled outside, which sum to its total. Its lines are a JSON
 * array (credit_note.c). Its number is the tenant's own gapless sequence
 * (credit_note_counters, the last number taken) after the tenant's prefix
 * (tenants.credit_note_prefix, "CN-" by default). Invoices gain the sums
 * of their non-void credit notes of each type; the pre-payment one is in
 * the invoice's sums: amount_due = total + starting_balance -
 * ending_balance - amount_paid - pre_payment_credit_notes_amount. As in
 * steps 13 and 17, PostgreSQL changes the check in place and SQLite
 * rebuilds the table with every column of step 17. Never deleted: the
 * runtime role gets no DELETE on credit notes. */
static const char step18_credit_notes[] =
	"ALTER TABLE tenants ADD COLUMN credit_note_prefix TEXT /*COLLATE_C*/ NOT NULL\n"
	"  DEFAULT 'CN-';\n"
	"CREATE TABLE credit_note_counters (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  last BIGINT NOT NULL CHECK (last >= 1),\n"
	"  CONSTRAINT credit_note_counters_pkey PRIMARY KEY (tenant_id)\n"
	");\n"
	"CREATE TABLE credit_notes (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  number TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  seq BIGINT NOT NULL CHECK (seq >= 1),\n"
	"  invoice_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  currency TEXT /*COLLATE_C*/ NOT NULL CHECK (length(currency) = 3),\n"
	"  type INTEGER NOT NULL CHECK (type IN (1, 2)),\n"
	"  status INTEGER NOT NULL CHECK (status IN (1, 2)),\n"
	"  reason INTEGER CHECK (reason BETWEEN 1 AND 4),\n"
	"  memo TEXT /*COLLATE_C*/,\n"
	"  lines TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subtotal BIGINT NOT NULL,\n"
	"  tax BIGINT NOT NULL,\n"
	"  total BIGINT NOT NULL CHECK (total > 0),\n"
	"  refund_amount BIGINT NOT NULL CHECK (refund_amount >= 0),\n"
	"  credit_amount BIGINT NOT NULL CHECK (credit_amount >= 0),\n"
	"  out_of_band_amount BIGINT NOT NULL CHECK (out_of_band_amount >= 0),\n"
	"  refund_id TEXT /*COLLATE_C*/,\n"
	"  voided_at BIGINT,\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT credit_notes_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT credit_notes_number_key UNIQUE (tenant_id, number),\n"
	"  CONSTRAINT credit_notes_seq_key UNIQUE (tenant_id, seq),\n"
	"  CONSTRAINT credit_notes_sums CHECK (total = subtotal + tax AND\n"
	"    ((type = 1 AND refund_amount = 0 AND credit_amount = 0 AND out_of_band_amount = 0)\n"
	"     OR (type = 2 AND refund_amount + credit_amount + out_of_band_amount = total))),\n"
	"  CONSTRAINT credit_notes_invoice_fkey FOREIGN KEY (tenant_id, invoice_id)\n"
	"    REFERENCES invoices (tenant_id, id),\n"
	"  CONSTRAINT credit_notes_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id)\n"
	");\n"
	"CREATE INDEX credit_notes_created ON credit_notes (tenant_id, created_at, id);\n"
	"CREATE INDEX credit_notes_invoice ON credit_notes (tenant_id, invoice_id, created_at, id);\n"
	"CREATE INDEX credit_notes_customer ON credit_notes (tenant_id, customer_id, created_at, id);\n";

static const char step18_postgres[] =
	"ALTER TABLE invoices ADD COLUMN pre_payment_credit_notes_amount BIGINT NOT NULL DEFAULT 0\n"
	"  CHECK (pre_payment_credit_notes_amount >= 0);\n"
	"ALTER TABLE invoices ADD COLUMN post_payment_credit_notes_amount BIGINT NOT NULL DEFAULT 0\n"
	"  CHECK (post_payment_credit_notes_amount >= 0);\n"
	"ALTER TABLE invoices DROP CONSTRAINT invoices_sums;\n"
	"ALTER TABLE invoices ADD CONSTRAINT invoices_sums CHECK (total = subtotal + tax AND\n"
	"  amount_due = total + starting_balance - ending_balance - amount_paid -\n"
	"    pre_payment_credit_notes_amount);\n"
	TENANT_POLICY("credit_note_counters")
	TENANT_POLICY("credit_notes")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON credit_note_counters TO billing_runtime;\n"
		"GRANT SELECT, INSERT, UPDATE ON credit_notes TO billing_runtime;");

#define INVOICE_COLUMNS_V18 INVOICE_COLUMNS_V17 ", collection_method, days_until_due, " \
	"due_date, memo, footer, paid_out_of_band"

static const char step18_sqlite[] =
	"CREATE TABLE invoices_v18 (\n"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  customer_id TEXT NOT NULL,\n"
	"  subscription_id TEXT,\n"
	"  number TEXT,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 6),\n"
	"  currency TEXT NOT NULL,\n"
	"  subtotal BIGINT NOT NULL,\n"
	"  tax BIGINT NOT NULL,\n"
	"  total BIGINT NOT NULL,\n"
	"  amount_paid BIGINT NOT NULL,\n"
	"  amount_due BIGINT NOT NULL,\n"
	"  period_start BIGINT NOT NULL,\n"
	"  period_end BIGINT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  finalized_at BIGINT,\n"
	"  paid_at BIGINT,\n"
	"  voided_at BIGINT,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  attempt_count INTEGER NOT NULL DEFAULT 0,\n"
	"  next_attempt_at BIGINT,\n"
	"  collection_method INTEGER NOT NULL DEFAULT 1 CHECK (collection_method IN (1, 2)),\n"
	"  days_until_due INTEGER CHECK (days_until_due >= 0),\n"
	"  due_date BIGINT,\n"
	"  memo TEXT,\n"
	"  footer TEXT,\n"
	"  starting_balance BIGINT NOT NULL DEFAULT 0,\n"
	"  ending_balance BIGINT NOT NULL DEFAULT 0,\n"
	"  paid_out_of_band INTEGER NOT NULL DEFAULT 0 CHECK (paid_out_of_band IN (0, 1)),\n"
	"  pre_payment_credit_notes_amount BIGINT NOT NULL DEFAULT 0\n"
	"    CHECK (pre_payment_credit_notes_amount >= 0),\n"
	"  post_payment_credit_notes_amount BIGINT NOT NULL DEFAULT 0\n"
	"    CHECK (post_payment_credit_notes_amount >= 0),\n"
	"  CONSTRAINT invoices_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT invoices_number_key UNIQUE (tenant_id, number),\n"
	"  CONSTRAINT invoices_sums CHECK (total = subtotal + tax AND\n"
	"    amount_due = total + starting_balance - ending_balance - amount_paid -\n"
	"      pre_payment_credit_notes_amount),\n"
	"  CONSTRAINT invoices_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id),\n"
	"  CONSTRAINT invoices_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id)\n"
	");\n"
	"INSERT INTO invoices_v18 (" INVOICE_COLUMNS_V18 ")\n"
	"  SELECT " INVOICE_COLUMNS_V18 " FROM invoices;\n"
	"DROP TABLE invoices;\n"
	"ALTER TABLE invoices_v18 RENAME TO invoices;\n"
	"CREATE INDEX invoices_created ON invoices (tenant_id, created_at, id);\n"
	"CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id);\n"
	"CREATE INDEX invoices_subscription ON invoices (tenant_id, subscription_id);\n";

/* Price models of plans (issue #21, src/core/price.h): the billing scheme
 * (0 perUnit, 1 tiered), the tiers mode (NULL, 1 graduated, 2 volume), the
 * tiers and the package transform as canonical JSON text, the usage type
 * (0 licensed, 1 metered) and the meter. A tiered plan has no amount of its
 * own (0), so the amount's check widens to >= 0 (core/plan.c keeps > 0 for
 * perUnit plans). PostgreSQL changes the table in place; SQLite rebuilds it
 * as in step 5 (subscriptions refer to it by name, which the rename keeps). */
static const char step19_postgres[] =
	"ALTER TABLE plans ADD COLUMN billing_scheme INTEGER NOT NULL DEFAULT 0\n"
	"  CHECK (billing_scheme IN (0, 1));\n"
	"ALTER TABLE plans ADD COLUMN tiers_mode INTEGER CHECK (tiers_mode IN (1, 2));\n"
	"ALTER TABLE plans ADD COLUMN tiers TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE plans ADD COLUMN transform_quantity TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE plans ADD COLUMN usage_type INTEGER NOT NULL DEFAULT 0\n"
	"  CHECK (usage_type IN (0, 1));\n"
	"ALTER TABLE plans ADD COLUMN meter_id TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE plans DROP CONSTRAINT plans_amount_check;\n"
	"ALTER TABLE plans ADD CONSTRAINT plans_amount_check CHECK (amount >= 0);\n";

#define PLAN_COLUMNS_V1 "tenant_id, id, product_id, code, name, description, amount, " \
	"currency, billing_interval, interval_count, trial_days, term_count, active, deleted_at, " \
	"metadata, created_at, updated_at, version"

static const char step19_sqlite[] =
	"CREATE TABLE plans_v19 (\n"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  product_id TEXT NOT NULL,\n"
	"  code TEXT NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  description TEXT,\n"
	"  amount BIGINT NOT NULL CHECK (amount >= 0),\n"
	"  currency TEXT NOT NULL,\n"
	"  billing_interval INTEGER NOT NULL CHECK (billing_interval BETWEEN 1 AND 4),\n"
	"  interval_count INTEGER NOT NULL CHECK (interval_count >= 1),\n"
	"  trial_days INTEGER NOT NULL CHECK (trial_days >= 0),\n"
	"  term_count INTEGER CHECK (term_count IS NULL OR term_count >= 1),\n"
	"  active INTEGER NOT NULL CHECK (active IN (0, 1)),\n"
	"  deleted_at BIGINT,\n"
	"  metadata TEXT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  billing_scheme INTEGER NOT NULL DEFAULT 0 CHECK (billing_scheme IN (0, 1)),\n"
	"  tiers_mode INTEGER CHECK (tiers_mode IN (1, 2)),\n"
	"  tiers TEXT,\n"
	"  transform_quantity TEXT,\n"
	"  usage_type INTEGER NOT NULL DEFAULT 0 CHECK (usage_type IN (0, 1)),\n"
	"  meter_id TEXT,\n"
	"  CONSTRAINT plans_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT plans_code_key UNIQUE (tenant_id, code),\n"
	"  CONSTRAINT plans_product_fkey FOREIGN KEY (tenant_id, product_id)\n"
	"    REFERENCES products (tenant_id, id)\n"
	");\n"
	"INSERT INTO plans_v19 (" PLAN_COLUMNS_V1 ")\n"
	"  SELECT " PLAN_COLUMNS_V1 " FROM plans;\n"
	"DROP TABLE plans;\n"
	"ALTER TABLE plans_v19 RENAME TO plans;\n"
	"CREATE INDEX plans_product ON plans (tenant_id, product_id);\n"
	"CREATE INDEX plans_created ON plans (tenant_id, created_at, id);\n"
	"CREATE INDEX plans_name ON plans (tenant_id, name, id);\n"
	"CREATE INDEX plans_amount ON plans (tenant_id, amount, id);\n";
/* Coupons (issue #22 item 1; src/core/coupon.c names these columns): what a
 * discount takes off. percent_off is in hundredths of a percent; exactly
 * one of percent_off and amount_off (with its currency) is set. Soft
 * deleted (deleted_at), never removed: discounts made from one keep it. */
static const char step20_coupons[] =
	"CREATE TABLE coupons (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  percent_off BIGINT CHECK (percent_off IS NULL OR percent_off BETWEEN 1 AND 10000),\n"
	"  amount_off BIGINT CHECK (amount_off IS NULL OR amount_off >= 1),\n"
	"  currency TEXT /*COLLATE_C*/ CHECK (currency IS NULL OR length(currency) = 3),\n"
	"  duration INTEGER NOT NULL CHECK (duration BETWEEN 1 AND 3),\n"
	"  duration_in_periods BIGINT CHECK (duration_in_periods IS NULL OR\n"
	"    duration_in_periods >= 1),\n"
	"  max_redemptions BIGINT CHECK (max_redemptions IS NULL OR max_redemptions >= 1),\n"
	"  redeem_by BIGINT,\n"
	"  applies_to TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  times_redeemed BIGINT NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0),\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  deleted_at BIGINT,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT coupons_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT coupons_off CHECK ((percent_off IS NULL) <> (amount_off IS NULL)),\n"
	"  CONSTRAINT coupons_currency CHECK ((amount_off IS NULL) = (currency IS NULL)),\n"
	"  CONSTRAINT coupons_repeating CHECK ((duration = 2) = (duration_in_periods IS NOT NULL)),\n"
	"  CONSTRAINT coupons_max CHECK (max_redemptions IS NULL OR\n"
	"    times_redeemed <= max_redemptions)\n"
	");\n"
	"CREATE INDEX coupons_created ON coupons (tenant_id, created_at, id);\n"
	/* Promotion codes (item 2; src/core/promotion_code.c): code_key is the
	 * code upper-cased, unique among the tenant's active codes. */
	"CREATE TABLE promotion_codes (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  code TEXT /*COLLATE_C*/ NOT NULL CHECK (length(code) BETWEEN 1 AND 64),\n"
	"  code_key TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  coupon_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  active INTEGER NOT NULL CHECK (active IN (0, 1)),\n"
	"  expires_at BIGINT,\n"
	"  max_redemptions BIGINT CHECK (max_redemptions IS NULL OR max_redemptions >= 1),\n"
	"  times_redeemed BIGINT NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0),\n"
	"  restrictions TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/,\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT promotion_codes_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT promotion_codes_max CHECK (max_redemptions IS NULL OR\n"
	"    times_redeemed <= max_redemptions),\n"
	"  CONSTRAINT promotion_codes_coupon_fkey FOREIGN KEY (tenant_id, coupon_id)\n"
	"    REFERENCES coupons (tenant_id, id),\n"
	"  CONSTRAINT promotion_codes_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id)\n"
	");\n"
	"CREATE UNIQUE INDEX promotion_codes_code_key_key ON promotion_codes (tenant_id, code_key)\n"
	"  WHERE active = 1;\n"
	"CREATE INDEX promotion_codes_created ON promotion_codes (tenant_id, created_at, id);\n"
	"CREATE INDEX promotion_codes_coupon ON promotion_codes (tenant_id, coupon_id);\n";

static const char step20_postgres[] =
	TENANT_POLICY("coupons")
	TENANT_POLICY("promotion_codes")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON coupons, promotion_codes TO "
		"billing_runtime;");
/* Renewal drafts (issue #20 item 2): the seconds a renewal's invoice stays
 * a draft before the billing run finalizes it (due work "invoice_draft",
 * core/invoice_draft.c); 0, the default, finalizes it at once as before. */
static const char step21_renewal_drafts[] =
	"ALTER TABLE tenants ADD COLUMN renewal_draft_delay BIGINT NOT NULL DEFAULT 0\n"
	"  CHECK (renewal_draft_delay BETWEEN 0 AND 2592000);\n";
/* Meters (src/core/meter.c: its descriptor names these columns; issue
 * #23). What a meter measures is fixed at creation and a meter is never
 * deleted (it is deactivated): the runtime role gets no DELETE.
 * aggregation is 1 count, 2 sum, 3 max, 4 uniqueCount, 5 last. */
static const char step22_meters[] =
	"CREATE TABLE meters (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  event_name TEXT /*COLLATE_C*/ NOT NULL CHECK (length(event_name) BETWEEN 1 AND 100),\n"
	"  aggregation INTEGER NOT NULL CHECK (aggregation BETWEEN 1 AND 5),\n"
	"  value_property TEXT /*COLLATE_C*/,\n"
	"  filters TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  active INTEGER NOT NULL CHECK (active IN (0, 1)),\n"
	"  metadata TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT meters_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT meters_value_property CHECK ((aggregation = 1) = (value_property IS NULL))\n"
	");\n"
	"CREATE INDEX meters_created ON meters (tenant_id, created_at, id);\n"
	"CREATE INDEX meters_event_name ON meters (tenant_id, event_name, id);\n";

static const char step22_postgres[] =
	TENANT_POLICY("meters")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON meters TO billing_runtime;");

/* Usage events, their stored aggregates and the tenant's usage settings
 * (src/core/usage.c; issue #23). usage_events is append-only but for the
 * void mark (voided_at, version 2), keyed by the client's transaction id
 * in the tenant (the dedupe key), written in batches by usage_insert. The
 * aggregate index leads with what every aggregate asks (tenant, customer,
 * event name, time). usage_aggregates keeps a closed period's aggregate of
 * a meter for a customer, so a closed period is never computed again; its
 * id is "<meter>/<customer>/<period start>" (the generic records' single
 * key). usage_settings: one row per tenant (grace_seconds: how long after
 * a period's end its events are still taken). No DELETE for the runtime
 * role on any of them. */
static const char step23_usage[] =
	"CREATE TABLE usage_events (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  transaction_id TEXT /*COLLATE_C*/ NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 255),\n"
	"  event_name TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subscription_id TEXT /*COLLATE_C*/,\n"
	"  occurred_at BIGINT NOT NULL,\n"
	"  properties TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  received_at BIGINT NOT NULL,\n"
	"  voided_at BIGINT,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT usage_events_pkey PRIMARY KEY (tenant_id, transaction_id),\n"
	"  CONSTRAINT usage_events_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id)\n"
	");\n"
	"CREATE INDEX usage_events_aggregate ON usage_events\n"
	"  (tenant_id, customer_id, event_name, occurred_at);\n"
	"CREATE TABLE usage_aggregates (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  meter_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  period_start BIGINT NOT NULL,\n"
	"  period_end BIGINT NOT NULL CHECK (period_end > period_start),\n"
	"  value BIGINT NOT NULL,\n"
	"  events BIGINT NOT NULL CHECK (events >= 0),\n"
	"  created_at BIGINT NOT NULL,\n"
	"  CONSTRAINT usage_aggregates_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT usage_aggregates_meter_fkey FOREIGN KEY (tenant_id, meter_id)\n"
	"    REFERENCES meters (tenant_id, id),\n"
	"  CONSTRAINT usage_aggregates_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id)\n"
	");\n"
	"CREATE INDEX usage_aggregates_customer ON usage_aggregates\n"
	"  (tenant_id, customer_id, period_start);\n"
	"CREATE TABLE usage_settings (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  grace_seconds BIGINT NOT NULL CHECK (grace_seconds >= 0),\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  CONSTRAINT usage_settings_pkey PRIMARY KEY (tenant_id)\n"
	");\n";

static const char step23_postgres[] =
	TENANT_POLICY("usage_events")
	TENANT_POLICY("usage_aggregates")
	TENANT_POLICY("usage_settings")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON usage_events, usage_aggregates,"
		" usage_settings TO billing_runtime;");

/* Subscription items (issue #21 item 2; src/core/subscription_item.c names
 * these columns): a subscription holds 1..20 items, each a plan and a
 * quantity, no plan twice. item_no orders them (1, 2, ...); the first
 * item's plan and quantity stay the subscription's plan_id and quantity.
 * Every subscription that exists gets one item, its plan and quantity,
 * whose id is its own with "si_" for "sub_". Invoice and pending lines
 * gain the item they bill (no foreign key: lines are history and outlive a
 * deleted item). Subscriptions keep a copy of their items as JSON (items),
 * so that reads, lists and events show them without a second query; a
 * later SQLite rebuild of subscriptions must keep that column. */
static const char step24_subscription_items[] =
	"CREATE TABLE subscription_items (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subscription_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  plan_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  quantity INTEGER NOT NULL CHECK (quantity >= 1),\n"
	"  item_no INTEGER NOT NULL CHECK (item_no >= 1),\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT subscription_items_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT subscription_items_plan_key UNIQUE (tenant_id, subscription_id, plan_id),\n"
	"  CONSTRAINT subscription_items_no_key UNIQUE (tenant_id, subscription_id, item_no),\n"
	"  CONSTRAINT subscription_items_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id),\n"
	"  CONSTRAINT subscription_items_plan_fkey FOREIGN KEY (tenant_id, plan_id)\n"
	"    REFERENCES plans (tenant_id, id)\n"
	");\n"
	"CREATE INDEX subscription_items_created ON subscription_items (tenant_id, created_at, id);\n"
	"INSERT INTO subscription_items (tenant_id, id, subscription_id, plan_id, quantity, item_no,\n"
	"    created_at, updated_at, version)\n"
	"  SELECT tenant_id, 'si_' || substr(id, 5), id, plan_id, quantity, 1, created_at,\n"
	"    created_at, 1 FROM subscriptions;\n"
	"ALTER TABLE invoice_lines ADD COLUMN subscription_item_id TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE pending_lines ADD COLUMN subscription_item_id TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE subscriptions ADD COLUMN items TEXT /*COLLATE_C*/;\n"
	"UPDATE subscriptions SET items = '[{\"id\":\"si_' || substr(id, 5) || '\",\"planId\":\"' ||\n"
	"  plan_id || '\",\"quantity\":' || quantity || '}]';\n";

static const char step24_postgres[] =
	TENANT_POLICY("subscription_items")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE, DELETE ON subscription_items TO billing_runtime;");

/* The tiers a tiered plan's invoice line used (issue #21, core/price.h),
 * JSON text; NULL on every other line. Pending lines share the lines'
 * columns. */
static const char step25_line_tiers[] =
	"ALTER TABLE invoice_lines ADD COLUMN tiers TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE pending_lines ADD COLUMN tiers TEXT /*COLLATE_C*/;\n";

/* Customers' taxes (src/core/customer.c; issue #22): whether they are
 * taxed (0 none, 1 exempt, 2 reverse charge) and their tax ids, a JSON
 * array of {type, value} that the core checks. */
static const char step26_customer_taxes[] =
	"ALTER TABLE customers ADD COLUMN tax_exempt INTEGER NOT NULL DEFAULT 0\n"
	"  CHECK (tax_exempt BETWEEN 0 AND 2);\n"
	"ALTER TABLE customers ADD COLUMN tax_ids TEXT /*COLLATE_C*/ NOT NULL DEFAULT '[]';\n";

/* Discounts (issue #22 item 3; src/core/discount_object.c names these
 * columns): a coupon redeemed for a customer (subscription_id NULL) or for
 * one of its subscriptions, from start until end (NULL: no end yet; a
 * once discount gets its end when its first invoice takes it). Removing a
 * discount sets deleted_at: invoice lines keep naming it. At most one
 * live discount per level (the partial unique indexes). Invoice lines
 * carry the discount they took and how much (discount_id, discount_amount:
 * of the line's sign, never more than its amount); invoices the discount
 * and the sum (total_discount), so that total = subtotal - total_discount
 * + tax. PostgreSQL changes invoices in place; SQLite rebuilds it as in
 * step 18. */
static const char step27_discounts[] =
	"CREATE TABLE discounts (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subscription_id TEXT /*COLLATE_C*/,\n"
	"  coupon_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  promotion_code_id TEXT /*COLLATE_C*/,\n"
	"  start_at BIGINT NOT NULL,\n"
	"  end_at BIGINT,\n"
	"  deleted_at BIGINT,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT discounts_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT discounts_window CHECK (end_at IS NULL OR end_at >= start_at),\n"
	"  CONSTRAINT discounts_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id),\n"
	"  CONSTRAINT discounts_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id),\n"
	"  CONSTRAINT discounts_coupon_fkey FOREIGN KEY (tenant_id, coupon_id)\n"
	"    REFERENCES coupons (tenant_id, id),\n"
	"  CONSTRAINT discounts_promotion_code_fkey FOREIGN KEY (tenant_id, promotion_code_id)\n"
	"    REFERENCES promotion_codes (tenant_id, id)\n"
	");\n"
	"CREATE INDEX discounts_created ON discounts (tenant_id, created_at, id);\n"
	"CREATE UNIQUE INDEX discounts_customer_key ON discounts (tenant_id, customer_id)\n"
	"  WHERE deleted_at IS NULL AND subscription_id IS NULL;\n"
	"CREATE UNIQUE INDEX discounts_subscription_key ON discounts (tenant_id, subscription_id)\n"
	"  WHERE deleted_at IS NULL AND subscription_id IS NOT NULL;\n"
	"ALTER TABLE invoice_lines ADD COLUMN discount_id TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE invoice_lines ADD COLUMN discount_amount BIGINT NOT NULL DEFAULT 0;\n";

static const char step27_postgres[] =
	"ALTER TABLE invoices ADD COLUMN discount_id TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE invoices ADD COLUMN total_discount BIGINT NOT NULL DEFAULT 0;\n"
	"ALTER TABLE invoices DROP CONSTRAINT invoices_sums;\n"
	"ALTER TABLE invoices ADD CONSTRAINT invoices_sums CHECK (\n"
	"  total = subtotal - total_discount + tax AND\n"
	"  amount_due = total + starting_balance - ending_balance - amount_paid -\n"
	"    pre_payment_credit_notes_amount);\n"
	TENANT_POLICY("discounts")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON discounts TO billing_runtime;");

#define INVOICE_COLUMNS_V27 INVOICE_COLUMNS_V18 ", " \
	"pre_payment_credit_notes_amount, post_payment_credit_notes_amount"

static const char step27_sqlite[] =
	"CREATE TABLE invoices_v27 (\n"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  customer_id TEXT NOT NULL,\n"
	"  subscription_id TEXT,\n"
	"  number TEXT,\n"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 6),\n"
	"  currency TEXT NOT NULL,\n"
	"  subtotal BIGINT NOT NULL,\n"
	"  tax BIGINT NOT NULL,\n"
	"  total BIGINT NOT NULL,\n"
	"  amount_paid BIGINT NOT NULL,\n"
	"  amount_due BIGINT NOT NULL,\n"
	"  period_start BIGINT NOT NULL,\n"
	"  period_end BIGINT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  finalized_at BIGINT,\n"
	"  paid_at BIGINT,\n"
	"  voided_at BIGINT,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  attempt_count INTEGER NOT NULL DEFAULT 0,\n"
	"  next_attempt_at BIGINT,\n"
	"  collection_method INTEGER NOT NULL DEFAULT 1 CHECK (collection_method IN (1, 2)),\n"
	"  days_until_due INTEGER CHECK (days_until_due >= 0),\n"
	"  due_date BIGINT,\n"
	"  memo TEXT,\n"
	"  footer TEXT,\n"
	"  starting_balance BIGINT NOT NULL DEFAULT 0,\n"
	"  ending_balance BIGINT NOT NULL DEFAULT 0,\n"
	"  paid_out_of_band INTEGER NOT NULL DEFAULT 0 CHECK (paid_out_of_band IN (0, 1)),\n"
	"  pre_payment_credit_notes_amount BIGINT NOT NULL DEFAULT 0\n"
	"    CHECK (pre_payment_credit_notes_amount >= 0),\n"
	"  post_payment_credit_notes_amount BIGINT NOT NULL DEFAULT 0\n"
	"    CHECK (post_payment_credit_notes_amount >= 0),\n"
	"  discount_id TEXT,\n"
	"  total_discount BIGINT NOT NULL DEFAULT 0,\n"
	"  CONSTRAINT invoices_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT invoices_number_key UNIQUE (tenant_id, number),\n"
	"  CONSTRAINT invoices_sums CHECK (total = subtotal - total_discount + tax AND\n"
	"    amount_due = total + starting_balance - ending_balance - amount_paid -\n"
	"      pre_payment_credit_notes_amount),\n"
	"  CONSTRAINT invoices_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id),\n"
	"  CONSTRAINT invoices_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id)\n"
	");\n"
	"INSERT INTO invoices_v27 (" INVOICE_COLUMNS_V27 ")\n"
	"  SELECT " INVOICE_COLUMNS_V27 " FROM invoices;\n"
	"DROP TABLE invoices;\n"
	"ALTER TABLE invoices_v27 RENAME TO invoices;\n"
	"CREATE INDEX invoices_created ON invoices (tenant_id, created_at, id);\n"
	"CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id);\n"
	"CREATE INDEX invoices_subscription ON invoices (tenant_id, subscription_id);\n";
/* Taxes on invoices (src/core/invoice_tax.c; issue #22): default tax
 * rates (JSON arrays of txr_ ids, NULL: none) on plans, subscriptions,
 * invoice items and draft invoices; the tenant's rounding rule (0 per line, 1 per
 * invoice per rate); an invoice's breakdown per rate and the customer's
 * taxExempt it was computed with; a line's net (taxable_amount: amount
 * until now, no inclusive rate existed) and its tax per rate. */
static const char step28_invoice_taxes[] =
	"ALTER TABLE plans ADD COLUMN default_tax_rates TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE subscriptions ADD COLUMN default_tax_rates TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE invoice_items ADD COLUMN tax_rates TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE invoices ADD COLUMN total_tax_amounts TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE invoices ADD COLUMN customer_tax_exempt INTEGER NOT NULL DEFAULT 0\n"
	"  CHECK (customer_tax_exempt BETWEEN 0 AND 2);\n"
	"ALTER TABLE invoices ADD COLUMN default_tax_rates TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE invoice_lines ADD COLUMN taxable_amount BIGINT;\n"
	"ALTER TABLE invoice_lines ADD COLUMN tax_amounts TEXT /*COLLATE_C*/;\n"
	"CREATE TABLE tax_settings (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  rounding INTEGER NOT NULL CHECK (rounding BETWEEN 0 AND 1),\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  CONSTRAINT tax_settings_pkey PRIMARY KEY (tenant_id)\n"
	");\n";
/* The lines written before: their net is their amount. On PostgreSQL the
 * owner steps outside row-level security for the one statement that
 * spans tenants. */
static const char step28_sqlite[] = "UPDATE invoice_lines SET taxable_amount = amount;\n";
static const char step28_postgres[] =
	TENANT_POLICY("tax_settings")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON tax_settings TO billing_runtime;")
	"ALTER TABLE invoice_lines NO FORCE ROW LEVEL SECURITY;\n"
	"UPDATE invoice_lines SET taxable_amount = amount;\n"
	"ALTER TABLE invoice_lines FORCE ROW LEVEL SECURITY;\n";

/* The tenant's retention of raw usage events (src/core/usage.c,
 * billing_usage_prune; issue #23 item 4): retention_days (0: forever) and
 * pruned_before, the cutoff of the last prune (events before it are gone,
 * and refused from then on). The prune deletes: the runtime role gets
 * DELETE on usage_events, and on nothing else of usage.
 * A stored aggregate's id gains its period's end,
 * "<meter>/<customer>/<start>/<end>": a span of one start closed with
 * another end (billing_usage_aggregate) is another row, and no longer
 * stops the renewal that stores the subscription's own period. */
static const char step29_usage_retention[] =
	"ALTER TABLE usage_settings ADD COLUMN retention_days BIGINT NOT NULL DEFAULT 0\n"
	"  CHECK (retention_days BETWEEN 0 AND 3660);\n"
	"ALTER TABLE usage_settings ADD COLUMN pruned_before BIGINT NOT NULL DEFAULT 0\n"
	"  CHECK (pruned_before >= 0);\n";
static const char step29_sqlite[] =
	"UPDATE usage_aggregates SET id = id || '/' || CAST(period_end AS TEXT);\n";
static const char step29_postgres[] =
	GRANT_RUNTIME("GRANT DELETE ON usage_events TO billing_runtime;")
	"ALTER TABLE usage_aggregates NO FORCE ROW LEVEL SECURITY;\n"
	"UPDATE usage_aggregates SET id = id || '/' || CAST(period_end AS TEXT);\n"
	"ALTER TABLE usage_aggregates FORCE ROW LEVEL SECURITY;\n";
/* Credit notes credit a line's discount and its tax per rate in
 * proportion (issue #20 item 3, #22 item 5; credit_note_issue.c): their
 * sums per rate and per discount, as invoices show theirs. Notes issued
 * before credited neither: []. */
static const char step30_credit_note_sums[] =
	"ALTER TABLE credit_notes ADD COLUMN total_tax_amounts TEXT /*COLLATE_C*/ NOT NULL "
	"DEFAULT '[]';\n"
	"ALTER TABLE credit_notes ADD COLUMN total_discount_amounts TEXT /*COLLATE_C*/ NOT NULL "
	"DEFAULT '[]';\n";
/* Customers' documents (src/core/customer.c; issue #24): the billing
 * address, a JSON object of up to six strings {line1, line2, city,
 * postalCode, region, country} the core checks (country ISO 3166-1
 * alpha-2), NULL when none; the locale their documents use by default
 * (en-US, en-GB, de-DE, fr-FR, es-ES or ja-JP), NULL when none. */
static const char step31_customer_documents[] =
	"ALTER TABLE customers ADD COLUMN address TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE customers ADD COLUMN preferred_locale TEXT /*COLLATE_C*/;\n";

/* The discount shown on customers and subscriptions (issue #22; written by
 * src/core/discount_object.c with every change of a discount): the live
 * discount of the level as JSON {id, couponId, promotionCodeId, start,
 * end}, times as the API writes them; NULL: none. The discounts made
 * before this step are copied in; only the time format differs between
 * the dialects. */
static const char step32_discount_shown[] =
	"ALTER TABLE customers ADD COLUMN discount TEXT /*COLLATE_C*/;\n"
	"ALTER TABLE subscriptions ADD COLUMN discount TEXT /*COLLATE_C*/;\n";

#define STEP32_JSON(TIME) \
	"'{\"id\":\"' || d.id || '\",\"couponId\":\"' || d.coupon_id ||\n" \
	"  '\",\"promotionCodeId\":' || COALESCE('\"' || d.promotion_code_id || '\"', 'null') ||\n" \
	"  ',\"start\":\"' || " TIME("d.start_at") " ||\n" \
	"  '\",\"end\":' || COALESCE('\"' || " TIME("d.end_at") " || '\"', 'null') || '}'"
#define STEP32_FILL(TIME) \
	"UPDATE customers SET discount = (SELECT " STEP32_JSON(TIME) "\n" \
	"  FROM discounts d WHERE d.tenant_id = customers.tenant_id AND\n" \
	"  d.customer_id = customers.id AND d.subscription_id IS NULL AND\n" \
	"  d.deleted_at IS NULL);\n" \
	"UPDATE subscriptions SET discount = (SELECT " STEP32_JSON(TIME) "\n" \
	"  FROM discounts d WHERE d.tenant_id = subscriptions.tenant_id AND\n" \
	"  d.subscription_id = subscriptions.id AND d.deleted_at IS NULL);\n"
#define STEP32_SQLITE_TIME(c) "strftime('%Y-%m-%dT%H:%M:%SZ', " c ", 'unixepoch')"
#define STEP32_PG_TIME(c) \
	"to_char(to_timestamp(" c ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char step32_sqlite[] = STEP32_FILL(STEP32_SQLITE_TIME);
/* The owner steps outside row-level security for the statements that
 * span tenants (as step 28). */
static const char step32_postgres[] =
	"ALTER TABLE customers NO FORCE ROW LEVEL SECURITY;\n"
	"ALTER TABLE subscriptions NO FORCE ROW LEVEL SECURITY;\n"
	"ALTER TABLE discounts NO FORCE ROW LEVEL SECURITY;\n"
	STEP32_FILL(STEP32_PG_TIME)
	"ALTER TABLE customers FORCE ROW LEVEL SECURITY;\n"
	"ALTER TABLE subscriptions FORCE ROW LEVEL SECURITY;\n"
	"ALTER TABLE discounts FORCE ROW LEVEL SECURITY;\n";
/* A customer's subscriptions and invoices, listed in creation order (usage
 * ingestion lists each customer's live subscriptions; GET of a customer's
 * invoices), by an index that both narrows and orders: with (tenant_id,
 * customer_id) alone SQLite, without statistics, chose (tenant_id,
 * created_at, id) for the order and read every row of the tenant
 * (storage_sqlite_plans). The same statements on both backends. */
static const char step34_customer_indexes[] =
	"DROP INDEX subscriptions_customer;\n"
	"CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id, created_at, id);\n"
	"DROP INDEX invoices_customer;\n"
	"CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id, created_at, id);\n";

/* Invoice settings (core/invoice_settings.c): a tenant sets its own
 * renewal draft delay, a column of its row, which only the platform wrote
 * until now (the tenants policy checks every written row for platform
 * mode). A tenant may now update its own row, no other (the row it finds
 * and the row it leaves both carry its id: another tenant's row is not
 * seen), and in it only renewal_draft_delay and updated_at: a trigger
 * refuses any other column's change outside platform mode (42501, as the
 * policies). A column-level GRANT would not do it: the runtime role, the
 * platform's too, already holds UPDATE on every column of tenants (step
 * 1), and policies cannot name columns. Inserts and deletes stay the
 * platform's. SQLite has no row-level security. */
static const char step33_postgres[] =
	"CREATE POLICY tenants_own_update ON tenants FOR UPDATE\n"
	"  USING (tenant_id = current_setting('billing.tenant_id', true))\n"
	"  WITH CHECK (tenant_id = current_setting('billing.tenant_id', true));\n"
	"CREATE FUNCTION tenants_own_columns() RETURNS trigger LANGUAGE plpgsql AS $f$\n"
	"BEGIN\n"
	"  IF current_setting('billing.platform', true) IS DISTINCT FROM 'on' AND\n"
	"     to_jsonb(NEW) - 'renewal_draft_delay' - 'updated_at' IS DISTINCT FROM\n"
	"     to_jsonb(OLD) - 'renewal_draft_delay' - 'updated_at' THEN\n"
	"    RAISE EXCEPTION 'a tenant may change only its renewal_draft_delay'\n"
	"      USING ERRCODE = '42501';\n"
	"  END IF;\n"
	"  RETURN NEW;\n"
	"END $f$;\n"
	"CREATE TRIGGER tenants_own_columns BEFORE UPDATE ON tenants\n"
	"  FOR EACH ROW EXECUTE FUNCTION tenants_own_columns();\n";
/* The tenant's branding (src/core/branding.c; issue #24): what its
 * documents show of the seller, a tenant-settings row (core/settings.h),
 * NULL columns for what is not set. The logo is its PNG or JPEG file in
 * standard base64 (at most 256 KiB decoded), the address a JSON object as
 * a customer's (step 31). */
static const char step35_branding[] =
	"CREATE TABLE branding (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  legal_name TEXT /*COLLATE_C*/,\n"
	"  address TEXT /*COLLATE_C*/,\n"
	"  tax_id TEXT /*COLLATE_C*/,\n"
	"  logo TEXT /*COLLATE_C*/,\n"
	"  accent_color TEXT /*COLLATE_C*/,\n"
	"  footer TEXT /*COLLATE_C*/,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  CONSTRAINT branding_pkey PRIMARY KEY (tenant_id)\n"
	");\n";
static const char step35_postgres[] =
	TENANT_POLICY("branding")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON branding TO billing_runtime;");

/* A metered plan's subscription item has no quantity (issue #23 item 1):
 * subscription_items.quantity and subscriptions.quantity (the first
 * item's) become nullable, NULL on a metered plan's item; the CHECK
 * (quantity >= 1) stays, which NULL passes. Until now such an item stored
 * 1: those rows get NULL, and the subscriptions' copy of their items
 * (items, step 24) is written again from the items in item_no order, with
 * "quantity":null for them. PostgreSQL drops NOT NULL in place. SQLite
 * cannot, so both tables are rebuilt by its documented procedure (as steps
 * 5 and 16; foreign keys are off for the migration and checked before it
 * commits): the new table with every column the old one has (those added
 * by steps 24, 28 and 32 too), the rows copied, the old one dropped, the
 * new one renamed, and every index again (step 34's subscriptions_customer
 * too). Neither table has a trigger on SQLite; the tenant policies are
 * PostgreSQL's, whose tables are not rebuilt. */
#define STEP36_SUBSCRIPTIONS_SQLITE \
	"CREATE TABLE subscriptions_v36 (\n" \
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n" \
	"  id TEXT NOT NULL,\n" \
	"  customer_id TEXT NOT NULL,\n" \
	"  plan_id TEXT NOT NULL,\n" \
	"  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 9),\n" \
	"  quantity INTEGER CHECK (quantity >= 1),\n" \
	"  currency TEXT NOT NULL,\n" \
	"  anchor BIGINT NOT NULL,\n" \
	"  period_index BIGINT NOT NULL,\n" \
	"  current_period_start BIGINT NOT NULL,\n" \
	"  current_period_end BIGINT NOT NULL CHECK (current_period_end > current_period_start),\n" \
	"  trial_end BIGINT,\n" \
	"  cancel_at_period_end INTEGER NOT NULL CHECK (cancel_at_period_end IN (0, 1)),\n" \
	"  canceled_at BIGINT,\n" \
	"  ended_at BIGINT,\n" \
	"  latest_invoice_id TEXT,\n" \
	"  pending_plan_id TEXT,\n" \
	"  metadata TEXT NOT NULL,\n" \
	"  created_at BIGINT NOT NULL,\n" \
	"  updated_at BIGINT NOT NULL,\n" \
	"  version BIGINT NOT NULL,\n" \
	"  items TEXT,\n" \
	"  default_tax_rates TEXT,\n" \
	"  discount TEXT,\n" \
	"  CONSTRAINT subscriptions_pkey PRIMARY KEY (tenant_id, id),\n" \
	"  CONSTRAINT subscriptions_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n" \
	"    REFERENCES customers (tenant_id, id),\n" \
	"  CONSTRAINT subscriptions_plan_fkey FOREIGN KEY (tenant_id, plan_id)\n" \
	"    REFERENCES plans (tenant_id, id),\n" \
	"  CONSTRAINT subscriptions_pending_plan_fkey FOREIGN KEY (tenant_id, pending_plan_id)\n" \
	"    REFERENCES plans (tenant_id, id)\n" \
	");\n" \
	"INSERT INTO subscriptions_v36 (" SUBSCRIPTION_COLUMNS ", items, default_tax_rates,\n" \
	"    discount)\n" \
	"  SELECT " SUBSCRIPTION_COLUMNS ", items, default_tax_rates, discount\n" \
	"  FROM subscriptions;\n" \
	"DROP TABLE subscriptions;\n" \
	"ALTER TABLE subscriptions_v36 RENAME TO subscriptions;\n" \
	"CREATE INDEX subscriptions_created ON subscriptions (tenant_id, created_at, id);\n" \
	"CREATE INDEX subscriptions_period_end ON subscriptions (tenant_id, current_period_end, id);\n" \
	"CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id, created_at, id);\n" \
	"CREATE INDEX subscriptions_plan ON subscriptions (tenant_id, plan_id, status);\n"
#define STEP36_ITEM_COLUMNS \
	"tenant_id, id, subscription_id, plan_id, quantity, item_no, created_at, updated_at, version"
#define STEP36_ITEMS_SQLITE \
	"CREATE TABLE subscription_items_v36 (\n" \
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n" \
	"  id TEXT NOT NULL,\n" \
	"  subscription_id TEXT NOT NULL,\n" \
	"  plan_id TEXT NOT NULL,\n" \
	"  quantity INTEGER CHECK (quantity >= 1),\n" \
	"  item_no INTEGER NOT NULL CHECK (item_no >= 1),\n" \
	"  created_at BIGINT NOT NULL,\n" \
	"  updated_at BIGINT NOT NULL,\n" \
	"  version BIGINT NOT NULL CHECK (version >= 1),\n" \
	"  CONSTRAINT subscription_items_pkey PRIMARY KEY (tenant_id, id),\n" \
	"  CONSTRAINT subscription_items_plan_key UNIQUE (tenant_id, subscription_id, plan_id),\n" \
	"  CONSTRAINT subscription_items_no_key UNIQUE (tenant_id, subscription_id, item_no),\n" \
	"  CONSTRAINT subscription_items_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n" \
	"    REFERENCES subscriptions (tenant_id, id),\n" \
	"  CONSTRAINT subscription_items_plan_fkey FOREIGN KEY (tenant_id, plan_id)\n" \
	"    REFERENCES plans (tenant_id, id)\n" \
	");\n" \
	"INSERT INTO subscription_items_v36 (" STEP36_ITEM_COLUMNS ")\n" \
	"  SELECT " STEP36_ITEM_COLUMNS " FROM subscription_items;\n" \
	"DROP TABLE subscription_items;\n" \
	"ALTER TABLE subscription_items_v36 RENAME TO subscription_items;\n" \
	"CREATE INDEX subscription_items_created ON subscription_items (tenant_id, created_at, id);\n"
/* The rows of metered plans' items lose their 1, then the copies of the
 * subscriptions that hold one are written again. */
#define STEP36_METERED(alias) \
	"EXISTS (SELECT 1 FROM plans p WHERE p.tenant_id = " alias ".tenant_id AND\n" \
	"  p.id = " alias ".plan_id AND p.usage_type = 1)"
#define STEP36_ITEM_JSON \
	"'{\"id\":\"' || si.id || '\",\"planId\":\"' || si.plan_id || '\",\"quantity\":' ||\n" \
	"  COALESCE(CAST(si.quantity AS TEXT), 'null') || '}'"
#define STEP36_FILL(ITEMS_ARRAY) \
	"UPDATE subscription_items SET quantity = NULL WHERE " STEP36_METERED("subscription_items") ";\n" \
	"UPDATE subscriptions SET quantity = NULL WHERE " STEP36_METERED("subscriptions") ";\n" \
	"UPDATE subscriptions SET items = " ITEMS_ARRAY "\n" \
	"  WHERE EXISTS (SELECT 1 FROM subscription_items m WHERE\n" \
	"    m.tenant_id = subscriptions.tenant_id AND m.subscription_id = subscriptions.id AND\n" \
	"    m.quantity IS NULL);\n"
/* SQLite 3.35 has no ORDER BY inside an aggregate: group_concat as a
 * window function over item_no, whose frame is every row, in that order. */
#define STEP36_SQLITE_ARRAY \
	"(SELECT '[' || group_concat(j, ',') OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING\n" \
	"    AND UNBOUNDED FOLLOWING) || ']'\n" \
	"  FROM (SELECT " STEP36_ITEM_JSON " AS j, si.item_no AS n FROM subscription_items si\n" \
	"    WHERE si.tenant_id = subscriptions.tenant_id AND si.subscription_id = subscriptions.id)\n" \
	"  LIMIT 1)"
#define STEP36_PG_ARRAY \
	"(SELECT '[' || string_agg(" STEP36_ITEM_JSON ", ',' ORDER BY si.item_no) || ']'\n" \
	"  FROM subscription_items si\n" \
	"  WHERE si.tenant_id = subscriptions.tenant_id AND si.subscription_id = subscriptions.id)"

static const char step36_sqlite[] =
	STEP36_SUBSCRIPTIONS_SQLITE
	STEP36_ITEMS_SQLITE
	STEP36_FILL(STEP36_SQLITE_ARRAY);
/* The owner steps outside row-level security for the statements that
 * span tenants (as step 32). */
static const char step36_postgres[] =
	"ALTER TABLE subscriptions ALTER COLUMN quantity DROP NOT NULL;\n"
	"ALTER TABLE subscription_items ALTER COLUMN quantity DROP NOT NULL;\n"
	"ALTER TABLE subscriptions NO FORCE ROW LEVEL SECURITY;\n"
	"ALTER TABLE subscription_items NO FORCE ROW LEVEL SECURITY;\n"
	"ALTER TABLE plans NO FORCE ROW LEVEL SECURITY;\n"
	STEP36_FILL(STEP36_PG_ARRAY)
	"ALTER TABLE subscriptions FORCE ROW LEVEL SECURITY;\n"
	"ALTER TABLE subscription_items FORCE ROW LEVEL SECURITY;\n"
	"ALTER TABLE plans FORCE ROW LEVEL SECURITY;\n";

/* A draft invoice's own discount (issue #22; src/core/discount_object.c,
 * invoice_draft.c): discounts.invoice_id names the draft (subscription_id
 * is then NULL), so the customer's one live discount is the one of no
 * subscription and no invoice, and an invoice has at most one live
 * discount of its own. No foreign key: a draft deleted deletes its
 * discount (deleted_at), whose row stays (its redemption counted). */
static const char step37_invoice_discounts[] =
	"ALTER TABLE discounts ADD COLUMN invoice_id TEXT /*COLLATE_C*/;\n"
	"DROP INDEX discounts_customer_key;\n"
	"CREATE UNIQUE INDEX discounts_customer_key ON discounts (tenant_id, customer_id)\n"
	"  WHERE deleted_at IS NULL AND subscription_id IS NULL AND invoice_id IS NULL;\n"
	"CREATE UNIQUE INDEX discounts_invoice_key ON discounts (tenant_id, invoice_id)\n"
	"  WHERE deleted_at IS NULL AND invoice_id IS NOT NULL;\n";

static const char step38_spend_thresholds[] =
	"ALTER TABLE subscriptions ADD COLUMN threshold_amount_gte BIGINT\n"
	"  CHECK (threshold_amount_gte > 0);\n";
/* The per-tenant secret of hosted invoice links (src/core/hosted.c,
 * issue #24): 32 random bytes in base64url, made on first use, replaced
 * by a rotation (which kills every earlier link of the tenant). A table of
 * its own, not a settings record: a settings put records the whole record
 * in the audit log, and the secret must reach no log. */
static const char step39_hosted_links[] =
	"CREATE TABLE hosted_link_secrets (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  secret TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  CONSTRAINT hosted_link_secrets_pkey PRIMARY KEY (tenant_id)\n"
	");\n";
static const char step39_postgres[] =
	TENANT_POLICY("hosted_link_secrets")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON hosted_link_secrets TO billing_runtime;");

/* A customer's events (issue #25, the console's customer page; GET
 * /v1/events?customerId=): events.customer_id names the customer an event
 * is about, written by billing__event_emit (src/core/events.c) by one
 * rule: the customer's own events (resource_type 'customer') carry its
 * id, any other event the customerId its data shows (subscriptions,
 * invoices, payments, credit notes, payment methods, discounts, ...), and
 * the rest NULL. The rows written before this step get it by the same
 * rule from their stored data (SQLite's json_extract, PostgreSQL's jsonb;
 * data is always an object the library wrote). The index narrows to the
 * customer and orders as the list pages, keyset on (created_at, id). */
#define STEP40_FILL(CUSTOMER_OF_DATA) \
	"UPDATE events SET customer_id = CASE WHEN resource_type = 'customer' THEN resource_id\n" \
	"  ELSE " CUSTOMER_OF_DATA " END;\n"
static const char step40_event_customers[] =
	"ALTER TABLE events ADD COLUMN customer_id TEXT /*COLLATE_C*/;\n"
	"CREATE INDEX events_customer ON events (tenant_id, customer_id, created_at, id);\n";
/* json_extract gives a JSON string's text; anything else (a number, an
 * object) is no customer id. */
static const char step40_sqlite[] =
	STEP40_FILL("CASE WHEN json_type(data, '$.customerId') = 'text'\n"
		"    THEN json_extract(data, '$.customerId') END");
/* The owner steps outside row-level security for the statement that
 * spans tenants (as step 32). */
static const char step40_postgres[] =
	"ALTER TABLE events NO FORCE ROW LEVEL SECURITY;\n"
	STEP40_FILL("CASE WHEN jsonb_typeof(data::jsonb -> 'customerId') = 'string'\n"
		"    THEN data::jsonb ->> 'customerId' END")
	"ALTER TABLE events FORCE ROW LEVEL SECURITY;\n";

/* Spend thresholds (issue #23; src/core/usage.c, docs/usage.md "Spend
 * thresholds"): an invoice's billing reason (NULL: a period's or a
 * manual invoice; "subscription_threshold": a threshold's early one), and
 * what the threshold invoices of a period have billed of a subscription
 * item's usage so far: the amount (the sum of those non-void lines) and
 * the aggregate they billed through, one row per subscription, item,
 * meter and period start (the generic records' single key: id is
 * "<subscription>/<item>/<meter>/<period start>"). The period's closing
 * line bills price(aggregate) - amount. */
static const char step41_usage_billed[] =
	"ALTER TABLE invoices ADD COLUMN billing_reason TEXT /*COLLATE_C*/;\n"
	"CREATE TABLE usage_billed (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subscription_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  item_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  meter_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  period_start BIGINT NOT NULL,\n"
	"  amount BIGINT NOT NULL,\n"
	"  quantity BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT usage_billed_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT usage_billed_subscription_fkey FOREIGN KEY (tenant_id, subscription_id)\n"
	"    REFERENCES subscriptions (tenant_id, id)\n"
	");\n";

static const char step41_postgres[] =
	TENANT_POLICY("usage_billed")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE ON usage_billed TO billing_runtime;");

/* PostgreSQL only: usage_events partitioned by month (issue #23 item 4;
 * docs/usage.md "Monthly partitions"). A partitioned table's unique keys
 * must hold its partition key, and the dedupe key (tenant_id,
 * transaction_id) does not: it moves to usage_event_keys, not partitioned,
 * which also gives a void its event's month. usage_events becomes
 * PARTITION BY RANGE (occurred_at), one partition a UTC month named
 * usage_events_YYYY_MM, and a DEFAULT partition so that an insert never
 * fails for lack of one; its indexes are made on the parent, so every
 * partition has them. usage_insert writes a batch's keys and events in
 * one statement (the keys' ON CONFLICT DO NOTHING decides which events are
 * written). Partitions are the owner's: billing_usage_partition(at), a
 * SECURITY DEFINER function owned by the role that migrates and the only
 * thing the runtime role may call to get one, makes the month of at
 * (epoch seconds) if it is missing, moving that month's rows out of the
 * DEFAULT partition in the caller's transaction. It is built beside the
 * table (CREATE TABLE ... LIKE, the rows moved in, ATTACH PARTITION): an
 * attach takes SHARE UPDATE EXCLUSIVE on usage_events, where CREATE TABLE
 * ... PARTITION OF would take ACCESS EXCLUSIVE and stop every ingest and
 * aggregate until the caller commits. The advisory lock serializes two
 * callers of one month; to_regclass reads the catalog as of now.
 * The existing rows move in the step's transaction: partitions for their
 * months and for the database clock's current and next months (only
 * which empty partitions exist early depends on that clock). */
static const char step42_postgres[] =
	"ALTER TABLE usage_events RENAME TO usage_events_old;\n"
	"ALTER INDEX usage_events_aggregate RENAME TO usage_events_old_aggregate;\n"
	"ALTER TABLE usage_events_old RENAME CONSTRAINT usage_events_pkey TO usage_events_old_pkey;\n"
	"ALTER TABLE usage_events_old NO FORCE ROW LEVEL SECURITY;\n"
	"CREATE TABLE usage_event_keys (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  transaction_id TEXT /*COLLATE_C*/ NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 255),\n"
	"  occurred_at BIGINT NOT NULL,\n"
	"  CONSTRAINT usage_event_keys_pkey PRIMARY KEY (tenant_id, transaction_id)\n"
	");\n"
	"CREATE INDEX usage_event_keys_occurred ON usage_event_keys\n"
	"  (tenant_id, occurred_at, transaction_id);\n"
	"CREATE TABLE usage_events (\n"
	"  tenant_id TEXT /*COLLATE_C*/ NOT NULL REFERENCES tenants (tenant_id),\n"
	"  transaction_id TEXT /*COLLATE_C*/ NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 255),\n"
	"  event_name TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  customer_id TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  subscription_id TEXT /*COLLATE_C*/,\n"
	"  occurred_at BIGINT NOT NULL,\n"
	"  properties TEXT /*COLLATE_C*/ NOT NULL,\n"
	"  received_at BIGINT NOT NULL,\n"
	"  voided_at BIGINT,\n"
	"  version BIGINT NOT NULL CHECK (version >= 1),\n"
	"  CONSTRAINT usage_events_customer_fkey FOREIGN KEY (tenant_id, customer_id)\n"
	"    REFERENCES customers (tenant_id, id)\n"
	") PARTITION BY RANGE (occurred_at);\n"
	"CREATE INDEX usage_events_key ON usage_events (tenant_id, transaction_id);\n"
	"CREATE INDEX usage_events_aggregate ON usage_events\n"
	"  (tenant_id, customer_id, event_name, occurred_at);\n"
	"CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT;\n"
	"CREATE FUNCTION billing_usage_partition(at BIGINT) RETURNS BOOLEAN\n"
	"LANGUAGE plpgsql SECURITY DEFINER AS $fn$\n"
	"DECLARE\n"
	"  m TIMESTAMP := date_trunc('month', to_timestamp(at) AT TIME ZONE 'UTC');\n"
	"  lo BIGINT := extract(epoch FROM m)::BIGINT;\n"
	"  hi BIGINT := extract(epoch FROM m + INTERVAL '1 month')::BIGINT;\n"
	"  part TEXT := 'usage_events_' || to_char(m, 'YYYY_MM');\n"
	"BEGIN\n"
	"  PERFORM pg_advisory_xact_lock(hashtext('billing_usage_partition'), hashtext(part));\n"
	"  IF to_regclass(quote_ident(part)) IS NOT NULL THEN\n"
	"    RETURN false;\n"
	"  END IF;\n"
	"  EXECUTE format('CREATE TABLE %I (LIKE usage_events INCLUDING DEFAULTS "
	"INCLUDING CONSTRAINTS)', part);\n"
	"  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (occurred_at >= %s AND "
	"occurred_at < %s)', part, part || '_month', lo, hi);\n"
	"  EXECUTE format('WITH moved AS (DELETE FROM usage_events_default WHERE occurred_at >= %s "
	"AND occurred_at < %s RETURNING *) INSERT INTO %I SELECT * FROM moved', lo, hi, part);\n"
	"  EXECUTE format('ALTER TABLE usage_events ATTACH PARTITION %I FOR VALUES FROM (%s) "
	"TO (%s)', part, lo, hi);\n"
	"  RETURN true;\n"
	"END $fn$;\n"
	"DO $sp$ BEGIN\n"
	"  EXECUTE format('ALTER FUNCTION billing_usage_partition(BIGINT) SET search_path = %I, "
	"pg_temp', current_schema());\n"
	"END $sp$;\n"
	"REVOKE ALL ON FUNCTION billing_usage_partition(BIGINT) FROM PUBLIC;\n"
	"SELECT billing_usage_partition(at) FROM (SELECT DISTINCT\n"
	"  extract(epoch FROM date_trunc('month', to_timestamp(occurred_at) AT TIME ZONE 'UTC'))::BIGINT\n"
	"  FROM usage_events_old\n"
	"  UNION SELECT extract(epoch FROM now())::BIGINT\n"
	"  UNION SELECT extract(epoch FROM now() + INTERVAL '1 month')::BIGINT) AS months (at)\n"
	"  ORDER BY at;\n"
	"INSERT INTO usage_event_keys (tenant_id, transaction_id, occurred_at)\n"
	"  SELECT tenant_id, transaction_id, occurred_at FROM usage_events_old;\n"
	"INSERT INTO usage_events (tenant_id, transaction_id, event_name, customer_id,\n"
	"  subscription_id, occurred_at, properties, received_at, voided_at, version)\n"
	"  SELECT tenant_id, transaction_id, event_name, customer_id, subscription_id, occurred_at,\n"
	"  properties, received_at, voided_at, version FROM usage_events_old;\n"
	"DROP TABLE usage_events_old;\n"
	TENANT_POLICY("usage_events")
	TENANT_POLICY("usage_event_keys")
	GRANT_RUNTIME("GRANT SELECT, INSERT, UPDATE, DELETE ON usage_events TO billing_runtime;\n"
		"    GRANT SELECT, INSERT, DELETE ON usage_event_keys TO billing_runtime;\n"
		"    GRANT EXECUTE ON FUNCTION billing_usage_partition(BIGINT) TO billing_runtime;");

/* The tenant's locale (issue #25 item 3; src/core/branding.c): one of the
 * document locales, NULL meaning en-US. Its documents' customers without a
 * preferred locale get it, and the console formats amounts in it. */
static const char step43_branding_locale[] =
	"ALTER TABLE branding ADD COLUMN locale TEXT /*COLLATE_C*/;\n";

static const billing__migration steps[] = {
	{ 1, "catalog: tenants, customers, products, plans, idempotency keys",
		step1_catalog, step1_postgres, NULL },
	{ 2, "users: login identities of hosts", step2_users, step2_postgres, NULL },
	{ 3, "billing: subscriptions, invoices, due work, events", step3_billing, step3_postgres,
		NULL },
	{ 4, "payments: attempts, refunds, provider events, dunning policies", step4_payments,
		step4_postgres, NULL },
	{ 5, "subscriptions: the status unpaid", "", step5_postgres, step5_sqlite },
	{ 6, "webhooks: endpoints, the delivery outbox, attempts; the audit log",
		step6_webhooks, step6_postgres, NULL },
	{ 7, "tax rates", step7_tax_rates, step7_postgres, NULL },
	{ 8, "disputes", step8_disputes, step8_postgres, NULL },
	{ 9, "payments: the status canceled", "", step9_postgres, step9_sqlite },
	{ 10, "payment methods", step10_payment_methods, step10_postgres, NULL },
	{ 11, "provider accounts per tenant", step11_provider_accounts, step11_postgres, NULL },
	{ 12, "payments: the next action of one awaiting the customer", step12_next_action, NULL,
		NULL },
	{ 13, "customer balances: balance transactions, the balance applied to invoices",
		step13_customer_balances, step13_postgres, step13_sqlite },
	{ 14, "webhook endpoints: a version per tenant, for the outbox's cache",
		step14_endpoint_versions, step14_postgres, step14_sqlite },
	{ 15, "dunning policies: the tenant's expiry of payments awaiting action",
		step15_action_expiry, NULL, NULL },
	{ 16, "subscriptions: the status incomplete_expired", "", step16_postgres,
		step16_sqlite },
	{ 17, "invoice items; draft invoices, collection methods, the status uncollectible",
		step17_invoice_items, step17_postgres, step17_sqlite },
	{ 18, "credit notes: their own numbering, the invoice's credit-note amounts",
		step18_credit_notes, step18_postgres, step18_sqlite },
	{ 19, "plans: price models (per unit, packages, tiers), usage types", "",
		step19_postgres, step19_sqlite },
	{ 20, "coupons and promotion codes", step20_coupons, step20_postgres, NULL },
	{ 21, "tenants: the delay before a renewal's draft invoice is finalized",
		step21_renewal_drafts, NULL, NULL },
	{ 22, "meters", step22_meters, step22_postgres, NULL },
	{ 23, "usage events, their closed periods' aggregates, usage settings", step23_usage,
		step23_postgres, NULL },
	{ 24, "subscription items; the item of invoice and pending lines",
		step24_subscription_items, step24_postgres, NULL },
	{ 25, "invoice lines: the tiers of a tiered plan's line", step25_line_tiers, NULL, NULL },
	{ 26, "customers: taxExempt and taxIds", step26_customer_taxes, NULL, NULL },
	{ 27, "discounts; the discount of invoices and their lines", step27_discounts,
		step27_postgres, step27_sqlite },
	{ 28, "taxes on invoices: default tax rates, rounding, the breakdown per rate",
		step28_invoice_taxes, step28_postgres, step28_sqlite },
	{ 29, "usage: the retention of raw events, the last prune's cutoff; aggregates keyed "
		"by their end", step29_usage_retention, step29_postgres, step29_sqlite },
	{ 30, "credit notes: the tax per rate and the discounts they credit",
		step30_credit_note_sums, NULL, NULL },
	{ 31, "customers: the billing address and the preferred locale of documents",
		step31_customer_documents, NULL, NULL },
	{ 32, "customers and subscriptions: the discount they show", step32_discount_shown,
		step32_postgres, step32_sqlite },
	{ 33, "tenants: a tenant updates its own renewal draft delay, and nothing else",
		"", step33_postgres, NULL },
	{ 34, "subscriptions and invoices: a customer's, by one index in creation order",
		step34_customer_indexes, NULL, NULL },
	{ 35, "branding: the seller's block of the tenant's documents", step35_branding,
		step35_postgres, NULL },
	{ 36, "subscription items: a metered plan's has no quantity (NULL)", "",
		step36_postgres, step36_sqlite },
	{ 37, "discounts: a draft invoice's own", step37_invoice_discounts, NULL, NULL },
	{ 38, "subscriptions: the spend threshold", step38_spend_thresholds, NULL, NULL },
	{ 39, "hosted invoice links: the tenant's secret", step39_hosted_links, step39_postgres,
		NULL },
	{ 40, "events: the customer each is about, for a customer's event list",
		step40_event_customers, step40_postgres, step40_sqlite },
	{ 41, "spend thresholds: an invoice's billing reason, the usage its threshold invoices "
		"billed", step41_usage_billed, step41_postgres, NULL },
	{ 42, "usage events: partitioned by month on PostgreSQL, the dedupe key in a table of "
		"its own", "", step42_postgres, NULL },
	{ 43, "branding: the tenant's locale", step43_branding_locale, NULL, NULL },
};

size_t billing__migrations_upto;

const billing__migration *billing__migrations(size_t *count)
{
	*count = sizeof(steps) / sizeof(steps[0]);
	if (billing__migrations_upto && billing__migrations_upto < *count)
		*count = billing__migrations_upto;
	return steps;
}

int billing__migration_checksum(char out[65], const billing__migration *m)
{
	uint8_t digest[32];
	size_t a = strlen(m->sql), b = m->postgres_sql ? strlen(m->postgres_sql) : 0;
	size_t c = m->sqlite_sql ? strlen(m->sqlite_sql) : 0;
	char *text = malloc(a + b + c + 3);
	size_t len;
	int rc;

	if (!text)
		return -1;
	memcpy(text, m->sql, a);
	text[a] = '\n';
	if (b)
		memcpy(text + a + 1, m->postgres_sql, b);
	len = a + 1 + b;
	/* Steps without a SQLite part keep the checksum they shipped with. */
	if (c) {
		text[len++] = '\n';
		memcpy(text + len, m->sqlite_sql, c);
		len += c;
	}
	text[len] = '\0';
	rc = billing__sha256(digest, text, len);
	free(text);
	if (rc < 0)
		return -1;
	billing__hex_encode(out, digest, sizeof(digest));
	return 0;
}
