#include "authn/lockout.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "base/log.h"
#include "crypto/crypto.h"

#define DEFAULT_THRESHOLD 5
#define DEFAULT_WINDOW_S 300
#define DEFAULT_BASE_BACKOFF_S 30
#define DEFAULT_MAX_BACKOFF_S 3600
#define DEFAULT_MAX_ENTRIES 100000
#define SIPHASH_KEY_LEN 16

/*
 * One principal or address. Keys are "p:" or "i:" and the name, so a user
 * called "10.0.0.1" and that address never share an entry.
 */
typedef struct entry {
	struct entry *bucket_next;
	struct entry *lru_prev;        /* towards the most recently used */
	struct entry *lru_next;
	uint64_t hash;
	unsigned failures;             /* in the current window */
	unsigned lockouts;             /* k in base * 2^k */
	int64_t window_start;
	int64_t last_failure;
	int64_t locked_until;
	char key[];
} entry;

struct zg_lockout {
	pthread_mutex_t lock;
	zg_lockout_config cfg;
	EVP_MAC *mac;
	EVP_MAC_CTX *mac_template;     /* SipHash, keyed at creation */
	entry **buckets;
	size_t n_buckets;              /* a power of two */
	size_t n_entries;
	entry *lru_head;               /* most recently used */
	entry *lru_tail;
};

zg_err
zg_lockout_new(const zg_lockout_config *cfg, zg_lockout **out)
{
	uint8_t key[SIPHASH_KEY_LEN];
	zg_lockout *lo = calloc(1, sizeof(*lo));
	zg_err err = ZG_ERR_NOMEM;

	*out = NULL;
	if (lo == NULL)
		return err;
	pthread_mutex_init(&lo->lock, NULL);
	if (cfg != NULL)
		lo->cfg = *cfg;
	if (lo->cfg.threshold == 0)
		lo->cfg.threshold = DEFAULT_THRESHOLD;
	if (lo->cfg.window_seconds <= 0)
		lo->cfg.window_seconds = DEFAULT_WINDOW_S;
	if (lo->cfg.base_backoff_seconds <= 0)
		lo->cfg.base_backoff_seconds = DEFAULT_BASE_BACKOFF_S;
	if (lo->cfg.max_backoff_seconds <= 0)
		lo->cfg.max_backoff_seconds = DEFAULT_MAX_BACKOFF_S;
	if (lo->cfg.max_entries == 0)
		lo->cfg.max_entries = DEFAULT_MAX_ENTRIES;
	if (lo->cfg.base_backoff_seconds > lo->cfg.max_backoff_seconds) {
		err = ZG_ERR_CONFIG;
		goto out;
	}

	lo->n_buckets = 16;
	while (lo->n_buckets < lo->cfg.max_entries)
		lo->n_buckets *= 2;
	if ((lo->buckets = calloc(lo->n_buckets, sizeof(*lo->buckets))) == NULL)
		goto out;

	err = ZG_ERR_CRYPTO;
	if (zg_random(key, sizeof(key)) != ZG_OK)
		goto out;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_end(),
	};
	if ((lo->mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL)) == NULL ||
	    (lo->mac_template = EVP_MAC_CTX_new(lo->mac)) == NULL ||
	    !EVP_MAC_init(lo->mac_template, key, sizeof(key), params))
		goto out;
	*out = lo;
	lo = NULL;
	err = ZG_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	zg_lockout_free(lo);
	return err;
}

void
zg_lockout_free(zg_lockout *lo)
{
	if (lo == NULL)
		return;
	for (entry *e = lo->lru_head, *next; e != NULL; e = next) {
		next = e->lru_next;
		free(e);
	}
	free(lo->buckets);
	EVP_MAC_CTX_free(lo->mac_template);
	EVP_MAC_free(lo->mac);
	pthread_mutex_destroy(&lo->lock);
	free(lo);
}

static uint64_t
key_hash(zg_lockout *lo, const char *key, size_t len)
{
	uint8_t out[16];
	size_t out_len = 0;
	uint64_t h = 0;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(lo->mac_template);

	if (ctx != NULL && EVP_MAC_update(ctx, (const uint8_t *)key, len) &&
	    EVP_MAC_final(ctx, out, &out_len, sizeof(out)) && out_len >= 8)
		memcpy(&h, out, sizeof(h));
	EVP_MAC_CTX_free(ctx);
	/* A failed hash puts the key in bucket 0: slower, still correct. */
	return h;
}

static void
lru_unlink(zg_lockout *lo, entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		lo->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		lo->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_push_front(zg_lockout *lo, entry *e)
{
	e->lru_next = lo->lru_head;
	e->lru_prev = NULL;
	if (lo->lru_head != NULL)
		lo->lru_head->lru_prev = e;
	lo->lru_head = e;
	if (lo->lru_tail == NULL)
		lo->lru_tail = e;
}

static void
entry_remove(zg_lockout *lo, entry *e)
{
	entry **pp = &lo->buckets[e->hash & (lo->n_buckets - 1)];
	while (*pp != e)
		pp = &(*pp)->bucket_next;
	*pp = e->bucket_next;
	lru_unlink(lo, e);
	lo->n_entries--;
	free(e);
}

/*
 * Builds "p:name" or "i:name" into buf and returns its length. A name
 * longer than the buffer is cut, so it is counted under its first bytes.
 */
static size_t
make_key(char kind, const char *name, char buf[ZG_LOCKOUT_KEY_MAX])
{
	snprintf(buf, ZG_LOCKOUT_KEY_MAX, "%c:%s", kind, name);
	return strlen(buf);
}

/* Finds the entry for key, creating it when create is set. Called with
 * the lock held; a found entry becomes the most recently used. */
static entry *
entry_get(zg_lockout *lo, const char *key, size_t len, bool create)
{
	uint64_t h = key_hash(lo, key, len);
	entry **bucket = &lo->buckets[h & (lo->n_buckets - 1)];

	for (entry *e = *bucket; e != NULL; e = e->bucket_next) {
		if (e->hash == h && strcmp(e->key, key) == 0) {
			lru_unlink(lo, e);
			lru_push_front(lo, e);
			return e;
		}
	}
	if (!create)
		return NULL;
	if (lo->n_entries >= lo->cfg.max_entries && lo->lru_tail != NULL) {
		if (lo->lru_tail->locked_until > 0)
			zg_log_warn("lockout table full; evicting a locked "
			    "entry", ZGF_I("max_entries", lo->cfg.max_entries));
		entry_remove(lo, lo->lru_tail);
	}
	entry *e = calloc(1, sizeof(*e) + len + 1);
	if (e == NULL)
		return NULL;
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->bucket_next = *bucket;
	*bucket = e;
	lru_push_front(lo, e);
	lo->n_entries++;
	return e;
}

static int64_t
backoff_seconds(const zg_lockout_config *cfg, unsigned lockouts)
{
	int64_t b = cfg->base_backoff_seconds;
	for (unsigned i = 0; i < lockouts && b < cfg->max_backoff_seconds; i++)
		b *= 2;
	return b < cfg->max_backoff_seconds ? b : cfg->max_backoff_seconds;
}

static int64_t
remaining(zg_lockout *lo, char kind, const char *name, int64_t now)
{
	char key[ZG_LOCKOUT_KEY_MAX];
	if (name == NULL)
		return 0;
	size_t len = make_key(kind, name, key);
	entry *e = entry_get(lo, key, len, false);
	if (e == NULL || e->locked_until <= now)
		return 0;
	return e->locked_until - now;
}

zg_err
zg_lockout_check(zg_lockout *lo, const char *principal, const char *ip,
    int64_t now, int64_t *retry_after)
{
	pthread_mutex_lock(&lo->lock);
	int64_t a = remaining(lo, 'p', principal, now);
	int64_t b = remaining(lo, 'i', ip, now);
	pthread_mutex_unlock(&lo->lock);
	*retry_after = a > b ? a : b;
	return *retry_after > 0 ? ZG_ERR_RATE_LIMITED : ZG_OK;
}

static void
record_failure(zg_lockout *lo, char kind, const char *name, int64_t now)
{
	char key[ZG_LOCKOUT_KEY_MAX];
	const zg_lockout_config *cfg = &lo->cfg;

	if (name == NULL)
		return;
	size_t len = make_key(kind, name, key);
	entry *e = entry_get(lo, key, len, true);
	if (e == NULL || e->locked_until > now)
		return;
	if (e->last_failure != 0 && now - e->last_failure >
	    cfg->max_backoff_seconds)
		e->lockouts = 0;
	if (e->failures == 0 || now - e->window_start >= cfg->window_seconds) {
		e->failures = 0;
		e->window_start = now;
	}
	e->last_failure = now;
	if (++e->failures < cfg->threshold)
		return;

	int64_t backoff = backoff_seconds(cfg, e->lockouts);
	e->locked_until = now + backoff;
	e->lockouts++;
	e->failures = 0;
	zg_log_warn("authentication locked out after repeated failures",
	    ZGF_S(kind == 'p' ? "principal" : "ip", name),
	    ZGF_I("retry_after_s", backoff), ZGF_I("lockouts", e->lockouts));
}

void
zg_lockout_failure(zg_lockout *lo, const char *principal, const char *ip,
    int64_t now)
{
	pthread_mutex_lock(&lo->lock);
	record_failure(lo, 'p', principal, now);
	record_failure(lo, 'i', ip, now);
	pthread_mutex_unlock(&lo->lock);
}

void
zg_lockout_success(zg_lockout *lo, const char *principal)
{
	char key[ZG_LOCKOUT_KEY_MAX];

	if (principal == NULL)
		return;
	size_t len = make_key('p', principal, key);
	pthread_mutex_lock(&lo->lock);
	entry *e = entry_get(lo, key, len, false);
	if (e != NULL)
		entry_remove(lo, e);
	pthread_mutex_unlock(&lo->lock);
}

size_t
zg_lockout_size(zg_lockout *lo)
{
	pthread_mutex_lock(&lo->lock);
	size_t n = lo->n_entries;
	pthread_mutex_unlock(&lo->lock);
	return n;
}
