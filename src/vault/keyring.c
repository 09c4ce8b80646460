/* In-memory keys, the root key and its rotation. The seals are in seal.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "vault/keyring_internal.h"

zg_err
zg_kr_root_aad(zg_buf *aad)
{
	return zg_buf_append_str(aad, "zguard/root-key");
}

zg_err
zg_kr_wkey_aad(const char *id, uint32_t version, zg_buf *aad)
{
	zg_err err;
	if ((err = zg_buf_append_str(aad, "zguard/wrapped-key")) != ZG_OK ||
	    (err = zg_buf_append_lp(aad, id, strlen(id))) != ZG_OK)
		return err;
	return zg_buf_append_u32be(aad, version);
}

static int
mkey_cmp(const char *id, uint32_t version, const struct mkey *k)
{
	int c = strcmp(id, k->id);
	if (c != 0)
		return c;
	return version < k->version ? -1 : version > k->version;
}

struct mkey *
zg_kr_find(zg_keyring *kr, const char *id, uint32_t version)
{
	size_t lo = 0, hi = kr->nkeys;
	if (version == 0) {
		/* The newest version is the last entry with this id: find the
		 * first entry past it, then step back. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(kr->keys[mid].id, id) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && strcmp(kr->keys[lo - 1].id, id) == 0)
			return &kr->keys[lo - 1];
		return NULL;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = mkey_cmp(id, version, &kr->keys[mid]);
		if (c == 0)
			return &kr->keys[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

zg_err
zg_kr_add(zg_keyring *kr, const char *id, uint32_t version,
    const uint8_t key[ZG_KEY_LEN])
{
	if (strlen(id) >= ZG_ID_MAX)
		return ZG_ERR_INVALID;
	if (zg_kr_find(kr, id, version) != NULL)
		return ZG_ERR_CONFLICT;
	if (kr->nkeys == kr->cap) {
		size_t cap = kr->cap ? kr->cap * 2 : 16;
		struct mkey *p = realloc(kr->keys, cap * sizeof(*p));
		if (p == NULL)
			return ZG_ERR_NOMEM;
		kr->keys = p;
		kr->cap = cap;
	}
	uint8_t *copy = zg_secure_alloc(ZG_KEY_LEN);
	if (copy == NULL)
		return ZG_ERR_NOMEM;
	memcpy(copy, key, ZG_KEY_LEN);
	size_t pos = 0, end = kr->nkeys;
	while (pos < end) {
		size_t mid = pos + (end - pos) / 2;
		if (mkey_cmp(id, version, &kr->keys[mid]) > 0)
			pos = mid + 1;
		else
			end = mid;
	}
	memmove(&kr->keys[pos + 1], &kr->keys[pos],
	    (kr->nkeys - pos) * sizeof(*kr->keys));
	struct mkey *k = &kr->keys[pos];
	memset(k, 0, sizeof(*k));
	snprintf(k->id, sizeof(k->id), "%s", id);
	k->version = version;
	k->key = copy;
	kr->nkeys++;
	if (strcmp(id, KEK_KEY_ID) == 0 && version > kr->kek_current)
		kr->kek_current = version;
	return ZG_OK;
}

void
zg_kr_wipe(zg_keyring *kr)
{
	for (size_t i = 0; i < kr->nkeys; i++)
		zg_secure_free(kr->keys[i].key, ZG_KEY_LEN);
	free(kr->keys);
	kr->keys = NULL;
	kr->nkeys = 0;
	kr->cap = 0;
	kr->kek_current = 0;
	zg_secure_free(kr->root, ZG_KEY_LEN);
	kr->root = NULL;
}

zg_err
zg_kr_wrap_row(const uint8_t root[ZG_KEY_LEN], uint32_t root_version,
    const char *id, uint32_t version, const uint8_t key[ZG_KEY_LEN],
    zg_wrapped_key *row)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf aad = ZG_BUF_INIT;
	zg_buf blob = ZG_BUF_INIT;
	zg_ct_header h = {ZG_CT_FORMAT_V1, ZG_CT_ALG_AES256GCM, 0, root_version};

	memset(row, 0, sizeof(*row));
	if ((err = zg_kr_wkey_aad(id, version, &aad)) != ZG_OK)
		goto out;
	if ((err = zg_seal_blob(root, &h, aad.data, aad.len, key, ZG_KEY_LEN,
	    &blob)) != ZG_OK)
		goto out;
	snprintf(row->id, sizeof(row->id), "%s", id);
	row->version = version;
	row->blob = blob.data;
	row->blob_len = blob.len;
	row->created_at = zg_time_now_us();
	blob.data = NULL; /* owned by row now */
	/* success */
	err = ZG_OK;
out:
	zg_buf_free(&aad);
	zg_buf_free(&blob);
	return err;
}

zg_err
zg_kr_load(zg_keyring *kr, const uint8_t seal_key[ZG_KEY_LEN])
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_buf aad = ZG_BUF_INIT;
	uint8_t *root_blob = NULL;
	size_t root_len = 0;
	zg_wrapped_key *rows = NULL;
	size_t nrows = 0;
	uint8_t *key = zg_secure_alloc(ZG_KEY_LEN);
	uint8_t *root = zg_secure_alloc(ZG_KEY_LEN);
	zg_ct_header h;
	size_t n;

	if (key == NULL || root == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	if ((err = kr->st->ops->meta_get(kr->st, META_ROOT, &root_blob,
	    &root_len)) != ZG_OK)
		goto out;
	if (root_len != ZG_CT_OVERHEAD + ZG_KEY_LEN ||
	    zg_parse_ct_header(root_blob, root_len, &h) != ZG_OK) {
		err = ZG_ERR_INTEGRITY;
		goto out;
	}
	if ((err = zg_kr_root_aad(&aad)) != ZG_OK)
		goto out;
	if ((err = zg_open_blob(seal_key, root_blob, root_len, aad.data,
	    aad.len, root, &n)) != ZG_OK)
		goto out;
	if ((err = kr->st->ops->wkey_list(kr->st, &rows, &nrows)) != ZG_OK)
		goto out;
	zg_kr_wipe(kr);
	for (size_t i = 0; i < nrows; i++) {
		aad.len = 0;
		if ((err = zg_kr_wkey_aad(rows[i].id, rows[i].version, &aad)) != ZG_OK)
			goto out;
		if ((err = zg_open_blob(root, rows[i].blob, rows[i].blob_len,
		    aad.data, aad.len, key, &n)) != ZG_OK || n != ZG_KEY_LEN) {
			zg_log_error("wrapped key failed its integrity check",
			    ZGF_S("key_id", rows[i].id),
			    ZGF_I("key_version", rows[i].version));
			err = ZG_ERR_INTEGRITY;
			goto out;
		}
		if ((err = zg_kr_add(kr, rows[i].id, rows[i].version, key)) != ZG_OK)
			goto out;
	}
	if (kr->kek_current == 0) {
		zg_log_error("the store has no key-encryption key");
		err = ZG_ERR_INTEGRITY;
		goto out;
	}
	kr->root = root;
	root = NULL; /* owned by kr now */
	kr->root_version = h.key_version;
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_kr_wipe(kr);
	zg_secure_free(key, ZG_KEY_LEN);
	zg_secure_free(root, ZG_KEY_LEN);
	zg_buf_free(&aad);
	free(root_blob);
	zg_wrapped_keys_free(rows, nrows);
	return err;
}

bool
zg_keyring_sealed(zg_keyring *kr)
{
	pthread_rwlock_rdlock(&kr->lock);
	bool sealed = kr->sealed;
	pthread_rwlock_unlock(&kr->lock);
	return sealed;
}

enum zg_seal_kind
zg_keyring_seal_kind(zg_keyring *kr)
{
	return kr->seal;
}

void
zg_keyring_close(zg_keyring *kr)
{
	if (kr == NULL)
		return;
	pthread_rwlock_wrlock(&kr->lock);
	zg_kr_wipe(kr);
	zg_secure_free(kr->seal_key, ZG_KEY_LEN);
	kr->seal_key = NULL;
	pthread_rwlock_unlock(&kr->lock);
	pthread_rwlock_destroy(&kr->lock);
	pthread_mutex_destroy(&kr->admin);
	free(kr);
}

zg_err
zg_keyring_rotate_root(zg_keyring *kr, uint32_t *root_version,
    size_t *rewrapped)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_wrapped_key *rows = NULL;
	size_t nrows = 0;
	zg_buf aad = ZG_BUF_INIT;
	zg_buf root_blob = ZG_BUF_INIT;
	uint8_t *new_root = zg_secure_alloc(ZG_KEY_LEN);
	uint32_t new_version;

	pthread_mutex_lock(&kr->admin);
	if (new_root == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	/* Keys change only under kr->admin, which we hold, so reading them
	 * without the rwlock is safe here. */
	if (kr->sealed) {
		err = ZG_ERR_SEALED;
		goto out;
	}
	new_version = kr->root_version + 1;
	if ((err = zg_random(new_root, ZG_KEY_LEN)) != ZG_OK)
		goto out;
	rows = calloc(kr->nkeys ? kr->nkeys : 1, sizeof(*rows));
	if (rows == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < kr->nkeys; i++) {
		if ((err = zg_kr_wrap_row(new_root, new_version, kr->keys[i].id,
		    kr->keys[i].version, kr->keys[i].key, &rows[i])) != ZG_OK)
			goto out;
		nrows++;
	}
	zg_ct_header h = {ZG_CT_FORMAT_V1, ZG_CT_ALG_AES256GCM, 0, new_version};
	if ((err = zg_kr_root_aad(&aad)) != ZG_OK ||
	    (err = zg_seal_blob(kr->seal_key, &h, aad.data, aad.len, new_root,
	    ZG_KEY_LEN, &root_blob)) != ZG_OK)
		goto out;
	if ((err = kr->st->ops->root_rotate(kr->st, META_ROOT, root_blob.data,
	    root_blob.len, rows, nrows)) != ZG_OK)
		goto out;

	pthread_rwlock_wrlock(&kr->lock);
	zg_secure_free(kr->root, ZG_KEY_LEN);
	kr->root = new_root;
	new_root = NULL; /* owned by kr now */
	kr->root_version = new_version;
	pthread_rwlock_unlock(&kr->lock);

	*root_version = new_version;
	*rewrapped = nrows;
	zg_log_info("root key rotated", ZGF_I("root_version", new_version),
	    ZGF_I("rewrapped_keys", nrows));
	/* success */
	err = ZG_OK;
out:
	pthread_mutex_unlock(&kr->admin);
	if (err != ZG_OK)
		zg_log_error("root key rotation failed", ZGF_ERR(err));
	zg_secure_free(new_root, ZG_KEY_LEN);
	zg_wrapped_keys_free(rows, nrows);
	zg_buf_free(&aad);
	zg_buf_free(&root_blob);
	return err;
}

/* Creates version `version` of key id, stores it and adds it in memory.
 * Caller holds kr->admin and has checked that the keyring is unsealed. */
static zg_err
create_key_locked(zg_keyring *kr, const char *id, uint32_t version)
{
	zg_err err = ZG_ERR_INTERNAL;
	zg_wrapped_key row = {0};
	uint8_t *key = zg_secure_alloc(ZG_KEY_LEN);

	if (key == NULL)
		return ZG_ERR_NOMEM;
	if ((err = zg_random(key, ZG_KEY_LEN)) != ZG_OK)
		goto out;
	if ((err = zg_kr_wrap_row(kr->root, kr->root_version, id, version, key,
	    &row)) != ZG_OK)
		goto out;
	if ((err = kr->st->ops->wkey_insert(kr->st, &row)) != ZG_OK)
		goto out;
	pthread_rwlock_wrlock(&kr->lock);
	err = zg_kr_add(kr, id, version, key);
	pthread_rwlock_unlock(&kr->lock);
out:
	zg_secure_free(key, ZG_KEY_LEN);
	free(row.blob);
	return err;
}

zg_err
zg_keyring_rotate_kek(zg_keyring *kr, uint32_t *kek_version)
{
	zg_err err;
	pthread_mutex_lock(&kr->admin);
	if (kr->sealed) {
		err = ZG_ERR_SEALED;
	} else {
		uint32_t v = kr->kek_current + 1;
		err = create_key_locked(kr, KEK_KEY_ID, v);
		if (err == ZG_OK) {
			*kek_version = v;
			zg_log_info("key-encryption key rotated",
			    ZGF_I("kek_version", v));
		}
	}
	pthread_mutex_unlock(&kr->admin);
	return err;
}

zg_err
zg_keyring_system_key(zg_keyring *kr, const char *key_id, bool create,
    uint8_t out[ZG_KEY_LEN])
{
	zg_err err = ZG_ERR_NOT_FOUND;

	pthread_rwlock_rdlock(&kr->lock);
	if (kr->sealed) {
		err = ZG_ERR_SEALED;
	} else {
		struct mkey *k = zg_kr_find(kr, key_id, 0);
		if (k != NULL) {
			memcpy(out, k->key, ZG_KEY_LEN);
			err = ZG_OK;
		}
	}
	pthread_rwlock_unlock(&kr->lock);
	if (err != ZG_ERR_NOT_FOUND || !create)
		return err;

	pthread_mutex_lock(&kr->admin);
	pthread_rwlock_rdlock(&kr->lock);
	struct mkey *k = kr->sealed ? NULL : zg_kr_find(kr, key_id, 0);
	bool sealed = kr->sealed;
	if (k != NULL)
		memcpy(out, k->key, ZG_KEY_LEN);
	pthread_rwlock_unlock(&kr->lock);
	if (sealed)
		err = ZG_ERR_SEALED;
	else if (k != NULL)
		err = ZG_OK;
	else if ((err = create_key_locked(kr, key_id, 1)) == ZG_OK)
		err = zg_keyring_system_key(kr, key_id, false, out);
	pthread_mutex_unlock(&kr->admin);
	return err;
}

zg_err
zg_keyring_destroy_key(zg_keyring *kr, const char *key_id)
{
	zg_err err;
	pthread_mutex_lock(&kr->admin);
	err = kr->st->ops->wkey_delete(kr->st, key_id);
	if (err == ZG_OK || err == ZG_ERR_NOT_FOUND) {
		pthread_rwlock_wrlock(&kr->lock);
		size_t o = 0;
		for (size_t i = 0; i < kr->nkeys; i++) {
			if (strcmp(kr->keys[i].id, key_id) == 0) {
				zg_secure_free(kr->keys[i].key, ZG_KEY_LEN);
				continue;
			}
			kr->keys[o++] = kr->keys[i];
		}
		kr->nkeys = o;
		pthread_rwlock_unlock(&kr->lock);
	}
	pthread_mutex_unlock(&kr->admin);
	return err;
}

zg_err
zg_keyring_hmac(zg_keyring *kr, const char *key_id, const uint8_t *data,
    size_t len, uint8_t out[ZG_SHA256_LEN])
{
	zg_err err = ZG_ERR_NOT_FOUND;

	/* Usually the key exists: use it in place under the read lock, with
	 * no copy, because the locked heap serializes every allocation. */
	pthread_rwlock_rdlock(&kr->lock);
	if (kr->sealed) {
		err = ZG_ERR_SEALED;
	} else {
		struct mkey *k = zg_kr_find(kr, key_id, 0);
		if (k != NULL)
			err = zg_hmac_sha256(k->key, ZG_KEY_LEN, data, len, out);
	}
	pthread_rwlock_unlock(&kr->lock);
	if (err != ZG_ERR_NOT_FOUND)
		return err;

	uint8_t *key = zg_secure_alloc(ZG_KEY_LEN);
	if (key == NULL)
		return ZG_ERR_NOMEM;
	if ((err = zg_keyring_system_key(kr, key_id, true, key)) == ZG_OK)
		err = zg_hmac_sha256(key, ZG_KEY_LEN, data, len, out);
	zg_secure_free(key, ZG_KEY_LEN);
	return err;
}

zg_err
zg_keyring_wrap_dek(zg_keyring *kr, const uint8_t dek[ZG_KEY_LEN],
    const uint8_t *aad, size_t aad_len, zg_buf *out)
{
	zg_err err;
	pthread_rwlock_rdlock(&kr->lock);
	struct mkey *kek = kr->sealed ? NULL :
	    zg_kr_find(kr, KEK_KEY_ID, kr->kek_current);
	if (kr->sealed) {
		err = ZG_ERR_SEALED;
	} else if (kek == NULL) {
		err = ZG_ERR_INTERNAL;
	} else {
		zg_ct_header h = {ZG_CT_FORMAT_V1, ZG_CT_ALG_AES256GCM,
		    ZG_KEK_ID, kek->version};
		err = zg_seal_blob(kek->key, &h, aad, aad_len, dek, ZG_KEY_LEN,
		    out);
	}
	pthread_rwlock_unlock(&kr->lock);
	return err;
}

zg_err
zg_keyring_unwrap_dek(zg_keyring *kr, const uint8_t *blob, size_t len,
    const uint8_t *aad, size_t aad_len, uint8_t dek[ZG_KEY_LEN], size_t *used)
{
	zg_err err;
	zg_ct_header h;
	size_t n = 0;
	const size_t wrapped_len = ZG_CT_OVERHEAD + ZG_KEY_LEN;

	if (len < wrapped_len || zg_parse_ct_header(blob, len, &h) != ZG_OK ||
	    h.key_id != ZG_KEK_ID)
		return ZG_ERR_INTEGRITY;
	pthread_rwlock_rdlock(&kr->lock);
	struct mkey *kek = kr->sealed ? NULL :
	    zg_kr_find(kr, KEK_KEY_ID, h.key_version);
	if (kr->sealed)
		err = ZG_ERR_SEALED;
	else if (kek == NULL)
		err = ZG_ERR_INTEGRITY;
	else
		err = zg_open_blob(kek->key, blob, wrapped_len, aad, aad_len,
		    dek, &n);
	pthread_rwlock_unlock(&kr->lock);
	if (err == ZG_OK && n != ZG_KEY_LEN) {
		zg_wipe(dek, ZG_KEY_LEN);
		err = ZG_ERR_INTEGRITY;
	}
	if (err == ZG_OK)
		*used = wrapped_len;
	return err;
}
