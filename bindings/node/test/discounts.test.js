'use strict';
// Discounts through the Node binding (issue #22): a 25 % coupon for 3 months
// given with a subscription; the first invoice's line shows what the
// discount took (discountAmounts), the invoice its totalDiscountAmounts and a
// total after the discount; the subscription's discount deleted.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { backends, world } = require('./support');

for (const backend of backends()) {
  describe(`discounts (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('a coupon on a subscription discounts its invoice', async () => {
      const [, acme] = await w.newTenant('Discounts');
      const prod = await acme.products.create({ name: 'Pro', sku: 'pro' });
      const plan = await acme.plans.create({ productId: prod.id, code: 'PRO', name: 'Pro',
        amount: 2900, currency: 'EUR', interval: 'MONTH' });
      const coupon = await acme.coupons.create({ percentOff: 25, duration: 'repeating',
        durationInPeriods: 3 });
      const cus = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      const sub = await acme.subscriptions.create({ customerId: cus.id, planId: plan.id,
        coupon: coupon.id });
      const inv = await acme.invoices.get(sub.latestInvoiceId);
      const line = inv.lines[0];
      assert.equal(line.amount, 2900);
      assert.deepEqual(line.discountAmounts.map((d) => d.amount), [725]);
      assert.deepEqual(inv.totalDiscountAmounts, line.discountAmounts);
      assert.deepEqual([inv.subtotal, inv.total], [2900, 2175]);
      const deleted = await acme.subscriptions.deleteDiscount({ id: sub.id });
      assert.equal(deleted.id, line.discountAmounts[0].discountId);
    });
  });
}
