/*
 * The compiled form of one principal is a trie over resource pattern
 * segments. Each node has literal children sorted by segment (found by
 * binary search), at most one "*" child, at most one "**" child, and a
 * list of in-segment globs such as "cred*". The rules whose pattern ends
 * at a node hang there, in role order. A lookup walks the path's segments
 * and visits every node whose pattern can match, so its cost grows with
 * the path's depth and the wildcards on the way, not with the number of
 * rules.
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
#include "authz/engine.h"

#define NBUCKETS 4096
/* NOTE: past this many cached principals the whole cache is dropped, so
 * busy principals are rebuilt too. An LRU policy would keep them. */
#define CACHE_MAX 16384
#define PATH_SEGMENTS_MAX (ZG_AUTHZ_PATTERN_MAX / 2 + 1)

typedef struct rule {
	const zg_authz_perm *perm;
	const char *role;
	int index;                /* in role->perms */
} rule;

typedef struct child {
	char *seg;
	struct node *node;
} child;

typedef struct node {
	child *lits;              /* sorted by seg */
	size_t nlits, caplits;
	child *globs;
	size_t nglobs, capglobs;
	struct node *star, *globstar;
	rule *rules;
	size_t nrules, caprules;
} node;

/* A cache key: the subject id, then "\n" and the extra roles joined by
 * ",", so that one user with different asserted roles is cached apart. */
#define KEY_MAX (ZG_USER_MAX + ZG_AUTHZ_EXTRA_MAX * ZG_AUTHZ_ROLE_MAX + 1)

typedef struct principal {
	char id[KEY_MAX];
	node *root;
	int64_t valid_until;      /* the first expiry among the grants used */
	struct principal *next;
} principal;

struct zg_authz_engine {
	pthread_rwlock_t lock;
	int64_t version;
	zg_authz_role *roles;     /* sorted by name */
	size_t nroles;
	zg_authz_grant *grants;   /* sorted by user_id */
	size_t ngrants;
	principal *buckets[NBUCKETS];
	size_t ncached;
};

static void
node_free(node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nlits; i++) {
		free(n->lits[i].seg);
		node_free(n->lits[i].node);
	}
	for (size_t i = 0; i < n->nglobs; i++) {
		free(n->globs[i].seg);
		node_free(n->globs[i].node);
	}
	free(n->lits);
	free(n->globs);
	node_free(n->star);
	node_free(n->globstar);
	free(n->rules);
	free(n);
}

static bool
grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap == 0 ? 4 : *cap * 2;
	void *p = realloc(*arr, ncap * size);
	if (p == NULL)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

static int
lit_cmp(const char *seg, const char *s, size_t len)
{
	int c = strncmp(seg, s, len);
	if (c != 0)
		return c;
	return seg[len] == '\0' ? 0 : 1;
}

/*
 * Returns the child of n for segment seg (len bytes), creating it. Literal
 * children stay sorted for the binary search of a lookup. Rules arrive
 * sorted, so a new literal child is usually appended at the end.
 */
static node *
child_for(node *n, const char *seg, size_t len)
{
	node **slot = NULL;
	if (len == 1 && seg[0] == '*')
		slot = &n->star;
	else if (len == 2 && seg[0] == '*' && seg[1] == '*')
		slot = &n->globstar;
	if (slot != NULL) {
		if (*slot == NULL)
			*slot = calloc(1, sizeof(node));
		return *slot;
	}
	size_t pos;
	if (memchr(seg, '*', len) != NULL) {
		for (size_t i = 0; i < n->nglobs; i++)
			if (lit_cmp(n->globs[i].seg, seg, len) == 0)
				return n->globs[i].node;
		if (!grow((void **)&n->globs, &n->capglobs, n->nglobs,
		    sizeof(child)))
			return NULL;
		pos = n->nglobs;
	} else {
		size_t lo = 0, hi = n->nlits;
		if (n->nlits > 0 && lit_cmp(n->lits[n->nlits - 1].seg, seg,
		    len) < 0)
			lo = n->nlits;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = lit_cmp(n->lits[mid].seg, seg, len);
			if (c == 0)
				return n->lits[mid].node;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!grow((void **)&n->lits, &n->caplits, n->nlits,
		    sizeof(child)))
			return NULL;
		pos = lo;
	}
	child c = {strndup(seg, len), calloc(1, sizeof(node))};
	if (c.seg == NULL || c.node == NULL) {
		free(c.seg);
		free(c.node);
		return NULL;
	}
	if (memchr(seg, '*', len) != NULL) {
		n->globs[n->nglobs++] = c;
	} else {
		memmove(&n->lits[pos + 1], &n->lits[pos],
		    (n->nlits - pos) * sizeof(child));
		n->lits[pos] = c;
		n->nlits++;
	}
	return c.node;
}

static bool
trie_insert(node *root, const rule *r)
{
	node *n = root;
	const char *s = r->perm->resource;
	bool prev_globstar = false;
	for (;;) {
		const char *e = strchrnul(s, '/');
		bool globstar = e - s == 2 && s[0] == '*' && s[1] == '*';
		/* "**" twice in a row matches what one does. */
		if (!(globstar && prev_globstar) &&
		    (n = child_for(n, s, e - s)) == NULL)
			return false;
		prev_globstar = globstar;
		if (*e == '\0')
			break;
		s = e + 1;
	}
	if (!grow((void **)&n->rules, &n->caprules, n->nrules, sizeof(rule)))
		return false;
	n->rules[n->nrules++] = *r;
	return true;
}

/* Orders patterns segment by segment, so '/' sorts below every byte. */
static int
segment_order(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)
	    ((const rule *)a)->perm->resource;
	const unsigned char *y = (const unsigned char *)
	    ((const rule *)b)->perm->resource;
	for (;; x++, y++) {
		int cx = *x == '/' ? 1 : *x, cy = *y == '/' ? 1 : *y;
		if (cx != cy)
			return cx - cy;
		if (cx == 0)
			break;
	}
	/* Same pattern: keep role order, so messages name the first role. */
	const rule *ra = a, *rb = b;
	if (ra->perm != rb->perm)
		return ra->perm < rb->perm ? -1 : 1;
	return 0;
}

static const zg_authz_role *
find_role(const zg_authz_engine *e, const char *name, size_t *index)
{
	size_t lo = 0, hi = e->nroles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(e->roles[mid].name, name);
		if (c == 0) {
			*index = mid;
			return &e->roles[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Builds the principal for user id at now_us: the roles of its grants
 * that have not expired, and every role those inherit, flattened into one
 * trie. Caller holds the write lock.
 */
static principal *
principal_build(zg_authz_engine *e, const char *key, const char *id,
    const zg_authz_subject *s, int64_t now_us)
{
	principal *p = calloc(1, sizeof(*p));
	bool *seen = calloc(e->nroles + 1, sizeof(bool));
	size_t *queue = calloc(e->nroles + 1, sizeof(size_t));
	rule *rules = NULL;
	size_t nq = 0, nrules = 0, caprules = 0, idx;
	bool ok = false;
	if (p == NULL || seen == NULL || queue == NULL ||
	    (p->root = calloc(1, sizeof(node))) == NULL)
		goto out;
	snprintf(p->id, sizeof(p->id), "%s", key);
	p->valid_until = INT64_MAX;
	for (size_t i = 0; i < s->nextra_roles && i < ZG_AUTHZ_EXTRA_MAX; i++) {
		if (find_role(e, s->extra_roles[i], &idx) != NULL && !seen[idx]) {
			seen[idx] = true;
			queue[nq++] = idx;
		}
	}

	size_t lo = 0, hi = e->ngrants;   /* the first grant of id */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(e->grants[mid].user_id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < e->ngrants; i++) {
		const zg_authz_grant *g = &e->grants[i];
		if (strcmp(g->user_id, id) != 0)
			break;
		if (zg_authz_grant_expired(g, now_us))
			continue;
		if (g->expires_at != 0 && g->expires_at < p->valid_until)
			p->valid_until = g->expires_at;
		if (find_role(e, g->role_id, &idx) != NULL && !seen[idx]) {
			seen[idx] = true;
			queue[nq++] = idx;
		}
	}
	for (size_t q = 0; q < nq; q++) {
		const zg_authz_role *r = &e->roles[queue[q]];
		for (size_t k = 0; k < r->ninherits; k++) {
			if (find_role(e, r->inherits[k], &idx) != NULL &&
			    !seen[idx]) {
				seen[idx] = true;
				queue[nq++] = idx;
			}
		}
		for (size_t k = 0; k < r->nperms; k++) {
			if (!grow((void **)&rules, &caprules, nrules, sizeof(rule)))
				goto out;
			rules[nrules++] = (rule){&r->perms[k], r->name, (int)k};
		}
	}
	if (nrules > 0)
		qsort(rules, nrules, sizeof(rule), segment_order);
	for (size_t i = 0; i < nrules; i++)
		if (!trie_insert(p->root, &rules[i]))
			goto out;
	ok = true;
out:
	free(seen);
	free(queue);
	free(rules);
	if (!ok && p != NULL) {
		node_free(p->root);
		free(p);
		p = NULL;
	}
	return p;
}

static void
principal_free(principal *p)
{
	node_free(p->root);
	free(p);
}

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
			principal_free(p);
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
			principal_free(old);
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
		int c = lit_cmp(n->lits[mid].seg, s, len);
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
			if ((p = principal_build(e, key, s->id, s,
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
