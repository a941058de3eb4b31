'use strict';
// The JSON shapes the library's operations answer with, and which operation
// answers with which. The catalog (billing_catalog_json) describes inputs
// only, so the outputs are declared here, once, from src/core/json_out.c
// and json_ops.c, the library's one writer of these objects:
//
// - generate-types.js makes an interface per shape and types every method's
//   result with it (customers.get resolves to a Customer, not any);
// - test/shapes.test.js runs every operation against the library and checks
//   each answer against its shape: no field missing, none undeclared, every
//   value of its type. A field the library adds or changes fails that test
//   until it is declared here and index.d.ts regenerated.
//
// A field's type, as a string:
//   string, integer, number (a decimal such as taxRate), boolean,
//   time (RFC 3339 UTC text), metadata (string values by the caller's keys),
//   object (any JSON object), 'a' | 'b' (one of these strings),
//   or the name of another shape;
//   a trailing [] makes an array of it, a trailing ? adds null.

const SHAPES = {
  Tenant: {
    doc: 'A tenant: one business billing its own customers.',
    fields: {
      id: 'string', object: "'tenant'", name: 'string', invoicePrefix: 'string',
      createdAt: 'time',
    },
  },
  Customer: {
    doc: 'A customer of a tenant.',
    fields: {
      id: 'string', object: "'customer'", name: 'string', email: 'string',
      defaultPaymentMethod: 'string?', metadata: 'metadata', createdAt: 'time',
      updatedAt: 'time', version: 'integer',
    },
  },
  Product: {
    doc: 'A product; prices in minor units of its currency.',
    fields: {
      id: 'string', object: "'product'", name: 'string', sku: 'string',
      description: 'string?', priceCents: 'integer', currency: 'string', taxRate: 'number',
      isActive: 'boolean', stock: 'integer', lowStockThreshold: 'integer',
      metadata: 'metadata', createdAt: 'time', updatedAt: 'time', version: 'integer',
    },
  },
  Plan: {
    doc: 'A price of a product per interval; amount in minor units.',
    fields: {
      id: 'string', object: "'plan'", productId: 'string', code: 'string', name: 'string',
      description: 'string?', amount: 'integer', currency: 'string',
      interval: "'DAY' | 'WEEK' | 'MONTH' | 'YEAR'", intervalCount: 'integer',
      trialDays: 'integer', termCount: 'integer?', active: 'boolean', metadata: 'metadata',
      createdAt: 'time', updatedAt: 'time', version: 'integer',
    },
  },
  Subscription: {
    doc: 'A customer\'s subscription to a plan.',
    fields: {
      id: 'string', object: "'subscription'", customerId: 'string', planId: 'string',
      status: "'incomplete' | 'trialing' | 'active' | 'past_due' | 'paused' | 'canceled' | " +
        "'expired' | 'unpaid'",
      quantity: 'integer', currency: 'string', billingCycleAnchor: 'time',
      currentPeriodStart: 'time', currentPeriodEnd: 'time', trialEnd: 'time?',
      cancelAtPeriodEnd: 'boolean', canceledAt: 'time?', endedAt: 'time?',
      latestInvoiceId: 'string?', pendingPlanId: 'string?', metadata: 'metadata',
      createdAt: 'time', version: 'integer',
    },
  },
  InvoiceLine: {
    doc: 'One line of an invoice; amounts in minor units.',
    fields: {
      description: 'string', amount: 'integer', quantity: 'integer', unitAmount: 'integer',
      periodStart: 'time', periodEnd: 'time', taxRate: 'number', taxAmount: 'integer',
      proration: 'boolean', planId: 'string?',
    },
  },
  Invoice: {
    doc: 'An invoice; amounts in minor units of its currency. number is null until it ' +
      'is finalized.',
    fields: {
      id: 'string', object: "'invoice'", number: 'string?',
      status: "'draft' | 'pending' | 'paid' | 'failed' | 'void'", customerId: 'string',
      subscriptionId: 'string?', currency: 'string', subtotal: 'integer', tax: 'integer',
      total: 'integer', amountPaid: 'integer', amountDue: 'integer', periodStart: 'time',
      periodEnd: 'time', lines: 'InvoiceLine[]', attemptCount: 'integer',
      nextAttemptAt: 'time?', createdAt: 'time', finalizedAt: 'time?', paidAt: 'time?',
      voidedAt: 'time?', version: 'integer',
    },
  },
  InvoicePreview: {
    doc: 'The invoice a subscription\'s next renewal would issue: never stored, so no ' +
      'id and no number.',
    extends: 'Invoice',
    fields: { id: 'null', number: 'null' },
  },
  Event: {
    doc: 'A domain event; data is the resource as it was after the change.',
    fields: {
      id: 'string', object: "'event'", type: 'string', resourceType: 'string',
      resourceId: 'string', data: 'object?', requestId: 'string?',
      idempotencyKey: 'string?', createdAt: 'time',
    },
  },
  Payment: {
    doc: 'An attempt to collect an invoice; amounts in minor units.',
    fields: {
      id: 'string', object: "'payment'", invoiceId: 'string', customerId: 'string',
      status: "'pending' | 'requires_action' | 'succeeded' | 'failed' | 'refunded' | " +
        "'partially_refunded' | 'unknown'",
      amount: 'integer', currency: 'string', refundedAmount: 'integer', provider: 'string',
      providerRef: 'string?', paymentMethod: 'string?', failureCode: 'string?',
      failureMessage: 'string?', createdAt: 'time', updatedAt: 'time', version: 'integer',
    },
  },
  DunningPolicy: {
    doc: 'The tenant\'s retry schedule for failed payments.',
    fields: {
      object: "'dunning_policy'", retryDays: 'integer[]',
      finalAction: "'cancel' | 'unpaid' | 'keep_past_due'",
    },
  },
  WebhookEndpoint: {
    doc: 'A URL the tenant\'s events are delivered to. The signing secret is shown once, ' +
      'by create and rotateSecret (WebhookEndpointWithSecret).',
    fields: {
      id: 'string', object: "'webhook_endpoint'", url: 'string', events: 'string[]',
      enabled: 'boolean', description: 'string?', disabledReason: 'string?',
      createdAt: 'time', updatedAt: 'time', version: 'integer',
    },
  },
  WebhookEndpointWithSecret: {
    doc: 'An endpoint as create and rotateSecret answer: with the new signing secret.',
    extends: 'WebhookEndpoint',
    fields: { secret: 'string' },
  },
  WebhookAttempt: {
    doc: 'One try of a delivery; statusCode is null when no answer came.',
    fields: {
      at: 'time', statusCode: 'integer?', error: 'string?', response: 'string?',
      durationMs: 'integer',
    },
  },
  WebhookDelivery: {
    doc: 'One event on its way to one endpoint.',
    fields: {
      id: 'string', object: "'webhook_delivery'", endpointId: 'string', eventId: 'string',
      status: "'pending' | 'succeeded' | 'dead'", attemptCount: 'integer',
      nextAttemptAt: 'time?', attempts: 'WebhookAttempt[]', createdAt: 'time',
    },
  },
  Redelivery: {
    doc: 'How many deliveries a redelivery queued.',
    fields: { object: "'redelivery'", deliveries: 'integer' },
  },
  AuditEntry: {
    doc: 'One change, who made it and through which operation.',
    fields: {
      id: 'string', object: "'audit_entry'", at: 'time', userId: 'string?',
      role: "'USER' | 'ADMIN' | 'PLATFORM'", operation: 'string', resourceId: 'string?',
      requestId: 'string?', idempotencyKey: 'string?',
    },
  },
  Deleted: {
    doc: 'The answer of a delete.',
    fields: { id: 'string', deleted: 'true' },
  },
};

// The shape of each operation's answer (of each item, for a list), by the
// group of its name, then by the name itself where it differs.
const BY_GROUP = {
  tenants: 'Tenant', customers: 'Customer', products: 'Product', plans: 'Plan',
  subscriptions: 'Subscription', invoices: 'Invoice', events: 'Event', payments: 'Payment',
  dunning: 'DunningPolicy', webhook_endpoints: 'WebhookEndpoint',
  webhook_deliveries: 'WebhookDelivery', audit: 'AuditEntry',
};
const BY_NAME = {
  'invoices.preview': 'InvoicePreview',
  'invoices.pay': 'Payment',
  'webhook_endpoints.create': 'WebhookEndpointWithSecret',
  'webhook_endpoints.rotate_secret': 'WebhookEndpointWithSecret',
  'events.redeliver': 'Redelivery',
};

/** The shape name of an operation's answer; throws for an operation that
 *  is not declared, so a new one is declared before index.d.ts is made. */
function resultShape(name) {
  if (BY_NAME[name]) return BY_NAME[name];
  if (name.endsWith('.delete')) return 'Deleted';
  const shape = BY_GROUP[name.split('.')[0]];
  if (!shape) {
    throw new Error(`scripts/resources.js: declare what ${name} answers with (BY_GROUP or ` +
      'BY_NAME), then run npm run generate-types');
  }
  return shape;
}

/** Every field of a shape, its parent's first. */
function fieldsOf(name) {
  const s = SHAPES[name];
  return { ...(s.extends ? fieldsOf(s.extends) : {}), ...s.fields };
}

/** { base, array, nullable } of a field type string. */
function parseType(t) {
  let base = t.trim();
  const nullable = base.endsWith('?');
  if (nullable) base = base.slice(0, -1);
  const array = base.endsWith('[]');
  if (array) base = base.slice(0, -2);
  return { base, array, nullable };
}

const SCALARS = {
  string: 'string', time: 'string', integer: 'number', number: 'number', boolean: 'boolean',
  metadata: '{ [key: string]: string }', object: '{ [key: string]: unknown }', null: 'null',
  true: 'true',
};

/** The TypeScript type of a field type string. */
function tsOf(t) {
  const { base, array, nullable } = parseType(t);
  let ts = SCALARS[base] || base; // a shape's name, or a union of string literals
  if (array) ts = base.includes('|') ? `Array<${ts}>` : `${ts}[]`;
  return nullable ? `${ts} | null` : ts;
}

/** Problems of `value` against a field type string (empty when it fits). */
function check(value, t, where) {
  const { base, array, nullable } = parseType(t);
  if (value === null) return nullable || base === 'null' ? [] : [`${where}: null`];
  if (array) {
    if (!Array.isArray(value)) return [`${where}: not an array`];
    return value.flatMap((v, i) => check(v, base, `${where}[${i}]`));
  }
  const bad = [`${where}: ${JSON.stringify(value)} is not ${base}`];
  switch (base) {
    case 'string': return typeof value === 'string' ? [] : bad;
    case 'time':
      return typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(value) ? [] : bad;
    case 'integer': return Number.isSafeInteger(value) ? [] : bad;
    case 'number': return typeof value === 'number' ? [] : bad;
    case 'boolean': return typeof value === 'boolean' ? [] : bad;
    case 'true': return value === true ? [] : bad;
    case 'null': return bad;
    case 'metadata':
      return value && typeof value === 'object' && !Array.isArray(value) &&
        Object.values(value).every((v) => typeof v === 'string') ? [] : bad;
    case 'object':
      return value && typeof value === 'object' && !Array.isArray(value) ? [] : bad;
    default:
      if (base.includes("'")) {
        const allowed = base.split('|').map((s) => s.trim().slice(1, -1));
        return allowed.includes(value) ? [] : bad;
      }
      return checkShape(value, base, where);
  }
}

/** Problems of an object against a shape: missing, undeclared or mistyped
 *  fields. */
function checkShape(value, name, where = name) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${where}: not an object`];
  const fields = fieldsOf(name);
  const problems = [];
  for (const [field, t] of Object.entries(fields)) {
    if (!(field in value)) problems.push(`${where}.${field}: missing`);
    else problems.push(...check(value[field], t, `${where}.${field}`));
  }
  for (const field of Object.keys(value)) {
    if (!(field in fields)) problems.push(`${where}.${field}: not declared in scripts/resources.js`);
  }
  return problems;
}

module.exports = { SHAPES, resultShape, fieldsOf, tsOf, checkShape };
