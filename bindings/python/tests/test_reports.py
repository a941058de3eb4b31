"""Revenue reports through the Python binding (issue #25; docs/reports.md):
reports.mrr of a monthly 29.00 and a yearly 300.06 subscription (2500.5 a
month, rounded half away from zero): 2900 + 2501 = 5401, ARR 12 x 5401; a
bad currency is refused naming the field; the other reports' answers and a
refusal each (reports.trial_conversion: a new tenant's, none ended: null;
reports.revenue: a subscription's first invoice, not paid, in this month's
finalized and outstanding; reports.payment_recovery: none failed, null).

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
import unittest

import support

B = support.billing


class Reports(support.BackendCase):

    def test_mrr(self):
        _, acme = self.new_tenant("Reports")
        prod = acme.products.create(name="Service", sku="svc")
        monthly = acme.plans.create(product_id=prod["id"], code="MONTHLY", name="Monthly",
                                    amount=2900, currency="EUR", interval="MONTH")
        yearly = acme.plans.create(product_id=prod["id"], code="YEARLY", name="Yearly",
                                   amount=30006, currency="EUR", interval="YEAR")
        for plan in (monthly, yearly):
            cus = acme.customers.create(name="C " + plan["code"],
                                        email="%s@example.com" % plan["code"].lower())
            acme.subscriptions.create(customer_id=cus["id"], plan_id=plan["id"])
        mrr = acme.reports.mrr(currency="EUR")
        self.assertEqual((mrr["object"], mrr["currency"], mrr["mrr"], mrr["arr"],
                          mrr["subscriptions"], mrr["customers"]),
                         ("mrr_report", "EUR", 5401, 12 * 5401, 2, 2))
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.reports.mrr(currency="EURO")
        self.assertEqual(cm.exception.field, "currency")

    def test_mrr_movements(self):
        _, acme = self.new_tenant("Movements")
        prod = acme.products.create(name="Service", sku="svc")
        monthly = acme.plans.create(product_id=prod["id"], code="MONTHLY", name="Monthly",
                                    amount=2900, currency="EUR", interval="MONTH")
        cus = acme.customers.create(name="C", email="c@example.com")
        sub = acme.subscriptions.create(customer_id=cus["id"], plan_id=monthly["id"])
        month = sub["createdAt"][:8] + "01T00:00:00Z"
        year, mon = int(month[:4]), int(month[5:7])
        nxt = "%04d-%02d-01T00:00:00Z" % (year + mon // 12, mon % 12 + 1)
        mv = acme.reports.mrr_movements(currency="EUR", from_=month, to=nxt)
        self.assertEqual(mv["object"], "mrr_movements_report")
        [m] = mv["months"]
        self.assertEqual((m["start"], m["new"], m["newCustomers"], m["endMrr"]),
                         (month, 2900, 1, 2900))
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.reports.mrr_movements(currency="EUR", from_=nxt, to=month)
        self.assertEqual(cm.exception.field, "from")

    def test_churn(self):
        _, acme = self.new_tenant("Churn")
        now = acme.reports.mrr(currency="EUR")["at"]
        c = acme.reports.churn(currency="EUR", from_="2000-01-01T00:00:00Z", to=now)
        self.assertEqual((c["object"], c["startCustomers"], c["customerChurnRate"]),
                         ("churn_report", 0, None))
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.reports.churn(currency="EUR", from_=now, to=now)
        self.assertEqual(cm.exception.field, "to")

    def test_trial_conversion(self):
        # The real clock: a range ending now is [from, now), so nothing this
        # second's calls write is in it; the shape, the null rate and a refusal.
        _, acme = self.new_tenant("Trials")
        now = acme.reports.mrr(currency="EUR")["at"]
        t = acme.reports.trial_conversion(from_="2000-01-01T00:00:00Z", to=now)
        self.assertEqual((t["object"], t["from"], t["to"], t["trialsEnded"], t["converted"],
                          t["canceledDuringTrial"], t["endedUnpaid"], t["conversionRate"]),
                         ("trial_conversion_report", "2000-01-01T00:00:00Z", now, 0, 0, 0, 0,
                          None))
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.reports.trial_conversion(from_=now, to=now)
        self.assertEqual(cm.exception.field, "to")

    def test_revenue_and_payment_recovery(self):
        _, acme = self.new_tenant("Revenue")
        prod = acme.products.create(name="Service", sku="svc")
        monthly = acme.plans.create(product_id=prod["id"], code="MONTHLY", name="Monthly",
                                    amount=2900, currency="EUR", interval="MONTH")
        cus = acme.customers.create(name="C", email="c@example.com")
        sub = acme.subscriptions.create(customer_id=cus["id"], plan_id=monthly["id"])
        inv = acme.invoices.get(sub["latestInvoiceId"])
        month = sub["createdAt"][:8] + "01T00:00:00Z"
        year, mon = int(month[:4]), int(month[5:7])
        nxt = "%04d-%02d-01T00:00:00Z" % (year + mon // 12, mon % 12 + 1)
        rev = acme.reports.revenue(currency="EUR", from_=month, to=nxt)
        [m] = rev["months"]
        self.assertEqual((rev["object"], m["start"], m["finalized"], m["invoiced"],
                          m["collected"], m["outstanding"]),
                         ("revenue_report", month, inv["total"], inv["total"],
                          inv["amountPaid"], inv["amountDue"]))
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.reports.revenue(currency="EUR", from_=nxt, to=month)
        self.assertEqual(cm.exception.field, "from")
        now = acme.reports.mrr(currency="EUR")["at"]
        r = acme.reports.payment_recovery(currency="EUR", from_=month, to=now)
        self.assertEqual((r["object"], r["failedInvoices"], r["recoveryRate"]),
                         ("payment_recovery_report", 0, None))
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.reports.payment_recovery(currency="EUR", from_=now, to=now)
        self.assertEqual(cm.exception.field, "to")

    def test_arpa(self):
        _, acme = self.new_tenant("Arpa")
        prod = acme.products.create(name="Service", sku="svc")
        monthly = acme.plans.create(product_id=prod["id"], code="MONTHLY", name="Monthly",
                                    amount=2900, currency="EUR", interval="MONTH")
        cus = acme.customers.create(name="C", email="c@example.com")
        acme.subscriptions.create(customer_id=cus["id"], plan_id=monthly["id"])
        a = acme.reports.arpa(currency="EUR")
        self.assertEqual((a["object"], a["mrr"], a["payingCustomers"], a["arpa"]),
                         ("arpa_report", 2900, 1, 2900))
        self.assertIsNone(acme.reports.arpa(currency="USD")["arpa"])
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.reports.arpa(currency="EUR", at="soon")
        self.assertEqual(cm.exception.field, "at")

    def test_receivables_aging(self):
        _, acme = self.new_tenant("Aging")
        cus = acme.customers.create(name="C", email="c@example.com")
        draft = acme.invoices.create(customer_id=cus["id"], currency="EUR",
                                     collection_method="send_invoice", days_until_due=30)
        acme.invoice_items.create(customer_id=cus["id"], invoice_id=draft["id"],
                                  currency="EUR", amount=4200, description="Work")
        acme.invoices.finalize(draft["id"])
        a = acme.reports.receivables_aging(currency="EUR")
        self.assertEqual((a["object"], a["current"], a["total"], a["invoices"]),
                         ("receivables_aging_report", 4200, 4200, 1))


if __name__ == "__main__":
    unittest.main()
