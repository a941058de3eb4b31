"""Usage billed in arrears through the Python binding (issue #23): a meter,
a graduated metered plan on it, a subscription of a licensed item and a
metered item, usage events sent and voided, the subscription's running
usage and amount, then the renewal (billing_run_due after the period end
and the tenant's grace window) with the period's usage line priced by the
plan's tiers, as docs/billing.md's worked example: 200 units = 500 + 100 x
10 + 100 x 5 = 2000.

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
import datetime
import unittest

import support


def _time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class UsageBilling(support.BackendCase):

    def test_a_metered_item_is_billed_on_the_renewal(self):
        _, acme = self.new_tenant("UsageBilling")
        meter = acme.meters.create(event_name="api.call", aggregation="sum", value_property="n")
        self.assertEqual(acme.meters.get(meter["id"])["eventName"], "api.call")
        prod = acme.products.create(name="API", sku="api")
        calls = acme.plans.create(
            product_id=prod["id"], code="CALLS", name="API calls", currency="EUR",
            interval="MONTH", usage_type="metered", meter_id=meter["id"],
            billing_scheme="tiered", tiers_mode="graduated",
            tiers=[{"upTo": 100, "unitAmount": 10, "flatAmount": 500},
                   {"upTo": 1000, "unitAmount": 5}, {"upTo": None, "unitAmount": 2}])
        self.assertEqual((calls["usageType"], calls["meterId"]), ("metered", meter["id"]))
        seats = acme.plans.create(product_id=prod["id"], code="SEATS", name="Seats",
                                  amount=1500, currency="EUR", interval="MONTH")
        cus = acme.customers.create(name="Ada", email="ada@example.com")
        sub = acme.subscriptions.create(customer_id=cus["id"], items=[
            {"planId": seats["id"], "quantity": 3}, {"planId": calls["id"]}])
        metered_item = sub["items"][1]["id"]
        first = acme.invoices.get(sub["latestInvoiceId"])
        self.assertEqual(first["subtotal"], 4500)  # nothing of the usage in advance

        sent = acme.usage_events.create(events=[
            {"transactionId": "e-%d" % i, "eventName": "api.call", "customerId": cus["id"],
             "properties": {"n": n}} for i, n in enumerate((150, 50, 7))])
        self.assertEqual((sent["accepted"], sent["refused"]), (3, 0))
        voided = acme.usage_events.void(transaction_ids=["e-2"])
        self.assertEqual(voided["data"][0]["status"], "voided")
        usage = acme.subscriptions.usage(sub["id"])
        self.assertEqual([(u["meterId"], u["value"], u["events"], u["amount"])
                          for u in usage["data"]], [(meter["id"], 200, 2, 2000)])

        end = _time(sub["currentPeriodEnd"])
        self.b.run_due(now=end + datetime.timedelta(hours=2))
        sub = acme.subscriptions.get(sub["id"])
        inv = acme.invoices.get(sub["latestInvoiceId"])
        self.assertEqual(_time(inv["periodStart"]), end)
        line = [l for l in inv["lines"] if l["subscriptionItemId"] == metered_item]
        self.assertEqual(len(line), 1)
        line = line[0]
        self.assertEqual((line["quantity"], line["amount"]), (200, 2000))
        self.assertEqual((_time(line["periodStart"]), _time(line["periodEnd"])),
                         (_time(first["periodStart"]), end))
        self.assertEqual([(t["upTo"], t["quantity"], t["amount"]) for t in line["tiers"]],
                         [(100, 100, 1500), (1000, 100, 500)])
        self.assertEqual(inv["subtotal"], 4500 + 2000)

    def test_a_spend_threshold_is_set_shown_and_removed(self):
        _, acme = self.new_tenant("Thresholds")
        prod = acme.products.create(name="API", sku="api")
        seats = acme.plans.create(product_id=prod["id"], code="SEATS", name="Seats",
                                  amount=1500, currency="EUR", interval="MONTH")
        cus = acme.customers.create(name="Ada", email="ada@example.com")
        sub = acme.subscriptions.create(customer_id=cus["id"], plan_id=seats["id"],
                                        billing_thresholds={"amountGte": 50000})
        self.assertEqual(sub["billingThresholds"],
                         {"amountGte": 50000, "resetBillingCycleAnchor": False})
        sub = acme.subscriptions.update(sub["id"], billing_thresholds=None)
        self.assertIsNone(sub["billingThresholds"])


support.for_each_backend(globals(), UsageBilling)

if __name__ == "__main__":
    unittest.main()
