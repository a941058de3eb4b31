#!/usr/bin/env python3
"""HTTP suite for customer balances (cbtxn_, issue #20 items 1 and 3):
GET and POST /v1/customers/{id}/balance-transactions, the customer's
balances, and the invoice's startingBalance / endingBalance / amountDue.

- the issue's case: a customer paying 1189 a month cancels at once with
  prorate: true; the -1189 invoice is paid with amountDue 0 (never "paid
  negative"), its credit goes to the balance, and the customer's next
  invoice of 1189 is charged 0 while the balance goes back to 0;
- a manual adjustment (ADMIN, description required, Idempotency-Key),
  what it refuses (400 naming the field, 404 for an unknown customer,
  customerId in the body, USER), the list below the customer, the events
  customer.balance_changed and customer_balance_transaction.created, and no
  route of the transactions' own (/v1/customer-balance-transactions is 404);
- the preview of a subscription's next invoice shows the invoice item
  waiting for it and applies the balance (startingBalance, endingBalance,
  amountDue) as the renewal then does;
- pause with prorationBehavior create_prorations credits the paid period,
  which the resume's invoice takes; other values are 400;
- every answer conforms to the OpenAPI document (test_server.py checks).

Reuses test_server.py's Server and Billing helpers; runs on the backend
BILLING_TEST_BACKEND names, like http_server.
"""
import unittest

import tenant_case
import test_server as ts


class Balances(tenant_case.TenantCase):
    """A server with the test clock; a tenant per test."""

    def setUp(self):
        super().setUp()
        self.cus = self.b.customer_new(defaultPaymentMethod="pm_card_visa")
        self.path = "/v1/customers/%s/balance-transactions" % self.cus["id"]

    def balances(self):
        return self.b.ok("GET", "/v1/customers/" + self.cus["id"])["balances"]

    def txns(self, query=""):
        return self.b.ok("GET", self.path + "?sortBy=createdAt&order=asc" + query)["data"]

    def test_cancel_with_credit_then_next_invoice_is_charged_0_and_balance_back_to_0(self):
        sub = self.b.subscribe(customer=self.cus)
        first = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual((first["total"], first["status"], first["amountPaid"]),
                         (1189, "paid", 1189))
        self.assertEqual((first["startingBalance"], first["endingBalance"]), (0, 0))
        # Canceled in the same second: the whole period is credited.
        canceled = self.b.ok("POST", "/v1/subscriptions/%s/cancel" % sub["id"],
                             {"prorate": True})
        credit = self.b.ok("GET", "/v1/invoices/" + canceled["latestInvoiceId"])
        self.assertEqual((credit["total"], credit["amountDue"], credit["amountPaid"],
                          credit["status"]), (-1189, 0, 0, "paid"))
        self.assertEqual((credit["startingBalance"], credit["endingBalance"]), (0, -1189))
        self.assertEqual(self.balances(), {"EUR": -1189})

        nxt = self.b.subscribe(customer=self.cus)
        inv = self.b.ok("GET", "/v1/invoices/" + nxt["latestInvoiceId"])
        self.assertEqual((inv["total"], inv["amountDue"], inv["amountPaid"], inv["status"]),
                         (1189, 0, 0, "paid"))
        self.assertEqual((inv["startingBalance"], inv["endingBalance"]), (-1189, 0))
        self.assertEqual(self.balances(), {"EUR": 0})
        # Nothing was charged for it.
        pays = self.b.ok("GET", "/v1/payments?invoiceId=" + inv["id"])["data"]
        self.assertEqual(pays, [])

        got = self.txns()
        self.assertEqual([(t["type"], t["amount"], t["endingBalance"], t["invoiceId"])
                          for t in got],
                         [("applied_to_invoice", -1189, -1189, credit["id"]),
                          ("applied_to_invoice", 1189, 0, inv["id"])])
        self.assertTrue(all(t["id"].startswith("cbtxn_") and
                            t["object"] == "customer_balance_transaction" for t in got))

    def test_adjustment_moves_the_balance_and_is_listed_below_the_customer(self):
        r = self.b.req("POST", self.path, {"amount": -500, "currency": "eur",
                                           "description": "  Sorry for the outage  "},
                       headers={"Idempotency-Key": "adj-1"})
        self.assertEqual(r.status, 201, r.text)
        t = r.body
        self.assertEqual((t["type"], t["amount"], t["currency"], t["description"],
                          t["endingBalance"], t["customerId"], t["invoiceId"]),
                         ("adjustment", -500, "EUR", "Sorry for the outage", -500,
                          self.cus["id"], None))
        # A replay answers the same transaction and moves nothing.
        again = self.b.req("POST", self.path, {"amount": -500, "currency": "eur",
                                               "description": "  Sorry for the outage  "},
                           headers={"Idempotency-Key": "adj-1"})
        self.assertEqual((again.status, again.body["id"]), (201, t["id"]), again.text)
        self.b.ok("POST", self.path, {"amount": 200, "currency": "USD",
                                      "description": "Late fee"}, status=201)
        self.assertEqual(self.balances(), {"EUR": -500, "USD": 200})
        # The customer's version does not move with its balance.
        self.assertEqual(self.b.ok("GET", "/v1/customers/" + self.cus["id"])["version"],
                         self.cus["version"])
        self.assertEqual([x["id"] for x in self.txns("&currency=EUR")], [t["id"]])
        user_list = self.s.request("GET", self.path, token=self.user)
        self.assertEqual((user_list.status, len(user_list.body["data"])), (200, 2))
        changed = self.b.ok("GET", "/v1/events?type=customer.balance_changed")["data"]
        self.assertEqual(len(changed), 2)
        created = self.b.ok(
            "GET", "/v1/events?type=customer_balance_transaction.created")["data"]
        self.assertEqual(len(created), 2)
        # The next invoice takes the credit: 1189 - 500.
        sub = self.b.subscribe(customer=self.cus)
        inv = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual((inv["startingBalance"], inv["endingBalance"], inv["amountPaid"]),
                         (-500, 0, 689))
        self.assertEqual(self.balances(), {"EUR": 0, "USD": 200})

    def test_adjustment_refuses_bad_input_and_changes_nothing(self):
        cases = [({"amount": 0, "currency": "EUR", "description": "x"}, "amount"),
                 ({"amount": 5, "currency": "EURO", "description": "x"}, "currency"),
                 ({"amount": 5, "currency": "EUR"}, "description"),
                 ({"amount": 5, "currency": "EUR", "description": " "}, "description"),
                 ({"amount": 5, "currency": "EUR", "description": "x", "type": "credit_note"},
                  "type"),
                 ({"amount": 5, "currency": "EUR", "description": "x",
                   "endingBalance": 9}, "endingBalance")]
        for body, field in cases:
            r = self.b.req("POST", self.path, body)
            self.assertEqual(r.status, 400, (body, r.text))
            self.assertIn(field, [e["field"] for e in r.body["errors"]], body)
        r = self.b.req("POST", self.path, {"amount": 5, "currency": "EUR", "description": "x",
                                           "customerId": self.cus["id"]})
        self.assertProblem(r, 400, "unknown_field", "customerId")
        r = self.s.request("POST", self.path, {"amount": 5, "currency": "EUR",
                                               "description": "x"}, token=self.user)
        self.assertProblem(r, 403, "forbidden")
        r = self.b.req("POST", "/v1/customers/cus_01jc0000000000000000000000/balance-transactions",
                       {"amount": 5, "currency": "EUR", "description": "x"})
        self.assertProblem(r, 404)
        r = self.b.req("GET", "/v1/customers/cus_01jc0000000000000000000000/balance-transactions")
        self.assertProblem(r, 404)
        self.assertEqual(self.txns(), [])
        self.assertEqual(self.balances(), {})

    def test_pause_with_prorations_credits_the_paid_days_and_resume_takes_them(self):
        sub = self.b.subscribe(customer=self.cus)
        r = self.b.req("POST", "/v1/subscriptions/%s/pause" % sub["id"],
                       {"prorationBehavior": "always_invoice"})
        self.assertProblem(r, 400, field="prorationBehavior")
        # Paused in the same second: the whole paid period is credited.
        self.b.ok("POST", "/v1/subscriptions/%s/pause" % sub["id"],
                  {"prorationBehavior": "create_prorations"})
        self.assertEqual(self.balances(), {"EUR": -1189})
        got = self.txns()
        self.assertEqual([(t["type"], t["amount"]) for t in got], [("proration_credit", -1189)])
        resumed = self.b.ok("POST", "/v1/subscriptions/%s/resume" % sub["id"], {})
        inv = self.b.ok("GET", "/v1/invoices/" + resumed["latestInvoiceId"])
        self.assertEqual((inv["total"], inv["startingBalance"], inv["amountDue"],
                          inv["amountPaid"], inv["status"]), (1189, -1189, 0, 0, "paid"))
        self.assertEqual(self.balances(), {"EUR": 0})

    def test_preview_shows_the_waiting_item_and_applies_the_balance(self):
        sub = self.b.subscribe(customer=self.cus)
        self.b.ok("POST", "/v1/invoice-items", {"customerId": self.cus["id"], "currency": "EUR",
                                                "description": "Setup fee", "amount": 5000,
                                                "subscriptionId": sub["id"]})
        self.b.ok("POST", self.path, {"amount": -500, "currency": "EUR",
                                      "description": "Goodwill"}, status=201)
        pv = self.b.ok("GET", "/v1/invoices/preview?subscriptionId=" + sub["id"])
        # 999 + 19 % = 1189 for the plan, the item untaxed; the credit of 500
        # applied as finalizing will.
        self.assertEqual([(l["description"], l["amount"]) for l in pv["lines"]],
                         [("Monthly", 999), ("Setup fee", 5000)])
        self.assertEqual((pv["id"], pv["total"], pv["startingBalance"], pv["endingBalance"],
                          pv["amountDue"]), (None, 6189, -500, 0, 5689))
        self.assertEqual(self.balances(), {"EUR": -500})
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 32 * 86400})
        renewal = self.b.ok("GET", "/v1/invoices/" + self.b.ok(
            "GET", "/v1/subscriptions/" + sub["id"])["latestInvoiceId"])
        self.assertEqual([(l["description"], l["amount"]) for l in renewal["lines"]],
                         [(l["description"], l["amount"]) for l in pv["lines"]])
        self.assertEqual((renewal["total"], renewal["startingBalance"],
                          renewal["endingBalance"], renewal["amountPaid"]),
                         (6189, -500, 0, 5689))
        self.assertEqual(self.balances(), {"EUR": 0})

    def test_transactions_have_no_routes_of_their_own(self):
        for method in ("GET", "POST"):
            r = self.b.req(method, "/v1/customer-balance-transactions",
                           {} if method == "POST" else None, check=False)
            self.assertEqual(r.status, 404, r.text)


if __name__ == "__main__":
    unittest.main()
