/*
 * Products: the tenant's catalog. Validation, a SKU unique in the tenant,
 * partial updates with optimistic concurrency, hard delete only while no
 * plan (deleted or not) references the product.
 */
#include <stdio.h>
#include <string.h>

#include "billing/money.h"
#include "core/core.h"
#include "core/entity.h"
#include "core/json_out.h"
#include "core/text.h"

struct billing_product {
	char *tenant_id;
	char *id;
	char *name;
	char *sku;
	char *description;
	int64_t price_cents;
	char currency[4];
	int32_t tax_rate_bp;
	int is_active;
	int64_t stock;
	int64_t low_stock_threshold;
	char *metadata_json;
	billing__metadata metadata;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

#define PRODUCT_FIELDS (BILLING_PRODUCT_NAME | BILLING_PRODUCT_SKU | \
	BILLING_PRODUCT_DESCRIPTION | BILLING_PRODUCT_PRICE | BILLING_PRODUCT_CURRENCY | \
	BILLING_PRODUCT_TAX_RATE | BILLING_PRODUCT_ACTIVE | BILLING_PRODUCT_STOCK | \
	BILLING_PRODUCT_LOW_STOCK_THRESHOLD | BILLING_PRODUCT_METADATA)

void billing_product_free(billing_product *p)
{
	if (!p)
		return;
	billing__metadata_free(&p->metadata);
	billing__free(p);
}

static void free_item(void *item)
{
	billing_product_free(item);
}

static void *from_record(const void *record)
{
	const billing_product_record *r = record;
	billing_product *p;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) +
		billing__strsize(r->id) +
		billing__strsize(r->name) +
		billing__strsize(r->sku) +
		billing__strsize(r->description) +
		billing__strsize(r->metadata_json ? r->metadata_json : "{}");

	if ((p = billing__calloc(1, sizeof(*p) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(p + 1);
	p->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	p->id = billing__strpack_put(&sp, r->id);
	p->name = billing__strpack_put(&sp, r->name);
	p->sku = billing__strpack_put(&sp, r->sku);
	p->description = billing__strpack_put(&sp, r->description);
	snprintf(p->currency, sizeof(p->currency), "%s", r->currency ? r->currency : "");
	p->price_cents = r->price_cents;
	p->tax_rate_bp = r->tax_rate_bp;
	p->is_active = r->is_active ? 1 : 0;
	p->stock = r->stock;
	p->low_stock_threshold = r->low_stock_threshold;
	p->metadata_json = billing__strpack_put(&sp, r->metadata_json ? r->metadata_json : "{}");
	p->created_at = r->created_at;
	p->updated_at = r->updated_at;
	p->version = r->version;
	if (billing__metadata_decode(&p->metadata, p->metadata_json) < 0) {
		billing_product_free(p);
		return NULL;
	}
	return p;
}

/* One sort_key per sort: the list cursor reads back the column it sorts. */
static void sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_product *p = item;
	*id = p->id;
	*num = p->created_at;
	*text = p->name;
}

static void sort_key_sku(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_product *p = item;
	*id = p->id;
	*num = p->created_at;
	*text = p->sku;
}

static void sort_key_price(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_product *p = item;
	*id = p->id;
	*num = p->price_cents;
	*text = NULL;
}

/* Inputs after validation and normalization; strings owned. */
struct norm {
	char *name;
	char *sku;
	char *description;
	char currency[4];
	int is_active;
	char *metadata_json;
};

static void norm_free(struct norm *n)
{
	billing__free(n->name);
	billing__free(n->sku);
	billing__free(n->description);
	billing__free(n->metadata_json);
}

static void check_range(billing__checks *c, const char *field, int64_t v, int64_t min,
	int64_t max)
{
	if (v < min || v > max)
		billing__check_fail(c, field, "must be between %lld and %lld", (long long)min,
			(long long)max);
}

/* Validates the members named by fields into n. creating: UNSET means the
 * default; on update a field bit asks for a value, so UNSET is an error. */
static int validate(const billing_product_params *p, unsigned int fields, bool creating,
	struct norm *n)
{
	billing__checks c = BILLING__CHECKS_INIT;
	int rc = BILLING_OK;

	memset(n, 0, sizeof(*n));
	if ((fields & BILLING_PRODUCT_NAME) &&
	    (rc = billing__check_text(&c, "name", p->name, BILLING__TEXT_REQUIRED, 1, 200,
		&n->name)) < 0)
		goto fail;
	if (fields & BILLING_PRODUCT_SKU) {
		if (!p->sku)
			billing__check_fail(&c, "sku", "is required");
		else if (!billing__sku_valid(p->sku, strlen(p->sku)))
			billing__check_fail(&c, "sku", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
		else if ((n->sku = billing__strdup(p->sku)) == NULL)
			goto nomem;
	}
	if ((fields & BILLING_PRODUCT_DESCRIPTION) &&
	    (rc = billing__check_text(&c, "description", p->description,
		BILLING__TEXT_MULTILINE, 0, 2000, &n->description)) < 0)
		goto fail;
	if (fields & BILLING_PRODUCT_PRICE)
		check_range(&c, "priceCents", p->price_cents, 0, BILLING_AMOUNT_MAX);
	if ((fields & BILLING_PRODUCT_CURRENCY) &&
	    billing_currency_normalize(n->currency, p->currency ? p->currency : "EUR") < 0)
		billing__check_fail(&c, "currency", "must be an ISO 4217 currency code");
	if ((fields & BILLING_PRODUCT_TAX_RATE) &&
	    (p->tax_rate_bp < 0 || p->tax_rate_bp >= BILLING_RATE_SCALE))
		billing__check_fail(&c, "taxRate", "must be at least 0 and below 1 "
			"(0 to 9999 basis points)");
	if (fields & BILLING_PRODUCT_ACTIVE) {
		if (p->is_active == BILLING_TRUE || (creating && p->is_active == BILLING_UNSET))
			n->is_active = 1;
		else if (p->is_active == BILLING_FALSE)
			n->is_active = 0;
		else
			billing__check_fail(&c, "isActive", "must be true or false");
	}
	if (fields & BILLING_PRODUCT_STOCK)
		check_range(&c, "stock", p->stock, 0, BILLING_AMOUNT_MAX);
	if (fields & BILLING_PRODUCT_LOW_STOCK_THRESHOLD)
		check_range(&c, "lowStockThreshold", p->low_stock_threshold, 0, BILLING_AMOUNT_MAX);
	if ((fields & BILLING_PRODUCT_METADATA) &&
	    (rc = billing__metadata_encode(&c, p->metadata, p->metadata_count,
		&n->metadata_json)) < 0)
		goto fail;
	if ((rc = billing__checks_finish(&c, "product")) < 0)
		goto fail;
	return BILLING_OK;
nomem:
	rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
fail:
	norm_free(n);
	return rc;
}

static int check_params(const billing_product_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_PRODUCT_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_product_params version %u", p->version);
	return BILLING_OK;
}

/* The digest input of an idempotent call: its normalized fields. Members
 * whose bit is not in fields are not hashed, so they cannot cause a
 * mismatch. */
static void hash_input(billing__buf *b, unsigned int fields, const billing_product_params *p,
	const struct norm *n, const char *id, int64_t expected_version)
{
	billing__buf_add(b, "id", id);
	billing__buf_add_i64(b, "fields", fields);
	billing__buf_add(b, "name", n->name);
	billing__buf_add(b, "sku", n->sku);
	billing__buf_add(b, "description", n->description);
	if (fields & BILLING_PRODUCT_PRICE)
		billing__buf_add_i64(b, "priceCents", p->price_cents);
	billing__buf_add(b, "currency", (fields & BILLING_PRODUCT_CURRENCY) ? n->currency : NULL);
	if (fields & BILLING_PRODUCT_TAX_RATE)
		billing__buf_add_i64(b, "taxRate", p->tax_rate_bp);
	if (fields & BILLING_PRODUCT_ACTIVE)
		billing__buf_add_i64(b, "isActive", n->is_active);
	if (fields & BILLING_PRODUCT_STOCK)
		billing__buf_add_i64(b, "stock", p->stock);
	if (fields & BILLING_PRODUCT_LOW_STOCK_THRESHOLD)
		billing__buf_add_i64(b, "lowStockThreshold", p->low_stock_threshold);
	billing__buf_add(b, "metadata", n->metadata_json);
	billing__buf_add_i64(b, "expectedVersion", expected_version);
}

static int64_t version_of(const void *item)
{
	return ((const billing_product *)item)->version;
}

static int st_get(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	return st->record_read(tx, &billing__res_product, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int st_insert(billing_storage *st, billing_txn *tx, const void *record)
{
	return st->record_insert(tx, &billing__res_product, record);
}

static int st_update(billing_storage *st, billing_txn *tx, const void *record,
	int64_t old_version)
{
	return st->record_update(tx, &billing__res_product, record, old_version);
}

static int st_remove(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const char *id)
{
	return st->record_delete(tx, &billing__res_product, tenant_id, id);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_product, tenant_id, q, cb, payload);
}

static const char *id_of(const void *item)
{
	return billing_product_id(item);
}

static const billing__entity entity = {
	"product", from_record, free_item, version_of, NULL,
	st_get, st_insert, st_update, st_remove, st_list,
	billing__json_product, id_of, NULL, NULL
};

static int product_create_once(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const billing_product_params *p,
	const billing_call_options *opts)
{
	billing_product_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct norm n;
	char id[BILLING_ID_MAX];
	int64_t now;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PRODUCTS_CREATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0 || (rc = validate(p, PRODUCT_FIELDS, true, &n)) < 0)
		return rc;
	hash_input(&input, PRODUCT_FIELDS, p, &n, NULL, 0);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_PRODUCTS_CREATE, &input)) < 0)
		goto out;
	now = billing__now(ctx);
	if (billing__id_new(id, "prod", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.tenant_id = who->tenant_id;
	r.id = id;
	r.name = n.name;
	r.sku = n.sku;
	r.description = n.description;
	r.price_cents = p->price_cents;
	r.currency = n.currency;
	r.tax_rate_bp = p->tax_rate_bp;
	r.is_active = n.is_active;
	r.stock = p->stock;
	r.low_stock_threshold = p->low_stock_threshold;
	r.metadata_json = n.metadata_json ? n.metadata_json : "{}";
	r.created_at = r.updated_at = now;
	r.version = 1;
	rc = billing__entity_create((void **)out, &entity, ctx, who->tenant_id, &idem, &r, id,
		NULL, NULL, NULL);
out:
	norm_free(&n);
	return rc;
}

int billing_product_create(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const billing_product_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(product_create_once(out, ctx, who, p, opts));
}

int billing_product_get(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return billing__entity_get((void **)out, &entity, ctx, who, BILLING_OP_PRODUCTS_GET,
		"prod", id);
}

/* What an update changes, for the step that builds its record. */
struct change {
	const billing_product_params *p;
	const struct norm *n;
};

static int build_update(void *payload, billing_ctx *ctx, billing_txn *tx,
	const void *current, void *record)
{
	const struct change *ch = payload;
	const billing_product_params *p = ch->p;
	const struct norm *n = ch->n;
	const billing_product *cur = current;
	billing_product_record *r = record;
	unsigned int f = p->fields;
	(void)tx;

	memset(r, 0, sizeof(*r));
	r->tenant_id = cur->tenant_id;
	r->id = cur->id;
	r->created_at = cur->created_at;
	r->updated_at = billing__now(ctx);
	r->version = cur->version + 1;
	r->name = (f & BILLING_PRODUCT_NAME) ? n->name : cur->name;
	r->sku = (f & BILLING_PRODUCT_SKU) ? n->sku : cur->sku;
	r->description = (f & BILLING_PRODUCT_DESCRIPTION) ? n->description : cur->description;
	r->price_cents = (f & BILLING_PRODUCT_PRICE) ? p->price_cents : cur->price_cents;
	r->currency = (f & BILLING_PRODUCT_CURRENCY) ? n->currency : cur->currency;
	r->tax_rate_bp = (f & BILLING_PRODUCT_TAX_RATE) ? p->tax_rate_bp : cur->tax_rate_bp;
	r->is_active = (f & BILLING_PRODUCT_ACTIVE) ? n->is_active : cur->is_active;
	r->stock = (f & BILLING_PRODUCT_STOCK) ? p->stock : cur->stock;
	r->low_stock_threshold = (f & BILLING_PRODUCT_LOW_STOCK_THRESHOLD) ?
		p->low_stock_threshold : cur->low_stock_threshold;
	r->metadata_json = (f & BILLING_PRODUCT_METADATA) ?
		(n->metadata_json ? n->metadata_json : "{}") : cur->metadata_json;
	return BILLING_OK;
}

static int product_update_once(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_product_params *p,
	const billing_call_options *opts)
{
	billing_product_record r;
	billing__buf input = { 0 };
	billing__idem idem;
	struct change ch;
	struct norm n;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PRODUCTS_UPDATE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_params(p)) < 0)
		return rc;
	if ((rc = billing__check_update(p->fields, PRODUCT_FIELDS, p->expected_version)) < 0 ||
	    (rc = validate(p, p->fields, false, &n)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, "prod")) {
		rc = billing__not_found("product");
		goto out;
	}
	hash_input(&input, p->fields, p, &n, id, p->expected_version);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_PRODUCTS_UPDATE, &input)) < 0)
		goto out;
	ch.p = p;
	ch.n = &n;
	rc = billing__entity_update((void **)out, &entity, ctx, who->tenant_id, id, &idem,
		p->expected_version, &r, build_update, &ch);
out:
	norm_free(&n);
	return rc;
}

int billing_product_update(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_product_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(product_update_once(out, ctx, who, id, p, opts));
}

/* A product goes only when no plan names it. Deleted plans count too:
 * they keep their product for the invoices that name them. */
static int check_unreferenced(void *payload, billing_ctx *ctx, billing_txn *tx,
	const void *current, void *record)
{
	const billing_product *cur = current;
	const billing_filter of_product = { billing_resource_field(&billing__res_plan, "product_id"),
		BILLING_FILTER_EQ, cur->id, 0, NULL };
	int64_t plans = 0;
	int rc;
	(void)payload;
	(void)record;

	if ((rc = billing__count_records(ctx->st, tx, &billing__res_plan, cur->tenant_id,
			&of_product, 1, 1, &plans)) < 0)
		return rc;
	if (plans > 0)
		return billing__error_set(BILLING_ECONFLICT, "referenced",
			"the product is referenced by %lld plan%s (deleted plans included)",
			(long long)plans, plans == 1 ? "" : "s");
	return BILLING_OK;
}

static int product_delete_once(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PRODUCTS_DELETE)) < 0 ||
	    (rc = billing__check_expected_version(expected_version)) < 0)
		return rc;
	if (!billing__id_arg_ok(id, "prod"))
		return billing__not_found("product");
	return billing__entity_delete(&entity, ctx, who->tenant_id, id, expected_version, NULL,
		check_unreferenced, NULL);
}

int billing_product_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	BILLING__RETRY(product_delete_once(ctx, who, id, expected_version));
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ "name", BILLING_SORT_NAME, true },
	{ "sku", BILLING_SORT_SKU, true },
	{ "priceCents", BILLING_SORT_PRICE, false },
	{ NULL, 0, false }
};

static int check_list_params(const billing_product_list_params *p)
{
	billing__checks c = BILLING__CHECKS_INIT;

	if (p->version == 0 || p->version > BILLING_PRODUCT_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_product_list_params version %u", p->version);
	if (p->has_min_price && p->min_price_cents < 0)
		billing__check_fail(&c, "minPriceCents", "must not be negative");
	if (p->has_max_price && p->max_price_cents < 0)
		billing__check_fail(&c, "maxPriceCents", "must not be negative");
	if (p->has_min_price && p->has_max_price && p->min_price_cents >= 0 &&
	    p->max_price_cents >= 0 && p->min_price_cents > p->max_price_cents)
		billing__check_fail(&c, "minPriceCents", "must not exceed maxPriceCents");
	if (p->is_active != BILLING_UNSET && p->is_active != BILLING_TRUE &&
	    p->is_active != BILLING_FALSE)
		billing__check_fail(&c, "isActive", "must be true, false or unset");
	return billing__checks_finish(&c, "product list");
}

int billing_product_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_product_list_params *params)
{
	billing_product_list_params none = BILLING_PRODUCT_LIST_PARAMS_INIT;
	const billing_product_list_params *p = params ? params : &none;
	char filters[128];
	billing__list l;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_PRODUCTS_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_list_params(p)) < 0)
		return rc;
	/* The filters in force, so that a cursor only works with them. */
	snprintf(filters, sizeof(filters), "products|min=%s%lld|max=%s%lld|active=%d",
		p->has_min_price ? "" : "-", p->has_min_price ? (long long)p->min_price_cents : 0LL,
		p->has_max_price ? "" : "-", p->has_max_price ? (long long)p->max_price_cents : 0LL,
		(int)p->is_active);
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, sorts, filters,
		BILLING__PAGE_PRODUCT, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = l.sort->column == BILLING_SORT_SKU ? sort_key_sku :
		l.sort->column == BILLING_SORT_PRICE ? sort_key_price : sort_key;
	l.q.active = p->is_active == BILLING_TRUE ? 1 : p->is_active == BILLING_FALSE ? 2 : 0;
	l.q.has_min_amount = p->has_min_price != 0;
	l.q.min_amount = p->min_price_cents;
	l.q.has_max_amount = p->has_max_price != 0;
	l.q.max_amount = p->max_price_cents;
	return billing__entity_list(out, &entity, &l, ctx, who->tenant_id);
}

const billing_product *billing_page_product(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_PRODUCT, i);
}

const char *billing_product_id(const billing_product *p) { return p ? p->id : NULL; }
const char *billing_product_tenant_id(const billing_product *p) { return p ? p->tenant_id : NULL; }
const char *billing_product_name(const billing_product *p) { return p ? p->name : NULL; }
const char *billing_product_sku(const billing_product *p) { return p ? p->sku : NULL; }
const char *billing_product_description(const billing_product *p)
{
	return p ? p->description : NULL;
}
int64_t billing_product_price_cents(const billing_product *p) { return p ? p->price_cents : 0; }
const char *billing_product_currency(const billing_product *p) { return p ? p->currency : NULL; }
int32_t billing_product_tax_rate_bp(const billing_product *p) { return p ? p->tax_rate_bp : 0; }
int billing_product_is_active(const billing_product *p) { return p ? p->is_active : 0; }
int64_t billing_product_stock(const billing_product *p) { return p ? p->stock : 0; }
int64_t billing_product_low_stock_threshold(const billing_product *p)
{
	return p ? p->low_stock_threshold : 0;
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
int64_t billing_product_created_at(const billing_product *p) { return p ? p->created_at : 0; }
int64_t billing_product_updated_at(const billing_product *p) { return p ? p->updated_at : 0; }
int64_t billing_product_version(const billing_product *p) { return p ? p->version : 0; }
