/**
 * @file billing/plan.h
 * @brief Plans: what a subscription pays, how often, for which product.
 *
 * Rules: code ^[A-Z0-9_-]{3,64}$, unique in the tenant including deleted
 * plans (a deleted plan's code stays reserved); name 2..100 characters;
 * description at most 2000; product of the same tenant, fixed after
 * creation; amount > 0 minor units; currency ISO 4217 (default: the
 * product's); interval DAY, WEEK, MONTH or YEAR times interval_count >= 1
 * (at most three years in all); trial days 0..730; optional term count
 * 1..1000 (periods until a subscription expires).
 * Code, product, currency, interval, interval count and term count are
 * fixed at creation; name, description, amount, trial days, active and
 * metadata may change (a new amount applies from the next period).
 * Delete is soft: the plan disappears (BILLING_ENOTFOUND) but its code
 * stays taken.
 */
#ifndef BILLING_PLAN_H
#define BILLING_PLAN_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_plan billing_plan;

typedef enum {
	BILLING_INTERVAL_NONE = 0,
	BILLING_DAY = 1,
	BILLING_WEEK = 2,
	BILLING_MONTH = 3,
	BILLING_YEAR = 4
} billing_interval;

/** "DAY", "WEEK", "MONTH", "YEAR"; NULL otherwise. */
BILLING_EXTERN(const char *) billing_interval_name(billing_interval interval);
/** Parses the names above (exact case); BILLING_OK or BILLING_EINVALID. */
BILLING_EXTERN(int) billing_interval_parse(billing_interval *out, const char *name);

enum {
	BILLING_PLAN_PRODUCT = 1u << 0,
	BILLING_PLAN_CODE = 1u << 1,
	BILLING_PLAN_NAME = 1u << 2,
	BILLING_PLAN_DESCRIPTION = 1u << 3,
	BILLING_PLAN_AMOUNT = 1u << 4,
	BILLING_PLAN_CURRENCY = 1u << 5,
	BILLING_PLAN_INTERVAL = 1u << 6,
	BILLING_PLAN_INTERVAL_COUNT = 1u << 7,
	BILLING_PLAN_TRIAL_DAYS = 1u << 8,
	BILLING_PLAN_TERM_COUNT = 1u << 9,
	BILLING_PLAN_ACTIVE = 1u << 10,
	BILLING_PLAN_METADATA = 1u << 11,
	BILLING_PLAN_DEFAULT_TAX_RATES = 1u << 12  /**< version 2 */
};

#define BILLING_PLAN_PARAMS_VERSION 2

typedef struct {
	unsigned int version;          /**< BILLING_PLAN_PARAMS_VERSION */
	unsigned int fields;           /**< update: BILLING_PLAN_* bits */
	const char *product_id;        /**< required on create */
	const char *code;              /**< required on create */
	const char *name;              /**< required on create */
	const char *description;       /**< NULL: none */
	int64_t amount;                /**< > 0 minor units */
	const char *currency;          /**< NULL: the product's currency */
	billing_interval interval;     /**< required on create */
	int32_t interval_count;        /**< 0 on create: 1 */
	int32_t trial_days;
	int32_t term_count;            /**< 0: no fixed term */
	billing_tristate active;       /**< UNSET on create: active */
	const billing_metadata_entry *metadata;
	size_t metadata_count;
	int64_t expected_version;      /**< update: 0 = any */
	/** Version 2 (issue #22): the plan's default tax rates, ids of the
	 *  tenant's active tax rates (txr_...), at most 5, at most one
	 *  inclusive (copied). A subscription's own replace them; with none,
	 *  the product's taxRate applies. On update, with the bit
	 *  BILLING_PLAN_DEFAULT_TAX_RATES; a count of 0 clears them. */
	const char *const *default_tax_rates;
	size_t default_tax_rate_count;
} billing_plan_params;

#define BILLING_PLAN_PARAMS_INIT { BILLING_PLAN_PARAMS_VERSION, 0, 0, 0, 0, 0, 0, 0, \
	BILLING_INTERVAL_NONE, 0, 0, 0, BILLING_UNSET, 0, 0, 0, 0, 0 }

#define BILLING_PLAN_LIST_PARAMS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_PLAN_LIST_PARAMS_VERSION */
	billing_list_params list;      /**< sort_by "createdAt", "name", "code", "amount" */
	billing_tristate active;
	const char *currency;          /**< NULL: any */
	const char *product_id;        /**< NULL: any */
} billing_plan_list_params;

#define BILLING_PLAN_LIST_PARAMS_INIT { BILLING_PLAN_LIST_PARAMS_VERSION, \
	BILLING_LIST_PARAMS_INIT, BILLING_UNSET, 0, 0 }

/** @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID (a product id
 *  naming nothing in the tenant: field "productId", reason
 *  "resource_missing"); BILLING_EEXISTS (field "code"); BILLING_ESTORAGE */
BILLING_EXTERN(int) billing_plan_create(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const billing_plan_params *params,
	const billing_call_options *opts);

/** Deleted plans are BILLING_ENOTFOUND. */
BILLING_EXTERN(int) billing_plan_get(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

/** @return as create, plus BILLING_ENOTFOUND, BILLING_ESTALE; changing a
 *  fixed field is BILLING_EINVALID naming it */
BILLING_EXTERN(int) billing_plan_update(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_plan_params *params,
	const billing_call_options *opts);

/** Soft delete: sets deleted_at and active = false.
 *  @return BILLING_OK; BILLING_ENOTFOUND; BILLING_ESTALE; BILLING_ECONFLICT
 *  (reason "referenced") while live subscriptions use it */
BILLING_EXTERN(int) billing_plan_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version);

/** Deleted plans are never listed. */
BILLING_EXTERN(int) billing_plan_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_plan_list_params *params);

BILLING_EXTERN(const billing_plan *) billing_page_plan(const billing_page *page, size_t i);

BILLING_EXTERN(const char *) billing_plan_id(const billing_plan *p);
BILLING_EXTERN(const char *) billing_plan_tenant_id(const billing_plan *p);
BILLING_EXTERN(const char *) billing_plan_product_id(const billing_plan *p);
BILLING_EXTERN(const char *) billing_plan_code(const billing_plan *p);
BILLING_EXTERN(const char *) billing_plan_name(const billing_plan *p);
BILLING_EXTERN(const char *) billing_plan_description(const billing_plan *p);
BILLING_EXTERN(int64_t) billing_plan_amount(const billing_plan *p);
BILLING_EXTERN(const char *) billing_plan_currency(const billing_plan *p);
BILLING_EXTERN(billing_interval) billing_plan_interval(const billing_plan *p);
BILLING_EXTERN(int32_t) billing_plan_interval_count(const billing_plan *p);
BILLING_EXTERN(int32_t) billing_plan_trial_days(const billing_plan *p);
/** 0 when the plan has no fixed term. */
BILLING_EXTERN(int32_t) billing_plan_term_count(const billing_plan *p);
BILLING_EXTERN(int) billing_plan_active(const billing_plan *p);
BILLING_EXTERN(size_t) billing_plan_metadata_count(const billing_plan *p);
BILLING_EXTERN(const billing_metadata_entry *) billing_plan_metadata_at(const billing_plan *p, size_t i);
BILLING_EXTERN(const char *) billing_plan_metadata_get(const billing_plan *p, const char *key);
BILLING_EXTERN(int64_t) billing_plan_created_at(const billing_plan *p);
BILLING_EXTERN(int64_t) billing_plan_updated_at(const billing_plan *p);
BILLING_EXTERN(int64_t) billing_plan_version(const billing_plan *p);
/** The plan's default tax rates, a JSON array of txr_ ids, borrowed; NULL
 *  when none (issue #22). */
BILLING_EXTERN(const char *) billing_plan_default_tax_rates(const billing_plan *p);
BILLING_EXTERN(void) billing_plan_free(billing_plan *p);

BILLING_END_DECL

#endif
