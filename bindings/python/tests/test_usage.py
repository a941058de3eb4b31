"""The Python binding's batching helper for usage events (issue #23):
Principal.ingest_usage sends any iterable in batches of batch_size (one
usage_events.create call a batch) and answers once for all, items in the
input's order; resends are duplicates; the meter's aggregate sees every
accepted event.

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
import time
import unittest

import support


class UsageBatching(support.BackendCase):

    def test_ingest_usage_batches_and_answers_in_order(self):
        _, acme = self.new_tenant("Usage")
        cus = acme.customers.create(name="Ada", email="ada@example.com")
        meter = acme.meters.create(event_name="api.call", aggregation="sum", value_property="n")
        events = ({"transactionId": "t-%d" % i, "eventName": "api.call",
                   "customerId": cus["id"], "properties": {"n": i}} for i in range(2500))
        r = acme.ingest_usage(events, batch_size=1000)
        self.assertEqual((r["accepted"], r["duplicates"], r["refused"]), (2500, 0, 0))
        self.assertEqual([d["transactionId"] for d in r["data"]],
                         ["t-%d" % i for i in range(2500)])
        batches = list(acme.events.list(type="usage.ingested"))
        self.assertEqual(len(batches), 3)
        again = acme.ingest_usage([{"transactionId": "t-7", "eventName": "api.call",
                                    "customerId": cus["id"], "properties": {"n": 7}}] * 3,
                                  batch_size=2)
        self.assertEqual((again["accepted"], again["duplicates"]), (0, 3))
        agg = acme.usage.aggregate(meter_id=meter["id"], customer_id=cus["id"],
                                   period_start="2000-01-01T00:00:00Z",
                                   period_end="2100-01-01T00:00:00Z")
        self.assertEqual((agg["value"], agg["events"]), (sum(range(2500)), 2500))
        with self.assertRaises(ValueError):
            acme.ingest_usage([], batch_size=1001)

    def test_prune_deletes_events_older_than_the_retention(self):
        _, acme = self.new_tenant("Retention")
        cus = acme.customers.create(name="Bo", email="bo@example.com")
        old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3 * 86400))
        older = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2 * 86400))
        r = acme.ingest_usage([{"transactionId": "old", "eventName": "api.call",
                                "customerId": cus["id"], "timestamp": old},
                               {"transactionId": "new", "eventName": "api.call",
                                "customerId": cus["id"]}])
        self.assertEqual(r["accepted"], 2)
        s = acme.usage_settings.set(usage_grace_seconds=3600, usage_retention_days=1)
        self.assertEqual(s["usageRetentionDays"], 1)
        self.assertEqual(acme.usage_settings.get()["usageRetentionDays"], 1)
        p = acme.usage_events.prune()
        self.assertEqual((p["object"], p["deleted"]), ("usage_prune", 1))
        self.assertIsNotNone(p["cutoff"])
        late = acme.ingest_usage([{"transactionId": "late", "eventName": "api.call",
                                   "customerId": cus["id"], "timestamp": older}])
        self.assertEqual(late["data"][0]["code"], "period_pruned")


support.for_each_backend(globals(), UsageBatching)

if __name__ == "__main__":
    unittest.main()
