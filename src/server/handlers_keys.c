/*
 * Signing key management: /v1/keys and /v1/keys/{id}/... except the
 * signing routes (handlers_sign.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "keys/keys.h"
#include "server/server.h"

#define MAX_LIST_LIMIT 1000

/* The key manager, or an error when the daemon runs without one. */
static zg_err
keys_of(zg_app *app, zg_request *req, zg_keys **k)
{
	*k = app->keys;
	if (*k == NULL)
		return zg_fail(&req->em, ZG_ERR_BACKEND_UNAVAILABLE, "the key "
		    "manager is not available; see the server log");
	return ZG_OK;
}

/* Frees a key that an owner reader left in a request. */
static void
free_key(void *object)
{
	zg_key_free(object);
	free(object);
}

zg_err
zg_owner_key(zg_app *app, zg_request *req, char *owner)
{
	zg_key *key;
	zg_keys *k;
	zg_err err;

	owner[0] = '\0';
	if (!zg_key_id_valid(req->params[0])) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(req->params[0], q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID, "invalid key id \"%s\": "
		    "key ids look like key_ followed by 24 hex digits", q);
	}
	if ((err = keys_of(app, req, &k)) != ZG_OK)
		return err;
	if ((key = calloc(1, sizeof(*key))) == NULL)
		return ZG_ERR_NOMEM;
	if ((err = zg_keys_get(k, req->params[0], key, &req->em)) != ZG_OK) {
		free(key);
		return err;
	}
	snprintf(owner, ZG_USER_MAX, "%s", key->owner);
	req->object = key;
	req->object_free = free_key;
	return ZG_OK;
}

/* Rejects a body on routes that take none (an empty body or {} is fine). */
static zg_err
no_body(zg_request *req)
{
	static const char *const none[] = {NULL};
	json_t *body = NULL;
	zg_err err = zg_req_json(req, none, true, &body);
	json_decref(body);
	return err;
}

/* Loads the key the path names, from the request when the pipeline's
 * owner reader already read it (its owner was checked there). */
zg_err
zg_req_key(zg_app *app, zg_request *req, zg_key *key)
{
	zg_keys *k;
	zg_err err;
	memset(key, 0, sizeof(*key));
	if ((err = keys_of(app, req, &k)) != ZG_OK)
		return err;
	snprintf(req->audit_resource, sizeof(req->audit_resource), "keys/%s",
	    req->params[0]);
	zg_key *loaded = zg_req_take_object(req);
	if (loaded != NULL) {
		*key = *loaded;
		free(loaded);
		return ZG_OK;
	}
	err = zg_keys_get(k, req->params[0], key, &req->em);
	if (err == ZG_ERR_NOT_FOUND)
		zg_fail(&req->em, err, "key %s not found", req->params[0]);
	return err;
}

static zg_err
reply_key(zg_app *app, zg_request *req, int status, const char *id)
{
	zg_key key;
	zg_err err;
	if ((err = zg_keys_get(app->keys, id, &key, &req->em)) != ZG_OK)
		return err;
	snprintf(req->audit_resource, sizeof(req->audit_resource), "keys/%s",
	    key.id);
	zg_req_reply(req, status, zg_key_to_json(&key, zg_time_now_us()));
	zg_key_free(&key);
	return ZG_OK;
}

/* Reads the fields shared by create and import into p. */
static zg_err
read_params(zg_request *req, json_t *body, zg_key_params *p)
{
	const char *alg, *label = NULL, *expires = NULL;
	bool raw = false;
	zg_err err;

	memset(p, 0, sizeof(*p));
	p->owner = req->principal.user_id;
	p->backend = ZG_KEY_BACKEND_SOFTWARE;
	if ((err = zg_json_get_string(body, "algorithm", ZG_JSON_REQUIRED, 1,
	    32, &alg, NULL, &req->em)) != ZG_OK ||
	    (err = zg_key_alg_parse(alg, &p->alg, &req->em)) != ZG_OK)
		return err;
	if ((err = zg_json_get_string(body, "label", ZG_JSON_OPTIONAL, 0,
	    ZG_KEY_LABEL_MAX - 1, &label, NULL, &req->em)) != ZG_OK)
		return err;
	p->label = label;
	if ((err = zg_json_get_bool(body, "allowRawDigest", ZG_JSON_OPTIONAL,
	    &raw, &req->em)) != ZG_OK)
		return err;
	p->allow_raw_digest = raw;
	if ((err = zg_json_get_string(body, "expiresAt", ZG_JSON_OPTIONAL, 1,
	    64, &expires, NULL, &req->em)) != ZG_OK)
		return err;
	if (expires != NULL) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(expires, q, sizeof(q));
		if (zg_time_parse_rfc3339(expires, &p->expires_at) != ZG_OK)
			return zg_fail(&req->em, ZG_ERR_INVALID, "expiresAt \"%s\" "
			    "is not an RFC 3339 time", q);
		if (p->expires_at <= zg_time_now_us())
			return zg_fail(&req->em, ZG_ERR_INVALID, "expiresAt \"%s\" "
			    "is in the past", q);
	}
	return ZG_OK;
}

zg_err
zg_h_key_create(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"algorithm", "backend", "label",
	    "expiresAt", "allowRawDigest", NULL};
	json_t *body = NULL;
	zg_key_params p;
	const char *backend = NULL;
	zg_key key;
	zg_keys *k;
	zg_err err;

	memset(&key, 0, sizeof(key));
	if ((err = keys_of(app, req, &k)) != ZG_OK)
		return err;
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = read_params(req, body, &p)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "backend", ZG_JSON_OPTIONAL, 1, 32,
	    &backend, NULL, &req->em)) != ZG_OK)
		goto out;
	if (backend != NULL && (err = zg_key_backend_parse(backend, &p.backend,
	    &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_keys_create(k, &p, &key, &req->em)) != ZG_OK)
		goto out;
	zg_log_info("key created", ZGF_S("request_id", req->request_id),
	    ZGF_S("key_id", key.id), ZGF_S("algorithm", zg_key_alg_name(key.alg)),
	    ZGF_S("backend", zg_key_backend_name(key.backend)));
	snprintf(req->audit_resource, sizeof(req->audit_resource), "keys/%s",
	    key.id);
	zg_req_reply(req, 201, zg_key_to_json(&key, zg_time_now_us()));
out:
	zg_key_free(&key);
	json_decref(body);
	return err;
}

zg_err
zg_h_key_import(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"algorithm", "privateKey",
	    "label", "expiresAt", "allowRawDigest", NULL};
	json_t *body = NULL;
	zg_key_params p;
	const char *priv;
	zg_key key;
	zg_keys *k;
	zg_err err;

	memset(&key, 0, sizeof(key));
	if ((err = keys_of(app, req, &k)) != ZG_OK)
		return err;
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = read_params(req, body, &p)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "privateKey", ZG_JSON_REQUIRED |
	    ZG_JSON_SECRET, 1, 130, &priv, NULL, &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_keys_import(k, &p, priv, &key, &req->em)) != ZG_OK)
		goto out;
	zg_log_info("key imported", ZGF_S("request_id", req->request_id),
	    ZGF_S("key_id", key.id), ZGF_S("algorithm", zg_key_alg_name(key.alg)));
	snprintf(req->audit_resource, sizeof(req->audit_resource), "keys/%s",
	    key.id);
	zg_req_reply(req, 201, zg_key_to_json(&key, zg_time_now_us()));
out:
	zg_key_free(&key);
	/* The wiping allocator clears the private key with the body. */
	json_decref(body);
	return err;
}

zg_err
zg_h_key_list(zg_app *app, zg_request *req)
{
	uint64_t limit = 100;
	bool present, all;
	const char *after = zg_req_query(req, "after");
	zg_key *keys = NULL;
	size_t n = 0;
	zg_keys *k;
	zg_err err;

	if ((err = keys_of(app, req, &k)) != ZG_OK)
		return err;
	if ((err = zg_req_query_uint(req, "limit", MAX_LIST_LIMIT, &limit,
	    &present)) != ZG_OK)
		return err;
	if (after != NULL && !zg_key_id_valid(after)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(after, q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID, "invalid key id \"%s\" "
		    "in after", q);
	}
	/* As for credentials: "list" shows one's own, "list_all" all. */
	if ((err = zg_req_may(app, req, "keys", "list_all", NULL, &all)) !=
	    ZG_OK)
		return err;
	if ((err = zg_keys_list(k, all ? NULL : req->principal.user_id, after,
	    limit, &keys, &n, &req->em)) != ZG_OK)
		return err;
	int64_t now = zg_time_now_us();
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, zg_key_to_json(&keys[i], now));
	json_t *next = n == limit && n > 0 ? json_string(keys[n - 1].id) :
	    json_null();
	zg_keys_free(keys, n);
	zg_req_reply(req, 200, json_pack("{s:o,s:o}", "items", items, "next",
	    next));
	return ZG_OK;
}

zg_err
zg_h_key_get(zg_app *app, zg_request *req)
{
	zg_key key;
	zg_err err;
	if ((err = zg_req_key(app, req, &key)) != ZG_OK)
		return err;
	zg_req_reply(req, 200, zg_key_to_json(&key, zg_time_now_us()));
	zg_key_free(&key);
	return ZG_OK;
}

static zg_err
set_disabled(zg_app *app, zg_request *req, bool disabled)
{
	zg_key key;
	zg_err err;
	if ((err = no_body(req)) != ZG_OK)
		return err;
	if ((err = zg_req_key(app, req, &key)) != ZG_OK)
		return err;
	zg_key_free(&key);
	if ((err = zg_keys_set_disabled(app->keys, req->params[0], disabled,
	    &req->em)) != ZG_OK)
		return err;
	zg_log_info(disabled ? "key disabled" : "key enabled",
	    ZGF_S("request_id", req->request_id), ZGF_S("key_id", req->params[0]));
	return reply_key(app, req, 200, req->params[0]);
}

zg_err
zg_h_key_disable(zg_app *app, zg_request *req)
{
	return set_disabled(app, req, true);
}

zg_err
zg_h_key_enable(zg_app *app, zg_request *req)
{
	return set_disabled(app, req, false);
}

zg_err
zg_h_key_rotate(zg_app *app, zg_request *req)
{
	zg_key key;
	zg_err err;
	if ((err = no_body(req)) != ZG_OK)
		return err;
	if ((err = zg_req_key(app, req, &key)) != ZG_OK)
		return err;
	zg_key_free(&key);
	if ((err = zg_keys_rotate(app->keys, req->params[0], NULL,
	    &req->em)) != ZG_OK)
		return err;
	return reply_key(app, req, 200, req->params[0]);
}

/* Parses the {version} path parameter. */
static zg_err
path_version(zg_request *req, uint32_t *version)
{
	char *end;
	unsigned long v = strtoul(req->params[1], &end, 10);
	if (req->params[1][0] < '1' || req->params[1][0] > '9' || *end != '\0' ||
	    v > UINT32_MAX) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(req->params[1], q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID, "invalid version \"%s\": "
		    "versions are whole numbers from 1", q);
	}
	*version = (uint32_t)v;
	return ZG_OK;
}

static zg_err
version_op(zg_app *app, zg_request *req, int op)
{
	uint32_t version = 0;
	zg_key key;
	zg_err err;
	if ((err = no_body(req)) != ZG_OK)
		return err;
	if ((err = zg_req_key(app, req, &key)) != ZG_OK)
		return err;
	zg_key_free(&key);
	if ((err = path_version(req, &version)) != ZG_OK)
		return err;
	if (op == 0)
		err = zg_keys_destroy_version(app->keys, req->params[0], version,
		    &req->em);
	else
		err = zg_keys_set_version_disabled(app->keys, req->params[0],
		    version, op == 1, &req->em);
	if (err != ZG_OK)
		return err;
	zg_log_info(op == 0 ? "key version destroyed" : op == 1 ?
	    "key version disabled" : "key version enabled",
	    ZGF_S("request_id", req->request_id), ZGF_S("key_id", req->params[0]),
	    ZGF_I("version", version));
	return reply_key(app, req, 200, req->params[0]);
}

zg_err
zg_h_key_version_destroy(zg_app *app, zg_request *req)
{
	return version_op(app, req, 0);
}

zg_err
zg_h_key_version_disable(zg_app *app, zg_request *req)
{
	return version_op(app, req, 1);
}

zg_err
zg_h_key_version_enable(zg_app *app, zg_request *req)
{
	return version_op(app, req, 2);
}
