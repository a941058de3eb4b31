"""libbilling from Python: every operation of the library's JSON layer as a
method generated from its catalog.

    from billing import Billing
    with Billing("sqlite:billing.db") as b:
        tenant = b.as_principal(role="PLATFORM").tenants.create(name="Acme")
        acme = b.as_principal(tenant=tenant["id"], role="ADMIN")
        ada = acme.customers.create(name="Ada", email="ada@example.com")
        for c in acme.customers.list(limit=50):
            print(c["id"], c["email"])

See docs/bindings-python.md.
"""
from .client import UNSET, Billing, BoundOperation, Namespace, Pager, Principal, Result
from .errors import (AlreadyExists, BillingError, Busy, Conflict, Declined, Forbidden,
                     InternalError, InvalidArgument, NotFound, OutOfMemory, Overflow, Stale,
                     StorageError, UnknownOutcome)

__all__ = [
    "Billing", "Principal", "Namespace", "BoundOperation", "Pager", "Result", "UNSET",
    "BillingError", "InternalError", "NotFound", "Conflict", "AlreadyExists", "Stale",
    "InvalidArgument", "Overflow", "Forbidden", "Declined", "UnknownOutcome",
    "StorageError", "Busy", "OutOfMemory",
]
__version__ = "0.1.0"
