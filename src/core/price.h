/*
 * Price models of plans (issue #21): what `quantity` of a plan costs. The
 * one place the rule lives; invoices (billing__plan_line), the preview and
 * billing_check all call billing__price_apply.
 *
 * A plan is priced per unit (the default; every plan from before price
 * models), optionally by the package (transformQuantity: the quantity
 * divided by divideBy, rounded up or down, times the amount), or by tiers:
 *
 *   graduated  each unit is priced by the tier it falls in; each tier
 *              reached adds its flat amount;
 *   volume     every unit is priced by the one tier the whole quantity
 *              falls in, plus that tier's flat amount.
 *
 * A tier covers the quantities above the previous tier's upTo up to and
 * including its own; the last has no upTo (open-ended). A quantity of 0
 * reaches no tier and costs 0 in every model.
 *
 * A tier's unit amount is whole minor units, or a decimal with up to 12
 * places of a minor unit (unitAmountDecimal, as Stripe's
 * unit_amount_decimal). Decimal amounts are summed exactly and the line's
 * amount is rounded once, half away from zero (amounts are never negative,
 * so half up); a graduated line's tier amounts are the differences of the
 * rounded running sums, so they always add up to the line's amount.
 *
 * Amounts are int64 minor units; a result above BILLING_AMOUNT_MAX is
 * BILLING_EOVERFLOW ("... does not fit an amount").
 */
#ifndef BILLING_CORE_PRICE_H
#define BILLING_CORE_PRICE_H

#include <stddef.h>
#include <stdint.h>

#include "core/errors.h"

/* billing_plan_record.billing_scheme */
#define BILLING__SCHEME_PER_UNIT 0
#define BILLING__SCHEME_TIERED 1
/* billing_plan_record.tiers_mode (0: none, per-unit plans) */
#define BILLING__TIERS_GRADUATED 1
#define BILLING__TIERS_VOLUME 2
/* billing_plan_record.usage_type */
#define BILLING__USAGE_LICENSED 0
#define BILLING__USAGE_METERED 1

/* The most tiers a plan may have. */
#define BILLING__PRICE_TIERS_MAX 50
/* A unit amount's decimal places beyond the minor unit; the scale of
 * unit_pico. */
#define BILLING__PRICE_DECIMALS 12
#define BILLING__PRICE_PICO INT64_C(1000000000000)

typedef struct {
	int64_t up_to;       /* the last quantity of the tier; 0: open-ended (the last) */
	int64_t unit_amount; /* whole minor units; with unit_pico, the decimal's whole part */
	int64_t unit_pico;   /* the decimal's fraction in 10^-12 of a minor unit, 0..10^12-1 */
	int decimal;         /* given as unitAmountDecimal */
	int64_t flat_amount;
} billing__price_tier;

typedef struct {
	int scheme;          /* BILLING__SCHEME_* */
	int mode;            /* BILLING__TIERS_*; 0 when per unit */
	int64_t unit_amount; /* per unit: the amount of a unit (of a package) */
	int64_t divide_by;   /* per unit: a package's size; 0 or 1: no packages */
	int round_up;        /* packages: 1 rounds a partial package up, 0 down */
	size_t tier_count;
	billing__price_tier tiers[BILLING__PRICE_TIERS_MAX];
} billing__price_model;

/* One tier of a line: the units priced by it and what they cost. */
typedef struct {
	int64_t up_to;       /* 0: open-ended */
	int64_t quantity;
	int64_t unit_amount;
	int64_t unit_pico;
	int decimal;
	int64_t flat_amount;
	int64_t amount;
} billing__price_tier_use;

typedef struct {
	int64_t amount;      /* the line's amount */
	int64_t units;       /* the quantity priced: packages when divided, else the quantity */
	size_t tier_count;   /* tiered: graduated, the tiers reached; volume, 1 (0 for 0) */
	billing__price_tier_use tiers[BILLING__PRICE_TIERS_MAX];
} billing__price_result;

/*
 * The amount of `quantity` (>= 0) under model m, with the tiers it used.
 * Pure: no storage, no clock. BILLING_EINVALID for a negative quantity or
 * a model billing__price_model_parse would not make; BILLING_EOVERFLOW when
 * the amount exceeds BILLING_AMOUNT_MAX. *out is written only on success.
 */
int billing__price_apply(billing__price_result *out, const billing__price_model *m,
	int64_t quantity);

/*
 * The model of a plan from its stored fields: scheme, mode, unit amount
 * (0 on a tiered plan), tiers (JSON array text or NULL) and
 * transformQuantity (JSON object text or NULL). Every problem is a field
 * error in ck naming the field ("tiers[2].upTo",
 * "transformQuantity.divideBy"); the caller finishes ck. *out is a model
 * billing__price_apply takes when ck gained no error.
 */
void billing__price_model_parse(billing__price_model *out, billing__checks *ck, int scheme,
	int mode, int64_t unit_amount, const char *tiers, const char *transform);

/* A tier's unit amount as text: "12" or "0.000123" (the decimal without
 * trailing zeros); buf of at least 48 bytes. */
void billing__price_unit_format(char *buf, size_t size, int64_t whole, int64_t pico,
	int decimal);

#endif
