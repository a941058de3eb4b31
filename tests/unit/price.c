/*
 * Unit tests for core/price.c, the one place a plan's price model turns a
 * quantity into an amount: table tests per model against hand-computed
 * cases (Stripe's documented graduated and volume example: fonts at 7 USD
 * for 1-5, 6.50 USD for 6-10, 6 USD from 11), the boundaries (0, each tier
 * edge, quantities near int64 that must be a clear overflow), decimal unit
 * amounts rounded once per line, the rules of a model (each error names its
 * field, "tiers[2].upTo"), and properties on pseudo-random models:
 * graduated is monotone non-decreasing in the quantity and its tier amounts
 * add up to the line, volume is the tier's unit price x quantity + flat,
 * packages round as told.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "billing/errors.h"
#include "billing/money.h"
#include "core/price.h"

#define PROPERTY_CASES 3000

__extension__ typedef unsigned __int128 u128;

/* Stripe's example (docs "Set up tiered pricing"), in cents. */
static const char stripe_tiers[] =
	"[{\"upTo\":5,\"unitAmount\":700},{\"upTo\":10,\"unitAmount\":650},"
	"{\"upTo\":null,\"unitAmount\":600}]";

/* A model from its stored form, which must be valid. */
static billing__price_model model(int scheme, int mode, int64_t amount, const char *tiers,
	const char *transform)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	billing__price_model m;

	billing__price_model_parse(&m, &ck, scheme, mode, amount, tiers, transform);
	if (ck.count)
		fail_msg("model refused: %s: %s", ck.items[0].field, ck.items[0].message);
	return m;
}

static int64_t price(const billing__price_model *m, int64_t quantity)
{
	billing__price_result r;
	int rc = billing__price_apply(&r, m, quantity);
	if (rc != BILLING_OK)
		fail_msg("quantity %lld: %s", (long long)quantity, billing_error_last()->message);
	return r.amount;
}

/* ------------------------------------------------------------ tables */

static void stripe_volume(void **state)
{
	/* Stripe's volume table: 1 -> 7, 5 -> 35, 6 -> 39, 20 -> 120, 25 -> 150 USD. */
	static const int64_t cases[][2] = {
		{ 0, 0 }, { 1, 700 }, { 5, 3500 }, { 6, 3900 }, { 10, 6500 }, { 11, 6600 },
		{ 20, 12000 }, { 25, 15000 },
	};
	billing__price_model m = model(BILLING__SCHEME_TIERED, BILLING__TIERS_VOLUME, 0,
		stripe_tiers, NULL);
	billing__price_result r;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(price(&m, cases[i][0]), cases[i][1]);
	/* The line shows the one tier the quantity reached. */
	assert_int_equal(billing__price_apply(&r, &m, 6), BILLING_OK);
	assert_int_equal(r.tier_count, 1);
	assert_int_equal(r.tiers[0].up_to, 10);
	assert_int_equal(r.tiers[0].quantity, 6);
	assert_int_equal(r.tiers[0].unit_amount, 650);
	assert_int_equal(r.tiers[0].amount, 3900);
	assert_int_equal(billing__price_apply(&r, &m, 0), BILLING_OK);
	assert_int_equal(r.tier_count, 0);
}

static void stripe_graduated(void **state)
{
	/* 5 -> 35 USD; 6 -> 35 + 6.50; 20 -> 35 + 32.50 + 60; 25 -> 35 + 32.50 + 90. */
	static const int64_t cases[][2] = {
		{ 0, 0 }, { 1, 700 }, { 5, 3500 }, { 6, 4150 }, { 10, 6750 }, { 11, 7350 },
		{ 20, 12750 }, { 25, 15750 },
	};
	billing__price_model m = model(BILLING__SCHEME_TIERED, BILLING__TIERS_GRADUATED, 0,
		stripe_tiers, NULL);
	billing__price_result r;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(price(&m, cases[i][0]), cases[i][1]);
	/* The breakdown of 25: 5 x 7, 5 x 6.50, 15 x 6. */
	assert_int_equal(billing__price_apply(&r, &m, 25), BILLING_OK);
	assert_int_equal(r.tier_count, 3);
	assert_int_equal(r.tiers[0].quantity, 5);
	assert_int_equal(r.tiers[0].amount, 3500);
	assert_int_equal(r.tiers[1].up_to, 10);
	assert_int_equal(r.tiers[1].quantity, 5);
	assert_int_equal(r.tiers[1].amount, 3250);
	assert_int_equal(r.tiers[2].up_to, 0);
	assert_int_equal(r.tiers[2].quantity, 15);
	assert_int_equal(r.tiers[2].unit_amount, 600);
	assert_int_equal(r.tiers[2].amount, 9000);
	/* 5 stops at the first tier's edge: one tier reached. */
	assert_int_equal(billing__price_apply(&r, &m, 5), BILLING_OK);
	assert_int_equal(r.tier_count, 1);
}

static void flat_amounts(void **state)
{
	/* A base fee of 20.00 covering 10 units, then 1.50 a unit plus 5.00 once
	 * the second tier is reached. */
	static const char tiers[] =
		"[{\"upTo\":10,\"unitAmount\":0,\"flatAmount\":2000},"
		"{\"upTo\":null,\"unitAmount\":150,\"flatAmount\":500}]";
	billing__price_model g = model(BILLING__SCHEME_TIERED, BILLING__TIERS_GRADUATED, 0,
		tiers, NULL);
	billing__price_model v = model(BILLING__SCHEME_TIERED, BILLING__TIERS_VOLUME, 0,
		tiers, NULL);
	(void)state;

	assert_int_equal(price(&g, 0), 0);
	assert_int_equal(price(&g, 1), 2000);
	assert_int_equal(price(&g, 10), 2000);
	assert_int_equal(price(&g, 11), 2000 + 150 + 500);
	assert_int_equal(price(&g, 30), 2000 + 20 * 150 + 500);
	assert_int_equal(price(&v, 10), 2000);
	assert_int_equal(price(&v, 11), 11 * 150 + 500);
}

static void per_unit_and_packages(void **state)
{
	billing__price_model unit = model(BILLING__SCHEME_PER_UNIT, 0, 1250, NULL, NULL);
	/* 5.00 per 1,000 units, a started package is a whole one. */
	billing__price_model up = model(BILLING__SCHEME_PER_UNIT, 0, 500, NULL,
		"{\"divideBy\":1000,\"round\":\"up\"}");
	billing__price_model down = model(BILLING__SCHEME_PER_UNIT, 0, 500, NULL,
		"{\"round\":\"down\",\"divideBy\":1000}");
	billing__price_result r;
	(void)state;

	assert_int_equal(price(&unit, 0), 0);
	assert_int_equal(price(&unit, 1), 1250);
	assert_int_equal(price(&unit, 7), 8750);
	assert_int_equal(price(&up, 0), 0);
	assert_int_equal(price(&up, 1), 500);
	assert_int_equal(price(&up, 1000), 500);
	assert_int_equal(price(&up, 1001), 1000);
	assert_int_equal(price(&down, 999), 0);
	assert_int_equal(price(&down, 1000), 500);
	assert_int_equal(price(&down, 1999), 500);
	assert_int_equal(billing__price_apply(&r, &up, 2500), BILLING_OK);
	assert_int_equal(r.units, 3);
	assert_int_equal(r.tier_count, 0);
}

static void decimal_unit_amounts(void **state)
{
	/* 0.125 of a cent per unit to 1,000, then 0.0001 (12 places allowed). */
	static const char tiers[] =
		"[{\"upTo\":1000,\"unitAmountDecimal\":\"0.125\"},"
		"{\"upTo\":null,\"unitAmountDecimal\":\"0.000000000001\",\"flatAmount\":1}]";
	billing__price_model g = model(BILLING__SCHEME_TIERED, BILLING__TIERS_GRADUATED, 0,
		tiers, NULL);
	billing__price_model v = model(BILLING__SCHEME_TIERED, BILLING__TIERS_VOLUME, 0,
		"[{\"upTo\":null,\"unitAmountDecimal\":\"2.5\"}]", NULL);
	billing__price_result r;
	char buf[48];
	(void)state;

	/* 3 x 0.125 = 0.375 -> 0; 4 x 0.125 = 0.5 -> 1 (half away from zero). */
	assert_int_equal(price(&g, 3), 0);
	assert_int_equal(price(&g, 4), 1);
	assert_int_equal(price(&g, 12), 2);  /* 1.5 -> 2 */
	assert_int_equal(price(&g, 1000), 125);
	/* Rounded once per line: the running sum, not each tier. 1000 x 0.125
	 * + 1 + 499999 x 10^-12 -> 126. */
	assert_int_equal(billing__price_apply(&r, &g, 500999), BILLING_OK);
	assert_int_equal(r.amount, 126);
	assert_int_equal(r.tiers[0].amount + r.tiers[1].amount, 126);
	assert_int_equal(r.tiers[1].unit_pico, 1);
	assert_true(r.tiers[1].decimal);
	/* Volume: 3 x 2.5 = 7.5 -> 8; 1 x 2.5 -> 3. */
	assert_int_equal(price(&v, 3), 8);
	assert_int_equal(price(&v, 1), 3);
	assert_int_equal(price(&v, 2), 5);
	billing__price_unit_format(buf, sizeof(buf), 2, 500000000000, 1);
	assert_string_equal(buf, "2.5");
	billing__price_unit_format(buf, sizeof(buf), 0, 1, 1);
	assert_string_equal(buf, "0.000000000001");
	billing__price_unit_format(buf, sizeof(buf), 7, 0, 1);
	assert_string_equal(buf, "7");
	billing__price_unit_format(buf, sizeof(buf), 650, 0, 0);
	assert_string_equal(buf, "650");
}

/* ------------------------------------------------------------ overflow */

static void assert_overflow(const billing__price_model *m, int64_t quantity)
{
	billing__price_result r;
	r.amount = 4242;
	assert_int_equal(billing__price_apply(&r, m, quantity), BILLING_EOVERFLOW);
	assert_non_null(strstr(billing_error_last()->message, "does not fit an amount"));
	assert_int_equal(r.amount, 4242);
}

static void huge_quantities(void **state)
{
	billing__price_model unit = model(BILLING__SCHEME_PER_UNIT, 0, 2, NULL, NULL);
	billing__price_model g = model(BILLING__SCHEME_TIERED, BILLING__TIERS_GRADUATED, 0,
		stripe_tiers, NULL);
	billing__price_model v = model(BILLING__SCHEME_TIERED, BILLING__TIERS_VOLUME, 0,
		stripe_tiers, NULL);
	billing__price_model dec = model(BILLING__SCHEME_TIERED, BILLING__TIERS_VOLUME, 0,
		"[{\"upTo\":null,\"unitAmountDecimal\":\"999999999999999.999999999999\"}]", NULL);
	billing__price_model pkg = model(BILLING__SCHEME_PER_UNIT, 0, BILLING_AMOUNT_MAX, NULL,
		"{\"divideBy\":1000000000,\"round\":\"up\"}");
	billing__price_result r;
	(void)state;

	/* The largest amount is fine, one more unit is not. */
	assert_int_equal(price(&unit, BILLING_AMOUNT_MAX / 2), BILLING_AMOUNT_MAX - 1);
	assert_overflow(&unit, BILLING_AMOUNT_MAX / 2 + 1);
	assert_overflow(&unit, INT64_MAX);
	assert_overflow(&g, INT64_MAX);
	assert_overflow(&v, INT64_MAX);
	assert_overflow(&v, BILLING_AMOUNT_MAX / 600 + 1);
	assert_int_equal(price(&v, BILLING_AMOUNT_MAX / 600), BILLING_AMOUNT_MAX / 600 * 600);
	assert_overflow(&dec, 2);
	assert_overflow(&dec, INT64_MAX);
	/* One package of the largest amount; a unit more starts a second. */
	assert_int_equal(price(&pkg, 1000000000), BILLING_AMOUNT_MAX);
	assert_overflow(&pkg, 1000000001);
	assert_overflow(&pkg, INT64_MAX);
	/* A negative quantity is not a quantity. */
	assert_int_equal(billing__price_apply(&r, &unit, -1), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "quantity");
}

/* ------------------------------------------------------------ rules */

/* The fields ck names, in order, joined by spaces. */
static const char *refused(int scheme, int mode, int64_t amount, const char *tiers,
	const char *transform)
{
	static char out[1024];
	billing__checks ck = BILLING__CHECKS_INIT;
	billing__price_model m;
	size_t i, n = 0;

	billing__price_model_parse(&m, &ck, scheme, mode, amount, tiers, transform);
	out[0] = '\0';
	for (i = 0; i < ck.count; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? " " : "",
			ck.items[i].field);
	return out;
}

#define G BILLING__SCHEME_TIERED, BILLING__TIERS_GRADUATED, 0

static void model_rules(void **state)
{
	static char many[8192];
	size_t n = 0;
	int i;
	(void)state;

	assert_string_equal(refused(G, stripe_tiers, NULL), "");
	/* Not ascending; open before the end; bounded at the end. */
	assert_string_equal(refused(G, "[{\"upTo\":5,\"unitAmount\":1},{\"upTo\":5,"
		"\"unitAmount\":1},{\"upTo\":null,\"unitAmount\":1}]", NULL), "tiers[1].upTo");
	assert_string_equal(refused(G, "[{\"upTo\":5,\"unitAmount\":1},{\"upTo\":4,"
		"\"unitAmount\":1},{\"upTo\":3,\"unitAmount\":1}]", NULL),
		"tiers[1].upTo tiers[2].upTo");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmount\":1},{\"upTo\":null,"
		"\"unitAmount\":1}]", NULL), "tiers[0].upTo");
	assert_string_equal(refused(G, "[{\"unitAmount\":1}]", NULL), "tiers[0].upTo");
	assert_string_equal(refused(G, "[{\"upTo\":0,\"unitAmount\":1},{\"upTo\":null,"
		"\"unitAmount\":1}]", NULL), "tiers[0].upTo");
	assert_string_equal(refused(G, "[{\"upTo\":1.5,\"unitAmount\":1},{\"upTo\":null,"
		"\"unitAmount\":1}]", NULL), "tiers[0].upTo");
	/* Amounts: integers of minor units, or a decimal string of 12 places. */
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmount\":-1}]", NULL),
		"tiers[0].unitAmount");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmount\":1.5}]", NULL),
		"tiers[0].unitAmount");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"flatAmount\":1000000000000000}]",
		NULL), "tiers[0].flatAmount");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmountDecimal\":"
		"\"0.0000000000001\"}]", NULL), "tiers[0].unitAmountDecimal");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmountDecimal\":\"1.\"}]", NULL),
		"tiers[0].unitAmountDecimal");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmountDecimal\":\".5\"}]", NULL),
		"tiers[0].unitAmountDecimal");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmountDecimal\":\"-1\"}]", NULL),
		"tiers[0].unitAmountDecimal");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmountDecimal\":1}]", NULL),
		"tiers[0].unitAmountDecimal");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmountDecimal\":"
		"\"1000000000000000\"}]", NULL), "tiers[0].unitAmountDecimal");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmount\":1,"
		"\"unitAmountDecimal\":\"1\"}]", NULL), "tiers[0].unitAmountDecimal");
	assert_string_equal(refused(G, "[{\"upTo\":null}]", NULL), "tiers[0]");
	assert_string_equal(refused(G, "[{\"upTo\":null,\"unitAmount\":1,\"extra\":1}]", NULL),
		"tiers[0]");
	assert_string_equal(refused(G, "[7]", NULL), "tiers[0]");
	assert_string_equal(refused(G, "[]", NULL), "tiers");
	assert_string_equal(refused(G, "{}", NULL), "tiers");
	assert_string_equal(refused(G, NULL, NULL), "tiers");
	/* At most 50 tiers. */
	n += (size_t)snprintf(many + n, sizeof(many) - n, "[");
	for (i = 1; i <= BILLING__PRICE_TIERS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "{\"upTo\":%d,\"unitAmount\":1},",
			i);
	snprintf(many + n, sizeof(many) - n, "{\"upTo\":null,\"unitAmount\":1}]");
	assert_string_equal(refused(G, many, NULL), "tiers");
	/* The scheme, the mode, the amount and packages agree. */
	assert_string_equal(refused(BILLING__SCHEME_TIERED, 0, 0, stripe_tiers, NULL),
		"tiersMode");
	assert_string_equal(refused(BILLING__SCHEME_TIERED, BILLING__TIERS_VOLUME, 100,
		stripe_tiers, "{\"divideBy\":2,\"round\":\"up\"}"), "amount transformQuantity");
	assert_string_equal(refused(BILLING__SCHEME_PER_UNIT, BILLING__TIERS_VOLUME, 100,
		stripe_tiers, NULL), "tiersMode tiers");
	assert_string_equal(refused(BILLING__SCHEME_PER_UNIT, 0, 0, NULL, NULL), "amount");
	assert_string_equal(refused(7, 0, 100, NULL, NULL), "billingScheme");
	assert_string_equal(refused(BILLING__SCHEME_PER_UNIT, 0, 100, NULL,
		"{\"divideBy\":0,\"round\":\"sideways\"}"),
		"transformQuantity.divideBy transformQuantity.round");
	assert_string_equal(refused(BILLING__SCHEME_PER_UNIT, 0, 100, NULL,
		"{\"round\":\"up\",\"by\":2}"), "transformQuantity transformQuantity.divideBy");
	assert_string_equal(refused(BILLING__SCHEME_PER_UNIT, 0, 100, NULL, "[1]"),
		"transformQuantity");
}

static void apply_refuses_bad_models(void **state)
{
	billing__price_model m = model(BILLING__SCHEME_TIERED, BILLING__TIERS_GRADUATED, 0,
		stripe_tiers, NULL);
	billing__price_result r;
	(void)state;

	m.mode = 0;
	assert_int_equal(billing__price_apply(&r, &m, 1), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "tiers");
	m.mode = BILLING__TIERS_VOLUME;
	m.tier_count = 0;
	assert_int_equal(billing__price_apply(&r, &m, 1), BILLING_EINVALID);
	m.scheme = 9;
	assert_int_equal(billing__price_apply(&r, &m, 1), BILLING_EINVALID);
	assert_string_equal(billing_error_last()->field, "billingScheme");
}

/* ------------------------------------------------------------ properties */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible, no libc state */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Du;
}

/* A random valid tiered model: 1..6 tiers, some decimal. */
static billing__price_model random_tiers(int mode)
{
	billing__price_model m;
	size_t n = 1 + rnd() % 6, i;
	int64_t up = 0;

	memset(&m, 0, sizeof(m));
	m.scheme = BILLING__SCHEME_TIERED;
	m.mode = mode;
	m.tier_count = n;
	for (i = 0; i < n; i++) {
		billing__price_tier *t = &m.tiers[i];
		up += 1 + (int64_t)(rnd() % 100);
		t->up_to = i + 1 == n ? 0 : up;
		t->unit_amount = (int64_t)(rnd() % 5000);
		if (rnd() % 3 == 0) {
			t->decimal = 1;
			t->unit_pico = (int64_t)(rnd() % (uint64_t)BILLING__PRICE_PICO);
		}
		t->flat_amount = rnd() % 2 ? (int64_t)(rnd() % 10000) : 0;
	}
	return m;
}

static void graduated_monotone(void **state)
{
	int c;
	(void)state;

	for (c = 0; c < PROPERTY_CASES; c++) {
		billing__price_model m = random_tiers(BILLING__TIERS_GRADUATED);
		billing__price_result r;
		int64_t q = (int64_t)(rnd() % 700), prev = price(&m, q), sum = 0, units = 0;
		size_t i;
		assert_true(price(&m, q + 1) >= prev);
		assert_true(price(&m, q + 1 + (int64_t)(rnd() % 50)) >= prev);
		/* The tiers add up to the line, in quantity and in amount. */
		assert_int_equal(billing__price_apply(&r, &m, q), BILLING_OK);
		for (i = 0; i < r.tier_count; i++) {
			sum += r.tiers[i].amount;
			units += r.tiers[i].quantity;
			assert_true(r.tiers[i].amount >= 0);
		}
		assert_int_equal(sum, r.amount);
		assert_int_equal(units, q);
	}
}

static void volume_is_tier_price(void **state)
{
	int c;
	(void)state;

	for (c = 0; c < PROPERTY_CASES; c++) {
		billing__price_model m = random_tiers(BILLING__TIERS_VOLUME);
		int64_t q = 1 + (int64_t)(rnd() % 700), expect;
		const billing__price_tier *t = NULL;
		size_t i;
		for (i = 0; i < m.tier_count && !t; i++)
			if (m.tiers[i].up_to == 0 || q <= m.tiers[i].up_to)
				t = &m.tiers[i];
		assert_non_null(t);
		/* q x unit, rounded half up from 10^-12, + flat. */
		expect = q * t->unit_amount + t->flat_amount +
			(int64_t)(((u128)q * (uint64_t)t->unit_pico +
			(uint64_t)BILLING__PRICE_PICO / 2) / (uint64_t)BILLING__PRICE_PICO);
		assert_int_equal(price(&m, q), expect);
	}
}

static void package_rounding(void **state)
{
	int c;
	(void)state;

	for (c = 0; c < PROPERTY_CASES; c++) {
		billing__price_model m;
		int64_t q = (int64_t)(rnd() % 100000), d, units;
		memset(&m, 0, sizeof(m));
		m.unit_amount = 1 + (int64_t)(rnd() % 10000);
		m.divide_by = d = 1 + (int64_t)(rnd() % 1000);
		m.round_up = (int)(rnd() % 2);
		units = price(&m, q) / m.unit_amount;
		assert_int_equal(price(&m, q) % m.unit_amount, 0);
		/* down: the whole packages; up: the packages that hold q. */
		if (m.round_up)
			assert_true(units * d >= q && (units - 1) * d < q);
		else
			assert_true(units * d <= q && (units + 1) * d > q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stripe_volume),
		cmocka_unit_test(stripe_graduated),
		cmocka_unit_test(flat_amounts),
		cmocka_unit_test(per_unit_and_packages),
		cmocka_unit_test(decimal_unit_amounts),
		cmocka_unit_test(huge_quantities),
		cmocka_unit_test(model_rules),
		cmocka_unit_test(apply_refuses_bad_models),
		cmocka_unit_test(graduated_monotone),
		cmocka_unit_test(volume_is_tier_price),
		cmocka_unit_test(package_rounding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
