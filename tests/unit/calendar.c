/*
 * Unit tests for calendar.c: period boundaries from an anchor (month-end
 * clamping, no drift, the year-9999 limit), the period containing a moment
 * (checked against period_start on random schedules), the per-line
 * roundings of proration and tax, and RFC 3339 timestamps. The civil-date
 * arithmetic is checked against a naive day-by-day calendar over the whole
 * range and against epoch values computed elsewhere, so the hand-written
 * expected dates below do not lean on the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "billing/errors.h"
#include "core/calendar.h"

#define PROPERTY_CASES 100000
#define SENTINEL INT64_C(4242424242)
#define DAY INT64_C(86400)

/* ---------------------------------------------------------------- helpers */

/* xorshift64*, fixed seed: the same cases on every run. */
static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* Uniform-enough in [lo, hi]. */
static int64_t rng_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

static int64_t T(const char *text)
{
	int64_t t = SENTINEL;

	assert_int_equal(billing__time_parse(&t, text), BILLING_OK);
	return t;
}

static void assert_time(int64_t t, const char *expected)
{
	char buf[BILLING_TIME_FORMAT_SIZE];

	assert_int_equal(billing__time_format(buf, sizeof(buf), t), BILLING_OK);
	assert_string_equal(buf, expected);
}

static int64_t start(int64_t anchor, billing_interval iv, int32_t count, int64_t n)
{
	int64_t out = SENTINEL;

	assert_int_equal(billing__period_start(&out, anchor, iv, count, n), BILLING_OK);
	return out;
}

static int64_t idx(int64_t anchor, billing_interval iv, int32_t count, int64_t t)
{
	int64_t out = SENTINEL;

	assert_int_equal(billing__period_index(&out, anchor, iv, count, t), BILLING_OK);
	return out;
}

/* Each period of a schedule against hand-written dates, and the index of
 * each start and of the second before it. */
static void assert_schedule(const char *anchor_text, billing_interval iv, int32_t count,
	const char *const *expected, size_t n)
{
	int64_t anchor = T(anchor_text);
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t s = start(anchor, iv, count, (int64_t)i);

		assert_time(s, expected[i]);
		assert_int_equal(idx(anchor, iv, count, s), i);
		if (i > 0)
			assert_int_equal(idx(anchor, iv, count, s - 1), i - 1);
	}
}

static void assert_fails(int rc, int code)
{
	assert_int_equal(rc, code);
	assert_int_equal(billing_error_last()->code, code);
}

static bool naive_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int naive_month_days(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && naive_leap(y) ? 29 : d[m - 1];
}

/* ------------------------------------------------------------- civil dates */

static void time_format__known_epoch_values(void **state)
{
	(void)state;
	/* Values from an independent implementation (Python's calendar.timegm). */
	assert_time(0, "1970-01-01T00:00:00Z");
	assert_time(INT64_C(946684799), "1999-12-31T23:59:59Z");
	assert_time(INT64_C(951782400), "2000-02-29T00:00:00Z");
	assert_time(INT64_C(1706659200), "2024-01-31T00:00:00Z");
	assert_time(INT64_C(1709210096), "2024-02-29T12:34:56Z");
	assert_time(INT64_C(2147483648), "2038-01-19T03:14:08Z");
	assert_time(BILLING_TIME_MAX, "9999-12-31T23:59:59Z");
}

static void time_format__every_day_1970_to_9999_matches_a_naive_calendar(void **state)
{
	char expected[48], buf[BILLING_TIME_FORMAT_SIZE];
	int y = 1970, m = 1, d = 1;
	int64_t day = 0, parsed;

	(void)state;
	for (;;) {
		int64_t t = day * DAY + (day % 86400);

		snprintf(expected, sizeof(expected), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
			(int)(day % 86400 / 3600), (int)(day % 3600 / 60), (int)(day % 60));
		assert_int_equal(billing__time_format(buf, sizeof(buf), t), BILLING_OK);
		assert_string_equal(buf, expected);
		assert_int_equal(billing__time_parse(&parsed, expected), BILLING_OK);
		assert_int_equal(parsed, t);
		if (y == 9999 && m == 12 && d == 31)
			break;
		day++;
		if (++d > naive_month_days(y, m)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	assert_int_equal(day * DAY + DAY - 1, BILLING_TIME_MAX);
}

/* ---------------------------------------------------------------- periods */

static void period_start__monthly_from_jan_31_clamps_to_month_end_for_two_years(void **state)
{
	static const char *const expected[] = {
		"2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z",
		"2024-04-30T00:00:00Z", "2024-05-31T00:00:00Z", "2024-06-30T00:00:00Z",
		"2024-07-31T00:00:00Z", "2024-08-31T00:00:00Z", "2024-09-30T00:00:00Z",
		"2024-10-31T00:00:00Z", "2024-11-30T00:00:00Z", "2024-12-31T00:00:00Z",
		"2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z", "2025-03-31T00:00:00Z",
		"2025-04-30T00:00:00Z", "2025-05-31T00:00:00Z", "2025-06-30T00:00:00Z",
		"2025-07-31T00:00:00Z", "2025-08-31T00:00:00Z", "2025-09-30T00:00:00Z",
		"2025-10-31T00:00:00Z", "2025-11-30T00:00:00Z", "2025-12-31T00:00:00Z",
		"2026-01-31T00:00:00Z",
	};

	(void)state;
	assert_schedule("2024-01-31T00:00:00Z", BILLING_MONTH, 1, expected,
		sizeof(expected) / sizeof(expected[0]));
	/* The anchor itself, by its epoch value. */
	assert_int_equal(start(INT64_C(1706659200), BILLING_MONTH, 1, 0), INT64_C(1706659200));
}

static void period_start__yearly_from_feb_29_is_feb_28_until_the_next_leap_year(void **state)
{
	static const char *const expected[] = {
		"2024-02-29T08:00:00Z", "2025-02-28T08:00:00Z", "2026-02-28T08:00:00Z",
		"2027-02-28T08:00:00Z", "2028-02-29T08:00:00Z", "2029-02-28T08:00:00Z",
	};

	(void)state;
	assert_schedule("2024-02-29T08:00:00Z", BILLING_YEAR, 1, expected,
		sizeof(expected) / sizeof(expected[0]));
	/* 2100 is not a leap year, 2400 is. */
	assert_time(start(T("2096-02-29T00:00:00Z"), BILLING_YEAR, 4, 1), "2100-02-28T00:00:00Z");
	assert_time(start(T("2096-02-29T00:00:00Z"), BILLING_YEAR, 4, 76), "2400-02-29T00:00:00Z");
}

static void period_start__weekly_steps_seven_days(void **state)
{
	static const char *const weekly[] = {
		"2024-02-26T09:00:00Z", "2024-03-04T09:00:00Z", "2024-03-11T09:00:00Z",
		"2024-03-18T09:00:00Z", "2024-12-30T09:00:00Z",
	};
	static const char *const fortnightly[] = {
		"2024-02-26T09:00:00Z", "2024-03-11T09:00:00Z", "2024-03-25T09:00:00Z",
		"2024-04-08T09:00:00Z",
	};
	int64_t anchor = T("2024-02-26T09:00:00Z");

	(void)state;
	assert_schedule("2024-02-26T09:00:00Z", BILLING_WEEK, 1, weekly, 4);
	assert_time(start(anchor, BILLING_WEEK, 1, 44), weekly[4]);
	assert_schedule("2024-02-26T09:00:00Z", BILLING_WEEK, 2, fortnightly,
		sizeof(fortnightly) / sizeof(fortnightly[0]));
	assert_int_equal(start(anchor, BILLING_WEEK, 3, 5) - anchor, 15 * 7 * DAY);
}

static void period_start__daily_steps_one_day_across_leap_day_and_year_end(void **state)
{
	static const char *const daily[] = {
		"2024-02-28T17:30:00Z", "2024-02-29T17:30:00Z", "2024-03-01T17:30:00Z",
		"2024-03-02T17:30:00Z",
	};
	static const char *const every_ten[] = {
		"2024-12-25T00:00:00Z", "2025-01-04T00:00:00Z", "2025-01-14T00:00:00Z",
	};

	(void)state;
	assert_schedule("2024-02-28T17:30:00Z", BILLING_DAY, 1, daily,
		sizeof(daily) / sizeof(daily[0]));
	assert_schedule("2024-12-25T00:00:00Z", BILLING_DAY, 10, every_ten,
		sizeof(every_ten) / sizeof(every_ten[0]));
	assert_time(start(T("2024-01-01T00:00:00Z"), BILLING_DAY, 1, 366), "2025-01-01T00:00:00Z");
}

static void period_start__every_three_months_clamps_each_period_from_the_anchor(void **state)
{
	static const char *const expected[] = {
		"2023-11-30T12:00:00Z", "2024-02-29T12:00:00Z", "2024-05-30T12:00:00Z",
		"2024-08-30T12:00:00Z", "2024-11-30T12:00:00Z", "2025-02-28T12:00:00Z",
		"2025-05-30T12:00:00Z",
	};
	static const char *const quarterly_31[] = {
		"2024-08-31T00:00:00Z", "2024-11-30T00:00:00Z", "2025-02-28T00:00:00Z",
		"2025-05-31T00:00:00Z", "2025-08-31T00:00:00Z",
	};

	(void)state;
	assert_schedule("2023-11-30T12:00:00Z", BILLING_MONTH, 3, expected,
		sizeof(expected) / sizeof(expected[0]));
	assert_schedule("2024-08-31T00:00:00Z", BILLING_MONTH, 3, quarterly_31,
		sizeof(quarterly_31) / sizeof(quarterly_31[0]));
}

static void period_start__keeps_the_anchor_time_of_day(void **state)
{
	(void)state;
	assert_time(start(T("2024-01-31T23:59:59Z"), BILLING_MONTH, 1, 1), "2024-02-29T23:59:59Z");
	assert_time(start(T("2024-01-31T23:59:59Z"), BILLING_MONTH, 1, 13), "2025-02-28T23:59:59Z");
	assert_time(start(T("2024-02-29T00:00:01Z"), BILLING_YEAR, 1, 1), "2025-02-28T00:00:01Z");
	assert_time(start(T("2024-03-10T06:07:08Z"), BILLING_WEEK, 1, 30), "2024-10-06T06:07:08Z");
	assert_time(start(T("2024-03-10T06:07:08Z"), BILLING_DAY, 1, 300), "2025-01-04T06:07:08Z");
}

static void period_start__no_drift_after_1000_months(void **state)
{
	int64_t anchor = T("2024-01-31T10:00:00Z");
	int64_t n;
	char buf[BILLING_TIME_FORMAT_SIZE];

	(void)state;
	/* Stepping period to period would have stuck at the 28th/29th after
	 * February; from the anchor, May 2107 ends on the 31st. */
	assert_time(start(anchor, BILLING_MONTH, 1, 1000), "2107-05-31T10:00:00Z");
	for (n = 0; n <= 1000; n++) {
		int y, m, d, hh, mm, ss;

		assert_int_equal(billing__time_format(buf, sizeof(buf),
			start(anchor, BILLING_MONTH, 1, n)), BILLING_OK);
		assert_int_equal(sscanf(buf, "%d-%d-%dT%d:%d:%dZ", &y, &m, &d, &hh, &mm, &ss), 6);
		assert_int_equal(y * 12 + m - 1, 2024 * 12 + n);
		assert_int_equal(d, naive_month_days(y, m));
		assert_int_equal(hh * 3600 + mm * 60 + ss, 10 * 3600);
	}
	/* An anchor on the 30th is the 30th whenever the month has one. */
	assert_time(start(T("2024-01-30T00:00:00Z"), BILLING_MONTH, 1, 1000), "2107-05-30T00:00:00Z");
	assert_time(start(T("2024-01-30T00:00:00Z"), BILLING_MONTH, 1, 1001), "2107-06-30T00:00:00Z");
}

static void period_index__round_trips_period_start_on_random_schedules(void **state)
{
	static const billing_interval intervals[] = {
		BILLING_DAY, BILLING_WEEK, BILLING_MONTH, BILLING_YEAR
	};
	int i;

	(void)state;
	for (i = 0; i < PROPERTY_CASES; i++) {
		billing_interval iv = intervals[rng() % 4];
		int32_t count;
		int64_t anchor, t, n, s0, s1, n2, s2;
		int rc;

		switch (rng() % 4) {
		case 0:  count = 1; break;
		case 1:  count = (int32_t)rng_range(1, 12); break;
		case 2:  count = (int32_t)rng_range(1, 1095); break;
		default: count = (int32_t)rng_range(1, INT32_MAX); break;
		}
		/* Month-end anchors half the time: that is where clamping happens. */
		anchor = rng_range(0, BILLING_TIME_MAX);
		if (rng() % 2) {
			char text[48];
			int y = (int)rng_range(1970, 9999), m = (int)rng_range(1, 12);
			int d = naive_month_days(y, m) - (int)rng_range(0, 3);

			snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
				(int)rng_range(0, 23), (int)rng_range(0, 59), (int)rng_range(0, 59));
			anchor = T(text);
		}
		/* t at every scale past the anchor, not only far away. */
		{
			int64_t room = BILLING_TIME_MAX - anchor;
			int64_t scale = (int64_t)1 << rng_range(0, 38);

			t = anchor + rng_range(0, room < scale ? room : scale);
		}

		n = idx(anchor, iv, count, t);
		s0 = start(anchor, iv, count, n);
		assert_true(s0 <= t);
		rc = billing__period_start(&s1, anchor, iv, count, n + 1);
		if (rc == BILLING_OK)
			assert_true(t < s1);
		else
			assert_int_equal(rc, BILLING_EOVERFLOW);

		/* And the other way: the start of a random period is in that period. */
		n2 = rng_range(0, n + 3);
		if (billing__period_start(&s2, anchor, iv, count, n2) == BILLING_OK) {
			assert_int_equal(idx(anchor, iv, count, s2), n2);
			if (n2 > 0)
				assert_int_equal(idx(anchor, iv, count, s2 - 1), n2 - 1);
		}
	}
}

static void periods__tile_time_without_gap_or_overlap(void **state)
{
	static const struct {
		const char *anchor;
		billing_interval iv;
		int32_t count;
	} schedules[] = {
		{ "2024-01-31T00:00:00Z", BILLING_MONTH, 1 },
		{ "2023-11-30T12:00:00Z", BILLING_MONTH, 3 },
		{ "2024-02-29T23:59:59Z", BILLING_YEAR, 1 },
		{ "2024-02-29T00:00:00Z", BILLING_MONTH, 36 },
		{ "1970-01-01T00:00:00Z", BILLING_WEEK, 2 },
		{ "2024-03-10T06:07:08Z", BILLING_DAY, 1 },
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(schedules) / sizeof(schedules[0]); k++) {
		int64_t anchor = T(schedules[k].anchor), n, prev = anchor, t;
		billing_interval iv = schedules[k].iv;
		int32_t c = schedules[k].count;

		for (n = 1; n <= 400; n++) {
			int64_t s = start(anchor, iv, c, n);

			assert_true(s > prev);                       /* no empty or reversed period */
			assert_int_equal(idx(anchor, iv, c, prev), n - 1);
			assert_int_equal(idx(anchor, iv, c, s - 1), n - 1); /* no gap */
			assert_int_equal(idx(anchor, iv, c, s), n);         /* no overlap */
			prev = s;
		}
		/* Every second of the first two periods belongs to exactly one. */
		for (t = anchor; t < start(anchor, iv, c, 2); t += 97) {
			n = idx(anchor, iv, c, t);
			assert_true(start(anchor, iv, c, n) <= t && t < start(anchor, iv, c, n + 1));
		}
	}
}

static void period_start__past_year_9999_overflows(void **state)
{
	int64_t out = SENTINEL, last_day = T("9999-12-31T00:00:00Z");
	int64_t y2024 = T("2024-01-01T00:00:00Z");
	static const billing_interval all[] = { BILLING_DAY, BILLING_WEEK, BILLING_MONTH, BILLING_YEAR };
	size_t i;

	(void)state;
	assert_int_equal(start(last_day, BILLING_DAY, 1, 0), last_day);
	assert_fails(billing__period_start(&out, last_day, BILLING_DAY, 1, 1), BILLING_EOVERFLOW);
	assert_int_equal(start(BILLING_TIME_MAX, BILLING_MONTH, 1, 0), BILLING_TIME_MAX);
	assert_fails(billing__period_start(&out, T("9999-12-01T00:00:00Z"), BILLING_MONTH, 1, 1),
		BILLING_EOVERFLOW);
	assert_time(start(T("9999-11-30T00:00:00Z"), BILLING_MONTH, 1, 1), "9999-12-30T00:00:00Z");
	assert_time(start(y2024, BILLING_YEAR, 1, 7975), "9999-01-01T00:00:00Z");
	assert_fails(billing__period_start(&out, y2024, BILLING_YEAR, 1, 7976), BILLING_EOVERFLOW);
	assert_fails(billing__period_start(&out, T("9999-12-25T00:00:00Z"), BILLING_WEEK, 1, 1),
		BILLING_EOVERFLOW);
	for (i = 0; i < 4; i++) {
		/* Huge n and count never wrap around. */
		assert_fails(billing__period_start(&out, 0, all[i], INT32_MAX, INT64_MAX),
			BILLING_EOVERFLOW);
		assert_fails(billing__period_start(&out, 0, all[i], 1, INT64_MAX), BILLING_EOVERFLOW);
		assert_fails(billing__period_start(&out, y2024, all[i], INT32_MAX, 1), BILLING_EOVERFLOW);
		/* Anchors outside the representable range. */
		assert_fails(billing__period_start(&out, -1, all[i], 1, 0), BILLING_EOVERFLOW);
		assert_fails(billing__period_start(&out, BILLING_TIME_MAX + 1, all[i], 1, 0),
			BILLING_EOVERFLOW);
		assert_fails(billing__period_start(&out, INT64_MIN, all[i], 1, 0), BILLING_EOVERFLOW);
	}
	assert_int_equal(out, SENTINEL);

	/* The last period of a schedule runs to the end of time. */
	assert_int_equal(idx(y2024, BILLING_YEAR, 1, BILLING_TIME_MAX), 7975);
	assert_int_equal(idx(0, BILLING_DAY, 1, BILLING_TIME_MAX), BILLING_TIME_MAX / DAY);
	assert_int_equal(idx(0, BILLING_MONTH, 1, BILLING_TIME_MAX), (9999 - 1970) * 12 + 11);
	assert_fails(billing__period_index(&out, 0, BILLING_DAY, 1, BILLING_TIME_MAX + 1),
		BILLING_EOVERFLOW);
	assert_fails(billing__period_index(&out, -1, BILLING_DAY, 1, 0), BILLING_EOVERFLOW);
	assert_int_equal(out, SENTINEL);
}

/* The period that ends at an anchor (a partial first period's whole):
 * one interval back, months clamped, the time of day kept. */
static void period_start_before__is_one_interval_back_clamped(void **state)
{
	int64_t out = SENTINEL;
	(void)state;
	assert_int_equal(billing__period_start_before(&out, T("2026-03-31T12:00:00Z"), BILLING_MONTH,
		1), BILLING_OK);
	assert_int_equal(out, T("2026-02-28T12:00:00Z"));
	assert_int_equal(billing__period_start_before(&out, T("2024-03-31T00:00:00Z"), BILLING_MONTH,
		1), BILLING_OK);
	assert_int_equal(out, T("2024-02-29T00:00:00Z"));
	assert_int_equal(billing__period_start_before(&out, T("2026-02-01T00:00:00Z"), BILLING_MONTH,
		1), BILLING_OK);
	assert_int_equal(out, T("2026-01-01T00:00:00Z"));
	assert_int_equal(billing__period_start_before(&out, T("2026-01-15T00:00:00Z"), BILLING_MONTH,
		3), BILLING_OK);
	assert_int_equal(out, T("2025-10-15T00:00:00Z"));
	assert_int_equal(billing__period_start_before(&out, T("2024-02-29T00:00:00Z"), BILLING_YEAR,
		1), BILLING_OK);
	assert_int_equal(out, T("2023-02-28T00:00:00Z"));
	assert_int_equal(billing__period_start_before(&out, T("2026-01-10T06:00:00Z"), BILLING_WEEK,
		2), BILLING_OK);
	assert_int_equal(out, T("2025-12-27T06:00:00Z"));
	/* Before the epoch, or an anchor out of range: overflow. */
	out = SENTINEL;
	assert_fails(billing__period_start_before(&out, T("1970-01-15T00:00:00Z"), BILLING_MONTH, 1),
		BILLING_EOVERFLOW);
	assert_fails(billing__period_start_before(&out, 3600, BILLING_DAY, 1), BILLING_EOVERFLOW);
	assert_fails(billing__period_start_before(&out, -1, BILLING_DAY, 1), BILLING_EOVERFLOW);
	assert_fails(billing__period_start_before(&out, T("2026-01-01T00:00:00Z"), BILLING_MONTH,
		INT32_MAX), BILLING_EOVERFLOW);
	assert_fails(billing__period_start_before(&out, T("2026-01-01T00:00:00Z"), BILLING_MONTH, 0),
		BILLING_EINVALID);
	assert_int_equal(out, SENTINEL);
}

static void period_start__rejects_bad_arguments(void **state)
{
	int64_t out = SENTINEL;
	int64_t a = T("2024-01-31T00:00:00Z");

	(void)state;
	assert_fails(billing__period_start(NULL, a, BILLING_MONTH, 1, 0), BILLING_EINVALID);
	assert_fails(billing__period_start(&out, a, BILLING_INTERVAL_NONE, 1, 0), BILLING_EINVALID);
	assert_fails(billing__period_start(&out, a, (billing_interval)5, 1, 0), BILLING_EINVALID);
	assert_fails(billing__period_start(&out, a, (billing_interval)-1, 1, 0), BILLING_EINVALID);
	assert_fails(billing__period_start(&out, a, BILLING_MONTH, 0, 0), BILLING_EINVALID);
	assert_fails(billing__period_start(&out, a, BILLING_DAY, -1, 0), BILLING_EINVALID);
	assert_fails(billing__period_start(&out, a, BILLING_DAY, INT32_MIN, 0), BILLING_EINVALID);
	assert_fails(billing__period_start(&out, a, BILLING_MONTH, 1, -1), BILLING_EINVALID);
	assert_fails(billing__period_start(&out, a, BILLING_MONTH, 1, INT64_MIN), BILLING_EINVALID);

	assert_fails(billing__period_index(NULL, a, BILLING_MONTH, 1, a), BILLING_EINVALID);
	assert_fails(billing__period_index(&out, a, BILLING_INTERVAL_NONE, 1, a), BILLING_EINVALID);
	assert_fails(billing__period_index(&out, a, (billing_interval)9, 1, a), BILLING_EINVALID);
	assert_fails(billing__period_index(&out, a, BILLING_YEAR, 0, a), BILLING_EINVALID);
	assert_fails(billing__period_index(&out, a, BILLING_MONTH, 1, a - 1), BILLING_EINVALID);
	assert_int_equal(out, SENTINEL);
}

/* -------------------------------------------------------------- roundings */

static void prorate__rounds_exact_ties_half_away_from_zero(void **state)
{
	int64_t out = SENTINEL;

	(void)state;
	assert_int_equal(billing__prorate(&out, 100, 1, 8), BILLING_OK);
	assert_int_equal(out, 13);                  /* 12.5 */
	assert_int_equal(billing__prorate(&out, -100, 1, 8), BILLING_OK);
	assert_int_equal(out, -13);                 /* -12.5 */
	assert_int_equal(billing__prorate(&out, 100, 3, 8), BILLING_OK);
	assert_int_equal(out, 38);                  /* 37.5 */
	assert_int_equal(billing__prorate(&out, -100, 3, 8), BILLING_OK);
	assert_int_equal(out, -38);
	assert_int_equal(billing__prorate(&out, 1, 1, 2), BILLING_OK);
	assert_int_equal(out, 1);                   /* 0.5 */
	assert_int_equal(billing__prorate(&out, -1, 1, 2), BILLING_OK);
	assert_int_equal(out, -1);
	/* Just either side of a tie. */
	assert_int_equal(billing__prorate(&out, 1249, 1, 100), BILLING_OK);
	assert_int_equal(out, 12);                  /* 12.49 */
	assert_int_equal(billing__prorate(&out, -1251, 1, 100), BILLING_OK);
	assert_int_equal(out, -13);                 /* -12.51 */
}

static void prorate__unused_days_of_a_period(void **state)
{
	int64_t out = SENTINEL;

	(void)state;
	/* 29.00 a month, 10 of 31 days left: 935.48... -> 935. */
	assert_int_equal(billing__prorate(&out, 2900, 10 * DAY, 31 * DAY), BILLING_OK);
	assert_int_equal(out, 935);
	/* Half of February 2024 exactly. */
	assert_int_equal(billing__prorate(&out, 2900, 29 * DAY / 2, 29 * DAY), BILLING_OK);
	assert_int_equal(out, 1450);
	/* A credit for 20 of 30 days: -1933.33... -> -1933. */
	assert_int_equal(billing__prorate(&out, -2900, 20 * DAY, 30 * DAY), BILLING_OK);
	assert_int_equal(out, -1933);
}

static void prorate__part_zero_is_zero_and_part_whole_is_the_amount(void **state)
{
	int64_t out = SENTINEL;

	(void)state;
	assert_int_equal(billing__prorate(&out, 2900, 0, 31 * DAY), BILLING_OK);
	assert_int_equal(out, 0);
	assert_int_equal(billing__prorate(&out, -2900, 0, 31 * DAY), BILLING_OK);
	assert_int_equal(out, 0);
	assert_int_equal(billing__prorate(&out, 2900, 31 * DAY, 31 * DAY), BILLING_OK);
	assert_int_equal(out, 2900);
	assert_int_equal(billing__prorate(&out, -2900, 31 * DAY, 31 * DAY), BILLING_OK);
	assert_int_equal(out, -2900);
	/* The extremes of int64 never overflow: |result| <= |amount|. */
	assert_int_equal(billing__prorate(&out, INT64_MAX, BILLING_TIME_MAX, BILLING_TIME_MAX),
		BILLING_OK);
	assert_int_equal(out, INT64_MAX);
	assert_int_equal(billing__prorate(&out, INT64_MIN, 7, 7), BILLING_OK);
	assert_int_equal(out, INT64_MIN);
	assert_int_equal(billing__prorate(&out, INT64_MIN, BILLING_TIME_MAX - 1, BILLING_TIME_MAX),
		BILLING_OK);
	assert_true(out < 0);
}

static void prorate__rejects_parts_outside_the_period(void **state)
{
	int64_t out = SENTINEL;

	(void)state;
	assert_fails(billing__prorate(NULL, 100, 1, 8), BILLING_EINVALID);
	assert_fails(billing__prorate(&out, 100, 1, 0), BILLING_EINVALID);
	assert_fails(billing__prorate(&out, 100, 0, 0), BILLING_EINVALID);
	assert_fails(billing__prorate(&out, 100, -1, -8), BILLING_EINVALID);
	assert_fails(billing__prorate(&out, 100, -1, 8), BILLING_EINVALID);
	assert_fails(billing__prorate(&out, 100, 9, 8), BILLING_EINVALID);
	assert_fails(billing__prorate(&out, 100, INT64_MIN, 8), BILLING_EINVALID);
	assert_int_equal(out, SENTINEL);
}

static void line_tax__rounds_half_away_from_zero(void **state)
{
	int64_t out = SENTINEL;

	(void)state;
	assert_int_equal(billing__line_tax(&out, 1000, 825), BILLING_OK);
	assert_int_equal(out, 83);                  /* 82.5 */
	assert_int_equal(billing__line_tax(&out, -1000, 825), BILLING_OK);
	assert_int_equal(out, -83);                 /* -82.5 */
	assert_int_equal(billing__line_tax(&out, 5, 1000), BILLING_OK);
	assert_int_equal(out, 1);                   /* 0.5 */
	assert_int_equal(billing__line_tax(&out, -5, 1000), BILLING_OK);
	assert_int_equal(out, -1);
	assert_int_equal(billing__line_tax(&out, 12345, 1900), BILLING_OK);
	assert_int_equal(out, 2346);                /* 2345.55 */
	assert_int_equal(billing__line_tax(&out, 999, 2000), BILLING_OK);
	assert_int_equal(out, 200);                 /* 199.8 */
	assert_int_equal(billing__line_tax(&out, 1001, 2000), BILLING_OK);
	assert_int_equal(out, 200);                 /* 200.2 */
	assert_int_equal(billing__line_tax(&out, 2900, 0), BILLING_OK);
	assert_int_equal(out, 0);
	assert_int_equal(billing__line_tax(&out, 2900, 10000), BILLING_OK);
	assert_int_equal(out, 2900);
	assert_int_equal(billing__line_tax(&out, INT64_MAX, 9999), BILLING_OK);
	assert_true(out > 0 && out < INT64_MAX);
}

static void line_tax__rejects_rates_outside_zero_to_one(void **state)
{
	int64_t out = SENTINEL;

	(void)state;
	assert_fails(billing__line_tax(NULL, 1000, 825), BILLING_EINVALID);
	assert_fails(billing__line_tax(&out, 1000, -1), BILLING_EINVALID);
	assert_fails(billing__line_tax(&out, 1000, 10001), BILLING_EINVALID);
	assert_fails(billing__line_tax(&out, 1000, INT32_MIN), BILLING_EINVALID);
	assert_int_equal(out, SENTINEL);
}

/* ------------------------------------------------------------- RFC 3339 */

static void time_format_parse__round_trip_random_times(void **state)
{
	char buf[BILLING_TIME_FORMAT_SIZE];
	int64_t back;
	int i;

	(void)state;
	for (i = 0; i < PROPERTY_CASES; i++) {
		int64_t t = rng_range(0, BILLING_TIME_MAX);

		assert_int_equal(billing__time_format(buf, sizeof(buf), t), BILLING_OK);
		assert_int_equal(strlen(buf), 20);
		assert_int_equal(billing__time_parse(&back, buf), BILLING_OK);
		assert_int_equal(back, t);
	}
}

static void time_parse__accepts_z_and_plus_zero_offset(void **state)
{
	(void)state;
	assert_int_equal(T("2024-02-29T12:34:56Z"), INT64_C(1709210096));
	assert_int_equal(T("2024-02-29T12:34:56+00:00"), INT64_C(1709210096));
	assert_int_equal(T("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(T("9999-12-31T23:59:59Z"), BILLING_TIME_MAX);
	assert_int_equal(T("2000-02-29T00:00:00Z"), INT64_C(951782400));
}

static void time_parse__rejects_malformed_text_and_impossible_dates(void **state)
{
	static const char *const bad[] = {
		"2026-02-30T00:00:00Z",      /* no Feb 30 */
		"2025-02-29T00:00:00Z",      /* not a leap year */
		"2100-02-29T00:00:00Z",      /* century, not a leap year */
		"2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"2026-01-00T00:00:00Z",
		"2026-01-01T24:00:00Z",
		"2026-01-01T23:60:00Z",
		"2016-12-31T23:59:60Z",      /* leap seconds are not represented */
		"2026-02-28T00:00:00",       /* missing Z */
		"2026-02-28T00:00:00+01:00",
		"2026-02-28T00:00:00-05:00",
		"2026-02-28T00:00:00-00:00", /* RFC 3339: unknown local offset */
		"2026-02-28T00:00:00+00:30",
		"2026-02-28T00:00:00+0000",
		"2026-02-28T00:00:00+00",
		"2026-02-28T00:00:00.000Z",
		"2026-02-28T00:00:00.5Z",
		"2026-02-28T00:00:00ZZ",
		"2026-02-28T00:00:00Z ",
		" 2026-02-28T00:00:00Z",
		"2026-02-28 00:00:00Z",
		"2026-02-28t00:00:00z",
		"2026-02-28",
		"2026-2-28T00:00:00Z",
		"2026-02-28T0:00:00Z",
		"+2026-02-28T00:00:00Z",
		"026-02-28T00:00:00Z",
		"02026-02-28T00:00:00Z",     /* five digits, but not a year past 9999 */
		"99999999999999999999999-01-01T00:00:00Z",
		"20X6-02-28T00:00:00Z",
		"garbage",
		"",
	};
	size_t i;
	int64_t out = SENTINEL;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = billing__time_parse(&out, bad[i]);

		if (rc != BILLING_EINVALID)
			fail_msg("\"%s\" gave %d, not BILLING_EINVALID", bad[i], rc);
		assert_int_equal(billing_error_last()->code, BILLING_EINVALID);
	}
	assert_fails(billing__time_parse(&out, NULL), BILLING_EINVALID);
	assert_fails(billing__time_parse(NULL, "2026-02-28T00:00:00Z"), BILLING_EINVALID);
	assert_int_equal(out, SENTINEL);
}

static void time_parse__dates_outside_1970_to_9999_overflow(void **state)
{
	int64_t out = SENTINEL;

	(void)state;
	assert_fails(billing__time_parse(&out, "10000-01-01T00:00:00Z"), BILLING_EOVERFLOW);
	assert_fails(billing__time_parse(&out, "10000-01-01T00:00:00+00:00"), BILLING_EOVERFLOW);
	assert_fails(billing__time_parse(&out, "1969-12-31T23:59:59Z"), BILLING_EOVERFLOW);
	assert_fails(billing__time_parse(&out, "0000-01-01T00:00:00Z"), BILLING_EOVERFLOW);
	assert_int_equal(out, SENTINEL);
	/* ...but a malformed one is still malformed. */
	assert_fails(billing__time_parse(&out, "10000-02-30T00:00:00Z"), BILLING_EINVALID);
	assert_fails(billing__time_parse(&out, "10000-01-01T00:00:00"), BILLING_EINVALID);
}

static void time_format__rejects_small_buffers_and_out_of_range_times(void **state)
{
	char buf[BILLING_TIME_FORMAT_SIZE + 4];

	(void)state;
	memset(buf, '#', sizeof(buf));
	assert_fails(billing__time_format(buf, BILLING_TIME_FORMAT_SIZE - 1, 0), BILLING_EINVALID);
	assert_fails(billing__time_format(buf, 0, 0), BILLING_EINVALID);
	assert_fails(billing__time_format(NULL, sizeof(buf), 0), BILLING_EINVALID);
	assert_fails(billing__time_format(buf, sizeof(buf), -1), BILLING_EOVERFLOW);
	assert_fails(billing__time_format(buf, sizeof(buf), BILLING_TIME_MAX + 1), BILLING_EOVERFLOW);
	assert_fails(billing__time_format(buf, sizeof(buf), INT64_MIN), BILLING_EOVERFLOW);
	assert_fails(billing__time_format(buf, sizeof(buf), INT64_MAX), BILLING_EOVERFLOW);
	assert_int_equal(buf[0], '#');
	/* Exactly 21 bytes is enough, and nothing past the NUL is written. */
	assert_int_equal(billing__time_format(buf, BILLING_TIME_FORMAT_SIZE, BILLING_TIME_MAX),
		BILLING_OK);
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
	assert_int_equal(buf[BILLING_TIME_FORMAT_SIZE], '#');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(time_format__known_epoch_values),
		cmocka_unit_test(time_format__every_day_1970_to_9999_matches_a_naive_calendar),
		cmocka_unit_test(period_start__monthly_from_jan_31_clamps_to_month_end_for_two_years),
		cmocka_unit_test(period_start__yearly_from_feb_29_is_feb_28_until_the_next_leap_year),
		cmocka_unit_test(period_start__weekly_steps_seven_days),
		cmocka_unit_test(period_start__daily_steps_one_day_across_leap_day_and_year_end),
		cmocka_unit_test(period_start__every_three_months_clamps_each_period_from_the_anchor),
		cmocka_unit_test(period_start__keeps_the_anchor_time_of_day),
		cmocka_unit_test(period_start__no_drift_after_1000_months),
		cmocka_unit_test(period_index__round_trips_period_start_on_random_schedules),
		cmocka_unit_test(periods__tile_time_without_gap_or_overlap),
		cmocka_unit_test(period_start__past_year_9999_overflows),
		cmocka_unit_test(period_start__rejects_bad_arguments),
		cmocka_unit_test(prorate__rounds_exact_ties_half_away_from_zero),
		cmocka_unit_test(prorate__unused_days_of_a_period),
		cmocka_unit_test(prorate__part_zero_is_zero_and_part_whole_is_the_amount),
		cmocka_unit_test(prorate__rejects_parts_outside_the_period),
		cmocka_unit_test(line_tax__rounds_half_away_from_zero),
		cmocka_unit_test(line_tax__rejects_rates_outside_zero_to_one),
		cmocka_unit_test(time_format_parse__round_trip_random_times),
		cmocka_unit_test(time_parse__accepts_z_and_plus_zero_offset),
		cmocka_unit_test(period_start_before__is_one_interval_back_clamped),
		cmocka_unit_test(time_parse__rejects_malformed_text_and_impossible_dates),
		cmocka_unit_test(time_parse__dates_outside_1970_to_9999_overflow),
		cmocka_unit_test(time_format__rejects_small_buffers_and_out_of_range_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
