/*
 * Plans: what a subscription pays, how often, for which product; on the
 * generic flow (core/resource.h). This file is the plans' descriptor,
 * their rules (the product exists in the tenant and gives the default
 * currency, the code's pattern, an interval count within three years,
 * a term, delete refused while a subscription that has not ended is on
 * the plan or about to move to it) and the typed C API of billing/plan.h
 * over the flow. The product, code, currency, interval, interval count
 * and term are fixed at creation; delete is soft (the plan is marked
 * deleted and inactive), and a deleted plan's code stays taken (the
 * unique constraint covers deleted rows).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cJSON.h>

#include "billing/money.h"
#include "core/json_exact.h"
#include "core/price.h"
#include "core/meter.h"
#include "core/invoice_tax.h"
#include "core/resource.h"
#include "core/resources.h"
#include "core/text.h"

/* The public plan: the record, then its metadata and price model decoded
 * for the getters (billing__record_publish): the tiers, each decimal's
 * text, the packages. */
struct billing_plan {
	billing_plan_record r;
	billing__metadata metadata;
	size_t tier_count;
	billing_price_tier *tiers;
	char (*decimals)[48];
	int64_t divide_by;
	int round_down;
};

#define TRIAL_DAYS_MAX 730
#define TERM_COUNT_MAX 1000

#define F(member) offsetof(billing_plan_record, member)

/* Indexes into fields[], the bits of a given mask. */
enum {
	TENANT, ID, PRODUCT, CODE, NAME, DESCRIPTION, AMOUNT, CURRENCY, INTERVAL, INTERVAL_COUNT,
	TRIAL_DAYS, TERM_COUNT, ACTIVE, DELETED, METADATA, CREATED_AT, UPDATED_AT, VERSION,
	SCHEME, TIERS_MODE, TIERS, TRANSFORM, USAGE_TYPE, METER, TAX_RATES,
	FIELD_COUNT
};

#define WRITE (BILLING_API_CREATE | BILLING_API_UPDATE)
/* Set at creation; an update that names it is refused naming it. */
#define ONCE (BILLING_API_CREATE | BILLING_API_FIXED)

/* The JSON names of billing_interval's values, by value. */
static const char *const interval_names[] = { "", "DAY", "WEEK", "MONTH", "YEAR", NULL };
/* The price model's names by value (core/price.h: BILLING__SCHEME_*,
 * BILLING__TIERS_*, BILLING__USAGE_*). */
static const char *const scheme_names[] = { "perUnit", "tiered", NULL };
static const char *const tiers_mode_names[] = { "", "graduated", "volume", NULL };
static const char *const usage_type_names[] = { "licensed", "metered", NULL };

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id), BILLING_FIELD_TENANT, NULL,
		BILLING_JSON_NONE, 0, NULL, 0, NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID, "id", BILLING_JSON_STRING,
		0, NULL, 0, NULL },
	[PRODUCT] = { "product_id", BILLING_FIELD_TEXT, F(product_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "productId", BILLING_JSON_STRING,
		ONCE | BILLING_API_REQUIRED | BILLING_API_VERBATIM, NULL, 0,
		"product of the same tenant; fixed" },
	[CODE] = { "code", BILLING_FIELD_TEXT, F(code),
		BILLING_FIELD_FIXED | BILLING_FIELD_UNIQUE | BILLING_FIELD_SORT |
		BILLING_FIELD_SEARCH, "code", BILLING_JSON_STRING,
		ONCE | BILLING_API_REQUIRED | BILLING_API_VERBATIM, NULL, 0,
		"^[A-Z0-9_-]{3,64}$, unique in the tenant; fixed" },
	[NAME] = { "name", BILLING_FIELD_TEXT, F(name),
		BILLING_FIELD_SORT | BILLING_FIELD_SEARCH, "name", BILLING_JSON_STRING,
		WRITE | BILLING_API_REQUIRED, NULL, 0, "2-100 characters" },
	[DESCRIPTION] = { "description", BILLING_FIELD_TEXT, F(description), 0, "description",
		BILLING_JSON_STRING, WRITE | BILLING_API_NULLABLE, NULL, 0,
		"at most 2000 characters" },
	[AMOUNT] = { "amount", BILLING_FIELD_INT64, F(amount),
		BILLING_FIELD_RANGE | BILLING_FIELD_SORT | BILLING_FIELD_NONNEGATIVE, "amount",
		BILLING_JSON_INTEGER, WRITE, NULL, 0,
		"the unit amount of a perUnit plan (of a package), minor units, > 0; required "
		"for perUnit, none for tiered" },
	[CURRENCY] = { "currency", BILLING_FIELD_TEXT, F(currency),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "currency", BILLING_JSON_STRING,
		ONCE | BILLING_API_VERBATIM | BILLING_API_UPPER, NULL, 0,
		"ISO 4217, default the product's; fixed" },
	[INTERVAL] = { "billing_interval", BILLING_FIELD_INT, F(interval),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "interval", BILLING_JSON_ENUM,
		ONCE | BILLING_API_REQUIRED, interval_names, 0, "DAY, WEEK, MONTH or YEAR; fixed" },
	[INTERVAL_COUNT] = { "interval_count", BILLING_FIELD_INT32, F(interval_count),
		BILLING_FIELD_FIXED, "intervalCount", BILLING_JSON_INTEGER, ONCE, NULL, 0,
		">= 1, default 1; fixed" },
	[TRIAL_DAYS] = { "trial_days", BILLING_FIELD_INT32, F(trial_days),
		BILLING_FIELD_NONNEGATIVE, "trialDays", BILLING_JSON_INTEGER, WRITE, NULL, 0,
		"0-730" },
	/* 0 (no term) is null in JSON, where a 0 is refused. */
	[TERM_COUNT] = { "term_count", BILLING_FIELD_INT32, F(term_count),
		BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL, "termCount", BILLING_JSON_INTEGER,
		ONCE | BILLING_API_NULLABLE, NULL, 0, "periods until expiry; fixed" },
	[ACTIVE] = { "active", BILLING_FIELD_INT, F(active), BILLING_FIELD_FILTER, "active",
		BILLING_JSON_BOOLEAN, WRITE, NULL, 0, "default true" },
	[DELETED] = { "deleted_at", BILLING_FIELD_INT64, F(deleted_at),
		BILLING_FIELD_ZERO_NULL | BILLING_FIELD_DELETED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), 0, "metadata",
		BILLING_JSON_METADATA, WRITE | BILLING_API_NULLABLE, NULL, 0, "string map" },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, NULL },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, NULL },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0, NULL },
	/* The price model (core/price.h), fixed at creation like a Stripe
	 * price: invoices and billing_check apply the plan's model to lines
	 * written before. */
	[SCHEME] = { "billing_scheme", BILLING_FIELD_INT, F(billing_scheme), BILLING_FIELD_FIXED,
		"billingScheme", BILLING_JSON_ENUM, ONCE, scheme_names, 0,
		"perUnit (default) or tiered; fixed" },
	[TIERS_MODE] = { "tiers_mode", BILLING_FIELD_INT, F(tiers_mode),
		BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL, "tiersMode", BILLING_JSON_ENUM, ONCE,
		tiers_mode_names, 0, "graduated or volume; required iff tiered; fixed" },
	[TIERS] = { "tiers", BILLING_FIELD_TEXT, F(tiers), BILLING_FIELD_FIXED, "tiers",
		BILLING_JSON_ARRAY, ONCE | BILLING_API_NULLABLE, NULL, 0,
		"tiered: [{upTo (int; null on the last), unitAmount or unitAmountDecimal, "
		"flatAmount}], 1-50, upTo ascending; fixed" },
	[TRANSFORM] = { "transform_quantity", BILLING_FIELD_TEXT, F(transform_quantity),
		BILLING_FIELD_FIXED, "transformQuantity", BILLING_JSON_OBJECT,
		ONCE | BILLING_API_NULLABLE, NULL, 0,
		"perUnit packages: {divideBy >= 1, round: up|down}; fixed" },
	[USAGE_TYPE] = { "usage_type", BILLING_FIELD_INT, F(usage_type), BILLING_FIELD_FIXED,
		"usageType", BILLING_JSON_ENUM, ONCE, usage_type_names, 0,
		"licensed (default) or metered; fixed" },
	[METER] = { "meter_id", BILLING_FIELD_TEXT, F(meter_id), BILLING_FIELD_FIXED, "meterId",
		BILLING_JSON_STRING, ONCE | BILLING_API_NULLABLE | BILLING_API_VERBATIM, NULL, 0,
		"the meter of a metered plan; fixed" },
	/* Issue #22 (core/invoice_tax.c). */
	[TAX_RATES] = { "default_tax_rates", BILLING_FIELD_TEXT, F(default_tax_rates_json), 0,
		"defaultTaxRates", BILLING_JSON_STRINGS, WRITE | BILLING_API_NULLABLE, NULL, 0,
		"up to 5 ids of the tenant's active tax rates (txr_...), at most one inclusive: "
		"the taxes of the plan's invoice lines unless the subscription names its own; "
		"[] or null: none (the product's taxRate applies)" },
};

static const billing_reference references[] = {
	{ "product_id", &billing__res_product },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

const billing_resource billing__res_plan = {
	"plan", "plans", "plans", "Plan",
	"A price of a product per interval; amount in minor units.",
	"plans", "plan", sizeof(billing_plan_record), fields, FIELD_COUNT,
	NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_CRUD, R_READ, R_WRITE, BILLING_RESOURCE_CREATE_EVENT, references, 1
};

#define BIT(i) (UINT64_C(1) << (i))

const char *billing_interval_name(billing_interval interval)
{
	switch (interval) {
	case BILLING_DAY: return "DAY";
	case BILLING_WEEK: return "WEEK";
	case BILLING_MONTH: return "MONTH";
	case BILLING_YEAR: return "YEAR";
	default: return NULL;
	}
}

int billing_interval_parse(billing_interval *out, const char *name)
{
	BILLING__ASSERT_ARG(out, "out");
	if (name && strcmp(name, "DAY") == 0)
		*out = BILLING_DAY;
	else if (name && strcmp(name, "WEEK") == 0)
		*out = BILLING_WEEK;
	else if (name && strcmp(name, "MONTH") == 0)
		*out = BILLING_MONTH;
	else if (name && strcmp(name, "YEAR") == 0)
		*out = BILLING_YEAR;
	else
		return billing__error_field(BILLING_EINVALID, "invalid", "interval",
			"interval must be DAY, WEEK, MONTH or YEAR");
	return BILLING_OK;
}

/* The most intervals of each kind that stay within three years. */
static int32_t interval_count_max(int interval)
{
	switch (interval) {
	case BILLING_DAY: return 1095;
	case BILLING_WEEK: return 156;
	case BILLING_MONTH: return 36;
	case BILLING_YEAR: return 3;
	default: return 0;
	}
}

/* ------------------------------------------------------------ rules */

static int product_missing(void)
{
	return billing__error_field(BILLING_EINVALID, "resource_missing", "productId",
		"no such product in this tenant");
}

/* Receives the product row of a plan's product: its currency (the
 * table's own static text), or nothing when only its existence matters. */
static int product_row(void *payload, const void *record)
{
	const billing_product_record *r = record;
	const char **currency = payload;
	if (currency)
		*currency = billing__currency_code(r->currency);
	return BILLING_OK;
}

/* Inside the transaction: the product id names in the tenant must exist;
 * an ill-formed id names nothing, without asking storage. */
static int product_in(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *product_id, unsigned int lock, const char **currency)
{
	int rc;
	if (!billing__id_arg_ok(product_id, billing__res_product.prefix))
		return product_missing();
	rc = ctx->st->record_read(tx, &billing__res_product, tenant_id, product_id, lock,
		product_row, (void *)currency);
	return rc == BILLING_ENOTFOUND ? product_missing() : rc;
}

/*
 * Usage types. A metered plan bills what its meter (core/meter.c, issue
 * #23) aggregated over the period: it names one (meterId), a meter of the
 * tenant (meter_check, in the create's transaction); a licensed plan has
 * none.
 */
static void usage_check(billing__checks *ck, const billing_plan_record *p)
{
	if (p->usage_type == BILLING__USAGE_METERED && !p->meter_id)
		billing__check_fail(ck, "meterId", "is required for a metered plan");
	else if (p->usage_type != BILLING__USAGE_METERED && p->meter_id)
		billing__check_fail(ck, "meterId", "only metered plans have a meter");
}

static int meter_row(void *payload, const void *record)
{
	(void)payload;
	(void)record;
	return BILLING_OK;
}

/* A metered plan's meterId names a meter of the tenant (held until the
 * plan is written: a meter is never deleted anyway). */
static int meter_check(billing_ctx *ctx, billing_txn *tx, const billing_plan_record *p)
{
	int rc;
	if (p->usage_type != BILLING__USAGE_METERED || !p->meter_id)
		return BILLING_OK;
	rc = billing__id_arg_ok(p->meter_id, "mtr") ?
		ctx->st->record_read(tx, billing__res_meter, p->tenant_id, p->meter_id,
			BILLING_LOCK_SHARE, meter_row, NULL) : BILLING_ENOTFOUND;
	if (rc == BILLING_ENOTFOUND)
		return billing__error_field(BILLING_EINVALID, "resource_missing", "meterId",
			"no such meter in this tenant");
	return rc;
}

/* At creation: the price model as a whole (core/price.h), fixed after. */
static void price_check(billing__checks *ck, billing_plan_record *p, uint64_t given)
{
	billing__price_model m;

	/* The flow gives an object not given "{}": none here. */
	if (!(given & BIT(TRANSFORM)))
		p->transform_quantity = NULL;
	if (p->billing_scheme == BILLING__SCHEME_PER_UNIT && !(given & BIT(AMOUNT)))
		billing__check_fail(ck, "amount", "is required for a perUnit plan");
	else
		billing__price_model_parse(&m, ck, p->billing_scheme, p->tiers_mode, p->amount,
			p->tiers, p->transform_quantity);
	usage_check(ck, p);
}

static int check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	billing_plan_record *p = rec;
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;

	if ((given & BIT(CODE)) && !billing__plan_code_valid(p->code, strlen(p->code)))
		billing__check_fail(&ck, "code", "must be 3 to 64 of A-Z 0-9 _ -");
	if ((given & BIT(NAME)) &&
	    (rc = billing__check_text_in_place(&ck, "name", p->name, BILLING__TEXT_REQUIRED, 2,
		100)) < 0)
		return rc;
	if ((given & BIT(DESCRIPTION)) && p->description &&
	    (rc = billing__check_text_in_place(&ck, "description", p->description,
		BILLING__TEXT_MULTILINE, 0, 2000)) < 0)
		return rc;
	if (!current && (rc = meter_check(ctx, tx, p)) < 0)
		return rc;
	if ((given & BIT(TAX_RATES)) && p->default_tax_rates_json) {
		/* The canonical ids: the record points at it until the call's
		 * write and answer, within this call on this thread. */
		static _Thread_local char rates[BILLING__TAX_RATES_TEXT];
		int empty;
		if ((rc = billing__tax_rates_check(rates, &empty, ctx, tx, p->tenant_id,
			p->default_tax_rates_json, "defaultTaxRates")) < 0)
			return rc;
		p->default_tax_rates_json = empty ? NULL : rates;
	}
	if (!current)
		price_check(&ck, p, given);
	else if ((given & BIT(AMOUNT)) &&
	    ((const billing_plan_record *)current)->billing_scheme == BILLING__SCHEME_TIERED)
		billing__check_fail(&ck, "amount", "a tiered plan is priced by its tiers: it has "
			"no amount");
	else if ((given & BIT(AMOUNT)) && (p->amount < 1 || p->amount > BILLING_AMOUNT_MAX))
		billing__check_fail(&ck, "amount", "must be between 1 and %lld",
			(long long)BILLING_AMOUNT_MAX);
	if ((given & BIT(CURRENCY)) && (p->currency = billing__currency_code(p->currency)) == NULL)
		billing__check_fail(&ck, "currency", "must be an ISO 4217 currency code");
	if (given & BIT(INTERVAL)) {
		int32_t max = interval_count_max(p->interval);
		/* An interval count not given is 1. */
		if (!(given & BIT(INTERVAL_COUNT)))
			p->interval_count = 1;
		if (max == 0)
			billing__check_fail(&ck, "interval", "must be DAY, WEEK, MONTH or YEAR");
		else if (p->interval_count < 1 || p->interval_count > max)
			billing__check_fail(&ck, "intervalCount",
				"must be between 1 and %d for %s (three years at most)", (int)max,
				billing_interval_name((billing_interval)p->interval));
	}
	if ((given & BIT(TRIAL_DAYS)) && (p->trial_days < 0 || p->trial_days > TRIAL_DAYS_MAX))
		billing__check_fail(&ck, "trialDays", "must be between 0 and %d", TRIAL_DAYS_MAX);
	if ((given & BIT(TERM_COUNT)) && (p->term_count < 0 || p->term_count > TERM_COUNT_MAX))
		billing__check_fail(&ck, "termCount", "must be 0 (no term) or between 1 and %d",
			TERM_COUNT_MAX);
	/* Active unless the create says otherwise. */
	if (!current && !(given & BIT(ACTIVE)))
		p->active = 1;
	if ((rc = billing__checks_finish(&ck, "plan")) < 0 || current ||
	    !(given & BIT(PRODUCT)))
		return rc;
	/* Then the product (locked against its delete until the plan is in):
	 * it gives the currency unless the input named one. */
	return product_in(ctx, tx, p->tenant_id, p->product_id, BILLING_LOCK_UPDATE,
		p->currency ? NULL : &p->currency);
}

/* Subscriptions that have not ended on the plan or about to move to it (a
 * pending change never names the plan a subscription is on already). */
static int live_subscriptions(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const char *plan_id, int64_t *live)
{
	static const char *const columns[] = { "plan_id", "pending_plan_id" };
	const billing_resource *res = &billing__res_subscription;
	int64_t n = 0;
	size_t i;
	int rc = BILLING_OK;

	*live = 0;
	for (i = 0; rc == BILLING_OK && i < 2; i++) {
		const billing_filter f[] = {
			{ billing_resource_field(res, columns[i]), BILLING_FILTER_EQ, plan_id, 0, NULL },
			{ billing_resource_field(res, "status"), BILLING_FILTER_NOT_IN_SET, NULL, 0,
				&billing__sub_ended },
		};
		if ((rc = billing__count_records(ctx->st, tx, res, tenant_id, f, 2, 0, &n)) ==
		    BILLING_OK)
			*live += n;
	}
	return rc;
}

/* Refused while subscriptions that have not ended use the plan. */
static int before_delete(billing_ctx *ctx, billing_txn *tx, const void *current)
{
	const billing_plan_record *cur = current;
	int64_t live = 0;
	int rc;

	if ((rc = live_subscriptions(ctx, tx, cur->tenant_id, cur->id, &live)) < 0)
		return rc;
	if (live > 0)
		return billing__error_set(BILLING_ECONFLICT, "referenced",
			"%lld live subscription%s use the plan", (long long)live, live == 1 ? "" : "s");
	return BILLING_OK;
}

/* A deleted plan is inactive too. */
static void deleting(void *rec)
{
	((billing_plan_record *)rec)->active = 0;
}

/* The list's filters: a currency is a code (any case: the flow compares
 * it upper-cased), and a product id that is not well-formed names no
 * product (API-HTTP.md: resource_missing, without asking storage). */
static int check_list(const billing_filter *filters, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (filters[i].field == &fields[CURRENCY] && !billing__currency_code(filters[i].text))
			return billing__error_field(BILLING_EINVALID, "invalid", "currency",
				"currency must be an ISO 4217 currency code");
	for (i = 0; i < count; i++)
		if (filters[i].field == &fields[PRODUCT] &&
		    !billing__id_arg_ok(filters[i].text, billing__res_product.prefix))
			return product_missing();
	return BILLING_OK;
}

/* In the list's transaction: the product a filter names exists. */
static int check_list_rows(billing_ctx *ctx, billing_txn *tx, const char *tenant_id,
	const billing_filter *filters, size_t count)
{
	size_t i;
	int rc = BILLING_OK;

	for (i = 0; i < count && rc == BILLING_OK; i++)
		if (filters[i].field == &fields[PRODUCT])
			rc = product_in(ctx, tx, tenant_id, filters[i].text, BILLING_LOCK_NONE, NULL);
	return rc;
}

/* The operations as they were before the generic flow: their permission
 * entries and catalog lines. */
static const billing__rules_op ops[] = {
	{ BILLING_OP_PLANS_CREATE, "Create a plan.", NULL },
	{ BILLING_OP_PLANS_GET, "Fetch a plan (deleted plans are not found).", NULL },
	{ BILLING_OP_PLANS_UPDATE, "Change name, description, amount, trialDays, active or metadata.",
		"the plan id" },
	{ BILLING_OP_PLANS_DELETE, "Soft-delete a plan; its code stays reserved.", NULL },
	{ BILLING_OP_PLANS_LIST,
		"List plans; search on name or code; sortBy name, code, amount, createdAt.", NULL },
};

static const billing__list_filter filters[] = {
	{ "active", "active", BILLING_FILTER_EQ, "only active or inactive plans" },
	{ "currency", "currency", BILLING_FILTER_EQ, "ISO 4217 code" },
	{ "productId", "product_id", BILLING_FILTER_EQ, "plans of this product" },
	{ NULL, NULL, 0, NULL }
};

const billing__rules billing__plan_rules = {
	&billing__res_plan, check, before_delete, ops, filters, check_list, check_list_rows,
	deleting, NULL, NULL
};

/* ------------------------------------------------------------ the C API */

/* The stored price model for the getters (billing_plan_tier_at and the
 * others). */
static int decode_price(billing_plan *p)
{
	billing__checks ck = BILLING__CHECKS_INIT;
	billing__price_model *m;
	size_t i;

	if (!p->r.tiers && !p->r.transform_quantity)
		return BILLING_OK;
	if ((m = billing__malloc(sizeof(*m))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	/* A stored model was checked when it was written (billing_check
	 * reports one that was not): only the parse is wanted here. */
	billing__price_model_parse(m, &ck, p->r.billing_scheme, p->r.tiers_mode, p->r.amount,
		p->r.tiers, p->r.transform_quantity);
	if (m->tier_count && ((p->tiers = billing__calloc(m->tier_count, sizeof(*p->tiers))) ==
	    NULL || (p->decimals = billing__calloc(m->tier_count, sizeof(*p->decimals))) ==
	    NULL)) {
		billing__free(m);
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	for (i = 0; i < m->tier_count; i++) {
		const billing__price_tier *t = &m->tiers[i];
		p->tiers[i].up_to = t->up_to;
		p->tiers[i].unit_amount = t->decimal ? 0 : t->unit_amount;
		p->tiers[i].flat_amount = t->flat_amount;
		if (t->decimal) {
			billing__price_unit_format(p->decimals[i], sizeof(p->decimals[i]),
				t->unit_amount, t->unit_pico, 1);
			p->tiers[i].unit_amount_decimal = p->decimals[i];
		}
	}
	p->tier_count = m->tier_count;
	p->divide_by = p->r.transform_quantity ? m->divide_by : 0;
	p->round_down = p->r.transform_quantity && !m->round_up;
	billing__free(m);
	return BILLING_OK;
}

static int decode(void *obj)
{
	billing_plan *p = obj;
	int rc;

	p->tier_count = 0;
	p->tiers = NULL;
	p->decimals = NULL;
	p->divide_by = 0;
	p->round_down = 0;
	if ((rc = billing__metadata_decode(&p->metadata,
		p->r.metadata_json ? p->r.metadata_json : "{}")) < 0)
		return rc;
	return decode_price(p);
}

static void obj_free(void *obj)
{
	billing_plan_free(obj);
}

/* A plan the flow returned (rc), made public. */
static int publish(billing_plan **out, int rc)
{
	if (rc < 0)
		return rc;
	return billing__record_publish((void **)out, &billing__res_plan, sizeof(billing_plan),
		decode, obj_free);
}

static int check_params(const billing_plan_params *p)
{
	BILLING__ASSERT_ARG(p, "params");
	if (p->version == 0 || p->version > BILLING_PLAN_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_plan_params version %u", p->version);
	return BILLING_OK;
}

/* The params' fields named by bits (BILLING_PLAN_*) as the fields of
 * fields[]. */
static const struct { unsigned int bit; size_t field; } params_fields[] = {
	{ BILLING_PLAN_PRODUCT, PRODUCT }, { BILLING_PLAN_CODE, CODE }, { BILLING_PLAN_NAME, NAME },
	{ BILLING_PLAN_DESCRIPTION, DESCRIPTION }, { BILLING_PLAN_AMOUNT, AMOUNT },
	{ BILLING_PLAN_CURRENCY, CURRENCY }, { BILLING_PLAN_INTERVAL, INTERVAL },
	{ BILLING_PLAN_INTERVAL_COUNT, INTERVAL_COUNT }, { BILLING_PLAN_TRIAL_DAYS, TRIAL_DAYS },
	{ BILLING_PLAN_TERM_COUNT, TERM_COUNT }, { BILLING_PLAN_ACTIVE, ACTIVE },
	{ BILLING_PLAN_METADATA, METADATA }, { BILLING_PLAN_DEFAULT_TAX_RATES, TAX_RATES },
};

#define PARAMS_FIELD_COUNT (sizeof(params_fields) / sizeof(params_fields[0]))

/* The texts a record borrows from to_record: metadata (billing__free), the
 * tiers and transformQuantity (cJSON_free). */
typedef struct {
	char *metadata, *tiers, *transform;
} owned;

static void owned_free(owned *o)
{
	billing__free(o->metadata);
	cJSON_free(o->tiers);
	cJSON_free(o->transform);
	memset(o, 0, sizeof(*o));
}

/* The last params bit a version knows. */
static unsigned int last_bit(unsigned int version)
{
	return version >= 3 ? BILLING_PLAN_PRICE : version == 2 ? BILLING_PLAN_DEFAULT_TAX_RATES :
		BILLING_PLAN_METADATA;
}

/* One C tier as JSON's {upTo, unitAmount | unitAmountDecimal, flatAmount}
 * (flatAmount only when not 0); NULL when out of memory. */
static cJSON *tier_json(const billing_price_tier *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *up = !o ? NULL : t->up_to ? billing__jx_int_new(t->up_to) : cJSON_CreateNull();

	if (!up || !cJSON_AddItemToObject(o, "upTo", up)) {
		cJSON_Delete(up);
		cJSON_Delete(o);
		return NULL;
	}
	if (t->unit_amount_decimal ?
	    !cJSON_AddStringToObject(o, "unitAmountDecimal", t->unit_amount_decimal) :
	    !cJSON_AddItemToObject(o, "unitAmount", billing__jx_int_new(t->unit_amount))) {
		cJSON_Delete(o);
		return NULL;
	}
	if (t->flat_amount &&
	    !cJSON_AddItemToObject(o, "flatAmount", billing__jx_int_new(t->flat_amount))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/*
 * Version 3's price model as the record's JSON texts, as the JSON layer
 * would store them, so the rules that check JSON's fields (price_check,
 * core/price.c) check C's with the same errors: tiers
 * [{"upTo":n|null,"unitAmount":n | "unitAmountDecimal":"d","flatAmount":n}]
 * and transformQuantity {"divideBy":n,"round":"up"|"down"}. A round that
 * is neither goes in as "" for the rules to refuse. Only a tier count
 * without tiers is refused here, naming "tiers".
 */
static int price_texts(const billing_plan_params *p, billing__checks *ck, owned *o)
{
	size_t i;

	if (p->tier_count && !p->tiers)
		billing__check_fail(ck, "tiers", "tier_count is %zu but tiers is NULL", p->tier_count);
	else if (p->tier_count) {
		cJSON *arr = cJSON_CreateArray(), *t = NULL;
		for (i = 0; arr && i < p->tier_count; i++)
			if ((t = tier_json(&p->tiers[i])) == NULL || !cJSON_AddItemToArray(arr, t)) {
				cJSON_Delete(t);
				break;
			}
		if (arr && i == p->tier_count)
			o->tiers = billing__jx_print(arr);
		cJSON_Delete(arr);
		if (!o->tiers)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	if (p->transform_divide_by) {
		cJSON *t = cJSON_CreateObject();
		const char *round = p->transform_round == BILLING_PACKAGE_ROUND_UP ? "up" :
			p->transform_round == BILLING_PACKAGE_ROUND_DOWN ? "down" : "";
		if (t && cJSON_AddItemToObject(t, "divideBy",
		    billing__jx_int_new(p->transform_divide_by)) &&
		    cJSON_AddStringToObject(t, "round", round))
			o->transform = billing__jx_print(t);
		cJSON_Delete(t);
		if (!o->transform)
			return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	}
	/* JSON's enum cannot be anything else; C's can. */
	if (p->usage_type != BILLING_USAGE_LICENSED && p->usage_type != BILLING_USAGE_METERED)
		billing__check_fail(ck, "usageType", "must be licensed or metered");
	return BILLING_OK;
}

/* The record and mask of params' fields named by bits; o's texts are new
 * (or NULL): owned_free them. */
static int to_record(const billing_plan_params *p, unsigned int bits, billing_plan_record *r,
	uint64_t *given, owned *o, char rates[BILLING__TAX_RATES_TEXT])
{
	billing__checks ck = BILLING__CHECKS_INIT;
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(o, 0, sizeof(*o));
	*given = 0;
	if (bits & ~(last_bit(p->version) * 2 - 1))
		return billing__error_field(BILLING_EINVALID, "invalid", "fields",
			"unknown field bits");
	/* Version 2: the ids as the JSON array the record holds. */
	if (p->version >= 2 && (bits & BILLING_PLAN_DEFAULT_TAX_RATES) &&
	    (rc = billing__tax_rate_ids_json(rates, p->default_tax_rates,
		p->default_tax_rate_count, "defaultTaxRates")) < 0)
		return rc;
	r->default_tax_rates_json = p->version >= 2 && (bits & BILLING_PLAN_DEFAULT_TAX_RATES) ?
		rates : NULL;
	r->product_id = p->product_id;
	r->code = p->code;
	r->name = p->name;
	r->description = p->description;
	r->amount = p->amount;
	r->currency = p->currency;
	r->interval = (int)p->interval;
	r->interval_count = p->interval_count;
	r->trial_days = p->trial_days;
	r->term_count = p->term_count;
	for (i = 0; i < PARAMS_FIELD_COUNT; i++)
		if (bits & params_fields[i].bit)
			*given |= BIT(params_fields[i].field);
	if (bits & BILLING_PLAN_ACTIVE) {
		if (p->active == BILLING_TRUE || p->active == BILLING_FALSE)
			r->active = p->active == BILLING_TRUE;
		else
			billing__check_fail(&ck, "active", "must be true or false");
	}
	if (bits & BILLING_PLAN_METADATA) {
		if ((rc = billing__metadata_encode(&ck, p->metadata, p->metadata_count,
			&o->metadata)) < 0)
			return rc;
		r->metadata_json = o->metadata ? o->metadata : "{}";
	}
	if (bits & BILLING_PLAN_PRICE) {
		/* Fixed: on update the flow refuses these bits, naming the
		 * field. */
		if ((rc = price_texts(p, &ck, o)) < 0) {
			owned_free(o);
			return rc;
		}
		r->billing_scheme = (int)p->billing_scheme;
		r->tiers_mode = (int)p->tiers_mode;
		r->tiers = o->tiers;
		r->transform_quantity = o->transform;
		r->usage_type = (int)p->usage_type;
		r->meter_id = p->meter_id;
		*given |= BIT(SCHEME) | BIT(USAGE_TYPE);
		/* No mode is JSON's absent tiersMode (its enum has no name for 0). */
		if (p->tiers_mode != BILLING_TIERS_NONE)
			*given |= BIT(TIERS_MODE);
		if (o->tiers)
			*given |= BIT(TIERS);
		if (o->transform)
			*given |= BIT(TRANSFORM);
		if (p->meter_id)
			*given |= BIT(METER);
	}
	if ((rc = billing__checks_finish(&ck, "plan")) < 0)
		owned_free(o);
	return rc;
}

int billing_plan_create(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const billing_plan_params *p,
	const billing_call_options *opts)
{
	billing_plan_record r;
	/* Zero values are the defaults: a missing product, code or name is
	 * "is required"; the currency, the interval count (0: 1) and the
	 * activity default in the rules. */
	unsigned int bits = BILLING_PLAN_DESCRIPTION | BILLING_PLAN_AMOUNT | BILLING_PLAN_INTERVAL |
		BILLING_PLAN_TRIAL_DAYS | BILLING_PLAN_TERM_COUNT;
	char rates[BILLING__TAX_RATES_TEXT];
	owned o;
	uint64_t given;
	int rc;

	/* The role first, before the input is looked at. */
	if ((rc = billing__authorize_rules(ctx, who, &billing__plan_rules,
		BILLING_RESOURCE_OP_CREATE)) < 0 || (rc = check_params(p)) < 0)
		return rc;
	if (p->product_id)
		bits |= BILLING_PLAN_PRODUCT;
	if (p->code)
		bits |= BILLING_PLAN_CODE;
	if (p->name)
		bits |= BILLING_PLAN_NAME;
	if (p->currency)
		bits |= BILLING_PLAN_CURRENCY;
	if (p->interval_count)
		bits |= BILLING_PLAN_INTERVAL_COUNT;
	if (p->active != BILLING_UNSET)
		bits |= BILLING_PLAN_ACTIVE;
	if (p->metadata_count)
		bits |= BILLING_PLAN_METADATA;
	if (p->version >= 2 && p->default_tax_rate_count)
		bits |= BILLING_PLAN_DEFAULT_TAX_RATES;
	if (p->version >= 3)
		bits |= BILLING_PLAN_PRICE;
	if ((rc = to_record(p, bits, &r, &given, &o, rates)) < 0)
		return rc;
	rc = publish(out, billing__resource_create((void **)out, &billing__plan_rules, ctx, who,
		&r, given, opts));
	owned_free(&o);
	return rc;
}

int billing_plan_get(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const char *id)
{
	return publish(out, billing__resource_get((void **)out, &billing__plan_rules, ctx, who,
		id));
}

int billing_plan_update(billing_plan **out, billing_ctx *ctx,
	const billing_principal *who, const char *id, const billing_plan_params *p,
	const billing_call_options *opts)
{
	billing_plan_record r;
	char rates[BILLING__TAX_RATES_TEXT];
	owned o;
	uint64_t given;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, &billing__plan_rules,
		BILLING_RESOURCE_OP_UPDATE)) < 0 || (rc = check_params(p)) < 0 ||
	    (rc = to_record(p, p->fields, &r, &given, &o, rates)) < 0)
		return rc;
	rc = publish(out, billing__resource_update((void **)out, &billing__plan_rules, ctx, who,
		id, &r, given, p->expected_version, opts));
	owned_free(&o);
	return rc;
}

int billing_plan_delete(billing_ctx *ctx, const billing_principal *who,
	const char *id, int64_t expected_version)
{
	return billing__resource_delete(&billing__plan_rules, ctx, who, id, expected_version);
}

int billing_plan_list(billing_page **out, billing_ctx *ctx,
	const billing_principal *who, const billing_plan_list_params *params)
{
	billing_plan_list_params none = BILLING_PLAN_LIST_PARAMS_INIT;
	const billing_plan_list_params *p = params ? params : &none;
	billing_filter f[3];
	size_t n = 0;
	int rc;

	if ((rc = billing__authorize_rules(ctx, who, &billing__plan_rules,
		BILLING_RESOURCE_OP_LIST)) < 0)
		return rc;
	if (p->version == 0 || p->version > BILLING_PLAN_LIST_PARAMS_VERSION)
		return billing__error_field(BILLING_EINVALID, "invalid_version", "version",
			"unknown billing_plan_list_params version %u", p->version);
	if (p->active != BILLING_UNSET && p->active != BILLING_TRUE && p->active != BILLING_FALSE)
		return billing__error_field(BILLING_EINVALID, "invalid", "active",
			"active must be true, false or unset");
	memset(f, 0, sizeof(f));
	if (p->active != BILLING_UNSET)
		f[n++] = (billing_filter){ &fields[ACTIVE], BILLING_FILTER_EQ, NULL,
			p->active == BILLING_TRUE, NULL };
	/* Upper-cased as the JSON flow does; check_list refuses a bad code. */
	if (p->currency)
		f[n++] = (billing_filter){ &fields[CURRENCY], BILLING_FILTER_EQ,
			billing__currency_code(p->currency) ? billing__currency_code(p->currency) :
			p->currency, 0, NULL };
	if (p->product_id)
		f[n++] = (billing_filter){ &fields[PRODUCT], BILLING_FILTER_EQ, p->product_id, 0,
			NULL };
	if ((rc = billing__resource_list(out, &billing__plan_rules, ctx, who, &p->list, f,
		n)) < 0)
		return rc;
	if ((rc = billing__page_publish(*out, &billing__res_plan, sizeof(billing_plan), decode,
		obj_free)) < 0) {
		billing_page_free(*out);
		*out = NULL;
	}
	return rc;
}

const billing_plan *billing_page_plan(const billing_page *page, size_t i)
{
	return billing__resource_page_item(page, &billing__res_plan, i);
}

void billing_plan_free(billing_plan *p)
{
	if (p) {
		billing__metadata_free(&p->metadata);
		billing__free(p->tiers);
		billing__free(p->decimals);
	}
	billing__free(p);
}

const char *billing_plan_id(const billing_plan *p) { return p ? p->r.id : NULL; }
const char *billing_plan_tenant_id(const billing_plan *p) { return p ? p->r.tenant_id : NULL; }
const char *billing_plan_product_id(const billing_plan *p) { return p ? p->r.product_id : NULL; }
const char *billing_plan_code(const billing_plan *p) { return p ? p->r.code : NULL; }
const char *billing_plan_name(const billing_plan *p) { return p ? p->r.name : NULL; }
const char *billing_plan_description(const billing_plan *p)
{
	return p ? p->r.description : NULL;
}
int64_t billing_plan_amount(const billing_plan *p) { return p ? p->r.amount : 0; }
const char *billing_plan_currency(const billing_plan *p) { return p ? p->r.currency : NULL; }
billing_interval billing_plan_interval(const billing_plan *p)
{
	return p ? (billing_interval)p->r.interval : BILLING_INTERVAL_NONE;
}
int32_t billing_plan_interval_count(const billing_plan *p) { return p ? p->r.interval_count : 0; }
int32_t billing_plan_trial_days(const billing_plan *p) { return p ? p->r.trial_days : 0; }
int32_t billing_plan_term_count(const billing_plan *p) { return p ? p->r.term_count : 0; }
int billing_plan_active(const billing_plan *p) { return p ? p->r.active : 0; }
size_t billing_plan_metadata_count(const billing_plan *p) { return p ? p->metadata.count : 0; }
const billing_metadata_entry *billing_plan_metadata_at(const billing_plan *p, size_t i)
{
	return p && i < p->metadata.count ? &p->metadata.entries[i] : NULL;
}
const char *billing_plan_metadata_get(const billing_plan *p, const char *key)
{
	return p ? billing__metadata_get(&p->metadata, key) : NULL;
}
int64_t billing_plan_created_at(const billing_plan *p) { return p ? p->r.created_at : 0; }
int64_t billing_plan_updated_at(const billing_plan *p) { return p ? p->r.updated_at : 0; }
int64_t billing_plan_version(const billing_plan *p) { return p ? p->r.version : 0; }
const char *billing_plan_default_tax_rates(const billing_plan *p)
{
	return p ? p->r.default_tax_rates_json : NULL;
}
billing_price_scheme billing_plan_billing_scheme(const billing_plan *p)
{
	return p ? (billing_price_scheme)p->r.billing_scheme : BILLING_SCHEME_PER_UNIT;
}
billing_tiers_mode billing_plan_tiers_mode(const billing_plan *p)
{
	return p ? (billing_tiers_mode)p->r.tiers_mode : BILLING_TIERS_NONE;
}
size_t billing_plan_tier_count(const billing_plan *p) { return p ? p->tier_count : 0; }
const billing_price_tier *billing_plan_tier_at(const billing_plan *p, size_t i)
{
	return p && i < p->tier_count ? &p->tiers[i] : NULL;
}
int64_t billing_plan_transform_divide_by(const billing_plan *p) { return p ? p->divide_by : 0; }
billing_package_round billing_plan_transform_round(const billing_plan *p)
{
	return p && p->round_down ? BILLING_PACKAGE_ROUND_DOWN : BILLING_PACKAGE_ROUND_UP;
}
billing_usage_type billing_plan_usage_type(const billing_plan *p)
{
	return p ? (billing_usage_type)p->r.usage_type : BILLING_USAGE_LICENSED;
}
const char *billing_plan_meter_id(const billing_plan *p) { return p ? p->r.meter_id : NULL; }
