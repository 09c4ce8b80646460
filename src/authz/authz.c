/*
 * The server's authorizer: keeps the engine in step with the store and
 * turns a principal into the engine's subject.
 *
 * Staleness: the engine compares its version with the store's counter at
 * most every SYNC_INTERVAL_US per process, and at once after this
 * process wrote roles or grants. A change made by another process that
 * shares the store therefore takes effect within that interval.
 */
#include "authz/authz.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"

#define SYNC_INTERVAL_US (100 * 1000)
#define DEFAULT_ROLES_MAX 8
#define SEEDED_COUNTER "authz_seeded"

struct zg_authz {
	zg_store *st;
	zg_authz_engine *eng;
	char default_buf[512];
	const char *default_roles[DEFAULT_ROLES_MAX];
	size_t ndefault;
	pthread_mutex_t sync_lock;
	_Atomic int64_t next_sync_us;
};

/* The role every user has by default: full control of what it owns. */
static const char member_role_json[] =
    "{\"name\":\"member\",\"description\":\"Create credentials, keys and "
    "tokens, and use those one owns\",\"permissions\":["
    "{\"resource\":\"credentials\",\"actions\":[\"create\",\"list\"]},"
    "{\"resource\":\"credentials/*\",\"actions\":[\"*\"],"
    "\"conditions\":[\"resource.ownerId == subject.id\"]},"
    "{\"resource\":\"leases\",\"actions\":[\"redeem\"]},"
    "{\"resource\":\"keys\",\"actions\":[\"create\",\"list\",\"import\"]},"
    "{\"resource\":\"keys/**\",\"actions\":[\"*\"],"
    "\"conditions\":[\"resource.ownerId == subject.id\"]},"
    "{\"resource\":\"tokens\",\"actions\":[\"create\"]},"
    "{\"resource\":\"users/*/tokens\",\"actions\":[\"create\"],"
    "\"conditions\":[\"resource.ownerId == subject.id\"]},"
    "{\"resource\":\"tokens/*\",\"actions\":[\"revoke\"],"
    "\"conditions\":[\"resource.ownerId == subject.id\"]},"
    "{\"resource\":\"users/*/roles\",\"actions\":[\"list\"],"
    "\"conditions\":[\"resource.ownerId == subject.id\"]},"
    "{\"resource\":\"policies/transactions\",\"actions\":"
    "[\"evaluate\"]},"
    "{\"resource\":\"tx-requests/*\",\"actions\":[\"read\","
    "\"release\"],\"conditions\":[\"resource.ownerId == subject.id\"]},"
    "{\"resource\":\"audit/events\",\"actions\":[\"record\"]}]}";

/* Adds an op that stores role as an object to the batch. */
static zg_err
role_row(const zg_authz_role *role, int64_t now, zg_obj_row *row)
{
	json_t *j = zg_authz_role_to_json(role);
	memset(row, 0, sizeof(*row));
	if (j == NULL)
		return ZG_ERR_NOMEM;
	snprintf(row->kind, sizeof(row->kind), "%s", ZG_AUTHZ_KIND_ROLE);
	snprintf(row->id, sizeof(row->id), "%s", role->name);
	row->body_json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	row->created_at = row->updated_at = now;
	return row->body_json ? ZG_OK : ZG_ERR_NOMEM;
}

/*
 * Stores the built-in roles, the member role and the bootstrap admin's
 * grant once per data directory. Roles that already exist (a data
 * directory where someone extended them) are left as they are.
 */
static zg_err
seed(zg_authz *a, zg_errmsg *em)
{
	zg_authz_role *roles = NULL, member;
	size_t nroles = 0;
	zg_obj_row rows[8];
	size_t nrows = 0;
	zg_authz_grant g;
	json_t *mj = NULL;
	int64_t seeded, now = zg_time_now_us();
	zg_err err;

	memset(&member, 0, sizeof(member));
	memset(rows, 0, sizeof(rows));
	if ((err = a->st->ops->counter_add(a->st, SEEDED_COUNTER, 0,
	    &seeded)) != ZG_OK || seeded > 0)
		return err;
	if ((err = zg_authz_builtin_roles(&roles, &nroles)) != ZG_OK)
		goto out;
	if ((mj = json_loads(member_role_json, 0, NULL)) == NULL) {
		err = ZG_ERR_INTERNAL;
		goto out;
	}
	if ((err = zg_authz_role_from_json(mj, &member, em)) != ZG_OK)
		goto out;
	for (size_t i = 0; i < nroles && nrows < 6; i++)
		if ((err = role_row(&roles[i], now, &rows[nrows++])) != ZG_OK)
			goto out;
	if ((err = role_row(&member, now, &rows[nrows++])) != ZG_OK)
		goto out;
	memset(&g, 0, sizeof(g));
	snprintf(g.user_id, sizeof(g.user_id), "%s", ZG_BOOTSTRAP_USER);
	snprintf(g.role_id, sizeof(g.role_id), "admin");
	snprintf(g.granted_by, sizeof(g.granted_by), "zguard");
	g.granted_at = now;
	json_t *gj = zg_authz_grant_to_json(&g);
	zg_obj_row *gr = &rows[nrows++];
	snprintf(gr->kind, sizeof(gr->kind), "%s", ZG_AUTHZ_KIND_GRANT);
	zg_authz_grant_id(&g, gr->id, sizeof(gr->id));
	snprintf(gr->owner, sizeof(gr->owner), "%s", g.user_id);
	gr->body_json = gj ? json_dumps(gj, JSON_COMPACT | JSON_SORT_KEYS) :
	    NULL;
	json_decref(gj);
	gr->created_at = gr->updated_at = now;
	if (gr->body_json == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}

	zg_obj_op ops[10];
	size_t nops = 0;
	for (size_t i = 0; i < nrows; i++)
		ops[nops++] = (zg_obj_op){ZG_OBJ_PUT, &rows[i], ZG_REV_ANY, 0};
	zg_obj_row v, s;
	memset(&v, 0, sizeof(v));
	memset(&s, 0, sizeof(s));
	snprintf(v.id, sizeof(v.id), "%s", ZG_AUTHZ_VERSION_COUNTER);
	snprintf(s.id, sizeof(s.id), "%s", SEEDED_COUNTER);
	ops[nops++] = (zg_obj_op){ZG_OBJ_COUNTER, &v, 0, 1};
	ops[nops++] = (zg_obj_op){ZG_OBJ_COUNTER, &s, 0, 1};
	if ((err = a->st->ops->obj_apply(a->st, ops, nops, NULL)) != ZG_OK)
		goto out;
	zg_log_info("stored the built-in roles and granted admin to the "
	    "bootstrap user", ZGF_S("user_id", ZG_BOOTSTRAP_USER));
out:
	for (size_t i = 0; i < nrows; i++)
		zg_json_free_text(rows[i].body_json);
	json_decref(mj);
	zg_authz_role_free(&member);
	zg_authz_roles_free(roles, nroles);
	return err;
}

zg_err
zg_authz_open(zg_store *st, const char *default_roles, zg_authz **out,
    zg_errmsg *em)
{
	zg_authz *a = calloc(1, sizeof(*a));
	zg_err err;

	*out = NULL;
	if (a == NULL)
		return ZG_ERR_NOMEM;
	a->st = st;
	pthread_mutex_init(&a->sync_lock, NULL);
	if ((a->eng = zg_authz_engine_new()) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	snprintf(a->default_buf, sizeof(a->default_buf), "%s",
	    default_roles ? default_roles : "");
	for (char *p = a->default_buf, *save = NULL, *tok;
	    (tok = strtok_r(p, ", ", &save)) != NULL; p = NULL) {
		if (!zg_authz_role_name_valid(tok) ||
		    a->ndefault == DEFAULT_ROLES_MAX) {
			err = zg_fail(em, ZG_ERR_CONFIG, "invalid default role "
			    "\"%s\" in [authz] default_roles (at most %d role "
			    "names)", tok, DEFAULT_ROLES_MAX);
			goto out;
		}
		a->default_roles[a->ndefault++] = tok;
	}
	if ((err = seed(a, em)) != ZG_OK)
		goto out;
	if ((err = zg_authz_engine_sync(a->eng, st, em)) != ZG_OK)
		goto out;
	*out = a;
	a = NULL;
out:
	zg_authz_close(a);
	return err;
}

void
zg_authz_close(zg_authz *a)
{
	if (a == NULL)
		return;
	zg_authz_engine_free(a->eng);
	pthread_mutex_destroy(&a->sync_lock);
	free(a);
}

static zg_err
maybe_sync(zg_authz *a, bool force, zg_errmsg *em)
{
	int64_t now = zg_time_now_us();
	zg_err err = ZG_OK;
	if (!force && now < atomic_load(&a->next_sync_us))
		return ZG_OK;
	pthread_mutex_lock(&a->sync_lock);
	if (force || now >= atomic_load(&a->next_sync_us)) {
		err = zg_authz_engine_sync(a->eng, a->st, em);
		if (err == ZG_OK)
			atomic_store(&a->next_sync_us, now + SYNC_INTERVAL_US);
	}
	pthread_mutex_unlock(&a->sync_lock);
	if (err != ZG_OK)
		zg_log_error("reloading roles and grants failed", ZGF_ERR(err));
	return err;
}

zg_authz_engine *
zg_authz_engine_of(zg_authz *a, zg_errmsg *em)
{
	return maybe_sync(a, false, em) == ZG_OK ? a->eng : NULL;
}

/* Parses a token's stored scope into permissions. */
static zg_err
parse_scope(const char *text, zg_authz_perm **perms, size_t *n,
    zg_errmsg *em)
{
	json_t *arr = json_loads(text, 0, NULL);
	zg_err err = ZG_OK;
	size_t i;

	*perms = NULL;
	*n = 0;
	if (!json_is_array(arr)) {
		err = ZG_ERR_INTEGRITY;
		goto out;
	}
	if ((*perms = calloc(json_array_size(arr) + 1, sizeof(**perms))) ==
	    NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		char field[32];
		snprintf(field, sizeof(field), "scope[%zu]", i);
		if ((err = zg_authz_perm_from_json(json_array_get(arr, i), field,
		    &(*perms)[i], em)) != ZG_OK) {
			err = ZG_ERR_INTEGRITY;
			break;
		}
		(*n)++;
	}
out:
	json_decref(arr);
	if (err == ZG_ERR_INTEGRITY)
		zg_log_error("a stored token scope does not parse");
	return err;
}

zg_err
zg_authz_check(zg_authz *a, const zg_principal *p, const char *client_ip,
    const char *resource_path, const char *action,
    const zg_authz_context *ctx, zg_authz_decision *dec, zg_errmsg *em)
{
	const char *extra[DEFAULT_ROLES_MAX + ZG_PRINCIPAL_ROLES_MAX];
	zg_authz_perm *scope = NULL;
	size_t nscope = 0, nextra = 0;
	zg_err err;

	memset(dec, 0, sizeof(*dec));
	if ((err = maybe_sync(a, false, em)) != ZG_OK)
		return err;
	/* Service accounts hold only the roles granted to them. */
	if (strcmp(p->subject_type, "service_account") != 0)
		for (size_t i = 0; i < a->ndefault; i++)
			extra[nextra++] = a->default_roles[i];
	for (unsigned i = 0; i < p->nroles; i++)
		extra[nextra++] = p->roles[i];
	zg_authz_subject s = {
		.id = p->user_id,
		.type = p->subject_type[0] ? p->subject_type : "user",
		.auth_method = p->auth_method[0] ? p->auth_method : "token",
		.mfa = p->mfa,
		.ip = client_ip,
		.extra_roles = extra,
		.nextra_roles = nextra,
	};
	if (p->scope != NULL) {
		if ((err = parse_scope(p->scope, &scope, &nscope, em)) != ZG_OK)
			return err;
		s.scope = scope;
		s.nscope = nscope;
	}
	err = zg_authz_decide(a->eng, &s, resource_path, action, ctx,
	    zg_time_now_us(), dec, em);
	for (size_t i = 0; i < nscope; i++)
		zg_authz_perm_free(&scope[i]);
	free(scope);
	return err;
}

zg_err
zg_authz_denied(const zg_principal *p, const char *resource_path,
    const char *action, const zg_authz_decision *dec, bool hide,
    zg_errmsg *em)
{
	if (hide)
		return zg_fail(em, ZG_ERR_NOT_FOUND, "%s not found",
		    resource_path);
	return zg_fail(em, ZG_ERR_FORBIDDEN, "%s may not %s %s: %s",
	    p->user_id, action, resource_path, dec->reason);
}

zg_err
zg_authz_write(zg_authz *a, const zg_obj_op *ops, size_t n, zg_errmsg *em)
{
	zg_obj_op *all = calloc(n + 1, sizeof(*all));
	zg_obj_row v;
	size_t failed = 0;
	zg_err err;

	if (all == NULL)
		return ZG_ERR_NOMEM;
	memcpy(all, ops, n * sizeof(*ops));
	memset(&v, 0, sizeof(v));
	snprintf(v.id, sizeof(v.id), "%s", ZG_AUTHZ_VERSION_COUNTER);
	all[n] = (zg_obj_op){ZG_OBJ_COUNTER, &v, 0, 1};
	err = a->st->ops->obj_apply(a->st, all, n + 1, &failed);
	free(all);
	if (err != ZG_OK)
		return err;
	return maybe_sync(a, true, em);
}
