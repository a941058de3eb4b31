/*
 * Unit tests for plan.c: validation (exact code and field), the currency
 * default from the product, fixed fields on update, partial updates with
 * versions, soft delete (not found everywhere, code stays reserved), and
 * price models (core/price.h) through the JSON layer: every existing plan
 * is perUnit and licensed, tiered and package plans are kept, a bad model
 * is refused naming its field and writes nothing; and through the C params
 * (version 3): a plan made from C equals the one made from JSON, bad
 * models from C are refused with JSON's errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cJSON.h>

#include "billing/json.h"
#include "core/alloc.h"
#include "tb.h"

typedef struct {
	tb_world *w;
	const char *tenant;
	billing_principal admin;
	billing_product *product;   /* EUR */
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->w = tb_world_new();
	f->tenant = tb_tenant(f->w, "Acme");
	f->admin = tb_admin(f->tenant);
	f->product = tb_product(f->w, f->tenant, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	billing_product_free(f->product);
	tb_world_free(f->w);
	free(f);
	return 0;
}

static int64_t plan_count(fx *f)
{
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	int64_t total;
	lp.list.page = 1;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	total = billing_page_total(page);
	billing_page_free(page);
	return total;
}

static billing_plan_params valid_params(fx *f)
{
	billing_plan_params p = BILLING_PLAN_PARAMS_INIT;
	p.product_id = billing_product_id(f->product);
	p.code = "PRO";
	p.name = "Pro";
	p.amount = 2900;
	p.interval = BILLING_MONTH;
	return p;
}

static void create_refused(fx *f, const billing_plan_params *p, int want, const char *field)
{
	billing_plan *plan = NULL;
	int64_t before = plan_count(f);
	tb_assert_rc(billing_plan_create(&plan, f->w->ctx, &f->admin, p, NULL), want);
	if (field)
		tb_assert_field(field);
	assert_null(plan);
	assert_int_equal(plan_count(f), before);
}

static billing_plan *create_ok(fx *f, const billing_plan_params *p)
{
	billing_plan *plan = NULL;
	tb_assert_rc(billing_plan_create(&plan, f->w->ctx, &f->admin, p, NULL), BILLING_OK);
	assert_non_null(plan);
	return plan;
}

static billing_plan *get(fx *f, const char *id)
{
	billing_plan *p = NULL;
	tb_assert_rc(billing_plan_get(&p, f->w->ctx, &f->admin, id), BILLING_OK);
	return p;
}

static char *repeat(const char *unit, size_t n)
{
	size_t ul = strlen(unit), i;
	char *s = malloc(ul * n + 1);
	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

/* ------------------------------------------------------------ create */

static void plan_create__rejects_null_arguments_and_version_0(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = NULL;
	tb_assert_rc(billing_plan_create(NULL, f->w->ctx, &f->admin, &p, NULL), BILLING_EINVALID);
	tb_assert_field("out");
	tb_assert_rc(billing_plan_create(&plan, NULL, &f->admin, &p, NULL), BILLING_EINVALID);
	tb_assert_field("ctx");
	tb_assert_rc(billing_plan_create(&plan, f->w->ctx, NULL, &p, NULL), BILLING_EINVALID);
	tb_assert_field("principal");
	tb_assert_rc(billing_plan_create(&plan, f->w->ctx, &f->admin, NULL, NULL), BILLING_EINVALID);
	tb_assert_field("params");
	p.version = 0;
	create_refused(f, &p, BILLING_EINVALID, "version");
	assert_int_equal(plan_count(f), 0);
}

static void plan_create__applies_defaults(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = create_ok(f, &p), *got = get(f, billing_plan_id(plan));
	assert_string_equal(billing_plan_code(got), "PRO");
	assert_string_equal(billing_plan_product_id(got), billing_product_id(f->product));
	assert_string_equal(billing_plan_currency(got), "EUR");
	assert_int_equal(billing_plan_interval(got), BILLING_MONTH);
	assert_int_equal(billing_plan_interval_count(got), 1);
	assert_int_equal(billing_plan_trial_days(got), 0);
	assert_int_equal(billing_plan_term_count(got), 0);
	assert_int_equal(billing_plan_active(got), 1);
	assert_null(billing_plan_description(got));
	assert_int_equal(billing_plan_version(got), 1);
	assert_int_equal(strncmp(billing_plan_id(got), "plan_", 5), 0);
	billing_plan_free(plan);
	billing_plan_free(got);
}

static void plan_create__currency_defaults_to_the_products(void **state)
{
	fx *f = *state;
	billing_product *usd = tb_product(f->w, f->tenant, &(tb_product_spec){ .currency = "usd" });
	billing_plan_params p = valid_params(f);
	billing_plan *plan, *got;
	p.product_id = billing_product_id(usd);
	plan = create_ok(f, &p);
	assert_string_equal(billing_plan_currency(plan), "USD");
	got = get(f, billing_plan_id(plan));
	assert_string_equal(billing_plan_currency(got), "USD");
	billing_plan_free(plan);
	billing_plan_free(got);
	/* an explicit one wins, upper-cased */
	p.code = "PRO-GBP";
	p.currency = "gbp";
	plan = create_ok(f, &p);
	assert_string_equal(billing_plan_currency(plan), "GBP");
	billing_plan_free(plan);
	p.code = "PRO-ABC";
	p.currency = "ABC";
	create_refused(f, &p, BILLING_EINVALID, "currency");
	billing_product_free(usd);
}

static void plan_create__enforces_code_pattern(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	char *c64 = repeat("A", 64), *c65 = repeat("A", 65);
	const char *bad[] = { NULL, "", "AB", "pro", "PRO PLAN", "PRO.1", "PRO\xc3\x89", "PR\t" };
	billing_plan *plan;
	size_t i;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.code = bad[i];
		create_refused(f, &p, BILLING_EINVALID, "code");
	}
	p.code = c65;
	create_refused(f, &p, BILLING_EINVALID, "code");
	p.code = c64;
	plan = create_ok(f, &p);
	billing_plan_free(plan);
	p.code = "A_1";
	plan = create_ok(f, &p);
	billing_plan_free(plan);
	free(c64);
	free(c65);
}

static void plan_create__enforces_name_length(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	char *n100 = repeat("\xc3\xa9", 100), *n101 = repeat("n", 101);
	billing_plan *plan;
	p.name = NULL;
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "  ";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = " P "; /* one character after trimming */
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = n101;
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = "Pr\xc2\x85o";
	create_refused(f, &p, BILLING_EINVALID, "name");
	p.name = n100;
	plan = create_ok(f, &p);
	billing_plan_free(plan);
	free(n100);
	free(n101);
}

static void plan_create__enforces_amount_range(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan;
	p.amount = 0;
	create_refused(f, &p, BILLING_EINVALID, "amount");
	p.amount = -100;
	create_refused(f, &p, BILLING_EINVALID, "amount");
	p.amount = BILLING_AMOUNT_MAX + 1;
	create_refused(f, &p, BILLING_EINVALID, "amount");
	p.amount = BILLING_AMOUNT_MAX;
	plan = create_ok(f, &p);
	billing_plan_free(plan);
	p.code = "ONE";
	p.amount = 1;
	plan = create_ok(f, &p);
	billing_plan_free(plan);
}

static void plan_create__enforces_interval_and_count(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	struct { billing_interval iv; int32_t max; } ok[] = {
		{ BILLING_DAY, 1095 }, { BILLING_WEEK, 156 }, { BILLING_MONTH, 36 }, { BILLING_YEAR, 3 }
	};
	char code[16];
	billing_plan *plan;
	size_t i;

	p.interval = BILLING_INTERVAL_NONE;
	create_refused(f, &p, BILLING_EINVALID, "interval");
	p.interval = (billing_interval)9;
	create_refused(f, &p, BILLING_EINVALID, "interval");
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		p.interval = ok[i].iv;
		p.interval_count = ok[i].max + 1;
		create_refused(f, &p, BILLING_EINVALID, "intervalCount");
		p.interval_count = -1;
		create_refused(f, &p, BILLING_EINVALID, "intervalCount");
		snprintf(code, sizeof(code), "MAX-%zu", i);
		p.code = code;
		p.interval_count = ok[i].max;
		plan = create_ok(f, &p);
		assert_int_equal(billing_plan_interval(plan), ok[i].iv);
		assert_int_equal(billing_plan_interval_count(plan), ok[i].max);
		billing_plan_free(plan);
	}
}

static void plan_create__enforces_trial_days_and_term_count(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan;
	p.trial_days = 731;
	create_refused(f, &p, BILLING_EINVALID, "trialDays");
	p.trial_days = -1;
	create_refused(f, &p, BILLING_EINVALID, "trialDays");
	p.trial_days = 730;
	p.term_count = 1001;
	create_refused(f, &p, BILLING_EINVALID, "termCount");
	p.term_count = -1;
	create_refused(f, &p, BILLING_EINVALID, "termCount");
	p.term_count = 1000;
	plan = create_ok(f, &p);
	assert_int_equal(billing_plan_trial_days(plan), 730);
	assert_int_equal(billing_plan_term_count(plan), 1000);
	billing_plan_free(plan);
}

static void plan_create__rejects_product_missing_in_tenant(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_product *theirs = tb_product(f->w, tb_tenant(f->w, "Other"), NULL);
	const char *bad[] = { "prod_nope", "not an id", "cus_01abc" };
	size_t i;
	p.product_id = NULL;
	create_refused(f, &p, BILLING_EINVALID, "productId");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.product_id = bad[i];
		create_refused(f, &p, BILLING_EINVALID, "productId");
	}
	p.product_id = billing_product_id(theirs);
	create_refused(f, &p, BILLING_EINVALID, "productId");
	{
		billing_plan *plan = NULL;
		tb_assert_rc(billing_plan_create(&plan, f->w->ctx, &f->admin, &p, NULL),
			BILLING_EINVALID);
		tb_assert_field("productId");
		assert_string_equal(billing_error_last()->reason, "resource_missing");
		p.product_id = "prod_nope";
		tb_assert_rc(billing_plan_create(&plan, f->w->ctx, &f->admin, &p, NULL),
			BILLING_EINVALID);
		assert_string_equal(billing_error_last()->reason, "resource_missing");
		assert_null(plan);
	}
	billing_product_free(theirs);
}

static void plan_create__rejects_code_taken(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = create_ok(f, &p);
	p.name = "Pro again";
	create_refused(f, &p, BILLING_EEXISTS, "code");
	billing_plan_free(plan);
}

static void plan_create__keeps_null_description_null(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	char *d2001 = repeat("d", 2001);
	billing_plan *a, *b, *ga, *gb;
	a = create_ok(f, &p);
	p.code = "PRO-2";
	p.description = "";
	b = create_ok(f, &p);
	ga = get(f, billing_plan_id(a));
	gb = get(f, billing_plan_id(b));
	assert_null(billing_plan_description(ga));
	assert_non_null(billing_plan_description(gb));
	assert_string_equal(billing_plan_description(gb), "");
	p.code = "PRO-3";
	p.description = d2001;
	create_refused(f, &p, BILLING_EINVALID, "description");
	billing_plan_free(a);
	billing_plan_free(b);
	billing_plan_free(ga);
	billing_plan_free(gb);
	free(d2001);
}

/* ------------------------------------------------------------ update */

static void plan_update__changes_only_fields_given_and_bumps_version(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan, *res = NULL, *got;
	p.description = "Monthly";
	p.trial_days = 14;
	plan = create_ok(f, &p);
	f->w->now += 10;
	memset(&p, 0, sizeof(p));
	p.version = BILLING_PLAN_PARAMS_VERSION;
	p.fields = BILLING_PLAN_AMOUNT;
	p.amount = 3900;
	p.name = "ignored";
	p.trial_days = 99;
	tb_assert_rc(billing_plan_update(&res, f->w->ctx, &f->admin, billing_plan_id(plan), &p, NULL),
		BILLING_OK);
	assert_int_equal(billing_plan_amount(res), 3900);
	assert_int_equal(billing_plan_version(res), 2);
	got = get(f, billing_plan_id(plan));
	assert_int_equal(billing_plan_amount(got), 3900);
	assert_string_equal(billing_plan_name(got), "Pro");
	assert_string_equal(billing_plan_description(got), "Monthly");
	assert_int_equal(billing_plan_trial_days(got), 14);
	assert_int_equal(billing_plan_active(got), 1);
	assert_int_equal(billing_plan_version(got), 2);
	assert_int_equal(billing_plan_updated_at(got), f->w->now);
	billing_plan_free(plan);
	billing_plan_free(res);
	billing_plan_free(got);
}

static void plan_update__changes_mutable_fields(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_metadata_entry md[1] = { { "tier", "2" } };
	billing_plan *plan = create_ok(f, &p), *res = NULL;
	memset(&p, 0, sizeof(p));
	p.version = BILLING_PLAN_PARAMS_VERSION;
	p.fields = BILLING_PLAN_NAME | BILLING_PLAN_DESCRIPTION | BILLING_PLAN_TRIAL_DAYS |
		BILLING_PLAN_ACTIVE | BILLING_PLAN_METADATA;
	p.name = "  Pro Plus ";
	p.description = "New";
	p.trial_days = 7;
	p.active = BILLING_FALSE;
	p.metadata = md;
	p.metadata_count = 1;
	tb_assert_rc(billing_plan_update(&res, f->w->ctx, &f->admin, billing_plan_id(plan), &p, NULL),
		BILLING_OK);
	assert_string_equal(billing_plan_name(res), "Pro Plus");
	assert_string_equal(billing_plan_description(res), "New");
	assert_int_equal(billing_plan_trial_days(res), 7);
	assert_int_equal(billing_plan_active(res), 0);
	assert_string_equal(billing_plan_metadata_get(res, "tier"), "2");
	assert_string_equal(billing_plan_code(res), "PRO");
	assert_int_equal(billing_plan_amount(res), 2900);
	billing_plan_free(plan);
	billing_plan_free(res);
}

static void plan_update__rejects_fixed_fields_naming_them(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = create_ok(f, &p), *res = NULL, *got;
	struct { unsigned int bit; const char *field; } fixed[] = {
		{ BILLING_PLAN_PRODUCT, "productId" },
		{ BILLING_PLAN_CODE, "code" },
		{ BILLING_PLAN_CURRENCY, "currency" },
		{ BILLING_PLAN_INTERVAL, "interval" },
		{ BILLING_PLAN_INTERVAL_COUNT, "intervalCount" },
		{ BILLING_PLAN_TERM_COUNT, "termCount" },
	};
	size_t i;
	p.code = "OTHER";
	p.currency = "USD";
	p.interval = BILLING_YEAR;
	p.interval_count = 2;
	p.term_count = 3;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		p.fields = fixed[i].bit | BILLING_PLAN_AMOUNT;
		p.amount = 5000;
		tb_assert_rc(billing_plan_update(&res, f->w->ctx, &f->admin, billing_plan_id(plan), &p,
			NULL), BILLING_EINVALID);
		tb_assert_field(fixed[i].field);
		assert_null(res);
	}
	got = get(f, billing_plan_id(plan));
	assert_int_equal(billing_plan_version(got), 1);
	assert_int_equal(billing_plan_amount(got), 2900);
	assert_string_equal(billing_plan_code(got), "PRO");
	assert_string_equal(billing_plan_currency(got), "EUR");
	assert_int_equal(billing_plan_interval(got), BILLING_MONTH);
	billing_plan_free(got);
	billing_plan_free(plan);
}

static void plan_update__rejects_invalid_values_and_changes_nothing(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = create_ok(f, &p), *res = NULL, *got;
	struct { unsigned int bit; const char *field; } cases[] = {
		{ BILLING_PLAN_NAME, "name" },
		{ BILLING_PLAN_AMOUNT, "amount" },
		{ BILLING_PLAN_TRIAL_DAYS, "trialDays" },
		{ BILLING_PLAN_ACTIVE, "active" },
		{ 0, "fields" },
	};
	size_t i;
	memset(&p, 0, sizeof(p));
	p.version = BILLING_PLAN_PARAMS_VERSION;
	p.name = "X";
	p.amount = 0;
	p.trial_days = 731;
	p.active = BILLING_UNSET;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p.fields = cases[i].bit;
		tb_assert_rc(billing_plan_update(&res, f->w->ctx, &f->admin, billing_plan_id(plan), &p,
			NULL), BILLING_EINVALID);
		tb_assert_field(cases[i].field);
		assert_null(res);
	}
	got = get(f, billing_plan_id(plan));
	assert_int_equal(billing_plan_version(got), 1);
	assert_string_equal(billing_plan_name(got), "Pro");
	billing_plan_free(got);
	billing_plan_free(plan);
}

static void plan_update__stale_expected_version_changes_nothing(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = create_ok(f, &p), *res = NULL, *got;
	memset(&p, 0, sizeof(p));
	p.version = BILLING_PLAN_PARAMS_VERSION;
	p.fields = BILLING_PLAN_AMOUNT;
	p.amount = 1;
	p.expected_version = 5;
	tb_assert_rc(billing_plan_update(&res, f->w->ctx, &f->admin, billing_plan_id(plan), &p, NULL),
		BILLING_ESTALE);
	assert_null(res);
	got = get(f, billing_plan_id(plan));
	assert_int_equal(billing_plan_amount(got), 2900);
	assert_int_equal(billing_plan_version(got), 1);
	billing_plan_free(got);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, billing_plan_id(plan), 5),
		BILLING_ESTALE);
	got = get(f, billing_plan_id(plan));
	billing_plan_free(got);
	billing_plan_free(plan);
}

/* ------------------------------------------------------------ delete */

static void plan_delete__is_soft_and_keeps_the_code_reserved(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = create_ok(f, &p), *other, *res = NULL, *got = NULL;
	billing_plan_params up = BILLING_PLAN_PARAMS_INIT;
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_page *page = NULL;
	const char *id = billing_plan_id(plan);

	p.code = "BASIC";
	other = create_ok(f, &p);
	assert_int_equal(plan_count(f), 2);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, id, 1), BILLING_OK);

	tb_assert_rc(billing_plan_get(&got, f->w->ctx, &f->admin, id), BILLING_ENOTFOUND);
	assert_null(got);
	assert_int_equal(plan_count(f), 1);
	lp.active = BILLING_FALSE; /* not even among inactive plans */
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, &lp), BILLING_OK);
	assert_int_equal(billing_page_count(page), 0);
	billing_page_free(page);

	p.code = "PRO";
	create_refused(f, &p, BILLING_EEXISTS, "code");

	up.fields = BILLING_PLAN_NAME;
	up.name = "Revived";
	tb_assert_rc(billing_plan_update(&res, f->w->ctx, &f->admin, id, &up, NULL),
		BILLING_ENOTFOUND);
	assert_null(res);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, id, 0), BILLING_ENOTFOUND);
	got = get(f, billing_plan_id(other));
	billing_plan_free(got);
	billing_plan_free(other);
	billing_plan_free(plan);
}

static void plan_delete__forbidden_for_user(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = create_ok(f, &p), *got;
	billing_principal user = tb_user(f->tenant);
	tb_assert_rc(billing_plan_delete(f->w->ctx, &user, billing_plan_id(plan), 0),
		BILLING_EFORBIDDEN);
	got = get(f, billing_plan_id(plan));
	billing_plan_free(got);
	/* USER may read */
	got = NULL;
	tb_assert_rc(billing_plan_get(&got, f->w->ctx, &user, billing_plan_id(plan)), BILLING_OK);
	billing_plan_free(got);
	billing_plan_free(plan);
}

/* ------------------------------------------------------------ list */

static size_t list_count(fx *f, const billing_plan_list_params *lp)
{
	billing_page *page = NULL;
	size_t n;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, lp), BILLING_OK);
	n = billing_page_count(page);
	billing_page_free(page);
	return n;
}

static void list_refused(fx *f, const billing_plan_list_params *lp, const char *field,
	const char *reason)
{
	billing_page *page = NULL;
	tb_assert_rc(billing_plan_list(&page, f->w->ctx, &f->admin, lp), BILLING_EINVALID);
	tb_assert_field(field);
	if (reason)
		assert_string_equal(billing_error_last()->reason, reason);
	assert_null(page);
}

static void plan_list__filters_by_currency_in_any_case_and_refuses_a_bad_code(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_plan *a = create_ok(f, &p), *b;
	p.code = "PRO-USD";
	p.currency = "usd";
	b = create_ok(f, &p);
	lp.currency = "usd";
	assert_int_equal(list_count(f, &lp), 1);
	lp.currency = "EUR";
	assert_int_equal(list_count(f, &lp), 1);
	lp.currency = "GBP";
	assert_int_equal(list_count(f, &lp), 0);
	lp.currency = "EURO";
	list_refused(f, &lp, "currency", NULL);
	lp.currency = NULL;
	lp.active = (billing_tristate)7;
	list_refused(f, &lp, "active", NULL);
	billing_plan_free(a);
	billing_plan_free(b);
}

static void plan_list__a_product_filter_names_a_product_of_the_tenant(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan_list_params lp = BILLING_PLAN_LIST_PARAMS_INIT;
	billing_product *other = tb_product(f->w, f->tenant, NULL);
	billing_product *theirs = tb_product(f->w, tb_tenant(f->w, "Other"), NULL);
	const char *missing[] = { "prod_nope", "not an id", "cus_01abc",
		billing_product_id(theirs) };
	billing_plan *a = create_ok(f, &p);
	size_t i;

	lp.product_id = billing_product_id(f->product);
	assert_int_equal(list_count(f, &lp), 1);
	lp.product_id = billing_product_id(other);
	assert_int_equal(list_count(f, &lp), 0);
	for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		lp.product_id = missing[i];
		list_refused(f, &lp, "productId", "resource_missing");
	}
	billing_plan_free(a);
	billing_product_free(other);
	billing_product_free(theirs);
}

/* A deleted plan's row stays, marked deleted and inactive. */
static void plan_delete__leaves_the_row_deleted_and_inactive(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = create_ok(f, &p);
	char sql[256];

	tb_assert_rc(billing_plan_delete(f->w->ctx, &f->admin, billing_plan_id(plan), 0),
		BILLING_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM plans WHERE id = '%s' AND active = 0 "
		"AND deleted_at IS NOT NULL AND version = 2", billing_plan_id(plan));
	assert_int_equal(tb_raw_count(f->w->url, sql), 1);
	billing_plan_free(plan);
}


/* ------------------------------------------------------------ price models */

/* plans.create through the JSON layer; *out: the answer (new), or NULL. */
static int json_create(fx *f, const char *fields, cJSON **out)
{
	static int n;
	char in[4096], *text = NULL;
	int rc;

	snprintf(in, sizeof(in), "{\"productId\":\"%s\",\"code\":\"P%03d\",\"name\":\"Tiered\","
		"\"interval\":\"MONTH\"%s%s}", billing_product_id(f->product), ++n,
		*fields ? "," : "", fields);
	rc = billing_call_json(&text, f->w->ctx, &f->admin, "plans.create", in, strlen(in), NULL);
	assert_non_null(text);
	if (out)
		assert_non_null(*out = cJSON_Parse(text));
	billing_free(text);
	return rc;
}

/* Whether the thread's error names field among its field errors. */
static void assert_names(const char *field)
{
	const billing_error *e = billing_error_last();
	size_t i;
	for (i = 0; i < e->field_error_count; i++)
		if (strcmp(e->field_errors[i].field, field) == 0)
			return;
	if (e->field && strcmp(e->field, field) == 0)
		return;
	fail_msg("want field %s, error: %s", field, e->message);
}

/* A bad price model is refused naming the field, and writes nothing. */
static void json_refused(fx *f, const char *fields, const char *field)
{
	int64_t before = plan_count(f);
	tb_assert_rc(json_create(f, fields, NULL), BILLING_EINVALID);
	assert_names(field);
	assert_int_equal(plan_count(f), before);
}

static const char *text_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void plan_price__existing_plans_are_per_unit_and_licensed(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan *plan = create_ok(f, &p);
	char in[128], *text = NULL;
	cJSON *o;

	snprintf(in, sizeof(in), "{\"id\":\"%s\"}", billing_plan_id(plan));
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "plans.get", in, strlen(in),
		NULL), BILLING_OK);
	assert_non_null(o = cJSON_Parse(text));
	assert_string_equal(text_of(o, "billingScheme"), "perUnit");
	assert_string_equal(text_of(o, "usageType"), "licensed");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "tiersMode")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "tiers")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "transformQuantity")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "meterId")));
	cJSON_Delete(o);
	billing_free(text);
	billing_plan_free(plan);
}

static void plan_price__tiered_and_package_plans_are_stored_as_given(void **state)
{
	fx *f = *state;
	cJSON *o = NULL;
	const cJSON *tiers, *t;
	char *text;

	tb_assert_rc(json_create(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\","
		"\"tiers\":[{\"upTo\":5,\"unitAmount\":700},{\"upTo\":10,\"unitAmountDecimal\":"
		"\"650.5\",\"flatAmount\":100},{\"upTo\":null,\"unitAmount\":600}]", &o), BILLING_OK);
	assert_string_equal(text_of(o, "billingScheme"), "tiered");
	assert_string_equal(text_of(o, "tiersMode"), "graduated");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "amount")->valueint, 0);
	tiers = cJSON_GetObjectItemCaseSensitive(o, "tiers");
	assert_int_equal(cJSON_GetArraySize(tiers), 3);
	t = cJSON_GetArrayItem(tiers, 1);
	assert_string_equal(text_of(t, "unitAmountDecimal"), "650.5");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tiers, 2),
		"upTo")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "transformQuantity")));
	/* Fixed after creation, like the amount of a tiered plan. */
	text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "id"));
	{
		char in[256], *out = NULL;
		snprintf(in, sizeof(in), "{\"id\":%s,\"billingScheme\":\"perUnit\"}", text);
		tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "plans.update", in,
			strlen(in), NULL), BILLING_EINVALID);
		billing_free(out);
		snprintf(in, sizeof(in), "{\"id\":%s,\"amount\":100}", text);
		tb_assert_rc(billing_call_json(&out, f->w->ctx, &f->admin, "plans.update", in,
			strlen(in), NULL), BILLING_EINVALID);
		assert_names("amount");
		billing_free(out);
	}
	cJSON_free(text);
	cJSON_Delete(o);

	tb_assert_rc(json_create(f, "\"amount\":500,\"transformQuantity\":"
		"{\"divideBy\":1000,\"round\":\"up\"}", &o), BILLING_OK);
	t = cJSON_GetObjectItemCaseSensitive(o, "transformQuantity");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(t, "divideBy")->valueint, 1000);
	assert_string_equal(text_of(t, "round"), "up");
	assert_string_equal(text_of(o, "billingScheme"), "perUnit");
	cJSON_Delete(o);
}

static void plan_price__bad_models_are_refused_naming_the_field(void **state)
{
	fx *f = *state;

	json_refused(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\",\"tiers\":["
		"{\"upTo\":5,\"unitAmount\":1},{\"upTo\":9,\"unitAmount\":1},{\"upTo\":7,"
		"\"unitAmount\":1},{\"upTo\":null,\"unitAmount\":1}]", "tiers[2].upTo");
	json_refused(f, "\"billingScheme\":\"tiered\",\"tiers\":[{\"upTo\":null,"
		"\"unitAmount\":1}]", "tiersMode");
	json_refused(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\"", "tiers");
	json_refused(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\",\"tiers\":{}",
		"tiers");
	json_refused(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\",\"amount\":5,"
		"\"tiers\":[{\"upTo\":null,\"unitAmount\":1}]", "amount");
	json_refused(f, "\"billingScheme\":\"flat\",\"amount\":5", "billingScheme");
	json_refused(f, "\"tiersMode\":\"graduated\",\"amount\":5", "tiersMode");
	json_refused(f, "", "amount");
	json_refused(f, "\"amount\":5,\"transformQuantity\":{\"divideBy\":0,\"round\":\"up\"}",
		"transformQuantity.divideBy");
	json_refused(f, "\"amount\":5,\"transformQuantity\":[]", "transformQuantity");
	json_refused(f, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\",\"tiers\":"
		"[{\"upTo\":null,\"unitAmountDecimal\":\"0.1234567890123\"}]",
		"tiers[0].unitAmountDecimal");
	/* A metered plan names a meter of the tenant (core/meter.c, #23). */
	json_refused(f, "\"amount\":5,\"usageType\":\"metered\"", "meterId");
	json_refused(f, "\"amount\":5,\"usageType\":\"metered\",\"meterId\":\"mtr_x\"",
		"meterId");
	json_refused(f, "\"amount\":5,\"meterId\":\"mtr_x\"", "meterId");
	{
		const char *m = "{\"eventName\":\"api.call\",\"aggregation\":\"count\"}";
		const char *other = tb_tenant(f->w, "Other");
		billing_principal stranger = tb_admin(other);
		char *text = NULL, fields[160];
		cJSON *meter, *plan = NULL;
		tb_assert_rc(billing_call_json(&text, f->w->ctx, &stranger, "meters.create", m,
			strlen(m), NULL), BILLING_OK);
		meter = cJSON_Parse(text);
		billing_free(text);
		snprintf(fields, sizeof(fields), "\"amount\":5,\"usageType\":\"metered\","
			"\"meterId\":\"%s\"", text_of(meter, "id"));
		cJSON_Delete(meter);
		json_refused(f, fields, "meterId");        /* another tenant's meter */
		tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "meters.create", m,
			strlen(m), NULL), BILLING_OK);
		meter = cJSON_Parse(text);
		billing_free(text);
		snprintf(fields, sizeof(fields), "\"amount\":5,\"usageType\":\"metered\","
			"\"meterId\":\"%s\"", text_of(meter, "id"));
		tb_assert_rc(json_create(f, fields, &plan), BILLING_OK);
		assert_string_equal(text_of(plan, "usageType"), "metered");
		assert_string_equal(text_of(plan, "meterId"), text_of(meter, "id"));
		cJSON_Delete(plan);
		cJSON_Delete(meter);
	}
}

/* plans.get's answer for id without what differs between two plans made
 * alike (new). */
static cJSON *plan_json(fx *f, const char *id)
{
	static const char *const differ[] = { "id", "code", "name", "createdAt", "updatedAt" };
	char in[128], *text = NULL;
	cJSON *o;
	size_t i;
	snprintf(in, sizeof(in), "{\"id\":\"%s\"}", id);
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "plans.get", in, strlen(in),
		NULL), BILLING_OK);
	assert_non_null(o = cJSON_Parse(text));
	billing_free(text);
	for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(o, differ[i]);
	return o;
}

/* The plan made from C (params version 3) and the one made from JSON's
 * fields are the same plan: the same answer of plans.get, the same
 * getters. */
static void assert_same_plan(fx *f, const billing_plan *c, const char *json_fields)
{
	cJSON *from_json = NULL, *a, *b;
	billing_plan *j = NULL;
	size_t i;

	tb_assert_rc(json_create(f, json_fields, &from_json), BILLING_OK);
	a = plan_json(f, billing_plan_id(c));
	b = plan_json(f, text_of(from_json, "id"));
	if (!cJSON_Compare(a, b, 1)) {
		char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
		print_error("from C:    %s\nfrom JSON: %s\n", x, y);
		cJSON_free(x);
		cJSON_free(y);
		fail();
	}
	tb_assert_rc(billing_plan_get(&j, f->w->ctx, &f->admin, text_of(from_json, "id")),
		BILLING_OK);
	assert_int_equal(billing_plan_billing_scheme(j), billing_plan_billing_scheme(c));
	assert_int_equal(billing_plan_tiers_mode(j), billing_plan_tiers_mode(c));
	assert_int_equal(billing_plan_amount(j), billing_plan_amount(c));
	assert_int_equal(billing_plan_tier_count(j), billing_plan_tier_count(c));
	for (i = 0; i < billing_plan_tier_count(c); i++) {
		const billing_price_tier *x = billing_plan_tier_at(c, i);
		const billing_price_tier *y = billing_plan_tier_at(j, i);
		assert_int_equal(x->up_to, y->up_to);
		assert_int_equal(x->unit_amount, y->unit_amount);
		assert_int_equal(x->flat_amount, y->flat_amount);
		assert_int_equal(!x->unit_amount_decimal, !y->unit_amount_decimal);
		if (x->unit_amount_decimal)
			assert_string_equal(x->unit_amount_decimal, y->unit_amount_decimal);
	}
	assert_null(billing_plan_tier_at(c, i));
	assert_int_equal(billing_plan_transform_divide_by(j), billing_plan_transform_divide_by(c));
	assert_int_equal(billing_plan_transform_round(j), billing_plan_transform_round(c));
	assert_int_equal(billing_plan_usage_type(j), billing_plan_usage_type(c));
	assert_int_equal(!billing_plan_meter_id(j), !billing_plan_meter_id(c));
	billing_plan_free(j);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(from_json);
}

static void plan_price__a_tiered_plan_from_c_equals_the_one_from_json(void **state)
{
	fx *f = *state;
	const billing_price_tier tiers[] = {
		{ 5, 700, NULL, 0 }, { 10, 0, "650.50", 100 }, { 0, 600, NULL, 0 },
	};
	billing_plan_params p = valid_params(f);
	billing_plan *c = NULL, *again = NULL;

	p.code = "CTIERED";
	p.amount = 0;
	p.billing_scheme = BILLING_SCHEME_TIERED;
	p.tiers_mode = BILLING_TIERS_GRADUATED;
	p.tiers = tiers;
	p.tier_count = 3;
	c = create_ok(f, &p);
	assert_int_equal(billing_plan_billing_scheme(c), BILLING_SCHEME_TIERED);
	assert_int_equal(billing_plan_tiers_mode(c), BILLING_TIERS_GRADUATED);
	assert_int_equal(billing_plan_amount(c), 0);
	assert_int_equal(billing_plan_tier_count(c), 3);
	assert_int_equal(billing_plan_tier_at(c, 0)->up_to, 5);
	assert_int_equal(billing_plan_tier_at(c, 0)->unit_amount, 700);
	assert_null(billing_plan_tier_at(c, 0)->unit_amount_decimal);
	assert_string_equal(billing_plan_tier_at(c, 1)->unit_amount_decimal, "650.5");
	assert_int_equal(billing_plan_tier_at(c, 1)->unit_amount, 0);
	assert_int_equal(billing_plan_tier_at(c, 1)->flat_amount, 100);
	assert_int_equal(billing_plan_tier_at(c, 1)->up_to, 10);
	assert_int_equal(billing_plan_tier_at(c, 2)->up_to, 0);
	assert_null(billing_plan_tier_at(c, 3));
	assert_int_equal(billing_plan_transform_divide_by(c), 0);
	assert_int_equal(billing_plan_usage_type(c), BILLING_USAGE_LICENSED);
	assert_null(billing_plan_meter_id(c));
	assert_same_plan(f, c, "\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\","
		"\"tiers\":[{\"upTo\":5,\"unitAmount\":700},{\"upTo\":10,"
		"\"unitAmountDecimal\":\"650.50\",\"flatAmount\":100},{\"upTo\":null,"
		"\"unitAmount\":600}]");
	/* The getters of a plan read back (not the one the create answered). */
	again = get(f, billing_plan_id(c));
	assert_int_equal(billing_plan_tier_count(again), 3);
	assert_string_equal(billing_plan_tier_at(again, 1)->unit_amount_decimal, "650.5");
	billing_plan_free(again);
	billing_plan_free(c);

	/* A volume plan, and package plans rounding down and up. */
	p.code = "CVOLUME";
	p.tiers_mode = BILLING_TIERS_VOLUME;
	p.tier_count = 1;
	p.tiers = &tiers[2];
	c = create_ok(f, &p);
	assert_same_plan(f, c, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\","
		"\"tiers\":[{\"upTo\":null,\"unitAmount\":600}]");
	billing_plan_free(c);
	p = valid_params(f);
	p.code = "CPACKAGE";
	p.amount = 500;
	p.transform_divide_by = 1000;
	p.transform_round = BILLING_PACKAGE_ROUND_DOWN;
	c = create_ok(f, &p);
	assert_int_equal(billing_plan_billing_scheme(c), BILLING_SCHEME_PER_UNIT);
	assert_int_equal(billing_plan_transform_divide_by(c), 1000);
	assert_int_equal(billing_plan_transform_round(c), BILLING_PACKAGE_ROUND_DOWN);
	assert_int_equal(billing_plan_tier_count(c), 0);
	assert_null(billing_plan_tier_at(c, 0));
	assert_same_plan(f, c, "\"amount\":500,\"transformQuantity\":{\"divideBy\":1000,"
		"\"round\":\"down\"}");
	billing_plan_free(c);
	p.code = "CPACKAGEUP";
	p.transform_round = BILLING_PACKAGE_ROUND_UP;
	c = create_ok(f, &p);
	assert_int_equal(billing_plan_transform_round(c), BILLING_PACKAGE_ROUND_UP);
	assert_same_plan(f, c, "\"amount\":500,\"transformQuantity\":{\"divideBy\":1000,"
		"\"round\":\"up\"}");
	billing_plan_free(c);
	/* A per-unit plan of version 3 with nothing set is the plan it was. */
	p = valid_params(f);
	p.code = "CPLAIN";
	c = create_ok(f, &p);
	assert_int_equal(billing_plan_transform_round(c), BILLING_PACKAGE_ROUND_UP);
	assert_same_plan(f, c, "\"amount\":2900");
	billing_plan_free(c);
}

/* The thread's error (code, reason and every field error) copied. */
typedef struct {
	int code;
	char reason[64];
	size_t count;
	char fields[8][64];
	char messages[8][200];
} error_copy;

static void copy_error(error_copy *e)
{
	const billing_error *err = billing_error_last();
	size_t i;
	memset(e, 0, sizeof(*e));
	e->code = err->code;
	snprintf(e->reason, sizeof(e->reason), "%s", err->reason ? err->reason : "");
	e->count = err->field_error_count < 8 ? err->field_error_count : 8;
	for (i = 0; i < e->count; i++) {
		snprintf(e->fields[i], sizeof(e->fields[i]), "%s", err->field_errors[i].field);
		snprintf(e->messages[i], sizeof(e->messages[i]), "%s",
			err->field_errors[i].message);
	}
}

/*
 * A bad model from C (p) and the same from JSON (fields) are refused alike:
 * the same code, reason, field errors and messages; want is the field the
 * error names; neither writes anything.
 */
static void c_refused_as_json(fx *f, const billing_plan_params *p, const char *fields,
	const char *want)
{
	error_copy c, j;
	billing_plan *plan = NULL;
	int64_t before = plan_count(f);
	size_t i;

	tb_assert_rc(billing_plan_create(&plan, f->w->ctx, &f->admin, p, NULL),
		BILLING_EINVALID);
	assert_null(plan);
	assert_names(want);
	copy_error(&c);
	tb_assert_rc(json_create(f, fields, NULL), BILLING_EINVALID);
	assert_names(want);
	copy_error(&j);
	assert_int_equal(plan_count(f), before);
	assert_int_equal(c.code, j.code);
	assert_string_equal(c.reason, j.reason);
	assert_int_equal(c.count, j.count);
	assert_true(c.count > 0);
	for (i = 0; i < c.count; i++) {
		assert_string_equal(c.fields[i], j.fields[i]);
		assert_string_equal(c.messages[i], j.messages[i]);
	}
}

static void plan_price__bad_models_from_c_give_the_errors_of_json(void **state)
{
	fx *f = *state;
	const billing_price_tier out_of_order[] = {
		{ 5, 1, NULL, 0 }, { 9, 1, NULL, 0 }, { 7, 1, NULL, 0 }, { 0, 1, NULL, 0 },
	};
	const billing_price_tier last_bounded[] = { { 5, 1, NULL, 0 }, { 9, 1, NULL, 0 } };
	const billing_price_tier middle_open[] = { { 0, 1, NULL, 0 }, { 0, 1, NULL, 0 } };
	const billing_price_tier negative[] = { { -3, -1, NULL, -2 }, { 0, 1, NULL, 0 } };
	const billing_price_tier bad_decimal[] = { { 0, 0, "1\",\"x\":\"2", 0 } };
	const billing_price_tier long_decimal[] = { { 0, 0, "0.1234567890123", 0 } };
	billing_price_tier many[51];
	billing_plan_params p = valid_params(f);
	size_t i;

	p.amount = 0;
	p.billing_scheme = BILLING_SCHEME_TIERED;
	p.tiers_mode = BILLING_TIERS_VOLUME;
	p.tiers = out_of_order;
	p.tier_count = 4;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\","
		"\"tiers\":[{\"upTo\":5,\"unitAmount\":1},{\"upTo\":9,\"unitAmount\":1},"
		"{\"upTo\":7,\"unitAmount\":1},{\"upTo\":null,\"unitAmount\":1}]", "tiers[2].upTo");
	p.tiers = last_bounded;
	p.tier_count = 2;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\","
		"\"tiers\":[{\"upTo\":5,\"unitAmount\":1},{\"upTo\":9,\"unitAmount\":1}]",
		"tiers[1].upTo");
	p.tiers = middle_open;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\","
		"\"tiers\":[{\"upTo\":null,\"unitAmount\":1},{\"upTo\":null,\"unitAmount\":1}]",
		"tiers[0].upTo");
	p.tiers = negative;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\","
		"\"tiers\":[{\"upTo\":-3,\"unitAmount\":-1,\"flatAmount\":-2},{\"upTo\":null,"
		"\"unitAmount\":1}]", "tiers[0].unitAmount");
	p.tiers = bad_decimal;
	p.tier_count = 1;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\","
		"\"tiers\":[{\"upTo\":null,\"unitAmountDecimal\":\"1\\\",\\\"x\\\":\\\"2\"}]",
		"tiers[0].unitAmountDecimal");
	p.tiers = long_decimal;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\","
		"\"tiers\":[{\"upTo\":null,\"unitAmountDecimal\":\"0.1234567890123\"}]",
		"tiers[0].unitAmountDecimal");
	for (i = 0; i < 51; i++)
		many[i] = (billing_price_tier){ i < 50 ? (int64_t)i + 1 : 0, 1, NULL, 0 };
	p.tiers = many;
	p.tier_count = 51;
	{
		char *fields = malloc(51 * 40 + 128), *end;
		assert_non_null(fields);
		end = fields + sprintf(fields, "\"billingScheme\":\"tiered\",\"tiersMode\":"
			"\"volume\",\"tiers\":[");
		for (i = 0; i < 51; i++)
			end += i < 50 ? sprintf(end, "%s{\"upTo\":%zu,\"unitAmount\":1}", i ? "," : "",
				i + 1) : sprintf(end, ",{\"upTo\":null,\"unitAmount\":1}]");
		c_refused_as_json(f, &p, fields, "tiers");
		free(fields);
	}
	/* No tiers: required for a tiered plan. */
	p.tiers = NULL;
	p.tier_count = 0;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiersMode\":\"volume\"",
		"tiers");
	/* A tiered plan without a mode, with an amount, with packages. */
	p.tiers = &out_of_order[3];
	p.tier_count = 1;
	p.tiers_mode = BILLING_TIERS_NONE;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiers\":[{\"upTo\":null,"
		"\"unitAmount\":1}]", "tiersMode");
	p.tiers_mode = BILLING_TIERS_GRADUATED;
	p.amount = 5;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\","
		"\"amount\":5,\"tiers\":[{\"upTo\":null,\"unitAmount\":1}]", "amount");
	p.amount = 0;
	p.transform_divide_by = 10;
	c_refused_as_json(f, &p, "\"billingScheme\":\"tiered\",\"tiersMode\":\"graduated\","
		"\"tiers\":[{\"upTo\":null,\"unitAmount\":1}],\"transformQuantity\":{\"divideBy\":"
		"10,\"round\":\"up\"}", "transformQuantity");
	/* A per-unit plan with a mode, with tiers, without an amount. */
	p = valid_params(f);
	p.tiers_mode = BILLING_TIERS_GRADUATED;
	c_refused_as_json(f, &p, "\"amount\":2900,\"tiersMode\":\"graduated\"", "tiersMode");
	p.tiers_mode = BILLING_TIERS_NONE;
	p.tiers = &out_of_order[3];
	p.tier_count = 1;
	c_refused_as_json(f, &p, "\"amount\":2900,\"tiers\":[{\"upTo\":null,\"unitAmount\":1}]",
		"tiers");
	/* Packages: a size out of range, a rounding that is neither. */
	p = valid_params(f);
	p.transform_divide_by = -4;
	c_refused_as_json(f, &p, "\"amount\":2900,\"transformQuantity\":{\"divideBy\":-4,"
		"\"round\":\"up\"}", "transformQuantity.divideBy");
	p.transform_divide_by = 4;
	p.transform_round = (billing_package_round)9;
	c_refused_as_json(f, &p, "\"amount\":2900,\"transformQuantity\":{\"divideBy\":4,"
		"\"round\":\"\"}", "transformQuantity.round");
	/* Metered without a meter, with a meter of no one; a licensed plan
	 * naming one. */
	p = valid_params(f);
	p.usage_type = BILLING_USAGE_METERED;
	c_refused_as_json(f, &p, "\"amount\":2900,\"usageType\":\"metered\"", "meterId");
	p.meter_id = "mtr_x";
	c_refused_as_json(f, &p, "\"amount\":2900,\"usageType\":\"metered\",\"meterId\":"
		"\"mtr_x\"", "meterId");
	p.usage_type = BILLING_USAGE_LICENSED;
	c_refused_as_json(f, &p, "\"amount\":2900,\"meterId\":\"mtr_x\"", "meterId");

	/* What JSON's enums cannot say: C's refuses naming the field. */
	p = valid_params(f);
	p.billing_scheme = (billing_price_scheme)7;
	create_refused(f, &p, BILLING_EINVALID, "billingScheme");
	p = valid_params(f);
	p.usage_type = (billing_usage_type)7;
	create_refused(f, &p, BILLING_EINVALID, "usageType");
	/* A count without tiers. */
	p = valid_params(f);
	p.amount = 0;
	p.billing_scheme = BILLING_SCHEME_TIERED;
	p.tiers_mode = BILLING_TIERS_VOLUME;
	p.tier_count = 2;
	create_refused(f, &p, BILLING_EINVALID, "tiers");
}

static void plan_price__c_metered_plans_and_the_model_fixed(void **state)
{
	fx *f = *state;
	billing_plan_params p = valid_params(f);
	billing_plan_params u = BILLING_PLAN_PARAMS_INIT;
	billing_plan *plan = NULL, *after = NULL;
	const char *meter = "{\"eventName\":\"api.call\",\"aggregation\":\"count\"}";
	char *text = NULL, fields[160];
	cJSON *m;

	/* A metered plan from C names a meter of the tenant. */
	tb_assert_rc(billing_call_json(&text, f->w->ctx, &f->admin, "meters.create", meter,
		strlen(meter), NULL), BILLING_OK);
	m = cJSON_Parse(text);
	billing_free(text);
	p.usage_type = BILLING_USAGE_METERED;
	p.meter_id = text_of(m, "id");
	plan = create_ok(f, &p);
	assert_int_equal(billing_plan_usage_type(plan), BILLING_USAGE_METERED);
	assert_string_equal(billing_plan_meter_id(plan), text_of(m, "id"));
	snprintf(fields, sizeof(fields), "\"amount\":2900,\"usageType\":\"metered\","
		"\"meterId\":\"%s\"", text_of(m, "id"));
	assert_same_plan(f, plan, fields);
	cJSON_Delete(m);

	/* The model is fixed: an update naming it is refused, nothing changed;
	 * a version 2 caller has no such bit. */
	u.fields = BILLING_PLAN_PRICE;
	tb_assert_rc(billing_plan_update(&after, f->w->ctx, &f->admin, billing_plan_id(plan), &u,
		NULL), BILLING_EINVALID);
	assert_names("billingScheme");
	assert_null(after);
	u.version = 2;
	tb_assert_rc(billing_plan_update(&after, f->w->ctx, &f->admin, billing_plan_id(plan), &u,
		NULL), BILLING_EINVALID);
	tb_assert_field("fields");
	after = get(f, billing_plan_id(plan));
	assert_int_equal(billing_plan_usage_type(after), BILLING_USAGE_METERED);
	assert_int_equal(billing_plan_version(after), billing_plan_version(plan));
	billing_plan_free(after);
	/* A version 3 update of what may change leaves the model as it was. */
	u.version = 3;
	u.fields = BILLING_PLAN_NAME;
	u.name = "Renamed";
	u.usage_type = BILLING_USAGE_LICENSED;
	tb_assert_rc(billing_plan_update(&after, f->w->ctx, &f->admin, billing_plan_id(plan), &u,
		NULL), BILLING_OK);
	assert_string_equal(billing_plan_name(after), "Renamed");
	assert_int_equal(billing_plan_usage_type(after), BILLING_USAGE_METERED);
	billing_plan_free(after);
	billing_plan_free(plan);

	/* Callers of versions 1 and 2 have no such fields: a licensed per-unit
	 * plan, whatever lies past their struct. */
	p = valid_params(f);
	p.version = 2;
	p.code = "VERSION2";
	p.billing_scheme = BILLING_SCHEME_TIERED;
	p.tiers_mode = BILLING_TIERS_VOLUME;
	p.usage_type = (billing_usage_type)7;
	plan = create_ok(f, &p);
	assert_int_equal(billing_plan_billing_scheme(plan), BILLING_SCHEME_PER_UNIT);
	assert_int_equal(billing_plan_tiers_mode(plan), BILLING_TIERS_NONE);
	assert_int_equal(billing_plan_usage_type(plan), BILLING_USAGE_LICENSED);
	assert_int_equal(billing_plan_amount(plan), 2900);
	billing_plan_free(plan);
	p.version = 1;
	p.code = "VERSION1";
	plan = create_ok(f, &p);
	assert_int_equal(billing_plan_billing_scheme(plan), BILLING_SCHEME_PER_UNIT);
	billing_plan_free(plan);
	p.version = 4;
	create_refused(f, &p, BILLING_EINVALID, "version");
}

/* Every allocation of a C create of a tiered plan with a decimal tier (its
 * texts, the flow, the getters' tiers) failing in turn: an error each
 * time and no plan; nothing written, unless the failure came after the
 * commit, in making the answer (as for every resource: a retry with an
 * idempotency key gets it); then it is made. */
static void plan_price__c_create_unwinds_from_each_failed_allocation(void **state)
{
	fx *f = *state;
	const billing_price_tier tiers[] = { { 5, 700, NULL, 0 }, { 0, 0, "0.5", 100 } };
	billing_plan_params p = valid_params(f);
	billing_plan *plan = NULL;
	int64_t before = plan_count(f), now;
	char code[32];
	long n, made;
	int rc;

	p.amount = 0;
	p.billing_scheme = BILLING_SCHEME_TIERED;
	p.tiers_mode = BILLING_TIERS_GRADUATED;
	p.tiers = tiers;
	p.tier_count = 2;
	for (n = 1; n < 10000; n++) {
		snprintf(code, sizeof(code), "FAULTS%ld", n);
		p.code = code;
		billing__alloc_fail_at(n);
		rc = billing_plan_create(&plan, f->w->ctx, &f->admin, &p, NULL);
		made = billing__alloc_fail_at(0);
		if (rc == BILLING_OK)
			break;
		assert_true(rc < 0);
		assert_null(plan);
		assert_true(made >= n);
		now = plan_count(f);
		assert_true(now == before || now == before + 1);
		before = now;
	}
	assert_true(n > 1);
	assert_non_null(plan);
	assert_int_equal(billing_plan_tier_count(plan), 2);
	assert_string_equal(billing_plan_tier_at(plan, 1)->unit_amount_decimal, "0.5");
	assert_int_equal(plan_count(f), before + 1);
	billing_plan_free(plan);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(plan_create__rejects_null_arguments_and_version_0),
		T(plan_create__applies_defaults),
		T(plan_create__currency_defaults_to_the_products),
		T(plan_create__enforces_code_pattern),
		T(plan_create__enforces_name_length),
		T(plan_create__enforces_amount_range),
		T(plan_create__enforces_interval_and_count),
		T(plan_create__enforces_trial_days_and_term_count),
		T(plan_create__rejects_product_missing_in_tenant),
		T(plan_create__rejects_code_taken),
		T(plan_create__keeps_null_description_null),
		T(plan_update__changes_only_fields_given_and_bumps_version),
		T(plan_update__changes_mutable_fields),
		T(plan_update__rejects_fixed_fields_naming_them),
		T(plan_update__rejects_invalid_values_and_changes_nothing),
		T(plan_update__stale_expected_version_changes_nothing),
		T(plan_delete__is_soft_and_keeps_the_code_reserved),
		T(plan_delete__forbidden_for_user),
		T(plan_delete__leaves_the_row_deleted_and_inactive),
		T(plan_list__filters_by_currency_in_any_case_and_refuses_a_bad_code),
		T(plan_list__a_product_filter_names_a_product_of_the_tenant),
		T(plan_price__existing_plans_are_per_unit_and_licensed),
		T(plan_price__tiered_and_package_plans_are_stored_as_given),
		T(plan_price__bad_models_are_refused_naming_the_field),
		T(plan_price__a_tiered_plan_from_c_equals_the_one_from_json),
		T(plan_price__bad_models_from_c_give_the_errors_of_json),
		T(plan_price__c_metered_plans_and_the_model_fixed),
		T(plan_price__c_create_unwinds_from_each_failed_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
