/*
 * Coupons (issue #22 item 1): what a discount takes off, on the generic
 * flow (resource.c) like tax rates: this file is the descriptor and the
 * rules; storage, the JSON layer, the HTTP routes (/v1/coupons), OpenAPI
 * and the bindings read the descriptor.
 *
 * A coupon takes off a percentage (percentOff, hundredths of a percent:
 * 2550 is 25.50 %) or an amount in one currency (amountOff + currency),
 * for once (the first invoice), a number of periods (repeating,
 * durationInPeriods) or forever. Its terms are fixed once created (only
 * metadata changes): a discount made from it keeps meaning what it meant.
 * maxRedemptions and redeemBy limit new redemptions; timesRedeemed counts
 * them (computed, under the coupon's row lock, by discount.c). appliesTo
 * {productIds} limits the invoice lines it discounts ({}: every line).
 * DELETE is a soft delete: no new redemption, while the discounts made
 * from it keep working (they read the row with the deleted ones).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cJSON.h>

#include "billing/money.h"
#include "core/coupon.h"
#include "core/resource.h"
#include "core/resources.h"

#define F(member) offsetof(struct billing__coupon, member)

/* Indexes into fields[], the bits of a given mask. */
enum {
	TENANT, ID, PERCENT_OFF, AMOUNT_OFF, CURRENCY, DURATION, DURATION_IN_PERIODS,
	MAX_REDEMPTIONS, REDEEM_BY, APPLIES_TO, TIMES_REDEEMED, METADATA, DELETED, CREATED_AT,
	UPDATED_AT, VERSION, FIELD_COUNT
};

/* billing__coupon_duration by value. */
static const char *const duration_names[] = { "", "once", "repeating", "forever", NULL };

#define CREATE_FIXED (BILLING_API_CREATE | BILLING_API_NULLABLE)

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, BILLING_API_CREATE | BILLING_API_VERBATIM, NULL, 0,
		"The coupon's id: coupon_ and 26 characters made by the library, or your own "
		"on create: coupon_ followed by letters, digits, - or _ (47 characters at most), "
		"unique in the tenant." },
	[PERCENT_OFF] = { "percent_off", BILLING_FIELD_INT64, F(percent_off),
		BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL | BILLING_FIELD_NONNEGATIVE,
		"percentOff", BILLING_JSON_DECIMAL, CREATE_FIXED | BILLING_API_NUMBER, NULL,
		BILLING__COUPON_PERCENT_SCALE,
		"The percentage taken off, above 0 and at most 100 with at most 2 decimal "
		"places; null when amountOff is set." },
	[AMOUNT_OFF] = { "amount_off", BILLING_FIELD_INT64, F(amount_off),
		BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL | BILLING_FIELD_NONNEGATIVE,
		"amountOff", BILLING_JSON_INTEGER, CREATE_FIXED, NULL, 0,
		"The amount taken off each invoice, in minor units of currency (above 0); null "
		"when percentOff is set." },
	[CURRENCY] = { "currency", BILLING_FIELD_TEXT, F(currency),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "currency", BILLING_JSON_STRING,
		CREATE_FIXED | BILLING_API_VERBATIM | BILLING_API_UPPER, NULL, 0,
		"ISO 4217 currency of amountOff (required with it); null for percentOff." },
	[DURATION] = { "duration", BILLING_FIELD_INT, F(duration),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "duration", BILLING_JSON_ENUM,
		BILLING_API_CREATE, duration_names, 0,
		"once (the first invoice only), repeating (durationInPeriods billing periods) "
		"or forever. Default once." },
	[DURATION_IN_PERIODS] = { "duration_in_periods", BILLING_FIELD_INT64,
		F(duration_in_periods), BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL,
		"durationInPeriods", BILLING_JSON_INTEGER, CREATE_FIXED, NULL, 0,
		"How many billing periods a repeating discount lasts (1-1200); required for "
		"repeating, null otherwise." },
	[MAX_REDEMPTIONS] = { "max_redemptions", BILLING_FIELD_INT64, F(max_redemptions),
		BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL, "maxRedemptions",
		BILLING_JSON_INTEGER, CREATE_FIXED, NULL, 0,
		"How many discounts may be made from it in all (at least 1); null: no limit." },
	[REDEEM_BY] = { "redeem_by", BILLING_FIELD_INT64, F(redeem_by),
		BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL, "redeemBy", BILLING_JSON_TIME,
		CREATE_FIXED, NULL, 0,
		"The last moment a discount may be made from it (in the future at creation); "
		"null: none." },
	[APPLIES_TO] = { "applies_to", BILLING_FIELD_TEXT, F(applies_to_json),
		BILLING_FIELD_FIXED, "appliesTo", BILLING_JSON_OBJECT, BILLING_API_CREATE, NULL, 0,
		"{\"productIds\": [...]}: only invoice lines of these products (1-100 products of "
		"the tenant) are discounted; {} (the default): every line." },
	[TIMES_REDEEMED] = { "times_redeemed", BILLING_FIELD_INT64, F(times_redeemed),
		BILLING_FIELD_FIXED | BILLING_FIELD_NONNEGATIVE, "timesRedeemed",
		BILLING_JSON_INTEGER, BILLING_API_COMPUTED, NULL, 0,
		"How many discounts were made from it; never above maxRedemptions." },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), 0, "metadata",
		BILLING_JSON_METADATA, BILLING_API_CREATE | BILLING_API_UPDATE, NULL, 0,
		"Your own string keys and values; the one thing an update changes." },
	[DELETED] = { "deleted_at", BILLING_FIELD_INT64, F(deleted_at),
		BILLING_FIELD_ZERO_NULL | BILLING_FIELD_DELETED, NULL, BILLING_JSON_NONE, 0, NULL,
		0, NULL },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was created." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it last changed." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0,
		"1 at creation, +1 on every change (If-Match / expectedVersion)." },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

const billing_resource billing__res_coupon = {
	"coupon", "coupons", "coupons", "Coupon",
	"What a discount takes off: a percentage or an amount, once, for some periods or "
	"forever, for every product or some.",
	"coupons", "coupon", sizeof(struct billing__coupon), fields, FIELD_COUNT,
	NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_CRUD, R_READ, R_WRITE, 0, NULL, 0
};

#define BIT(i) (UINT64_C(1) << (i))

/* ------------------------------------------------------------ rules */

/* appliesTo: {} or {"productIds": [1-100 distinct ids of the tenant's products]}. */
static int check_applies_to(billing__checks *ck, billing_ctx *ctx, billing_txn *tx,
	const struct billing__coupon *c)
{
	cJSON *root = cJSON_Parse(c->applies_to_json ? c->applies_to_json : "{}");
	const cJSON *ids, *e, *d;
	int n = 0, rc = BILLING_OK;
	bool found;

	if (!root)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	ids = cJSON_GetObjectItemCaseSensitive(root, "productIds");
	if (!root->child)
		goto out;
	if (!ids || root->child->next || !cJSON_IsArray(ids)) {
		billing__check_fail(ck, "appliesTo", "takes only productIds, an array of product ids");
		goto out;
	}
	cJSON_ArrayForEach(e, ids) {
		if (!cJSON_IsString(e) || ++n > BILLING__COUPON_PRODUCTS_MAX) {
			billing__check_fail(ck, "appliesTo.productIds",
				"must be 1 to %d product ids", BILLING__COUPON_PRODUCTS_MAX);
			goto out;
		}
		for (d = ids->child; d != e; d = d->next)
			if (strcmp(d->valuestring, e->valuestring) == 0) {
				billing__check_fail(ck, "appliesTo.productIds",
					"names %s twice", e->valuestring);
				goto out;
			}
		if ((rc = billing__record_exists(ctx, tx, &billing__res_product, c->tenant_id,
			e->valuestring, &found)) < 0)
			goto out;
		if (!found) {
			billing__check_fail(ck, "appliesTo.productIds",
				"no such product in this tenant: %s", e->valuestring);
			goto out;
		}
	}
	if (n == 0)
		billing__check_fail(ck, "appliesTo.productIds", "must be 1 to %d product ids",
			BILLING__COUPON_PRODUCTS_MAX);
out:
	cJSON_Delete(root);
	return rc;
}

/* The flow's own copy of a string of the record (resource.h: check may
 * rewrite it in place as long as it gets no longer). */
static char *own(const char *s)
{
	return (char *)(uintptr_t)s;
}

static void check_off(billing__checks *ck, struct billing__coupon *c)
{
	char code[4];

	if (c->percent_off && c->amount_off)
		billing__check_fail(ck, "percentOff", "give percentOff or amountOff, not both");
	else if (!c->percent_off && !c->amount_off)
		billing__check_fail(ck, "percentOff", "percentOff or amountOff is required");
	if (c->percent_off < 0 || c->percent_off > BILLING__COUPON_PERCENT_MAX)
		billing__check_fail(ck, "percentOff", "must be above 0 and at most 100");
	if (c->amount_off < 0)
		billing__check_fail(ck, "amountOff", "must be above 0");
	if (c->amount_off && !c->currency)
		billing__check_fail(ck, "currency", "is required with amountOff");
	else if (!c->amount_off && c->currency)
		billing__check_fail(ck, "currency", "goes only with amountOff");
	else if (c->currency) {
		if (billing_currency_normalize(code, c->currency) < 0) {
			billing_error_clear();
			billing__check_fail(ck, "currency", "must be an ISO 4217 currency code");
		} else {
			memcpy(own(c->currency), code, sizeof(code));
		}
	}
}

static int check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	struct billing__coupon *c = rec;
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;
	(void)given;

	/* An update changes only metadata, which the flow checked. */
	if (current)
		return BILLING_OK;
	check_off(&ck, c);
	if (c->duration == 0)
		c->duration = BILLING__COUPON_ONCE;
	if (c->duration == BILLING__COUPON_REPEATING &&
	    (c->duration_in_periods < 1 || c->duration_in_periods > BILLING__COUPON_PERIODS_MAX))
		billing__check_fail(&ck, "durationInPeriods",
			"is required for a repeating coupon: 1 to %d periods",
			BILLING__COUPON_PERIODS_MAX);
	else if (c->duration != BILLING__COUPON_REPEATING && c->duration_in_periods)
		billing__check_fail(&ck, "durationInPeriods", "goes only with duration repeating");
	if (c->max_redemptions < 0)
		billing__check_fail(&ck, "maxRedemptions", "must be at least 1");
	if (c->redeem_by && c->redeem_by <= c->created_at)
		billing__check_fail(&ck, "redeemBy", "must be in the future");
	if ((rc = check_applies_to(&ck, ctx, tx, c)) < 0)
		return rc;
	c->times_redeemed = 0;
	return billing__checks_finish(&ck, "coupon");
}

const billing__rules billing__coupon_rules = { &billing__res_coupon, check, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL };
