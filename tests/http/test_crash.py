#!/usr/bin/env python3
"""Crash test for examples/billing-server: SIGKILL in the middle of billing runs under load.

Standard library only. The binary comes from $BILLING_SERVER; BILLING_TEST_BACKEND picks
sqlite (a temporary file) or postgres (a schema of its own on the server of
scripts/with-postgres.sh, migrated as billing_owner, served as billing_app): the set-up is
test_server.py's Server class, imported from that file (its tests do not run from here).

One server with the test clock (BILLING_TEST_CLOCK=1), two tenants (dunning policies
"cancel after 1, 3, 5, 7 days" and "keep past_due after 2, 5 days"), each with a monthly
and a premium plan, a webhook endpoint on a loopback receiver, and CUSTOMERS customers
with a subscription: most pay with pm_card_visa, one in six switches to a declining card
after the first invoice, so renewals fail and dunning retries are due work too.

Then phases, each crossing one more monthly boundary (the clock goes to T0 + 35, 65, 95
days). In each, one thread asks POST /v1/test-clock/advance {"to"} (renewals, invoices,
collections, retries, deliveries), three threads keep writing (customers and
subscriptions created, subscriptions canceled now or at the period end, upgraded now or at
the period end; every write with an Idempotency-Key), and the main thread watches the
invoices and payments grow and sends SIGKILL when a fraction of the phase's work, drawn
from the seed, is done. The server is restarted on the same database (its clock starts
at real time again, before "to"), advanced to the same "to" again under the same writes,
and the writes whose answer the kill swallowed are sent again with their keys. Three
kills must land in the middle of a run; an advance that ends before its kill (a fast
machine) adds a phase, twice at most. After an hour more (the 5-minute leases of what
the kills cut short expire), the server is stopped, `billing-server check` must find
nothing, and the outcomes are checked over HTTP:

  - every invoice's period is the one its index says from the subscription's anchor, no
    period is invoiced twice, none is skipped; a live subscription is invoiced for every
    period up to the one holding the clock; one that ended at its period end has its
    last invoice end there (one canceled now, or by its last failed retry, ends at the
    time of the call or of the run: counted when a renewal was still due then, see
    verify()); invoice numbers are 1..N per tenant;
  - an invoice of a customer whose card works is paid, with exactly one payment, which
    succeeded for the invoice's total (besides, at most, attempts a kill cut short that
    failed "not_at_provider" when next looked at past the provider's key window); no invoice has two captured payments; a declining
    customer's invoice has no captured payment and at most 1 + retries attempts; no
    payment is left pending or unknown;
  - one invoice.created, invoice.finalized per invoice, one invoice.paid per paid invoice,
    one subscription.created per subscription, one subscription.canceled per canceled one;
  - every event an endpoint wants has exactly one delivery, succeeded, and the receiver
    got it with a valid signature (at least once: a kill between the POST and its record
    sends it again, which Standard Webhooks allows; the duplicates are counted);
  - every write answered 2xx before a kill is still there, with its effect; every write
    whose answer was lost, sent again with its key, is done exactly once.

BILLING_TEST_SEED (default 20261125) replays the choices (kill points, writes);
BILLING_CRASH_CUSTOMERS (default 300) sets the load.
"""
import calendar
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_server as ts  # noqa: E402  (Server, Receiver, tokens: the HTTP suite's helpers)

SEED = int(os.environ.get("BILLING_TEST_SEED") or 20261125)
CUSTOMERS = int(os.environ.get("BILLING_CRASH_CUSTOMERS") or 300)
KILLS = 3                       # advances cut by SIGKILL in the middle of their run
FIRST_DAYS = 35                 # the first advance's target (days after the start); then
                                # each one 30 days further: one more monthly renewal each
WRITERS = 3                     # threads writing during each advance
WRITES = 25                     # at most, per writer and advance (the data grows with them)
DAY = 86400
LIVE = ("active", "past_due", "unpaid")
POLICIES = {"A": {"retryDays": [1, 3, 5, 7], "finalAction": "cancel"},
            "B": {"retryDays": [2, 5], "finalAction": "keep_past_due"}}


def log(*args):
    print(*args, flush=True)


def parse_time(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def fmt_time(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def add_months(t, n):
    """The anchor's day and time of day n months later, the day clamped to the month's
    last (written here, not the library's calendar)."""
    tm = time.gmtime(t)
    m = tm.tm_mon - 1 + n
    y, m = tm.tm_year + m // 12, m % 12 + 1
    d = min(tm.tm_mday, calendar.monthrange(y, m)[1])
    return calendar.timegm((y, m, d, tm.tm_hour, tm.tm_min, tm.tm_sec))


class Lost(Exception):
    """A request without an answer: the server died (or was not there)."""


class CrashServer(ts.Server):
    """test_server.Server that can be killed and started again on the same database; each
    process logs to a file of its own."""

    def __init__(self, env_extra):
        super().__init__(env_extra=env_extra)
        self.runs = 0
        self.all_logs = ""

    def start(self, wait=True):
        self.runs += 1
        self.log_path = os.path.join(self.dir, "server-%d.log" % self.runs)
        return super().start(wait)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()
        self.all_logs += self.logs()
        return self.proc.returncode

    def terminate(self):
        """SIGTERM, keeping the database; returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.all_logs += self.logs()
        return self.proc.returncode

    def call(self, method, path, body=None, token=None, headers=None, timeout=30):
        """test_server.Server.request with a time limit of our own; Lost without an answer."""
        h = dict(headers or {})
        h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            text = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise Lost("%s %s: %s" % (method, path, e))
        finally:
            conn.close()
        parsed = None
        if text and (resp.getheader("Content-Type") or "").endswith("json"):
            parsed = json.loads(text)
        return ts.Response(resp.status, resp, text, parsed)


class Tenant:
    def __init__(self, server, label):
        self.s, self.label = server, label
        self.id = server.cli("tenant", "create", "--name", "Crash " + label).stdout.decode().strip()
        self.tok = ts.make_token(ts.claims_for(self.id, "ADMIN", sub="usr_crash"))

    def req(self, method, path, body=None, headers=None, timeout=30):
        return self.s.call(method, path, body, token=self.tok, headers=headers, timeout=timeout)

    def ok(self, method, path, body=None, status=None, headers=None):
        r = self.req(method, path, body, headers)
        want = status or (201 if method == "POST" and path.count("/") == 2 else 200)
        assert r.status == want, "%s %s %s: %d %s" % (self.label, method, path, r.status, r.text)
        return r.body

    def all(self, path):
        """Every item of a list, page after page (cursor mode)."""
        items, cursor = [], None
        sep = "&" if "?" in path else "?"
        while True:
            q = path + sep + "limit=100" + ("&startingAfter=" + cursor if cursor else "")
            body = self.ok("GET", q)
            items += body["data"]
            if not body["hasMore"]:
                return items
            cursor = body["nextCursor"]

    def total(self, path, query=""):
        return self.ok("GET", path + "?limit=1&page=1" + query)["total"]


class Watch:
    """Reads during an advance: the clock, and the tenants' numbers of invoices and
    payments (the killer's view of the run's progress: it must see it often), over one
    kept-alive connection. libmicrohttpd's thread pool keeps a connection on the thread
    that accepted it, and the advance holds its thread for the whole run: a connection
    accepted by that thread waits for the run's end. So a read that takes more than a
    moment is asked again on a new connection, which a free thread accepts."""

    def __init__(self, server, tenants):
        self.port, self.tenants, self.conn = server.port, tenants, None

    def get(self, path, token):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=0.3)
                self.conn.request("GET", path, headers={"Authorization": "Bearer " + token})
                r = self.conn.getresponse()
                body = r.read()
                if r.status == 200:
                    return json.loads(body)
            except ConnectionRefusedError:
                break
            except (OSError, http.client.HTTPException):
                pass
            self.close()
        raise Lost("GET " + path)

    def now(self):
        return parse_time(self.get("/v1/test-clock", self.tenants[0].tok)["now"])

    def counts(self):
        return (sum(self.get("/v1/invoices?limit=1&page=1", t.tok)["total"]
                    for t in self.tenants),
                sum(self.get("/v1/payments?limit=1&page=1", t.tok)["total"]
                    for t in self.tenants))

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


class Ledger:
    """Every write of the writer threads, with its outcome: an answer, or lost."""

    def __init__(self):
        self.lock = threading.Lock()
        self.writes = []
        self.created_subs = 0   # 201s of subscription creations (each one more invoice)

    def add(self, w):
        with self.lock:
            self.writes.append(w)
            if w["kind"] == "subscription" and w.get("status") == 201:
                self.created_subs += 1


class Writer(threading.Thread):
    """Writes until told to stop or until the server is gone (its last write is then
    lost: done or not, the test does not know)."""

    def __init__(self, n, tenants, pools, ledger, rng, phase, run, stop):
        super().__init__(daemon=True)
        self.n, self.tenants, self.pools, self.ledger = n, tenants, pools, ledger
        self.rng, self.phase, self.run_no, self.stop = rng, phase, run, stop
        self.seq = self.seq_c = 0

    def write(self, t, kind, method, path, body, sub=None):
        self.seq += 1
        key = "crash-%d-%d-%d-%s" % (self.run_no, self.n, self.seq, kind)
        w = {"tenant": t.label, "kind": kind, "method": method, "path": path, "body": body,
             "key": key, "sub": sub, "phase": self.phase}
        try:
            r = t.req(method, path, body, headers={"Idempotency-Key": key})
        except Lost as e:
            w["lost"] = str(e)
            self.ledger.add(w)
            raise
        w["status"], w["resp"] = r.status, r.body
        self.ledger.add(w)
        return w

    def run(self):
        try:
            for _ in range(WRITES):
                if self.stop.is_set():
                    break
                self.one()
                time.sleep(self.rng.uniform(0.01, 0.05))
        except Lost:
            pass

    def one(self):
        t = self.rng.choice(self.tenants)
        pool = self.pools[(t.label, self.n)]
        op = self.rng.random()
        if op < 0.4 or not pool:
            self.seq_c += 1
            email = "w%d-%d-%d@crash.test" % (self.run_no, self.n, self.seq_c)
            w = self.write(t, "customer", "POST", "/v1/customers",
                           {"name": "Writer %s" % email, "email": email,
                            "defaultPaymentMethod": "pm_card_visa"})
            if w["status"] != 201:
                return
            w = self.write(t, "subscription", "POST", "/v1/subscriptions",
                           {"customerId": w["resp"]["id"], "planId": t.monthly["id"]})
            if w["status"] == 201:
                pool.append(w["resp"]["id"])
            return
        sub = pool.pop(self.rng.randrange(len(pool)))
        if op < 0.55:
            self.write(t, "cancel", "POST", "/v1/subscriptions/%s/cancel" % sub, {}, sub)
        elif op < 0.7:
            self.write(t, "cancel_at_period_end", "POST", "/v1/subscriptions/%s/cancel" % sub,
                       {"atPeriodEnd": True}, sub)
        elif op < 0.85:
            self.write(t, "upgrade", "POST", "/v1/subscriptions/%s/change-plan" % sub,
                       {"planId": t.premium["id"]}, sub)
        else:
            self.write(t, "upgrade_at_period_end", "POST",
                       "/v1/subscriptions/%s/change-plan" % sub,
                       {"planId": t.premium["id"], "atPeriodEnd": True}, sub)


class CrashTest(unittest.TestCase):
    def setUp(self):
        if not ts.SERVER or not os.access(ts.SERVER, os.X_OK):
            raise RuntimeError("set BILLING_SERVER to the billing-server binary")
        self.rng = random.Random(SEED)
        self.rx = ts.Receiver()
        self.addCleanup(self.rx.stop)
        self.s = CrashServer(env_extra={
            "BILLING_TEST_CLOCK": "1", "BILLING_WORKERS": "8", "BILLING_HTTP_TIMEOUT": "60",
            "BILLING_WEBHOOK_ALLOW_HTTP": "1", "BILLING_WEBHOOK_ALLOW_PRIVATE": "1",
            "BILLING_WEBHOOK_TIMEOUT_MS": "5000"})
        self.addCleanup(self.s.drop)    # the directory, and the PostgreSQL schema
        self.addCleanup(lambda: self.s.proc and self.s.proc.poll() is None and
                        self.s.terminate())
        self.ledger = Ledger()
        self.runs = 0       # advances under load, each with keys and e-mails of its own

    # ---------------------------------------------------------------- set-up

    def tenant(self, label):
        t = Tenant(self.s, label)
        t.ok("PUT", "/v1/dunning-policy", POLICIES[label])
        t.product = t.ok("POST", "/v1/products", {"name": "Service", "sku": "SVC",
                                                  "priceCents": 0, "taxRate": "0.19"})
        t.monthly, t.premium = [t.ok("POST", "/v1/plans", {
            "productId": t.product["id"], "code": code, "name": code.title(), "amount": amount,
            "interval": "MONTH"}) for code, amount in (("MONTHLY", 999), ("PREMIUM", 1999))]
        t.path = "hooks-" + label
        types = ["invoice.paid"] if label == "A" else ["invoice.payment_failed",
                                                        "subscription.*"]
        e = t.ok("POST", "/v1/webhook-endpoints", {"url": self.rx.url(t.path), "events": types})
        self.rx.expect(t.path, e["secret"])
        t.endpoint, t.types = e, types
        return t

    def load(self, tenants):
        """CUSTOMERS customers, each with a subscription, in 4 threads; one in six then
        switches to a card that declines. Returns {(tenant, writer): [sub ids]}: the
        subscriptions the writers may change (every fifth of the good payers)."""
        jobs = [(tenants[i % 2], i) for i in range(CUSTOMERS)]
        self.kinds = {}     # customer id -> "visa" | "declines"
        pools = {(t.label, n): [] for t in tenants for n in range(WRITERS)}
        lock = threading.Lock()
        errors = []

        def work(part):
            try:
                for t, i in part:
                    declines = (i // 2) % 6 == 5
                    c = t.ok("POST", "/v1/customers", {
                        "name": "Load %d" % i, "email": "load%d@crash.test" % i,
                        "defaultPaymentMethod": "pm_card_visa"})
                    sub = t.ok("POST", "/v1/subscriptions",
                               {"customerId": c["id"], "planId": t.monthly["id"]})
                    if declines:
                        card = "pm_card_chargeDeclined" if (i // 2) % 12 == 5 else \
                            "pm_card_insufficientFunds"
                        t.ok("PATCH", "/v1/customers/" + c["id"],
                             {"defaultPaymentMethod": card})
                    with lock:
                        self.kinds[c["id"]] = "declines" if declines else "visa"
                        if not declines and i % 5 == 0:
                            pools[(t.label, (i // 5) % WRITERS)].append(sub["id"])
            except Exception as e:      # noqa: BLE001 (reported by the main thread)
                errors.append(e)

        threads = [threading.Thread(target=work, args=(jobs[k::4],)) for k in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            raise errors[0]
        return pools

    # ---------------------------------------------------------------- the phases

    def counts(self, tenants):
        return sum(t.total("/v1/invoices") for t in tenants), \
            sum(t.total("/v1/payments") for t in tenants)

    def due_renewals(self, tenants, to):
        n = 0
        for t in tenants:
            for s in t.all("/v1/subscriptions"):
                if s["status"] in LIVE and parse_time(s["currentPeriodEnd"]) <= to:
                    n += 1
        return n

    def advance_under_load(self, tenants, pools, phase, to, kill_at=None):
        """Advances to `to` while the writers write. With kill_at (a fraction of the
        phase's work: renewals and payments), SIGKILLs the server once that much is seen
        done. Returns the advance's outcome ({"status", "body"}, or {"lost"} when the kill
        cut it), the renewals that were due, (renewals, payments, polls) seen at the kill,
        and the seconds it took."""
        stop = threading.Event()
        result = {}

        def advance():
            try:
                r = tenants[0].req("POST", "/v1/test-clock/advance", {"to": fmt_time(to)},
                                   timeout=300)
                result["status"], result["body"] = r.status, r.body
            except Lost as e:
                result["lost"] = str(e)

        expected = self.due_renewals(tenants, to)
        inv0, pay0 = self.counts(tenants)
        subs0 = self.ledger.created_subs
        adv = threading.Thread(target=advance, daemon=True)
        t_start = time.time()
        adv.start()
        # The writers start once the clock is at `to` (the advance moved it).
        watch = Watch(self.s, tenants)
        while watch.now() != to:
            self.assertTrue(adv.is_alive(), "the advance did not start: %s" % result)
            time.sleep(0.002)
        self.runs += 1
        writers = [Writer(n, tenants, pools, self.ledger,
                          random.Random(self.rng.random()), phase, self.runs, stop)
                   for n in range(WRITERS)]
        for w in writers:
            w.start()
        seen, polls = None, 0
        if kill_at is not None:
            pause = self.rng.uniform(0, 0.01)
            while adv.is_alive():
                try:
                    inv, pay = watch.counts()
                except Lost:
                    break
                polls += 1
                created = self.ledger.created_subs - subs0
                done = (inv - inv0 - created) + (pay - pay0 - created)
                seen = (inv - inv0 - created, pay - pay0 - created)
                if done >= kill_at * 2 * expected:
                    time.sleep(pause)
                    break
                time.sleep(0.01)
            self.s.kill()
            seen = seen + (polls,) if seen else (0, 0, polls)
        watch.close()
        adv.join()
        took = time.time() - t_start
        stop.set()
        for w in writers:
            w.join()
        return result, expected, seen, took

    def restart(self, tenants, to):
        self.s.start()
        now = parse_time(tenants[0].ok("GET", "/v1/test-clock")["now"])
        self.assertLess(now, to, "a restarted server's clock starts at real time")

    def resend_lost(self, tenants, phase):
        """Sends each write whose answer was lost again, with its key: it must be done
        once (a replay of the first, or done now)."""
        by_label = {t.label: t for t in tenants}
        for w in [w for w in self.ledger.writes if w["phase"] == phase and "lost" in w]:
            t = by_label[w["tenant"]]
            for _ in range(5):      # a 503 (a PostgreSQL deadlock, 3 tries) is asked again
                r = t.req(w["method"], w["path"], w["body"],
                          headers={"Idempotency-Key": w["key"]})
                if r.status != 503:
                    break
            want = 201 if w["kind"] in ("customer", "subscription") else 200
            self.assertEqual(r.status, want, "resent %s: %s" % (w, r.text))
            w["resent"] = {"status": r.status, "resp": r.body,
                           "replayed": r.header("Idempotent-Replayed") == "true"}

    # ---------------------------------------------------------------- the test

    def test_sigkill_during_billing_runs(self):
        log("crash test: seed %d (BILLING_TEST_SEED), %d customers, backend %s"
            % (SEED, CUSTOMERS, ts.BACKEND))
        t_all = time.time()
        self.s.start()
        tenants = [self.tenant("A"), self.tenant("B")]
        t0 = parse_time(tenants[0].ok("GET", "/v1/test-clock")["now"])
        pools = self.load(tenants)
        log("load: %d customers with a subscription in %.1f s"
            % (CUSTOMERS, time.time() - t_all))
        phase, cut = 0, 0
        while cut < KILLS:
            phase += 1
            self.assertLessEqual(phase, KILLS + 2, "two advances ended before their kill: "
                                 "the runs are too short to be cut (more customers?)")
            to = t0 + (FIRST_DAYS + (phase - 1) * 30) * DAY
            kill_at = self.rng.uniform(0.15, 0.85)
            result, expected, seen, took = self.advance_under_load(
                tenants, pools, phase, to, kill_at)
            self.assertEqual(self.s.proc.returncode, -signal.SIGKILL,
                             "the server died before the kill: " + self.s.all_logs[-3000:])
            in_the_run = "lost" in result
            cut += in_the_run
            self.restart(tenants, to)
            inv, pay = self.counts(tenants)
            left = self.due_renewals(tenants, to)
            # Attempts the kill caught between asking the provider and recording its
            # answer, and deliveries between their claim and their record: a lease holds
            # them for 5 minutes, then the run asks again.
            held = (sum(t.total("/v1/payments", "&status=pending") for t in tenants),
                    sum(t.total("/v1/webhook-endpoints/%s/deliveries" % t.endpoint["id"],
                                "&status=pending") for t in tenants))
            result2, _, _, took2 = self.advance_under_load(tenants, pools, phase, to)
            self.assertEqual(result2.get("status"), 200, result2)
            self.resend_lost(tenants, phase)
            lost = sum(1 for w in self.ledger.writes if w["phase"] == phase and "lost" in w)
            log("phase %d: to %s, %d renewals due; %s at %.0f%% after %.2f s (renewals, "
                "payments seen, polls: %s); restarted: %d invoices, %d payments, %d renewals "
                "still due, (payments, deliveries) pending %s; rerun %s in %.2f s; %d writes "
                "lost and sent again"
                % (phase, fmt_time(to), expected,
                   "killed" if in_the_run else "the run had ended (%s): killed after it" % result,
                   kill_at * 100, took, seen, inv, pay, left, held, result2["body"], took2,
                   lost))
        # An hour more: the leases (5 minutes) of what the kills cut short expire, and the
        # items a failure set aside for a minute are done.
        final = to + 3600
        r = tenants[0].ok("POST", "/v1/test-clock/advance", {"to": fmt_time(final)})
        log("settle: %s" % r)
        self.assertEqual(self.s.terminate(), 0, "the server did not exit cleanly on SIGTERM")
        log("server warnings: %s" % warnings(self.s.all_logs))
        p = self.s.cli("check", check=False)
        log("check: exit %d, %s" % (p.returncode, (p.stdout + p.stderr).decode().strip()))
        self.assertEqual((p.returncode, p.stdout.decode()), (0, ""),
                         "billing-server check found problems")
        self.s.start()
        problems = sum((self.verify(t, final) for t in tenants), [])
        problems += self.verify_writes(tenants)
        writes = {}
        for w in self.ledger.writes:
            k = "lost" if "lost" in w else str(w["status"])
            if k not in ("lost", "200", "201"):
                k += " %s %s" % (w["kind"], (w["resp"] or {}).get("code"))
            writes[k] = writes.get(k, 0) + 1
        log("writes by answer: %s" % json.dumps(writes, sort_keys=True))
        self.assertEqual(problems, [], "%d problems (above)" % len(problems))
        self.assertEqual([k for k in writes if k.startswith("5") and not k.startswith("503")],
                         [], "a write answered a 5xx other than 503")
        log("crash test: %.1f s in all" % (time.time() - t_all))

    # ---------------------------------------------------------------- the checks

    def verify(self, t, final):
        subs = {s["id"]: s for s in t.all("/v1/subscriptions")}
        invoices = t.all("/v1/invoices")
        payments = t.all("/v1/payments")
        customers = {c["id"]: c for c in t.all("/v1/customers")}
        ended_by_writer = {w["sub"] for w in self.ledger.writes
                           if w["sub"] and w["kind"] == "cancel"}
        t.canceled_while_due, t.dunning_after_due = 0, []
        problems = []

        # Invoice numbers 1..N, every invoice finalized.
        numbers = sorted(i["number"] for i in invoices)
        want = ["INV-%06d" % n for n in range(1, len(invoices) + 1)]
        if numbers != want:
            missing = sorted(set(want) - set(numbers))
            dup = sorted(n for n in set(numbers) if numbers.count(n) > 1)
            problems.append("invoice numbers not 1..%d: missing %s, twice %s"
                            % (len(invoices), missing[:10], dup[:10]))

        # Periods: from the anchor, each once, none skipped.
        by_sub = {}
        for i in invoices:
            by_sub.setdefault(i["subscriptionId"], []).append(i)
        renewals = 0
        for sid, s in subs.items():
            invs = sorted(by_sub.get(sid, []), key=lambda i: i["periodStart"])
            anchor = parse_time(s["billingCycleAnchor"])
            got = [(parse_time(i["periodStart"]), parse_time(i["periodEnd"])) for i in invs]
            if len(set(got)) != len(got):
                problems.append("%s: a period invoiced twice: %s"
                                % (sid, [i["periodStart"] for i in invs]))
                continue
            expect = [(add_months(anchor, n), add_months(anchor, n + 1))
                      for n in range(len(got))]
            if got != expect:
                problems.append("%s: periods %s, want %s" % (sid, got, expect))
                continue
            renewals += len(got) - 1
            last_start, last_end = got[-1]
            if s["status"] in LIVE:
                # Invoiced up to the period holding the clock, and that is the current one.
                if not (last_start <= final < last_end) or \
                        s["currentPeriodStart"] != invs[-1]["periodStart"]:
                    problems.append("%s (%s): last invoiced period %s, current %s, clock %s"
                                    % (sid, s["status"], fmt_time(last_start),
                                       s["currentPeriodStart"], fmt_time(final)))
            elif s["status"] == "canceled":
                ended = parse_time(s["endedAt"])
                if sid in ended_by_writer and ended > last_end:
                    # Canceled now while its renewal was still due (the run had not come
                    # to it): the call applies the due renewals first, so the period the
                    # cancellation falls in is billed (src/core/subscription_calendar.c, catch_up).
                    t.canceled_while_due += 1
                    problems.append("%s: canceled at %s, after its last invoiced period "
                                    "[%s, %s): the periods between were not billed"
                                    % (sid, s["endedAt"], fmt_time(last_start),
                                       fmt_time(last_end)))
                elif self.kinds.get(s["customerId"]) == "declines" and ended > last_end:
                    # Canceled by the last failed retry, which ends it when that retry was
                    # due (docs/payments.md): never after its last invoiced period.
                    t.dunning_after_due.append(sid)
                    problems.append("%s: ended by dunning at %s, after its last invoiced "
                                    "period [%s, %s)" % (sid, s["endedAt"],
                                                         fmt_time(last_start),
                                                         fmt_time(last_end)))
                elif not last_start <= ended <= last_end:
                    problems.append("%s: ended %s outside its last period [%s, %s)"
                                    % (sid, s["endedAt"], fmt_time(last_start),
                                       fmt_time(last_end)))
                # Ended by the run at a period end (not by a cancel now, nor by dunning,
                # which end at the time of the call or of the run): invoiced up to there.
                if sid not in ended_by_writer and \
                        self.kinds.get(s["customerId"], "visa") == "visa" and ended != last_end:
                    problems.append("%s: ended at %s, not at its last invoiced period's end %s"
                                    % (sid, s["endedAt"], fmt_time(last_end)))
            else:
                problems.append("%s: status %s" % (sid, s["status"]))

        # Payments.
        pays = {}
        for p in payments:
            pays.setdefault(p["invoiceId"], []).append(p)
            if p["status"] in ("pending", "unknown", "requires_action"):
                problems.append("%s (%s): still %s" % (p["id"], p["invoiceId"], p["status"]))
        retries = len(POLICIES[t.label]["retryDays"])
        paid = 0
        for i in invoices:
            ps = pays.get(i["id"], [])
            captured = [p for p in ps if p["status"] in ("succeeded", "partially_refunded",
                                                          "refunded")]
            if len(captured) > 1:
                problems.append("%s: paid %d times: %s" % (i["id"], len(captured),
                                                            [p["id"] for p in captured]))
            kind = self.kinds.get(i["customerId"], "visa")   # writers' customers: visa
            if i["status"] == "paid":
                paid += 1
                if len(captured) != 1 or captured[0]["amount"] != i["total"] or \
                        i["amountPaid"] != i["total"]:
                    problems.append("%s paid %d of %d with %s" % (
                        i["id"], i["amountPaid"], i["total"],
                        [(p["status"], p["amount"]) for p in ps]))
            # A charge a kill cut short stays unknown; when it is next looked at past
            # the provider's idempotency window (a phase moves the clock a month) and
            # the provider holds nothing (the test provider's memory died with the
            # process), it fails "not_at_provider" and dunning charges again
            # (docs/payments.md). Only such a failure may come before the one payment.
            never_made = [p for p in ps if p["status"] == "failed" and
                          p.get("failureCode") == "not_at_provider"]
            if kind == "visa" and i["total"] > 0 and \
                    (i["status"] != "paid" or len(ps) - len(never_made) != 1):
                problems.append("%s (card works): %s with payments %s" % (
                    i["id"], i["status"], [(p["id"], p["status"], p.get("failureCode"))
                                           for p in ps]))
            if kind == "declines" and i["status"] != "paid":
                if captured or len(ps) > 1 + retries or i["status"] not in ("failed", "void"):
                    problems.append("%s (card declines): %s with payments %s" % (
                        i["id"], i["status"], [(p["status"], p["failureCode"]) for p in ps]))

        # Events: once per fact.
        all_events = t.all("/v1/events")

        def events(type_):
            seen = {}
            for e in all_events:
                if e["type"] == type_:
                    seen.setdefault(e["resourceId"], []).append(e["id"])
            return seen
        for type_, ids in (("invoice.created", [i["id"] for i in invoices]),
                           ("invoice.finalized", [i["id"] for i in invoices]),
                           ("invoice.paid", [i["id"] for i in invoices if i["status"] == "paid"]),
                           ("subscription.created", list(subs)),
                           ("subscription.canceled",
                            [x for x, s in subs.items() if s["status"] == "canceled"])):
            seen = events(type_)
            bad = [(x, len(seen.get(x, []))) for x in ids if len(seen.get(x, [])) != 1]
            extra = sorted(set(seen) - set(ids))
            if bad or extra:
                problems.append("%s: not once for %d resources %s; for others %s"
                                % (type_, len(bad), bad[:5], extra[:5]))

        # Webhook deliveries: one per wanted event, succeeded, received and verified.
        deliveries = t.all("/v1/webhook-endpoints/%s/deliveries" % t.endpoint["id"])
        wanted = [e for e in all_events if any(
            e["type"] == p or (p.endswith(".*") and e["type"].startswith(p[:-1]))
            for p in t.types) and e["createdAt"] >= t.endpoint["createdAt"]]
        per_event = {}
        for d in deliveries:
            per_event.setdefault(d["eventId"], []).append(d)
        got = {}
        for d in self.rx.deliveries(t.path):
            if not d.verified:
                problems.append("webhook %s: a bad signature" % d.id)
            got[d.id] = got.get(d.id, 0) + 1
        for e in wanted:
            ds = per_event.get(e["id"], [])
            if len(ds) != 1 or ds[0]["status"] != "succeeded" or e["id"] not in got:
                problems.append("event %s (%s): deliveries %s, received %d times" % (
                    e["id"], e["type"], [(d["status"], d["attemptCount"]) for d in ds],
                    got.get(e["id"], 0)))
        extra = set(per_event) - {e["id"] for e in wanted}
        if extra:
            problems.append("deliveries of events the endpoint does not want: %s"
                            % sorted(extra)[:5])
        twice = sum(1 for n in got.values() if n > 1)

        log("tenant %s: %d subscriptions (%s; %d canceled now while a renewal was due, %d "
            "ended by dunning after a renewal due %s), %d invoices (%d renewals, %d paid), %d "
            "payments (%s), %d webhook deliveries (%d received twice)"
            % (t.label, len(subs), count_by(subs.values(), "status"), t.canceled_while_due,
               len(t.dunning_after_due), t.dunning_after_due, len(invoices), renewals, paid,
               len(payments), count_by(payments, "status"), len(deliveries), twice))
        for p in problems[:30]:
            log("  tenant %s: %s" % (t.label, p[:1000]))
        if len(problems) > 30:
            log("  tenant %s: ... and %d more" % (t.label, len(problems) - 30))
        t.final_subs = subs
        t.final_customers = customers
        t.final_invoices = by_sub
        return problems

    def verify_writes(self, tenants):
        """What was answered 2xx is there with its effect; what was lost and sent again
        is there once."""
        by_label = {t.label: t for t in tenants}
        problems = []
        for w in self.ledger.writes:
            t = by_label[w["tenant"]]
            subs, customers = t.final_subs, t.final_customers
            acked = w.get("status") in (200, 201)
            resent = w.get("resent")
            if not acked and not resent:
                continue
            resp = (w["resp"] if acked else resent["resp"])
            if w["kind"] == "customer":
                email = w["body"]["email"]
                same = [c for c in customers.values() if c["email"] == email]
                if [c["id"] for c in same] != [resp["id"]]:
                    problems.append("customer %s (%s): %s, answered %s"
                                    % (email, "acked" if acked else "resent",
                                       [c["id"] for c in same], resp["id"]))
            elif w["kind"] == "subscription":
                cid = w["body"]["customerId"]
                same = [s["id"] for s in subs.values() if s["customerId"] == cid]
                if same != [resp["id"]]:
                    problems.append("subscription of %s (%s): %s, answered %s"
                                    % (cid, "acked" if acked else "resent", same, resp["id"]))
            else:
                s = subs.get(w["sub"])
                if s is None:
                    problems.append("%s of %s: the subscription is gone" % (w["kind"], w["sub"]))
                    continue
                invs = sorted(t.final_invoices.get(s["id"], []), key=lambda i: i["periodStart"])
                if w["kind"] == "cancel":
                    ok = s["status"] == "canceled" and s["endedAt"] == resp["endedAt"]
                elif w["kind"] == "cancel_at_period_end":
                    ok = (s["status"] in LIVE and s["cancelAtPeriodEnd"]) or (
                        s["status"] == "canceled" and s["endedAt"] == invs[-1]["periodEnd"])
                elif w["kind"] == "upgrade":
                    ok = s["planId"] == w["body"]["planId"]
                else:
                    ok = s["planId"] == w["body"]["planId"] or \
                        s["pendingPlanId"] == w["body"]["planId"]
                    if s["currentPeriodStart"] > resp["currentPeriodStart"]:
                        ok = ok and s["planId"] == w["body"]["planId"] and \
                            invs[-1]["lines"][0]["planId"] == w["body"]["planId"]
                if not ok:
                    problems.append("%s (%s) of %s: now %s" % (
                        w["kind"], "acked" if acked else "resent", w["sub"],
                        {k: s[k] for k in ("status", "planId", "pendingPlanId",
                                           "cancelAtPeriodEnd", "endedAt")}))
        acked = sum(1 for w in self.ledger.writes if w.get("status") in (200, 201))
        resent = sum(1 for w in self.ledger.writes if w.get("resent"))
        replayed = sum(1 for w in self.ledger.writes if w.get("resent", {}).get("replayed"))
        log("writes: %d answered 2xx, all there; %d lost and sent again (%d of them replays)"
            % (acked, resent, replayed))
        for p in problems:
            log("  write: %s" % p)
        return problems


def warnings(logs):
    """The server's log lines above info, counted by message (ids and numbers left out)."""
    out = {}
    for line in logs.splitlines():
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("level") in ("warn", "error") and not m["msg"].startswith("BILLING_"):
            msg = re.sub(r"\b[a-z]+_[0-9a-z]{26}\b", "ID", m["msg"] + " " + m.get("reason", ""))
            msg = re.sub(r"\d+", "N", msg).strip()
            out[msg] = out.get(msg, 0) + 1
    return json.dumps(out, sort_keys=True)


def count_by(items, field):
    out = {}
    for x in items:
        out[x[field]] = out.get(x[field], 0) + 1
    return json.dumps(out, sort_keys=True)


if __name__ == "__main__":
    unittest.main(verbosity=1)
