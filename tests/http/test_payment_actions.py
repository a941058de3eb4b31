#!/usr/bin/env python3
"""HTTP suite for payments that await the customer's action (3-D Secure,
issue #18 item 4), with the test provider (pm_card_authenticationRequired):

- nextAction (type, clientSecret, redirectUrl) on the payment while it awaits
  action, null after;
- POST /v1/payments/{id}/cancel cancels it at the provider (status canceled,
  event payment.canceled), the invoice can be paid again; a replay with the
  same Idempotency-Key answers the same; ADMIN only; other tenants see
  nothing; a payment that does not await action is 409;
- POST /v1/invoices/{id}/pay with another method supersedes it (canceled
  first, then the new attempt); POST /v1/invoices/{id}/void cancels it first;
- a late payment_intent.succeeded webhook of the canceled attempt pays
  nothing twice;
- the billing run (the test clock) fails it after 23 hours with
  authentication_expired and dunning goes on (the subscription past_due);
- status=canceled filters the list; the OpenAPI document names the status
  and the route.

Reuses test_server.py's Server, Billing and Stripe signing helpers; runs on
the backend BILLING_TEST_BACKEND names, like http_server.
"""
import json
import time
import unittest

import tenant_case
import test_server as ts

HOUR = 3600


class PaymentActions(tenant_case.TenantCase):
    """A server with the test clock and the test provider's webhook secret; a
    tenant per test whose subscription's first payment awaits action."""

    SERVER_ENV = tenant_case.WEBHOOK_ENV

    def setUp(self):
        super().setUp()
        c = self.b.customer_new(defaultPaymentMethod="pm_card_authenticationRequired")
        self.sub = self.b.subscribe(customer=c)
        self.assertEqual(self.sub["status"], "active")
        self.invoice = self.sub["latestInvoiceId"]
        pays = self.payments()
        self.assertEqual([p["status"] for p in pays], ["requires_action"])
        self.pay = pays[0]

    def payments(self, query=""):
        return self.b.ok("GET", "/v1/payments?invoiceId=%s%s" % (self.invoice, query))["data"]

    def events(self, kind):
        return self.b.ok("GET", "/v1/events?limit=100&type=" + kind)["data"]

    def cancel(self, pay_id=None, **kw):
        return self.b.req("POST", "/v1/payments/%s/cancel" % (pay_id or self.pay["id"]), {}, **kw)

    def test_cancel_then_the_invoice_is_paid_again(self):
        key = {"Idempotency-Key": "cancel-%d" % time.time_ns()}
        r = self.cancel(headers=key)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["id"], r.body["status"]), (self.pay["id"], "canceled"))
        again = self.cancel(headers=key)
        self.assertEqual((again.status, again.body["status"]), (200, "canceled"), again.text)
        self.assertEqual(len(self.events("payment.canceled")), 1)
        self.assertEqual(self.b.ok("GET", "/v1/invoices/" + self.invoice)["status"], "pending")
        r = self.b.req("POST", "/v1/invoices/%s/pay" % self.invoice,
                       {"paymentMethod": "pm_card_visa"})
        self.assertIn(r.status, (200, 201), r.text)
        self.assertEqual(r.body["status"], "succeeded")
        self.assertEqual(self.b.ok("GET", "/v1/invoices/" + self.invoice)["status"], "paid")
        self.assertEqual([p["id"] for p in self.payments("&status=canceled")], [self.pay["id"]])
        # a succeeded payment is not canceled
        self.assertProblem(self.cancel(r.body["id"]), 409, "invalid_transition")

    def test_next_action_shows_what_the_front_end_needs(self):
        p = self.b.ok("GET", "/v1/payments/" + self.pay["id"])
        na = p["nextAction"]
        self.assertEqual(na["type"], "use_stripe_sdk")
        self.assertTrue(na["clientSecret"].startswith(p["providerRef"] + "_secret_"), na)
        self.assertIsNone(na["redirectUrl"])
        self.assertEqual(self.payments()[0]["nextAction"], na)
        r = self.cancel()
        self.assertIsNone(r.body["nextAction"])
        self.assertIsNone(self.b.ok("GET", "/v1/payments/" + self.pay["id"])["nextAction"])

    def test_cancel_is_admin_only_and_tenant_scoped(self):
        user = ts.make_token(ts.claims_for(self.tenant, "USER"))
        path = "/v1/payments/%s/cancel" % self.pay["id"]
        self.assertProblem(self.s.request("POST", path, {}, token=user), 403)
        other = self.s.cli("tenant", "create", "--name", "other " + self.id()[-30:]) \
            .stdout.decode().strip()
        self.assertProblem(self.s.request("POST", path, {},
                                          token=ts.make_token(ts.claims_for(other))), 404)
        self.assertProblem(self.cancel("pay_nothing"), 404)
        self.assertProblem(self.b.req("POST", path, {"bogus": 1}), 400, field="bogus")
        self.assertEqual(self.payments()[0]["status"], "requires_action")

    def test_paying_with_another_method_supersedes_the_attempt(self):
        # before #18 item 4: 409 payment_in_progress
        r = self.b.req("POST", "/v1/invoices/%s/pay" % self.invoice,
                       {"paymentMethod": "pm_card_visa"})
        self.assertIn(r.status, (200, 201), r.text)
        self.assertEqual(r.body["status"], "succeeded")
        by_id = {p["id"]: p["status"] for p in self.payments()}
        self.assertEqual(by_id, {self.pay["id"]: "canceled", r.body["id"]: "succeeded"})
        self.assertEqual(self.b.ok("GET", "/v1/invoices/" + self.invoice)["status"], "paid")
        # the old attempt's late success pays nothing twice
        now = ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])
        body = ts.stripe_event("payment_intent.succeeded",
                               ts.payment_intent(self.pay, self.tenant), now)
        w = self.s.request("POST", "/v1/webhooks/stripe", raw=body, headers={
            "Content-Type": "application/json",
            "Stripe-Signature": ts.stripe_signature(body, now)})
        self.assertEqual((w.status, w.body.get("outcome")), (200, "ignored"), w.text)
        self.assertEqual(len(self.events("invoice.paid")), 1)
        self.assertEqual(self.events("invoice.overpaid"), [])

    def test_void_cancels_the_attempt_first(self):
        r = self.b.req("POST", "/v1/invoices/%s/void" % self.invoice, {})
        self.assertEqual((r.status, r.body.get("status")), (200, "void"), r.text)
        self.assertEqual(self.payments()[0]["status"], "canceled")

    def test_the_run_expires_it_after_23_hours_and_dunning_goes_on(self):
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 22 * HOUR})
        self.assertEqual(self.payments()[0]["status"], "requires_action")
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": HOUR})
        p = self.payments()[0]
        self.assertEqual((p["status"], p["failureCode"]), ("failed", "authentication_expired"))
        self.assertEqual(self.b.ok("GET", "/v1/invoices/" + self.invoice)["status"], "failed")
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions/" + self.sub["id"])["status"],
                         "past_due")

    def test_openapi_names_the_status_and_the_route(self):
        doc = self.s.request("GET", "/v1/openapi.json").body
        self.assertIn("post", doc["paths"]["/v1/payments/{id}/cancel"])
        text = json.dumps(doc["components"]["schemas"]["Payment"])
        self.assertIn("canceled", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
