'use strict';
// Discounts through the Node binding (issue #22): a 25 % coupon for 3 months
// given with a subscription; the first invoice's line shows what the
// discount took (discountAmounts), the invoice its totalDiscountAmounts and a
// total after the discount; the subscription's discount deleted. An update's
// coupon or promotion code replaces a customer's and a subscription's discount.
// A draft invoice's own discount replaces the customer's on it, and is deleted.

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

    it('an update replaces the discount of a customer and a subscription', async () => {
      const [, acme] = await w.newTenant('Discount updates');
      const prod = await acme.products.create({ name: 'Pro', sku: 'pro' });
      const plan = await acme.plans.create({ productId: prod.id, code: 'PRO', name: 'Pro',
        amount: 2900, currency: 'EUR', interval: 'MONTH' });
      const ten = await acme.coupons.create({ percentOff: 10, duration: 'forever' });
      const half = await acme.coupons.create({ percentOff: 50, duration: 'forever' });
      await acme.promotionCodes.create({ code: 'HALF', couponId: half.id });
      const cus = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      assert.equal((await acme.customers.update({ id: cus.id, coupon: ten.id })).version, 2);
      const sub = await acme.subscriptions.create({ customerId: cus.id, planId: plan.id });
      // The customer's 10 %: 29.00 - 2.90.
      assert.equal((await acme.invoices.get(sub.latestInvoiceId)).total, 2610);
      await acme.subscriptions.update({ id: sub.id, promotionCode: 'half' });
      assert.equal((await acme.coupons.get(half.id)).timesRedeemed, 1);
      assert.match((await acme.subscriptions.deleteDiscount({ id: sub.id })).id, /^di_/);
      assert.match((await acme.customers.deleteDiscount({ id: cus.id })).id, /^di_/);
    });

    it('a draft invoice takes its own discount, deleted', async () => {
      const [, acme] = await w.newTenant('Draft discounts');
      const ten = await acme.coupons.create({ percentOff: 10, duration: 'forever' });
      const quarter = await acme.coupons.create({ percentOff: 25 });
      const cus = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      await acme.customers.update({ id: cus.id, coupon: ten.id });
      await acme.invoiceItems.create({ customerId: cus.id, currency: 'EUR',
        description: 'Consulting', amount: 10000 });
      // The draft's own 25 % replaces the customer's 10 %: 100.00 - 25.00.
      const draft = await acme.invoices.create({ customerId: cus.id, currency: 'EUR',
        coupon: quarter.id });
      assert.deepEqual([draft.totalDiscountAmounts[0].amount, draft.total], [2500, 7500]);
      // Deleted: the customer's 10 % again (the answer is the draft).
      const back = await acme.invoices.deleteDiscount({ id: draft.id });
      assert.deepEqual([back.totalDiscountAmounts[0].amount, back.total], [1000, 9000]);
    });
  });
}
