/*
 * Invoice documents (issue #24, billing/document.h, docs/billing.md
 * "Invoice documents"), both backends, simulated clock:
 * - a finalized invoice of two subscription items (a graduated tiered plan
 *   and a per-unit plan), a 10 % coupon and two exclusive tax rates renders
 *   in each of the six locales with every amount of the invoice (each
 *   line's unit price, tax and amount, each tier, each line's discount, the
 *   subtotal, the discount, each rate of the breakdown, the total, the
 *   amount due) formatted for the locale, and the totals by hand in en-US
 *   and de-DE;
 * - a draft made by hand (send_invoice, a memo, an invoice item) is marked
 *   as a draft; finalized, it carries its number, the due date and the
 *   payment instructions;
 * - hostile text in every text field (the tenant's name, the customer's
 *   name, a plan's name, a tax rate's name (50 characters at most: a shorter
 *   attack), an invoice item's description, a memo) is inert: escaped, never
 *   markup;
 * - the sums after the total (the balance applied, a credit note, the amount
 *   paid), the reverse-charge note, the footer, the word of each status
 *   (open, paid, uncollectible, void), a product's taxRate named "VAT";
 * - the customer's billing address (C params version 3 and JSON) in the
 *   buyer's block, laid out per country, hostile text in it inert, and its
 *   preferredLocale the document's locale when none is asked for; an
 *   address's and a locale's refusals (each part, the country code, an
 *   unknown member, another locale), changing nothing;
 * - the tenant's branding (billing/branding.h, branding.set/get): set by
 *   an ADMIN only, read by a USER, stored canonical; the document's seller
 *   block (legal name, address, tax id), the logo as a data: URI (PNG by C,
 *   JPEG by JSON), the accent colour, the footer, hostile text inert; its
 *   refusals (a logo neither PNG nor JPEG, too large, not base64, a colour,
 *   a blank name, an address) changing nothing;
 * - the tenant's locale (branding's locale, issue #25 item 3): en-US until
 *   set, the locale of documents whose customer has none, the customer's
 *   and an asked-for locale winning; refusals naming locale; a version 1
 *   params struct; another tenant's stays en-US;
 * - refusals: an unsupported locale, an unknown format, an id that names no
 *   invoice of the tenant (also another tenant's); a USER may read;
 * - PDF (a build with BILLING_PDF): the same invoice in each locale as
 *   pdftotext reads it holds every amount formatted for the locale, and
 *   qpdf --check finds nothing wrong; a customer name in each of Latin,
 *   Cyrillic, Greek, CJK and Arabic script comes out as text; a 300-line
 *   invoice takes several pages, each with the table's header and "Page n
 *   of m", and every line's amount is on one; the same invoice gives the
 *   same bytes (the ETag is their hash) whenever it is rendered; page 1 at
 *   50 dpi matches the reviewed image tests/e2e/documents/invoice-en-US.png
 *   (tests/support/png_compare.py, a tolerance for font rasterizing); the
 *   tenant's logo in the seller block as pdfimages -list sees it: none
 *   without one, one image with one (a PNG's pixels, a JPEG's file as it
 *   is) at 96 pixels to the inch or smaller to fit 180 x 48 points, the
 *   same resolution across and down, the same bytes again, the HTML's
 *   <img> unchanged; none for a damaged or oversized logo, the PDF drawn.
 *   Without BILLING_PDF the PDF format is refused as unsupported_format.
 * - a credit note's document (billing_credit_note_render): a note by
 *   quantity of a line with a coupon's discount and two tax rates, every
 *   amount of it in each locale, the line's unit price, both numbers, the
 *   reason, a hostile memo inert, the seller's branding, the customer's
 *   preferredLocale by default; a paid invoice's note credited to the
 *   balance and settled outside; a void note; its refusals; with
 *   BILLING_PDF, the note's PDF holds the same amounts in each locale;
 * - every allocation and every storage statement failing in turn, for an
 *   invoice's document and a credit note's; with BILLING_PDF the
 *   invoice's PDF too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "tb.h"
#include "tb_billing.h"
#include "billing/branding.h"
#include "core/alloc.h"
#include "core/document.h"
#include "core/encode.h"

#define XSS "<script>alert(1)</script><img src=x onerror=alert(2)>\"'"
/* The same inside a JSON string. */
#define XSS_JSON "<script>alert(1)</script><img src=x onerror=alert(2)>\\\"'"
#define XSS_ESCAPED "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" \
	"&quot;&#39;"
#define NBSP "\xc2\xa0"
#define EURO "\xe2\x82\xac"
#define MDASH "\xe2\x80\x94"   /* the unit price of a line that has none */

static const char *const locales[] = { "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP" };

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char product[64], customer[64];
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	billing_product *p;
	assert_non_null(f);
	f->w = tb_world_new();
	f->w->now = tbb_ts(2026, 1, 1, 0, 0, 0);
	f->t = tb_tenant(f->w, "Werkstatt & S\xc3\xb6hne " XSS);
	f->admin = tb_admin(f->t);
	p = tb_product(f->w, f->t, NULL);
	snprintf(f->product, sizeof(f->product), "%s", billing_product_id(p));
	billing_product_free(p);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	tb_world_free(f->w);
	free(f);
	return 0;
}

/* op with the JSON input (formatted), asserting success; the answer's id
 * into id (may be NULL). */
static void call(fx *f, char id[64], const char *op, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void call(fx *f, char id[64], const char *op, const char *fmt, ...)
{
	char in[4096], *out = NULL;
	cJSON *v;
	va_list ap;
	int rc;
	va_start(ap, fmt);
	vsnprintf(in, sizeof(in), fmt, ap);
	va_end(ap);
	rc = billing_call_json(&out, f->w->ctx, &f->admin, op, in, strlen(in), NULL);
	if (rc != BILLING_OK)
		fail_msg("%s: %s (%s)", op, billing_error_name(rc), billing_error_last()->message);
	v = cJSON_Parse(out);
	assert_non_null(v);
	if (id)
		snprintf(id, 64, "%s", cJSON_GetObjectItemCaseSensitive(v, "id")->valuestring);
	cJSON_Delete(v);
	billing_free(out);
}

static char *render(fx *f, const billing_principal *who, const char *id, const char *locale)
{
	char *html = NULL;
	size_t len = 0;
	tb_assert_rc(billing_invoice_render(&html, &len, f->w->ctx, who, id, BILLING_DOCUMENT_HTML,
		locale), BILLING_OK);
	assert_non_null(html);
	assert_int_equal(strlen(html), len);
	return html;
}

/* The spaces of the locales (U+00A0, U+202F) as ' ', in place, and the
 * bidi embedding marks pdftotext puts around right-to-left text (U+202A
 * to U+202E) removed: how pdf_text leaves them. */
static void plain_spaces(char *s)
{
	char *r = s, *w = s;
	while (*r) {
		if ((unsigned char)r[0] == 0xc2 && (unsigned char)r[1] == 0xa0) {
			*w++ = ' ';
			r += 2;
		} else if ((unsigned char)r[0] == 0xe2 && (unsigned char)r[1] == 0x80 &&
			   (unsigned char)r[2] >= 0xaa && (unsigned char)r[2] <= 0xae) {
			r += 3;
		} else if ((unsigned char)r[0] == 0xe2 && (unsigned char)r[1] == 0x80 &&
			   (unsigned char)r[2] == 0xaf) {
			*w++ = ' ';
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* html (or a PDF's text, its spaces plain) contains amount formatted for
 * the locale. */
static void assert_amount(const char *html, const char *tag, int64_t amount, const char *what)
{
	char want[64], plain[64];
	assert_true(billing__doc_money(want, sizeof(want), billing__locale_find(tag), amount,
		"EUR") > 0);
	snprintf(plain, sizeof(plain), "%s", want);
	plain_spaces(plain);
	if (!strstr(html, want) && !strstr(html, plain))
		fail_msg("%s: %s (%lld) is not in the %s document", what, want, (long long)amount,
			tag);
}

/* No text of the invoice became markup. */
static void assert_inert(const char *html)
{
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<img src"));   /* the logo is <img class="logo" */
	assert_null(strstr(html, "<svg"));
	assert_null(strstr(html, "onerror=alert(2)>"));
	assert_non_null(strstr(html, XSS_ESCAPED));
}

/* The invoice of two subscription items (a graduated tiered plan and a
 * per-unit plan), a 10 % coupon and two exclusive tax rates, checked by
 * hand; the caller frees it. */
static billing_invoice *rich_invoice(fx *f, const char *customer_name_json)
{
	char vat[64], levy[64], tiered[64], flat[64], coupon[64], cus[64], sub[64];
	billing_subscription *s = NULL;
	billing_invoice *inv = NULL;

	call(f, vat, "tax_rates.create", "{\"displayName\":\"VAT\",\"percentage\":\"19\","
		"\"inclusive\":false}");
	call(f, levy, "tax_rates.create", "{\"displayName\":\"Levy <svg onload=alert(3)>\",\"percentage\":"
		"\"7.5\",\"inclusive\":false}");
	call(f, tiered, "plans.create", "{\"productId\":\"%s\",\"code\":\"DOC-TIERED\",\"name\":"
		"\"Seats " XSS_JSON "\",\"currency\":\"EUR\",\"interval\":\"MONTH\",\"billingScheme\":"
		"\"tiered\",\"tiersMode\":\"graduated\",\"tiers\":[{\"upTo\":5,\"unitAmount\":700},"
		"{\"upTo\":10,\"unitAmount\":650},{\"upTo\":null,\"unitAmount\":600}]}", f->product);
	call(f, flat, "plans.create", "{\"productId\":\"%s\",\"code\":\"DOC-FLAT\",\"name\":"
		"\"Storage\",\"amount\":1250,\"currency\":\"EUR\",\"interval\":\"MONTH\"}", f->product);
	call(f, coupon, "coupons.create", "{\"percentOff\":10,\"duration\":\"forever\"}");
	call(f, cus, "customers.create", "{\"name\":\"%s\","
		"\"email\":\"ada@doc.example\",\"taxIds\":[{\"type\":\"eu_vat\","
		"\"value\":\"DE123456789\"}]}", customer_name_json);
	call(f, sub, "subscriptions.create", "{\"customerId\":\"%s\",\"items\":[{\"planId\":"
		"\"%s\",\"quantity\":12},{\"planId\":\"%s\",\"quantity\":3}],\"coupon\":\"%s\","
		"\"defaultTaxRates\":[\"%s\",\"%s\"]}", cus, tiered, flat, coupon, vat, levy);
	tb_assert_rc(billing_subscription_get(&s, f->w->ctx, &f->admin, sub), BILLING_OK);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	billing_subscription_free(s);
	/* By hand: 5 x 7.00 + 5 x 6.50 + 2 x 6.00 = 79.50 and 3 x 12.50 = 37.50;
	 * 10 % off: 7.95 and 3.75; VAT 19 % of 71.55 and 33.75: 13.59 + 6.41;
	 * levy 7.5 % of them: 5.37 (5.36625) + 2.53 (2.53125); total
	 * 117.00 - 11.70 + 20.00 + 7.90 = 133.20. */
	assert_int_equal(billing_invoice_subtotal(inv), 11700);
	assert_int_equal(billing_invoice_total_discount(inv), 1170);
	assert_int_equal(billing_invoice_total(inv), 13320);
	return inv;
}

/* Every amount of inv (each line's unit price, tax, amount and discount,
 * each tier, each rate's tax, the sums) is in doc, formatted for tag. */
static void assert_every_amount(const char *doc, const char *tag, const billing_invoice *inv)
{
	cJSON *taxes = cJSON_Parse(billing_invoice_total_tax_amounts(inv)), *t;
	size_t k;
	for (k = 0; k < billing_invoice_line_count(inv); k++) {
		const billing_invoice_line *l = billing_invoice_line_at(inv, k);
		cJSON *tiers = l->tiers ? cJSON_Parse(l->tiers) : NULL, *e;
		if (l->unit_amount)
			assert_amount(doc, tag, l->unit_amount, "unit price");
		assert_amount(doc, tag, l->tax_amount, "line tax");
		assert_amount(doc, tag, l->amount, "line amount");
		assert_amount(doc, tag, -l->discount_amount, "line discount");
		cJSON_ArrayForEach(e, tiers) {
			assert_amount(doc, tag, (int64_t)cJSON_GetObjectItem(e,
				"amount")->valuedouble, "tier amount");
			assert_amount(doc, tag, (int64_t)cJSON_GetObjectItem(e,
				"unitAmount")->valuedouble, "tier unit amount");
		}
		cJSON_Delete(tiers);
	}
	assert_int_equal(cJSON_GetArraySize(taxes), 2);
	cJSON_ArrayForEach(t, taxes)
		assert_amount(doc, tag, (int64_t)cJSON_GetObjectItem(t,
			"amount")->valuedouble, "tax of a rate");
	cJSON_Delete(taxes);
	assert_amount(doc, tag, billing_invoice_subtotal(inv), "subtotal");
	assert_amount(doc, tag, -billing_invoice_total_discount(inv), "discount");
	assert_amount(doc, tag, billing_invoice_total(inv), "total");
	assert_amount(doc, tag, billing_invoice_amount_due(inv), "amount due");
}

static void documents__every_amount_in_every_locale(void **state)
{
	fx *f = *state;
	billing_invoice *inv = rich_invoice(f, "\xd0\x90\xd0\xb4\xd0\xb0 " XSS_JSON);
	size_t i;

	for (i = 0; i < sizeof(locales) / sizeof(locales[0]); i++) {
		char *html = render(f, &f->admin, billing_invoice_id(inv), locales[i]);
		assert_every_amount(html, locales[i], inv);
		assert_non_null(strstr(html, billing_invoice_number(inv)));
		assert_non_null(strstr(html, "DE123456789"));
		assert_non_null(strstr(html, "ada@doc.example"));
		assert_non_null(strstr(html, "\xd0\x90\xd0\xb4\xd0\xb0 "));   /* Ада */
		assert_non_null(strstr(html, "Werkstatt &amp; S\xc3\xb6hne"));
		assert_null(strstr(html, "DRAFT"));
		assert_inert(html);
		if (strcmp(locales[i], "en-US") == 0) {
			assert_non_null(strstr(html, EURO "133.20"));
			assert_non_null(strstr(html, EURO "117.00"));
			assert_non_null(strstr(html, "-" EURO "11.70"));
			assert_non_null(strstr(html, "VAT 19%"));
			assert_non_null(strstr(html, "Levy &lt;svg onload=alert(3)&gt; 7.5%"));
			assert_non_null(strstr(html, "7.5%"));
			assert_non_null(strstr(html, "Tier 2: 5 \xc3\x97 " EURO "6.50"));
			assert_non_null(strstr(html, "01/01/2026 \xe2\x80\x93 02/01/2026"));
		}
		if (strcmp(locales[i], "de-DE") == 0) {
			assert_non_null(strstr(html, "133,20" NBSP EURO));
			assert_non_null(strstr(html, "VAT 19" NBSP "%"));
			assert_non_null(strstr(html, "Rechnung"));
			assert_non_null(strstr(html, "01.01.2026"));
		}
		if (strcmp(locales[i], "ja-JP") == 0)
			assert_non_null(strstr(html, "2026/01/01"));
		free(html);
	}
	billing_invoice_free(inv);
}

static void documents__a_draft_then_its_finalized_document(void **state)
{
	fx *f = *state;
	char cus[64], draft[64], item[64];
	billing_invoice *done = NULL;
	char *html;

	call(f, cus, "customers.create", "{\"name\":\"B\xc3\xa9la\",\"email\":\"bela@doc.example\"}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\","
		"\"collectionMethod\":\"send_invoice\",\"daysUntilDue\":14,\"memo\":\"Thanks " XSS_JSON
		"\"}", cus);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Consulting " XSS_JSON "\",\"unitAmount\":15000,"
		"\"quantity\":2}", cus, draft);

	html = render(f, &f->admin, draft, NULL);               /* en-US by default */
	assert_non_null(strstr(html, "<span class=\"draft\">DRAFT</span>"));
	assert_non_null(strstr(html, EURO "300.00"));
	assert_non_null(strstr(html, EURO "150.00"));
	assert_non_null(strstr(html, "Consulting &lt;script&gt;"));
	assert_inert(html);
	free(html);
	html = render(f, &f->admin, draft, "de-DE");
	assert_non_null(strstr(html, "ENTWURF"));
	assert_non_null(strstr(html, "300,00" NBSP EURO));
	free(html);

	f->w->now = tbb_ts(2026, 1, 5, 12, 0, 0);
	tb_assert_rc(billing_invoice_finalize(&done, f->w->ctx, &f->admin, draft, NULL),
		BILLING_OK);
	html = render(f, &f->admin, draft, "en-GB");
	assert_null(strstr(html, "DRAFT"));
	assert_non_null(strstr(html, billing_invoice_number(done)));
	assert_non_null(strstr(html, "05/01/2026"));                       /* issued */
	assert_non_null(strstr(html, "Payment instructions"));
	assert_non_null(strstr(html, "Please pay by 19/01/2026: " EURO "300.00"));
	assert_inert(html);
	free(html);
	billing_invoice_free(done);
}

static void documents__refusals(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->t), other;
	char cus[64], draft[64], *html = (char *)"untouched";
	size_t len = 7;
	const char *t2;

	call(f, cus, "customers.create", "{\"name\":\"Cy\",\"email\":\"cy@doc.example\"}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"}", cus);

	tb_assert_rc(billing_invoice_render(&html, &len, f->w->ctx, &f->admin, draft,
		BILLING_DOCUMENT_HTML, "pt-BR"), BILLING_EINVALID);
	tb_assert_field("locale");
	assert_null(html);
	assert_int_equal(len, 0);
	tb_assert_rc(billing_invoice_render(&html, &len, f->w->ctx, &f->admin, draft,
		(billing_document_format)7, "en-US"), BILLING_EINVALID);
	tb_assert_field("format");
	tb_assert_rc(billing_invoice_render(&html, &len, f->w->ctx, &f->admin, "in_nothing",
		BILLING_DOCUMENT_HTML, NULL), BILLING_ENOTFOUND);
	tb_assert_rc(billing_invoice_render(&html, &len, f->w->ctx, &f->admin, cus,
		BILLING_DOCUMENT_HTML, NULL), BILLING_ENOTFOUND);
	t2 = tb_tenant(f->w, "Other");
	other = tb_admin(t2);
	tb_assert_rc(billing_invoice_render(&html, &len, f->w->ctx, &other, draft,
		BILLING_DOCUMENT_HTML, NULL), BILLING_ENOTFOUND);
	assert_null(html);
	html = render(f, &user, draft, "ja-JP");
	assert_non_null(strstr(html, "\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8"));  /* 請求書 */
	assert_non_null(strstr(html, "<html lang=\"ja-JP\">"));
	free(html);
}

/* A finalized send_invoice invoice of 30.00 for cus, with a footer. */
static void issued(fx *f, char out[64], const char *cus)
{
	billing_invoice *done = NULL;
	char item[64];
	call(f, out, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\","
		"\"collectionMethod\":\"send_invoice\",\"daysUntilDue\":10,\"footer\":"
		"\"Bank: DE89 3704 0044 0532 0130 00\"}", cus);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Audit\",\"amount\":3000}", cus, out);
	tb_assert_rc(billing_invoice_finalize(&done, f->w->ctx, &f->admin, out, NULL), BILLING_OK);
	billing_invoice_free(done);
}

/* A customer's address and preferred locale through the C API: stored in
 * their canonical form, cleared by a bit with NULL, refused field by field
 * with nothing changed; a version 2 params' new bits are unknown. */
static void documents__customer_address_and_locale_by_c(void **state)
{
	fx *f = *state;
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_address a = { "1 Main St", NULL, "Springfield", "62701", "IL", "us" };
	billing_address bad = { " ", NULL, NULL, NULL, NULL, "XX" };
	billing_customer *c = NULL, *u = NULL;
	const billing_address *got;

	p.name = "Homer";
	p.email = "homer@doc.example";
	p.address = &a;
	p.preferred_locale = "EN-gb";
	tb_assert_rc(billing_customer_create(&c, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	got = billing_customer_address(c);
	assert_non_null(got);
	assert_string_equal(got->line1, "1 Main St");
	assert_null(got->line2);
	assert_string_equal(got->city, "Springfield");
	assert_string_equal(got->postal_code, "62701");
	assert_string_equal(got->region, "IL");
	assert_string_equal(got->country, "US");
	assert_string_equal(billing_customer_preferred_locale(c), "en-GB");

	memset(&p, 0, sizeof(p));
	p.version = BILLING_CUSTOMER_PARAMS_VERSION;
	p.fields = BILLING_CUSTOMER_ADDRESS | BILLING_CUSTOMER_PREFERRED_LOCALE;
	p.address = &bad;
	p.preferred_locale = "pt-BR";
	tb_assert_rc(billing_customer_update(&u, f->w->ctx, &f->admin, billing_customer_id(c), &p,
		NULL), BILLING_EINVALID);
	{
		const billing_error *e = billing_error_last();
		assert_int_equal(e->field_error_count, 3);
		assert_string_equal(e->field_errors[0].field, "address.line1");
		assert_string_equal(e->field_errors[1].field, "address.country");
		assert_string_equal(e->field_errors[2].field, "preferredLocale");
	}
	assert_null(u);

	p.version = 2;                 /* the address's bits came with version 3 */
	p.address = &a;
	p.preferred_locale = "de-DE";
	tb_assert_rc(billing_customer_update(&u, f->w->ctx, &f->admin, billing_customer_id(c), &p,
		NULL), BILLING_EINVALID);
	tb_assert_field("fields");

	p.version = BILLING_CUSTOMER_PARAMS_VERSION;
	p.address = NULL;              /* a bit with NULL clears */
	p.preferred_locale = NULL;
	tb_assert_rc(billing_customer_update(&u, f->w->ctx, &f->admin, billing_customer_id(c), &p,
		NULL), BILLING_OK);
	assert_null(billing_customer_address(u));
	assert_null(billing_customer_preferred_locale(u));
	billing_customer_free(u);
	u = NULL;
	/* An address of no part is none. */
	memset(&bad, 0, sizeof(bad));
	p.address = &bad;
	p.fields = BILLING_CUSTOMER_ADDRESS;
	tb_assert_rc(billing_customer_update(&u, f->w->ctx, &f->admin, billing_customer_id(c), &p,
		NULL), BILLING_OK);
	assert_null(billing_customer_address(u));
	billing_customer_free(u);
	u = NULL;
	tb_assert_rc(billing_customer_get(&u, f->w->ctx, &f->admin, billing_customer_id(c)),
		BILLING_OK);
	assert_null(billing_customer_address(u));
	assert_int_equal(billing_customer_version(u), 3);
	billing_customer_free(u);
	billing_customer_free(c);
}

/* An answer's member as text ("" when absent or not a string). */
static void answer(fx *f, char *out, size_t size, const char *op, const char *in,
	const char *member)
{
	char *json = NULL;
	cJSON *v, *m;
	tb_assert_rc(billing_call_json(&json, f->w->ctx, &f->admin, op, in, strlen(in), NULL),
		BILLING_OK);
	v = cJSON_Parse(json);
	m = cJSON_GetObjectItemCaseSensitive(v, member);
	if (cJSON_IsString(m))
		snprintf(out, size, "%s", m->valuestring);
	else if (m && !cJSON_IsNull(m)) {
		char *t = cJSON_PrintUnformatted(m);
		snprintf(out, size, "%s", t);
		cJSON_free(t);
	} else
		out[0] = '\0';
	cJSON_Delete(v);
	billing_free(json);
}

/* The address in the buyer's block, per country, and the preferred locale
 * by default; an explicit locale wins; JSON refusals change nothing. */
static void documents__buyer_address_and_preferred_locale(void **state)
{
	fx *f = *state;
	char cus[64], us[64], id[64], got[512], in[1024], *html, *json = NULL;
	const char *field = NULL;

	call(f, cus, "customers.create", "{\"name\":\"Kl\xc3\xa4ra\",\"email\":"
		"\"klara@doc.example\",\"preferredLocale\":\"de-de\",\"address\":{\"line1\":"
		"\" Hauptstra\xc3\x9f" "e 5 \",\"line2\":\"Hinterhaus " XSS_JSON "\",\"city\":"
		"\"Berlin\",\"postalCode\":\"10115\",\"region\":\"Berlin-Mitte\","
		"\"country\":\"de\"}}");
	snprintf(in, sizeof(in), "{\"id\":\"%s\"}", cus);
	answer(f, got, sizeof(got), "customers.get", in, "address");
	assert_string_equal(got, "{\"line1\":\"Hauptstra\xc3\x9f" "e 5\",\"line2\":\"Hinterhaus "
		XSS_JSON "\",\"city\":\"Berlin\",\"postalCode\":\"10115\",\"region\":"
		"\"Berlin-Mitte\",\"country\":\"DE\"}");
	answer(f, got, sizeof(got), "customers.get", in, "preferredLocale");
	assert_string_equal(got, "de-DE");
	issued(f, id, cus);
	html = render(f, &f->admin, id, NULL);                 /* the customer's: de-DE */
	assert_non_null(strstr(html, "<html lang=\"de-DE\">"));
	assert_non_null(strstr(html, "30,00" NBSP EURO));
	assert_non_null(strstr(html, "<p>Kl\xc3\xa4ra</p><p>Hauptstra\xc3\x9f" "e 5</p><p>Hinterhaus "
		XSS_ESCAPED "</p><p>10115 Berlin</p><p>Berlin-Mitte</p><p>DE</p>"
		"<p>klara@doc.example</p>"));
	assert_inert(html);
	free(html);
	html = render(f, &f->admin, id, "en-US");              /* asked for: wins */
	assert_non_null(strstr(html, EURO "30.00"));
	free(html);

	call(f, us, "customers.create", "{\"name\":\"Homer\",\"email\":\"h@doc.example\","
		"\"address\":{\"line1\":\"742 Evergreen Terrace\",\"city\":\"Springfield\","
		"\"region\":\"OR\",\"postalCode\":\"97403\",\"country\":\"US\"}}");
	issued(f, id, us);
	html = render(f, &f->admin, id, NULL);                 /* none: en-US */
	assert_non_null(strstr(html, "<html lang=\"en-US\">"));
	assert_non_null(strstr(html, "<p>742 Evergreen Terrace</p><p>Springfield, OR 97403</p>"
		"<p>US</p>"));
	free(html);

	/* Refusals over JSON: each names its field; nothing changed. */
	{
		static const char *const bad[][2] = {
			{ "{\"address\":{\"country\":\"XX\"}}", "address.country" },
			{ "{\"address\":{\"country\":\"DEU\"}}", "address.country" },
			{ "{\"address\":{\"city\":\"\"}}", "address.city" },
			{ "{\"address\":{\"postalCode\":10115}}", "address.postalCode" },
			{ "{\"address\":{\"street\":\"x\"}}", "address" },
			{ "{\"address\":\"Berlin\"}", "address" },
			{ "{\"preferredLocale\":\"pt-BR\"}", "preferredLocale" },
		};
		size_t i;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(in, sizeof(in), "{\"id\":\"%s\",%s", cus, bad[i][0] + 1);
			tb_assert_rc(billing_call_json(&json, f->w->ctx, &f->admin, "customers.update",
				in, strlen(in), NULL), BILLING_EINVALID);
			field = bad[i][1];
			tb_assert_field(field);
			billing_free(json);
			json = NULL;
		}
	}
	snprintf(in, sizeof(in), "{\"id\":\"%s\"}", cus);
	answer(f, got, sizeof(got), "customers.get", in, "version");
	assert_string_equal(got, "1");
	/* The table's first and last codes. */
	snprintf(in, sizeof(in), "{\"id\":\"%s\",\"address\":{\"country\":\"ad\"}}", cus);
	answer(f, got, sizeof(got), "customers.update", in, "address");
	assert_string_equal(got, "{\"country\":\"AD\"}");
	snprintf(in, sizeof(in), "{\"id\":\"%s\",\"address\":{\"country\":\"Zw\"}}", cus);
	answer(f, got, sizeof(got), "customers.update", in, "address");
	assert_string_equal(got, "{\"country\":\"ZW\"}");
	/* null clears both */
	snprintf(in, sizeof(in), "{\"id\":\"%s\",\"address\":null,\"preferredLocale\":null}",
		cus);
	answer(f, got, sizeof(got), "customers.update", in, "address");
	assert_string_equal(got, "");
	answer(f, got, sizeof(got), "customers.update", in, "preferredLocale");
	assert_string_equal(got, "");
}

/* A 1x1 PNG file, in bytes and in base64. */
static const unsigned char png[] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1,
	0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89
};
#define PNG_B64 "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"

static void documents__branding_in_the_seller_block(void **state)
{
	fx *f = *state;
	billing_branding_params p = BILLING_BRANDING_PARAMS_INIT;
	billing_address a = { "Werkstra\xc3\x9f" "e 1", NULL, "K\xc3\xb6ln", "50667", NULL, "de" };
	billing_principal user = tb_user(f->t);
	billing_branding *b = NULL;
	unsigned char gif[] = { 'G', 'I', 'F', '8', '9', 'a', 0, 0 }, *big;
	char cus[64], id[64], got[1024], in[1024], *html, *json = NULL;
	const unsigned char *logo;
	size_t len, i;
	int64_t at;

	tb_assert_rc(billing_branding_get(&b, f->w->ctx, &user), BILLING_OK);   /* none yet */
	assert_null(billing_branding_legal_name(b));
	assert_null(billing_branding_address(b));
	assert_null(billing_branding_logo(b, &len));
	assert_int_equal(len, 0);
	assert_null(billing_branding_logo_type(b));
	assert_int_equal(billing_branding_updated_at(b), 0);
	billing_branding_free(b);
	b = NULL;

	p.legal_name = "Werkstatt GmbH " XSS;
	p.address = &a;
	p.tax_id = "DE 123 456 789";
	p.logo = png;
	p.logo_len = sizeof(png);
	p.accent_color = "#AA3300";
	p.footer = "Gesch\xc3\xa4" "ftsf\xc3\xbchrer: Ada " XSS;
	tb_assert_rc(billing_branding_set(&b, f->w->ctx, &user, &p), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_branding_set(&b, f->w->ctx, &f->admin, &p), BILLING_OK);
	assert_string_equal(billing_branding_legal_name(b), "Werkstatt GmbH " XSS);
	assert_string_equal(billing_branding_address(b)->country, "DE");
	assert_string_equal(billing_branding_tax_id(b), "DE 123 456 789");
	assert_string_equal(billing_branding_accent_color(b), "#aa3300");
	assert_string_equal(billing_branding_logo_type(b), "image/png");
	logo = billing_branding_logo(b, &len);
	assert_int_equal(len, sizeof(png));
	assert_memory_equal(logo, png, sizeof(png));
	assert_non_null(billing_branding_footer(b));
	at = billing_branding_updated_at(b);
	assert_true(at > 0);
	billing_branding_free(b);
	b = NULL;
	tb_assert_rc(billing_branding_get(&b, f->w->ctx, &user), BILLING_OK);    /* a USER reads */
	assert_string_equal(billing_branding_address(b)->city, "K\xc3\xb6ln");
	logo = billing_branding_logo(b, NULL);
	assert_memory_equal(logo, png, sizeof(png));
	billing_branding_free(b);
	b = NULL;

	call(f, cus, "customers.create", "{\"name\":\"Ida\",\"email\":\"ida@doc.example\"}");
	issued(f, id, cus);
	html = render(f, &f->admin, id, "de-DE");
	assert_non_null(strstr(html, "<img class=\"logo\" alt=\"\" src=\"data:image/png;base64,"
		PNG_B64 "\">"));
	assert_non_null(strstr(html, "<h2>Von</h2><p>Werkstatt GmbH " XSS_ESCAPED "</p><p>Werkstra"
		"\xc3\x9f" "e 1</p><p>50667 K\xc3\xb6ln</p><p>DE</p><p>USt-IdNr. DE 123 456 789</p>"));
	assert_non_null(strstr(html, "border-top:4px solid #aa3300"));
	assert_non_null(strstr(html, "Ada " XSS_ESCAPED));
	assert_inert(html);
	free(html);

	/* By JSON: a JPEG, and every member replaced (absent: not set). */
	call(f, NULL, "branding.set", "{\"logo\":\"/9j/4AAQSkZJRg==\",\"legalName\":\"Solo\"}");
	answer(f, got, sizeof(got), "branding.get", "{}", "logoType");
	assert_string_equal(got, "image/jpeg");
	answer(f, got, sizeof(got), "branding.get", "{}", "taxId");
	assert_string_equal(got, "");
	html = render(f, &f->admin, id, NULL);
	assert_non_null(strstr(html, "src=\"data:image/jpeg;base64,/9j/4AAQSkZJRg==\""));
	assert_non_null(strstr(html, "<h2>From</h2><p>Solo</p></div>"));
	assert_non_null(strstr(html, "#1f4e79"));                 /* no accent: the default */
	free(html);

	/* Refusals: each names its field; nothing changed. */
	answer(f, got, sizeof(got), "branding.get", "{}", "updatedAt");
	snprintf(in, sizeof(in), "%s", got);
	memset(&p, 0, sizeof(p));
	p.version = BILLING_BRANDING_PARAMS_VERSION;
	p.logo = gif;
	p.logo_len = sizeof(gif);
	tb_assert_rc(billing_branding_set(NULL, f->w->ctx, &f->admin, &p), BILLING_EINVALID);
	tb_assert_field("logo");
	big = calloc(1, BILLING_BRANDING_LOGO_MAX + 1);
	assert_non_null(big);
	memcpy(big, png, sizeof(png));
	p.logo = big;
	p.logo_len = BILLING_BRANDING_LOGO_MAX + 1;
	tb_assert_rc(billing_branding_set(NULL, f->w->ctx, &f->admin, &p), BILLING_EINVALID);
	tb_assert_field("logo");
	p.logo_len = BILLING_BRANDING_LOGO_MAX;              /* the largest is taken */
	tb_assert_rc(billing_branding_set(NULL, f->w->ctx, &f->admin, &p), BILLING_OK);
	free(big);
	answer(f, got, sizeof(got), "branding.get", "{}", "updatedAt");
	snprintf(in, sizeof(in), "%s", got);
	p.logo = NULL;
	p.version = 0;
	tb_assert_rc(billing_branding_set(NULL, f->w->ctx, &f->admin, &p), BILLING_EINVALID);
	tb_assert_field("version");
	{
		static const char *const bad[][2] = {
			{ "{\"logo\":\"R0lGODlhAQABAAAAACw=\"}", "logo" },          /* a GIF */
			{ "{\"logo\":\"abc\"}", "logo" },
			{ "{\"logo\":\"ab!d\"}", "logo" },
			{ "{\"logo\":\"a=bc\"}", "logo" },
			{ "{\"logo\":\"/9j=\"}", "logo" },
			{ "{\"logo\":\"/9l=\"}", "logo" },                            /* trailing bits */
			{ "{\"logo\":\"\"}", "logo" },
			{ "{\"accentColor\":\"red\"}", "accentColor" },
			{ "{\"accentColor\":\"#12345g\"}", "accentColor" },
			{ "{\"legalName\":\" \"}", "legalName" },
			{ "{\"taxId\":\"\"}", "taxId" },
			{ "{\"footer\":\"\"}", "footer" },
			{ "{\"address\":{\"country\":\"XX\"}}", "address.country" },
			{ "{\"address\":{\"street\":\"x\"}}", "address" },
			{ "{\"address\":{\"city\":5}}", "address" },
		};
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			tb_assert_rc(billing_call_json(&json, f->w->ctx, &f->admin, "branding.set",
				bad[i][0], strlen(bad[i][0]), NULL), BILLING_EINVALID);
			tb_assert_field(bad[i][1]);
			billing_free(json);
			json = NULL;
		}
	}
	answer(f, got, sizeof(got), "branding.get", "{}", "updatedAt");
	assert_string_equal(got, in);
	/* An empty address is none. */
	call(f, NULL, "branding.set", "{\"address\":{},\"footer\":\"Line 1\\nLine 2\"}");
	answer(f, got, sizeof(got), "branding.get", "{}", "address");
	assert_string_equal(got, "");
}

/* The tenant's locale (issue #25 item 3): en-US until set; an ADMIN sets
 * it (any case, kept in the table's spelling); a document whose customer
 * has no preferredLocale is written in it, the customer's and an asked-for
 * locale still win; a version 1 params struct has no locale; refusals name
 * the field and change nothing; another tenant keeps en-US. */
static void documents__tenant_locale_by_default(void **state)
{
	fx *f = *state;
	billing_branding_params p = BILLING_BRANDING_PARAMS_INIT;
	billing_principal user = tb_user(f->t), other_admin;
	billing_branding *b = NULL;
	char cus[64], fr[64], id[64], fr_id[64], got[512], at[512], *html, *json = NULL;
	const char *other = tb_tenant(f->w, "Other");
	size_t i;

	tb_assert_rc(billing_branding_get(&b, f->w->ctx, &user), BILLING_OK);   /* none yet */
	assert_string_equal(billing_branding_locale(b), "en-US");
	billing_branding_free(b);
	b = NULL;
	answer(f, got, sizeof(got), "branding.get", "{}", "locale");
	assert_string_equal(got, "en-US");
	call(f, cus, "customers.create", "{\"name\":\"Ida\",\"email\":\"ida@locale.example\"}");
	issued(f, id, cus);
	html = render(f, &f->admin, id, NULL);                 /* nothing set: en-US */
	assert_non_null(strstr(html, "<html lang=\"en-US\">"));
	assert_non_null(strstr(html, EURO "30.00"));
	free(html);

	p.locale = "de-de";
	tb_assert_rc(billing_branding_set(&b, f->w->ctx, &user, &p), BILLING_EFORBIDDEN);
	assert_null(b);
	tb_assert_rc(billing_branding_set(&b, f->w->ctx, &f->admin, &p), BILLING_OK);
	assert_string_equal(billing_branding_locale(b), "de-DE");
	billing_branding_free(b);
	b = NULL;
	tb_assert_rc(billing_branding_get(&b, f->w->ctx, &user), BILLING_OK);   /* a USER reads */
	assert_string_equal(billing_branding_locale(b), "de-DE");
	billing_branding_free(b);
	b = NULL;
	html = render(f, &f->admin, id, NULL);                 /* the tenant's: de-DE */
	assert_non_null(strstr(html, "<html lang=\"de-DE\">"));
	assert_non_null(strstr(html, "30,00" NBSP EURO));
	free(html);
	html = render(f, &f->admin, id, "en-GB");              /* asked for: wins */
	assert_non_null(strstr(html, "<html lang=\"en-GB\">"));
	free(html);
	call(f, fr, "customers.create", "{\"name\":\"Zo\xc3\xa9\",\"email\":\"zoe@locale.example\","
		"\"preferredLocale\":\"fr-FR\"}");
	issued(f, fr_id, fr);
	html = render(f, &f->admin, fr_id, NULL);              /* the customer's: wins */
	assert_non_null(strstr(html, "<html lang=\"fr-FR\">"));
	free(html);

	/* Another tenant's branding and documents are its own: en-US. */
	other_admin = tb_admin(other);
	tb_assert_rc(billing_branding_get(&b, f->w->ctx, &other_admin), BILLING_OK);
	assert_string_equal(billing_branding_locale(b), "en-US");
	billing_branding_free(b);
	b = NULL;

	/* Refusals: each names locale; nothing changed. */
	answer(f, got, sizeof(got), "branding.get", "{}", "updatedAt");
	snprintf(at, sizeof(at), "%s", got);
	p.locale = "pt-BR";
	tb_assert_rc(billing_branding_set(NULL, f->w->ctx, &f->admin, &p), BILLING_EINVALID);
	tb_assert_field("locale");
	{
		static const char *const bad[] = {
			"{\"locale\":\"pt-BR\"}", "{\"locale\":\"\"}", "{\"locale\":\"de\"}",
			"{\"locale\":\"de-DE \"}", "{\"locale\":5}",
		};
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			tb_assert_rc(billing_call_json(&json, f->w->ctx, &f->admin, "branding.set",
				bad[i], strlen(bad[i]), NULL), BILLING_EINVALID);
			tb_assert_field("locale");
			billing_free(json);
			json = NULL;
		}
	}
	answer(f, got, sizeof(got), "branding.get", "{}", "updatedAt");
	assert_string_equal(got, at);
	answer(f, got, sizeof(got), "branding.get", "{}", "locale");
	assert_string_equal(got, "de-DE");

	/* By JSON, ja-jp; then a set without it (the whole branding) is en-US. */
	answer(f, got, sizeof(got), "branding.set", "{\"locale\":\"ja-jp\"}", "locale");
	assert_string_equal(got, "ja-JP");
	html = render(f, &f->admin, id, NULL);
	assert_non_null(strstr(html, "<html lang=\"ja-JP\">"));
	free(html);
	answer(f, got, sizeof(got), "branding.set", "{\"legalName\":\"Solo\"}", "locale");
	assert_string_equal(got, "en-US");
	/* A version 1 struct ends before locale: what follows it is not read. */
	p.version = 1;
	p.locale = "not read";
	tb_assert_rc(billing_branding_set(&b, f->w->ctx, &f->admin, &p), BILLING_OK);
	assert_string_equal(billing_branding_locale(b), "en-US");
	billing_branding_free(b);
	html = render(f, &f->admin, id, NULL);
	assert_non_null(strstr(html, "<html lang=\"en-US\">"));
	free(html);
}

/* The sums after the total (the balance applied, a credit note, the amount
 * paid), the reverse-charge note, the footer, each status's word, and a
 * product's taxRate named "Tax". */
static void documents__balance_credit_notes_payment_notes_and_statuses(void **state)
{
	fx *f = *state;
	billing_balance_adjustment_params bp = BILLING_BALANCE_ADJUSTMENT_PARAMS_INIT;
	billing_credit_note_params cp = BILLING_CREDIT_NOTE_PARAMS_INIT;
	billing_balance_transaction *bt = NULL;
	billing_credit_note *cn = NULL;
	billing_invoice *inv = NULL;
	char cus[64], a[64], b[64], c[64], prod[64], plan[64], sub[64], *html;
	billing_subscription *s = NULL;

	call(f, cus, "customers.create", "{\"name\":\"Muster GmbH\",\"email\":"
		"\"ap@muster.example\",\"taxExempt\":\"reverse\",\"taxIds\":[{\"type\":"
		"\"eu_vat\",\"value\":\"DE123456789\"}]}");
	bp.customer_id = cus;
	bp.amount = -500;
	bp.currency = "EUR";
	bp.description = "Goodwill";
	tb_assert_rc(billing_customer_balance_adjust(&bt, f->w->ctx, &f->admin, &bp, NULL),
		BILLING_OK);
	billing_balance_transaction_free(bt);
	issued(f, a, cus);                       /* 30.00, 5.00 of it from the balance */
	cp.invoice_id = a;
	cp.amount = 1000;
	tb_assert_rc(billing_credit_note_create(&cn, f->w->ctx, &f->admin, &cp, NULL), BILLING_OK);
	billing_credit_note_free(cn);
	html = render(f, &f->admin, a, "en-US");
	assert_non_null(strstr(html, "<td>Applied balance</td><td class=\"n\">-" EURO "5.00"));
	assert_non_null(strstr(html, "<td>Credit notes</td><td class=\"n\">-" EURO "10.00"));
	assert_non_null(strstr(html, "Amount due</td><td class=\"n\">" EURO "15.00"));
	assert_non_null(strstr(html, "Reverse charge: VAT to be accounted for by the recipient."));
	assert_non_null(strstr(html, "Bank: DE89 3704 0044 0532 0130 00"));
	assert_non_null(strstr(html, "<dd>Open</dd>"));
	free(html);
	tb_assert_rc(billing_invoice_pay_out_of_band(&inv, f->w->ctx, &f->admin, a, NULL),
		BILLING_OK);
	billing_invoice_free(inv);
	inv = NULL;
	html = render(f, &f->admin, a, "fr-FR");
	assert_non_null(strstr(html, "<dd>Pay\xc3\xa9" "e</dd>"));
	assert_non_null(strstr(html, "Montant pay\xc3\xa9"));
	assert_non_null(strstr(html, "Autoliquidation"));
	assert_null(strstr(html, "Instructions de paiement"));   /* nothing left to pay */
	free(html);

	issued(f, b, cus);
	tb_assert_rc(billing_invoice_mark_uncollectible(&inv, f->w->ctx, &f->admin, b, NULL),
		BILLING_OK);
	billing_invoice_free(inv);
	inv = NULL;
	html = render(f, &f->admin, b, "es-ES");
	assert_non_null(strstr(html, "<dd>Incobrable</dd>"));
	free(html);
	issued(f, c, cus);
	tb_assert_rc(billing_invoice_void(&inv, f->w->ctx, &f->admin, c, NULL), BILLING_OK);
	billing_invoice_free(inv);
	inv = NULL;
	html = render(f, &f->admin, c, "de-DE");
	assert_non_null(strstr(html, "<dd>Storniert</dd>"));
	free(html);

	/* a product's taxRate: one sum named by the locale's word for tax */
	call(f, prod, "products.create", "{\"name\":\"Taxed\",\"sku\":\"TAXED\","
		"\"priceCents\":0,\"taxRate\":\"0.2\"}");
	call(f, plan, "plans.create", "{\"productId\":\"%s\",\"code\":\"DOC-LEGACY\",\"name\":"
		"\"Legacy\",\"amount\":1000,\"currency\":\"EUR\",\"interval\":\"MONTH\"}", prod);
	call(f, cus, "customers.create", "{\"name\":\"Lee\",\"email\":\"lee@doc.example\"}");
	call(f, sub, "subscriptions.create", "{\"customerId\":\"%s\",\"planId\":\"%s\"}", cus,
		plan);
	tb_assert_rc(billing_subscription_get(&s, f->w->ctx, &f->admin, sub), BILLING_OK);
	html = render(f, &f->admin, billing_subscription_latest_invoice_id(s), "en-GB");
	assert_non_null(strstr(html, "<td>VAT</td><td class=\"n\">" EURO "2.00</td>"));
	assert_non_null(strstr(html, EURO "12.00"));
	free(html);
	billing_subscription_free(s);
}

#ifdef BILLING_PDF
/* The PDF of invoice id in locale; *len its length. */
static char *render_pdf(fx *f, const char *id, const char *locale, size_t *len)
{
	char *pdf = NULL;
	tb_assert_rc(billing_invoice_render(&pdf, len, f->w->ctx, &f->admin, id,
		BILLING_DOCUMENT_PDF, locale), BILLING_OK);
	assert_non_null(pdf);
	assert_true(*len > 1000);
	assert_memory_equal(pdf, "%PDF-", 5);
	return pdf;
}

/* pdf written to a new file of /tmp; its name in path. */
static void pdf_file(char path[64], const char *pdf, size_t len)
{
	int fd;
	snprintf(path, 64, "/tmp/billing-doc-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pdf, len), (ssize_t)len);
	close(fd);
}

/* Whether buf (n bytes) holds what (m bytes). */
static int holds(const char *buf, size_t n, const char *what, size_t m)
{
	size_t i;
	for (i = 0; m <= n && i <= n - m; i++)
		if (memcmp(buf + i, what, m) == 0)
			return 1;
	return 0;
}

/* What cmd writes to its standard output (it must succeed). */
static char *command_output(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, cap = 1 << 16;
	char *out = malloc(cap);
	assert_non_null(p);
	assert_non_null(out);
	for (;;) {
		size_t got;
		if (cap - n < 4096) {
			out = realloc(out, cap *= 2);
			assert_non_null(out);
		}
		if ((got = fread(out + n, 1, cap - n - 1, p)) == 0)
			break;
		n += got;
	}
	out[n] = '\0';
	if (pclose(p) != 0)
		fail_msg("%s failed", cmd);
	return out;
}

/* The PDF's text as pdftotext (poppler-utils) reads it (-layout: in its
 * columns; else in reading order), its spaces plain; qpdf --check finds
 * no error or warning in it first. */
static char *pdf_text_as(const char *pdf, size_t len, int layout)
{
	char path[64], cmd[256], *text;
	int rc;
	pdf_file(path, pdf, len);
	snprintf(cmd, sizeof(cmd), "qpdf --check %s >/dev/null", path);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("qpdf --check: exit %d", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
	snprintf(cmd, sizeof(cmd), "pdftotext %s-enc UTF-8 %s -", layout ? "-layout " : "", path);
	text = command_output(cmd);
	if (getenv("BILLING_KEEP_PDF"))          /* to look at one: its name */
		fprintf(stderr, "kept %s\n", path);
	else
		unlink(path);
	plain_spaces(text);
	return text;
}

/* s without its spaces, in place. */
static void no_spaces(char *s)
{
	char *w = s;
	for (; *s; s++)
		if (*s != ' ')
			*w++ = *s;
	*w = '\0';
}

static char *pdf_text(const char *pdf, size_t len)
{
	return pdf_text_as(pdf, len, 1);
}

static size_t occurrences(const char *s, const char *what)
{
	size_t n = 0;
	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

static void documents__pdf_every_amount_in_every_locale(void **state)
{
	fx *f = *state;
	billing_invoice *inv = rich_invoice(f, "\xd0\x90\xd0\xb4\xd0\xb0 " XSS_JSON);
	size_t i, len;

	for (i = 0; i < sizeof(locales) / sizeof(locales[0]); i++) {
		char *pdf = render_pdf(f, billing_invoice_id(inv), locales[i], &len);
		char *text = pdf_text(pdf, len);
		assert_every_amount(text, locales[i], inv);
		assert_non_null(strstr(text, billing_invoice_number(inv)));
		assert_non_null(strstr(text, "DE123456789"));
		assert_non_null(strstr(text, "ada@doc.example"));
		assert_non_null(strstr(text, "\xd0\x90\xd0\xb4\xd0\xb0 <script>"));  /* as text */
		assert_non_null(strstr(text, "Werkstatt & S\xc3\xb6hne"));
		assert_null(strstr(text, "DRAFT"));
		if (strcmp(locales[i], "en-US") == 0) {
			assert_non_null(strstr(text, "VAT 19%"));
			assert_non_null(strstr(text, "Tier 2: 5 \xc3\x97 " EURO "6.50"));
			assert_non_null(strstr(text, "01/01/2026 \xe2\x80\x93 02/01/2026"));
			assert_non_null(strstr(text, "Page 1 of 1"));
		}
		if (strcmp(locales[i], "de-DE") == 0)
			assert_non_null(strstr(text, "Seite 1 von 1"));
		if (strcmp(locales[i], "ja-JP") == 0)
			assert_non_null(strstr(text, "\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8")); /* 請求書 */
		free(text);
		free(pdf);
	}
	billing_invoice_free(inv);
}

/* A customer name in each script comes out of the PDF as the same text. */
static void documents__pdf_names_in_every_script(void **state)
{
	static const char *const names[] = {
		"Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m",                                   /* Zoë Ångström */
		"\xd0\x90\xd0\xb4\xd0\xb0 \xd0\x9b\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xb9\xd1\x81", /* Ада Лавлейс */
		"\xce\x91\xce\xbb\xce\xad\xce\xbe\xce\xb1\xce\xbd\xce\xb4\xcf\x81\xce\xbf\xcf\x82", /* Αλέξανδρος */
		"\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e",                   /* 山田太郎 */
		"\xd9\x81\xd8\xa7\xd8\xb7\xd9\x85\xd8\xa9",                           /* فاطمة */
	};
	fx *f = *state;
	size_t i, len;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char cus[64], id[64], email[64], *pdf, *text;
		snprintf(email, sizeof(email), "script%zu@doc.example", i);
		call(f, cus, "customers.create", "{\"name\":\"%s\",\"email\":\"%s\"}", names[i],
			email);
		issued(f, id, cus);
		pdf = render_pdf(f, id, i == 3 ? "ja-JP" : "en-GB", &len);
		/* In reading order: -layout spaces out the letters of a
		 * right-to-left word by their positions. */
		text = pdf_text_as(pdf, len, 0);
		if (i == 4) {
			/* pdftotext splits a right-to-left word where its letters
			 * join (ف اطمة); the image shows it whole. */
			no_spaces(text);
			assert_non_null(strstr(text, names[i]));
		} else if (!strstr(text, names[i]))
			fail_msg("name %zu (%s) is not in the PDF's text:\n%s", i, names[i], text);
		assert_non_null(strstr(text, email));
		free(text);
		free(pdf);
	}
}

/* 300 lines: several pages, each with the header and its number, every
 * line's amount on one; the same bytes on every rendering. */
static void documents__pdf_pages_and_same_bytes(void **state)
{
	fx *f = *state;
	char cus[64], draft[64], item[64], want[64], *pdf, *again, *text, page[64];
	size_t i, len, len2, pages;

	call(f, cus, "customers.create", "{\"name\":\"Long\",\"email\":\"long@doc.example\"}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"}", cus);
	for (i = 0; i < 300; i++)
		call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
			"\"currency\":\"EUR\",\"description\":\"Line %zu\",\"amount\":%zu}", cus, draft,
			i + 1, 10000 + 101 * i);
	pdf = render_pdf(f, draft, "en-US", &len);
	text = pdf_text(pdf, len);
	pages = occurrences(text, "Unit price");
	assert_true(pages > 1);
	snprintf(page, sizeof(page), "Page 1 of %zu", pages);
	assert_non_null(strstr(text, page));
	snprintf(page, sizeof(page), "Page %zu of %zu", pages, pages);
	assert_non_null(strstr(text, page));
	snprintf(page, sizeof(page), " of %zu", pages);
	assert_int_equal(occurrences(text, page), pages);
	for (i = 0; i < 300; i++) {
		assert_true(billing__doc_money(want, sizeof(want), billing__locale_find("en-US"),
			(int64_t)(10000 + 101 * i), "EUR") > 0);
		if (!strstr(text, want))
			fail_msg("line %zu's amount %s is not in the PDF", i + 1, want);
	}
	assert_non_null(strstr(text, "DRAFT"));
	/* Another day, the same document: the same bytes. */
	f->w->now += 86400;
	again = render_pdf(f, draft, "en-US", &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(pdf, again, len);
	free(again);
	free(text);
	free(pdf);
}

/* Page 1 at 50 dpi against the reviewed image (tests/e2e/documents/), through
 * pdftoppm and tests/support/png_compare.py. BILLING_UPDATE_REFERENCE=1
 * writes the image instead (look at it before committing it). */
static void documents__pdf_matches_the_reviewed_image(void **state)
{
	fx *f = *state;
	billing_invoice *inv = rich_invoice(f, "Ada Lovelace");
	char path[64], cmd[1024], page_png[80];
	size_t len;
	char *pdf = render_pdf(f, billing_invoice_id(inv), "en-US", &len);
	const char *update = getenv("BILLING_UPDATE_REFERENCE");
	int rc;

	pdf_file(path, pdf, len);
	snprintf(page_png, sizeof(page_png), "%s-page", path);
	snprintf(cmd, sizeof(cmd), "pdftoppm -r 50 -png -f 1 -l 1 -singlefile %s %s", path, page_png);
	assert_int_equal(system(cmd), 0);
	if (update && strcmp(update, "1") == 0)
		snprintf(cmd, sizeof(cmd), "cp %s.png %s/tests/e2e/documents/invoice-en-US.png", page_png,
			BILLING_SOURCE_DIR);
	else
		snprintf(cmd, sizeof(cmd), "python3 %s/tests/support/png_compare.py %s.png "
			"%s/tests/e2e/documents/invoice-en-US.png", BILLING_SOURCE_DIR, page_png,
			BILLING_SOURCE_DIR);
	rc = system(cmd);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "%s.png", page_png);
	unlink(cmd);
	assert_int_equal(rc, 0);
	free(pdf);
	billing_invoice_free(inv);
}

/* The images of a PDF as pdfimages -list (poppler-utils) lists them, one
 * a line: "type WxH encoding XPPIxYPPI" ("image 480x32 image 192x192"). */
static char *pdf_images(const char *pdf, size_t len)
{
	char path[64], cmd[128], *list, *line, *save = NULL, *out;
	size_t at = 0, size;
	pdf_file(path, pdf, len);
	snprintf(cmd, sizeof(cmd), "pdfimages -list %s", path);
	list = command_output(cmd);
	unlink(path);
	size = strlen(list) + 1;             /* each row is longer than what it gives */
	out = calloc(1, size);
	assert_non_null(out);
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char type[16], color[16], enc[16], interp[8];
		unsigned page, num, w, h, comp, bpc, obj, gen, xppi, yppi;
		if (sscanf(line, "%u %u %15s %u %u %15s %u %u %15s %7s %u %u %u %u", &page, &num,
			type, &w, &h, color, &comp, &bpc, enc, interp, &obj, &gen, &xppi, &yppi) != 14)
			continue;                             /* the header's two lines */
		at += (size_t)snprintf(out + at, size - at, "%s %ux%u %s %ux%u\n", type, w, h, enc,
			xppi, yppi);
	}
	free(list);
	return out;
}

/* RGB PNG files of one colour: 480 x 32 and 4 x 1 pixels; a baseline JPEG
 * of 16 x 128 grey pixels (one component, written by hand: a table of ones,
 * one Huffman code each for DC and AC, every block its DC of 0 and EOB); a
 * PNG that says it is 5000 pixels wide and stops after its header. */
#define WIDE_PNG_B64 "iVBORw0KGgoAAAANSUhEUgAAAeAAAAAgCAIAAABFKTzCAAAAdUlEQVR42u3UMQ0AAAgEsXeC" \
	"I/zgHguMDE2q4IZL9QDwUCQAMGgADBrAoAEwaACDBsCgATBoAIMGwKABDBoAgwbAoAEMGgCDBjBoAAwa" \
	"wKABMGgADBrAoAEwaACDBsCgATBoAIMGwKABDBoAgwYwaAAMGoCLBaOK6xwkCNqIAAAAAElFTkSuQmCC"
#define SMALL_PNG_B64 "iVBORw0KGgoAAAANSUhEUgAAAAQAAAABCAIAAAB2XpiaAAAADUlEQVR42mNYZcwARwAZJwN1" \
	"RY84XAAAAABJRU5ErkJggg=="
#define TALL_JPEG_B64 "/9j/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB" \
	"AQEBAQEBAQEBAQEBAQEBAQH/wAALCACAABABAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAA" \
	"AAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AAAAAAAAAAAD/2Q=="
#define HUGE_PNG_B64 "iVBORw0KGgoAAAANSUhEUgAAE4gAAAABCAIAAAC9c9Pf"

/* The logo in the PDF's seller block: one image, the PNG's pixels or the
 * JPEG file itself, at 96 pixels to the inch made smaller to fit 180 x 48
 * points, its aspect kept (the same resolution across and down); none
 * without a logo or with a damaged or oversized one, the document drawn
 * all the same; the same bytes on every rendering; the HTML unchanged. */
static void documents__pdf_logo_in_the_seller_block(void **state)
{
	static const char *const damaged[] = {
		PNG_B64,                /* the signature and IHDR only */
		"/9j/4AAQSkZJRg==",     /* SOI and the start of APP0 */
		HUGE_PNG_B64,
	};
	fx *f = *state;
	char cus[64], id[64], *pdf, *again, *images, *html, *text;
	size_t i, len, len2;

	call(f, cus, "customers.create", "{\"name\":\"Lou\",\"email\":\"lou@doc.example\"}");
	issued(f, id, cus);
	pdf = render_pdf(f, id, "en-GB", &len);
	images = pdf_images(pdf, len);
	assert_string_equal(images, "");                        /* no logo: no image */
	free(images);
	free(pdf);

	/* 480 px at 0.375 pt each: 180 x 12 points, 192 px to the inch. */
	call(f, NULL, "branding.set", "{\"logo\":\"" WIDE_PNG_B64 "\"}");
	pdf = render_pdf(f, id, "en-GB", &len);
	images = pdf_images(pdf, len);
	assert_string_equal(images, "image 480x32 image 192x192\n");
	free(images);
	again = render_pdf(f, id, "en-GB", &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(pdf, again, len);
	free(again);
	text = pdf_text(pdf, len);                               /* qpdf --check clean */
	assert_non_null(strstr(text, "From"));
	free(text);
	free(pdf);
	html = render(f, &f->admin, id, "en-GB");
	assert_non_null(strstr(html, "<body>\n<img class=\"logo\" alt=\"\" src=\"data:image/png;"
		"base64," WIDE_PNG_B64 "\">\n<h1 class=\"accent\">Invoice</h1>"));
	free(html);

	/* 128 px down into 48 points: 0.375 pt a pixel; the file as it is. */
	call(f, NULL, "branding.set", "{\"logo\":\"" TALL_JPEG_B64 "\"}");
	pdf = render_pdf(f, id, "en-GB", &len);
	images = pdf_images(pdf, len);
	assert_string_equal(images, "image 16x128 jpeg 192x192\n");
	free(images);
	free(pdf);

	/* Small enough: its own size, 0.75 pt a pixel. */
	call(f, NULL, "branding.set", "{\"logo\":\"" SMALL_PNG_B64 "\"}");
	pdf = render_pdf(f, id, "en-GB", &len);
	images = pdf_images(pdf, len);
	assert_string_equal(images, "image 4x1 image 96x96\n");
	free(images);
	free(pdf);

	for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		call(f, NULL, "branding.set", "{\"logo\":\"%s\"}", damaged[i]);
		pdf = render_pdf(f, id, "en-GB", &len);
		images = pdf_images(pdf, len);
		if (strcmp(images, "") != 0)
			fail_msg("damaged logo %zu drawn: %s", i, images);
		free(images);
		free(pdf);
	}
}
#else
static void documents__pdf_unsupported_without_cairo(void **state)
{
	fx *f = *state;
	char cus[64], draft[64], *pdf = NULL;
	size_t len = 0;
	call(f, cus, "customers.create", "{\"name\":\"No PDF\",\"email\":\"nopdf@doc.example\"}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"}", cus);
	tb_assert_rc(billing_invoice_render(&pdf, &len, f->w->ctx, &f->admin, draft,
		BILLING_DOCUMENT_PDF, NULL), BILLING_EINVALID);
	tb_assert_field("format");
	assert_string_equal(billing_error_last()->reason, "unsupported_format");
	assert_null(pdf);
}
#endif
static char *render_note(fx *f, const billing_principal *who, const char *id,
	const char *locale)
{
	char *html = NULL;
	size_t len = 0;
	tb_assert_rc(billing_credit_note_render(&html, &len, f->w->ctx, who, id,
		BILLING_DOCUMENT_HTML, locale), BILLING_OK);
	assert_non_null(html);
	assert_int_equal(strlen(html), len);
	return html;
}

/* The JSON of credit note id (as credit_notes.get answers it). */
static cJSON *note_json(fx *f, const char *id)
{
	char in[128], *out = NULL;
	cJSON *v;
	snprintf(in, sizeof(in), "{\"id\":\"%s\"}", id);
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "credit_notes.get", in,
		strlen(in), NULL), BILLING_OK);
	v = cJSON_Parse(out);
	billing_free(out);
	assert_non_null(v);
	return v;
}

static int64_t jint(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	assert_true(cJSON_IsNumber(v));
	return (int64_t)v->valuedouble;
}

/* doc (a note's HTML, or its PDF's text) holds every amount of note in
 * the locale tag, its number, the invoice's, the seller and the buyer; the
 * note's discount. */
static int64_t note_amounts(const char *doc, const char *tag, const cJSON *note,
	const billing_invoice *inv)
{
	const cJSON *l, *t;
	int64_t discount = 0;
	cJSON_ArrayForEach(l, cJSON_GetObjectItem(cJSON_GetObjectItem(note, "lines"), "data")) {
		const cJSON *d;
		int64_t off = 0;
		assert_amount(doc, tag, jint(l, "amount"), "note line amount");
		assert_amount(doc, tag, jint(l, "taxAmount"), "note line tax");
		cJSON_ArrayForEach(d, cJSON_GetObjectItem(l, "discountAmounts"))
			off += jint(d, "amount");
		assert_true(off > 0);
		assert_amount(doc, tag, -off, "note line discount");
		discount += off;
	}
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(note, "totalTaxAmounts"))
		assert_amount(doc, tag, jint(t, "amount"), "note tax of a rate");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(note, "totalTaxAmounts")), 2);
	assert_amount(doc, tag, jint(note, "subtotal") + discount,
		"note subtotal before discounts");
	assert_amount(doc, tag, -discount, "note discount");
	assert_amount(doc, tag, jint(note, "total"), "note total");
	assert_amount(doc, tag, 1250, "unit price of the line credited");
	assert_non_null(strstr(doc, "CN-000001"));
	assert_non_null(strstr(doc, billing_invoice_number(inv)));
	assert_non_null(strstr(doc, "Werkstatt Rechtsform GmbH"));
	assert_non_null(strstr(doc, "DE999999999"));
	assert_non_null(strstr(doc, "\xce\x91\xce\xbb\xce\xaf\xce\xba\xce\xb7 "));
	return discount;
}

/* A credit note of one line of an invoice with a 10 % coupon and two tax
 * rates, by quantity, with a reason and a hostile memo: every amount of the
 * note (each line's amount, discount and tax, the tax of each rate, the
 * subtotal before discounts, the discount, the total) in each locale, the
 * quantity and the invoice line's unit price, the note's and the invoice's
 * numbers, the reason's word, the seller's branding; the customer's
 * preferredLocale by default; then a paid invoice's note credited to the
 * balance and settled outside, and a void note. */
static void documents__credit_note_in_every_locale(void **state)
{
	fx *f = *state;
	char vat[64], levy[64], plan[64], coupon[64], cus[64], sub[64], cn[64], line[96];
	char *html, other[64], paid[64];
	billing_subscription *s = NULL;
	billing_invoice *inv = NULL;
	cJSON *note;
	int64_t discount = 0;
	size_t i;

	call(f, NULL, "branding.set", "{\"legalName\":\"Werkstatt Rechtsform GmbH\","
		"\"taxId\":\"DE999999999\",\"footer\":\"Danke " XSS_JSON "\"}");
	call(f, vat, "tax_rates.create", "{\"displayName\":\"VAT\",\"percentage\":\"19\","
		"\"inclusive\":false}");
	call(f, levy, "tax_rates.create", "{\"displayName\":\"Levy\",\"percentage\":\"7.5\","
		"\"inclusive\":false}");
	call(f, plan, "plans.create", "{\"productId\":\"%s\",\"code\":\"CN-STORAGE\",\"name\":"
		"\"Storage " XSS_JSON "\",\"amount\":1250,\"currency\":\"EUR\",\"interval\":"
		"\"MONTH\"}", f->product);
	call(f, coupon, "coupons.create", "{\"percentOff\":10,\"duration\":\"forever\"}");
	call(f, cus, "customers.create", "{\"name\":\"\xce\x91\xce\xbb\xce\xaf\xce\xba\xce\xb7 "
		XSS_JSON "\",\"email\":\"alki@doc.example\",\"preferredLocale\":\"de-DE\"}");
	call(f, sub, "subscriptions.create", "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"quantity\":3,\"coupon\":\"%s\",\"defaultTaxRates\":[\"%s\",\"%s\"]}", cus, plan,
		coupon, vat, levy);
	tb_assert_rc(billing_subscription_get(&s, f->w->ctx, &f->admin, sub), BILLING_OK);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	snprintf(line, sizeof(line), "il_%s_1", billing_invoice_id(inv) + 3);
	call(f, cn, "credit_notes.create", "{\"invoiceId\":\"%s\",\"lines\":[{\"invoiceLineId\":"
		"\"%s\",\"quantity\":1}],\"reason\":\"order_change\",\"memo\":\"Sorry " XSS_JSON
		"\"}", billing_invoice_id(inv), line);
	note = note_json(f, cn);
	/* By hand: one of three seats, 12.50, its tenth off 1.25, taxed on
	 * 11.25: 2.14 and 0.84 (the line's 6.41 and 2.53 in proportion). */
	assert_int_equal(jint(note, "subtotal"), 1125);
	assert_int_equal(jint(note, "tax"), 214 + 84);
	assert_int_equal(jint(note, "total"), 1423);

	for (i = 0; i < sizeof(locales) / sizeof(locales[0]); i++) {
		html = render_note(f, &f->admin, cn, locales[i]);
		discount = note_amounts(html, locales[i], note, inv);
		assert_inert(html);
#ifdef BILLING_PDF
		{
			size_t len = 0;
			char *pdf = NULL, *text;
			tb_assert_rc(billing_credit_note_render(&pdf, &len, f->w->ctx, &f->admin, cn,
				BILLING_DOCUMENT_PDF, locales[i]), BILLING_OK);
			assert_memory_equal(pdf, "%PDF-", 5);
			text = pdf_text(pdf, len);        /* qpdf --check clean first */
			assert_int_equal(note_amounts(text, locales[i], note, inv), discount);
			assert_non_null(strstr(text, "Sorry <script>"));   /* as text */
			if (strcmp(locales[i], "en-US") == 0) {
				assert_non_null(strstr(text, "Credit note CN-000001"));
				assert_non_null(strstr(text, "Order change"));
				assert_non_null(strstr(text, "Page 1 of 1"));
			}
			free(text);
			free(pdf);
		}
#endif
		if (strcmp(locales[i], "en-US") == 0) {
			assert_non_null(strstr(html, "<title>Credit note CN-000001</title>"));
			assert_non_null(strstr(html, "<h2>Reason</h2><p>Order change</p>"));
			assert_non_null(strstr(html, "Invoice credited"));
			assert_non_null(strstr(html, "<dd>Issued</dd>"));
			assert_non_null(strstr(html, "-" EURO "1.25"));
			assert_non_null(strstr(html, "<td>Subtotal</td><td class=\"n\">" EURO "12.50"));
			assert_non_null(strstr(html, "<td>VAT 19%</td><td class=\"n\">" EURO "2.14"));
			assert_non_null(strstr(html, "<td>Levy 7.5%</td><td class=\"n\">" EURO "0.84"));
			assert_non_null(strstr(html, EURO "14.23</td>"));
			assert_non_null(strstr(html, "Sorry &lt;script&gt;"));
			assert_null(strstr(html, "Amount due"));
		}
		if (strcmp(locales[i], "fr-FR") == 0) {
			assert_non_null(strstr(html, "Avoir"));
			assert_non_null(strstr(html, "Modification de commande"));
		}
		free(html);
	}
	assert_int_equal(discount, 125);
	/* No locale asked for: the customer's. */
	html = render_note(f, &f->admin, cn, NULL);
	assert_non_null(strstr(html, "<html lang=\"de-DE\">"));
	assert_non_null(strstr(html, "Gutschrift"));
	assert_non_null(strstr(html, "Bestell\xc3\xa4nderung"));
	free(html);
	cJSON_Delete(note);

	/* A paid invoice: 10.00 credited, 6.00 to the balance, 4.00 settled
	 * outside, no lines; then void. */
	call(f, other, "customers.create", "{\"name\":\"Ola\",\"email\":\"ola@doc.example\"}");
	issued(f, paid, other);
	billing_invoice_free(inv);
	inv = NULL;
	tb_assert_rc(billing_invoice_pay_out_of_band(&inv, f->w->ctx, &f->admin, paid, NULL),
		BILLING_OK);
	call(f, cn, "credit_notes.create", "{\"invoiceId\":\"%s\",\"amount\":1000,"
		"\"creditAmount\":600,\"outOfBandAmount\":400}", paid);
	html = render_note(f, &f->admin, cn, "en-GB");
	assert_non_null(strstr(html, "CN-000002"));
	assert_non_null(strstr(html, billing_invoice_number(inv)));
	assert_non_null(strstr(html, "<td>Credited to balance</td><td class=\"n\">" EURO "6.00"));
	assert_non_null(strstr(html, "<td>Settled outside</td><td class=\"n\">" EURO "4.00"));
	assert_non_null(strstr(html, EURO "10.00"));
	assert_null(strstr(html, "Reason"));
	assert_null(strstr(html, "Refunded"));
	free(html);
	call(f, NULL, "credit_notes.void", "{\"id\":\"%s\"}", cn);
	html = render_note(f, &f->admin, cn, "es-ES");
	assert_non_null(strstr(html, "<dd>Anulada</dd>"));
	assert_non_null(strstr(html, "Nota de cr\xc3\xa9" "dito"));
	free(html);
	billing_invoice_free(inv);
	billing_subscription_free(s);
}

/* A credit note's refusals: as an invoice's, and an invoice's id is no
 * credit note's; a USER may read. */
static void documents__credit_note_refusals(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->t), other;
	char cus[64], id[64], cn[64], *html = (char *)"untouched";
	size_t len = 7;

	call(f, cus, "customers.create", "{\"name\":\"Cy\",\"email\":\"cy@doc.example\"}");
	issued(f, id, cus);
	call(f, cn, "credit_notes.create", "{\"invoiceId\":\"%s\",\"amount\":500}", id);
	tb_assert_rc(billing_credit_note_render(&html, &len, f->w->ctx, &f->admin, cn,
		BILLING_DOCUMENT_HTML, "pt-BR"), BILLING_EINVALID);
	tb_assert_field("locale");
	assert_null(html);
	assert_int_equal(len, 0);
	tb_assert_rc(billing_credit_note_render(&html, &len, f->w->ctx, &f->admin, cn,
		(billing_document_format)7, NULL), BILLING_EINVALID);
	tb_assert_field("format");
	tb_assert_rc(billing_credit_note_render(&html, &len, f->w->ctx, &f->admin, "cn_nothing",
		BILLING_DOCUMENT_HTML, NULL), BILLING_ENOTFOUND);
	tb_assert_rc(billing_credit_note_render(&html, &len, f->w->ctx, &f->admin, id,
		BILLING_DOCUMENT_HTML, NULL), BILLING_ENOTFOUND);
	other = tb_admin(tb_tenant(f->w, "Other"));
	tb_assert_rc(billing_credit_note_render(&html, &len, f->w->ctx, &other, cn,
		BILLING_DOCUMENT_HTML, NULL), BILLING_ENOTFOUND);
	assert_null(html);
	html = render_note(f, &user, cn, "ja-JP");
	assert_non_null(strstr(html, "\xe8\xb2\xb8\xe6\x96\xb9\xe7\xa5\xa8"));  /* 貸方票 */
	assert_non_null(strstr(html, "\xe7\x99\xba\xe8\xa1\x8c\xe6\xb8\x88\xe3\x81\xbf"));
	free(html);
}

/* A tiered line has no one unit price: its unit price cell is an em dash,
 * never 0.00 (the tiers under it carry their unit prices), in the HTML and
 * in the PDF. A line whose amount is 0 (a trial's) keeps its 0.00. */
static void documents__tiered_line_shows_no_unit_price(void **state)
{
	fx *f = *state;
	billing_invoice *inv = rich_invoice(f, "Tia");
	char plan[64], cus[64], sub[64], in[256], *html;
	billing_subscription *s = NULL;

	html = render(f, &f->admin, billing_invoice_id(inv), "en-US");
	/* 12 seats: the row's quantity, then its unit price. */
	assert_non_null(strstr(html, "<td class=\"n\">12</td><td class=\"n\">" MDASH "</td>"));
	assert_null(strstr(html, EURO "0.00"));
	assert_non_null(strstr(html, "Tier 1: 5 \xc3\x97 " EURO "7.00"));
	assert_non_null(strstr(html, "<td class=\"n\">3</td><td class=\"n\">" EURO "12.50</td>"));
	free(html);
#ifdef BILLING_PDF
	{
		size_t len = 0;
		char *pdf = NULL, *text;
		tb_assert_rc(billing_invoice_render(&pdf, &len, f->w->ctx, &f->admin,
			billing_invoice_id(inv), BILLING_DOCUMENT_PDF, "en-US"), BILLING_OK);
		text = pdf_text(pdf, len);
		assert_null(strstr(text, EURO "0.00"));
		assert_non_null(strstr(text, MDASH));
		free(text);
		free(pdf);
	}
#endif
	/* A credit by quantity of it is refused (its amount is not a unit
	 * price times a quantity), so a note never shows it a unit price. */
	snprintf(in, sizeof(in), "{\"invoiceId\":\"%s\",\"lines\":[{\"invoiceLineId\":"
		"\"il_%s_1\",\"quantity\":1}]}", billing_invoice_id(inv), billing_invoice_id(inv) + 3);
	html = NULL;
	tb_assert_rc(billing_call_json(&html, f->w->ctx, &f->admin, "credit_notes.create", in,
		strlen(in), NULL), BILLING_EINVALID);
	tb_assert_field("lines[0].quantity");
	billing_free(html);
	billing_invoice_free(inv);
	inv = NULL;

	/* A trial: the line is 0.00 and so is its unit price. */
	call(f, plan, "plans.create", "{\"productId\":\"%s\",\"code\":\"DOC-TRIAL\",\"name\":"
		"\"Trial\",\"amount\":900,\"currency\":\"EUR\",\"interval\":\"MONTH\"}", f->product);
	call(f, cus, "customers.create", "{\"name\":\"Tri\",\"email\":\"tri@doc.example\"}");
	call(f, sub, "subscriptions.create", "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"trialDays\":7}", cus, plan);
	tb_assert_rc(billing_subscription_get(&s, f->w->ctx, &f->admin, sub), BILLING_OK);
	html = render(f, &f->admin, billing_subscription_latest_invoice_id(s), "en-US");
	assert_non_null(strstr(html, "<td class=\"n\">1</td><td class=\"n\">" EURO "0.00</td>"));
	assert_null(strstr(html, MDASH));
	free(html);
	billing_subscription_free(s);
}

/* A package line (5.00 per 1,000 calls, rounded up) bills 1,001 calls as
 * two packages: its quantity is the units, its unit price cell an em dash
 * (1,001 x 5.00 is not its amount), and a detail row under it says the
 * packages and their price, in each locale's words. */
static void documents__package_line_shows_packages(void **state)
{
	fx *f = *state;
	char plan[64], cus[64], sub[64], *html;
	billing_subscription *s = NULL;

	call(f, plan, "plans.create", "{\"productId\":\"%s\",\"code\":\"DOC-PKG\",\"name\":"
		"\"Calls\",\"amount\":500,\"currency\":\"EUR\",\"interval\":\"MONTH\","
		"\"transformQuantity\":{\"divideBy\":1000,\"round\":\"up\"}}", f->product);
	call(f, cus, "customers.create", "{\"name\":\"Pak\",\"email\":\"pak@doc.example\"}");
	call(f, sub, "subscriptions.create", "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"quantity\":1001}", cus, plan);
	tb_assert_rc(billing_subscription_get(&s, f->w->ctx, &f->admin, sub), BILLING_OK);
	html = render(f, &f->admin, billing_subscription_latest_invoice_id(s), "en-US");
	assert_non_null(strstr(html, "<td class=\"n\">1,001</td><td class=\"n\">" MDASH "</td>"));
	assert_non_null(strstr(html, "Packages: 2 \xc3\x97 " EURO "5.00"));
	assert_non_null(strstr(html, EURO "10.00"));
	free(html);
	html = render(f, &f->admin, billing_subscription_latest_invoice_id(s), "de-DE");
	assert_non_null(strstr(html, "Pakete: 2 \xc3\x97 5,00"));
	free(html);
	billing_subscription_free(s);
}

/* Each allocation, then each storage statement, failing in turn: the call
 * fails with nothing handed out and nothing leaked (ASan), then succeeds. */
static void documents__faults_at_each_step(void **state)
{
	fx *f = *state;
	char cus[64], id[64], cn[64], *html = NULL;
	size_t len = 0;
	long n;
	int rc = BILLING_ERROR, pass;
#ifdef BILLING_PDF
	const int passes = 6;    /* HTML, then PDF */
#else
	const int passes = 4;
#endif

	call(f, cus, "customers.create", "{\"name\":\"Fay\",\"email\":\"fay@doc.example\","
		"\"address\":{\"city\":\"Paris\",\"country\":\"FR\"}}");
	call(f, NULL, "branding.set", "{\"legalName\":\"Fay SARL\",\"taxId\":\"FR1\","
		"\"footer\":\"Merci\",\"logo\":\"" PNG_B64 "\",\"address\":{\"city\":\"Lyon\"}}");
	issued(f, id, cus);
	call(f, cn, "credit_notes.create", "{\"invoiceId\":\"%s\",\"lines\":[{"
		"\"invoiceLineId\":\"il_%s_1\",\"amount\":700}],\"reason\":\"duplicate\","
		"\"memo\":\"M\"}", id, id + 3);
	/* Passes 0 and 1 the invoice's HTML, 2 and 3 the credit note's, 4 and 5
	 * the invoice's PDF. */
	for (pass = 0; pass < passes; pass++) {
		for (n = 1, rc = BILLING_ERROR; rc != BILLING_OK && n < 100000; n++) {
			if (pass % 2 == 0)
				billing__alloc_fail_at(n);
			else
				billing__storage_fail_at(n);
			rc = (pass / 2 == 1 ? billing_credit_note_render : billing_invoice_render)(&html,
				&len, f->w->ctx, &f->admin, pass / 2 == 1 ? cn : id,
				pass < 4 ? BILLING_DOCUMENT_HTML : BILLING_DOCUMENT_PDF, "de-DE");
			billing__alloc_fail_at(0);
			billing__storage_fail_at(0);
			if (rc != BILLING_OK) {
				assert_true(rc == BILLING_ENOMEM || rc == BILLING_ESTORAGE);
				assert_null(html);
				assert_int_equal(len, 0);
			}
		}
		tb_assert_rc(rc, BILLING_OK);
		assert_true(n > 2);
		/* Whole, never cut where the writer ran out of memory. */
		if (pass >= 4)
			assert_true(len > 6 && holds(html + len - 6, 6, "%%EOF", 5));
		free(html);
		html = NULL;
	}
}

/* Hosted links through the C API (billing/document.h): a finalized
 * invoice's path renders without a principal and a USER may ask for it; a
 * draft has none (ECONFLICT draft), an unknown invoice none (ENOTFOUND);
 * only ADMIN rotates; a rotation kills the tenant's earlier link and not
 * another tenant's; tokens that are not base64url or too short are the
 * same ENOTFOUND; a link expires 31 days after the day it was read began. */
static void documents__hosted_links(void **state)
{
	fx *f = *state;
	billing_principal user = tb_user(f->t), other;
	char cus[64], inv[64], draft[64], *path = NULL, *theirs = NULL, *doc = NULL;
	char *fresh = NULL;
	size_t len = 0;

	call(f, cus, "customers.create", "{\"name\":\"Hosted\",\"email\":\"h@doc.example\"}");
	issued(f, inv, cus);
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"}", cus);
	tb_assert_rc(billing_invoice_hosted_path(&path, f->w->ctx, &user, inv), BILLING_OK);
	assert_memory_equal(path, "/hosted/invoices/", 17);
	tb_assert_rc(billing_hosted_invoice_render(&doc, &len, f->w->ctx, path + 17,
		BILLING_DOCUMENT_HTML), BILLING_OK);
	assert_non_null(strstr(doc, "Audit"));
	billing_free(doc);
	doc = NULL;
	tb_assert_rc(billing_invoice_hosted_path(&fresh, f->w->ctx, &f->admin, draft),
		BILLING_ECONFLICT);
	assert_null(fresh);
	tb_assert_rc(billing_invoice_hosted_path(&fresh, f->w->ctx, &f->admin, "in_nothing"),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_hosted_invoice_render(&doc, &len, f->w->ctx, "!!", BILLING_DOCUMENT_HTML),
		BILLING_ENOTFOUND);
	tb_assert_rc(billing_hosted_invoice_render(&doc, &len, f->w->ctx, "QUJD",
		BILLING_DOCUMENT_HTML), BILLING_ENOTFOUND);
	tb_assert_rc(billing_hosted_invoice_render(&doc, &len, f->w->ctx, NULL,
		BILLING_DOCUMENT_HTML), BILLING_ENOTFOUND);

	/* Another tenant's link, then a rotation of this tenant's. */
	other = tb_admin(tb_tenant(f->w, "Other"));
	{
		fx g = *f;
		g.admin = other;
		g.t = other.tenant_id;
		char sql[160];
		call(&g, cus, "customers.create", "{\"name\":\"O\",\"email\":\"o@doc.example\"}");
		/* Drafts have no link: answering them reads no secret, nor makes one. */
		call(&g, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"}",
			cus);
		call(&g, NULL, "invoices.list", "{}");
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM hosted_link_secrets "
			"WHERE tenant_id = '%s'", g.t);
		assert_int_equal(tb_raw_count(f->w->url, sql), 0);
		issued(&g, draft, cus);
		tb_assert_rc(billing_invoice_hosted_path(&theirs, f->w->ctx, &other, draft), BILLING_OK);
		assert_int_equal(tb_raw_count(f->w->url, sql), 1);
	}
	tb_assert_rc(billing_hosted_links_rotate(f->w->ctx, &user), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_hosted_links_rotate(f->w->ctx, &f->admin), BILLING_OK);
	tb_assert_rc(billing_hosted_invoice_render(&doc, &len, f->w->ctx, path + 17,
		BILLING_DOCUMENT_HTML), BILLING_ENOTFOUND);
	tb_assert_rc(billing_hosted_invoice_render(&doc, &len, f->w->ctx, theirs + 17,
		BILLING_DOCUMENT_HTML), BILLING_OK);
	billing_free(doc);
	doc = NULL;
	tb_assert_rc(billing_invoice_hosted_path(&fresh, f->w->ctx, &f->admin, inv), BILLING_OK);
	assert_string_not_equal(fresh, path);

	/* Read at 2026-01-01 00:00 (the fixture's day): open through Jan 31,
	 * gone on Feb 1 at 00:00. */
	f->w->now = tbb_ts(2026, 1, 31, 23, 59, 0);
	tb_assert_rc(billing_hosted_invoice_render(&doc, &len, f->w->ctx, fresh + 17,
		BILLING_DOCUMENT_HTML), BILLING_OK);
	billing_free(doc);
	doc = NULL;
	f->w->now = tbb_ts(2026, 2, 1, 0, 0, 0);
	tb_assert_rc(billing_hosted_invoice_render(&doc, &len, f->w->ctx, fresh + 17,
		BILLING_DOCUMENT_HTML), BILLING_ENOTFOUND);
	assert_null(doc);
	billing_free(path);
	billing_free(theirs);
	billing_free(fresh);
}

/* ------------------------------------------------------------ the e-invoice */

#define CII_GUIDELINE "urn:cen.eu:en16931:2017"
/* Hostile text in every text the e-invoice carries, with non-Latin names:
 * Ада, 株式会社. As JSON, and as the XML must give it back. */
#define HOSTILE_JSON "\xd0\x90\xd0\xb4\xd0\xb0 & \xe6\xa0\xaa\xe5\xbc\x8f <b>]]></b>"
#define HOSTILE HOSTILE_JSON

static char *render_cii(fx *f, const billing_principal *who, const char *id)
{
	char *xml = NULL;
	size_t len = 0;
	tb_assert_rc(billing_invoice_render(&xml, &len, f->w->ctx, who, id, BILLING_DOCUMENT_CII,
		NULL), BILLING_OK);
	assert_non_null(xml);
	assert_int_equal(strlen(xml), len);
	return xml;
}

/* The first node path names, or NULL. */
static xmlNodePtr cii_node(xmlXPathContextPtr xp, xmlNodePtr at, const char *path)
{
	xmlXPathObjectPtr o = xmlXPathNodeEval(at, BAD_CAST path, xp);
	xmlNodePtr n = o && o->nodesetval && o->nodesetval->nodeNr ? o->nodesetval->nodeTab[0] :
		NULL;
	xmlXPathFreeObject(o);
	return n;
}

static int cii_count(xmlXPathContextPtr xp, xmlNodePtr at, const char *path)
{
	xmlXPathObjectPtr o = xmlXPathNodeEval(at, BAD_CAST path, xp);
	int n = o && o->nodesetval ? o->nodesetval->nodeNr : 0;
	xmlXPathFreeObject(o);
	return n;
}

/* The text of the node at path, which must be there, into out. */
static const char *cii_text(char *out, size_t size, xmlXPathContextPtr xp, xmlNodePtr at,
	const char *path)
{
	xmlNodePtr n = cii_node(xp, at, path);
	xmlChar *t;
	if (!n)
		fail_msg("the e-invoice has no %s", path);
	t = xmlNodeGetContent(n);
	snprintf(out, size, "%s", (const char *)t);
	xmlFree(t);
	return out;
}

/* A decimal of exactly the currency's digits ("12.34" EUR, "1234" JPY) as
 * minor units; anything else fails the test. */
static int64_t cii_minor(const char *text, int exponent)
{
	const char *p = text, *dot = strchr(text, '.');
	int64_t v = 0;
	int neg = *p == '-', digits = 0;
	if (neg)
		p++;
	if (exponent == 0 ? dot != NULL : (!dot || strlen(dot + 1) != (size_t)exponent))
		fail_msg("amount %s is not written with %d decimals", text, exponent);
	for (; *p; p++) {
		if (*p == '.')
			continue;
		if (*p < '0' || *p > '9')
			fail_msg("amount %s is not a decimal", text);
		v = v * 10 + (*p - '0');
		digits++;
	}
	assert_true(digits > 0);
	return neg ? -v : v;
}

static int64_t cii_amount(xmlXPathContextPtr xp, xmlNodePtr at, const char *path, int exponent)
{
	char buf[64];
	return cii_minor(cii_text(buf, sizeof(buf), xp, at, path), exponent);
}

/* A percentage ("19", "7.25") in 10^-4 percent. */
static int64_t cii_pct4(const char *text)
{
	int64_t whole = 0, frac = 0, scale = 1000;
	const char *p = text;
	for (; *p && *p != '.'; p++)
		whole = whole * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p && scale; p++, scale /= 10)
			frac += (*p - '0') * scale;
	return whole * 10000 + frac;
}

/* net x rate, half away from zero: how the invoice rounds a line's tax. */
static int64_t cii_tax_of(int64_t net, int64_t pct4)
{
	int64_t num = net * pct4, q = num / 1000000, r = num % 1000000;
	if ((r < 0 ? -r : r) * 2 >= 1000000)
		q += num < 0 ? -1 : 1;
	return q;
}

typedef struct {
	xmlDocPtr doc;
	xmlXPathContextPtr xp;
	int exponent;
} cii_doc;

static void cii_free(cii_doc *c)
{
	xmlXPathFreeContext(c->xp);
	xmlFreeDoc(c->doc);
}

/* The e-invoice parsed back and checked against EN 16931's rules that can
 * be encoded here (its XSD and Schematron are not reachable from this
 * machine) and against inv:
 * - well-formed (libxml2, and xmllint --noout), the CII root and namespaces;
 * - the business terms: BT-24, BT-1, BT-2 (format 102), BT-3 (380 an
 *   invoice, 381 a credit note, whose BT-25 and BT-26 name its invoice), BT-5, the
 *   seller's BT-27 and BT-40, the buyer's BT-44 and BT-55;
 * - each line: BT-126, BT-153, BT-129 in UN/ECE Rec 20 unit C62, BT-146
 *   never negative, BT-151 from UNTDID 5305 (S, Z, E, AE, O), BT-152, and
 *   BT-131 = BT-146 x BT-129 / BT-149 - allowances + charges exactly;
 * - the sums: sum of BT-131 = BT-106; BT-109 = BT-106 (no document-level
 *   allowance or charge); BT-112 = BT-109 + BT-110; BT-115 = BT-112 -
 *   BT-113; each breakdown's BT-116 is its lines' BT-131, its BT-117 their
 *   taxes rounded per line (the tenant's line rounding), the sum of BT-117
 *   BT-110; E, AE and O carry an exemption reason (BT-120);
 * - the amounts the document's (cii_want): BT-112 its total, BT-110 its
 *   tax, BT-115 its amount due (a note's: its refund); every amount with
 *   the currency's digits. */
/* What the checker compares the e-invoice with: an invoice's or a credit
 * note's own figures. */
#define CII_LINES_MAX 64
typedef struct {
	const char *currency, *type, *number;
	size_t line_count;
	int64_t nets[CII_LINES_MAX];   /* each line's BT-131 */
	int64_t total, tax, due;       /* BT-112, BT-110, BT-115 */
	const char *ref_number;        /* BT-25; NULL: no reference may be there */
	int64_t ref_date;              /* BT-26 */
} cii_want;

static void cii_check(cii_doc *c, const char *xml, size_t len, const cii_want *want)
{
	char buf[512], path[64];
	xmlNodePtr root, line;
	xmlXPathObjectPtr lines, taxes;
	int64_t sum = 0, tax_sum = 0, bt106, bt109, bt110, bt112, bt113, bt115;
	int i, k, status = 0;
	pid_t pid;
	FILE *fp;

	c->exponent = billing_currency_exponent(want->currency);
	c->doc = xmlReadMemory(xml, (int)len, "cii.xml", "UTF-8", XML_PARSE_NONET);
	assert_non_null(c->doc);
	snprintf(path, sizeof(path), "/tmp/cii-%d.xml", (int)getpid());
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(xml, 1, len, fp), len);
	fclose(fp);
	if ((pid = fork()) == 0) {
		execlp("xmllint", "xmllint", "--noout", path, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);   /* well-formed as xmllint reads it */
	unlink(path);

	root = xmlDocGetRootElement(c->doc);
	assert_string_equal((const char *)root->name, "CrossIndustryInvoice");
	assert_string_equal((const char *)root->ns->href,
		"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100");
	c->xp = xmlXPathNewContext(c->doc);
	xmlXPathRegisterNs(c->xp, BAD_CAST "rsm",
		BAD_CAST "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100");
	xmlXPathRegisterNs(c->xp, BAD_CAST "ram", BAD_CAST "urn:un:unece:uncefact:data:standard:"
		"ReusableAggregateBusinessInformationEntity:100");
	xmlXPathRegisterNs(c->xp, BAD_CAST "udt",
		BAD_CAST "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100");
	xmlXPathRegisterNs(c->xp, BAD_CAST "qdt",
		BAD_CAST "urn:un:unece:uncefact:data:standard:QualifiedDataType:100");

	assert_string_equal(cii_text(buf, sizeof(buf), c->xp, root, "rsm:ExchangedDocumentContext/"
		"ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"), CII_GUIDELINE);
	assert_string_equal(cii_text(buf, sizeof(buf), c->xp, root,
		"rsm:ExchangedDocument/ram:ID"), want->number);
	assert_string_equal(cii_text(buf, sizeof(buf), c->xp, root,
		"rsm:ExchangedDocument/ram:TypeCode"), want->type);
	assert_non_null(cii_node(c->xp, root, "rsm:ExchangedDocument/ram:IssueDateTime/"
		"udt:DateTimeString[@format='102']"));
	assert_int_equal(strlen(cii_text(buf, sizeof(buf), c->xp, root, "rsm:ExchangedDocument/"
		"ram:IssueDateTime/udt:DateTimeString")), 8);
	assert_string_equal(cii_text(buf, sizeof(buf), c->xp, root, "//ram:"
		"ApplicableHeaderTradeSettlement/ram:InvoiceCurrencyCode"), want->currency);
	assert_true(strlen(cii_text(buf, sizeof(buf), c->xp, root,
		"//ram:SellerTradeParty/ram:Name")) > 0);
	assert_int_equal(strlen(cii_text(buf, sizeof(buf), c->xp, root,
		"//ram:SellerTradeParty/ram:PostalTradeAddress/ram:CountryID")), 2);
	assert_true(strlen(cii_text(buf, sizeof(buf), c->xp, root,
		"//ram:BuyerTradeParty/ram:Name")) > 0);
	assert_int_equal(strlen(cii_text(buf, sizeof(buf), c->xp, root,
		"//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CountryID")), 2);

	lines = xmlXPathEval(BAD_CAST "//ram:IncludedSupplyChainTradeLineItem", c->xp);
	assert_int_equal(lines->nodesetval ? lines->nodesetval->nodeNr : 0,
		(int)want->line_count);
	for (i = 0; lines->nodesetval && i < lines->nodesetval->nodeNr; i++) {
		int64_t price, qty, base = 1, net, off = 0, on = 0;
		xmlNodePtr q;
		line = lines->nodesetval->nodeTab[i];
		snprintf(path, sizeof(path), "%d", i + 1);
		assert_string_equal(cii_text(buf, sizeof(buf), c->xp, line,
			"ram:AssociatedDocumentLineDocument/ram:LineID"), path);
		cii_text(buf, sizeof(buf), c->xp, line, "ram:SpecifiedTradeProduct/ram:Name");
		price = cii_amount(c->xp, line, "ram:SpecifiedLineTradeAgreement/"
			"ram:NetPriceProductTradePrice/ram:ChargeAmount", c->exponent);
		assert_true(price >= 0);                                       /* BR-27 */
		q = cii_node(c->xp, line, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity");
		assert_non_null(q);
		cii_text(buf, sizeof(buf), c->xp, line,
			"ram:SpecifiedLineTradeDelivery/ram:BilledQuantity[@unitCode='C62']");
		qty = strtoll(buf, NULL, 10);
		if (cii_node(c->xp, line, "ram:SpecifiedLineTradeAgreement/"
			"ram:NetPriceProductTradePrice/ram:BasisQuantity"))
			base = strtoll(cii_text(buf, sizeof(buf), c->xp, line,
				"ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/"
				"ram:BasisQuantity[@unitCode='C62']"), NULL, 10);
		assert_true(base > 0);
		assert_int_equal(price * qty % base, 0);                      /* exact */
		k = cii_count(c->xp, line, "ram:SpecifiedLineTradeSettlement/"
			"ram:SpecifiedTradeAllowanceCharge");
		for (; k > 0; k--) {
			char ap[160];
			int64_t a;
			snprintf(ap, sizeof(ap), "ram:SpecifiedLineTradeSettlement/"
				"ram:SpecifiedTradeAllowanceCharge[%d]/ram:ActualAmount", k);
			a = cii_amount(c->xp, line, ap, c->exponent);
			snprintf(ap, sizeof(ap), "ram:SpecifiedLineTradeSettlement/"
				"ram:SpecifiedTradeAllowanceCharge[%d]/ram:ChargeIndicator/udt:Indicator", k);
			if (strcmp(cii_text(buf, sizeof(buf), c->xp, line, ap), "true") == 0)
				on += a;
			else
				off += a;
			snprintf(ap, sizeof(ap), "ram:SpecifiedLineTradeSettlement/"
				"ram:SpecifiedTradeAllowanceCharge[%d]/ram:Reason", k);
			cii_text(buf, sizeof(buf), c->xp, line, ap);            /* BR-42, BR-44 */
		}
		net = cii_amount(c->xp, line, "ram:SpecifiedLineTradeSettlement/"
			"ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
			c->exponent);
		assert_int_equal(net, price * qty / base - off + on);
		assert_int_equal(net, want->nets[i]);
		cii_text(buf, sizeof(buf), c->xp, line,
			"ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode");
		assert_true(strcmp(buf, "S") == 0 || strcmp(buf, "Z") == 0 || strcmp(buf, "E") == 0 ||
			strcmp(buf, "AE") == 0 || strcmp(buf, "O") == 0);
		assert_string_equal(cii_text(buf, sizeof(buf), c->xp, line,
			"ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:TypeCode"), "VAT");
		sum += net;
	}

	bt106 = cii_amount(c->xp, root, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
		"ram:LineTotalAmount", c->exponent);
	bt109 = cii_amount(c->xp, root, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
		"ram:TaxBasisTotalAmount", c->exponent);
	snprintf(buf, sizeof(buf), "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
		"ram:TaxTotalAmount[@currencyID='%s']", want->currency);
	bt110 = cii_amount(c->xp, root, buf, c->exponent);
	bt112 = cii_amount(c->xp, root, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
		"ram:GrandTotalAmount", c->exponent);
	bt113 = cii_amount(c->xp, root, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
		"ram:TotalPrepaidAmount", c->exponent);
	bt115 = cii_amount(c->xp, root, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
		"ram:DuePayableAmount", c->exponent);
	assert_int_equal(cii_count(c->xp, root, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:SpecifiedTradeAllowanceCharge"), 0);
	assert_int_equal(sum, bt106);
	assert_int_equal(bt109, bt106);
	assert_int_equal(bt112, bt109 + bt110);
	assert_int_equal(bt115, bt112 - bt113);
	assert_int_equal(bt112, want->total);
	assert_int_equal(bt110, want->tax);
	assert_int_equal(bt115, want->due);
	/* BG-3: a credit note names the invoice it credits, its number and
	 * issue date (format 102); an invoice names none. */
	if (want->ref_number) {
		char day[16];
		time_t t = (time_t)want->ref_date;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(day, sizeof(day), "%Y%m%d", &tm);
		assert_string_equal(cii_text(buf, sizeof(buf), c->xp, root, "//ram:"
			"ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument/"
			"ram:IssuerAssignedID"), want->ref_number);
		assert_string_equal(cii_text(buf, sizeof(buf), c->xp, root, "//ram:"
			"ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument/"
			"ram:FormattedIssueDateTime/qdt:DateTimeString[@format='102']"), day);
	} else {
		assert_int_equal(cii_count(c->xp, root, "//ram:InvoiceReferencedDocument"), 0);
	}

	taxes = xmlXPathEval(BAD_CAST "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax",
		c->xp);
	assert_true(taxes->nodesetval && taxes->nodesetval->nodeNr > 0);
	for (i = 0; i < taxes->nodesetval->nodeNr; i++) {
		xmlNodePtr t = taxes->nodesetval->nodeTab[i];
		char cat[8], rate[32] = "", lp[200];
		int64_t basis = 0, want_tax = 0, got;
		int j;
		cii_text(cat, sizeof(cat), c->xp, t, "ram:CategoryCode");
		if (strcmp(cat, "O") != 0)
			cii_text(rate, sizeof(rate), c->xp, t, "ram:RateApplicablePercent");
		for (j = 0; j < lines->nodesetval->nodeNr; j++) {
			xmlNodePtr l = lines->nodesetval->nodeTab[j];
			char lcat[8], lrate[32] = "";
			int64_t net;
			cii_text(lcat, sizeof(lcat), c->xp, l, "ram:SpecifiedLineTradeSettlement/"
				"ram:ApplicableTradeTax/ram:CategoryCode");
			if (strcmp(lcat, "O") != 0)
				cii_text(lrate, sizeof(lrate), c->xp, l, "ram:SpecifiedLineTradeSettlement/"
					"ram:ApplicableTradeTax/ram:RateApplicablePercent");
			if (strcmp(lcat, cat) != 0 || strcmp(lrate, rate) != 0)
				continue;
			snprintf(lp, sizeof(lp), "ram:SpecifiedLineTradeSettlement/"
				"ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount");
			net = cii_amount(c->xp, l, lp, c->exponent);
			basis += net;
			want_tax += cii_tax_of(net, cii_pct4(rate));
		}
		assert_int_equal(cii_amount(c->xp, t, "ram:BasisAmount", c->exponent), basis);
		got = cii_amount(c->xp, t, "ram:CalculatedAmount", c->exponent);
		assert_int_equal(got, want_tax);
		if (strcmp(cat, "S") != 0)
			assert_int_equal(got, 0);
		if (strcmp(cat, "E") == 0 || strcmp(cat, "AE") == 0 || strcmp(cat, "O") == 0)
			assert_true(strlen(cii_text(lp, sizeof(lp), c->xp, t, "ram:ExemptionReason")) > 0);
		tax_sum += got;
	}
	assert_int_equal(tax_sum, bt110);
	xmlXPathFreeObject(taxes);
	xmlXPathFreeObject(lines);
}

/* The invoice's e-invoice checked against the invoice (cii_check). */
static void cii_parse(cii_doc *c, const char *xml, size_t len, const billing_invoice *inv)
{
	cii_want want;
	size_t i;
	memset(&want, 0, sizeof(want));
	want.currency = billing_invoice_currency(inv);
	want.type = "380";
	want.number = billing_invoice_number(inv);
	want.line_count = billing_invoice_line_count(inv);
	assert_true(want.line_count <= CII_LINES_MAX);
	for (i = 0; i < want.line_count; i++)
		want.nets[i] = billing_invoice_line_at(inv, i)->taxable_amount;
	want.total = billing_invoice_total(inv);
	want.tax = billing_invoice_tax(inv);
	want.due = billing_invoice_amount_due(inv);
	cii_check(c, xml, len, &want);
}

/* The text at path (from the root), which must be there. */
static const char *cii_at(char *out, size_t size, cii_doc *c, const char *path)
{
	return cii_text(out, size, c->xp, xmlDocGetRootElement(c->doc), path);
}

/* The seller: a hostile legal name, a VAT id, an address in Germany. */
static void seller_branding(fx *f)
{
	call(f, NULL, "branding.set", "{\"legalName\":\"Werkstatt " HOSTILE_JSON " GmbH\","
		"\"taxId\":\"DE 811 907 980\",\"address\":{\"line1\":\"Torstra\xc3\x9f" "e 1\","
		"\"city\":\"Berlin\",\"postalCode\":\"10119\",\"country\":\"de\"}}");
}

/* Two rates (19 % on the seats, 7 % on the books) and a 10 % coupon on
 * both lines; the buyer's name, the tenant's legal name and a memo hostile.
 * By hand: seats 5 x 7.00 + 5 x 6.50 + 2 x 6.00 = 79.50, less 7.95 = 71.55,
 * VAT 13.5945 -> 13.59; books 3 x 12.50 = 37.50, less 3.75 = 33.75, VAT
 * 2.3625 -> 2.36; net 105.30, VAT 15.95, total 121.25. */
static void einvoice__two_rates_and_a_discount(void **state)
{
	fx *f = *state;
	char vat[64], reduced[64], tiered[64], books[64], coupon[64], cus[64], sub[64], buf[512];
	billing_subscription *s = NULL;
	billing_invoice *inv = NULL;
	billing_principal user = tb_user(f->t);
	cii_doc c;
	char *xml;

	seller_branding(f);
	call(f, vat, "tax_rates.create", "{\"displayName\":\"MwSt\",\"percentage\":\"19\","
		"\"inclusive\":false}");
	call(f, reduced, "tax_rates.create", "{\"displayName\":\"MwSt erm.\",\"percentage\":"
		"\"7\",\"inclusive\":false}");
	call(f, tiered, "plans.create", "{\"productId\":\"%s\",\"code\":\"CII-SEATS\",\"name\":"
		"\"Seats " HOSTILE_JSON "\",\"currency\":\"EUR\",\"interval\":\"MONTH\",\"billingScheme\":"
		"\"tiered\",\"tiersMode\":\"graduated\",\"tiers\":[{\"upTo\":5,\"unitAmount\":700},"
		"{\"upTo\":10,\"unitAmount\":650},{\"upTo\":null,\"unitAmount\":600}],"
		"\"defaultTaxRates\":[\"%s\"]}", f->product, vat);
	call(f, books, "plans.create", "{\"productId\":\"%s\",\"code\":\"CII-BOOKS\",\"name\":"
		"\"Books\",\"amount\":1250,\"currency\":\"EUR\",\"interval\":\"MONTH\","
		"\"defaultTaxRates\":[\"%s\"]}", f->product, reduced);
	call(f, coupon, "coupons.create", "{\"percentOff\":10,\"duration\":\"forever\"}");
	call(f, cus, "customers.create", "{\"name\":\"" HOSTILE_JSON "\",\"email\":"
		"\"ada@cii.example\",\"address\":{\"line1\":\"Rue <&> 2\",\"city\":\"Paris\","
		"\"postalCode\":\"75001\",\"country\":\"FR\"},\"taxIds\":[{\"type\":\"eu_vat\","
		"\"value\":\"FR12345678901\"}]}");
	call(f, sub, "subscriptions.create", "{\"customerId\":\"%s\",\"items\":[{\"planId\":"
		"\"%s\",\"quantity\":12},{\"planId\":\"%s\",\"quantity\":3}],\"coupon\":\"%s\"}",
		cus, tiered, books, coupon);
	tb_assert_rc(billing_subscription_get(&s, f->w->ctx, &f->admin, sub), BILLING_OK);
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	billing_subscription_free(s);
	assert_int_equal(billing_invoice_total(inv), 12125);
	assert_int_equal(billing_invoice_tax(inv), 1595);

	xml = render_cii(f, &user, billing_invoice_id(inv));   /* a USER reads it */
	cii_parse(&c, xml, strlen(xml), inv);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:BuyerTradeParty/ram:Name"),
		HOSTILE);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:SellerTradeParty/ram:Name"),
		"Werkstatt " HOSTILE " GmbH");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:BuyerTradeParty/"
		"ram:PostalTradeAddress/ram:LineOne"), "Rue <&> 2");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:SellerTradeParty/"
		"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"), "DE811907980");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:BuyerTradeParty/"
		"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"), "FR12345678901");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:BuyerTradeParty/"
		"ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']"), "ada@cii.example");
	assert_non_null(strstr(cii_at(buf, sizeof(buf), &c,
		"//ram:IncludedSupplyChainTradeLineItem[1]/ram:SpecifiedTradeProduct/ram:Name"),
		"Seats " HOSTILE));
	/* No CDATA and no markup of the text: escaped by the writer. */
	assert_null(strstr(xml, "<![CDATA["));
	assert_null(strstr(xml, "<b>"));
	assert_non_null(strstr(xml, "&lt;b&gt;]]&gt;&lt;/b&gt;"));
	/* By hand. */
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax[ram:RateApplicablePercent='19']/ram:BasisAmount"), "71.55");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax[ram:RateApplicablePercent='19']/ram:CalculatedAmount"),
		"13.59");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax[ram:RateApplicablePercent='7']/ram:BasisAmount"), "33.75");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax[ram:RateApplicablePercent='7']/ram:CalculatedAmount"), "2.36");
	assert_int_equal(cii_count(c.xp, xmlDocGetRootElement(c.doc),
		"//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax[ram:CategoryCode='S']"),
		2);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[1]//ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount"), "7.95");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:NetPriceProductTradePrice/ram:ChargeAmount"), "12.50");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:BilledQuantity"), "3");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[1]//ram:NetPriceProductTradePrice/ram:ChargeAmount"), "79.50");   /* tiered */
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[1]//ram:NetPriceProductTradePrice/ram:BasisQuantity"), "12");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:GrandTotalAmount"), "121.25");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:LineTotalAmount[../"
		"ram:GrandTotalAmount]"), "105.30");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:TaxTotalAmount"), "15.95");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString"), "20260101");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString"), "20260131");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "rsm:ExchangedDocument/ram:IssueDateTime/"
		"udt:DateTimeString"), "20260101");
	cii_free(&c);
	free(xml);
	billing_invoice_free(inv);
}

/* A finalized send_invoice invoice of amount (currency) for a customer of
 * customer_json; its id into out. */
static billing_invoice *cii_issued(fx *f, char out[64], const char *customer_json,
	const char *currency, int64_t amount, const char *rate_json)
{
	billing_invoice *done = NULL;
	char cus[64], item[64], rate[64] = "";
	if (rate_json) {
		call(f, rate, "tax_rates.create", "%s", rate_json);
	}
	call(f, cus, "customers.create", "%s", customer_json);
	call(f, out, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"%s\","
		"\"collectionMethod\":\"send_invoice\",\"daysUntilDue\":14}", cus, currency);
	if (rate_json)
		call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
			"\"currency\":\"%s\",\"description\":\"Service\",\"unitAmount\":%lld,"
			"\"quantity\":1,\"taxRates\":[\"%s\"]}", cus, out, currency, (long long)amount,
			rate);
	else
		call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
			"\"currency\":\"%s\",\"description\":\"Service\",\"unitAmount\":%lld,"
			"\"quantity\":1}", cus, out, currency, (long long)amount);
	tb_assert_rc(billing_invoice_finalize(&done, f->w->ctx, &f->admin, out, NULL), BILLING_OK);
	return done;
}

/* An EU B2B customer under reverse charge: category AE at 0 %, the
 * invoice's reverse-charge note as the exemption reason (BT-120) with
 * code VATEX-EU-AE, the buyer's VAT id (BT-48); payment means 1 and the
 * due date of a send_invoice invoice. */
static void einvoice__reverse_charge(void **state)
{
	fx *f = *state;
	char id[64], buf[512];
	billing_invoice *inv;
	cii_doc c;
	char *xml;

	seller_branding(f);
	inv = cii_issued(f, id, "{\"name\":\"Acme SARL\",\"email\":\"acme@cii.example\","
		"\"taxExempt\":\"reverse\",\"address\":{\"city\":\"Lyon\",\"country\":\"FR\"},"
		"\"taxIds\":[{\"type\":\"eu_vat\",\"value\":\"FR12345678901\"}]}", "EUR", 10000,
		"{\"displayName\":\"MwSt\",\"percentage\":\"19\",\"inclusive\":false}");
	assert_int_equal(billing_invoice_tax(inv), 0);
	xml = render_cii(f, &f->admin, id);
	cii_parse(&c, xml, strlen(xml), inv);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax/ram:CategoryCode"), "AE");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax/ram:RateApplicablePercent"), "0");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax/ram:ExemptionReason"), billing_invoice_tax_note(inv));
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax/ram:ExemptionReasonCode"), "VATEX-EU-AE");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax/ram:BasisAmount"), "100.00");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:BuyerTradeParty/"
		"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"), "FR12345678901");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:SpecifiedTradeSettlementPaymentMeans/"
		"ram:TypeCode"), "1");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:PaymentReference"),
		billing_invoice_number(inv));
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:SpecifiedTradePaymentTerms/"
		"ram:DueDateDateTime/udt:DateTimeString"), "20260115");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:DuePayableAmount"), "100.00");
	cii_free(&c);
	free(xml);
	billing_invoice_free(inv);
}

/* A tax-exempt customer: category E with its exemption reason; a seller
 * tax id that is no VAT id is its tax registration (BT-32, scheme FC). */
static void einvoice__exempt_customer(void **state)
{
	fx *f = *state;
	char id[64], buf[512];
	billing_invoice *inv;
	cii_doc c;
	char *xml;

	call(f, NULL, "branding.set", "{\"taxId\":\"12/345/67890\",\"address\":{\"city\":"
		"\"Wien\",\"country\":\"AT\"}}");
	inv = cii_issued(f, id, "{\"name\":\"City of Springfield\",\"email\":\"c@cii.example\","
		"\"taxExempt\":\"exempt\",\"address\":{\"city\":\"Springfield\",\"region\":\"IL\","
		"\"country\":\"US\"},\"taxIds\":[{\"type\":\"us_ein\",\"value\":\"12-3456789\"}]}",
		"USD", 5000, "{\"displayName\":\"Sales tax\",\"percentage\":\"8.875\",\"inclusive\":"
		"false}");
	xml = render_cii(f, &f->admin, id);
	cii_parse(&c, xml, strlen(xml), inv);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax/ram:CategoryCode"), "E");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax/ram:CalculatedAmount"), "0.00");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:SellerTradeParty/"
		"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']"), "12/345/67890");
	assert_int_equal(cii_count(c.xp, xmlDocGetRootElement(c.doc),
		"//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"), 0);
	assert_int_equal(cii_count(c.xp, xmlDocGetRootElement(c.doc),
		"//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration"), 0);   /* an EIN is no VAT id */
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:GrandTotalAmount"), "50.00");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:BuyerTradeParty/"
		"ram:PostalTradeAddress/ram:CountrySubDivisionName"), "IL");
	cii_free(&c);
	free(xml);
	billing_invoice_free(inv);
}

/* A currency without decimals: JPY 1234 at 10 %: tax 123.4 -> 123, total
 * 1357, every amount an integer; then the invoice paid: BT-113 1357, BT-115
 * 0. An untaxed invoice is category O (outside the scope of VAT). */
static void einvoice__zero_decimal_currency_and_outside_scope(void **state)
{
	fx *f = *state;
	char id[64], id2[64], buf[512];
	billing_invoice *inv, *paid = NULL, *untaxed;
	cii_doc c;
	char *xml;

	seller_branding(f);
	inv = cii_issued(f, id, "{\"name\":\"\xe5\xb1\xb1\xe7\x94\xb0\",\"email\":\"y@cii.example\","
		"\"address\":{\"city\":\"\xe6\x9d\xb1\xe4\xba\xac\",\"country\":\"JP\"}}", "JPY", 1234,
		"{\"displayName\":\"JCT\",\"percentage\":\"10\",\"inclusive\":false}");
	assert_int_equal(billing_invoice_total(inv), 1357);
	xml = render_cii(f, &f->admin, id);
	cii_parse(&c, xml, strlen(xml), inv);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:GrandTotalAmount"), "1357");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:TaxTotalAmount"), "123");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:NetPriceProductTradePrice/"
		"ram:ChargeAmount"), "1234");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:BuyerTradeParty/ram:Name"),
		"\xe5\xb1\xb1\xe7\x94\xb0");
	cii_free(&c);
	free(xml);

	tb_assert_rc(billing_invoice_pay_out_of_band(&paid, f->w->ctx, &f->admin, id, NULL),
		BILLING_OK);
	xml = render_cii(f, &f->admin, id);
	cii_parse(&c, xml, strlen(xml), paid);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:TotalPrepaidAmount"), "1357");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:DuePayableAmount"), "0");
	cii_free(&c);
	free(xml);

	untaxed = cii_issued(f, id2, "{\"name\":\"Bo\",\"email\":\"bo@cii.example\",\"address\":"
		"{\"country\":\"CH\"}}", "EUR", 4200, NULL);
	xml = render_cii(f, &f->admin, id2);
	cii_parse(&c, xml, strlen(xml), untaxed);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax/ram:CategoryCode"), "O");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax/ram:ExemptionReasonCode"), "VATEX-EU-O");
	/* BR-O-2: no VAT id with category O; the seller's is its FC id. */
	assert_int_equal(cii_count(c.xp, xmlDocGetRootElement(c.doc),
		"//ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"), 0);
	cii_free(&c);
	free(xml);
	billing_invoice_free(untaxed);
	billing_invoice_free(paid);
	billing_invoice_free(inv);
}

/* What is refused, with nothing made: a draft (409 "draft"), a seller or a
 * buyer without a country, a line taxed at two rates, untaxed lines beside
 * taxed ones, a credit note, an id of another tenant, a forbidden role. */
static void einvoice__refusals(void **state)
{
	fx *f = *state;
	char id[64], draft[64], cus[64], item[64], rate[64], levy[64], *xml = (char *)"untouched";
	billing_invoice *inv, *done = NULL;
	billing_principal other = tb_admin(tb_tenant(f->w, "Other"));
	billing_principal nobody = { f->t, "u_none", BILLING_ROLE_PLATFORM };
	size_t len = 7;

	/* No branding: the seller has no country. */
	inv = cii_issued(f, id, "{\"name\":\"Di\",\"email\":\"di@cii.example\",\"address\":"
		"{\"country\":\"DE\"}}", "EUR", 1000, NULL);
	tb_assert_rc(billing_invoice_render(&xml, &len, f->w->ctx, &f->admin, id,
		BILLING_DOCUMENT_CII, NULL), BILLING_ECONFLICT);
	tb_assert_field("branding.address.country");
	assert_string_equal(billing_error_last()->reason, "einvoice_incomplete");
	assert_null(xml);
	assert_int_equal(len, 0);
	billing_invoice_free(inv);
	seller_branding(f);

	/* A buyer without an address. */
	inv = cii_issued(f, id, "{\"name\":\"Ed\",\"email\":\"ed@cii.example\"}", "EUR", 1000,
		NULL);
	tb_assert_rc(billing_invoice_render(&xml, &len, f->w->ctx, &f->admin, id,
		BILLING_DOCUMENT_CII, NULL), BILLING_ECONFLICT);
	tb_assert_field("address.country");
	billing_invoice_free(inv);

	/* A draft; then two rates on one line, and an untaxed line beside it. */
	call(f, rate, "tax_rates.create", "{\"displayName\":\"VAT\",\"percentage\":\"19\","
		"\"inclusive\":false}");
	call(f, levy, "tax_rates.create", "{\"displayName\":\"Levy\",\"percentage\":\"5\","
		"\"inclusive\":false}");
	call(f, cus, "customers.create", "{\"name\":\"Flo\",\"email\":\"flo@cii.example\","
		"\"address\":{\"country\":\"DE\"}}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"}", cus);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Both\",\"amount\":1000,\"taxRates\":"
		"[\"%s\",\"%s\"]}", cus, draft, rate, levy);
	tb_assert_rc(billing_invoice_render(&xml, &len, f->w->ctx, &f->admin, draft,
		BILLING_DOCUMENT_CII, NULL), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "draft");
	tb_assert_rc(billing_invoice_finalize(&done, f->w->ctx, &f->admin, draft, NULL),
		BILLING_OK);
	billing_invoice_free(done);
	tb_assert_rc(billing_invoice_render(&xml, &len, f->w->ctx, &f->admin, draft,
		BILLING_DOCUMENT_CII, NULL), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "einvoice_unsupported");
	tb_assert_field("lines");

	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"}", cus);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Taxed\",\"amount\":1000,\"taxRates\":"
		"[\"%s\"]}", cus, draft, rate);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Untaxed\",\"amount\":500}", cus, draft);
	tb_assert_rc(billing_invoice_finalize(&done, f->w->ctx, &f->admin, draft, NULL),
		BILLING_OK);
	billing_invoice_free(done);
	tb_assert_rc(billing_invoice_render(&xml, &len, f->w->ctx, &f->admin, draft,
		BILLING_DOCUMENT_CII, NULL), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "einvoice_unsupported");

	/* Another tenant's id; a role that may not read invoices. */
	inv = cii_issued(f, id, "{\"name\":\"Gus\",\"email\":\"gus@cii.example\",\"address\":"
		"{\"country\":\"DE\"}}", "EUR", 1000, NULL);
	tb_assert_rc(billing_invoice_render(&xml, &len, f->w->ctx, &other, id,
		BILLING_DOCUMENT_CII, NULL), BILLING_ENOTFOUND);
	tb_assert_rc(billing_invoice_render(&xml, &len, f->w->ctx, &nobody, id,
		BILLING_DOCUMENT_CII, NULL), BILLING_EFORBIDDEN);
	assert_null(xml);
	xml = render_cii(f, &f->admin, id);
	free(xml);
	billing_invoice_free(inv);
}

/* A credit line (an invoice item of -10.00) beside a 50.00 one, both at
 * 19 %, with a 10 % coupon on the draft: the credit is a negative quantity
 * at a positive price (BR-27), its discount (of its sign) a charge that
 * makes the credit smaller, and the sums still add up. */
static void einvoice__credit_line_and_its_discount(void **state)
{
	fx *f = *state;
	char rate[64], coupon[64], cus[64], draft[64], item[64], buf[512];
	billing_invoice *inv = NULL;
	const billing_invoice_line *credit;
	cii_doc c;
	char *xml;

	seller_branding(f);
	call(f, rate, "tax_rates.create", "{\"displayName\":\"MwSt\",\"percentage\":\"19\","
		"\"inclusive\":false}");
	call(f, coupon, "coupons.create", "{\"percentOff\":10,\"duration\":\"forever\"}");
	call(f, cus, "customers.create", "{\"name\":\"Ida\",\"email\":\"ida@cii.example\","
		"\"address\":{\"country\":\"AT\"}}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\","
		"\"coupon\":\"%s\",\"defaultTaxRates\":[\"%s\"]}", cus, coupon, rate);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Service\",\"amount\":5000}", cus, draft);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Goodwill\",\"amount\":-1000}", cus, draft);
	tb_assert_rc(billing_invoice_finalize(&inv, f->w->ctx, &f->admin, draft, NULL),
		BILLING_OK);
	credit = billing_invoice_line_at(inv, 1);
	assert_int_equal(credit->amount, -1000);
	xml = render_cii(f, &f->admin, draft);
	cii_parse(&c, xml, strlen(xml), inv);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:BilledQuantity"), "-1");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:NetPriceProductTradePrice/ram:ChargeAmount"), "10.00");
	assert_int_equal(credit->discount_amount, -100);   /* 10 % of the credit */
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:SpecifiedTradeAllowanceCharge/ram:ChargeIndicator/udt:Indicator"), "true");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount"), "1.00");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"), "-9.00");
	cii_free(&c);
	free(xml);
	billing_invoice_free(inv);
}

/* Credit note id's e-invoice, rendered by who and checked (cii_check)
 * against the note's own figures and its invoice's number and date. */
static char *render_note_cii(fx *f, const billing_principal *who, const char *id,
	cii_doc *c, const billing_invoice *inv)
{
	cJSON *note = note_json(f, id);
	const cJSON *l;
	cii_want want;
	char *xml = NULL;
	size_t len = 0;

	tb_assert_rc(billing_credit_note_render(&xml, &len, f->w->ctx, who, id,
		BILLING_DOCUMENT_CII, NULL), BILLING_OK);
	assert_non_null(xml);
	assert_int_equal(strlen(xml), len);
	memset(&want, 0, sizeof(want));
	want.currency = billing_invoice_currency(inv);
	want.type = "381";
	want.number = cJSON_GetObjectItemCaseSensitive(note, "number")->valuestring;
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		note, "lines"), "data"))
		want.nets[want.line_count++] = jint(l, "amountExcludingTax");
	if (want.line_count == 0)                        /* a lump note: one line */
		want.nets[want.line_count++] = jint(note, "subtotal");
	want.total = jint(note, "total");
	want.tax = jint(note, "tax");
	want.due = jint(note, "refundAmount");
	want.ref_number = billing_invoice_number(inv);
	want.ref_date = billing_invoice_finalized_at(inv);
	cii_check(c, xml, len, &want);
	cJSON_Delete(note);
	return xml;
}

/* A partial credit note of a two-rate invoice, by hand. The invoice (a
 * send_invoice one, pending): "Seats" 100.00 at 19 % (19.00) and 3 books
 * of 12.50 at 7 % (37.50, 2.625 -> 2.63): total 159.13. The note credits
 * 25.00 of the seats (4.75) and one book by quantity (12.50, 0.875 ->
 * 0.88): subtotal 37.50, tax 5.63, total 43.13, before payment, so it
 * lowered the invoice's amount due and leaves nothing to pay back
 * (BT-113 43.13, BT-115 0). Hostile text in the line and the memo. */
static void einvoice__credit_note_of_two_rates(void **state)
{
	fx *f = *state;
	char vat[64], reduced[64], cus[64], draft[64], item[64], cn[64], line[96], buf[512];
	billing_principal user = tb_user(f->t);
	billing_invoice *inv = NULL;
	cJSON *note;
	cii_doc c;
	char *xml;

	seller_branding(f);
	call(f, vat, "tax_rates.create", "{\"displayName\":\"MwSt\",\"percentage\":\"19\","
		"\"inclusive\":false}");
	call(f, reduced, "tax_rates.create", "{\"displayName\":\"MwSt erm.\",\"percentage\":"
		"\"7\",\"inclusive\":false}");
	call(f, cus, "customers.create", "{\"name\":\"" HOSTILE_JSON "\",\"email\":"
		"\"cn@cii.example\",\"address\":{\"city\":\"Paris\",\"country\":\"FR\"},"
		"\"taxIds\":[{\"type\":\"eu_vat\",\"value\":\"FR12345678901\"}]}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\","
		"\"collectionMethod\":\"send_invoice\",\"daysUntilDue\":14}", cus);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Seats " HOSTILE_JSON "\",\"amount\":10000,"
		"\"taxRates\":[\"%s\"]}", cus, draft, vat);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"Books\",\"unitAmount\":1250,\"quantity\":3,"
		"\"taxRates\":[\"%s\"]}", cus, draft, reduced);
	tb_assert_rc(billing_invoice_finalize(&inv, f->w->ctx, &f->admin, draft, NULL),
		BILLING_OK);
	assert_int_equal(billing_invoice_total(inv), 15913);
	snprintf(line, sizeof(line), "il_%s_", draft + 3);
	call(f, cn, "credit_notes.create", "{\"invoiceId\":\"%s\",\"lines\":[{\"invoiceLineId\":"
		"\"%s1\",\"amount\":2500},{\"invoiceLineId\":\"%s2\",\"quantity\":1}],\"reason\":"
		"\"order_change\",\"memo\":\"Sorry " HOSTILE_JSON "\"}", draft, line, line);
	note = note_json(f, cn);
	assert_int_equal(jint(note, "subtotal"), 3750);
	assert_int_equal(jint(note, "tax"), 563);
	assert_int_equal(jint(note, "total"), 4313);
	cJSON_Delete(note);

	xml = render_note_cii(f, &user, cn, &c, inv);        /* a USER reads it */
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "rsm:ExchangedDocument/ram:TypeCode"),
		"381");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:InvoiceReferencedDocument/"
		"ram:IssuerAssignedID"), "INV-000001");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:BuyerTradeParty/ram:Name"),
		HOSTILE);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:BuyerTradeParty/"
		"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"), "FR12345678901");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:SellerTradeParty/ram:Name"),
		"Werkstatt " HOSTILE " GmbH");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "rsm:ExchangedDocument/ram:IncludedNote/"
		"ram:Content"), "Sorry " HOSTILE);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[1]/ram:SpecifiedTradeProduct/ram:Name"), "Seats " HOSTILE);
	assert_null(strstr(xml, "<![CDATA["));
	assert_null(strstr(xml, "<b>"));
	/* Line 1: 25.00 of the seats at 19 %; line 2: one book at 12.50, 7 %. */
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[1]//ram:NetPriceProductTradePrice/ram:ChargeAmount"), "25.00");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[1]//ram:ApplicableTradeTax/ram:RateApplicablePercent"), "19");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:BilledQuantity"), "1");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:NetPriceProductTradePrice/ram:ChargeAmount"), "12.50");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"[2]//ram:ApplicableTradeTax/ram:RateApplicablePercent"), "7");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax[ram:RateApplicablePercent='19']/ram:BasisAmount"), "25.00");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax[ram:RateApplicablePercent='19']/ram:CalculatedAmount"),
		"4.75");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax[ram:RateApplicablePercent='7']/ram:BasisAmount"), "12.50");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:ApplicableHeaderTradeSettlement/"
		"ram:ApplicableTradeTax[ram:RateApplicablePercent='7']/ram:CalculatedAmount"), "0.88");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:LineTotalAmount[../"
		"ram:GrandTotalAmount]"), "37.50");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:TaxTotalAmount"), "5.63");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:GrandTotalAmount"), "43.13");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:TotalPrepaidAmount"), "43.13");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:DuePayableAmount"), "0.00");
	assert_int_equal(cii_count(c.xp, xmlDocGetRootElement(c.doc),
		"//ram:SpecifiedTradePaymentTerms"), 0);
	cii_free(&c);
	free(xml);
	billing_invoice_free(inv);
}

/* A lump note on a one-rate invoice is one line of that rate; on a
 * two-rate invoice it cannot say which it credits. Refused as the
 * invoice's e-invoice is (no seller country), a void note, the Factur-X
 * of a note, another tenant's note. */
static void einvoice__credit_note_lump_and_refusals(void **state)
{
	fx *f = *state;
	char id[64], cn[64], cus[64], draft[64], item[64], rate[64], reduced[64], buf[512];
	char *xml = (char *)"untouched";
	billing_principal other = tb_admin(tb_tenant(f->w, "Other"));
	billing_invoice *inv, *two = NULL;
	size_t len = 7;
	cii_doc c;

	inv = cii_issued(f, id, "{\"name\":\"Jo\",\"email\":\"jo@cii.example\",\"address\":"
		"{\"country\":\"DE\"}}", "EUR", 1000, "{\"displayName\":\"MwSt\",\"percentage\":"
		"\"19\",\"inclusive\":false}");
	call(f, cn, "credit_notes.create", "{\"invoiceId\":\"%s\",\"amount\":500}", id);
	tb_assert_rc(billing_credit_note_render(&xml, &len, f->w->ctx, &f->admin, cn,
		BILLING_DOCUMENT_CII, NULL), BILLING_ECONFLICT);   /* no seller country */
	tb_assert_field("branding.address.country");
	assert_string_equal(billing_error_last()->reason, "einvoice_incomplete");
	assert_null(xml);
	assert_int_equal(len, 0);
	seller_branding(f);

	/* 5.00 of 11.90, tax included: tax 0.80 (500 x 190 / 1190), net 4.20. */
	xml = render_note_cii(f, &f->admin, cn, &c, inv);
	assert_int_equal(cii_count(c.xp, xmlDocGetRootElement(c.doc),
		"//ram:IncludedSupplyChainTradeLineItem"), 1);
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:IncludedSupplyChainTradeLineItem"
		"//ram:ApplicableTradeTax/ram:RateApplicablePercent"), "19");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:LineTotalAmount[../"
		"ram:GrandTotalAmount]"), "4.20");
	assert_string_equal(cii_at(buf, sizeof(buf), &c, "//ram:TaxTotalAmount"), "0.80");
	cii_free(&c);
	free(xml);
	xml = NULL;

	tb_assert_rc(billing_credit_note_render(&xml, &len, f->w->ctx, &other, cn,
		BILLING_DOCUMENT_CII, NULL), BILLING_ENOTFOUND);
	tb_assert_rc(billing_credit_note_render(&xml, &len, f->w->ctx, &f->admin, id,
		BILLING_DOCUMENT_CII, NULL), BILLING_ENOTFOUND);    /* an invoice's id */
	tb_assert_rc(billing_credit_note_render(&xml, &len, f->w->ctx, &f->admin, cn,
		BILLING_DOCUMENT_FACTURX, NULL), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->reason, "unsupported_format");
	call(f, NULL, "credit_notes.void", "{\"id\":\"%s\"}", cn);
	tb_assert_rc(billing_credit_note_render(&xml, &len, f->w->ctx, &f->admin, cn,
		BILLING_DOCUMENT_CII, NULL), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "credit_note_void");
	assert_null(xml);
	assert_int_equal(len, 0);
	billing_invoice_free(inv);

	/* Two rates: a lump note has no one category. */
	call(f, rate, "tax_rates.create", "{\"displayName\":\"VAT\",\"percentage\":\"19\","
		"\"inclusive\":false}");
	call(f, reduced, "tax_rates.create", "{\"displayName\":\"VAT reduced\",\"percentage\":"
		"\"7\",\"inclusive\":false}");
	call(f, cus, "customers.create", "{\"name\":\"Kai\",\"email\":\"kai@cii.example\","
		"\"address\":{\"country\":\"DE\"}}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\","
		"\"collectionMethod\":\"send_invoice\",\"daysUntilDue\":14}", cus);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"A\",\"amount\":1000,\"taxRates\":[\"%s\"]}",
		cus, draft, rate);
	call(f, item, "invoice_items.create", "{\"customerId\":\"%s\",\"invoiceId\":\"%s\","
		"\"currency\":\"EUR\",\"description\":\"B\",\"amount\":1000,\"taxRates\":[\"%s\"]}",
		cus, draft, reduced);
	tb_assert_rc(billing_invoice_finalize(&two, f->w->ctx, &f->admin, draft, NULL),
		BILLING_OK);
	call(f, cn, "credit_notes.create", "{\"invoiceId\":\"%s\",\"amount\":500}", draft);
	tb_assert_rc(billing_credit_note_render(&xml, &len, f->w->ctx, &f->admin, cn,
		BILLING_DOCUMENT_CII, NULL), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "einvoice_unsupported");
	tb_assert_field("amount");
	assert_null(xml);
	assert_int_equal(len, 0);
	billing_invoice_free(two);
}

/* Every allocation and every storage statement failing in turn for an
 * e-invoice: a clean refusal each time, nothing handed out. */
static void einvoice__faults_at_each_step(void **state)
{
	fx *f = *state;
	char id[64], cn[64], line[96], *xml = NULL;
	billing_invoice *inv;
	size_t len = 0;
	long n;
	int rc = BILLING_ERROR, pass;
#ifdef BILLING_FACTURX
	const int passes = 4;    /* the CII, then the Factur-X (its CII, layout, PDF, post-pass) */
#else
	const int passes = 2;
#endif

	seller_branding(f);
	inv = cii_issued(f, id, "{\"name\":\"Hal\",\"email\":\"hal@cii.example\",\"address\":"
		"{\"country\":\"NL\"},\"taxIds\":[{\"type\":\"eu_vat\",\"value\":\"NL123456789B01\"}]}",
		"EUR", 2500, "{\"displayName\":\"BTW\",\"percentage\":\"21\",\"inclusive\":false}");
	for (pass = 0; pass < passes; pass++) {
		for (n = 1, rc = BILLING_ERROR; rc != BILLING_OK && n < 100000; n++) {
			if (pass % 2 == 0)
				billing__alloc_fail_at(n);
			else
				billing__storage_fail_at(n);
			rc = billing_invoice_render(&xml, &len, f->w->ctx, &f->admin, id,
				pass < 2 ? BILLING_DOCUMENT_CII : BILLING_DOCUMENT_FACTURX, NULL);
			billing__alloc_fail_at(0);
			billing__storage_fail_at(0);
			if (rc != BILLING_OK) {
				assert_true(rc == BILLING_ENOMEM || rc == BILLING_ESTORAGE);
				assert_null(xml);
				assert_int_equal(len, 0);
			}
		}
		tb_assert_rc(rc, BILLING_OK);
		assert_true(n > 2);
		free(xml);
		xml = NULL;
	}
	/* A credit note's e-invoice, every allocation failing in turn. */
	snprintf(line, sizeof(line), "il_%s_1", id + 3);
	call(f, cn, "credit_notes.create", "{\"invoiceId\":\"%s\",\"lines\":[{"
		"\"invoiceLineId\":\"%s\",\"amount\":1000}]}", id, line);
	for (n = 1, rc = BILLING_ERROR; rc != BILLING_OK && n < 100000; n++) {
		billing__alloc_fail_at(n);
		rc = billing_credit_note_render(&xml, &len, f->w->ctx, &f->admin, cn,
			BILLING_DOCUMENT_CII, NULL);
		billing__alloc_fail_at(0);
		if (rc != BILLING_OK) {
			assert_int_equal(rc, BILLING_ENOMEM);
			assert_null(xml);
			assert_int_equal(len, 0);
		}
	}
	tb_assert_rc(rc, BILLING_OK);
	assert_true(n > 2);
	free(xml);
	billing_invoice_free(inv);
}

#ifdef BILLING_FACTURX
/* ------------------------------------------------------------ Factur-X */

#define FX_NS "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"

static char *render_facturx(fx *f, const char *id, const char *locale, size_t *len)
{
	char *pdf = NULL;
	tb_assert_rc(billing_invoice_render(&pdf, len, f->w->ctx, &f->admin, id,
		BILLING_DOCUMENT_FACTURX, locale), BILLING_OK);
	assert_non_null(pdf);
	assert_memory_equal(pdf, "%PDF-1.7\n", 9);
	return pdf;
}

/* The whole file at path (it must exist); *len its length. */
static char *file_bytes(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* The PDF's objects as qpdf --json (v2) reads them, streams inline:
 * {"obj:N 0 R": {"value": ...} | {"stream": {"dict", "data"}}, "trailer"}. */
static cJSON *pdf_objects(const char *path)
{
	char cmd[256], *out;
	cJSON *root, *objects = NULL, *e;
	snprintf(cmd, sizeof(cmd), "qpdf --json=2 --json-key=qpdf --json-stream-data=inline "
		"--decode-level=generalized %s", path);
	out = command_output(cmd);
	assert_non_null(root = cJSON_Parse(out));
	free(out);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "qpdf"))
		if (cJSON_GetObjectItemCaseSensitive(e, "trailer"))
			objects = cJSON_DetachItemViaPointer(cJSON_GetObjectItemCaseSensitive(root,
				"qpdf"), e);
	cJSON_Delete(root);
	assert_non_null(objects);
	return objects;
}

/* The object a reference ("12 0 R") names; a direct value as it is. */
static const cJSON *deref(const cJSON *objects, const cJSON *v)
{
	char key[64];
	const cJSON *o;
	if (!cJSON_IsString(v) || !strstr(v->valuestring, " R"))
		return v;
	snprintf(key, sizeof(key), "obj:%s", v->valuestring);
	assert_non_null(o = cJSON_GetObjectItemCaseSensitive(objects, key));
	if (cJSON_GetObjectItemCaseSensitive(o, "stream"))
		return cJSON_GetObjectItemCaseSensitive(o, "stream");
	return cJSON_GetObjectItemCaseSensitive(o, "value");
}

/* dict[key], followed through a reference. */
static const cJSON *at(const cJSON *objects, const cJSON *dict, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(dict, key);
	if (!v)
		fail_msg("no %s in the dictionary", key);
	return deref(objects, v);
}

/* A stream's decoded data (new); *len its length. */
static unsigned char *stream_data(const cJSON *stream, size_t *len)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(stream, "data");
	size_t n;
	unsigned char *buf;
	long got;
	assert_true(cJSON_IsString(data));
	n = strlen(data->valuestring);
	assert_non_null(buf = malloc(n / 4 * 3 + 4));
	got = billing__b64_decode(buf, n / 4 * 3 + 4, data->valuestring, n);
	assert_true(got >= 0);
	*len = (size_t)got;
	buf[got] = '\0';
	return buf;
}

/* A PDF string as qpdf's JSON writes it: "u:text" (Unicode) or "b:hex". */
static const char *pdf_string(const cJSON *v)
{
	assert_true(cJSON_IsString(v));
	assert_memory_equal(v->valuestring, "u:", 2);
	return v->valuestring + 2;
}

/* The fonts pdffonts lists (after its "----" rule), each of which must
 * be embedded: the emb column, fifth from the right (emb sub uni num gen). */
static int fonts_embedded(char *listing)
{
	char *line, *save = NULL, *tok[32];
	int rows = 0, seen_rule = 0;
	for (line = strtok_r(listing, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ts = NULL, *w;
		int n = 0;
		if (strncmp(line, "----", 4) == 0) {
			seen_rule = 1;
			continue;
		}
		if (!seen_rule)
			continue;
		for (w = strtok_r(line, " ", &ts); w && n < 32; w = strtok_r(NULL, " ", &ts))
			tok[n++] = w;
		assert_true(n >= 6);
		if (strcmp(tok[n - 5], "yes") != 0)
			fail_msg("a font is not embedded: %s", tok[0]);
		rows++;
	}
	return rows;
}

/* The text of the XMP node at path, which must be there. */
static void assert_xmp(xmlXPathContextPtr xp, const char *path, const char *want)
{
	char buf[512];
	assert_string_equal(cii_text(buf, sizeof(buf), xp, xmlDocGetRootElement(xp->doc), path),
		want);
}

/* The Factur-X invoice of a finalized invoice: qpdf --check clean; its one
 * attachment, factur-x.xml, byte-equal to the CII format's XML and passing
 * the CII checker; the XMP (libxml2) with pdfaid 3 B, the Factur-X
 * extension schema's values and description, dc:title and the dates equal
 * to Info's; the sRGB output intent (N 3, the ICC header); /AF and the
 * EmbeddedFiles tree naming one file specification (AFRelationship
 * /Alternative, text/xml); the trailer's /ID; every font embedded and none
 * Type 3; the same text as the plain PDF; the same bytes on every render. */
static void facturx__attachment_metadata_and_intent(void **state)
{
	fx *f = *state;
	char id[64], path[64], saved[96], cmd[256], when[32], *pdf, *again, *xml, *plain, *out;
	char *saved_xml;
	size_t len, len2, plain_len, saved_len, n;
	const cJSON *trailer, *root, *info, *intent, *icc, *spec, *ef, *names, *af;
	unsigned char *data;
	cJSON *objects;
	billing_invoice *inv;
	xmlDocPtr doc;
	xmlXPathContextPtr xp;
	cii_doc c;
	struct tm tm;
	time_t tt;

	seller_branding(f);
	inv = cii_issued(f, id, "{\"name\":\"Hal " HOSTILE_JSON "\",\"email\":\"hal@cii.example\","
		"\"address\":{\"country\":\"NL\"},\"taxIds\":[{\"type\":\"eu_vat\",\"value\":"
		"\"NL123456789B01\"}]}", "EUR", 2500, "{\"displayName\":\"BTW\",\"percentage\":\"21\","
		"\"inclusive\":false}");
	xml = render_cii(f, &f->admin, id);
	pdf = render_facturx(f, id, "de-DE", &len);
	again = render_facturx(f, id, "de-DE", &len2);
	assert_int_equal(len, len2);                 /* the same bytes every time */
	assert_memory_equal(pdf, again, len);
	free(again);

	/* The same pages as the PDF format's. */
	out = pdf_text(pdf, len);                    /* qpdf --check clean first */
	tb_assert_rc(billing_invoice_render(&again, &plain_len, f->w->ctx, &f->admin, id,
		BILLING_DOCUMENT_PDF, "de-DE"), BILLING_OK);
	plain = pdf_text(again, plain_len);
	assert_string_equal(out, plain);
	assert_non_null(strstr(out, billing_invoice_number(inv)));
	free(out);
	free(plain);
	free(again);

	/* Its attachment: factur-x.xml, the CII's bytes, and they pass the checker. */
	pdf_file(path, pdf, len);
	snprintf(cmd, sizeof(cmd), "pdfdetach -list %s", path);
	out = command_output(cmd);
	assert_non_null(strstr(out, "1 embedded files"));
	assert_non_null(strstr(out, "1: factur-x.xml"));
	free(out);
	snprintf(saved, sizeof(saved), "%s.xml", path);
	snprintf(cmd, sizeof(cmd), "pdfdetach -save 1 -o %s %s", saved, path);
	free(command_output(cmd));
	saved_xml = file_bytes(saved, &saved_len);
	unlink(saved);
	assert_int_equal(saved_len, strlen(xml));
	assert_memory_equal(saved_xml, xml, saved_len);
	cii_parse(&c, saved_xml, saved_len, inv);
	cii_free(&c);
	free(saved_xml);

	/* Fonts: embedded, none of Type 3. */
	snprintf(cmd, sizeof(cmd), "pdffonts %s", path);
	out = command_output(cmd);
	assert_null(strstr(out, "Type 3"));
	assert_true(fonts_embedded(out) >= 1);
	free(out);

	/* The objects. */
	objects = pdf_objects(path);
	if (getenv("BILLING_KEEP_PDF"))
		fprintf(stderr, "kept %s\n", path);
	else
		unlink(path);
	trailer = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(objects,
		"trailer"), "value");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(trailer, "/ID")), 2);
	root = at(objects, trailer, "/Root");
	info = at(objects, trailer, "/Info");

	/* The output intent: GTS_PDFA1, sRGB, an RGB ICC profile of 3 components. */
	assert_int_equal(cJSON_GetArraySize(at(objects, root, "/OutputIntents")), 1);
	intent = deref(objects, cJSON_GetArrayItem(at(objects, root, "/OutputIntents"), 0));
	assert_string_equal(at(objects, intent, "/S")->valuestring, "/GTS_PDFA1");
	assert_string_equal(pdf_string(at(objects, intent, "/OutputConditionIdentifier")),
		"sRGB IEC61966-2.1");
	icc = at(objects, intent, "/DestOutputProfile");
	assert_int_equal(at(objects, cJSON_GetObjectItemCaseSensitive(icc, "dict"),
		"/N")->valueint, 3);
	data = stream_data(icc, &n);
	assert_true(n > 128);
	assert_int_equal(((size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 |
		data[3]), n);                             /* the profile's own size */
	assert_memory_equal(data + 12, "mntrRGB XYZ ", 12);
	assert_memory_equal(data + 36, "acsp", 4);
	free(data);

	/* The attachment's objects: /AF and the name tree name one spec. */
	af = at(objects, root, "/AF");
	assert_int_equal(cJSON_GetArraySize(af), 1);
	spec = deref(objects, cJSON_GetArrayItem(af, 0));
	names = at(objects, at(objects, at(objects, root, "/Names"), "/EmbeddedFiles"), "/Names");
	assert_int_equal(cJSON_GetArraySize(names), 2);
	assert_string_equal(pdf_string(cJSON_GetArrayItem(names, 0)), "factur-x.xml");
	assert_string_equal(cJSON_GetArrayItem(names, 1)->valuestring,
		cJSON_GetArrayItem(af, 0)->valuestring);
	assert_string_equal(at(objects, spec, "/Type")->valuestring, "/Filespec");
	assert_string_equal(at(objects, spec, "/AFRelationship")->valuestring, "/Alternative");
	assert_string_equal(pdf_string(at(objects, spec, "/F")), "factur-x.xml");
	assert_string_equal(pdf_string(at(objects, spec, "/UF")), "factur-x.xml");
	ef = at(objects, at(objects, spec, "/EF"), "/F");
	assert_string_equal(at(objects, cJSON_GetObjectItemCaseSensitive(ef, "dict"),
		"/Type")->valuestring, "/EmbeddedFile");
	assert_string_equal(at(objects, cJSON_GetObjectItemCaseSensitive(ef, "dict"),
		"/Subtype")->valuestring, "/text/xml");    /* qpdf's JSON: the name decoded */
	assert_true(holds(pdf, len, "/Subtype /text#2fxml", 20));   /* PDF syntax */
	assert_int_equal(at(objects, at(objects, cJSON_GetObjectItemCaseSensitive(ef, "dict"),
		"/Params"), "/Size")->valueint, (int)strlen(xml));

	/* Info: the document's title and its issue date. */
	tt = (time_t)billing_invoice_finalized_at(inv);
	assert_non_null(gmtime_r(&tt, &tm));
	strftime(when, sizeof(when), "D:%Y%m%d%H%M%S+00'00'", &tm);
	assert_string_equal(pdf_string(at(objects, info, "/CreationDate")), when);
	assert_string_equal(pdf_string(at(objects, info, "/ModDate")), when);
	snprintf(cmd, sizeof(cmd), "Rechnung %s", billing_invoice_number(inv));
	assert_string_equal(pdf_string(at(objects, info, "/Title")), cmd);
	assert_string_equal(pdf_string(at(objects, info, "/Creator")), "libbilling");

	/* The XMP, uncompressed, parsed: the same title, dates and producer. */
	icc = at(objects, root, "/Metadata");
	assert_string_equal(at(objects, cJSON_GetObjectItemCaseSensitive(icc, "dict"),
		"/Subtype")->valuestring, "/XML");
	assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(icc,
		"dict"), "/Filter"));
	data = stream_data(icc, &n);
	assert_true(holds(pdf, len, (const char *)data, n));   /* as it is in the file */
	assert_non_null(doc = xmlReadMemory((const char *)data, (int)n, "xmp.xml", "UTF-8",
		XML_PARSE_NONET));
	assert_non_null(xp = xmlXPathNewContext(doc));
	xmlXPathRegisterNs(xp, BAD_CAST "x", BAD_CAST "adobe:ns:meta/");
	xmlXPathRegisterNs(xp, BAD_CAST "rdf",
		BAD_CAST "http://www.w3.org/1999/02/22-rdf-syntax-ns#");
	xmlXPathRegisterNs(xp, BAD_CAST "pdfaid", BAD_CAST "http://www.aiim.org/pdfa/ns/id/");
	xmlXPathRegisterNs(xp, BAD_CAST "dc", BAD_CAST "http://purl.org/dc/elements/1.1/");
	xmlXPathRegisterNs(xp, BAD_CAST "xmp", BAD_CAST "http://ns.adobe.com/xap/1.0/");
	xmlXPathRegisterNs(xp, BAD_CAST "pdf", BAD_CAST "http://ns.adobe.com/pdf/1.3/");
	xmlXPathRegisterNs(xp, BAD_CAST "fx", BAD_CAST FX_NS);
	xmlXPathRegisterNs(xp, BAD_CAST "pdfaExtension",
		BAD_CAST "http://www.aiim.org/pdfa/ns/extension/");
	xmlXPathRegisterNs(xp, BAD_CAST "pdfaSchema", BAD_CAST "http://www.aiim.org/pdfa/ns/schema#");
	xmlXPathRegisterNs(xp, BAD_CAST "pdfaProperty",
		BAD_CAST "http://www.aiim.org/pdfa/ns/property#");
	assert_xmp(xp, "//pdfaid:part", "3");
	assert_xmp(xp, "//pdfaid:conformance", "B");
	assert_xmp(xp, "//fx:DocumentType", "INVOICE");
	assert_xmp(xp, "//fx:DocumentFileName", "factur-x.xml");
	assert_xmp(xp, "//fx:Version", "1.0");
	assert_xmp(xp, "//fx:ConformanceLevel", "EN 16931");
	assert_xmp(xp, "//dc:title/rdf:Alt/rdf:li[@xml:lang='x-default']",
		pdf_string(at(objects, info, "/Title")));
	assert_xmp(xp, "//pdf:Producer", pdf_string(at(objects, info, "/Producer")));
	assert_xmp(xp, "//xmp:CreatorTool", "libbilling");
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	assert_xmp(xp, "//xmp:CreateDate", when);
	assert_xmp(xp, "//xmp:ModifyDate", when);
	assert_xmp(xp, "//pdfaExtension:schemas/rdf:Bag/rdf:li/pdfaSchema:namespaceURI", FX_NS);
	assert_xmp(xp, "//pdfaExtension:schemas/rdf:Bag/rdf:li/pdfaSchema:prefix", "fx");
	assert_int_equal(cii_count(xp, xmlDocGetRootElement(doc), "//pdfaSchema:property/rdf:Seq/"
		"rdf:li[pdfaProperty:valueType='Text' and pdfaProperty:category='external' and "
		"(pdfaProperty:name='DocumentFileName' or pdfaProperty:name='DocumentType' or "
		"pdfaProperty:name='Version' or pdfaProperty:name='ConformanceLevel')]"), 4);
	xmlXPathFreeContext(xp);
	xmlFreeDoc(doc);
	free(data);

	cJSON_Delete(objects);
	free(xml);
	free(pdf);
	billing_invoice_free(inv);
}

/* Refused as the CII is, and for a credit note; nothing handed out. */
static void facturx__refusals(void **state)
{
	fx *f = *state;
	char id[64], draft[64], cus[64], *pdf = (char *)"untouched";
	billing_invoice *inv;
	size_t len = 7;

	inv = cii_issued(f, id, "{\"name\":\"Di\",\"email\":\"di@cii.example\",\"address\":"
		"{\"country\":\"DE\"}}", "EUR", 1000, NULL);
	tb_assert_rc(billing_invoice_render(&pdf, &len, f->w->ctx, &f->admin, id,
		BILLING_DOCUMENT_FACTURX, NULL), BILLING_ECONFLICT);   /* no seller country */
	tb_assert_field("branding.address.country");
	assert_string_equal(billing_error_last()->reason, "einvoice_incomplete");
	assert_null(pdf);
	assert_int_equal(len, 0);
	billing_invoice_free(inv);

	seller_branding(f);
	call(f, cus, "customers.create", "{\"name\":\"Flo\",\"email\":\"flo@cii.example\","
		"\"address\":{\"country\":\"DE\"}}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\","
		"\"collectionMethod\":\"send_invoice\",\"daysUntilDue\":14}", cus);
	tb_assert_rc(billing_invoice_render(&pdf, &len, f->w->ctx, &f->admin, draft,
		BILLING_DOCUMENT_FACTURX, NULL), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "draft");
	assert_null(pdf);
	tb_assert_rc(billing_invoice_render(&pdf, &len, f->w->ctx, &f->admin, draft,
		BILLING_DOCUMENT_FACTURX, "xx-XX"), BILLING_EINVALID);
	tb_assert_field("locale");
	tb_assert_rc(billing_credit_note_render(&pdf, &len, f->w->ctx, &f->admin, "cn_none",
		BILLING_DOCUMENT_FACTURX, NULL), BILLING_EINVALID);
	tb_assert_field("format");
	assert_string_equal(billing_error_last()->reason, "unsupported_format");
	assert_null(pdf);
	assert_int_equal(len, 0);
}
#else
/* A build without Factur-X support (no qpdf, or no PDF) refuses the
 * format before it reads anything. */
static void facturx__unsupported_without_qpdf(void **state)
{
	fx *f = *state;
	char cus[64], draft[64], *pdf = NULL;
	size_t len = 0;
	call(f, cus, "customers.create", "{\"name\":\"No FX\",\"email\":\"nofx@doc.example\"}");
	call(f, draft, "invoices.create", "{\"customerId\":\"%s\",\"currency\":\"EUR\"}", cus);
	tb_assert_rc(billing_invoice_render(&pdf, &len, f->w->ctx, &f->admin, draft,
		BILLING_DOCUMENT_FACTURX, NULL), BILLING_EINVALID);
	tb_assert_field("format");
	assert_string_equal(billing_error_last()->reason, "unsupported_format");
	assert_null(pdf);
}
#endif

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(documents__every_amount_in_every_locale),
		T(documents__a_draft_then_its_finalized_document),
		T(documents__refusals),
		T(documents__customer_address_and_locale_by_c),
		T(documents__buyer_address_and_preferred_locale),
		T(documents__branding_in_the_seller_block),
		T(documents__tenant_locale_by_default),
		T(documents__balance_credit_notes_payment_notes_and_statuses),
#ifdef BILLING_PDF
		T(documents__pdf_every_amount_in_every_locale),
		T(documents__pdf_names_in_every_script),
		T(documents__pdf_pages_and_same_bytes),
		T(documents__pdf_matches_the_reviewed_image),
		T(documents__pdf_logo_in_the_seller_block),
#else
		T(documents__pdf_unsupported_without_cairo),
#endif
		T(documents__credit_note_in_every_locale),
		T(documents__credit_note_refusals),
		T(documents__tiered_line_shows_no_unit_price),
		T(documents__faults_at_each_step),
		T(documents__package_line_shows_packages),
		T(documents__hosted_links),
		T(einvoice__two_rates_and_a_discount),
		T(einvoice__reverse_charge),
		T(einvoice__exempt_customer),
		T(einvoice__zero_decimal_currency_and_outside_scope),
		T(einvoice__credit_line_and_its_discount),
		T(einvoice__credit_note_of_two_rates),
		T(einvoice__credit_note_lump_and_refusals),
		T(einvoice__refusals),
		T(einvoice__faults_at_each_step),
#ifdef BILLING_FACTURX
		T(facturx__attachment_metadata_and_intent),
		T(facturx__refusals),
#else
		T(facturx__unsupported_without_qpdf),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
