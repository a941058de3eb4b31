/*
 * The JSON operations of documents (issue #24): the tenant's branding
 * (billing/branding.h), its logo as standard base64 of the file.
 */
#include <cJSON.h>
#include <string.h>

#include "core/address.h"
#include "core/branding.h"
#include "core/core.h"
#include "core/encode.h"
#include "core/json_ops.h"
#include "core/json_out.h"

static const field_spec f_branding_set[] = {
	{ "legalName", T_STRING, false, true, "the seller's legal name, 1-200 characters; absent "
		"or null: the tenant's name" },
	{ "address", T_OBJECT, false, true, "{line1, line2, city, postalCode, region, country} "
		"as a customer's address" },
	{ "taxId", T_STRING, false, true, "the seller's tax id as printed, 1-60 characters" },
	{ "logo", T_STRING, false, true, "a PNG or JPEG file in standard base64, at most 256 KiB "
		"decoded" },
	{ "accentColor", T_STRING, false, true, "#rrggbb: the documents' rules and headings "
		"(default #1f4e79)" },
	{ "footer", T_STRING, false, true, "text under every document, 1-1000 characters" },
	{ "locale", T_STRING, false, true, "the tenant's locale: en-US, en-GB, de-DE, fr-FR, "
		"es-ES or ja-JP (any case); absent or null: en-US" },
	{ NULL, 0, false, false, NULL }
};

static int str_out(cJSON *o, const char *name, const char *v)
{
	return v ? cJSON_AddStringToObject(o, name, v) != NULL : cJSON_AddNullToObject(o, name) !=
		NULL;
}

static int branding_out(cJSON **res, int rc, billing_branding *b)
{
	const billing__branding *r;
	cJSON *o, *address = NULL;

	if (rc < 0)
		return rc;
	r = billing__branding_record(b);
	if ((o = cJSON_CreateObject()) == NULL ||
	    (r->address_json && (address = cJSON_Parse(r->address_json)) == NULL))
		goto nomem;
	if (!cJSON_AddStringToObject(o, "object", "branding") ||
	    !str_out(o, "legalName", r->legal_name))
		goto nomem;
	if (address ? !cJSON_AddItemToObject(o, "address", address) :
	    !cJSON_AddNullToObject(o, "address"))
		goto nomem;
	address = NULL;
	if (!str_out(o, "taxId", r->tax_id) || !str_out(o, "logo", r->logo_b64) ||
	    !str_out(o, "logoType", billing_branding_logo_type(b)) ||
	    !str_out(o, "accentColor", r->accent_color) || !str_out(o, "footer", r->footer) ||
	    !cJSON_AddStringToObject(o, "locale", billing_branding_locale(b)) ||
	    !cJSON_AddItemToObject(o, "updatedAt", billing__json_time_or_null(r->updated_at)))
		goto nomem;
	billing_branding_free(b);
	*res = o;
	return BILLING_OK;
nomem:
	cJSON_Delete(address);
	cJSON_Delete(o);
	billing_branding_free(b);
	return nomem();
}

static int op_branding_get(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_branding *b = NULL;
	int rc;
	(void)in;
	(void)opts;
	rc = billing_branding_get(&b, ctx, who);
	return branding_out(res, rc, b);
}

/* The C address of the JSON object (its strings borrowed from in). */
static void address_in(billing_address *a, const cJSON *obj)
{
	a->line1 = jstr(obj, "line1");
	a->line2 = jstr(obj, "line2");
	a->city = jstr(obj, "city");
	a->postal_code = jstr(obj, "postalCode");
	a->region = jstr(obj, "region");
	a->country = jstr(obj, "country");
}

static int op_branding_set(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	billing_branding_params p = BILLING_BRANDING_PARAMS_INIT;
	billing_branding *b = NULL;
	billing_address a;
	const cJSON *address = jget(in, "address"), *e;
	const char *logo = jstr(in, "logo");
	unsigned char *file = NULL;
	long n = 0;
	int rc;
	(void)opts;

	/* The members of an address are the library's to check: one that
	 * is not a string, or one it does not know, is refused by name. */
	cJSON_ArrayForEach(e, address) {
		size_t k;
		for (k = 0; k < BILLING__ADDRESS_PARTS; k++)
			if (strcmp(e->string, billing__address_keys[k]) == 0)
				break;
		if (k == BILLING__ADDRESS_PARTS)
			return field_error("address", "%.40s is not a member of an address; line1, "
				"line2, city, postalCode, region, country", e->string);
		if (!cJSON_IsString(e))
			return field_error("address", "address.%.20s must be a string", e->string);
	}
	if (cJSON_IsObject(address)) {
		address_in(&a, address);
		p.address = &a;
	}
	if (logo) {
		size_t len = strlen(logo);
		if ((file = billing__malloc(len / 4 * 3 + 1)) == NULL)
			return nomem();
		if ((n = billing__b64_decode(file, len / 4 * 3 + 1, logo, len)) <= 0) {
			billing__free(file);
			return field_error("logo", "logo must be a file in standard base64 (RFC 4648 "
				"section 4, with padding)");
		}
		p.logo = file;
		p.logo_len = (size_t)n;
	}
	p.legal_name = jstr(in, "legalName");
	p.tax_id = jstr(in, "taxId");
	p.accent_color = jstr(in, "accentColor");
	p.footer = jstr(in, "footer");
	p.locale = jstr(in, "locale");
	rc = billing_branding_set(&b, ctx, who, &p);
	billing__free(file);
	return branding_out(res, rc, b);
}

static int op_hosted_links_rotate(cJSON **res, billing_ctx *ctx, const billing_principal *who,
	const cJSON *in, const billing_call_options *opts)
{
	int rc;
	(void)in;
	(void)opts;
	if ((rc = billing_hosted_links_rotate(ctx, who)) < 0)
		return rc;
	if ((*res = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddStringToObject(*res, "object", "hosted_links") ||
	    !cJSON_AddItemToObject(*res, "rotatedAt", billing__json_time(billing__now(ctx)))) {
		cJSON_Delete(*res);
		*res = NULL;
		return nomem();
	}
	return BILLING_OK;
}

const op_entry billing__json_ops_document[] = {
	{ BILLING_OP_BRANDING_GET, op_branding_get,
		"The tenant's branding: the seller's block of its documents.", billing__json_f_none,
		OUT_OBJECT, "Branding" },
	{ BILLING_OP_BRANDING_SET, op_branding_set,
		"Replace the tenant's branding (every field; absent or null: not set).",
		f_branding_set, OUT_OBJECT, "Branding" },
	{ BILLING_OP_HOSTED_LINKS_ROTATE, op_hosted_links_rotate,
		"Rotate the tenant's hosted-link secret: every hostedInvoiceUrl given before stops "
		"working (404); the next read of an invoice gives a new one.", billing__json_f_none,
		OUT_OBJECT, "HostedLinksRotation" },
};
BILLING__JSON_AREA_END(document);
