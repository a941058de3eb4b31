"""The base class of the HTTP suites that test one feature on a server of
their own (test_balance.py, test_payment_methods.py, test_disputes.py,
test_payment_actions.py, test_incomplete.py): not a suite itself.

TenantCase starts one billing-server per class (test_server.py's Server, on
the backend BILLING_TEST_BACKEND names) with the test clock and the class's
SERVER_ENV, and stops it after the class, failing when it does not exit
cleanly on SIGTERM. Each test gets a tenant of its own on that server, so
tests share the server but never each other's data:

    self.s       the Server (its request(), cli(), ...)
    self.tenant  the test's tenant id
    self.b       test_server.Billing for the tenant with an ADMIN token
    self.user    a USER token of the tenant

A subclass that needs more per test calls super().setUp() first.
"""
import os

import test_server as ts

# SERVER_ENV of a class whose tests sign the provider's webhooks.
WEBHOOK_ENV = {"STRIPE_WEBHOOK_SECRET": ts.WEBHOOK_SECRET}


class TenantCase(ts.ProblemAssertions):
    """A server with the test clock per class; a tenant per test."""

    SERVER_ENV = {}

    @classmethod
    def setUpClass(cls):
        if not ts.SERVER or not os.access(ts.SERVER, os.X_OK):
            raise RuntimeError("set BILLING_SERVER to the billing-server binary")
        cls.s = ts.Server(env_extra={"BILLING_TEST_CLOCK": "1", **cls.SERVER_ENV}).start()

    @classmethod
    def tearDownClass(cls):
        if cls.s.stop() != 0:
            raise AssertionError("the %s server did not exit cleanly" % cls.__name__)

    def setUp(self):
        self.tenant = self.s.cli("tenant", "create", "--name", self.id()[-40:]) \
            .stdout.decode().strip()
        self.b = ts.Billing(self.s, ts.make_token(ts.claims_for(self.tenant)))
        self.user = ts.make_token(ts.claims_for(self.tenant, "USER"))
