"""What the binding's tests share: the package on sys.path, the backends and
a fresh database per test class.

SQLite always (a temporary file per class). PostgreSQL as well when
BILLING_TEST_PG_HOST is set (scripts/with-postgres.sh sets it): a schema of
its own in the database "billing", created and migrated as billing_owner and
used as billing_app, the two-role setup of docs/postgres.md (as the C suites
and tests/http do).
"""
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import billing  # noqa: E402  (after the path is set)

PG_HOST = os.environ.get("BILLING_TEST_PG_HOST")
PSQL = os.environ.get("PSQL") or shutil.which("psql") or "psql"


def backends():
    return ["sqlite"] + (["postgres"] if PG_HOST else [])


def _psql_as_owner(sql):
    p = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST,
                        "-U", "billing_owner", "-d", "billing", "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise AssertionError("psql %r failed: %s" % (sql, p.stderr.decode()))


class Database:
    """A fresh, migrated database on one backend."""

    def __init__(self, backend):
        self.backend = backend
        if backend == "sqlite":
            self.dir = tempfile.mkdtemp(prefix="billing-py-")
            self.url = self.owner_url = "sqlite:%s/test.db" % self.dir
        else:
            self.dir = None
            self.schema = "py_" + secrets.token_hex(8)
            _psql_as_owner("CREATE SCHEMA %s" % self.schema)
            self.owner_url, self.url = (
                "postgres:host=%s dbname=billing user=%s options='-c search_path=%s'"
                % (PG_HOST, user, self.schema) for user in ("billing_owner", "billing_app"))
        with billing.Billing(self.owner_url):  # migrates
            pass

    def open(self, **options):
        return billing.Billing(self.url, migrate=self.backend == "sqlite", **options)

    def drop(self):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            _psql_as_owner("DROP SCHEMA %s CASCADE" % self.schema)


class BackendCase(unittest.TestCase):
    """A test class with its own database and an open Billing on it.
    Subclasses are instantiated per backend by for_each_backend()."""
    backend = "sqlite"
    open_options = {}

    @classmethod
    def setUpClass(cls):
        cls.db = Database(cls.backend)
        cls.b = cls.db.open(**cls.open_options)
        cls.platform = cls.b.as_principal(role="PLATFORM")

    @classmethod
    def tearDownClass(cls):
        cls.b.close()
        cls.db.drop()

    @classmethod
    def new_tenant(cls, name="Acme", role="ADMIN", user="usr_test"):
        t = cls.platform.tenants.create(name=name)
        return t, cls.b.as_principal(tenant=t["id"], role=role, user=user)


def for_each_backend(namespace, *classes):
    """Registers Class_<backend> in `namespace` for every backend of the run;
    the classes given must not be collected themselves (set __test__ = False
    is not needed: they are removed from the namespace)."""
    for cls in classes:
        del namespace[cls.__name__]
        for b in backends():
            name = "%s_%s" % (cls.__name__, b)
            namespace[name] = type(name, (cls,), {"backend": b, "__module__": cls.__module__})
