#!/usr/bin/env python3
"""HTTP suite for coupons and promotion codes (issue #22 items 1 and 2), with
the test clock:

- POST /v1/coupons: a tenant-chosen id (coupon_SPRING-25; taken 409, ill-formed
  400), percentOff as an exact decimal (25.5, never a double),
  or amountOff + currency; duration once / repeating (durationInPeriods) /
  forever; maxRedemptions, redeemBy, appliesTo {productIds}; timesRedeemed
  read-only; every bad term a 400 naming its field with nothing stored;
- PATCH changes metadata only (terms are fixed); DELETE hides the coupon
  (404 after) and writes coupon.deleted; USER reads but never writes; an
  Idempotency-Key replays the first answer;
- POST /v1/promotion-codes: the code case-insensitive and unique among the
  tenant's active codes (409 naming code), an archived code's text free
  again; restrictions {firstTimeTransaction, minimumAmount +
  minimumAmountCurrency}, customerId, expiresAt, maxRedemptions checked by
  field; a deleted coupon takes no new code.

On tenant_case.TenantCase (a server per class, a tenant per test); runs on
the backend BILLING_TEST_BACKEND names, like http_server.
"""
import unittest

from tenant_case import TenantCase


class Coupons(TenantCase):
    """Coupons over HTTP."""

    def coupon(self, **fields):
        return self.b.ok("POST", "/v1/coupons", fields)

    def count(self):
        return len(self.b.ok("GET", "/v1/coupons?limit=100")["data"])

    def event_types(self, prefix):
        return [e["type"] for e in self.b.ok("GET", "/v1/events?limit=100")["data"]
                if e["type"].startswith(prefix)]

    def test_percent_and_amount_coupons(self):
        pct = self.coupon(percentOff=25.5, duration="forever")
        self.assertTrue(pct["id"].startswith("coupon_"), pct)
        self.assertEqual((pct["object"], pct["percentOff"], pct["amountOff"], pct["currency"],
                          pct["duration"], pct["durationInPeriods"], pct["timesRedeemed"],
                          pct["appliesTo"]),
                         ("coupon", 25.5, None, None, "forever", None, 0, {}))
        amt = self.coupon(amountOff=500, currency="eur", duration="repeating",
                          durationInPeriods=3, maxRedemptions=10,
                          redeemBy="2100-01-01T00:00:00Z",
                          appliesTo={"productIds": [self.b.product["id"]]})
        self.assertEqual((amt["amountOff"], amt["currency"], amt["percentOff"],
                          amt["durationInPeriods"], amt["maxRedemptions"], amt["redeemBy"],
                          amt["appliesTo"]),
                         (500, "EUR", None, 3, 10, "2100-01-01T00:00:00Z",
                          {"productIds": [self.b.product["id"]]}))
        self.assertEqual(self.b.ok("GET", "/v1/coupons/" + pct["id"]), pct)
        self.assertEqual({c["id"] for c in self.b.ok("GET", "/v1/coupons")["data"]},
                         {pct["id"], amt["id"]})
        self.assertEqual(self.b.ok("GET", "/v1/coupons?duration=repeating")["data"][0]["id"],
                         amt["id"])

    def test_a_tenant_chosen_id(self):
        c = self.coupon(id="coupon_SPRING-25", percentOff=25)
        self.assertEqual(c["id"], "coupon_SPRING-25")
        self.assertEqual(self.b.ok("GET", "/v1/coupons/coupon_SPRING-25")["percentOff"], 25)
        self.assertProblem(self.b.req("POST", "/v1/coupons",
                                      {"id": "coupon_SPRING-25", "percentOff": 10}),
                           409, field="id")
        self.assertProblem(self.b.req("POST", "/v1/coupons", {"id": "SPRING", "percentOff": 10}),
                           400, field="id")
        self.b.ok("DELETE", "/v1/coupons/coupon_SPRING-25", status=204)
        self.assertProblem(self.b.req("GET", "/v1/coupons/coupon_SPRING-25"), 404)

    def test_bad_terms_are_refused_by_field(self):
        bad = [
            ({}, "percentOff"),
            ({"percentOff": 10, "amountOff": 100, "currency": "EUR"}, "percentOff"),
            ({"percentOff": 100.5}, "percentOff"),
            ({"percentOff": "12.345"}, "percentOff"),
            ({"percentOff": 0}, "percentOff"),
            ({"amountOff": 100}, "currency"),
            ({"amountOff": 100, "currency": "XXQ"}, "currency"),
            ({"percentOff": 10, "duration": "repeating"}, "durationInPeriods"),
            ({"percentOff": 10, "duration": "once", "durationInPeriods": 2},
             "durationInPeriods"),
            ({"percentOff": 10, "redeemBy": "2001-01-01T00:00:00Z"}, "redeemBy"),
            ({"percentOff": 10, "timesRedeemed": 1}, "timesRedeemed"),
            ({"percentOff": 10, "appliesTo": {"productIds": ["prod_missing"]}},
             "appliesTo.productIds"),
        ]
        for body, field in bad:
            with self.subTest(body=body):
                self.assertProblem(self.b.req("POST", "/v1/coupons", body), 400, field=field)
        self.assertEqual(self.count(), 0)

    def test_update_delete_roles_and_replay(self):
        headers = {"Idempotency-Key": "cpn-1"}
        r = self.b.req("POST", "/v1/coupons", {"percentOff": 10}, headers=headers)
        self.assertEqual(r.status, 201, r.text)
        again = self.b.req("POST", "/v1/coupons", {"percentOff": 10}, headers=headers)
        self.assertEqual(again.body["id"], r.body["id"])
        self.assertEqual(self.count(), 1)
        cid = r.body["id"]
        self.assertProblem(self.b.req("PATCH", "/v1/coupons/" + cid, {"percentOff": 20}), 400,
                           field="percentOff")
        u = self.b.ok("PATCH", "/v1/coupons/" + cid, {"metadata": {"campaign": "spring"}})
        self.assertEqual((u["metadata"], u["percentOff"], u["version"]),
                         ({"campaign": "spring"}, 10, 2))
        user = self.s.request("POST", "/v1/coupons", {"percentOff": 5}, token=self.user)
        self.assertProblem(user, 403)
        self.assertEqual(self.s.request("GET", "/v1/coupons/" + cid, token=self.user).status,
                         200)
        self.b.ok("DELETE", "/v1/coupons/" + cid, status=204)
        self.assertProblem(self.b.req("GET", "/v1/coupons/" + cid), 404)
        self.assertEqual(self.count(), 0)
        self.assertEqual(sorted(self.event_types("coupon.")),
                         ["coupon.created", "coupon.deleted", "coupon.updated"])


class PromotionCodes(TenantCase):
    """Promotion codes over HTTP."""

    def setUp(self):
        super().setUp()
        self.coupon = self.b.ok("POST", "/v1/coupons", {"percentOff": 25, "duration": "repeating",
                                                         "durationInPeriods": 3})

    def promo(self, **fields):
        body = {"code": "SPRING25", "couponId": self.coupon["id"]}
        body.update(fields)
        return self.b.ok("POST", "/v1/promotion-codes", body)

    def test_code_is_case_insensitive_and_unique_among_active_codes(self):
        p = self.promo(code="Spring25", maxRedemptions=100,
                       restrictions={"firstTimeTransaction": True, "minimumAmount": 1000,
                                     "minimumAmountCurrency": "eur"})
        self.assertTrue(p["id"].startswith("promo_"), p)
        self.assertEqual((p["object"], p["code"], p["couponId"], p["active"], p["timesRedeemed"],
                          p["maxRedemptions"], p["customerId"], p["expiresAt"],
                          p["restrictions"]),
                         ("promotion_code", "Spring25", self.coupon["id"], True, 0, 100, None,
                          None, {"firstTimeTransaction": True, "minimumAmount": 1000,
                                 "minimumAmountCurrency": "EUR"}))
        self.assertProblem(self.b.req("POST", "/v1/promotion-codes",
                                      {"code": "SPRING25", "couponId": self.coupon["id"]}),
                           409, field="code")
        self.b.ok("PATCH", "/v1/promotion-codes/" + p["id"], {"active": False})
        again = self.promo(code="spring25")
        self.assertProblem(self.b.req("PATCH", "/v1/promotion-codes/" + p["id"],
                                      {"active": True}), 409, field="code")
        self.assertEqual([x["id"] for x in
                          self.b.ok("GET", "/v1/promotion-codes?active=true")["data"]],
                         [again["id"]])
        self.assertEqual(len(self.b.ok("GET", "/v1/promotion-codes?couponId=" +
                                       self.coupon["id"])["data"]), 2)
        # USER reads, never writes; there is no DELETE (archive instead).
        self.assertEqual(self.s.request("GET", "/v1/promotion-codes/" + p["id"],
                                        token=self.user).status, 200)
        self.assertProblem(self.s.request("PATCH", "/v1/promotion-codes/" + p["id"],
                                          {"active": True}, token=self.user), 403)
        self.assertNotEqual(self.b.req("DELETE", "/v1/promotion-codes/" + p["id"],
                                       check=False).status, 204)

    def test_bad_input_is_refused_by_field(self):
        other = self.b.customer_new()
        bad = [
            ({"couponId": "coupon_missing"}, "couponId"),
            ({"code": "two words"}, "code"),
            ({"code": ""}, "code"),
            ({"expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
            ({"maxRedemptions": 0}, "maxRedemptions"),
            ({"restrictions": {"minimumAmount": 500}}, "restrictions.minimumAmountCurrency"),
            ({"restrictions": {"firstTimeTransaction": "yes"}},
             "restrictions.firstTimeTransaction"),
            ({"customerId": "cus_missing"}, "customerId"),
            ({"timesRedeemed": 2}, "timesRedeemed"),
        ]
        for fields, field in bad:
            with self.subTest(fields=fields):
                body = {"code": "X1", "couponId": self.coupon["id"]}
                body.update(fields)
                self.assertProblem(self.b.req("POST", "/v1/promotion-codes", body), 400,
                                   field=field)
        self.assertEqual(self.b.ok("GET", "/v1/promotion-codes")["data"], [])
        mine = self.promo(customerId=other["id"], expiresAt="2100-01-01T00:00:00Z")
        self.assertEqual((mine["customerId"], mine["expiresAt"]),
                         (other["id"], "2100-01-01T00:00:00Z"))
        self.b.ok("DELETE", "/v1/coupons/" + self.coupon["id"], status=204)
        self.assertProblem(self.b.req("POST", "/v1/promotion-codes",
                                      {"code": "LATE", "couponId": self.coupon["id"]}),
                           400, field="couponId")
        # The deleted coupon's code is still shown.
        self.assertEqual(self.b.ok("GET", "/v1/promotion-codes/" + mine["id"])["couponId"],
                         self.coupon["id"])


if __name__ == "__main__":
    unittest.main()
