/* Checks on sets of roles (inheritance), and the built-in roles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/model.h"

static const char *const builtin_json[] = {
	"{\"name\": \"admin\", \"description\": \"Every action on every "
	"resource.\", \"permissions\": [{\"resource\": \"**\", "
	"\"actions\": [\"*\"]}]}",

	"{\"name\": \"workflow_manager\", \"description\": \"Creates, reads, "
	"updates and deletes workflows; reads and triggers their "
	"executions.\", \"permissions\": ["
	"{\"resource\": \"workflows\", \"actions\": [\"create\", \"read\", "
	"\"update\", \"delete\"]},"
	"{\"resource\": \"workflows/*\", \"actions\": [\"create\", \"read\", "
	"\"update\", \"delete\"]},"
	"{\"resource\": \"workflows/*/executions/**\", \"actions\": "
	"[\"read\", \"trigger\"]}]}",

	"{\"name\": \"viewer\", \"description\": \"Reads workflows and their "
	"executions.\", \"permissions\": ["
	"{\"resource\": \"workflows\", \"actions\": [\"read\"]},"
	"{\"resource\": \"workflows/*\", \"actions\": [\"read\"]},"
	"{\"resource\": \"workflows/*/executions/**\", \"actions\": "
	"[\"read\"]}]}",
};

#define NBUILTIN (sizeof(builtin_json) / sizeof(builtin_json[0]))

zg_err
zg_authz_builtin_roles(zg_authz_role **out, size_t *n)
{
	zg_authz_role *roles = calloc(NBUILTIN, sizeof(*roles));
	zg_err err = ZG_ERR_NOMEM;
	size_t i;
	*out = NULL;
	*n = 0;
	if (roles == NULL)
		return err;
	for (i = 0; i < NBUILTIN; i++) {
		json_t *j = json_loads(builtin_json[i], 0, NULL);
		if (j == NULL)
			goto out;
		err = zg_authz_role_from_json(j, &roles[i], NULL);
		json_decref(j);
		if (err != ZG_OK)
			goto out;
	}
	/* success */
	*out = roles;
	*n = NBUILTIN;
	roles = NULL;
	err = ZG_OK;
out:
	zg_authz_roles_free(roles, i);
	return err;
}

bool
zg_authz_role_is_builtin(const char *name)
{
	return strcmp(name, "admin") == 0 ||
	    strcmp(name, "workflow_manager") == 0 || strcmp(name, "viewer") == 0;
}

static bool
has_action(const zg_authz_perm *p, const char *action)
{
	for (size_t i = 0; i < p->nactions; i++)
		if (strcmp(p->actions[i], action) == 0)
			return true;
	return false;
}

/* True if some permission of role grants at least what want grants. */
static bool
covers(const zg_authz_role *role, const zg_authz_perm *want)
{
	for (size_t i = 0; i < role->nperms; i++) {
		const zg_authz_perm *p = &role->perms[i];
		if (p->effect != ZG_AUTHZ_ALLOW || p->nconds != 0 ||
		    strcmp(p->resource, want->resource) != 0)
			continue;
		size_t k = 0;
		while (k < want->nactions && has_action(p, want->actions[k]))
			k++;
		if (k == want->nactions)
			return true;
	}
	return false;
}

zg_err
zg_authz_role_check_update(const zg_authz_role *updated, zg_errmsg *em)
{
	zg_authz_role *builtins;
	size_t n;
	zg_err err;
	if (!zg_authz_role_is_builtin(updated->name))
		return ZG_OK;
	if ((err = zg_authz_builtin_roles(&builtins, &n)) != ZG_OK)
		return zg_fail(em, err, "out of memory");
	for (size_t i = 0; i < n && err == ZG_OK; i++) {
		if (strcmp(builtins[i].name, updated->name) != 0)
			continue;
		for (size_t k = 0; k < builtins[i].nperms; k++) {
			const zg_authz_perm *p = &builtins[i].perms[k];
			if (!covers(updated, p)) {
				err = zg_fail(em, ZG_ERR_FORBIDDEN, "built-in role "
				    "\"%s\" can be extended but must keep its "
				    "permission on \"%s\"; add it back",
				    updated->name, p->resource);
				break;
			}
		}
	}
	zg_authz_roles_free(builtins, n);
	return err;
}

/* Depth-first search state for the cycle check. */
typedef struct walk {
	const zg_authz_role *roles;
	size_t n;
	size_t *order;            /* role indices sorted by name */
	unsigned char *color;     /* 0 unvisited, 1 on the stack, 2 done */
	size_t *stack;
	size_t depth;
} walk;

static int
by_name(const void *a, const void *b, void *roles)
{
	const zg_authz_role *r = roles;
	return strcmp(r[*(const size_t *)a].name, r[*(const size_t *)b].name);
}

static size_t
find_role(const walk *w, const char *name)
{
	size_t lo = 0, hi = w->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(w->roles[w->order[mid]].name, name);
		if (c == 0)
			return w->order[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (size_t)-1;
}

static zg_err
report_cycle(const walk *w, size_t again, zg_errmsg *em)
{
	char msg[256];
	size_t start = 0, len = 0;
	while (w->stack[start] != again)
		start++;
	for (size_t i = start; i <= w->depth; i++) {
		const char *name = w->roles[i < w->depth ? w->stack[i] : again].name;
		int k = snprintf(msg + len, sizeof(msg) - len, "%s%s",
		    i > start ? " -> " : "", name);
		if (k < 0 || (size_t)k >= sizeof(msg) - len) {
			snprintf(msg + sizeof(msg) - 4, 4, "...");
			break;
		}
		len += k;
	}
	return zg_fail(em, ZG_ERR_INVALID, "inheritance cycle: %s; remove "
	    "one of these inherits", msg);
}

/* NOTE: the recursion is as deep as the longest inheritance chain, so a
 * chain of many thousands of roles could exhaust the thread's stack. */
static zg_err
visit(walk *w, size_t i, zg_errmsg *em)
{
	zg_err err;
	w->color[i] = 1;
	w->stack[w->depth++] = i;
	const zg_authz_role *r = &w->roles[i];
	for (size_t k = 0; k < r->ninherits; k++) {
		size_t j = find_role(w, r->inherits[k]);
		if (j == (size_t)-1)
			return zg_fail(em, ZG_ERR_INVALID, "role \"%s\" inherits "
			    "unknown role \"%s\"; create it first", r->name,
			    r->inherits[k]);
		if (w->color[j] == 1)
			return report_cycle(w, j, em);
		if (w->color[j] == 0 && (err = visit(w, j, em)) != ZG_OK)
			return err;
	}
	w->depth--;
	w->color[i] = 2;
	return ZG_OK;
}

zg_err
zg_authz_roles_check(const zg_authz_role *roles, size_t n, zg_errmsg *em)
{
	walk w = {.roles = roles, .n = n};
	zg_err err = ZG_ERR_NOMEM;
	w.order = calloc(n + 1, sizeof(size_t));
	w.color = calloc(n + 1, 1);
	w.stack = calloc(n + 1, sizeof(size_t));
	if (w.order == NULL || w.color == NULL || w.stack == NULL) {
		zg_fail(em, err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		w.order[i] = i;
	qsort_r(w.order, n, sizeof(size_t), by_name, (void *)roles);
	for (size_t i = 0; i + 1 < n; i++) {
		if (strcmp(roles[w.order[i]].name, roles[w.order[i + 1]].name) ==
		    0) {
			err = zg_fail(em, ZG_ERR_CONFLICT, "role \"%s\" is "
			    "defined twice", roles[w.order[i]].name);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (w.color[i] == 0 && (err = visit(&w, i, em)) != ZG_OK)
			goto out;
	}
	/* success */
	err = ZG_OK;
out:
	free(w.order);
	free(w.color);
	free(w.stack);
	return err;
}
