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
- billing in arrears (UsageBilling): a metered plan with graduated tiers,
  a month of events in batches, the running usage with its amount and the
  preview's usage line, the renewal held for the grace window, then the
  invoice's usage line equal to the tiers computed here; a late event of
  the billed period refused; a quantity on a metered item refused, and
  the item's quantity null (item, items[], the subscription);
- retention: PUT /v1/usage-settings {usageRetentionDays}, POST
  /v1/usage-events/prune deletes the events before the cutoff (never the
  current, unbilled period), late events then refused as period_pruned,
  an aggregate of the pruned period 409 period_pruned;
- spend thresholds: billingThresholds on POST and PATCH /v1/subscriptions,
  shown, removed with null, 400s naming billingThresholds.amountGte (and
  "unsupported" for resetBillingCycleAnchor true), USER may not set it;
- spend thresholds billing early (UsageBilling): crossing amountGte makes
  one subscription_threshold invoice of the tiers' price so far, the usage
  shows billedAmount beside amount, the preview and the renewal bill the
  rest, and the period's lines add up to the tiers' price of the whole;
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
        self.assertEqual(settings, {"object": "usage_settings", "usageGraceSeconds": 30,
                                    "usageRetentionDays": 0})
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

    def test_retention_prune_deletes_billed_periods_and_refuses_late_events(self):
        start, end = self.sub["currentPeriodStart"], self.sub["currentPeriodEnd"]
        self.send([self.event("r-1", 10), self.event("r-2", 5)])
        # No retention yet: nothing to prune.
        p = self.b.ok("POST", "/v1/usage-events/prune", {}, status=200)
        self.assertEqual(p, {"object": "usage_prune", "deleted": 0, "cutoff": None})
        self.s.request("POST", "/v1/test-clock/advance", {"to": shift(end, 2 * 86400)},
                       token=self.b.tok)
        self.send([self.event("r-3", 1, timestamp=shift(end, 86400))])
        r = self.b.req("PUT", "/v1/usage-settings", {"usageGraceSeconds": 3600,
                                                      "usageRetentionDays": 3661})
        self.assertProblem(r, 400, field="usageRetentionDays")
        settings = self.b.ok("PUT", "/v1/usage-settings", {"usageGraceSeconds": 3600,
                                                             "usageRetentionDays": 1})
        self.assertEqual(settings["usageRetentionDays"], 1)
        # Another PUT without it keeps it.
        self.b.ok("PUT", "/v1/usage-settings", {"usageGraceSeconds": 3600})
        self.assertEqual(self.b.ok("GET", "/v1/usage-settings")["usageRetentionDays"], 1)
        r = self.s.request("POST", "/v1/usage-events/prune", {}, token=self.user)
        self.assertProblem(r, 403)
        # A day's retention, but the current period (from end) is not billed:
        # the cutoff is its start; the first period's two events go.
        p = self.b.ok("POST", "/v1/usage-events/prune", {}, status=200)
        self.assertEqual(p, {"object": "usage_prune", "deleted": 2, "cutoff": end})
        late = self.send([self.event("r-4", 1, timestamp=shift(end, -10))])
        self.assertEqual((late["data"][0]["status"], late["data"][0]["code"],
                          late["data"][0]["field"]), ("refused", "period_pruned", "timestamp"))
        r = self.b.req("GET", "/v1/usage-aggregates?meterId=%s&customerId=%s&periodStart=%s"
                       "&periodEnd=%s" % (self.sum["id"], self.b.customer["id"], start, end))
        self.assertProblem(r, 409, code="period_pruned", field="periodStart")
        u = self.b.ok("GET", "/v1/subscriptions/%s/usage" % self.sub["id"])
        self.assertEqual(u["periodStart"], end)
        self.assertEqual([(m["value"], m["events"]) for m in u["data"]
                          if m["meterId"] == self.sum["id"]], [(1, 1)])

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

    def test_spend_thresholds_are_stored_shown_and_removed(self):
        self.assertIsNone(self.sub["billingThresholds"])
        sub = self.b.subscribe(billingThresholds={"amountGte": 50000})
        self.assertEqual(sub["billingThresholds"],
                         {"amountGte": 50000, "resetBillingCycleAnchor": False})
        path = "/v1/subscriptions/%s" % sub["id"]
        got = self.b.ok("PATCH", path, {"billingThresholds": {"amountGte": 70000,
                                                              "resetBillingCycleAnchor": False}})
        self.assertEqual(got["billingThresholds"]["amountGte"], 70000)
        for body, field in (({"amountGte": 0}, "billingThresholds.amountGte"),
                            ({"amountGte": "5"}, "billingThresholds.amountGte"),
                            ({"resetBillingCycleAnchor": False}, "billingThresholds.amountGte"),
                            ({"amountGte": 10 ** 15}, "billingThresholds.amountGte"),
                            ({"amountGte": 5, "resetBillingCycleAnchor": 1},
                             "billingThresholds.resetBillingCycleAnchor"),
                            ({"amountGte": 5, "other": 1}, "billingThresholds"),
                            (5, "billingThresholds")):
            self.assertProblem(self.b.req("PATCH", path, {"billingThresholds": body}), 400,
                               field=field)
            self.assertProblem(self.b.req("POST", "/v1/subscriptions", {
                "customerId": self.b.customer["id"], "planId": self.b.monthly["id"],
                "billingThresholds": body}), 400, field=field)
        self.assertProblem(self.b.req("PATCH", path, {"billingThresholds": {
            "amountGte": 5, "resetBillingCycleAnchor": True}}), 400, code="unsupported",
            field="billingThresholds.resetBillingCycleAnchor")
        self.assertEqual(self.b.ok("GET", path)["billingThresholds"]["amountGte"], 70000)
        got = self.b.ok("PATCH", path, {"billingThresholds": None})
        self.assertIsNone(got["billingThresholds"])
        r = self.s.request("PATCH", path, {"billingThresholds": {"amountGte": 5}},
                           token=self.user)
        self.assertProblem(r, 403)



class UsageBilling(tenant_case.TenantCase):
    """#23's Done when over HTTP: a metered plan with graduated tiers, a
    month of events in batches, the running usage and its amount, the
    preview, and the invoice in arrears equal to a computation here."""

    TIERS = [{"upTo": 100, "unitAmount": 10, "flatAmount": 500},
             {"upTo": 1000, "unitAmount": 5}, {"upTo": None, "unitAmount": 2}]

    @staticmethod
    def by_hand(q):
        """The graduated price of q units under TIERS, computed independently."""
        if q <= 0:
            return 0
        amount = 500 + 10 * min(q, 100)
        if q > 100:
            amount += 5 * (min(q, 1000) - 100)
        if q > 1000:
            amount += 2 * (q - 1000)
        return amount

    def test_a_month_of_events_is_invoiced_in_arrears(self):
        meter = self.b.ok("POST", "/v1/meters", {"eventName": "api.call", "aggregation": "sum",
                                                 "valueProperty": "n"})
        plan = self.b.ok("POST", "/v1/plans", {
            "productId": self.b.product["id"], "code": "METERED-API", "name": "API calls",
            "currency": self.b.product["currency"], "interval": "MONTH",
            "billingScheme": "tiered", "tiersMode": "graduated", "tiers": self.TIERS,
            "usageType": "metered", "meterId": meter["id"]})
        # A metered item has no quantity.
        r = self.b.req("POST", "/v1/subscriptions", {
            "customerId": self.b.customer["id"],
            "items": [{"planId": plan["id"], "quantity": 3}]})
        self.assertProblem(r, 400, field="items[0].quantity")
        sub = self.b.ok("POST", "/v1/subscriptions", {"customerId": self.b.customer["id"],
                                                      "items": [{"planId": plan["id"]}]})
        start, end = sub["currentPeriodStart"], sub["currentPeriodEnd"]
        # ... so it shows none: null on the item, in items[] and on the
        # subscription whose first item it is; a PATCH giving one is refused.
        self.assertIsNone(sub["quantity"])
        self.assertIsNone(sub["items"][0]["quantity"])
        item = self.b.ok("GET", "/v1/subscription-items/%s" % sub["items"][0]["id"])
        self.assertIsNone(item["quantity"])
        self.assertIsNone(self.b.ok("GET", "/v1/subscriptions/%s" % sub["id"])["quantity"])
        r = self.b.req("PATCH", "/v1/subscription-items/%s" % item["id"], {"quantity": 2})
        self.assertProblem(r, 400, field="quantity")
        first = self.b.ok("GET", "/v1/invoices/%s" % sub["latestInvoiceId"])
        self.assertEqual((first["lines"], first["total"]), ([], 0))

        rnd, total = random.Random(2323), 0
        for batch in range(6):
            events = []
            for i in range(50):
                n = rnd.randint(0, 8)
                total += n
                events.append({"transactionId": "u%d-%d" % (batch, i), "eventName": "api.call",
                               "customerId": self.b.customer["id"], "properties": {"n": n}})
            r = self.b.req("POST", "/v1/usage-events", {"events": events})
            self.assertEqual((r.status, r.body["accepted"]), (200, 50), r.text)
            self.s.request("POST", "/v1/test-clock/advance", {"seconds": 4 * 86400},
                           token=self.b.tok)
        self.assertGreater(total, 1000)

        # The running usage, what it would bill now, and the preview's line.
        u = self.b.ok("GET", "/v1/subscriptions/%s/usage" % sub["id"])
        self.assertEqual([(m["meterId"], m["value"], m["amount"]) for m in u["data"]],
                         [(meter["id"], total, self.by_hand(total))])
        pv = self.b.ok("GET", "/v1/invoices/preview?subscriptionId=%s" % sub["id"])
        self.assertEqual([(l["planId"], l["quantity"], l["amount"], l["periodStart"],
                           l["periodEnd"]) for l in pv["lines"]],
                         [(plan["id"], total, self.by_hand(total), start, end)])

        # The period ends; the renewal waits for the hour of grace, in which
        # an event of the period still counts.
        self.s.request("POST", "/v1/test-clock/advance", {"to": shift(end, 3599)},
                       token=self.b.tok)
        self.assertEqual(len(self.b.invoices("&subscriptionId=" + sub["id"])), 1)
        r = self.b.req("POST", "/v1/usage-events", {
            "transactionId": "late-ok", "eventName": "api.call",
            "customerId": self.b.customer["id"], "timestamp": shift(end, -5),
            "properties": {"n": 7}})
        self.assertEqual(r.body["data"][0]["status"], "accepted", r.text)
        total += 7
        self.s.request("POST", "/v1/test-clock/advance", {"seconds": 1}, token=self.b.tok)
        invoices = self.b.invoices("&subscriptionId=" + sub["id"])
        self.assertEqual(len(invoices), 2)
        renewal = self.b.ok("GET", "/v1/subscriptions/%s" % sub["id"])["latestInvoiceId"]
        inv = self.b.ok("GET", "/v1/invoices/%s" % renewal)
        self.assertEqual(inv["periodStart"], end)
        self.assertEqual(len(inv["lines"]), 1)
        line = inv["lines"][0]
        self.assertEqual((line["planId"], line["quantity"], line["amount"], line["periodStart"],
                          line["periodEnd"]), (plan["id"], total, self.by_hand(total), start, end))
        self.assertEqual([t["quantity"] for t in line["tiers"]], [100, 900, total - 1000])
        self.assertEqual(inv["subtotal"], self.by_hand(total))

        # Billed: an event of that period is refused from now on.
        r = self.b.req("POST", "/v1/usage-events", {
            "transactionId": "too-late", "eventName": "api.call",
            "customerId": self.b.customer["id"], "timestamp": shift(end, -5),
            "properties": {"n": 1}})
        self.assertEqual((r.body["data"][0]["status"], r.body["data"][0]["code"]),
                         ("refused", "late_event"), r.text)

    def test_a_spend_threshold_bills_early_and_the_renewal_the_rest(self):
        meter = self.b.ok("POST", "/v1/meters", {"eventName": "api.call", "aggregation": "sum",
                                                 "valueProperty": "n"})
        plan = self.b.ok("POST", "/v1/plans", {
            "productId": self.b.product["id"], "code": "METERED-T", "name": "API calls",
            "currency": self.b.product["currency"], "interval": "MONTH",
            "billingScheme": "tiered", "tiersMode": "graduated", "tiers": self.TIERS,
            "usageType": "metered", "meterId": meter["id"]})
        sub = self.b.ok("POST", "/v1/subscriptions", {
            "customerId": self.b.customer["id"], "items": [{"planId": plan["id"]}],
            "billingThresholds": {"amountGte": 2000}})
        start, end = sub["currentPeriodStart"], sub["currentPeriodEnd"]
        self.s.request("POST", "/v1/test-clock/advance", {"seconds": 86400}, token=self.b.tok)

        def send(tid, n):
            r = self.b.req("POST", "/v1/usage-events", {
                "transactionId": tid, "eventName": "api.call",
                "customerId": self.b.customer["id"], "properties": {"n": n}})
            self.assertEqual((r.status, r.body["data"][0]["status"]), (200, "accepted"), r.text)

        def early():
            return [i for i in self.b.invoices("&subscriptionId=" + sub["id"])
                    if i["billingReason"] == "subscription_threshold"]

        def usage():
            u = self.b.ok("GET", "/v1/subscriptions/%s/usage" % sub["id"])["data"][0]
            return u["value"], u["amount"], u["billedAmount"]

        send("t-1", 150)      # 1750: below the threshold
        self.assertEqual(early(), [])
        self.assertEqual(usage(), (150, self.by_hand(150), 0))
        send("t-2", 60)       # 210 units, 2050: crossed
        got = early()
        self.assertEqual(len(got), 1)
        inv = self.b.ok("GET", "/v1/invoices/%s" % got[0]["id"])
        self.assertIsNotNone(inv["number"])
        self.assertEqual(inv["periodStart"], start)
        self.assertEqual([(l["planId"], l["quantity"], l["amount"]) for l in inv["lines"]],
                         [(plan["id"], 210, self.by_hand(210))])
        self.assertEqual(inv["subtotal"], 2050)   # the usage; tax comes on top
        self.assertEqual(usage(), (210, 2050, 2050))
        send("t-3", 100)      # 310 units, 2550: 500 unbilled, below
        self.assertEqual(len(early()), 1)
        self.assertEqual(usage(), (310, self.by_hand(310), 2050))
        pv = self.b.ok("GET", "/v1/invoices/preview?subscriptionId=%s" % sub["id"])
        self.assertEqual([(l["quantity"], l["amount"]) for l in pv["lines"]],
                         [(100, self.by_hand(310) - self.by_hand(210))])
        self.assertIsNone(pv["billingReason"])

        self.s.request("POST", "/v1/test-clock/advance", {"to": shift(end, 3600)},
                       token=self.b.tok)
        renewal = self.b.ok("GET", "/v1/subscriptions/%s" % sub["id"])["latestInvoiceId"]
        inv = self.b.ok("GET", "/v1/invoices/%s" % renewal)
        self.assertIsNone(inv["billingReason"])
        self.assertEqual([(l["quantity"], l["amount"], l["periodStart"], l["periodEnd"])
                          for l in inv["lines"]], [(100, 500, start, end)])
        # The period's usage lines add up to the tiers' price of the whole.
        lines = [l for i in self.b.invoices("&subscriptionId=" + sub["id"])
                 for l in self.b.ok("GET", "/v1/invoices/%s" % i["id"])["lines"]
                 if l["periodStart"] == start]
        self.assertEqual(sum(l["amount"] for l in lines), self.by_hand(310))


if __name__ == "__main__":
    unittest.main(verbosity=2)
