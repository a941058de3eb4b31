/*
 * The consistency checker (billing/check.h). It reads through the storage
 * vtable like every other part of the core: lists a page at a time, each
 * tenant in one read transaction, and compares what must agree.
 *
 * A tenant's rows are compared across statements (its invoices, then its
 * payments), so the transaction must see one snapshot: on PostgreSQL's
 * READ COMMITTED a payment captured between the two reads would look like
 * a captured payment on an unpaid invoice on a live database.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define PAGE 500

typedef struct {
	char id[BILLING_ID_MAX];
	char number[160];
	int status;
	int64_t subtotal, tax, total, amount_paid, amount_due, created_at;
	int64_t line_sum, line_tax;
} inv_row;

typedef struct {
	char id[BILLING_ID_MAX];
	char invoice_id[BILLING_ID_MAX];
	int status;
	int64_t created_at;
} pay_row;

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
	i->amount_paid = r->amount_paid;
	i->amount_due = r->amount_due;
	i->created_at = r->created_at;
	return BILLING_OK;
}

static int line_row(void *payload, const void *record)
{
	const billing_invoice_line *l = record;
	inv_row *i = payload;
	i->line_sum += l->amount;
	i->line_tax += l->tax_amount;
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
	p->created_at = r->created_at;
	return BILLING_OK;
}

typedef struct {
	char id[BILLING_ID_MAX];
	int64_t created_at;
} id_row;

static int event_resource_row(void *payload, const void *record)
{
	id_row *e = vec_push(payload);
	if (!e)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	snprintf(e->id, sizeof(e->id), "%s", ((const billing_event_record *)record)->resource_id);
	e->created_at = 0;
	return BILLING_OK;
}

#define ID_ROW(name, type) \
	static int name(void *payload, const void *record) \
	{ \
		const type *r = record; \
		id_row *e = vec_push(payload); \
		if (!e) \
			return billing__error_set(BILLING_ENOMEM, NULL, NULL); \
		snprintf(e->id, sizeof(e->id), "%s", r->id); \
		e->created_at = r->created_at; \
		return BILLING_OK; \
	}

ID_ROW(customer_id_row, billing_customer_record)
ID_ROW(product_id_row, billing_product_record)
ID_ROW(plan_id_row, billing_plan_record)
ID_ROW(subscription_id_row, billing_subscription_record)

/* Every row of a list, a page at a time. */
static int read_all(billing_storage *st, billing_txn *tx, const char *tenant_id,
	const billing_resource *res, billing_row_cb cb, vec *out)
{
	billing_list_query q;
	int64_t page = 0;
	int rc;
	memset(&q, 0, sizeof(q));
	q.limit = PAGE;
	for (;;) {
		size_t before = out->n;
		q.offset = page * PAGE;
		if ((rc = billing__list_records(st, tx, res, tenant_id, &q, cb, out)) < 0)
			return rc;
		if (out->n - before < PAGE)
			return BILLING_OK;
		page++;
	}
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
		if (r->line_sum != r->subtotal || r->line_tax != r->tax ||
		    r->total != r->subtotal + r->tax || r->amount_due != r->total - r->amount_paid)
			problem(c, "invoice_sums", r->id, "lines %lld + tax %lld against subtotal "
				"%lld, tax %lld, total %lld, due %lld", (long long)r->line_sum,
				(long long)r->line_tax, (long long)r->subtotal, (long long)r->tax,
				(long long)r->total, (long long)r->amount_due);
		if (r->number[0])
			counters[k++] = counter_of(r->number);
		if (r->status == BILLING_INVOICE_PAID && r->amount_paid > 0) {
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

static int check_tenant(checker *c, const char *tenant_id)
{
	billing_storage *st = c->ctx->st;
	vec inv = { NULL, 0, 0, sizeof(inv_row) }, pay = { NULL, 0, 0, sizeof(pay_row) };
	vec ev = { NULL, 0, 0, sizeof(id_row) }, ids = { NULL, 0, 0, sizeof(id_row) };
	billing_txn *tx;
	size_t i;
	int rc;

	c->tenant_id = tenant_id;
	/* A backend before version 5 has no snapshot kind; its READ is what it
	 * has (SQLite's is a snapshot). */
	if ((rc = billing__begin(&tx, c->ctx, tenant_id, st->version >= 5 ?
		BILLING_TXN_SNAPSHOT : BILLING_TXN_READ)) < 0)
		return rc;
	rc = read_all(st, tx, tenant_id, &billing__res_invoice, invoice_row, &inv);
	for (i = 0; rc == BILLING_OK && i < inv.n; i++) {
		inv_row *r = (inv_row *)inv.v + i;
		rc = billing__list_owned(st, tx, &billing__res_invoice_line, tenant_id, r->id,
			line_row, r);
	}
	if (rc == BILLING_OK && st->version >= 2)
		rc = read_all(st, tx, tenant_id, &billing__res_payment, payment_row, &pay);
	if (rc == BILLING_OK)
		rc = read_all(st, tx, tenant_id, &billing__res_event, event_resource_row, &ev);
	if (rc == BILLING_OK) {
		if (ev.n)       /* qsort and bsearch take no NULL base, even for 0 items */
			qsort(ev.v, ev.n, sizeof(id_row), cmp_id);
		check_invoices(c, &inv, &pay);
	}
#define RESOURCES(res, row, what) \
	if (rc == BILLING_OK) { \
		ids.n = 0; \
		if ((rc = read_all(st, tx, tenant_id, &billing__res_##res, row, &ids)) == BILLING_OK) \
			check_events(c, &ev, &ids, what); \
	}
	RESOURCES(customer, customer_id_row, "customer")
	RESOURCES(product, product_id_row, "product")
	RESOURCES(plan, plan_id_row, "plan")
	RESOURCES(subscription, subscription_id_row, "subscription")
#undef RESOURCES
	if (rc == BILLING_OK) {
		ids.n = 0;
		for (i = 0; i < inv.n && rc == BILLING_OK; i++) {
			id_row *r = vec_push(&ids);
			if (!r)
				rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			else {
				snprintf(r->id, sizeof(r->id), "%s", ((inv_row *)inv.v)[i].id);
				r->created_at = ((inv_row *)inv.v)[i].created_at;
			}
		}
		for (i = 0; i < pay.n && rc == BILLING_OK; i++) {
			id_row *r = vec_push(&ids);
			if (!r)
				rc = billing__error_set(BILLING_ENOMEM, NULL, NULL);
			else {
				snprintf(r->id, sizeof(r->id), "%s", ((pay_row *)pay.v)[i].id);
				r->created_at = ((pay_row *)pay.v)[i].created_at;
			}
		}
		if (rc == BILLING_OK)
			check_events(c, &ev, &ids, "invoice or payment");
	}
	rc = billing__end(c->ctx, tx, rc);
	billing__free(inv.v);
	billing__free(pay.v);
	billing__free(ev.v);
	billing__free(ids.v);
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
