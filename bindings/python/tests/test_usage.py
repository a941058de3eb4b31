"""The Python binding's batching helper for usage events (issue #23):
Principal.ingest_usage sends any iterable in batches of batch_size (one
usage_events.create call a batch) and answers once for all, items in the
input's order; resends are duplicates; the meter's aggregate sees every
accepted event.

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
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


support.for_each_backend(globals(), UsageBatching)

if __name__ == "__main__":
    unittest.main()
