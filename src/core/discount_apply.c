/*
 * The discount pass over an invoice's lines (discount.h): what a coupon
 * takes off each line, before tax. Pure integer arithmetic: percentages
 * through billing_amount_mul_ratio (half away from zero), amounts through
 * billing_amount_allocate (parts that sum exactly).
 */
#include <string.h>

#include "billing/money.h"
#include "core/core.h"
#include "core/discount.h"

/* A line the terms apply to. */
static bool eligible(const billing__discount_line *l, const billing__discount_terms *t)
{
	size_t i;
	if (!t->product_count)
		return true;
	for (i = 0; l->product_id && i < t->product_count; i++)
		if (strcmp(t->product_ids[i], l->product_id) == 0)
			return true;
	return false;
}

static int percent(int64_t *out, const billing__discount_line *lines, size_t n,
	const billing__discount_terms *t)
{
	size_t i;
	int rc;
	for (i = 0; i < n; i++)
		if (eligible(&lines[i], t) && (rc = billing_amount_mul_ratio(&out[i],
			lines[i].amount, t->percent_off, 10000, BILLING_ROUND_HALF_UP)) < 0)
			return rc;
	return BILLING_OK;
}

static int amount(int64_t *out, const billing__discount_line *lines, size_t n,
	const billing__discount_terms *t)
{
	int64_t *weights, sum = 0, total;
	size_t i;
	int rc;

	if ((weights = billing__calloc(n, sizeof(*weights))) == NULL)
		return billing__error_set(BILLING_ENOMEM, NULL, NULL);
	for (i = 0; i < n; i++) {
		if (lines[i].amount <= 0 || !eligible(&lines[i], t))
			continue;
		weights[i] = lines[i].amount;
		if (__builtin_add_overflow(sum, weights[i], &sum)) {
			billing__free(weights);
			return billing__error_set(BILLING_EOVERFLOW, "overflow",
				"the discounted lines' sum does not fit an amount");
		}
	}
	total = t->amount_off < sum ? t->amount_off : sum;
	/* Each part is at most its weight: total is at most the weights' sum. */
	rc = total > 0 ? billing_amount_allocate(out, weights, n, total) : BILLING_OK;
	billing__free(weights);
	return rc;
}

int billing__discount_apply(int64_t *out, const billing__discount_line *lines, size_t n,
	const char *currency, const billing__discount_terms *terms)
{
	BILLING__ASSERT_ARG(out || !n, "out");
	BILLING__ASSERT_ARG(terms, "terms");
	if (n)
		memset(out, 0, n * sizeof(*out));
	if (!n)
		return BILLING_OK;
	if (terms->percent_off > 0)
		return percent(out, lines, n, terms);
	if (terms->amount_off > 0 && terms->currency && currency &&
	    strcmp(terms->currency, currency) == 0)
		return amount(out, lines, n, terms);
	return BILLING_OK;
}
