/*
 * The outbox's cache of each tenant's enabled webhook endpoints (issue #19
 * item 2): an event queues one delivery per enabled endpoint that wants it
 * without reading the endpoints when nothing changed, and an endpoint
 * change made anywhere (this context, another context on the same
 * database: another process) is seen by the next write. Both backends.
 */
#include <stdio.h>
#include <string.h>

#include "tb.h"

typedef struct {
	tb_world *w;
	billing_ctx *other;        /* a second "process" on the same database */
	const char *t;
	billing_principal admin;
} fx;

static void fx_open(fx *f)
{
	memset(f, 0, sizeof(*f));
	f->w = tb_world_new();
	f->other = tb_world_open_again(f->w);
	f->t = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->t);
}

static void fx_close(fx *f)
{
	billing_ctx_close(f->other);
	tb_world_free(f->w);
}

static void endpoint_new(fx *f, billing_ctx *ctx, const char *type, char *id, size_t size)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	billing_webhook_endpoint *e = NULL;
	const char *types[1] = { type };
	p.url = "https://hooks.example.com/in";
	p.event_types = types;
	p.event_type_count = 1;
	tb_assert_rc(billing_webhook_endpoint_create(&e, ctx, &f->admin, &p, NULL), BILLING_OK);
	snprintf(id, size, "%s", billing_webhook_endpoint_id(e));
	billing_webhook_endpoint_free(e);
}

static void endpoint_set(fx *f, billing_ctx *ctx, const char *id, unsigned int fields,
	billing_tristate enabled, const char *type)
{
	billing_webhook_endpoint_params p = BILLING_WEBHOOK_ENDPOINT_PARAMS_INIT;
	billing_webhook_endpoint *e = NULL;
	const char *types[1] = { type };
	p.fields = fields;
	p.enabled = enabled;
	p.event_types = types;
	p.event_type_count = 1;
	tb_assert_rc(billing_webhook_endpoint_update(&e, ctx, &f->admin, id, &p, NULL), BILLING_OK);
	billing_webhook_endpoint_free(e);
}

/* A customer created through ctx; how many deliveries endpoint id has. */
static void customer_new(fx *f, billing_ctx *ctx)
{
	billing_customer_params p = BILLING_CUSTOMER_PARAMS_INIT;
	billing_customer *c = NULL;
	char email[64];
	snprintf(email, sizeof(email), "c%u@example.com", ++f->w->seq);
	p.name = "Cached";
	p.email = email;
	tb_assert_rc(billing_customer_create(&c, ctx, &f->admin, &p, NULL), BILLING_OK);
	billing_customer_free(c);
}

static int64_t deliveries(fx *f, const char *endpoint_id)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM webhook_deliveries d JOIN events e "
		"ON e.tenant_id = d.tenant_id AND e.id = d.event_id "
		"WHERE d.endpoint_id = '%s' AND e.type = 'customer.created'", endpoint_id);
	return tb_raw_count(f->w->url, sql);
}

/* Another context's endpoint changes reach this context's next write. */
static void endpoint_cache__another_process_changes_are_seen_by_the_next_write(void **state)
{
	fx f;
	char a[64], b[64];
	(void)state;
	fx_open(&f);

	customer_new(&f, f.w->ctx);          /* caches "no endpoints" */
	customer_new(&f, f.w->ctx);
	endpoint_new(&f, f.other, "customer.*", a, sizeof(a));
	customer_new(&f, f.w->ctx);
	assert_int_equal(deliveries(&f, a), 1);

	endpoint_set(&f, f.other, a, BILLING_WEBHOOK_ENABLED, BILLING_FALSE, NULL);
	customer_new(&f, f.w->ctx);
	assert_int_equal(deliveries(&f, a), 1);

	endpoint_set(&f, f.other, a, BILLING_WEBHOOK_ENABLED, BILLING_TRUE, NULL);
	customer_new(&f, f.w->ctx);
	assert_int_equal(deliveries(&f, a), 2);

	endpoint_set(&f, f.other, a, BILLING_WEBHOOK_EVENT_TYPES, BILLING_UNSET, "invoice.*");
	customer_new(&f, f.w->ctx);
	assert_int_equal(deliveries(&f, a), 2);

	endpoint_new(&f, f.other, "*", b, sizeof(b));
	customer_new(&f, f.w->ctx);
	assert_int_equal(deliveries(&f, b), 1);
	tb_assert_rc(billing_webhook_endpoint_delete(f.other, &f.admin, b, 0), BILLING_OK);
	customer_new(&f, f.w->ctx);
	assert_int_equal(deliveries(&f, b), 1);
	assert_int_equal(deliveries(&f, a), 2);
	fx_close(&f);
}

/* This context's own changes, and a tenant's changes leave another
 * tenant's cached endpoints alone. */
static void endpoint_cache__own_changes_and_other_tenants(void **state)
{
	fx f;
	char a[64], g[64];
	const char *globex;
	billing_principal keep;
	(void)state;
	fx_open(&f);
	globex = tb_tenant(f.w, "Globex");

	customer_new(&f, f.w->ctx);
	endpoint_new(&f, f.w->ctx, "customer.created", a, sizeof(a));
	customer_new(&f, f.w->ctx);
	customer_new(&f, f.w->ctx);
	assert_int_equal(deliveries(&f, a), 2);

	keep = f.admin;
	f.admin = tb_admin(globex);
	customer_new(&f, f.w->ctx);
	endpoint_new(&f, f.other, "*", g, sizeof(g));
	customer_new(&f, f.w->ctx);
	assert_int_equal(deliveries(&f, g), 1);
	f.admin = keep;
	customer_new(&f, f.w->ctx);
	assert_int_equal(deliveries(&f, a), 3);
	assert_int_equal(deliveries(&f, g), 1);

	tb_assert_rc(billing_webhook_endpoint_delete(f.w->ctx, &f.admin, a, 0), BILLING_OK);
	customer_new(&f, f.w->ctx);
	assert_int_equal(tb_raw_count(f.w->url, "SELECT count(*) FROM webhook_deliveries d "
		"JOIN events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id "
		"WHERE e.type = 'customer.created'"), 4);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(endpoint_cache__another_process_changes_are_seen_by_the_next_write),
		cmocka_unit_test(endpoint_cache__own_changes_and_other_tenants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
