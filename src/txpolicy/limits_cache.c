/*
 * The in-process cache of spending limit usage records.
 *
 * Each cached record is the parsed state of one stored revision, or the
 * absence of the record (revision ZG_REV_NEW). The cache never decides a
 * reservation alone: limits.c writes with the cached revision, so the
 * store rejects a write based on a record that another process changed.
 * This relies on a usage record's revision only ever growing. The only
 * deletion (prune_ended in limits.c) removes records of calendar windows
 * that ended over a day before; their ids name a window start, so no
 * later write creates them again unless the clock goes back that far.
 *
 * One mutex guards a chained hash table and a least-recently-used list.
 * The cache holds at most CACHE_RECORDS_MAX records and
 * CACHE_ENTRIES_MAX rolling entries in total (an entry is about 110
 * bytes), and evicts the least recently used records beyond either.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "txpolicy/txpolicy_internal.h"

#define CACHE_BUCKETS 8192          /* a power of two */
#define CACHE_RECORDS_MAX 4096
#define CACHE_ENTRIES_MAX 65536

_Static_assert((CACHE_BUCKETS & (CACHE_BUCKETS - 1)) == 0,
    "CACHE_BUCKETS must be a power of two");

typedef struct crec {
	struct crec *next;           /* in the bucket */
	struct crec *prev_used;      /* toward the most recently used */
	struct crec *next_used;      /* toward the least recently used */
	const zg_store *st;
	uint64_t hash;
	char id[ZG_OBJ_ID_MAX];
	int64_t rev;
	int64_t created_at;
	zg_u256 used;
	txl_entry *entries;
	size_t nentries;
} crec;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static crec *buckets[CACHE_BUCKETS];
static crec *most_used, *least_used;
static size_t nrecords, nentries;

/*
 * FNV-1a over the id, started from the handle's address. NOTE: this hash
 * is not keyed, so scope values chosen to collide (workflow ids come from
 * callers) can make one chain long; CACHE_RECORDS_MAX bounds its length.
 */
static uint64_t
hash_of(const zg_store *st, const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)(uintptr_t)st;
	for (const unsigned char *p = (const unsigned char *)id; *p != '\0';
	    p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static crec **
slot_of(const zg_store *st, const char *id, uint64_t h)
{
	crec **pp = &buckets[h & (CACHE_BUCKETS - 1)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->hash == h && (*pp)->st == st &&
		    strcmp((*pp)->id, id) == 0)
			break;
	}
	return pp;
}

static void
unlink_used(crec *r)
{
	if (r->prev_used != NULL)
		r->prev_used->next_used = r->next_used;
	else
		most_used = r->next_used;
	if (r->next_used != NULL)
		r->next_used->prev_used = r->prev_used;
	else
		least_used = r->prev_used;
	r->prev_used = r->next_used = NULL;
}

static void
push_most_used(crec *r)
{
	r->prev_used = NULL;
	r->next_used = most_used;
	if (most_used != NULL)
		most_used->prev_used = r;
	most_used = r;
	if (least_used == NULL)
		least_used = r;
}

/* Unlinks and frees the record at *pp. */
static void
remove_at(crec **pp)
{
	crec *r = *pp;
	*pp = r->next;
	unlink_used(r);
	nrecords--;
	nentries -= r->nentries;
	free(r->entries);
	free(r);
}

static void
evict_beyond_bounds(void)
{
	while (least_used != NULL && (nrecords > CACHE_RECORDS_MAX ||
	    nentries > CACHE_ENTRIES_MAX)) {
		crec *r = least_used;
		remove_at(slot_of(r->st, r->id, r->hash));
	}
}

zg_err
txl_cache_get(const zg_store *st, txl_usage *u)
{
	uint64_t h = hash_of(st, u->id);
	zg_err err = ZG_ERR_NOT_FOUND;

	pthread_mutex_lock(&cache_lock);
	crec *r = *slot_of(st, u->id, h);
	if (r == NULL)
		goto out;
	if (r->nentries > u->cap) {
		txl_entry *v = realloc(u->entries, r->nentries * sizeof(*v));
		if (v == NULL) {
			err = ZG_ERR_NOMEM;
			goto out;
		}
		u->entries = v;
		u->cap = r->nentries;
	}
	if (r->nentries > 0)
		memcpy(u->entries, r->entries, r->nentries * sizeof(*r->entries));
	u->nentries = r->nentries;
	u->rev = r->rev;
	u->created_at = r->created_at;
	u->used = r->used;
	u->cached = true;
	unlink_used(r);
	push_most_used(r);
	/* success */
	err = ZG_OK;
out:
	pthread_mutex_unlock(&cache_lock);
	return err;
}

void
txl_cache_put(const zg_store *st, const txl_usage *u)
{
	uint64_t h = hash_of(st, u->id);
	txl_entry *copy = NULL;

	/* Copy outside the lock; a record too large to cache is dropped. */
	if (u->nentries > CACHE_ENTRIES_MAX / 4) {
		txl_cache_drop(st, u->id);
		return;
	}
	if (u->nentries > 0) {
		if ((copy = malloc(u->nentries * sizeof(*copy))) == NULL) {
			txl_cache_drop(st, u->id);
			return;
		}
		memcpy(copy, u->entries, u->nentries * sizeof(*copy));
	}

	pthread_mutex_lock(&cache_lock);
	crec **pp = slot_of(st, u->id, h), *r = *pp;
	if (r != NULL && r->rev > u->rev) {
		/* Another thread has cached a later revision. */
		pthread_mutex_unlock(&cache_lock);
		free(copy);
		return;
	}
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			pthread_mutex_unlock(&cache_lock);
			free(copy);
			return;
		}
		r->st = st;
		r->hash = h;
		memcpy(r->id, u->id, sizeof(r->id));
		r->next = buckets[h & (CACHE_BUCKETS - 1)];
		buckets[h & (CACHE_BUCKETS - 1)] = r;
		nrecords++;
	} else {
		unlink_used(r);
	}
	nentries -= r->nentries;
	free(r->entries);
	r->entries = copy;
	r->nentries = u->nentries;
	nentries += r->nentries;
	r->rev = u->rev;
	r->created_at = u->created_at;
	r->used = u->used;
	push_most_used(r);
	evict_beyond_bounds();
	pthread_mutex_unlock(&cache_lock);
}

void
txl_cache_drop(const zg_store *st, const char *id)
{
	uint64_t h = hash_of(st, id);

	pthread_mutex_lock(&cache_lock);
	crec **pp = slot_of(st, id, h);
	if (*pp != NULL)
		remove_at(pp);
	pthread_mutex_unlock(&cache_lock);
}

void
zg_txlimits_forget_store(const zg_store *st)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t b = 0; b < CACHE_BUCKETS; b++) {
		crec **pp = &buckets[b];
		while (*pp != NULL) {
			if ((*pp)->st == st)
				remove_at(pp);
			else
				pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&cache_lock);
}
