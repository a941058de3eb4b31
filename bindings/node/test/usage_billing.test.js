'use strict';
// Usage billed in arrears through the Node binding (issue #23): a meter, a
// graduated metered plan on it, a subscription of a licensed item and a
// metered item, usage events sent and voided, the subscription's running
// usage and amount, then the renewal (runDue after the period end and the
// tenant's grace window) with the period's usage line priced by the plan's
// tiers, as docs/billing.md's worked example: 200 units = 500 + 100 x 10 +
// 100 x 5 = 2000.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { backends, world } = require('./support');

for (const backend of backends()) {
  describe(`usage billing (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('a metered item is billed on the renewal', async () => {
      const [, acme] = await w.newTenant('UsageBilling');
      const meter = await acme.meters.create({ eventName: 'api.call', aggregation: 'sum',
        valueProperty: 'n' });
      assert.equal((await acme.meters.get(meter.id)).eventName, 'api.call');
      const prod = await acme.products.create({ name: 'API', sku: 'api' });
      const calls = await acme.plans.create({ productId: prod.id, code: 'CALLS',
        name: 'API calls', currency: 'EUR', interval: 'MONTH', usageType: 'metered',
        meterId: meter.id, billingScheme: 'tiered', tiersMode: 'graduated',
        tiers: [{ upTo: 100, unitAmount: 10, flatAmount: 500 }, { upTo: 1000, unitAmount: 5 },
          { upTo: null, unitAmount: 2 }] });
      assert.deepEqual([calls.usageType, calls.meterId], ['metered', meter.id]);
      const seats = await acme.plans.create({ productId: prod.id, code: 'SEATS',
        name: 'Seats', amount: 1500, currency: 'EUR', interval: 'MONTH' });
      const cus = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      let sub = await acme.subscriptions.create({ customerId: cus.id,
        items: [{ planId: seats.id, quantity: 3 }, { planId: calls.id }] });
      const meteredItem = sub.items[1].id;
      const first = await acme.invoices.get(sub.latestInvoiceId);
      assert.equal(first.subtotal, 4500); // nothing of the usage in advance

      const sent = await acme.usageEvents.create({ events: [150, 50, 7].map((n, i) => ({
        transactionId: `e-${i}`, eventName: 'api.call', customerId: cus.id,
        properties: { n } })) });
      assert.deepEqual([sent.accepted, sent.refused], [3, 0]);
      const voided = await acme.usageEvents.void({ transactionIds: ['e-2'] });
      assert.equal(voided.data[0].status, 'voided');
      const usage = await acme.subscriptions.usage(sub.id);
      assert.deepEqual(usage.data.map((u) => [u.meterId, u.value, u.events, u.amount]),
        [[meter.id, 200, 2, 2000]]);

      const end = new Date(sub.currentPeriodEnd);
      await w.b.runDue({ now: new Date(end.getTime() + 2 * 3600e3) });
      sub = await acme.subscriptions.get(sub.id);
      const inv = await acme.invoices.get(sub.latestInvoiceId);
      assert.equal(new Date(inv.periodStart).getTime(), end.getTime());
      const lines = inv.lines.filter((l) => l.subscriptionItemId === meteredItem);
      assert.equal(lines.length, 1);
      const [line] = lines;
      assert.deepEqual([line.quantity, line.amount], [200, 2000]);
      assert.deepEqual([new Date(line.periodStart).getTime(), new Date(line.periodEnd).getTime()],
        [new Date(first.periodStart).getTime(), end.getTime()]);
      assert.deepEqual(line.tiers.map((t) => [t.upTo, t.quantity, t.amount]),
        [[100, 100, 1500], [1000, 100, 500]]);
      assert.equal(inv.subtotal, 4500 + 2000);
    });

    it('a spend threshold is set, shown and removed', async () => {
      const [, acme] = await w.newTenant('Thresholds');
      const prod = await acme.products.create({ name: 'API', sku: 'api' });
      const seats = await acme.plans.create({ productId: prod.id, code: 'SEATS',
        name: 'Seats', amount: 1500, currency: 'EUR', interval: 'MONTH' });
      const cus = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      let sub = await acme.subscriptions.create({ customerId: cus.id, planId: seats.id,
        billingThresholds: { amountGte: 50000 } });
      assert.deepEqual(sub.billingThresholds, { amountGte: 50000, resetBillingCycleAnchor: false });
      sub = await acme.subscriptions.update({ id: sub.id, billingThresholds: null });
      assert.equal(sub.billingThresholds, null);
    });
  });
}
