#!/usr/bin/env python3
"""HTTP suite for invoice documents (issue #24; docs/http-api.md "Invoice
documents"): GET /v1/invoices/{id}/html?locale= and /pdf?locale=,
GET /v1/credit-notes/{id}/html and /pdf.

- a finalized invoice's document: 200 text/html; charset=utf-8, its amounts
  formatted for the locale (en-US by default, de-DE, ja-JP), a strong ETag
  that is the same on every request; If-None-Match with it is 304 with no
  body; a USER may read it;
- hostile text in the customer's name is inert (escaped, never markup);
- a draft's document is marked as one, and its ETag changes with the draft;
- a customer's address (stored normalized) is in the page and its
  preferredLocale is the page's locale when ?locale= is absent; their
  refusals name address.country and preferredLocale; null clears;
- refusals: an unsupported locale (400 unsupported_locale, field locale), an
  unknown query parameter (400), an id that names nothing in the tenant or
  another tenant's invoice (404), no token (401);
- the PDF: 200 application/pdf whose bytes arrive whole (NUL bytes and all:
  Content-Length is their number, qpdf --check finds nothing wrong), its text
  (pdftotext) holds the amounts formatted for the locale and a customer name
  in each of Latin, Cyrillic, Greek, CJK and Arabic script; the same ETag on
  every request (the same bytes), If-None-Match -> 304, Cache-Control
  "private, no-cache" (a document changes with payments and credit notes); a
  draft's PDF is marked and its ETag follows the draft; 404 and 401 as for
  the HTML;
- a credit note's document (part of a line, by amount): its number, the invoice's, the reason, the
  amounts, a hostile memo and name inert, ETag and 304, a USER reads, void is
  another document; its refusals (locale 400, no such note or an invoice's
  id 404, another tenant's 404, no token 401); its PDF: the amounts in
  pdftotext, qpdf --check clean, ETag/304, Cache-Control as the invoice's;
- hosted invoice links (hostedInvoiceUrl, BILLING_PUBLIC_URL in front of the
  library's path): a finalized invoice's link opens without a token (HTML
  with its number and status, and /pdf), Cache-Control no-store,
  Referrer-Policy no-referrer, the token never in the access log; a draft
  has none; a flipped byte, a token of one tenant with another's invoice id
  (both ways), an expired link (test clock) and a link given before a
  rotation are one 404 body; a rotation (ADMIN only) kills that tenant's
  links and not another tenant's, and the next read gives a working one;
- the e-invoice (GET /v1/invoices/{id}/einvoice): application/xml, the CII
  XML of EN 16931 parsed back (guideline, number, 380, the parties with a
  hostile buyer name as written and the buyer's VAT id, the sums, unit C62,
  category S), ETag and 304, a USER reads; 409 einvoice_incomplete without
  the seller's country, 409 draft, 400 for any parameter, 404 (no such
  invoice, another tenant's), 401;
- a credit note's e-invoice (GET /v1/credit-notes/{id}/einvoice): type 381,
  the invoice's number and date as BT-25/BT-26, a post-payment note's refund
  as BT-115, ETag and 304, a USER reads; 409 einvoice_incomplete, 400, 404,
  401;
- Factur-X (GET /v1/invoices/{id}/facturx?locale=): application/pdf, PDF
  1.7 whose one attachment (pdfdetach) is factur-x.xml with the e-invoice's
  very bytes, the XMP's pdfaid part 3 and conformance level EN 16931, the
  plain PDF's text in the locale asked for, ETag (another than the PDF's and
  the en-US one's) and 304, a USER reads; 409 einvoice_incomplete and
  draft, 400 unsupported_locale and unknown_parameter, 404, 401;
- every answer conforms to the OpenAPI document (test_server.py checks).

Reuses test_server.py's Server and Billing helpers through tenant_case; runs
on the backend BILLING_TEST_BACKEND names, like http_server.
"""
import base64
import os
import re
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import tenant_case
import test_server as ts

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"

NAMES = ["Zo\u00eb \u00c5ngstr\u00f6m",                       # Latin
         "\u0410\u0434\u0430 \u041b\u0430\u0432\u043b\u0435\u0439\u0441",   # Cyrillic
         "\u0391\u03bb\u03ad\u03be\u03b1\u03bd\u03b4\u03c1\u03bf\u03c2",    # Greek
         "\u5c71\u7530\u592a\u90ce",                              # CJK
         "\u0641\u0627\u0637\u0645\u0629"]                       # Arabic


def pdf_text(body, layout=True):
    """The PDF's text as pdftotext reads it (U+00A0, U+202F as spaces, bidi
    marks dropped), after qpdf --check found nothing wrong in it."""
    with tempfile.NamedTemporaryFile(suffix=".pdf", delete=False) as f:
        f.write(body)
        path = f.name
    try:
        subprocess.run(["qpdf", "--check", path], check=True, stdout=subprocess.DEVNULL)
        args = ["pdftotext"] + (["-layout"] if layout else []) + ["-enc", "UTF-8", path, "-"]
        text = subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout.decode()
    finally:
        os.unlink(path)
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub("[\u202a-\u202e]", "", text)


PUBLIC = "https://pay.example.com"


def token_parts(url):
    """The token of a hosted link, decoded: tenant id, invoice id, the rest."""
    tok = url.rsplit("/", 1)[1]
    raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
    tenant, rest = raw.split(b"\0", 1)
    invoice, tail = rest.split(b"\0", 1)
    return tenant, invoice, tail


def token_of(tenant, invoice, tail):
    return base64.urlsafe_b64encode(tenant + b"\0" + invoice + b"\0" + tail) \
        .decode().rstrip("=")


class Documents(tenant_case.TenantCase):
    """A server with the test clock; a tenant per test."""

    SERVER_ENV = {"BILLING_PUBLIC_URL": PUBLIC + "/"}

    def hosted(self, url, suffix=""):
        self.assertTrue(url.startswith(PUBLIC + "/hosted/invoices/"), url)
        return self.s.request("GET", url[len(PUBLIC):] + suffix)

    def assertGone(self, r):
        """The one 404 of every refused link: the same body but its request id."""
        self.assertProblem(r, 404, "not_found")
        body = dict(r.body)
        body.pop("requestId", None)
        body.pop("instance", None)
        if not hasattr(self, "gone_body"):
            self.gone_body = body
        self.assertEqual(body, self.gone_body)

    def test_hosted_link_opens_without_a_token(self):
        inv = self.invoice(name="Hosted " + XSS)
        url = inv["hostedInvoiceUrl"]
        r = self.hosted(url)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
        page = r.text.decode()
        self.assertIn(inv["number"], page)
        self.assertIn("\u20ac11.89", page)
        self.assertNotIn("<script", page)
        pdf = self.hosted(url, "/pdf")
        self.assertEqual(pdf.status, 200)
        self.assertEqual(pdf.header("Content-Type"), "application/pdf")
        self.assertIn(inv["number"], pdf_text(pdf.text))
        # The same link on every read of the day, in lists and to a USER.
        mine = self.s.request("GET", "/v1/invoices?customerId=" + inv["customerId"],
                              token=self.user).body["data"]
        self.assertEqual([i["hostedInvoiceUrl"] for i in mine], [url])
        # A draft has none.
        c = self.b.customer_new()
        draft = self.b.ok("POST", "/v1/invoices", {"customerId": c["id"], "currency": "EUR"})
        self.assertIsNone(draft["hostedInvoiceUrl"])
        self.assertIsNone(self.b.ok("GET", "/v1/invoices/" + draft["id"])["hostedInvoiceUrl"])
        # The access log names the route's template, never the token.
        tok = url.rsplit("/", 1)[1]
        with open(self.s.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        self.assertIn("/hosted/invoices/{id}", log)
        self.assertNotIn(tok, log)

    def test_hosted_link_refusals(self):
        inv = self.invoice()
        url = inv["hostedInvoiceUrl"]
        self.assertEqual(self.hosted(url).status, 200)
        tok = url.rsplit("/", 1)[1]
        # A flipped byte anywhere: the MAC, the expiry, the ids.
        raw = bytearray(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))
        for i in (len(raw) - 1, len(raw) - 33, 0):
            bad = bytearray(raw)
            bad[i] ^= 0x01
            forged = base64.urlsafe_b64encode(bytes(bad)).decode().rstrip("=")
            self.assertGone(self.s.request("GET", "/hosted/invoices/" + forged))
        self.assertGone(self.s.request("GET", "/hosted/invoices/x"))
        self.assertGone(self.s.request("GET", "/hosted/invoices/" + tok[:-4]))
        # Another tenant's invoice with this tenant's token, and back.
        other = self.s.cli("tenant", "create", "--name", "other").stdout.decode().strip()
        ob = ts.Billing(self.s, ts.make_token(ts.claims_for(other)))
        oc = ob.customer_new()
        os_ = ob.ok("POST", "/v1/subscriptions", {"customerId": oc["id"],
                                                  "planId": ob.monthly["id"]})
        theirs = ob.ok("GET", "/v1/invoices/" + os_["latestInvoiceId"])["hostedInvoiceUrl"]
        self.assertEqual(self.hosted(theirs).status, 200)
        t_a, i_a, tail_a = token_parts(url)
        t_b, i_b, tail_b = token_parts(theirs)
        self.assertGone(self.s.request("GET", "/hosted/invoices/" + token_of(t_a, i_b, tail_a)))
        self.assertGone(self.s.request("GET", "/hosted/invoices/" + token_of(t_b, i_a, tail_b)))
        self.assertGone(self.s.request("GET", "/hosted/invoices/" + token_of(t_a, i_a, tail_b)))
        # A rotation (ADMIN only) kills this tenant's links, not the other's.
        self.assertProblem(self.s.request("POST", "/v1/hosted-links/rotate", {},
                                          token=self.user), 403)
        rot = self.b.ok("POST", "/v1/hosted-links/rotate", {}, status=200)
        self.assertEqual(rot["object"], "hosted_links")
        self.assertNotIn("secret", rot)
        self.assertGone(self.hosted(url))
        self.assertGone(self.hosted(url, "/pdf"))
        self.assertEqual(self.hosted(theirs).status, 200)
        fresh = self.b.ok("GET", "/v1/invoices/" + inv["id"])["hostedInvoiceUrl"]
        self.assertNotEqual(fresh, url)
        self.assertEqual(self.hosted(fresh).status, 200)
        audit = self.b.ok("GET", "/v1/audit-log")["data"]
        self.assertIn("hosted_links.rotate", [a["operation"] for a in audit])
        events = self.b.ok("GET", "/v1/events")["data"]
        rotated = [e for e in events if e["type"] == "hosted_links.rotated"]
        self.assertEqual(len(rotated), 1)
        self.assertNotIn(bytes(raw[-32:]).hex(), str(rotated) + str(audit))
        # Expiry: at least 30 days after a read; past 31 the link is gone and
        # a fresh read gives one that works.
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 30 * 86400 - 60})
        self.assertEqual(self.hosted(fresh).status, 200)
        self.b.ok("POST", "/v1/test-clock/advance", {"seconds": 86400 + 120})
        self.assertGone(self.hosted(fresh))
        again = self.b.ok("GET", "/v1/invoices/" + inv["id"])["hostedInvoiceUrl"]
        self.assertEqual(self.hosted(again).status, 200)

    def invoice(self, name="Ada \u0410\u0434\u0430"):
        c = self.b.customer_new(name=name)
        s = self.b.ok("POST", "/v1/subscriptions", {"customerId": c["id"],
                                                     "planId": self.b.monthly["id"]})
        return self.b.ok("GET", "/v1/invoices/%s" % s["latestInvoiceId"])

    def html(self, inv_id, query="", token=None, **kw):
        path = "/v1/invoices/%s/html%s" % (inv_id, query)
        if token:
            return self.s.request("GET", path, token=token, **kw)
        return self.b.req("GET", path, **kw)

    def test_finalized_document_in_locales_with_a_strong_etag(self):
        inv = self.invoice(name="Ada " + XSS)
        self.assertEqual(inv["total"], 1189)       # 9.99 + 19 % tax
        r = self.html(inv["id"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        page = r.text.decode()
        self.assertIn("\u20ac11.89", page)
        self.assertIn("\u20ac9.99", page)
        self.assertIn(inv["number"], page)
        self.assertNotIn("<script", page)
        self.assertNotIn("<img", page)
        self.assertIn("Ada &lt;script&gt;alert(1)&lt;/script&gt;", page)
        etag = r.header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        self.assertEqual(self.html(inv["id"]).header("ETag"), etag)

        again = self.html(inv["id"], headers={"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.text, b"")
        self.assertEqual(again.header("ETag"), etag)
        self.assertEqual(self.html(inv["id"], headers={"If-None-Match": '"other"'}).status, 200)

        de = self.html(inv["id"], "?locale=de-DE")
        self.assertEqual(de.status, 200)
        self.assertIn("11,89\u00a0\u20ac", de.text.decode())
        self.assertIn("Rechnung", de.text.decode())
        self.assertNotEqual(de.header("ETag"), etag)
        ja = self.html(inv["id"], "?locale=ja-JP", token=self.user)   # a USER reads
        self.assertEqual(ja.status, 200)
        self.assertIn("\u8acb\u6c42\u66f8", ja.text.decode())        # 請求書

    def test_draft_is_marked_and_its_etag_follows_it(self):
        c = self.b.customer_new()
        d = self.b.ok("POST", "/v1/invoices", {"customerId": c["id"], "currency": "EUR",
                                               "collectionMethod": "send_invoice",
                                               "daysUntilDue": 30})
        first = self.html(d["id"])
        self.assertEqual(first.status, 200)
        self.assertIn('<span class="draft">DRAFT</span>', first.text.decode())
        self.b.ok("POST", "/v1/invoice-items", {"customerId": c["id"], "invoiceId": d["id"],
                                                "currency": "EUR", "amount": 4200,
                                                "description": "Setup " + XSS})
        second = self.html(d["id"])
        self.assertIn("\u20ac42.00", second.text.decode())
        self.assertNotIn("<script", second.text.decode())
        self.assertNotEqual(second.header("ETag"), first.header("ETag"))

    def test_customer_address_and_preferred_locale(self):
        c = self.b.ok("POST", "/v1/customers", {
            "name": "Chlo\u00e9", "email": "chloe@example.com", "preferredLocale": "FR-fr",
            "address": {"line1": "12 rue de Rivoli ", "postalCode": "75001",
                        "city": "Paris", "country": "fr"}})
        self.assertEqual(c["preferredLocale"], "fr-FR")
        self.assertEqual(c["address"], {"line1": "12 rue de Rivoli", "postalCode": "75001",
                                        "city": "Paris", "country": "FR"})
        s = self.b.ok("POST", "/v1/subscriptions", {"customerId": c["id"],
                                                     "planId": self.b.monthly["id"]})
        r = self.html(s["latestInvoiceId"])
        self.assertEqual(r.status, 200, r.text)
        page = r.text.decode()
        self.assertIn('<html lang="fr-FR">', page)
        self.assertIn("11,89\u00a0\u20ac", page)
        self.assertIn("<p>12 rue de Rivoli</p><p>75001 Paris</p><p>FR</p>", page)
        self.assertIn("\u20ac11.89", self.html(s["latestInvoiceId"], "?locale=en-US").text.decode())

        path = "/v1/customers/%s" % c["id"]
        self.assertProblem(self.b.req("PATCH", path, {"address": {"country": "ZZ"}}), 400,
                           field="address.country")
        self.assertProblem(self.b.req("PATCH", path, {"preferredLocale": "pt-BR"}), 400,
                           field="preferredLocale")
        cleared = self.b.ok("PATCH", path, {"address": None, "preferredLocale": None})
        self.assertIsNone(cleared["address"])
        self.assertIsNone(cleared["preferredLocale"])

    def test_branding(self):
        png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
        self.assertIsNone(self.b.ok("GET", "/v1/branding")["legalName"])
        body = {"legalName": "Acme " + XSS, "taxId": "GB123456789", "logo": png,
                "accentColor": "#0A7F3C", "footer": "Registered in England " + XSS,
                "address": {"line1": "1 High St", "city": "London", "postalCode": "EC1A 1BB",
                            "country": "gb"}}
        self.assertProblem(self.s.request("PUT", "/v1/branding", body, token=self.user), 403)
        got = self.b.ok("PUT", "/v1/branding", body)
        self.assertEqual((got["object"], got["logoType"], got["accentColor"],
                          got["address"]["country"]), ("branding", "image/png", "#0a7f3c", "GB"))
        self.assertEqual(self.s.request("GET", "/v1/branding", token=self.user).body, got)
        page = self.html(self.invoice()["id"]).text.decode()
        self.assertIn('<img class="logo" alt="" src="data:image/png;base64,%s">' % png, page)
        self.assertIn("<p>Acme &lt;script&gt;", page)
        self.assertIn("<p>EC1A 1BB London</p><p>GB</p><p>Tax ID GB123456789</p>", page)
        self.assertIn("#0a7f3c", page)
        self.assertIn("Registered in England &lt;script&gt;", page)
        self.assertNotIn("<script", page)
        self.assertNotIn("<img src", page)
        rows = self.b.ok("GET", "/v1/audit-log?limit=100")["data"]
        self.assertEqual(len([a for a in rows if a["operation"] == "branding.set"]), 1)

        for bad, field in (({"logo": "R0lGODlhAQABAAAAACw="}, "logo"),
                           ({"accentColor": "green"}, "accentColor"),
                           ({"address": {"country": "UK"}}, "address.country")):
            self.assertProblem(self.b.req("PUT", "/v1/branding", bad), 400, field=field)
        self.assertEqual(self.b.ok("GET", "/v1/branding"), got)

    def pdf(self, inv_id, query="", token=None, **kw):
        path = "/v1/invoices/%s/pdf%s" % (inv_id, query)
        if token:
            return self.s.request("GET", path, token=token, **kw)
        return self.b.req("GET", path, **kw)

    def test_pdf_arrives_whole_with_its_amounts_and_a_stable_etag(self):
        inv = self.invoice()
        r = self.pdf(inv["id"])
        self.assertEqual(r.status, 200, r.text[:200])
        self.assertEqual(r.header("Content-Type"), "application/pdf")
        body = r.text
        # Binary: NUL bytes in the middle, and every byte arrives.
        self.assertTrue(body.startswith(b"%PDF-"))
        self.assertIn(b"\x00", body)
        self.assertEqual(int(r.header("Content-Length")), len(body))
        self.assertTrue(body.rstrip().endswith(b"%%EOF"))
        text = pdf_text(body)
        self.assertIn("\u20ac11.89", text)
        self.assertIn("\u20ac9.99", text)
        self.assertIn(inv["number"], text)
        self.assertIn("Page 1 of 1", text)
        self.assertEqual(r.header("Cache-Control"), "private, no-cache")
        etag = r.header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        again = self.pdf(inv["id"])
        self.assertEqual(again.header("ETag"), etag)      # the same bytes every time
        self.assertEqual(again.text, body)
        self.assertNotEqual(etag, self.html(inv["id"]).header("ETag"))
        same = self.pdf(inv["id"], headers={"If-None-Match": etag})
        self.assertEqual(same.status, 304)
        self.assertEqual(same.text, b"")
        de = self.pdf(inv["id"], "?locale=de-DE", token=self.user)   # a USER reads
        self.assertEqual(de.status, 200)
        self.assertIn("11,89 \u20ac", pdf_text(de.text))
        self.assertIn("Seite 1 von 1", pdf_text(de.text))
        self.assertProblem(self.pdf(inv["id"], "?locale=pt-BR"), 400, "unsupported_locale",
                           field="locale")
        self.assertProblem(self.pdf("in_nothing"), 404)
        self.assertProblem(self.s.request("GET", "/v1/invoices/%s/pdf" % inv["id"]), 401)

    def test_pdf_names_in_every_script(self):
        for i, name in enumerate(NAMES):
            inv = self.invoice(name=name)
            r = self.pdf(inv["id"], "?locale=ja-JP" if i == 3 else "")
            self.assertEqual(r.status, 200)
            text = pdf_text(r.text, layout=False)
            if i == 4:
                # pdftotext splits a right-to-left word where its letters join.
                text = text.replace(" ", "")
            self.assertIn(name, text, "%s is not in the PDF's text" % name)

    def test_draft_pdf_is_marked_and_its_etag_follows_it(self):
        c = self.b.customer_new()
        d = self.b.ok("POST", "/v1/invoices", {"customerId": c["id"], "currency": "EUR"})
        first = self.pdf(d["id"])
        self.assertEqual(first.status, 200)
        self.assertIn("DRAFT", pdf_text(first.text))
        self.assertEqual(first.header("Cache-Control"), "private, no-cache")
        self.b.ok("POST", "/v1/invoice-items", {"customerId": c["id"], "invoiceId": d["id"],
                                                "currency": "EUR", "amount": 4200,
                                                "description": "Setup"})
        second = self.pdf(d["id"], headers={"If-None-Match": first.header("ETag")})
        self.assertEqual(second.status, 200)
        self.assertIn("\u20ac42.00", pdf_text(second.text))
        self.assertNotEqual(second.header("ETag"), first.header("ETag"))
    def test_credit_note_document(self):
        inv = self.invoice(name="Ola " + XSS)
        line = inv["lines"][0]
        n = self.b.ok("POST", "/v1/credit-notes", {
            "invoiceId": inv["id"], "reason": "duplicate", "memo": "Sorry " + XSS,
            "lines": [{"invoiceLineId": line["id"], "amount": 500}]})
        # Not the whole invoice: a note that left nothing due would pay it,
        # and a paid invoice's pre-payment note cannot be voided.
        self.assertEqual((n["subtotal"], n["tax"], n["total"]), (500, 95, 595))
        path = "/v1/credit-notes/%s/html" % n["id"]
        r = self.b.req("GET", path)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        page = r.text.decode()
        self.assertIn("<title>Credit note CN-000001</title>", page)
        self.assertIn("<dt>Invoice credited</dt><dd>%s</dd>" % inv["number"], page)
        self.assertIn("<h2>Reason</h2><p>Duplicate</p>", page)
        self.assertIn("\u20ac5.00", page)
        self.assertIn("\u20ac0.95", page)
        self.assertIn("\u20ac5.95", page)
        self.assertIn("Sorry &lt;script&gt;", page)
        self.assertIn("Ola &lt;script&gt;", page)
        self.assertNotIn("<script", page)
        self.assertNotIn("<img", page)
        etag = r.header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        again = self.b.req("GET", path, headers={"If-None-Match": etag})
        self.assertEqual((again.status, again.text), (304, b""))
        fr = self.s.request("GET", path + "?locale=fr-FR", token=self.user)   # a USER reads
        self.assertEqual(fr.status, 200)
        self.assertIn("Avoir", fr.text.decode())
        self.assertIn("5,95\u00a0\u20ac", fr.text.decode())
        self.assertNotEqual(fr.header("ETag"), etag)
        # Its PDF: the same document, binary, with the invoice's headers.
        pdf = self.b.req("GET", "/v1/credit-notes/%s/pdf" % n["id"])
        self.assertEqual(pdf.status, 200, pdf.text[:200])
        self.assertEqual(pdf.header("Content-Type"), "application/pdf")
        self.assertEqual(pdf.header("Cache-Control"), "private, no-cache")
        self.assertEqual(int(pdf.header("Content-Length")), len(pdf.text))
        text = pdf_text(pdf.text)
        for want in ("Credit note CN-000001", inv["number"], "Duplicate", "\u20ac5.00",
                     "\u20ac0.95", "\u20ac5.95", "Sorry <script>"):
            self.assertIn(want, text)
        pdf_etag = pdf.header("ETag")
        self.assertRegex(pdf_etag, r'^"[0-9a-f]{32}"$')
        self.assertNotEqual(pdf_etag, etag)
        same = self.b.req("GET", "/v1/credit-notes/%s/pdf" % n["id"],
                          headers={"If-None-Match": pdf_etag})
        self.assertEqual((same.status, same.text), (304, b""))
        self.assertProblem(self.s.request("GET", "/v1/credit-notes/%s/pdf" % n["id"]), 401)
        # Void, it is another document.
        self.b.ok("POST", "/v1/credit-notes/%s/void" % n["id"], {})
        void = self.b.req("GET", path, headers={"If-None-Match": etag})
        self.assertEqual(void.status, 200)
        self.assertIn("<dd>Void</dd>", void.text.decode())

        self.assertProblem(self.b.req("GET", path + "?locale=pt-BR"), 400,
                           "unsupported_locale", field="locale")
        self.assertProblem(self.b.req("GET", "/v1/credit-notes/cn_nothing/html"), 404)
        self.assertProblem(self.b.req("GET", "/v1/credit-notes/%s/html" % inv["id"]), 404)
        other = self.s.cli("tenant", "create", "--name", "other").stdout.decode().strip()
        theirs = ts.make_token(ts.claims_for(other))
        self.assertProblem(self.s.request("GET", path, token=theirs), 404)
        self.assertProblem(self.s.request("GET", path), 401)

    def test_refusals(self):
        inv = self.invoice()
        self.assertProblem(self.html(inv["id"], "?locale=pt-BR"), 400,
                           "unsupported_locale", field="locale")
        self.assertProblem(self.html(inv["id"], "?lang=de"), 400, "unknown_parameter",
                           field="lang")
        self.assertProblem(self.html(inv["id"], "?locale=de-DE&locale=fr-FR"), 400,
                           field="locale")
        self.assertProblem(self.html("in_nothing"), 404)
        other = self.s.cli("tenant", "create", "--name", "other").stdout.decode().strip()
        theirs = ts.make_token(ts.claims_for(other))
        self.assertProblem(self.html(inv["id"], token=theirs), 404)
        self.assertProblem(self.s.request("GET", "/v1/invoices/%s/html" % inv["id"]), 401)

    # ------------------------------------------------------------ e-invoice

    def einvoice(self, inv_id, query="", token=None, **kw):
        path = "/v1/invoices/%s/einvoice%s" % (inv_id, query)
        if token:
            return self.s.request("GET", path, token=token, **kw)
        return self.b.req("GET", path, **kw)

    def test_einvoice(self):
        """GET /v1/invoices/{id}/einvoice: the CII XML of EN 16931, parsed
        back; hostile text as written; ETag and 304; a USER reads; 409 for a
        draft and without the seller's country; 400, 404, 401."""
        hostile = "Ada \u0410\u0434\u0430 & <b>]]></b>"
        c = self.b.customer_new(name=hostile, address={"city": "Paris", "country": "FR"},
                                taxIds=[{"type": "eu_vat", "value": "FR12345678901"}])
        s = self.b.ok("POST", "/v1/subscriptions", {"customerId": c["id"],
                                                     "planId": self.b.monthly["id"]})
        inv = self.b.ok("GET", "/v1/invoices/%s" % s["latestInvoiceId"])
        # No branding: the seller has no country, which EN 16931 needs.
        self.assertProblem(self.einvoice(inv["id"]), 409, "einvoice_incomplete",
                           field="branding.address.country")
        self.b.ok("PUT", "/v1/branding", {"legalName": "Werkstatt GmbH", "taxId": "DE811907980",
                                          "address": {"city": "Berlin", "country": "DE"}})
        r = self.einvoice(inv["id"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Content-Type"), "application/xml")
        self.assertEqual(r.header("Cache-Control"), "private, no-cache")
        ns = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
              "ram": "urn:un:unece:uncefact:data:standard:"
                     "ReusableAggregateBusinessInformationEntity:100"}
        root = ET.fromstring(r.text)
        self.assertEqual(root.tag, "{%s}CrossIndustryInvoice" % ns["rsm"])
        self.assertEqual(root.find("rsm:ExchangedDocumentContext/ram:"
                                   "GuidelineSpecifiedDocumentContextParameter/ram:ID",
                                   ns).text, "urn:cen.eu:en16931:2017")
        self.assertEqual(root.find("rsm:ExchangedDocument/ram:ID", ns).text, inv["number"])
        self.assertEqual(root.find("rsm:ExchangedDocument/ram:TypeCode", ns).text, "380")
        self.assertEqual(root.find(".//ram:BuyerTradeParty/ram:Name", ns).text, hostile)
        self.assertEqual(root.find(".//ram:SellerTradeParty/ram:Name", ns).text,
                         "Werkstatt GmbH")
        self.assertEqual(root.find(".//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/"
                                   "ram:ID", ns).text, "FR12345678901")
        sums = root.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", ns)
        self.assertEqual(inv["total"], 1189)                       # 9.99 + 19 % tax
        self.assertEqual(sums.find("ram:GrandTotalAmount", ns).text, "11.89")
        self.assertEqual(sums.find("ram:TaxTotalAmount", ns).text, "1.90")
        self.assertEqual(sums.find("ram:TaxTotalAmount", ns).get("currencyID"), "EUR")
        self.assertEqual(sums.find("ram:LineTotalAmount", ns).text, "9.99")
        line = root.find(".//ram:IncludedSupplyChainTradeLineItem", ns)
        self.assertEqual(line.find(".//ram:BilledQuantity", ns).get("unitCode"), "C62")
        self.assertEqual(line.find(".//ram:ApplicableTradeTax/ram:CategoryCode", ns).text, "S")

        etag = r.header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        self.assertEqual(self.einvoice(inv["id"]).header("ETag"), etag)
        again = self.einvoice(inv["id"], headers={"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.text, b"")
        self.assertNotEqual(self.pdf(inv["id"]).header("ETag"), etag)
        self.assertEqual(self.einvoice(inv["id"], token=self.user).status, 200)   # a USER

        d = self.b.ok("POST", "/v1/invoices", {"customerId": c["id"], "currency": "EUR"})
        self.assertProblem(self.einvoice(d["id"]), 409, "draft")
        self.assertProblem(self.einvoice(inv["id"], "?locale=de-DE"), 400, "unknown_parameter",
                           field="locale")
        self.assertProblem(self.einvoice("in_nothing"), 404)
        other = self.s.cli("tenant", "create", "--name", "other").stdout.decode().strip()
        self.assertProblem(self.einvoice(inv["id"], token=ts.make_token(ts.claims_for(other))),
                           404)
        self.assertProblem(self.s.request("GET", "/v1/invoices/%s/einvoice" % inv["id"]), 401)

    def test_credit_note_einvoice(self):
        """GET /v1/credit-notes/{id}/einvoice: the note's CII XML, type 381,
        naming the invoice it credits (BT-25, BT-26); a post-payment note
        refunding part of the credit: BT-115 the refund; ETag and 304; a
        USER reads; 409 einvoice_incomplete; 400, 404, 401."""
        c = self.b.customer_new(name="Nora & <b>", address={"city": "Wien", "country": "AT"},
                                defaultPaymentMethod="pm_card_visa")
        s = self.b.ok("POST", "/v1/subscriptions", {"customerId": c["id"],
                                                     "planId": self.b.monthly["id"]})
        inv = self.b.ok("GET", "/v1/invoices/%s" % s["latestInvoiceId"])
        self.assertEqual((inv["status"], inv["total"]), ("paid", 1189))
        n = self.b.ok("POST", "/v1/credit-notes", {
            "invoiceId": inv["id"], "lines": [{"invoiceLineId": inv["lines"][0]["id"],
                                               "amount": 500}],
            "refundAmount": 300, "creditAmount": 295})
        self.assertEqual((n["subtotal"], n["tax"], n["total"]), (500, 95, 595))
        path = "/v1/credit-notes/%s/einvoice" % n["id"]
        self.assertProblem(self.b.req("GET", path), 409, "einvoice_incomplete",
                           field="branding.address.country")
        self.b.ok("PUT", "/v1/branding", {"legalName": "Werkstatt GmbH",
                                          "address": {"city": "Berlin", "country": "DE"}})
        r = self.b.req("GET", path)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.header("Content-Type"), "application/xml")
        self.assertEqual(r.header("Cache-Control"), "private, no-cache")
        ns = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
              "ram": "urn:un:unece:uncefact:data:standard:"
                     "ReusableAggregateBusinessInformationEntity:100",
              "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"}
        root = ET.fromstring(r.text)
        self.assertEqual(root.find("rsm:ExchangedDocument/ram:ID", ns).text, n["number"])
        self.assertEqual(root.find("rsm:ExchangedDocument/ram:TypeCode", ns).text, "381")
        ref = root.find(".//ram:ApplicableHeaderTradeSettlement/"
                        "ram:InvoiceReferencedDocument", ns)
        self.assertEqual(ref.find("ram:IssuerAssignedID", ns).text, inv["number"])
        self.assertRegex(ref.find("ram:FormattedIssueDateTime/qdt:DateTimeString", ns).text,
                         r"^\d{8}$")
        self.assertEqual(root.find(".//ram:BuyerTradeParty/ram:Name", ns).text, "Nora & <b>")
        sums = root.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", ns)
        self.assertEqual(sums.find("ram:LineTotalAmount", ns).text, "5.00")
        self.assertEqual(sums.find("ram:TaxTotalAmount", ns).text, "0.95")
        self.assertEqual(sums.find("ram:GrandTotalAmount", ns).text, "5.95")
        self.assertEqual(sums.find("ram:TotalPrepaidAmount", ns).text, "2.95")
        self.assertEqual(sums.find("ram:DuePayableAmount", ns).text, "3.00")   # the refund
        line = root.find(".//ram:IncludedSupplyChainTradeLineItem", ns)
        self.assertEqual(line.find(".//ram:ApplicableTradeTax/ram:CategoryCode", ns).text, "S")
        self.assertEqual(line.find(".//ram:ApplicableTradeTax/ram:RateApplicablePercent",
                                   ns).text, "19")

        etag = r.header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        again = self.b.req("GET", path, headers={"If-None-Match": etag})
        self.assertEqual((again.status, again.text), (304, b""))
        self.assertEqual(self.s.request("GET", path, token=self.user).status, 200)  # a USER
        self.assertProblem(self.b.req("GET", path + "?locale=de-DE"), 400,
                           "unknown_parameter", field="locale")
        self.assertProblem(self.b.req("GET", "/v1/credit-notes/cn_nothing/einvoice"), 404)
        self.assertProblem(self.b.req("GET", "/v1/credit-notes/%s/einvoice" % inv["id"]), 404)
        other = self.s.cli("tenant", "create", "--name", "other").stdout.decode().strip()
        self.assertProblem(self.s.request("GET", path, token=ts.make_token(
            ts.claims_for(other))), 404)
        self.assertProblem(self.s.request("GET", path), 401)

    # ------------------------------------------------------------ Factur-X

    def facturx(self, inv_id, query="", token=None, **kw):
        path = "/v1/invoices/%s/facturx%s" % (inv_id, query)
        if token:
            return self.s.request("GET", path, token=token, **kw)
        return self.b.req("GET", path, **kw)

    def test_facturx(self):
        """GET /v1/invoices/{id}/facturx: application/pdf, a PDF/A-3 whose one
        attachment, factur-x.xml, is the e-invoice's bytes; the plain PDF's
        text in the locale asked for; ETag and 304 (another than the PDF's);
        a USER reads; 409 as the e-invoice's; 400, 404, 401."""
        c = self.b.customer_new(name="Hal", address={"city": "Utrecht", "country": "NL"})
        s = self.b.ok("POST", "/v1/subscriptions", {"customerId": c["id"],
                                                     "planId": self.b.monthly["id"]})
        inv = self.b.ok("GET", "/v1/invoices/%s" % s["latestInvoiceId"])
        self.assertProblem(self.facturx(inv["id"]), 409, "einvoice_incomplete",
                           field="branding.address.country")
        self.b.ok("PUT", "/v1/branding", {"legalName": "Werkstatt GmbH", "taxId": "DE811907980",
                                          "address": {"city": "Berlin", "country": "DE"}})
        r = self.facturx(inv["id"], "?locale=de-DE")
        self.assertEqual(r.status, 200, r.text[:200])
        self.assertEqual(r.header("Content-Type"), "application/pdf")
        self.assertEqual(r.header("Cache-Control"), "private, no-cache")
        self.assertEqual(int(r.header("Content-Length")), len(r.text))
        self.assertTrue(r.text.startswith(b"%PDF-1.7"))
        self.assertEqual(pdf_text(r.text), pdf_text(self.pdf(inv["id"], "?locale=de-DE").text))
        xml = self.einvoice(inv["id"]).text
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "fx.pdf")
            with open(path, "wb") as f:
                f.write(r.text)
            listed = subprocess.run(["pdfdetach", "-list", path], check=True,
                                    stdout=subprocess.PIPE).stdout.decode()
            self.assertIn("1 embedded files", listed)
            self.assertIn("1: factur-x.xml", listed)
            subprocess.run(["pdfdetach", "-save", "1", "-o", os.path.join(d, "x.xml"), path],
                           check=True)
            with open(os.path.join(d, "x.xml"), "rb") as f:
                self.assertEqual(f.read(), xml)
        self.assertIn(b"<pdfaid:part>3</pdfaid:part>", r.text)
        self.assertIn(b"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>", r.text)

        etag = r.header("ETag")
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        self.assertEqual(self.facturx(inv["id"], "?locale=de-DE").header("ETag"), etag)
        again = self.facturx(inv["id"], "?locale=de-DE", headers={"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.text, b"")
        self.assertNotEqual(self.pdf(inv["id"], "?locale=de-DE").header("ETag"), etag)
        self.assertNotEqual(self.facturx(inv["id"]).header("ETag"), etag)   # en-US pages
        self.assertEqual(self.facturx(inv["id"], token=self.user).status, 200)   # a USER

        d = self.b.ok("POST", "/v1/invoices", {"customerId": c["id"], "currency": "EUR"})
        self.assertProblem(self.facturx(d["id"]), 409, "draft")
        self.assertProblem(self.facturx(inv["id"], "?locale=pt-BR"), 400, "unsupported_locale",
                           field="locale")
        self.assertProblem(self.facturx(inv["id"], "?format=x"), 400, "unknown_parameter",
                           field="format")
        self.assertProblem(self.facturx("in_nothing"), 404)
        other = self.s.cli("tenant", "create", "--name", "other").stdout.decode().strip()
        self.assertProblem(self.facturx(inv["id"], token=ts.make_token(ts.claims_for(other))),
                           404)
        self.assertProblem(self.s.request("GET", "/v1/invoices/%s/facturx" % inv["id"]), 401)


if __name__ == "__main__":
    unittest.main()
