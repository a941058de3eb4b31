/*
 * Usage billed in arrears (issue #23; docs/usage.md), on both backends:
 *  - the "Done when": a customer on a metered plan with graduated
 *    tiers sends events over a month in batches; the renewal waits for the
 *    grace window, then bills the closed period's usage on the invoice that
 *    opens the next one, equal to a hand computation of the tiers, the
 *    aggregate stored; an event of the billed period is refused after;
 *  - a metered item has no quantity (refused, naming the field): 0 in C,
 *    null in JSON, NULL in the row, through changes of plan both ways;
 *  - metered and licensed items together: the licensed line in advance, the
 *    usage line in arrears, on one invoice; before it, the preview's running
 *    usage line and the usage view's amount are what the invoice bills;
 *  - two billing runs at once (two contexts, two threads) bill exactly one
 *    usage line per item and period;
 *  - cancel at the period end bills the last period's usage on a final
 *    invoice; cancel now bills the usage so far, and later events of it are
 *    refused;
 *  - a change of plan away from a metered plan now bills the usage so far
 *    on an invoice of its own, and credits nothing of it (no line of
 *    quantity 0);
 *  - billing_check: a usage line that is not its stored aggregate;
 *  - retention: billing_usage_prune deletes the events before the cutoff
 *    (the earlier of now less the retention and the oldest unbilled
 *    period), leaves invoices and stored aggregates alone, keeps the
 *    unbilled period's events (billed whole later), and refuses late
 *    events and aggregates of pruned periods with "period_pruned";
 *  - spend thresholds: billingThresholds is validated, stored, shown and
 *    removed (C and JSON); resetBillingCycleAnchor true is "unsupported".
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include <cmocka.h>

#include "tb.h"
#include "tb_billing.h"
#include "core/alloc.h"

#define GRACE 3600

typedef struct {
	tb_world *w;
	const char *tenant;
	billing_principal admin;
	char customer[64];
	char product[64];
	char meter[64];
	char metered[64];            /* a metered plan, graduated tiers */
	char licensed[64];           /* a perUnit plan of 1500 */
} fx;

/* Graduated: 1-100 at 10 plus a flat 500, 101-1000 at 5, above at 2. */
#define TIERS "\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\",\"tiers\":[" \
	"{\"upTo\":100,\"unitAmount\":10,\"flatAmount\":500},{\"upTo\":1000,\"unitAmount\":5}," \
	"{\"upTo\":null,\"unitAmount\":2}]"

/* The hand computation of TIERS for q units. */
static int64_t by_hand(int64_t q)
{
	int64_t a = 0;
	if (q <= 0)
		return 0;
	a += 500 + 10 * (q < 100 ? q : 100);
	if (q > 100)
		a += 5 * ((q < 1000 ? q : 1000) - 100);
	if (q > 1000)
		a += 2 * (q - 1000);
	return a;
}

static void json_call(fx *f, const char *op, const char *json, char *id, size_t size)
{
	char *out = NULL;
	cJSON *m;
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, op, json, strlen(json), NULL),
		BILLING_OK);
	m = cJSON_Parse(out);
	snprintf(id, size, "%s", cJSON_GetObjectItemCaseSensitive(m, "id")->valuestring);
	cJSON_Delete(m);
	billing_free(out);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	billing_customer *c;
	billing_product *p;
	billing_plan *plan;
	char json[1024];
	assert_non_null(f);
	f->w = tb_world_new();
	f->tenant = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->tenant);
	c = tb_customer(f->w, f->tenant, NULL);
	snprintf(f->customer, sizeof(f->customer), "%s", billing_customer_id(c));
	billing_customer_free(c);
	p = tb_product(f->w, f->tenant, NULL);
	snprintf(f->product, sizeof(f->product), "%s", billing_product_id(p));
	billing_product_free(p);
	json_call(f, "meters.create", "{\"eventName\":\"api.call\",\"aggregation\":\"sum\","
		"\"valueProperty\":\"n\"}", f->meter, sizeof(f->meter));
	snprintf(json, sizeof(json), TIERS ",\"usageType\":\"metered\",\"meterId\":\"%s\"",
		f->meter);
	plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = f->product,
		.price_json = json });
	snprintf(f->metered, sizeof(f->metered), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = f->product,
		.amount = 1500 });
	snprintf(f->licensed, sizeof(f->licensed), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	tb_world_free(f->w);
	free(f);
	return 0;
}

/* A subscription of the customer to items (quantities 0: none given). */
static billing_subscription *subscribe(fx *f, const char *customer,
	const billing_subscription_item_spec *items, size_t n)
{
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription *s = NULL;
	p.customer_id = customer;
	p.items = items;
	p.item_count = n;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	return s;
}

/* Sends one event of n units at ts; returns its status. */
static billing_usage_status send(fx *f, const char *customer, const char *tid, int64_t ts,
	int64_t n, char code[32])
{
	billing_usage_event ev = BILLING_USAGE_EVENT_INIT;
	billing_usage_result *r = NULL;
	billing_usage_status st;
	char props[64];
	snprintf(props, sizeof(props), "{\"n\":%lld}", (long long)n);
	ev.transaction_id = tid;
	ev.event_name = "api.call";
	ev.customer_id = customer;
	ev.timestamp = ts;
	ev.properties_json = props;
	tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, &ev, 1), BILLING_OK);
	st = billing_usage_result_status(r, 0);
	if (code)
		snprintf(code, 32, "%s", billing_usage_result_code(r, 0) ?
			billing_usage_result_code(r, 0) : "");
	billing_usage_result_free(r);
	return st;
}

static billing_invoice *latest(fx *f, const char *sub_id)
{
	billing_subscription *s = tbb_sub_get(f->w, f->tenant, sub_id);
	billing_invoice *inv = NULL;
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin,
		billing_subscription_latest_invoice_id(s)), BILLING_OK);
	billing_subscription_free(s);
	return inv;
}

static size_t invoice_count(fx *f, const char *sub_id)
{
	tbb_invoice *all = NULL;
	size_t n = tbb_invoices(f->w, f->tenant, sub_id, &all);
	free(all);
	return n;
}

/* The line of inv for plan_id; NULL when none. */
static const billing_invoice_line *line_of(const billing_invoice *inv, const char *plan_id)
{
	size_t i;
	for (i = 0; i < billing_invoice_line_count(inv); i++)
		if (strcmp(billing_invoice_line_at(inv, i)->plan_id, plan_id) == 0)
			return billing_invoice_line_at(inv, i);
	return NULL;
}

static void check_kind(void *user_data, const billing_check_problem *p)
{
	snprintf(user_data, 64, "%s", p->kind);
}

static void assert_check_clean(fx *f)
{
	int64_t problems = -1;
	tb_assert_rc(billing_check(f->w->ctx, NULL, NULL, &problems), BILLING_OK);
	assert_int_equal(problems, 0);
}

/* ------------------------------------------------------------ done when */

static void usage_billing__a_month_of_events_is_billed_in_arrears_by_the_tiers(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec item = { f->metered, 0 };
	billing_subscription *s = subscribe(f, f->customer, &item, 1);
	char sub[64];
	int64_t start = billing_subscription_current_period_start(s);
	int64_t end = billing_subscription_current_period_end(s);
	int64_t total = 0, stored = -1, events = -1;
	billing_usage_event evs[50];
	char tids[50][32], props[50][32], code[32];
	billing_invoice *inv;
	const billing_invoice_line *l;
	unsigned int seed = 23;
	int batch, i;
	cJSON *tiers;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	/* The first invoice bills nothing in advance for a metered item. */
	inv = latest(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 0);
	assert_int_equal(billing_invoice_total(inv), 0);
	billing_invoice_free(inv);

	/* Ten batches over the month, out of order within each. */
	for (batch = 0; batch < 10; batch++) {
		f->w->now = start + (end - start) * (batch + 1) / 11;
		for (i = 0; i < 50; i++) {
			billing_usage_event e = BILLING_USAGE_EVENT_INIT;
			int64_t n;
			seed = seed * 1103515245u + 12345u;
			n = (seed >> 16) % 7;
			total += n;
			snprintf(tids[i], sizeof(tids[i]), "b%d-%d", batch, i);
			snprintf(props[i], sizeof(props[i]), "{\"n\":%lld}", (long long)n);
			e.transaction_id = tids[i];
			e.event_name = "api.call";
			e.customer_id = f->customer;
			e.timestamp = f->w->now - 1 - (int64_t)((seed >> 8) % 3600);
			e.properties_json = props[i];
			evs[i] = e;
		}
		{
			billing_usage_result *r = NULL;
			tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, evs, 50), BILLING_OK);
			assert_int_equal(billing_usage_result_tally(r, BILLING_USAGE_ACCEPTED), 50);
			billing_usage_result_free(r);
		}
	}
	assert_true(total > 1000);

	/* The period ends: the renewal waits for the grace window, and an event
	 * of the period sent within it still counts. */
	f->w->now = end + GRACE - 1;
	tbb_run(f->w);
	assert_int_equal(invoice_count(f, sub), 1);
	assert_int_equal(send(f, f->customer, "late-ok", end - 5, 6, NULL), BILLING_USAGE_ACCEPTED);
	total += 6;
	f->w->now = end + GRACE;
	tbb_run(f->w);
	assert_int_equal(invoice_count(f, sub), 2);

	inv = latest(f, sub);
	assert_int_equal(billing_invoice_period_start(inv), end);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	l = billing_invoice_line_at(inv, 0);
	assert_string_equal(l->plan_id, f->metered);
	assert_non_null(l->subscription_item_id);
	assert_int_equal(l->period_start, start);
	assert_int_equal(l->period_end, end);
	assert_int_equal(l->quantity, total);
	assert_int_equal(l->amount, by_hand(total));
	assert_int_equal(billing_invoice_subtotal(inv), by_hand(total));
	assert_non_null(l->tiers);
	tiers = cJSON_Parse(l->tiers);
	assert_int_equal(cJSON_GetArraySize(tiers), 3);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(tiers, 2), "quantity")->valuedouble,
		total - 1000);
	cJSON_Delete(tiers);
	billing_invoice_free(inv);

	/* The aggregate was stored with the line, and equals it. */
	tb_assert_rc(billing_usage_aggregate(&stored, &events, f->w->ctx, &f->admin, f->meter,
		f->customer, start, end), BILLING_OK);
	assert_int_equal(stored, total);
	assert_int_equal(events, 501);
	assert_int_equal(tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM usage_aggregates"), 1);
	/* An event of the billed period is refused from now on. */
	assert_int_equal(send(f, f->customer, "too-late", end - 2, 1, code), BILLING_USAGE_REFUSED);
	assert_string_equal(code, "late_event");
	assert_check_clean(f);

	/* The next period starts from zero: nothing used, nothing billed. */
	billing_subscription_free(s);
	s = tbb_sub_get(f->w, f->tenant, sub);
	f->w->now = billing_subscription_current_period_end(s) + GRACE;
	tbb_run(f->w);
	inv = latest(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_int_equal(billing_invoice_line_at(inv, 0)->quantity, 0);
	assert_int_equal(billing_invoice_total(inv), 0);
	billing_invoice_free(inv);
	billing_subscription_free(s);
	assert_check_clean(f);
}

static void usage_billing__a_metered_item_has_no_quantity(void **state)
{
	fx *f = *state;
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription_item_spec items[2] = { { f->licensed, 2 }, { f->metered, 3 } };
	billing_subscription *s = NULL;

	p.customer_id = f->customer;
	p.items = items;
	p.item_count = 2;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("items[1].quantity");
	assert_null(s);
	p = (billing_subscription_params)BILLING_SUBSCRIPTION_PARAMS_INIT;
	p.customer_id = f->customer;
	p.plan_id = f->metered;
	p.quantity = 4;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("quantity");
	assert_int_equal(tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM subscriptions"), 0);
}

/* The JSON of op for {"id": id} (cJSON_Delete). */
static cJSON *get_json(fx *f, const char *op, const char *id)
{
	char in[128], *out = NULL;
	cJSON *v;
	snprintf(in, sizeof(in), "{\"id\":\"%s\"}", id);
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, op, in, strlen(in), NULL),
		BILLING_OK);
	v = cJSON_Parse(out);
	assert_non_null(v);
	billing_free(out);
	return v;
}

static bool quantity_null(const cJSON *o)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "quantity"));
}

static int64_t quantity_of(const cJSON *o)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "quantity");
	assert_true(cJSON_IsNumber(q));
	return (int64_t)q->valuedouble;
}

/* A metered plan's item has no quantity: 0 from the C getters, null in the
 * JSON of the item, of the subscription's items[] and (its first item's)
 * of the subscription, NULL in the row; so on creation, on a change of the
 * item's plan or the subscription's both ways (a licensed plan takes 1, or
 * the quantity given; a quantity given for a metered plan is refused with
 * the field, nothing changed), and at the renewal that makes a scheduled
 * change to a metered plan. */
static void usage_billing__a_metered_items_quantity_is_null(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec two[2] = { { f->licensed, 2 }, { f->metered, 0 } };
	billing_subscription_item_spec one[1] = { { f->metered, 0 } };
	billing_subscription *s = subscribe(f, f->customer, two, 2), *t = NULL;
	billing_subscription_item_params ip = BILLING_SUBSCRIPTION_ITEM_PARAMS_INIT;
	billing_subscription_change_params cp = BILLING_SUBSCRIPTION_CHANGE_INIT;
	billing_subscription_item *it = NULL;
	billing_plan *plan;
	char sub[64], only[64], item[64], other[64];
	cJSON *v, *items;

	plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = f->product,
		.amount = 700 });
	snprintf(other, sizeof(other), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	assert_int_equal(billing_subscription_quantity(s), 2);
	billing_subscription_free(s);
	v = get_json(f, "subscriptions.get", sub);
	items = cJSON_GetObjectItemCaseSensitive(v, "items");
	assert_int_equal(cJSON_GetArraySize(items), 2);
	assert_int_equal(quantity_of(v), 2);
	assert_int_equal(quantity_of(cJSON_GetArrayItem(items, 0)), 2);
	assert_true(quantity_null(cJSON_GetArrayItem(items, 1)));
	snprintf(item, sizeof(item), "%s", cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(items, 1), "id")->valuestring);
	cJSON_Delete(v);
	assert_int_equal(tb_raw_count(f->w->owner_url,
		"SELECT COUNT(*) FROM subscription_items WHERE quantity IS NULL"), 1);
	tb_assert_rc(billing_subscription_item_get(&it, f->w->ctx, &f->admin, item), BILLING_OK);
	assert_int_equal(billing_subscription_item_quantity(it), 0);
	billing_subscription_item_free(it);
	v = get_json(f, "subscription_items.get", item);
	assert_true(quantity_null(v));
	cJSON_Delete(v);

	/* The item moves to a licensed plan: 1; back to the metered one: none,
	 * and a quantity given with it is refused. */
	ip.fields = BILLING_SUBSCRIPTION_ITEM_PLAN;
	ip.plan_id = other;
	tb_assert_rc(billing_subscription_item_update(&it, f->w->ctx, &f->admin, item, &ip, NULL),
		BILLING_OK);
	assert_int_equal(billing_subscription_item_quantity(it), 1);
	billing_subscription_item_free(it);
	ip.fields = BILLING_SUBSCRIPTION_ITEM_PLAN | BILLING_SUBSCRIPTION_ITEM_QUANTITY;
	ip.plan_id = f->metered;
	ip.quantity = 3;
	tb_assert_rc(billing_subscription_item_update(&it, f->w->ctx, &f->admin, item, &ip, NULL),
		BILLING_EINVALID);
	tb_assert_field("quantity");
	assert_null(it);
	ip.fields = BILLING_SUBSCRIPTION_ITEM_PLAN;
	ip.quantity = 0;
	tb_assert_rc(billing_subscription_item_update(&it, f->w->ctx, &f->admin, item, &ip, NULL),
		BILLING_OK);
	assert_int_equal(billing_subscription_item_quantity(it), 0);
	billing_subscription_item_free(it);
	v = get_json(f, "subscriptions.get", sub);
	assert_true(quantity_null(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v,
		"items"), 1)));
	cJSON_Delete(v);

	/* A subscription of one metered item: its own quantity is none too. */
	s = subscribe(f, f->customer, one, 1);
	snprintf(only, sizeof(only), "%s", billing_subscription_id(s));
	assert_int_equal(billing_subscription_quantity(s), 0);
	billing_subscription_free(s);
	v = get_json(f, "subscriptions.get", only);
	assert_true(quantity_null(v));
	cJSON_Delete(v);
	assert_int_equal(tb_raw_count(f->w->owner_url,
		"SELECT COUNT(*) FROM subscriptions WHERE quantity IS NULL"), 1);

	/* To a licensed plan: 1; back to the metered one with a quantity:
	 * refused; at the period end without one: none from the renewal on. */
	cp.plan_id = other;
	cp.proration = BILLING_PRORATE_NONE;
	tb_assert_rc(billing_subscription_change_plan(&t, f->w->ctx, &f->admin, only, &cp, NULL),
		BILLING_OK);
	assert_int_equal(billing_subscription_quantity(t), 1);
	billing_subscription_free(t);
	t = NULL;
	cp.plan_id = f->metered;
	cp.quantity = 2;
	tb_assert_rc(billing_subscription_change_plan(&t, f->w->ctx, &f->admin, only, &cp, NULL),
		BILLING_EINVALID);
	tb_assert_field("quantity");
	assert_null(t);
	cp.quantity = 0;
	cp.at_period_end = 1;
	tb_assert_rc(billing_subscription_change_plan(&t, f->w->ctx, &f->admin, only, &cp, NULL),
		BILLING_OK);
	assert_int_equal(billing_subscription_quantity(t), 1);
	f->w->now = billing_subscription_current_period_end(t) + GRACE;
	billing_subscription_free(t);
	tbb_run(f->w);
	t = tbb_sub_get(f->w, f->tenant, only);
	assert_string_equal(billing_subscription_plan_id(t), f->metered);
	assert_int_equal(billing_subscription_quantity(t), 0);
	billing_subscription_free(t);
	v = get_json(f, "subscriptions.get", only);
	assert_true(quantity_null(v));
	assert_true(quantity_null(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v,
		"items"), 0)));
	cJSON_Delete(v);
	assert_int_equal(tb_raw_count(f->w->owner_url,
		"SELECT COUNT(*) FROM subscription_items WHERE quantity IS NULL"), 2);
	assert_check_clean(f);
}

static void usage_billing__metered_and_licensed_items_on_one_invoice(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec items[2] = { { f->licensed, 3 }, { f->metered, 0 } };
	billing_subscription *s = subscribe(f, f->customer, items, 2);
	const char *sub = billing_subscription_id(s);
	int64_t start = billing_subscription_current_period_start(s);
	int64_t end = billing_subscription_current_period_end(s);
	billing_invoice *inv = latest(f, sub);
	const billing_invoice_line *l;

	/* In advance: the licensed item only. */
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_string_equal(billing_invoice_line_at(inv, 0)->plan_id, f->licensed);
	assert_int_equal(billing_invoice_subtotal(inv), 4500);
	billing_invoice_free(inv);

	f->w->now = start + 86400;
	assert_int_equal(send(f, f->customer, "m-1", 0, 150, NULL), BILLING_USAGE_ACCEPTED);
	assert_int_equal(send(f, f->customer, "m-2", 0, 50, NULL), BILLING_USAGE_ACCEPTED);
	/* The preview shows the period's running usage line, and the usage
	 * view what it would bill now: the same amount. */
	tb_assert_rc(billing_invoice_preview(&inv, f->w->ctx, &f->admin, sub), BILLING_OK);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	l = line_of(inv, f->metered);
	assert_non_null(l);
	assert_int_equal(l->period_start, start);
	assert_int_equal(l->period_end, end);
	assert_int_equal(l->quantity, 200);
	assert_int_equal(l->amount, 2000);
	assert_int_equal(billing_invoice_subtotal(inv), 4500 + 2000);
	billing_invoice_free(inv);
	{
		billing_usage_summary *u = NULL;
		tb_assert_rc(billing_usage_summary_get(&u, f->w->ctx, &f->admin, sub), BILLING_OK);
		assert_int_equal(billing_usage_summary_count(u), 1);
		assert_int_equal(billing_usage_summary_value(u, 0), 200);
		assert_int_equal(billing_usage_summary_amount(u, 0), 2000);
		billing_usage_summary_free(u);
	}
	f->w->now = end + GRACE;
	tbb_run(f->w);
	inv = latest(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	l = line_of(inv, f->licensed);
	assert_non_null(l);
	assert_int_equal(l->period_start, end);
	assert_int_equal(l->amount, 4500);
	l = line_of(inv, f->metered);
	assert_non_null(l);
	assert_int_equal(l->period_start, start);
	assert_int_equal(l->period_end, end);
	assert_int_equal(l->quantity, 200);
	assert_int_equal(l->amount, by_hand(200));   /* 500 + 1000 + 500 = 2000 */
	assert_int_equal(by_hand(200), 2000);
	assert_int_equal(billing_invoice_subtotal(inv), 4500 + 2000);
	billing_invoice_free(inv);
	billing_subscription_free(s);
	assert_check_clean(f);

	/* billing_check: a billed usage line equals its stored aggregate. */
	tb_raw_exec(f->w->owner_url, "UPDATE usage_aggregates SET value = 201");
	{
		int64_t problems = -1;
		char kind[64] = "";
		tb_assert_rc(billing_check(f->w->ctx, check_kind, kind, &problems), BILLING_OK);
		assert_int_equal(problems, 1);
		assert_string_equal(kind, "usage_line_aggregate");
	}
}

/* ------------------------------------------------------------ two runs at once */

#define SUBS 12

struct runner {
	billing_ctx *ctx;
	int64_t now;
	pthread_barrier_t *start;
	int rc;
};

static void *run_at_once(void *arg)
{
	struct runner *r = arg;
	pthread_barrier_wait(r->start);
	r->rc = billing_run_due(r->ctx, r->now, NULL, NULL);
	return NULL;
}

static void usage_billing__two_runs_at_once_bill_each_period_once(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec item = { f->metered, 0 };
	char subs[SUBS][64];
	int64_t end = 0;
	billing_ctx *other = tb_world_open_again(f->w);
	pthread_barrier_t start;
	pthread_t th[2];
	struct runner r[2];
	int i;

	for (i = 0; i < SUBS; i++) {
		billing_customer *c = tb_customer(f->w, f->tenant, NULL);
		billing_subscription *s = subscribe(f, billing_customer_id(c), &item, 1);
		char tid[32];
		snprintf(subs[i], sizeof(subs[i]), "%s", billing_subscription_id(s));
		end = billing_subscription_current_period_end(s);
		snprintf(tid, sizeof(tid), "r-%d", i);
		assert_int_equal(send(f, billing_customer_id(c), tid, 0, 10 + i, NULL),
			BILLING_USAGE_ACCEPTED);
		billing_subscription_free(s);
		billing_customer_free(c);
	}
	assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
	for (i = 0; i < 2; i++) {
		r[i].ctx = i ? other : f->w->ctx;
		r[i].now = end + GRACE;
		r[i].start = &start;
		r[i].rc = -99;
		assert_int_equal(pthread_create(&th[i], NULL, run_at_once, &r[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start);
	tb_assert_rc(r[0].rc, BILLING_OK);
	tb_assert_rc(r[1].rc, BILLING_OK);
	f->w->now = end + GRACE;
	tbb_run(f->w);
	for (i = 0; i < SUBS; i++) {
		billing_invoice *inv;
		assert_int_equal(invoice_count(f, subs[i]), 2);
		inv = latest(f, subs[i]);
		assert_int_equal(billing_invoice_line_count(inv), 1);
		assert_int_equal(billing_invoice_line_at(inv, 0)->quantity, 10 + i);
		assert_int_equal(billing_invoice_line_at(inv, 0)->amount, by_hand(10 + i));
		billing_invoice_free(inv);
	}
	assert_int_equal(tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM usage_aggregates"),
		SUBS);
	{
		char sql[256];
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM invoice_lines WHERE plan_id = '%s'",
			f->metered);
		assert_int_equal(tb_raw_count(f->w->owner_url, sql), SUBS);
	}
	billing_ctx_close(other);
	assert_check_clean(f);
}

/* ------------------------------------------------------------ cancel */

static void usage_billing__cancel_bills_the_usage_on_a_final_invoice(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec item = { f->metered, 0 };
	billing_customer *c2 = tb_customer(f->w, f->tenant, NULL);
	billing_subscription *a = subscribe(f, f->customer, &item, 1);
	billing_subscription *b = subscribe(f, billing_customer_id(c2), &item, 1);
	billing_subscription *x = NULL;
	int64_t start = billing_subscription_current_period_start(a);
	int64_t end = billing_subscription_current_period_end(a);
	billing_invoice *inv;
	char code[32];

	f->w->now = start + 10 * 86400;
	assert_int_equal(send(f, f->customer, "a-1", 0, 120, NULL), BILLING_USAGE_ACCEPTED);
	assert_int_equal(send(f, billing_customer_id(c2), "b-1", 0, 30, NULL),
		BILLING_USAGE_ACCEPTED);

	/* At the period end: the subscription ends, its last period's usage is
	 * billed on a final invoice. */
	tb_assert_rc(billing_subscription_cancel(&x, f->w->ctx, &f->admin,
		billing_subscription_id(a), BILLING_CANCEL_AT_PERIOD_END, NULL), BILLING_OK);
	billing_subscription_free(x);
	x = NULL;
	/* Now: the usage so far, at once. */
	f->w->now = start + 11 * 86400;
	tb_assert_rc(billing_subscription_cancel(&x, f->w->ctx, &f->admin,
		billing_subscription_id(b), 0, NULL), BILLING_OK);
	assert_int_equal(billing_subscription_status_of(x), BILLING_SUB_CANCELED);
	billing_subscription_free(x);
	inv = latest(f, billing_subscription_id(b));
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_int_equal(billing_invoice_line_at(inv, 0)->quantity, 30);
	assert_int_equal(billing_invoice_line_at(inv, 0)->period_start, start);
	assert_int_equal(billing_invoice_line_at(inv, 0)->period_end, f->w->now);
	assert_int_equal(billing_invoice_total(inv), by_hand(30));
	billing_invoice_free(inv);
	/* Its period so far is closed: a later event of it is refused. */
	assert_int_equal(send(f, billing_customer_id(c2), "b-2", f->w->now - 60, 1, code),
		BILLING_USAGE_REFUSED);
	assert_string_equal(code, "late_event");

	f->w->now = end - 50;
	assert_int_equal(send(f, f->customer, "a-2", end - 100, 80, NULL), BILLING_USAGE_ACCEPTED);
	f->w->now = end + GRACE;
	tbb_run(f->w);
	assert_int_equal(tbb_sub_status(f->w, f->tenant, billing_subscription_id(a)),
		BILLING_SUB_CANCELED);
	assert_int_equal(invoice_count(f, billing_subscription_id(a)), 2);
	inv = latest(f, billing_subscription_id(a));
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_int_equal(billing_invoice_line_at(inv, 0)->quantity, 200);
	assert_int_equal(billing_invoice_line_at(inv, 0)->period_start, start);
	assert_int_equal(billing_invoice_line_at(inv, 0)->period_end, end);
	assert_int_equal(billing_invoice_total(inv), by_hand(200));
	billing_invoice_free(inv);
	billing_subscription_free(a);
	billing_subscription_free(b);
	billing_customer_free(c2);
	assert_check_clean(f);
}

/* A change away from a metered plan now bills the usage so far of the
 * period on an invoice of its own (as cancel now does), and credits no
 * "unused time" of it (nothing was billed in advance): no line of quantity
 * 0 of the metered plan, on that invoice or the next. */
static void usage_billing__a_change_away_from_metered_bills_the_usage_so_far(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec item = { f->metered, 0 };
	billing_subscription *s = subscribe(f, f->customer, &item, 1), *t = NULL;
	billing_subscription_change_params cp = BILLING_SUBSCRIPTION_CHANGE_INIT;
	int64_t start = billing_subscription_current_period_start(s);
	int64_t end = billing_subscription_current_period_end(s);
	billing_invoice *inv;
	char sub[64];
	size_t i;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	f->w->now = start + 10 * 86400;
	assert_int_equal(send(f, f->customer, "c-1", 0, 120, NULL), BILLING_USAGE_ACCEPTED);
	assert_int_equal(send(f, f->customer, "c-2", 0, 30, NULL), BILLING_USAGE_ACCEPTED);
	f->w->now = start + 12 * 86400;
	cp.plan_id = f->licensed;
	cp.proration = BILLING_PRORATE_CREATE;
	tb_assert_rc(billing_subscription_change_plan(&t, f->w->ctx, &f->admin, sub, &cp, NULL),
		BILLING_OK);
	assert_int_equal(billing_subscription_quantity(t), 1);
	billing_subscription_free(t);
	assert_int_equal(invoice_count(f, sub), 2);
	inv = latest(f, sub);
	/* 150 units: 500 + 100 x 10 + 50 x 5. */
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_string_equal(billing_invoice_line_at(inv, 0)->plan_id, f->metered);
	assert_int_equal(billing_invoice_line_at(inv, 0)->quantity, 150);
	assert_int_equal(billing_invoice_line_at(inv, 0)->period_start, start);
	assert_int_equal(billing_invoice_line_at(inv, 0)->period_end, f->w->now);
	assert_int_equal(billing_invoice_total(inv), 1750);
	billing_invoice_free(inv);

	/* The renewal: the licensed plan's remaining time and its next period,
	 * nothing of the metered plan (the usage after the change is not its). */
	assert_int_equal(send(f, f->customer, "c-3", 0, 40, NULL), BILLING_USAGE_ACCEPTED);
	f->w->now = end + GRACE;
	tbb_run(f->w);
	assert_int_equal(invoice_count(f, sub), 3);
	inv = latest(f, sub);
	assert_int_equal(billing_invoice_period_start(inv), end);
	assert_int_equal(billing_invoice_line_count(inv), 2);
	for (i = 0; i < billing_invoice_line_count(inv); i++) {
		assert_string_equal(billing_invoice_line_at(inv, i)->plan_id, f->licensed);
		assert_int_equal(billing_invoice_line_at(inv, i)->quantity, 1);
		assert_true(billing_invoice_line_at(inv, i)->amount > 0);
	}
	billing_invoice_free(inv);
	assert_check_clean(f);
}

/* Usage too large for a line's quantity (an int32) at a change away from
 * the metered plan: the change is refused with the reason and changes
 * nothing (still on the metered plan, no invoice, check clean). */
static void usage_billing__a_change_with_usage_past_a_quantity_changes_nothing(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec item = { f->metered, 0 };
	billing_subscription *s = subscribe(f, f->customer, &item, 1), *t = NULL;
	billing_subscription_change_params cp = BILLING_SUBSCRIPTION_CHANGE_INIT;
	int64_t start = billing_subscription_current_period_start(s);
	size_t before;
	char sub[64];

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	before = invoice_count(f, sub);
	f->w->now = start + 5 * 86400;
	assert_int_equal(send(f, f->customer, "big-1", 0, 2000000000, NULL),
		BILLING_USAGE_ACCEPTED);
	assert_int_equal(send(f, f->customer, "big-2", 0, 2000000000, NULL),
		BILLING_USAGE_ACCEPTED);
	f->w->now = start + 6 * 86400;
	cp.plan_id = f->licensed;
	cp.proration = BILLING_PRORATE_CREATE;
	tb_assert_rc(billing_subscription_change_plan(&t, f->w->ctx, &f->admin, sub, &cp, NULL),
		BILLING_EOVERFLOW);
	assert_string_equal(billing_error_last()->reason, "usage_too_large");
	assert_null(t);
	tb_assert_rc(billing_subscription_get(&t, f->w->ctx, &f->admin, sub), BILLING_OK);
	assert_string_equal(billing_subscription_plan_id(t), f->metered);
	billing_subscription_free(t);
	assert_int_equal(invoice_count(f, sub), before);
	assert_check_clean(f);
}

/* Between metered plans: to one of the same meter, nothing now (the
 * renewal bills the period at the new price); to one of another meter, the
 * old meter's usage so far at once. From a licensed plan to a metered one
 * with always_invoice: the licensed credit only, no zero charge line. */
static void usage_billing__changes_between_metered_plans(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec item = { f->metered, 0 }, lic = { f->licensed, 1 };
	billing_subscription_change_params cp = BILLING_SUBSCRIPTION_CHANGE_INIT;
	billing_subscription *s = subscribe(f, f->customer, &item, 1), *t = NULL;
	billing_customer *c2 = tb_customer(f->w, f->tenant, NULL);
	int64_t start = billing_subscription_current_period_start(s);
	int64_t end = billing_subscription_current_period_end(s);
	char meter2[64], same[64], other[64], sub[64], sub2[64], json[1024];
	billing_plan *plan;
	billing_invoice *inv;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	json_call(f, "meters.create", "{\"eventName\":\"api.call\",\"aggregation\":\"count\"}",
		meter2, sizeof(meter2));
	snprintf(json, sizeof(json), TIERS ",\"usageType\":\"metered\",\"meterId\":\"%s\"",
		f->meter);
	plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = f->product,
		.price_json = json });
	snprintf(same, sizeof(same), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	snprintf(json, sizeof(json), TIERS ",\"usageType\":\"metered\",\"meterId\":\"%s\"",
		meter2);
	plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = f->product,
		.price_json = json });
	snprintf(other, sizeof(other), "%s", billing_plan_id(plan));
	billing_plan_free(plan);

	f->w->now = start + 5 * 86400;
	assert_int_equal(send(f, f->customer, "d-1", 0, 150, NULL), BILLING_USAGE_ACCEPTED);
	cp.plan_id = same;
	cp.proration = BILLING_PRORATE_ALWAYS_INVOICE;
	tb_assert_rc(billing_subscription_change_plan(&t, f->w->ctx, &f->admin, sub, &cp, NULL),
		BILLING_OK);
	billing_subscription_free(t);
	t = NULL;
	assert_int_equal(invoice_count(f, sub), 1);
	f->w->now = start + 10 * 86400;
	cp.plan_id = other;
	tb_assert_rc(billing_subscription_change_plan(&t, f->w->ctx, &f->admin, sub, &cp, NULL),
		BILLING_OK);
	billing_subscription_free(t);
	t = NULL;
	assert_int_equal(invoice_count(f, sub), 2);
	inv = latest(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_string_equal(billing_invoice_line_at(inv, 0)->plan_id, same);
	assert_int_equal(billing_invoice_line_at(inv, 0)->quantity, 150);
	assert_int_equal(billing_invoice_total(inv), 1750);
	billing_invoice_free(inv);
	/* The renewal: meter2 counts the period's one event, 500 + 10. */
	f->w->now = end + GRACE;
	tbb_run(f->w);
	inv = latest(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_string_equal(billing_invoice_line_at(inv, 0)->plan_id, other);
	assert_int_equal(billing_invoice_line_at(inv, 0)->quantity, 1);
	assert_int_equal(billing_invoice_total(inv), 510);
	billing_invoice_free(inv);

	s = subscribe(f, billing_customer_id(c2), &lic, 1);
	snprintf(sub2, sizeof(sub2), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	f->w->now += 86400;
	cp.plan_id = f->metered;
	tb_assert_rc(billing_subscription_change_plan(&t, f->w->ctx, &f->admin, sub2, &cp, NULL),
		BILLING_OK);
	billing_subscription_free(t);
	assert_int_equal(invoice_count(f, sub2), 2);
	inv = latest(f, sub2);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_string_equal(billing_invoice_line_at(inv, 0)->plan_id, f->licensed);
	assert_true(billing_invoice_line_at(inv, 0)->amount < 0);
	billing_invoice_free(inv);
	billing_customer_free(c2);
	assert_check_clean(f);
}

/* ------------------------------------------------------------ other spans */

/* An aggregate asked for a closed span that starts where the subscription's
 * period starts but ends earlier is stored for that span; the renewal then
 * bills the whole period (its own span), not period_mismatch. */
static void usage_billing__a_shorter_closed_span_does_not_block_the_renewal(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec item = { f->metered, 0 };
	billing_subscription *s = subscribe(f, f->customer, &item, 1);
	int64_t start = billing_subscription_current_period_start(s);
	int64_t end = billing_subscription_current_period_end(s);
	int64_t value = -1, events = -1;
	billing_run_report rep;
	billing_invoice *inv;
	char sub[64], code[32];

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	f->w->now = start + 3 * 86400;
	assert_int_equal(send(f, f->customer, "a", start + 100, 5, NULL), BILLING_USAGE_ACCEPTED);
	f->w->now = start + 10 * 86400;
	/* [start, start + 5 days) is closed (its end plus the grace is past). */
	tb_assert_rc(billing_usage_aggregate(&value, &events, f->w->ctx, &f->admin, f->meter,
		f->customer, start, start + 5 * 86400), BILLING_OK);
	assert_int_equal(value, 5);
	/* That span takes no event any more; the rest of the period does. */
	assert_int_equal(send(f, f->customer, "b", start + 200, 1, code), BILLING_USAGE_REFUSED);
	assert_string_equal(code, "late_event");
	assert_int_equal(send(f, f->customer, "c", start + 6 * 86400, 3, NULL),
		BILLING_USAGE_ACCEPTED);
	f->w->now = end - 30;
	assert_int_equal(send(f, f->customer, "d", end - 60, 7, NULL), BILLING_USAGE_ACCEPTED);

	f->w->now = end + GRACE;
	rep = tbb_run(f->w);
	assert_int_equal(rep.failed, 0);
	assert_int_equal(invoice_count(f, sub), 2);
	inv = latest(f, sub);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	assert_int_equal(billing_invoice_line_at(inv, 0)->quantity, 15);
	assert_int_equal(billing_invoice_total(inv), by_hand(15));
	billing_invoice_free(inv);
	/* Both spans read back what was stored. */
	tb_assert_rc(billing_usage_aggregate(&value, &events, f->w->ctx, &f->admin, f->meter,
		f->customer, start, start + 5 * 86400), BILLING_OK);
	assert_int_equal(value, 5);
	tb_assert_rc(billing_usage_aggregate(&value, &events, f->w->ctx, &f->admin, f->meter,
		f->customer, start, end), BILLING_OK);
	assert_int_equal(value, 15);
	assert_check_clean(f);
	billing_subscription_free(s);
}

/* ------------------------------------------------------------ retention */

static int64_t raw_events(fx *f)
{
	return tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM usage_events");
}

static void retention__prune_deletes_old_events_but_never_an_unbilled_period(void **state)
{
	fx *f = *state;
	billing_subscription_item_spec item = { f->metered, 0 };
	billing_subscription *s = subscribe(f, f->customer, &item, 1);
	billing_principal user = tb_user(f->tenant);
	billing_customer *loner = tb_customer(f->w, f->tenant, NULL);
	int64_t start = billing_subscription_current_period_start(s);
	int64_t end = billing_subscription_current_period_end(s), end2;
	int64_t deleted = -1, cutoff = -1, days = -1, value = -1, events = -1, first_total;
	int64_t q1 = 0, q2 = 0;
	char sub[64], tid[32], code[32], inv1[64];
	billing_invoice *inv;
	int i;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	/* Period 1: 20 events; 3 of a customer with no subscription. */
	f->w->now = start + 86400;
	for (i = 0; i < 20; i++) {
		snprintf(tid, sizeof(tid), "p1-%d", i);
		assert_int_equal(send(f, f->customer, tid, start + 100 + i, i + 1, NULL),
			BILLING_USAGE_ACCEPTED);
		q1 += i + 1;
	}
	for (i = 0; i < 3; i++) {
		snprintf(tid, sizeof(tid), "lone-%d", i);
		assert_int_equal(send(f, billing_customer_id(loner), tid, start + 200 + i, 5, code),
			BILLING_USAGE_ACCEPTED);
		assert_string_equal(code, "no_subscription");
	}
	/* Period 1 is billed at its end plus the grace window. */
	f->w->now = end + GRACE;
	tbb_run(f->w);
	inv = latest(f, sub);
	snprintf(inv1, sizeof(inv1), "%s", billing_invoice_id(inv));
	first_total = billing_invoice_total(inv);
	assert_int_equal(first_total, by_hand(q1));
	billing_invoice_free(inv);
	/* Period 2: 7 events. */
	billing_subscription_free(s);
	s = tbb_sub_get(f->w, f->tenant, sub);
	assert_int_equal(billing_subscription_current_period_start(s), end);
	end2 = billing_subscription_current_period_end(s);
	for (i = 0; i < 7; i++) {
		snprintf(tid, sizeof(tid), "p2-%d", i);
		assert_int_equal(send(f, f->customer, tid, end + GRACE + i, 100, NULL),
			BILLING_USAGE_ACCEPTED);
		q2 += 100;
	}
	assert_int_equal(raw_events(f), 30);

	/* No retention (the default): a prune deletes nothing. */
	tb_assert_rc(billing_usage_retention_get(&days, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(days, 0);
	tb_assert_rc(billing_usage_prune(&deleted, &cutoff, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(deleted, 0);
	assert_int_equal(cutoff, 0);
	assert_int_equal(raw_events(f), 30);

	/* Bad retentions and roles change nothing. */
	tb_assert_rc(billing_usage_retention_set(f->w->ctx, &f->admin, -1), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "usageRetentionDays");
	tb_assert_rc(billing_usage_retention_set(f->w->ctx, &f->admin,
		BILLING_USAGE_RETENTION_MAX + 1), BILLING_EINVALID);
	tb_assert_rc(billing_usage_retention_set(f->w->ctx, &user, 1), BILLING_EFORBIDDEN);
	tb_assert_rc(billing_usage_prune(NULL, NULL, f->w->ctx, &user), BILLING_EFORBIDDEN);

	/* A day's retention, two days into period 2: now - 1 day is past
	 * period 2's start, which is not billed yet: the cutoff is its start.
	 * Period 1's events and the loner's go; period 2's stay. */
	tb_assert_rc(billing_usage_retention_set(f->w->ctx, &f->admin, 1), BILLING_OK);
	tb_assert_rc(billing_usage_retention_get(&days, f->w->ctx, &user), BILLING_OK);
	assert_int_equal(days, 1);
	f->w->now = end + 2 * 86400;
	tb_assert_rc(billing_usage_prune(&deleted, &cutoff, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(cutoff, end);
	assert_int_equal(deleted, 23);
	assert_int_equal(raw_events(f), 7);
	assert_int_equal(tb_raw_count(f->w->owner_url,
		"SELECT COUNT(*) FROM usage_events WHERE transaction_id LIKE 'p2-%'"), 7);

	/* The billed invoice and the stored aggregate do not move. */
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, inv1), BILLING_OK);
	assert_int_equal(billing_invoice_total(inv), first_total);
	billing_invoice_free(inv);
	tb_assert_rc(billing_usage_aggregate(&value, &events, f->w->ctx, &f->admin, f->meter,
		f->customer, start, end), BILLING_OK);
	assert_int_equal(value, q1);
	assert_int_equal(events, 20);
	/* A period never stored before the cutoff cannot be computed again. */
	tb_assert_rc(billing_usage_aggregate(&value, &events, f->w->ctx, &f->admin, f->meter,
		billing_customer_id(loner), start, end), BILLING_ECONFLICT);
	assert_string_equal(billing_error_last()->reason, "period_pruned");
	assert_string_equal(billing_error_last()->field, "periodStart");
	tb_assert_rc(billing_usage_aggregate(&value, &events, f->w->ctx, &f->admin, f->meter,
		billing_customer_id(loner), end - 10, f->w->now + 86400), BILLING_ECONFLICT);

	/* A late event into the pruned time is refused, whoever it is for. */
	assert_int_equal(send(f, billing_customer_id(loner), "lone-late", end - 1, 1, code),
		BILLING_USAGE_REFUSED);
	assert_string_equal(code, "period_pruned");
	assert_int_equal(send(f, f->customer, "p1-late", start + 5, 1, code),
		BILLING_USAGE_REFUSED);
	assert_string_equal(code, "period_pruned");
	assert_int_equal(send(f, billing_customer_id(loner), "lone-now", f->w->now, 1, code),
		BILLING_USAGE_ACCEPTED);
	/* Setting the grace window keeps the cutoff and the retention. */
	tb_assert_rc(billing_usage_grace_set(f->w->ctx, &f->admin, GRACE), BILLING_OK);
	assert_int_equal(send(f, f->customer, "p1-later", start + 6, 1, code),
		BILLING_USAGE_REFUSED);
	assert_string_equal(code, "period_pruned");
	tb_assert_rc(billing_usage_retention_get(&days, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(days, 1);

	/* Period 2, never pruned, is billed whole at its end. */
	f->w->now = end2 + GRACE;
	tbb_run(f->w);
	inv = latest(f, sub);
	assert_int_equal(billing_invoice_period_start(inv), end2);
	assert_int_equal(billing_invoice_total(inv), by_hand(q2));
	billing_invoice_free(inv);

	/* Now period 2 is billed: a prune takes it, and the cutoff never goes
	 * back when the retention grows. */
	f->w->now = end2 + 3 * 86400;
	tb_assert_rc(billing_usage_prune(&deleted, &cutoff, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(cutoff, end2);
	assert_int_equal(deleted, 8);
	tb_assert_rc(billing_usage_retention_set(f->w->ctx, &f->admin, 365), BILLING_OK);
	tb_assert_rc(billing_usage_prune(&deleted, &cutoff, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(cutoff, end2);
	assert_int_equal(deleted, 0);
	assert_int_equal(raw_events(f), 0);
	assert_true(tb_raw_count(f->w->owner_url,
		"SELECT COUNT(*) FROM events WHERE type = 'usage.pruned'") == 3);
	assert_check_clean(f);
	billing_customer_free(loner);
	billing_subscription_free(s);
}

/* The grace window and the retention are one row: setting either keeps
 * the other, and a refused value changes neither. */
static void settings__grace_and_retention_each_keep_the_other(void **state)
{
	fx *f = *state;
	int64_t grace = -1, days = -1;

	tb_assert_rc(billing_usage_retention_set(f->w->ctx, &f->admin, 30), BILLING_OK);
	tb_assert_rc(billing_usage_grace_set(f->w->ctx, &f->admin, 120), BILLING_OK);
	tb_assert_rc(billing_usage_retention_get(&days, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(days, 30);
	tb_assert_rc(billing_usage_retention_set(f->w->ctx, &f->admin, 7), BILLING_OK);
	tb_assert_rc(billing_usage_grace_get(&grace, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(grace, 120);
	tb_assert_rc(billing_usage_grace_set(f->w->ctx, &f->admin, -1), BILLING_EINVALID);
	tb_assert_field("usageGraceSeconds");
	tb_assert_rc(billing_usage_retention_set(f->w->ctx, &f->admin, -1), BILLING_EINVALID);
	tb_assert_field("usageRetentionDays");
	tb_assert_rc(billing_usage_grace_get(&grace, f->w->ctx, &f->admin), BILLING_OK);
	tb_assert_rc(billing_usage_retention_get(&days, f->w->ctx, &f->admin), BILLING_OK);
	assert_int_equal(grace, 120);
	assert_int_equal(days, 7);
	tb_assert_rc(billing_usage_retention_get(NULL, f->w->ctx, &f->admin), BILLING_EINVALID);
	tb_assert_field("days");
}

/* The answer of op with json (an error's rc, the field it names). */
static int json_try(fx *f, const char *op, const char *json, cJSON **answer)
{
	char *out = NULL;
	int rc = billing_call_json(&out, f->w->ctx, &f->admin, op, json, strlen(json), NULL);
	if (answer)
		*answer = rc == BILLING_OK ? cJSON_Parse(out) : NULL;
	billing_free(out);
	return rc;
}

/* The amountGte a subscription's JSON shows; -1 for billingThresholds null. */
static int64_t json_threshold(fx *f, const char *sub)
{
	char json[128];
	cJSON *a = NULL, *t;
	int64_t v;
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", sub);
	tb_assert_rc(json_try(f, "subscriptions.get", json, &a), BILLING_OK);
	t = cJSON_GetObjectItemCaseSensitive(a, "billingThresholds");
	assert_non_null(t);
	if (cJSON_IsNull(t)) {
		cJSON_Delete(a);
		return -1;
	}
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(t, "resetBillingCycleAnchor")));
	v = (int64_t)cJSON_GetObjectItemCaseSensitive(t, "amountGte")->valuedouble;
	cJSON_Delete(a);
	return v;
}

/* Spend thresholds (docs/usage.md): billingThresholds.amountGte is
 * validated, stored, shown and removed, in C and JSON; a reset of the
 * anchor is refused as unsupported; a refusal changes nothing. */
static void thresholds__the_field_is_validated_stored_shown_and_removed(void **state)
{
	fx *f = *state;
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription_update_params u = BILLING_SUBSCRIPTION_UPDATE_INIT;
	billing_subscription *s = NULL;
	billing_subscription_item_spec item = { f->metered, 0 };
	char sub[64], json[512];
	cJSON *a = NULL;
	static const struct { const char *body, *field; } bad[] = {
		{ "{\"amountGte\":0}", "billingThresholds.amountGte" },
		{ "{\"amountGte\":-5}", "billingThresholds.amountGte" },
		{ "{\"amountGte\":\"500\"}", "billingThresholds.amountGte" },
		{ "{\"amountGte\":1.5}", "billingThresholds.amountGte" },
		{ "{}", "billingThresholds.amountGte" },
		{ "{\"amountGte\":1000000000000000}", "billingThresholds.amountGte" },
		{ "{\"amountGte\":500,\"resetBillingCycleAnchor\":\"yes\"}",
			"billingThresholds.resetBillingCycleAnchor" },
		{ "{\"amountGte\":500,\"usageGte\":5}", "billingThresholds" },
		{ "[500]", "billingThresholds" },
	};
	size_t i;

	/* C: out of range, and the reset, refused naming the field. */
	p.customer_id = f->customer;
	p.items = &item;
	p.item_count = 1;
	p.threshold_amount_gte = -1;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("billingThresholds.amountGte");
	p.threshold_amount_gte = BILLING_AMOUNT_MAX + 1;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	tb_assert_field("billingThresholds.amountGte");
	p.threshold_amount_gte = 50000;
	p.threshold_reset_anchor = 1;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL),
		BILLING_EINVALID);
	assert_string_equal(billing_error_last()->reason, "unsupported");
	tb_assert_field("billingThresholds.resetBillingCycleAnchor");
	assert_null(s);
	assert_int_equal(invoice_count(f, NULL), 0);

	/* Stored and read back; shown in JSON. */
	p.threshold_reset_anchor = 0;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	assert_int_equal(billing_subscription_threshold_amount_gte(s), 50000);
	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	s = tbb_sub_get(f->w, f->tenant, sub);
	assert_int_equal(billing_subscription_threshold_amount_gte(s), 50000);
	billing_subscription_free(s);
	assert_int_equal(json_threshold(f, sub), 50000);

	/* Update (version 3): replaced, then removed with 0; version 2 may
	 * not name the field; a refusal keeps the threshold. */
	u.fields = BILLING_SUBSCRIPTION_THRESHOLDS;
	u.threshold_amount_gte = 70000;
	tb_assert_rc(billing_subscription_update(&s, f->w->ctx, &f->admin, sub, &u, NULL),
		BILLING_OK);
	assert_int_equal(billing_subscription_threshold_amount_gte(s), 70000);
	billing_subscription_free(s);
	s = NULL;
	u.threshold_reset_anchor = 1;
	tb_assert_rc(billing_subscription_update(&s, f->w->ctx, &f->admin, sub, &u, NULL),
		BILLING_EINVALID);
	assert_string_equal(billing_error_last()->reason, "unsupported");
	u.threshold_reset_anchor = 0;
	u.threshold_amount_gte = -3;
	tb_assert_rc(billing_subscription_update(&s, f->w->ctx, &f->admin, sub, &u, NULL),
		BILLING_EINVALID);
	tb_assert_field("billingThresholds.amountGte");
	u.version = 2;
	u.threshold_amount_gte = 0;
	tb_assert_rc(billing_subscription_update(&s, f->w->ctx, &f->admin, sub, &u, NULL),
		BILLING_EINVALID);
	tb_assert_field("version");
	assert_null(s);
	assert_int_equal(json_threshold(f, sub), 70000);
	u.version = BILLING_SUBSCRIPTION_UPDATE_VERSION;
	tb_assert_rc(billing_subscription_update(&s, f->w->ctx, &f->admin, sub, &u, NULL),
		BILLING_OK);
	assert_int_equal(billing_subscription_threshold_amount_gte(s), 0);
	billing_subscription_free(s);
	assert_int_equal(json_threshold(f, sub), -1);

	/* JSON: create and patch with the object, null removes it; every bad
	 * shape is a 400 naming its field, on a creation and an update. */
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"billingThresholds\":{\"amountGte\":"
		"999999999999999,\"resetBillingCycleAnchor\":false}}", sub);
	tb_assert_rc(json_try(f, "subscriptions.update", json, NULL), BILLING_OK);
	assert_int_equal(json_threshold(f, sub), BILLING_AMOUNT_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "{\"id\":\"%s\",\"billingThresholds\":%s}", sub,
			bad[i].body);
		tb_assert_rc(json_try(f, "subscriptions.update", json, NULL), BILLING_EINVALID);
		tb_assert_field(bad[i].field);
		snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"planId\":\"%s\","
			"\"billingThresholds\":%s}", f->customer, f->licensed, bad[i].body);
		tb_assert_rc(json_try(f, "subscriptions.create", json, NULL), BILLING_EINVALID);
		tb_assert_field(bad[i].field);
	}
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"billingThresholds\":{\"amountGte\":500,"
		"\"resetBillingCycleAnchor\":true}}", sub);
	tb_assert_rc(json_try(f, "subscriptions.update", json, NULL), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->reason, "unsupported");
	assert_int_equal(json_threshold(f, sub), BILLING_AMOUNT_MAX);
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"billingThresholds\":null}", sub);
	tb_assert_rc(json_try(f, "subscriptions.update", json, NULL), BILLING_OK);
	assert_int_equal(json_threshold(f, sub), -1);
	snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"billingThresholds\":{\"amountGte\":2500}}", f->customer, f->licensed);
	tb_assert_rc(json_try(f, "subscriptions.create", json, &a), BILLING_OK);
	snprintf(sub, sizeof(sub), "%s", cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring);
	cJSON_Delete(a);
	assert_int_equal(json_threshold(f, sub), 2500);
	snprintf(json, sizeof(json), "{\"customerId\":\"%s\",\"planId\":\"%s\","
		"\"billingThresholds\":null}", f->customer, f->licensed);
	tb_assert_rc(json_try(f, "subscriptions.create", json, &a), BILLING_OK);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "billingThresholds")));
	cJSON_Delete(a);
	assert_check_clean(f);
}

/* ------------------------------------------------------------ spend thresholds: billing early */

/* A subscription of customer to the graduated metered plan with a spend
 * threshold of amount; the clock a day into its period. */
static billing_subscription *threshold_sub(fx *f, const char *customer, const char *plan,
	int64_t amount)
{
	billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
	billing_subscription_item_spec item = { plan, 0 };
	billing_subscription *s = NULL;
	p.customer_id = customer;
	p.items = &item;
	p.item_count = 1;
	p.threshold_amount_gte = amount;
	tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &f->admin, &p, NULL), BILLING_OK);
	f->w->now = billing_subscription_current_period_start(s) + 86400;
	return s;
}

/* The subscription's invoices made by its spend threshold, in number order
 * (ids into ids, up to 8); how many. */
static size_t threshold_invoices(fx *f, const char *sub, char ids[8][64])
{
	tbb_invoice *all = NULL;
	size_t n = tbb_invoices(f->w, f->tenant, sub, &all), i, k = 0;
	for (i = 0; i < n; i++) {
		billing_invoice *inv = NULL;
		const char *why;
		tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, all[i].id), BILLING_OK);
		why = billing_invoice_billing_reason(inv);
		if (why) {
			assert_string_equal(why, "subscription_threshold");
			if (k < 8)
				snprintf(ids[k], 64, "%s", all[i].id);
			k++;
		}
		billing_invoice_free(inv);
	}
	free(all);
	return k;
}

static billing_invoice *invoice(fx *f, const char *id)
{
	billing_invoice *inv = NULL;
	tb_assert_rc(billing_invoice_get(&inv, f->w->ctx, &f->admin, id), BILLING_OK);
	return inv;
}

static int64_t billed_amount(fx *f, const char *sub, int64_t *amount)
{
	billing_usage_summary *u = NULL;
	int64_t b;
	tb_assert_rc(billing_usage_summary_get(&u, f->w->ctx, &f->admin, sub), BILLING_OK);
	assert_int_equal(billing_usage_summary_count(u), 1);
	b = billing_usage_summary_billed_amount(u, 0);
	if (amount)
		*amount = billing_usage_summary_amount(u, 0);
	billing_usage_summary_free(u);
	return b;
}

/* Graduated tiers, a threshold of 2000: 150 units (1750) bill nothing
 * early; 210 (2050) cross it: one invoice of the usage so far, exactly
 * the tiers' price, finalized, its events written; 100 more stay below
 * it; the period's end bills price(310) - price(210), and the period's
 * lines add up to an independent computation of the whole. */
static void thresholds__crossing_bills_early_and_the_period_end_the_rest(void **state)
{
	fx *f = *state;
	billing_subscription *s = threshold_sub(f, f->customer, f->metered, 2000);
	int64_t start = billing_subscription_current_period_start(s);
	int64_t end = billing_subscription_current_period_end(s), amount = 0, at;
	char sub[64], ids[8][64], json[128], *out = NULL;
	const billing_invoice_line *l;
	billing_invoice *inv;
	cJSON *a;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	assert_int_equal(send(f, f->customer, "t-1", 0, 150, NULL), BILLING_USAGE_ACCEPTED);
	assert_int_equal(threshold_invoices(f, sub, ids), 0);
	assert_int_equal(billed_amount(f, sub, &amount), 0);
	assert_int_equal(amount, by_hand(150));
	f->w->now += 3600;
	at = f->w->now;
	assert_int_equal(send(f, f->customer, "t-2", 0, 60, NULL), BILLING_USAGE_ACCEPTED);
	assert_int_equal(threshold_invoices(f, sub, ids), 1);
	inv = invoice(f, ids[0]);
	assert_int_equal(billing_invoice_status_of(inv), BILLING_INVOICE_PENDING);
	assert_non_null(billing_invoice_number(inv));
	assert_int_equal(billing_invoice_period_start(inv), start);
	assert_int_equal(billing_invoice_period_end(inv), at);
	assert_int_equal(billing_invoice_line_count(inv), 1);
	l = billing_invoice_line_at(inv, 0);
	assert_string_equal(l->plan_id, f->metered);
	assert_int_equal(l->quantity, 210);
	assert_int_equal(l->amount, by_hand(210));
	assert_int_equal(by_hand(210), 2050);
	assert_int_equal(billing_invoice_total(inv), 2050);
	billing_invoice_free(inv);
	assert_int_equal(billed_amount(f, sub, &amount), 2050);
	assert_int_equal(amount, 2050);
	/* JSON: billingReason on the invoice, billedAmount beside the total. */
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", ids[0]);
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "invoices.get", json,
		strlen(json), NULL), BILLING_OK);
	a = cJSON_Parse(out);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(a, "billingReason")->valuestring,
		"subscription_threshold");
	cJSON_Delete(a);
	billing_free(out);
	snprintf(json, sizeof(json), "{\"id\":\"%s\"}", sub);
	tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "subscriptions.usage", json,
		strlen(json), NULL), BILLING_OK);
	a = cJSON_Parse(out);
	{
		cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a, "data"), 0);
		assert_int_equal(cJSON_GetObjectItemCaseSensitive(m, "billedAmount")->valuedouble, 2050);
		assert_int_equal(cJSON_GetObjectItemCaseSensitive(m, "amount")->valuedouble, 2050);
	}
	cJSON_Delete(a);
	billing_free(out);
	{
		char sql[256];
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM events WHERE resource_id = '%s' AND "
			"type IN ('invoice.created', 'invoice.finalized')", ids[0]);
		assert_int_equal(tb_raw_count(f->w->owner_url, sql), 2);
	}

	/* Below the threshold again: nothing more early; the preview shows the
	 * rest the period's end bills. */
	assert_int_equal(send(f, f->customer, "t-3", 0, 100, NULL), BILLING_USAGE_ACCEPTED);
	assert_int_equal(threshold_invoices(f, sub, ids), 1);
	tb_assert_rc(billing_invoice_preview(&inv, f->w->ctx, &f->admin, sub), BILLING_OK);
	l = line_of(inv, f->metered);
	assert_non_null(l);
	assert_int_equal(l->quantity, 100);
	assert_int_equal(l->amount, by_hand(310) - by_hand(210));
	billing_invoice_free(inv);
	assert_check_clean(f);

	f->w->now = end + GRACE;
	tbb_run(f->w);
	inv = latest(f, sub);
	assert_null(billing_invoice_billing_reason(inv));
	l = line_of(inv, f->metered);
	assert_non_null(l);
	assert_int_equal(l->period_start, start);
	assert_int_equal(l->period_end, end);
	assert_int_equal(l->quantity, 100);
	assert_int_equal(l->amount, by_hand(310) - by_hand(210));
	assert_int_equal(l->amount, 500);
	/* The period's lines: 2050 + 500 = price(310) by hand. */
	assert_int_equal(2050 + l->amount, by_hand(310));
	billing_invoice_free(inv);
	assert_check_clean(f);
	/* The next period starts from nothing billed. */
	assert_int_equal(billed_amount(f, sub, NULL), 0);

	/* billing_check: a billed amount that is not its invoices' lines. */
	tb_raw_exec(f->w->owner_url, "UPDATE usage_billed SET amount = amount + 1");
	{
		int64_t problems = -1;
		char kind[64] = "";
		tb_assert_rc(billing_check(f->w->ctx, check_kind, kind, &problems), BILLING_OK);
		assert_int_equal(problems, 1);
		assert_string_equal(kind, "usage_billed_amount");
	}
}

/* Crossing twice in one period: two invoices, each at least the
 * threshold; the period's end bills what is left. */
static void thresholds__crossing_twice_makes_two_invoices(void **state)
{
	fx *f = *state;
	billing_subscription *s = threshold_sub(f, f->customer, f->metered, 1000);
	int64_t end = billing_subscription_current_period_end(s);
	char sub[64], ids[8][64];
	billing_invoice *inv;
	const billing_invoice_line *l;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	assert_int_equal(send(f, f->customer, "u-1", 0, 50, NULL), BILLING_USAGE_ACCEPTED);
	assert_int_equal(threshold_invoices(f, sub, ids), 1);     /* 1000 */
	inv = invoice(f, ids[0]);
	assert_int_equal(billing_invoice_total(inv), by_hand(50));
	billing_invoice_free(inv);
	assert_int_equal(send(f, f->customer, "u-2", 0, 150, NULL), BILLING_USAGE_ACCEPTED);
	/* 200: 2000 - 1000 = 1000 again. */
	assert_int_equal(threshold_invoices(f, sub, ids), 2);
	inv = invoice(f, ids[1]);
	l = billing_invoice_line_at(inv, 0);
	assert_int_equal(l->quantity, 150);
	assert_int_equal(l->amount, by_hand(200) - by_hand(50));
	assert_true(billing_invoice_total(inv) >= 1000);
	assert_null(l->tiers);
	billing_invoice_free(inv);
	assert_int_equal(send(f, f->customer, "u-3", 0, 150, NULL), BILLING_USAGE_ACCEPTED);
	/* 350: 2750 - 2000 = 750, below. */
	assert_int_equal(threshold_invoices(f, sub, ids), 2);
	f->w->now = end + GRACE;
	tbb_run(f->w);
	inv = latest(f, sub);
	l = line_of(inv, f->metered);
	assert_int_equal(l->quantity, 150);
	assert_int_equal(l->amount, by_hand(350) - by_hand(200));
	billing_invoice_free(inv);
	assert_check_clean(f);
}

/* A max meter whose aggregate falls after a threshold invoice (its
 * largest event voided): the period's end credits the difference, a
 * negative line; the invoice's negative total goes to the customer's
 * balance, as any negative total does. */
static void thresholds__a_falling_max_meter_is_credited_at_the_end(void **state)
{
	fx *f = *state;
	char meter[64], plan_id[64], json[256], sub[64], ids[8][64];
	billing_subscription *s;
	billing_invoice *inv;
	billing_plan *plan;
	const billing_invoice_line *l;
	billing_usage_result *r = NULL;
	const char *tid = "m-60";
	int64_t end;

	json_call(f, "meters.create", "{\"eventName\":\"seats\",\"aggregation\":\"max\","
		"\"valueProperty\":\"n\"}", meter, sizeof(meter));
	snprintf(json, sizeof(json), "\"usageType\":\"metered\",\"meterId\":\"%s\"", meter);
	plan = tb_plan(f->w, f->tenant, &(tb_plan_spec){ .product_id = f->product, .amount = 10,
		.price_json = json });
	snprintf(plan_id, sizeof(plan_id), "%s", billing_plan_id(plan));
	billing_plan_free(plan);
	s = threshold_sub(f, f->customer, plan_id, 500);
	end = billing_subscription_current_period_end(s);
	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	{
		billing_usage_event e[2] = { BILLING_USAGE_EVENT_INIT, BILLING_USAGE_EVENT_INIT };
		e[0].transaction_id = "m-40";
		e[0].event_name = "seats";
		e[0].customer_id = f->customer;
		e[0].properties_json = "{\"n\":40}";
		e[1] = e[0];
		e[1].transaction_id = tid;
		e[1].properties_json = "{\"n\":60}";
		tb_assert_rc(billing_usage_ingest(&r, f->w->ctx, &f->admin, e, 2), BILLING_OK);
		billing_usage_result_free(r);
	}
	assert_int_equal(threshold_invoices(f, sub, ids), 1);
	inv = invoice(f, ids[0]);
	assert_int_equal(billing_invoice_total(inv), 600);
	billing_invoice_free(inv);
	tb_assert_rc(billing_usage_void(&r, f->w->ctx, &f->admin, &tid, 1), BILLING_OK);
	billing_usage_result_free(r);
	f->w->now = end + GRACE;
	tbb_run(f->w);
	inv = latest(f, sub);
	l = line_of(inv, plan_id);
	assert_non_null(l);
	assert_int_equal(l->quantity, -20);
	assert_int_equal(l->amount, -200);
	assert_int_equal(billing_invoice_total(inv), -200);
	assert_int_equal(billing_invoice_amount_due(inv), 0);
	billing_invoice_free(inv);
	assert_check_clean(f);
}

/* A threshold invoice voided: its usage is not billed any more, so the
 * period's end bills all of it again. */
static void thresholds__a_voided_threshold_invoice_is_billed_at_the_end(void **state)
{
	fx *f = *state;
	billing_subscription *s = threshold_sub(f, f->customer, f->metered, 1000);
	int64_t end = billing_subscription_current_period_end(s);
	char sub[64], ids[8][64];
	billing_invoice *inv = NULL;
	const billing_invoice_line *l;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	assert_int_equal(send(f, f->customer, "v-1", 0, 120, NULL), BILLING_USAGE_ACCEPTED);
	assert_int_equal(threshold_invoices(f, sub, ids), 1);
	assert_int_equal(billed_amount(f, sub, NULL), by_hand(120));
	tb_assert_rc(billing_invoice_void(&inv, f->w->ctx, &f->admin, ids[0], NULL), BILLING_OK);
	billing_invoice_free(inv);
	assert_int_equal(billed_amount(f, sub, NULL), 0);
	assert_check_clean(f);
	f->w->now = end + GRACE;
	tbb_run(f->w);
	inv = latest(f, sub);
	l = line_of(inv, f->metered);
	assert_int_equal(l->quantity, 120);
	assert_int_equal(l->amount, by_hand(120));
	billing_invoice_free(inv);
	assert_check_clean(f);
}

struct ingester {
	billing_ctx *ctx;
	billing_principal who;
	const char *customer, *tid;
	pthread_barrier_t *start;
	int rc;
};

static void *ingest_at_once(void *arg)
{
	struct ingester *g = arg;
	billing_usage_event e = BILLING_USAGE_EVENT_INIT;
	billing_usage_result *r = NULL;
	e.transaction_id = g->tid;
	e.event_name = "api.call";
	e.customer_id = g->customer;
	e.properties_json = "{\"n\":10}";
	pthread_barrier_wait(g->start);
	g->rc = billing_usage_ingest(&r, g->ctx, &g->who, &e, 1);
	if (g->rc == BILLING_OK && billing_usage_result_status(r, 0) != BILLING_USAGE_ACCEPTED)
		g->rc = -100;
	billing_usage_result_free(r);
	return NULL;
}

/* Two ingests at once (two contexts, two threads), either of which crosses
 * the threshold: exactly one threshold invoice, each round. Another
 * tenant's subscription with a threshold is left alone. */
static void thresholds__two_ingests_at_once_make_one_invoice(void **state)
{
	fx *f = *state;
	billing_ctx *other = tb_world_open_again(f->w);
	const char *t2 = tb_tenant(f->w, "Other");
	billing_principal a2 = tb_admin(t2);
	billing_customer *c2 = tb_customer(f->w, t2, NULL);
	billing_subscription *s = threshold_sub(f, f->customer, f->metered, 1500);
	char sub[64], ids[8][64], tids[2][32];
	int round, i;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	{
		/* The other tenant: a metered subscription with a threshold of 1
		 * and no usage, so any evaluation of it would bill. */
		billing_subscription_params p = BILLING_SUBSCRIPTION_PARAMS_INIT;
		billing_subscription_item_spec item = { f->licensed, 1 };
		billing_plan *pl = tb_plan(f->w, t2, &(tb_plan_spec){ .amount = 700 });
		item.plan_id = billing_plan_id(pl);
		p.customer_id = billing_customer_id(c2);
		p.items = &item;
		p.item_count = 1;
		p.threshold_amount_gte = 1;
		tb_assert_rc(billing_subscription_create(&s, f->w->ctx, &a2, &p, NULL), BILLING_OK);
		billing_subscription_free(s);
		billing_plan_free(pl);
	}
	{
		tbb_invoice *all = NULL;
		assert_int_equal(tbb_invoices(f->w, t2, NULL, &all), 1);
		free(all);
	}
	/* 90 units (1400): two events of 10 at once reach 100 (1500). */
	assert_int_equal(send(f, f->customer, "c-0", 0, 90, NULL), BILLING_USAGE_ACCEPTED);
	for (round = 0; round < 3; round++) {
		pthread_barrier_t start;
		pthread_t th[2];
		struct ingester g[2];
		assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
		for (i = 0; i < 2; i++) {
			snprintf(tids[i], sizeof(tids[i]), "c-%d-%d", round, i);
			g[i].ctx = i ? other : f->w->ctx;
			g[i].who = f->admin;
			g[i].customer = f->customer;
			g[i].tid = tids[i];
			g[i].start = &start;
			g[i].rc = -99;
			assert_int_equal(pthread_create(&th[i], NULL, ingest_at_once, &g[i]), 0);
		}
		for (i = 0; i < 2; i++)
			assert_int_equal(pthread_join(th[i], NULL), 0);
		pthread_barrier_destroy(&start);
		tb_assert_rc(g[0].rc, BILLING_OK);
		tb_assert_rc(g[1].rc, BILLING_OK);
		/* Round 0 crosses (one invoice); later rounds add 200 units'
		 * worth of 1000 each, below the threshold. */
		assert_int_equal(threshold_invoices(f, sub, ids), 1);
	}
	{
		billing_invoice *inv = invoice(f, ids[0]);
		int64_t total = billing_invoice_total(inv);
		/* 100 or 110 units, as the two commits and evaluations fell. */
		assert_true(total == by_hand(100) || total == by_hand(110));
		billing_invoice_free(inv);
	}
	{
		tbb_invoice *all = NULL;
		assert_int_equal(tbb_invoices(f->w, t2, NULL, &all), 1);
		free(all);
	}
	billing_customer_free(c2);
	billing_ctx_close(other);
	assert_check_clean(f);
}

/* The evaluation after an ingest fails (an injected storage fault in its
 * transaction): the ingest still answers, its events are committed, no
 * invoice is made; the billing run evaluates it (the due work the batch
 * wrote) and bills it. */
static void thresholds__a_failed_evaluation_is_billed_by_the_run(void **state)
{
	fx *f = *state;
	billing_subscription *s = threshold_sub(f, f->customer, f->metered, 1000);
	char sub[64], ids[8][64];
	long n;
	bool hit = false;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	for (n = 1; n < 200 && !hit; n++) {
		billing_usage_event e = BILLING_USAGE_EVENT_INIT;
		billing_usage_result *r = NULL;
		long made;
		int rc;
		e.transaction_id = "f-1";
		e.event_name = "api.call";
		e.customer_id = f->customer;
		e.properties_json = "{\"n\":80}";
		billing__storage_fail_at(n);
		rc = billing_usage_ingest(&r, f->w->ctx, &f->admin, &e, 1);
		made = billing__storage_fail_at(0);
		if (rc != BILLING_OK) {
			/* The ingest's own statement: nothing stored. */
			assert_int_equal(tb_raw_count(f->w->owner_url,
				"SELECT COUNT(*) FROM usage_events"), 0);
			continue;
		}
		assert_true(made >= n);   /* the fault fell after the ingest's commit */
		assert_int_equal(billing_usage_result_status(r, 0), BILLING_USAGE_ACCEPTED);
		billing_usage_result_free(r);
		hit = true;
	}
	assert_true(hit);
	assert_int_equal(threshold_invoices(f, sub, ids), 0);
	assert_int_equal(tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM due_work WHERE "
		"kind = 'usage_threshold'"), 1);
	assert_check_clean(f);
	tbb_run(f->w);
	assert_int_equal(threshold_invoices(f, sub, ids), 1);
	{
		billing_invoice *inv = invoice(f, ids[0]);
		assert_int_equal(billing_invoice_total(inv), by_hand(80));
		billing_invoice_free(inv);
	}
	assert_int_equal(tb_raw_count(f->w->owner_url, "SELECT COUNT(*) FROM due_work WHERE "
		"kind = 'usage_threshold'"), 0);
	assert_check_clean(f);
}

struct period_runner {
	billing_ctx *ctx;
	int64_t now;
	pthread_barrier_t *start;
	int rc;
};

static void *period_run(void *arg)
{
	struct period_runner *r = arg;
	pthread_barrier_wait(r->start);
	r->rc = billing_run_due(r->ctx, r->now, NULL, NULL);
	return NULL;
}

/* An ingest that crosses the threshold racing the period-end run (two
 * contexts, two threads): whichever goes first, every unit accepted is
 * billed once: the period's usage lines add up to the tiers' price of
 * what was accepted, and billing_check agrees. */
static void thresholds__an_ingest_racing_the_run_bills_each_unit_once(void **state)
{
	fx *f = *state;
	billing_ctx *other = tb_world_open_again(f->w);
	/* 90 units cost 1400; the race's 10 more reach 1500. */
	billing_subscription *s = threshold_sub(f, f->customer, f->metered, 1500);
	int64_t start = billing_subscription_current_period_start(s);
	int64_t end = billing_subscription_current_period_end(s), units = 90, sum = 0;
	char sub[64];
	pthread_barrier_t bar;
	pthread_t th[2];
	struct ingester g;
	struct period_runner r;
	tbb_invoice *all = NULL;
	size_t n, i;

	snprintf(sub, sizeof(sub), "%s", billing_subscription_id(s));
	billing_subscription_free(s);
	assert_int_equal(send(f, f->customer, "r-0", 0, 90, NULL), BILLING_USAGE_ACCEPTED);
	/* The ingest's clock: the period's last minutes; the run's: past the
	 * grace window. */
	f->w->now = end - 60;
	assert_int_equal(pthread_barrier_init(&bar, NULL, 2), 0);
	g.ctx = f->w->ctx;
	g.who = f->admin;
	g.customer = f->customer;
	g.tid = "r-1";
	g.start = &bar;
	g.rc = -99;
	r.ctx = other;
	r.now = end + GRACE;
	r.start = &bar;
	r.rc = -99;
	assert_int_equal(pthread_create(&th[0], NULL, ingest_at_once, &g), 0);
	assert_int_equal(pthread_create(&th[1], NULL, period_run, &r), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&bar);
	tb_assert_rc(r.rc, BILLING_OK);
	/* Accepted (10 more units), or refused late when the run closed the
	 * period first. */
	if (g.rc == BILLING_OK)
		units += 10;
	else
		assert_int_equal(g.rc, -100);
	f->w->now = end + GRACE;
	tbb_run(f->w);
	n = tbb_invoices(f->w, f->tenant, sub, &all);
	for (i = 0; i < n; i++) {
		billing_invoice *inv = invoice(f, all[i].id);
		const billing_invoice_line *l = line_of(inv, f->metered);
		if (l && l->period_start == start)
			sum += l->amount;
		billing_invoice_free(inv);
	}
	free(all);
	assert_int_equal(sum, by_hand(units));
	billing_ctx_close(other);
	assert_check_clean(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(usage_billing__a_month_of_events_is_billed_in_arrears_by_the_tiers),
		T(usage_billing__a_metered_item_has_no_quantity),
		T(usage_billing__a_metered_items_quantity_is_null),
		T(usage_billing__metered_and_licensed_items_on_one_invoice),
		T(usage_billing__two_runs_at_once_bill_each_period_once),
		T(usage_billing__cancel_bills_the_usage_on_a_final_invoice),
		T(usage_billing__a_change_away_from_metered_bills_the_usage_so_far),
		T(usage_billing__changes_between_metered_plans),
		T(usage_billing__a_change_with_usage_past_a_quantity_changes_nothing),
		T(retention__prune_deletes_old_events_but_never_an_unbilled_period),
		T(usage_billing__a_shorter_closed_span_does_not_block_the_renewal),
		T(settings__grace_and_retention_each_keep_the_other),
		T(thresholds__the_field_is_validated_stored_shown_and_removed),
		T(thresholds__crossing_bills_early_and_the_period_end_the_rest),
		T(thresholds__crossing_twice_makes_two_invoices),
		T(thresholds__a_falling_max_meter_is_credited_at_the_end),
		T(thresholds__a_voided_threshold_invoice_is_billed_at_the_end),
		T(thresholds__two_ingests_at_once_make_one_invoice),
		T(thresholds__a_failed_evaluation_is_billed_by_the_run),
		T(thresholds__an_ingest_racing_the_run_bills_each_unit_once),
	};
	return cmocka_run_group_tests_name(tb_backend(), tests, NULL, NULL);
}
