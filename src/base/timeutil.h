/* Wall-clock and monotonic time, and RFC 3339 timestamps. */
#ifndef ZG_BASE_TIMEUTIL_H
#define ZG_BASE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Microseconds since the Unix epoch, from CLOCK_REALTIME. */
int64_t zg_time_now_us(void);

/* Microseconds from CLOCK_MONOTONIC, for measuring intervals. */
int64_t zg_time_mono_us(void);

/*
 * Formats t (microseconds since the epoch) as "2026-12-04T20:22:23.123456Z".
 * out needs at least 28 bytes; a smaller buffer gets an empty string.
 */
void zg_time_format_rfc3339_us(int64_t t, char *out, size_t outsz);

/* Formats t as "2026-12-04T20:22:23Z" (seconds precision, UTC). */
void zg_time_format_rfc3339(int64_t t, char *out, size_t outsz);

/*
 * Parses an RFC 3339 date-time ("2026-12-04T20:22:23Z",
 * "2026-12-04T20:22:23.5+02:00") into microseconds since the epoch.
 * Fractions beyond microseconds are truncated. Returns ZG_ERR_INVALID for
 * anything else, including out-of-range fields such as month 13.
 */
zg_err zg_time_parse_rfc3339(const char *s, int64_t *out);

#endif
