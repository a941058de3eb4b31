#!/usr/bin/env python3
"""HTTP suite for usage (issue #23; docs/usage.md): meters, POST
/v1/usage-events (one event or {events:[...]}), voids, a subscription's
running usage, the usage aggregates and the tenant's grace window.

- a customer on a monthly plan sends a month of events in batches of 50
  (with resends): every answer lists each event's status in order, the
  running usage per meter matches a sum computed here, voids take events
  out;
- after the period's end the previous period's events are taken within the
  grace window and refused as late_event after it; the closed period's
  aggregate stays what it was;
- bad input: 400 naming the field (an empty or oversized batch, one event
  and a batch at once, unknown members), refusals per event that leave the
  rest of the batch alone, USER may read but not write (403);
- every answer conforms to the OpenAPI document (test_server.py checks).

Reuses test_server.py's Server and Billing helpers; runs on the backend
BILLING_TEST_BACKEND names, like http_server.
"""
import datetime
import random
import unittest

import tenant_case
import test_server as ts


def shift(rfc3339, seconds):
    """An RFC 3339 UTC time moved by seconds."""
    t = datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ")
    return (t + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Usage(tenant_case.TenantCase):
    """A server with the test clock; a tenant per test."""

    def setUp(self):
        super().setUp()
        self.sum = self.b.ok("POST", "/v1/meters", {"eventName": "storage", "aggregation": "sum",
                                                     "valueProperty": "gb"})
        self.count = self.b.ok("POST", "/v1/meters", {"eventName": "storage",
                                                       "aggregation": "count"})
        self.eu = self.b.ok("POST", "/v1/meters", {"eventName": "storage", "aggregation": "max",
                                                    "valueProperty": "gb",
                                                    "filters": {"region": "eu"}})
        self.sub = self.b.subscribe()

    def send(self, events, status=200):
        r = self.b.req("POST", "/v1/usage-events", {"events": events})
        self.assertEqual(r.status, status, r.text)
        return r.body

    def usage(self):
        u = self.b.ok("GET", "/v1/subscriptions/%s/usage" % self.sub["id"])
        self.assertEqual(u["object"], "subscription_usage")
        self.assertEqual(u["periodStart"], self.sub["currentPeriodStart"])
        return {m["meterId"]: (m["value"], m["events"]) for m in u["data"]}

    def event(self, tid, gb, region="eu", **extra):
        e = {"transactionId": tid, "eventName": "storage",
             "customerId": self.b.customer["id"], "properties": {"gb": gb, "region": region}}
        e.update(extra)
        return e

    def test_a_month_in_batches_matches_a_sum_computed_here(self):
        rnd = random.Random(23)
        sent, total, top_eu = [], 0, 0
        for batch in range(4):
            events = []
            for i in range(50):
                gb, region = rnd.randint(0, 500), rnd.choice(["eu", "us"])
                events.append(self.event("b%d-%d" % (batch, i), gb, region))
            resent = rnd.sample(sent, min(len(sent), 5))
            answer = self.send(events + resent)
            self.assertEqual(answer["object"], "usage_result")
            self.assertEqual((answer["accepted"], answer["duplicates"], answer["refused"]),
                             (50, len(resent), 0))
            self.assertEqual([d["transactionId"] for d in answer["data"]],
                             [e["transactionId"] for e in events + resent])
            self.assertTrue(all(d["status"] == "accepted" and
                                d["subscriptionId"] == self.sub["id"]
                                for d in answer["data"][:50]))
            self.assertTrue(all(d["status"] == "duplicate" and d["code"] == "duplicate"
                                for d in answer["data"][50:]))
            for e in events:
                total += e["properties"]["gb"]
                if e["properties"]["region"] == "eu":
                    top_eu = max(top_eu, e["properties"]["gb"])
            sent += events
            self.s.request("POST", "/v1/test-clock/advance", {"seconds": 86400},
                           token=self.b.tok)
        got = self.usage()
        self.assertEqual(got[self.sum["id"]], (total, 200))
        self.assertEqual(got[self.count["id"]], (200, 200))
        self.assertEqual(got[self.eu["id"]][0], top_eu)

        # One domain event and one audit row per batch.
        evs = self.b.ok("GET", "/v1/events?type=usage.ingested&limit=100")["data"]
        self.assertEqual(len(evs), 4)
        self.assertEqual(evs[0]["data"]["accepted"], 50)

        # Voids take events out; a second void says so.
        gone = sent[:3]
        r = self.b.ok("POST", "/v1/usage-events/void",
                      {"transactionIds": [e["transactionId"] for e in gone] + ["nope"]},
                      status=200)
        self.assertEqual([d["status"] for d in r["data"]],
                         ["voided", "voided", "voided", "refused"])
        self.assertEqual(r["data"][3]["code"], "resource_missing")
        again = self.b.ok("POST", "/v1/usage-events/void",
                          {"transactionIds": [gone[0]["transactionId"]]}, status=200)
        self.assertEqual(again["data"][0]["code"], "already_voided")
        self.assertEqual(self.usage()[self.sum["id"]],
                         (total - sum(e["properties"]["gb"] for e in gone), 197))

    def test_grace_window_then_late_events_are_refused(self):
        end = self.sub["currentPeriodEnd"]
        self.send([self.event("g-1", 10)])
        # Past the period's end by a minute: the renewal runs; the old period's
        # events are still taken for the hour of grace.
        self.s.request("POST", "/v1/test-clock/advance", {"to": end}, token=self.b.tok)
        self.s.request("POST", "/v1/test-clock/advance", {"seconds": 60}, token=self.b.tok)
        ok = self.send([self.event("g-2", 20, timestamp=shift(end, -2))])
        self.assertEqual(ok["data"][0]["status"], "accepted", ok)
        settings = self.b.ok("PUT", "/v1/usage-settings", {"usageGraceSeconds": 30})
        self.assertEqual(settings, {"object": "usage_settings", "usageGraceSeconds": 30})
        self.assertEqual(self.b.ok("GET", "/v1/usage-settings")["usageGraceSeconds"], 30)
        late = self.send([self.event("g-3", 30, timestamp=self.sub["currentPeriodStart"])])
        self.assertEqual((late["data"][0]["status"], late["data"][0]["code"],
                          late["data"][0]["field"]), ("refused", "late_event", "timestamp"))
        agg = self.b.ok("GET", "/v1/usage-aggregates?meterId=%s&customerId=%s&periodStart=%s"
                        "&periodEnd=%s" % (self.sum["id"], self.b.customer["id"],
                                           self.sub["currentPeriodStart"], end))
        self.assertEqual((agg["object"], agg["value"], agg["events"]),
                         ("usage_aggregate", 30, 2))
        r = self.b.req("PUT", "/v1/usage-settings", {"usageGraceSeconds": 86401})
        self.assertProblem(r, 400, field="usageGraceSeconds")

    def test_bad_input_and_roles(self):
        self.assertProblem(self.b.req("POST", "/v1/usage-events", {"events": []}), 400,
                           field="events")
        self.assertProblem(self.b.req("POST", "/v1/usage-events",
                                      {"events": [self.event("x", 1)] * 1001}), 400,
                           field="events")
        self.assertProblem(self.b.req("POST", "/v1/usage-events",
                                      dict(self.event("x", 1), events=[])), 400, field="events")
        self.assertProblem(self.b.req("POST", "/v1/usage-events",
                                      {"events": [dict(self.event("x", 1), extra=1)]}), 400,
                           field="events")
        # One event, not a batch; refusals per event.
        one = self.b.ok("POST", "/v1/usage-events", self.event("one", 1), status=200)
        self.assertEqual(one["data"][0]["status"], "accepted")
        mixed = self.send([self.event("m-1", 1), self.event("m-2", "lots"),
                           self.event("m-3", 1, customerId="cus_nope"),
                           self.event("m-4", 1, timestamp="not a time")])
        self.assertEqual([(d["status"], d["code"], d["field"]) for d in mixed["data"]],
                         [("accepted", None, None), ("refused", "invalid_value", "properties"),
                          ("refused", "invalid", "customerId"),
                          ("refused", "invalid", "timestamp")])
        # USER reads, never writes.
        r = self.s.request("POST", "/v1/usage-events", self.event("u", 1), token=self.user)
        self.assertProblem(r, 403)
        r = self.s.request("GET", "/v1/subscriptions/%s/usage" % self.sub["id"],
                           token=self.user)
        self.assertEqual(r.status, 200, r.text)
        r = self.s.request("GET", "/v1/subscriptions/sub_nope/usage", token=self.user)
        self.assertEqual(r.status, 404, r.text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
