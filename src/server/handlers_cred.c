/* Credential routes: create, list, read, rotate, revoke, lease, redeem. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/authz.h"
#include "base/buf.h"
#include "base/jsonutil.h"
#include "base/timeutil.h"
#include "server/server.h"

#define MAX_METADATA_BYTES (16 * 1024)
#define MAX_PERMISSIONS 64
#define MAX_LIST_LIMIT 1000
#define MAX_LEASE_TTL_S 86400

static json_t *
cred_json(const zg_cred_row *c)
{
	int64_t now = zg_time_now_us();
	const char *status = "active";
	if (c->revoked_at != 0)
		status = "revoked";
	else if (c->expires_at != 0 && now >= c->expires_at)
		status = "expired";
	json_t *meta = json_loads(c->metadata_json ? c->metadata_json : "{}", 0,
	    NULL);
	json_t *perms = json_loads(c->permissions_json ? c->permissions_json :
	    "[]", 0, NULL);
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:s}",
	    "id", c->id, "name", c->name, "type", c->type, "owner", c->owner,
	    "version", (json_int_t)c->current_version,
	    "metadata", meta ? meta : json_object(),
	    "permissions", perms ? perms : json_array(),
	    "createdAt", zg_json_time(c->created_at),
	    "updatedAt", zg_json_time(c->updated_at),
	    "expiresAt", zg_json_time(c->expires_at),
	    "revokedAt", zg_json_time(c->revoked_at),
	    "status", status);
}

static zg_err
bad_id(zg_request *req, const char *id)
{
	char q[ZG_QUOTE_MAX];
	zg_quote_value(id, q, sizeof(q));
	return zg_fail(&req->em, ZG_ERR_INVALID,
	    "invalid credential id \"%s\": ids look like cred_ followed by 32 "
	    "hex digits", q);
}

/* Frees a credential row that an owner reader left in a request. */
static void
free_cred(void *object)
{
	zg_cred_row_free(object);
	free(object);
}

/* Loads the credential named by the path, from the request when the
 * pipeline's owner reader already read it. The pipeline has checked
 * that the caller may act on it. */
static zg_err
load_owned(zg_app *app, zg_request *req, zg_cred_row *c)
{
	const char *id = req->params[0];
	zg_err err;

	memset(c, 0, sizeof(*c));
	if (!zg_cred_id_valid(id))
		return bad_id(req, id);
	snprintf(req->audit_resource, sizeof(req->audit_resource),
	    "credentials/%s", id);
	zg_cred_row *loaded = zg_req_take_object(req);
	if (loaded != NULL) {
		*c = *loaded;
		free(loaded);
		return ZG_OK;
	}
	err = app->st->ops->cred_get(app->st, id, c);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(&req->em, err, "credential %s not found", id);
	return err;
}

static bool
has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Validates the optional metadata and permissions of a create request. */
static zg_err
read_extras(zg_request *req, json_t *body, char **meta_text, char **perm_text)
{
	json_t *meta = json_object_get(body, "metadata");
	json_t *perms = json_object_get(body, "permissions");

	*meta_text = NULL;
	*perm_text = NULL;
	if (meta != NULL && !json_is_null(meta)) {
		if (!json_is_object(meta))
			return zg_fail(&req->em, ZG_ERR_INVALID,
			    "field \"metadata\" must be a JSON object");
		*meta_text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
		if (*meta_text == NULL)
			return ZG_ERR_NOMEM;
		if (strlen(*meta_text) > MAX_METADATA_BYTES)
			return zg_fail(&req->em, ZG_ERR_INVALID,
			    "field \"metadata\" has %zu bytes; the limit is %d",
			    strlen(*meta_text), MAX_METADATA_BYTES);
	}
	if (perms != NULL && !json_is_null(perms)) {
		size_t i;
		json_t *p;
		if (!json_is_array(perms))
			return zg_fail(&req->em, ZG_ERR_INVALID,
			    "field \"permissions\" must be an array of strings");
		if (json_array_size(perms) > MAX_PERMISSIONS)
			return zg_fail(&req->em, ZG_ERR_INVALID,
			    "field \"permissions\" has %zu entries; the limit "
			    "is %d", json_array_size(perms), MAX_PERMISSIONS);
		json_array_foreach(perms, i, p) {
			if (!json_is_string(p) || json_string_length(p) == 0 ||
			    json_string_length(p) > 128)
				return zg_fail(&req->em, ZG_ERR_INVALID,
				    "permissions[%zu] must be a string of 1 to "
				    "128 bytes", i);
		}
		*perm_text = json_dumps(perms, JSON_COMPACT);
		if (*perm_text == NULL)
			return ZG_ERR_NOMEM;
	}
	return ZG_OK;
}

zg_err
zg_h_cred_create(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"type", "name", "value",
	    "metadata", "permissions", "expiresAt", NULL};
	zg_err err;
	json_t *body = NULL;
	char *meta_text = NULL, *perm_text = NULL;
	const char *expires;
	zg_cred_input in;
	zg_cred_row c;
	char q[ZG_QUOTE_MAX];

	memset(&in, 0, sizeof(in));
	memset(&c, 0, sizeof(c));
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "type", ZG_JSON_REQUIRED, 1, 64,
	    &in.type, NULL, &req->em)) != ZG_OK)
		goto out;
	if (!zg_cred_type_valid(in.type)) {
		zg_quote_value(in.type, q, sizeof(q));
		err = zg_fail(&req->em, ZG_ERR_INVALID,
		    "unknown credential type \"%s\"; expected one of %s", q,
		    zg_cred_types_list());
		goto out;
	}
	if ((err = zg_json_get_string(body, "name", ZG_JSON_REQUIRED, 1,
	    ZG_NAME_MAX - 1, &in.name, NULL, &req->em)) != ZG_OK)
		goto out;
	if (has_control_chars(in.name)) {
		zg_quote_value(in.name, q, sizeof(q));
		err = zg_fail(&req->em, ZG_ERR_INVALID,
		    "field \"name\" must not contain control characters: \"%s\"",
		    q);
		goto out;
	}
	if ((err = zg_json_get_string(body, "value",
	    ZG_JSON_REQUIRED | ZG_JSON_SECRET, 1, app->cfg.max_value_bytes,
	    (const char **)&in.value, &in.value_len, &req->em)) != ZG_OK)
		goto out;
	if ((err = read_extras(req, body, &meta_text, &perm_text)) != ZG_OK)
		goto out;
	in.metadata_json = meta_text;
	in.permissions_json = perm_text;
	if ((err = zg_json_get_string(body, "expiresAt", ZG_JSON_OPTIONAL, 1, 64,
	    &expires, NULL, &req->em)) != ZG_OK)
		goto out;
	if (expires != NULL) {
		zg_quote_value(expires, q, sizeof(q));
		if (zg_time_parse_rfc3339(expires, &in.expires_at) != ZG_OK) {
			err = zg_fail(&req->em, ZG_ERR_INVALID,
			    "field \"expiresAt\" is not an RFC 3339 date-time: "
			    "\"%s\"; expected e.g. 2027-01-31T12:00:00Z", q);
			goto out;
		}
		if (in.expires_at <= zg_time_now_us()) {
			err = zg_fail(&req->em, ZG_ERR_INVALID,
			    "field \"expiresAt\" is in the past: \"%s\"", q);
			goto out;
		}
	}
	if ((err = zg_vault_cred_create(&app->vault, req->principal.user_id, &in,
	    &c, &req->em)) != ZG_OK)
		goto out;
	snprintf(req->audit_resource, sizeof(req->audit_resource),
	    "credentials/%s", c.id);
	zg_req_reply(req, 201, cred_json(&c));
out:
	zg_cred_row_free(&c);
	zg_json_free_text(meta_text);
	zg_json_free_text(perm_text);
	json_decref(body);
	return err;
}

zg_err
zg_h_cred_list(zg_app *app, zg_request *req)
{
	zg_err err;
	uint64_t limit = 100;
	bool present;
	zg_cred_row *rows = NULL;
	size_t n = 0;
	const char *after = zg_req_query(req, "after");

	if ((err = zg_req_query_uint(req, "limit", MAX_LIST_LIMIT, &limit,
	    &present)) != ZG_OK)
		return err;
	if (after != NULL && !zg_cred_id_valid(after))
		return bad_id(req, after);
	/* "list" shows the caller's own credentials. A caller who may also
	 * "list_all" sees every credential. */
	bool all;
	if ((err = zg_req_may(app, req, "credentials", "list_all", NULL,
	    &all)) != ZG_OK)
		return err;
	const char *owner = all ? NULL : req->principal.user_id;
	if ((err = app->st->ops->cred_list(app->st, owner, after, limit, &rows,
	    &n)) != ZG_OK)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, cred_json(&rows[i]));
	json_t *next = n == limit && n > 0 ? json_string(rows[n - 1].id) :
	    json_null();
	zg_req_reply(req, 200, json_pack("{s:o,s:o}", "items", items, "next",
	    next));
	zg_cred_rows_free(rows, n);
	return ZG_OK;
}

zg_err
zg_h_cred_get(zg_app *app, zg_request *req)
{
	zg_cred_row c;
	zg_err err = load_owned(app, req, &c);
	if (err == ZG_OK)
		zg_req_reply(req, 200, cred_json(&c));
	zg_cred_row_free(&c);
	return err;
}

static void
reply_value(zg_request *req, int status, const uint8_t *value, size_t len,
    uint32_t version, const char *cred_id)
{
	json_t *v = json_stringn((const char *)value, len);
	if (v == NULL) {
		/* Values are stored from JSON strings, so this is corruption. */
		zg_req_reply(req, 500, zg_error_body(ZG_ERR_INTEGRITY, NULL));
		return;
	}
	json_t *body = json_pack("{s:o,s:I}", "value", v, "version",
	    (json_int_t)version);
	if (cred_id != NULL)
		json_object_set_new(body, "credentialId", json_string(cred_id));
	zg_req_reply(req, status, body);
}

zg_err
zg_h_cred_value(zg_app *app, zg_request *req)
{
	zg_cred_row c;
	zg_err err;
	uint64_t version = 0;
	bool present;
	uint8_t *value = NULL;
	size_t len = 0;
	uint32_t got = 0;

	if ((err = load_owned(app, req, &c)) != ZG_OK)
		goto out;
	if ((err = zg_req_query_uint(req, "version", UINT32_MAX, &version,
	    &present)) != ZG_OK)
		goto out;
	if ((err = zg_vault_cred_value(&app->vault, &c, (uint32_t)version,
	    zg_time_now_us(), &value, &len, &got, &req->em)) != ZG_OK)
		goto out;
	reply_value(req, 200, value, len, got, NULL);
out:
	if (value != NULL) {
		zg_wipe(value, len);
		free(value);
	}
	zg_cred_row_free(&c);
	return err;
}

zg_err
zg_h_cred_rotate(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"value", NULL};
	zg_cred_row c;
	zg_err err;
	json_t *body = NULL;
	const char *value = NULL;
	size_t len = 0;

	if ((err = load_owned(app, req, &c)) != ZG_OK)
		goto out;
	if ((err = zg_req_json(req, allowed, true, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "value", ZG_JSON_SECRET, 1,
	    app->cfg.max_value_bytes, &value, &len, &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_vault_cred_rotate(&app->vault, &c, (const uint8_t *)value,
	    len, &req->em)) != ZG_OK)
		goto out;
	zg_req_reply(req, 200, cred_json(&c));
out:
	json_decref(body);
	zg_cred_row_free(&c);
	return err;
}

zg_err
zg_h_cred_revoke(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {NULL};
	zg_cred_row c;
	json_t *body = NULL;
	zg_err err;

	if ((err = load_owned(app, req, &c)) != ZG_OK)
		goto out;
	if ((err = zg_req_json(req, allowed, true, &body)) != ZG_OK)
		goto out;
	if ((err = zg_vault_cred_revoke(&app->vault, &c, &req->em)) != ZG_OK)
		goto out;
	zg_req_reply(req, 200, cred_json(&c));
out:
	json_decref(body);
	zg_cred_row_free(&c);
	return err;
}

zg_err
zg_h_cred_lease(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"ttlSeconds", NULL};
	zg_cred_row c;
	json_t *body = NULL;
	zg_err err;
	int64_t ttl = 0, expires = 0;
	uint32_t version = 0;
	char token[ZG_LEASE_TOKEN_LEN + 1];

	memset(token, 0, sizeof(token));
	if ((err = load_owned(app, req, &c)) != ZG_OK)
		goto out;
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_int(body, "ttlSeconds", ZG_JSON_REQUIRED, 1,
	    MAX_LEASE_TTL_S, &ttl, NULL, &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_vault_lease_create(&app->vault, &c, ttl, token, &expires,
	    &version, &req->em)) != ZG_OK)
		goto out;
	zg_req_reply(req, 201, json_pack("{s:s,s:o,s:s,s:I}", "leaseToken",
	    token, "expiresAt", zg_json_time(expires), "credentialId", c.id,
	    "version", (json_int_t)version));
out:
	zg_wipe(token, sizeof(token));
	json_decref(body);
	zg_cred_row_free(&c);
	return err;
}

zg_err
zg_h_lease_redeem(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"leaseToken", NULL};
	json_t *body = NULL;
	zg_cred_row c;
	zg_err err;
	const char *token;
	size_t token_len = 0;
	uint8_t *value = NULL;
	size_t len = 0;
	uint32_t version = 0;

	memset(&c, 0, sizeof(c));
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "leaseToken",
	    ZG_JSON_REQUIRED | ZG_JSON_SECRET, 1, 256, &token, &token_len,
	    &req->em)) != ZG_OK)
		goto out;
	if (token_len != ZG_LEASE_TOKEN_LEN ||
	    strncmp(token, ZG_LEASE_TOKEN_PREFIX, 4) != 0) {
		err = zg_fail(&req->em, ZG_ERR_INVALID,
		    "field \"leaseToken\" is malformed: lease tokens start with "
		    "\"zgl_\" and have %d characters", ZG_LEASE_TOKEN_LEN);
		goto out;
	}
	err = zg_vault_lease_redeem(&app->vault, token, zg_time_now_us(), &c,
	    &value, &len, &version, &req->em);
	if (c.id[0] != '\0')
		snprintf(req->audit_resource, sizeof(req->audit_resource),
		    "credentials/%s", c.id);
	if (err != ZG_OK)
		goto out;
	reply_value(req, 200, value, len, version, c.id);
out:
	if (value != NULL) {
		zg_wipe(value, len);
		free(value);
	}
	json_decref(body);
	zg_cred_row_free(&c);
	return err;
}

zg_err
zg_owner_credential(zg_app *app, zg_request *req, char *owner)
{
	zg_cred_row *c;
	zg_err err;
	owner[0] = '\0';
	if (!zg_cred_id_valid(req->params[0]))
		return bad_id(req, req->params[0]);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ZG_ERR_NOMEM;
	if ((err = app->st->ops->cred_get(app->st, req->params[0], c)) !=
	    ZG_OK) {
		free(c);
		return err;
	}
	snprintf(owner, ZG_USER_MAX, "%s", c->owner);
	req->object = c;
	req->object_free = free_cred;
	return ZG_OK;
}
