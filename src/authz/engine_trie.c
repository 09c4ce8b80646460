/*
 * Building the trie of one principal: collecting the roles that its grants
 * reach, sorting their rules by pattern, and inserting them segment by
 * segment. The layout of the trie is described at the top of engine.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/engine_internal.h"

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

int
zg_authz_lit_cmp(const char *seg, const char *s, size_t len)
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
			if (zg_authz_lit_cmp(n->globs[i].seg, seg, len) == 0)
				return n->globs[i].node;
		if (!grow((void **)&n->globs, &n->capglobs, n->nglobs,
		    sizeof(child)))
			return NULL;
		pos = n->nglobs;
	} else {
		size_t lo = 0, hi = n->nlits;
		if (n->nlits > 0 && zg_authz_lit_cmp(n->lits[n->nlits - 1].seg,
		    seg, len) < 0)
			lo = n->nlits;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = zg_authz_lit_cmp(n->lits[mid].seg, seg, len);
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
principal *
zg_authz_principal_build(zg_authz_engine *e, const char *key, const char *id,
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

void
zg_authz_principal_free(principal *p)
{
	node_free(p->root);
	free(p);
}
