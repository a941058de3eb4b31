/*
 * The consistency checker (billing/check.h). It reads through the storage
 * vtable like every other part of the core: lists a page at a time, each
 * tenant in one read transaction, and compares what must agree.
 *
 * A tenant's rows are compared across statements (its invoices, then its
 * payments), so the transaction must see one snapshot: on PostgreSQL's
 * READ COMMITTED a payment captured between the two reads would look like
 * a captured payment on an unpaid invoice on a live database.
 *
 * Two halves. What one object's row must satisfy on its own, what its
 * references must name, and that its creation left an event, come from
 * the descriptors (billing/sys/resource.h): every stored object and every
 * object on the generic flow (billing__rules_all) is listed through
 * record_list and checked field by field, so a new object is checked
 * without an edit here. What holds across objects (an invoice's totals
 * and its lines, gapless numbers, payments against invoices) is written
 * out below.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/core.h"
#include "core/credit_note.h"
#include "core/customer_balance.h"
#include "core/discount.h"
#include "core/invoice_internal.h"
#include "core/meter.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/subscription_internal.h"

#define PAGE 500

typedef struct {
	char id[BILLING_ID_MAX];
	char number[160];
	int status;
	int64_t subtotal, tax, total, amount_paid, amount_due;
	int64_t starting_balance, ending_balance, pre_credit_notes;
	int64_t line_sum, line_tax;
	int64_t breakdown_tax;          /* the sum of totalTaxAmounts (#22) */
	int breakdown_ok;               /* totalTaxAmounts NULL or readable */
	int64_t total_discount, line_discount;  /* the invoice's, its lines' sum */
	char discount_id[BILLING_ID_MAX];
	int discount_lines_bad;                 /* lines whose discount is not the
	                                           invoice's or exceeds the line */
	int paid_out_of_band;
	char subscription_id[BILLING_ID_MAX];
	char customer_id[BILLING_ID_MAX];
	int threshold;                  /* billing_reason subscription_threshold (#23) */
	int64_t created_at, voided_at;
} inv_row;

/* A line that names a subscription item, and its invoice. */
typedef struct {
	char invoice_id[BILLING_ID_MAX];
	char subscription_id[BILLING_ID_MAX];
	char item_id[BILLING_ID_MAX];
} item_ref;

typedef struct {
	char id[BILLING_ID_MAX];
	char invoice_id[BILLING_ID_MAX];
	int status;
} pay_row;

/* An incomplete or incomplete_expired subscription and its first invoice. */
typedef struct {
	char id[BILLING_ID_MAX];
	char invoice_id[BILLING_ID_MAX];
	int status;
} sub_row;

/* A plan's full-period line (not a proration), for the price rule. */
typedef struct {
	char invoice_id[BILLING_ID_MAX];
	char plan_id[BILLING_ID_MAX];
	char customer_id[BILLING_ID_MAX];
	int32_t line_no, quantity;
	int64_t unit_amount, amount, period_start, period_end;
	bool tiers;
	/* For usage lines (#23): the line's item and subscription, its
	 * invoice's status, whether it is a spend threshold's, and when that
	 * invoice was made and voided. */
	char item_id[BILLING_ID_MAX];
	char subscription_id[BILLING_ID_MAX];
	char meter_id[BILLING_ID_MAX];
	int status, threshold;
	int64_t created_at, voided_at;
} plan_line_row;

/* Growable arrays of fixed-size rows. */
typedef struct {
	void *v;
	size_t n, cap, size;
} vec;

static void *vec_push(vec *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void *v = billing__realloc(a->v, cap * a->size);
		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	return (char *)a->v + a->n++ * a->size;
}

typedef struct {
	billing_ctx *ctx;
	billing_check_fn fn;
	void *user_data;
	int64_t problems;
	const char *tenant_id;
} checker;

static void problem(checker *c, const char *kind, const char *resource_id, const char *fmt, ...)
	BILLING__PRINTF(4, 5);

static void problem(checker *c, const char *kind, const char *resource_id, const char *fmt, ...)
{
	billing_check_problem p;
	char detail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	c->problems++;
	p.tenant_id = c->tenant_id;
	p.kind = kind;
	p.resource_id = resource_id;
	p.detail = detail;
	if (c->fn)
		c->fn(c->user_data, &p);
}

/* ------------------------------------------------------------ reading */

static int invoice_row(void *payload, const void *record)
{
	const billing_invoice_record *r = record;
	inv_row *i = vec_push(payload);
	if (!i)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	memset(i, 0, sizeof(*i));
	snprintf(i->id, sizeof(i->id), "%s", r->id);
	snprintf(i->number, sizeof(i->number), "%s", r->number ? r->number : "");
	i->status = r->status;
	i->subtotal = r->subtotal;
	i->tax = r->tax;
	i->total = r->total;
	/* The breakdown per rate (invoice_tax.c); NULL: untaxed, or written
	 * before #22. */
	i->breakdown_ok = 1;
	i->breakdown_tax = r->tax;
	if (r->total_tax_amounts_json) {
		cJSON *arr = cJSON_Parse(r->total_tax_amounts_json), *e;
		i->breakdown_ok = cJSON_IsArray(arr);
		i->breakdown_tax = 0;
		cJSON_ArrayForEach(e, arr) {
			const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "amount");
			if (!cJSON_IsNumber(a))
				i->breakdown_ok = 0;
			else
				i->breakdown_tax += (int64_t)a->valuedouble;
		}
		cJSON_Delete(arr);
	}
	i->amount_paid = r->amount_paid;
	i->amount_due = r->amount_due;
	i->starting_balance = r->starting_balance;
	i->ending_balance = r->ending_balance;
	i->pre_credit_notes = r->pre_payment_credit_notes_amount;
	i->total_discount = r->total_discount;
	snprintf(i->discount_id, sizeof(i->discount_id), "%s",
		r->discount_id ? r->discount_id : "");
	i->paid_out_of_band = r->paid_out_of_band;
	snprintf(i->subscription_id, sizeof(i->subscription_id), "%s",
		r->subscription_id ? r->subscription_id : "");
	snprintf(i->customer_id, sizeof(i->customer_id), "%s",
		r->customer_id ? r->customer_id : "");
	i->threshold = r->billing_reason && strcmp(r->billing_reason, "subscription_threshold") == 0;
	i->created_at = r->created_at;
	i->voided_at = r->voided_at;
	return BILLING_OK;
}

struct line_scan {
	inv_row *inv;
	vec *refs;
	vec *plan_lines;
};

static int line_row(void *payload, const void *record)
{
	const billing_line_record *r = record;
	const billing_invoice_line *l = &r->line;
	struct line_scan *s = payload;
	plan_line_row *p;
	item_ref *ref;
	/* Before discounts, less an inclusive rate's tax (invoice_tax.c): the
	 * amount itself on a line of no inclusive rate. */
	s->inv->line_sum += l->tax_amounts && strstr(l->tax_amounts, "\"inclusive\":true") ?
		l->taxable_amount + l->discount_amount : l->amount;
	s->inv->line_tax += l->tax_amount;
	s->inv->line_discount += l->discount_amount;
	/* A line's discount is the invoice's one discount, of the line's sign
	 * and at most its amount (discount.h). */
	if ((l->discount_amount != 0) != (l->discount_id != NULL) ||
	    (l->discount_id && strcmp(l->discount_id, s->inv->discount_id) != 0) ||
	    (l->amount >= 0 ? l->discount_amount < 0 || l->discount_amount > l->amount :
	     l->discount_amount > 0 || l->discount_amount < l->amount))
		s->inv->discount_lines_bad++;
	if (l->subscription_item_id) {
		if ((ref = vec_push(s->refs)) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		snprintf(ref->invoice_id, sizeof(ref->invoice_id), "%s", s->inv->id);
		snprintf(ref->subscription_id, sizeof(ref->subscription_id), "%s", s->inv->subscription_id);
		snprintf(ref->item_id, sizeof(ref->item_id), "%s", l->subscription_item_id);
	}
	if (!l->plan_id || l->proration)
		return BILLING_OK;
	if ((p = vec_push(s->plan_lines)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	snprintf(p->invoice_id, sizeof(p->invoice_id), "%s", s->inv->id);
	snprintf(p->plan_id, sizeof(p->plan_id), "%s", l->plan_id);
	snprintf(p->customer_id, sizeof(p->customer_id), "%s", s->inv->customer_id);
	p->period_start = l->period_start;
	p->period_end = l->period_end;
	p->line_no = r->line_no;
	p->quantity = l->quantity;
	p->unit_amount = l->unit_amount;
	p->amount = l->amount;
	p->tiers = l->tiers != NULL;
	snprintf(p->item_id, sizeof(p->item_id), "%s",
		l->subscription_item_id ? l->subscription_item_id : "");
	snprintf(p->subscription_id, sizeof(p->subscription_id), "%s", s->inv->subscription_id);
	p->meter_id[0] = '\0';
	p->status = s->inv->status;
	p->threshold = s->inv->threshold;
	p->created_at = s->inv->created_at;
	p->voided_at = s->inv->voided_at;
	return BILLING_OK;
}

/* Each line of a subscription item is on an invoice of the item's
 * subscription (an item removed since is gone: its lines are history). */
static int check_item_lines(checker *c, billing_txn *tx, const char *tenant_id, const vec *refs)
{
	char owner[BILLING_ID_MAX];
	size_t i;
	int rc;
	for (i = 0; i < refs->n; i++) {
		const item_ref *r = (const item_ref *)refs->v + i;
		rc = billing__subscription_item_owner(owner, c->ctx, tx, tenant_id, r->item_id);
		if (rc == BILLING_ENOTFOUND && r->subscription_id[0]) {
			billing_error_clear();
			continue;
		}
		if (rc < 0 && rc != BILLING_ENOTFOUND)
			return rc;
		if (rc == BILLING_ENOTFOUND || strcmp(owner, r->subscription_id) != 0)
			problem(c, "line_item", r->invoice_id, "a line of item %s (of %s) on an invoice "
				"of %s", r->item_id, rc == BILLING_OK ? owner : "no subscription",
				r->subscription_id[0] ? r->subscription_id : "no subscription");
	}
	billing_error_clear();
	return BILLING_OK;
}

static int payment_row(void *payload, const void *record)
{
	const billing_payment_record *r = record;
	pay_row *p = vec_push(payload);
	if (!p)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	snprintf(p->id, sizeof(p->id), "%s", r->id);
	snprintf(p->invoice_id, sizeof(p->invoice_id), "%s", r->invoice_id);
	p->status = r->status;
	return BILLING_OK;
}

/* Subscriptions are read a page at a time; only the incomplete ones are
 * kept, every row counted (page_all's end of the list). */
struct incomplete_scan {
	vec *subs;
	size_t rows;
};

static int incomplete_row(void *payload, const void *record)
{
	const billing_subscription_record *r = record;
	struct incomplete_scan *sc = payload;
	sub_row *x;
	sc->rows++;
	if (r->status != BILLING_SUB_INCOMPLETE && r->status != BILLING_SUB_INCOMPLETE_EXPIRED)
		return BILLING_OK;
	if ((x = vec_push(sc->subs)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	snprintf(x->id, sizeof(x->id), "%s", r->id);
	snprintf(x->invoice_id, sizeof(x->invoice_id), "%s",
		r->latest_invoice_id ? r->latest_invoice_id : "");
	x->status = r->status;
	return BILLING_OK;
}

typedef struct {
	char id[BILLING_ID_MAX];
	int64_t created_at;
} id_row;


/* Every row of res to cb, a page at a time; *rows is the count cb grows
 * (a page short of PAGE rows is the last). */
static int page_all(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_resource *res, billing_row_cb cb, void *payload, const size_t *rows)
{
	billing_list_query q;
	int64_t page = 0;
	int rc;
	memset(&q, 0, sizeof(q));
	q.limit = PAGE;
	for (;;) {
		size_t before = *rows;
		q.offset = page * PAGE;
		if ((rc = billing__list_records(st, tx, res, tenant_id, &q, cb, payload)) < 0)
			return rc;
		if (*rows - before < PAGE)
			return BILLING_OK;
		page++;
	}
}

/* Every row of a list into out. */
static int read_all(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_resource *res, billing_row_cb cb, vec *out)
{
	return page_all(st, tx, tenant_id, res, cb, out, &out->n);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(((const id_row *)a)->id, ((const id_row *)b)->id);
}

static int cmp_counter(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* The counter of a number: its last six digits (the zero-padded counter;
 * a prefix may end in digits too). */
static long long counter_of(const char *number)
{
	size_t n = strlen(number);
	return n >= 6 ? strtoll(number + n - 6, NULL, 10) : -1;
}

/* ------------------------------------------------------------ checks */

static void check_invoices(checker *c, vec *inv, vec *pay)
{
	long long *counters;
	size_t i, j, k = 0;

	if ((counters = billing__calloc(inv->n ? inv->n : 1, sizeof(*counters))) == NULL) {
		problem(c, "check_incomplete", NULL, "out of memory");
		return;
	}
	for (i = 0; i < inv->n; i++) {
		inv_row *r = (inv_row *)inv->v + i;
		if (r->line_discount != r->total_discount || r->discount_lines_bad ||
		    (r->total_discount != 0 && !r->discount_id[0]))
			problem(c, "invoice_discounts", r->id, "lines' discounts %lld against "
				"totalDiscountAmounts %lld; %d lines whose discount is not the "
				"invoice's or exceeds the line", (long long)r->line_discount,
				(long long)r->total_discount, r->discount_lines_bad);
		/* The tax: the lines' = the invoice's = its breakdown per rate. */
		if (r->line_sum != r->subtotal || r->line_tax != r->tax ||
		    !r->breakdown_ok || r->breakdown_tax != r->tax ||
		    r->total != r->subtotal - r->total_discount + r->tax ||
		    r->amount_due != r->total +
		    r->starting_balance - r->ending_balance - r->amount_paid - r->pre_credit_notes ||
		    r->amount_due < 0)
			problem(c, "invoice_sums", r->id, "lines %lld + tax %lld against subtotal "
				"%lld, tax %lld, total %lld, due %lld", (long long)r->line_sum,
				(long long)r->line_tax, (long long)r->subtotal, (long long)r->tax,
				(long long)r->total, (long long)r->amount_due);
		if (r->number[0])
			counters[k++] = counter_of(r->number);
		/* A draft has no number; every finalized invoice has one. */
		if ((r->status == BILLING_INVOICE_DRAFT) == (r->number[0] != '\0'))
			problem(c, "invoice_number", r->id, "a %s invoice %s a number",
				billing_invoice_status_name((billing_invoice_status)r->status),
				r->number[0] ? "with" : "without");
		/* Paid out of band: no payment is expected. */
		if (r->status == BILLING_INVOICE_PAID && r->amount_paid > 0 && !r->paid_out_of_band) {
			bool captured = false;
			for (j = 0; j < pay->n && !captured; j++) {
				pay_row *p = (pay_row *)pay->v + j;
				captured = strcmp(p->invoice_id, r->id) == 0 &&
					(p->status == BILLING_PAYMENT_SUCCEEDED ||
					 p->status == BILLING_PAYMENT_REFUNDED ||
					 p->status == BILLING_PAYMENT_PARTIALLY_REFUNDED);
			}
			if (!captured)
				problem(c, "paid_without_payment", r->id,
					"paid %lld with no captured payment", (long long)r->amount_paid);
		}
	}
	if (k)
		qsort(counters, k, sizeof(*counters), cmp_counter);
	for (i = 0; i < k; i++)
		if (counters[i] != (long long)i + 1) {
			problem(c, "invoice_number_gap", NULL, "the %zu-th number's counter is %lld",
				i + 1, counters[i]);
			break;
		}
	billing__free(counters);
	for (j = 0; j < pay->n; j++) {
		pay_row *p = (pay_row *)pay->v + j;
		bool paid = false;
		if (p->status != BILLING_PAYMENT_SUCCEEDED)
			continue;
		for (i = 0; i < inv->n && !paid; i++) {
			inv_row *r = (inv_row *)inv->v + i;
			paid = strcmp(r->id, p->invoice_id) == 0 && r->status == BILLING_INVOICE_PAID;
		}
		if (!paid)
			problem(c, "payment_invoice_unpaid", p->id,
				"captured, but invoice %s is not paid", p->invoice_id);
	}
}

/* An incomplete subscription's first invoice is not paid (paid, it would
 * be active); an incomplete_expired one's is void (the expiry voids it). */
/*
 * A plan's full-period line costs what the plan's price model says of its
 * quantity (core/price.h). A perUnit line is priced at the unit amount it
 * recorded (a plan's amount may change later; a trial's is 0); a tiered
 * plan's model is fixed, and its trial line is the zero line without
 * tiers. Prorations are a part of the model's amount and are not
 * recomputed (their sums are checked with the invoice's).
 */
/*
 * A metered plan's lines are usage (issue #23): the lines of a subscription
 * item's usage of one meter and period (one start) are the period's
 * closing line, billed in arrears for the whole period (or up to a cancel
 * or a change now) once its aggregate is stored, and before it the lines of
 * the spend threshold's invoices. Their quantities and amounts add up:
 * the closing line's aggregate (a negative one bills 0) is the sum of the
 * quantities, and its price by the plan's model the sum of the amounts, of
 * the closing line and the threshold lines that stand: not void, or voided
 * after the closing line was made (a write-off then, which the closing line
 * did not bill again). A closing line voided is a write-off of the rest:
 * not compared. A usage line with no stored aggregate for its span that is
 * not a threshold's is "usage_line_aggregate"; so is a sum that differs.
 */
static int cmp_usage(const void *a, const void *b)
{
	const plan_line_row *x = a, *y = b;
	int c;
	if ((c = strcmp(x->subscription_id, y->subscription_id)) != 0 ||
	    (c = strcmp(x->item_id, y->item_id)) != 0 || (c = strcmp(x->meter_id, y->meter_id)) != 0)
		return c;
	return x->period_start < y->period_start ? -1 : x->period_start > y->period_start;
}

static int check_usage_group(checker *c, billing_txn *tx, const char *tenant_id,
	const plan_line_row *g, size_t n)
{
	billing__plan_info plan;
	billing__price_result pr;
	size_t i, k;
	int rc;

	for (i = 0; i < n; i++) {
		const plan_line_row *l = &g[i];
		int64_t value = 0, end = 0, amount = 0, quantity = 0;
		if (l->threshold)
			continue;
		rc = billing__usage_stored(&value, &end, c->ctx, tx, tenant_id, l->meter_id,
			l->customer_id, l->period_start, l->period_end);
		if (rc == BILLING_ENOTFOUND) {
			problem(c, "usage_line_aggregate", l->invoice_id, "line %d: no aggregate of "
				"meter %s is stored for its period", (int)l->line_no, l->meter_id);
			continue;
		}
		if (rc < 0)
			return rc;
		if (l->status == BILLING_INVOICE_VOID)
			continue;
		for (k = 0; k < n; k++) {
			const plan_line_row *t = &g[k];
			if (k != i && (!t->threshold || (t->status == BILLING_INVOICE_VOID &&
			    t->voided_at < l->created_at)))
				continue;
			amount += t->amount;
			quantity += t->quantity;
		}
		if (value < 0)
			value = 0;
		if ((rc = billing__plan_info_peek(&plan, c->ctx, tx, tenant_id, l->plan_id)) < 0)
			return rc;
		if (plan.price.scheme == BILLING__SCHEME_PER_UNIT)
			plan.price.unit_amount = l->unit_amount;
		if (value > INT32_MAX || billing__price_apply(&pr, &plan.price, (int32_t)value) < 0) {
			problem(c, "usage_line_aggregate", l->invoice_id, "line %d: the aggregate %lld "
				"of meter %s has no price", (int)l->line_no, (long long)value, l->meter_id);
			continue;
		}
		if (quantity != value || amount != pr.amount || end != l->period_end)
			problem(c, "usage_line_aggregate", l->invoice_id, "line %d: the usage lines of "
				"item %s for [%lld, %lld) bill %lld units for %lld, but meter %s's stored "
				"aggregate is %lld, which costs %lld", (int)l->line_no, l->item_id,
				(long long)l->period_start, (long long)l->period_end, (long long)quantity,
				(long long)amount, l->meter_id, (long long)value, (long long)pr.amount);
	}
	return BILLING_OK;
}

/* What threshold invoices billed of a period (meter.h, usage_billed) is
 * the sum of their lines that are not void ("usage_billed_amount"). */
static int billed_rec_row(void *payload, const void *record)
{
	billing__usage_billed_record *b = vec_push(payload);
	const billing__usage_billed_record *r = record;
	if (!b)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	*b = *r;
	/* The strings are the row's, gone after the call: a copy each. */
	b->id = billing__strdup(r->id);
	b->subscription_id = billing__strdup(r->subscription_id);
	b->item_id = billing__strdup(r->item_id);
	b->meter_id = billing__strdup(r->meter_id);
	b->tenant_id = NULL;
	if (!b->id || !b->subscription_id || !b->item_id || !b->meter_id)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	return BILLING_OK;
}

static int check_usage_billed(checker *c, billing_txn *tx, const char *tenant_id,
	const vec *usage)
{
	vec rows = { NULL, 0, 0, sizeof(billing__usage_billed_record) };
	size_t i, k;
	int rc = read_all(c->ctx->st, tx, tenant_id, &billing__res_usage_billed, billed_rec_row,
		&rows);

	for (i = 0; rc == BILLING_OK && i < rows.n; i++) {
		const billing__usage_billed_record *b =
			(const billing__usage_billed_record *)rows.v + i;
		int64_t amount = 0, quantity = 0;
		for (k = 0; k < usage->n; k++) {
			const plan_line_row *l = (const plan_line_row *)usage->v + k;
			if (!l->threshold || l->status == BILLING_INVOICE_VOID ||
			    l->period_start != b->period_start ||
			    strcmp(l->subscription_id, b->subscription_id) != 0 ||
			    strcmp(l->item_id, b->item_id) != 0 || strcmp(l->meter_id, b->meter_id) != 0)
				continue;
			amount += l->amount;
			quantity += l->quantity;
		}
		if (amount != b->amount || quantity != b->quantity)
			problem(c, "usage_billed_amount", b->subscription_id, "item %s, meter %s, period "
				"from %lld: threshold invoices billed %lld (through %lld), but %lld "
				"(through %lld) is recorded", b->item_id, b->meter_id,
				(long long)b->period_start, (long long)amount, (long long)quantity,
				(long long)b->amount, (long long)b->quantity);
	}
	for (i = 0; i < rows.n; i++) {
		billing__usage_billed_record *b = (billing__usage_billed_record *)rows.v + i;
		billing__free((char *)b->id);
		billing__free((char *)b->subscription_id);
		billing__free((char *)b->item_id);
		billing__free((char *)b->meter_id);
	}
	billing__free(rows.v);
	return rc;
}

static int check_usage_lines(checker *c, billing_txn *tx, const char *tenant_id, vec *usage)
{
	plan_line_row *v = usage->v;
	size_t i, j;
	int rc = BILLING_OK;

	if (usage->n)
		qsort(v, usage->n, sizeof(*v), cmp_usage);
	for (i = 0; rc == BILLING_OK && i < usage->n; i = j) {
		for (j = i + 1; j < usage->n && cmp_usage(&v[i], &v[j]) == 0; j++)
			;
		rc = check_usage_group(c, tx, tenant_id, &v[i], j - i);
	}
	if (rc == BILLING_OK)
		rc = check_usage_billed(c, tx, tenant_id, usage);
	return rc;
}

static int check_plan_lines(checker *c, billing_txn *tx, const char *tenant_id, vec *lines)
{
	billing__plan_info plan;
	billing__price_result r;
	vec usage = { NULL, 0, 0, sizeof(plan_line_row) };
	bool have = false;
	size_t i;
	int rc;

	for (i = 0; i < lines->n; i++) {
		const plan_line_row *l = (const plan_line_row *)lines->v + i;
		billing__price_model m;
		if (!have || strcmp(plan.id, l->plan_id) != 0) {
			rc = billing__plan_info_peek(&plan, c->ctx, tx, tenant_id, l->plan_id);
			have = rc == BILLING_OK;
			if (rc == BILLING_ENOTFOUND)
				continue;
			if (rc == BILLING_ERROR && billing_error_last()->reason &&
			    strcmp(billing_error_last()->reason, "invalid_price_model") == 0) {
				problem(c, "plan_line_amount", l->invoice_id, "line %d: plan %s has an "
					"invalid price model", (int)l->line_no, l->plan_id);
				continue;
			}
			if (rc < 0)
				goto out;
		}
		if (plan.usage_type == BILLING__USAGE_METERED) {
			/* Checked by their sums (check_usage_lines). */
			plan_line_row *u = vec_push(&usage);
			if (!u) {
				rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
				goto out;
			}
			*u = *l;
			snprintf(u->meter_id, sizeof(u->meter_id), "%s", plan.meter_id);
			continue;
		}
		m = plan.price;
		if (m.scheme == BILLING__SCHEME_PER_UNIT)
			m.unit_amount = l->unit_amount;
		else if (l->amount == 0 && !l->tiers)
			continue;
		if (billing__price_apply(&r, &m, l->quantity) < 0)
			problem(c, "plan_line_amount", l->invoice_id, "line %d: quantity %d of plan "
				"%s has no price (%s)", (int)l->line_no, (int)l->quantity, l->plan_id,
				billing_error_last()->message);
		else if (r.amount != l->amount)
			problem(c, "plan_line_amount", l->invoice_id, "line %d: amount %lld, but "
				"quantity %d of plan %s costs %lld", (int)l->line_no,
				(long long)l->amount, (int)l->quantity, l->plan_id, (long long)r.amount);
	}
	rc = check_usage_lines(c, tx, tenant_id, &usage);
out:
	billing__free(usage.v);
	return rc;
}

static void check_incomplete(checker *c, vec *subs, vec *inv)
{
	size_t i, j;
	for (i = 0; i < subs->n; i++) {
		sub_row *x = (sub_row *)subs->v + i;
		for (j = 0; j < inv->n; j++) {
			inv_row *r = (inv_row *)inv->v + j;
			if (strcmp(r->id, x->invoice_id) != 0)
				continue;
			if (x->status == BILLING_SUB_INCOMPLETE && r->status == BILLING_INVOICE_PAID)
				problem(c, "incomplete_invoice_paid", x->id, "incomplete, but its "
					"invoice %s is paid", r->id);
			if (x->status == BILLING_SUB_INCOMPLETE_EXPIRED &&
			    r->status != BILLING_INVOICE_VOID)
				problem(c, "incomplete_expired_invoice_not_void", x->id,
					"incomplete_expired, but its invoice %s is %s", r->id,
					billing_invoice_status_name((billing_invoice_status)r->status));
			break;
		}
	}
}

/* Each resource made since the retention horizon has an event. */
static void check_events(checker *c, vec *events, vec *resources, const char *what)
{
	int64_t horizon = c->ctx->event_retention > 0 ?
		billing__now(c->ctx) - c->ctx->event_retention : 0;
	size_t i;
	for (i = 0; i < resources->n; i++) {
		id_row *r = (id_row *)resources->v + i;
		if (r->created_at < horizon)
			continue;
		if (!events->n || !bsearch(r, events->v, events->n, sizeof(id_row), cmp_id))
			problem(c, "missing_event", r->id, "the %s has no event", what);
	}
}

/* ------------------------------------------------------------ from the descriptors */

/* The objects stored before the generic flow existed; those on it come
 * from billing__rules_all(). Tenants are the unit of the check, not rows
 * in it. */
static const billing_resource *const stored[] = {
	&billing__res_customer, &billing__res_product, &billing__res_plan, &billing__res_user,
	&billing__res_subscription, &billing__res_invoice, &billing__res_payment,
	&billing__res_refund, &billing__res_webhook_endpoint, &billing__res_delivery,
	&billing__res_event, &billing__res_audit,
};
#define STORED_COUNT (sizeof(stored) / sizeof(stored[0]))

static bool is_stored(const billing_resource *res)
{
	size_t i;
	for (i = 0; i < STORED_COUNT; i++)
		if (stored[i] == res)
			return true;
	return false;
}

/* One object's rows: ids (sorted once read) and creation times. */
typedef struct {
	const billing_resource *res;
	vec ids;                     /* id_row */
} listed;

/* A reference to resolve once every list is read. */
typedef struct {
	char id[BILLING_ID_MAX];     /* the row that holds it */
	char value[BILLING_ID_MAX];  /* the id it names */
	const billing_resource *res;
	const billing_reference *ref;
} ref_row;

typedef struct {
	checker *c;
	listed *l;
	vec *refs;
	vec *events;                 /* id_row: the resource ids events name */
} lister;

static bool wants_event(const billing_resource *res)
{
	return (res->traits & BILLING_RESOURCE_CREATE_EVENT) ||
		(res->ops & BILLING_RESOURCE_OP_CREATE);
}

/* Whether text is a JSON object (of strings only, when strings). */
static bool json_object(const char *text, bool strings)
{
	cJSON *j = cJSON_Parse(text), *e;
	bool ok = cJSON_IsObject(j);
	if (ok && strings)
		cJSON_ArrayForEach(e, j)
			ok = ok && cJSON_IsString(e);
	cJSON_Delete(j);
	return ok;
}

static bool json_array(const char *text)
{
	cJSON *j = cJSON_Parse(text), *e;
	bool ok = cJSON_IsArray(j);
	cJSON_ArrayForEach(e, j)
		ok = ok && cJSON_IsObject(e);
	cJSON_Delete(j);
	return ok;
}

/* Field f of rec, row id, on its own. Values are never shown: a field
 * may hold a secret. */
static void check_field(checker *c, const billing_resource *res, const billing_field *f,
	const void *rec, const char *id)
{
	const char *name = f->json ? f->json : f->column, *text = billing__record_text(f, rec);
	int64_t v = billing__record_int(f, rec);
	size_t n = 0;

	if ((f->flags & BILLING_FIELD_TENANT) && (!text || strcmp(text, c->tenant_id) != 0))
		problem(c, "invalid_field", id, "%s %s: not the tenant it is stored under",
			res->name, name);
	if ((f->flags & BILLING_FIELD_ID) && res->prefix && !billing__id_arg_ok(text, res->prefix))
		problem(c, "invalid_field", id, "%s %s: not a %s_ id", res->name, name,
			res->prefix);
	if ((f->flags & BILLING_FIELD_VERSION) && v < 1)
		problem(c, "invalid_field", id, "%s %s: %lld, below 1", res->name, name,
			(long long)v);
	if ((f->flags & BILLING_FIELD_NONNEGATIVE) && v < 0)
		problem(c, "invalid_field", id, "%s %s: %lld, negative", res->name, name,
			(long long)v);
	if (f->json_kind == BILLING_JSON_BOOLEAN && v != 0 && v != 1)
		problem(c, "invalid_field", id, "%s %s: %lld, not 0 or 1", res->name, name,
			(long long)v);
	/* An enum that may be absent (ZERO_NULL: 0 is stored as NULL, shown
	 * as null) holds 0 when it is. */
	if (f->json_kind == BILLING_JSON_ENUM && f->names &&
	    !(v == 0 && (f->flags & BILLING_FIELD_ZERO_NULL))) {
		while (f->names[n])
			n++;
		if (v < 0 || (size_t)v >= n || !*f->names[v])
			problem(c, "invalid_field", id, "%s %s: %lld, not one of its values",
				res->name, name, (long long)v);
	} else if (f == res->status && res->status_count &&
		   (v < 0 || (uint64_t)v >= res->status_count))
		problem(c, "invalid_field", id, "%s %s: %lld, not one of its statuses",
			res->name, name, (long long)v);
	if ((f->json_kind == BILLING_JSON_METADATA || f->json_kind == BILLING_JSON_OBJECT) &&
	    text && !json_object(text, f->json_kind == BILLING_JSON_METADATA))
		problem(c, "invalid_field", id, "%s %s: not a JSON object%s", res->name, name,
			f->json_kind == BILLING_JSON_METADATA ? " of strings" : "");
	if (f->json_kind == BILLING_JSON_ARRAY && text && !json_array(text))
		problem(c, "invalid_field", id, "%s %s: not a JSON array of objects", res->name,
			name);
}

static int listed_row(void *payload, const void *rec)
{
	lister *ls = payload;
	const billing_resource *res = ls->l->res;
	const billing_field *idf = billing__field_with(res, BILLING_FIELD_ID);
	const billing_field *created = billing_resource_field(res, "created_at");
	const char *id = idf ? billing__record_text(idf, rec) : NULL;
	id_row *r;
	size_t i;

	if (!id)
		id = "";
	for (i = 0; i < res->field_count; i++)
		check_field(ls->c, res, &res->fields[i], rec, id);
	for (i = 0; i < res->reference_count; i++) {
		const billing_reference *ref = &res->references[i];
		const char *value = billing__record_text(billing_resource_field(res, ref->column),
			rec);
		ref_row *x;
		if (!value)
			continue;
		if ((x = vec_push(ls->refs)) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		snprintf(x->id, sizeof(x->id), "%s", id);
		/* Longer than any id: it names nothing (and stays so truncated). */
		snprintf(x->value, sizeof(x->value), "%s", strlen(value) < sizeof(x->value) ?
			value : "");
		x->res = res;
		x->ref = ref;
	}
	if ((r = vec_push(&ls->l->ids)) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->created_at = billing__record_int(created, rec);
	if (res == &billing__res_event) {
		const char *about = ((const billing_event_record *)rec)->resource_id;
		if ((r = vec_push(ls->events)) == NULL)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
		snprintf(r->id, sizeof(r->id), "%s", about ? about : "");
		r->created_at = 0;
	}
	return BILLING_OK;
}

/* Every row of the lister's resource. */
static int list_records(billing_txn *tx, const char *tenant_id, lister *ls)
{
	return page_all(ls->c->ctx->st, tx, tenant_id, ls->l->res, listed_row, ls,
		&ls->l->ids.n);
}

static int found_row(void *payload, const void *rec)
{
	(void)rec;
	*(bool *)payload = true;
	return BILLING_OK;
}

/* Whether id names a row of res: among those listed, else read (a list
 * leaves soft-deleted rows out). */
static int exists(checker *c, billing_txn *tx, const char *tenant_id, listed *all, size_t n,
	const billing_resource *res, const char *id, bool *found)
{
	billing_storage *st = c->ctx->st;
	id_row key;
	size_t i;
	int rc;
	*found = false;
	if (!*id)
		return BILLING_OK;
	memset(&key, 0, sizeof(key));
	snprintf(key.id, sizeof(key.id), "%s", id);
	for (i = 0; i < n; i++)
		if (all[i].res == res && all[i].ids.n &&
		    bsearch(&key, all[i].ids.v, all[i].ids.n, sizeof(id_row), cmp_id)) {
			*found = true;
			return BILLING_OK;
		}
	rc = billing__read(st, tx, res, tenant_id, id, BILLING_LOCK_NONE, found_row, found);
	if (rc == BILLING_ENOTFOUND) {
		billing_error_clear();
		rc = BILLING_OK;
	}
	return rc;
}

/* Each object of the tenant as its descriptor says. events receives the
 * ids the tenant's events are about (sorted). */
static int check_records(checker *c, billing_txn *tx, const char *tenant_id, vec *events)
{
	size_t nrules, n, i;
	const billing__rules *const *rules = billing__rules_all(&nrules);
	vec refs = { NULL, 0, 0, sizeof(ref_row) };
	listed *all;
	int rc = BILLING_OK;

	if ((all = billing__calloc(STORED_COUNT + nrules, sizeof(*all))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (n = 0; n < STORED_COUNT; n++)
		all[n].res = stored[n];
	/* Each object once: some stored ones are on the generic flow too. */
	for (i = 0; i < nrules; i++)
		if (!is_stored(rules[i]->res))
			all[n++].res = rules[i]->res;
	for (i = 0; i < n; i++)
		all[i].ids.size = sizeof(id_row);
	for (i = 0; i < n && rc == BILLING_OK; i++) {
		lister ls = { c, &all[i], &refs, events };
		if ((rc = list_records(tx, tenant_id, &ls)) == BILLING_OK && all[i].ids.n)
			qsort(all[i].ids.v, all[i].ids.n, sizeof(id_row), cmp_id);
	}
	if (rc == BILLING_OK && events->n)  /* qsort and bsearch take no NULL base */
		qsort(events->v, events->n, sizeof(id_row), cmp_id);
	for (i = 0; i < n && rc == BILLING_OK; i++)
		if (wants_event(all[i].res))
			check_events(c, events, &all[i].ids, all[i].res->name);
	for (i = 0; i < refs.n && rc == BILLING_OK; i++) {
		ref_row *x = (ref_row *)refs.v + i;
		bool found;
		if ((rc = exists(c, tx, tenant_id, all, n, x->ref->target, x->value, &found)) ==
		    BILLING_OK && !found)
			problem(c, "dangling_reference", x->id, "%s %s: names no %s", x->res->name,
				x->ref->column, x->ref->target->name);
	}
	for (i = 0; i < n; i++)
		billing__free(all[i].ids.v);
	billing__free(all);
	billing__free(refs.v);
	return rc;
}

/* A customer's balance that is not the sum of its transactions. */
static void balance_problem(void *payload, const char *customer_id, const char *currency,
	int64_t balance, int64_t sum, const char *what)
{
	if (what)
		problem(payload, "balance_drift", customer_id, "%s %s", currency, what);
	else
		problem(payload, "balance_drift", customer_id, "balance %s %lld, its transactions "
			"sum to %lld", currency, (long long)balance, (long long)sum);
}

/* What the credit notes' and the discounts' checks find (credit_note.c,
 * discount_object.c). */
static void found_problem(void *payload, const char *kind, const char *resource_id,
	const char *detail)
{
	problem(payload, kind, resource_id, "%s", detail);
}

static int check_tenant(checker *c, const char *tenant_id)
{
	billing_storage *st = c->ctx->st;
	vec inv = { NULL, 0, 0, sizeof(inv_row) }, pay = { NULL, 0, 0, sizeof(pay_row) };
	vec ev = { NULL, 0, 0, sizeof(id_row) }, subs = { NULL, 0, 0, sizeof(sub_row) };
	vec refs = { NULL, 0, 0, sizeof(item_ref) };
	vec plan_lines = { NULL, 0, 0, sizeof(plan_line_row) };
	billing_txn *tx;
	size_t i;
	int rc;

	c->tenant_id = tenant_id;
	if ((rc = billing__begin(&tx, c->ctx, tenant_id, BILLING_TXN_SNAPSHOT)) < 0)
		return rc;
	rc = read_all(st, tx, tenant_id, &billing__res_invoice, invoice_row, &inv);
	for (i = 0; rc == BILLING_OK && i < inv.n; i++) {
		struct line_scan sc = { (inv_row *)inv.v + i, &refs, &plan_lines };
		rc = billing__list_owned(st, tx, &billing__res_invoice_line, tenant_id, sc.inv->id,
			line_row, &sc);
	}
	if (rc == BILLING_OK)
		rc = check_item_lines(c, tx, tenant_id, &refs);
	if (rc == BILLING_OK)
		rc = read_all(st, tx, tenant_id, &billing__res_payment, payment_row, &pay);
	if (rc == BILLING_OK)
		check_invoices(c, &inv, &pay);
	if (rc == BILLING_OK)
		rc = check_plan_lines(c, tx, tenant_id, &plan_lines);
	if (rc == BILLING_OK) {
		struct incomplete_scan sc = { &subs, 0 };
		rc = page_all(st, tx, tenant_id, &billing__res_subscription, incomplete_row, &sc,
			&sc.rows);
	}
	if (rc == BILLING_OK)
		check_incomplete(c, &subs, &inv);
	if (rc == BILLING_OK)
		rc = check_records(c, tx, tenant_id, &ev);
	if (rc == BILLING_OK)
		rc = billing__balance_check(c->ctx, tx, tenant_id, balance_problem, c);
	if (rc == BILLING_OK)
		rc = billing__credit_note_check(c->ctx, tx, tenant_id, found_problem, c);
	if (rc == BILLING_OK)
		rc = billing__discount_check(c->ctx, tx, tenant_id, found_problem, c);
	if (rc == BILLING_OK)
		rc = billing__redemption_check(c->ctx, tx, tenant_id, found_problem, c);
	rc = billing__end(c->ctx, tx, rc);
	billing__free(inv.v);
	billing__free(pay.v);
	billing__free(ev.v);
	billing__free(subs.v);
	billing__free(refs.v);
	billing__free(plan_lines.v);
	return rc;
}

static int tenant_id_row(void *payload, const void *record)
{
	id_row *t = vec_push(payload);
	if (!t)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	snprintf(t->id, sizeof(t->id), "%s", ((const billing_tenant_record *)record)->id);
	return BILLING_OK;
}

int billing__check_tenant(billing_ctx *ctx, const char *tenant_id, billing_check_fn fn,
	void *user_data, int64_t *problems)
{
	checker c;
	int rc;
	memset(&c, 0, sizeof(c));
	c.ctx = ctx;
	c.fn = fn;
	c.user_data = user_data;
	rc = check_tenant(&c, tenant_id);
	if (problems)
		*problems = c.problems;
	return rc;
}

int billing_check(billing_ctx *ctx, billing_check_fn fn, void *user_data, int64_t *problems)
{
	vec tenants = { NULL, 0, 0, sizeof(id_row) };
	billing_list_query q;
	checker c;
	billing_txn *tx;
	int64_t page = 0;
	size_t i;
	int rc = BILLING_OK;

	billing_error_clear();
	BILLING__ASSERT_ARG(ctx, "ctx");
	memset(&c, 0, sizeof(c));
	c.ctx = ctx;
	c.fn = fn;
	c.user_data = user_data;
	memset(&q, 0, sizeof(q));
	q.limit = PAGE;
	for (;;) {
		size_t before = tenants.n;
		q.offset = page++ * PAGE;
		if ((rc = billing__begin(&tx, ctx, NULL, BILLING_TXN_READ)) < 0 ||
		    (rc = billing__end(ctx, tx, billing__list_records(ctx->st, tx, &billing__res_tenant, NULL, &q, tenant_id_row,
			&tenants))) < 0 || tenants.n - before < PAGE)
			break;
	}
	for (i = 0; rc == BILLING_OK && i < tenants.n; i++)
		rc = check_tenant(&c, ((id_row *)tenants.v)[i].id);
	billing__free(tenants.v);
	if (problems)
		*problems = c.problems;
	return rc;
}
