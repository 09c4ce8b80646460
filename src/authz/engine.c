/*
 * The compiled form of one principal is a trie over resource pattern
 * segments. Each node has literal children sorted by segment (found by
 * binary search), at most one "*" child, at most one "**" child, and a
 * list of in-segment globs such as "cred*". The rules whose pattern ends
 * at a node hang there, in role order. A lookup walks the path's segments
 * and visits every node whose pattern can match, so its cost grows with
 * the path's depth and the wildcards on the way, not with the number of
 * rules. Building the trie is in engine_trie.c.
 *
 * Locking: one rwlock guards the roles, the grants and the cache. A
 * decision on a cached principal runs under the read lock. Building a
 * principal, loading and flushing take the write lock, so a reader never
 * sees a node being freed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/cond.h"
#include "authz/engine_internal.h"

/* NOTE: past this many cached principals the whole cache is dropped, so
 * busy principals are rebuilt too. An LRU policy would keep them. */
#define CACHE_MAX 16384
#define PATH_SEGMENTS_MAX (ZG_AUTHZ_PATTERN_MAX / 2 + 1)

static size_t
bucket_of(const char *id)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a, 64 bits */
	for (const unsigned char *s = (const unsigned char *)id; *s; s++)
		h = (h ^ *s) * 1099511628211ULL;
	return (size_t)(h % NBUCKETS);
}

static principal *
cache_get(zg_authz_engine *e, const char *id)
{
	for (principal *p = e->buckets[bucket_of(id)]; p != NULL; p = p->next)
		if (strcmp(p->id, id) == 0)
			return p;
	return NULL;
}

static void
cache_flush(zg_authz_engine *e)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		principal *p = e->buckets[b];
		while (p != NULL) {
			principal *next = p->next;
			zg_authz_principal_free(p);
			p = next;
		}
		e->buckets[b] = NULL;
	}
	e->ncached = 0;
}

/* Replaces the cached principal for p->id with p. Write lock held. */
static void
cache_put(zg_authz_engine *e, principal *p)
{
	principal **pp = &e->buckets[bucket_of(p->id)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, p->id) == 0) {
			principal *old = *pp;
			p->next = old->next;
			*pp = p;
			zg_authz_principal_free(old);
			return;
		}
	}
	if (e->ncached >= CACHE_MAX) {
		cache_flush(e);
		pp = &e->buckets[bucket_of(p->id)];
	}
	p->next = *pp;
	*pp = p;
	e->ncached++;
}

zg_authz_engine *
zg_authz_engine_new(void)
{
	zg_authz_engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	if (pthread_rwlock_init(&e->lock, NULL) != 0) {
		free(e);
		return NULL;
	}
	e->version = -1;
	return e;
}

static void
state_free(zg_authz_engine *e)
{
	cache_flush(e);
	zg_authz_roles_free(e->roles, e->nroles);
	free(e->grants);
	e->roles = NULL;
	e->grants = NULL;
	e->nroles = e->ngrants = 0;
}

void
zg_authz_engine_free(zg_authz_engine *e)
{
	if (e == NULL)
		return;
	state_free(e);
	pthread_rwlock_destroy(&e->lock);
	free(e);
}

static int
role_by_name(const void *a, const void *b)
{
	return strcmp(((const zg_authz_role *)a)->name,
	    ((const zg_authz_role *)b)->name);
}

static int
grant_by_user(const void *a, const void *b)
{
	return strcmp(((const zg_authz_grant *)a)->user_id,
	    ((const zg_authz_grant *)b)->user_id);
}

zg_err
zg_authz_engine_load(zg_authz_engine *e, const zg_authz_role *roles,
    size_t nroles, const zg_authz_grant *grants, size_t ngrants,
    int64_t version)
{
	zg_authz_role *r = calloc(nroles + 1, sizeof(*r));
	zg_authz_grant *g = malloc((ngrants + 1) * sizeof(*g));
	size_t i = 0;
	if (r == NULL || g == NULL)
		goto fail;
	for (; i < nroles; i++)
		if (zg_authz_role_copy(&r[i], &roles[i]) != ZG_OK)
			goto fail;
	if (ngrants > 0)
		memcpy(g, grants, ngrants * sizeof(*g));
	qsort(r, nroles, sizeof(*r), role_by_name);
	qsort(g, ngrants, sizeof(*g), grant_by_user);

	pthread_rwlock_wrlock(&e->lock);
	state_free(e);
	e->roles = r;
	e->nroles = nroles;
	e->grants = g;
	e->ngrants = ngrants;
	e->version = version;
	pthread_rwlock_unlock(&e->lock);
	return ZG_OK;
fail:
	zg_authz_roles_free(r, i);
	free(g);
	return ZG_ERR_NOMEM;
}

int64_t
zg_authz_engine_version(zg_authz_engine *e)
{
	pthread_rwlock_rdlock(&e->lock);
	int64_t v = e->version;
	pthread_rwlock_unlock(&e->lock);
	return v;
}

void
zg_authz_grant_id(const zg_authz_grant *g, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", g->user_id, g->role_id);
}

/* The state of one decision's walk through a principal's trie. */
typedef struct walk {
	const zg_authz_request *req;
	const char *action;
	const char *seg[PATH_SEGMENTS_MAX];
	size_t len[PATH_SEGMENTS_MAX];
	size_t nseg;
	const rule *allow, *deny;
} walk;

static bool
rule_applies(const walk *w, const rule *r)
{
	const zg_authz_perm *p = r->perm;
	size_t k = 0;
	while (k < p->nactions && strcmp(p->actions[k], "*") != 0 &&
	    strcmp(p->actions[k], w->action) != 0)
		k++;
	if (k == p->nactions)
		return false;
	for (size_t c = 0; c < p->nconds; c++)
		if (!zg_authz_cond_holds(&p->conds[c], w->req))
			return false;
	return true;
}

/* Visits node n with segments i and later left, and stops once a deny
 * applies. */
static void
walk_node(walk *w, const node *n, size_t i)
{
	if (w->deny != NULL)
		return;
	if (n->globstar != NULL)
		for (size_t j = i; j <= w->nseg && w->deny == NULL; j++)
			walk_node(w, n->globstar, j);
	if (i == w->nseg) {
		for (size_t k = 0; k < n->nrules && w->deny == NULL; k++) {
			const rule *r = &n->rules[k];
			if (!rule_applies(w, r))
				continue;
			if (r->perm->effect == ZG_AUTHZ_DENY)
				w->deny = r;
			else if (w->allow == NULL)
				w->allow = r;
		}
		return;
	}
	const char *s = w->seg[i];
	size_t len = w->len[i];
	size_t lo = 0, hi = n->nlits;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = zg_authz_lit_cmp(n->lits[mid].seg, s, len);
		if (c == 0) {
			walk_node(w, n->lits[mid].node, i + 1);
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (n->star != NULL)
		walk_node(w, n->star, i + 1);
	for (size_t g = 0; g < n->nglobs; g++) {
		char tmp[ZG_AUTHZ_PATTERN_MAX + 1];
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		if (zg_authz_pattern_match(n->globs[g].seg, tmp))
			walk_node(w, n->globs[g].node, i + 1);
	}
}

/* True if the scope allows the request: some allow applies, no deny. */
static bool
scope_allows(const zg_authz_subject *s, const walk *w, const char *path)
{
	bool allowed = false;
	for (size_t i = 0; i < s->nscope; i++) {
		const zg_authz_perm *p = &s->scope[i];
		rule r = {p, "", (int)i};
		if (!zg_authz_pattern_match(p->resource, path) ||
		    !rule_applies(w, &r))
			continue;
		if (p->effect == ZG_AUTHZ_DENY)
			return false;
		allowed = true;
	}
	return allowed;
}

static void
decide_from(const walk *w, const zg_authz_subject *s, const char *path,
    zg_authz_decision *out)
{
	const rule *r = w->deny != NULL ? w->deny : w->allow;
	if (r != NULL) {
		snprintf(out->matched_role, sizeof(out->matched_role), "%s",
		    r->role);
		out->matched_permission = r->index;
		snprintf(out->matched_resource, sizeof(out->matched_resource),
		    "%s", r->perm->resource);
	}
	if (w->deny != NULL) {
		snprintf(out->reason, sizeof(out->reason), "Denied by a deny "
		    "permission of role %s on \"%s\".", r->role,
		    r->perm->resource);
		return;
	}
	if (w->allow == NULL) {
		snprintf(out->reason, sizeof(out->reason), "No permission of "
		    "the roles granted to %s allows %s on this resource.",
		    s->id, w->action);
		return;
	}
	if (s->scope != NULL && !scope_allows(s, w, path)) {
		snprintf(out->reason, sizeof(out->reason), "Role %s allows it, "
		    "but the token's scope does not include %s on this "
		    "resource.", r->role, w->action);
		return;
	}
	out->allowed = true;
	snprintf(out->reason, sizeof(out->reason), "Allowed by role %s on "
	    "\"%s\".", r->role, r->perm->resource);
}

zg_err
zg_authz_decide(zg_authz_engine *e, const zg_authz_subject *s,
    const char *resource_path, const char *action,
    const zg_authz_context *ctx, int64_t now_us, zg_authz_decision *out,
    zg_errmsg *em)
{
	static const zg_authz_context no_context;
	zg_err err;
	memset(out, 0, sizeof(*out));
	out->matched_permission = -1;
	if ((err = zg_authz_pattern_check(resource_path, false, "resource",
	    em)) != ZG_OK)
		return err;
	if (!zg_authz_action_valid(action, false)) {
		char q[ZG_QUOTE_MAX];
		zg_quote_value(action, q, sizeof(q));
		return zg_fail(em, ZG_ERR_INVALID, "field \"action\" must be "
		    "[a-z_]+ such as \"read\"; got \"%s\"", q);
	}

	zg_authz_request req = {s, resource_path, ctx ? ctx : &no_context,
	    now_us};
	walk w = {.req = &req, .action = action};
	for (const char *p = resource_path;; ) {
		const char *end = strchrnul(p, '/');
		w.seg[w.nseg] = p;
		w.len[w.nseg++] = end - p;
		if (*end == '\0')
			break;
		p = end + 1;
	}

	char keybuf[KEY_MAX];
	const char *key = s->id;
	if (s->nextra_roles > 0) {
		size_t n = (size_t)snprintf(keybuf, sizeof(keybuf), "%s\n", s->id);
		for (size_t i = 0; i < s->nextra_roles && i < ZG_AUTHZ_EXTRA_MAX &&
		    n < sizeof(keybuf); i++)
			n += (size_t)snprintf(keybuf + n, sizeof(keybuf) - n, "%s%s",
			    i ? "," : "", s->extra_roles[i]);
		key = keybuf;
	}

	pthread_rwlock_rdlock(&e->lock);
	principal *p = cache_get(e, key);
	if (p == NULL || now_us >= p->valid_until) {
		/* Build under the write lock; another thread may have built
		 * it meanwhile, so look again. */
		pthread_rwlock_unlock(&e->lock);
		pthread_rwlock_wrlock(&e->lock);
		p = cache_get(e, key);
		if (p == NULL || now_us >= p->valid_until) {
			if ((p = zg_authz_principal_build(e, key, s->id, s,
			    now_us)) == NULL) {
				pthread_rwlock_unlock(&e->lock);
				return zg_fail(em, ZG_ERR_NOMEM, "out of memory "
				    "while compiling the roles of %s", s->id);
			}
			cache_put(e, p);
		}
	}
	walk_node(&w, p->root, 0);
	decide_from(&w, s, resource_path, out);
	pthread_rwlock_unlock(&e->lock);
	return ZG_OK;
}
