/**
 * @file billing/product.h
 * @brief Products of a tenant's catalog.
 *
 * Rules: name 1..200 characters; sku [A-Za-z0-9._-]{1,64}, unique in the
 * tenant; description optional, at most 2000 characters; price >= 0 minor
 * units (at most BILLING_AMOUNT_MAX); currency ISO 4217 (default EUR);
 * tax rate in basis points, 0 <= rate < 10000 (that is 0 <= r < 1 with at
 * most four decimal places); stock and low-stock threshold >= 0.
 * A product cannot be deleted while any plan, deleted or not, references it.
 */
#ifndef BILLING_PRODUCT_H
#define BILLING_PRODUCT_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_product billing_product;

enum {
	BILLING_PRODUCT_NAME = 1u << 0,
	BILLING_PRODUCT_SKU = 1u << 1,
	BILLING_PRODUCT_DESCRIPTION = 1u << 2,
	BILLING_PRODUCT_PRICE = 1u << 3,
	BILLING_PRODUCT_CURRENCY = 1u << 4,
	BILLING_PRODUCT_TAX_RATE = 1u << 5,
	BILLING_PRODUCT_ACTIVE = 1u << 6,
	BILLING_PRODUCT_STOCK = 1u << 7,
	BILLING_PRODUCT_LOW_STOCK_THRESHOLD = 1u << 8,
	BILLING_PRODUCT_METADATA = 1u << 9
};

#define BILLING_PRODUCT_PARAMS_VERSION 1

/** Input of create and update; see billing_customer_params for the rule on
 *  fields. On create, zero values are the defaults (active, EUR, 0). */
typedef struct {
	unsigned int version;          /**< BILLING_PRODUCT_PARAMS_VERSION */
	unsigned int fields;           /**< update: BILLING_PRODUCT_* bits */
	const char *name;              /**< required on create */
	const char *sku;               /**< required on create */
	const char *description;       /**< NULL: none */
	int64_t price_cents;           /**< minor units of currency */
	const char *currency;          /**< NULL: "EUR"; any case */
	int32_t tax_rate_bp;           /**< basis points: 2000 = 0.2 */
	billing_tristate is_active;    /**< UNSET on create: active */
	int64_t stock;
	int64_t low_stock_threshold;
	const billing_metadata_entry *metadata;
	size_t metadata_count;
	int64_t expected_version;      /**< update: 0 = any */
} billing_product_params;

#define BILLING_PRODUCT_PARAMS_INIT { BILLING_PRODUCT_PARAMS_VERSION, 0, 0, 0, 0, 0, 0, 0, \
	BILLING_UNSET, 0, 0, 0, 0, 0 }

#define BILLING_PRODUCT_LIST_PARAMS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_PRODUCT_LIST_PARAMS_VERSION */
	billing_list_params list;      /**< sort_by "createdAt", "name", "sku", "priceCents" */
	int has_min_price;
	int64_t min_price_cents;
	int has_max_price;
	int64_t max_price_cents;
	billing_tristate is_active;
} billing_product_list_params;

#define BILLING_PRODUCT_LIST_PARAMS_INIT { BILLING_PRODUCT_LIST_PARAMS_VERSION, \
	BILLING_LIST_PARAMS_INIT, 0, 0, 0, 0, BILLING_UNSET }

/** @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID; BILLING_EEXISTS
 *  (field "sku"); BILLING_ECONFLICT (idempotency); BILLING_ESTORAGE */
BILLING_EXTERN(int) billing_product_create(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const billing_product_params *params,
	const billing_call_options *opts);

BILLING_EXTERN(int) billing_product_get(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

/** @return as create, plus BILLING_ENOTFOUND and BILLING_ESTALE */
BILLING_EXTERN(int) billing_product_update(billing_product **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_product_params *params,
	const billing_call_options *opts);

/** @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ESTALE; BILLING_ECONFLICT
 *  (reason "referenced") while any plan, deleted or not, references it */
BILLING_EXTERN(int) billing_product_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version);

BILLING_EXTERN(int) billing_product_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_product_list_params *params);

BILLING_EXTERN(const billing_product *) billing_page_product(const billing_page *page, size_t i);

BILLING_EXTERN(const char *) billing_product_id(const billing_product *p);
BILLING_EXTERN(const char *) billing_product_tenant_id(const billing_product *p);
BILLING_EXTERN(const char *) billing_product_name(const billing_product *p);
BILLING_EXTERN(const char *) billing_product_sku(const billing_product *p);
/** NULL when there is none (never turned into ""). */
BILLING_EXTERN(const char *) billing_product_description(const billing_product *p);
BILLING_EXTERN(int64_t) billing_product_price_cents(const billing_product *p);
BILLING_EXTERN(const char *) billing_product_currency(const billing_product *p);
BILLING_EXTERN(int32_t) billing_product_tax_rate_bp(const billing_product *p);
BILLING_EXTERN(int) billing_product_is_active(const billing_product *p);
BILLING_EXTERN(int64_t) billing_product_stock(const billing_product *p);
BILLING_EXTERN(int64_t) billing_product_low_stock_threshold(const billing_product *p);
BILLING_EXTERN(size_t) billing_product_metadata_count(const billing_product *p);
BILLING_EXTERN(const billing_metadata_entry *) billing_product_metadata_at(const billing_product *p, size_t i);
BILLING_EXTERN(const char *) billing_product_metadata_get(const billing_product *p, const char *key);
BILLING_EXTERN(int64_t) billing_product_created_at(const billing_product *p);
BILLING_EXTERN(int64_t) billing_product_updated_at(const billing_product *p);
BILLING_EXTERN(int64_t) billing_product_version(const billing_product *p);
BILLING_EXTERN(void) billing_product_free(billing_product *p);

BILLING_END_DECL

#endif
