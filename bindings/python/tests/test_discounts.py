"""Discounts through the Python binding (issue #22): a 25 % coupon for 3
months given with a subscription; the first invoice's line shows what the
discount took (discountAmounts), the invoice its totalDiscountAmounts and a
total after the discount; the subscription's discount deleted.

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
import unittest

import support


class Discounts(support.BackendCase):

    def test_a_coupon_on_a_subscription_discounts_its_invoice(self):
        _, acme = self.new_tenant("Discounts")
        prod = acme.products.create(name="Pro", sku="pro")
        plan = acme.plans.create(product_id=prod["id"], code="PRO", name="Pro",
                                 amount=2900, currency="EUR", interval="MONTH")
        coupon = acme.coupons.create(percent_off=25, duration="repeating",
                                     duration_in_periods=3)
        cus = acme.customers.create(name="Ada", email="ada@example.com")
        sub = acme.subscriptions.create(customer_id=cus["id"], plan_id=plan["id"],
                                        coupon=coupon["id"])
        inv = acme.invoices.get(sub["latestInvoiceId"])
        line = inv["lines"][0]
        self.assertEqual(line["amount"], 2900)
        self.assertEqual(len(line["discountAmounts"]), 1)
        self.assertEqual(line["discountAmounts"][0]["amount"], 725)
        self.assertEqual(inv["totalDiscountAmounts"], line["discountAmounts"])
        self.assertEqual((inv["subtotal"], inv["total"]), (2900, 2175))
        deleted = acme.subscriptions.delete_discount(sub["id"])
        self.assertEqual(deleted["id"], line["discountAmounts"][0]["discountId"])


support.for_each_backend(globals(), Discounts)

if __name__ == "__main__":
    unittest.main()
