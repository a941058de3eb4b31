"""The newcomer's install path on Debian 12, end to end (ctest
bindings_python_venv, label bindings):

    /usr/bin/python3 -m venv VENV          # Debian's Python (python3-venv)
    VENV/bin/pip install --no-index bindings/python
    cd my-app && BILLING_LIBRARY=.../libbilling.so VENV/bin/python app.py

Debian's Python refuses `pip install` outside a virtual environment
(PEP 668: "externally-managed-environment"), so a venv is the documented
path. PyPI is not reachable here: --no-index, and the in-tree build backend
needs nothing from an index. The application is a temporary folder outside
the repository, its script uses the installed package (not the source
tree) the way docs/bindings-python.md shows.

    python3 venv_install.py [PYTHON]       # PYTHON: /usr/bin/python3 by default

BILLING_LIBRARY must name the built libbilling.so. A missing venv module
(python3-venv not installed) is a failure, not a skip: scripts/deps.sh
installs it.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

APP = textwrap.dedent('''\
    import json, sys
    import billing
    from billing import Billing, AlreadyExists

    venv = sys.argv[1]
    assert billing.__file__.startswith(venv), "imported from " + billing.__file__

    with Billing("sqlite:app.db", provider="test") as b:
        tenant = b.as_principal(role="PLATFORM").tenants.create(name="Acme")
        acme = b.as_principal(tenant=tenant.id, role="ADMIN")
        ada = acme.customers.create(name="Ada", email="ada@example.com",
                                    default_payment_method="pm_card_visa")
        try:
            acme.customers.create(name="Ada again", email="ada@example.com")
            raise SystemExit("a taken email was accepted")
        except AlreadyExists as e:
            assert e.field == "email", e.field
        pro = acme.products.create(name="Pro", sku="pro")
        plan = acme.plans.create(product_id=pro.id, code="PRO_M", name="Pro monthly",
                                 amount=2900, currency="EUR", interval="MONTH")
        sub = acme.subscriptions.create(customer_id=ada.id, plan_id=plan.id)
        inv = acme.invoices.get(sub.latest_invoice_id)
        emails = [c.email for c in acme.customers.list(limit=10)]
        print(json.dumps({"email": ada.email, "status": inv.status, "due": inv.amount_due,
                          "paid": inv.amount_paid, "lines": len(inv.lines),
                          "emails": emails, "invoice": inv.to_dict()["number"]}))
''')


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        sys.exit("FAILED (%d): %s\n%s" % (p.returncode, " ".join(argv), out))
    return out


def main():
    python = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/python3"
    library = os.environ.get("BILLING_LIBRARY")
    if not library or not os.path.exists(library):
        sys.exit("BILLING_LIBRARY must name the built libbilling.so (got %r)" % library)
    if not os.path.exists(python):
        sys.exit("%s not found: the test uses Debian's python3" % python)
    # Nothing of the caller's Python setup leaks in: no PYTHONPATH (the
    # source tree), no pyenv, no pip configuration pointing at an index.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PYENV", "PIP_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    tmp = tempfile.mkdtemp(prefix="billing-venv-")
    try:
        venv = os.path.join(tmp, "venv")
        p = subprocess.run([python, "-m", "venv", venv], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env)
        if p.returncode != 0:
            sys.exit("FAILED: %s -m venv: %s\n(scripts/deps.sh installs python3-venv)"
                     % (python, p.stdout.decode(errors="replace")))
        vpy = os.path.join(venv, "bin", "python")
        run([vpy, "-m", "pip", "install", "--quiet", "--no-index", SOURCE], env=env, cwd=tmp)
        app = os.path.join(tmp, "my-app")
        os.mkdir(app)
        with open(os.path.join(app, "app.py"), "w") as f:
            f.write(APP)
        out = run([vpy, "app.py", os.path.realpath(venv)], env=env, cwd=app)
        last = out.strip().splitlines()[-1]
        want = ('{"email": "ada@example.com", "status": "paid", "due": 0, "paid": 2900, '
                '"lines": 1, "emails": ["ada@example.com"], "invoice": "INV-000001"}')
        if last != want:
            sys.exit("FAILED: the application printed\n%s\nwanted\n%s" % (out, want))
        # The install left nothing behind in the source tree.
        left = [n for n in os.listdir(SOURCE) if n == "build" or n.endswith(".egg-info")]
        if left:
            sys.exit("FAILED: pip left %s in %s" % (left, SOURCE))
        print("ok: %s -m venv, pip install --no-index %s, app in %s: %s"
              % (python, SOURCE, app, last))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
