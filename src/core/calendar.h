/*
 * Billing calendar: the start of each period of a subscription's schedule,
 * the period that contains a moment, the two roundings of an invoice line
 * (proration and tax), and the RFC 3339 form of a time.
 *
 * Times are int64_t UTC seconds since 1970-01-01T00:00:00Z, in
 * [0, BILLING_TIME_MAX]. Dates are computed with the library's own proleptic
 * Gregorian arithmetic, never timegm()/gmtime(), so results do not depend on
 * the platform's time_t range, time zone or locale. Every function leaves
 * *out untouched when it fails and sets the thread's error.
 */
#ifndef BILLING_CORE_CALENDAR_H
#define BILLING_CORE_CALENDAR_H

#include <stddef.h>
#include <stdint.h>
#include "billing/plan.h"   /* billing_interval: BILLING_DAY, WEEK, MONTH, YEAR */

/* The last second the library represents: 9999-12-31T23:59:59Z. */
#define BILLING_TIME_MAX  INT64_C(253402300799)

/* Bytes billing__time_format() needs: "YYYY-MM-DDTHH:MM:SSZ" and a NUL. */
#define BILLING_TIME_FORMAT_SIZE 21

/*
 * The start of period n (n >= 0) of a schedule anchored at `anchor` whose
 * periods are `count` x `interval` long: anchor + n*count intervals.
 *
 * Always computed from the anchor, never from the previous period, so there
 * is no drift. DAY is 86400 s and WEEK 7 days (UTC has no DST). MONTH and
 * YEAR (= 12 months) keep the anchor's day of month, clamped to the last day
 * of a shorter month: anchor Jan 31 -> Feb 28/29 -> Mar 31 -> Apr 30 ...;
 * anchor Feb 29 2024, yearly -> Feb 28 2025 ... Feb 29 2028. The time of day
 * is the anchor's. Period 0 starts at the anchor.
 *
 * @param out receives the start (UTC seconds)
 * @return BILLING_OK;
 *         BILLING_EINVALID when out is NULL, interval is not DAY, WEEK, MONTH
 *         or YEAR, count < 1 or n < 0;
 *         BILLING_EOVERFLOW when anchor is outside [0, BILLING_TIME_MAX] or
 *         the start would be after BILLING_TIME_MAX
 */
int billing__period_start(int64_t *out, int64_t anchor, billing_interval interval,
	int32_t count, int64_t n);

/*
 * The start of the period that ends at the anchor (period -1 of its
 * schedule, months clamped as above: the one before Mar 31 starts Feb 28 or
 * 29). A partial first period [start, anchor) lies within it and is
 * prorated over its length (docs/billing.md, "A billing-cycle anchor").
 *
 * @return BILLING_OK; BILLING_EINVALID as billing__period_start;
 *         BILLING_EOVERFLOW when anchor is outside [0, BILLING_TIME_MAX] or
 *         that start would be before the epoch
 */
int billing__period_start_before(int64_t *out, int64_t anchor, billing_interval interval,
	int32_t count);

/*
 * The index of the period that contains t: the largest n with
 * billing__period_start(n) <= t, so that
 * period_start(n) <= t < period_start(n + 1) (the latter may be past
 * BILLING_TIME_MAX). Constant time: the index is estimated from the
 * calendar difference and corrected by at most a step or two.
 *
 * @param out receives n (>= 0)
 * @return BILLING_OK;
 *         BILLING_EINVALID when out is NULL, interval or count is bad (as
 *         above) or t < anchor;
 *         BILLING_EOVERFLOW when anchor or t is outside [0, BILLING_TIME_MAX]
 */
int billing__period_index(int64_t *out, int64_t anchor, billing_interval interval,
	int32_t count, int64_t t);

/*
 * Proration of one invoice line (API-HTTP.md, "Rounding"): the full-period
 * amount times part_seconds / whole_seconds, rounded half away from zero
 * (BILLING_ROUND_HALF_UP) in exact integer arithmetic: 100 * 1/8 -> 13,
 * -100 * 1/8 -> -13. The amount may be negative (a credit). The result's
 * magnitude never exceeds |amount|, so it cannot overflow.
 *
 * @param out receives the prorated amount (minor units)
 * @return BILLING_OK; BILLING_EINVALID when out is NULL, whole_seconds <= 0
 *         or part_seconds is outside [0, whole_seconds]
 */
int billing__prorate(int64_t *out, int64_t amount, int64_t part_seconds,
	int64_t whole_seconds);

/*
 * Tax of one invoice line: amount * rate_bp / BILLING_RATE_SCALE (10000),
 * rounded half away from zero in exact integer arithmetic. rate_bp is a
 * rate in basis points (825 = 8.25 %).
 *
 * @param out receives the tax (minor units, same sign as amount)
 * @return BILLING_OK; BILLING_EINVALID when out is NULL or rate_bp is
 *         outside [0, BILLING_RATE_SCALE]
 */
int billing__line_tax(int64_t *out, int64_t amount, int32_t rate_bp);

/*
 * Formats t as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (always UTC, whole seconds,
 * 20 characters) into buf, NUL-terminated.
 *
 * @param buf  receives the text; untouched on failure
 * @param size at least BILLING_TIME_FORMAT_SIZE (21)
 * @return BILLING_OK; BILLING_EINVALID when buf is NULL or size < 21;
 *         BILLING_EOVERFLOW when t is outside [0, BILLING_TIME_MAX]
 */
int billing__time_format(char *buf, size_t size, int64_t t);

/*
 * Parses exactly "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS+00:00"
 * (upper-case 'T' and 'Z'; whole seconds; no fraction, no leap second 60,
 * no other offset, nothing after it) into UTC seconds.
 *
 * @param out receives the time
 * @return BILLING_OK;
 *         BILLING_EINVALID when out or text is NULL, the text has another
 *         form (including "-00:00" and any offset but +00:00), or names no
 *         real date or time ("2026-02-30", month 13, hour 24);
 *         BILLING_EOVERFLOW for a well-formed date before 1970 or after
 *         year 9999 (a year of more than four digits, such as 10000)
 */
int billing__time_parse(int64_t *out, const char *text);

/* The first second (UTC) of month (1..12) of year (1..9999). */
int64_t billing__month_start(int64_t year, int month);

/* The first second (UTC) of the month that contains t (t in [0,
 * BILLING_TIME_MAX]): 2026-02-17T10:00:00Z -> 2026-02-01T00:00:00Z. The next
 * month's start is billing__month_floor(start + 31 days). */
int64_t billing__month_floor(int64_t t);

#endif
