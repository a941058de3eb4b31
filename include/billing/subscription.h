/**
 * @file billing/subscription.h
 * @brief Subscriptions: a customer on a plan, billed period after period.
 *
 * Periods come from the billing-cycle anchor: period n starts at anchor + n
 * plan intervals, months clamped to their last day (Jan 31 -> Feb 29 ->
 * Mar 31), never computed from the previous period, so they never drift.
 * The anchor is the start, or the end of the trial when there is one, or
 * one set at creation (billing_cycle_anchor): the span before it is then a
 * partial first period, prorated or free.
 *
 * Invoicing is in advance: a period is invoiced, and its invoice finalized,
 * when the period begins: the first at creation (a trial's zero-total
 * invoice, finalized and paid at once), the next ones by billing_run_due().
 * Work due at time t runs at the first billing run at or after t; ended_at
 * records when an end took effect (the scheduled time), canceled_at when
 * the cancellation was asked for.
 *
 * Status changes follow one table (billing_subscription_transitions()); a
 * change the table does not allow is BILLING_ECONFLICT, reason
 * "invalid_transition".
 */
#ifndef BILLING_SUBSCRIPTION_H
#define BILLING_SUBSCRIPTION_H

#include "common.h"
#include "list.h"
#include "principal.h"

BILLING_BEGIN_DECL

typedef struct billing_subscription billing_subscription;

typedef enum {
	BILLING_SUB_INCOMPLETE = 1,  /**< created with a payment behavior other than
	                                  past_due_on_failure, its first invoice not
	                                  paid yet: not provisioned, not renewed, no
	                                  dunning; active once that invoice is paid */
	BILLING_SUB_TRIALING = 2,
	BILLING_SUB_ACTIVE = 3,
	BILLING_SUB_PAST_DUE = 4,
	BILLING_SUB_PAUSED = 5,
	BILLING_SUB_CANCELED = 6,
	BILLING_SUB_EXPIRED = 7,
	BILLING_SUB_UNPAID = 8,      /**< retries exhausted (dunning policy "unpaid"):
	                                  renewals go on, but nothing is collected
	                                  automatically until an invoice is paid */
	BILLING_SUB_INCOMPLETE_EXPIRED = 9 /**< terminal: incomplete, and its first
	                                  invoice was not paid within 23 hours of
	                                  the creation (or, error_if_incomplete,
	                                  the first charge failed); that invoice is
	                                  void, its number kept */
} billing_subscription_status;

/**
 * What the creation does when the first invoice is not paid at once
 * (Stripe's payment_behavior, plus today's behavior). A trial's first
 * invoice, or one the customer's balance covers, is paid at once: the
 * subscription starts trialing or active whichever is chosen.
 */
typedef enum {
	/** The default, the library's behavior before incomplete existed: the
	 *  subscription starts active; a failed first charge makes it past_due
	 *  and dunning retries it. Kept the default so that hosts see no change
	 *  they did not ask for. */
	BILLING_PAYMENT_BEHAVIOR_PAST_DUE_ON_FAILURE = 0,
	/** Stripe's default: the first invoice is charged at once; unless it is
	 *  paid the subscription is incomplete (a decline, a payment awaiting
	 *  3-D Secure: nextAction on the invoice). */
	BILLING_PAYMENT_BEHAVIOR_ALLOW_INCOMPLETE = 1,
	/** Charged at once; unless paid, the call fails (BILLING_EDECLINED, or
	 *  BILLING_EUNKNOWN_OUTCOME when the answer was lost) after the attempt
	 *  is recorded: the subscription is incomplete_expired, its invoice void
	 *  (number kept), billing_error_last()->resource_id names the
	 *  subscription. A payment awaiting 3-D Secure is canceled at the
	 *  provider first (Stripe answers 402 to it too). */
	BILLING_PAYMENT_BEHAVIOR_ERROR_IF_INCOMPLETE = 2,
	/** Created incomplete, no charge attempted: the first invoice is paid
	 *  with billing_invoice_pay (on session, so 3-D Secure can be done) or
	 *  out of band within 23 hours. */
	BILLING_PAYMENT_BEHAVIOR_DEFAULT_INCOMPLETE = 3
} billing_payment_behavior;

/** "past_due_on_failure", "allow_incomplete", "error_if_incomplete",
 *  "default_incomplete"; NULL for other values. */
BILLING_EXTERN(const char *) billing_payment_behavior_name(billing_payment_behavior b);

/** "trialing", "active", ...; NULL for other values. */
BILLING_EXTERN(const char *) billing_subscription_status_name(billing_subscription_status s);

/** One allowed status change. */
typedef struct {
	billing_subscription_status from;
	billing_subscription_status to;
	const char *why;       /**< what makes it: "trial ended", "canceled now", ... */
} billing_subscription_transition;

/** The transition table (static storage); *count receives its length. */
BILLING_EXTERN(const billing_subscription_transition *) billing_subscription_transitions(size_t *count);

/** What a change of plan (or item) does with the time already paid for;
 *  at creation, what the partial first period before an explicit
 *  billing-cycle anchor costs (create_prorations or none). */
typedef enum {
	/** Default: a credit for the unused time of the old plan and a charge for
	 *  the rest of the period on the new one wait for the next invoice. */
	BILLING_PRORATE_CREATE = 0,
	/** The same two lines, on an invoice issued now. */
	BILLING_PRORATE_ALWAYS_INVOICE = 1,
	/** No proration: the new plan is billed from the next period. */
	BILLING_PRORATE_NONE = 2
} billing_proration_behavior;

/** "create_prorations", "always_invoice", "none"; NULL otherwise. */
BILLING_EXTERN(const char *) billing_proration_behavior_name(billing_proration_behavior b);

#define BILLING_SUBSCRIPTION_PARAMS_VERSION 7

/** billing_cycle_anchor: the anchor is the start (start_at, or now), as
 *  JSON's "now"; with a trial this is before the trial's end, so refused. */
#define BILLING_ANCHOR_NOW ((int64_t)-1)

/** One item of a new subscription (version 3 of billing_subscription_params):
 *  a plan and its quantity. */
typedef struct {
	const char *plan_id;           /**< required: an active, not deleted plan */
	int32_t quantity;              /**< 0: 1; at most 10000 */
} billing_subscription_item_spec;

typedef struct {
	unsigned int version;          /**< BILLING_SUBSCRIPTION_PARAMS_VERSION */
	const char *customer_id;       /**< required, of the principal's tenant */
	const char *plan_id;           /**< required: an active, not deleted plan */
	int32_t quantity;              /**< 0: 1; at most 10000 */
	int has_trial_days;            /**< nonzero: trial_days overrides the plan's */
	int32_t trial_days;            /**< 0..730 */
	int64_t start_at;              /**< 0: now; else not after now (backdating: the
	                                    periods already over are invoiced by the
	                                    next billing_run_due()) */
	const billing_metadata_entry *metadata;
	size_t metadata_count;
	/** Version 2. What happens when the first invoice is not paid at once;
	 *  version 1 callers get BILLING_PAYMENT_BEHAVIOR_PAST_DUE_ON_FAILURE. */
	billing_payment_behavior payment_behavior;
	/** Version 3. The subscription's items (1 to 20, copied): plans of one
	 *  currency, interval and interval count, no plan twice; the first is
	 *  the subscription's plan_id and quantity. With items, plan_id and
	 *  quantity must be 0. item_count 0: one item, plan_id x quantity. */
	const billing_subscription_item_spec *items;
	size_t item_count;
	/** Version 4. The subscription's discount (billing/discount.h), made
	 *  and redeemed in the creation's transaction before its first
	 *  invoice: a coupon id or an active promotion code's text (a code's
	 *  minimumAmount is compared with the first invoice's subtotal, before
	 *  discounts and tax). NULL / NULL: none. */
	const char *coupon;
	const char *promotion_code;
	/** Version 5 (issue #22). The subscription's default tax rates: ids of
	 *  the tenant's active tax rates (txr_...), at most 5, at most one
	 *  inclusive (copied). They replace the plans' defaultTaxRates on the
	 *  subscription's invoices; none: the plans' apply. */
	const char *const *default_tax_rates;
	size_t default_tax_rate_count;
	/** Version 6. The billing-cycle anchor (Stripe's billing_cycle_anchor):
	 *  0, the start (or the trial's end, with a trial); BILLING_ANCHOR_NOW;
	 *  or a time (UTC seconds) not before now, not before the trial's end,
	 *  and at most one plan interval after the start (or the trial's end):
	 *  that start is not before the anchor minus one interval, months
	 *  clamped. Periods then start at the anchor + n intervals (its
	 *  calendar day, clamped at month ends); the span from the start (or
	 *  the trial's end) to the anchor is a partial first period, invoiced
	 *  when it begins. */
	int64_t billing_cycle_anchor;
	/** Version 6. The partial first period's price: BILLING_PRORATE_CREATE
	 *  (default) charges each item's full-period amount times the partial
	 *  period's seconds over those of the period that ends at the anchor,
	 *  half away from zero, one proration line per item;
	 *  BILLING_PRORATE_NONE makes it free (zero lines). always_invoice is
	 *  BILLING_EINVALID; with a trial, only create_prorations. */
	billing_proration_behavior anchor_proration;
	/** Version 7 (issue #23). The spend threshold (Stripe's
	 *  billing_thresholds.amount_gte): an amount in the subscription's
	 *  currency, minor units, 1 to BILLING_AMOUNT_MAX; 0: none. Stored and
	 *  shown (billingThresholds); the early invoice it asks for when the
	 *  period's usage amount reaches it is not built yet (docs/usage.md,
	 *  "Spend thresholds"). */
	int64_t threshold_amount_gte;
	/** Version 7. Stripe's reset_billing_cycle_anchor: nonzero is refused
	 *  (BILLING_EINVALID "unsupported", field
	 *  "billingThresholds.resetBillingCycleAnchor"): not built yet. */
	int threshold_reset_anchor;
} billing_subscription_params;

#define BILLING_SUBSCRIPTION_PARAMS_INIT { BILLING_SUBSCRIPTION_PARAMS_VERSION, 0, 0, 0, 0, 0, 0, \
	0, 0, BILLING_PAYMENT_BEHAVIOR_PAST_DUE_ON_FAILURE, 0, 0, 0, 0, 0, 0, 0, BILLING_PRORATE_CREATE, \
	0, 0 }

/**
 * Subscribes a customer to a plan and issues the first invoice (finalized),
 * collected at once unless payment_behavior is default_incomplete.
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID (a customer or
 *         plan id naming nothing in the tenant, a deleted or inactive plan:
 *         reason "resource_missing" or "plan_inactive", with the field; an
 *         unknown payment_behavior, field "paymentBehavior"; a
 *         billing_cycle_anchor in the past, before the trial's end or more
 *         than one interval ahead, field "billingCycleAnchor", reason
 *         "invalid_anchor"; anchor_proration other than create_prorations
 *         or none, or none with a trial, field "prorationBehavior"; a
 *         threshold_amount_gte below 0 or above BILLING_AMOUNT_MAX, field
 *         "billingThresholds.amountGte"; threshold_reset_anchor nonzero,
 *         reason "unsupported", field
 *         "billingThresholds.resetBillingCycleAnchor");
 *         with error_if_incomplete, BILLING_EDECLINED or
 *         BILLING_EUNKNOWN_OUTCOME (see billing_payment_behavior; *out is
 *         NULL, the subscription exists);
 *         BILLING_EOVERFLOW (a period beyond year 9999); BILLING_ESTORAGE
 */
BILLING_EXTERN(int) billing_subscription_create(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_params *params,
	const billing_call_options *opts);

BILLING_EXTERN(int) billing_subscription_get(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id);

#define BILLING_SUBSCRIPTION_LIST_PARAMS_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_SUBSCRIPTION_LIST_PARAMS_VERSION */
	billing_list_params list;      /**< sort_by "createdAt" or "currentPeriodEnd" */
	const char *customer_id;       /**< NULL: any */
	const char *plan_id;           /**< NULL: any */
	billing_subscription_status status; /**< 0: any */
} billing_subscription_list_params;

#define BILLING_SUBSCRIPTION_LIST_PARAMS_INIT { BILLING_SUBSCRIPTION_LIST_PARAMS_VERSION, \
	BILLING_LIST_PARAMS_INIT, 0, 0, 0 }

/** Lists subscriptions. A customer or plan id that names nothing in the
 *  tenant is BILLING_EINVALID, reason "resource_missing", with the field. */
BILLING_EXTERN(int) billing_subscription_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_subscription_list_params *params);

BILLING_EXTERN(const billing_subscription *) billing_page_subscription(const billing_page *page,
	size_t i);

/** Flags of billing_subscription_cancel(). */
enum {
	/** Stay active until the period ends, then end (undo with
	 *  billing_subscription_update()). */
	BILLING_CANCEL_AT_PERIOD_END = 1u << 0,
	/** With a cancellation now: credit the unused rest of the period on an
	 *  invoice of its own (a negative total, owed back to the customer). */
	BILLING_CANCEL_PRORATE = 1u << 1
};

/**
 * Cancels. With BILLING_CANCEL_AT_PERIOD_END the subscription stays active
 * until its period ends, then the billing run ends it. Else it ends now:
 * status canceled, ended_at = now, and no invoice and no credit unless
 * BILLING_CANCEL_PRORATE asks for the credit.
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_EINVALID (unknown flags, or
 *         both together); BILLING_ECONFLICT (reason "invalid_transition") when
 *         it has ended already or a period-end cancellation is asked twice
 */
BILLING_EXTERN(int) billing_subscription_cancel(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, unsigned int flags,
	const billing_call_options *opts);

enum {
	BILLING_SUBSCRIPTION_CANCEL_AT_PERIOD_END = 1u << 0,
	BILLING_SUBSCRIPTION_QUANTITY = 1u << 1,
	BILLING_SUBSCRIPTION_METADATA = 1u << 2,
	/** Version 2: coupon or promotion_code replaces the discount. */
	BILLING_SUBSCRIPTION_DISCOUNT = 1u << 3,
	/** Version 3: threshold_amount_gte replaces the spend threshold (0
	 *  removes it). */
	BILLING_SUBSCRIPTION_THRESHOLDS = 1u << 4
};

#define BILLING_SUBSCRIPTION_UPDATE_VERSION 3

typedef struct {
	unsigned int version;          /**< BILLING_SUBSCRIPTION_UPDATE_VERSION */
	unsigned int fields;           /**< BILLING_SUBSCRIPTION_* bits */
	int cancel_at_period_end;      /**< 0 undoes a scheduled cancellation */
	int32_t quantity;              /**< from the next period on */
	const billing_metadata_entry *metadata;
	size_t metadata_count;
	int64_t expected_version;      /**< 0: any */
	/** Version 2, with BILLING_SUBSCRIPTION_DISCOUNT: a coupon's id, or the
	 *  text of an active promotion code (any case), exactly one. The
	 *  subscription's discount is replaced by one made from it now, with
	 *  the checks of billing_discount_create() (a code with a
	 *  minimumAmount is refused: it is redeemed only with a creation). */
	const char *coupon;
	const char *promotion_code;
	/** Version 3, with BILLING_SUBSCRIPTION_THRESHOLDS: the spend
	 *  threshold, as billing_subscription_params' (0: none, removing it);
	 *  threshold_reset_anchor nonzero is refused the same way. */
	int64_t threshold_amount_gte;
	int threshold_reset_anchor;
} billing_subscription_update_params;

#define BILLING_SUBSCRIPTION_UPDATE_INIT { BILLING_SUBSCRIPTION_UPDATE_VERSION, 0, 0, 0, 0, 0, 0, \
	0, 0, 0, 0 }

/**
 * Changes the fields named; an ended subscription is BILLING_ECONFLICT.
 * @return BILLING_OK; BILLING_ENOTFOUND; BILLING_EFORBIDDEN; BILLING_ESTALE;
 *         BILLING_ECONFLICT ("invalid_transition": ended); BILLING_EINVALID
 *         naming the field (the discount's: "coupon" or "promotionCode" with
 *         the reasons of billing_discount_create(); neither or both given
 *         with BILLING_SUBSCRIPTION_DISCOUNT: "coupon", reason "invalid"; the
 *         threshold's as billing_subscription_create())
 */
BILLING_EXTERN(int) billing_subscription_update(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id,
	const billing_subscription_update_params *params, const billing_call_options *opts);


#define BILLING_SUBSCRIPTION_CHANGE_VERSION 1

typedef struct {
	unsigned int version;          /**< BILLING_SUBSCRIPTION_CHANGE_VERSION */
	const char *plan_id;           /**< required: an active plan, same currency */
	billing_proration_behavior proration;
	int32_t quantity;              /**< 0: keep the current quantity */
	int at_period_end;             /**< nonzero: change when the current period ends
	                                    (a downgrade keeps what was paid for); no
	                                    proration; proration is ignored */
} billing_subscription_change_params;

#define BILLING_SUBSCRIPTION_CHANGE_INIT { BILLING_SUBSCRIPTION_CHANGE_VERSION, 0, \
	BILLING_PRORATE_CREATE, 0, 0 }

/**
 * Moves the subscription to another plan now. Proration is to the second:
 * the credit line is -(old amount x quantity) x unused / period seconds, the
 * charge line (new amount x quantity) x remaining / period seconds, each
 * rounded half away from zero on its own, both with period [now, period
 * end). Between plans of the same interval the anchor stays; a change of
 * interval restarts the cycle now: the new period is invoiced at once, with
 * the credit for the old one on that invoice. During a trial the plan just
 * changes (nothing was charged). With at_period_end the change waits for the
 * end of the current period (pending_plan_id until then); an immediate
 * change replaces a waiting one.
 * @return BILLING_OK; BILLING_EINVALID (plan missing, inactive, the same plan,
 *         or another currency: reason "currency_mismatch"); BILLING_ECONFLICT
 *         when the subscription has ended or is paused
 */
BILLING_EXTERN(int) billing_subscription_change_plan(billing_subscription **out,
	billing_ctx *ctx, const billing_principal *who, const char *id,
	const billing_subscription_change_params *params, const billing_call_options *opts);

/**
 * Pauses billing now: no invoices until resumed (the unused rest of the
 * current period is not credited). BILLING_ECONFLICT unless active.
 */
BILLING_EXTERN(int) billing_subscription_pause(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts);

#define BILLING_SUBSCRIPTION_PAUSE_PARAMS_VERSION 1

/** How billing_subscription_pause_ext pauses. */
typedef struct {
	unsigned int version;          /**< BILLING_SUBSCRIPTION_PAUSE_PARAMS_VERSION */
	/** BILLING_PRORATE_NONE (the INIT's): nothing is credited, as
	 *  billing_subscription_pause; BILLING_PRORATE_CREATE: the paid, unused
	 *  rest of the current period (whole seconds, rounded half away from
	 *  zero) goes to the customer's balance as a proration_credit balance
	 *  transaction, which the resume's invoice then takes, so no day is
	 *  billed twice; BILLING_PRORATE_ALWAYS_INVOICE is BILLING_EINVALID. */
	billing_proration_behavior proration;
} billing_subscription_pause_params;

#define BILLING_SUBSCRIPTION_PAUSE_PARAMS_INIT \
	{ BILLING_SUBSCRIPTION_PAUSE_PARAMS_VERSION, BILLING_PRORATE_NONE }

/**
 * Pauses billing now, as billing_subscription_pause, with a proration
 * behavior (POST /v1/subscriptions/{id}/pause {prorationBehavior}).
 * params may be NULL (BILLING_SUBSCRIPTION_PAUSE_PARAMS_INIT).
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_ENOTFOUND;
 *         BILLING_EINVALID naming "prorationBehavior" or "version";
 *         BILLING_ECONFLICT unless active
 */
BILLING_EXTERN(int) billing_subscription_pause_ext(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_subscription_pause_params *params,
	const billing_call_options *opts);

/**
 * Resumes a paused subscription: a new cycle starts now (the anchor moves
 * to now) and its first period is invoiced at once.
 * BILLING_ECONFLICT unless paused.
 */
BILLING_EXTERN(int) billing_subscription_resume(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts);

BILLING_EXTERN(const char *) billing_subscription_id(const billing_subscription *s);
BILLING_EXTERN(const char *) billing_subscription_customer_id(const billing_subscription *s);
BILLING_EXTERN(const char *) billing_subscription_plan_id(const billing_subscription *s);
BILLING_EXTERN(billing_subscription_status) billing_subscription_status_of(const billing_subscription *s);
/** The first item's quantity; 0 when that is a metered plan's item, which has
 *  none (null in JSON). */
BILLING_EXTERN(int32_t) billing_subscription_quantity(const billing_subscription *s);
BILLING_EXTERN(const char *) billing_subscription_currency(const billing_subscription *s);
/** The billing-cycle anchor. */
BILLING_EXTERN(int64_t) billing_subscription_anchor(const billing_subscription *s);
BILLING_EXTERN(int64_t) billing_subscription_current_period_start(const billing_subscription *s);
BILLING_EXTERN(int64_t) billing_subscription_current_period_end(const billing_subscription *s);
/** 0 when there is no trial. */
BILLING_EXTERN(int64_t) billing_subscription_trial_end(const billing_subscription *s);
BILLING_EXTERN(int) billing_subscription_cancel_at_period_end(const billing_subscription *s);
/** 0 when not canceled / not ended. */
BILLING_EXTERN(int64_t) billing_subscription_canceled_at(const billing_subscription *s);
BILLING_EXTERN(int64_t) billing_subscription_ended_at(const billing_subscription *s);
BILLING_EXTERN(const char *) billing_subscription_latest_invoice_id(const billing_subscription *s);
/** The plan a change at the period end will move to; NULL when none. */
BILLING_EXTERN(const char *) billing_subscription_pending_plan_id(const billing_subscription *s);
/** The subscription's items (billing/subscription_item.h) as a JSON array
 *  [{"id","planId","quantity"}] in their order, as of this read; the first
 *  is plan_id x quantity. Borrowed; never NULL for a subscription (NULL for
 *  a NULL s, like every getter). */
BILLING_EXTERN(const char *) billing_subscription_items_json(const billing_subscription *s);
/** The subscription's default tax rates, a JSON array of txr_ ids that
 *  replace its plans' (issue #22), borrowed; NULL when none. */
BILLING_EXTERN(const char *) billing_subscription_default_tax_rates(
	const billing_subscription *s);
/** The subscription's own discount (billing/discount.h; issue #22) as of
 *  this read, as JSON {"id", "couponId", "promotionCodeId" (null when made
 *  from the coupon's id), "start", "end" (null: no end yet; a once
 *  discount's is set by the first invoice it takes something off, a
 *  repeating one's at its creation)}, times as RFC 3339 UTC text; the
 *  discount stays shown with its end once ended, until it is deleted or
 *  replaced. Borrowed; NULL when the subscription has none (its invoices
 *  may then take the customer's: billing_customer_discount_json). For the
 *  fields as C values, billing_discount_get. */
BILLING_EXTERN(const char *) billing_subscription_discount_json(
	const billing_subscription *s);
/** The spend threshold (billing_subscription_params.threshold_amount_gte),
 *  minor units of the subscription's currency; 0 when none. */
BILLING_EXTERN(int64_t) billing_subscription_threshold_amount_gte(const billing_subscription *s);
BILLING_EXTERN(size_t) billing_subscription_metadata_count(const billing_subscription *s);
BILLING_EXTERN(const billing_metadata_entry *) billing_subscription_metadata_at(
	const billing_subscription *s, size_t i);
BILLING_EXTERN(int64_t) billing_subscription_created_at(const billing_subscription *s);
BILLING_EXTERN(int64_t) billing_subscription_version(const billing_subscription *s);
BILLING_EXTERN(void) billing_subscription_free(billing_subscription *s);

BILLING_END_DECL

#endif
