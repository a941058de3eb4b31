'use strict';
// index.d.ts is generated from the catalog (scripts/generate-types.js) by
// the test run (ctest fixture bindings_node_dts) and by npm pack (prepack),
// never kept in git: it must be what the generator makes from the library
// under test, and declare every operation and every shape of its catalog.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { it } = require('node:test');
const { Billing, Principal } = require('..');
const { render } = require('../scripts/generate-types');

it('index.d.ts is up to date with the catalog (npm run generate-types)', async () => {
  const b = new Billing('sqlite::memory:');
  const want = render(b.catalog);
  await b.close();
  const have = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  assert.ok(have === want, 'index.d.ts is stale: run `BILLING_LIBRARY=<build>/libbilling.so ' +
    'npm run generate-types` in bindings/node');
});

it('index.d.ts declares every operation of the catalog', async () => {
  const b = new Billing('sqlite::memory:');
  const have = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  for (const entry of b.catalog.operations) assert.ok(have.includes(`(${entry.name}; roles:`), entry.name);
  await b.close();
});

it('index.d.ts has an interface for every shape of the catalog', async () => {
  const b = new Billing('sqlite::memory:');
  const have = render(b.catalog);
  for (const shape of b.catalog.shapes) {
    assert.match(have, new RegExp(`export interface ${shape.name}\\b`), shape.name);
  }
  await b.close();
});

it('index.d.ts declares every method of Billing and Principal written by hand', () => {
  const have = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  for (const cls of [Billing, Principal]) {
    const start = have.indexOf(`export declare class ${cls.name} {`);
    assert.ok(start >= 0, cls.name);
    const body = have.slice(start, have.indexOf('\n}\n', start));
    for (const name of Object.getOwnPropertyNames(cls.prototype)) {
      if (name === 'constructor') continue;
      assert.match(body, new RegExp(`^  (readonly )?${name}[(:]`, 'm'), `${cls.name}.${name}`);
    }
  }
});
