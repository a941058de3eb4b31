/*
 * The billing calendar: period boundaries from a subscription's anchor, the
 * period containing a moment, the per-line roundings of proration and tax,
 * and RFC 3339 timestamps.
 *
 * Dates use Howard Hinnant's days-from-civil / civil-from-days algorithms
 * (proleptic Gregorian, 400-year eras of 146097 days) rather than timegm()
 * and gmtime(): those depend on the platform's time_t, are not in C11 (or
 * not thread-safe), and some C libraries cap the year. Here every value is
 * bounded by [0, BILLING_TIME_MAX], so plain int64_t arithmetic never
 * overflows once the inputs are checked.
 */
#include "core/calendar.h"

#include <stdbool.h>

#include "billing/errors.h"
#include "billing/money.h"
#include "core/errors.h"

#define SECONDS_PER_DAY INT64_C(86400)
#define YEAR_MIN 1970
#define YEAR_MAX 9999
/* Month numbers (year * 12 + month - 1) of the representable range. */
#define MONTH_INDEX_MAX ((int64_t)YEAR_MAX * 12 + 11)

typedef struct {
	int64_t year;
	int month; /* 1..12 */
	int day;   /* 1..31 */
} civil;

/* ------------------------------------------------------------ civil dates */

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a valid proleptic Gregorian date. The year is
 * shifted to start in March so that the leap day ends the year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;                                        /* [0, 399] */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;      /* [0, 365] */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

int64_t billing__month_start(int64_t year, int month)
{
	return days_from_civil(year, month, 1) * 86400;
}

static civil civil_from_days(int64_t z);

int64_t billing__month_floor(int64_t t)
{
	civil c = civil_from_days(t / 86400);
	return billing__month_start(c.year, c.month);
}

static civil civil_from_days(int64_t z)
{
	int64_t era, doe, yoe, doy, mp;
	civil c;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;                                          /* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;     /* [0, 399] */
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                   /* [0, 365] */
	mp = (5 * doy + 2) / 153;                                        /* [0, 11] */
	c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c.year = yoe + era * 400 + (c.month <= 2);
	return c;
}

/* ---------------------------------------------------------------- periods */

static int overflow(const char *what)
{
	return billing__error_set(BILLING_EOVERFLOW, NULL,
		"%s is past 9999-12-31T23:59:59Z or before 1970", what);
}

static bool in_range(int64_t t)
{
	return t >= 0 && t <= BILLING_TIME_MAX;
}

static int check_schedule(billing_interval interval, int32_t count)
{
	if (interval != BILLING_DAY && interval != BILLING_WEEK &&
	    interval != BILLING_MONTH && interval != BILLING_YEAR)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "interval",
			"unknown interval %d", (int)interval);
	if (count < 1)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "intervalCount",
			"interval count must be at least 1, not %ld", (long)count);
	return BILLING_OK;
}

/* Fixed-length intervals in seconds; 0 for calendar months. count <= 2^31,
 * so even a week times count fits comfortably. */
static int64_t fixed_step(billing_interval interval, int32_t count)
{
	switch (interval) {
	case BILLING_DAY:  return (int64_t)count * SECONDS_PER_DAY;
	case BILLING_WEEK: return (int64_t)count * 7 * SECONDS_PER_DAY;
	default:           return 0;
	}
}

/* Calendar months per period (MONTH or YEAR). */
static int64_t months_per_period(billing_interval interval, int32_t count)
{
	return interval == BILLING_YEAR ? (int64_t)count * 12 : (int64_t)count;
}

/*
 * The start of period n, arguments already checked. Returns false, without
 * touching the thread's error, when it is past BILLING_TIME_MAX: the index
 * search asks about period n + 1 and needs that answer quietly.
 */
static bool start_of(int64_t *out, int64_t anchor, billing_interval interval,
	int32_t count, int64_t n)
{
	int64_t step = fixed_step(interval, count);
	int64_t per, month_index, tod, days;
	civil a;
	int64_t year;
	int month, day, last;

	if (step > 0) {
		if (n > (BILLING_TIME_MAX - anchor) / step)
			return false;
		*out = anchor + n * step;
		return true;
	}

	/* Months: never more than MONTH_INDEX_MAX months between two
	 * representable dates, which also keeps n * per from overflowing. */
	per = months_per_period(interval, count);
	if (n > MONTH_INDEX_MAX / per)
		return false;
	a = civil_from_days(anchor / SECONDS_PER_DAY);
	tod = anchor % SECONDS_PER_DAY;
	month_index = a.year * 12 + (a.month - 1) + n * per;
	if (month_index < 0 || month_index > MONTH_INDEX_MAX)
		return false;
	year = month_index / 12;
	month = (int)(month_index % 12) + 1;
	last = days_in_month(year, month);
	day = a.day < last ? a.day : last;
	days = days_from_civil(year, month, day);
	*out = days * SECONDS_PER_DAY + tod;
	return true;
}

int billing__period_start(int64_t *out, int64_t anchor, billing_interval interval,
	int32_t count, int64_t n)
{
	int64_t start;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_schedule(interval, count)) < 0)
		return rc;
	if (n < 0)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "n",
			"a period index must not be negative");
	if (!in_range(anchor))
		return overflow("the anchor");
	if (!start_of(&start, anchor, interval, count, n))
		return overflow("the period start");
	*out = start;
	return BILLING_OK;
}

int billing__period_start_before(int64_t *out, int64_t anchor, billing_interval interval,
	int32_t count)
{
	int64_t start;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_schedule(interval, count)) < 0)
		return rc;
	if (!in_range(anchor))
		return overflow("the anchor");
	/* One step back never overflows: the anchor and the step are both
	 * far inside int64 (start_of's bounds). */
	if (!start_of(&start, anchor, interval, count, -1) || !in_range(start))
		return overflow("the period start");
	*out = start;
	return BILLING_OK;
}

/*
 * For months the estimate is the whole number of periods in the calendar
 * month difference: period n then starts in t's month or earlier, and
 * period n + 1 in a later month, so at most one step back is ever needed.
 * The loops are written generally anyway; each runs at most a couple of
 * times.
 */
int billing__period_index(int64_t *out, int64_t anchor, billing_interval interval,
	int32_t count, int64_t t)
{
	int64_t step, n, start;
	int rc;

	BILLING__ASSERT_ARG(out, "out");
	if ((rc = check_schedule(interval, count)) < 0)
		return rc;
	if (!in_range(anchor))
		return overflow("the anchor");
	if (!in_range(t))
		return overflow("the time");
	if (t < anchor)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "t",
			"the time is before the schedule's anchor");

	step = fixed_step(interval, count);
	if (step > 0) {
		*out = (t - anchor) / step;
		return BILLING_OK;
	}

	{
		civil a = civil_from_days(anchor / SECONDS_PER_DAY);
		civil b = civil_from_days(t / SECONDS_PER_DAY);
		int64_t months = (b.year * 12 + b.month) - (a.year * 12 + a.month);

		n = months / months_per_period(interval, count);
	}
	while (n > 0 && (!start_of(&start, anchor, interval, count, n) || start > t))
		n--;
	while (start_of(&start, anchor, interval, count, n + 1) && start <= t)
		n++;
	*out = n;
	return BILLING_OK;
}

/* ------------------------------------------------------------- roundings */

int billing__prorate(int64_t *out, int64_t amount, int64_t part_seconds,
	int64_t whole_seconds)
{
	BILLING__ASSERT_ARG(out, "out");
	if (whole_seconds <= 0)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "whole_seconds",
			"a period must last at least one second");
	if (part_seconds < 0 || part_seconds > whole_seconds)
		return billing__error_field(BILLING_EINVALID, "invalid_argument", "part_seconds",
			"the prorated part must lie within the period");
	return billing_amount_mul_ratio(out, amount, part_seconds, whole_seconds,
		BILLING_ROUND_HALF_UP);
}

int billing__line_tax(int64_t *out, int64_t amount, int32_t rate_bp)
{
	BILLING__ASSERT_ARG(out, "out");
	if (rate_bp < 0 || rate_bp > BILLING_RATE_SCALE)
		return billing__error_field(BILLING_EINVALID, "invalid_rate", "taxRate",
			"a tax rate must lie in [0, %d] basis points, not %ld",
			BILLING_RATE_SCALE, (long)rate_bp);
	return billing_amount_mul_ratio(out, amount, rate_bp, BILLING_RATE_SCALE,
		BILLING_ROUND_HALF_UP);
}

/* ------------------------------------------------------------ RFC 3339 */

static void put_digits(char *p, int64_t v, int width)
{
	while (width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

int billing__time_format(char *buf, size_t size, int64_t t)
{
	int64_t secs;
	civil c;

	BILLING__ASSERT_ARG(buf, "buf");
	if (size < BILLING_TIME_FORMAT_SIZE)
		return billing__error_set(BILLING_EINVALID, "buffer_too_small",
			"a timestamp needs %d bytes", BILLING_TIME_FORMAT_SIZE);
	if (!in_range(t))
		return overflow("the time");

	c = civil_from_days(t / SECONDS_PER_DAY);
	secs = t % SECONDS_PER_DAY;
	put_digits(buf, c.year, 4);
	buf[4] = '-';
	put_digits(buf + 5, c.month, 2);
	buf[7] = '-';
	put_digits(buf + 8, c.day, 2);
	buf[10] = 'T';
	put_digits(buf + 11, secs / 3600, 2);
	buf[13] = ':';
	put_digits(buf + 14, secs / 60 % 60, 2);
	buf[16] = ':';
	put_digits(buf + 17, secs % 60, 2);
	buf[19] = 'Z';
	buf[20] = '\0';
	return BILLING_OK;
}

/* ASCII digits only: isdigit() would consult the locale. */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads exactly width digits at *p and advances past them. */
static bool take_digits(const char **p, int width, int *out)
{
	int v = 0;

	while (width-- > 0) {
		if (!is_digit(**p))
			return false;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return true;
}

static bool take_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static int bad_time(void)
{
	return billing__error_set(BILLING_EINVALID, "invalid_time",
		"a time must be RFC 3339 UTC, \"YYYY-MM-DDTHH:MM:SSZ\"");
}

/*
 * A year of more than four digits (no leading zero) is a well-formed date
 * outside the range rather than garbage, so it reports BILLING_EOVERFLOW
 * like 1969 does. Eighteen digits keep the value within int64_t.
 */
int billing__time_parse(int64_t *out, const char *text)
{
	const char *p = text;
	int64_t year = 0;
	int ndigits = 0, month, day, hour, minute, second;
	int64_t days;

	BILLING__ASSERT_ARG(out, "out");
	BILLING__ASSERT_ARG(text, "text");

	for (; is_digit(*p); p++, ndigits++)
		if (ndigits < 18)
			year = year * 10 + (*p - '0');
	if (ndigits < 4 || ndigits > 18 || (ndigits > 4 && text[0] == '0'))
		return bad_time();
	if (!take_char(&p, '-') || !take_digits(&p, 2, &month) ||
	    !take_char(&p, '-') || !take_digits(&p, 2, &day) ||
	    !take_char(&p, 'T') || !take_digits(&p, 2, &hour) ||
	    !take_char(&p, ':') || !take_digits(&p, 2, &minute) ||
	    !take_char(&p, ':') || !take_digits(&p, 2, &second))
		return bad_time();
	if (!take_char(&p, 'Z')) {
		int oh, om;

		if (!take_char(&p, '+') || !take_digits(&p, 2, &oh) ||
		    !take_char(&p, ':') || !take_digits(&p, 2, &om) || oh != 0 || om != 0)
			return bad_time();
	}
	if (*p != '\0')
		return bad_time();

	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
	    hour > 23 || minute > 59 || second > 59)
		return billing__error_set(BILLING_EINVALID, "invalid_time",
			"no such date or time of day");
	if (year < YEAR_MIN || year > YEAR_MAX)
		return overflow("the time");

	days = days_from_civil(year, month, day);
	*out = days * SECONDS_PER_DAY + hour * INT64_C(3600) + minute * 60 + second;
	return BILLING_OK;
}
