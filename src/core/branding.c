/*
 * The tenant's branding (billing/branding.h, issue #24): the seller's
 * block of its documents. A tenant-settings record (core/settings.h: put
 * with its audit row and retry there, the read with its strings copied).
 * The logo is kept as standard base64 of its file: the JSON layer shows
 * it as is, the C getter decodes it.
 */
#include <stddef.h>
#include <string.h>

#include "billing/branding.h"
#include "core/address.h"
#include "core/branding.h"
#include "core/core.h"
#include "core/document.h"
#include "core/encode.h"
#include "core/settings.h"
#include "core/txn.h"
#include "core/validate.h"

struct billing_branding {
	billing__branding r;
	billing_address address;
	char *address_text;
	unsigned char *logo;
	size_t logo_len;
};

static const billing_field fields[] = {
	{ "tenant_id", BILLING_FIELD_TEXT, offsetof(billing__branding, tenant_id),
	  BILLING_FIELD_ID | BILLING_FIELD_TENANT, NULL, BILLING_JSON_NONE, 0, NULL, 0, NULL },
	{ "legal_name", BILLING_FIELD_TEXT, offsetof(billing__branding, legal_name), 0,
	  "legalName", BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "address", BILLING_FIELD_TEXT, offsetof(billing__branding, address_json), 0,
	  "address", BILLING_JSON_OBJECT, 0, NULL, 0, NULL },
	{ "tax_id", BILLING_FIELD_TEXT, offsetof(billing__branding, tax_id), 0,
	  "taxId", BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "logo", BILLING_FIELD_TEXT, offsetof(billing__branding, logo_b64), 0,
	  "logo", BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "accent_color", BILLING_FIELD_TEXT, offsetof(billing__branding, accent_color), 0,
	  "accentColor", BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "footer", BILLING_FIELD_TEXT, offsetof(billing__branding, footer), 0,
	  "footer", BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "locale", BILLING_FIELD_TEXT, offsetof(billing__branding, locale), 0,
	  "locale", BILLING_JSON_STRING, 0, NULL, 0, NULL },
	{ "updated_at", BILLING_FIELD_INT64, offsetof(billing__branding, updated_at), 0,
	  "updatedAt", BILLING_JSON_TIME, 0, NULL, 0, NULL },
};

static const billing_resource res = {
	.name = "branding", .plural = "branding", .table = "branding",
	.record_size = sizeof(billing__branding), .fields = fields,
	.field_count = sizeof(fields) / sizeof(fields[0])
};

static const billing__branding none = { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 };

/* The form was checked by billing_branding_set before the put. */
static int form_ok(const void *rec)
{
	(void)rec;
	return BILLING_OK;
}

static const billing__settings settings = {
	&res, offsetof(billing__branding, updated_at), &none, BILLING_OP_BRANDING_GET,
	BILLING_OP_BRANDING_SET, form_ok
};

/* ------------------------------------------------------------ reading */

void billing__branding_clear(billing__branding *b)
{
	billing__settings_clear(b, &settings);
	memset(b, 0, sizeof(*b));
}

static int copy(const char **out, const char *s)
{
	if (!s) {
		*out = NULL;
		return BILLING_OK;
	}
	if ((*out = billing__strdup(s)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

int billing__branding_read(billing__branding *b, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id)
{
	int rc = billing__settings_read(b, &settings, ctx, tx, tenant_id);
	b->tenant_id = NULL;
	return rc;
}

/* ------------------------------------------------------------ logo */

const char *billing__logo_type(const unsigned char *file, size_t len)
{
	static const unsigned char png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	if (len >= sizeof(png) && memcmp(file, png, sizeof(png)) == 0)
		return "image/png";
	if (len >= 3 && file[0] == 0xff && file[1] == 0xd8 && file[2] == 0xff)
		return "image/jpeg";
	return NULL;
}

/* ------------------------------------------------------------ the C API */

static bool color_ok(char *c)
{
	size_t i;
	if (strlen(c) != 7 || c[0] != '#')
		return false;
	for (i = 1; i < 7; i++) {
		if (c[i] >= 'A' && c[i] <= 'F')
			c[i] = (char)(c[i] - 'A' + 'a');
		if (!((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'a' && c[i] <= 'f')))
			return false;
	}
	return true;
}

/* params checked into r (its strings new: billing__branding_clear). */
static int form(billing__branding *r, const billing_branding_params *p)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	char *t = NULL, *address = NULL;
	char canon[2048];
	bool empty;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = billing__check_text(&ck, "legalName", p->legal_name, 0, 1, 200, &t)) < 0)
		goto done;
	r->legal_name = t;
	if ((rc = billing__check_text(&ck, "taxId", p->tax_id, 0, 1, 60, &t)) < 0)
		goto done;
	r->tax_id = t;
	if ((rc = billing__check_text(&ck, "footer", p->footer, BILLING__TEXT_MULTILINE, 1, 1000,
		&t)) < 0)
		goto done;
	r->footer = t;
	if ((rc = copy(&r->accent_color, p->accent_color)) < 0)
		goto done;
	if (r->accent_color && !color_ok((char *)(uintptr_t)r->accent_color))
		billing__check_fail(&ck, "accentColor", "must be #rrggbb in hexadecimal digits");
	/* The table's own spelling of the tag ("de-de" is kept "de-DE"), as a
	 * customer's preferredLocale; en-US is kept as not set (NULL). */
	if (p->version >= 2 && p->locale) {
		const billing__locale *loc = billing__locale_find(p->locale);
		if (!loc)
			billing__check_fail(&ck, "locale",
				"must be one of en-US, en-GB, de-DE, fr-FR, es-ES, ja-JP");
		else if (strcmp(loc->tag, "en-US") != 0 && (rc = copy(&r->locale, loc->tag)) < 0)
			goto done;
	}
	if (p->logo) {
		if (p->logo_len > BILLING_BRANDING_LOGO_MAX)
			billing__check_fail(&ck, "logo", "must be at most 256 KiB (262144 bytes)");
		else if (!billing__logo_type(p->logo, p->logo_len))
			billing__check_fail(&ck, "logo", "must be a PNG or JPEG file");
		else if ((t = billing__malloc(4 * ((p->logo_len + 2) / 3) + 1)) == NULL) {
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			goto done;
		} else {
			billing__b64_encode(t, p->logo, p->logo_len);
			r->logo_b64 = t;
		}
	}
	if (p->address) {
		if ((rc = billing__address_encode(&address, p->address)) < 0 ||
		    (rc = billing__address_check(&ck, canon, sizeof(canon), address, &empty)) < 0)
			goto done;
		if (ck.count == 0 && !empty && (rc = copy(&r->address_json, canon)) < 0)
			goto done;
	}
	rc = billing__checks_finish(&ck, "branding");
done:
	billing__free(address);
	if (rc < 0)
		billing__branding_clear(r);
	return rc;
}

static int check_params(const billing_branding_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_BRANDING_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_branding_params version %u", p->version);
	return BILLING_OK;
}

/* The public object of r (whose strings it takes, success or not). */
static int publish(billing_branding **out, billing__branding *r)
{
	billing_branding *b;
	long n;
	int rc;

	if ((b = billing__calloc(1, sizeof(*b))) == NULL) {
		billing__branding_clear(r);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	b->r = *r;
	memset(r, 0, sizeof(*r));
	if ((rc = billing__address_decode(&b->address, &b->address_text, b->r.address_json)) < 0)
		goto fail;
	if (b->r.logo_b64) {
		size_t len = strlen(b->r.logo_b64);
		if ((b->logo = billing__malloc(len / 4 * 3 + 1)) == NULL) {
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			goto fail;
		}
		/* Written by form() from the file: it decodes. */
		n = billing__b64_decode(b->logo, len / 4 * 3 + 1, b->r.logo_b64, len);
		b->logo_len = n > 0 ? (size_t)n : 0;
	}
	*out = b;
	return BILLING_OK;
fail:
	billing_branding_free(b);
	return rc;
}

int billing_branding_set(billing_branding **out, billing_ctx *ctx, const billing_principal *who,
	const billing_branding_params *p)
{
	billing__branding r;
	int rc;

	if (out)
		*out = NULL;
	/* The role first, before the input is looked at. */
	if ((rc = billing__authorize(ctx, who, BILLING_OP_BRANDING_SET)) < 0 ||
	    (rc = check_params(p)) < 0 || (rc = form(&r, p)) < 0)
		return rc;
	if ((rc = billing__settings_put(&r, &settings, ctx, who)) < 0 || !out) {
		r.tenant_id = NULL;
		billing__branding_clear(&r);
		return rc;
	}
	r.tenant_id = NULL;
	return publish(out, &r);
}

int billing_branding_get(billing_branding **out, billing_ctx *ctx, const billing_principal *who)
{
	billing__branding r;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_BRANDING_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	*out = NULL;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	if ((rc = billing__end(ctx, tx, billing__branding_read(&r, ctx, tx, who->tenant_id))) < 0) {
		billing__branding_clear(&r);
		return rc;
	}
	return publish(out, &r);
}

const billing__branding *billing__branding_record(const billing_branding *b)
{
	return &b->r;
}

const char *billing_branding_legal_name(const billing_branding *b)
{
	return b ? b->r.legal_name : NULL;
}
const billing_address *billing_branding_address(const billing_branding *b)
{
	return b && b->r.address_json ? &b->address : NULL;
}
const char *billing_branding_tax_id(const billing_branding *b) { return b ? b->r.tax_id : NULL; }
const unsigned char *billing_branding_logo(const billing_branding *b, size_t *len)
{
	if (len)
		*len = b && b->logo ? b->logo_len : 0;
	return b ? b->logo : NULL;
}
const char *billing_branding_logo_type(const billing_branding *b)
{
	return b && b->logo ? billing__logo_type(b->logo, b->logo_len) : NULL;
}
const char *billing_branding_accent_color(const billing_branding *b)
{
	return b ? b->r.accent_color : NULL;
}
const char *billing_branding_footer(const billing_branding *b) { return b ? b->r.footer : NULL; }
const char *billing_branding_locale(const billing_branding *b)
{
	if (!b)
		return NULL;
	return b->r.locale ? b->r.locale : "en-US";
}
int64_t billing_branding_updated_at(const billing_branding *b) { return b ? b->r.updated_at : 0; }

void billing_branding_free(billing_branding *b)
{
	if (!b)
		return;
	billing__branding_clear(&b->r);
	billing__free(b->address_text);
	billing__free(b->logo);
	billing__free(b);
}
