"""Invoice documents through the Python binding (issue #24; billing/document.h):
Principal.render_invoice gives the PDF's bytes whole (NUL bytes and all, the
length the library reported) and the HTML's; the same invoice gives the same
bytes; refusals raise naming their field (locale, format) or NotFound;
Principal.render_credit_note likewise for a credit note; Billing.render_hosted_invoice
renders a finalized invoice's hosted link without a principal, and a rotation
(hosted_links.rotate) makes the old link NotFound while a fresh read works.

Run: BILLING_LIBRARY=build/release/libbilling.so python3 -m unittest discover -s bindings/python/tests
"""
import unittest

import support

B = support.billing


class Documents(support.BackendCase):

    def test_render_invoice(self):
        _, acme = self.new_tenant("Documents")
        prod = acme.products.create(name="Service", sku="svc")
        plan = acme.plans.create(product_id=prod["id"], code="MONTHLY", name="Monthly",
                                 amount=2900, currency="EUR", interval="MONTH")
        cus = acme.customers.create(name="\u0410\u0434\u0430", email="ada@example.com")
        sub = acme.subscriptions.create(customer_id=cus["id"], plan_id=plan["id"])
        inv = sub["latestInvoiceId"]
        pdf = acme.render_invoice(inv)
        self.assertIsInstance(pdf, bytes)
        self.assertTrue(pdf.startswith(b"%PDF-"))
        self.assertIn(b"\x00", pdf)
        self.assertTrue(pdf.rstrip().endswith(b"%%EOF"))
        self.assertEqual(acme.render_invoice(inv, "pdf"), pdf)
        html = acme.render_invoice(inv, "html", locale="de-DE").decode("utf-8")
        self.assertIn("29,00\u00a0\u20ac", html)
        self.assertIn("\u0410\u0434\u0430", html)
        with self.assertRaises(B.InvalidArgument) as cm:
            acme.render_invoice(inv, locale="pt-BR")
        self.assertEqual(cm.exception.field, "locale")
        with self.assertRaises(B.NotFound):
            acme.render_invoice("in_nothing")
        with self.assertRaises(ValueError):
            acme.render_invoice(inv, "docx")
        # A credit note's document, both formats.
        cn = acme.credit_notes.create(invoice_id=inv, amount=500, reason="duplicate")
        pdf = acme.render_credit_note(cn["id"])
        self.assertTrue(pdf.startswith(b"%PDF-"))
        self.assertEqual(acme.render_credit_note(cn["id"], "pdf"), pdf)
        html = acme.render_credit_note(cn["id"], "html", locale="de-DE").decode("utf-8")
        self.assertIn("Gutschrift", html)
        self.assertIn("5,00\u00a0\u20ac", html)
        with self.assertRaises(B.NotFound):
            acme.render_credit_note(inv)

    def test_render_invoice_einvoice(self):
        """format "cii": the e-invoice's XML of a finalized invoice (its
        number, the buyer's name as written, the total); a draft is a
        Conflict with code "draft"; a credit note's (381, naming the
        invoice); a credit note has no "facturx"."""
        import xml.etree.ElementTree as ET
        _, acme = self.new_tenant("EInvoice")
        acme.call("branding.set", {"legalName": "Acme GmbH", "address": {"country": "DE"}})
        prod = acme.products.create(name="Service", sku="svc")
        plan = acme.plans.create(product_id=prod["id"], code="MONTHLY", name="Monthly",
                                 amount=2900, currency="EUR", interval="MONTH")
        cus = acme.customers.create(name="\u0410\u0434\u0430 & <Co>", email="ada@example.com",
                                    address={"country": "FR"})
        sub = acme.subscriptions.create(customer_id=cus["id"], plan_id=plan["id"])
        inv = acme.invoices.get(sub["latestInvoiceId"])
        xml = acme.render_invoice(inv["id"], "cii")
        self.assertTrue(xml.startswith(b"<?xml"))
        ram = ("{urn:un:unece:uncefact:data:standard:"
               "ReusableAggregateBusinessInformationEntity:100}")
        root = ET.fromstring(xml)
        rsm = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}"
        self.assertEqual(root.find("%sExchangedDocument/%sID" % (rsm, ram)).text, inv["number"])
        self.assertEqual(root.find(".//%sBuyerTradeParty/%sName" % (ram, ram)).text,
                         "\u0410\u0434\u0430 & <Co>")
        self.assertEqual(root.find(".//%sGrandTotalAmount" % ram).text, "29.00")
        draft = acme.invoices.create(customer_id=cus["id"], currency="EUR")
        with self.assertRaises(B.Conflict) as cm:
            acme.render_invoice(draft["id"], "cii")
        self.assertEqual(cm.exception.code, "draft")
        # "facturx": the PDF/A-3 with that XML attached, byte for byte.
        pdf = acme.render_invoice(inv["id"], "facturx", "de-DE")
        self.assertTrue(pdf.startswith(b"%PDF-1.7"))
        self.assertIn(b"/AFRelationship /Alternative", pdf)
        self.assertIn(b"<pdfaid:part>3</pdfaid:part>", pdf)
        self.assertEqual(acme.render_invoice(inv["id"], "facturx", "de-DE"), pdf)
        import os
        import subprocess
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "fx.pdf"), "wb") as f:
                f.write(pdf)
            subprocess.run(["pdfdetach", "-save", "1", "-o", os.path.join(d, "x.xml"),
                            os.path.join(d, "fx.pdf")], check=True)
            with open(os.path.join(d, "x.xml"), "rb") as f:
                self.assertEqual(f.read(), xml)
        with self.assertRaises(B.Conflict) as cm:
            acme.render_invoice(draft["id"], "facturx")
        self.assertEqual(cm.exception.code, "draft")
        with self.assertRaises(ValueError):
            acme.render_credit_note(inv["id"], "facturx")
        # A credit note's e-invoice (last: the note changes
        # the invoice's): type 381, naming the invoice.
        cn = acme.call("credit_notes.create", {"invoiceId": inv["id"], "amount": 500})
        note = ET.fromstring(acme.render_credit_note(cn["id"], "cii"))
        self.assertEqual(note.find("%sExchangedDocument/%sTypeCode" % (rsm, ram)).text, "381")
        self.assertEqual(note.find(".//%sInvoiceReferencedDocument/%sIssuerAssignedID"
                                   % (ram, ram)).text, inv["number"])

    def test_hosted_invoice_links(self):
        _, acme = self.new_tenant("Hosted")
        billing = self.b
        prod = acme.products.create(name="Service", sku="svc")
        plan = acme.plans.create(product_id=prod["id"], code="MONTHLY", name="Monthly",
                                 amount=2900, currency="EUR", interval="MONTH")
        cus = acme.customers.create(name="Ada", email="ada@example.com")
        sub = acme.subscriptions.create(customer_id=cus["id"], plan_id=plan["id"])
        inv = acme.invoices.get(sub["latestInvoiceId"])
        path = inv["hostedInvoiceUrl"]
        self.assertTrue(path.startswith("/hosted/invoices/"), path)
        token = path.rsplit("/", 1)[1]
        html = billing.render_hosted_invoice(token).decode("utf-8")
        self.assertIn(inv["number"], html)
        self.assertTrue(billing.render_hosted_invoice(token, "pdf").startswith(b"%PDF-"))
        acme.hosted_links.rotate()
        with self.assertRaises(B.NotFound):
            billing.render_hosted_invoice(token)
        fresh = acme.invoices.get(inv["id"])["hostedInvoiceUrl"].rsplit("/", 1)[1]
        self.assertIn(inv["number"], billing.render_hosted_invoice(fresh).decode("utf-8"))


support.for_each_backend(globals(), Documents)

if __name__ == "__main__":
    unittest.main()
