/*
 * Helpers for the subscription, invoice and billing-run suites: a calendar
 * of their own (proleptic Gregorian, written independently of the library's
 * calendar.c, so a library bug cannot hide behind a shared one), the tax
 * rule of invoice.h, and snapshots of a tenant's invoices sorted by number.
 *
 * Everything is static inline: include it from one test file.
 */
#ifndef BILLING_TESTS_TB_BILLING_H
#define BILLING_TESTS_TB_BILLING_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

#define TBB_DAY INT64_C(86400)

/* ------------------------------------------------------------ calendar */

/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil). */
static inline int64_t tbb_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static inline void tbb_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* UTC seconds of y-mo-d h:mi:s. */
static inline int64_t tbb_ts(int y, int mo, int d, int h, int mi, int s)
{
	return tbb_days_from_civil(y, mo, d) * TBB_DAY + h * 3600 + mi * 60 + s;
}

static inline int tbb_days_in_month(int64_t y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

/* Start of period n of a schedule from anchor: anchor + n x count
 * intervals, months keeping the anchor's day clamped to the month's last. */
static inline int64_t tbb_period_start(int64_t anchor, billing_interval iv, int32_t count,
	int64_t n)
{
	int64_t days = anchor / TBB_DAY, secs = anchor % TBB_DAY, y, months, total;
	int m, d, nm, nd;
	if (iv == BILLING_DAY)
		return anchor + n * count * TBB_DAY;
	if (iv == BILLING_WEEK)
		return anchor + n * count * 7 * TBB_DAY;
	months = n * count * (iv == BILLING_YEAR ? 12 : 1);
	tbb_civil_from_days(days, &y, &m, &d);
	total = y * 12 + (m - 1) + months;
	nm = (int)(total % 12) + 1;
	y = total / 12;
	nd = d < tbb_days_in_month(y, nm) ? d : tbb_days_in_month(y, nm);
	return tbb_days_from_civil(y, nm, nd) * TBB_DAY + secs;
}

/* "YYYY-MM-DDTHH:MM:SSZ", for messages. */
static inline const char *tbb_fmt(char buf[48], int64_t t)
{
	int64_t y;
	int m, d;
	int64_t s = t % TBB_DAY;
	tbb_civil_from_days(t / TBB_DAY, &y, &m, &d);
	snprintf(buf, 48, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
		(int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
	return buf;
}

/* Asserts two times are equal, printing both as dates otherwise. */
#define tbb_assert_time(got, want) tbb__assert_time((got), (want), __FILE__, __LINE__)
static inline void tbb__assert_time(int64_t got, int64_t want, const char *file, int line)
{
	char a[48], b[48];
	if (got != want) {
		print_error("%s:%d: time %s (%lld), want %s (%lld)\n", file, line, tbb_fmt(a, got),
			(long long)got, tbb_fmt(b, want), (long long)want);
		fail();
	}
}

/* ------------------------------------------------------------ money */

/* amount x bp / 10000, half away from zero (invoice.h). */
static inline int64_t tbb_tax(int64_t amount, int32_t bp)
{
	int64_t p = amount * bp;
	int64_t q = (p < 0 ? -p : p);
	q = (q + 5000) / 10000;
	return p < 0 ? -q : q;
}

/* ------------------------------------------------------------ errors */

static inline void tbb_assert_reason(const char *reason)
{
	const billing_error *e = billing_error_last();
	if (!e->reason || strcmp(e->reason, reason) != 0) {
		print_error("want reason %s, error says %s (%s)\n", reason,
			e->reason ? e->reason : "none", e->message ? e->message : "");
		fail();
	}
}

/* ------------------------------------------------------------ calls */

static inline billing_subscription *tbb_subscribe(tb_world *w, const char *tenant,
	const char *customer_id, const char *plan_id, int32_t quantity)
{
	billing_principal who = tb_admin(tenant);
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	p.customer_id = customer_id;
	p.plan_id = plan_id;
	p.quantity = quantity;
	tb_assert_rc(billing_subscription_create(&s, w->ctx, &who, &p, NULL), BILLING_OK);
	assert_non_null(s);
	return s;
}

static inline billing_subscription *tbb_sub_get(tb_world *w, const char *tenant, const char *id)
{
	billing_principal who = tb_admin(tenant);
	billing_subscription *s = NULL;
	tb_assert_rc(billing_subscription_get(&s, w->ctx, &who, id), BILLING_OK);
	assert_non_null(s);
	return s;
}

/* The status of the tenant's invoice id; *attempts and *next (either may be
 * NULL) receive its attempt count and next attempt's time. */
static inline billing_invoice_status tbb_invoice_status(tb_world *w, const char *tenant,
	const char *id, int32_t *attempts, int64_t *next)
{
	billing_principal who = tb_admin(tenant);
	billing_invoice *inv = NULL;
	billing_invoice_status st;
	tb_assert_rc(billing_invoice_get(&inv, w->ctx, &who, id), BILLING_OK);
	st = billing_invoice_status_of(inv);
	if (attempts)
		*attempts = billing_invoice_attempt_count(inv);
	if (next)
		*next = billing_invoice_next_attempt_at(inv);
	billing_invoice_free(inv);
	return st;
}

/* The status of the tenant's subscription id. */
static inline billing_subscription_status tbb_sub_status(tb_world *w, const char *tenant,
	const char *id)
{
	billing_subscription *s = tbb_sub_get(w, tenant, id);
	billing_subscription_status st = billing_subscription_status_of(s);
	billing_subscription_free(s);
	return st;
}

/* billing_run_due at w->now (through the context's clock), asserting OK. */
static inline billing_run_report tbb_run(tb_world *w)
{
	billing_run_report rep;
	memset(&rep, 0xab, sizeof(rep));
	tb_assert_rc(billing_run_due(w->ctx, 0, NULL, &rep), BILLING_OK);
	return rep;
}

#define tbb_assert_report(rep, p, i, f, r) do { \
	assert_int_equal((rep).processed, (p)); \
	assert_int_equal((rep).invoiced, (i)); \
	assert_int_equal((rep).failed, (f)); \
	assert_int_equal((rep).remaining, (r)); \
} while (0)

/* ------------------------------------------------------------ invoices */

/* What a test needs of an invoice, owned (pages are freed at once). */
typedef struct {
	char id[64], number[32], subscription_id[64], customer_id[64], currency[4];
	billing_invoice_status status;
	int64_t subtotal, tax, total, amount_paid, amount_due;
	int64_t period_start, period_end, created_at, finalized_at, paid_at, voided_at;
	size_t line_count;
	billing_invoice_line line;   /* the first; strings point to the arrays below */
	char line_desc[256], line_plan[64];
	int64_t lines_amount, lines_tax; /* sums over every line */
} tbb_invoice;

static inline void tbb_snap(tbb_invoice *s, const billing_invoice *inv)
{
	const char *v;
	size_t i;
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", (v = billing_invoice_id(inv)) ? v : "");
	snprintf(s->number, sizeof(s->number), "%s", (v = billing_invoice_number(inv)) ? v : "");
	snprintf(s->subscription_id, sizeof(s->subscription_id), "%s",
		(v = billing_invoice_subscription_id(inv)) ? v : "");
	snprintf(s->customer_id, sizeof(s->customer_id), "%s",
		(v = billing_invoice_customer_id(inv)) ? v : "");
	snprintf(s->currency, sizeof(s->currency), "%s", (v = billing_invoice_currency(inv)) ? v : "");
	s->status = billing_invoice_status_of(inv);
	s->subtotal = billing_invoice_subtotal(inv);
	s->tax = billing_invoice_tax(inv);
	s->total = billing_invoice_total(inv);
	s->amount_paid = billing_invoice_amount_paid(inv);
	s->amount_due = billing_invoice_amount_due(inv);
	s->period_start = billing_invoice_period_start(inv);
	s->period_end = billing_invoice_period_end(inv);
	s->created_at = billing_invoice_created_at(inv);
	s->finalized_at = billing_invoice_finalized_at(inv);
	s->paid_at = billing_invoice_paid_at(inv);
	s->voided_at = billing_invoice_voided_at(inv);
	s->line_count = billing_invoice_line_count(inv);
	for (i = 0; i < s->line_count; i++) {
		const billing_invoice_line *l = billing_invoice_line_at(inv, i);
		assert_non_null(l);
		s->lines_amount += l->amount;
		s->lines_tax += l->tax_amount;
	}
	if (s->line_count) {
		s->line = *billing_invoice_line_at(inv, 0);
		snprintf(s->line_desc, sizeof(s->line_desc), "%s",
			s->line.description ? s->line.description : "");
		snprintf(s->line_plan, sizeof(s->line_plan), "%s",
			s->line.plan_id ? s->line.plan_id : "");
		s->line.description = s->line_desc;
		s->line.plan_id = s->line_plan;
	}
}

/* 42 for "INV-000042"; -1 when the number is not prefix + 6 digits. */
static inline long tbb_number_value(const char *number, const char *prefix)
{
	size_t pl = strlen(prefix), i;
	if (strncmp(number, prefix, pl) != 0 || strlen(number) != pl + 6)
		return -1;
	for (i = pl; i < pl + 6; i++)
		if (number[i] < '0' || number[i] > '9')
			return -1;
	return strtol(number + pl, NULL, 10);
}

static inline int tbb__by_number(const void *a, const void *b)
{
	return strcmp(((const tbb_invoice *)a)->number, ((const tbb_invoice *)b)->number);
}

/* Every invoice of the tenant (only the subscription's when sub_id is not
 * NULL), read page by page with cursors, sorted by number. *out: free(). */
static inline size_t tbb_invoices_on(billing_ctx *ctx, const char *tenant, const char *sub_id,
	tbb_invoice **out)
{
	billing_principal who = tb_admin(tenant);
	billing_invoice_list_params lp = BILLING_INVOICE_LIST_PARAMS_INIT;
	tbb_invoice *all = NULL;
	size_t n = 0, cap = 0, i;
	char *cursor = NULL;
	int guard = 0;

	lp.subscription_id = sub_id;
	lp.list.limit = 100;
	for (;;) {
		billing_page *page = NULL;
		tb_assert_rc(billing_invoice_list(&page, ctx, &who, &lp), BILLING_OK);
		for (i = 0; i < billing_page_count(page); i++) {
			if (n == cap) {
				tbb_invoice *grown;
				cap = cap ? cap * 2 : 64;
				grown = realloc(all, cap * sizeof(*all));
				assert_non_null(grown);
				all = grown;
			}
			tbb_snap(&all[n++], billing_page_invoice(page, i));
		}
		free(cursor);
		cursor = NULL;
		if (!billing_page_has_more(page)) {
			billing_page_free(page);
			break;
		}
		assert_non_null(billing_page_next_cursor(page));
		cursor = strdup(billing_page_next_cursor(page));
		billing_page_free(page);
		assert_non_null(cursor);
		lp.list.starting_after = cursor;
		assert_true(++guard < 10000);
	}
	if (n > 1)
		qsort(all, n, sizeof(*all), tbb__by_number);
	*out = all;
	return n;
}

static inline size_t tbb_invoices(tb_world *w, const char *tenant, const char *sub_id,
	tbb_invoice **out)
{
	return tbb_invoices_on(w->ctx, tenant, sub_id, out);
}

/* Asserts the tenant's invoices are numbered INV-000001 .. INV-00000N, each
 * once (all are sorted by number). */
static inline void tbb_assert_numbers_gapless(const tbb_invoice *all, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		if (tbb_number_value(all[i].number, "INV-") != (long)(i + 1)) {
			print_error("invoice %zu of %zu has number \"%s\", want INV-%06zu\n", i + 1, n,
				all[i].number, i + 1);
			fail();
		}
	}
}

/* Asserts inv is a finalized one-line invoice of `quantity` x `unit` of
 * plan_id over [start, end), at tax rate bp, with nothing paid yet. */
static inline void tbb_assert_plan_invoice(const tbb_invoice *inv, const char *plan_id,
	int64_t start, int64_t end, int32_t quantity, int64_t unit, int32_t bp)
{
	int64_t amount = unit * quantity, tax = tbb_tax(amount, bp);
	tbb_assert_time(inv->period_start, start);
	tbb_assert_time(inv->period_end, end);
	assert_int_equal(inv->line_count, 1);
	tbb_assert_time(inv->line.period_start, start);
	tbb_assert_time(inv->line.period_end, end);
	assert_string_equal(inv->line.plan_id, plan_id);
	assert_int_equal(inv->line.quantity, quantity);
	assert_int_equal(inv->line.unit_amount, unit);
	assert_int_equal(inv->line.amount, amount);
	assert_int_equal(inv->line.tax_rate_bp, bp);
	assert_int_equal(inv->line.tax_amount, tax);
	assert_int_equal(inv->line.proration, 0);
	assert_int_equal(inv->subtotal, amount);
	assert_int_equal(inv->tax, tax);
	assert_int_equal(inv->total, amount + tax);
	assert_int_equal(inv->amount_paid, 0);
	assert_int_equal(inv->amount_due, amount + tax);
	assert_int_equal(inv->status, BILLING_INVOICE_PENDING);
	assert_true(inv->finalized_at > 0);
}

#endif
