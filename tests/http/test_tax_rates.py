#!/usr/bin/env python3
"""HTTP suite for tax rates (txr_), the first object on the generic flow:
the routes come from its descriptor (API-HTTP.md, "Billing objects of the
second wave"), with no edit to the server.

- POST/GET /v1/tax-rates, GET/PATCH /v1/tax-rates/{id}; no DELETE (a tax
  rate is archived with active: false);
- percentage is a decimal string out (<= 4 places, 0-100) and a string or a
  number in; percentage and inclusive are fixed after creation (PATCH of
  them is 400 naming the field, changing nothing);
- list filters, sort and search; ETags and If-Match; Idempotency-Key;
  events; roles (USER reads only); tenants never see each other's.

Reuses the server and tenants of test_server.py (its setUpModule), so it runs
on the backend BILLING_TEST_BACKEND names, like http_server.
"""
import unittest

import test_server as ts


def setUpModule():
    ts.setUpModule()


def tearDownModule():
    ts.tearDownModule()


def admin(method, path, body=None, **kw):
    return ts.S.request(method, path, body, token=ts.T["admin_a"], **kw)


def new_rate(**fields):
    n = new_rate.counter = getattr(new_rate, "counter", 0) + 1
    body = {"displayName": "Rate %d" % n, "percentage": "19", "inclusive": False}
    body.update(fields)
    r = admin("POST", "/v1/tax-rates", body)
    assert r.status == 201, r.text
    return r.body


class TaxRates(ts.ProblemAssertions):
    def test_create_get_patch_and_list(self):
        r = admin("POST", "/v1/tax-rates", {
            "displayName": "  VAT ", "percentage": "7.25", "inclusive": True,
            "country": "de", "region": "BY", "description": "reduced",
            "metadata": {"k": "v"}})
        self.assertEqual(r.status, 201, r.text)
        t = r.body
        self.assertTrue(t["id"].startswith("txr_"))
        self.assertEqual(t["object"], "tax_rate")
        self.assertEqual(t["displayName"], "VAT")
        self.assertEqual(t["percentage"], "7.25")
        self.assertIs(t["inclusive"], True)
        self.assertEqual(t["country"], "DE")
        self.assertEqual(t["region"], "BY")
        self.assertIs(t["active"], True)
        self.assertEqual(t["metadata"], {"k": "v"})
        self.assertEqual(t["version"], 1)

        g = admin("GET", "/v1/tax-rates/" + t["id"])
        self.assertEqual(g.status, 200, g.text)
        self.assertEqual(g.body, t)
        self.assertIsNotNone(g.header("ETag"))

        p = admin("PATCH", "/v1/tax-rates/" + t["id"], {"active": False, "description": None})
        self.assertEqual(p.status, 200, p.text)
        self.assertIs(p.body["active"], False)
        self.assertIsNone(p.body["description"])
        self.assertEqual(p.body["percentage"], "7.25")
        self.assertEqual(p.body["version"], 2)

        lst = admin("GET", "/v1/tax-rates?active=false&country=DE")
        self.assertEqual(lst.status, 200, lst.text)
        self.assertIn(t["id"], [x["id"] for x in lst.body["data"]])
        self.assertTrue(all(x["active"] is False for x in lst.body["data"]))

    def test_percentage_is_an_exact_decimal(self):
        for given, shown in (("19", "19"), ("7.2500", "7.25"), (7.5, "7.5"), ("0", "0"),
                             ("100", "100"), ("0.0001", "0.0001")):
            t = new_rate(percentage=given)
            self.assertEqual(t["percentage"], shown, given)
        for bad in ("7.12345", "100.0001", "-1", "abc", 101, True, None):
            r = admin("POST", "/v1/tax-rates",
                      {"displayName": "Bad", "percentage": bad, "inclusive": False})
            self.assertProblem(r, 400, field="percentage")

    def test_bad_input_is_400_naming_the_field(self):
        cases = [
            ({"percentage": "19", "inclusive": False}, "displayName"),
            ({"displayName": "x" * 51, "percentage": "19", "inclusive": False}, "displayName"),
            ({"displayName": "VAT", "inclusive": False}, "percentage"),
            ({"displayName": "VAT", "percentage": "19"}, "inclusive"),
            ({"displayName": "VAT", "percentage": "19", "inclusive": False, "country": "XX"},
             "country"),
            ({"displayName": "VAT", "percentage": "19", "inclusive": False, "region": "BY"},
             "region"),
            ({"displayName": "VAT", "percentage": "19", "inclusive": False, "rate": 1}, "rate"),
        ]
        before = len(admin("GET", "/v1/tax-rates?pageSize=100").body["data"])
        for body, field in cases:
            self.assertProblem(admin("POST", "/v1/tax-rates", body), 400, field=field)
        self.assertEqual(len(admin("GET", "/v1/tax-rates?pageSize=100").body["data"]), before)

    def test_percentage_and_inclusive_are_fixed(self):
        t = new_rate()
        for body, field in (({"percentage": "5"}, "percentage"),
                            ({"inclusive": True}, "inclusive"),
                            ({"displayName": "Renamed", "percentage": "5"}, "percentage")):
            self.assertProblem(admin("PATCH", "/v1/tax-rates/" + t["id"], body), 400,
                               field=field)
        g = admin("GET", "/v1/tax-rates/" + t["id"]).body
        self.assertEqual(g["version"], 1)
        self.assertEqual(g["displayName"], t["displayName"])

    def test_no_delete(self):
        t = new_rate()
        r = admin("DELETE", "/v1/tax-rates/" + t["id"], check=False)
        self.assertIn(r.status, (404, 405), r.text)
        self.assertEqual(admin("GET", "/v1/tax-rates/" + t["id"]).status, 200)

    def test_if_match_guards_against_lost_updates(self):
        t = new_rate()
        etag = admin("GET", "/v1/tax-rates/" + t["id"]).header("ETag")
        ok = admin("PATCH", "/v1/tax-rates/" + t["id"], {"displayName": "First"},
                   headers={"If-Match": etag})
        self.assertEqual(ok.status, 200, ok.text)
        stale = admin("PATCH", "/v1/tax-rates/" + t["id"], {"displayName": "Second"},
                      headers={"If-Match": etag})
        self.assertProblem(stale, 412)
        self.assertEqual(admin("GET", "/v1/tax-rates/" + t["id"]).body["displayName"], "First")

    def test_idempotent_create(self):
        body = {"displayName": "Idem", "percentage": "20", "inclusive": False}
        h = {"Idempotency-Key": "txr-http-1"}
        a = admin("POST", "/v1/tax-rates", body, headers=h)
        b = admin("POST", "/v1/tax-rates", body, headers=h)
        self.assertEqual(a.status, 201, a.text)
        self.assertEqual(b.body["id"], a.body["id"])
        self.assertEqual(b.header("Idempotent-Replayed"), "true")
        other = dict(body, percentage="21")
        self.assertProblem(admin("POST", "/v1/tax-rates", other, headers=h), 409)

    def test_list_sort_search_and_pages(self):
        tag = "Sortable"
        for pct in ("3", "1", "2"):
            new_rate(displayName="%s %s" % (tag, pct), percentage=pct)
        r = admin("GET", "/v1/tax-rates?search=sortable&sortBy=percentage&order=desc")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([x["percentage"] for x in r.body["data"]], ["3", "2", "1"])
        p1 = admin("GET", "/v1/tax-rates?search=sortable&sortBy=percentage&pageSize=2")
        self.assertEqual(p1.body["total"], 3)
        self.assertTrue(p1.body["hasMore"])
        p2 = admin("GET", "/v1/tax-rates?search=sortable&sortBy=percentage&pageSize=2"
                   "&startingAfter=" + p1.body["nextCursor"])
        self.assertEqual([x["percentage"] for x in p1.body["data"] + p2.body["data"]],
                         ["1", "2", "3"])
        self.assertProblem(admin("GET", "/v1/tax-rates?sortBy=country"), 400, field="sortBy")

    def test_events_carry_the_tax_rate(self):
        t = new_rate(displayName="Evented")
        admin("PATCH", "/v1/tax-rates/" + t["id"], {"active": False})
        for typ in ("tax_rate.created", "tax_rate.updated"):
            r = admin("GET", "/v1/events?type=" + typ + "&pageSize=100")
            self.assertEqual(r.status, 200, r.text)
            self.assertIn(t["id"], [e.get("resourceId") or e["data"]["id"]
                                    for e in r.body["data"]])

    def test_user_reads_but_never_writes(self):
        t = new_rate()
        user = ts.T["user_a"]
        self.assertEqual(ts.S.request("GET", "/v1/tax-rates/" + t["id"], token=user).status, 200)
        self.assertEqual(ts.S.request("GET", "/v1/tax-rates", token=user).status, 200)
        self.assertProblem(ts.S.request("POST", "/v1/tax-rates", {"percentage": "x"},
                                        token=user), 403)
        self.assertProblem(ts.S.request("PATCH", "/v1/tax-rates/" + t["id"], {"active": False},
                                        token=user), 403)

    def test_tenants_never_see_each_others(self):
        t = new_rate()
        b = ts.T["admin_b"]
        self.assertProblem(ts.S.request("GET", "/v1/tax-rates/" + t["id"], token=b), 404)
        self.assertProblem(ts.S.request("PATCH", "/v1/tax-rates/" + t["id"], {"active": False},
                                        token=b), 404)
        lst = ts.S.request("GET", "/v1/tax-rates?pageSize=100", token=b)
        self.assertNotIn(t["id"], [x["id"] for x in lst.body["data"]])


if __name__ == "__main__":
    unittest.main()
