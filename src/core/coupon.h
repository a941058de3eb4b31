/*
 * Coupons and promotion codes inside the library (coupon.c,
 * promotion_code.c): their records on the generic flow, for what redeems
 * them and for billing_check.
 */
#ifndef BILLING_CORE_COUPON_H
#define BILLING_CORE_COUPON_H

#include <stdint.h>

#include "billing/sys/resource.h"

/* percentOff is kept in hundredths of a percent: 2550 is 25.50 %. */
#define BILLING__COUPON_PERCENT_SCALE 2
#define BILLING__COUPON_PERCENT_MAX 10000   /* 100 % */
#define BILLING__COUPON_PERIODS_MAX 1200
#define BILLING__COUPON_PRODUCTS_MAX 100

/* A coupon's duration (the descriptor's enum). */
enum {
	BILLING__COUPON_ONCE = 1,
	BILLING__COUPON_REPEATING = 2,
	BILLING__COUPON_FOREVER = 3
};

/* The row of the coupons table, as the descriptor lays it out. */
struct billing__coupon {
	const char *tenant_id;
	const char *id;
	int64_t percent_off;         /* hundredths of a percent; 0: amount_off instead */
	int64_t amount_off;          /* minor units of currency; 0: percent_off instead */
	const char *currency;        /* with amount_off; NULL otherwise */
	int duration;                /* BILLING__COUPON_* */
	int64_t duration_in_periods; /* repeating: how many periods; else 0 */
	int64_t max_redemptions;     /* 0: no limit */
	int64_t redeem_by;           /* 0: none */
	const char *applies_to_json; /* {} or {"productIds":[...]} */
	int64_t times_redeemed;
	const char *metadata_json;
	int64_t deleted_at;          /* 0: not deleted */
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

/* The row of the promotion_codes table (promotion_code.c). */
struct billing__promotion_code {
	const char *tenant_id;
	const char *id;
	const char *code;
	const char *code_key;        /* code upper-cased: unique among active codes */
	const char *coupon_id;
	int active;
	int64_t expires_at;          /* 0: none */
	int64_t max_redemptions;     /* 0: no limit */
	int64_t times_redeemed;
	const char *restrictions_json;
	const char *customer_id;     /* NULL: anyone */
	const char *metadata_json;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

extern const billing_resource billing__res_coupon;
extern const billing_resource billing__res_promotion_code;

#endif
