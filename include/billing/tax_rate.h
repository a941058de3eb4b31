/**
 * @file billing/tax_rate.h
 * @brief Tax rates of a tenant (ids "txr_..."), as in Stripe.
 *
 * Rules: display_name 1..50 characters after trimming, no control
 * characters; percentage from 0 to 100 with at most 4 decimal places,
 * given as an integer in ten-thousandths of a percent (7.25 % is 72500,
 * 100 % is 1000000); inclusive (the tax is part of the price) or
 * exclusive (added to it); country an ISO 3166-1 alpha-2 code (upper-cased;
 * optional), region a state or province of it (1..100 characters; only
 * with a country); description up to 500 characters; metadata a string map
 * (see billing_metadata_entry); active unless archived.
 *
 * percentage and inclusive are fixed at creation: invoices keep pointing
 * at a tax rate, so a different rate is a new tax rate. For the same
 * reason a tax rate is never deleted: it is archived (active false) and
 * can be made active again.
 *
 * Every change writes the event "tax_rate.created" or "tax_rate.updated"
 * (data: the tax rate's JSON) and an audit row.
 */
#ifndef BILLING_TAX_RATE_H
#define BILLING_TAX_RATE_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_tax_rate billing_tax_rate;

/** Field bits for billing_tax_rate_params.fields (updates). */
enum {
	BILLING_TAX_RATE_DISPLAY_NAME = 1u << 0,
	BILLING_TAX_RATE_DESCRIPTION = 1u << 1,
	BILLING_TAX_RATE_PERCENTAGE = 1u << 2,  /**< fixed: an update of it is refused */
	BILLING_TAX_RATE_INCLUSIVE = 1u << 3,   /**< fixed: an update of it is refused */
	BILLING_TAX_RATE_COUNTRY = 1u << 4,
	BILLING_TAX_RATE_REGION = 1u << 5,
	BILLING_TAX_RATE_ACTIVE = 1u << 6,
	BILLING_TAX_RATE_METADATA = 1u << 7
};

#define BILLING_TAX_RATE_PARAMS_VERSION 1

/**
 * Input of create and update. On create every member is used (NULL /
 * BILLING_UNSET means absent; percentage is always used). On update only
 * the members whose bit is set in fields change, so a bit with a NULL value
 * clears an optional field.
 */
typedef struct {
	unsigned int version;            /**< BILLING_TAX_RATE_PARAMS_VERSION */
	unsigned int fields;             /**< update: BILLING_TAX_RATE_* bits */
	const char *display_name;        /**< required on create */
	const char *description;         /**< optional */
	int64_t percentage;              /**< create: 0..1000000 (10^-4 percent) */
	billing_tristate inclusive;      /**< required on create */
	const char *country;             /**< optional: "DE" */
	const char *region;              /**< optional, needs a country: "BY" */
	billing_tristate active;         /**< UNSET on create: active */
	const billing_metadata_entry *metadata;
	size_t metadata_count;
	int64_t expected_version;        /**< update: 0 = any; else must match */
} billing_tax_rate_params;

#define BILLING_TAX_RATE_PARAMS_INIT \
	{ BILLING_TAX_RATE_PARAMS_VERSION, 0, 0, 0, 0, BILLING_UNSET, 0, 0, BILLING_UNSET, 0, 0, 0 }

/**
 * Creates a tax rate.
 * @param out receives the new tax rate (caller frees with billing_tax_rate_free)
 * @param opts idempotency key and request id; NULL for none
 * @return BILLING_OK; BILLING_EFORBIDDEN (not ADMIN); BILLING_EINVALID with
 *         field errors ("displayName", "percentage", "inclusive", "country",
 *         "region", "description", "metadata"); BILLING_ECONFLICT on an
 *         idempotency mismatch; BILLING_ESTORAGE / BILLING_EBUSY
 */
BILLING_EXTERN(int) billing_tax_rate_create(billing_tax_rate **out, billing_ctx *ctx,
	const billing_principal *who, const billing_tax_rate_params *params,
	const billing_call_options *opts);

/** Fetches a tax rate (active or not); BILLING_ENOTFOUND when the id names
 *  nothing in the principal's tenant (another tenant's id included). */
BILLING_EXTERN(int) billing_tax_rate_get(billing_tax_rate **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

/**
 * Changes the fields named in params->fields.
 * @return as create, plus BILLING_ENOTFOUND; BILLING_ESTALE when
 *         params->expected_version is set and differs; BILLING_EINVALID
 *         when no field bit is set, and naming "percentage" or "inclusive"
 *         when their bit is set (fixed at creation)
 */
BILLING_EXTERN(int) billing_tax_rate_update(billing_tax_rate **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_tax_rate_params *params,
	const billing_call_options *opts);

#define BILLING_TAX_RATE_LIST_PARAMS_VERSION 1

/** Filters of billing_tax_rate_list; unset members filter nothing. */
typedef struct {
	unsigned int version;            /**< BILLING_TAX_RATE_LIST_PARAMS_VERSION */
	billing_list_params list;
	billing_tristate active;
	billing_tristate inclusive;
	const char *country;             /**< exact, upper-case: "DE" */
} billing_tax_rate_list_params;

#define BILLING_TAX_RATE_LIST_PARAMS_INIT \
	{ BILLING_TAX_RATE_LIST_PARAMS_VERSION, BILLING_LIST_PARAMS_INIT, BILLING_UNSET, \
	  BILLING_UNSET, 0 }

/** Lists tax rates. search matches displayName or description; sort_by
 *  "createdAt", "displayName" or "percentage". params may be NULL. Items
 *  via billing_page_tax_rate(). */
BILLING_EXTERN(int) billing_tax_rate_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_tax_rate_list_params *params);

/** Item i of a tax rate page (borrowed); NULL when out of range or the page
 *  holds something else. */
BILLING_EXTERN(const billing_tax_rate *) billing_page_tax_rate(const billing_page *page, size_t i);

BILLING_EXTERN(const char *) billing_tax_rate_id(const billing_tax_rate *t);
BILLING_EXTERN(const char *) billing_tax_rate_tenant_id(const billing_tax_rate *t);
BILLING_EXTERN(const char *) billing_tax_rate_display_name(const billing_tax_rate *t);
/** NULL when none is set. */
BILLING_EXTERN(const char *) billing_tax_rate_description(const billing_tax_rate *t);
/** In ten-thousandths of a percent: 72500 is 7.25 %. */
BILLING_EXTERN(int64_t) billing_tax_rate_percentage(const billing_tax_rate *t);
/** 1 when the tax is included in the price, else 0. */
BILLING_EXTERN(int) billing_tax_rate_inclusive(const billing_tax_rate *t);
/** NULL when none is set. */
BILLING_EXTERN(const char *) billing_tax_rate_country(const billing_tax_rate *t);
/** NULL when none is set. */
BILLING_EXTERN(const char *) billing_tax_rate_region(const billing_tax_rate *t);
/** 1 when active, 0 when archived. */
BILLING_EXTERN(int) billing_tax_rate_active(const billing_tax_rate *t);
/** The metadata as a canonical JSON object of strings, keys in byte order
 *  ("{}" when empty). Borrowed. */
BILLING_EXTERN(const char *) billing_tax_rate_metadata_json(const billing_tax_rate *t);
BILLING_EXTERN(size_t) billing_tax_rate_metadata_count(const billing_tax_rate *t);
/** Entry i, keys in byte order. Borrowed. */
BILLING_EXTERN(const billing_metadata_entry *) billing_tax_rate_metadata_at(const billing_tax_rate *t, size_t i);
/** The value for key, or NULL. Borrowed. */
BILLING_EXTERN(const char *) billing_tax_rate_metadata_get(const billing_tax_rate *t, const char *key);
BILLING_EXTERN(int64_t) billing_tax_rate_created_at(const billing_tax_rate *t);
BILLING_EXTERN(int64_t) billing_tax_rate_updated_at(const billing_tax_rate *t);
/** Starts at 1, +1 on every update. */
BILLING_EXTERN(int64_t) billing_tax_rate_version(const billing_tax_rate *t);
/** Accepts NULL. */
BILLING_EXTERN(void) billing_tax_rate_free(billing_tax_rate *t);

BILLING_END_DECL

/** How invoices round their taxes (issue #22; docs/billing.md, "Taxes").
 *  A tenant's setting, LINE unless set. */
typedef enum {
	BILLING_TAX_ROUNDING_LINE = 0,    /**< each line's tax rounded on its own */
	BILLING_TAX_ROUNDING_INVOICE = 1  /**< per invoice per rate (EU invoices) */
} billing_tax_rounding;

/** The tenant's tax rounding rule. */
BILLING_EXTERN(int) billing_tax_settings_get(billing_tax_rounding *rounding, billing_ctx *ctx,
	const billing_principal *who);
/** Sets it (ADMIN; audited) for the invoices computed from now on: invoices
 *  already finalized keep their taxes.
 *  @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID (taxRounding) */
BILLING_EXTERN(int) billing_tax_settings_set(billing_ctx *ctx, const billing_principal *who,
	billing_tax_rounding rounding);

#endif
