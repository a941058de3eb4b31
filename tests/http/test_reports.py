#!/usr/bin/env python3
"""HTTP suite for the revenue reports (issue #25; docs/reports.md):
GET /v1/reports/mrr?currency=&at= and
GET /v1/reports/mrr-movements?currency=&from=&to=,
GET /v1/reports/receivables-aging?currency=&at= and
GET /v1/reports/churn?currency=&from=&to=,
GET /v1/reports/arpa?currency=&at=,
GET /v1/reports/trial-conversion?from=&to=,
GET /v1/reports/revenue?currency=&from=&to= and
GET /v1/reports/payment-recovery?currency=&from=&to=.

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
- MRR movements: MONTHLY 9.99 and the yearly 120.06 (1001) new in the
  first month, the upgrade to PREMIUM 40 days later an expansion of 1000 in
  the month it falls in, and each month's startMrr plus its movements is
  its endMrr, the report of GET /v1/reports/mrr at its end; a USER reads
  them; bad ranges are 400 naming from or to; the answer conforms to
  MrrMovementsReport.
- receivables ageing: a send_invoice invoice of 42.00 due in 10 days is
  current when finalized and 1-30 days past due 15 days later, asked
  afterwards for both times; another of 10.00 voided since was open at the
  first time; a USER reads; bad parameters are 400 naming the field; the
  answer conforms to ReceivablesAgingReport.
- invoiced vs collected and payment recovery (in Aging's class: no server of
  its own): a subscription charged (9.99 and its tax), one declined, a
  send_invoice invoice of 10.00 voided, 1.00 of the first payment refunded,
  then the declined customer's card replaced and the first dunning retry
  (a day later) paying: over the months from the start's to the next
  one's, finalized = the three totals, voided = -the third, paid = the two
  others, refunded -100, nothing outstanding at the end; recovery: one
  invoice failed, recovered with its total, "100.00"; USD none, null; a USER
  reads both; bad currency, from and to are 400 naming the field; the
  answers conform to RevenueReport and PaymentRecoveryReport.
- churn: of MONTHLY 9.99 and the yearly 1001, a day later the monthly one
  upgraded to PREMIUM (+1000) and the yearly canceled now (-1001): one of
  two customers churned, "50.00" %; revenue churn gross 1001 / 2000 =
  "50.05" %, net "0.05" %; a USER reads; bad currency, from and to are 400
  naming the field; the answer conforms to ChurnReport.
- arpa: the MRR history above over its two paying customers, at the start
  (2000 / 2 = 1000) and now (3000 / 2 = 1500); USD, where nobody pays, is
  null; a USER reads; bad currency and at are 400 naming the field; the
  answer conforms to ArpaReport.
- trial conversion (in Churn's class: no server of its own): three 14-day
  trials, one customer's card (pm_card_visa) charged at the end
  (converted), one without a payment method (its first invoice waits:
  ended unpaid), one canceled during its trial; another tenant's converted
  trial never counts: 3 trials, 1 converted, "33.33" %; a range with none
  is null; a USER reads; bad from and to are 400 naming the field; the
  answer conforms to TrialConversionReport.

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

    def arpa(self, query, token=None):
        return self.s.request("GET", "/v1/reports/arpa" + query, token=token or self.b.tok)

    def test_arpa(self):
        start = self.now()
        yearly = self.b.plan("YEARLY", 12006, interval="YEAR")
        a = self.b.subscribe()
        self.b.subscribe(plan=yearly, customer=self.b.customer_new())
        r = self.b.req("POST", "/v1/test-clock/advance", {"seconds": 86400})
        self.assertEqual(r.status, 200, r.text)
        self.b.ok("POST", "/v1/subscriptions/%s/change-plan" % a["id"],
                  {"planId": self.b.premium["id"], "prorationBehavior": "none"})
        r = self.arpa("?currency=EUR&at=%s" % ts.fmt_time(start), token=self.user)
        self.assertEqual(r.status, 200, r.text)
        doc = self.s.request("GET", "/v1/openapi.json").body
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/arpa", 200,
                                                  "application/json", r.body, r.text), [])
        self.assertEqual(r.body, {"object": "arpa_report", "currency": "EUR",
                                  "at": ts.fmt_time(start), "mrr": 2000,
                                  "payingCustomers": 2, "arpa": 1000})
        now = self.b.ok("GET", "/v1/reports/arpa?currency=eur")
        self.assertEqual((now["mrr"], now["payingCustomers"], now["arpa"], now["at"]),
                         (3000, 2, 1500, ts.fmt_time(self.now())))
        usd = self.arpa("?currency=USD")
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/arpa", 200,
                                                  "application/json", usd.body, usd.text), [])
        self.assertEqual((usd.body["payingCustomers"], usd.body["arpa"]), (0, None))
        future = ts.fmt_time(self.now() + 3600)
        for query, field in (("", "currency"), ("?currency=EURO", "currency"),
                             ("?currency=EUR&at=yesterday", "at"),
                             ("?currency=EUR&at=%s" % future, "at")):
            with self.subTest(query=query):
                self.assertProblem(self.arpa(query), 400, field=field)


def month_floor(t):
    d = ts.fmt_time(t)
    return ts.parse_time(d[:8] + "01T00:00:00Z")


def next_month(t):
    return month_floor(month_floor(t) + 31 * 86400)


class Movements(tenant_case.TenantCase):
    """MRR movements per month over HTTP."""

    def now(self):
        return ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])

    def movements(self, query, token=None):
        return self.s.request("GET", "/v1/reports/mrr-movements" + query,
                              token=token or self.b.tok)

    def test_movements_of_a_history(self):
        start = self.now()
        yearly = self.b.plan("YEARLY", 12006, interval="YEAR")
        a = self.b.subscribe()
        self.b.subscribe(plan=yearly, customer=self.b.customer_new())
        r = self.b.req("POST", "/v1/test-clock/advance", {"seconds": 40 * 86400})
        self.assertEqual(r.status, 200, r.text)
        self.b.ok("POST", "/v1/subscriptions/%s/change-plan" % a["id"],
                  {"planId": self.b.premium["id"], "prorationBehavior": "none"})
        now = self.now()
        query = "?currency=EUR&from=%s&to=%s" % (ts.fmt_time(month_floor(start)),
                                                 ts.fmt_time(next_month(now)))
        r = self.movements(query, token=self.user)
        self.assertEqual(r.status, 200, r.text)
        doc = self.s.request("GET", "/v1/openapi.json").body
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/mrr-movements", 200,
                                                  "application/json", r.body, r.text), [])
        body = r.body
        self.assertEqual((body["object"], body["currency"]), ("mrr_movements_report", "EUR"))
        months = body["months"]
        self.assertEqual(months[0]["start"], ts.fmt_time(month_floor(start)))
        self.assertEqual(months[-1]["end"], ts.fmt_time(now))
        first = months[0]
        self.assertEqual((first["startMrr"], first["new"], first["newCustomers"]),
                         (0, 2000, 2))
        upgraded = months[-1]   # now's month: 40 days after the first
        self.assertEqual((upgraded["expansion"], upgraded["expansionCustomers"]), (1000, 1))
        for m in months:
            with self.subTest(month=m["start"]):
                self.assertEqual(m["startMrr"] + m["new"] + m["expansion"] + m["contraction"] +
                                 m["churned"] + m["reactivated"], m["endMrr"])
                at_end = self.b.ok("GET", "/v1/reports/mrr?currency=EUR&at=%s" % m["end"])
                self.assertEqual(at_end["mrr"], m["endMrr"])
        self.assertEqual(months[-1]["endMrr"], 3000)
        self.assertEqual(sum(m["expansion"] for m in months), 1000)

    def test_bad_ranges_name_the_field(self):
        now = self.now()
        this = month_floor(now)
        nxt = ts.fmt_time(next_month(now))
        for query, field in (
                ("?from=%s&to=%s" % (ts.fmt_time(this), nxt), "currency"),
                ("?currency=EUR&to=%s" % nxt, "from"),
                ("?currency=EUR&from=%s" % ts.fmt_time(this), "to"),
                ("?currency=EUR&from=%s&to=%s" % (ts.fmt_time(this + 60), nxt), "from"),
                ("?currency=EUR&from=%s&to=%s" % (ts.fmt_time(this), ts.fmt_time(this)), "to"),
                ("?currency=EUR&from=%s&to=%s" % (
                    ts.fmt_time(this), ts.fmt_time(next_month(next_month(now)))), "to")):
            with self.subTest(query=query):
                self.assertProblem(self.movements(query), 400, field=field)


class Churn(tenant_case.TenantCase):
    """Customer and revenue churn over HTTP."""

    def now(self):
        return ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])

    def churn(self, query, token=None):
        return self.s.request("GET", "/v1/reports/churn" + query, token=token or self.b.tok)

    def test_churn_of_a_history(self):
        start = self.now()
        yearly = self.b.plan("YEARLY", 12006, interval="YEAR")
        a = self.b.subscribe()
        y = self.b.subscribe(plan=yearly, customer=self.b.customer_new())
        r = self.b.req("POST", "/v1/test-clock/advance", {"seconds": 86400})
        self.assertEqual(r.status, 200, r.text)
        self.b.ok("POST", "/v1/subscriptions/%s/change-plan" % a["id"],
                  {"planId": self.b.premium["id"], "prorationBehavior": "none"})
        self.b.ok("POST", "/v1/subscriptions/%s/cancel" % y["id"], {})
        now = self.now()
        r = self.churn("?currency=EUR&from=%s&to=%s" % (ts.fmt_time(start), ts.fmt_time(now)),
                       token=self.user)
        self.assertEqual(r.status, 200, r.text)
        doc = self.s.request("GET", "/v1/openapi.json").body
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/churn", 200,
                                                  "application/json", r.body, r.text), [])
        self.assertEqual(r.body, {"object": "churn_report", "currency": "EUR",
                                  "from": ts.fmt_time(start), "to": ts.fmt_time(now),
                                  "startCustomers": 2, "churnedCustomers": 1,
                                  "customerChurnRate": "50.00", "startMrr": 2000,
                                  "churnedMrr": -1001, "contractionMrr": 0,
                                  "expansionMrr": 1000, "grossRevenueChurnRate": "50.05",
                                  "netRevenueChurnRate": "0.05"})

    def test_bad_parameters_name_the_field(self):
        now = self.now()
        past, future = ts.fmt_time(now - 86400), ts.fmt_time(now + 3600)
        for query, field in (("?from=%s&to=%s" % (past, ts.fmt_time(now)), "currency"),
                             ("?currency=EURO&from=%s&to=%s" % (past, ts.fmt_time(now)),
                              "currency"),
                             ("?currency=EUR&to=%s" % ts.fmt_time(now), "from"),
                             ("?currency=EUR&from=%s" % past, "to"),
                             ("?currency=EUR&from=%s&to=%s" % (past, future), "to"),
                             ("?currency=EUR&from=%s&to=%s" % (past, past), "to")):
            with self.subTest(query=query):
                self.assertProblem(self.churn(query), 400, field=field)


    def trials(self, query, token=None):
        return self.s.request("GET", "/v1/reports/trial-conversion" + query,
                              token=token or self.b.tok)

    def test_trial_conversion(self):
        start = self.now()
        self.b.subscribe(customer=self.b.customer_new(defaultPaymentMethod="pm_card_visa"),
                         trialDays=14)
        self.b.subscribe(customer=self.b.customer_new(), trialDays=14)
        gone = self.b.subscribe(customer=self.b.customer_new(), trialDays=14)
        self.b.ok("POST", "/v1/subscriptions/%s/cancel" % gone["id"], {})
        tenant = self.s.cli("tenant", "create", "--name", "Other trials").stdout.decode().strip()
        other = ts.Billing(self.s, ts.make_token(ts.claims_for(tenant)))
        other.subscribe(customer=other.customer_new(defaultPaymentMethod="pm_card_visa"),
                        trialDays=14)
        r = self.b.req("POST", "/v1/test-clock/advance", {"seconds": 14 * 86400 + 60})
        self.assertEqual(r.status, 200, r.text)
        # The run wrote the trials' ends at the clock's time: a range is
        # [from, to), so to comes a minute later.
        r = self.b.req("POST", "/v1/test-clock/advance", {"seconds": 60})
        self.assertEqual(r.status, 200, r.text)
        now = self.now()
        r = self.trials("?from=%s&to=%s" % (ts.fmt_time(start), ts.fmt_time(now)),
                        token=self.user)
        self.assertEqual(r.status, 200, r.text)
        doc = self.s.request("GET", "/v1/openapi.json").body
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/trial-conversion",
                                                  200, "application/json", r.body, r.text), [])
        self.assertEqual(r.body, {"object": "trial_conversion_report",
                                  "from": ts.fmt_time(start), "to": ts.fmt_time(now),
                                  "trialsEnded": 3, "converted": 1, "canceledDuringTrial": 1,
                                  "endedUnpaid": 1, "conversionRate": "33.33"})
        none = self.trials("?from=%s&to=%s" % (ts.fmt_time(start - 86400), ts.fmt_time(start)))
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/trial-conversion",
                                                  200, "application/json", none.body,
                                                  none.text), [])
        self.assertEqual((none.body["trialsEnded"], none.body["conversionRate"]), (0, None))
        past, future = ts.fmt_time(now - 86400), ts.fmt_time(now + 3600)
        for query, field in (("?to=%s" % ts.fmt_time(now), "from"),
                             ("?from=soon&to=%s" % ts.fmt_time(now), "from"),
                             ("?from=%s" % past, "to"),
                             ("?from=%s&to=%s" % (past, future), "to"),
                             ("?from=%s&to=%s" % (past, past), "to")):
            with self.subTest(query=query):
                self.assertProblem(self.trials(query), 400, field=field)


class Aging(tenant_case.TenantCase):
    """Receivables ageing, invoiced vs collected and payment recovery over HTTP."""

    def now(self):
        return ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])

    def invoice(self, amount):
        c = self.b.customer_new()
        d = self.b.ok("POST", "/v1/invoices", {"customerId": c["id"], "currency": "EUR",
                                               "collectionMethod": "send_invoice",
                                               "daysUntilDue": 10})
        self.b.ok("POST", "/v1/invoice-items", {"customerId": c["id"], "invoiceId": d["id"],
                                                "currency": "EUR", "amount": amount,
                                                "description": "Work"})
        return self.b.ok("POST", "/v1/invoices/%s/finalize" % d["id"], {})

    def test_aging_at_two_times(self):
        start = self.now()
        self.invoice(4200)
        voided = self.invoice(1000)
        r = self.b.req("POST", "/v1/test-clock/advance", {"seconds": 15 * 86400})
        self.assertEqual(r.status, 200, r.text)
        self.b.ok("POST", "/v1/invoices/%s/void" % voided["id"], {})
        r = self.s.request("GET", "/v1/reports/receivables-aging?currency=EUR&at=%s"
                           % ts.fmt_time(start), token=self.user)
        self.assertEqual(r.status, 200, r.text)
        doc = self.s.request("GET", "/v1/openapi.json").body
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/receivables-aging",
                                                  200, "application/json", r.body, r.text), [])
        self.assertEqual(r.body, {"object": "receivables_aging_report", "currency": "EUR",
                                  "at": ts.fmt_time(start), "current": 5200, "days1To30": 0,
                                  "days31To60": 0, "days61To90": 0, "daysOver90": 0,
                                  "total": 5200, "invoices": 2, "invoicesPastDue": 0})
        now = self.b.ok("GET", "/v1/reports/receivables-aging?currency=eur")
        self.assertEqual((now["current"], now["days1To30"], now["total"], now["invoices"],
                          now["invoicesPastDue"]), (0, 4200, 4200, 1, 1))

    def test_bad_parameters_name_the_field(self):
        future = ts.fmt_time(self.now() + 3600)
        for query, field in (("", "currency"), ("?currency=EURO", "currency"),
                             ("?currency=EUR&at=yesterday", "at"),
                             ("?currency=EUR&at=%s" % future, "at")):
            with self.subTest(query=query):
                self.assertProblem(self.s.request(
                    "GET", "/v1/reports/receivables-aging" + query, token=self.b.tok), 400,
                    field=field)

    def test_revenue_and_payment_recovery(self):
        start = self.now()
        paid = self.b.subscribe(customer=self.b.customer_new(
            defaultPaymentMethod="pm_card_visa"))
        bad = self.b.customer_new(defaultPaymentMethod="pm_card_chargeDeclined")
        failed = self.b.subscribe(customer=bad)
        self.assertEqual(failed["status"], "past_due")
        voided = self.invoice(1000)
        self.b.ok("POST", "/v1/invoices/%s/void" % voided["id"], {})
        first = self.b.ok("GET", "/v1/invoices/%s" % paid["latestInvoiceId"])
        second = self.b.ok("GET", "/v1/invoices/%s" % failed["latestInvoiceId"])
        pay = self.b.ok("GET", "/v1/payments?invoiceId=%s" % first["id"])["data"][0]
        self.b.ok("POST", "/v1/payments/%s/refund" % pay["id"], {"amount": 100})
        # A good card, and the first dunning retry (a day later) pays.
        self.b.ok("PATCH", "/v1/customers/%s" % bad["id"],
                  {"defaultPaymentMethod": "pm_card_visa"})
        r = self.b.req("POST", "/v1/test-clock/advance", {"seconds": 86400 + 60})
        self.assertEqual(r.status, 200, r.text)
        r = self.b.req("POST", "/v1/test-clock/advance", {"seconds": 60})
        self.assertEqual(r.status, 200, r.text)
        now = self.now()
        doc = self.s.request("GET", "/v1/openapi.json").body

        frm, to = ts.fmt_time(month_floor(start)), ts.fmt_time(next_month(now))
        r = self.s.request("GET", "/v1/reports/revenue?currency=EUR&from=%s&to=%s" % (frm, to),
                           token=self.user)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/revenue", 200,
                                                  "application/json", r.body, r.text), [])
        months = r.body["months"]
        self.assertEqual((r.body["object"], r.body["currency"], r.body["from"], r.body["to"],
                          months[0]["start"], months[-1]["end"]),
                         ("revenue_report", "EUR", frm, to, frm, ts.fmt_time(now)))
        total = {k: sum(m[k] for m in months) for k in months[0] if k not in ("start", "end")}
        del total["outstanding"]
        self.assertEqual(total, {
            "finalized": first["total"] + second["total"] + voided["total"],
            "voided": -voided["total"],
            "invoiced": first["total"] + second["total"],
            "paid": first["total"] + second["total"], "refunded": -100,
            "collected": first["total"] + second["total"] - 100})
        self.assertEqual(months[-1]["outstanding"], 0)

        r = self.s.request("GET", "/v1/reports/payment-recovery?currency=EUR&from=%s&to=%s"
                           % (ts.fmt_time(start), ts.fmt_time(now)), token=self.user)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/reports/payment-recovery",
                                                  200, "application/json", r.body, r.text), [])
        self.assertEqual(r.body, {"object": "payment_recovery_report", "currency": "EUR",
                                  "from": ts.fmt_time(start), "to": ts.fmt_time(now),
                                  "failedInvoices": 1, "failedAmount": second["total"],
                                  "recovered": 1, "recoveredAmount": second["total"],
                                  "open": 0, "uncollectible": 0, "voided": 0,
                                  "recoveryRate": "100.00"})
        none = self.b.ok("GET", "/v1/reports/payment-recovery?currency=USD&from=%s&to=%s"
                         % (ts.fmt_time(start), ts.fmt_time(now)))
        self.assertEqual((none["failedInvoices"], none["recoveryRate"]), (0, None))

    def test_revenue_and_recovery_bad_parameters_name_the_field(self):
        now = self.now()
        this, nxt = ts.fmt_time(month_floor(now)), ts.fmt_time(next_month(now))
        past, future = ts.fmt_time(now - 86400), ts.fmt_time(now + 3600)
        for query, field in (("?from=%s&to=%s" % (this, nxt), "currency"),
                             ("?currency=EURO&from=%s&to=%s" % (this, nxt), "currency"),
                             ("?currency=EUR&to=%s" % nxt, "from"),
                             ("?currency=EUR&from=%s&to=%s" % (past, nxt), "from"),
                             ("?currency=EUR&from=%s" % this, "to"),
                             ("?currency=EUR&from=%s&to=%s" % (this, this), "to"),
                             ("?currency=EUR&from=%s&to=%s" % (
                                 this, ts.fmt_time(next_month(next_month(now)))), "to")):
            with self.subTest(report="revenue", query=query):
                self.assertProblem(self.s.request("GET", "/v1/reports/revenue" + query,
                                                  token=self.b.tok), 400, field=field)
        for query, field in (("?from=%s&to=%s" % (past, ts.fmt_time(now)), "currency"),
                             ("?currency=EUR&to=%s" % ts.fmt_time(now), "from"),
                             ("?currency=EUR&from=soon&to=%s" % ts.fmt_time(now), "from"),
                             ("?currency=EUR&from=%s" % past, "to"),
                             ("?currency=EUR&from=%s&to=%s" % (past, future), "to"),
                             ("?currency=EUR&from=%s&to=%s" % (past, past), "to")):
            with self.subTest(report="payment-recovery", query=query):
                self.assertProblem(self.s.request("GET", "/v1/reports/payment-recovery" + query,
                                                  token=self.b.tok), 400, field=field)


if __name__ == "__main__":
    unittest.main(verbosity=2)
