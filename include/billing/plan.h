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
	BILLING_PLAN_DEFAULT_TAX_RATES = 1u << 12,  /**< version 2 */
	/** Version 3: billing_scheme, tiers_mode, tiers, transform_*,
	 *  usage_type and meter_id. Fixed at creation, so an update naming it
	 *  is BILLING_EINVALID naming "billingScheme". */
	BILLING_PLAN_PRICE = 1u << 13
};

/** How a plan prices a quantity (docs/billing.md "Price models"); JSON's
 *  billingScheme. */
typedef enum {
	BILLING_SCHEME_PER_UNIT = 0,   /**< "perUnit": amount x quantity (packages: transform_*) */
	BILLING_SCHEME_TIERED = 1      /**< "tiered": by tiers, in tiers_mode */
} billing_price_scheme;

/** JSON's tiersMode. */
typedef enum {
	BILLING_TIERS_NONE = 0,        /**< per-unit plans */
	BILLING_TIERS_GRADUATED = 1,   /**< "graduated": each unit at the tier it falls in */
	BILLING_TIERS_VOLUME = 2       /**< "volume": every unit at the tier the total reaches */
} billing_tiers_mode;

/** JSON's usageType. */
typedef enum {
	BILLING_USAGE_LICENSED = 0,    /**< "licensed": the subscription item's quantity */
	BILLING_USAGE_METERED = 1      /**< "metered": what the plan's meter aggregated over the
	                                    period (issue #23) */
} billing_usage_type;

/** How a partial package of a per-unit plan with transform_divide_by is
 *  counted (JSON's transformQuantity.round). */
typedef enum {
	BILLING_PACKAGE_ROUND_UP = 0,
	BILLING_PACKAGE_ROUND_DOWN = 1
} billing_package_round;

/** One tier of a tiered plan; JSON's {upTo, unitAmount | unitAmountDecimal,
 *  flatAmount}. */
typedef struct {
	int64_t up_to;                   /**< the tier's last quantity, ascending; 0:
	                                      open-ended (JSON null), only the last tier */
	int64_t unit_amount;             /**< minor units per unit; ignored with a decimal */
	const char *unit_amount_decimal; /**< NULL, or minor units per unit as a decimal
	                                      string with at most 12 places ("0.25"), as
	                                      Stripe's unit_amount_decimal */
	int64_t flat_amount;             /**< minor units for reaching the tier; 0: none */
} billing_price_tier;

#define BILLING_PLAN_PARAMS_VERSION 3

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
	/** Version 3 (issue #21): the price model, fixed at creation. The same
	 *  rules as JSON's billingScheme, tiersMode, tiers, transformQuantity,
	 *  usageType and meterId, with the same errors naming those fields
	 *  ("tiers[1].upTo", "transformQuantity.divideBy"). A tiered plan has
	 *  no amount (leave it 0). Callers of versions 1 and 2 get a licensed
	 *  per-unit plan. */
	billing_price_scheme billing_scheme;
	billing_tiers_mode tiers_mode;     /**< required iff tiered */
	const billing_price_tier *tiers;   /**< tiered: 1..50 tiers (copied) */
	size_t tier_count;
	int64_t transform_divide_by;       /**< per unit: priced by packages of this many
	                                        units (1..10^9); 0: no packages */
	billing_package_round transform_round; /**< with transform_divide_by */
	billing_usage_type usage_type;
	const char *meter_id;              /**< metered: a meter of the tenant (mtr_...) */
} billing_plan_params;

#define BILLING_PLAN_PARAMS_INIT { BILLING_PLAN_PARAMS_VERSION, 0, 0, 0, 0, 0, 0, 0, \
	BILLING_INTERVAL_NONE, 0, 0, 0, BILLING_UNSET, 0, 0, 0, 0, 0, BILLING_SCHEME_PER_UNIT, \
	BILLING_TIERS_NONE, 0, 0, 0, BILLING_PACKAGE_ROUND_UP, BILLING_USAGE_LICENSED, 0 }

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
/** The price model (fixed at creation; issue #21). A tiered plan's amount
 *  is 0. Every plan answers these, whichever params version made it. */
BILLING_EXTERN(billing_price_scheme) billing_plan_billing_scheme(const billing_plan *p);
BILLING_EXTERN(billing_tiers_mode) billing_plan_tiers_mode(const billing_plan *p);
BILLING_EXTERN(size_t) billing_plan_tier_count(const billing_plan *p);
/** Tier i, borrowed (its unit_amount_decimal too, written without trailing
 *  zeros) until billing_plan_free; NULL past the last. */
BILLING_EXTERN(const billing_price_tier *) billing_plan_tier_at(const billing_plan *p, size_t i);
/** Packages: their size, 0 when the plan is not sold in packages. */
BILLING_EXTERN(int64_t) billing_plan_transform_divide_by(const billing_plan *p);
/** Packages' rounding; BILLING_PACKAGE_ROUND_UP when there are none. */
BILLING_EXTERN(billing_package_round) billing_plan_transform_round(const billing_plan *p);
BILLING_EXTERN(billing_usage_type) billing_plan_usage_type(const billing_plan *p);
/** A metered plan's meter id, borrowed; NULL otherwise. */
BILLING_EXTERN(const char *) billing_plan_meter_id(const billing_plan *p);
BILLING_EXTERN(void) billing_plan_free(billing_plan *p);

BILLING_END_DECL

#endif
