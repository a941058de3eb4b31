#!/usr/bin/env python3
"""Runs the shell examples of README.md and examples/billing-server/README.md,
and compiles and runs README.md's C snippet, so that the documentation cannot
drift from what the server and the library do.

Every fenced ```sh block of the two files runs, in order, in one bash session
per file (as a newcomer types them into one terminal), against a freshly
started billing-server with no configuration in a temporary directory; a
block is left out only when the line before it is a
`<!-- docs-test: skip (reason) -->` comment. The only changes made to the
text: the port (localhost:8080 and 8081 become free ports). The session runs
with `set -eo pipefail`, so a command that fails stops it; curl reports each
answer's HTTP status, which must be the ones listed below for the block; and
each block's key outputs are checked.

The C snippet is wrapped in main() (its #include lines first), compiled
against the library installed into a scratch prefix with pkg-config, and run
twice: a new customer, then the e-mail taken. And docs/http-api.md must name
every route, query parameter and body field of the OpenAPI document the
server serves (with the test clock on).

Environment: BILLING_SOURCE_DIR (the checkout), BILLING_BINARY_DIR (the
build tree holding examples/billing-server/billing-server).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

SRC = os.environ.get("BILLING_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("BILLING_BINARY_DIR", os.path.join(SRC, "build", "release"))
SERVER = os.path.join(BIN, "examples", "billing-server", "billing-server")
SKIP = re.compile(r"^<!-- docs-test: skip \((.+)\) -->$")


def fenced_blocks(path, lang):
    """[(line number, text, skip reason or None)] of the ```lang blocks."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```" + lang:
            start, body = i + 1, []
            prev = lines[i - 1].strip() if i > 0 else ""
            m = SKIP.match(prev)
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            out.append((start, "\n".join(body) + "\n", m.group(1) if m else None))
        i += 1
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BILLING_", "STRIPE_"))}
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    return env


class Server:
    """billing-server with no configuration in dir, as scripts/server.sh starts it."""

    def __init__(self, workdir, port):
        env = clean_env()
        env["BILLING_LISTEN"] = "127.0.0.1:%d" % port
        # No billing run during the examples but the one at start: nothing
        # is delivered to the example's webhook URL on the network.
        env["BILLING_RUN_INTERVAL"] = "3600"
        self.log_path = os.path.join(workdir, "server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([SERVER], cwd=workdir, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while '"msg":"listening"' not in self.text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError("the server did not start:\n" + self.text())
            time.sleep(0.05)

    def text(self):
        with open(self.log_path, encoding="utf-8") as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def run_session(blocks, workdir, ports, preamble=""):
    """Runs the blocks in one bash; returns ({block line: (stdout, [statuses])}, log)."""
    script = [
        "set -eo pipefail",
        # Each answer's status goes to stderr, after a marker; a refused
        # connection (a server still starting) is retried.
        "curl() { command curl --retry 10 --retry-connrefused --retry-delay 1 "
        "-w '%{stderr}@@status %{http_code}\\n' \"$@\"; }",
        "trap 'echo \"@@failed at line $LINENO: $BASH_COMMAND\" >&2' ERR",
        preamble,
    ]
    for line, text, _ in blocks:
        for old, new in ports.items():
            text = text.replace(old, new)
        script.append("echo; echo @@block %d; echo >&2; echo @@block %d >&2" % (line, line))
        script.append(text)
    script.append("echo; echo @@done; echo >&2; echo @@done >&2")
    # Files, not pipes: a server the session starts in the background keeps
    # its copies of them open after bash ends.
    out_path, err_path = os.path.join(workdir, "session.out"), os.path.join(workdir, "session.err")
    with open(out_path, "w") as out_f, open(err_path, "w") as err_f:
        proc = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=workdir,
                                env=clean_env(), stdout=out_f, stderr=err_f,
                                start_new_session=True)
        try:
            proc.wait(timeout=240)
        finally:
            try:  # the session's own background servers (the test clock's)
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    with open(out_path, encoding="utf-8") as f:
        out = f.read()
    with open(err_path, encoding="utf-8") as f:
        err = f.read()
    log = "--- stdout\n%s\n--- stderr\n%s" % (out, err)
    if proc.returncode != 0 or "@@done" not in out:
        raise AssertionError("the examples stopped (exit %d):\n%s" % (proc.returncode, log))
    outs, statuses = {}, {}
    for stream, dest in ((out, outs), (err, statuses)):
        current = None
        for ln in stream.split("\n"):
            m = re.match(r"^@@block (\d+)$", ln)
            if m:
                current = int(m.group(1))
                dest[current] = []
            elif current is not None and ln != "@@done":
                dest[current].append(ln)
    return {k: ("\n".join(outs[k]), [int(s.split()[1]) for s in statuses[k]
                                     if s.startswith("@@status ")]) for k in outs}, log


class DocsExamples(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="docs-examples-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def check(self, results, blocks, marker, statuses, *patterns, log=""):
        """The block holding marker answered statuses and printed patterns."""
        found = [line for line, text, skip in blocks if marker in text and not skip]
        self.assertEqual(len(found), 1, "one runnable block holds %r" % marker)
        out, got = results[found[0]]
        self.assertEqual(got, statuses, "statuses of the block at line %d\n%s" % (found[0], log))
        for p in patterns:
            self.assertRegex(out, p, "block at line %d\n%s" % (found[0], log))

    def test_readme(self):
        path = os.path.join(SRC, "README.md")
        blocks = fenced_blocks(path, "sh")
        self.assertTrue(blocks and all(s for _, t, s in blocks if "test.sh" in t))
        # README's B is relative to the checkout, where scripts/server.sh ran.
        os.makedirs(os.path.join(self.dir, "build"))
        os.symlink(os.path.abspath(BIN), os.path.join(self.dir, "build", "release"))
        port = free_port()
        server = Server(self.dir, port)
        self.addCleanup(server.stop)
        runnable = [b for b in blocks if not b[2]]
        results, log = run_session(runnable, self.dir, {"localhost:8080": "localhost:%d" % port})
        self.check(results, runnable, "user create", [201],
                   r"(?m)^usr_[0-9a-z]{26}$", r'"accessToken":"[^"]+"', r'"tokenType":"Bearer"',
                   log=log)

    def test_readme_c_snippet(self):
        snippets = fenced_blocks(os.path.join(SRC, "README.md"), "c")
        self.assertEqual(len(snippets), 1)
        text = snippets[0][1]
        includes = [ln for ln in text.split("\n") if ln.startswith("#include")]
        body = [ln for ln in text.split("\n") if not ln.startswith("#include")]
        prefix = os.path.join(self.dir, "prefix")
        subprocess.run(["cmake", "--install", BIN, "--prefix", prefix], check=True,
                       stdout=subprocess.DEVNULL)
        libdir = [os.path.join(prefix, d) for d in os.listdir(prefix) if d.startswith("lib")][0]
        env = clean_env()
        env["PKG_CONFIG_PATH"] = os.path.join(libdir, "pkgconfig")
        env["LD_LIBRARY_PATH"] = libdir
        tenant = subprocess.run([SERVER, "tenant", "create", "--name", "Snippet"], cwd=self.dir,
                                env=env, check=True, capture_output=True, text=True).stdout.strip()
        self.assertRegex(tenant, r"^ten_[0-9a-z]{26}$")
        self.assertIn('"ten_01..."', text)
        app = "\n".join(includes) + "\n\nint main(void)\n{\n" + "\n".join(body).replace(
            '"ten_01..."', '"%s"' % tenant) + "}\n"
        with open(os.path.join(self.dir, "app.c"), "w") as f:
            f.write(app)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "billing"], env=env,
                               check=True, capture_output=True, text=True).stdout.split()
        # The library's own compiler and sanitizer flags (tests/CMakeLists.txt);
        # a newcomer's cc otherwise.
        cc = [os.environ.get("BILLING_TEST_CC") or "cc"]
        cc += os.environ.get("BILLING_TEST_CC_FLAGS", "").split()
        subprocess.run(cc + ["-std=c99", "-Wall", "-Wextra", "-Werror", "-o", "app", "app.c"]
                       + flags, cwd=self.dir, env=env, check=True)
        first = subprocess.run(["./app"], cwd=self.dir, env=env, capture_output=True, text=True)
        self.assertEqual((first.returncode, first.stderr), (0, ""))
        self.assertRegex(first.stdout, r"^cus_[0-9a-z]{26}\n$")
        again = subprocess.run(["./app"], cwd=self.dir, env=env, capture_output=True, text=True)
        self.assertEqual((again.returncode, again.stdout, again.stderr), (0, "taken: email\n", ""))

    def test_http_api_names_every_route(self):
        """docs/http-api.md names every route of the server's OpenAPI document
        (test clock included), and every input field of the operations."""
        with open(os.path.join(SRC, "docs", "http-api.md"), encoding="utf-8") as f:
            doc = f.read()
        self.assertNotIn("../shared", doc)
        env = clean_env()
        env["BILLING_TEST_CLOCK"] = "1"
        port = free_port()
        env["BILLING_LISTEN"] = "127.0.0.1:%d" % port
        with open(os.path.join(self.dir, "server.log"), "w") as log:
            proc = subprocess.Popen([SERVER], cwd=self.dir, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        self.addCleanup(proc.wait, 30)
        self.addCleanup(proc.terminate)
        deadline, spec = time.time() + 30, None
        while spec is None:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/v1/openapi.json" % port) as r:
                    spec = json.load(r)
            except OSError:
                self.assertLess(time.time(), deadline, "the server did not start")
                time.sleep(0.1)
        missing = []
        self.assertGreater(len(spec["paths"]), 30)
        self.assertIn("/v1/test-clock/advance", spec["paths"])
        for path, item in spec["paths"].items():
            for method, op in item.items():
                if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    continue
                if "%s %s" % (method.upper(), path) not in doc:
                    missing.append("%s %s" % (method.upper(), path))
                for prm in op.get("parameters", []):
                    name = prm.get("name")
                    if name and prm.get("in") == "query" and "`%s`" % name not in doc:
                        missing.append("%s %s: query %s" % (method.upper(), path, name))
                body = (op.get("requestBody", {}).get("content", {})
                        .get("application/json", {}).get("schema", {}))
                if "$ref" in body:
                    body = spec["components"]["schemas"][body["$ref"].split("/")[-1]]
                for name in body.get("properties", {}):
                    if "`%s" % name not in doc:
                        missing.append("%s %s: field %s" % (method.upper(), path, name))
        self.assertEqual(missing, [], "docs/http-api.md does not name these")

    def test_server_readme(self):
        path = os.path.join(SRC, "examples", "billing-server", "README.md")
        blocks = fenced_blocks(path, "sh")
        runnable = [b for b in blocks if not b[2]]
        self.assertGreaterEqual(len(runnable), 5)
        port, clock_port = free_port(), free_port()
        server = Server(self.dir, port)
        self.addCleanup(server.stop)
        # What "Run" promises the server says on a first start.
        log = server.text()
        self.assertIn('"msg":"generated a random JWT signing secret and stored it beside the '
                      'database', log)
        self.assertIn('"file":"billing.db.jwt-secret","mode":"0600"', log)
        self.assertIn('"using":"SQLite file billing.db, test payment provider"', log)
        self.assertRegex(log, r'"msg":"listening","listen":"127.0.0.1:%d"' % port)
        self.assertEqual(os.stat(os.path.join(self.dir, "billing.db.jwt-secret")).st_mode & 0o777,
                         0o600)
        results, log = run_session(
            runnable, self.dir,
            {"localhost:8080": "localhost:%d" % port,
             "localhost:8081": "localhost:%d" % clock_port,
             "127.0.0.1:8081": "127.0.0.1:%d" % clock_port},
            preamble="B=%s" % SERVER)  # what the "Run" block sets
        self.check(results, runnable, "first-customer", [201, 201, 201, 200, 200, 204],
                   r"HTTP/1.1 201 Created", r"(?i)location: /v1/customers/cus_", r'(?i)etag: W/"1"',
                   r'"name":"Ada King"', r"HTTP/1.1 204 No Content",
                   r'"total":1,"page":1,"pageSize":10,"totalPages":1', log=log)
        self.assertEqual(results[[b for b in runnable if "first-customer" in b[1]][0][0]][0]
                         .count('"email":"ada@example.com"'), 3, "the replay made no second customer")
        self.check(results, runnable, "change-plan", [201, 201, 201, 201, 201, 200, 200, 200],
                   r'"subscriptionId":"sub_', r'"proration":true', log=log)
        self.check(results, runnable, "pm_card_visa", [200, 201, 200, 200, 201, 201, 402, 200],
                   r"HTTP/1.1 201 Created", r"(?i)location: /v1/payments/pay_",
                   r'"status":"succeeded"', r'"refundedAmount":500', r'"code":"declined"',
                   r'"providerCode":"card_declined"', r'"finalAction":"keep_past_due"', log=log)
        self.check(results, runnable, "hooks.example.com", [201, 200, 200, 200, 200],
                   r'"secret":"whsec_', r'"object":"redelivery","deliveries":0',
                   r'"object":"audit_entry"', log=log)
        self.check(results, runnable, "test-clock/advance", [201, 201, 201, 201, 200, 200],
                   r'"processed":12,"invoiced":12,"failed":0', log=log)
        clock = results[[b for b in runnable if "test-clock/advance" in b[1]][0][0]][0]
        rows = re.findall(r"(?m)INV-0000(\d\d) \S+ \S+ 1189 (\w+)$", clock)
        self.assertEqual([int(n) for n, _ in rows], list(range(1, 14)), clock)


if __name__ == "__main__":
    if not os.access(SERVER, os.X_OK):
        sys.exit("no server at %s (BILLING_BINARY_DIR)" % SERVER)
    unittest.main(verbosity=2)
