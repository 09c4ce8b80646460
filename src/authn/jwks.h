/*
 * JSON Web Key Sets (RFC 7517) with the public keys of an OIDC issuer.
 *
 * Only signature keys that zguard can use are loaded: "RSA" keys (n, e) of
 * 2048 to 8192 bits, "EC" keys on P-256 (x, y), and "OKP" keys on Ed25519
 * (x). Keys of any other kty or curve, keys whose "use" is not "sig", and
 * symmetric "oct" keys are skipped, so no HMAC key can ever be selected.
 *
 * A set comes from a file, reloaded when its mtime, size or inode changes,
 * or from an http(s) URL fetched with libcurl. A fetched set is cached for
 * the max-age of its Cache-Control header (ZG_JWKS_DEFAULT_MAX_AGE_S when
 * absent, clamped to [ZG_JWKS_MIN_MAX_AGE_S, max_age_cap_seconds]). A kid
 * that is not in the cached set triggers at most one refetch per
 * ZG_JWKS_UNKNOWN_KID_REFETCH_S seconds. When a reload fails the previous
 * set stays in use and the failure is logged.
 *
 * A zg_jwks is safe to use from many threads: lookups share a read lock,
 * and one thread at a time reloads while the others keep using the old set.
 */
#ifndef ZG_AUTHN_JWKS_H
#define ZG_AUTHN_JWKS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/errmsg.h"

#define ZG_JWKS_DEFAULT_MAX_AGE_S 300
#define ZG_JWKS_MIN_MAX_AGE_S 30
#define ZG_JWKS_UNKNOWN_KID_REFETCH_S 30
#define ZG_JWKS_RETRY_AFTER_FAILURE_S 10
#define ZG_JWK_KID_MAX 256
#define ZG_JWK_ALG_MAX 16

typedef enum zg_jwk_type {
	ZG_JWK_RSA = 1,
	ZG_JWK_EC_P256,
	ZG_JWK_ED25519,
} zg_jwk_type;

/* One public key of a set. */
typedef struct zg_jwk {
	EVP_PKEY *pkey;                /* owned; freed by zg_jwk_clear */
	zg_jwk_type type;
	char kid[ZG_JWK_KID_MAX];      /* "" when the key has no kid */
	char alg[ZG_JWK_ALG_MAX];      /* the JWK's "alg", or "" when absent */
} zg_jwk;

/* Limits for fetching a set from a URL. A zero field takes the default. */
typedef struct zg_jwks_options {
	long connect_timeout_seconds;  /* default 5 */
	long timeout_seconds;          /* whole transfer; default 10 */
	size_t max_bytes;              /* response body; default 1 MiB */
	long max_age_cap_seconds;      /* upper bound of max-age; default 86400 */
} zg_jwks_options;

typedef struct zg_jwks zg_jwks;

/*
 * Parses one JWK object given as JSON text into out. Fails with
 * ZG_ERR_INVALID, and a message naming the member, for a malformed or
 * unsupported key. The caller frees out with zg_jwk_clear.
 */
zg_err zg_jwk_from_json(const char *json, size_t len, zg_jwk *out,
    zg_errmsg *em);

/* Frees the key of k and zeroes k. NULL is accepted. */
void zg_jwk_clear(zg_jwk *k);

/* Returns "RSA", "EC P-256" or "Ed25519". */
const char *zg_jwk_type_name(zg_jwk_type type);

/*
 * Loads the set in the file at path. Fails with ZG_ERR_CONFIG if the file
 * cannot be read or contains no usable key. The caller frees *out with
 * zg_jwks_free.
 */
zg_err zg_jwks_open_file(const char *path, zg_jwks **out, zg_errmsg *em);

/*
 * Prepares a set fetched from url, which must start with "http://" or
 * "https://". Nothing is fetched yet: the first zg_jwks_find does that, so
 * a daemon can start while the issuer is unreachable. opts may be NULL.
 */
zg_err zg_jwks_open_url(const char *url, const zg_jwks_options *opts,
    zg_jwks **out, zg_errmsg *em);

void zg_jwks_free(zg_jwks *ks);

/*
 * Finds the key for kid at time now (Unix seconds), reloading the set first
 * when it is stale. kid may be NULL when the token names none; that selects
 * the only key of a set that has exactly one. On success out receives a new
 * reference to the key (the caller frees it with zg_jwk_clear).
 *
 * Errors: ZG_ERR_UNAUTHENTICATED for an unknown kid or a missing kid in a
 * set of several keys; ZG_ERR_UPSTREAM when a URL set has never been
 * fetched successfully.
 */
zg_err zg_jwks_find(zg_jwks *ks, const char *kid, int64_t now, zg_jwk *out,
    zg_errmsg *em);

/* Returns how many times the set was loaded or fetched successfully. */
unsigned zg_jwks_load_count(zg_jwks *ks);

#endif
