/*
 * The key manager: names, opening and closing, and reading key records.
 * Writes are in keys_write.c, signing in keys_sign.c, JSON in keys_json.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "keys/keys_internal.h"

#define VERSION_PAGE 256

static const char *const alg_names[] = {
	[ZG_KEY_ALG_SECP256K1] = "secp256k1",
	[ZG_KEY_ALG_ED25519] = "ed25519",
	[ZG_KEY_ALG_P256] = "p256",
};

const char *
zg_key_alg_name(enum zg_key_alg alg)
{
	if (alg < ZG_KEY_ALG_SECP256K1 || alg > ZG_KEY_ALG_P256)
		return "unknown";
	return alg_names[alg];
}

zg_err
zg_key_alg_parse(const char *name, enum zg_key_alg *out, zg_errmsg *em)
{
	for (int a = ZG_KEY_ALG_SECP256K1; a <= ZG_KEY_ALG_P256; a++) {
		if (strcmp(name, alg_names[a]) == 0) {
			*out = (enum zg_key_alg)a;
			return ZG_OK;
		}
	}
	char q[ZG_QUOTE_MAX];
	zg_quote_value(name, q, sizeof(q));
	return zg_fail(em, ZG_ERR_INVALID, "field \"algorithm\" must be one of "
	    "secp256k1, ed25519, p256; got \"%s\"", q);
}

const char *
zg_key_backend_name(enum zg_key_backend backend)
{
	return backend == ZG_KEY_BACKEND_PKCS11 ? "pkcs11" : "software";
}

zg_err
zg_key_backend_parse(const char *name, enum zg_key_backend *out, zg_errmsg *em)
{
	if (strcmp(name, "software") == 0) {
		*out = ZG_KEY_BACKEND_SOFTWARE;
		return ZG_OK;
	}
	if (strcmp(name, "pkcs11") == 0) {
		*out = ZG_KEY_BACKEND_PKCS11;
		return ZG_OK;
	}
	char q[ZG_QUOTE_MAX];
	zg_quote_value(name, q, sizeof(q));
	return zg_fail(em, ZG_ERR_INVALID, "field \"backend\" must be one of "
	    "software, pkcs11; got \"%s\"", q);
}

bool
zg_key_id_valid(const char *id)
{
	if (strncmp(id, ZG_KEY_ID_PREFIX, 4) != 0 || strlen(id) != ZG_KEY_ID_LEN)
		return false;
	for (const char *p = id + 4; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

void
zg_key_version_id(const char *id, uint32_t version, char out[ZG_OBJ_ID_MAX])
{
	snprintf(out, ZG_OBJ_ID_MAX, "%s/%" PRIu32, id, version);
}

void
zg_keys_counter_op(zg_obj_row *row, zg_obj_op *op)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->id, sizeof(row->id), "%s", ZG_KEYS_COUNTER);
	*op = (zg_obj_op){ZG_OBJ_COUNTER, row, 0, 1};
}

void
zg_key_free(zg_key *key)
{
	if (key == NULL)
		return;
	free(key->versions);
	memset(key, 0, sizeof(*key));
}

void
zg_keys_free(zg_key *keys, size_t n)
{
	for (size_t i = 0; keys != NULL && i < n; i++)
		zg_key_free(&keys[i]);
	free(keys);
}

zg_err
zg_keys_not_found(zg_errmsg *em, const char *id)
{
	char q[ZG_QUOTE_MAX];
	zg_quote_value(id, q, sizeof(q));
	return zg_fail(em, ZG_ERR_NOT_FOUND, "key \"%s\" not found", q);
}

zg_err
zg_keys_damaged(zg_errmsg *em, const char *id)
{
	zg_log_error("signing key record is malformed", ZGF_S("key_id", id));
	return zg_fail(em, ZG_ERR_INTEGRITY, "the stored record of key %s is "
	    "malformed", id);
}

zg_err
zg_keys_load(zg_keys *k, const char *id, zg_key *key, zg_errmsg *em)
{
	zg_obj_row krow, *vrows = NULL, *all = NULL;
	size_t n = 0, total = 0;
	char prefix[ZG_OBJ_ID_MAX], after[ZG_OBJ_ID_MAX] = "";
	zg_err err;

	memset(&krow, 0, sizeof(krow));
	memset(key, 0, sizeof(*key));
	err = k->st->ops->obj_get(k->st, ZG_KEY_KIND, id, &krow);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_keys_not_found(em, id);
	if (err != ZG_OK)
		return err;
	snprintf(prefix, sizeof(prefix), "%s/", id);
	for (;;) {
		if ((err = k->st->ops->obj_list(k->st, ZG_KEY_VERSION_KIND, NULL,
		    prefix, after, VERSION_PAGE, &vrows, &n)) != ZG_OK)
			goto out;
		zg_obj_row *grown = realloc(all, (total + n + 1) * sizeof(*all));
		if (grown == NULL) {
			err = ZG_ERR_NOMEM;
			goto out;
		}
		all = grown;
		memcpy(all + total, vrows, n * sizeof(*all));
		total += n;
		free(vrows); /* the rows' contents now belong to all */
		vrows = NULL;
		if (n < VERSION_PAGE)
			break;
		snprintf(after, sizeof(after), "%s", all[total - 1].id);
	}
	if ((err = zg_key_from_rows(&krow, all, total, key)) == ZG_ERR_INTEGRITY)
		zg_keys_damaged(em, id);
out:
	zg_obj_rows_free(vrows, n);
	zg_obj_rows_free(all, total);
	zg_obj_row_free(&krow);
	return err;
}

zg_err
zg_keys_get(zg_keys *k, const char *id, zg_key *out, zg_errmsg *em)
{
	return zg_keys_load(k, id, out, em);
}

zg_err
zg_keys_list(zg_keys *k, const char *owner, const char *after, size_t limit,
    zg_key **keys, size_t *n, zg_errmsg *em)
{
	zg_obj_row *rows = NULL;
	size_t nrows = 0, done = 0;
	zg_key *out = NULL;
	zg_err err;

	*keys = NULL;
	*n = 0;
	if ((err = k->st->ops->obj_list(k->st, ZG_KEY_KIND, owner, NULL, after,
	    limit, &rows, &nrows)) != ZG_OK)
		return err;
	if (nrows > 0 && (out = calloc(nrows, sizeof(*out))) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (; done < nrows; done++)
		if ((err = zg_keys_load(k, rows[done].id, &out[done], em)) !=
		    ZG_OK)
			goto out;
	*keys = out;
	*n = nrows;
	out = NULL;
	/* success */
	err = ZG_OK;
out:
	zg_keys_free(out, done);
	zg_obj_rows_free(rows, nrows);
	return err;
}

const char *
zg_key_status(const zg_key *key, int64_t now)
{
	if (key->disabled)
		return "disabled";
	if (key->expires_at != 0 && now >= key->expires_at)
		return "expired";
	return "active";
}

zg_err
zg_key_check_usable(const zg_key *key, int64_t now, zg_errmsg *em)
{
	if (key->disabled)
		return zg_fail(em, ZG_ERR_DISABLED, "key %s is disabled; enable "
		    "it to sign again", key->id);
	if (key->expires_at != 0 && now >= key->expires_at)
		return zg_fail(em, ZG_ERR_EXPIRED, "key %s has expired",
		    key->id);
	return ZG_OK;
}

zg_err
zg_keys_load_version(zg_keys *k, const char *id, uint32_t version, zg_obj_row *row,
    zg_key_version *v, zg_errmsg *em)
{
	char vid[ZG_OBJ_ID_MAX];
	zg_err err;

	zg_key_version_id(id, version, vid);
	memset(row, 0, sizeof(*row));
	err = k->st->ops->obj_get(k->st, ZG_KEY_VERSION_KIND, vid, row);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, err, "key %s has no version %" PRIu32, id,
		    version);
	if (err != ZG_OK)
		return err;
	if (zg_key_parse_version_body(row, v) != ZG_OK) {
		zg_obj_row_free(row);
		return zg_keys_damaged(em, id);
	}
	return ZG_OK;
}

zg_err
zg_keys_open(zg_store *st, zg_keyring *kr, const zg_pkcs11_config *p11,
    zg_keys **out, zg_errmsg *em)
{
	zg_keys *k = calloc(1, sizeof(*k));
	zg_err err;

	if (k == NULL)
		return ZG_ERR_NOMEM;
	k->st = st;
	k->kr = kr;
	if ((err = zg_keys_cache_init(&k->cache)) != ZG_OK) {
		free(k);
		return err;
	}
	if (p11 != NULL && p11->module_path != NULL &&
	    (err = zg_p11_open(p11, &k->p11, em)) != ZG_OK) {
		zg_keys_cache_destroy(&k->cache);
		free(k);
		return err;
	}
	*out = k;
	return ZG_OK;
}

void
zg_keys_set_token_error(zg_keys *k, const char *why)
{
	snprintf(k->p11_error, sizeof(k->p11_error), "%s", why ? why : "");
}

zg_err
zg_keys_no_token(const zg_keys *k, bool creating, zg_errmsg *em,
    const char *what)
{
	if (k->p11_error[0] != '\0')
		return zg_fail(em, ZG_ERR_BACKEND_UNAVAILABLE, "cannot %s: the "
		    "PKCS#11 token is unavailable (%s)", what, k->p11_error);
	/* Asking for a backend this server does not offer is a request
	 * error. A key that lives on a token no longer configured is an
	 * outage. */
	if (creating)
		return zg_fail(em, ZG_ERR_INVALID, "backend \"pkcs11\" is not "
		    "available on this server: [pkcs11] module is not set; use "
		    "\"software\"");
	return zg_fail(em, ZG_ERR_BACKEND_UNAVAILABLE, "cannot %s: the pkcs11 "
	    "backend is not configured on this server ([pkcs11] module)",
	    what);
}

void
zg_keys_close(zg_keys *k)
{
	if (k == NULL)
		return;
	zg_p11_close(k->p11);
	zg_keys_cache_destroy(&k->cache);
	free(k);
}
