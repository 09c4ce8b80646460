/*
 * The signing routes of /v1/keys/{id}: Ethereum transactions, EIP-191
 * messages, EIP-712 typed data and, for keys created to allow it, raw
 * digests.
 *
 * Every signature the server makes goes through sign() below and nothing
 * else calls zg_keys_sign_digest or zg_keys_sign_bytes, so the
 * transaction policy (spending limits, approvals) has one place to stand.
 * Each signature is a key_usage audit event with the key id, version,
 * chain id and transaction hash, never key material.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "chain/chain.h"
#include "crypto/secp256k1.h"
#include "keys/keys.h"
#include "server/server.h"

enum sign_kind {
	SIGN_TRANSACTION,
	SIGN_MESSAGE,
	SIGN_TYPED_DATA,
	SIGN_DIGEST,
};

static const char *const kind_names[] = {
	"transaction", "personal_message", "typed_data", "raw_digest",
};

/* What a signature was for, for the audit event and the log. */
struct sign_what {
	enum sign_kind kind;
	const zg_tx *tx;           /* SIGN_TRANSACTION only */
};

static zg_err
sign(zg_app *app, zg_request *req, const zg_key *key,
    const struct sign_what *what, const uint8_t *digest, size_t len,
    zg_key_signature *sig)
{
	zg_err err;

	if (key->alg == ZG_KEY_ALG_ED25519)
		err = zg_keys_sign_bytes(app->keys, key->id, digest, len, sig,
		    &req->em);
	else
		err = zg_keys_sign_digest(app->keys, key->id, digest, sig,
		    &req->em);
	if (err != ZG_OK)
		return err;
	json_t *meta = json_pack("{s:s,s:i,s:s}", "keyId", key->id, "keyVersion",
	    (json_int_t)sig->version, "signatureKind", kind_names[what->kind]);
	if (meta != NULL && what->tx != NULL) {
		char chain[ZG_U256_DEC_LEN];
		zg_u256_to_dec(&what->tx->chain_id, chain);
		json_object_set_new(meta, "chainId", json_string(chain));
	}
	json_decref(req->audit_metadata);
	req->audit_metadata = meta;
	zg_log_info("signed", ZGF_S("request_id", req->request_id),
	    ZGF_S("user_id", req->principal.user_id), ZGF_S("key_id", key->id),
	    ZGF_I("key_version", sig->version),
	    ZGF_S("kind", kind_names[what->kind]));
	return ZG_OK;
}

/* Loads the path's key and checks it can sign Ethereum data. */
static zg_err
eth_key(zg_app *app, zg_request *req, zg_key *key)
{
	zg_err err = zg_req_key(app, req, key);
	if (err != ZG_OK)
		return err;
	if (key->alg != ZG_KEY_ALG_SECP256K1) {
		err = zg_fail(&req->em, ZG_ERR_INVALID, "key %s is %s; Ethereum "
		    "signatures need a secp256k1 key", key->id,
		    zg_key_alg_name(key->alg));
		zg_key_free(key);
	}
	return err;
}

/* "0x" and the hex of n bytes, as a new JSON string. */
static json_t *
hex_json(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 3);
	if (s == NULL)
		return NULL;
	s[0] = '0';
	s[1] = 'x';
	zg_hex_encode(p, n, s + 2);
	json_t *j = json_string(s);
	free(s);
	return j;
}

/* The 65-byte r || s || v signature of Ethereum messages, v = 27 or 28. */
static json_t *
eth_signature(const zg_key_signature *sig)
{
	uint8_t out[65];
	memcpy(out, sig->sig, 64);
	out[64] = (uint8_t)(27 + sig->recid);
	return hex_json(out, sizeof(out));
}

/* The EIP-55 address of the version that signed. */
static void
signer_address(const zg_key *key, uint32_t version, char out[43])
{
	out[0] = '\0';
	for (size_t i = 0; i < key->nversions; i++) {
		if (key->versions[i].version != version ||
		    key->versions[i].pub_len != ZG_SECP_PUB_LEN)
			continue;
		uint8_t addr[ZG_ETH_ADDR_LEN];
		zg_eth_address(key->versions[i].pub, addr);
		zg_eth_address_hex(addr, out);
	}
}

zg_err
zg_h_sign_transaction(zg_app *app, zg_request *req)
{
	json_t *body = NULL;
	zg_key key;
	zg_tx tx;
	zg_buf raw = {0};
	uint8_t digest[32], hash[32];
	zg_key_signature sig;
	char from[43];
	zg_err err;

	memset(&tx, 0, sizeof(tx));
	if ((err = eth_key(app, req, &key)) != ZG_OK)
		return err;
	if ((err = zg_json_parse_object((const char *)req->body.data,
	    req->body.len, &body, &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_tx_parse(body, &tx, &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_tx_signing_hash(&tx, digest)) != ZG_OK)
		goto out;
	struct sign_what what = {SIGN_TRANSACTION, &tx};
	if ((err = sign(app, req, &key, &what, digest, 32, &sig)) != ZG_OK)
		goto out;
	if ((err = zg_tx_encode_signed(&tx, sig.sig, sig.recid, &raw,
	    hash)) != ZG_OK)
		goto out;
	signer_address(&key, sig.version, from);
	json_t *hj = hex_json(hash, 32);
	if (req->audit_metadata != NULL && hj != NULL)
		json_object_set(req->audit_metadata, "txHash", hj);
	zg_req_reply(req, 200, json_pack("{s:o,s:o,s:s}", "rawTransaction",
	    hex_json(raw.data, raw.len), "hash", hj, "from", from));
out:
	zg_buf_free(&raw);
	zg_tx_free(&tx);
	zg_key_free(&key);
	json_decref(body);
	return err;
}

zg_err
zg_h_sign_message(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"message", "encoding", NULL};
	json_t *body = NULL;
	uint8_t *msg = NULL, digest[32];
	size_t len = 0;
	zg_key key;
	zg_key_signature sig;
	zg_err err;

	if ((err = eth_key(app, req, &key)) != ZG_OK)
		return err;
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_eth_message_parse(body, &msg, &len, &req->em)) != ZG_OK)
		goto out;
	zg_eth_personal_digest(msg, len, digest);
	struct sign_what what = {SIGN_MESSAGE, NULL};
	if ((err = sign(app, req, &key, &what, digest, 32, &sig)) != ZG_OK)
		goto out;
	zg_req_reply(req, 200, json_pack("{s:o}", "signature",
	    eth_signature(&sig)));
out:
	free(msg);
	zg_key_free(&key);
	json_decref(body);
	return err;
}

zg_err
zg_h_sign_typed_data(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"typedData", NULL};
	json_t *body = NULL, *td;
	uint8_t digest[32];
	zg_key key;
	zg_key_signature sig;
	zg_err err;

	if ((err = eth_key(app, req, &key)) != ZG_OK)
		return err;
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((td = json_object_get(body, "typedData")) == NULL ||
	    !json_is_object(td)) {
		err = zg_fail(&req->em, ZG_ERR_INVALID, "typedData must be an "
		    "object with types, primaryType, domain and message");
		goto out;
	}
	if ((err = zg_eip712_digest(td, digest, &req->em)) != ZG_OK)
		goto out;
	struct sign_what what = {SIGN_TYPED_DATA, NULL};
	if ((err = sign(app, req, &key, &what, digest, 32, &sig)) != ZG_OK)
		goto out;
	zg_req_reply(req, 200, json_pack("{s:o}", "signature",
	    eth_signature(&sig)));
out:
	zg_key_free(&key);
	json_decref(body);
	return err;
}

zg_err
zg_h_sign_digest(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"digest", NULL};
	json_t *body = NULL;
	const char *hex;
	uint8_t digest[32];
	size_t n = 0;
	zg_key key;
	zg_key_signature sig;
	zg_err err;

	if ((err = zg_req_key(app, req, &key)) != ZG_OK)
		return err;
	if (!key.allow_raw_digest) {
		err = zg_fail(&req->em, ZG_ERR_FORBIDDEN, "key %s was not created "
		    "with allowRawDigest; a raw digest would bypass every "
		    "transaction check", key.id);
		goto out;
	}
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "digest", ZG_JSON_REQUIRED, 1, 66,
	    &hex, NULL, &req->em)) != ZG_OK)
		goto out;
	if (strncmp(hex, "0x", 2) != 0 || zg_hex_decode(hex + 2, strlen(hex) - 2,
	    digest, sizeof(digest), &n) != ZG_OK || n != 32) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(hex, q, sizeof(q));
		err = zg_fail(&req->em, ZG_ERR_INVALID, "digest \"%s\" must be 0x "
		    "and 64 hex digits (32 bytes)", q);
		goto out;
	}
	struct sign_what what = {SIGN_DIGEST, NULL};
	if ((err = sign(app, req, &key, &what, digest, 32, &sig)) != ZG_OK)
		goto out;
	zg_req_reply(req, 200, json_pack("{s:o}", "signature",
	    key.alg == ZG_KEY_ALG_SECP256K1 ? eth_signature(&sig) :
	    hex_json(sig.sig, sig.sig_len)));
out:
	zg_key_free(&key);
	json_decref(body);
	return err;
}
