#include "authn/did.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/codec.h"
#include "crypto/crypto.h"
#include "crypto/secp256k1.h"

#define DID_ETHR_PREFIX "did:ethr:0x"
#define PROOF_LEN 65

/* Parses "0x" and 130 hex digits into r||s and a recovery id 0 or 1. */
static zg_err
proof_parse(const char *s, size_t len, uint8_t sig[ZG_SECP_SIG_LEN],
    int *recid, zg_errmsg *em)
{
	uint8_t raw[PROOF_LEN];
	size_t n;

	if (len != 2 + 2 * PROOF_LEN || s[0] != '0' || (s[1] != 'x' &&
	    s[1] != 'X') || zg_hex_decode(s + 2, len - 2, raw, sizeof(raw),
	    &n) != ZG_OK || n != PROOF_LEN)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the DID token's "
		    "proof is not 0x followed by a 65-byte hex signature");
	uint8_t v = raw[64];
	if (v >= 27)
		v -= 27;
	if (v > 1)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the DID token's "
		    "proof has recovery byte %u; expected 27, 28, 0 or 1",
		    raw[64]);
	memcpy(sig, raw, ZG_SECP_SIG_LEN);
	*recid = v;
	return ZG_OK;
}

/* Reads the address of "did:ethr:0x<40 hex>", in either case. */
static bool
issuer_address(const char *iss, uint8_t addr[ZG_ETH_ADDR_LEN])
{
	size_t plen = strlen(DID_ETHR_PREFIX);
	size_t n;
	if (strncmp(iss, DID_ETHR_PREFIX, plen) != 0 ||
	    strlen(iss + plen) != 2 * ZG_ETH_ADDR_LEN)
		return false;
	return zg_hex_decode(iss + plen, 2 * ZG_ETH_ADDR_LEN, addr,
	    ZG_ETH_ADDR_LEN, &n) == ZG_OK && n == ZG_ETH_ADDR_LEN;
}

/* Reads an integer time claim in seconds. */
static bool
time_claim(const json_t *claim, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(claim, name);
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	/* JavaScript numbers such as 1.7e9 arrive as reals. */
	if (json_is_real(v) && json_real_value(v) >= 0 &&
	    json_real_value(v) < 1e15) {
		*out = (int64_t)json_real_value(v);
		return true;
	}
	return false;
}

/* Splits the decoded token into proof and claim strings (borrowed). */
static zg_err
token_split(const uint8_t *text, size_t len, json_t **arr, zg_errmsg *em)
{
	json_error_t jerr;
	*arr = json_loadb((const char *)text, len, 0, &jerr);
	if (!json_is_array(*arr) || json_array_size(*arr) != 2 ||
	    !json_is_string(json_array_get(*arr, 0)) ||
	    !json_is_string(json_array_get(*arr, 1))) {
		json_decref(*arr);
		*arr = NULL;
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the DID token is "
		    "not a JSON array of two strings [proof, claim]");
	}
	return ZG_OK;
}

/* Checks that the claim's issuer made the proof over the claim string. */
static zg_err
signer_check(const char *claim_text, size_t claim_len, const char *iss,
    const uint8_t sig[ZG_SECP_SIG_LEN], int recid, zg_errmsg *em)
{
	uint8_t digest[32], pub[ZG_SECP_PUB_LEN];
	uint8_t want[ZG_ETH_ADDR_LEN], got[ZG_ETH_ADDR_LEN];

	if (!issuer_address(iss, want))
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the DID token's "
		    "iss is not did:ethr:0x followed by 40 hex digits");
	zg_eth_personal_digest((const uint8_t *)claim_text, claim_len, digest);
	if (zg_secp_recover(digest, sig, recid, pub) != ZG_OK)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the DID token's "
		    "proof is not a valid secp256k1 signature");
	zg_eth_address(pub, got);
	if (!zg_ct_equal(got, want, sizeof(got)))
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the DID token's "
		    "proof was not made by the iss address");
	return ZG_OK;
}

zg_err
zg_did_verify(const zg_magic_config *cfg, const char *token, size_t len,
    int64_t now, zg_identity *out, zg_errmsg *em)
{
	uint8_t *text = NULL;
	size_t text_len;
	json_t *arr = NULL, *claim = NULL;
	uint8_t sig[ZG_SECP_SIG_LEN];
	int recid = -1;
	int64_t ext, nbf;
	json_error_t jerr;
	zg_err err;

	memset(out, 0, sizeof(*out));
	if (cfg->client_id == NULL || cfg->client_id[0] == '\0')
		return zg_fail(em, ZG_ERR_CONFIG, "magic: client_id is not set");
	int skew = cfg->clock_skew_seconds < 0 ? ZG_MAGIC_DEFAULT_SKEW_S :
	    cfg->clock_skew_seconds;
	if (len > ZG_DID_MAX_LEN)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the DID token is "
		    "longer than %d bytes", ZG_DID_MAX_LEN);

	err = ZG_ERR_NOMEM;
	if ((text = malloc(len / 4 * 3 + 1)) == NULL)
		goto out;
	if (zg_base64_decode(token, len, text, len / 4 * 3, &text_len) !=
	    ZG_OK) {
		err = zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the DID token is not "
		    "valid padded base64");
		goto out;
	}
	if ((err = token_split(text, text_len, &arr, em)) != ZG_OK)
		goto out;

	const json_t *proof = json_array_get(arr, 0);
	const json_t *claim_str = json_array_get(arr, 1);
	const char *claim_text = json_string_value(claim_str);
	size_t claim_len = json_string_length(claim_str);
	if ((err = proof_parse(json_string_value(proof),
	    json_string_length(proof), sig, &recid, em)) != ZG_OK)
		goto out;

	err = ZG_ERR_UNAUTHENTICATED;
	claim = json_loadb(claim_text, claim_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(claim)) {
		zg_fail(em, err, "the DID token's claim is not a JSON object "
		    "without duplicate names");
		goto out;
	}
	const char *iss = json_string_value(json_object_get(claim, "iss"));
	const char *aud = json_string_value(json_object_get(claim, "aud"));
	if (iss == NULL || aud == NULL) {
		zg_fail(em, err, "the DID token's claim lacks an iss or aud "
		    "string");
		goto out;
	}
	if (!time_claim(claim, "ext", &ext) || !time_claim(claim, "nbf",
	    &nbf)) {
		zg_fail(em, err, "the DID token's claim lacks numeric ext and "
		    "nbf times");
		goto out;
	}
	if ((err = signer_check(claim_text, claim_len, iss, sig, recid, em)) !=
	    ZG_OK)
		goto out;

	err = ZG_ERR_UNAUTHENTICATED;
	if (now > ext + skew) {
		zg_fail(em, err, "the DID token expired %lld seconds ago (ext)",
		    (long long)(now - ext));
		goto out;
	}
	if (nbf > now + skew) {
		zg_fail(em, err, "the DID token is not valid for another %lld "
		    "seconds (nbf)", (long long)(nbf - now));
		goto out;
	}
	if (strcmp(aud, cfg->client_id) != 0) {
		zg_fail(em, err, "the DID token's aud is not this service's "
		    "client id");
		goto out;
	}

	_Static_assert(sizeof(DID_ETHR_PREFIX) - 1 + 40 < ZG_USER_MAX,
	    "a did:ethr issuer fits in a user id");
	snprintf(out->user_id, sizeof(out->user_id), "%s", iss);
	out->method = "magic";
	out->expires_at = ext;
	/* success */
	err = ZG_OK;
out:
	json_decref(claim);
	json_decref(arr);
	if (text != NULL) {
		memset(text, 0, len / 4 * 3 + 1);
		free(text);
	}
	return err;
}
