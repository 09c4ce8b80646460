/* API token routes. */
#include <stdio.h>
#include <string.h>

#include "authz/authz.h"
#include "base/buf.h"
#include "base/jsonutil.h"
#include "server/server.h"

zg_err
zg_h_token_create(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"userId", "ttlSeconds", "admin",
	    NULL};
	zg_err err;
	json_t *body = NULL;
	const char *user_id;
	int64_t ttl = 86400;
	bool admin = false;
	char token[ZG_TOKEN_LEN + 1];
	zg_token_row row;

	memset(token, 0, sizeof(token));
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
	if ((err = zg_json_get_int(body, "ttlSeconds", ZG_JSON_OPTIONAL, 1,
	    ZG_TOKEN_MAX_TTL_S, &ttl, NULL, &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_bool(body, "admin", ZG_JSON_OPTIONAL, &admin,
	    &req->em)) != ZG_OK)
		goto out;
	if ((err = zg_token_create(&app->vault, user_id, ttl, admin, token,
	    &row)) != ZG_OK)
		goto out;
	snprintf(req->audit_resource, sizeof(req->audit_resource), "token:%s",
	    row.id);
	zg_req_reply(req, 201, json_pack("{s:s,s:s,s:s,s:b,s:o}", "id", row.id,
	    "token", token, "userId", row.user_id, "admin", row.admin,
	    "expiresAt", zg_json_time(row.expires_at)));
out:
	zg_wipe(token, sizeof(token));
	json_decref(body);
	return err;
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
	snprintf(req->audit_resource, sizeof(req->audit_resource), "token:%s", id);
	err = app->st->ops->token_get(app->st, id, &row);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(&req->em, err, "token %s not found", id);
	if (err != ZG_OK)
		return err;
	if ((err = zg_authz_check(&req->principal, "token", "revoke",
	    row.user_id, &req->em)) != ZG_OK) {
		if (err == ZG_ERR_NOT_FOUND)
			zg_fail(&req->em, err, "token %s not found", id);
		return err;
	}
	if ((err = zg_token_revoke(&app->vault, id)) != ZG_OK)
		return err;
	zg_req_reply(req, 200, json_pack("{s:s,s:b}", "id", id, "revoked", true));
	return ZG_OK;
}
