#!/usr/bin/env python3
"""HTTP suite for disputes (dp_, issue #18 item 6): recorded only from the
provider's signed charge.dispute.created / .updated / .closed webhooks
(POST /v1/webhooks/stripe, Stripe's event format and signature, as the test
provider speaks them), read with GET /v1/disputes and /v1/disputes/{id}, whose
routes come from the descriptor alone.

- the first event records the dispute; replays are "duplicate" and change
  nothing; an "updated" before "created" creates it and the late "created"
  changes nothing; an older event changes nothing; closed (won / lost) is
  final; events dispute.created / .updated / .closed carry the status;
- a lost dispute leaves the payment succeeded and unrefunded and the invoice
  paid (as in Stripe);
- filters paymentId, customerId, status; USER reads; no write routes; other
  tenants see nothing; every answer conforms to the OpenAPI document.

Reuses test_server.py's Server, Billing and Stripe signing helpers; runs on
the backend BILLING_TEST_BACKEND names, like http_server.
"""
import unittest

import tenant_case
import test_server as ts


class Disputes(tenant_case.TenantCase):
    """A server with the test clock and the test provider's webhook secret; a
    tenant per test."""

    SERVER_ENV = tenant_case.WEBHOOK_ENV

    def setUp(self):
        super().setUp()
        sub = self.b.subscribe(customer=self.b.customer_new(defaultPaymentMethod="pm_card_visa"))
        self.invoice = sub["latestInvoiceId"]
        pays = self.b.ok("GET", "/v1/payments?invoiceId=" + self.invoice)["data"]
        self.assertEqual(len(pays), 1)
        self.pay = pays[0]
        self.assertEqual(self.pay["status"], "succeeded")
        self.now = ts.parse_time(self.b.ok("GET", "/v1/test-clock")["now"])

    def dispute_obj(self, status, dp="dp_http_1", amount=None, due=None, reason="fraudulent"):
        return {"id": dp, "object": "dispute", "charge": "ch_1",
                "payment_intent": self.pay["providerRef"],
                "amount": self.pay["amount"] if amount is None else amount,
                "currency": self.pay["currency"].lower(), "reason": reason, "status": status,
                "evidence_details": {"due_by": due, "has_evidence": False},
                "metadata": {"tenant_id": self.tenant, "payment_id": self.pay["id"]}}

    def event(self, kind, status, at=0, **kw):
        return ts.stripe_event("charge.dispute." + kind, self.dispute_obj(status, **kw),
                               self.now + at)

    def send(self, body, outcome):
        r = self.s.request("POST", "/v1/webhooks/stripe", raw=body, headers={
            "Content-Type": "application/json",
            "Stripe-Signature": ts.stripe_signature(body, self.now)})
        self.assertEqual((r.status, r.body.get("outcome")), (200, outcome), r.text)

    def disputes(self, query=""):
        return self.b.ok("GET", "/v1/disputes?paymentId=" + self.pay["id"] + query)["data"]

    def events(self, kind):
        return self.b.ok("GET", "/v1/events?type=dispute." + kind)["data"]

    def test_created_then_lost_leaves_payment_and_invoice(self):
        due = self.now + 7 * 86400
        created = self.event("created", "needs_response", amount=500, due=due)
        self.send(created, "applied")
        [d] = self.disputes()
        self.assertTrue(d["id"].startswith("dp_"), d)
        self.assertEqual((d["object"], d["paymentId"], d["invoiceId"], d["customerId"],
                          d["provider"], d["providerRef"], d["amount"], d["currency"],
                          d["reason"], d["status"], d["closedAt"], d["metadata"], d["version"]),
                         ("dispute", self.pay["id"], self.invoice, self.pay["customerId"],
                          "test", "dp_http_1", 500, self.pay["currency"], "fraudulent",
                          "needs_response", None, {}, 1))
        self.assertEqual(ts.parse_time(d["evidenceDueBy"]), due)
        r = self.b.req("GET", "/v1/disputes/" + d["id"])
        self.assertEqual((r.status, r.body), (200, d))
        self.assertEqual(r.header("ETag"), 'W/"1"')
        self.assertEqual(len(self.b.ok("GET", "/v1/events?type=payment.disputed")["data"]), 1)
        # Replayed: a duplicate, nothing changes.
        self.send(created, "duplicate")
        self.assertEqual(self.disputes(), [d])
        # Lost.
        self.send(self.event("closed", "lost", at=60, amount=500, due=due), "applied")
        [d] = self.disputes()
        self.assertEqual((d["status"], d["version"]), ("lost", 2))
        self.assertIsNotNone(d["closedAt"])
        [ev] = self.events("closed")
        self.assertEqual((ev["data"]["id"], ev["data"]["status"], ev["data"]["amount"]),
                         (d["id"], "lost", 500))
        # As in Stripe: the payment is not refunded, the invoice stays paid.
        pay = self.b.ok("GET", "/v1/payments/" + self.pay["id"])
        self.assertEqual((pay["status"], pay["refundedAmount"], pay["version"]),
                         ("succeeded", 0, self.pay["version"]))
        self.assertEqual(self.b.ok("GET", "/v1/invoices/" + self.invoice)["status"], "paid")
        # Closed is final: a newer update does not reopen it.
        self.send(self.event("updated", "under_review", at=120), "ignored")
        self.assertEqual(self.disputes()[0]["status"], "lost")

    def test_out_of_order_and_replays(self):
        created = self.event("created", "needs_response", at=0)
        updated = self.event("updated", "under_review", at=10)
        older = self.event("updated", "needs_response", at=5)
        # updated arrives first: it creates the dispute.
        self.send(updated, "applied")
        [d] = self.disputes()
        self.assertEqual((d["status"], d["version"]), ("under_review", 1))
        self.send(updated, "duplicate")
        self.send(created, "ignored")
        self.send(older, "ignored")
        self.send(created, "duplicate")
        self.assertEqual(self.disputes(), [d])
        self.assertEqual(len(self.events("created")), 1)
        self.assertEqual(self.events("updated"), [])
        # Won, first heard of for another dispute: created closed.
        self.send(self.event("closed", "won", at=20, dp="dp_http_2"), "applied")
        self.assertEqual([x["status"] for x in self.disputes("&status=won")], ["won"])
        [ev] = self.events("closed")
        self.assertEqual(ev["data"]["status"], "won")

    def test_filters_roles_tenants_and_no_writes(self):
        self.send(self.event("created", "warning_needs_response", dp="dp_a"), "applied")
        self.send(self.event("closed", "warning_closed", at=1, dp="dp_b"), "applied")
        all_ = self.b.ok("GET", "/v1/disputes")["data"]
        self.assertEqual(len(all_), 2)
        self.assertEqual([d["providerRef"] for d in
                          self.b.ok("GET", "/v1/disputes?status=warning_closed")["data"]],
                         ["dp_b"])
        self.assertEqual(len(self.b.ok("GET", "/v1/disputes?customerId="
                                       + self.pay["customerId"])["data"]), 2)
        self.assertEqual(self.b.ok("GET", "/v1/disputes?customerId=cus_nobody")["data"], [])
        self.assertProblem(self.b.req("GET", "/v1/disputes?status=reopened"), 400,
                           field="status")
        self.assertProblem(self.b.req("GET", "/v1/disputes?bogus=1"), 400, "unknown_parameter",
                           "bogus")
        # USER reads.
        r = self.s.request("GET", "/v1/disputes/" + all_[0]["id"], token=self.user)
        self.assertEqual(r.status, 200, r.text)
        # No writes, for anyone.
        self.assertProblem(self.b.req("POST", "/v1/disputes", {"amount": 1}), 405)
        self.assertProblem(self.b.req("PATCH", "/v1/disputes/" + all_[0]["id"],
                                      {"status": "won"}), 405)
        self.assertProblem(self.b.req("DELETE", "/v1/disputes/" + all_[0]["id"]), 405)
        # Another tenant sees nothing.
        other = self.s.cli("tenant", "create", "--name", "Other").stdout.decode().strip()
        tok = ts.make_token(ts.claims_for(other))
        self.assertProblem(self.s.request("GET", "/v1/disputes/" + all_[0]["id"], token=tok), 404)
        self.assertEqual(self.s.request("GET", "/v1/disputes", token=tok).body["data"], [])
        # The document lists the read routes only.
        doc = self.s.document()
        self.assertEqual(set(doc["paths"]["/v1/disputes"]), {"get"})
        self.assertEqual(set(doc["paths"]["/v1/disputes/{id}"]), {"get"})


if __name__ == "__main__":
    unittest.main()
