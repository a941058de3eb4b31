#!/usr/bin/env python3
"""HTTP suite for the revenue reports (issue #25; docs/reports.md):
GET /v1/reports/mrr?currency=&at=.

- MRR of a tenant's history, by hand: MONTHLY 9.99 and a yearly 120.06
  (1000.5 a month, rounded half away from zero: 1001); an upgrade of the
  monthly one to PREMIUM 19.99 a day later; asked afterwards, the report of
  the first day is still 999 + 1001 = 2000, today's 1999 + 1001 = 3000, and
  ARR is 12 x MRR;
- a USER reads reports; another tenant's subscriptions never count (each
  test has a tenant of its own on one server);
- bad parameters are 400 naming the field: no currency, a currency that is
  none, an `at` that is no time or in the future, an unknown parameter;
- the answers conform to the OpenAPI document's MrrReport.

Reuses test_server.py's Server and Billing helpers through tenant_case; runs
on the backend BILLING_TEST_BACKEND names, like http_server.
"""
import unittest

import schema
import tenant_case
import test_server as ts


class Reports(tenant_case.TenantCase):
    """A server with the test clock; a tenant per test."""

    def now(self):
        return ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])

    def mrr(self, query, token=None):
        return self.s.request("GET", "/v1/reports/mrr" + query, token=token or self.b.tok)

    def test_mrr_of_a_history_at_past_times(self):
        start = self.now()
        yearly = self.b.plan("YEARLY", 12006, interval="YEAR")
        a = self.b.subscribe()
        self.b.subscribe(plan=yearly, customer=self.b.customer_new())
        r = self.b.req("POST", "/v1/test-clock/advance", {"seconds": 86400})
        self.assertEqual(r.status, 200, r.text)
        self.b.ok("POST", "/v1/subscriptions/%s/change-plan" % a["id"],
                  {"planId": self.b.premium["id"], "prorationBehavior": "none"})

        r = self.mrr("?currency=EUR&at=%s" % ts.fmt_time(start))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body, {"object": "mrr_report", "currency": "EUR",
                                  "at": ts.fmt_time(start), "mrr": 2000, "arr": 24000,
                                  "subscriptions": 2, "customers": 2})
        doc = self.s.request("GET", "/v1/openapi.json").body
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/mrr", 200,
                                                  "application/json", r.body, r.text), [])
        now = self.b.ok("GET", "/v1/reports/mrr?currency=eur")
        self.assertEqual((now["mrr"], now["arr"], now["at"]), (3000, 36000, ts.fmt_time(self.now())))
        # Other tenants' subscriptions (other tests', and this one's on USD) never count.
        self.assertEqual(self.b.ok("GET", "/v1/reports/mrr?currency=USD")["mrr"], 0)

    def test_user_reads_reports(self):
        self.b.subscribe()
        r = self.mrr("?currency=EUR", token=self.user)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["mrr"], r.body["subscriptions"]), (999, 1))

    def test_bad_parameters_name_the_field(self):
        future = ts.fmt_time(self.now() + 3600)
        for query, field in (("", "currency"), ("?currency=EURO", "currency"),
                             ("?currency=XXY", "currency"),
                             ("?currency=EUR&at=yesterday", "at"),
                             ("?currency=EUR&at=%s" % future, "at")):
            with self.subTest(query=query):
                self.assertProblem(self.mrr(query), 400, field=field)
        self.assertProblem(self.mrr("?currency=EUR&from=2026-01-01T00:00:00Z"), 400)


if __name__ == "__main__":
    unittest.main(verbosity=2)
