"""The Python binding end to end over the real library: the generated
methods, every operation family of the catalog, errors, pages, idempotency,
tenant isolation, threads and close().

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
import datetime
import decimal
import inspect
import threading
import time
import unittest

import support
from support import billing
from billing import client as billing_client

B = billing


# ---------------------------------------------------------- generation


class GeneratedMethods(support.BackendCase):

    def test_every_catalog_operation_has_a_method_with_its_inputs(self):
        _, acme = self.new_tenant("Gen")
        self.assertGreater(len(self.b.catalog["operations"]), 20)
        for entry in self.b.catalog["operations"]:
            obj = acme
            for part in entry["name"].split("."):
                obj = getattr(obj, billing_client.snake_case(part))
            params = inspect.signature(obj).parameters
            want = {billing_client.snake_case(f["name"]) for f in entry["input"]}
            if entry["mutating"]:
                want.add("idempotency_key")
            self.assertEqual(set(params), want, entry["name"])
            for f in entry["input"]:
                p = params[billing_client.snake_case(f["name"])]
                self.assertEqual(p.default is inspect.Parameter.empty, f["required"], f["name"])
            self.assertIn(entry["description"], obj.__doc__)

    def test_every_operation_answers_through_its_method(self):
        # Whatever the catalog holds (payments and the rest will appear
        # later), each generated method reaches the library and comes back
        # with a result or a BillingError, never a binding error.
        _, acme = self.new_tenant("Reach")
        scalars = {"string": "x_none", "integer": 1, "boolean": False, "object": {},
                   "decimal": "0"}

        def dummy(t):  # "integer[]" and any later array type: an empty array
            return [] if t.endswith("[]") else scalars.get(t, "x")
        for entry in self.b.catalog["operations"]:
            who = acme if "ADMIN" in entry["roles"] else self.platform
            method = who
            for part in entry["name"].split("."):
                method = getattr(method, billing_client.snake_case(part))
            args = {billing_client.snake_case(f["name"]): dummy(f["type"])
                    for f in entry["input"] if f["required"]}
            try:
                result = method(**args)
                if isinstance(result, B.Pager):
                    result = list(result)
                self.assertIsInstance(result, (dict, list), entry["name"])
            except B.BillingError as e:
                self.assertIsInstance(e.status, int, entry["name"])
                self.assertTrue(e.message, entry["name"])

    def test_a_new_operation_is_generated_from_its_entry_alone(self):
        op = billing_client.Operation({
            "name": "payments.refund_partially", "mutating": True, "roles": ["ADMIN"],
            "description": "Refund part of a payment.",
            "input": [{"name": "id", "type": "string", "required": True},
                      {"name": "amountCents", "type": "integer", "required": False},
                      {"name": "reasonCode", "type": "string", "required": False}]})
        self.assertEqual(op.path, ["payments", "refund_partially"])
        data, key = op.bind(("pay_1",), {"amount_cents": 5, "reason_code": None,
                                         "idempotency_key": "k"})
        self.assertEqual(data, {"id": "pay_1", "amountCents": 5, "reasonCode": None})
        self.assertEqual(key, "k")
        data, _ = op.bind((), {"id": "pay_1", "amount_cents": B.UNSET})
        self.assertEqual(data, {"id": "pay_1"})  # unset: left out, not null
        with self.assertRaises(TypeError):
            op.bind((), {"amountCents": 5, "id": "p"})  # the camelCase name is not the kwarg
        with self.assertRaises(TypeError):
            op.bind((), {"amount_cents": 5})  # id is required
        with self.assertRaises(TypeError):
            op.bind(("a", "b"), {})

    def test_wrong_arguments_are_type_errors_before_the_call(self):
        _, acme = self.new_tenant("Args")
        with self.assertRaises(TypeError):
            acme.customers.create(nmae="typo")
        with self.assertRaises(TypeError):
            acme.customers.get()
        with self.assertRaises(TypeError):
            acme.customers.list(idempotency_key="k")  # reads take no key
        with self.assertRaises(ValueError):
            self.b.as_principal(tenant="t", role="OWNER")


# ---------------------------------------------------------- families


class Tenants(support.BackendCase):

    def test_platform_creates_lists_and_gets_tenants(self):
        a = self.platform.tenants.create(name="Alpha", invoice_prefix="ALP-")
        self.assertTrue(a["id"].startswith("ten_"))
        self.assertEqual(a["invoicePrefix"], "ALP-")
        self.platform.tenants.create(name="Beta")
        ids = [t["id"] for t in self.platform.tenants.list(limit=1)]
        self.assertIn(a["id"], ids)
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(self.platform.tenants.get(a["id"])["name"], "Alpha")

    def test_a_tenant_admin_reads_its_own_tenant_only(self):
        t, acme = self.new_tenant("Own")
        other, _ = self.new_tenant("Other")
        self.assertEqual(acme.tenants.get(t["id"])["id"], t["id"])
        with self.assertRaises(B.NotFound):
            acme.tenants.get(other["id"])
        with self.assertRaises(B.Forbidden):
            acme.tenants.create(name="Nope")
        with self.assertRaises(B.Forbidden):
            list(acme.tenants.list())


class Customers(support.BackendCase):

    def test_create_get_update_delete(self):
        _, acme = self.new_tenant()
        c = acme.customers.create(name="Ada", email="ada@example.com",
                                  default_payment_method="pm_card_visa",
                                  metadata={"plan": "gold"})
        self.assertEqual(c["object"], "customer")
        self.assertEqual(c["metadata"], {"plan": "gold"})
        self.assertEqual(acme.customers.get(c["id"]), c)
        u = acme.customers.update(c["id"], name="Ada L.", default_payment_method=None,
                                  expected_version=c["version"])
        self.assertEqual((u["name"], u["email"], u["version"]), ("Ada L.", "ada@example.com", 2))
        self.assertIsNone(u["defaultPaymentMethod"])  # None is JSON null: cleared
        with self.assertRaises(B.Stale) as cm:
            acme.customers.update(c["id"], name="Old", expected_version=1)
        self.assertIsInstance(cm.exception, B.Conflict)
        d = acme.customers.delete(c["id"], expected_version=2)
        self.assertEqual(d, {"id": c["id"], "deleted": True})
        with self.assertRaises(B.NotFound):
            acme.customers.get(c["id"])

    def test_tax_exempt_and_tax_ids(self):
        _, acme = self.new_tenant()
        c = acme.customers.create(name="Muster GmbH", email="ap@muster.example",
                                  tax_exempt="reverse",
                                  tax_ids=[{"type": "eu_vat", "value": "de 123.456.789"}])
        self.assertEqual((c["taxExempt"], c["taxIds"]),
                         ("reverse", [{"type": "eu_vat", "value": "DE123456789"}]))
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.customers.update(c["id"], tax_ids=[{"type": "gb_vat", "value": "GB1"}])
        self.assertEqual(cm.exception.field, "taxIds[0].value")
        self.assertEqual(acme.customers.get(c["id"]), c)

    def test_a_user_reads_but_does_not_write(self):
        t, acme = self.new_tenant("Roles")
        c = acme.customers.create(name="Ada", email="ada@example.com")
        reader = self.b.as_principal(tenant=t["id"], role="USER", user="usr_reader")
        self.assertEqual(reader.customers.get(c["id"])["id"], c["id"])
        self.assertEqual([x["id"] for x in reader.customers.list()], [c["id"]])
        with self.assertRaises(B.Forbidden) as cm:
            reader.customers.create(name="Eve", email="eve@example.com")
        self.assertEqual(cm.exception.name, "BILLING_EFORBIDDEN")


class Products(support.BackendCase):

    def test_decimal_tax_rates_round_trip_exactly(self):
        _, acme = self.new_tenant()
        p = acme.products.create(name="Widget", sku="W-1", price_cents=1999, currency="EUR",
                                 tax_rate=decimal.Decimal("0.0825"), stock=5)
        self.assertEqual(p["taxRate"], decimal.Decimal("0.0825"))
        self.assertIsInstance(p["taxRate"], decimal.Decimal)
        p2 = acme.products.update(p["id"], tax_rate="0.19", is_active=False,
                                  description="blue")
        self.assertEqual(p2["taxRate"], decimal.Decimal("0.19"))
        self.assertEqual((p2["isActive"], p2["description"]), (False, "blue"))
        acme.products.create(name="Gadget", sku="G-1", price_cents=500)
        active = [x["sku"] for x in acme.products.list(is_active=True)]
        self.assertEqual(active, ["G-1"])
        cheap = [x["sku"] for x in acme.products.list(max_price_cents=1000)]
        self.assertEqual(cheap, ["G-1"])
        self.assertTrue(acme.products.delete(p["id"])["deleted"])
        self.assertEqual(len(list(acme.products.list())), 1)


class Coupons(support.BackendCase):

    def test_coupons_and_promotion_codes_through_the_generated_methods(self):
        _, acme = self.new_tenant()
        c = acme.coupons.create(percent_off=decimal.Decimal("25.5"), duration="repeating",
                                duration_in_periods=3)
        self.assertEqual((c["object"], c["percentOff"], c["amountOff"], c["timesRedeemed"]),
                         ("coupon", decimal.Decimal("25.5"), None, 0))
        with self.assertRaises(billing.BillingError) as cm:
            acme.coupons.create(amount_off=500)
        self.assertEqual(cm.exception.field, "currency")
        p = acme.promotion_codes.create(code="Spring25", coupon_id=c["id"])
        self.assertEqual((p["code"], p["active"], p["couponId"]), ("Spring25", True, c["id"]))
        with self.assertRaises(billing.BillingError) as cm:
            acme.promotion_codes.create(code="SPRING25", coupon_id=c["id"])
        self.assertEqual(cm.exception.field, "code")
        self.assertTrue(acme.coupons.delete(c["id"])["deleted"])
        self.assertEqual(list(acme.coupons.list()), [])


class PaymentMethods(support.BackendCase):
    open_options = {"provider": "test"}

    def test_stored_payment_methods_through_the_generated_methods(self):
        _, acme = self.new_tenant()
        cus = acme.customers.create(name="Ada", email="ada@pm.test")
        si = acme.setup_intents.create(customer_id=cus["id"])
        self.assertTrue(si["clientSecret"].startswith(si["id"] + "_secret_"))
        pm = acme.payment_methods.create(customer_id=cus["id"],
                                         provider_payment_method_id="pm_card_visa")
        self.assertTrue(pm["id"].startswith("cpm_"))
        self.assertEqual(pm["card"], {"brand": "visa", "last4": "4242", "expMonth": 12,
                                      "expYear": 2099})
        self.assertEqual([x["id"] for x in acme.payment_methods.list(customer_id=cus["id"])],
                         [pm["id"]])
        self.assertEqual(acme.payment_methods.get(pm["id"]), pm)
        c = acme.customers.update(cus["id"], default_payment_method=pm["id"])
        self.assertEqual(c["defaultPaymentMethod"], "pm_card_visa")
        with self.assertRaises(B.Conflict) as cm:
            acme.payment_methods.delete(pm["id"])
        self.assertEqual(cm.exception.code, "payment_method_is_default")
        acme.customers.update(cus["id"], default_payment_method=None)
        self.assertTrue(acme.payment_methods.delete(pm["id"])["deleted"])

    def test_without_a_provider_it_is_a_conflict(self):
        with self.db.open() as b:
            t = b.as_principal(role="PLATFORM").tenants.create(name="NoPM")
            acme = b.as_principal(tenant=t["id"], role="ADMIN")
            c = acme.customers.create(name="C", email="c@pm.test")
            with self.assertRaises(B.Conflict) as cm:
                acme.payment_methods.create(customer_id=c["id"],
                                            provider_payment_method_id="pm_card_visa")
            self.assertEqual(cm.exception.code, "no_provider")


class Plans(support.BackendCase):

    def test_plans_and_their_rules(self):
        _, acme = self.new_tenant()
        prod = acme.products.create(name="Pro", sku="pro")
        m = acme.plans.create(product_id=prod["id"], code="PRO_M", name="Pro monthly",
                              amount=2900, currency="EUR", interval="MONTH", trial_days=14)
        self.assertEqual((m["interval"], m["trialDays"], m["active"]), ("MONTH", 14, True))
        m = acme.plans.update(m["id"], description="the monthly one")
        self.assertEqual(m["description"], "the monthly one")
        self.assertEqual(acme.plans.get(m["id"])["version"], 2)
        y = acme.plans.create(product_id=prod["id"], code="PRO_Y", name="Pro yearly",
                              amount=29000, currency="EUR", interval="YEAR", active=False)
        self.assertEqual([p["code"] for p in acme.plans.list(active=True)], ["PRO_M"])
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.plans.create(product_id=prod["id"], code="x", name="Bad", amount=1,
                              currency="EUR", interval="MONTH")
        self.assertEqual(cm.exception.field, "code")
        self.assertTrue(acme.plans.delete(y["id"])["deleted"])


class SubscriptionsInvoicesEvents(support.BackendCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _, cls.acme = cls.new_tenant()
        a = cls.acme
        cls.prod = a.products.create(name="Pro", sku="pro", tax_rate="0.2")
        cls.monthly = a.plans.create(product_id=cls.prod["id"], code="PRO_M", name="Pro monthly",
                                     amount=2900, currency="EUR", interval="MONTH")
        cls.yearly = a.plans.create(product_id=cls.prod["id"], code="PRO_Y", name="Pro yearly",
                                    amount=29000, currency="EUR", interval="YEAR")

    def test_the_life_of_a_subscription(self):
        a = self.acme
        ada = a.customers.create(name="Ada", email="ada@example.com")
        s = a.subscriptions.create(customer_id=ada["id"], plan_id=self.monthly["id"],
                                   metadata={"source": "python"})
        self.assertEqual((s["status"], s["planId"]), ("active", self.monthly["id"]))
        self.assertEqual(a.subscriptions.get(s["id"])["id"], s["id"])
        self.assertEqual([x["id"] for x in a.subscriptions.list(customer_id=ada["id"])], [s["id"]])

        first = a.invoices.get(s["latestInvoiceId"])
        self.assertEqual((first["status"], first["subtotal"], first["tax"]), ("pending", 2900, 580))
        preview = a.invoices.preview(subscription_id=s["id"])
        self.assertEqual((preview["status"], preview["periodStart"]), ("draft", s["currentPeriodEnd"]))

        s = a.subscriptions.update(s["id"], quantity=2)
        self.assertEqual(s["quantity"], 2)
        s = a.subscriptions.change_plan(s["id"], plan_id=self.yearly["id"])
        self.assertEqual(s["planId"], self.yearly["id"])
        self.assertEqual(a.subscriptions.pause(s["id"])["status"], "paused")
        self.assertEqual(a.subscriptions.resume(s["id"])["status"], "active")
        s = a.subscriptions.cancel(s["id"], at_period_end=True)
        self.assertTrue(s["cancelAtPeriodEnd"])

        invoices = list(a.invoices.list(subscription_id=s["id"]))
        self.assertGreaterEqual(len(invoices), 2)
        voided = a.invoices.void(invoices[0]["id"])
        self.assertEqual(voided["status"], "void")
        with self.assertRaises(B.Conflict):
            a.invoices.void(invoices[0]["id"])

        types = [e["type"] for e in a.events.list(limit=100)]
        for t in ("customer.created", "subscription.created", "invoice.finalized",
                  "subscription.paused", "subscription.resumed", "invoice.voided"):
            self.assertIn(t, types)
        e = next(iter(a.events.list(type="invoice.voided")))
        self.assertEqual(a.events.get(e["id"])["resourceId"], invoices[0]["id"])

    def test_the_billing_run_renews_what_is_due(self):
        a = self.acme
        bob = a.customers.create(name="Bob", email="bob@example.com")
        s = a.subscriptions.create(customer_id=bob["id"], plan_id=self.monthly["id"])
        end = datetime.datetime.strptime(s["currentPeriodEnd"], "%Y-%m-%dT%H:%M:%SZ")
        end = end.replace(tzinfo=datetime.timezone.utc)
        report = self.b.run_due(now=end + datetime.timedelta(hours=1))
        self.assertGreaterEqual(report["invoiced"], 1)
        self.assertEqual(report["failed"], 0)
        after = a.subscriptions.get(s["id"])
        self.assertEqual(after["currentPeriodStart"], s["currentPeriodEnd"])
        self.assertEqual(len(list(a.invoices.list(subscription_id=s["id"]))), 2)
        with self.assertRaises(B.InvalidArgument):  # the clock may not go back
            self.b.run_due(now=end - datetime.timedelta(days=1))

    def test_the_billing_run_takes_workers(self):
        a = self.acme
        subs = []
        for i in range(6):
            c = a.customers.create(name="W%d" % i, email="w%d@example.com" % i)
            subs.append(a.subscriptions.create(customer_id=c["id"], plan_id=self.monthly["id"]))
        end = datetime.datetime.strptime(subs[0]["currentPeriodEnd"], "%Y-%m-%dT%H:%M:%SZ")
        end = end.replace(tzinfo=datetime.timezone.utc)
        with self.assertRaises(B.InvalidArgument) as caught:  # more than 64 threads
            self.b.run_due(now=end + datetime.timedelta(hours=2), workers=65)
        self.assertEqual(caught.exception.field, "workers")
        report = self.b.run_due(now=end + datetime.timedelta(hours=2), workers=3)
        self.assertEqual(report["failed"], 0)
        for s in subs:
            self.assertEqual(len(list(a.invoices.list(subscription_id=s["id"]))), 2)


class PaymentsAndDunning(support.BackendCase):
    open_options = {"provider": "test"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _, cls.acme = cls.new_tenant()
        prod = cls.acme.products.create(name="Pro", sku="pro")
        cls.plan = cls.acme.plans.create(product_id=prod["id"], code="PRO_M", name="Pro monthly",
                                         amount=2900, currency="EUR", interval="MONTH")

    def subscribe(self, email, card):
        c = self.acme.customers.create(name="C", email=email, default_payment_method=card)
        return self.acme.subscriptions.create(customer_id=c["id"], plan_id=self.plan["id"])

    def test_invoices_are_collected_paid_and_refunded(self):
        a = self.acme
        s = self.subscribe("ada@example.com", "pm_card_visa")
        inv = a.invoices.get(s["latestInvoiceId"])
        self.assertEqual((inv["status"], inv["amountPaid"]), ("paid", 2900))
        [pay] = list(a.payments.list(invoice_id=inv["id"]))
        self.assertEqual((pay["status"], pay["provider"], pay["amount"]), ("succeeded", "test", 2900))
        self.assertEqual(a.payments.get(pay["id"])["id"], pay["id"])
        refunded = a.payments.refund(pay["id"], amount=900, idempotency_key="refund-1")
        self.assertEqual((refunded["status"], refunded["refundedAmount"]),
                         ("partially_refunded", 900))
        again = a.payments.refund(pay["id"], amount=900, idempotency_key="refund-1")
        self.assertTrue(again.replayed)
        self.assertEqual(a.payments.get(pay["id"])["refundedAmount"], 900)

    def test_a_declined_card_is_a_typed_error_with_the_provider_code(self):
        a = self.acme
        s = self.subscribe("dee@example.com", "pm_card_chargeDeclined")
        self.assertEqual(s["status"], "past_due")
        inv = a.invoices.get(s["latestInvoiceId"])
        with self.assertRaises(B.Declined) as cm:
            a.invoices.pay(inv["id"])
        self.assertEqual(cm.exception.provider_code, "card_declined")
        paid = a.invoices.pay(inv["id"], payment_method="pm_card_visa")
        self.assertEqual(paid["status"], "succeeded")
        self.assertEqual(a.invoices.get(inv["id"])["status"], "paid")
        failed = [p["status"] for p in a.payments.list(invoice_id=inv["id"], status="failed")]
        self.assertEqual(failed, ["failed", "failed"])

    def test_the_dunning_policy(self):
        a = self.acme
        self.assertEqual(a.dunning.get()["finalAction"], "cancel")
        d = a.dunning.set(retry_days=[1, 3, 7], final_action="keep_past_due")
        self.assertEqual((d["retryDays"], d["finalAction"]), ([1, 3, 7], "keep_past_due"))
        self.assertEqual(a.dunning.get(), d)
        with self.assertRaises(B.InvalidArgument) as cm:
            a.dunning.set(retry_days=[3, 1])
        self.assertEqual(cm.exception.field, "retryDays")

    def test_without_a_provider_paying_is_a_conflict(self):
        with self.db.open() as b:
            t = b.as_principal(role="PLATFORM").tenants.create(name="NoPay")
            acme = b.as_principal(tenant=t["id"], role="ADMIN")
            prod = acme.products.create(name="P", sku="p")
            plan = acme.plans.create(product_id=prod["id"], code="P_M", name="Plan P", amount=100,
                                     currency="EUR", interval="MONTH")
            c = acme.customers.create(name="C", email="c@example.com",
                                      default_payment_method="pm_card_visa")
            s = acme.subscriptions.create(customer_id=c["id"], plan_id=plan["id"])
            with self.assertRaises(B.Conflict) as cm:
                acme.invoices.pay(s["latestInvoiceId"])
            self.assertEqual(cm.exception.code, "no_provider")
        with self.assertRaises(ValueError):
            self.db.open(provider="stripe")


# ---------------------------------------------------------- behaviours


class Errors(support.BackendCase):

    def test_validation_errors_carry_every_field(self):
        _, acme = self.new_tenant()
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.customers.create(name="", email="not-an-address")
        e = cm.exception
        self.assertEqual((e.status, e.name, e.code, e.field), (-4, "BILLING_EINVALID", "invalid", "name"))
        self.assertEqual([x["field"] for x in e.errors], ["name", "email"])
        self.assertIn("name must not be blank", e.message)
        self.assertIn("(field name)", str(e))

    def test_wrong_json_types_name_the_field(self):
        _, acme = self.new_tenant()
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.customers.create(name=5, email="a@example.com")
        self.assertEqual(cm.exception.field, "name")
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.call("customers.create", {"name": "A", "email": "a@example.com", "nick": "x"})
        self.assertEqual(cm.exception.field, "nick")

    def test_each_status_has_its_class(self):
        _, acme = self.new_tenant()
        acme.customers.create(name="Ada", email="ada@example.com")
        with self.assertRaises(B.AlreadyExists) as cm:
            acme.customers.create(name="Ada 2", email="ADA@example.com")
        self.assertEqual((cm.exception.field, cm.exception.status), ("email", -3))
        self.assertIsInstance(cm.exception, B.Conflict)
        with self.assertRaises(B.NotFound) as cm:
            acme.customers.get("cus_does_not_exist")
        self.assertEqual(cm.exception.code, "not_found")
        with self.assertRaises(B.NotFound) as cm:
            acme.call("customers.frobnicate")
        self.assertEqual(cm.exception.code, "unknown_operation")
        with self.assertRaises(B.Forbidden):
            self.platform.customers.list().__iter__().__next__()
        for name, cls in billing.errors.BY_NAME.items():
            self.assertTrue(issubclass(cls, B.BillingError), name)

    def test_opening_fails_with_a_typed_error(self):
        with self.assertRaises(B.InvalidArgument):
            B.Billing("mysql://nowhere")
        with self.assertRaises(OSError):
            B.Billing("sqlite::memory:", library="/nonexistent/libbilling.so")


class Pagination(support.BackendCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _, cls.acme = cls.new_tenant()
        cls.ids = [cls.acme.customers.create(name="C%02d" % i, email="c%02d@example.com" % i)["id"]
                   for i in range(45)]

    def test_iteration_walks_every_keyset_page(self):
        pager = self.acme.customers.list(limit=10)
        self.assertEqual([c["id"] for c in pager], self.ids)
        pages = list(pager.pages())
        self.assertEqual([len(p["data"]) for p in pages], [10, 10, 10, 10, 5])
        self.assertTrue(all(p["nextCursor"] for p in pages[:-1]))
        self.assertFalse(pages[-1]["hasMore"])
        # Walks again from the start: a pager is reusable.
        self.assertEqual(len(list(pager)), 45)

    def test_one_page_at_a_time(self):
        p1 = self.acme.customers.list.page(limit=20)
        self.assertEqual([c["id"] for c in p1["data"]], self.ids[:20])
        self.assertTrue(p1["hasMore"])
        p2 = self.acme.customers.list.page(limit=20, starting_after=p1["nextCursor"])
        self.assertEqual([c["id"] for c in p2["data"]], self.ids[20:40])
        rest = self.acme.customers.list(limit=20, starting_after=p2["nextCursor"])
        self.assertEqual([c["id"] for c in rest], self.ids[40:])

    def test_page_mode_walks_numbered_pages(self):
        p = self.acme.customers.list.page(limit=10, page=2)
        self.assertEqual((p["total"], p["page"], p["totalPages"]), (45, 2, 5))
        self.assertEqual([c["id"] for c in self.acme.customers.list(limit=10, page=1)], self.ids)

    def test_search_and_order(self):
        found = [c["name"] for c in self.acme.customers.list(search="C4")]
        self.assertEqual(found, ["C40", "C41", "C42", "C43", "C44"])
        desc = [c["id"] for c in self.acme.customers.list(limit=7, order="desc")]
        self.assertEqual(desc, list(reversed(self.ids)))

    def test_a_bad_limit_fails_when_iterated(self):
        pager = self.acme.customers.list(limit=1000)
        with self.assertRaises(B.InvalidArgument) as cm:
            list(pager)
        self.assertEqual(cm.exception.field, "limit")


class Idempotency(support.BackendCase):

    def test_a_replay_returns_the_first_result_and_changes_nothing(self):
        _, acme = self.new_tenant()
        c1 = acme.customers.create(name="Ada", email="ada@example.com", idempotency_key="signup-1")
        self.assertIs(c1.replayed, False)
        c2 = acme.customers.create(name="Ada", email="ada@example.com", idempotency_key="signup-1")
        self.assertIs(c2.replayed, True)
        self.assertEqual(c2["id"], c1["id"])
        self.assertEqual(len(list(acme.customers.list())), 1)
        self.assertIsNone(acme.customers.get(c1["id"]).replayed)  # no key, no answer

    def test_the_same_key_with_other_input_is_a_conflict(self):
        _, acme = self.new_tenant()
        acme.customers.create(name="Ada", email="ada@example.com", idempotency_key="k-1")
        with self.assertRaises(B.Conflict) as cm:
            acme.customers.create(name="Eve", email="eve@example.com", idempotency_key="k-1")
        self.assertEqual(cm.exception.code, "idempotency_mismatch")
        r = acme.call("customers.create", {"name": "Ada", "email": "ada@example.com"},
                      idempotency_key="k-1")
        self.assertTrue(r.replayed)

    def test_keys_are_per_tenant(self):
        _, a = self.new_tenant("A")
        _, b = self.new_tenant("B")
        ca = a.customers.create(name="Ada", email="ada@example.com", idempotency_key="same")
        cb = b.customers.create(name="Ada", email="ada@example.com", idempotency_key="same")
        self.assertFalse(cb.replayed)
        self.assertNotEqual(ca["id"], cb["id"])


class TenantIsolation(support.BackendCase):

    def test_tenant_b_cannot_reach_tenant_a_customers(self):
        _, a = self.new_tenant("A")
        _, b = self.new_tenant("B")
        ada = a.customers.create(name="Ada", email="ada@example.com")
        b.customers.create(name="Bea", email="bea@example.com")
        with self.assertRaises(B.NotFound):
            b.customers.get(ada["id"])
        with self.assertRaises(B.NotFound):
            b.customers.update(ada["id"], name="Mallory")
        with self.assertRaises(B.NotFound):
            b.customers.delete(ada["id"])
        self.assertNotIn(ada["id"], [c["id"] for c in b.customers.list()])
        self.assertEqual([c["email"] for c in b.customers.list(search="ada")], [])
        # B's own e-mail may equal A's: uniqueness is per tenant.
        b.customers.create(name="Ada B", email="ada@example.com")
        self.assertEqual(a.customers.get(ada["id"]), ada)

    def test_event_and_invoice_ids_do_not_cross_tenants(self):
        _, a = self.new_tenant("A")
        _, b = self.new_tenant("B")
        a.customers.create(name="Ada", email="ada@example.com")
        ev = next(iter(a.events.list()))
        with self.assertRaises(B.NotFound):
            b.events.get(ev["id"])
        self.assertEqual(list(b.events.list()), [])


class Lifetime(support.BackendCase):

    def test_threads_share_one_context(self):
        _, acme = self.new_tenant()
        errors, made = [], []

        def work(n):
            try:
                for i in range(25):
                    made.append(acme.customers.create(name="T%d" % n,
                                                      email="t%d-%d@example.com" % (n, i))["id"])
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(set(made)), 150)
        self.assertEqual(len(list(acme.customers.list(limit=100))), 150)

    def test_close_waits_for_calls_in_flight_and_refuses_new_ones(self):
        b = self.db.open()
        t = b.as_principal(role="PLATFORM").tenants.create(name="Close")
        acme = b.as_principal(tenant=t["id"], role="ADMIN")
        c = acme.customers.create(name="Ada", email="ada@example.com")
        done, refused, other = [0], [0], []
        started = threading.Barrier(5)

        def reader():
            started.wait()
            while True:
                try:
                    acme.customers.get(c["id"])
                    done[0] += 1
                except ValueError:
                    refused[0] += 1
                    return
                except Exception as e:
                    other.append(e)
                    return

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for th in threads:
            th.start()
        started.wait()
        time.sleep(0.05)
        b.close()
        self.assertTrue(b.closed)
        self.assertEqual(b._inflight, 0)
        for th in threads:
            th.join()
        self.assertEqual(other, [])
        self.assertEqual(refused[0], 4)
        self.assertGreater(done[0], 0)
        with self.assertRaises(ValueError):
            acme.customers.get(c["id"])
        b.close()  # idempotent

    def test_context_manager_closes(self):
        with self.db.open() as b:
            who = b.as_principal(role="PLATFORM")
            self.assertTrue(list(who.tenants.list()))
        self.assertTrue(b.closed)
        with self.assertRaises(ValueError):
            list(who.tenants.list())


support.for_each_backend(globals(), GeneratedMethods, Tenants, Customers, Products, Plans,
                         PaymentMethods,
                         SubscriptionsInvoicesEvents, PaymentsAndDunning, Errors, Pagination, Idempotency,
                         TenantIsolation, Lifetime)

if __name__ == "__main__":
    unittest.main()
