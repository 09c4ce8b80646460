/* Audit log routes: tree heads, proofs, events, and user erasure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "base/codec.h"
#include "base/jsonutil.h"
#include "base/timeutil.h"
#include "server/server.h"

#define MAX_EVENTS_LIMIT 1000

static json_t *
hex_json(const uint8_t *p, size_t n)
{
	char hex[2 * 64 + 1];
	zg_hex_encode(p, n, hex);
	return json_string(hex);
}

/* Parses a non-negative decimal query parameter. */
static zg_err
query_u64(zg_request *req, const char *key, bool required, uint64_t *out)
{
	const char *v = zg_req_query(req, key);
	if (v == NULL) {
		if (required)
			return zg_fail(&req->em, ZG_ERR_INVALID,
			    "missing query parameter \"%s\"", key);
		return ZG_OK;
	}
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 ||
	    n > (unsigned long long)INT64_MAX) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(v, q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID,
		    "query parameter \"%s\" must be a non-negative integer; got "
		    "\"%s\"", key, q);
	}
	*out = n;
	return ZG_OK;
}

static zg_err
need_audit(zg_app *app, zg_request *req)
{
	if (app->audit == NULL)
		return zg_fail(&req->em, ZG_ERR_UNAVAILABLE,
		    "the audit log is not open");
	return ZG_OK;
}

zg_err
zg_h_audit_public_key(zg_app *app, zg_request *req)
{
	uint8_t pub[ZG_ED25519_PUB_LEN];
	char key_id[ZG_AUDIT_KEY_ID_MAX];
	zg_err err;

	if ((err = need_audit(app, req)) != ZG_OK)
		return err;
	if (zg_keyring_sealed(app->kr))
		return zg_fail(&req->em, ZG_ERR_SEALED,
		    "the vault is sealed; the audit key is not available");
	if ((err = zg_audit_public_key(app->audit, pub, key_id)) != ZG_OK)
		return err;
	zg_req_reply(req, 200, json_pack("{s:s,s:s,s:o}", "algorithm", "Ed25519",
	    "keyId", key_id, "publicKey", hex_json(pub, sizeof(pub))));
	return ZG_OK;
}

static json_t *
head_json(const zg_tree_head_row *h)
{
	char ts[40];
	zg_time_format_rfc3339_us(h->timestamp, ts, sizeof(ts));
	return json_pack("{s:I,s:o,s:s,s:o,s:s}", "treeSize",
	    (json_int_t)h->tree_size, "rootHash", hex_json(h->root, 32),
	    "timestamp", ts, "signature", hex_json(h->signature, 64), "keyId",
	    h->key_id);
}

zg_err
zg_h_audit_tree_head(zg_app *app, zg_request *req)
{
	zg_tree_head_row h;
	zg_err err;

	if ((err = need_audit(app, req)) != ZG_OK)
		return err;
	err = zg_audit_tree_head(app->audit, true, &h);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(&req->em, err, "the audit log is empty; no tree "
		    "head has been signed yet");
	if (err != ZG_OK)
		return err;
	zg_req_reply(req, 200, head_json(&h));
	return ZG_OK;
}

static json_t *
proof_json(uint8_t (*proof)[32], size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, hex_json(proof[i], 32));
	return arr;
}

zg_err
zg_h_audit_inclusion(zg_app *app, zg_request *req)
{
	uint64_t index = 0, size = 0;
	uint8_t leaf[32], root[32], proof[ZG_MERKLE_MAX_PROOF][32];
	size_t n = 0;
	zg_err err;

	if ((err = need_audit(app, req)) != ZG_OK ||
	    (err = query_u64(req, "index", true, &index)) != ZG_OK ||
	    (err = query_u64(req, "treeSize", true, &size)) != ZG_OK)
		return err;
	if ((err = zg_audit_inclusion_proof(app->audit, index, size, leaf, root,
	    proof, &n, &req->em)) != ZG_OK)
		return err;
	zg_req_reply(req, 200, json_pack("{s:I,s:I,s:o,s:o,s:o}", "leafIndex",
	    (json_int_t)index, "treeSize", (json_int_t)size, "leafHash",
	    hex_json(leaf, 32), "auditPath", proof_json(proof, n), "rootHash",
	    hex_json(root, 32)));
	return ZG_OK;
}

zg_err
zg_h_audit_consistency(zg_app *app, zg_request *req)
{
	uint64_t first = 0, second = 0;
	uint8_t r1[32], r2[32], proof[ZG_MERKLE_MAX_PROOF][32];
	size_t n = 0;
	zg_err err;

	if ((err = need_audit(app, req)) != ZG_OK ||
	    (err = query_u64(req, "first", true, &first)) != ZG_OK ||
	    (err = query_u64(req, "second", true, &second)) != ZG_OK)
		return err;
	if ((err = zg_audit_consistency_proof(app->audit, first, second, r1, r2,
	    proof, &n, &req->em)) != ZG_OK)
		return err;
	zg_req_reply(req, 200, json_pack("{s:I,s:I,s:o,s:o,s:o}", "first",
	    (json_int_t)first, "second", (json_int_t)second, "proof",
	    proof_json(proof, n), "firstRoot", hex_json(r1, 32), "secondRoot",
	    hex_json(r2, 32)));
	return ZG_OK;
}

zg_err
zg_h_audit_events(zg_app *app, zg_request *req)
{
	uint64_t from = 0, limit = 100;
	uint8_t uh[32], rh[32];
	const char *user = zg_req_query(req, "userId");
	const char *resource = zg_req_query(req, "resource");
	zg_audit_row *rows = NULL;
	size_t n = 0;
	zg_err err;

	if ((err = need_audit(app, req)) != ZG_OK ||
	    (err = query_u64(req, "from", false, &from)) != ZG_OK ||
	    (err = query_u64(req, "limit", false, &limit)) != ZG_OK)
		return err;
	if (limit < 1 || limit > MAX_EVENTS_LIMIT)
		return zg_fail(&req->em, ZG_ERR_INVALID, "query parameter "
		    "\"limit\" must be from 1 to %d; got %llu", MAX_EVENTS_LIMIT,
		    (unsigned long long)limit);
	if ((user && (err = zg_audit_index_hash(app->kr, user, uh)) != ZG_OK) ||
	    (resource && (err = zg_audit_index_hash(app->kr, resource, rh)) != ZG_OK))
		return err;
	if ((err = app->st->ops->audit_search(app->st, user ? uh : NULL,
	    resource ? rh : NULL, from, limit, &rows, &n)) != ZG_OK)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *ev = NULL;
		uint8_t leaf[32];
		size_t b64len = zg_base64_encoded_len(rows[i].canonical_len);
		char *b64 = malloc(b64len + 1);
		if (b64 == NULL ||
		    zg_merkle_leaf_hash(rows[i].canonical, rows[i].canonical_len,
		    leaf) != ZG_OK) {
			free(b64);
			err = ZG_ERR_NOMEM;
			break;
		}
		zg_base64_encode(rows[i].canonical, rows[i].canonical_len, b64);
		if (zg_audit_decode(app->kr, rows[i].canonical,
		    rows[i].canonical_len, &ev) != ZG_OK)
			ev = json_pack("{s:s}", "error", "undecodable event");
		json_array_append_new(items, json_pack("{s:I,s:o,s:s,s:o}",
		    "leafIndex", (json_int_t)rows[i].leaf_index, "leafHash",
		    hex_json(leaf, 32), "canonical", b64, "event", ev));
		free(b64);
	}
	json_t *next = n == limit && n > 0 ?
	    json_integer((json_int_t)rows[n - 1].leaf_index + 1) : json_null();
	zg_audit_rows_free(rows, n);
	if (err != ZG_OK) {
		json_decref(items);
		json_decref(next);
		return err;
	}
	zg_req_reply(req, 200, json_pack("{s:o,s:o}", "events", items, "next",
	    next));
	return ZG_OK;
}
