/*
 * Schema steps. Rules every step follows:
 * - every primary key starts with tenant_id, every foreign key is composite
 *   (tenant_id, ...), every unique constraint is per tenant, so a row can
 *   never point into another tenant and the schema can be distributed by
 *   tenant without change;
 * - only types and syntax that SQLite and PostgreSQL read alike (TEXT,
 *   INTEGER, BIGINT, CHECK, named constraints);
 * - a shipped step is never edited: add a new one.
 */
#include "core/encode.h"
#include "storage/migrations.h"

#include <string.h>

static const char step1_catalog[] =
	"CREATE TABLE billing_meta (\n"
	"  meta_key TEXT PRIMARY KEY,\n"
	"  meta_value TEXT NOT NULL\n"
	");\n"
	"CREATE TABLE tenants (\n"
	"  tenant_id TEXT PRIMARY KEY,\n"
	"  name TEXT NOT NULL,\n"
	"  invoice_prefix TEXT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL\n"
	");\n"
	"CREATE INDEX tenants_created ON tenants (created_at, tenant_id);\n"
	"CREATE INDEX tenants_name ON tenants (name, tenant_id);\n"
	"CREATE TABLE customers (\n"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  email TEXT NOT NULL,\n"
	"  email_key TEXT NOT NULL,\n"
	"  default_payment_method TEXT,\n"
	"  metadata TEXT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT customers_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT customers_email_key UNIQUE (tenant_id, email_key)\n"
	");\n"
	"CREATE INDEX customers_created ON customers (tenant_id, created_at, id);\n"
	"CREATE INDEX customers_name ON customers (tenant_id, name, id);\n"
	"CREATE TABLE products (\n"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  sku TEXT NOT NULL,\n"
	"  description TEXT,\n"
	"  price_cents BIGINT NOT NULL CHECK (price_cents >= 0),\n"
	"  currency TEXT NOT NULL,\n"
	"  tax_rate_bp INTEGER NOT NULL CHECK (tax_rate_bp >= 0 AND tax_rate_bp < 10000),\n"
	"  is_active INTEGER NOT NULL CHECK (is_active IN (0, 1)),\n"
	"  stock BIGINT NOT NULL CHECK (stock >= 0),\n"
	"  low_stock_threshold BIGINT NOT NULL CHECK (low_stock_threshold >= 0),\n"
	"  metadata TEXT NOT NULL,\n"
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
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  product_id TEXT NOT NULL,\n"
	"  code TEXT NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  description TEXT,\n"
	"  amount BIGINT NOT NULL CHECK (amount > 0),\n"
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
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  idem_key TEXT NOT NULL,\n"
	"  operation TEXT NOT NULL,\n"
	"  request_hash TEXT NOT NULL,\n"
	"  resource_id TEXT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, idem_key)\n"
	");\n";

/* Users log in with an e-mail and no tenant, so the address identifies a
 * login across the platform: the one unique constraint that is not per
 * tenant. */
static const char step2_users[] =
	"CREATE TABLE users (\n"
	"  tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),\n"
	"  id TEXT NOT NULL,\n"
	"  email TEXT NOT NULL,\n"
	"  email_key TEXT NOT NULL,\n"
	"  role INTEGER NOT NULL CHECK (role IN (1, 2)),\n"
	"  password_hash TEXT NOT NULL,\n"
	"  created_at BIGINT NOT NULL,\n"
	"  updated_at BIGINT NOT NULL,\n"
	"  version BIGINT NOT NULL,\n"
	"  CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id),\n"
	"  CONSTRAINT users_email_key UNIQUE (email_key)\n"
	");\n";

static const billing__migration steps[] = {
	{ 1, "catalog: tenants, customers, products, plans, idempotency keys", step1_catalog },
	{ 2, "users: login identities of hosts", step2_users },
};

const billing__migration *billing__migrations(size_t *count)
{
	*count = sizeof(steps) / sizeof(steps[0]);
	return steps;
}

int billing__migration_checksum(char out[65], const billing__migration *m)
{
	uint8_t digest[32];
	if (billing__sha256(digest, m->sql, strlen(m->sql)) < 0)
		return -1;
	billing__hex_encode(out, digest, sizeof(digest));
	return 0;
}
