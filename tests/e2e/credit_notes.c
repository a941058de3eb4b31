/*
 * Credit notes (billing/credit_note.h, issue #20 item 3) on a simulated
 * clock with the test provider: a partial note with a refund on a paid
 * invoice (the provider shows one refund, the amounts right to the cent);
 * a credit to the balance consumed by the next renewal; a note on an open
 * invoice lowers its amount due; over-credit refused with nothing written;
 * four threads crediting one invoice never exceed its total; void
 * reverses; an invoice with a note standing is not voided; a quantity on
 * a tiered line is refused (credit it by amount); metadata; the list's
 * invoice and customer filters name rows of the tenant; the numbering is
 * gapless across failures; and a property test
 * over random histories of charges, notes, voids and adjustments: money is
 * conserved to the minor unit, nothing is refunded twice, billing_check
 * finds nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "tb.h"
#include "tb_billing.h"

typedef struct {
	tb_world *w;
	const char *t;
	billing_principal admin;
	char cus[64];
	char plan[64];
} fx;

/* 3100 a month, taxed 19 %: every invoice is 3100 + 589 = 3689. */
#define PRICE 3100
#define TAX 589
#define TOTAL (PRICE + TAX)

static int setup_with(void **state, const char *method)
{
	billing_test_provider_options o = BILLING_TEST_PROVIDER_OPTIONS_INIT;
	billing_provider *p = NULL;
	billing_customer *c;
	billing_product *prod;
	billing_plan *plan;
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tb_assert_rc(billing_test_provider_new(&p, &o), BILLING_OK);
	f->w = tb_world_new_with_provider(p);
	f->w->now = tbb_ts(2025, 1, 1, 0, 0, 0);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
	c = tb_customer(f->w, f->t, &(tb_customer_spec){ .default_payment_method = method });
	snprintf(f->cus, sizeof(f->cus), "%s", billing_customer_id(c));
	billing_customer_free(c);
	prod = tb_product(f->w, f->t, &(tb_product_spec){ .tax_rate_bp = 1900 });
	plan = tb_plan(f->w, f->t, &(tb_plan_spec){ .product_id = billing_product_id(prod),
		.amount = PRICE });
	snprintf(f->plan, sizeof(f->plan), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	billing_product_free(prod);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, "pm_card_visa");
}

static int setup_no_card(void **state)
{
	return setup_with(state, NULL);
}

static int teardown(void **state)
{
	fx *f = *state;
	tb_world_free(f->w);
	free(f);
	return 0;
}

static void print_problem(void *payload, const billing_check_problem *p)
{
	(void)payload;
	fprintf(stderr, "billing_check: %s %s: %s\n", p->kind, p->resource_id ? p->resource_id : "-",
		p->detail);
}

static int64_t problems(fx *f)
{
	int64_t n = -1;
	tb_assert_rc(billing_check(f->w->ctx, print_problem, NULL, &n), BILLING_OK);
	return n;
}

/* The customer's balance in EUR (0: none). */
static int64_t balance(fx *f)
{
	billing_customer *c = NULL;
	cJSON *obj, *v;
	int64_t n = 0;
	tb_assert_rc(billing_customer_get(&c, f->w->ctx, &f->admin, f->cus), BILLING_OK);
	obj = cJSON_Parse(billing_customer_balances_json(c));
	assert_true(cJSON_IsObject(obj));
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "EUR")) != NULL)
		n = (int64_t)v->valuedouble;
	cJSON_Delete(obj);
	billing_customer_free(c);
	return n;
}

static billing_invoice *invoice(fx *f, const char *id)
{
	billing_invoice *inv = NULL;
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, id), BILLING_OK);
	return inv;
}

/* A subscription's first invoice id into out. */
static void subscribe(fx *f, char out[64])
{
	billing_subscription *s = tbb_subscribe(f->w, f->t, f->cus, f->plan, 1);
	snprintf(out, 64, "%s", billing_subscription_latest_invoice_id(s));
	billing_subscription_free(s);
}

/* The id of line i of invoice id, as its JSON shows it. */
static void line_id(char out[96], const char *invoice_id, int i)
{
	snprintf(out, 96, "il_%s_%d", invoice_id + 3, i + 1);
}

static size_t refunds(fx *f, int64_t *sum)
{
	size_t n = 0;
	*sum = billing_test_provider_refunds(f->w->provider, &n);
	return n;
}

static size_t notes_of(fx *f, const char *invoice_id)
{
	billing_page *page = NULL;
	size_t n;
	tb_assert_rc(billing_credit_note_list(&page, f->w->ctx, &f->admin, invoice_id, NULL, NULL),
		BILLING_OK);
	n = billing_page_count(page);
	billing_page_free(page);
	return n;
}

/* A note of one line by amount. */
static int note_line(billing_credit_note **out, fx *f, const char *invoice_id, int64_t amount,
	unsigned int fields, int64_t refund, int64_t credit, int64_t oob)
{
	billing_credit_note_params p = BILLING_CREDIT_NOTE_PARAMS_INIT;
	billing_credit_note_line_params l = { NULL, 0, 0 };
	char lid[96];
	line_id(lid, invoice_id, 0);
	l.invoice_line_id = lid;
	l.amount = amount;
	p.invoice_id = invoice_id;
	p.lines = &l;
	p.line_count = 1;
	p.reason = BILLING_CREDIT_NOTE_PRODUCT_UNSATISFACTORY;
	p.fields = fields;
	p.refund_amount = refund;
	p.credit_amount = credit;
	p.out_of_band_amount = oob;
	*out = NULL;
	return billing_credit_note_create(out, f->w->ctx, &f->admin, &p, NULL);
}

/* A lump note (tax included), all of it to the balance. */
static int note_lump(billing_credit_note **out, billing_ctx *ctx, const billing_principal *who,
	const char *invoice_id, int64_t amount)
{
	billing_credit_note_params p = BILLING_CREDIT_NOTE_PARAMS_INIT;
	p.invoice_id = invoice_id;
	p.amount = amount;
	*out = NULL;
	return billing_credit_note_create(out, ctx, who, &p, NULL);
}

/* ------------------------------------------------------------ after payment */

/* The issue's "partial credit note with a refund": 1000 of the 3100 line
 * and its tax (190: 19 % of 1000) refunded through the provider. */
static void partial_note_with_refund__the_provider_refunds_it_once(void **state)
{
	fx *f = *state;
	char in[64];
	billing_credit_note *n = NULL;
	billing_invoice *inv;
	int64_t sum;

	subscribe(f, in);
	inv = invoice(f, in);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	assert_int_equal(billing_invoice_total(inv), TOTAL);
	billing_invoice_free(inv);

	tb_assert_rc(note_line(&n, f, in, 1000, BILLING_CREDIT_NOTE_REFUND_AMOUNT, 1190, 0, 0),
		BILLING_OK);
	assert_string_equal(billing_credit_note_number(n), "CN-000001");
	assert_int_equal(billing_credit_note_type_of(n), BILLING_CREDIT_NOTE_POST_PAYMENT);
	assert_int_equal(billing_credit_note_status_of(n), BILLING_CREDIT_NOTE_ISSUED);
	assert_int_equal(billing_credit_note_subtotal(n), 1000);
	assert_int_equal(billing_credit_note_tax(n), 190);
	assert_int_equal(billing_credit_note_total(n), 1190);
	assert_int_equal(billing_credit_note_refund_amount(n), 1190);
	assert_int_equal(billing_credit_note_credit_amount(n), 0);
	assert_non_null(billing_credit_note_refund_id(n));
	assert_string_equal(billing_credit_note_customer_id(n), f->cus);
	billing_credit_note_free(n);

	assert_int_equal(refunds(f, &sum), 1);
	assert_int_equal(sum, 1190);
	inv = invoice(f, in);
	assert_int_equal(billing_invoice_post_payment_credit_notes_amount(inv), 1190);
	assert_int_equal(billing_invoice_pre_credit_notes_amount(inv), 0);
	assert_int_equal(billing_invoice_amount_paid(inv), TOTAL);
	assert_int_equal(billing_invoice_amount_due(inv), 0);
	billing_invoice_free(inv);
	assert_int_equal(balance(f), 0);
	/* The refund is the payment's too; the billing run has nothing more
	 * to ask. */
	(void)tbb_run(f->w);
	assert_int_equal(refunds(f, &sum), 1);
	assert_int_equal(problems(f), 0);
}

/* A credit to the balance pays part of the next renewal. */
static void credit_to_the_balance__consumed_by_the_next_renewal(void **state)
{
	fx *f = *state;
	char in[64];
	billing_credit_note *n = NULL;
	tbb_invoice *all = NULL;
	int64_t sum;

	subscribe(f, in);
	tb_assert_rc(note_lump(&n, f->w->ctx, &f->admin, in, 1000), BILLING_OK);
	/* Tax in proportion: 1000 x 589 / 3689 = 159.66 -> 160. */
	assert_int_equal(billing_credit_note_tax(n), 160);
	assert_int_equal(billing_credit_note_subtotal(n), 840);
	assert_int_equal(billing_credit_note_credit_amount(n), 1000);
	billing_credit_note_free(n);
	assert_int_equal(balance(f), -1000);
	assert_int_equal(refunds(f, &sum), 0);

	f->w->now = tbb_ts(2025, 2, 1, 0, 0, 0);
	(void)tbb_run(f->w);
	{
		billing_invoice *first = invoice(f, in);
		const char *sub = billing_invoice_subscription_id(first);
		assert_int_equal(tbb_invoices(f->w, f->t, sub, &all), 2);
		billing_invoice_free(first);
	}
	assert_int_equal(all[1].total, TOTAL);
	assert_int_equal(all[1].amount_paid, TOTAL - 1000);
	assert_int_equal(all[1].amount_due, 0);
	assert_int_equal(all[1].status, BILLING_INVOICE_PAID);
	free(all);
	assert_int_equal(balance(f), 0);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ before payment */

static void note_on_an_open_invoice__lowers_its_amount_due(void **state)
{
	fx *f = *state;
	char in[64];
	billing_credit_note *n = NULL;
	billing_invoice *inv;

	subscribe(f, in);
	inv = invoice(f, in);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PENDING);
	assert_int_equal(billing_invoice_amount_due(inv), TOTAL);
	billing_invoice_free(inv);

	/* Nothing was paid: no refund, no credit. */
	tb_assert_rc(note_line(&n, f, in, 1000, BILLING_CREDIT_NOTE_REFUND_AMOUNT, 1190, 0, 0),
		BILLING_EINVALID);
	tb_assert_field("refundAmount");
	assert_null(n);
	tb_assert_rc(note_line(&n, f, in, 1000, 0, 0, 0, 0), BILLING_OK);
	assert_int_equal(billing_credit_note_type_of(n), BILLING_CREDIT_NOTE_PRE_PAYMENT);
	assert_int_equal(billing_credit_note_total(n), 1190);
	assert_int_equal(billing_credit_note_credit_amount(n), 0);
	billing_credit_note_free(n);
	inv = invoice(f, in);
	assert_int_equal(billing_invoice_amount_due(inv), TOTAL - 1190);
	assert_int_equal(billing_invoice_pre_credit_notes_amount(inv), 1190);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PENDING);
	billing_invoice_free(inv);
	assert_int_equal(balance(f), 0);

	/* The rest of the line and its tax: nothing is left due, it is paid. */
	tb_assert_rc(note_line(&n, f, in, PRICE - 1000, 0, 0, 0, 0), BILLING_OK);
	assert_int_equal(billing_credit_note_tax(n), TAX - 190);
	assert_string_equal(billing_credit_note_number(n), "CN-000002");
	billing_credit_note_free(n);
	inv = invoice(f, in);
	assert_int_equal(billing_invoice_amount_due(inv), 0);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PAID);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ refusals */

static void over_credit__refused_and_nothing_written(void **state)
{
	fx *f = *state;
	char in[64], lid[96];
	billing_credit_note *n = NULL;
	billing_credit_note_params p = BILLING_CREDIT_NOTE_PARAMS_INIT;
	billing_credit_note_line_params l = { NULL, 0, 0 };
	billing_principal user = tb_user(f->t);
	int64_t sum;

	subscribe(f, in);
	tb_assert_rc(note_lump(&n, f->w->ctx, &f->admin, in, TOTAL + 1), BILLING_EINVALID);
	tb_assert_field("amount");
	tb_assert_rc(note_line(&n, f, in, PRICE + 1, 0, 0, 0, 0), BILLING_EINVALID);
	tb_assert_field("lines[0].amount");
	/* The split must be the total (1190). */
	tb_assert_rc(note_line(&n, f, in, 1000, BILLING_CREDIT_NOTE_REFUND_AMOUNT |
		BILLING_CREDIT_NOTE_CREDIT_AMOUNT, 500, 500, 0), BILLING_EINVALID);
	tb_assert_field("refundAmount");
	tb_assert_rc(note_line(&n, f, in, 1000, BILLING_CREDIT_NOTE_CREDIT_AMOUNT, -1, 0, 0),
		BILLING_EINVALID);
	tb_assert_field("creditAmount");
	/* More refund than was captured is refused by the total already; a
	 * line that names nothing, or given twice, is refused. */
	line_id(lid, in, 1);
	l.invoice_line_id = lid;
	l.amount = 1;
	p.invoice_id = in;
	p.lines = &l;
	p.line_count = 1;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("lines[0].invoiceLineId");
	line_id(lid, in, 0);
	l.quantity = 1;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("lines[0].amount");
	l.amount = 0;
	l.quantity = 2;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("lines[0].quantity");
	p.lines = NULL;
	p.line_count = 0;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("lines");
	p.reason = (billing_credit_note_reason)9;
	p.amount = 10;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("reason");
	p.reason = BILLING_CREDIT_NOTE_DUPLICATE;
	p.invoice_id = "in_01jbzzzzzzzzzzzzzzzzzzzzzz";
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("invoiceId");
	p.invoice_id = in;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &user, &p, NULL),
		BILLING_EFORBIDDEN);
	assert_null(n);

	assert_int_equal(notes_of(f, in), 0);
	assert_int_equal(refunds(f, &sum), 0);
	assert_int_equal(balance(f), 0);
	/* The preview computes the same note and writes nothing. */
	tb_assert_rc(billing_credit_note_preview(&n, f->w->ctx, &user, &p), BILLING_OK);
	assert_null(billing_credit_note_id(n));
	assert_null(billing_credit_note_number(n));
	assert_int_equal(billing_credit_note_total(n), 10);
	billing_credit_note_free(n);
	p.amount = 0;
	p.lines = &l;
	p.line_count = 1;
	l.quantity = 1;
	p.fields = BILLING_CREDIT_NOTE_OUT_OF_BAND_AMOUNT;
	p.out_of_band_amount = TOTAL;
	tb_assert_rc(billing_credit_note_preview(&n, f->w->ctx, &user, &p), BILLING_OK);
	assert_int_equal(billing_credit_note_total(n), TOTAL);
	assert_int_equal(billing_credit_note_tax(n), TAX);
	assert_int_equal(billing_credit_note_out_of_band_amount(n), TOTAL);
	billing_credit_note_free(n);
	assert_int_equal(notes_of(f, in), 0);
	/* The first note written takes the first number. */
	tb_assert_rc(note_lump(&n, f->w->ctx, &f->admin, in, TOTAL), BILLING_OK);
	assert_string_equal(billing_credit_note_number(n), "CN-000001");
	assert_int_equal(billing_credit_note_tax(n), TAX);
	billing_credit_note_free(n);
	tb_assert_rc(note_lump(&n, f->w->ctx, &f->admin, in, 1), BILLING_EINVALID);
	tb_assert_field("amount");
	assert_int_equal(balance(f), -TOTAL);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ concurrency */

#define THREADS 4

struct worker {
	fx *f;
	const char *in;
	pthread_barrier_t *start;
	int ok;
};

static void *credit_one(void *arg)
{
	struct worker *wk = arg;
	billing_credit_note *n = NULL;
	pthread_barrier_wait(wk->start);
	wk->ok = note_lump(&n, wk->f->w->ctx, &wk->f->admin, wk->in, 1000) == BILLING_OK;
	billing_credit_note_free(n);
	return NULL;
}

/* Four notes of 1000 at once on an invoice of 3689: three fit, never four. */
static void concurrent_notes__never_exceed_the_invoice(void **state)
{
	fx *f = *state;
	char in[64];
	pthread_t th[THREADS];
	struct worker wk[THREADS];
	pthread_barrier_t start;
	billing_invoice *inv;
	int i, ok = 0;

	subscribe(f, in);
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++) {
		wk[i].f = f;
		wk[i].in = in;
		wk[i].start = &start;
		wk[i].ok = 0;
		assert_int_equal(pthread_create(&th[i], NULL, credit_one, &wk[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += wk[i].ok;
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(ok, 3);
	inv = invoice(f, in);
	assert_int_equal(billing_invoice_post_payment_credit_notes_amount(inv), 3000);
	billing_invoice_free(inv);
	assert_int_equal(notes_of(f, in), 3);
	assert_int_equal(balance(f), -3000);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ void */

static void void__reverses_the_credit_and_the_invoice(void **state)
{
	fx *f = *state;
	char in[64], id[64];
	billing_credit_note *n = NULL, *v = NULL;
	billing_invoice *inv;

	/* A note that refunded through the provider is not voided. */
	subscribe(f, in);
	tb_assert_rc(note_line(&n, f, in, 100, BILLING_CREDIT_NOTE_REFUND_AMOUNT, 119, 0, 0),
		BILLING_OK);
	snprintf(id, sizeof(id), "%s", billing_credit_note_id(n));
	billing_credit_note_free(n);
	tb_assert_rc(billing_credit_note_void(&v, f->w->ctx, &f->admin, id, NULL),
		BILLING_ECONFLICT);
	tbb_assert_reason("credit_note_refunded");
	tb_assert_rc(billing_credit_note_void(&v, f->w->ctx, &f->admin, "cn_nope", NULL),
		BILLING_ENOTFOUND);

	subscribe(f, in);
	tb_assert_rc(note_lump(&n, f->w->ctx, &f->admin, in, 500), BILLING_OK);
	snprintf(id, sizeof(id), "%s", billing_credit_note_id(n));
	billing_credit_note_free(n);
	assert_int_equal(balance(f), -500);
	tb_assert_rc(billing_credit_note_void(&v, f->w->ctx, &f->admin, id, NULL), BILLING_OK);
	assert_int_equal(billing_credit_note_status_of(v), BILLING_CREDIT_NOTE_VOID);
	billing_credit_note_free(v);
	v = NULL;
	assert_int_equal(balance(f), 0);
	inv = invoice(f, in);
	assert_int_equal(billing_invoice_post_payment_credit_notes_amount(inv), 0);
	billing_invoice_free(inv);
	tb_assert_rc(billing_credit_note_void(&v, f->w->ctx, &f->admin, id, NULL),
		BILLING_ECONFLICT);
	/* The whole invoice can be credited again: a void note counts nothing. */
	tb_assert_rc(note_lump(&n, f->w->ctx, &f->admin, in, TOTAL), BILLING_OK);
	billing_credit_note_free(n);
	assert_int_equal(problems(f), 0);
}

static void void__of_a_pre_payment_note_raises_the_amount_due_again(void **state)
{
	fx *f = *state;
	char in[64], id[64];
	billing_credit_note *n = NULL, *v = NULL;
	billing_invoice *inv;

	subscribe(f, in);
	tb_assert_rc(note_line(&n, f, in, 1000, 0, 0, 0, 0), BILLING_OK);
	snprintf(id, sizeof(id), "%s", billing_credit_note_id(n));
	billing_credit_note_free(n);
	tb_assert_rc(billing_credit_note_void(&v, f->w->ctx, &f->admin, id, NULL), BILLING_OK);
	billing_credit_note_free(v);
	inv = invoice(f, in);
	assert_int_equal(billing_invoice_amount_due(inv), TOTAL);
	assert_int_equal(billing_invoice_pre_credit_notes_amount(inv), 0);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ #20 gaps */

/* An invoice with a credit note that is not void is not voided by the
 * user's call (its credit would be given back twice): 409
 * invoice_has_credit_notes, nothing changed; once the note is voided it is. */
static void invoice_void__refused_while_a_note_stands(void **state)
{
	fx *f = *state;
	char in[64], id[64];
	billing_credit_note *n = NULL, *v = NULL;
	billing_invoice *inv = NULL, *before;
	int64_t events;

	subscribe(f, in);                      /* no card: open, 3689 due */
	tb_assert_rc(note_line(&n, f, in, 1000, 0, 0, 0, 0), BILLING_OK);
	snprintf(id, sizeof(id), "%s", billing_credit_note_id(n));
	billing_credit_note_free(n);
	before = invoice(f, in);
	events = tb_raw_count(f->w->url, "SELECT count(*) FROM events");
	tb_assert_rc(billing_invoice_void(&inv, f->w->ctx, &f->admin, in, NULL), BILLING_ECONFLICT);
	tbb_assert_reason("invoice_has_credit_notes");
	assert_null(inv);
	inv = invoice(f, in);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PENDING);
	assert_int_equal(billing_invoice_version(inv), billing_invoice_version(before));
	assert_int_equal(billing_invoice_amount_due(inv), TOTAL - 1190);
	assert_int_equal(tb_raw_count(f->w->url, "SELECT count(*) FROM events"), events);
	billing_invoice_free(inv);
	billing_invoice_free(before);
	inv = NULL;

	tb_assert_rc(billing_credit_note_void(&v, f->w->ctx, &f->admin, id, NULL), BILLING_OK);
	billing_credit_note_free(v);
	tb_assert_rc(billing_invoice_void(&inv, f->w->ctx, &f->admin, in, NULL), BILLING_OK);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_VOID);
	billing_invoice_free(inv);
	assert_int_equal(problems(f), 0);
}

/* A credit by quantity on a tiered line (unitAmount 0: quantity x unit
 * amount is not what the units cost) is refused naming the quantity, with
 * the code credit_by_amount, and writes nothing; by amount it is credited. */
static void by_quantity__refused_on_a_tiered_line(void **state)
{
	fx *f = *state;
	billing_credit_note_params p = BILLING_CREDIT_NOTE_PARAMS_INIT;
	billing_credit_note_line_params l = { NULL, 0, 2 };
	billing_credit_note *n = NULL;
	billing_plan *plan;
	billing_subscription *s;
	billing_invoice *inv;
	const billing_invoice_line *line;
	char in[64], lid[96];

	plan = tb_plan(f->w, f->t, &(tb_plan_spec){ .price_json =
		"\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\",\"tiers\":["
		"{\"upTo\":5,\"unitAmount\":500},{\"upTo\":null,\"unitAmount\":400}]" });
	s = tbb_subscribe(f->w, f->t, f->cus, billing_plan_id(plan), 7);
	snprintf(in, sizeof(in), "%s", billing_subscription_latest_invoice_id(s));
	inv = invoice(f, in);
	line = billing_invoice_line_at(inv, 0);
	assert_int_equal(line->amount, 5 * 500 + 2 * 400);
	assert_int_equal(line->unit_amount, 0);
	billing_invoice_free(inv);

	line_id(lid, in, 0);
	l.invoice_line_id = lid;
	p.invoice_id = in;
	p.lines = &l;
	p.line_count = 1;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tbb_assert_reason("credit_by_amount");
	tb_assert_field("lines[0].quantity");
	assert_null(n);
	tb_assert_rc(billing_credit_note_preview(&n, f->w->ctx, &f->admin, &p), BILLING_EINVALID);
	tbb_assert_reason("credit_by_amount");
	assert_int_equal(notes_of(f, in), 0);

	l.quantity = 0;
	l.amount = 800;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_int_equal(billing_credit_note_subtotal(n), 800);
	billing_credit_note_free(n);
	billing_subscription_free(s);
	billing_plan_free(plan);
	assert_int_equal(problems(f), 0);
}

/* Metadata on create (version 2 of the params), canonical on the note and
 * as it is read back; a bad map is refused naming metadata, nothing written. */
static void metadata__kept_and_checked(void **state)
{
	fx *f = *state;
	billing_credit_note_params p = BILLING_CREDIT_NOTE_PARAMS_INIT;
	billing_metadata_entry md[] = { { "ticket", "T-42" }, { "agent", "ada" } };
	billing_metadata_entry bad[] = { { "", "v" } };
	billing_credit_note *n = NULL, *got = NULL;
	char in[64];

	subscribe(f, in);
	p.invoice_id = in;
	p.amount = 100;
	p.metadata = bad;
	p.metadata_count = 1;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("metadata");
	assert_int_equal(notes_of(f, in), 0);
	p.metadata = md;
	p.metadata_count = 2;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_string_equal(billing_credit_note_metadata_json(n),
		"{\"agent\":\"ada\",\"ticket\":\"T-42\"}");
	tb_assert_rc(billing_credit_note_get(&got, f->w->ctx, &f->admin, billing_credit_note_id(n)),
		BILLING_OK);
	assert_string_equal(billing_credit_note_metadata_json(got),
		billing_credit_note_metadata_json(n));
	billing_credit_note_free(got);
	billing_credit_note_free(n);
	/* none given: an empty map */
	p.metadata = NULL;
	p.metadata_count = 0;
	tb_assert_rc(billing_credit_note_create(&n, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_string_equal(billing_credit_note_metadata_json(n), "{}");
	billing_credit_note_free(n);
}

/* The list's invoice and customer filters name something of the tenant:
 * an ill-formed or absent id is EINVALID resource_missing naming it. */
static void list__filters_name_the_tenants_rows(void **state)
{
	fx *f = *state;
	billing_page *page = NULL;

	tb_assert_rc(billing_credit_note_list(&page, f->w->ctx, &f->admin, "nope", NULL, NULL),
		BILLING_EINVALID);
	tbb_assert_reason("resource_missing");
	tb_assert_field("invoiceId");
	tb_assert_rc(billing_credit_note_list(&page, f->w->ctx, &f->admin,
		"in_0000000000000000000000000", NULL, NULL), BILLING_EINVALID);
	tb_assert_field("invoiceId");
	tb_assert_rc(billing_credit_note_list(&page, f->w->ctx, &f->admin, NULL,
		"cus_0000000000000000000000000", NULL), BILLING_EINVALID);
	tbb_assert_reason("resource_missing");
	tb_assert_field("customerId");
	assert_null(page);
	tb_assert_rc(billing_credit_note_list(&page, f->w->ctx, &f->admin, NULL, f->cus, NULL),
		BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);
}

/* ------------------------------------------------------------ numbering */

static void numbering__gapless_across_failures(void **state)
{
	fx *f = *state;
	char in[64];
	billing_credit_note *n = NULL;
	billing_page *page = NULL;
	billing_list_params lp = BILLING_LIST_PARAMS_INIT;
	int i;

	subscribe(f, in);
	for (i = 0; i < 3; i++) {
		tb_assert_rc(note_lump(&n, f->w->ctx, &f->admin, in, 100), BILLING_OK);
		billing_credit_note_free(n);
		tb_assert_rc(note_lump(&n, f->w->ctx, &f->admin, in, TOTAL), BILLING_EINVALID);
		tb_assert_rc(note_line(&n, f, in, 10, BILLING_CREDIT_NOTE_REFUND_AMOUNT, 1, 0, 0),
			BILLING_EINVALID);
	}
	lp.order = BILLING_ORDER_ASC;
	tb_assert_rc(billing_credit_note_list(&page, f->w->ctx, &f->admin, NULL, f->cus, &lp),
		BILLING_OK);
	assert_int_equal(billing_page_count(page), 3);
	for (i = 0; i < 3; i++) {
		char want[16];
		snprintf(want, sizeof(want), "CN-%06d", i + 1);
		assert_string_equal(billing_credit_note_number(billing_page_credit_note(page,
			(size_t)i)), want);
	}
	billing_page_free(page);
	assert_int_equal(problems(f), 0);
}

/* ------------------------------------------------------------ property */

#define STEPS 60
#define MAX_INVOICES 8
#define MAX_NOTES 64

struct history {
	char invoices[MAX_INVOICES][64];
	size_t ninv;
	char notes[MAX_NOTES][64];
	size_t nnotes;
	int64_t adjustments;
};

/* Every invoice of the customer, with their sums. */
struct sums {
	int64_t total, notes, paid, due, refund_notes, oob_notes;
};

/* Every invoice of the customer (renewals too). */
static void sum_all(fx *f, struct sums *s)
{
	billing_invoice_list_params lp = BILLING_INVOICE_LIST_PARAMS_INIT;
	billing_page *all = NULL;
	size_t i, k;
	memset(s, 0, sizeof(*s));
	lp.customer_id = f->cus;
	lp.list.limit = 100;
	tb_assert_rc(billing_invoice_list(&all, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_true(billing_page_count(all) < 100);
	for (i = 0; i < billing_page_count(all); i++) {
		const billing_invoice *inv = billing_page_invoice(all, i);
		billing_page *page = NULL;
		int64_t issued = 0;
		s->total += billing_invoice_total(inv);
		s->notes += billing_invoice_pre_credit_notes_amount(inv) +
			billing_invoice_post_payment_credit_notes_amount(inv);
		s->paid += billing_invoice_amount_paid(inv);
		s->due += billing_invoice_amount_due(inv);
		assert_true(billing_invoice_amount_due(inv) >= 0);
		tb_assert_rc(billing_credit_note_list(&page, f->w->ctx, &f->admin,
			billing_invoice_id(inv), NULL, NULL), BILLING_OK);
		for (k = 0; k < billing_page_count(page); k++) {
			const billing_credit_note *n = billing_page_credit_note(page, k);
			/* Refunds stay even on a void note (which then cannot exist). */
			s->refund_notes += billing_credit_note_refund_amount(n);
			if (billing_credit_note_status_of(n) != BILLING_CREDIT_NOTE_ISSUED)
				continue;
			issued += billing_credit_note_total(n);
			s->oob_notes += billing_credit_note_out_of_band_amount(n);
		}
		assert_int_equal(issued, billing_invoice_pre_credit_notes_amount(inv) +
			billing_invoice_post_payment_credit_notes_amount(inv));
		assert_true(issued <= billing_invoice_total(inv));
		billing_page_free(page);
	}
	billing_page_free(all);
}

static void random_step(fx *f, struct history *h, unsigned int *seed)
{
	int what = rand_r(seed) % 10;
	billing_credit_note *n = NULL;

	if (what < 2 || h->ninv == 0) {
		if (h->ninv < MAX_INVOICES)
			subscribe(f, h->invoices[h->ninv++]);
	} else if (what < 7) {
		const char *in = h->invoices[(size_t)rand_r(seed) % h->ninv];
		int64_t amount = 1 + rand_r(seed) % 1500, credit, refund, oob;
		int rc;
		if (rand_r(seed) % 2) {
			rc = note_lump(&n, f->w->ctx, &f->admin, in, amount);
		} else {
			/* A line amount and a random split of what it would total. */
			int64_t tax = (amount * 1900 + 5000) / 10000, total = amount + tax;
			refund = rand_r(seed) % (total + 1);
			credit = rand_r(seed) % (total - refund + 1);
			oob = total - refund - credit;
			rc = note_line(&n, f, in, amount, rand_r(seed) % 4 ? BILLING_CREDIT_NOTE_REFUND_AMOUNT |
				BILLING_CREDIT_NOTE_CREDIT_AMOUNT | BILLING_CREDIT_NOTE_OUT_OF_BAND_AMOUNT : 0,
				refund, credit, oob);
		}
		assert_true(rc == BILLING_OK || rc == BILLING_EINVALID);
		if (rc == BILLING_OK && h->nnotes < MAX_NOTES)
			snprintf(h->notes[h->nnotes++], 64, "%s", billing_credit_note_id(n));
		billing_credit_note_free(n);
	} else if (what < 8 && h->nnotes) {
		billing_credit_note *v = NULL;
		int rc = billing_credit_note_void(&v, f->w->ctx, &f->admin,
			h->notes[(size_t)rand_r(seed) % h->nnotes], NULL);
		assert_true(rc == BILLING_OK || rc == BILLING_ECONFLICT);
		billing_credit_note_free(v);
	} else if (what < 9) {
		billing_balance_adjustment_params p = BILLING_BALANCE_ADJUSTMENT_PARAMS_INIT;
		billing_balance_transaction *t = NULL;
		p.customer_id = f->cus;
		p.amount = -(1 + rand_r(seed) % 800);
		p.currency = "EUR";
		p.description = "goodwill";
		tb_assert_rc(billing_customer_balance_adjust(&t, f->w->ctx, &f->admin, &p, NULL),
			BILLING_OK);
		h->adjustments += p.amount;
		billing_balance_transaction_free(t);
	} else {
		f->w->now += 31 * TBB_DAY;
		(void)tbb_run(f->w);
	}
}

/* What the customer was asked for (invoices less credit notes, plus
 * adjustments) equals what they settled: paid, less refunded and settled
 * outside, plus what is still due, plus their balance. To the minor unit,
 * after every step; every refund asked once. */
static void random_histories__money_is_conserved_and_nothing_refunded_twice(void **state)
{
	fx *f = *state;
	unsigned int seed = 20251206;
	const char *env = getenv("BILLING_TEST_SEED");
	struct history h;
	struct sums s;
	int64_t refunded;
	int step;

	if (env)
		seed = (unsigned int)strtoul(env, NULL, 10);
	memset(&h, 0, sizeof(h));
	for (step = 0; step < STEPS; step++) {
		random_step(f, &h, &seed);
		sum_all(f, &s);
		(void)refunds(f, &refunded);
		assert_int_equal(refunded, s.refund_notes);
		assert_int_equal(s.total - s.notes + h.adjustments,
			s.paid - refunded - s.oob_notes + s.due + balance(f));
	}
	assert_int_equal(problems(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(partial_note_with_refund__the_provider_refunds_it_once,
			setup, teardown),
		cmocka_unit_test_setup_teardown(credit_to_the_balance__consumed_by_the_next_renewal,
			setup, teardown),
		cmocka_unit_test_setup_teardown(note_on_an_open_invoice__lowers_its_amount_due,
			setup_no_card, teardown),
		cmocka_unit_test_setup_teardown(over_credit__refused_and_nothing_written, setup,
			teardown),
		cmocka_unit_test_setup_teardown(concurrent_notes__never_exceed_the_invoice, setup,
			teardown),
		cmocka_unit_test_setup_teardown(void__reverses_the_credit_and_the_invoice, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			void__of_a_pre_payment_note_raises_the_amount_due_again, setup_no_card,
			teardown),
		cmocka_unit_test_setup_teardown(numbering__gapless_across_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(
			random_histories__money_is_conserved_and_nothing_refunded_twice, setup,
			teardown),
		cmocka_unit_test_setup_teardown(invoice_void__refused_while_a_note_stands,
			setup_no_card, teardown),
		cmocka_unit_test_setup_teardown(by_quantity__refused_on_a_tiered_line, setup,
			teardown),
		cmocka_unit_test_setup_teardown(metadata__kept_and_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(list__filters_name_the_tenants_rows, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
