/*
 * Private to authn/jws.c and authn/jwt.c: the JWS steps that both a bare
 * signature check (zg_jws_verify) and an OIDC token check
 * (zg_oidc_verify) run. Each failure is ZG_ERR_UNAUTHENTICATED with a
 * message that never echoes the token.
 */
#ifndef ZG_AUTHN_JWS_INTERNAL_H
#define ZG_AUTHN_JWS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "authn/jwt.h"

/*
 * Decodes the base64url segment of len bytes at s into a malloc'ed buffer
 * with a NUL after its *outlen bytes. what names the segment in messages.
 */
zg_err zg_jws_segment_decode(const char *s, size_t len, const char *what,
    uint8_t **out, size_t *outlen, zg_errmsg *em);

/* Parses text as a JSON object without duplicate names into *out. */
zg_err zg_jws_json_object_decode(const uint8_t *text, size_t len,
    const char *what, json_t **out, zg_errmsg *em);

/*
 * Runs steps 1 and 2 of jwt.h on token: stores the offsets of its two dots
 * in dots, the algorithm bit in *alg and the parsed header in *header,
 * which the caller releases with json_decref.
 */
zg_err zg_jws_split(const char *token, size_t len, unsigned algorithms,
    size_t dots[2], json_t **header, unsigned *alg, zg_errmsg *em);

/*
 * Runs steps 3 and 4 of jwt.h: checks that key suits alg and that the
 * token's signature verifies under key.
 */
zg_err zg_jws_check_key_and_signature(const char *token, size_t len,
    const size_t dots[2], unsigned alg, const zg_jwk *key, zg_errmsg *em);

#endif
