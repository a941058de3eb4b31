#!/usr/bin/env python3
"""ctest openapi_lint: the example server's OpenAPI document passes
`redocly lint` with tests/openapi/redocly.yaml (the recommended rules), with
no error and no warning.

The document is the one the built server serves at /v1/openapi.json, with
the test clock on (so its routes are linted too); the server is started with
the HTTP suite's helper. @redocly/cli is pinned by package-lock.json here;
`npm ci` installs it (scripts/deps.sh does, or this script when it is
missing: the npm registry must then be reachable).
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))
import test_server  # noqa: E402

REDOCLY = os.path.join(HERE, "node_modules", ".bin", "redocly")


def main():
    if not test_server.SERVER or not os.access(test_server.SERVER, os.X_OK):
        sys.exit("set BILLING_SERVER to the billing-server binary")
    if not os.access(REDOCLY, os.X_OK):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    server = test_server.Server(env_extra={"BILLING_TEST_CLOCK": "1"}).start()
    try:
        r = server.request("GET", "/v1/openapi.json", check=False)
    finally:
        server.stop()
    if r.status != 200:
        sys.exit("GET /v1/openapi.json answered %d" % r.status)
    with tempfile.TemporaryDirectory(prefix="billing-openapi-") as d:
        path = os.path.join(d, "openapi.json")
        with open(path, "wb") as f:
            f.write(r.text)
        env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true")
        p = subprocess.run([REDOCLY, "lint", "--config", os.path.join(HERE, "redocly.yaml"),
                            "--format", "stylish", "--max-problems", "1000", path],
                           capture_output=True, text=True, env=env, cwd=d)
    out = p.stdout + p.stderr
    print(out)
    # Warnings count: "clean" means no problem line of either severity.
    problems = re.findall(r"^\s+\d+:\d+\s+(?:error|warning)\s", out, re.M)
    if p.returncode != 0 or problems:
        sys.exit("openapi_lint: redocly found problems (above)")
    print("openapi_lint: clean")


if __name__ == "__main__":
    main()
