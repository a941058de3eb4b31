#!/usr/bin/env python3
"""The console's first pages with 10,000 customers (issue #25 item 3: "first
page under a second on this machine"); bench/README.md, "bench/console".

    python3 bench/console/first_page.py [N customers, default 10000] [runs, default 5]

A benchmark, not a test: it prints figures and exits 0 unless something fails.

Setup (untimed): bench_reports' data, made through the C API
(BENCH_SETUP_ONLY=1 build/release/bench/bench_reports sqlite N: N customers,
each with a monthly subscription and its first invoice, a seventh trialing,
paid, voided, canceled and upgraded ones; SQLite, on tmpfs when there is
one), its clock shifted so that its last day is today; then billing-server on
that database with an ADMIN user, and the server's own billing run left to
finish the renewals that fell due (one more invoice per live subscription)
before anything is measured.

Measured, in Debian's headless Chromium (tests/http/test_console.py's
chromium()), with the browser's Resource Timing and a count of the fetches in
flight: log in, then the dashboard (from the login request's start until
every /v1 request it made has answered, none is in flight and its three
tables are drawn), then the customers page (from the moment its hash is set
until the same holds and the table has its 20 rows). Cold: a new browser
(empty cache) and a restarted server (new connections) for each run; warm:
the same browser and server, the page loaded again (its files revalidated
from the browser's cache). Runs of each; the median and the worst, and the
/v1 requests that took longest (their median duration over all runs).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("BENCH_BUILD") or os.path.join(ROOT, "build", "release")
os.environ.setdefault("BILLING_SERVER",
                      os.path.join(BUILD, "examples", "billing-server", "billing-server"))
sys.path.insert(0, os.path.join(ROOT, "tests", "http"))
import test_server as ts  # noqa: E402
import test_console as tc  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

PASSWORD = "bench console password"
EMAIL = "admin@bench.example"

# Counts the fetches in flight (until their bodies are read or fail), once
# per page load; api.js looks fetch up on window at each call.
COUNT_FETCHES = """
if (!window.__inflight_installed) {
  window.__inflight_installed = true;
  window.__inflight = 0;
  const f = window.fetch.bind(window);
  window.fetch = (...a) => {
    window.__inflight++;
    return f(...a).then((r) => {
      const c = r.clone();
      c.arrayBuffer().finally(() => { window.__inflight--; });
      return r;
    }, (e) => { window.__inflight--; throw e; });
  };
}
"""

# Resolves with performance.now() once nothing is in flight and the page's
# condition holds on two frames in a row.
# (The condition is pasted in: the console's policy forbids new Function.)
WAIT_DONE = """
const done = arguments[arguments.length - 1];
const cond = () => { COND };
let seen = 0;
function tick() {
  if (window.__inflight === 0 && cond()) { if (++seen >= 2) { done(performance.now()); return; } }
  else seen = 0;
  requestAnimationFrame(tick);
}
tick();
"""

DASHBOARD_DONE = ("return document.querySelector('main h1') && "
                  "document.querySelector('main h1').textContent.includes('Dashboard') && "
                  "document.querySelectorAll('main table').length >= 3;")
CUSTOMERS_DONE = ("return document.querySelector('main h1') && "
                  "document.querySelector('main h1').textContent.includes('Customers') && "
                  "document.querySelectorAll('main table tbody tr').length === 20 && "
                  "!!document.querySelector('main nav.pager');")


def setup(n):
    exe = os.path.join(BUILD, "bench", "bench_reports")
    env = dict(os.environ, BENCH_SETUP_ONLY="1")
    t = time.time()
    p = subprocess.run([exe, "sqlite", str(n)], capture_output=True, env=env, check=True)
    out = p.stdout.decode()
    tenant = re.search(r"^tenant: (\S+)$", out, re.M).group(1)
    db = re.search(r"^database: (\S+)$", out, re.M).group(1)
    print("setup: %d customers through the C API in %.0f s (%s)" % (n, time.time() - t, db))
    return tenant, db


def start_server(db):
    s = ts.Server(env_extra={"BILLING_DATABASE_URL": "sqlite:" + db}).start()
    return s


def catch_up(s, timeout=1800):
    """Waits until the server's billing run has nothing left (its log's last billing run
    reports remaining 0, and no new one for 3 s)."""
    t = time.time()
    last = None
    while time.time() - t < timeout:
        runs = re.findall(r'"msg":"billing run".*', s.logs())
        if runs and '"remaining":0' in runs[-1] and runs[-1] == last:
            print("the server's billing run caught up in %.0f s (%d batches)"
                  % (time.time() - t, len(runs)))
            return
        last = runs[-1] if runs else None
        if not runs and time.time() - t > 5:
            print("the server's billing run had nothing due")
            return
        time.sleep(3)
    raise RuntimeError("the server's billing run did not finish in %d s" % timeout)


def v1_timings(d, since):
    """(path without ids and query, duration ms) of the /v1 requests started at or after since."""
    out = []
    for e in d.execute_script(
            "return performance.getEntriesByType('resource').map(e => "
            "[e.name, e.startTime, e.responseEnd])"):
        name, start, end = e
        if "/v1/" not in name or start + 0.5 < since:
            continue
        path = re.sub(r"^https?://[^/]+", "", name)
        path = re.sub(r"/(cus|sub|in|pm|we|evt|cn|prod|plan|tr)_[A-Za-z0-9]+", "/{id}", path)
        path = re.sub(r"\?.*", "", path)
        out.append((path, end - start, end))
    return out


def one_run(d, base):
    """Log in and open the dashboard, then the customers page: their times (ms) and the
    /v1 requests of each."""
    d.get(base + "/console/")
    d.execute_script(COUNT_FETCHES)
    nav = d.execute_script("const n = performance.getEntriesByType('navigation')[0];"
                           "return [n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd];")
    d.find_element(By.CSS_SELECTOR, "input[name=email]").send_keys(EMAIL)
    d.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(PASSWORD)
    t0 = d.execute_script("return performance.now()")
    d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    drawn = d.execute_async_script(WAIT_DONE.replace("COND", DASHBOARD_DONE))
    calls = v1_timings(d, t0)
    login = [c for c in calls if c[0] == "/v1/auth/login"]
    start = min(c[2] - c[1] for c in login) if login else t0
    dash_end = max([drawn] + [c[2] for c in calls])
    dash = dash_end - start
    # Without the login itself (its password hash is slow on purpose).
    dash_only = dash_end - (max(c[2] for c in login) if login else t0)
    dash_calls = calls
    t1 = d.execute_script("location.hash = '#/customers'; return performance.now()")
    drawn = d.execute_async_script(WAIT_DONE.replace("COND", CUSTOMERS_DONE))
    calls = v1_timings(d, t1)
    cust = max([drawn] + [c[2] for c in calls]) - t1
    return nav, dash, dash_calls, cust, calls, dash_only


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    print("load average before: %.2f %.2f %.2f (%d CPUs)" % (os.getloadavg() + (os.cpu_count(),)))
    tenant, db = setup(n)
    downloads = tempfile.mkdtemp(prefix="bench-console-")
    s = start_server(db)
    try:
        s.cli("user", "create", "--tenant", tenant, "--email", EMAIL, "--role", "ADMIN",
              stdin=PASSWORD.encode())
        catch_up(s)
        results = {"cold": [], "warm": []}
        for k in range(runs):        # cold: a new server and a new browser each time
            if k:
                s.proc.terminate()
                s.proc.wait()
                s.log.close()
                s.start()
            d = tc.chromium(downloads)
            try:
                results["cold"].append(one_run(d, "http://127.0.0.1:%d" % s.port))
            finally:
                d.quit()
        d = tc.chromium(downloads)    # warm: one browser, the page loaded again
        try:
            one_run(d, "http://127.0.0.1:%d" % s.port)
            for _ in range(runs):
                results["warm"].append(one_run(d, "http://127.0.0.1:%d" % s.port))
        finally:
            d.quit()
    finally:
        s.stop()
        shutil.rmtree(downloads, ignore_errors=True)
        shutil.rmtree(os.path.dirname(db), ignore_errors=True)

    print("\n%d customers; %d runs each; ms until every /v1 answer is in and the page is drawn, "
          "from: the login request's start (login+dash), the login's answer (dashboard), the "
          "hash set (customers); page load: /console/ to its load event" % (n, runs))
    print("%-6s %-10s %8s %8s %8s" % ("", "page", "median", "best", "worst"))
    for kind in ("cold", "warm"):
        for name, idx in (("login+dash", 1), ("dashboard", 5), ("customers", 3)):
            v = [r[idx] for r in results[kind]]
            print("%-6s %-10s %8.0f %8.0f %8.0f" % (kind, name, statistics.median(v), min(v),
                                                      max(v)))
        v = [r[0][2] for r in results[kind]]
        print("%-6s %-10s %8.0f %8.0f %8.0f" % (kind, "page load", statistics.median(v), min(v),
                                                  max(v)))
    per = {}
    for kind in ("cold", "warm"):
        for r in results[kind]:
            for path, ms, _ in r[2] + r[4]:
                per.setdefault((kind, path), []).append(ms)
    print("\nslowest /v1 requests (median ms over the runs, count):")
    for kind in ("cold", "warm"):
        top = sorted(((statistics.median(v), p, len(v)) for (k, p), v in per.items() if k == kind),
                     reverse=True)[:6]
        for ms, p, cnt in top:
            print("  %-5s %7.0f  %-40s x%d" % (kind, ms, p, cnt))
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
