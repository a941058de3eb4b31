// Compiled, never run, by `tsc -p test/types` (ctest bindings_node_types):
// what an application may write type-checks, and each line under
// `// @ts-expect-error` must be a type error (tsc fails on a directive that
// finds no error, so a type that became `any` or too loose fails the test).

import {
  Billing, Customer, Invoice, InvoiceLine, InvoicePreview, NotFound, Page, Payment, Principal,
  Subscription, Tenant,
} from '../..';

async function app(): Promise<void> {
  const b = new Billing('sqlite:billing.db', { provider: 'test' });
  const tenant: Tenant = await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({ name: 'Acme' });
  const acme: Principal = b.asPrincipal({ tenant: tenant.id, role: 'ADMIN' });

  // Results are typed per resource, nested objects and lists too.
  const ada = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' },
    { idempotencyKey: 'signup-ada' });
  const email: string = ada.email;
  const replayed: boolean | undefined = ada.replayed;
  const pm: string | null = ada.defaultPaymentMethod;
  const sub: Subscription = await acme.subscriptions.create({ customerId: ada.id, planId: 'plan_1' });
  const status: 'incomplete' | 'trialing' | 'active' | 'past_due' | 'paused' | 'canceled' |
    'expired' | 'unpaid' | 'incomplete_expired' = sub.status;
  const inv: Invoice = await acme.invoices.get(sub.latestInvoiceId ?? 'in_none');
  const due: number = inv.amountDue;
  const line: InvoiceLine = inv.lines[0];
  const unit: number = line.unitAmount;
  const preview: InvoicePreview = await acme.invoices.preview({ subscriptionId: sub.id });
  const noId: null = preview.id;
  const pay: Payment = await acme.invoices.pay(inv.id, { paymentMethod: 'pm_card_visa' });
  const refunded: number = (await acme.payments.refund(pay.id, { amount: 100 })).refundedAmount;
  for await (const c of acme.customers.list({ limit: 50 })) {
    const e: string = c.email;
  }
  const page: Page<Customer> = await acme.customers.list.page({ limit: 1 });
  const more: boolean = page.hasMore;
  const all: Customer[] = await acme.customers.list().toArray();
  const gone: true = (await acme.customers.delete(ada.id, { expectedVersion: 1 })).deleted;

  // get, update and delete take the id alone, or the object form.
  const again: Customer = await acme.customers.get(ada.id);
  const same: Customer = await acme.customers.get({ id: ada.id });
  const renamed: Customer = await acme.customers.update(ada.id, { name: 'Ada L.' });
  const moved = await acme.subscriptions.changePlan(sub.id, { planId: 'plan_2' });
  const paused: Subscription = await acme.subscriptions.pause(sub.id);

  try {
    await acme.customers.get('cus_missing');
  } catch (e) {
    if (e instanceof NotFound) {
      const code: string | null = e.code;
    }
  }

  // ---- what must not compile

  // @ts-expect-error: no such field on a Customer (the result is not `any`)
  ada.amountDue;
  // @ts-expect-error: email is a string
  const n: number = ada.email;
  // @ts-expect-error: amounts are numbers
  inv.amountDue.toUpperCase();
  // @ts-expect-error: a line has no email
  inv.lines[0].email;
  // @ts-expect-error: list items are Customers
  for await (const c of acme.customers.list()) c.total;
  // @ts-expect-error: an id is a string
  await acme.customers.get(42);
  // @ts-expect-error: get needs its id
  await acme.customers.get();
  // @ts-expect-error: get needs its id
  await acme.customers.get({});
  // @ts-expect-error: a customer needs a name and an email (the catalog's required flags)
  await acme.customers.create({});
  // @ts-expect-error: and an email
  await acme.customers.create({ name: 'Ada' });
  // @ts-expect-error: create needs its input
  await acme.customers.create();
  // @ts-expect-error: a plan needs a product, code, name, amount, currency and interval
  await acme.plans.create({ productId: 'prod_1', name: 'Pro' });
  // @ts-expect-error: an endpoint needs its url
  await acme.webhookEndpoints.create({ events: ['invoice.paid'] });
  // @ts-expect-error: name is required to create a tenant
  await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({});
  // @ts-expect-error: customerId is required to subscribe (planId is not: items[] may
  // name the plans instead, and the library refuses neither given)
  await acme.subscriptions.create({ planId: 'plan_1' });
  // @ts-expect-error: planId is required to change plans, after the id too
  await acme.subscriptions.changePlan(sub.id, {});
  // @ts-expect-error: the id is given alone or in the object, not both
  await acme.customers.update(ada.id, { id: ada.id, name: 'x' });
  // @ts-expect-error: no such input field
  await acme.customers.update(ada.id, { nmae: 'x' });
  // @ts-expect-error: a list takes no id
  acme.customers.list('cus_1');
  // @ts-expect-error: no such operation
  await acme.customers.remove(ada.id);
  // @ts-expect-error: reads take no idempotency key
  await acme.customers.get(ada.id, { idempotencyKey: 'k' });
  // @ts-expect-error: role must be one of the three
  b.asPrincipal({ role: 'OWNER' });
  // @ts-expect-error: a preview has no id
  const pid: string = preview.id;

  // The invoice's document: bytes, PDF or HTML.
  const pdf: Uint8Array = await acme.renderInvoice(inv.id);
  const html: Uint8Array = await acme.renderInvoice(inv.id, { format: 'html', locale: 'de-DE' });
  const note: Uint8Array = await acme.renderCreditNote('cn_1', { format: 'pdf' });
  // @ts-expect-error: PDF or HTML only
  await acme.renderInvoice(inv.id, { format: 'docx' });
  // @ts-expect-error: the bytes are not a string
  const text: string = await acme.renderInvoice(inv.id);
  // A hosted link's document, without a principal.
  const token: string = (inv.hostedInvoiceUrl ?? '').split('/').pop() ?? '';
  const hosted: Uint8Array = await b.renderHostedInvoice(token);
  const hostedPdf: Uint8Array = await b.renderHostedInvoice(token, 'pdf');
  // @ts-expect-error: PDF or HTML only, given as a string
  await b.renderHostedInvoice(token, { format: 'pdf' });
  // @ts-expect-error: a link is the Billing's, not a principal's
  await acme.renderHostedInvoice(token);
  const batch = await acme.ingestUsage([{ transactionId: 't', eventName: 'e', customerId: ada.id }]);
  const accepted: number = batch.accepted;

  await b.close();
}

export { app };
