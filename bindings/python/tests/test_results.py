"""Results read like Python objects: attributes with snake_case names (nested
objects and lists too), the wire's dict kept (camelCase keys, and the
snake_case ones accepted by []), equality by content, a readable repr, and
JSON through to_dict()."""
import copy
import decimal
import json
import pickle
import unittest

import support
from billing import Result
from billing.client import camel_case, snake_case


class Names(unittest.TestCase):

    def test_camel_case_inverts_snake_case(self):
        for wire in ("id", "amountDue", "latestInvoiceId", "defaultPaymentMethod", "taxRate"):
            self.assertEqual(camel_case(snake_case(wire)), wire)

    def test_a_result_built_by_hand_reads_the_same(self):
        r = Result({"amountDue": 5, "lines": []})
        self.assertEqual((r.amount_due, r["amount_due"], r["amountDue"]), (5, 5, 5))
        with self.assertRaises(AttributeError):
            r.amount_paid
        with self.assertRaises(KeyError):
            r["amount_paid"]
        self.assertEqual(r.get("amount_paid", "none"), "none")
        self.assertNotIn("amount_paid", r)


class Results(support.BackendCase):

    @classmethod
    def setUpClass(cls):
        cls.open_options = {"provider": "test"}
        super().setUpClass()
        cls.t, cls.acme = cls.new_tenant(name="Results")
        acme = cls.acme
        cls.ada = acme.customers.create(name="Ada", email="ada@example.com",
                                        default_payment_method="pm_card_visa",
                                        metadata={"plan_tier": "gold"})
        cls.pro = acme.products.create(name="Pro", sku="pro", tax_rate="0.2")
        cls.plan = acme.plans.create(product_id=cls.pro.id, code="PRO_M", name="Pro monthly",
                                     amount=2900, currency="EUR", interval="MONTH")
        cls.sub = acme.subscriptions.create(customer_id=cls.ada.id, plan_id=cls.plan.id)
        cls.inv = acme.invoices.get(cls.sub.latest_invoice_id)

    def test_fields_are_attributes_with_snake_case_names(self):
        ada, inv = self.ada, self.inv
        self.assertTrue(ada.id.startswith("cus_"))
        self.assertEqual((ada.email, ada.default_payment_method, ada.version),
                         ("ada@example.com", "pm_card_visa", 1))
        self.assertEqual(inv.status, "paid")
        self.assertEqual((inv.subtotal, inv.tax, inv.total, inv.amount_paid, inv.amount_due),
                         (2900, 580, 3480, 3480, 0))
        self.assertIsNone(inv.voided_at)
        self.assertEqual(self.sub.customer_id, ada.id)

    def test_nested_objects_and_lists_are_results_too(self):
        line = self.inv.lines[0]
        self.assertIsInstance(line, Result)
        self.assertEqual((line.unit_amount, line.tax_amount, line.plan_id),
                         (2900, 580, self.plan.id))
        self.assertEqual(line.tax_rate, decimal.Decimal("0.2"))
        emails = [c.email for c in self.acme.customers.list(limit=1)]
        self.assertEqual(emails, ["ada@example.com"])
        page = self.acme.customers.list.page(limit=10)
        self.assertEqual((page.has_more, page.next_cursor, page.data[0].id),
                         (False, None, self.ada.id))
        event = next(iter(self.acme.events.list(type="customer.created")))
        self.assertEqual((event.resource_id, event.data.email), (self.ada.id, "ada@example.com"))

    def test_metadata_stays_a_plain_dict_of_the_callers_keys(self):
        md = self.ada.metadata
        self.assertIs(type(md), dict)
        self.assertEqual(md, {"plan_tier": "gold"})

    def test_dict_access_takes_the_wire_and_the_python_names(self):
        inv = self.inv
        self.assertEqual(inv["amountDue"], inv["amount_due"])
        self.assertEqual(inv.get("amount_paid"), 3480)
        self.assertIn("amount_due", inv)
        self.assertIn("amountDue", inv)
        # Keys, iteration and json see the wire's names only.
        self.assertIn("amountDue", list(inv))
        self.assertNotIn("amount_due", list(inv.keys()))
        self.assertIsNone(inv.get("no_such_field"))

    def test_an_unknown_name_is_an_attribute_error_naming_the_fields(self):
        with self.assertRaises(AttributeError) as cm:
            self.ada.emial
        self.assertIn("emial", str(cm.exception))
        self.assertIn("email", str(cm.exception))
        self.assertFalse(hasattr(self.ada, "amount_due"))
        with self.assertRaises(KeyError):
            self.ada["emial"]

    def test_attributes_are_read_only_the_dict_is_not(self):
        c = copy.deepcopy(self.ada)
        with self.assertRaises(AttributeError):
            c.email = "bo@example.com"
        c["email"] = "bo@example.com"
        self.assertEqual((c.email, self.ada.email), ("bo@example.com", "ada@example.com"))

    def test_equality_is_by_content(self):
        again = self.acme.customers.get(self.ada.id)
        self.assertIsNot(again, self.ada)
        self.assertEqual(again, self.ada)
        self.assertEqual(again, json.loads(json.dumps(self.ada)))
        self.assertNotEqual(again, self.acme.customers.update(self.ada.id, name="Ada L."))
        gone = self.acme.customers.create(name="Gone", email="gone@example.com")
        self.assertEqual(self.acme.customers.delete(gone.id), {"id": gone.id, "deleted": True})

    def test_repr_names_the_resource_and_its_fields(self):
        r = repr(self.ada)
        self.assertTrue(r.startswith("Customer(id='cus_"), r)
        self.assertIn("email='ada@example.com'", r)
        self.assertIn("default_payment_method='pm_card_visa'", r)
        self.assertNotIn("object=", r)
        self.assertIn("lines=[Result(description='Pro monthly'", repr(self.inv))
        self.assertTrue(repr(self.acme.customers.list.page()).startswith("Page(data=[Customer("))
        self.assertIn("amount_due", dir(self.inv))

    def test_json_serialisable(self):
        # Directly, for a resource without decimals.
        self.assertEqual(json.loads(json.dumps(self.ada)), dict(self.ada))
        # to_dict(): plain data, decimals as exact strings, wire names.
        d = self.inv.to_dict()
        self.assertIs(type(d), dict)
        self.assertIs(type(d["lines"][0]), dict)
        self.assertEqual(d["lines"][0]["taxRate"], "0.2")
        self.assertEqual(d["amountDue"], 0)
        back = json.loads(json.dumps(d))
        self.assertEqual(back["number"], self.inv.number)
        self.assertEqual(json.loads(json.dumps(self.pro.to_dict()))["taxRate"], "0.2")
        # A decimal string from to_dict() is valid input again.
        p = self.acme.products.update(self.pro.id, tax_rate=self.pro.to_dict()["taxRate"])
        self.assertEqual(p.tax_rate, decimal.Decimal("0.2"))

    def test_copies_and_pickles_keep_the_content(self):
        self.assertEqual(copy.deepcopy(self.inv), self.inv)
        self.assertEqual(pickle.loads(pickle.dumps(self.inv)), self.inv)
        self.assertEqual(copy.copy(self.ada).email, "ada@example.com")

    def test_replayed_and_run_reports_read_the_same_way(self):
        first = self.acme.customers.create(name="Bo", email="bo@example.com",
                                           idempotency_key="results-bo")
        again = self.acme.customers.create(name="Bo", email="bo@example.com",
                                           idempotency_key="results-bo")
        self.assertEqual((first.replayed, again.replayed), (False, True))
        self.assertEqual(again, first)
        report = self.b.run_due()
        self.assertEqual(report.processed, report["processed"])


support.for_each_backend(globals(), Results)

if __name__ == "__main__":
    unittest.main()
