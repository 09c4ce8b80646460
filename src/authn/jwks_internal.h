/*
 * Private to authn/jwk.c, authn/jwks.c and authn/jwks_fetch.c. Declares
 * the state of a zg_jwks and the steps that the file source and the URL
 * source share: parsing a JWK object, parsing a whole set and installing
 * a new set.
 */
#ifndef ZG_AUTHN_JWKS_INTERNAL_H
#define ZG_AUTHN_JWKS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <jansson.h>

#include "authn/jwks.h"

/* The largest JWKS file read, and the default max_bytes of a fetch. */
#define JWKS_DEFAULT_MAX_BYTES (1024 * 1024)

/* An immutable snapshot of a set; replaced whole on reload. */
typedef struct keyset {
	zg_jwk *keys;
	size_t n;
} keyset;

struct zg_jwks {
	pthread_rwlock_t lock;         /* guards set and the fields below it */
	pthread_mutex_t reload_lock;   /* one reload at a time */
	keyset *set;
	unsigned loads;
	/* file source: the stat of the file the set was read from */
	struct stat file_stat;
	/* URL source, times in Unix seconds */
	int64_t stale_at;
	int64_t next_attempt;
	int64_t last_kid_refetch;
	bool kid_refetched;

	char *path;
	char *url;
	zg_jwks_options opts;
};

/*
 * Parses one JWK object into out (jwk.c). Fails with ZG_ERR_INVALID, and a
 * message naming the member, for a malformed or unsupported key; out is
 * zeroed then.
 */
zg_err zg_jwk_from_object(const json_t *obj, zg_jwk *out, zg_errmsg *em);

/*
 * Parses a JWKS document read from source (a path or URL, for messages)
 * into a new set that the caller frees with zg_jwks_keyset_free (jwks.c).
 */
zg_err zg_jwks_keyset_parse(const char *text, size_t len, const char *source,
    keyset **out, zg_errmsg *em);

/* Frees s and the keys in it. NULL is accepted. */
void zg_jwks_keyset_free(keyset *s);

/*
 * Replaces the current set of ks with s, which ks owns from then on, and
 * frees the old one. st is the stat of the file s came from, or NULL for a
 * URL; stale_at is when a fetched set expires (jwks.c).
 */
void zg_jwks_install(zg_jwks *ks, keyset *s, const struct stat *st,
    int64_t stale_at);

/*
 * Fetches ks->url and installs the set (jwks_fetch.c). On failure the old
 * set stays, the failure is logged, and a reload that is not forced waits
 * ZG_JWKS_RETRY_AFTER_FAILURE_S seconds. The caller holds reload_lock.
 */
zg_err zg_jwks_fetch_url(zg_jwks *ks, int64_t now, zg_errmsg *em);

#endif
