#!/usr/bin/env python3
"""HTTP suite for webhook deliveries by query (issue #18 item 13): GET /v1/webhook-deliveries
lists the deliveries of a deleted endpoint by its endpointId (the endpoint's own path is 404
once it is gone), and refuses an id that names neither an endpoint nor any delivery.

Standard library only. The server and the loopback receiver come from test_server.py
(imported; its tests do not run from here), so BILLING_TEST_BACKEND picks SQLite or
PostgreSQL as for that suite (ctest: http_webhook_deliveries, http_webhook_deliveries_pg).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_server as ts  # noqa: E402  (Server, Receiver, Hooks, problem assertions)


class DeliveriesByQuery(ts.ProblemAssertions):
    """On a server with the test clock and loopback receivers allowed, as ts.Webhooks."""

    @classmethod
    def setUpClass(cls):
        cls.rx = ts.Receiver()
        cls.s = ts.Server(env_extra={"BILLING_TEST_CLOCK": "1",
                                     "BILLING_WEBHOOK_ALLOW_HTTP": "1",
                                     "BILLING_WEBHOOK_ALLOW_PRIVATE": "1",
                                     "BILLING_WEBHOOK_TIMEOUT_MS": str(ts.HOOK_TIMEOUT_MS)}).start()

    @classmethod
    def tearDownClass(cls):
        logs = cls.s.logs()
        status = cls.s.stop()
        cls.rx.stop()
        if any(secret in logs for secret in ts.Webhooks.secrets):
            raise AssertionError("a signing secret is in the server's log")
        if status != 0:
            raise AssertionError("the server did not exit cleanly")

    def test_a_deleted_endpoints_deliveries_stay_listable(self):
        h = ts.Hooks(self.s, "Deleted endpoint")
        e = h.endpoint(self.rx, "deleted", events=["customer.created"])
        h.customer()
        h.advance(0)                          # delivered
        h.customer()                          # queued, then the endpoint goes
        self.assertEqual(h.req("DELETE", "/v1/webhook-endpoints/" + e["id"]).status, 204)
        h.advance(0)                          # the queued one dies without being sent
        self.assertEqual(len(self.rx.deliveries("deleted")), 1)
        self.assertProblem(h.req("GET", "/v1/webhook-endpoints/%s/deliveries" % e["id"]), 404)
        ds = h.ok("GET", "/v1/webhook-deliveries?endpointId=%s&limit=100" % e["id"])["data"]
        self.assertEqual(sorted(d["status"] for d in ds), ["dead", "succeeded"])
        self.assertTrue(all(d["endpointId"] == e["id"] for d in ds))
        [dead] = [d for d in ds if d["status"] == "dead"]
        self.assertEqual(dead["attempts"][-1]["error"], "endpoint_deleted")
        dead_only = h.ok("GET", "/v1/webhook-deliveries?endpointId=%s&status=dead"
                         % e["id"], token=h.user)["data"]
        self.assertEqual([d["id"] for d in dead_only], [dead["id"]])
        # Another tenant sees none of them, and its id names nothing there.
        other = ts.Hooks(self.s, "Other tenant")
        self.assertProblem(other.req("GET", "/v1/webhook-deliveries?endpointId=" + e["id"]),
                           400, field="endpointId")
        self.assertProblem(h.req("GET", "/v1/webhook-deliveries?endpointId="
                                 "we_01kgb7zk00zcz9gqmgm0g56ypn"), 400, field="endpointId")


if __name__ == "__main__":
    unittest.main()
