/*
 * The one signing path, and the cache of key state in front of it.
 *
 * A signature needs the key's metadata and the state, public key and blob
 * of its newest version. Reading and parsing those two rows took about 40%
 * of the time of the secp256k1 signature itself (an estimate from a perf
 * profile of bench/keys_bench), so each zg_keys keeps them per key id
 * (zg_key_sign_state):
 *
 * - The cache keeps algorithm, backend, the disabled flag, the expiry, the
 *   newest version with its state, public key and stored blob, and for a
 *   token key the object handle of its private key. The blob is the sealed
 *   private key (or the CKA_ID), so the plaintext key is never cached: it
 *   is opened into the locked heap for each signature and wiped after it.
 * - Every write of a key or version row adds 1 to the store counter
 *   ZG_KEYS_COUNTER in the same transaction (keys_write.c, backup.c). Each
 *   signature reads the counter first. When it has grown since the cache
 *   was filled, every entry is dropped. An entry is filled only from rows
 *   read after the counter value it is kept under, so a write that any
 *   process sharing the store committed before a signature reads the
 *   counter is seen by that signature.
 * - Expiry is compared with the clock on every signature, and a key that
 *   is disabled or expired is never cached.
 *
 * NOTE: a write to these rows that bypasses zg_keys (a direct obj_put)
 * does not move the counter, so cached state ignores it until the next
 * key write.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/secp256k1.h"
#include "keys/keys_internal.h"

zg_err
zg_keys_cache_init(zg_keys_cache *c)
{
	memset(c, 0, sizeof(*c));
	if ((c->slots = calloc(ZG_KEYS_CACHE_SLOTS, sizeof(*c->slots))) == NULL)
		return ZG_ERR_NOMEM;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->slots);
		c->slots = NULL;
		return ZG_ERR_INTERNAL;
	}
	/* Below any stored value, so the first signature starts afresh. */
	c->counter = -1;
	return ZG_OK;
}

void
zg_keys_cache_destroy(zg_keys_cache *c)
{
	if (c->slots == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	c->slots = NULL;
}

/* FNV-1a of the key id, reduced to a slot index. */
static size_t
slot_index(const char *id)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % ZG_KEYS_CACHE_SLOTS;
}

/*
 * Copies the cached state of key_id into *s and returns true if the cache
 * contains it under counter. A counter above the cache's drops every entry.
 */
static bool
cache_get(zg_keys_cache *c, int64_t counter, const char *key_id,
    zg_key_sign_state *s)
{
	bool hit = false;

	pthread_mutex_lock(&c->lock);
	if (counter > c->counter) {
		for (size_t i = 0; i < ZG_KEYS_CACHE_SLOTS; i++)
			c->slots[i].id[0] = '\0';
		c->counter = counter;
	}
	/* A caller that read the counter before another thread moved it on
	 * finds no entry, and reads the store itself. */
	const zg_key_sign_state *slot = &c->slots[slot_index(key_id)];
	if (counter == c->counter && strcmp(slot->id, key_id) == 0) {
		*s = *slot;
		hit = true;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* Stores s, read from rows after the counter read `counter`, unless the
 * cache has moved on to a newer counter meanwhile. */
static void
cache_put(zg_keys_cache *c, int64_t counter, const zg_key_sign_state *s)
{
	pthread_mutex_lock(&c->lock);
	if (counter == c->counter)
		c->slots[slot_index(s->id)] = *s;
	pthread_mutex_unlock(&c->lock);
}

/* Records the token object handle found for version `version` of key_id. */
static void
cache_set_handle(zg_keys_cache *c, int64_t counter, const char *key_id,
    uint32_t version, CK_OBJECT_HANDLE handle)
{
	pthread_mutex_lock(&c->lock);
	zg_key_sign_state *slot = &c->slots[slot_index(key_id)];
	if (counter == c->counter && strcmp(slot->id, key_id) == 0 &&
	    slot->version == version)
		slot->handle = handle;
	pthread_mutex_unlock(&c->lock);
}

/* Fails for a key that may not sign msg now; see zg_keys_sign_digest. */
static zg_err
check_key(const zg_key_sign_state *s, bool digest, zg_errmsg *em)
{
	int64_t now = zg_time_now_us();

	if (s->disabled)
		return zg_fail(em, ZG_ERR_DISABLED, "key %s is disabled; enable "
		    "it to sign again", s->id);
	if (s->expires_at != 0 && now >= s->expires_at)
		return zg_fail(em, ZG_ERR_EXPIRED, "key %s has expired", s->id);
	if (digest != (s->alg != ZG_KEY_ALG_ED25519))
		return zg_fail(em, ZG_ERR_INVALID, digest ? "key %s is an "
		    "Ed25519 key, which signs messages, not digests" : "key %s "
		    "is an ECDSA key, which signs 32-byte digests, not messages",
		    s->id);
	return ZG_OK;
}

/* Fails for a newest version that is disabled or destroyed. */
static zg_err
check_version(const zg_key_sign_state *s, zg_errmsg *em)
{
	if (s->state == ZG_KEY_VERSION_DISABLED)
		return zg_fail(em, ZG_ERR_DISABLED, "version %" PRIu32 " of key "
		    "%s, the newest, is disabled; enable it or rotate the key",
		    s->version, s->id);
	if (s->state == ZG_KEY_VERSION_DESTROYED || s->blob_len == 0)
		return zg_fail(em, ZG_ERR_REVOKED, "version %" PRIu32 " of key "
		    "%s, the newest, was destroyed; rotate the key to sign again",
		    s->version, s->id);
	return ZG_OK;
}

/* Fills the key's part of *s from its row. */
static zg_err
read_key(zg_keys *k, const char *key_id, zg_key_sign_state *s,
    zg_errmsg *em)
{
	zg_obj_row row;
	zg_key key;
	zg_err err;

	memset(&row, 0, sizeof(row));
	err = k->st->ops->obj_get(k->st, ZG_KEY_KIND, key_id, &row);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_keys_not_found(em, key_id);
	if (err != ZG_OK)
		return err;
	if (zg_key_parse_body(&row, &key) != ZG_OK) {
		err = zg_keys_damaged(em, key_id);
		goto out;
	}
	memset(s, 0, sizeof(*s));
	memcpy(s->id, key.id, sizeof(s->id));
	s->alg = key.alg;
	s->backend = key.backend;
	s->disabled = key.disabled;
	s->expires_at = key.expires_at;
	s->version = key.current_version;
	err = ZG_OK;
out:
	zg_obj_row_free(&row);
	return err;
}

/* Fills the newest version's part of *s from its row. */
static zg_err
read_version(zg_keys *k, zg_key_sign_state *s, zg_errmsg *em)
{
	zg_obj_row row;
	zg_key_version v;
	zg_err err;

	if ((err = zg_keys_load_version(k, s->id, s->version, &row, &v,
	    em)) != ZG_OK)
		return err;
	if (row.blob_len > sizeof(s->blob)) {
		err = zg_keys_damaged(em, s->id);
		goto out;
	}
	s->state = v.state;
	memcpy(s->pub, v.pub, v.pub_len);
	s->pub_len = v.pub_len;
	if (row.blob != NULL)
		memcpy(s->blob, row.blob, row.blob_len);
	s->blob_len = row.blob != NULL ? row.blob_len : 0;
	err = ZG_OK;
out:
	zg_obj_row_free(&row);
	return err;
}

static zg_err
sign_soft(zg_keys *k, const zg_key_sign_state *s, const uint8_t *msg,
    size_t len, zg_key_signature *out, zg_errmsg *em)
{
	zg_err err = zg_soft_sign(k->kr, s->id, s->version, s->alg, s->blob,
	    s->blob_len, msg, len, out);
	if (err == ZG_ERR_INTEGRITY) {
		zg_log_error("signing key version failed its integrity check",
		    ZGF_S("key_id", s->id), ZGF_I("version", s->version));
		zg_fail(em, err, "version %" PRIu32 " of key %s failed its "
		    "integrity check; the stored data was altered", s->version,
		    s->id);
	}
	return err;
}

static zg_err
sign_token(zg_keys *k, zg_key_sign_state *s, const uint8_t *msg, size_t len,
    zg_key_signature *out, zg_errmsg *em)
{
	zg_err err;

	if (k->p11 == NULL)
		return zg_keys_no_token(k, false, em, "sign with this key");
	if ((err = zg_p11_sign(k->p11, s->alg, s->blob, s->blob_len,
	    &s->handle, msg, len, out->sig, &out->sig_len, em)) != ZG_OK)
		return err;
	out->recid = -1;
	if (s->alg == ZG_KEY_ALG_SECP256K1 && zg_secp_normalize(msg, out->sig,
	    s->pub, &out->recid) != ZG_OK) {
		zg_log_error("token signature does not verify",
		    ZGF_S("key_id", s->id), ZGF_I("version", s->version));
		return zg_fail(em, ZG_ERR_UPSTREAM, "the token returned a "
		    "signature that does not verify for key %s", s->id);
	}
	return ZG_OK;
}

/* The one signing path: checks the key and its newest version, then signs
 * through the backend. out is cleared unless the signature is complete. */
static zg_err
sign_common(zg_keys *k, const char *key_id, const uint8_t *msg, size_t len,
    bool digest, zg_key_signature *out, zg_errmsg *em)
{
	zg_key_sign_state s;
	int64_t counter;
	zg_err err;

	memset(out, 0, sizeof(*out));
	/* Read the counter before any row, so that cached state is never
	 * older than the value it is kept under. */
	if ((err = k->st->ops->counter_add(k->st, ZG_KEYS_COUNTER, 0,
	    &counter)) != ZG_OK)
		return err;
	if (!cache_get(&k->cache, counter, key_id, &s)) {
		if ((err = read_key(k, key_id, &s, em)) != ZG_OK)
			goto out;
		if ((err = check_key(&s, digest, em)) != ZG_OK)
			goto out;
		if ((err = read_version(k, &s, em)) != ZG_OK)
			goto out;
		cache_put(&k->cache, counter, &s);
	} else if ((err = check_key(&s, digest, em)) != ZG_OK)
		goto out;
	if ((err = check_version(&s, em)) != ZG_OK)
		goto out;
	if (s.backend == ZG_KEY_BACKEND_SOFTWARE) {
		err = sign_soft(k, &s, msg, len, out, em);
	} else {
		CK_OBJECT_HANDLE cached = s.handle;
		err = sign_token(k, &s, msg, len, out, em);
		if (s.handle != cached)
			cache_set_handle(&k->cache, counter, s.id, s.version,
			    s.handle);
	}
	if (err != ZG_OK)
		goto out;
	out->alg = s.alg;
	out->version = s.version;
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

zg_err
zg_keys_sign_digest(zg_keys *k, const char *key_id, const uint8_t digest[32],
    zg_key_signature *out, zg_errmsg *em)
{
	return sign_common(k, key_id, digest, 32, true, out, em);
}

zg_err
zg_keys_sign_bytes(zg_keys *k, const char *key_id, const uint8_t *msg,
    size_t len, zg_key_signature *out, zg_errmsg *em)
{
	return sign_common(k, key_id, msg, len, false, out, em);
}
