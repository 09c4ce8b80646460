/*
 * Private to authz/engine.c and authz/engine_trie.c: the state of the
 * permission engine, the compiled trie of one principal (described at the
 * top of engine.c), and the steps that build and free it.
 */
#ifndef ZG_AUTHZ_ENGINE_INTERNAL_H
#define ZG_AUTHZ_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz/engine.h"

#define NBUCKETS 4096

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

/*
 * Compares the NUL-terminated segment seg with the len bytes at s: returns
 * less than, equal to or greater than 0 as seg sorts before, equal to or
 * after them.
 */
int zg_authz_lit_cmp(const char *seg, const char *s, size_t len);

/*
 * Builds the principal cached under key for user id at now_us. Its trie
 * contains the rules of the extra roles of s, of the roles of id's grants
 * that have not expired, and of every role those inherit. Returns NULL
 * when memory runs out. The caller holds the write lock and frees the
 * result with zg_authz_principal_free.
 */
principal *zg_authz_principal_build(zg_authz_engine *e, const char *key,
    const char *id, const zg_authz_subject *s, int64_t now_us);

/* Frees p and its trie. */
void zg_authz_principal_free(principal *p);

#endif
