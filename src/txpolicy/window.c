/*
 * Calendar windows of spending limits: the local day or month holding an
 * instant, in the limit's IANA time zone, with daylight saving time
 * changes taken from the zone's rules.
 */
#include "authz/tz.h"
#include "txpolicy/txpolicy_internal.h"

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_date(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
date_from_days(int64_t days, int64_t *y, int *m)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int64_t
txp_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/*
 * Returns the first UTC second whose local time in zone is at or after
 * the local time local_s. When local_s occurs twice (clocks going back)
 * that is the earlier one. When it is skipped (clocks going forward) it is
 * the moment of the change. Assumes at most one offset change within a
 * day of local_s, which holds for every IANA zone.
 */
static int64_t
local_to_utc(const struct zg_tz *zone, int64_t local_s)
{
	int32_t before = zg_tz_offset(zone, local_s - 86400);
	int32_t after = zg_tz_offset(zone, local_s + 86400);
	int64_t a = local_s - before, b = local_s - after;
	bool a_ok = zg_tz_offset(zone, a) == before;
	bool b_ok = zg_tz_offset(zone, b) == after;
	if (a_ok && b_ok)
		return a < b ? a : b;
	if (a_ok || b_ok)
		return a_ok ? a : b;
	/* A gap: local_s never happens. Find the change between b and a. */
	int64_t lo = b < a ? b : a, hi = b < a ? a : b;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (zg_tz_offset(zone, mid) == after)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

void
txp_calendar_bounds(const txp_limit *l, int64_t now_s, int64_t *start,
    int64_t *end)
{
	int64_t local = now_s + zg_tz_offset(l->zone, now_s);
	int64_t day = txp_floor_div(local, 86400);
	if (l->window == TXP_WINDOW_DAY) {
		*start = local_to_utc(l->zone, day * 86400);
		*end = local_to_utc(l->zone, (day + 1) * 86400);
		return;
	}
	int64_t y;
	int m;
	date_from_days(day, &y, &m);
	*start = local_to_utc(l->zone, days_from_date(y, m, 1) * 86400);
	*end = local_to_utc(l->zone, days_from_date(m == 12 ? y + 1 : y,
	    m == 12 ? 1 : m + 1, 1) * 86400);
}
