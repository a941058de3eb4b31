"""Discounts through the Python binding (issue #22): a 25 % coupon for 3
months given with a subscription; the first invoice's line shows what the
discount took (discountAmounts), the invoice its totalDiscountAmounts and a
total after the discount; the subscription's discount deleted. An update's
coupon or promotion code replaces a customer's and a subscription's discount.

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

    def test_an_update_replaces_the_discount_of_a_customer_and_a_subscription(self):
        _, acme = self.new_tenant("Discount updates")
        prod = acme.products.create(name="Pro", sku="pro")
        plan = acme.plans.create(product_id=prod["id"], code="PRO", name="Pro",
                                 amount=2900, currency="EUR", interval="MONTH")
        ten = acme.coupons.create(percent_off=10, duration="forever")
        half = acme.coupons.create(percent_off=50, duration="forever")
        acme.promotion_codes.create(code="HALF", coupon_id=half["id"])
        cus = acme.customers.create(name="Ada", email="ada@example.com")
        self.assertEqual(acme.customers.update(cus["id"], coupon=ten["id"])["version"], 2)
        sub = acme.subscriptions.create(customer_id=cus["id"], plan_id=plan["id"])
        # The customer's 10 %: 29.00 - 2.90.
        self.assertEqual(acme.invoices.get(sub["latestInvoiceId"])["total"], 2610)
        acme.subscriptions.update(sub["id"], promotion_code="half")
        self.assertEqual(acme.coupons.get(half["id"])["timesRedeemed"], 1)
        deleted = acme.subscriptions.delete_discount(sub["id"])
        self.assertTrue(deleted["id"].startswith("di_"))
        self.assertTrue(acme.customers.delete_discount(cus["id"])["id"].startswith("di_"))

    def test_a_draft_invoice_takes_its_own_discount(self):
        _, acme = self.new_tenant("Draft discounts")
        ten = acme.coupons.create(percent_off=10, duration="forever")
        quarter = acme.coupons.create(percent_off=25)
        cus = acme.customers.create(name="Ada", email="ada@example.com")
        acme.customers.update(cus["id"], coupon=ten["id"])
        acme.invoice_items.create(customer_id=cus["id"], currency="EUR",
                                  description="Consulting", amount=10000)
        # The draft's own 25 % replaces the customer's 10 %: 100.00 - 25.00.
        draft = acme.invoices.create(customer_id=cus["id"], currency="EUR",
                                     coupon=quarter["id"])
        self.assertEqual((draft["totalDiscountAmounts"][0]["amount"], draft["total"]),
                         (2500, 7500))
        # Deleted: the customer's 10 % again (the answer is the draft).
        back = acme.invoices.delete_discount(draft["id"])
        self.assertEqual((back["totalDiscountAmounts"][0]["amount"], back["total"]),
                         (1000, 9000))


support.for_each_backend(globals(), Discounts)

if __name__ == "__main__":
    unittest.main()
