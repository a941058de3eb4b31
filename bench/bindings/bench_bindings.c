/*
 * bench_bindings: the C side of bench/bindings/run.py. Point gets of one
 * customer, through billing_call_json (the call both bindings make) and
 * through the typed billing_customer_get, on the same database the Python
 * and Node sides read, linked against the same shared library they load.
 *
 *   bench_bindings setup URL                      -> prints "TENANT_ID CUSTOMER_ID"
 *   bench_bindings get URL TENANT CUSTOMER SECONDS -> prints "c_json RATE" and "c_typed RATE"
 *
 * setup migrates, creates a tenant (PLATFORM) and a customer. get warms up,
 * then alternates the two forms in blocks of 500 calls until each has run
 * SECONDS; RATE is calls per second of that form. The JSON form passes a
 * prebuilt input and frees the output without parsing it: what a C caller
 * of the JSON layer pays at least. Exits 1 if any call fails.
 */
#include <billing/billing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 500

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
	fprintf(stderr, "bench_bindings: %s: %s\n", what, billing_error_last()->message);
	return 1;
}

static int setup(const char *url)
{
	billing_principal platform = { NULL, "usr_bench", BILLING_ROLE_PLATFORM };
	billing_principal admin = { NULL, "usr_bench", BILLING_ROLE_ADMIN };
	billing_ctx *ctx = NULL;
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
	billing_tenant *t = NULL;
	billing_customer *c = NULL;

	if (billing_ctx_open_url(&ctx, url, NULL) < 0 || billing_migrate(ctx) < 0)
		return fail("open");
	tp.name = "Bench";
	if (billing_tenant_create(&t, ctx, &platform, &tp, NULL) < 0)
		return fail("tenant");
	admin.tenant_id = billing_tenant_id(t);
	cp.name = "Ada";
	cp.email = "ada@bench.test";
	if (billing_customer_create(&c, ctx, &admin, &cp, NULL) < 0)
		return fail("customer");
	printf("%s %s\n", billing_tenant_id(t), billing_customer_id(c));
	billing_customer_free(c);
	billing_tenant_free(t);
	billing_ctx_close(ctx);
	return 0;
}

static int json_block(billing_ctx *ctx, const billing_principal *who, const char *in, size_t len)
{
	int i;
	for (i = 0; i < BLOCK; i++) {
		char *out = NULL;
		int rc = billing_call_json(&out, ctx, who, "customers.get", in, len, NULL);
		billing_free(out);
		if (rc < 0)
			return fail("customers.get (json)");
	}
	return 0;
}

static int typed_block(billing_ctx *ctx, const billing_principal *who, const char *id)
{
	int i;
	for (i = 0; i < BLOCK; i++) {
		billing_customer *c = NULL;
		int rc = billing_customer_get(&c, ctx, who, id);
		billing_customer_free(c);
		if (rc < 0)
			return fail("billing_customer_get");
	}
	return 0;
}

static int get(const char *url, const char *tenant, const char *customer, double seconds)
{
	billing_principal who = { NULL, "usr_bench", BILLING_ROLE_ADMIN };
	billing_ctx *ctx = NULL;
	char in[128];
	size_t len;
	double t_json = 0, t_typed = 0, t0;
	long n_json = 0, n_typed = 0;
	int i;

	who.tenant_id = tenant;
	len = (size_t)snprintf(in, sizeof(in), "{\"id\":\"%s\"}", customer);
	if (billing_ctx_open_url(&ctx, url, NULL) < 0)
		return fail("open");
	for (i = 0; i < 4; i++) /* warm-up */
		if (json_block(ctx, &who, in, len) || typed_block(ctx, &who, customer))
			return 1;
	while (t_json < seconds || t_typed < seconds) {
		t0 = now_s();
		if (json_block(ctx, &who, in, len))
			return 1;
		t_json += now_s() - t0;
		n_json += BLOCK;
		t0 = now_s();
		if (typed_block(ctx, &who, customer))
			return 1;
		t_typed += now_s() - t0;
		n_typed += BLOCK;
	}
	printf("c_json %.1f\nc_typed %.1f\n", (double)n_json / t_json, (double)n_typed / t_typed);
	billing_ctx_close(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "setup") == 0)
		return setup(argv[2]);
	if (argc == 6 && strcmp(argv[1], "get") == 0)
		return get(argv[2], argv[3], argv[4], atof(argv[5]));
	fprintf(stderr, "usage: bench_bindings setup URL | get URL TENANT CUSTOMER SECONDS\n");
	return 2;
}
