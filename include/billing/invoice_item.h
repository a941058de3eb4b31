/**
 * @file billing/invoice_item.h
 * @brief Invoice items (ids "ii_..."): one-off charges, as in Stripe.
 *
 * An item is a charge for a customer outside its plan (a setup fee, an
 * extra): amount, or unit_amount x quantity (overflow checked), in a
 * currency, with an optional period and, optionally, its own tax rates
 * (they replace the invoice's defaults for its line; docs/billing.md
 * "Taxes on invoices"). It waits (invoice id NULL)
 * until an invoice takes it: its subscription's next invoice when it names
 * a subscription (the renewal, or the renewal's draft while the tenant
 * keeps renewals as drafts, billing/tenant.h), else the customer's next
 * draft invoice in its currency (billing_invoice_create), or the draft it
 * names. While it waits or is on a draft it may change or be deleted, and
 * the draft's lines and totals follow in the same transaction; once its
 * invoice is finalized it is fixed (BILLING_ECONFLICT
 * "invoice_item_invoiced").
 *
 * Rules: customer_id a customer of the tenant (fixed); subscription_id a
 * live subscription of that customer in the item's currency (fixed);
 * invoice_id a draft of the customer in the item's currency; description
 * 1..500 characters after trimming; currency ISO 4217 (fixed); amount any
 * int64 (negative: a credit), or unit_amount x quantity with quantity
 * 1..1000000 (default 1), never both; period_start and period_end both or
 * neither, the end not before the start; metadata a string map.
 *
 * Every change writes the event "invoice_item.created", ".updated" or
 * ".deleted" (data: the item's JSON) and an audit row. These are the
 * typed calls of the JSON operations invoice_items.* and of
 * /v1/invoice-items.
 */
#ifndef BILLING_INVOICE_ITEM_H
#define BILLING_INVOICE_ITEM_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_invoice_item billing_invoice_item;

/** Field bits for billing_invoice_item_params.fields. */
enum {
	BILLING_INVOICE_ITEM_INVOICE = 1u << 0,      /**< invoice_id (NULL: waiting again) */
	BILLING_INVOICE_ITEM_DESCRIPTION = 1u << 1,
	BILLING_INVOICE_ITEM_AMOUNT = 1u << 2,
	BILLING_INVOICE_ITEM_UNIT_AMOUNT = 1u << 3,
	BILLING_INVOICE_ITEM_QUANTITY = 1u << 4,
	BILLING_INVOICE_ITEM_PERIOD = 1u << 5,       /**< period_start and period_end */
	BILLING_INVOICE_ITEM_METADATA = 1u << 6,
	BILLING_INVOICE_ITEM_TAX_RATES = 1u << 7     /**< version 2: tax_rates */
};

#define BILLING_INVOICE_ITEM_PARAMS_VERSION 2

/**
 * Input of create and update. Create uses customer_id, subscription_id,
 * currency, description, invoice_id (each NULL when absent) and the
 * amounts: each of amount, unit_amount and quantity that is not 0 is
 * given (amount, or unit_amount x quantity: both is BILLING_EINVALID
 * "amount"; none is an amount of 0); metadata when metadata_count is not
 * 0. A bit of fields on create marks a member as given even when it is 0. Update changes only the members whose bit is set in
 * fields (customer, subscription and currency are fixed).
 */
typedef struct {
	unsigned int version;            /**< BILLING_INVOICE_ITEM_PARAMS_VERSION */
	unsigned int fields;             /**< BILLING_INVOICE_ITEM_* bits */
	const char *customer_id;         /**< create: required */
	const char *subscription_id;     /**< create: optional */
	const char *invoice_id;          /**< a draft invoice; NULL: waiting */
	const char *description;         /**< create: required */
	const char *currency;            /**< create: required ("EUR") */
	int64_t amount;                  /**< minor units, before tax */
	int64_t unit_amount;             /**< minor units per unit */
	int32_t quantity;                /**< 0: 1 on create */
	int64_t period_start;            /**< UTC seconds; 0 with period_end 0: none */
	int64_t period_end;
	const billing_metadata_entry *metadata;
	size_t metadata_count;
	int64_t expected_version;        /**< update: 0 = any; else must match */
	/** Version 2 (issue #22): the tax rates of the item's line (ids of the
	 *  tenant's active tax rates, txr_..., at most 5, at most one
	 *  inclusive), used in place of the draft invoice's, the
	 *  subscription's or the plan's defaultTaxRates. Create: given when
	 *  tax_rate_count is not 0 (or the bit is set); update: with
	 *  BILLING_INVOICE_ITEM_TAX_RATES, a count of 0 clears them. */
	const char *const *tax_rates;
	size_t tax_rate_count;
} billing_invoice_item_params;

#define BILLING_INVOICE_ITEM_PARAMS_INIT \
	{ BILLING_INVOICE_ITEM_PARAMS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Creates an invoice item. ADMIN.
 * @param out receives the new item (caller frees with billing_invoice_item_free)
 * @param opts idempotency key and request id; NULL for none
 * @return BILLING_OK; BILLING_EFORBIDDEN (not ADMIN); BILLING_EINVALID
 *         with field errors ("customerId", "subscriptionId", "invoiceId",
 *         "description", "currency", "amount", "unitAmount", "quantity",
 *         "periodEnd", "metadata", "taxRates" (reason "resource_missing" for
 *         an id that names no active tax rate of the tenant), "version");
 *         BILLING_ECONFLICT on an
 *         idempotency mismatch; BILLING_ESTORAGE / BILLING_EBUSY
 */
BILLING_EXTERN(int) billing_invoice_item_create(billing_invoice_item **out, billing_ctx *ctx,
	const billing_principal *who, const billing_invoice_item_params *params,
	const billing_call_options *opts);

/** Fetches an item. USER and ADMIN. BILLING_ENOTFOUND when the id names
 *  nothing in the principal's tenant. */
BILLING_EXTERN(int) billing_invoice_item_get(billing_invoice_item **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

/**
 * Changes the members named in params->fields. ADMIN.
 * @return as create, plus BILLING_ENOTFOUND; BILLING_ESTALE when
 *         params->expected_version is set and differs; BILLING_EINVALID
 *         when no field bit is set or an unknown one is; BILLING_ECONFLICT
 *         "invoice_item_invoiced" once its invoice is finalized
 */
BILLING_EXTERN(int) billing_invoice_item_update(billing_invoice_item **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_invoice_item_params *params,
	const billing_call_options *opts);

/**
 * Deletes an item that waits or is on a draft (the draft's lines follow).
 * ADMIN. expected_version: 0 = any.
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_ENOTFOUND; BILLING_ESTALE;
 *         BILLING_ECONFLICT "invoice_item_invoiced" once its invoice is
 *         finalized
 */
BILLING_EXTERN(int) billing_invoice_item_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version);

#define BILLING_INVOICE_ITEM_LIST_PARAMS_VERSION 1

/** Filters of billing_invoice_item_list; NULL members filter nothing. */
typedef struct {
	unsigned int version;            /**< BILLING_INVOICE_ITEM_LIST_PARAMS_VERSION */
	billing_list_params list;
	const char *customer_id;
	const char *subscription_id;
	const char *invoice_id;
	const char *currency;            /**< upper-case: "EUR" */
} billing_invoice_item_list_params;

#define BILLING_INVOICE_ITEM_LIST_PARAMS_INIT \
	{ BILLING_INVOICE_ITEM_LIST_PARAMS_VERSION, BILLING_LIST_PARAMS_INIT, 0, 0, 0, 0 }

/** Lists items. USER and ADMIN. search matches the description; sort_by
 *  "createdAt" or "amount". params may be NULL. Items via
 *  billing_page_invoice_item(). */
BILLING_EXTERN(int) billing_invoice_item_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_invoice_item_list_params *params);

/** Item i of an invoice item page (borrowed); NULL when out of range or the
 *  page holds something else. */
BILLING_EXTERN(const billing_invoice_item *) billing_page_invoice_item(const billing_page *page,
	size_t i);

BILLING_EXTERN(const char *) billing_invoice_item_id(const billing_invoice_item *t);
BILLING_EXTERN(const char *) billing_invoice_item_tenant_id(const billing_invoice_item *t);
BILLING_EXTERN(const char *) billing_invoice_item_customer_id(const billing_invoice_item *t);
/** NULL when it belongs to no subscription. */
BILLING_EXTERN(const char *) billing_invoice_item_subscription_id(const billing_invoice_item *t);
/** The invoice it is on; NULL while it waits for one. */
BILLING_EXTERN(const char *) billing_invoice_item_invoice_id(const billing_invoice_item *t);
BILLING_EXTERN(const char *) billing_invoice_item_description(const billing_invoice_item *t);
BILLING_EXTERN(const char *) billing_invoice_item_currency(const billing_invoice_item *t);
/** unit_amount x quantity, minor units before tax. */
BILLING_EXTERN(int64_t) billing_invoice_item_amount(const billing_invoice_item *t);
BILLING_EXTERN(int64_t) billing_invoice_item_unit_amount(const billing_invoice_item *t);
BILLING_EXTERN(int32_t) billing_invoice_item_quantity(const billing_invoice_item *t);
/** 0 when it has no period. */
BILLING_EXTERN(int64_t) billing_invoice_item_period_start(const billing_invoice_item *t);
/** 0 when it has no period. */
BILLING_EXTERN(int64_t) billing_invoice_item_period_end(const billing_invoice_item *t);
/** The metadata as a canonical JSON object of strings ("{}" when empty).
 *  Borrowed. */
BILLING_EXTERN(const char *) billing_invoice_item_metadata_json(const billing_invoice_item *t);
BILLING_EXTERN(size_t) billing_invoice_item_metadata_count(const billing_invoice_item *t);
/** Entry i, keys in byte order. Borrowed. */
BILLING_EXTERN(const billing_metadata_entry *) billing_invoice_item_metadata_at(
	const billing_invoice_item *t, size_t i);
/** The value for key, or NULL. Borrowed. */
BILLING_EXTERN(const char *) billing_invoice_item_metadata_get(const billing_invoice_item *t,
	const char *key);
BILLING_EXTERN(int64_t) billing_invoice_item_created_at(const billing_invoice_item *t);
BILLING_EXTERN(int64_t) billing_invoice_item_updated_at(const billing_invoice_item *t);
/** Starts at 1, +1 on every change. */
BILLING_EXTERN(int64_t) billing_invoice_item_version(const billing_invoice_item *t);
/** The item's own tax rates as a JSON array of ids (["txr_..."]), or NULL
 *  when it has none (its invoice's defaults apply). Borrowed. */
BILLING_EXTERN(const char *) billing_invoice_item_tax_rates(const billing_invoice_item *t);
/** Accepts NULL. */
BILLING_EXTERN(void) billing_invoice_item_free(billing_invoice_item *t);

BILLING_END_DECL

#endif
