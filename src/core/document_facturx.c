/*
 * The Factur-X invoice (issue #24 item 4; Factur-X 1.0, profile EN 16931):
 * the invoice's PDF, as cairo drew it (document_pdf.c), turned into
 * PDF/A-3B with its CII XML (document_cii.c) attached, by a post-pass
 * through qpdf's C API. cairo cannot attach a file, write XMP metadata or
 * an output intent; qpdf reads the PDF from memory, adds objects and
 * writes it back to memory, never through a file.
 *
 * What the post-pass adds to the catalog (ISO 19005-3, Factur-X 1.0):
 * - /Metadata: an XMP packet, uncompressed (qpdf leaves metadata streams
 *   as they are): pdfaid:part 3, pdfaid:conformance B; dc:title,
 *   xmp:CreateDate, xmp:ModifyDate, xmp:CreatorTool and pdf:Producer,
 *   each equal to its Info entry (the Info entries are set here from the
 *   same values, so they cannot differ); the Factur-X extension schema's
 *   fx:DocumentType INVOICE, fx:DocumentFileName factur-x.xml, fx:Version
 *   1.0, fx:ConformanceLevel EN 16931, with its pdfaExtension description
 *   (PDF/A allows a schema outside its predefined ones only when it is
 *   described so).
 * - /OutputIntents: one GTS_PDFA1 intent whose DestOutputProfile is the
 *   sRGB profile compiled into the library (cmake/embed_file.cmake; from
 *   Debian's icc-profiles-free, zlib licence), /N 3: cairo paints in
 *   DeviceRGB, which PDF/A allows only under an RGB output intent.
 * - The XML as an embedded file stream (/Subtype /text#2Fxml, /Params with
 *   its size and date), its file specification (/F and /UF factur-x.xml,
 *   /AFRelationship /Alternative: the XML is the invoice's equivalent
 *   structured form, as Factur-X 1.0 says for the EN 16931 profile) in the
 *   catalog's /AF array and in its /Names /EmbeddedFiles tree.
 * The file is written as PDF 1.7 with a trailer /ID that qpdf derives from
 * the content (deterministic ID), so one invoice always gives the same
 * bytes: the HTTP ETag is their hash. Fonts are cairo's embedded subsets
 * (TrueType / CFF, no Type 3 for the Noto faces).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <qpdf/qpdf-c.h>

#include "core/core.h"
#include "core/document.h"

/* cmake/embed_file.cmake makes them (srgb_icc.c in the build tree). */
extern const unsigned char billing__srgb_icc[];
extern const size_t billing__srgb_icc_len;

#define FX_FILE "factur-x.xml"
#define FX_NS "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
#define CREATOR "libbilling"
#define SRGB "sRGB IEC61966-2.1"

/* ------------------------------------------------------------ XMP */

typedef struct {
	char *buf;
	size_t len, cap;
	int failed;
} text;

static void put(text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *grown;
		while (cap < t->len + n + 1)
			cap *= 2;
		if ((grown = billing__realloc(t->buf, cap)) == NULL) {
			t->failed = 1;
			return;
		}
		t->buf = grown;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n + 1);
	t->len += n;
}

/* s as XML text: the one escape function of the documents (& < > " '). */
static void put_escaped(text *t, const char *s)
{
	if (!t->failed && billing__html_escape(&t->buf, &t->len, &t->cap, s) < 0)
		t->failed = 1;
}

/* One property of the Factur-X extension schema's description. */
static void fx_property(text *t, const char *name, const char *description)
{
	put(t, "<rdf:li rdf:parseType=\"Resource\"><pdfaProperty:name>");
	put(t, name);
	put(t, "</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType>"
		"<pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>");
	put(t, description);
	put(t, "</pdfaProperty:description></rdf:li>\n");
}

/* The XMP packet: title, date (ISO 8601 with its offset) and producer are
 * the Info dictionary's. */
static void xmp(text *t, const char *title, const char *date, const char *producer)
{
	put(t, "<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
		"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
		"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
		"<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n"
		"<pdfaid:part>3</pdfaid:part>\n<pdfaid:conformance>B</pdfaid:conformance>\n"
		"</rdf:Description>\n"
		"<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
		"<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">");
	put_escaped(t, title);
	put(t, "</rdf:li></rdf:Alt></dc:title>\n</rdf:Description>\n"
		"<rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n"
		"<xmp:CreateDate>");
	put(t, date);
	put(t, "</xmp:CreateDate>\n<xmp:ModifyDate>");
	put(t, date);
	put(t, "</xmp:ModifyDate>\n<xmp:CreatorTool>" CREATOR "</xmp:CreatorTool>\n"
		"</rdf:Description>\n"
		"<rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n"
		"<pdf:Producer>");
	put_escaped(t, producer);
	put(t, "</pdf:Producer>\n</rdf:Description>\n"
		"<rdf:Description rdf:about=\"\" "
		"xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\" "
		"xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\" "
		"xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\n"
		"<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType=\"Resource\">\n"
		"<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>\n"
		"<pdfaSchema:namespaceURI>" FX_NS "</pdfaSchema:namespaceURI>\n"
		"<pdfaSchema:prefix>fx</pdfaSchema:prefix>\n"
		"<pdfaSchema:property><rdf:Seq>\n");
	fx_property(t, "DocumentFileName", "The name of the embedded XML document");
	fx_property(t, "DocumentType", "The type of the hybrid document in capital letters, "
		"e.g. INVOICE or ORDER");
	fx_property(t, "Version", "The actual version of the standard applying to the embedded "
		"XML document");
	fx_property(t, "ConformanceLevel", "The conformance level of the embedded XML document");
	put(t, "</rdf:Seq></pdfaSchema:property>\n</rdf:li></rdf:Bag></pdfaExtension:schemas>\n"
		"</rdf:Description>\n"
		"<rdf:Description rdf:about=\"\" xmlns:fx=\"" FX_NS "\">\n"
		"<fx:DocumentType>INVOICE</fx:DocumentType>\n"
		"<fx:DocumentFileName>" FX_FILE "</fx:DocumentFileName>\n"
		"<fx:Version>1.0</fx:Version>\n"
		"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>\n"
		"</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>");
}

/* ------------------------------------------------------------ objects */

static qpdf_oh stream_of(qpdf_data q, const void *data, size_t n)
{
	qpdf_oh s = qpdf_oh_new_stream(q);
	qpdf_oh_replace_stream_data(q, s, data, n, qpdf_oh_new_null(q), qpdf_oh_new_null(q));
	return s;
}

/* The dictionary at key of dict, made (direct) when it is not one. */
static qpdf_oh dict_at(qpdf_data q, qpdf_oh dict, const char *key)
{
	qpdf_oh d = qpdf_oh_get_key(q, dict, key);
	if (!qpdf_oh_is_dictionary(q, d)) {
		d = qpdf_oh_new_dictionary(q);
		qpdf_oh_replace_key(q, dict, key, d);
	}
	return d;
}

/* The embedded XML, its file specification (indirect), in /AF and in the
 * EmbeddedFiles name tree of root. */
static void attach(qpdf_data q, qpdf_oh root, const char *xml, size_t xml_len,
	const char *pdf_date)
{
	qpdf_oh file = stream_of(q, xml, xml_len), dict = qpdf_oh_get_dict(q, file);
	qpdf_oh params = qpdf_oh_new_dictionary(q), ef = qpdf_oh_new_dictionary(q);
	qpdf_oh spec = qpdf_oh_new_dictionary(q), af = qpdf_oh_new_array(q);
	qpdf_oh names = qpdf_oh_new_array(q), tree;

	qpdf_oh_replace_key(q, dict, "/Type", qpdf_oh_new_name(q, "/EmbeddedFile"));
	qpdf_oh_replace_key(q, dict, "/Subtype", qpdf_oh_new_name(q, "/text/xml"));
	qpdf_oh_replace_key(q, params, "/Size", qpdf_oh_new_integer(q, (long long)xml_len));
	qpdf_oh_replace_key(q, params, "/ModDate", qpdf_oh_new_string(q, pdf_date));
	qpdf_oh_replace_key(q, dict, "/Params", params);

	qpdf_oh_replace_key(q, ef, "/F", file);
	qpdf_oh_replace_key(q, ef, "/UF", file);
	qpdf_oh_replace_key(q, spec, "/Type", qpdf_oh_new_name(q, "/Filespec"));
	qpdf_oh_replace_key(q, spec, "/F", qpdf_oh_new_string(q, FX_FILE));
	qpdf_oh_replace_key(q, spec, "/UF", qpdf_oh_new_unicode_string(q, FX_FILE));
	qpdf_oh_replace_key(q, spec, "/Desc", qpdf_oh_new_string(q,
		"Factur-X invoice: UN/CEFACT CII of the EN 16931 profile"));
	qpdf_oh_replace_key(q, spec, "/AFRelationship", qpdf_oh_new_name(q, "/Alternative"));
	qpdf_oh_replace_key(q, spec, "/EF", ef);
	spec = qpdf_make_indirect_object(q, spec);

	qpdf_oh_append_item(q, af, spec);
	qpdf_oh_replace_key(q, root, "/AF", af);
	tree = dict_at(q, dict_at(q, root, "/Names"), "/EmbeddedFiles");
	qpdf_oh_append_item(q, names, qpdf_oh_new_string(q, FX_FILE));
	qpdf_oh_append_item(q, names, spec);
	qpdf_oh_replace_key(q, tree, "/Names", names);
}

/* The GTS_PDFA1 output intent with the sRGB profile. */
static void output_intent(qpdf_data q, qpdf_oh root)
{
	qpdf_oh icc = stream_of(q, billing__srgb_icc, billing__srgb_icc_len);
	qpdf_oh intent = qpdf_oh_new_dictionary(q), intents = qpdf_oh_new_array(q);

	qpdf_oh_replace_key(q, qpdf_oh_get_dict(q, icc), "/N", qpdf_oh_new_integer(q, 3));
	qpdf_oh_replace_key(q, intent, "/Type", qpdf_oh_new_name(q, "/OutputIntent"));
	qpdf_oh_replace_key(q, intent, "/S", qpdf_oh_new_name(q, "/GTS_PDFA1"));
	qpdf_oh_replace_key(q, intent, "/OutputConditionIdentifier", qpdf_oh_new_string(q, SRGB));
	qpdf_oh_replace_key(q, intent, "/Info", qpdf_oh_new_string(q, SRGB));
	qpdf_oh_replace_key(q, intent, "/RegistryName",
		qpdf_oh_new_string(q, "http://www.color.org"));
	qpdf_oh_replace_key(q, intent, "/DestOutputProfile", icc);
	qpdf_oh_append_item(q, intents, intent);
	qpdf_oh_replace_key(q, root, "/OutputIntents", intents);
}

/* ------------------------------------------------------------ the call */

int billing__doc_facturx(char **out, size_t *len, const char *pdf, size_t pdf_len,
	const char *xml, size_t xml_len, const billing__doc *d)
{
	qpdf_data q = qpdf_init();
	qpdf_oh root, trailer, info, producer;
	text meta = { NULL, 0, 0, 0 };
	char pdf_date[32], xmp_date[32], *prod = NULL;
	time_t tt = (time_t)d->issued_at;
	struct tm tm;
	int rc = BILLING_OK;

	*out = NULL;
	*len = 0;
	if (!q)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	qpdf_silence_errors(q);
	qpdf_set_suppress_warnings(q, QPDF_TRUE);   /* kept, never written to stderr */
	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof(tm));
	/* The one date, as Info and XMP write it (PDF/A: they must agree). */
	strftime(pdf_date, sizeof(pdf_date), "D:%Y%m%d%H%M%S+00'00'", &tm);
	strftime(xmp_date, sizeof(xmp_date), "%Y-%m-%dT%H:%M:%S+00:00", &tm);

	if (qpdf_read_memory(q, "invoice.pdf", pdf, pdf_len, NULL) & QPDF_ERRORS)
		goto failed;
	root = qpdf_get_root(q);
	trailer = qpdf_get_trailer(q);

	/* Info: cairo's, its entries set to what the XMP says. */
	info = qpdf_oh_get_key(q, trailer, "/Info");
	if (!qpdf_oh_is_dictionary(q, info)) {
		info = qpdf_make_indirect_object(q, qpdf_oh_new_dictionary(q));
		qpdf_oh_replace_key(q, trailer, "/Info", info);
	}
	producer = qpdf_oh_get_key(q, info, "/Producer");
	if ((prod = billing__strdup(qpdf_oh_is_string(q, producer) ?
		qpdf_oh_get_utf8_value(q, producer) : CREATOR)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	qpdf_oh_replace_key(q, info, "/Title", qpdf_oh_new_unicode_string(q, d->title));
	qpdf_oh_replace_key(q, info, "/Creator", qpdf_oh_new_string(q, CREATOR));
	qpdf_oh_replace_key(q, info, "/Producer", qpdf_oh_new_unicode_string(q, prod));
	qpdf_oh_replace_key(q, info, "/CreationDate", qpdf_oh_new_string(q, pdf_date));
	qpdf_oh_replace_key(q, info, "/ModDate", qpdf_oh_new_string(q, pdf_date));

	xmp(&meta, d->title, xmp_date, prod);
	if (meta.failed) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	{
		qpdf_oh m = stream_of(q, meta.buf, meta.len), md = qpdf_oh_get_dict(q, m);
		qpdf_oh_replace_key(q, md, "/Type", qpdf_oh_new_name(q, "/Metadata"));
		qpdf_oh_replace_key(q, md, "/Subtype", qpdf_oh_new_name(q, "/XML"));
		qpdf_oh_replace_key(q, root, "/Metadata", m);
	}
	output_intent(q, root);
	attach(q, root, xml, xml_len, pdf_date);
	if (qpdf_has_error(q))
		goto failed;

	if (qpdf_init_write_memory(q) & QPDF_ERRORS)
		goto failed;
	qpdf_set_deterministic_ID(q, QPDF_TRUE);
	qpdf_set_minimum_pdf_version(q, "1.7");
	if (qpdf_write(q) & QPDF_ERRORS)
		goto failed;
	if ((*out = billing__malloc(qpdf_get_buffer_length(q))) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto done;
	}
	*len = qpdf_get_buffer_length(q);
	memcpy(*out, qpdf_get_buffer(q), *len);
	goto done;

failed:
	/* qpdf's message names only its own objects: no invoice data. */
	rc = billing__error_set(BILLING_ERROR, "facturx_failed",
		"the Factur-X PDF could not be written (qpdf)");
done:
	billing__free(meta.buf);
	billing__free(prod);
	qpdf_cleanup(&q);
	return rc;
}
