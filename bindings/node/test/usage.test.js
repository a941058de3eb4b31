'use strict';
// The Node binding's batching helper for usage events (issue #23):
// Principal.ingestUsage sends any iterable in batches of batchSize (one
// usage_events.create call a batch) and answers once for all, items in the
// input's order; resends are duplicates; the meter's aggregate sees every
// accepted event.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { backends, world } = require('./support');

for (const backend of backends()) {
  describe(`usage batching (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('ingestUsage sends batches and answers in the input order', async () => {
      const [, acme] = await w.newTenant('Usage');
      const cus = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      const meter = await acme.meters.create({ eventName: 'api.call', aggregation: 'sum',
        valueProperty: 'n' });
      function* events() {
        for (let i = 0; i < 2500; i++) {
          yield { transactionId: `t-${i}`, eventName: 'api.call', customerId: cus.id,
            properties: { n: i } };
        }
      }
      const r = await acme.ingestUsage(events(), { batchSize: 1000 });
      assert.deepEqual([r.accepted, r.duplicates, r.refused], [2500, 0, 0]);
      assert.deepEqual(r.data.map((d) => d.transactionId),
        Array.from({ length: 2500 }, (_, i) => `t-${i}`));
      const batches = await acme.events.list.page({ type: 'usage.ingested', limit: 10 });
      assert.equal(batches.data.length, 3);
      const one = { transactionId: 't-7', eventName: 'api.call', customerId: cus.id,
        properties: { n: 7 } };
      const again = await acme.ingestUsage([one, one, one], { batchSize: 2 });
      assert.deepEqual([again.accepted, again.duplicates], [0, 3]);
      const agg = await acme.usage.aggregate({ meterId: meter.id, customerId: cus.id,
        periodStart: '2000-01-01T00:00:00Z', periodEnd: '2100-01-01T00:00:00Z' });
      assert.deepEqual([agg.value, agg.events], [2500 * 2499 / 2, 2500]);
      await assert.rejects(acme.ingestUsage([], { batchSize: 1001 }), RangeError);
    });
  });
}
