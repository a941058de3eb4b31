'use strict';
// Taxes through the Node binding (issue #22): tax rates made and read back,
// defaultTaxRates on a plan and on a subscription (which replace the
// plan's), the tenant's tax settings, a customer's taxExempt and taxIds; a
// taxed subscription's first invoice shows totalTaxAmounts and its lines
// taxAmounts, an inclusive rate keeps the price, an exempt customer pays no
// tax.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { billing: B, backends, world } = require('./support');

for (const backend of backends()) {
  describe(`taxes (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('a taxed subscription\'s invoice shows its tax amounts', async () => {
      const [, acme] = await w.newTenant('Taxes');
      const vat = await acme.taxRates.create({ displayName: 'VAT', percentage: '20',
        inclusive: false, country: 'DE' });
      const gst = await acme.taxRates.create({ displayName: 'GST', percentage: '10',
        inclusive: true });
      assert.deepEqual([vat.percentage, vat.inclusive, vat.active], ['20', false, true]);
      assert.equal((await acme.taxRates.get(gst.id)).displayName, 'GST');
      assert.equal((await acme.taxSettings.get()).taxRounding, 'line');
      assert.equal((await acme.taxSettings.set({ taxRounding: 'invoice' })).taxRounding,
        'invoice');
      await assert.rejects(acme.taxSettings.set({ taxRounding: 'cent' }),
        (e) => e instanceof B.InvalidArgument && e.field === 'taxRounding');

      const prod = await acme.products.create({ name: 'Pro', sku: 'pro' });
      const plan = await acme.plans.create({ productId: prod.id, code: 'PRO', name: 'Pro',
        amount: 1000, currency: 'EUR', interval: 'MONTH', defaultTaxRates: [vat.id] });
      assert.deepEqual(plan.defaultTaxRates, [vat.id]);
      const ada = await acme.customers.create({ name: 'Ada', email: 'ada@example.com',
        taxIds: [{ type: 'eu_vat', value: 'DE123456789' }] });

      // The plan's exclusive 20 %: added on top.
      const sub = await acme.subscriptions.create({ customerId: ada.id, planId: plan.id });
      const inv = await acme.invoices.get(sub.latestInvoiceId);
      assert.deepEqual(inv.totalTaxAmounts, [{ taxRateId: vat.id, amount: 200,
        inclusive: false, taxableAmount: 1000 }]);
      assert.deepEqual(inv.lines[0].taxAmounts, inv.totalTaxAmounts);
      assert.deepEqual([inv.subtotal, inv.tax, inv.total], [1000, 200, 1200]);

      // The subscription's inclusive 10 % replaces the plan's: the price stays.
      const bob = await acme.customers.create({ name: 'Bob', email: 'bob@example.com' });
      const sub2 = await acme.subscriptions.create({ customerId: bob.id, planId: plan.id,
        defaultTaxRates: [gst.id] });
      assert.deepEqual(sub2.defaultTaxRates, [gst.id]);
      const inv2 = await acme.invoices.get(sub2.latestInvoiceId);
      assert.deepEqual(inv2.totalTaxAmounts, [{ taxRateId: gst.id, amount: 91,
        inclusive: true, taxableAmount: 909 }]);
      assert.equal(inv2.lines[0].amountExcludingTax, 909);
      assert.equal(inv2.total, 1000);

      // An exempt customer pays none.
      const eve = await acme.customers.create({ name: 'Eve', email: 'eve@example.com',
        taxExempt: 'exempt' });
      assert.equal(eve.taxExempt, 'exempt');
      const sub3 = await acme.subscriptions.create({ customerId: eve.id, planId: plan.id });
      const inv3 = await acme.invoices.get(sub3.latestInvoiceId);
      assert.deepEqual([inv3.tax, inv3.total, inv3.customerTaxExempt], [0, 1000, 'exempt']);
    });
  });
}
