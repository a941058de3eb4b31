#!/usr/bin/env python3
"""HTTP suite for invoice items and draft invoices (issue #20 item 2), with the
test provider and the test clock:

- a setup fee as an invoice item with a subscription lands on that
  subscription's next renewal invoice (and only there), the item then on it
  and fixed (PATCH / DELETE 409);
- POST /v1/invoices makes a draft (no number) pulling the customer's pending
  items in its currency; items added to / removed from a draft change its lines
  and totals; PATCH of memo, footer, collectionMethod, daysUntilDue;
- finalize numbers it from the same gapless sequence; send_invoice leaves it
  pending with dueDate = finalization + daysUntilDue days; POST .../pay
  {paidOutOfBand: true} pays it with no provider call (no payment row);
- DELETE of a draft: its items are pending again and no number is consumed;
- GET/PUT /v1/invoice-settings {renewalDraftDelay}: with a delay set by the
  tenant, a renewal waits as a draft, takes an invoice item, and is finalized
  with it after the delay; a value out of 0..2592000 is 400 naming the
  field; a USER reads it and cannot PUT; an audit row;
- mark-uncollectible from pending only; an uncollectible invoice can still be
  paid out of band; events and audit rows; input errors name their field.

On tenant_case.TenantCase (a server per class, a tenant per test); runs on
the backend BILLING_TEST_BACKEND names, like http_server.
"""
import unittest

import test_server as ts
from tenant_case import TenantCase

DAY = 86400


class InvoiceItems(TenantCase):
    """A server with the test clock and the test provider; a tenant per test."""

    def setUp(self):
        super().setUp()
        self.cus = self.b.customer

    def item(self, **fields):
        body = {"customerId": self.cus["id"], "currency": "EUR", "description": "Setup fee"}
        body.update(fields)
        return self.b.ok("POST", "/v1/invoice-items", body)

    def draft(self, **fields):
        body = {"customerId": self.cus["id"], "currency": "EUR"}
        body.update(fields)
        return self.b.ok("POST", "/v1/invoices", body)

    def event_types(self, prefix):
        return [e["type"] for e in self.b.ok("GET", "/v1/events?limit=100")["data"]
                if e["type"].startswith(prefix)]

    def test_setup_fee_lands_on_the_next_renewal_invoice(self):
        sub = self.b.subscribe()
        first = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        fee = self.item(subscriptionId=sub["id"], amount=5000)
        self.assertTrue(fee["id"].startswith("ii_"), fee)
        self.assertEqual((fee["object"], fee["amount"], fee["unitAmount"], fee["quantity"],
                          fee["invoiceId"], fee["subscriptionId"]),
                         ("invoice_item", 5000, 5000, 1, None, sub["id"]))
        # Not on a draft of the customer: it belongs to the subscription.
        d = self.draft()
        self.assertEqual(d["lines"], [])
        self.b.ok("DELETE", "/v1/invoices/" + d["id"], status=204)
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 32 * DAY})
        invs = self.b.invoices("&subscriptionId=" + sub["id"])
        self.assertEqual(len(invs), 2, invs)
        renewal = [i for i in invs if i["id"] != first["id"]][0]
        self.assertEqual([l["description"] for l in renewal["lines"]], ["Monthly", "Setup fee"])
        # 999 + 19 % = 1189 for the plan, the item untaxed.
        self.assertEqual((renewal["subtotal"], renewal["total"]), (5999, 6189))
        fee = self.b.ok("GET", "/v1/invoice-items/" + fee["id"])
        self.assertEqual(fee["invoiceId"], renewal["id"])
        self.assertProblem(self.b.req("PATCH", "/v1/invoice-items/" + fee["id"],
                                      {"description": "x"}), 409, "invoice_item_invoiced")
        self.assertProblem(self.b.req("DELETE", "/v1/invoice-items/" + fee["id"]), 409,
                           "invoice_item_invoiced")
        # The next renewal does not bill it again.
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 31 * DAY})
        third = [i for i in self.b.invoices("&subscriptionId=" + sub["id"])
                 if i["id"] not in (first["id"], renewal["id"])]
        self.assertEqual([l["description"] for l in third[0]["lines"]], ["Monthly"])

    def test_draft_with_two_items_sent_and_paid_out_of_band(self):
        a = self.item(description="Consulting", unitAmount=15000, quantity=2)
        b = self.item(description="Travel", amount=4250)
        self.assertEqual((a["amount"], a["unitAmount"], a["quantity"]), (30000, 15000, 2))
        other = self.item(description="In dollars", amount=100, currency="usd")
        self.assertEqual(other["currency"], "USD")
        d = self.draft(collectionMethod="send_invoice", daysUntilDue=30, memo="Thanks",
                       footer="IBAN DE00")
        self.assertEqual((d["status"], d["number"], d["collectionMethod"], d["daysUntilDue"],
                          d["dueDate"], d["memo"], d["footer"]),
                         ("draft", None, "send_invoice", 30, None, "Thanks", "IBAN DE00"))
        self.assertEqual([l["description"] for l in d["lines"]], ["Consulting", "Travel"])
        self.assertEqual((d["subtotal"], d["total"], d["amountDue"]), (34250, 34250, 34250))
        for it in (a, b):
            self.assertEqual(self.b.ok("GET", "/v1/invoice-items/" + it["id"])["invoiceId"],
                             d["id"])
        self.assertIsNone(self.b.ok("GET", "/v1/invoice-items/" + other["id"])["invoiceId"])
        # Items on a draft change its lines; the draft's fields change.
        self.b.ok("PATCH", "/v1/invoice-items/" + b["id"], {"amount": 5000})
        d = self.b.ok("PATCH", "/v1/invoices/" + d["id"], {"memo": None, "daysUntilDue": 14})
        self.assertEqual((d["memo"], d["daysUntilDue"], d["total"]), (None, 14, 35000))
        self.assertIn("invoice.updated", self.event_types("invoice."))

        now = ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])
        r = self.b.req("POST", "/v1/invoices/%s/finalize" % d["id"], {},
                       headers={"Idempotency-Key": "fin-1"})
        self.assertEqual(r.status, 200, r.text)
        inv = r.body
        self.assertEqual((inv["status"], inv["number"], inv["amountDue"], inv["nextAttemptAt"]),
                         ("pending", "INV-000001", 35000, None))
        self.assertEqual(ts.parse_time(inv["dueDate"]), now + 14 * DAY)
        again = self.b.req("POST", "/v1/invoices/%s/finalize" % d["id"], {},
                           headers={"Idempotency-Key": "fin-1"})
        self.assertEqual((again.status, again.body["number"]), (200, "INV-000001"))
        self.assertProblem(self.b.req("POST", "/v1/invoices/%s/finalize" % d["id"], {}), 409,
                           "invoice_not_draft")
        self.assertProblem(self.b.req("PATCH", "/v1/invoices/" + d["id"], {"memo": "x"}), 409,
                           "invoice_not_draft")
        self.assertProblem(self.b.req("PATCH", "/v1/invoice-items/" + a["id"], {"amount": 1}),
                           409, "invoice_item_invoiced")
        # Sent, not charged: the billing run leaves it alone.
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": DAY})
        self.assertEqual(self.b.ok("GET", "/v1/payments?invoiceId=" + d["id"])["data"], [])

        paid = self.b.ok("POST", "/v1/invoices/%s/pay" % d["id"], {"paidOutOfBand": True},
                         status=201)
        self.assertEqual((paid["status"], paid["amountPaid"], paid["amountDue"],
                          paid["paidOutOfBand"]), ("paid", 35000, 0, True))
        self.assertEqual(self.b.ok("GET", "/v1/payments?invoiceId=" + d["id"])["data"], [])
        types = self.event_types("invoice.")
        for t in ("invoice.created", "invoice.finalized", "invoice.paid"):
            self.assertIn(t, types)
        self.assertIn("invoice_item.created", self.event_types("invoice_item."))
        ops = [a["operation"] for a in self.b.ok("GET", "/v1/audit-log?limit=100")["data"]]
        for op in ("invoices.create", "invoices.finalize", "invoices.pay",
                   "invoice_items.create"):
            self.assertIn(op, ops)
        self.assertProblem(self.b.req("POST", "/v1/invoices/%s/pay" % d["id"],
                                      {"paidOutOfBand": True}), 409, "invalid_transition")

    def test_invoice_settings_renewal_waits_as_a_draft_and_takes_an_item(self):
        self.assertEqual(self.b.ok("GET", "/v1/invoice-settings"),
                         {"object": "invoice_settings", "renewalDraftDelay": 0})
        for bad in (-1, 2592001, "3600", 1.5):
            self.assertProblem(self.b.req("PUT", "/v1/invoice-settings",
                                          {"renewalDraftDelay": bad}), 400,
                               field="renewalDraftDelay")
        r = self.b.s.request("PUT", "/v1/invoice-settings", {"renewalDraftDelay": 60},
                             token=self.user)
        self.assertEqual(r.status, 403, r.text)
        self.assertEqual(self.b.ok("PUT", "/v1/invoice-settings", {"renewalDraftDelay": 3600}),
                         {"object": "invoice_settings", "renewalDraftDelay": 3600})
        r = self.b.s.request("GET", "/v1/invoice-settings", token=self.user)
        self.assertEqual((r.status, r.body["renewalDraftDelay"]), (200, 3600))
        ops = [a["operation"] for a in self.b.ok("GET", "/v1/audit-log?limit=100")["data"]]
        self.assertEqual(ops.count("invoice_settings.set"), 1)

        sub = self.b.subscribe()
        first = sub["latestInvoiceId"]
        # At the period's end the renewal is a draft for the hour.
        self.b.ok("POST", "/v1/test-clock/advance", {"to": sub["currentPeriodEnd"]})
        renewal = [i for i in self.b.invoices("&subscriptionId=" + sub["id"])
                   if i["id"] != first][0]
        self.assertEqual((renewal["status"], renewal["number"]), ("draft", None))
        self.item(invoiceId=renewal["id"], amount=500, description="Extra")
        # Inside the hour it waits; after it the run finalizes it with the item.
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 1800})
        self.assertEqual(self.b.ok("GET", "/v1/invoices/" + renewal["id"])["status"], "draft")
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 1801})
        renewal = self.b.ok("GET", "/v1/invoices/" + renewal["id"])
        self.assertNotIn(renewal["status"], ("draft",))
        self.assertTrue(renewal["number"], renewal)
        self.assertEqual([l["description"] for l in renewal["lines"]], ["Monthly", "Extra"])
        # 999 + 19 % = 1189 for the plan, the item untaxed.
        self.assertEqual(renewal["total"], 1689)

    def test_deleted_draft_gives_items_back_and_consumes_no_number(self):
        fee = self.item(amount=2500)
        d = self.draft()
        self.assertEqual(len(d["lines"]), 1)
        r = self.b.req("DELETE", "/v1/invoices/" + d["id"])
        self.assertEqual(r.status, 204, r.text)
        self.assertEqual(self.b.req("GET", "/v1/invoices/" + d["id"]).status, 404)
        self.assertIsNone(self.b.ok("GET", "/v1/invoice-items/" + fee["id"])["invoiceId"])
        self.assertIn("invoice.deleted", self.event_types("invoice."))
        d2 = self.draft()
        self.assertEqual([l["amount"] for l in d2["lines"]], [2500])
        inv = self.b.ok("POST", "/v1/invoices/%s/finalize" % d2["id"], {})
        self.assertEqual(inv["number"], "INV-000001")
        # charge_automatically without a card: pending, waits to be paid.
        self.assertEqual((inv["status"], inv["collectionMethod"], inv["dueDate"]),
                         ("pending", "charge_automatically", None))
        self.assertProblem(self.b.req("DELETE", "/v1/invoices/" + d2["id"]), 409,
                           "invoice_not_draft")

    def test_item_removed_from_a_draft_and_deleted(self):
        d = self.draft()
        # A draft is deleted, never voided.
        self.assertProblem(self.b.req("POST", "/v1/invoices/%s/void" % d["id"], {}), 409,
                           "invalid_transition")
        a = self.item(amount=700, invoiceId=d["id"])
        b = self.item(amount=300, invoiceId=d["id"])
        self.assertEqual(self.b.ok("GET", "/v1/invoices/" + d["id"])["total"], 1000)
        self.b.ok("PATCH", "/v1/invoice-items/" + a["id"], {"invoiceId": None})
        self.assertEqual(self.b.ok("GET", "/v1/invoices/" + d["id"])["total"], 300)
        self.assertEqual(self.b.req("DELETE", "/v1/invoice-items/" + b["id"]).status, 204)
        cur = self.b.ok("GET", "/v1/invoices/" + d["id"])
        self.assertEqual((cur["total"], cur["lines"]), (0, []))
        self.assertIn("invoice_item.deleted", self.event_types("invoice_item."))
        pending = self.b.ok("GET", "/v1/invoice-items?customerId=" + self.cus["id"])["data"]
        self.assertEqual([i["id"] for i in pending], [a["id"]])

    def test_mark_uncollectible_from_open_only_and_still_payable(self):
        d = self.draft()
        self.assertProblem(self.b.req("POST", "/v1/invoices/%s/mark-uncollectible" % d["id"], {}),
                           409, "invalid_transition")
        self.item(amount=1200, invoiceId=d["id"])
        inv = self.b.ok("POST", "/v1/invoices/%s/finalize" % d["id"], {})
        r = self.b.req("POST", "/v1/invoices/%s/mark-uncollectible" % inv["id"], {})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body["status"], "uncollectible")
        self.assertIn("invoice.marked_uncollectible", self.event_types("invoice."))
        listed = self.b.invoices("&status=uncollectible")
        self.assertEqual([i["id"] for i in listed], [inv["id"]])
        self.assertProblem(self.b.req("POST", "/v1/invoices/%s/mark-uncollectible" % inv["id"],
                                      {}), 409, "invalid_transition")
        paid = self.b.ok("POST", "/v1/invoices/%s/pay" % inv["id"], {"paidOutOfBand": True},
                         status=201)
        self.assertEqual(paid["status"], "paid")

    def test_bad_input_names_the_field_and_changes_nothing(self):
        self.assertProblem(self.b.req("POST", "/v1/invoice-items", {
            "customerId": self.cus["id"], "currency": "EUR", "description": "x",
            "amount": 1, "unitAmount": 1}), 400, field="amount")
        self.assertProblem(self.b.req("POST", "/v1/invoice-items", {
            "customerId": self.cus["id"], "currency": "EUR", "description": "x"}), 400,
            field="amount")
        self.assertProblem(self.b.req("POST", "/v1/invoice-items", {
            "customerId": self.cus["id"], "currency": "XXQ", "description": "x",
            "amount": 5}), 400, field="currency")
        self.assertProblem(self.b.req("POST", "/v1/invoice-items", {
            "customerId": "cus_nope", "currency": "EUR", "description": "x", "amount": 5}),
            400, field="customerId")
        self.assertProblem(self.b.req("POST", "/v1/invoice-items", {
            "customerId": self.cus["id"], "currency": "EUR", "description": "x",
            "unitAmount": 5, "quantity": 0}), 400, field="quantity")
        self.assertProblem(self.b.req("POST", "/v1/invoices", {
            "customerId": self.cus["id"], "currency": "EUR", "collectionMethod": "send_invoice"}),
            400, field="daysUntilDue")
        self.assertProblem(self.b.req("POST", "/v1/invoices", {
            "customerId": self.cus["id"], "currency": "EUR", "collectionMethod": "cash"}),
            400, field="collectionMethod")
        self.assertProblem(self.b.req("POST", "/v1/invoices", {
            "customerId": "cus_nope", "currency": "EUR"}), 400, field="customerId")
        sub = self.b.subscribe()
        self.assertProblem(self.b.req("POST", "/v1/invoice-items", {
            "customerId": self.cus["id"], "currency": "EUR", "description": "x", "amount": 5,
            "invoiceId": sub["latestInvoiceId"]}), 400, field="invoiceId")
        self.assertEqual(self.b.ok("GET", "/v1/invoice-items")["data"], [])
        self.assertEqual(len(self.b.invoices()), 1)
        # USER reads, does not write.
        r = self.s.request("POST", "/v1/invoices", {"customerId": self.cus["id"],
                                                   "currency": "EUR"}, token=self.user)
        self.assertEqual(r.status, 403, r.text)
        r = self.s.request("GET", "/v1/invoice-items", token=self.user)
        self.assertEqual(r.status, 200, r.text)


if __name__ == "__main__":
    unittest.main()
