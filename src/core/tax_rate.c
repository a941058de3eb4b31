/*
 * Tax rates (billing/tax_rate.h): the first object on the generic flow.
 * This file is its descriptor, its rules and its typed C API; storage, the
 * JSON layer, the HTTP routes, OpenAPI and the bindings read the
 * descriptor.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "core/invoice_tax.h"
#include "core/resource.h"
#include "core/text.h"
#include "core/txn.h"
#include "core/validate.h"

struct billing_tax_rate {
	const char *tenant_id;
	const char *id;
	const char *display_name;
	const char *description;     /* NULL: none */
	int64_t percentage;          /* 10^-4 percent: 72500 is 7.25 % */
	int inclusive;
	const char *country;         /* ISO 3166-1 alpha-2; NULL: none */
	const char *region;          /* NULL: none */
	int active;
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
	/* Not in the descriptor: metadata_json decoded for the getters, in
	 * every tax rate this file hands out (see publish). */
	billing__metadata metadata;
};

#define PERCENT_SCALE 4
#define PERCENT_MAX 1000000      /* 100 % at scale 4 */
#define DISPLAY_NAME_MAX 50
#define DESCRIPTION_MAX 500
#define REGION_MAX 100

#define F(member) offsetof(struct billing_tax_rate, member)

/* Indexes into fields[], the bits of a given mask. */
enum {
	TENANT, ID, DISPLAY_NAME, DESCRIPTION, PERCENTAGE, INCLUSIVE, COUNTRY, REGION, ACTIVE,
	METADATA, CREATED_AT, UPDATED_AT, VERSION, FIELD_COUNT
};

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, 0, NULL, 0, "The tax rate's id (txr_...)." },
	[DISPLAY_NAME] = { "display_name", BILLING_FIELD_TEXT, F(display_name),
		BILLING_FIELD_SORT | BILLING_FIELD_SEARCH, "displayName", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_REQUIRED | BILLING_API_UPDATE, NULL, 0,
		"The name customers see on invoices (1-50 characters): \"VAT\", \"Sales tax\"." },
	[DESCRIPTION] = { "description", BILLING_FIELD_TEXT, F(description),
		BILLING_FIELD_SEARCH, "description", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_UPDATE | BILLING_API_NULLABLE, NULL, 0,
		"An internal note, up to 500 characters." },
	[PERCENTAGE] = { "percentage", BILLING_FIELD_INT64, F(percentage),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE |
		BILLING_FIELD_NONNEGATIVE, "percentage",
		BILLING_JSON_DECIMAL, BILLING_API_CREATE | BILLING_API_REQUIRED, NULL,
		PERCENT_SCALE,
		"The rate in percent, 0 to 100 with at most 4 decimal places; fixed at creation." },
	[INCLUSIVE] = { "inclusive", BILLING_FIELD_INT, F(inclusive),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "inclusive", BILLING_JSON_BOOLEAN,
		BILLING_API_CREATE | BILLING_API_REQUIRED, NULL, 0,
		"Whether the tax is part of the price (true) or added to it; fixed at creation." },
	[COUNTRY] = { "country", BILLING_FIELD_TEXT, F(country), BILLING_FIELD_FILTER,
		"country", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_UPDATE | BILLING_API_NULLABLE, NULL, 0,
		"ISO 3166-1 alpha-2 country code (\"DE\")." },
	[REGION] = { "region", BILLING_FIELD_TEXT, F(region), BILLING_FIELD_FILTER, "region",
		BILLING_JSON_STRING, BILLING_API_CREATE | BILLING_API_UPDATE | BILLING_API_NULLABLE,
		NULL, 0, "State, province or region of the country (1-100 characters)." },
	[ACTIVE] = { "active", BILLING_FIELD_INT, F(active), BILLING_FIELD_FILTER, "active",
		BILLING_JSON_BOOLEAN, BILLING_API_CREATE | BILLING_API_UPDATE, NULL, 0,
		"False once archived: kept for the invoices that use it. Default true." },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), 0, "metadata",
		BILLING_JSON_METADATA, BILLING_API_CREATE | BILLING_API_UPDATE, NULL, 0,
		"Your own string keys and values." },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was created." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it last changed." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0,
		"1 at creation, +1 on every change (If-Match / expectedVersion)." },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

static const billing_resource tax_rate = {
	"tax_rate", "tax_rates", "tax-rates", "TaxRate",
	"A tax rate applied to invoice lines: a percentage, inclusive or exclusive, "
	"for a country and region.",
	"tax_rates", "txr", sizeof(struct billing_tax_rate), fields, FIELD_COUNT,
	NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_CREATE | BILLING_RESOURCE_OP_GET | BILLING_RESOURCE_OP_UPDATE |
		BILLING_RESOURCE_OP_LIST,
	R_READ, R_WRITE, 0, NULL, 0
};

#define BIT(i) (UINT64_C(1) << (i))

/* ------------------------------------------------------------ rules */

/* ISO 3166-1 alpha-2, the officially assigned codes (iso-codes 4.15). */
static const char countries[] =
	"ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ"
	"CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFO"
	"FRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJE"
	"JMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMO"
	"MPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPW"
	"PYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTM"
	"TNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

static bool country_known(const char *code)
{
	const char *p;
	for (p = countries; *p; p += 2)
		if (p[0] == code[0] && p[1] == code[1])
			return true;
	return false;
}

/* The flow's own copy of a string of the record (resource.h: check may
 * rewrite it in place as long as it gets no longer). */
static char *own(const char *s)
{
	return (char *)(uintptr_t)s;
}

static int check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	struct billing_tax_rate *t = rec;
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;
	(void)ctx;
	(void)tx;

	if ((given & BIT(DISPLAY_NAME)) &&
	    (rc = billing__check_text_in_place(&ck, "displayName", t->display_name,
		BILLING__TEXT_REQUIRED, 1, DISPLAY_NAME_MAX)) < 0)
		return rc;
	if ((given & BIT(DESCRIPTION)) && t->description &&
	    (rc = billing__check_text_in_place(&ck, "description", t->description,
		BILLING__TEXT_MULTILINE, 0, DESCRIPTION_MAX)) < 0)
		return rc;
	if ((given & BIT(REGION)) && t->region &&
	    (rc = billing__check_text_in_place(&ck, "region", t->region, 0, 1, REGION_MAX)) < 0)
		return rc;
	if ((given & BIT(PERCENTAGE)) && (t->percentage < 0 || t->percentage > PERCENT_MAX))
		billing__check_fail(&ck, "percentage", "must be between 0 and 100");
	if ((given & BIT(COUNTRY)) && t->country) {
		char code[3];
		/* Upper-cased in place: two letters stay two letters. */
		if (!billing__ascii_upper(code, sizeof(code), t->country) || strlen(code) != 2 ||
		    !country_known(code))
			billing__check_fail(&ck, "country",
				"must be an ISO 3166-1 alpha-2 country code such as DE");
		else
			memcpy(own(t->country), code, sizeof(code));
	}
	if ((given & (BIT(REGION) | BIT(COUNTRY))) && t->region && !t->country)
		billing__check_fail(&ck, "region", "needs a country");
	/* Active unless the create says otherwise. */
	if (!current && !(given & BIT(ACTIVE)))
		t->active = 1;
	return billing__checks_finish(&ck, "tax rate");
}

const billing__rules billing__tax_rate_rules = { &tax_rate, check, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };

/* ------------------------------------------------------------ the C API */

/* The record's metadata decoded into m. */
static int decode(billing__metadata *m, const struct billing_tax_rate *t)
{
	return billing__metadata_decode(m, t->metadata_json ? t->metadata_json : "{}");
}

static int decode_obj(void *obj)
{
	struct billing_tax_rate *t = obj;
	memset(&t->metadata, 0, sizeof(t->metadata));
	return decode(&t->metadata, t);
}

static void item_free(void *item)
{
	billing_tax_rate_free(item);
}

/* A tax rate the flow returned (rc), made public: its metadata decoded.
 * The record is the whole struct, metadata member included, which storage
 * never fills: decode_obj sets it before anything reads it. */
static int publish(billing_tax_rate **out, int rc)
{
	if (rc < 0)
		return rc;
	return billing__record_publish((void **)out, &tax_rate, sizeof(**out), decode_obj,
		item_free);
}

static int check_params(const billing_tax_rate_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_TAX_RATE_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_tax_rate_params version %u", p->version);
	return BILLING_OK;
}

static int tristate(billing__checks *ck, const char *field, billing_tristate v, int *out)
{
	if (v != BILLING_TRUE && v != BILLING_FALSE) {
		billing__check_fail(ck, field, "must be true or false");
		return 0;
	}
	*out = v == BILLING_TRUE;
	return 1;
}

/* The record and mask of params; *metadata is new (or NULL). bits: the
 * BILLING_TAX_RATE_* bits that count. */
static int to_record(const billing_tax_rate_params *p, unsigned int bits,
	struct billing_tax_rate *r, uint64_t *given, char **metadata)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;

	memset(r, 0, sizeof(*r));
	*given = 0;
	*metadata = NULL;
	if (bits & ~0xffu)
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"unknown field bits");
	if (bits & BILLING_TAX_RATE_DISPLAY_NAME) {
		r->display_name = p->display_name;
		*given |= BIT(DISPLAY_NAME);
	}
	if (bits & BILLING_TAX_RATE_DESCRIPTION) {
		r->description = p->description;
		*given |= BIT(DESCRIPTION);
	}
	if (bits & BILLING_TAX_RATE_PERCENTAGE) {
		r->percentage = p->percentage;
		*given |= BIT(PERCENTAGE);
	}
	if ((bits & BILLING_TAX_RATE_INCLUSIVE) &&
	    tristate(&ck, "inclusive", p->inclusive, &r->inclusive))
		*given |= BIT(INCLUSIVE);
	if (bits & BILLING_TAX_RATE_COUNTRY) {
		r->country = p->country;
		*given |= BIT(COUNTRY);
	}
	if (bits & BILLING_TAX_RATE_REGION) {
		r->region = p->region;
		*given |= BIT(REGION);
	}
	if ((bits & BILLING_TAX_RATE_ACTIVE) && tristate(&ck, "active", p->active, &r->active))
		*given |= BIT(ACTIVE);
	if (bits & BILLING_TAX_RATE_METADATA) {
		if ((rc = billing__metadata_encode(&ck, p->metadata, p->metadata_count,
			metadata)) < 0)
			return rc;
		r->metadata_json = *metadata;
		*given |= BIT(METADATA);
	}
	if ((rc = billing__checks_finish(&ck, "tax rate")) < 0) {
		billing__free(*metadata);
		*metadata = NULL;
	}
	return rc;
}

int billing_tax_rate_create(billing_tax_rate **out, billing_ctx *ctx,
	const billing_principal *who, const billing_tax_rate_params *p,
	const billing_call_options *opts)
{
	struct billing_tax_rate r;
	unsigned int bits = BILLING_TAX_RATE_DISPLAY_NAME | BILLING_TAX_RATE_PERCENTAGE;
	char *metadata = NULL;
	uint64_t given;
	int rc;

	/* The role first, before the input is looked at. */
	if ((rc = billing__authorize_resource(ctx, who, &tax_rate, BILLING_RESOURCE_OP_CREATE)) < 0 ||
	    (rc = check_params(p)) < 0)
		return rc;
	if (p->description)
		bits |= BILLING_TAX_RATE_DESCRIPTION;
	if (p->inclusive != BILLING_UNSET)
		bits |= BILLING_TAX_RATE_INCLUSIVE;
	if (p->country)
		bits |= BILLING_TAX_RATE_COUNTRY;
	if (p->region)
		bits |= BILLING_TAX_RATE_REGION;
	if (p->active != BILLING_UNSET)
		bits |= BILLING_TAX_RATE_ACTIVE;
	if (p->metadata_count)
		bits |= BILLING_TAX_RATE_METADATA;
	if ((rc = to_record(p, bits, &r, &given, &metadata)) < 0)
		return rc;
	rc = publish(out, billing__resource_create((void **)out, &billing__tax_rate_rules, ctx,
		who, &r, given, opts));
	billing__free(metadata);
	return rc;
}

int billing_tax_rate_get(billing_tax_rate **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return publish(out, billing__resource_get((void **)out, &billing__tax_rate_rules, ctx, who,
		id));
}

int billing_tax_rate_update(billing_tax_rate **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_tax_rate_params *p,
	const billing_call_options *opts)
{
	struct billing_tax_rate r;
	char *metadata = NULL;
	uint64_t given;
	int rc;

	if ((rc = billing__authorize_resource(ctx, who, &tax_rate, BILLING_RESOURCE_OP_UPDATE)) < 0 ||
	    (rc = check_params(p)) < 0 ||
	    (rc = to_record(p, p->fields, &r, &given, &metadata)) < 0)
		return rc;
	rc = publish(out, billing__resource_update((void **)out, &billing__tax_rate_rules, ctx,
		who, id, &r, given, p->expected_version, opts));
	billing__free(metadata);
	return rc;
}

int billing_tax_rate_list(billing_page **out, billing_ctx *ctx, const billing_principal *who,
	const billing_tax_rate_list_params *params)
{
	billing_tax_rate_list_params none = BILLING_TAX_RATE_LIST_PARAMS_INIT;
	const billing_tax_rate_list_params *p = params ? params : &none;
	billing__checks ck = BILLING__CHECKS_INIT;
	billing_filter filters[3];
	size_t n = 0;
	int v, rc;

	if ((rc = billing__authorize_resource(ctx, who, &tax_rate, BILLING_RESOURCE_OP_LIST)) < 0)
		return rc;
	if (p->version == 0 || p->version > BILLING_TAX_RATE_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_tax_rate_list_params version %u", p->version);
	memset(filters, 0, sizeof(filters));
	if (p->active != BILLING_UNSET && tristate(&ck, "active", p->active, &v)) {
		filters[n].field = &fields[ACTIVE];
		filters[n].op = BILLING_FILTER_EQ;
		filters[n++].num = v;
	}
	if (p->inclusive != BILLING_UNSET && tristate(&ck, "inclusive", p->inclusive, &v)) {
		filters[n].field = &fields[INCLUSIVE];
		filters[n].op = BILLING_FILTER_EQ;
		filters[n++].num = v;
	}
	if (p->country) {
		filters[n].field = &fields[COUNTRY];
		filters[n].op = BILLING_FILTER_EQ;
		filters[n++].text = p->country;
	}
	if ((rc = billing__checks_finish(&ck, "list")) < 0)
		return rc;
	if ((rc = billing__resource_list(out, &billing__tax_rate_rules, ctx, who, &p->list,
		filters, n)) < 0)
		return rc;
	if ((rc = billing__page_publish(*out, &tax_rate, sizeof(struct billing_tax_rate),
		decode_obj, item_free)) < 0) {
		billing_page_free(*out);
		*out = NULL;
	}
	return rc;
}

const billing_tax_rate *billing_page_tax_rate(const billing_page *page, size_t i)
{
	return billing__resource_page_item(page, &tax_rate, i);
}

void billing_tax_rate_free(billing_tax_rate *t)
{
	if (t)
		billing__metadata_free(&t->metadata);
	billing__free(t);
}

size_t billing_tax_rate_metadata_count(const billing_tax_rate *t)
{
	return t ? t->metadata.count : 0;
}

const billing_metadata_entry *billing_tax_rate_metadata_at(const billing_tax_rate *t, size_t i)
{
	return t && i < t->metadata.count ? &t->metadata.entries[i] : NULL;
}

const char *billing_tax_rate_metadata_get(const billing_tax_rate *t, const char *key)
{
	return t ? billing__metadata_get(&t->metadata, key) : NULL;
}

const char *billing_tax_rate_id(const billing_tax_rate *t) { return t ? t->id : NULL; }
const char *billing_tax_rate_tenant_id(const billing_tax_rate *t)
{
	return t ? t->tenant_id : NULL;
}
const char *billing_tax_rate_display_name(const billing_tax_rate *t)
{
	return t ? t->display_name : NULL;
}
const char *billing_tax_rate_description(const billing_tax_rate *t)
{
	return t ? t->description : NULL;
}
int64_t billing_tax_rate_percentage(const billing_tax_rate *t) { return t ? t->percentage : 0; }
int billing_tax_rate_inclusive(const billing_tax_rate *t) { return t ? t->inclusive : 0; }
const char *billing_tax_rate_country(const billing_tax_rate *t) { return t ? t->country : NULL; }
const char *billing_tax_rate_region(const billing_tax_rate *t) { return t ? t->region : NULL; }
int billing_tax_rate_active(const billing_tax_rate *t) { return t ? t->active : 0; }
const char *billing_tax_rate_metadata_json(const billing_tax_rate *t)
{
	return t ? t->metadata_json : NULL;
}
int64_t billing_tax_rate_created_at(const billing_tax_rate *t) { return t ? t->created_at : 0; }
int64_t billing_tax_rate_updated_at(const billing_tax_rate *t) { return t ? t->updated_at : 0; }
int64_t billing_tax_rate_version(const billing_tax_rate *t) { return t ? t->version : 0; }

/* ------------------------------------------------------------ invoices */

struct terms {
	int64_t percentage;
	int inclusive, active;
};

static int terms_row(void *payload, const void *record)
{
	const struct billing_tax_rate *t = record;
	struct terms *x = payload;
	x->percentage = t->percentage;
	x->inclusive = t->inclusive;
	x->active = t->active;
	return BILLING_OK;
}

int billing__tax_rate_terms_get(int64_t *percentage, int *inclusive, int *active,
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *id)
{
	struct terms x = { 0, 0, 0 };
	int rc;
	if (!billing__id_arg_ok(id, tax_rate.prefix))
		return billing__error_set(BILLING_ENOTFOUND, "resource_missing",
			"no tax rate %s", id ? id : "");
	if ((rc = billing__read(ctx->st, tx, &tax_rate, tenant_id, id, BILLING_LOCK_NONE,
		terms_row, &x)) < 0)
		return rc;
	*percentage = x.percentage;
	*inclusive = x.inclusive;
	*active = x.active;
	return BILLING_OK;
}

struct label {
	char *name;
	size_t size;
	int64_t percentage;
	int inclusive;
};

static int label_row(void *payload, const void *record)
{
	const struct billing_tax_rate *t = record;
	struct label *x = payload;
	snprintf(x->name, x->size, "%s", t->display_name ? t->display_name : "");
	x->percentage = t->percentage;
	x->inclusive = t->inclusive;
	return BILLING_OK;
}

int billing__tax_rate_label_get(char *name, size_t size, int64_t *percentage, int *inclusive,
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id, const char *id)
{
	struct label x = { name, size, 0, 0 };
	int rc;
	if ((rc = billing__read(ctx->st, tx, &tax_rate, tenant_id, id, BILLING_LOCK_NONE,
		label_row, &x)) < 0)
		return rc;
	*percentage = x.percentage;
	*inclusive = x.inclusive;
	return BILLING_OK;
}
