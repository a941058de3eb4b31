/*
 * What the billing run and plans need from subscriptions, and what the files
 * of subscriptions share (subscription.c, subscription_lifecycle.c,
 * subscription_calendar.c, subscription_plan_change.c).
 */
#ifndef BILLING_CORE_SUBSCRIPTION_INTERNAL_H
#define BILLING_CORE_SUBSCRIPTION_INTERNAL_H

#include "core/core.h"
#include "core/entity.h"
#include "core/invoice_internal.h"

#define BILLING__DUE_SUBSCRIPTION "subscription"

/* BILLING_OK when the transition table allows from -> to, else
 * BILLING_ECONFLICT "invalid_transition". */
int billing__subscription_transition(int from, int to);

/*
 * Inside the run's transaction (already moved to tenant_id): does the one
 * step due at the subscription's current period end, if it is due at now:
 * ends a trial, renews (invoicing the new period), cancels at period end or
 * expires at the end of the term. *invoiced is 1 when an invoice was made.
 */
int billing__subscription_advance(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now, int *invoiced);

/* What a payment of one of its invoices means for a subscription. */
typedef enum {
	BILLING__SUB_PAYMENT_FAILED = 1,  /* active -> past_due */
	BILLING__SUB_PAYMENT_RECOVERED,   /* past_due, unpaid or incomplete -> active */
	BILLING__SUB_RETRIES_EXHAUSTED,   /* -> canceled now (the dunning policy's cancel) */
	BILLING__SUB_RETRIES_EXHAUSTED_UNPAID /* past_due -> unpaid (the policy's unpaid) */
} billing__sub_payment;

/* Inside the payment's transaction: applies what to the subscription (no
 * change when its status does not take it) with its event. at is when it
 * took effect: the scheduled time of the attempt that decided it (a late
 * run applies it later); a cancellation ends the subscription then, or at
 * the start of its current period when it was renewed after that time. */
int billing__subscription_payment(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, billing__sub_payment what, int64_t at, int64_t now);

/* The subscription's status, read in tx; 0 when it does not exist. */
int billing__subscription_status_in(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int *status);

/* ------------------------------------------------------------ shared by subscriptions */

#define BILLING__SUBSCRIPTION_QUANTITY_MAX 10000

/* How long an incomplete subscription waits for its first invoice to be
 * paid: Stripe's 23 hours, from the creation. */
#define BILLING__INCOMPLETE_WINDOW (23 * 3600)
int64_t billing__subscription_incomplete_until(int64_t created_at);

struct billing_subscription {
	char *tenant_id;
	char *id;
	char *customer_id;
	char *plan_id;
	char *latest_invoice_id;
	char *pending_plan_id;
	char *metadata_json;
	char *items_json;              /* [{"id","planId","quantity"}]: never NULL */
	char *default_tax_rates;       /* JSON txr_ ids (invoice_tax.c); NULL: none */
	char *discount_json;           /* the discount shown (discount_object.c); NULL: none */
	char currency[4];
	billing_subscription_status status;
	int32_t quantity;
	int64_t anchor, period_index, current_period_start, current_period_end;
	int64_t trial_end, canceled_at, ended_at;
	int cancel_at_period_end;
	int64_t threshold_amount_gte;  /* the spend threshold; 0: none */
	billing__metadata metadata;
	int64_t created_at, updated_at, version;
};

/* subscription.c: the record. */

extern const billing__entity billing__subscription_entity;
/* The transition table allows from -> to. */
bool billing__subscription_allowed(int from, int to);
/* Canceled, expired or incomplete_expired. */
bool billing__subscription_ended(int status);
/* r borrows s's strings. */
void billing__subscription_record_of(billing_subscription_record *r,
	const billing_subscription *s);
int billing__subscription_schedule(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r);
int billing__subscription_emit(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const char *type);
/* The spend threshold of a creation or an update (issue #23): amount 0
 * (none) or 1 to BILLING_AMOUNT_MAX, else a failure on
 * "billingThresholds.amountGte" in c; reset nonzero is BILLING_EINVALID
 * "unsupported" at once (the anchor's reset is not built). */
int billing__subscription_threshold_check(billing__checks *c, int64_t amount, int reset);
/* BILLING_EINVALID "resource_missing" on field: "no such <what> in this tenant". */
int billing__subscription_missing(const char *field, const char *what);

/* subscription_lifecycle.c: collects the invoice a call that returned rc
 * may have issued, and refreshes *out. */
int billing__subscription_collected(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, int rc);

/* subscription_lifecycle.c: incomplete subscriptions. The expiry: when
 * the subscription id is incomplete, its first invoice is voided (number
 * kept) and it becomes incomplete_expired at `at` with its event;
 * *expired says whether it was. The invoice is locked before the
 * subscription (txn.h: payment -> invoice -> subscription). An attempt of
 * the invoice still in flight: BILLING_ECONFLICT "payment_in_progress",
 * nothing changed. */
int billing__subscription_expire_incomplete(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id, int64_t at, bool *expired);
/* The billing run's step for the subscription when it is incomplete
 * (*handled then true): expires it when its window has passed (an attempt
 * still in flight: asked again in an hour), else keeps its due work at the
 * window's end. Not incomplete: *handled false, nothing done. */
int billing__subscription_incomplete_due(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id, int64_t now, bool *handled);

/* subscription_calendar.c: periods, the invoice of a period, the catch-up
 * (the entity's hook). */
int billing__subscription_period_bounds(int64_t *start, int64_t *end,
	const billing__plan_info *plan, int64_t anchor, int64_t n);
/* period_index of a partial first period before an anchor set at creation
 * (a trial, or the wait after a change of interval without prorations,
 * is -1): it was charged, and is prorated, over the period that ends at
 * the anchor. The next period is 0. */
#define BILLING__PERIOD_PARTIAL (-2)
/* The seconds a proration inside the current period [start, end) is taken
 * over: end - start, or for a partial period (period_index), those of the
 * period of plan's interval that ends at the anchor. */
int billing__subscription_whole(int64_t *out, int64_t period_index, int64_t anchor,
	int64_t start, int64_t end, const billing__plan_info *plan);

/* How the lines of a period are priced (mode below; a bool trial is 0 or
 * 1). */
enum {
	BILLING__LINES_FULL = 0,     /* each item's price model */
	BILLING__LINES_TRIAL = 1,    /* zero lines, "Trial of " */
	BILLING__LINES_PARTIAL = 2,  /* the partial period before an anchor (its end):
	                                 prorated over the period that ends there */
	BILLING__LINES_FREE = 3      /* that partial period with proration none: zero */
};
int billing__subscription_invoice_period(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const billing__plan_info *plan, int64_t start,
	int64_t end, int mode, const billing_invoice_line *extra,
	char invoice_id[BILLING_ID_MAX]);
int billing__subscription_catch_up(billing_ctx *ctx, billing_txn *tx, const void *current,
	bool *changed);

/* subscription_plan_change.c: a proration line (a credit when credit). */
int billing__subscription_proration_line(billing_invoice_line *line,
	const billing__plan_info *plan, int32_t quantity, int64_t from, int64_t to, int64_t part,
	int64_t whole, bool credit, char *desc, size_t desc_size);

/* ------------------------------------------------------------ items (subscription_item.c) */

#include "billing/subscription_item.h"

extern const billing_resource billing__res_subscription_item;

/* The record of billing__res_subscription_item, and the public object. */
struct billing_subscription_item {
	const char *tenant_id;
	const char *id;
	const char *subscription_id;
	const char *plan_id;
	int32_t quantity;
	int32_t item_no;             /* 1, 2, ...: the order of the items */
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};


/* The items of a subscription in their order (owned, one allocation each). */
#define BILLING__SUB_ITEMS_CAP 32
typedef struct {
	size_t n;
	struct billing_subscription_item *v[BILLING__SUB_ITEMS_CAP];
} billing__sub_items;

/* r takes the items as its copy (r->items_json = *json, new, cJSON_free)
 * and the first item's plan and quantity (strings borrowed from it). */
int billing__sub_items_mirror(billing_subscription_record *r, const billing__sub_items *it,
	char **json);
/* "subscription_item.<what>" with the item's JSON. */
int billing__sub_item_emit(billing_ctx *ctx, billing_txn *tx,
	const struct billing_subscription_item *it, const char *what);
/* The plan of an item: live, active and (first non-NULL) on first's
 * calendar; BILLING_EINVALID naming field otherwise. */
int billing__sub_item_plan_fits(billing__plan_info *plan, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *plan_id, const billing__plan_info *first,
	const char *field);

int billing__sub_items_load(billing__sub_items *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *subscription_id);
void billing__sub_items_free(billing__sub_items *it);

/* The lines of period [start, end) of subscription r, one per item in
 * order, priced by mode (BILLING__LINES_*), each handed to push (its strings live
 * only during the call). first_plan_id: the first item's plan instead of
 * its own (a preview of a change at the period end), or NULL. */
int billing__subscription_item_lines(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const char *first_plan_id, int64_t start,
	int64_t end, int mode, int (*push)(void *payload, const billing_invoice_line *line),
	void *payload);

/* The credits for the unused rest [from, period end) of r's current
 * period, one proration line per item in order (a negative amount, to the
 * second, the plan's model without tiers), each handed to push (its
 * strings live only during the call): a cancellation or pause with
 * prorations credits every item. */
int billing__subscription_item_credits(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t from,
	int (*push)(void *payload, const billing_invoice_line *line), void *payload);

/* The charges for the used part [period start, to) of r's current period,
 * one proration line per licensed item in order ("Used time on ...": the
 * item's full-period amount times the used seconds over the period's whole,
 * rounded half away from zero, as every proration), each handed to push:
 * a cancellation with prorations while the period's renewal is still a
 * draft bills them instead of the period (billing__subscription_credit_invoice). */
int billing__subscription_item_used(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t to,
	int (*push)(void *payload, const billing_invoice_line *line), void *payload);

/* Usage in arrears (issue #23; docs/usage.md): one line per metered item
 * of r, its meter's aggregate of the customer's events in [from, to)
 * priced by the plan's model with its tiers, less what threshold invoices
 * of the period starting at from billed of it already
 * (billing__usage_line_billed), each handed to push (its strings live only
 * during the call). mode BILLING__USAGE_CLOSE: the period is closed and
 * its aggregates are stored in tx (billing__usage_value), so the lines and
 * the stored row agree; BILLING__USAGE_RUNNING: the running usage (a
 * preview); BILLING__USAGE_THRESHOLD: the running usage, billed now by a
 * threshold invoice: lines of nothing new are left out, and the billed
 * rows move to the running values. */
#define BILLING__USAGE_RUNNING 0
#define BILLING__USAGE_CLOSE 1
#define BILLING__USAGE_THRESHOLD 2
int billing__subscription_usage_lines(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t from, int64_t to, int mode,
	int (*push)(void *payload, const billing_invoice_line *line), void *payload);

/* A metered item's line of its full usage value of the period starting at
 * from (billing__plan_line's, in desc), made the usage not billed yet:
 * when threshold invoices billed some of it (meter.h, usage_billed), the
 * amount less theirs and the quantity less theirs (negative, a credit,
 * when a max or last meter fell since), without tiers. mode as
 * billing__subscription_usage_lines': THRESHOLD also moves the billed row
 * to value and the full amount. */
int billing__usage_line_billed(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const char *item_id,
	const billing__plan_info *plan, int64_t from, int32_t value, int mode,
	billing_invoice_line *line, char *desc, size_t desc_size);

/* subscription_calendar.c: a spend threshold (docs/usage.md), in tx, r
 * locked: when r (active or past due, in its period, with a threshold)
 * has usage not billed yet of at least its amountGte, an invoice of it
 * now (billing_reason "subscription_threshold", *issued true). */
int billing__subscription_threshold_eval(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t now, char invoice_id[BILLING_ID_MAX],
	bool *issued);

/* How long after its period's end r's step waits: the tenant's grace
 * window when r has a metered item (late events of the period still count
 * then), else 0 (and 0 for a trial, which bills no usage). Reads the plans
 * of r's items from its items' copy, not the items. *metered (may be NULL)
 * says whether r has a metered item (the window may be 0). */
int billing__subscription_usage_wait(int64_t *wait, bool *metered, billing_ctx *ctx,
	billing_txn *tx, const billing_subscription_record *r);

/* subscription_calendar.c: cancel now (docs/usage.md): an invoice of r's
 * metered items' usage of [current period start, to), its aggregates
 * stored (closed), when r has a metered item (*issued then true). */
int billing__subscription_usage_invoice(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t to, char invoice_id[BILLING_ID_MAX],
	bool *issued);
/* subscription_calendar.c: a change of plan now away from the metered plan
 * of r's first item (r still on it): an invoice of that item's usage of
 * [current period start, to), its aggregate stored (closed). */
int billing__subscription_item_usage_invoice(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, const billing__plan_info *plan, int64_t to,
	char invoice_id[BILLING_ID_MAX]);

/* BILLING_EINVALID naming field when a metered plan's item is given a
 * quantity (it has none: its usage is billed). */
int billing__sub_item_quantity_check(const billing__plan_info *plan, int32_t quantity,
	const char *field);

/* subscription_calendar.c: cancel now with prorations at from. When r's
 * latest invoice is still the draft of its current period (a renewal
 * draft, nothing charged yet), that draft's lines of the period's plan
 * give way to the charge for the used time [period start, from)
 * (billing__subscription_item_used), its other lines stay, no credit is
 * issued, and invoice_id receives the draft's id. Otherwise an invoice of
 * its own (a negative total, owed back) of every item's credit for [from,
 * period end) of r, whose id invoice_id receives. */
int billing__subscription_credit_invoice(billing_ctx *ctx, billing_txn *tx,
	const billing_subscription_record *r, int64_t from, char invoice_id[BILLING_ID_MAX]);

/* The items of a new subscription: p's items (version 3) or p's plan and
 * quantity as one (in *one), checked for form into ck (items[i].planId,
 * ...); *items borrows p or one. */
void billing__subscription_params_items(billing__checks *ck, const billing_subscription_params *p,
	billing_subscription_item_spec *one, const billing_subscription_item_spec **items,
	size_t *n);

/* A new subscription's items beyond the first (whose plan, first, the
 * creation checked): live, active plans on first's calendar, none twice;
 * BILLING_EINVALID naming items[i].planId. quantities[0..n) receives what
 * each item stores (billing__sub_item_quantity_stored). */
int billing__subscription_items_check(int32_t *quantities, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const billing_subscription_item_spec *items, size_t n,
	const billing__plan_info *first);

/* The quantity an item of plan stores when quantity was asked for (0: the
 * default): 0 (NULL in the row, null in JSON) on a metered plan, whose item
 * has no quantity; else quantity, or 1 when 0. */
int32_t billing__sub_item_quantity_stored(const billing__plan_info *plan, int32_t quantity);

/* Inserts them for r (after r's insert), each with its quantity from
 * billing__subscription_items_check, with their events; r->items_json then
 * points to *json (new, cJSON_free). */
int billing__subscription_items_insert(billing_ctx *ctx, billing_txn *tx,
	billing_subscription_record *r, const billing_subscription_item_spec *items,
	const int32_t *quantities, size_t n, char **json);

/* The subscription of item id into out, read in tx; BILLING_ENOTFOUND when
 * no such item is left (billing_check's rule on invoice lines). */
int billing__subscription_item_owner(char out[BILLING_ID_MAX], billing_ctx *ctx,
	billing_txn *tx, const char *tenant_id, const char *id);

/* BILLING_EINVALID "plan_mismatch" on planId when the subscription has
 * more than one item (a change of its interval is refused then). */
int billing__subscription_items_single(billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *subscription_id);

/* After a change of r's plan_id or quantity (change of plan, update, a
 * pending plan taking effect): the first item takes them, with its event,
 * and r->items_json points to the new copy *json (new, cJSON_free). */
int billing__subscription_items_follow(billing_ctx *ctx, billing_txn *tx,
	billing_subscription_record *r, int64_t now, char **json);

/*
 * billing_subscription_pause with prorationBehavior (#20 item 4): prorate
 * true (create_prorations) credits the rest of the current period, when
 * its invoice is paid, to the customer's balance (a proration_credit of
 * the amount and its tax); false (none, the default) credits nothing, as
 * billing_subscription_pause.
 */
int billing__subscription_pause(billing_subscription **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, bool prorate,
	const billing_call_options *opts);

#endif
