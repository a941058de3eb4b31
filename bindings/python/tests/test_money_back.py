"""Money owed back through the Python binding (issue #20): a paid
subscription invoice credited in part with a refund through the test
provider, then with a credit to the balance; a one-off invoice item put on a
send_invoice draft, finalized (the balance applied) and paid out of band;
a manual balance adjustment listed with the rest.

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
import unittest

import support  # noqa: I100 (puts the package on sys.path)

import billing  # noqa: E402


class MoneyBack(support.BackendCase):
    open_options = {"provider": "test"}

    def setUp(self):
        _, self.acme = self.new_tenant("Money back")
        prod = self.acme.products.create(name="Hosting", sku="hosting")
        self.plan = self.acme.plans.create(product_id=prod["id"], code="HOST", name="Hosting",
                                           amount=999, currency="EUR", interval="MONTH")
        self.cus = self.acme.customers.create(name="Ada", email="ada@example.com",
                                              default_payment_method="pm_card_visa")

    def balance(self):
        return self.acme.customers.get(self.cus["id"])["balances"].get("EUR", 0)

    def test_credit_notes_refund_then_credit_the_balance(self):
        sub = self.acme.subscriptions.create(customer_id=self.cus["id"],
                                             plan_id=self.plan["id"])
        inv = self.acme.invoices.get(sub["latestInvoiceId"])
        self.assertEqual((inv["status"], inv["total"]), ("paid", 999))

        refund = self.acme.credit_notes.create(
            invoice_id=inv["id"], reason="order_change",
            lines=[{"invoiceLineId": inv["lines"][0]["id"], "amount": 300}],
            refund_amount=300)
        self.assertEqual((refund["number"], refund["type"], refund["total"],
                          refund["refundAmount"], refund["creditAmount"]),
                         ("CN-000001", "post_payment", 300, 300, 0))
        self.assertIsNotNone(refund["refundId"])

        credit = self.acme.credit_notes.create(invoice_id=inv["id"], amount=200)
        self.assertEqual((credit["number"], credit["creditAmount"]), ("CN-000002", 200))
        self.assertEqual(self.balance(), -200)
        inv = self.acme.invoices.get(inv["id"])
        self.assertEqual(inv["postPaymentCreditNotesAmount"], 500)
        self.assertEqual([n["id"] for n in self.acme.credit_notes.list(invoice_id=inv["id"])],
                         [refund["id"], credit["id"]])  # oldest first

        # More than is left (999 - 500) is refused and writes nothing.
        with self.assertRaises(billing.InvalidArgument):
            self.acme.credit_notes.create(invoice_id=inv["id"], amount=500)
        self.assertEqual(self.acme.invoices.get(inv["id"])["postPaymentCreditNotesAmount"], 500)

        voided = self.acme.credit_notes.void(credit["id"])
        self.assertEqual(voided["status"], "void")
        self.assertEqual(self.balance(), 0)

    def test_invoice_item_on_a_send_invoice_draft_paid_out_of_band(self):
        adj = self.acme.customer_balance_transactions.create(
            customer_id=self.cus["id"], amount=-250, currency="EUR", description="goodwill")
        self.assertEqual((adj["type"], adj["endingBalance"]), ("adjustment", -250))
        item = self.acme.invoice_items.create(customer_id=self.cus["id"], currency="EUR",
                                              description="Consulting", unit_amount=15000,
                                              quantity=2)
        self.assertEqual((item["amount"], item["invoiceId"]), (30000, None))

        draft = self.acme.invoices.create(customer_id=self.cus["id"], currency="EUR",
                                          collection_method="send_invoice", days_until_due=14)
        self.assertEqual((draft["status"], draft["number"], draft["total"]),
                         ("draft", None, 30000))
        self.assertEqual(self.acme.invoice_items.get(item["id"])["invoiceId"], draft["id"])

        sent = self.acme.invoices.finalize(draft["id"])
        self.assertEqual((sent["status"], sent["startingBalance"], sent["endingBalance"],
                          sent["amountDue"]), ("pending", -250, 0, 29750))
        self.assertIsNotNone(sent["number"])
        self.assertIsNotNone(sent["dueDate"])

        paid = self.acme.invoices.pay(sent["id"], paid_out_of_band=True)
        self.assertEqual(paid["status"], "paid")
        self.assertEqual(self.balance(), 0)
        types = [t["type"] for t in
                 self.acme.customer_balance_transactions.list(customer_id=self.cus["id"])]
        self.assertEqual(sorted(types), ["adjustment", "applied_to_invoice"])

        # A finalized invoice's item is fixed.
        with self.assertRaises(billing.BillingError) as cm:
            self.acme.invoice_items.update(item["id"], amount=1)
        self.assertEqual(cm.exception.code, "invoice_item_invoiced")


support.for_each_backend(globals(), MoneyBack)

if __name__ == "__main__":
    unittest.main()
