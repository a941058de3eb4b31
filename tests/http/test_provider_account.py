#!/usr/bin/env python3
"""HTTP suite for a provider account per tenant (issue #18 item 8):
PUT / GET / DELETE /v1/provider-account and the tenant webhook route
POST /v1/webhooks/stripe/{tenantId}, against a small fake Stripe that checks
the key of every request and records Stripe-Account.

- GET never shows the key or the webhook secret (only apiKeyLast4 and
  webhookSecretSet); neither do the event provider_account.updated, the audit
  log, nor the server's log;
- tenant T1's charge uses T1's own key, T2's goes out with the platform key and
  Stripe-Account: T2's connected account, T3 (none) uses the platform key;
- webhooks: T1's events verify with T1's secret on T1's route only; an event
  naming another tenant, signatures swapped between tenants, a forged Connect
  account, and a tenant-secret tenant's events on the platform route are all
  refused (400) and change nothing;
- without BILLING_SECRETS_KEY a PUT with secrets is 409 secrets_key_missing
  (an account alone is fine); an invalid key refuses the start with one line;
- USER may not read or write it.

Reuses test_server.py's Server, Billing and Stripe signing helpers; runs on
the backend BILLING_TEST_BACKEND names, like http_server.
"""
import base64
import http.server
import json
import os
import threading
import unittest
import urllib.parse

import test_server as ts

PLATFORM_KEY = "sk_test_platform_" + os.urandom(8).hex()
PLATFORM_WHSEC = "whsec_platform_" + os.urandom(6).hex()
SECRETS_KEY = os.urandom(32).hex()


def setUpModule():
    if not ts.SERVER or not os.access(ts.SERVER, os.X_OK):
        raise RuntimeError("set BILLING_SERVER to the billing-server binary")


class KeyCheckingStripe:
    """POST /v1/payment_intents, /v1/customers, /v1/setup_intents: 401 unless the bearer key is one it knows;
    records each request's key and Stripe-Account; every charge succeeds."""

    def __init__(self, keys):
        fake = self
        self.keys = set(keys)
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in
                        urllib.parse.parse_qs(self.rfile.read(n).decode()).items()}
                auth = self.headers.get("Authorization") or ""
                key = auth[7:] if auth.startswith("Bearer ") else ""
                fake.requests.append({"key": key, "account": self.headers.get("Stripe-Account"),
                                      "tenant": form.get("metadata[tenant_id]"),
                                      "path": self.path})
                if key not in fake.keys:
                    status, body = 401, {"error": {"type": "invalid_request_error",
                                                   "message": "Invalid API Key provided"}}
                elif self.path == "/v1/payment_intents":
                    status, body = 200, {
                        "id": "pi_fake_%d" % len(fake.requests), "object": "payment_intent",
                        "amount": int(form["amount"]), "currency": form["currency"],
                        "status": "succeeded",
                        "metadata": {k[9:-1]: v for k, v in form.items()
                                     if k.startswith("metadata[")}}
                elif self.path == "/v1/customers":
                    status, body = 200, {"id": "cus_fake_%d" % len(fake.requests),
                                         "object": "customer"}
                elif self.path == "/v1/setup_intents":
                    seti = "seti_fake_%d" % len(fake.requests)
                    status, body = 200, {"id": seti, "object": "setup_intent",
                                         "client_secret": seti + "_secret_x",
                                         "status": "requires_payment_method"}
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
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def by_tenant(self, tenant):
        return [r for r in self.requests if r["tenant"] == tenant]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ProviderAccounts(ts.ProblemAssertions):
    """One server on the fake Stripe with a secrets key; three tenants."""

    @classmethod
    def setUpClass(cls):
        cls.t1_key = "sk_test_tenant1_" + os.urandom(8).hex()
        cls.t1_whsec = "whsec_tenant1_" + os.urandom(6).hex()
        cls.fake = KeyCheckingStripe([PLATFORM_KEY, cls.t1_key])
        cls.s = ts.Server(env_extra={
            "BILLING_PROVIDER": "stripe", "STRIPE_API_KEY": PLATFORM_KEY,
            "STRIPE_WEBHOOK_SECRET": PLATFORM_WHSEC, "STRIPE_API_BASE": cls.fake.url,
            "BILLING_SECRETS_KEY": SECRETS_KEY}).start()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        if cls.s.stop() != 0:
            raise AssertionError("the provider-account server did not exit cleanly")

    def tenant(self, name):
        t = self.s.cli("tenant", "create", "--name", name).stdout.decode().strip()
        return t, ts.Billing(self.s, ts.make_token(ts.claims_for(t)))

    def assert_no_secret(self, text):
        for secret in (self.t1_key, self.t1_whsec, PLATFORM_KEY, PLATFORM_WHSEC):
            self.assertNotIn(secret, text)

    def test_get_never_shows_the_key(self):
        t, b = self.tenant("Secretive")
        self.assertProblem(b.req("GET", "/v1/provider-account"), 404, "not_found")
        put = b.ok("PUT", "/v1/provider-account", {"provider": "stripe", "apiKey": self.t1_key,
                                                   "webhookSecret": self.t1_whsec})
        self.assertEqual((put["object"], put["provider"], put["account"], put["apiKeyLast4"],
                          put["webhookSecretSet"]),
                         ("provider_account", "stripe", None, self.t1_key[-4:], True))
        got = b.ok("GET", "/v1/provider-account")
        self.assertEqual(got, put)
        self.assert_no_secret(json.dumps(got))
        events = b.ok("GET", "/v1/events?type=provider_account.updated")["data"]
        self.assertEqual(len(events), 1)
        self.assert_no_secret(json.dumps(events))
        self.assert_no_secret(json.dumps(b.ok("GET", "/v1/audit-log")))
        # a bad key is refused naming the field, without repeating it
        r = b.req("PUT", "/v1/provider-account", {"provider": "stripe", "apiKey": "pk_test_pub1"})
        self.assertProblem(r, 400, "invalid")
        self.assertNotIn("pk_test_pub1", str(r.text))
        r = b.req("PUT", "/v1/provider-account", {"provider": "paypal", "account": "acct_1"})
        self.assertEqual(r.status, 409, r.text)
        self.assertEqual(b.ok("GET", "/v1/provider-account"), got)  # nothing changed
        # USER may not read or write it
        user = ts.make_token(ts.claims_for(t, "USER"))
        self.assertEqual(self.s.request("GET", "/v1/provider-account", token=user).status, 403)
        self.assertEqual(self.s.request("PUT", "/v1/provider-account", {"provider": "stripe",
                         "account": "acct_1x"}, token=user).status, 403)
        self.assertEqual(b.ok("DELETE", "/v1/provider-account")["deleted"], True)
        self.assertProblem(b.req("GET", "/v1/provider-account"), 404, "not_found")
        self.assert_no_secret(self.s.logs())

    def test_each_tenant_charges_with_its_own_key_or_account(self):
        t1, b1 = self.tenant("Own key")
        t2, b2 = self.tenant("Connected")
        t3, b3 = self.tenant("Platform")
        b1.ok("PUT", "/v1/provider-account", {"provider": "stripe", "apiKey": self.t1_key})
        b2.ok("PUT", "/v1/provider-account", {"provider": "stripe", "account": "acct_1T2conn"})
        for b in (b1, b2, b3):
            sub = b.subscribe(customer=b.customer_new(defaultPaymentMethod="pm_card_visa"))
            self.assertEqual(b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])["status"],
                             "paid")
        self.assertEqual([(r["key"], r["account"]) for r in self.fake.by_tenant(t1)],
                         [(self.t1_key, None)])
        self.assertEqual([(r["key"], r["account"]) for r in self.fake.by_tenant(t2)],
                         [(PLATFORM_KEY, "acct_1T2conn")])
        self.assertEqual([(r["key"], r["account"]) for r in self.fake.by_tenant(t3)],
                         [(PLATFORM_KEY, None)])
        self.assert_no_secret(self.s.logs())

    def test_payment_method_calls_use_the_tenants_key(self):
        # A SetupIntent first makes the customer at the provider: both with
        # the tenant's own key, not the platform's.
        t1, b1 = self.tenant("Own key cards")
        b1.ok("PUT", "/v1/provider-account", {"provider": "stripe", "apiKey": self.t1_key})
        cus = b1.customer_new()
        before = len(self.fake.requests)
        seti = b1.ok("POST", "/v1/setup-intents", {"customerId": cus["id"]}, status=200)
        self.assertTrue(seti["clientSecret"].startswith(seti["id"]))
        made = self.fake.requests[before:]
        # (compared as "is T1's key", so that a failure prints no key)
        self.assertEqual([(m["path"], m["key"] == self.t1_key, m["account"]) for m in made],
                         [("/v1/customers", True, None), ("/v1/setup_intents", True, None)])
        self.assert_no_secret(self.s.logs())

    def webhook(self, path, body, t, secret):
        return self.s.request("POST", path, raw=body, headers={
            "Content-Type": "application/json",
            "Stripe-Signature": ts.stripe_signature(body, t, secret)})

    def test_webhooks_reach_only_their_tenant(self):
        t1, b1 = self.tenant("Hooks one")
        t2, b2 = self.tenant("Hooks two")
        b1.ok("PUT", "/v1/provider-account", {"provider": "stripe", "apiKey": self.t1_key,
                                              "webhookSecret": self.t1_whsec})
        b2.ok("PUT", "/v1/provider-account", {"provider": "stripe", "account": "acct_1T2hooks"})
        pays = {}
        for t, b in ((t1, b1), (t2, b2)):
            sub = b.subscribe(customer=b.customer_new(defaultPaymentMethod="pm_card_visa"))
            pays[t] = b.ok("GET", "/v1/payments?invoiceId=" + sub["latestInvoiceId"])["data"][0]
        now = int(__import__("time").time())

        def event(tenant, account=None, kind="payment_intent.succeeded"):
            body = json.loads(ts.stripe_event(kind, ts.payment_intent(pays[tenant], tenant), now))
            if account:
                body["account"] = account
            return json.dumps(body).encode()

        # T1's own secret on T1's route
        r = self.webhook("/v1/webhooks/stripe/" + t1, event(t1), now, self.t1_whsec)
        self.assertEqual(r.status, 200, r.text)
        # ... not on the platform route, with either secret
        self.assertProblem(self.webhook("/v1/webhooks/stripe", event(t1), now, self.t1_whsec),
                           400, "signature")
        self.assertProblem(self.webhook("/v1/webhooks/stripe", event(t1), now, PLATFORM_WHSEC),
                           400, "tenant_route_required")
        # swapped: T1's secret on T2's route, T2's (platform) secret on T1's
        self.assertProblem(self.webhook("/v1/webhooks/stripe/" + t2, event(t2), now,
                                        self.t1_whsec), 400, "signature")
        self.assertProblem(self.webhook("/v1/webhooks/stripe/" + t1, event(t1), now,
                                        PLATFORM_WHSEC), 400, "signature")
        # T1's secret cannot speak for T2
        self.assertProblem(self.webhook("/v1/webhooks/stripe/" + t1, event(t2), now,
                                        self.t1_whsec), 400, "tenant_mismatch")
        # Connect: T2's events come from T2's account, and from no other
        r = self.webhook("/v1/webhooks/stripe", event(t2, "acct_1T2hooks"), now, PLATFORM_WHSEC)
        self.assertEqual(r.status, 200, r.text)
        self.assertProblem(self.webhook("/v1/webhooks/stripe", event(t2, "acct_1Forged"), now,
                                        PLATFORM_WHSEC), 400, "account_mismatch")
        self.assertProblem(self.webhook("/v1/webhooks/stripe", event(t2), now, PLATFORM_WHSEC),
                           400, "account_mismatch")
        # a refund event from a forged account changes nothing
        r = self.webhook("/v1/webhooks/stripe", event(t2, "acct_1Forged", "payment_intent.canceled"),
                         now, PLATFORM_WHSEC)
        self.assertProblem(r, 400, "account_mismatch")
        self.assertEqual(b2.ok("GET", "/v1/payments/" + pays[t2]["id"])["status"], "succeeded")
        self.assert_no_secret(self.s.logs())


class HostKey(ts.ProblemAssertions):
    def test_without_a_secrets_key_secrets_are_refused(self):
        fake = KeyCheckingStripe([PLATFORM_KEY])
        s = ts.Server(env_extra={"BILLING_PROVIDER": "stripe", "STRIPE_API_KEY": PLATFORM_KEY,
                                 "STRIPE_WEBHOOK_SECRET": PLATFORM_WHSEC,
                                 "STRIPE_API_BASE": fake.url})
        try:
            s.start()
            t = s.cli("tenant", "create", "--name", "No key").stdout.decode().strip()
            b = ts.Billing(s, ts.make_token(ts.claims_for(t)))
            r = b.req("PUT", "/v1/provider-account", {"provider": "stripe",
                                                      "apiKey": "sk_test_nokey_12345678"})
            self.assertProblem(r, 409, "secrets_key_missing")
            self.assertNotIn("sk_test_nokey_12345678", str(r.text))
            self.assertProblem(b.req("GET", "/v1/provider-account"), 404, "not_found")
            got = b.ok("PUT", "/v1/provider-account", {"provider": "stripe",
                                                       "account": "acct_1OnlyAccount"})
            self.assertEqual((got["account"], got["apiKeyLast4"], got["webhookSecretSet"]),
                             ("acct_1OnlyAccount", None, False))
            self.assertNotIn("sk_test_nokey_12345678", s.logs())
        finally:
            self.assertEqual(s.stop(), 0)
            fake.stop()

    def test_an_invalid_secrets_key_refuses_the_start(self):
        for bad in ("abc", "zz" * 32, base64.b64encode(os.urandom(31)).decode()):
            s = ts.Server(env_extra={"BILLING_SECRETS_KEY": bad})
            p = s.cli("serve", check=False)
            lines = [l for l in p.stderr.decode().splitlines() if "BILLING_SECRETS_KEY" in l]
            self.assertNotEqual(p.returncode, 0)
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertNotIn(bad, lines[0])
            s.drop() if hasattr(s, "drop") else None
        # hex and base64 of 32 bytes both start
        for good in (os.urandom(32).hex(), base64.b64encode(os.urandom(32)).decode()):
            s = ts.Server(env_extra={"BILLING_SECRETS_KEY": good})
            try:
                s.start()
            finally:
                self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()
