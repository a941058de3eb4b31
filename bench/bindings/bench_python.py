"""The Python side of bench/bindings/run.py: point gets of one customer
through the binding (acme.customers.get(id), the API) and, as a reference
for where the time goes, through ctypes directly (billing_call_json, the
output read, freed and json-decoded, nothing else).

    BILLING_LIBRARY=... python3 bench_python.py URL TENANT CUSTOMER SECONDS

Alternates the two in blocks of 500 calls until each has run SECONDS;
prints "python RATE" and "python_ctypes RATE" (calls per second).
"""
import ctypes
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bindings", "python"))
import billing  # noqa: E402
from billing import _lib  # noqa: E402

BLOCK = 500


def main():
    url, tenant, customer, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    b = billing.Billing(url, migrate=False)
    acme = b.as_principal(tenant=tenant, role="ADMIN", user="usr_bench")
    get = acme.customers.get

    lib = b._lib
    who = _lib.Principal(tenant.encode(), b"usr_bench", _lib.ROLES["ADMIN"])
    payload = json.dumps({"id": customer}).encode()

    def raw():
        out = ctypes.c_void_p()
        rc = lib.billing_call_json(ctypes.byref(out), b._ctx, ctypes.byref(who), b"customers.get",
                                   payload, len(payload), None)
        value = json.loads(ctypes.string_at(out.value))
        lib.billing_free(out)
        assert rc == 0, value

    def binding():
        assert get(customer)["id"] == customer

    sides = [("python", binding), ("python_ctypes", raw)]
    for _, fn in sides:  # warm-up
        for _ in range(2 * BLOCK):
            fn()
    spent = {name: 0.0 for name, _ in sides}
    calls = {name: 0 for name, _ in sides}
    while min(spent.values()) < seconds:
        for name, fn in sides:
            t0 = time.perf_counter()
            for _ in range(BLOCK):
                fn()
            spent[name] += time.perf_counter() - t0
            calls[name] += BLOCK
    for name, _ in sides:
        print("%s %.1f" % (name, calls[name] / spent[name]))
    b.close()


if __name__ == "__main__":
    main()
