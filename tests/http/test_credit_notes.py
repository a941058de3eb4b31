#!/usr/bin/env python3
"""HTTP suite for credit notes (issue #20 item 3), with the test provider and the
test clock:

- a partial credit note with a refund on a paid invoice: the payment shows the
  refund, the invoice its postPaymentCreditNotesAmount, numbers CN-000001...;
- a note on an open invoice lowers its amountDue (preCreditNotesAmount), and
  a refund there is refused naming the field;
- a credit to the balance pays part of the next renewal;
- the preview (GET /v1/credit-notes/preview, lines as JSON text) writes
  nothing; void gives the credit back; lists filter by invoiceId and
  customerId; events, audit rows, Idempotency-Key; errors name their field;
  USER reads and may not write;
- the list refuses an unknown or malformed parameter (400 naming it; an id
  naming nothing in the tenant is resource_missing);
- metadata on create, shown on get and list, checked as other objects';
- an invoice with a credit note that is not void is not voided (409
  invoice_has_credit_notes, nothing changed);
- a credit by quantity on a line whose amount is not unitAmount x quantity
  (a tiered line) is refused (400 credit_by_amount naming the quantity).

Reuses test_server.py's Server and Billing; runs on the backend
BILLING_TEST_BACKEND names, like http_server.
"""
import json
import os
import unittest
import urllib.parse

import test_server as ts

DAY = 86400


def setUpModule():
    if not ts.SERVER or not os.access(ts.SERVER, os.X_OK):
        raise RuntimeError("set BILLING_SERVER to the billing-server binary")


class CreditNotes(ts.ProblemAssertions):
    """A server with the test clock and the test provider; a tenant per test."""

    @classmethod
    def setUpClass(cls):
        cls.s = ts.Server(env_extra={"BILLING_TEST_CLOCK": "1"}).start()

    @classmethod
    def tearDownClass(cls):
        if cls.s.stop() != 0:
            raise AssertionError("the credit notes server did not exit cleanly")

    def setUp(self):
        self.tenant = self.s.cli("tenant", "create", "--name", self.id()[-40:]) \
            .stdout.decode().strip()
        self.b = ts.Billing(self.s, ts.make_token(ts.claims_for(self.tenant)))
        self.user = ts.make_token(ts.claims_for(self.tenant, "USER"))

    def paid_invoice(self):
        """A customer who pays by card and their first invoice: 999 + 190 tax."""
        cus = self.b.customer_new(defaultPaymentMethod="pm_card_visa")
        sub = self.b.subscribe(customer=cus)
        inv = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual((inv["status"], inv["total"], inv["amountPaid"]), ("paid", 1189, 1189))
        return cus, sub, inv

    def note(self, body, status=201, **kw):
        return self.b.ok("POST", "/v1/credit-notes", body, status=status, **kw)

    def event_types(self, prefix):
        return [e["type"] for e in self.b.ok("GET", "/v1/events?limit=100")["data"]
                if e["type"].startswith(prefix)]

    def test_partial_note_with_a_refund_on_a_paid_invoice(self):
        cus, _, inv = self.paid_invoice()
        line = inv["lines"][0]
        self.assertTrue(line["id"].startswith("il_"), line)
        self.assertEqual((inv["preCreditNotesAmount"], inv["postPaymentCreditNotesAmount"]),
                         (0, 0))
        n = self.note({"invoiceId": inv["id"], "reason": "order_change", "memo": "Late",
                       "lines": [{"invoiceLineId": line["id"], "amount": 500}],
                       "refundAmount": 595})
        self.assertTrue(n["id"].startswith("cn_"), n)
        # 500 of the line and its tax: 19 % of 500 = 95.
        self.assertEqual((n["object"], n["number"], n["status"], n["type"], n["reason"],
                          n["memo"], n["invoiceId"], n["customerId"], n["currency"]),
                         ("credit_note", "CN-000001", "issued", "post_payment", "order_change",
                          "Late", inv["id"], cus["id"], "EUR"))
        self.assertEqual((n["subtotal"], n["tax"], n["total"], n["refundAmount"],
                          n["creditAmount"], n["outOfBandAmount"]), (500, 95, 595, 595, 0, 0))
        self.assertTrue(n["refundId"].startswith("re_"), n)
        self.assertEqual(n["lines"]["data"], [{"invoiceLineId": line["id"],
                                               "description": line["description"],
                                               "quantity": None, "amount": 500,
                                               "discountAmounts": [],
                                               "amountExcludingTax": 500,
                                               "taxAmount": 95, "taxAmounts": [
                                                   {"taxRateId": None, "amount": 95,
                                                    "inclusive": False,
                                                    "taxableAmount": 500}]}])
        # The product's taxRate (no txr_ rate): taxRateId null, as the invoice's.
        self.assertEqual((n["totalTaxAmounts"], n["totalDiscountAmounts"]),
                         ([{"taxRateId": None, "amount": 95, "inclusive": False,
                            "taxableAmount": 500}], []))
        pay = self.b.ok("GET", "/v1/payments?invoiceId=" + inv["id"])["data"]
        self.assertEqual(len(pay), 1)
        self.assertEqual((pay[0]["refundedAmount"], pay[0]["status"]),
                         (595, "partially_refunded"))
        inv = self.b.ok("GET", "/v1/invoices/" + inv["id"])
        self.assertEqual((inv["postPaymentCreditNotesAmount"], inv["preCreditNotesAmount"],
                          inv["amountPaid"], inv["amountDue"]), (595, 0, 1189, 0))
        self.assertEqual(self.b.ok("GET", "/v1/credit-notes/" + n["id"]), n)
        self.assertEqual([x["id"] for x in self.b.ok(
            "GET", "/v1/credit-notes?invoiceId=" + inv["id"])["data"]], [n["id"]])
        self.assertEqual([x["id"] for x in self.b.ok(
            "GET", "/v1/credit-notes?customerId=" + cus["id"])["data"]], [n["id"]])
        self.assertEqual(self.b.ok("GET", "/v1/credit-notes?customerId=" +
                                   self.b.customer["id"])["data"], [])
        self.assertIn("credit_note.created", self.event_types("credit_note."))
        ops = [a.get("operation") for a in self.b.ok("GET", "/v1/audit-log?limit=100")["data"]]
        self.assertIn("credit_notes.create", ops)
        # A note that refunded through the provider is not voided.
        r = self.b.req("POST", "/v1/credit-notes/%s/void" % n["id"])
        self.assertProblem(r, 409, "credit_note_refunded")
        # More refund than is left: 1189 - 595 = 594.
        r = self.b.req("POST", "/v1/credit-notes", {
            "invoiceId": inv["id"], "lines": [{"invoiceLineId": line["id"], "amount": 499}],
            "refundAmount": 594})
        self.assertEqual(r.status, 201, r.text)
        r = self.b.req("POST", "/v1/credit-notes", {"invoiceId": inv["id"], "amount": 1,
                                                     "refundAmount": 1})
        self.assertProblem(r, 400, field="amount")

    def test_note_on_an_open_invoice_lowers_its_amount_due(self):
        sub = self.b.subscribe()
        inv = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual((inv["status"], inv["amountDue"]), ("pending", 1189))
        r = self.b.req("POST", "/v1/credit-notes", {"invoiceId": inv["id"], "amount": 189,
                                                     "refundAmount": 189})
        self.assertProblem(r, 400, "invalid", "refundAmount")
        n = self.note({"invoiceId": inv["id"], "amount": 189})
        self.assertEqual((n["type"], n["total"], n["creditAmount"], n["refundAmount"]),
                         ("pre_payment", 189, 0, 0))
        inv = self.b.ok("GET", "/v1/invoices/" + inv["id"])
        self.assertEqual((inv["status"], inv["amountDue"], inv["preCreditNotesAmount"]),
                         ("pending", 1000, 189))
        # Its void raises the amount due again.
        v = self.b.ok("POST", "/v1/credit-notes/%s/void" % n["id"])
        self.assertEqual((v["status"], v["version"]), ("void", 2))
        self.assertIsNotNone(v["voidedAt"])
        inv = self.b.ok("GET", "/v1/invoices/" + inv["id"])
        self.assertEqual((inv["amountDue"], inv["preCreditNotesAmount"]), (1189, 0))
        self.assertEqual(sorted(self.event_types("credit_note.")),
                         ["credit_note.created", "credit_note.voided"])

    def test_credit_to_the_balance_pays_part_of_the_next_renewal(self):
        cus, sub, inv = self.paid_invoice()
        n = self.note({"invoiceId": inv["id"], "amount": 500, "creditAmount": 500,
                       "reason": "product_unsatisfactory"})
        self.assertEqual((n["creditAmount"], n["total"]), (500, 500))
        # A lump amount: the invoice's tax in proportion, 500 x 190 / 1189 = 79.9 -> 80,
        # on its one rate (the product's), whose net 999 in proportion: 420.1 -> 420.
        self.assertEqual((n["tax"], n["totalTaxAmounts"], n["totalDiscountAmounts"]),
                         (80, [{"taxRateId": None, "amount": 80, "inclusive": False,
                                "taxableAmount": 420}], []))
        cus = self.b.ok("GET", "/v1/customers/" + cus["id"])
        self.assertEqual(cus["balances"], {"EUR": -500})
        txns = self.b.ok("GET", "/v1/customers/%s/balance-transactions" % cus["id"])["data"]
        self.assertEqual([(t["type"], t["amount"], t["creditNoteId"]) for t in txns],
                         [("credit_note", -500, n["id"])])
        self.assertIn("customer.balance_changed", self.event_types("customer."))
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 32 * DAY})
        invs = self.b.invoices("&subscriptionId=" + sub["id"])
        renewal = [i for i in invs if i["id"] != inv["id"]][0]
        self.assertEqual((renewal["status"], renewal["total"], renewal["startingBalance"],
                          renewal["amountPaid"]), ("paid", 1189, -500, 689))
        cus = self.b.ok("GET", "/v1/customers/" + cus["id"])
        self.assertEqual(cus["balances"], {"EUR": 0})

    def test_preview_computes_and_writes_nothing(self):
        _, _, inv = self.paid_invoice()
        lines = json.dumps([{"invoiceLineId": inv["lines"][0]["id"], "quantity": 1}])
        q = urllib.parse.urlencode({"invoiceId": inv["id"], "lines": lines,
                                    "outOfBandAmount": 1189})
        p = self.s.request("GET", "/v1/credit-notes/preview?" + q, token=self.user).body
        self.assertEqual((p["id"], p["number"], p["total"], p["tax"], p["outOfBandAmount"]),
                         (None, None, 1189, 190, 1189))
        self.assertEqual(self.b.ok("GET", "/v1/credit-notes")["data"], [])
        r = self.b.req("GET", "/v1/credit-notes/preview?invoiceId=%s&lines=nope" % inv["id"])
        self.assertProblem(r, 400, field="lines")
        # The first note written still takes the first number.
        n = self.note({"invoiceId": inv["id"], "amount": 10, "outOfBandAmount": 10})
        self.assertEqual(n["number"], "CN-000001")

    def test_errors_name_their_field_and_change_nothing(self):
        _, _, inv = self.paid_invoice()
        lid = inv["lines"][0]["id"]
        cases = [
            ({"invoiceId": inv["id"], "amount": 1190}, "amount"),
            ({"invoiceId": inv["id"], "lines": [{"invoiceLineId": lid, "amount": 1000}]},
             "lines[0].amount"),
            ({"invoiceId": inv["id"], "lines": [{"invoiceLineId": lid + "9", "amount": 1}]},
             "lines[0].invoiceLineId"),
            ({"invoiceId": inv["id"], "lines": [{"invoiceLineId": lid, "amount": 1,
                                                 "price": 2}]}, "lines[0]"),
            ({"invoiceId": inv["id"], "lines": [1]}, "lines"),
            ({"invoiceId": inv["id"], "amount": 100, "refundAmount": 50, "creditAmount": 40},
             "refundAmount"),
            ({"invoiceId": inv["id"], "amount": 100, "reason": "bored"}, "reason"),
            ({"invoiceId": "in_nope", "amount": 100}, "invoiceId"),
            ({"amount": 100}, "invoiceId"),
        ]
        for body, field in cases:
            with self.subTest(field=field):
                self.assertProblem(self.b.req("POST", "/v1/credit-notes", body), 400,
                                   field=field)
        r = self.s.request("POST", "/v1/credit-notes", {"invoiceId": inv["id"], "amount": 1},
                           token=self.user)
        self.assertProblem(r, 403)
        self.assertProblem(self.b.req("GET", "/v1/credit-notes/cn_nope"), 404)
        self.assertProblem(self.b.req("POST", "/v1/credit-notes/cn_nope/void"), 404)
        self.assertEqual(self.b.ok("GET", "/v1/credit-notes")["data"], [])
        self.assertEqual(self.event_types("credit_note."), [])
        # A draft is not credited.
        d = self.b.ok("POST", "/v1/invoices", {"customerId": self.b.customer["id"],
                                                "currency": "EUR"})
        self.assertProblem(self.b.req("POST", "/v1/credit-notes",
                                      {"invoiceId": d["id"], "amount": 1}),
                           409, "invalid_transition")

    def test_list_refuses_unknown_and_malformed_parameters(self):
        _, _, inv = self.paid_invoice()
        self.note({"invoiceId": inv["id"], "amount": 100})
        for query, field, code in (
                ("nope=1", "nope", "unknown_parameter"),
                ("invoiceID=" + inv["id"], "invoiceID", "unknown_parameter"),
                ("invoiceId=nope", "invoiceId", "resource_missing"),
                ("invoiceId=in_0000000000000000000000000", "invoiceId", "resource_missing"),
                ("customerId=cus_", "customerId", "resource_missing"),
                ("customerId=cus_0000000000000000000000000", "customerId", "resource_missing"),
                ("status=open", "status", None),
                ("type=refund", "type", None),
                ("sortBy=memo", "sortBy", None),
                ("limit=0", "limit", None)):
            self.assertProblem(self.b.req("GET", "/v1/credit-notes?" + query), 400, code,
                               field)
        # Another tenant's invoice names nothing here.
        other = ts.Billing(self.s, ts.make_token(ts.claims_for(
            self.s.cli("tenant", "create", "--name", "Other").stdout.decode().strip())))
        self.assertProblem(other.req("GET", "/v1/credit-notes?invoiceId=" + inv["id"]), 400,
                           "resource_missing", "invoiceId")
        got = self.b.ok("GET", "/v1/credit-notes?status=issued&type=post_payment&invoiceId=" +
                        inv["id"])["data"]
        self.assertEqual(len(got), 1)

    def test_metadata_on_create_shown_on_get_and_list(self):
        _, _, inv = self.paid_invoice()
        n = self.note({"invoiceId": inv["id"], "amount": 100,
                       "metadata": {"ticket": "T-42", "agent": "ada"}})
        self.assertEqual(n["metadata"], {"ticket": "T-42", "agent": "ada"})
        self.assertEqual(self.b.ok("GET", "/v1/credit-notes/" + n["id"])["metadata"],
                         n["metadata"])
        self.assertEqual([x["metadata"] for x in self.b.ok("GET", "/v1/credit-notes")["data"]],
                         [n["metadata"]])
        plain = self.note({"invoiceId": inv["id"], "amount": 100})
        self.assertEqual(plain["metadata"], {})
        # The same rules as other objects' metadata; nothing is written.
        for md in ({"k": 1}, {"": "v"}, {"k" * 41: "v"}, {"k": "v" * 501}, "text"):
            self.assertProblem(self.b.req("POST", "/v1/credit-notes",
                                          {"invoiceId": inv["id"], "amount": 100,
                                           "metadata": md}), 400, field="metadata")
        self.assertEqual(len(self.b.ok("GET", "/v1/credit-notes")["data"]), 2)
        # An Idempotency-Key replayed with other metadata is a conflict.
        body = {"invoiceId": inv["id"], "amount": 50, "metadata": {"a": "1"}}
        self.assertEqual(self.b.req("POST", "/v1/credit-notes", body,
                                    headers={"Idempotency-Key": "md-1"}).status, 201)
        body["metadata"] = {"a": "2"}
        self.assertProblem(self.b.req("POST", "/v1/credit-notes", body,
                                      headers={"Idempotency-Key": "md-1"}), 409)

    def test_void_of_an_invoice_with_a_credit_note_is_refused(self):
        sub = self.b.subscribe()
        inv = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual(inv["status"], "pending")
        n = self.note({"invoiceId": inv["id"], "amount": 189})
        r = self.b.req("POST", "/v1/invoices/%s/void" % inv["id"])
        self.assertProblem(r, 409, "invoice_has_credit_notes")
        after = self.b.ok("GET", "/v1/invoices/" + inv["id"])
        self.assertEqual((after["status"], after["amountDue"], after["version"]),
                         ("pending", 1000, inv["version"] + 1))
        self.assertNotIn("invoice.voided", self.event_types("invoice."))
        # Once the note is voided, the invoice may be.
        self.b.ok("POST", "/v1/credit-notes/%s/void" % n["id"])
        self.assertEqual(self.b.ok("POST", "/v1/invoices/%s/void" % inv["id"])["status"],
                         "void")

    def test_by_quantity_on_a_tiered_line_is_refused(self):
        plan = self.b.ok("POST", "/v1/plans", {
            "productId": self.b.product["id"], "code": "TIERED", "name": "Tiered",
            "interval": "MONTH", "billingScheme": "tiered", "tiersMode": "graduated",
            "tiers": [{"upTo": 5, "unitAmount": 500}, {"upTo": None, "unitAmount": 400}]})
        cus = self.b.customer_new(defaultPaymentMethod="pm_card_visa")
        sub = self.b.ok("POST", "/v1/subscriptions", {"customerId": cus["id"],
                                                       "planId": plan["id"], "quantity": 7})
        inv = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        line = inv["lines"][0]
        self.assertEqual((line["amount"], line["quantity"], line["unitAmount"]), (3300, 7, 0))
        r = self.b.req("POST", "/v1/credit-notes", {
            "invoiceId": inv["id"], "lines": [{"invoiceLineId": line["id"], "quantity": 2}]})
        p = self.assertProblem(r, 400, "credit_by_amount", "lines[0].quantity")
        self.assertIn("amount", p["detail"])
        self.assertEqual(self.b.ok("GET", "/v1/credit-notes")["data"], [])
        # By amount it is credited.
        n = self.note({"invoiceId": inv["id"],
                       "lines": [{"invoiceLineId": line["id"], "amount": 800}]})
        self.assertEqual(n["subtotal"], 800)

    def test_idempotency_key_replays_the_note(self):
        _, _, inv = self.paid_invoice()
        body = {"invoiceId": inv["id"], "amount": 100}
        r1 = self.b.req("POST", "/v1/credit-notes", body, headers={"Idempotency-Key": "cn-1"})
        r2 = self.b.req("POST", "/v1/credit-notes", body, headers={"Idempotency-Key": "cn-1"})
        self.assertEqual((r1.status, r2.status), (201, 201), r2.text)
        self.assertEqual(r1.body["id"], r2.body["id"])
        self.assertEqual(r2.header("Idempotent-Replayed"), "true")
        r3 = self.b.req("POST", "/v1/credit-notes", {"invoiceId": inv["id"], "amount": 101},
                        headers={"Idempotency-Key": "cn-1"})
        self.assertProblem(r3, 409)
        self.assertEqual(len(self.b.ok("GET", "/v1/credit-notes")["data"]), 1)


if __name__ == "__main__":
    unittest.main()
