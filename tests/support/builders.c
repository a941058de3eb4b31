/*
 * Test builders (see tb.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

static int64_t world_clock(void *payload)
{
	return ((tb_world *)payload)->now;
}

void tb__assert_rc(int rc, int want, const char *file, int line)
{
	if (rc != want) {
		const billing_error *e = billing_error_last();
		print_error("%s:%d: got %s (%d), want %s (%d): %s [field %s]\n", file, line,
			billing_error_name(rc), rc, billing_error_name(want), want, e->message,
			e->field ? e->field : "-");
		fail();
	}
}

void tb_assert_field(const char *field)
{
	const billing_error *e = billing_error_last();
	if (!e->field || strcmp(e->field, field) != 0) {
		print_error("want field %s, error names %s (%s)\n", field,
			e->field ? e->field : "none", e->message);
		fail();
	}
}

/* The world's logger: counts the billing run's batches that failed and
 * were done one by one (tb_world.batch_fallbacks) and the transactions
 * rolled back for a deadlock or a serialization failure
 * (tb_world.rolled_back); BILLING_TEST_LOG=1
 * also prints every line, for debugging. */
static void world_log(void *payload, billing_log_level level, const char *message)
{
	tb_world *w = payload;
	if (strncmp(message, "a batch of ", 11) == 0)
		__atomic_fetch_add(&w->batch_fallbacks, 1, __ATOMIC_RELAXED);
	if (strncmp(message, "transaction rolled back (", 25) == 0)
		__atomic_fetch_add(&w->rolled_back, 1, __ATOMIC_RELAXED);
	if (getenv("BILLING_TEST_LOG"))
		fprintf(stderr, "billing[%d]: %s\n", (int)level, message);
}

tb_world *tb_world_new_with_provider(billing_provider *provider)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	o.provider = provider;
	return tb_world_new_with(&o);
}

tb_world *tb_world_new_with(const billing_ctx_options *opts)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_provider *provider = opts ? opts->provider : NULL;
	tb_world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->now = 1767225600; /* 2026-01-01T00:00:00Z */
	tb_database_new_migrated(w->owner_url, sizeof(w->owner_url), w->dir, sizeof(w->dir));
	tb_runtime_url(w->url, sizeof(w->url), w->owner_url);
	if (opts)
		o = *opts;
	o.clock = world_clock;   /* the clock and the logger are the world's */
	o.clock_payload = w;
	o.logger = world_log;
	o.logger_payload = w;
	o.log_level = BILLING_LOG_DEBUG;
	/* The database is migrated already (by its owner): the world opens it
	 * as the runtime role at once, and billing_migrate finds nothing to do,
	 * as on a host that runs with the runtime role; the first open makes
	 * the cursor key (the runtime role may write billing_meta). */
	tb_assert_rc(billing_ctx_open_url(&w->ctx, w->url, &o), BILLING_OK);
	tb_assert_rc(billing_migrate(w->ctx), BILLING_OK);
	w->provider = provider;
	return w;
}

tb_world *tb_world_new(void)
{
	return tb_world_new_with(NULL);
}

billing_ctx *tb_world_open_again(tb_world *w)
{
	billing_ctx_options o = BILLING_CTX_OPTIONS_INIT;
	billing_ctx *ctx = NULL;
	o.clock = world_clock;
	o.clock_payload = w;
	tb_assert_rc(billing_ctx_open_url(&ctx, w->url, &o), BILLING_OK);
	return ctx;
}

void tb_world_free(tb_world *w)
{
	size_t i;
	if (!w)
		return;
	billing_ctx_close(w->ctx);
	tb_database_drop(w->owner_url);
	for (i = 0; i < w->nstrings; i++)
		free(w->strings[i]);
	tb_remove_dir(w->dir);
	free(w);
}

billing_principal tb_admin(const char *tenant_id)
{
	billing_principal p = { tenant_id, "usr_test_admin", BILLING_ROLE_ADMIN };
	return p;
}

billing_principal tb_user(const char *tenant_id)
{
	billing_principal p = { tenant_id, "usr_test_user", BILLING_ROLE_USER };
	return p;
}

billing_principal tb_platform(void)
{
	billing_principal p = { NULL, "usr_operator", BILLING_ROLE_PLATFORM };
	return p;
}

const char *tb_tenant(tb_world *w, const char *name)
{
	billing_tenant_params p = BILLING_TENANT_PARAMS_INIT;
	billing_principal op = tb_platform();
	billing_tenant *t = NULL;
	char *id;

	p.name = name ? name : "Tenant";
	tb_assert_rc(billing_tenant_create(&t, w->ctx, &op, &p, NULL), BILLING_OK);
	assert_true(w->nstrings < sizeof(w->strings) / sizeof(w->strings[0]));
	id = strdup(billing_tenant_id(t));
	assert_non_null(id);
	w->strings[w->nstrings++] = id;
	billing_tenant_free(t);
	return id;
}

billing_customer *tb_customer(tb_world *w, const char *tenant, const tb_customer_spec *spec)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_principal who = tb_admin(tenant);
	billing_customer *c = NULL;
	char name[64], email[64];
	unsigned int n = ++w->seq;

	snprintf(name, sizeof(name), "Customer %u", n);
	snprintf(email, sizeof(email), "customer%u@example.com", n);
	p.name = spec && spec->name ? spec->name : name;
	p.email = spec && spec->email ? spec->email : email;
	p.default_payment_method = spec ? spec->default_payment_method : NULL;
	tb_assert_rc(billing_customer_create(&c, w->ctx, &who, &p, NULL), BILLING_OK);
	return c;
}

billing_product *tb_product(tb_world *w, const char *tenant, const tb_product_spec *spec)
{
	billing_product_params p = BILLING_PRODUCT_PARAMS_INIT;
	billing_principal who = tb_admin(tenant);
	billing_product *prod = NULL;
	char name[64], sku[64];
	unsigned int n = ++w->seq;

	snprintf(name, sizeof(name), "Product %u", n);
	snprintf(sku, sizeof(sku), "SKU-%u", n);
	p.name = spec && spec->name ? spec->name : name;
	p.sku = spec && spec->sku ? spec->sku : sku;
	p.price_cents = spec && spec->price_cents ? spec->price_cents : 1000;
	p.currency = spec ? spec->currency : NULL;
	p.tax_rate_bp = spec ? spec->tax_rate_bp : 0;
	p.is_active = spec ? spec->is_active : BILLING_UNSET;
	tb_assert_rc(billing_product_create(&prod, w->ctx, &who, &p, NULL), BILLING_OK);
	return prod;
}

billing_plan *tb_plan(tb_world *w, const char *tenant, const tb_plan_spec *spec)
{
	billing_plan_params p = BILLING_PLAN_PARAMS_INIT;
	billing_principal who = tb_admin(tenant);
	billing_product *prod = NULL;
	billing_plan *plan = NULL;
	char name[64], code[64];
	unsigned int n;

	if (!spec || !spec->product_id)
		prod = tb_product(w, tenant, NULL);
	n = ++w->seq;
	snprintf(name, sizeof(name), "Plan %u", n);
	snprintf(code, sizeof(code), "PLAN-%u", n);
	p.product_id = prod ? billing_product_id(prod) : spec ? spec->product_id : NULL;
	p.code = spec && spec->code ? spec->code : code;
	p.name = spec && spec->name ? spec->name : name;
	p.amount = spec && spec->amount ? spec->amount : 2900;
	p.currency = spec ? spec->currency : NULL;
	p.interval = spec && spec->interval ? spec->interval : BILLING_MONTH;
	p.interval_count = spec ? spec->interval_count : 0;
	p.trial_days = spec ? spec->trial_days : 0;
	p.term_count = spec ? spec->term_count : 0;
	p.active = spec ? spec->active : BILLING_UNSET;
	if (spec && spec->price_json) {
		char in[4096], amount[32] = "", *out = NULL;
		const char *id;
		if (spec->amount)
			snprintf(amount, sizeof(amount), ",\"amount\":%lld", (long long)spec->amount);
		snprintf(in, sizeof(in), "{\"productId\":\"%s\",\"code\":\"%s\",\"name\":\"%s\","
			"\"interval\":\"%s\",\"trialDays\":%d%s,%s}", p.product_id, p.code, p.name,
			billing_interval_name(p.interval), (int)p.trial_days, amount, spec->price_json);
		tb_assert_rc(billing_call_json(&out, w->ctx, &who, "plans.create", in, strlen(in),
			NULL), BILLING_OK);
		/* {"id":"plan_...", ...}: the id is the first member */
		id = strstr(out, "\"id\":\"");
		assert_non_null(id);
		snprintf(code, sizeof(code), "%.*s", (int)strcspn(id + 6, "\""), id + 6);
		billing_free(out);
		tb_assert_rc(billing_plan_get(&plan, w->ctx, &who, code), BILLING_OK);
	} else {
		tb_assert_rc(billing_plan_create(&plan, w->ctx, &who, &p, NULL), BILLING_OK);
	}
	billing_product_free(prod);
	return plan;
}

int tb_fx_setup(void **state)
{
	tb_fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->w = tb_world_new();
	f->tenant = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->tenant);
	*state = f;
	return 0;
}

int tb_fx_teardown(void **state)
{
	tb_fx *f = *state;
	tb_world_free(f->w);
	free(f);
	return 0;
}
