'use strict';
// libbilling from Node: every operation of the library's JSON layer as a
// promise-returning method generated from billing_catalog_json().
//
//   const { Billing } = require('libbilling');
//   const b = new Billing('sqlite:billing.db');
//   const t = await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({ name: 'Acme' });
//   const acme = b.asPrincipal({ tenant: t.id, role: 'ADMIN' });
//   const ada = await acme.customers.create({ name: 'Ada', email: 'ada@example.com' });
//   for await (const c of acme.customers.list({ limit: 50 })) console.log(c.id);
//
// Nothing here names an operation: an operation the library adds later
// appears as a method without a change to this file. Every call runs the
// blocking C function on koffi's worker threads (`.async`), never on the
// event loop; a Billing caps how many run at once (maxConcurrency) and
// queues the rest. close() waits for calls in flight, so the context is never
// closed under a running call. See docs/bindings-node.md.

const native = require('./lib/native');
const errors = require('./lib/errors');

const CATALOG_VERSION = 1; // the catalog format this binding understands

const kSubmit = Symbol('submit');
const kSubmitSync = Symbol('submitSync');
const kRender = Symbol('render');
const kInvoke = Symbol('invoke');
const kFns = Symbol('fns');
const kWho = Symbol('who');
const kTree = Symbol('tree');

/** The JS name of a catalog name: "change_plan" -> "changePlan". */
function camelCase(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

class Operation {
  constructor(entry) {
    this.name = entry.name;
    this.path = entry.name.split('.').map(camelCase);
    this.mutating = Boolean(entry.mutating);
    this.roles = entry.roles || [];
    this.description = entry.description || '';
    this.input = entry.input || [];
    // Keyset-pageable: the list takes a cursor. Known from the input, not
    // from the name, so a new list operation is paged like the others.
    this.pageable = this.input.some((f) => f.name === 'startingAfter');
    this.takesId = this.input.some((f) => f.name === 'id');
  }
}

const catalogs = new Map();

function loadCatalog(fns) {
  if (catalogs.has(fns)) return catalogs.get(fns);
  const out = [null];
  const rc = fns.catalogJson(out);
  const text = native.takeString(fns, out[0]);
  if (rc < 0 || text === null) {
    throw new errors.OutOfMemory({ status: rc, name: 'BILLING_ENOMEM', code: 'out_of_memory',
      message: 'cannot read the operation catalog' });
  }
  const raw = JSON.parse(text);
  if (raw.version !== CATALOG_VERSION) {
    throw new Error(`the library's operation catalog has version ${raw.version}; ` +
      `this binding reads version ${CATALOG_VERSION}`);
  }
  const tree = {};
  const operations = [];
  for (const entry of raw.operations) {
    const op = new Operation(entry);
    operations.push(op);
    let node = tree;
    for (const part of op.path.slice(0, -1)) {
      node[part] = node[part] || {};
      node = node[part];
      if (node instanceof Operation) throw new Error(`catalog: ${part} is both an operation and a group`);
    }
    const leaf = op.path[op.path.length - 1];
    if (leaf in node) throw new Error(`catalog: ${op.name} clashes with another operation`);
    node[leaf] = op;
  }
  const result = { raw, operations, tree };
  catalogs.set(fns, result);
  return result;
}

function providerOptions(fns, provider) {
  if (provider === undefined || provider === null) return null;
  if (provider !== 'test') throw new TypeError(`provider must be 'test' or left out, not ${provider}`);
  const out = [null];
  const rc = fns.testProviderNew(out, { version: native.TEST_PROVIDER_OPTIONS_VERSION,
    webhook_secret: null });
  if (rc < 0) throw errors.fromObject(native.lastError(fns));
  return { version: native.CTX_OPTIONS_VERSION, storage: null, clock: null, clock_payload: null,
    logger: null, logger_payload: null, log_level: 0, default_page_size: 0, max_page_size: 0,
    provider: out[0] };
}

function closedError() {
  const e = new Error('billing: the context is closed');
  e.code = 'ERR_BILLING_CLOSED';
  return e;
}

// The formats of a document: 'html', 'pdf', 'cii' (its e-invoice, the CII
// XML of EN 16931; not of a hosted link) and, for an invoice only,
// 'facturx' (its PDF/A-3 with that XML attached).
const INVOICE_FORMATS = ['pdf', 'html', 'cii', 'facturx'];
const CREDIT_NOTE_FORMATS = ['pdf', 'html', 'cii'];
const HOSTED_FORMATS = ['html', 'pdf'];

function checkFormat(format, formats) {
  if (!Object.hasOwn(native.DOCUMENT_FORMATS, format) || !formats.includes(format)) {
    throw new TypeError(`format must be ${formats.slice(0, -1).map((f) => `'${f}'`)
      .join(', ')} or '${formats[formats.length - 1]}', not ${format}`);
  }
}

// Runs the render function fns[fn](out, len, ctx, ...args) on a worker
// thread and resolves to its document as a Buffer. The failure's details
// (field, message) are in billing_error_last() of the worker thread, out of
// reach. A refusal is decided before anything is rendered, so the same call
// made again here, on the main thread, is cheap and gives them; when it
// succeeds after all (a transient failure gone), its document is the answer.
async function renderBytes(billing, fn, args) {
  const fns = billing[kFns];
  const render = (ctx) => {
    const out = [null];
    const len = [0];
    return { out, len, start: (cb) => fns[fn].async(out, len, ctx, ...args, cb) };
  };
  let call;
  const rc = await billing[kSubmit]((ctx, cb) => { call = render(ctx); call.start(cb); });
  if (rc >= 0) return native.takeBytes(fns, call.out[0], Number(call.len[0]));
  return billing[kSubmitSync]((ctx) => {
    const again = render(ctx);
    const rc2 = fns[fn](again.out, again.len, ctx, ...args);
    if (rc2 < 0) throw errors.fromObject(native.lastError(fns));
    return native.takeBytes(fns, again.out[0], Number(again.len[0]));
  });
}

// ------------------------------------------------------------ the context

class Billing {
  #ctx = null;
  #inflight = 0;
  #queue = [];
  #closing = null;
  #closed = null;

  /**
   * Opens (and by default migrates) a context: `url` is what
   * billing_ctx_open_url takes ("sqlite:billing.db", "postgres://...").
   * Options: migrate (true), library (path of libbilling.so),
   * maxConcurrency (calls running at once on worker threads, 16), provider
   * ('test': the library's deterministic test provider, where payment
   * method "pm_card_visa" succeeds and "pm_card_chargeDeclined" is
   * declined; none by default, and paying an invoice is then a Conflict
   * "no_provider"). Opening is synchronous: it happens once, at start-up.
   */
  constructor(url, options = {}) {
    if (typeof url !== 'string') throw new TypeError('url must be a string');
    const fns = native.load(options.library);
    const { raw, operations, tree } = loadCatalog(fns);
    this[kFns] = fns;
    this[kTree] = tree;
    this.catalog = raw;
    this.operations = operations.map((op) => op.name);
    this.maxConcurrency = options.maxConcurrency ?? 16;
    if (!Number.isInteger(this.maxConcurrency) || this.maxConcurrency < 1 || this.maxConcurrency > 256) {
      throw new RangeError('maxConcurrency must be an integer from 1 to 256');
    }
    const opts = providerOptions(fns, options.provider);
    const out = [null];
    let rc = fns.open(out, url, opts);
    if (rc < 0) {
      const e = errors.fromObject(native.lastError(fns));
      if (opts) native.freeProvider(opts.provider); // the context did not take it
      throw e;
    }
    if (options.migrate !== false) {
      rc = fns.migrate(out[0]);
      if (rc < 0) {
        const e = errors.fromObject(native.lastError(fns));
        fns.close(out[0]);
        throw e;
      }
    }
    this.#ctx = out[0];
  }

  get closed() {
    return this.#closing !== null;
  }

  get libraryVersion() {
    return this[kFns].versionString();
  }

  /** A caller bound to this context: role "USER", "ADMIN" or "PLATFORM", the
   *  tenant id (not for PLATFORM) and an optional user id recorded with
   *  changes. The library trusts it: authentication is the host's job. */
  asPrincipal({ role, tenant = null, user = null } = {}) {
    return new Principal(this, { role, tenant, user });
  }

  /**
   * billing_run_due on a worker thread: the work due at or before `now` (a
   * Date, UTC seconds, or the context's clock when left out), across every
   * tenant, with `workers` threads (0 or 1: one; at most 64). Resolves to
   * { processed, invoiced, failed, remaining }.
   */
  runDue({ now, maxItems = 0, workers = 0 } = {}) {
    let when = 0;
    if (now instanceof Date) when = Math.floor(now.getTime() / 1000);
    else if (now !== undefined && now !== null) when = Math.floor(Number(now));
    const fns = this[kFns];
    const limits = { version: native.RUN_LIMITS_VERSION, max_items: maxItems, workers };
    const report = {};
    return this[kSubmit]((ctx, cb) => fns.runDue.async(ctx, when, limits, report, cb))
      .then((rc) => {
        if (rc < 0) {
          // The details of the failure are in billing_error_last() of the
          // worker thread, out of reach: the code's own name and message.
          throw errors.fromObject({ status: rc, name: fns.errorName(rc),
            code: fns.errorCode(rc), message: fns.strerror(rc), errors: [] });
        }
        return {
          processed: Number(report.processed), invoiced: Number(report.invoiced),
          failed: Number(report.failed), remaining: Number(report.remaining),
        };
      });
  }

  /**
   * The document of a hosted invoice link (billing_hosted_invoice_render) as
   * a Buffer, for a request that carries no principal: `token` is the last
   * segment of an invoice's hostedInvoiceUrl, `format` 'html' (UTF-8
   * text/html, the default) or 'pdf'. The invoice is drawn in its
   * customer's preferredLocale (else en-US). Renders on a worker thread, as
   * Principal.renderInvoice. Rejects with NotFound, the same error whatever
   * is wrong with a token (malformed, forged, expired, signed before a
   * rotation) and for a draft or an invoice that is gone; a non-string
   * token or another format is a TypeError before any call.
   */
  async renderHostedInvoice(token, format = 'html') {
    if (typeof token !== 'string') throw new TypeError('token must be a string');
    checkFormat(format, HOSTED_FORMATS);
    return renderBytes(this, 'hostedInvoiceRender', [token, native.DOCUMENT_FORMATS[format]]);
  }

  /** Waits for the calls in flight and queued, then closes the context.
   *  Calls made after close() reject. Idempotent. */
  close() {
    if (this.#closing === null) {
      this.#closing = new Promise((resolve) => { this.#closed = resolve; });
      if (this.#inflight === 0 && this.#queue.length === 0) this.#finishClose();
    }
    return this.#closing;
  }

  // Runs start(ctx, callback) now or when a slot frees up; resolves with
  // the C function's return value.
  [kSubmit](start) {
    return new Promise((resolve, reject) => {
      if (this.#closing !== null) {
        reject(closedError());
        return;
      }
      const task = { start, resolve, reject };
      if (this.#inflight < this.maxConcurrency) this.#run(task);
      else this.#queue.push(task);
    });
  }

  // Runs fn(ctx) now, on this thread, when the context is still open (a
  // short call that must read billing_error_last() where it failed);
  // resolves with what fn returns, rejects with what it throws.
  [kSubmitSync](fn) {
    if (this.#ctx === null) return Promise.reject(closedError());
    try {
      return Promise.resolve(fn(this.#ctx));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #run(task) {
    this.#inflight++;
    try {
      task.start(this.#ctx, (err, rc) => {
        this.#done();
        if (err) task.reject(err);
        else task.resolve(rc);
      });
    } catch (e) { // koffi refused the arguments: nothing ran
      this.#done();
      task.reject(e);
    }
  }

  #done() {
    this.#inflight--;
    if (this.#queue.length > 0) this.#run(this.#queue.shift());
    else if (this.#inflight === 0 && this.#closing !== null) this.#finishClose();
  }

  #finishClose() {
    const ctx = this.#ctx;
    this.#ctx = null;
    if (ctx) this[kFns].close(ctx);
    this.#closed();
  }
}

if (Symbol.asyncDispose) {
  Billing.prototype[Symbol.asyncDispose] = function asyncDispose() { return this.close(); };
}

// ------------------------------------------------------------ principals

class Principal {
  constructor(billing, { role, tenant, user }) {
    if (!Object.hasOwn(native.ROLES, role)) {
      throw new TypeError(`role must be one of ${Object.keys(native.ROLES).join(', ')}, not ${role}`);
    }
    this.billing = billing;
    this.role = role;
    this.tenant = tenant;
    this.user = user;
    this[kWho] = { tenant_id: tenant, user_id: user, role: native.ROLES[role] };
    for (const [name, node] of Object.entries(billing[kTree])) {
      if (name in this) throw new Error(`catalog: "${name}" clashes with a Principal property`);
      this[name] = member(this, node);
    }
  }

  /** Sends usage events (any iterable of event objects) in batches of
   *  batchSize (1 to 1000, the most usage_events.create takes), one call a
   *  batch, and resolves to one answer for all: the tallies added up and
   *  every event's item in the input's order. A batch that fails rejects;
   *  the batches before it are stored (a resend of them is a duplicate). */
  async ingestUsage(events, { batchSize = 1000 } = {}) {
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) {
      throw new RangeError('batchSize must be an integer from 1 to 1000');
    }
    const all = { object: 'usage_result', data: [], accepted: 0, duplicates: 0, refused: 0,
      voided: 0 };
    let batch = [];
    const flush = async () => {
      const r = await this[kInvoke]('usage_events.create', { events: batch }, null);
      for (const k of ['accepted', 'duplicates', 'refused', 'voided']) all[k] += r[k];
      all.data.push(...r.data);
      batch = [];
    };
    for (const e of events) {
      batch.push(e);
      if (batch.length === batchSize) await flush();
    }
    if (batch.length) await flush();
    return all;
  }

  /**
   * The invoice's document (billing_invoice_render) as a Buffer: format
   * 'pdf' (application/pdf, the default), 'html' (UTF-8 text/html), 'cii'
   * (the e-invoice of a finalized invoice: UN/CEFACT CII XML of EN 16931,
   * UTF-8 application/xml) or 'facturx' (the finalized invoice's Factur-X
   * PDF/A-3: its PDF with the CII XML attached as factur-x.xml); locale one
   * of en-US, en-GB, de-DE, fr-FR, es-ES,
   * ja-JP, or null for the customer's preferredLocale (else en-US; unused by
   * 'cii'). Renders on a worker thread. Rejects with a BillingError
   * (NotFound; Invalid naming "locale" or "format", the latter when the
   * library was built without PDF or Factur-X support; Conflict for a
   * draft's e-invoice or Factur-X,
   * reason "draft", and for "einvoice_incomplete" / "einvoice_unsupported").
   */
  renderInvoice(invoiceId, { format = 'pdf', locale = null } = {}) {
    return this[kRender]('invoiceRender', 'invoiceId', invoiceId, format, locale,
      INVOICE_FORMATS);
  }

  /** The credit note's document (billing_credit_note_render), as
   *  renderInvoice: 'pdf', 'html' or 'cii' (the e-invoice of an issued
   *  note, type code 381, naming the invoice it credits; a void note
   *  rejects with Conflict code "credit_note_void"); no 'facturx'. */
  renderCreditNote(creditNoteId, { format = 'pdf', locale = null } = {}) {
    return this[kRender]('creditNoteRender', 'creditNoteId', creditNoteId, format, locale,
      CREDIT_NOTE_FORMATS);
  }

  async [kRender](fn, idName, id, format, locale, formats) {
    if (typeof id !== 'string') throw new TypeError(`${idName} must be a string`);
    checkFormat(format, formats);
    if (locale !== null && typeof locale !== 'string') {
      throw new TypeError('locale must be a string or null');
    }
    return renderBytes(this.billing, fn,
      [this[kWho], id, native.DOCUMENT_FORMATS[format], locale]);
  }

  /** Runs one operation by name with a JSON-ready input object; resolves to
   *  the decoded result or rejects with a BillingError. */
  call(operation, input = {}, options = {}) {
    return this[kInvoke](operation, input, options);
  }

  async [kInvoke](operation, input, options) {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new TypeError(`${operation}: the input must be an object`);
    }
    const billing = this.billing;
    const fns = billing[kFns];
    const json = Buffer.from(JSON.stringify(input));
    const key = options && options.idempotencyKey;
    let opts = null;
    let replayed = null;
    if (key !== undefined && key !== null) {
      replayed = new Int32Array(1); // the library writes the flag through this pointer
      opts = { version: native.CALL_OPTIONS_VERSION, idempotency_key: String(key), replayed };
    }
    const out = [null];
    const who = this[kWho];
    const rc = await billing[kSubmit]((ctx, cb) =>
      fns.callJson.async(out, ctx, who, operation, json, json.length, opts, cb));
    const text = native.takeString(fns, out[0]);
    if (text === null) {
      throw new errors.OutOfMemory({ status: rc, name: 'BILLING_ENOMEM', code: 'out_of_memory',
        message: 'out of memory' });
    }
    const value = JSON.parse(text);
    if (rc < 0) throw errors.fromObject(value && value.error);
    if (replayed && value && typeof value === 'object') {
      Object.defineProperty(value, 'replayed', { value: replayed[0] === 1, enumerable: false });
    }
    return value;
  }
}

function member(principal, node) {
  if (node instanceof Operation) return method(principal, node);
  const group = {};
  for (const [name, child] of Object.entries(node)) group[name] = member(principal, child);
  return Object.freeze(group);
}

// An operation that takes an id also takes it alone, as a string:
// get('cus_...'), delete('cus_...', { expectedVersion: 2 }, options) (the
// other fields, then the options); else one input object, then the options.
function args(op, first, second, third) {
  if (typeof first !== 'string') return [first === undefined ? {} : first, second];
  if (!op.takesId) {
    return [null, null, new TypeError(`${op.name} takes no id: pass an input object`)];
  }
  if (second !== undefined && second !== null &&
      (typeof second !== 'object' || Array.isArray(second))) {
    return [null, null, new TypeError(`${op.name}: the fields after the id must be an object`)];
  }
  if (second && Object.hasOwn(second, 'id')) {
    return [null, null, new TypeError(`${op.name}: the id is given twice`)];
  }
  return [{ ...second, id: first }, third];
}

function method(principal, op) {
  let fn;
  if (op.pageable) {
    fn = (input = {}) => new Pager(principal, op, input);
    fn.page = (input = {}) => principal[kInvoke](op.name, input, null);
  } else {
    fn = (first, second, third) => {
      const [input, options, error] = args(op, first, second, third);
      if (error) return Promise.reject(error);
      return principal[kInvoke](op.name, input, op.mutating ? options : null);
    };
  }
  Object.defineProperty(fn, 'name', { value: op.path[op.path.length - 1] });
  fn.operation = op;
  return fn;
}

/** Every item of a list, page after page: by cursor (nextCursor ->
 *  startingAfter), or by page number when `page` was given. Lazy: nothing
 *  is called until iteration starts; iterating again starts over. */
class Pager {
  constructor(principal, op, input) {
    this.principal = principal;
    this.operation = op;
    this.input = input;
  }

  async* pages() {
    if (this.input === null || typeof this.input !== 'object') {
      throw new TypeError(`${this.operation.name}: the input must be an object`);
    }
    const input = { ...this.input };
    for (;;) {
      const page = await this.principal[kInvoke](this.operation.name, input, null);
      yield page;
      if (!page.hasMore) return;
      if (input.page !== undefined) input.page += 1;
      else if (page.nextCursor) input.startingAfter = page.nextCursor;
      else return;
    }
  }

  async* [Symbol.asyncIterator]() {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Every item in an array (convenient for short lists and tests). */
  async toArray() {
    const all = [];
    for await (const item of this) all.push(item);
    return all;
  }
}

module.exports = {
  Billing, Principal, Pager, Operation, camelCase, ...errors,
};
