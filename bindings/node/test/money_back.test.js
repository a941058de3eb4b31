'use strict';
// Money owed back through the Node binding (issue #20): a paid subscription
// invoice credited in part with a refund through the test provider, then
// with a credit to the balance (and that credit voided); a one-off invoice
// item put on a send_invoice draft, finalized with the balance applied and
// paid out of band; a manual balance adjustment listed with the rest.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const { billing: B, backends, world } = require('./support');

for (const backend of backends()) {
  describe(`money owed back (${backend})`, () => {
    const w = world(backend, { provider: 'test' });
    let acme; let plan;
    before(async () => {
      w.setUp();
      [, acme] = await w.newTenant('Money back');
      const prod = await acme.products.create({ name: 'Hosting', sku: 'hosting' });
      plan = await acme.plans.create({ productId: prod.id, code: 'HOST', name: 'Hosting',
        amount: 999, currency: 'EUR', interval: 'MONTH' });
    });
    after(w.tearDown);
    const customer = (email) => acme.customers.create({ name: 'Ada', email,
      defaultPaymentMethod: 'pm_card_visa' });
    const balance = async (id) => (await acme.customers.get(id)).balances.EUR ?? 0;

    it('credit notes refund, then credit the balance', async () => {
      const cus = await customer('ada@example.com');
      const sub = await acme.subscriptions.create({ customerId: cus.id, planId: plan.id });
      let inv = await acme.invoices.get(sub.latestInvoiceId);
      assert.deepEqual([inv.status, inv.total], ['paid', 999]);

      const refund = await acme.creditNotes.create({ invoiceId: inv.id, reason: 'order_change',
        lines: [{ invoiceLineId: inv.lines[0].id, amount: 300 }], refundAmount: 300 });
      assert.deepEqual([refund.number, refund.type, refund.total, refund.refundAmount,
        refund.creditAmount], ['CN-000001', 'post_payment', 300, 300, 0]);
      assert.notEqual(refund.refundId, null);

      const credit = await acme.creditNotes.create({ invoiceId: inv.id, amount: 200 });
      assert.deepEqual([credit.number, credit.creditAmount], ['CN-000002', 200]);
      assert.equal(await balance(cus.id), -200);
      inv = await acme.invoices.get(inv.id);
      assert.equal(inv.postPaymentCreditNotesAmount, 500);

      // More than is left (999 - 500): refused, nothing written.
      await assert.rejects(acme.creditNotes.create({ invoiceId: inv.id, amount: 500 }),
        (e) => e instanceof B.InvalidArgument);
      assert.equal((await acme.invoices.get(inv.id)).postPaymentCreditNotesAmount, 500);

      assert.equal((await acme.creditNotes.void(credit.id)).status, 'void');
      assert.equal(await balance(cus.id), 0);
    });

    it('an invoice item on a send_invoice draft, paid out of band', async () => {
      const cus = await customer('bob@example.com');
      const adj = await acme.customerBalanceTransactions.create({ customerId: cus.id,
        amount: -250, currency: 'EUR', description: 'goodwill' });
      assert.deepEqual([adj.type, adj.endingBalance], ['adjustment', -250]);
      const item = await acme.invoiceItems.create({ customerId: cus.id, currency: 'EUR',
        description: 'Consulting', unitAmount: 15000, quantity: 2 });
      assert.deepEqual([item.amount, item.invoiceId], [30000, null]);

      const draft = await acme.invoices.create({ customerId: cus.id, currency: 'EUR',
        collectionMethod: 'send_invoice', daysUntilDue: 14 });
      assert.deepEqual([draft.status, draft.number, draft.total], ['draft', null, 30000]);
      assert.equal((await acme.invoiceItems.get(item.id)).invoiceId, draft.id);

      const sent = await acme.invoices.finalize(draft.id);
      assert.deepEqual([sent.status, sent.startingBalance, sent.endingBalance, sent.amountDue],
        ['pending', -250, 0, 29750]);
      assert.notEqual(sent.number, null);
      assert.notEqual(sent.dueDate, null);

      assert.equal((await acme.invoices.pay(sent.id, { paidOutOfBand: true })).status, 'paid');
      assert.equal(await balance(cus.id), 0);
      const types = (await acme.customerBalanceTransactions.list({ customerId: cus.id })
        .toArray()).map((t) => t.type).sort();
      assert.deepEqual(types, ['adjustment', 'applied_to_invoice']);

      await assert.rejects(acme.invoiceItems.update(item.id, { amount: 1 }),
        (e) => e.code === 'invoice_item_invoiced');
    });
  });
}
