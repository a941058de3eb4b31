#!/usr/bin/env python3
"""Point gets through the Python and Node bindings against the same call in
C, in one run on one database. Reports; does not gate.

    cmake --preset release && cmake --build --preset release -j2
    python3 bench/bindings/run.py [--rounds 5] [--seconds 1.0]

BUILD_DIR (default build/release) must hold libbilling.so and
bench/bench_bindings. Node needs bindings/node/node_modules (scripts/deps.sh).

What runs: bench_bindings setup makes a fresh SQLite database (a temporary
directory, WAL) with one tenant and one customer. Then, for each round, three
processes one after the other, the first of them rotating from round to
round: bench_bindings (C), bench_python.py, bench_node.js. Each opens the
database, warms up, and times customers.get of that customer for --seconds
per form, alternating its forms in blocks of 500 calls. The table shows the
median over the rounds of each form's calls per second and time per call,
and the median over the rounds of its ratio to the C forms of the same round
(binding calls/s / C calls/s): a machine whose speed drifts from round to
round moves the rates more than the ratios.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

ROWS = [
    ("c_typed", "C      billing_customer_get (typed)"),
    ("c_json", "C      billing_call_json"),
    ("python", "Python acme.customers.get(id)"),
    ("python_ctypes", "Python ctypes + json, no binding (ref.)"),
    ("node", "Node   await customers.get, 1 at a time"),
    ("node_8", "Node   customers.get, 8 in flight"),
    ("node_koffi_sync", "Node   koffi sync call (ref., blocks)"),
]


def run(cmd, env):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("bench: %s failed:\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def rates(text):
    return {k: float(v) for k, v in (line.split() for line in text.strip().splitlines())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="per form and round")
    args = ap.parse_args()

    build = os.path.abspath(os.environ.get("BUILD_DIR", os.path.join(ROOT, "build", "release")))
    library = os.path.join(build, "libbilling.so")
    helper = os.path.join(build, "bench", "bench_bindings")
    for f in (library, helper):
        if not os.path.exists(f):
            sys.exit("bench: %s is missing (build with the benchmarks; BUILD_DIR=%s)" % (f, build))
    node = shutil.which("node") or sys.exit("bench: node not found")
    env = dict(os.environ, BILLING_LIBRARY=library)

    tmp = tempfile.mkdtemp(prefix="bench-bindings-")
    try:
        url = "sqlite:%s/bench.db" % tmp
        tenant, customer = run([helper, "setup", url], env).split()
        sec = str(args.seconds)
        sides = [
            [helper, "get", url, tenant, customer, sec],
            [sys.executable, os.path.join(HERE, "bench_python.py"), url, tenant, customer, sec],
            [node, os.path.join(HERE, "bench_node.js"), url, tenant, customer, sec],
        ]
        got = {}
        for r in range(args.rounds):
            order = sides[r % 3:] + sides[:r % 3]
            for cmd in order:
                for k, v in rates(run(cmd, env)).items():
                    got.setdefault(k, []).append(v)
            print("round %d/%d done" % (r + 1, args.rounds), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in got.items()}
    py = subprocess.run([sys.executable, "--version"], stdout=subprocess.PIPE, text=True).stdout
    nv = subprocess.run([node, "--version"], stdout=subprocess.PIPE, text=True).stdout
    print("customers.get of one customer, SQLite (WAL), %d CPUs; %s, node %s; "
          "median of %d rounds of %.1f s per form"
          % (os.cpu_count(), py.strip(), nv.strip(), args.rounds, args.seconds))
    print("%-42s %10s %9s %10s %10s" % ("form", "calls/s", "us/call", "/ C json", "/ C typed"))
    def ratio(key, base):
        return statistics.median(a / b for a, b in zip(got[key], got[base]))

    for key, label in ROWS:
        if key not in med:
            continue
        v = med[key]
        print("%-42s %10.0f %9.1f %10.3f %10.3f"
              % (label, v, 1e6 / v, ratio(key, "c_json"), ratio(key, "c_typed")))
    spread = {k: (min(v), max(v)) for k, v in got.items()}
    print("\nrange over rounds (calls/s): " + ", ".join(
        "%s %.0f-%.0f" % (k, lo, hi) for k, (lo, hi) in spread.items()))


if __name__ == "__main__":
    main()
