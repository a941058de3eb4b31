#!/usr/bin/env python3
"""HTTP suite for objects on the generic flow (issue #17): a billing object
described by a descriptor reaches the catalog, the server's routes, the
OpenAPI document and both bindings with no code of its own there. Tax rates
(txr_) are the first such object (API-HTTP.md, "Billing objects of the
second wave"):

- the catalog (billing_catalog_json, read through the Python binding) lists
  tax_rates with its path, its operations, their inputs and outputs, and
  the TaxRate shape;
- the OpenAPI document has /v1/tax-rates and /v1/tax-rates/{id} with exactly
  the methods of the operations the descriptor offers, a TaxRate schema
  field by field, and list answers whose items are TaxRates;
- over HTTP: POST/GET /v1/tax-rates, GET/PATCH /v1/tax-rates/{id}, and 405
  for DELETE (a tax rate is archived with active: false, never deleted);
  text normalized (trimmed, country upper-cased); percentage a decimal
  string out (<= 4 places, 0-100) and a string or a number in; percentage
  and inclusive fixed after creation (PATCH of them is 400 naming the
  field, changing nothing); bad input 400 naming the field, changing
  nothing; list filters, sort, search and pages; ETags and If-Match;
  Idempotency-Key (a retry differing only in surrounding spaces is a
  replay); events; roles (USER reads only); tenants never see each
  other's. Every answer is checked against the document
  (test_server.Server.request);
- the Python binding has principal.tax_rates.* and the Node binding
  principal.taxRates.*, with results of the catalog's TaxRate shape, and
  index.d.ts (made from the catalog) types them as TaxRate.

Reuses the server and tenants of test_server.py (its setUpModule), so it runs
on the backend BILLING_TEST_BACKEND names, like http_server. The bindings
load BILLING_LIBRARY and work on a SQLite file of their own.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import test_server as ts

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import billing  # noqa: E402  (bindings/python)


# The sanitize preset's library is built with ASan, which cannot be loaded
# into an uninstrumented python or node (the bindings' own suites are not
# registered there for the same reason): under it, the classes that load the
# library through a binding are skipped, and the release preset runs them.
SANITIZED = os.environ.get("BILLING_TEST_SANITIZED") == "1"
NEEDS_LIBRARY = unittest.skipIf(
    SANITIZED, "the ASan library cannot be loaded into python/node; the release preset runs this")


def setUpModule():
    ts.setUpModule()


def tearDownModule():
    ts.tearDownModule()


def admin(method, path, body=None, **kw):
    return ts.S.request(method, path, body, token=ts.T["admin_a"], **kw)


def user(method, path, body=None, **kw):
    return ts.S.request(method, path, body, token=ts.T["user_a"], **kw)


def new_rate(**fields):
    n = new_rate.counter = getattr(new_rate, "counter", 0) + 1
    body = {"displayName": "Rate %d" % n, "percentage": "19", "inclusive": False}
    body.update(fields)
    r = admin("POST", "/v1/tax-rates", body)
    assert r.status == 201, r.text
    return r.body


@NEEDS_LIBRARY
class Catalog(unittest.TestCase):
    """The catalog and the OpenAPI document describe tax rates."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="resources-")
        cls.b = billing.Billing("sqlite:" + os.path.join(cls.tmp, "catalog.db"))
        cls.catalog = cls.b.catalog

    @classmethod
    def tearDownClass(cls):
        cls.b.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def resource(self):
        found = [r for r in self.catalog["resources"] if r["plural"] == "tax_rates"]
        self.assertEqual(len(found), 1, self.catalog["resources"])
        return found[0]

    def test_the_catalog_lists_tax_rates_with_their_operations_and_shape(self):
        res = self.resource()
        self.assertEqual((res["name"], res["path"], res["title"]),
                         ("tax_rate", "tax-rates", "TaxRate"))
        ops = {o["name"]: o for o in self.catalog["operations"]}
        for verb in res["operations"]:
            op = ops["tax_rates." + verb]
            self.assertEqual(op["output"], {"kind": "page" if verb == "list" else "object",
                                            "shape": "Deleted" if verb == "delete" else "TaxRate"})
        create = {f["name"]: f for f in ops["tax_rates.create"]["input"]}
        self.assertTrue(create["displayName"]["required"])
        self.assertEqual(create["percentage"]["type"], "decimal")
        self.assertNotIn("id", create)
        self.assertIn("percentageFrom", {f["name"] for f in ops["tax_rates.list"]["input"]})
        shape = [s for s in self.catalog["shapes"] if s["name"] == "TaxRate"]
        self.assertEqual(len(shape), 1)
        fields = {f["name"]: f["type"] for f in shape[0]["fields"]}
        self.assertEqual(fields["object"], "'tax_rate'")
        self.assertEqual(fields["percentage"], "string")
        self.assertEqual(fields["inclusive"], "boolean")
        self.assertEqual(fields["region"], "string?")

    def test_the_openapi_document_has_the_routes_the_descriptor_offers(self):
        doc = ts.S.document()
        verbs = set(self.resource()["operations"])
        want_collection = {m for v, m in (("create", "post"), ("list", "get")) if v in verbs}
        want_item = {m for v, m in (("get", "get"), ("update", "patch"), ("delete", "delete"))
                     if v in verbs}
        self.assertEqual(set(doc["paths"]["/v1/tax-rates"]), want_collection)
        self.assertEqual(set(doc["paths"]["/v1/tax-rates/{id}"]), want_item)
        create = doc["paths"]["/v1/tax-rates"]["post"]
        self.assertEqual(create["operationId"], "tax_rates.create")
        self.assertEqual(create["tags"], ["taxRates"])
        self.assertEqual(create["responses"]["201"]["content"]["application/json"]["schema"],
                         {"$ref": "#/components/schemas/TaxRate"})
        items = (doc["paths"]["/v1/tax-rates"]["get"]["responses"]["200"]["content"]
                 ["application/json"]["schema"]["properties"]["data"]["items"])
        self.assertEqual(items, {"$ref": "#/components/schemas/TaxRate"})
        schema = doc["components"]["schemas"]["TaxRate"]
        self.assertFalse(schema["additionalProperties"])
        self.assertIn("percentage", schema["required"])
        self.assertEqual(schema["properties"]["object"], {"enum": ["tax_rate"]})
        names = {p.get("name") for p in doc["paths"]["/v1/tax-rates"]["get"]["parameters"]}
        self.assertTrue({"limit", "startingAfter", "country", "active", "percentageFrom"}
                        <= names, names)


class Http(ts.ProblemAssertions):
    """CRUD and the rules of tax rates through the routes the server made from the catalog."""

    def test_create_get_patch_list_over_the_generated_routes(self):
        r = admin("POST", "/v1/tax-rates", {"displayName": "VAT", "percentage": "19",
                                            "inclusive": False, "country": "DE"})
        self.assertEqual(r.status, 201, r.text)
        t = r.body
        self.assertTrue(t["id"].startswith("txr_"))
        self.assertEqual(r.header("Location"), "/v1/tax-rates/" + t["id"])
        self.assertEqual(r.header("ETag"), 'W/"1"')
        got = user("GET", "/v1/tax-rates/" + t["id"])
        self.assertEqual((got.status, got.body), (200, t))
        r = admin("PATCH", "/v1/tax-rates/" + t["id"], {"displayName": "MwSt"},
                  headers={"If-Match": 'W/"1"'})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.body["displayName"], r.body["version"]), ("MwSt", 2))
        self.assertEqual(r.header("ETag"), 'W/"2"')
        stale = admin("PATCH", "/v1/tax-rates/" + t["id"], {"displayName": "x"},
                      headers={"If-Match": 'W/"1"'})
        self.assertProblem(stale, 412)
        page = user("GET", "/v1/tax-rates?country=DE&percentageFrom=19&limit=10")
        self.assertEqual(page.status, 200, page.text)
        self.assertIn(t["id"], [x["id"] for x in page.body["data"]])
        none = user("GET", "/v1/tax-rates?percentageFrom=19.5")
        self.assertNotIn(t["id"], [x["id"] for x in none.body["data"]])

    def test_create_normalizes_and_shows_every_field(self):
        r = admin("POST", "/v1/tax-rates", {
            "displayName": "  VAT ", "percentage": "7.25", "inclusive": True,
            "country": "de", "region": "BY", "description": "reduced",
            "metadata": {"k": "v"}})
        self.assertEqual(r.status, 201, r.text)
        t = r.body
        self.assertTrue(t["id"].startswith("txr_"))
        self.assertEqual(t["object"], "tax_rate")
        self.assertEqual(t["displayName"], "VAT")
        self.assertEqual(t["percentage"], "7.25")
        self.assertIs(t["inclusive"], True)
        self.assertEqual(t["country"], "DE")
        self.assertEqual(t["region"], "BY")
        self.assertIs(t["active"], True)
        self.assertEqual(t["metadata"], {"k": "v"})
        self.assertEqual(t["version"], 1)

        g = admin("GET", "/v1/tax-rates/" + t["id"])
        self.assertEqual(g.status, 200, g.text)
        self.assertEqual(g.body, t)
        self.assertIsNotNone(g.header("ETag"))

        p = admin("PATCH", "/v1/tax-rates/" + t["id"], {"active": False, "description": None})
        self.assertEqual(p.status, 200, p.text)
        self.assertIs(p.body["active"], False)
        self.assertIsNone(p.body["description"])
        self.assertEqual(p.body["percentage"], "7.25")
        self.assertEqual(p.body["version"], 2)

        lst = admin("GET", "/v1/tax-rates?active=false&country=DE")
        self.assertEqual(lst.status, 200, lst.text)
        self.assertIn(t["id"], [x["id"] for x in lst.body["data"]])
        self.assertTrue(all(x["active"] is False for x in lst.body["data"]))

    def test_percentage_is_an_exact_decimal(self):
        for given, shown in (("19", "19"), ("7.2500", "7.25"), (7.5, "7.5"), (5, "5"),
                             ("0", "0"), ("100", "100"), ("0.0001", "0.0001")):
            t = new_rate(percentage=given)
            self.assertEqual(t["percentage"], shown, given)
        for bad in ("7.12345", "7.123456", "100.0001", "-1", "abc", 101, True, None):
            r = admin("POST", "/v1/tax-rates",
                      {"displayName": "Bad", "percentage": bad, "inclusive": False})
            self.assertProblem(r, 400, field="percentage")

    def test_bad_input_is_400_naming_the_field(self):
        cases = [
            ({"percentage": "19", "inclusive": False}, "displayName"),
            ({"percentage": "7"}, "displayName"),
            ({"displayName": "x" * 51, "percentage": "19", "inclusive": False}, "displayName"),
            ({"displayName": "VAT", "inclusive": False}, "percentage"),
            ({"displayName": "VAT", "percentage": "19"}, "inclusive"),
            ({"displayName": "VAT", "percentage": "19", "inclusive": False, "country": "XX"},
             "country"),
            ({"displayName": "VAT", "percentage": "19", "inclusive": False, "region": "BY"},
             "region"),
            ({"displayName": "VAT", "percentage": "19", "inclusive": False, "rate": 1}, "rate"),
            ({"displayName": "VAT", "percentage": "7", "inclusive": False, "nope": 1}, "nope"),
        ]
        before = len(admin("GET", "/v1/tax-rates?pageSize=100").body["data"])
        for body, field in cases:
            self.assertProblem(admin("POST", "/v1/tax-rates", body), 400, field=field)
        self.assertEqual(len(admin("GET", "/v1/tax-rates?pageSize=100").body["data"]), before)
        self.assertProblem(admin("GET", "/v1/tax-rates?nope=1"), 400, "unknown_parameter")
        self.assertProblem(admin("GET", "/v1/tax-rates/txr_nothing"), 404)

    def test_percentage_and_inclusive_are_fixed(self):
        t = new_rate()
        for body, field in (({"percentage": "5"}, "percentage"),
                            ({"inclusive": True}, "inclusive"),
                            ({"displayName": "Renamed", "percentage": "5"}, "percentage")):
            self.assertProblem(admin("PATCH", "/v1/tax-rates/" + t["id"], body), 400,
                               field=field)
        g = admin("GET", "/v1/tax-rates/" + t["id"]).body
        self.assertEqual(g["version"], 1)
        self.assertEqual(g["displayName"], t["displayName"])

    def test_delete_is_not_offered(self):
        t = new_rate(displayName="Old", percentage=5, inclusive=True)
        gone = admin("DELETE", "/v1/tax-rates/" + t["id"])
        self.assertEqual(gone.status, 405, gone.text)
        self.assertEqual(gone.header("Allow"), "GET, PATCH")
        self.assertEqual(admin("GET", "/v1/tax-rates/" + t["id"]).status, 200)

    def test_if_match_guards_against_lost_updates(self):
        t = new_rate()
        etag = admin("GET", "/v1/tax-rates/" + t["id"]).header("ETag")
        ok = admin("PATCH", "/v1/tax-rates/" + t["id"], {"displayName": "First"},
                   headers={"If-Match": etag})
        self.assertEqual(ok.status, 200, ok.text)
        stale = admin("PATCH", "/v1/tax-rates/" + t["id"], {"displayName": "Second"},
                      headers={"If-Match": etag})
        self.assertProblem(stale, 412)
        self.assertEqual(admin("GET", "/v1/tax-rates/" + t["id"]).body["displayName"], "First")

    def test_idempotent_create(self):
        body = {"displayName": "Idem", "percentage": "20", "inclusive": False}
        h = {"Idempotency-Key": "txr-http-1"}
        a = admin("POST", "/v1/tax-rates", body, headers=h)
        b = admin("POST", "/v1/tax-rates", body, headers=h)
        self.assertEqual(a.status, 201, a.text)
        self.assertEqual(b.body["id"], a.body["id"])
        self.assertEqual(b.header("Idempotent-Replayed"), "true")
        # Only the white space the server trims differs: the same request.
        spaced = admin("POST", "/v1/tax-rates", dict(body, displayName="  Idem "), headers=h)
        self.assertEqual(spaced.body["id"], a.body["id"])
        self.assertEqual(spaced.header("Idempotent-Replayed"), "true")
        other = dict(body, percentage="21")
        self.assertProblem(admin("POST", "/v1/tax-rates", other, headers=h), 409)

    def test_list_sort_search_and_pages(self):
        tag = "Sortable"
        for pct in ("3", "1", "2"):
            new_rate(displayName="%s %s" % (tag, pct), percentage=pct)
        r = admin("GET", "/v1/tax-rates?search=sortable&sortBy=percentage&order=desc")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([x["percentage"] for x in r.body["data"]], ["3", "2", "1"])
        p1 = admin("GET", "/v1/tax-rates?search=sortable&sortBy=percentage&pageSize=2")
        self.assertEqual(p1.body["total"], 3)
        self.assertTrue(p1.body["hasMore"])
        p2 = admin("GET", "/v1/tax-rates?search=sortable&sortBy=percentage&pageSize=2"
                   "&startingAfter=" + p1.body["nextCursor"])
        self.assertEqual([x["percentage"] for x in p1.body["data"] + p2.body["data"]],
                         ["1", "2", "3"])
        self.assertProblem(admin("GET", "/v1/tax-rates?sortBy=country"), 400, field="sortBy")

    def test_events_carry_the_tax_rate(self):
        t = new_rate(displayName="Evented")
        admin("PATCH", "/v1/tax-rates/" + t["id"], {"active": False})
        for typ in ("tax_rate.created", "tax_rate.updated"):
            r = admin("GET", "/v1/events?type=" + typ + "&pageSize=100")
            self.assertEqual(r.status, 200, r.text)
            self.assertIn(t["id"], [e.get("resourceId") or e["data"]["id"]
                                    for e in r.body["data"]])

    def test_user_reads_but_never_writes(self):
        t = new_rate()
        self.assertEqual(user("GET", "/v1/tax-rates/" + t["id"]).status, 200)
        self.assertEqual(user("GET", "/v1/tax-rates").status, 200)
        # Refused for the role, whether the input is good or bad.
        self.assertProblem(user("POST", "/v1/tax-rates", {"displayName": "VAT",
                                                          "percentage": "7", "inclusive": False}),
                           403)
        self.assertProblem(user("POST", "/v1/tax-rates", {"percentage": "x"}), 403)
        self.assertProblem(user("PATCH", "/v1/tax-rates/" + t["id"], {"active": False}), 403)

    def test_tenants_never_see_each_others(self):
        t = new_rate()
        b = ts.T["admin_b"]
        self.assertProblem(ts.S.request("GET", "/v1/tax-rates/" + t["id"], token=b), 404)
        self.assertProblem(ts.S.request("PATCH", "/v1/tax-rates/" + t["id"], {"active": False},
                                        token=b), 404)
        lst = ts.S.request("GET", "/v1/tax-rates?pageSize=100", token=b)
        self.assertNotIn(t["id"], [x["id"] for x in lst.body["data"]])


@NEEDS_LIBRARY
class Bindings(unittest.TestCase):
    """Both bindings call the operations with typed results, from the catalog alone."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="resources-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_python_has_tax_rates_methods_with_object_results(self):
        with billing.Billing("sqlite:" + os.path.join(self.tmp, "py.db")) as b:
            t = b.as_principal(role="PLATFORM").tenants.create(name="Py")
            acme = b.as_principal(tenant=t.id, role="ADMIN")
            rate = acme.tax_rates.create(display_name="VAT", percentage="19.5", inclusive=False,
                                         country="DE")
            self.assertEqual((rate.object, rate.percentage, rate.display_name),
                             ("tax_rate", "19.5", "VAT"))
            self.assertEqual(acme.tax_rates.get(rate.id).id, rate.id)
            self.assertEqual(acme.tax_rates.update(rate.id, display_name="MwSt").version, 2)
            self.assertEqual([x.id for x in acme.tax_rates.list(country="DE")], [rate.id])
            with self.assertRaises(billing.InvalidArgument) as e:
                acme.tax_rates.create(display_name="VAT", percentage="x", inclusive=False)
            self.assertEqual(e.exception.field, "percentage")

    def test_node_has_tax_rates_methods_typed_as_tax_rate(self):
        node = shutil.which("node")
        self.assertIsNotNone(node, "node is needed (scripts/deps.sh installs it)")
        pkg = os.path.join(ROOT, "bindings", "node")
        script = """
const { Billing } = require(%(pkg)s);
const { render } = require(%(pkg)s + '/scripts/generate-types');
const { shapesOf, checkShape } = require(%(pkg)s + '/scripts/resources');
(async () => {
  const b = new Billing('sqlite:' + %(db)s);
  const t = await b.asPrincipal({ role: 'PLATFORM' }).tenants.create({ name: 'Node' });
  const acme = b.asPrincipal({ tenant: t.id, role: 'ADMIN' });
  const rate = await acme.taxRates.create({ displayName: 'VAT', percentage: 7.25,
    inclusive: true });
  const got = await acme.taxRates.get(rate.id);
  const all = await acme.taxRates.list({ inclusive: true }).toArray();
  const shapes = shapesOf(b.catalog);
  const dts = render(b.catalog);
  console.log(JSON.stringify({
    id: got.id, percentage: got.percentage, listed: all.map((x) => x.id),
    problems: checkShape(shapes, got, 'TaxRate'),
    iface: /export interface TaxRate \\{/.test(dts),
    typed: /get\\(id: string\\): Promise<TaxRate>;/.test(dts) &&
      /readonly taxRates: TaxRatesOperations;/.test(dts),
  }));
  await b.close();
})().catch((e) => { console.error(e); process.exit(1); });
""" % {"pkg": json.dumps(pkg), "db": json.dumps(os.path.join(self.tmp, "node.db"))}
        out = subprocess.run([node, "-e", script], cwd=pkg, capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        r = json.loads(out.stdout.decode().strip().splitlines()[-1])
        self.assertEqual(r["percentage"], "7.25")
        self.assertEqual(r["listed"], [r["id"]])
        self.assertEqual(r["problems"], [])
        self.assertTrue(r["iface"] and r["typed"], r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
