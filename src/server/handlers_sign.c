/*
 * The signing routes of /v1/keys/{id}: Ethereum transactions, EIP-191
 * messages, EIP-712 typed data and, for keys created to allow it, raw
 * digests.
 *
 * Every signature the server makes goes through sign() below and nothing
 * else calls zg_keys_sign_digest or zg_keys_sign_bytes. The only caller
 * of sign() is zg_sign_run, which puts the signing gate in front of it:
 * emergency stops, transaction policies, simulation and spending limits
 * (txpolicy/gate.h). Direct requests and requests completed by their
 * last approval both take that path. Each signature is a key_usage
 * audit event with the key id, version, chain id and transaction hash,
 * never key material.
 *
 * Every signing body may carry "workflowId" (1 to 128 bytes of
 * [A-Za-z0-9._:-]). Spending limits of scope "workflow" count the
 * request under it, or under "none" when it is absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "chain/chain.h"
#include "chain/rpc.h"
#include "crypto/secp256k1.h"
#include "keys/keys.h"
#include "server/server.h"
#include "txpolicy/gate.h"

/* Roles of one initiator that rules match on; further ones are ignored. */
#define ROLES_MAX 64

static const char *const kind_names[] = {
	"transaction", "personal_message", "typed_data", "raw_digest",
};

const char *
zg_sign_kind_name(zg_sign_kind kind)
{
	return kind_names[kind];
}

/* The purpose of a signature, for the audit event and the log. */
struct sign_what {
	zg_sign_kind kind;
	const zg_tx *tx;           /* ZG_SIGN_TRANSACTION only */
	const zg_u256 *chain_id;   /* a transaction's, or a typed-data
	                              domain's; NULL when there is none */
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
	if (meta != NULL && what->chain_id != NULL) {
		char chain[ZG_U256_DEC_LEN];
		zg_u256_to_dec(what->chain_id, chain);
		json_object_set_new(meta, "chainId", json_string(chain));
	}
	/* Adds to what the gate recorded (policy, rule, request id). */
	if (req->audit_metadata != NULL && meta != NULL) {
		json_object_update(req->audit_metadata, meta);
		json_decref(meta);
	} else {
		json_decref(req->audit_metadata);
		req->audit_metadata = meta;
	}
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

/* ---- the content of a signing request ---- */

/* A signing body read into its digest and the facts policies judge. */
struct prepared {
	zg_tx tx;                  /* ZG_SIGN_TRANSACTION */
	bool has_tx;
	uint8_t digest[32];
	zg_txfacts facts;
};

static void
prepared_free(struct prepared *p)
{
	if (p->has_tx)
		zg_tx_free(&p->tx);
	p->has_tx = false;
}

/* Reads a raw digest: 0x and 64 hex digits. */
static zg_err
parse_digest(zg_request *req, const json_t *payload, uint8_t digest[32])
{
	const char *hex;
	size_t n = 0;
	zg_err err;

	if ((err = zg_json_get_string(payload, "digest", ZG_JSON_REQUIRED, 1,
	    66, &hex, NULL, &req->em)) != ZG_OK)
		return err;
	if (strncmp(hex, "0x", 2) != 0 || zg_hex_decode(hex + 2, strlen(hex) - 2,
	    digest, 32, &n) != ZG_OK || n != 32) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(hex, q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID, "digest \"%s\" must be 0x "
		    "and 64 hex digits (32 bytes)", q);
	}
	return ZG_OK;
}

static zg_err
prepare(zg_request *req, zg_sign_kind kind, const json_t *payload,
    struct prepared *p)
{
	static const char *const msg_fields[] = {"message", "encoding", NULL};
	static const char *const td_fields[] = {"typedData", NULL};
	static const char *const digest_fields[] = {"digest", NULL};
	uint8_t *msg = NULL;
	size_t len = 0;
	const json_t *td;
	zg_err err;

	memset(p, 0, sizeof(*p));
	switch (kind) {
	case ZG_SIGN_TRANSACTION:
		if ((err = zg_tx_parse(payload, &p->tx, &req->em)) != ZG_OK)
			return err;
		p->has_tx = true;
		if ((err = zg_tx_signing_hash(&p->tx, p->digest)) != ZG_OK)
			return err;
		return zg_txfacts_from_tx(&p->tx, NULL, &p->facts, &req->em);
	case ZG_SIGN_MESSAGE:
		if ((err = zg_json_only_keys(payload, msg_fields,
		    &req->em)) != ZG_OK ||
		    (err = zg_eth_message_parse(payload, &msg, &len,
		    &req->em)) != ZG_OK)
			return err;
		zg_eth_personal_digest(msg, len, p->digest);
		free(msg);
		zg_txfacts_from_message(&p->facts);
		return ZG_OK;
	case ZG_SIGN_TYPED_DATA:
		if ((err = zg_json_only_keys(payload, td_fields,
		    &req->em)) != ZG_OK)
			return err;
		if ((td = json_object_get(payload, "typedData")) == NULL ||
		    !json_is_object(td))
			return zg_fail(&req->em, ZG_ERR_INVALID, "typedData must "
			    "be an object with types, primaryType, domain and "
			    "message");
		if ((err = zg_eip712_digest(td, p->digest, &req->em)) != ZG_OK)
			return err;
		return zg_txfacts_from_typed_data(td, &p->facts, &req->em);
	case ZG_SIGN_DIGEST:
		if ((err = zg_json_only_keys(payload, digest_fields,
		    &req->em)) != ZG_OK)
			return err;
		return parse_digest(req, payload, p->digest);
	}
	return ZG_ERR_INTERNAL;
}

/* Signs the prepared request and builds the response body in *out. */
static zg_err
sign_prepared(zg_app *app, zg_request *req, const zg_key *key,
    zg_sign_kind kind, const struct prepared *p, json_t **out)
{
	struct sign_what what = {kind, p->has_tx ? &p->tx : NULL,
	    p->has_tx ? &p->tx.chain_id : p->facts.has_chain_id ?
	    &p->facts.chain_id : NULL};
	zg_key_signature sig;
	zg_buf raw = {0};
	uint8_t hash[32];
	char from[43];
	zg_err err;

	*out = NULL;
	if ((err = sign(app, req, key, &what, p->digest, 32, &sig)) != ZG_OK)
		return err;
	if (kind == ZG_SIGN_TRANSACTION) {
		if ((err = zg_tx_encode_signed(&p->tx, sig.sig, sig.recid, &raw,
		    hash)) != ZG_OK)
			return err;
		signer_address(key, sig.version, from);
		json_t *hj = hex_json(hash, 32);
		if (req->audit_metadata != NULL && hj != NULL)
			json_object_set(req->audit_metadata, "txHash", hj);
		*out = json_pack("{s:o,s:o,s:s}", "rawTransaction",
		    hex_json(raw.data, raw.len), "hash", hj, "from", from);
		zg_buf_free(&raw);
	} else if (kind == ZG_SIGN_DIGEST && key->alg != ZG_KEY_ALG_SECP256K1) {
		*out = json_pack("{s:o}", "signature", hex_json(sig.sig,
		    sig.sig_len));
	} else {
		*out = json_pack("{s:o}", "signature", eth_signature(&sig));
	}
	return *out != NULL ? ZG_OK : ZG_ERR_NOMEM;
}

/* ---- the signing gate ---- */

/* The address of the key's newest version, for simulation. */
static bool
key_address(const zg_key *key, uint8_t addr[20])
{
	for (size_t i = 0; i < key->nversions; i++) {
		if (key->versions[i].version == key->current_version &&
		    key->versions[i].pub_len == ZG_SECP_PUB_LEN) {
			zg_eth_address(key->versions[i].pub, addr);
			return true;
		}
	}
	return false;
}

/*
 * Simulates the transaction when a deciding rule requires it. A revert,
 * or a balance that does not cover value plus the maximum fee, blocks
 * with 403. A node that cannot be reached blocks with 502, unless every
 * rule that requires simulation allows signing without it.
 */
static zg_err
simulate_if_asked(zg_app *app, zg_request *req, const zg_key *key,
    const struct prepared *p, const zg_txverdict *v)
{
	char chain[ZG_U256_DEC_LEN];
	uint8_t from[20];
	zg_sim_result res;
	zg_errmsg em;

	if (!v->simulate || !p->has_tx)
		return ZG_OK;
	zg_u256_to_dec(&p->tx.chain_id, chain);
	const char *url = zg_config_rpc_endpoint(&app->cfg, chain);
	zg_err err = ZG_ERR_UPSTREAM;
	if (url == NULL) {
		zg_fail(&em, ZG_ERR_UPSTREAM, "chain %s has no JSON-RPC endpoint "
		    "in [rpc]", chain);
	} else if (!key_address(key, from)) {
		return zg_fail(&req->em, ZG_ERR_INTERNAL, "key %s has no "
		    "secp256k1 public key", key->id);
	} else {
		zg_rpc_options opts = {app->cfg.rpc_connect_timeout_ms,
		    app->cfg.rpc_timeout_ms, 0};
		err = zg_simulate(&p->tx, from, url, &opts, &res, &em);
	}
	if (err != ZG_OK) {
		if (v->allow_without_simulation) {
			zg_log_warn("simulation unavailable; signing because the "
			    "rule allows it", ZGF_S("request_id", req->request_id),
			    ZGF_S("key_id", key->id), ZGF_S("detail", em.text));
			return ZG_OK;
		}
		if (err == ZG_ERR_UPSTREAM)
			return zg_fail(&req->em, ZG_ERR_UPSTREAM, "simulation "
			    "failed, so policy %s blocks signing: %s", v->policy,
			    em.text);
		return zg_fail(&req->em, err, "%s", em.text);
	}
	/* A sender that cannot pay also makes the call revert, often with
	 * no reason at all, so the balance is reported first. */
	if (!res.balance_sufficient) {
		char bal[ZG_U256_DEC_LEN], need[ZG_U256_DEC_LEN];
		zg_u256_to_dec(&res.balance, bal);
		zg_u256_to_dec(&res.required, need);
		return zg_fail(&req->em, ZG_ERR_FORBIDDEN, "the sender's balance "
		    "%s wei does not cover value plus maximum fee, %s wei, so "
		    "policy %s blocks the transaction", bal, need, v->policy);
	}
	if (!res.success)
		return zg_fail(&req->em, ZG_ERR_FORBIDDEN, "the simulated "
		    "transaction reverted, so policy %s blocks it: %s",
		    v->policy, res.revert.reason);
	return ZG_OK;
}

/* Replies 202 with a new request waiting for approvals. */
static zg_err
store_pending(zg_app *app, zg_request *req, const zg_key *key,
    const zg_sign_job *job, const zg_txverdict *v)
{
	char id[ZG_ID_MAX];
	int64_t now = zg_time_now_us();
	int64_t expiry = v->approval.expires_in_s;
	zg_txreq r;
	zg_err err;

	if (expiry > (int64_t)app->cfg.txpolicy_max_approval_s)
		expiry = app->cfg.txpolicy_max_approval_s;
	if ((err = zg_txreq_new_id(id, &req->em)) != ZG_OK)
		return err;
	json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s?,s:s,s:s,s:O,"
	    "s:s,s:s,s:I,s:s,s:o,s:o}", "id", id, "status", "pending_approval",
	    "keyId", key->id, "kind", kind_names[job->kind], "payload",
	    job->payload, "workflowId", job->workflow_id, "requester",
	    job->initiator_id, "requesterType", job->initiator_type,
	    "requesterRoles", job->roles, "policy", v->policy, "rule", v->rule,
	    "required", (json_int_t)v->approval.count, "fromRole",
	    v->approval.from_role, "createdAt", zg_json_time(now), "expiresAt",
	    zg_json_time(now + expiry * 1000000));
	if (body == NULL)
		return ZG_ERR_NOMEM;
	err = zg_txreq_create(app->st, body, &r, &req->em);
	json_decref(body);
	if (err != ZG_OK)
		return err;
	zg_txreq_free(&r);
	json_object_set_new(req->audit_metadata, "requestId", json_string(id));
	json_object_set_new(req->audit_metadata, "status",
	    json_string("pending_approval"));
	zg_log_info("signing request waits for approvals",
	    ZGF_S("request_id", req->request_id), ZGF_S("tx_request", id),
	    ZGF_S("key_id", key->id), ZGF_S("policy", v->policy),
	    ZGF_S("rule", v->rule), ZGF_I("required", v->approval.count));
	zg_req_reply(req, 202, json_pack("{s:s,s:s,s:I,s:i,s:s,s:s,s:o}",
	    "requestId", id, "status", "pending_approval", "required",
	    (json_int_t)v->approval.count, "approvals", 0, "policy", v->policy,
	    "rule", v->rule, "expiresAt", zg_json_time(now + expiry * 1000000)));
	return ZG_OK;
}

/* Decides job with the gate's current snapshot; *snap stays acquired
 * for the charges in v, and the caller releases it. */
static zg_err
decide(zg_app *app, zg_request *req, const zg_key *key,
    const zg_sign_job *job, const struct prepared *p,
    const zg_txsnapshot **snap, zg_txverdict *v)
{
	const char *roles[ROLES_MAX];
	size_t nroles = 0, i;
	json_t *role;
	zg_err err;

	json_array_foreach(job->roles, i, role) {
		if (nroles < ROLES_MAX)
			roles[nroles++] = json_string_value(role);
	}
	zg_txrequest tr = {
		.key_id = key->id, .key_label = key->label,
		.initiator_id = job->initiator_id,
		.initiator_type = strcmp(job->initiator_type,
		    "service_account") == 0 ? ZG_TXINITIATOR_SERVICE_ACCOUNT :
		    ZG_TXINITIATOR_USER,
		.roles = roles, .nroles = nroles,
		.workflow_id = job->workflow_id, .facts = p->facts,
	};
	if ((err = zg_txgate_acquire(app->txgate, snap, &req->em)) != ZG_OK)
		return err;
	return zg_txgate_decide(*snap, &tr, p->has_tx ? &p->tx : NULL,
	    job->kind == ZG_SIGN_DIGEST, app->cfg.txpolicy_require_policy, v,
	    &req->em);
}

/* Records the verdict in the audit metadata and the error for a block. */
static zg_err
blocked(zg_request *req, const zg_txverdict *v)
{
	if (v->stopped)
		json_object_set_new(req->audit_metadata, "emergencyStop",
		    json_string(v->stop_id));
	return zg_fail(&req->em, ZG_ERR_FORBIDDEN, "%s", v->reason);
}

zg_err
zg_sign_run(zg_app *app, zg_request *req, const zg_key *key,
    const zg_sign_job *job)
{
	const zg_txsnapshot *snap = NULL;
	struct prepared p;
	zg_txverdict v;
	json_t *ids = json_array(), *result = NULL;
	char id[ZG_ID_MAX] = "";
	int64_t now = zg_time_now_us();
	zg_err err;

	memset(&v, 0, sizeof(v));
	json_decref(req->audit_metadata);
	req->audit_metadata = json_pack("{s:s,s:s}", "keyId", key->id,
	    "signatureKind", kind_names[job->kind]);
	if (ids == NULL || req->audit_metadata == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = prepare(req, job->kind, job->payload, &p)) != ZG_OK)
		goto out;
	if ((err = decide(app, req, key, job, &p, &snap, &v)) != ZG_OK)
		goto out;
	if (v.policy[0] != '\0') {
		json_object_set_new(req->audit_metadata, "policy",
		    json_string(v.policy));
		json_object_set_new(req->audit_metadata, "rule",
		    json_string(v.rule));
	}
	if (v.action == ZG_TXACTION_BLOCK) {
		err = blocked(req, &v);
		goto out;
	}
	if (v.no_policy)
		zg_log_info("no transaction policy covers the key; signing "
		    "without policy checks", ZGF_S("request_id", req->request_id),
		    ZGF_S("key_id", key->id));
	if (v.action == ZG_TXACTION_REQUIRE_APPROVAL && job->approved == NULL) {
		/* Approvers are not asked for what could not be signed now:
		 * a limit already used up rejects at once, as evaluate does.
		 * The limits are checked again when the count is reached. */
		if ((err = zg_txgate_check_limits(app->st, &v, now,
		    &req->em)) != ZG_OK)
			goto out;
		err = store_pending(app, req, key, job, &v);
		goto out;
	}
	if ((err = simulate_if_asked(app, req, key, &p, &v)) != ZG_OK)
		goto out;
	if (job->approved != NULL)
		snprintf(id, sizeof(id), "%s", job->approved->id);
	else if ((err = zg_txreq_new_id(id, &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_txgate_reserve(app->st, &v, id, now, ids,
	    &req->em)) != ZG_OK)
		goto out;
	if ((err = sign_prepared(app, req, key, job->kind, &p,
	    &result)) != ZG_OK) {
		/* Nothing was signed, so nothing stays reserved. */
		zg_errmsg inner;
		zg_txgate_release_all(app->st, ids, now, &inner);
		goto out;
	}
	if (job->approved != NULL) {
		if ((err = zg_txreq_mark_signed(app->st, job->approved, result,
		    ids, now, &req->em)) != ZG_OK)
			goto out;
		zg_req_reply(req, 200, zg_txreq_to_json(job->approved));
	} else {
		if (json_array_size(ids) > 0) {
			json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s?,s:s,"
			    "s:s,s:O,s:s,s:s,s:i,s:o,s:o,s:O,s:O}", "id", id,
			    "status", "signed", "keyId", key->id, "kind",
			    kind_names[job->kind], "payload", job->payload,
			    "workflowId", job->workflow_id, "requester",
			    job->initiator_id, "requesterType",
			    job->initiator_type, "requesterRoles", job->roles,
			    "policy", v.policy, "rule", v.rule, "required", 0,
			    "createdAt", zg_json_time(now), "expiresAt",
			    zg_json_time(now), "reservations", ids, "result",
			    result);
			zg_txreq r;
			err = body == NULL ? ZG_ERR_NOMEM :
			    zg_txreq_create(app->st, body, &r, &req->em);
			json_decref(body);
			if (err != ZG_OK) {
				zg_errmsg inner;
				zg_txgate_release_all(app->st, ids, now, &inner);
				goto out;
			}
			zg_txreq_free(&r);
			json_object_set_new(result, "requestId", json_string(id));
			json_object_set_new(req->audit_metadata, "requestId",
			    json_string(id));
		}
		zg_req_reply(req, 200, result);
		result = NULL;
	}
out:
	if (err != ZG_OK && job->approved != NULL &&
	    job->approved->state == ZG_TXREQ_APPROVED) {
		zg_errmsg inner;
		if (zg_txreq_unapprove(app->st, job->approved,
		    req->principal.user_id, now, &inner) != ZG_OK)
			zg_log_error("reverting an approved request to "
			    "pending_approval failed",
			    ZGF_S("tx_request", job->approved->id),
			    ZGF_S("detail", inner.text));
	}
	json_decref(result);
	json_decref(ids);
	zg_txverdict_free(&v);
	if (snap != NULL)
		zg_txgate_release(app->txgate, snap);
	prepared_free(&p);
	return err;
}

/* ---- the routes ---- */

/*
 * Parses the request body, takes "workflowId" out of it and runs the
 * rest through zg_sign_run as the caller's own request.
 */
static zg_err
run_direct(zg_app *app, zg_request *req, const zg_key *key, zg_sign_kind kind)
{
	json_t *body = NULL, *roles = NULL;
	const char *wf = NULL;
	char *workflow = NULL;
	zg_err err;

	if ((err = zg_json_parse_object((const char *)req->body.data,
	    req->body.len, &body, &req->em)) != ZG_OK)
		return err;
	if ((err = zg_json_get_string(body, "workflowId", ZG_JSON_OPTIONAL, 1,
	    128, &wf, NULL, &req->em)) != ZG_OK)
		goto out;
	if (wf != NULL) {
		if (strspn(wf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
		    "XYZ0123456789._:-") != strlen(wf)) {
			err = zg_fail(&req->em, ZG_ERR_INVALID, "field \"workflowId\" "
			    "must be 1 to 128 characters of [A-Za-z0-9._:-]");
			goto out;
		}
		if ((workflow = strdup(wf)) == NULL) {
			err = ZG_ERR_NOMEM;
			goto out;
		}
		json_object_del(body, "workflowId");
	}
	if ((err = zg_user_roles(app, req->principal.user_id, &req->principal,
	    &roles, &req->em)) != ZG_OK)
		goto out;
	zg_sign_job job = {
		.kind = kind, .payload = body, .workflow_id = workflow,
		.initiator_id = req->principal.user_id,
		.initiator_type = req->principal.subject_type[0] ?
		    req->principal.subject_type : "user",
		.roles = roles, .approved = NULL,
	};
	err = zg_sign_run(app, req, key, &job);
out:
	free(workflow);
	json_decref(roles);
	json_decref(body);
	return err;
}

zg_err
zg_h_sign_transaction(zg_app *app, zg_request *req)
{
	zg_key key;
	zg_err err;

	if ((err = eth_key(app, req, &key)) != ZG_OK)
		return err;
	err = run_direct(app, req, &key, ZG_SIGN_TRANSACTION);
	zg_key_free(&key);
	return err;
}

zg_err
zg_h_sign_message(zg_app *app, zg_request *req)
{
	zg_key key;
	zg_err err;

	if ((err = eth_key(app, req, &key)) != ZG_OK)
		return err;
	err = run_direct(app, req, &key, ZG_SIGN_MESSAGE);
	zg_key_free(&key);
	return err;
}

zg_err
zg_h_sign_typed_data(zg_app *app, zg_request *req)
{
	zg_key key;
	zg_err err;

	if ((err = eth_key(app, req, &key)) != ZG_OK)
		return err;
	err = run_direct(app, req, &key, ZG_SIGN_TYPED_DATA);
	zg_key_free(&key);
	return err;
}

zg_err
zg_h_sign_digest(zg_app *app, zg_request *req)
{
	zg_key key;
	zg_err err;

	if ((err = zg_req_key(app, req, &key)) != ZG_OK)
		return err;
	if (!key.allow_raw_digest)
		err = zg_fail(&req->em, ZG_ERR_FORBIDDEN, "key %s was not created "
		    "with allowRawDigest; a raw digest would bypass every "
		    "transaction check", key.id);
	else
		err = run_direct(app, req, &key, ZG_SIGN_DIGEST);
	zg_key_free(&key);
	return err;
}
