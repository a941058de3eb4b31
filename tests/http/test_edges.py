#!/usr/bin/env python3
"""HTTP suite for the data-safety edges of examples/billing-server (issue #16):

- a NUL (\\u0000 or a raw byte) or raw control character in any text of a
  body, or in a query value (%00), is 400 naming the field, never stored cut;
- a key given twice in a body, or a claim given twice in a token, is refused
  (400 / 401);
- a path id followed by %00 or other junk names no resource (404), for every
  kind of route with a path id;
- integers above 2^53 go through exactly: an invoice total of
  10999999999999989 is shown as such, and paying it with that amount works.

Reuses the server and tenants of test_server.py (its setUpModule), so it runs
on the backend BILLING_TEST_BACKEND names, like http_server.
"""
import json
import unittest

import test_server as ts


def setUpModule():
    ts.setUpModule()


def tearDownModule():
    ts.tearDownModule()


def admin(method, path, body=None, **kw):
    return ts.S.request(method, path, body, token=ts.T["admin_a"], **kw)


def raw_post(method, path, data):
    return admin(method, path, raw=data, headers={"Content-Type": "application/json"})


class NulAndControlCharacters(ts.ProblemAssertions):
    def count_customers(self, search):
        r = admin("GET", "/v1/customers?search=" + search)
        self.assertEqual(r.status, 200, r.text)
        return len(r.body["data"])

    def test_nul_in_any_text_of_a_body_is_400_naming_the_field(self):
        cases = [
            ({"name": "nul\u0000b", "email": "nul1@edges.test"}, "name"),
            ({"name": "Nul", "email": "nul2@edges.test\u0000<script>"}, "email"),
            ({"name": "Nul", "email": "nul3@edges.test", "metadata": {"foo": "v\u0000w"}},
             "metadata.foo"),
            ({"name": "Nul", "email": "nul4@edges.test", "metadata": {"k\u0000": "v"}},
             "metadata.k"),
        ]
        for body, field in cases:
            r = admin("POST", "/v1/customers", body)
            p = self.assertProblem(r, 400, "nul_character", field)
            self.assertIn(field, p["detail"])
        r = raw_post("POST", "/v1/customers", b'{"name":"Nul","email":"nul5@edges.test\x00x"}')
        self.assertProblem(r, 400, "nul_character", "email")
        self.assertEqual(self.count_customers("edges.test"), 0)

    def test_raw_control_characters_are_400(self):
        r = raw_post("POST", "/v1/customers", b'{"name":"Ctl\nx","email":"ctl@edges.test"}')
        self.assertProblem(r, 400, "control_character", "name")
        r = raw_post("POST", "/v1/customers", b'{"name":"Ctl","email":"ctl@edges.test",'
                     b'"metadata":{"a":"\x1f"}}')
        self.assertProblem(r, 400, "control_character", "metadata.a")

    def test_nul_in_an_update_changes_nothing(self):
        c = ts.new_customer(name="Stays")
        r = admin("PATCH", "/v1/customers/" + c["id"], {"name": "Changed\u0000"})
        self.assertProblem(r, 400, "nul_character", "name")
        self.assertEqual(admin("GET", "/v1/customers/" + c["id"]).body["name"], "Stays")

    def test_nul_in_a_query_value_is_400(self):
        r = admin("GET", "/v1/customers?search=a%00b")
        self.assertProblem(r, 400, "nul_character", "search")


class DuplicateKeys(ts.ProblemAssertions):
    def test_a_key_twice_is_400_naming_it(self):
        r = raw_post("POST", "/v1/customers",
                     b'{"name":"First","email":"dup1@edges.test","name":"Second"}')
        self.assertProblem(r, 400, "duplicate_key", "name")
        r = raw_post("POST", "/v1/customers",
                     b'{"name":"D","email":"dup2@edges.test","metadata":{"k":"1","k":"2"}}')
        self.assertProblem(r, 400, "duplicate_key", "metadata.k")
        c = ts.new_customer(name="Dup")
        r = raw_post("PATCH", "/v1/customers/" + c["id"], b'{"name":"A","name":"B"}')
        self.assertProblem(r, 400, "duplicate_key", "name")
        self.assertEqual(admin("GET", "/v1/customers/" + c["id"]).body["name"], "Dup")

    def test_a_claim_twice_in_a_token_is_401(self):
        claims = ts.claims_for(ts.T["a"])
        good = ts.make_token(claims)
        self.assertEqual(ts.S.request("GET", "/v1/customers", token=good).status, 200)
        payload = json.dumps(claims)[:-1] + ', "tenantId": "%s"}' % ts.T["b"]
        header = ts.b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        signing_input = header + "." + ts.b64url(payload.encode())
        mac = ts.hmac.new(ts.SECRET.encode(), signing_input.encode(), ts.hashlib.sha256).digest()
        token = signing_input + "." + ts.b64url(mac)
        r = ts.S.request("GET", "/v1/customers", token=token)
        self.assertProblem(r, 401, "invalid_token")


class PathIds(ts.ProblemAssertions):
    JUNK = ("%00anything", "%00", "%20", "%2500", ";x", "%0a", "%c0%80")

    def test_an_id_with_anything_after_it_is_404_on_every_route_kind(self):
        c = ts.new_customer(name="Path")
        prod = ts.new_product()
        plan = ts.new_plan(prod["id"])
        ep = admin("POST", "/v1/webhook-endpoints", {"url": "https://example.com/hook"}).body
        routes = [
            ("GET", "/v1/customers/%s", c["id"], None),
            ("PATCH", "/v1/customers/%s", c["id"], {"name": "Hijacked"}),
            ("DELETE", "/v1/customers/%s", c["id"], None),
            ("GET", "/v1/products/%s", prod["id"], None),
            ("PATCH", "/v1/products/%s", prod["id"], {"name": "Hijacked"}),
            ("GET", "/v1/plans/%s", plan["id"], None),
            ("PATCH", "/v1/plans/%s", plan["id"], {"name": "Hijacked"}),
            ("GET", "/v1/webhook-endpoints/%s", ep["id"], None),
            ("GET", "/v1/webhook-endpoints/%s/deliveries", ep["id"], None),
            ("POST", "/v1/webhook-endpoints/%s/rotate-secret", ep["id"], {}),
        ]
        for method, tpl, rid, body in routes:
            for junk in self.JUNK:
                r = admin(method, tpl % (rid + junk), body)
                self.assertEqual(r.status, 404, "%s %s: %s" % (method, tpl % (rid + junk), r.text))
            # The exact id still works.
            if method == "GET":
                self.assertEqual(admin(method, tpl % rid).status, 200)
        self.assertEqual(admin("GET", "/v1/customers/" + c["id"]).body["name"], "Path")
        self.assertEqual(admin("GET", "/v1/products/" + prod["id"]).body["name"], prod["name"])
        self.assertEqual(admin("GET", "/v1/plans/" + plan["id"]).body["name"], plan["name"])


class ExactIntegers(ts.ProblemAssertions):
    def test_invoice_above_2_53_is_shown_and_paid_exactly(self):
        prod = ts.new_product(priceCents=999999999999999)
        self.assertIn(b'"priceCents":999999999999999,', ts.S.request(
            "GET", "/v1/products/" + prod["id"], token=ts.T["admin_a"]).text)
        # A line is at most 999999999999999 (BILLING_AMOUNT_MAX: each line
        # exact in JSON); 11 of them on one invoice pass 2^53.
        c = ts.new_customer()
        for _ in range(11):
            r = admin("POST", "/v1/invoice-items",
                      {"customerId": c["id"], "currency": "EUR", "description": "Huge",
                       "amount": 999999999999999})
            self.assertEqual(r.status, 201, r.text)
        r = admin("POST", "/v1/invoices", {"customerId": c["id"], "currency": "EUR"})
        self.assertEqual(r.status, 201, r.text)
        inv_id = r.body["id"]
        self.assertEqual(len(r.body["lines"]), 11)
        r = admin("POST", "/v1/invoices/%s/finalize" % inv_id)
        self.assertEqual(r.status, 200, r.text)
        r = admin("GET", "/v1/invoices/" + inv_id)
        self.assertIn(b'"total":10999999999999989,', r.text)
        self.assertIn(b'"amountDue":10999999999999989,', r.text)
        r = admin("GET", "/v1/invoices?customerId=" + c["id"])
        self.assertIn(b'"total":10999999999999989,', r.text)
        # One below the total (what a double would print) is refused ...
        r = admin("POST", "/v1/invoices/%s/pay" % inv_id,
                  {"paymentMethod": "pm_card_visa", "amount": 10999999999999988})
        self.assertProblem(r, 400, field="amount")
        # ... and the exact total is taken.
        r = admin("POST", "/v1/invoices/%s/pay" % inv_id,
                  {"paymentMethod": "pm_card_visa", "amount": 10999999999999989})
        self.assertEqual(r.status, 201, r.text)
        self.assertIn(b'"amount":10999999999999989,', r.text)
        self.assertEqual(admin("GET", "/v1/invoices/" + inv_id).body["status"], "paid")

    def test_integers_beyond_int64_are_400_naming_the_field(self):
        prod = ts.new_product()
        r = admin("POST", "/v1/plans", {"productId": prod["id"], "code": "BIG_INT",
                                         "name": "Big", "interval": "MONTH",
                                         "amount": 9223372036854775808})
        self.assertProblem(r, 400, field="amount")
        r = admin("POST", "/v1/plans", {"productId": prod["id"], "code": "BIG_INT",
                                         "name": "Big", "interval": "MONTH",
                                         "amount": 9223372036854775807})
        self.assertProblem(r, 400, field="amount")
        r = admin("GET", "/v1/products?minPriceCents=9007199254740993")
        self.assertEqual(r.status, 200, r.text)
        r = admin("GET", "/v1/products?minPriceCents=9223372036854775808")
        self.assertProblem(r, 400, field="minPriceCents")


if __name__ == "__main__":
    unittest.main(verbosity=1)
