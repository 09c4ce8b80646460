/*
 * Lockout after repeated authentication failures.
 *
 * Failures are counted per principal and per source IP address, each in
 * its own entry. When an entry reaches threshold failures within
 * window_seconds it is locked for base_backoff_seconds * 2^k, capped at
 * max_backoff_seconds, where k is the number of earlier lockouts of that
 * entry. k falls back to 0 after a success (principals only) or after
 * max_backoff_seconds without a failure.
 *
 * Entries live in memory in a table of at most max_entries, keyed with
 * SipHash under a random key so that callers cannot force collisions. When
 * the table is full the least recently used entry is evicted.
 * NOTE: eviction deletes a lockout, so a caller who can fail as many
 * distinct principals or addresses as max_entries can unlock an entry.
 * Size max_entries well above the expected number of failing clients.
 *
 * All functions are safe to call from many threads at once.
 */
#ifndef ZG_AUTHN_LOCKOUT_H
#define ZG_AUTHN_LOCKOUT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ZG_LOCKOUT_KEY_MAX 256

/* The [lockout] settings. A zero field takes the default. */
typedef struct zg_lockout_config {
	unsigned threshold;            /* failures that lock; default 5 */
	int64_t window_seconds;        /* default 300 */
	int64_t base_backoff_seconds;  /* first lockout; default 30 */
	int64_t max_backoff_seconds;   /* cap; default 3600 */
	size_t max_entries;            /* table size; default 100000 */
} zg_lockout_config;

typedef struct zg_lockout zg_lockout;

/* Creates a table. cfg may be NULL for all defaults. ZG_ERR_CONFIG if
 * base_backoff_seconds exceeds max_backoff_seconds. */
zg_err zg_lockout_new(const zg_lockout_config *cfg, zg_lockout **out);

void zg_lockout_free(zg_lockout *lo);

/*
 * Checks whether principal or ip (either may be NULL) is locked out at now
 * (Unix seconds). Returns ZG_OK, or ZG_ERR_RATE_LIMITED with the seconds
 * until the later of the two lockouts ends in *retry_after (at least 1),
 * for a Retry-After header.
 */
zg_err zg_lockout_check(zg_lockout *lo, const char *principal,
    const char *ip, int64_t now, int64_t *retry_after);

/*
 * Records one failed authentication for principal and ip (either may be
 * NULL). A failure while an entry is already locked is not counted, so
 * the caller should check first and not even try the credentials.
 */
void zg_lockout_failure(zg_lockout *lo, const char *principal,
    const char *ip, int64_t now);

/* Records a successful authentication: resets the principal's entry. */
void zg_lockout_success(zg_lockout *lo, const char *principal);

/* Returns the number of entries in use, for tests and metrics. */
size_t zg_lockout_size(zg_lockout *lo);

#endif
