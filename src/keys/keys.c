/* The key manager: key records over the store, and the one signing path. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/jsonutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "crypto/secp256k1.h"
#include "keys/keys_internal.h"
#include "vault/vault.h"

#define VERSION_PAGE 256

static const char *const alg_names[] = {
	[ZG_KEY_ALG_SECP256K1] = "secp256k1",
	[ZG_KEY_ALG_ED25519] = "ed25519",
	[ZG_KEY_ALG_P256] = "p256",
};

static const char *const state_names[] = {
	[ZG_KEY_VERSION_ACTIVE] = "active",
	[ZG_KEY_VERSION_DISABLED] = "disabled",
	[ZG_KEY_VERSION_DESTROYED] = "destroyed",
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

/* Stored bodies. */

char *
zg_key_json_text(json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	char *copy = text ? strdup(text) : NULL;
	zg_json_free_text(text);
	json_decref(o);
	return copy;
}

char *
zg_key_body(const zg_key *key)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:b, s:I, s:b, s:I, s:I}",
	    "label", key->label, "algorithm", zg_key_alg_name(key->alg),
	    "backend", zg_key_backend_name(key->backend),
	    "version", (json_int_t)key->current_version,
	    "disabled", key->disabled, "expiresAt", (json_int_t)key->expires_at,
	    "allowRawDigest", key->allow_raw_digest,
	    "createdAt", (json_int_t)key->created_at,
	    "updatedAt", (json_int_t)key->updated_at);
	return zg_key_json_text(o);
}

char *
zg_key_version_body(const zg_key_version *v)
{
	char hex[2 * ZG_KEY_PUB_MAX + 1];
	zg_hex_encode(v->pub, v->pub_len, hex);
	json_t *o = json_pack("{s:I, s:s, s:s, s:I}",
	    "version", (json_int_t)v->version, "publicKey", hex,
	    "state", state_names[v->state], "createdAt",
	    (json_int_t)v->created_at);
	return zg_key_json_text(o);
}

static zg_err
parse_key_body(const zg_obj_row *row, zg_key *key)
{
	json_t *o = json_loads(row->body_json ? row->body_json : "", 0, NULL);
	const char *label, *alg, *backend;
	json_int_t version, expires, created, updated;
	int disabled, raw;
	zg_err err = ZG_ERR_INTEGRITY;

	memset(key, 0, sizeof(*key));
	if (o == NULL || json_unpack(o, "{s:s, s:s, s:s, s:I, s:b, s:I, s:b, "
	    "s:I, s:I}", "label", &label, "algorithm", &alg, "backend",
	    &backend, "version", &version, "disabled", &disabled, "expiresAt",
	    &expires, "allowRawDigest", &raw, "createdAt", &created,
	    "updatedAt", &updated) != 0)
		goto out;
	if (zg_key_alg_parse(alg, &key->alg, NULL) != ZG_OK ||
	    zg_key_backend_parse(backend, &key->backend, NULL) != ZG_OK ||
	    version < 1 || version > UINT32_MAX)
		goto out;
	if (strlen(row->id) >= sizeof(key->id))
		goto out;
	memcpy(key->id, row->id, strlen(row->id) + 1);
	memcpy(key->owner, row->owner, sizeof(key->owner));
	snprintf(key->label, sizeof(key->label), "%s", label);
	key->current_version = (uint32_t)version;
	key->disabled = disabled;
	key->expires_at = expires;
	key->allow_raw_digest = raw;
	key->created_at = created;
	key->updated_at = updated;
	key->rev = row->rev;
	err = ZG_OK;
out:
	json_decref(o);
	return err;
}

static zg_err
parse_version_body(const zg_obj_row *row, zg_key_version *v)
{
	json_t *o = json_loads(row->body_json ? row->body_json : "", 0, NULL);
	const char *hex, *state;
	json_int_t version, created;
	zg_err err = ZG_ERR_INTEGRITY;

	memset(v, 0, sizeof(*v));
	if (o == NULL || json_unpack(o, "{s:I, s:s, s:s, s:I}", "version",
	    &version, "publicKey", &hex, "state", &state, "createdAt",
	    &created) != 0 || version < 1 || version > UINT32_MAX)
		goto out;
	if (zg_hex_decode(hex, strlen(hex), v->pub, sizeof(v->pub),
	    &v->pub_len) != ZG_OK)
		goto out;
	for (int s = ZG_KEY_VERSION_ACTIVE; s <= ZG_KEY_VERSION_DESTROYED; s++)
		if (strcmp(state, state_names[s]) == 0)
			v->state = (enum zg_key_version_state)s;
	if (v->state == 0)
		goto out;
	v->version = (uint32_t)version;
	v->created_at = created;
	err = ZG_OK;
out:
	json_decref(o);
	return err;
}

static int
version_cmp(const void *a, const void *b)
{
	const zg_key_version *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

zg_err
zg_key_from_rows(const zg_obj_row *krow, const zg_obj_row *vrows, size_t nv,
    zg_key *key)
{
	zg_err err = parse_key_body(krow, key);
	if (err != ZG_OK)
		return err;
	if (nv > 0 && (key->versions = calloc(nv, sizeof(zg_key_version))) == NULL)
		return ZG_ERR_NOMEM;
	for (size_t i = 0; i < nv; i++) {
		if ((err = parse_version_body(&vrows[i], &key->versions[i])) != ZG_OK) {
			zg_key_free(key);
			return err;
		}
	}
	key->nversions = nv;
	/* Ids sort as text ("key_x/10" before "key_x/2"), so order here. */
	qsort(key->versions, nv, sizeof(zg_key_version), version_cmp);
	return ZG_OK;
}

static zg_err
not_found(zg_errmsg *em, const char *id)
{
	char q[ZG_QUOTE_MAX];
	zg_quote_value(id, q, sizeof(q));
	return zg_fail(em, ZG_ERR_NOT_FOUND, "key \"%s\" not found", q);
}

static zg_err
damaged(zg_errmsg *em, const char *id)
{
	zg_log_error("signing key record is malformed", ZGF_S("key_id", id));
	return zg_fail(em, ZG_ERR_INTEGRITY, "the stored record of key %s is "
	    "malformed", id);
}

/* Reads the key row and every version row of key id into *key. */
static zg_err
load_key(zg_keys *k, const char *id, zg_key *key, zg_errmsg *em)
{
	zg_obj_row krow, *vrows = NULL, *all = NULL;
	size_t n = 0, total = 0;
	char prefix[ZG_OBJ_ID_MAX], after[ZG_OBJ_ID_MAX] = "";
	zg_err err;

	memset(&krow, 0, sizeof(krow));
	memset(key, 0, sizeof(*key));
	err = k->st->ops->obj_get(k->st, ZG_KEY_KIND, id, &krow);
	if (err == ZG_ERR_NOT_FOUND)
		return not_found(em, id);
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
		damaged(em, id);
out:
	zg_obj_rows_free(vrows, n);
	zg_obj_rows_free(all, total);
	zg_obj_row_free(&krow);
	return err;
}

zg_err
zg_keys_get(zg_keys *k, const char *id, zg_key *out, zg_errmsg *em)
{
	return load_key(k, id, out, em);
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
		if ((err = load_key(k, rows[done].id, &out[done], em)) != ZG_OK)
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

/* Fills a PUT of a key row; the body is a new string the caller frees. */
static zg_err
key_row(const zg_key *key, zg_obj_row *row)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->kind, sizeof(row->kind), "%s", ZG_KEY_KIND);
	snprintf(row->id, sizeof(row->id), "%s", key->id);
	snprintf(row->owner, sizeof(row->owner), "%s", key->owner);
	row->created_at = key->created_at;
	row->updated_at = key->updated_at;
	return (row->body_json = zg_key_body(key)) ? ZG_OK : ZG_ERR_NOMEM;
}

static zg_err
version_row(const zg_key *key, const zg_key_version *v, const uint8_t *blob,
    size_t blob_len, zg_obj_row *row)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->kind, sizeof(row->kind), "%s", ZG_KEY_VERSION_KIND);
	zg_key_version_id(key->id, v->version, row->id);
	snprintf(row->owner, sizeof(row->owner), "%s", key->owner);
	row->blob = (uint8_t *)blob;
	row->blob_len = blob_len;
	row->created_at = v->created_at;
	row->updated_at = zg_time_now_us();
	return (row->body_json = zg_key_version_body(v)) ? ZG_OK : ZG_ERR_NOMEM;
}

/*
 * Makes version v of key in its backend: a new key pair, or the imported
 * priv. Fills v's public key and the blob to store.
 */
static zg_err
make_version(zg_keys *k, const zg_key *key, const uint8_t *priv,
    zg_key_version *v, zg_buf *blob, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	uint8_t *secret = NULL;

	v->state = ZG_KEY_VERSION_ACTIVE;
	v->created_at = zg_time_now_us();
	if (key->backend == ZG_KEY_BACKEND_PKCS11) {
		uint8_t p11_id[ZG_KEY_P11_ID_LEN];
		char label[ZG_OBJ_ID_MAX + 8];
		if (k->p11 == NULL)
			return zg_fail(em, ZG_ERR_BACKEND_UNAVAILABLE, "the pkcs11 "
			    "backend is not configured on this server");
		snprintf(label, sizeof(label), "zguard:%s/%" PRIu32, key->id,
		    v->version);
		if ((err = zg_p11_generate(k->p11, key->alg, label, p11_id,
		    v->pub, &v->pub_len, em)) != ZG_OK)
			return err;
		return zg_buf_append(blob, p11_id, sizeof(p11_id));
	}
	if ((secret = zg_secure_alloc(ZG_SOFT_PRIV_LEN)) == NULL)
		return ZG_ERR_NOMEM;
	if (priv != NULL)
		memcpy(secret, priv, ZG_SOFT_PRIV_LEN);
	else if ((err = zg_soft_generate(key->alg, secret)) != ZG_OK)
		goto out;
	err = zg_soft_public(key->alg, secret, v->pub, &v->pub_len);
	if (err == ZG_ERR_INVALID) {
		zg_fail(em, err, "the private key is not a valid %s key: it must "
		    "be nonzero and below the group order",
		    zg_key_alg_name(key->alg));
		goto out;
	}
	if (err != ZG_OK)
		goto out;
	if ((err = zg_soft_seal(k->kr, key->id, v->version, key->alg, secret,
	    blob)) != ZG_OK)
		goto out;
	/* success */
	err = ZG_OK;
out:
	zg_secure_free(secret, ZG_SOFT_PRIV_LEN);
	return err;
}

/* Removes a token key pair that was made for a write that then failed. */
static void
undo_version(zg_keys *k, const zg_key *key, const zg_buf *blob)
{
	if (key->backend != ZG_KEY_BACKEND_PKCS11 || blob->len == 0)
		return;
	if (zg_p11_destroy(k->p11, blob->data, blob->len, NULL) != ZG_OK)
		zg_log_warn("failed to delete an unused key pair from the token",
		    ZGF_S("key_id", key->id));
}

static zg_err
create_common(zg_keys *k, const zg_key_params *p, const uint8_t *priv,
    zg_key *out, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf blob = ZG_BUF_INIT;
	zg_key key;
	zg_key_version v;
	zg_obj_row rows[2];

	memset(&key, 0, sizeof(key));
	memset(&v, 0, sizeof(v));
	memset(rows, 0, sizeof(rows));
	if (p->label != NULL && strlen(p->label) >= ZG_KEY_LABEL_MAX)
		return zg_fail(em, ZG_ERR_INVALID, "field \"label\" must be at "
		    "most %d bytes", ZG_KEY_LABEL_MAX - 1);
	if ((err = zg_make_id(ZG_KEY_ID_PREFIX, 12, key.id, sizeof(key.id))) != ZG_OK)
		goto out;
	snprintf(key.owner, sizeof(key.owner), "%s", p->owner);
	snprintf(key.label, sizeof(key.label), "%s", p->label ? p->label : "");
	key.alg = p->alg;
	key.backend = p->backend;
	key.current_version = 1;
	key.expires_at = p->expires_at;
	key.allow_raw_digest = p->allow_raw_digest;
	key.created_at = key.updated_at = zg_time_now_us();
	v.version = 1;
	if ((err = make_version(k, &key, priv, &v, &blob, em)) != ZG_OK)
		goto out;
	if ((err = key_row(&key, &rows[0])) != ZG_OK ||
	    (err = version_row(&key, &v, blob.data, blob.len, &rows[1])) != ZG_OK)
		goto out;
	zg_obj_op ops[2] = {
		{ZG_OBJ_PUT, &rows[0], ZG_REV_NEW, 0},
		{ZG_OBJ_PUT, &rows[1], ZG_REV_NEW, 0},
	};
	if ((err = k->st->ops->obj_apply(k->st, ops, 2, NULL)) != ZG_OK)
		goto out;
	if ((key.versions = malloc(sizeof(v))) == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	key.versions[0] = v;
	key.nversions = 1;
	key.rev = 1;
	*out = key;
	memset(&key, 0, sizeof(key)); /* owned by *out now */
	zg_log_info("signing key created", ZGF_S("key_id", out->id),
	    ZGF_S("algorithm", zg_key_alg_name(out->alg)),
	    ZGF_S("backend", zg_key_backend_name(out->backend)));
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		undo_version(k, &key, &blob);
	free(rows[0].body_json);
	free(rows[1].body_json);
	zg_key_free(&key);
	zg_buf_free(&blob);
	return err;
}

zg_err
zg_keys_create(zg_keys *k, const zg_key_params *p, zg_key *out, zg_errmsg *em)
{
	return create_common(k, p, NULL, out, em);
}

zg_err
zg_keys_import(zg_keys *k, const zg_key_params *p, const char *priv_hex,
    zg_key *out, zg_errmsg *em)
{
	uint8_t *priv = zg_secure_alloc(ZG_SOFT_PRIV_LEN);
	size_t len = strlen(priv_hex), n = 0;
	zg_err err;

	if (priv == NULL)
		return ZG_ERR_NOMEM;
	if (p->backend != ZG_KEY_BACKEND_SOFTWARE) {
		err = zg_fail(em, ZG_ERR_INVALID, "keys can be imported into the "
		    "software backend only");
		goto out;
	}
	if (len >= 2 && priv_hex[0] == '0' && (priv_hex[1] == 'x' ||
	    priv_hex[1] == 'X')) {
		priv_hex += 2;
		len -= 2;
	}
	if (len != 2 * ZG_SOFT_PRIV_LEN || zg_hex_decode(priv_hex, len, priv,
	    ZG_SOFT_PRIV_LEN, &n) != ZG_OK || n != ZG_SOFT_PRIV_LEN) {
		err = zg_fail(em, ZG_ERR_INVALID, "field \"privateKey\" must be "
		    "64 hex digits, with or without 0x");
		goto out;
	}
	err = create_common(k, p, priv, out, em);
out:
	zg_secure_free(priv, ZG_SOFT_PRIV_LEN);
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

/* Fails for a key that may not sign or change now. */
static zg_err
check_usable(const zg_key *key, int64_t now, zg_errmsg *em)
{
	if (key->disabled)
		return zg_fail(em, ZG_ERR_DISABLED, "key %s is disabled; enable "
		    "it to sign again", key->id);
	if (key->expires_at != 0 && now >= key->expires_at)
		return zg_fail(em, ZG_ERR_EXPIRED, "key %s has expired",
		    key->id);
	return ZG_OK;
}

static zg_err
conflict(zg_errmsg *em, const char *id)
{
	return zg_fail(em, ZG_ERR_CONFLICT, "key %s was changed concurrently; "
	    "read it again and retry", id);
}

zg_err
zg_keys_rotate(zg_keys *k, const char *key_id, zg_key *out, zg_errmsg *em)
{
	char id[ZG_ID_MAX]; /* key_id may point into *out, which is reloaded */
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf blob = ZG_BUF_INIT;
	zg_key key;
	zg_key_version v;
	zg_obj_row rows[2];

	memset(&v, 0, sizeof(v));
	memset(rows, 0, sizeof(rows));
	snprintf(id, sizeof(id), "%s", key_id);
	if ((err = load_key(k, id, &key, em)) != ZG_OK)
		return err;
	if ((err = check_usable(&key, zg_time_now_us(), em)) != ZG_OK)
		goto out;
	v.version = key.current_version + 1;
	if ((err = make_version(k, &key, NULL, &v, &blob, em)) != ZG_OK)
		goto out;
	key.current_version = v.version;
	key.updated_at = zg_time_now_us();
	if ((err = key_row(&key, &rows[0])) != ZG_OK ||
	    (err = version_row(&key, &v, blob.data, blob.len, &rows[1])) != ZG_OK)
		goto out;
	zg_obj_op ops[2] = {
		{ZG_OBJ_PUT, &rows[0], key.rev, 0},
		{ZG_OBJ_PUT, &rows[1], ZG_REV_NEW, 0},
	};
	err = k->st->ops->obj_apply(k->st, ops, 2, NULL);
	if (err == ZG_ERR_CONFLICT || err == ZG_ERR_NOT_FOUND) {
		conflict(em, id);
		goto out;
	}
	if (err != ZG_OK)
		goto out;
	zg_log_info("signing key rotated", ZGF_S("key_id", id),
	    ZGF_I("version", v.version));
	if (out != NULL) {
		zg_key_free(out);
		err = load_key(k, id, out, em);
		goto out_kept;
	}
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		undo_version(k, &key, &blob);
out_kept:
	free(rows[0].body_json);
	free(rows[1].body_json);
	zg_key_free(&key);
	zg_buf_free(&blob);
	return err;
}

zg_err
zg_keys_set_disabled(zg_keys *k, const char *id, bool disabled, zg_errmsg *em)
{
	zg_obj_row row;
	zg_key key;
	zg_err err;

	if ((err = load_key(k, id, &key, em)) != ZG_OK)
		return err;
	key.disabled = disabled;
	key.updated_at = zg_time_now_us();
	if ((err = key_row(&key, &row)) == ZG_OK)
		err = k->st->ops->obj_put(k->st, &row, key.rev, NULL);
	if (err == ZG_ERR_CONFLICT || err == ZG_ERR_NOT_FOUND)
		conflict(em, id);
	else if (err == ZG_OK)
		zg_log_info(disabled ? "signing key disabled" :
		    "signing key enabled", ZGF_S("key_id", id));
	free(row.body_json);
	zg_key_free(&key);
	return err;
}

/*
 * Reads version `version` of key id with its blob, for a compare-and-set
 * update of the row.
 */
static zg_err
load_version(zg_keys *k, const char *id, uint32_t version, zg_obj_row *row,
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
	if (parse_version_body(row, v) != ZG_OK) {
		zg_obj_row_free(row);
		return damaged(em, id);
	}
	return ZG_OK;
}

/* Writes v as the new body of row, with blob, checked against row->rev. */
static zg_err
store_version(zg_keys *k, zg_obj_row *row, const zg_key_version *v,
    bool keep_blob, zg_errmsg *em)
{
	char *body = zg_key_version_body(v);
	if (body == NULL)
		return ZG_ERR_NOMEM;
	free(row->body_json);
	row->body_json = body;
	if (!keep_blob) {
		zg_buf_free(&(zg_buf){row->blob, row->blob_len, row->blob_len});
		row->blob = NULL;
		row->blob_len = 0;
	}
	row->updated_at = zg_time_now_us();
	zg_err err = k->st->ops->obj_put(k->st, row, row->rev, &row->rev);
	if (err == ZG_ERR_CONFLICT || err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, ZG_ERR_CONFLICT, "version %" PRIu32 " of key %s "
		    "was changed concurrently; retry", v->version, row->id);
	return err;
}

zg_err
zg_keys_set_version_disabled(zg_keys *k, const char *id, uint32_t version,
    bool disabled, zg_errmsg *em)
{
	zg_obj_row row;
	zg_key_version v;
	zg_err err;

	if ((err = load_version(k, id, version, &row, &v, em)) != ZG_OK)
		return err;
	if (v.state == ZG_KEY_VERSION_DESTROYED) {
		err = zg_fail(em, ZG_ERR_REVOKED, "version %" PRIu32 " of key %s "
		    "was destroyed", version, id);
		goto out;
	}
	v.state = disabled ? ZG_KEY_VERSION_DISABLED : ZG_KEY_VERSION_ACTIVE;
	err = store_version(k, &row, &v, true, em);
out:
	zg_obj_row_free(&row);
	return err;
}

zg_err
zg_keys_destroy_version(zg_keys *k, const char *id, uint32_t version,
    zg_errmsg *em)
{
	zg_obj_row row;
	zg_key_version v;
	zg_key key;
	zg_err err;

	if ((err = load_key(k, id, &key, em)) != ZG_OK)
		return err;
	if ((err = load_version(k, id, version, &row, &v, em)) != ZG_OK)
		goto out_key;
	if (v.state == ZG_KEY_VERSION_DESTROYED && row.blob == NULL)
		goto out; /* already done */
	v.state = ZG_KEY_VERSION_DESTROYED;
	if (key.backend == ZG_KEY_BACKEND_SOFTWARE) {
		err = store_version(k, &row, &v, false, em);
		goto out;
	}
	/*
	 * A token key is marked destroyed first, so it can no longer sign.
	 * The row keeps its CKA_ID until C_DestroyObject succeeds, so calling
	 * this function again finishes a failed attempt.
	 */
	if ((err = store_version(k, &row, &v, true, em)) != ZG_OK)
		goto out;
	if (k->p11 == NULL) {
		err = zg_fail(em, ZG_ERR_BACKEND_UNAVAILABLE, "the pkcs11 backend "
		    "is not configured, so the token object of key %s version %"
		    PRIu32 " cannot be deleted", id, version);
		goto out;
	}
	err = zg_p11_destroy(k->p11, row.blob, row.blob_len, em);
	if (err != ZG_OK && err != ZG_ERR_NOT_FOUND)
		goto out;
	err = store_version(k, &row, &v, false, em);
out:
	if (err == ZG_OK)
		zg_log_info("signing key version destroyed", ZGF_S("key_id", id),
		    ZGF_I("version", version));
	zg_obj_row_free(&row);
out_key:
	zg_key_free(&key);
	return err;
}

/* The one signing path: checks the key and its newest version, then signs
 * through the backend. out is cleared unless the signature is complete. */
static zg_err
sign_common(zg_keys *k, const char *key_id, const uint8_t *msg, size_t len,
    bool digest, zg_key_signature *out, zg_errmsg *em)
{
	zg_obj_row krow, vrow;
	zg_key key;
	zg_key_version v;
	zg_err err;

	memset(out, 0, sizeof(*out));
	memset(&krow, 0, sizeof(krow));
	memset(&vrow, 0, sizeof(vrow));
	err = k->st->ops->obj_get(k->st, ZG_KEY_KIND, key_id, &krow);
	if (err == ZG_ERR_NOT_FOUND)
		return not_found(em, key_id);
	if (err != ZG_OK)
		return err;
	if (parse_key_body(&krow, &key) != ZG_OK) {
		err = damaged(em, key_id);
		goto out;
	}
	if ((err = check_usable(&key, zg_time_now_us(), em)) != ZG_OK)
		goto out;
	if (digest != (key.alg != ZG_KEY_ALG_ED25519)) {
		err = zg_fail(em, ZG_ERR_INVALID, digest ? "key %s is an "
		    "Ed25519 key, which signs messages, not digests" : "key %s "
		    "is an ECDSA key, which signs 32-byte digests, not messages",
		    key_id);
		goto out;
	}
	if ((err = load_version(k, key_id, key.current_version, &vrow, &v,
	    em)) != ZG_OK)
		goto out;
	if (v.state == ZG_KEY_VERSION_DISABLED) {
		err = zg_fail(em, ZG_ERR_DISABLED, "version %" PRIu32 " of key %s, "
		    "the newest, is disabled; enable it or rotate the key",
		    v.version, key_id);
		goto out;
	}
	if (v.state == ZG_KEY_VERSION_DESTROYED || vrow.blob == NULL) {
		err = zg_fail(em, ZG_ERR_REVOKED, "version %" PRIu32 " of key %s, "
		    "the newest, was destroyed; rotate the key to sign again",
		    v.version, key_id);
		goto out;
	}
	if (key.backend == ZG_KEY_BACKEND_SOFTWARE) {
		err = zg_soft_sign(k->kr, key_id, v.version, key.alg, vrow.blob,
		    vrow.blob_len, msg, len, out);
		if (err == ZG_ERR_INTEGRITY) {
			zg_log_error("signing key version failed its integrity "
			    "check", ZGF_S("key_id", key_id),
			    ZGF_I("version", v.version));
			zg_fail(em, err, "version %" PRIu32 " of key %s failed its "
			    "integrity check; the stored data was altered",
			    v.version, key_id);
		}
		if (err != ZG_OK)
			goto out;
	} else {
		if (k->p11 == NULL) {
			err = zg_fail(em, ZG_ERR_BACKEND_UNAVAILABLE, "key %s is "
			    "on a PKCS#11 token, but the pkcs11 backend is not "
			    "configured on this server", key_id);
			goto out;
		}
		if ((err = zg_p11_sign(k->p11, key.alg, vrow.blob, vrow.blob_len,
		    msg, len, out->sig, &out->sig_len, em)) != ZG_OK)
			goto out;
		out->recid = -1;
		if (key.alg == ZG_KEY_ALG_SECP256K1 && zg_secp_normalize(msg,
		    out->sig, v.pub, &out->recid) != ZG_OK) {
			zg_log_error("token signature does not verify",
			    ZGF_S("key_id", key_id), ZGF_I("version", v.version));
			err = zg_fail(em, ZG_ERR_UPSTREAM, "the token returned a "
			    "signature that does not verify for key %s", key_id);
			goto out;
		}
	}
	out->alg = key.alg;
	out->version = v.version;
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		memset(out, 0, sizeof(*out));
	zg_obj_row_free(&vrow);
	zg_obj_row_free(&krow);
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

/* Adds "publicKey" and "address" of v to o. */
static int
add_public(json_t *o, enum zg_key_alg alg, const zg_key_version *v)
{
	char hex[2 + 2 * ZG_KEY_PUB_MAX + 1] = "0x";
	zg_hex_encode(v->pub, v->pub_len, hex + 2);
	json_t *addr = json_null();
	if (alg == ZG_KEY_ALG_SECP256K1 && v->pub_len == ZG_SECP_PUB_LEN) {
		uint8_t a[ZG_ETH_ADDR_LEN];
		char text[43];
		zg_eth_address(v->pub, a);
		zg_eth_address_hex(a, text);
		addr = json_string(text);
	}
	return json_object_set_new(o, "publicKey", json_string(hex)) |
	    json_object_set_new(o, "address", addr);
}

json_t *
zg_key_to_json(const zg_key *key, int64_t now)
{
	json_t *o = json_object(), *vs = json_array();
	int rc = 0;

	if (o == NULL || vs == NULL)
		goto fail;
	rc |= json_object_set_new(o, "id", json_string(key->id));
	rc |= json_object_set_new(o, "algorithm",
	    json_string(zg_key_alg_name(key->alg)));
	rc |= json_object_set_new(o, "backend",
	    json_string(zg_key_backend_name(key->backend)));
	rc |= json_object_set_new(o, "version",
	    json_integer(key->current_version));
	rc |= json_object_set_new(o, "publicKey", json_null());
	rc |= json_object_set_new(o, "address", json_null());
	for (size_t i = 0; i < key->nversions; i++) {
		const zg_key_version *v = &key->versions[i];
		json_t *vo = json_object();
		if (vo == NULL || json_array_append_new(vs, vo) != 0)
			goto fail;
		rc |= json_object_set_new(vo, "version", json_integer(v->version));
		rc |= add_public(vo, key->alg, v);
		rc |= json_object_set_new(vo, "state",
		    json_string(state_names[v->state]));
		rc |= json_object_set_new(vo, "createdAt",
		    zg_json_time(v->created_at));
		if (v->version == key->current_version)
			rc |= add_public(o, key->alg, v);
	}
	rc |= json_object_set_new(o, "label", json_string(key->label));
	rc |= json_object_set_new(o, "status",
	    json_string(zg_key_status(key, now)));
	rc |= json_object_set_new(o, "expiresAt", zg_json_time(key->expires_at));
	rc |= json_object_set_new(o, "allowRawDigest",
	    json_boolean(key->allow_raw_digest));
	rc |= json_object_set_new(o, "versions", vs);
	vs = NULL;
	rc |= json_object_set_new(o, "createdAt", zg_json_time(key->created_at));
	if (rc != 0)
		goto fail;
	return o;
fail:
	json_decref(vs);
	json_decref(o);
	return NULL;
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
	if (p11 != NULL && p11->module_path != NULL &&
	    (err = zg_p11_open(p11, &k->p11, em)) != ZG_OK) {
		free(k);
		return err;
	}
	*out = k;
	return ZG_OK;
}

void
zg_keys_close(zg_keys *k)
{
	if (k == NULL)
		return;
	zg_p11_close(k->p11);
	free(k);
}
