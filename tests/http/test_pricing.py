#!/usr/bin/env python3
"""HTTP suite for price models on invoices (issue #21), with the test clock:

- a subscription of three items, a graduated, a volume and a package plan:
  its first invoice has one line per item, each the model applied to the
  item's quantity by hand, the graduated line with the tiers it used
  ([{upTo, quantity, unitAmount, flatAmount, amount}]), the volume line
  with the one tier the quantity reached, the package line without tiers;
- a seat change on the graduated item previewed at a prorationDate
  (GET /v1/subscription-items/preview) and then applied at that date
  (PATCH, always_invoice) bills exactly the previewed amounts, which are
  the models' difference over the rest of the period (no tiers on a
  proration);
- #21's "Done when": a graduated base plan and two add-ons, the base's
  quantity changed five times in a month, renew with one line per item and
  one proration line per change, to the minor unit;
- billingCycleAnchor at creation: the partial first period prorated (or
  free with prorationBehavior none), the renewal on the anchor, bad
  anchors 400.

Reuses test_server.py's Server and Billing; runs on the backend
BILLING_TEST_BACKEND names, like http_server.
"""
import os
import unittest
import urllib.parse

import test_server as ts

DAY = 86400
TIERS = [{"upTo": 5, "unitAmount": 500}, {"upTo": 10, "unitAmount": 400},
         {"upTo": None, "unitAmount": 300, "flatAmount": 100}]


def setUpModule():
    if not ts.SERVER or not os.access(ts.SERVER, os.X_OK):
        raise RuntimeError("set BILLING_SERVER to the billing-server binary")


def graduated(q):
    """Stripe's graduated rule by hand for TIERS."""
    return (min(q, 5) * 500 + max(0, min(q, 10) - 5) * 400 + max(0, q - 10) * 300
            + (100 if q > 10 else 0))


class Pricing(ts.ProblemAssertions):
    """A server with the test clock; a tenant per test."""

    @classmethod
    def setUpClass(cls):
        cls.s = ts.Server(env_extra={"BILLING_TEST_CLOCK": "1"}).start()

    @classmethod
    def tearDownClass(cls):
        if cls.s.stop() != 0:
            raise AssertionError("the pricing server did not exit cleanly")

    def setUp(self):
        self.tenant = self.s.cli("tenant", "create", "--name", self.id()[-40:]) \
            .stdout.decode().strip()
        self.b = ts.Billing(self.s, ts.make_token(ts.claims_for(self.tenant)))
        self.grad = self.tiered("GRADUATED", "graduated")
        self.vol = self.tiered("VOLUME", "volume")
        self.pack = self.b.plan("PACKAGE", 1000,
                                transformQuantity={"divideBy": 5, "round": "up"})

    def tiered(self, code, mode):
        return self.b.ok("POST", "/v1/plans", {
            "productId": self.b.product["id"], "code": code, "name": code.title(),
            "interval": "MONTH", "billingScheme": "tiered", "tiersMode": mode,
            "tiers": TIERS})

    def subscribe(self):
        return self.b.ok("POST", "/v1/subscriptions", {
            "customerId": self.b.customer["id"],
            "items": [{"planId": self.grad["id"], "quantity": 12},
                      {"planId": self.vol["id"], "quantity": 12},
                      {"planId": self.pack["id"], "quantity": 12}]})

    def invoice_of(self, sub_id):
        sub = self.b.ok("GET", "/v1/subscriptions/" + sub_id)
        return self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])

    def test_graduated_volume_and_package_lines(self):
        sub = self.subscribe()
        inv = self.invoice_of(sub["id"])
        lines = inv["lines"]
        self.assertEqual([l["subscriptionItemId"] for l in lines],
                         [i["id"] for i in sub["items"]])
        self.assertEqual([l["planId"] for l in lines],
                         [self.grad["id"], self.vol["id"], self.pack["id"]])
        # Graduated: 5 x 500 + 5 x 400 + 2 x 300 + 100.
        g = lines[0]
        self.assertEqual(g["amount"], 5200)
        self.assertEqual(graduated(12), 5200)
        self.assertEqual((g["quantity"], g["unitAmount"]), (12, 0))
        self.assertEqual([(t["upTo"], t["quantity"], t["unitAmount"], t["flatAmount"],
                           t["amount"]) for t in g["tiers"]],
                         [(5, 5, 500, 0, 2500), (10, 5, 400, 0, 2000),
                          (None, 2, 300, 100, 700)])
        self.assertEqual(sum(t["amount"] for t in g["tiers"]), g["amount"])
        # Volume: every unit at the tier 12 reaches, plus its flat amount.
        v = lines[1]
        self.assertEqual(v["amount"], 12 * 300 + 100)
        self.assertEqual([(t["upTo"], t["quantity"], t["amount"]) for t in v["tiers"]],
                         [(None, 12, 3700)])
        # Package: 12 units in packages of 5, rounded up: 3 x 1000, no tiers.
        p = lines[2]
        self.assertEqual((p["amount"], p["unitAmount"], p["tiers"]), (3000, 1000, None))
        self.assertEqual(inv["subtotal"], 5200 + 3700 + 3000)

    def test_seat_change_previewed_at_a_proration_date_then_applied_equal(self):
        sub = self.subscribe()
        first = self.invoice_of(sub["id"])
        start, end = ts.parse_time(first["periodStart"]), ts.parse_time(first["periodEnd"])
        grad_item = sub["items"][0]["id"]
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 9 * DAY + 123})
        now = ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])
        date = ts.fmt_time(now)
        q = urllib.parse.urlencode({"subscriptionId": sub["id"],
                                    "subscriptionItemId": grad_item, "quantity": 15,
                                    "prorationDate": date})
        pre = self.b.ok("GET", "/v1/subscription-items/preview?" + q)
        self.assertEqual(len(pre["lines"]), 1)
        diff = graduated(15) - graduated(12)
        part, whole = end - now, end - start
        # Half away from zero of diff x part / whole (diff > 0).
        self.assertEqual(pre["lines"][0]["amount"], (diff * part * 2 + whole) // (whole * 2))
        self.assertIsNone(pre["lines"][0]["tiers"])
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 3600})
        self.b.ok("PATCH", "/v1/subscription-items/" + grad_item,
                  {"quantity": 15, "prorationDate": date,
                   "prorationBehavior": "always_invoice"})
        inv = self.invoice_of(sub["id"])
        self.assertNotEqual(inv["id"], first["id"])
        self.assertEqual([(l["amount"], l["quantity"], l["subscriptionItemId"])
                          for l in inv["lines"]],
                         [(l["amount"], l["quantity"], l["subscriptionItemId"])
                          for l in pre["lines"]])
        self.assertEqual(inv["total"], pre["total"])
        # The renewal bills the new quantity by the model, with its tiers.
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": end - now})
        renewal = self.invoice_of(sub["id"])
        self.assertEqual(renewal["lines"][0]["amount"], graduated(15))
        self.assertEqual(sum(t["amount"] for t in renewal["lines"][0]["tiers"]),
                         graduated(15))


    def test_done_when_tiered_base_two_addons_five_seat_changes_renew(self):
        """#21's Done when: a tiered base plan and two add-ons, the seats
        (the base's quantity) changed five times in a month, renew with one
        line per item (the base by its tiers) and one proration line per
        change, each the model's difference over the rest of the period."""
        addon1, addon2 = self.b.plan("ADDON1", 1500), self.b.plan("ADDON2", 700)
        sub = self.b.ok("POST", "/v1/subscriptions", {
            "customerId": self.b.customer["id"],
            "items": [{"planId": self.grad["id"], "quantity": 3},
                      {"planId": addon1["id"]}, {"planId": addon2["id"], "quantity": 2}]})
        first = self.invoice_of(sub["id"])
        self.assertEqual([l["amount"] for l in first["lines"]], [graduated(3), 1500, 1400])
        start, end = ts.parse_time(first["periodStart"]), ts.parse_time(first["periodEnd"])
        base = sub["items"][0]["id"]
        prev, want, t = 3, [], start
        for day, q in ((3, 7), (9, 5), (14, 12), (20, 10), (27, 11)):
            self.b.ok("POST", "/v1/test-clock/advance", {"seconds": start + day * DAY - t})
            t = start + day * DAY
            self.b.ok("PATCH", "/v1/subscription-items/" + base, {"quantity": q})
            diff = graduated(q) - graduated(prev)
            num, den = abs(diff) * (end - t), end - start
            want.append((1 if diff >= 0 else -1) * ((num * 2 + den) // (den * 2)))
            prev = q
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": end - t})
        inv = self.invoice_of(sub["id"])
        self.assertEqual(ts.parse_time(inv["periodStart"]), end)
        lines = inv["lines"]
        self.assertEqual(len(lines), 3 + 5)
        self.assertEqual([(l["amount"], l["quantity"]) for l in lines[:3]],
                         [(graduated(11), 11), (1500, 1), (1400, 2)])
        self.assertEqual(sum(t["amount"] for t in lines[0]["tiers"]), graduated(11))
        self.assertTrue(all(l["proration"] and l["subscriptionItemId"] == base
                            and l["tiers"] is None for l in lines[3:]))
        self.assertEqual([l["amount"] for l in lines[3:]], want)
        self.assertEqual(inv["subtotal"], graduated(11) + 1500 + 1400 + sum(want))

    def test_billing_cycle_anchor_charges_the_partial_first_period(self):
        """billingCycleAnchor at creation (#21 item 4): a weekly plan of 1400
        anchored 3 days ahead charges 1400 x 3/7 = 600 for the partial first
        period (a proration line), renews on the anchor at the full amount;
        prorationBehavior none makes that period free; an anchor in the past
        or more than one interval ahead, or always_invoice, is 400 naming the
        field, nothing created."""
        weekly = self.b.plan("WEEKLY", 1400, interval="WEEK")
        now = ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])
        anchor = now + 3 * DAY
        body = {"customerId": self.b.customer["id"], "planId": weekly["id"],
                "billingCycleAnchor": ts.fmt_time(anchor)}
        sub = self.b.ok("POST", "/v1/subscriptions", body)
        self.assertEqual(ts.parse_time(sub["billingCycleAnchor"]), anchor)
        self.assertEqual(ts.parse_time(sub["currentPeriodEnd"]), anchor)
        first = self.invoice_of(sub["id"])
        self.assertEqual([(l["amount"], l["proration"]) for l in first["lines"]], [(600, True)])
        free = self.b.ok("POST", "/v1/subscriptions", dict(body, prorationBehavior="none"))
        self.assertEqual(self.invoice_of(free["id"])["total"], 0)
        for bad, field in (({"billingCycleAnchor": ts.fmt_time(now - 60)}, "billingCycleAnchor"),
                           ({"billingCycleAnchor": ts.fmt_time(now + 8 * DAY)},
                            "billingCycleAnchor"),
                           ({"billingCycleAnchor": "tomorrow"}, "billingCycleAnchor"),
                           ({"prorationBehavior": "always_invoice"}, "prorationBehavior")):
            self.assertProblem(self.b.req("POST", "/v1/subscriptions", dict(body, **bad)), 400,
                               field=field)
        self.assertEqual(len(self.b.ok("GET", "/v1/subscriptions")["data"]), 2)
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 3 * DAY})
        renewal = self.invoice_of(sub["id"])
        self.assertEqual(ts.parse_time(renewal["periodStart"]), anchor)
        self.assertEqual(ts.parse_time(renewal["periodEnd"]), anchor + 7 * DAY)
        self.assertEqual([(l["amount"], l["proration"]) for l in renewal["lines"]],
                         [(1400, False)])


if __name__ == "__main__":
    unittest.main()
