'use strict';
// Library errors as Error classes, one per billing_status of
// include/billing/errors.h, chosen by the error's name ("BILLING_ENOTFOUND");
// a code this binding does not know yet gives a BillingError, so a newer
// library never breaks an older binding. Properties mirror the JSON error
// object of billing_call_json:
//   status        the numeric code (-2)
//   errorName     "BILLING_ENOTFOUND" (JSON "name"; `name` is the class name, as in JS)
//   code          the stable machine reason ("not_found", "stale_version", ...)
//   message       for humans; never holds secrets or card data
//   field         the first failing input field, or null
//   errors        every field error: [{ field, message }]
//   providerCode  the payment provider's own code, or null
//   resourceId    what the failed call left behind, or null (a subscription
//                 created with paymentBehavior error_if_incomplete whose first
//                 charge failed: now incomplete_expired)

class BillingError extends Error {
  constructor(e = {}) {
    super(e.message || 'libbilling error');
    this.name = new.target.name;
    this.status = e.status;
    this.errorName = e.name ?? null;
    this.code = e.code ?? null;
    this.field = e.field ?? null;
    this.errors = e.errors ?? [];
    this.providerCode = e.providerCode ?? null;
    this.resourceId = e.resourceId ?? null;
  }
}

class InternalError extends BillingError {}   // BILLING_ERROR
class NotFound extends BillingError {}        // BILLING_ENOTFOUND (also unknown operations)
class Conflict extends BillingError {}        // BILLING_ECONFLICT
class AlreadyExists extends Conflict {}       // BILLING_EEXISTS: .field names the unique field
class Stale extends Conflict {}               // BILLING_ESTALE: expectedVersion is out of date
class InvalidArgument extends BillingError {} // BILLING_EINVALID: .field, .errors
class Overflow extends InvalidArgument {}     // BILLING_EOVERFLOW
class Forbidden extends BillingError {}       // BILLING_EFORBIDDEN
class Declined extends BillingError {}        // BILLING_EDECLINED
class UnknownOutcome extends BillingError {}  // BILLING_EUNKNOWN_OUTCOME: retry with the same key
class StorageError extends BillingError {}    // BILLING_ESTORAGE
class Busy extends BillingError {}            // BILLING_EBUSY
class OutOfMemory extends BillingError {}     // BILLING_ENOMEM

const BY_NAME = {
  BILLING_ERROR: InternalError,
  BILLING_ENOTFOUND: NotFound,
  BILLING_EEXISTS: AlreadyExists,
  BILLING_EINVALID: InvalidArgument,
  BILLING_EFORBIDDEN: Forbidden,
  BILLING_ECONFLICT: Conflict,
  BILLING_EDECLINED: Declined,
  BILLING_EUNKNOWN_OUTCOME: UnknownOutcome,
  BILLING_ESTORAGE: StorageError,
  BILLING_EBUSY: Busy,
  BILLING_ENOMEM: OutOfMemory,
  BILLING_ESTALE: Stale,
  BILLING_EOVERFLOW: Overflow,
};

/** The error for an {status, name, code, message, field, errors} object. */
function fromObject(e) {
  const Cls = BY_NAME[e && e.name] || BillingError;
  return new Cls(e || {});
}

module.exports = {
  BillingError, InternalError, NotFound, Conflict, AlreadyExists, Stale, InvalidArgument,
  Overflow, Forbidden, Declined, UnknownOutcome, StorageError, Busy, OutOfMemory,
  BY_NAME, fromObject,
};
