/*
 * OIDC bearer tokens: JWTs in the JWS compact serialization (RFC 7515,
 * RFC 7519), verified against a JWKS.
 *
 * A token is three base64url segments, header.payload.signature, with no
 * padding, no '+' or '/' and no whitespace. Verification runs in this
 * order, and each step that fails returns ZG_ERR_UNAUTHENTICATED with a
 * message that names the step but never echoes the token:
 *
 *   1. length: at most ZG_JWT_MAX_LEN bytes, checked before any parsing;
 *   2. header: a JSON object whose "alg" is on the configured allow-list
 *      ("none" and every HMAC algorithm are always rejected) and which has
 *      no "crit" member;
 *   3. key: "kid" selects the key, whose type must match alg (RS256 and
 *      PS256 need RSA, ES256 needs EC P-256, EdDSA needs Ed25519) and
 *      whose own "alg", if any, must equal the token's;
 *   4. signature: checked with OpenSSL 3 EVP. ES256 signatures are the
 *      64-byte r||s of RFC 7518 section 3.4; DER input is rejected;
 *   5. claims: "iss" equal to the issuer, the audience in "aud" (a string
 *      or an array), "exp" required, "nbf" and "iat" optional, each with
 *      clock_skew_seconds of tolerance.
 *
 * The verified identity takes its user id and roles from configurable
 * claims, and sets mfa when the "amr" array (RFC 8176) contains "mfa",
 * "otp" or "hwk".
 */
#ifndef ZG_AUTHN_JWT_H
#define ZG_AUTHN_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authn/jwks.h"
#include "base/errmsg.h"
#include "crypto/crypto.h"
#include "store/store.h"

#define ZG_JWT_MAX_LEN 16384
#define ZG_IDENTITY_ROLES_MAX 64
#define ZG_ROLE_NAME_MAX 128

/* The JWS algorithms zguard verifies, as bits of an allow-list. */
enum {
	ZG_JWS_RS256 = 1 << 0,
	ZG_JWS_PS256 = 1 << 1,
	ZG_JWS_ES256 = 1 << 2,
	ZG_JWS_EDDSA = 1 << 3,
};

#define ZG_JWS_ALL (ZG_JWS_RS256 | ZG_JWS_PS256 | ZG_JWS_ES256 | ZG_JWS_EDDSA)
#define ZG_OIDC_DEFAULT_SKEW_S 60

/*
 * The [oidc] settings. Strings are borrowed while zg_oidc_open runs and
 * copied. Exactly one of jwks_file and jwks_url must be set.
 */
typedef struct zg_oidc_config {
	const char *issuer;            /* required; compared exactly with "iss" */
	const char *audience;          /* required; must appear in "aud" */
	const char *jwks_file;
	const char *jwks_url;          /* http:// or https:// */
	const char *algorithms;        /* comma-separated; NULL: all four */
	int clock_skew_seconds;        /* 0 to 600; negative: the default 60 */
	const char *user_claim;        /* NULL: "sub" */
	const char *roles_claim;       /* NULL: "roles" */
	zg_jwks_options jwks;          /* URL limits; zero fields: defaults */
} zg_oidc_config;

/* The caller identified by a verified OIDC or Magic DID token. */
typedef struct zg_identity {
	char user_id[ZG_USER_MAX];
	const char *method;            /* "oidc" or "magic" (static strings) */
	bool mfa;
	char **roles;                  /* n_roles owned strings; NULL if none */
	size_t n_roles;
	int64_t expires_at;            /* Unix seconds, from "exp" or "ext" */
} zg_identity;

/* Frees the roles of id and zeroes it. */
void zg_identity_clear(zg_identity *id);

/*
 * Decodes unpadded base64url (RFC 4648 section 5). Rejects padding, '+',
 * '/', whitespace, a length of 1 mod 4 and nonzero unused trailing bits
 * with ZG_ERR_INVALID, as it does output longer than outsz.
 */
zg_err zg_base64url_decode(const char *in, size_t len, uint8_t *out,
    size_t outsz, size_t *outlen);

/* Writes unpadded base64url and a NUL; out needs (4 * len + 2) / 3 + 1. */
void zg_base64url_encode(const uint8_t *in, size_t len, char *out);

/*
 * Parses a comma-separated list such as "RS256, ES256" into ZG_JWS_* bits.
 * ZG_ERR_CONFIG for an empty list, an unknown name, "none" or HS*.
 */
zg_err zg_jws_parse_algorithms(const char *list, unsigned *mask,
    zg_errmsg *em);

/*
 * Checks steps 1 to 4 above for one token against key, with no claim
 * checks. On success *payload receives the decoded payload (malloc'ed,
 * NUL-terminated, freed by the caller) and *payload_len its length.
 */
zg_err zg_jws_verify(const char *token, size_t len, const zg_jwk *key,
    unsigned algorithms, uint8_t **payload, size_t *payload_len,
    zg_errmsg *em) ZG_WARN_UNUSED;

typedef struct zg_oidc zg_oidc;

/*
 * Checks cfg and opens its key set. ZG_ERR_CONFIG, with a message naming
 * the setting, for a missing issuer or audience, both or neither of
 * jwks_file and jwks_url, a bad algorithm list or an out-of-range skew.
 */
zg_err zg_oidc_open(const zg_oidc_config *cfg, zg_oidc **out, zg_errmsg *em);

void zg_oidc_free(zg_oidc *o);

/*
 * Verifies token (len bytes, without the "Bearer " prefix) at time now in
 * Unix seconds. On success fills out (release it with zg_identity_clear).
 * Fails with ZG_ERR_UNAUTHENTICATED for any rejected token, ZG_ERR_UPSTREAM
 * when the key set cannot be fetched, and ZG_ERR_NOMEM.
 */
zg_err zg_oidc_verify(zg_oidc *o, const char *token, size_t len, int64_t now,
    zg_identity *out, zg_errmsg *em) ZG_WARN_UNUSED;

#endif
