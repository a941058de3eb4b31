/*
 * Promotion codes (issue #22 item 2): a code customers type for a coupon,
 * on the generic flow (resource.c) like coupons (coupon.c): this file is
 * the descriptor and the rules.
 *
 * The code is case-insensitive: its key code_key (upper-cased) is unique
 * per tenant among the active codes (a partial unique index; an archived
 * code's text may be given to a new one). The coupon, expiresAt,
 * maxRedemptions, restrictions and customerId are fixed at creation; an
 * update changes active and metadata. timesRedeemed is computed by the
 * redemption (discount.c). There is no delete: a code is archived
 * (active false), as at Stripe.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cJSON.h>

#include "billing/money.h"
#include "core/coupon.h"
#include "core/resource.h"
#include "core/resources.h"

#define F(member) offsetof(struct billing__promotion_code, member)

/* Indexes into fields[], the bits of a given mask. */
enum {
	TENANT, ID, CODE, CODE_KEY, COUPON, ACTIVE, EXPIRES_AT, MAX_REDEMPTIONS,
	TIMES_REDEEMED, RESTRICTIONS, CUSTOMER, METADATA, CREATED_AT, UPDATED_AT, VERSION,
	FIELD_COUNT
};

#define CODE_MAX 64

static const billing_field fields[FIELD_COUNT] = {
	[TENANT] = { "tenant_id", BILLING_FIELD_TEXT, F(tenant_id),
		BILLING_FIELD_TENANT | BILLING_FIELD_FIXED, NULL, BILLING_JSON_NONE, 0, NULL, 0,
		NULL },
	[ID] = { "id", BILLING_FIELD_TEXT, F(id), BILLING_FIELD_ID | BILLING_FIELD_FIXED,
		"id", BILLING_JSON_STRING, 0, NULL, 0, "The promotion code's id (promo_...)." },
	[CODE] = { "code", BILLING_FIELD_TEXT, F(code), BILLING_FIELD_FIXED | BILLING_FIELD_SEARCH,
		"code", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_REQUIRED | BILLING_API_VERBATIM, NULL, 0,
		"What the customer types: 1-64 letters, digits, - and _, case-insensitive; "
		"unique in the tenant among active codes." },
	[CODE_KEY] = { "code_key", BILLING_FIELD_TEXT, F(code_key),
		BILLING_FIELD_FIXED | BILLING_FIELD_UNIQUE | BILLING_FIELD_FILTER, "code",
		BILLING_JSON_NONE, 0, NULL, 0, NULL },
	[COUPON] = { "coupon_id", BILLING_FIELD_TEXT, F(coupon_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "couponId", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_REQUIRED, NULL, 0,
		"The coupon it redeems (not deleted at creation)." },
	[ACTIVE] = { "active", BILLING_FIELD_INT, F(active), BILLING_FIELD_FILTER, "active",
		BILLING_JSON_BOOLEAN, BILLING_API_CREATE | BILLING_API_UPDATE, NULL, 0,
		"Whether it can be redeemed now; false archives it. Default true." },
	[EXPIRES_AT] = { "expires_at", BILLING_FIELD_INT64, F(expires_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL, "expiresAt", BILLING_JSON_TIME,
		BILLING_API_CREATE | BILLING_API_NULLABLE, NULL, 0,
		"The last moment it can be redeemed (in the future at creation); null: none." },
	[MAX_REDEMPTIONS] = { "max_redemptions", BILLING_FIELD_INT64, F(max_redemptions),
		BILLING_FIELD_FIXED | BILLING_FIELD_ZERO_NULL, "maxRedemptions",
		BILLING_JSON_INTEGER, BILLING_API_CREATE | BILLING_API_NULLABLE, NULL, 0,
		"How many times it can be redeemed in all (at least 1); null: no limit of its "
		"own (the coupon's still holds)." },
	[TIMES_REDEEMED] = { "times_redeemed", BILLING_FIELD_INT64, F(times_redeemed),
		BILLING_FIELD_FIXED | BILLING_FIELD_NONNEGATIVE, "timesRedeemed",
		BILLING_JSON_INTEGER, BILLING_API_COMPUTED, NULL, 0,
		"How many times it was redeemed; never above maxRedemptions." },
	[RESTRICTIONS] = { "restrictions", BILLING_FIELD_TEXT, F(restrictions_json),
		BILLING_FIELD_FIXED, "restrictions", BILLING_JSON_OBJECT, BILLING_API_CREATE, NULL,
		0,
		"{firstTimeTransaction: true (only a customer never invoiced), minimumAmount + "
		"minimumAmountCurrency (the first invoice's subtotal at least that)}; {}: none." },
	[CUSTOMER] = { "customer_id", BILLING_FIELD_TEXT, F(customer_id),
		BILLING_FIELD_FIXED | BILLING_FIELD_FILTER, "customerId", BILLING_JSON_STRING,
		BILLING_API_CREATE | BILLING_API_NULLABLE, NULL, 0,
		"The one customer who may redeem it; null: anyone." },
	[METADATA] = { "metadata", BILLING_FIELD_TEXT, F(metadata_json), 0, "metadata",
		BILLING_JSON_METADATA, BILLING_API_CREATE | BILLING_API_UPDATE, NULL, 0,
		"Your own string keys and values." },
	[CREATED_AT] = { "created_at", BILLING_FIELD_INT64, F(created_at),
		BILLING_FIELD_FIXED | BILLING_FIELD_SORT | BILLING_FIELD_RANGE, "createdAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it was created." },
	[UPDATED_AT] = { "updated_at", BILLING_FIELD_INT64, F(updated_at), 0, "updatedAt",
		BILLING_JSON_TIME, 0, NULL, 0, "When it last changed." },
	[VERSION] = { "version", BILLING_FIELD_INT64, F(version), BILLING_FIELD_VERSION,
		"version", BILLING_JSON_INTEGER, 0, NULL, 0,
		"1 at creation, +1 on every change (If-Match / expectedVersion)." },
};

/* What billing_check verifies: the ids name rows of the tenant. */
static const billing_reference references[] = {
	{ "coupon_id", &billing__res_coupon },
	{ "customer_id", &billing__res_customer },
};

#define R_READ ((1u << BILLING_ROLE_USER) | (1u << BILLING_ROLE_ADMIN))
#define R_WRITE (1u << BILLING_ROLE_ADMIN)

const billing_resource billing__res_promotion_code = {
	"promotion_code", "promotion_codes", "promotion-codes", "PromotionCode",
	"A code customers type to redeem a coupon, with its own limits and restrictions.",
	"promotion_codes", "promo", sizeof(struct billing__promotion_code), fields, FIELD_COUNT,
	NULL, NULL, 0, NULL, 0,
	BILLING_RESOURCE_OP_CREATE | BILLING_RESOURCE_OP_GET | BILLING_RESOURCE_OP_UPDATE |
		BILLING_RESOURCE_OP_LIST,
	R_READ, R_WRITE, 0, references, sizeof(references) / sizeof(references[0])
};

#define BIT(i) (UINT64_C(1) << (i))

/* ------------------------------------------------------------ rules */

/* The flow's own copy of a string of the record (resource.h: check may
 * rewrite it in place as long as it gets no longer). */
static char *own(const char *s)
{
	return (char *)(uintptr_t)s;
}

static int coupon_row(void *payload, const void *record)
{
	const struct billing__coupon *c = record;
	*(int64_t *)payload = c->deleted_at ? c->deleted_at : -1;
	return BILLING_OK;
}

/* The code's form, and its key: the code upper-cased. */
static void check_code(billing__checks *ck, struct billing__promotion_code *p)
{
	size_t i, n = p->code ? strlen(p->code) : 0;
	char *key = own(p->code_key);

	for (i = 0; i < n; i++) {
		char ch = p->code[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			break;
	}
	if (n < 1 || n > CODE_MAX || i < n) {
		billing__check_fail(ck, "code", "must be 1 to %d letters, digits, - and _",
			CODE_MAX);
		return;
	}
	for (i = 0; i < n; i++)
		if (key[i] >= 'a' && key[i] <= 'z')
			key[i] = (char)(key[i] - 'a' + 'A');
}

/* restrictions: {} or some of firstTimeTransaction (boolean), minimumAmount
 * (an integer above 0) with minimumAmountCurrency (ISO 4217), upper-cased
 * in place. */
static int check_restrictions(billing__checks *ck, struct billing__promotion_code *p)
{
	cJSON *root = cJSON_Parse(p->restrictions_json ? p->restrictions_json : "{}");
	const cJSON *e, *min, *cur;
	char code[4];

	if (!root)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	cJSON_ArrayForEach(e, root)
		if (strcmp(e->string, "firstTimeTransaction") != 0 &&
		    strcmp(e->string, "minimumAmount") != 0 &&
		    strcmp(e->string, "minimumAmountCurrency") != 0)
			billing__check_fail(ck, "restrictions", "takes firstTimeTransaction, "
				"minimumAmount and minimumAmountCurrency only");
	e = cJSON_GetObjectItemCaseSensitive(root, "firstTimeTransaction");
	if (e && !cJSON_IsBool(e))
		billing__check_fail(ck, "restrictions.firstTimeTransaction",
			"must be true or false");
	min = cJSON_GetObjectItemCaseSensitive(root, "minimumAmount");
	cur = cJSON_GetObjectItemCaseSensitive(root, "minimumAmountCurrency");
	/* cJSON keeps a number's double; integers up to 2^53 are exact. */
	if (min && (!cJSON_IsNumber(min) || min->valuedouble < 1 ||
	    min->valuedouble > 9007199254740992.0 ||
	    min->valuedouble != (double)(int64_t)min->valuedouble))
		billing__check_fail(ck, "restrictions.minimumAmount",
			"must be an integer above 0 (minor units)");
	if (!min != !cur)
		billing__check_fail(ck, "restrictions.minimumAmountCurrency",
			"minimumAmount and minimumAmountCurrency go together");
	else if (cur && (!cJSON_IsString(cur) ||
	    billing_currency_normalize(code, cur->valuestring) < 0)) {
		billing_error_clear();
		billing__check_fail(ck, "restrictions.minimumAmountCurrency",
			"must be an ISO 4217 currency code");
	} else if (cur) {
		/* Upper-cased in the canonical text (the flow's, unformatted): the
		 * same length, so in place. */
		static const char key[] = "\"minimumAmountCurrency\":\"";
		char *at = strstr(own(p->restrictions_json), key);
		if (at && strlen(cur->valuestring) == 3)
			memcpy(at + sizeof(key) - 1, code, 3);
	}
	cJSON_Delete(root);
	return BILLING_OK;
}

/* The fields step 1 of the flow refused or found missing (given without
 * them) are not checked again. */
static int check_create(billing__checks *ck, billing_ctx *ctx, billing_txn *tx,
	struct billing__promotion_code *p, uint64_t given)
{
	int64_t deleted = 0;
	bool found = false;
	int rc;

	if (given & BIT(CODE))
		check_code(ck, p);
	if (p->expires_at && p->expires_at <= p->created_at)
		billing__check_fail(ck, "expiresAt", "must be in the future");
	if (p->max_redemptions < 0)
		billing__check_fail(ck, "maxRedemptions", "must be at least 1");
	if ((rc = check_restrictions(ck, p)) < 0)
		return rc;
	/* The coupon read with the deleted ones: a deleted one is refused by
	 * name rather than as unknown. */
	if (given & BIT(COUPON)) {
		rc = billing__id_arg_ok(p->coupon_id, "coupon") ? billing__read(ctx->st, tx,
			&billing__res_coupon, p->tenant_id, p->coupon_id, BILLING_LOCK_NONE,
			coupon_row, &deleted) : BILLING_ENOTFOUND;
		if (rc == BILLING_ENOTFOUND) {
			billing_error_clear();
			billing__check_fail(ck, "couponId", "no such coupon in this tenant");
		} else if (rc < 0) {
			return rc;
		} else if (deleted > 0) {
			billing__check_fail(ck, "couponId", "the coupon is deleted");
		}
	}
	if (p->customer_id && (rc = billing__record_exists(ctx, tx, &billing__res_customer,
		p->tenant_id, p->customer_id, &found)) < 0)
		return rc;
	if (p->customer_id && !found)
		billing__check_fail(ck, "customerId", "no such customer in this tenant");
	return BILLING_OK;
}

static int check(billing_ctx *ctx, billing_txn *tx, const void *current, void *rec,
	uint64_t given)
{
	struct billing__promotion_code *p = rec;
	billing__checks ck = BILLING__CHECKS_INIT;
	int rc;

	if (!current) {
		if ((rc = check_create(&ck, ctx, tx, p, given)) < 0)
			return rc;
		if (!(given & BIT(ACTIVE)))
			p->active = 1;
		p->times_redeemed = 0;
	}
	return billing__checks_finish(&ck, "promotion code");
}

const billing__rules billing__promotion_code_rules = { &billing__res_promotion_code, check,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
