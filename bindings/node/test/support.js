'use strict';
// What the binding's tests share: the backends and a fresh database per
// suite. SQLite always (a temporary file); PostgreSQL as well when
// BILLING_TEST_PG_HOST is set (scripts/with-postgres.sh sets it): a schema of
// its own in the database "billing", created and migrated as billing_owner
// and used as billing_app, the two-role setup of docs/postgres.md.

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const billing = require('..');

const PG_HOST = process.env.BILLING_TEST_PG_HOST || '';
const PSQL = process.env.PSQL || 'psql';

function backends() {
  return PG_HOST ? ['sqlite', 'postgres'] : ['sqlite'];
}

function psqlAsOwner(sql) {
  execFileSync(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', PG_HOST, '-U', 'billing_owner',
    '-d', 'billing', '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

class Database {
  constructor(backend) {
    this.backend = backend;
    if (backend === 'sqlite') {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'billing-node-'));
      this.url = this.ownerUrl = `sqlite:${this.dir}/test.db`;
    } else {
      this.dir = null;
      this.schema = `node_${crypto.randomBytes(8).toString('hex')}`;
      psqlAsOwner(`CREATE SCHEMA ${this.schema}`);
      const url = (user) => `postgres:host=${PG_HOST} dbname=billing user=${user} ` +
        `options='-c search_path=${this.schema}'`;
      this.ownerUrl = url('billing_owner');
      this.url = url('billing_app');
    }
    // Migrates (as the owner on PostgreSQL); closing is immediate: nothing runs.
    new billing.Billing(this.ownerUrl).close();
  }

  open(options = {}) {
    return new billing.Billing(this.url, { migrate: this.backend === 'sqlite', ...options });
  }

  drop() {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    else psqlAsOwner(`DROP SCHEMA ${this.schema} CASCADE`);
  }
}

/** A database, an open Billing and a PLATFORM principal for one suite. */
function world(backend, options = {}) {
  const w = { backend };
  w.setUp = () => {
    w.db = new Database(backend);
    w.b = w.db.open(options);
    w.platform = w.b.asPrincipal({ role: 'PLATFORM' });
  };
  w.tearDown = async () => {
    await w.b.close();
    w.db.drop();
  };
  w.newTenant = async (name = 'Acme', role = 'ADMIN', user = 'usr_test') => {
    const t = await w.platform.tenants.create({ name });
    return [t, w.b.asPrincipal({ tenant: t.id, role, user })];
  };
  return w;
}

module.exports = { billing, backends, Database, world };
