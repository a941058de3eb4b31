#!/usr/bin/env python3
"""HTTP suite for stored payment methods (cpm_, issue #18 item 7), with the
test provider:

- POST /v1/setup-intents {customerId} answers the provider's SetupIntent
  (id, clientSecret, status) and makes the provider's customer once;
- POST /v1/payment-methods {customerId, providerPaymentMethodId}: 201 with
  Location, the card as the provider reports it; unknown token, expired card,
  a token stored already, bad fields: 400 / 409 problems, nothing stored;
  Idempotency-Key replays;
- GET /v1/payment-methods?customerId=, /v1/payment-methods/{id} (USER reads);
- PATCH /v1/customers/{id} {defaultPaymentMethod} takes our id or the
  provider's; DELETE refuses the default (409 payment_method_is_default) and
  deletes another;
- events payment_method.created / .deleted / .expiring (the test clock at the
  start of the expiry month, once), audit rows;
- other tenants: 404 on read and delete, empty lists, their id refused as a
  default; every answer conforms to the OpenAPI document.

Reuses test_server.py's Server and Billing; runs on the backend
BILLING_TEST_BACKEND names, like http_server.
"""
import calendar
import time
import unittest

import tenant_case
import test_server as ts


class PaymentMethods(tenant_case.TenantCase):
    """A server with the test clock and the test provider; a tenant per test."""

    def setUp(self):
        super().setUp()
        self.cus = self.b.customer_new()

    def attach(self, token, customer=None, **kw):
        return self.b.req("POST", "/v1/payment-methods",
                          {"customerId": (customer or self.cus)["id"],
                           "providerPaymentMethodId": token}, **kw)

    def events(self, kind):
        return self.b.ok("GET", "/v1/events?type=payment_method." + kind)["data"]

    def test_setup_intent_then_attach_read_and_list(self):
        r = self.b.req("POST", "/v1/setup-intents", {"customerId": self.cus["id"]})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["object"], r.body["status"], r.body["customerId"]),
                         ("setup_intent", "requires_payment_method", self.cus["id"]))
        self.assertTrue(r.body["id"].startswith("seti_test_"))
        self.assertTrue(r.body["clientSecret"].startswith(r.body["id"] + "_secret_"))
        cus = self.b.ok("GET", "/v1/customers/" + self.cus["id"])
        self.assertTrue(cus["metadata"]["provider_customer_id"].startswith("cus_test_"))
        self.assertProblem(self.b.req("POST", "/v1/setup-intents", {"customerId": "cus_nope"}),
                           400, "resource_missing", "customerId")
        self.assertProblem(self.b.req("POST", "/v1/setup-intents", {}), 400,
                           field="customerId")

        r = self.attach("pm_card_visa")
        self.assertEqual(r.status, 201, r.text)
        pm = r.body
        self.assertTrue(pm["id"].startswith("cpm_"), pm)
        self.assertEqual(r.header("Location"), "/v1/payment-methods/" + pm["id"])
        self.assertEqual((pm["object"], pm["customerId"], pm["providerPaymentMethodId"],
                          pm["provider"], pm["type"], pm["card"], pm["version"]),
                         ("payment_method", self.cus["id"], "pm_card_visa", "test", "card",
                          {"brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2099},
                          1))
        self.assertEqual(self.b.ok("GET", "/v1/payment-methods/" + pm["id"]), pm)
        self.assertEqual(self.b.ok("GET", "/v1/payment-methods?customerId="
                                   + self.cus["id"])["data"], [pm])
        other = self.b.customer_new()
        self.assertEqual(self.b.ok("GET", "/v1/payment-methods?customerId="
                                   + other["id"])["data"], [])
        r = self.s.request("GET", "/v1/payment-methods/" + pm["id"], token=self.user)
        self.assertEqual((r.status, r.body), (200, pm))
        [ev] = self.events("created")
        self.assertEqual(ev["data"], pm)
        audit = self.b.ok("GET", "/v1/audit-log")["data"]
        self.assertIn("payment_methods.create", [a["operation"] for a in audit])

    def test_bad_input_changes_nothing_and_a_key_replays(self):
        self.assertProblem(self.attach("pm_nope"), 400, "resource_missing",
                           "providerPaymentMethodId")
        self.assertProblem(self.attach("pm_card_visa_exp_2020_01"), 400, "expired_card",
                           "providerPaymentMethodId")
        self.assertProblem(self.attach("cpm_01HZZZZZZZZZZZZZZZZZZZZZZZ"), 400,
                           field="providerPaymentMethodId")
        self.assertProblem(self.b.req("POST", "/v1/payment-methods",
                                      {"customerId": self.cus["id"]}), 400,
                           field="providerPaymentMethodId")
        self.assertProblem(self.b.req("POST", "/v1/payment-methods",
                                      {"customerId": self.cus["id"],
                                       "providerPaymentMethodId": "pm_card_visa",
                                       "brand": "visa"}), 400, field="brand")
        self.assertProblem(self.attach("pm_card_visa", customer={"id": "cus_nope"}), 400,
                           "resource_missing", "customerId")
        r = self.s.request("POST", "/v1/payment-methods",
                           {"customerId": self.cus["id"],
                            "providerPaymentMethodId": "pm_card_visa"}, token=self.user)
        self.assertProblem(r, 403)
        self.assertEqual(self.b.ok("GET", "/v1/payment-methods")["data"], [])
        self.assertEqual(self.events("created"), [])

        key = {"Idempotency-Key": "pm-attach-1"}
        first = self.attach("pm_card_amex", headers=key)
        again = self.attach("pm_card_amex", headers=key)
        self.assertEqual((first.status, again.status), (201, 201), again.text)
        self.assertEqual(first.body, again.body)
        self.assertProblem(self.attach("pm_card_amex"), 409, field="providerPaymentMethodId")
        self.assertProblem(self.attach("pm_card_amex", customer=self.b.customer_new()), 409,
                           "attached_elsewhere")
        self.assertEqual(len(self.b.ok("GET", "/v1/payment-methods")["data"]), 1)

    def test_default_and_delete(self):
        visa = self.attach("pm_card_visa").body
        amex = self.attach("pm_card_amex").body
        cus = self.b.ok("PATCH", "/v1/customers/" + self.cus["id"],
                        {"defaultPaymentMethod": amex["id"]})
        self.assertEqual(cus["defaultPaymentMethod"], "pm_card_amex")
        cus = self.b.ok("PATCH", "/v1/customers/" + self.cus["id"],
                        {"defaultPaymentMethod": "pm_card_visa"})
        self.assertEqual(cus["defaultPaymentMethod"], "pm_card_visa")
        self.assertProblem(self.b.req("PATCH", "/v1/customers/" + self.cus["id"],
                                      {"defaultPaymentMethod": "cpm_01HZZZZZZZZZZZZZZZZZZZZZZZ"}),
                           400, "resource_missing", "defaultPaymentMethod")
        # the default is refused
        self.assertProblem(self.b.req("DELETE", "/v1/payment-methods/" + visa["id"]), 409,
                           "payment_method_is_default")
        r = self.b.req("DELETE", "/v1/payment-methods/" + amex["id"])
        self.assertEqual(r.status, 204, r.text)
        self.assertProblem(self.b.req("GET", "/v1/payment-methods/" + amex["id"]), 404)
        self.assertProblem(self.b.req("DELETE", "/v1/payment-methods/" + amex["id"]), 404)
        [ev] = self.events("deleted")
        self.assertEqual(ev["data"]["id"], amex["id"])
        self.assertProblem(self.s.request("DELETE", "/v1/payment-methods/" + visa["id"],
                                          token=self.user), 403)
        # no update route
        self.assertProblem(self.b.req("PATCH", "/v1/payment-methods/" + visa["id"],
                                      {"type": "card"}), 405)

    def test_other_tenants_see_nothing(self):
        pm = self.attach("pm_card_visa").body
        other = self.s.cli("tenant", "create", "--name", "Other PM").stdout.decode().strip()
        ob = ts.Billing(self.s, ts.make_token(ts.claims_for(other)))
        self.assertProblem(ob.req("GET", "/v1/payment-methods/" + pm["id"]), 404)
        self.assertEqual(ob.ok("GET", "/v1/payment-methods")["data"], [])
        self.assertProblem(ob.req("DELETE", "/v1/payment-methods/" + pm["id"]), 404)
        theirs = ob.customer_new()
        self.assertProblem(ob.req("PATCH", "/v1/customers/" + theirs["id"],
                                  {"defaultPaymentMethod": pm["id"]}), 400,
                           "resource_missing", "defaultPaymentMethod")
        self.assertProblem(ob.req("POST", "/v1/payment-methods",
                                  {"customerId": self.cus["id"],
                                   "providerPaymentMethodId": "pm_card_mastercard"}),
                           400, "resource_missing", "customerId")
        self.assertEqual(self.b.ok("GET", "/v1/payment-methods/" + pm["id"]), pm)

    def test_expiring_once_at_the_start_of_the_expiry_month(self):
        now = ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])
        y, m = time.gmtime(now).tm_year + 1, 12
        pm = self.attach("pm_card_visa_exp_%04d_%02d" % (y, m)).body
        start = calendar.timegm((y, m, 1, 0, 0, 0))
        self.b.ok("POST", "/v1/test-clock/advance", {"to": ts.fmt_time(start - 1)})
        self.assertEqual(self.events("expiring"), [])
        self.b.ok("POST", "/v1/test-clock/advance", {"to": ts.fmt_time(start)})
        [ev] = self.events("expiring")
        self.assertEqual((ev["data"]["id"], ev["data"]["card"]["expYear"]), (pm["id"], y))
        self.b.ok("POST", "/v1/test-clock/advance", {"to": ts.fmt_time(start + 40 * 86400)})
        self.assertEqual(len(self.events("expiring")), 1)


if __name__ == "__main__":
    unittest.main()
