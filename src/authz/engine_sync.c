/* Reloading the engine from the store when the version counter moves. */
#include <stdlib.h>
#include <string.h>

#include "authz/engine.h"

#define PAGE 1000

/* Parses every object of kind through parse, page by page. */
static zg_err
load_kind(zg_store *st, const char *kind, size_t elem_size,
    zg_err (*parse)(const json_t *, void *, zg_errmsg *),
    void (*clear)(void *), void **out, size_t *nout, zg_errmsg *em)
{
	char after[ZG_OBJ_ID_MAX] = "";
	unsigned char *arr = NULL;
	size_t n = 0, cap = 0;
	zg_err err;
	for (;;) {
		zg_obj_row *rows = NULL;
		size_t nrows = 0;
		if ((err = st->ops->obj_list(st, kind, NULL, NULL, after, PAGE,
		    &rows, &nrows)) != ZG_OK) {
			zg_fail(em, err, "reading %s objects failed", kind);
			goto out;
		}
		for (size_t i = 0; i < nrows; i++) {
			if (n == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				void *p = realloc(arr, cap * elem_size);
				if (p == NULL) {
					err = zg_fail(em, ZG_ERR_NOMEM, "out of memory");
					zg_obj_rows_free(rows, nrows);
					goto out;
				}
				arr = p;
			}
			json_t *j = json_loads(rows[i].body_json, 0, NULL);
			zg_errmsg pem;
			err = j == NULL ? ZG_ERR_BAD_JSON :
			    parse(j, arr + n * elem_size, &pem);
			json_decref(j);
			if (err != ZG_OK) {
				err = zg_fail(em, ZG_ERR_INTEGRITY, "stored %s \"%s\" "
				    "is not valid: %s", kind, rows[i].id,
				    j == NULL ? "not JSON" : pem.text);
				zg_obj_rows_free(rows, nrows);
				goto out;
			}
			n++;
		}
		if (nrows > 0)
			memcpy(after, rows[nrows - 1].id, sizeof(after));
		zg_obj_rows_free(rows, nrows);
		if (nrows < PAGE)
			break;
	}
	/* success */
	*out = arr;
	*nout = n;
	arr = NULL;
	err = ZG_OK;
out:
	for (size_t i = 0; arr != NULL && i < n; i++)
		clear(arr + i * elem_size);
	free(arr);
	return err;
}

static zg_err
parse_role(const json_t *j, void *out, zg_errmsg *em)
{
	return zg_authz_role_from_json(j, out, em);
}

static void
clear_role(void *r)
{
	zg_authz_role_free(r);
}

static zg_err
parse_grant(const json_t *j, void *out, zg_errmsg *em)
{
	return zg_authz_grant_from_json(j, out, em);
}

static void
clear_grant(void *g)
{
}

zg_err
zg_authz_engine_sync(zg_authz_engine *e, zg_store *st, zg_errmsg *em)
{
	zg_authz_role *roles = NULL;
	zg_authz_grant *grants = NULL;
	size_t nroles = 0, ngrants = 0;
	int64_t stored;
	zg_err err;
	if ((err = st->ops->counter_add(st, ZG_AUTHZ_VERSION_COUNTER, 0,
	    &stored)) != ZG_OK)
		return zg_fail(em, err, "reading counter %s failed",
		    ZG_AUTHZ_VERSION_COUNTER);
	if (stored <= zg_authz_engine_version(e))
		return ZG_OK;
	/* A write that lands after the counter was read is loaded now or by
	 * the next sync, because its writer bumps the counter again. */
	if ((err = load_kind(st, ZG_AUTHZ_KIND_ROLE, sizeof(*roles),
	    parse_role, clear_role, (void **)&roles, &nroles, em)) != ZG_OK)
		goto out;
	if ((err = load_kind(st, ZG_AUTHZ_KIND_GRANT, sizeof(*grants),
	    parse_grant, clear_grant, (void **)&grants, &ngrants, em)) != ZG_OK)
		goto out;
	zg_errmsg check;
	if (zg_authz_roles_check(roles, nroles, &check) != ZG_OK) {
		err = zg_fail(em, ZG_ERR_INTEGRITY, "stored roles are not "
		    "consistent: %s", check.text);
		goto out;
	}
	if ((err = zg_authz_engine_load(e, roles, nroles, grants, ngrants,
	    stored)) != ZG_OK)
		zg_fail(em, err, "out of memory while loading roles");
out:
	zg_authz_roles_free(roles, nroles);
	free(grants);
	return err;
}
