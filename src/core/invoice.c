/*
 * Invoices: issuing (finalizing with a gapless number), reading, voiding,
 * previewing. Lines are immutable once written; sums are integers checked
 * for overflow here and by the schema.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/calendar.h"
#include "core/core.h"
#include "core/customer_balance.h"
#include "core/entity.h"
#include "core/events.h"
#include "core/discount.h"
#include "core/invoice_internal.h"
#include "core/meter.h"
#include "core/payment_internal.h"


/* ------------------------------------------------------------ state table */

/* A draft is deleted, never voided (Stripe's rule): a void keeps the
 * invoice, and a draft's items must go back to waiting. */
static const billing_invoice_transition transitions[] = {
	{ BILLING_INVOICE_DRAFT, BILLING_INVOICE_PENDING, "finalized" },
	{ BILLING_INVOICE_DRAFT, BILLING_INVOICE_PAID, "finalized with nothing to pay" },
	{ BILLING_INVOICE_PENDING, BILLING_INVOICE_PAID, "paid" },
	{ BILLING_INVOICE_PENDING, BILLING_INVOICE_FAILED, "payment failed" },
	{ BILLING_INVOICE_PENDING, BILLING_INVOICE_VOID, "voided" },
	{ BILLING_INVOICE_FAILED, BILLING_INVOICE_PAID, "paid on a retry" },
	{ BILLING_INVOICE_FAILED, BILLING_INVOICE_VOID, "voided after failed collection" },
	{ BILLING_INVOICE_PENDING, BILLING_INVOICE_UNCOLLECTIBLE, "marked uncollectible" },
	{ BILLING_INVOICE_FAILED, BILLING_INVOICE_UNCOLLECTIBLE,
		"marked uncollectible after failed collection" },
	{ BILLING_INVOICE_UNCOLLECTIBLE, BILLING_INVOICE_PAID, "paid after all" },
	{ BILLING_INVOICE_UNCOLLECTIBLE, BILLING_INVOICE_VOID, "voided once written off" },
};

const billing_invoice_transition *billing_invoice_transitions(size_t *count)
{
	if (count)
		*count = sizeof(transitions) / sizeof(transitions[0]);
	return transitions;
}

const char *billing_invoice_status_name(billing_invoice_status s)
{
	switch (s) {
	case BILLING_INVOICE_DRAFT: return "draft";
	case BILLING_INVOICE_PENDING: return "pending";
	case BILLING_INVOICE_PAID: return "paid";
	case BILLING_INVOICE_FAILED: return "failed";
	case BILLING_INVOICE_VOID: return "void";
	case BILLING_INVOICE_UNCOLLECTIBLE: return "uncollectible";
	default: return NULL;
	}
}

static int transition(billing_invoice_status from, billing_invoice_status to)
{
	size_t i;
	for (i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (transitions[i].from == from && transitions[i].to == to)
			return BILLING_OK;
	return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
		"an invoice cannot go from %s to %s", billing_invoice_status_name(from),
		billing_invoice_status_name(to));
}

/* ------------------------------------------------------------ objects */

void billing_invoice_free(billing_invoice *inv)
{
	size_t i;
	if (!inv)
		return;
	for (i = 0; i < inv->line_count * BILLING__LINE_STRINGS; i++)
		billing__free(inv->line_strings[i]);
	billing__free(inv->line_strings);
	billing__free(inv->lines);
	billing_payment_free(inv->action);
	billing__free(inv);
}

static void free_item(void *item)
{
	billing_invoice_free(item);
}

static void *from_record(const void *record)
{
	const billing_invoice_record *r = record;
	billing_invoice *inv;
	billing__strpack sp;
	size_t strings = billing__strsize(r->tenant_id) + billing__strsize(r->id) +
		billing__strsize(r->customer_id) + billing__strsize(r->subscription_id) +
		billing__strsize(r->number) + billing__strsize(r->currency) +
		billing__strsize(r->memo) + billing__strsize(r->footer) +
		billing__strsize(r->discount_id) +
		billing__strsize(r->total_tax_amounts_json) +
		billing__strsize(r->default_tax_rates_json) + billing__strsize(r->billing_reason);

	if ((inv = billing__calloc(1, sizeof(*inv) + strings)) == NULL)
		return NULL;
	sp.next = (char *)(inv + 1);
	inv->tenant_id = billing__strpack_put(&sp, r->tenant_id);
	inv->id = billing__strpack_put(&sp, r->id);
	inv->customer_id = billing__strpack_put(&sp, r->customer_id);
	inv->subscription_id = billing__strpack_put(&sp, r->subscription_id);
	inv->number = billing__strpack_put(&sp, r->number);
	inv->currency = billing__strpack_put(&sp, r->currency);
	inv->status = (billing_invoice_status)r->status;
	inv->subtotal = r->subtotal;
	inv->tax = r->tax;
	inv->total = r->total;
	inv->amount_paid = r->amount_paid;
	inv->amount_due = r->amount_due;
	inv->period_start = r->period_start;
	inv->period_end = r->period_end;
	inv->created_at = r->created_at;
	inv->finalized_at = r->finalized_at;
	inv->paid_at = r->paid_at;
	inv->voided_at = r->voided_at;
	inv->updated_at = r->updated_at;
	inv->version = r->version;
	inv->attempt_count = r->attempt_count;
	inv->next_attempt_at = r->next_attempt_at;
	inv->starting_balance = r->starting_balance;
	inv->ending_balance = r->ending_balance;
	inv->collection_method = r->collection_method ? r->collection_method :
		BILLING_CHARGE_AUTOMATICALLY;
	inv->days_until_due = r->days_until_due;
	inv->due_date = r->due_date;
	inv->memo = billing__strpack_put(&sp, r->memo);
	inv->footer = billing__strpack_put(&sp, r->footer);
	inv->paid_out_of_band = r->paid_out_of_band;
	inv->pre_credit_notes = r->pre_payment_credit_notes_amount;
	inv->post_credit_notes = r->post_payment_credit_notes_amount;
	inv->discount_id = billing__strpack_put(&sp, r->discount_id);
	inv->total_tax_amounts = billing__strpack_put(&sp, r->total_tax_amounts_json);
	inv->customer_tax_exempt = r->customer_tax_exempt;
	inv->default_tax_rates = billing__strpack_put(&sp, r->default_tax_rates_json);
	inv->billing_reason = billing__strpack_put(&sp, r->billing_reason);
	inv->total_discount = r->total_discount;
	return inv;
}

billing_invoice *billing__invoice_from_record(const billing_invoice_record *r)
{
	return from_record(r);
}

/* Appends a copy of line to inv. */
static int add_line(billing_invoice *inv, const billing_invoice_line *line)
{
	billing_invoice_line *l;
	char **strs;
	if (inv->line_count == inv->line_cap) {
		size_t cap = inv->line_cap ? inv->line_cap * 2 : 4;
		billing_invoice_line *lines = billing__realloc(inv->lines, cap * sizeof(*lines));
		if (!lines)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		inv->lines = lines;
		if ((strs = billing__realloc(inv->line_strings,
			cap * BILLING__LINE_STRINGS * sizeof(*strs))) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		inv->line_strings = strs;
		inv->line_cap = cap;
	}
	l = &inv->lines[inv->line_count];
	strs = inv->line_strings + inv->line_count * BILLING__LINE_STRINGS;
	*l = *line;
	l->description = strs[0] = billing__strdup(line->description);
	l->plan_id = strs[1] = billing__strdup(line->plan_id);
	l->tiers = strs[2] = billing__strdup(line->tiers);
	l->subscription_item_id = strs[3] = billing__strdup(line->subscription_item_id);
	l->discount_id = strs[4] = billing__strdup(line->discount_id);
	l->tax_amounts = strs[5] = billing__strdup(line->tax_amounts);
	l->tax_rates = strs[6] = billing__strdup(line->tax_rates);
	inv->line_count++;
	if (!l->description || (line->plan_id && !l->plan_id) || (line->tiers && !l->tiers) ||
	    (line->subscription_item_id && !l->subscription_item_id) ||
	    (line->discount_id && !l->discount_id) ||
	    (line->tax_amounts && !l->tax_amounts) || (line->tax_rates && !l->tax_rates))
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

static int line_row(void *payload, const void *record)
{
	return add_line(payload, record);
}

/* The lines, and the payment that awaits the customer's action
 * (payment_action.c). */
static int load_lines(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv)
{
	int rc = billing__list_owned(ctx->st, tx, &billing__res_invoice_line, inv->tenant_id,
		inv->id, line_row, inv);
	return rc < 0 ? rc : billing__invoice_action_load(ctx, tx, inv);
}

static int64_t version_of(const void *item)
{
	return ((const billing_invoice *)item)->version;
}

/* In a write transaction the invoice's collection work is locked first,
 * as the billing run holds it when it reads the invoice (txn.h). */
static int st_get(billing_storage *st, billing_txn *tx, const char *tenant_id, const char *id,
	billing_row_cb cb, void *payload)
{
	int rc = billing__due_lock(st, tx, tenant_id, BILLING__DUE_COLLECT, id, 0);
	if (rc < 0)
		return rc;
	return st->record_read(tx, &billing__res_invoice, tenant_id, id, BILLING_LOCK_UPDATE, cb, payload);
}

static int st_list(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_list_query *q, billing_row_cb cb, void *payload)
{
	return billing__list_records(st, tx, &billing__res_invoice, tenant_id, q, cb, payload);
}

/* Invoices are written by billing__invoice_issue and by their own state
 * changes (void here, payments later), never through the generic flows. */
static const billing__entity entity = {
	"invoice", from_record, free_item, version_of, NULL,
	st_get, NULL, NULL, NULL, st_list,
	NULL, NULL, NULL, NULL
};

static void record_of(billing_invoice_record *r, const billing_invoice *inv)
{
	memset(r, 0, sizeof(*r));
	r->tenant_id = inv->tenant_id;
	r->id = inv->id;
	r->customer_id = inv->customer_id;
	r->subscription_id = inv->subscription_id;
	r->number = inv->number;
	r->status = inv->status;
	r->currency = inv->currency;
	r->subtotal = inv->subtotal;
	r->tax = inv->tax;
	r->total = inv->total;
	r->amount_paid = inv->amount_paid;
	r->amount_due = inv->amount_due;
	r->period_start = inv->period_start;
	r->period_end = inv->period_end;
	r->created_at = inv->created_at;
	r->finalized_at = inv->finalized_at;
	r->paid_at = inv->paid_at;
	r->voided_at = inv->voided_at;
	r->updated_at = inv->updated_at;
	r->version = inv->version;
	r->attempt_count = inv->attempt_count;
	r->next_attempt_at = inv->next_attempt_at;
	r->starting_balance = inv->starting_balance;
	r->ending_balance = inv->ending_balance;
	r->collection_method = inv->collection_method;
	r->days_until_due = inv->days_until_due;
	r->due_date = inv->due_date;
	r->memo = inv->memo;
	r->footer = inv->footer;
	r->paid_out_of_band = inv->paid_out_of_band;
	r->pre_payment_credit_notes_amount = inv->pre_credit_notes;
	r->post_payment_credit_notes_amount = inv->post_credit_notes;
	r->discount_id = inv->discount_id;
	r->total_tax_amounts_json = inv->total_tax_amounts;
	r->customer_tax_exempt = inv->customer_tax_exempt;
	r->default_tax_rates_json = inv->default_tax_rates;
	r->billing_reason = inv->billing_reason;
	r->total_discount = inv->total_discount;
}

void billing__invoice_record_of(billing_invoice_record *r, const billing_invoice *inv)
{
	record_of(r, inv);
}

int billing__invoice_add_line(billing_invoice *inv, const billing_invoice_line *line)
{
	return add_line(inv, line);
}

int billing__invoice_load(billing_invoice **out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *id)
{
	billing_invoice *inv = NULL;
	int rc = billing__entity_get_in((void **)&inv, &entity, ctx, tx, tenant_id, id);
	if (rc == BILLING_OK && (rc = load_lines(ctx, tx, inv)) < 0) {
		billing_invoice_free(inv);
		inv = NULL;
	}
	*out = inv;
	return rc;
}

int billing__invoice_save(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	const char *event)
{
	billing_invoice_record r;
	int64_t old_version = inv->version;
	int rc;

	inv->updated_at = billing__now(ctx);
	inv->version++;
	record_of(&r, inv);
	if ((rc = ctx->st->record_update(tx, &billing__res_invoice, &r, old_version)) < 0 || !event)
		return rc;
	return billing__event_emit(ctx, tx, inv->tenant_id, event, "invoice", inv->id,
		billing__json_invoice, inv);
}

int64_t billing__invoice_remaining(const billing_invoice *inv)
{
	return inv->total + inv->starting_balance - inv->ending_balance - inv->amount_paid -
		inv->pre_credit_notes;
}

int billing__invoice_transition(billing_invoice_status from, billing_invoice_status to)
{
	return transition(from, to);
}

/* ------------------------------------------------------------ issuing */

struct plan_capture {
	billing__plan_info *info;
};

/* The price model of a stored plan; one the rules would refuse (written
 * behind the library's back) is an error rather than a guess. */
static int price_model_of(billing__price_model *m, const billing_plan_record *r)
{
	billing__checks ck = BILLING__CHECKS_INIT;

	billing__price_model_parse(m, &ck, r->billing_scheme, r->tiers_mode, r->amount, r->tiers,
		r->transform_quantity);
	if (ck.count)
		return billing__error_set(BILLING_ERROR, "invalid_price_model",
			"plan %s: its stored price model is invalid (%s: %s)", r->id, ck.items[0].field,
			ck.items[0].message);
	return BILLING_OK;
}

static int plan_row(void *payload, const void *record)
{
	billing__plan_info *p = payload;
	const billing_plan_record *r = record;
	snprintf(p->id, sizeof(p->id), "%s", r->id);
	snprintf(p->product_id, sizeof(p->product_id), "%s", r->product_id);
	snprintf(p->name, sizeof(p->name), "%s", r->name);
	snprintf(p->currency, sizeof(p->currency), "%s", r->currency);
	p->amount = r->amount;
	p->interval = r->interval;
	p->interval_count = r->interval_count;
	p->trial_days = r->trial_days;
	p->term_count = r->term_count;
	p->active = r->active;
	p->deleted_at = r->deleted_at;
	p->usage_type = r->usage_type;
	snprintf(p->meter_id, sizeof(p->meter_id), "%s", r->meter_id ? r->meter_id : "");
	return price_model_of(&p->price, r);
}

static int product_tax_row(void *payload, const void *record)
{
	*(int32_t *)payload = ((const billing_product_record *)record)->tax_rate_bp;
	return BILLING_OK;
}

int billing__plan_info_get(billing__plan_info *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *plan_id)
{
	int rc;
	memset(out, 0, sizeof(*out));
	/* Shared, not for update: see the lock order in txn.h. */
	if ((rc = billing__read(ctx->st, tx, &billing__res_plan, tenant_id, plan_id, BILLING_LOCK_SHARE, plan_row,
		out)) < 0)
		return rc;
	return billing__read(ctx->st, tx, &billing__res_product, tenant_id, out->product_id, BILLING_LOCK_NONE,
		product_tax_row, &out->tax_rate_bp);
}

int billing__plan_info_peek(billing__plan_info *out, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *plan_id)
{
	memset(out, 0, sizeof(*out));
	return billing__read(ctx->st, tx, &billing__res_plan, tenant_id, plan_id, BILLING_LOCK_NONE,
		plan_row, out);
}

void billing__plan_info_trial(billing__plan_info *plan)
{
	plan->amount = 0;
	memset(&plan->price, 0, offsetof(billing__price_model, tiers));
	plan->price.scheme = BILLING__SCHEME_PER_UNIT;
}

/* The tiers of r as JSON text at out (size bytes): [{upTo, quantity,
 * unitAmount | unitAmountDecimal, flatAmount, amount}]; false when it
 * does not fit. */
static bool tiers_text(char *out, size_t size, const billing__price_result *r)
{
	size_t i, n = 0;
	int k;

	for (i = 0; i < r->tier_count; i++) {
		const billing__price_tier_use *t = &r->tiers[i];
		char up[24], unit[48];
		if (t->up_to)
			snprintf(up, sizeof(up), "%" PRId64, t->up_to);
		else
			snprintf(up, sizeof(up), "null");
		billing__price_unit_format(unit, sizeof(unit), t->unit_amount, t->unit_pico,
			t->decimal);
		k = snprintf(out + n, size - n, "%s{\"upTo\":%s,\"quantity\":%" PRId64 ",%s%s%s,"
			"\"flatAmount\":%" PRId64 ",\"amount\":%" PRId64 "}", i ? "," : "[", up,
			t->quantity, t->decimal ? "\"unitAmountDecimal\":\"" : "\"unitAmount\":", unit,
			t->decimal ? "\"" : "", t->flat_amount, t->amount);
		if (k < 0 || (size_t)k >= size - n)
			return false;
		n += (size_t)k;
	}
	return n + 2 <= size && snprintf(out + n, size - n, "]") == 1;
}

static int plan_line(billing_invoice_line *line, const billing__plan_info *plan,
	int32_t quantity, int64_t start, int64_t end, char *desc, size_t desc_size,
	const char *what, bool tiers)
{
	billing__price_model m = plan->price;
	billing__price_result r;
	size_t used;
	int rc;

	memset(line, 0, sizeof(*line));
	/* A perUnit plan's unit is its amount (a trial's is 0). */
	if (m.scheme == BILLING__SCHEME_PER_UNIT)
		m.unit_amount = plan->amount;
	if ((rc = billing__price_apply(&r, &m, quantity)) < 0)
		return rc;
	if (quantity == 1)
		snprintf(desc, desc_size, "%s%s", what ? what : "", plan->name);
	else
		snprintf(desc, desc_size, "%s%d x %s", what ? what : "", quantity, plan->name);
	line->description = desc;
	line->plan_id = plan->id;
	line->period_start = start;
	line->period_end = end;
	line->quantity = quantity;
	line->unit_amount = m.scheme == BILLING__SCHEME_PER_UNIT ? plan->amount : 0;
	line->amount = r.amount;
	line->tax_rate_bp = plan->tax_rate_bp;
	line->proration = 0;
	if (tiers && r.tier_count) {
		used = strlen(desc) + 1;
		if (used >= desc_size || !tiers_text(desc + used, desc_size - used, &r))
			return billing__error_set(BILLING_ERROR, "line_too_long",
				"the tiers of a line of plan %s do not fit its %zu bytes of text",
				plan->id, desc_size);
		line->tiers = desc + used;
	}
	return BILLING_OK;
}

int billing__plan_line(billing_invoice_line *line, const billing__plan_info *plan,
	int32_t quantity, int64_t start, int64_t end, char *desc, size_t desc_size,
	const char *what)
{
	return plan_line(line, plan, quantity, start, end, desc, desc_size, what, true);
}

int billing__plan_line_untiered(billing_invoice_line *line, const billing__plan_info *plan,
	int32_t quantity, int64_t start, int64_t end, char *desc, size_t desc_size,
	const char *what)
{
	return plan_line(line, plan, quantity, start, end, desc, desc_size, what, false);
}

#define PREFIX_MAX 128  /* 16 characters, each possibly "{YYYY}" (BILLING__INVOICE_NUMBER_MAX) */

static int prefix_row(void *payload, const void *record)
{
	snprintf(payload, PREFIX_MAX, "%s", ((const billing_tenant_record *)record)->invoice_prefix);
	return BILLING_OK;
}

int billing__number_format(char *out, size_t size, const char *prefix, int64_t seq, int64_t at)
{
	char year[8] = "", date[BILLING_TIME_FORMAT_SIZE];
	const char *p = prefix;
	size_t j = 0;

	if (billing__time_format(date, sizeof(date), at) == BILLING_OK)
		snprintf(year, sizeof(year), "%.4s", date);
	while (*p && j + 8 < size) {
		if (strncmp(p, "{YYYY}", 6) == 0) {
			memcpy(out + j, year, 4);
			j += 4;
			p += 6;
		} else {
			out[j++] = *p++;
		}
	}
	out[j] = '\0';
	if ((size_t)snprintf(out + j, size - j, "%06lld", (long long)seq) >= size - j)
		return billing__error_set(BILLING_ERROR, NULL, "number too long");
	return BILLING_OK;
}

void billing__invoice_sum_free(billing__invoice_sum *s)
{
	if (s)
		billing__invoice_taxed_free(&s->taxed);
}

billing__invoice_for billing__invoice_draft_for(const billing__invoice_draft *d)
{
	billing__invoice_for f = { d->tenant_id, d->customer_id, d->subscription_id,
		d->subscription, d->currency, d->period_start, NULL };
	return f;
}

int billing__invoice_amounts(billing__invoice_sum *out, billing_ctx *ctx, billing_txn *tx,
	const billing__invoice_for *f, billing_invoice_line *lines, size_t n,
	const char *keep_id, bool commit)
{
	billing__invoice_discount_result dr;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = billing__invoice_discount(&dr, ctx, tx, f->tenant_id, f->customer_id,
		f->subscription_id, f->currency, f->at, lines, n, keep_id, commit)) < 0 ||
	    (rc = billing__invoice_tax(&out->taxed, ctx, tx, f, lines, n)) < 0)
		return rc;
	out->subtotal = out->taxed.subtotal;
	out->discount = out->taxed.discount;
	out->tax = out->taxed.tax;
	out->total = out->taxed.total;
	/* The lines' discount_id pointed into dr: into out from here. */
	snprintf(out->discount_id, sizeof(out->discount_id), "%s", dr.discount_id);
	for (size_t i = 0; i < n; i++)
		if (lines[i].discount_id)
			lines[i].discount_id = out->discount_id;
	return BILLING_OK;
}

#define DAY_SECONDS 86400

int billing__invoice_finalize_record(billing_ctx *ctx, billing_txn *tx,
	billing_invoice_record *r, char *number, size_t number_size, int64_t now)
{
	char prefix[PREFIX_MAX] = "";
	int64_t seq, due;
	int rc;

	/* The number is taken inside this transaction: it is the tenant's next
	 * one, and a rollback gives it back, so numbers have no gap. */
	if ((rc = billing__read(ctx->st, tx, &billing__res_tenant, NULL, r->tenant_id,
		BILLING_LOCK_NONE, prefix_row, prefix)) < 0 ||
	    (rc = ctx->st->invoice_number_next(tx, r->tenant_id, &seq)) < 0)
		return rc;
	/* The customer's balance, held from here: after the counter (txn.h,
	 * step 5), since a batch of the billing run holds the counter from its
	 * first renewal and takes each renewal's customer after it. The
	 * transaction that records its application is written once the invoice
	 * is (billing__invoice_balance_recorded). */
	if ((rc = billing__balance_get(ctx, tx, r->tenant_id, r->customer_id, r->currency,
		&r->starting_balance)) < 0 ||
	    (rc = billing__balance_split(r->total, r->starting_balance, &due,
		&r->ending_balance)) < 0)
		return rc;
	if ((rc = billing__number_format(number, number_size, prefix, seq, now)) < 0)
		return rc;
	r->number = number;
	r->finalized_at = now;
	r->updated_at = now;
	if (!r->collection_method)
		r->collection_method = BILLING_CHARGE_AUTOMATICALLY;
	r->amount_paid = 0;
	r->next_attempt_at = 0;
	r->due_date = 0;
	/* Nothing to pay (a trial, a credit that covers the charge, a negative
	 * total whose credit went to the balance): paid now. */
	if (due == 0) {
		r->status = BILLING_INVOICE_PAID;
		r->paid_at = now;
		r->amount_due = 0;
		return BILLING_OK;
	}
	r->status = BILLING_INVOICE_PENDING;
	r->amount_due = due;
	if (r->collection_method == BILLING_SEND_INVOICE) {
		/* Sent: the customer pays by the due date; nothing is charged. */
		r->due_date = now + (int64_t)r->days_until_due * DAY_SECONDS;
		return BILLING_OK;
	}
	/* Collected from the customer's default payment method right after the
	 * finalizing call commits, or by the billing run should that not happen
	 * (the due work is the promise). */
	return billing__collection_plan(ctx, tx, r->tenant_id, r->customer_id, r->subscription_id,
		r->id, now, &r->next_attempt_at);
}

int billing__invoice_balance_recorded(billing_ctx *ctx, billing_txn *tx,
	const billing_invoice_record *r)
{
	if (r->ending_balance == r->starting_balance)
		return BILLING_OK;
	return billing__balance_record(ctx, tx, r->tenant_id, r->customer_id, r->currency,
		BILLING_BALANCE_APPLIED_TO_INVOICE, r->ending_balance - r->starting_balance, r->id,
		NULL, NULL);
}

int billing__invoice_finalized_events(billing_ctx *ctx, billing_txn *tx,
	const billing_invoice *inv)
{
	int rc = billing__event_emit(ctx, tx, inv->tenant_id, "invoice.finalized", "invoice",
		inv->id, billing__json_invoice, inv);
	if (rc == BILLING_OK && inv->status == BILLING_INVOICE_PAID)
		rc = billing__event_emit(ctx, tx, inv->tenant_id, "invoice.paid", "invoice", inv->id,
			billing__json_invoice, inv);
	return rc;
}

int billing__invoice_issue(billing_ctx *ctx, billing_txn *tx, const billing__invoice_draft *d,
	char id[BILLING_ID_MAX])
{
	billing_invoice_record r;
	billing_invoice *inv = NULL;
	char number[BILLING__INVOICE_NUMBER_MAX];
	billing__invoice_sum s;
	billing__invoice_for f = billing__invoice_draft_for(d);
	int64_t now = billing__now(ctx);
	int rc;

	if ((rc = billing__invoice_amounts(&s, ctx, tx, &f, d->lines, d->line_count, NULL,
		true)) < 0)
		goto out;
	if (billing__id_new(id, "in", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto out;
	}

	memset(&r, 0, sizeof(r));
	r.tenant_id = d->tenant_id;
	r.id = id;
	r.customer_id = d->customer_id;
	r.subscription_id = d->subscription_id;
	r.currency = d->currency;
	r.subtotal = s.subtotal;
	r.total_discount = s.discount;
	r.discount_id = s.discount_id[0] ? s.discount_id : NULL;
	r.tax = s.tax;
	r.total = s.total;
	r.total_tax_amounts_json = s.taxed.total_tax_amounts;
	r.customer_tax_exempt = s.taxed.customer_tax_exempt;
	r.period_start = d->period_start;
	r.period_end = d->period_end;
	r.created_at = r.updated_at = now;
	r.version = 1;
	r.line_count = d->line_count;
	r.lines = d->lines;
	r.collection_method = BILLING_CHARGE_AUTOMATICALLY;
	r.billing_reason = d->billing_reason;
	if ((rc = billing__invoice_finalize_record(ctx, tx, &r, number, sizeof(number), now)) < 0)
		goto out;
	if ((rc = billing__insert(ctx->st, tx, &billing__res_invoice, &r)) < 0 ||
	    (rc = billing__lines_insert(ctx->st, tx, &billing__res_invoice_line, d->tenant_id, id,
		d->lines, d->line_count, 1)) < 0)
		goto out;
	if ((rc = billing__invoice_balance_recorded(ctx, tx, &r)) < 0)
		goto out;
	if ((inv = from_record(&r)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	for (size_t i = 0; rc == BILLING_OK && i < d->line_count; i++)
		rc = add_line(inv, &d->lines[i]);
	if (rc == BILLING_OK)
		rc = billing__event_emit(ctx, tx, d->tenant_id, "invoice.created", "invoice", id,
			billing__json_invoice, inv);
	if (rc == BILLING_OK)
		rc = billing__invoice_finalized_events(ctx, tx, inv);
	billing_invoice_free(inv);
out:
	billing__invoice_sum_free(&s);
	return rc;
}

int billing__invoice_preview_build(billing_invoice **out, billing_ctx *ctx, billing_txn *tx,
	const billing__invoice_draft *d)
{
	billing_invoice_record r;
	billing_invoice *inv;
	billing__invoice_sum s;
	billing__invoice_for f = billing__invoice_draft_for(d);
	int64_t total;
	size_t i;
	int rc;

	if ((rc = billing__invoice_amounts(&s, ctx, tx, &f, d->lines, d->line_count, NULL,
		false)) < 0) {
		billing__invoice_sum_free(&s);
		return rc;
	}
	total = s.total;
	memset(&r, 0, sizeof(r));
	r.tenant_id = d->tenant_id;
	r.customer_id = d->customer_id;
	r.subscription_id = d->subscription_id;
	r.currency = d->currency;
	r.status = BILLING_INVOICE_DRAFT;
	r.collection_method = BILLING_CHARGE_AUTOMATICALLY;
	r.subtotal = s.subtotal;
	r.total_discount = s.discount;
	r.discount_id = s.discount_id[0] ? s.discount_id : NULL;
	r.tax = s.tax;
	r.total = total;
	r.amount_due = total > 0 ? total : 0;
	r.total_tax_amounts_json = s.taxed.total_tax_amounts;
	r.customer_tax_exempt = s.taxed.customer_tax_exempt;
	r.period_start = d->period_start;
	r.period_end = d->period_end;
	inv = from_record(&r);
	for (i = 0; inv && i < d->line_count; i++) {
		if ((rc = add_line(inv, &d->lines[i])) < 0) {
			billing__invoice_sum_free(&s);
			billing_invoice_free(inv);
			return rc;
		}
	}
	billing__invoice_sum_free(&s);
	if (!inv)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	*out = inv;
	return BILLING_OK;
}

int billing__invoice_preview_balance(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv)
{
	int64_t due;
	int rc;

	/* Read without a lock (the preview's transaction is read-only), then
	 * applied by the split billing__invoice_finalize_record makes. */
	if ((rc = billing__balance_peek(ctx, tx, inv->tenant_id, inv->customer_id, inv->currency,
		&inv->starting_balance)) < 0 ||
	    (rc = billing__balance_split(inv->total, inv->starting_balance, &due,
		&inv->ending_balance)) < 0)
		return rc;
	inv->amount_due = due;
	return BILLING_OK;
}

/* ------------------------------------------------------------ calls */

int billing_invoice_get(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	billing_invoice *inv = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_GET)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (!billing__id_arg_ok(id, "in"))
		return billing__not_found("invoice");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) < 0)
		return rc;
	rc = billing__entity_get_in((void **)&inv, &entity, ctx, tx, who->tenant_id, id);
	if (rc == BILLING_OK)
		rc = load_lines(ctx, tx, inv);
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing_invoice_free(inv);
		return rc;
	}
	*out = inv;
	return BILLING_OK;
}

static void sort_key(const void *item, const char **text, int64_t *num, const char **id)
{
	const billing_invoice *inv = item;
	*text = NULL;
	*num = inv->created_at;
	*id = inv->id;
}

static const billing__sort_spec sorts[] = {
	{ "createdAt", BILLING_SORT_CREATED, false },
	{ NULL, 0, false }
};

int billing_invoice_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_invoice_list_params *params)
{
	billing_invoice_list_params none = BILLING_INVOICE_LIST_PARAMS_INIT;
	const billing_invoice_list_params *p = params ? params : &none;
	char filters[200];
	billing__filter_ids ids = { 0 };
	billing__list l;
	billing_page *page = NULL;
	billing_txn *tx;
	size_t i;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_LIST)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (p->version == 0 || p->version > BILLING_INVOICE_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_invoice_list_params version %u", p->version);
	if (p->status && !billing_invoice_status_name(p->status))
		return billing__error_field(BILLING_EINVALID, "invalid", "status",
			"status must be draft, pending, paid, failed, void or uncollectible");
	/* An id in a filter that names nothing in the tenant: resource_missing
	 * (ill-formed here; well-formed but absent in the list's transaction). */
	if (p->customer_id && !billing__id_arg_ok(p->customer_id, "cus"))
		return billing__error_field(BILLING_EINVALID, "resource_missing", "customerId",
			"no such customer in this tenant");
	if (p->subscription_id && !billing__id_arg_ok(p->subscription_id, "sub"))
		return billing__error_field(BILLING_EINVALID, "resource_missing", "subscriptionId",
			"no such subscription in this tenant");
	snprintf(filters, sizeof(filters), "invoices|c=%s|s=%s|st=%d|f=%d:%lld|t=%d:%lld",
		p->customer_id ? p->customer_id : "-", p->subscription_id ? p->subscription_id : "-",
		(int)p->status, p->has_period_from != 0, (long long)p->period_from,
		p->has_period_to != 0, (long long)p->period_to);
	if ((rc = billing__list_begin(&l, ctx, who->tenant_id, &p->list, sorts, filters,
		BILLING__PAGE_INVOICE, free_item)) < 0)
		return rc;
	l.from_record = from_record;
	l.sort_key = sort_key;
	l.q.customer_id = p->customer_id;
	l.q.subscription_id = p->subscription_id;
	l.q.status = (int)p->status;
	l.q.has_period_from = p->has_period_from != 0;
	l.q.period_from = p->period_from;
	l.q.has_period_to = p->has_period_to != 0;
	l.q.period_to = p->period_to;
	ids.tenant_id = who->tenant_id;
	ids.customer_id = p->customer_id;
	ids.subscription_id = p->subscription_id;
	l.check = billing__check_filter_ids_cb;
	l.check_payload = &ids;
	if ((rc = billing__entity_list(&page, &entity, &l, ctx, who->tenant_id)) < 0)
		return rc;
	/* The lines of the page's invoices, read in a second transaction: an
	 * invoice's lines never change, so they cannot disagree with it. */
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_READ)) == BILLING_OK) {
		for (i = 0; rc == BILLING_OK && i < page->count; i++)
			rc = load_lines(ctx, tx, page->items[i]);
		rc = billing__end(ctx, tx, rc);
	}
	if (rc < 0) {
		billing_page_free(page);
		return rc;
	}
	*out = page;
	return BILLING_OK;
}

const billing_invoice *billing_page_invoice(const billing_page *page, size_t i)
{
	return billing__page_item(page, BILLING__PAGE_INVOICE, i);
}

/* A spend threshold's invoice voided: its usage lines come out of what
 * the threshold invoices of their period billed (meter.h, usage_billed),
 * so the period's end bills that usage again. */
static int threshold_unbill(billing_ctx *ctx, billing_txn *tx, const billing_invoice *inv)
{
	billing__plan_info plan;
	size_t i;
	int rc = BILLING_OK;

	if (!inv->billing_reason || strcmp(inv->billing_reason, "subscription_threshold") != 0 ||
	    !inv->subscription_id)
		return BILLING_OK;
	for (i = 0; rc == BILLING_OK && i < inv->line_count; i++) {
		const billing_invoice_line *l = &inv->lines[i];
		int64_t amount, quantity;
		if (!l->plan_id || !l->subscription_item_id)
			continue;
		if ((rc = billing__plan_info_get(&plan, ctx, tx, inv->tenant_id, l->plan_id)) < 0)
			break;
		if (plan.usage_type != BILLING__USAGE_METERED)
			continue;
		if ((rc = billing__usage_billed_get(&amount, &quantity, ctx, tx, inv->tenant_id,
			inv->subscription_id, l->subscription_item_id, plan.meter_id, l->period_start,
			BILLING_LOCK_UPDATE)) == BILLING_OK)
			rc = billing__usage_billed_set(ctx, tx, inv->tenant_id, inv->subscription_id,
				l->subscription_item_id, plan.meter_id, l->period_start,
				amount - l->amount, quantity - l->quantity);
	}
	return rc;
}

int billing__invoice_void_in(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv)
{
	billing_invoice_record r;
	int64_t old_version;
	int rc;

	if ((rc = transition(inv->status, BILLING_INVOICE_VOID)) < 0 ||
	    (rc = billing__invoice_payments_settled(ctx, tx, inv->tenant_id, inv->id)) < 0)
		return rc;
	/* What the invoice took from the balance (or gave it) goes back. */
	if (inv->starting_balance != inv->ending_balance &&
	    (rc = billing__balance_record(ctx, tx, inv->tenant_id, inv->customer_id, inv->currency,
		BILLING_BALANCE_UNAPPLIED_FROM_INVOICE, inv->starting_balance - inv->ending_balance,
		inv->id, NULL, NULL)) < 0)
		return rc;
	if ((rc = threshold_unbill(ctx, tx, inv)) < 0)
		return rc;
	inv->next_attempt_at = 0;
	old_version = inv->version;
	inv->status = BILLING_INVOICE_VOID;
	inv->voided_at = inv->updated_at = billing__now(ctx);
	inv->version++;
	record_of(&r, inv);
	if ((rc = ctx->st->record_update(tx, &billing__res_invoice, &r, old_version)) < 0)
		return rc;
	return billing__event_emit(ctx, tx, inv->tenant_id, "invoice.voided", "invoice", inv->id,
		billing__json_invoice, inv);
}

static int invoice_void_once(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	billing__buf input = { 0 };
	billing__idem idem;
	billing_invoice *inv = NULL;
	billing_txn *tx;
	int rc;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_VOID)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (!billing__id_arg_ok(id, "in"))
		return billing__not_found("invoice");
	billing__buf_add(&input, "id", id);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_INVOICES_VOID, &input)) < 0)
		return rc;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, &idem)) < 0 ||
	    (rc = billing__entity_get_in((void **)&inv, &entity, ctx, tx, who->tenant_id, id)) < 0 ||
	    (rc = load_lines(ctx, tx, inv)) < 0 || idem.replay)
		goto end;
	/* A credit note that is not void stands on the invoice: voiding the
	 * invoice too would give its amount back twice. Only this call refuses
	 * (an incomplete subscription's expiry voids through
	 * billing__invoice_void_in). The sums count issued notes only
	 * (credit_note_void.c takes a void note's total off them). */
	if (inv->pre_credit_notes != 0 || inv->post_credit_notes != 0) {
		rc = billing__error_set(BILLING_ECONFLICT, "invoice_has_credit_notes",
			"invoice %s has credit notes that are not void: void them first", id);
		goto end;
	}
	if ((rc = billing__invoice_void_in(ctx, tx, inv)) == BILLING_OK)
		rc = billing__idem_record(ctx, tx, who->tenant_id, &idem, id);
end:
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing_invoice_free(inv);
		return rc;
	}
	*out = inv;
	return BILLING_OK;
}

static int invoice_void_retry(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	BILLING__RETRY(invoice_void_once(out, ctx, who, id, opts));
}

int billing_invoice_void(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	int rc = invoice_void_retry(out, ctx, who, id, opts);
	const char *reason = billing_error_last()->reason;
	/* An attempt awaiting the customer's action is canceled at the
	 * provider first (payment_action.c), then the void is made; if it
	 * succeeded meanwhile, the invoice is paid and the void refused. */
	if (rc == BILLING_ECONFLICT && reason && strcmp(reason, "payment_in_progress") == 0) {
		int canceled = billing__invoice_cancel_action(ctx, who->tenant_id, id);
		if (canceled < 0)
			return canceled;
		if (canceled)
			rc = invoice_void_retry(out, ctx, who, id, opts);
	}
	return rc;
}

/* ------------------------------------------------------------ getters */

const char *billing_invoice_id(const billing_invoice *inv) { return inv ? inv->id : NULL; }
const char *billing_invoice_number(const billing_invoice *inv) { return inv ? inv->number : NULL; }
billing_invoice_status billing_invoice_status_of(const billing_invoice *inv)
{
	return inv ? inv->status : (billing_invoice_status)0;
}
const char *billing_invoice_customer_id(const billing_invoice *inv)
{
	return inv ? inv->customer_id : NULL;
}
const char *billing_invoice_subscription_id(const billing_invoice *inv)
{
	return inv ? inv->subscription_id : NULL;
}
const char *billing_invoice_currency(const billing_invoice *inv) { return inv ? inv->currency : NULL; }
int64_t billing_invoice_subtotal(const billing_invoice *inv) { return inv ? inv->subtotal : 0; }
int64_t billing_invoice_tax(const billing_invoice *inv) { return inv ? inv->tax : 0; }
int64_t billing_invoice_total_discount(const billing_invoice *inv)
{
	return inv ? inv->total_discount : 0;
}
const char *billing_invoice_discount_id(const billing_invoice *inv)
{
	return inv ? inv->discount_id : NULL;
}
int64_t billing_invoice_total(const billing_invoice *inv) { return inv ? inv->total : 0; }
int64_t billing_invoice_amount_paid(const billing_invoice *inv) { return inv ? inv->amount_paid : 0; }
int64_t billing_invoice_amount_due(const billing_invoice *inv) { return inv ? inv->amount_due : 0; }
int64_t billing_invoice_starting_balance(const billing_invoice *inv)
{
	return inv ? inv->starting_balance : 0;
}
int64_t billing_invoice_ending_balance(const billing_invoice *inv)
{
	return inv ? inv->ending_balance : 0;
}
int64_t billing_invoice_period_start(const billing_invoice *inv)
{
	return inv ? inv->period_start : 0;
}
int64_t billing_invoice_period_end(const billing_invoice *inv) { return inv ? inv->period_end : 0; }
size_t billing_invoice_line_count(const billing_invoice *inv) { return inv ? inv->line_count : 0; }
const billing_invoice_line *billing_invoice_line_at(const billing_invoice *inv, size_t i)
{
	return inv && i < inv->line_count ? &inv->lines[i] : NULL;
}
int64_t billing_invoice_created_at(const billing_invoice *inv) { return inv ? inv->created_at : 0; }
int64_t billing_invoice_finalized_at(const billing_invoice *inv)
{
	return inv ? inv->finalized_at : 0;
}
int64_t billing_invoice_paid_at(const billing_invoice *inv) { return inv ? inv->paid_at : 0; }
int64_t billing_invoice_voided_at(const billing_invoice *inv) { return inv ? inv->voided_at : 0; }
int64_t billing_invoice_version(const billing_invoice *inv) { return inv ? inv->version : 0; }
int32_t billing_invoice_attempt_count(const billing_invoice *inv)
{
	return inv ? inv->attempt_count : 0;
}
const struct billing_payment *billing_invoice_action_payment(const billing_invoice *inv)
{
	return inv ? inv->action : NULL;
}

int64_t billing_invoice_next_attempt_at(const billing_invoice *inv)
{
	return inv ? inv->next_attempt_at : 0;
}
billing_collection_method billing_invoice_collection_method(const billing_invoice *inv)
{
	if (!inv)
		return (billing_collection_method)0;
	return inv->collection_method ? (billing_collection_method)inv->collection_method :
		BILLING_CHARGE_AUTOMATICALLY;
}
int32_t billing_invoice_days_until_due(const billing_invoice *inv)
{
	return inv ? inv->days_until_due : 0;
}
int64_t billing_invoice_due_date(const billing_invoice *inv) { return inv ? inv->due_date : 0; }
const char *billing_invoice_memo(const billing_invoice *inv) { return inv ? inv->memo : NULL; }
const char *billing_invoice_footer(const billing_invoice *inv)
{
	return inv ? inv->footer : NULL;
}
int billing_invoice_paid_out_of_band(const billing_invoice *inv)
{
	return inv ? inv->paid_out_of_band : 0;
}
const char *billing_invoice_total_tax_amounts(const billing_invoice *inv)
{
	if (!inv)
		return NULL;
	return inv->total_tax_amounts ? inv->total_tax_amounts : "[]";
}
int billing_invoice_customer_tax_exempt(const billing_invoice *inv)
{
	return inv ? inv->customer_tax_exempt : 0;
}
const char *billing_invoice_tax_note(const billing_invoice *inv)
{
	return inv && inv->customer_tax_exempt == 2 ? BILLING__REVERSE_CHARGE_NOTE : NULL;
}
const char *billing_invoice_default_tax_rates(const billing_invoice *inv)
{
	return inv ? inv->default_tax_rates : NULL;
}
const char *billing_invoice_billing_reason(const billing_invoice *inv)
{
	return inv ? inv->billing_reason : NULL;
}

int64_t billing_invoice_pre_credit_notes_amount(const billing_invoice *inv)
{
	return inv ? inv->pre_credit_notes : 0;
}
int64_t billing_invoice_post_payment_credit_notes_amount(const billing_invoice *inv)
{
	return inv ? inv->post_credit_notes : 0;
}
