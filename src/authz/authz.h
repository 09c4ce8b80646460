/*
 * Authorization for the server: the permission engine (engine.h) fed
 * from the store, with the roles every principal is given by configuration
 * and the roles an identity provider asserts.
 *
 * Every route is checked here before its handler runs, with the route's
 * resource path and action and, for objects with an owner, the owner as
 * resource.ownerId. A handler that acts on further resources (a token for
 * another user, for example) calls zg_authz_check again.
 *
 * At the first start of a data directory (and of one made before roles
 * existed) zg_authz_open stores the built-in roles admin,
 * workflow_manager and viewer, a role "member" that lets a user manage
 * what it owns, and grants admin to the bootstrap user.
 */
#ifndef ZG_AUTHZ_AUTHZ_H
#define ZG_AUTHZ_AUTHZ_H

#include "authn/authn.h"
#include "authz/engine.h"
#include "base/errmsg.h"
#include "store/store.h"

#define ZG_MEMBER_ROLE "member"

typedef struct zg_authz zg_authz;

/*
 * Opens the authorizer over st. default_roles is a comma-separated list
 * of role names that every principal has without a grant ("" for none).
 */
zg_err zg_authz_open(zg_store *st, const char *default_roles, zg_authz **out,
    zg_errmsg *em);
void zg_authz_close(zg_authz *a);

/* The engine, synced with the store first; for routes that decide for
 * other users (POST /v1/authz/check). */
zg_authz_engine *zg_authz_engine_of(zg_authz *a, zg_errmsg *em);

/*
 * Decides for principal p from client_ip. ctx may be NULL. On ZG_OK,
 * *dec records whether it is allowed, and the caller turns a denial into an
 * error with zg_authz_denied. Fails only when the decision cannot be
 * made (store or memory errors, a stored scope that does not parse).
 */
zg_err zg_authz_check(zg_authz *a, const zg_principal *p,
    const char *client_ip, const char *resource_path, const char *action,
    const zg_authz_context *ctx, zg_authz_decision *dec, zg_errmsg *em);

/*
 * The error for a denied decision: ZG_ERR_NOT_FOUND when hide is true
 * (the caller may not learn that the object exists), otherwise
 * ZG_ERR_FORBIDDEN naming the principal, action and resource.
 */
zg_err zg_authz_denied(const zg_principal *p, const char *resource_path,
    const char *action, const zg_authz_decision *dec, bool hide,
    zg_errmsg *em);

/* Stores a role, grant or deletion with the version bump in one batch. */
zg_err zg_authz_write(zg_authz *a, const zg_obj_op *ops, size_t n,
    zg_errmsg *em);

#endif
