"""Taxes through the Python binding (issue #22): tax rates made and read
back, defaultTaxRates on a plan and on a subscription (which replace the
plan's), the tenant's tax settings, a customer's taxExempt and taxIds; a
taxed subscription's first invoice shows totalTaxAmounts and its lines
taxAmounts, an inclusive rate keeps the price, an exempt customer pays no
tax.

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
import unittest

import support

B = support.billing


class Taxes(support.BackendCase):

    def test_a_taxed_subscription_invoice_shows_its_tax_amounts(self):
        _, acme = self.new_tenant("Taxes")
        vat = acme.tax_rates.create(display_name="VAT", percentage="20", inclusive=False,
                                    country="DE")
        gst = acme.tax_rates.create(display_name="GST", percentage="10", inclusive=True)
        self.assertEqual((vat["percentage"], vat["inclusive"], vat["active"]),
                         ("20", False, True))
        self.assertEqual(acme.tax_rates.get(gst["id"])["displayName"], "GST")
        self.assertEqual([r["id"] for r in acme.tax_rates.list(inclusive=True)], [gst["id"]])
        self.assertEqual(acme.tax_settings.get()["taxRounding"], "line")
        self.assertEqual(acme.tax_settings.set(tax_rounding="invoice")["taxRounding"],
                         "invoice")
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.tax_settings.set(tax_rounding="cent")
        self.assertEqual(cm.exception.field, "taxRounding")

        prod = acme.products.create(name="Pro", sku="pro")
        plan = acme.plans.create(product_id=prod["id"], code="PRO", name="Pro", amount=1000,
                                 currency="EUR", interval="MONTH",
                                 default_tax_rates=[vat["id"]])
        self.assertEqual(plan["defaultTaxRates"], [vat["id"]])
        ada = acme.customers.create(name="Ada", email="ada@example.com",
                                    tax_ids=[{"type": "eu_vat", "value": "DE123456789"}])

        # The plan's exclusive 20 %: added on top.
        sub = acme.subscriptions.create(customer_id=ada["id"], plan_id=plan["id"])
        inv = acme.invoices.get(sub["latestInvoiceId"])
        self.assertEqual(inv["totalTaxAmounts"], [{"taxRateId": vat["id"], "amount": 200,
                                                   "inclusive": False,
                                                   "taxableAmount": 1000}])
        self.assertEqual(inv["lines"][0]["taxAmounts"], inv["totalTaxAmounts"])
        self.assertEqual((inv["subtotal"], inv["tax"], inv["total"]), (1000, 200, 1200))

        # The subscription's inclusive 10 % replaces the plan's: the price stays.
        bob = acme.customers.create(name="Bob", email="bob@example.com")
        sub2 = acme.subscriptions.create(customer_id=bob["id"], plan_id=plan["id"],
                                         default_tax_rates=[gst["id"]])
        self.assertEqual(sub2["defaultTaxRates"], [gst["id"]])
        inv2 = acme.invoices.get(sub2["latestInvoiceId"])
        self.assertEqual(inv2["totalTaxAmounts"], [{"taxRateId": gst["id"], "amount": 91,
                                                    "inclusive": True,
                                                    "taxableAmount": 909}])
        self.assertEqual(inv2["lines"][0]["amountExcludingTax"], 909)
        self.assertEqual(inv2["total"], 1000)

        # An exempt customer pays none.
        eve = acme.customers.create(name="Eve", email="eve@example.com", tax_exempt="exempt")
        self.assertEqual(eve["taxExempt"], "exempt")
        inv3 = acme.invoices.get(acme.subscriptions.create(
            customer_id=eve["id"], plan_id=plan["id"])["latestInvoiceId"])
        self.assertEqual((inv3["tax"], inv3["total"]), (0, 1000))
        self.assertEqual(inv3["customerTaxExempt"], "exempt")


support.for_each_backend(globals(), Taxes)

if __name__ == "__main__":
    unittest.main()
