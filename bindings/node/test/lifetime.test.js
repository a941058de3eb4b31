'use strict';
// The event loop stays free while the library works, many calls at once are
// queued rather than refused, and close() waits for what is in flight.

const assert = require('node:assert/strict');
const { describe, it, before, after } = require('node:test');
const { billing: B, backends, world } = require('./support');

for (const backend of backends()) {
  describe(`event loop and lifetime (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('keeps the event loop turning during a long billing run', async () => {
      const [, acme] = await w.newTenant('Run');
      const prod = await acme.products.create({ name: 'Daily', sku: 'daily' });
      const plan = await acme.plans.create({ productId: prod.id, code: 'DAILY', name: 'Daily',
        amount: 100, currency: 'EUR', interval: 'DAY' });
      const K = 4; const DAYS = 30;
      let last;
      for (let i = 0; i < K; i++) {
        const c = await acme.customers.create({ name: `C${i}`, email: `c${i}@example.com` });
        last = await acme.subscriptions.create({ customerId: c.id, planId: plan.id });
      }
      // Every subscription is DAYS + 1 periods behind: K * (DAYS + 1) items,
      // each a transaction of its own, in one billing_run_due call.
      const now = new Date(new Date(last.currentPeriodEnd).getTime() + DAYS * 86400e3);
      let ticks = 0;
      const timer = setInterval(() => { ticks++; }, 1);
      const started = process.hrtime.bigint();
      const running = w.b.runDue({ now });
      assert.ok(running instanceof Promise);
      const report = await running;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearInterval(timer);
      assert.equal(report.invoiced, K * (DAYS + 1));
      assert.equal(report.failed, 0);
      // A run on the event loop would let no timer fire until it returned.
      assert.ok(ms >= 20, `the run took ${ms.toFixed(1)} ms: too short to tell`);
      assert.ok(ticks >= Math.min(10, ms / 10),
        `only ${ticks} timer ticks during a ${ms.toFixed(0)} ms run`);
    });

    it('queues calls beyond maxConcurrency instead of refusing them', async () => {
      const b = w.db.open({ maxConcurrency: 3 });
      const t = await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({ name: 'Many' });
      const acme = b.asPrincipal({ tenant: t.id, role: 'ADMIN' });
      const c = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      const all = await Promise.all(Array.from({ length: 1000 }, () => acme.customers.get({ id: c.id })));
      assert.equal(all.length, 1000);
      assert.ok(all.every((x) => x.id === c.id));
      await b.close();
    });

    it('closes after the calls in flight and refuses later ones', async () => {
      const b = w.db.open({ maxConcurrency: 2 });
      const t = await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({ name: 'Close' });
      const acme = b.asPrincipal({ tenant: t.id, role: 'ADMIN' });
      const c = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      const inflight = Array.from({ length: 50 }, () => acme.customers.get({ id: c.id }));
      const closing = b.close();
      assert.equal(b.closed, true);
      await assert.rejects(acme.customers.get({ id: c.id }), (e) => e.code === 'ERR_BILLING_CLOSED');
      const done = await Promise.all(inflight); // accepted before close: they finish
      assert.ok(done.every((x) => x.id === c.id));
      await closing;
      assert.equal(b.close(), closing); // idempotent
      await assert.rejects(acme.customers.list().toArray(), (e) => e.code === 'ERR_BILLING_CLOSED');
      await assert.rejects(b.runDue(), (e) => e.code === 'ERR_BILLING_CLOSED');
    });

    it('concurrent writers on one context all land', async () => {
      const [, acme] = await w.newTenant('Writers');
      const made = await Promise.all(Array.from({ length: 60 }, (_, i) =>
        acme.customers.create({ name: `W${i}`, email: `w${i}@example.com` })));
      assert.equal(new Set(made.map((c) => c.id)).size, 60);
      assert.equal((await acme.customers.list({ limit: 100 }).toArray()).length, 60);
    });
  });
}

describe('opening', () => {
  it('checks its options', () => {
    assert.throws(() => new B.Billing('sqlite::memory:', { maxConcurrency: 0 }), RangeError);
    assert.throws(() => new B.Billing(42), TypeError);
  });
});
