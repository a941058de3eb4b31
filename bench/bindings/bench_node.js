'use strict';
// The Node side of bench/bindings/run.py: point gets of one customer through
// the binding (await acme.customers.get({ id }), the API: the C call runs on
// a koffi worker thread), one at a time and 8 in flight; and, as a reference
// for where the time goes, the same C function called synchronously through
// koffi on the main thread (what a binding that blocks the event loop would
// cost; not offered by the binding).
//
//   BILLING_LIBRARY=... node bench_node.js URL TENANT CUSTOMER SECONDS
//
// Alternates the three in blocks of 500 calls until each has run SECONDS;
// prints "node RATE", "node_8 RATE" and "node_koffi_sync RATE".

const path = require('node:path');
const B = require(path.join(__dirname, '..', '..', 'bindings', 'node'));
const native = require(path.join(__dirname, '..', '..', 'bindings', 'node', 'lib', 'native'));

const BLOCK = 500;

async function main() {
  const [url, tenant, customer, secondsArg] = process.argv.slice(2);
  const seconds = Number(secondsArg);
  const b = new B.Billing(url, { migrate: false });
  const acme = b.asPrincipal({ tenant, role: 'ADMIN', user: 'usr_bench' });

  // The reference: a context of its own, called synchronously.
  const fns = native.load();
  const out = [null];
  if (fns.open(out, url, null) < 0) throw new Error('open failed');
  const ctx = out[0];
  const who = { tenant_id: tenant, user_id: 'usr_bench', role: native.ROLES.ADMIN };

  const sides = {
    node: async () => {
      for (let i = 0; i < BLOCK; i++) {
        if ((await acme.customers.get({ id: customer })).id !== customer) throw new Error('wrong customer');
      }
    },
    node_8: async () => {
      for (let i = 0; i < BLOCK; i += 8) {
        const batch = [];
        for (let j = 0; j < 8; j++) batch.push(acme.customers.get({ id: customer }));
        for (const c of await Promise.all(batch)) if (c.id !== customer) throw new Error('wrong customer');
      }
    },
    node_koffi_sync: async () => {
      for (let i = 0; i < BLOCK; i++) {
        const json = Buffer.from(JSON.stringify({ id: customer }));
        const o = [null];
        const rc = fns.callJson(o, ctx, who, 'customers.get', json, json.length, null);
        const c = JSON.parse(native.takeString(fns, o[0]));
        if (rc < 0 || c.id !== customer) throw new Error('customers.get failed');
      }
    },
  };
  const names = Object.keys(sides);
  for (const name of names) { await sides[name](); await sides[name](); } // warm-up
  const spent = Object.fromEntries(names.map((n) => [n, 0]));
  const calls = Object.fromEntries(names.map((n) => [n, 0]));
  while (Math.min(...Object.values(spent)) < seconds) {
    for (const name of names) {
      const t0 = process.hrtime.bigint();
      await sides[name]();
      spent[name] += Number(process.hrtime.bigint() - t0) / 1e9;
      calls[name] += BLOCK;
    }
  }
  for (const name of names) console.log(`${name} ${(calls[name] / spent[name]).toFixed(1)}`);
  fns.close(ctx);
  await b.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
