'use strict';
// Loading libbilling with koffi and declaring the few C functions the binding
// calls: billing_call_json (every operation), plus what it cannot do: open,
// migrate and close a context, read the catalog, run the due work, render an
// invoice's or a credit note's document or a hosted invoice link's (bytes,
// not JSON), read the last error. Structs mirror the public headers field for field
// (principal.h, common.h, errors.h, run.h); they only grow at their end,
// gated by their version member, so these mirrors stay valid.

const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi');

// Types are registered by name in koffi, once per process.
const T = {
  ctx: koffi.opaque('billing_ctx'),
  principal: koffi.struct('billing_principal', {
    tenant_id: 'const char *',
    user_id: 'const char *',
    role: 'int', // billing_role, an enum: int-sized
  }),
  callOptions: koffi.struct('billing_call_options', {
    version: 'unsigned int',
    idempotency_key: 'const char *',
    replayed: 'int *',
  }),
  fieldError: koffi.struct('billing_field_error', {
    field: 'const char *',
    message: 'const char *',
  }),
  error: koffi.struct('billing_error', {
    code: 'int',
    name: 'const char *',
    reason: 'const char *',
    message: 'const char *',
    field: 'const char *',
    field_error_count: 'size_t',
    field_errors: 'void *',
    provider_code: 'const char *',
  }),
  ctxOptions: koffi.struct('billing_ctx_options', { // version 2: the first with provider
    version: 'unsigned int',
    storage: 'void *',
    clock: 'void *',
    clock_payload: 'void *',
    logger: 'void *',
    logger_payload: 'void *',
    log_level: 'int',
    default_page_size: 'unsigned int',
    max_page_size: 'unsigned int',
    provider: 'void *',
  }),
  testProviderOptions: koffi.struct('billing_test_provider_options', {
    version: 'unsigned int',
    webhook_secret: 'const char *',
  }),
  // The start of struct billing_provider (sys/provider.h): enough to free a
  // provider that no context took (a failed open leaves it with us).
  providerHead: koffi.struct('billing_provider_head', {
    version: 'unsigned int',
    name: 'const char *',
    free: 'void *',
  }),
  providerFree: koffi.proto('void billing_provider_free_fn(void *p)'),
  runLimits: koffi.struct('billing_run_limits', {
    version: 'unsigned int',
    max_items: 'unsigned int',
    workers: 'unsigned int',
  }),
  runReport: koffi.struct('billing_run_report', {
    processed: 'int64_t',
    invoiced: 'int64_t',
    failed: 'int64_t',
    remaining: 'int64_t',
  }),
};

const CALL_OPTIONS_VERSION = 2;
const CTX_OPTIONS_VERSION = 2;
const TEST_PROVIDER_OPTIONS_VERSION = 1;
const RUN_LIMITS_VERSION = 2;
const ROLES = { USER: 1, ADMIN: 2, PLATFORM: 3 };
const DOCUMENT_FORMATS = { html: 1, pdf: 2, cii: 3, facturx: 4 }; // billing_document_format

// Where to look, in order. An explicit path (argument or BILLING_LIBRARY) is
// the only candidate: a wrong setting must fail, not fall back.
function candidates(explicit) {
  if (explicit) return [explicit];
  if (process.env.BILLING_LIBRARY) return [process.env.BILLING_LIBRARY];
  const here = path.join(__dirname, '..');
  const found = fs.readdirSync(here).filter((f) => f.startsWith('libbilling.so')).sort()
    .map((f) => path.join(here, f));
  return found.concat(['libbilling.so.0']); // the system loader, by SONAME
}

const cache = new Map();

function declare(lib, file) {
  return {
    file,
    callJson: lib.func('int billing_call_json(_Out_ void **out, billing_ctx *ctx, ' +
      'const billing_principal *who, const char *operation, const char *json, size_t len, ' +
      'const billing_call_options *opts)'),
    catalogJson: lib.func('int billing_catalog_json(_Out_ void **out)'),
    free: lib.func('void billing_free(void *ptr)'),
    open: lib.func('int billing_ctx_open_url(_Out_ billing_ctx **out, const char *url, ' +
      'const billing_ctx_options *opts)'),
    testProviderNew: lib.func('int billing_test_provider_new(_Out_ void **out, ' +
      'const billing_test_provider_options *opts)'),
    migrate: lib.func('int billing_migrate(billing_ctx *ctx)'),
    invoiceRender: lib.func('int billing_invoice_render(_Out_ void **out, _Out_ size_t *len, ' +
      'billing_ctx *ctx, const billing_principal *who, const char *invoice_id, int format, ' +
      'const char *locale)'),
    creditNoteRender: lib.func('int billing_credit_note_render(_Out_ void **out, ' +
      '_Out_ size_t *len, billing_ctx *ctx, const billing_principal *who, const char *id, ' +
      'int format, const char *locale)'),
    hostedInvoiceRender: lib.func('int billing_hosted_invoice_render(_Out_ void **out, ' +
      '_Out_ size_t *len, billing_ctx *ctx, const char *token, int format)'),
    close: lib.func('void billing_ctx_close(billing_ctx *ctx)'),
    runDue: lib.func('int billing_run_due(billing_ctx *ctx, int64_t now, ' +
      'const billing_run_limits *limits, _Out_ billing_run_report *report)'),
    errorLast: lib.func('const billing_error *billing_error_last(void)'),
    errorName: lib.func('const char *billing_error_name(int code)'),
    errorCode: lib.func('const char *billing_error_code_string(int code)'),
    strerror: lib.func('const char *billing_strerror(int code)'),
    versionString: lib.func('const char *billing_version_string(void)'),
  };
}

/** The library's functions (one handle per path). */
function load(explicit) {
  const tried = [];
  for (const file of candidates(explicit)) {
    if (cache.has(file)) return cache.get(file);
    let lib;
    try {
      lib = koffi.load(file);
    } catch (e) {
      tried.push(`${file} (${e.message})`);
      continue;
    }
    const fns = declare(lib, file);
    cache.set(file, fns);
    return fns;
  }
  throw new Error('libbilling not found; set BILLING_LIBRARY to the path of libbilling.so. ' +
    `Tried: ${tried.join('; ')}`);
}

/** Reads a string the library handed over and frees it, whatever happens. */
function takeString(fns, ptr) {
  if (!ptr) return null;
  try {
    return koffi.decode.string(ptr);
  } finally {
    fns.free(ptr);
  }
}

/** Copies len bytes the library handed over into a Buffer and frees them,
 *  whatever happens. */
function takeBytes(fns, ptr, len) {
  if (!ptr) return null;
  try {
    // A copy: koffi.view's ArrayBuffer is the library's memory, freed below.
    const copy = Buffer.alloc(len);
    if (len > 0) copy.set(new Uint8Array(koffi.view(ptr, len)));
    return copy;
  } finally {
    fns.free(ptr);
  }
}

/** billing_error_last() as a plain object: call it on the thread that made
 *  the failing call (the main thread: only synchronous calls use it). */
function lastError(fns) {
  const e = koffi.decode(fns.errorLast(), T.error);
  const errors = [];
  if (e.field_error_count > 0 && e.field_errors) {
    for (const fe of koffi.decode(e.field_errors, T.fieldError, Number(e.field_error_count))) {
      errors.push({ field: fe.field, message: fe.message });
    }
  }
  return {
    status: e.code, name: e.name, code: e.reason, message: e.message, field: e.field,
    errors, providerCode: e.provider_code,
  };
}

/** Frees a provider through its vtable (only for one no context took). */
function freeProvider(ptr) {
  const head = koffi.decode(ptr, T.providerHead);
  koffi.decode(head.free, T.providerFree)(ptr);
}

module.exports = {
  koffi, T, ROLES, CALL_OPTIONS_VERSION, CTX_OPTIONS_VERSION, TEST_PROVIDER_OPTIONS_VERSION,
  RUN_LIMITS_VERSION, DOCUMENT_FORMATS, load, takeString, takeBytes, lastError, freeProvider,
};
