/*
 * Price models of plans: the amount of a quantity (billing__price_apply,
 * pure) and the model read from a plan's stored fields with every rule a
 * plan's price must keep (billing__price_model_parse). See core/price.h
 * for the models and the rounding rule.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "billing/money.h"
#include "core/json_exact.h"
#include "core/price.h"

#if !defined(__SIZEOF_INT128__)
# error "price.c needs __int128 (gcc or clang on a 64-bit target)"
#endif
__extension__ typedef __int128 int128;

/* ------------------------------------------------------------ the rule */

static int overflow(int64_t quantity)
{
	return billing__error_set(BILLING_EOVERFLOW, "overflow",
		"the price of a quantity of %" PRId64 " does not fit an amount (at most %" PRId64
		" minor units)", quantity, (int64_t)BILLING_AMOUNT_MAX);
}

/* pico (>= 0, in 10^-12 of a minor unit) rounded to minor units, half up;
 * < 0 when it does not fit an amount. */
static int64_t round_pico(int128 pico)
{
	int128 v = (pico + BILLING__PRICE_PICO / 2) / BILLING__PRICE_PICO;
	return v > BILLING_AMOUNT_MAX ? -1 : (int64_t)v;
}

/* The price of one unit of a tier in 10^-12 of a minor unit. */
static int128 unit_pico(const billing__price_tier *t)
{
	return (int128)t->unit_amount * BILLING__PRICE_PICO + t->unit_pico;
}

static billing__price_tier_use tier_use(const billing__price_tier *t, int64_t quantity)
{
	billing__price_tier_use u;
	u.up_to = t->up_to;
	u.quantity = quantity;
	u.unit_amount = t->unit_amount;
	u.unit_pico = t->unit_pico;
	u.decimal = t->decimal;
	u.flat_amount = t->flat_amount;
	u.amount = 0;
	return u;
}

static int per_unit(billing__price_result *r, const billing__price_model *m, int64_t quantity)
{
	int64_t units = quantity;
	if (m->divide_by > 1) {
		units = quantity / m->divide_by;
		if (m->round_up && quantity % m->divide_by != 0)
			units++;
	}
	r->units = units;
	if (__builtin_mul_overflow(units, m->unit_amount, &r->amount) ||
	    r->amount > BILLING_AMOUNT_MAX)
		return overflow(quantity);
	return BILLING_OK;
}

/* Each unit at the tier it falls in; the running sum is exact and each
 * tier's amount is the difference of the rounded running sums. */
static int graduated(billing__price_result *r, const billing__price_model *m, int64_t quantity)
{
	int128 sum = 0, cost;
	int64_t below = 0, rounded = 0, next;
	size_t i;

	for (i = 0; i < m->tier_count && quantity > below; i++) {
		const billing__price_tier *t = &m->tiers[i];
		int64_t top = t->up_to == 0 || t->up_to > quantity ? quantity : t->up_to;
		int64_t in = top - below;
		if (__builtin_mul_overflow((int128)in, unit_pico(t), &cost) ||
		    __builtin_add_overflow(sum, cost, &sum) ||
		    __builtin_add_overflow(sum, (int128)t->flat_amount * BILLING__PRICE_PICO, &sum) ||
		    (next = round_pico(sum)) < 0)
			return overflow(quantity);
		r->tiers[r->tier_count] = tier_use(t, in);
		r->tiers[r->tier_count++].amount = next - rounded;
		rounded = next;
		below = top;
	}
	r->amount = rounded;
	return BILLING_OK;
}

/* Every unit at the tier the quantity falls in, plus its flat amount. */
static int volume(billing__price_result *r, const billing__price_model *m, int64_t quantity)
{
	const billing__price_tier *t = &m->tiers[m->tier_count - 1];
	int128 cost;
	int64_t amount;
	size_t i;

	for (i = 0; i < m->tier_count; i++)
		if (m->tiers[i].up_to == 0 || quantity <= m->tiers[i].up_to) {
			t = &m->tiers[i];
			break;
		}
	if (__builtin_mul_overflow((int128)quantity, unit_pico(t), &cost) ||
	    (amount = round_pico(cost)) < 0 ||
	    __builtin_add_overflow(amount, t->flat_amount, &amount) ||
	    amount > BILLING_AMOUNT_MAX)
		return overflow(quantity);
	r->tiers[0] = tier_use(t, quantity);
	r->tiers[0].amount = amount;
	r->tier_count = 1;
	r->amount = amount;
	return BILLING_OK;
}

int billing__price_apply(billing__price_result *out, const billing__price_model *m,
	int64_t quantity)
{
	billing__price_result r;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(m, "model");
	if (quantity < 0)
		return billing__error_field(BILLING_EINVALID, "invalid", "quantity",
			"quantity must not be negative");
	if (m->scheme == BILLING__SCHEME_TIERED &&
	    (m->tier_count == 0 || m->tier_count > BILLING__PRICE_TIERS_MAX ||
	     (m->mode != BILLING__TIERS_GRADUATED && m->mode != BILLING__TIERS_VOLUME)))
		return billing__error_field(BILLING_EINVALID, "invalid", "tiers",
			"a tiered price needs 1 to %d tiers and a tiers mode",
			BILLING__PRICE_TIERS_MAX);
	if (m->scheme != BILLING__SCHEME_TIERED && m->scheme != BILLING__SCHEME_PER_UNIT)
		return billing__error_field(BILLING_EINVALID, "invalid", "billingScheme",
			"unknown billing scheme %d", m->scheme);
	memset(&r, 0, offsetof(billing__price_result, tiers));
	r.units = quantity;
	if (quantity == 0)
		rc = BILLING_OK;
	else if (m->scheme == BILLING__SCHEME_PER_UNIT)
		rc = per_unit(&r, m, quantity);
	else if (m->mode == BILLING__TIERS_GRADUATED)
		rc = graduated(&r, m, quantity);
	else
		rc = volume(&r, m, quantity);
	if (rc < 0)
		return rc;
	memcpy(out, &r, offsetof(billing__price_result, tiers) +
		r.tier_count * sizeof(r.tiers[0]));
	return BILLING_OK;
}

void billing__price_unit_format(char *buf, size_t size, int64_t whole, int64_t pico,
	int decimal)
{
	int n = snprintf(buf, size, "%" PRId64, whole);
	if (!decimal || pico == 0 || n < 0 || (size_t)n >= size)
		return;
	n += snprintf(buf + n, size - (size_t)n, ".%012" PRId64, pico);
	if ((size_t)n >= size)
		return;
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
}

/* ------------------------------------------------------------ reading a model */

/* Field errors name static strings: the names of each tier's fields. */
#define TIER_NAMES(i) \
	{ "tiers[" #i "]", "tiers[" #i "].upTo", "tiers[" #i "].unitAmount", \
	  "tiers[" #i "].unitAmountDecimal", "tiers[" #i "].flatAmount" }
enum { N_TIER, N_UP_TO, N_UNIT, N_DECIMAL, N_FLAT, N_COUNT };
static const char *const tier_names[BILLING__PRICE_TIERS_MAX][N_COUNT] = {
	TIER_NAMES(0), TIER_NAMES(1), TIER_NAMES(2), TIER_NAMES(3), TIER_NAMES(4),
	TIER_NAMES(5), TIER_NAMES(6), TIER_NAMES(7), TIER_NAMES(8), TIER_NAMES(9),
	TIER_NAMES(10), TIER_NAMES(11), TIER_NAMES(12), TIER_NAMES(13), TIER_NAMES(14),
	TIER_NAMES(15), TIER_NAMES(16), TIER_NAMES(17), TIER_NAMES(18), TIER_NAMES(19),
	TIER_NAMES(20), TIER_NAMES(21), TIER_NAMES(22), TIER_NAMES(23), TIER_NAMES(24),
	TIER_NAMES(25), TIER_NAMES(26), TIER_NAMES(27), TIER_NAMES(28), TIER_NAMES(29),
	TIER_NAMES(30), TIER_NAMES(31), TIER_NAMES(32), TIER_NAMES(33), TIER_NAMES(34),
	TIER_NAMES(35), TIER_NAMES(36), TIER_NAMES(37), TIER_NAMES(38), TIER_NAMES(39),
	TIER_NAMES(40), TIER_NAMES(41), TIER_NAMES(42), TIER_NAMES(43), TIER_NAMES(44),
	TIER_NAMES(45), TIER_NAMES(46), TIER_NAMES(47), TIER_NAMES(48), TIER_NAMES(49),
};

/* An amount in minor units: an integer 0..BILLING_AMOUNT_MAX. */
static int amount_in(int64_t *out, billing__checks *ck, const char *field, const cJSON *v)
{
	if (billing__jx_int(v, out) != BILLING__JX_INT_OK || *out < 0 ||
	    *out > BILLING_AMOUNT_MAX) {
		billing__check_fail(ck, field, "must be an integer between 0 and %" PRId64
			" (minor units)", (int64_t)BILLING_AMOUNT_MAX);
		return -1;
	}
	return 0;
}

/* "12", "12.5", "0.000000000001": at most 12 places, the whole part an
 * amount. */
static int decimal_in(billing__price_tier *t, billing__checks *ck, const char *field,
	const cJSON *v)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : NULL, *p;
	int64_t whole = 0, pico = 0;
	int places = 0, digits = 0;

	for (p = s; p && *p >= '0' && *p <= '9'; p++, digits++)
		whole = digits < 16 ? whole * 10 + (*p - '0') : whole;
	if (p && *p == '.')
		for (p++; *p >= '0' && *p <= '9' && places < BILLING__PRICE_DECIMALS + 1;
		     p++, places++)
			pico = pico * 10 + (*p - '0');
	if (!s || digits == 0 || digits > 15 || *p != '\0' || (p[-1] == '.') ||
	    places > BILLING__PRICE_DECIMALS || whole > BILLING_AMOUNT_MAX) {
		billing__check_fail(ck, field, "must be a decimal string of minor units with at "
			"most %d decimal places, such as \"0.125\"", BILLING__PRICE_DECIMALS);
		return -1;
	}
	for (; places < BILLING__PRICE_DECIMALS; places++)
		pico *= 10;
	t->unit_amount = whole;
	t->unit_pico = pico;
	t->decimal = 1;
	return 0;
}

/* One tier object (i: its index, last: the last one) into t; *below: the
 * previous tier's upTo (0 at the first), then this one's. upTo is required
 * (null on the last) as Stripe's up_to ("inf"). */
static void tier_in(billing__price_tier *t, billing__checks *ck, size_t i, const cJSON *o,
	bool last, int64_t *below)
{
	const char *const *names = tier_names[i];
	const cJSON *up = NULL, *unit = NULL, *dec = NULL, *flat = NULL, *e;

	memset(t, 0, sizeof(*t));
	if (!cJSON_IsObject(o)) {
		billing__check_fail(ck, names[N_TIER], "must be an object {upTo, unitAmount, "
			"flatAmount}");
		return;
	}
	cJSON_ArrayForEach(e, o) {
		if (strcmp(e->string, "upTo") == 0)
			up = e;
		else if (strcmp(e->string, "unitAmount") == 0)
			unit = e;
		else if (strcmp(e->string, "unitAmountDecimal") == 0)
			dec = e;
		else if (strcmp(e->string, "flatAmount") == 0)
			flat = e;
		else
			billing__check_fail(ck, names[N_TIER], "has no field %.40s (upTo, "
				"unitAmount, unitAmountDecimal, flatAmount)", e->string);
	}
	if (up && !cJSON_IsNull(up)) {
		if (billing__jx_int(up, &t->up_to) != BILLING__JX_INT_OK || t->up_to < 1)
			billing__check_fail(ck, names[N_UP_TO], "must be a positive integer or "
				"null (the last tier)");
		else if (last)
			billing__check_fail(ck, names[N_UP_TO], "must be null: the last tier is "
				"open-ended");
		else if (t->up_to <= *below)
			billing__check_fail(ck, names[N_UP_TO], "must be above the previous "
				"tier's upTo (%" PRId64 ")", *below);
		else
			*below = t->up_to;
	} else if (!up) {
		billing__check_fail(ck, names[N_UP_TO], "is required (null on the last tier)");
	} else if (!last) {
		billing__check_fail(ck, names[N_UP_TO], "must be a positive integer: only the "
			"last tier is open-ended");
	}
	if (unit && dec)
		billing__check_fail(ck, names[N_DECIMAL], "give unitAmount or "
			"unitAmountDecimal, not both");
	else if (unit)
		(void)amount_in(&t->unit_amount, ck, names[N_UNIT], unit);
	else if (dec)
		(void)decimal_in(t, ck, names[N_DECIMAL], dec);
	if (flat)
		(void)amount_in(&t->flat_amount, ck, names[N_FLAT], flat);
	if (!unit && !dec && !flat)
		billing__check_fail(ck, names[N_TIER], "needs a unitAmount, a "
			"unitAmountDecimal or a flatAmount");
}

/* The tiers' text into m. */
static void tiers_in(billing__price_model *m, billing__checks *ck, const char *text)
{
	cJSON *arr = billing__jx_parse(text, strlen(text), NULL), *e;
	size_t n = 0;
	int64_t below = 0;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
	    cJSON_GetArraySize(arr) > BILLING__PRICE_TIERS_MAX) {
		billing__check_fail(ck, "tiers", "must be an array of 1 to %d tiers "
			"[{upTo, unitAmount, flatAmount}]", BILLING__PRICE_TIERS_MAX);
		cJSON_Delete(arr);
		return;
	}
	cJSON_ArrayForEach(e, arr) {
		tier_in(&m->tiers[n], ck, n, e, e->next == NULL, &below);
		n++;
	}
	m->tier_count = n;
	cJSON_Delete(arr);
}

#define DIVIDE_BY_MAX INT64_C(1000000000)

/* transformQuantity {divideBy, round} into m. */
static void transform_in(billing__price_model *m, billing__checks *ck, const char *text)
{
	cJSON *o = billing__jx_parse(text, strlen(text), NULL), *e;
	const cJSON *div = NULL, *round = NULL;
	const char *how;

	if (!cJSON_IsObject(o)) {
		billing__check_fail(ck, "transformQuantity", "must be an object {divideBy, round}");
		cJSON_Delete(o);
		return;
	}
	cJSON_ArrayForEach(e, o) {
		if (strcmp(e->string, "divideBy") == 0)
			div = e;
		else if (strcmp(e->string, "round") == 0)
			round = e;
		else
			billing__check_fail(ck, "transformQuantity", "has no field %.40s (divideBy, "
				"round)", e->string);
	}
	if (!div || billing__jx_int(div, &m->divide_by) != BILLING__JX_INT_OK ||
	    m->divide_by < 1 || m->divide_by > DIVIDE_BY_MAX)
		billing__check_fail(ck, "transformQuantity.divideBy", "must be an integer between "
			"1 and %" PRId64, DIVIDE_BY_MAX);
	how = round ? cJSON_GetStringValue(round) : NULL;
	if (how && strcmp(how, "up") == 0)
		m->round_up = 1;
	else if (!how || strcmp(how, "down") != 0)
		billing__check_fail(ck, "transformQuantity.round", "must be up or down");
	cJSON_Delete(o);
}

void billing__price_model_parse(billing__price_model *out, billing__checks *ck, int scheme,
	int mode, int64_t unit_amount, const char *tiers, const char *transform)
{
	memset(out, 0, offsetof(billing__price_model, tiers));
	out->scheme = scheme;
	out->mode = mode;
	out->unit_amount = unit_amount;
	if (scheme == BILLING__SCHEME_PER_UNIT) {
		if (mode != 0)
			billing__check_fail(ck, "tiersMode", "only tiered plans have a tiers mode");
		if (tiers)
			billing__check_fail(ck, "tiers", "only tiered plans have tiers");
		if (unit_amount < 1 || unit_amount > BILLING_AMOUNT_MAX)
			billing__check_fail(ck, "amount", "must be between 1 and %" PRId64,
				(int64_t)BILLING_AMOUNT_MAX);
		if (transform)
			transform_in(out, ck, transform);
		return;
	}
	if (scheme != BILLING__SCHEME_TIERED) {
		billing__check_fail(ck, "billingScheme", "must be perUnit or tiered");
		return;
	}
	if (mode != BILLING__TIERS_GRADUATED && mode != BILLING__TIERS_VOLUME)
		billing__check_fail(ck, "tiersMode", "is required for a tiered plan: graduated "
			"or volume");
	if (unit_amount != 0)
		billing__check_fail(ck, "amount", "a tiered plan is priced by its tiers: give no "
			"amount");
	if (transform)
		billing__check_fail(ck, "transformQuantity", "only perUnit plans are sold in "
			"packages");
	if (!tiers)
		billing__check_fail(ck, "tiers", "is required for a tiered plan");
	else
		tiers_in(out, ck, tiers);
}
