'use strict';
// The Node binding end to end over the real library: the generated methods,
// every operation family of the catalog, errors, pages, idempotency, tenant
// isolation.
//   BILLING_LIBRARY=build/release/libbilling.so npm test --prefix bindings/node

const assert = require('node:assert/strict');
const { describe, it, before, after } = require('node:test');
const { billing: B, backends, world } = require('./support');

function methodAt(principal, name) {
  return name.split('.').map(B.camelCase).reduce((obj, part) => obj && obj[part], principal);
}

for (const backend of backends()) {
  describe(`generated methods (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('gives every catalog operation a method at its camelCase path', async () => {
      const [, acme] = await w.newTenant('Gen');
      assert.ok(w.b.catalog.operations.length > 20);
      for (const entry of w.b.catalog.operations) {
        const fn = methodAt(acme, entry.name);
        assert.equal(typeof fn, 'function', entry.name);
        assert.equal(fn.operation.name, entry.name);
        assert.equal(typeof fn.page === 'function', entry.input.some((f) => f.name === 'startingAfter'),
          entry.name);
      }
      assert.equal(typeof acme.subscriptions.changePlan, 'function');
      assert.deepEqual(w.b.operations, w.b.catalog.operations.map((e) => e.name));
    });

    it('reaches the library through every method, whatever the catalog holds', async () => {
      // Payments and the rest will appear later: each generated method comes
      // back with a result or a BillingError, never a binding error.
      const [, acme] = await w.newTenant('Reach');
      const scalars = { string: 'x_none', integer: 1, boolean: false, object: {}, decimal: '0' };
      // "integer[]" and any later array type: an empty array.
      const dummy = (t) => (t.endsWith('[]') ? [] : (t in scalars ? scalars[t] : 'x'));
      for (const entry of w.b.catalog.operations) {
        const who = entry.roles.includes('ADMIN') ? acme : w.platform;
        const input = {};
        for (const f of entry.input) if (f.required) input[f.name] = dummy(f.type);
        try {
          let result = methodAt(who, entry.name)(input);
          result = result instanceof B.Pager ? await result.toArray() : await result;
          assert.equal(typeof result, 'object', entry.name);
        } catch (e) {
          assert.ok(e instanceof B.BillingError, `${entry.name}: ${e.stack}`);
          assert.equal(typeof e.status, 'number');
          assert.ok(e.message);
        }
      }
    });

    it('rejects inputs that are not objects before the call', async () => {
      const [, acme] = await w.newTenant('Args');
      await assert.rejects(acme.customers.create('Ada'), TypeError);
      await assert.rejects(acme.customers.list(5).toArray(), TypeError);
      assert.throws(() => w.b.asPrincipal({ tenant: 't', role: 'OWNER' }), TypeError);
    });
  });

  describe(`tenants (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('are created, listed and read by the platform', async () => {
      const a = await w.platform.tenants.create({ name: 'Alpha', invoicePrefix: 'ALP-' });
      assert.match(a.id, /^ten_/);
      assert.equal(a.invoicePrefix, 'ALP-');
      await w.platform.tenants.create({ name: 'Beta' });
      const ids = (await w.platform.tenants.list({ limit: 1 }).toArray()).map((t) => t.id);
      assert.ok(ids.includes(a.id));
      assert.equal(new Set(ids).size, ids.length);
      assert.equal((await w.platform.tenants.get({ id: a.id })).name, 'Alpha');
    });

    it('are read by their own admin only', async () => {
      const [t, acme] = await w.newTenant('Own');
      const [other] = await w.newTenant('Other');
      assert.equal((await acme.tenants.get({ id: t.id })).id, t.id);
      await assert.rejects(acme.tenants.get({ id: other.id }), B.NotFound);
      await assert.rejects(acme.tenants.create({ name: 'Nope' }), B.Forbidden);
      await assert.rejects(acme.tenants.list().toArray(), B.Forbidden);
    });
  });

  describe(`customers (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('are created, read, updated and deleted', async () => {
      const [, acme] = await w.newTenant();
      const c = await acme.customers.create({ name: 'Ada', email: 'ada@example.com',
        defaultPaymentMethod: 'pm_card_visa', metadata: { plan: 'gold' } });
      assert.equal(c.object, 'customer');
      assert.deepEqual(c.metadata, { plan: 'gold' });
      assert.deepEqual(await acme.customers.get({ id: c.id }), c);
      const u = await acme.customers.update({ id: c.id, name: 'Ada L.', defaultPaymentMethod: null,
        expectedVersion: c.version });
      assert.deepEqual([u.name, u.email, u.version, u.defaultPaymentMethod],
        ['Ada L.', 'ada@example.com', 2, null]);
      const stale = await acme.customers.update({ id: c.id, name: 'Old', expectedVersion: 1 })
        .catch((e) => e);
      assert.ok(stale instanceof B.Stale && stale instanceof B.Conflict);
      assert.equal(stale.code, 'stale_version');
      assert.deepEqual(await acme.customers.delete({ id: c.id, expectedVersion: 2 }),
        { id: c.id, deleted: true });
      await assert.rejects(acme.customers.get({ id: c.id }), B.NotFound);
    });

    it('carry taxExempt and normalized taxIds', async () => {
      const [, acme] = await w.newTenant();
      const c = await acme.customers.create({ name: 'Muster GmbH', email: 'ap@muster.example',
        taxExempt: 'reverse', taxIds: [{ type: 'eu_vat', value: 'de 123.456.789' }] });
      assert.deepEqual([c.taxExempt, c.taxIds],
        ['reverse', [{ type: 'eu_vat', value: 'DE123456789' }]]);
      await assert.rejects(acme.customers.update({ id: c.id,
        taxIds: [{ type: 'gb_vat', value: 'GB1' }] }),
      (e) => e instanceof B.InvalidArgument && e.field === 'taxIds[0].value');
      assert.deepEqual(await acme.customers.get({ id: c.id }), c);
    });

    it('are read but not written by a USER', async () => {
      const [t, acme] = await w.newTenant('Roles');
      const c = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      const reader = w.b.asPrincipal({ tenant: t.id, role: 'USER', user: 'usr_reader' });
      assert.equal((await reader.customers.get({ id: c.id })).id, c.id);
      assert.deepEqual((await reader.customers.list().toArray()).map((x) => x.id), [c.id]);
      await assert.rejects(reader.customers.create({ name: 'Eve', email: 'eve@example.com' }),
        (e) => e instanceof B.Forbidden && e.errorName === 'BILLING_EFORBIDDEN');
    });
  });

  describe(`products and plans (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('products keep decimal tax rates exact and filter', async () => {
      const [, acme] = await w.newTenant();
      const p = await acme.products.create({ name: 'Widget', sku: 'W-1', priceCents: 1999,
        currency: 'EUR', taxRate: '0.0825', stock: 5 });
      assert.equal(p.taxRate, 0.0825);
      const p2 = await acme.products.update({ id: p.id, taxRate: 0.19, isActive: false,
        description: 'blue' });
      assert.deepEqual([p2.taxRate, p2.isActive, p2.description], [0.19, false, 'blue']);
      await acme.products.create({ name: 'Gadget', sku: 'G-1', priceCents: 500 });
      assert.deepEqual((await acme.products.list({ isActive: true }).toArray()).map((x) => x.sku),
        ['G-1']);
      assert.deepEqual((await acme.products.list({ maxPriceCents: 1000 }).toArray()).map((x) => x.sku),
        ['G-1']);
      assert.equal((await acme.products.delete({ id: p.id })).deleted, true);
      assert.equal((await acme.products.list().toArray()).length, 1);
    });

    it('plans follow their rules', async () => {
      const [, acme] = await w.newTenant('Plans');
      const prod = await acme.products.create({ name: 'Pro', sku: 'pro' });
      let m = await acme.plans.create({ productId: prod.id, code: 'PRO_M', name: 'Pro monthly',
        amount: 2900, currency: 'EUR', interval: 'MONTH', trialDays: 14 });
      assert.deepEqual([m.interval, m.trialDays, m.active], ['MONTH', 14, true]);
      m = await acme.plans.update({ id: m.id, description: 'the monthly one' });
      assert.equal((await acme.plans.get({ id: m.id })).version, 2);
      const y = await acme.plans.create({ productId: prod.id, code: 'PRO_Y', name: 'Pro yearly',
        amount: 29000, currency: 'EUR', interval: 'YEAR', active: false });
      assert.deepEqual((await acme.plans.list({ active: true }).toArray()).map((p) => p.code),
        ['PRO_M']);
      await assert.rejects(acme.plans.create({ productId: prod.id, code: 'x', name: 'Bad',
        amount: 1, currency: 'EUR', interval: 'MONTH' }), (e) => e.field === 'code');
      assert.equal((await acme.plans.delete({ id: y.id })).deleted, true);
      const ada = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      await acme.subscriptions.create({ customerId: ada.id, planId: m.id });
      await assert.rejects(acme.plans.delete({ id: m.id }),
        (e) => e instanceof B.Conflict && e.code === 'referenced');
    });
  });

  describe(`coupons and promotion codes (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('coupons keep their terms; codes are unique among active ones without case', async () => {
      const [, acme] = await w.newTenant('Coupons');
      const c = await acme.coupons.create({ percentOff: '25.5', duration: 'repeating',
        durationInPeriods: 3 });
      assert.deepEqual([c.object, c.percentOff, c.amountOff, c.durationInPeriods, c.timesRedeemed],
        ['coupon', 25.5, null, 3, 0]);
      await assert.rejects(acme.coupons.create({ amountOff: 500 }),
        (e) => e instanceof B.BillingError && e.field === 'currency');
      const promo = await acme.promotionCodes.create({ code: 'Spring25', couponId: c.id });
      assert.deepEqual([promo.code, promo.active, promo.couponId], ['Spring25', true, c.id]);
      await assert.rejects(acme.promotionCodes.create({ code: 'SPRING25', couponId: c.id }),
        (e) => e instanceof B.BillingError && e.field === 'code');
      assert.equal((await acme.coupons.delete({ id: c.id })).deleted, true);
      assert.equal((await acme.coupons.list().toArray()).length, 0);
    });
  });

  describe(`subscriptions, invoices and events (${backend})`, () => {
    const w = world(backend);
    let acme; let monthly; let yearly;
    before(async () => {
      w.setUp();
      [, acme] = await w.newTenant();
      const prod = await acme.products.create({ name: 'Pro', sku: 'pro', taxRate: '0.2' });
      monthly = await acme.plans.create({ productId: prod.id, code: 'PRO_M', name: 'Pro monthly',
        amount: 2900, currency: 'EUR', interval: 'MONTH' });
      yearly = await acme.plans.create({ productId: prod.id, code: 'PRO_Y', name: 'Pro yearly',
        amount: 29000, currency: 'EUR', interval: 'YEAR' });
    });
    after(w.tearDown);

    it('live a subscription through every operation', async () => {
      const ada = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      let s = await acme.subscriptions.create({ customerId: ada.id, planId: monthly.id,
        metadata: { source: 'node' } });
      assert.deepEqual([s.status, s.planId], ['active', monthly.id]);
      assert.equal((await acme.subscriptions.get({ id: s.id })).id, s.id);
      assert.deepEqual((await acme.subscriptions.list({ customerId: ada.id }).toArray())
        .map((x) => x.id), [s.id]);

      const first = await acme.invoices.get({ id: s.latestInvoiceId });
      assert.deepEqual([first.status, first.subtotal, first.tax], ['pending', 2900, 580]);
      const preview = await acme.invoices.preview({ subscriptionId: s.id });
      assert.deepEqual([preview.status, preview.periodStart], ['draft', s.currentPeriodEnd]);

      s = await acme.subscriptions.update({ id: s.id, quantity: 2 });
      assert.equal(s.quantity, 2);
      s = await acme.subscriptions.changePlan({ id: s.id, planId: yearly.id });
      assert.equal(s.planId, yearly.id);
      assert.equal((await acme.subscriptions.pause({ id: s.id })).status, 'paused');
      assert.equal((await acme.subscriptions.resume({ id: s.id })).status, 'active');
      s = await acme.subscriptions.cancel({ id: s.id, atPeriodEnd: true });
      assert.equal(s.cancelAtPeriodEnd, true);

      const invoices = await acme.invoices.list({ subscriptionId: s.id }).toArray();
      assert.ok(invoices.length >= 2);
      assert.equal((await acme.invoices.void({ id: invoices[0].id })).status, 'void');
      await assert.rejects(acme.invoices.void({ id: invoices[0].id }), B.Conflict);

      const types = (await acme.events.list({ limit: 100 }).toArray()).map((e) => e.type);
      for (const t of ['customer.created', 'subscription.created', 'invoice.finalized',
        'subscription.paused', 'subscription.resumed', 'invoice.voided']) {
        assert.ok(types.includes(t), t);
      }
      const [voided] = await acme.events.list({ type: 'invoice.voided' }).toArray();
      assert.equal((await acme.events.get({ id: voided.id })).resourceId, invoices[0].id);
    });

    it('renew what is due in the billing run', async () => {
      const bob = await acme.customers.create({ name: 'Bob', email: 'bob@example.com' });
      const s = await acme.subscriptions.create({ customerId: bob.id, planId: monthly.id });
      const end = new Date(s.currentPeriodEnd);
      const report = await w.b.runDue({ now: new Date(end.getTime() + 3600e3) });
      assert.ok(report.invoiced >= 1);
      assert.equal(report.failed, 0);
      assert.equal((await acme.subscriptions.get({ id: s.id })).currentPeriodStart, s.currentPeriodEnd);
      assert.equal((await acme.invoices.list({ subscriptionId: s.id }).toArray()).length, 2);
      await assert.rejects(w.b.runDue({ now: end.getTime() / 1000 - 86400 }), B.InvalidArgument);
    });

    it('renew with several workers', async () => {
      const subs = [];
      for (let i = 0; i < 6; i++) {
        const c = await acme.customers.create({ name: `W${i}`, email: `w${i}@example.com` });
        subs.push(await acme.subscriptions.create({ customerId: c.id, planId: monthly.id }));
      }
      const now = new Date(new Date(subs[0].currentPeriodEnd).getTime() + 7200e3);
      await assert.rejects(w.b.runDue({ now, workers: 65 }), B.InvalidArgument);
      const report = await w.b.runDue({ now, workers: 3 });
      assert.equal(report.failed, 0);
      for (const s of subs) {
        assert.equal((await acme.invoices.list({ subscriptionId: s.id }).toArray()).length, 2);
      }
    });
  });

  describe(`payments and dunning (${backend})`, () => {
    const w = world(backend, { provider: 'test' });
    let acme; let plan;
    before(async () => {
      w.setUp();
      [, acme] = await w.newTenant();
      const prod = await acme.products.create({ name: 'Pro', sku: 'pro' });
      plan = await acme.plans.create({ productId: prod.id, code: 'PRO_M', name: 'Pro monthly',
        amount: 2900, currency: 'EUR', interval: 'MONTH' });
    });
    after(w.tearDown);
    const subscribe = async (email, card) => {
      const c = await acme.customers.create({ name: 'C', email, defaultPaymentMethod: card });
      return acme.subscriptions.create({ customerId: c.id, planId: plan.id });
    };

    it('collects, pays and refunds', async () => {
      const s = await subscribe('ada@example.com', 'pm_card_visa');
      const inv = await acme.invoices.get({ id: s.latestInvoiceId });
      assert.deepEqual([inv.status, inv.amountPaid], ['paid', 2900]);
      const [pay, ...more] = await acme.payments.list({ invoiceId: inv.id }).toArray();
      assert.equal(more.length, 0);
      assert.deepEqual([pay.status, pay.provider, pay.amount], ['succeeded', 'test', 2900]);
      assert.equal((await acme.payments.get({ id: pay.id })).id, pay.id);
      const r = await acme.payments.refund({ id: pay.id, amount: 900 }, { idempotencyKey: 'refund-1' });
      assert.deepEqual([r.status, r.refundedAmount, r.replayed], ['partially_refunded', 900, false]);
      const again = await acme.payments.refund({ id: pay.id, amount: 900 }, { idempotencyKey: 'refund-1' });
      assert.equal(again.replayed, true);
      assert.equal((await acme.payments.get({ id: pay.id })).refundedAmount, 900);
    });

    it('reports a declined card with the provider code', async () => {
      const s = await subscribe('dee@example.com', 'pm_card_chargeDeclined');
      assert.equal(s.status, 'past_due');
      await assert.rejects(acme.invoices.pay({ id: s.latestInvoiceId }),
        (e) => e instanceof B.Declined && e.providerCode === 'card_declined');
      const paid = await acme.invoices.pay({ id: s.latestInvoiceId, paymentMethod: 'pm_card_visa' });
      assert.equal(paid.status, 'succeeded');
      assert.equal((await acme.invoices.get({ id: s.latestInvoiceId })).status, 'paid');
    });

    it('reads and sets the dunning policy', async () => {
      assert.equal((await acme.dunning.get()).finalAction, 'cancel');
      const d = await acme.dunning.set({ retryDays: [1, 3, 7], finalAction: 'keep_past_due' });
      assert.deepEqual([d.retryDays, d.finalAction], [[1, 3, 7], 'keep_past_due']);
      assert.deepEqual(await acme.dunning.get(), d);
      await assert.rejects(acme.dunning.set({ retryDays: [3, 1] }),
        (e) => e instanceof B.InvalidArgument && e.field === 'retryDays');
    });

    it('refuses to pay without a provider, and unknown providers', async () => {
      const b = w.db.open();
      const t = await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({ name: 'NoPay' });
      const a = b.asPrincipal({ tenant: t.id, role: 'ADMIN' });
      const prod = await a.products.create({ name: 'P', sku: 'p' });
      const p = await a.plans.create({ productId: prod.id, code: 'P_M', name: 'Plan P', amount: 100,
        currency: 'EUR', interval: 'MONTH' });
      const c = await a.customers.create({ name: 'C', email: 'c@example.com',
        defaultPaymentMethod: 'pm_card_visa' });
      const s = await a.subscriptions.create({ customerId: c.id, planId: p.id });
      await assert.rejects(a.invoices.pay({ id: s.latestInvoiceId }),
        (e) => e instanceof B.Conflict && e.code === 'no_provider');
      await b.close();
      assert.throws(() => w.db.open({ provider: 'stripe' }), TypeError);
    });
  });

  describe(`errors (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('carry every failing field of a validation', async () => {
      const [, acme] = await w.newTenant();
      const e = await acme.customers.create({ name: '', email: 'not-an-address' }).catch((x) => x);
      assert.ok(e instanceof B.InvalidArgument && e instanceof B.BillingError && e instanceof Error);
      assert.deepEqual([e.status, e.errorName, e.code, e.field, e.name],
        [-4, 'BILLING_EINVALID', 'invalid', 'name', 'InvalidArgument']);
      assert.deepEqual(e.errors.map((x) => x.field), ['name', 'email']);
      assert.match(e.message, /name must not be blank/);
    });

    it('name the field of a wrong type or an unknown field', async () => {
      const [, acme] = await w.newTenant();
      await assert.rejects(acme.customers.create({ name: 5, email: 'a@example.com' }),
        (e) => e instanceof B.InvalidArgument && e.field === 'name');
      await assert.rejects(acme.customers.create({ name: 'A', email: 'a@example.com', nick: 'x' }),
        (e) => e instanceof B.InvalidArgument && e.field === 'nick');
    });

    it('have a class per status', async () => {
      const [, acme] = await w.newTenant();
      await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
      await assert.rejects(acme.customers.create({ name: 'Ada 2', email: 'ADA@example.com' }),
        (e) => e instanceof B.AlreadyExists && e instanceof B.Conflict && e.field === 'email' &&
          e.status === -3);
      await assert.rejects(acme.customers.get({ id: 'cus_does_not_exist' }),
        (e) => e instanceof B.NotFound && e.code === 'not_found');
      await assert.rejects(acme.call('customers.frobnicate'),
        (e) => e instanceof B.NotFound && e.code === 'unknown_operation');
      await assert.rejects(w.platform.customers.list().toArray(), B.Forbidden);
      for (const [name, Cls] of Object.entries(B.BY_NAME)) {
        assert.ok(Cls.prototype instanceof B.BillingError, name);
      }
    });

    it('of opening are typed too', () => {
      assert.throws(() => new B.Billing('mysql://nowhere'), B.InvalidArgument);
      assert.throws(() => new B.Billing('sqlite::memory:', { library: '/nonexistent/libbilling.so' }),
        /libbilling not found/);
    });
  });

  describe(`pagination (${backend})`, () => {
    const w = world(backend);
    let acme; const ids = [];
    before(async () => {
      w.setUp();
      [, acme] = await w.newTenant();
      for (let i = 0; i < 45; i++) {
        const n = String(i).padStart(2, '0');
        ids.push((await acme.customers.create({ name: `C${n}`, email: `c${n}@example.com` })).id);
      }
    });
    after(w.tearDown);

    it('walks every keyset page when iterated', async () => {
      const pager = acme.customers.list({ limit: 10 });
      const seen = [];
      for await (const c of pager) seen.push(c.id);
      assert.deepEqual(seen, ids);
      const pages = [];
      for await (const p of pager.pages()) pages.push(p);
      assert.deepEqual(pages.map((p) => p.data.length), [10, 10, 10, 10, 5]);
      assert.ok(pages.slice(0, -1).every((p) => p.nextCursor));
      assert.equal(pages[4].hasMore, false);
      assert.equal((await pager.toArray()).length, 45); // starts over
    });

    it('gives one page at a time', async () => {
      const p1 = await acme.customers.list.page({ limit: 20 });
      assert.deepEqual(p1.data.map((c) => c.id), ids.slice(0, 20));
      const p2 = await acme.customers.list.page({ limit: 20, startingAfter: p1.nextCursor });
      assert.deepEqual(p2.data.map((c) => c.id), ids.slice(20, 40));
      const rest = await acme.customers.list({ limit: 20, startingAfter: p2.nextCursor }).toArray();
      assert.deepEqual(rest.map((c) => c.id), ids.slice(40));
    });

    it('walks numbered pages in page mode', async () => {
      const p = await acme.customers.list.page({ limit: 10, page: 2 });
      assert.deepEqual([p.total, p.page, p.totalPages], [45, 2, 5]);
      assert.deepEqual((await acme.customers.list({ limit: 10, page: 1 }).toArray()).map((c) => c.id),
        ids);
    });

    it('searches and orders', async () => {
      assert.deepEqual((await acme.customers.list({ search: 'C4' }).toArray()).map((c) => c.name),
        ['C40', 'C41', 'C42', 'C43', 'C44']);
      assert.deepEqual((await acme.customers.list({ limit: 7, order: 'desc' }).toArray())
        .map((c) => c.id), [...ids].reverse());
    });

    it('reports a bad limit when iterated', async () => {
      await assert.rejects(acme.customers.list({ limit: 1000 }).toArray(),
        (e) => e instanceof B.InvalidArgument && e.field === 'limit');
    });
  });

  describe(`idempotency (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('replays the first result and changes nothing', async () => {
      const [, acme] = await w.newTenant();
      const input = { name: 'Ada', email: 'ada@example.com' };
      const c1 = await acme.customers.create(input, { idempotencyKey: 'signup-1' });
      assert.equal(c1.replayed, false);
      const c2 = await acme.customers.create(input, { idempotencyKey: 'signup-1' });
      assert.equal(c2.replayed, true);
      assert.equal(c2.id, c1.id);
      assert.ok(!Object.keys(c2).includes('replayed'));
      assert.equal((await acme.customers.list().toArray()).length, 1);
      assert.equal((await acme.customers.get({ id: c1.id })).replayed, undefined);
    });

    it('refuses the same key with other input', async () => {
      const [, acme] = await w.newTenant();
      await acme.customers.create({ name: 'Ada', email: 'ada@example.com' }, { idempotencyKey: 'k-1' });
      await assert.rejects(
        acme.customers.create({ name: 'Eve', email: 'eve@example.com' }, { idempotencyKey: 'k-1' }),
        (e) => e instanceof B.Conflict && e.code === 'idempotency_mismatch');
      const r = await acme.call('customers.create', { name: 'Ada', email: 'ada@example.com' },
        { idempotencyKey: 'k-1' });
      assert.equal(r.replayed, true);
    });

    it('scopes keys to the tenant', async () => {
      const [, a] = await w.newTenant('A');
      const [, b] = await w.newTenant('B');
      const input = { name: 'Ada', email: 'ada@example.com' };
      const ca = await a.customers.create(input, { idempotencyKey: 'same' });
      const cb = await b.customers.create(input, { idempotencyKey: 'same' });
      assert.equal(cb.replayed, false);
      assert.notEqual(ca.id, cb.id);
    });
  });

  describe(`tenant isolation (${backend})`, () => {
    const w = world(backend);
    before(w.setUp);
    after(w.tearDown);

    it('keeps tenant A customers out of tenant B reach', async () => {
      const [, a] = await w.newTenant('A');
      const [, b] = await w.newTenant('B');
      const ada = await a.customers.create({ name: 'Ada', email: 'ada@example.com' });
      await b.customers.create({ name: 'Bea', email: 'bea@example.com' });
      await assert.rejects(b.customers.get({ id: ada.id }), B.NotFound);
      await assert.rejects(b.customers.update({ id: ada.id, name: 'Mallory' }), B.NotFound);
      await assert.rejects(b.customers.delete({ id: ada.id }), B.NotFound);
      assert.ok(!(await b.customers.list().toArray()).some((c) => c.id === ada.id));
      assert.deepEqual(await b.customers.list({ search: 'ada' }).toArray(), []);
      await b.customers.create({ name: 'Ada B', email: 'ada@example.com' });
      assert.deepEqual(await a.customers.get({ id: ada.id }), ada);
    });

    it('keeps events apart', async () => {
      const [, a] = await w.newTenant('A');
      const [, b] = await w.newTenant('B');
      await a.customers.create({ name: 'Ada', email: 'ada@example.com' });
      const [ev] = await a.events.list().toArray();
      await assert.rejects(b.events.get({ id: ev.id }), B.NotFound);
      assert.deepEqual(await b.events.list().toArray(), []);
    });
  });
}
