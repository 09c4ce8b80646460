#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/cond.h"
#include "authz/model.h"
#include "authn/authn.h"
#include "base/jsonutil.h"
#include "base/timeutil.h"

static zg_err
nomem(zg_errmsg *em)
{
	return zg_fail(em, ZG_ERR_NOMEM, "out of memory");
}

static bool
pattern_char(char c, bool allow_wildcards)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return true;
	if (c == '*')
		return allow_wildcards;
	return strchr("._:@+{}-", c) != NULL && c != '\0';
}

/*
 * Rejects the byte at bad in pattern, naming it and its byte offset, because
 * a space or a non-ASCII byte is hard to spot in the quoted pattern.
 */
static zg_err
bad_pattern_char(const char *pattern, const char *bad, bool allow_wildcards,
    const char *field, zg_errmsg *em)
{
	unsigned char c = (unsigned char)*bad;
	char q[ZG_QUOTE_MAX], shown[8];

	zg_quote_value(pattern, q, sizeof(q));
	if (c >= ' ' && c < 127 && c != '\'' && c != '\\')
		snprintf(shown, sizeof(shown), "'%c'", c);
	else
		snprintf(shown, sizeof(shown), "'\\x%02x'", c);
	return zg_fail(em, ZG_ERR_INVALID, "field \"%s\": invalid character "
	    "%s at byte offset %zu in \"%s\"; allowed are A-Z a-z 0-9 "
	    ". _ : @ { } -%s and '/' between segments", field, shown,
	    (size_t)(bad - pattern), q, allow_wildcards ? " *" : "");
}

zg_err
zg_authz_pattern_check(const char *pattern, bool allow_wildcards,
    const char *field, zg_errmsg *em)
{
	char q[ZG_QUOTE_MAX];
	zg_quote_value(pattern, q, sizeof(q));
	size_t len = strlen(pattern);
	if (len == 0 || len > ZG_AUTHZ_PATTERN_MAX)
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must have 1 to "
		    "%d bytes; got %zu", field, ZG_AUTHZ_PATTERN_MAX, len);
	const char *seg = pattern;
	for (const char *s = pattern;; s++) {
		if (*s != '/' && *s != '\0') {
			if (!pattern_char(*s, allow_wildcards))
				return bad_pattern_char(pattern, s, allow_wildcards,
				    field, em);
			continue;
		}
		size_t n = s - seg;
		if (n == 0)
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s\": empty "
			    "segment in \"%s\"", field, q);
		if (memmem(seg, n, "**", 2) != NULL && n != 2)
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s\": \"**\" "
			    "must be a whole segment in \"%s\"", field, q);
		if (*s == '\0')
			break;
		seg = s + 1;
	}
	return ZG_OK;
}

/* Matches one segment against a pattern segment with '*' globs. */
static bool
segment_match(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
	while (si < slen) {
		if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < plen && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

bool
zg_authz_pattern_match(const char *pattern, const char *path)
{
	const char *pe = strchrnul(pattern, '/');
	size_t plen = pe - pattern;
	if (plen == 2 && pattern[0] == '*' && pattern[1] == '*') {
		/* "**" takes zero segments, or one and stays. */
		if (*pe == '\0')
			return true;
		if (zg_authz_pattern_match(pe + 1, path))
			return true;
		const char *next = strchr(path, '/');
		return next != NULL && zg_authz_pattern_match(pattern, next + 1);
	}
	const char *se = strchrnul(path, '/');
	if (!segment_match(pattern, plen, path, se - path))
		return false;
	if (*pe == '\0' || *se == '\0') {
		/* A trailing "**" segment also matches nothing more. */
		return *pe == '\0' ? *se == '\0' :
		    strcmp(pe + 1, "**") == 0;
	}
	return zg_authz_pattern_match(pe + 1, se + 1);
}

bool
zg_authz_action_valid(const char *action, bool allow_star)
{
	if (allow_star && strcmp(action, "*") == 0)
		return true;
	size_t n = strlen(action);
	if (n == 0 || n >= ZG_AUTHZ_ACTION_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((action[i] >= 'a' && action[i] <= 'z') || action[i] == '_'))
			return false;
	return true;
}

bool
zg_authz_role_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= ZG_AUTHZ_ROLE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

void
zg_authz_perm_free(zg_authz_perm *p)
{
	if (p == NULL)
		return;
	free(p->resource);
	for (size_t i = 0; i < p->nactions; i++)
		free(p->actions[i]);
	free(p->actions);
	for (size_t i = 0; i < p->nconds; i++)
		zg_authz_cond_free(&p->conds[i]);
	free(p->conds);
	memset(p, 0, sizeof(*p));
}

void
zg_authz_role_free(zg_authz_role *role)
{
	if (role == NULL)
		return;
	free(role->description);
	for (size_t i = 0; i < role->nperms; i++)
		zg_authz_perm_free(&role->perms[i]);
	free(role->perms);
	for (size_t i = 0; i < role->ninherits; i++)
		free(role->inherits[i]);
	free(role->inherits);
	memset(role, 0, sizeof(*role));
}

void
zg_authz_roles_free(zg_authz_role *roles, size_t n)
{
	for (size_t i = 0; i < n && roles != NULL; i++)
		zg_authz_role_free(&roles[i]);
	free(roles);
}


/* Reads an array of strings, each checked by valid(), into *out. */
static zg_err
string_list(const json_t *arr, const char *field, bool required,
    bool (*valid)(const char *), const char *expected, char ***out,
    size_t *n, zg_errmsg *em)
{
	size_t i;
	const json_t *v;
	*out = NULL;
	*n = 0;
	if (arr == NULL && !required)
		return ZG_OK;
	if (!json_is_array(arr) || (required && json_array_size(arr) == 0) ||
	    json_array_size(arr) > ZG_AUTHZ_LIST_MAX)
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an array "
		    "of %d to %d strings", field, required ? 1 : 0,
		    ZG_AUTHZ_LIST_MAX);
	if ((*out = calloc(json_array_size(arr) + 1, sizeof(char *))) == NULL)
		return nomem(em);
	json_array_foreach(arr, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		if (s == NULL || !valid(s)) {
			char q[ZG_QUOTE_MAX];
			zg_quote_value(s != NULL ? s : "(not a string)", q,
			    sizeof(q));
			return zg_fail(em, ZG_ERR_INVALID, "field \"%s[%zu]\": "
			    "expected %s; got \"%s\"", field, i, expected, q);
		}
		if (((*out)[i] = strdup(s)) == NULL)
			return nomem(em);
		(*n)++;
	}
	return ZG_OK;
}

static bool
action_or_star(const char *s)
{
	return zg_authz_action_valid(s, true);
}

zg_err
zg_authz_perm_from_json(const json_t *obj, const char *field,
    zg_authz_perm *out, zg_errmsg *em)
{
	static const char *const keys[] = {"resource", "actions", "conditions",
	    "effect", NULL};
	char f[96];
	zg_err err;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an "
		    "object", field);
	if ((err = zg_json_only_keys_in(obj, field, keys, em)) != ZG_OK)
		goto out;

	snprintf(f, sizeof(f), "%s.resource", field);
	const json_t *res = json_object_get(obj, "resource");
	if (!json_is_string(res)) {
		err = zg_fail(em, ZG_ERR_INVALID, "missing required string "
		    "field \"%s\"", f);
		goto out;
	}
	if ((err = zg_authz_pattern_check(json_string_value(res), true, f,
	    em)) != ZG_OK)
		goto out;
	if ((out->resource = strdup(json_string_value(res))) == NULL) {
		err = nomem(em);
		goto out;
	}

	snprintf(f, sizeof(f), "%s.actions", field);
	if ((err = string_list(json_object_get(obj, "actions"), f, true,
	    action_or_star, "an action of [a-z_] or \"*\"", &out->actions,
	    &out->nactions, em)) != ZG_OK)
		goto out;

	const json_t *eff = json_object_get(obj, "effect");
	const char *e = eff == NULL ? "allow" :
	    json_is_string(eff) ? json_string_value(eff) : "";
	if (strcmp(e, "allow") != 0 && strcmp(e, "deny") != 0) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(e, q, sizeof(q));
		err = zg_fail(em, ZG_ERR_INVALID, "field \"%s.effect\" must be "
		    "\"allow\" or \"deny\"; got \"%s\"", field, q);
		goto out;
	}
	out->effect = e[0] == 'd' ? ZG_AUTHZ_DENY : ZG_AUTHZ_ALLOW;

	const json_t *conds = json_object_get(obj, "conditions");
	if (conds != NULL) {
		size_t i;
		const json_t *c;
		if (!json_is_array(conds) ||
		    json_array_size(conds) > ZG_AUTHZ_LIST_MAX) {
			err = zg_fail(em, ZG_ERR_INVALID, "field \"%s.conditions\" "
			    "must be an array of at most %d conditions", field,
			    ZG_AUTHZ_LIST_MAX);
			goto out;
		}
		out->conds = calloc(json_array_size(conds) + 1,
		    sizeof(zg_authz_cond));
		if (out->conds == NULL) {
			err = nomem(em);
			goto out;
		}
		json_array_foreach(conds, i, c) {
			snprintf(f, sizeof(f), "%s.conditions[%zu]", field, i);
			err = zg_authz_cond_from_json(c, f, &out->conds[i], em);
			if (err != ZG_OK) {
				zg_authz_cond_free(&out->conds[i]);
				goto out;
			}
			out->nconds++;
		}
	}
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_authz_perm_free(out);
	return err;
}

static bool
role_name_ok(const char *s)
{
	return zg_authz_role_name_valid(s);
}

zg_err
zg_authz_role_from_json(const json_t *obj, zg_authz_role *out, zg_errmsg *em)
{
	static const char *const keys[] = {"name", "description", "permissions",
	    "inherits", NULL};
	const char *name, *desc;
	zg_err err;
	memset(out, 0, sizeof(*out));
	if ((err = zg_json_only_keys(obj, keys, em)) != ZG_OK)
		goto out;
	if ((err = zg_json_get_string(obj, "name", ZG_JSON_REQUIRED, 1,
	    ZG_AUTHZ_ROLE_MAX - 1, &name, NULL, em)) != ZG_OK)
		goto out;
	if (!zg_authz_role_name_valid(name)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(name, q, sizeof(q));
		err = zg_fail(em, ZG_ERR_INVALID, "field \"name\" must be 1 to "
		    "64 characters of [A-Za-z0-9._-]; got \"%s\"", q);
		goto out;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	if ((err = zg_json_get_string(obj, "description", ZG_JSON_OPTIONAL, 0,
	    ZG_AUTHZ_DESC_MAX, &desc, NULL, em)) != ZG_OK)
		goto out;
	if ((out->description = strdup(desc != NULL ? desc : "")) == NULL) {
		err = nomem(em);
		goto out;
	}
	if ((err = string_list(json_object_get(obj, "inherits"), "inherits",
	    false, role_name_ok, "a role name", &out->inherits,
	    &out->ninherits, em)) != ZG_OK)
		goto out;

	const json_t *perms = json_object_get(obj, "permissions");
	if (perms != NULL) {
		size_t i;
		const json_t *p;
		if (!json_is_array(perms) ||
		    json_array_size(perms) > ZG_AUTHZ_PERMS_MAX) {
			err = zg_fail(em, ZG_ERR_INVALID, "field \"permissions\" "
			    "must be an array of at most %d permissions",
			    ZG_AUTHZ_PERMS_MAX);
			goto out;
		}
		out->perms = calloc(json_array_size(perms) + 1,
		    sizeof(zg_authz_perm));
		if (out->perms == NULL) {
			err = nomem(em);
			goto out;
		}
		json_array_foreach(perms, i, p) {
			char f[48];
			snprintf(f, sizeof(f), "permissions[%zu]", i);
			if ((err = zg_authz_perm_from_json(p, f, &out->perms[i],
			    em)) != ZG_OK)
				goto out;
			out->nperms++;
		}
	}
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_authz_role_free(out);
	return err;
}

static json_t *
perm_to_json(const zg_authz_perm *p)
{
	json_t *actions = json_array(), *conds = json_array();
	for (size_t i = 0; i < p->nactions; i++)
		json_array_append_new(actions, json_string(p->actions[i]));
	for (size_t i = 0; i < p->nconds; i++)
		json_array_append_new(conds, zg_authz_cond_to_json(&p->conds[i]));
	return json_pack("{s:s,s:o,s:o,s:s}", "resource", p->resource,
	    "actions", actions, "conditions", conds, "effect",
	    p->effect == ZG_AUTHZ_DENY ? "deny" : "allow");
}

json_t *
zg_authz_role_to_json(const zg_authz_role *role)
{
	json_t *perms = json_array(), *inherits = json_array();
	for (size_t i = 0; i < role->nperms; i++)
		json_array_append_new(perms, perm_to_json(&role->perms[i]));
	for (size_t i = 0; i < role->ninherits; i++)
		json_array_append_new(inherits, json_string(role->inherits[i]));
	return json_pack("{s:s,s:s,s:o,s:o}", "name", role->name,
	    "description", role->description ? role->description : "",
	    "permissions", perms, "inherits", inherits);
}

static zg_err
perm_copy(zg_authz_perm *dst, const zg_authz_perm *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->effect = src->effect;
	if ((dst->resource = strdup(src->resource)) == NULL ||
	    (dst->actions = calloc(src->nactions + 1, sizeof(char *))) == NULL ||
	    (dst->conds = calloc(src->nconds + 1, sizeof(zg_authz_cond))) == NULL)
		goto fail;
	for (; dst->nactions < src->nactions; dst->nactions++)
		if ((dst->actions[dst->nactions] =
		    strdup(src->actions[dst->nactions])) == NULL)
			goto fail;
	for (; dst->nconds < src->nconds; dst->nconds++)
		if (zg_authz_cond_copy(&dst->conds[dst->nconds],
		    &src->conds[dst->nconds]) != ZG_OK)
			goto fail;
	return ZG_OK;
fail:
	zg_authz_perm_free(dst);
	return ZG_ERR_NOMEM;
}

zg_err
zg_authz_role_copy(zg_authz_role *dst, const zg_authz_role *src)
{
	memset(dst, 0, sizeof(*dst));
	memcpy(dst->name, src->name, sizeof(dst->name));
	if ((dst->description = strdup(src->description ? src->description :
	    "")) == NULL ||
	    (dst->perms = calloc(src->nperms + 1, sizeof(zg_authz_perm))) == NULL ||
	    (dst->inherits = calloc(src->ninherits + 1, sizeof(char *))) == NULL)
		goto fail;
	for (; dst->nperms < src->nperms; dst->nperms++)
		if (perm_copy(&dst->perms[dst->nperms],
		    &src->perms[dst->nperms]) != ZG_OK)
			goto fail;
	for (; dst->ninherits < src->ninherits; dst->ninherits++)
		if ((dst->inherits[dst->ninherits] =
		    strdup(src->inherits[dst->ninherits])) == NULL)
			goto fail;
	return ZG_OK;
fail:
	zg_authz_role_free(dst);
	return ZG_ERR_NOMEM;
}

static zg_err
get_time(const json_t *obj, const char *key, int64_t *out, zg_errmsg *em)
{
	const char *s;
	zg_err err = zg_json_get_string(obj, key, ZG_JSON_OPTIONAL, 1, 64, &s,
	    NULL, em);
	*out = 0;
	if (err != ZG_OK || s == NULL)
		return err;
	if (zg_time_parse_rfc3339(s, out) != ZG_OK) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(s, q, sizeof(q));
		return zg_fail(em, ZG_ERR_INVALID, "field \"%s\" must be an RFC "
		    "3339 time such as \"2026-01-31T12:00:00Z\"; got \"%s\"",
		    key, q);
	}
	return ZG_OK;
}

zg_err
zg_authz_grant_from_json(const json_t *obj, zg_authz_grant *out,
    zg_errmsg *em)
{
	static const char *const keys[] = {"userId", "roleId", "grantedBy",
	    "grantedAt", "expiresAt", NULL};
	const char *user, *role, *by;
	char q[ZG_QUOTE_MAX];
	zg_err err;
	memset(out, 0, sizeof(*out));
	if ((err = zg_json_only_keys(obj, keys, em)) != ZG_OK ||
	    (err = zg_json_get_string(obj, "userId", ZG_JSON_REQUIRED, 1,
	    ZG_USER_MAX - 1, &user, NULL, em)) != ZG_OK ||
	    (err = zg_json_get_string(obj, "roleId", ZG_JSON_REQUIRED, 1,
	    ZG_AUTHZ_ROLE_MAX - 1, &role, NULL, em)) != ZG_OK ||
	    (err = zg_json_get_string(obj, "grantedBy", ZG_JSON_OPTIONAL, 1,
	    ZG_USER_MAX - 1, &by, NULL, em)) != ZG_OK ||
	    (err = get_time(obj, "grantedAt", &out->granted_at, em)) != ZG_OK ||
	    (err = get_time(obj, "expiresAt", &out->expires_at, em)) != ZG_OK)
		return err;
	if (!zg_user_id_valid(user)) {
		zg_quote_value(user, q, sizeof(q));
		return zg_fail(em, ZG_ERR_INVALID, "field \"userId\" must be 1 "
		    "to 128 characters of [A-Za-z0-9._@:+-]; got \"%s\"", q);
	}
	if (!zg_authz_role_name_valid(role)) {
		zg_quote_value(role, q, sizeof(q));
		return zg_fail(em, ZG_ERR_INVALID, "field \"roleId\" must be a "
		    "role name of [A-Za-z0-9._-]; got \"%s\"", q);
	}
	snprintf(out->user_id, sizeof(out->user_id), "%s", user);
	snprintf(out->role_id, sizeof(out->role_id), "%s", role);
	snprintf(out->granted_by, sizeof(out->granted_by), "%s",
	    by != NULL ? by : "");
	return ZG_OK;
}

json_t *
zg_authz_grant_to_json(const zg_authz_grant *g)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "userId", g->user_id, "roleId",
	    g->role_id, "grantedBy", g->granted_by);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "grantedAt", zg_json_time(g->granted_at));
	json_object_set_new(o, "expiresAt", zg_json_time(g->expires_at));
	return o;
}

bool
zg_authz_grant_expired(const zg_authz_grant *g, int64_t now_us)
{
	return g->expires_at != 0 && g->expires_at <= now_us;
}
