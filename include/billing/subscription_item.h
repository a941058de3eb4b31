/**
 * @file billing/subscription_item.h
 * @brief Subscription items (ids "si_..."): the plans a subscription bills.
 *
 * A subscription holds 1 to 20 items, each a plan and a quantity: a base
 * plan plus add-ons, seats. Every item's plan has the subscription's
 * currency, interval and interval count, and no plan is on two items of one
 * subscription. The first item (by creation) is the subscription's own
 * plan_id and quantity (billing_subscription_plan_id / _quantity), as
 * before items existed; billing_subscription_change_plan and
 * billing_subscription_update (quantity) change that first item.
 *
 * Each period's invoice has one line per item (subscriptionItemId on the
 * line), its amount from the item's plan and quantity (the plan's price
 * model). A change inside a period (an item added, its quantity or plan
 * changed, removed) is prorated to the second over the rest of the current
 * period, as billing_subscription_change_plan prorates:
 * - create_prorations (default): the lines wait for the next invoice;
 * - always_invoice: an invoice with them is issued (and collected) now; a
 *   negative total is owed to the customer (the customer's balance);
 * - none: nothing is prorated; the change is billed from the next period.
 * A quantity change is one line (the difference of the two quantities'
 * amounts over the rest of the period); a plan change two (a credit for
 * the old plan's unused time, a charge for the new plan's); an added item
 * one charge, a removed item one credit. During a trial nothing is
 * prorated (nothing was charged).
 *
 * proration_date fixes the time of the proration (default: now; it must lie
 * in the current period and not in the future), so that a client can show
 * billing_subscription_item_preview()'s amounts and then apply exactly
 * those.
 *
 * Every change writes "subscription_item.created", ".updated" or
 * ".deleted" (the item's JSON) and "subscription.updated" (the subscription
 * with its items), and an audit row.
 */
#ifndef BILLING_SUBSCRIPTION_ITEM_H
#define BILLING_SUBSCRIPTION_ITEM_H

#include "common.h"
#include "list.h"
#include "principal.h"
#include "subscription.h"
#include "invoice.h"

BILLING_BEGIN_DECL

typedef struct billing_subscription_item billing_subscription_item;

/** At most this many items on one subscription. */
#define BILLING_SUBSCRIPTION_ITEMS_MAX 20

#define BILLING_SUBSCRIPTION_ITEM_PARAMS_VERSION 1

/** Fields of an update that are given (billing_subscription_item_params.fields). */
enum {
	BILLING_SUBSCRIPTION_ITEM_PLAN = 1u << 0,
	BILLING_SUBSCRIPTION_ITEM_QUANTITY = 1u << 1
};

typedef struct {
	unsigned int version;          /**< BILLING_SUBSCRIPTION_ITEM_PARAMS_VERSION */
	const char *subscription_id;   /**< create, preview: required; ignored by the others */
	const char *plan_id;           /**< create: required; update: with _PLAN */
	int32_t quantity;              /**< create: 0 is 1 (none on a metered plan, which
	                                    refuses one); update: with _QUANTITY; 1..10000 */
	unsigned int fields;           /**< update: BILLING_SUBSCRIPTION_ITEM_* given */
	billing_proration_behavior proration; /**< 0: create_prorations */
	int64_t proration_date;        /**< 0: now; else in the current period, not after now */
	int64_t expected_version;      /**< update, delete: 0 any, else the item's version */
} billing_subscription_item_params;

#define BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT { BILLING_SUBSCRIPTION_ITEM_PARAMS_VERSION, 0, 0, \
	0, 0, BILLING_PRORATE_CREATE, 0, 0 }

/**
 * Adds an item to a subscription that is trialing, active, past_due or
 * unpaid, prorated (see the file's comment).
 * @param out the new item (caller frees with billing_subscription_item_free)
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID (a subscription or
 *         plan id naming nothing in the tenant: "resource_missing"; an
 *         inactive plan "plan_inactive"; a plan of another currency or
 *         interval "plan_mismatch"; a plan on the subscription already
 *         "duplicate_plan"; the 21st item "too_many_items"; a bad quantity,
 *         prorationBehavior or prorationDate; each with the field);
 *         BILLING_ECONFLICT (an ended, paused or incomplete subscription:
 *         "invalid_transition"; an idempotency key reused); BILLING_ESTORAGE
 */
BILLING_EXTERN(int) billing_subscription_item_create(billing_subscription_item **out,
	billing_ctx *ctx, const billing_principal *who, const billing_subscription_item_params *p,
	const billing_call_options *opts);

/** The item; BILLING_ENOTFOUND when the id names nothing in the tenant. */
BILLING_EXTERN(int) billing_subscription_item_get(billing_subscription_item **out,
	billing_ctx *ctx, const billing_principal *who, const char *id);

/**
 * Changes an item's quantity and/or plan (p->fields), prorated. Errors as
 * billing_subscription_item_create, plus BILLING_ENOTFOUND and
 * BILLING_ECONFLICT "stale" for an expected_version that is not the item's;
 * a change that changes nothing is BILLING_EINVALID "no_change".
 */
BILLING_EXTERN(int) billing_subscription_item_update(billing_subscription_item **out,
	billing_ctx *ctx, const billing_principal *who, const char *id,
	const billing_subscription_item_params *p, const billing_call_options *opts);

/**
 * Removes an item, its unused time credited as p->proration says (p may be
 * NULL: create_prorations, now). The last item of a subscription cannot be
 * removed (BILLING_ECONFLICT "last_item": cancel the subscription instead).
 */
BILLING_EXTERN(int) billing_subscription_item_delete(billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_subscription_item_params *p,
	const billing_call_options *opts);

/**
 * The proration lines that billing_subscription_item_create (id NULL),
 * _update (id, p->fields) or _delete (id, delete_item nonzero) would make at
 * p->proration_date (0: now), computed and not written: an invoice with no
 * id whose lines are those amounts (none for prorationBehavior none or
 * during a trial). Applying the change with the same proration_date makes
 * exactly these lines.
 */
BILLING_EXTERN(int) billing_subscription_item_preview(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_subscription_item_params *p,
	int delete_item);

#define BILLING_SUBSCRIPTION_ITEM_LIST_PARAMS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_SUBSCRIPTION_ITEM_LIST_PARAMS_VERSION */
	billing_list_params list;      /**< sort_by "createdAt" */
	const char *subscription_id;   /**< NULL: any */
	const char *plan_id;           /**< NULL: any */
} billing_subscription_item_list_params;

#define BILLING_SUBSCRIPTION_ITEM_LIST_PARAMS_INIT { \
	BILLING_SUBSCRIPTION_ITEM_LIST_PARAMS_VERSION, BILLING_LIST_PARAMS_INIT, 0, 0 }

/** Lists items; items of the page via billing_page_subscription_item(). */
BILLING_EXTERN(int) billing_subscription_item_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_item_list_params *params);
BILLING_EXTERN(const billing_subscription_item *) billing_page_subscription_item(
	const billing_page *page, size_t i);

/* Getters: borrowed strings, valid until billing_subscription_item_free. */
BILLING_EXTERN(const char *) billing_subscription_item_id(const billing_subscription_item *it);
BILLING_EXTERN(const char *) billing_subscription_item_subscription_id(
	const billing_subscription_item *it);
BILLING_EXTERN(const char *) billing_subscription_item_plan_id(
	const billing_subscription_item *it);
/** The item's quantity, 1..10000; 0 for a metered plan's item, which has none
 *  (its usage is billed in arrears; null in JSON, NULL in the row). */
BILLING_EXTERN(int32_t) billing_subscription_item_quantity(const billing_subscription_item *it);
BILLING_EXTERN(int64_t) billing_subscription_item_created_at(const billing_subscription_item *it);
BILLING_EXTERN(int64_t) billing_subscription_item_version(const billing_subscription_item *it);
BILLING_EXTERN(void) billing_subscription_item_free(billing_subscription_item *it);

BILLING_END_DECL

#endif
