/*
 * The permission engine: decides whether a subject may perform an action
 * on a resource path, from roles and grants loaded into it.
 *
 * Rules: a subject's permissions are those of every role granted to it
 * that has not expired, and of every role those inherit, transitively.
 * A permission matches when its pattern matches the path, one of its
 * actions is the action or "*", and all of its conditions hold. An
 * explicit deny overrides every allow, and nothing matching means deny.
 * A subject that carries a scope (a token limited to some permissions) is
 * allowed only if its roles allow and the scope allows as well.
 *
 * Speed: the first decision for a principal flattens its roles into a
 * trie over pattern segments, and later decisions reuse it. A cached form
 * is rebuilt when the engine is loaded with a newer version or when one
 * of the grants it used expires.
 *
 * Threads: zg_authz_decide may run in any number of threads at once, also
 * while another thread loads or syncs the engine.
 */
#ifndef ZG_AUTHZ_ENGINE_H
#define ZG_AUTHZ_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz/model.h"
#include "base/errmsg.h"
#include "store/store.h"

/* Object kinds and the counter that zg_authz_engine_sync reads. A writer
 * of roles or grants adds 1 to the counter in the same obj_apply batch. */
#define ZG_AUTHZ_KIND_ROLE "authz_role"       /* id: the role name */
#define ZG_AUTHZ_KIND_GRANT "authz_grant"     /* id: zg_authz_grant_id */
#define ZG_AUTHZ_VERSION_COUNTER "authz_version"

/* The principal making the request. Strings are borrowed for one call. */
typedef struct zg_authz_subject {
	const char *id;             /* user or service account id */
	const char *type;           /* "user" or "service_account" */
	const char *auth_method;    /* "token", "oidc" or "magic" */
	bool mfa;
	const char *ip;             /* source address, IPv4 or IPv6 text */
	/* When scope != NULL, the token's permissions; conditions in it are
	 * checked like those of a role. NULL: the roles alone decide. */
	const zg_authz_perm *scope;
	size_t nscope;
	/* Roles held without a stored grant: those every principal gets by
	 * configuration and those an identity provider asserted. At most
	 * ZG_AUTHZ_EXTRA_MAX; further ones are ignored. */
	const char *const *extra_roles;
	size_t nextra_roles;
} zg_authz_subject;

#define ZG_AUTHZ_EXTRA_MAX 32

/* A name and value from the request's "context" object. */
typedef struct zg_authz_kv {
	const char *name;
	const char *value;
} zg_authz_kv;

/* Request attributes for conditions; every field may be NULL. */
typedef struct zg_authz_context {
	const char *resource_owner_id;
	const char *resource_type;
	const char *amount;         /* a non-negative decimal integer */
	const char *chain_id;
	const char *to;
	const zg_authz_kv *vars;    /* request.context.<name> */
	size_t nvars;
} zg_authz_context;

typedef struct zg_authz_decision {
	bool allowed;
	char reason[256];           /* one sentence */
	char matched_role[ZG_AUTHZ_ROLE_MAX];  /* "" when nothing matched */
	int matched_permission;     /* index in that role, -1 when none */
	char matched_resource[ZG_AUTHZ_PATTERN_MAX + 1];  /* its pattern */
} zg_authz_decision;

typedef struct zg_authz_engine zg_authz_engine;

/* Returns an empty engine (every decision is deny), or NULL without memory. */
zg_authz_engine *zg_authz_engine_new(void);
void zg_authz_engine_free(zg_authz_engine *e);

/*
 * Replaces the engine's roles and grants with deep copies of the given
 * arrays, built from store version `version`, and drops every cached
 * form. The roles must have passed zg_authz_roles_check; a grant naming a
 * missing role is ignored.
 */
zg_err zg_authz_engine_load(zg_authz_engine *e, const zg_authz_role *roles,
    size_t nroles, const zg_authz_grant *grants, size_t ngrants,
    int64_t version);

/* Returns the version of the last load, -1 before the first. */
int64_t zg_authz_engine_version(zg_authz_engine *e);

/*
 * Reads ZG_AUTHZ_VERSION_COUNTER from st and, when it is newer than the
 * engine's version, reloads every ZG_AUTHZ_KIND_ROLE and
 * ZG_AUTHZ_KIND_GRANT object. Processes sharing one store see each
 * other's changes through the counter. A stored object that does not
 * parse fails the sync with ZG_ERR_INTEGRITY and keeps the old state.
 */
zg_err zg_authz_engine_sync(zg_authz_engine *e, zg_store *st, zg_errmsg *em);

/*
 * Decides whether s may perform action on resource_path at now_us
 * (microseconds since the epoch). ctx may be NULL. Returns ZG_OK with the
 * decision in *out, or ZG_ERR_INVALID when the path or action is
 * malformed, or ZG_ERR_NOMEM. A denial is ZG_OK with out->allowed false.
 */
zg_err zg_authz_decide(zg_authz_engine *e, const zg_authz_subject *s,
    const char *resource_path, const char *action,
    const zg_authz_context *ctx, int64_t now_us, zg_authz_decision *out,
    zg_errmsg *em);

/* Writes the store id of a grant, "<userId>/<roleId>", into out. */
void zg_authz_grant_id(const zg_authz_grant *g, char *out, size_t outsz);

#endif
