/*
 * A JSON Web Key Set as a whole: parsing a set, the file source and its
 * reload on change, and the lookup by kid with one refetch of a URL source
 * for an unknown kid. The URL fetch itself is in jwks_fetch.c.
 */
#include "authn/jwks.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "authn/jwks_internal.h"
#include "base/log.h"

#define JWKS_MAX_KEYS 256

void
zg_jwks_keyset_free(keyset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		zg_jwk_clear(&s->keys[i]);
	free(s->keys);
	free(s);
}

/*
 * Parses a JWKS document. Keys zguard cannot use are skipped with a log
 * line; a set with no usable key is an error, as is a duplicate kid.
 */
zg_err
zg_jwks_keyset_parse(const char *text, size_t len, const char *source,
    keyset **out, zg_errmsg *em)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	keyset *s = NULL;
	zg_err err = ZG_ERR_INVALID;

	if (doc == NULL) {
		zg_fail(em, err, "JWKS from %s is not valid JSON: %s (line "
		    "%d)", source, jerr.text, jerr.line);
		goto out;
	}
	const json_t *keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		zg_fail(em, err, "JWKS from %s has no \"keys\" array", source);
		goto out;
	}
	size_t n = json_array_size(keys);
	if (n > JWKS_MAX_KEYS) {
		zg_fail(em, err, "JWKS from %s has %zu keys; the maximum is %d",
		    source, n, JWKS_MAX_KEYS);
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->keys = calloc(n ? n : 1, sizeof(*s->keys))) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		zg_errmsg kem = {0};
		zg_jwk k;
		if (zg_jwk_from_object(json_array_get(keys, i), &k, &kem) != ZG_OK) {
			zg_log_warn("skipping JWK", ZGF_S("source", source),
			    ZGF_I("index", i), ZGF_S("reason", kem.text));
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < s->n && !dup; j++)
			dup = strcmp(s->keys[j].kid, k.kid) == 0;
		if (dup) {
			zg_fail(em, err, "JWKS from %s has two keys with kid "
			    "\"%.64s\"", source, k.kid);
			zg_jwk_clear(&k);
			goto out;
		}
		s->keys[s->n++] = k;
	}
	if (s->n == 0) {
		zg_fail(em, err, "JWKS from %s has no usable RSA, EC P-256 or "
		    "Ed25519 signature key", source);
		goto out;
	}
	*out = s;
	s = NULL;
	err = ZG_OK;
out:
	zg_jwks_keyset_free(s);
	json_decref(doc);
	return err;
}

void
zg_jwks_install(zg_jwks *ks, keyset *s, const struct stat *st,
    int64_t stale_at)
{
	pthread_rwlock_wrlock(&ks->lock);
	keyset *old = ks->set;
	ks->set = s;
	ks->loads++;
	if (st != NULL)
		ks->file_stat = *st;
	ks->stale_at = stale_at;
	pthread_rwlock_unlock(&ks->lock);
	zg_jwks_keyset_free(old);
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static zg_err
load_file(zg_jwks *ks, zg_errmsg *em)
{
	struct stat st;
	char *text = NULL;
	keyset *s = NULL;
	zg_err err = ZG_ERR_CONFIG;
	int fd = open(ks->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		zg_fail(em, err, "cannot read JWKS file %s: %s", ks->path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > JWKS_DEFAULT_MAX_BYTES) {
		zg_fail(em, err, "JWKS file %s is not a regular file of at "
		    "most %d bytes", ks->path, JWKS_DEFAULT_MAX_BYTES);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			zg_fail(em, err, "cannot read JWKS file %s: %s",
			    ks->path, r < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)r;
	}
	if (zg_jwks_keyset_parse(text, got, ks->path, &s, em) != ZG_OK)
		goto out;
	zg_jwks_install(ks, s, &st, 0);
	zg_log_info("JWKS loaded", ZGF_S("file", ks->path),
	    ZGF_I("keys", s->n));
	s = NULL;
	err = ZG_OK;
out:
	if (fd >= 0)
		close(fd);
	zg_jwks_keyset_free(s);
	free(text);
	return err;
}

zg_err
zg_jwks_open_file(const char *path, zg_jwks **out, zg_errmsg *em)
{
	zg_jwks *ks = calloc(1, sizeof(*ks));
	zg_err err;

	*out = NULL;
	if (ks == NULL)
		return ZG_ERR_NOMEM;
	pthread_rwlock_init(&ks->lock, NULL);
	pthread_mutex_init(&ks->reload_lock, NULL);
	if ((ks->path = strdup(path)) == NULL) {
		zg_jwks_free(ks);
		return ZG_ERR_NOMEM;
	}
	if ((err = load_file(ks, em)) != ZG_OK) {
		zg_jwks_free(ks);
		return err;
	}
	*out = ks;
	return ZG_OK;
}

void
zg_jwks_free(zg_jwks *ks)
{
	if (ks == NULL)
		return;
	zg_jwks_keyset_free(ks->set);
	pthread_rwlock_destroy(&ks->lock);
	pthread_mutex_destroy(&ks->reload_lock);
	free(ks->path);
	free(ks->url);
	free(ks);
}

/* True when the set should be reloaded before use. */
static bool
jwks_stale(zg_jwks *ks, int64_t now, struct stat *st)
{
	bool stale;
	pthread_rwlock_rdlock(&ks->lock);
	if (ks->path != NULL)
		stale = stat(ks->path, st) == 0 && !same_file(st, &ks->file_stat);
	else
		stale = (ks->set == NULL || now >= ks->stale_at) &&
		    now >= ks->next_attempt;
	pthread_rwlock_unlock(&ks->lock);
	return stale;
}

/*
 * Reloads a stale set. While another thread reloads, a caller that has a
 * set to use goes on with it instead of waiting.
 */
static void
jwks_refresh(zg_jwks *ks, int64_t now, bool force)
{
	struct stat st;
	zg_errmsg em = {0};

	if (!force && !jwks_stale(ks, now, &st))
		return;
	pthread_rwlock_rdlock(&ks->lock);
	bool have_set = ks->set != NULL;
	pthread_rwlock_unlock(&ks->lock);
	if (have_set) {
		if (pthread_mutex_trylock(&ks->reload_lock) != 0)
			return;
	} else {
		pthread_mutex_lock(&ks->reload_lock);
	}
	if (force || jwks_stale(ks, now, &st)) {
		if (ks->path != NULL && load_file(ks, &em) != ZG_OK)
			zg_log_warn("JWKS reload failed; keeping the old set",
			    ZGF_S("file", ks->path), ZGF_S("reason", em.text));
		else if (ks->url != NULL)
			(void)zg_jwks_fetch_url(ks, now, &em);
	}
	pthread_mutex_unlock(&ks->reload_lock);
}

/* Looks kid up in the current set. Returns 1 if found, 0 if not, -1 if
 * there is no set, -2 if kid is NULL and the set has several keys. */
static int
jwks_lookup(zg_jwks *ks, const char *kid, zg_jwk *out)
{
	int found = 0;
	pthread_rwlock_rdlock(&ks->lock);
	const keyset *s = ks->set;
	if (s == NULL) {
		found = -1;
	} else if (kid == NULL) {
		if (s->n == 1)
			found = 1;
		else
			found = -2;
		if (found == 1)
			*out = s->keys[0];
	} else {
		for (size_t i = 0; i < s->n && !found; i++) {
			if (strcmp(s->keys[i].kid, kid) == 0) {
				*out = s->keys[i];
				found = 1;
			}
		}
	}
	if (found == 1)
		EVP_PKEY_up_ref(out->pkey);
	pthread_rwlock_unlock(&ks->lock);
	return found;
}

zg_err
zg_jwks_find(zg_jwks *ks, const char *kid, int64_t now, zg_jwk *out,
    zg_errmsg *em)
{
	char q[ZG_QUOTE_MAX];

	memset(out, 0, sizeof(*out));
	jwks_refresh(ks, now, false);
	int found = jwks_lookup(ks, kid, out);

	/* An issuer that rotates keys publishes the new kid before using it,
	 * so an unknown kid may mean the cached set is old. */
	if (found == 0 && ks->url != NULL) {
		bool refetch = false;
		pthread_rwlock_wrlock(&ks->lock);
		if (!ks->kid_refetched || now - ks->last_kid_refetch >=
		    ZG_JWKS_UNKNOWN_KID_REFETCH_S) {
			ks->kid_refetched = true;
			ks->last_kid_refetch = now;
			refetch = true;
		}
		pthread_rwlock_unlock(&ks->lock);
		if (refetch) {
			jwks_refresh(ks, now, true);
			found = jwks_lookup(ks, kid, out);
		}
	}

	switch (found) {
	case 1:
		return ZG_OK;
	case -1:
		return zg_fail(em, ZG_ERR_UPSTREAM, "the issuer's JWKS at %s "
		    "could not be fetched; see the daemon log", ks->url);
	case -2:
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "the token has no "
		    "kid and the issuer's key set has several keys");
	default:
		zg_quote_value(kid, q, sizeof(q));
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED, "no key with kid "
		    "\"%s\" in the issuer's key set", q);
	}
}

unsigned
zg_jwks_load_count(zg_jwks *ks)
{
	pthread_rwlock_rdlock(&ks->lock);
	unsigned n = ks->loads;
	pthread_rwlock_unlock(&ks->lock);
	return n;
}
