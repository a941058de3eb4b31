#!/usr/bin/env python3
"""HTTP and browser suite of the web console (issue #25 items 2-5;
docs/console.md).

Files (plain HTTP):
- GET /console/ is the page, its files have their types, every answer (404s
  too) carries the Content-Security-Policy, nosniff, Referrer-Policy and
  Cache-Control; ETag and If-None-Match give 304; /console redirects;
- nothing outside the console's directory is served: "..", "%2e%2e",
  "%2f", absolute paths, empty segments, hidden files, a NUL, a symbolic
  link pointing out, a file type not in the table; BILLING_CONSOLE_DIR
  chooses the directory and one that is none stops the server;
- config.json and the policy per provider: the test provider's is the
  strict one (no stripe.com); Stripe with STRIPE_PUBLISHABLE_KEY adds
  exactly Stripe.js's origins and serves the publishable key (never the
  secret); Stripe without one stays strict; a secret key or a character
  other than letters, digits and '_' in STRIPE_PUBLISHABLE_KEY stops the
  start, unrepeated.

In a real browser (Debian's chromium and chromedriver through Debian's
python3-selenium, one headless browser for the suite): an ADMIN logs in,
sees a field error next to the field, creates a customer named
<img src=x onerror=alert(1)> (shown as text, no alert, no image), subscribes
it, advances the test clock a month and sees the new invoice, pays one out
of band, changes the plan after seeing the preview's total (the API's
preview), pauses and resumes it, schedules a cancellation after a
confirmation, downloads the invoice's HTML, opens its PDF (a blob: URL of
type application/pdf holding a PDF), issues a credit note after two
refusals shown next to the amount and finds it on the credit notes page,
creates a product (a hostile name, as text) and sees it listed, edits it
after a change made meanwhile through the API (If-Match: 412 in words,
nothing changed), creates a plan and deactivates it, redelivers a webhook
event from an endpoint's delivery log, creates an endpoint (its secret
shown once) and deletes it, sees a card stored through the API (brand,
last four digits, expiry), adds a card with the test provider's own
confirmation step (the expired card refused next to the field, nothing
stored; the succeeding one stored, listed and made the default), reads the
audit log; the dashboard's MRR equals GET /v1/reports/mrr; no request
leaves loopback and the browser reports no CSP violation; axe-core (from
console/node_modules) finds no serious or critical violation on any page; a
USER sees no action button (no "Add a card") and a 403 in words (test clock, audit log).
Another tenant's plan of 1234.56 EUR reads "€1,234.56" until its branding's locale
is de-DE, then "1.234,56 €" (after a new login). With
BILLING_TEST_SCREENSHOTS=<dir> it saves the pages' screenshots there
(docs/console/*.png).

Runs on the backend BILLING_TEST_BACKEND names, like http_server.
"""
import json
import os
import shutil
import sys
import tempfile
import time
import unittest
from urllib.parse import urlparse

import tenant_case
import test_server as ts

try:
    import selenium  # noqa: F401
except ImportError:   # Debian's python3-selenium, under another python3
    sys.path.append("/usr/lib/python3/dist-packages")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoAlertPresentException, StaleElementReferenceException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
AXE = os.path.join(HERE, "..", "..", "console", "node_modules", "axe-core", "axe.min.js")
SHOTS = os.environ.get("BILLING_TEST_SCREENSHOTS")
HOSTILE = "<img src=x onerror=alert(1)>"
ADMIN_PW = "console admin password"
USER_PW = "console reader password"
PDF_VIEWER = "mhjfbmdgcfjbbpaeojofohoefgiehjai"   # Chromium's built-in PDF viewer extension


def csp_directives(value):
    out = {}
    for part in (value or "").split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


class ConsoleFiles(tenant_case.TenantCase):
    """The files and their headers, over plain HTTP."""

    def get(self, path, headers=None):
        return self.s.request("GET", path, headers=headers, check=False)

    def assertSecured(self, r):
        csp = csp_directives(r.header("Content-Security-Policy"))
        self.assertEqual(csp.get("default-src"), ["'self'"])
        self.assertEqual(csp.get("script-src"), ["'self'"])
        self.assertEqual(csp.get("style-src"), ["'self'"])
        self.assertEqual(csp.get("frame-ancestors"), ["'none'"])
        self.assertEqual(csp.get("object-src"), ["'none'"])
        self.assertNotIn("unsafe-inline", r.header("Content-Security-Policy"))
        self.assertNotIn("unsafe-eval", r.header("Content-Security-Policy"))
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("Referrer-Policy"), "no-referrer")

    def test_page_and_files_with_types_and_headers(self):
        for path, ctype in (("/console/", "text/html; charset=utf-8"),
                            ("/console/index.html", "text/html; charset=utf-8"),
                            ("/console/app.js", "text/javascript; charset=utf-8"),
                            ("/console/api.js", "text/javascript; charset=utf-8"),
                            ("/console/console.css", "text/css; charset=utf-8"),
                            ("/console/vendor/uPlot.esm.js", "text/javascript; charset=utf-8"),
                            ("/console/vendor/uPlot.min.css", "text/css; charset=utf-8")):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual(r.status, 200, r.text[:200])
                self.assertEqual(r.header("Content-Type"), ctype)
                self.assertEqual(r.header("Cache-Control"), "no-cache")
                self.assertSecured(r)
                etag = r.header("ETag")
                self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
                again = self.get(path, headers={"If-None-Match": etag})
                self.assertEqual((again.status, again.text), (304, b""))
        page = self.get("/console/").text.decode()
        # No inline script or style: everything is a file the policy allows.
        self.assertNotIn("<script>", page)
        self.assertNotIn("style=", page)
        self.assertNotIn("<style", page)
        self.assertIn('<script type="module" src="app.js"></script>', page)
        r = self.s.request("HEAD", "/console/app.js", check=False)
        self.assertEqual((r.status, r.text), (200, b""))
        r = self.get("/console")
        self.assertEqual((r.status, r.header("Location")), (308, "/console/"))
        self.assertSecured(r)

    def test_nothing_outside_the_directory(self):
        for path in ("/console/../v1/openapi.json", "/console/%2e%2e/%2e%2e/CMakeCache.txt",
                     "/console/%2E%2E/billing.db", "/console/..%2f..%2fCMakeCache.txt",
                     "/console/%2fetc%2fpasswd", "/console//etc/passwd",
                     "/console/vendor/../index.html", "/console/./index.html",
                     "/console/.hidden.js", "/console/index.html%00.js",
                     "/console/nope.js", "/console/vendor/", "/console/vendor",
                     "/console/" + "a" * 300 + ".js", "/console/index.html/",
                     "/console/README", "/console/a%20b.js"):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertEqual(r.status, 404, r.text[:200])
                self.assertEqual(r.body["code"], "not_found")
                self.assertNotIn(b"root:", r.text)
                self.assertSecured(r)
                self.assertEqual(r.header("Cache-Control"), "no-store")
        r = self.s.request("POST", "/console/", check=False)
        self.assertEqual((r.status, r.header("Allow")), (405, "GET"))

    def test_config_and_policy_per_provider(self):
        # The test provider (the server's default): config.json names it, no key; the
        # policy is the strict one, without any stripe.com.
        strict = self.get("/console/").header("Content-Security-Policy")
        self.assertEqual(strict, "default-src 'self'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                         "object-src 'none'; base-uri 'none'; form-action 'self'; "
                         "frame-ancestors 'none'")
        r = self.get("/console/config.json")
        self.assertEqual((r.status, r.header("Content-Type")), (200, "application/json"))
        self.assertEqual(r.body, {"provider": "test", "stripePublishableKey": None})
        self.assertEqual(r.header("Content-Security-Policy"), strict)
        for path in ("/console/", "/console/app.js", "/console/dom.js", "/console/nope.js"):
            self.assertNotIn("stripe.com", self.get(path).header("Content-Security-Policy"), path)

        # Stripe with a publishable key: exactly Stripe.js's origins are added.
        secret = "sk_test_console_" + os.urandom(8).hex()
        hook = "whsec_console_" + os.urandom(8).hex()
        pk = "pk_test_console_" + os.urandom(8).hex()
        stripe_env = {"BILLING_PROVIDER": "stripe", "STRIPE_API_KEY": secret,
                      "STRIPE_WEBHOOK_SECRET": hook, "STRIPE_API_BASE": "http://127.0.0.1:9"}
        s = ts.Server(env_extra=dict(stripe_env, STRIPE_PUBLISHABLE_KEY=pk)).start()
        try:
            for path in ("/console/", "/console/config.json", "/console/nope.js"):
                r = s.request("GET", path, check=False)
                csp = csp_directives(r.header("Content-Security-Policy"))
                want = csp_directives(strict)
                want["script-src"] = ["'self'", "https://js.stripe.com"]
                want["connect-src"] = ["'self'", "https://api.stripe.com"]
                want["frame-src"] = ["https://js.stripe.com", "https://hooks.stripe.com"]
                self.assertEqual(csp, want, path)
                self.assertNotIn(secret.encode(), r.text)
                self.assertNotIn(hook.encode(), r.text)
            r = s.request("GET", "/console/config.json", check=False)
            self.assertEqual(r.body, {"provider": "stripe", "stripePublishableKey": pk})
            self.assertNotIn(secret, s.logs())
        finally:
            self.assertEqual(s.stop(), 0)
        # Stripe without one: no card field to load, so the policy stays strict.
        s = ts.Server(env_extra=stripe_env).start()
        try:
            r = s.request("GET", "/console/config.json", check=False)
            self.assertEqual(r.body, {"provider": "stripe", "stripePublishableKey": None})
            self.assertEqual(r.header("Content-Security-Policy"), strict)
        finally:
            self.assertEqual(s.stop(), 0)
        # A secret key given as the publishable one stops the start, unrepeated.
        for bad, words in ((secret, b"secret or restricted key"), ("pk_test_a\"b", b"other than letters")):
            p = ts.Server(env_extra=dict(stripe_env, STRIPE_PUBLISHABLE_KEY=bad))
            try:
                out = p.cli("serve", check=False)
                self.assertEqual(out.returncode, 2, bad)
                self.assertIn(b"STRIPE_PUBLISHABLE_KEY", out.stderr)
                self.assertIn(words, out.stderr)
                self.assertNotIn(bad.encode(), out.stderr)
            finally:
                p.drop()

    def test_console_dir_setting(self):
        d = tempfile.mkdtemp(prefix="console-dir-")
        outside = tempfile.mkdtemp(prefix="console-outside-")
        try:
            with open(os.path.join(d, "index.html"), "w") as f:
                f.write("<!doctype html><title>mine</title>")
            with open(os.path.join(outside, "secret.js"), "w") as f:
                f.write("secret")
            os.symlink(os.path.join(outside, "secret.js"), os.path.join(d, "link.js"))
            os.symlink(outside, os.path.join(d, "out"))
            s = ts.Server(env_extra={"BILLING_CONSOLE_DIR": d}).start()
            try:
                r = s.request("GET", "/console/", check=False)
                self.assertEqual((r.status, r.text), (200, b"<!doctype html><title>mine</title>"))
                for path in ("/console/link.js", "/console/out/secret.js", "/console/app.js"):
                    r = s.request("GET", path, check=False)
                    self.assertEqual(r.status, 404, path)
            finally:
                self.assertEqual(s.stop(), 0)
            p = ts.Server(env_extra={"BILLING_CONSOLE_DIR": os.path.join(d, "none")})
            try:
                out = p.cli("serve", check=False)
                self.assertEqual(out.returncode, 2)
                self.assertIn(b"BILLING_CONSOLE_DIR", out.stderr)
            finally:
                p.drop()
        finally:
            shutil.rmtree(d, ignore_errors=True)
            shutil.rmtree(outside, ignore_errors=True)


def require_chromium():
    for exe in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.access(exe, os.X_OK):
            raise RuntimeError(exe + " is missing: run scripts/deps.sh")


def chromium(downloads):
    """Debian's headless Chromium through its chromedriver (en-US, 1280 x 900, the network
    and console logs kept, downloads into the directory downloads); also used by
    bench/console/first_page.py."""
    require_chromium()
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--no-first-run", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
                "--disable-default-apps", "--disable-extensions", "--lang=en-US",
                "--disable-features=Translate,OptimizationHints,MediaRouter"):
        o.add_argument(arg)
    o.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    o.add_experimental_option("prefs", {"download.default_directory": downloads,
                                        "download.prompt_for_download": False})
    d = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=o)
    d.set_script_timeout(30)
    return d


class Browser(ts.ProblemAssertions):
    """One headless Chromium for the whole class, on one server."""

    @classmethod
    def setUpClass(cls):
        require_chromium()
        if not os.path.exists(AXE):
            raise RuntimeError("console/node_modules/axe-core is missing: run scripts/deps.sh")
        # A webhook endpoint on loopback (nobody listens there) gives the delivery log rows.
        cls.s = ts.Server(env_extra={"BILLING_TEST_CLOCK": "1", "BILLING_WEBHOOK_ALLOW_HTTP": "1",
                                     "BILLING_WEBHOOK_ALLOW_PRIVATE": "1"}).start()
        cls.tenant = cls.s.cli("tenant", "create", "--name", "Console").stdout.decode().strip()
        cls.s.cli("user", "create", "--tenant", cls.tenant, "--email", "admin@console.test",
                  "--role", "ADMIN", stdin=ADMIN_PW.encode())
        cls.s.cli("user", "create", "--tenant", cls.tenant, "--email", "reader@console.test",
                  "--role", "USER", stdin=USER_PW.encode())
        cls.b = ts.Billing(cls.s, ts.make_token(ts.claims_for(cls.tenant)))
        cls.base = "http://127.0.0.1:%d" % cls.s.port
        cls.downloads = tempfile.mkdtemp(prefix="console-downloads-")
        cls.d = chromium(cls.downloads)
        with open(AXE, encoding="utf-8") as f:
            cls.axe = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.d.quit()
        shutil.rmtree(cls.downloads, ignore_errors=True)
        if cls.s.stop() != 0:
            raise AssertionError("the console's server did not exit cleanly")

    # -------------------------------------------------------------- helpers

    def wait(self, cond, timeout=30):
        # A page re-rendered between finding an element and reading it:
        # look again.
        return WebDriverWait(self.d, timeout,
                             ignored_exceptions=(StaleElementReferenceException,)).until(cond)

    def heading(self, text):
        self.wait(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "main h1"), text))

    def go(self, hash_path, title):
        self.d.execute_script("location.hash = arguments[0]", hash_path)
        self.heading(title)

    def login(self, email, password):
        self.d.get(self.base + "/console/")
        self.heading("Log in")
        self.d.find_element(By.CSS_SELECTOR, "input[name=email]").send_keys(email)
        self.d.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(password)
        self.d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        self.heading("Dashboard")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-report=mrr]") or
                  d.find_elements(By.CSS_SELECTOR, "main .form-error"))

    def logout(self):
        self.d.find_element(By.ID, "logout").click()
        self.heading("Log in")

    def no_alert(self):
        try:
            text = self.d.switch_to.alert.text
        except NoAlertPresentException:
            return
        self.fail("an alert opened: " + text)

    def axe_check(self, page):
        self.d.execute_script(self.axe)
        found = self.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, "
            "nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', nodes: [String(e)]}]));")
        bad = [v for v in found if v["impact"] in ("serious", "critical")]
        self.assertEqual(bad, [], "axe on the %s page" % page)

    def shot(self, name, width=1280, css=None):
        if not SHOTS:
            return
        os.makedirs(SHOTS, exist_ok=True)
        if css:   # one part of the page only
            part = self.d.find_element(By.CSS_SELECTOR, css)
            self.d.execute_script("arguments[0].scrollIntoView()", part)
            part.screenshot(os.path.join(SHOTS, name + ".png"))
            return
        self.d.set_window_size(width, 900)
        time.sleep(0.3)
        h = self.d.execute_script("return document.documentElement.scrollHeight")
        self.d.set_window_size(width, min(max(h, 600), 2400))
        time.sleep(0.3)
        self.d.save_screenshot(os.path.join(SHOTS, name + ".png"))
        self.d.set_window_size(1280, 900)

    def buttons(self):
        return [b.text for b in self.d.find_elements(By.CSS_SELECTOR, "main button")
                if b.is_displayed()]

    def hosts_requested(self):
        hosts = set()
        for entry in self.d.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                url = msg["params"]["request"]["url"]
                u = urlparse(url)
                # Chromium's own PDF viewer (the PDF's tab loads its files from the
                # browser, not the network); its requests are logged on some runs only.
                if u.scheme == "chrome-extension" and u.hostname == PDF_VIEWER:
                    continue
                hosts.add(u.scheme + "://" + (u.hostname or ""))
        return hosts

    def csp_reports(self):
        return [e["message"] for e in self.d.get_log("browser")
                if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]

    # -------------------------------------------------------------- the day

    def test_a_billing_day_as_admin_then_a_reader(self):
        d = self.d
        self.d.get(self.base + "/console/")
        self.heading("Log in")
        self.axe_check("login")
        self.shot("login", width=1024)
        self.login("admin@console.test", ADMIN_PW)

        # A customer: first a field error next to the field, then a hostile name.
        self.go("#/customers", "Customers")
        d.find_element(By.CSS_SELECTOR, "details.card summary").click()
        form = d.find_element(By.CSS_SELECTOR, "form[aria-label='New customer']")
        form.find_element(By.NAME, "name").send_keys(HOSTILE)
        form.find_element(By.NAME, "email").send_keys("not an e-mail")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        err = self.wait(EC.visibility_of_element_located(
            (By.CSS_SELECTOR, "form[aria-label='New customer'] .field-error[data-field=email]")))
        self.assertIn("e-mail", err.text)
        self.assertEqual(form.find_element(By.NAME, "email").get_attribute("aria-invalid"), "true")
        form.find_element(By.NAME, "email").clear()
        form.find_element(By.NAME, "email").send_keys("hostile@console.test")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.heading(HOSTILE)
        self.no_alert()
        self.assertEqual(d.find_element(By.CSS_SELECTOR, "main h1").text, HOSTILE)
        self.assertEqual(d.find_element(By.CSS_SELECTOR, ".customer-name").text, HOSTILE)
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "main img"), [])
        customer_url = d.current_url
        cid = customer_url.rsplit("/", 1)[1]
        self.assertTrue(cid.startswith("cus_"), cid)

        # Subscribe it: the first invoice at once.
        Select(d.find_element(By.CSS_SELECTOR, "form[aria-label=Subscribe] select[name=planId]")) \
            .select_by_value(self.b.monthly["id"])
        d.find_element(By.CSS_SELECTOR, "form[aria-label=Subscribe] button[type=submit]").click()
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-invs] tbody tr")) == 1)
        self.assertEqual(len(self.b.invoices("&customerId=" + cid)), 1)
        # Its events, newest first, as GET /v1/events?customerId= lists them: its own and
        # its subscription's and invoice's; the catalog's (another customer's) not.
        events = self.b.ok("GET", "/v1/events?customerId=%s&order=desc&pageSize=20" % cid)["data"]
        self.assertTrue({"customer.created", "subscription.created", "invoice.finalized"}
                        <= {e["type"] for e in events}, events)
        rows = "section[aria-labelledby=c-events] tbody tr"
        self.wait(lambda d: [r.get_attribute("data-event") for r in d.find_elements(By.CSS_SELECTOR, rows)]
                  == [e["id"] for e in events])
        first = d.find_elements(By.CSS_SELECTOR, rows)[0]
        self.assertEqual(first.find_element(By.TAG_NAME, "time").get_attribute("datetime"),
                         events[0]["createdAt"])
        inv_event = [r for r in d.find_elements(By.CSS_SELECTOR, rows) if "invoice.finalized" in r.text][0]
        self.assertTrue(inv_event.find_element(By.TAG_NAME, "a").get_attribute("href").endswith("#/invoices?status=pending"))
        self.axe_check("customer")
        self.shot("customer")

        # A month later: the renewal's invoice appears.
        self.go("#/clock", "Test clock")
        # (The heading is drawn before GET /v1/test-clock answers: wait for the button.)
        self.wait(EC.element_to_be_clickable((By.ID, "advance-month"))).click()
        self.wait(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "main p[role=status]"),
                                                   "1 invoiced"))
        self.axe_check("test clock")
        self.shot("test-clock", width=1024)
        d.refresh()
        self.heading("Log in")   # a reload forgets the token: it was in memory only
        self.assertEqual(d.execute_script("return localStorage.length + sessionStorage.length"), 0)
        self.login("admin@console.test", ADMIN_PW)
        # A card stored through the API (the test provider's pm_card_mastercard): its brand,
        # last four digits and expiry on the customer's page; not the default.
        self.b.ok("POST", "/v1/payment-methods", {"customerId": cid, "providerPaymentMethodId": "pm_card_mastercard"})
        self.go("#/customers/" + cid, HOSTILE)
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-invs] tbody tr")) == 2)
        self.assertEqual(len(self.b.invoices("&customerId=" + cid)), 2)
        [pm_row] = d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-pms] tbody tr")
        self.assertEqual((pm_row.find_element(By.CSS_SELECTOR, ".pm-brand").text,
                          pm_row.find_element(By.CSS_SELECTOR, ".pm-last4").text), ("mastercard", "ending 4444"))
        self.assertIn("12/2099", pm_row.text)
        self.assertIn("Make default", pm_row.text)

        # Pay one out of band, with the confirmation step (its invoice.paid goes to the endpoint).
        hook = self.b.ok("POST", "/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hook",
                                                             "events": ["invoice.paid"]})
        pay = [b for b in d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-invs] button")
               if b.text == "Pay out of band"][0]
        pay.click()
        d.find_element(By.XPATH, "//button[text()='Yes, pay out of band']").click()
        # (The asked button hides at the click: wait for the page redrawn with the paid invoice.)
        self.wait(lambda d: [e.text for e in d.find_elements(
            By.CSS_SELECTOR, "section[aria-labelledby=c-invs] tbody .badge")].count("paid") == 1)
        self.assertEqual(len([b for b in d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-invs] button")
                              if b.text == "Pay out of band"]), 1)
        paid = [i for i in self.b.invoices("&customerId=" + cid) if i["status"] == "paid"]
        self.assertTrue(any(i["paidOutOfBand"] for i in paid))

        # Change the plan: the preview's lines and total first, the change only when confirmed.
        sub = self.b.ok("GET", "/v1/subscriptions?customerId=" + cid)["data"][0]
        change = d.find_element(By.CSS_SELECTOR, "details.change")
        change.find_element(By.TAG_NAME, "summary").click()
        Select(change.find_element(By.NAME, "planId")).select_by_value(self.b.premium["id"])
        change.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        total = self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, "details.change .preview-total")))
        want = self.b.ok("GET", "/v1/subscription-items/preview?subscriptionId=%s&subscriptionItemId=%s"
                         "&planId=%s&prorationBehavior=create_prorations"
                         % (sub["id"], sub["items"][0]["id"], self.b.premium["id"]))
        self.assertEqual(int(total.get_attribute("data-minor")), want["total"])
        self.assertEqual(want["total"], 1190)   # (19.99 - 9.99) x 1.19 over a whole period
        self.assertEqual(total.text, "€11.90")
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions/" + sub["id"])["planId"], self.b.monthly["id"])
        d.find_element(By.XPATH, "//button[text()='Confirm change']").click()
        self.wait(EC.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "section[aria-labelledby=c-subs] tbody"), "Premium"))
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions/" + sub["id"])["planId"], self.b.premium["id"])

        # Pause, then resume: the status after each.
        for action, status in (("Pause", "paused"), ("Resume", "active")):
            d.find_element(By.XPATH, "//button[text()='%s']" % action).click()
            d.find_element(By.XPATH, "//button[text()='Yes, %s']" % action.lower()).click()
            self.wait(EC.text_to_be_present_in_element(
                (By.CSS_SELECTOR, "section[aria-labelledby=c-subs] .sub-status .badge"), status))
            self.assertEqual(self.b.ok("GET", "/v1/subscriptions/" + sub["id"])["status"], status)

        # Cancel at period end: asks, then the subscription says so.
        d.find_element(By.XPATH, "//button[text()='Cancel at period end']").click()
        self.assertEqual(self.b.ok("GET", "/v1/subscriptions?customerId=" + cid)["data"][0]
                         ["cancelAtPeriodEnd"], False)   # not before the confirmation
        d.find_element(By.XPATH, "//button[text()='Yes, cancel at period end']").click()
        self.wait(EC.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "section[aria-labelledby=c-subs]"), "ends at period end"))
        self.assertTrue(self.b.ok("GET", "/v1/subscriptions?customerId=" + cid)["data"][0]
                        ["cancelAtPeriodEnd"])

        # The invoice's document, fetched with the token and handed over as a file.
        d.find_element(By.XPATH, "//button[text()='Download HTML']").click()
        link = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "a.doc-link")))
        self.assertTrue(link.get_attribute("href").startswith("blob:" + self.base))

        # The PDF: fetched with the token, handed over as a blob: URL of type application/pdf.
        d.find_element(By.XPATH, "//section[@aria-labelledby='c-invs']//button[text()='Open PDF']").click()
        link = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "section[aria-labelledby=c-invs] a.pdf-link")))
        href = link.get_attribute("href")
        self.assertTrue(href.startswith("blob:" + self.base), href)
        self.assertEqual(link.get_attribute("data-type"), "application/pdf")
        # It opened in a tab of its own, at the blob: URL (the policy keeps the page's own
        # fetch() from reading blob: URLs, so the bytes are checked in that tab).
        self.wait(lambda d: len(d.window_handles) == 2)
        console_tab = d.current_window_handle
        d.switch_to.window([w for w in d.window_handles if w != console_tab][0])
        self.wait(lambda d: d.current_url == href)
        self.assertEqual(d.execute_script("return document.contentType"), "application/pdf")
        d.close()
        d.switch_to.window(console_tab)

        # A credit note on the paid invoice: a bad amount is refused next to the field
        # (by the page, then by the API), a good one is issued and listed.
        paid_row = "//section[@aria-labelledby='c-invs']//tr[.//span[contains(@class,'badge') and text()='paid']]"
        d.find_element(By.XPATH, paid_row + "//details[contains(@class,'inline-form')]/summary").click()
        cn_form = d.find_element(By.XPATH, paid_row + "//form")
        said = ""
        for amount in ("1.001", "500.00"):
            cn_form.find_element(By.NAME, "amount").clear()
            cn_form.find_element(By.NAME, "amount").send_keys(amount)
            cn_form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            before = said
            said = self.wait(lambda d: (lambda t: t if t and t != before else False)(
                cn_form.find_element(By.CSS_SELECTOR, ".field-error[data-field=amount]").text))
            self.assertEqual(cn_form.find_element(By.NAME, "amount").get_attribute("aria-invalid"), "true")
            if amount == "1.001":
                self.assertIn("positive amount in EUR", said)
        self.assertEqual(self.b.ok("GET", "/v1/credit-notes?customerId=" + cid)["data"], [])
        cn_form.find_element(By.NAME, "amount").clear()
        cn_form.find_element(By.NAME, "amount").send_keys("2.38")
        Select(cn_form.find_element(By.NAME, "reason")).select_by_value("order_change")
        cn_form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-notes] tbody tr")) == 1)
        notes = self.b.ok("GET", "/v1/credit-notes?customerId=" + cid)["data"]
        self.assertEqual([(n["total"], n["reason"]) for n in notes], [(238, "order_change")])
        self.go("#/credit-notes", "Credit notes")
        row = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "main tbody tr")))
        self.assertIn(notes[0]["number"], row.text)
        self.assertIn("€2.38", row.text)
        self.axe_check("credit notes")
        self.shot("credit-notes")

        # Products and plans: the prices as the API has them; a new plan, then deactivated.
        self.go("#/catalog", "Products and plans")
        # A new product, listed; then an edit of it that someone else's change (through the
        # API, meanwhile) makes stale: If-Match refuses it, said in words, nothing changed.
        d.find_element(By.XPATH, "//section[@aria-labelledby='cat-products']/details/summary").click()
        product_form = d.find_element(By.CSS_SELECTOR, "form[aria-label='New product']")
        for name, value in (("name", HOSTILE), ("sku", "SUPPORT-1"), ("description", "Help by e-mail")):
            product_form.find_element(By.NAME, name).send_keys(value)
        product_form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        product_row = "//section[@aria-labelledby='cat-products']//tr[.//code[text()='SUPPORT-1']]"
        row = self.wait(EC.presence_of_element_located((By.XPATH, product_row)))
        self.assertEqual(row.find_element(By.CSS_SELECTOR, ".product-name").text, HOSTILE)
        self.assertIn("Help by e-mail", row.text)
        self.no_alert()
        [product] = self.b.ok("GET", "/v1/products?search=SUPPORT-1")["data"]
        self.assertEqual((product["name"], product["description"], product["version"]),
                         (HOSTILE, "Help by e-mail", 1))
        row.find_element(By.TAG_NAME, "summary").click()
        edit = row.find_element(By.TAG_NAME, "form")
        self.b.ok("PATCH", "/v1/products/" + product["id"], {"description": "Help by phone"})
        edit.find_element(By.NAME, "name").clear()
        edit.find_element(By.NAME, "name").send_keys("Support")
        edit.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        said = self.wait(lambda d: edit.find_element(By.CSS_SELECTOR, ".form-error").text)
        self.assertIn("changed meanwhile", said)
        self.assertEqual(self.b.ok("GET", "/v1/products/" + product["id"])["name"], HOSTILE)
        plans = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "section[aria-labelledby=cat-plans] tbody")))
        self.assertIn("€9.99 / month", plans.text)
        d.find_element(By.CSS_SELECTOR, "section[aria-labelledby=cat-plans] details summary").click()
        plan_form = d.find_element(By.CSS_SELECTOR, "form[aria-label='New plan']")
        for name, value in (("code", "ANNUAL"), ("name", "Annual"), ("amount", "99.00")):
            plan_form.find_element(By.NAME, name).send_keys(value)
        Select(plan_form.find_element(By.NAME, "interval")).select_by_value("YEAR")
        plan_form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        annual_row = "//section[@aria-labelledby='cat-plans']//tr[.//code[text()='ANNUAL']]"
        row = self.wait(EC.presence_of_element_located((By.XPATH, annual_row)))
        self.assertIn("€99.00 / year", row.text)
        annual = [p for p in self.b.ok("GET", "/v1/plans?search=ANNUAL&pageSize=100")["data"] if p["code"] == "ANNUAL"][0]
        self.assertEqual((annual["amount"], annual["interval"], annual["active"]), (9900, "YEAR", True))
        d.find_element(By.XPATH, annual_row + "//button[text()='Deactivate']").click()
        d.find_element(By.XPATH, "//button[text()='Yes, deactivate']").click()
        self.wait(EC.text_to_be_present_in_element((By.XPATH, annual_row + "//span[@class='plan-active']"), "no"))
        self.assertFalse(self.b.ok("GET", "/v1/plans/" + annual["id"])["active"])
        self.shot("plans")

        # The endpoint's delivery log, and a redelivery of its event.
        deliveries = "/v1/webhook-endpoints/%s/deliveries" % hook["id"]
        self.go("#/webhooks", "Webhook endpoints")
        self.wait(EC.element_to_be_clickable((By.LINK_TEXT, "Delivery log"))).click()
        self.heading("Delivery log of http://127.0.0.1:9/hook")
        before = self.b.ok("GET", deliveries)["data"]
        self.assertEqual(len(before), 1)
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "main tbody tr")) == 1)
        d.find_element(By.XPATH, "//button[text()='Redeliver']").click()
        d.find_element(By.XPATH, "//button[text()='Yes, redeliver']").click()
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "main tbody tr")) == 2)
        after = self.b.ok("GET", deliveries)["data"]
        self.assertEqual([x["eventId"] for x in after], [before[0]["eventId"]] * 2)
        self.axe_check("delivery log")
        self.shot("delivery-log")

        # A new endpoint (its secret shown once, in the page), listed, then deleted after
        # the confirmation.
        url = "http://127.0.0.1:9/made-in-the-console"
        self.go("#/webhooks", "Webhook endpoints")
        d.find_element(By.XPATH, "//details[summary[text()='New endpoint']]/summary").click()
        endpoint_form = d.find_element(By.CSS_SELECTOR, "form[aria-label='New webhook endpoint']")
        endpoint_form.find_element(By.NAME, "url").send_keys(url)
        endpoint_form.find_element(By.NAME, "events").send_keys("customer.created, invoice.*")
        endpoint_form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        endpoint_row = "//main//tr[.//code[text()='%s']]" % url
        self.wait(EC.presence_of_element_located((By.XPATH, endpoint_row)))
        secret = self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "main .endpoint-secret")))
        self.assertTrue(secret.text.startswith("whsec_"))
        [made] = [e for e in self.b.ok("GET", "/v1/webhook-endpoints")["data"] if e["url"] == url]
        self.assertEqual((made["events"], made["enabled"]), (["customer.created", "invoice.*"], True))
        self.axe_check("webhook endpoints")
        d.find_element(By.XPATH, endpoint_row + "//button[text()='Delete']").click()
        d.find_element(By.XPATH, endpoint_row + "//button[text()='Yes, delete']").click()
        self.wait(lambda d: not d.find_elements(By.XPATH, endpoint_row))
        self.assertEqual([e["url"] for e in self.b.ok("GET", "/v1/webhook-endpoints")["data"]],
                         ["http://127.0.0.1:9/hook"])

        # The audit log: what the API lists.
        self.go("#/audit", "Audit log")
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "main tbody")))
        audit = self.b.ok("GET", "/v1/audit-log?pageSize=50")["data"]
        rows = d.find_elements(By.CSS_SELECTOR, "main tbody tr")
        self.assertEqual(len(rows), len(audit))
        self.assertIn(audit[-1]["operation"], rows[-1].text)

        # Invoices by status.
        self.go("#/invoices?status=paid", "Invoices")
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "main table")))
        statuses = [e.text for e in d.find_elements(By.CSS_SELECTOR, "main tbody .badge")]
        self.assertTrue(statuses and set(statuses) == {"paid"}, statuses)
        self.axe_check("invoices")
        self.go("#/invoices", "Invoices")
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "main table")))
        self.shot("invoices")

        # The dashboard's MRR is the reports API's.
        self.go("#/dashboard", "Dashboard")
        head = self.wait(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "[data-report=mrr][data-currency=EUR]")))
        api = self.b.ok("GET", "/v1/reports/mrr?currency=EUR")
        self.assertEqual(int(head.get_attribute("data-minor")), api["mrr"])
        self.assertEqual(api["mrr"], 1999)   # Premium since the change of plan
        self.assertEqual(head.text, "€19.99")
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "figure.chart canvas")))
        # The movements' bars and table, and the ageing table: the reports API's figures
        # (the months the page asks for: the eleven before the server's now and its own).
        self.wait(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "figure[data-chart=receivables-aging][data-currency=EUR] table")))
        self.assertTrue(d.find_elements(By.CSS_SELECTOR, "figure[data-chart=mrr-movements] canvas"))
        self.assertTrue(d.find_elements(By.CSS_SELECTOR, "figure[data-chart=receivables-aging] canvas"))
        y, m = int(api["at"][:4]), int(api["at"][5:7])
        start = lambda k: "%04d-%02d-01T00:00:00Z" % (y + (m - 1 + k) // 12, (m - 1 + k) % 12 + 1)
        moves = self.b.ok("GET", "/v1/reports/mrr-movements?currency=EUR&from=%s&to=%s"
                          % (start(-11), start(1)))["months"]
        self.assertEqual(len(moves), 12)
        shown = {(c.get_attribute("data-month"), c.get_attribute("data-movement")): int(c.get_attribute("data-minor"))
                 for c in d.find_elements(By.CSS_SELECTOR, "figure[data-chart=mrr-movements] [data-movement]")}
        want = {(mo["start"], k): mo[k] for mo in moves
                for k in ("new", "expansion", "contraction", "churned", "reactivated", "endMrr")}
        self.assertEqual(shown, want)
        self.assertEqual(sum(mo["new"] for mo in moves), 999)           # the Basic subscription
        self.assertEqual(sum(mo["expansion"] for mo in moves), 1000)    # to Premium
        aging = self.b.ok("GET", "/v1/reports/receivables-aging?currency=EUR")
        shown = {c.get_attribute("data-bucket"): int(c.get_attribute("data-minor"))
                 for c in d.find_elements(By.CSS_SELECTOR, "figure[data-chart=receivables-aging] [data-bucket]")}
        self.assertEqual(shown, {k: aging[k] for k in ("current", "days1To30", "days31To60", "days61To90",
                                                     "daysOver90", "total")})
        self.assertGreater(aging["total"], 0)
        self.axe_check("dashboard")
        self.shot("dashboard")

        # The customer list, on a phone.
        self.go("#/customers?search=hostile", "Customers")
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "main table")))
        self.axe_check("customers")
        self.shot("customers-phone", width=390)

        # Adding a card with the test provider: a SetupIntent, then its own confirmation step
        # (one of its cards; no number typed). The expired card is refused next to the field
        # and nothing is stored; the succeeding one is stored, listed and made the default.
        # (Last of the ADMIN's day: with a default card, later renewals would be charged.)
        self.go("#/customers/" + cid, HOSTILE)
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-pms] tbody tr")) == 1)
        d.find_element(By.ID, "add-card").click()
        add = self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, "form[aria-label='Add a card']")))
        self.assertTrue(add.get_attribute("data-setup-intent").startswith("seti_test_"))
        self.assertEqual(add.find_elements(By.CSS_SELECTOR, "input[autocomplete^=cc], input[name*=number]"), [])
        self.axe_check("add a card")
        self.shot("add-card", css="section[aria-labelledby=c-pms]")
        Select(add.find_element(By.NAME, "providerPaymentMethodId")).select_by_value("pm_card_visa_exp_2020_01")
        add.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        err = self.wait(EC.visibility_of_element_located(
            (By.CSS_SELECTOR, "form[aria-label='Add a card'] .field-error[data-field=providerPaymentMethodId]")))
        self.assertIn("This card has expired", err.text)
        self.assertIn("01/2020", err.text)
        self.assertEqual(add.find_element(By.NAME, "providerPaymentMethodId").get_attribute("aria-invalid"), "true")
        self.assertEqual(len(self.b.ok("GET", "/v1/payment-methods?customerId=" + cid)["data"]), 1)
        Select(add.find_element(By.NAME, "providerPaymentMethodId")).select_by_value("pm_card_visa")
        add.find_element(By.NAME, "makeDefault").click()
        add.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-pms] tbody tr")) == 2)
        rows = {r.find_element(By.CSS_SELECTOR, ".pm-last4").text: r
                for r in d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-pms] tbody tr")}
        self.assertEqual(rows["ending 4242"].find_element(By.CSS_SELECTOR, ".pm-brand").text, "visa")
        self.assertIn("default", rows["ending 4242"].text)
        self.assertNotIn("Make default", rows["ending 4242"].text)
        self.assertIn("Make default", rows["ending 4444"].text)
        stored = self.b.ok("GET", "/v1/payment-methods?customerId=" + cid + "&providerPaymentMethodId=pm_card_visa")["data"]
        self.assertEqual([(m["card"]["brand"], m["card"]["last4"]) for m in stored], [("visa", "4242")])
        self.assertEqual(self.b.ok("GET", "/v1/customers/" + cid)["defaultPaymentMethod"], "pm_card_visa")

        # A reader: no action button anywhere; the test clock says 403 in words.
        self.logout()
        self.login("reader@console.test", USER_PW)
        self.go("#/customers", "Customers")
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "main table")))
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "details.card"), [])
        self.go("#/customers/" + cid, HOSTILE)
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=c-invs]"))
        self.assertEqual([b for b in self.buttons() if b not in ("Download HTML", "Open PDF", "Older events")], [])
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "form[aria-label=Subscribe]"), [])
        self.assertEqual(d.find_elements(By.ID, "add-card"), [])
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "details.change, details.inline-form"), [])
        self.go("#/invoices", "Invoices")
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "main table")))
        self.assertEqual([b for b in self.buttons() if b not in ("Download HTML", "Open PDF", "Filter")], [])
        self.go("#/catalog", "Products and plans")
        self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, "section[aria-labelledby=cat-plans] tbody")))
        self.assertEqual(self.buttons(), [])
        self.go("#/webhooks/" + hook["id"], "Delivery log of")
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "main tbody tr")) == 2)
        self.assertEqual(self.buttons(), ["Filter"])
        for where, title in (("#/clock", "Test clock"), ("#/audit", "Audit log")):
            self.go(where, title)
            msg = self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, "main .form-error")))
            self.assertIn("may not do this", msg.text)
        self.no_alert()

        # Nothing left loopback, and the policy refused nothing.
        hosts = self.hosts_requested()
        self.assertTrue(hosts)
        self.assertLessEqual(hosts, {"http://127.0.0.1", "blob://", "data://"}, hosts)
        self.assertFalse([h for h in hosts if "stripe" in h], hosts)   # test provider: no Stripe.js
        self.assertEqual(self.csp_reports(), [])

    def test_amounts_in_the_tenant_locale(self):
        """Amounts are written in the tenant's locale (GET /v1/branding's locale, read at
        login), not the browser's (en-US here): en-US until set, de-DE after."""
        tenant = self.s.cli("tenant", "create", "--name", "Locale").stdout.decode().strip()
        self.s.cli("user", "create", "--tenant", tenant, "--email", "admin@locale.test",
                   "--role", "ADMIN", stdin=ADMIN_PW.encode())
        b = ts.Billing(self.s, ts.make_token(ts.claims_for(tenant)))
        b.plan("BIG", 123456, currency="EUR")
        row = "//section[@aria-labelledby='cat-plans']//tr[.//code[text()='BIG']]"

        def plan_price():
            self.go("#/catalog", "Products and plans")
            return self.wait(EC.presence_of_element_located((By.XPATH, row))).text.replace("\u00a0", " ")

        self.assertEqual(b.ok("GET", "/v1/branding")["locale"], "en-US")
        self.login("admin@locale.test", ADMIN_PW)
        self.assertIn("€1,234.56 / month", plan_price())
        self.assertEqual(b.ok("PUT", "/v1/branding", {"locale": "de-DE"})["locale"], "de-DE")
        self.logout()
        self.login("admin@locale.test", ADMIN_PW)
        self.assertIn("1.234,56 € / month", plan_price())
        # Dates stay in the browser's locale: the audit log's row of the change.
        self.go("#/audit", "Audit log")
        self.wait(lambda d: "branding.set" in d.find_element(By.CSS_SELECTOR, "main").text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
