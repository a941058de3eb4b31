/**
 * @file billing/report.h
 * @brief Revenue reports computed from the billing history (issue #25;
 *        docs/reports.md).
 *
 * MRR (monthly recurring revenue) at a time `at`, in one currency: the sum,
 * over the tenant's subscriptions that were `active` or `past_due` at `at`,
 * of each subscription's recurring amount after its discount, normalized
 * to a month, in minor units. The subscription, its items and quantities,
 * and its plans' amounts are those in force at `at`, rebuilt from the
 * domain events (each event holds the object after the change); its
 * discount is the one in effect at `at` (the discounts table keeps start,
 * end and removal). Metered items are left out; a tiered item is priced at
 * its quantity by the plan's price model. Per item, the period amount a is
 * made a month's as a / count (MONTH), a / (12 count) (YEAR),
 * 52 a / (12 count) (WEEK), 365 a / (12 count) (DAY); the items' fractions
 * are added exactly (integers over a common denominator) and the sum is
 * rounded once per subscription, half away from zero. ARR = 12 x MRR.
 *
 * A report reads in one snapshot transaction and changes nothing. USER and
 * ADMIN may read reports.
 */
#ifndef BILLING_REPORT_H
#define BILLING_REPORT_H

#include "common.h"
#include "principal.h"

BILLING_BEGIN_DECL

/** MRR and ARR of one currency at one time. A plain value: the caller
 *  owns it (usually on the stack); nothing to free. */
typedef struct {
	int64_t at;                  /**< the time the report is of (UTC seconds) */
	char currency[4];            /**< ISO 4217, upper case */
	int64_t mrr;                 /**< minor units */
	int64_t arr;                 /**< 12 x mrr */
	int64_t subscriptions;       /**< active or past_due subscriptions in the currency */
	int64_t customers;           /**< distinct customers of those subscriptions */
} billing_mrr;

/**
 * MRR of the tenant in currency as it was at `at` (docs/reports.md).
 *
 * @param out      receives the report; zeroed first (at and currency set
 *                 once the arguments are checked)
 * @param ctx      the context
 * @param who      the principal (USER or ADMIN of a tenant)
 * @param currency ISO 4217 code in any case; required
 * @param at       the time (UTC seconds, >= 0); 0 means now
 * @return BILLING_OK; BILLING_EFORBIDDEN for a role that may not read;
 *         BILLING_EINVALID naming "currency" (missing or not a currency) or
 *         "at" (negative, or later than now), or reason "not_supported"
 *         when the storage has no events_latest (vtable before version 14);
 *         BILLING_EOVERFLOW when a sum does not fit; BILLING_ESTORAGE.
 */
BILLING_EXTERN(int) billing_report_mrr(billing_mrr *out, billing_ctx *ctx,
	const billing_principal *who, const char *currency, int64_t at);

/** The most months one movements report covers. */
#define BILLING_REPORT_MONTHS_MAX 36

/** One calendar month's MRR movements (docs/reports.md). Per customer: a
 *  customer's MRR is the sum of its subscriptions' in the currency, compared
 *  at the month's start and end. Signed minor units, so that
 *  start_mrr + new_mrr + expansion + contraction + churned + reactivated
 *  == end_mrr. */
typedef struct {
	int64_t start;               /**< the month's first second (UTC) */
	int64_t end;                 /**< the next month's start, or now for the current month */
	int64_t start_mrr;           /**< MRR at start */
	int64_t new_mrr;             /**< >= 0: customers at 0 then, never before in MRR */
	int64_t expansion;           /**< >= 0: customers whose MRR rose from above 0 */
	int64_t contraction;         /**< <= 0: customers whose MRR fell, not to 0 */
	int64_t churned;             /**< <= 0: customers whose MRR fell to 0 */
	int64_t reactivated;         /**< >= 0: customers at 0 then, in MRR before */
	int64_t end_mrr;             /**< MRR at end */
	int64_t start_customers;     /**< customers with MRR above 0 at start */
	int64_t new_customers;       /**< customers counted in new_mrr */
	int64_t expansion_customers;
	int64_t contraction_customers;
	int64_t churned_customers;
	int64_t reactivated_customers;
	int64_t end_customers;       /**< customers with MRR above 0 at end */
} billing_mrr_month;

/** MRR movements of one currency per calendar month of [from, to). A plain
 *  value (months inline): nothing to free. */
typedef struct {
	char currency[4];
	int64_t from;                /**< the first month's start */
	int64_t to;                  /**< the end of the range (a month's start) */
	size_t month_count;          /**< months[0 .. month_count) */
	billing_mrr_month months[BILLING_REPORT_MONTHS_MAX];
} billing_mrr_movements;

/**
 * MRR movements per calendar month (UTC) of [from, to) (docs/reports.md):
 * each customer's MRR (billing_report_mrr's, summed over its subscriptions)
 * at the month's start against its end: from 0 up is new (never before in
 * MRR: no active or past_due subscription in the currency before the
 * month) or reactivated; down to 0 churned; otherwise expansion or
 * contraction. Net per month: a customer who comes and goes within one
 * month moves nothing in it.
 *
 * @param out      receives the report; zeroed first
 * @param currency ISO 4217 code in any case; required
 * @param from     the first month's start: the first second of a month
 *                 (UTC), not after now
 * @param to       a month's first second after from, at most
 *                 BILLING_REPORT_MONTHS_MAX months later and at most the
 *                 start of the month after now (the current month ends now)
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID naming
 *         "currency", "from" or "to" (not a month's start, out of order,
 *         in the future, more than 36 months), or "not_supported" (storage
 *         before version 14); BILLING_EOVERFLOW; BILLING_ESTORAGE.
 */
BILLING_EXTERN(int) billing_report_mrr_movements(billing_mrr_movements *out, billing_ctx *ctx,
	const billing_principal *who, const char *currency, int64_t from, int64_t to);

/** Receivables ageing of one currency at one time (docs/reports.md). A
 *  plain value: nothing to free. */
typedef struct {
	int64_t at;                  /**< the time the report is of (UTC seconds) */
	char currency[4];
	int64_t current;             /**< not yet due, or due less than a day before at */
	int64_t days_1_30;           /**< 1 to 30 whole days past due */
	int64_t days_31_60;
	int64_t days_61_90;
	int64_t days_over_90;        /**< 91 days or more */
	int64_t total;               /**< the five added */
	int64_t invoices;            /**< open invoices */
	int64_t invoices_past_due;   /**< those past due by a day or more */
} billing_receivables_aging;

/**
 * Receivables ageing (docs/reports.md): the amount due (`amountDue`) of
 * every invoice in currency that was open (`pending` or `failed`) at `at`,
 * each in the bucket of its whole days past due at `at`, floor((at -
 * due) / 86400): below 1 current, 1-30, 31-60, 61-90, 91 and more. The due
 * time is the invoice's dueDate (send_invoice); a charge_automatically
 * invoice is due when it was finalized. Each invoice's state at `at` is its
 * latest event at or before `at` (one that was paid or voided later was
 * open then). Drafts, paid, void and uncollectible (written off) invoices
 * are not receivables.
 *
 * @param out, ctx, who, currency, at as billing_report_mrr
 * @return as billing_report_mrr
 */
BILLING_EXTERN(int) billing_report_receivables_aging(billing_receivables_aging *out,
	billing_ctx *ctx, const billing_principal *who, const char *currency, int64_t at);

/** Churn of a range (docs/reports.md). A plain value: nothing to free.
 *  A rate is in hundredths of a percent (2500 is 25.00 %), rounded half
 *  away from zero, and 0 when its base is 0 (see start_customers and
 *  start_mrr). */
typedef struct {
	char currency[4];            /**< the currency of the revenue figures */
	int64_t from;                /**< the range's start (UTC seconds) */
	int64_t to;                  /**< its end */
	int64_t start_customers;     /**< customers with a subscription active or past_due
	                                  at from, in any currency */
	int64_t churned_customers;   /**< of those, customers with none at to */
	int64_t customer_churn_bp;   /**< churned_customers / start_customers */
	int64_t start_mrr;           /**< MRR in currency at from */
	int64_t churned_mrr;         /**< <= 0: the MRR at from of the customers whose MRR
	                                  in currency was 0 at to */
	int64_t contraction_mrr;     /**< <= 0: the fall of the others' MRR that fell */
	int64_t expansion_mrr;       /**< >= 0: the rise of the others' MRR that rose */
	int64_t gross_revenue_churn_bp; /**< -(churned + contraction) / start_mrr */
	int64_t net_revenue_churn_bp;   /**< -(churned + contraction + expansion) /
	                                     start_mrr; below 0 when expansion is larger */
} billing_churn;

/**
 * Churn over [from, to) (docs/reports.md), of the customers there at
 * `from` (a cohort: customers who arrive during the range are not counted,
 * and one who leaves and comes back by `to` has not churned).
 * Customer (logo) churn counts customers, whatever their currency: a
 * customer is there at a time when one of its subscriptions is `active` or
 * `past_due` then. Revenue churn compares each customer's MRR in
 * `currency` (billing_report_mrr's, summed over its subscriptions) at
 * `from` and at `to`.
 *
 * @param out      receives the report; zeroed first
 * @param currency ISO 4217 code in any case; required (revenue churn is of
 *                 one currency)
 * @param from     the range's start (UTC seconds, >= 0, before to)
 * @param to       the range's end (after from, not after now)
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID naming
 *         "currency", "from" (negative) or "to" (not after from, or after
 *         now), or "not_supported" (storage before version 14);
 *         BILLING_EOVERFLOW; BILLING_ESTORAGE.
 */
BILLING_EXTERN(int) billing_report_churn(billing_churn *out, billing_ctx *ctx,
	const billing_principal *who, const char *currency, int64_t from, int64_t to);

/** ARPA (average revenue per account) of one currency at one time
 *  (docs/reports.md). A plain value: nothing to free. */
typedef struct {
	int64_t at;                  /**< the time the report is of (UTC seconds) */
	char currency[4];            /**< ISO 4217, upper case */
	int64_t mrr;                 /**< billing_report_mrr's MRR at at, minor units */
	int64_t paying_customers;    /**< customers whose MRR in currency was above 0 at at */
	int64_t arpa;                /**< mrr / paying_customers in minor units, rounded half
	                                  away from zero; 0 when paying_customers is 0 */
} billing_arpa;

/**
 * ARPA (docs/reports.md): the MRR in currency at `at` (billing_report_mrr's)
 * divided by the customers whose MRR (the sum of their subscriptions' in
 * currency) was above 0 then, the paying customers; rounded once to a
 * minor unit, half away from zero (1000.5 is 1001, not banker's 1000). A
 * customer whose subscriptions are all free (a 100 % coupon) or trialing
 * is not a paying customer. 0 when there is none.
 *
 * @param out, ctx, who, currency, at as billing_report_mrr
 * @return as billing_report_mrr
 */
BILLING_EXTERN(int) billing_report_arpa(billing_arpa *out, billing_ctx *ctx,
	const billing_principal *who, const char *currency, int64_t at);

/** Trial conversion over a range (docs/reports.md). A plain value: nothing
 *  to free. trials_ended = converted + canceled_during_trial +
 *  ended_unpaid. */
typedef struct {
	int64_t from;                /**< the range's start (UTC seconds) */
	int64_t to;                  /**< its end */
	int64_t trials_ended;        /**< trials that ended in [from, to) */
	int64_t converted;           /**< of those, the trials whose first charged invoice
	                                  (the one issued at the trial's end) was paid
	                                  before to */
	int64_t canceled_during_trial; /**< the subscriptions canceled during their trial */
	int64_t ended_unpaid;        /**< the trials that ended and whose first charged
	                                  invoice was not paid before to (its charge failed,
	                                  no payment method, still a draft) */
	int64_t conversion_bp;       /**< converted / trials_ended in hundredths of a percent,
	                                  rounded half away from zero; 0 when trials_ended
	                                  is 0 */
} billing_trial_conversion;

/**
 * Trial conversion over [from, to) (docs/reports.md): of the trials that
 * ended in the range, how many converted to paid and how many did not. A
 * trial ends at the time of the event that ends it: subscription.trial_ended
 * (written by the billing run that reaches the trial's end), or
 * subscription.canceled of a subscription whose trialEnd is later than its
 * canceledAt (canceled now during the trial, or at the period end asked
 * during it). A trial the billing run ended converted when the invoice it
 * issued then (the trial_ended event's latestInvoiceId) was paid
 * (invoice.paid) before `to`; otherwise it ended unpaid. The event's status
 * is no sign: it is `active` whatever the charge that follows does. Counts
 * of subscriptions, in every currency.
 *
 * @param out      receives the report; zeroed first
 * @param from     the range's start (UTC seconds, >= 0, before to)
 * @param to       the range's end (after from, not after now)
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID naming "from"
 *         (negative) or "to" (not after from, or after now);
 *         BILLING_ESTORAGE.
 */
BILLING_EXTERN(int) billing_report_trial_conversion(billing_trial_conversion *out,
	billing_ctx *ctx, const billing_principal *who, int64_t from, int64_t to);

/** One calendar month of invoiced against collected revenue
 *  (docs/reports.md), signed minor units of one currency:
 *  invoiced = finalized + voided, collected = paid + refunded. */
typedef struct {
	int64_t start;               /**< the month's first second (UTC) */
	int64_t end;                 /**< the next month's start, or now for the current month */
	int64_t finalized;           /**< the totals of the invoices finalized in the month */
	int64_t voided;              /**< <= 0: the totals of the invoices voided in the month,
	                                  whenever they were finalized */
	int64_t invoiced;            /**< finalized + voided */
	int64_t paid;                /**< >= 0: payments that succeeded in the month, and
	                                  invoices marked paid out of band in it (their
	                                  amountPaid) */
	int64_t refunded;            /**< <= 0: refunds that succeeded in the month (through
	                                  the provider, a credit note's refund among them) */
	int64_t collected;           /**< paid + refunded */
	int64_t outstanding;         /**< receivables at the month's end: the amount due of the
	                                  invoices open at its last second (at now for the
	                                  current month), as billing_report_receivables_aging's
	                                  total */
} billing_revenue_month;

/** Invoiced against collected revenue of one currency per calendar month
 *  of [from, to). A plain value (months inline): nothing to free. */
typedef struct {
	char currency[4];
	int64_t from;                /**< the first month's start */
	int64_t to;                  /**< the end of the range (a month's start) */
	size_t month_count;          /**< months[0 .. month_count) */
	billing_revenue_month months[BILLING_REPORT_MONTHS_MAX];
} billing_revenue;

/**
 * Invoiced against collected revenue per calendar month (UTC) of [from, to)
 * (docs/reports.md), in one currency, from the events of the invoices and
 * payments: an invoice counts its total in the month it was finalized and
 * again, negated, in the month it was voided (a past month's figure never
 * changes afterwards); a payment counts its amount in the month it
 * succeeded, a refund negated in the month it succeeded; an invoice marked
 * paid out of band counts its amountPaid as paid in that month. What the
 * customer's balance paid, and credit notes credited to the balance, are
 * no cash and not collected; a written-off (uncollectible) invoice stays
 * invoiced. Months with nothing are zeros.
 *
 * @param out      receives the report; zeroed first
 * @param currency ISO 4217 code in any case; required
 * @param from, to as billing_report_mrr_movements: months' first seconds,
 *                 at most BILLING_REPORT_MONTHS_MAX months, the current
 *                 month ending now
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID naming
 *         "currency", "from" or "to", or "not_supported" (storage before
 *         version 14); BILLING_EOVERFLOW; BILLING_ESTORAGE.
 */
BILLING_EXTERN(int) billing_report_revenue(billing_revenue *out, billing_ctx *ctx,
	const billing_principal *who, const char *currency, int64_t from, int64_t to);

/** Failed-payment recovery over a range (docs/reports.md). A plain value:
 *  nothing to free. failed_invoices = recovered + open + uncollectible +
 *  voided. */
typedef struct {
	char currency[4];
	int64_t from;                /**< the range's start (UTC seconds) */
	int64_t to;                  /**< its end */
	int64_t failed_invoices;     /**< invoices in currency whose first failed payment
	                                  (invoice.payment_failed) was in [from, to) */
	int64_t failed_amount;       /**< their amountDue when they first failed */
	int64_t recovered;           /**< of those, paid before to (a retry, by hand, out of
	                                  band) */
	int64_t recovered_amount;    /**< their amountPaid */
	int64_t open;                /**< still pending or failed at to */
	int64_t uncollectible;       /**< written off at to */
	int64_t voided;              /**< void at to */
	int64_t recovery_bp;         /**< recovered / failed_invoices in hundredths of a
	                                  percent, rounded half away from zero; 0 when
	                                  failed_invoices is 0 */
} billing_payment_recovery;

/**
 * Failed-payment recovery over [from, to) (docs/reports.md): the invoices
 * in currency whose first failed payment attempt (their first
 * invoice.payment_failed event) was in the range, and what had become of
 * them by `to` (each invoice's state then, from its latest event before
 * to): paid (recovered), still open, written off or voided.
 *
 * @param out      receives the report; zeroed first
 * @param currency ISO 4217 code in any case; required
 * @param from     the range's start (UTC seconds, >= 0, before to)
 * @param to       the range's end (after from, not after now)
 * @return BILLING_OK; BILLING_EFORBIDDEN; BILLING_EINVALID naming
 *         "currency", "from" (negative) or "to" (not after from, or after
 *         now), or "not_supported" (storage before version 14);
 *         BILLING_EOVERFLOW; BILLING_ESTORAGE.
 */
BILLING_EXTERN(int) billing_report_payment_recovery(billing_payment_recovery *out,
	billing_ctx *ctx, const billing_principal *who, const char *currency, int64_t from,
	int64_t to);

BILLING_END_DECL

#endif
