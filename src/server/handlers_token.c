/* API token routes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/authz.h"
#include "base/buf.h"
#include "base/jsonutil.h"
#include "server/server.h"

/* Checks a token scope and writes it as compact JSON text into out. */
static zg_err
read_scope(zg_request *req, json_t *scope, char *out, size_t outsz)
{
	zg_err err;
	if (!json_is_array(scope) || json_array_size(scope) == 0)
		return zg_fail(&req->em, ZG_ERR_INVALID, "scope must be a "
		    "non-empty array of permissions");
	for (size_t i = 0; i < json_array_size(scope); i++) {
		zg_authz_perm perm;
		char field[32];
		snprintf(field, sizeof(field), "scope[%zu]", i);
		if ((err = zg_authz_perm_from_json(json_array_get(scope, i),
		    field, &perm, &req->em)) != ZG_OK)
			return err;
		zg_authz_perm_free(&perm);
	}
	char *text = json_dumps(scope, JSON_COMPACT);
	if (text == NULL)
		return ZG_ERR_NOMEM;
	size_t n = strlen(text);
	if (n >= outsz)
		err = zg_fail(&req->em, ZG_ERR_INVALID, "scope is %zu bytes as "
		    "JSON; the limit is %zu", n, outsz - 1);
	else
		memcpy(out, text, n + 1);
	zg_json_free_text(text);
	return n >= outsz ? err : ZG_OK;
}

zg_err
zg_token_reply(zg_app *app, zg_request *req, const char *user_id,
    const char *subject_type, json_t *body)
{
	zg_err err;
	int64_t ttl = 86400;
	char token[ZG_TOKEN_LEN + 1];
	char scope[ZG_SCOPE_MAX];
	zg_token_row row;
	json_t *sj = json_object_get(body, "scope");

	memset(token, 0, sizeof(token));
	scope[0] = '\0';
	if ((err = zg_json_get_int(body, "ttlSeconds", ZG_JSON_OPTIONAL, 1,
	    ZG_TOKEN_MAX_TTL_S, &ttl, NULL, &req->em)) != ZG_OK)
		goto out;
	if (sj != NULL && (err = read_scope(req, sj, scope,
	    sizeof(scope))) != ZG_OK)
		goto out;
	if ((err = zg_token_create(&app->vault, user_id, subject_type,
	    scope[0] ? scope : NULL, ttl, token, &row)) != ZG_OK)
		goto out;
	snprintf(req->audit_resource, sizeof(req->audit_resource), "tokens/%s",
	    row.id);
	json_t *reply = json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", row.id,
	    "token", token, "userId", row.user_id, "subjectType",
	    row.subject_type, "expiresAt", zg_json_time(row.expires_at));
	if (reply != NULL && sj != NULL)
		json_object_set(reply, "scope", sj);
	zg_req_reply(req, 201, reply);
out:
	zg_wipe(token, sizeof(token));
	return err;
}

zg_err
zg_h_token_create(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"userId", "ttlSeconds", "scope",
	    NULL};
	zg_err err;
	json_t *body = NULL;
	const char *user_id;
	char resource[ZG_USER_MAX + 16];
	bool may;

	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "userId", ZG_JSON_REQUIRED, 1,
	    ZG_USER_MAX - 1, &user_id, NULL, &req->em)) != ZG_OK)
		goto out;
	if (!zg_user_id_valid(user_id)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(user_id, q, sizeof(q));
		err = zg_fail(&req->em, ZG_ERR_INVALID,
		    "invalid userId \"%s\": use 1 to 128 letters, digits or "
		    "._@:+-", q);
		goto out;
	}
	if (strncmp(user_id, ZG_SERVICE_ACCOUNT_PREFIX,
	    strlen(ZG_SERVICE_ACCOUNT_PREFIX)) == 0) {
		err = zg_fail(&req->em, ZG_ERR_INVALID, "userId \"%s\" is a "
		    "service account; create its tokens with POST "
		    "/v1/service-accounts/{id}/tokens", user_id);
		goto out;
	}
	/* Creating a token for someone is acting as them: the caller needs
	 * the right to do it for that user. */
	snprintf(resource, sizeof(resource), "users/%s/tokens", user_id);
	if ((err = zg_req_may(app, req, resource, "create", user_id,
	    &may)) != ZG_OK)
		goto out;
	if (!may) {
		err = zg_fail(&req->em, ZG_ERR_FORBIDDEN, "%s may not create "
		    "tokens for user %s", req->principal.user_id, user_id);
		goto out;
	}
	err = zg_token_reply(app, req, user_id, "user", body);
out:
	json_decref(body);
	return err;
}

zg_err
zg_owner_token(zg_app *app, zg_request *req, char *owner)
{
	zg_token_row row;
	zg_err err;
	owner[0] = '\0';
	if (!zg_token_id_valid(req->params[0])) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(req->params[0], q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID, "invalid token id "
		    "\"%s\": token ids look like tok_ followed by 24 hex "
		    "digits", q);
	}
	if ((err = app->st->ops->token_get(app->st, req->params[0], &row)) !=
	    ZG_OK)
		return err;
	snprintf(owner, ZG_USER_MAX, "%s", row.user_id);
	return ZG_OK;
}

zg_err
zg_h_token_revoke(zg_app *app, zg_request *req)
{
	const char *id = req->params[0];
	zg_token_row row;
	zg_err err;

	if (!zg_token_id_valid(id)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(id, q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID,
		    "invalid token id \"%s\": token ids look like tok_ followed "
		    "by 24 hex digits", q);
	}
	snprintf(req->audit_resource, sizeof(req->audit_resource), "tokens/%s",
	    id);
	err = app->st->ops->token_get(app->st, id, &row);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(&req->em, err, "token %s not found", id);
	if (err != ZG_OK)
		return err;
	if ((err = zg_token_revoke(&app->vault, id)) != ZG_OK)
		return err;
	zg_req_reply(req, 200, json_pack("{s:s,s:b}", "id", id, "revoked", true));
	return ZG_OK;
}
