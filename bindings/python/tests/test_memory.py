"""Every string the library hands over is freed: 100 000 calls, resident
memory flat.

A get returns ~250 bytes of JSON and an error ~200: if the binding leaked
either (or the principal, or the call options) the 100 000 calls after the
warm-up would add well over 10 MiB. Allocators and Python's own caches move
a little, hence the tolerance.
"""
import gc
import os
import unittest

import support

CALLS = int(os.environ.get("BILLING_TEST_MEMORY_CALLS", "100000"))
WARMUP = 10000
TOLERANCE_KIB = 4096


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


class Memory(support.BackendCase):

    def test_resident_memory_stays_flat_over_100000_calls(self):
        _, acme = self.new_tenant()
        c = acme.customers.create(name="Ada", email="ada@example.com", idempotency_key="m-1")
        get = acme.customers.get
        create = acme.customers.create

        def round_(n):
            for i in range(n):
                if i % 10 == 9:  # the error path frees its JSON too
                    try:
                        get("cus_missing")
                    except support.billing.NotFound:
                        pass
                elif i % 100 == 50:  # call options and the replayed flag
                    assert create(name="Ada", email="ada@example.com",
                                  idempotency_key="m-1").replayed
                else:
                    assert get(c["id"])["id"] == c["id"]

        round_(WARMUP)
        gc.collect()
        before = rss_kib()
        round_(CALLS)
        gc.collect()
        after = rss_kib()
        print("\nmemory: %d calls, RSS %d KiB after warm-up, %d KiB at the end (%+d KiB)"
              % (CALLS, before, after, after - before))
        self.assertLess(after - before, TOLERANCE_KIB,
                        "RSS grew by %d KiB over %d calls" % (after - before, CALLS))


# SQLite only: what is measured is the binding (the strings it is handed and
# frees are the same on every backend), and 100 000 PostgreSQL round trips
# would add half a minute.
Memory_sqlite = type("Memory_sqlite", (Memory,), {"backend": "sqlite", "__module__": __name__})
del Memory

if __name__ == "__main__":
    unittest.main()
