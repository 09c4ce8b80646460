#include "authz/authz.h"

#include <string.h>

static bool
admin_only(const char *resource, const char *action)
{
	if (strcmp(resource, "sys") == 0)
		return true;
	if (strcmp(resource, "token") == 0 && strcmp(action, "create") == 0)
		return true;
	if (strcmp(resource, "user") == 0)
		return true;
	if (strcmp(resource, "audit") == 0 && strcmp(action, "record") != 0)
		return true;
	return false;
}

zg_err
zg_authz_check(const zg_principal *p, const char *resource,
    const char *action, const char *owner, zg_errmsg *em)
{
	if (p->admin)
		return ZG_OK;
	if (admin_only(resource, action))
		return zg_fail(em, ZG_ERR_FORBIDDEN,
		    "user %s may not %s %s: this needs an admin token",
		    p->user_id, action, resource);
	if (owner != NULL && strcmp(owner, p->user_id) != 0)
		return zg_fail(em, ZG_ERR_NOT_FOUND, "%s not found", resource);
	return ZG_OK;
}
