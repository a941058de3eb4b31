#!/usr/bin/env python3
"""HTTP suite of session 8's payment work (issue #18 items 4 and 5), with the
test provider:

- the invoice shows nextAction (the same object as its payment's) while a
  payment of it awaits the customer's action, null once it does not, in the
  invoice's JSON (get, list, the invoice.payment_action_required event) and
  in the OpenAPI document's Invoice schema;
- the tenant's own expiry of payments awaiting action
  (actionExpirySeconds on PUT/GET /v1/dunning-policy): the run fails such a
  payment after that time (authentication_expired, the subscription
  past_due); bad values are 400 with the field and change nothing; ADMIN
  only; a PUT without it goes back to the host's default;
- incomplete subscriptions (item 5): paymentBehavior on POST
  /v1/subscriptions (allow_incomplete, default_incomplete,
  error_if_incomplete: 402 with providerCode and resourceId, the
  subscription incomplete_expired and its invoice void; past_due_on_failure,
  the default), paid in time -> active, the run's expiry at 23 h, the status
  filter, bad values 400 with the field, the OpenAPI enum.

Derives from tenant_case.TenantCase (a server per class with the test
clock, a tenant per test); runs on the backend BILLING_TEST_BACKEND names,
like http_server.
"""
import json
import unittest

import tenant_case

HOUR = 3600


class Incomplete(tenant_case.TenantCase):
    """A server with the test clock and the test provider; a tenant per test."""

    SERVER_ENV = tenant_case.WEBHOOK_ENV

    def payments(self, invoice):
        return self.b.ok("GET", "/v1/payments?invoiceId=" + invoice)["data"]

    def events(self, kind):
        return self.b.ok("GET", "/v1/events?limit=100&type=" + kind)["data"]

    # ---------------------------------------------------------------- nextAction

    def test_the_invoice_shows_its_payments_next_action(self):
        c = self.b.customer_new(defaultPaymentMethod="pm_card_authenticationRequired")
        sub = self.b.subscribe(customer=c)
        inv_id = sub["latestInvoiceId"]
        pay = self.payments(inv_id)[0]
        self.assertEqual(pay["status"], "requires_action")
        inv = self.b.ok("GET", "/v1/invoices/" + inv_id)
        self.assertEqual(inv["nextAction"], pay["nextAction"])
        self.assertEqual(inv["nextAction"]["type"], "use_stripe_sdk")
        self.assertTrue(inv["nextAction"]["clientSecret"].startswith(
            pay["providerRef"] + "_secret_"), inv)
        listed = self.b.ok("GET", "/v1/invoices?customerId=" + c["id"])["data"]
        self.assertEqual([i["nextAction"] for i in listed], [pay["nextAction"]])
        ev = self.events("invoice.payment_action_required")
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0]["data"]["nextAction"], pay["nextAction"])
        # canceled: nothing awaits the customer any more
        self.b.ok("POST", "/v1/payments/%s/cancel" % pay["id"], {})
        self.assertIsNone(self.b.ok("GET", "/v1/invoices/" + inv_id)["nextAction"])

    def test_an_invoice_paid_at_once_has_no_next_action(self):
        c = self.b.customer_new(defaultPaymentMethod="pm_card_visa")
        sub = self.b.subscribe(customer=c)
        inv = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual(inv["status"], "paid")
        self.assertIn("nextAction", inv)
        self.assertIsNone(inv["nextAction"])

    # ---------------------------------------------------------------- actionExpirySeconds

    def test_the_tenant_sets_when_a_payment_awaiting_action_expires(self):
        pol = self.b.ok("GET", "/v1/dunning-policy")
        self.assertIsNone(pol["actionExpirySeconds"])   # the host's: 23 hours
        r = self.b.req("PUT", "/v1/dunning-policy", {"retryDays": [1, 3],
                                                     "actionExpirySeconds": 2 * HOUR})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body["actionExpirySeconds"], 2 * HOUR)
        self.assertEqual(self.b.ok("GET", "/v1/dunning-policy")["actionExpirySeconds"], 2 * HOUR)
        c = self.b.customer_new(defaultPaymentMethod="pm_card_authenticationRequired")
        sub = self.b.subscribe(customer=c)
        pay = self.payments(sub["latestInvoiceId"])[0]
        self.assertEqual(pay["status"], "requires_action")
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 2 * HOUR - 1})
        self.assertEqual(self.payments(sub["latestInvoiceId"])[0]["status"], "requires_action")
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 1})
        p = self.payments(sub["latestInvoiceId"])[0]
        self.assertEqual((p["status"], p["failureCode"]), ("failed", "authentication_expired"))
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions/" + sub["id"])["status"],
                         "past_due")

    def test_a_bad_expiry_is_refused_and_changes_nothing(self):
        self.b.ok("PUT", "/v1/dunning-policy", {"retryDays": [1], "actionExpirySeconds": 600})
        for bad in (59, 0, -5, 30 * 86400 + 1, "1h"):
            r = self.b.req("PUT", "/v1/dunning-policy", {"retryDays": [2],
                                                         "actionExpirySeconds": bad})
            self.assertProblem(r, 400, field="actionExpirySeconds")
        pol = self.b.ok("GET", "/v1/dunning-policy")
        self.assertEqual((pol["retryDays"], pol["actionExpirySeconds"]), ([1], 600))
        self.assertProblem(self.s.request("PUT", "/v1/dunning-policy",
                                          {"retryDays": [1], "actionExpirySeconds": 60},
                                          token=self.user), 403)
        # PUT replaces the whole policy: without it, the host's default again
        self.assertIsNone(self.b.ok("PUT", "/v1/dunning-policy",
                                    {"retryDays": [1]})["actionExpirySeconds"])

    # ---------------------------------------------------------------- paymentBehavior

    def sub(self, sid):
        return self.b.ok("GET", "/v1/subscriptions/" + sid)

    def invoice(self, iid):
        return self.b.ok("GET", "/v1/invoices/" + iid)

    def test_allow_incomplete_then_the_run_expires_it(self):
        c = self.b.customer_new(defaultPaymentMethod="pm_card_chargeDeclined")
        sub = self.b.subscribe(customer=c, paymentBehavior="allow_incomplete")
        self.assertEqual(sub["status"], "incomplete")
        inv = self.invoice(sub["latestInvoiceId"])
        self.assertEqual((inv["status"], inv["nextAttemptAt"]), ("failed", None))
        listed = self.b.ok("GET", "/v1/subscriptions?status=incomplete")["data"]
        self.assertEqual([s["id"] for s in listed], [sub["id"]])
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 23 * HOUR - 1})
        self.assertEqual(self.sub(sub["id"])["status"], "incomplete")
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 1})
        ended = self.sub(sub["id"])
        self.assertEqual(ended["status"], "incomplete_expired")
        self.assertIsNotNone(ended["endedAt"])
        voided = self.invoice(sub["latestInvoiceId"])
        self.assertEqual((voided["status"], voided["number"]), ("void", inv["number"]))
        self.assertEqual(len(self.events("subscription.incomplete_expired")), 1)
        listed = self.b.ok("GET", "/v1/subscriptions?status=incomplete_expired")["data"]
        self.assertEqual([s["id"] for s in listed], [sub["id"]])

    def test_default_incomplete_paid_in_time_is_active(self):
        c = self.b.customer_new(defaultPaymentMethod="pm_card_visa")
        sub = self.b.subscribe(customer=c, paymentBehavior="default_incomplete")
        self.assertEqual(sub["status"], "incomplete")
        self.assertEqual(self.payments(sub["latestInvoiceId"]), [])   # nothing charged
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 22 * HOUR})
        self.b.ok("POST", "/v1/invoices/%s/pay" % sub["latestInvoiceId"], {}, status=201)
        self.assertEqual(self.sub(sub["id"])["status"], "active")
        self.assertEqual(len(self.events("subscription.activated")), 1)
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 2 * HOUR})
        self.assertEqual(self.sub(sub["id"])["status"], "active")

    def test_error_if_incomplete_is_402_naming_the_subscription(self):
        c = self.b.customer_new(defaultPaymentMethod="pm_card_chargeDeclined")
        r = self.b.req("POST", "/v1/subscriptions",
                       {"customerId": c["id"], "planId": self.b.monthly["id"],
                        "paymentBehavior": "error_if_incomplete"})
        p = self.assertProblem(r, 402, "declined")
        self.assertEqual(p["providerCode"], "card_declined")
        sub = self.sub(p["resourceId"])
        self.assertEqual(sub["status"], "incomplete_expired")
        inv = self.invoice(sub["latestInvoiceId"])
        self.assertEqual(inv["status"], "void")
        self.assertTrue(inv["number"])
        pays = self.payments(inv["id"])
        self.assertEqual([x["status"] for x in pays], ["failed"])
        # the next invoice takes the next number: nothing was skipped
        ok = self.b.subscribe(customer=self.b.customer_new(defaultPaymentMethod="pm_card_visa"),
                              paymentBehavior="error_if_incomplete")
        self.assertEqual(ok["status"], "active")
        nxt = self.invoice(ok["latestInvoiceId"])["number"]
        self.assertEqual(int(nxt[-6:]), int(inv["number"][-6:]) + 1)

    def test_the_default_behavior_is_todays(self):
        c = self.b.customer_new(defaultPaymentMethod="pm_card_chargeDeclined")
        self.assertEqual(self.b.subscribe(customer=c)["status"], "past_due")
        c = self.b.customer_new(defaultPaymentMethod="pm_card_chargeDeclined")
        self.assertEqual(self.b.subscribe(customer=c, paymentBehavior="past_due_on_failure")
                         ["status"], "past_due")

    def test_a_bad_behavior_or_status_is_400(self):
        c = self.b.customer_new(defaultPaymentMethod="pm_card_visa")
        for bad in ("sometimes", "", 1, None):
            r = self.b.req("POST", "/v1/subscriptions",
                           {"customerId": c["id"], "planId": self.b.monthly["id"],
                            "paymentBehavior": bad})
            self.assertProblem(r, 400, field="paymentBehavior")
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions?customerId=" + c["id"])["data"], [])
        self.assertProblem(self.b.req("GET", "/v1/subscriptions?status=incomplete_expiredx"),
                           400, field="status")

    def test_openapi_names_the_statuses_and_the_behavior(self):
        doc = json.dumps(self.s.request("GET", "/v1/openapi.json").body)
        self.assertIn("incomplete_expired", doc)
        self.assertIn("paymentBehavior", doc)
        self.assertIn("error_if_incomplete", doc)

    def test_openapi_invoice_schema_names_next_action(self):
        doc = self.s.request("GET", "/v1/openapi.json").body
        self.assertIn("nextAction", json.dumps(doc["components"]["schemas"]["Invoice"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
