'use strict';
// An operation that takes an id takes it alone too, as Python does:
// get('cus_...'), update('cus_...', { name }), delete('cus_...', {
// expectedVersion }, options); the object form stays.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { backends, billing: B, world } = require('./support');

for (const backend of backends()) {
  describe(`ids as plain strings (${backend})`, () => {
    const w = world(backend, { provider: 'test' });
    let acme;
    before(async () => {
      w.setUp();
      [, acme] = await w.newTenant('Ids');
    });
    after(w.tearDown);

    it('get, update and delete take the id alone', async () => {
      const c = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      assert.deepEqual(await acme.customers.get(c.id), c);
      assert.deepEqual(await acme.customers.get({ id: c.id }), c);
      const u = await acme.customers.update(c.id, { name: 'Ada L.' }, { idempotencyKey: 'ids-u' });
      assert.deepEqual([u.id, u.name, u.version, u.replayed], [c.id, 'Ada L.', 2, false]);
      const again = await acme.customers.update(c.id, { name: 'Ada L.' }, { idempotencyKey: 'ids-u' });
      assert.equal(again.replayed, true);
      await assert.rejects(acme.customers.delete(c.id, { expectedVersion: 1 }), B.Stale);
      assert.deepEqual(await acme.customers.delete(c.id, { expectedVersion: 2 }),
        { id: c.id, deleted: true });
      await assert.rejects(acme.customers.get(c.id), B.NotFound);
    });

    it('operations with nothing but an id, and with more required fields', async () => {
      const prod = await acme.products.create({ name: 'Pro', sku: 'pro' });
      const plan = await acme.plans.create({ productId: prod.id, code: 'PRO_M', name: 'Pro',
        amount: 2900, currency: 'EUR', interval: 'MONTH' });
      const other = await acme.plans.create({ productId: prod.id, code: 'PRO_Y', name: 'Pro Y',
        amount: 29000, currency: 'EUR', interval: 'YEAR' });
      const c = await acme.customers.create({ name: 'Bo', email: 'bo@example.com' });
      const s = await acme.subscriptions.create({ customerId: c.id, planId: plan.id });
      assert.equal((await acme.subscriptions.pause(s.id)).status, 'paused');
      assert.equal((await acme.subscriptions.resume(s.id, {}, { idempotencyKey: 'ids-r' })).replayed,
        false);
      assert.equal((await acme.subscriptions.changePlan(s.id, { planId: other.id })).planId, other.id);
      await assert.rejects(acme.subscriptions.changePlan(s.id),
        (e) => e instanceof B.InvalidArgument && e.field === 'planId');
      const inv = await acme.invoices.get(s.latestInvoiceId);
      const pay = await acme.invoices.pay(inv.id, { paymentMethod: 'pm_card_visa' });
      assert.equal((await acme.payments.get(pay.id)).status, 'succeeded');
    });

    it('refuses an id where none is taken, twice, or with a bad rest', async () => {
      await assert.rejects(w.platform.tenants.create('Acme'),
        (e) => e instanceof TypeError && /takes no id/.test(e.message));
      await assert.rejects(acme.dunning.get('x'), TypeError);
      await assert.rejects(acme.customers.update('cus_1', { id: 'cus_2' }),
        (e) => e instanceof TypeError && /twice/.test(e.message));
      await assert.rejects(acme.customers.update('cus_1', 'Ada'), TypeError);
      await assert.rejects(acme.customers.update('cus_1', ['x']), TypeError);
      // Nothing was called: no such customer would be NotFound.
      await assert.rejects(acme.customers.get(''), B.BillingError);
    });
  });
}
