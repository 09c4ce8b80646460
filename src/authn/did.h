/*
 * Magic DID tokens, the login tokens of the Magic platform.
 *
 * A token is padded standard base64 of the JSON array [proof, claim]:
 *
 *   claim  a JSON string holding a JSON object with "iat", "ext", "nbf"
 *          (Unix seconds), "iss" ("did:ethr:0x" and 40 hex digits), "sub",
 *          "aud", "tid" and "add";
 *   proof  "0x" and 130 hex digits: the 65-byte r || s || v signature that
 *          personal_sign (EIP-191 version 0x45) makes over the claim string
 *          exactly as sent, with v 27 or 28 (0 or 1 is accepted too).
 *
 * A token is valid when three checks pass. The address recovered from
 * proof equals the iss address, compared as bytes so that hex case does
 * not matter. ext is in the future and nbf in the past, both with
 * clock_skew_seconds of tolerance. aud equals the configured client id.
 * The user id is the iss string.
 */
#ifndef ZG_AUTHN_DID_H
#define ZG_AUTHN_DID_H

#include <stddef.h>
#include <stdint.h>

#include "authn/jwt.h"
#include "base/errmsg.h"

#define ZG_DID_MAX_LEN ZG_JWT_MAX_LEN
#define ZG_MAGIC_DEFAULT_SKEW_S 60

/* The [magic] settings. client_id is borrowed for each call. */
typedef struct zg_magic_config {
	const char *client_id;         /* required; compared with "aud" */
	int clock_skew_seconds;        /* 0 to 600; negative: the default 60 */
} zg_magic_config;

/*
 * Verifies a DID token (len bytes, without any "Bearer " prefix) at time
 * now in Unix seconds. On success fills out with method "magic", mfa false
 * and no roles; release it with zg_identity_clear. Each reason for
 * rejection is a distinct ZG_ERR_UNAUTHENTICATED message that never echoes
 * the token; ZG_ERR_CONFIG if cfg has no client id.
 */
zg_err zg_did_verify(const zg_magic_config *cfg, const char *token,
    size_t len, int64_t now, zg_identity *out, zg_errmsg *em) ZG_WARN_UNUSED;

#endif
