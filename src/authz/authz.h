/*
 * The one function that decides access. Every route is checked here before
 * its handler runs (owner NULL), and handlers call it again with the owner
 * once they have loaded the object.
 *
 * Current rules, until role-based access control replaces them:
 * - an admin principal may do everything;
 * - resource "sys" (seal, rotations), every action on "user", every
 *   action on "audit" except "record", and "create" on "token" are for
 *   admins only;
 * - any other action is allowed at route level, and on an object only to
 *   its owner (owner == principal's user id).
 */
#ifndef ZG_AUTHZ_AUTHZ_H
#define ZG_AUTHZ_AUTHZ_H

#include "authn/authn.h"
#include "base/errmsg.h"

/*
 * Returns ZG_OK to allow, ZG_ERR_FORBIDDEN at route level, and
 * ZG_ERR_NOT_FOUND for an object the principal does not own, so that a
 * caller cannot learn which ids exist.
 */
zg_err zg_authz_check(const zg_principal *p, const char *resource,
    const char *action, const char *owner, zg_errmsg *em);

#endif
