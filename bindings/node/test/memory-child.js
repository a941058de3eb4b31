'use strict';
// The body of memory.test.js, in a process of its own started with
// --expose-gc --max-semi-space-size=1: V8 grows its young generation up to
// tens of MiB under a high allocation rate and keeps it, which would move
// RSS by more than a leak does; pinned small, RSS measures what the binding
// and the library hold. Prints one JSON line with the readings.
//   BILLING_TEST_URL=sqlite:/tmp/x.db node --expose-gc --max-semi-space-size=1 memory-child.js

const assert = require('node:assert/strict');
const fs = require('node:fs');
const koffi = require('koffi');
const B = require('..');

const CALLS = Number(process.env.BILLING_TEST_MEMORY_CALLS || 100000);
const WARMUP = 20000;
const BATCH = 8; // calls in flight at once
// glibc's malloc_trim hands the free memory of every malloc arena back (the
// JIT's and koffi's worker threads allocate in arenas of their own); leaked
// strings are not free, so they stay counted.
const mallocTrim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)');

function rssKiB() {
  global.gc();
  mallocTrim(0);
  return Number(fs.readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\s+(\d+) kB/)[1]);
}

async function main() {
  const b = new B.Billing(process.env.BILLING_TEST_URL, { migrate: false });
  const t = await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({ name: 'Memory' });
  const acme = b.asPrincipal({ tenant: t.id, role: 'ADMIN', user: 'usr_memory' });
  const input = { name: 'Ada', email: 'ada@example.com' };
  const c = await acme.customers.create(input, { idempotencyKey: 'm-1' });
  const one = async (i) => {
    if (i % 10 === 9) { // the error path frees its JSON too
      await assert.rejects(acme.customers.get({ id: 'cus_missing' }), B.NotFound);
    } else if (i % 100 === 50) { // call options and the replayed flag
      assert.equal((await acme.customers.create(input, { idempotencyKey: 'm-1' })).replayed, true);
    } else {
      assert.equal((await acme.customers.get({ id: c.id })).id, c.id);
    }
  };
  const round = async (n) => {
    for (let i = 0; i < n; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + BATCH); j++) batch.push(one(j));
      await Promise.all(batch);
    }
  };
  await round(WARMUP);
  const before = rssKiB();
  const heapBefore = process.memoryUsage().heapUsed;
  await round(CALLS);
  const after = rssKiB();
  const heapAfter = process.memoryUsage().heapUsed;
  await b.close();
  console.log(JSON.stringify({ calls: CALLS, warmup: WARMUP, before, after,
    heapBefore: Math.round(heapBefore / 1024), heapAfter: Math.round(heapAfter / 1024) }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
