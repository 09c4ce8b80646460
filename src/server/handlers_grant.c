/*
 * Grants of roles (/v1/users/{userId}/roles) and service accounts
 * (/v1/service-accounts).
 *
 * Granting is guarded twice: the route needs "grant" on
 * users/{userId}/roles, and the caller also needs "grant" on
 * roles/{roleId}, so that someone who may manage a team's viewers cannot
 * hand out admin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/authz.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "server/handlers_authz.h"
#include "server/server.h"

#define MAX_GRANTS 1000
#define MAX_ACCOUNTS 1000
#define KIND_ACCOUNT "service_account"
#define SA_NAME_MAX 64

static zg_err
may_grant(zg_app *app, zg_request *req, const char *role_id)
{
	char resource[ZG_PARAM_MAX + 8];
	bool may;
	zg_err err;
	/* A role id from the path may be longer than any role name; it is
	 * checked whole, never cut to fit. */
	if ((size_t)snprintf(resource, sizeof(resource), "roles/%s", role_id) >=
	    sizeof(resource))
		return zg_fail(&req->em, ZG_ERR_INVALID, "role id is longer than "
		    "%d bytes", ZG_PARAM_MAX - 1);
	if ((err = zg_req_may(app, req, resource, "grant", NULL, &may)) !=
	    ZG_OK)
		return err;
	if (!may)
		return zg_fail(&req->em, ZG_ERR_FORBIDDEN, "%s may not grant "
		    "role %s: granting needs \"grant\" on %s",
		    req->principal.user_id, role_id, resource);
	return ZG_OK;
}

static zg_err
role_exists(zg_app *app, zg_request *req, const char *role_id)
{
	zg_obj_row row;
	zg_err err = app->st->ops->obj_get(app->st, ZG_AUTHZ_KIND_ROLE, role_id,
	    &row);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(&req->em, ZG_ERR_INVALID, "role \"%s\" does not "
		    "exist", role_id);
	zg_obj_row_free(&row);
	return err;
}

/* Builds the stored object of a grant (body freed with zg_json_free_text). */
static zg_err
grant_to_row(const zg_authz_grant *g, zg_obj_row *row)
{
	json_t *j = zg_authz_grant_to_json(g);
	memset(row, 0, sizeof(*row));
	if (j == NULL)
		return ZG_ERR_NOMEM;
	snprintf(row->kind, sizeof(row->kind), "%s", ZG_AUTHZ_KIND_GRANT);
	zg_authz_grant_id(g, row->id, sizeof(row->id));
	snprintf(row->owner, sizeof(row->owner), "%s", g->user_id);
	row->body_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	row->created_at = row->updated_at = g->granted_at;
	json_decref(j);
	return row->body_json ? ZG_OK : ZG_ERR_NOMEM;
}

/* Reads {"roleId","expiresAt"?} for user_id into g, and checks it. */
static zg_err
read_grant(zg_app *app, zg_request *req, json_t *in, const char *user_id,
    zg_authz_grant *g)
{
	json_t *obj = json_deep_copy(in);
	zg_err err;
	if (obj == NULL)
		return ZG_ERR_NOMEM;
	if (json_object_get(obj, "userId") != NULL ||
	    json_object_get(obj, "grantedBy") != NULL ||
	    json_object_get(obj, "grantedAt") != NULL) {
		json_decref(obj);
		return zg_fail(&req->em, ZG_ERR_INVALID, "userId, grantedBy and "
		    "grantedAt come from the path and the caller; send only "
		    "roleId and expiresAt");
	}
	json_object_set_new(obj, "userId", json_string(user_id));
	err = zg_authz_grant_from_json(obj, g, &req->em);
	json_decref(obj);
	if (err != ZG_OK)
		return err;
	snprintf(g->granted_by, sizeof(g->granted_by), "%s",
	    req->principal.user_id);
	g->granted_at = zg_time_now_us();
	if (g->expires_at != 0 && g->expires_at <= g->granted_at)
		return zg_fail(&req->em, ZG_ERR_INVALID, "expiresAt is in the "
		    "past");
	if ((err = role_exists(app, req, g->role_id)) != ZG_OK)
		return err;
	return may_grant(app, req, g->role_id);
}

zg_err
zg_h_grant_create(zg_app *app, zg_request *req)
{
	json_t *body = NULL;
	zg_authz_grant g;
	zg_obj_row row;
	zg_err err;

	memset(&row, 0, sizeof(row));
	if ((err = zg_json_parse_object((const char *)req->body.data,
	    req->body.len, &body, &req->em)) != ZG_OK)
		return err;
	if ((err = read_grant(app, req, body, req->params[0], &g)) != ZG_OK)
		goto out;
	if ((err = grant_to_row(&g, &row)) != ZG_OK)
		goto out;
	/* Granting again replaces the expiry: a renewal. */
	zg_obj_op op = {ZG_OBJ_PUT, &row, ZG_REV_ANY, 0};
	if ((err = zg_authz_write(app->authz, &op, 1, &req->em)) != ZG_OK)
		goto out;
	zg_log_info("role granted", ZGF_S("user_id", g.user_id),
	    ZGF_S("role", g.role_id), ZGF_S("granted_by", g.granted_by));
	zg_req_reply(req, 201, zg_authz_grant_to_json(&g));
out:
	zg_json_free_text(row.body_json);
	json_decref(body);
	return err;
}

zg_err
zg_h_grant_list(zg_app *app, zg_request *req)
{
	char prefix[ZG_PARAM_MAX + 2];
	zg_obj_row *rows = NULL;
	size_t n = 0;
	int64_t now = zg_time_now_us();
	zg_err err;

	snprintf(prefix, sizeof(prefix), "%s/", req->params[0]);
	if ((err = app->st->ops->obj_list(app->st, ZG_AUTHZ_KIND_GRANT, NULL,
	    prefix, NULL, MAX_GRANTS, &rows, &n)) != ZG_OK)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_loads(rows[i].body_json, 0, NULL);
		zg_authz_grant g;
		zg_errmsg inner;
		if (j == NULL || zg_authz_grant_from_json(j, &g, &inner) !=
		    ZG_OK) {
			json_decref(j);
			continue;
		}
		json_decref(j);
		json_t *o = zg_authz_grant_to_json(&g);
		json_object_set_new(o, "expired",
		    json_boolean(zg_authz_grant_expired(&g, now)));
		json_array_append_new(items, o);
	}
	zg_obj_rows_free(rows, n);
	zg_req_reply(req, 200, json_pack("{s:s,s:o}", "userId", req->params[0],
	    "items", items));
	return ZG_OK;
}

zg_err
zg_h_grant_delete(zg_app *app, zg_request *req)
{
	const char *user = req->params[0], *role = req->params[1];
	zg_obj_row key;
	zg_err err;

	if ((err = may_grant(app, req, role)) != ZG_OK)
		return err;
	memset(&key, 0, sizeof(key));
	snprintf(key.kind, sizeof(key.kind), "%s", ZG_AUTHZ_KIND_GRANT);
	if ((size_t)snprintf(key.id, sizeof(key.id), "%s/%s", user, role) >=
	    sizeof(key.id))
		return zg_fail(&req->em, ZG_ERR_NOT_FOUND, "no such grant");
	zg_obj_op op = {ZG_OBJ_DELETE, &key, ZG_REV_ANY, 0};
	err = zg_authz_write(app->authz, &op, 1, &req->em);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(&req->em, err, "user %s does not hold role %s",
		    user, role);
	if (err == ZG_OK)
		zg_req_reply(req, 200, json_pack("{s:s,s:s,s:b}", "userId", user,
		    "roleId", role, "revoked", true));
	return err;
}

/* Service accounts. */

static bool
sa_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SA_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* Checks that the path names an existing service account. */
static zg_err
sa_get(zg_app *app, zg_request *req, zg_obj_row *row)
{
	const char *id = req->params[0];
	zg_err err;
	memset(row, 0, sizeof(*row));
	if (strncmp(id, ZG_SERVICE_ACCOUNT_PREFIX,
	    strlen(ZG_SERVICE_ACCOUNT_PREFIX)) != 0) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(id, q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID, "invalid service "
		    "account id \"%s\": ids look like sa:NAME", q);
	}
	err = app->st->ops->obj_get(app->st, KIND_ACCOUNT, id, row);
	if (err == ZG_ERR_NOT_FOUND)
		zg_fail(&req->em, err, "service account %s not found", id);
	return err;
}

static json_t *
sa_reply(const zg_obj_row *row)
{
	json_t *j = json_loads(row->body_json, 0, NULL);
	if (j == NULL)
		return NULL;
	json_object_set_new(j, "id", json_string(row->id));
	json_object_set_new(j, "createdAt", zg_json_time(row->created_at));
	return j;
}

zg_err
zg_h_sa_create(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"name", "description", "roles",
	    NULL};
	json_t *body = NULL, *roles, *stored = NULL;
	const char *name, *desc = "";
	zg_obj_row rows[1 + 16];
	zg_obj_op ops[1 + 16];
	size_t nrows = 0;
	zg_err err;

	memset(rows, 0, sizeof(rows));
	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "name", ZG_JSON_REQUIRED, 1,
	    SA_NAME_MAX, &name, NULL, &req->em)) != ZG_OK)
		goto out;
	if (!sa_name_valid(name)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(name, q, sizeof(q));
		err = zg_fail(&req->em, ZG_ERR_INVALID, "invalid name \"%s\": use "
		    "1 to %d lower-case letters, digits or -_.", q, SA_NAME_MAX);
		goto out;
	}
	if ((err = zg_json_get_string(body, "description", ZG_JSON_OPTIONAL, 0,
	    ZG_AUTHZ_DESC_MAX - 1, &desc, NULL, &req->em)) != ZG_OK)
		goto out;
	if (desc == NULL)
		desc = "";
	roles = json_object_get(body, "roles");
	if (roles != NULL && (!json_is_array(roles) ||
	    json_array_size(roles) > 16)) {
		err = zg_fail(&req->em, ZG_ERR_INVALID, "roles must be an array "
		    "of at most 16 role names");
		goto out;
	}
	int64_t now = zg_time_now_us();
	zg_obj_row *sa = &rows[nrows++];
	snprintf(sa->kind, sizeof(sa->kind), "%s", KIND_ACCOUNT);
	if ((size_t)snprintf(sa->id, sizeof(sa->id), "%s%s",
	    ZG_SERVICE_ACCOUNT_PREFIX, name) >= sizeof(sa->id)) {
		err = ZG_ERR_INTERNAL;
		goto out;
	}
	snprintf(sa->owner, sizeof(sa->owner), "%s", req->principal.user_id);
	stored = json_pack("{s:s,s:s,s:s}", "name", name, "description", desc,
	    "createdBy", req->principal.user_id);
	sa->body_json = stored ? json_dumps(stored, JSON_COMPACT) : NULL;
	sa->created_at = sa->updated_at = now;
	if (sa->body_json == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	snprintf(req->audit_resource, sizeof(req->audit_resource),
	    "service-accounts/%.64s", name);
	ops[0] = (zg_obj_op){ZG_OBJ_PUT, sa, ZG_REV_NEW, 0};
	for (size_t i = 0; roles != NULL && i < json_array_size(roles); i++) {
		json_t *r = json_array_get(roles, i);
		zg_authz_grant g;
		json_t *gj = json_pack("{s:O}", "roleId", r);
		err = gj ? read_grant(app, req, gj, sa->id, &g) : ZG_ERR_NOMEM;
		json_decref(gj);
		if (err != ZG_OK)
			goto out;
		if ((err = grant_to_row(&g, &rows[nrows])) != ZG_OK)
			goto out;
		ops[nrows] = (zg_obj_op){ZG_OBJ_PUT, &rows[nrows], ZG_REV_ANY, 0};
		nrows++;
	}
	err = zg_authz_write(app->authz, ops, nrows, &req->em);
	if (err == ZG_ERR_CONFLICT) {
		zg_fail(&req->em, err, "service account %s already exists",
		    sa->id);
		goto out;
	}
	if (err != ZG_OK)
		goto out;
	json_t *reply = sa_reply(sa);
	json_object_set_new(reply, "roles", roles ? json_incref(roles) :
	    json_array());
	zg_req_reply(req, 201, reply);
out:
	for (size_t i = 0; i < nrows; i++)
		zg_json_free_text(rows[i].body_json);
	json_decref(stored);
	json_decref(body);
	return err;
}

zg_err
zg_h_sa_get(zg_app *app, zg_request *req)
{
	char prefix[ZG_OBJ_ID_MAX + 1];
	zg_obj_row row, *grants = NULL;
	size_t n = 0;
	zg_err err;
	if ((err = sa_get(app, req, &row)) != ZG_OK)
		return err;
	snprintf(prefix, sizeof(prefix), "%s/", row.id);
	if ((err = app->st->ops->obj_list(app->st, ZG_AUTHZ_KIND_GRANT, NULL,
	    prefix, NULL, MAX_GRANTS, &grants, &n)) == ZG_OK) {
		json_t *reply = sa_reply(&row), *roles = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(roles, json_string(grants[i].id +
			    strlen(prefix)));
		json_object_set_new(reply, "roles", roles);
		zg_req_reply(req, 200, reply);
	}
	zg_obj_rows_free(grants, n);
	zg_obj_row_free(&row);
	return err;
}

zg_err
zg_h_sa_list(zg_app *app, zg_request *req)
{
	zg_obj_row *rows = NULL;
	size_t n = 0;
	zg_err err;
	if ((err = app->st->ops->obj_list(app->st, KIND_ACCOUNT, NULL, NULL,
	    NULL, MAX_ACCOUNTS, &rows, &n)) != ZG_OK)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, sa_reply(&rows[i]));
	zg_obj_rows_free(rows, n);
	zg_req_reply(req, 200, json_pack("{s:o}", "items", items));
	return ZG_OK;
}

/*
 * Deletes the account and its grants. Its tokens stop working at once:
 * authentication looks the account up for every service-account token.
 */
zg_err
zg_h_sa_delete(zg_app *app, zg_request *req)
{
	zg_obj_row row, *grants = NULL;
	zg_obj_op *ops = NULL;
	size_t n = 0;
	char prefix[ZG_OBJ_ID_MAX + 1];
	zg_err err;

	if ((err = sa_get(app, req, &row)) != ZG_OK)
		return err;
	snprintf(prefix, sizeof(prefix), "%s/", row.id);
	if ((err = app->st->ops->obj_list(app->st, ZG_AUTHZ_KIND_GRANT, NULL,
	    prefix, NULL, MAX_GRANTS, &grants, &n)) != ZG_OK)
		goto out;
	if ((ops = calloc(n + 1, sizeof(*ops))) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	ops[0] = (zg_obj_op){ZG_OBJ_DELETE, &row, row.rev, 0};
	for (size_t i = 0; i < n; i++)
		ops[i + 1] = (zg_obj_op){ZG_OBJ_DELETE, &grants[i], ZG_REV_ANY,
		    0};
	if ((err = zg_authz_write(app->authz, ops, n + 1, &req->em)) != ZG_OK)
		goto out;
	zg_req_reply(req, 200, json_pack("{s:s,s:b,s:i}", "id", row.id,
	    "deleted", true, "revokedGrants", (json_int_t)n));
out:
	free(ops);
	zg_obj_rows_free(grants, n);
	zg_obj_row_free(&row);
	return err;
}

zg_err
zg_h_sa_token(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"ttlSeconds", "scope", NULL};
	json_t *body = NULL;
	zg_obj_row row;
	zg_err err;

	if ((err = sa_get(app, req, &row)) != ZG_OK)
		return err;
	if ((err = zg_req_json(req, allowed, true, &body)) == ZG_OK)
		err = zg_token_reply(app, req, row.id, "service_account", body);
	json_decref(body);
	zg_obj_row_free(&row);
	return err;
}
