/*
 * What subscriptions and the billing run need from invoices: building the
 * lines of a plan's period, and issuing (finalizing) a new invoice inside
 * their transaction.
 */
#ifndef BILLING_CORE_INVOICE_INTERNAL_H
#define BILLING_CORE_INVOICE_INTERNAL_H

#include "core/core.h"
#include "core/invoice_tax.h"
#include "core/price.h"

/* The strings of a line an invoice owns a copy of: description, plan id,
 * tiers, subscription item id, discount id, tax amounts, tax rates. */
#define BILLING__LINE_STRINGS 7

struct billing_invoice {
	char *tenant_id;
	char *id;
	char *customer_id;
	char *subscription_id;
	char *number;
	char *currency;
	billing_invoice_status status;
	int64_t subtotal, tax, total, amount_paid, amount_due;
	char *discount_id;              /* the discount its lines took; NULL: none */
	int64_t total_discount;         /* what they took: total = subtotal - it + tax */
	int64_t period_start, period_end;
	int64_t created_at, finalized_at, paid_at, voided_at, updated_at, version;
	int32_t attempt_count;
	int64_t next_attempt_at;
	int64_t starting_balance, ending_balance;   /* the customer's, applied at finalization */
	int collection_method;          /* billing_collection_method */
	int32_t days_until_due;
	int64_t due_date;
	char *memo, *footer;            /* NULL: none */
	int paid_out_of_band;
	/* The invoice's non-void credit notes before and after payment
	 * (credit_note.c). */
	int64_t pre_credit_notes, post_credit_notes;
	/* Taxes (core/invoice_tax.c): the breakdown per rate (JSON; NULL:
	 * none), the customer's taxExempt it was computed with, a draft's
	 * default tax rates (JSON ids; NULL: none). */
	char *total_tax_amounts;
	int customer_tax_exempt;
	char *default_tax_rates;
	char *billing_reason;           /* NULL, or "subscription_threshold" (step 41) */
	size_t line_count, line_cap;
	billing_invoice_line *lines;
	char **line_strings;            /* owned copies, BILLING__LINE_STRINGS per line */
	/* The attempt in flight that awaits the customer's action, owned;
	 * NULL when there is none (billing__invoice_action_load). */
	struct billing_payment *action;
};

/* Voids inv (loaded in tx, so locked): the invoice table's rule, no
 * attempt in flight (payment_in_progress), the balance it took given
 * back, the event invoice.voided. The number stays. */
int billing__invoice_void_in(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv);

/* The invoice with its lines, read in tx (locked in a write transaction). */
int billing__invoice_load(billing_invoice **out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id);

/* Writes inv's status, amounts and collection fields (version + 1) and, when
 * event is not NULL, the event of that type. */
int billing__invoice_save(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	const char *event);

/* Inside the issuing transaction of a pending invoice: when the context has
 * a provider and the customer a default payment method, schedules the
 * invoice's collection now (due work "collect") and sets *next_attempt_at;
 * else (or when its subscription is unpaid) leaves it 0: the invoice waits
 * to be paid by hand. Payments. */
int billing__collection_plan(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *customer_id, const char *subscription_id, const char *invoice_id, int64_t now,
	int64_t *next_attempt_at);

/* What is left to pay: total + starting_balance - ending_balance -
 * amount_paid - the pre-payment credit notes (the schema's invoices_sums). */
int64_t billing__invoice_remaining(const billing_invoice *inv);
/* The stored record of inv (its strings borrowed from inv). */
void billing__invoice_record_of(billing_invoice_record *r, const billing_invoice *inv);

/* An invoice made from a record (new; no lines), or NULL when out of
 * memory. */
billing_invoice *billing__invoice_from_record(const billing_invoice_record *r);

/* Appends a copy of line to inv's lines. */
int billing__invoice_add_line(billing_invoice *inv, const billing_invoice_line *line);

/* An invoice's amounts (billing__invoice_amounts). */
typedef struct {
	int64_t subtotal;               /* the lines' amounts, before discounts */
	int64_t discount;               /* what the lines' discounts took */
	int64_t tax;                    /* on each line's amount after its discount */
	int64_t total;                  /* subtotal - discount + tax */
	char discount_id[BILLING_ID_MAX];  /* the discount taken; "": none */
	/* The tax pass's (core/invoice_tax.h): the breakdown, the customer's
	 * taxExempt, the lines' tax texts; freed by billing__invoice_sum_free
	 * once the lines that point into it are written or copied. */
	billing__invoice_taxed taxed;
} billing__invoice_sum;

void billing__invoice_sum_free(billing__invoice_sum *s);

/*
 * The one place an invoice's lines become its amounts (renewals, first
 * invoices, prorations, drafts, previews): the discount pass
 * (billing__invoice_discount: each line's discount_id, pointing into out,
 * and discount_amount), then the tax pass (billing__invoice_tax, on each
 * line's amount after its discount). keep_id and commit as
 * billing__invoice_discount's.
 */
int billing__invoice_amounts(billing__invoice_sum *out, billing_ctx *ctx, billing_txn *tx,
	const billing__invoice_for *f, billing_invoice_line *lines, size_t n,
	const char *keep_id, bool commit);

/*
 * Finalization, shared by every invoice (issued by a subscription or a
 * draft finalized): in tx, applies the customer's balance (r's starting
 * and ending balance), takes the tenant's next number into number
 * (r->number points to it), sets finalized_at, and the status and
 * collection from what is due and r's collection method: nothing due is
 * paid at once; charge_automatically is collected from the default
 * payment method (billing__collection_plan); send_invoice waits, due
 * r->days_until_due days from now. r is then written by the caller.
 */
int billing__invoice_finalize_record(billing_ctx *ctx, billing_txn *tx,
	billing_invoice_record *r, char *number, size_t number_size, int64_t now);

/* After the finalized invoice r is written: the balance transaction of
 * what finalization applied of the customer's balance, if anything. */
int billing__invoice_balance_recorded(billing_ctx *ctx, billing_txn *tx,
	const billing_invoice_record *r);

/* The events of a finalized invoice: invoice.finalized, and invoice.paid
 * when finalization paid it. */
int billing__invoice_finalized_events(billing_ctx *ctx, billing_txn *tx,
	const billing_invoice *inv);

/* Room for an invoice number (a 16-character prefix, each possibly
 * "{YYYY}", and the counter). */
#define BILLING__INVOICE_NUMBER_MAX (128 + 24)

/* A document number: prefix + the counter zero-padded to 6 digits, "{YYYY}"
 * in the prefix replaced by the year of at (UTC). Invoices and credit notes
 * (credit_note.c) number alike. */
int billing__number_format(char *out, size_t size, const char *prefix, int64_t seq, int64_t at);

/* BILLING_OK when the invoice table allows from -> to. */
int billing__invoice_transition(billing_invoice_status from, billing_invoice_status to);

/* A plan as billing needs it, read inside the transaction. */
typedef struct {
	char id[BILLING_ID_MAX];
	char product_id[BILLING_ID_MAX];
	char name[512];
	char currency[4];
	int64_t amount;
	int interval;
	int32_t interval_count;
	int32_t trial_days;
	int32_t term_count;
	int active;
	int64_t deleted_at;
	int32_t tax_rate_bp;            /* the product's */
	billing__price_model price;     /* core/price.h; a perUnit one's unit is amount */
	int usage_type;                 /* BILLING__USAGE_LICENSED or _METERED (core/price.h) */
	char meter_id[BILLING_ID_MAX];  /* a metered plan's meter; "" otherwise */
} billing__plan_info;

/* Reads the plan and its product's tax rate; BILLING_ENOTFOUND if absent. */
int billing__plan_info_get(billing__plan_info *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *plan_id);

/* The plan alone, without a lock (a read-only transaction: billing_check);
 * tax_rate_bp is not read. */
int billing__plan_info_peek(billing__plan_info *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *plan_id);

/* A new invoice before it is finalized: lines with amounts and tax rates
 * (taxes and sums are computed by billing__invoice_issue). */
typedef struct {
	const char *tenant_id;
	const char *customer_id;
	const char *subscription_id;
	/* The subscription's record when the caller holds it (its taxes'
	 * defaultTaxRates are then not read again); NULL: read by id. */
	const billing_subscription_record *subscription;
	const char *currency;
	int64_t period_start;
	int64_t period_end;
	size_t line_count;
	billing_invoice_line *lines;
	/* NULL, or "subscription_threshold" (a spend threshold's invoice). */
	const char *billing_reason;
} billing__invoice_draft;

/* A new invoice's billing__invoice_for: its parties, at its period start. */
billing__invoice_for billing__invoice_draft_for(const billing__invoice_draft *d);

/* A trial's plan: free in every price model (a zero line, no tiers). */
void billing__plan_info_trial(billing__plan_info *plan);

/* The desc_size that always holds a line's description and its tiers
 * (BILLING__PRICE_TIERS_MAX of them at their longest). */
#define BILLING__PLAN_LINE_TEXT 12288

/*
 * One line for `quantity` of the plan over [start, end): amount = the
 * plan's price model applied to the quantity (billing__price_apply, the
 * only place the rule lives; BILLING_EOVERFLOW when it does not fit);
 * unit amount = the plan's amount per unit (of a package), 0 on a tiered
 * line; description names the plan. A tiered line's tiers
 * ([{upTo, quantity, unitAmount | unitAmountDecimal, flatAmount, amount}],
 * JSON) are written into desc after the description: desc_size must then
 * be BILLING__PLAN_LINE_TEXT. The line's strings point into plan and desc
 * (desc: caller's buffer).
 */
int billing__plan_line(billing_invoice_line *line, const billing__plan_info *plan,
	int32_t quantity, int64_t start, int64_t end, char *desc, size_t desc_size,
	const char *what);

/* billing__plan_line without the tiers (tiers NULL, no room needed for
 * them): a proration line, whose amount is a part of the model's. */
int billing__plan_line_untiered(billing_invoice_line *line, const billing__plan_info *plan,
	int32_t quantity, int64_t start, int64_t end, char *desc, size_t desc_size,
	const char *what);

/*
 * Computes each line's tax and the sums (checked), applies the customer's
 * balance in the invoice's currency (customer_balance.h: the amount due is
 * max(0, total + balance), a credit left over stays on the balance, a
 * negative total goes to it), takes the tenant's next number, writes the
 * invoice finalized (paid at once when nothing is due) with its events.
 * id receives the new invoice's id. Holds the customer's row to the end of
 * the transaction (lock order, txn.h).
 */
int billing__invoice_issue(billing_ctx *ctx, billing_txn *tx, const billing__invoice_draft *d,
	char id[BILLING_ID_MAX]);

/* Due work: a renewal's draft invoice to finalize (invoice_draft.c). */
#define BILLING__DUE_DRAFT "invoice_draft"

/*
 * A renewal's invoice written as a draft (the tenant's renewalDraftDelay,
 * billing/tenant.h): the lines of d with their taxes and sums, no number,
 * the customer's balance not yet applied, the event invoice.created, and
 * the due work that finalizes it at now + delay
 * (billing__invoice_draft_due). id receives its id. Until then invoice
 * items can be added to it or removed as on any draft.
 */
int billing__invoice_draft_issue(billing_ctx *ctx, billing_txn *tx,
	const billing__invoice_draft *d, int64_t delay, char id[BILLING_ID_MAX]);

/*
 * The billing run's due work BILLING__DUE_DRAFT: finalizes the draft
 * invoice id as POST /v1/invoices/{id}/finalize does (number, balance,
 * collection, events) and clears the work. A draft finalized, voided or
 * deleted meanwhile is left as it is: the invoice's lock makes the
 * finalization happen once.
 */
int billing__invoice_draft_due(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now);

/*
 * A renewal's draft inv (loaded in tx, status draft) whose subscription is
 * canceled with prorations before it was charged: its lines that name a
 * plan and span its own period (the plan's lines of the renewal) give way
 * to used[0..n) (the charge for the used time), put first; the other lines
 * (an earlier period's prorations and usage, invoice items) stay. The
 * discounts, taxes and sums are made again, with the event invoice.updated.
 */
int billing__invoice_draft_period_used(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	const billing_invoice_line *used, size_t n);

/* Fills discounts, taxes and sums into an invoice made in memory (a
 * preview), read in tx; nothing is written. */
int billing__invoice_preview_build(billing_invoice **out, billing_ctx *ctx, billing_txn *tx,
	const billing__invoice_draft *d);

/*
 * Applies the customer's balance in inv's currency to a preview as
 * finalizing it would (billing__balance_split, as
 * billing__invoice_finalize_record): startingBalance, endingBalance and
 * amountDue. The balance is read, not locked; nothing is written.
 */
int billing__invoice_preview_balance(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv);

#endif
