/*
 * quickstart: the smallest complete use of libbilling.
 *
 * Opens (or creates) a SQLite file, brings its schema up to date, creates a
 * tenant, a product, a monthly plan and a customer, then lists the tenant's
 * customers. Every run makes a new tenant: run it twice on one file and the
 * second run migrates nothing and lists only its own customer (the first
 * run's tenant and its rows stay in the file, in a tenant of their own).
 *
 *   scripts/quickstart.sh [FILE]                       builds it, then runs it
 *   build/release/examples/quickstart [FILE]           after a release build
 *
 * FILE defaults to billing.db in the current directory.
 */
#include <stdio.h>

#include "billing/billing.h"

static int fail(const char *what)
{
	const billing_error *e = billing_error_last();
	fprintf(stderr, "%s: %s (%s%s%s)\n", what, e->message, e->name,
		e->field ? ", field " : "", e->field ? e->field : "");
	return 1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "billing.db";
	char url[1024];
	billing_ctx *ctx = NULL;
	billing_principal operator = { NULL, "quickstart", BILLING_ROLE_PLATFORM };
	billing_principal admin = { NULL, "quickstart", BILLING_ROLE_ADMIN };
	billing_tenant_params tp = BILLING_TENANT_PARAMS_INIT;
	billing_product_params pp = BILLING_PRODUCT_PARAMS_INIT;
	billing_plan_params lp = BILLING_PLAN_PARAMS_INIT;
	billing_customer_params cp = BILLING_CUSTOMER_PARAMS_INIT;
	billing_tenant *tenant = NULL;
	billing_product *product = NULL;
	billing_plan *plan = NULL;
	billing_customer *customer = NULL;
	billing_page *page = NULL;
	char money[64];
	size_t i;
	int status = 1;

	if (billing_version() != BILLING_VERSION_NUMBER) {
		fprintf(stderr, "header %s, library %s\n", BILLING_VERSION_STRING,
			billing_version_string());
		return 1;
	}
	snprintf(url, sizeof(url), "sqlite:%s", path);
	if (billing_ctx_open_url(&ctx, url, NULL) < 0)
		return fail("open");
	if (billing_migrate(ctx) < 0) {
		status = fail("migrate");
		goto out;
	}

	tp.name = "Acme Corp";
	if (billing_tenant_create(&tenant, ctx, &operator, &tp, NULL) < 0) {
		status = fail("tenant");
		goto out;
	}
	admin.tenant_id = billing_tenant_id(tenant);
	printf("tenant   %s  %s\n", billing_tenant_id(tenant), billing_tenant_name(tenant));

	pp.name = "Analytics";
	pp.sku = "ANALYTICS";
	pp.price_cents = 2900;
	pp.currency = "eur";          /* normalized to EUR */
	pp.tax_rate_bp = 2000;        /* 0.2 */
	if (billing_product_create(&product, ctx, &admin, &pp, NULL) < 0) {
		status = fail("product");
		goto out;
	}
	printf("product  %s  %s\n", billing_product_id(product), billing_product_name(product));

	lp.product_id = billing_product_id(product);
	lp.code = "ANALYTICS-MONTHLY";
	lp.name = "Analytics monthly";
	lp.amount = 2900;
	lp.interval = BILLING_MONTH;
	lp.trial_days = 14;
	if (billing_plan_create(&plan, ctx, &admin, &lp, NULL) < 0) {
		status = fail("plan");
		goto out;
	}
	billing_money price = { billing_plan_amount(plan), "" };
	snprintf(price.currency, sizeof(price.currency), "%s", billing_plan_currency(plan));
	billing_money_format(money, sizeof(money), &price);
	printf("plan     %s  %s, %s every %s\n", billing_plan_id(plan), billing_plan_code(plan),
		money, billing_interval_name(billing_plan_interval(plan)));

	cp.name = "Ada Lovelace";
	cp.email = "ada@example.com";
	if (billing_customer_create(&customer, ctx, &admin, &cp, NULL) < 0) {
		status = fail("customer");
		goto out;
	}
	printf("customer %s  %s <%s>\n", billing_customer_id(customer),
		billing_customer_name(customer), billing_customer_email(customer));

	if (billing_customer_list(&page, ctx, &admin, NULL) < 0) {
		status = fail("list");
		goto out;
	}
	printf("the tenant has %zu customer(s):\n", billing_page_count(page));
	for (i = 0; i < billing_page_count(page); i++) {
		const billing_customer *c = billing_page_customer(page, i);
		printf("  %s  %s\n", billing_customer_id(c), billing_customer_email(c));
	}
	status = 0;
out:
	billing_page_free(page);
	billing_customer_free(customer);
	billing_plan_free(plan);
	billing_product_free(product);
	billing_tenant_free(tenant);
	billing_ctx_close(ctx);
	return status;
}
