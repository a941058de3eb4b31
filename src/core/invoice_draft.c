/*
 * Draft invoices (issue #20 item 2): an invoice made by hand for a
 * customer, whose lines are its invoice items (invoice_item.c), editable
 * and deletable until it is finalized with the tenant's next number
 * (billing__invoice_finalize_record, shared with subscription invoices);
 * and what may happen to a finalized invoice besides a payment: written
 * off (uncollectible) and paid out of band. A subscription's renewal
 * invoice is a draft too when the tenant sets a renewal draft delay: the
 * billing run finalizes it once the delay is over (due work
 * BILLING__DUE_DRAFT), and until then items can be added or removed; its
 * plan's lines (those with a plan) stay as the renewal made them.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/discount.h"
#include "core/events.h"
#include "core/invoice_internal.h"
#include "core/invoice_item.h"
#include "core/payment_internal.h"
#include "core/subscription_internal.h"

#define MEMO_MAX 5000
#define DAYS_MAX 3650

/* ------------------------------------------------------------ lines */

/* inv's lines become lines[0..n) (which may point into inv's own; a
 * discount_id it took here points into a sum freed on return: the callers
 * only free inv after):
 * discounted again by the discount it took when made, if any (a draft is
 * discounted without commit: a once discount ends when the draft is
 * finalized), taxed (by its lines' rates, else its own defaultTaxRates, else
 * the subscription's or plan's), summed and written with event (NULL:
 * none). */
static int draft_rewrite(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	billing_invoice_line *lines, size_t n, const char *event)
{
	billing__invoice_sum s;
	size_t i, keep;
	char **old, *totals;
	int rc;

	billing__invoice_for f = { inv->tenant_id, inv->customer_id, inv->subscription_id, NULL,
		inv->currency, inv->period_start ? inv->period_start : inv->created_at,
		inv->default_tax_rates };

	memset(&s, 0, sizeof(s));
	if ((rc = billing__invoice_amounts(&s, ctx, tx, &f, lines, n, inv->discount_id, false)) < 0 ||
	    (rc = billing__owned_delete(ctx->st, tx, &billing__res_invoice_line, inv->tenant_id,
		inv->id)) < 0 ||
	    (rc = billing__lines_insert(ctx->st, tx, &billing__res_invoice_line, inv->tenant_id,
		inv->id, lines, n, 1)) < 0)
		goto out;
	/* The lines as loaded give way to the new ones; the kept lines' strings
	 * are theirs until add_line has copied them. */
	keep = inv->line_count;
	old = inv->line_strings;
	inv->line_strings = NULL;
	inv->line_count = inv->line_cap = 0;
	for (i = 0; rc == BILLING_OK && i < n; i++)
		rc = billing__invoice_add_line(inv, &lines[i]);
	for (i = 0; i < keep * BILLING__LINE_STRINGS; i++)
		billing__free(old[i]);
	billing__free(old);
	if (rc < 0)
		goto out;
	inv->subtotal = s.subtotal;
	inv->total_discount = s.discount;
	if (!inv->discount_id && s.discount_id[0])
		inv->discount_id = s.discount_id;   /* until the save below */
	inv->tax = s.tax;
	inv->total = s.total;
	inv->amount_due = s.total;
	inv->customer_tax_exempt = s.taxed.customer_tax_exempt;
	/* The breakdown is s's until the save has written it. */
	totals = inv->total_tax_amounts;
	inv->total_tax_amounts = s.taxed.total_tax_amounts;
	rc = billing__invoice_save(ctx, tx, inv, event);
	inv->total_tax_amounts = totals;
out:
	billing__invoice_sum_free(&s);
	return rc;
}

/* billing__invoice_draft_refresh with the event to write (NULL: none). */
static int draft_refresh(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, const billing__items *it, const char *event)
{
	billing_invoice *inv = NULL;
	billing_invoice_line *lines = NULL;
	size_t i, n = 0, kept = 0;
	int rc;

	if ((rc = billing__invoice_load(&inv, ctx, tx, tenant_id, invoice_id)) < 0)
		return rc;
	if (inv->status != BILLING_INVOICE_DRAFT) {
		rc = billing__error_set(BILLING_ECONFLICT, "invoice_not_draft",
			"invoice %s is finalized", invoice_id);
		goto out;
	}
	/* A renewal's draft keeps the lines of its plan (and its prorations),
	 * which name a plan; an item's line names none. */
	for (i = 0; i < inv->line_count; i++)
		kept += inv->lines[i].plan_id != NULL;
	/* The sums fill in each line's tax: on a copy, the items' lines stay
	 * (one more than needed: never a zero-size allocation). */
	if ((lines = billing__calloc(kept + it->n + 1, sizeof(*lines))) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	for (i = 0; i < inv->line_count; i++)
		if (inv->lines[i].plan_id)
			lines[n++] = inv->lines[i];
	if (it->n)
		memcpy(lines + n, it->lines, it->n * sizeof(*lines));
	n += it->n;
	rc = draft_rewrite(ctx, tx, inv, lines, n, event);
out:
	billing__free(lines);
	billing_invoice_free(inv);
	return rc;
}

int billing__invoice_draft_refresh(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *invoice_id, const billing__items *it)
{
	return draft_refresh(ctx, tx, tenant_id, invoice_id, it, "invoice.updated");
}

/* The draft inv's lines, discount and taxes made again from its items
 * as stored (event: as draft_refresh's); with fresh, the draft as it then
 * is into *fresh (new). */
static int draft_retax(billing_ctx *ctx, billing_txn *tx, const billing_invoice *inv,
	const char *event, billing_invoice **fresh)
{
	billing__items it = { 0 };
	int rc;

	if ((rc = billing__items_of_invoice(&it, ctx, tx, inv->tenant_id, inv->id)) == BILLING_OK)
		rc = draft_refresh(ctx, tx, inv->tenant_id, inv->id, &it, event);
	billing__items_free(&it);
	if (rc < 0 || !fresh)
		return rc;
	return billing__invoice_load(fresh, ctx, tx, inv->tenant_id, inv->id);
}

int billing__invoice_draft_period_used(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	const billing_invoice_line *used, size_t n)
{
	billing_invoice_line *lines;
	size_t i, k = n;
	int rc;

	/* One more than needed: never a zero-size allocation. */
	if ((lines = billing__calloc(inv->line_count + n + 1, sizeof(*lines))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	if (n)
		memcpy(lines, used, n * sizeof(*lines));
	for (i = 0; i < inv->line_count; i++) {
		const billing_invoice_line *l = &inv->lines[i];
		if (!(l->plan_id && l->period_start == inv->period_start &&
		      l->period_end == inv->period_end))
			lines[k++] = *l;
	}
	rc = draft_rewrite(ctx, tx, inv, lines, k, "invoice.updated");
	billing__free(lines);
	return rc;
}

/* ------------------------------------------------------------ checks */

static int check_params(const billing_invoice_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_INVOICE_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_invoice_params version %u", p->version);
	if (p->version >= 3 && p->coupon && p->promotion_code)
		return billing__error_field(BILLING_EINVALID, "invalid", "coupon",
			"give coupon or promotionCode, not both");
	return BILLING_OK;
}

/* A version 3 params' discount: the coupon or code, or NULL for none. */
static const char *coupon_of(const billing_invoice_params *p)
{
	return p->version >= 3 ? p->coupon : NULL;
}

static const char *code_of(const billing_invoice_params *p)
{
	return p->version >= 3 ? p->promotion_code : NULL;
}

/* In tx: the draft invoice_id's own discount from coupon or code (one of
 * them), replacing the one it had (billing__discount_attach: redeemed,
 * checked, an event), into d. written: the draft is stored. */
static int own_discount(struct billing__discount_info *d, billing_ctx *ctx, billing_txn *tx,
	const char *tenant_id, const char *customer_id, const char *invoice_id,
	const char *currency, const char *coupon, const char *code, bool written)
{
	billing__attach_params ap;
	memset(&ap, 0, sizeof(ap));
	ap.customer_id = customer_id;
	ap.coupon = coupon;
	ap.promotion_code = code;
	ap.now = billing__now(ctx);
	ap.invoice_id = invoice_id;
	ap.invoice_currency = currency;
	ap.invoice_written = written;
	return billing__discount_attach(d, ctx, tx, tenant_id, &ap);
}

/* memo / footer: NULL, or 1-5000 characters. */
static void check_note(billing__checks *ck, const char *field, const char *s)
{
	size_t n;
	if (!s)
		return;
	n = strlen(s);
	if (n == 0 || n > MEMO_MAX)
		billing__check_fail(ck, field, "must be 1 to 5000 characters, or null");
}

/* The collection method and days until due as they will be stored. */
static void check_collection(billing__checks *ck, int method, int32_t days, bool days_given)
{
	if (method != BILLING_CHARGE_AUTOMATICALLY && method != BILLING_SEND_INVOICE) {
		billing__check_fail(ck, "collectionMethod",
			"must be charge_automatically or send_invoice");
		return;
	}
	if (method == BILLING_SEND_INVOICE && !days_given)
		billing__check_fail(ck, "daysUntilDue", "is required with send_invoice");
	else if (method == BILLING_CHARGE_AUTOMATICALLY && days_given)
		billing__check_fail(ck, "daysUntilDue", "is only for send_invoice");
	else if (days < 0 || days > DAYS_MAX)
		billing__check_fail(ck, "daysUntilDue", "must be between 0 and 3650");
}

/* ------------------------------------------------------------ create */

static int customer_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

/* A version 2 params' defaultTaxRates as JSON ids into rates ("" when not
 * given: bit not set, or on create a count of 0). */
static int rates_in(char rates[BILLING__TAX_RATES_TEXT], const billing_invoice_params *p,
	bool given)
{
	rates[0] = '\0';
	if (p->version < 2 || !given)
		return BILLING_OK;
	return billing__tax_rate_ids_json(rates, p->default_tax_rates, p->default_tax_rate_count,
		"defaultTaxRates");
}

/* rates (JSON ids) checked in tx and made canonical in place; *out: them,
 * or NULL when they name none. */
static int rates_check(const char **out, char rates[BILLING__TAX_RATES_TEXT],
	billing_ctx *ctx, billing_txn *tx, const char *tenant_id)
{
	int empty, rc;
	if ((rc = billing__tax_rates_check(rates, &empty, ctx, tx, tenant_id, rates,
		"defaultTaxRates")) < 0)
		return rc;
	*out = empty ? NULL : rates;
	return BILLING_OK;
}

static int create_once(billing_invoice **out, billing_ctx *ctx, const billing_principal *who,
	const billing_invoice_params *p, const billing_call_options *opts)
{
	struct billing__discount_info d;
	billing__checks ck = BILLING__CHECKS_INIT;
	char rates[BILLING__TAX_RATES_TEXT];
	billing_invoice_record r;
	billing__buf input = { 0 };
	billing__items it = { 0 };
	billing__idem idem;
	billing_invoice *inv = NULL;
	billing_txn *tx;
	char id[BILLING_ID_MAX], currency[4] = "";
	int method, rc;
	int64_t now;

	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_CREATE)) < 0 ||
	    (rc = check_params(p)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	method = p->collection_method ? (int)p->collection_method : BILLING_CHARGE_AUTOMATICALLY;
	if (!p->customer_id || !billing__id_arg_ok(p->customer_id, "cus"))
		billing__check_fail(&ck, "customerId", "no such customer in this tenant");
	if (!p->currency || billing_currency_normalize(currency, p->currency) < 0) {
		billing_error_clear();
		billing__check_fail(&ck, "currency", "must be an ISO 4217 currency code");
	}
	check_collection(&ck, method, p->days_until_due,
		(p->fields & BILLING_INVOICE_DAYS_UNTIL_DUE) != 0);
	check_note(&ck, "memo", p->memo);
	check_note(&ck, "footer", p->footer);
	if ((rc = billing__checks_finish(&ck, "invoice")) < 0 ||
	    (rc = rates_in(rates, p, p->version >= 2 && p->default_tax_rate_count)) < 0)
		return rc;

	billing__buf_add(&input, "coupon", coupon_of(p));
	billing__buf_add(&input, "promotionCode", code_of(p));
	billing__buf_add(&input, "customerId", p->customer_id);
	billing__buf_add(&input, "currency", currency);
	billing__buf_add_i64(&input, "collectionMethod", method);
	billing__buf_add_i64(&input, "daysUntilDue", p->days_until_due);
	billing__buf_add(&input, "memo", p->memo);
	billing__buf_add(&input, "footer", p->footer);
	if (rates[0])
		billing__buf_add(&input, "defaultTaxRates", rates);
	if ((rc = billing__idem_init_buf(&idem, opts, BILLING_OP_INVOICES_CREATE, &input)) < 0)
		return rc;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, &idem)) < 0)
		goto end;
	if (idem.replay) {
		rc = billing__invoice_load(&inv, ctx, tx, who->tenant_id, idem.resource_id);
		goto end;
	}
	rc = billing__read(ctx->st, tx, &billing__res_customer, who->tenant_id, p->customer_id,
		BILLING_LOCK_SHARE, customer_row, NULL);
	if (rc == BILLING_ENOTFOUND) {
		rc = billing__error_field(BILLING_EINVALID, "resource_missing", "customerId",
			"no such customer in this tenant");
		goto end;
	}
	now = billing__now(ctx);
	memset(&r, 0, sizeof(r));
	if (rc < 0 || (rates[0] && (rc = rates_check(&r.default_tax_rates_json, rates, ctx, tx,
		who->tenant_id)) < 0) ||
	    (rc = billing__items_pending(&it, ctx, tx, who->tenant_id, p->customer_id,
		NULL, currency)) < 0)
		goto end;
	if (billing__id_new(id, "in", now * 1000) < 0) {
		rc = billing__error_set(BILLING_ERROR, NULL, "cannot make an id");
		goto end;
	}
	r.tenant_id = who->tenant_id;
	r.id = id;
	r.customer_id = p->customer_id;
	r.currency = currency;
	r.status = BILLING_INVOICE_DRAFT;
	r.period_start = r.period_end = now;
	r.created_at = r.updated_at = now;
	r.version = 1;
	r.collection_method = method;
	r.days_until_due = method == BILLING_SEND_INVOICE ? p->days_until_due : 0;
	r.memo = p->memo;
	r.footer = p->footer;
	/* Its own discount first (its lines are then discounted by it): the
	 * draft is not stored yet, so it is no invoice of the customer's for
	 * firstTimeTransaction. */
	if ((coupon_of(p) || code_of(p)) &&
	    (rc = own_discount(&d, ctx, tx, who->tenant_id, p->customer_id, id, currency,
		coupon_of(p), code_of(p), false)) < 0)
		goto end;
	if (coupon_of(p) || code_of(p))
		r.discount_id = d.id;
	if ((rc = ctx->st->record_insert(tx, &billing__res_invoice, &r)) < 0 ||
	    (rc = billing__items_attach(ctx, tx, &it, id)) < 0 ||
	    (rc = billing__invoice_draft_refresh(ctx, tx, who->tenant_id, id, &it)) < 0 ||
	    (rc = billing__invoice_load(&inv, ctx, tx, who->tenant_id, id)) < 0)
		goto end;
	/* invoice.created shows the draft with the lines it took. */
	if ((rc = billing__event_emit(ctx, tx, who->tenant_id, "invoice.created", "invoice", id,
		billing__json_invoice, inv)) == BILLING_OK)
		rc = billing__idem_record(ctx, tx, who->tenant_id, &idem, id);
end:
	billing__items_free(&it);
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing_invoice_free(inv);
		return rc;
	}
	*out = inv;
	return BILLING_OK;
}

int billing_invoice_create(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const billing_invoice_params *p,
	const billing_call_options *opts)
{
	BILLING__RETRY(create_once(out, ctx, who, p, opts));
}

/* ------------------------------------------------------------ changes */

/* What a change of an invoice does to it in its transaction (inv loaded
 * with its lines, locked). */
typedef int (*change_fn)(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	const void *arg, int64_t now);

/* One call that changes an invoice: authorization, idempotency, the
 * transaction, the change, its audit row. */
static int change_once(billing_invoice **out, billing_ctx *ctx, const billing_principal *who,
	billing__op op, const char *id, billing__buf *input, const billing_call_options *opts,
	change_fn fn, const void *arg)
{
	billing__idem idem;
	billing_invoice *inv = NULL;
	billing_txn *tx;
	int rc;

	if (!billing__id_arg_ok(id, "in")) {
		billing__buf_free(input);
		return billing__not_found("invoice");
	}
	billing__buf_add(input, "id", id);
	if ((rc = billing__idem_init_buf(&idem, opts, op, input)) < 0)
		return rc;
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__idem_check(ctx, tx, who->tenant_id, &idem)) < 0 ||
	    (rc = billing__invoice_load(&inv, ctx, tx, who->tenant_id, id)) < 0 || idem.replay)
		goto end;
	if ((rc = fn(ctx, tx, inv, arg, billing__now(ctx))) == BILLING_OK)
		rc = billing__idem_record(ctx, tx, who->tenant_id, &idem, id);
	if (rc == BILLING_OK) {
		/* Answer with the invoice as stored (its lines too). */
		billing_invoice_free(inv);
		inv = NULL;
		rc = billing__invoice_load(&inv, ctx, tx, who->tenant_id, id);
	}
end:
	if ((rc = billing__end(ctx, tx, rc)) < 0) {
		billing_invoice_free(inv);
		return rc;
	}
	*out = inv;
	return BILLING_OK;
}

static int not_draft(const billing_invoice *inv)
{
	return billing__error_set(BILLING_ECONFLICT, "invoice_not_draft",
		"the invoice is %s: only a draft can change", billing_invoice_status_name(inv->status));
}

static int update_fn(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv, const void *arg,
	int64_t now)
{
	const billing_invoice_params *p = arg;
	struct billing__discount_info d;
	billing__checks ck = BILLING__CHECKS_INIT;
	char rates[BILLING__TAX_RATES_TEXT];
	const char *checked = NULL;
	char *old_rates, *old_discount;
	bool discount = (p->fields & BILLING_INVOICE_DISCOUNT) != 0;
	bool retax = discount || (p->fields & BILLING_INVOICE_DEFAULT_TAX_RATES) != 0;
	bool rates_given = (p->fields & BILLING_INVOICE_DEFAULT_TAX_RATES) != 0;
	int method = inv->collection_method;
	int32_t days = inv->days_until_due;
	bool days_given;
	int rc;
	(void)now;

	if (inv->status != BILLING_INVOICE_DRAFT)
		return not_draft(inv);
	if (p->expected_version && p->expected_version != inv->version)
		return billing__error_field(BILLING_ESTALE, "stale", "expectedVersion",
			"the invoice is at version %lld", (long long)inv->version);
	if (p->fields & BILLING_INVOICE_COLLECTION_METHOD)
		method = (int)p->collection_method;
	if (p->fields & BILLING_INVOICE_DAYS_UNTIL_DUE)
		days = p->days_until_due;
	/* Switching to charge_automatically drops the days; to send_invoice
	 * needs them. */
	if (method == BILLING_CHARGE_AUTOMATICALLY && !(p->fields & BILLING_INVOICE_DAYS_UNTIL_DUE))
		days = 0;
	days_given = method == BILLING_SEND_INVOICE ?
		((p->fields & BILLING_INVOICE_DAYS_UNTIL_DUE) ||
		 inv->collection_method == BILLING_SEND_INVOICE) :
		(p->fields & BILLING_INVOICE_DAYS_UNTIL_DUE) != 0;
	check_collection(&ck, method, days, days_given);
	if (p->fields & BILLING_INVOICE_MEMO)
		check_note(&ck, "memo", p->memo);
	if (p->fields & BILLING_INVOICE_FOOTER)
		check_note(&ck, "footer", p->footer);
	if (discount && !coupon_of(p) && !code_of(p))
		billing__check_fail(&ck, "coupon", "give coupon or promotionCode");
	if ((rc = billing__checks_finish(&ck, "invoice")) < 0 ||
	    (rc = rates_in(rates, p, rates_given)) < 0 ||
	    (rates_given && (rc = rates_check(&checked, rates, ctx, tx, inv->tenant_id)) < 0))
		return rc;
	/* Its own discount replaced: redeemed and written before the draft,
	 * whose lines are then discounted by it (a refusal writes nothing). */
	if (discount && (rc = own_discount(&d, ctx, tx, inv->tenant_id, inv->customer_id,
		inv->id, inv->currency, coupon_of(p), code_of(p), true)) < 0)
		return rc;
	inv->collection_method = method;
	inv->days_until_due = days;
	/* The strings are borrowed from p for the write; the answer is read
	 * again after it. */
	if (p->fields & BILLING_INVOICE_MEMO)
		inv->memo = (char *)(uintptr_t)p->memo;
	if (p->fields & BILLING_INVOICE_FOOTER)
		inv->footer = (char *)(uintptr_t)p->footer;
	/* New rates: written (borrowed from rates for the write), then the
	 * lines retaxed with them (one event, the draft as it then is). */
	old_rates = inv->default_tax_rates;
	old_discount = inv->discount_id;
	if (rates_given)
		inv->default_tax_rates = (char *)(uintptr_t)checked;
	if (discount)
		inv->discount_id = d.id;
	rc = billing__invoice_save(ctx, tx, inv, retax ? NULL : "invoice.updated");
	inv->memo = inv->footer = NULL;
	inv->default_tax_rates = old_rates;
	inv->discount_id = old_discount;
	if (rc == BILLING_OK && retax)
		rc = draft_retax(ctx, tx, inv, "invoice.updated", NULL);
	return rc;
}

static int update_retry(billing_invoice **out, billing_ctx *ctx, const billing_principal *who,
	const char *id, const billing_invoice_params *p, const billing_call_options *opts)
{
	billing__buf input = { 0 };
	billing__buf_add_i64(&input, "fields", p->fields);
	billing__buf_add_i64(&input, "collectionMethod", p->collection_method);
	billing__buf_add_i64(&input, "daysUntilDue", p->days_until_due);
	billing__buf_add(&input, "memo", p->memo);
	billing__buf_add(&input, "footer", p->footer);
	if (p->version >= 2 && (p->fields & BILLING_INVOICE_DEFAULT_TAX_RATES)) {
		char rates[BILLING__TAX_RATES_TEXT];
		int rc = rates_in(rates, p, true);
		if (rc < 0) {
			billing__buf_free(&input);
			return rc;
		}
		billing__buf_add(&input, "defaultTaxRates", rates);
	}
	if (p->fields & BILLING_INVOICE_DISCOUNT) {
		billing__buf_add(&input, "coupon", coupon_of(p));
		billing__buf_add(&input, "promotionCode", code_of(p));
	}
	billing__buf_add_i64(&input, "expectedVersion", p->expected_version);
	BILLING__RETRY(change_once(out, ctx, who, BILLING_OP_INVOICES_UPDATE, id, &input, opts,
		update_fn, p));
}

int billing_invoice_update(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_invoice_params *p,
	const billing_call_options *opts)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_UPDATE)) < 0 ||
	    (rc = check_params(p)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	if (p->fields & ~(p->version >= 3 ? 0x3fu : p->version >= 2 ? 0x1fu : 0xfu))
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"unknown field bits");
	if (!p->fields)
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"give at least one field to change");
	return update_retry(out, ctx, who, id, p, opts);
}

/* ------------------------------------------------------------ finalize */

static int finalize_fn(billing_ctx *ctx, billing_txn *tx, billing_invoice *draft,
	const void *arg, int64_t now)
{
	billing_invoice_record r;
	billing_invoice *done = NULL, *inv = NULL;
	char number[BILLING__INVOICE_NUMBER_MAX];
	int64_t old_version;
	size_t i;
	int rc;
	(void)arg;

	if (draft->status != BILLING_INVOICE_DRAFT)
		return billing__error_set(BILLING_ECONFLICT, "invoice_not_draft",
			"the invoice is %s: only a draft is finalized",
			billing_invoice_status_name(draft->status));
	/* Taxed as things are now, not as they were when the draft last
	 * changed: the customer's taxExempt, the rates' terms (an archived rate
	 * a line or the draft names still applies, as at Stripe) and the
	 * tenant's rounding may have changed while it waited (a renewal's
	 * draft waits renewalDraftDelay). No event of its own: the
	 * finalization's shows the result. */
	if ((rc = draft_retax(ctx, tx, draft, NULL, &inv)) < 0)
		return rc;
	old_version = inv->version;
	billing__invoice_record_of(&r, inv);
	r.version = old_version + 1;
	/* A renewal's draft finalized by hand: the run has nothing left to do. */
	if ((inv->subscription_id &&
	     (rc = ctx->st->due_clear(tx, inv->tenant_id, BILLING__DUE_DRAFT, inv->id)) < 0) ||
	    (inv->discount_id && (rc = billing__invoice_discount_finalized(ctx, tx,
		inv->tenant_id, inv->discount_id, now)) < 0) ||
	    (rc = billing__invoice_finalize_record(ctx, tx, &r, number, sizeof(number), now)) < 0 ||
	    (rc = ctx->st->record_update(tx, &billing__res_invoice, &r, old_version)) < 0 ||
	    (rc = billing__invoice_balance_recorded(ctx, tx, &r)) < 0)
		goto out;
	if ((done = billing__invoice_from_record(&r)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	for (i = 0; rc == BILLING_OK && i < inv->line_count; i++)
		rc = billing__invoice_add_line(done, &inv->lines[i]);
	if (rc == BILLING_OK)
		rc = billing__invoice_finalized_events(ctx, tx, done);
out:
	billing_invoice_free(done);
	billing_invoice_free(inv);
	return rc;
}

int billing__invoice_draft_due(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *id, int64_t now)
{
	billing_invoice *inv = NULL;
	int rc = billing__invoice_load(&inv, ctx, tx, tenant_id, id);

	if (rc == BILLING_ENOTFOUND || (rc == BILLING_OK && inv->status != BILLING_INVOICE_DRAFT))
		rc = ctx->st->due_clear(tx, tenant_id, BILLING__DUE_DRAFT, id);
	else if (rc == BILLING_OK)
		rc = finalize_fn(ctx, tx, inv, NULL, now);
	billing_invoice_free(inv);
	return rc;
}

int billing__invoice_draft_issue(billing_ctx *ctx, billing_txn *tx,
	const billing__invoice_draft *d, int64_t delay, char id[BILLING_ID_MAX])
{
	billing_invoice_record r;
	billing_due_record due;
	billing_invoice *inv = NULL;
	billing__invoice_sum s;
	billing__invoice_for f = billing__invoice_draft_for(d);
	int64_t now = billing__now(ctx);
	size_t i;
	int rc;

	if ((rc = billing__invoice_amounts(&s, ctx, tx, &f, d->lines, d->line_count, NULL,
		false)) < 0)
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
	r.status = BILLING_INVOICE_DRAFT;
	r.subtotal = s.subtotal;
	r.total_discount = s.discount;
	r.discount_id = s.discount_id[0] ? s.discount_id : NULL;
	r.tax = s.tax;
	r.total = s.total;
	r.amount_due = s.total;         /* as any draft: before the balance */
	r.total_tax_amounts_json = s.taxed.total_tax_amounts;
	r.customer_tax_exempt = s.taxed.customer_tax_exempt;
	r.period_start = d->period_start;
	r.period_end = d->period_end;
	r.created_at = r.updated_at = now;
	r.version = 1;
	r.line_count = d->line_count;
	r.lines = d->lines;
	r.collection_method = BILLING_CHARGE_AUTOMATICALLY;
	due.tenant_id = d->tenant_id;
	due.kind = BILLING__DUE_DRAFT;
	due.resource_id = id;
	due.due_at = now + delay;
	if ((rc = billing__insert(ctx->st, tx, &billing__res_invoice, &r)) < 0 ||
	    (rc = billing__lines_insert(ctx->st, tx, &billing__res_invoice_line, d->tenant_id, id,
		d->lines, d->line_count, 1)) < 0 ||
	    (rc = ctx->st->due_set(tx, &due)) < 0)
		goto out;
	if ((inv = billing__invoice_from_record(&r)) == NULL) {
		rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
		goto out;
	}
	for (i = 0; rc == BILLING_OK && i < d->line_count; i++)
		rc = billing__invoice_add_line(inv, &d->lines[i]);
	if (rc == BILLING_OK)
		rc = billing__event_emit(ctx, tx, d->tenant_id, "invoice.created", "invoice", id,
			billing__json_invoice, inv);
	billing_invoice_free(inv);
out:
	billing__invoice_sum_free(&s);
	return rc;
}

static int finalize_retry(billing_invoice **out, billing_ctx *ctx, const billing_principal *who,
	const char *id, const billing_call_options *opts)
{
	billing__buf input = { 0 };
	BILLING__RETRY(change_once(out, ctx, who, BILLING_OP_INVOICES_FINALIZE, id, &input, opts,
		finalize_fn, NULL));
}

int billing_invoice_finalize(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_FINALIZE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	return finalize_retry(out, ctx, who, id, opts);
}

/* ------------------------------------------------------------ written off, paid by hand */

static int uncollectible_fn(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	const void *arg, int64_t now)
{
	int rc;
	(void)arg;
	(void)now;
	if ((rc = billing__invoice_transition(inv->status, BILLING_INVOICE_UNCOLLECTIBLE)) < 0 ||
	    (rc = billing__invoice_payments_settled(ctx, tx, inv->tenant_id, inv->id)) < 0 ||
	    (rc = ctx->st->due_clear(tx, inv->tenant_id, BILLING__DUE_COLLECT, inv->id)) < 0)
		return rc;
	/* No more automatic attempts: it is paid by hand or not at all. */
	inv->status = BILLING_INVOICE_UNCOLLECTIBLE;
	inv->next_attempt_at = 0;
	return billing__invoice_save(ctx, tx, inv, "invoice.marked_uncollectible");
}

static int uncollectible_retry(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	billing__buf input = { 0 };
	BILLING__RETRY(change_once(out, ctx, who, BILLING_OP_INVOICES_MARK_UNCOLLECTIBLE, id,
		&input, opts, uncollectible_fn, NULL));
}

int billing_invoice_mark_uncollectible(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_MARK_UNCOLLECTIBLE)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	return uncollectible_retry(out, ctx, who, id, opts);
}

static int out_of_band_fn(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	const void *arg, int64_t now)
{
	int rc;
	(void)arg;
	if (inv->status == BILLING_INVOICE_DRAFT)
		return billing__error_set(BILLING_ECONFLICT, "invalid_transition",
			"the invoice is a draft: finalize it first");
	if ((rc = billing__invoice_transition(inv->status, BILLING_INVOICE_PAID)) < 0 ||
	    (rc = billing__invoice_payments_settled(ctx, tx, inv->tenant_id, inv->id)) < 0 ||
	    (rc = ctx->st->due_clear(tx, inv->tenant_id, BILLING__DUE_COLLECT, inv->id)) < 0)
		return rc;
	inv->status = BILLING_INVOICE_PAID;
	inv->paid_out_of_band = 1;
	/* What was due after the balance, all of it. */
	if (__builtin_add_overflow(inv->amount_paid, inv->amount_due, &inv->amount_paid))
		return billing__error_set(BILLING_EOVERFLOW, "overflow", "amount paid overflows");
	inv->amount_due = 0;
	inv->paid_at = now;
	inv->next_attempt_at = 0;
	if ((rc = billing__invoice_save(ctx, tx, inv, "invoice.paid")) < 0)
		return rc;
	/* As a payment that succeeded: a subscription past due recovers. */
	if (inv->subscription_id)
		rc = billing__subscription_payment(ctx, tx, inv->tenant_id, inv->subscription_id,
			BILLING__SUB_PAYMENT_RECOVERED, now, now);
	return rc;
}

static int out_of_band_retry(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	billing__buf input = { 0 };
	billing__buf_add(&input, "paidOutOfBand", "true");
	BILLING__RETRY(change_once(out, ctx, who, BILLING_OP_INVOICES_PAY, id, &input, opts,
		out_of_band_fn, NULL));
}

int billing_invoice_pay_out_of_band(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_PAY)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	return out_of_band_retry(out, ctx, who, id, opts);
}

/* ------------------------------------------------------------ its own discount */

static int delete_discount_fn(billing_ctx *ctx, billing_txn *tx, billing_invoice *inv,
	const void *arg, int64_t now)
{
	struct billing__discount_info d;
	char *old;
	int rc;
	(void)arg;
	(void)now;

	if (inv->status != BILLING_INVOICE_DRAFT)
		return not_draft(inv);
	rc = billing__discount_of_invoice(&d, ctx, tx, inv->tenant_id, inv->id, true);
	if (rc == BILLING_ENOTFOUND)
		return billing__not_found("discount");
	if (rc < 0 || (rc = billing__discount_remove(ctx, tx, inv->tenant_id, &d)) < 0)
		return rc;
	/* Without a discount of its own, the draft's lines take the
	 * subscription's or customer's in effect, as a new draft would. */
	old = inv->discount_id;
	inv->discount_id = NULL;
	rc = billing__invoice_save(ctx, tx, inv, NULL);
	inv->discount_id = old;
	if (rc == BILLING_OK)
		rc = draft_retax(ctx, tx, inv, "invoice.updated", NULL);
	return rc;
}

static int delete_discount_retry(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	billing__buf input = { 0 };
	BILLING__RETRY(change_once(out, ctx, who, BILLING_OP_INVOICES_DELETE_DISCOUNT, id, &input,
		opts, delete_discount_fn, NULL));
}

int billing_invoice_delete_discount(billing_invoice **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_call_options *opts)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_DELETE_DISCOUNT)) < 0)
		return rc;
	BILLING__ASSERT_ARG(out, "out");
	return delete_discount_retry(out, ctx, who, id, opts);
}

/* ------------------------------------------------------------ delete */

static int delete_once(billing_ctx *ctx, const billing_principal *who, const char *id)
{
	struct billing__discount_info d;
	billing__items it = { 0 };
	billing_invoice *inv = NULL;
	billing_txn *tx;
	int rc;

	if (!billing__id_arg_ok(id, "in"))
		return billing__not_found("invoice");
	if ((rc = billing__begin(&tx, ctx, who->tenant_id, BILLING_TXN_WRITE)) < 0)
		return rc;
	if ((rc = billing__invoice_load(&inv, ctx, tx, who->tenant_id, id)) < 0)
		goto end;
	if (inv->status != BILLING_INVOICE_DRAFT) {
		rc = not_draft(inv);
		goto end;
	}
	/* A renewal's draft bills a period the subscription is in: it is
	 * finalized (or voided once finalized), never deleted (as Stripe). */
	if (inv->subscription_id) {
		rc = billing__error_set(BILLING_ECONFLICT, "subscription_invoice",
			"invoice %s is a subscription's renewal: finalize it, it cannot be deleted",
			id);
		goto end;
	}
	/* Its own discount goes with it (its redemption stays counted). */
	rc = billing__discount_of_invoice(&d, ctx, tx, who->tenant_id, id, true);
	if (rc == BILLING_OK)
		rc = billing__discount_remove(ctx, tx, who->tenant_id, &d);
	if (rc < 0 && rc != BILLING_ENOTFOUND)
		goto end;
	/* Its items wait again; the draft took no number, so none is lost. */
	if ((rc = billing__items_of_invoice(&it, ctx, tx, who->tenant_id, id)) < 0 ||
	    (rc = billing__items_attach(ctx, tx, &it, NULL)) < 0 ||
	    (rc = billing__owned_delete(ctx->st, tx, &billing__res_invoice_line, who->tenant_id,
		id)) < 0 ||
	    (rc = ctx->st->record_delete(tx, &billing__res_invoice, who->tenant_id, id)) < 0 ||
	    (rc = billing__event_emit(ctx, tx, who->tenant_id, "invoice.deleted", "invoice", id,
		billing__json_invoice, inv)) < 0)
		goto end;
	rc = billing__audit_record(ctx, tx, who->tenant_id, id);
end:
	billing__items_free(&it);
	billing_invoice_free(inv);
	return billing__end(ctx, tx, rc);
}

int billing_invoice_delete(billing_ctx *ctx, const billing_principal *who, const char *id)
{
	int rc;
	if ((rc = billing__authorize(ctx, who, BILLING_OP_INVOICES_DELETE)) < 0)
		return rc;
	BILLING__RETRY(delete_once(ctx, who, id));
}
