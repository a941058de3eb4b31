"""Library errors as exceptions.

One class per billing_status of include/billing/errors.h, chosen by the
error's "name" ("BILLING_ENOTFOUND"); a code this binding does not know yet
raises BillingError itself, so a newer library never breaks an older binding.
The attributes mirror the JSON error object of billing_call_json:

    status         the numeric code (-2)
    name           "BILLING_ENOTFOUND"
    code           the stable machine reason ("not_found", "stale_version", ...)
    message        for humans; never holds secrets or card data
    field          the first failing input field (camelCase, as in JSON) or None
    errors         every field error: [{"field": ..., "message": ...}]
    provider_code  the payment provider's own code, or None
    resource_id    what the failed call left behind, or None (a subscription
                   created with paymentBehavior error_if_incomplete whose
                   first charge failed: now incomplete_expired)
"""


class BillingError(Exception):
    """Base of every error the library reports."""

    def __init__(self, status, name, code, message, field=None, errors=(),
                 provider_code=None, resource_id=None):
        super().__init__(message)
        self.status = status
        self.name = name
        self.code = code
        self.message = message
        self.field = field
        self.errors = list(errors or [])
        self.provider_code = provider_code
        self.resource_id = resource_id

    def __str__(self):
        where = " (field %s)" % self.field if self.field else ""
        return "%s: %s%s" % (self.code, self.message, where)

    def __repr__(self):
        return "%s(status=%r, code=%r, message=%r, field=%r)" % (
            type(self).__name__, self.status, self.code, self.message, self.field)


class InternalError(BillingError):
    """BILLING_ERROR: unexpected; the message says what failed."""


class NotFound(BillingError):
    """BILLING_ENOTFOUND: no such resource in this tenant (or no such operation)."""


class Conflict(BillingError):
    """BILLING_ECONFLICT: referenced row, illegal transition, idempotency mismatch."""


class AlreadyExists(Conflict):
    """BILLING_EEXISTS: a unique field is taken; .field names it."""


class Stale(Conflict):
    """BILLING_ESTALE: the resource changed since expected_version."""


class InvalidArgument(BillingError):
    """BILLING_EINVALID: input failed validation; .field and .errors say where."""


class Overflow(InvalidArgument):
    """BILLING_EOVERFLOW: an amount or count is out of range."""


class Forbidden(BillingError):
    """BILLING_EFORBIDDEN: the principal's role may not do this."""


class Declined(BillingError):
    """BILLING_EDECLINED: the payment provider declined the payment."""


class UnknownOutcome(BillingError):
    """BILLING_EUNKNOWN_OUTCOME: the provider did not answer; retry with the same key."""


class StorageError(BillingError):
    """BILLING_ESTORAGE: the storage backend failed."""


class Busy(BillingError):
    """BILLING_EBUSY: the database is busy; try again."""


class OutOfMemory(BillingError):
    """BILLING_ENOMEM."""


BY_NAME = {
    "BILLING_ERROR": InternalError,
    "BILLING_ENOTFOUND": NotFound,
    "BILLING_EEXISTS": AlreadyExists,
    "BILLING_EINVALID": InvalidArgument,
    "BILLING_EFORBIDDEN": Forbidden,
    "BILLING_ECONFLICT": Conflict,
    "BILLING_EDECLINED": Declined,
    "BILLING_EUNKNOWN_OUTCOME": UnknownOutcome,
    "BILLING_ESTORAGE": StorageError,
    "BILLING_EBUSY": Busy,
    "BILLING_ENOMEM": OutOfMemory,
    "BILLING_ESTALE": Stale,
    "BILLING_EOVERFLOW": Overflow,
}


def from_json(err, rc):
    """The exception for the "error" object of billing_call_json's output."""
    cls = BY_NAME.get(err.get("name"), BillingError)
    return cls(err.get("status", rc), err.get("name"), err.get("code"),
               err.get("message") or "", err.get("field"), err.get("errors") or [],
               err.get("providerCode"), err.get("resourceId"))


def from_last(lib, rc):
    """The exception for billing_error_last() (calls outside the JSON layer).
    Must be called on the thread that made the failing call, right after it."""
    e = lib.billing_error_last().contents

    def s(b):
        return b.decode("utf-8", "replace") if b is not None else None

    errors = [{"field": s(e.field_errors[i].field), "message": s(e.field_errors[i].message)}
              for i in range(e.field_error_count)]
    name = s(e.name)
    cls = BY_NAME.get(name, BillingError)
    return cls(e.code or rc, name, s(e.reason), s(e.message) or "", s(e.field), errors,
               s(e.provider_code), s(e.resource_id))
