'use strict';
// Price models and subscription items through the Node binding (issue #21):
// a graduated plan made with its tiers, a subscription of two items (the
// tiered plan and a per-unit add-on), the first invoice's lines read back:
// one per item with its subscriptionItemId, the graduated line's amount and
// the tiers it used.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { backends, world } = require('./support');

for (const backend of backends()) {
  describe(`pricing (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('a tiered plan and two items bill one line per item', async () => {
      const [, acme] = await w.newTenant('Pricing');
      const prod = await acme.products.create({ name: 'Seats', sku: 'seats' });
      const tiered = await acme.plans.create({ productId: prod.id, code: 'SEATS',
        name: 'Seats', currency: 'EUR', interval: 'MONTH', billingScheme: 'tiered',
        tiersMode: 'graduated',
        tiers: [{ upTo: 5, unitAmount: 500 }, { upTo: null, unitAmount: 300, flatAmount: 100 }] });
      assert.deepEqual([tiered.billingScheme, tiered.tiersMode, tiered.tiers.length],
        ['tiered', 'graduated', 2]);
      const addon = await acme.plans.create({ productId: prod.id, code: 'ADDON',
        name: 'Add-on', amount: 1500, currency: 'EUR', interval: 'MONTH' });
      const cus = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      const sub = await acme.subscriptions.create({ customerId: cus.id,
        items: [{ planId: tiered.id, quantity: 8 }, { planId: addon.id, quantity: 2 }] });
      assert.deepEqual(sub.items.map((i) => [i.planId, i.quantity]),
        [[tiered.id, 8], [addon.id, 2]]);
      const inv = await acme.invoices.get(sub.latestInvoiceId);
      assert.deepEqual(inv.lines.map((l) => l.subscriptionItemId), sub.items.map((i) => i.id));
      // 5 x 500 + 3 x 300 + 100; the add-on 2 x 1500.
      assert.deepEqual(inv.lines.map((l) => l.amount), [3500, 3000]);
      assert.deepEqual(inv.lines[0].tiers.map((t) => [t.upTo, t.quantity, t.amount]),
        [[5, 5, 2500], [null, 3, 1000]]);
      assert.equal(inv.lines[1].tiers, null);
      assert.equal(inv.subtotal, 6500);
    });
  });
}
