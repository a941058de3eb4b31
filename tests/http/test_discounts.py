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
- a draft invoice's own discount (coupon / promotionCode on POST and PATCH
  /v1/invoices, DELETE /v1/invoices/{id}/discount);
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


class Discounts(TenantCase):
    """Discounts (di_) over HTTP: a subscription's coupon or promotion code,
    its invoices' discountAmounts / totalDiscountAmounts, DELETE of the
    subscription's and the customer's discount (docs/billing.md
    "Discounts")."""

    def event_types(self, prefix):
        return [e["type"] for e in self.b.ok("GET", "/v1/events?limit=100")["data"]
                if e["type"].startswith(prefix)]

    def subscribe(self, **extra):
        return self.b.req("POST", "/v1/subscriptions", dict(
            customerId=self.b.customer["id"], planId=self.b.monthly["id"], **extra))

    def test_a_coupon_discounts_the_first_invoice_before_tax(self):
        coupon = self.b.ok("POST", "/v1/coupons", {"percentOff": 25, "duration": "repeating",
                                                   "durationInPeriods": 3})
        r = self.subscribe(coupon=coupon["id"])
        self.assertEqual(r.status, 201, r.text)
        sub = r.body
        inv = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        line = inv["lines"][0]
        # 9.99 a month, taxed 19 %: 25 % off is 2.4975 -> 2.50, the tax 19 %
        # of 7.49 = 1.4231 -> 1.42; total 9.99 - 2.50 + 1.42 = 8.91.
        self.assertEqual((line["amount"], line["taxAmount"]), (999, 142))
        self.assertEqual([d["amount"] for d in line["discountAmounts"]], [250])
        self.assertTrue(line["discountAmounts"][0]["discountId"].startswith("di_"))
        self.assertEqual(inv["totalDiscountAmounts"], line["discountAmounts"])
        self.assertEqual((inv["subtotal"], inv["tax"], inv["total"], inv["amountDue"]),
                         (999, 142, 891, 891))
        self.assertEqual(self.event_types("customer.discount"), ["customer.discount.created"])
        self.assertEqual(self.b.ok("GET", "/v1/coupons/" + coupon["id"])["timesRedeemed"], 1)

        # USER reads, never deletes; the delete ends it, a second one is 404.
        self.assertProblem(self.s.request("DELETE", "/v1/subscriptions/%s/discount" % sub["id"],
                                          token=self.user), 403)
        r = self.b.req("DELETE", "/v1/subscriptions/%s/discount" % sub["id"])
        self.assertIn(r.status, (200, 204), r.text)
        self.assertProblem(self.b.req("DELETE", "/v1/subscriptions/%s/discount" % sub["id"]),
                           404)
        self.assertEqual(sorted(self.event_types("customer.discount")),
                         ["customer.discount.created", "customer.discount.deleted"])
        self.assertProblem(self.b.req("DELETE",
                                      "/v1/customers/%s/discount" % self.b.customer["id"]), 404)

    def test_a_promotion_code_in_any_case_and_refusals_by_field(self):
        coupon = self.b.ok("POST", "/v1/coupons", {"amountOff": 300, "currency": "EUR",
                                                   "maxRedemptions": 1})
        self.b.ok("POST", "/v1/promotion-codes", {"code": "HELLO3", "couponId": coupon["id"]})
        self.assertProblem(self.subscribe(coupon="coupon_nope"), 400, field="coupon")
        self.assertProblem(self.subscribe(promotionCode="NOPE"), 400, field="promotionCode")
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions")["data"], [])
        r = self.subscribe(promotionCode="hello3")
        self.assertEqual(r.status, 201, r.text)
        inv = self.b.ok("GET", "/v1/invoices/" + r.body["latestInvoiceId"])
        # 3.00 off once: 9.99 - 3.00 = 6.99, tax 19 % = 1.3281 -> 1.33.
        self.assertEqual((inv["subtotal"], inv["tax"], inv["total"]), (999, 133, 832))
        self.assertProblem(self.subscribe(coupon=coupon["id"]), 400, field="coupon")
        self.assertEqual(len(self.b.ok("GET", "/v1/subscriptions")["data"]), 1)


    def test_patch_replaces_the_discount_of_a_subscription_and_of_a_customer(self):
        ten = self.b.ok("POST", "/v1/coupons", {"percentOff": 10, "duration": "forever"})
        half = self.b.ok("POST", "/v1/coupons", {"percentOff": 50, "duration": "forever"})
        self.b.ok("POST", "/v1/promotion-codes", {"code": "HALF", "couponId": half["id"]})
        sub = self.subscribe(coupon=ten["id"]).body
        cus = self.b.customer["id"]

        # The subscription: 10 % replaced by 50 % through a promotion code.
        self.assertProblem(self.s.request("PATCH", "/v1/subscriptions/" + sub["id"],
                                          {"coupon": half["id"]}, token=self.user), 403)
        self.assertProblem(self.b.req("PATCH", "/v1/subscriptions/" + sub["id"],
                                      {"coupon": "coupon_nope"}), 400, field="coupon")
        self.assertProblem(self.b.req("PATCH", "/v1/subscriptions/" + sub["id"],
                                      {"coupon": ten["id"], "promotionCode": "half"}),
                           400, field="coupon")
        self.b.ok("PATCH", "/v1/subscriptions/" + sub["id"], {"promotionCode": "half"})
        self.assertEqual(sorted(self.event_types("customer.discount")),
                         ["customer.discount.created", "customer.discount.updated"])
        self.assertEqual(self.b.ok("GET", "/v1/coupons/" + half["id"])["timesRedeemed"], 1)

        # The customer: a discount made by PATCH, then deleted over HTTP.
        self.assertProblem(self.b.req("PATCH", "/v1/customers/" + cus,
                                      {"promotionCode": "NOPE"}), 400, field="promotionCode")
        c = self.b.ok("PATCH", "/v1/customers/" + cus, {"coupon": ten["id"]})
        self.assertEqual(c["version"], 2)
        self.assertEqual(self.b.ok("GET", "/v1/coupons/" + ten["id"])["timesRedeemed"], 2)
        r = self.b.req("DELETE", "/v1/customers/%s/discount" % cus)
        self.assertIn(r.status, (200, 204), r.text)
        self.assertProblem(self.b.req("DELETE", "/v1/customers/%s/discount" % cus), 404)
        self.assertEqual(self.event_types("customer.discount.deleted"),
                         ["customer.discount.deleted"])

    def test_the_discount_object_on_subscriptions_and_customers(self):
        """discount {id, couponId, promotionCodeId, start, end} or null, true after
        create, PATCH, DELETE .../discount and a renewal ending a once discount."""
        three = self.b.ok("POST", "/v1/coupons", {"percentOff": 25, "duration": "repeating",
                                                  "durationInPeriods": 3})
        once = self.b.ok("POST", "/v1/coupons", {"amountOff": 300, "currency": "EUR"})
        promo = self.b.ok("POST", "/v1/promotion-codes", {"code": "ONCE3",
                                                          "couponId": once["id"]})
        cus = self.b.customer["id"]
        self.assertIsNone(self.b.ok("GET", "/v1/customers/" + cus)["discount"])

        r = self.subscribe(coupon=three["id"])
        self.assertEqual(r.status, 201, r.text)
        sub = r.body
        d = sub["discount"]
        self.assertTrue(d["id"].startswith("di_"), d)
        self.assertEqual((d["couponId"], d["promotionCodeId"], d["start"]),
                         (three["id"], None, sub["currentPeriodStart"]))
        self.assertIsNotNone(d["end"])
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions/" + sub["id"])["discount"], d)
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions")["data"][0]["discount"], d)
        inv = self.b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual(inv["totalDiscountAmounts"][0]["discountId"], d["id"])

        # PATCH: a once code replaces it; no end until an invoice takes it.
        p = self.b.ok("PATCH", "/v1/subscriptions/" + sub["id"], {"promotionCode": "once3"})
        d2 = p["discount"]
        self.assertNotEqual(d2["id"], d["id"])
        self.assertEqual((d2["couponId"], d2["promotionCodeId"], d2["end"]),
                         (once["id"], promo["id"], None))
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions/" + sub["id"])["discount"], d2)

        # The renewal takes it (9.99 - 3.00) and ends it at its period start.
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 32 * 86400})
        got = self.b.ok("GET", "/v1/subscriptions/" + sub["id"])
        inv = self.b.ok("GET", "/v1/invoices/" + got["latestInvoiceId"])
        self.assertEqual(inv["totalDiscountAmounts"], [{"discountId": d2["id"], "amount": 300}])
        self.assertEqual(got["discount"], dict(d2, end=inv["periodStart"]))

        # The customer's: PATCH shows it in the answer and on reads.
        c = self.b.ok("PATCH", "/v1/customers/" + cus, {"coupon": three["id"]})
        self.assertEqual((c["discount"]["couponId"], c["discount"]["promotionCodeId"]),
                         (three["id"], None))
        self.assertEqual(self.b.ok("GET", "/v1/customers/" + cus)["discount"], c["discount"])

        # The deletes: null again.
        for path in ("/v1/subscriptions/%s" % sub["id"], "/v1/customers/%s" % cus):
            r = self.b.req("DELETE", path + "/discount")
            self.assertIn(r.status, (200, 204), r.text)
            self.assertIsNone(self.b.ok("GET", path)["discount"])

    def test_a_draft_invoice_takes_its_own_discount(self):
        """POST /v1/invoices {coupon} and PATCH {promotionCode}: the draft's
        own discount replaces the customer's; DELETE /v1/invoices/{id}/discount
        gives the customer's back; refusals change nothing; counted once."""
        cus = self.b.customer["id"]
        ten = self.b.ok("POST", "/v1/coupons", {"percentOff": 10, "duration": "forever"})
        quarter = self.b.ok("POST", "/v1/coupons", {"percentOff": 25})
        usd = self.b.ok("POST", "/v1/coupons", {"amountOff": 500, "currency": "USD"})
        take = self.b.ok("POST", "/v1/coupons", {"amountOff": 1500, "currency": "EUR"})
        self.b.ok("POST", "/v1/promotion-codes", {"code": "TAKE15", "couponId": take["id"]})
        self.b.ok("PATCH", "/v1/customers/" + cus, {"coupon": ten["id"]})
        self.b.ok("POST", "/v1/invoice-items", {"customerId": cus, "currency": "EUR",
                                                "description": "Consulting", "amount": 10000})
        self.assertProblem(self.b.req("POST", "/v1/invoices", {
            "customerId": cus, "currency": "EUR", "coupon": usd["id"]}), 400, field="coupon")
        # The draft's 25 % replaces the customer's 10 %: 100.00 - 25.00 (untaxed).
        draft = self.b.ok("POST", "/v1/invoices", {"customerId": cus, "currency": "EUR",
                                                   "coupon": quarter["id"]}, status=201)
        own = draft["totalDiscountAmounts"]
        self.assertEqual(([d["amount"] for d in own], draft["total"]), ([2500], 7500))
        self.assertEqual(draft["lines"][0]["discountAmounts"], own)
        path = "/v1/invoices/" + draft["id"]
        self.assertProblem(self.b.req("PATCH", path, {"coupon": usd["id"]}), 400,
                           field="coupon")
        self.assertEqual(self.b.ok("GET", path)["totalDiscountAmounts"], own)
        p = self.b.ok("PATCH", path, {"promotionCode": "take15"})
        self.assertEqual(([d["amount"] for d in p["totalDiscountAmounts"]], p["total"]),
                         ([1500], 8500))
        self.assertEqual((self.b.ok("GET", "/v1/coupons/" + quarter["id"])["timesRedeemed"],
                          self.b.ok("GET", "/v1/coupons/" + usd["id"])["timesRedeemed"]),
                         (1, 0))
        self.assertProblem(self.s.request("DELETE", path + "/discount", token=self.user), 403)
        r = self.b.req("DELETE", path + "/discount")
        self.assertIn(r.status, (200, 204), r.text)
        back = self.b.ok("GET", path)
        self.assertEqual(([d["amount"] for d in back["totalDiscountAmounts"]], back["total"]),
                         ([1000], 9000))
        self.assertEqual(back["totalDiscountAmounts"][0]["discountId"],
                         self.b.ok("GET", "/v1/customers/" + cus)["discount"]["id"])
        self.assertProblem(self.b.req("DELETE", path + "/discount"), 404)
        self.b.ok("POST", path + "/finalize")
        self.assertProblem(self.b.req("PATCH", path, {"coupon": quarter["id"]}), 409)


if __name__ == "__main__":
    unittest.main()
