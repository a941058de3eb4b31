#!/usr/bin/env python3
"""HTTP suite for subscription items (issue #21 item 2), with the test clock:

- POST /v1/subscriptions with items[] (a base plan and two add-ons): the
  subscription carries items[], the first invoice one line per item with its
  subscriptionItemId; the single planId form still makes one item;
- the seats changed over the month (PATCH /v1/subscription-items/{id}): the
  renewal has the items' lines and one proration line per change;
- POST /v1/subscription-items and DELETE (always_invoice: an invoice now), the
  last item refused (409), the preview at a prorationDate equals the change
  applied at that date;
- errors name their field and change nothing; USER reads and may not write;
  Idempotency-Key replays; events subscription_item.* and subscription.updated.

Reuses test_server.py's Server and Billing; runs on the backend
BILLING_TEST_BACKEND names, like http_server.
"""
import os
import unittest
import urllib.parse

import test_server as ts

DAY = 86400


def setUpModule():
    if not ts.SERVER or not os.access(ts.SERVER, os.X_OK):
        raise RuntimeError("set BILLING_SERVER to the billing-server binary")


class SubscriptionItems(ts.ProblemAssertions):
    """A server with the test clock; a tenant per test."""

    @classmethod
    def setUpClass(cls):
        cls.s = ts.Server(env_extra={"BILLING_TEST_CLOCK": "1"}).start()

    @classmethod
    def tearDownClass(cls):
        if cls.s.stop() != 0:
            raise AssertionError("the subscription items server did not exit cleanly")

    def setUp(self):
        self.tenant = self.s.cli("tenant", "create", "--name", self.id()[-40:]) \
            .stdout.decode().strip()
        self.b = ts.Billing(self.s, ts.make_token(ts.claims_for(self.tenant)))
        self.user = ts.make_token(ts.claims_for(self.tenant, "USER"))
        self.addon = self.b.plan("ADDON", 500)
        self.seat = self.b.plan("SEAT", 1000)

    def subscribe_items(self):
        return self.b.ok("POST", "/v1/subscriptions", {
            "customerId": self.b.customer["id"],
            "items": [{"planId": self.b.monthly["id"]}, {"planId": self.addon["id"]},
                      {"planId": self.seat["id"], "quantity": 3}]})

    def advance(self, seconds):
        return self.b.ok("POST", "/v1/test-clock/advance", {"seconds": seconds})

    def clock(self):
        return ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])

    def test_items_on_create_and_the_renewal_after_seat_changes(self):
        sub = self.subscribe_items()
        items = sub["items"]
        self.assertEqual([(i["planId"], i["quantity"]) for i in items],
                         [(self.b.monthly["id"], 1), (self.addon["id"], 1),
                          (self.seat["id"], 3)])
        self.assertEqual((sub["planId"], sub["quantity"]), (self.b.monthly["id"], 1))
        inv = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual([l["subscriptionItemId"] for l in inv["lines"]],
                         [i["id"] for i in items])
        self.assertEqual(inv["subtotal"], 999 + 500 + 3000)
        seat = items[2]["id"]
        got = self.b.ok("GET", "/v1/subscription-items/" + seat)
        self.assertEqual((got["subscriptionId"], got["quantity"]), (sub["id"], 3))
        listed = self.b.ok("GET", "/v1/subscription-items?subscriptionId=" + sub["id"])
        self.assertEqual(len(listed["data"]), 3)
        for q in (5, 4, 9):
            self.advance(5 * DAY)
            it = self.b.ok("PATCH", "/v1/subscription-items/" + seat, {"quantity": q})
            self.assertEqual(it["quantity"], q)
        end = ts.parse_time(sub["currentPeriodEnd"])
        self.advance(end - self.clock())
        after = self.b.ok("GET", "/v1/subscriptions/" + sub["id"])
        inv = self.b.ok("GET", "/v1/invoices/" + after["latestInvoiceId"])
        self.assertEqual(ts.parse_time(inv["periodStart"]), end)
        self.assertEqual([l["proration"] for l in inv["lines"]], [False] * 3 + [True] * 3)
        self.assertEqual(inv["lines"][2]["amount"], 9000)
        self.assertTrue(all(l["subscriptionItemId"] == seat for l in inv["lines"][3:]))
        types = [e["type"] for e in self.b.ok("GET", "/v1/events?limit=100")["data"]]
        self.assertEqual(types.count("subscription_item.updated"), 3)
        self.assertEqual(types.count("subscription_item.created"), 3)

    def test_single_plan_form_makes_one_item(self):
        sub = self.b.subscribe(quantity=2)
        self.assertEqual(len(sub["items"]), 1)
        self.assertEqual((sub["items"][0]["planId"], sub["items"][0]["quantity"]),
                         (self.b.monthly["id"], 2))

    def test_add_remove_always_invoice_and_the_preview_at_a_proration_date(self):
        sub = self.subscribe_items()
        seat = sub["items"][2]["id"]
        self.advance(10 * DAY)
        date = ts.fmt_time(self.clock())
        q = urllib.parse.urlencode({"subscriptionId": sub["id"], "subscriptionItemId": seat,
                                    "quantity": 6, "prorationDate": date})
        pre = self.b.ok("GET", "/v1/subscription-items/preview?" + q)
        self.assertEqual(len(pre["lines"]), 1)
        self.advance(3600)
        self.b.ok("PATCH", "/v1/subscription-items/" + seat,
                  {"quantity": 6, "prorationDate": date, "prorationBehavior": "always_invoice"})
        inv = self.b.ok("GET", "/v1/invoices/" + self.b.ok(
            "GET", "/v1/subscriptions/" + sub["id"])["latestInvoiceId"])
        self.assertEqual([l["amount"] for l in inv["lines"]], [l["amount"] for l in pre["lines"]])
        self.assertEqual(inv["total"], pre["total"])
        extra = self.b.plan("EXTRA", 700)
        it = self.b.ok("POST", "/v1/subscription-items",
                       {"subscriptionId": sub["id"], "planId": extra["id"], "quantity": 2,
                        "prorationBehavior": "none"})
        self.assertTrue(it["id"].startswith("si_"), it)
        r = self.b.req("DELETE", "/v1/subscription-items/" + it["id"])
        self.assertEqual(r.status, 204, r.text)
        self.assertProblem(self.b.req("GET", "/v1/subscription-items/" + it["id"]), 404)
        for i in sub["items"][1:]:
            self.b.ok("DELETE", "/v1/subscription-items/" + i["id"], status=204)
        self.assertProblem(self.b.req("DELETE", "/v1/subscription-items/" +
                                      sub["items"][0]["id"]), 409)
        self.assertEqual(len(self.b.ok("GET", "/v1/subscriptions/" + sub["id"])["items"]), 1)
        # Every change is in the audit log, the refused delete is not.
        rows = [a for a in self.b.ok("GET", "/v1/audit-log?limit=100")["data"]
                if a["operation"].startswith("subscription_items.")]
        count = {op: sum(1 for a in rows if a["operation"] == op)
                 for op in ("subscription_items.create", "subscription_items.update",
                            "subscription_items.delete")}
        self.assertEqual(count, {"subscription_items.create": 1,
                                 "subscription_items.update": 1,
                                 "subscription_items.delete": 1 + len(sub["items"]) - 1})

    def test_errors_name_their_field_and_change_nothing(self):
        usd = self.b.ok("POST", "/v1/products", {"name": "Dollars", "sku": "USD1",
                                                 "priceCents": 0, "currency": "USD"})
        usd_plan = self.b.ok("POST", "/v1/plans", {"productId": usd["id"], "code": "USDP",
                                                   "name": "Usd", "amount": 100,
                                                   "interval": "MONTH"})
        yearly = self.b.plan("YEARLY", 9000, interval="YEAR")
        base = {"customerId": self.b.customer["id"]}
        for items, field in (([{"planId": self.b.monthly["id"]}, {"planId": usd_plan["id"]}],
                              "items[1].planId"),
                             ([{"planId": self.b.monthly["id"]}, {"planId": yearly["id"]}],
                              "items[1].planId"),
                             ([{"planId": self.b.monthly["id"]},
                               {"planId": self.b.monthly["id"]}], "items[1].planId"),
                             ([{"planId": self.b.monthly["id"], "quantity": 0}],
                              "items[0].quantity"),
                             ([{"planId": self.b.monthly["id"], "seats": 1}], "items[0]"),
                             ([], "items")):
            r = self.b.req("POST", "/v1/subscriptions", dict(base, items=items))
            self.assertProblem(r, 400, field=field)
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions")["data"], [])
        sub = self.subscribe_items()
        seat = sub["items"][2]["id"]
        for body, field in (({"quantity": 0}, "quantity"),
                            ({"planId": self.addon["id"]}, "planId"),
                            ({"quantity": 4, "prorationBehavior": "later"}, "prorationBehavior"),
                            ({"quantity": 4, "prorationDate": "2999-01-01T00:00:00Z"},
                             "prorationDate")):
            self.assertProblem(self.b.req("PATCH", "/v1/subscription-items/" + seat, body),
                               400, field=field)
        self.assertEqual(self.b.ok("GET", "/v1/subscription-items/" + seat)["quantity"], 3)
        r = self.b.req("POST", "/v1/subscription-items",
                       {"subscriptionId": sub["id"], "planId": "plan_nothing"})
        self.assertProblem(r, 400, "resource_missing", "planId")
        self.assertProblem(self.b.req("GET", "/v1/subscription-items/si_nothing"), 404)
        # USER reads and may not write.
        r = self.s.request("GET", "/v1/subscription-items/" + seat, token=self.user)
        self.assertEqual(r.status, 200, r.text)
        r = self.s.request("PATCH", "/v1/subscription-items/" + seat, {"quantity": 4},
                           token=self.user)
        self.assertProblem(r, 403)

    def test_idempotency_key_replays_the_item(self):
        sub = self.b.subscribe()
        body = {"subscriptionId": sub["id"], "planId": self.seat["id"], "quantity": 2}
        r1 = self.b.req("POST", "/v1/subscription-items", body,
                        headers={"Idempotency-Key": "si-1"})
        r2 = self.b.req("POST", "/v1/subscription-items", body,
                        headers={"Idempotency-Key": "si-1"})
        self.assertEqual((r1.status, r2.status), (201, 201), r2.text)
        self.assertEqual(r1.body["id"], r2.body["id"])
        self.assertEqual(r2.header("Idempotent-Replayed"), "true")
        r3 = self.b.req("POST", "/v1/subscription-items", dict(body, quantity=3),
                        headers={"Idempotency-Key": "si-1"})
        self.assertProblem(r3, 409)
        self.assertEqual(len(self.b.ok("GET", "/v1/subscriptions/" + sub["id"])["items"]), 2)


if __name__ == "__main__":
    unittest.main()
