"""Price models and subscription items through the Python binding (issue
#21): a graduated plan made with its tiers, a subscription of two items
(the tiered plan and a per-unit add-on), the first invoice's lines read
back: one per item with its subscriptionItemId, the graduated line's
amount and the tiers it used.

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
import unittest

import support


class Pricing(support.BackendCase):

    def test_tiered_plan_and_two_items_on_the_invoice(self):
        _, acme = self.new_tenant("Pricing")
        prod = acme.products.create(name="Seats", sku="seats")
        tiered = acme.plans.create(
            product_id=prod["id"], code="SEATS", name="Seats", currency="EUR",
            interval="MONTH", billing_scheme="tiered", tiers_mode="graduated",
            tiers=[{"upTo": 5, "unitAmount": 500}, {"upTo": None, "unitAmount": 300,
                                                    "flatAmount": 100}])
        self.assertEqual((tiered["billingScheme"], tiered["tiersMode"], len(tiered["tiers"])),
                         ("tiered", "graduated", 2))
        addon = acme.plans.create(product_id=prod["id"], code="ADDON", name="Add-on",
                                  amount=1500, currency="EUR", interval="MONTH")
        cus = acme.customers.create(name="Ada", email="ada@example.com")
        sub = acme.subscriptions.create(customer_id=cus["id"], items=[
            {"planId": tiered["id"], "quantity": 8}, {"planId": addon["id"], "quantity": 2}])
        self.assertEqual([(i["planId"], i["quantity"]) for i in sub["items"]],
                         [(tiered["id"], 8), (addon["id"], 2)])
        inv = acme.invoices.get(sub["latestInvoiceId"])
        lines = inv["lines"]
        self.assertEqual([l["subscriptionItemId"] for l in lines],
                         [i["id"] for i in sub["items"]])
        # 5 x 500 + 3 x 300 + 100; the add-on 2 x 1500.
        self.assertEqual([l["amount"] for l in lines], [3500, 3000])
        self.assertEqual([(t["upTo"], t["quantity"], t["amount"]) for t in lines[0]["tiers"]],
                         [(5, 5, 2500), (None, 3, 1000)])
        self.assertIsNone(lines[1]["tiers"])
        self.assertEqual(inv["subtotal"], 6500)


support.for_each_backend(globals(), Pricing)

if __name__ == "__main__":
    unittest.main()
