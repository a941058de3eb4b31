'use strict';
// Every string the library hands over is freed: 100 000 calls, resident
// memory flat. A get returns ~250 bytes of JSON and an error ~200: a leak of
// either would add well over 10 MiB after the warm-up. The calls run in a
// child process whose V8 young generation is pinned small (see
// memory-child.js); RSS there is read after a full GC and malloc_trim.

const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { describe, it, before, after } = require('node:test');
const { Database } = require('./support');

const TOLERANCE_KIB = 4096;

// SQLite only: what is measured is the binding (the strings it is handed and
// frees are the same on every backend), and 100 000 PostgreSQL round trips
// would add half a minute.
for (const backend of ['sqlite']) {
  describe(`memory (${backend})`, () => {
    let db;
    before(() => { db = new Database(backend); });
    after(() => db.drop());

    it('stays flat over 100 000 calls', { timeout: 110000 }, () => {
      const out = execFileSync(process.execPath, ['--expose-gc', '--max-semi-space-size=1',
        path.join(__dirname, 'memory-child.js')], {
        env: { ...process.env, BILLING_TEST_URL: db.url }, encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const r = JSON.parse(out.trim().split('\n').pop());
      console.log(`memory (${backend}): ${r.calls} calls after ${r.warmup} of warm-up: ` +
        `RSS ${r.before} KiB -> ${r.after} KiB (${r.after - r.before >= 0 ? '+' : ''}${r.after - r.before} KiB), ` +
        `V8 live heap ${r.heapBefore} KiB -> ${r.heapAfter} KiB`);
      assert.ok(r.after - r.before < TOLERANCE_KIB,
        `RSS grew by ${r.after - r.before} KiB over ${r.calls} calls`);
      assert.ok(r.heapAfter - r.heapBefore < TOLERANCE_KIB,
        `V8's live heap grew by ${r.heapAfter - r.heapBefore} KiB`);
    });
  });
}
