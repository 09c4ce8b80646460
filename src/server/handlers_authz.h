/* Helpers shared by the role, grant and service account handlers. */
#ifndef ZG_SERVER_HANDLERS_AUTHZ_H
#define ZG_SERVER_HANDLERS_AUTHZ_H

#include "authz/model.h"
#include "server/server.h"

/*
 * Loads every stored role. rows_out, when not NULL, receives the stored
 * objects too (free with zg_obj_rows_free). ZG_ERR_INTEGRITY if a stored
 * role does not parse.
 */
zg_err zg_authz_load_roles(zg_app *app, zg_authz_role **roles, size_t *n,
    zg_obj_row **rows_out, size_t *nrows_out, zg_errmsg *em);

#endif
