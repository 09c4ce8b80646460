/*
 * A reader for the system's compiled IANA time zones (TZif, RFC 8536), so
 * that time conditions can compute local time without setenv("TZ") and
 * localtime_r, which are not safe to switch per call in a threaded daemon.
 *
 * A zone is its transition times, the UTC offset after each, and the
 * POSIX TZ rule from the file's footer (such as
 * "CET-1CEST,M3.5.0,M10.5.0/3") for times after the last transition.
 * Loaded zones are immutable and kept in a list until the process exits,
 * so readers need no lock.
 */
#include <ctype.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/tz.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define TZ_NAME_MAX 64
#define TZ_FILE_MAX (1 << 20)

/* A POSIX TZ rule date: kind 'M' (month.week.day), 'J' (Julian day 1 to
 * 365 without Feb 29) or 'N' (zero-based day counting Feb 29). */
typedef struct tz_date {
	char kind;
	int month, week, wday, day;
	int32_t time_s;           /* local time of day of the change */
} tz_date;

typedef struct tz_rule {
	bool valid;
	int32_t std_off;          /* seconds east of UTC */
	bool has_dst;
	int32_t dst_off;
	tz_date start, end;
} tz_rule;

struct zg_tz {
	char name[TZ_NAME_MAX + 1];
	int64_t *times;
	int32_t *offs;            /* offset in effect from times[i] */
	size_t n;
	int32_t first_off;        /* before the first transition */
	tz_rule rule;
	struct zg_tz *next;
};

static pthread_mutex_t zones_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zg_tz *zones;

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Parses [+-]hh[:mm[:ss]] into seconds, with hours up to 167 as RFC 8536
 * allows. */
static bool
parse_hms(const char **sp, int32_t *out)
{
	const char *s = *sp;
	int sign = 1;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*s))
		return false;
	long part[3] = {0, 0, 0};
	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			if (*s != ':')
				break;
			s++;
		}
		if (!isdigit((unsigned char)*s))
			return false;
		char *end;
		part[i] = strtol(s, &end, 10);
		s = end;
	}
	if (part[0] > 167 || part[1] > 59 || part[2] > 59)
		return false;
	*out = (int32_t)(sign * (part[0] * 3600 + part[1] * 60 + part[2]));
	*sp = s;
	return true;
}

static bool
skip_abbr(const char **sp)
{
	const char *s = *sp;
	if (*s == '<') {
		const char *e = strchr(s, '>');
		if (e == NULL || e - s < 4)
			return false;
		*sp = e + 1;
		return true;
	}
	while (isalpha((unsigned char)*s))
		s++;
	if (s - *sp < 3)
		return false;
	*sp = s;
	return true;
}

static bool
parse_date(const char **sp, tz_date *d)
{
	const char *s = *sp;
	char *end;
	d->time_s = 7200;
	if (*s == 'M') {
		d->kind = 'M';
		d->month = (int)strtol(s + 1, &end, 10);
		if (*end != '.')
			return false;
		d->week = (int)strtol(end + 1, &end, 10);
		if (*end != '.')
			return false;
		d->wday = (int)strtol(end + 1, &end, 10);
		if (d->month < 1 || d->month > 12 || d->week < 1 ||
		    d->week > 5 || d->wday < 0 || d->wday > 6)
			return false;
	} else {
		d->kind = *s == 'J' ? 'J' : 'N';
		if (*s == 'J')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		d->day = (int)strtol(s, &end, 10);
		if (d->day > 365 || (d->kind == 'J' && d->day < 1))
			return false;
	}
	s = end;
	if (*s == '/' && (s++, !parse_hms(&s, &d->time_s)))
		return false;
	*sp = s;
	return true;
}

static bool
parse_rule(const char *s, tz_rule *r)
{
	int32_t off;
	memset(r, 0, sizeof(*r));
	if (!skip_abbr(&s) || !parse_hms(&s, &off))
		return false;
	r->std_off = -off;      /* POSIX counts hours west of UTC */
	if (*s == '\0') {
		r->valid = true;
		return true;
	}
	if (!skip_abbr(&s))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if (!parse_hms(&s, &off))
			return false;
		r->dst_off = -off;
	}
	if (*s == '\0') {
		/* No dates: POSIX leaves them to the implementation. These are
		 * the United States rules, as glibc uses. */
		s = ",M3.2.0,M11.1.0";
	}
	if (*s++ != ',' || !parse_date(&s, &r->start) || *s++ != ',' ||
	    !parse_date(&s, &r->end) || *s != '\0')
		return false;
	r->valid = true;
	return true;
}

/* Returns the UTC second at which d happens in year y, given the offset
 * in effect just before it. */
static int64_t
date_utc(const tz_date *d, int64_t y, int32_t off_before)
{
	int64_t day;
	if (d->kind == 'M') {
		int64_t first = days_from_civil(y, d->month, 1);
		int first_wday = (int)(((first % 7) + 11) % 7);  /* 1970-01-01 was a Thursday */
		int mday = 1 + (d->wday - first_wday + 7) % 7 + (d->week - 1) * 7;
		while (mday > month_days(y, d->month))
			mday -= 7;
		day = first + mday - 1;
	} else if (d->kind == 'J') {
		day = days_from_civil(y, 1, 1) + d->day - 1 +
		    (is_leap(y) && d->day >= 60);
	} else {
		day = days_from_civil(y, 1, 1) + d->day;
	}
	return day * 86400 + d->time_s - off_before;
}

static int32_t
rule_offset(const tz_rule *r, int64_t t)
{
	if (!r->has_dst)
		return r->std_off;
	int64_t days = (t + r->std_off) / 86400 - ((t + r->std_off) % 86400 < 0);
	/* The civil year of days, from the inverse of days_from_civil. */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t y = yoe + era * 400 + (mp >= 10);

	int64_t start = date_utc(&r->start, y, r->std_off);
	int64_t end = date_utc(&r->end, y, r->dst_off);
	bool dst = start < end ? (t >= start && t < end) :
	    (t >= start || t < end);
	return dst ? r->dst_off : r->std_off;
}

int32_t
zg_tz_offset(const struct zg_tz *zone, int64_t t_s)
{
	if (zone->n == 0 || t_s < zone->times[0])
		return zone->n == 0 && zone->rule.valid ?
		    rule_offset(&zone->rule, t_s) : zone->first_off;
	if (t_s >= zone->times[zone->n - 1] && zone->rule.valid)
		return rule_offset(&zone->rule, t_s);
	size_t lo = 0, hi = zone->n;  /* times[lo] <= t_s < times[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (zone->times[mid] <= t_s)
			lo = mid;
		else
			hi = mid;
	}
	return zone->offs[lo];
}

static bool
read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return false;
	uint8_t *buf = malloc(TZ_FILE_MAX);
	size_t n = buf == NULL ? 0 : fread(buf, 1, TZ_FILE_MAX, f);
	fclose(f);
	if (buf == NULL || n == 0 || n == TZ_FILE_MAX) {
		free(buf);
		return false;
	}
	*out = buf;
	*len = n;
	return true;
}

/* Parses TZif data, version 2 or later, into z. */
static bool
parse_tzif(const uint8_t *p, size_t len, struct zg_tz *z)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0 || p[4] < '2')
		return false;
	/* Skip the version 1 block, which has 32-bit times. */
	uint32_t c[6];
	for (int i = 0; i < 6; i++)
		c[i] = be32(p + 20 + 4 * i);
	size_t v1 = 44 + (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] +
	    (size_t)c[2] * 8 + c[1] + c[0];
	if (v1 + 44 > len || memcmp(p + v1, "TZif", 4) != 0)
		return false;
	p += v1;
	len -= v1;
	for (int i = 0; i < 6; i++)
		c[i] = be32(p + 20 + 4 * i);
	size_t timecnt = c[3], typecnt = c[4];
	size_t body = (size_t)timecnt * 9 + typecnt * 6 + c[5] +
	    (size_t)c[2] * 12 + c[1] + c[0];
	if (typecnt == 0 || 44 + body > len)
		return false;
	const uint8_t *times = p + 44, *idx = times + timecnt * 8;
	const uint8_t *types = idx + timecnt;

	z->times = calloc(timecnt + 1, sizeof(*z->times));
	z->offs = calloc(timecnt + 1, sizeof(*z->offs));
	if (z->times == NULL || z->offs == NULL)
		return false;
	for (size_t i = 0; i < timecnt; i++) {
		if (idx[i] >= typecnt)
			return false;
		z->times[i] = be64(times + 8 * i);
		z->offs[i] = (int32_t)be32(types + 6 * idx[i]);
	}
	z->n = timecnt;
	z->first_off = (int32_t)be32(types);

	/* The footer: a newline, a POSIX TZ string, a newline. */
	const char *foot = (const char *)p + 44 + body;
	size_t flen = len - 44 - body;
	if (flen >= 2 && foot[0] == '\n') {
		const char *nl = memchr(foot + 1, '\n', flen - 1);
		char rule[128];
		if (nl != NULL && (size_t)(nl - foot - 1) < sizeof(rule)) {
			memcpy(rule, foot + 1, nl - foot - 1);
			rule[nl - foot - 1] = '\0';
			/* NOTE: an empty or unparsable footer leaves the last
			 * transition's offset in force for all later times. */
			if (rule[0] != '\0')
				parse_rule(rule, &z->rule);
		}
	}
	return true;
}

static bool
name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > TZ_NAME_MAX || name[0] == '/' ||
	    name[len - 1] == '/')
		return false;
	for (const char *s = name; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("_+-/", *s) == NULL)
			return false;
		if (*s == '/' && s[1] == '/')
			return false;
	}
	/* Letters, digits and "_+-/" cannot form "..", so the name stays
	 * inside ZONEINFO_DIR. */
	return true;
}

zg_err
zg_tz_load(const char *name, const struct zg_tz **out, zg_errmsg *em)
{
	char q[ZG_QUOTE_MAX];
	zg_quote_value(name, q, sizeof(q));
	if (!name_valid(name))
		return zg_fail(em, ZG_ERR_INVALID, "timezone \"%s\" is not a "
		    "valid IANA zone name such as \"Europe/Berlin\"", q);

	pthread_mutex_lock(&zones_lock);
	zg_err err = ZG_ERR_INVALID;
	uint8_t *data = NULL;
	size_t len;
	struct zg_tz *z;
	for (z = zones; z != NULL; z = z->next) {
		if (strcmp(z->name, name) == 0) {
			*out = z;
			err = ZG_OK;
			goto out;
		}
	}
	char path[sizeof(ZONEINFO_DIR) + TZ_NAME_MAX + 1];
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, name);
	if (!read_file(path, &data, &len)) {
		err = zg_fail(em, ZG_ERR_INVALID, "unknown timezone \"%s\": "
		    "no such zone in %s", q, ZONEINFO_DIR);
		goto out;
	}
	if ((z = calloc(1, sizeof(*z))) == NULL) {
		err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!parse_tzif(data, len, z)) {
		free(z->times);
		free(z->offs);
		free(z);
		err = zg_fail(em, ZG_ERR_INVALID, "timezone \"%s\": %s/%s is "
		    "not a TZif file of version 2 or later", q, ZONEINFO_DIR, q);
		goto out;
	}
	snprintf(z->name, sizeof(z->name), "%s", name);
	z->next = zones;
	zones = z;
	*out = z;
	err = ZG_OK;
out:
	pthread_mutex_unlock(&zones_lock);
	free(data);
	return err;
}
