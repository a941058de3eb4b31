#!/usr/bin/env python3
"""HTTP suite for examples/billing-server: the real binary over real HTTP.

Standard library only. The binary comes from $BILLING_SERVER (ctest sets it);
each server runs on a free loopback port (BILLING_LISTEN=127.0.0.1:0, the port
read from its "listening" log line) against a database of its own.

BILLING_TEST_BACKEND picks the storage (ctest registers the suite twice:
http_server and http_server_pg):
  sqlite    (default) a temporary SQLite file;
  postgres  a fresh schema in the database "billing" of the throwaway server
            that scripts/with-postgres.sh starts (BILLING_TEST_PG_HOST), set up
            as docs/postgres.md says: created and migrated (`billing-server
            migrate`) as billing_owner, then the server and the tenant/user/token
            commands run as billing_app, which owns nothing; dropped at the end.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schema  # noqa: E402  (tests/http/schema.py: the responses' check)

SERVER = os.environ.get("BILLING_SERVER")
if SERVER:
    SERVER = os.path.abspath(SERVER)
SECRET = "test-secret-0123456789abcdef0123456789abcdef"
TIMEOUT_S = 2  # BILLING_HTTP_TIMEOUT for the servers started here
BACKEND = os.environ.get("BILLING_TEST_BACKEND") or "sqlite"
PG_HOST = os.environ.get("BILLING_TEST_PG_HOST")
PSQL = os.environ.get("PSQL") or shutil.which("psql") or "psql"


def psql_as_owner(sql):
    """Runs one statement as billing_owner on the test PostgreSQL."""
    p = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST,
                        "-U", "billing_owner", "-d", "billing", "-c", sql],
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("psql %r failed: %s" % (sql, p.stderr.decode()))


def pg_url(user, schema):
    return ("postgres:host=%s dbname=billing user=%s options='-c search_path=%s'"
            % (PG_HOST, user, schema))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(claims, alg="HS256", secret=SECRET, header=None, sign=True):
    h = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing_input = b64url(json.dumps(h).encode()) + "." + b64url(json.dumps(claims).encode())
    if not sign:
        return signing_input + "."
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def claims_for(tenant, role="ADMIN", sub="usr_test", **extra):
    now = int(time.time())
    c = {"sub": sub, "tenantId": tenant, "role": role, "iat": now, "exp": now + 600}
    c.update(extra)
    return c


class Server:
    """One billing-server process with its own temporary directory."""

    def __init__(self, env_extra=None, secret=SECRET, db_name="billing.db"):
        self.dir = tempfile.mkdtemp(prefix="billing-http-")
        self.db = None      # the SQLite file
        self.schema = None  # the PostgreSQL schema
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")
                    or k == "BILLING_SERVER"}
        if BACKEND == "sqlite":
            self.db = os.path.join(self.dir, db_name)
            url = "sqlite:" + self.db
        elif BACKEND == "postgres":
            if not PG_HOST:
                raise RuntimeError("BILLING_TEST_BACKEND=postgres needs a server: run the "
                                   "tests through scripts/with-postgres.sh")
            self.schema = "http_" + os.urandom(8).hex()
            psql_as_owner("CREATE SCHEMA " + self.schema)
            url = pg_url("billing_app", self.schema)
            # The owner migrates; billing_app could not create the tables.
            owner_env = {k: v for k, v in self.env.items()}
            owner_env["BILLING_DATABASE_URL"] = pg_url("billing_owner", self.schema)
            p = subprocess.run([SERVER, "migrate"], capture_output=True, env=owner_env,
                               cwd=self.dir, timeout=60)
            if p.returncode != 0:
                self.drop()
                raise AssertionError("migrate as billing_owner failed (%d): %s"
                                     % (p.returncode, p.stderr.decode()))
        else:
            raise RuntimeError("unknown BILLING_TEST_BACKEND " + BACKEND)
        self.env.update({
            "BILLING_DATABASE_URL": url,
            "BILLING_LISTEN": "127.0.0.1:0",
            "BILLING_HTTP_TIMEOUT": str(TIMEOUT_S),
            "BILLING_WORKERS": "4",
        })
        if secret:
            self.env["BILLING_JWT_SECRET"] = secret
        self.env.update(env_extra or {})
        self.proc = None
        self.port = None
        self._document = None
        self.log_path = os.path.join(self.dir, "server.log")

    def cli(self, *args, stdin=None, check=True):
        p = subprocess.run([SERVER, *args], input=stdin, capture_output=True, env=self.env,
                           cwd=self.dir, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s" % (args, p.returncode, p.stderr.decode()))
        return p

    def start(self, wait=True):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([SERVER, "serve"], env=self.env, cwd=self.dir,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        if not wait:
            return self
        deadline = time.time() + 30
        while time.time() < deadline:
            m = re.search(r'"msg":"listening".*"port":"(\d+)"', self.logs())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise AssertionError("server exited %d: %s" % (self.proc.returncode, self.logs()))
            time.sleep(0.05)
        raise AssertionError("server did not start: " + self.logs())

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        """Stops with SIGTERM; returns the exit status (sanitizer reports make it non-zero)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT_S + 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        status = self.proc.returncode if self.proc else None
        if self.proc:
            self.log.close()
            if status != 0:
                sys.stderr.write(self.logs()[-4000:])
        self.drop()
        return status

    def drop(self):
        """Removes the database (directory, or schema) and the logs."""
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.schema:
            psql_as_owner("DROP SCHEMA %s CASCADE" % self.schema)
            self.schema = None

    def document(self):
        """This server's OpenAPI document (fetched once)."""
        if self._document is None:
            self._document = self.request("GET", "/v1/openapi.json", check=False).body
        return self._document

    def request(self, method, path, body=None, token=None, headers=None, raw=None, check=True):
        """One request. check: the response must conform to the route's
        documented response (status, content type, schema; tests/http/schema.py),
        else AssertionError."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        parsed = None
        if text and (resp.getheader("Content-Type") or "").endswith("json"):
            parsed = json.loads(text)
        if check:
            problems = schema.response_problems(self.document(), method, path, resp.status,
                                                resp.getheader("Content-Type"), parsed, text)
            if problems:
                raise AssertionError("the response does not conform to the OpenAPI "
                                     "document:\n  " + "\n  ".join(problems[:10]))
        return Response(resp.status, resp, text, parsed)


class Response:
    def __init__(self, status, resp, text, body):
        self.status = status
        self.headers = resp
        self.text = text
        self.body = body

    def header(self, name):
        return self.headers.getheader(name)


S = None          # the shared server
T = {}            # tenants, users and tokens of the shared server


def setUpModule():
    global S
    if not SERVER or not os.access(SERVER, os.X_OK):
        raise RuntimeError("set BILLING_SERVER to the billing-server binary")
    # A short billing-run interval, so that the worker's runs show within a test.
    S = Server(env_extra={"BILLING_RUN_INTERVAL": "1"}).start()
    T["a"] = S.cli("tenant", "create", "--name", "Tenant A").stdout.decode().strip()
    T["b"] = S.cli("tenant", "create", "--name", "Tenant B").stdout.decode().strip()
    T["admin_a_user"] = S.cli("user", "create", "--tenant", T["a"], "--email", "admin@a.test",
                              "--role", "ADMIN", stdin=b"correct horse battery\n").stdout.decode().strip()
    S.cli("user", "create", "--tenant", T["a"], "--email", "reader@a.test", "--role", "USER",
          stdin=b"reader-password")
    T["admin_a"] = make_token(claims_for(T["a"], "ADMIN"))
    T["user_a"] = make_token(claims_for(T["a"], "USER"))
    T["admin_b"] = make_token(claims_for(T["b"], "ADMIN"))


def tearDownModule():
    if S and S.stop() != 0:
        raise AssertionError("the shared server did not exit cleanly on SIGTERM")


def admin(method, path, body=None, **kw):
    return S.request(method, path, body, token=T["admin_a"], **kw)


class ProblemAssertions(unittest.TestCase):
    def assertProblem(self, r, status, code=None, field=None):
        self.assertEqual(r.status, status, r.text)
        self.assertEqual(r.header("Content-Type"), "application/problem+json")
        p = r.body
        for member in ("type", "title", "status", "detail", "code", "errors", "requestId",
                       "statusCode", "error", "message"):
            self.assertIn(member, p)
        self.assertEqual(p["status"], status)
        self.assertEqual(p["statusCode"], status)
        self.assertEqual(p["requestId"], r.header("X-Request-Id"))
        if code:
            self.assertEqual(p["code"], code, p)
        if field:
            self.assertIn(field, [e["field"] for e in p["errors"]], p)
        return p


def new_customer(token=None, **fields):
    n = new_customer.counter = getattr(new_customer, "counter", 0) + 1
    body = {"name": "Customer %d" % n, "email": "c%d@example.com" % n}
    body.update(fields)
    r = S.request("POST", "/v1/customers", body, token=token or T["admin_a"])
    assert r.status == 201, r.text
    return r.body


def new_product(token=None, **fields):
    n = new_product.counter = getattr(new_product, "counter", 0) + 1
    body = {"name": "Product %d" % n, "sku": "SKU-%d" % n, "priceCents": 1000 + n}
    body.update(fields)
    r = S.request("POST", "/v1/products", body, token=token or T["admin_a"])
    assert r.status == 201, r.text
    return r.body


def new_plan(product_id, token=None, **fields):
    n = new_plan.counter = getattr(new_plan, "counter", 0) + 1
    body = {"productId": product_id, "code": "PLAN_%d" % n, "name": "Plan %d" % n,
            "amount": 900, "interval": "MONTH"}
    body.update(fields)
    r = S.request("POST", "/v1/plans", body, token=token or T["admin_a"])
    assert r.status == 201, r.text
    return r.body


class Operations(ProblemAssertions):
    def test_healthz_needs_no_token(self):
        r = S.request("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, {"status": "ok"})

    def test_every_response_is_checked_against_the_document(self):
        # Server.request checks each answer with tests/http/schema.py; this
        # shows that the check finds what is wrong.
        doc = S.document()
        ok = admin("GET", "/v1/dunning-policy")
        self.assertEqual(schema.response_problems(doc, "GET", "/v1/dunning-policy", 200,
                                                  "application/json", ok.body, ok.text), [])
        wrong = dict(ok.body, finalAction="retry", extra=1)
        del wrong["retryDays"]
        problems = schema.response_problems(doc, "GET", "/v1/dunning-policy", 200,
                                            "application/json", wrong, b"{}")
        self.assertEqual(len(problems), 3, problems)
        self.assertTrue(any("retryDays is required" in p for p in problems), problems)
        c = new_customer()
        self.assertIn("version is required", " ".join(schema.response_problems(
            doc, "GET", "/v1/customers/" + c["id"], 200, "application/json",
            {"id": c["id"], "object": "customer"}, b"{}")))
        self.assertIn("status 418 is not documented", " ".join(schema.response_problems(
            doc, "GET", "/v1/customers", 418, "application/json", {}, b"{}")))
        self.assertIn("not of type integer", " ".join(schema.response_problems(
            doc, "GET", "/v1/customers", 400, "application/problem+json",
            dict(admin("GET", "/v1/customers?limit=0").body, status="400"), b"{}")))
        self.assertIn("content type 'text/html'", " ".join(schema.response_problems(
            doc, "GET", "/v1/customers", 200, "text/html", None, b"<p>")))

    def test_readyz_when_storage_is_ready(self):
        r = S.request("GET", "/readyz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body["status"], "ready")

    def test_metrics_count_requests_by_route_template(self):
        c = new_customer()
        admin("GET", "/v1/customers/" + c["id"])
        r = S.request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        text = r.text.decode()
        self.assertRegex(text, r'billing_http_requests_total\{method="GET",'
                               r'route="/v1/customers/\{id\}",status="200"\} \d+')
        self.assertIn('billing_http_request_duration_seconds_bucket{method="POST",'
                      'route="/v1/customers",status="201",le="+Inf"}', text)
        self.assertRegex(text, r"process_start_time_seconds \d+")
        self.assertNotIn(c["id"], text)  # templates, never ids

    def test_openapi_document_lists_every_route(self):
        r = S.request("GET", "/v1/openapi.json")
        self.assertEqual(r.status, 200)
        doc = r.body
        self.assertTrue(doc["openapi"].startswith("3.1"))
        self.assertIn("info", doc)
        expected = {
            "/v1/auth/login": {"post"},
            "/v1/customers": {"post", "get"}, "/v1/customers/{id}": {"get", "patch", "delete"},
            "/v1/products": {"post", "get"}, "/v1/products/{id}": {"get", "patch", "delete"},
            "/v1/plans": {"post", "get"}, "/v1/plans/{id}": {"get", "patch", "delete"},
            "/v1/subscriptions": {"post", "get"}, "/v1/subscriptions/{id}": {"get", "patch"},
            "/v1/subscriptions/{id}/cancel": {"post"},
            "/v1/subscriptions/{id}/change-plan": {"post"},
            "/v1/subscriptions/{id}/pause": {"post"}, "/v1/subscriptions/{id}/resume": {"post"},
            "/v1/invoices": {"post", "get"}, "/v1/invoices/preview": {"get"},
            "/v1/invoices/{id}": {"get", "patch", "delete"},
            "/v1/invoices/{id}/void": {"post"}, "/v1/invoices/{id}/finalize": {"post"},
            "/v1/invoices/{id}/mark-uncollectible": {"post"},
            "/v1/invoices/{id}/pay": {"post"},
            "/v1/invoices/{id}/html": {"get"},
            "/v1/invoices/{id}/pdf": {"get"}, "/v1/invoices/{id}/einvoice": {"get"},
            "/v1/invoices/{id}/facturx": {"get"},
            "/v1/credit-notes": {"post", "get"}, "/v1/credit-notes/preview": {"get"},
            "/v1/credit-notes/{id}": {"get"}, "/v1/credit-notes/{id}/void": {"post"},
            "/v1/credit-notes/{id}/html": {"get"},
            "/v1/credit-notes/{id}/pdf": {"get"}, "/v1/credit-notes/{id}/einvoice": {"get"},
            "/v1/subscription-items": {"post", "get"},
            "/v1/subscription-items/preview": {"get"},
            "/v1/subscription-items/{id}": {"get", "patch", "delete"},
            "/v1/payments": {"get"}, "/v1/payments/{id}": {"get"},
            "/v1/payments/{id}/refund": {"post"}, "/v1/payments/{id}/cancel": {"post"},
            "/v1/dunning-policy": {"get", "put"},
            "/v1/webhooks/stripe": {"post"}, "/v1/webhooks/stripe/{id}": {"post"},
            "/v1/provider-account": {"get", "put", "delete"},
            "/v1/events": {"get"}, "/v1/events/{id}": {"get"},
            "/v1/events/{id}/redeliver": {"post"}, "/v1/events/redeliver": {"post"},
            "/v1/webhook-endpoints": {"post", "get"},
            "/v1/webhook-endpoints/{id}": {"get", "patch", "delete"},
            "/v1/webhook-endpoints/{id}/rotate-secret": {"post"},
            "/v1/webhook-endpoints/{id}/deliveries": {"get"},
            "/v1/webhook-deliveries": {"get"},
            "/v1/audit-log": {"get"},
            "/v1/customers/{id}/balance-transactions": {"get", "post"},
            "/v1/usage-events": {"post"}, "/v1/usage-events/void": {"post"},
            "/v1/usage-events/prune": {"post"},
            "/v1/subscriptions/{id}/usage": {"get"}, "/v1/usage-aggregates": {"get"},
            "/v1/usage-settings": {"get", "put"},
            "/v1/tax-settings": {"get", "put"},
            "/v1/reports/mrr": {"get"}, "/v1/reports/mrr-movements": {"get"},
            "/v1/reports/receivables-aging": {"get"}, "/v1/reports/churn": {"get"},
            "/v1/reports/arpa": {"get"}, "/v1/reports/trial-conversion": {"get"},
            "/v1/reports/revenue": {"get"}, "/v1/reports/payment-recovery": {"get"},
            "/v1/invoice-settings": {"get", "put"},
            "/v1/branding": {"get", "put"},
            "/v1/hosted-links/rotate": {"post"},
            "/hosted/invoices/{id}": {"get"}, "/hosted/invoices/{id}/pdf": {"get"},
            "/v1/subscriptions/{id}/discount": {"delete"},
            "/v1/customers/{id}/discount": {"delete"},
            "/v1/invoices/{id}/discount": {"delete"},
            "/healthz": {"get"}, "/readyz": {"get"}, "/metrics": {"get"},
            "/v1/openapi.json": {"get"}, "/console/": {"get"},
        }
        # The test-clock routes only exist with BILLING_TEST_CLOCK=1 (TestClock checks them).
        # Objects on the generic flow (tax rates, ...) add their standard routes from the
        # catalog: tests/http/test_resources.py checks those.
        extra = {p: set(m) for p, m in doc["paths"].items() if p not in expected}
        for path, methods in extra.items():
            self.assertRegex(path, r"^/v1/[a-z-]+(/\{id\})?$")
            self.assertLessEqual(methods, {"get", "patch", "delete"} if path.endswith("{id}")
                                 else {"post", "get"}, path)
        self.assertLessEqual(set(expected), set(doc["paths"]))
        op_ids = set()
        for path, methods in expected.items():
            self.assertEqual(set(doc["paths"][path]), methods, path)
            for m in methods:
                op = doc["paths"][path][m]
                self.assertIn("responses", op)
                self.assertTrue(op["responses"])
                self.assertNotIn(op["operationId"], op_ids)
                op_ids.add(op["operationId"])
                if "{id}" in path:
                    names = [p.get("name") or p.get("$ref") for p in op["parameters"]]
                    self.assertIn("#/components/parameters/Id", names)
        # list operations declare their query parameters from the catalog
        names = {p.get("name") for p in doc["paths"]["/v1/products"]["get"]["parameters"]}
        self.assertTrue({"limit", "page", "startingAfter", "minPriceCents", "isActive"} <= names)
        body = doc["paths"]["/v1/customers"]["post"]["requestBody"]["content"]["application/json"]
        self.assertIn("email", body["schema"]["properties"])
        # Idempotency-Key is offered where a replay is promised, and not on
        # redelivery, which queues anew on every call (docs/http-api.md).
        def refs(path, method):
            return {p.get("$ref") for p in doc["paths"][path][method]["parameters"]}
        key = "#/components/parameters/IdempotencyKey"
        self.assertIn(key, refs("/v1/customers", "post"))
        self.assertNotIn(key, refs("/v1/events/{id}/redeliver", "post"))
        self.assertNotIn(key, refs("/v1/events/redeliver", "post"))
        self.assertEqual(doc["paths"]["/healthz"]["get"]["security"], [])
        # subscriptions and invoices
        body = doc["paths"]["/v1/subscriptions"]["post"]["requestBody"]["content"]
        schema = body["application/json"]["schema"]
        self.assertTrue({"customerId", "planId", "quantity", "trialDays", "startAt",
                         "metadata", "items"} <= set(schema["properties"]))
        # planId, or items instead (subscription items, #21)
        self.assertEqual(set(schema["required"]), {"customerId"})
        change = doc["paths"]["/v1/subscriptions/{id}/change-plan"]["post"]
        props = change["requestBody"]["content"]["application/json"]["schema"]["properties"]
        self.assertEqual(set(props), {"planId", "prorationBehavior", "quantity", "atPeriodEnd"})
        self.assertIn("409", change["responses"])
        self.assertEqual(change["x-roles"], ["ADMIN"])
        patch = doc["paths"]["/v1/subscriptions/{id}"]["patch"]
        self.assertIn("#/components/parameters/IfMatch", [p.get("$ref") for p in patch["parameters"]])
        props = patch["requestBody"]["content"]["application/json"]["schema"]["properties"]
        self.assertEqual(set(props), {"cancelAtPeriodEnd", "quantity", "metadata", "coupon",
                                      "promotionCode", "billingThresholds"})
        names = {p.get("name") for p in doc["paths"]["/v1/invoices"]["get"]["parameters"]}
        self.assertTrue({"customerId", "subscriptionId", "status", "limit"} <= names)
        preview = doc["paths"]["/v1/invoices/preview"]["get"]
        params = [p for p in preview["parameters"] if p.get("name") == "subscriptionId"]
        self.assertEqual((len(params), params[0]["in"], params[0]["required"]),
                         (1, "query", True))
        self.assertIn("USER", preview["x-roles"])
        # webhook endpoints, deliveries, redelivery and the audit log
        body = doc["paths"]["/v1/webhook-endpoints"]["post"]["requestBody"]["content"]
        self.assertTrue({"url", "events", "enabled"} <= set(body["application/json"]["schema"]
                                                             ["properties"]))
        self.assertEqual(doc["paths"]["/v1/webhook-endpoints"]["post"]["x-roles"], ["ADMIN"])
        deliveries = doc["paths"]["/v1/webhook-endpoints/{id}/deliveries"]["get"]
        names = {p.get("name") or p.get("$ref") for p in deliveries["parameters"]}
        self.assertTrue({"#/components/parameters/Id", "status", "eventId", "limit",
                         "startingAfter"} <= names, names)
        self.assertNotIn("endpointId", names)   # it is the path's id
        self.assertIn("404", deliveries["responses"])
        since = doc["paths"]["/v1/events/redeliver"]["post"]
        schema = since["requestBody"]["content"]["application/json"]["schema"]
        self.assertEqual((set(schema["properties"]), schema["required"]), ({"since"}, ["since"]))
        self.assertIn("Redelivery", since["responses"]["200"]["content"]["application/json"]
                      ["schema"]["$ref"])
        self.assertEqual(doc["paths"]["/v1/audit-log"]["get"]["x-roles"], ["ADMIN"])
        # every $ref resolves inside the document
        refs = re.findall(r'"\$ref": ?"#/([^"]+)"', r.text.decode())
        self.assertTrue(refs)
        for ref in refs:
            node = doc
            for part in ref.split("/"):
                self.assertIn(part, node, ref)
                node = node[part]

    def test_request_id_echoed_or_generated(self):
        r = S.request("GET", "/healthz", headers={"X-Request-Id": "abc-123"})
        self.assertEqual(r.header("X-Request-Id"), "abc-123")
        for r in (S.request("GET", "/healthz"), S.request("GET", "/nope"),
                  S.request("GET", "/v1/customers")):
            self.assertRegex(r.header("X-Request-Id") or "", r"^req_[0-9a-f]{24}$")
        r = S.request("GET", "/healthz", headers={"X-Request-Id": "bad id with spaces"})
        self.assertRegex(r.header("X-Request-Id"), r"^req_")

    def test_start_line_names_the_backend_and_nothing_more(self):
        start = [json.loads(l) for l in S.logs().splitlines()
                 if l.startswith("{") and '"msg":"starting"' in l]
        self.assertEqual(len(start), 1)
        if BACKEND == "sqlite":
            self.assertEqual(start[0]["using"], "SQLite file %s, test payment provider" % S.db)
        else:
            self.assertEqual(start[0]["using"], "database scheme postgres, test payment provider")
            for secretish in ("billing_app", PG_HOST, S.schema):
                self.assertNotIn(secretish, S.logs())

    def test_logs_are_json_lines_without_secrets(self):
        admin("GET", "/v1/customers", headers={"X-Request-Id": "log-check-1"})
        time.sleep(0.1)
        lines = [json.loads(l) for l in S.logs().splitlines() if l.startswith("{")]
        mine = [l for l in lines if l.get("requestId") == "log-check-1"]
        self.assertEqual(len(mine), 1)
        l = mine[0]
        self.assertEqual((l["method"], l["route"], l["status"], l["tenantId"]),
                         ("GET", "/v1/customers", 200, T["a"]))
        self.assertIn("durationMs", l)
        self.assertIn("time", l)
        text = S.logs()
        self.assertNotIn(SECRET, text)
        self.assertNotIn(T["admin_a"], text)
        self.assertNotIn("correct horse", text)


class Auth(ProblemAssertions):
    def check_401(self, token, code="invalid_token"):
        r = S.request("GET", "/v1/customers", token=token)
        self.assertProblem(r, 401, code)
        self.assertTrue(r.header("WWW-Authenticate").startswith("Bearer"))

    def test_missing_token(self):
        self.check_401(None, "unauthenticated")

    def test_not_a_bearer_scheme(self):
        r = S.request("GET", "/v1/customers", headers={"Authorization": "Basic YTpi"})
        self.assertProblem(r, 401, "invalid_token")

    def test_malformed_tokens(self):
        good = make_token(claims_for(T["a"]))
        for bad in ("abc", "a.b", "a.b.c.d", good + "=", good.replace(".", "..", 1),
                    "!!!." + good.split(".", 1)[1], good[:-1] + ("A" if good[-1] != "A" else "B")):
            self.check_401(bad)

    def test_expired_token(self):
        now = int(time.time())
        self.check_401(make_token(claims_for(T["a"], exp=now - 120, iat=now - 600)),
                       "token_expired")

    def test_expiry_leeway_of_60_seconds(self):
        now = int(time.time())
        r = S.request("GET", "/v1/customers", token=make_token(claims_for(T["a"], exp=now - 20)))
        self.assertEqual(r.status, 200)

    def test_not_yet_valid(self):
        now = int(time.time())
        self.check_401(make_token(claims_for(T["a"], nbf=now + 600)))
        self.check_401(make_token(claims_for(T["a"], iat=now + 600)))

    def test_bad_signature(self):
        self.check_401(make_token(claims_for(T["a"]), secret="another-secret-another-secret-0000"))

    def test_alg_none(self):
        self.check_401(make_token(claims_for(T["a"]), header={"alg": "none"}, sign=False))
        self.check_401(make_token(claims_for(T["a"]), header={"alg": "none", "typ": "JWT"}))

    def test_wrong_alg(self):
        # HS-signed with the secret but labelled RS256/HS512: never accepted.
        for alg in ("RS256", "ES256", "HS512", "hs256"):
            self.check_401(make_token(claims_for(T["a"]), header={"alg": alg, "typ": "JWT"}))

    def test_missing_or_mistyped_claims(self):
        now = int(time.time())
        base = claims_for(T["a"])
        for key in ("exp", "sub", "tenantId", "role"):
            c = dict(base)
            del c[key]
            self.check_401(make_token(c))
        for key, value in (("role", "PLATFORM"), ("role", "admin"), ("tenantId", 5),
                           ("sub", ["x"]), ("exp", str(now + 100)), ("tenantId", "")):
            c = dict(base)
            c[key] = value
            self.check_401(make_token(c))

    def test_signed_token_with_a_malformed_tenant_id_is_401(self):
        # Correctly signed, but the tenantId cannot name a tenant: the claims do
        # not make a principal, so 401 (not the library's 400), on reads and on
        # writes, before the body is looked at.
        good = T["a"]
        body = good[4:]
        for tenant in ("tenant-a", "ten_", "ten_abc", good + "0", good[:-1], good.upper(),
                       "TEN_" + body, "cus_" + body, " " + good, good + " ",
                       "ten_" + "8" + body[1:],           # 26 base32 digits hold 130 bits
                       "ten_" + body[:-1] + "u",          # not Crockford base32 (i l o u)
                       "ten_" + body[:-1] + "_", "ten_" + body[:-1] + "\u00e9"):
            tok = make_token(claims_for(tenant))
            self.check_401(tok)
            r = S.request("POST", "/v1/customers", raw=b"{not json", token=tok,
                          headers={"Content-Type": "application/json"})
            self.assertProblem(r, 401, "invalid_token")
            self.assertProblem(S.request("GET", "/v1/plans/plan_x", token=tok), 401)
        # A well-formed id is a principal (the tenant need not exist: nothing is found).
        other = "ten_" + "0" * 26
        r = S.request("GET", "/v1/customers", token=make_token(claims_for(other)))
        self.assertEqual((r.status, r.body["data"]), (200, []))
        # The development token command refuses such a tenant too.
        p = S.cli("token", "--tenant", "tenant-a", "--user", "u", "--role", "ADMIN", check=False)
        self.assertEqual((p.returncode, p.stdout), (2, b""))

    def test_cli_token_is_accepted(self):
        tok = S.cli("token", "--tenant", T["a"], "--user", "usr_x", "--role", "USER",
                    "--ttl", "120").stdout.decode().strip()
        self.assertEqual(S.request("GET", "/v1/customers", token=tok).status, 200)

    def test_login_gives_a_working_token(self):
        r = S.request("POST", "/v1/auth/login", {"email": "ADMIN@a.test",
                                                 "password": "correct horse battery"})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.body["tokenType"], "Bearer")
        self.assertGreater(r.body["expiresIn"], 0)
        tok = r.body["accessToken"]
        claims = json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "=="))
        self.assertEqual((claims["tenantId"], claims["role"], claims["sub"]),
                         (T["a"], "ADMIN", T["admin_a_user"]))
        c = S.request("POST", "/v1/customers", {"name": "Via login", "email": "vl@example.com"},
                      token=tok)
        self.assertEqual(c.status, 201)

    def test_login_user_role_reads_only(self):
        r = S.request("POST", "/v1/auth/login", {"email": "reader@a.test",
                                                 "password": "reader-password"})
        self.assertEqual(r.status, 201)
        tok = r.body["accessToken"]
        self.assertEqual(S.request("GET", "/v1/customers", token=tok).status, 200)
        self.assertProblem(S.request("POST", "/v1/customers", {"name": "x"}, token=tok), 403)

    def test_login_bad_credentials_are_401_alike(self):
        wrong = S.request("POST", "/v1/auth/login", {"email": "admin@a.test",
                                                     "password": "wrong password"})
        unknown = S.request("POST", "/v1/auth/login", {"email": "nobody@a.test",
                                                       "password": "wrong password"})
        p1 = self.assertProblem(wrong, 401, "invalid_credentials")
        p2 = self.assertProblem(unknown, 401, "invalid_credentials")
        self.assertEqual(p1["detail"], p2["detail"])

    def test_login_input_errors(self):
        self.assertProblem(S.request("POST", "/v1/auth/login",
                                     {"email": "not-an-email", "password": "long enough"}),
                           400, field="email")
        self.assertProblem(S.request("POST", "/v1/auth/login",
                                     {"email": "a@b.test", "password": "short"}),
                           400, field="password")
        self.assertProblem(S.request("POST", "/v1/auth/login",
                                     {"email": "a@b.test", "password": "long enough", "x": 1}),
                           400, "unknown_field")
        self.assertProblem(S.request("POST", "/v1/auth/login", raw=b"{nope",
                                     headers={"Content-Type": "application/json"}),
                           400, "malformed_json")
        self.assertProblem(S.request("POST", "/v1/auth/login", raw=b"email=a",
                                     headers={"Content-Type": "text/plain"}), 415)


class Resources(ProblemAssertions):
    def test_customer_lifecycle_with_etags(self):
        r = admin("POST", "/v1/customers", {"name": "Ada", "email": "ada@lifecycle.test",
                                            "metadata": {"k": "v"}})
        self.assertEqual(r.status, 201, r.text)
        c = r.body
        self.assertTrue(c["id"].startswith("cus_"))
        self.assertEqual(r.header("Location"), "/v1/customers/" + c["id"])
        self.assertEqual(r.header("ETag"), 'W/"1"')
        g = admin("GET", "/v1/customers/" + c["id"])
        self.assertEqual((g.status, g.body["email"], g.header("ETag")), (200, "ada@lifecycle.test", 'W/"1"'))
        u = admin("PATCH", "/v1/customers/" + c["id"], {"name": "Ada L."},
                  headers={"If-Match": 'W/"1"'})
        self.assertEqual(u.status, 200, u.text)
        self.assertEqual((u.body["name"], u.body["email"], u.body["version"]),
                         ("Ada L.", "ada@lifecycle.test", 2))
        self.assertEqual(u.header("ETag"), 'W/"2"')
        stale = admin("PATCH", "/v1/customers/" + c["id"], {"name": "Nope"},
                      headers={"If-Match": 'W/"1"'})
        self.assertProblem(stale, 412, "stale_version")
        self.assertProblem(admin("DELETE", "/v1/customers/" + c["id"],
                                 headers={"If-Match": '"1"'}), 412)
        self.assertProblem(admin("PATCH", "/v1/customers/" + c["id"], {"name": "N"},
                                 headers={"If-Match": "garbage"}), 412)
        d = admin("DELETE", "/v1/customers/" + c["id"], headers={"If-Match": 'W/"2"'})
        self.assertEqual(d.status, 204)
        self.assertEqual(d.text, b"")
        self.assertProblem(admin("GET", "/v1/customers/" + c["id"]), 404, "not_found")
        self.assertProblem(admin("DELETE", "/v1/customers/" + c["id"]), 404)

    def test_product_and_plan_routes(self):
        p = new_product(description="desc", taxRate="0.19")
        self.assertEqual(p["taxRate"], 0.19)
        g = admin("GET", "/v1/products/" + p["id"])
        self.assertEqual(g.status, 200)
        u = admin("PATCH", "/v1/products/" + p["id"], {"description": None})
        self.assertEqual((u.status, u.body["description"], u.body["sku"]), (200, None, p["sku"]))
        plan = new_plan(p["id"])
        self.assertEqual(admin("GET", "/v1/plans/" + plan["id"]).status, 200)
        u = admin("PATCH", "/v1/plans/" + plan["id"], {"name": "Renamed"})
        self.assertEqual((u.status, u.body["name"]), (200, "Renamed"))
        # a product referenced by a plan cannot go
        self.assertProblem(admin("DELETE", "/v1/products/" + p["id"]), 409)
        self.assertEqual(admin("DELETE", "/v1/plans/" + plan["id"]).status, 204)
        self.assertProblem(admin("GET", "/v1/plans/" + plan["id"]), 404)
        lone = new_product()
        self.assertEqual(admin("DELETE", "/v1/products/" + lone["id"]).status, 204)

    def test_ids_in_bodies_naming_nothing_are_400_resource_missing(self):
        other = new_product(token=T["admin_b"])
        for pid in (other["id"], "prod_doesnotexist", "garbage"):
            r = admin("POST", "/v1/plans", {"productId": pid, "code": "MISSING_1", "name": "xx",
                                            "amount": 5, "interval": "MONTH"})
            self.assertProblem(r, 400, "resource_missing", "productId")
        # In a list filter too (API-HTTP.md "Conventions"), in page and cursor mode.
        for pid in (other["id"], "prod_doesnotexist", "garbage"):
            for extra in ("", "&page=1", "&limit=5"):
                r = admin("GET", "/v1/plans?productId=" + pid + extra)
                self.assertProblem(r, 400, "resource_missing", "productId")
        # The owner filters by it.
        self.assertEqual(S.request("GET", "/v1/plans?productId=" + other["id"],
                                   token=T["admin_b"]).status, 200)

    def test_path_ids_naming_nothing_are_404(self):
        for path in ("/v1/customers/cus_nothing", "/v1/products/prod_0", "/v1/plans/whatever"):
            self.assertProblem(admin("GET", path), 404)
            self.assertProblem(admin("PATCH", path, {"name": "Valid name"}), 404)
            self.assertProblem(admin("DELETE", path), 404)

    def test_validation_errors_are_400_with_fields(self):
        p = self.assertProblem(admin("POST", "/v1/customers", {"name": "X", "email": "x@y.test",
                                                               "bogus": 1}), 400, "unknown_field",
                               "bogus")
        self.assertIsInstance(p["message"], list)
        self.assertProblem(admin("POST", "/v1/customers", {"name": "", "email": "bad"}), 400)
        self.assertProblem(admin("POST", "/v1/customers", {"name": 5}), 400, field="name")
        self.assertProblem(admin("POST", "/v1/customers", raw=b'{"name":',
                                 headers={"Content-Type": "application/json"}), 400, "malformed_json")
        self.assertProblem(admin("POST", "/v1/customers", raw=b"[1]",
                                 headers={"Content-Type": "application/json"}), 400)
        c = new_customer()
        self.assertProblem(admin("PATCH", "/v1/customers/" + c["id"], {"id": "cus_other"}), 400,
                           "unknown_field", "id")

    def test_unsupported_media_type(self):
        for ct in ("text/plain", "application/x-www-form-urlencoded", None):
            h = {"Content-Type": ct} if ct else {}
            self.assertProblem(admin("POST", "/v1/customers", raw=b'{"name":"A"}', headers=h), 415)
        ok = admin("POST", "/v1/customers", raw=b'{"name":"Typed","email":"typed@x.test"}',
                   headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(ok.status, 201)

    def test_duplicate_email_is_409(self):
        new_customer(email="dup@example.com")
        r = admin("POST", "/v1/customers", {"name": "Again", "email": "DUP@example.com"})
        self.assertProblem(r, 409, field="email")

    def test_unknown_route_404_and_wrong_method_405(self):
        self.assertProblem(admin("GET", "/v1/nothing"), 404, "route_not_found")
        self.assertProblem(S.request("GET", "/v1/webhook-endpoints/we_x/nothing"), 404,
                           "route_not_found")
        r = admin("PUT", "/v1/webhook-endpoints")
        self.assertProblem(r, 405, "method_not_allowed")
        self.assertEqual(set(r.header("Allow").split(", ")), {"GET", "POST"})
        r = admin("GET", "/v1/events/redeliver")   # an event named "redeliver": none
        self.assertNotEqual(self.assertProblem(r, 404)["code"], "route_not_found")
        # A route (drafts are finalized by it): an id naming nothing is 404 not_found.
        r = admin("POST", "/v1/invoices/in_x/finalize")
        self.assertNotEqual(self.assertProblem(r, 404)["code"], "route_not_found")
        r = admin("POST", "/v1/invoices/in_x/pay")
        self.assertNotEqual(self.assertProblem(r, 404)["code"], "route_not_found")
        r = admin("POST", "/v1/webhooks/stripe/x/y")
        self.assertProblem(r, 404, "route_not_found")
        r = admin("GET", "/v1/webhooks/stripe")
        self.assertProblem(r, 405)
        self.assertEqual(r.header("Allow"), "POST")
        r = admin("POST", "/v1/invoices/preview")
        self.assertProblem(r, 405)
        # GET of the preview route; PATCH and DELETE of the {id} route (drafts),
        # which would take "preview" as an id.
        self.assertEqual(r.header("Allow"), "GET, PATCH, DELETE")
        self.assertProblem(admin("GET", "/v1/customers/a/b"), 404)
        r = admin("PUT", "/v1/customers")
        self.assertProblem(r, 405, "method_not_allowed")
        self.assertEqual(set(r.header("Allow").split(", ")), {"GET", "POST"})
        r = admin("POST", "/v1/customers/cus_x")
        self.assertEqual(set(r.header("Allow").split(", ")), {"GET", "PATCH", "DELETE"})
        r = S.request("POST", "/healthz")
        self.assertProblem(r, 405)
        self.assertEqual(r.header("Allow"), "GET")

    def test_body_over_1_mib_is_413(self):
        # Declared length: refused before the body is sent.
        s = socket.create_connection(("127.0.0.1", S.port), timeout=10)
        s.sendall(b"POST /v1/customers HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + T["admin_a"].encode() +
                  b"\r\nContent-Length: 2000000\r\n\r\n")
        head = s.recv(65536).decode(errors="replace")
        s.close()
        self.assertTrue(head.startswith("HTTP/1.1 413"), head)
        # Chunked: the limit applies to what arrives.
        big = json.dumps({"name": "x" * (1024 * 1024 + 10)}).encode()
        s = socket.create_connection(("127.0.0.1", S.port), timeout=10)
        s.sendall(b"POST /v1/customers HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + T["admin_a"].encode() +
                  b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(big), 65536):
            chunk = big[i:i + 65536]
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        s.sendall(b"0\r\n\r\n")
        head = s.recv(65536).decode(errors="replace")
        s.close()
        self.assertTrue(head.startswith("HTTP/1.1 413"), head[:200])
        # Just under the limit is read (and judged by the library).
        r = admin("POST", "/v1/customers", {"name": "y" * (1024 * 1000)})
        self.assertProblem(r, 400)


class Roles(ProblemAssertions):
    def test_user_reads(self):
        c = new_customer()
        for path in ("/v1/customers", "/v1/customers/" + c["id"], "/v1/products", "/v1/plans",
                     "/v1/subscriptions", "/v1/invoices"):
            self.assertEqual(S.request("GET", path, token=T["user_a"]).status, 200, path)

    def test_user_may_not_write_even_with_a_bad_body(self):
        c = new_customer()
        p = new_product()
        plan = new_plan(p["id"])
        cases = [("POST", "/v1/customers"), ("POST", "/v1/products"), ("POST", "/v1/plans"),
                 ("PATCH", "/v1/customers/" + c["id"]), ("PATCH", "/v1/products/" + p["id"]),
                 ("PATCH", "/v1/plans/" + plan["id"]), ("DELETE", "/v1/customers/" + c["id"]),
                 ("DELETE", "/v1/products/" + p["id"]), ("DELETE", "/v1/plans/" + plan["id"])]
        for method, path in cases:
            for raw, ct in ((b'{"name":"ok"}', "application/json"), (b"{not json", "application/json"),
                            (b"plain", "text/plain"), (b'{"bogus":1}', "application/json")):
                r = S.request(method, path, token=T["user_a"], raw=raw,
                              headers={"Content-Type": ct})
                self.assertProblem(r, 403, "forbidden")
        self.assertEqual(admin("GET", "/v1/customers/" + c["id"]).status, 200)


class TenantIsolation(ProblemAssertions):
    def test_tenant_a_cannot_touch_tenant_b(self):
        theirs = {
            "customers": new_customer(token=T["admin_b"]),
            "products": new_product(token=T["admin_b"]),
        }
        theirs["plans"] = new_plan(theirs["products"]["id"], token=T["admin_b"])
        for res, obj in theirs.items():
            path = "/v1/%s/%s" % (res, obj["id"])
            self.assertProblem(admin("GET", path), 404)
            self.assertProblem(admin("PATCH", path, {"name": "Hijacked"}), 404)
            self.assertProblem(admin("DELETE", path), 404)
            listed = admin("GET", "/v1/%s?limit=100" % res)
            self.assertNotIn(obj["id"], [x["id"] for x in listed.body["data"]])
            self.assertEqual(S.request("GET", path, token=T["admin_b"]).body["name"], obj["name"])

    def test_cursor_of_another_tenant_is_refused(self):
        for _ in range(3):
            new_customer(token=T["admin_b"])
        page = S.request("GET", "/v1/customers?limit=1", token=T["admin_b"]).body
        self.assertTrue(page["nextCursor"])
        r = admin("GET", "/v1/customers?startingAfter=" + page["nextCursor"])
        self.assertProblem(r, 400, field="startingAfter")


class Lists(ProblemAssertions):
    @classmethod
    def setUpClass(cls):
        cls.tok = make_token(claims_for(S.cli("tenant", "create", "--name", "Lists")
                                        .stdout.decode().strip()))
        cls.ids = []
        for i in range(5):
            p = new_product(token=cls.tok, priceCents=100 * (i + 1), isActive=(i % 2 == 0))
            cls.ids.append(p["id"])

    def get(self, query):
        return S.request("GET", "/v1/products" + query, token=self.tok)

    def test_cursor_mode_walks_every_row_once(self):
        # The first page (no startingAfter) is in page mode, with totals;
        # its nextCursor switches to keyset mode, without them.
        seen, cursor, pages = [], None, 0
        while True:
            r = self.get("?limit=2" + ("&startingAfter=" + cursor if cursor else ""))
            self.assertEqual(r.status, 200, r.text)
            env = r.body
            if cursor:
                self.assertEqual(set(env), {"data", "pageSize", "hasMore", "nextCursor"})
            else:
                self.assertEqual(list(env), ["data", "total", "page", "pageSize", "totalPages",
                                             "hasMore", "nextCursor"])
                self.assertEqual((env["total"], env["page"], env["totalPages"]), (5, 1, 3))
            self.assertEqual(env["pageSize"], 2)
            seen += [p["id"] for p in env["data"]]
            pages += 1
            if not env["hasMore"]:
                self.assertIsNone(env["nextCursor"])
                break
            cursor = env["nextCursor"]
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(seen), sorted(self.ids))

    def test_page_mode_has_totals(self):
        env = self.get("?page=2&pageSize=2").body
        self.assertEqual(list(env), ["data", "total", "page", "pageSize", "totalPages", "hasMore",
                                     "nextCursor"])
        self.assertEqual((env["total"], env["page"], env["pageSize"], env["totalPages"]), (5, 2, 2, 3))
        self.assertEqual(len(env["data"]), 2)

    def test_without_a_cursor_a_list_is_in_page_mode(self):
        env = self.get("").body
        self.assertEqual((env["total"], env["page"], env["pageSize"], env["totalPages"],
                          env["hasMore"], env["nextCursor"]), (5, 1, 20, 1, False, None))
        env = self.get("?isActive=true&limit=2").body
        self.assertEqual((env["total"], env["page"], env["totalPages"], env["hasMore"]),
                         (3, 1, 2, True))
        # page mode's nextCursor continues where its page ends
        rest = self.get("?isActive=true&limit=2&startingAfter=" + env["nextCursor"]).body
        self.assertNotIn("total", rest)
        self.assertEqual(len(rest["data"]), 1)
        self.assertNotIn(rest["data"][0]["id"], [p["id"] for p in env["data"]])
        self.assertProblem(self.get("?page=1&startingAfter=" + env["nextCursor"]), 400,
                           field="startingAfter")

    def test_filters_sort_and_typed_query_parameters(self):
        env = self.get("?isActive=false").body
        self.assertEqual(len(env["data"]), 2)
        env = self.get("?minPriceCents=300&maxPriceCents=400").body
        self.assertEqual(sorted(p["priceCents"] for p in env["data"]), [300, 400])
        env = self.get("?sortBy=priceCents&order=desc&limit=1").body
        self.assertEqual(env["data"][0]["priceCents"], 500)
        self.assertEqual(self.get("?q=Product").status, 200)

    def test_bad_query_parameters_are_400(self):
        for q, field in (("?isActive=yes", "isActive"), ("?limit=abc", "limit"),
                         ("?limit=101", "limit"), ("?page=0", "page"), ("?order=up", "order"),
                         ("?color=red", "color"), ("?limit=1&limit=2", "limit")):
            self.assertProblem(self.get(q), 400, field=field)
        self.assertProblem(admin("GET", "/v1/customers/cus_x?expand=1"), 400, "unknown_parameter")


class Idempotency(ProblemAssertions):
    def test_replay_returns_the_first_response(self):
        body = {"name": "Idem", "email": "idem@example.com"}
        h = {"Idempotency-Key": "key-%d" % time.time_ns()}
        first = admin("POST", "/v1/customers", body, headers=h)
        self.assertEqual(first.status, 201)
        self.assertIsNone(first.header("Idempotent-Replayed"))
        again = admin("POST", "/v1/customers", body, headers=h)
        self.assertEqual(again.status, 201)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.body["id"], first.body["id"])
        self.assertEqual(again.header("Location"), first.header("Location"))
        other = admin("POST", "/v1/customers", {"name": "Other", "email": "o@example.com"},
                      headers=h)
        self.assertProblem(other, 409, "idempotency_mismatch")
        # keys are per tenant
        theirs = S.request("POST", "/v1/customers", body, token=T["admin_b"], headers=h)
        self.assertEqual(theirs.status, 201)
        self.assertIsNone(theirs.header("Idempotent-Replayed"))

    def test_bad_key_is_400(self):
        r = admin("POST", "/v1/customers", {"name": "K", "email": "k@example.com"},
                  headers={"Idempotency-Key": "x" * 300})
        self.assertProblem(r, 400, field="idempotencyKey")


class SlowClient(unittest.TestCase):
    def test_stalled_request_times_out_while_others_are_served(self):
        stalled = socket.create_connection(("127.0.0.1", S.port), timeout=30)
        stalled.sendall(b"POST /v1/customers HTTP/1.1\r\nHost: t\r\nContent-Type: application/json"
                        b"\r\nContent-Length: 100\r\n\r\n{\"na")
        started = time.time()
        for _ in range(5):
            self.assertEqual(S.request("GET", "/healthz").status, 200)
        self.assertLess(time.time() - started, 2)
        ready, _, _ = select.select([stalled], [], [], TIMEOUT_S + 8)
        self.assertTrue(ready, "the stalled connection was not closed")
        try:
            data = stalled.recv(4096)
        except ConnectionResetError:
            data = b""
        self.assertEqual(data, b"")
        self.assertLess(time.time() - started, TIMEOUT_S + 8)
        stalled.close()


class Lifecycle(unittest.TestCase):
    def test_sigterm_finishes_requests_in_flight(self):
        s = Server().start()
        try:
            tenant = s.cli("tenant", "create", "--name", "Graceful").stdout.decode().strip()
            tok = make_token(claims_for(tenant))
            body = json.dumps({"name": "Late", "email": "late@example.com"}).encode()
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            c.sendall(b"POST /v1/customers HTTP/1.1\r\nHost: t\r\nContent-Type: application/json"
                      b"\r\nAuthorization: Bearer " + tok.encode() +
                      b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
            time.sleep(0.3)
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertIsNone(s.proc.poll(), "exited with a request in flight")
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
            c.sendall(body[10:])
            head = c.recv(65536).decode(errors="replace")
            c.close()
            self.assertTrue(head.startswith("HTTP/1.1 201"), head)
            self.assertEqual(s.proc.wait(timeout=TIMEOUT_S + 10), 0)
            self.assertIn('"msg":"stopped"', s.logs())
        finally:
            s.stop()

    # SQLite only, by design: the generated secret is kept in a file beside
    # the database file, and a PostgreSQL database has no such place (the
    # server then needs an explicit secret: test_postgres_needs_a_secret).
    @unittest.skipUnless(BACKEND == "sqlite", "the generated secret lives beside a SQLite file")
    def test_generated_secret_is_private_and_reused(self):
        s = Server(secret=None).start()
        try:
            path = s.db + ".jwt-secret"
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path) as f:
                secret = f.read().strip()
            self.assertRegex(secret, r"^[0-9a-f]{64}$")
            self.assertIn("generated a random JWT signing secret", s.logs())
            self.assertNotIn(secret, s.logs())
            self.assertIn("SQLite file " + s.db + ", test payment provider", s.logs())
            tenant = s.cli("tenant", "create", "--name", "Gen").stdout.decode().strip()
            tok = s.cli("token", "--tenant", tenant, "--user", "u", "--role", "ADMIN").stdout.decode().strip()
            self.assertEqual(s.request("GET", "/v1/customers", token=tok).status, 200)
            self.assertEqual(s.request("GET", "/v1/customers",
                                       token=make_token(claims_for(tenant))).status, 401)
            self.assertEqual(s.request("GET", "/v1/customers",
                                       token=make_token(claims_for(tenant), secret=secret)).status, 200)
            s.proc.send_signal(signal.SIGTERM)
            s.proc.wait(timeout=TIMEOUT_S + 10)
            s.log.close()
            s.start()
            self.assertNotIn("generated a random", s.logs())
            with open(path) as f:
                self.assertEqual(f.read().strip(), secret)
            self.assertEqual(s.request("GET", "/v1/customers", token=tok).status, 200)
        finally:
            self.assertEqual(s.stop(), 0)

    def test_invalid_configuration_stops_at_start_with_one_line_each(self):
        key = "pk_test_" + os.urandom(8).hex()  # a publishable key: refused, never printed
        s = Server(env_extra={"BILLING_PROVIDER": "stripe", "STRIPE_API_KEY": key,
                              "STRIPE_API_BASE": "http://example.com", "BILLING_TEST_CLOCK": "yes",
                              "BILLING_LISTEN": "nonsense", "BILLING_LOG_LEVEL": "loud",
                              "BILLING_JWT_SECRET": "short", "BILLING_RUN_INTERVAL": "0",
                              "BILLING_WEBHOOK_ALLOW_HTTP": "yes",
                              "BILLING_WEBHOOK_ALLOW_PRIVATE": "true",
                              "BILLING_WEBHOOK_TIMEOUT_MS": "5",
                              "BILLING_EVENT_RETENTION_DAYS": "-1"})
        try:
            s.start(wait=False)
            self.assertEqual(s.proc.wait(timeout=20), 2)
            text = s.logs()
            for var in ("STRIPE_API_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET",
                        "BILLING_TEST_CLOCK", "BILLING_LISTEN", "BILLING_LOG_LEVEL",
                        "BILLING_JWT_SECRET", "BILLING_RUN_INTERVAL",
                        "BILLING_WEBHOOK_ALLOW_HTTP", "BILLING_WEBHOOK_ALLOW_PRIVATE",
                        "BILLING_WEBHOOK_TIMEOUT_MS", "BILLING_EVENT_RETENTION_DAYS"):
                self.assertEqual(len([l for l in text.splitlines() if ": " + var + ":" in l]), 1,
                                 var + "\n" + text)
            self.assertIn("12 configuration problems", text)
            self.assertIn("publishable key", text)
            self.assertNotIn("short", text)
            self.assertNotIn(key, text)
        finally:
            s.stop()

    def test_provider_settings_are_checked(self):
        d = tempfile.mkdtemp()
        try:
            key_file = os.path.join(d, "key")
            with open(key_file, "w") as f:
                f.write("sk_test_from_file\n")
            for env, lines in (
                    ({"BILLING_PROVIDER": "paypal"}, {"BILLING_PROVIDER": "must be test or stripe"}),
                    ({"BILLING_PROVIDER": "stripe"}, {"STRIPE_API_KEY": "required",
                                                      "STRIPE_WEBHOOK_SECRET": "required"}),
                    ({"BILLING_PROVIDER": "stripe", "STRIPE_API_KEY": "sk_test_x",
                      "STRIPE_API_KEY_FILE": key_file, "STRIPE_WEBHOOK_SECRET": "whsec_a,,whsec_b"},
                     {"STRIPE_API_KEY": "not both", "STRIPE_WEBHOOK_SECRET": "empty entry"})):
                s = Server(env_extra=env)
                try:
                    s.start(wait=False)
                    self.assertEqual(s.proc.wait(timeout=20), 2)
                    text = s.logs()
                    for var, words in lines.items():
                        found = [l for l in text.splitlines() if ": " + var + ":" in l]
                        self.assertEqual(len(found), 1, text)
                        self.assertIn(words, found[0])
                    self.assertIn("%d configuration problem" % len(lines), text)
                    self.assertNotIn("sk_test_", text)
                finally:
                    s.stop()
        finally:
            shutil.rmtree(d)

    @unittest.skipUnless(BACKEND == "postgres", "PostgreSQL only")
    def test_postgres_needs_a_secret(self):
        s = Server(secret=None)
        try:
            s.start(wait=False)
            self.assertEqual(s.proc.wait(timeout=20), 2)
            lines = [l for l in s.logs().splitlines() if "BILLING_JWT_SECRET" in l]
            self.assertEqual(len(lines), 1, s.logs())
            self.assertIn("not a SQLite file", lines[0])
            self.assertEqual(os.listdir(s.dir), ["server.log"])
        finally:
            s.stop()

    def test_secret_file_variable(self):
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "secret")
            with open(path, "w") as f:
                f.write("file-secret-0123456789abcdef0123456789\n")
            s = Server(secret=None, env_extra={"BILLING_JWT_SECRET_FILE": path}).start()
            try:
                tenant = s.cli("tenant", "create", "--name", "F").stdout.decode().strip()
                tok = make_token(claims_for(tenant), secret="file-secret-0123456789abcdef0123456789")
                self.assertEqual(s.request("GET", "/v1/customers", token=tok).status, 200)
                self.assertNotIn("generated a random", s.logs())
                if s.db:
                    self.assertFalse(os.path.exists(s.db + ".jwt-secret"))
            finally:
                self.assertEqual(s.stop(), 0)
        finally:
            shutil.rmtree(d)


DAY = 86400


def parse_time(text):
    return int(time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)


def fmt_time(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def new_tenant_token(name, role="ADMIN"):
    tenant = S.cli("tenant", "create", "--name", name).stdout.decode().strip()
    return tenant, make_token(claims_for(tenant, role))


class Billing:
    """A tenant of its own with a taxed product, plans and a customer: invoice numbers and
    lists do not depend on what other tests did."""

    def __init__(self, server, token):
        self.s, self.tok = server, token
        self.product = self.ok("POST", "/v1/products", {"name": "Service", "sku": "SVC",
                                                         "priceCents": 0, "taxRate": "0.19"})
        self.monthly = self.plan("MONTHLY", 999)
        self.premium = self.plan("PREMIUM", 1999)
        self.customer = self.customer_new()

    def req(self, method, path, body=None, **kw):
        return self.s.request(method, path, body, token=self.tok, **kw)

    def ok(self, method, path, body=None, status=None, **kw):
        r = self.req(method, path, body, **kw)
        want = status or (201 if method == "POST" and path.count("/") == 2 else 200)
        assert r.status == want, "%s %s: %d %s" % (method, path, r.status, r.text)
        return r.body

    def plan(self, code, amount, **fields):
        body = {"productId": self.product["id"], "code": code, "name": code.title(),
                "amount": amount, "interval": "MONTH"}
        body.update(fields)
        return self.ok("POST", "/v1/plans", body)

    def customer_new(self, **fields):
        n = self.counter = getattr(self, "counter", 0) + 1
        body = {"name": "Cust %d" % n, "email": "cust%d@billing.test" % n}
        body.update(fields)
        return self.ok("POST", "/v1/customers", body)

    def subscribe(self, plan=None, customer=None, **fields):
        body = {"customerId": (customer or self.customer)["id"],
                "planId": (plan or self.monthly)["id"]}
        body.update(fields)
        return self.ok("POST", "/v1/subscriptions", body)

    def invoices(self, query=""):
        return self.ok("GET", "/v1/invoices?limit=100" + query)["data"]


class Subscriptions(ProblemAssertions):
    @classmethod
    def setUpClass(cls):
        cls.tenant, tok = new_tenant_token("Subscriptions")
        cls.b = Billing(S, tok)
        cls.user = make_token(claims_for(cls.tenant, "USER"))

    def test_subscribe_issues_the_first_invoice(self):
        _, tok = new_tenant_token("First invoice")
        b = Billing(S, tok)
        r = b.req("POST", "/v1/subscriptions", {"customerId": b.customer["id"],
                                                "planId": b.monthly["id"], "metadata": {"k": "v"}})
        self.assertEqual(r.status, 201, r.text)
        sub = r.body
        self.assertTrue(sub["id"].startswith("sub_"))
        self.assertEqual(r.header("Location"), "/v1/subscriptions/" + sub["id"])
        self.assertEqual(r.header("ETag"), 'W/"%d"' % sub["version"])
        self.assertEqual((sub["status"], sub["quantity"], sub["cancelAtPeriodEnd"], sub["metadata"]),
                         ("active", 1, False, {"k": "v"}))
        for member in ("currentPeriodStart", "currentPeriodEnd", "trialEnd", "canceledAt",
                       "endedAt", "latestInvoiceId"):
            self.assertIn(member, sub)
        inv = b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual((inv["number"], inv["status"], inv["customerId"], inv["subscriptionId"]),
                         ("INV-000001", "pending", b.customer["id"], sub["id"]))
        # 999 + 19 % tax (189.81, half away from zero) = 1189
        self.assertEqual((inv["currency"], inv["subtotal"], inv["tax"], inv["total"],
                          inv["amountDue"], inv["amountPaid"]), ("EUR", 999, 190, 1189, 1189, 0))
        self.assertEqual((inv["periodStart"], inv["periodEnd"]),
                         (sub["currentPeriodStart"], sub["currentPeriodEnd"]))
        self.assertEqual(len(inv["lines"]), 1)
        line = inv["lines"][0]
        self.assertEqual((line["amount"], line["quantity"], line["unitAmount"], line["taxAmount"],
                          line["proration"], line["planId"]),
                         (999, 1, 999, 190, False, b.monthly["id"]))
        self.assertEqual(b.invoices(), [inv])

    def test_events_log_the_changes_per_tenant(self):
        tenant, tok = new_tenant_token("Events")
        b = Billing(S, tok)
        sub = b.subscribe()
        listed = b.ok("GET", "/v1/events?type=subscription.created")
        self.assertEqual(len(listed["data"]), 1)
        ev = listed["data"][0]
        self.assertTrue(ev["id"].startswith("evt_"))
        self.assertEqual((ev["type"], ev["resourceType"], ev["resourceId"], ev["data"]["id"]),
                         ("subscription.created", "subscription", sub["id"], sub["id"]))
        got = b.ok("GET", "/v1/events/" + ev["id"])
        self.assertEqual(got["id"], ev["id"])
        types = {e["type"] for e in b.ok("GET", "/v1/events?limit=100")["data"]}
        self.assertTrue({"subscription.created", "invoice.created", "invoice.finalized"} <= types)
        # USER reads; another tenant sees nothing of it
        u = S.request("GET", "/v1/events/" + ev["id"], token=make_token(claims_for(tenant, "USER")))
        self.assertEqual((u.status, u.body["id"]), (200, ev["id"]))
        _, other = new_tenant_token("Events other")
        o = S.request("GET", "/v1/events/" + ev["id"], token=other)
        self.assertEqual(o.status, 404)
        o = S.request("GET", "/v1/events", token=other)
        self.assertEqual((o.status, o.body["data"]), (200, []))
        self.assertProblem(S.request("GET", "/v1/events?createdAfter=yesterday", token=tok), 400,
                           field="createdAfter")

    def test_list_get_and_filters(self):
        b = self.b
        other = b.customer_new()
        s1 = b.subscribe(customer=other)
        s2 = b.subscribe(plan=b.premium, customer=other, quantity=2)
        self.assertEqual(b.ok("GET", "/v1/subscriptions/" + s1["id"])["id"], s1["id"])
        g = b.req("GET", "/v1/subscriptions/" + s2["id"])
        self.assertEqual((g.body["quantity"], g.header("ETag")), (2, 'W/"%d"' % s2["version"]))
        listed = b.ok("GET", "/v1/subscriptions?customerId=" + other["id"])
        self.assertEqual(sorted(x["id"] for x in listed["data"]), sorted([s1["id"], s2["id"]]))
        listed = b.ok("GET", "/v1/subscriptions?customerId=%s&planId=%s" % (other["id"],
                                                                          b.premium["id"]))
        self.assertEqual([x["id"] for x in listed["data"]], [s2["id"]])
        self.assertEqual(b.ok("GET", "/v1/subscriptions?status=paused&customerId="
                              + other["id"])["data"], [])
        page = b.ok("GET", "/v1/subscriptions?page=1&pageSize=1&customerId=" + other["id"])
        self.assertEqual((page["total"], page["totalPages"], len(page["data"])), (2, 2, 1))
        invs = b.invoices("&subscriptionId=" + s2["id"])
        self.assertEqual(len(invs), 1)
        self.assertEqual((invs[0]["subtotal"], invs[0]["tax"], invs[0]["total"]),
                         (3998, 760, 4758))  # 2 x 1999; 759.62 -> 760
        self.assertEqual(b.ok("GET", "/v1/invoices/" + invs[0]["id"]), invs[0])
        self.assertEqual(len(b.invoices("&customerId=" + other["id"])), 2)
        self.assertEqual(len(b.invoices("&customerId=%s&status=pending" % other["id"])), 2)
        self.assertEqual(b.invoices("&customerId=%s&status=void" % other["id"]), [])
        for q, field in (("?status=bogus", "status"), ("?customerId=cus_nothing", "customerId"),
                         ("?subscriptionId=sub_nothing", "subscriptionId"), ("?color=red", "color")):
            self.assertProblem(b.req("GET", "/v1/invoices" + q), 400, field=field)
        self.assertProblem(b.req("GET", "/v1/subscriptions?planId=plan_nothing"), 400,
                           "resource_missing", "planId")

    def test_cancel_now(self):
        b = self.b
        sub = b.subscribe()
        c = b.ok("POST", "/v1/subscriptions/%s/cancel" % sub["id"], {})
        self.assertEqual(c["status"], "canceled")
        self.assertIsNotNone(c["endedAt"])
        self.assertIsNotNone(c["canceledAt"])
        self.assertProblem(b.req("POST", "/v1/subscriptions/%s/cancel" % sub["id"], {}), 409,
                           "invalid_transition")
        self.assertProblem(b.req("POST", "/v1/invoices/preview"), 405)
        self.assertProblem(b.req("GET", "/v1/invoices/preview?subscriptionId=" + sub["id"]), 409)
        # no credit, no new invoice
        self.assertEqual(len(b.invoices("&subscriptionId=" + sub["id"])), 1)

    def test_cancel_at_period_end_then_undo_with_if_match(self):
        b = self.b
        sub = b.subscribe()
        r = b.req("POST", "/v1/subscriptions/%s/cancel" % sub["id"], {"atPeriodEnd": True})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["status"], r.body["cancelAtPeriodEnd"], r.body["endedAt"]),
                         ("active", True, None))
        etag = r.header("ETag")
        self.assertEqual(etag, 'W/"%d"' % r.body["version"])
        self.assertProblem(b.req("POST", "/v1/subscriptions/%s/cancel" % sub["id"],
                                 {"atPeriodEnd": True}), 409, "invalid_transition")
        path = "/v1/subscriptions/" + sub["id"]
        self.assertProblem(b.req("PATCH", path, {"cancelAtPeriodEnd": False},
                                 headers={"If-Match": 'W/"%d"' % sub["version"]}), 412)
        u = b.req("PATCH", path, {"cancelAtPeriodEnd": False}, headers={"If-Match": etag})
        self.assertEqual(u.status, 200, u.text)
        self.assertEqual((u.body["status"], u.body["cancelAtPeriodEnd"]), ("active", False))
        self.assertNotEqual(u.header("ETag"), etag)
        u = b.req("PATCH", path, {"quantity": 3, "metadata": {"seats": "3"}})
        self.assertEqual((u.status, u.body["quantity"], u.body["metadata"]), (200, 3, {"seats": "3"}))
        self.assertProblem(b.req("PATCH", path, {"quantity": 0}), 400, field="quantity")
        self.assertProblem(b.req("PATCH", path, {"status": "canceled"}), 400, "unknown_field",
                           "status")

    def test_change_plan_with_prorations_then_preview(self):
        b = self.b
        sub = b.subscribe()
        r = b.req("POST", "/v1/subscriptions/%s/change-plan" % sub["id"],
                  {"planId": b.premium["id"], "prorationBehavior": "create_prorations"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body["planId"], b.premium["id"])
        self.assertEqual(len(b.invoices("&subscriptionId=" + sub["id"])), 1)  # on the next one
        r = b.req("GET", "/v1/invoices/preview?subscriptionId=" + sub["id"])
        self.assertEqual(r.status, 200, r.text)
        p = r.body
        self.assertEqual((p["id"], p["number"], p["status"], p["subscriptionId"]),
                         (None, None, "draft", sub["id"]))
        prorations = [l for l in p["lines"] if l["proration"]]
        self.assertEqual(len(prorations), 2, p["lines"])
        credit = [l for l in prorations if l["amount"] < 0][0]
        charge = [l for l in prorations if l["amount"] > 0][0]
        self.assertEqual((credit["planId"], charge["planId"]), (b.monthly["id"], b.premium["id"]))
        # changed seconds after the start: nearly the whole period either way
        self.assertTrue(-999 <= credit["amount"] <= -990, credit)
        self.assertTrue(1980 <= charge["amount"] <= 1999, charge)
        for l in prorations:
            self.assertEqual(l["periodEnd"], sub["currentPeriodEnd"])
        regular = [l for l in p["lines"] if not l["proration"]]
        self.assertEqual([(l["planId"], l["amount"], l["periodStart"]) for l in regular],
                         [(b.premium["id"], 1999, sub["currentPeriodEnd"])])
        self.assertEqual(p["subtotal"], sum(l["amount"] for l in p["lines"]))
        self.assertEqual(p["tax"], sum(l["taxAmount"] for l in p["lines"]))
        self.assertEqual(p["total"], p["subtotal"] + p["tax"])
        self.assertIsNone(r.header("ETag"))
        # the preview wrote nothing
        self.assertEqual(len(b.invoices("&subscriptionId=" + sub["id"])), 1)
        # the same plan again, a bad behaviour, a plan of another tenant
        self.assertProblem(b.req("POST", "/v1/subscriptions/%s/change-plan" % sub["id"],
                                 {"planId": b.premium["id"]}), 400)
        self.assertProblem(b.req("POST", "/v1/subscriptions/%s/change-plan" % sub["id"],
                                 {"planId": b.monthly["id"], "prorationBehavior": "sometimes"}),
                           400)

    def test_pause_and_resume(self):
        b = self.b
        sub = b.subscribe()
        path = "/v1/subscriptions/" + sub["id"]
        p = b.ok("POST", path + "/pause")
        self.assertEqual(p["status"], "paused")
        self.assertProblem(b.req("POST", path + "/pause"), 409, "invalid_transition")
        self.assertProblem(b.req("POST", path + "/change-plan", {"planId": b.premium["id"]}), 409)
        r = b.req("POST", path + "/resume", {})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body["status"], "active")
        self.assertNotEqual(r.body["latestInvoiceId"], sub["latestInvoiceId"])  # invoiced at once
        self.assertEqual(r.header("ETag"), 'W/"%d"' % r.body["version"])
        self.assertProblem(b.req("POST", path + "/resume"), 409, "invalid_transition")
        self.assertEqual(len(b.invoices("&subscriptionId=" + sub["id"])), 2)

    def test_void_a_pending_invoice_then_again(self):
        b = self.b
        sub = b.subscribe()
        path = "/v1/invoices/%s/void" % sub["latestInvoiceId"]
        h = {"Idempotency-Key": "void-%d" % time.time_ns()}
        r = b.req("POST", path, headers=h)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body["status"], "void")
        self.assertIsNotNone(r.body["voidedAt"])
        again = b.req("POST", path, headers=h)
        self.assertEqual((again.status, again.header("Idempotent-Replayed")), (200, "true"))
        self.assertProblem(b.req("POST", path), 409, "invalid_transition")
        self.assertEqual([i["id"] for i in b.invoices("&status=void&subscriptionId=" + sub["id"])],
                         [sub["latestInvoiceId"]])

    def test_user_gets_403_on_every_write(self):
        b = self.b
        sub = b.subscribe()
        inv = sub["latestInvoiceId"]
        cases = [("POST", "/v1/subscriptions"), ("PATCH", "/v1/subscriptions/" + sub["id"])]
        cases += [("POST", "/v1/subscriptions/%s/%s" % (sub["id"], verb))
                  for verb in ("cancel", "change-plan", "pause", "resume")]
        cases += [("POST", "/v1/invoices/%s/void" % inv)]
        for method, path in cases:
            for raw, ct in ((b"{}", "application/json"), (b"{not json", "application/json"),
                            (b"plain", "text/plain"), (b'{"bogus":1}', "application/json")):
                r = S.request(method, path, token=self.user, raw=raw, headers={"Content-Type": ct})
                self.assertProblem(r, 403, "forbidden")
        for path in ("/v1/subscriptions", "/v1/subscriptions/" + sub["id"], "/v1/invoices",
                     "/v1/invoices/" + inv, "/v1/invoices/preview?subscriptionId=" + sub["id"]):
            self.assertEqual(S.request("GET", path, token=self.user).status, 200, path)
        self.assertEqual(b.ok("GET", "/v1/subscriptions/" + sub["id"])["status"], "active")
        self.assertEqual(b.ok("GET", "/v1/invoices/" + inv)["status"], "pending")

    def test_tenant_isolation(self):
        b = self.b
        sub = b.subscribe()
        inv = sub["latestInvoiceId"]
        theirs = T["admin_b"]
        for method, path, body in (
                ("GET", "/v1/subscriptions/" + sub["id"], None),
                ("PATCH", "/v1/subscriptions/" + sub["id"], {"quantity": 2}),
                ("POST", "/v1/subscriptions/%s/cancel" % sub["id"], {}),
                ("POST", "/v1/subscriptions/%s/change-plan" % sub["id"], {"planId": b.premium["id"]}),
                ("POST", "/v1/subscriptions/%s/pause" % sub["id"], {}),
                ("POST", "/v1/subscriptions/%s/resume" % sub["id"], {}),
                ("GET", "/v1/invoices/" + inv, None),
                ("POST", "/v1/invoices/%s/void" % inv, {})):
            self.assertProblem(S.request(method, path, body, token=theirs), 404)
        # An id in a query names nothing in tenant B. (API-HTTP.md says 400
        # resource_missing for ids in queries; the library answers 404 for the
        # preview's subscriptionId: see the server README, "Not done yet".)
        r = S.request("GET", "/v1/invoices/preview?subscriptionId=" + sub["id"], token=theirs)
        self.assertIn(r.status, (400, 404), r.text)
        # List filters naming A's ids: API-HTTP.md says 400 resource_missing; the library
        # checks only the id's form there and lists nothing (README, "Not done yet"). Either
        # way nothing of A's shows.
        for path in ("/v1/invoices?subscriptionId=" + sub["id"],
                     "/v1/invoices?customerId=" + b.customer["id"],
                     "/v1/subscriptions?customerId=" + b.customer["id"],
                     "/v1/subscriptions?planId=" + b.monthly["id"]):
            r = S.request("GET", path, token=theirs)
            if r.status == 200:
                self.assertEqual(r.body["data"], [], path)
            else:
                self.assertProblem(r, 400, "resource_missing")
        # B subscribing A's customer to A's plan: both ids name nothing there
        r = S.request("POST", "/v1/subscriptions", {"customerId": b.customer["id"],
                                                    "planId": b.monthly["id"]}, token=theirs)
        self.assertProblem(r, 400, "resource_missing")
        _, fresh = new_tenant_token("Empty")
        for path in ("/v1/subscriptions", "/v1/invoices"):
            r = S.request("GET", path, token=fresh)
            self.assertEqual((r.status, r.body["data"]), (200, []))
        self.assertEqual(b.ok("GET", "/v1/subscriptions/" + sub["id"])["status"], "active")

    def test_bad_input(self):
        b = self.b
        other_plan = new_plan(new_product(token=T["admin_b"])["id"], token=T["admin_b"])
        for pid in ("plan_doesnotexist", "garbage", other_plan["id"]):
            r = b.req("POST", "/v1/subscriptions", {"customerId": b.customer["id"], "planId": pid})
            self.assertProblem(r, 400, "resource_missing", "planId")
            sub = b.subscribe()
            r = b.req("POST", "/v1/subscriptions/%s/change-plan" % sub["id"], {"planId": pid})
            self.assertProblem(r, 400, "resource_missing", "planId")
        r = b.req("POST", "/v1/subscriptions", {"customerId": "cus_nothing",
                                                "planId": b.monthly["id"]})
        self.assertProblem(r, 400, "resource_missing", "customerId")
        base = {"customerId": b.customer["id"], "planId": b.monthly["id"]}
        for extra, field in (({"quantity": 0}, "quantity"), ({"quantity": 10001}, "quantity"),
                             ({"quantity": "2"}, "quantity"), ({"trialDays": -1}, "trialDays"),
                             ({"startAt": "yesterday"}, "startAt"), ({"bogus": 1}, "bogus")):
            body = dict(base)
            body.update(extra)
            self.assertProblem(b.req("POST", "/v1/subscriptions", body), 400, field=field)
        self.assertProblem(b.req("POST", "/v1/subscriptions", {"planId": b.monthly["id"]}), 400,
                           field="customerId")
        sub = b.subscribe()
        self.assertProblem(b.req("POST", "/v1/subscriptions/%s/cancel" % sub["id"],
                                 {"id": "sub_other"}), 400, "unknown_field", "id")
        self.assertProblem(b.req("POST", "/v1/subscriptions/%s/cancel" % sub["id"],
                                 {"atPeriodEnd": "yes"}), 400, field="atPeriodEnd")
        self.assertProblem(b.req("POST", "/v1/subscriptions/%s/pause" % sub["id"], {"x": 1}), 400,
                           "unknown_field", "x")
        self.assertProblem(b.req("GET", "/v1/invoices/preview"), 400, field="subscriptionId")
        self.assertProblem(b.req("GET", "/v1/invoices/preview?subscriptionId=%s&x=1" % sub["id"]),
                           400, "unknown_parameter", "x")
        for method, path in (("GET", "/v1/subscriptions/sub_nothing"),
                             ("POST", "/v1/subscriptions/sub_nothing/cancel"),
                             ("POST", "/v1/subscriptions/sub_nothing/pause"),
                             ("GET", "/v1/invoices/in_nothing"),
                             ("POST", "/v1/invoices/in_nothing/void")):
            self.assertProblem(b.req(method, path, {} if method != "GET" else None), 404)
        self.assertProblem(b.req("PATCH", "/v1/subscriptions/sub_nothing", {"quantity": 2}), 404)
        # unchanged
        self.assertEqual(b.ok("GET", "/v1/subscriptions/" + sub["id"])["version"], sub["version"])

    def test_worker_invoices_missed_periods_and_logs_the_run(self):
        # Backdated three months and a few days: the periods already over are
        # the worker's (BILLING_RUN_INTERVAL=1 on the shared server).
        b = self.b
        start = int(time.time()) - 95 * DAY
        sub = b.subscribe(startAt=fmt_time(start))
        deadline = time.time() + 15
        while time.time() < deadline:
            invs = b.invoices("&subscriptionId=" + sub["id"])
            if len(invs) == 4:
                break
            time.sleep(0.2)
        self.assertEqual(len(invs), 4, invs)
        for a, c in zip(invs, invs[1:]):
            self.assertEqual(a["periodEnd"], c["periodStart"])
        self.assertEqual(invs[0]["periodStart"], fmt_time(start))
        time.sleep(0.2)
        runs = [json.loads(l) for l in S.logs().splitlines()
                if l.startswith("{") and '"msg":"billing run"' in l]
        self.assertTrue(any(r["source"] == "worker" and r["invoiced"] >= 1 for r in runs), runs)
        for r in runs:
            self.assertTrue({"processed", "invoiced", "failed", "remaining"} <= set(r), r)
            self.assertIsInstance(r["processed"], int)


class TestClock(ProblemAssertions):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(env_extra={"BILLING_TEST_CLOCK": "1", "BILLING_RUN_INTERVAL": "1"}).start()
        cls.tenant = cls.s.cli("tenant", "create", "--name", "Clock").stdout.decode().strip()
        cls.tok = make_token(claims_for(cls.tenant))
        cls.user = make_token(claims_for(cls.tenant, "USER"))

    @classmethod
    def tearDownClass(cls):
        if cls.s.stop() != 0:
            raise AssertionError("the test-clock server did not exit cleanly")

    def clock(self):
        r = self.s.request("GET", "/v1/test-clock", token=self.tok)
        self.assertEqual(r.status, 200, r.text)
        return parse_time(r.body["now"])

    def advance(self, body, token=None):
        return self.s.request("POST", "/v1/test-clock/advance", body, token=token or self.tok)

    def test_95_days_of_a_monthly_plan(self):
        b = Billing(self.s, self.tok)
        sub = b.subscribe()
        start = parse_time(sub["currentPeriodStart"])
        self.assertLessEqual(abs(start - self.clock()), 5)
        r = self.advance({"seconds": 95 * DAY})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["processed"], r.body["invoiced"]), (3, 3))
        self.assertEqual(parse_time(r.body["now"]), start + 95 * DAY)
        invs = b.invoices()
        self.assertEqual([i["number"] for i in invs],
                         ["INV-%06d" % n for n in range(1, 5)])
        self.assertEqual(invs[0]["periodStart"], sub["currentPeriodStart"])
        for a, c in zip(invs, invs[1:]):
            self.assertEqual(a["periodEnd"], c["periodStart"])
            self.assertEqual((c["total"], c["status"]), (1189, "pending"))
        self.assertLess(parse_time(invs[3]["periodStart"]), start + 95 * DAY)
        self.assertGreater(parse_time(invs[3]["periodEnd"]), start + 95 * DAY)
        now = b.ok("GET", "/v1/subscriptions/" + sub["id"])
        self.assertEqual((now["currentPeriodStart"], now["latestInvoiceId"]),
                         (invs[3]["periodStart"], invs[3]["id"]))
        # Nothing more is due; the token's exp is real time, not the clock's.
        r = self.advance({"seconds": 0})
        self.assertEqual((r.status, r.body["processed"]), (200, 0))

    def test_advance_to_a_time_and_refusals(self):
        now = self.clock()
        r = self.advance({"to": fmt_time(now + DAY)})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body["now"], fmt_time(now + DAY))
        self.assertEqual(self.clock(), now + DAY)
        self.assertProblem(self.advance({"to": fmt_time(now)}), 400, "clock_backwards", "to")
        self.assertProblem(self.advance({"to": "2001-01-01T00:00:00Z"}), 400, "clock_backwards")
        for body, field in (({"seconds": -1}, "seconds"), ({"seconds": 1.5}, "seconds"),
                            ({"seconds": "60"}, "seconds"), ({"seconds": 10 ** 15}, "seconds"),
                            ({"to": "tomorrow"}, "to"), ({"to": "2999-02-30T00:00:00Z"}, "to"),
                            ({"to": 5}, "to"), ({}, "body"), ({"seconds": 1, "to": "x"}, "body"),
                            ({"days": 1}, "days")):
            self.assertProblem(self.advance(body), 400, field=field)
        self.assertEqual(self.clock(), now + DAY)  # unchanged by the refusals

    def test_admin_only_and_real_time_tokens(self):
        for method, path, body in (("GET", "/v1/test-clock", None),
                                   ("POST", "/v1/test-clock/advance", {"seconds": 1})):
            self.assertProblem(self.s.request(method, path, body, token=self.user), 403, "forbidden")
            self.assertProblem(self.s.request(method, path, body), 401)
        # A year ahead, a token that expires in ten real minutes still works.
        self.assertEqual(self.advance({"seconds": 366 * DAY}).status, 200)
        self.assertEqual(self.s.request("GET", "/v1/customers", token=self.tok).status, 200)
        now = int(time.time())
        expired = make_token(claims_for(self.tenant, exp=now - 120, iat=now - 600))
        self.assertProblem(self.s.request("GET", "/v1/test-clock", token=expired), 401,
                           "token_expired")

    def test_openapi_has_the_clock_routes(self):
        doc = self.s.request("GET", "/v1/openapi.json").body
        self.assertEqual(set(doc["paths"]["/v1/test-clock"]), {"get"})
        adv = doc["paths"]["/v1/test-clock/advance"]["post"]
        self.assertEqual(adv["x-roles"], ["ADMIN"])
        self.assertIn("TestClockAdvance", adv["requestBody"]["content"]["application/json"]
                      ["schema"]["$ref"])

    def test_routes_are_404_without_the_test_clock(self):
        self.assertProblem(admin("GET", "/v1/test-clock"), 404, "route_not_found")
        self.assertProblem(admin("POST", "/v1/test-clock/advance", {"seconds": 1}), 404,
                           "route_not_found")
        self.assertNotIn("/v1/test-clock", S.request("GET", "/v1/openapi.json").body["paths"])


WEBHOOK_SECRET = "whsec_http_suite_0123456789"


def stripe_signature(body, t, secret=WEBHOOK_SECRET):
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def stripe_event(event_type, obj, t):
    return json.dumps({"id": "evt_" + os.urandom(8).hex(), "object": "event",
                       "type": event_type, "created": t, "livemode": False,
                       "data": {"object": obj}}).encode()


def payment_intent(payment, tenant, amount=None, status="succeeded"):
    return {"id": payment["providerRef"], "object": "payment_intent",
            "amount": payment["amount"] if amount is None else amount,
            "currency": payment["currency"].lower(), "status": status,
            "metadata": {"tenant_id": tenant, "payment_id": payment["id"],
                         "invoice_id": payment["invoiceId"]}}


class Payments(ProblemAssertions):
    """Collection, dunning, paying by hand, refunds, the dunning policy and inbound webhooks,
    on a server of their own: the test clock (retries are due work) and the test provider
    with a webhook secret. Each test has a tenant of its own."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server(env_extra={"BILLING_TEST_CLOCK": "1",
                                  "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}).start()

    @classmethod
    def tearDownClass(cls):
        if cls.s.stop() != 0:
            raise AssertionError("the payments server did not exit cleanly")

    def tenant(self, name):
        tenant = self.s.cli("tenant", "create", "--name", name).stdout.decode().strip()
        return tenant, Billing(self.s, make_token(claims_for(tenant)))

    def payments(self, b, invoice_id):
        return b.ok("GET", "/v1/payments?invoiceId=" + invoice_id)["data"]

    def clock(self, b):
        return parse_time(b.ok("GET", "/v1/test-clock")["now"])

    def webhook(self, body, signature=None, headers=None):
        h = {"Content-Type": "application/json"}
        if signature:
            h["Stripe-Signature"] = signature
        h.update(headers or {})
        return self.s.request("POST", "/v1/webhooks/stripe", raw=body, headers=h)

    def test_a_card_that_works_pays_the_first_invoice(self):
        _, b = self.tenant("Collect")
        c = b.customer_new(defaultPaymentMethod="pm_card_visa")
        sub = b.subscribe(customer=c)
        self.assertEqual(sub["status"], "active")
        inv = b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual((inv["status"], inv["amountPaid"], inv["amountDue"]), ("paid", 1189, 0))
        pays = self.payments(b, inv["id"])
        self.assertEqual(len(pays), 1)
        p = pays[0]
        self.assertEqual((p["status"], p["amount"], p["currency"], p["provider"],
                          p["paymentMethod"], p["invoiceId"], p["refundedAmount"]),
                         ("succeeded", 1189, "EUR", "test", "pm_card_visa", inv["id"], 0))
        self.assertTrue(p["id"].startswith("pay_") and p["providerRef"].startswith("pi_"), p)
        r = b.req("GET", "/v1/payments/" + p["id"])
        self.assertEqual((r.status, r.body["id"]), (200, p["id"]))
        self.assertEqual(r.header("ETag"), 'W/"%d"' % p["version"])
        self.assertEqual([x["id"] for x in b.ok("GET", "/v1/payments?status=succeeded")["data"]],
                         [p["id"]])
        self.assertProblem(b.req("GET", "/v1/payments?status=paid"), 400, field="status")
        self.assertProblem(b.req("GET", "/v1/payments?bogus=1"), 400, "unknown_parameter", "bogus")
        self.assertProblem(b.req("GET", "/v1/payments/pay_nothing"), 404)

    def test_a_declined_card_then_a_retry_with_a_new_card(self):
        _, b = self.tenant("Dunning")
        c = b.customer_new(defaultPaymentMethod="pm_card_chargeDeclined")
        sub = b.subscribe(customer=c)
        inv = b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
        self.assertEqual(inv["status"], "failed")
        self.assertEqual(b.ok("GET", "/v1/subscriptions/" + sub["id"])["status"], "past_due")
        self.assertEqual(parse_time(inv["nextAttemptAt"]), parse_time(inv["finalizedAt"]) + DAY)
        pays = self.payments(b, inv["id"])
        self.assertEqual([(p["status"], p["failureCode"]) for p in pays],
                         [("failed", "card_declined")])
        b.ok("PATCH", "/v1/customers/" + c["id"], {"defaultPaymentMethod": "pm_card_visa"})
        r = b.req("POST", "/v1/test-clock/advance", {"to": inv["nextAttemptAt"]})
        self.assertEqual(r.status, 200, r.text)
        self.assertGreaterEqual(r.body["processed"], 1)
        inv = b.ok("GET", "/v1/invoices/" + inv["id"])
        self.assertEqual((inv["status"], inv["amountDue"], inv["nextAttemptAt"]), ("paid", 0, None))
        self.assertEqual(b.ok("GET", "/v1/subscriptions/" + sub["id"])["status"], "active")
        self.assertEqual(sorted(p["status"] for p in self.payments(b, inv["id"])),
                         ["failed", "succeeded"])

    def test_paying_an_invoice_by_hand(self):
        _, b = self.tenant("Pay")
        sub = b.subscribe()  # the customer has no payment method: the invoice waits
        inv = sub["latestInvoiceId"]
        path = "/v1/invoices/%s/pay" % inv
        self.assertEqual(b.ok("GET", "/v1/invoices/" + inv)["status"], "pending")
        self.assertEqual(self.payments(b, inv), [])
        self.assertProblem(b.req("POST", path, {}), 400, field="paymentMethod")
        self.assertProblem(b.req("POST", path, {"paymentMethod": "pm_card_visa", "amount": 1}),
                           400, field="amount")
        self.assertProblem(b.req("POST", path, {"paymentMethod": "pm_card_visa",
                                                "currency": "USD"}), 400, field="currency")
        self.assertProblem(b.req("POST", path, {"paymentMethod": 5}), 400, field="paymentMethod")
        self.assertProblem(b.req("POST", path, {"bogus": 1}), 400, field="bogus")
        self.assertProblem(b.req("POST", path, raw=b"{", headers={"Content-Type": "application/json"}),
                           400, "malformed_json")
        self.assertProblem(b.req("POST", "/v1/invoices/in_nothing/pay", {}), 404)
        r = b.req("POST", path, {"paymentMethod": "pm_card_chargeDeclined"})
        p = self.assertProblem(r, 402, "declined")
        self.assertEqual(p["providerCode"], "card_declined")
        self.assertEqual(b.ok("GET", "/v1/invoices/" + inv)["status"], "failed")
        key = {"Idempotency-Key": "pay-%d" % time.time_ns()}
        body = {"paymentMethod": "pm_card_visa", "amount": 1189, "currency": "EUR"}
        r = b.req("POST", path, body, headers=key)
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual((r.body["status"], r.body["invoiceId"], r.body["amount"]),
                         ("succeeded", inv, 1189))
        self.assertEqual(r.header("Location"), "/v1/payments/" + r.body["id"])
        self.assertEqual(r.header("ETag"), 'W/"%d"' % r.body["version"])
        self.assertEqual(b.ok("GET", "/v1/invoices/" + inv)["status"], "paid")
        again = b.req("POST", path, body, headers=key)
        self.assertEqual((again.status, again.header("Idempotent-Replayed"), again.body["id"]),
                         (201, "true", r.body["id"]))
        self.assertProblem(b.req("POST", path, {"paymentMethod": "pm_card_visa"}), 409,
                           "invalid_transition")
        self.assertEqual(sorted(p["status"] for p in self.payments(b, inv)),
                         ["failed", "succeeded"])

    def test_a_lost_answer_is_502_and_the_run_asks_again(self):
        _, b = self.tenant("Timeout")
        inv = b.subscribe()["latestInvoiceId"]
        r = b.req("POST", "/v1/invoices/%s/pay" % inv, {"paymentMethod": "pm_card_timeout"})
        self.assertProblem(r, 502, "unknown_outcome")
        self.assertIn("asks again", r.body["detail"])
        self.assertEqual([p["status"] for p in self.payments(b, inv)], ["unknown"])
        self.assertProblem(b.req("POST", "/v1/invoices/%s/pay" % inv,
                                 {"paymentMethod": "pm_card_visa"}), 409)
        r = b.req("POST", "/v1/test-clock/advance", {"seconds": 3600})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([p["status"] for p in self.payments(b, inv)], ["succeeded"])
        self.assertEqual(b.ok("GET", "/v1/invoices/" + inv)["status"], "paid")

    def test_refunds_partial_too_much_then_the_rest(self):
        _, b = self.tenant("Refund")
        sub = b.subscribe(customer=b.customer_new(defaultPaymentMethod="pm_card_visa"))
        pay = self.payments(b, sub["latestInvoiceId"])[0]
        path = "/v1/payments/%s/refund" % pay["id"]
        r = b.req("POST", path, {"amount": 189})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["status"], r.body["refundedAmount"]), ("partially_refunded", 189))
        self.assertProblem(b.req("POST", path, {"amount": 1001}), 400, field="amount")
        self.assertProblem(b.req("POST", path, {"amount": 0}), 400, field="amount")
        self.assertProblem(b.req("POST", path, {"amount": "5"}), 400, field="amount")
        r = b.req("POST", path, {})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["status"], r.body["refundedAmount"]), ("refunded", 1189))
        self.assertProblem(b.req("POST", path, {}), 409)
        self.assertProblem(b.req("POST", "/v1/payments/pay_nothing/refund", {}), 404)
        self.assertEqual(b.ok("GET", "/v1/payments/" + pay["id"])["refundedAmount"], 1189)

    def test_roles_and_tenants(self):
        tenant, b = self.tenant("Roles")
        sub = b.subscribe(customer=b.customer_new(defaultPaymentMethod="pm_card_visa"))
        inv = sub["latestInvoiceId"]
        pay = self.payments(b, inv)[0]
        user = make_token(claims_for(tenant, "USER"))
        for method, path in (("POST", "/v1/invoices/%s/pay" % inv),
                             ("POST", "/v1/payments/%s/refund" % pay["id"]),
                             ("PUT", "/v1/dunning-policy")):
            for raw, ct in ((b"{}", "application/json"), (b"{not json", "application/json"),
                            (b"plain", "text/plain")):
                r = self.s.request(method, path, token=user, raw=raw, headers={"Content-Type": ct})
                self.assertProblem(r, 403, "forbidden")
            self.assertProblem(self.s.request(method, path, {}), 401, "unauthenticated")
        for path in ("/v1/payments", "/v1/payments?invoiceId=" + inv, "/v1/payments/" + pay["id"],
                     "/v1/dunning-policy"):
            self.assertEqual(self.s.request("GET", path, token=user).status, 200, path)
        _, other = self.tenant("Other")
        self.assertProblem(other.req("GET", "/v1/payments/" + pay["id"]), 404)
        self.assertProblem(other.req("POST", "/v1/payments/%s/refund" % pay["id"], {}), 404)
        self.assertProblem(other.req("POST", "/v1/invoices/%s/pay" % inv,
                                     {"paymentMethod": "pm_card_visa"}), 404)
        self.assertEqual(other.ok("GET", "/v1/payments")["data"], [])
        self.assertProblem(other.req("GET", "/v1/payments?invoiceId=" + inv), 400,
                           "resource_missing")
        self.assertEqual(b.ok("GET", "/v1/payments/" + pay["id"])["refundedAmount"], 0)

    def test_dunning_policy_default_set_and_validation(self):
        _, b = self.tenant("Policy")
        self.assertEqual(b.ok("GET", "/v1/dunning-policy"),
                         {"object": "dunning_policy", "retryDays": [1, 3, 5, 7],
                          "finalAction": "cancel", "actionExpirySeconds": None})
        r = b.req("PUT", "/v1/dunning-policy", {"retryDays": [2, 4, 9], "finalAction": "keep_past_due"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["retryDays"], r.body["finalAction"]), ([2, 4, 9], "keep_past_due"))
        self.assertEqual(b.ok("GET", "/v1/dunning-policy")["retryDays"], [2, 4, 9])
        for body, field in (({"retryDays": [3, 1]}, "retryDays"), ({}, "retryDays"),
                            ({"retryDays": [0]}, "retryDays"), ({"retryDays": [400]}, "retryDays"),
                            ({"retryDays": list(range(1, 14))}, "retryDays"),
                            ({"retryDays": "1,3"}, "retryDays"),
                            ({"retryDays": [1], "finalAction": "explode"}, "finalAction"),
                            ({"retryDays": [1], "bogus": True}, "bogus")):
            self.assertProblem(b.req("PUT", "/v1/dunning-policy", body), 400, field=field)
        self.assertEqual(b.ok("GET", "/v1/dunning-policy")["retryDays"], [2, 4, 9])
        self.assertProblem(b.req("GET", "/v1/dunning-policy?retryDays=1"), 400, "unknown_parameter")
        self.assertProblem(b.req("POST", "/v1/dunning-policy", {}), 405)
        # Another tenant still has the default.
        _, other = self.tenant("Policy 2")
        self.assertEqual(other.ok("GET", "/v1/dunning-policy")["retryDays"], [1, 3, 5, 7])

    def test_webhooks_signed_with_the_test_clock(self):
        tenant, b = self.tenant("Webhooks")
        sub = b.subscribe(customer=b.customer_new(defaultPaymentMethod="pm_card_processing"))
        inv = sub["latestInvoiceId"]
        pay = self.payments(b, inv)[0]
        self.assertEqual(pay["status"], "pending")
        self.assertEqual(b.ok("GET", "/v1/invoices/" + inv)["status"], "pending")
        now = self.clock(b)  # the library checks t against its clock: the test clock
        body = stripe_event("payment_intent.succeeded", payment_intent(pay, tenant), now)
        # No bearer token: the signature is the authentication.
        r = self.webhook(body, stripe_signature(body, now))
        self.assertEqual((r.status, r.body), (200, {"received": True, "outcome": "applied"}), r.text)
        self.assertEqual(b.ok("GET", "/v1/invoices/" + inv)["status"], "paid")
        self.assertEqual(b.ok("GET", "/v1/payments/" + pay["id"])["status"], "succeeded")
        r = self.webhook(body, stripe_signature(body, now))
        self.assertEqual((r.status, r.body["outcome"]), (200, "duplicate"))
        # Refused, and nothing applied: tampered, too old, unsigned, wrong secret.
        tampered = body.replace(b'"amount": %d' % pay["amount"], b'"amount": 1')
        self.assertNotEqual(tampered, body)
        self.assertProblem(self.webhook(tampered, stripe_signature(body, now)), 400, "signature")
        old = stripe_event("payment_intent.succeeded", payment_intent(pay, tenant), now - 600)
        self.assertProblem(self.webhook(old, stripe_signature(old, now - 600)), 400, "signature")
        self.assertProblem(self.webhook(body), 400, "signature")
        self.assertProblem(self.webhook(body, stripe_signature(body, now, "whsec_other")), 400,
                           "signature")
        self.assertProblem(self.webhook(b"not json", stripe_signature(b"not json", now)), 400,
                           "malformed")
        # An event that does not match its payment changes nothing.
        sub2 = b.subscribe(customer=b.customer_new(defaultPaymentMethod="pm_card_processing"))
        pay2 = self.payments(b, sub2["latestInvoiceId"])[0]
        for obj, code in ((payment_intent(pay2, tenant, amount=1), "amount_mismatch"),
                          (dict(payment_intent(pay2, tenant), currency="usd"), "currency_mismatch")):
            ev = stripe_event("payment_intent.succeeded", obj, now)
            self.assertProblem(self.webhook(ev, stripe_signature(ev, now)), 400, code)
        # A payment that is not the tenant's named in the event: 400, never another tenant's.
        other, _ = self.tenant("Webhooks 2")
        ev = stripe_event("payment_intent.succeeded", payment_intent(pay2, other), now)
        self.assertProblem(self.webhook(ev, stripe_signature(ev, now)), 400, "not_found")
        self.assertEqual(b.ok("GET", "/v1/payments/" + pay2["id"])["status"], "pending")
        # Types the library does not act on are acknowledged.
        ev = stripe_event("customer.created", {"id": "cus_stripe", "object": "customer"}, now)
        r = self.webhook(ev, stripe_signature(ev, now))
        self.assertEqual((r.status, r.body["outcome"]), (200, "ignored"))
        # Not JSON-typed, a query, too big.
        self.assertProblem(self.s.request("POST", "/v1/webhooks/stripe?x=1", raw=body, headers={
            "Stripe-Signature": stripe_signature(body, now)}), 400, "unknown_parameter")
        big = b"{" + b" " * (256 * 1024) + b"}"
        self.assertProblem(self.webhook(big, stripe_signature(big, now)), 413, "body_too_large")
        logs = self.s.logs()
        self.assertNotIn(WEBHOOK_SECRET, logs)
        lines = [json.loads(l) for l in logs.splitlines()
                 if l.startswith("{") and '"route":"/v1/webhooks/stripe"' in l]
        self.assertIn(tenant, [l.get("tenantId") for l in lines if l["status"] == 200])

    def test_webhooks_without_a_secret_are_refused(self):
        body = b'{"id":"evt_1","type":"payment_intent.succeeded","created":1}'
        r = S.request("POST", "/v1/webhooks/stripe", raw=body,
                      headers={"Stripe-Signature": stripe_signature(body, int(time.time()))})
        self.assertProblem(r, 400, "signature")

    def test_openapi_has_the_payment_routes(self):
        doc = self.s.request("GET", "/v1/openapi.json").body
        pay = doc["paths"]["/v1/invoices/{id}/pay"]["post"]
        self.assertTrue({"201", "400", "402", "403", "404", "409", "502"} <= set(pay["responses"]))
        props = pay["requestBody"]["content"]["application/json"]["schema"]["properties"]
        self.assertEqual(set(props), {"paymentMethod", "amount", "currency", "paidOutOfBand"})
        self.assertEqual(pay["x-roles"], ["ADMIN"])
        names = {p.get("name") for p in doc["paths"]["/v1/payments"]["get"]["parameters"]}
        self.assertTrue({"invoiceId", "status", "limit", "startingAfter"} <= names)
        put = doc["paths"]["/v1/dunning-policy"]["put"]
        props = put["requestBody"]["content"]["application/json"]["schema"]["properties"]
        self.assertEqual(set(props), {"retryDays", "finalAction", "actionExpirySeconds"})
        hook = doc["paths"]["/v1/webhooks/stripe"]["post"]
        self.assertEqual(hook["security"], [])
        self.assertIn("#/components/parameters/StripeSignature",
                      [p.get("$ref") for p in hook["parameters"]])


class FakeStripe:
    """Just enough of Stripe's PaymentIntents API for the stripe provider, on loopback
    (STRIPE_API_BASE=http://127.0.0.1:PORT): pm_card_chargeDeclined is declined (402 with
    decline_code generic_decline), any other method succeeds. Records every request."""

    def __init__(self):
        import http.server
        import threading
        import urllib.parse
        fake = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(n).decode()).items()}
                fake.requests.append({"path": self.path, "form": form,
                                      "authorization": self.headers.get("Authorization"),
                                      "idempotencyKey": self.headers.get("Idempotency-Key")})
                status, body = 404, {"error": {"type": "invalid_request_error",
                                               "message": "no such route"}}
                if self.path == "/v1/payment_intents":
                    pi = {"id": "pi_fake_%d" % len(fake.requests), "object": "payment_intent",
                          "amount": int(form["amount"]), "currency": form["currency"],
                          "status": "succeeded",
                          "metadata": {k[9:-1]: v for k, v in form.items()
                                       if k.startswith("metadata[")}}
                    status, body = 200, pi
                    if form.get("payment_method") == "pm_card_chargeDeclined":
                        pi["status"] = "requires_payment_method"
                        status, body = 402, {"error": {
                            "type": "card_error", "code": "card_declined",
                            "decline_code": "generic_decline", "message": "Your card was declined.",
                            "payment_intent": pi}}
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


class StripeProvider(ProblemAssertions):
    def test_payments_through_stripe_and_rotated_webhook_secrets(self):
        fake = FakeStripe()
        key = "sk_test_" + os.urandom(12).hex()
        old_secret, new_secret = "whsec_old_" + os.urandom(6).hex(), "whsec_new_" + os.urandom(6).hex()
        s = Server(env_extra={"BILLING_PROVIDER": "stripe", "STRIPE_API_KEY": key,
                              "STRIPE_WEBHOOK_SECRET": old_secret + ", " + new_secret,
                              "STRIPE_API_BASE": fake.url})
        try:
            s.start()
            start = [json.loads(l) for l in s.logs().splitlines() if '"msg":"starting"' in l][0]
            self.assertTrue(start["using"].endswith(
                "Stripe payment provider (test-mode key) at " + fake.url), start)
            self.assertEqual(start["webhooks"], "signed (2 secrets)")
            tenant = s.cli("tenant", "create", "--name", "Stripe").stdout.decode().strip()
            b = Billing(s, make_token(claims_for(tenant)))
            sub = b.subscribe(customer=b.customer_new(defaultPaymentMethod="pm_card_visa"))
            inv = b.ok("GET", "/v1/invoices/" + sub["latestInvoiceId"])
            self.assertEqual(inv["status"], "paid")
            pay = b.ok("GET", "/v1/payments?invoiceId=" + inv["id"])["data"][0]
            self.assertEqual((pay["provider"], pay["providerRef"], pay["status"]),
                             ("stripe", "pi_fake_1", "succeeded"))
            req = fake.requests[0]
            self.assertEqual((req["path"], req["authorization"]),
                             ("/v1/payment_intents", "Bearer " + key))
            self.assertTrue(req["idempotencyKey"])
            self.assertEqual((req["form"]["amount"], req["form"]["currency"],
                              req["form"]["metadata[tenant_id]"], req["form"]["metadata[payment_id]"],
                              req["form"]["metadata[invoice_id]"]),
                             ("1189", "eur", tenant, pay["id"], inv["id"]))
            # A decline by hand: 402 with Stripe's decline code.
            inv2 = b.subscribe()["latestInvoiceId"]
            r = b.req("POST", "/v1/invoices/%s/pay" % inv2, {"paymentMethod": "pm_card_chargeDeclined"})
            self.assertEqual(self.assertProblem(r, 402, "declined")["providerCode"], "generic_decline")
            # Either secret verifies while rotating.
            now = int(time.time())
            for secret in (old_secret, new_secret):
                ev = stripe_event("customer.created", {"id": "cus_x", "object": "customer"}, now)
                r = s.request("POST", "/v1/webhooks/stripe", raw=ev, headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": stripe_signature(ev, now, secret)})
                self.assertEqual((r.status, r.body), (200, {"received": True, "outcome": "ignored"}))
            r = s.request("POST", "/v1/webhooks/stripe", raw=ev, headers={
                "Stripe-Signature": stripe_signature(ev, now, "whsec_unknown")})
            self.assertProblem(r, 400, "signature")
            for secret in (key, old_secret, new_secret):
                self.assertNotIn(secret, s.logs())
        finally:
            self.assertEqual(s.stop(), 0)
            fake.stop()


# ------------------------------------------------------------ outbound webhooks

HOOK_TIMEOUT_MS = 1000  # BILLING_WEBHOOK_TIMEOUT_MS of the webhook server: "slow" sleeps past it

class Delivery:
    """One POST the receiver got: the Standard Webhooks headers and the raw body."""

    def __init__(self, headers, body):
        self.id = headers.get("webhook-id") or ""
        self.timestamp = headers.get("webhook-timestamp") or ""
        self.signatures = (headers.get("webhook-signature") or "").split(" ")
        self.content_type = headers.get("Content-Type")
        self.body = body
        self.event = json.loads(body) if body else None
        self.verified = False   # by one of the secrets the receiver held for its path


def webhook_signature_ok(d, secret):
    """Standard Webhooks, written here from the specification (not the library's code):
    key = base64 of the secret after "whsec_"; signed content "{id}.{timestamp}.{body}";
    webhook-signature holds space-separated "v1,<base64 HMAC-SHA256>"."""
    key = base64.b64decode(secret[len("whsec_"):])
    signed = d.id.encode() + b"." + d.timestamp.encode() + b"." + d.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(s.startswith("v1,") and hmac.compare_digest(s[3:], expected)
               for s in d.signatures)


class Receiver:
    """Webhook receivers on loopback (one ThreadingHTTPServer on an ephemeral port, a thread
    per request). Each endpoint of a test has a path of its own (/hooks/<name>), with its own
    record of requests, the secrets it verifies with, and a plan for its next answers:
    "500" (fail), "slow" (sleep past the server's timeout, then answer), "close" (drop the
    connection without an answer). Otherwise it answers 200 when the signature verifies
    with one of its secrets, else 400, as a real receiver would."""

    def __init__(self):
        import http.server
        self.lock = threading.Lock()
        self.got, self.secrets, self.plans = {}, {}, {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                receiver.handle(self)

        class Httpd(http.server.ThreadingHTTPServer):
            daemon_threads = True
            # A listen backlog like a real server's (nginx 511, gunicorn
            # 2048): the run opens up to 16 connections to one endpoint at
            # once (docs/webhooks.md), and socketserver's default of 5 made
            # the kernel drop connects, each then a timed-out attempt.
            request_queue_size = 128

            def handle_error(self, request, client_address):
                pass    # a timed-out client is gone when "slow" answers: nothing to report

        self.httpd = Httpd(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name):
        return "http://127.0.0.1:%d/hooks/%s" % (self.port, name)

    def expect(self, name, secret):
        with self.lock:
            self.secrets.setdefault(name, []).append(secret)

    def plan(self, name, *answers):
        with self.lock:
            self.plans[name] = list(answers)

    def deliveries(self, name, type_prefix=""):
        with self.lock:
            return [d for d in self.got.get(name, [])
                    if d.event and d.event.get("type", "").startswith(type_prefix)]

    def handle(self, h):
        name = h.path.rsplit("/", 1)[-1]
        d = Delivery(h.headers, h.rfile.read(int(h.headers.get("Content-Length") or 0)))
        with self.lock:
            plan = self.plans.get(name) or []
            action = plan.pop(0) if plan else "answer"
            secrets = list(self.secrets.get(name, []))
        d.verified = any(webhook_signature_ok(d, s) for s in secrets)
        with self.lock:
            self.got.setdefault(name, []).append(d)
        if action == "close":
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if action == "slow":
            time.sleep(HOOK_TIMEOUT_MS / 1000 + 0.5)
        status, text = ((500, b"receiver says no") if action == "500" else
                        (200, b"ok") if d.verified else (400, b"bad signature"))
        h.send_response(status)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(len(text)))
        h.end_headers()
        h.wfile.write(text)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Hooks:
    """A tenant of the webhook server, with an ADMIN token (user id usr_hooks_admin) and a
    USER token."""

    def __init__(self, server, name):
        self.s = server
        self.tenant = server.cli("tenant", "create", "--name", name).stdout.decode().strip()
        self.tok = make_token(claims_for(self.tenant, "ADMIN", sub="usr_hooks_admin"))
        self.user = make_token(claims_for(self.tenant, "USER", sub="usr_hooks_reader"))

    def req(self, method, path, body=None, token=None, **kw):
        return self.s.request(method, path, body, token=token or self.tok, **kw)

    def ok(self, method, path, body=None, status=200, **kw):
        r = self.req(method, path, body, **kw)
        # The answer is printed only when it is not the one expected (then it holds no secret).
        assert r.status == status, "%s %s: %d %s" % (method, path, r.status, r.text)
        return r.body

    def endpoint(self, receiver, name, **fields):
        """Registers receiver path `name`; the receiver verifies with its secret."""
        body = {"url": receiver.url(name)}
        body.update(fields)
        e = self.ok("POST", "/v1/webhook-endpoints", body, status=201)
        receiver.expect(name, e["secret"])
        Webhooks.secrets.append(e["secret"])
        return e

    def get_endpoint(self, endpoint_id, token=None):
        """GET /v1/webhook-endpoints/{id}."""
        r = self.req("GET", "/v1/webhook-endpoints/" + endpoint_id, token=token)
        assert r.status == 200, "GET endpoint: %d %s" % (r.status, r.text)
        return r.body

    def customer(self, **headers):
        n = self.counter = getattr(self, "counter", 0) + 1
        return self.ok("POST", "/v1/customers", {"name": "Hook %d" % n,
                                                 "email": "hook%d@hooks.test" % n},
                       status=201, headers=headers)

    def advance(self, seconds=0, to=None):
        body = {"to": fmt_time(to)} if to is not None else {"seconds": seconds}
        return parse_time(self.ok("POST", "/v1/test-clock/advance", body)["now"])

    def clock(self):
        return parse_time(self.ok("GET", "/v1/test-clock")["now"])

    def deliveries(self, endpoint, query=""):
        return self.ok("GET", "/v1/webhook-endpoints/%s/deliveries?limit=100%s"
                       % (endpoint["id"], query))["data"]


class Webhooks(ProblemAssertions):
    """Outbound webhooks over HTTP, on a server of their own: the test clock (deliveries and
    retries are due work, run by each advance and by the worker every second), http:// and
    loopback allowed (BILLING_WEBHOOK_ALLOW_HTTP/PRIVATE=1), a 1 s delivery timeout and 30
    days of event retention; receivers on loopback check every signature with Python's hmac.
    Each test has a tenant and receiver paths of its own."""

    secrets = []   # every signing secret shown: none may reach the server's log

    @classmethod
    def setUpClass(cls):
        cls.rx = Receiver()
        cls.s = Server(env_extra={"BILLING_TEST_CLOCK": "1", "BILLING_RUN_INTERVAL": "1",
                                  "BILLING_WEBHOOK_ALLOW_HTTP": "1",
                                  "BILLING_WEBHOOK_ALLOW_PRIVATE": "1",
                                  "BILLING_WEBHOOK_TIMEOUT_MS": str(HOOK_TIMEOUT_MS),
                                  "BILLING_EVENT_RETENTION_DAYS": "30"}).start()

    @classmethod
    def tearDownClass(cls):
        logs = cls.s.logs()
        status = cls.s.stop()
        cls.rx.stop()
        leaked = [i for i, secret in enumerate(cls.secrets) if secret in logs]
        if leaked:
            raise AssertionError("signing secrets %s (by index) are in the server's log" % leaked)
        if status != 0:
            raise AssertionError("the webhook server did not exit cleanly")

    def test_endpoint_lifecycle_and_the_secret_shown_once(self):
        h = Hooks(self.s, "Lifecycle")
        r = h.req("POST", "/v1/webhook-endpoints", {"url": self.rx.url("life"),
                                                     "events": ["customer.*"],
                                                     "description": "CRM sync"})
        self.assertEqual(r.status, 201, r.status)
        e = r.body
        self.secrets.append(e["secret"])
        self.assertRegex(e["id"], r"^we_")
        self.assertRegex(e["secret"], r"^whsec_[A-Za-z0-9+/]{43}=$")
        self.assertEqual(len(base64.b64decode(e["secret"][6:])), 32)
        self.assertEqual((e["object"], e["url"], e["events"], e["enabled"], e["description"]),
                         ("webhook_endpoint", self.rx.url("life"), ["customer.*"], True,
                          "CRM sync"))
        self.assertEqual(r.header("Location"), "/v1/webhook-endpoints/" + e["id"])
        self.assertEqual(r.header("ETag"), 'W/"1"')
        self.assertEqual(r.header("Cache-Control"), "no-store")
        # Never again: not on get, list, update, nor to a USER.
        got = h.get_endpoint(e["id"])
        self.assertNotIn("secret", got)
        self.assertEqual(got["url"], e["url"])
        self.assertNotIn("secret", h.ok("GET", "/v1/webhook-endpoints", token=h.user)["data"][0])
        r = h.req("PATCH", "/v1/webhook-endpoints/" + e["id"], {"events": ["*"], "enabled": False},
                  headers={"If-Match": 'W/"1"'})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["events"], r.body["enabled"], r.body["version"]), (["*"], False, 2))
        self.assertNotIn("secret", r.body)
        self.assertProblem(h.req("PATCH", "/v1/webhook-endpoints/" + e["id"], {"enabled": True},
                                 headers={"If-Match": 'W/"1"'}), 412)
        # An idempotent replay of the creation does not show the secret again.
        body = {"url": self.rx.url("life-2")}
        first = h.req("POST", "/v1/webhook-endpoints", body, headers={"Idempotency-Key": "hk-1"})
        self.assertEqual(first.status, 201, first.status)
        self.secrets.append(first.body["secret"])
        self.rx.expect("life-2", first.body["secret"])
        again = h.req("POST", "/v1/webhook-endpoints", body, headers={"Idempotency-Key": "hk-1"})
        self.assertEqual((again.status, again.header("Idempotent-Replayed"), again.body["id"]),
                         (201, "true", first.body["id"]))
        self.assertNotIn("secret", again.body)
        # Delete: 204, then 404 everywhere, its deliveries too.
        self.assertEqual(h.req("DELETE", "/v1/webhook-endpoints/" + e["id"]).status, 204)
        for path in ("/v1/webhook-endpoints/" + e["id"],
                     "/v1/webhook-endpoints/%s/deliveries" % e["id"]):
            self.assertProblem(h.req("GET", path), 404)
        self.assertProblem(h.req("POST", "/v1/webhook-endpoints/%s/rotate-secret" % e["id"]), 404)

    def test_a_customer_event_is_delivered_signed(self):
        h = Hooks(self.s, "Signed")
        e = h.endpoint(self.rx, "signed")
        c = h.customer(**{"X-Request-Id": "hooks-signed-1"})
        now = h.advance(0)
        got = self.rx.deliveries("signed", "customer.")
        self.assertEqual(len(got), 1)
        d = got[0]
        self.assertTrue(d.verified)
        self.assertTrue(webhook_signature_ok(d, e["secret"]))
        self.assertFalse(webhook_signature_ok(d, "whsec_" + base64.b64encode(b"x" * 32).decode()))
        self.assertEqual(len(d.signatures), 1)
        self.assertEqual(d.content_type, "application/json")
        self.assertEqual(set(d.event), {"id", "type", "createdAt", "data"})
        self.assertEqual(d.event["type"], "customer.created")
        self.assertEqual(d.id, d.event["id"])
        self.assertRegex(d.id, r"^evt_")
        self.assertEqual(int(d.timestamp), now)   # the library's (test) clock
        self.assertEqual(d.event["data"]["id"], c["id"])
        self.assertEqual(d.event["data"]["email"], c["email"])
        self.assertRegex(d.event["createdAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # The event carries the request's X-Request-Id; the delivery is listed, succeeded.
        ev = h.ok("GET", "/v1/events/" + d.id)
        self.assertEqual((ev["type"], ev["resourceId"], ev["requestId"]),
                         ("customer.created", c["id"], "hooks-signed-1"))
        [dl] = h.deliveries(e, "&eventId=" + d.id)
        self.assertEqual((dl["status"], dl["attemptCount"], dl["endpointId"], dl["nextAttemptAt"]),
                         ("succeeded", 1, e["id"], None))
        self.assertEqual((dl["attempts"][0]["statusCode"], dl["attempts"][0]["response"],
                          dl["attempts"][0]["error"]), (200, "ok", None))
        # A tampered body does not verify.
        d.body = d.body.replace(c["id"].encode(), b"cus_someone_else")
        self.assertFalse(webhook_signature_ok(d, e["secret"]))

    def test_the_worker_delivers_without_an_advance(self):
        h = Hooks(self.s, "Worker")
        h.endpoint(self.rx, "worker")
        h.customer()
        deadline = time.time() + 10
        while time.time() < deadline and not self.rx.deliveries("worker", "customer."):
            time.sleep(0.1)
        self.assertEqual(len(self.rx.deliveries("worker", "customer.")), 1)

    def test_event_types_and_tenants(self):
        a = Hooks(self.s, "Types A")
        b = Hooks(self.s, "Types B")
        a.endpoint(self.rx, "types-all")
        invoices = a.endpoint(self.rx, "types-invoices", events=["invoice.*"])
        b.endpoint(self.rx, "types-b")
        self.assertEqual(invoices["events"], ["invoice.*"])
        c = a.customer()
        product = a.ok("POST", "/v1/products", {"name": "P", "sku": "P1", "priceCents": 0},
                       status=201)
        plan = a.ok("POST", "/v1/plans", {"productId": product["id"], "code": "HOOKS",
                                          "name": "Hooks", "amount": 500, "interval": "MONTH"},
                    status=201)
        a.ok("POST", "/v1/subscriptions", {"customerId": c["id"], "planId": plan["id"]}, status=201)
        b.customer()
        a.advance(0)
        all_types = {d.event["type"] for d in self.rx.deliveries("types-all")}
        self.assertTrue({"customer.created", "invoice.finalized", "subscription.created"}
                        <= all_types, all_types)
        inv_types = {d.event["type"] for d in self.rx.deliveries("types-invoices")}
        self.assertTrue(inv_types and all(t.startswith("invoice.") for t in inv_types), inv_types)
        self.assertIn("invoice.finalized", inv_types)
        # Tenant B's endpoint got B's customer and nothing of A's.
        b_events = self.rx.deliveries("types-b")
        self.assertEqual([d.event["type"] for d in b_events], ["customer.created"])
        a_ids = {d.id for d in self.rx.deliveries("types-all")}
        self.assertFalse(a_ids & {d.id for d in b_events})
        self.assertTrue(all(d.verified for name in ("types-all", "types-invoices", "types-b")
                            for d in self.rx.deliveries(name)))
        # B cannot see A's endpoint, its deliveries, nor redeliver A's events.
        for method, path in (("GET", "/v1/webhook-endpoints/" + invoices["id"]),
                             ("GET", "/v1/webhook-endpoints/%s/deliveries" % invoices["id"]),
                             ("POST", "/v1/events/%s/redeliver" % next(iter(a_ids)))):
            self.assertProblem(b.req(method, path), 404)
        self.assertEqual(b.ok("GET", "/v1/webhook-endpoints")["data"][0]["url"],
                         self.rx.url("types-b"))

    def test_retries_after_5_s_then_300_s(self):
        h = Hooks(self.s, "Retries")
        e = h.endpoint(self.rx, "retry", events=["customer.*"])
        self.rx.plan("retry", "500", "500")
        h.customer()
        t0 = h.advance(0)
        [d] = h.deliveries(e)
        self.assertEqual((d["status"], d["attemptCount"], d["nextAttemptAt"]),
                         ("pending", 1, fmt_time(t0 + 5)))
        self.assertEqual((d["attempts"][0]["statusCode"], d["attempts"][0]["response"]),
                         (500, "receiver says no"))
        self.assertEqual(h.advance(4), t0 + 4)
        self.assertEqual(h.deliveries(e)[0]["attemptCount"], 1)   # not due yet
        t1 = h.advance(1)
        [d] = h.deliveries(e)
        self.assertEqual((d["status"], d["attemptCount"]), ("pending", 2))
        due = parse_time(d["nextAttemptAt"])
        self.assertTrue(t1 + 300 <= due <= t1 + 331, (t1, due))   # 5 min + up to 10 % jitter
        h.advance(to=due - 1)
        self.assertEqual(h.deliveries(e)[0]["attemptCount"], 2)
        h.advance(to=due)
        [d] = h.deliveries(e)
        self.assertEqual((d["status"], d["attemptCount"], d["nextAttemptAt"]),
                         ("succeeded", 3, None))
        self.assertEqual([a["statusCode"] for a in d["attempts"]], [500, 500, 200])
        self.assertEqual([a["at"] for a in d["attempts"]],
                         [fmt_time(t0), fmt_time(t1), fmt_time(due)])
        got = self.rx.deliveries("retry", "customer.")
        self.assertEqual(len(got), 3)
        self.assertEqual(len({g.id for g in got}), 1)   # the same webhook-id each time
        self.assertEqual(h.deliveries(e, "&status=succeeded")[0]["id"], d["id"])
        self.assertEqual(h.deliveries(e, "&status=pending"), [])

    def test_timeouts_and_dropped_connections_are_retried(self):
        h = Hooks(self.s, "Timeouts")
        slow = h.endpoint(self.rx, "slow", events=["customer.*"])
        drop = h.endpoint(self.rx, "drop", events=["customer.*"])
        self.rx.plan("slow", "slow")
        self.rx.plan("drop", "close")
        h.customer()
        h.advance(0)
        for e, error in ((slow, "timeout"), (drop, "connection")):
            [d] = h.deliveries(e)
            self.assertEqual((d["status"], d["attempts"][0]["statusCode"],
                              d["attempts"][0]["error"]), ("pending", None, error))
        h.advance(5)
        for e in (slow, drop):
            self.assertEqual({d["status"] for d in h.deliveries(e)}, {"succeeded"})

    def test_rotated_secret_signs_beside_the_old_one_during_the_overlap(self):
        h = Hooks(self.s, "Rotation")
        e = h.endpoint(self.rx, "rotate")
        old = e["secret"]
        r = h.req("POST", "/v1/webhook-endpoints/%s/rotate-secret" % e["id"],
                  {"overlapSeconds": 3600})
        self.assertEqual(r.status, 200, r.status)
        new = r.body["secret"]
        self.secrets.append(new)
        self.assertNotEqual(new, old)
        self.assertRegex(new, r"^whsec_")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertNotIn("secret", h.get_endpoint(e["id"]))
        self.rx.expect("rotate", new)
        h.customer()
        h.advance(0)
        [d] = self.rx.deliveries("rotate", "customer.")
        self.assertEqual(len(d.signatures), 2)
        self.assertTrue(webhook_signature_ok(d, new))
        self.assertTrue(webhook_signature_ok(d, old))
        # After the overlap only the new secret signs.
        h.advance(3601)
        h.customer()
        h.advance(0)
        d = self.rx.deliveries("rotate", "customer.")[1]
        self.assertEqual(len(d.signatures), 1)
        self.assertTrue(webhook_signature_ok(d, new))
        self.assertFalse(webhook_signature_ok(d, old))
        for body, field in (({"overlapSeconds": -1}, "overlapSeconds"),
                            ({"overlapSeconds": 604801}, "overlapSeconds"),
                            ({"secret": "whsec_mine"}, "secret")):
            self.assertProblem(h.req("POST", "/v1/webhook-endpoints/%s/rotate-secret" % e["id"],
                                     body), 400, field=field)

    def test_redeliver_one_event(self):
        h = Hooks(self.s, "Redeliver")
        e = h.endpoint(self.rx, "again")
        h.customer()
        h.advance(0)
        [first] = self.rx.deliveries("again", "customer.")
        r = h.req("POST", "/v1/events/%s/redeliver" % first.id)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.body, {"object": "redelivery", "deliveries": 1})
        h.advance(0)
        got = self.rx.deliveries("again", "customer.")
        self.assertEqual([g.id for g in got], [first.id, first.id])
        self.assertEqual(got[1].body, first.body)
        self.assertTrue(got[1].verified)
        ds = h.deliveries(e, "&eventId=" + first.id)
        self.assertEqual([d["status"] for d in ds], ["succeeded", "succeeded"])
        self.assertNotEqual(ds[0]["id"], ds[1]["id"])
        self.assertProblem(h.req("POST", "/v1/events/evt_nothing/redeliver"), 404)
        self.assertProblem(h.req("POST", "/v1/events/%s/redeliver" % first.id,
                                 {"since": "2026-01-01T00:00:00Z"}), 400, field="since")
        self.assertProblem(h.req("POST", "/v1/events/%s/redeliver" % first.id, token=h.user), 403)

    def test_dead_after_every_retry_then_disabled_then_redelivered_since(self):
        h = Hooks(self.s, "Dead")
        e = h.endpoint(self.rx, "dead", events=["customer.created"])
        self.rx.plan("dead", *["500"] * 60)
        start = h.clock()
        for _ in range(5):
            h.customer()
        h.advance(0)
        waits = [5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 43200, 43200, 43200]
        for wait in waits:
            ds = h.deliveries(e)
            self.assertEqual({d["status"] for d in ds}, {"pending"})
            last = parse_time(ds[0]["attempts"][-1]["at"])
            for d in ds:
                due = parse_time(d["nextAttemptAt"])
                self.assertTrue(last + wait <= due <= last + wait + wait // 10 + 1, (wait, d))
            h.advance(to=max(parse_time(d["nextAttemptAt"]) for d in ds))
        ds = h.deliveries(e)
        self.assertEqual([(d["status"], d["attemptCount"], d["nextAttemptAt"]) for d in ds],
                         [("dead", 12, None)] * 5)
        # 5 s + 5 min + 30 min + 2 h + 5 h + 3 x 10 h + 3 x 12 h (+ up to 10 %): about
        # three days.
        self.assertTrue(264905 <= h.clock() - start <= 291406, h.clock() - start)
        # Five dead in a row: the endpoint is disabled, and an event says so.
        got = h.get_endpoint(e["id"])
        self.assertEqual((got["enabled"], got["disabledReason"]), (False, "failing"))
        [ev] = h.ok("GET", "/v1/events?type=webhook_endpoint.disabled")["data"]
        self.assertEqual(ev["resourceId"], e["id"])
        self.assertNotIn("secret", json.dumps(ev))
        # Enabled again, every dead delivery since the start goes out once more.
        got = h.ok("PATCH", "/v1/webhook-endpoints/" + e["id"], {"enabled": True})
        self.assertEqual((got["enabled"], got["disabledReason"]), (True, None))
        self.assertProblem(h.req("POST", "/v1/events/redeliver", {}), 400, field="since")
        self.assertProblem(h.req("POST", "/v1/events/redeliver", {"since": "yesterday"}), 400,
                           field="since")
        self.assertProblem(h.req("POST", "/v1/events/redeliver", {"id": ds[0]["eventId"],
                                                                  "since": fmt_time(start)}),
                           400, field="id")
        self.assertProblem(h.req("POST", "/v1/events/redeliver", {"since": fmt_time(start)},
                                 token=h.user), 403)
        r = h.req("POST", "/v1/events/redeliver", {"since": fmt_time(start)})
        self.assertEqual((r.status, r.body), (200, {"object": "redelivery", "deliveries": 5}),
                         r.text)
        before = len(self.rx.deliveries("dead"))
        h.advance(0)
        fresh = self.rx.deliveries("dead")[before:]
        self.assertEqual(len(fresh), 5)
        self.assertTrue(all(d.verified for d in fresh))
        self.assertEqual(len(h.deliveries(e, "&status=succeeded")), 5)
        self.assertEqual(len(h.deliveries(e, "&status=dead")), 5)

    def test_deliveries_list_parameters(self):
        h = Hooks(self.s, "Deliveries")
        e = h.endpoint(self.rx, "params")
        for _ in range(3):
            h.customer()
        h.advance(0)
        page = h.ok("GET", "/v1/webhook-endpoints/%s/deliveries?limit=2" % e["id"], token=h.user)
        self.assertEqual((len(page["data"]), page["hasMore"]), (2, True))
        rest = h.ok("GET", "/v1/webhook-endpoints/%s/deliveries?limit=2&startingAfter=%s"
                    % (e["id"], page["nextCursor"]))
        self.assertEqual(len(rest["data"]), 1)
        base = "/v1/webhook-endpoints/%s/deliveries?" % e["id"]
        for query, field in (("status=bogus", "status"), ("endpointId=" + e["id"], "endpointId"),
                             ("limit=0", "limit"), ("nope=1", "nope")):
            self.assertProblem(h.req("GET", base + query), 400, field=field)
        self.assertProblem(h.req("GET", base + "eventId=evt_nothing"), 400, "resource_missing",
                           "eventId")
        self.assertProblem(h.req("GET", "/v1/webhook-endpoints/we_nothing/deliveries"), 404)

    def test_audit_log_names_the_request_and_the_admin(self):
        h = Hooks(self.s, "Audit")
        c = h.customer(**{"X-Request-Id": "hooks-audit-7", "Idempotency-Key": "audit-key"})
        e = h.endpoint(self.rx, "audit")
        rows = h.ok("GET", "/v1/audit-log?limit=100")["data"]
        [row] = [a for a in rows if a["operation"] == "customers.create"]
        self.assertEqual((row["object"], row["resourceId"], row["requestId"], row["userId"],
                          row["role"], row["idempotencyKey"]),
                         ("audit_entry", c["id"], "hooks-audit-7", "usr_hooks_admin", "ADMIN",
                          "audit-key"))
        [row] = [a for a in rows if a["operation"] == "webhook_endpoints.create"]
        self.assertEqual(row["resourceId"], e["id"])
        self.assertRegex(row["requestId"], r"^req_[0-9a-f]{24}$")   # made by the server
        self.assertNotIn(e["secret"], json.dumps(rows))
        # Reads write no rows; the list pages.
        page = h.ok("GET", "/v1/audit-log?limit=1")
        self.assertEqual((len(page["data"]), page["hasMore"]), (1, True))
        self.assertEqual(len(h.ok("GET", "/v1/audit-log?limit=100")["data"]), len(rows))

    def test_endpoint_changes_are_events(self):
        h = Hooks(self.s, "Endpoint events")
        e = h.endpoint(self.rx, "endpoint-events")
        types = [ev["type"] for ev in h.ok("GET", "/v1/events?limit=100")["data"]]
        self.assertNotIn("webhook endpoint.created", types)
        [ev] = h.ok("GET", "/v1/events?type=webhook_endpoint.created")["data"]
        self.assertEqual(ev["resourceId"], e["id"])
        self.assertNotIn("secret", ev["data"])

    def test_the_request_id_reaches_every_write(self):
        h = Hooks(self.s, "Request ids")
        c = h.customer()
        r = h.req("DELETE", "/v1/customers/" + c["id"], headers={"X-Request-Id": "hooks-del-1"})
        self.assertEqual(r.status, 204, r.text)
        [row] = [a for a in h.ok("GET", "/v1/audit-log?limit=100")["data"]
                 if a["operation"] == "customers.delete"]
        self.assertEqual((row["resourceId"], row["userId"]), (c["id"], "usr_hooks_admin"))
        self.assertEqual(row["requestId"], "hooks-del-1")
        [ev] = h.ok("GET", "/v1/events?type=customer.deleted")["data"]
        self.assertEqual(ev["requestId"], "hooks-del-1")

    def test_roles(self):
        h = Hooks(self.s, "Roles")
        e = h.endpoint(self.rx, "roles")
        for method, path, body in (
                ("POST", "/v1/webhook-endpoints", {"url": self.rx.url("roles-2")}),
                ("POST", "/v1/webhook-endpoints", "not json at all"),
                ("PATCH", "/v1/webhook-endpoints/" + e["id"], {"enabled": False}),
                ("DELETE", "/v1/webhook-endpoints/" + e["id"], None),
                ("POST", "/v1/webhook-endpoints/%s/rotate-secret" % e["id"], None),
                ("GET", "/v1/audit-log", None)):
            self.assertProblem(h.req(method, path, body, token=h.user), 403, "forbidden")
        for path in ("/v1/webhook-endpoints", "/v1/webhook-endpoints/%s/deliveries" % e["id"]):
            r = h.req("GET", path, token=h.user)
            self.assertEqual(r.status, 200, r.text)
            self.assertNotIn("secret", r.body)
        self.assertNotIn("secret", h.get_endpoint(e["id"], token=h.user))

    def test_get_one_endpoint(self):
        h = Hooks(self.s, "Get one")
        e = h.endpoint(self.rx, "get-one", events=["invoice.paid"])
        r = h.req("GET", "/v1/webhook-endpoints/" + e["id"], token=h.user)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("ETag"), 'W/"1"')
        self.assertEqual((r.body["id"], r.body["events"], r.body["enabled"]),
                         (e["id"], ["invoice.paid"], True))
        self.assertNotIn("secret", r.body)

    def test_bad_input(self):
        h = Hooks(self.s, "Bad input")
        for body, field in (({"url": "ftp://example.com/hook"}, "url"),
                            ({"url": "not a url"}, "url"),
                            ({"url": "https://user:pw@example.com/hook"}, "url"),
                            ({"url": "https://example.com/" + "x" * 2048}, "url"),
                            ({}, "url"),
                            ({"url": 5}, "url"),
                            ({"url": "https://example.com/h", "enabled": "yes"}, "enabled"),
                            ({"url": "https://example.com/h", "extra": 1}, "extra")):
            self.assertProblem(h.req("POST", "/v1/webhook-endpoints", body), 400, field=field)
        # The field of a bad event type: the library names it eventTypes while the body's
        # field is events (reported; accepted here until the library says events).
        p = self.assertProblem(h.req("POST", "/v1/webhook-endpoints",
                                     {"url": "https://example.com/h", "events": ["Not A Type"]}),
                               400)
        self.assertTrue({"events", "eventTypes"} & {x["field"] for x in p["errors"]}, p)
        self.assertEqual(h.ok("GET", "/v1/webhook-endpoints")["data"], [])

    def test_start_lines_say_what_is_allowed(self):
        lines = [json.loads(l) for l in self.s.logs().splitlines() if l.startswith("{")]
        warns = [l["msg"] for l in lines if l["level"] == "warn"]
        self.assertTrue(any(m.startswith("BILLING_WEBHOOK_ALLOW_HTTP=1") for m in warns), warns)
        self.assertTrue(any(m.startswith("BILLING_WEBHOOK_ALLOW_PRIVATE=1") for m in warns), warns)
        [hooks] = [l for l in lines if l["msg"].startswith("outbound webhooks")]
        self.assertEqual((hooks["timeoutMs"], hooks["eventRetention"]),
                         (str(HOOK_TIMEOUT_MS), "30 days"))
        # The shared server has neither switch on.
        self.assertNotIn("BILLING_WEBHOOK_ALLOW", S.logs())

    def test_events_older_than_the_retention_are_pruned(self):
        h = Hooks(self.s, "Retention")
        h.customer()
        [ev] = h.ok("GET", "/v1/events?type=customer.created")["data"]
        h.advance(29 * DAY)
        self.assertEqual(h.ok("GET", "/v1/events/" + ev["id"])["id"], ev["id"])
        h.advance(2 * DAY)
        self.assertProblem(h.req("GET", "/v1/events/" + ev["id"]), 404)
        self.assertEqual(h.ok("GET", "/v1/events?type=customer.created")["data"], [])


class WebhooksWithoutDevelopmentSwitches(ProblemAssertions):
    """On the shared server (no BILLING_WEBHOOK_ALLOW_*): https only, and a loopback address
    is refused when the delivery connects, not when the endpoint is registered."""

    def test_http_is_refused_and_loopback_is_not_connected_to(self):
        tenant, tok = new_tenant_token("No switches")
        r = S.request("POST", "/v1/webhook-endpoints", {"url": "http://example.com/hook"},
                      token=tok)
        p = self.assertProblem(r, 400, field="url")
        self.assertIn("https", json.dumps(p))
        r = S.request("POST", "/v1/webhook-endpoints", {"url": "https://127.0.0.1:9/hook"},
                      token=tok)
        self.assertEqual(r.status, 201, r.status)
        e = r.body
        self.assertEqual(new_customer(token=tok)["object"], "customer")
        deadline = time.time() + 10
        ds = []
        while time.time() < deadline:   # the worker runs every second on this server
            ds = S.request("GET", "/v1/webhook-endpoints/%s/deliveries" % e["id"],
                           token=tok).body["data"]
            if ds and ds[0]["attempts"]:
                break
            time.sleep(0.2)
        self.assertTrue(ds and ds[0]["attempts"], ds)
        a = ds[0]["attempts"][0]
        self.assertEqual((a["statusCode"], a["error"]), (None, "refused_address"))
        self.assertEqual(ds[0]["status"], "pending")
        self.assertNotIn(e["secret"], S.logs())


class CommandLine(unittest.TestCase):
    def test_help_for_every_command(self):
        for args in (["--help"], ["serve", "--help"], ["migrate", "--help"],
                     ["tenant", "create", "--help"], ["user", "create", "--help"],
                     ["token", "--help"]):
            p = S.cli(*args)
            self.assertIn(b"usage: billing-server", p.stdout, args)

    def test_scriptable_output(self):
        p = S.cli("tenant", "create", "--name", "Json Co", "--json")
        t = json.loads(p.stdout)
        self.assertEqual((t["object"], t["name"]), ("tenant", "Json Co"))
        p = S.cli("user", "create", "--tenant", t["id"], "--email", "json@co.test", "--role",
                  "USER", "--json", stdin=b"password123")
        u = json.loads(p.stdout)
        self.assertEqual((u["email"], u["role"], u["tenantId"]), ("json@co.test", "USER", t["id"]))
        self.assertNotIn("hash", p.stdout.decode().lower())
        self.assertEqual(S.cli("migrate").returncode, 0)

    def test_usage_errors(self):
        tenant = T["a"]
        self.assertEqual(S.cli("user", "create", "--tenant", tenant, "--email", "s@x.test",
                               "--role", "ADMIN", stdin=b"short", check=False).returncode, 2)
        self.assertEqual(S.cli("user", "create", "--tenant", tenant, "--email", "admin@a.test",
                               "--role", "ADMIN", stdin=b"long enough", check=False).returncode, 2)
        self.assertEqual(S.cli("user", "create", "--tenant", tenant, "--email", "r@x.test",
                               "--role", "PLATFORM", stdin=b"long enough", check=False).returncode, 2)
        self.assertEqual(S.cli("tenant", "create", check=False).returncode, 2)
        self.assertEqual(S.cli("frobnicate", check=False).returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=1)
