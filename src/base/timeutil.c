#include "base/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
zg_time_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
zg_time_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
split_time(int64_t t, struct tm *tm, long *usec)
{
	int64_t sec = t / 1000000;
	long us = (long)(t % 1000000);
	if (us < 0) {
		us += 1000000;
		sec -= 1;
	}
	time_t tt = (time_t)sec;
	if (gmtime_r(&tt, tm) == NULL)
		return -1;
	*usec = us;
	return 0;
}

void
zg_time_format_rfc3339_us(int64_t t, char *out, size_t outsz)
{
	struct tm tm;
	long us;
	if (outsz == 0)
		return;
	out[0] = '\0';
	if (outsz < 28 || split_time(t, &tm, &us) != 0)
		return;
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, us);
}

void
zg_time_format_rfc3339(int64_t t, char *out, size_t outsz)
{
	struct tm tm;
	long us;
	if (outsz == 0)
		return;
	out[0] = '\0';
	if (outsz < 21 || split_time(t, &tm, &us) != 0)
		return;
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

/* Reads exactly n digits from *p. Returns -1 if any is not a digit. */
static int
read_digits(const char **p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

zg_err
zg_time_parse_rfc3339(const char *s, int64_t *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;
	int year, mon, day, hour, min, sec;
	long usec = 0;
	int offset_min = 0;

	if (s == NULL || strlen(s) < 20)
		return ZG_ERR_INVALID;
	if ((year = read_digits(&p, 4)) < 0 || *p++ != '-' ||
	    (mon = read_digits(&p, 2)) < 0 || *p++ != '-' ||
	    (day = read_digits(&p, 2)) < 0 || (*p != 'T' && *p != 't'))
		return ZG_ERR_INVALID;
	p++;
	if ((hour = read_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (min = read_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (sec = read_digits(&p, 2)) < 0)
		return ZG_ERR_INVALID;
	if (*p == '.') {
		p++;
		int ndigits = 0;
		while (isdigit((unsigned char)*p)) {
			if (ndigits < 6)
				usec = usec * 10 + (*p - '0');
			ndigits++;
			p++;
		}
		if (ndigits == 0)
			return ZG_ERR_INVALID;
		for (int i = ndigits; i < 6; i++)
			usec *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		p++;
		int oh, om;
		if ((oh = read_digits(&p, 2)) < 0 || *p++ != ':' ||
		    (om = read_digits(&p, 2)) < 0 || oh > 23 || om > 59)
			return ZG_ERR_INVALID;
		offset_min = sign * (oh * 60 + om);
	} else {
		return ZG_ERR_INVALID;
	}
	if (*p != '\0')
		return ZG_ERR_INVALID;

	if (year < 1 || mon < 1 || mon > 12 || day < 1 || hour > 23 ||
	    min > 59 || sec > 60)
		return ZG_ERR_INVALID;
	int dim = mdays[mon - 1] + (mon == 2 && is_leap(year));
	if (day > dim)
		return ZG_ERR_INVALID;
	/* A leap second is accepted and folded into the next second. */
	int64_t secs = days_from_civil(year, mon, day) * 86400 + hour * 3600 +
	    min * 60 + sec - (int64_t)offset_min * 60;
	*out = secs * 1000000 + usec;
	return ZG_OK;
}
