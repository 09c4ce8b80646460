/*
 * Writes of signing keys: create, import, rotate, enable and disable,
 * destroy. Each write also adds 1 to the store counter ZG_KEYS_COUNTER in
 * the same obj_apply transaction, so signers in every process that shares
 * the store drop their cached key state (keys_sign.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "keys/keys_internal.h"
#include "vault/vault.h"

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
			return zg_keys_no_token(k, true, em, "create a pkcs11 key");
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
	zg_obj_row rows[3];

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
	zg_obj_op ops[3] = {
		{ZG_OBJ_PUT, &rows[0], ZG_REV_NEW, 0},
		{ZG_OBJ_PUT, &rows[1], ZG_REV_NEW, 0},
	};
	zg_keys_counter_op(&rows[2], &ops[2]);
	if ((err = k->st->ops->obj_apply(k->st, ops, 3, NULL)) != ZG_OK)
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
	zg_obj_row rows[3];

	memset(&v, 0, sizeof(v));
	memset(rows, 0, sizeof(rows));
	snprintf(id, sizeof(id), "%s", key_id);
	if ((err = zg_keys_load(k, id, &key, em)) != ZG_OK)
		return err;
	if ((err = zg_key_check_usable(&key, zg_time_now_us(), em)) != ZG_OK)
		goto out;
	v.version = key.current_version + 1;
	if ((err = make_version(k, &key, NULL, &v, &blob, em)) != ZG_OK)
		goto out;
	key.current_version = v.version;
	key.updated_at = zg_time_now_us();
	if ((err = key_row(&key, &rows[0])) != ZG_OK ||
	    (err = version_row(&key, &v, blob.data, blob.len, &rows[1])) != ZG_OK)
		goto out;
	zg_obj_op ops[3] = {
		{ZG_OBJ_PUT, &rows[0], key.rev, 0},
		{ZG_OBJ_PUT, &rows[1], ZG_REV_NEW, 0},
	};
	zg_keys_counter_op(&rows[2], &ops[2]);
	err = k->st->ops->obj_apply(k->st, ops, 3, NULL);
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
		err = zg_keys_load(k, id, out, em);
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
	zg_obj_row row, counter;
	zg_obj_op ops[2];
	zg_key key;
	zg_err err;

	if ((err = zg_keys_load(k, id, &key, em)) != ZG_OK)
		return err;
	key.disabled = disabled;
	key.updated_at = zg_time_now_us();
	ops[0] = (zg_obj_op){ZG_OBJ_PUT, &row, key.rev, 0};
	zg_keys_counter_op(&counter, &ops[1]);
	if ((err = key_row(&key, &row)) == ZG_OK)
		err = k->st->ops->obj_apply(k->st, ops, 2, NULL);
	if (err == ZG_ERR_CONFLICT || err == ZG_ERR_NOT_FOUND)
		conflict(em, id);
	else if (err == ZG_OK)
		zg_log_info(disabled ? "signing key disabled" :
		    "signing key enabled", ZGF_S("key_id", id));
	free(row.body_json);
	zg_key_free(&key);
	return err;
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
	zg_obj_row counter;
	zg_obj_op ops[2] = {{ZG_OBJ_PUT, row, row->rev, 0}};
	zg_keys_counter_op(&counter, &ops[1]);
	zg_err err = k->st->ops->obj_apply(k->st, ops, 2, NULL);
	if (err == ZG_ERR_CONFLICT || err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, ZG_ERR_CONFLICT, "version %" PRIu32 " of key %s "
		    "was changed concurrently; retry", v->version, row->id);
	/* The store adds 1 to the revision of each update. */
	if (err == ZG_OK)
		row->rev++;
	return err;
}

zg_err
zg_keys_set_version_disabled(zg_keys *k, const char *id, uint32_t version,
    bool disabled, zg_errmsg *em)
{
	zg_obj_row row;
	zg_key_version v;
	zg_err err;

	if ((err = zg_keys_load_version(k, id, version, &row, &v, em)) != ZG_OK)
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

	if ((err = zg_keys_load(k, id, &key, em)) != ZG_OK)
		return err;
	if ((err = zg_keys_load_version(k, id, version, &row, &v, em)) != ZG_OK)
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
		err = zg_keys_no_token(k, false, em, "delete the token object");
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
