#!/usr/bin/env python3
"""HTTP suite for taxes (issue #22; docs/billing.md "Taxes"): a customer's
taxExempt and taxIds on POST/PATCH /v1/customers.

- an EU B2B customer with a VAT id and reverse charge: the ids come back
  normalized (upper case, no spaces or dots) on create, GET and list; a
  PATCH changes taxExempt and replaces the ids; [] removes them;
- a customer created without them is taxExempt none with taxIds [];
- bad input is a 400 naming the field (an id not of its type's format,
  with the index: taxIds[1].value; an unknown type; a wrong check digit; a
  taxExempt outside none/exempt/reverse; more than 5 ids) and changes
  nothing; a USER may read but not write (403);
- an invoice item's taxRates tax its line on a draft in place of the
  defaults; PATCH changes them and the draft follows; bad ids are 400
  taxRates (resource_missing) and change nothing;
- a draft's defaultTaxRates (POST/PATCH /v1/invoices) tax its lines without
  rates of their own; finalize computes the taxes again as things then are
  (a customer exempt since: no tax);
- every answer conforms to the OpenAPI document (test_server.py checks).

Reuses test_server.py's Server and Billing helpers through tenant_case; runs
on the backend BILLING_TEST_BACKEND names, like http_server.
"""
import unittest

import tenant_case


class Taxes(tenant_case.TenantCase):
    """A server with the test clock; a tenant per test."""

    def test_eu_b2b_customer_with_vat_id_and_reverse_charge(self):
        c = self.b.ok("POST", "/v1/customers", {
            "name": "Muster GmbH", "email": "ap@muster.example", "taxExempt": "reverse",
            "taxIds": [{"type": "eu_vat", "value": "de 123.456.789"},
                       {"type": "ch_vat", "value": "CHE-116.281.710 MWST"}]})
        self.assertEqual(c["taxExempt"], "reverse")
        want = [{"type": "eu_vat", "value": "DE123456789"},
                {"type": "ch_vat", "value": "CHE116281710MWST"}]
        self.assertEqual(c["taxIds"], want)
        got = self.b.ok("GET", "/v1/customers/%s" % c["id"])
        self.assertEqual((got["taxExempt"], got["taxIds"]), ("reverse", want))
        listed = [x for x in self.b.ok("GET", "/v1/customers")["data"] if x["id"] == c["id"]]
        self.assertEqual(listed[0]["taxIds"], want)

        p = self.b.ok("PATCH", "/v1/customers/%s" % c["id"], {
            "taxExempt": "exempt", "taxIds": [{"type": "us_ein", "value": "123456789"}]})
        self.assertEqual(p["taxExempt"], "exempt")
        self.assertEqual(p["taxIds"], [{"type": "us_ein", "value": "12-3456789"}])
        self.assertEqual(p["name"], "Muster GmbH")
        p = self.b.ok("PATCH", "/v1/customers/%s" % c["id"], {"taxIds": []})
        self.assertEqual((p["taxExempt"], p["taxIds"]), ("exempt", []))

    def test_defaults(self):
        c = self.b.ok("POST", "/v1/customers", {"name": "Ada", "email": "ada@example.com"})
        self.assertEqual((c["taxExempt"], c["taxIds"]), ("none", []))
        p = self.b.ok("PATCH", "/v1/customers/%s" % c["id"], {"name": "Ada L."})
        self.assertEqual((p["taxExempt"], p["taxIds"]), ("none", []))

    def test_bad_input_names_the_field_and_changes_nothing(self):
        c = self.b.ok("POST", "/v1/customers", {
            "name": "Kunde", "email": "k@example.com",
            "taxIds": [{"type": "gb_vat", "value": "GB123456789"}]})
        path = "/v1/customers/%s" % c["id"]
        cases = [
            ({"taxIds": [{"type": "eu_vat", "value": "DE123456789"},
                         {"type": "eu_vat", "value": "DE12345"}]}, "taxIds[1].value"),
            ({"taxIds": [{"type": "xx_vat", "value": "DE123456789"}]}, "taxIds[0].type"),
            ({"taxIds": [{"type": "no_vat", "value": "923609017MVA"}]}, "taxIds[0].value"),
            ({"taxIds": [{"type": "au_abn", "value": "51 824 753 557"}]},
             "taxIds[0].value"),
            ({"taxIds": [{"type": "eu_vat"}]}, "taxIds[0].type"),
            ({"taxIds": [{"type": "eu_vat", "value": "DE123456789"}] * 6}, "taxIds"),
            ({"taxExempt": "sometimes"}, "taxExempt"),
        ]
        for body, field in cases:
            with self.subTest(field=field, body=body):
                self.assertProblem(self.b.req("PATCH", path, body), 400, field=field)
                bad = dict(body, name="New", email="new-%d@example.com" % len(field))
                self.assertProblem(self.b.req("POST", "/v1/customers", bad), 400, field=field)
        got = self.b.ok("GET", path)
        self.assertEqual((got["taxExempt"], got["taxIds"], got["version"]),
                         ("none", [{"type": "gb_vat", "value": "GB123456789"}], c["version"]))

    def test_user_reads_but_may_not_write(self):
        c = self.b.ok("POST", "/v1/customers", {"name": "Ada", "email": "ada@example.com",
                                                "taxExempt": "exempt"})
        r = self.s.request("GET", "/v1/customers/%s" % c["id"], token=self.user)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body["taxExempt"], "exempt")
        r = self.s.request("PATCH", "/v1/customers/%s" % c["id"], {"taxExempt": "none"},
                           token=self.user)
        self.assertProblem(r, 403)

    def rate(self, pct, inclusive=False):
        return self.b.ok("POST", "/v1/tax-rates", {
            "displayName": "VAT %s" % pct, "percentage": pct, "inclusive": inclusive})["id"]

    def test_invoice_item_tax_rates_on_a_draft(self):
        r7, r19 = self.rate("7"), self.rate("19")
        c = self.b.ok("POST", "/v1/customers", {"name": "Ada", "email": "ada@example.com"})
        book = self.b.ok("POST", "/v1/invoice-items", {
            "customerId": c["id"], "currency": "EUR", "description": "Book",
            "amount": 2000, "taxRates": [r7]})
        self.assertEqual(book["taxRates"], [r7])
        d = self.b.ok("POST", "/v1/invoices", {"customerId": c["id"], "currency": "EUR"})
        line = d["lines"][0]
        self.assertEqual((line["taxAmount"], line["taxAmounts"][0]["taxRateId"]), (140, r7))
        self.assertEqual((d["subtotal"], d["tax"], d["total"]), (2000, 140, 2140))
        self.assertEqual([t["taxRateId"] for t in d["totalTaxAmounts"]], [r7])

        p = self.b.ok("PATCH", "/v1/invoice-items/%s" % book["id"], {"taxRates": [r19]})
        self.assertEqual(p["taxRates"], [r19])
        d = self.b.ok("GET", "/v1/invoices/%s" % d["id"])
        self.assertEqual((d["tax"], d["total"]), (380, 2380))

        bad = "txr_00000000000000000000000000"
        self.assertProblem(self.b.req("PATCH", "/v1/invoice-items/%s" % book["id"],
                                      {"taxRates": [bad]}), 400, field="taxRates")
        self.assertProblem(self.b.req("POST", "/v1/invoice-items", {
            "customerId": c["id"], "currency": "EUR", "description": "X", "amount": 1,
            "taxRates": [r7, r7]}), 400, field="taxRates")
        got = self.b.ok("GET", "/v1/invoice-items/%s" % book["id"])
        self.assertEqual((got["taxRates"], got["version"]), ([r19], p["version"]))
        self.assertEqual(self.b.ok("GET", "/v1/invoices/%s" % d["id"])["tax"], 380)

    def test_draft_default_tax_rates_and_finalization(self):
        r19 = self.rate("19")
        c = self.b.ok("POST", "/v1/customers", {"name": "Bo", "email": "bo@example.com"})
        self.b.ok("POST", "/v1/invoice-items", {
            "customerId": c["id"], "currency": "EUR", "description": "Audit", "amount": 1000})
        d = self.b.ok("POST", "/v1/invoices", {"customerId": c["id"], "currency": "EUR",
                                               "defaultTaxRates": [r19]})
        self.assertEqual((d["defaultTaxRates"], d["tax"], d["total"]), ([r19], 190, 1190))
        path = "/v1/invoices/%s" % d["id"]
        d = self.b.ok("PATCH", path, {"defaultTaxRates": None})
        self.assertEqual((d["defaultTaxRates"], d["tax"]), ([], 0))
        self.assertProblem(self.b.req("PATCH", path, {"defaultTaxRates": ["txr_x"]}), 400,
                           field="defaultTaxRates")
        d = self.b.ok("PATCH", path, {"defaultTaxRates": [r19]})
        self.assertEqual(d["tax"], 190)
        self.b.ok("PATCH", "/v1/customers/%s" % c["id"], {"taxExempt": "exempt"})
        f = self.b.ok("POST", path + "/finalize")
        self.assertEqual((f["tax"], f["total"], f["customerTaxExempt"]), (0, 1000, "exempt"))


if __name__ == "__main__":
    unittest.main()
