/*
 * A small cache of verified token rows, so that a busy client does not
 * cost a database read per request.
 *
 * Entries are keyed by the token's HMAC, which is not secret, and hold a
 * copy of its row. A row is trusted for at most CACHE_TTL_US; revoking a
 * token through zg_token_revoke drops it at once. Only the daemon that
 * holds a data directory's lock writes to it, so no other process can
 * revoke a token behind this cache's back. Should that change, the TTL
 * bounds how long a revoked token keeps working. Expiry is checked on
 * every use, cached or not.
 */
#include "authn/authn.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"

#define CACHE_SLOTS 512         /* direct-mapped by the first HMAC bytes */
#define CACHE_STRIPES 16
#define CACHE_TTL_US (5 * 1000000LL)

struct slot {
	bool used;
	int64_t cached_at;
	zg_token_row row;
};

struct zg_token_cache {
	pthread_mutex_t locks[CACHE_STRIPES];
	struct slot slots[CACHE_SLOTS];
};

zg_token_cache *
zg_token_cache_new(void)
{
	zg_token_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	for (int i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	return c;
}

void
zg_token_cache_free(zg_token_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_destroy(&c->locks[i]);
	OPENSSL_cleanse(c->slots, sizeof(c->slots));
	free(c);
}

/* Copies a row without the unused tail of its 4 KiB scope buffer. */
static void
copy_row(zg_token_row *dst, const zg_token_row *src)
{
	size_t scope_len = strnlen(src->scope, sizeof(src->scope) - 1);
	memcpy(dst, src, offsetof(zg_token_row, scope));
	memcpy(dst->scope, src->scope, scope_len);
	dst->scope[scope_len] = '\0';
	dst->created_at = src->created_at;
	dst->expires_at = src->expires_at;
	dst->revoked_at = src->revoked_at;
}

static size_t
slot_of(const uint8_t hash[32])
{
	return ((size_t)hash[0] << 8 | hash[1]) % CACHE_SLOTS;
}

bool
zg_token_cache_get(zg_token_cache *c, const uint8_t hash[32], int64_t now,
    zg_token_row *out)
{
	size_t i = slot_of(hash);
	pthread_mutex_t *m = &c->locks[i % CACHE_STRIPES];
	bool hit = false;

	pthread_mutex_lock(m);
	struct slot *s = &c->slots[i];
	if (s->used && now - s->cached_at < CACHE_TTL_US &&
	    zg_ct_equal(s->row.hash, hash, 32)) {
		copy_row(out, &s->row);
		hit = true;
	}
	pthread_mutex_unlock(m);
	return hit;
}

void
zg_token_cache_put(zg_token_cache *c, const zg_token_row *row, int64_t now)
{
	size_t i = slot_of(row->hash);
	pthread_mutex_t *m = &c->locks[i % CACHE_STRIPES];

	pthread_mutex_lock(m);
	c->slots[i].used = true;
	c->slots[i].cached_at = now;
	copy_row(&c->slots[i].row, row);
	pthread_mutex_unlock(m);
}

void
zg_token_cache_forget(zg_token_cache *c, const char *id)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		pthread_mutex_t *m = &c->locks[i % CACHE_STRIPES];
		pthread_mutex_lock(m);
		if (c->slots[i].used && strcmp(c->slots[i].row.id, id) == 0)
			memset(&c->slots[i], 0, sizeof(c->slots[i]));
		pthread_mutex_unlock(m);
	}
}
