#!/usr/bin/env python3
"""HTTP suite for provider health (issue #18 item 2): the server with the Stripe
provider against a loopback fake Stripe whose key can be revoked (401) and a key
without permission (403).

- a configuration error is not a decline: the subscription stays active, the
  invoice open, the payment pending with Stripe's code, one provider.unhealthy
  event (a 403 while paused adds none);
- /readyz stays 200 (one tenant's revoked key must not take the server out of
  a load balancer) and says "provider": "degraded" with the number of paused
  tenants; /metrics has billing_provider_unhealthy_tenants and
  billing_provider_errors_total{class=...};
- once the key works, the run's probe (test clock advanced past the back-off)
  charges the same attempt once, provider.healthy, /readyz "ok" again;
- the key never appears in the logs.

Reuses test_server.py's Server and Billing helpers; runs on the backend
BILLING_TEST_BACKEND names, like http_server.
"""
import http.server
import json
import os
import re
import threading
import unittest
import urllib.parse

import test_server as ts


def setUpModule():
    if not ts.SERVER or not os.access(ts.SERVER, os.X_OK):
        raise RuntimeError("set BILLING_SERVER to the billing-server binary")


class RevocableStripe:
    """POST /v1/payment_intents succeeds, unless `refuse` holds a status: then it
    answers as Stripe does for a revoked key (401) or a restricted key without the
    permission (403), creating nothing. Counts the PaymentIntents it made."""

    def __init__(self):
        fake = self
        self.refuse = None
        self.made = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in
                        urllib.parse.parse_qs(self.rfile.read(n).decode()).items()}
                with fake.lock:
                    if fake.refuse == 401:
                        status, body = 401, {"error": {
                            "type": "invalid_request_error",
                            "message": "Invalid API Key provided: sk_test_****abcd"}}
                    elif fake.refuse == 403:
                        status, body = 403, {"error": {
                            "type": "invalid_request_error",
                            "message": "The provided key does not have the required "
                                       "permissions for this endpoint"}}
                    elif self.path == "/v1/payment_intents":
                        fake.made += 1
                        status, body = 200, {
                            "id": "pi_health_%d" % fake.made, "object": "payment_intent",
                            "amount": int(form["amount"]), "currency": form["currency"],
                            "status": "succeeded",
                            "metadata": {k[9:-1]: v for k, v in form.items()
                                         if k.startswith("metadata[")}}
                    else:
                        status, body = 404, {"error": {"type": "invalid_request_error",
                                                       "message": "no such route"}}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    if m is None:
        raise AssertionError("no %s in /metrics:\n%s" % (name, text))
    return int(m.group(1))


class ProviderHealth(ts.ProblemAssertions):
    @classmethod
    def setUpClass(cls):
        cls.fake = RevocableStripe()
        cls.key = "sk_test_" + os.urandom(12).hex()
        cls.s = ts.Server(env_extra={"BILLING_PROVIDER": "stripe", "STRIPE_API_KEY": cls.key,
                                     "STRIPE_API_BASE": cls.fake.url,
                                     "STRIPE_WEBHOOK_SECRET": ts.WEBHOOK_SECRET,
                                     "BILLING_TEST_CLOCK": "1"}).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        cls.fake.stop()
        if code != 0:
            raise AssertionError("the server did not exit cleanly")

    def readyz(self):
        r = self.s.request("GET", "/readyz")
        self.assertEqual(r.status, 200, r.text)
        return r.body

    def metrics(self):
        r = self.s.request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        return r.text.decode() if isinstance(r.text, bytes) else r.text

    def events(self, b, type_):
        return b.ok("GET", "/v1/events?type=" + type_)["data"]

    def test_a_revoked_key_pauses_the_tenant_and_is_reported(self):
        tenant = self.s.cli("tenant", "create", "--name", "Health").stdout.decode().strip()
        other = self.s.cli("tenant", "create", "--name", "Other").stdout.decode().strip()
        b = ts.Billing(self.s, ts.make_token(ts.claims_for(tenant)))
        ob = ts.Billing(self.s, ts.make_token(ts.claims_for(other)))
        self.assertEqual(self.readyz(), {"status": "ready", "provider": "ok",
                                         "providerPausedTenants": 0})
        before = self.metrics()
        self.assertEqual(metric(before, "billing_provider_unhealthy_tenants"), 0)
        config_before = metric(before, 'billing_provider_errors_total{class="config"}')

        self.fake.refuse = 401
        sub = b.subscribe(customer=b.customer_new(defaultPaymentMethod="pm_card_visa"))
        self.assertEqual(sub["status"], "active")
        inv = b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual(inv["status"], "pending")
        pays = b.ok("GET", "/v1/payments?invoiceId=" + inv["id"])["data"]
        self.assertEqual(len(pays), 1)
        self.assertEqual((pays[0]["status"], pays[0]["failureCode"]),
                         ("pending", "authentication_error"))
        ev = self.events(b, "provider.unhealthy")
        self.assertEqual(len(ev), 1)
        self.assertEqual((ev[0]["data"]["status"], ev[0]["data"]["httpStatus"],
                          ev[0]["data"]["code"], ev[0]["data"]["provider"]),
                         ("unhealthy", 401, "authentication_error", "stripe"))
        self.assertEqual(self.events(b, "invoice.payment_failed"), [])
        self.assertEqual(self.events(ob, "provider.unhealthy"), [])

        # Paying by hand meanwhile: the paused attempt is still in flight.
        r = b.req("POST", "/v1/invoices/%s/pay" % inv["id"], {})
        self.assertProblem(r, 409, "payment_in_progress")

        # 200 with the state, not 503: one tenant's key is not the server's health.
        self.assertEqual(self.readyz(), {"status": "ready", "provider": "degraded",
                                         "providerPausedTenants": 1})
        m = self.metrics()
        self.assertEqual(metric(m, "billing_provider_unhealthy_tenants"), 1)
        self.assertEqual(metric(m, 'billing_provider_errors_total{class="config"}'),
                         config_before + 1)
        self.assertIn("# TYPE billing_provider_errors_total counter", m)
        self.assertIn('billing_provider_errors_total{class="decline"}', m)

        # A second refusal (403) while paused: still one event.
        self.fake.refuse = 403
        r = self.s.request("POST", "/v1/test-clock/advance", {"seconds": 61},
                           token=b.tok)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(len(self.events(b, "provider.unhealthy")), 1)
        pays = b.ok("GET", "/v1/payments?invoiceId=" + inv["id"])["data"]
        self.assertEqual((pays[0]["status"], pays[0]["failureCode"]),
                         ("pending", "permission_error"))

        # Fixed: the next probe (at most 2 minutes later) charges that attempt once.
        self.fake.refuse = None
        made = self.fake.made
        r = self.s.request("POST", "/v1/test-clock/advance", {"seconds": 121},
                           token=b.tok)
        self.assertEqual(r.status, 200, r.text)
        inv = b.ok("GET", "/v1/invoices/" + inv["id"])
        self.assertEqual(inv["status"], "paid")
        pays = b.ok("GET", "/v1/payments?invoiceId=" + inv["id"])["data"]
        self.assertEqual([(p["status"], p["id"]) for p in pays],
                         [("succeeded", pays[0]["id"])])
        self.assertEqual(self.fake.made, made + 1)
        self.assertEqual(len(self.events(b, "provider.healthy")), 1)
        self.assertEqual(self.readyz()["provider"], "ok")
        self.assertEqual(metric(self.metrics(), "billing_provider_unhealthy_tenants"), 0)
        self.assertNotIn(self.key, self.s.logs())


if __name__ == "__main__":
    unittest.main(verbosity=2)
