/*
 * Products: the tenant's catalog, on the generic flow (core/resource.h).
 * This file is the products' descriptor, their rules (validation, a SKU
 * unique in the tenant, hard delete only while no plan, deleted or not,
 * references the product) and the typed C API of billing/product.h over
 * the flow; storage, the JSON layer, the HTTP routes, OpenAPI and the
 * bindings read the descriptor.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "billing/money.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/text.h"

/* The public product: the record, then its metadata decoded for the
 * getters (billing__record_publish). */
struct billing_product {
	billing_product_record r;
	billing__metadata metadata;
};

#define NAME_MAX_LEN 200
#define DESCRIPTION_MAX 2000

#define F(member) offsetof(billing_product_record, member)

/* Indexes into fields[], the bits of a given mask. */
enum {
	TENANT, ID, NAME, SKU, DESCRIPTION, PRICE, CURRENCY, TAX_RATE, ACTIVE, STOCK,
	LOW_STOCK, METADATA, CREATED_AT, UPDATED_AT, VERSION, FIELD_COUNT
};

#define WRITE (BILLING_API_CREATE | BILLING_API_UPDATE)

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id), BILLING_FIELD_TENANT, NULL,
		BILLING_JSON_NONE, 0, NULL, 0, NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID, "id", BILLING_JSON_STRING,
		0, NULL, 0, NULL },
	[NAME] = { "name", BILLING_FIELD_TEXT, F(name),
		BILLING_FIELD_SORT | BILLING_FIELD_SEARCH, "name", BILLING_JSON_STRING,
		WRITE | BILLING_API_REQUIRED, NULL, 0, "1-200 characters" },
	[SKU] = { "sku", BILLING_FIELD_TEXT, F(sku),
		BILLING_FIELD_UNIQUE | BILLING_FIELD_SORT | BILLING_FIELD_SEARCH, "sku",
		BILLING_JSON_STRING, WRITE | BILLING_API_REQUIRED | BILLING_API_VERBATIM, NULL, 0,
		"[A-Za-z0-9._-]{1,64}, unique in the tenant" },
	[DESCRIPTION] = { "description", BILLING_FIELD_TEXT, F(description), 0, "description",
		BILLING_JSON_STRING, WRITE | BILLING_API_NULLABLE, NULL, 0,
		"at most 2000 characters" },
	[PRICE] = { "price_cents", BILLING_FIELD_INT64, F(price_cents),
		BILLING_FIELD_RANGE | BILLING_FIELD_SORT | BILLING_FIELD_NONNEGATIVE, "priceCents",
		BILLING_JSON_INTEGER, WRITE, NULL, 0, "price in minor units, >= 0" },
	[CURRENCY] = { "currency", BILLING_FIELD_TEXT, F(currency), BILLING_FIELD_FILTER,
		"currency", BILLING_JSON_STRING, WRITE | BILLING_API_VERBATIM | BILLING_API_UPPER,
		NULL, 0,
		"ISO 4217 code, default EUR" },
	/* Basis points (2000: 0.2), shown as the JSON number 0.2. */
	[TAX_RATE] = { "tax_rate_bp", BILLING_FIELD_INT32, F(tax_rate_bp), 0, "taxRate",
		BILLING_JSON_DECIMAL, WRITE | BILLING_API_NUMBER, NULL, 4,
		"decimal 0 <= r < 1, at most 4 places" },
	[ACTIVE] = { "is_active", BILLING_FIELD_INT, F(is_active), BILLING_FIELD_FILTER,
		"isActive", BILLING_JSON_BOOLEAN, WRITE, NULL, 0, "default true" },
	[STOCK] = { "stock", BILLING_FIELD_INT64, F(stock), BILLING_FIELD_NONNEGATIVE, "stock",
		BILLING_JSON_INTEGER, WRITE, NULL, 0, ">= 0" },
	[LOW_STOCK] = { "low_stock_threshold", BILLING_FIELD_INT64, F(low_stock_threshold),
		BILLING_FIELD_NONNEGATIVE, "lowStockThreshold", BILLING_JSON_INTEGER, WRITE, NULL, 0,
		">= 0" },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), 0, "metadata",
		BILLING_JSON_METADATA, WRITE | BILLING_API_NULLABLE, NULL, 0, "string map" },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, NULL },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, NULL },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0, NULL },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

const billing_resource billing__res_product = {
	"product", "products", "products", "Product",
	"A product; prices in minor units of its currency.",
	"products", "prod", sizeof(billing_product_record), fields, FIELD_COUNT,
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

static void check_range(billing__checks *ck, const char *field, int64_t v)
{
	if (v < 0 || v > BILLING_AMOUNT_MAX)
		billing__check_fail(ck, field, "must be between %lld and %lld", 0LL,
			(long long)BILLING_AMOUNT_MAX);
}

static int check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	billing_product_record *p = rec;
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;
	(void)ctx;
	(void)tx;

	if ((given & BIT(NAME)) &&
	    (rc = billing__check_text_in_place(&ck, "name", p->name, BILLING__TEXT_REQUIRED, 1,
		NAME_MAX_LEN)) < 0)
		return rc;
	if ((given & BIT(SKU)) && !billing__sku_valid(p->sku, strlen(p->sku)))
		billing__check_fail(&ck, "sku", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
	if ((given & BIT(DESCRIPTION)) && p->description &&
	    (rc = billing__check_text_in_place(&ck, "description", p->description,
		BILLING__TEXT_MULTILINE, 0, DESCRIPTION_MAX)) < 0)
		return rc;
	if (given & BIT(PRICE))
		check_range(&ck, "priceCents", p->price_cents);
	if (given & BIT(CURRENCY)) {
		char code[4];
		/* Upper-cased in place: three letters stay three letters. */
		if (billing_currency_normalize(code, p->currency) < 0)
			billing__check_fail(&ck, "currency", "must be an ISO 4217 currency code");
		else
			memcpy(own(p->currency), code, sizeof(code));
	} else if (!current) {
		p->currency = "EUR";
	}
	if ((given & BIT(TAX_RATE)) && (p->tax_rate_bp < 0 || p->tax_rate_bp >= BILLING_RATE_SCALE))
		billing__check_fail(&ck, "taxRate", "must be at least 0 and below 1 "
			"(0 to 9999 basis points)");
	if (given & BIT(STOCK))
		check_range(&ck, "stock", p->stock);
	if (given & BIT(LOW_STOCK))
		check_range(&ck, "lowStockThreshold", p->low_stock_threshold);
	/* Active unless the create says otherwise. */
	if (!current && !(given & BIT(ACTIVE)))
		p->is_active = 1;
	return billing__checks_finish(&ck, "product");
}

/* A product goes only when no plan names it. Deleted plans count too:
 * they keep their product for the invoices that name them. */
static int before_delete(billing_ctx *ctx, billing_txn *tx, const void *current)
{
	const billing_product_record *cur = current;
	const billing_filter of_product = { billing_resource_field(&billing__res_plan, "product_id"),
		BILLING_FILTER_EQ, cur->id, 0, NULL };
	int64_t plans = 0;
	int rc;

	if ((rc = billing__count_records(ctx->st, tx, &billing__res_plan, cur->tenant_id,
			&of_product, 1, 1, &plans)) < 0)
		return rc;
	if (plans > 0)
		return billing__error_set(BILLING_ECONFLICT, "referenced",
			"the product is referenced by %lld plan%s (deleted plans included)",
			(long long)plans, plans == 1 ? "" : "s");
	return BILLING_OK;
}

/* The bounds of a price range, named as the list's filters name them. */
static int check_list(const billing_filter *filters, size_t count)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	const billing_filter *min = NULL, *max = NULL;
	size_t i;

	for (i = 0; i < count; i++) {
		if (filters[i].field != &fields[PRICE])
			continue;
		if (filters[i].op == BILLING_FILTER_GE)
			min = &filters[i];
		else if (filters[i].op == BILLING_FILTER_LE)
			max = &filters[i];
	}
	if (min && min->num < 0)
		billing__check_fail(&ck, "minPriceCents", "must not be negative");
	if (max && max->num < 0)
		billing__check_fail(&ck, "maxPriceCents", "must not be negative");
	if (min && max && min->num >= 0 && max->num >= 0 && min->num > max->num)
		billing__check_fail(&ck, "minPriceCents", "must not exceed maxPriceCents");
	return billing__checks_finish(&ck, "product list");
}

/* The operations as they were before the generic flow: their permission
 * entries, catalog lines and list filters. */
static const billing__rules_op ops[] = {
	{ BILLING_OP_PRODUCTS_CREATE, "Create a product.", NULL },
	{ BILLING_OP_PRODUCTS_GET, "Fetch a product.", NULL },
	{ BILLING_OP_PRODUCTS_UPDATE, "Change the fields given; the others stay.", "the product id" },
	{ BILLING_OP_PRODUCTS_DELETE, "Delete a product no plan (deleted or not) references.", NULL },
	{ BILLING_OP_PRODUCTS_LIST,
		"List products; search on name or sku; sortBy name, sku, priceCents, createdAt.",
		NULL },
};

static const billing__list_filter filters[] = {
	{ "minPriceCents", "price_cents", BILLING_FILTER_GE, "lowest price" },
	{ "maxPriceCents", "price_cents", BILLING_FILTER_LE, "highest price" },
	{ "isActive", "is_active", BILLING_FILTER_EQ, "only active or inactive products" },
	{ NULL, NULL, 0, NULL }
};

const billing__rules billing__product_rules = {
	&billing__res_product, check, before_delete, ops, filters, check_list, NULL, NULL, NULL, NULL
};

/* ------------------------------------------------------------ the C API */

static int decode(void *obj)
{
	billing_product *p = obj;
	return billing__metadata_decode(&p->metadata,
		p->r.metadata_json ? p->r.metadata_json : "{}");
}

static void obj_free(void *obj)
{
	billing_product_free(obj);
}

/* A product the flow returned (rc), made public. */
static int publish(billing_product **out, int rc)
{
	if (rc < 0)
		return rc;
	return billing__record_publish((void **)out, &billing__res_product,
		sizeof(billing_product), decode, obj_free);
}

static int check_params(const billing_product_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_PRODUCT_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_product_params version %u", p->version);
	return BILLING_OK;
}

/* The record and mask of params' fields named by bits; *metadata is new
 * (or NULL). */
static int to_record(const billing_product_params *p, unsigned int bits,
	billing_product_record *r, uint64_t *given, char **metadata)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;

	memset(r, 0, sizeof(*r));
	*given = 0;
	*metadata = NULL;
	if (bits & ~(BILLING_PRODUCT_METADATA * 2 - 1))
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"unknown field bits");
	if (bits & BILLING_PRODUCT_NAME) {
		r->name = p->name;
		*given |= BIT(NAME);
	}
	if (bits & BILLING_PRODUCT_SKU) {
		r->sku = p->sku;
		*given |= BIT(SKU);
	}
	if (bits & BILLING_PRODUCT_DESCRIPTION) {
		r->description = p->description;
		*given |= BIT(DESCRIPTION);
	}
	if (bits & BILLING_PRODUCT_PRICE) {
		r->price_cents = p->price_cents;
		*given |= BIT(PRICE);
	}
	if (bits & BILLING_PRODUCT_CURRENCY) {
		r->currency = p->currency ? p->currency : "EUR";
		*given |= BIT(CURRENCY);
	}
	if (bits & BILLING_PRODUCT_TAX_RATE) {
		r->tax_rate_bp = p->tax_rate_bp;
		*given |= BIT(TAX_RATE);
	}
	if (bits & BILLING_PRODUCT_ACTIVE) {
		if (p->is_active == BILLING_TRUE || p->is_active == BILLING_FALSE) {
			r->is_active = p->is_active == BILLING_TRUE;
			*given |= BIT(ACTIVE);
		} else {
			billing__check_fail(&ck, "isActive", "must be true or false");
		}
	}
	if (bits & BILLING_PRODUCT_STOCK) {
		r->stock = p->stock;
		*given |= BIT(STOCK);
	}
	if (bits & BILLING_PRODUCT_LOW_STOCK_THRESHOLD) {
		r->low_stock_threshold = p->low_stock_threshold;
		*given |= BIT(LOW_STOCK);
	}
	if (bits & BILLING_PRODUCT_METADATA) {
		if ((rc = billing__metadata_encode(&ck, p->metadata, p->metadata_count,
			metadata)) < 0)
			return rc;
		r->metadata_json = *metadata ? *metadata : "{}";
		*given |= BIT(METADATA);
	}
	if ((rc = billing__checks_finish(&ck, "product")) < 0) {
		billing__free(*metadata);
		*metadata = NULL;
	}
	return rc;
}

int billing_product_create(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const billing_product_params *p,
	const billing_call_options *opts)
{
	billing_product_record r;
	/* Every field: zero values are the defaults; a missing name or sku is
	 * "is required", the currency and activity default in the rules. */
	unsigned int bits = BILLING_PRODUCT_DESCRIPTION | BILLING_PRODUCT_PRICE |
		BILLING_PRODUCT_TAX_RATE | BILLING_PRODUCT_STOCK |
		BILLING_PRODUCT_LOW_STOCK_THRESHOLD;
	char *metadata = NULL;
	uint64_t given;
	int rc;

	/* The role first, before the input is looked at. */
	if ((rc = billing__authorize_rules(ctx, who, &billing__product_rules,
		BILLING_RESOURCE_OP_CREATE)) < 0 || (rc = check_params(p)) < 0)
		return rc;
	if (p->name)
		bits |= BILLING_PRODUCT_NAME;
	if (p->sku)
		bits |= BILLING_PRODUCT_SKU;
	if (p->currency)
		bits |= BILLING_PRODUCT_CURRENCY;
	if (p->is_active != BILLING_UNSET)
		bits |= BILLING_PRODUCT_ACTIVE;
	if (p->metadata_count)
		bits |= BILLING_PRODUCT_METADATA;
	if ((rc = to_record(p, bits, &r, &given, &metadata)) < 0)
		return rc;
	rc = publish(out, billing__resource_create((void **)out, &billing__product_rules, ctx,
		who, &r, given, opts));
	billing__free(metadata);
	return rc;
}

int billing_product_get(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return publish(out, billing__resource_get((void **)out, &billing__product_rules, ctx,
		who, id));
}

int billing_product_update(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_product_params *p,
	const billing_call_options *opts)
{
	billing_product_record r;
	char *metadata = NULL;
	uint64_t given;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, &billing__product_rules,
		BILLING_RESOURCE_OP_UPDATE)) < 0 || (rc = check_params(p)) < 0 ||
	    (rc = to_record(p, p->fields, &r, &given, &metadata)) < 0)
		return rc;
	rc = publish(out, billing__resource_update((void **)out, &billing__product_rules, ctx,
		who, id, &r, given, p->expected_version, opts));
	billing__free(metadata);
	return rc;
}

int billing_product_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	return billing__resource_delete(&billing__product_rules, ctx, who, id, expected_version);
}

int billing_product_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_product_list_params *params)
{
	billing_product_list_params none = BILLING_PRODUCT_LIST_PARAMS_INIT;
	const billing_product_list_params *p = params ? params : &none;
	billing_filter f[3];
	size_t n = 0;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, &billing__product_rules,
		BILLING_RESOURCE_OP_LIST)) < 0)
		return rc;
	if (p->version == 0 || p->version > BILLING_PRODUCT_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_product_list_params version %u", p->version);
	if (p->is_active != BILLING_UNSET && p->is_active != BILLING_TRUE &&
	    p->is_active != BILLING_FALSE)
		return billing__error_field(BILLING_EINVALID, "invalid", "isActive",
			"isActive must be true, false or unset");
	memset(f, 0, sizeof(f));
	if (p->has_min_price)
		f[n++] = (billing_filter){ &fields[PRICE], BILLING_FILTER_GE, NULL,
			p->min_price_cents, NULL };
	if (p->has_max_price)
		f[n++] = (billing_filter){ &fields[PRICE], BILLING_FILTER_LE, NULL,
			p->max_price_cents, NULL };
	if (p->is_active != BILLING_UNSET)
		f[n++] = (billing_filter){ &fields[ACTIVE], BILLING_FILTER_EQ, NULL,
			p->is_active == BILLING_TRUE, NULL };
	if ((rc = billing__resource_list(out, &billing__product_rules, ctx, who, &p->list, f,
		n)) < 0)
		return rc;
	if ((rc = billing__page_publish(*out, &billing__res_product, sizeof(billing_product),
		decode, obj_free)) < 0) {
		billing_page_free(*out);
		*out = NULL;
	}
	return rc;
}

const billing_product *billing_page_product(const billing_page *page, size_t i)
{
	return billing__resource_page_item(page, &billing__res_product, i);
}

void billing_product_free(billing_product *p)
{
	if (p)
		billing__metadata_free(&p->metadata);
	billing__free(p);
}

const char *billing_product_id(const billing_product *p) { return p ? p->r.id : NULL; }
const char *billing_product_tenant_id(const billing_product *p)
{
	return p ? p->r.tenant_id : NULL;
}
const char *billing_product_name(const billing_product *p) { return p ? p->r.name : NULL; }
const char *billing_product_sku(const billing_product *p) { return p ? p->r.sku : NULL; }
const char *billing_product_description(const billing_product *p)
{
	return p ? p->r.description : NULL;
}
int64_t billing_product_price_cents(const billing_product *p) { return p ? p->r.price_cents : 0; }
const char *billing_product_currency(const billing_product *p)
{
	return p ? p->r.currency : NULL;
}
int32_t billing_product_tax_rate_bp(const billing_product *p) { return p ? p->r.tax_rate_bp : 0; }
int billing_product_is_active(const billing_product *p) { return p ? p->r.is_active : 0; }
int64_t billing_product_stock(const billing_product *p) { return p ? p->r.stock : 0; }
int64_t billing_product_low_stock_threshold(const billing_product *p)
{
	return p ? p->r.low_stock_threshold : 0;
}
size_t billing_product_metadata_count(const billing_product *p)
{
	return p ? p->metadata.count : 0;
}
const billing_metadata_entry *billing_product_metadata_at(const billing_product *p, size_t i)
{
	return p && i < p->metadata.count ? &p->metadata.entries[i] : NULL;
}
const char *billing_product_metadata_get(const billing_product *p, const char *key)
{
	return p ? billing__metadata_get(&p->metadata, key) : NULL;
}
int64_t billing_product_created_at(const billing_product *p) { return p ? p->r.created_at : 0; }
int64_t billing_product_updated_at(const billing_product *p) { return p ? p->r.updated_at : 0; }
int64_t billing_product_version(const billing_product *p) { return p ? p->r.version : 0; }
