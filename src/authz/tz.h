/*
 * IANA time zones from the system's zoneinfo files (TZif), for conditions
 * on local time and for calendar windows of spending limits. Thread-safe;
 * never touches the TZ environment variable.
 */
#ifndef ZG_AUTHZ_TZ_H
#define ZG_AUTHZ_TZ_H

#include <stdint.h>

#include "base/errmsg.h"

struct zg_tz;

/*
 * Loads the IANA zone name from the system zoneinfo directory. Zones stay
 * loaded for the life of the process and are shared, so *out needs no
 * free. ZG_ERR_INVALID for a malformed or unknown name.
 */
zg_err zg_tz_load(const char *name, const struct zg_tz **out, zg_errmsg *em);

/* Returns the offset from UTC, in seconds, of zone at t_s (Unix seconds). */
int32_t zg_tz_offset(const struct zg_tz *zone, int64_t t_s);

#endif
