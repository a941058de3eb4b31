/*
 * Customers, on the generic flow (core/resource.h). This file is the
 * customers' descriptor, their rules (a name, an e-mail address unique
 * in the tenant ignoring case through its key email_key, a default
 * payment method that is a token or, on update, one of the customer's
 * stored payment methods "cpm_..." standing for the provider's id, tax
 * ids checked and normalized by core/tax_id.h, a billing address whose
 * country is an ISO 3166-1 alpha-2 code, a preferred locale of documents
 * from core/document.h's table) and the typed C API of billing/customer.h over the flow. Delete is hard,
 * refused by storage while any row references the customer. The
 * balances are computed by balance changes (core/customer_balance.c),
 * never by these calls.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/address.h"
#include "core/discount.h"
#include "core/document.h"
#include "core/json_exact.h"
#include "core/payment_method.h"
#include "core/tax_id.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/text.h"

/* The public customer: the record, then its metadata and address decoded
 * for the getters (billing__record_publish). */
struct billing_customer {
	billing_customer_record r;
	billing__metadata metadata;
	billing_address address;
	char *address_text;         /* the address's strings, back to back */
};

#define F(member) offsetof(billing_customer_record, member)

/* Indexes into fields[], the bits of a given mask. */
enum {
	TENANT, ID, NAME, EMAIL, EMAIL_KEY, PAYMENT_METHOD, METADATA, BALANCES, CREATED_AT,
	UPDATED_AT, VERSION, TAX_EXEMPT, TAX_IDS, ADDRESS, PREFERRED_LOCALE, DISCOUNT, FIELD_COUNT
};

static const char *const tax_exempt_names[] = { "none", "exempt", "reverse", NULL };

#define TAX_IDS_MAX 5

#define WRITE (BILLING_API_CREATE | BILLING_API_UPDATE)

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id), BILLING_FIELD_TENANT, NULL,
		BILLING_JSON_NONE, 0, NULL, 0, NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID, "id", BILLING_JSON_STRING,
		0, NULL, 0, NULL },
	[NAME] = { "name", BILLING_FIELD_TEXT, F(name),
		BILLING_FIELD_SORT | BILLING_FIELD_SEARCH, "name", BILLING_JSON_STRING,
		WRITE | BILLING_API_REQUIRED, NULL, 0, "1-120 characters, trimmed" },
	[EMAIL] = { "email", BILLING_FIELD_TEXT, F(email), BILLING_FIELD_SEARCH, "email",
		BILLING_JSON_STRING, WRITE | BILLING_API_REQUIRED, NULL, 0,
		"valid address, unique in the tenant ignoring case" },
	/* The e-mail's key: the lower-cased address, unique in the tenant
	 * (a taken one names "email"); lists sort "email" by it. */
	[EMAIL_KEY] = { "email_key", BILLING_FIELD_TEXT, F(email_key),
		BILLING_FIELD_UNIQUE | BILLING_FIELD_SORT, "email", BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[PAYMENT_METHOD] = { "default_payment_method", BILLING_FIELD_TEXT,
		F(default_payment_method), 0, "defaultPaymentMethod", BILLING_JSON_STRING,
		WRITE | BILLING_API_NULLABLE | BILLING_API_VERBATIM, NULL, 0,
		"payment method token" },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), 0, "metadata",
		BILLING_JSON_METADATA, WRITE | BILLING_API_NULLABLE, NULL, 0, "string map" },
	/* Per currency; written by balance changes only, under the row's lock
	 * (customer_balance.c): FIXED, so an update never writes it back. */
	[BALANCES] = { "balances", BILLING_FIELD_TEXT, F(balances_json), BILLING_FIELD_FIXED,
		"balances", BILLING_JSON_OBJECT, BILLING_API_COMPUTED, NULL, 0,
		"the balance per currency, {\"EUR\": -2100} (negative: credit)" },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, NULL },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, NULL },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0, NULL },
	[TAX_EXEMPT] = { "tax_exempt", BILLING_FIELD_INT, F(tax_exempt), 0, "taxExempt", BILLING_JSON_ENUM, WRITE, tax_exempt_names, 0,
		"none (taxed), exempt (no tax) or reverse (no tax; the invoice carries the "
		"reverse-charge note); default none" },
	[TAX_IDS] = { "tax_ids", BILLING_FIELD_TEXT, F(tax_ids_json), 0, "taxIds",
		BILLING_JSON_ARRAY, WRITE, NULL, 0,
		"up to 5 [{type, value}]: type eu_vat, gb_vat, us_ein, ch_vat, no_vat or au_abn; "
		"the value's format is checked and normalized (DE123456789); [] when none" },
	/* Documents (issue #24): the buyer's block, and the locale when the
	 * caller names none. */
	[ADDRESS] = { "address", BILLING_FIELD_TEXT, F(address_json), 0, "address",
		BILLING_JSON_OBJECT, WRITE | BILLING_API_NULLABLE, NULL, 0,
		"{line1, line2, city, postalCode, region, country}, each optional, 1-200 "
		"characters; country an ISO 3166-1 alpha-2 code (any case, stored upper case); "
		"null when none" },
	[PREFERRED_LOCALE] = { "preferred_locale", BILLING_FIELD_TEXT, F(preferred_locale), 0,
		"preferredLocale", BILLING_JSON_STRING, WRITE | BILLING_API_NULLABLE, NULL, 0,
		"en-US, en-GB, de-DE, fr-FR, es-ES or ja-JP (any case): the default locale of "
		"the customer's documents; null when none (en-US)" },
	/* Schema step 32: the discount shown, written by the discount's
	 * changes only (core/discount_object.c): APART, so an update of the
	 * customer never writes it back nor needs it unchanged. */
	[DISCOUNT] = { "discount", BILLING_FIELD_TEXT, F(discount_json), BILLING_FIELD_APART,
		"discount", BILLING_JSON_OBJECT, BILLING_API_NULLABLE, NULL, 0,
		"the customer's discount {id, couponId, promotionCodeId, start, end}; null: none" },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

const billing_resource billing__res_customer = {
	"customer", "customers", "customers", "Customer", "A customer of a tenant.",
	"customers", "cus", sizeof(billing_customer_record), fields, FIELD_COUNT,
	NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_CRUD, R_READ, R_WRITE, BILLING_RESOURCE_CREATE_EVENT, NULL, 0
};

#define BIT(i) (UINT64_C(1) << (i))

/* ------------------------------------------------------------ rules */

/* The flow's own copy of a string of the record (resource.h: check may
 * rewrite it in place as long as it gets no longer). */
static char *own(const char *s)
{
	return (char *)(uintptr_t)s;
}

static bool token_ok(const char *pm)
{
	size_t len = strlen(pm), i;
	for (i = 0; i < len; i++)
		if ((unsigned char)pm[i] < 0x21 || (unsigned char)pm[i] > 0x7e)
			return false;
	return len > 0 && len <= 255;
}

/*
 * taxIds: at most TAX_IDS_MAX objects {type, value}, each value checked and
 * normalized by its type (core/tax_id.h); out receives the array printed
 * with the normalized values. The first failure is the call's error
 * (a 400 naming taxIds[i].type or taxIds[i].value).
 */
static int tax_ids_check(char *out, size_t size, const char *text)
{
	cJSON *arr = billing__jx_parse(text, strlen(text), NULL), *e, *v;
	char norm[BILLING__TAX_ID_VALUE_MAX], ftype[32], fvalue[32], *printed = NULL;
	size_t i = 0;
	int rc = BILLING_OK;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > TAX_IDS_MAX) {
		cJSON_Delete(arr);
		return billing__error_field(BILLING_EINVALID, "invalid", "taxIds",
			"must be an array of at most %d {type, value} objects", TAX_IDS_MAX);
	}
	cJSON_ArrayForEach(e, arr) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(e, "value");

		snprintf(ftype, sizeof(ftype), "taxIds[%zu].type", i);
		snprintf(fvalue, sizeof(fvalue), "taxIds[%zu].value", i);
		i++;
		if (cJSON_GetArraySize(e) != 2 || !cJSON_IsString(type) || !cJSON_IsString(value)) {
			rc = billing__error_field(BILLING_EINVALID, "invalid", ftype,
				"each tax id is an object {type, value} of two strings");
			break;
		}
		if ((rc = billing__tax_id_check(norm, type->valuestring, value->valuestring,
			ftype, fvalue)) < 0)
			break;
		if (!(v = cJSON_CreateString(norm))) {
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			break;
		}
		cJSON_ReplaceItemInObjectCaseSensitive(e, "value", v);
	}
	if (rc == BILLING_OK) {
		printed = billing__jx_print(arr);
		if (!printed)
			rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		else if ((size_t)snprintf(out, size, "%s", printed) >= size)
			rc = billing__error_field(BILLING_EINVALID, "invalid", "taxIds",
				"the tax ids are too long");
	}
	cJSON_free(printed);
	cJSON_Delete(arr);
	return rc;
}

static int check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	/* The address in its canonical form: the record points at it until
	 * the call's write and answer, within this call on this thread. */
	static _Thread_local char address[2048];
	/* The tax ids with their values normalized: the record points at it
	 * until the call's write and answer, within this call on this thread. */
	static _Thread_local char tax_ids[1024];
	/* The provider's id a "cpm_..." stands for: the record points at it
	 * until the call's write and answer, within this call on this thread. */
	static _Thread_local char provider_ref[256];
	billing_customer_record *c = rec;
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;

	if ((given & BIT(NAME)) &&
	    (rc = billing__check_text_in_place(&ck, "name", c->name, BILLING__TEXT_REQUIRED, 1,
		120)) < 0)
		return rc;
	if (given & BIT(EMAIL)) {
		size_t before = ck.count;
		if ((rc = billing__check_text_in_place(&ck, "email", c->email,
			BILLING__TEXT_REQUIRED, 1, 190)) < 0)
			return rc;
		if (ck.count == before && !billing__email_valid(c->email, strlen(c->email)))
			billing__check_fail(&ck, "email", "must be a valid e-mail address");
		/* The flow filled the key with the address: unique ignoring case. */
		billing__ascii_lower(own(c->email_key));
	}
	if ((given & BIT(PAYMENT_METHOD)) && c->default_payment_method &&
	    !token_ok(c->default_payment_method))
		billing__check_fail(&ck, "defaultPaymentMethod",
			"must be 1 to 255 printable ASCII characters");
	if ((given & BIT(TAX_EXEMPT)) && (c->tax_exempt < 0 || c->tax_exempt > 2))
		billing__check_fail(&ck, "taxExempt", "must be none, exempt or reverse");
	if ((given & BIT(ADDRESS)) && c->address_json) {
		bool none;
		if ((rc = billing__address_check(&ck, address, sizeof(address), c->address_json,
			&none)) < 0)
			return rc;
		c->address_json = none ? NULL : address;
	}
	/* The table's own spelling of the tag: "de-de" is stored "de-DE". */
	if ((given & BIT(PREFERRED_LOCALE)) && c->preferred_locale) {
		const billing__locale *loc = billing__locale_find(c->preferred_locale);
		if (!loc)
			billing__check_fail(&ck, "preferredLocale",
				"must be one of en-US, en-GB, de-DE, fr-FR, es-ES, ja-JP");
		else
			c->preferred_locale = loc->tag;
	}
	if (!current)
		c->balances_json = "{}";
	if (!current && !(given & BIT(TAX_IDS)))
		c->tax_ids_json = "[]";
	if ((rc = billing__checks_finish(&ck, "customer")) < 0)
		return rc;
	if ((given & BIT(TAX_IDS)) && c->tax_ids_json) {
		if ((rc = tax_ids_check(tax_ids, sizeof(tax_ids), c->tax_ids_json)) < 0)
			return rc;
		c->tax_ids_json = tax_ids;
	}
	/* On update a stored payment method's id stands for the provider's. */
	if (current && (given & BIT(PAYMENT_METHOD)) && c->default_payment_method) {
		if ((rc = billing__payment_method_default(ctx, tx, c->tenant_id, c->id,
			c->default_payment_method, provider_ref, sizeof(provider_ref))) < 0)
			return rc;
		c->default_payment_method = provider_ref;
	}
	return BILLING_OK;
}

/* The operations as they were before the generic flow: their permission
 * entries and catalog lines. */
static const billing__rules_op ops[] = {
	{ BILLING_OP_CUSTOMERS_CREATE, "Create a customer.", NULL },
	{ BILLING_OP_CUSTOMERS_GET, "Fetch a customer.", NULL },
	{ BILLING_OP_CUSTOMERS_UPDATE, "Change the fields given; the others stay.",
		"the customer id" },
	{ BILLING_OP_CUSTOMERS_DELETE, "Delete a customer nothing references.", NULL },
	{ BILLING_OP_CUSTOMERS_LIST,
		"List customers; search on name or email; sortBy name, email, createdAt.", NULL },
};

/* The list has no filters (none derived from createdAt's range either). */
static const billing__list_filter filters[] = { { NULL, NULL, 0, NULL } };

/* An update's discount (issue #22): the coupon or code redeemed for the
 * customer in the update's transaction, replacing its discount. */
static const billing__rules_extra extras[] = {
	{ "coupon", "a coupon id: replaces the customer's discount" },
	{ "promotionCode", "an active promotion code's text (any case), instead of coupon" },
	{ NULL, NULL }
};

static int discounted(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	const char *const *values, char **keep)
{
	billing_customer_record *c = rec;
	struct billing__discount_info d;
	billing__attach_params ap;
	int rc;
	(void)current;

	if (!values[0] && !values[1])
		return BILLING_OK;
	memset(&ap, 0, sizeof(ap));
	ap.customer_id = c->id;
	ap.coupon = values[0];
	ap.promotion_code = values[1];
	ap.now = billing__now(ctx);
	/* No first invoice: a code with a minimumAmount is refused. */
	if ((rc = billing__discount_attach(&d, ctx, tx, c->tenant_id, &ap)) < 0)
		return rc;
	/* attach wrote the column; the answer and customer.updated show it. */
	if ((*keep = billing__malloc(BILLING__DISCOUNT_TEXT_MAX)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if ((rc = billing__discount_text(*keep, &d)) < 0)
		return rc;
	c->discount_json = *keep;
	return BILLING_OK;
}

const billing__rules billing__customer_rules = {
	&billing__res_customer, check, NULL, ops, filters, NULL, NULL, NULL, extras, discounted
};

/* ------------------------------------------------------------ the C API */

static int decode(void *obj)
{
	billing_customer *c = obj;
	int rc = billing__metadata_decode(&c->metadata,
		c->r.metadata_json ? c->r.metadata_json : "{}");
	return rc < 0 ? rc : billing__address_decode(&c->address, &c->address_text,
		c->r.address_json);
}

static void obj_free(void *obj)
{
	billing_customer_free(obj);
}

/* A customer the flow returned (rc), made public. */
static int publish(billing_customer **out, int rc)
{
	if (rc < 0)
		return rc;
	return billing__record_publish((void **)out, &billing__res_customer,
		sizeof(billing_customer), decode, obj_free);
}

static int check_params(const billing_customer_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_CUSTOMER_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_customer_params version %u", p->version);
	return BILLING_OK;
}

/* The record and mask of params' fields named by bits; *metadata and
 * *address are new (or NULL). */
static int to_record(const billing_customer_params *p, unsigned int bits,
	billing_customer_record *r, uint64_t *given, char **metadata, char **address)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;

	memset(r, 0, sizeof(*r));
	*given = 0;
	*metadata = NULL;
	*address = NULL;
	if (bits & ~((p->version >= 3 ? BILLING_CUSTOMER_PREFERRED_LOCALE :
		BILLING_CUSTOMER_METADATA) * 2 - 1))
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"unknown field bits");
	r->name = p->name;
	r->email = p->email;
	r->default_payment_method = p->default_payment_method;
	if (bits & BILLING_CUSTOMER_NAME)
		*given |= BIT(NAME);
	if (bits & BILLING_CUSTOMER_EMAIL)
		*given |= BIT(EMAIL);
	if (bits & BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD)
		*given |= BIT(PAYMENT_METHOD);
	if (bits & BILLING_CUSTOMER_METADATA) {
		if ((rc = billing__metadata_encode(&ck, p->metadata, p->metadata_count,
			metadata)) < 0)
			return rc;
		r->metadata_json = *metadata ? *metadata : "{}";
		*given |= BIT(METADATA);
	}
	if (bits & BILLING_CUSTOMER_PREFERRED_LOCALE) {
		r->preferred_locale = p->preferred_locale;
		*given |= BIT(PREFERRED_LOCALE);
	}
	if ((rc = billing__checks_finish(&ck, "customer")) == BILLING_OK &&
	    (bits & BILLING_CUSTOMER_ADDRESS)) {
		*given |= BIT(ADDRESS);
		if (p->address && (rc = billing__address_encode(address, p->address)) == BILLING_OK)
			r->address_json = *address;
	}
	if (rc < 0) {
		billing__free(*metadata);
		*metadata = NULL;
		billing__free(*address);
		*address = NULL;
	}
	return rc;
}

int billing_customer_create(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const billing_customer_params *p,
	const billing_call_options *opts)
{
	billing_customer_record r;
	/* A missing name or e-mail is "is required". */
	unsigned int bits = BILLING_CUSTOMER_DEFAULT_PAYMENT_METHOD;
	char *metadata = NULL, *address = NULL;
	uint64_t given;
	int rc;

	/* The role first, before the input is looked at. */
	if ((rc = billing__authorize_rules(ctx, who, &billing__customer_rules,
		BILLING_RESOURCE_OP_CREATE)) < 0 || (rc = check_params(p)) < 0)
		return rc;
	if (p->version >= 2 && (p->coupon || p->promotion_code))
		return billing__error_field(BILLING_EINVALID, "update_only",
			p->coupon ? "coupon" : "promotionCode",
			"a customer's discount is made by an update of the customer");
	if (p->name)
		bits |= BILLING_CUSTOMER_NAME;
	if (p->email)
		bits |= BILLING_CUSTOMER_EMAIL;
	if (p->metadata_count)
		bits |= BILLING_CUSTOMER_METADATA;
	if (p->version >= 3 && p->address)
		bits |= BILLING_CUSTOMER_ADDRESS;
	if (p->version >= 3 && p->preferred_locale)
		bits |= BILLING_CUSTOMER_PREFERRED_LOCALE;
	if ((rc = to_record(p, bits, &r, &given, &metadata, &address)) < 0)
		return rc;
	rc = publish(out, billing__resource_create((void **)out, &billing__customer_rules, ctx,
		who, &r, given, opts));
	billing__free(metadata);
	billing__free(address);
	return rc;
}

int billing_customer_get(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return publish(out, billing__resource_get((void **)out, &billing__customer_rules, ctx,
		who, id));
}

int billing_customer_update(billing_customer **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_customer_params *p,
	const billing_call_options *opts)
{
	billing_customer_record r;
	const char *extra[BILLING__EXTRAS_MAX] = { NULL };
	char *metadata = NULL, *address = NULL;
	uint64_t given;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, &billing__customer_rules,
		BILLING_RESOURCE_OP_UPDATE)) < 0 || (rc = check_params(p)) < 0 ||
	    (rc = to_record(p, p->fields, &r, &given, &metadata, &address)) < 0)
		return rc;
	if (p->version >= 2) {
		extra[0] = p->coupon;
		extra[1] = p->promotion_code;
	}
	rc = publish(out, billing__resource_update_extra((void **)out, &billing__customer_rules,
		ctx, who, id, &r, given, p->expected_version, extra, opts));
	billing__free(metadata);
	billing__free(address);
	return rc;
}

int billing_customer_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	/* Rows that reference a customer hold a foreign key to it: the delete
	 * then fails with BILLING_ECONFLICT "referenced" and changes nothing. */
	return billing__resource_delete(&billing__customer_rules, ctx, who, id, expected_version);
}

int billing_customer_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_list_params *params)
{
	int rc;

	if ((rc = billing__resource_list(out, &billing__customer_rules, ctx, who, params, NULL,
		0)) < 0)
		return rc;
	if ((rc = billing__page_publish(*out, &billing__res_customer, sizeof(billing_customer),
		decode, obj_free)) < 0) {
		billing_page_free(*out);
		*out = NULL;
	}
	return rc;
}

const billing_customer *billing_page_customer(const billing_page *page, size_t i)
{
	return billing__resource_page_item(page, &billing__res_customer, i);
}

void billing_customer_free(billing_customer *c)
{
	if (c) {
		billing__metadata_free(&c->metadata);
		billing__free(c->address_text);
	}
	billing__free(c);
}

const char *billing_customer_id(const billing_customer *c) { return c ? c->r.id : NULL; }
const char *billing_customer_tenant_id(const billing_customer *c)
{
	return c ? c->r.tenant_id : NULL;
}
const char *billing_customer_name(const billing_customer *c) { return c ? c->r.name : NULL; }
const char *billing_customer_email(const billing_customer *c) { return c ? c->r.email : NULL; }
const char *billing_customer_default_payment_method(const billing_customer *c)
{
	return c ? c->r.default_payment_method : NULL;
}
size_t billing_customer_metadata_count(const billing_customer *c)
{
	return c ? c->metadata.count : 0;
}
const billing_metadata_entry *billing_customer_metadata_at(const billing_customer *c, size_t i)
{
	return c && i < c->metadata.count ? &c->metadata.entries[i] : NULL;
}
const char *billing_customer_metadata_get(const billing_customer *c, const char *key)
{
	return c ? billing__metadata_get(&c->metadata, key) : NULL;
}
int64_t billing_customer_created_at(const billing_customer *c) { return c ? c->r.created_at : 0; }
int64_t billing_customer_updated_at(const billing_customer *c) { return c ? c->r.updated_at : 0; }
int64_t billing_customer_version(const billing_customer *c) { return c ? c->r.version : 0; }

/* The balances (billing/customer_balance.h): written by balance changes
 * only, read here; "{}" when none (a row from before they existed). */
const char *billing_customer_balances_json(const billing_customer *c)
{
	if (!c)
		return NULL;
	return c->r.balances_json ? c->r.balances_json : "{}";
}

const billing_address *billing_customer_address(const billing_customer *c)
{
	return c && c->r.address_json ? &c->address : NULL;
}

const char *billing_customer_preferred_locale(const billing_customer *c)
{
	return c ? c->r.preferred_locale : NULL;
}

/* The discount shown (schema step 32): written by the discount's changes
 * only (core/discount_object.c), read here; NULL when none. */
const char *billing_customer_discount_json(const billing_customer *c)
{
	return c ? c->r.discount_json : NULL;
}
