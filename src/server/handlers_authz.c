/*
 * Roles, grants and decisions: /v1/roles, /v1/users/{userId}/roles and
 * /v1/authz/check. Every write stores the object and bumps the
 * authorization version in one batch (zg_authz_write), so every process
 * sharing the store reloads.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authz/authz.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "server/handlers_authz.h"
#include "server/server.h"

#define MAX_ROLES 10000
#define MAX_GRANTS 1000

zg_err
zg_owner_path_user(zg_app *app, zg_request *req, char *owner)
{
	const char *user = req->params[0];
	if (!zg_user_id_valid(user)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(user, q, sizeof(q));
		return zg_fail(&req->em, ZG_ERR_INVALID, "invalid userId \"%s\": "
		    "use 1 to 128 letters, digits or ._@:+-", q);
	}
	memcpy(owner, user, strlen(user) + 1);  /* valid ids fit */
	return ZG_OK;
}

zg_err
zg_authz_load_roles(zg_app *app, zg_authz_role **roles, size_t *n,
    zg_obj_row **rows_out, size_t *nrows_out, zg_errmsg *em)
{
	zg_obj_row *rows = NULL;
	size_t nrows = 0;
	zg_err err;

	*roles = NULL;
	*n = 0;
	if ((err = app->st->ops->obj_list(app->st, ZG_AUTHZ_KIND_ROLE, NULL,
	    NULL, NULL, MAX_ROLES, &rows, &nrows)) != ZG_OK)
		return err;
	if ((*roles = calloc(nrows + 1, sizeof(**roles))) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nrows; i++) {
		json_t *j = json_loads(rows[i].body_json, 0, NULL);
		zg_errmsg inner;
		err = j ? zg_authz_role_from_json(j, &(*roles)[i], &inner) :
		    ZG_ERR_INTEGRITY;
		json_decref(j);
		if (err != ZG_OK) {
			zg_log_error("a stored role does not parse",
			    ZGF_S("role", rows[i].id));
			err = zg_fail(em, ZG_ERR_INTEGRITY, "stored role %s does "
			    "not parse", rows[i].id);
			goto out;
		}
		(*n)++;
	}
out:
	if (err != ZG_OK) {
		zg_authz_roles_free(*roles, *n);
		*roles = NULL;
		*n = 0;
	}
	if (err == ZG_OK && rows_out != NULL) {
		*rows_out = rows;
		*nrows_out = nrows;
	} else {
		zg_obj_rows_free(rows, nrows);
	}
	return err;
}

/* The JSON of a role as the API returns it. */
static json_t *
role_reply(const zg_authz_role *role)
{
	json_t *j = zg_authz_role_to_json(role);
	if (j != NULL)
		json_object_set_new(j, "builtIn",
		    json_boolean(zg_authz_role_is_builtin(role->name)));
	return j;
}

/* Fills row with role as stored (body freed with zg_json_free_text). */
static zg_err
role_to_row(const zg_authz_role *role, zg_obj_row *row)
{
	json_t *j = zg_authz_role_to_json(role);
	int64_t now = zg_time_now_us();
	memset(row, 0, sizeof(*row));
	if (j == NULL)
		return ZG_ERR_NOMEM;
	snprintf(row->kind, sizeof(row->kind), "%s", ZG_AUTHZ_KIND_ROLE);
	snprintf(row->id, sizeof(row->id), "%s", role->name);
	row->body_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	row->created_at = row->updated_at = now;
	json_decref(j);
	return row->body_json ? ZG_OK : ZG_ERR_NOMEM;
}

zg_err
zg_h_role_list(zg_app *app, zg_request *req)
{
	zg_authz_role *roles;
	size_t n;
	zg_err err;

	if ((err = zg_authz_load_roles(app, &roles, &n, NULL, NULL,
	    &req->em)) != ZG_OK)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, role_reply(&roles[i]));
	zg_authz_roles_free(roles, n);
	zg_req_reply(req, 200, json_pack("{s:o}", "items", items));
	return ZG_OK;
}

/*
 * Validates the role set with `role` added or replaced, and writes it
 * with expect_rev (ZG_REV_NEW to create).
 */
static zg_err
store_role(zg_app *app, zg_request *req, const zg_authz_role *role,
    int64_t expect_rev)
{
	zg_authz_role *roles = NULL;
	size_t n = 0, at;
	zg_obj_row row;
	zg_err err;

	memset(&row, 0, sizeof(row));
	if ((err = zg_authz_load_roles(app, &roles, &n, NULL, NULL,
	    &req->em)) != ZG_OK)
		return err;
	for (at = 0; at < n; at++)
		if (strcmp(roles[at].name, role->name) == 0)
			break;
	if (at == n) {
		zg_authz_role *p = realloc(roles, (n + 1) * sizeof(*roles));
		if (p == NULL) {
			err = ZG_ERR_NOMEM;
			goto out;
		}
		roles = p;
		memset(&roles[n], 0, sizeof(roles[n]));
		n++;
	} else {
		zg_authz_role_free(&roles[at]);
	}
	if ((err = zg_authz_role_copy(&roles[at], role)) != ZG_OK)
		goto out;
	if ((err = zg_authz_roles_check(roles, n, &req->em)) != ZG_OK)
		goto out;
	if ((err = role_to_row(role, &row)) != ZG_OK)
		goto out;
	zg_obj_op op = {ZG_OBJ_PUT, &row, expect_rev, 0};
	err = zg_authz_write(app->authz, &op, 1, &req->em);
	if (err == ZG_ERR_CONFLICT && expect_rev == ZG_REV_NEW)
		zg_fail(&req->em, err, "role %s already exists", role->name);
	else if (err == ZG_ERR_CONFLICT)
		zg_fail(&req->em, err, "role %s changed meanwhile; read it "
		    "again and retry", role->name);
out:
	zg_json_free_text(row.body_json);
	zg_authz_roles_free(roles, n);
	return err;
}

/* Parses the request body as a role; name_must names the path's role. */
static zg_err
read_role(zg_request *req, const char *name_must, zg_authz_role *role)
{
	json_t *body = NULL;
	zg_err err;

	memset(role, 0, sizeof(*role));
	if ((err = zg_json_parse_object((const char *)req->body.data,
	    req->body.len, &body, &req->em)) != ZG_OK)
		return err;
	if (name_must != NULL && json_object_get(body, "name") == NULL)
		json_object_set_new(body, "name", json_string(name_must));
	err = zg_authz_role_from_json(body, role, &req->em);
	json_decref(body);
	if (err == ZG_OK && name_must != NULL &&
	    strcmp(role->name, name_must) != 0) {
		err = zg_fail(&req->em, ZG_ERR_INVALID, "name \"%s\" differs "
		    "from the role in the path, %s; a role cannot be renamed",
		    role->name, name_must);
		zg_authz_role_free(role);
	}
	return err;
}

zg_err
zg_h_role_create(zg_app *app, zg_request *req)
{
	zg_authz_role role;
	zg_err err;

	if ((err = read_role(req, NULL, &role)) != ZG_OK)
		return err;
	snprintf(req->audit_resource, sizeof(req->audit_resource), "roles/%s",
	    role.name);
	if ((err = store_role(app, req, &role, ZG_REV_NEW)) == ZG_OK)
		zg_req_reply(req, 201, role_reply(&role));
	zg_authz_role_free(&role);
	return err;
}

/* Loads the stored role named by the path. */
static zg_err
get_role(zg_app *app, zg_request *req, zg_authz_role *role, int64_t *rev)
{
	const char *name = req->params[0];
	zg_obj_row row;
	zg_err err;

	memset(role, 0, sizeof(*role));
	err = app->st->ops->obj_get(app->st, ZG_AUTHZ_KIND_ROLE, name, &row);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(&req->em, err, "role %s not found", name);
	if (err != ZG_OK)
		return err;
	json_t *j = json_loads(row.body_json, 0, NULL);
	zg_errmsg inner;
	err = j ? zg_authz_role_from_json(j, role, &inner) : ZG_ERR_INTEGRITY;
	if (err != ZG_OK)
		err = zg_fail(&req->em, ZG_ERR_INTEGRITY, "stored role %s does "
		    "not parse", name);
	json_decref(j);
	*rev = row.rev;
	zg_obj_row_free(&row);
	return err;
}

zg_err
zg_h_role_get(zg_app *app, zg_request *req)
{
	zg_authz_role role;
	int64_t rev;
	zg_err err;

	if ((err = get_role(app, req, &role, &rev)) != ZG_OK)
		return err;
	zg_req_reply(req, 200, role_reply(&role));
	zg_authz_role_free(&role);
	return ZG_OK;
}

zg_err
zg_h_role_update(zg_app *app, zg_request *req)
{
	zg_authz_role old, role;
	int64_t rev;
	zg_err err;

	memset(&role, 0, sizeof(role));
	if ((err = get_role(app, req, &old, &rev)) != ZG_OK)
		return err;
	zg_authz_role_free(&old);
	if ((err = read_role(req, req->params[0], &role)) != ZG_OK)
		return err;
	if ((err = zg_authz_role_check_update(&role, &req->em)) != ZG_OK)
		goto out;
	if ((err = store_role(app, req, &role, rev)) == ZG_OK)
		zg_req_reply(req, 200, role_reply(&role));
out:
	zg_authz_role_free(&role);
	return err;
}

zg_err
zg_h_role_delete(zg_app *app, zg_request *req)
{
	const char *name = req->params[0];
	zg_authz_role *roles = NULL;
	size_t n = 0;
	zg_obj_row key;
	zg_err err;

	if (zg_authz_role_is_builtin(name))
		return zg_fail(&req->em, ZG_ERR_FORBIDDEN, "role %s is built in; "
		    "built-in roles can be extended but not deleted", name);
	if ((err = zg_authz_load_roles(app, &roles, &n, NULL, NULL,
	    &req->em)) != ZG_OK)
		return err;
	for (size_t i = 0; i < n && err == ZG_OK; i++)
		for (size_t j = 0; j < roles[i].ninherits; j++)
			if (strcmp(roles[i].inherits[j], name) == 0) {
				err = zg_fail(&req->em, ZG_ERR_CONFLICT, "role "
				    "%s inherits %s; change it first",
				    roles[i].name, name);
				break;
			}
	zg_authz_roles_free(roles, n);
	if (err != ZG_OK)
		return err;
	memset(&key, 0, sizeof(key));
	snprintf(key.kind, sizeof(key.kind), "%s", ZG_AUTHZ_KIND_ROLE);
	snprintf(key.id, sizeof(key.id), "%s", name);
	zg_obj_op op = {ZG_OBJ_DELETE, &key, ZG_REV_ANY, 0};
	err = zg_authz_write(app->authz, &op, 1, &req->em);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(&req->em, err, "role %s not found", name);
	if (err == ZG_OK)
		zg_req_reply(req, 200, json_pack("{s:s,s:b}", "name", name,
		    "deleted", true));
	return err;
}

/* Context keys that map to named attributes; every key is also
 * request.context.<key>. */
struct ctx_reader {
	zg_authz_context ctx;
	zg_authz_kv vars[32];
	char text[32][ZG_AUTHZ_NUM_MAX + 1];
	const char *ip;
	const char *auth_method;
	bool mfa;
};


/* Returns true for an IPv4 or IPv6 address as inet_pton reads it, which
 * excludes a zone ("%eth0") and a prefix length ("/8"). */
static bool
ip_address_valid(const char *s)
{
	unsigned char addr[16];
	return inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1;
}

static zg_err
read_context(zg_request *req, json_t *context, struct ctx_reader *r)
{
	char qkey[ZG_QUOTE_MAX], got[ZG_QUOTE_MAX + 2];
	const char *key;
	json_t *v;
	size_t i = 0;

	memset(r, 0, sizeof(*r));
	if (context == NULL)
		return ZG_OK;
	if (!json_is_object(context)) {
		zg_json_value_text(context, got, sizeof(got));
		return zg_fail(&req->em, ZG_ERR_INVALID, "context must be an "
		    "object; got %s", got);
	}
	if (json_object_size(context) > 32)
		return zg_fail(&req->em, ZG_ERR_INVALID, "context has %zu keys; "
		    "the limit is 32", json_object_size(context));
	json_object_foreach(context, key, v) {
		const char *s;
		if (json_is_string(v)) {
			s = json_string_value(v);
		} else if (json_is_integer(v) && json_integer_value(v) >= 0) {
			snprintf(r->text[i], sizeof(r->text[i]), "%lld",
			    (long long)json_integer_value(v));
			s = r->text[i];
		} else if (json_is_boolean(v)) {
			s = json_is_true(v) ? "true" : "false";
		} else {
			zg_quote_value(key, qkey, sizeof(qkey));
			zg_json_value_text(v, got, sizeof(got));
			return zg_fail(&req->em, ZG_ERR_INVALID, "context.%s must "
			    "be a string, a non-negative integer or a boolean; "
			    "got %s", qkey, got);
		}
		r->vars[i].name = key;
		r->vars[i].value = s;
		i++;
		if (strcmp(key, "ownerId") == 0) {
			r->ctx.resource_owner_id = s;
		} else if (strcmp(key, "resourceType") == 0) {
			r->ctx.resource_type = s;
		} else if (strcmp(key, "amount") == 0) {
			r->ctx.amount = s;
		} else if (strcmp(key, "chainId") == 0) {
			r->ctx.chain_id = s;
		} else if (strcmp(key, "to") == 0) {
			r->ctx.to = s;
		} else if (strcmp(key, "ip") == 0) {
			/* IP conditions would silently not hold on a typo. */
			if (!json_is_string(v) || !ip_address_valid(s)) {
				zg_json_value_text(v, got, sizeof(got));
				return zg_fail(&req->em, ZG_ERR_INVALID, "invalid "
				    "context.ip %s: use an IPv4 or IPv6 address "
				    "such as 10.1.2.3 or 2001:db8::1", got);
			}
			r->ip = s;
		} else if (strcmp(key, "authMethod") == 0) {
			r->auth_method = s;
		} else if (strcmp(key, "mfa") == 0) {
			r->mfa = json_is_true(v);
		}
	}
	r->ctx.vars = r->vars;
	r->ctx.nvars = i;
	return ZG_OK;
}

zg_err
zg_h_authz_check(zg_app *app, zg_request *req)
{
	static const char *const allowed[] = {"userId", "resource", "action",
	    "context", NULL};
	json_t *body = NULL;
	const char *user, *resource, *action;
	struct ctx_reader *cr = NULL;
	zg_principal *p = NULL;
	zg_authz_decision dec;
	zg_err err;

	if ((err = zg_req_json(req, allowed, false, &body)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(body, "userId", ZG_JSON_REQUIRED, 1,
	    ZG_USER_MAX - 1, &user, NULL, &req->em)) != ZG_OK ||
	    (err = zg_json_get_string(body, "resource", ZG_JSON_REQUIRED, 1,
	    ZG_AUTHZ_PATTERN_MAX, &resource, NULL, &req->em)) != ZG_OK ||
	    (err = zg_json_get_string(body, "action", ZG_JSON_REQUIRED, 1,
	    ZG_AUTHZ_ACTION_MAX - 1, &action, NULL, &req->em)) != ZG_OK)
		goto out;
	if (!zg_user_id_valid(user)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(user, q, sizeof(q));
		err = zg_fail(&req->em, ZG_ERR_INVALID, "invalid userId \"%s\": "
		    "use 1 to 128 letters, digits or ._@:+-", q);
		goto out;
	}
	if ((err = zg_authz_pattern_check(resource, false, "resource",
	    &req->em)) != ZG_OK)
		goto out;
	if (!zg_authz_action_valid(action, false)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(action, q, sizeof(q));
		err = zg_fail(&req->em, ZG_ERR_INVALID, "invalid action \"%s\": "
		    "use lower-case letters and _", q);
		goto out;
	}
	if ((cr = malloc(sizeof(*cr))) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = read_context(req, json_object_get(body, "context"),
	    cr)) != ZG_OK)
		goto out;
	snprintf(p->user_id, sizeof(p->user_id), "%s", user);
	snprintf(p->subject_type, sizeof(p->subject_type), "%s",
	    strncmp(user, ZG_SERVICE_ACCOUNT_PREFIX,
	    strlen(ZG_SERVICE_ACCOUNT_PREFIX)) == 0 ? "service_account" :
	    "user");
	snprintf(p->auth_method, sizeof(p->auth_method), "%s",
	    cr->auth_method ? cr->auth_method : "token");
	p->mfa = cr->mfa;
	snprintf(req->audit_resource, sizeof(req->audit_resource), "%s",
	    resource);
	if ((err = zg_authz_check(app->authz, p, cr->ip ? cr->ip : "",
	    resource, action, &cr->ctx, &dec, &req->em)) != ZG_OK)
		goto out;
	json_t *perm = json_null();
	if (dec.matched_permission >= 0)
		perm = json_pack("{s:i,s:s}", "index",
		    (json_int_t)dec.matched_permission, "resource",
		    dec.matched_resource);
	req->audit_metadata = json_pack("{s:s,s:s,s:b}", "subject", user,
	    "decisionAction", action, "allowed", dec.allowed);
	req->answered_denied = !dec.allowed;
	zg_req_reply(req, 200, json_pack("{s:b,s:s,s:o,s:o}", "allowed",
	    dec.allowed, "reason", dec.reason, "matchedRole",
	    dec.matched_role[0] ? json_string(dec.matched_role) : json_null(),
	    "matchedPermission", perm));
out:
	free(cr);
	free(p);
	json_decref(body);
	return err;
}
