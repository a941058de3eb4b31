'use strict';
// Invoice and credit-note documents through the Node binding (issue #24;
// billing/document.h): Principal.renderInvoice (and renderCreditNote) resolves to the PDF's bytes whole (NUL bytes and
// all, the length the library reported) or the HTML's; the same invoice gives
// the same bytes; refusals reject naming their field (locale) or as NotFound,
// and a wrong format or id type is a TypeError before any call.
// Billing.renderHostedInvoice renders the invoice of a hosted link's token
// without a principal; every bad token rejects with the same NotFound.

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const billing = require('..');
const { backends, world } = require('./support');

for (const backend of backends()) {
  describe(`documents (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('renderInvoice gives the e-invoice (format cii) of a finalized invoice', async () => {
      const [, acme] = await w.newTenant('EInvoice');
      await acme.call('branding.set', { legalName: 'Acme GmbH', address: { country: 'DE' } });
      const prod = await acme.products.create({ name: 'Service', sku: 'svc' });
      const plan = await acme.plans.create({ productId: prod.id, code: 'MONTHLY',
        name: 'Monthly', amount: 2900, currency: 'EUR', interval: 'MONTH' });
      const cus = await acme.customers.create({ name: '\u0410\u0434\u0430 & <Co>',
        email: 'ada@example.com', address: { country: 'FR' } });
      const sub = await acme.subscriptions.create({ customerId: cus.id, planId: plan.id });
      const inv = await acme.invoices.get(sub.latestInvoiceId);
      const xml = (await acme.renderInvoice(inv.id, { format: 'cii' })).toString('utf8');
      assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
      assert.ok(xml.includes(`<ram:ID>${inv.number}</ram:ID>`), 'the number (BT-1)');
      assert.ok(xml.includes('<ram:Name>\u0410\u0434\u0430 &amp; &lt;Co&gt;</ram:Name>'),
        'the buyer\'s name, escaped by the writer');
      assert.ok(xml.includes('<ram:GrandTotalAmount>29.00</ram:GrandTotalAmount>'));
      const draft = await acme.invoices.create({ customerId: cus.id, currency: 'EUR' });
      await assert.rejects(acme.renderInvoice(draft.id, { format: 'cii' }),
        (e) => e instanceof billing.Conflict && e.code === 'draft');
      // 'facturx': the PDF/A-3 with that XML attached as factur-x.xml.
      const fx = await acme.renderInvoice(inv.id, { format: 'facturx', locale: 'de-DE' });
      assert.equal(fx.subarray(0, 8).toString('latin1'), '%PDF-1.7');
      assert.ok(fx.includes('/AFRelationship /Alternative'));
      assert.ok(fx.includes('<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>'));
      assert.deepEqual(await acme.renderInvoice(inv.id, { format: 'facturx', locale: 'de-DE' }),
        fx);
      await assert.rejects(acme.renderInvoice(draft.id, { format: 'facturx' }),
        (e) => e instanceof billing.Conflict && e.code === 'draft');
      await assert.rejects(acme.renderCreditNote(inv.id, { format: 'facturx' }), TypeError);
    });

    it('renderInvoice gives the PDF and the HTML, and refuses by field', async () => {
      const [, acme] = await w.newTenant('Documents');
      const prod = await acme.products.create({ name: 'Service', sku: 'svc' });
      const plan = await acme.plans.create({ productId: prod.id, code: 'MONTHLY',
        name: 'Monthly', amount: 2900, currency: 'EUR', interval: 'MONTH' });
      const cus = await acme.customers.create({ name: '\u0410\u0434\u0430',
        email: 'ada@example.com' });
      const sub = await acme.subscriptions.create({ customerId: cus.id, planId: plan.id });
      const inv = sub.latestInvoiceId;

      const pdf = await acme.renderInvoice(inv);
      assert.ok(Buffer.isBuffer(pdf));
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      assert.ok(pdf.includes(0), 'a PDF holds NUL bytes: the whole length came back');
      assert.match(pdf.subarray(-16).toString('latin1'), /%%EOF\s*$/);
      assert.deepEqual(await acme.renderInvoice(inv, { format: 'pdf' }), pdf);

      const html = (await acme.renderInvoice(inv, { format: 'html', locale: 'de-DE' }))
        .toString('utf8');
      assert.match(html, /^<!DOCTYPE html>/i);
      assert.ok(html.includes('29,00\u00a0\u20ac'), 'the amount in de-DE');
      assert.ok(html.includes('\u0410\u0434\u0430'), 'the customer\'s name in UTF-8');

      await assert.rejects(acme.renderInvoice(inv, { format: 'html', locale: 'xx-XX' }),
        (e) => e instanceof billing.InvalidArgument && e.field === 'locale');
      await assert.rejects(acme.renderInvoice('in_nope0000000000000000000'),
        (e) => e instanceof billing.NotFound);
      const [, other] = await w.newTenant('Other');
      await assert.rejects(other.renderInvoice(inv), (e) => e instanceof billing.NotFound);
      await assert.rejects(acme.renderInvoice(inv, { format: 'docx' }), TypeError);
      await assert.rejects(acme.renderCreditNote(inv, { format: 'docx' }), TypeError);
      await assert.rejects(acme.renderInvoice(42), TypeError);

      const cn = await acme.creditNotes.create({ invoiceId: inv, amount: 500,
        reason: 'duplicate' });
      const note = await acme.renderCreditNote(cn.id);
      assert.equal(note.subarray(0, 5).toString('latin1'), '%PDF-');
      assert.deepEqual(await acme.renderCreditNote(cn.id), note);
      const noteHtml = (await acme.renderCreditNote(cn.id, { format: 'html', locale: 'en-US' }))
        .toString('utf8');
      assert.ok(noteHtml.includes('\u20ac5.00'), 'the credited amount');
      await assert.rejects(other.renderCreditNote(cn.id), (e) => e instanceof billing.NotFound);
      await assert.rejects(acme.renderCreditNote(inv), (e) => e instanceof billing.NotFound);
      // 'cii' reaches the library: this tenant has no branding, so the
      // seller has no country, which an EN 16931 credit note needs.
      await assert.rejects(acme.renderCreditNote(cn.id, { format: 'cii' }),
        (e) => e instanceof billing.Conflict && e.code === 'einvoice_incomplete');
    });

    it('renderHostedInvoice renders a link\'s invoice without a principal', async () => {
      const [, acme] = await w.newTenant('Hosted');
      const prod = await acme.products.create({ name: 'Service', sku: 'svc' });
      const plan = await acme.plans.create({ productId: prod.id, code: 'MONTHLY',
        name: 'Monthly', amount: 2900, currency: 'EUR', interval: 'MONTH' });
      const cus = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      const sub = await acme.subscriptions.create({ customerId: cus.id, planId: plan.id });
      const inv = await acme.invoices.get(sub.latestInvoiceId);
      assert.match(inv.hostedInvoiceUrl, /^\/hosted\/invoices\/[A-Za-z0-9_-]+$/);
      const token = inv.hostedInvoiceUrl.split('/').pop();

      const html = await w.b.renderHostedInvoice(token);
      assert.ok(Buffer.isBuffer(html));
      assert.match(html.toString('utf8'), /^<!DOCTYPE html>/i);
      assert.ok(html.toString('utf8').includes(inv.number), 'the invoice\'s number');
      assert.deepEqual(await w.b.renderHostedInvoice(token, 'html'), html);
      const pdf = await w.b.renderHostedInvoice(token, 'pdf');
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      assert.deepEqual(pdf, await acme.renderInvoice(inv.id), 'the invoice\'s own PDF');

      // One byte of the MAC flipped, then other bad tokens: the same refusal.
      const raw = Buffer.from(token, 'base64url');
      raw[raw.length - 1] ^= 1;
      const flipped = raw.toString('base64url');
      assert.notEqual(flipped, token);
      let first;
      await assert.rejects(w.b.renderHostedInvoice(flipped, 'pdf'), (e) => {
        first = e;
        return e instanceof billing.NotFound && e.code === 'not_found' && e.field === null;
      });
      for (const bad of ['', 'nope', token.slice(0, -4), `${token}AAAA`]) {
        await assert.rejects(w.b.renderHostedInvoice(bad), (e) => e instanceof billing.NotFound &&
          e.code === first.code && e.message === first.message, JSON.stringify(bad));
      }
      await assert.rejects(w.b.renderHostedInvoice(token, 'docx'), TypeError);
      await assert.rejects(w.b.renderHostedInvoice(null), TypeError);
    });
  });
}
